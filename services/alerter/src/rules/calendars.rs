//! Calendar files: reading and validating one ([`read_calendar`]), and the set named by
//! `calendar_files`, looked up by the `name` written inside each.

use super::{AlertRulesError, Scope};
use pilot_projections::calendar::{CalendarSpec, WorkCalendar};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The keys of a calendar file whose entries are dates; TOML lets them be written bare
/// (`2008-10-01`) or quoted.
const DATE_KEYS: [&str; 2] = ["holidays", "makeup_workdays"];

/// The calendars that were loaded, for an error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCalendars(pub Vec<String>);

impl fmt::Display for KnownCalendars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no calendar_files are listed");
        }
        let names: Vec<String> = self.0.iter().map(|n| format!("\"{n}\"")).collect();
        write!(f, "loaded: {}", names.join(", "))
    }
}

/// The loaded calendars by name, with the file each came from.
#[derive(Debug, Default)]
pub(super) struct Calendars {
    by_name: BTreeMap<String, (WorkCalendar, PathBuf)>,
}

impl Calendars {
    pub(super) fn load(files: &[PathBuf], base_dir: &Path) -> Result<Calendars, AlertRulesError> {
        let mut calendars = Calendars::default();
        for file in files {
            let path = base_dir.join(file);
            let calendar = read_calendar(&path)?;
            let name = calendar.name().to_string();
            if let Some((_, first)) = calendars.by_name.get(&name) {
                return Err(AlertRulesError::DuplicateCalendar {
                    name,
                    first: first.clone(),
                    second: path,
                });
            }
            calendars.by_name.insert(name, (calendar, path));
        }
        Ok(calendars)
    }

    /// Every loaded calendar: rules know them all, so that a pilot whose jurisdiction names
    /// one is counted in it (docs/alerting-rules.md, "Calendars by jurisdiction").
    pub(super) fn all(&self) -> impl Iterator<Item = WorkCalendar> + '_ {
        self.by_name.values().map(|(calendar, _)| calendar.clone())
    }

    pub(super) fn get(&self, name: &str, scope: &Scope) -> Result<&WorkCalendar, AlertRulesError> {
        match self.by_name.get(name) {
            Some((calendar, _)) => Ok(calendar),
            None => Err(AlertRulesError::UnknownCalendar {
                scope: scope.clone(),
                name: name.to_string(),
                known: KnownCalendars(self.by_name.keys().cloned().collect()),
            }),
        }
    }
}

/// Reads and validates one calendar file (TOML, the shape of [`CalendarSpec`]).
pub fn read_calendar(path: &Path) -> Result<WorkCalendar, AlertRulesError> {
    let text = std::fs::read_to_string(path).map_err(|source| AlertRulesError::ReadCalendar {
        path: path.to_path_buf(),
        source,
    })?;
    let spec = parse_calendar_spec(&text).map_err(|message| AlertRulesError::ParseCalendar {
        path: path.to_path_buf(),
        message,
    })?;
    WorkCalendar::try_from(spec).map_err(|source| AlertRulesError::InvalidCalendar {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses the text of a calendar file into its unvalidated shape. Bare TOML dates in
/// `holidays` and `makeup_workdays` become the ISO text the shape expects; anything else there
/// is left for validation to name.
fn parse_calendar_spec(text: &str) -> Result<CalendarSpec, String> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    for key in DATE_KEYS {
        if let Some(toml::Value::Array(items)) = table.get_mut(key) {
            for item in items.iter_mut() {
                if let toml::Value::Datetime(date) = item {
                    *item = toml::Value::String(date.to_string());
                }
            }
        }
    }
    CalendarSpec::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{error_without_files, refused, CALENDAR};

    #[test]
    fn an_unknown_calendar_names_the_loaded_ones() {
        let error = refused(
            "[alerts]\nday_count = \"working\"\ncalendar = \"beiguo\"\ncalendar_files = [\"n.toml\"]\n",
            &[("n.toml", CALENDAR)],
        );
        assert!(
            error.starts_with("[alerts]: calendar = \"beiguo\""),
            "{error}"
        );
        assert!(error.contains("loaded: \"nanguo\""), "{error}");
        let error = error_without_files("[alerts]\ncalendar = \"nanguo\"\n");
        assert!(error.contains("no calendar_files are listed"), "{error}");
    }

    #[test]
    fn a_missing_calendar_file_is_named() {
        let error =
            error_without_files("[alerts]\ncalendar_files = [\"calendars/nowhere.toml\"]\n");
        assert!(error.contains("calendars/nowhere.toml"), "{error}");
        assert!(error.contains("cannot read calendar file"), "{error}");
    }

    #[test]
    fn a_bad_date_names_the_file_the_field_and_the_value() {
        let bad = CALENDAR.replace("2008-10-03,", "\"2008-10-32\",");
        let error = refused(
            "[alerts]\ncalendar_files = [\"n.toml\"]\n",
            &[("n.toml", &bad)],
        );
        assert!(error.contains("n.toml"), "{error}");
        assert!(error.contains("holidays entry `2008-10-32`"), "{error}");
        let timed = CALENDAR.replace("2008-10-03,", "2008-10-03T09:00:00,");
        let error = refused(
            "[alerts]\ncalendar_files = [\"n.toml\"]\n",
            &[("n.toml", &timed)],
        );
        assert!(
            error.contains("`2008-10-03T09:00:00` is not a date"),
            "{error}"
        );
    }

    #[test]
    fn a_malformed_calendar_file_says_what_is_wrong() {
        let cases = [
            (
                "name = \"n\"\nutc_offset = \"+08:00\"\nholiday = []\n",
                "unknown field `holiday`",
            ),
            ("name = \"n\"\n", "missing field `utc_offset`"),
            (
                "name = \"n\"\nutc_offset = \"Asia/Shanghai\"\n",
                "not a fixed offset",
            ),
            (
                "name = \"n\"\nutc_offset = \"+08:00\"\nweekend = [\"caturday\"]\n",
                "`caturday` is not a weekday",
            ),
            (
                "name = \"n\"\nutc_offset = \"+08:00\"\nmakeup_workdays = [2008-10-01]\n",
                "make-up days must fall on the weekend",
            ),
            ("name = = \"n\"\n", "n.toml"),
        ];
        for (text, wanted) in cases {
            let error = refused(
                "[alerts]\ncalendar_files = [\"n.toml\"]\n",
                &[("n.toml", text)],
            );
            assert!(error.contains(wanted), "{text}: {error}");
            assert!(error.contains("n.toml"), "{text}: {error}");
        }
    }

    #[test]
    fn two_files_with_one_calendar_name_are_refused() {
        let error = refused(
            "[alerts]\ncalendar_files = [\"a.toml\", \"b.toml\"]\n",
            &[("a.toml", CALENDAR), ("b.toml", CALENDAR)],
        );
        assert!(
            error.contains("calendar `nanguo` is defined twice"),
            "{error}"
        );
        assert!(
            error.contains("a.toml") && error.contains("b.toml"),
            "{error}"
        );
    }
}
