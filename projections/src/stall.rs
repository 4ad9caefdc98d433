//! When a pending approval warns, stalls and escalates (docs/domain.md, "Stalled approvals and alerts").
//!
//! Everything here is a function of the approval, the rules and a clock value passed in; nothing
//! reads the wall clock, so replaying history with a simulated clock gives the same answers.
//!
//! Rules file shape (every key optional; defaults shown):
//!
//! ```json
//! {
//!   "thresholds": {"county": 30, "municipal": 30, "provincial": 60, "national": 90},
//!   "warning_share": 0.8,
//!   "day_count": "calendar"
//! }
//! ```
//!
//! or, counting working days, `"day_count": {"working": { ...a calendar, see [`crate::calendar`]... }}`.

use crate::calendar::{days_duration, WorkCalendar};
use pilot_events::data::{DayUnit, StallRecord, SCHEMA_1_STALL};
use pilot_events::Level;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Tolerance when flooring `share × N` working days, so that 0.7 × 90 is 63 and not 62: in binary
/// floats it is 62.99999999999999.
const FLOOR_EPSILON: f64 = 1e-9;

const SECONDS_PER_DAY: u64 = 86_400;

/// How threshold days are counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// Days of exactly 24 hours from the instant of the request.
    #[default]
    Calendar,
    /// Working days of a jurisdiction's calendar, ending at the request's local time of day.
    Working(WorkCalendar),
}

impl DayCount {
    /// Whole days of this unit from `start` to `now` (0 if `now` is not later): 24-hour days,
    /// or working days completed at the request's local time of day.
    pub fn days_elapsed(&self, start: OffsetDateTime, now: OffsetDateTime) -> u64 {
        match self {
            DayCount::Calendar => calendar_days_elapsed(start, now),
            DayCount::Working(calendar) => calendar.working_days_elapsed(start, now),
        }
    }
}

/// Stall threshold per approver level, in days of the rules' [`DayCount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub county: u32,
    pub municipal: u32,
    pub provincial: u32,
    pub national: u32,
}

impl Default for Thresholds {
    /// docs/domain.md defaults, which are schema 1's ([`SCHEMA_1_STALL`], defined once): higher
    /// levels get longer, as their agendas are fuller.
    fn default() -> Self {
        Thresholds {
            county: SCHEMA_1_STALL.county,
            municipal: SCHEMA_1_STALL.municipal,
            provincial: SCHEMA_1_STALL.provincial,
            national: SCHEMA_1_STALL.national,
        }
    }
}

impl Thresholds {
    pub fn get(&self, level: Level) -> u32 {
        match level {
            Level::County => self.county,
            Level::Municipal => self.municipal,
            Level::Provincial => self.provincial,
            Level::National => self.national,
        }
    }
}

/// Why a set of stall rules was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RulesError {
    #[error("stall threshold for {level} approvals is 0 days: an approval would stall the moment it is requested; use at least 1")]
    ZeroThreshold { level: Level },
    #[error("warning_share {value} must be strictly between 0 and 1 (e.g. 0.8 warns at 80% of the threshold)")]
    WarningShare { value: f64 },
}

/// Validated stall rules: thresholds per level, when to warn, and how days are counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StallRules {
    thresholds: Thresholds,
    warning_share: f64,
    day_count: DayCount,
    /// Every working-day calendar the configuration loaded, by name (each as a working-day
    /// count), so that a request recorded in a calendar other than these rules' own (its
    /// jurisdiction's, docs/alerting-rules.md "Calendars by jurisdiction") is counted in it.
    /// Left out of a checkpoint when empty, so older checkpoints keep their shape.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    calendars: BTreeMap<String, DayCount>,
}

impl Default for StallRules {
    /// 30/30/60/90 calendar days, warning at 80%.
    fn default() -> Self {
        StallRules {
            thresholds: Thresholds::default(),
            warning_share: 0.8,
            day_count: DayCount::Calendar,
            calendars: BTreeMap::new(),
        }
    }
}

