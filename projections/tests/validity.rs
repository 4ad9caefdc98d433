//! Validity never depends on configuration: an extension is judged by the stall instant the
//! log records (or schema 1's terms for requests stored without one), and the rules for new
//! events only never quarantine history.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::data::{StallRecord, SCHEMA_1_STALL};
use pilot_events::{Event, Level, Subject};
use pilot_projections::stall::{DayCount, StallRules, Thresholds};
use pilot_projections::stall_terms::StallPolicy;
use pilot_projections::{Refusal, World};
use scenario::*;
use std::collections::BTreeMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T: OffsetDateTime = datetime!(2026-03-02 09:00 +08:00);

fn policy(municipal: u32) -> StallPolicy {
    let thresholds = Thresholds {
        municipal,
        ..Thresholds::default()
    };
    let rules = StallRules::new(thresholds, 0.8, DayCount::Calendar).unwrap();
    StallPolicy::new(rules, BTreeMap::new())
}

fn recorded_request(approval_id: &str, approver: Uuid, stall: StallRecord) -> Event {
    let mut event = requested(approval_id, approver, Level::Municipal);
    if let Event::ApprovalRequested(d) = &mut event {
        d.stall = Some(stall);
    }
    event
}

/// A pilot in design with a mayor, the clock at `T`.
fn setup() -> (Scenario, Subject, Uuid) {
    let mut s = Scenario::new();
    let mayor = s.stakeholder("Mayor", 3);
    let p = s.pilot();
    s.given(p, designed());
    s.at(T);
    (s, p, mayor)
}

#[test]
fn an_extension_after_the_recorded_stall_is_refused_however_long_schema_1_would_wait() {
    let (mut s, p, mayor) = setup();
    let record = policy(10).record_request(&p.id(), Level::Municipal, T);
    assert_eq!(record.stalls_at, T + Duration::days(10));
    s.given(p, recorded_request("a", mayor, record));
    // Day 11: past the recorded 10 days, although schema 1 would give 30.
    s.at(T + Duration::days(11));
    match s.refusal(p, extended("a", 5)) {
        Refusal::ApprovalStalled { due_at, .. } => assert_eq!(due_at, T + Duration::days(10)),
        other => panic!("expected approval_stalled, got {other}"),
    }
}

#[test]
fn a_recorded_extension_moves_the_deadline_to_what_it_recorded() {
    let (mut s, p, mayor) = setup();
    let record = policy(10).record_request(&p.id(), Level::Municipal, T);
    s.given(p, recorded_request("a", mayor, record));
    s.at(T + Duration::days(9));
    let mut extension = extended("a", 5);
    if let Event::ApprovalExtended(d) = &mut extension {
        d.stalls_at = Some(T + Duration::days(15));
    }
    s.given(p, extension);
    s.at(T + Duration::days(14));
    s.given(p, extended("a", 1));
    // 15 days recorded, then one 24-hour day from the unrecorded extension: day 16.
    s.at(T + Duration::days(16));
    assert_eq!(s.refusal(p, extended("a", 1)).code(), "approval_stalled");
}

#[test]
fn a_request_without_a_record_is_judged_by_schema_1() {
    let (mut s, p, mayor) = setup();
    s.given(p, requested("a", mayor, Level::Municipal));
    let last_day = i64::from(SCHEMA_1_STALL.municipal);
    s.at(T + Duration::days(last_day) - Duration::seconds(1));
    s.given(p, extended("a", 2));
    s.at(T + Duration::days(last_day + 2));
    assert_eq!(s.refusal(p, extended("a", 1)).code(), "approval_stalled");
}

#[test]
fn a_new_request_naming_another_level_than_its_approvers_is_refused_but_history_folds() {
    let (mut s, p, mayor) = setup();
    // Registered municipal; a request at the national level would record 90 days.
    let national = requested("a", mayor, Level::National);
    let envelope = s.envelope(p, national);
    let refusal = s.world.admit(&envelope).unwrap_err();
    assert_eq!(refusal.code(), "approver_level_mismatch");
    let message = refusal.to_string();
    assert!(
        message.contains("national")
            && message.contains("municipal")
            && message.contains("data.level"),
        "{message}"
    );
    // Stored, it still folds: the rule is for new events only.
    s.feed(envelope).unwrap();
    let municipal = requested("b", mayor, Level::Municipal);
    let envelope = s.envelope(p, municipal);
    assert_eq!(s.world.admit(&envelope), Ok(()));
}

#[test]
fn a_checkpoint_keeps_the_recorded_deadline() {
    let (mut s, p, mayor) = setup();
    let record = policy(10).record_request(&p.id(), Level::Municipal, T);
    s.given(p, recorded_request("a", mayor, record));
    let snapshot = s.world.snapshot().unwrap();
    let restored = World::restore(&snapshot).unwrap();
    s.at(T + Duration::days(11));
    let late = s.envelope(p, extended("a", 5));
    assert_eq!(
        restored.check(&late).unwrap_err().code(),
        "approval_stalled"
    );
}
