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

use crate::metrics::Metrics;
use async_nats::header::HeaderMap;
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Context, Message};
use bytes::Bytes;
use futures::StreamExt;
use pilot_projections::alerting::AlertEvent;
use pilot_store::layout::{ALERTS_STREAM, ALERTS_SUBJECTS};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// The durable consumer's default name.
pub const DEFAULT_CONSUMER: &str = "pilot-webhook";
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

/// The largest `queue` accepted.
pub const MAX_QUEUE: usize = 1_000_000;

/// How long one pull request waits for messages before the next is sent; also the longest a
/// stop waits for the last one to end.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// The fetcher's pause after a failed pull (the server restarting, a lost connection) ...
const PULL_RETRY_MIN: Duration = Duration::from_millis(100);
/// ... doubling up to this.
const PULL_RETRY_MAX: Duration = Duration::from_secs(5);
/// Longest dead-letter reason kept in a header.
const MAX_REASON_BYTES: usize = 1024;
/// Longest part of a failed response's body quoted in the reason.
const MAX_BODY_QUOTE: usize = 256;

/// The `[alerts.webhook]` table.
///
/// ```toml
/// [alerts.webhook]
/// url = "http://relay.internal:8080/pilot-alerts"
/// max_attempts = 8
/// initial_backoff_ms = 500
/// max_backoff_ms = 60000
/// timeout_ms = 10000
/// queue = 1000
/// ack_wait_ms = 30000
/// consumer = "pilot-webhook"
/// # bearer_token = "..."
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST: `http://` or `https://` (TLS checked against the system's CA certificates).
    pub url: String,
    /// Requests per notification before it is dead-lettered (>= 1).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each further one.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// The longest wait between attempts.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// One request, from connecting to the end of the response.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Notifications taken from the stream ahead of the one being sent: the in-process queue's
    /// capacity and the consumer's `max_ack_pending`.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// How long the server waits for an acknowledgement before handing a message out again
    /// (after a crash, the longest a notification waits for the next run).
    #[serde(default = "default_ack_wait_ms")]
    pub ack_wait_ms: u64,
    /// The durable consumer's name; it keeps what was delivered across restarts. Give each
    /// webhook its own, and run one sink per name.
    #[serde(default = "default_consumer")]
    pub consumer: String,
    /// Sent as `Authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer_token: Option<String>,
}

fn default_max_attempts() -> u32 {
    8
}
fn default_initial_backoff_ms() -> u64 {
    500
}
fn default_max_backoff_ms() -> u64 {
    60_000
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_queue() -> usize {
    1000
}
fn default_ack_wait_ms() -> u64 {
    30_000
}
fn default_consumer() -> String {
    DEFAULT_CONSUMER.to_string()
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted_url(&self.url))
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff_ms", &self.initial_backoff_ms)
            .field("max_backoff_ms", &self.max_backoff_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("queue", &self.queue)
            .field("ack_wait_ms", &self.ack_wait_ms)
            .field("consumer", &self.consumer)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why an `[alerts.webhook]` table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    #[error("alerts.webhook.url `{url}` is not a URL: {reason}")]
    Url { url: String, reason: String },
    #[error("alerts.webhook.url `{url}`: only http:// and https:// URLs are supported")]
    Scheme { url: String },
    #[error("alerts.webhook.max_attempts must be at least 1")]
    NoAttempts,
    #[error("alerts.webhook.queue must be between 1 and {MAX_QUEUE}, not {0}")]
    Queue(usize),
    #[error("alerts.webhook.timeout_ms must be at least 1")]
    NoTimeout,
    #[error("alerts.webhook.ack_wait_ms must be at least 1")]
    NoAckWait,
    #[error("alerts.webhook.initial_backoff_ms ({initial}) is larger than max_backoff_ms ({max})")]
    Backoff { initial: u64, max: u64 },
    #[error(
        "alerts.webhook.consumer `{0}` is not a consumer name: use letters, digits, `-` and `_`"
    )]
    Consumer(String),
    #[error("alerts.webhook.bearer_token is empty or holds characters a header cannot carry")]
    BearerToken,
}

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

