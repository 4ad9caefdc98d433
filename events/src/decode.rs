//! Reading stored events: JSON bytes → upcast → typed, validated [`Envelope`].
//!
//! The envelope is parsed in one pass: once `type` is known, `data` is decoded straight into
//! the struct the type names. Events already at [`CURRENT_SCHEMA`] never touch the upcasting
//! path, so reading current history costs one parse.

use crate::envelope::{
    Actor, Envelope, EventSignature, Provenance, Source, Subject, CURRENT_SCHEMA,
};
use crate::error::EventError;
use crate::event::{Event, EventType, SubjectKind};
use crate::hash::Hash;
use crate::upcast::{Step, Upcaster, BUILD_STEPS};
use crate::vocabulary::Precision;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use time::OffsetDateTime;
use uuid::Uuid;

/// A stored event, parsed in one pass. When `type` comes before `data` (as this crate writes
/// it) and the schema is current, `data` is decoded straight into its typed struct; otherwise
/// it is kept raw and decoded once the whole envelope is known.
struct StoredWire<'a> {
    event_id: Uuid,
    event_type: Cow<'a, str>,
    schema: u32,
    pilot_id: Option<Uuid>,
    stakeholder_id: Option<Uuid>,
    jurisdiction_id: Option<Uuid>,
    occurred_at: OffsetDateTime,
    recorded_at: OffsetDateTime,
    actor: Actor,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    prev_hash: Hash,
    hash: Hash,
    signature: Option<EventSignature>,
    precision: Option<Precision>,
    source: Option<Source>,
    context_ids: Vec<Uuid>,
}

enum Data<'a> {
    Typed(Event),
    Raw(&'a RawValue),
}

const FIELDS: &[&str] = &[
    "event_id",
    "type",
    "schema",
    "pilot_id",
    "stakeholder_id",
    "jurisdiction_id",
    "occurred_at",
    "recorded_at",
    "actor",
    "correlation_id",
    "causation_id",
    "prev_hash",
    "hash",
    "signature",
    "precision",
    "source",
    "context_ids",
    "data",
];

#[derive(Clone, Copy, PartialEq)]
enum Field {
    EventId,
    Type,
    Schema,
    PilotId,
    StakeholderId,
    JurisdictionId,
    OccurredAt,
    RecordedAt,
    Actor,
    CorrelationId,
    CausationId,
    PrevHash,
    Hash,
    Signature,
    Precision,
    Source,
    ContextIds,
    Data,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl serde::de::Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an envelope field name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Field, E> {
                Ok(match name {
                    "event_id" => Field::EventId,
                    "type" => Field::Type,
                    "schema" => Field::Schema,
                    "pilot_id" => Field::PilotId,
                    "stakeholder_id" => Field::StakeholderId,
                    "jurisdiction_id" => Field::JurisdictionId,
                    "occurred_at" => Field::OccurredAt,
                    "recorded_at" => Field::RecordedAt,
                    "actor" => Field::Actor,
                    "correlation_id" => Field::CorrelationId,
                    "causation_id" => Field::CausationId,
                    "prev_hash" => Field::PrevHash,
                    "hash" => Field::Hash,
                    "signature" => Field::Signature,
                    "precision" => Field::Precision,
                    "source" => Field::Source,
                    "context_ids" => Field::ContextIds,
                    "data" => Field::Data,
                    other => return Err(E::unknown_field(other, FIELDS)),
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

/// An envelope time: RFC 3339 with its offset. A time without one is refused with that
/// reason, since the same clock reading is a different instant in Nanguo and in Lisbon.
struct Rfc3339(OffsetDateTime);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        parse_instant(&text)
            .map(Rfc3339)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses an RFC 3339 time; the error says what is wrong in a reader's words.
fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(at) => Ok(at),
        // A local date and time that ISO 8601 reads is missing only the offset.
        Err(_) if time::PrimitiveDateTime::parse(text, &Iso8601::DEFAULT).is_ok() => Err(format!(
            "`{text}` has no UTC offset: add the jurisdiction's, e.g. `{text}+08:00`, or `Z` for UTC"
        )),
        Err(error) => Err(format!(
            "`{text}` is not an RFC 3339 time such as `2007-07-01T09:00:00+08:00` ({error})"
        )),
    }
}

/// Decodes `data` as the struct of an already known type.
struct TypedData(EventType);

impl<'de> serde::de::DeserializeSeed<'de> for TypedData {
    type Value = Event;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Event, D::Error> {
        Event::deserialize_as(self.0, deserializer)
    }
}

/// The envelope fields and its `data`, kept apart so `data` can move out on its own.
struct Stored<'a>(StoredWire<'a>, Data<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Stored<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(WireVisitor(std::marker::PhantomData))
    }
}

