//! Golden wire format: the JSON of one event of every type is kept in `tests/golden/`, so any
//! change to the public format breaks this test. After an intended change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p pilot-events --test golden` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use pilot_events::{decode, verify_lines, EventType};
use std::path::PathBuf;

fn golden_path(event_type: EventType) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{}.json", event_type.as_str()))
}

#[test]
fn every_event_type_has_a_sample() {
    let types: Vec<EventType> = common::samples().iter().map(|e| e.event_type()).collect();
    assert_eq!(types, EventType::ALL);
}

#[test]
fn wire_json_matches_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for envelope in common::samples() {
        let path = golden_path(envelope.event_type());
        let json = envelope.to_json();
        if update {
            std::fs::write(&path, format!("{json}\n")).unwrap();
        }
        let golden =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            golden.trim_end(),
            json,
            "wire format of {} changed",
            envelope.event_type()
        );
    }
}

#[test]
fn golden_files_decode_to_the_samples_and_their_hashes_verify() {
    for envelope in common::samples() {
        let golden = std::fs::read(golden_path(envelope.event_type())).unwrap();
        let decoded = decode(golden.trim_ascii_end()).unwrap();
        assert_eq!(decoded, envelope);
        assert_eq!(decoded.computed_hash(), decoded.hash);
        verify_lines([golden.trim_ascii_end()]).unwrap();
    }
}

#[test]
fn the_wire_format_document_shows_every_golden_example() {
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/wire-format.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    for event_type in EventType::ALL {
        let golden = std::fs::read_to_string(golden_path(*event_type)).unwrap();
        assert!(
            doc.contains(golden.trim_end()),
            "docs/wire-format.md lacks the example of {event_type}"
        );
    }
}

/// The stall records (docs/wire-format.md, "Stall record") have their own golden files; the
/// files of `samples()` above, without them, must stay byte for byte as they were.
#[test]
fn stall_records_match_their_golden_files_and_verify() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/wire-format.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let path = |name: &str| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("{name}.json"))
    };
    if update {
        for (name, envelope) in common::recorded_samples() {
            std::fs::write(path(name), format!("{}\n", envelope.to_json())).unwrap();
        }
    }
    for (name, envelope) in common::recorded_samples() {
        let json = envelope.to_json();
        let golden = std::fs::read_to_string(path(name)).unwrap();
        assert_eq!(golden.trim_end(), json, "wire format of {name} changed");
        let decoded = decode(golden.trim_end().as_bytes()).unwrap();
        assert_eq!(decoded, envelope);
        assert_eq!(decoded.computed_hash(), decoded.hash);
        assert!(
            doc.contains(golden.trim_end()),
            "docs/wire-format.md lacks {name}"
        );
    }
}
