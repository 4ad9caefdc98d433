//! Facts learned late (docs/research-record.md, "Facts learned late").
//!
//! An office often learns of a contact, a stance or a figure weeks after it happened. Such
//! facts may join a pilot's chain with an `occurred_at` earlier than the chain's latest event;
//! events that move the stage (or are judged against the chain's latest state) may not, so a
//! pilot's stage history is always in time order. [`stays_in_order`] is the one place that
//! says which is which; [`stage_at`] is the stage a late fact is judged against.

use crate::pilot::PilotState;
use pilot_events::{EventType, Stage};
use time::OffsetDateTime;

/// Whether an event of this type must not be dated before its chain's latest event.
///
/// True for stage moves (design, approvals, implementation, scale-up, merge, termination),
/// for an extension (judged against the stall instant of the approval as it stands now) and
/// for a retraction (it corrects the chain as recorded so far). False for facts that leave the
/// stage alone and may be learned late. The match names every type, so a new type must be
/// placed on one side or the other.
pub fn stays_in_order(event_type: EventType) -> bool {
    use EventType::*;
    match event_type {
        PilotProposed
        | ProgramDesigned
        | ApprovalRequested
        | ApprovalGranted
        | ApprovalDenied
        | ApprovalWithdrawn
        | ApprovalExtended
        | ImplementationStarted
        | PilotScaled
        | PilotMerged
        | PilotTerminated
        | EventRetracted
        | SubjectErased => true,
        ContactLogged | StanceAssessed | AllianceFormed | MetricRecorded | TargetSet
        | HighlightRecorded | PilotLinked | AdoptedElsewhere => false,
        // Not pilot-chain events; their chains have their own order rules (context and
        // tenures may be learned late, registrations come first).
        StakeholderRegistered | JurisdictionRegistered | ContextRecorded | TenureRecorded => false,
    }
}

/// The stage the pilot was in at `at`; `None` before it was proposed.
///
/// Events are ordered by (`occurred_at`, stream position), and a late fact always comes later
/// in the stream than the stage moves already on its chain, so a fact dated at the very instant
/// of a stage move comes after it: the stage is the one entered last at or before `at`. Stage
/// moves stay in order, so `stage_history` is sorted by `entered_at`.
pub fn stage_at(pilot: &PilotState, at: OffsetDateTime) -> Option<Stage> {
    let entered = pilot
        .stage_history
        .partition_point(|entry| entry.entered_at <= at);
    let entry = pilot.stage_history.get(entered.checked_sub(1)?)?;
    Some(entry.stage)
}
