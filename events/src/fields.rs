//! What each event type's `data` holds, field by field, for forms that build drafts (the web
//! app's logging forms): the wire name, what kind of value it takes and whether it must be
//! given. One [`Describe`] impl per data struct, next to nothing else; the catalogue reaches
//! them through [`crate::EventType::fields`], so a new type is described where its data is.
//!
//! The descriptions say what the *form* offers; the rules stay where they are (serde's
//! decoding, [`crate::validate`], [`crate::admit`]): a form may send what the rules refuse and
//! shows their message. Tests here keep the two from drifting: every field of every data
//! struct is described (by serde's own names), required means what serde requires, ranges
//! are the types' own bounds and long texts are [`crate::admit::MULTILINE_FIELDS`].

use crate::data::*;
use crate::personal::Whose;
use crate::vocabulary::{
    AdoptionMechanism, Channel, ContextKind, Direction, HighlightKind, Level, LinkRelation,
    Qualifier, StakeholderKind, Strategy,
};

/// One field of an event type's `data`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    /// The wire name inside `data`.
    pub name: &'static str,
    pub kind: Kind,
    /// The field must be present (serde has no default for it). A text that is present may
    /// still be refused when blank; that is [`crate::validate`]'s rule, not this flag's.
    pub required: bool,
    /// Personal data of the subject named here: stored sealed under that subject's key
    /// (docs/personal-data.md), so erasing the subject leaves it unreadable.
    pub personal: Option<crate::personal::Whose>,
}

impl Field {
    /// The same field, holding personal data of `whose`.
    const fn personal(self, whose: crate::personal::Whose) -> Field {
        Field {
            personal: Some(whose),
            ..self
        }
    }
}

/// What kind of value a field takes, as a form would ask for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// One line of text.
    Text,
    /// Free text that may span lines.
    LongText,
    /// A list of one-line texts (one per line in a form).
    TextList,
    /// Named plain values (`name = value`, one per line in a form): numbers, texts, booleans.
    Parameters,
    /// A whole number within `min..=max`.
    Integer { min: i64, max: i64 },
    /// A finite number; further bounds (a target above zero) are the rules'.
    Number,
    /// A calendar day, `YYYY-MM-DD`.
    Date,
    /// A registered stakeholder's `stakeholder_id`.
    Stakeholder,
    /// A list of registered stakeholders' ids.
    Stakeholders,
    /// Another pilot's `pilot_id`.
    Pilot,
    /// The `approval_id` of one of this pilot's approvals.
    Approval,
    /// The `event_id` of an earlier event of the same chain.
    ChainEvent,
    /// One word of a closed list of the vocabulary.
    Word {
        /// The list's name (`level`, `channel`, …).
        list: &'static str,
        words: &'static [&'static str],
    },
    /// Yes or no (`true`, `false`); absent means no.
    Flag,
    /// Filled by the writer when it stores the event; never by a client or a form.
    Written,
}

/// A number typed as text (a form's input, a CSV cell) as JSON when it reads as one (whole
/// numbers stay whole), else the text itself, for the decoder to refuse in its own words.
pub fn number_from_text(text: &str) -> serde_json::Value {
    if let Ok(whole) = text.parse::<i64>() {
        return serde_json::Value::from(whole);
    }
    match text.parse::<f64>() {
        Ok(real) if real.is_finite() => serde_json::Value::from(real),
        _ => serde_json::Value::from(text),
    }
}

/// [`Kind::Parameters`] typed as `name = value` items (a form's lines, a CSV cell's
/// `;`-separated items): numbers and `true`/`false` as such, anything else as text. `None`
/// when an item has no `=` or no name: it has no JSON form at all.
pub fn parameters_from_text<'a>(
    items: impl Iterator<Item = &'a str>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut map = serde_json::Map::new();
    for item in items.map(str::trim).filter(|i| !i.is_empty()) {
        let (name, value) = item.split_once('=')?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return None;
        }
        let value = match value {
            "true" => serde_json::Value::Bool(true),
            "false" => serde_json::Value::Bool(false),
            text => number_from_text(text),
        };
        map.insert(name.to_string(), value);
    }
    Some(map)
}

/// The fields of one data struct, in the order a form shows them.
pub trait Describe {
    const FIELDS: &'static [Field];
}

const fn required(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
        personal: None,
    }
}