impl StallRules {
    /// Checks that every threshold is at least one day (a zero threshold would also make every
    /// escalation fall on the same instant) and that the warning share lies in (0, 1).
    pub fn new(
        thresholds: Thresholds,
        warning_share: f64,
        day_count: DayCount,
    ) -> Result<Self, RulesError> {
        if let Some(level) = Level::ALL.iter().find(|l| thresholds.get(**l) == 0) {
            return Err(RulesError::ZeroThreshold { level: *level });
        }
        if !(warning_share > 0.0 && warning_share < 1.0) {
            return Err(RulesError::WarningShare {
                value: warning_share,
            });
        }
        Ok(StallRules {
            thresholds,
            warning_share,
            day_count,
            calendars: BTreeMap::new(),
        })
    }

    /// These rules, knowing `calendars` too (every calendar the configuration loaded): a
    /// request recorded in one of them is counted in it, whatever these rules' own day count.
    pub fn with_calendars(mut self, calendars: impl IntoIterator<Item = WorkCalendar>) -> Self {
        self.calendars = calendars
            .into_iter()
            .map(|c| (c.name().to_string(), DayCount::Working(c)))
            .collect();
        self
    }

    /// The working-day count of the calendar `name`: these rules' own, or one they know.
    pub fn calendar(&self, name: &str) -> Option<&DayCount> {
        match &self.day_count {
            DayCount::Working(own) if own.name() == name => Some(&self.day_count),
            _ => self.calendars.get(name),
        }
    }

    /// The names of the calendars these rules know besides their own day count's.
    pub fn calendar_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.calendars.keys().map(String::as_str)
    }

    /// Whether these rules can count working days of the calendar `name`.
    pub fn knows_calendar(&self, name: &str) -> bool {
        self.calendar(name).is_some()
    }

    /// The same thresholds and warning share, counted in working days of the calendar `name`
    /// (a jurisdiction's); `None` when these rules do not know it.
    pub fn in_calendar(&self, name: &str) -> Option<StallRules> {
        let day_count = self.calendar(name)?.clone();
        Some(StallRules {
            day_count,
            ..self.clone()
        })
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The configured threshold for an approver level, before any extension.
    pub fn threshold_days(&self, level: Level) -> u32 {
        self.thresholds.get(level)
    }

    pub fn warning_share(&self) -> f64 {
        self.warning_share
    }

    pub fn day_count(&self) -> &DayCount {
        &self.day_count
    }
}

/// The wire shape of [`StallRules`]; deserializing always goes through [`StallRules::new`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesWire {
    #[serde(default)]
    thresholds: Thresholds,
    #[serde(default = "default_share")]
    warning_share: f64,
    #[serde(default)]
    day_count: DayCount,
    #[serde(default)]
    calendars: BTreeMap<String, DayCount>,
}

fn default_share() -> f64 {
    0.8
}

impl<'de> Deserialize<'de> for StallRules {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = RulesWire::deserialize(deserializer)?;
        let mut rules = StallRules::new(wire.thresholds, wire.warning_share, wire.day_count)
            .map_err(serde::de::Error::custom)?;
        rules.calendars = wire.calendars;
        Ok(rules)
    }
}

/// An approval waiting for its approver, as the pilot projection holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingApproval {
    pub approval_id: String,
    /// The `approval.requested` event; it identifies this wait (and its alert), so a new request
    /// for the same approval is a new wait.
    pub request_event_id: Uuid,
    pub approver_id: Uuid,
    pub level: Level,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// Sum of the approval's `approval.extended` days, in the rules' day unit.
    pub extra_days: u32,
    /// The stall terms its request was stored under (`data.stall`); `None` for a request
    /// stored before the record existed. Alerts count its days in these terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<StallRecord>,
    /// When it stalls, as the log says: the last recorded `stalls_at` (request or extension),
    /// moved by `extra_days` × 24 h for each later extension stored without one; `None` when
    /// nothing was recorded, and then [`deadline`] takes the schema-1 terms.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub stalls_at: Option<OffsetDateTime>,
}

