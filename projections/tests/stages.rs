//! Stage moves and decisions (docs/domain.md, "Stages"), given/when/then.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::data::*;
use pilot_events::{Event, Level, Stage, Subject};
use pilot_projections::Refusal;
use scenario::*;
use time::macros::datetime;
use uuid::Uuid;

fn started() -> Event {
    Event::ImplementationStarted(ImplementationStarted {
        scope: "city".into(),
    })
}

#[test]
fn the_gate_path_enters_every_stage_and_remembers_when() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor of Nanguo", 5);
    let p = s.pilot();
    assert_eq!(s.stage(p), Stage::Framing);
    s.given(p, designed());
    assert_eq!(s.stage(p), Stage::Design);
    s.given(p, requested("launch", mayor, Level::Municipal));
    assert_eq!(s.stage(p), Stage::AwaitingApproval);
    s.given(p, granted("launch"));
    assert_eq!(s.stage(p), Stage::Approved);
    s.at(datetime!(2001-05-01 10:00 +08:00)).given(p, started());
    assert_eq!(s.stage(p), Stage::Implementing);
    let state = &s.world.pilot(&p.id()).unwrap().state;
    assert_eq!(
        state.stage_entered_at[&Stage::Implementing].0,
        datetime!(2001-05-01 10:00 +08:00)
    );
    assert_eq!(state.stage_history.len(), 5);
    assert!(state.pending_approvals.is_empty());
}

#[test]
fn implementation_cannot_start_in_framing() {
    let mut s = Scenario::default();
    let p = s.pilot();
    let refusal = s.refusal(p, started());
    assert_eq!(
        refusal,
        Refusal::WrongStage {
            event_type: pilot_events::EventType::ImplementationStarted,
            pilot_id: p.id(),
            stage: Stage::Framing,
            needs: vec![Stage::Approved],
        }
    );
    assert!(
        refusal
            .to_string()
            .contains("needs a pilot in `approved`, but pilot"),
        "{refusal}"
    );
    assert!(refusal.to_string().contains("is in `framing`"), "{refusal}");
    assert_eq!(
        s.stage(p),
        Stage::Framing,
        "a refused event changes nothing"
    );
}

#[test]
fn approval_may_be_requested_straight_from_framing() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, requested("launch", mayor, Level::Municipal));
    assert_eq!(s.stage(p), Stage::AwaitingApproval);
}

#[test]
fn granting_an_unknown_approval_is_refused_with_the_pending_ones() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, requested("launch", mayor, Level::Municipal));
    let refusal = s.refusal(p, granted("budget"));
    assert!(
        matches!(&refusal, Refusal::UnknownApproval { approval_id, pending, .. }
        if approval_id == "budget" && pending == &vec!["launch".to_string()])
    );
}

#[test]
fn approved_waits_until_no_gate_approval_is_pending() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let secretary = s.stakeholder("Party Secretary", 5);
    let p = s.pilot();
    s.given(p, requested("mayor", mayor, Level::Municipal))
        .given(p, requested("secretary", secretary, Level::Municipal));
    s.given(p, granted("mayor"));
    assert_eq!(s.stage(p), Stage::AwaitingApproval);
    s.given(p, granted("secretary"));
    assert_eq!(s.stage(p), Stage::Approved);
}

#[test]
fn denial_returns_to_design() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, requested("launch", mayor, Level::Municipal))
        .given(p, denied("launch"));
    assert_eq!(s.stage(p), Stage::Design);
}

#[test]
fn withdrawal_returns_to_the_stage_before_the_request() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, requested("launch", mayor, Level::Municipal))
        .given(p, withdrawn("launch"));
    assert_eq!(s.stage(p), Stage::Framing);

    let q = s.pilot();
    s.given(q, designed())
        .given(q, requested("launch", mayor, Level::Municipal))
        .given(q, withdrawn("launch"));
    assert_eq!(s.stage(q), Stage::Design);
}

