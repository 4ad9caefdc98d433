//! The durable queue in memory, with a JetStream durable consumer's semantics: each queue,
//! by name, remembers what it handed out and what was acknowledged for the life of the log;
//! at most `max_unacknowledged` are out at once; one not acknowledged within `ack_wait`, or
//! given back, is handed out again, before anything new.

use super::alerts::{AlertsInner, Shared};
use crate::delivery::{
    Fetched, FirstStart, Notification, NotificationQueue, QueueConfig, QueueStart,
};
use crate::log::LogError;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::time::Instant;

/// Every queue of one log, by name.
pub(super) type Queues = HashMap<String, Cursor>;

/// One queue's memory.
#[derive(Debug)]
pub(super) struct Cursor {
    ack_wait: Duration,
    max_unacknowledged: usize,
    /// The first position never handed out.
    next_new: u64,
    /// Handed out and not acknowledged, by position.
    out: BTreeMap<u64, Out>,
}

#[derive(Debug)]
struct Out {
    /// When it is handed out again unless acknowledged first.
    due: Instant,
    delivered: u64,
}

/// A durable queue of a [`super::MemoryLog`].
#[derive(Debug)]
pub struct MemoryQueue {
    alerts: Shared,
    name: String,
    start: QueueStart,
}

/// One alert event handed out by a [`MemoryQueue`].
#[derive(Debug)]
pub struct MemoryNotification {
    alerts: Shared,
    queue: String,
    position: u64,
    subject: String,
    bytes: Bytes,
    delivered: u64,
}

/// What a queue has for a fetch now.
enum Taken {
    One(u64, String, Bytes, u64),
    /// Nothing now; something falls due again at this instant, if any.
    Wait(Option<Instant>),
}

/// JetStream's rule for durable names, so a name that works here works there.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>'))
}

impl MemoryQueue {
    pub(super) fn open(alerts: Shared, config: &QueueConfig) -> Result<MemoryQueue, LogError> {
        if !valid_name(&config.name) {
            return Err(LogError::Refused(format!(
                "{:?} is not a queue name",
                config.name
            )));
        }
        let start = {
            let mut inner = alerts.lock()?;
            let last = inner.messages.len() as u64;
            let cursor = inner
                .queues
                .entry(config.name.clone())
                .or_insert_with(|| Cursor {
                    ack_wait: config.ack_wait,
                    max_unacknowledged: 1,
                    next_new: match config.first_start {
                        FirstStart::All => 1,
                        FirstStart::New => last + 1,
                    },
                    out: BTreeMap::new(),
                });
            cursor.ack_wait = config.ack_wait;
            cursor.max_unacknowledged = config.max_unacknowledged.max(1);
            QueueStart {
                next: cursor.out.keys().next().copied().unwrap_or(cursor.next_new),
                unacknowledged: cursor.out.len() as u64,
                backlog: (last + 1).saturating_sub(cursor.next_new),
            }
        };
        // A larger limit may let a waiting fetch take more.
        alerts.touch();
        Ok(MemoryQueue {
            alerts,
            name: config.name.clone(),
            start,
        })
    }
}

impl AlertsInner {
    /// Hands out the next notification of queue `name`: one due again first, then a new one.
    fn take(&mut self, name: &str, now: Instant) -> Taken {
        let Some(cursor) = self.queues.get_mut(name) else {
            return Taken::Wait(None);
        };
        let due_again = cursor
            .out
            .iter()
            .filter(|(_, out)| out.due <= now)
            .map(|(position, _)| *position)
            .next();
        let position = match due_again {
            Some(position) => position,
            None if cursor.out.len() < cursor.max_unacknowledged
                && cursor.next_new <= self.messages.len() as u64 =>
            {
                cursor.next_new += 1;
                cursor.next_new - 1
            }
            None => return Taken::Wait(cursor.out.values().map(|out| out.due).min()),
        };
        let out = cursor.out.entry(position).or_insert(Out {
            due: now,
            delivered: 0,
        });
        out.due = now + cursor.ack_wait;
        out.delivered += 1;
        let delivered = out.delivered;
        let index = usize::try_from(position - 1).unwrap_or(usize::MAX);
        match self.messages.get(index) {
            Some(message) => Taken::One(
                position,
                message.subject.clone(),
                message.bytes.clone(),
                delivered,
            ),
            None => Taken::Wait(None),
        }
    }
}

/// A fetch in progress.
struct Fetch {
    alerts: Shared,
    queue: String,
    changed: tokio::sync::watch::Receiver<u64>,
    left: usize,
    deadline: Instant,
}

impl NotificationQueue for MemoryQueue {
    type Notification = MemoryNotification;

    fn start(&self) -> QueueStart {
        self.start
    }

    async fn fetch(
        &mut self,
        max: usize,
        expires: Duration,
    ) -> Result<Fetched<MemoryNotification>, LogError> {
        let fetch = Fetch {
            alerts: self.alerts.clone(),
            queue: self.name.clone(),
            changed: self.alerts.watch(),
            left: max,
            deadline: Instant::now() + expires,
        };
        let stream = futures::stream::unfold(fetch, |mut fetch| async move {
            if fetch.left == 0 {
                return None;
            }
            loop {
                fetch.changed.borrow_and_update();
                let now = Instant::now();
                let taken = fetch
                    .alerts
                    .lock()
                    .map(|mut inner| inner.take(&fetch.queue, now));
                let taken = match taken {
                    Ok(taken) => taken,
                    Err(error) => {
                        fetch.left = 0;
                        return Some((Err(error), fetch));
                    }
                };
                match taken {
                    Taken::One(position, subject, bytes, delivered) => {
                        fetch.left -= 1;
                        let notification = MemoryNotification {
                            alerts: fetch.alerts.clone(),
                            queue: fetch.queue.clone(),
                            position,
                            subject,
                            bytes,
                            delivered,
                        };
                        return Some((Ok(notification), fetch));
                    }
                    Taken::Wait(_) if now >= fetch.deadline => return None,
                    Taken::Wait(due) => {
                        let wake = due.map_or(fetch.deadline, |due| due.min(fetch.deadline));
                        tokio::select! {
                            _ = fetch.changed.changed() => {}
                            () = tokio::time::sleep_until(wake) => {}
                        }
                    }
                }
            }
        });
        Ok(Box::pin(stream))
    }
}

impl MemoryNotification {
    /// Changes this notification's entry in its queue, and wakes waiting fetches.
    fn settle(&self, change: impl FnOnce(&mut BTreeMap<u64, Out>, u64)) -> Result<(), LogError> {
        {
            let mut inner = self.alerts.lock()?;
            if let Some(cursor) = inner.queues.get_mut(&self.queue) {
                change(&mut cursor.out, self.position);
            }
        }
        self.alerts.touch();
        Ok(())
    }
}

impl Notification for MemoryNotification {
    fn subject(&self) -> &str {
        &self.subject
    }

    fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    fn position(&self) -> Option<u64> {
        Some(self.position)
    }

    fn delivered(&self) -> u64 {
        self.delivered
    }

    async fn ack(&self) -> Result<(), LogError> {
        self.settle(|out, position| {
            out.remove(&position);
        })
    }

    async fn give_back(&self) -> Result<(), LogError> {
        let now = Instant::now();
        self.settle(|out, position| {
            if let Some(out) = out.get_mut(&position) {
                out.due = now;
            }
        })
    }
}
