//! Checkpoints: every projection at a stream position, so a restart resumes from there
//! instead of replaying the whole log.
//!
//! A snapshot leaves out the chains' stored bytes (as large as the log itself); a restored
//! world loads a pilot's chain from the store when a retraction or a past view needs it
//! ([`World::chains_needed`], [`World::load_chain`]).
//!
//! On the wire a snapshot is binary, so a restart does not parse a text as large as the state:
//! [`MAGIC`], [`SNAPSHOT_FORMAT`] (u32, little-endian), the dedupe index as raw 24-byte records
//! in the index's own order ([`SeenIndex::encode`]: it holds one entry per event ever applied,
//! by far the most numerous part), then the rest of the world, each pilot and the ledger's
//! lines in runs as MessagePack with named fields, each after its length (u64), so the pilots
//! and the ledger (most of the decoding) are decoded in parallel. MessagePack is
//! self-describing, so the projection types keep their one serde shape (the API's JSON, with
//! its skipped empty fields, flattened and tagged parts) and no mirror types are needed. Every
//! collection is written in a fixed order, so the same world always gives the same bytes.
//!
//! The bytes carry no checksum of their own: a checkpoint's MAC authenticates them
//! (docs/storage.md, "Checkpoints"). What a snapshot refuses is what a MAC cannot tell: another
//! build's format, and bytes that do not read as one (a truncated or foreign body gives an
//! error, never a panic).

use crate::chain_log::ChainLog;
use crate::jurisdiction::{ContextEntry, Jurisdiction, Jurisdictions};
use crate::ledger::{Ledger, LedgerLine};
use crate::pilot::PilotState;
use crate::registry::{Registry, Stakeholder, Tenure};
use crate::seen::{SeenError, SeenIndex};
use crate::support::PilotSupport;
use crate::world::{PilotRecord, RegistryChain, World};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

/// The first bytes of every snapshot: anything else (an older JSON snapshot) is no snapshot.
pub const MAGIC: &[u8; 4] = b"PWS\0";

/// Bumped whenever the snapshot's shape changes; an older snapshot is ignored (a full
/// replay rebuilds it), never misread.
pub const SNAPSHOT_FORMAT: u32 = 6;

/// Ledger lines per frame: enough that framing costs nothing, few enough that a large ledger
/// is decoded on every thread.
const LEDGER_FRAME: usize = 4096;

/// Below this many frames a thread is not worth starting.
const MIN_FRAMES_PER_THREAD: usize = 16;

/// Everything but the dedupe index, the pilots and the ledger, as MessagePack.
#[derive(Debug, Serialize, Deserialize)]
struct Parts {
    /// The stream position every projection in this snapshot has reached.
    position: u64,
    stakeholders: Vec<Stakeholder>,
    registry_chains: Vec<(Uuid, RegistryChain)>,
    tenures: Vec<Tenure>,
    jurisdictions: Vec<Jurisdiction>,
    contexts: Vec<ContextEntry>,
    jurisdiction_chains: Vec<(Uuid, RegistryChain)>,
    retracted: Vec<Uuid>,
}

#[derive(Debug, Deserialize)]
struct PilotSnapshot {
    state: PilotState,
    support: PilotSupport,
    last_position: u64,
}

/// The same shape, borrowing the pilot rather than copying it.
#[derive(Serialize)]
struct SavingPilot<'a> {
    state: &'a PilotState,
    support: &'a PilotSupport,
    last_position: u64,
}

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("not a world snapshot (an older build's, or other bytes); replay the log instead")]
    NotASnapshot,
    #[error("snapshot format {found} is not this build's format {SNAPSHOT_FORMAT}; replay the log instead")]
    Format { found: u32 },
    #[error("unreadable snapshot: {0}")]
    Seen(#[from] SeenError),
    #[error("unreadable snapshot: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("the snapshot is cut short")]
    Truncated,
    #[error("the snapshot has {0} bytes past its end")]
    Trailing(usize),
    #[error("cannot encode the snapshot: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
}

