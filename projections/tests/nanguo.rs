//! The Nanguo history (deploy/demo/nanguo.jsonl, schema 2) folded through every projection says
//! what the case study says. The schema-1 history it replaced
//! (events/tests/golden/nanguo-schema-1.jsonl, frozen) still folds to the same stages and facts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use pilot_events::{decode, Event, HighlightKind, LinkRelation, Precision, Qualifier, Stage};
use pilot_projections::stall::{stall_status, StallRules, StallStatus};
use pilot_projections::{AsOf, World};
use time::macros::datetime;
use time::Month;
use uuid::{uuid, Uuid};

const NANGUO: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/demo/nanguo.jsonl"
));

const HICI: Uuid = uuid!("0194a000-0001-7000-8000-000000000001");
const BHI: Uuid = uuid!("0194a000-0001-7000-8000-000000000002");
const HIHC: Uuid = uuid!("0194a000-0001-7000-8000-000000000003");
const LCHI: Uuid = uuid!("0194a000-0001-7000-8000-000000000004");
const UNIFIED: Uuid = uuid!("0194a000-0001-7000-8000-000000000005");
const SCHEMA_1: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../events/tests/golden/nanguo-schema-1.jsonl"
));

const SECRETARY_LIU: Uuid = uuid!("0194a000-0002-7000-8000-000000000005");
const MAYOR_POST: Uuid = uuid!("0194a000-0002-7000-8000-000000000006");
const BUREAU_OF_FINANCE: Uuid = uuid!("0194a000-0002-7000-8000-000000000008");
const ENTERPRISE_OWNERS: Uuid = uuid!("0194a000-0002-7000-8000-000000000014");
const TOWN_LEADERS: Uuid = uuid!("0194a000-0002-7000-8000-000000000019");
const NANGUO_CITY: Uuid = uuid!("0194a000-0003-7000-8000-000000000001");

fn nanguo() -> World {
    fold(NANGUO)
}

