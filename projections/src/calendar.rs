//! Working-day calendars, one per jurisdiction, for stall thresholds counted in working days
//! (docs/domain.md, "Stalled approvals and alerts").
//!
//! A day is a working day unless it falls on a weekend weekday or is a public holiday; a
//! make-up working day (调休, as in China, where a weekend day is worked to bridge a holiday) is
//! a working day although it falls on a weekend.
//!
//! The calendar's time zone is a **fixed** UTC offset (`+08:00`). Zones with daylight saving
//! time are not supported: a stall instant is "the same local time of day", and with DST that
//! time can be skipped or repeated, which would need a time-zone database this pure crate does
//! not carry. The jurisdictions the product serves (China: `+08:00` all year) need none.
//!
//! # File shape
//!
//! ```json
//! {
//!   "name": "nanguo",
//!   "utc_offset": "+08:00",
//!   "weekend": ["saturday", "sunday"],
//!   "holidays": ["2008-10-01", "2008-10-02"],
//!   "makeup_workdays": ["2008-09-27", "2008-09-28"]
//! }
//! ```
//!
//! `utc_offset` is `+HH:MM`, `-HH:MM` or `Z`; `weekend` defaults to Saturday and Sunday (an
//! empty list means every weekday is worked); `holidays` and `makeup_workdays` are ISO dates and
//! default to empty. Unknown fields are refused, so a misspelt key is not silently ignored.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use thiserror::Error;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset, Weekday};

/// Weekday names as they appear in a calendar file, Monday first.
const WEEKDAY_NAMES: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

/// What is wrong with a calendar; each variant names the calendar and the offending value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error("calendar name is empty: give the jurisdiction's name, e.g. \"nanguo\"")]
    EmptyName,
    #[error("calendar `{calendar}`: utc_offset `{value}` is not a fixed offset like \"+08:00\", \"-05:30\" or \"Z\" (time zones with daylight saving are not supported)")]
    BadOffset { calendar: String, value: String },
    #[error("calendar `{calendar}`: weekend day `{value}` is not a weekday; use monday, tuesday, wednesday, thursday, friday, saturday or sunday")]
    UnknownWeekday { calendar: String, value: String },
    #[error("calendar `{calendar}`: {field} entry `{value}` is not a date like \"2008-10-01\"")]
    BadDate {
        calendar: String,
        field: &'static str,
        value: String,
    },
    #[error("calendar `{calendar}`: {date} is listed both as a holiday and as a make-up working day; it can only be one")]
    HolidayAndMakeup { calendar: String, date: Date },
    #[error("calendar `{calendar}`: make-up working day {date} is a {weekday}, which is already a working day; make-up days must fall on the weekend")]
    MakeupNotOnWeekend {
        calendar: String,
        date: Date,
        weekday: Weekday,
    },
    #[error("calendar `{calendar}`: every weekday is a weekend day, so no week has a working day; leave at least one weekday out of `weekend`")]
    NoWorkingWeekday { calendar: String },
}

/// The documented file shape of a calendar, before validation.
///
/// Kept separate from [`WorkCalendar`] so that a calendar can only exist once it has been
/// checked: deserializing a `WorkCalendar` goes through this shape and [`WorkCalendar::try_from`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub name: String,
    pub utc_offset: String,
    #[serde(default = "default_weekend_names")]
    pub weekend: Vec<String>,
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub makeup_workdays: Vec<String>,
}

fn default_weekend_names() -> Vec<String> {
    vec!["saturday".to_string(), "sunday".to_string()]
}

/// A validated working-day calendar for one jurisdiction.
///
/// Invariants (checked on construction): the name is not empty, at least one weekday is a
/// working weekday, no date is both a holiday and a make-up day, and every make-up day falls
/// on a weekend weekday. The second is what makes [`WorkCalendar::add_working_days`] always
/// terminate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct WorkCalendar {
    name: String,
    utc_offset: UtcOffset,
    /// Indexed by `Weekday::number_days_from_monday`.
    weekend: [bool; 7],
    holidays: BTreeSet<Date>,
    makeup_workdays: BTreeSet<Date>,
}

