//! A CSV file's header, mapped to what an event of one type carries: its date, its actor, the
//! chain it joins and its `data` fields, as [`pilot_events::fields`] describes them (the same
//! descriptions the web forms are built from). Pure: no world, no IO.
//!
//! Headers match case-insensitively, with spaces and hyphens read as `_` (`Occurred At`,
//! `policy-area`). A column nobody expects is refused with the list of those expected: a typo
//! must not silently drop a fact.

use pilot_events::fields::{Field, Kind};
use pilot_events::{EventType, SubjectKind};

/// What one column fills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    OccurredAt,
    Office,
    User,
    /// The chain the event joins: a pilot (or stakeholder, jurisdiction) by id or by title.
    Chain,
    Data(Field),
}

impl Target {
    /// The name the target is known by in a digest and in messages.
    pub fn name(self, event_type: EventType) -> &'static str {
        match self {
            Target::OccurredAt => "occurred_at",
            Target::Office => "office",
            Target::User => "user",
            Target::Chain => chain_names(event_type)[0],
            Target::Data(field) => field.name,
        }
    }
}

/// The file's columns, in its order.
#[derive(Debug, Clone)]
pub struct Columns {
    pub event_type: EventType,
    pub targets: Vec<Target>,
}

/// Why a header cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnsError {
    #[error("unknown column{} {}: a {event_type} row takes {}", plural(columns), quoted(columns), expected.join(", "))]
    Unknown {
        event_type: EventType,
        columns: Vec<String>,
        expected: Vec<String>,
    },
    #[error("missing column{} {}: every {event_type} row needs {}", plural(columns), quoted(columns), required.join(", "))]
    Missing {
        event_type: EventType,
        columns: Vec<String>,
        required: Vec<String>,
    },
    #[error("column {column:?} is given twice (as {first:?} and {second:?})")]
    Twice {
        column: String,
        first: String,
        second: String,
    },
}

fn plural(list: &[String]) -> &'static str {
    if list.len() == 1 {
        ""
    } else {
        "s"
    }
}

fn quoted(list: &[String]) -> String {
    list.iter()
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A header as it is matched: trimmed, lower case, spaces and hyphens as `_`.
pub fn normalize(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// The names the chain column goes by, the first its own; none for a type that opens its
/// chain (the id is made when it is stored).
fn chain_names(event_type: EventType) -> &'static [&'static str] {
    if event_type.opens_chain() {
        return &[];
    }
    match event_type.subject_kind() {
        SubjectKind::Pilot | SubjectKind::Either => &["pilot", "pilot_id", "pilot_title"],
        SubjectKind::Stakeholder => &["stakeholder", "stakeholder_id", "stakeholder_name"],
        SubjectKind::Jurisdiction => &["jurisdiction_id"],
    }
}

/// The type's data fields a row may fill (the writer fills the rest).
fn data_fields(event_type: EventType) -> impl Iterator<Item = &'static Field> {
    event_type
        .fields()
        .iter()
        .filter(|f| f.kind != Kind::Written)
}

/// What a header names, if it names anything for this type. A data field wins over the
/// chain's aliases (`contact_logged`'s `stakeholder_id` is its data).
fn target(event_type: EventType, header: &str) -> Option<Target> {
    if let Some(field) = data_fields(event_type).find(|f| f.name == header) {
        return Some(Target::Data(*field));
    }
    match header {
        "occurred_at" => Some(Target::OccurredAt),
        "office" => Some(Target::Office),
        "user" => Some(Target::User),
        _ if chain_names(event_type).contains(&header) => Some(Target::Chain),
        _ => None,
    }
}

