//! The keys every sink's table has (`[alerts.webhook]`, `[alerts.email]`): how it queues and
//! retries. Their defaults and their checks are here once; each table lists the keys itself
//! (TOML tables cannot share fields and still refuse unknown keys).

use super::Settings;
use pilot_store::delivery::FirstStart;
use std::time::Duration;

/// The largest `queue` accepted.
pub const MAX_QUEUE: usize = 1_000_000;

pub(crate) fn default_max_attempts() -> u32 {
    8
}
pub(crate) fn default_initial_backoff_ms() -> u64 {
    500
}
pub(crate) fn default_max_backoff_ms() -> u64 {
    60_000
}
pub(crate) fn default_timeout_ms() -> u64 {
    10_000
}
pub(crate) fn default_queue() -> usize {
    1000
}
pub(crate) fn default_ack_wait_ms() -> u64 {
    30_000
}

/// The delivery keys of one table, as read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys<'a> {
    pub table: &'static str,
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub timeout_ms: u64,
    pub queue: usize,
    pub ack_wait_ms: u64,
    pub consumer: &'a str,
    pub deliver_backlog: bool,
}

/// Why a delivery key was refused; the text names the table and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{0}.max_attempts must be at least 1")]
    NoAttempts(&'static str),
    #[error("{table}.queue must be between 1 and {MAX_QUEUE}, not {queue}")]
    Queue { table: &'static str, queue: usize },
    #[error("{0}.timeout_ms must be at least 1")]
    NoTimeout(&'static str),
    #[error("{0}.ack_wait_ms must be at least 1")]
    NoAckWait(&'static str),
    #[error("{table}.initial_backoff_ms ({initial}) is larger than max_backoff_ms ({max})")]
    Backoff {
        table: &'static str,
        initial: u64,
        max: u64,
    },
    #[error(
        "{table}.consumer `{consumer}` is not a consumer name: use letters, digits, `-` and `_`"
    )]
    Consumer {
        table: &'static str,
        consumer: String,
    },
}

impl Keys<'_> {
    pub(crate) fn check(&self) -> Result<(), KeyError> {
        let table = self.table;
        if self.max_attempts == 0 {
            return Err(KeyError::NoAttempts(table));
        }
        if self.queue == 0 || self.queue > MAX_QUEUE {
            return Err(KeyError::Queue {
                table,
                queue: self.queue,
            });
        }
        if self.timeout_ms == 0 {
            return Err(KeyError::NoTimeout(table));
        }
        if self.ack_wait_ms == 0 {
            return Err(KeyError::NoAckWait(table));
        }
        if self.initial_backoff_ms > self.max_backoff_ms {
            return Err(KeyError::Backoff {
                table,
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
            return Err(KeyError::Consumer {
                table,
                consumer: self.consumer.to_string(),
            });
        }
        Ok(())
    }

    pub(crate) fn settings(&self) -> Settings {
        Settings {
            max_attempts: self.max_attempts,
            initial_backoff: Duration::from_millis(self.initial_backoff_ms),
            max_backoff: Duration::from_millis(self.max_backoff_ms),
            queue: self.queue,
            ack_wait: Duration::from_millis(self.ack_wait_ms),
            consumer: self.consumer.to_string(),
            first_start: if self.deliver_backlog {
                FirstStart::All
            } else {
                FirstStart::New
            },
        }
    }
}