const fn optional(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
        personal: None,
    }
}

const LEVEL: Kind = Kind::Word {
    list: "level",
    words: Level::WORDS,
};
const QUALIFIER: Kind = Kind::Word {
    list: "qualifier",
    words: Qualifier::WORDS,
};
const STANCE: Kind = Kind::Integer {
    min: Stance::MIN as i64,
    max: Stance::MAX as i64,
};

impl Describe for PilotProposed {
    const FIELDS: &'static [Field] = &[
        required("title", Kind::Text),
        required("jurisdiction", Kind::Text),
        required("policy_area", Kind::Text),
        required("level", LEVEL),
        required("problem_frame", Kind::LongText),
    ];
}

impl Describe for ProgramDesigned {
    const FIELDS: &'static [Field] = &[
        required("summary", Kind::LongText),
        required("parameters", Kind::Parameters),
        required("target_groups", Kind::TextList),
    ];
}

impl Describe for StakeholderRegistered {
    const FIELDS: &'static [Field] = &[
        required("name", Kind::Text).personal(Whose::ChainStakeholder),
        required(
            "kind",
            Kind::Word {
                list: "stakeholder_kind",
                words: StakeholderKind::WORDS,
            },
        ),
        required("level", LEVEL),
        required(
            "influence",
            Kind::Integer {
                min: Influence::MIN as i64,
                max: Influence::MAX as i64,
            },
        ),
        optional("person", Kind::Flag),
    ];
}

impl Describe for ContactLogged {
    const FIELDS: &'static [Field] = &[
        required("stakeholder_id", Kind::Stakeholder),
        required(
            "channel",
            Kind::Word {
                list: "channel",
                words: Channel::WORDS,
            },
        ),
        required(
            "strategy",
            Kind::Word {
                list: "strategy",
                words: Strategy::WORDS,
            },
        ),
        required("summary", Kind::LongText).personal(Whose::NamedStakeholder("stakeholder_id")),
        required("stance", STANCE),
        optional("made_by", Kind::Text).personal(Whose::NamedStakeholder("made_by_id")),
        optional("made_by_id", Kind::Stakeholder),
        optional("intermediary_id", Kind::Stakeholder),
    ];
}

impl Describe for StanceAssessed {
    const FIELDS: &'static [Field] = &[
        required("stakeholder_id", Kind::Stakeholder),
        required("stance", STANCE),
        optional("note", Kind::LongText).personal(Whose::NamedStakeholder("stakeholder_id")),
    ];
}

impl Describe for AllianceFormed {
    const FIELDS: &'static [Field] = &[
        required("stakeholder_ids", Kind::Stakeholders),
        required("basis", Kind::LongText),
        optional("made_by", Kind::Text).personal(Whose::NamedStakeholder("made_by_id")),
        optional("made_by_id", Kind::Stakeholder),
    ];
}

impl Describe for ApprovalRequested {
    const FIELDS: &'static [Field] = &[
        required("approval_id", Kind::Text),
        required("approver_id", Kind::Stakeholder),
        required("level", LEVEL),
        optional("note", Kind::LongText),
        optional("stall", Kind::Written),
    ];
}

impl Describe for ApprovalGranted {
    const FIELDS: &'static [Field] = &[
        required("approval_id", Kind::Approval),
        optional("conditions", Kind::LongText),
    ];
}

impl Describe for ApprovalDenied {
    const FIELDS: &'static [Field] = &[
        required("approval_id", Kind::Approval),
        required("reason", Kind::LongText),
    ];
}

impl Describe for ApprovalWithdrawn {
    const FIELDS: &'static [Field] = &[
        required("approval_id", Kind::Approval),
        required("reason", Kind::LongText),
    ];
}

impl Describe for ApprovalExtended {
    const FIELDS: &'static [Field] = &[
        required("approval_id", Kind::Approval),
        required(
            "extra_days",
            Kind::Integer {
                min: 1,
                max: MAX_EXTRA_DAYS as i64,
            },
        ),
        required("reason", Kind::LongText),
        optional("stalls_at", Kind::Written),
    ];
}

impl Describe for ImplementationStarted {
    const FIELDS: &'static [Field] = &[required("scope", Kind::Text)];
}

