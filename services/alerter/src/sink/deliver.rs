//! The sender: settles one notification at a time: sends it through the sink's [`Channel`],
//! retries with backoff (honouring a receiver's `Retry-After`), dead-letters what it gives up
//! on, and acknowledges it.

use super::order::Settled;
use super::{is_stopped, Channel, Failure, Settings, Taken, PULL_RETRY_MIN};
use crate::stopped;
use bytes::Bytes;
use pilot_metrics::Metrics;
use pilot_projections::alerting::AlertEvent;
use pilot_store::delivery::{self, Notification};
use pilot_store::AlertLog;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// `pilot_<sink>_dead_lettered_total{reason}`: the sink gave up after `max_attempts`.
pub const DEAD_FAILED: &str = "failed";
/// `pilot_<sink>_dead_lettered_total{reason}`: the message was not an alert event.
pub const DEAD_UNDECODABLE: &str = "undecodable";

/// What became of one message.
enum Outcome {
    /// The channel succeeded (a 2xx, a message the server accepted).
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

/// Takes messages from the queue one at a time and settles each before the next.
pub(super) struct Sender<L: AlertLog, C: Channel> {
    pub(super) log: Arc<L>,
    pub(super) channel: C,
    pub(super) settings: Settings,
    pub(super) metrics: Arc<Metrics>,
    pub(super) settled: Settled,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl<L: AlertLog, C: Channel> Sender<L, C> {
    /// Settles messages until the sink stops; returns the one abandoned in flight and the
    /// queued ones, to be handed back.
    #[tracing::instrument(name = "alert_sender", skip_all, fields(sink = C::NAME))]
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
            C::figures(&self.metrics).dequeued();
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
            Ok(event) => self.deliver(subject, &event, message.bytes()).await,
        };
        match outcome {
            Outcome::Abandoned => return false,
            Outcome::Delivered { attempts } => {
                C::figures(&self.metrics).delivered();
                tracing::info!(message = "Notification delivered.", attempts);
            }
            Outcome::Skipped => {
                C::figures(&self.metrics).skipped();
                tracing::debug!(message = "Not a notification (notify is false); skipped.");
            }
            Outcome::Dead(dead) => {
                if !self.dead_letter(message, &dead).await {
                    return false;
                }
                C::figures(&self.metrics).dead_lettered(dead.kind);
                tracing::warn!(
                    message = "Notification dead-lettered.",
                    reason = %dead.reason,
                    attempts = dead.attempts,
                    dead_letter = %pilot_store::layout::dead_letter_subject(C::NAME, subject)
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

    /// Attempts until the channel succeeds, `max_attempts`, or shutdown (between attempts).
    async fn deliver(&mut self, subject: &str, event: &AlertEvent, bytes: &Bytes) -> Outcome {
        let mut backoff = self.settings.initial_backoff;
        let mut last: Option<Failure> = None;
        for attempt in 1..=self.settings.max_attempts {
            let failure = match self.channel.send(subject, event, bytes).await {
                Ok(()) => return Outcome::Delivered { attempts: attempt },
                Err(failure) => failure,
            };
            C::figures(&self.metrics).failed_attempt();
            tracing::warn!(
                message = "Delivery attempt failed.",
                attempt,
                max_attempts = self.settings.max_attempts,
                reason = %failure.reason
            );
            let wait = failure.retry_after.map_or(backoff, |after| {
                after.clamp(backoff, self.settings.max_backoff)
            });
            last = Some(failure);
            if attempt == self.settings.max_attempts {
                break;
            }
            if is_stopped(&self.shutdown) {
                return Outcome::Abandoned;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stopped(&mut self.shutdown) => return Outcome::Abandoned,
            }
            backoff = backoff.saturating_mul(2).min(self.settings.max_backoff);
        }
        let (reason, last_status) = last.map_or_else(
            || ("no attempt was made".to_string(), None),
            |f| (f.reason, f.status),
        );
        Outcome::Dead(GaveUp {
            kind: DEAD_FAILED,
            reason,
            attempts: self.settings.max_attempts,
            last_status,
        })
    }

    /// Keeps the message's bytes as a dead letter with the reason, retrying until the store
    /// keeps it; false if the sink stopped first. A crash between keeping and acknowledging
    /// repeats it; the store keeps one.
    async fn dead_letter(&mut self, message: &Taken<L>, dead: &GaveUp) -> bool {
        let letter = delivery::DeadLetter {
            sink: C::NAME.to_string(),
            alert_subject: message.subject().to_string(),
            alert_position: message.position(),
            bytes: message.bytes().clone(),
            reason: dead.reason.clone(),
            attempts: dead.attempts,
            last_status: dead.last_status,
        };
        let mut retry = self.settings.initial_backoff.max(PULL_RETRY_MIN);
        loop {
            match self.log.dead_letter(&letter).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(message = "Could not store a dead letter; retrying.", %error, subject = %pilot_store::layout::dead_letter_subject(C::NAME, &letter.alert_subject));
                }
            }
            tokio::select! {
                () = tokio::time::sleep(retry) => {}
                () = stopped(&mut self.shutdown) => return false,
            }
            retry = retry
                .saturating_mul(2)
                .min(self.settings.max_backoff.max(retry));
        }
    }
}
