//! An answer that is not pilot's JSON (a proxy's error page, a web server's welcome page,
//! plain text), said in one line: its status, content type and what it calls itself (an HTML
//! page's `<title>`, else its first line), truncated.
//!
//! Why: `--server` pointed at the wrong port or a proxy in front of the service that failed
//! answers whole HTML pages; pasting them buries the one thing a user needs to know (this is
//! not the pilot service), and a hostile page could write terminal escapes into the message.

/// How much of a page's title or first line a message shows.
const SHOWN_CHARS: usize = 80;
/// How far into the body a title or first line is looked for.
const SCANNED_BYTES: usize = 16 * 1024;

/// `404 Not Found, text/html: "Welcome to nginx!"`: status, content type, title or first line.
pub fn summary(status: u16, content_type: Option<&str>, body: &[u8]) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or(String::new(), |r| format!(" {r}"));
    let kind = content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map_or("no content type".to_string(), printable);
    let head = String::from_utf8_lossy(&body[..body.len().min(SCANNED_BYTES)]).into_owned();
    let shown = match title(&head) {
        Some(title) => format!("titled \"{}\"", truncated(&title)),
        None => match head.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(line) => format!("starting \"{}\"", truncated(line)),
            None => "empty".to_string(),
        },
    };
    format!("{status}{reason}, {kind}, {shown}")
}

/// The text of an HTML page's `<title>`, entities for `&<>"'` decoded, spaces collapsed.
fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let text = html[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// At most [`SHOWN_CHARS`] printable characters, with `…` when cut.
fn truncated(text: &str) -> String {
    let printable = printable(text);
    if printable.chars().count() <= SHOWN_CHARS {
        return printable;
    }
    let mut cut: String = printable.chars().take(SHOWN_CHARS).collect();
    cut.push('…');
    cut
}

/// Control characters (terminal escapes among them) replaced by `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_page_is_named_by_its_title() {
        let page = b"<!DOCTYPE html>\n<html><head><TITLE>\n  Welcome to\n nginx &amp; co!</TITLE></head>\
            <body><h1>Welcome</h1><p>If you see this page, the nginx web server is successfully installed.</p></body></html>";
        assert_eq!(
            summary(404, Some("text/html; charset=utf-8"), page),
            "404 Not Found, text/html, titled \"Welcome to nginx & co!\""
        );
    }

    #[test]
    fn text_is_named_by_its_first_line_cut_short() {
        let long = format!(
            "\n\n  upstream connect error {}\nsecond line",
            "x".repeat(200)
        );
        let text = summary(502, Some("text/plain"), long.as_bytes());
        assert!(
            text.starts_with("502 Bad Gateway, text/plain, starting \"upstream connect error xxx"),
            "{text}"
        );
        assert!(text.ends_with("…\""), "{text}");
        assert!(!text.contains("second line"), "{text}");
    }

    #[test]
    fn escapes_and_missing_parts_are_said_plainly() {
        assert_eq!(
            summary(200, None, b"\x1b[31mred"),
            "200 OK, no content type, starting \"?[31mred\""
        );
        assert_eq!(
            summary(503, Some(""), b"  \n"),
            "503 Service Unavailable, no content type, empty"
        );
    }
}
