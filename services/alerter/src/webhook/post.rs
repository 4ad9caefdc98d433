//! The webhook's [`Channel`]: one POST of the stored alert event, signed when a secret is
//! configured; a 2xx is a delivery, anything else a failure (a 429 or 503's `Retry-After` is
//! passed on).

use super::sign::{Signer, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::sink::{Channel, Failure};
use bytes::Bytes;
use pilot_metrics::{Metrics, SinkMetrics};
use pilot_projections::alerting::AlertEvent;
use pilot_store::delivery;
use pilot_store::log::describe;
use std::time::Duration;

/// The sink's name on its dead letters: `pilot.dead.webhook.<kind>.<alert_id>.<key>`.
pub const SINK: &str = "webhook";

/// HTTP request header: the alert event's subject, `pilot.alerts.<kind>.<alert_id>.<key>` (the
/// same name its dead letter carries it under).
pub const SUBJECT_HEADER: &str = delivery::ALERT_SUBJECT_HEADER;
/// HTTP request header: the same subject, for receivers that drop repeats by key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Longest part of a failed response's body quoted in the reason.
const MAX_BODY_QUOTE: usize = 256;

/// The dead-letter subject for an alert subject: `pilot.alerts.fired.<id>.1` →
/// `pilot.dead.webhook.fired.<id>.1`.
pub fn dead_letter_subject(alert_subject: &str) -> String {
    pilot_store::layout::dead_letter_subject(SINK, alert_subject)
}

/// POSTs to one URL.
pub(super) struct Post {
    pub(super) client: reqwest::Client,
    pub(super) url: reqwest::Url,
    /// Signs each attempt, when a `secret` is configured.
    pub(super) signer: Option<Signer>,
}

impl Channel for Post {
    const NAME: &'static str = SINK;

    /// One request. Runs to its end (at most `timeout_ms`) even when the sink is stopping.
    async fn send(&self, subject: &str, _event: &AlertEvent, body: &Bytes) -> Result<(), Failure> {
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

    fn figures(metrics: &Metrics) -> &SinkMetrics {
        metrics.webhook()
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
