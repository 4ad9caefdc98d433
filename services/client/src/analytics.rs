//! `pilot analytics [--as-of DATE]` (`GET /api/v1/analytics`): comparative figures over every
//! pilot, as plain tables (one per figure) or, with `--json`, as the server answered.

use super::http::Http;
use super::output;
use super::status::parse_when;
use super::table::{Ids, Table};
use super::{Common, Failure};
use clap::Args;
use pilot_projections::analytics::{Analytics, Grouped, Summary};
use serde_json::Value;
use std::fmt::Write;

/// How much of a pilot's title the table shows (`--json` has all of it).
const TITLE_CHARS: usize = 50;

#[derive(Debug, Clone, Args)]
pub struct AnalyticsArgs {
    /// As of a world date: what had happened by then (`occurred_at`). A date means the end
    /// of that day in UTC; or an RFC 3339 timestamp with an offset. Default: now.
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub as_of: Option<String>,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: AnalyticsArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let answer = http
        .get_json("/api/v1/analytics", &[("as_of", args.as_of.clone())])
        .await?;
    if args.common.json {
        return output::json(&answer);
    }
    output::print(&render(answer, args.ids)?)
}

/// The server's answer as the tables people read.
pub fn render(answer: Value, ids: Ids) -> Result<String, Failure> {
    let figures: Analytics = serde_json::from_value(answer).map_err(|e| {
        Failure::BadAnswer(format!(
            "GET /api/v1/analytics answered an unexpected shape: {e}"
        ))
    })?;
    let mut text = String::new();
    let as_of = pilot_events::rfc3339(figures.as_of);
    let _ = writeln!(text, "as of {as_of}");

    section(&mut text, "Proposal → approval (days)");
    let mut table = days_table(&[]);
    grouped_rows(&mut table, &figures.proposal_to_approval, days_cells);
    text.push_str(&table.render());

    section(&mut text, "Request → decision (days)");
    let mut table = days_table(&["granted", "denied", "withdrawn"]);
    grouped_rows(&mut table, &figures.request_to_decision, |d| {
        let mut cells = days_cells(&d.days);
        cells.extend([d.granted, d.denied, d.withdrawn].map(|n| n.to_string()));
        cells
    });
    text.push_str(&table.render());

    section(&mut text, "Stall rates");
    let headers = ["group", "requested", "stalled", "still pending", "rate"];
    let mut table = Table::new(&headers).right(&headers[1..]);
    grouped_rows(&mut table, &figures.stall_rates, |r| {
        vec![
            r.requested.to_string(),
            r.stalled.to_string(),
            r.stalled_pending.to_string(),
            r.rate
                .map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0)),
        ]
    });
    text.push_str(&table.render());

    section(&mut text, "Time to scale-up (days)");
    let mut table = days_table(&[]);
    let mut row = vec!["all".to_string()];
    row.extend(days_cells(&figures.time_to_scale_up));
    table.row(row);
    text.push_str(&table.render());

    section(&mut text, "Pilots");
    let headers = [
        "title",
        "proposed",
        "to approval",
        "to scale-up",
        "support",
        "changes",
    ];
    let mut table = ids.table(&headers, "pilot_id").right(&headers[2..]);
    for pilot in &figures.pilots {
        let latest = pilot
            .support_trajectory
            .last()
            .and_then(|p| p.support_index);
        let cells = vec![
            output::clip(&pilot.title, TITLE_CHARS),
            pilot.proposed_at.date().to_string(),
            days(pilot.days_to_approval),
            days(pilot.days_to_scale_up),
            latest.map_or_else(|| "-".into(), |s| format!("{s:+.2}")),
            pilot.support_trajectory.len().to_string(),
        ];
        table.row(ids.cells(cells, pilot.pilot_id.to_string()));
    }
    text.push_str(&table.render());

    section(&mut text, "Points per stakeholder per year");
    let headers = ["stakeholder", "year", "points", "lines"];
    let mut table = Table::new(&headers).right(&headers[1..]);
    for party in &figures.points.by_stakeholder {
        let name = party
            .name
            .clone()
            .unwrap_or_else(|| party.stakeholder_id.to_string());
        for year in &party.years {
            table.row(vec![
                name.clone(),
                year.year.to_string(),
                year.points.to_string(),
                year.lines.to_string(),
            ]);
        }
    }
    text.push_str(&table.render());

    section(&mut text, "Points per office per year");
    let headers = ["office", "year", "points", "lines"];
    let mut table = Table::new(&headers).right(&headers[1..]);
    for office in &figures.points.by_office {
        for year in &office.years {
            table.row(vec![
                office.office.clone(),
                year.year.to_string(),
                year.points.to_string(),
                year.lines.to_string(),
            ]);
        }
    }
    text.push_str(&table.render());
    Ok(text)
}

fn section(text: &mut String, title: &str) {
    let _ = write!(text, "\n{title}\n");
}

/// A table of day summaries with `extra` columns after them.
fn days_table(extra: &[&str]) -> Table {
    let mut headers = vec!["group", "count", "median", "mean", "min", "max"];
    headers.extend_from_slice(extra);
    Table::new(&headers).right(&headers[1..])
}

