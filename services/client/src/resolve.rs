//! Which pilot, stakeholder or jurisdiction a person means: a command takes its id, a unique prefix of its
//! title or name (any case), or a short id (a unique prefix of the id's hex digits), and this
//! module turns that into the id the API wants, over the list endpoints. An acronym
//! (`LCHI`) finds the title that holds it when no title starts with it.
//!
//! Every command that takes a pilot or a stakeholder goes through here, so the rule is one.
//! Nothing matches: [`Failure::NotFound`] (exit 5). Several match: [`Failure::Input`] (exit 3,
//! "input refused"), listing them, so the next try can be exact.

use super::http::Http;
use super::Failure;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// The fewest hex digits taken as a short id: fewer match too much to mean anything.
pub const MIN_SHORT_ID: usize = 4;
/// How many candidates an error lists; the rest are counted.
const SHOWN_CANDIDATES: usize = 10;

/// What is being looked up: where its list is, and which fields hold its id and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pilot,
    Stakeholder,
    Jurisdiction,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Pilot => "pilot",
            Kind::Stakeholder => "stakeholder",
            Kind::Jurisdiction => "jurisdiction",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Pilot => "/api/v1/pilots",
            Kind::Stakeholder => "/api/v1/stakeholders",
            Kind::Jurisdiction => "/api/v1/jurisdictions",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            Kind::Pilot => "pilot_id",
            Kind::Stakeholder => "stakeholder_id",
            Kind::Jurisdiction => "jurisdiction_id",
        }
    }

    fn name_field(self) -> &'static str {
        match self {
            Kind::Pilot => "title",
            Kind::Stakeholder | Kind::Jurisdiction => "name",
        }
    }

    /// The command that lists them all.
    fn lister(self) -> &'static str {
        match self {
            Kind::Pilot => "pilot status",
            Kind::Stakeholder => "pilot stakeholders",
            Kind::Jurisdiction => "pilot jurisdictions",
        }
    }
}

/// One pilot or stakeholder as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: Uuid,
    pub name: String,
}

/// Every pilot or stakeholder the server lists, with its id and title or name.
pub async fn candidates(http: &Http, kind: Kind) -> Result<Vec<Candidate>, Failure> {
    let list = http.get_json(kind.path(), &[]).await?;
    let Value::Array(rows) = list else {
        return Err(Failure::BadAnswer(format!(
            "GET {} answered something other than a list",
            kind.path()
        )));
    };
    Ok(rows
        .iter()
        .filter_map(|row| {
            let id = row.get(kind.id_field())?.as_str()?.parse().ok()?;
            let name = row
                .get(kind.name_field())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Some(Candidate { id, name })
        })
        .collect())
}

/// Titles or names by id (as text), for showing ids as people know them; empty when the
/// server will not say (a table is still worth printing with ids).
pub async fn names(http: &Http, kind: Kind) -> HashMap<String, String> {
    candidates(http, kind)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect()
}

/// The id `given` names: an id as it is (the server says whether it exists), else one looked
/// up in the server's list.
pub async fn id(http: &Http, kind: Kind, given: &str) -> Result<Uuid, Failure> {
    if let Ok(id) = Uuid::parse_str(given.trim()) {
        return Ok(id);
    }
    pick(kind, given, &candidates(http, kind).await?)
}

/// [`id`] for an optional argument.
pub async fn optional(
    http: &Http,
    kind: Kind,
    given: Option<&str>,
) -> Result<Option<Uuid>, Failure> {
    match given {
        Some(given) => id(http, kind, given).await.map(Some),
        None => Ok(None),
    }
}

/// The one candidate `given` names: its whole id; else its whole title (any case); else the
/// candidates whose title starts with it (any case) or whose id's hex digits start with it
/// (at least [`MIN_SHORT_ID`] of them; dashes are ignored) must be exactly one; else, when
/// none starts so, the candidates whose title holds it anywhere (any case) must be.
pub fn pick(kind: Kind, given: &str, candidates: &[Candidate]) -> Result<Uuid, Failure> {
    let wanted = given.trim();
    if wanted.is_empty() {
        return Err(Failure::Input(format!(
            "an empty {} was given: give its id, the start of its {} or a short id",
            kind.noun(),
            kind.name_field()
        )));
    }
    if let Ok(id) = Uuid::parse_str(wanted) {
        return Ok(id);
    }
    let folded = wanted.to_lowercase();
    let exact: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.name.to_lowercase() == folded)
        .collect();
    if let [one] = exact.as_slice() {
        return Ok(one.id);
    }
    let hex: String = folded.chars().filter(|c| *c != '-').collect();
    let short_id = hex.len() >= MIN_SHORT_ID && hex.chars().all(|c| c.is_ascii_hexdigit());
    let starting: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| {
            c.name.to_lowercase().starts_with(&folded)
                || (short_id && c.id.simple().to_string().starts_with(&hex))
        })
        .collect();
    // Only when nothing starts so: the title holding it anywhere (an acronym: `LCHI`).
    let matching = if starting.is_empty() {
        candidates
            .iter()
            .filter(|c| c.name.to_lowercase().contains(&folded))
            .collect()
    } else {
        starting
    };
    match matching.as_slice() {
        [one] => Ok(one.id),
        [] => Err(Failure::NotFound(format!(
            "no {noun} matches {wanted:?}: give its id, the start of its {field} or a short id \
             (`{lister}` lists them){known}",
            noun = kind.noun(),
            field = kind.name_field(),
            lister = kind.lister(),
            known = listing("; known: ", candidates.iter()),
        ))),
        many => Err(Failure::Input(format!(
            "{wanted:?} matches {} {}s; give more of the {} or the id{}",
            many.len(),
            kind.noun(),
            kind.name_field(),
            listing(": ", many.iter().copied()),
        ))),
    }
}