impl Describe for TargetSet {
    const FIELDS: &'static [Field] = &[
        required("metric", Kind::Text),
        required("target", Kind::Number),
        required("due", Kind::Date),
        optional(
            "direction",
            Kind::Word {
                list: "direction",
                words: Direction::WORDS,
            },
        ),
        optional("set_by", Kind::Stakeholder),
    ];
}

impl Describe for MetricRecorded {
    const FIELDS: &'static [Field] = &[
        required("metric", Kind::Text),
        required("value", Kind::Number),
        required("unit", Kind::Text),
        required("as_of", Kind::Date),
        required("source", Kind::Text),
        optional("qualifier", QUALIFIER),
    ];
}

impl Describe for PilotScaled {
    const FIELDS: &'static [Field] = &[
        required("to_level", LEVEL),
        required("scope", Kind::Text),
        required("successor_title", Kind::Text),
    ];
}

impl Describe for AdoptedElsewhere {
    const FIELDS: &'static [Field] = &[
        required("jurisdiction", Kind::Text),
        required("level", LEVEL),
        required(
            "mechanism",
            Kind::Word {
                list: "mechanism",
                words: AdoptionMechanism::WORDS,
            },
        ),
    ];
}

impl Describe for PilotMerged {
    const FIELDS: &'static [Field] = &[
        required("into_pilot_id", Kind::Pilot),
        required("reason", Kind::LongText),
    ];
}

impl Describe for PilotTerminated {
    const FIELDS: &'static [Field] = &[required("reason", Kind::LongText)];
}

impl Describe for HighlightRecorded {
    const FIELDS: &'static [Field] = &[
        required("highlight_id", Kind::Text),
        required(
            "kind",
            Kind::Word {
                list: "highlight_kind",
                words: HighlightKind::WORDS,
            },
        ),
        required("level", LEVEL),
        required("title", Kind::Text),
        required("conferred_by", Kind::Text),
        required("credited_to", Kind::Stakeholders),
        optional("credited_offices", Kind::TextList),
    ];
}

impl Describe for EventRetracted {
    const FIELDS: &'static [Field] = &[
        required("event_id", Kind::ChainEvent),
        required("reason", Kind::LongText),
    ];
}

impl Describe for SubjectErased {
    const FIELDS: &'static [Field] = &[required("reason", Kind::LongText)];
}

impl Describe for JurisdictionRegistered {
    const FIELDS: &'static [Field] = &[
        required("name", Kind::Text),
        required("level", LEVEL),
        required("utc_offset", Kind::Text),
        optional("calendar", Kind::Text),
    ];
}

impl Describe for ContextRecorded {
    const FIELDS: &'static [Field] = &[
        required(
            "kind",
            Kind::Word {
                list: "context_kind",
                words: ContextKind::WORDS,
            },
        ),
        required("title", Kind::Text),
        optional("summary", Kind::LongText),
        optional("issued_by", Kind::Stakeholder),
        optional("metric", Kind::Text),
        optional("value", Kind::Number),
        optional("unit", Kind::Text),
        optional("qualifier", QUALIFIER),
    ];
}

impl Describe for TenureRecorded {
    const FIELDS: &'static [Field] = &[
        required("post_id", Kind::Stakeholder),
        required("from", Kind::Date),
        optional("to", Kind::Date),
        optional("note", Kind::LongText).personal(Whose::ChainStakeholder),
    ];
}

