//! Retraction, time travel (as of / as known at), duplicate delivery and sequence gaps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::{Level, Stage, Strategy};
use pilot_projections::{Applied, AsOf, ProjectionError, Refusal};
use scenario::*;
use time::macros::{date, datetime};
use time::Duration;

#[test]
fn a_retracted_event_stops_counting_everywhere() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Finance", 4);
    let p = s.implementing_pilot(mayor);
    s.given(p, contact(finance, 2, Strategy::Alliance));
    let wrong_contact = s.envelope(p, contact(finance, -2, Strategy::Pressure));
    let wrong_contact_id = wrong_contact.event_id;
    s.feed(wrong_contact).unwrap();
    let wrong_metric = s.envelope(p, metric("insured_persons", 999.0, date!(2001 - 01 - 01)));
    let wrong_metric_id = wrong_metric.event_id;
    s.feed(wrong_metric).unwrap();
    let wrong_honour = s.envelope(p, highlight("fake", Level::National, &[mayor]));
    let wrong_honour_id = wrong_honour.event_id;
    s.feed(wrong_honour).unwrap();
    assert_eq!(s.world.ledger().stakeholder_balance(mayor), 8);

    s.given(p, retracted(wrong_contact_id))
        .given(p, retracted(wrong_metric_id))
        .given(p, retracted(wrong_honour_id));

    let record = s.world.pilot(&p.id()).unwrap();
    let finance_support = &record.support.stakeholders[&finance];
    assert_eq!(
        finance_support.stance.unwrap().value(),
        2,
        "the earlier stance is back"
    );
    assert_eq!(finance_support.contacts, 1);
    assert!(!finance_support.strategies.contains(&Strategy::Pressure));
    assert!(!record.state.metrics.contains_key("insured_persons"));
    assert_eq!(s.world.ledger().stakeholder_balance(mayor), 0);
    assert!(s.world.ledger().is_empty());
    assert_eq!(
        record.state.version, 12,
        "the chain still counts every stored event"
    );
    assert!(s.world.is_retracted(&wrong_contact_id));
}

#[test]
fn retracting_a_stage_move_moves_the_stage_back() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, requested("launch", mayor, Level::Municipal));
    let grant = s.envelope(p, granted("launch"));
    let grant_id = grant.event_id;
    s.feed(grant).unwrap();
    assert_eq!(s.stage(p), Stage::Approved);
    s.given(p, retracted(grant_id));
    assert_eq!(s.stage(p), Stage::AwaitingApproval);
    assert!(s
        .world
        .pilot(&p.id())
        .unwrap()
        .state
        .pending_approvals
        .contains_key("launch"));
}

#[test]
fn a_retraction_that_would_break_the_chain_is_refused() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    let request = s.envelope(p, requested("launch", mayor, Level::Municipal));
    let request_id = request.event_id;
    s.feed(request).unwrap();
    s.given(p, granted("launch"));
    let refusal = s.refusal(p, retracted(request_id));
    assert!(
        matches!(refusal, Refusal::RetractionBreaksChain { .. }),
        "{refusal}"
    );
    assert_eq!(s.stage(p), Stage::Approved, "nothing changed");
}

#[test]
fn retractions_are_refused_for_unknown_repeated_or_unretractable_targets() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    let q = s.pilot();
    let other = s.envelope(q, contact(mayor, 1, Strategy::Framing));
    let other_id = other.event_id;
    s.feed(other).unwrap();
    assert!(
        matches!(
            s.refusal(p, retracted(other_id)),
            Refusal::UnknownRetractionTarget { .. }
        ),
        "another chain"
    );
    let proposal_id = s
        .world
        .pilot(&p.id())
        .unwrap()
        .history
        .iter()
        .next()
        .unwrap()
        .1
        .event_id;
    assert!(matches!(
        s.refusal(p, retracted(proposal_id)),
        Refusal::NotRetractable { .. }
    ));
    let c = s.envelope(p, contact(mayor, 1, Strategy::Framing));
    let c_id = c.event_id;
    s.feed(c).unwrap();
    s.given(p, retracted(c_id));
    assert!(matches!(
        s.refusal(p, retracted(c_id)),
        Refusal::AlreadyRetracted { .. }
    ));
}

