//! The `[alerts]` section of the configuration: stall rules, calendars and per-pilot overrides.
//!
//! The file says what an operator means ([`AlertsFile`]); [`AlertRules::from_file`] turns it
//! into validated [`StallRules`], one default and one per overridden pilot, and refuses anything
//! doubtful at start with an error that names the file, the entry and the fix. The format is
//! documented in `docs/alerting-rules.md`; `pilot config example` shows it commented.
//!
//! ```toml
//! [alerts]
//! warning_share = 0.8
//! day_count = "working"            # or "calendar" (the default)
//! calendar = "nanguo"              # the `name` inside one of calendar_files
//! calendar_files = ["calendars/nanguo.toml"]  # relative to the configuration file
//! [alerts.thresholds]
//! municipal = 30                   # unspecified levels: 30/30/60/90 (county ... national)
//! [[alerts.pilots]]
//! pilot_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
//! thresholds = { municipal = 10 }  # unspecified keys fall back to the section's values
//! ```
//!
//! - `calendars`: reading and validating calendar files ([`read_calendar`]), found by name.

mod calendars;

pub use calendars::{read_calendar, KnownCalendars};

use calendars::Calendars;
use pilot_projections::calendar::CalendarError;
use pilot_projections::stall::{DayCount, RulesError, StallRules, Thresholds};
use pilot_projections::stall_terms::StallPolicy;
use pilot_projections::AlertBook;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;
use uuid::Uuid;

/// The docs/domain.md default warning share: the yellow light at 80% of the threshold.
const DEFAULT_WARNING_SHARE: f64 = 0.8;

/// The `[alerts]` section as written in the file. Every key is optional; unknown keys are
/// refused, so a misspelt key stops the start instead of being ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsFile {
    /// Share of the threshold at which an approval is flagged as due soon; default 0.8.
    pub warning_share: Option<f64>,
    /// How threshold days are counted; default calendar days.
    pub day_count: Option<DayCountName>,
    /// The working-day calendar, by the `name` inside its file.
    pub calendar: Option<String>,
    /// Calendar files, relative to the configuration file's directory.
    #[serde(default)]
    pub calendar_files: Vec<PathBuf>,
    /// Threshold per approver level; unspecified levels keep the docs/domain.md defaults.
    #[serde(default)]
    pub thresholds: LevelDays,
    /// Per-pilot overrides (`[[alerts.pilots]]`).
    #[serde(default)]
    pub pilots: Vec<PilotOverride>,
    pub webhook: Option<super::webhook::WebhookConfig>,
    pub email: Option<super::email::EmailConfig>,
}

/// `day_count` as written: the calendar itself is named separately (`calendar`), so that
/// several rules can share one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayCountName {
    /// Days of 24 hours from the instant of the request.
    Calendar,
    /// Working days of `calendar`, ending at the request's local time of day.
    Working,
}

impl fmt::Display for DayCountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DayCountName::Calendar => "calendar",
            DayCountName::Working => "working",
        })
    }
}

/// Threshold days per approver level, each optional so that what is left out falls back to
/// the level above it in the file (an override to the section, the section to docs/domain.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelDays {
    pub county: Option<u32>,
    pub municipal: Option<u32>,
    pub provincial: Option<u32>,
    pub national: Option<u32>,
}

impl LevelDays {
    /// `base` with the levels this one names replaced.
    pub fn over(&self, base: Thresholds) -> Thresholds {
        Thresholds {
            county: self.county.unwrap_or(base.county),
            municipal: self.municipal.unwrap_or(base.municipal),
            provincial: self.provincial.unwrap_or(base.provincial),
            national: self.national.unwrap_or(base.national),
        }
    }

    fn is_empty(&self) -> bool {
        *self == LevelDays::default()
    }
}

/// One `[[alerts.pilots]]` entry: rules for one pilot in place of the section's. Keys left out
/// take the section's values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PilotOverride {
    /// Kept as text so that a malformed id is reported with its entry, not as a TOML error.
    pub pilot_id: String,
    #[serde(default)]
    pub thresholds: LevelDays,
    pub warning_share: Option<f64>,
    pub day_count: Option<DayCountName>,
    pub calendar: Option<String>,
}

