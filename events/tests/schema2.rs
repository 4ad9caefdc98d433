//! The rules schema 2 added (events/src/validate.rs, decode.rs): each refused with the field
//! named, and the nearest valid form accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use pilot_events::{decode, EventError, EventType};
use serde_json::{json, Value};

/// The schema-2 sample of `event_type` as a JSON value, to be bent into bad shapes.
fn sample(event_type: EventType) -> Value {
    common::schema_2_samples()
        .into_iter()
        .find(|e| e.event_type() == event_type)
        .unwrap()
        .to_value(true)
}

fn accepted(value: &Value) {
    if let Err(error) = decode(value.to_string().as_bytes()) {
        panic!("refused: {error}\n{value}");
    }
}

fn refused(value: &Value) -> (String, String) {
    match decode(value.to_string().as_bytes()) {
        Err(EventError::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn refused_field(value: &Value) -> String {
    refused(value).0
}

#[test]
fn every_schema_2_sample_is_accepted() {
    for envelope in common::schema_2_samples() {
        accepted(&envelope.to_value(true));
    }
}

#[test]
fn precision_needs_the_first_instant_of_its_period() {
    let mut value = sample(EventType::PilotProposed);
    for (precision, first, not_first) in [
        (
            "year",
            "1992-01-01T00:00:00+08:00",
            "1992-03-01T00:00:00+08:00",
        ),
        (
            "month",
            "1999-07-01T00:00:00+08:00",
            "1999-07-02T00:00:00+08:00",
        ),
        (
            "day",
            "1999-07-12T00:00:00+08:00",
            "1999-07-12T09:00:00+08:00",
        ),
    ] {
        value["precision"] = json!(precision);
        value["occurred_at"] = json!(first);
        accepted(&value);
        value["occurred_at"] = json!(not_first);
        let (field, message) = refused(&value);
        assert_eq!(field, "occurred_at", "{precision}");
        assert!(message.contains("first instant"), "{message}");
    }
    // A year's first instant is midnight on 1 January, not a minute past.
    value["precision"] = json!("year");
    value["occurred_at"] = json!("1992-01-01T00:01:00+08:00");
    assert_eq!(refused_field(&value), "occurred_at");
    // An unknown precision lists the allowed words.
    value["precision"] = json!("decade");
    let (field, message) = refused(&value);
    assert_eq!(field, "precision");
    assert!(message.contains("year"), "{message}");
}

#[test]
fn a_source_has_a_citation_and_a_web_address() {
    let mut value = sample(EventType::PilotProposed);
    value["source"]["url"] = json!("https://example.org/paper");
    accepted(&value);
    value["source"]["url"] = json!("http://example.org/paper");
    accepted(&value);

    value["source"]["url"] = json!("ftp://example.org/paper");
    assert_eq!(refused_field(&value), "source.url");
    value["source"]["url"] = json!("example.org");
    assert_eq!(refused_field(&value), "source.url");

    let mut value = sample(EventType::PilotProposed);
    value["source"]["citation"] = json!("  ");
    assert_eq!(refused_field(&value), "source.citation");

    let mut value = sample(EventType::PilotProposed);
    value["source"]["page"] = json!("");
    assert_eq!(refused_field(&value), "source.page");

    let mut value = sample(EventType::PilotProposed);
    value["source"] = json!({"page": "12"});
    assert!(refused_field(&value).starts_with("source"));
}

#[test]
fn context_ids_only_on_pilot_events_and_distinct() {
    let context = json!(common::CONTEXT_EVENT);
    let mut value = sample(EventType::StakeholderRegistered);
    value["context_ids"] = json!([context]);
    assert_eq!(refused_field(&value), "context_ids");

    let mut value = sample(EventType::ContextRecorded);
    value["context_ids"] = json!([context]);
    assert_eq!(refused_field(&value), "context_ids");

    let mut value = sample(EventType::PilotProposed);
    value["context_ids"] = json!([context, context]);
    let (field, message) = refused(&value);
    assert_eq!(field, "context_ids");
    assert!(message.contains("twice"), "{message}");

    value["context_ids"] = json!([context, common::OTHER_PILOT]);
    accepted(&value);
}

#[test]
fn the_intermediary_is_not_the_contacted_stakeholder() {
    let mut value = sample(EventType::ContactLogged);
    value["data"]["intermediary_id"] = value["data"]["stakeholder_id"].clone();
    assert_eq!(refused_field(&value), "data.intermediary_id");
}

#[test]
fn made_by_names_someone() {
    for event_type in [EventType::ContactLogged, EventType::AllianceFormed] {
        let mut value = sample(event_type);
        value["data"]["made_by"] = json!(" ");
        assert_eq!(refused_field(&value), "data.made_by", "{event_type}");
    }
}

#[test]
fn a_tenure_ends_on_or_after_it_starts_and_names_another_post() {
    let mut value = sample(EventType::TenureRecorded);
    value["data"]["to"] = value["data"]["from"].clone();
    accepted(&value);
    value["data"]["to"] = json!("1998-01-31");
    let (field, message) = refused(&value);
    assert_eq!(field, "data.to");
    assert!(message.contains("before"), "{message}");
    value["data"].as_object_mut().unwrap().remove("to");
    accepted(&value);

    let mut value = sample(EventType::TenureRecorded);
    value["data"]["post_id"] = value["stakeholder_id"].clone();
    assert_eq!(refused_field(&value), "data.post_id");
}

#[test]
fn a_pilot_is_not_linked_to_itself() {
    let mut value = sample(EventType::PilotLinked);
    value["data"]["other_pilot_id"] = value["pilot_id"].clone();
    assert_eq!(refused_field(&value), "data.other_pilot_id");
    let mut value = sample(EventType::PilotLinked);
    value["data"]["relation"] = json!("renamed_as");
    let (field, message) = refused(&value);
    assert_eq!(field, "data.relation");
    assert!(message.contains("upgraded_into"), "{message}");
}

#[test]
fn indicator_fields_come_exactly_with_kind_indicator() {
    let mut value = sample(EventType::ContextRecorded);
    value["data"].as_object_mut().unwrap().remove("metric");
    assert_eq!(refused_field(&value), "data.metric");

    let mut value = sample(EventType::ContextRecorded);
    value["data"].as_object_mut().unwrap().remove("value");
    assert_eq!(refused_field(&value), "data.value");

    let mut value = sample(EventType::ContextRecorded);
    value["data"]["metric"] = json!(" ");
    assert_eq!(refused_field(&value), "data.metric");

    // Unit and qualifier may be left out of an indicator.
    let mut value = sample(EventType::ContextRecorded);
    let data = value["data"].as_object_mut().unwrap();
    data.remove("unit");
    data.remove("qualifier");
    accepted(&value);

    // Any of the four on another kind is refused, naming the kind.
    for field in ["metric", "value", "unit", "qualifier"] {
        let mut value = sample(EventType::ContextRecorded);
        value["data"]["kind"] = json!("directive");
        let data = value["data"].as_object_mut().unwrap();
        for other in ["metric", "value", "unit", "qualifier"] {
            if other != field {
                data.remove(other);
            }
        }
        assert_eq!(refused_field(&value), "data.kind", "{field}");
    }
    let mut value = sample(EventType::ContextRecorded);
    value["data"]["kind"] = json!("directive");
    let data = value["data"].as_object_mut().unwrap();
    for field in ["metric", "value", "unit", "qualifier"] {
        data.remove(field);
    }
    accepted(&value);
}

#[test]
fn utc_offsets_are_written_plus_or_minus_hh_mm() {
    let mut value = sample(EventType::JurisdictionRegistered);
    for good in ["+08:00", "-05:30", "+00:00", "+18:00", "-18:00"] {
        value["data"]["utc_offset"] = json!(good);
        accepted(&value);
    }
    for bad in ["+8", "08:00", "UTC+08:00", "+0800", "+25:00", "+18:30", ""] {
        value["data"]["utc_offset"] = json!(bad);
        assert_eq!(refused_field(&value), "data.utc_offset", "{bad:?}");
    }
    let mut value = sample(EventType::JurisdictionRegistered);
    value["data"]["calendar"] = json!(" ");
    assert_eq!(refused_field(&value), "data.calendar");
    let mut value = sample(EventType::JurisdictionRegistered);
    value["data"]["name"] = json!("");
    assert_eq!(refused_field(&value), "data.name");
}

#[test]
fn credited_offices_are_named_and_distinct() {
    let mut value = sample(EventType::HighlightRecorded);
    value["data"]["credited_offices"] = json!(["SSDNC", " "]);
    assert_eq!(refused_field(&value), "data.credited_offices");
    value["data"]["credited_offices"] = json!(["SSDNC", "SSDNC"]);
    let (field, message) = refused(&value);
    assert_eq!(field, "data.credited_offices");
    assert!(message.contains("twice"), "{message}");
    value["data"]["credited_offices"] = json!(["SSDNC", "Bureau of Finance"]);
    accepted(&value);
}

/// Bends a sample's JSON.
type Bend = Box<dyn Fn(&mut Value)>;

/// Each thing schema 2 introduced, put on a schema-1 event: refused with its field, and the
/// same event at schema 2 accepted.
#[test]
fn a_schema_1_event_carrying_a_schema_2_thing_is_refused_with_the_field_named() {
    let cases: Vec<(EventType, &str, Bend)> = vec![
        (
            EventType::ImplementationStarted,
            "precision",
            Box::new(|v| {
                v["precision"] = json!("day");
                v["occurred_at"] = json!("2000-03-01T00:00:00+08:00");
            }),
        ),
        (
            EventType::ImplementationStarted,
            "source",
            Box::new(|v| v["source"] = json!({"citation": "Zhu and Xiao 2015"})),
        ),
        (
            EventType::ImplementationStarted,
            "context_ids",
            Box::new(|v| v["context_ids"] = json!([common::CONTEXT_EVENT])),
        ),
        (
            EventType::AllianceFormed,
            "data.made_by",
            Box::new(|v| v["data"]["made_by"] = json!("Mr. Lao")),
        ),
        (
            EventType::ContactLogged,
            "data.made_by",
            Box::new(|v| v["data"]["made_by"] = json!("Mr. Lao")),
        ),
        (
            EventType::ContactLogged,
            "data.intermediary_id",
            Box::new(|v| v["data"]["intermediary_id"] = json!(common::TOWN_LEADERS)),
        ),
        (
            EventType::ContactLogged,
            "data.channel",
            Box::new(|v| v["data"]["channel"] = json!("personal_relationship")),
        ),
        (
            EventType::TargetSet,
            "data.direction",
            Box::new(|v| v["data"]["direction"] = json!("at_most")),
        ),
        (
            EventType::TargetSet,
            "data.set_by",
            Box::new(|v| v["data"]["set_by"] = json!(common::PROVINCE)),
        ),
        (
            EventType::MetricRecorded,
            "data.qualifier",
            Box::new(|v| v["data"]["qualifier"] = json!("about")),
        ),
        (
            EventType::HighlightRecorded,
            "data.credited_offices",
            Box::new(|v| v["data"]["credited_offices"] = json!(["SSDNC"])),
        ),
        (
            EventType::HighlightRecorded,
            "data.kind",
            Box::new(|v| v["data"]["kind"] = json!("staff_increase")),
        ),
    ];
    for (event_type, field, bend) in cases {
        let mut value = common::schema_1_samples()
            .into_iter()
            .find(|e| e.event_type() == event_type)
            .unwrap()
            .to_value(true);
        bend(&mut value);
        let (found, message) = refused(&value);
        assert_eq!(found, field, "{event_type}");
        assert!(message.contains("write it as schema 2"), "{message}");
        value["schema"] = json!(2);
        accepted(&value);
    }

    // The new types do not exist in schema 1.
    for event_type in EventType::ALL.iter().filter(|t| t.since_schema() == 2) {
        let mut value = sample(*event_type);
        value["schema"] = json!(1);
        if let Some(object) = value.as_object_mut() {
            for field in ["precision", "source", "context_ids"] {
                object.remove(field);
            }
        }
        let (field, message) = refused(&value);
        assert_eq!(field, "type", "{event_type}");
        assert!(message.contains("write it as schema 2"), "{message}");
    }

    // Schema-1 words and fields stay schema 1.
    for envelope in common::schema_1_samples() {
        accepted(&envelope.to_value(true));
    }
}

#[test]
fn jurisdiction_events_name_a_jurisdiction_chain_and_only_one_chain() {
    // A jurisdiction type on a pilot's chain: the pilot_id is named, and the right field said.
    for event_type in [
        EventType::JurisdictionRegistered,
        EventType::ContextRecorded,
    ] {
        let mut value = sample(event_type);
        let id = value.as_object_mut().unwrap().remove("jurisdiction_id");
        value["pilot_id"] = json!(common::PILOT);
        let (field, message) = refused(&value);
        assert_eq!(field, "pilot_id", "{event_type}");
        assert!(message.contains("jurisdiction_id"), "{message}");

        // Without any chain id: jurisdiction_id is missing.
        value.as_object_mut().unwrap().remove("pilot_id");
        assert_eq!(refused_field(&value), "jurisdiction_id");

        // Two chain ids are refused, whichever they are.
        value["jurisdiction_id"] = id.unwrap();
        value["stakeholder_id"] = json!(common::GONG);
        let (field, message) = refused(&value);
        assert!(
            ["stakeholder_id", "jurisdiction_id"].contains(&field.as_str()),
            "{field}"
        );
        assert!(message.contains("one chain"), "{message}");
    }

    // A pilot event on a jurisdiction chain, a tenure on a jurisdiction chain.
    let mut value = sample(EventType::PilotLinked);
    value.as_object_mut().unwrap().remove("pilot_id");
    value["jurisdiction_id"] = json!(common::NANGUO);
    assert_eq!(refused_field(&value), "jurisdiction_id");
    let mut value = sample(EventType::TenureRecorded);
    value.as_object_mut().unwrap().remove("stakeholder_id");
    value["jurisdiction_id"] = json!(common::NANGUO);
    assert_eq!(refused_field(&value), "jurisdiction_id");

    // A retraction lives in any chain, a jurisdiction's included.
    let mut value = sample(EventType::EventRetracted);
    value.as_object_mut().unwrap().remove("pilot_id");
    value["jurisdiction_id"] = json!(common::NANGUO);
    accepted(&value);
}
