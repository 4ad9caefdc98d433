//! Seals a JSON Lines file of events: fills every `prev_hash` and `hash` so the hash chains hold.
//!
//! ```text
//! cargo run -q -p pilot-events --example seal < drafts.jsonl > sealed.jsonl
//! ```
//!
//! Input: one event per line, in chain order, where `prev_hash` and `hash` may be anything
//! (placeholders, stale values, or missing). For each line, in order:
//! - `prev_hash` becomes the `hash` of the previous line of the same chain (the `pilot_id`, or
//!   the `stakeholder_id` for registry events, the `jurisdiction_id` for a jurisdiction's
//!   context), or 64 zeros for the first event of a chain;
//! - `hash` becomes SHA-256 over the canonical JSON of the event without `hash`, computed on the
//!   JSON value exactly as `pilot_events::chain` verifies it;
//! - the sealed line is decoded with `pilot_events::decode` (type, fields, vocabulary, ranges),
//!   its `occurred_at` must not go back in time within its chain, and its typed form must hash
//!   the same (so the stored bytes are what pilot-tracker itself would write: every field
//!   given, floats written as floats, e.g. `880000.0`).
//!
//! Output: the sealed events in pilot-tracker's wire form, one per line, written only when every
//! line passed. Otherwise the first error is reported on stderr with its line number and the
//! exit status is 1. Event ids are never invented: fixtures keep stable ids.

use pilot_events::canonical::to_canonical_bytes;
use pilot_events::{decode, validate, verify_lines, Hash, Subject};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use time::OffsetDateTime;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // If stderr itself is gone there is nobody left to tell.
            let _ = writeln!(io::stderr(), "seal: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Per chain: the hash and `occurred_at` of its latest event.
#[derive(Default)]
struct Chains {
    last_hash: HashMap<String, Hash>,
    last_occurred: HashMap<Subject, OffsetDateTime>,
}

fn run() -> Result<(), String> {
    let mut chains = Chains::default();
    let mut sealed = Vec::new();
    for (index, line) in io::stdin().lock().lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| format!("line {number}: cannot read: {e}"))?;
        let out = seal_line(&line, &mut chains).map_err(|e| format!("line {number}: {e}"))?;
        sealed.push(out);
    }
    // Belt and braces: the crate's own verifier must accept exactly what is written.
    let report =
        verify_lines(sealed.iter().map(|line| line.as_bytes())).map_err(|e| e.to_string())?;

    let mut stdout = io::stdout().lock();
    for line in &sealed {
        writeln!(stdout, "{line}").map_err(|e| format!("cannot write: {e}"))?;
    }
    stdout.flush().map_err(|e| format!("cannot write: {e}"))?;
    let _ = writeln!(
        io::stderr(),
        "seal: {} events in {} chains sealed",
        report.events,
        report.chains
    );
    Ok(())
}

/// Seals one line onto its chain and returns the sealed event in wire form.
fn seal_line(line: &str, chains: &mut Chains) -> Result<String, String> {
    if line.trim().is_empty() {
        return Err("empty line: JSON Lines holds exactly one event per line".into());
    }
    let mut value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let object = value
        .as_object_mut()
        .ok_or("not a JSON object: an event is an object")?;
    object.remove("hash");
    let chain = ["pilot_id", "stakeholder_id", "jurisdiction_id"]
        .iter()
        .find_map(|key| object.get(*key).and_then(Value::as_str))
        .ok_or(
            "none of `pilot_id`, `stakeholder_id`, `jurisdiction_id`: every event names its chain",
        )?
        .to_string();
    let prev = chains.last_hash.get(&chain).copied().unwrap_or(Hash::ZERO);
    object.insert("prev_hash".into(), Value::String(prev.to_hex()));
    let hash = Hash::of(&to_canonical_bytes(&value));
    if let Some(object) = value.as_object_mut() {
        object.insert("hash".into(), Value::String(hash.to_hex()));
    }

    let text = value.to_string();
    let envelope = decode(text.as_bytes()).map_err(|e| e.to_string())?;
    validate::check_order(
        chains.last_occurred.get(&envelope.subject).copied(),
        &envelope,
    )
    .map_err(|e| e.to_string())?;
    if envelope.computed_hash() != hash {
        return Err(format!(
            "the event does not re-encode to the same JSON, so its typed hash would differ; \
             write it the way pilot-tracker does: {}",
            envelope.to_json()
        ));
    }

    chains.last_hash.insert(chain, hash);
    chains
        .last_occurred
        .insert(envelope.subject, envelope.occurred_at);
    Ok(envelope.to_json())
}
