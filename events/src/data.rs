//! The `data` of every event type (schema version 2).
//!
//! Field names are the public wire names. Every struct refuses unknown fields, so a typo in a
//! field name is an error rather than silently dropped data. Free-text notes that a clerk may
//! reasonably leave out (`note`, `conditions`) default to empty; everything else is required.
//!
//! Schema 2 only adds: new types, and optional fields that are left out of the JSON when
//! absent. So a schema-1 `data` is a valid schema-2 `data` meaning the same thing, and an
//! event written without the new fields has the bytes (and hash) it had under schema 1
//! (docs/wire-format.md, "Schema 2").

use crate::vocabulary::{
    AdoptionMechanism, Channel, ContextKind, Direction, HighlightKind, Level, LinkRelation,
    Qualifier, StakeholderKind, Strategy,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// A stakeholder's stance on a pilot: -2 (strongly against) to +2 (strongly for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Stance(i8);

impl Stance {
    pub const MIN: i8 = -2;
    pub const MAX: i8 = 2;
    /// The stance an `alliance.formed` raises a member to, at least.
    pub const ALLY: Stance = Stance(1);

    pub fn value(self) -> i8 {
        self.0
    }

    /// The nearest valid stance, for generated data that is in range by construction.
    pub fn saturating(value: i64) -> Stance {
        Stance(value.clamp(i64::from(Stance::MIN), i64::from(Stance::MAX)) as i8)
    }
}

#[cfg(feature = "openapi")]
crate::schema_kit::bounded_integer!(
    Stance,
    "A stance on a pilot: -2 (strongly against) to +2 (strongly for)."
);

impl TryFrom<i64> for Stance {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if (i64::from(Stance::MIN)..=i64::from(Stance::MAX)).contains(&value) {
            Ok(Stance(value as i8))
        } else {
            Err(format!(
                "stance {value} is outside -2..2 (use -2, -1, 0, 1 or 2)"
            ))
        }
    }
}

impl From<Stance> for i64 {
    fn from(stance: Stance) -> i64 {
        i64::from(stance.0)
    }
}

/// How much a stakeholder's stance weighs in the support index: 1 (little) to 5 (decisive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Influence(u8);

impl Influence {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 5;

    pub fn value(self) -> u8 {
        self.0
    }

    /// The nearest valid influence, for generated data that is in range by construction.
    pub fn saturating(value: i64) -> Influence {
        Influence(value.clamp(i64::from(Influence::MIN), i64::from(Influence::MAX)) as u8)
    }
}

#[cfg(feature = "openapi")]
crate::schema_kit::bounded_integer!(
    Influence,
    "How much a stance weighs: 1 (little) to 5 (decisive)."
);

impl TryFrom<i64> for Influence {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if (i64::from(Influence::MIN)..=i64::from(Influence::MAX)).contains(&value) {
            Ok(Influence(value as u8))
        } else {
            Err(format!(
                "influence {value} is outside 1..5 (use 1, 2, 3, 4 or 5)"
            ))
        }
    }
}

