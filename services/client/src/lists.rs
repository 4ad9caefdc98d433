//! `pilot stakeholders` (`GET /api/v1/stakeholders`; one of them in detail is
//! [`crate::stakeholder`]), `pilot highlights` (`GET /api/v1/highlights`, the
//! political-highlight ledger, filtered), `pilot offices` (`GET /api/v1/offices`) and
//! `pilot jurisdictions` (`GET /api/v1/jurisdictions`; one in detail is
//! [`crate::jurisdiction`]).

use super::http::Http;
use super::output;
use super::resolve::{self, Kind};
use super::status::parse_when;
use super::table::{Ids, Table};
use super::{Common, Failure};
use clap::Args;
use pilot_events::Level;
use serde_json::Value;

/// How much of a highlight's title the table shows (`--json` has all of it).
const TITLE_CHARS: usize = 60;

#[derive(Debug, Clone, Args)]
pub struct StakeholdersArgs {
    /// One stakeholder in detail (its id, the start of its name, or a short id): its stances
    /// across pilots, its ledger lines and the posts it held or its holders.
    #[arg(value_name = "STAKEHOLDER")]
    pub stakeholder: Option<String>,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Args)]
pub struct OfficesArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Args)]
pub struct JurisdictionsArgs {
    /// One jurisdiction in detail (its id, the start of its name, or a short id): its
    /// context in order and the pilots that name it.
    #[arg(value_name = "JURISDICTION")]
    pub jurisdiction: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Args)]
pub struct HighlightsArgs {
    /// Only lines crediting this stakeholder (with its running balance): its id, the start
    /// of its name, or a short id.
    #[arg(long, value_name = "STAKEHOLDER")]
    pub stakeholder: Option<String>,

    /// Only lines crediting this office (with its running balance), as events name it.
    #[arg(long, value_name = "OFFICE")]
    pub office: Option<String>,

    /// Only this pilot's lines: its id, the start of its title, or a short id.
    #[arg(long, value_name = "PILOT")]
    pub pilot: Option<String>,

    /// Only lines of this level: county, municipal, provincial or national.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<String>,

    /// Only lines that occurred on or after this date.
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub from: Option<String>,