/// Every column a row of this type may have, as the messages list them.
pub fn expected(event_type: EventType) -> Vec<String> {
    let mut names: Vec<String> = ["occurred_at", "office", "user"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some((first, aliases)) = chain_names(event_type).split_first() {
        names.push(format!("{first} (or {})", aliases.join(", ")));
    }
    names.extend(data_fields(event_type).map(|f| f.name.to_string()));
    names
}

impl Columns {
    /// Maps `headers`; `office_known`: the caller's token names an office, so the column may
    /// be left out.
    pub fn map(
        event_type: EventType,
        headers: &[&str],
        office_known: bool,
    ) -> Result<Columns, ColumnsError> {
        let mut targets = Vec::with_capacity(headers.len());
        let mut unknown = Vec::new();
        for (index, header) in headers.iter().enumerate() {
            let Some(found) = target(event_type, &normalize(header)) else {
                unknown.push(header.to_string());
                continue;
            };
            if let Some(earlier) = targets.iter().position(|t| *t == found) {
                return Err(ColumnsError::Twice {
                    column: found.name(event_type).to_string(),
                    first: headers[earlier].to_string(),
                    second: headers[index].to_string(),
                });
            }
            targets.push(found);
        }
        if !unknown.is_empty() {
            return Err(ColumnsError::Unknown {
                event_type,
                columns: unknown,
                expected: expected(event_type),
            });
        }
        let mut required: Vec<Target> = vec![Target::OccurredAt];
        if !office_known {
            required.push(Target::Office);
        }
        if !chain_names(event_type).is_empty() {
            required.push(Target::Chain);
        }
        required.extend(
            data_fields(event_type)
                .filter(|f| f.required)
                .map(|f| Target::Data(*f)),
        );
        let missing: Vec<String> = required
            .iter()
            .filter(|t| !targets.contains(t))
            .map(|t| t.name(event_type).to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ColumnsError::Missing {
                event_type,
                columns: missing,
                required: required
                    .iter()
                    .map(|t| t.name(event_type).to_string())
                    .collect(),
            });
        }
        Ok(Columns {
            event_type,
            targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_whatever_their_case_and_spacing() {
        assert_eq!(normalize(" Policy Area "), "policy_area");
        assert_eq!(normalize("occurred-at"), "occurred_at");
        assert_eq!(normalize("PILOT__ID"), "pilot_id");
        let columns = Columns::map(
            EventType::PilotProposed,
            &[
                "Title",
                "Jurisdiction",
                "Policy Area",
                "LEVEL",
                "problem frame",
                "Occurred At",
            ],
            true,
        )
        .unwrap();
        assert_eq!(columns.targets.len(), 6);
        assert_eq!(columns.targets[5], Target::OccurredAt);
    }

    #[test]
    fn an_unknown_column_is_refused_with_the_expected_ones() {
        let error = Columns::map(EventType::PilotProposed, &["title", "colour"], true).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("\"colour\""), "{text}");
        assert!(
            text.contains("policy_area") && text.contains("occurred_at"),
            "{text}"
        );
    }

    #[test]
    fn required_columns_and_the_chain_are_asked_for() {
        let error = Columns::map(
            EventType::StanceAssessed,
            &["occurred_at", "stakeholder_id", "stance"],
            true,
        )
        .unwrap_err();
        assert!(
            matches!(&error, ColumnsError::Missing { columns, .. } if columns == &["pilot"]),
            "{error}"
        );
        let error = Columns::map(
            EventType::StanceAssessed,
            &["occurred_at", "pilot", "stakeholder_id", "stance"],
            false,
        )
        .unwrap_err();
        assert!(error.to_string().contains("\"office\""), "{error}");
        // The data field `stakeholder_id` is data, not the chain; the pilot is the chain.
        let columns = Columns::map(
            EventType::StanceAssessed,
            &["occurred_at", "Pilot Title", "stakeholder_id", "stance"],
            true,
        )
        .unwrap();
        assert_eq!(columns.targets[1], Target::Chain);
        assert!(matches!(columns.targets[2], Target::Data(f) if f.name == "stakeholder_id"));
    }

    #[test]
    fn a_column_twice_is_refused() {
        let error = Columns::map(
            EventType::StanceAssessed,
            &["pilot", "Pilot ID", "occurred_at"],
            true,
        )
        .unwrap_err();
        assert!(matches!(error, ColumnsError::Twice { .. }), "{error}");
    }

    #[test]
    fn a_type_that_opens_its_chain_takes_no_chain_column() {
        let error = Columns::map(EventType::PilotProposed, &["pilot_id"], true).unwrap_err();
        assert!(matches!(error, ColumnsError::Unknown { .. }), "{error}");
    }
}
