//! The Nanguo history (deploy/demo/nanguo.jsonl) folded through every projection says what the
//! case study says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use pilot_events::{decode, Stage};
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
const SECRETARY_LIU: Uuid = uuid!("0194a000-0002-7000-8000-000000000005");
const MAYOR_POST: Uuid = uuid!("0194a000-0002-7000-8000-000000000006");
const BUREAU_OF_FINANCE: Uuid = uuid!("0194a000-0002-7000-8000-000000000008");

fn nanguo() -> World {
    let mut world = World::new();
    for (i, line) in NANGUO.lines().enumerate() {
        let envelope = decode(line.as_bytes()).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        world
            .apply(i as u64 + 1, envelope)
            .unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
    }
    world
}

#[test]
fn the_fragmented_programs_merged_into_the_unified_system_in_july_2008() {
    let world = nanguo();
    for pilot in [HICI, BHI, HIHC, LCHI] {
        let state = &world.pilot(&pilot).unwrap().state;
        assert_eq!(state.stage, Stage::Merged, "{}", state.title);
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
    let world = nanguo();
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
    let world = nanguo();
    let unified = &world.pilot(&UNIFIED).unwrap().state;
    assert!(unified.latest_metric("insured_persons").unwrap().value > 6_000_000.0);
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
    let world = nanguo();
    let view = world.pilot_view(&LCHI).unwrap();
    assert!(view.coalition.contains(&BUREAU_OF_FINANCE));
    assert!(view.support_index.unwrap() > 0.0);
}

#[test]
fn the_2009_model_city_title_credits_the_city_leaders_eight_points_each() {
    let world = nanguo();
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
