//! From a posted form to a draft's JSON, field by field as [`pilot_events::fields`] describes
//! the type; and from an API error's `field` back to the input that caused it. Pure functions.
//!
//! Nothing here judges a value: a number that is not a number is sent as the text it is, a
//! blank required text as `""`, so the API's own decoder and rules refuse it with their own
//! message, naming the field. Only what has no JSON form at all (a parameter line without
//! `=`) is refused here.

use pilot_events::fields::{number_from_text, parameters_from_text, Field, Kind};
use serde_json::{json, Map, Value};

pub(crate) type Pairs = Vec<(String, String)>;

/// The input's name for a data field: `data.<wire name>`, which is also how the API's errors
/// name it (an envelope field such as `event_id` keeps its own name, so they never collide).
pub(crate) fn input_name(field: &Field) -> String {
    format!("data.{}", field.name)
}

/// The first value posted under `name`, or "".
pub(crate) fn value<'f>(form: &'f Pairs, name: &str) -> &'f str {
    form.iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Every non-empty value posted under `name` (a multiple select repeats its name).
pub(crate) fn values<'f>(form: &'f Pairs, name: &str) -> Vec<&'f str> {
    form.iter()
        .filter(|(n, v)| n == name && !v.trim().is_empty())
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A posted value that cannot be put into JSON: the input and the catalogue key that says why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unreadable {
    pub input: String,
    pub key: &'static str,
}

/// The `data` object of a draft from the posted form. An optional field left empty is left
/// out (the API's default applies); a required one left empty is sent empty or left out, so
/// the API names it.
pub(crate) fn data(fields: &[Field], form: &Pairs) -> Result<Map<String, Value>, Unreadable> {
    let mut data = Map::new();
    for field in fields {
        let input = input_name(field);
        let raw = value(form, &input);
        let entry = match field.kind {
            Kind::Written => None,
            Kind::Text => one_line(raw, field.required),
            Kind::LongText => {
                let text = raw.replace("\r\n", "\n");
                (field.required || !text.trim().is_empty()).then(|| json!(text))
            }
            Kind::TextList => Some(json!(raw
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>())),
            Kind::Parameters => Some(Value::Object(parameters_from_text(raw.lines()).ok_or(
                Unreadable {
                    input: input.clone(),
                    key: "forms-error-parameters",
                },
            )?)),
            Kind::Integer { .. } | Kind::Number => {
                let text = raw.trim();
                (!text.is_empty()).then(|| number_from_text(text))
            }
            // Left out unless yes: absent means no.
            Kind::Flag => (raw.trim() == "true").then_some(json!(true)),
            Kind::Stakeholders => Some(json!(values(form, &input)
                .iter()
                .map(|v| v.trim())
                .collect::<Vec<_>>())),
            Kind::Date
            | Kind::Stakeholder
            | Kind::Pilot
            | Kind::Approval
            | Kind::ChainEvent
            | Kind::Word { .. } => {
                let text = raw.trim();
                (!text.is_empty()).then(|| json!(text))
            }
        };
        if let Some(entry) = entry {
            data.insert(field.name.to_string(), entry);
        }
    }
    Ok(data)
}

fn one_line(raw: &str, required: bool) -> Option<Value> {
    let text = raw.trim();
    (required || !text.is_empty()).then(|| json!(text))
}

/// `occurred_at` from a `datetime-local` value and the chosen UTC offset; `None` when no time
/// was given (the API then names the missing field).
pub(crate) fn occurred_at(local: &str, offset: &str) -> Option<String> {
    let local = local.trim();
    if local.is_empty() {
        return None;
    }
    // `datetime-local` sends minutes (`2024-05-01T10:30`) unless seconds were typed.
    let seconds = if local.len() == 16 { ":00" } else { "" };
    Some(format!("{local}{seconds}{}", offset.trim()))
}

/// `occurred_at` for a date known only to its day, month or year (schema 2's `precision`): the
/// first instant of that period in the chosen offset, which is what the rules require of a
/// vague date. Without a precision, the instant as entered ([`occurred_at`]). A value too short
/// to hold a day is passed on as it is, for the API to refuse with its own words.
pub(crate) fn occurred_at_with(local: &str, offset: &str, precision: &str) -> Option<String> {
    let local = local.trim();
    let day = local.get(..10);
    let start = match (precision.trim(), day) {
        ("", _) | (_, None) => return occurred_at(local, offset),
        ("year", Some(day)) => format!("{}-01-01", &day[..4]),
        ("month", Some(day)) => format!("{}-01", &day[..7]),
        (_, Some(day)) => day.to_string(),
    };
    Some(format!("{start}T00:00:00{}", offset.trim()))
}

/// The input an API error's `field` points at: `data.stance` and `data.credited_to[1]` at
/// `data.stance` and `data.credited_to`, `data.parameters.rate` at `data.parameters`,
/// `actor.office` at `office`, an envelope field at itself.
pub(crate) fn input_for(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("data.") {
        let name = rest.split(['.', '[']).next().unwrap_or(rest);
        return format!("data.{name}");
    }
    match field {
        "actor.office" => "office".to_string(),
        "source.citation" | "source.page" => field.to_string(),
        other => other.split(['.', '[']).next().unwrap_or(other).to_string(),
    }
}

