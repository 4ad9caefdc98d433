//! Reading a local log file: the JSON Lines that `pilot export` and `GET /api/v1/events`
//! write, one stored event per line, in log order. `pilot replay --file` folds it as it would
//! fold the server's log.
//!
//! Every line must decode as a stored event before anything is folded: a file that is not a
//! log (a CSV export, an alert export, a truncated copy) is refused with the number of its
//! first bad line and what is wrong there, rather than replayed in part and misread. A line
//! that decodes but does not fit its chain is a different matter, the fold's: it is refused
//! there and reported as the live projection would report it.

use super::import::numbered_lines;
use super::{read_input, Failure};
use bytes::Bytes;

/// One line of a log file: its number (1-based, blank lines counted) and its bytes as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub bytes: Bytes,
}

/// The events of the log file `name` (`-` reads stdin), checked to decode, in file order.
/// A file that cannot be read is [`Failure::Io`]; a line that is no stored event is
/// [`Failure::Input`], naming the file, the line and the decoder's reason.
pub fn read(name: &str) -> Result<Vec<Line>, Failure> {
    parse(name, &read_input(name)?)
}

/// [`read`] on bytes already read; `name` is for messages.
fn parse(name: &str, input: &[u8]) -> Result<Vec<Line>, Failure> {
    numbered_lines(input)
        .into_iter()
        .map(|(number, bytes)| match pilot_events::decode(bytes) {
            Ok(_) => Ok(Line {
                number,
                bytes: Bytes::copy_from_slice(bytes),
            }),
            Err(error) => Err(Failure::Input(format!(
                "{name} line {number} is not a stored event: {error}"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanguo_lines() -> Vec<&'static str> {
        std::str::from_utf8(pilot_api::demo::NANGUO)
            .unwrap()
            .lines()
            .collect()
    }

    #[test]
    fn reads_every_event_with_its_line_number_and_skips_blank_lines() {
        let lines = nanguo_lines();
        let input = format!("{}\n\n{}\r\n", lines[0], lines[1]);
        let read = parse("log.jsonl", input.as_bytes()).unwrap();
        let numbers: Vec<usize> = read.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [1, 3]);
        assert_eq!(
            read[1].bytes,
            lines[1].as_bytes(),
            "the stored bytes, no line end"
        );
    }

    #[test]
    fn a_bad_line_is_refused_with_its_number_and_the_reason() {
        let lines = nanguo_lines();
        let input = format!("{}\n{}\nnot json\n", lines[0], lines[1]);
        let error = parse("log.jsonl", input.as_bytes()).unwrap_err();
        assert_eq!(error.exit_code(), 3);
        let message = error.to_string();
        assert!(
            message.starts_with("log.jsonl line 3 is not a stored event: "),
            "{message}"
        );

        let no_type = lines[0].replace("\"type\"", "\"kind\"");
        let error = parse("log.jsonl", no_type.as_bytes()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("line 1 "), "{message}");
        assert!(message.contains("type"), "the field at fault: {message}");
    }

    #[test]
    fn a_missing_file_is_an_io_failure_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.jsonl");
        let error = read(missing.to_str().unwrap()).unwrap_err();
        assert_eq!(error.exit_code(), 1);
        assert!(error.to_string().contains("absent.jsonl"), "{error}");
    }
}
