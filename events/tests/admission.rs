//! New events meet stricter rules than stored history: flat parameters, no control
//! characters in one-line texts, bounded depth. History stored before keeps decoding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use pilot_events::admit::{admit, check_depth, MAX_JSON_DEPTH};
use pilot_events::{decode, Envelope, EventError, EventType};
use serde_json::{json, Value};

fn sample(event_type: EventType) -> Value {
    common::schema_1_samples()
        .into_iter()
        .find(|e| e.event_type() == event_type)
        .unwrap()
        .to_value(true)
}

/// Decodes a bent sample: what a reader of stored history sees.
fn decoded(value: &Value) -> Envelope {
    decode(value.to_string().as_bytes()).unwrap()
}

fn refused_field(value: &Value) -> (String, String) {
    match admit(&decoded(value)) {
        Err(EventError::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn every_sample_event_is_admitted() {
    for envelope in common::schema_1_samples() {
        admit(&envelope).unwrap();
    }
}

#[test]
fn nested_parameters_are_refused() {
    let mut value = sample(EventType::ProgramDesigned);
    value["data"]["parameters"] = json!({"rate": 0.02, "tiers": {"low": 1}});
    let (field, message) = refused_field(&value);
    assert_eq!(field, "data.parameters.tiers");
    assert!(message.contains("plain value"), "{message}");
    value["data"]["parameters"] = json!({"rate": 0.02, "tiers": [1, 2]});
    assert_eq!(refused_field(&value).0, "data.parameters.tiers");
    // Stored history with nested parameters still decodes: the rule is for new events.
    value["data"]["parameters"] = json!({"tiers": {"low": {"deeper": [1]}}});
    let _ = decoded(&value);
}

#[test]
fn control_characters_in_titles_and_names_are_refused() {
    let mut value = sample(EventType::PilotProposed);
    value["data"]["title"] = json!("Health\n2026-12-04T00:00:00Z INFO forged line");
    let (field, message) = refused_field(&value);
    assert_eq!(field, "data.title");
    assert!(message.contains("\\u{a}"), "{message}");
    value["data"]["title"] = json!("Health \u{1b}[31minsurance");
    assert_eq!(refused_field(&value).0, "data.title");
    let mut value = sample(EventType::StakeholderRegistered);
    value["actor"]["user"] = json!("desk\r");
    assert_eq!(refused_field(&value).0, "actor.user");
    let mut value = sample(EventType::ProgramDesigned);
    value["data"]["target_groups"] = json!(["workers", "retirees\u{7}"]);
    assert_eq!(refused_field(&value).0, "data.target_groups[1]");
}

#[test]
fn notes_may_keep_newlines_and_tabs_but_no_other_control_characters() {
    let mut value = sample(EventType::PilotProposed);
    value["data"]["problem_frame"] = json!("First line.\n\tSecond line.\r\n");
    admit(&decoded(&value)).unwrap();
    value["data"]["problem_frame"] = json!("First line.\u{1b}[2J");
    assert_eq!(refused_field(&value).0, "data.problem_frame");
}

#[test]
fn documents_deeper_than_the_limit_are_refused() {
    let mut parameters = json!(1);
    for _ in 0..124 {
        parameters = json!({ "p": parameters });
    }
    let mut value = sample(EventType::ProgramDesigned);
    value["data"]["parameters"] = parameters;
    let error = check_depth(value.to_string().as_bytes()).unwrap_err();
    assert!(
        error.to_string().contains(&MAX_JSON_DEPTH.to_string()),
        "{error}"
    );
    check_depth(sample(EventType::ProgramDesigned).to_string().as_bytes()).unwrap();
}
