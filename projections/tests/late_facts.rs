//! Facts learned late (docs/research-record.md, "Facts learned late"): facts that do not move
//! the stage may be dated before the chain's latest event; stage moves stay in order; every
//! fold orders by (`occurred_at`, stream position).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::{Event, EventType, Stage, Strategy, Subject};
use pilot_projections::{AsOf, Refusal};
use scenario::*;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Records `event` dated `at` (usually before the chain's latest event), leaving the clock as
/// it was; the event's id.
fn late(s: &mut Scenario, p: Subject, at: OffsetDateTime, event: Event) -> Uuid {
    let clock = s.clock;
    s.at(at);
    let envelope = s.envelope(p, event);
    let id = envelope.event_id;
    s.at(clock);
    if let Err(error) = s.feed(envelope) {
        panic!("late fact refused: {error}");
    }
    id
}

/// The refusal of `event` dated `at`, leaving the clock as it was.
fn late_refusal(s: &mut Scenario, p: Subject, at: OffsetDateTime, event: Event) -> Refusal {
    let clock = s.clock;
    s.at(at);
    let refusal = s.refusal(p, event);
    s.at(clock);
    refusal
}

fn stance(s: &Scenario, p: Subject, who: Uuid) -> Option<i8> {
    let record = s.world.pilot(&p.id()).unwrap();
    record
        .support
        .stakeholders
        .get(&who)?
        .stance
        .map(|s| s.value())
}

fn series(s: &Scenario, p: Subject, metric: &str) -> Vec<f64> {
    let state = &s.world.pilot(&p.id()).unwrap().state;
    state.metrics[metric].iter().map(|m| m.value).collect()
}

fn latest(s: &Scenario, p: Subject, metric: &str) -> Option<f64> {
    let state = &s.world.pilot(&p.id()).unwrap().state;
    state.latest_metric(metric).map(|m| m.value)
}

#[test]
fn a_contact_logged_a_week_late_changes_support_only_if_it_is_the_latest() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    let p = s.pilot();
    s.at(datetime!(2000-03-01 09:00 +08:00))
        .given(p, contact(mayor, 2, Strategy::Framing));
    s.at(datetime!(2000-03-20 09:00 +08:00))
        .given(p, contact(finance, 1, Strategy::Brokering));

    // The mayor turned against it on 13 March; the office logs it a week after the chain's
    // latest event. It is the mayor's latest observation, so it counts.
    late(
        &mut s,
        p,
        datetime!(2000-03-13 09:00 +08:00),
        contact(mayor, -1, Strategy::Framing),
    );
    assert_eq!(stance(&s, p, mayor), Some(-1));
    // A contact from February is older than both: counted, but the stance stays.
    late(
        &mut s,
        p,
        datetime!(2000-02-20 09:00 +08:00),
        contact(mayor, 2, Strategy::Marketing),
    );
    assert_eq!(stance(&s, p, mayor), Some(-1));

    let record = s.world.pilot(&p.id()).unwrap();
    let mayor_support = &record.support.stakeholders[&mayor];
    assert_eq!(mayor_support.contacts, 3, "every contact counts");
    assert_eq!(
        mayor_support.last_contact,
        Some(datetime!(2000-03-13 09:00 +08:00)),
        "the latest contact by date, not the last logged"
    );
    assert!(mayor_support.strategies.contains(&Strategy::Marketing));
    // (5·(-1) + 4·1) / (2·9)
    let view = s.world.pilot_view(&p.id()).unwrap();
    assert_eq!(view.support_index, Some(-1.0 / 18.0));
    assert_eq!(
        record.state.last_activity,
        datetime!(2000-03-20 09:00 +08:00),
        "a late fact does not move the pilot's last activity back"
    );
}

