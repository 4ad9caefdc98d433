//! Office boundaries: what a clerk's drafts may touch.
//!
//! A clerk acts only for their own office:
//! - as the events' actor (`actor.office`);
//! - on pilots that office proposed;
//! - retracting only events that office recorded (`data.event_id`);
//! - merging only into that office's pilots (`data.into_pilot_id`);
//! - on a stakeholder's registry chain only when that office registered the stakeholder;
//! - on any jurisdiction's chain (context is shared by every office that works there), but
//!   retracting there, as everywhere, only what its own office recorded.
//!
//! Admins act for anyone; analysts never write (the route refuses them first). Each refusal
//! is a 403 that names the field. The rules run before the writer takes the chain's lock.

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;
use pilot_events::{Event, Subject};
use pilot_runtime::writer::Draft;
use pilot_store::EventLog;
use uuid::Uuid;

/// Refuses drafts that reach outside the caller's office. `at(index)` is the prefix that
/// names draft `index` in a field path (`[2].` in an array, empty for one draft).
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    subject: Subject,
    drafts: &[Draft],
    at: impl Fn(usize) -> String,
) -> Result<(), ApiError> {
    if caller.role == Role::Admin {
        return Ok(());
    }
    let office = caller.office.as_deref().unwrap_or("no office");
    for (index, draft) in drafts.iter().enumerate() {
        if !caller.may_write_for(&draft.actor.office) {
            return Err(ApiError::forbidden(format!(
                "event {index} acts for office {:?}, but {} may append only for {office}",
                draft.actor.office, caller.name,
            ))
            .with_field(format!("{}actor.office", at(index))));
        }
    }
    match subject {
        Subject::Pilot(pilot_id) => {
            if let Some(owner) = pilot_office(state, &pilot_id) {
                if !caller.may_write_for(&owner) {
                    return Err(ApiError::forbidden(format!(
                        "pilot {pilot_id} belongs to office {owner:?}; {} may append only to pilots of {office}",
                        caller.name,
                    ))
                    .with_field(format!("{}pilot_id", at(0))));
                }
            }
        }
        Subject::Stakeholder(stakeholder_id) => {
            let registration = state
                .projection
                .read()
                .registry()
                .get(&stakeholder_id)
                .map(|stakeholder| stakeholder.event_id);
            if let Some(registration) = registration {
                if let Some(owner) = recording_office(state, &registration).await? {
                    if !caller.may_write_for(&owner) {
                        return Err(ApiError::forbidden(format!(
                            "stakeholder {stakeholder_id} was registered by office {owner:?}; {} may write only to stakeholders {office} registered",
                            caller.name,
                        ))
                        .with_field(format!("{}stakeholder_id", at(0))));
                    }
                }
            }
        }
        Subject::Jurisdiction(_) => {}
    }
    for (index, draft) in drafts.iter().enumerate() {
        match &draft.event {
            Event::EventRetracted(retraction) => {
                if let Some(owner) = recording_office(state, &retraction.event_id).await? {
                    if !caller.may_write_for(&owner) {
                        return Err(ApiError::forbidden(format!(
                            "event {} was recorded by office {owner:?}; {} may retract only events {office} recorded",
                            retraction.event_id, caller.name,
                        ))
                        .with_field(format!("{}data.event_id", at(index))));
                    }
                }
            }
            Event::PilotMerged(merge) => {
                if let Some(owner) = pilot_office(state, &merge.into_pilot_id) {
                    if !caller.may_write_for(&owner) {
                        return Err(ApiError::forbidden(format!(
                            "pilot {} belongs to office {owner:?}; {} may merge only into pilots of {office}",
                            merge.into_pilot_id, caller.name,
                        ))
                        .with_field(format!("{}data.into_pilot_id", at(index))));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The office that proposed a pilot, if the pilot exists (an unknown one is the rules' 422).
fn pilot_office(state: &AppState, pilot_id: &Uuid) -> Option<String> {
    state
        .projection
        .read()
        .pilot(pilot_id)
        .map(|record| record.state.office.clone())
}

/// The office that recorded a stored event (its `actor.office`), read from the log; `None`
/// when the event is not stored (the rules answer for an unknown target).
async fn recording_office(state: &AppState, event_id: &Uuid) -> Result<Option<String>, ApiError> {
    let Some(position) = state.projection.read().position_of(event_id) else {
        return Ok(None);
    };
    let stored = state
        .log
        .read_from(position, 1)
        .await
        .map_err(|error| ApiError::store_unavailable(error.to_string()))?;
    Ok(stored
        .into_iter()
        .find(|stored| stored.position == position)
        .and_then(|stored| pilot_events::decode(&stored.bytes).ok())
        .map(|envelope| envelope.actor.office))
}
