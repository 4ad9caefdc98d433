//! What the client commands print: plain column tables for people, JSON for machines.
//!
//! Everything goes through [`print`] (a locked stdout, written with `write!` rather than
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

/// A table of text columns, padded to the widest cell; the last column is not padded.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: vec![false; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns the named columns (numbers).
    pub fn right(mut self, columns: &[&str]) -> Table {
        for (i, header) in self.headers.iter().enumerate() {
            if columns.contains(&header.as_str()) {
                self.right[i] = true;
            }
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let width = |cell: &str| cell.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let mut text = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (width_max, right)) in widths.iter().zip(&self.right).enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(width_max.saturating_sub(width(cell)));
                if *right {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < columns {
                        line.push_str(&pad);
                    }
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }

    pub fn print(&self) -> Result<(), Failure> {
        print(&self.render())
    }
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

/// `text` cut to at most `max` characters, with `…` when cut: long titles in wide tables.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
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
    fn tables_pad_columns() {
        let mut table = Table::new(&["name", "n"]).right(&["n"]);
        table.row(vec!["a".into(), "1".into()]);
        table.row(vec!["long name".into(), "1,000".into()]);
        assert_eq!(
            table.render(),
            "name           n\na              1\nlong name  1,000\n"
        );
    }
}