impl WebhookConfig {
    /// A configuration for `url` with every other key at its default.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookConfig {
            url: url.into(),
            max_attempts: default_max_attempts(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            timeout_ms: default_timeout_ms(),
            queue: default_queue(),
            ack_wait_ms: default_ack_wait_ms(),
            consumer: default_consumer(),
            bearer_token: None,
        }
    }

    /// Checks every key; [`run`] calls it too.
    pub fn validate(&self) -> Result<(), WebhookConfigError> {
        self.parsed_url()?;
        if self.max_attempts == 0 {
            return Err(WebhookConfigError::NoAttempts);
        }
        if self.queue == 0 || self.queue > MAX_QUEUE {
            return Err(WebhookConfigError::Queue(self.queue));
        }
        if self.timeout_ms == 0 {
            return Err(WebhookConfigError::NoTimeout);
        }
        if self.ack_wait_ms == 0 {
            return Err(WebhookConfigError::NoAckWait);
        }
        if self.initial_backoff_ms > self.max_backoff_ms {
            return Err(WebhookConfigError::Backoff {
                initial: self.initial_backoff_ms,
                max: self.max_backoff_ms,
            });
        }
        let name_ok = !self.consumer.is_empty()
            && self.consumer.len() <= 64
            && self
                .consumer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(WebhookConfigError::Consumer(self.consumer.clone()));
        }
        if let Some(token) = &self.bearer_token {
            bearer_header(token)?;
        }
        Ok(())
    }

    fn parsed_url(&self) -> Result<reqwest::Url, WebhookConfigError> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| WebhookConfigError::Url {
            url: redacted_url(&self.url),
            reason: e.to_string(),
        })?;
        match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(url),
            "http" | "https" => Err(WebhookConfigError::Url {
                url: redacted_url(&self.url),
                reason: "no host".to_string(),
            }),
            _ => Err(WebhookConfigError::Scheme {
                url: redacted_url(&self.url),
            }),
        }
    }

    fn initial_backoff(&self) -> Duration {
        Duration::from_millis(self.initial_backoff_ms)
    }

    fn max_backoff(&self) -> Duration {
        Duration::from_millis(self.max_backoff_ms)
    }

    /// How long a gap in the stream sequence may hold back later messages: every message left
    /// unacknowledged by an earlier run is handed out again within one `ack_wait`.
    fn gap_patience(&self) -> Duration {
        Duration::from_millis(self.ack_wait_ms.saturating_mul(2)) + PULL_EXPIRES
    }
}

fn bearer_header(token: &str) -> Result<reqwest::header::HeaderValue, WebhookConfigError> {
    if token.trim().is_empty() {
        return Err(WebhookConfigError::BearerToken);
    }
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| WebhookConfigError::BearerToken)?;
    value.set_sensitive(true);
    Ok(value)
}