impl PendingApproval {
    /// The wait an `approval.requested` (event `request_event_id`, dated `at`) starts.
    pub fn requested(
        request_event_id: Uuid,
        at: OffsetDateTime,
        data: &pilot_events::data::ApprovalRequested,
    ) -> PendingApproval {
        PendingApproval {
            approval_id: data.approval_id.clone(),
            request_event_id,
            approver_id: data.approver_id,
            level: data.level,
            requested_at: at,
            extra_days: 0,
            stall: data.stall.clone(),
            stalls_at: data.stall.as_ref().map(|r| r.stalls_at),
        }
    }

    /// Folds an extension of `extra_days` that recorded `stalls_at` (or none) into the wait.
    pub fn extend(&mut self, extra_days: u32, stalls_at: Option<OffsetDateTime>) {
        self.extra_days = self.extra_days.saturating_add(extra_days);
        self.stalls_at = stalls_at.or_else(|| {
            self.stalls_at
                .map(|at| after_days(&DayCount::Calendar, at, u64::from(extra_days)))
        });
    }
}

/// The instant after which `approval` may no longer be extended: what the log recorded, or
/// for a request stored without a record, the schema-1 terms ([`SCHEMA_1_STALL`], calendar
/// days from the request, extensions added). Takes no rules: validity never depends on
/// configuration (docs/wire-format.md, "Stall record").
pub fn deadline(approval: &PendingApproval) -> OffsetDateTime {
    approval.stalls_at.unwrap_or_else(|| {
        let days = u64::from(SCHEMA_1_STALL.days(approval.level)) + u64::from(approval.extra_days);
        after_days(&DayCount::Calendar, approval.requested_at, days)
    })
}

/// Calendar days, as a value to borrow when a request's record says so whatever the rules say.
static CALENDAR_DAYS: DayCount = DayCount::Calendar;

/// The day count `approval`'s alert counts in: its request's recorded unit when there is one
/// (a working-day record uses the calendar of that name the rules know, their own or a
/// jurisdiction's, or the rules' day count when they know no such calendar); otherwise the
/// rules'.
pub fn day_count_for<'r>(approval: &PendingApproval, rules: &'r StallRules) -> &'r DayCount {
    match approval.stall.as_ref() {
        Some(record) if record.day_count == DayUnit::Calendar => &CALENDAR_DAYS,
        Some(record) => record
            .calendar
            .as_deref()
            .and_then(|name| rules.calendar(name))
            .unwrap_or(&rules.day_count),
        None => &rules.day_count,
    }
}

/// Whether `approval`'s request recorded working days of a calendar `rules` do not know.
fn counts_in_unknown_calendar(approval: &PendingApproval, rules: &StallRules) -> bool {
    approval.stall.as_ref().is_some_and(|record| {
        record.day_count == DayUnit::Working
            && !record
                .calendar
                .as_deref()
                .is_some_and(|name| rules.knows_calendar(name))
    })
}

/// The threshold of `approval`'s level before extensions: its request's record when there is
/// one, otherwise the rules'.
pub fn base_threshold_days(approval: &PendingApproval, rules: &StallRules) -> u32 {
    approval.stall.as_ref().map_or_else(
        || rules.threshold_days(approval.level),
        |r| r.threshold_days,
    )
}

/// The instants at which one pending approval warns, stalls and escalates.
///
/// Derived from the approval and the rules, never stored: it borrows the rules' day count to
/// compute escalations on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule<'r> {
    pub requested_at: OffsetDateTime,
    /// The level's threshold plus extensions: the length of one "whole threshold".
    pub threshold_days: u64,
    /// When the yellow light comes on. Equal to `due_at` when the threshold is too short for a
    /// separate warning (one working day); then there is no warning phase.
    pub warn_at: OffsetDateTime,
    /// When the approval stalls (red light, escalation level 1).
    pub due_at: OffsetDateTime,
    day_count: &'r DayCount,
}

