//! What the alert book hands out: notices (one transition with everything a receiver needs to
//! act), views of one alert, and counts per state. Plain data, serializable.

use crate::alert::{Acknowledgement, Alert, AlertState, Silence, Transition};
use crate::alerting::UserAction;
use crate::stall::{schedule, DayCount, PendingApproval, StallRules};
use pilot_events::data::{CalendarBasis, CalendarSource};
use pilot_events::Level;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One transition of one alert, with what its receiver needs to act without looking anything
/// up. Sent to people when `transition.notify`; recorded either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertNotice {
    pub alert_id: Uuid,
    pub pilot_id: Uuid,
    pub pilot_title: String,
    pub approval_id: String,
    /// The `approval.requested` event; equal to `alert_id` except for a successor alert.
    pub request_event_id: Uuid,
    pub approver_id: Uuid,
    /// The approver's registered name (best a post, "Mayor of Nanguo").
    pub approver_name: Option<String>,
    /// The approver's level, which sets the threshold.
    pub level: Level,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// From the request to the transition's instant.
    pub waited_seconds: i64,
    /// The same wait in whole days of the threshold's unit.
    pub waited_days: u64,
    pub threshold: Threshold,
    /// `occurred_at` of the pilot's latest event when the notice was made.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity: OffsetDateTime,
    /// What happened, when (`at`), and whether to send it (`notify`).
    pub transition: Transition,
}

/// How many days an approval may wait before it stalls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Threshold {
    /// The level's threshold plus extensions.
    pub days: u64,
    /// Of which extensions.
    pub extra_days: u32,
    pub unit: DayUnit,
    /// The working-day calendar's name, for `working_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// Why the days are counted so, as its request recorded it (`data.stall.basis`): the
    /// pilot's override, its jurisdiction's calendar, or the default and why. Left out for a
    /// request that recorded none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<CalendarBasis>,
    /// The unit and why, in words, for people reading a notice: "working days of calendar
    /// nanguo (jurisdiction Nanguo)", "calendar days (default calendar: jurisdiction Beiguo
    /// names none)". Built from the fields above, never from configuration.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub counted_in: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// Named apart from the wire format's `DayUnit` (a stall record's `day_count`) in the document.
#[cfg_attr(feature = "openapi", schema(as = ThresholdDayUnit))]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    CalendarDays,
    WorkingDays,
}

/// One alert as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertView {
    pub alert_id: Uuid,
    pub pilot_id: Uuid,
    pub pilot_title: String,
    /// The wait: approval id, request event, approver, level, requested_at, extra_days.
    pub approval: PendingApproval,
    pub approver_name: Option<String>,
    /// Flattened: `"state": "firing", "since": ..., "escalation_level": 2`, or
    /// `"state": "resolved", "at": ..., "reason": "granted", "waited": ...`.
    #[serde(flatten)]
    pub state: AlertState,
    pub acknowledged: Option<Acknowledgement>,
    pub silences: Vec<Silence>,
    /// Who acknowledged or silenced it, when and why.
    pub actions: Vec<UserAction>,
    pub threshold: Threshold,
    /// When its next transition falls due; none once resolved.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_due: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity: OffsetDateTime,
}

/// An alert's state without its details, for filters and counts. `Pending` is an alert whose
/// warning an extension cleared: a wait that never reached its warning is no alert, so it has
/// no state here and is counted nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    Pending,
    Warning,
    Firing,
    Resolved,
}

impl StateKind {
    pub const ALL: [StateKind; 4] = [
        StateKind::Pending,
        StateKind::Warning,
        StateKind::Firing,
        StateKind::Resolved,
    ];

    pub fn of(state: &AlertState) -> StateKind {
        match state {
            AlertState::Pending => StateKind::Pending,
            AlertState::Warning { .. } => StateKind::Warning,
            AlertState::Firing { .. } => StateKind::Firing,
            AlertState::Resolved { .. } => StateKind::Resolved,
        }
    }

