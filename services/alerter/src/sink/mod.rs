//! Delivering recorded alert events to people, the machinery every sink shares (the webhook,
//! the e-mail): a durable queue over the alert stream, release in stream order, one
//! notification settled at a time with retries and backoff, dead letters, acknowledgements.
//! A sink supplies only its [`Channel`]: how one attempt is made.
//!
//! - Events with `transition.notify` false are acknowledged without an attempt; messages that
//!   are not alert events are dead-lettered at once.
//! - Every other one is attempted until the channel succeeds, `max_attempts` is reached (then
//!   it is dead-lettered on `pilot.dead.<sink>.<kind>.<alert_id>.<key>`, stream
//!   `PILOT_DEAD_LETTERS`, with the reason in its headers) or the sink stops.
//! - Delivery is at least once: a crash between a success and the ack sends it again on the
//!   next start. A graceful stop lets the attempt in flight finish and acknowledges it.
//! - Order survives restarts: messages are released strictly by stream position from the
//!   queue's first unacknowledged one (see `order`).
//!
//! - `fetch`: pulls from the durable queue into the bounded in-process queue, in stream order.
//! - `order`: stream positions: release by sequence, skip a gap, recognise settled copies.
//! - `deliver`: one notification: attempts, backoff, `Retry-After`, dead letter, ack.
//! - `keys`: the delivery keys every sink's table has, their defaults and checks.

mod deliver;
mod fetch;
pub(crate) mod keys;
mod order;

pub use deliver::{DEAD_FAILED, DEAD_UNDECODABLE};

use bytes::Bytes;
use deliver::Sender;
use fetch::Fetcher;
use order::{InOrder, Settled};
use pilot_metrics::{Metrics, SinkMetrics};
use pilot_projections::alerting::AlertEvent;
use pilot_store::delivery::{FirstStart, Notification, NotificationQueue, QueueConfig};
use pilot_store::AlertLog;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long one pull request waits for messages before the next is sent; also the longest a
/// stop waits for the last one to end.
pub(crate) const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// The fetcher's pause after a failed pull (the store restarting, a lost connection) ...
const PULL_RETRY_MIN: Duration = Duration::from_millis(100);
/// ... doubling up to this.
const PULL_RETRY_MAX: Duration = Duration::from_secs(5);

/// What the sink takes from `L`'s durable queue.
type Taken<L> = <<L as AlertLog>::Queue as NotificationQueue>::Notification;

/// One way of telling people about an alert event.
pub trait Channel: Send + Sync + 'static {
    /// The sink's name: in its dead letters' subjects (`pilot.dead.<name>.…`) and its
    /// `Pilot-Dead-Sink` header.
    const NAME: &'static str;

    /// One attempt to send `event`, stored as `bytes` on `subject`. It runs to its end even
    /// when the sink is stopping (a channel bounds its own time), so a delivered notification
    /// is acknowledged rather than sent again.
    fn send(
        &self,
        subject: &str,
        event: &AlertEvent,
        bytes: &Bytes,
    ) -> impl Future<Output = Result<(), Failure>> + Send;

    /// This sink's figures among the process's.
    fn figures(metrics: &Metrics) -> &SinkMetrics;
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, for the log and the dead letter (never a secret).
    pub reason: String,
    /// The receiver's status code, when it answered with one (HTTP status, SMTP reply code).
    pub status: Option<u16>,
    /// How long the receiver asked us to wait before the next attempt.
    pub retry_after: Option<Duration>,
}

/// How a sink queues and retries, from its configuration table (already validated).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Attempts per notification before it is dead-lettered (>= 1).
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each further one ...
    pub initial_backoff: Duration,
    /// ... up to this.
    pub max_backoff: Duration,
    /// Notifications taken ahead of the one being sent: the in-process queue's capacity and
    /// the durable queue's `max_unacknowledged`.
    pub queue: usize,
    /// How long the store waits for an acknowledgement before handing a message out again.
    pub ack_wait: Duration,
    /// The durable queue's name.
    pub consumer: String,
    /// Where a durable queue that does not exist yet starts.
    pub first_start: FirstStart,
}

impl Settings {
    /// How long a gap in the stream sequence may hold back later messages: every message left
    /// unacknowledged by an earlier run is handed out again within one `ack_wait`.
    fn gap_patience(&self) -> Duration {
        self.ack_wait.saturating_mul(2) + PULL_EXPIRES
    }

    fn queue_config<C: Channel>(&self) -> QueueConfig {
        QueueConfig {
            name: self.consumer.clone(),
            description: format!("pilot-tracker {} sink", C::NAME),
            ack_wait: self.ack_wait,
            max_unacknowledged: self.queue,
            first_start: self.first_start,
        }
    }
}

/// Why a sink could not open its queue.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the queue {consumer} on the alert stream: {message} (an existing consumer of that name with another delivery policy must be removed by an operator, or choose another consumer name)")]
pub struct QueueError {
    pub consumer: String,
    pub message: String,
}

/// Runs a sink until `shutdown` turns true (or its sender is dropped), then returns `Ok`.
/// Fails only at the start, when the queue cannot be opened. After that a lost connection or a
/// failing receiver is retried, never returned.
///
/// On shutdown it stops pulling, lets the attempt in flight finish, acknowledges it if it was
/// delivered, and hands every other message it holds back to the store, so the next start
/// sends them first.
pub async fn run<L: AlertLog, C: Channel>(
    log: Arc<L>,
    channel: C,
    settings: Settings,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), QueueError> {
    let queue = log
        .open_queue(&settings.queue_config::<C>())
        .await
        .map_err(|e| QueueError {
            consumer: settings.consumer.clone(),
            message: e.to_string(),
        })?;
    let start = queue.start();
    tracing::info!(
        message = "Alert sink started.",
        sink = C::NAME,
        next_position = start.next,
        unacknowledged = start.unacknowledged,
        backlog = start.backlog
    );
    let order = InOrder::new(start.next, settings.gap_patience());
    let (out, queued) = mpsc::channel(settings.queue);
    let fetcher = Fetcher {
        queue,
        out,
        order,
        metrics: metrics.clone(),
        figures: C::figures,
        shutdown: shutdown.clone(),
        left: Vec::new(),
    };
    let sender = Sender {
        settled: Settled::new(settings.queue.saturating_mul(2).saturating_add(16)),
        log,
        channel,
        settings,
        metrics: metrics.clone(),
        shutdown,
    };
    let (fetched, queued) = tokio::join!(fetcher.run(), sender.run(queued));
    // Both have stopped and the last pull request has ended, so nothing handed back now can
    // be passed to a request no one reads: the next start gets it at once.
    let mut left: Vec<Taken<L>> = queued.into_iter().chain(fetched).collect();
    left.sort_by_key(|m| m.position().unwrap_or(u64::MAX));
    for message in &left {
        give_back(message).await;
    }
    C::figures(&metrics).queue_reset();
    tracing::info!(message = "Alert sink stopped.", sink = C::NAME);
    Ok(())
}

fn is_stopped(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Hands a message back to the store for redelivery now; best effort (unacknowledged, it comes
/// back after `ack_wait` anyway).
async fn give_back(message: &impl Notification) {
    if let Err(error) = message.give_back().await {
        tracing::debug!(message = "Could not hand a message back.", %error);
    }
}

/// The URL without credentials, query or fragment, for logs and errors.
pub(crate) fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => "<not a URL>".to_string(),
    }
}
