//! `pilot status [PILOT] [--stage S] [--office O] [--stalled] [--as-of DATE] [--known-at DATE]`:
//! every pilot in one table (filtered as the API filters), or one pilot in detail, now or in
//! the past (`GET /api/v1/pilots`, `GET /api/v1/pilots/{id}`). PILOT is an id, the start of a
//! title or a short id ([`crate::resolve`]).

use super::http::Http;
use super::output;
use super::resolve::{self, Kind};
use super::table::{section, Ids, Table};
use super::{Common, Failure};
use clap::Args;
use pilot_events::Stage;
use serde_json::Value;
use std::collections::HashMap;
use time::OffsetDateTime;

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// A pilot (its id, the start of its title, or a short id): that pilot in detail. Without
    /// it, a table of every pilot.
    #[arg(value_name = "PILOT")]
    pub pilot: Option<String>,

    /// Only pilots in this stage.
    #[arg(long, value_name = "STAGE", value_parser = parse_stage, conflicts_with = "pilot")]
    pub stage: Option<String>,

    /// Only pilots of this office, as events name it (`SSDNC`).
    #[arg(long, value_name = "OFFICE", conflicts_with = "pilot")]
    pub office: Option<String>,

    /// Only pilots with an approval past its stall threshold (`--stalled=false`: only those
    /// without).
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        conflicts_with = "pilot"
    )]
    pub stalled: Option<bool>,

    /// As of a world date: what had happened by then (`occurred_at`). A date means the end
    /// of that day in UTC; or an RFC 3339 timestamp with an offset.
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub as_of: Option<String>,

    /// As known at a system date: what had been logged by then (`recorded_at`).
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub known_at: Option<String>,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

/// A stage as the API names it, checked before asking.
fn parse_stage(text: &str) -> Result<String, String> {
    Stage::parse(text.trim())
        .map(|_| text.trim().to_string())
        .ok_or_else(|| format!("a stage is one of {}", Stage::allowed()))
}

/// Checks a date or timestamp as the server reads it, and keeps the text as given.
pub fn parse_when(text: &str) -> Result<String, String> {
    pilot_api::query::parse_instant("date", text)
        .map(|_| text.trim().to_string())
        .map_err(|e| e.message)
}

pub async fn run(args: StatusArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let query = [
        ("as_of", args.as_of.clone()),
        ("known_at", args.known_at.clone()),
    ];
    match args.pilot.as_deref() {
        None => {
            let filters = [
                ("stage", args.stage.clone()),
                ("office", args.office.clone()),
                ("stalled", args.stalled.map(|s| s.to_string())),
            ];
            let views = list(&http, &query, &filters).await?;
            if args.common.json {
                return output::json(&views);
            }
            if views.is_empty() {
                return output::line("no pilots");
            }
            pilots_table(&views, args.ids).print()
        }
        Some(given) => {
            let id = resolve::id(&http, Kind::Pilot, given).await?;
            let view = http
                .get_json(&format!("/api/v1/pilots/{id}"), &query)
                .await?;
            if args.common.json {
                return output::json(&view);
            }
            let names = resolve::names(&http, Kind::Stakeholder).await;
            let at = args
                .as_of
                .as_deref()
                .and_then(|t| pilot_api::query::parse_instant("as_of", t).ok())
                .unwrap_or_else(OffsetDateTime::now_utc);
            output::print(&detail(&view, &names, at))
        }
    }
}

/// Every pilot's view at the time `query` says, kept by `filters`. A server whose list takes
/// no `as_of`/`known_at` is asked pilot by pilot (those not yet proposed then are left out);
/// one that takes no filters either is not.
async fn list(
    http: &Http,
    query: &[(&str, Option<String>)],
    filters: &[(&str, Option<String>)],
) -> Result<Vec<Value>, Failure> {
    let past = query.iter().any(|(_, v)| v.is_some());
    let filtered = filters.iter().any(|(_, v)| v.is_some());
    let asked = [query, filters].concat();
    match http.get_json("/api/v1/pilots", &asked).await {
        Ok(Value::Array(views)) => return Ok(views),
        Ok(other) => return Err(not_a_list(&other)),
        Err(Failure::Server {
            status: 400, code, ..
        }) if past && !filtered && code == "unknown_parameter" => {}
        Err(failure) => return Err(failure),
    }
    let now = match http.get_json("/api/v1/pilots", &[]).await? {
        Value::Array(views) => views,
        other => return Err(not_a_list(&other)),
    };
    let mut views = Vec::new();
    for pilot in now {
        let Some(id) = pilot.get("pilot_id").and_then(Value::as_str) else {
            continue;
        };
        match http.get_json(&format!("/api/v1/pilots/{id}"), query).await {
            Ok(view) => views.push(view),
            Err(Failure::Server { status: 404, .. }) => {}
            Err(failure) => return Err(failure),
        }
    }
    Ok(views)
}

