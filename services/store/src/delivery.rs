//! Durable delivery of alert events to a sink (the webhook): a named queue over the alert
//! stream that hands out each event, waits for its acknowledgement, hands it out again when it
//! is not acknowledged in time or is given back, and remembers across restarts what was
//! acknowledged. What a sink gives up on becomes a [`DeadLetter`].
//!
//! The sink sees only these traits, so it runs on the in-memory log in tests and on a
//! JetStream durable pull consumer in production, with the same semantics.

use crate::log::LogError;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::future::Future;
use std::time::Duration;

/// Dead-letter header: why the sink gave up (the last status or error, or why it did not decode).
pub const DEAD_REASON_HEADER: &str = "Pilot-Dead-Reason";
/// Dead-letter header: how many requests were made (0 when none was).
pub const DEAD_ATTEMPTS_HEADER: &str = "Pilot-Dead-Attempts";
/// Dead-letter header: the last HTTP status, when there was one.
pub const DEAD_STATUS_HEADER: &str = "Pilot-Dead-Last-Status";
/// Dead-letter header: the sink that gave up (`webhook`).
pub const DEAD_SINK_HEADER: &str = "Pilot-Dead-Sink";
/// Dead-letter header: the original message's position on the alert stream.
pub const ALERT_POSITION_HEADER: &str = "Pilot-Alert-Position";
/// Dead-letter header: the alert event's subject (the webhook sends the same name over HTTP).
pub const ALERT_SUBJECT_HEADER: &str = "Pilot-Alert-Subject";

/// The longest reason or subject a dead letter keeps, in bytes: header values must stay well
/// within a message's limits.
pub const MAX_HEADER_TEXT: usize = 1024;

/// The settings of a durable queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Its name: what it remembers is kept under it (the JetStream consumer's durable name).
    pub name: String,
    /// What an operator reads about it.
    pub description: String,
    /// A notification handed out and neither acknowledged nor given back within this time is
    /// handed out again.
    pub ack_wait: Duration,
    /// At most this many notifications are handed out and unacknowledged at once.
    pub max_unacknowledged: usize,
    /// Where a queue that does not exist yet starts; one that exists keeps its place.
    pub first_start: FirstStart,
}

/// Where a new queue starts. Only its creation reads it: afterwards the queue remembers what
/// was acknowledged, and a restart neither skips nor repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirstStart {
    /// After the last alert event recorded when it is created: a sink turned on today does not
    /// deliver years of history.
    #[default]
    New,
    /// At the first alert event on the stream: the whole history first, then new ones.
    All,
}

/// Where a queue stood when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStart {
    /// The first position not acknowledged: everything before it was.
    pub next: u64,
    /// Handed out earlier and not acknowledged yet.
    pub unacknowledged: u64,
    /// Never handed out yet.
    pub backlog: u64,
}

/// Notifications as one fetch hands them out.
pub type Fetched<N> = BoxStream<'static, Result<N, LogError>>;

/// A durable queue over the alert stream.
///
/// Notifications come out by position, except that one handed out again (after `ack_wait`, or
/// given back) may come after newer ones: the sink restores the order itself.
pub trait NotificationQueue: Send + 'static {
    type Notification: Notification;

    /// Where the queue stood when it was opened.
    fn start(&self) -> QueueStart;

    /// Asks for up to `max` notifications. The stream yields them as they come and ends after
    /// `max`, or once `expires` has passed; until it ends, notifications may still be handed
    /// to it, so a sink that stops reads it to its end and gives back what came.
    fn fetch(
        &mut self,
        max: usize,
        expires: Duration,
    ) -> impl Future<Output = Result<Fetched<Self::Notification>, LogError>> + Send;
}

/// One alert event handed out by a [`NotificationQueue`].
pub trait Notification: Send + Sync + 'static {
    /// The alert event's subject.
    fn subject(&self) -> &str;
    /// The alert event, byte for byte as stored.
    fn bytes(&self) -> &Bytes;
    /// Its position on the alert stream, when the store said.
    fn position(&self) -> Option<u64>;
    /// How many times it has been handed out, this time included.
    fn delivered(&self) -> u64;
    /// Settles it for good, and returns once the store has confirmed: it is not handed out
    /// again, to this run or the next.
    fn ack(&self) -> impl Future<Output = Result<(), LogError>> + Send;
    /// Hands it back to be handed out again at once (best effort: without it, it comes back
    /// after `ack_wait`).
    fn give_back(&self) -> impl Future<Output = Result<(), LogError>> + Send;
}

/// A notification a sink gave up on, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The sink that gave up (`webhook`): part of the dead letter's subject.
    pub sink: String,
    /// The alert event's subject.
    pub alert_subject: String,
    /// The alert event's position on the alert stream, when known.
    pub alert_position: Option<u64>,
    /// The alert event, byte for byte.
    pub bytes: Bytes,
    /// Why: the last status or error, or why it did not decode.
    pub reason: String,
    /// How many attempts were made (0 when none was).
    pub attempts: u32,
    /// The last HTTP status, when there was one.
    pub last_status: Option<u16>,
}

/// `text` as one header line: control characters become spaces, at most `max` bytes, cut on a
/// character boundary. Both logs keep a dead letter's text this way, so they read back alike.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > max {
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

impl DeadLetter {
    /// The letter as a store keeps it: reason and subject as single lines of bounded length.
    pub fn kept(&self) -> DeadLetter {
        DeadLetter {
            alert_subject: one_line(&self.alert_subject, MAX_HEADER_TEXT),
            reason: one_line(&self.reason, MAX_HEADER_TEXT),
            ..self.clone()
        }
    }

    /// What makes a repeat of this letter the same letter.
    pub fn dedupe_key(&self) -> String {
        one_line(
            &format!("{}:{}", self.sink, self.alert_subject),
            MAX_HEADER_TEXT,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_drops_line_breaks_and_keeps_char_boundaries() {
        assert_eq!(one_line("a\r\nb", 100), "a  b");
        assert_eq!(one_line("ééé", 3), "é");
    }
}
