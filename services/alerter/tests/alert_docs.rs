//! The alert kinds the docs name are the kinds that are recorded and sent: both tables are
//! parsed and compared with the code's one catalogue (`pilot_projections::alerting::record::KINDS`,
//! itself checked against the serialized events), so a renamed or added kind fails here until
//! the docs say it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_projections::alerting::record::KINDS;
use std::collections::BTreeSet;

fn doc(name: &str) -> String {
    let path = format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The rows of the first table after the line `heading`, as their cells with the backticks
/// taken off (the header and the `|---|` line skipped).
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let start = text
        .lines()
        .position(|line| line.trim() == heading)
        .unwrap_or_else(|| panic!("no line {heading:?}"));
    text.lines()
        .skip(start + 1)
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn alerts_the_docs_name_every_kind_that_is_sent() {
    let catalogue: Vec<(String, String)> = KINDS
        .iter()
        .map(|k| (k.subject.to_string(), k.transition.to_string()))
        .collect();
    let delivery: Vec<(String, String)> = table_after(&doc("alert-delivery.md"), "### Alert kinds")
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    assert_eq!(
        delivery, catalogue,
        "docs/alert-delivery.md, \"Alert kinds\": (subject token, transition.kind) per kind"
    );

    let subjects: BTreeSet<String> = KINDS.iter().map(|k| k.subject.to_string()).collect();
    let alerting: BTreeSet<String> =
        table_after(&doc("alerting.md"), "pilot.alerts.<kind>.<alert_id>.<key>")
            .into_iter()
            .map(|row| row[0].clone())
            .collect();
    assert_eq!(alerting, subjects, "docs/alerting.md, the subject table");
}
