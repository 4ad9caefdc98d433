//! Golden wire format, in two sets:
//! - `tests/golden/*.json`: the frozen schema-1 examples. They are never regenerated: they are
//!   stored history, and must keep decoding (as schema 1), verifying and re-serializing to the
//!   same bytes, and mean what a schema-2 event without the new fields means (the additive
//!   upcast, `pilot_events::upcast::SCHEMA_1_TO_2`).
//! - `tests/golden/schema-2/*.json`: one event of each of the 25 types as written now. After an
//!   intended change, regenerate them with
//!   `UPDATE_GOLDEN=1 cargo test -p pilot-events --test golden` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use pilot_events::{decode, verify_lines, Envelope, EventType, Hash, CURRENT_SCHEMA};
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The frozen schema-1 example of a type.
fn schema_1_path(event_type: EventType) -> PathBuf {
    golden_dir().join(format!("{}.json", event_type.as_str()))
}

fn schema_2_path(event_type: EventType) -> PathBuf {
    golden_dir()
        .join("schema-2")
        .join(format!("{}.json", event_type.as_str()))
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn wire_format_doc() -> String {
    read(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/wire-format.md"))
}

#[test]
fn every_event_type_has_a_sample() {
    let types: Vec<EventType> = common::schema_2_samples()
        .iter()
        .map(|e| e.event_type())
        .collect();
    assert_eq!(types, EventType::ALL);
    assert!(common::schema_2_samples()
        .iter()
        .all(|e| e.schema == CURRENT_SCHEMA));
}

#[test]
fn every_schema_1_type_has_a_frozen_sample() {
    let types: Vec<EventType> = common::schema_1_samples()
        .iter()
        .map(|e| e.event_type())
        .collect();
    let schema_1: Vec<EventType> = EventType::ALL
        .iter()
        .copied()
        .filter(|t| t.since_schema() == 1)
        .collect();
    assert_eq!(types, schema_1);
    assert!(common::schema_1_samples().iter().all(|e| e.schema == 1));
}

#[test]
fn schema_2_wire_json_matches_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    if update {
        std::fs::create_dir_all(golden_dir().join("schema-2")).unwrap();
    }
    for envelope in common::schema_2_samples() {
        let path = schema_2_path(envelope.event_type());
        let json = envelope.to_json();
        if update {
            std::fs::write(&path, format!("{json}\n")).unwrap();
        }
        assert_eq!(
            read(&path).trim_end(),
            json,
            "wire format of {} changed",
            envelope.event_type()
        );
    }
}

#[test]
fn schema_2_golden_files_decode_to_the_samples_and_their_hashes_verify() {
    for envelope in common::schema_2_samples() {
        let golden = read(&schema_2_path(envelope.event_type()));
        let bytes = golden.trim_end().as_bytes();
        let decoded = decode(bytes).unwrap();
        assert_eq!(decoded, envelope);
        assert_eq!(decoded.schema, 2);
        assert_eq!(decoded.computed_hash(), decoded.hash);
        verify_lines([bytes]).unwrap();
    }
}

/// The frozen files are what the schema-1 samples serialize to (never written by
/// `UPDATE_GOLDEN`: a difference here means the wire format of stored history changed).
#[test]
fn schema_1_golden_files_are_frozen() {
    for envelope in common::schema_1_samples() {
        let path = schema_1_path(envelope.event_type());
        assert_eq!(
            read(&path).trim_end(),
            envelope.to_json(),
            "the stored schema-1 bytes of {} no longer match",
            envelope.event_type()
        );
    }
}

#[test]
fn schema_1_golden_files_decode_as_schema_1_verify_and_keep_their_bytes() {
    for envelope in common::schema_1_samples() {
        let golden = read(&schema_1_path(envelope.event_type()));
        let bytes = golden.trim_end();
        let decoded = decode(bytes.as_bytes()).unwrap();
        assert_eq!(decoded.schema, 1, "{}", envelope.event_type());
        assert!(decoded.provenance.is_empty());
        assert_eq!(decoded, envelope);
        assert_eq!(decoded.computed_hash(), decoded.hash);
        assert_eq!(decoded.to_json(), bytes, "re-serialized bytes differ");
        verify_lines([bytes.as_bytes()]).unwrap();
    }
}

/// The additive upcast: a schema-1 event decodes to the typed event a schema-2 event with the
/// same data and none of the new fields decodes to, and the defaults mean schema 1's meaning.
#[test]
fn schema_1_golden_files_mean_what_schema_2_without_the_new_fields_means() {
    for envelope in common::schema_1_samples() {
        let golden = read(&schema_1_path(envelope.event_type()));
        let from_schema_1 = decode(golden.trim_end().as_bytes()).unwrap();

        let as_schema_2: Envelope = Envelope {
            schema: 2,
            ..envelope.clone()
        }
        .seal(Hash::ZERO);
        let json_2 = as_schema_2.to_json();
        // Only the version differs on the wire.
        assert_eq!(
            json_2.replace(&as_schema_2.hash.to_hex(), &envelope.hash.to_hex()),
            golden.trim_end().replace("\"schema\":1", "\"schema\":2")
        );
        let from_schema_2 = decode(json_2.as_bytes()).unwrap();
        assert_eq!(from_schema_2.schema, 2);
        assert_eq!(from_schema_1.event, from_schema_2.event);
        assert_eq!(from_schema_1.provenance, from_schema_2.provenance);
        assert_eq!(from_schema_1.subject, from_schema_2.subject);

        match &from_schema_1.event {
            pilot_events::Event::TargetSet(d) => {
                assert_eq!(d.direction(), pilot_events::Direction::AtLeast)
            }
            pilot_events::Event::MetricRecorded(d) => {
                assert_eq!(d.qualifier(), pilot_events::Qualifier::Exact)
            }
            _ => {}
        }
    }
}

#[test]
fn the_wire_format_document_shows_every_golden_example() {
    let doc = wire_format_doc();
    for envelope in common::schema_2_samples() {
        let golden = read(&schema_2_path(envelope.event_type()));
        assert!(
            doc.contains(golden.trim_end()),
            "docs/wire-format.md lacks the schema-2 example of {}",
            envelope.event_type()
        );
    }
    for envelope in common::schema_1_samples() {
        let golden = read(&schema_1_path(envelope.event_type()));
        assert!(
            doc.contains(golden.trim_end()),
            "docs/wire-format.md lacks the schema-1 example of {}",
            envelope.event_type()
        );
    }
}

/// The stall records (docs/wire-format.md, "Stall record") have their own frozen schema-1
/// files; like the other schema-1 files they are never rewritten.
#[test]
fn stall_records_match_their_golden_files_and_verify() {
    let doc = wire_format_doc();
    let path = |name: &str| golden_dir().join(format!("{name}.json"));
    for (name, envelope) in common::recorded_samples() {
        let json = envelope.to_json();
        let golden = read(&path(name));
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