/// The URL without credentials, query or fragment, for logs and errors.
fn redacted_url(url: &str) -> String {
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

/// Resolves when `shutdown` turns true or its sender is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn is_stopped(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

fn position(message: &Message) -> Option<u64> {
    message.info().ok().map(|info| info.stream_sequence)
}

/// Something with a stream position ([`InOrder`] is tested with plain numbers).
trait Positioned {
    fn position(&self) -> Option<u64>;
}

impl Positioned for Message {
    fn position(&self) -> Option<u64> {
        position(self)
    }
}

/// Hands a message back to the server for redelivery now (nak); best effort (unacknowledged, it
/// comes back after `ack_wait` anyway).
async fn give_back(message: &Message) {
    if let Err(error) = message.ack_with(AckKind::Nak(None)).await {
        tracing::debug!(message = "Could not hand a message back.", %error);
    }
}

/// Pulls from the consumer into the queue, in stream order, while the queue has room.
struct Fetcher {
    consumer: PullConsumer,
    queue: mpsc::Sender<Message>,
    order: InOrder<Message>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
    /// Messages taken but not queued when the sink stopped.
    left: Vec<Message>,
}

impl Fetcher {
    /// Pulls until the sink stops; returns the messages it holds, to be handed back.
    async fn run(mut self) -> Vec<Message> {
        let mut retry = PULL_RETRY_MIN;
        while !is_stopped(&self.shutdown) {
            // Wait for room, then ask for as many as fit.
            let room = tokio::select! {
                permit = self.queue.reserve() => match permit {
                    Ok(permit) => {
                        drop(permit);
                        self.queue.capacity().max(1)
                    }
                    Err(_) => break,
                },
                () = stopped(&mut self.shutdown) => break,
            };
            match self.pull(room).await {
                Ok(true) => retry = PULL_RETRY_MIN,
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(message = "Pulling alert events failed; retrying.", %error, retry_in_ms = retry.as_millis() as u64);
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        () = stopped(&mut self.shutdown) => break,
                    }
                    retry = retry.saturating_mul(2).min(PULL_RETRY_MAX);
                }
            }
        }
        let mut left = std::mem::take(&mut self.left);
        left.extend(self.order.drain());
        left
    }

    /// One pull request for up to `room` messages; false when the sink is stopping.
    async fn pull(&mut self, room: usize) -> Result<bool, String> {
        let mut batch = self
            .consumer
            .batch()
            .max_messages(room)
            .expires(PULL_EXPIRES)
            .messages()
            .await
            .map_err(|e| describe(&e))?;
        loop {
            let patience = tokio::time::sleep_until(self.order.give_up_at().into());
            let next = tokio::select! {
                next = batch.next() => next,
                () = patience, if self.order.is_waiting() => {
                    let released = self.order.skip_gap();
                    if !self.forward(released).await {
                        break;
                    }
                    continue;
                }
                () = stopped(&mut self.shutdown) => break,
            };
            match next {
                None => return Ok(true),
                Some(Err(error)) => return Err(describe(&*error)),
                Some(Ok(message)) => {
                    self.metrics.webhook_queued();
                    let released = self.order.push(message);
                    if !self.forward(released).await {
                        break;
                    }
                }
            }
        }
        // Stopping. The pull request cannot be withdrawn: until it ends (at most PULL_EXPIRES)
        // the server may still send to it, and a message it sends after the subscription is
        // gone would wait out ack_wait. So read it to its end and keep what comes, to hand
        // back once nothing can receive it again.
        let rest = async {
            while let Some(Ok(message)) = batch.next().await {
                self.left.push(message);
            }
        };
        if tokio::time::timeout(PULL_EXPIRES * 2, rest).await.is_err() {
            tracing::debug!(message = "The last pull request did not end in time.");
        }
        Ok(false)
    }

    /// Queues `released` in order; false (keeping the rest to hand back) when stopping.
    async fn forward(&mut self, released: Vec<Message>) -> bool {
        let mut released = released.into_iter();
        while let Some(message) = released.next() {
            let permit = tokio::select! {
                permit = self.queue.reserve() => permit.ok(),
                () = stopped(&mut self.shutdown) => None,
            };
            match permit {
                Some(permit) if !is_stopped(&self.shutdown) => permit.send(message),
                _ => {
                    self.left.push(message);
                    self.left.extend(released);
                    return false;
                }
            }
        }
        true
    }
}

/// Releases messages strictly by stream sequence, from the consumer's ack floor on.
///
/// The sender acknowledges in order, so everything below `next` is settled or queued and
/// everything from `next` on is unacknowledged. After a stop or crash the server may hand out
/// newer messages before it redelivers the ones left unacknowledged; they wait here (at most
/// `queue` of them: the consumer's `max_ack_pending`) until the gap is filled. A gap that never
/// fills (a message acknowledged out of order after a failed ack, say) is skipped after
/// `patience`.
#[derive(Debug)]
struct InOrder<T> {
    next: u64,
    held: BTreeMap<u64, T>,
    waiting_since: Option<Instant>,
    patience: Duration,
}