impl PilotOverride {
    fn changes_nothing(&self) -> bool {
        self.thresholds.is_empty()
            && self.warning_share.is_none()
            && self.day_count.is_none()
            && self.calendar.is_none()
    }
}

/// Why the `[alerts]` section or one of its calendar files was refused. Each message names
/// where the problem is and how to fix it.
#[derive(Debug, Error)]
pub enum AlertRulesError {
    #[error("cannot read the configuration file {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    ParseConfig { path: PathBuf, message: String },
    #[error("cannot read calendar file {path}: {source} (calendar_files are relative to the configuration file's directory)")]
    ReadCalendar {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("calendar file {path} is not a valid calendar: {message} (see docs/alerting-rules.md, \"Calendar files\")")]
    ParseCalendar { path: PathBuf, message: String },
    #[error("calendar file {path}: {source}")]
    InvalidCalendar {
        path: PathBuf,
        #[source]
        source: CalendarError,
    },
    #[error("calendar `{name}` is defined twice, in {first} and in {second}: give each jurisdiction's file its own `name`, or list the file once")]
    DuplicateCalendar {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{scope}: calendar = \"{name}\" is not loaded ({known}); add its file to [alerts] calendar_files, or use the `name` written inside the file")]
    UnknownCalendar {
        scope: Scope,
        name: String,
        known: KnownCalendars,
    },
    #[error("{scope}: day_count = \"working\" needs a working-day calendar; set calendar = \"<name>\" and list its file in [alerts] calendar_files")]
    NoCalendar { scope: Scope },
    #[error("{scope}: calendar = \"{name}\" is set but days are counted as calendar days, so it would be ignored; add day_count = \"working\" or remove calendar")]
    CalendarIgnored { scope: Scope, name: String },
    #[error("{scope}: pilot_id `{value}` is not a UUID like \"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"; copy it from `pilot status`")]
    PilotId { scope: Scope, value: String },
    #[error("[[alerts.pilots]] entries {first} and {second} are both for pilot {pilot_id}; merge them into one entry")]
    DuplicatePilot {
        pilot_id: Uuid,
        first: usize,
        second: usize,
    },
    #[error("{scope}: the override changes nothing; set thresholds, warning_share, day_count or calendar, or remove the entry")]
    EmptyOverride { scope: Scope },
    #[error("{scope}: {source}")]
    Rules {
        scope: Scope,
        #[source]
        source: RulesError,
    },
}

/// Where in `[alerts]` an error is: the section itself, or one `[[alerts.pilots]]` entry
/// (counted from 1, as a person reading the file counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Section,
    Pilot {
        entry: usize,
        pilot_id: Option<Uuid>,
    },
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Section => f.write_str("[alerts]"),
            Scope::Pilot {
                entry,
                pilot_id: None,
            } => write!(f, "[[alerts.pilots]] entry {entry}"),
            Scope::Pilot {
                entry,
                pilot_id: Some(id),
            } => write!(f, "[[alerts.pilots]] entry {entry} (pilot {id})"),
        }
    }
}

/// The resolved alert rules: the default and per-pilot overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertRules {
    default: StallRules,
    overrides: BTreeMap<Uuid, StallRules>,
}

impl AlertRules {
    /// Resolves a section read from a file; relative `calendar_files` are looked up in
    /// `base_dir` (the configuration file's directory), so the file means the same wherever
    /// `pilot` is started.
    pub fn from_file(file: &AlertsFile, base_dir: &Path) -> Result<AlertRules, AlertRulesError> {
        let calendars = Calendars::load(&file.calendar_files, base_dir)?;
        let section = RuleText {
            thresholds: file.thresholds.over(Thresholds::default()),
            warning_share: file.warning_share.unwrap_or(DEFAULT_WARNING_SHARE),
            day_count: file.day_count.unwrap_or(DayCountName::Calendar),
            calendar: file.calendar.clone(),
        };
        // A default calendar is checked even when only overrides would use it.
        if let Some(name) = &section.calendar {
            calendars.get(name, &Scope::Section)?;
        }
        let default = section.build(&calendars, Scope::Section)?;
        let overrides = resolve_overrides(&file.pilots, &section, &calendars)?;
        Ok(AlertRules { default, overrides })
    }