impl From<Influence> for i64 {
    fn from(influence: Influence) -> i64 {
        i64::from(influence.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PilotProposed {
    pub title: String,
    pub jurisdiction: String,
    pub policy_area: String,
    pub level: Level,
    pub problem_frame: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProgramDesigned {
    pub summary: String,
    /// Design parameters by name, e.g. `contribution_rate: 0.02`; numbers, text or booleans.
    pub parameters: BTreeMap<String, serde_json::Value>,
    pub target_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StakeholderRegistered {
    /// Personal when `person` is true: sealed under the stakeholder's own key.
    pub name: String,
    pub kind: StakeholderKind,
    pub level: Level,
    pub influence: Influence,
    /// Schema 2: a natural person (an official by name, an entrepreneur, a journalist), not a
    /// post, a body or a group: a data subject, whose personal fields are sealed under a key of
    /// its own and can be erased (docs/personal-data.md). Left out when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub person: bool,
}

/// Schema 2: a person stakeholder's personal data is erased: its key is destroyed, so every
/// personal field sealed under it stays stored (and verifiable) but can never be read again.
/// Lives in the person's registry chain; an erasure is final and cannot be retracted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubjectErased {
    /// Why (a request under the law, a retention rule): shown wherever the erased fields were.
    /// Not personal itself, so it must not name the person.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactLogged {
    pub stakeholder_id: Uuid,
    pub channel: Channel,
    pub strategy: Strategy,
    pub summary: String,
    /// The stakeholder's stance after the contact.
    pub stance: Stance,
    /// Schema 2: the person in the office who made the contact (a name as the office writes it).
    /// Personal data of `made_by_id` when that names a registered person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by: Option<String>,
    /// Schema 2: `made_by` registered as a stakeholder (a bureau's staff member, `person: true`):
    /// then the name is that person's personal data, sealed under their key and erased with
    /// them (docs/personal-data.md). Only with `made_by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by_id: Option<Uuid>,
    /// Schema 2: the stakeholder the contact went through ("through the town leaders").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermediary_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StanceAssessed {
    pub stakeholder_id: Uuid,
    pub stance: Stance,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AllianceFormed {
    pub stakeholder_ids: Vec<Uuid>,
    /// The shared interest that holds the alliance together.
    pub basis: String,
    /// Schema 2: the person in the office who built the alliance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by: Option<String>,
    /// Schema 2: `made_by` registered as a stakeholder, as on `lobbying.contact_logged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequested {
    /// Chosen by the office (e.g. `hici-1994-mayor`); names the approval in later events.
    pub approval_id: String,
    /// The approver, best registered as a post ("Mayor of Nanguo") rather than a person.
    pub approver_id: Uuid,
    pub level: Level,
    #[serde(default)]
    pub note: String,
    /// What the stall rules were for this request when it was stored: filled by the writer,
    /// never by a client. Left out on events stored before it existed; those are judged by
    /// [`SCHEMA_1_STALL`] (docs/wire-format.md, "Stall record").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<StallRecord>,
}

/// The stall terms a request was stored under, and the instant they make it stall.
///
/// Recorded in the log so that whether a later `approval.extended` may join the chain is
/// decided by the log alone: every process and every replay decides alike, whatever its
/// configuration says today. `stalls_at` is what decides; the terms say where it came from and
/// let alerts count escalations in the same days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StallRecord {
    /// The approver level's threshold, in `day_count` days, before any extension.
    pub threshold_days: u32,
    pub day_count: DayUnit,
    /// The working-day calendar's name; present exactly when `day_count` is `working`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// When the approval stalls if nothing extends it.
    #[serde(with = "time::serde::rfc3339")]
    pub stalls_at: OffsetDateTime,
    /// Schema 2: why the days are counted as they are (the pilot's override, its
    /// jurisdiction's calendar, or the default and why), so that an alert can say so and a
    /// replay says the same. Left out on records stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<CalendarBasis>,
}

/// Why a [`StallRecord`] counts in its day unit and calendar (docs/alerting-rules.md,
/// "Calendars by jurisdiction"): the first that applies of the pilot's override in the alert
/// rules, its registered jurisdiction's `calendar`, and the rules' default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CalendarBasis {
    pub by: CalendarSource,
    /// The pilot's `jurisdiction` (its `pilot.proposed` text), when the choice looked at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// For [`CalendarSource::CalendarNotLoaded`]: the calendar the jurisdiction names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_calendar: Option<String>,
}

/// Which rule chose a stall record's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CalendarSource {
    /// The pilot's own entry in the alert rules (`[[alerts.pilots]]`).
    Override,
    /// The calendar its registered jurisdiction names.
    Jurisdiction,
    /// The default: the pilot's jurisdiction is not registered.
    JurisdictionNotRegistered,
    /// The default: its registered jurisdiction names no calendar.
    JurisdictionNamesNone,
    /// The default: its jurisdiction names a calendar the alert rules did not load.
    CalendarNotLoaded,
}

impl CalendarSource {
    /// The wire name (`jurisdiction_names_none`).
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarSource::Override => "override",
            CalendarSource::Jurisdiction => "jurisdiction",
            CalendarSource::JurisdictionNotRegistered => "jurisdiction_not_registered",
            CalendarSource::JurisdictionNamesNone => "jurisdiction_names_none",
            CalendarSource::CalendarNotLoaded => "calendar_not_loaded",
        }
    }
}

/// How a [`StallRecord`]'s days are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    /// Days of exactly 24 hours.
    Calendar,
    /// Working days of the named calendar.
    Working,
}

/// The stall terms of schema 1, by approver level (county, municipal, provincial, national),
/// in calendar days: what an `approval.requested` stored without a [`StallRecord`] is judged
/// by, whatever the configuration says. Defined once; docs/domain.md's defaults are these.
pub const SCHEMA_1_STALL: Schema1Stall = Schema1Stall {
    county: 30,
    municipal: 30,
    provincial: 60,
    national: 90,
};

/// The type of [`SCHEMA_1_STALL`]: calendar days per approver level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema1Stall {
    pub county: u32,
    pub municipal: u32,
    pub provincial: u32,
    pub national: u32,
}

