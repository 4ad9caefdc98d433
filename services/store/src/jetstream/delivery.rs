//! The durable queue and dead letters on JetStream: a durable pull consumer on `PILOT_ALERTS`
//! (all of `pilot.alerts.>`, explicit acks, at most `max_unacknowledged` outstanding), and the
//! stream `PILOT_DEAD_LETTERS`, where each letter carries its reason in headers.

use super::JetStreamLog;
use crate::delivery::{
    DeadLetter, Fetched, FirstStart, Notification, NotificationQueue, QueueConfig, QueueStart,
    ALERT_POSITION_HEADER, ALERT_SUBJECT_HEADER, DEAD_ATTEMPTS_HEADER, DEAD_REASON_HEADER,
    DEAD_SINK_HEADER, DEAD_STATUS_HEADER,
};
use crate::layout::{dead_letter_subject, ALERTS_STREAM, ALERTS_SUBJECTS, DEAD_LETTER_STREAM};
use crate::log::LogError;
use async_nats::header::{HeaderMap, NATS_MESSAGE_ID};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Context, Message};
use bytes::Bytes;
use futures::StreamExt;
use std::time::Duration;

/// A durable pull consumer on the alert stream.
#[derive(Debug)]
pub struct JetStreamQueue {
    consumer: PullConsumer,
    start: QueueStart,
}

/// One message of the durable consumer.
#[derive(Debug)]
pub struct JetStreamNotification {
    message: Message,
    position: Option<u64>,
    delivered: u64,
}

/// Creates the consumer, or updates it to `config` (the server refuses a change of delivery
/// policy: an operator removes such a consumer).
pub(super) async fn open(js: &Context, config: &QueueConfig) -> Result<JetStreamQueue, LogError> {
    let stream = js
        .get_stream(ALERTS_STREAM)
        .await
        .map_err(|e| LogError::Unavailable(format!("cannot open stream {ALERTS_STREAM}: {e}")))?;
    // An existing consumer keeps the delivery policy it was created with (the server refuses
    // a change); only a new one reads `first_start`.
    let existing = stream
        .get_consumer::<pull::Config>(&config.name)
        .await
        .ok()
        .map(|c: PullConsumer| c.cached_info().config.deliver_policy);
    let deliver_policy = existing.unwrap_or(match config.first_start {
        FirstStart::New => DeliverPolicy::New,
        FirstStart::All => DeliverPolicy::All,
    });
    let consumer: PullConsumer = stream
        .create_consumer(consumer_config(config, deliver_policy))
        .await
        .map_err(|e| {
            LogError::Refused(format!(
                "cannot create or update consumer {} on {ALERTS_STREAM}: {e}",
                config.name
            ))
        })?;
    let info = consumer.cached_info();
    let start = QueueStart {
        next: info.ack_floor.stream_sequence.saturating_add(1),
        unacknowledged: u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX),
        backlog: info.num_pending,
    };
    Ok(JetStreamQueue { consumer, start })
}

fn consumer_config(config: &QueueConfig, deliver_policy: DeliverPolicy) -> pull::Config {
    pull::Config {
        durable_name: Some(config.name.clone()),
        description: Some(config.description.clone()),
        filter_subject: ALERTS_SUBJECTS.to_string(),
        deliver_policy,
        ack_policy: AckPolicy::Explicit,
        ack_wait: config.ack_wait,
        max_ack_pending: i64::try_from(config.max_unacknowledged).unwrap_or(i64::MAX),
        ..Default::default()
    }
}

impl NotificationQueue for JetStreamQueue {
    type Notification = JetStreamNotification;

    fn start(&self) -> QueueStart {
        self.start
    }