/// Both histories: the demo (schema 2) and the frozen schema-1 one.
fn both() -> [(&'static str, World); 2] {
    [("schema 2", fold(NANGUO)), ("schema 1", fold(SCHEMA_1))]
}

fn fold(history: &str) -> World {
    let mut world = World::new();
    for (i, line) in history.lines().enumerate() {
        let envelope = decode(line.as_bytes()).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        world
            .apply(i as u64 + 1, envelope)
            .unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
    }
    world
}

#[test]
fn the_fragmented_programs_merged_into_the_unified_system_in_july_2008() {
    for (history, world) in both() {
        merged_in_july_2008(history, &world);
    }
}

fn merged_in_july_2008(history: &str, world: &World) {
    for pilot in [HICI, BHI, HIHC, LCHI] {
        let state = &world.pilot(&pilot).unwrap().state;
        assert_eq!(state.stage, Stage::Merged, "{history}: {}", state.title);
        assert_eq!(state.merged_into, Some(UNIFIED));
        let merged_at = state.stage_entered_at[&Stage::Merged].0;
        assert_eq!(
            (merged_at.year(), merged_at.month()),
            (2008, Month::July),
            "{}",
            state.title
        );
    }
    let unified = &world.pilot(&UNIFIED).unwrap().state;
    assert_eq!(unified.stage, Stage::Implementing);
    let mut absorbed = unified.merged_from.clone();
    absorbed.sort();
    assert_eq!(absorbed, vec![HICI, BHI, HIHC, LCHI]);
}

#[test]
fn coverage_reached_88_percent_of_the_provincial_target_at_the_end_of_2000() {
    for (_, world) in both() {
        coverage_in_2000(&world);
    }
}

fn coverage_in_2000(world: &World) {
    let end_of_2000 = AsOf {
        as_of: Some(datetime!(2001-01-01 00:00 +08:00)),
        known_at: None,
    };
    let view = world.pilot_view_at(&HIHC, end_of_2000).unwrap().unwrap();
    assert_eq!(view.pilot.stage, Stage::Implementing);
    let progress = view
        .progress
        .iter()
        .find(|p| p.metric == "insured_persons")
        .unwrap();
    assert_eq!((progress.latest, progress.target), (880_000.0, 1_000_000.0));
    assert!((progress.progress - 0.88).abs() < 1e-12);

    let before = AsOf {
        as_of: Some(datetime!(2000-06-30 00:00 +08:00)),
        known_at: None,
    };
    let early = world.pilot_view_at(&HIHC, before).unwrap().unwrap();
    assert_eq!(
        early.pilot.latest_metric("insured_persons").unwrap().value,
        200_000.0
    );
}

#[test]
fn the_unified_system_covers_over_six_million_with_its_reimbursement_rates() {
    for (_, world) in both() {
        six_million(&world);
    }
}

fn six_million(world: &World) {
    let unified = &world.pilot(&UNIFIED).unwrap().state;
    assert!(unified.latest_metric("insured_persons").unwrap().value >= 6_000_000.0);
    assert_eq!(
        unified
            .latest_metric("reimbursement_rate_community")
            .unwrap()
            .value,
        0.95
    );
    assert_eq!(
        unified
            .latest_metric("reimbursement_rate_hospital")
            .unwrap()
            .value,
        0.70
    );
    let hihc = &world.pilot(&HIHC).unwrap().state;
    assert_eq!(hihc.latest_metric("contribution_rate").unwrap().value, 0.02);
}

#[test]
fn the_bureau_of_finance_is_in_the_lchi_coalition() {
    for (history, world) in both() {
        let view = world.pilot_view(&LCHI).unwrap();
        assert!(view.coalition.contains(&BUREAU_OF_FINANCE), "{history}");
        assert!(view.support_index.unwrap() > 0.0, "{history}");
    }
}

#[test]
fn the_2009_model_city_title_credits_the_city_leaders_eight_points_each() {
    for (_, world) in both() {
        model_city(&world);
    }
}

fn model_city(world: &World) {
    let line = world
        .ledger()
        .lines()
        .find(|l| l.title == "National Model City of Social Development")
        .unwrap();
    assert_eq!(line.occurred_at.year(), 2009);
    assert_eq!(line.points, 8);
    let mut credited = line.credited_to.clone();
    credited.sort();
    assert_eq!(credited, vec![SECRETARY_LIU, MAYOR_POST]);
    let liu = world.ledger().for_stakeholder(SECRETARY_LIU);
    assert_eq!(liu.last().unwrap().balance, 8);
    let honours: Vec<i32> = world
        .ledger()
        .lines()
        .map(|l| l.occurred_at.year())
        .collect();
    assert!(
        honours.contains(&2005) && honours.contains(&2007),
        "{honours:?}"
    );
}

#[test]
fn the_history_as_known_before_it_was_logged_is_empty() {
    let world = nanguo();
    let known_1991 = AsOf {
        as_of: None,
        known_at: Some(datetime!(1991-01-01 00:00 +08:00)),
    };
    assert!(world.pilot_view_at(&HICI, known_1991).unwrap().is_none());
}

#[test]
fn the_lchi_approval_stalled_and_was_granted_after_it_escalated() {
    let world = nanguo();
    let lchi = &world.pilot(&LCHI).unwrap();
    let request = lchi
        .history
        .iter()
        .find(|(_, e)| matches!(e.event, pilot_events::Event::ApprovalRequested(_)));
    let (_, request) = request.unwrap();
    let pilot_events::Event::ApprovalRequested(data) = &request.event else {
        unreachable!()
    };
    let grant = lchi
        .state
        .decided_approvals
        .iter()
        .find(|a| a.approval.approval_id == data.approval_id)
        .unwrap();
    // The decided approval keeps the request it answered.
    assert_eq!(grant.approval.request_event_id, request.event_id);
    assert_eq!(grant.approval.requested_at, request.occurred_at);
    let pending = &grant.approval;
    let status = stall_status(
        pending,
        &StallRules::default(),
        grant.decided_at - time::Duration::seconds(1),
    );
    assert!(
        matches!(
            status,
            StallStatus::Firing {
                escalation_level: 2,
                ..
            }
        ),
        "{status:?}"
    );
}

/// The schema-1 history enters the same stages in the same order as the schema-2 one; only
/// the instants of the vaguely dated moves differ (the first instant of their year or month).
#[test]
fn both_histories_take_every_pilot_through_the_same_stages() {
    let [(_, now), (_, before)] = both();
    for pilot in [HICI, BHI, HIHC, LCHI, UNIFIED] {
        let stages = |world: &World| -> Vec<Stage> {
            world
                .pilot(&pilot)
                .unwrap()
                .state
                .stage_history
                .iter()
                .map(|entry| entry.stage)
                .collect()
        };
        assert_eq!(stages(&now), stages(&before), "{pilot}");
        let entered = |world: &World, stage| {
            world.pilot(&pilot).unwrap().state.stage_entered_at[&stage]
                .0
                .year()
        };
        for stage in now.pilot(&pilot).unwrap().state.stage_entered_at.keys() {
            assert_eq!(
                entered(&now, *stage),
                entered(&before, *stage),
                "{pilot} {stage}"
            );
        }
    }
    assert_eq!(now.pilots().count(), before.pilots().count());
}

#[test]
fn nanguo_is_registered_with_its_calendar_and_context() {
    let world = nanguo();
    let nanguo = world.jurisdictions().named("Nanguo").unwrap();
    assert_eq!(nanguo.jurisdiction_id, NANGUO_CITY);
    assert_eq!(nanguo.utc_offset, "+08:00");
    assert_eq!(nanguo.calendar.as_deref(), Some("nanguo"));
    let context = world.jurisdictions().context_of(&NANGUO_CITY);
    let kinds: Vec<_> = context.iter().map(|c| c.context.kind.as_str()).collect();
    assert_eq!(kinds, ["directive", "reorganisation", "indicator"]);
    assert!(context.iter().all(|c| c.precision == Some(Precision::Year)));
    let indicator = context[2];
    assert_eq!(indicator.context.value, Some(0.7));
    assert_eq!(indicator.context.qualifier, Some(Qualifier::About));
    // The schema-1 history has no jurisdiction: its pilots name one nobody registered.
    assert!(fold(SCHEMA_1).jurisdictions().all().is_empty());
}

#[test]
fn the_office_rewards_credit_the_ssdnc() {
    let world = nanguo();
    let rewards: Vec<_> = world
        .ledger()
        .lines()
        .filter(|l| l.kind.is_office_reward())
        .collect();
    let kinds: Vec<HighlightKind> = rewards.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [HighlightKind::RankingUpgrade, HighlightKind::BudgetIncrease]
    );
    for line in rewards {
        // Municipal: 2 points, no leader credited, the office credited.
        assert_eq!(line.points, 2);
        assert!(line.credited_to.is_empty());
        assert_eq!(line.credited_offices, ["SSDNC"]);
    }
    // The office's balance runs over its two rewards, and it is the only office credited.
    let ssdnc: Vec<u64> = world
        .ledger()
        .for_office("SSDNC")
        .iter()
        .map(|l| l.balance)
        .collect();
    assert_eq!(ssdnc, [2, 4]);
    assert_eq!(world.ledger().offices(), [("SSDNC".to_string(), 4)]);
    // The leaders' balances are those of the schema-1 history: office rewards credit no leader.
    let liu = world.ledger().for_stakeholder(SECRETARY_LIU);
    assert_eq!(liu.last().unwrap().balance, 8);
    let mayor = world.ledger().for_stakeholder(MAYOR_POST);
    assert_eq!(mayor.last().unwrap().balance, 40);
}