#[test]
fn a_late_stance_older_than_the_current_one_does_not_override_it() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    let p = s.pilot();
    s.at(datetime!(2000-03-10 09:00 +08:00))
        .given(p, assessed(mayor, 2));
    s.at(datetime!(2000-03-20 09:00 +08:00))
        .given(p, alliance(&[finance]));
    s.at(datetime!(2000-03-25 09:00 +08:00))
        .given(p, assessed(finance, 2));

    late(
        &mut s,
        p,
        datetime!(2000-03-05 09:00 +08:00),
        assessed(mayor, -2),
    );
    assert_eq!(stance(&s, p, mayor), Some(2), "10 March is the latest");

    // Finance was assessed at -2 on 15 March, before the alliance of 20 March, and at +2 on
    // 25 March: the late -2 changes nothing.
    late(
        &mut s,
        p,
        datetime!(2000-03-15 09:00 +08:00),
        assessed(finance, -2),
    );
    assert_eq!(stance(&s, p, finance), Some(2));

    // On a stakeholder whose latest observation is the alliance, a late stance before the
    // alliance is raised by it, and one at the very instant (logged later) is not.
    let media = s.stakeholder("Media", 1);
    s.at(datetime!(2000-04-10 09:00 +08:00))
        .given(p, alliance(&[media]));
    s.at(datetime!(2000-04-20 09:00 +08:00))
        .given(p, contact(finance, 2, Strategy::Framing));
    late(
        &mut s,
        p,
        datetime!(2000-04-01 09:00 +08:00),
        assessed(media, -2),
    );
    assert_eq!(stance(&s, p, media), Some(1), "the alliance came after");
    late(
        &mut s,
        p,
        datetime!(2000-04-10 09:00 +08:00),
        assessed(media, -1),
    );
    assert_eq!(
        stance(&s, p, media),
        Some(-1),
        "same instant as the alliance, later in the stream: it comes after the alliance"
    );
    // A late alliance before that observation does not raise it.
    late(
        &mut s,
        p,
        datetime!(2000-04-05 09:00 +08:00),
        alliance(&[media]),
    );
    assert_eq!(stance(&s, p, media), Some(-1));
}

#[test]
fn a_late_metric_takes_its_place_in_the_series_and_latest_is_by_date() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    s.at(datetime!(2000-01-03 09:00 +08:00));
    let p = s.implementing_pilot(mayor);
    s.at(datetime!(2000-03-01 09:00 +08:00))
        .given(p, metric("insured", 100.0, date!(2000 - 02 - 28)));
    s.at(datetime!(2000-03-20 09:00 +08:00))
        .given(p, metric("insured", 300.0, date!(2000 - 03 - 15)));

    late(
        &mut s,
        p,
        datetime!(2000-03-10 09:00 +08:00),
        metric("insured", 200.0, date!(2000 - 03 - 31)),
    );
    assert_eq!(series(&s, p, "insured"), vec![100.0, 200.0, 300.0]);
    assert_eq!(
        latest(&s, p, "insured"),
        Some(300.0),
        "latest by occurred_at (20 March), not by as_of nor by the order logged"
    );

    // Recorded for the same instant as the latest, logged after it: it comes after it.
    late(
        &mut s,
        p,
        datetime!(2000-03-20 09:00 +08:00),
        metric("insured", 310.0, date!(2000 - 03 - 15)),
    );
    assert_eq!(series(&s, p, "insured"), vec![100.0, 200.0, 300.0, 310.0]);
    assert_eq!(latest(&s, p, "insured"), Some(310.0));
    let dates: Vec<OffsetDateTime> = s.world.pilot(&p.id()).unwrap().state.metrics["insured"]
        .iter()
        .map(|m| m.recorded_for)
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
}

#[test]
fn a_late_stage_move_is_refused_even_after_a_late_fact() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.at(datetime!(2000-03-01 09:00 +08:00))
        .given(p, designed());
    s.at(datetime!(2000-03-20 09:00 +08:00))
        .given(p, contact(mayor, 1, Strategy::Framing));
    // The chain's last event is now dated 12 March, but its latest is 20 March.
    late(
        &mut s,
        p,
        datetime!(2000-03-12 09:00 +08:00),
        contact(mayor, 2, Strategy::Framing),
    );

    let refusal = late_refusal(
        &mut s,
        p,
        datetime!(2000-03-15 09:00 +08:00),
        requested("launch", mayor, pilot_events::Level::Municipal),
    );
    assert_eq!(refusal.code(), "invalid_event", "{refusal}");
    assert!(refusal.to_string().contains("occurred_at"), "{refusal}");
    assert_eq!(s.stage(p), Stage::Design);
    assert!(s
        .world
        .pilot(&p.id())
        .unwrap()
        .state
        .pending_approvals
        .is_empty());
}

