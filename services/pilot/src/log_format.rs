//! Log lines that no input can forge.
//!
//! Field values often carry outside text: an error that quotes a request, a quarantine
//! reason, a name. Written raw, a newline in such text starts what looks like a new log line,
//! and an ESC sequence rewrites the terminal. [`EscapedFields`] formats every field of every
//! event and span as the default formatter does, then writes each control character as a
//! visible escape (`\n`, `\u{1b}`), so one event is always one line. It is the one place
//! this is done: no call site has to remember it.

use std::fmt::{self, Write};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::FormatFields;

/// The default field format with control characters escaped.
#[derive(Debug, Default)]
pub struct EscapedFields {
    inner: DefaultFields,
}

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut raw = String::new();
        self.inner.format_fields(Writer::new(&mut raw), fields)?;
        write_escaped(&mut writer, &raw)
    }
}

/// Writes `text` with each control character as its escape.
pub fn write_escaped(out: &mut impl Write, text: &str) -> fmt::Result {
    for c in text.chars() {
        if c.is_control() {
            write!(out, "{}", c.escape_default())?;
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        let mut out = String::new();
        write_escaped(&mut out, "title=Health\n2026 INFO forged \u{1b}[2K\tend").unwrap();
        assert_eq!(out, "title=Health\\n2026 INFO forged \\u{1b}[2K\\tend");
    }
}