impl<T: Positioned> InOrder<T> {
    fn new(next: u64, patience: Duration) -> Self {
        InOrder {
            next,
            held: BTreeMap::new(),
            waiting_since: None,
            patience,
        }
    }

    /// Takes a message and returns the ones now due, in order.
    fn push(&mut self, message: T) -> Vec<T> {
        match message.position() {
            // Already released (a redelivered copy) or of unknown position: the sender decides.
            None => return vec![message],
            Some(seq) if seq < self.next => return vec![message],
            Some(seq) => {
                // A second copy of a held message replaces the first: either acks the sequence.
                self.held.insert(seq, message);
            }
        }
        self.release()
    }

    fn release(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(message) = self.held.remove(&self.next) {
            out.push(message);
            self.next += 1;
        }
        if self.held.is_empty() {
            self.waiting_since = None;
        } else if !out.is_empty() || self.waiting_since.is_none() {
            self.waiting_since = Some(Instant::now());
        }
        out
    }

    fn is_waiting(&self) -> bool {
        self.waiting_since.is_some()
    }

    fn give_up_at(&self) -> Instant {
        let now = Instant::now();
        self.waiting_since.map_or(now + self.patience, |since| {
            since.checked_add(self.patience).unwrap_or(now)
        })
    }

    /// Gives up on the missing sequences below the first held message.
    fn skip_gap(&mut self) -> Vec<T> {
        if let Some(&first) = self.held.keys().next() {
            tracing::warn!(
                message = "Stream positions never came back; skipping them.",
                from = self.next,
                to = first - 1
            );
            self.next = first;
        }
        self.release()
    }

    fn drain(&mut self) -> Vec<T> {
        self.waiting_since = None;
        std::mem::take(&mut self.held).into_values().collect()
    }
}

/// The positions this run has settled (acknowledged), the latest `capacity` of them: a
/// redelivered copy of one is acknowledged again and not sent.
#[derive(Debug)]
struct Settled {
    positions: BTreeSet<u64>,
    capacity: usize,
}

impl Settled {
    fn new(capacity: usize) -> Self {
        Settled {
            positions: BTreeSet::new(),
            capacity: capacity.max(1),
        }
    }

    fn contains(&self, position: u64) -> bool {
        self.positions.contains(&position)
    }

