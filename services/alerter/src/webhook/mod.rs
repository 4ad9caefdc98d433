//! The webhook sink: POSTs each recorded notification to one URL, in the order they were
//! recorded, per alert and overall, through the shared delivery machinery ([`crate::sink`]:
//! queue, order, retries, dead letters). See `docs/alert-delivery.md` for the receiver's side.
//!
//! - The body is the stored alert event, byte for byte; `Pilot-Alert-Subject`,
//!   `Idempotency-Key` and `webhook-id` carry its subject, which names one transition of one
//!   alert. With a `secret`, each attempt is signed per the Standard Webhooks scheme.
//! - A 2xx answer is a delivery; anything else (another status, a refused connection, a
//!   timeout) is retried; after `max_attempts` the message is dead-lettered on
//!   `pilot.dead.webhook.<kind>.<alert_id>.<key>`.
//! - A consumer created for the first time starts after the last recorded alert event, unless
//!   `deliver_backlog` is set.
//!
//! - `config`: the `[alerts.webhook]` table: defaults, validation, secrets kept out of logs.
//! - `post`: one attempt: the request, its headers, what counts as delivered.
//! - `sign`: the Standard Webhooks signature headers.

mod config;
mod post;
mod sign;

pub use config::{WebhookConfig, WebhookConfigError, DEFAULT_CONSUMER};
pub use pilot_store::delivery::{
    ALERT_POSITION_HEADER, DEAD_ATTEMPTS_HEADER, DEAD_REASON_HEADER, DEAD_SINK_HEADER,
    DEAD_STATUS_HEADER,
};
pub use post::{dead_letter_subject, IDEMPOTENCY_HEADER, SINK, SUBJECT_HEADER};
pub use sign::{SecretError, Signer, ID_HEADER, SECRET_PREFIX, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use crate::sink::redacted_url;
use config::bearer_header;
use pilot_metrics::Metrics;
use pilot_store::AlertLog;
use post::Post;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Config(#[from] WebhookConfigError),
    #[error("cannot build the webhook's HTTP client: {0}")]
    Client(String),
    #[error("alerts.webhook: {0}")]
    Queue(#[from] crate::sink::QueueError),
}

/// Runs the webhook sink until `shutdown` turns true (or its sender is dropped), then returns
/// `Ok`. Fails only at the start: an invalid configuration, no alert stream, a queue that
/// cannot be opened (see [`crate::sink::run`]).
#[tracing::instrument(name = "webhook", skip_all, fields(consumer = %config.consumer, url = %redacted_url(&config.url)))]
pub async fn run<L: AlertLog>(
    log: Arc<L>,
    config: WebhookConfig,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), WebhookError> {
    config.validate()?;
    let channel = Post {
        client: http_client(&config)?,
        url: config.parsed_url()?,
        signer: config.signer()?,
    };
    crate::sink::run(log, channel, config.settings(), metrics, shutdown).await?;
    Ok(())
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
