//! What the writer records on new approval events: the stall terms of a request and the stall
//! instant after an extension (docs/wire-format.md, "Stall record").
//!
//! Configuration enters the log here and nowhere else: a [`StallPolicy`] (built from the
//! `[alerts]` section) chooses what the *next* request records; the decisions then read the
//! record ([`crate::stall::deadline`]), so requests already stored keep what they recorded and
//! every process folding the log decides alike, whatever its own configuration.

use crate::decide::Refusal;
use crate::jurisdiction::Jurisdictions;
use crate::pilot::PilotState;
use crate::stall::{after_days, deadline, DayCount, PendingApproval, StallRules};
use pilot_events::data::{CalendarBasis, CalendarSource, DayUnit, StallRecord};
use pilot_events::{Event, Level};
use std::borrow::Cow;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The stall rules new requests are recorded under: defaults, and per-pilot overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StallPolicy {
    default: StallRules,
    overrides: BTreeMap<Uuid, StallRules>,
}

/// The rules a pilot's new requests are recorded under, and why (the record's `basis`).
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarChoice<'p> {
    pub rules: Cow<'p, StallRules>,
    /// `None` when the choice did not look at the pilot's jurisdiction (it was not given).
    pub basis: Option<CalendarBasis>,
}

/// One new event of a chain, as the writer stamps it: its id, when it occurred, its data.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub event_id: Uuid,
    pub occurred_at: OffsetDateTime,
    pub event: &'a mut Event,
}

impl StallPolicy {
    pub fn new(default: StallRules, overrides: BTreeMap<Uuid, StallRules>) -> Self {
        StallPolicy { default, overrides }
    }

    /// The rules pilot `pilot_id`'s new requests are recorded under (and its views counted in
    /// when a request recorded nothing).
    pub fn rules_for(&self, pilot_id: &Uuid) -> &StallRules {
        self.overrides.get(pilot_id).unwrap_or(&self.default)
    }