impl World {
    /// The projections as they stand, without the chains' stored bytes: the same world gives
    /// the same bytes, whatever order its maps hold their entries in.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        let mut out = Vec::new();
        self.snapshot_into(&mut out)?;
        Ok(out)
    }

    /// [`World::snapshot`], appended to `out` (a checkpoint body holds more than the world).
    pub fn snapshot_into(&self, out: &mut Vec<u8>) -> Result<(), SnapshotError> {
        let (mut jurisdictions, mut contexts) = self.jurisdictions.parts();
        jurisdictions.sort_by_key(|j| j.jurisdiction_id);
        contexts.sort_by_key(|c| c.event_id);
        let sorted_chains = |chains: &std::collections::HashMap<Uuid, RegistryChain>| {
            let mut chains: Vec<_> = chains.iter().map(|(id, chain)| (*id, *chain)).collect();
            chains.sort_by_key(|(id, _)| *id);
            chains
        };
        let mut pilots: Vec<_> = self.pilots.values().collect();
        pilots.sort_by_key(|p| p.state.pilot_id);
        let mut retracted: Vec<Uuid> = self.retracted.iter().copied().collect();
        retracted.sort_unstable();
        let parts = Parts {
            position: self.position,
            stakeholders: self.registry.all().into_iter().cloned().collect(),
            registry_chains: sorted_chains(&self.registry_chains),
            tenures: self.registry.tenures().to_vec(),
            jurisdictions,
            contexts,
            jurisdiction_chains: sorted_chains(&self.jurisdiction_chains),
            retracted,
        };
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
        self.seen.encode(out);
        write_framed(out, &parts)?;
        out.extend_from_slice(&(pilots.len() as u64).to_le_bytes());
        for p in pilots {
            let pilot = SavingPilot {
                state: &p.state,
                support: &p.support,
                last_position: p.history.last_position().unwrap_or(0),
            };
            write_framed(out, &pilot)?;
        }
        let ledger: Vec<(u64, &LedgerLine)> = self.ledger.entries().collect();
        out.extend_from_slice(&(ledger.chunks(LEDGER_FRAME).len() as u64).to_le_bytes());
        for lines in ledger.chunks(LEDGER_FRAME) {
            write_framed(out, &lines)?;
        }
        Ok(())
    }

    /// A world at the snapshot's position, from all of `bytes`.
    pub fn restore(bytes: &[u8]) -> Result<World, SnapshotError> {
        let (world, rest) = World::restore_prefix(bytes)?;
        match rest.len() {
            0 => Ok(world),
            trailing => Err(SnapshotError::Trailing(trailing)),
        }
    }

    /// A world from the snapshot at the start of `bytes`, and the bytes after it.
    pub fn restore_prefix(bytes: &[u8]) -> Result<(World, &[u8]), SnapshotError> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or(SnapshotError::NotASnapshot)?;
        let (format, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(SnapshotError::NotASnapshot)?;
        let found = u32::from_le_bytes(*format);
        if found != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format { found });
        }
        let (seen, rest) = SeenIndex::decode(rest)?;
        let (parts, rest) = framed(rest)?;
        let parts: Parts = rmp_serde::from_slice(parts)?;
        let (frames, rest) = read_frames(rest)?;
        let pilots: Vec<PilotSnapshot> = decode_all(&frames)?;
        let (frames, rest) = read_frames(rest)?;
        let ledger: Vec<Vec<(u64, LedgerLine)>> = decode_all(&frames)?;
        let mut world = World::new().without_chain_bytes();
        world.position = parts.position;
        world.registry = Registry::from_parts(parts.stakeholders, parts.tenures);
        world.jurisdictions = Jurisdictions::from_parts(parts.jurisdictions, parts.contexts);
        world.jurisdiction_chains = parts.jurisdiction_chains.into_iter().collect();
        world.registry_chains = parts.registry_chains.into_iter().collect();
        world.pilots = pilots
            .into_iter()
            .map(|p| {
                let record = PilotRecord {
                    state: p.state,
                    support: p.support,
                    history: ChainLog::restored(p.last_position),
                };
                (record.state.pilot_id, record)
            })
            .collect();
        world.ledger = Ledger::from_entries(ledger.into_iter().flatten().collect());
        world.seen = seen;
        world.retracted = parts.retracted.into_iter().collect();
        Ok((world, rest))
    }

    /// The dedupe index (its size, for benches and metrics).
    pub fn seen_index(&self) -> &SeenIndex {
        &self.seen
    }
}

/// Appends `value` as MessagePack with named fields, after its length (u64, little-endian).
fn write_framed<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), SnapshotError> {
    let bytes = rmp_serde::to_vec_named(value)?;
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&bytes);
    Ok(())
}

/// The frame [`write_framed`] wrote at the start of `bytes`, and the bytes after it. Each
/// value is read from a slice of known length, so a damaged length inside it cannot ask for
/// more memory than the slice holds.
fn framed(bytes: &[u8]) -> Result<(&[u8], &[u8]), SnapshotError> {
    bytes
        .split_first_chunk::<8>()
        .and_then(|(len, rest)| {
            let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
            (len <= rest.len()).then(|| rest.split_at(len))
        })
        .ok_or(SnapshotError::Truncated)
}

/// A count (u64, little-endian) and that many frames ([`framed`]) at the start of `bytes`, and
/// the bytes after them.
fn read_frames(bytes: &[u8]) -> Result<(Vec<&[u8]>, &[u8]), SnapshotError> {
    let (count, mut rest) = bytes
        .split_first_chunk::<8>()
        .ok_or(SnapshotError::Truncated)?;
    let mut frames = Vec::new();
    for _ in 0..u64::from_le_bytes(*count) {
        let (frame, after) = framed(rest)?;
        frames.push(frame);
        rest = after;
    }
    Ok((frames, rest))
}

/// Decodes independent frames (the pilots, the ledger's runs of lines) on as many threads as
/// the machine offers: they are most of a snapshot's decoding time (every metric value,
/// stakeholder stance and ledger line with its dates).
fn decode_all<T>(frames: &[&[u8]]) -> Result<Vec<T>, SnapshotError>
where
    T: serde::de::DeserializeOwned + Send,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = frames.len().div_ceil(threads).max(MIN_FRAMES_PER_THREAD);
    let decode = |frames: &[&[u8]]| -> Result<Vec<T>, SnapshotError> {
        frames
            .iter()
            .map(|frame| rmp_serde::from_slice(frame).map_err(SnapshotError::from))
            .collect()
    };
    if frames.len() <= chunk {
        return decode(frames);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = frames
            .chunks(chunk)
            .map(|part| scope.spawn(move || decode(part)))
            .collect();
        let mut all = Vec::with_capacity(frames.len());
        for handle in handles {
            // A thread that panicked (it never should: decoding returns errors) is re-raised.
            let part = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            all.extend(part);
        }
        Ok(all)
    })
}
