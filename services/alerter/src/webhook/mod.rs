//! The webhook sink: POSTs every notification to a URL, in order, with retries.
//!
//! A durable queue over the alert stream ([`pilot_store::delivery`]; on JetStream a durable pull
//! consumer on `PILOT_ALERTS`, explicit acks, at most `queue` unacknowledged) feeds a bounded
//! in-process queue; one sender takes the messages in stream order and POSTs each, so
//! notifications arrive in the order they were recorded, per alert and overall. See `docs/alert-delivery.md` for the receiver's side.
//!
//! - The body is the stored alert event, byte for byte; `Pilot-Alert-Subject`,
//!   `Idempotency-Key` and `webhook-id` carry its subject, which names one transition of one
//!   alert. With a `secret`, each attempt is signed per the Standard Webhooks scheme.
//! - A consumer created for the first time starts after the last recorded alert event, unless
//!   `deliver_backlog` is set.
//! - A 2xx answer is a delivery: the message is acknowledged. Anything else (another status, a
//!   refused connection, a timeout) is retried after a backoff that starts at
//!   `initial_backoff_ms` and doubles up to `max_backoff_ms`; after `max_attempts` the message
//!   is dead-lettered on `pilot.dead.webhook.<kind>.<alert_id>.<key>` (stream
//!   `PILOT_DEAD_LETTERS`) with the reason in its headers, acknowledged, and the sink moves on.
//! - Events with `transition.notify` false (acknowledgements, silences, escalations of an
//!   acknowledged alert) are acknowledged without a request; messages that are not alert events
//!   are dead-lettered at once.
//! - The sink is generic over [`AlertLog`]: it runs on `JetStreamLog` in production and on
//!   `MemoryLog` in most of its tests, with the same queue semantics (the store's conformance
//!   suite checks both).
//! - Delivery is at least once: a crash (or a lost connection to NATS) between a receiver's 2xx
//!   and the ack sends that notification again on the next start, with the same
//!   `Idempotency-Key`. A graceful stop lets the request in flight finish and acknowledges it.
//!
//! Order survives restarts: messages are released to the sender strictly by stream position from
//! the queue's first unacknowledged one, so messages left unacknowledged by a stopped or crashed
//! run (which the store hands out again, possibly after newer ones) still go first.
//!
//! - `config`: the `[alerts.webhook]` table: defaults, validation, secrets kept out of logs.
//! - `fetch`: pulls from the durable queue into the bounded in-process queue, in stream order.
//! - `order`: stream positions: release by sequence, skip a gap, recognise settled copies.
//! - `deliver`: one notification: POST, retries, backoff, `Retry-After`, dead letter, ack.
//! - `sign`: the Standard Webhooks signature headers.

mod config;
mod deliver;
mod fetch;
mod order;
mod sign;

pub use config::{WebhookConfig, WebhookConfigError, DEFAULT_CONSUMER, MAX_QUEUE};
pub use deliver::{
    dead_letter_subject, DEAD_FAILED, DEAD_UNDECODABLE, IDEMPOTENCY_HEADER, SINK, SUBJECT_HEADER,
};
pub use pilot_store::delivery::{
    ALERT_POSITION_HEADER, DEAD_ATTEMPTS_HEADER, DEAD_REASON_HEADER, DEAD_SINK_HEADER,
    DEAD_STATUS_HEADER,
};
pub use sign::{SecretError, Signer, ID_HEADER, SECRET_PREFIX, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use config::{bearer_header, redacted_url};
use deliver::Sender;
use fetch::Fetcher;
use order::{InOrder, Settled};
use pilot_metrics::Metrics;
use pilot_store::delivery::{FirstStart, Notification, NotificationQueue, QueueConfig};
use pilot_store::AlertLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long one pull request waits for messages before the next is sent; also the longest a
/// stop waits for the last one to end.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// The fetcher's pause after a failed pull (the store restarting, a lost connection) ...
const PULL_RETRY_MIN: Duration = Duration::from_millis(100);
/// ... doubling up to this.
const PULL_RETRY_MAX: Duration = Duration::from_secs(5);

/// What the sink takes from `L`'s durable queue.
type Taken<L> = <<L as AlertLog>::Queue as NotificationQueue>::Notification;

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Config(#[from] WebhookConfigError),
    #[error("cannot build the webhook's HTTP client: {0}")]
    Client(String),
    #[error("cannot open the webhook's queue {consumer} on the alert stream: {message} (an existing consumer of that name with another delivery policy must be removed by an operator, or choose another alerts.webhook.consumer)")]
    Queue { consumer: String, message: String },
}

/// Runs the webhook sink until `shutdown` turns true (or its sender is dropped), then returns
/// `Ok`. Fails only at the start: an invalid configuration, no alert stream, a queue that
/// cannot be opened. After that a lost connection or a failing receiver is retried, never
/// returned.
///
/// On shutdown it stops pulling, lets the request in flight finish (at most `timeout_ms`),
/// acknowledges it if it was delivered, and hands every other message it holds back to the
/// store, so the next start sends them first.
#[tracing::instrument(name = "webhook", skip_all, fields(consumer = %config.consumer, url = %redacted_url(&config.url)))]
pub async fn run<L: AlertLog>(
    log: Arc<L>,
    config: WebhookConfig,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), WebhookError> {
    config.validate()?;
    let url = config.parsed_url()?;
    let client = http_client(&config)?;
    let signer = config.signer()?;
    let queue = log
        .open_queue(&queue_config(&config))
        .await
        .map_err(|e| WebhookError::Queue {
            consumer: config.consumer.clone(),
            message: e.to_string(),
        })?;
    let start = queue.start();
    tracing::info!(
        message = "Webhook sink started.",
        next_position = start.next,
        unacknowledged = start.unacknowledged,
        backlog = start.backlog
    );
    let order = InOrder::new(start.next, config.gap_patience());
    let (out, queued) = mpsc::channel(config.queue);
    let fetcher = Fetcher {
        queue,
        out,
        order,
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
        left: Vec::new(),
    };
    let sender = Sender {
        settled: Settled::new(config.queue.saturating_mul(2).saturating_add(16)),
        log,
        client,
        url,
        signer,
        config,
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
    metrics.webhook_queue_reset();
    tracing::info!(message = "Webhook sink stopped.");
    Ok(())
}

fn queue_config(config: &WebhookConfig) -> QueueConfig {
    QueueConfig {
        name: config.consumer.clone(),
        description: "pilot-tracker webhook sink".to_string(),
        ack_wait: Duration::from_millis(config.ack_wait_ms),
        max_unacknowledged: config.queue,
        first_start: if config.deliver_backlog {
            FirstStart::All
        } else {
            FirstStart::New
        },
    }
}

fn http_client(config: &WebhookConfig) -> Result<reqwest::Client, WebhookError> {
    let timeout = Duration::from_millis(config.timeout_ms);
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &config.bearer_token {
        headers.insert(reqwest::header::AUTHORIZATION, bearer_header(token)?);
    }
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "pilot-tracker/",
            env!("CARGO_PKG_VERSION"),
            " webhook"
        ))
        .default_headers(headers)
        .build()
        .map_err(|e| WebhookError::Client(pilot_store::log::describe(&e)))
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
