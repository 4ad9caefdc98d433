//! The approval gate across pilots: how long from proposal to approval, how long each
//! approver took to decide, and how often approvals stalled, per approver level and approver.
//!
//! Everything is read from the pilots' current state (`stage_history`, `decided_approvals`,
//! `pending_approvals`), which already leaves retracted events out, and cut at `as_of` by the
//! instants it keeps; no chain is decoded. That cut is exact: stage moves are in `occurred_at`
//! order, so the entries up to `as_of` are those a fold up to `as_of` would make, and an
//! approval decided after `as_of` was pending at `as_of`.

use super::summary::{days_between, Grouped, Groups, Summary};
use crate::pilot::{ApprovalOutcome, PilotState};
use crate::stall::{deadline, PendingApproval};
use pilot_events::Stage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// Decisions of one group: the days from request to decision and how they ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decisions {
    #[serde(flatten)]
    pub days: Summary,
    pub granted: usize,
    pub denied: usize,
    pub withdrawn: usize,
}

/// Stalls of one group: of the approvals requested, how many waited past their deadline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StallRate {
    /// Approvals requested by `as_of`, decided or not.
    pub requested: usize,
    /// Of those, the ones that waited past their deadline (decided late, or still waiting).
    pub stalled: usize,
    /// Of the stalled, the ones still pending at `as_of`.
    pub stalled_pending: usize,
    /// `stalled / requested`; null when nothing was requested.
    pub rate: Option<f64>,
}

/// When the pilot first entered `stage`, if it did by `as_of`.
pub(crate) fn first_entry(
    pilot: &PilotState,
    stage: Stage,
    as_of: OffsetDateTime,
) -> Option<(usize, OffsetDateTime)> {
    pilot
        .stage_history
        .iter()
        .enumerate()
        .take_while(|(_, e)| e.entered_at <= as_of)
        .find(|(_, e)| e.stage == stage)
        .map(|(index, e)| (index, e.entered_at))
}

/// The approvals that opened the gate: granted ones of the round that ended in `approved`,
/// i.e. requested from the round's start (the last entry into `awaiting_approval` before the
/// approval) and granted by the approval. A grant from an earlier round that was then denied
/// elsewhere did not open the gate, and is not counted.
pub(crate) fn gate_grants(
    pilot: &PilotState,
    approved_index: usize,
    approved_at: OffsetDateTime,
) -> impl Iterator<Item = &PendingApproval> {
    let round_start = pilot.stage_history[..approved_index]
        .iter()
        .rev()
        .find(|e| e.stage == Stage::AwaitingApproval)
        .map_or(approved_at, |e| e.entered_at);
    pilot
        .decided_approvals
        .iter()
        .filter(move |d| {
            d.outcome == ApprovalOutcome::Granted
                && d.approval.requested_at >= round_start
                && d.decided_at <= approved_at
        })
        .map(|d| &d.approval)
}

/// Days from proposal to approval, grouped by the level and the approver of the approvals
/// that opened the gate. A pilot counts once overall and once in each group of its gate
/// approvals (two approvers: once for each).
#[derive(Debug, Default)]
pub(crate) struct ProposalToApproval(Groups<Vec<f64>>);

impl ProposalToApproval {
    /// Adds `pilot`'s figure, returning its days when it was approved by `as_of`.
    pub(crate) fn add(
        &mut self,
        pilot: &PilotState,
        proposed_at: OffsetDateTime,
        as_of: OffsetDateTime,
    ) -> Option<f64> {
        let (index, approved_at) = first_entry(pilot, Stage::Approved, as_of)?;
        let days = days_between(proposed_at, approved_at);
        self.0.overall.push(days);
        let grants: Vec<&PendingApproval> = gate_grants(pilot, index, approved_at).collect();
        let levels: BTreeSet<_> = grants.iter().map(|a| a.level).collect();
        let approvers: BTreeSet<_> = grants.iter().map(|a| a.approver_id).collect();
        for level in levels {
            self.0.level(level).push(days);
        }
        for approver in approvers {
            self.0.approver(approver).push(days);
        }
        Some(days)
    }

