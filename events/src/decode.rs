//! Reading stored events: JSON bytes → upcast → typed, validated [`Envelope`].
//!
//! The envelope is parsed once with `data` kept as raw JSON; `data` is then decoded straight
//! into the struct its `type` names. Events already at [`CURRENT_SCHEMA`] never touch the
//! upcasting path, so reading current history costs one parse.

use crate::envelope::{Actor, Envelope, Subject, CURRENT_SCHEMA};
use crate::error::EventError;
use crate::event::{Event, EventType, SubjectKind};
use crate::hash::Hash;
use crate::upcast::Upcaster;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredWire<'a> {
    event_id: Uuid,
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    schema: u32,
    #[serde(default)]
    pilot_id: Option<Uuid>,
    #[serde(default)]
    stakeholder_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    recorded_at: OffsetDateTime,
    actor: Actor,
    #[serde(default)]
    correlation_id: Option<Uuid>,
    #[serde(default)]
    causation_id: Option<Uuid>,
    prev_hash: Hash,
    hash: Hash,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Decodes stored events, upcasting older schemas through its chain of [`Upcaster`]s.
#[derive(Debug, Default)]
pub struct Decoder {
    upcasters: Vec<Upcaster>,
}

impl Decoder {
    /// A decoder with this build's upcasters (none yet: schema 1 is the first version).
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Adds a step that lifts `data` from one schema to the next.
    pub fn with_upcaster(mut self, upcaster: Upcaster) -> Self {
        self.upcasters.push(upcaster);
        self
    }

    /// Decodes and validates one stored event.
    pub fn decode(&self, bytes: &[u8]) -> Result<Envelope, EventError> {
        let wire = parse_stored(bytes)?;
        let (event_type, event) = if wire.schema == CURRENT_SCHEMA {
            let event_type = parse_type(&wire.event_type)?;
            let event = Event::from_json(event_type, wire.data.get())
                .map_err(|e| EventError::from_serde("data", e))?;
            (event_type, event)
        } else {
            self.upcast(&wire)?
        };
        let subject = subject_of(event_type, wire.pilot_id, wire.stakeholder_id)?;
        let envelope = Envelope {
            event_id: wire.event_id,
            schema: CURRENT_SCHEMA,
            subject,
            occurred_at: wire.occurred_at,
            recorded_at: wire.recorded_at,
            actor: wire.actor,
            correlation_id: wire.correlation_id,
            causation_id: wire.causation_id,
            prev_hash: wire.prev_hash,
            hash: wire.hash,
            event,
        };
        crate::validate::validate(&envelope)?;
        Ok(envelope)
    }

    fn upcast(&self, wire: &StoredWire<'_>) -> Result<(EventType, Event), EventError> {
        if wire.schema > CURRENT_SCHEMA {
            return Err(EventError::UnsupportedSchema {
                found: wire.schema,
                newest: CURRENT_SCHEMA,
            });
        }
        let mut event_type = wire.event_type.to_string();
        let mut data: serde_json::Value =
            serde_json::from_str(wire.data.get()).map_err(|e| EventError::Malformed {
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
            (event_type, data) = (step.apply)(&event_type, data).map_err(|message| {
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

fn parse_stored(bytes: &[u8]) -> Result<StoredWire<'_>, EventError> {
    match serde_json::from_slice(bytes) {
        Ok(wire) => Ok(wire),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let traced: Result<StoredWire<'_>, _> = serde_path_to_error::deserialize(&mut de);
            match traced {
                Ok(wire) => Ok(wire),
                Err(error) => Err(EventError::from_serde("", error)),
            }
        }
    }
}

fn parse_type(name: &str) -> Result<EventType, EventError> {
    EventType::parse(name).ok_or_else(|| EventError::UnknownType {
        found: name.to_string(),
    })
}

/// Pilot events name a `pilot_id`, registry events a `stakeholder_id`, never both.
pub(crate) fn subject_of(
    event_type: EventType,
    pilot_id: Option<Uuid>,
    stakeholder_id: Option<Uuid>,
) -> Result<Subject, EventError> {
    match (event_type.subject_kind(), pilot_id, stakeholder_id) {
        (_, Some(_), Some(_)) => Err(EventError::field(
            "stakeholder_id",
            "an event belongs to one chain: give `pilot_id` or `stakeholder_id`, not both",
        )),
        (SubjectKind::Pilot | SubjectKind::Either, Some(id), None) => Ok(Subject::Pilot(id)),
        (SubjectKind::Stakeholder | SubjectKind::Either, None, Some(id)) => {
            Ok(Subject::Stakeholder(id))
        }
        (SubjectKind::Stakeholder, Some(_), None) => Err(EventError::field(
            "pilot_id",
            format!(
                "`{event_type}` is a registry event: give `stakeholder_id` instead of `pilot_id`"
            ),
        )),
        (SubjectKind::Pilot, None, Some(_)) => Err(EventError::field(
            "stakeholder_id",
            format!(
                "`{event_type}` belongs to a pilot: give `pilot_id` instead of `stakeholder_id`"
            ),
        )),
        (kind, None, None) => Err(EventError::field(
            if kind == SubjectKind::Stakeholder {
                "stakeholder_id"
            } else {
                "pilot_id"
            },
            "missing: every event names the chain it belongs to",
        )),
    }
}
