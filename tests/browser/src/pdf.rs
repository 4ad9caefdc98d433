//! Reading PDFs printed by the browser, through poppler-utils (`pdftotext`, `pdfinfo`).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{BrowserError, Result};

/// Page count and first-page size of a PDF, from `pdfinfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfInfo {
    /// Number of pages.
    pub pages: u32,
    /// Width of the first page in PostScript points (1/72 inch); A4 is 595.28.
    pub width_pt: f64,
    /// Height of the first page in points; A4 is 841.89.
    pub height_pt: f64,
}

impl PdfInfo {
    /// Portrait A4 (210 × 297 mm), within a point.
    pub fn is_a4(&self) -> bool {
        (self.width_pt - 595.28).abs() < 1.0 && (self.height_pt - 841.89).abs() < 1.0
    }
}

/// The text of a PDF, page after page, through `pdftotext -layout -enc UTF-8`.
pub fn pdf_text(pdf: &[u8]) -> Result<String> {
    let bytes = run_on_pdf("pdftotext", &["-layout", "-enc", "UTF-8"], pdf, true)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Pages and page size of a PDF, through `pdfinfo`.
pub fn pdf_info(pdf: &[u8]) -> Result<PdfInfo> {
    let bytes = run_on_pdf("pdfinfo", &[], pdf, false)?;
    let text = String::from_utf8_lossy(&bytes);
    parse_pdfinfo(&text).ok_or_else(|| BrowserError::Pdf {
        tool: "pdfinfo",
        detail: format!("no `Pages:` and `Page size:` in its output:\n{text}"),
    })
}

fn parse_pdfinfo(text: &str) -> Option<PdfInfo> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(str::trim))
    };
    let pages = field("Pages:")?.parse().ok()?;
    // "Page size:      595.276 x 841.89 pts (A4)"
    let mut size = field("Page size:")?.split_whitespace();
    let width_pt = size.next()?.parse().ok()?;
    let _x = size.next()?;
    let height_pt = size.next()?.parse().ok()?;
    Some(PdfInfo {
        pages,
        width_pt,
        height_pt,
    })
}

/// Writes `pdf` to a temporary file, runs `tool ARGS FILE [-]` and returns its stdout.
fn run_on_pdf(tool: &'static str, args: &[&str], pdf: &[u8], to_stdout: bool) -> Result<Vec<u8>> {
    let pdf_err = |detail: String| BrowserError::Pdf { tool, detail };
    let mut file = tempfile::Builder::new()
        .prefix("pilot-browser-")
        .suffix(".pdf")
        .tempfile()
        .map_err(|e| pdf_err(format!("create a temporary file: {e}")))?;
    file.write_all(pdf)
        .map_err(|e| pdf_err(format!("write a temporary file: {e}")))?;
    let mut cmd = Command::new(tool);
    cmd.args(args).arg(file.path());
    if to_stdout {
        cmd.arg("-");
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| pdf_err(format!("cannot run it: {e}")))?;
    if !out.status.success() {
        return Err(pdf_err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pages_and_size_from_pdfinfo() {
        let text = "Producer:        Skia/PDF m148\nPages:           2\nEncrypted:       no\n\
                    Page size:       595.92 x 842.88 pts\nPage rot:        0\n";
        let info = parse_pdfinfo(text).unwrap();
        assert_eq!(info.pages, 2);
        assert_eq!((info.width_pt, info.height_pt), (595.92, 842.88));
        assert!(info.is_a4());
        assert!(
            !PdfInfo {
                pages: 1,
                width_pt: 612.0,
                height_pt: 792.0
            }
            .is_a4(),
            "US letter"
        );
        assert_eq!(parse_pdfinfo("Pages: 1\n"), None);
    }
}
