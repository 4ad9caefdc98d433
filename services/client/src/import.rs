//! `pilot import FILE.jsonl`: back-fills sealed events (an export, the demo history) through
//! `POST /api/v1/import`, in chunks of JSON Lines, with a progress bar on stderr.
//! `pilot demo`: the same with the Nanguo history built into the binary.
//!
//! The server stores each line as it is (the hashes are in the bytes) and skips the events
//! it holds already, so running an import again reports them all as `skipped`.
//!
//! `pilot import --csv FILE --type TYPE [--dry-run]`: a spreadsheet of new events of one type,
//! a row each (`POST /api/v1/import?type=TYPE` as `text/csv`; the columns are the type's
//! fields, see `pilot_api::csv_import`). Prints what was stored, what was stored before, and
//! every refused row with its number and reason; exits 3 when any row was refused.

use super::http::Http;
use super::output;
use super::{read_input, Common, Failure};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use std::io::IsTerminal;

use pilot_api::demo::NANGUO;
/// Lines per request unless `--chunk` says otherwise.
pub const DEFAULT_CHUNK_LINES: u32 = 500;

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Sealed events as JSON Lines (a `pilot export`, deploy/demo/nanguo.jsonl); `-` reads
    /// stdin.
    #[arg(
        value_name = "FILE.jsonl",
        required_unless_present = "csv",
        conflicts_with = "csv"
    )]
    pub file: Option<String>,

    /// New events of one type as CSV, a row each with a header naming the type's fields
    /// (needs --type); `-` reads stdin.
    #[arg(long, value_name = "FILE.csv", requires = "event_type")]
    pub csv: Option<String>,

    /// The event type of every row of --csv (pilot.proposed, stakeholder.stance_assessed, …).
    #[arg(long = "type", value_name = "TYPE", requires = "csv")]
    pub event_type: Option<String>,

    /// With --csv: show what would be stored and every refused row, and store nothing.
    #[arg(long, requires = "csv")]
    pub dry_run: bool,

    /// Lines per request.
    #[arg(long, value_name = "LINES", default_value_t = DEFAULT_CHUNK_LINES,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub chunk: u32,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub common: Common,
}

/// What an import did, added up over its chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub appended: u64,
    pub skipped: u64,
    /// The log's position after the last chunk.
    pub position: Option<u64>,
}

pub async fn run(args: ImportArgs) -> Result<(), Failure> {
    if let (Some(file), Some(event_type)) = (&args.csv, &args.event_type) {
        return send_csv(&args.common, file, event_type, args.dry_run).await;
    }
    let file = args.file.as_deref().unwrap_or("-");
    let input = read_input(file)?;
    send(&args.common, &input, file, args.chunk as usize).await
}

/// `--csv FILE --type TYPE`: one request; the server reads, checks and stores row by row.
async fn send_csv(
    common: &Common,
    file: &str,
    event_type: &str,
    dry_run: bool,
) -> Result<(), Failure> {
    let input = read_input(file)?;
    let http = Http::new(common)?;
    let url = http.url(
        "/api/v1/import",
        &[
            ("type", Some(event_type.to_string())),
            ("dry_run", dry_run.then(|| "true".to_string())),
        ],
    )?;
    let report = http.post_csv(url, input).await?.json()?;
    let list = |key: &str| {
        report
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                Failure::BadAnswer(format!(
                    "POST /api/v1/import answered without `{key}`: {report}"
                ))
            })
    };
    let (stored, already, refused) = (list("stored")?, list("already_stored")?, list("refused")?);
    if common.json {
        output::json(&report)?;
    } else {
        let row = |entry: &Value| shown(entry.get("row"));
        let stored_word = if dry_run { "would be stored" } else { "stored" };
        output::line(&format!(
            "{file}: {} {stored_word}, {} already stored, {} refused{}",
            stored.len(),
            already.len(),
            refused.len(),
            if dry_run {
                " (dry run: nothing stored)"
            } else {
                ""
            }
        ))?;
        for entry in &stored {
            let id = entry
                .pointer("/event/pilot_id")
                .or_else(|| entry.pointer("/event/stakeholder_id"))
                .map(|id| format!(" ({})", shown(Some(id))))
                .unwrap_or_default();
            output::line(&format!(
                "  row {}: {stored_word} as {}{id}",
                row(entry),
                shown(entry.get("event_id"))
            ))?;
        }
        for entry in &already {
            output::line(&format!(
                "  row {}: already stored as {}",
                row(entry),
                shown(entry.get("event_id"))
            ))?;
        }
        for entry in &refused {
            let field = entry
                .get("field")
                .and_then(Value::as_str)
                .map(|f| format!(" [{f}]"))
                .unwrap_or_default();
            output::line(&format!(
                "  row {}: refused{field}: {}",
                row(entry),
                shown(entry.get("reason"))
            ))?;
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(Failure::Input(format!(
            "{file}: {} row{} refused (listed above with their reasons)",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" }
        )))
    }
}

