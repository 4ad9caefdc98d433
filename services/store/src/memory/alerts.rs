//! [`AlertLog`] in memory: the same contract as `PILOT_ALERTS`, checked by the same suite.
//! A subject is recorded once, ever; positions start at 1; followers and queues wake on
//! every change.

use super::delivery::{MemoryQueue, Queues};
use super::MemoryLog;
use crate::alerts::{AlertLog, AlertMessage, AlertTail, Recorded, ALERT_READ_BATCH};
use crate::delivery::{DeadLetter, QueueConfig};
use crate::layout::is_alert_subject;
use crate::log::{LogError, Stored};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// The alert stream, its queues and its dead letters, shared with the queues and followers
/// (which outlive a borrow of the log).
#[derive(Debug)]
pub(super) struct MemoryAlerts {
    inner: Mutex<AlertsInner>,
    /// Bumped on every change (a record, an ack, a give-back) so waiters look again.
    changed: watch::Sender<u64>,
}

#[derive(Debug, Default)]
pub(super) struct AlertsInner {
    /// Position `p` is `messages[p - 1]`.
    pub(super) messages: Vec<AlertMessage>,
    subjects: HashSet<String>,
    pub(super) queues: Queues,
    dead: Vec<DeadLetter>,
    dead_keys: HashSet<String>,
}

impl Default for MemoryAlerts {
    fn default() -> Self {
        MemoryAlerts {
            inner: Mutex::default(),
            changed: watch::Sender::new(0),
        }
    }
}

impl MemoryAlerts {
    pub(super) fn lock(&self) -> Result<MutexGuard<'_, AlertsInner>, LogError> {
        self.inner
            .lock()
            .map_err(|_| LogError::Unavailable("in-memory alert log poisoned by a panic".into()))
    }

    /// Tells waiters to look again.
    pub(super) fn touch(&self) {
        self.changed.send_modify(|generation| *generation += 1);
    }

    pub(super) fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

impl AlertsInner {
    pub(super) fn stored(&self, position: u64) -> Option<Stored> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.messages.get(index).map(|m| Stored {
            position,
            bytes: m.bytes.clone(),
        })
    }
}

impl AlertLog for MemoryLog {
    type Queue = MemoryQueue;

    async fn record_alerts(&self, messages: &[AlertMessage]) -> Result<Vec<Recorded>, LogError> {
        let mut out = Vec::with_capacity(messages.len());
        let result = {
            let mut inner = self.alerts.lock()?;
            let mut result = Ok(());
            for message in messages {
                if !is_alert_subject(&message.subject) {
                    result = Err(LogError::Refused(format!(
                        "no alert stream takes subject {}",
                        message.subject
                    )));
                    break;
                }
                if !inner.subjects.insert(message.subject.clone()) {
                    out.push(Recorded::AlreadyRecorded);
                    continue;
                }
                inner.messages.push(message.clone());
                out.push(Recorded::Stored {
                    position: inner.messages.len() as u64,
                });
            }
            result
        };
        self.alerts.touch();
        result.map(|()| out)
    }

    async fn read_alerts(&self, from: u64, max: usize) -> Result<Vec<Stored>, LogError> {
        let inner = self.alerts.lock()?;
        let first = from.max(1);
        let count = max.clamp(1, ALERT_READ_BATCH) as u64;
        Ok((first..first.saturating_add(count))
            .map_while(|p| inner.stored(p))
            .collect())
    }

    async fn last_alert_position(&self) -> Result<u64, LogError> {
        Ok(self.alerts.lock()?.messages.len() as u64)
    }

    async fn tail_alerts(&self, from: u64) -> Result<AlertTail, LogError> {
        let alerts = self.alerts.clone();
        let changed = alerts.watch();
        let start = (alerts, changed, from.max(1));
        let tail = futures::stream::unfold(start, |(alerts, mut changed, next)| async move {
            loop {
                if next == u64::MAX {
                    return None;
                }
                changed.borrow_and_update();
                let found = match alerts.lock() {
                    Ok(inner) => inner.stored(next).map(Ok),
                    Err(error) => Some(Err(error)),
                };
                match found {
                    Some(Ok(stored)) => return Some((Ok(stored), (alerts, changed, next + 1))),
                    // A poisoned lock does not heal: report it and end.
                    Some(Err(error)) => return Some((Err(error), (alerts, changed, u64::MAX))),
                    None => {
                        if changed.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            }
        });
        Ok(Box::pin(tail))
    }

    async fn open_queue(&self, config: &QueueConfig) -> Result<MemoryQueue, LogError> {
        MemoryQueue::open(self.alerts.clone(), config)
    }

    async fn dead_letter(&self, letter: &DeadLetter) -> Result<(), LogError> {
        let mut inner = self.alerts.lock()?;
        if inner.dead_keys.insert(letter.dedupe_key()) {
            inner.dead.push(letter.kept());
        }
        Ok(())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, LogError> {
        Ok(self.alerts.lock()?.dead.clone())
    }
}

pub(super) type Shared = Arc<MemoryAlerts>;