#[test]
fn expansion_approvals_leave_the_stage_alone() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.implementing_pilot(mayor);
    s.given(p, requested("expand", mayor, Level::Provincial));
    assert_eq!(s.stage(p), Stage::Implementing);
    assert!(s
        .world
        .pilot(&p.id())
        .unwrap()
        .state
        .pending_approvals
        .contains_key("expand"));
    s.given(p, denied("expand"));
    assert_eq!(s.stage(p), Stage::Implementing);
}

#[test]
fn the_same_approval_cannot_be_pending_twice_but_may_be_asked_again_later() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, requested("launch", mayor, Level::Municipal));
    assert!(matches!(
        s.refusal(p, requested("launch", mayor, Level::Municipal)),
        Refusal::ApprovalAlreadyPending { .. }
    ));
    s.given(p, denied("launch"))
        .given(p, requested("launch", mayor, Level::Municipal));
    assert_eq!(s.stage(p), Stage::AwaitingApproval);
}

#[test]
fn an_extension_is_refused_once_the_approval_stalled() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.at(datetime!(2000-03-01 09:00 +08:00))
        .given(p, requested("launch", mayor, Level::Municipal));
    // Municipal threshold: 30 calendar days, so the approval stalls at 2000-03-31 09:00.
    s.at(datetime!(2000-03-31 08:59:59 +08:00))
        .given(p, extended("launch", 10));
    assert_eq!(
        s.world.pilot(&p.id()).unwrap().state.pending_approvals["launch"].extra_days,
        10
    );
    // Now due at 2000-04-10 09:00.
    s.at(datetime!(2000-04-10 09:00 +08:00));
    let refusal = s.refusal(p, extended("launch", 5));
    assert!(
        matches!(refusal, Refusal::ApprovalStalled { due_at, .. } if due_at == datetime!(2000-04-10 09:00 +08:00)),
        "{refusal}"
    );
}

#[test]
fn metrics_need_a_running_pilot() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    let refusal = s.refusal(
        p,
        metric("insured_persons", 1.0, time::macros::date!(2000 - 12 - 31)),
    );
    assert!(matches!(
        refusal,
        Refusal::WrongStage {
            stage: Stage::Framing,
            ..
        }
    ));
    let q = s.implementing_pilot(mayor);
    s.given(
        q,
        metric("insured_persons", 1.0, time::macros::date!(2000 - 12 - 31)),
    );
}

#[test]
fn scaling_merging_and_termination() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let unified = s.implementing_pilot(mayor);
    let p = s.implementing_pilot(mayor);
    s.given(
        p,
        Event::PilotScaled(PilotScaled {
            to_level: Level::Provincial,
            scope: "province".into(),
            successor_title: "x".into(),
        }),
    );
    assert_eq!(s.stage(p), Stage::Scaled);
    s.given(p, requested("expand", mayor, Level::Provincial));
    s.given(
        p,
        Event::PilotMerged(PilotMerged {
            into_pilot_id: unified.id(),
            reason: "unified".into(),
        }),
    );
    assert_eq!(s.stage(p), Stage::Merged);
    let merged = &s.world.pilot(&p.id()).unwrap().state;
    assert!(
        merged.pending_approvals.is_empty(),
        "a merge ends pending approvals"
    );
    assert_eq!(
        s.world.pilot(&unified.id()).unwrap().state.merged_from,
        vec![p.id()]
    );
    // Terminal: no more stage moves, no contacts; honours are still recorded.
    assert!(matches!(
        s.refusal(
            p,
            Event::PilotTerminated(PilotTerminated { reason: "x".into() })
        ),
        Refusal::WrongStage {
            stage: Stage::Merged,
            ..
        }
    ));
    assert!(matches!(
        s.refusal(p, contact(mayor, 1, pilot_events::Strategy::Framing)),
        Refusal::WrongStage { .. }
    ));
    s.given(p, highlight("late-honour", Level::National, &[mayor]));
    // A merge into a pilot that has ended is refused.
    let q = s.pilot();
    let refusal = s.refusal(
        q,
        Event::PilotMerged(PilotMerged {
            into_pilot_id: p.id(),
            reason: "x".into(),
        }),
    );
    assert!(matches!(
        refusal,
        Refusal::MergeTargetEnded {
            stage: Stage::Merged,
            ..
        }
    ));
    let refusal = s.refusal(
        q,
        Event::PilotMerged(PilotMerged {
            into_pilot_id: Uuid::nil(),
            reason: "x".into(),
        }),
    );
    assert!(matches!(refusal, Refusal::UnknownMergeTarget { .. }));
    s.given(
        q,
        Event::PilotTerminated(PilotTerminated {
            reason: "no budget".into(),
        }),
    );
    assert_eq!(s.stage(q), Stage::Terminated);
}

