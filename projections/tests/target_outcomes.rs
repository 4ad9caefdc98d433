//! Target outcomes: open until the end of the due date in the jurisdiction's offset, then met
//! or missed (with the difference, or with no value); `at_most` targets; a later target for a
//! metric supersedes the earlier one, and both are kept and judged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::data::{JurisdictionRegistered, MetricRecorded, TargetSet};
use pilot_events::{Direction, Event, Level, Qualifier, Subject};
use pilot_projections::targets::{Outcome, TargetOutcome};
use pilot_projections::AsOf;
use scenario::*;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

fn nanguo(s: &mut Scenario) {
    s.given(
        Subject::Jurisdiction(Uuid::from_u128(0x0194_0000_0000_7000_8000_00c0_0000_0001)),
        Event::JurisdictionRegistered(JurisdictionRegistered {
            name: "Nanguo".into(),
            level: Level::Municipal,
            utc_offset: "+08:00".into(),
            calendar: None,
        }),
    );
}

fn target(metric: &str, value: f64, due: Date, direction: Option<Direction>) -> Event {
    Event::TargetSet(TargetSet {
        metric: metric.into(),
        target: value,
        due,
        direction,
        set_by: None,
    })
}

fn value(metric: &str, value: f64, as_of: Date, qualifier: Option<Qualifier>) -> Event {
    Event::MetricRecorded(MetricRecorded {
        metric: metric.into(),
        value,
        unit: "persons".into(),
        as_of,
        source: "bureau report".into(),
        qualifier,
    })
}

/// Records `event` at `when`; returns its event id.
fn at(s: &mut Scenario, when: OffsetDateTime, subject: Subject, event: Event) -> Uuid {
    s.at(when);
    let envelope = s.envelope(subject, event);
    let id = envelope.event_id;
    s.feed(envelope).unwrap();
    id
}

fn outcomes(s: &Scenario, p: Subject, when: OffsetDateTime) -> Vec<TargetOutcome> {
    s.world.target_outcomes(&p.id(), when).unwrap()
}

/// A target of 1,000 insured due 2000-12-31; 1,200 as of the due date (reported that day),
/// then 500 as of the next day (which does not count).
fn insured(registered: bool) -> (Scenario, Subject) {
    let mut s = Scenario::default();
    if registered {
        nanguo(&mut s);
    }
    let approver = s.stakeholder("Province", 5);
    let p = s.implementing_pilot(approver);
    at(
        &mut s,
        datetime!(2000-02-01 09:00 +08:00),
        p,
        target("insured", 1000.0, date!(2000 - 12 - 31), None),
    );
    at(
        &mut s,
        datetime!(2000-12-31 10:00 +08:00),
        p,
        value(
            "insured",
            1200.0,
            date!(2000 - 12 - 31),
            Some(Qualifier::AtLeast),
        ),
    );
    at(
        &mut s,
        datetime!(2001-01-02 10:00 +08:00),
        p,
        value("insured", 500.0, date!(2001 - 01 - 01), None),
    );
    (s, p)
}