    pub(crate) fn finish(self, name: impl Fn(&Uuid) -> Option<String>) -> Grouped<Summary> {
        self.0.finish(|days| Summary::of(&days), name)
    }
}

#[derive(Debug, Default)]
pub(crate) struct DecisionAcc {
    days: Vec<f64>,
    granted: usize,
    denied: usize,
    withdrawn: usize,
}

impl DecisionAcc {
    fn add(&mut self, days: f64, outcome: ApprovalOutcome) {
        self.days.push(days);
        match outcome {
            ApprovalOutcome::Granted => self.granted += 1,
            ApprovalOutcome::Denied => self.denied += 1,
            ApprovalOutcome::Withdrawn => self.withdrawn += 1,
            ApprovalOutcome::PilotEnded => {}
        }
    }

    fn finish(self) -> Decisions {
        Decisions {
            days: Summary::of(&self.days),
            granted: self.granted,
            denied: self.denied,
            withdrawn: self.withdrawn,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct StallAcc {
    requested: usize,
    stalled: usize,
    stalled_pending: usize,
}

impl StallAcc {
    fn add(&mut self, stalled: bool, pending: bool) {
        self.requested += 1;
        if stalled {
            self.stalled += 1;
            if pending {
                self.stalled_pending += 1;
            }
        }
    }

    fn finish(self) -> StallRate {
        StallRate {
            requested: self.requested,
            stalled: self.stalled,
            stalled_pending: self.stalled_pending,
            rate: (self.requested > 0).then(|| self.stalled as f64 / self.requested as f64),
        }
    }
}

/// Request → decision and stall rates, gathered over every approval of every pilot.
#[derive(Debug, Default)]
pub(crate) struct Approvals {
    decisions: Groups<DecisionAcc>,
    stalls: Groups<StallAcc>,
}

impl Approvals {
    /// Adds every approval of `pilot` requested by `as_of`.
    ///
    /// - A decision (granted, denied, withdrawn) dated by `as_of` adds its wait to request →
    ///   decision; an approval ended by its pilot's merge or termination was never decided and
    ///   is left out there.
    /// - Every approval requested by `as_of` counts for stall rates: it stalled if it was still
    ///   waiting at its [`deadline`] (the instant the log recorded, or schema 1's terms): when
    ///   decided by `as_of`, if the decision came at or after the deadline; otherwise if
    ///   `as_of` is at or after it (the moment an alert would fire). The deadline includes
    ///   extensions recorded after `as_of`, which changes nothing: an extension is accepted
    ///   only before the deadline it moves, so one after `as_of` means the approval had not
    ///   stalled at `as_of` either way.
    pub(crate) fn add(&mut self, pilot: &PilotState, as_of: OffsetDateTime) {
        let decided = pilot
            .decided_approvals
            .iter()
            .map(|d| (&d.approval, Some((d.decided_at, d.outcome))));
        let pending = pilot.pending_approvals.values().map(|a| (a, None));
        for (approval, decision) in decided.chain(pending) {
            if approval.requested_at > as_of {
                continue;
            }
            let decision = decision.filter(|(at, _)| *at <= as_of);
            if let Some((decided_at, outcome)) = decision {
                if outcome != ApprovalOutcome::PilotEnded {
                    let days = days_between(approval.requested_at, decided_at);
                    self.decisions.overall.add(days, outcome);
                    self.decisions.level(approval.level).add(days, outcome);
                    self.decisions
                        .approver(approval.approver_id)
                        .add(days, outcome);
                }
            }
            let waited_until = decision.map_or(as_of, |(at, _)| at);
            let stalled = waited_until >= deadline(approval);
            let still_pending = decision.is_none();
            self.stalls.overall.add(stalled, still_pending);
            self.stalls
                .level(approval.level)
                .add(stalled, still_pending);
            self.stalls
                .approver(approval.approver_id)
                .add(stalled, still_pending);
        }
    }

    pub(crate) fn finish(
        self,
        name: impl Fn(&Uuid) -> Option<String> + Copy,
    ) -> (Grouped<Decisions>, Grouped<StallRate>) {
        (
            self.decisions.finish(DecisionAcc::finish, name),
            self.stalls.finish(StallAcc::finish, name),
        )
    }
}
