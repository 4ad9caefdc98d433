//! The alert stream's contract: alert events recorded at most once, read back, followed live,
//! and handed to a sink through a durable queue ([`crate::delivery`]).
//!
//! Each transition has its own subject (see `pilot_projections::alerting::record`), and is
//! recorded with the condition "this subject is still empty". So the store keeps the first of
//! any number of attempts to record one transition (two alerters, a restart, a retry after a
//! lost acknowledgement) and refuses the rest, at any distance in time.
//!
//! Two implementations live behind [`AlertLog`], as behind [`crate::EventLog`]:
//! [`crate::jetstream::JetStreamLog`] (the stream `PILOT_ALERTS`) and
//! [`crate::memory::MemoryLog`]; `tests/alert_conformance.rs` runs one suite against both.

use crate::delivery::{DeadLetter, NotificationQueue, QueueConfig};
use crate::log::{LogError, Stored};
use bytes::Bytes;
use futures::stream::BoxStream;
use std::future::Future;

/// How many alert events one [`AlertLog::read_alerts`] returns at most, whatever is asked.
pub const ALERT_READ_BATCH: usize = 512;

/// One alert event to record: its subject and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMessage {
    pub subject: String,
    pub bytes: Bytes,
}

/// What recording one alert event came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored now, at this position of the alert stream.
    Stored { position: u64 },
    /// The subject already held this transition: someone recorded it first.
    AlreadyRecorded,
}

/// Live alert events: what [`AlertLog::tail_alerts`] returns.
pub type AlertTail = BoxStream<'static, Result<Stored, LogError>>;

/// Everything the service does with the alert stream: the alerter records and follows it, the
/// API reads it, the webhook sink takes it through a durable queue and keeps what it gives up
/// on as dead letters. Positions start at 1 and are the alert stream's own, not the event log's.
pub trait AlertLog: Send + Sync + 'static {
    /// The durable queue a sink reads from.
    type Queue: NotificationQueue;

    /// Records `messages` in order, each only if its subject is still empty. Stops at the
    /// first failure other than "already recorded"; what came before it stands. A subject
    /// outside the alert stream (`pilot.alerts.>`) is a failure.
    fn record_alerts(
        &self,
        messages: &[AlertMessage],
    ) -> impl Future<Output = Result<Vec<Recorded>, LogError>> + Send;

    /// Up to `max` alert events (at least 1, at most [`ALERT_READ_BATCH`]) from position
    /// `from` on, in order.
    fn read_alerts(
        &self,
        from: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Stored>, LogError>> + Send;

    /// The position of the last alert event (0 when there is none).
    fn last_alert_position(&self) -> impl Future<Output = Result<u64, LogError>> + Send;

    /// Every alert event from position `from` on, then each new one as it is recorded. The
    /// stream ends (or yields an error) only when the store goes away; the caller resumes from
    /// the position after the last one it saw.
    fn tail_alerts(&self, from: u64) -> impl Future<Output = Result<AlertTail, LogError>> + Send;

    /// Opens (or creates) the durable queue `config.name` over the whole alert stream: it
    /// remembers what was acknowledged across restarts of the sink and of the service, and
    /// hands out again what was not. An existing queue takes the new settings.
    fn open_queue(
        &self,
        config: &QueueConfig,
    ) -> impl Future<Output = Result<Self::Queue, LogError>> + Send;

    /// Keeps a notification a sink gave up on, with the reason. Storing the same letter (sink
    /// and alert subject) again soon after, as a retry after a crash does, keeps one.
    fn dead_letter(&self, letter: &DeadLetter)
        -> impl Future<Output = Result<(), LogError>> + Send;

    /// Every dead letter kept so far, oldest first, as [`AlertLog::dead_letter`] stored it
    /// (reason and subject as one line, cut to [`crate::delivery::MAX_HEADER_TEXT`] bytes).
    fn dead_letters(&self) -> impl Future<Output = Result<Vec<DeadLetter>, LogError>> + Send;
}
