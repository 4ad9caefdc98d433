//! What the client commands print: text and JSON on stdout, and the cells of tables
//! ([`crate::table`] lays them out).
//!
//! Everything goes through [`print()`] (a locked stdout, written with `write!` rather than
//! `println!`): a closed pipe (`pilot export | head`) is then an error to stop on quietly,
//! not a panic.

use super::Failure;
use serde::Serialize;
use serde_json::Value;
use std::io::Write;

/// Writes `text` to stdout as it is.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("stdout", e))
}

/// Writes `text` and a line end to stdout.
pub fn line(text: &str) -> Result<(), Failure> {
    print(&format!("{text}\n"))
}

/// Writes `value` as indented JSON and a line end to stdout.
pub fn json(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Io(format!("cannot write JSON: {e}")))?;
    line(&text)
}

/// Outside text with its control characters written as escapes, so a name cannot move the
/// terminal's cursor or break a table's line.
pub fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A number as people read it: whole numbers with thousands separators (`880,000`),
/// others as written (`0.02`).
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let digits = format!("{}", value.abs() as u64);
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if value < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else {
        format!("{value}")
    }
}

/// `text` cut to at most `max` terminal columns (display width: a CJK character counts two),
/// with `…` when cut: long titles in wide tables.
pub fn clip(text: &str, max: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= max {
        return text.to_string();
    }
    let room = max.saturating_sub(1);
    let mut clipped = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        clipped.push(c);
    }
    clipped.push('…');
    clipped
}

/// A JSON value as a table cell: strings bare, numbers as [`number`], null as `-`.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(whole) => whole.to_string(),
            None => n.as_f64().map_or_else(|| n.to_string(), number),
        },
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The date part of an RFC 3339 timestamp (`2000-12-31T18:00:00+08:00` → `2000-12-31`).
pub fn date(value: Option<&Value>) -> String {
    match value.and_then(Value::as_str) {
        Some(text) => text.get(..10).unwrap_or(text).to_string(),
        None => cell(value),
    }
}

/// A text field of a JSON object, or `-`.
pub fn text(object: &Value, key: &str) -> String {
    cell(object.get(key))
}

/// The array under `key` of a JSON object, or none: the rows of a detail view's section.
pub fn items<'a>(object: &'a Value, key: &str) -> &'a [Value] {
    object
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(number(880000.0), "880,000");
        assert_eq!(number(6100000.0), "6,100,000");
        assert_eq!(number(999.0), "999");
        assert_eq!(number(-1200.0), "-1,200");
        assert_eq!(number(0.02), "0.02");
    }

    #[test]
    fn long_texts_are_clipped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn clipping_counts_display_width() {
        assert_eq!(clip("南国市财政局", 7), "南国市…");
    }
}