fn days_cells(summary: &Summary) -> Vec<String> {
    vec![
        summary.count.to_string(),
        days(summary.median),
        days(summary.mean),
        days(summary.min),
        days(summary.max),
    ]
}

/// Days with one decimal (the server sends fractions of a day); `-` for none.
fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |d| format!("{d:.1}"))
}

/// One row overall, one per level, one per approver (by name, or id when unnamed).
fn grouped_rows<T>(table: &mut Table, grouped: &Grouped<T>, cells: impl Fn(&T) -> Vec<String>) {
    let mut row = |group: String, figures: &T| {
        let mut row = vec![group];
        row.extend(cells(figures));
        table.row(row);
    };
    row("all".into(), &grouped.overall);
    for level in &grouped.by_level {
        row(format!("level {}", level.level), &level.figures);
    }
    for approver in &grouped.by_approver {
        let name = approver
            .name
            .clone()
            .unwrap_or_else(|| approver.approver_id.to_string());
        row(format!("approver {name}"), &approver.figures);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(count: usize, d: f64) -> Value {
        json!({"count": count, "median": d, "mean": d, "min": d, "max": d})
    }

    #[test]
    fn tables_show_each_figure_by_group() {
        let approver = "0194a000-0002-7000-8000-000000000006";
        let answer = json!({
            "as_of": "2003-11-30T23:59:59Z",
            "pilots": [{
                "pilot_id": "0194a000-0001-7000-8000-000000000001",
                "title": "HICI",
                "office": "SSDNC",
                "proposed_at": "1992-03-16T10:00:00+08:00",
                "days_to_approval": 630.0,
                "days_to_scale_up": null,
                "support_trajectory": [
                    {"at": "1992-04-01T10:00:00+08:00", "event_id": approver, "support_index": 0.5}
                ]
            }],
            "proposal_to_approval": {
                "overall": summary(1, 630.0),
                "by_level": [{"level": "municipal", "count": 1, "median": 630.0, "mean": 630.0, "min": 630.0, "max": 630.0}],
                "by_approver": [{"approver_id": approver, "name": "Mayor", "count": 1, "median": 630.0, "mean": 630.0, "min": 630.0, "max": 630.0}]
            },
            "request_to_decision": {
                "overall": {"count": 1, "median": 21.5, "mean": 21.5, "min": 21.5, "max": 21.5, "granted": 1, "denied": 0, "withdrawn": 0},
                "by_level": [],
                "by_approver": []
            },
            "stall_rates": {
                "overall": {"requested": 4, "stalled": 1, "stalled_pending": 1, "rate": 0.25},
                "by_level": [],
                "by_approver": [{"approver_id": approver, "name": null, "requested": 0, "stalled": 0, "stalled_pending": 0, "rate": null}]
            },
            "time_to_scale_up": {"count": 0, "median": null, "mean": null, "min": null, "max": null},
            "points": {
                "by_stakeholder": [{"stakeholder_id": approver, "name": "Mayor", "total": 6, "years": [{"year": 2005, "points": 4, "lines": 1}, {"year": 2006, "points": 2, "lines": 1}]}],
                "by_office": [{"office": "SSDNC", "total": 8, "years": [{"year": 2009, "points": 8, "lines": 1}]}]
            }
        });
        let answer_again = answer.clone();
        let text = render(answer, Ids::default()).unwrap();
        // Lines with their padding squeezed, found by how they start.
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let line = |start: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(start))
                .cloned()
                .unwrap_or_else(|| panic!("no line {start:?} in\n{text}"))
        };
        assert!(text.starts_with("as of 2003-11-30T23:59:59Z\n"), "{text}");
        assert_eq!(
            line("level municipal"),
            "level municipal 1 630.0 630.0 630.0 630.0"
        );
        assert_eq!(
            line("approver Mayor"),
            "approver Mayor 1 630.0 630.0 630.0 630.0"
        );
        assert_eq!(line("all 1 21.5"), "all 1 21.5 21.5 21.5 21.5 1 0 0");
        assert_eq!(
            line(&format!("approver {approver}")),
            format!("approver {approver} 0 0 0 -")
        );
        assert!(text.contains("25.0%"), "{text}");
        assert_eq!(line("HICI"), "HICI 1992-03-16 630.0 - +0.50 1");
        assert!(
            !text.contains("0194a000-0001"),
            "ids only when asked:\n{text}"
        );
        let wide = render(answer_again, Ids { ids: true }).unwrap();
        assert!(
            wide.contains("+0.50        1  0194a000-0001-7000-8000-000000000001"),
            "{wide}"
        );
        assert_eq!(line("Mayor 2005"), "Mayor 2005 4 1");
        assert_eq!(line("SSDNC"), "SSDNC 2009 8 1");
    }

    #[test]
    fn an_unexpected_answer_is_a_bad_answer() {
        assert!(matches!(
            render(json!({"pilots": "none"}), Ids::default()),
            Err(Failure::BadAnswer(_))
        ));
    }
}
