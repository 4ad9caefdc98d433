//! The event log: what pilot-tracker needs from a store, and nothing about how it stores.
//!
//! Two implementations live behind [`EventLog`]: [`crate::memory::MemoryLog`] for unit tests
//! and [`crate::jetstream::JetStreamLog`], the system of record. One conformance suite
//! (`tests/conformance.rs`) runs against both, so the in-memory log cannot drift from the
//! real one.

use bytes::Bytes;
use pilot_events::Subject;
use std::future::Future;
use thiserror::Error;
use uuid::Uuid;

/// One stored message: its position in the whole log (the stream sequence) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub position: u64,
    pub bytes: Bytes,
}

/// One sealed event on its way into the log.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Deduplication key: a retried append with the same id never stores the event twice.
    pub event_id: Uuid,
    pub bytes: Bytes,
}

#[derive(Debug, Error)]
pub enum LogError {
    /// The chain moved on since the caller read it (another writer appended first).
    #[error("chain {chain} has moved on: its last event is at position {found}, not {expected}")]
    Conflict {
        chain: String,
        expected: u64,
        found: u64,
    },
    /// The store refused the request for a reason of its own (limits, configuration).
    #[error("the event store refused the request: {0}")]
    Refused(String),
    /// The store could not be reached or did not answer in time; the append may or may not
    /// have happened, and retrying with the same event ids is safe.
    #[error("the event store is unavailable: {0}")]
    Unavailable(String),
}

/// NATS's `max_payload` when a server's configuration does not set it: 1 MiB.
pub const NATS_DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

/// What a message's headers may take of `max_payload` (message id, batch headers, expected
/// sequence: a few hundred bytes), kept free so an event that passes the writer's size check
/// is never refused by the server.
pub const HEADER_ALLOWANCE_BYTES: usize = 4 * 1024;

/// The largest event a server with this `max_payload` takes in one message.
pub fn event_bytes_within(max_payload: usize) -> usize {
    max_payload.saturating_sub(HEADER_ALLOWANCE_BYTES)
}

/// What the writer and the projector need from a store.
pub trait EventLog: Send + Sync + 'static {
    /// The largest event, in bytes, that one message of this store may carry. The writer
    /// refuses a larger event before publishing, so the caller learns the limit instead of
    /// meeting a store error.
    fn max_event_bytes(&self) -> usize;

    /// Appends `events` to `chain`, all or nothing, provided the chain's last stored event is
    /// at `expected_last` (0 for an empty chain). Returns each event's position. Events whose
    /// ids are already stored as the chain's latest (a retry) are not stored again: their
    /// existing positions are returned.
    fn append(
        &self,
        chain: Subject,
        expected_last: u64,
        events: Vec<Outgoing>,
    ) -> impl Future<Output = Result<Vec<u64>, LogError>> + Send;

    /// The chain's events after position `after` (0: all), in order, without scanning others.
    fn read_chain(
        &self,
        chain: Subject,
        after: u64,
    ) -> impl Future<Output = Result<Vec<Stored>, LogError>> + Send;

    /// Up to `max` messages of the whole log from position `from` on, in order.
    fn read_from(
        &self,
        from: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Stored>, LogError>> + Send;

    /// The position of the last message in the log (0 when empty).
    fn last_position(&self) -> impl Future<Output = Result<u64, LogError>> + Send;

    /// Keeps a message the projector cannot apply on the dead-letter subject, with the reason.
    /// Idempotent by position.
    fn quarantine(
        &self,
        stored: &Stored,
        reason: &str,
    ) -> impl Future<Output = Result<(), LogError>> + Send;

    /// Everything quarantined so far: (position, reason, bytes).
    fn quarantined(
        &self,
    ) -> impl Future<Output = Result<Vec<(u64, String, Bytes)>, LogError>> + Send;

    /// Keeps the latest checkpoint of projector `name` (a serialized snapshot), replacing the last.
    fn save_checkpoint(
        &self,
        name: &str,
        bytes: Bytes,
    ) -> impl Future<Output = Result<(), LogError>> + Send;

    /// The latest checkpoint of projector `name`, if one was saved.
    fn load_checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Bytes>, LogError>> + Send;
}

/// Whether the store can be reached now: `/readyz` answers 503 with the reason while it cannot.
pub trait Reachable {
    /// Why the store cannot be reached now; `None` while it can.
    fn outage(&self) -> Option<String>;
}

/// The subject token of a chain, shared by every implementation so positions and chains
/// mean the same everywhere.
pub fn chain_key(chain: Subject) -> String {
    match chain {
        Subject::Pilot(id) => format!("p.{id}"),
        Subject::Stakeholder(id) => format!("s.{id}"),
        Subject::Jurisdiction(id) => format!("j.{id}"),
    }
}

/// An error with its sources, `a: b: c`, each said once: async-nats's (and reqwest's) own
/// messages often leave the cause to the source.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
