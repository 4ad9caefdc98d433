//! Decisions: may this event join its chain, given what the chain holds?
//!
//! Refusals are typed and say what the pilot's stage is and what the event needs, so the API
//! can answer 422 with a message a clerk can act on. Two kinds of rules:
//! - chain rules ([`check_chain`]): stage moves, known approvals, order in time (stage moves in
//!   order, facts learned late judged by the stage at their date, [`crate::late`]); they depend
//!   on the pilot's own chain only and are re-run when a retraction refolds a chain;
//! - reference rules ([`check_references`]): the stakeholders and pilots an event names exist;
//!   checked once, when the event is first accepted.
//!
//! No rule here takes configuration: whether an event may join a chain follows from the log
//! alone (an extension is judged by the stall instant its request recorded, [`deadline`]), so
//! every process and every replay decides alike. Rules for new events only, which history
//! stored before them need not meet, are in [`crate::admit_new`].

use crate::late::{stage_at, stays_in_order};
use crate::pilot::PilotState;
use crate::stall::deadline;
use pilot_events::validate::check_order;
use pilot_events::{rfc3339, Envelope, Event, EventError, EventType, Stage};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

/// Why an event was refused. Each variant names what is wrong and what would be accepted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Refusal {
    #[error(transparent)]
    Invalid(#[from] EventError),

    #[error("pilot {pilot_id} does not exist: a pilot's chain starts with `pilot.proposed`")]
    UnknownPilot { pilot_id: Uuid },

    #[error(
        "pilot {pilot_id} already exists: `pilot.proposed` starts a new pilot; use a new pilot_id"
    )]
    PilotExists { pilot_id: Uuid },

    /// `stage` is the pilot's stage at the event's `occurred_at`: its stage now, unless the
    /// event is a fact learned late ([`crate::late`]).
    #[error("`{event_type}` needs a pilot in {needs}, but pilot {pilot_id} is in `{stage}` at the event's `occurred_at`", needs = stage_list(needs))]
    WrongStage {
        event_type: EventType,
        pilot_id: Uuid,
        stage: Stage,
        needs: Vec<Stage>,
    },

    #[error("approval `{approval_id}` is not pending on pilot {pilot_id} (pending: {pending}): request it with `approval.requested` first", pending = if pending.is_empty() { "none".to_string() } else { pending.join(", ") })]
    UnknownApproval {
        approval_id: String,
        pilot_id: Uuid,
        pending: Vec<String>,
    },

    #[error("approval `{approval_id}` is already pending on pilot {pilot_id}: decide or withdraw it before requesting it again")]
    ApprovalAlreadyPending { approval_id: String, pilot_id: Uuid },

    #[error("approval `{approval_id}` stalled at {}; an extension is allowed only before the approval stalls (this one is dated {})", rfc3339(*.due_at), rfc3339(*.at))]
    ApprovalStalled {
        approval_id: String,
        due_at: OffsetDateTime,
        at: OffsetDateTime,
    },

    #[error("field `{field}`: stakeholder {stakeholder_id} is not registered: record `stakeholder.registered` first")]
    UnknownStakeholder {
        field: &'static str,
        stakeholder_id: Uuid,
    },

    #[error("stakeholder {stakeholder_id} is already registered; registrations are not edited")]
    StakeholderExists { stakeholder_id: Uuid },

    #[error("jurisdiction {jurisdiction_id} is not registered: record `jurisdiction.registered` on its chain first")]
    UnknownJurisdiction { jurisdiction_id: Uuid },

    #[error("jurisdiction {jurisdiction_id} is already registered; registrations are not edited")]
    JurisdictionExists { jurisdiction_id: Uuid },

    #[error("field `data.name`: jurisdiction {jurisdiction_id} is already named {name:?}; pilots name their jurisdiction by name, so each name is registered once")]
    JurisdictionNameTaken { name: String, jurisdiction_id: Uuid },

    #[error("field `{field}`: event {event_id} is not a recorded `context.recorded` (or it was retracted): record the context on its jurisdiction's chain first")]
    UnknownContext { field: &'static str, event_id: Uuid },

    #[error("field `data.other_pilot_id`: pilot {pilot_id} does not exist")]
    UnknownLinkedPilot { pilot_id: Uuid },

    #[error("field `data.level`: the request names `{requested}`, but approver {approver_id} is registered at `{registered}`; an approval's stall threshold is its approver's level: send `\"level\": \"{registered}\"`")]
    ApproverLevelMismatch {
        approver_id: Uuid,
        requested: pilot_events::Level,
        registered: pilot_events::Level,
    },

    #[error("field `{field}`: the writer records {recorded} here, not {sent}; the stall record is filled by the writer: leave the field out")]
    StallRecordMismatch {
        field: &'static str,
        recorded: String,
        sent: String,
    },

    #[error("field `data.into_pilot_id`: pilot {into_pilot_id} does not exist")]
    UnknownMergeTarget { into_pilot_id: Uuid },

    #[error("field `data.into_pilot_id`: pilot {into_pilot_id} is `{stage}` and cannot absorb another pilot")]
    MergeTargetEnded { into_pilot_id: Uuid, stage: Stage },

    #[error("field `data.event_id`: event {event_id} is not in this chain; a retraction names an earlier event of its own pilot or stakeholder")]
    UnknownRetractionTarget { event_id: Uuid },

    #[error("field `data.event_id`: event {event_id} is already retracted")]
    AlreadyRetracted { event_id: Uuid },

    #[error("field `data.event_id`: event {event_id} is a `{event_type}`, which cannot be retracted: {why}")]
    NotRetractable {
        event_id: Uuid,
        event_type: EventType,
        why: &'static str,
    },

    #[error(
        "field `data.event_id`: retracting {event_id} would leave the chain invalid: {consequence}"
    )]
    RetractionBreaksChain { event_id: Uuid, consequence: String },

    #[error("field `prev_hash`: {found} does not follow the chain, whose last hash is {expected}")]
    BrokenChain { expected: String, found: String },

    #[error("stakeholder {stakeholder_id} is not registered as a person (`person: true`): only a person's personal data is sealed under a key of its own, so only a person can be erased")]
    NotAPerson { stakeholder_id: Uuid },

    #[error("stakeholder {stakeholder_id}'s personal data was already erased at {}: an erasure is final, there is nothing left to erase", rfc3339(*.at))]
    AlreadyErased {
        stakeholder_id: Uuid,
        at: OffsetDateTime,
    },

    /// Not the event's fault: a world restored from a checkpoint must load the pilot's chain
    /// before it can decide a retraction. The caller loads it and asks again.
    #[error("pilot {pilot_id}'s chain is not loaded; load it before deciding a retraction")]
    ChainNotLoaded { pilot_id: Uuid },
}