    /// The rules pilot `pilot_id`, of `jurisdiction` (its `pilot.proposed` text), records its
    /// new requests under, in this order (docs/alerting-rules.md, "Calendars by
    /// jurisdiction"): its override; else, when that jurisdiction is registered in
    /// `jurisdictions` and names a calendar these rules loaded, the default thresholds and
    /// warning share counted in working days of that calendar; else the default. A
    /// jurisdiction naming a calendar that was not loaded falls back to the default, and the
    /// basis says so (`calendar_not_loaded`): an alert counted in days nobody configured would
    /// be worse than one counted in the default's, said plainly.
    ///
    /// Without `jurisdiction` (a caller that does not know it) the override or the default
    /// apply, with no basis.
    pub fn choose<'p>(
        &'p self,
        pilot_id: &Uuid,
        jurisdiction: Option<&str>,
        jurisdictions: &Jurisdictions,
    ) -> CalendarChoice<'p> {
        if let Some(rules) = self.overrides.get(pilot_id) {
            return CalendarChoice {
                rules: Cow::Borrowed(rules),
                basis: Some(basis(CalendarSource::Override, None, None)),
            };
        }
        let Some(name) = jurisdiction else {
            return CalendarChoice {
                rules: Cow::Borrowed(&self.default),
                basis: None,
            };
        };
        let registered = jurisdictions.named(name);
        let (source, named) = match registered.map(|j| j.calendar.as_deref()) {
            None => (CalendarSource::JurisdictionNotRegistered, None),
            Some(None) => (CalendarSource::JurisdictionNamesNone, None),
            Some(Some(calendar)) => match self.default.in_calendar(calendar) {
                Some(rules) => {
                    return CalendarChoice {
                        rules: Cow::Owned(rules),
                        basis: Some(basis(CalendarSource::Jurisdiction, Some(name), None)),
                    }
                }
                None => (CalendarSource::CalendarNotLoaded, Some(calendar)),
            },
        };
        CalendarChoice {
            rules: Cow::Borrowed(&self.default),
            basis: Some(basis(source, Some(name), named)),
        }
    }

    /// The record a new request of pilot `pilot_id` for an approver of `level`, dated `at`,
    /// is stored with, when its jurisdiction is not looked at (the override or the default,
    /// no basis). The writer uses [`StallPolicy::record_for`] with the pilot's jurisdiction.
    pub fn record_request(&self, pilot_id: &Uuid, level: Level, at: OffsetDateTime) -> StallRecord {
        Self::record_for(
            &self.choose(pilot_id, None, &Jurisdictions::default()),
            level,
            at,
        )
    }

    /// The record a request for an approver of `level`, dated `at`, is stored with under
    /// `choice`.
    pub fn record_for(
        choice: &CalendarChoice<'_>,
        level: Level,
        at: OffsetDateTime,
    ) -> StallRecord {
        let rules = &choice.rules;
        let threshold_days = rules.threshold_days(level);
        let (day_count, calendar) = match rules.day_count() {
            DayCount::Calendar => (DayUnit::Calendar, None),
            DayCount::Working(c) => (DayUnit::Working, Some(c.name().to_string())),
        };
        StallRecord {
            threshold_days,
            day_count,
            calendar,
            stalls_at: after_days(rules.day_count(), at, u64::from(threshold_days)),
            basis: choice.basis.clone(),
        }
    }

    /// When `pending` stalls once extended by `extra_days`: its request's recorded terms with
    /// the extensions added, counted again from the request. A request stored without a record
    /// (schema 1), or one whose working-day calendar this policy no longer holds, moves its
    /// deadline by `extra_days` × 24 h: the same as the fold would without a record.
    pub fn stalls_after_extension(
        &self,
        pilot_id: &Uuid,
        pending: &PendingApproval,
        extra_days: u32,
    ) -> OffsetDateTime {
        let total = u64::from(pending.extra_days) + u64::from(extra_days);
        let counted = pending.stall.as_ref().and_then(|record| {
            let day_count = match (record.day_count, &record.calendar) {
                (DayUnit::Calendar, _) => &DayCount::Calendar,
                (DayUnit::Working, Some(name)) => self.calendar(pilot_id, name)?,
                (DayUnit::Working, None) => return None,
            };
            let days = u64::from(record.threshold_days) + total;
            Some(after_days(day_count, pending.requested_at, days))
        });
        counted.unwrap_or_else(|| {
            after_days(
                &DayCount::Calendar,
                deadline(pending),
                u64::from(extra_days),
            )
        })
    }

    /// The working-day count of the calendar `name`: the pilot's own rules first, then any
    /// (the default's loaded calendars include every jurisdiction's).
    fn calendar(&self, pilot_id: &Uuid, name: &str) -> Option<&DayCount> {
        std::iter::once(self.rules_for(pilot_id))
            .chain(std::iter::once(&self.default))
            .chain(self.overrides.values())
            .find_map(|rules| rules.calendar(name))
    }

    /// Fills the stall records of new events of pilot `pilot_id`'s chain, in order, after
    /// `pilot` (its state now; `None` for a new pilot, whose `pilot.proposed` in `events`
    /// names its jurisdiction). A request's calendar is chosen by [`StallPolicy::choose`]
    /// against `jurisdictions` as they are now, and recorded with its basis, so that every
    /// replay counts it alike. A record a client sent is kept only if it is what the writer
    /// records; otherwise the event is refused ([`Refusal::StallRecordMismatch`]), so a client
    /// can neither forge a deadline nor be silently corrected. Names the index of the refused
    /// event.
    pub fn stamp(
        &self,
        pilot_id: &Uuid,
        pilot: Option<&PilotState>,
        jurisdictions: &Jurisdictions,
        events: &mut [NewEvent<'_>],
    ) -> Result<(), (usize, Refusal)> {
        let mut pending: BTreeMap<String, PendingApproval> = pilot
            .map(|p| p.pending_approvals.clone())
            .unwrap_or_default();
        let mut jurisdiction: Option<String> = pilot.map(|p| p.jurisdiction.clone());
        for (index, new) in events.iter_mut().enumerate() {
            match &mut *new.event {
                Event::PilotProposed(d) => jurisdiction = Some(d.jurisdiction.clone()),
                Event::ApprovalRequested(d) => {
                    let choice = self.choose(pilot_id, jurisdiction.as_deref(), jurisdictions);
                    let record = Self::record_for(&choice, d.level, new.occurred_at);
                    if let Some(sent) = d.stall.as_ref().filter(|sent| **sent != record) {
                        return Err((index, mismatch("data.stall", &record, sent)));
                    }
                    d.stall = Some(record);
                    let wait = PendingApproval::requested(new.event_id, new.occurred_at, d);
                    pending.insert(d.approval_id.clone(), wait);
                }
                Event::ApprovalExtended(d) => {
                    let Some(wait) = pending.get_mut(&d.approval_id) else {
                        continue;
                    };
                    let stalls_at = self.stalls_after_extension(pilot_id, wait, d.extra_days);
                    if let Some(sent) = d.stalls_at.filter(|sent| *sent != stalls_at) {
                        return Err((index, mismatch("data.stalls_at", &stalls_at, &sent)));
                    }
                    d.stalls_at = Some(stalls_at);
                    wait.extend(d.extra_days, d.stalls_at);
                }
                Event::ApprovalGranted(d) => drop(pending.remove(&d.approval_id)),
                Event::ApprovalDenied(d) => drop(pending.remove(&d.approval_id)),
                Event::ApprovalWithdrawn(d) => drop(pending.remove(&d.approval_id)),
                _ => {}
            }
        }
        Ok(())
    }
}

