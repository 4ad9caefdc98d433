//! PLACEHOLDER (helper C, issue 17): helper B owns this module (`POST
//! /api/v1/subjects/{id}/erase`, key destruction, cache forgetting). Only the signature the
//! design fixes is kept here so the retention loop ([`crate::retention`]) compiles and can be
//! tested; at the merge, B's file replaces this one as a whole.
//!
//! What this stand-in does: appends `subject.erased` through the writer, stamped with the
//! state's clock (so an erasure a retention rule makes is recorded at the rule's instant), and
//! answers 409 `already_erased` for a second erasure. It destroys no key.

use crate::error::ApiError;
use crate::state::AppState;
use pilot_events::data::SubjectErased;
use pilot_events::{Actor, Event, Subject};
use pilot_runtime::writer::{AppendError, Draft};
use uuid::Uuid;

/// What an erasure recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureDone {
    pub stakeholder_id: Uuid,
    /// The `subject.erased` event.
    pub event_id: Uuid,
    pub position: u64,
}

/// Records the erasure of person `subject` for `reason`, as `actor`.
pub async fn erase_subject(
    state: &AppState,
    subject: Uuid,
    reason: String,
    actor: Actor,
) -> Result<ErasureDone, ApiError> {
    let draft = Draft {
        event_id: None,
        subject: Subject::Stakeholder(subject),
        occurred_at: state.clock.now(),
        actor,
        correlation_id: None,
        causation_id: None,
        provenance: Default::default(),
        event: Event::SubjectErased(SubjectErased { reason }),
    };
    let stored = state
        .writer
        .append(vec![draft], None)
        .await
        .map_err(|error| match error {
            AppendError::Refused { refusal, .. } if refusal.code() == "already_erased" => {
                ApiError::conflict("already_erased", refusal.to_string())
            }
            AppendError::Refused { refusal, .. } => {
                ApiError::unprocessable(refusal.code(), refusal.to_string())
            }
            other => ApiError::internal(other.to_string()),
        })?;
    let last = stored
        .last()
        .ok_or_else(|| ApiError::internal("the writer stored nothing"))?;
    Ok(ErasureDone {
        stakeholder_id: subject,
        event_id: last.envelope.event_id,
        position: last.position,
    })
}