    /// The wire name (`firing`), e.g. for a `?state=` filter.
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Pending => "pending",
            StateKind::Warning => "warning",
            StateKind::Firing => "firing",
            StateKind::Resolved => "resolved",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<StateKind> {
        StateKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Alerts per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateCounts {
    pub pending: u64,
    pub warning: u64,
    pub firing: u64,
    pub resolved: u64,
}

impl StateCounts {
    pub fn get(&self, kind: StateKind) -> u64 {
        match kind {
            StateKind::Pending => self.pending,
            StateKind::Warning => self.warning,
            StateKind::Firing => self.firing,
            StateKind::Resolved => self.resolved,
        }
    }

    /// Open alerts: pending (warning cleared), warning or firing.
    pub fn open(&self) -> u64 {
        self.pending + self.warning + self.firing
    }

    fn slot(&mut self, kind: StateKind) -> &mut u64 {
        match kind {
            StateKind::Pending => &mut self.pending,
            StateKind::Warning => &mut self.warning,
            StateKind::Firing => &mut self.firing,
            StateKind::Resolved => &mut self.resolved,
        }
    }

    pub(crate) fn add(&mut self, kind: StateKind) {
        *self.slot(kind) += 1;
    }

    /// One alert moved from `before` to `after`; `None` is "not counted" (a wait that is no
    /// alert yet, or none at all).
    pub(crate) fn shift(&mut self, before: Option<StateKind>, after: Option<StateKind>) {
        if let Some(before) = before {
            let slot = self.slot(before);
            *slot = slot.saturating_sub(1);
        }
        if let Some(after) = after {
            self.add(after);
        }
    }
}

/// The unit thresholds are counted in, for notices and views.
fn day_unit(day_count: &DayCount) -> (DayUnit, Option<String>) {
    match day_count {
        DayCount::Calendar => (DayUnit::CalendarDays, None),
        DayCount::Working(calendar) => (DayUnit::WorkingDays, Some(calendar.name().to_string())),
    }
}

impl Threshold {
    /// The threshold of `approval` under `rules`, extensions included.
    pub fn of(approval: &PendingApproval, rules: &StallRules) -> Threshold {
        // The record's unit and calendar name, even where these rules do not know that
        // calendar: a notice says what the log recorded.
        let (unit, calendar) = match approval.stall.as_ref() {
            Some(record) if record.day_count == pilot_events::data::DayUnit::Working => {
                (DayUnit::WorkingDays, record.calendar.clone())
            }
            Some(_) => (DayUnit::CalendarDays, None),
            None => day_unit(rules.day_count()),
        };
        let basis = approval.stall.as_ref().and_then(|r| r.basis.clone());
        let counted_in = counted_in(unit, calendar.as_deref(), basis.as_ref());
        Threshold {
            days: schedule(approval, rules).threshold_days,
            extra_days: approval.extra_days,
            unit,
            calendar,
            basis,
            counted_in,
        }
    }
}

/// The words of [`Threshold::counted_in`]: the unit, then why in parentheses when the request
/// recorded why.
pub fn counted_in(unit: DayUnit, calendar: Option<&str>, basis: Option<&CalendarBasis>) -> String {
    let days = match (unit, calendar) {
        (DayUnit::WorkingDays, Some(name)) => format!("working days of calendar {name}"),
        (DayUnit::WorkingDays, None) => "working days".to_string(),
        (DayUnit::CalendarDays, _) => "calendar days".to_string(),
    };
    let Some(basis) = basis else {
        return days;
    };
    let place = basis.jurisdiction.as_deref().unwrap_or("?");
    let why = match basis.by {
        CalendarSource::Override => "the pilot's override in the alert rules".to_string(),
        CalendarSource::Jurisdiction => format!("jurisdiction {place}"),
        CalendarSource::JurisdictionNamesNone => {
            format!("default calendar: jurisdiction {place} names none")
        }
        CalendarSource::JurisdictionNotRegistered => {
            format!("default calendar: jurisdiction {place} is not registered")
        }
        CalendarSource::CalendarNotLoaded => format!(
            "default calendar: jurisdiction {place} names calendar {}, which the alert rules do not load",
            basis.named_calendar.as_deref().unwrap_or("?")
        ),
    };
    format!("{days} ({why})")
}

impl AlertNotice {
    pub(super) fn new(
        alert: &Alert,
        approver_name: Option<&str>,
        pilot: Option<(&str, OffsetDateTime)>,
        rules: &StallRules,
        transition: Transition,
    ) -> AlertNotice {
        let approval = alert.approval();
        let waited = transition.at - approval.requested_at;
        AlertNotice {
            alert_id: alert.alert_id(),
            pilot_id: alert.pilot_id(),
            pilot_title: pilot
                .map(|(title, _)| title.to_string())
                .unwrap_or_default(),
            approval_id: approval.approval_id.clone(),
            request_event_id: approval.request_event_id,
            approver_id: approval.approver_id,
            approver_name: approver_name.map(str::to_string),
            level: approval.level,
            requested_at: approval.requested_at,
            waited_seconds: waited.whole_seconds().max(0),
            waited_days: crate::stall::day_count_for(approval, rules)
                .days_elapsed(approval.requested_at, transition.at),
            threshold: Threshold::of(approval, rules),
            last_activity: pilot.map_or(approval.requested_at, |(_, at)| at),
            transition,
        }
    }
}
