//! The e-mail sink: one message per alert transition that notifies, to the configured
//! recipients, each in their language, over SMTP, through the shared delivery machinery
//! ([`crate::sink`]: queue, order, retries, dead letters on `pilot.dead.email.…`). See
//! `docs/alert-delivery.md`.
//!
//! Recipients who share a language get one message together; a transition is one message per
//! language. A message is delivered when the server accepted it for every recipient; a
//! failure retries the whole transition, so after a partial failure some recipients may get
//! it twice (with the same `Message-ID`, which mail clients use to drop the copy).
//!
//! - `config`: the `[alerts.email]` table.
//! - `compose`: what a message says, from the Fluent catalogues in `locales/`.

mod compose;
mod config;

pub use compose::{compose, Language, Letter};
pub use config::{EmailConfig, EmailConfigError, Recipient, DEFAULT_CONSUMER, MAX_RECIPIENTS};

use crate::sink::redacted_url;
use crate::sink::{Channel, Failure};
use bytes::Bytes;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pilot_metrics::{Metrics, SinkMetrics};
use pilot_projections::alerting::AlertEvent;
use pilot_store::AlertLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The sink's name on its dead letters: `pilot.dead.email.<kind>.<alert_id>.<key>`.
pub const SINK: &str = "email";

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Config(#[from] EmailConfigError),
    #[error("alerts.email: {0}")]
    Queue(#[from] crate::sink::QueueError),
}

/// Runs the e-mail sink until `shutdown` turns true (or its sender is dropped), then returns
/// `Ok`. Fails only at the start (see [`crate::sink::run`]).
#[tracing::instrument(name = "email", skip_all, fields(consumer = %config.consumer, smtp = %redacted_url(&config.smtp_url)))]
pub async fn run<L: AlertLog>(
    log: Arc<L>,
    config: EmailConfig,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), EmailError> {
    config.validate()?;
    let transport = config
        .transport_builder()?
        .timeout(Some(Duration::from_millis(config.timeout_ms)))
        .build();
    let channel = Smtp {
        transport,
        from: config.sender()?,
        groups: by_language(config.recipients()?),
    };
    crate::sink::run(log, channel, config.settings(), metrics, shutdown).await?;
    Ok(())
}

/// The recipients grouped by language, languages in the order they first appear.
fn by_language(recipients: Vec<(Mailbox, Language)>) -> Vec<(Language, Vec<Mailbox>)> {
    let mut groups: Vec<(Language, Vec<Mailbox>)> = Vec::new();
    for (mailbox, language) in recipients {
        match groups.iter_mut().find(|(l, _)| *l == language) {
            Some((_, mailboxes)) => mailboxes.push(mailbox),
            None => groups.push((language, vec![mailbox])),
        }
    }
    groups
}

/// Sends over one SMTP server.
struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    groups: Vec<(Language, Vec<Mailbox>)>,
}

impl Channel for Smtp {
    const NAME: &'static str = SINK;

    async fn send(&self, subject: &str, event: &AlertEvent, _bytes: &Bytes) -> Result<(), Failure> {
        for (language, mailboxes) in &self.groups {
            let letter = compose(event, subject, *language);
            let mut builder = Message::builder()
                .from(self.from.clone())
                .subject(letter.subject)
                // The same on every attempt, so a copy sent twice is recognised.
                .message_id(Some(format!(
                    "<{subject}.{}@pilot-tracker>",
                    language.tag()
                )))
                .header(ContentType::TEXT_PLAIN);
            for mailbox in mailboxes {
                builder = builder.to(mailbox.clone());
            }
            let message = builder.body(letter.body).map_err(|e| Failure {
                reason: format!("the message could not be built: {e}"),
                status: None,
                retry_after: None,
            })?;
            self.transport.send(message).await.map_err(|e| Failure {
                reason: format!("SMTP: {e}"),
                status: e.status().and_then(|code| code.to_string().parse().ok()),
                retry_after: None,
            })?;
        }
        Ok(())
    }

    fn figures(metrics: &Metrics) -> &SinkMetrics {
        metrics.email()
    }
}