/// Candidates as `name (id)`, the first [`SHOWN_CANDIDATES`] of them.
fn listing<'a>(lead: &str, candidates: impl ExactSizeIterator<Item = &'a Candidate>) -> String {
    let total = candidates.len();
    if total == 0 {
        return String::new();
    }
    let mut shown: Vec<String> = candidates
        .take(SHOWN_CANDIDATES)
        .map(|c| format!("{} ({})", super::output::visible(&c.name), c.id))
        .collect();
    if total > SHOWN_CANDIDATES {
        shown.push(format!("and {} more", total - SHOWN_CANDIDATES));
    }
    format!("{lead}{}", shown.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pilots() -> Vec<Candidate> {
        [
            (
                "0194a000-0001-7000-8000-000000000003",
                "Health Insurance for Hospital Care (HIHC)",
            ),
            (
                "0194a000-0001-7000-8000-000000000004",
                "Health Insurance for Critical Illness (HICI)",
            ),
            ("0194b111-0001-7000-8000-000000000005", "Long-term Care"),
            (
                "0194c222-0001-7000-8000-000000000006",
                "Long-term Care in Towns",
            ),
            ("0194d333-0001-7000-8000-000000000007", "南国市财政局试点"),
        ]
        .into_iter()
        .map(|(id, name)| Candidate {
            id: id.parse().unwrap(),
            name: name.into(),
        })
        .collect()
    }

    fn id(text: &str) -> Uuid {
        text.parse().unwrap()
    }

    #[test]
    fn a_title_prefix_in_any_case_names_one() {
        let all = pilots();
        assert_eq!(
            pick(Kind::Pilot, "health insurance for hosp", &all).unwrap(),
            id("0194a000-0001-7000-8000-000000000003")
        );
        assert_eq!(
            pick(Kind::Pilot, "南国", &all).unwrap(),
            id("0194d333-0001-7000-8000-000000000007")
        );
    }

    #[test]
    fn a_whole_title_wins_over_longer_titles_it_starts() {
        assert_eq!(
            pick(Kind::Pilot, "LONG-TERM CARE", &pilots()).unwrap(),
            id("0194b111-0001-7000-8000-000000000005")
        );
    }

    #[test]
    fn a_short_id_names_one() {
        let all = pilots();
        assert_eq!(
            pick(Kind::Pilot, "0194c222", &all).unwrap(),
            id("0194c222-0001-7000-8000-000000000006")
        );
        assert_eq!(
            pick(Kind::Pilot, "0194C222-00", &all).unwrap(),
            id("0194c222-0001-7000-8000-000000000006")
        );
    }

    #[test]
    fn an_ambiguous_name_is_refused_listing_the_candidates() {
        let failure = pick(Kind::Pilot, "Health", &pilots()).unwrap_err();
        assert_eq!(failure.exit_code(), 3);
        let text = failure.to_string();
        assert!(text.contains("matches 2 pilots"), "{text}");
        assert!(
            text.contains("(HIHC) (0194a000-0001-7000-8000-000000000003)"),
            "{text}"
        );
        assert!(text.contains("(HICI)"), "{text}");
        // So is a short id that several share.
        assert_eq!(
            pick(Kind::Pilot, "0194a000", &pilots())
                .unwrap_err()
                .exit_code(),
            3
        );
    }

    #[test]
    fn nothing_matching_is_not_found_and_says_what_would() {
        let failure = pick(Kind::Stakeholder, "Mayor Wu", &pilots()).unwrap_err();
        assert_eq!(failure.exit_code(), 5);
        let text = failure.to_string();
        assert!(
            text.contains("no stakeholder matches \"Mayor Wu\""),
            "{text}"
        );
        assert!(text.contains("pilot stakeholders"), "{text}");
        // Too few hex digits are no short id.
        assert_eq!(
            pick(Kind::Pilot, "019", &pilots()).unwrap_err().exit_code(),
            5
        );
        assert_eq!(
            pick(Kind::Pilot, "  ", &pilots()).unwrap_err().exit_code(),
            3
        );
    }

    #[test]
    fn a_title_holding_it_is_found_when_none_starts_with_it() {
        assert_eq!(
            pick(Kind::Pilot, "hihc", &pilots()).unwrap(),
            id("0194a000-0001-7000-8000-000000000003")
        );
        // "Care" is in three titles.
        assert_eq!(
            pick(Kind::Pilot, "care", &pilots())
                .unwrap_err()
                .exit_code(),
            3
        );
    }

    #[test]
    fn a_whole_id_is_taken_as_it_is() {
        let unknown = "0194ffff-0001-7000-8000-000000000009";
        assert_eq!(pick(Kind::Pilot, unknown, &pilots()).unwrap(), id(unknown));
    }
}