fn not_a_list(value: &Value) -> Failure {
    Failure::BadAnswer(format!(
        "GET /api/v1/pilots answered something other than a list: {}",
        value.to_string().chars().take(200).collect::<String>()
    ))
}

/// The one-line-per-pilot table (also `pilot replay`'s): by title, with the ids when asked.
pub fn pilots_table(views: &[Value], ids: Ids) -> Table {
    let headers = [
        "title", "stage", "office", "support", "pending", "points", "metrics",
    ];
    let mut table = ids
        .table(&headers, "pilot_id")
        .right(&["support", "pending", "points"]);
    for view in views {
        let pending = view
            .get("pending_approvals")
            .and_then(Value::as_object)
            .map_or(0, |p| p.len());
        let cells = vec![
            output::text(view, "title"),
            output::text(view, "stage"),
            output::text(view, "office"),
            support(view.get("support_index")),
            pending.to_string(),
            output::text(view, "points"),
            latest_metrics(view).join(", "),
        ];
        table.row(ids.cells(cells, output::text(view, "pilot_id")));
    }
    table
}

fn support(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_string(), |s| format!("{s:+.2}"))
}

/// Each metric's latest value (by `as_of`): `insured_persons 880,000`.
pub fn latest_metrics(view: &Value) -> Vec<String> {
    let Some(metrics) = view.get("metrics").and_then(Value::as_object) else {
        return Vec::new();
    };
    metrics
        .iter()
        .filter_map(|(metric, points)| {
            let latest = points
                .as_array()?
                .iter()
                .rev()
                .max_by_key(|p| p.get("as_of").and_then(Value::as_str).unwrap_or(""))?;
            Some(format!("{metric} {}", output::cell(latest.get("value"))))
        })
        .collect()
}

