//! `pilot append FILE|-`: draft events → `POST /api/v1/events`; prints what was stored.
//!
//! The input is one JSON draft, a JSON array of drafts, or JSON Lines (one draft per line).
//! The server seals them onto their chain, all or nothing, and answers 201 with the stored
//! events (200 when every one was stored already: a retry with the same `event_id`s).

use super::http::Http;
use super::output;
use super::table::Table;
use super::{read_input, Common, Failure};
use clap::Args;
use serde_json::Value;

#[derive(Debug, Clone, Args)]
pub struct AppendArgs {
    /// A JSON draft event, a JSON array of drafts, or JSON Lines (one draft per line); `-`
    /// reads stdin.
    #[arg(value_name = "FILE|-")]
    pub file: String,

    /// Store the events only if their chain is at this version now (0: a new chain);
    /// otherwise the server answers 409 version_conflict with the current version.
    #[arg(long, value_name = "N")]
    pub expected_version: Option<u64>,

    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: AppendArgs) -> Result<(), Failure> {
    let input = read_input(&args.file)?;
    let body =
        parse_drafts(&input).map_err(|e| Failure::Input(format!("{}: {e}", label(&args.file))))?;
    let http = Http::new(&args.common)?;
    let url = http.url(
        "/api/v1/events",
        &[(
            "expected_version",
            args.expected_version.map(|v| v.to_string()),
        )],
    )?;
    let answer = http.post_json(url, &body).await?;
    let stored = answer.json()?;
    if args.common.json {
        return output::json(&stored);
    }
    let events = stored
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| Failure::BadAnswer(format!("no `events` in {stored}")))?;
    let what = if answer.status == 200 {
        "already stored"
    } else {
        "stored"
    };
    output::line(&format!(
        "{what}: {} event{} (log position {})",
        events.len(),
        if events.len() == 1 { "" } else { "s" },
        output::cell(stored.get("position"))
    ))?;
    let mut table = Table::new(&["event_id", "type", "version", "position", "hash"])
        .right(&["version", "position"])
        .whole(&["event_id"]);
    for event in events {
        table.row(
            ["event_id", "type", "version", "position", "hash"]
                .iter()
                .map(|key| output::text(event, key))
                .collect(),
        );
    }
    table.print()
}

/// How an input is named in messages.
fn label(file: &str) -> &str {
    if file == "-" {
        "stdin"
    } else {
        file
    }
}

/// The request body: the one draft, or an array of drafts.
pub fn parse_drafts(input: &[u8]) -> Result<Value, String> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(
            "no draft given: expected a JSON object, an array of them, or JSON Lines".into(),
        );
    }
    let whole = match serde_json::from_slice::<Value>(input) {
        Ok(Value::Object(draft)) => return Ok(Value::Object(draft)),
        Ok(Value::Array(drafts)) => {
            if drafts.is_empty() {
                return Err("the array of drafts is empty".into());
            }
            if let Some(i) = drafts.iter().position(|d| !d.is_object()) {
                return Err(format!("draft {} of the array is not a JSON object", i + 1));
            }
            return Ok(Value::Array(drafts));
        }
        Ok(_) => return Err("a draft is a JSON object (or an array of them)".into()),
        Err(error) => error,
    };
    // Not one JSON document: JSON Lines, if every non-blank line is an object.
    let mut drafts = Vec::new();
    for line in input.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(draft)) => drafts.push(Value::Object(draft)),
            _ => return Err(format!("not JSON: {whole}")),
        }
    }
    match drafts.len() {
        0 | 1 => Err(format!("not JSON: {whole}")),
        _ => Ok(Value::Array(drafts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn takes_an_object_an_array_or_json_lines() {
        assert_eq!(parse_drafts(br#" {"a": 1} "#).unwrap(), json!({"a": 1}));
        assert_eq!(
            parse_drafts(br#"[{"a": 1}, {"b": 2}]"#).unwrap(),
            json!([{"a": 1}, {"b": 2}])
        );
        assert_eq!(
            parse_drafts(b"{\"a\": 1}\n\n{\"b\": 2}\n").unwrap(),
            json!([{"a": 1}, {"b": 2}])
        );
    }

    #[test]
    fn refuses_what_is_no_draft() {
        assert!(parse_drafts(b"  \n").unwrap_err().contains("no draft"));
        assert!(parse_drafts(b"[]").unwrap_err().contains("empty"));
        assert!(parse_drafts(b"[1]").unwrap_err().contains("draft 1"));
        assert!(parse_drafts(b"42").unwrap_err().contains("JSON object"));
        let broken = parse_drafts(b"{\"a\": \n").unwrap_err();
        assert!(broken.starts_with("not JSON"), "{broken}");
        assert!(broken.contains("line"), "{broken}");
    }
}