    /// Reads only the `[alerts]` section of a configuration file (other sections are not
    /// checked), for commands such as `pilot replay --config` that need the rules alone.
    pub fn from_config_file(path: &Path) -> Result<AlertRules, AlertRulesError> {
        /// Any configuration file, of which only `[alerts]` is read.
        #[derive(Deserialize)]
        struct OnlyAlerts {
            #[serde(default)]
            alerts: AlertsFile,
        }
        let text = std::fs::read_to_string(path).map_err(|source| AlertRulesError::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        let file: OnlyAlerts =
            toml::from_str(&text).map_err(|error| AlertRulesError::ParseConfig {
                path: path.to_path_buf(),
                message: error.to_string().trim_end().to_string(),
            })?;
        AlertRules::from_file(&file.alerts, config_dir(path))
    }

    /// The rules for every pilot without an override.
    pub fn default_rules(&self) -> &StallRules {
        &self.default
    }

    /// Rules for single pilots, in place of the default.
    pub fn overrides(&self) -> &BTreeMap<Uuid, StallRules> {
        &self.overrides
    }

    /// The rules `pilot_id`'s alerts follow.
    pub fn for_pilot(&self, pilot_id: &Uuid) -> &StallRules {
        self.overrides.get(pilot_id).unwrap_or(&self.default)
    }

    /// What the writer records on new approval requests and extensions under these rules.
    /// Configuration reaches validity only this way: through what the log records.
    pub fn stall_policy(&self) -> StallPolicy {
        StallPolicy::new(self.default.clone(), self.overrides.clone())
    }

    /// An empty alert book with these rules, overrides included.
    pub fn new_book(&self) -> AlertBook {
        AlertBook::with_overrides(self.default.clone(), self.overrides.clone())
    }

    /// One line for `pilot config check` and logs: the default rules, how many overrides, and
    /// the calendars jurisdictions may name.
    pub fn summary(&self) -> String {
        let t = self.default.thresholds();
        let unit = match self.default.day_count() {
            DayCount::Calendar => "calendar days".to_string(),
            DayCount::Working(calendar) => format!("working days of calendar {}", calendar.name()),
        };
        let loaded: Vec<&str> = self.default.calendar_names().collect();
        let calendars = if loaded.is_empty() {
            String::new()
        } else {
            format!("; calendars for jurisdictions: {}", loaded.join(", "))
        };
        format!(
            "county {}, municipal {}, provincial {}, national {} {unit}; warning at {}%; {} pilot override(s){calendars}",
            t.county,
            t.municipal,
            t.provincial,
            t.national,
            (self.default.warning_share() * 100.0).round(),
            self.overrides.len(),
        )
    }
}

/// What `pilot serve` runs the alerter with.
#[derive(Debug, Clone, Default)]
pub struct AlertsConfig {
    pub rules: AlertRules,
    pub webhook: Option<super::webhook::WebhookConfig>,
    pub email: Option<super::email::EmailConfig>,
}

impl AlertsConfig {
    /// The section of the configuration file at `config_path` (`None`: no file, so the
    /// section is empty and always valid), its calendar files resolved next to that file.
    pub fn from_file(
        file: AlertsFile,
        config_path: Option<&Path>,
    ) -> Result<AlertsConfig, AlertRulesError> {
        let base_dir = config_path.map_or(Path::new("."), config_dir);
        let rules = AlertRules::from_file(&file, base_dir)?;
        Ok(AlertsConfig {
            rules,
            webhook: file.webhook,
            email: file.email,
        })
    }
}

/// The directory relative paths in a configuration file are resolved against.
fn config_dir(config_path: &Path) -> &Path {
    config_path.parent().unwrap_or(Path::new("."))
}

/// One set of rules as the file states it, after falling back to the enclosing values.
#[derive(Debug, Clone)]
struct RuleText {
    thresholds: Thresholds,
    warning_share: f64,
    day_count: DayCountName,
    calendar: Option<String>,
}

impl RuleText {
    /// The section's values with what `entry` says on top.
    fn with(&self, entry: &PilotOverride) -> RuleText {
        RuleText {
            thresholds: entry.thresholds.over(self.thresholds),
            warning_share: entry.warning_share.unwrap_or(self.warning_share),
            day_count: entry.day_count.unwrap_or(self.day_count),
            calendar: entry.calendar.clone().or_else(|| self.calendar.clone()),
        }
    }

