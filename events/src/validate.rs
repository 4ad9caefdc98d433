//! Rules every single event must satisfy on its own, whatever its chain holds.
//!
//! Rules that need the chain (stage moves, known approvals, order in time) live in
//! `pilot-projections`' decisions; [`check_order`] is the one chain rule simple enough to
//! state here, because every reader of a chain needs it.

use crate::data::{CalendarBasis, CalendarSource, DayUnit, StallRecord, MAX_EXTRA_DAYS};
use crate::envelope::Envelope;
use crate::error::EventError;
use crate::event::Event;
use crate::vocabulary::{ContextKind, Precision};
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
                crate::rfc3339(envelope.occurred_at),
                crate::rfc3339(envelope.recorded_at)
            ),
        ));
    }
    envelope_schema_2(envelope)?;
    validate_data(envelope)
}

/// The schema-2 parts of the envelope: a precise period start, a whole source, context links
/// on pilot events only; and a schema-1 event carries none of what schema 2 added.
fn envelope_schema_2(envelope: &Envelope) -> Result<(), EventError> {
    if envelope.schema < 2 {
        if let Some(field) = schema_2_field(envelope) {
            return Err(EventError::field(
                field,
                format!(
                    "exists from schema 2 on, but this event says schema {}: write it as schema {}",
                    envelope.schema,
                    crate::CURRENT_SCHEMA
                ),
            ));
        }
    }
    let provenance = &envelope.provenance;
    if let Some(precision) = provenance.precision {
        period_start(envelope.occurred_at, precision)?;
    }
    if let Some(source) = &provenance.source {
        not_empty("source.citation", &source.citation)?;
        if let Some(url) = &source.url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(EventError::field(
                    "source.url",
                    "not a web address: give one starting with https:// (or http://), or leave it out",
                ));
            }
        }
        if let Some(page) = &source.page {
            not_empty("source.page", page)?;
        }
    }
    if !provenance.context_ids.is_empty() {
        if envelope.subject.pilot_id().is_none() {
            return Err(EventError::field(
                "context_ids",
                "only a pilot's events refer to context events: leave it out here",
            ));
        }
        distinct("context_ids", &provenance.context_ids)?;
    }
    Ok(())
}

/// The first field (by its wire path) of something schema 2 introduced, if the event has one.
fn schema_2_field(envelope: &Envelope) -> Option<&'static str> {
    use crate::vocabulary::{Channel, HighlightKind};
    let envelope_field = [
        (envelope.provenance.precision.is_some(), "precision"),
        (envelope.provenance.source.is_some(), "source"),
        (!envelope.provenance.context_ids.is_empty(), "context_ids"),
    ];
    let data_field = match &envelope.event {
        Event::ContactLogged(d) => [
            (d.made_by.is_some(), "data.made_by"),
            (d.made_by_id.is_some(), "data.made_by_id"),
            (d.intermediary_id.is_some(), "data.intermediary_id"),
            (
                matches!(
                    d.channel,
                    Channel::InformalAdvice | Channel::PersonalRelationship | Channel::Conference
                ),
                "data.channel",
            ),
        ]
        .to_vec(),
        Event::AllianceFormed(d) => vec![
            (d.made_by.is_some(), "data.made_by"),
            (d.made_by_id.is_some(), "data.made_by_id"),
        ],
        Event::TargetSet(d) => vec![
            (d.direction.is_some(), "data.direction"),
            (d.set_by.is_some(), "data.set_by"),
        ],
        Event::MetricRecorded(d) => vec![(d.qualifier.is_some(), "data.qualifier")],
        Event::ApprovalRequested(d) => vec![(
            d.stall.as_ref().is_some_and(|s| s.basis.is_some()),
            "data.stall.basis",
        )],
        Event::HighlightRecorded(d) => vec![
            (!d.credited_offices.is_empty(), "data.credited_offices"),
            (d.kind == HighlightKind::StaffIncrease, "data.kind"),
        ],
        _ => Vec::new(),
    };
    envelope_field
        .into_iter()
        .chain(data_field)
        .find_map(|(used, field)| used.then_some(field))
}

