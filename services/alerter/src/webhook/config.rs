//! The `[alerts.webhook]` table: its keys and defaults, [`WebhookConfig::validate`], and the
//! redaction that keeps the URL's credentials and the bearer token out of logs and errors.

use super::sign::{SecretError, Signer};
use crate::sink::keys::{
    default_ack_wait_ms, default_initial_backoff_ms, default_max_attempts, default_max_backoff_ms,
    default_queue, default_timeout_ms, KeyError, Keys,
};
use crate::sink::{redacted_url, Settings};
use serde::Deserialize;
use std::fmt;

/// The durable consumer's default name.
pub const DEFAULT_CONSUMER: &str = "pilot-webhook";

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
/// # secret = "whsec_..."
/// deliver_backlog = false
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
    /// Signs every request per the Standard Webhooks scheme: `whsec_` and base64 of 24 to 64
    /// random bytes (see [`super::sign`]).
    #[serde(default)]
    pub secret: Option<String>,
    /// What a consumer created for the first time delivers: false (the default) starts after
    /// the last alert event recorded, so turning a webhook on does not send years of history;
    /// true delivers every recorded alert event first. An existing consumer keeps its place.
    #[serde(default)]
    pub deliver_backlog: bool,
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
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("deliver_backlog", &self.deliver_backlog)
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
    #[error(transparent)]
    Delivery(#[from] KeyError),
    #[error("alerts.webhook.bearer_token is empty or holds characters a header cannot carry")]
    BearerToken,
    #[error(transparent)]
    Secret(#[from] SecretError),
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
            secret: None,
            deliver_backlog: false,
        }
    }

    /// Checks every key; [`run`](super::run) calls it too.
    pub fn validate(&self) -> Result<(), WebhookConfigError> {
        self.parsed_url()?;
        self.keys().check()?;
        if let Some(token) = &self.bearer_token {
            bearer_header(token)?;
        }
        self.signer()?;
        Ok(())
    }

    pub(super) fn parsed_url(&self) -> Result<reqwest::Url, WebhookConfigError> {
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

    /// The signer for `secret`, if one is configured.
    pub(super) fn signer(&self) -> Result<Option<Signer>, WebhookConfigError> {
        Ok(self
            .secret
            .as_deref()
            .map(Signer::from_secret)
            .transpose()?)
    }

    /// How the sink queues and retries.
    pub(super) fn settings(&self) -> Settings {
        self.keys().settings()
    }

    fn keys(&self) -> Keys<'_> {
        Keys {
            table: "alerts.webhook",
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

pub(super) fn bearer_header(
    token: &str,
) -> Result<reqwest::header::HeaderValue, WebhookConfigError> {
    if token.trim().is_empty() {
        return Err(WebhookConfigError::BearerToken);
    }
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| WebhookConfigError::BearerToken)?;
    value.set_sensitive(true);
    Ok(value)
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
        assert_eq!(config.secret, None);
        assert!(!config.deliver_backlog);
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
                    queue: crate::sink::keys::MAX_QUEUE + 1,
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
            (
                WebhookConfig {
                    secret: Some("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
                    ..base.clone()
                },
                "alerts.webhook.secret",
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
            secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            ..WebhookConfig::new("http://user:pw@hooks.internal/a?token=t0k")
        };
        let debug = format!("{config:?}");
        for secret in ["s3cret", "pw", "t0k", "MfKQ9r8"] {
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
}