/// The UTC offsets a form offers for `occurred_at`.
pub(crate) const OFFSETS: &[&str] = &[
    "-12:00", "-11:00", "-10:00", "-09:30", "-09:00", "-08:00", "-07:00", "-06:00", "-05:00",
    "-04:00", "-03:30", "-03:00", "-02:00", "-01:00", "+00:00", "+01:00", "+02:00", "+03:00",
    "+03:30", "+04:00", "+04:30", "+05:00", "+05:30", "+05:45", "+06:00", "+06:30", "+07:00",
    "+08:00", "+09:00", "+09:30", "+10:00", "+10:30", "+11:00", "+12:00", "+12:45", "+13:00",
    "+14:00",
];

/// The offset a form starts with: the reference case's (China Standard Time).
pub(crate) const DEFAULT_OFFSET: &str = "+08:00";

/// [`DEFAULT_OFFSET`] as an offset, for the time a form starts with.
pub(crate) fn default_offset() -> time::UtcOffset {
    time::UtcOffset::parse(
        DEFAULT_OFFSET,
        time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .unwrap_or(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use pilot_events::EventType;

    #[test]
    fn a_vague_date_is_sent_as_the_first_instant_of_its_period() {
        let at = "2007-07-15T10:30";
        assert_eq!(
            occurred_at_with(at, "+08:00", "").as_deref(),
            Some("2007-07-15T10:30:00+08:00")
        );
        assert_eq!(
            occurred_at_with(at, "+08:00", "day").as_deref(),
            Some("2007-07-15T00:00:00+08:00")
        );
        assert_eq!(
            occurred_at_with(at, "+08:00", "month").as_deref(),
            Some("2007-07-01T00:00:00+08:00")
        );
        assert_eq!(
            occurred_at_with(at, "+08:00", "year").as_deref(),
            Some("2007-01-01T00:00:00+08:00")
        );
        assert_eq!(occurred_at_with("", "+08:00", "year"), None);
        assert_eq!(input_for("source.citation"), "source.citation");
    }

    fn form(pairs: &[(&str, &str)]) -> Pairs {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_become_the_json_the_api_takes() {
        let fields = EventType::ContactLogged.fields();
        let data = data(
            fields,
            &form(&[
                (
                    "data.stakeholder_id",
                    "0194a000-0000-7000-8000-0000000000b1",
                ),
                ("data.channel", "meeting"),
                ("data.strategy", "framing"),
                ("data.summary", "line one\r\nline two"),
                ("data.stance", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(data),
            json!({"stakeholder_id": "0194a000-0000-7000-8000-0000000000b1", "channel": "meeting",
                   "strategy": "framing", "summary": "line one\nline two", "stance": 2})
        );
    }

    #[test]
    fn what_is_not_a_number_goes_as_text_and_empty_optionals_are_left_out() {
        let data = data(
            EventType::StanceAssessed.fields(),
            &form(&[("data.stance", "lots"), ("data.note", "  ")]),
        )
        .unwrap();
        assert_eq!(Value::Object(data), json!({"stance": "lots"}));
    }

    #[test]
    fn lists_and_parameters() {
        let data = data(
            EventType::ProgramDesigned.fields(),
            &form(&[
                ("data.summary", "s"),
                ("data.parameters", "rate = 0.02\nopen=true\nname = fund A"),
                ("data.target_groups", "migrant workers\n\n retirees "),
            ]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(data),
            json!({"summary": "s", "parameters": {"rate": 0.02, "open": true, "name": "fund A"},
                   "target_groups": ["migrant workers", "retirees"]})
        );
        let refused = super::data(
            EventType::ProgramDesigned.fields(),
            &form(&[("data.parameters", "no equals sign")]),
        );
        assert_eq!(
            refused.unwrap_err(),
            Unreadable {
                input: "data.parameters".into(),
                key: "forms-error-parameters"
            }
        );
        let credited = super::data(
            EventType::AllianceFormed.fields(),
            &form(&[("data.stakeholder_ids", "a"), ("data.stakeholder_ids", "b")]),
        )
        .unwrap();
        assert_eq!(credited["stakeholder_ids"], json!(["a", "b"]));
    }

    #[test]
    fn errors_point_at_their_input() {
        assert_eq!(input_for("data.stance"), "data.stance");
        assert_eq!(input_for("data.credited_to[1]"), "data.credited_to");
        assert_eq!(input_for("data.parameters.rate"), "data.parameters");
        assert_eq!(input_for("actor.office"), "office");
        assert_eq!(input_for("occurred_at"), "occurred_at");
    }

    #[test]
    fn local_times_get_their_offset() {
        assert_eq!(
            occurred_at("2024-05-01T10:30", "+08:00").unwrap(),
            "2024-05-01T10:30:00+08:00"
        );
        assert_eq!(
            occurred_at("2024-05-01T10:30:15", "+00:00").unwrap(),
            "2024-05-01T10:30:15+00:00"
        );
        assert_eq!(occurred_at(" ", "+08:00"), None);
        assert!(OFFSETS.contains(&DEFAULT_OFFSET));
        assert_eq!(default_offset().whole_hours(), 8);
    }
}