struct WireVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for WireVisitor<'a> {
    type Value = Stored<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an event envelope (a JSON object)")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Stored<'a>, M::Error> {
        use serde::de::Error;
        let mut event_id = None;
        let mut event_type: Option<Cow<'a, str>> = None;
        let mut schema = None;
        let (mut pilot_id, mut stakeholder_id, mut correlation_id, mut causation_id) =
            (None, None, None, None);
        let (mut occurred_at, mut recorded_at, mut actor) = (None, None, None);
        let (mut prev_hash, mut hash, mut signature, mut data) = (None, None, None, None);
        let (mut jurisdiction_id, mut precision, mut source, mut context_ids) =
            (None, None, None, None);
        let mut seen: u32 = 0;
        while let Some(field) = map.next_key::<Field>()? {
            let bit = 1u32 << (field as u32);
            if seen & bit != 0 {
                return Err(M::Error::duplicate_field(FIELDS[field as usize]));
            }
            seen |= bit;
            match field {
                Field::EventId => event_id = Some(map.next_value()?),
                Field::Type => event_type = Some(map.next_value::<BorrowedOrOwned<'a>>()?.0),
                Field::Schema => schema = Some(map.next_value()?),
                Field::PilotId => pilot_id = map.next_value()?,
                Field::StakeholderId => stakeholder_id = map.next_value()?,
                Field::JurisdictionId => jurisdiction_id = map.next_value()?,
                Field::OccurredAt => occurred_at = Some(map.next_value::<Rfc3339>()?.0),
                Field::RecordedAt => recorded_at = Some(map.next_value::<Rfc3339>()?.0),
                Field::Actor => actor = Some(map.next_value()?),
                Field::CorrelationId => correlation_id = map.next_value()?,
                Field::CausationId => causation_id = map.next_value()?,
                Field::PrevHash => prev_hash = Some(map.next_value()?),
                Field::Hash => hash = Some(map.next_value()?),
                Field::Signature => signature = map.next_value()?,
                Field::Precision => precision = map.next_value()?,
                Field::Source => source = map.next_value()?,
                Field::ContextIds => context_ids = map.next_value()?,
                Field::Data => {
                    let known = event_type.as_deref().and_then(EventType::parse);
                    data = Some(match (known, schema) {
                        (Some(t), Some(schema)) if reads_directly(schema) => {
                            Data::Typed(map.next_value_seed(TypedData(t))?)
                        }
                        _ => Data::Raw(map.next_value()?),
                    });
                }
            }
        }
        let missing = |name: &'static str| M::Error::missing_field(name);
        let wire = StoredWire {
            event_id: event_id.ok_or_else(|| missing("event_id"))?,
            event_type: event_type.ok_or_else(|| missing("type"))?,
            schema: schema.ok_or_else(|| missing("schema"))?,
            pilot_id,
            stakeholder_id,
            jurisdiction_id,
            occurred_at: occurred_at.ok_or_else(|| missing("occurred_at"))?,
            recorded_at: recorded_at.ok_or_else(|| missing("recorded_at"))?,
            actor: actor.ok_or_else(|| missing("actor"))?,
            correlation_id,
            causation_id,
            prev_hash: prev_hash.ok_or_else(|| missing("prev_hash"))?,
            hash: hash.ok_or_else(|| missing("hash"))?,
            signature,
            precision,
            source,
            context_ids: context_ids.unwrap_or_default(),
        };
        Ok(Stored(wire, data.ok_or_else(|| missing("data"))?))
    }
}

