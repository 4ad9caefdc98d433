//! `docs/domain.md` is the product's reference for its vocabulary: it must name every event
//! type of the catalogue and every word of every closed list, as the code spells them. The
//! code is the source; this test keeps the page from falling behind it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use pilot_events::vocabulary::{
    AdoptionMechanism, Channel, ContextKind, Direction, HighlightKind, Level, LinkRelation,
    Precision, Qualifier, Stage, StakeholderKind, Strategy,
};
use pilot_events::EventType;
use std::path::PathBuf;

fn domain_doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/domain.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The words `doc` lacks, each looked for as code (between backticks).
fn missing<'a>(doc: &str, words: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    words
        .into_iter()
        .filter(|word| !doc.contains(&format!("`{word}`")))
        .collect()
}

#[test]
fn the_domain_page_names_every_event_type() {
    let doc = domain_doc();
    let lacking = missing(&doc, EventType::ALL.iter().map(|t| t.as_str()));
    assert!(
        lacking.is_empty(),
        "docs/domain.md lacks the event types {lacking:?}"
    );
}

#[test]
fn the_domain_page_names_every_word_of_every_closed_list() {
    let doc = domain_doc();
    let lists: [(&str, &[&str]); 12] = [
        ("level", Level::WORDS),
        ("stakeholder kind", StakeholderKind::WORDS),
        ("channel", Channel::WORDS),
        ("strategy", Strategy::WORDS),
        ("highlight kind", HighlightKind::WORDS),
        ("adoption mechanism", AdoptionMechanism::WORDS),
        ("precision", Precision::WORDS),
        ("qualifier", Qualifier::WORDS),
        ("direction", Direction::WORDS),
        ("context kind", ContextKind::WORDS),
        ("link relation", LinkRelation::WORDS),
        ("stage", Stage::WORDS),
    ];
    for (list, words) in lists {
        let lacking = missing(&doc, words.iter().copied());
        assert!(
            lacking.is_empty(),
            "docs/domain.md lacks the {list} words {lacking:?}"
        );
    }
}

#[test]
fn the_domain_page_gives_the_ledger_points_of_each_level() {
    let doc = domain_doc();
    let points = Level::ALL
        .iter()
        .map(|level| format!("{} {}", level.highlight_points(), level.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        doc.replace('\n', " ").replace("  ", " ").contains(&points),
        "docs/domain.md must give the points per level as `{points}`"
    );
}
