//! Stakeholder support (the support_index formula, alliances) and the highlight ledger.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::{Level, Strategy};
use scenario::*;
use time::macros::datetime;

#[test]
fn support_index_is_the_influence_weighted_stance_over_twice_the_weights() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    let media = s.stakeholder("Media", 1);
    let p = s.pilot();
    assert_eq!(
        s.world.pilot_view(&p.id()).unwrap().support_index,
        None,
        "no stances → null"
    );
    s.given(p, contact(mayor, 2, Strategy::Framing))
        .given(p, contact(finance, -1, Strategy::Brokering))
        .given(p, assessed(media, 0));
    // (5·2 + 4·(-1) + 1·0) / (2·(5+4+1)) = 6/20
    let view = s.world.pilot_view(&p.id()).unwrap();
    assert_eq!(view.support_index, Some(0.3));
    assert_eq!(view.coalition, vec![mayor]);
    assert_eq!(view.opposition, vec![finance]);
}

#[test]
fn the_latest_observation_wins_and_an_alliance_raises_to_at_least_one() {
    let mut s = Scenario::default();
    let finance = s.stakeholder("Bureau of Finance", 4);
    let taxation = s.stakeholder("Bureau of Local Taxation", 2);
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, contact(finance, -2, Strategy::Framing))
        .given(p, assessed(taxation, 2))
        .given(p, alliance(&[finance, taxation, mayor]));
    let support = &s.world.pilot(&p.id()).unwrap().support;
    let stance = |id| support.stakeholders[&id].stance.unwrap().value();
    assert_eq!(stance(finance), 1, "raised from -2 to +1");
    assert_eq!(stance(taxation), 2, "already above +1: kept");
    assert_eq!(stance(mayor), 1, "no stance before: +1");
    s.given(p, assessed(finance, -1));
    let support = &s.world.pilot(&p.id()).unwrap().support;
    assert_eq!(
        support.stakeholders[&finance].stance.unwrap().value(),
        -1,
        "a later assessment overrides"
    );
    // (4·(-1) + 2·2 + 5·1) / (2·11)
    assert_eq!(
        s.world.pilot_view(&p.id()).unwrap().support_index,
        Some(5.0 / 22.0)
    );
}

#[test]
fn contacts_count_with_last_contact_and_strategies() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.at(datetime!(2000-01-10 09:00 +08:00))
        .given(p, contact(mayor, 0, Strategy::Framing));
    s.at(datetime!(2000-02-10 09:00 +08:00))
        .given(p, contact(mayor, 1, Strategy::Marketing));
    s.given(p, assessed(mayor, 2));
    let entry = &s.world.pilot(&p.id()).unwrap().support.stakeholders[&mayor];
    assert_eq!(entry.contacts, 2, "assessments are not contacts");
    assert_eq!(entry.last_contact, Some(datetime!(2000-02-10 09:00 +08:00)));
    assert_eq!(
        entry.strategies.iter().copied().collect::<Vec<_>>(),
        vec![Strategy::Framing, Strategy::Marketing]
    );
}

#[test]
fn highlights_are_worth_points_by_level_credited_in_full_to_each() {
    let mut s = Scenario::default();
    let secretary = s.stakeholder("Party Secretary", 5);
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.implementing_pilot(mayor);
    let q = s.implementing_pilot(mayor);
    s.given(p, highlight("county", Level::County, &[mayor]))
        .given(p, highlight("municipal", Level::Municipal, &[mayor]))
        .given(
            q,
            highlight("provincial", Level::Provincial, &[secretary, mayor]),
        )
        .given(
            p,
            highlight("national", Level::National, &[secretary, mayor]),
        );
    let ledger = s.world.ledger();
    assert_eq!(
        ledger.lines().map(|l| l.points).collect::<Vec<_>>(),
        vec![1, 2, 4, 8]
    );
    assert_eq!(ledger.stakeholder_balance(mayor), 15);
    assert_eq!(ledger.stakeholder_balance(secretary), 12);
    assert_eq!(
        ledger.pilot_balance(p.id()),
        11,
        "a pilot counts each line once"
    );
    assert_eq!(ledger.pilot_balance(q.id()), 4);
    let running: Vec<u64> = ledger
        .for_stakeholder(mayor)
        .iter()
        .map(|l| l.balance)
        .collect();
    assert_eq!(running, vec![1, 3, 7, 15]);
}

#[test]
fn ledger_lines_run_in_occurred_at_order_across_pilots() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let early = s.implementing_pilot(mayor);
    let late = s.implementing_pilot(mayor);
    s.at(datetime!(2009-01-01 09:00 +08:00))
        .given(late, highlight("2009", Level::National, &[mayor]));
    // Back-filled afterwards, but it happened first.
    s.at(datetime!(2005-01-01 09:00 +08:00))
        .given(early, highlight("2005", Level::Provincial, &[mayor]));
    let lines = s.world.ledger().for_stakeholder(mayor);
    assert_eq!(
        lines
            .iter()
            .map(|l| l.line.highlight_id.as_str())
            .collect::<Vec<_>>(),
        vec!["2005", "2009"]
    );
    assert_eq!(
        lines.iter().map(|l| l.balance).collect::<Vec<_>>(),
        vec![4, 12]
    );
}
