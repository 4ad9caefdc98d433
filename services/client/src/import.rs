//! `pilot import FILE.jsonl`: back-fills sealed events (an export, the demo history) through
//! `POST /api/v1/import`, in chunks of JSON Lines, with a progress bar on stderr.
//! `pilot demo`: the same with the Nanguo history built into the binary.
//!
//! The server stores each line as it is (the hashes are in the bytes) and skips the events
//! it holds already, so running an import again reports them all as `skipped`.

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
    #[arg(value_name = "FILE.jsonl")]
    pub file: String,

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
    let input = read_input(&args.file)?;
    send(&args.common, &input, &args.file, args.chunk as usize).await
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

    #[test]
    fn the_demo_history_is_built_in() {
        assert_eq!(
            numbered_lines(NANGUO).len(),
            pilot_api::demo::nanguo_events()
        );
    }
}