#[test]
fn hici_links_to_bhi_as_a_rename() {
    let world = nanguo();
    let links = &world.pilot(&HICI).unwrap().state.links;
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].relation, links[0].other_pilot_id),
        (LinkRelation::RenamedInto, BHI)
    );
    assert_eq!(links[0].at.year(), 2000);
    let hihc = &world.pilot(&HIHC).unwrap().state.links;
    assert_eq!(
        (hihc[0].relation, hihc[0].other_pilot_id),
        (LinkRelation::ModelledOn, HICI)
    );
}

#[test]
fn the_enterprises_resisted_before_the_town_leaders_pressed_them() {
    let world = nanguo();
    let during = AsOf {
        as_of: Some(datetime!(2000-06-12 09:45 +08:00)),
        known_at: None,
    };
    let view = world.pilot_view_at(&HIHC, during).unwrap().unwrap();
    assert!(view.opposition.contains(&ENTERPRISE_OWNERS));
    let after = world.pilot_view(&HIHC).unwrap();
    assert!(after.coalition.contains(&ENTERPRISE_OWNERS));
    // The intermediary is not a party to the pilot: its stance is untouched by the contact.
    assert!(!after.coalition.contains(&TOWN_LEADERS));
    assert!(!after.opposition.contains(&TOWN_LEADERS));
    // The enterprises' record names the contact's intermediary and the people who made them.
    let owners = &after.support.stakeholders[&ENTERPRISE_OWNERS];
    assert!(owners.through.contains(&TOWN_LEADERS), "{owners:?}");
    assert!(!owners.made_by.is_empty(), "{owners:?}");
}

#[test]
fn the_2011_coverage_is_a_lower_bound() {
    let world = nanguo();
    let unified = &world.pilot(&UNIFIED).unwrap();
    let insured = unified.state.latest_metric("insured_persons").unwrap();
    assert_eq!(insured.value, 6_000_000.0);
    let (_, source) = unified
        .history
        .iter()
        .find(|(_, e)| e.event_id == insured.event_id)
        .unwrap();
    let Event::MetricRecorded(d) = &source.event else {
        unreachable!()
    };
    assert_eq!(d.qualifier(), Qualifier::AtLeast);
}

#[test]
fn the_1992_initiative_is_dated_to_its_month() {
    let world = nanguo();
    let hici = &world.pilot(&HICI).unwrap();
    let (_, proposed) = hici.history.iter().next().unwrap();
    assert_eq!(proposed.provenance.precision, Some(Precision::Month));
    assert_eq!(proposed.occurred_at, datetime!(1992-03-01 00:00 +08:00));
    assert_eq!(
        hici.state.stage_entered_at[&Stage::Framing].0,
        datetime!(1992-03-01 00:00 +08:00)
    );
}