    /// One pull request. It cannot be withdrawn: the server may send to it until it expires.
    async fn fetch(
        &mut self,
        max: usize,
        expires: Duration,
    ) -> Result<Fetched<JetStreamNotification>, LogError> {
        let batch = self
            .consumer
            .batch()
            .max_messages(max)
            .expires(expires)
            .messages()
            .await
            .map_err(|e| LogError::Unavailable(crate::log::describe(&e)))?;
        Ok(batch
            .map(|message| {
                let message =
                    message.map_err(|e| LogError::Unavailable(crate::log::describe(&*e)))?;
                let info = message.info().ok();
                Ok(JetStreamNotification {
                    position: info.as_ref().map(|i| i.stream_sequence),
                    delivered: info.map_or(1, |i| u64::try_from(i.delivered).unwrap_or(1)),
                    message,
                })
            })
            .boxed())
    }
}

impl Notification for JetStreamNotification {
    fn subject(&self) -> &str {
        self.message.subject.as_str()
    }

    fn bytes(&self) -> &Bytes {
        &self.message.payload
    }

    fn position(&self) -> Option<u64> {
        self.position
    }

    fn delivered(&self) -> u64 {
        self.delivered
    }

    /// A double ack: the server confirms, so "acknowledged" means it will not come back.
    async fn ack(&self) -> Result<(), LogError> {
        self.message
            .double_ack()
            .await
            .map_err(|e| LogError::Unavailable(crate::log::describe(&*e)))
    }

    async fn give_back(&self) -> Result<(), LogError> {
        self.message
            .ack_with(AckKind::Nak(None))
            .await
            .map_err(|e| LogError::Unavailable(crate::log::describe(&*e)))
    }
}

/// Publishes the letter on its subject and waits for the stream to store it. Its message id
/// is the letter's dedupe key, so a repeat within the duplicate window is dropped.
pub(super) async fn dead_letter(js: &Context, letter: &DeadLetter) -> Result<(), LogError> {
    let kept = letter.kept();
    let mut headers = HeaderMap::new();
    headers.insert(DEAD_REASON_HEADER, kept.reason.as_str());
    headers.insert(DEAD_ATTEMPTS_HEADER, kept.attempts.to_string().as_str());
    if let Some(status) = kept.last_status {
        headers.insert(DEAD_STATUS_HEADER, status.to_string().as_str());
    }
    headers.insert(DEAD_SINK_HEADER, kept.sink.as_str());
    headers.insert(ALERT_SUBJECT_HEADER, kept.alert_subject.as_str());
    if let Some(position) = kept.alert_position {
        headers.insert(ALERT_POSITION_HEADER, position.to_string().as_str());
    }
    headers.insert(NATS_MESSAGE_ID, letter.dedupe_key().as_str());
    let subject = dead_letter_subject(&letter.sink, &letter.alert_subject);
    let ack = js
        .publish_with_headers(subject, headers, letter.bytes.clone())
        .await
        .map_err(|e| LogError::Unavailable(crate::log::describe(&e)))?;
    ack.await
        .map(|_| ())
        .map_err(|e| LogError::Unavailable(crate::log::describe(&e)))
}

/// Reads the whole dead-letter stream back, headers into fields.
pub(super) async fn dead_letters(log: &JetStreamLog) -> Result<Vec<DeadLetter>, LogError> {
    let entries = log.read_all_headed(DEAD_LETTER_STREAM).await?;
    Ok(entries
        .into_iter()
        .map(|headed| DeadLetter {
            sink: headed.header(DEAD_SINK_HEADER).unwrap_or_default(),
            alert_subject: headed.header(ALERT_SUBJECT_HEADER).unwrap_or_default(),
            alert_position: headed
                .header(ALERT_POSITION_HEADER)
                .and_then(|p| p.parse().ok()),
            reason: headed.header(DEAD_REASON_HEADER).unwrap_or_default(),
            attempts: headed
                .header(DEAD_ATTEMPTS_HEADER)
                .and_then(|a| a.parse().ok())
                .unwrap_or(0),
            last_status: headed
                .header(DEAD_STATUS_HEADER)
                .and_then(|s| s.parse().ok()),
            bytes: headed.stored.bytes,
        })
        .collect())
}
