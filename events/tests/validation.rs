//! Decoding refuses bad input with the field, the problem and what is allowed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use pilot_events::upcast::Upcaster;
use pilot_events::validate::check_order;
use pilot_events::{decode, Decoder, Event, EventError, EventType};
use serde_json::{json, Value};
use time::macros::datetime;

/// The sample of `event_type` as a JSON value, to be bent into bad shapes.
fn sample(event_type: EventType) -> Value {
    let envelope = common::schema_1_samples()
        .into_iter()
        .find(|e| e.event_type() == event_type)
        .unwrap();
    envelope.to_value(true)
}

fn decode_value(value: &Value) -> Result<pilot_events::Envelope, EventError> {
    decode(value.to_string().as_bytes())
}

fn field_error(value: &Value) -> (String, String) {
    match decode_value(value) {
        Err(EventError::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn unknown_type_lists_the_allowed_types() {
    let mut value = sample(EventType::PilotProposed);
    value["type"] = json!("pilot.renamed");
    let error = decode_value(&value).unwrap_err();
    assert_eq!(
        error,
        EventError::UnknownType {
            found: "pilot.renamed".into()
        }
    );
    assert!(
        error.to_string().contains("lobbying.contact_logged"),
        "{error}"
    );
    assert_eq!(error.field_path(), Some("type"));
}

#[test]
fn unknown_fields_are_refused_in_envelope_and_data() {
    let mut value = sample(EventType::PilotProposed);
    value["data"]["budget"] = json!(5);
    let (field, message) = field_error(&value);
    assert_eq!(field, "data.budget");
    assert!(
        message.contains("unknown field `budget`") && message.contains("problem_frame"),
        "{message}"
    );

    let mut value = sample(EventType::PilotProposed);
    value["priority"] = json!("high");
    let (field, message) = field_error(&value);
    assert_eq!(field, "priority");
    assert!(message.contains("unknown field `priority`"), "{message}");
}

#[test]
fn missing_fields_are_named() {
    let mut value = sample(EventType::ApprovalRequested);
    value["data"].as_object_mut().unwrap().remove("approver_id");
    assert_eq!(field_error(&value).0, "data.approver_id");

    let mut value = sample(EventType::ApprovalRequested);
    value.as_object_mut().unwrap().remove("occurred_at");
    let (field, message) = field_error(&value);
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("occurred_at", "missing field `occurred_at`")
    );
}

#[test]
fn optional_notes_may_be_left_out() {
    let mut value = sample(EventType::ApprovalRequested);
    value["data"].as_object_mut().unwrap().remove("note");
    let decoded = decode_value(&value).unwrap();
    assert!(matches!(decoded.event, Event::ApprovalRequested(ref d) if d.note.is_empty()));
}

#[test]
fn stance_outside_minus_two_to_two_is_refused() {
    let mut value = sample(EventType::ContactLogged);
    value["data"]["stance"] = json!(7);
    let (field, message) = field_error(&value);
    assert_eq!(field, "data.stance");
    assert!(message.contains("stance 7 is outside -2..2"), "{message}");
    value["data"]["stance"] = json!(-2);
    decode_value(&value).unwrap();
}

#[test]
fn influence_outside_one_to_five_is_refused() {
    let mut value = sample(EventType::StakeholderRegistered);
    value["data"]["influence"] = json!(0);
    let (field, message) = field_error(&value);
    assert_eq!(field, "data.influence");
    assert!(message.contains("influence 0 is outside 1..5"), "{message}");
}

#[test]
fn empty_title_is_refused() {
    let mut value = sample(EventType::PilotProposed);
    value["data"]["title"] = json!("   ");
    assert_eq!(field_error(&value).0, "data.title");
}

#[test]
fn non_finite_metric_values_are_refused() {
    let mut value = sample(EventType::MetricRecorded);
    value["data"]["value"] = json!(1);
    let text = value.to_string().replace("\"value\":1", "\"value\":1e999");
    let error = decode(text.as_bytes()).unwrap_err();
    assert!(
        error.field_path().is_some_and(|f| f.starts_with("data")),
        "{error}"
    );
    assert!(error.to_string().contains("number out of range"), "{error}");

    // JSON cannot spell NaN, but events built in code can.
    let mut envelope = decode_value(&sample(EventType::MetricRecorded)).unwrap();
    if let Event::MetricRecorded(d) = &mut envelope.event {
        d.value = f64::NAN;
    }
    let error = pilot_events::validate::validate(&envelope).unwrap_err();
    assert_eq!(error.field_path(), Some("data.value"));
}

#[test]
fn bad_words_list_the_allowed_ones() {
    for (event_type, field, word, allowed) in [
        (EventType::PilotProposed, "level", "city", "municipal"),
        (
            EventType::StakeholderRegistered,
            "kind",
            "ngo",
            "higher_authority",
        ),
        (EventType::ContactLogged, "channel", "email", "site_visit"),
        (EventType::ContactLogged, "strategy", "bribery", "brokering"),
        (
            EventType::HighlightRecorded,
            "kind",
            "medal",
            "model_designation",
        ),
        (
            EventType::AdoptedElsewhere,
            "mechanism",
            "copying",
            "championship",
        ),
    ] {
        let mut value = sample(event_type);
        value["data"][field] = json!(word);
        let (path, message) = field_error(&value);
        assert_eq!(path, format!("data.{field}"));
        assert!(
            message.contains(word) && message.contains(allowed),
            "{message}"
        );
    }
}

#[test]
fn an_event_names_exactly_one_fitting_chain() {
    let mut value = sample(EventType::PilotProposed);
    value["stakeholder_id"] = json!(common::FINANCE);
    assert_eq!(field_error(&value).0, "stakeholder_id");

    let mut value = sample(EventType::StakeholderRegistered);
    value.as_object_mut().unwrap().remove("stakeholder_id");
    value["pilot_id"] = json!(common::PILOT);
    assert_eq!(field_error(&value).0, "pilot_id");
}

#[test]
fn merging_a_pilot_into_itself_is_refused() {
    let mut value = sample(EventType::PilotMerged);
    value["data"]["into_pilot_id"] = json!(common::PILOT);
    assert_eq!(field_error(&value).0, "data.into_pilot_id");
}

#[test]
fn occurred_at_going_backwards_within_a_chain_is_refused() {
    let envelope = decode_value(&sample(EventType::ContactLogged)).unwrap();
    check_order(Some(datetime!(2000-03-01 09:00 +08:00)), &envelope).unwrap();
    let error = check_order(Some(datetime!(2000-03-01 09:00:01 +08:00)), &envelope).unwrap_err();
    assert_eq!(error.field_path(), Some("occurred_at"));
}

#[test]
fn future_schemas_and_garbage_are_refused_clearly() {
    let mut value = sample(EventType::PilotProposed);
    value["schema"] = json!(3);
    assert_eq!(
        decode_value(&value).unwrap_err(),
        EventError::UnsupportedSchema {
            found: 3,
            newest: 2
        }
    );
    assert!(matches!(
        decode(b"{not json"),
        Err(EventError::Malformed { .. })
    ));
    assert!(matches!(
        decode(b"[1,2]"),
        Err(EventError::Field { .. }) | Err(EventError::Malformed { .. })
    ));
}

/// A synthetic schema 0 of `lobbying.contact_logged` that said `attitude` in words; the
/// upcaster lifts it to schema 1's numeric `stance`, exactly as a real schema-2 step would.
fn attitude_to_stance(event_type: &str, mut data: Value) -> Result<(String, Value), String> {
    if event_type == "lobbying.contact_logged" {
        let object = data.as_object_mut().ok_or("data is not an object")?;
        let attitude = object.remove("attitude").ok_or("no `attitude`")?;
        let stance = match attitude.as_str() {
            Some("opposed") => -2,
            Some("sceptical") => -1,
            Some("neutral") => 0,
            Some("open") => 1,
            Some("champion") => 2,
            _ => return Err(format!("unknown attitude {attitude}")),
        };
        object.insert("stance".into(), json!(stance));
    }
    Ok((event_type.to_string(), data))
}

#[test]
fn older_schemas_are_upcast_on_read() {
    let mut old = sample(EventType::ContactLogged);
    old["schema"] = json!(0);
    old["data"].as_object_mut().unwrap().remove("stance");
    old["data"]["attitude"] = json!("champion");
    let bytes = old.to_string();

    assert_eq!(
        decode(bytes.as_bytes()).unwrap_err(),
        EventError::UnsupportedSchema {
            found: 0,
            newest: 2
        }
    );

    let decoder = Decoder::new().with_upcaster(Upcaster::reshape(0, attitude_to_stance));
    let upcast = decoder.decode(bytes.as_bytes()).unwrap();
    let current = decode_value(&sample(EventType::ContactLogged)).unwrap();
    assert_eq!(upcast.event, current.event);
    // The envelope keeps the schema its bytes were written in; its event is this build's.
    assert_eq!(upcast.schema, 0);
}

/// A stall record is whole or refused: a threshold of at least one day, and a calendar named
/// exactly when the days are working days.
#[test]
fn stall_records_are_refused_when_not_whole() {
    let (_, request) = common::recorded_samples().remove(0);
    let good = request.to_value(true);
    assert!(decode_value(&good).is_ok());
    let mut zero = good.clone();
    zero["data"]["stall"]["threshold_days"] = json!(0);
    assert_eq!(field_error(&zero).0, "data.stall.threshold_days");
    let mut no_calendar = good.clone();
    no_calendar["data"]["stall"]
        .as_object_mut()
        .unwrap()
        .remove("calendar");
    assert_eq!(field_error(&no_calendar).0, "data.stall.calendar");
    let mut calendar_days_named = good.clone();
    calendar_days_named["data"]["stall"]["day_count"] = json!("calendar");
    assert_eq!(field_error(&calendar_days_named).0, "data.stall.calendar");
    let mut unknown = good;
    unknown["data"]["stall"]["warning_share"] = json!(0.8);
    assert!(decode_value(&unknown).is_err());
}

/// Schema 2's `data.stall.basis` says why the calendar is what it is, and says what its
/// choice needs; a schema-1 event may not carry it.
#[test]
fn a_stall_basis_is_schema_2_and_whole() {
    let (_, request) = common::recorded_samples().remove(0);
    let mut good = request.to_value(true);
    good["schema"] = json!(2);
    good["data"]["stall"]["basis"] = json!({"by": "jurisdiction", "jurisdiction": "Nanguo"});
    assert!(decode_value(&good).is_ok(), "{:?}", decode_value(&good));
    let mut schema_1 = good.clone();
    schema_1["schema"] = json!(1);
    assert_eq!(field_error(&schema_1).0, "data.stall.basis");
    let mut calendar_days = good.clone();
    calendar_days["data"]["stall"]["day_count"] = json!("calendar");
    calendar_days["data"]["stall"]
        .as_object_mut()
        .unwrap()
        .remove("calendar");
    assert_eq!(field_error(&calendar_days).0, "data.stall.basis.by");
    let mut nameless = good.clone();
    nameless["data"]["stall"]["basis"] = json!({"by": "jurisdiction_names_none"});
    assert_eq!(field_error(&nameless).0, "data.stall.basis.jurisdiction");
    let mut not_loaded = good.clone();
    not_loaded["data"]["stall"]["basis"] =
        json!({"by": "calendar_not_loaded", "jurisdiction": "Nanguo"});
    assert_eq!(
        field_error(&not_loaded).0,
        "data.stall.basis.named_calendar"
    );
    let mut by_override = good;
    by_override["data"]["stall"]["basis"] = json!({"by": "override"});
    assert!(decode_value(&by_override).is_ok());
}

#[test]
fn a_future_occurred_at_is_refused_naming_both_times_in_rfc_3339() {
    let mut value = sample(EventType::PilotProposed);
    value["occurred_at"] = json!("2030-01-01T09:00:00+08:00");
    value["recorded_at"] = json!("2029-12-31T00:00:00Z");
    let (field, message) = field_error(&value);
    assert_eq!(field, "occurred_at");
    assert!(
        message.contains("2030-01-01T09:00:00+08:00") && message.contains("2029-12-31T00:00:00Z"),
        "{message}"
    );
    assert!(!message.contains("+08:00:00"), "{message}");
}
