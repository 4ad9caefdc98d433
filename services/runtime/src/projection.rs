//! The live projection: the one fold of a process. One [`World`] and the alerts it implies
//! ([`AlertFold`]), shared by the projector (the only writer of the world), the alert stream's
//! follower, the alerter and every reader, with the stream positions published so writers and
//! readers can wait for them.

use crate::alert_fold::AlertFold;
use crate::checkpoint::CheckpointKey;
use pilot_events::{Decoder, Envelope, EventError};
use pilot_projections::alerting::AlertEvent;
use pilot_projections::snapshot::SnapshotError;
use pilot_projections::{AlertBook, Applied, ProjectionError, World};
use pilot_store::log::Stored;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use tokio::sync::watch;

/// The first bytes of every checkpoint body; a body without them (an older build's JSON) is
/// not restored: the log is replayed instead.
const CHECKPOINT_MAGIC: &[u8; 4] = b"PCB\0";

/// The checkpoint body's shape; another value is not restored (the log is replayed instead).
const CHECKPOINT_FORMAT: u32 = 4;

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
    /// Events applied from the writer's own decoded envelope, not decoded again.
    pub handed_over: AtomicU64,
    pub duplicates: AtomicU64,
    pub quarantined: AtomicU64,
}

/// The world and its alerts, under one lock so the book always matches the world.
#[derive(Debug)]
struct Fold {
    world: World,
    alerts: AlertFold,
}

/// Read access to the fold: derefs to the [`World`]; [`FoldRead::alerts`] for the alerts.
#[derive(Debug)]
pub struct FoldRead<'a>(RwLockReadGuard<'a, Fold>);

impl std::ops::Deref for FoldRead<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        &self.0.world
    }
}

impl FoldRead<'_> {
    pub fn alerts(&self) -> &AlertFold {
        &self.0.alerts
    }
}

/// A checkpoint body's binary layout: [`CHECKPOINT_MAGIC`], [`CHECKPOINT_FORMAT`] (u32,
/// little-endian), the world's snapshot ([`World::snapshot_into`], binary, self-delimiting),
/// then this tail as MessagePack with named fields. The body carries no checksum of its own:
/// the seal's HMAC-SHA256 covers it ([`crate::checkpoint`]), and a body that does not read is
/// refused with an error, never a panic.
#[derive(Deserialize)]
struct BodyTail {
    book: AlertBook,
    actions_applied: u64,
}

/// The same tail, borrowing the book rather than copying it.
#[derive(Serialize)]
struct SavingTail<'a> {
    book: &'a AlertBook,
    actions_applied: u64,
}

/// Why a checkpoint could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("not a checkpoint body of this build (an older build's, or other bytes)")]
    NotABody,
    #[error("checkpoint format {found} is not this build's {CHECKPOINT_FORMAT}")]
    Format { found: u32 },
    #[error("checkpoint world: {0}")]
    World(#[from] SnapshotError),
    #[error("unreadable checkpoint alert book: {0}")]
    Book(#[from] rmp_serde::decode::Error),
    #[error("cannot encode the checkpoint's alert book: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
}

/// What a checkpoint restores.
#[derive(Debug)]
pub struct Restored {
    pub world: World,
    pub book: AlertBook,
    pub actions_applied: u64,
}

/// Reads a checkpoint body saved by [`Projection::checkpoint`].
pub fn restore(body: &[u8]) -> Result<Restored, BodyError> {
    let rest = body
        .strip_prefix(CHECKPOINT_MAGIC)
        .ok_or(BodyError::NotABody)?;
    let (format, rest) = rest.split_first_chunk::<4>().ok_or(BodyError::NotABody)?;
    let found = u32::from_le_bytes(*format);
    if found != CHECKPOINT_FORMAT {
        return Err(BodyError::Format { found });
    }
    let (world, rest) = World::restore_prefix(rest)?;
    let tail: BodyTail = rmp_serde::from_slice(rest)?;
    Ok(Restored {
        world,
        book: tail.book,
        actions_applied: tail.actions_applied,
    })
}

#[derive(Debug)]
pub struct Projection {
    fold: RwLock<Fold>,
    position: watch::Sender<u64>,
    /// The alert stream position folded into [`AlertFold::recorded`].
    alert_position: watch::Sender<u64>,
    /// The position the world was restored at (0: it started from the start of the log).
    resumed_from: u64,
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
    /// The world's decoder, so messages are decoded outside the lock (and on any thread).
    decoder: Decoder,
    /// Events this process's writer is appending, by event id, with the bytes it sent: the
    /// projector takes the writer's decoded envelope for a message with those very bytes
    /// instead of decoding it again ([`Projection::offer`], [`Projection::take_offered`]).
    offered: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, (bytes::Bytes, Envelope)>>,
    /// The key store whose cached keys this process drops as its fold applies each
    /// `subject.erased` ([`Projection::forget_keys_on_erasure`]): every process that holds
    /// keys forgets an erased person's, whichever process recorded the erasure.
    erased_keys: std::sync::Mutex<Option<pilot_store::subject_keys::SubjectKeys>>,
}

/// Events offered to the projector while an append is in flight; dropped, it withdraws what
/// the projector did not take.
#[must_use]
#[derive(Debug)]
pub struct Offer<'a> {
    projection: &'a Projection,
    event_ids: Vec<uuid::Uuid>,
}

