//! The projector: rebuilds the projections from the log, then follows it.
//!
//! Correctness rests on stream positions, not on the delivery mechanism: the projection
//! applies each position once, in order; anything it has seen is a duplicate, anything beyond
//! the next position is read from the log first. So a restart from a checkpoint, a redelivery
//! or a consumer that resumes ahead or behind all end in the same state.

use crate::log::{EventLog, LogError, Stored};
use crate::memory::MemoryLog;
use crate::projection::Projection;
use pilot_projections::ProjectionError;
use std::sync::Arc;
use tokio::sync::watch;

/// How many messages one read asks the log for.
pub const READ_BATCH: usize = 512;

/// Applies `batch`, quarantining what cannot be applied; fills a gap from the log first.
pub async fn apply<L: EventLog>(
    log: &L,
    projection: &Projection,
    batch: &[Stored],
) -> Result<(), LogError> {
    let fresh: Vec<Stored> = batch
        .iter()
        .filter(|s| s.position > projection.position())
        .cloned()
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    if fresh[0].position > projection.position() + 1 {
        catch_up_to(log, projection, fresh[0].position - 1).await?;
    }
    match projection.apply(&fresh) {
        Ok(quarantine) => {
            for (stored, entry) in quarantine {
                log.quarantine(&stored, &entry.reason).await?;
            }
            Ok(())
        }
        Err(ProjectionError::SequenceGap { .. }) => {
            // Only reachable if the batch itself skips positions: read them in order instead.
            let last = fresh.last().map_or(0, |s| s.position);
            catch_up_to(log, projection, last).await
        }
        Err(other) => Err(LogError::Refused(other.to_string())),
    }
}

/// Applies everything the log holds beyond the projection's position; returns how many.
pub async fn catch_up<L: EventLog>(log: &L, projection: &Projection) -> Result<u64, LogError> {
    let last = log.last_position().await?;
    let before = projection.position();
    catch_up_to(log, projection, last).await?;
    Ok(projection.position().saturating_sub(before))
}

async fn catch_up_to<L: EventLog>(
    log: &L,
    projection: &Projection,
    last: u64,
) -> Result<(), LogError> {
    while projection.position() < last {
        let from = projection.position() + 1;
        let batch = log
            .read_from(from, READ_BATCH.min((last - from + 1) as usize))
            .await?;
        if batch.is_empty() {
            return Err(LogError::Unavailable(format!(
                "the log ends before position {last}"
            )));
        }
        match projection.apply(&batch) {
            Ok(quarantine) => {
                for (stored, entry) in quarantine {
                    log.quarantine(&stored, &entry.reason).await?;
                }
            }
            Err(error) => return Err(LogError::Refused(error.to_string())),
        }
    }
    Ok(())
}

/// Follows an in-memory log until `shutdown` turns true.
pub async fn follow_memory(
    log: Arc<MemoryLog>,
    projection: Arc<Projection>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), LogError> {
    let mut appended = log.watch();
    loop {
        catch_up(log.as_ref(), &projection).await?;
        tokio::select! {
            changed = appended.changed() => if changed.is_err() { return Ok(()) },
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}
