//! [`AlertLog`] on JetStream: the stream `PILOT_ALERTS`.
//!
//! Each alert event is published with `Nats-Expected-Last-Subject-Sequence: 0` ("this subject
//! is still empty"), so the server refuses a second one at any distance in time; the message id
//! (the subject) drops plain retries within the duplicate window too. Reads are batched direct
//! gets; following is an ordered consumer. The durable queue and dead letters are in
//! [`super::delivery`].

use super::delivery::{self, JetStreamQueue};
use super::{unavailable, JetStreamLog, PublishFailure};
use crate::alerts::{AlertLog, AlertMessage, AlertTail, Recorded, ALERT_READ_BATCH};
use crate::delivery::{DeadLetter, QueueConfig};
use crate::layout::ALERTS_STREAM;
use crate::log::{LogError, Stored};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use std::collections::VecDeque;

/// How many alert publishes wait for their acknowledgement at once.
const IN_FLIGHT: usize = 256;

impl AlertLog for JetStreamLog {
    type Queue = JetStreamQueue;

    /// Up to [`IN_FLIGHT`] acknowledgements are awaited at once.
    async fn record_alerts(&self, messages: &[AlertMessage]) -> Result<Vec<Recorded>, LogError> {
        let mut out = Vec::with_capacity(messages.len());
        let mut pending = VecDeque::with_capacity(IN_FLIGHT.min(messages.len()));
        for message in messages {
            if pending.len() >= IN_FLIGHT {
                out.push(settle(pending.pop_front()).await?);
            }
            let publish = PublishMessage::build()
                .payload(message.bytes.clone())
                .message_id(message.subject.as_str())
                .expected_last_subject_sequence(0);
            let ack = self
                .jetstream()
                .send_publish(message.subject.clone(), publish)
                .await
                .map_err(|e| LogError::from(PublishFailure::from(e)))?;
            pending.push_back(ack);
        }
        while !pending.is_empty() {
            out.push(settle(pending.pop_front()).await?);
        }
        Ok(out)
    }

    async fn read_alerts(&self, from: u64, max: usize) -> Result<Vec<Stored>, LogError> {
        let batch = self
            .direct_batch(
                ALERTS_STREAM,
                from.max(1),
                None,
                max.clamp(1, ALERT_READ_BATCH),
            )
            .await?;
        Ok(batch.into_iter().map(|h| h.stored).collect())
    }

    async fn last_alert_position(&self) -> Result<u64, LogError> {
        let stream = self
            .jetstream()
            .get_stream_no_info(ALERTS_STREAM)
            .await
            .map_err(unavailable)?;
        let info = stream.get_info().await.map_err(unavailable)?;
        Ok(info.state.last_sequence)
    }

    async fn tail_alerts(&self, from: u64) -> Result<AlertTail, LogError> {
        self.tail(ALERTS_STREAM, from).await
    }

    async fn open_queue(&self, config: &QueueConfig) -> Result<JetStreamQueue, LogError> {
        delivery::open(self.jetstream(), config).await
    }

    async fn dead_letter(&self, letter: &DeadLetter) -> Result<(), LogError> {
        delivery::dead_letter(self.jetstream(), letter).await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, LogError> {
        delivery::dead_letters(self).await
    }
}

async fn settle(ack: Option<PublishAckFuture>) -> Result<Recorded, LogError> {
    let Some(ack) = ack else {
        return Err(LogError::Unavailable("no publish to settle".into()));
    };
    match ack.await.map_err(PublishFailure::from) {
        Ok(ack) if ack.duplicate => Ok(Recorded::AlreadyRecorded),
        Ok(ack) => Ok(Recorded::Stored {
            position: ack.sequence,
        }),
        Err(PublishFailure::WrongLastSequence) => Ok(Recorded::AlreadyRecorded),
        Err(failure) => Err(failure.into()),
    }
}

impl From<PublishFailure> for LogError {
    fn from(failure: PublishFailure) -> Self {
        match failure {
            PublishFailure::WrongLastSequence => {
                LogError::Refused("the subject already holds a message".into())
            }
            PublishFailure::Refused(message) => LogError::Refused(message),
            PublishFailure::Unavailable(message) => LogError::Unavailable(message),
        }
    }
}