impl Drop for Offer<'_> {
    fn drop(&mut self) {
        let mut offered = self.projection.offered();
        for id in &self.event_ids {
            offered.remove(id);
        }
    }
}

/// How many bytes of loaded chains a projection keeps when its world holds state rather than
/// chain bytes ([`World::without_chain_bytes`]): the oldest loads go first beyond it.
pub const CHAIN_CACHE_BYTES: usize = 64 << 20;

impl Projection {
    /// A projection with an empty alert book under the default stall rules.
    pub fn new(world: World) -> Self {
        let book = AlertBook::default();
        Projection::with_book(world, book, 0)
    }

    /// A projection of `world` and `book`, which holds the user actions recorded up to alert
    /// stream position `actions_applied`.
    pub fn with_book(world: World, book: AlertBook, actions_applied: u64) -> Self {
        let position = world.position();
        let decoder = world.decoder().clone();
        Projection {
            fold: RwLock::new(Fold {
                world,
                alerts: AlertFold::new(book, actions_applied),
            }),
            position: watch::Sender::new(position),
            alert_position: watch::Sender::new(0),
            resumed_from: position,
            counters: Counters::default(),
            pending_quarantine: std::sync::Mutex::default(),
            waiters: std::sync::Mutex::default(),
            checkpoint_key: std::sync::Mutex::default(),
            stream: std::sync::Mutex::default(),
            halted: watch::Sender::new(None),
            decoder,
            offered: std::sync::Mutex::default(),
            erased_keys: std::sync::Mutex::default(),
        }
    }

    /// From now on, each `subject.erased` the fold applies drops that person's key from the
    /// cache of `keys` (the process's key store handle), so no copy outlives the erasure here.
    pub fn forget_keys_on_erasure(&self, keys: pilot_store::subject_keys::SubjectKeys) {
        *self
            .erased_keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(keys);
    }

    /// Drops `subject`'s key from the cache named by [`Projection::forget_keys_on_erasure`].
    fn forget_key(&self, subject: uuid::Uuid) {
        let keys = self
            .erased_keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(keys) = keys.as_ref() {
            keys.forget(subject);
            tracing::info!(message = "Forgot an erased person's key.", subject = %subject);
        }
    }

    fn offered(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<uuid::Uuid, (bytes::Bytes, Envelope)>>
    {
        self.offered.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers the events about to be appended, each with the bytes sent, for as long as the
    /// returned guard lives (the append and the wait for the projection to show it).
    pub fn offer<'a>(
        &self,
        events: impl IntoIterator<Item = (&'a Envelope, &'a bytes::Bytes)>,
    ) -> Offer<'_> {
        let mut offered = self.offered();
        let event_ids = events
            .into_iter()
            .map(|(envelope, bytes)| {
                offered.insert(envelope.event_id, (bytes.clone(), envelope.clone()));
                envelope.event_id
            })
            .collect();
        Offer {
            projection: self,
            event_ids,
        }
    }

