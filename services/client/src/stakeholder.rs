//! `pilot stakeholders STAKEHOLDER`: one stakeholder in detail (`GET /api/v1/stakeholders/{id}`):
//! who it is, its stance on each pilot, the highlights credited to it with its running
//! balance, and the posts it held (a person) or the people who held it (a post).

use super::http::Http;
use super::output;
use super::resolve::{self, Kind};
use super::table::{section, Table};
use super::{Common, Failure};
use serde_json::Value;

pub async fn show(common: &Common, given: &str) -> Result<(), Failure> {
    let http = Http::new(common)?;
    let id = resolve::id(&http, Kind::Stakeholder, given).await?;
    let detail = http
        .get_json(&format!("/api/v1/stakeholders/{id}"), &[])
        .await?;
    if common.json {
        return output::json(&detail);
    }
    output::print(&render(&detail))
}

/// The detail as text: facts, then a table per section (a `-` for an empty one).
pub fn render(detail: &Value) -> String {
    let mut text = format!("{}\n", output::visible(&output::text(detail, "name")));
    let mut facts = Table::new(&["", ""]);
    for (label, value) in [
        ("stakeholder_id", output::text(detail, "stakeholder_id")),
        ("kind", output::text(detail, "kind")),
        ("level", output::text(detail, "level")),
        ("influence", output::text(detail, "influence")),
        ("registered", output::date(detail.get("registered_at"))),
        ("points", output::text(detail, "points")),
    ] {
        facts.row(vec![format!("  {label}"), value]);
    }
    text.push_str(&facts.render());

    let mut pilots = Table::new(&["pilot", "stage", "stance", "contacts", "last_contact"])
        .right(&["stance", "contacts"]);
    for pilot in output::items(detail, "pilots") {
        pilots.row(vec![
            output::text(pilot, "title"),
            output::text(pilot, "stage"),
            output::text(pilot, "stance"),
            output::text(pilot, "contacts"),
            output::date(pilot.get("last_contact")),
        ]);
    }
    section(&mut text, "stances", pilots);

    let mut ledger =
        Table::new(&["date", "level", "points", "title", "balance"]).right(&["points", "balance"]);
    for line in output::items(detail, "ledger") {
        ledger.row(vec![
            output::date(line.get("occurred_at")),
            output::text(line, "level"),
            output::text(line, "points"),
            output::text(line, "title"),
            output::text(line, "balance"),
        ]);
    }
    section(&mut text, "ledger", ledger);

    for (title, key, other) in [
        ("posts held", "tenures", "post_name"),
        ("holders", "holders", "person_name"),
    ] {
        if output::items(detail, key).is_empty() {
            continue;
        }
        let mut tenures = Table::new(&["who", "from", "to", "note"]);
        for tenure in output::items(detail, key) {
            tenures.row(vec![
                output::text(tenure, other),
                output::date(tenure.get("from")),
                output::date(tenure.get("to")),
                output::text(tenure, "note"),
            ]);
        }
        section(&mut text, title, tenures);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_stances_ledger_and_posts_by_name() {
        let text = render(&json!({
            "stakeholder_id": "0194a000-0002-7000-8000-000000000001",
            "name": "Party Secretary Li", "kind": "leader", "level": "municipal",
            "influence": 5, "registered_at": "1992-04-13T08:30:00+08:00", "points": 3,
            "pilots": [{"pilot_id": "0194a000-0001-7000-8000-000000000003",
                        "title": "Health Insurance for Hospital Care (HIHC)",
                        "stage": "implementing", "stance": 2, "contacts": 4,
                        "last_contact": "2000-05-01T10:00:00+08:00"}],
            "ledger": [{"occurred_at": "2001-03-01T00:00:00+08:00", "level": "provincial",
                        "points": 3, "title": "Visit of leaders of the provincial government",
                        "balance": 3}],
            "tenures": [{"post_name": "Party Secretary of Nanguo (post)", "from": "1992-04-13",
                         "to": null, "note": "appointed"}],
            "holders": []
        }));
        assert!(text.starts_with("Party Secretary Li\n"), "{text}");
        for expected in [
            "Health Insurance for Hospital Care (HIHC)",
            "Visit of leaders of the provincial government",
            "Party Secretary of Nanguo (post)",
            "posts held:",
        ] {
            assert!(text.contains(expected), "{expected} missing:\n{text}");
        }
        assert!(!text.contains("holders:"), "{text}");
    }
}
