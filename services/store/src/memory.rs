//! An in-memory [`EventLog`] for unit tests and pure-logic tests: the same contract as the
//! JetStream log (positions from 1, per-chain optimistic concurrency, deduplication by event
//! id, all-or-nothing batches), checked by the same conformance suite. The alert stream
//! ([`crate::alerts::AlertLog`]) is in `alerts`, its durable queues in `delivery`; seals
//! ([`SealLog`]) are a list beside the events.

mod alerts;
mod delivery;

pub use delivery::{MemoryNotification, MemoryQueue};

use crate::log::{chain_key, EventLog, LogError, Outgoing, Stored};
use crate::seals::SealLog;
use bytes::Bytes;
use pilot_events::seal::Seal;
use pilot_events::Subject;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Debug, Default)]
struct Inner {
    messages: Vec<(Uuid, Bytes)>,
    chains: HashMap<Subject, Vec<u64>>,
    quarantine: std::collections::BTreeMap<u64, (String, Bytes)>,
    checkpoints: HashMap<String, Bytes>,
    /// The seals, oldest first, as `PILOT_SEALS` keeps them apart from the events.
    seals: Vec<Seal>,
}

#[derive(Debug)]
pub struct MemoryLog {
    inner: Mutex<Inner>,
    last: watch::Sender<u64>,
    /// What [`EventLog::max_event_bytes`] answers: NATS's default `max_payload` less the
    /// allowance for headers, as the JetStream log computes it, unless a test sets another.
    max_event_bytes: usize,
    /// The alert stream, apart from the event log as `PILOT_ALERTS` is from `PILOT_EVENTS`.
    alerts: Arc<alerts::MemoryAlerts>,
    /// How many times a chain was read: tests show which paths never read the log.
    chain_reads: std::sync::atomic::AtomicU64,
}