impl WorkCalendar {
    /// Builds and validates a calendar from typed parts.
    pub fn new(
        name: impl Into<String>,
        utc_offset: UtcOffset,
        weekend: &[Weekday],
        holidays: impl IntoIterator<Item = Date>,
        makeup_workdays: impl IntoIterator<Item = Date>,
    ) -> Result<Self, CalendarError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(CalendarError::EmptyName);
        }
        let mut mask = [false; 7];
        for day in weekend {
            mask[weekday_index(*day)] = true;
        }
        let calendar = WorkCalendar {
            name,
            utc_offset,
            weekend: mask,
            holidays: holidays.into_iter().collect(),
            makeup_workdays: makeup_workdays.into_iter().collect(),
        };
        calendar.validate()?;
        Ok(calendar)
    }

    /// A calendar with the default Saturday + Sunday weekend and no holidays.
    pub fn weekends_only(
        name: impl Into<String>,
        utc_offset: UtcOffset,
    ) -> Result<Self, CalendarError> {
        let no_dates: [Date; 0] = [];
        WorkCalendar::new(
            name,
            utc_offset,
            &[Weekday::Saturday, Weekday::Sunday],
            no_dates,
            no_dates,
        )
    }

    fn validate(&self) -> Result<(), CalendarError> {
        if self.working_weekdays() == 0 {
            return Err(CalendarError::NoWorkingWeekday {
                calendar: self.name.clone(),
            });
        }
        if let Some(date) = self.holidays.intersection(&self.makeup_workdays).next() {
            return Err(CalendarError::HolidayAndMakeup {
                calendar: self.name.clone(),
                date: *date,
            });
        }
        match self.makeup_workdays.iter().find(|d| !self.is_weekend(**d)) {
            Some(date) => Err(CalendarError::MakeupNotOnWeekend {
                calendar: self.name.clone(),
                date: *date,
                weekday: date.weekday(),
            }),
            None => Ok(()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn utc_offset(&self) -> UtcOffset {
        self.utc_offset
    }

    /// Weekend weekdays, Monday first.
    pub fn weekend(&self) -> Vec<Weekday> {
        WEEKDAY_NAMES
            .iter()
            .map(|(_, day)| *day)
            .filter(|day| self.weekend[weekday_index(*day)])
            .collect()
    }

    pub fn holidays(&self) -> &BTreeSet<Date> {
        &self.holidays
    }

    pub fn makeup_workdays(&self) -> &BTreeSet<Date> {
        &self.makeup_workdays
    }

    /// Whether `date` (a local date in this calendar's zone) is worked.
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.makeup_workdays.contains(&date) {
            return true;
        }
        !self.holidays.contains(&date) && !self.is_weekend(date)
    }

    /// The instant at the same local time of day (in this calendar's offset) as `start`, on the
    /// `n`th working day after `start`'s local date; `n = 0` gives `start` itself.
    ///
    /// The day of `start` never counts, even when it is a working day: a request made on Friday
    /// afternoon has its first working day on Monday. The result is expressed in the calendar's
    /// offset. Beyond the last representable date (year 9999) it saturates to that date, which
    /// for an alert means "never".
    pub fn add_working_days(&self, start: OffsetDateTime, n: u32) -> OffsetDateTime {
        self.saturating_add_working_days(start, u64::from(n))
    }

    /// [`WorkCalendar::add_working_days`] for counts beyond `u32` (k whole thresholds), with the
    /// same saturation at the last representable date.
    pub fn saturating_add_working_days(&self, start: OffsetDateTime, n: u64) -> OffsetDateTime {
        let local = start.to_offset(self.utc_offset);
        self.checked_add_working_days(start, n)
            .unwrap_or_else(|| at_local(Date::MAX, local.time(), self.utc_offset))
    }

    /// [`WorkCalendar::add_working_days`] for large counts; `None` past the last representable date.
    pub fn checked_add_working_days(
        &self,
        start: OffsetDateTime,
        n: u64,
    ) -> Option<OffsetDateTime> {
        let local = start.to_offset(self.utc_offset);
        let date = self.nth_working_day_after(local.date(), n)?;
        Some(at_local(date, local.time(), self.utc_offset))
    }

    /// How many working-day steps from `start` have been reached by `now`: the largest `m` with
    /// `add_working_days(start, m) <= now` (0 when `now` is before the first one).
    ///
    /// Counted in closed form rather than by calling `add_working_days` repeatedly, so that an
    /// alerter catching up on years of history stays linear in the number of holidays.
    pub fn working_days_elapsed(&self, start: OffsetDateTime, now: OffsetDateTime) -> u64 {
        let start = start.to_offset(self.utc_offset);
        let now = now.to_offset(self.utc_offset);
        if now.date() <= start.date() {
            return 0;
        }
        let before_today = match now.date().previous_day() {
            Some(yesterday) => self.working_days_between(start.date(), yesterday),
            None => 0,
        };
        let today = self.is_working_day(now.date()) && now.time() >= start.time();
        before_today + u64::from(today)
    }

    /// Number of working days `d` with `after < d <= through`.
    pub fn working_days_between(&self, after: Date, through: Date) -> u64 {
        let mut count = 0;
        let mut day = after;
        while day < through {
            let weeks = self.plain_weeks_after(day, through);
            if weeks > 0 {
                match add_days(day, weeks * 7) {
                    Some(next) => {
                        count += weeks * self.working_weekdays();
                        day = next;
                        continue;
                    }
                    None => break,
                }
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
            count += u64::from(self.is_working_day(day));
        }
        count
    }

    /// The date of the `n`th working day after `date`.
    ///
    /// Whole weeks without a holiday or make-up day are skipped in one step, so the loop runs
    /// about 7 times per special date in the range, not once per day; and it always ends,
    /// because every week has a working weekday (a validated invariant) and dates are bounded.
    fn nth_working_day_after(&self, date: Date, n: u64) -> Option<Date> {
        let per_week = self.working_weekdays();
        let mut remaining = n;
        let mut day = date;
        while remaining > 0 {
            // Jump only while at least one working day stays to be found by stepping, so the
            // loop ends on the working day itself, not on the weekend after it.
            let weeks = self
                .plain_weeks_after(day, Date::MAX)
                .min((remaining - 1).checked_div(per_week)?);
            if weeks > 0 {
                day = add_days(day, weeks * 7)?;
                remaining -= weeks * per_week;
                continue;
            }
            day = day.next_day()?;
            if self.is_working_day(day) {
                remaining -= 1;
            }
        }
        Some(day)
    }

    /// How many whole weeks after `day` (ending on or before `limit`) contain no holiday or
    /// make-up day, and so have exactly `working_weekdays()` working days each.
    fn plain_weeks_after(&self, day: Date, limit: Date) -> u64 {
        let next_special = [&self.holidays, &self.makeup_workdays]
            .iter()
            .filter_map(|set| set.range(day..).find(|d| **d > day).copied())
            .min();
        let end = match next_special.and_then(Date::previous_day) {
            Some(before_special) => before_special.min(limit),
            None => limit,
        };
        let days = (end - day).whole_days();
        u64::try_from(days / 7).unwrap_or(0)
    }

    fn is_weekend(&self, date: Date) -> bool {
        self.weekend[weekday_index(date.weekday())]
    }

    fn working_weekdays(&self) -> u64 {
        self.weekend.iter().filter(|w| !**w).count() as u64
    }
}

impl TryFrom<CalendarSpec> for WorkCalendar {
    type Error = CalendarError;

    fn try_from(spec: CalendarSpec) -> Result<Self, Self::Error> {
        let calendar = spec.name.clone();
        if calendar.trim().is_empty() {
            return Err(CalendarError::EmptyName);
        }
        let offset = parse_offset(&spec.utc_offset).ok_or_else(|| CalendarError::BadOffset {
            calendar: calendar.clone(),
            value: spec.utc_offset.clone(),
        })?;
        let weekend = spec
            .weekend
            .iter()
            .map(|name| {
                parse_weekday(name).ok_or_else(|| CalendarError::UnknownWeekday {
                    calendar: calendar.clone(),
                    value: name.clone(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let holidays = parse_dates(&calendar, "holidays", &spec.holidays)?;
        let makeup = parse_dates(&calendar, "makeup_workdays", &spec.makeup_workdays)?;
        WorkCalendar::new(spec.name, offset, &weekend, holidays, makeup)
    }
}

impl From<WorkCalendar> for CalendarSpec {
    fn from(calendar: WorkCalendar) -> Self {
        CalendarSpec {
            weekend: calendar
                .weekend()
                .into_iter()
                .map(|day| weekday_name(day).to_string())
                .collect(),
            utc_offset: format_offset(calendar.utc_offset),
            holidays: calendar.holidays.iter().map(Date::to_string).collect(),
            makeup_workdays: calendar
                .makeup_workdays
                .iter()
                .map(Date::to_string)
                .collect(),
            name: calendar.name,
        }
    }
}

fn weekday_index(day: Weekday) -> usize {
    usize::from(day.number_days_from_monday())
}

fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAY_NAMES[weekday_index(day)].0
}

/// Weekday names are matched case-insensitively: "Saturday" in a hand-written file is not a typo.
fn parse_weekday(name: &str) -> Option<Weekday> {
    WEEKDAY_NAMES
        .iter()
        .find(|(wire, _)| wire.eq_ignore_ascii_case(name.trim()))
        .map(|(_, day)| *day)
}

fn parse_offset(text: &str) -> Option<UtcOffset> {
    if text == "Z" {
        return Some(UtcOffset::UTC);
    }
    UtcOffset::parse(
        text,
        format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .ok()
}

fn format_offset(offset: UtcOffset) -> String {
    let (hours, minutes, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!(
        "{sign}{:02}:{:02}",
        hours.unsigned_abs(),
        minutes.unsigned_abs()
    )
}

fn parse_dates(
    calendar: &str,
    field: &'static str,
    values: &[String],
) -> Result<Vec<Date>, CalendarError> {
    values
        .iter()
        .map(|value| {
            Date::parse(value, format_description!("[year]-[month]-[day]")).map_err(|_| {
                CalendarError::BadDate {
                    calendar: calendar.to_string(),
                    field,
                    value: value.clone(),
                }
            })
        })
        .collect()
}

fn add_days(date: Date, days: u64) -> Option<Date> {
    date.checked_add(days_duration(days)?)
}

/// `days` whole days of 86 400 s, or `None` when that does not fit a `Duration`
/// (`Duration::days` would panic instead).
pub(crate) fn days_duration(days: u64) -> Option<Duration> {
    let seconds = i64::try_from(days).ok()?.checked_mul(86_400)?;
    Some(Duration::seconds(seconds))
}

fn at_local(date: Date, time: Time, offset: UtcOffset) -> OffsetDateTime {
    OffsetDateTime::new_in_offset(date, time, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, offset};

    /// The test calendar of the brief: National Day 2008-10-01..07 off, and the weekend before
    /// (Sat 2008-09-27, Sun 2008-09-28) worked instead.
    fn nanguo() -> WorkCalendar {
        serde_json::from_str(
            r#"{
                "name": "nanguo",
                "utc_offset": "+08:00",
                "weekend": ["saturday", "sunday"],
                "holidays": ["2008-10-01", "2008-10-02", "2008-10-03", "2008-10-04",
                             "2008-10-05", "2008-10-06", "2008-10-07"],
                "makeup_workdays": ["2008-09-27", "2008-09-28"]
            }"#,
        )
        .unwrap()
    }

    fn spec_error(json: &str) -> String {
        serde_json::from_str::<WorkCalendar>(json)
            .unwrap_err()
            .to_string()
    }

    /// Reference implementation: one day at a time, no week skipping.
    fn naive_nth(calendar: &WorkCalendar, date: Date, n: u64) -> Date {
        let mut day = date;
        let mut remaining = n;
        while remaining > 0 {
            day = day.next_day().unwrap();
            if calendar.is_working_day(day) {
                remaining -= 1;
            }
        }
        day
    }

    #[test]
    fn holidays_weekends_and_makeup_days() {
        let cal = nanguo();
        assert!(cal.is_working_day(date!(2008 - 09 - 26)), "a plain Friday");
        assert!(
            cal.is_working_day(date!(2008 - 09 - 27)),
            "make-up Saturday"
        );
        assert!(cal.is_working_day(date!(2008 - 09 - 28)), "make-up Sunday");
        assert!(
            !cal.is_working_day(date!(2008 - 10 - 01)),
            "holiday Wednesday"
        );
        assert!(
            !cal.is_working_day(date!(2008 - 10 - 04)),
            "holiday Saturday"
        );
        assert!(!cal.is_working_day(date!(2008 - 10 - 11)), "plain Saturday");
        assert!(cal.is_working_day(date!(2008 - 10 - 13)), "plain Monday");
    }

    #[test]
    fn counts_across_makeup_days_and_a_holiday_week() {
        let cal = nanguo();
        // Thursday 2008-09-25, 10:00 Nanguo time. Working days after it, by hand:
        // 1 Fri 09-26, 2 Sat 09-27 (make-up), 3 Sun 09-28 (make-up), 4 Mon 09-29, 5 Tue 09-30,
        // (10-01..07 holiday), 6 Wed 10-08, 7 Thu 10-09, 8 Fri 10-10, (weekend),
        // 9 Mon 10-13, 10 Tue 10-14.
        let start = datetime!(2008-09-25 10:00 +08:00);
        let expected = [
            (0, datetime!(2008-09-25 10:00 +08:00)),
            (1, datetime!(2008-09-26 10:00 +08:00)),
            (2, datetime!(2008-09-27 10:00 +08:00)),
            (3, datetime!(2008-09-28 10:00 +08:00)),
            (5, datetime!(2008-09-30 10:00 +08:00)),
            (6, datetime!(2008-10-08 10:00 +08:00)),
            (8, datetime!(2008-10-10 10:00 +08:00)),
            (9, datetime!(2008-10-13 10:00 +08:00)),
            (10, datetime!(2008-10-14 10:00 +08:00)),
        ];
        for (n, want) in expected {
            let got = cal.add_working_days(start, n);
            assert_eq!(got, want, "{n} working days");
            assert_eq!(
                got.offset(),
                offset!(+08:00),
                "result is in the calendar's offset"
            );
        }
    }

    #[test]
    fn the_local_date_is_taken_in_the_calendars_offset() {
        let cal = nanguo();
        // 18:00 UTC on Thursday is 02:00 on Friday in Nanguo: the next working day is the
        // make-up Saturday, at 02:00 local. Counting from the UTC date would give Friday.
        let start = datetime!(2008-09-25 18:00 UTC);
        assert_eq!(
            cal.add_working_days(start, 1),
            datetime!(2008-09-27 02:00 +08:00)
        );
    }

    #[test]
    fn week_skipping_agrees_with_day_by_day_counting() {
        let one_day_weekend = WorkCalendar::new(
            "six-day-week",
            offset!(+08:00),
            &[Weekday::Sunday],
            [date!(2009 - 01 - 01), date!(2009 - 01 - 26)],
            [date!(2009 - 01 - 04)],
        )
        .unwrap();
        for cal in [nanguo(), one_day_weekend] {
            for start_day in 0..20 {
                let date = date!(2008 - 09 - 15) + Duration::days(start_day);
                for n in 0..200 {
                    let want = naive_nth(&cal, date, n);
                    let start = at_local(date, Time::MIDNIGHT, cal.utc_offset());
                    let got = cal.checked_add_working_days(start, n).unwrap();
                    assert_eq!(got.date(), want, "{} + {n}", date);
                    assert_eq!(cal.working_days_between(date, want), n);
                }
            }
        }
    }

    #[test]
    fn elapsed_working_days_invert_adding_them() {
        let cal = nanguo();
        let start = datetime!(2008-09-25 10:00 +08:00);
        for n in 0..40u64 {
            let at = cal.checked_add_working_days(start, n).unwrap();
            assert_eq!(
                cal.working_days_elapsed(start, at),
                n,
                "exactly at step {n}"
            );
            let just_before = at - Duration::seconds(1);
            let want = n.saturating_sub(1);
            assert_eq!(cal.working_days_elapsed(start, just_before), want);
        }
    }

    #[test]
    fn huge_counts_saturate_instead_of_looping_or_panicking() {
        let cal = nanguo();
        let end = cal.add_working_days(datetime!(2008-09-25 10:00 +08:00), u32::MAX);
        assert_eq!(end.date(), Date::MAX);
        assert_eq!(
            cal.checked_add_working_days(datetime!(2008-09-25 10:00 +08:00), u64::MAX),
            None
        );
    }

    #[test]
    fn default_weekend_and_round_trip() {
        let cal: WorkCalendar =
            serde_json::from_str(r#"{"name": "x", "utc_offset": "-05:30"}"#).unwrap();
        assert_eq!(cal.weekend(), [Weekday::Saturday, Weekday::Sunday]);
        assert_eq!(cal.utc_offset(), offset!(-05:30));
        let json = serde_json::to_value(nanguo()).unwrap();
        assert_eq!(json["utc_offset"], "+08:00");
        assert_eq!(json["makeup_workdays"][0], "2008-09-27");
        assert_eq!(
            serde_json::from_value::<WorkCalendar>(json).unwrap(),
            nanguo()
        );
    }

    #[test]
    fn invalid_calendars_say_what_is_wrong() {
        let err = spec_error(r#"{"name": "n", "utc_offset": "Asia/Shanghai"}"#);
        assert!(err.contains("utc_offset `Asia/Shanghai`"), "{err}");
        let err = spec_error(r#"{"name": "n", "utc_offset": "+8"}"#);
        assert!(err.contains("not a fixed offset"), "{err}");
        let err = spec_error(
            r#"{"name": "n", "utc_offset": "+08:00", "holidays": ["2008-09-27"], "makeup_workdays": ["2008-09-27"]}"#,
        );
        assert!(err.contains("2008-09-27 is listed both"), "{err}");
        let err = spec_error(
            r#"{"name": "n", "utc_offset": "+08:00", "makeup_workdays": ["2008-10-01"]}"#,
        );
        assert!(err.contains("2008-10-01 is a Wednesday"), "{err}");
        let err =
            spec_error(r#"{"name": "n", "utc_offset": "+08:00", "holidays": ["2008-02-30"]}"#);
        assert!(err.contains("holidays entry `2008-02-30`"), "{err}");
        let err = spec_error(r#"{"name": "n", "utc_offset": "+08:00", "weekend": ["caturday"]}"#);
        assert!(err.contains("`caturday` is not a weekday"), "{err}");
        let err = spec_error(r#"{"name": " ", "utc_offset": "+08:00"}"#);
        assert!(err.contains("name is empty"), "{err}");
        let err = spec_error(r#"{"name": "n", "utc_offset": "+08:00", "holiday": []}"#);
        assert!(err.contains("unknown field `holiday`"), "{err}");
    }

    #[test]
    fn a_calendar_without_working_weekdays_is_refused() {
        let all = WEEKDAY_NAMES.map(|(_, day)| day);
        let no_dates: [Date; 0] = [];
        assert_eq!(
            WorkCalendar::new("never", UtcOffset::UTC, &all, no_dates, no_dates),
            Err(CalendarError::NoWorkingWeekday {
                calendar: "never".into()
            })
        );
    }
}
