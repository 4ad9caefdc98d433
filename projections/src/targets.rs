//! Target outcomes (research-record.md, "Target outcomes").
//!
//! A target closes at the end of its due date in the pilot's jurisdiction's offset (UTC when the
//! jurisdiction is not registered): the first instant of the next day there. Before that it is
//! **open**. From then it is **met** if the latest value of its metric with `as_of` ≤ the due
//! date satisfies it (`at_least`: value ≥ target; `at_most`: value ≤ target), else **missed**,
//! with `difference` = value − target, or with no value at all. "Latest" is by (`occurred_at`,
//! chain order), the order every fold uses. A later target for the same metric supersedes an
//! earlier one from its own `occurred_at`; the earlier is still judged, at its own due date.

use crate::pilot::{MetricPoint, PilotState, Target};
use crate::world::World;
use pilot_events::{Direction, Qualifier};
use serde::Serialize;
use time::{Date, OffsetDateTime, Time, UtcOffset};
use uuid::Uuid;

/// Where a target stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Open,
    Met,
    Missed,
}

/// One target of the history with its outcome at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetOutcome {
    #[serde(flatten)]
    pub target: Target,
    pub outcome: Outcome,
    /// When the target is judged: the end of its due date in the jurisdiction's offset.
    #[serde(with = "time::serde::rfc3339")]
    pub closes_at: OffsetDateTime,
    /// The later target for the same metric that replaced this one, once it had been set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<Uuid>,
    /// The value judged (met or missed); `None` while open or when missed with no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The judged value's qualifier ("≥ 6,000,000" is `at_least`); the value is used as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<Qualifier>,
    /// The date the judged value describes.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::pilot::date::option"
    )]
    pub value_as_of: Option<Date>,
    /// value − target, on a missed target with a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<f64>,
}

/// The first instant after `due` in `offset` (or the day's last instant for the last date).
pub fn closes_at(due: Date, offset: UtcOffset) -> OffsetDateTime {
    match due.next_day() {
        Some(next) => next.midnight().assume_offset(offset),
        None => due.with_time(Time::MAX).assume_offset(offset),
    }
}

/// Every target the pilot had set by `at` (`set_at` ≤ `at`), in (`set_at`, chain order), with
/// its outcome at `at`. Values count if they had occurred by `at`.
pub fn outcomes(pilot: &PilotState, offset: UtcOffset, at: OffsetDateTime) -> Vec<TargetOutcome> {
    let mut set: Vec<&Target> = pilot
        .target_history
        .iter()
        .filter(|t| t.set_at <= at)
        .collect();
    // Stable: equal `set_at` keep chain order.
    set.sort_by_key(|t| t.set_at);
    set.iter()
        .enumerate()
        .map(|(i, target)| {
            let superseded_by = set[i + 1..]
                .iter()
                .find(|later| later.metric == target.metric)
                .map(|later| later.event_id);
            judge(pilot, target, offset, at, superseded_by)
        })
        .collect()
}

fn judge(
    pilot: &PilotState,
    target: &Target,
    offset: UtcOffset,
    at: OffsetDateTime,
    superseded_by: Option<Uuid>,
) -> TargetOutcome {
    let closes_at = closes_at(target.due, offset);
    let mut outcome = TargetOutcome {
        target: target.clone(),
        outcome: Outcome::Open,
        closes_at,
        superseded_by,
        value: None,
        qualifier: None,
        value_as_of: None,
        difference: None,
    };
    if at < closes_at {
        return outcome;
    }
    let Some(point) = value_by_due(pilot, target, at) else {
        outcome.outcome = Outcome::Missed;
        return outcome;
    };
    let met = match target.direction {
        Direction::AtLeast => point.value >= target.target,
        Direction::AtMost => point.value <= target.target,
    };
    outcome.value = Some(point.value);
    outcome.qualifier = Some(point.qualifier);
    outcome.value_as_of = Some(point.as_of);
    if met {
        outcome.outcome = Outcome::Met;
    } else {
        outcome.outcome = Outcome::Missed;
        outcome.difference = Some(point.value - target.target);
    }
    outcome
}

/// The latest value (by `occurred_at`, then chain order) describing the due date or earlier,
/// among those that had occurred by `at`.
fn value_by_due<'a>(
    pilot: &'a PilotState,
    target: &Target,
    at: OffsetDateTime,
) -> Option<&'a MetricPoint> {
    pilot
        .metrics
        .get(&target.metric)?
        .iter()
        .filter(|p| p.as_of <= target.due && p.recorded_for <= at)
        // `max_by_key` keeps the last of equal keys: the later in chain order.
        .max_by_key(|p| p.recorded_for)
}

impl World {
    /// The offset a pilot's due dates end in: its registered jurisdiction's (by the name its
    /// `pilot.proposed` gives), UTC when none is registered under that name.
    pub fn offset_of(&self, pilot: &PilotState) -> UtcOffset {
        self.jurisdictions()
            .named(&pilot.jurisdiction)
            .map_or(UtcOffset::UTC, |j| j.offset())
    }

    /// The pilot's target outcomes at `at` (e.g. a service's clock), or `None` for an unknown
    /// pilot.
    pub fn target_outcomes(
        &self,
        pilot_id: &Uuid,
        at: OffsetDateTime,
    ) -> Option<Vec<TargetOutcome>> {
        let pilot = &self.pilot(pilot_id)?.state;
        Some(outcomes(pilot, self.offset_of(pilot), at))
    }
}