    /// Only lines that occurred on or before this date.
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub until: Option<String>,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

fn parse_level(text: &str) -> Result<String, String> {
    serde_json::from_value::<Level>(Value::String(text.to_string()))
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// The rows of the list the API answers at `path`; `None` once the answer was printed (as
/// JSON when asked, or "no {noun}" for an empty list).
async fn rows_of(
    http: &Http,
    common: &Common,
    path: &str,
    query: &[(&str, Option<String>)],
    noun: &str,
) -> Result<Option<Vec<Value>>, Failure> {
    let all = http.get_json(path, query).await?;
    if common.json {
        output::json(&all)?;
        return Ok(None);
    }
    let Value::Array(rows) = all else {
        return Err(Failure::BadAnswer(format!(
            "GET {path} answered something other than a list"
        )));
    };
    if rows.is_empty() {
        output::line(&format!("no {noun}"))?;
        return Ok(None);
    }
    Ok(Some(rows))
}

pub async fn stakeholders(args: StakeholdersArgs) -> Result<(), Failure> {
    if let Some(given) = args.stakeholder.as_deref() {
        return super::stakeholder::show(&args.common, given).await;
    }
    let http = Http::new(&args.common)?;
    let Some(rows) = rows_of(
        &http,
        &args.common,
        "/api/v1/stakeholders",
        &[],
        "stakeholders",
    )
    .await?
    else {
        return Ok(());
    };
    let balance = rows.iter().find_map(|s| {
        ["balance", "points"]
            .into_iter()
            .find(|k| s.get(*k).is_some())
    });
    let mut headers = vec!["name", "kind", "level", "influence", "registered"];
    headers.extend(balance);
    let mut table =
        args.ids
            .table(&headers, "stakeholder_id")
            .right(&["influence", "balance", "points"]);
    for s in &rows {
        let mut row = vec![
            output::text(s, "name"),
            output::text(s, "kind"),
            output::text(s, "level"),
            output::text(s, "influence"),
            output::date(s.get("registered_at")),
        ];
        row.extend(balance.map(|k| output::text(s, k)));
        table.row(args.ids.cells(row, output::text(s, "stakeholder_id")));
    }
    table.print()
}

/// `pilot offices`: every office a highlight or reward credited, with its points.
pub async fn offices(args: OfficesArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let path = "/api/v1/offices";
    let Some(rows) = rows_of(&http, &args.common, path, &[], "offices").await? else {
        return Ok(());
    };
    let mut table = Table::new(&["office", "points"]).right(&["points"]);
    for row in &rows {
        table.row(vec![
            output::text(row, "office"),
            output::text(row, "points"),
        ]);
    }
    table.print()
}

/// `pilot jurisdictions`: name, level, offset, the calendar its pilots' alerts count in
/// (`default` when it names none), how much context it holds and how many pilots name it.
pub async fn jurisdictions(args: JurisdictionsArgs) -> Result<(), Failure> {
    if let Some(given) = args.jurisdiction.as_deref() {
        return super::jurisdiction::show(&args.common, given).await;
    }
    let http = Http::new(&args.common)?;
    let path = "/api/v1/jurisdictions";
    let Some(rows) = rows_of(&http, &args.common, path, &[], "jurisdictions").await? else {
        return Ok(());
    };
    jurisdictions_table(&rows).print()
}

/// The table `pilot jurisdictions` prints, in the server's order (by name).
fn jurisdictions_table(rows: &[Value]) -> Table {
    let headers = [
        "name",
        "level",
        "utc_offset",
        "calendar",
        "context",
        "pilots",
        "jurisdiction_id",
    ];
    let mut table = Table::new(&headers)
        .right(&["context", "pilots"])
        .whole(&["jurisdiction_id"]);
    for j in rows {
        let calendar = match j.get("calendar").and_then(Value::as_str) {
            Some(name) => name.to_string(),
            None => "default".to_string(),
        };
        table.row(vec![
            output::text(j, "name"),
            output::text(j, "level"),
            output::text(j, "utc_offset"),
            calendar,
            output::text(j, "context_count"),
            output::text(j, "pilot_count"),
            output::text(j, "jurisdiction_id"),
        ]);
    }
    table
}

pub async fn highlights(args: HighlightsArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let stakeholder =
        resolve::optional(&http, Kind::Stakeholder, args.stakeholder.as_deref()).await?;
    let pilot = resolve::optional(&http, Kind::Pilot, args.pilot.as_deref()).await?;
    let query = [
        ("stakeholder", stakeholder.map(|s| s.to_string())),
        ("office", args.office.clone()),
        ("pilot", pilot.map(|p| p.to_string())),
        ("level", args.level.clone()),
        ("from", args.from.clone()),
        ("until", args.until.clone()),
    ];
    let path = "/api/v1/highlights";
    let Some(rows) = rows_of(&http, &args.common, path, &query, "highlights").await? else {
        return Ok(());
    };
    let names = resolve::names(&http, Kind::Stakeholder).await;
    let titles = resolve::names(&http, Kind::Pilot).await;
    let with_balance = rows.iter().any(|l| l.get("balance").is_some());
    let mut headers = vec![
        "date",
        "level",
        "points",
        "title",
        "conferred_by",
        "credited_to",
        "pilot",
    ];
    if with_balance {
        headers.push("balance");
    }
    let mut table = args
        .ids
        .table(&headers, "pilot_id")
        .right(&["points", "balance"]);
    for line in &rows {
        let listed = |field: &str| -> Vec<String> {
            output::items(line, field)
                .iter()
                .map(|value| output::cell(Some(value)))
                .collect()
        };
        // Stakeholders by name, then the offices credited (schema 2) as they are named.
        let mut credited: Vec<String> = listed("credited_to")
            .into_iter()
            .map(|id| names.get(&id).cloned().unwrap_or(id))
            .collect();
        credited.extend(listed("credited_offices"));
        let pilot_id = output::text(line, "pilot_id");
        let mut row = vec![
            output::date(line.get("occurred_at")),
            output::text(line, "level"),
            output::text(line, "points"),
            output::clip(&output::text(line, "title"), TITLE_CHARS),
            output::clip(&output::text(line, "conferred_by"), TITLE_CHARS),
            credited.join("; "),
            titles
                .get(&pilot_id)
                .cloned()
                .unwrap_or_else(|| pilot_id.clone()),
        ];
        if with_balance {
            row.push(output::text(line, "balance"));
        }
        table.row(args.ids.cells(row, pilot_id));
    }
    table.print()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jurisdictions_show_their_calendar_or_the_default_and_their_counts() {
        let rows = serde_json::json!([
            {"jurisdiction_id": "01950000-0000-7000-8000-0000000000d2", "name": "Beiguo",
             "level": "county", "utc_offset": "+08:00", "registered_at": "1990-01-01T00:00:00+08:00",
             "event_id": "01950000-0000-7000-8000-0000000000f2", "context_count": 0, "pilot_count": 0},
            {"jurisdiction_id": "01950000-0000-7000-8000-0000000000d1", "name": "Nanguo\u{1b}[2J",
             "level": "municipal", "utc_offset": "+08:00", "calendar": "nanguo",
             "registered_at": "1990-01-01T00:00:00+08:00",
             "event_id": "01950000-0000-7000-8000-0000000000f1", "context_count": 12, "pilot_count": 5}
        ]);
        let text = jurisdictions_table(rows.as_array().unwrap()).render();
        assert!(
            !text.contains('\u{1b}'),
            "control characters are escaped: {text}"
        );
        let cells: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            cells,
            [
                vec![
                    "name",
                    "level",
                    "utc_offset",
                    "calendar",
                    "context",
                    "pilots",
                    "jurisdiction_id"
                ],
                vec![
                    "Beiguo",
                    "county",
                    "+08:00",
                    "default",
                    "0",
                    "0",
                    "01950000-0000-7000-8000-0000000000d2"
                ],
                vec![
                    "Nanguo\\u{1b}[2J",
                    "municipal",
                    "+08:00",
                    "nanguo",
                    "12",
                    "5",
                    "01950000-0000-7000-8000-0000000000d1"
                ],
            ]
        );
        // Counts are right-aligned under their headers.
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1].find("  0  "),
            lines[0].find("context").map(|i| i + 4)
        );
    }

    #[test]
    fn levels_are_the_vocabularys() {
        assert_eq!(parse_level("national").unwrap(), "national");
        assert!(parse_level("global").is_err());
    }
}