impl Schedule<'_> {
    /// Whether the warning comes strictly before the stall; if not, it is subsumed by firing.
    pub fn has_warning(&self) -> bool {
        self.warn_at < self.due_at
    }

    /// The instant of the `k`th whole threshold: `k = 2` is the first escalation after the
    /// stall, `k = 3` the next. `k <= 1` gives `due_at`. Saturates at the end of representable
    /// time for absurd `k`.
    pub fn escalation_at(&self, k: u32) -> OffsetDateTime {
        let days = self.threshold_days.saturating_mul(u64::from(k.max(1)));
        after_days(self.day_count, self.requested_at, days)
    }

    /// The escalation level at `now`: 0 before `due_at`, 1 from `due_at`, `k` from the `k`th
    /// whole threshold. Computed in closed form, so asking far in the future costs no loop.
    pub fn escalation_level_at(&self, now: OffsetDateTime) -> u32 {
        if now < self.due_at {
            return 0;
        }
        let elapsed = self.day_count.days_elapsed(self.requested_at, now);
        let level = elapsed.checked_div(self.threshold_days).unwrap_or(1).max(1);
        u32::try_from(level).unwrap_or(u32::MAX)
    }
}

/// Computes when `approval` warns, stalls and escalates under `rules`.
///
/// The threshold `N` is the level's threshold plus `extra_days`, in the rules' unit; a request
/// that recorded its terms (`data.stall`) keeps its recorded threshold and unit, so its alert
/// stalls where the log says ([`deadline`]) whatever the configuration says now.
/// - Calendar days: due at `requested_at + N × 24 h` exactly; warning at `share × N` days after
///   the request, rounded to the nearest second (the share is a float).
/// - Working days: due at the request's local time of day on the `N`th working day after the
///   day of the request. The warning is on the `floor(share × N)`th working day, but at least the
///   1st: floor, because a yellow light that comes a little early is harmless while one that
///   comes late leaves less time to act; at least 1, so that a warning never falls on the request
///   itself. With `N = 1` the warning coincides with the stall and there is no warning phase.
pub fn schedule<'r>(approval: &PendingApproval, rules: &'r StallRules) -> Schedule<'r> {
    let threshold_days =
        u64::from(base_threshold_days(approval, rules)) + u64::from(approval.extra_days);
    let requested_at = approval.requested_at;
    let day_count = day_count_for(approval, rules);
    // A request recorded in a calendar these rules do not know (a jurisdiction's file not
    // loaded here) stalls where the log says, not where a guessed day count would put it.
    let due_at = match approval
        .stalls_at
        .filter(|_| counts_in_unknown_calendar(approval, rules))
    {
        Some(recorded) => recorded,
        None => after_days(day_count, requested_at, threshold_days),
    };
    let warn_at = match day_count {
        DayCount::Calendar => {
            let seconds = (rules.warning_share * (threshold_days * SECONDS_PER_DAY) as f64).round();
            requested_at.saturating_add(Duration::seconds(seconds as i64))
        }
        DayCount::Working(calendar) => {
            let share = (rules.warning_share * threshold_days as f64 + FLOOR_EPSILON).floor();
            let days = (share as u64).clamp(1, threshold_days.max(1));
            calendar.saturating_add_working_days(requested_at, days)
        }
    };
    Schedule {
        requested_at,
        threshold_days,
        warn_at: warn_at.min(due_at),
        due_at,
        day_count,
    }
}

