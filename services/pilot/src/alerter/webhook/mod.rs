//! The webhook sink: POSTs every notification to a URL, in order, with retries.
//!
//! A durable pull consumer on `PILOT_ALERTS` (all of `pilot.alerts.>`, explicit acks, at most
//! `queue` unacknowledged) feeds a bounded in-process queue; one sender takes the messages in
//! stream order and POSTs each, so notifications arrive in the order they were recorded, per
//! alert and overall. See `docs/alert-delivery.md` for the receiver's side.
//!
//! - The body is the stored alert event, byte for byte; `Pilot-Alert-Subject` and
//!   `Idempotency-Key` carry its subject, which names one transition of one alert.
//! - A 2xx answer is a delivery: the message is acknowledged. Anything else (another status, a
//!   refused connection, a timeout) is retried after a backoff that starts at
//!   `initial_backoff_ms` and doubles up to `max_backoff_ms`; after `max_attempts` the message
//!   is dead-lettered on `pilot.dead.webhook.<kind>.<alert_id>.<key>` (stream
//!   `PILOT_DEAD_LETTERS`) with the reason in its headers, acknowledged, and the sink moves on.
//! - Events with `transition.notify` false (acknowledgements, silences, escalations of an
//!   acknowledged alert) are acknowledged without a request; messages that are not alert events
//!   are dead-lettered at once.
//! - Delivery is at least once: a crash (or a lost connection to NATS) between a receiver's 2xx
//!   and the ack sends that notification again on the next start, with the same
//!   `Idempotency-Key`. A graceful stop lets the request in flight finish and acknowledges it.
//!
//! Order survives restarts: messages are released to the sender strictly by stream sequence from
//! the consumer's ack floor, so messages left unacknowledged by a stopped or crashed run (which
//! the server hands out again, possibly after newer ones) still go first.
//!
//! - `config`: the `[alerts.webhook]` table: defaults, validation, secrets kept out of logs.
//! - `fetch`: pulls from the durable consumer into the bounded queue, in stream order.
//! - `order`: stream positions: release by sequence, skip a gap, recognise settled copies.
//! - `deliver`: one notification: POST, retries, backoff, `Retry-After`, dead letter, ack.

mod config;
mod deliver;
mod fetch;
mod order;

pub use config::{WebhookConfig, WebhookConfigError, DEFAULT_CONSUMER, MAX_QUEUE};
pub use deliver::{
    dead_letter_subject, ALERT_POSITION_HEADER, DEAD_ATTEMPTS_HEADER, DEAD_FAILED,
    DEAD_LETTER_PREFIX, DEAD_REASON_HEADER, DEAD_SINK_HEADER, DEAD_STATUS_HEADER, DEAD_UNDECODABLE,
    IDEMPOTENCY_HEADER, SUBJECT_HEADER,
};

use crate::metrics::Metrics;
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Context, Message};
use config::{bearer_header, redacted_url};
use deliver::Sender;
use fetch::Fetcher;
use order::{InOrder, Settled};
use pilot_store::layout::{ALERTS_STREAM, ALERTS_SUBJECTS};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long one pull request waits for messages before the next is sent; also the longest a
/// stop waits for the last one to end.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// The fetcher's pause after a failed pull (the server restarting, a lost connection) ...
const PULL_RETRY_MIN: Duration = Duration::from_millis(100);
/// ... doubling up to this.
const PULL_RETRY_MAX: Duration = Duration::from_secs(5);

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Config(#[from] WebhookConfigError),
    #[error("cannot build the webhook's HTTP client: {0}")]
    Client(String),
    #[error("cannot open stream {stream} for the webhook: {message}")]
    Stream { stream: String, message: String },
    #[error("cannot create or update consumer {consumer} on {stream}: {message} (an existing consumer of that name with another delivery policy must be removed by an operator, or choose another alerts.webhook.consumer)")]
    Consumer {
        consumer: String,
        stream: String,
        message: String,
    },
}

/// Runs the webhook sink until `shutdown` turns true (or its sender is dropped), then returns
/// `Ok`. Fails only at the start: an invalid configuration, no alert stream, a consumer that
/// cannot be created. After that a lost connection or a failing receiver is retried, never
/// returned.
///
/// On shutdown it stops pulling, lets the request in flight finish (at most `timeout_ms`),
/// acknowledges it if it was delivered, and hands every other message it holds back to the
/// server (nak), so the next start sends them first.
#[tracing::instrument(name = "webhook", skip_all, fields(consumer = %config.consumer, url = %redacted_url(&config.url)))]
pub async fn run(
    js: Context,
    config: WebhookConfig,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), WebhookError> {
    config.validate()?;
    let url = config.parsed_url()?;
    let client = http_client(&config)?;
    let stream = js
        .get_stream(ALERTS_STREAM)
        .await
        .map_err(|e| WebhookError::Stream {
            stream: ALERTS_STREAM.to_string(),
            message: e.to_string(),
        })?;
    let consumer: PullConsumer = stream
        .create_consumer(consumer_config(&config))
        .await
        .map_err(|e| WebhookError::Consumer {
            consumer: config.consumer.clone(),
            stream: ALERTS_STREAM.to_string(),
            message: e.to_string(),
        })?;
    let info = consumer.cached_info();
    let next = info.ack_floor.stream_sequence.saturating_add(1);
    tracing::info!(
        message = "Webhook sink started.",
        next_position = next,
        unacknowledged = info.num_ack_pending,
        backlog = info.num_pending
    );
    let order = InOrder::new(next, config.gap_patience());
    let (queue, queued) = mpsc::channel(config.queue);
    let fetcher = Fetcher {
        consumer,
        queue,
        order,
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
        left: Vec::new(),
    };
    let sender = Sender {
        settled: Settled::new(config.queue.saturating_mul(2).saturating_add(16)),
        js,
        client,
        url,
        config,
        metrics: metrics.clone(),
        shutdown,
    };
    let (fetched, queued) = tokio::join!(fetcher.run(), sender.run(queued));
    // Both have stopped and the last pull request has ended, so nothing handed back now can
    // be passed to a request no one reads: the next start gets it at once.
    let mut left: Vec<Message> = queued.into_iter().chain(fetched).collect();
    left.sort_by_key(|m| position(m).unwrap_or(u64::MAX));
    for message in &left {
        give_back(message).await;
    }
    metrics.webhook_queue_reset();
    tracing::info!(message = "Webhook sink stopped.");
    Ok(())
}

fn consumer_config(config: &WebhookConfig) -> pull::Config {
    pull::Config {
        durable_name: Some(config.consumer.clone()),
        description: Some("pilot-tracker webhook sink".to_string()),
        filter_subject: ALERTS_SUBJECTS.to_string(),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait: Duration::from_millis(config.ack_wait_ms),
        max_ack_pending: i64::try_from(config.queue).unwrap_or(i64::MAX),
        ..Default::default()
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
        .map_err(|e| WebhookError::Client(describe(&e)))
}

fn is_stopped(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

fn position(message: &Message) -> Option<u64> {
    message.info().ok().map(|info| info.stream_sequence)
}

/// Hands a message back to the server for redelivery now (nak); best effort (unacknowledged, it
/// comes back after `ack_wait` anyway).
async fn give_back(message: &Message) {
    if let Err(error) = message.ack_with(AckKind::Nak(None)).await {
        tracing::debug!(message = "Could not hand a message back.", %error);
    }
}

/// An error with its sources, `a: b: c`, each said once.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
