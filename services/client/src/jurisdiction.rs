//! `pilot jurisdictions JURISDICTION`: one jurisdiction in detail
//! (`GET /api/v1/jurisdictions/{id}`): as registered, its context in (`occurred_at`, position)
//! order, and the pilots that name it, by title.

use super::http::Http;
use super::output;
use super::resolve::{self, Kind};
use super::table::{section, Table};
use super::{Common, Failure};
use serde_json::Value;
use std::collections::HashMap;

pub async fn show(common: &Common, given: &str) -> Result<(), Failure> {
    let http = Http::new(common)?;
    let id = resolve::id(&http, Kind::Jurisdiction, given).await?;
    let detail = http
        .get_json(&format!("/api/v1/jurisdictions/{id}"), &[])
        .await?;
    if common.json {
        return output::json(&detail);
    }
    let titles = resolve::names(&http, Kind::Pilot).await;
    output::print(&render(&detail, &titles))
}

/// The detail as text; `titles` are the pilots' titles by id.
pub fn render(detail: &Value, titles: &HashMap<String, String>) -> String {
    let mut text = format!("{}\n", output::visible(&output::text(detail, "name")));
    let mut facts = Table::new(&["", ""]);
    let calendar = match detail.get("calendar").and_then(Value::as_str) {
        Some(name) => name.to_string(),
        None => "default".to_string(),
    };
    for (label, value) in [
        ("jurisdiction_id", output::text(detail, "jurisdiction_id")),
        ("level", output::text(detail, "level")),
        ("utc_offset", output::text(detail, "utc_offset")),
        ("calendar", calendar),
        ("registered", output::date(detail.get("registered_at"))),
    ] {
        facts.row(vec![format!("  {label}"), value]);
    }
    text.push_str(&facts.render());

    let mut context = Table::new(&["date", "kind", "title", "value"]).right(&["value"]);
    for entry in output::items(detail, "context") {
        let value = match entry.get("value") {
            Some(v) if !v.is_null() => format!(
                "{} {}",
                output::cell(Some(v)),
                entry.get("unit").and_then(Value::as_str).unwrap_or("")
            )
            .trim()
            .to_string(),
            _ => "-".to_string(),
        };
        context.row(vec![
            output::date(entry.get("occurred_at")),
            output::text(entry, "kind"),
            output::text(entry, "title"),
            value,
        ]);
    }
    section(&mut text, "context", context);

    let mut pilots = Table::new(&["pilot"]);
    for id in output::items(detail, "pilot_ids") {
        let id = output::cell(Some(id));
        pilots.row(vec![titles.get(&id).cloned().unwrap_or(id)]);
    }
    section(&mut text, "pilots", pilots);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_context_in_order_and_pilots_by_title() {
        let titles = HashMap::from([(
            "0194a000-0001-7000-8000-000000000003".to_string(),
            "Health Insurance for Hospital Care (HIHC)".to_string(),
        )]);
        let text = render(
            &json!({
                "jurisdiction_id": "0194a000-0003-7000-8000-000000000001", "name": "Nanguo",
                "level": "municipal", "utc_offset": "+08:00", "calendar": "nanguo",
                "registered_at": "1992-03-01T00:00:00+08:00",
                "context": [
                    {"occurred_at": "2000-01-01T00:00:00+08:00", "kind": "directive",
                     "title": "The province asks Nanguo to raise participants to 1 million"},
                    {"occurred_at": "2008-01-01T00:00:00+08:00", "kind": "indicator",
                     "title": "Migrant workers", "value": 0.4, "unit": "share"}
                ],
                "pilot_ids": ["0194a000-0001-7000-8000-000000000003", "0194a000-0001-7000-8000-000000000009"]
            }),
            &titles,
        );
        assert!(text.starts_with("Nanguo\n"), "{text}");
        let directive = text.find("raise participants").unwrap();
        let indicator = text.find("0.4 share").unwrap();
        assert!(directive < indicator, "{text}");
        assert!(
            text.contains("Health Insurance for Hospital Care (HIHC)"),
            "{text}"
        );
        // A pilot the list does not know keeps its id.
        assert!(
            text.contains("0194a000-0001-7000-8000-000000000009"),
            "{text}"
        );
    }
}
