//! The sender: settles one notification at a time: POSTs it, retries with backoff (honouring a
//! 429 or 503's `Retry-After`), dead-letters what it gives up on, and acknowledges it.

use super::order::Settled;
use super::{describe, is_stopped, position, WebhookConfig, PULL_RETRY_MIN};
use crate::alerter::stopped;
use crate::metrics::Metrics;
use async_nats::header::HeaderMap;
use async_nats::jetstream::{Context, Message};
use bytes::Bytes;
use pilot_projections::alerting::AlertEvent;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// Where notifications the sink gave up on are published (`PILOT_DEAD_LETTERS`).
pub const DEAD_LETTER_PREFIX: &str = "pilot.dead.webhook";

/// HTTP request header: the alert event's subject, `pilot.alerts.<kind>.<alert_id>.<key>`.
pub const SUBJECT_HEADER: &str = "Pilot-Alert-Subject";
/// HTTP request header: the same subject, for receivers that drop repeats by key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Dead-letter header: why the sink gave up (the last status or error, or why it did not decode).
pub const DEAD_REASON_HEADER: &str = "Pilot-Dead-Reason";
/// Dead-letter header: how many requests were made (0 when none was).
pub const DEAD_ATTEMPTS_HEADER: &str = "Pilot-Dead-Attempts";
/// Dead-letter header: the last HTTP status, when there was one.
pub const DEAD_STATUS_HEADER: &str = "Pilot-Dead-Last-Status";
/// Dead-letter header: the sink that gave up (`webhook`).
pub const DEAD_SINK_HEADER: &str = "Pilot-Dead-Sink";
/// Dead-letter header: the original message's sequence on `PILOT_ALERTS`.
pub const ALERT_POSITION_HEADER: &str = "Pilot-Alert-Position";

/// `pilot_webhook_dead_lettered_total{reason}`: the sink gave up after `max_attempts`.
pub const DEAD_FAILED: &str = "failed";
/// `pilot_webhook_dead_lettered_total{reason}`: the message was not an alert event.
pub const DEAD_UNDECODABLE: &str = "undecodable";

/// Longest dead-letter reason kept in a header.
const MAX_REASON_BYTES: usize = 1024;
/// Longest part of a failed response's body quoted in the reason.
const MAX_BODY_QUOTE: usize = 256;

/// The dead-letter subject for an alert subject: `pilot.alerts.fired.<id>.1` →
/// `pilot.dead.webhook.fired.<id>.1`.
pub fn dead_letter_subject(alert_subject: &str) -> String {
    let prefix = pilot_projections::alerting::record::ALERT_SUBJECT_PREFIX;
    let rest = alert_subject
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('.'))
        .filter(|r| !r.is_empty())
        .unwrap_or(alert_subject);
    format!("{DEAD_LETTER_PREFIX}.{rest}")
}

/// What became of one message.
enum Outcome {
    /// Sent and answered with 2xx.
    Delivered { attempts: u32 },
    /// Not to be sent (`notify` false).
    Skipped,
    /// Given up on; to be dead-lettered.
    Dead(DeadLetter),
    /// The sink is stopping; leave it unacknowledged.
    Abandoned,
}

struct DeadLetter {
    /// The metric label: [`DEAD_FAILED`] or [`DEAD_UNDECODABLE`].
    kind: &'static str,
    reason: String,
    attempts: u32,
    last_status: Option<u16>,
}

/// One failed attempt.
struct Failure {
    reason: String,
    status: Option<u16>,
    /// A 429 or 503's `Retry-After`, in seconds.
    retry_after: Option<Duration>,
}

