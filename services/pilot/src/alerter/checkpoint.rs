//! The alerter's checkpoint: its world and alert book at a log position, so that a start reads
//! only what came after it rather than the whole log.
//!
//! Kept in the same object store as the projector's checkpoints, under its own name. Two
//! alerters may overwrite each other's: both states are correct at their positions, and a start
//! reads whatever follows the one it finds. Rules are configuration, not state: a restored book
//! takes the rules the process runs with. A checkpoint that cannot be read, whose MAC does not
//! hold under the alerter's checkpoint key, or that the log does not bear out is ignored (the log
//! is replayed from the start, which is always correct); one the log is shorter than stops the
//! alerter from starting ([`Loaded::Halt`]), as it stops the projector
//! ([`pilot_store::checkpoint`]).

use super::rules::AlertRules;
use pilot_projections::snapshot::Snapshot;
use pilot_projections::{AlertBook, World};
use pilot_store::checkpoint::{self, Anchored, CheckpointKey, Verdict};
use pilot_store::LogError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The object the checkpoint is stored as.
pub const CHECKPOINT_NAME: &str = "alerter";
/// How often a running alerter saves, when anything changed; it also saves when it stops.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);
/// The checkpoint's shape; another value is ignored.
const FORMAT: u32 = 1;

#[derive(Deserialize)]
struct Checkpoint {
    format: u32,
    world: Snapshot,
    book: AlertBook,
    /// The alert stream position whose acknowledgements and silences the book holds.
    alert_position: u64,
}

/// The same shape, borrowing the book rather than copying it.
#[derive(Serialize)]
struct Saving<'a> {
    format: u32,
    world: Snapshot,
    book: &'a AlertBook,
    alert_position: u64,
}

/// What a checkpoint restores.
#[derive(Debug)]
pub struct Restored {
    pub world: World,
    pub book: AlertBook,
    /// User actions up to this alert stream position are in the book already.
    pub alert_position: u64,
}

/// What a start finds.
#[derive(Debug)]
pub enum Loaded {
    /// Nothing usable: replay the log from the start.
    Nothing,
    Restored(Restored),
    /// The log holds less than the checkpoint says was seen: do not run.
    Halt(String),
}

/// The world and book of the last checkpoint, under `rules`, proven against `log` and sealed
/// under `key`.
pub async fn load<L: Anchored>(log: &L, rules: &AlertRules, key: &CheckpointKey) -> Loaded {
    let (anchor, bytes) = match checkpoint::load(log, key, CHECKPOINT_NAME).await {
        Verdict::Resume { anchor, body } => (anchor, body),
        Verdict::None => return Loaded::Nothing,
        Verdict::Discard { reason } => {
            tracing::warn!(message = "Discarding the alerter's checkpoint; replaying the log.", %reason);
            return Loaded::Nothing;
        }
        Verdict::Halt { reason } => return Loaded::Halt(reason),
    };
    let checkpoint: Checkpoint = match serde_json::from_slice(&bytes) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            tracing::warn!(message = "The alerter's checkpoint is unreadable; replaying the log.", %error);
            return Loaded::Nothing;
        }
    };
    if checkpoint.format != FORMAT {
        tracing::warn!(
            message = "The alerter's checkpoint has another format; replaying the log.",
            format = checkpoint.format
        );
        return Loaded::Nothing;
    }
    let world = match World::restore(checkpoint.world) {
        Ok(world) => world,
        Err(error) => {
            tracing::warn!(message = "The alerter's checkpoint does not restore; replaying the log.", %error);
            return Loaded::Nothing;
        }
    };
    if world.position() != anchor.position {
        tracing::warn!(
            message =
                "The alerter's checkpoint is not at its anchor's position; replaying the log.",
            position = world.position(),
            anchor = anchor.position
        );
        return Loaded::Nothing;
    }
    let mut book = checkpoint.book;
    book.set_rules(rules.default_rules().clone());
    book.set_overrides(rules.overrides().clone());
    Loaded::Restored(Restored {
        world,
        book,
        alert_position: checkpoint.alert_position,
    })
}

/// Saves `world` and `book`, which holds the user actions up to `alert_position`; returns the
/// event log position saved.
pub async fn save<L: Anchored>(
    log: &L,
    key: &CheckpointKey,
    world: &World,
    book: &AlertBook,
    alert_position: u64,
) -> Result<u64, LogError> {
    let checkpoint = Saving {
        format: FORMAT,
        world: world.snapshot(),
        book,
        alert_position,
    };
    let bytes = serde_json::to_vec(&checkpoint).map_err(|e| {
        LogError::Refused(format!("cannot serialize the alerter's checkpoint: {e}"))
    })?;
    checkpoint::save(log, key, CHECKPOINT_NAME, world.position(), &bytes).await?;
    tracing::info!(
        message = "Saved the alerter's checkpoint.",
        position = world.position()
    );
    Ok(world.position())
}
