//! Checkpoints: every projection at a stream position, so a restart resumes from there
//! instead of replaying the whole log.
//!
//! A snapshot leaves out the chains' stored bytes (as large as the log itself); a restored
//! world loads a pilot's chain from the store when a retraction or a past view needs it
//! ([`World::chains_needed`], [`World::load_chain`]).

use crate::chain_log::ChainLog;
use crate::jurisdiction::{ContextEntry, Jurisdiction, Jurisdictions};
use crate::ledger::{Ledger, LedgerLine};
use crate::pilot::PilotState;
use crate::registry::{Registry, Stakeholder, Tenure};
use crate::support::PilotSupport;
use crate::world::{PilotRecord, RegistryChain, World};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

/// Bumped whenever the snapshot's shape changes; an older snapshot is ignored (a full
/// replay rebuilds it), never misread.
pub const SNAPSHOT_FORMAT: u32 = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    /// The stream position every projection in this snapshot has reached.
    pub position: u64,
    stakeholders: Vec<Stakeholder>,
    registry_chains: Vec<(Uuid, RegistryChain)>,
    tenures: Vec<Tenure>,
    jurisdictions: Vec<Jurisdiction>,
    contexts: Vec<ContextEntry>,
    jurisdiction_chains: Vec<(Uuid, RegistryChain)>,
    pilots: Vec<PilotSnapshot>,
    ledger: Vec<(u64, LedgerLine)>,
    seen: Vec<(Uuid, u64)>,
    retracted: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PilotSnapshot {
    state: PilotState,
    support: PilotSupport,
    last_position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotError {
    #[error("snapshot format {found} is not this build's format {SNAPSHOT_FORMAT}; replay the log instead")]
    Format { found: u32 },
}

impl World {
    /// The projections as they stand, without the chains' stored bytes.
    pub fn snapshot(&self) -> Snapshot {
        let (jurisdictions, contexts) = self.jurisdictions.parts();
        Snapshot {
            tenures: self.registry.tenures().to_vec(),
            jurisdictions,
            contexts,
            jurisdiction_chains: self
                .jurisdiction_chains
                .iter()
                .map(|(id, chain)| (*id, *chain))
                .collect(),
            format: SNAPSHOT_FORMAT,
            position: self.position,
            stakeholders: self.registry.all().into_iter().cloned().collect(),
            registry_chains: self
                .registry_chains
                .iter()
                .map(|(id, chain)| (*id, *chain))
                .collect(),
            pilots: self
                .pilots
                .values()
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
            seen: self
                .seen
                .iter()
                .map(|(id, position)| (*id, *position))
                .collect(),
            retracted: self.retracted.iter().copied().collect(),
        }
    }

    /// A world at the snapshot's position.
    pub fn restore(snapshot: Snapshot) -> Result<World, SnapshotError> {
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format {
                found: snapshot.format,
            });
        }
        let mut world = World::new().without_chain_bytes();
        world.position = snapshot.position;
        world.registry = Registry::from_parts(snapshot.stakeholders, snapshot.tenures);
        world.jurisdictions = Jurisdictions::from_parts(snapshot.jurisdictions, snapshot.contexts);
        world.jurisdiction_chains = snapshot.jurisdiction_chains.into_iter().collect();
        world.registry_chains = snapshot.registry_chains.into_iter().collect();
        world.pilots = snapshot
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
        world.ledger = Ledger::from_entries(snapshot.ledger);
        world.seen = snapshot.seen.into_iter().collect();
        world.retracted = snapshot.retracted.into_iter().collect();
        Ok(world)
    }
}