impl Refusal {
    /// A stable, machine-readable name for the refusal (API error codes, metrics labels).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Invalid(_) => "invalid_event",
            Refusal::UnknownPilot { .. } => "unknown_pilot",
            Refusal::PilotExists { .. } => "pilot_exists",
            Refusal::WrongStage { .. } => "wrong_stage",
            Refusal::UnknownApproval { .. } => "unknown_approval",
            Refusal::ApprovalAlreadyPending { .. } => "approval_already_pending",
            Refusal::ApprovalStalled { .. } => "approval_stalled",
            Refusal::ApproverLevelMismatch { .. } => "approver_level_mismatch",
            Refusal::StallRecordMismatch { .. } => "stall_record_mismatch",
            Refusal::UnknownStakeholder { .. } => "unknown_stakeholder",
            Refusal::StakeholderExists { .. } => "stakeholder_exists",
            Refusal::UnknownJurisdiction { .. } => "unknown_jurisdiction",
            Refusal::JurisdictionExists { .. } => "jurisdiction_exists",
            Refusal::JurisdictionNameTaken { .. } => "jurisdiction_name_taken",
            Refusal::UnknownContext { .. } => "unknown_context",
            Refusal::UnknownLinkedPilot { .. } => "unknown_linked_pilot",
            Refusal::UnknownMergeTarget { .. } => "unknown_merge_target",
            Refusal::MergeTargetEnded { .. } => "merge_target_ended",
            Refusal::UnknownRetractionTarget { .. } => "unknown_retraction_target",
            Refusal::AlreadyRetracted { .. } => "already_retracted",
            Refusal::NotRetractable { .. } => "not_retractable",
            Refusal::RetractionBreaksChain { .. } => "retraction_breaks_chain",
            Refusal::BrokenChain { .. } => "broken_chain",
            Refusal::ChainNotLoaded { .. } => "chain_not_loaded",
            Refusal::NotAPerson { .. } => "not_a_person",
            Refusal::AlreadyErased { .. } => "already_erased",
        }
    }
}