#[test]
fn a_pilot_as_of_a_world_date_and_as_known_at_a_system_date() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    s.recording_lag = Duration::days(365 * 20); // back-filled two decades later
    s.at(datetime!(1994-01-10 09:00 +08:00));
    let p = s.implementing_pilot(mayor);
    s.at(datetime!(2000-06-30 09:00 +08:00)).given(
        p,
        metric("insured_persons", 200_000.0, date!(2000 - 06 - 30)),
    );
    s.at(datetime!(2000-12-31 09:00 +08:00)).given(
        p,
        metric("insured_persons", 880_000.0, date!(2000 - 12 - 31)),
    );

    let at = |as_of, known_at| {
        s.world
            .pilot_view_at(&p.id(), AsOf { as_of, known_at })
            .unwrap()
    };
    let latest = |view: &pilot_projections::PilotView| {
        view.pilot.latest_metric("insured_persons").map(|m| m.value)
    };

    let mid_2000 = at(Some(datetime!(2000-07-01 00:00 +08:00)), None).unwrap();
    assert_eq!(latest(&mid_2000), Some(200_000.0));
    let end_2000 = at(Some(datetime!(2001-01-01 00:00 +08:00)), None).unwrap();
    assert_eq!(latest(&end_2000), Some(880_000.0));
    assert!(
        at(Some(datetime!(1993-01-01 00:00 +08:00)), None).is_none(),
        "not yet proposed"
    );
    let before_design = at(Some(datetime!(1994-01-10 12:00 +08:00)), None).unwrap();
    assert_eq!(before_design.pilot.stage, Stage::Framing);

    // Nothing was logged until 2014: as known in 2010 the pilot did not exist.
    assert!(at(None, Some(datetime!(2010-01-01 00:00 +08:00))).is_none());
    let known_2020_06 = at(None, Some(datetime!(2020-07-01 00:00 +08:00))).unwrap();
    assert_eq!(
        latest(&known_2020_06),
        Some(200_000.0),
        "the 880,000 figure was logged later"
    );
}

#[test]
fn a_retraction_counts_from_when_it_was_recorded() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.implementing_pilot(mayor);
    s.at(datetime!(2001-01-01 09:00 +08:00));
    let wrong = s.envelope(p, metric("insured_persons", 5.0, date!(2000 - 12 - 31)));
    let wrong_id = wrong.event_id;
    s.feed(wrong).unwrap();
    s.at(datetime!(2003-01-01 09:00 +08:00))
        .given(p, retracted(wrong_id));
    let view = |known_at| {
        s.world
            .pilot_view_at(
                &p.id(),
                AsOf {
                    as_of: Some(datetime!(2002-01-01 00:00 +08:00)),
                    known_at,
                },
            )
            .unwrap()
            .unwrap()
    };
    assert!(
        view(None).pilot.metrics.is_empty(),
        "as known now, it never happened"
    );
    assert_eq!(
        view(Some(datetime!(2002-06-01 00:00 +08:00))).pilot.metrics["insured_persons"].len(),
        1,
        "as known in 2002, it had"
    );
}

#[test]
fn the_same_event_delivered_twice_changes_nothing() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.implementing_pilot(mayor);
    let honour = s.envelope(p, highlight("award", Level::Provincial, &[mayor]));
    s.feed(honour.clone()).unwrap();
    let before = s.world.pilot_view(&p.id()).unwrap();
    let position = s.world.position();
    // Redelivered at the same position (a consumer redelivery) ...
    assert_eq!(
        s.world.apply(position, honour.clone()).unwrap(),
        Applied::Duplicate
    );
    // ... and published again at a new position (a retry outside the dedupe window).
    assert_eq!(s.feed(honour).unwrap(), Applied::Duplicate);
    assert_eq!(s.world.pilot_view(&p.id()).unwrap(), before);
    assert_eq!(s.world.ledger().stakeholder_balance(mayor), 4);
}

#[test]
fn a_sequence_gap_is_an_error_and_a_skip_closes_it() {
    let mut s = Scenario::default();
    let p = s.pilot();
    let next = s.envelope(p, designed());
    let position = s.world.position();
    let error = s.world.apply(position + 2, next.clone()).unwrap_err();
    assert_eq!(
        error,
        ProjectionError::SequenceGap {
            expected: position + 1,
            found: position + 2
        }
    );
    assert_eq!(s.stage(p), Stage::Framing);
    s.world.skip(position + 1).unwrap();
    assert_eq!(s.world.apply(position + 2, next).unwrap(), Applied::Applied);
    assert_eq!(s.stage(p), Stage::Design);
}

#[test]
fn stored_bytes_that_do_not_decode_consume_their_position_and_the_fold_goes_on() {
    let mut s = Scenario::default();
    let p = s.pilot();
    let position = s.world.position();
    let error = s
        .world
        .apply_stored(position + 1, b"{\"type\": \"garbage\"}")
        .unwrap_err();
    assert!(
        matches!(error, ProjectionError::Undecodable { position: at, .. } if at == position + 1),
        "{error}"
    );
    let next = s.envelope(p, designed());
    let bytes = next.to_json();
    assert_eq!(
        s.world
            .apply_stored(position + 2, bytes.as_bytes())
            .unwrap(),
        Applied::Applied
    );
    assert_eq!(s.stage(p), Stage::Design);
    let kept: Vec<&[u8]> = s
        .world
        .pilot(&p.id())
        .unwrap()
        .history
        .raw()
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        kept.last().copied(),
        Some(bytes.as_bytes()),
        "the chain keeps the bytes as stored"
    );
}
