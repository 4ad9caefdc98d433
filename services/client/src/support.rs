//! `pilot support PILOT [--as-of DATE] [--known-at DATE]`: who supports a pilot and how much
//! that weighs (`GET /api/v1/pilots/{id}/support`), a row per stakeholder with a stance.

use super::http::Http;
use super::output;
use super::resolve::{self, Kind};
use super::status::parse_when;
use super::table::Ids;
use super::{Common, Failure};
use clap::Args;
use serde_json::Value;

#[derive(Debug, Clone, Args)]
pub struct SupportArgs {
    /// The pilot: its id, the start of its title, or a short id.
    #[arg(value_name = "PILOT")]
    pub pilot: String,

    /// As of a world date (see `pilot status --as-of`).
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub as_of: Option<String>,

    /// As known at a system date (see `pilot status --known-at`).
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub known_at: Option<String>,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: SupportArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let id = resolve::id(&http, Kind::Pilot, &args.pilot).await?;
    let query = [("as_of", args.as_of), ("known_at", args.known_at)];
    let support = http
        .get_json(&format!("/api/v1/pilots/{id}/support"), &query)
        .await?;
    if args.common.json {
        return output::json(&support);
    }
    output::print(&render(&support, args.ids))
}

/// The support index, then the stakeholders by name with their stance and contacts.
pub fn render(support: &Value, ids: Ids) -> String {
    let index = support
        .get("support_index")
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_string(), |s| format!("{s:+.2}"));
    let mut text = format!("support_index {index}\n");
    let table = ids.table(
        &[
            "stakeholder",
            "kind",
            "influence",
            "stance",
            "contacts",
            "last_contact",
            "strategies",
        ],
        "stakeholder_id",
    );
    let mut table = table.right(&["influence", "stance", "contacts"]);
    for row in output::items(support, "stakeholders") {
        let strategies: Vec<String> = output::items(row, "strategies")
            .iter()
            .map(|s| output::cell(Some(s)))
            .collect();
        let id = output::text(row, "stakeholder_id");
        let name = match row.get("name").and_then(Value::as_str) {
            Some(name) => name.to_string(),
            None => id.clone(),
        };
        let cells = vec![
            name,
            output::text(row, "kind"),
            output::text(row, "influence"),
            output::text(row, "stance"),
            output::text(row, "contacts"),
            output::date(row.get("last_contact")),
            strategies.join(", "),
        ];
        table.row(ids.cells(cells, id));
    }
    if table.is_empty() {
        text.push_str("no stakeholder has a stance on this pilot\n");
    } else {
        text.push_str(&table.render());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_each_stakeholder_and_its_stance() {
        let support = json!({
            "pilot_id": "0194a000-0001-7000-8000-000000000003", "support_index": 0.5,
            "coalition": [], "opposition": [],
            "stakeholders": [
                {"stakeholder_id": "0194a000-0002-7000-8000-000000000001", "name": "Party Secretary Li",
                 "kind": "leader", "influence": 5, "stance": 2, "contacts": 3,
                 "last_contact": "2000-05-01T10:00:00+08:00", "strategies": ["persuasion", "framing"]},
                {"stakeholder_id": "0194a000-0002-7000-8000-000000000009", "name": null,
                 "stance": -1, "contacts": 1, "strategies": []}
            ]
        });
        let text = render(&support, Ids::default());
        assert!(text.starts_with("support_index +0.50\n"), "{text}");
        let li = text
            .lines()
            .find(|l| l.contains("Party Secretary Li"))
            .unwrap();
        assert!(li.contains("persuasion, framing"), "{li}");
        assert!(
            !text.contains("0194a000-0002-7000-8000-000000000001"),
            "{text}"
        );
        // A retracted stakeholder has no name: its id stands in.
        assert!(
            text.contains("0194a000-0002-7000-8000-000000000009"),
            "{text}"
        );
    }
}