#[test]
fn a_late_fact_before_the_stage_it_needs_is_refused_with_the_stage_at_its_date() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    // Proposed 3 Jan, designed 4 Jan, requested 5 Jan, granted 6 Jan, started 7 Jan.
    s.at(datetime!(2000-01-03 09:00 +08:00));
    let p = s.implementing_pilot(mayor);
    s.at(datetime!(2000-03-01 09:00 +08:00))
        .given(p, metric("insured", 100.0, date!(2000 - 02 - 28)));

    let refusal = late_refusal(
        &mut s,
        p,
        datetime!(2000-01-06 12:00 +08:00),
        metric("insured", 50.0, date!(2000 - 01 - 06)),
    );
    assert_eq!(
        refusal,
        Refusal::WrongStage {
            event_type: EventType::MetricRecorded,
            pilot_id: p.id(),
            stage: Stage::Approved,
            needs: vec![Stage::Implementing, Stage::Scaled],
        }
    );
    assert!(
        refusal.to_string().contains("is in `approved`"),
        "{refusal}"
    );

    // Before the proposal nothing of the pilot can have happened.
    let refusal = late_refusal(
        &mut s,
        p,
        datetime!(1999-12-31 09:00 +08:00),
        contact(mayor, 1, Strategy::Framing),
    );
    assert_eq!(refusal.code(), "invalid_event", "{refusal}");
    assert!(refusal.to_string().contains("proposed"), "{refusal}");

    // A figure for the time it ran is still accepted after the pilot ended.
    s.at(datetime!(2000-04-01 09:00 +08:00)).given(
        p,
        Event::PilotTerminated(pilot_events::data::PilotTerminated {
            reason: "merged into the city scheme".into(),
        }),
    );
    late(
        &mut s,
        p,
        datetime!(2000-03-15 09:00 +08:00),
        metric("insured", 150.0, date!(2000 - 03 - 15)),
    );
    assert_eq!(series(&s, p, "insured"), vec![100.0, 150.0]);
    assert_eq!(s.stage(p), Stage::Terminated);
}

#[test]
fn as_of_includes_a_late_fact_and_known_at_excludes_it_until_it_was_logged() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    let p = s.pilot();
    s.at(datetime!(2000-03-01 09:00 +08:00))
        .given(p, contact(mayor, 2, Strategy::Framing));
    s.at(datetime!(2000-03-15 09:00 +08:00))
        .given(p, assessed(mayor, 1));
    s.at(datetime!(2000-03-30 09:00 +08:00))
        .given(p, assessed(finance, 1));
    // Learned on 15 April that the mayor turned on 10 March.
    s.recording_lag = Duration::days(36);
    late(
        &mut s,
        p,
        datetime!(2000-03-10 09:00 +08:00),
        assessed(mayor, -2),
    );

    let mayor_at = |as_of, known_at| {
        let view = s
            .world
            .pilot_view_at(&p.id(), AsOf { as_of, known_at })
            .unwrap()
            .unwrap();
        view.support.stakeholders[&mayor].stance.map(|s| s.value())
    };
    assert_eq!(
        mayor_at(Some(datetime!(2000-03-12 00:00 +08:00)), None),
        Some(-2),
        "dated before 12 March: in, though logged after events of 15 and 30 March"
    );
    assert_eq!(
        mayor_at(Some(datetime!(2000-03-20 00:00 +08:00)), None),
        Some(1),
        "15 March is later than the late fact of 10 March"
    );
    assert_eq!(
        mayor_at(Some(datetime!(2000-03-05 00:00 +08:00)), None),
        Some(2)
    );
    assert_eq!(
        mayor_at(
            Some(datetime!(2000-03-12 00:00 +08:00)),
            Some(datetime!(2000-04-01 00:00 +08:00))
        ),
        Some(2),
        "not logged by 1 April"
    );
    assert_eq!(
        mayor_at(
            Some(datetime!(2000-03-12 00:00 +08:00)),
            Some(datetime!(2000-04-20 00:00 +08:00))
        ),
        Some(-2)
    );
    assert_eq!(mayor_at(None, None), Some(1));
    assert_eq!(stance(&s, p, mayor), Some(1));
}