fn stage_list(stages: &[Stage]) -> String {
    let names: Vec<String> = stages.iter().map(|s| format!("`{s}`")).collect();
    names.join(" or ")
}

const ACTIVE: &[Stage] = &[
    Stage::Framing,
    Stage::Design,
    Stage::AwaitingApproval,
    Stage::Approved,
    Stage::Implementing,
    Stage::Scaled,
];
const REQUESTABLE: &[Stage] = &[
    Stage::Framing,
    Stage::Design,
    Stage::AwaitingApproval,
    Stage::Implementing,
    Stage::Scaled,
];
const RUNNING: &[Stage] = &[Stage::Implementing, Stage::Scaled];

/// The stages in which an event type is accepted; `None` for "any stage".
pub fn stages_needed(event_type: EventType) -> Option<&'static [Stage]> {
    use EventType::*;
    match event_type {
        ProgramDesigned => Some(&[Stage::Framing, Stage::Design]),
        ContactLogged | StanceAssessed | AllianceFormed | TargetSet | PilotMerged
        | PilotTerminated => Some(ACTIVE),
        ApprovalRequested => Some(REQUESTABLE),
        ApprovalGranted | ApprovalDenied | ApprovalWithdrawn | ApprovalExtended => Some(ACTIVE),
        ImplementationStarted => Some(&[Stage::Approved]),
        MetricRecorded | PilotScaled => Some(RUNNING),
        AdoptedElsewhere => Some(&[Stage::Implementing, Stage::Scaled, Stage::Merged]),
        // Honours often come after a program ended, and corrections are always possible.
        HighlightRecorded | EventRetracted | PilotLinked => None,
        // Not pilot-chain events: their own checks apply.
        PilotProposed
        | StakeholderRegistered
        | JurisdictionRegistered
        | ContextRecorded
        | TenureRecorded
        | SubjectErased => None,
    }
}