#[test]
fn unknown_pilots_stakeholders_and_repeated_proposals_are_refused() {
    let mut s = Scenario::default();
    let ghost = Subject::Pilot(Uuid::from_u128(42));
    assert!(matches!(
        s.refusal(ghost, designed()),
        Refusal::UnknownPilot { .. }
    ));
    let p = s.pilot();
    assert!(matches!(
        s.refusal(p, proposed("again")),
        Refusal::PilotExists { .. }
    ));
    let nobody = Uuid::from_u128(7);
    assert!(matches!(
        s.refusal(p, contact(nobody, 1, pilot_events::Strategy::Framing)),
        Refusal::UnknownStakeholder {
            field: "data.stakeholder_id",
            ..
        }
    ));
    assert!(matches!(
        s.refusal(p, requested("a", nobody, Level::Municipal)),
        Refusal::UnknownStakeholder {
            field: "data.approver_id",
            ..
        }
    ));
}

#[test]
fn time_never_goes_backwards_within_a_pilot() {
    let mut s = Scenario::default();
    let p = s.pilot();
    s.at(datetime!(2000-06-01 09:00 +08:00))
        .given(p, designed());
    s.at(datetime!(2000-05-31 09:00 +08:00));
    let refusal = s.refusal(p, designed());
    assert_eq!(refusal.code(), "invalid_event");
    assert!(refusal.to_string().contains("occurred_at"), "{refusal}");
}

#[test]
fn an_event_that_does_not_follow_its_chain_is_refused() {
    let mut s = Scenario::default();
    let p = s.pilot();
    let mut envelope = s.envelope(p, designed());
    envelope = envelope.seal(pilot_events::Hash::of(b"somewhere else"));
    let error = s.feed(envelope).unwrap_err();
    assert!(matches!(
        error,
        pilot_projections::ProjectionError::Refused {
            refusal: Refusal::BrokenChain { .. },
            ..
        }
    ));
}

#[test]
fn a_batch_is_checked_as_if_applied_in_turn_and_changes_nothing() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = Subject::Pilot(Uuid::from_u128(0xabc));
    let proposal = s.envelope(p, proposed("batched"));
    // Seal the batch by hand: each event follows the previous one's hash.
    let design = s.envelope(p, designed()).seal(proposal.hash);
    let request = s
        .envelope(p, requested("launch", mayor, Level::Municipal))
        .seal(design.hash);
    s.world
        .check_batch(&[proposal.clone(), design.clone(), request.clone()])
        .unwrap();
    assert!(s.world.pilot(&p.id()).is_none(), "checking stores nothing");

    let started = s.envelope(p, started()).seal(design.hash);
    let (index, refusal) = s
        .world
        .check_batch(&[proposal.clone(), design.clone(), started])
        .unwrap_err();
    assert_eq!(index, 2);
    assert!(
        matches!(
            refusal,
            Refusal::WrongStage {
                stage: Stage::Design,
                ..
            }
        ),
        "{refusal}"
    );

    let unlinked = s.envelope(p, designed()).seal(pilot_events::Hash::ZERO);
    let (index, refusal) = s.world.check_batch(&[proposal, unlinked]).unwrap_err();
    assert_eq!(index, 1);
    assert!(matches!(refusal, Refusal::BrokenChain { .. }));
}
