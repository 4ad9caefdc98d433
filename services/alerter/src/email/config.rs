//! The `[alerts.email]` table: the SMTP server, the sender, the recipients and their
//! languages, and the delivery keys every sink has (`crate::sink::keys`). Credentials in the
//! URL stay out of logs and errors.

use super::compose::Language;
use crate::sink::keys::{
    default_ack_wait_ms, default_initial_backoff_ms, default_max_attempts, default_max_backoff_ms,
    default_queue, default_timeout_ms, KeyError, Keys,
};
use crate::sink::{redacted_url, Settings};
use lettre::message::Mailbox;
use serde::Deserialize;
use std::fmt;

/// The durable consumer's default name.
pub const DEFAULT_CONSUMER: &str = "pilot-email";

/// The most recipients one table may name.
pub const MAX_RECIPIENTS: usize = 100;

/// The `[alerts.email]` table.
///
/// ```toml
/// [alerts.email]
/// smtp_url = "smtps://alerts:secret@smtp.example.gov"   # or smtp://host:25?tls=required
/// from = "Pilot tracker <pilot-alerts@example.gov>"
/// to = ["duty-office@example.gov", { address = "li.wei@example.gov", language = "zh-CN" }]
/// language = "en"
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The SMTP server, as lettre reads it: `smtps://host[:port]` (TLS from the start),
    /// `smtp://host[:port]?tls=required` (STARTTLS), or `smtp://host[:port]` (unencrypted, for
    /// a relay on the same host), with `user:password@` to log in. TLS is checked against the
    /// system's CA certificates.
    pub smtp_url: String,
    /// The sender, `address` or `Name <address>`.
    pub from: String,
    /// The recipients: an address (in `language`), or `{ address, language }`.
    pub to: Vec<Recipient>,
    /// The language of recipients that name none: `en` or `zh-CN`.
    #[serde(default = "default_language")]
    pub language: Language,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// One SMTP conversation, from connecting to the server's last reply.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_queue")]
    pub queue: usize,
    #[serde(default = "default_ack_wait_ms")]
    pub ack_wait_ms: u64,
    #[serde(default = "default_consumer")]
    pub consumer: String,
    /// As for the webhook: false starts a new consumer after the last recorded alert event.
    #[serde(default)]
    pub deliver_backlog: bool,
}

/// One recipient.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Recipient {
    /// An address, written in the table's `language`.
    Address(String),
    /// An address with its own language.
    WithLanguage { address: String, language: Language },
}

impl Recipient {
    pub fn address(&self) -> &str {
        match self {
            Recipient::Address(address) | Recipient::WithLanguage { address, .. } => address,
        }
    }

    pub fn language(&self, default: Language) -> Language {
        match self {
            Recipient::Address(_) => default,
            Recipient::WithLanguage { language, .. } => *language,
        }
    }
}

fn default_language() -> Language {
    Language::En
}
fn default_consumer() -> String {
    DEFAULT_CONSUMER.to_string()
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("smtp_url", &redacted_url(&self.smtp_url))
            .field("from", &self.from)
            .field("to", &self.to)
            .field("language", &self.language)
            .field("max_attempts", &self.max_attempts)
            .field("consumer", &self.consumer)
            .field("deliver_backlog", &self.deliver_backlog)
            .finish_non_exhaustive()
    }
}

/// Why an `[alerts.email]` table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailConfigError {
    #[error("alerts.email.smtp_url `{url}` is not an SMTP URL: {reason} (write smtps://host:port, smtp://host:port?tls=required or smtp://host:port, with user:password@ to log in)")]
    Url { url: String, reason: String },
    #[error("alerts.email.from `{0}` is not a mailbox: write an address, or Name <address>")]
    From(String),
    #[error("alerts.email.to `{0}` is not an address")]
    To(String),
    #[error("alerts.email.to names nobody: list at least one address")]
    NoRecipients,
    #[error("alerts.email.to names {0} recipients; at most {MAX_RECIPIENTS} (use a mailing list)")]
    TooManyRecipients(usize),
    #[error(transparent)]
    Delivery(#[from] KeyError),
}