/// Where a pending approval stands at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StallStatus {
    /// Within the threshold; nothing to show yet.
    Ok {
        #[serde(with = "time::serde::rfc3339")]
        warn_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// Due soon (yellow light).
    Warning {
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// Stalled (red light); the level rises at every further whole threshold.
    Firing {
        escalation_level: u32,
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        next_escalation_at: OffsetDateTime,
    },
}

/// The status of `approval` at `now`. At `due_at` exactly it is firing; one second before, it
/// is still a warning.
pub fn stall_status(
    approval: &PendingApproval,
    rules: &StallRules,
    now: OffsetDateTime,
) -> StallStatus {
    let schedule = schedule(approval, rules);
    if now >= schedule.due_at {
        let escalation_level = schedule.escalation_level_at(now);
        StallStatus::Firing {
            escalation_level,
            due_at: schedule.due_at,
            next_escalation_at: schedule.escalation_at(escalation_level.saturating_add(1)),
        }
    } else if now >= schedule.warn_at && schedule.has_warning() {
        StallStatus::Warning {
            due_at: schedule.due_at,
        }
    } else {
        StallStatus::Ok {
            warn_at: schedule.warn_at,
            due_at: schedule.due_at,
        }
    }
}

pub(crate) fn after_days(day_count: &DayCount, start: OffsetDateTime, days: u64) -> OffsetDateTime {
    match day_count {
        DayCount::Calendar => match days_duration(days) {
            Some(duration) => start.saturating_add(duration),
            None => start.saturating_add(Duration::MAX),
        },
        DayCount::Working(calendar) => calendar.saturating_add_working_days(start, days),
    }
}

/// Whole days of 24 h from `start` to `now` (0 if `now` is earlier).
fn calendar_days_elapsed(start: OffsetDateTime, now: OffsetDateTime) -> u64 {
    let seconds = u64::try_from((now - start).whole_seconds()).unwrap_or(0);
    seconds / SECONDS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2008-09-01 09:00 +08:00);

    fn approval(level: Level, requested_at: OffsetDateTime, extra_days: u32) -> PendingApproval {
        PendingApproval {
            approval_id: "lchi-2002-mayor".into(),
            request_event_id: Uuid::from_u128(1),
            approver_id: Uuid::from_u128(2),
            level,
            requested_at,
            extra_days,
            stall: None,
            stalls_at: None,
        }
    }

    fn recorded(threshold_days: u32, stalls_at: OffsetDateTime) -> StallRecord {
        StallRecord {
            threshold_days,
            day_count: DayUnit::Calendar,
            calendar: None,
            stalls_at,
            basis: None,
        }
    }

    #[test]
    fn an_unrecorded_request_has_the_schema_1_deadline_whatever_the_rules() {
        let mut a = approval(Level::National, T, 0);
        assert_eq!(deadline(&a), T + days(90));
        a.extend(5, None);
        assert_eq!(deadline(&a), T + days(95), "extensions add 24-hour days");
        assert_eq!(
            deadline(&approval(Level::County, T, 0)),
            T + days(i64::from(SCHEMA_1_STALL.county))
        );
    }

    #[test]
    fn a_recorded_request_has_the_recorded_deadline_and_extensions_follow_the_log() {
        let mut a = approval(Level::Municipal, T, 0);
        a.stall = Some(recorded(10, T + days(10)));
        a.stalls_at = Some(T + days(10));
        assert_eq!(deadline(&a), T + days(10));
        // An extension that recorded its stall instant is taken at its word...
        a.extend(3, Some(T + days(20)));
        assert_eq!(deadline(&a), T + days(20));
        // ...one stored without moves the last recorded instant by 24-hour days.
        a.extend(2, None);
        assert_eq!(deadline(&a), T + days(22));
        assert_eq!(a.extra_days, 5);
    }

    #[test]
    fn the_schedule_follows_the_recorded_terms_not_the_rules() {
        let mut a = approval(Level::Municipal, T, 0);
        a.stall = Some(recorded(10, T + days(10)));
        // Rules that say 45 working days: the record says 10 calendar days.
        let rules = working_rules(45, 0.8);
        let s = schedule(&a, &rules);
        assert_eq!(s.due_at, T + days(10));
        assert_eq!(s.warn_at, T + days(8));
        assert_eq!(s.escalation_at(2), T + days(20));
        assert_eq!(day_count_for(&a, &rules), &DayCount::Calendar);
        // Without a record, the rules decide the alert (not the deadline).
        a.stall = None;
        assert_eq!(base_threshold_days(&a, &rules), 45);
    }

    fn days(n: i64) -> Duration {
        Duration::days(n)
    }

    /// The calendar of the brief: 2008-10-01..07 off, Sat 09-27 and Sun 09-28 worked.
    fn nanguo() -> WorkCalendar {
        serde_json::from_value(serde_json::json!({
            "name": "nanguo",
            "utc_offset": "+08:00",
            "holidays": ["2008-10-01", "2008-10-02", "2008-10-03", "2008-10-04",
                         "2008-10-05", "2008-10-06", "2008-10-07"],
            "makeup_workdays": ["2008-09-27", "2008-09-28"]
        }))
        .unwrap()
    }

    fn working_rules(municipal: u32, share: f64) -> StallRules {
        let thresholds = Thresholds {
            municipal,
            ..Thresholds::default()
        };
        StallRules::new(thresholds, share, DayCount::Working(nanguo())).unwrap()
    }

    #[test]
    fn defaults_follow_the_domain() {
        let rules = StallRules::default();
        let by_level: Vec<u32> = Level::ALL
            .iter()
            .map(|l| rules.threshold_days(*l))
            .collect();
        assert_eq!(by_level, [30, 30, 60, 90]);
        assert_eq!(rules.warning_share(), 0.8);
        assert_eq!(rules.day_count(), &DayCount::Calendar);
        let from_empty: StallRules = serde_json::from_str("{}").unwrap();
        assert_eq!(from_empty, rules);
    }

    #[test]
    fn calendar_day_schedule_is_exact() {
        let rules = StallRules::default();
        let s = schedule(&approval(Level::Municipal, T, 0), &rules);
        assert_eq!(s.warn_at, T + days(24));
        assert_eq!(s.due_at, T + days(30));
        assert_eq!(s.escalation_at(2), T + days(60));
        assert_eq!(s.escalation_at(3), T + days(90));
        let national = schedule(&approval(Level::National, T, 0), &rules);
        assert_eq!(national.due_at, T + days(90));
        assert_eq!(national.warn_at, T + days(72));
    }

    #[test]
    fn extensions_add_to_the_threshold_and_move_the_warning() {
        let rules = StallRules::default();
        let s = schedule(&approval(Level::Provincial, T, 15), &rules);
        assert_eq!(s.due_at, T + days(75));
        assert_eq!(s.warn_at, T + days(60), "80% of 75 days");
        assert_eq!(s.escalation_at(2), T + days(150));
    }

    #[test]
    fn status_boundaries() {
        let rules = StallRules::default();
        let a = approval(Level::Municipal, T, 0);
        let status = |now| stall_status(&a, &rules, now);
        let (warn_at, due_at) = (T + days(24), T + days(30));
        assert_eq!(
            status(warn_at - Duration::SECOND),
            StallStatus::Ok { warn_at, due_at }
        );
        assert_eq!(status(warn_at), StallStatus::Warning { due_at });
        assert_eq!(
            status(due_at - Duration::SECOND),
            StallStatus::Warning { due_at }
        );
        let firing = |level, next| StallStatus::Firing {
            escalation_level: level,
            due_at,
            next_escalation_at: next,
        };
        assert_eq!(status(due_at), firing(1, T + days(60)));
        assert_eq!(
            status(T + days(60) - Duration::SECOND),
            firing(1, T + days(60))
        );
        assert_eq!(status(T + days(60)), firing(2, T + days(90)));
        assert_eq!(status(T + days(95)), firing(3, T + days(120)));
    }

    #[test]
    fn working_days_skip_the_holiday_week_and_count_makeup_days() {
        // Thursday 2008-09-25 10:00. Working days after it, by hand: 1 Fri 09-26,
        // 2 Sat 09-27 (make-up), 3 Sun 09-28 (make-up), 4 Mon 09-29, 5 Tue 09-30,
        // (10-01..07 holiday), 6 Wed 10-08, 7 Thu 10-09, 8 Fri 10-10, 9 Mon 10-13,
        // 10 Tue 10-14, 11 Wed 10-15, 12 Thu 10-16, 13 Fri 10-17, 14 Mon 10-20, 15 Tue 10-21,
        // 16 Wed 10-22, 17 Thu 10-23, 18 Fri 10-24, 19 Mon 10-27, 20 Tue 10-28.
        let rules = working_rules(10, 0.8);
        let requested = datetime!(2008-09-25 10:00 +08:00);
        let s = schedule(&approval(Level::Municipal, requested, 0), &rules);
        assert_eq!(
            s.warn_at,
            datetime!(2008-10-10 10:00 +08:00),
            "8th working day"
        );
        assert_eq!(
            s.due_at,
            datetime!(2008-10-14 10:00 +08:00),
            "10th working day"
        );
        assert_eq!(
            s.escalation_at(2),
            datetime!(2008-10-28 10:00 +08:00),
            "20th"
        );
        let a = approval(Level::Municipal, requested, 0);
        assert!(matches!(
            stall_status(&a, &rules, datetime!(2008-10-14 09:59:59 +08:00)),
            StallStatus::Warning { .. }
        ));
        assert!(matches!(
            stall_status(&a, &rules, datetime!(2008-10-14 10:00 +08:00)),
            StallStatus::Firing {
                escalation_level: 1,
                ..
            }
        ));
        assert!(matches!(
            stall_status(&a, &rules, datetime!(2008-10-28 09:59:59 +08:00)),
            StallStatus::Firing {
                escalation_level: 1,
                ..
            }
        ));
        assert!(matches!(
            stall_status(&a, &rules, datetime!(2008-10-28 10:00 +08:00)),
            StallStatus::Firing {
                escalation_level: 2,
                ..
            }
        ));
        // An extension of 1 working day moves the stall to the 11th working day.
        let extended = schedule(&approval(Level::Municipal, requested, 1), &rules);
        assert_eq!(extended.due_at, datetime!(2008-10-15 10:00 +08:00));
    }

    #[test]
    fn working_day_warning_is_floored_but_at_least_one_day() {
        let requested = datetime!(2008-09-25 10:00 +08:00);
        let a = approval(Level::Municipal, requested, 0);
        // 0.5 × 3 = 1.5 → 1st working day (rounding would give the 2nd).
        let rules = working_rules(3, 0.5);
        let s = schedule(&a, &rules);
        assert_eq!(s.warn_at, datetime!(2008-09-26 10:00 +08:00));
        // 0.7 × 90 is 62.99999999999999 in binary floats; the rule means the 63rd working day.
        let rules = working_rules(90, 0.7);
        let s = schedule(&a, &rules);
        assert_eq!(s.warn_at, nanguo().add_working_days(requested, 63));
        // 0.8 × 1 = 0.8 → at least 1: the warning coincides with the stall, no warning phase.
        let rules = working_rules(1, 0.8);
        let s = schedule(&a, &rules);
        assert_eq!(s.warn_at, s.due_at);
        assert!(!s.has_warning());
        assert!(matches!(
            stall_status(&a, &rules, s.due_at - Duration::SECOND),
            StallStatus::Ok { .. }
        ));
    }

    #[test]
    fn invalid_rules_are_refused() {
        let zero = Thresholds {
            provincial: 0,
            ..Thresholds::default()
        };
        assert_eq!(
            StallRules::new(zero, 0.8, DayCount::Calendar),
            Err(RulesError::ZeroThreshold {
                level: Level::Provincial
            })
        );
        for share in [0.0, 1.0, 1.2, -0.1, f64::NAN] {
            let result = StallRules::new(Thresholds::default(), share, DayCount::Calendar);
            assert!(
                matches!(result, Err(RulesError::WarningShare { .. })),
                "{share}"
            );
        }
        let err = serde_json::from_str::<StallRules>(r#"{"warning_share": 1.5}"#).unwrap_err();
        assert!(
            err.to_string().contains("strictly between 0 and 1"),
            "{err}"
        );
    }

    #[test]
    fn rules_deserialize_with_a_working_calendar() {
        let rules: StallRules = serde_json::from_value(serde_json::json!({
            "thresholds": {"provincial": 45},
            "day_count": {"working": {"name": "nanguo", "utc_offset": "+08:00"}}
        }))
        .unwrap();
        assert_eq!(rules.threshold_days(Level::Provincial), 45);
        assert_eq!(rules.threshold_days(Level::National), 90);
        assert!(matches!(rules.day_count(), DayCount::Working(c) if c.name() == "nanguo"));
        let round_trip: StallRules =
            serde_json::from_value(serde_json::to_value(&rules).unwrap()).unwrap();
        assert_eq!(round_trip, rules);
    }

    #[test]
    fn huge_extensions_saturate_instead_of_panicking() {
        let rules = StallRules::default();
        let a = approval(Level::National, T, u32::MAX);
        let s = schedule(&a, &rules);
        assert!(s.due_at.year() >= 9999);
        assert!(matches!(
            stall_status(&a, &rules, T + days(365)),
            StallStatus::Ok { .. }
        ));
        let working = working_rules(30, 0.8);
        let s = schedule(&approval(Level::Municipal, T, u32::MAX), &working);
        assert!(s.due_at.year() >= 9999);
    }
}
