//! The envelope every event travels in, and its JSON wire form.

use crate::event::{Event, EventType};
use crate::hash::Hash;
use crate::vocabulary::Precision;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The schema version this build writes. Older stored versions are upcast on read.
pub const CURRENT_SCHEMA: u32 = 2;

/// Who logged an event: the office that owns the record and the user at the keyboard.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub office: String,
    pub user: String,
}

/// The writer's signature over an event's `hash`: which key signed (`key_id`, named by
/// `pilot keys`) and the Ed25519 signature, 128 hex digits. It lies outside what `hash`
/// covers, so signing changes no hash and history stored unsigned verifies as before.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventSignature {
    pub key_id: String,
    pub ed25519: String,
}

/// The chain an event belongs to: a pilot's, a stakeholder's registry chain, or (schema 2) a
/// jurisdiction's chain of context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Pilot(Uuid),
    Stakeholder(Uuid),
    Jurisdiction(Uuid),
}

impl Subject {
    pub fn id(self) -> Uuid {
        match self {
            Subject::Pilot(id) | Subject::Stakeholder(id) | Subject::Jurisdiction(id) => id,
        }
    }

    pub fn pilot_id(self) -> Option<Uuid> {
        match self {
            Subject::Pilot(id) => Some(id),
            _ => None,
        }
    }

    pub fn stakeholder_id(self) -> Option<Uuid> {
        match self {
            Subject::Stakeholder(id) => Some(id),
            _ => None,
        }
    }

    pub fn jurisdiction_id(self) -> Option<Uuid> {
        match self {
            Subject::Jurisdiction(id) => Some(id),
            _ => None,
        }
    }
}

/// Schema 2: where a fact comes from (an interview, a page of a report), allowed on every event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The citation as a reader would look it up.
    pub citation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A page or section within the cited work (text: `12`, `pp. 4-5`, `Table 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// One immutable, sealed event: what happened, to which chain, when, by whom, and its place in
/// the chain (`prev_hash`, `hash`).
///
/// `schema` is the version its stored bytes were written in; `event` is always this build's
/// model of it (an older schema is upcast on read), so folds never look at `schema`. Keeping
/// the stored version means the envelope serializes back to the bytes it was read from, and
/// `hash` (which covers the stored bytes, see [`crate::chain`]) still verifies.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub event_id: Uuid,
    pub schema: u32,
    pub subject: Subject,
    /// When it happened in the world; may be decades ago for back-filled history.
    pub occurred_at: OffsetDateTime,
    /// When the system stored it.
    pub recorded_at: OffsetDateTime,
    pub actor: Actor,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub prev_hash: Hash,
    pub hash: Hash,
    /// The writer's signature over `hash`; `None` for imported history and older events.
    pub signature: Option<EventSignature>,
    /// Schema 2: how the fact is known and what it stands on.
    pub provenance: Provenance,
    pub event: Event,
}

/// Schema 2's envelope fields, each optional and left out of the JSON when absent (so an
/// event without them has schema 1's bytes): how exactly `occurred_at` is known, where the
/// fact comes from, and the context events a pilot event refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `None` means the instant as given.
    pub precision: Option<Precision>,
    pub source: Option<Source>,
    /// `context.recorded` events, by `event_id`; only on a pilot's events.
    pub context_ids: Vec<Uuid>,
}

impl Provenance {
    /// Whether any schema-2 field is present.
    pub fn is_empty(&self) -> bool {
        self == &Provenance::default()
    }
}

impl Envelope {
    pub fn event_type(&self) -> EventType {
        self.event.event_type()
    }

    /// The wire JSON of this envelope.
    pub fn to_json(&self) -> String {
        // Serializing plain data into a String cannot fail: no maps with non-string keys,
        // no fallible Serialize impls. Falling back keeps services panic-free regardless.
        serde_json::to_string(&self.wire(true)).unwrap_or_default()
    }

    /// The wire JSON as a value tree, optionally without `hash` and `signature` (the hash's
    /// own input).
    pub fn to_value(&self, with_hash: bool) -> serde_json::Value {
        serde_json::to_value(self.wire(with_hash)).unwrap_or_default()
    }

    pub(crate) fn wire(&self, with_hash: bool) -> WireOut<'_> {
        WireOut {
            event_id: self.event_id,
            event_type: self.event_type().as_str(),
            schema: self.schema,
            pilot_id: self.subject.pilot_id(),
            stakeholder_id: self.subject.stakeholder_id(),
            jurisdiction_id: self.subject.jurisdiction_id(),
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            actor: &self.actor,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            prev_hash: self.prev_hash,
            hash: with_hash.then_some(self.hash),
            signature: if with_hash {
                self.signature.as_ref()
            } else {
                None
            },
            precision: self.provenance.precision,
            source: self.provenance.source.as_ref(),
            context_ids: &self.provenance.context_ids,
            data: &self.event,
        }
    }
}

/// The serialized shape. Optional ids are left out rather than written as null, so the
/// canonical form of an event does not depend on how a writer spelled "absent".
#[derive(Serialize)]
pub(crate) struct WireOut<'a> {
    event_id: Uuid,
    #[serde(rename = "type")]
    event_type: &'static str,
    schema: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pilot_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stakeholder_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jurisdiction_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    recorded_at: OffsetDateTime,
    actor: &'a Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    causation_id: Option<Uuid>,
    prev_hash: Hash,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a EventSignature>,
    #[serde(skip_serializing_if = "Option::is_none")]
    precision: Option<Precision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a Source>,
    #[serde(skip_serializing_if = "no_ids")]
    context_ids: &'a [Uuid],
    data: &'a Event,
}

fn no_ids(ids: &&[Uuid]) -> bool {
    ids.is_empty()
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.wire(true).serialize(serializer)
    }
}
