//! Rules every single event must satisfy on its own, whatever its chain holds.
//!
//! Rules that need the chain (stage moves, known approvals, order in time) live in
//! `pilot-projections`' decisions; [`check_order`] is the one chain rule simple enough to
//! state here, because every reader of a chain needs it.

use crate::data::{DayUnit, StallRecord, MAX_EXTRA_DAYS};
use crate::envelope::Envelope;
use crate::error::EventError;
use crate::event::Event;
use std::collections::HashSet;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How far a writer's clock may run ahead of the store's before `occurred_at` counts as future.
pub const CLOCK_SKEW_ALLOWED: Duration = Duration::minutes(5);

/// Checks one event on its own: required text present, numbers finite and in range, ids sane.
pub fn validate(envelope: &Envelope) -> Result<(), EventError> {
    not_empty("actor.office", &envelope.actor.office)?;
    not_empty("actor.user", &envelope.actor.user)?;
    if envelope.occurred_at > envelope.recorded_at + CLOCK_SKEW_ALLOWED {
        return Err(EventError::field(
            "occurred_at",
            format!(
                "{} is after the event was recorded ({}): events record what has happened, not plans",
                envelope.occurred_at, envelope.recorded_at
            ),
        ));
    }
    validate_data(envelope)
}

/// A stall record is whole: at least one day, and a calendar named exactly for working days.
fn stall_record(record: &StallRecord) -> Result<(), EventError> {
    if record.threshold_days == 0 {
        return Err(EventError::field(
            "data.stall.threshold_days",
            "0: a threshold is at least 1 day",
        ));
    }
    match (record.day_count, &record.calendar) {
        (DayUnit::Calendar, None) => Ok(()),
        (DayUnit::Working, Some(name)) => not_empty("data.stall.calendar", name),
        (DayUnit::Calendar, Some(_)) => Err(EventError::field(
            "data.stall.calendar",
            "names a calendar, but the days are calendar days: leave it out",
        )),
        (DayUnit::Working, None) => Err(EventError::field(
            "data.stall.calendar",
            "missing: working days are counted in a named calendar",
        )),
    }
}

fn validate_data(envelope: &Envelope) -> Result<(), EventError> {
    match &envelope.event {
        Event::PilotProposed(d) => {
            not_empty("data.title", &d.title)?;
            not_empty("data.jurisdiction", &d.jurisdiction)?;
            not_empty("data.policy_area", &d.policy_area)
        }
        Event::ProgramDesigned(d) => not_empty("data.summary", &d.summary),
        Event::StakeholderRegistered(d) => not_empty("data.name", &d.name),
        Event::ContactLogged(_) | Event::StanceAssessed(_) => Ok(()),
        Event::AllianceFormed(d) => {
            if d.stakeholder_ids.is_empty() {
                return Err(EventError::field(
                    "data.stakeholder_ids",
                    "empty: an alliance names at least one stakeholder",
                ));
            }
            distinct("data.stakeholder_ids", &d.stakeholder_ids)
        }
        Event::ApprovalRequested(d) => {
            not_empty("data.approval_id", &d.approval_id)?;
            d.stall.as_ref().map_or(Ok(()), stall_record)
        }
        Event::ApprovalGranted(d) => not_empty("data.approval_id", &d.approval_id),
        Event::ApprovalDenied(d) => {
            not_empty("data.approval_id", &d.approval_id)?;
            not_empty("data.reason", &d.reason)
        }
        Event::ApprovalWithdrawn(d) => {
            not_empty("data.approval_id", &d.approval_id)?;
            not_empty("data.reason", &d.reason)
        }
        Event::ApprovalExtended(d) => {
            not_empty("data.approval_id", &d.approval_id)?;
            not_empty("data.reason", &d.reason)?;
            if d.extra_days == 0 || d.extra_days > MAX_EXTRA_DAYS {
                return Err(EventError::field(
                    "data.extra_days",
                    format!("{} is outside 1..{MAX_EXTRA_DAYS} days", d.extra_days),
                ));
            }
            Ok(())
        }
        Event::ImplementationStarted(d) => not_empty("data.scope", &d.scope),
        Event::TargetSet(d) => {
            not_empty("data.metric", &d.metric)?;
            finite("data.target", d.target)?;
            if d.target <= 0.0 {
                return Err(EventError::field(
                    "data.target",
                    format!(
                        "{} is not above zero: a target is a positive amount",
                        d.target
                    ),
                ));
            }
            Ok(())
        }
        Event::MetricRecorded(d) => {
            not_empty("data.metric", &d.metric)?;
            finite("data.value", d.value)
        }
        Event::PilotScaled(d) => not_empty("data.scope", &d.scope),
        Event::AdoptedElsewhere(d) => not_empty("data.jurisdiction", &d.jurisdiction),
        Event::PilotMerged(d) => {
            if Some(d.into_pilot_id) == envelope.subject.pilot_id() {
                return Err(EventError::field(
                    "data.into_pilot_id",
                    "a pilot cannot be merged into itself: name the pilot that absorbs it",
                ));
            }
            Ok(())
        }
        Event::PilotTerminated(d) => not_empty("data.reason", &d.reason),
        Event::HighlightRecorded(d) => {
            not_empty("data.highlight_id", &d.highlight_id)?;
            not_empty("data.title", &d.title)?;
            not_empty("data.conferred_by", &d.conferred_by)?;
            distinct("data.credited_to", &d.credited_to)
        }
        Event::EventRetracted(d) => {
            not_empty("data.reason", &d.reason)?;
            if d.event_id == envelope.event_id {
                return Err(EventError::field(
                    "data.event_id",
                    "an event cannot retract itself: name an earlier event of the same chain",
                ));
            }
            Ok(())
        }
    }
}

/// Within one chain, `occurred_at` never goes backwards.
pub fn check_order(
    previous: Option<OffsetDateTime>,
    envelope: &Envelope,
) -> Result<(), EventError> {
    match previous {
        Some(previous) if envelope.occurred_at < previous => Err(EventError::field(
            "occurred_at",
            format!(
                "{} is before the previous event of this chain ({previous}): within a pilot time never goes backwards; log a correction with `event.retracted` instead",
                envelope.occurred_at
            ),
        )),
        _ => Ok(()),
    }
}

fn not_empty(field: &str, text: &str) -> Result<(), EventError> {
    if text.trim().is_empty() {
        Err(EventError::field(field, "empty: give a non-blank text"))
    } else {
        Ok(())
    }
}

fn finite(field: &str, value: f64) -> Result<(), EventError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(EventError::field(
            field,
            format!("{value} is not a finite number"),
        ))
    }
}

fn distinct(field: &str, ids: &[Uuid]) -> Result<(), EventError> {
    let mut seen = HashSet::with_capacity(ids.len());
    match ids.iter().find(|id| !seen.insert(**id)) {
        Some(id) => Err(EventError::field(field, format!("{id} is listed twice"))),
        None => Ok(()),
    }
}
