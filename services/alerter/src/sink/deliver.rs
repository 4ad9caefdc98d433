//! The sender: settles one notification at a time: POSTs it, retries with backoff (honouring a
//! 429 or 503's `Retry-After`), dead-letters what it gives up on, and acknowledges it.

use super::order::Settled;
use super::sign::{Signer, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use super::{is_stopped, Taken, WebhookConfig, PULL_RETRY_MIN};
use crate::stopped;
use bytes::Bytes;
use pilot_metrics::Metrics;
use pilot_projections::alerting::AlertEvent;
use pilot_store::delivery::{self, Notification};
use pilot_store::log::describe;
use pilot_store::AlertLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// The sink's name on its dead letters: `pilot.dead.webhook.<kind>.<alert_id>.<key>`.
pub const SINK: &str = "webhook";

/// HTTP request header: the alert event's subject, `pilot.alerts.<kind>.<alert_id>.<key>` (the
/// same name its dead letter carries it under).
pub const SUBJECT_HEADER: &str = delivery::ALERT_SUBJECT_HEADER;
/// HTTP request header: the same subject, for receivers that drop repeats by key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// `pilot_webhook_dead_lettered_total{reason}`: the sink gave up after `max_attempts`.
pub const DEAD_FAILED: &str = "failed";
/// `pilot_webhook_dead_lettered_total{reason}`: the message was not an alert event.
pub const DEAD_UNDECODABLE: &str = "undecodable";

/// Longest part of a failed response's body quoted in the reason.
const MAX_BODY_QUOTE: usize = 256;

/// The dead-letter subject for an alert subject: `pilot.alerts.fired.<id>.1` →
/// `pilot.dead.webhook.fired.<id>.1`.
pub fn dead_letter_subject(alert_subject: &str) -> String {
    pilot_store::layout::dead_letter_subject(SINK, alert_subject)
}

/// What became of one message.
enum Outcome {
    /// Sent and answered with 2xx.
    Delivered { attempts: u32 },
    /// Not to be sent (`notify` false).
    Skipped,
    /// Given up on; to be dead-lettered.
    Dead(GaveUp),
    /// The sink is stopping; leave it unacknowledged.
    Abandoned,
}

struct GaveUp {
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
pub(super) struct Sender<L: AlertLog> {
    pub(super) log: Arc<L>,
    pub(super) client: reqwest::Client,
    pub(super) url: reqwest::Url,
    /// Signs each attempt, when a `secret` is configured.
    pub(super) signer: Option<Signer>,
    pub(super) config: WebhookConfig,
    pub(super) metrics: Arc<Metrics>,
    pub(super) settled: Settled,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl<L: AlertLog> Sender<L> {
    /// Settles messages until the sink stops; returns the one abandoned in flight and the
    /// queued ones, to be handed back.
    #[tracing::instrument(name = "webhook_sender", skip_all)]
    pub(super) async fn run(mut self, mut queued: mpsc::Receiver<Taken<L>>) -> Vec<Taken<L>> {
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
                subject = %message.subject(),
                position = message.position(),
                delivery = message.delivered()
            );
            if !self.settle(&message).instrument(span).await {
                left.push(message);
                break;
            }
            self.metrics.webhook_dequeued();
        }
        // Stopping: nothing more can be queued; whatever is goes back to the store.
        queued.close();
        while let Some(message) = queued.recv().await {
            left.push(message);
        }
        left
    }

    /// Sends, skips or dead-letters `message` and acknowledges it; false if the sink stopped
    /// first (the message is then not acknowledged).
    async fn settle(&mut self, message: &Taken<L>) -> bool {
        let position = message.position();
        if position.is_some_and(|p| self.settled.contains(p)) {
            tracing::debug!(message = "A copy of a settled notification; acknowledging again.");
            if let Err(error) = message.ack().await {
                tracing::debug!(message = "Could not acknowledge a copy.", %error);
            }
            return true;
        }
        let subject = message.subject();
        let outcome = match serde_json::from_slice::<AlertEvent>(message.bytes()) {
            Err(error) => Outcome::Dead(GaveUp {
                kind: DEAD_UNDECODABLE,
                reason: format!("not an alert event: {error}"),
                attempts: 0,
                last_status: None,
            }),
            Ok(event) if !event.notice.transition.notify => Outcome::Skipped,
            Ok(_) => self.deliver(subject, message.bytes()).await,
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

    /// Acknowledges and waits for the store to confirm; on failure the message comes back
    /// after `ack_wait` and is recognised as settled.
    async fn acknowledge(&self, message: &Taken<L>) {
        if let Err(error) = message.ack().await {
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
        Outcome::Dead(GaveUp {
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
        let request = match &self.signer {
            Some(signer) => {
                let timestamp = unix_now();
                request
                    .header(ID_HEADER, subject)
                    .header(TIMESTAMP_HEADER, timestamp)
                    .header(SIGNATURE_HEADER, signer.sign(subject, timestamp, body))
            }
            None => request,
        };
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

    /// Keeps the message's bytes as a dead letter with the reason, retrying until the store
    /// keeps it; false if the sink stopped first. A crash between keeping and acknowledging
    /// repeats it; the store keeps one.
    async fn dead_letter(&mut self, message: &Taken<L>, dead: &GaveUp) -> bool {
        let letter = delivery::DeadLetter {
            sink: SINK.to_string(),
            alert_subject: message.subject().to_string(),
            alert_position: message.position(),
            bytes: message.bytes().clone(),
            reason: dead.reason.clone(),
            attempts: dead.attempts,
            last_status: dead.last_status,
        };
        let mut retry = self.config.initial_backoff().max(PULL_RETRY_MIN);
        loop {
            match self.log.dead_letter(&letter).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(message = "Could not store a dead letter; retrying.", %error, subject = %dead_letter_subject(&letter.alert_subject));
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

/// Seconds since the epoch now: an attempt's `webhook-timestamp` (0 for a clock before 1970).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_keep_the_alert_subject_after_the_sink() {
        assert_eq!(
            dead_letter_subject("pilot.alerts.fired.0192abcd.1"),
            "pilot.dead.webhook.fired.0192abcd.1"
        );
    }
}