pub async fn demo(args: DemoArgs) -> Result<(), Failure> {
    send(
        &args.common,
        NANGUO,
        "the Nanguo history",
        DEFAULT_CHUNK_LINES as usize,
    )
    .await
}

async fn send(common: &Common, input: &[u8], what: &str, chunk: usize) -> Result<(), Failure> {
    let lines = numbered_lines(input);
    if lines.is_empty() {
        return Err(Failure::Input(format!("{what}: no events to import")));
    }
    let http = Http::new(common)?;
    let url = http.url("/api/v1/import", &[])?;
    let bar = progress_bar(lines.len() as u64, common.json);
    let mut total = Summary::default();
    for part in lines.chunks(chunk.max(1)) {
        let (first, last) = (part[0].0, part[part.len() - 1].0);
        let mut body = Vec::new();
        for (_, line) in part {
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        let answer = match http.post_ndjson(url.clone(), body).await {
            Ok(answer) => answer,
            Err(failure) => {
                bar.abandon();
                return Err(in_chunk(failure, what, first, last, total));
            }
        };
        let counts = answer.json()?;
        let count = |key: &str| {
            counts.get(key).and_then(Value::as_u64).ok_or_else(|| {
                Failure::BadAnswer(format!(
                    "POST /api/v1/import answered without `{key}`: {counts}"
                ))
            })
        };
        total.appended += count("appended")?;
        total.skipped += count("skipped")?;
        total.position = counts.get("position").and_then(Value::as_u64);
        bar.inc(part.len() as u64);
    }
    bar.finish_and_clear();
    if common.json {
        return output::json(&total);
    }
    output::line(&format!(
        "{what}: {} appended, {} skipped (already stored){}",
        total.appended,
        total.skipped,
        total
            .position
            .map(|p| format!("; the log is at position {p}"))
            .unwrap_or_default()
    ))
}

/// A value of the report as a line shows it.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// Says which lines a failed request carried and what the earlier ones did.
fn in_chunk(failure: Failure, what: &str, first: usize, last: usize, done: Summary) -> Failure {
    let place = format!(
        "{what}, the request with lines {first}-{last} ({} appended and {} skipped before it)",
        done.appended, done.skipped
    );
    match failure {
        Failure::Server {
            status,
            code,
            message,
            field,
            detail,
        } => Failure::Server {
            status,
            code,
            message: format!("{message} [{place}]"),
            field,
            detail,
        },
        Failure::Unreachable(message) => Failure::Unreachable(format!("{message} [{place}]")),
        Failure::BadAnswer(message) => Failure::BadAnswer(format!("{message} [{place}]")),
        other => other,
    }
}

/// Non-blank lines with their 1-based numbers in the file, without line ends.
pub fn numbered_lines(input: &[u8]) -> Vec<(usize, &[u8])> {
    input
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .filter(|(_, line)| !pilot_api::reveal::is_sidecar(line))
        .collect()
}

/// A bar on stderr, or a hidden one when stderr is no terminal or output is `--json`.
fn progress_bar(total: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "importing {bar:40} {pos}/{len} events ({elapsed}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_the_lines_of_the_file() {
        let lines = numbered_lines(b"a\r\n\n b\n");
        assert_eq!(lines, vec![(1, &b"a"[..]), (3, &b" b"[..])]);
    }

    /// An export's sidecar lines are no events: verify, replay and import skip them, so their
    /// plain text is never sent back to be stored.
    #[test]
    fn skips_an_exports_sidecar_lines_keeping_the_numbers() {
        let lines =
            numbered_lines(b"a\n{\"revealed_for\":\"x\",\"fields\":{\"summary\":\"t\"}}\nb\n");
        assert_eq!(lines, vec![(1, &b"a"[..]), (3, &b"b"[..])]);
    }

    #[test]
    fn the_demo_history_is_built_in() {
        assert_eq!(
            numbered_lines(NANGUO).len(),
            pilot_api::demo::nanguo_events()
        );
    }
}
