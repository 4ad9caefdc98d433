//! `pilot erase --plan` (`GET /api/v1/subjects/erasure-plan`, admin): what the `[[retention]]`
//! rules will erase, and when, before it happens.

use super::http::Http;
use super::output;
use super::table::Ids;
use super::{Common, Failure};
use serde_json::Value;

pub async fn run(common: &Common, ids: Ids) -> Result<(), Failure> {
    let http = Http::new(common)?;
    let plan = http.get_json("/api/v1/subjects/erasure-plan", &[]).await?;
    if common.json {
        return output::json(&plan);
    }
    output::print(&render(&plan, ids, super::table::width()))
}

/// The plan as text, its table fitted to `width`: the rules, then a row per person, earliest
/// instant first (the exact instant: an erasure happens at it, to the second).
pub fn render(plan: &Value, ids: Ids, width: u16) -> String {
    let rules = output::items(plan, "rules");
    if rules.is_empty() {
        return "no [[retention]] rules are configured: nothing is erased by retention\n"
            .to_string();
    }
    let mut text = String::from("retention rules:\n");
    for rule in rules {
        text.push_str(&format!("  {}\n", describe_rule(rule)));
    }
    let subjects = output::items(plan, "subjects");
    if subjects.is_empty() {
        text.push_str("\nno person is planned for erasure\n");
        return text;
    }
    text.push_str(&format!("\nas of {}:\n", output::text(plan, "at")));
    let mut table = ids.table(
        &["name", "kind", "erased at", "state", "counted from"],
        "stakeholder_id",
    );
    for subject in subjects {
        let row = vec![
            output::text(subject, "name"),
            output::text(subject, "kind"),
            output::text(subject, "due_at"),
            state(subject),
            counted_from(subject.get("basis").unwrap_or(&Value::Null)),
        ];
        table.row(ids.cells(row, output::text(subject, "stakeholder_id")));
    }
    text.push_str(&table.render_within(width));
    text
}

/// `resident_group: 1826 days after pilot_end`.
fn describe_rule(rule: &Value) -> String {
    format!(
        "{}: {} days after {}",
        output::text(rule, "kind"),
        output::text(rule, "after_days"),
        output::text(rule, "from")
    )
}

fn state(subject: &Value) -> String {
    let basis = subject.get("basis").unwrap_or(&Value::Null);
    if subject.get("due") == Some(&Value::Bool(true)) {
        return "due now".to_string();
    }
    match basis.get("state").and_then(Value::as_str) {
        Some("pilots_running") => {
            let running = output::items(basis, "pilot_ids").len();
            format!("waiting: {running} pilot(s) running")
        }
        Some("no_pilot") => "waiting: in no pilot".to_string(),
        _ => "scheduled".to_string(),
    }
}

fn counted_from(basis: &Value) -> String {
    match basis.get("state").and_then(Value::as_str) {
        Some("pilot_ended") => format!(
            "pilot {} ended {}",
            short(&output::text(basis, "pilot_id")),
            output::date(basis.get("ended_at"))
        ),
        Some("registered") => format!("registered {}", output::date(basis.get("registered_at"))),
        _ => "-".to_string(),
    }
}

/// The first eight hex digits of an id: enough to name it to `pilot erase` (a short id, see `resolve`).
fn short(id: &str) -> String {
    id.get(..8).unwrap_or(id).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plan_shows_rules_instants_and_why_some_wait() {
        let plan = json!({
            "at": "2025-01-01T00:00:00Z",
            "rules": [{"kind": "resident_group", "after_days": 1826, "from": "pilot_end"}],
            "subjects": [
                {"stakeholder_id": "0194aaaa-0000-7000-8000-000000000001", "name": "Chair Wang",
                 "kind": "resident_group", "due_at": "2025-06-30T09:00:00Z", "due": false,
                 "basis": {"state": "pilot_ended", "pilot_id": "0194bbbb-0000-7000-8000-000000000002",
                           "ended_at": "2020-06-30T09:00:00Z"}},
                {"stakeholder_id": "0194aaaa-0000-7000-8000-000000000003", "name": "Rep Li",
                 "kind": "resident_group", "due_at": null, "due": false,
                 "basis": {"state": "pilots_running", "pilot_ids": ["0194bbbb-0000-7000-8000-000000000004"]}}
            ]
        });
        let text = render(&plan, Ids { ids: true }, 200);
        assert!(
            text.contains("resident_group: 1826 days after pilot_end"),
            "{text}"
        );
        assert!(text.contains("2025-06-30T09:00:00Z"), "{text}");
        assert!(text.contains("pilot 0194bbbb ended 2020-06-30"), "{text}");
        assert!(text.contains("waiting: 1 pilot(s) running"), "{text}");
        assert!(
            text.contains("0194aaaa-0000-7000-8000-000000000003"),
            "{text}"
        );
        let wang = text.find("Chair Wang").unwrap();
        let li = text.find("Rep Li").unwrap();
        assert!(wang < li, "in the server's order: {text}");
    }

    #[test]
    fn no_rules_and_no_persons_are_said_plainly() {
        let none = render(
            &json!({"at": "x", "rules": [], "subjects": []}),
            Ids::default(),
            80,
        );
        assert!(none.contains("no [[retention]] rules"), "{none}");
        let empty = render(
            &json!({"at": "x", "rules": [{"kind": "media", "after_days": 1, "from": "registered"}], "subjects": []}),
            Ids::default(),
            80,
        );
        assert!(empty.contains("no person is planned"), "{empty}");
    }
}
