//! `pilot alerts [--state S] [--pilot P]` (`GET /api/v1/alerts`), `pilot alerts ack ID [--note N]`
//! (`POST /api/v1/alerts/{id}/ack`), `pilot alerts silence ID --until T --reason R`
//! (`POST /api/v1/alerts/{id}/silence`), `pilot alerts show ID` (`GET /api/v1/alerts/{id}`)
//! and `pilot alerts export [-o FILE]`
//! (`GET /api/v1/alerts/events`: the alert history as stored, JSON Lines).

use super::http::Http;
use super::output;
use super::resolve::{self, Kind};
use super::status::parse_when;
use super::table::Table;
use super::{Common, Failure};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Debug, Clone, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub action: Option<AlertAction>,

    /// Only alerts in this state (pending, warning, firing, resolved). `pending` is an alert
    /// whose warning an extension cleared; approvals not yet at their warning are no alerts.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,

    /// Only this pilot's alerts: its id, the start of its title, or a short id.
    #[arg(long, value_name = "PILOT")]
    pub pilot: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AlertAction {
    /// One alert in detail (`GET /api/v1/alerts/{id}`); `--json` has its whole record.
    Show {
        /// The alert's id.
        id: String,
    },
    /// Acknowledge an alert: it is not sent again (its escalation is still recorded).
    Ack {
        /// The alert's id.
        id: String,
        /// Why, or what is being done about it.
        #[arg(long)]
        note: Option<String>,
    },
    /// Silence an alert until a time; a silence needs a reason.
    Silence {
        /// The alert's id.
        id: String,
        /// Until when (a date means the end of that day in UTC, or an RFC 3339 timestamp).
        #[arg(long, value_name = "TIME", value_parser = parse_when)]
        until: String,
        /// Why it is silenced.
        #[arg(long)]
        reason: String,
    },
    /// Every alert event as stored (JSON Lines), for audits and other tools.
    Export {
        /// Write to FILE instead of stdout.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
}

/// The columns of the alerts table.
const COLUMNS: [&str; 11] = [
    "alert_id",
    "state",
    "escalation",
    "pilot",
    "approval_id",
    "approver",
    "requested",
    "due",
    "waited_days",
    "acknowledged",
    "silenced_until",
];

pub async fn run(args: AlertsArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let (id, action, body) = match &args.action {
        None => return list(&http, &args).await,
        Some(AlertAction::Export { output }) => return export(&http, output.as_deref()).await,
        Some(AlertAction::Show { id }) => return show(&http, &args.common, id).await,
        Some(AlertAction::Ack { id, note }) => {
            let body = match note {
                Some(note) => json!({ "note": note }),
                None => json!({}),
            };
            (id, "ack", body)
        }
        Some(AlertAction::Silence { id, until, reason }) => {
            (id, "silence", json!({ "until": until, "reason": reason }))
        }
    };
    let url = http.url(&format!("/api/v1/alerts/{}/{action}", encode(id)), &[])?;
    let answer = http.post_json(url, &body).await?;
    let value = if answer.body.is_empty() {
        Value::Null
    } else {
        answer.json()?
    };
    if args.common.json {
        return output::json(&value);
    }
    let done = if action == "ack" {
        "acknowledged"
    } else {
        "silenced"
    };
    let state = value
        .get("state")
        .map(|s| s.get("state").unwrap_or(s))
        .and_then(Value::as_str)
        .map(|s| format!(" (state {s})"))
        .unwrap_or_default();
    output::line(&format!("{done} alert {id}{state}"))
}

/// Writes the alert stream as stored, one event per line, to `output` or stdout. Every page is
/// read before anything is written, so a failed read leaves no half file.
async fn export(http: &Http, output: Option<&std::path::Path>) -> Result<(), Failure> {
    use std::io::Write;
    let mut lines = Vec::new();
    let count = super::log::for_each_alert_event(http, |entry| {
        lines.extend_from_slice(&entry.bytes);
        lines.push(b'\n');
        Ok(())
    })
    .await?;
    match output {
        None => std::io::stdout()
            .write_all(&lines)
            .map_err(|e| Failure::io("writing to stdout".to_string(), e)),
        Some(path) => {
            std::fs::write(path, &lines)
                .map_err(|e| Failure::io(format!("cannot write {}", path.display()), e))?;
            output::line(&format!(
                "exported {count} alert events to {}",
                path.display()
            ))
        }
    }
}

/// One alert: the list's columns, a line each.
async fn show(http: &Http, common: &Common, id: &str) -> Result<(), Failure> {
    let alert = http
        .get_json(&format!("/api/v1/alerts/{}", encode(id)), &[])
        .await?;
    if common.json {
        return output::json(&alert);
    }
    let mut facts = Table::new(&["", ""]);
    for (label, value) in COLUMNS.iter().zip(row(&alert)) {
        facts.row(vec![label.to_string(), value]);
    }
    facts.print()
}

async fn list(http: &Http, args: &AlertsArgs) -> Result<(), Failure> {
    let pilot = resolve::optional(http, Kind::Pilot, args.pilot.as_deref()).await?;
    let query = [
        ("state", args.state.clone()),
        ("pilot", pilot.map(|p| p.to_string())),
    ];
    let alerts = http.get_json("/api/v1/alerts", &query).await?;
    if args.common.json {
        return output::json(&alerts);
    }
    let rows = alerts
        .as_array()
        .or_else(|| alerts.get("alerts").and_then(Value::as_array))
        .ok_or_else(|| {
            Failure::BadAnswer("GET /api/v1/alerts answered something other than a list".into())
        })?;
    if rows.is_empty() {
        return output::line("no alerts");
    }
    let mut table = Table::new(&COLUMNS)
        .right(&["escalation", "waited_days"])
        .whole(&["alert_id"]);
    for alert in rows {
        table.row(row(alert));
    }
    table.print()
}

/// One alert's cells. The state may be a name (`"firing"`) or an object with its details
/// (`{"state": "firing", "since": ..., "escalation_level": 2}`); the approval's fields may be
/// nested under `approval`.
fn row(alert: &Value) -> Vec<String> {
    let approval = alert.get("approval");
    let field = |key: &str| {
        alert
            .get(key)
            .filter(|v| !v.is_null())
            .or_else(|| approval.and_then(|a| a.get(key)))
            .or_else(|| alert.get("state").and_then(|s| s.get(key)))
    };
    let first = |keys: &[&str]| keys.iter().find_map(|k| field(k));
    let state = match alert.get("state") {
        Some(Value::Object(state)) => output::cell(state.get("state")),
        other => output::cell(other),
    };
    let acknowledged = match alert.get("acknowledged") {
        Some(Value::Object(ack)) => format!("by {}", output::cell(ack.get("user"))),
        Some(Value::Bool(true)) => "yes".to_string(),
        _ => "-".to_string(),
    };
    vec![
        output::cell(field("alert_id")),
        state,
        output::cell(field("escalation_level")),
        output::cell(first(&["title", "pilot_title", "pilot_id"])),
        output::cell(field("approval_id")),
        output::cell(first(&["approver", "approver_name", "approver_id"])),
        output::date(field("requested_at")),
        output::date(first(&["due_at", "next_due"])),
        output::cell(field("waited_days")),
        acknowledged,
        output::date(field("silenced_until")),
    ]
}

/// An id as one path segment.
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_alerts_of_either_shape() {
        let flat = json!({
            "alert_id": "a1", "pilot_id": "p1", "title": "LCHI", "state": "firing",
            "escalation_level": 2, "approver": "Mayor of Nanguo (post)",
            "approval": {"approval_id": "lchi-2004-mayor", "requested_at": "2003-10-13T10:00:00+08:00"},
            "due_at": "2003-11-12T10:00:00+08:00", "waited_days": 38,
            "acknowledged": {"at": "2003-11-13T09:00:00+08:00", "user": "li"},
            "silenced_until": null
        });
        assert_eq!(
            row(&flat),
            [
                "a1",
                "firing",
                "2",
                "LCHI",
                "lchi-2004-mayor",
                "Mayor of Nanguo (post)",
                "2003-10-13",
                "2003-11-12",
                "38",
                "by li",
                "-"
            ]
        );
        let nested = json!({
            "alert_id": "a1", "pilot_title": "LCHI", "approver_name": "Mayor",
            "state": {"state": "firing", "since": "2003-11-12T10:00:00+08:00", "escalation_level": 1},
            "approval": {"approval_id": "x", "requested_at": "2003-10-13T10:00:00+08:00"},
            "acknowledged": null, "next_due": "2003-12-12T10:00:00+08:00"
        });
        let cells = row(&nested);
        assert_eq!(cells[1], "firing");
        assert_eq!(cells[2], "1");
        assert_eq!(cells[3], "LCHI");
        assert_eq!(cells[5], "Mayor");
        assert_eq!(cells[7], "2003-12-12");
        assert_eq!(cells[9], "-");
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(encode("a-1_b.c"), "a-1_b.c");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
