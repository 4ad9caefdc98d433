//! The live projection: one [`World`] shared by the projector (the only writer) and readers,
//! with its stream position published so writers and readers can wait for it.

use crate::checkpoint::CheckpointKey;
use crate::log::Stored;
use pilot_projections::{Applied, ProjectionError, World};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::Duration;
use tokio::sync::watch;

/// A message the projector could not apply: kept on the dead-letter subject with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub position: u64,
    pub reason: String,
}

/// Counters for /metrics and for tests.
#[derive(Debug, Default)]
pub struct Counters {
    pub applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub quarantined: AtomicU64,
}

#[derive(Debug)]
pub struct Projection {
    world: RwLock<World>,
    position: watch::Sender<u64>,
    pub counters: Counters,
    /// Quarantine entries the store did not take yet: their positions are consumed, so they
    /// are kept here and offered again with the next batch rather than lost.
    pending_quarantine: std::sync::Mutex<Vec<(Stored, Quarantined)>>,
    /// Who waits for which position. Each is woken once, when the projection reaches its
    /// position: waking every waiter on every batch would cost thousands of wake-ups per event
    /// with many appends in flight.
    waiters:
        std::sync::Mutex<std::collections::BTreeMap<u64, Vec<tokio::sync::oneshot::Sender<()>>>>,
    /// The key checkpoints of this projection are sealed with; none, none are saved.
    checkpoint_key: std::sync::Mutex<Option<CheckpointKey>>,
    /// The events stream (its creation instant) the projection has read from, so a stream
    /// deleted and recreated under it is noticed rather than read as the same log.
    stream: std::sync::Mutex<Option<String>>,
    /// Why the projection must not be served: the log holds less than it has seen.
    halted: watch::Sender<Option<String>>,
}

impl Projection {
    pub fn new(world: World) -> Self {
        let position = world.position();
        Projection {
            world: RwLock::new(world),
            position: watch::Sender::new(position),
            counters: Counters::default(),
            pending_quarantine: std::sync::Mutex::default(),
            waiters: std::sync::Mutex::default(),
            checkpoint_key: std::sync::Mutex::default(),
            stream: std::sync::Mutex::default(),
            halted: watch::Sender::new(None),
        }
    }

    /// Seal this projection's checkpoints with `key` (see [`crate::checkpoint`]).
    pub fn set_checkpoint_key(&self, key: CheckpointKey) {
        *self
            .checkpoint_key
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(key);
    }

    pub fn checkpoint_key(&self) -> Option<CheckpointKey> {
        self.checkpoint_key
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The events stream (its creation instant) the projection has read from, if known.
    pub fn stream(&self) -> Option<String> {
        self.stream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_stream(&self, stream: String) {
        *self.stream.lock().unwrap_or_else(|p| p.into_inner()) = Some(stream);
    }

    /// Stops serving for good (until a restart): the log no longer holds what the projection
    /// has seen. Readiness reports `reason`; the first reason given is kept.
    pub fn halt(&self, reason: String) {
        self.halted.send_if_modified(|halted| {
            if halted.is_some() {
                return false;
            }
            tracing::error!(message = "The event log holds less than the projections have seen; refusing to serve.", %reason);
            *halted = Some(reason);
            true
        });
    }

    /// Why the projection must not be served, if it must not.
    pub fn halted(&self) -> Option<String> {
        self.halted.borrow().clone()
    }

    /// Changes to [`Projection::halted`].
    pub fn watch_halted(&self) -> watch::Receiver<Option<String>> {
        self.halted.subscribe()
    }

    /// Read access to the projections. Hold it briefly and never across an `.await`.
    pub fn read(&self) -> RwLockReadGuard<'_, World> {
        self.world
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stream position the projections have reached.
    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.position.subscribe()
    }

    /// Waits until the projections have reached `position`; false if `timeout` passed first.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let (wake, woken) = tokio::sync::oneshot::channel();
        {
            let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
            // Checked under the same lock that `publish` takes, so no wake-up is missed.
            if self.position() >= position {
                return true;
            }
            waiters.entry(position).or_default().push(wake);
        }
        matches!(tokio::time::timeout(timeout, woken).await, Ok(Ok(())))
    }

    /// Announces the new position and wakes exactly the waiters it satisfies.
    fn publish(&self, position: u64) {
        let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        self.position.send_replace(position);
        let later = waiters.split_off(&(position + 1));
        for wake in std::mem::replace(&mut *waiters, later)
            .into_values()
            .flatten()
        {
            let _ = wake.send(());
        }
    }

    /// Quarantine entries still to be stored, taken out for another try.
    pub fn take_pending_quarantine(&self) -> Vec<(Stored, Quarantined)> {
        std::mem::take(
            &mut *self
                .pending_quarantine
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// Keeps entries the store refused for now, for the next try.
    pub fn keep_pending_quarantine(&self, entries: Vec<(Stored, Quarantined)>) {
        self.pending_quarantine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(entries);
    }

    /// Gives a restored world one pilot's whole chain (see `World::load_chain`).
    pub fn load_chain(&self, pilot_id: uuid::Uuid, chain: &[Stored]) {
        let mut world = self
            .world
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        world.load_chain(
            pilot_id,
            chain.iter().map(|s| (s.position, s.bytes.as_ref())),
        );
    }

    /// The projections as a checkpoint: the snapshot serialized, and its position.
    pub fn checkpoint(&self) -> Result<(u64, Vec<u8>), serde_json::Error> {
        let snapshot = self.read().snapshot();
        Ok((snapshot.position, serde_json::to_vec(&snapshot)?))
    }

    /// Applies stored messages in order. Messages that do not decode or are refused are
    /// returned for quarantine; they never stop the fold. A gap is returned as an error so
    /// the caller reads the missing messages first.
    pub fn apply(&self, batch: &[Stored]) -> Result<Vec<(Stored, Quarantined)>, ProjectionError> {
        let mut quarantine = Vec::new();
        let mut world = self
            .world
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for stored in batch {
            match world.apply_stored(stored.position, &stored.bytes) {
                Ok(Applied::Applied) => {
                    self.counters.applied.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Applied::Duplicate) => {
                    self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                Err(
                    stop @ (ProjectionError::SequenceGap { .. }
                    | ProjectionError::NeedsChain { .. }),
                ) => {
                    self.publish(world.position());
                    return Err(stop);
                }
                Err(error) => {
                    self.counters.quarantined.fetch_add(1, Ordering::Relaxed);
                    let reason = error.to_string();
                    tracing::warn!(message = "Quarantined a message the projections cannot apply.", position = stored.position, %reason);
                    quarantine.push((
                        stored.clone(),
                        Quarantined {
                            position: stored.position,
                            reason,
                        },
                    ));
                }
            }
        }
        self.publish(world.position());
        Ok(quarantine)
    }
}