fn basis(source: CalendarSource, jurisdiction: Option<&str>, named: Option<&str>) -> CalendarBasis {
    CalendarBasis {
        by: source,
        jurisdiction: jurisdiction.map(str::to_string),
        named_calendar: named.map(str::to_string),
    }
}

fn mismatch<T: serde::Serialize>(field: &'static str, recorded: &T, sent: &T) -> Refusal {
    let json = |value: &T| serde_json::to_string(value).unwrap_or_default();
    Refusal::StallRecordMismatch {
        field,
        recorded: json(recorded),
        sent: json(sent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stall::Thresholds;
    use pilot_events::data::{ApprovalExtended, ApprovalRequested};
    use time::macros::datetime;
    use time::Duration;

    const T: OffsetDateTime = datetime!(2026-03-02 09:00 +08:00);
    const PILOT: Uuid = Uuid::from_u128(0xa1);

    fn policy(municipal: u32) -> StallPolicy {
        let thresholds = Thresholds {
            municipal,
            ..Thresholds::default()
        };
        let rules = StallRules::new(thresholds, 0.8, DayCount::Calendar).unwrap();
        StallPolicy::new(rules, BTreeMap::new())
    }

    fn nanguo() -> crate::calendar::WorkCalendar {
        crate::calendar::WorkCalendar::weekends_only("nanguo", time::macros::offset!(+08:00))
            .unwrap()
    }

    fn jurisdictions(calendar: Option<&str>) -> Jurisdictions {
        Jurisdictions::from_parts(
            vec![crate::jurisdiction::Jurisdiction {
                jurisdiction_id: Uuid::from_u128(0xc3),
                name: "Nanguo".into(),
                level: Level::Municipal,
                utc_offset: "+08:00".into(),
                calendar: calendar.map(str::to_string),
                registered_at: T,
                event_id: Uuid::from_u128(0xc4),
            }],
            Vec::new(),
        )
    }

    fn loaded(municipal: u32) -> StallPolicy {
        let thresholds = Thresholds {
            municipal,
            ..Thresholds::default()
        };
        let rules = StallRules::new(thresholds, 0.8, DayCount::Calendar)
            .unwrap()
            .with_calendars([nanguo()]);
        StallPolicy::new(rules, BTreeMap::new())
    }

    #[test]
    fn a_registered_jurisdiction_with_a_calendar_counts_its_working_days() {
        let policy = loaded(10);
        let choice = policy.choose(&PILOT, Some("Nanguo"), &jurisdictions(Some("nanguo")));
        let record = StallPolicy::record_for(&choice, Level::Municipal, T);
        assert_eq!(record.day_count, DayUnit::Working);
        assert_eq!(record.calendar.as_deref(), Some("nanguo"));
        assert_eq!(record.threshold_days, 10, "the default's thresholds");
        // Mon 2026-03-02 09:00: 10 working days later is Mon 03-16 09:00.
        assert_eq!(record.stalls_at, datetime!(2026-03-16 09:00 +08:00));
        let basis = record.basis.unwrap();
        assert_eq!(basis.by, CalendarSource::Jurisdiction);
        assert_eq!(basis.jurisdiction.as_deref(), Some("Nanguo"));
    }

    #[test]
    fn without_a_calendar_the_default_counts_and_the_basis_says_why() {
        let policy = loaded(10);
        for (world, source) in [
            (jurisdictions(None), CalendarSource::JurisdictionNamesNone),
            (
                Jurisdictions::default(),
                CalendarSource::JurisdictionNotRegistered,
            ),
        ] {
            let choice = policy.choose(&PILOT, Some("Nanguo"), &world);
            let record = StallPolicy::record_for(&choice, Level::Municipal, T);
            assert_eq!(record.day_count, DayUnit::Calendar);
            assert_eq!(record.stalls_at, T + Duration::days(10));
            assert_eq!(record.basis.unwrap().by, source);
        }
        let choice = policy.choose(&PILOT, Some("Nanguo"), &jurisdictions(Some("beiguo")));
        let record = StallPolicy::record_for(&choice, Level::Municipal, T);
        assert_eq!(record.stalls_at, T + Duration::days(10));
        let basis = record.basis.unwrap();
        assert_eq!(basis.by, CalendarSource::CalendarNotLoaded);
        assert_eq!(basis.named_calendar.as_deref(), Some("beiguo"));
    }

    #[test]
    fn a_pilot_override_wins_over_its_jurisdiction() {
        let default = loaded(10);
        let own = StallRules::new(Thresholds::default(), 0.8, DayCount::Calendar).unwrap();
        let policy = StallPolicy::new(default.default.clone(), BTreeMap::from([(PILOT, own)]));
        let choice = policy.choose(&PILOT, Some("Nanguo"), &jurisdictions(Some("nanguo")));
        let record = StallPolicy::record_for(&choice, Level::Municipal, T);
        assert_eq!(record.day_count, DayUnit::Calendar);
        assert_eq!(record.stalls_at, T + Duration::days(30));
        assert_eq!(record.basis.unwrap().by, CalendarSource::Override);
    }

    #[test]
    fn stamping_a_new_pilot_takes_the_jurisdiction_its_proposal_names() {
        use pilot_events::data::PilotProposed;
        let proposal: PilotProposed = serde_json::from_value(serde_json::json!({
            "title": "HICI", "jurisdiction": "Nanguo", "policy_area": "health",
            "level": "municipal", "problem_frame": "deficit"
        }))
        .unwrap();
        let mut events = [Event::PilotProposed(proposal), request(None)];
        let mut new: Vec<NewEvent<'_>> = events
            .iter_mut()
            .enumerate()
            .map(|(i, event)| NewEvent {
                event_id: Uuid::from_u128(i as u128 + 1),
                occurred_at: T,
                event,
            })
            .collect();
        loaded(10)
            .stamp(&PILOT, None, &jurisdictions(Some("nanguo")), &mut new)
            .unwrap();
        let Event::ApprovalRequested(d) = &events[1] else {
            panic!("a request")
        };
        let record = d.stall.clone().unwrap();
        assert_eq!(record.calendar.as_deref(), Some("nanguo"));
        assert_eq!(record.stalls_at, datetime!(2026-03-16 09:00 +08:00));
    }

    fn request(stall: Option<StallRecord>) -> Event {
        Event::ApprovalRequested(ApprovalRequested {
            approval_id: "a".into(),
            approver_id: Uuid::from_u128(0xb2),
            level: Level::Municipal,
            note: String::new(),
            stall,
        })
    }

    fn extension(stalls_at: Option<OffsetDateTime>) -> Event {
        Event::ApprovalExtended(ApprovalExtended {
            approval_id: "a".into(),
            extra_days: 5,
            reason: "travel".into(),
            stalls_at,
        })
    }

    fn stamp(policy: &StallPolicy, events: &mut [Event]) -> Result<(), (usize, Refusal)> {
        let mut new: Vec<NewEvent<'_>> = events
            .iter_mut()
            .enumerate()
            .map(|(i, event)| NewEvent {
                event_id: Uuid::from_u128(i as u128 + 1),
                occurred_at: T,
                event,
            })
            .collect();
        policy.stamp(&PILOT, None, &Jurisdictions::default(), &mut new)
    }

    #[test]
    fn a_request_records_the_policy_terms_and_an_extension_its_new_stall() {
        let mut events = [request(None), extension(None)];
        stamp(&policy(10), &mut events).unwrap();
        let Event::ApprovalRequested(d) = &events[0] else {
            panic!("a request")
        };
        let record = d.stall.clone().unwrap();
        assert_eq!(record.threshold_days, 10);
        assert_eq!(record.day_count, DayUnit::Calendar);
        assert_eq!(record.stalls_at, T + Duration::days(10));
        let Event::ApprovalExtended(d) = &events[1] else {
            panic!("an extension")
        };
        assert_eq!(d.stalls_at, Some(T + Duration::days(15)));
    }

    #[test]
    fn a_client_record_is_kept_when_it_is_the_writers_and_refused_otherwise() {
        let writers = policy(10).record_request(&PILOT, Level::Municipal, T);
        let mut same = [request(Some(writers.clone()))];
        assert!(stamp(&policy(10), &mut same).is_ok());
        let forged = StallRecord {
            stalls_at: T + Duration::days(3650),
            ..writers
        };
        let mut events = [request(Some(forged))];
        let (index, refusal) = stamp(&policy(10), &mut events).unwrap_err();
        assert_eq!(index, 0);
        assert_eq!(refusal.code(), "stall_record_mismatch");
        assert!(refusal.to_string().contains("data.stall"), "{refusal}");
        let mut events = [request(None), extension(Some(T + Duration::days(999)))];
        let (index, refusal) = stamp(&policy(10), &mut events).unwrap_err();
        assert_eq!((index, refusal.code()), (1, "stall_record_mismatch"));
    }

    #[test]
    fn an_unrecorded_request_is_extended_by_24_hour_days_whatever_the_policy() {
        let wait = PendingApproval {
            approval_id: "a".into(),
            request_event_id: Uuid::from_u128(1),
            approver_id: Uuid::from_u128(2),
            level: Level::Municipal,
            requested_at: T,
            extra_days: 0,
            stall: None,
            stalls_at: None,
        };
        for municipal in [5, 10, 300] {
            assert_eq!(
                policy(municipal).stalls_after_extension(&PILOT, &wait, 5),
                T + Duration::days(35),
                "schema 1: 30 days, then 5 more"
            );
        }
    }
}