impl EmailConfig {
    /// A configuration with every optional key at its default.
    pub fn new(smtp_url: impl Into<String>, from: impl Into<String>, to: Vec<Recipient>) -> Self {
        EmailConfig {
            smtp_url: smtp_url.into(),
            from: from.into(),
            to,
            language: default_language(),
            max_attempts: default_max_attempts(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            timeout_ms: default_timeout_ms(),
            queue: default_queue(),
            ack_wait_ms: default_ack_wait_ms(),
            consumer: default_consumer(),
            deliver_backlog: false,
        }
    }

    /// Checks every key; [`run`](super::run) calls it too.
    pub fn validate(&self) -> Result<(), EmailConfigError> {
        self.transport_builder()?;
        self.sender()?;
        self.recipients()?;
        self.keys().check()?;
        Ok(())
    }

    pub(super) fn transport_builder(
        &self,
    ) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder, EmailConfigError> {
        let url_error = |reason: String| EmailConfigError::Url {
            url: redacted_url(&self.smtp_url),
            reason,
        };
        if !(self.smtp_url.starts_with("smtp://") || self.smtp_url.starts_with("smtps://")) {
            return Err(url_error(
                "the scheme is neither smtp:// nor smtps://".into(),
            ));
        }
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&self.smtp_url)
            .map_err(|e| url_error(e.to_string()))
    }

    pub(super) fn sender(&self) -> Result<Mailbox, EmailConfigError> {
        self.from
            .parse()
            .map_err(|_| EmailConfigError::From(self.from.clone()))
    }

    /// The recipients with their languages, in the order listed.
    pub(super) fn recipients(&self) -> Result<Vec<(Mailbox, Language)>, EmailConfigError> {
        if self.to.is_empty() {
            return Err(EmailConfigError::NoRecipients);
        }
        if self.to.len() > MAX_RECIPIENTS {
            return Err(EmailConfigError::TooManyRecipients(self.to.len()));
        }
        self.to
            .iter()
            .map(|r| {
                let mailbox: Mailbox = r
                    .address()
                    .parse()
                    .map_err(|_| EmailConfigError::To(r.address().to_string()))?;
                Ok((mailbox, r.language(self.language)))
            })
            .collect()
    }

    pub(super) fn settings(&self) -> Settings {
        self.keys().settings()
    }

    fn keys(&self) -> Keys<'_> {
        Keys {
            table: "alerts.email",
            max_attempts: self.max_attempts,
            initial_backoff_ms: self.initial_backoff_ms,
            max_backoff_ms: self.max_backoff_ms,
            timeout_ms: self.timeout_ms,
            queue: self.queue,
            ack_wait_ms: self.ack_wait_ms,
            consumer: &self.consumer,
            deliver_backlog: self.deliver_backlog,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_reads_with_defaults_and_per_recipient_languages() {
        let config: EmailConfig = toml::from_str(
            r#"
            smtp_url = "smtp://127.0.0.1:2525"
            from = "Pilot tracker <alerts@example.gov>"
            to = ["duty@example.gov", { address = "li@example.gov", language = "zh-CN" }]
            "#,
        )
        .unwrap();
        config.validate().unwrap();
        let recipients = config.recipients().unwrap();
        assert_eq!(recipients[0].1, Language::En);
        assert_eq!(recipients[1].1, Language::ZhCn);
        assert_eq!(config.consumer, "pilot-email");
        assert!(!config.deliver_backlog);
    }

    #[test]
    fn bad_keys_are_named_and_passwords_stay_out() {
        let ok = EmailConfig::new(
            "smtp://127.0.0.1:25",
            "alerts@example.gov",
            vec![Recipient::Address("duty@example.gov".into())],
        );
        ok.validate().unwrap();
        let cases = [
            (
                EmailConfig {
                    smtp_url: "http://user:pw@mail".into(),
                    ..ok.clone()
                },
                "alerts.email.smtp_url",
            ),
            (
                EmailConfig {
                    from: "not a mailbox".into(),
                    ..ok.clone()
                },
                "alerts.email.from",
            ),
            (
                EmailConfig {
                    to: vec![Recipient::Address("nobody".into())],
                    ..ok.clone()
                },
                "alerts.email.to",
            ),
            (
                EmailConfig {
                    to: vec![],
                    ..ok.clone()
                },
                "alerts.email.to",
            ),
            (
                EmailConfig {
                    max_attempts: 0,
                    ..ok.clone()
                },
                "alerts.email.max_attempts",
            ),
        ];
        for (config, needle) in cases {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(needle), "{needle} not in {error}");
            assert!(!error.contains("pw"), "{error}");
        }
        let unknown = toml::from_str::<EmailConfig>(
            "smtp_url = \"smtp://x\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nlangauge = \"en\"",
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("langauge"), "{unknown}");
        let language = toml::from_str::<EmailConfig>(
            "smtp_url = \"smtp://x\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nlanguage = \"fr\"",
        )
        .unwrap_err();
        assert!(language.to_string().contains("zh-CN"), "{language}");
        let debug = format!(
            "{:?}",
            EmailConfig {
                smtp_url: "smtps://user:s3cret@mail.example.gov".into(),
                ..ok
            }
        );
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