    fn build(&self, calendars: &Calendars, scope: Scope) -> Result<StallRules, AlertRulesError> {
        let day_count = match (self.day_count, &self.calendar) {
            (DayCountName::Calendar, _) => DayCount::Calendar,
            (DayCountName::Working, None) => return Err(AlertRulesError::NoCalendar { scope }),
            (DayCountName::Working, Some(name)) => {
                DayCount::Working(calendars.get(name, &scope)?.clone())
            }
        };
        StallRules::new(self.thresholds, self.warning_share, day_count)
            .map(|rules| rules.with_calendars(calendars.all()))
            .map_err(|source| AlertRulesError::Rules { scope, source })
    }
}

/// Resolves every `[[alerts.pilots]]` entry against the section's values.
fn resolve_overrides(
    entries: &[PilotOverride],
    section: &RuleText,
    calendars: &Calendars,
) -> Result<BTreeMap<Uuid, StallRules>, AlertRulesError> {
    let mut overrides = BTreeMap::new();
    let mut entry_of: BTreeMap<Uuid, usize> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let number = index + 1;
        let pilot_id = parse_pilot_id(number, &entry.pilot_id)?;
        if let Some(first) = entry_of.insert(pilot_id, number) {
            return Err(AlertRulesError::DuplicatePilot {
                pilot_id,
                first,
                second: number,
            });
        }
        let scope = Scope::Pilot {
            entry: number,
            pilot_id: Some(pilot_id),
        };
        overrides.insert(pilot_id, override_rules(entry, section, calendars, scope)?);
    }
    Ok(overrides)
}

fn override_rules(
    entry: &PilotOverride,
    section: &RuleText,
    calendars: &Calendars,
    scope: Scope,
) -> Result<StallRules, AlertRulesError> {
    if entry.changes_nothing() {
        return Err(AlertRulesError::EmptyOverride { scope });
    }
    let text = section.with(entry);
    // An override's own calendar is a request for working days; silently counting calendar
    // days instead would be the surprise this check prevents.
    if let (Some(name), DayCountName::Calendar) = (&entry.calendar, text.day_count) {
        return Err(AlertRulesError::CalendarIgnored {
            scope,
            name: name.clone(),
        });
    }
    text.build(calendars, scope)
}