impl Describe for PilotLinked {
    const FIELDS: &'static [Field] = &[
        required(
            "relation",
            Kind::Word {
                list: "link_relation",
                words: LinkRelation::WORDS,
            },
        ),
        required("other_pilot_id", Kind::Pilot),
        optional("note", Kind::LongText),
    ];
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::admit::MULTILINE_FIELDS;
    use crate::{Event, EventType};
    use serde_json::{json, Map, Value};
    use std::collections::BTreeSet;

    const ID: &str = "0194a000-0000-7000-8000-0000000000b1";

    /// A value of the field's kind that the decoder takes.
    fn sample(field: &Field) -> Value {
        match field.kind {
            Kind::Text | Kind::LongText => json!("text"),
            Kind::TextList => json!(["one", "two"]),
            Kind::Parameters => json!({"rate": 0.02}),
            Kind::Integer { max, .. } => json!(max),
            Kind::Number => json!(2.5),
            Kind::Date => json!("2001-01-01"),
            Kind::Stakeholder | Kind::Pilot | Kind::ChainEvent => json!(ID),
            Kind::Stakeholders => json!([ID]),
            Kind::Approval => json!("approval-1"),
            Kind::Word { words, .. } => json!(words[0]),
            Kind::Flag => json!(true),
            Kind::Written => match field.name {
                "stall" => {
                    json!({"threshold_days": 30, "day_count": "calendar", "stalls_at": "2001-01-31T00:00:00Z"})
                }
                "stalls_at" => json!("2001-01-31T00:00:00Z"),
                other => panic!("no sample for the written field {other}"),
            },
        }
    }

    fn data(event_type: EventType, leave_out: Option<&str>) -> Value {
        let object: Map<String, Value> = event_type
            .fields()
            .iter()
            .filter(|f| Some(f.name) != leave_out)
            .map(|f| (f.name.to_string(), sample(f)))
            .collect();
        Value::Object(object)
    }

    /// A personal field is text, and the stakeholder it belongs to is named by a stakeholder
    /// field of the same data (or is the chain's own stakeholder, on a stakeholder's chain).
    #[test]
    fn personal_fields_are_texts_of_a_named_subject() {
        let mut marked = 0;
        for event_type in EventType::ALL {
            let fields = event_type.fields();
            for field in fields {
                let Some(whose) = field.personal else {
                    continue;
                };
                marked += 1;
                assert!(
                    matches!(field.kind, Kind::Text | Kind::LongText),
                    "{event_type}.{}",
                    field.name
                );
                match whose {
                    Whose::ChainStakeholder => assert_eq!(
                        event_type.subject_kind(),
                        crate::SubjectKind::Stakeholder,
                        "{event_type}"
                    ),
                    Whose::NamedStakeholder(named) => assert!(
                        fields
                            .iter()
                            .any(|f| f.name == named && f.kind == Kind::Stakeholder),
                        "{event_type}.{} names {named}",
                        field.name
                    ),
                }
            }
        }
        assert_eq!(marked, 6);
    }

    #[test]
    fn every_type_describes_each_of_its_fields_once() {
        for event_type in EventType::ALL {
            let fields = event_type.fields();
            assert!(!fields.is_empty(), "{event_type}");
            let names: BTreeSet<&str> = fields.iter().map(|f| f.name).collect();
            assert_eq!(names.len(), fields.len(), "{event_type} repeats a field");
        }
    }

    /// Data built from the description decodes (so nothing described is unknown and nothing
    /// required is left out) and serializes back with exactly the described names (so no
    /// field of the struct, defaulted or not, is left undescribed).
    #[test]
    fn descriptions_match_the_data_structs() {
        for event_type in EventType::ALL {
            let event = Event::from_value(*event_type, data(*event_type, None))
                .unwrap_or_else(|e| panic!("{event_type}: {e}"));
            let Value::Object(back) = serde_json::to_value(&event).unwrap() else {
                panic!("{event_type} is not an object");
            };
            let serialized: BTreeSet<&str> = back.keys().map(String::as_str).collect();
            let described: BTreeSet<&str> = event_type.fields().iter().map(|f| f.name).collect();
            assert_eq!(serialized, described, "{event_type}");
        }
    }

    #[test]
    fn required_is_what_serde_requires() {
        for event_type in EventType::ALL {
            for field in event_type.fields() {
                let decoded = Event::from_value(*event_type, data(*event_type, Some(field.name)));
                assert_eq!(
                    decoded.is_err(),
                    field.required,
                    "{event_type}.{}: required is {}",
                    field.name,
                    field.required
                );
            }
        }
    }

    #[test]
    fn integer_ranges_are_the_types_own() {
        let stance = Event::from_value(
            EventType::StanceAssessed,
            json!({"stakeholder_id": ID, "stance": Stance::MAX as i64 + 1}),
        );
        assert!(stance.is_err());
        let influence = Event::from_value(
            EventType::StakeholderRegistered,
            json!({"name": "n", "kind": "bureau", "level": "county", "influence": Influence::MIN as i64 - 1}),
        );
        assert!(influence.is_err());
    }

    #[test]
    fn long_texts_are_the_multiline_fields() {
        for event_type in EventType::ALL {
            for field in event_type.fields() {
                assert_eq!(
                    field.kind == Kind::LongText,
                    MULTILINE_FIELDS.contains(&field.name),
                    "{event_type}.{}",
                    field.name
                );
            }
        }
    }
}