/// One pilot in detail; `at` is the moment waits are measured to.
pub fn detail(view: &Value, names: &HashMap<String, String>, at: OffsetDateTime) -> String {
    let name = |id: Option<&Value>| {
        let id = output::cell(id);
        names.get(&id).cloned().unwrap_or(id)
    };
    let mut text = String::new();
    let mut push = |line: String| {
        text.push_str(&line);
        text.push('\n');
    };
    push(output::visible(&output::text(view, "title")));
    let mut facts = Table::new(&["", ""]);
    let stage_since = view
        .get("stage_history")
        .and_then(Value::as_array)
        .and_then(|h| h.last())
        .map(|s| format!(" (since {})", output::date(s.get("entered_at"))))
        .unwrap_or_default();
    for (label, value) in [
        ("pilot_id", output::text(view, "pilot_id")),
        (
            "stage",
            format!("{}{stage_since}", output::text(view, "stage")),
        ),
        ("office", output::text(view, "office")),
        (
            "jurisdiction",
            format!(
                "{} ({}), {}",
                output::text(view, "jurisdiction"),
                output::text(view, "level"),
                output::text(view, "policy_area")
            ),
        ),
        ("support_index", support(view.get("support_index"))),
        ("points", output::text(view, "points")),
        ("version", output::text(view, "version")),
        ("last_activity", output::date(view.get("last_activity"))),
    ] {
        facts.row(vec![format!("  {label}"), value]);
    }
    for (label, key) in [
        ("merged_into", "merged_into"),
        ("termination", "termination_reason"),
    ] {
        if view.get(key).is_some_and(|v| !v.is_null()) {
            facts.row(vec![format!("  {label}"), output::text(view, key)]);
        }
    }
    push(facts.render().trim_end().to_string());

    section(&mut text, "stage history", {
        let mut t = Table::new(&["stage", "entered_at"]);
        for entry in output::items(view, "stage_history") {
            t.row(vec![
                output::text(entry, "stage"),
                output::date(entry.get("entered_at")),
            ]);
        }
        t
    });
    section(&mut text, "pending approvals", {
        let mut t = Table::new(&[
            "approval_id",
            "approver",
            "level",
            "requested",
            "waited_days",
        ])
        .right(&["waited_days"]);
        if let Some(pending) = view.get("pending_approvals").and_then(Value::as_object) {
            for approval in pending.values() {
                t.row(vec![
                    output::text(approval, "approval_id"),
                    name(approval.get("approver_id")),
                    output::text(approval, "level"),
                    output::date(approval.get("requested_at")),
                    waited_days(approval.get("requested_at"), at),
                ]);
            }
        }
        t
    });
    section(&mut text, "decided approvals", {
        let mut t = Table::new(&[
            "approval_id",
            "approver",
            "level",
            "requested",
            "decided",
            "outcome",
        ]);
        for approval in output::items(view, "decided_approvals") {
            t.row(vec![
                output::text(approval, "approval_id"),
                name(approval.get("approver_id")),
                output::text(approval, "level"),
                output::date(approval.get("requested_at")),
                output::date(approval.get("decided_at")),
                output::text(approval, "outcome"),
            ]);
        }
        t
    });
    section(&mut text, "targets", {
        let mut t = Table::new(&["metric", "target", "due", "latest", "progress"])
            .right(&["target", "latest", "progress"]);
        let progress: HashMap<String, &Value> = output::items(view, "progress")
            .iter()
            .map(|p| (output::text(p, "metric"), p))
            .collect();
        if let Some(targets) = view.get("targets").and_then(Value::as_object) {
            for (metric, target) in targets {
                let done = progress.get(metric);
                t.row(vec![
                    metric.clone(),
                    output::cell(target.get("target")),
                    output::date(target.get("due")),
                    done.map_or("-".into(), |p| output::cell(p.get("latest"))),
                    done.and_then(|p| p.get("progress"))
                        .and_then(Value::as_f64)
                        .map_or("-".into(), |p| format!("{:.0}%", p * 100.0)),
                ]);
            }
        }
        t
    });
    section(&mut text, "metrics", {
        let mut t = Table::new(&["metric", "value", "unit", "as_of", "source"]).right(&["value"]);
        if let Some(metrics) = view.get("metrics").and_then(Value::as_object) {
            for (metric, points) in metrics {
                for point in points.as_array().map(Vec::as_slice).unwrap_or_default() {
                    t.row(vec![
                        metric.clone(),
                        output::cell(point.get("value")),
                        output::text(point, "unit"),
                        output::date(point.get("as_of")),
                        output::text(point, "source"),
                    ]);
                }
            }
        }
        t
    });
    for (label, key) in [("coalition", "coalition"), ("opposition", "opposition")] {
        let who: Vec<String> = output::items(view, key)
            .iter()
            .map(|id| name(Some(id)))
            .collect();
        text.push_str(&format!(
            "\n{label}: {}\n",
            if who.is_empty() {
                "-".to_string()
            } else {
                who.join(", ")
            }
        ));
    }
    text
}

fn waited_days(requested_at: Option<&Value>, at: OffsetDateTime) -> String {
    requested_at
        .and_then(Value::as_str)
        .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .map_or("-".into(), |requested| {
            (at - requested).whole_days().max(0).to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hihc() -> Value {
        json!({
            "pilot_id": "0194a000-0001-7000-8000-000000000003",
            "title": "Health Insurance for Hospital Care",
            "stage": "implementing",
            "office": "SSDNC",
            "support_index": 0.5,
            "pending_approvals": {},
            "points": 0,
            "metrics": {
                "contribution_rate": [{"value": 0.02, "as_of": "2000-01-03"}],
                "insured_persons": [
                    {"value": 200000.0, "as_of": "2000-02-29"},
                    {"value": 880000.0, "as_of": "2000-12-31"}
                ]
            }
        })
    }

    #[test]
    fn the_table_shows_each_metrics_latest_value() {
        let table = pilots_table(&[hihc()], Ids::default()).render();
        assert!(!table.contains("0194a000"), "ids only when asked: {table}");
        let wide = pilots_table(&[hihc()], Ids { ids: true }).render();
        assert!(
            wide.contains("0194a000-0001-7000-8000-000000000003"),
            "{wide}"
        );
        assert!(table.contains("insured_persons 880,000"), "{table}");
        assert!(table.contains("contribution_rate 0.02"), "{table}");
        assert!(table.contains("implementing"), "{table}");
        assert!(table.contains("+0.50"), "{table}");
    }

    #[test]
    fn the_detail_survives_a_sparse_view() {
        let text = detail(
            &json!({"title": "T"}),
            &HashMap::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert!(text.starts_with("T\n"), "{text}");
        assert!(text.contains("coalition: -"), "{text}");
    }

    #[test]
    fn dates_are_checked_as_the_server_reads_them() {
        assert_eq!(parse_when("2001-01-01").unwrap(), "2001-01-01");
        assert!(parse_when("2001-13-01").is_err());
    }
}