fn parse_pilot_id(entry: usize, value: &str) -> Result<Uuid, AlertRulesError> {
    Uuid::parse_str(value.trim()).map_err(|_| AlertRulesError::PilotId {
        scope: Scope::Pilot {
            entry,
            pilot_id: None,
        },
        value: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_events::Level;
    use pilot_projections::stall::{schedule, PendingApproval};
    use time::macros::datetime;
    use time::OffsetDateTime;

    const P: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    const Q: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";

    /// National Day 2008 as in the State Council's notice: 09-29..10-05 off, the weekend
    /// before worked. Dates written bare and quoted, as a person might.
    pub(super) const CALENDAR: &str = r#"
name = "nanguo"
utc_offset = "+08:00"
holidays = [2008-09-29, 2008-09-30, "2008-10-01", 2008-10-02, 2008-10-03, 2008-10-04, 2008-10-05]
makeup_workdays = [2008-09-27, 2008-09-28]
"#;

    fn section(text: &str) -> AlertsFile {
        #[derive(Deserialize)]
        struct File {
            alerts: AlertsFile,
        }
        toml::from_str::<File>(text).unwrap().alerts
    }

    /// A temporary directory holding `files` (name, text).
    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn resolve(text: &str, files: &[(&str, &str)]) -> Result<AlertRules, AlertRulesError> {
        let dir = dir_with(files);
        AlertRules::from_file(&section(text), dir.path())
    }

    pub(super) fn refused(text: &str, files: &[(&str, &str)]) -> String {
        resolve(text, files).unwrap_err().to_string()
    }

    fn pilot(id: &str) -> Uuid {
        Uuid::parse_str(id).unwrap()
    }

    fn municipal(requested_at: OffsetDateTime) -> PendingApproval {
        PendingApproval {
            approval_id: "a".into(),
            request_event_id: Uuid::from_u128(1),
            approver_id: Uuid::from_u128(2),
            level: Level::Municipal,
            requested_at,
            extra_days: 0,
            stall: None,
            stalls_at: None,
        }
    }

    #[test]
    fn an_empty_section_gives_the_domain_defaults() {
        let rules = resolve("[alerts]\n", &[]).unwrap();
        assert_eq!(rules, AlertRules::default());
        assert_eq!(rules.default_rules(), &StallRules::default());
        assert!(rules.new_book().overrides().is_empty());
        assert_eq!(
            rules.summary(),
            "county 30, municipal 30, provincial 60, national 90 calendar days; warning at 80%; 0 pilot override(s)"
        );
    }

    #[test]
    fn the_section_and_its_overrides_resolve_with_fallbacks() {
        let text = format!(
            r#"
[alerts]
warning_share = 0.75
calendar = "nanguo"
calendar_files = ["calendars/nanguo.toml"]
[alerts.thresholds]
municipal = 20
national = 120
[[alerts.pilots]]
pilot_id = "{P}"
thresholds = {{ municipal = 10 }}
[[alerts.pilots]]
pilot_id = "{Q}"
day_count = "working"
warning_share = 0.5
"#
        );
        let rules = resolve(&text, &[("calendars/nanguo.toml", CALENDAR)]).unwrap();
        let default = rules.default_rules();
        assert_eq!(default.day_count(), &DayCount::Calendar);
        assert_eq!(default.warning_share(), 0.75);
        let t = default.thresholds();
        assert_eq!(
            (t.county, t.municipal, t.provincial, t.national),
            (30, 20, 60, 120)
        );

        let p = rules.for_pilot(&pilot(P));
        assert_eq!(p.threshold_days(Level::Municipal), 10);
        assert_eq!(
            p.threshold_days(Level::National),
            120,
            "the section's, not 90"
        );
        assert_eq!(p.warning_share(), 0.75);
        let q = rules.for_pilot(&pilot(Q));
        assert!(matches!(q.day_count(), DayCount::Working(c) if c.name() == "nanguo"));
        assert_eq!(q.threshold_days(Level::Municipal), 20);
        assert_eq!(q.warning_share(), 0.5);
        assert_eq!(rules.for_pilot(&Uuid::from_u128(7)), default);
        assert_eq!(rules.new_book().overrides(), rules.overrides());
    }

    #[test]
    fn working_days_follow_the_calendar_file() {
        let text = r#"
[alerts]
day_count = "working"
calendar = "nanguo"
calendar_files = ["nanguo.toml"]
thresholds = { municipal = 5 }
"#;
        let rules = resolve(text, &[("nanguo.toml", CALENDAR)]).unwrap();
        // Thu 09-25: 1 Fri 26, 2 Sat 27 (make-up), 3 Sun 28 (make-up), (09-29..10-05 off),
        // 4 Mon 10-06, 5 Tue 10-07.
        let due = schedule(
            &municipal(datetime!(2008-09-25 10:00 +08:00)),
            rules.default_rules(),
        )
        .due_at;
        assert_eq!(due, datetime!(2008-10-07 10:00 +08:00));
        assert!(rules.summary().contains("working days of calendar nanguo"));
    }

    #[test]
    fn calendar_files_are_relative_to_the_configuration_file() {
        let dir = dir_with(&[
            ("etc/calendars/nanguo.toml", CALENDAR),
            (
                "etc/pilot.toml",
                "[alerts]\ncalendar = \"nanguo\"\ncalendar_files = [\"calendars/nanguo.toml\"]\n",
            ),
        ]);
        let config = dir.path().join("etc/pilot.toml");
        let rules = AlertRules::from_config_file(&config).unwrap();
        // Calendar days, as by default, knowing nanguo for jurisdictions that name it.
        assert_eq!(rules.default_rules().day_count(), &DayCount::Calendar);
        assert!(rules.default_rules().knows_calendar("nanguo"));
        assert!(rules
            .summary()
            .ends_with("; calendars for jurisdictions: nanguo"));
        let file = section("[alerts]\ncalendar_files = [\"calendars/nanguo.toml\"]\n");
        assert!(AlertsConfig::from_file(file.clone(), Some(&config)).is_ok());
        let elsewhere = dir.path().join("pilot.toml");
        let error = AlertsConfig::from_file(file, Some(&elsewhere))
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot read calendar file"), "{error}");
        assert!(
            error.contains("relative to the configuration file"),
            "{error}"
        );
    }

    #[test]
    fn from_config_file_reads_only_the_alerts_section() {
        let dir = dir_with(&[(
            "pilot.toml",
            "listen = \"127.0.0.1:9000\"\n[nats]\nreplicas = 3\n[alerts]\nthresholds = { county = 7 }\n",
        )]);
        let rules = AlertRules::from_config_file(&dir.path().join("pilot.toml")).unwrap();
        assert_eq!(rules.default_rules().threshold_days(Level::County), 7);
        let missing = dir.path().join("absent.toml");
        let error = AlertRules::from_config_file(&missing).unwrap_err();
        assert!(
            matches!(error, AlertRulesError::ReadConfig { .. }),
            "{error}"
        );
        let dir = dir_with(&[("pilot.toml", "[alerts]\nthreshold = 3\n")]);
        let error = AlertRules::from_config_file(&dir.path().join("pilot.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("threshold"), "{error}");
        assert!(error.contains("pilot.toml"), "{error}");
    }

    pub(super) fn error_without_files(text: &str) -> String {
        refused(text, &[])
    }

    #[test]
    fn an_override_for_a_malformed_pilot_id_is_refused() {
        let error = error_without_files(
            "[alerts]\n[[alerts.pilots]]\npilot_id = \"LCHI\"\nthresholds = { municipal = 10 }\n",
        );
        assert!(error.starts_with("[[alerts.pilots]] entry 1:"), "{error}");
        assert!(error.contains("pilot_id `LCHI` is not a UUID"), "{error}");
    }

    #[test]
    fn two_overrides_for_one_pilot_are_refused() {
        let text = format!(
            "[alerts]\n[[alerts.pilots]]\npilot_id = \"{P}\"\nwarning_share = 0.5\n[[alerts.pilots]]\npilot_id = \"{Q}\"\nwarning_share = 0.5\n[[alerts.pilots]]\npilot_id = \"{}\"\nwarning_share = 0.6\n",
            P.to_uppercase()
        );
        let error = error_without_files(&text);
        assert!(
            error.contains("entries 1 and 3 are both for pilot"),
            "{error}"
        );
        assert!(error.contains(P), "{error}");
    }

    #[test]
    fn a_zero_threshold_is_refused_where_it_is_written() {
        let error = error_without_files("[alerts]\nthresholds = { provincial = 0 }\n");
        assert!(
            error.starts_with("[alerts]: stall threshold for provincial"),
            "{error}"
        );
        let text = format!(
            "[alerts]\n[[alerts.pilots]]\npilot_id = \"{P}\"\nthresholds = {{ county = 0 }}\n"
        );
        let error = error_without_files(&text);
        assert!(
            error.starts_with(&format!(
                "[[alerts.pilots]] entry 1 (pilot {P}): stall threshold for county"
            )),
            "{error}"
        );
    }

    #[test]
    fn a_share_out_of_range_is_refused() {
        for share in ["0.0", "1.0", "80.0", "-0.2", "nan"] {
            let error = error_without_files(&format!("[alerts]\nwarning_share = {share}\n"));
            assert!(
                error.contains("strictly between 0 and 1"),
                "{share}: {error}"
            );
        }
        let text =
            format!("[alerts]\n[[alerts.pilots]]\npilot_id = \"{P}\"\nwarning_share = 1.5\n");
        assert!(error_without_files(&text).contains("entry 1"));
    }

    #[test]
    fn working_days_without_a_calendar_are_refused() {
        let error = error_without_files("[alerts]\nday_count = \"working\"\n");
        assert!(error.contains("needs a working-day calendar"), "{error}");
        let text =
            format!("[alerts]\n[[alerts.pilots]]\npilot_id = \"{P}\"\nday_count = \"working\"\n");
        let error = error_without_files(&text);
        assert!(error.starts_with("[[alerts.pilots]] entry 1"), "{error}");
    }

    #[test]
    fn an_override_calendar_with_calendar_days_is_refused() {
        let text = format!(
            "[alerts]\ncalendar_files = [\"n.toml\"]\n[[alerts.pilots]]\npilot_id = \"{P}\"\ncalendar = \"nanguo\"\n"
        );
        let error = refused(&text, &[("n.toml", CALENDAR)]);
        assert!(error.contains("would be ignored"), "{error}");
        assert!(error.contains("add day_count = \"working\""), "{error}");
    }

    #[test]
    fn an_override_that_changes_nothing_is_refused() {
        let error = error_without_files(&format!(
            "[alerts]\n[[alerts.pilots]]\npilot_id = \"{P}\"\n"
        ));
        assert!(error.contains("the override changes nothing"), "{error}");
    }

    #[test]
    fn unknown_keys_and_day_counts_are_refused_by_name() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct File {
            alerts: AlertsFile,
        }
        for (text, wanted) in [
            ("[alerts]\nwarn_share = 0.8\n", "warn_share"),
            ("[alerts]\nday_count = \"workdays\"\n", "workdays"),
            ("[alerts]\nthresholds = { city = 3 }\n", "city"),
            ("[alerts]\nthresholds = { county = -3 }\n", "county"),
            ("[alerts]\n[[alerts.pilots]]\npilot = \"x\"\n", "pilot"),
        ] {
            let error = toml::from_str::<File>(text).unwrap_err().to_string();
            assert!(error.contains(wanted), "{text}: {error}");
        }
    }

    /// The example calendar shipped in deploy/calendars, loaded as a configuration names it.
    #[test]
    fn the_example_nanguo_calendar_counts_holidays_and_make_up_days() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/calendars/nanguo.toml");
        let text = format!(
            "[alerts]\nday_count = \"working\"\ncalendar = \"nanguo\"\ncalendar_files = [{:?}]\nthresholds = {{ municipal = 5 }}\n",
            example.display().to_string()
        );
        let dir = dir_with(&[("pilot.toml", &text)]);
        let rules = AlertRules::from_config_file(&dir.path().join("pilot.toml")).unwrap();
        let due = |at| schedule(&municipal(at), rules.default_rules()).due_at;
        // 2008 National Day: Thu 09-25, then 1 Fri 26, 2 Sat 27 and 3 Sun 28 (make-up days),
        // 09-29..10-05 off, 4 Mon 10-06, 5 Tue 10-07.
        assert_eq!(
            due(datetime!(2008-09-25 10:00 +08:00)),
            datetime!(2008-10-07 10:00 +08:00)
        );
        // 2008 Spring Festival: Fri 02-01, then 1 Sat 02-02 and 2 Sun 02-03 (make-up days),
        // 3 Mon 04, 4 Tue 05, 02-06..12 off, 5 Wed 02-13.
        assert_eq!(
            due(datetime!(2008-02-01 15:30 +08:00)),
            datetime!(2008-02-13 15:30 +08:00)
        );
        // 2003 National Day: Thu 09-25, 1 Fri 26, 2 Sat 27 and 3 Sun 28 (make-up days),
        // 4 Mon 29, 5 Tue 30 (10-01..07 off).
        assert_eq!(
            due(datetime!(2003-09-25 10:00 +08:00)),
            datetime!(2003-09-30 10:00 +08:00)
        );
        // LCHI's request in the demo history, Mon 2003-10-13: five plain working days.
        assert_eq!(
            due(datetime!(2003-10-13 10:00 +08:00)),
            datetime!(2003-10-20 10:00 +08:00)
        );
    }
}