/// A string borrowed from the input where it has no escapes, owned otherwise.
struct BorrowedOrOwned<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedOrOwned<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = BorrowedOrOwned<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(BorrowedOrOwned(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

/// The oldest schema whose `data` decodes straight into this build's structs: every build step
/// from it on is additive. Computed once, at compile time, from [`BUILD_STEPS`].
const DIRECT_FROM: u32 = {
    let mut oldest = CURRENT_SCHEMA;
    let mut i = BUILD_STEPS.len();
    while i > 0 {
        i -= 1;
        let step = &BUILD_STEPS[i];
        if matches!(step.step, Step::Additive) && step.from_schema + 1 == oldest {
            oldest = step.from_schema;
        }
    }
    if oldest == 0 {
        1
    } else {
        oldest
    }
};

/// Whether `data` stored in `schema` decodes straight into this build's structs: the current
/// schema, and every older one from which all of this build's steps are additive. Steps added
/// with [`Decoder::with_upcaster`] are for schemas older than these.
fn reads_directly(schema: u32) -> bool {
    (DIRECT_FROM..=CURRENT_SCHEMA).contains(&schema)
}

/// Decodes stored events, upcasting older schemas through its chain of [`Upcaster`]s.
#[derive(Debug, Clone)]
pub struct Decoder {
    upcasters: Vec<Upcaster>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with this build's steps ([`crate::upcast::BUILD_STEPS`]).
    pub fn new() -> Self {
        Decoder {
            upcasters: BUILD_STEPS.to_vec(),
        }
    }

    /// Adds a step that lifts `data` from one schema to the next.
    pub fn with_upcaster(mut self, upcaster: Upcaster) -> Self {
        self.upcasters.push(upcaster);
        self
    }

    /// Decodes and validates one stored event.
    pub fn decode(&self, bytes: &[u8]) -> Result<Envelope, EventError> {
        let (wire, data) = parse_stored(bytes)?;
        let direct = reads_directly(wire.schema);
        let (event_type, event) = match data {
            Data::Typed(event) => (event.event_type(), event),
            Data::Raw(raw) if direct => {
                let event_type = parse_type(&wire.event_type)?;
                let event = Event::from_json(event_type, raw.get())
                    .map_err(|e| EventError::from_serde("data", e))?;
                (event_type, event)
            }
            Data::Raw(raw) => self.upcast(&wire, raw)?,
        };
        // A type stored under its own name must exist in the schema it says (an upcast step
        // answers for the names it produces).
        if direct && event_type.since_schema() > wire.schema {
            return Err(EventError::field(
                "type",
                format!(
                    "`{event_type}` exists from schema {} on, but this event says schema {}: write it as schema {CURRENT_SCHEMA}",
                    event_type.since_schema(),
                    wire.schema
                ),
            ));
        }
        let subject = subject_of(
            event_type,
            wire.pilot_id,
            wire.stakeholder_id,
            wire.jurisdiction_id,
        )?;
        let envelope = Envelope {
            event_id: wire.event_id,
            schema: wire.schema,
            subject,
            occurred_at: wire.occurred_at,
            recorded_at: wire.recorded_at,
            actor: wire.actor,
            correlation_id: wire.correlation_id,
            causation_id: wire.causation_id,
            prev_hash: wire.prev_hash,
            hash: wire.hash,
            signature: wire.signature,
            provenance: Provenance {
                precision: wire.precision,
                source: wire.source,
                context_ids: wire.context_ids,
            },
            event,
        };
        crate::validate::validate(&envelope)?;
        Ok(envelope)
    }

    fn upcast(
        &self,
        wire: &StoredWire<'_>,
        raw: &RawValue,
    ) -> Result<(EventType, Event), EventError> {
        if wire.schema > CURRENT_SCHEMA {
            return Err(EventError::UnsupportedSchema {
                found: wire.schema,
                newest: CURRENT_SCHEMA,
            });
        }
        let mut event_type = wire.event_type.to_string();
        let mut data: serde_json::Value =
            serde_json::from_str(raw.get()).map_err(|e| EventError::Malformed {
                message: e.to_string(),
            })?;
        for schema in wire.schema..CURRENT_SCHEMA {
            let step = self
                .upcasters
                .iter()
                .find(|u| u.from_schema == schema)
                .ok_or(EventError::UnsupportedSchema {
                    found: wire.schema,
                    newest: CURRENT_SCHEMA,
                })?;
            (event_type, data) = step.apply(event_type, data).map_err(|message| {
                EventError::field("data", format!("upcasting from schema {schema}: {message}"))
            })?;
        }
        let event_type = parse_type(&event_type)?;
        let event =
            Event::from_value(event_type, data).map_err(|e| EventError::from_serde("data", e))?;
        Ok((event_type, event))
    }
}

/// Decodes one stored event with this build's decoder.
pub fn decode(bytes: &[u8]) -> Result<Envelope, EventError> {
    Decoder::new().decode(bytes)
}

/// Plain serde on the fast path; on failure only, a second pass records where it failed.
fn parse_stored(bytes: &[u8]) -> Result<(StoredWire<'_>, Data<'_>), EventError> {
    let stored: Stored<'_> = match serde_json::from_slice(bytes) {
        Ok(stored) => stored,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            serde_path_to_error::deserialize(&mut de)
                .map_err(|error| EventError::from_serde("", error))?
        }
    };
    Ok((stored.0, stored.1))
}

