//! `pilot events [--pilot P] [--type T] [--since DATE] [--until DATE] [--last N]`: the log as
//! stored (`GET /api/v1/events`, paged by [`crate::log`]), a line per event naming its pilot or
//! stakeholder by title or name; `--json` writes the events as stored, one per line.
//!
//! [`Names`] and [`cells`] are also how `pilot follow` shows each event it is sent.

use super::http::Http;
use super::log::Source;
use super::output;
use super::resolve::{self, Kind};
use super::status::parse_when;
use super::table::Ids;
use super::{Common, Failure};
use clap::Args;
use pilot_events::EventType;
use serde_json::Value;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// Only this pilot's chain: its id, the start of its title, or a short id.
    #[arg(long, value_name = "PILOT")]
    pub pilot: Option<String>,

    /// Only events of this type (`approval.requested`) or family (`approval`).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
    pub kind: Option<String>,

    /// Only events that occurred on or after this date (its start, in UTC) or timestamp.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<String>,

    /// Only events that occurred on or before this date (its end, in UTC) or timestamp.
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub until: Option<String>,

    /// Only the last N of the events that pass the filters.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

/// A type name, or a family that starts some (`approval` for `approval.*`).
pub fn parse_type(text: &str) -> Result<String, String> {
    let text = text.trim();
    if EventType::ALL.iter().any(|t| of_type(t.as_str(), text)) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "not an event type or family; the types are {}",
            EventType::allowed()
        ))
    }
}

/// Whether type name `kind` is `wanted` or of the family `wanted`.
pub fn of_type(kind: &str, wanted: &str) -> bool {
    kind == wanted
        || kind
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// A date (the start of that day in UTC) or an RFC 3339 timestamp, checked and kept as given.
fn parse_since(text: &str) -> Result<String, String> {
    since_instant(text).map(|_| text.trim().to_string())
}

fn since_instant(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| {
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map(|d| d.midnight().assume_utc())
        })
        .map_err(|_| {
            format!(
                "a date (2001-01-01) or an RFC 3339 timestamp with an offset \
                 (2001-01-01T00:00:00+08:00); got {text:?}"
            )
        })
}

/// Which events pass: by type, and by when they occurred.
#[derive(Debug, Default)]
struct Filter {
    kind: Option<String>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
}

impl Filter {
    fn keeps(&self, event: &Value) -> bool {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        if !self.kind.as_deref().is_none_or(|k| of_type(kind, k)) {
            return false;
        }
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let occurred = event
            .get("occurred_at")
            .and_then(Value::as_str)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        self.since.is_none_or(|s| occurred.is_some_and(|o| o >= s))
            && self.until.is_none_or(|u| occurred.is_some_and(|o| o <= u))
    }
}

pub async fn run(args: EventsArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let pilot = resolve::optional(&http, Kind::Pilot, args.pilot.as_deref()).await?;
    let filter = Filter {
        kind: args.kind.clone(),
        since: args
            .since
            .as_deref()
            .map(since_instant)
            .transpose()
            .map_err(Failure::Input)?,
        until: args
            .until
            .as_deref()
            .map(|u| pilot_api::query::parse_instant("until", u))
            .transpose()
            .map_err(|e| Failure::Input(e.message))?,
    };
    let mut kept = Vec::new();
    Source::Server(http.clone())
        .for_each(pilot, |entry| {
            let event: Value = serde_json::from_slice(&entry.bytes)
                .map_err(|e| Failure::BadAnswer(format!("a stored event is not JSON ({e})")))?;
            if filter.keeps(&event) {
                kept.push((entry, event));
            }
            Ok(())
        })
        .await?;
    if let Some(last) = args.last {
        kept.drain(..kept.len().saturating_sub(last));
    }
    if args.common.json {
        let mut text = Vec::new();
        for (entry, _) in &kept {
            text.extend_from_slice(&entry.bytes);
            text.push(b'\n');
        }
        return output::print(&String::from_utf8_lossy(&text));
    }
    if kept.is_empty() {
        return output::line("no events");
    }
    let names = Names::load(&http).await;
    let positions = match pilot {
        Some(id) => chain_positions(&http, id).await,
        None => HashMap::new(),
    };
    let mut table = args.ids.table(&HEADERS, "subject_id").right(&["position"]);
    for (entry, event) in &kept {
        let position = entry
            .position
            .or_else(|| positions.get(&output::text(event, "event_id")).copied())
            .map_or_else(|| "-".into(), |p| p.to_string());
        table.row(
            args.ids
                .cells(cells(position, event, &names), subject_id(event)),
        );
    }
    table.print()
}

/// A chain's log positions by event id (`GET /api/v1/pilots/{id}/events` adds them): a page
/// of one chain does not say where each event stands in the log. Empty when the server will
/// not say; the table then shows `-`.
async fn chain_positions(http: &Http, pilot: uuid::Uuid) -> HashMap<String, u64> {
    let Ok(Value::Array(events)) = http
        .get_json(&format!("/api/v1/pilots/{pilot}/events"), &[])
        .await
    else {
        return HashMap::new();
    };
    events
        .iter()
        .filter_map(|e| {
            Some((
                e.get("event_id")?.as_str()?.to_string(),
                e.get("position")?.as_u64()?,
            ))
        })
        .collect()
}