    /// The writer's envelope for the message stored under `event_id` (its `Nats-Msg-Id`) with
    /// `bytes`, if this process offered one with exactly those bytes; otherwise the caller
    /// decodes. A message with other bytes under the same id is decoded as usual.
    pub fn take_offered(&self, event_id: &str, bytes: &[u8]) -> Option<Envelope> {
        let event_id = uuid::Uuid::try_parse(event_id).ok()?;
        let mut offered = self.offered();
        match offered.get(&event_id) {
            Some((sent, _)) if sent.as_ref() == bytes => {
                self.counters.handed_over.fetch_add(1, Ordering::Relaxed);
                offered.remove(&event_id).map(|(_, envelope)| envelope)
            }
            _ => None,
        }
    }

    /// The decoder of this projection's world: what [`Projection::apply_decoded`] expects its
    /// messages decoded with.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
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
    pub fn read(&self) -> FoldRead<'_> {
        FoldRead(
            self.fold
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    fn write(&self) -> RwLockWriteGuard<'_, Fold> {
        self.fold
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the alerts under the write lock (the alerter: its clock, its outbox). Hold it
    /// briefly and never across an `.await`.
    pub fn with_alerts<T>(&self, change: impl FnOnce(&mut AlertFold) -> T) -> T {
        change(&mut self.write().alerts)
    }

    /// Folds one message of the alert stream ([`AlertFold::apply_recorded`]) and announces
    /// its position. It is decoded before the write lock is taken, so readers of the fold
    /// never wait on JSON; a message that is not an alert event is skipped with a warning (it
    /// still counts as read).
    pub fn apply_recorded_alert(&self, stored: &Stored) {
        match serde_json::from_slice::<AlertEvent>(&stored.bytes) {
            Ok(event) => self.write().alerts.apply_recorded(stored.position, &event),
            Err(error) => tracing::warn!(
                message = "Skipped a message on the alert stream that is not an alert event.",
                position = stored.position,
                %error
            ),
        }
        self.alert_position.send_if_modified(|at| {
            let moved = stored.position > *at;
            *at = (*at).max(stored.position);
            moved
        });
    }

    /// The position the world was restored at from a checkpoint (0: none was used).
    pub fn resumed_from(&self) -> u64 {
        self.resumed_from
    }

    /// The alert stream position folded so far.
    pub fn alert_position(&self) -> u64 {
        *self.alert_position.borrow()
    }

    pub fn subscribe_alerts(&self) -> watch::Receiver<u64> {
        self.alert_position.subscribe()
    }

    /// Waits until the alert stream is folded up to `position`; false if `timeout` passed first.
    pub async fn wait_for_alerts(&self, position: u64, timeout: Duration) -> bool {
        let mut reached = self.alert_position.subscribe();
        tokio::time::timeout(timeout, reached.wait_for(|at| *at >= position))
            .await
            .is_ok_and(|r| r.is_ok())
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
    /// The chains loaded longest ago go first once they hold more than
    /// [`CHAIN_CACHE_BYTES`], unless `keep_all` (a read over every pilot, which trims with
    /// [`Projection::trim_chains`] once it is done).
    pub fn load_chain(&self, pilot_id: uuid::Uuid, chain: &[Stored], keep_all: bool) {
        let mut fold = self.write();
        fold.world.load_chain(
            pilot_id,
            chain.iter().map(|s| (s.position, s.bytes.as_ref())),
        );
        if !keep_all {
            fold.world.trim_chains(CHAIN_CACHE_BYTES);
        }
    }

    /// Lets loaded chains go down to [`CHAIN_CACHE_BYTES`] (see [`World::trim_chains`]).
    pub fn trim_chains(&self) {
        self.write().world.trim_chains(CHAIN_CACHE_BYTES);
    }

    /// The fold as a checkpoint body, and its position; `None` while transitions wait to be
    /// recorded: a start from it would not compute them again, and they would be lost.
    /// The same fold always gives the same bytes.
    pub fn checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, BodyError> {
        let fold = self.read();
        if !fold.alerts().outbox().is_empty() {
            return Ok(None);
        }
        let mut body = Vec::new();
        body.extend_from_slice(CHECKPOINT_MAGIC);
        body.extend_from_slice(&CHECKPOINT_FORMAT.to_le_bytes());
        fold.snapshot_into(&mut body)?;
        let tail = SavingTail {
            book: fold.alerts().book(),
            actions_applied: fold.alerts().actions_applied(),
        };
        rmp_serde::encode::write_named(&mut body, &tail)?;
        Ok(Some((fold.position(), body)))
    }

    /// Applies stored messages in order. Messages that do not decode or are refused are
    /// returned for quarantine; they never stop the fold. A gap is returned as an error so
    /// the caller reads the missing messages first. Decoding happens before the lock is taken.
    pub fn apply(&self, batch: &[Stored]) -> Result<Vec<(Stored, Quarantined)>, ProjectionError> {
        let decoded = batch
            .iter()
            .map(|stored| self.decoder.decode(&stored.bytes))
            .collect();
        self.apply_decoded(batch, decoded)
    }

    /// [`Projection::apply`] for messages already decoded with [`Projection::decoder`]
    /// (`decoded[i]` is `batch[i]`'s): how a rebuild decodes on several cores and folds on one.
    pub fn apply_decoded(
        &self,
        batch: &[Stored],
        decoded: Vec<Result<Envelope, EventError>>,
    ) -> Result<Vec<(Stored, Quarantined)>, ProjectionError> {
        let mut quarantine = Vec::new();
        let mut guard = self.write();
        let fold = &mut *guard;
        let world = &mut fold.world;
        for (stored, decoded) in batch.iter().zip(decoded) {
            let erased = decoded
                .as_ref()
                .ok()
                .filter(|e| matches!(e.event, pilot_events::Event::SubjectErased(_)))
                .and_then(|e| e.subject.stakeholder_id());
            match fold.alerts.book_mut().apply_decoded(
                world,
                stored.position,
                decoded,
                &stored.bytes,
            ) {
                Ok((Applied::Applied, observed)) => {
                    self.counters.applied.fetch_add(1, Ordering::Relaxed);
                    fold.alerts.observed(observed);
                    if let Some(subject) = erased {
                        self.forget_key(subject);
                    }
                }
                Ok((Applied::Duplicate, _)) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use pilot_projections::synthetic::{history_json, Shape};

    const SHAPE: Shape = Shape {
        pilots: 8,
        events_per_pilot: 30,
        stakeholders: 6,
        seed: 3,
    };

    fn folded() -> Projection {
        let projection = Projection::new(World::new());
        let batch: Vec<Stored> = history_json(SHAPE)
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| Stored {
                position: i as u64 + 1,
                bytes: Bytes::from(bytes),
            })
            .collect();
        let quarantined = projection.apply(&batch).unwrap();
        assert!(quarantined.is_empty());
        projection
    }

    fn body(projection: &Projection) -> Vec<u8> {
        projection.checkpoint().unwrap().unwrap().1
    }

    #[test]
    fn a_checkpoint_reads_back_as_the_same_fold_and_the_same_bytes() {
        let projection = folded();
        let bytes = body(&projection);
        let restored = restore(&bytes).unwrap();
        assert_eq!(restored.world.position(), projection.position());
        let again = Projection::with_book(restored.world, restored.book, restored.actions_applied);
        assert_eq!(body(&again), bytes);
        // Another fold of the same log: its maps hold their entries in another order.
        assert_eq!(body(&folded()), bytes);
    }

    #[test]
    fn an_older_or_damaged_body_is_refused_with_a_reason() {
        let bytes = body(&folded());
        let json = br#"{"format":3,"world":{},"book":{},"actions_applied":0}"#;
        assert!(matches!(restore(json), Err(BodyError::NotABody)));
        let mut other = bytes.clone();
        other[4..8].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            restore(&other),
            Err(BodyError::Format { found: 2 })
        ));
        for cut in (0..bytes.len()).step_by(61) {
            let error = restore(&bytes[..cut]).map(|_| ()).unwrap_err();
            assert!(!error.to_string().is_empty());
        }
    }
}