impl Default for MemoryLog {
    fn default() -> Self {
        MemoryLog {
            inner: Mutex::default(),
            last: watch::Sender::new(0),
            max_event_bytes: crate::log::event_bytes_within(crate::log::NATS_DEFAULT_MAX_PAYLOAD),
            alerts: Arc::default(),
            chain_reads: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl MemoryLog {
    pub fn new() -> Self {
        MemoryLog::default()
    }

    /// The same log with another limit on one event's size.
    pub fn with_max_event_bytes(mut self, max_event_bytes: usize) -> Self {
        self.max_event_bytes = max_event_bytes;
        self
    }

    /// How many times [`EventLog::read_chain`] was called.
    pub fn chain_reads(&self) -> u64 {
        self.chain_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Notified with the last position after every append, for followers.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.last.subscribe()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, LogError> {
        self.inner
            .lock()
            .map_err(|_| LogError::Unavailable("in-memory log poisoned by a panic".into()))
    }
}

impl EventLog for MemoryLog {
    fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    async fn append(
        &self,
        chain: Subject,
        expected_last: u64,
        events: Vec<Outgoing>,
    ) -> Result<Vec<u64>, LogError> {
        let positions = {
            let mut inner = self.lock()?;
            let found = inner
                .chains
                .get(&chain)
                .and_then(|c| c.last().copied())
                .unwrap_or(0);
            if found != expected_last {
                // A retry of what is already the chain's tail is a success, not a conflict.
                let tail = retried_tail(&inner, chain, &events);
                return tail.ok_or(LogError::Conflict {
                    chain: chain_key(chain),
                    expected: expected_last,
                    found,
                });
            }
            let mut positions = Vec::with_capacity(events.len());
            for event in events {
                inner.messages.push((event.event_id, event.bytes));
                let position = inner.messages.len() as u64;
                inner.chains.entry(chain).or_default().push(position);
                positions.push(position);
            }
            positions
        };
        if let Some(last) = positions.last() {
            self.last.send_replace(*last);
        }
        Ok(positions)
    }

    async fn read_chain(&self, chain: Subject, after: u64) -> Result<Vec<Stored>, LogError> {
        self.chain_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let inner = self.lock()?;
        let positions = inner
            .chains
            .get(&chain)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(positions
            .iter()
            .filter(|p| **p > after)
            .map(|p| stored(&inner, *p))
            .collect())
    }

    async fn read_from(&self, from: u64, max: usize) -> Result<Vec<Stored>, LogError> {
        let inner = self.lock()?;
        let first = from.max(1);
        let last =
            (inner.messages.len() as u64).min(first.saturating_add(max as u64).saturating_sub(1));
        Ok((first..=last).map(|p| stored(&inner, p)).collect())
    }

    async fn last_position(&self) -> Result<u64, LogError> {
        Ok(self.lock()?.messages.len() as u64)
    }

    async fn quarantine(&self, stored: &Stored, reason: &str) -> Result<(), LogError> {
        self.lock()?
            .quarantine
            .insert(stored.position, (reason.to_string(), stored.bytes.clone()));
        Ok(())
    }

    async fn save_checkpoint(&self, name: &str, bytes: Bytes) -> Result<(), LogError> {
        self.lock()?.checkpoints.insert(name.to_string(), bytes);
        Ok(())
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Bytes>, LogError> {
        Ok(self.lock()?.checkpoints.get(name).cloned())
    }

    async fn quarantined(&self) -> Result<Vec<(u64, String, Bytes)>, LogError> {
        let inner = self.lock()?;
        Ok(inner
            .quarantine
            .iter()
            .map(|(p, (r, b))| (*p, r.clone(), b.clone()))
            .collect())
    }
}

impl crate::log::Reachable for MemoryLog {
    fn outage(&self) -> Option<String> {
        None
    }
}

impl SealLog for MemoryLog {
    async fn record_seal(&self, seal: &Seal) -> Result<u64, LogError> {
        let mut inner = self.lock()?;
        inner.seals.push(seal.clone());
        Ok(inner.seals.len() as u64)
    }

    async fn latest_seal(&self) -> Result<Option<Seal>, LogError> {
        Ok(self.lock()?.seals.last().cloned())
    }
}

impl MemoryLog {
    /// Stores a message as a foreign client would: no checks, no chain, straight into the log.
    pub fn append_raw(&self, bytes: Bytes) -> u64 {
        let position = match self.inner.lock() {
            Ok(mut inner) => {
                inner.messages.push((Uuid::nil(), bytes));
                inner.messages.len() as u64
            }
            Err(_) => return 0,
        };
        self.last.send_replace(position);
        position
    }

    /// Stores a foreign message on a chain's subject, as a client with publish rights but no
    /// key could: it takes the subject's last position without being an event of the chain.
    pub fn append_foreign(&self, chain: Subject, bytes: Bytes) -> u64 {
        let position = match self.inner.lock() {
            Ok(mut inner) => {
                inner.messages.push((Uuid::nil(), bytes));
                let position = inner.messages.len() as u64;
                inner.chains.entry(chain).or_default().push(position);
                position
            }
            Err(_) => return 0,
        };
        self.last.send_replace(position);
        position
    }
}

fn stored(inner: &Inner, position: u64) -> Stored {
    let index = (position as usize).checked_sub(1);
    let bytes = index
        .and_then(|i| inner.messages.get(i))
        .map(|(_, b)| b.clone())
        .unwrap_or_default();
    Stored { position, bytes }
}

/// The positions of `events` if they are exactly the chain's last stored events.
fn retried_tail(inner: &Inner, chain: Subject, events: &[Outgoing]) -> Option<Vec<u64>> {
    let positions = inner.chains.get(&chain)?;
    let tail = positions.get(positions.len().checked_sub(events.len())?..)?;
    let id_at = |p: u64| {
        (p as usize)
            .checked_sub(1)
            .and_then(|i| inner.messages.get(i))
            .map(|(id, _)| *id)
    };
    let same = tail
        .iter()
        .zip(events)
        .all(|(p, e)| id_at(*p) == Some(e.event_id));
    (same && !events.is_empty()).then(|| tail.to_vec())
}