fn parse_type(name: &str) -> Result<EventType, EventError> {
    EventType::parse(name).ok_or_else(|| EventError::UnknownType {
        found: name.to_string(),
    })
}

/// Every event names exactly one chain, of the kind its type lives in: pilot events a
/// `pilot_id`, registry events a `stakeholder_id`, context a `jurisdiction_id`; a retraction
/// names the chain of the event it retracts.
pub(crate) fn subject_of(
    event_type: EventType,
    pilot_id: Option<Uuid>,
    stakeholder_id: Option<Uuid>,
    jurisdiction_id: Option<Uuid>,
) -> Result<Subject, EventError> {
    let given: Vec<(&'static str, Subject, SubjectKind)> = [
        pilot_id.map(|id| ("pilot_id", Subject::Pilot(id), SubjectKind::Pilot)),
        stakeholder_id.map(|id| {
            (
                "stakeholder_id",
                Subject::Stakeholder(id),
                SubjectKind::Stakeholder,
            )
        }),
        jurisdiction_id.map(|id| {
            (
                "jurisdiction_id",
                Subject::Jurisdiction(id),
                SubjectKind::Jurisdiction,
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let wanted = event_type.subject_kind();
    let field_of = |kind: SubjectKind| match kind {
        SubjectKind::Stakeholder => "stakeholder_id",
        SubjectKind::Jurisdiction => "jurisdiction_id",
        SubjectKind::Pilot | SubjectKind::Either => "pilot_id",
    };
    match given.as_slice() {
        [] => Err(EventError::field(
            field_of(wanted),
            "missing: every event names the chain it belongs to",
        )),
        [(_, subject, kind)] if wanted == SubjectKind::Either || *kind == wanted => Ok(*subject),
        [(field, _, _)] => Err(EventError::field(
            *field,
            format!(
                "`{event_type}` belongs to a {} chain: give `{}` instead of `{field}`",
                match wanted {
                    SubjectKind::Stakeholder => "stakeholder's registry",
                    SubjectKind::Jurisdiction => "jurisdiction's",
                    _ => "pilot's",
                },
                field_of(wanted)
            ),
        )),
        [_, (second, _, _), ..] => Err(EventError::field(
            *second,
            "an event belongs to one chain: give one of `pilot_id`, `stakeholder_id` or `jurisdiction_id`",
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const PROPOSED: &str = include_str!("../tests/golden/schema-2/pilot.proposed.json");

    fn with_occurred_at(at: &str) -> Vec<u8> {
        let mut event: serde_json::Value = serde_json::from_str(PROPOSED).unwrap();
        event["occurred_at"] = serde_json::Value::from(at);
        serde_json::to_vec(&event).unwrap()
    }

    #[test]
    fn a_time_without_an_offset_is_refused_saying_so() {
        let error = decode(&with_occurred_at("2027-11-05T10:00:00")).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("occurred_at"), "{message}");
        assert!(message.contains("has no UTC offset"), "{message}");
        assert!(message.contains("2027-11-05T10:00:00+08:00"), "{message}");
        assert!(!message.contains("separator"), "{message}");
    }

    #[test]
    fn a_time_that_is_no_time_at_all_names_the_format() {
        let message = decode(&with_occurred_at("last Tuesday"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("not an RFC 3339 time"), "{message}");
    }

    #[test]
    fn a_time_with_an_offset_still_reads() {
        let at = parse_instant("2007-07-01T09:00:00+08:00").unwrap();
        assert_eq!(at.offset(), time::macros::offset!(+08:00));
        assert!(parse_instant("2007-07-01T01:00:00Z").is_ok());
    }
}