/// Takes messages from the queue one at a time and settles each before the next.
pub(super) struct Sender {
    pub(super) js: Context,
    pub(super) client: reqwest::Client,
    pub(super) url: reqwest::Url,
    pub(super) config: WebhookConfig,
    pub(super) metrics: Arc<Metrics>,
    pub(super) settled: Settled,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl Sender {
    /// Settles messages until the sink stops; returns the one abandoned in flight and the
    /// queued ones, to be handed back.
    #[tracing::instrument(name = "webhook_sender", skip_all)]
    pub(super) async fn run(mut self, mut queued: mpsc::Receiver<Message>) -> Vec<Message> {
        let mut left = Vec::new();
        loop {
            let next = tokio::select! {
                biased;
                () = stopped(&mut self.shutdown) => None,
                next = queued.recv() => next,
            };
            let Some(message) = next else { break };
            let span = tracing::info_span!(
                "notification",
                subject = %message.subject,
                position = position(&message),
                delivery = message.info().map(|i| i.delivered).unwrap_or_default()
            );
            if !self.settle(&message).instrument(span).await {
                left.push(message);
                break;
            }
            self.metrics.webhook_dequeued();
        }
        // Stopping: nothing more can be queued; whatever is goes back to the server.
        queued.close();
        while let Some(message) = queued.recv().await {
            left.push(message);
        }
        left
    }

    /// Sends, skips or dead-letters `message` and acknowledges it; false if the sink stopped
    /// first (the message is then not acknowledged).
    async fn settle(&mut self, message: &Message) -> bool {
        let position = position(message);
        if position.is_some_and(|p| self.settled.contains(p)) {
            tracing::debug!(message = "A copy of a settled notification; acknowledging again.");
            if let Err(error) = message.ack().await {
                tracing::debug!(message = "Could not acknowledge a copy.", %error);
            }
            return true;
        }
        let subject = message.subject.as_str();
        let outcome = match serde_json::from_slice::<AlertEvent>(&message.payload) {
            Err(error) => Outcome::Dead(DeadLetter {
                kind: DEAD_UNDECODABLE,
                reason: format!("not an alert event: {error}"),
                attempts: 0,
                last_status: None,
            }),
            Ok(event) if !event.notice.transition.notify => Outcome::Skipped,
            Ok(_) => self.deliver(subject, &message.payload).await,
        };
        match outcome {
            Outcome::Abandoned => return false,
            Outcome::Delivered { attempts } => {
                self.metrics.webhook_delivered();
                tracing::info!(message = "Notification delivered.", attempts);
            }
            Outcome::Skipped => {
                self.metrics.webhook_skipped();
                tracing::debug!(message = "Not a notification (notify is false); skipped.");
            }
            Outcome::Dead(dead) => {
                if !self.dead_letter(message, &dead).await {
                    return false;
                }
                self.metrics.webhook_dead_lettered(dead.kind);
                tracing::warn!(
                    message = "Notification dead-lettered.",
                    reason = %dead.reason,
                    attempts = dead.attempts,
                    dead_letter = %dead_letter_subject(subject)
                );
            }
        }
        self.acknowledge(message).await;
        if let Some(position) = position {
            self.settled.insert(position);
        }
        true
    }

    /// Acknowledges and waits for the server to confirm; on failure the message comes back
    /// after `ack_wait` and is recognised as settled.
    async fn acknowledge(&self, message: &Message) {
        if let Err(error) = message.double_ack().await {
            tracing::warn!(message = "Could not acknowledge a settled notification; it may come back.", %error);
        }
    }

    /// POSTs until a 2xx, `max_attempts`, or shutdown (between attempts).
    async fn deliver(&mut self, subject: &str, body: &Bytes) -> Outcome {
        let mut backoff = self.config.initial_backoff();
        let mut last: Option<Failure> = None;
        for attempt in 1..=self.config.max_attempts {
            let failure = match self.post(subject, body).await {
                Ok(()) => return Outcome::Delivered { attempts: attempt },
                Err(failure) => failure,
            };
            self.metrics.webhook_failed_attempt();
            tracing::warn!(
                message = "Webhook attempt failed.",
                attempt,
                max_attempts = self.config.max_attempts,
                reason = %failure.reason
            );
            let wait = failure.retry_after.map_or(backoff, |after| {
                after.clamp(backoff, self.config.max_backoff())
            });
            last = Some(failure);
            if attempt == self.config.max_attempts {
                break;
            }
            if is_stopped(&self.shutdown) {
                return Outcome::Abandoned;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stopped(&mut self.shutdown) => return Outcome::Abandoned,
            }
            backoff = backoff.saturating_mul(2).min(self.config.max_backoff());
        }
        let (reason, last_status) = last.map_or_else(
            || ("no attempt was made".to_string(), None),
            |f| (f.reason, f.status),
        );
        Outcome::Dead(DeadLetter {
            kind: DEAD_FAILED,
            reason,
            attempts: self.config.max_attempts,
            last_status,
        })
    }

    /// One request. Runs to its end (at most `timeout_ms`) even when the sink is stopping, so a
    /// delivered notification is acknowledged rather than sent again.
    async fn post(&self, subject: &str, body: &Bytes) -> Result<(), Failure> {
        let request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SUBJECT_HEADER, subject)
            .header(IDEMPOTENCY_HEADER, subject)
            .body(body.clone());
        let mut response = request.send().await.map_err(|e| Failure {
            reason: format!("request failed: {}", describe(&e.without_url())),
            status: None,
            retry_after: None,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = match status.as_u16() {
            429 | 503 => response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
            _ => None,
        };
        let mut quoted = Vec::new();
        while quoted.len() < MAX_BODY_QUOTE {
            match response.chunk().await {
                Ok(Some(chunk)) => quoted.extend_from_slice(&chunk),
                _ => break,
            }
        }
        quoted.truncate(MAX_BODY_QUOTE);
        let quoted = String::from_utf8_lossy(&quoted);
        let quoted = quoted.trim();
        let reason = if quoted.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {quoted}")
        };
        Err(Failure {
            reason,
            status: Some(status.as_u16()),
            retry_after,
        })
    }

    /// Publishes the message's bytes on the dead-letter stream with the reason, retrying until
    /// the server stores it; false if the sink stopped first.
    async fn dead_letter(&mut self, message: &Message, dead: &DeadLetter) -> bool {
        let subject = message.subject.as_str();
        let mut headers = HeaderMap::new();
        headers.insert(
            DEAD_REASON_HEADER,
            header_text(&dead.reason, MAX_REASON_BYTES),
        );
        headers.insert(DEAD_ATTEMPTS_HEADER, dead.attempts.to_string());
        if let Some(status) = dead.last_status {
            headers.insert(DEAD_STATUS_HEADER, status.to_string());
        }
        headers.insert(DEAD_SINK_HEADER, "webhook");
        headers.insert(SUBJECT_HEADER, header_text(subject, MAX_REASON_BYTES));
        if let Some(position) = position(message) {
            headers.insert(ALERT_POSITION_HEADER, position.to_string());
        }
        // A crash between storing and acknowledging repeats the publish; the server drops it.
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            header_text(&format!("webhook:{subject}"), MAX_REASON_BYTES),
        );
        let target = dead_letter_subject(subject);
        let mut retry = self.config.initial_backoff().max(PULL_RETRY_MIN);
        loop {
            let stored = match self
                .js
                .publish_with_headers(target.clone(), headers.clone(), message.payload.clone())
                .await
            {
                Ok(ack) => ack.await.map(|_| ()).map_err(|e| describe(&e)),
                Err(e) => Err(describe(&e)),
            };
            match stored {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(message = "Could not store a dead letter; retrying.", %error, subject = %target);
                }
            }
            tokio::select! {
                () = tokio::time::sleep(retry) => {}
                () = stopped(&mut self.shutdown) => return false,
            }
            retry = retry
                .saturating_mul(2)
                .min(self.config.max_backoff().max(retry));
        }
    }
}

/// `text` as a header value: control characters become spaces, at most `max` bytes.
fn header_text(text: &str, max: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_keep_the_alert_subject_after_the_prefix() {
        assert_eq!(
            dead_letter_subject("pilot.alerts.fired.0192abcd.1"),
            "pilot.dead.webhook.fired.0192abcd.1"
        );
        assert_eq!(
            dead_letter_subject("elsewhere.x"),
            "pilot.dead.webhook.elsewhere.x"
        );
    }

    #[test]
    fn header_text_drops_line_breaks_and_keeps_char_boundaries() {
        assert_eq!(header_text("a\r\nb", 100), "a  b");
        assert_eq!(header_text("ééé", 3), "é");
    }
}