    fn insert(&mut self, position: u64) {
        self.positions.insert(position);
        while self.positions.len() > self.capacity {
            self.positions.pop_first();
        }
    }
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
struct Sender {
    js: Context,
    client: reqwest::Client,
    url: reqwest::Url,
    config: WebhookConfig,
    metrics: Arc<Metrics>,
    settled: Settled,
    shutdown: watch::Receiver<bool>,
}

impl Sender {
    /// Settles messages until the sink stops; returns the one abandoned in flight and the
    /// queued ones, to be handed back.
    #[tracing::instrument(name = "webhook_sender", skip_all)]
    async fn run(mut self, mut queued: mpsc::Receiver<Message>) -> Vec<Message> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebhookConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn defaults_fill_everything_but_the_url() {
        let config = parse("url = \"http://127.0.0.1:9/hook\"").unwrap();
        assert_eq!(config.max_attempts, 8);
        assert_eq!(config.initial_backoff_ms, 500);
        assert_eq!(config.max_backoff_ms, 60_000);
        assert_eq!(config.timeout_ms, 10_000);
        assert_eq!(config.queue, 1000);
        assert_eq!(config.ack_wait_ms, 30_000);
        assert_eq!(config.consumer, "pilot-webhook");
        assert_eq!(config.bearer_token, None);
        config.validate().unwrap();
        let new = WebhookConfig::new("http://127.0.0.1:9/hook");
        assert_eq!(format!("{new:?}"), format!("{config:?}"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = parse("url = \"http://x/\"\nretries = 3").unwrap_err();
        assert!(error.to_string().contains("retries"), "{error}");
    }

    #[test]
    fn validation_names_the_key() {
        let base = WebhookConfig::new("http://hooks.internal:8080/alerts");
        base.validate().unwrap();
        let cases: Vec<(WebhookConfig, &str)> = vec![
            (WebhookConfig::new("not a url"), "is not a URL"),
            (WebhookConfig::new("ftp://x/"), "only http://"),
            (
                WebhookConfig {
                    max_attempts: 0,
                    ..base.clone()
                },
                "max_attempts",
            ),
            (
                WebhookConfig {
                    queue: 0,
                    ..base.clone()
                },
                "queue",
            ),
            (
                WebhookConfig {
                    queue: MAX_QUEUE + 1,
                    ..base.clone()
                },
                "queue",
            ),
            (
                WebhookConfig {
                    timeout_ms: 0,
                    ..base.clone()
                },
                "timeout_ms",
            ),
            (
                WebhookConfig {
                    ack_wait_ms: 0,
                    ..base.clone()
                },
                "ack_wait_ms",
            ),
            (
                WebhookConfig {
                    initial_backoff_ms: 10,
                    max_backoff_ms: 5,
                    ..base.clone()
                },
                "max_backoff_ms",
            ),
            (
                WebhookConfig {
                    consumer: "pilot.webhook".into(),
                    ..base.clone()
                },
                "consumer",
            ),
            (
                WebhookConfig {
                    bearer_token: Some("a\nb".into()),
                    ..base.clone()
                },
                "bearer_token",
            ),
            (
                WebhookConfig {
                    bearer_token: Some(" ".into()),
                    ..base.clone()
                },
                "bearer_token",
            ),
        ];
        for (config, needle) in cases {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(needle), "{needle:?} not in {error:?}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let config = WebhookConfig {
            bearer_token: Some("s3cret".into()),
            ..WebhookConfig::new("http://user:pw@hooks.internal/a?token=t0k")
        };
        let debug = format!("{config:?}");
        for secret in ["s3cret", "pw", "t0k"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        WebhookConfig::new("https://user:pw@hooks.internal/a?token=t0k")
            .validate()
            .expect("https is supported");
        let error = WebhookConfig {
            max_attempts: 1,
            ..WebhookConfig::new("ftp://user:pw@hooks.internal/a?token=t0k")
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(!error.contains("pw") && !error.contains("t0k"), "{error}");
    }

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

    impl Positioned for u64 {
        fn position(&self) -> Option<u64> {
            Some(*self)
        }
    }

    #[test]
    fn in_order_releases_by_position_and_holds_newer_ones_back() {
        let mut order = InOrder::new(5, Duration::from_secs(60));
        // Newer messages first (the server hands out new ones before redelivering 5 and 6).
        assert!(order.push(7).is_empty());
        assert!(order.push(8).is_empty());
        assert!(order.is_waiting());
        assert!(order.push(6).is_empty());
        assert_eq!(order.push(5), vec![5, 6, 7, 8]);
        assert!(!order.is_waiting());
        // A copy of something released passes straight through; the sender recognises it.
        assert_eq!(order.push(6), vec![6]);
        assert_eq!(order.push(9), vec![9]);
    }

    #[test]
    fn a_gap_that_never_fills_is_skipped() {
        let mut order = InOrder::new(1, Duration::ZERO);
        assert!(order.push(3).is_empty());
        assert!(order.push(4).is_empty());
        assert!(order.give_up_at() <= Instant::now());
        assert_eq!(order.skip_gap(), vec![3, 4]);
        assert_eq!(order.push(5), vec![5]);
        assert!(order.push(7).is_empty());
        assert_eq!(order.drain(), vec![7]);
        assert!(!order.is_waiting());
    }

    #[test]
    fn settled_keeps_the_latest_positions() {
        let mut settled = Settled::new(2);
        for p in [1, 2, 3] {
            settled.insert(p);
        }
        assert!(!settled.contains(1));
        assert!(settled.contains(2) && settled.contains(3));
    }
}