#[test]
fn a_target_is_open_until_the_end_of_its_due_date_in_the_jurisdiction_s_offset_then_met() {
    let (s, p) = insured(true);
    let open = &outcomes(&s, p, datetime!(2000-12-31 23:59:59 +08:00))[0];
    assert_eq!(open.outcome, Outcome::Open);
    assert_eq!(open.closes_at, datetime!(2001-01-01 00:00 +08:00));
    assert_eq!((open.value, open.difference), (None, None));

    let met = &outcomes(&s, p, datetime!(2000-12-31 16:00 UTC))[0];
    assert_eq!(met.outcome, Outcome::Met, "2001-01-01 00:00 in Nanguo");
    assert_eq!(
        met.value,
        Some(1200.0),
        "the value as of the due date counts"
    );
    assert_eq!(met.qualifier, Some(Qualifier::AtLeast));
    assert_eq!(met.value_as_of, Some(date!(2000 - 12 - 31)));
    assert_eq!(met.difference, None);

    let later = &outcomes(&s, p, datetime!(2001-02-01 00:00 +08:00))[0];
    assert_eq!(
        later.outcome,
        Outcome::Met,
        "500 as of 2001-01-01 is after the due date"
    );
    assert_eq!(later.value, Some(1200.0));

    // The view judges as of its own instant: the latest event, or the as_of asked for.
    let now = s.world.pilot_view(&p.id()).unwrap();
    assert_eq!(now.target_outcomes.len(), 1);
    assert_eq!(now.target_outcomes[0].outcome, Outcome::Met);
    let before = s
        .world
        .pilot_view_at(
            &p.id(),
            AsOf {
                as_of: Some(datetime!(2000-12-31 12:00 +08:00)),
                known_at: None,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(before.target_outcomes[0].outcome, Outcome::Open);
}

#[test]
fn without_a_registered_jurisdiction_the_due_date_ends_in_utc() {
    let (s, p) = insured(false);
    assert_eq!(
        outcomes(&s, p, datetime!(2000-12-31 16:00 UTC))[0].outcome,
        Outcome::Open
    );
    let met = &outcomes(&s, p, datetime!(2001-01-01 00:00 UTC))[0];
    assert_eq!(met.closes_at, datetime!(2001-01-01 00:00 UTC));
    assert_eq!(met.outcome, Outcome::Met);
}

#[test]
fn a_target_is_missed_with_the_difference_or_with_no_value() {
    let mut s = Scenario::default();
    nanguo(&mut s);
    let approver = s.stakeholder("Province", 5);
    let p = s.implementing_pilot(approver);
    at(
        &mut s,
        datetime!(2000-02-01 09:00 +08:00),
        p,
        target("insured", 1_000_000.0, date!(2000 - 12 - 31), None),
    );
    at(
        &mut s,
        datetime!(2000-02-02 09:00 +08:00),
        p,
        target("migrants", 500_000.0, date!(2000 - 12 - 31), None),
    );
    at(
        &mut s,
        datetime!(2001-01-10 09:00 +08:00),
        p,
        value("insured", 880_000.0, date!(2000 - 12 - 31), None),
    );
    // Only a value describing a later date: the target has none by its due date.
    at(
        &mut s,
        datetime!(2001-01-11 09:00 +08:00),
        p,
        value("migrants", 600_000.0, date!(2001 - 01 - 01), None),
    );

    let judged = outcomes(&s, p, datetime!(2001-02-01 00:00 +08:00));
    let insured = &judged[0];
    assert_eq!(
        (insured.target.metric.as_str(), insured.outcome),
        ("insured", Outcome::Missed)
    );
    assert_eq!(insured.value, Some(880_000.0));
    assert_eq!(insured.qualifier, Some(Qualifier::Exact));
    assert_eq!(insured.difference, Some(-120_000.0));
    let migrants = &judged[1];
    assert_eq!(
        (migrants.target.metric.as_str(), migrants.outcome),
        ("migrants", Outcome::Missed)
    );
    assert_eq!(
        (migrants.value, migrants.difference),
        (None, None),
        "missed with no value"
    );
    // Judged at the end of the due date, before the late report arrived: no value yet.
    let early = outcomes(&s, p, datetime!(2001-01-01 00:00 +08:00));
    assert_eq!((early[0].outcome, early[0].value), (Outcome::Missed, None));
}

#[test]
fn an_at_most_target_is_met_at_or_below_it() {
    let mut s = Scenario::default();
    nanguo(&mut s);
    let approver = s.stakeholder("Province", 5);
    let p = s.implementing_pilot(approver);
    at(
        &mut s,
        datetime!(2000-02-01 09:00 +08:00),
        p,
        target(
            "contribution_rate",
            0.02,
            date!(2000 - 06 - 30),
            Some(Direction::AtMost),
        ),
    );
    at(
        &mut s,
        datetime!(2000-02-02 09:00 +08:00),
        p,
        target(
            "fund_deficit",
            0.0,
            date!(2000 - 06 - 30),
            Some(Direction::AtMost),
        ),
    );
    at(
        &mut s,
        datetime!(2000-06-30 09:00 +08:00),
        p,
        value("contribution_rate", 0.02, date!(2000 - 06 - 30), None),
    );
    at(
        &mut s,
        datetime!(2000-06-30 10:00 +08:00),
        p,
        value(
            "fund_deficit",
            5.0,
            date!(2000 - 06 - 30),
            Some(Qualifier::About),
        ),
    );

    let judged = outcomes(&s, p, datetime!(2000-07-01 00:00 +08:00));
    assert_eq!(judged[0].target.direction, Direction::AtMost);
    assert_eq!(judged[0].outcome, Outcome::Met);
    assert_eq!(judged[1].outcome, Outcome::Missed);
    assert_eq!(judged[1].difference, Some(5.0));
    assert_eq!(judged[1].qualifier, Some(Qualifier::About));
}

#[test]
fn a_later_target_supersedes_the_earlier_and_both_are_kept_and_judged() {
    let mut s = Scenario::default();
    nanguo(&mut s);
    let approver = s.stakeholder("Province", 5);
    let p = s.implementing_pilot(approver);
    let first = at(
        &mut s,
        datetime!(2000-02-01 09:00 +08:00),
        p,
        target("insured", 1_000_000.0, date!(2000 - 12 - 31), None),
    );
    at(
        &mut s,
        datetime!(2000-12-31 09:00 +08:00),
        p,
        value("insured", 880_000.0, date!(2000 - 12 - 31), None),
    );
    let second = at(
        &mut s,
        datetime!(2001-03-01 09:00 +08:00),
        p,
        target("insured", 6_000_000.0, date!(2011 - 12 - 31), None),
    );
    at(
        &mut s,
        datetime!(2012-01-05 09:00 +08:00),
        p,
        value(
            "insured",
            6_000_000.0,
            date!(2011 - 12 - 31),
            Some(Qualifier::AtLeast),
        ),
    );

    let state = &s.world.pilot(&p.id()).unwrap().state;
    assert_eq!(state.target_history.len(), 2);
    assert_eq!(
        state.targets["insured"].event_id, second,
        "the later target is in force"
    );

    // Reported in January 2012 as of the due date: the view (as of the latest event) judges both.
    let view = s.world.pilot_view(&p.id()).unwrap();
    let judged: Vec<_> = view
        .target_outcomes
        .iter()
        .map(|t| (t.target.event_id, t.outcome, t.superseded_by, t.difference))
        .collect();
    assert_eq!(
        judged,
        vec![
            (first, Outcome::Missed, Some(second), Some(-120_000.0)),
            (second, Outcome::Met, None, None),
        ]
    );
    assert_eq!(view.target_outcomes[1].qualifier, Some(Qualifier::AtLeast));
    assert_eq!(
        view.progress[0].qualifier,
        Qualifier::AtLeast,
        "progress shows the qualifier"
    );

    // Before the second was set, the first was not superseded.
    let then = outcomes(&s, p, datetime!(2001-02-01 00:00 +08:00));
    assert_eq!(then.len(), 1);
    assert_eq!(
        (then[0].outcome, then[0].superseded_by),
        (Outcome::Missed, None)
    );

    // A snapshot keeps the history, and so the outcomes.
    let bytes = s.world.snapshot().unwrap();
    let restored = pilot_projections::World::restore(&bytes).unwrap();
    assert_eq!(restored.pilot_view(&p.id()), s.world.pilot_view(&p.id()));
}