/// A vague date is stated as the first instant of its day, month or year, in the offset it is
/// written with (the jurisdiction's).
fn period_start(at: OffsetDateTime, precision: Precision) -> Result<(), EventError> {
    let midnight = at.time() == time::Time::MIDNIGHT;
    let (starts, period) = match precision {
        Precision::Day => (midnight, "day"),
        Precision::Month => (midnight && at.day() == 1, "month"),
        Precision::Year => (
            midnight && at.day() == 1 && at.month() == time::Month::January,
            "year",
        ),
    };
    if starts {
        return Ok(());
    }
    Err(EventError::field(
        "occurred_at",
        format!(
            "{} is not the first instant of its {period}: with precision `{precision}`, write the {period}'s start at 00:00 in the jurisdiction's offset (e.g. {})",
            crate::rfc3339(at),
            match precision {
                Precision::Year => "1992-01-01T00:00:00+08:00",
                Precision::Month => "2007-07-01T00:00:00+08:00",
                Precision::Day => "2007-07-12T00:00:00+08:00",
            }
        ),
    ))
}

/// A calendar basis says what its source needs: the jurisdiction for every choice made by it,
/// working days for a jurisdiction's calendar, and the calendar named for one not loaded.
fn calendar_basis(day_count: DayUnit, basis: &CalendarBasis) -> Result<(), EventError> {
    if let Some(name) = &basis.jurisdiction {
        not_empty("data.stall.basis.jurisdiction", name)?;
    }
    if let Some(name) = &basis.named_calendar {
        not_empty("data.stall.basis.named_calendar", name)?;
    }
    let needs_jurisdiction = basis.by != CalendarSource::Override;
    if needs_jurisdiction && basis.jurisdiction.is_none() {
        return Err(EventError::field(
            "data.stall.basis.jurisdiction",
            format!(
                "missing: a choice `{}` names the pilot's jurisdiction",
                basis.by.as_str()
            ),
        ));
    }
    if basis.by == CalendarSource::Jurisdiction && day_count != DayUnit::Working {
        return Err(EventError::field(
            "data.stall.basis.by",
            "`jurisdiction` chooses a jurisdiction's working-day calendar, but the days are calendar days",
        ));
    }
    match (basis.by, &basis.named_calendar) {
        (CalendarSource::CalendarNotLoaded, None) => Err(EventError::field(
            "data.stall.basis.named_calendar",
            "missing: say which calendar the jurisdiction names",
        )),
        (CalendarSource::CalendarNotLoaded, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(EventError::field(
            "data.stall.basis.named_calendar",
            "only for `calendar_not_loaded`: leave it out",
        )),
    }
}

/// A UTC offset as jurisdictions write it: `+HH:MM` or `-HH:MM`, within ±18 hours.
pub fn parse_utc_offset(text: &str) -> Option<time::UtcOffset> {
    let format = time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    time::UtcOffset::parse(text, &format)
        .ok()
        .filter(|offset| offset.whole_seconds().abs() <= 18 * 3600)
}

/// A stall record is whole: at least one day, and a calendar named exactly for working days.
fn stall_record(record: &StallRecord) -> Result<(), EventError> {
    if record.threshold_days == 0 {
        return Err(EventError::field(
            "data.stall.threshold_days",
            "0: a threshold is at least 1 day",
        ));
    }
    if let Some(basis) = &record.basis {
        calendar_basis(record.day_count, basis)?;
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
        Event::ContactLogged(d) => {
            made_by(d.made_by.as_deref(), d.made_by_id)?;
            if d.intermediary_id == Some(d.stakeholder_id) {
                return Err(EventError::field(
                    "data.intermediary_id",
                    "is the contacted stakeholder itself: name the third party the contact went through, or leave it out",
                ));
            }
            Ok(())
        }
        Event::StanceAssessed(_) => Ok(()),
        Event::AllianceFormed(d) => {
            if d.stakeholder_ids.is_empty() {
                return Err(EventError::field(
                    "data.stakeholder_ids",
                    "empty: an alliance names at least one stakeholder",
                ));
            }
            made_by(d.made_by.as_deref(), d.made_by_id)?;
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
        Event::SubjectErased(d) => not_empty("data.reason", &d.reason),
        Event::HighlightRecorded(d) => {
            not_empty("data.highlight_id", &d.highlight_id)?;
            not_empty("data.title", &d.title)?;
            not_empty("data.conferred_by", &d.conferred_by)?;
            distinct("data.credited_to", &d.credited_to)?;
            let mut offices = HashSet::with_capacity(d.credited_offices.len());
            for office in &d.credited_offices {
                not_empty("data.credited_offices", office)?;
                if !offices.insert(office) {
                    return Err(EventError::field(
                        "data.credited_offices",
                        format!("{office:?} is listed twice"),
                    ));
                }
            }
            Ok(())
        }
        Event::JurisdictionRegistered(d) => {
            not_empty("data.name", &d.name)?;
            if parse_utc_offset(&d.utc_offset).is_none() {
                return Err(EventError::field(
                    "data.utc_offset",
                    format!(
                        "{:?} is not a UTC offset: write it as +HH:MM or -HH:MM (e.g. +08:00)",
                        d.utc_offset
                    ),
                ));
            }
            d.calendar
                .as_deref()
                .map_or(Ok(()), |c| not_empty("data.calendar", c))
        }
        Event::ContextRecorded(d) => {
            not_empty("data.title", &d.title)?;
            let indicator = d.kind == ContextKind::Indicator;
            match (indicator, &d.metric, d.value) {
                (true, Some(metric), Some(value)) => {
                    not_empty("data.metric", metric)?;
                    finite("data.value", value)
                }
                (true, None, _) => Err(EventError::field(
                    "data.metric",
                    "missing: an indicator names its metric (e.g. migrant_share)",
                )),
                (true, _, None) => Err(EventError::field(
                    "data.value",
                    "missing: an indicator gives its value",
                )),
                (false, None, None) if d.unit.is_none() && d.qualifier.is_none() => Ok(()),
                (false, ..) => Err(EventError::field(
                    "data.kind",
                    format!("is `{}`, but metric, value, unit and qualifier belong to an `indicator`: use kind indicator or leave them out", d.kind),
                )),
            }
        }
        Event::TenureRecorded(d) => {
            if Some(d.post_id) == envelope.subject.stakeholder_id() {
                return Err(EventError::field(
                    "data.post_id",
                    "is this person's own id: name the post (a stakeholder such as \"Mayor of Nanguo\")",
                ));
            }
            match d.to {
                Some(to) if to < d.from => Err(EventError::field(
                    "data.to",
                    format!("{to} is before the tenure's start ({}): a tenure ends on or after its first day", d.from),
                )),
                _ => Ok(()),
            }
        }
        Event::PilotLinked(d) => {
            if Some(d.other_pilot_id) == envelope.subject.pilot_id() {
                return Err(EventError::field(
                    "data.other_pilot_id",
                    "is this pilot itself: name the other pilot",
                ));
            }
            Ok(())
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

/// `made_by`, when given, names someone; `made_by_id` comes only with the name it registers.
fn made_by(name: Option<&str>, id: Option<uuid::Uuid>) -> Result<(), EventError> {
    if id.is_some() && name.is_none() {
        return Err(EventError::field(
            "data.made_by_id",
            "names the person in the office but `made_by` is missing: give their name in `made_by` too",
        ));
    }
    name.map_or(Ok(()), |name| not_empty("data.made_by", name))
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
