//! `pilot stakeholders` (`GET /api/v1/stakeholders`) and `pilot highlights`
//! (`GET /api/v1/highlights`, the political-highlight ledger, filtered).

use super::http::Http;
use super::output::{self, Table};
use super::status::{parse_when, stakeholder_names};
use super::{Common, Failure};
use clap::Args;
use pilot_events::Level;
use serde_json::Value;
use uuid::Uuid;

/// How much of a highlight's title the table shows (`--json` has all of it).
const TITLE_CHARS: usize = 60;

#[derive(Debug, Clone, Args)]
pub struct StakeholdersArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Args)]
pub struct HighlightsArgs {
    /// Only lines crediting this stakeholder (with its running balance).
    #[arg(long, value_name = "ID")]
    pub stakeholder: Option<Uuid>,

    /// Only this pilot's lines.
    #[arg(long, value_name = "ID")]
    pub pilot: Option<Uuid>,

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
    pub common: Common,
}

fn parse_level(text: &str) -> Result<String, String> {
    serde_json::from_value::<Level>(Value::String(text.to_string()))
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

pub async fn stakeholders(args: StakeholdersArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let all = http.get_json("/api/v1/stakeholders", &[]).await?;
    if args.common.json {
        return output::json(&all);
    }
    let rows = all.as_array().ok_or_else(|| {
        Failure::BadAnswer("GET /api/v1/stakeholders answered something other than a list".into())
    })?;
    if rows.is_empty() {
        return output::line("no stakeholders");
    }
    let balance = rows.iter().find_map(|s| {
        ["balance", "points"]
            .into_iter()
            .find(|k| s.get(*k).is_some())
    });
    let mut headers = vec![
        "stakeholder_id",
        "name",
        "kind",
        "level",
        "influence",
        "registered",
    ];
    headers.extend(balance);
    let mut table = Table::new(&headers).right(&["influence", "balance", "points"]);
    for s in rows {
        let mut row = vec![
            output::text(s, "stakeholder_id"),
            output::text(s, "name"),
            output::text(s, "kind"),
            output::text(s, "level"),
            output::text(s, "influence"),
            output::date(s.get("registered_at")),
        ];
        row.extend(balance.map(|k| output::text(s, k)));
        table.row(row);
    }
    table.print()
}

pub async fn highlights(args: HighlightsArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let query = [
        ("stakeholder", args.stakeholder.map(|s| s.to_string())),
        ("pilot", args.pilot.map(|p| p.to_string())),
        ("level", args.level.clone()),
        ("from", args.from.clone()),
        ("until", args.until.clone()),
    ];
    let lines = http.get_json("/api/v1/highlights", &query).await?;
    if args.common.json {
        return output::json(&lines);
    }
    let rows = lines.as_array().ok_or_else(|| {
        Failure::BadAnswer("GET /api/v1/highlights answered something other than a list".into())
    })?;
    if rows.is_empty() {
        return output::line("no highlights");
    }
    let names = stakeholder_names(&http).await;
    let with_balance = rows.iter().any(|l| l.get("balance").is_some());
    let mut headers = vec![
        "date",
        "level",
        "points",
        "title",
        "conferred_by",
        "credited_to",
        "pilot_id",
    ];
    if with_balance {
        headers.push("balance");
    }
    let mut table = Table::new(&headers).right(&["points", "balance"]);
    for line in rows {
        let credited: Vec<String> = line
            .get("credited_to")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|id| {
                let id = output::cell(Some(id));
                names.get(&id).cloned().unwrap_or(id)
            })
            .collect();
        let mut row = vec![
            output::date(line.get("occurred_at")),
            output::text(line, "level"),
            output::text(line, "points"),
            output::clip(&output::text(line, "title"), TITLE_CHARS),
            output::clip(&output::text(line, "conferred_by"), TITLE_CHARS),
            credited.join("; "),
            output::text(line, "pilot_id"),
        ];
        if with_balance {
            row.push(output::text(line, "balance"));
        }
        table.row(row);
    }
    table.print()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_the_vocabularys() {
        assert_eq!(parse_level("national").unwrap(), "national");
        assert!(parse_level("global").is_err());
    }
}
