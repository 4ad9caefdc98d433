//! Rules a *new* event must meet before it is stored, on top of [`crate::validate`].
//!
//! These rules were added after history was recorded under looser ones, so they are not part
//! of decoding: a stored event that breaks them still folds as it was accepted, and nothing in
//! today's history is quarantined on a rebuild. Appends and imports call [`admit`] (and check
//! [`json_depth`] on the bytes they receive) before anything is published.
//!
//! - **Depth.** A JSON document nested deeper than [`MAX_JSON_DEPTH`] is refused: a deep
//!   value stored once would later break every reader whose parser has a recursion limit.
//! - **Flat parameters.** `data.parameters` of `program.designed` maps names to plain values
//!   (text, number, true/false, null), never to arrays or objects.
//! - **No control characters.** Names, titles, ids and other one-line texts hold no control
//!   characters (a newline or an ESC in a title forges lines in logs and terminals); the
//!   free texts in [`MULTILINE_FIELDS`] may keep newlines and tabs.

use crate::envelope::Envelope;
use crate::error::EventError;
use serde_json::Value;

/// The deepest nesting of arrays and objects a request, an import line or an event may have.
/// A request wraps events in an array (1), an event is an object (2) holding `data` (3) whose
/// lists and `parameters` hold plain values (4); 16 leaves room and stays far below the
/// recursion limits of JSON parsers (serde_json's is 128).
pub const MAX_JSON_DEPTH: usize = 16;

/// The `data` fields that are free text and may span lines (newline, carriage return, tab).
pub const MULTILINE_FIELDS: [&str; 6] = [
    "problem_frame",
    "summary",
    "note",
    "conditions",
    "reason",
    "basis",
];

/// How deeply arrays and objects nest in `bytes` (0 for a scalar), counted without parsing,
/// so a hostile document costs one pass and no allocation. Brackets inside strings do not
/// count; malformed JSON is left to the parser.
pub fn json_depth(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`], naming the limit.
pub fn check_depth(bytes: &[u8]) -> Result<(), EventError> {
    let depth = json_depth(bytes);
    if depth > MAX_JSON_DEPTH {
        return Err(EventError::Malformed {
            message: format!(
                "arrays and objects nest {depth} deep; at most {MAX_JSON_DEPTH} are accepted: flatten the document"
            ),
        });
    }
    Ok(())
}

/// The rules for a new event (see the module's documentation). Errors name the field.
pub fn admit(envelope: &Envelope) -> Result<(), EventError> {
    one_line("actor.office", &envelope.actor.office)?;
    one_line("actor.user", &envelope.actor.user)?;
    // `Event` serializes as its `data` object; plain data always serializes.
    let Ok(Value::Object(data)) = serde_json::to_value(&envelope.event) else {
        return Ok(());
    };
    for (name, value) in &data {
        let field = format!("data.{name}");
        if name == "parameters" {
            flat_parameters(value)?;
        } else if MULTILINE_FIELDS.contains(&name.as_str()) {
            texts(&field, value, true)?;
        } else {
            texts(&field, value, false)?;
        }
    }
    Ok(())
}

fn flat_parameters(parameters: &Value) -> Result<(), EventError> {
    let Value::Object(parameters) = parameters else {
        return Ok(());
    };
    for (name, value) in parameters {
        let field = format!("data.parameters.{name}");
        one_line(&field, name)?;
        match value {
            Value::Array(_) | Value::Object(_) => {
                return Err(EventError::field(
                    field,
                    "a parameter is a plain value (text, number, true/false or null), not a list or an object: give each part its own parameter",
                ))
            }
            Value::String(text) => one_line(&field, text)?,
            _ => {}
        }
    }
    Ok(())
}

/// Every string in `value` (one text, or a list of them), one line unless `multiline`.
fn texts(field: &str, value: &Value, multiline: bool) -> Result<(), EventError> {
    match value {
        Value::String(text) if multiline => free_text(field, text),
        Value::String(text) => one_line(field, text),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| texts(&format!("{field}[{index}]"), item, multiline)),
        _ => Ok(()),
    }
}

fn one_line(field: &str, text: &str) -> Result<(), EventError> {
    match text.chars().find(|c| c.is_control()) {
        None => Ok(()),
        Some(c) => Err(EventError::field(
            field,
            format!(
                "holds the control character {}: names, titles and ids are one line of printable text",
                c.escape_unicode()
            ),
        )),
    }
}

fn free_text(field: &str, text: &str) -> Result<(), EventError> {
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        None => Ok(()),
        Some(c) => Err(EventError::field(
            field,
            format!(
                "holds the control character {}: free text may hold newlines and tabs, no other control characters",
                c.escape_unicode()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(json_depth(b"1"), 0);
        assert_eq!(json_depth(br#"{"a": [1, {"b": 2}]}"#), 3);
        assert_eq!(json_depth(br#"{"a": "[[[[{{{{\"[["}"#), 1);
        assert_eq!(json_depth(br#"[{"a": "\\"}, [[]]]"#), 3);
    }

    #[test]
    fn deep_documents_are_refused_with_the_limit() {
        let deep = format!("{}{}", "[".repeat(17), "]".repeat(17));
        let error = check_depth(deep.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("17 deep") && error.contains("16"), "{error}");
        let fine = format!("{}{}", "[".repeat(16), "]".repeat(16));
        assert!(check_depth(fine.as_bytes()).is_ok());
    }
}