impl Schema1Stall {
    pub const fn days(&self, level: Level) -> u32 {
        match level {
            Level::County => self.county,
            Level::Municipal => self.municipal,
            Level::Provincial => self.provincial,
            Level::National => self.national,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalGranted {
    pub approval_id: String,
    #[serde(default)]
    pub conditions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalDenied {
    pub approval_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalWithdrawn {
    pub approval_id: String,
    pub reason: String,
}

/// Upper bound on one extension, so a typo (36500 for 365) does not silence an alert for a century.
pub const MAX_EXTRA_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalExtended {
    pub approval_id: String,
    /// Added to the stall threshold, in the unit the alert rules count in (calendar or working days).
    pub extra_days: u32,
    pub reason: String,
    /// When the approval stalls after this extension: filled by the writer, never by a client.
    /// Left out on events stored before it existed; then the extension moves the stall by
    /// `extra_days` × 24 h (docs/wire-format.md, "Stall record").
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub stalls_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImplementationStarted {
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TargetSet {
    pub metric: String,
    pub target: f64,
    #[serde(with = "iso_date")]
    pub due: Date,
    /// Schema 2: which side of `target` is met; absent means `at_least` ([`TargetSet::direction`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Schema 2: the stakeholder who set the target (e.g. the provincial government).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<Uuid>,
}

impl TargetSet {
    /// The direction, with schema 1's meaning (`at_least`) where none was written.
    pub fn direction(&self) -> Direction {
        self.direction.unwrap_or(Direction::AtLeast)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MetricRecorded {
    pub metric: String,
    pub value: f64,
    pub unit: String,
    /// The date the value describes, which may differ from when it was reported.
    #[serde(with = "iso_date")]
    pub as_of: Date,
    pub source: String,
    /// Schema 2: how exactly `value` is known; absent means `exact` ([`MetricRecorded::qualifier`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<Qualifier>,
}

impl MetricRecorded {
    /// The qualifier, with schema 1's meaning (`exact`) where none was written.
    pub fn qualifier(&self) -> Qualifier {
        self.qualifier.unwrap_or(Qualifier::Exact)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PilotScaled {
    pub to_level: Level,
    pub scope: String,
    pub successor_title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdoptedElsewhere {
    pub jurisdiction: String,
    pub level: Level,
    pub mechanism: AdoptionMechanism,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PilotMerged {
    pub into_pilot_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PilotTerminated {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HighlightRecorded {
    pub highlight_id: String,
    pub kind: HighlightKind,
    pub level: Level,
    pub title: String,
    pub conferred_by: String,
    /// Stakeholders credited with the highlight; each gets the full points.
    pub credited_to: Vec<Uuid>,
    /// Schema 2: offices credited with it (their `actor.office` names), each with the full
    /// points; an office reward (`ranking_upgrade`, `budget_increase`, `staff_increase`)
    /// usually credits only its office.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credited_offices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventRetracted {
    /// The event that stops counting; it must be in the same chain as the retraction.
    pub event_id: Uuid,
    pub reason: String,
}

/// Schema 2: a jurisdiction (a city, a province) with its own chain of context events.
/// Pilots belong to it by `pilot.proposed`'s `jurisdiction`, which names it by `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JurisdictionRegistered {
    /// The name pilots give as their `jurisdiction` (e.g. `Nanguo`); unique among jurisdictions.
    pub name: String,
    pub level: Level,
    /// The jurisdiction's UTC offset, `+HH:MM` or `-HH:MM`: where its days, months and years
    /// begin for vague dates and target due dates.
    pub utc_offset: String,
    /// The working-day calendar its pilots' alerts count in, by the `name` inside the calendar
    /// file; absent means the default calendar of the alert rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
}

/// Schema 2: something that happened outside any pilot but shapes them all: a policy window,
/// a directive from above, a meeting, a reorganisation, or a city indicator's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContextRecorded {
    pub kind: ContextKind,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// The stakeholder it came from (the province, the State Council), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<Uuid>,
    /// For `indicator`: the indicator's name (e.g. `migrant_share`); exactly when kind is indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<Qualifier>,
}

/// Schema 2: the person whose registry chain this is held a post (another stakeholder, e.g.
/// "Mayor of Nanguo") from `from` to `to`, both days included; no `to` means still in post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TenureRecorded {
    pub post_id: Uuid,
    #[serde(with = "iso_date")]
    pub from: Date,
    #[serde(
        default,
        with = "iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub to: Option<Date>,
    #[serde(default)]
    pub note: String,
}

/// Schema 2: this pilot relates to another: renamed or upgraded into it, bundled with it, or
/// modelled on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PilotLinked {
    pub relation: LinkRelation,
    pub other_pilot_id: Uuid,
    #[serde(default)]
    pub note: String,
}