/// The columns of an event's line.
pub const HEADERS: [&str; 5] = ["position", "occurred", "type", "subject", "by"];

/// Titles of pilots and names of stakeholders and jurisdictions by id, for showing events by what they are
/// about. Kept up to date as a stream brings new ones ([`Names::learn`]).
#[derive(Debug, Default)]
pub struct Names(HashMap<String, String>);

impl Names {
    /// Every pilot, stakeholder and jurisdiction the server lists; what it will not say is
    /// left out.
    pub async fn load(http: &Http) -> Names {
        let mut names = HashMap::new();
        for kind in [Kind::Pilot, Kind::Stakeholder, Kind::Jurisdiction] {
            names.extend(resolve::names(http, kind).await);
        }
        Names(names)
    }

    /// Takes the title or name an event introduces (a proposal, a registration).
    pub fn learn(&mut self, event: &Value) {
        let data = event.get("data");
        let name = data
            .and_then(|d| d.get("title").or_else(|| d.get("name")))
            .and_then(Value::as_str);
        let id = subject_id(event);
        // A sealed name is no name to show: the server's sidecar reveals it
        // ([`Names::learn_revealed`]), and the registry the names were loaded from has it.
        let name = name.filter(|n| !pilot_events::personal::is_sealed(n));
        if let (Some(name), false) = (name, id == "-") {
            self.0.entry(id).or_insert_with(|| name.to_string());
        }
    }

    /// Learns from `event` with its sealed fields as the server's `sidecar` for it reveals
    /// them (`{"revealed_for": event_id, "fields": {...}}`); another event's sidecar is ignored.
    pub fn learn_revealed(&mut self, event: &Value, sidecar: &Value) {
        if sidecar.get("revealed_for") != event.get("event_id") {
            return;
        }
        let (Some(fields), mut revealed) = (
            sidecar.get("fields").and_then(Value::as_object),
            event.clone(),
        ) else {
            return;
        };
        if let Some(data) = revealed.get_mut("data").and_then(Value::as_object_mut) {
            for (name, value) in fields {
                data.insert(name.clone(), value.clone());
            }
        }
        self.learn(&revealed);
    }

    fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// The id of the chain an event is on: its pilot, stakeholder or jurisdiction.
pub fn subject_id(event: &Value) -> String {
    ["pilot_id", "stakeholder_id", "jurisdiction_id"]
        .iter()
        .find_map(|key| event.get(*key).and_then(Value::as_str))
        .unwrap_or("-")
        .to_string()
}

/// An event's cells under [`HEADERS`].
pub fn cells(position: String, event: &Value, names: &Names) -> Vec<String> {
    let actor = event.get("actor");
    let by = match (
        actor.and_then(|a| a.get("user")).and_then(Value::as_str),
        actor.and_then(|a| a.get("office")).and_then(Value::as_str),
    ) {
        (Some(user), Some(office)) => format!("{user} ({office})"),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) => "-".to_string(),
    };
    vec![
        position,
        output::date(event.get("occurred_at")),
        output::text(event, "type"),
        names.of(&subject_id(event)),
        by,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sealed_name_is_learned_from_its_sidecar_only() {
        let registered = json!({"event_id": "e1", "type": "stakeholder.registered",
            "stakeholder_id": "s1", "data": {"name": "sealed:v1:x:name:AAAA", "kind": "leader"}});
        let mut names = Names::default();
        names.learn(&registered);
        assert_eq!(names.of("s1"), "s1", "no token shown as a name");
        names.learn_revealed(
            &registered,
            &json!({"revealed_for": "e2", "fields": {"name": "Someone else"}}),
        );
        assert_eq!(names.of("s1"), "s1", "another event's sidecar");
        names.learn_revealed(
            &registered,
            &json!({"revealed_for": "e1", "fields": {"name": "Party Secretary Li"}}),
        );
        assert_eq!(names.of("s1"), "Party Secretary Li");
    }

    #[test]
    fn types_and_families_are_checked() {
        assert!(parse_type("approval.requested").is_ok());
        assert!(parse_type("pilot").is_ok());
        assert!(parse_type("pilot.propos").is_err());
        assert!(parse_type("nonsense")
            .unwrap_err()
            .contains("pilot.proposed"));
        assert!(of_type("approval.requested", "approval"));
        assert!(!of_type("approvals.x", "approval"));
    }

    #[test]
    fn since_a_date_is_from_its_start() {
        let filter = Filter {
            since: Some(since_instant("2001-01-01").unwrap()),
            ..Filter::default()
        };
        assert!(filter.keeps(&json!({"occurred_at": "2001-01-01T00:00:00Z"})));
        assert!(!filter.keeps(&json!({"occurred_at": "2000-12-31T23:59:59Z"})));
        assert!(since_instant("someday").is_err());
    }

    #[test]
    fn an_event_is_shown_by_its_subjects_name() {
        let mut names = Names::default();
        let proposed = json!({
            "type": "pilot.proposed", "pilot_id": "p1", "occurred_at": "2000-01-03T09:00:00+08:00",
            "actor": {"office": "SSDNC", "user": "lao"}, "data": {"title": "HIHC"}
        });
        names.learn(&proposed);
        assert_eq!(
            cells("7".into(), &proposed, &names),
            ["7", "2000-01-03", "pilot.proposed", "HIHC", "lao (SSDNC)"]
        );
    }
}
