//! `docs/personal-data.md` lists the personal fields of every event type. The catalogue
//! (`Field::personal`, through `EventType::fields()`) is the one list the writer seals and the
//! readers open; this test keeps the page's table the same list, row for row, so a field marked
//! personal (or unmarked) in the code cannot go unmentioned in the docs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use pilot_events::EventType;
use std::path::PathBuf;

const START: &str = "<!-- personal-fields:start -->";
const END: &str = "<!-- personal-fields:end -->";

fn personal_data_doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/personal-data.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The table as the catalogue gives it, in catalogue order.
fn table_from_the_catalogue() -> String {
    let mut table = String::from("| event type | field | whose personal data |\n|---|---|---|\n");
    for event_type in EventType::ALL {
        for field in event_type.fields() {
            if let Some(whose) = field.personal {
                table.push_str(&format!(
                    "| `{}` | `{}` | {} |\n",
                    event_type.as_str(),
                    field.name,
                    whose.describe()
                ));
            }
        }
    }
    table
}

/// The table between the markers of the page.
fn table_in_the_doc(doc: &str) -> &str {
    let start = doc
        .find(START)
        .unwrap_or_else(|| panic!("docs/personal-data.md lacks {START}"));
    let rest = &doc[start + START.len()..];
    let end = rest
        .find(END)
        .unwrap_or_else(|| panic!("docs/personal-data.md lacks {END}"));
    rest[..end].trim_start_matches('\n')
}

#[test]
fn the_personal_data_page_lists_exactly_the_personal_fields_of_the_catalogue() {
    let doc = personal_data_doc();
    let expected = table_from_the_catalogue();
    assert_eq!(
        table_in_the_doc(&doc),
        expected,
        "docs/personal-data.md's list of personal fields differs from the catalogue; \
         put this between {START} and {END}:\n{expected}"
    );
}

#[test]
fn the_catalogue_marks_some_personal_fields() {
    // An empty table would pass the comparison above if the markers lost every field.
    assert!(table_from_the_catalogue().lines().count() > 2);
}

#[test]
fn the_personal_data_page_names_the_erasure_event_and_the_person_flag() {
    let doc = personal_data_doc();
    for word in [
        "`subject.erased`",
        "`person: true`",
        "`already_erased`",
        "`not_a_person`",
    ] {
        assert!(doc.contains(word), "docs/personal-data.md lacks {word}");
    }
}
