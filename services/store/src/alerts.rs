//! The alert stream: alert events recorded at most once, read back and followed live.
//!
//! Each transition has its own subject (see `pilot_projections::alerting::record`), and is
//! published with `Nats-Expected-Last-Subject-Sequence: 0`: "this subject is still empty". So
//! the server stores the first of any number of attempts to record one transition (two alerters,
//! a restart, a retry after a lost acknowledgement) and refuses the rest, at any distance in
//! time; the message id (the subject) deduplicates plain retries within the duplicate window too.

use crate::jetstream::{unavailable, JetStreamLog, PublishFailure};
use crate::layout::ALERTS_STREAM;
use crate::log::{LogError, Stored};
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::collections::VecDeque;

/// How many alert publishes wait for their acknowledgement at once.
const IN_FLIGHT: usize = 256;
/// How many alert events one read returns at most.
const READ_BATCH: usize = 512;

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

impl JetStreamLog {
    /// Records `messages` in order, with up to [`IN_FLIGHT`] acknowledgements awaited at once.
    /// Stops at the first failure other than "already recorded"; what came before it stands.
    pub async fn record_alerts(
        &self,
        messages: &[AlertMessage],
    ) -> Result<Vec<Recorded>, LogError> {
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

    /// Up to `max` alert events from position `from` on, in order.
    pub async fn read_alerts(&self, from: u64, max: usize) -> Result<Vec<Stored>, LogError> {
        let batch = self
            .direct_batch(ALERTS_STREAM, from.max(1), None, max.clamp(1, READ_BATCH))
            .await?;
        Ok(batch.into_iter().map(|h| h.stored).collect())
    }

    /// The position of the last alert event (0 when there is none).
    pub async fn last_alert_position(&self) -> Result<u64, LogError> {
        let stream = self
            .jetstream()
            .get_stream_no_info(ALERTS_STREAM)
            .await
            .map_err(unavailable)?;
        let info = stream.get_info().await.map_err(unavailable)?;
        Ok(info.state.last_sequence)
    }

    /// Every message of `stream` from position `from` on, then each new one as it is stored:
    /// an ordered consumer (ephemeral; the server removes it once the stream is dropped).
    pub async fn tail(
        &self,
        stream: &str,
        from: u64,
    ) -> Result<BoxStream<'static, Result<Stored, LogError>>, LogError> {
        let stream = self
            .jetstream()
            .get_stream(stream)
            .await
            .map_err(unavailable)?;
        let config = OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from.max(1),
            },
            ..Default::default()
        };
        let consumer = stream.create_consumer(config).await.map_err(unavailable)?;
        let messages = consumer.messages().await.map_err(unavailable)?;
        Ok(messages
            .map(|message| {
                let message = message.map_err(unavailable)?;
                let position = message.info().map_err(unavailable)?.stream_sequence;
                Ok(Stored {
                    position,
                    bytes: message.payload.clone(),
                })
            })
            .boxed())
    }
}

async fn settle(
    ack: Option<async_nats::jetstream::context::PublishAckFuture>,
) -> Result<Recorded, LogError> {
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