/// Chain rules for an event of an existing pilot (not `pilot.proposed`).
pub fn check_chain(pilot: &PilotState, envelope: &Envelope) -> Result<(), Refusal> {
    let pilot_id = pilot.pilot_id;
    if let Event::PilotProposed(_) = envelope.event {
        return Err(Refusal::PilotExists { pilot_id });
    }
    let event_type = envelope.event_type();
    let stage = judged_stage(pilot, envelope)?;
    if let Some(needs) = stages_needed(event_type) {
        if !needs.contains(&stage) {
            return Err(Refusal::WrongStage {
                event_type,
                pilot_id,
                stage,
                needs: needs.to_vec(),
            });
        }
    }
    let pending = |approval_id: &str| match pilot.pending_approvals.get(approval_id) {
        Some(p) => Ok(p),
        None => Err(Refusal::UnknownApproval {
            approval_id: approval_id.to_string(),
            pilot_id,
            pending: pilot.pending_approvals.keys().cloned().collect(),
        }),
    };
    match &envelope.event {
        Event::ApprovalRequested(d) if pilot.pending_approvals.contains_key(&d.approval_id) => {
            Err(Refusal::ApprovalAlreadyPending {
                approval_id: d.approval_id.clone(),
                pilot_id,
            })
        }
        Event::ApprovalGranted(d) => pending(&d.approval_id).map(drop),
        Event::ApprovalDenied(d) => pending(&d.approval_id).map(drop),
        Event::ApprovalWithdrawn(d) => pending(&d.approval_id).map(drop),
        Event::ApprovalExtended(d) => {
            let due_at = deadline(pending(&d.approval_id)?);
            if envelope.occurred_at >= due_at {
                return Err(Refusal::ApprovalStalled {
                    approval_id: d.approval_id.clone(),
                    due_at,
                    at: envelope.occurred_at,
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The stage an event is judged against: the pilot's stage now for an event that must stay
/// in order (refused if dated before the chain's latest event), the stage at its `occurred_at`
/// for a fact that may be learned late (refused if dated before the pilot's proposal).
fn judged_stage(pilot: &PilotState, envelope: &Envelope) -> Result<Stage, Refusal> {
    if stays_in_order(envelope.event_type()) {
        check_order(Some(pilot.last_activity), envelope)?;
        return Ok(pilot.stage);
    }
    stage_at(pilot, envelope.occurred_at).ok_or_else(|| {
        let proposed_at = pilot
            .stage_history
            .first()
            .map_or(pilot.last_activity, |entry| entry.entered_at);
        Refusal::Invalid(EventError::Field {
            field: "occurred_at".into(),
            message: format!(
                "{} is before pilot {} was proposed ({proposed_at}): a fact learned late may be dated before the chain's latest event, not before the pilot's proposal",
                envelope.occurred_at, pilot.pilot_id
            ),
        })
    })
}

/// What the rest of the world must hold for an event's references to be valid.
pub trait References {
    fn stakeholder_registered(&self, id: &Uuid) -> bool;
    fn pilot_stage(&self, id: &Uuid) -> Option<Stage>;
    /// Whether `event_id` is a live `context.recorded`.
    fn context_recorded(&self, event_id: &Uuid) -> bool;
}

/// Reference rules: named stakeholders are registered, a merge target exists and is active.
pub fn check_references(world: &impl References, envelope: &Envelope) -> Result<(), Refusal> {
    let registered = |field: &'static str, id: &Uuid| {
        if world.stakeholder_registered(id) {
            Ok(())
        } else {
            Err(Refusal::UnknownStakeholder {
                field,
                stakeholder_id: *id,
            })
        }
    };
    if let Some(missing) = envelope
        .provenance
        .context_ids
        .iter()
        .find(|id| !world.context_recorded(id))
    {
        return Err(Refusal::UnknownContext {
            field: "context_ids",
            event_id: *missing,
        });
    }
    let maybe =
        |field: &'static str, id: Option<&Uuid>| id.map_or(Ok(()), |id| registered(field, id));
    match &envelope.event {
        Event::ContactLogged(d) => {
            registered("data.stakeholder_id", &d.stakeholder_id)?;
            maybe("data.intermediary_id", d.intermediary_id.as_ref())?;
            maybe("data.made_by_id", d.made_by_id.as_ref())
        }
        Event::TargetSet(d) => maybe("data.set_by", d.set_by.as_ref()),
        Event::ContextRecorded(d) => maybe("data.issued_by", d.issued_by.as_ref()),
        Event::TenureRecorded(d) => registered("data.post_id", &d.post_id),
        Event::PilotLinked(d) => match world.pilot_stage(&d.other_pilot_id) {
            None => Err(Refusal::UnknownLinkedPilot {
                pilot_id: d.other_pilot_id,
            }),
            Some(_) => Ok(()),
        },
        Event::StanceAssessed(d) => registered("data.stakeholder_id", &d.stakeholder_id),
        Event::AllianceFormed(d) => {
            maybe("data.made_by_id", d.made_by_id.as_ref())?;
            d.stakeholder_ids
                .iter()
                .try_for_each(|id| registered("data.stakeholder_ids", id))
        }
        Event::ApprovalRequested(d) => registered("data.approver_id", &d.approver_id),
        Event::HighlightRecorded(d) => d
            .credited_to
            .iter()
            .try_for_each(|id| registered("data.credited_to", id)),
        Event::PilotMerged(d) => match world.pilot_stage(&d.into_pilot_id) {
            None => Err(Refusal::UnknownMergeTarget {
                into_pilot_id: d.into_pilot_id,
            }),
            Some(stage) if stage.is_terminal() => Err(Refusal::MergeTargetEnded {
                into_pilot_id: d.into_pilot_id,
                stage,
            }),
            Some(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_stalled_approval_names_its_instants_in_rfc_3339() {
        let refusal = Refusal::ApprovalStalled {
            approval_id: "budget".into(),
            due_at: datetime!(2027-11-05 10:00 +08:00),
            at: datetime!(2027-11-06 09:30 +08:00),
        };
        let text = refusal.to_string();
        assert!(
            text.contains("stalled at 2027-11-05T10:00:00+08:00;"),
            "{text}"
        );
        assert!(text.contains("dated 2027-11-06T09:30:00+08:00)"), "{text}");
    }
}
