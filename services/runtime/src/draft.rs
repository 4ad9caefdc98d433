//! What a writer is given and how an append can fail: the draft of an event and the
//! [`AppendError`] every step of the append path answers with (the writer's own checks and
//! [`crate::sealing`]'s), so those steps share them without importing each other.

use pilot_events::{Actor, Envelope, Event, Provenance, Subject};
use pilot_projections::Refusal;
use pilot_store::log::LogError;
use pilot_store::subject_keys::KeyStoreError;
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

/// The most events one append takes: the server's limit for one atomic batch.
pub const MAX_EVENTS_PER_APPEND: usize = 1_000;

/// An event as a writer submits it: the store sets `recorded_at`, `prev_hash` and `hash`, and
/// an `event_id` (UUID v7) when the writer brings none.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub event_id: Option<Uuid>,
    pub subject: Subject,
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    /// Schema 2: precision, source and context links, as the writer gave them.
    pub provenance: Provenance,
    pub event: Event,
}

impl From<Envelope> for Draft {
    /// The writer's part of a decoded event: what the store sets (`recorded_at`, the hashes,
    /// the schema) is left behind, to be set again when sealed.
    fn from(envelope: Envelope) -> Self {
        Draft {
            event_id: Some(envelope.event_id),
            subject: envelope.subject,
            occurred_at: envelope.occurred_at,
            actor: envelope.actor,
            correlation_id: envelope.correlation_id,
            causation_id: envelope.causation_id,
            provenance: envelope.provenance,
            event: envelope.event,
        }
    }
}

#[derive(Debug, Error)]
pub enum AppendError {
    #[error("nothing to append: give at least one event")]
    Empty,
    #[error("{count} events in one append; at most {MAX_EVENTS_PER_APPEND} are stored all-or-nothing: split the request")]
    TooMany { count: usize },
    #[error("event {index} of the request refused: {refusal}")]
    Refused { index: usize, refusal: Refusal },
    #[error("version conflict: the chain is at version {current}, not {expected}; read it again and retry")]
    Conflict { expected: u64, current: u64 },
    #[error(
        "some but not all of these event ids are already stored; send the remaining events alone"
    )]
    PartlyStored,
    #[error("events {first} and {second} of the request have the same event_id {event_id}: give each event its own id (or leave event_id out)")]
    DuplicateEventId {
        first: usize,
        second: usize,
        event_id: Uuid,
    },
    #[error("event {index} reuses event_id {event_id}, already stored at position {position} (chain {stored_chain}) with another {differs}: an event id names one event; give this event a new id")]
    EventIdReused {
        index: usize,
        event_id: Uuid,
        position: u64,
        stored_chain: String,
        /// The first draft field that differs from the stored event's.
        differs: &'static str,
    },
    #[error("event {index} is {bytes} bytes once sealed; the event store takes at most {limit} bytes in one event: shorten its texts")]
    TooLarge {
        index: usize,
        bytes: usize,
        limit: usize,
    },
    #[error("chain {chain} is shared by every office and written at the centre only; this pilot writes at the office site {site}: record it through the centre's pilot")]
    WrittenAtCentre { chain: String, site: String },
    #[error("gave up after {attempts} attempts: other writers kept extending this chain")]
    Contended { attempts: usize },
    #[error("the projections did not reach stream position {position} in time; the store may be ahead of this process")]
    Lagging { position: u64 },
    #[error("event {index}, field data.{field}: {reason}")]
    InvalidSealedText {
        index: usize,
        field: &'static str,
        reason: String,
    },
    #[error("event {index}, field data.{field}: stakeholder {subject}'s personal data was erased at {}; no personal text about an erased person is stored again (leave the text out)", pilot_events::rfc3339(*.at))]
    SubjectErased {
        index: usize,
        field: &'static str,
        subject: Uuid,
        at: OffsetDateTime,
    },
    #[error("event {index}, field data.{field} is a person's personal data, stored only sealed, and this service has no key store to seal it with: configure the key store (`pilot serve` opens it on NATS)")]
    NoKeyStore { index: usize, field: &'static str },
    #[error("the key store did not answer: {0}; try again")]
    KeyStore(#[from] KeyStoreError),
    #[error(transparent)]
    Log(#[from] LogError),
}
