//! Checkpoints: every projection at a stream position, so a restart resumes from there
//! instead of replaying the whole log.
//!
//! A snapshot leaves out the chains' stored bytes (as large as the log itself); a restored
//! world loads a pilot's chain from the store when a retraction or a past view needs it
//! ([`World::chains_needed`], [`World::load_chain`]).
//!
//! On the wire a snapshot is binary, so a restart does not parse a text as large as the state:
//! [`MAGIC`], [`SNAPSHOT_FORMAT`] (u32, little-endian), the dedupe index as raw 24-byte records
//! in id order ([`SeenIndex::encode`]: it holds one entry per event ever applied, by far the
//! most numerous part), then everything else as MessagePack with named fields, after its length (u64). MessagePack is
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
pub const SNAPSHOT_FORMAT: u32 = 5;

/// Everything but the dedupe index, as MessagePack.
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
    pilots: Vec<PilotSnapshot>,
    ledger: Vec<(u64, LedgerLine)>,
    retracted: Vec<Uuid>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PilotSnapshot {
    state: PilotState,
    support: PilotSupport,
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
            pilots: pilots
                .into_iter()
                .map(|p| PilotSnapshot {
                    state: p.state.clone(),
                    support: p.support.clone(),
                    last_position: p.history.last_position().unwrap_or(0),
                })
                .collect(),
            ledger: self
                .ledger
                .entries()
                .map(|(position, line)| (position, line.clone()))
                .collect(),
            retracted,
        };
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
        self.seen.encode(out);
        let parts = rmp_serde::to_vec_named(&parts)?;
        out.extend_from_slice(&(parts.len() as u64).to_le_bytes());
        out.extend_from_slice(&parts);
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
        let (parts, rest) = rest
            .split_first_chunk::<8>()
            .and_then(|(len, rest)| {
                let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
                (len <= rest.len()).then(|| rest.split_at(len))
            })
            .ok_or(SnapshotError::Truncated)?;
        // From a slice of known length: a damaged length inside cannot ask for more memory
        // than the slice holds.
        let parts: Parts = rmp_serde::from_slice(parts)?;
        let mut world = World::new();
        world.position = parts.position;
        world.registry = Registry::from_parts(parts.stakeholders, parts.tenures);
        world.jurisdictions = Jurisdictions::from_parts(parts.jurisdictions, parts.contexts);
        world.jurisdiction_chains = parts.jurisdiction_chains.into_iter().collect();
        world.registry_chains = parts.registry_chains.into_iter().collect();
        world.pilots = parts
            .pilots
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
        world.ledger = Ledger::from_entries(parts.ledger);
        world.seen = seen;
        world.retracted = parts.retracted.into_iter().collect();
        Ok((world, rest))
    }

    /// The dedupe index (its size, for benches and metrics).
    pub fn seen_index(&self) -> &SeenIndex {
        &self.seen
    }
}