#[test]
fn a_retraction_refolds_correctly_with_late_facts_present() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    s.at(datetime!(2000-01-03 09:00 +08:00));
    let p = s.implementing_pilot(mayor);
    s.at(datetime!(2000-03-01 09:00 +08:00))
        .given(p, metric("insured", 100.0, date!(2000 - 02 - 28)))
        .given(p, contact(mayor, 2, Strategy::Framing));
    s.at(datetime!(2000-03-20 09:00 +08:00));
    let wrong = s.envelope(p, metric("insured", 300.0, date!(2000 - 03 - 15)));
    let wrong_id = wrong.event_id;
    s.feed(wrong).unwrap();
    s.at(datetime!(2000-03-25 09:00 +08:00))
        .given(p, assessed(mayor, 1));
    late(
        &mut s,
        p,
        datetime!(2000-03-10 09:00 +08:00),
        metric("insured", 200.0, date!(2000 - 03 - 10)),
    );
    late(
        &mut s,
        p,
        datetime!(2000-03-05 09:00 +08:00),
        contact(mayor, -2, Strategy::Framing),
    );
    let before = s.world.pilot(&p.id()).unwrap().clone();
    assert_eq!(latest(&s, p, "insured"), Some(300.0));

    s.at(datetime!(2000-04-01 09:00 +08:00))
        .given(p, retracted(wrong_id));
    let after = s.world.pilot(&p.id()).unwrap();
    assert_eq!(series(&s, p, "insured"), vec![100.0, 200.0]);
    assert_eq!(latest(&s, p, "insured"), Some(200.0));
    assert_eq!(
        stance(&s, p, mayor),
        Some(1),
        "25 March is still the latest"
    );
    assert_eq!(after.support, before.support, "support is untouched");
    assert_eq!(after.state.stage, Stage::Implementing);

    // A late fact can itself be retracted: the series closes up around it.
    let late_metric = after.state.metrics["insured"][1].event_id;
    s.at(datetime!(2000-04-02 09:00 +08:00))
        .given(p, retracted(late_metric));
    assert_eq!(series(&s, p, "insured"), vec![100.0]);
    assert_eq!(latest(&s, p, "insured"), Some(100.0));
}

#[test]
fn a_replay_cuts_each_chain_cleanly_when_facts_were_learned_late() {
    let mut s = Scenario::default();
    let mut log = Vec::new();
    let mut record = |s: &mut Scenario, subject: Subject, event: Event| {
        let envelope = s.envelope(subject, event);
        s.clock += Duration::days(1);
        log.push(envelope.clone());
        s.feed(envelope).unwrap();
    };
    let mayor = Subject::Stakeholder(Uuid::from_u128(0xb1));
    record(
        &mut s,
        mayor,
        Event::StakeholderRegistered(pilot_events::data::StakeholderRegistered {
            name: "Mayor".into(),
            kind: pilot_events::StakeholderKind::Leader,
            level: pilot_events::Level::Municipal,
            influence: pilot_events::data::Influence::try_from(5).unwrap(),
            person: false,
        }),
    );
    let p = Subject::Pilot(Uuid::from_u128(0xa1));
    record(&mut s, p, proposed("A pilot"));
    record(&mut s, p, designed());
    s.at(datetime!(2000-03-20 09:00 +08:00));
    record(&mut s, p, contact(mayor.id(), 2, Strategy::Framing));
    s.at(datetime!(2000-03-10 09:00 +08:00));
    record(&mut s, p, contact(mayor.id(), -2, Strategy::Framing));

    let replay = pilot_projections::replay(
        &pilot_projections::stall::StallRules::default(),
        log,
        datetime!(2000-03-15 00:00 +08:00),
    );
    assert!(replay.refused.is_empty(), "{:?}", replay.refused);
    let pilot = replay.world.pilot(&p.id()).unwrap();
    assert_eq!(pilot.state.stage, Stage::Design);
    assert!(pilot.support.stakeholders.is_empty(), "cut at 20 March");
}
