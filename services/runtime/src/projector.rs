//! The projector: rebuilds the projections from the log (or from a checkpoint), then
//! follows it.
//!
//! Correctness rests on stream positions, not on the delivery mechanism: the projection
//! applies each position once, in order; anything it has seen is a duplicate, anything beyond
//! the next position is read from the log first. So a restart from a checkpoint, a redelivery
//! or a consumer that resumes ahead or behind all end in the same state.

use crate::checkpoint::{self, Anchored, CheckpointKey, Verdict};
use crate::projection::{restore, Projection};
use pilot_projections::{AlertBook, ProjectionError, World};
use pilot_store::log::{EventLog, LogError, Stored};
use pilot_store::memory::MemoryLog;
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

/// How many messages one read asks the log for.
pub const READ_BATCH: usize = 512;

/// Applies `batch`, quarantining what cannot be applied; fills a gap from the log first and
/// loads a chain that a restored world needs.
pub async fn apply<L: EventLog>(
    log: &L,
    projection: &Projection,
    batch: &[Stored],
) -> Result<(), LogError> {
    loop {
        let fresh: Vec<Stored> = batch
            .iter()
            .filter(|s| s.position > projection.position())
            .cloned()
            .collect();
        let Some(first) = fresh.first() else {
            return Ok(());
        };
        if first.position > projection.position() + 1 {
            catch_up_to(log, projection, first.position - 1).await?;
            continue;
        }
        match projection.apply(&fresh) {
            Ok(quarantine) => return quarantine_all(log, projection, quarantine).await,
            Err(ProjectionError::SequenceGap { .. }) => {
                // Only reachable if the batch itself skips positions: read them in order instead.
                let last = fresh.last().map_or(0, |s| s.position);
                return catch_up_to(log, projection, last).await;
            }
            Err(ProjectionError::NeedsChain { pilot_id, .. }) => {
                ensure_chain(log, projection, pilot_id, false).await?;
            }
            Err(other) => return Err(LogError::Refused(other.to_string())),
        }
    }
}

/// [`apply`] for a batch already decoded with the projection's decoder (a rebuild's). A gap
/// or a chain to load falls back to [`apply`], which decodes what is left again.
pub async fn apply_decoded<L: EventLog>(
    log: &L,
    projection: &Projection,
    batch: &[Stored],
    decoded: Vec<Result<pilot_events::Envelope, pilot_events::EventError>>,
) -> Result<(), LogError> {
    match projection.apply_decoded(batch, decoded) {
        Ok(quarantine) => quarantine_all(log, projection, quarantine).await,
        Err(ProjectionError::SequenceGap { .. } | ProjectionError::NeedsChain { .. }) => {
            apply(log, projection, batch).await
        }
        Err(error) => Err(LogError::Refused(error.to_string())),
    }
}

/// Stores quarantine entries, with any left over from an earlier failure; what the store
/// does not take is kept for the next call, so no bad message goes unrecorded.
async fn quarantine_all<L: EventLog>(
    log: &L,
    projection: &Projection,
    entries: Vec<(Stored, crate::projection::Quarantined)>,
) -> Result<(), LogError> {
    let mut pending = projection.take_pending_quarantine();
    pending.extend(entries);
    let mut failed = Vec::new();
    let mut first_error = None;
    for (stored, entry) in pending {
        if let Err(error) = log.quarantine(&stored, &entry.reason).await {
            first_error.get_or_insert(error);
            failed.push((stored, entry));
        }
    }
    projection.keep_pending_quarantine(failed);
    first_error.map_or(Ok(()), Err)
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
            Ok(quarantine) => quarantine_all(log, projection, quarantine).await?,
            Err(ProjectionError::NeedsChain { pilot_id, .. }) => {
                ensure_chain(log, projection, pilot_id, false).await?
            }
            Err(error) => return Err(LogError::Refused(error.to_string())),
        }
    }
    Ok(())
}

/// How often [`ensure_chain`] reads a chain before giving up: a read that raced new appends
/// is read on from where it ended; more would mean the log and the projection disagree.
const CHAIN_READS: usize = 3;

/// Makes sure `projection` holds pilot `pilot_id`'s whole chain, which a world restored from a
/// checkpoint or keeping state rather than chain bytes holds none of until a retraction, a past
/// view or an event list needs it. The one way anything loads a chain (projector, writer,
/// import, reads): `World::load_chain` marks the chain whole only when it holds as many events
/// as the pilot has applied. With `keep_all` the loaded chains are not trimmed to
/// [`crate::projection::CHAIN_CACHE_BYTES`] (a read over every pilot loads them all first).
pub async fn ensure_chain<L: EventLog>(
    log: &L,
    projection: &Projection,
    pilot_id: Uuid,
    keep_all: bool,
) -> Result<(), LogError> {
    let subject = pilot_events::Subject::Pilot(pilot_id);
    let mut chain: Vec<Stored> = Vec::new();
    let mut held = (0, 0);
    for _ in 0..CHAIN_READS {
        let after = chain.last().map_or(0, |s| s.position);
        let more = log.read_chain(subject, after).await?;
        tracing::debug!(message = "Loaded a chain for the world.", %pilot_id, events = more.len());
        chain.extend(more);
        projection.load_chain(pilot_id, &chain, keep_all);
        held = {
            let world = projection.read();
            if world.chain_loaded(&pilot_id) {
                return Ok(());
            }
            world
                .pilot(&pilot_id)
                .map_or((0, 0), |p| (chain.len() as u64, p.state.version))
        };
    }
    Err(LogError::Refused(format!(
        "pilot {pilot_id}'s chain as read from the store holds {} events, but the projection \
         applied {}; a message on its subject may have been quarantined",
        held.0, held.1
    )))
}

/// A projection from the latest checkpoint of projector `name`, proven against `log` and
/// sealed under `key` ([`crate::checkpoint`]); or empty, replaying the log from the start
/// (always correct), when there is none or it cannot be used, with a log line saying why.
/// The alert book takes the rules and overrides of `book` (a restored book keeps its alerts, a
/// rebuilt one starts as `book`). When the log holds less than the
/// checkpoint says this service has seen, the projection is returned halted
/// ([`Projection::halted`]): it is not to be served.
pub async fn open<L: Anchored>(
    log: &L,
    name: &str,
    book: AlertBook,
    key: &CheckpointKey,
) -> Projection {
    let rebuilt = |reason: &str| {
        tracing::info!(message = "Rebuilding the projections from the start of the log.", projector = name, %reason);
        (
            Projection::with_book(World::new().without_chain_bytes(), book.clone(), 0),
            None,
        )
    };
    let (projection, stream) = match checkpoint::load(log, key, name).await {
        Verdict::Resume { anchor, body } => match restore(&body) {
            Ok(restored) if restored.world.position() == anchor.position => {
                tracing::info!(
                    message = "Resuming from a checkpoint.",
                    projector = name,
                    position = restored.world.position()
                );
                let mut restored_book = restored.book;
                restored_book.set_rules(book.rules().clone());
                restored_book.set_overrides(book.overrides().clone());
                let projection =
                    Projection::with_book(restored.world, restored_book, restored.actions_applied);
                (projection, Some(anchor.stream))
            }
            Ok(_) => rebuilt("its position is not its anchor's"),
            Err(reason) => rebuilt(&reason.to_string()),
        },
        Verdict::None => rebuilt("no checkpoint yet"),
        Verdict::Discard { reason } => {
            tracing::warn!(message = "Discarding the checkpoint; rebuilding the projections from the log.", projector = name, %reason);
            rebuilt("the checkpoint was discarded")
        }
        Verdict::Halt { reason } => {
            let projection =
                Projection::with_book(World::new().without_chain_bytes(), book.clone(), 0);
            projection.halt(reason);
            (projection, None)
        }
    };
    let stream = match stream {
        Some(stream) => Some(stream),
        None => log.stream_state().await.ok().map(|(stream, _)| stream),
    };
    if let Some(stream) = stream {
        projection.set_stream(stream);
    }
    projection.set_checkpoint_key(key.clone());
    projection
}

/// Saves a sealed checkpoint of `projection` as projector `name`; returns its position, or
/// `None` when there is nothing to save yet (alert transitions wait to be recorded). A halted
/// projection, or one without a key, saves nothing.
pub async fn save_checkpoint<L: Anchored>(
    log: &L,
    name: &str,
    projection: &Projection,
) -> Result<Option<u64>, LogError> {
    if let Some(reason) = projection.halted() {
        return Err(LogError::Refused(format!(
            "no checkpoint is saved while halted: {reason}"
        )));
    }
    let key = projection
        .checkpoint_key()
        .ok_or_else(|| LogError::Refused("the projection has no checkpoint key".into()))?;
    let Some((position, bytes)) = projection
        .checkpoint()
        .map_err(|e| LogError::Refused(format!("cannot serialize a checkpoint: {e}")))?
    else {
        return Ok(None);
    };
    // Never anchor what was read from one stream to another that replaced it meanwhile.
    if let Some(stream) = projection.stream() {
        if let Some(reason) = checkpoint::behind(log, &stream, position).await? {
            projection.halt(reason.clone());
            return Err(LogError::Refused(reason));
        }
    }
    checkpoint::save(log, &key, name, position, &bytes).await?;
    tracing::info!(message = "Saved a checkpoint.", projector = name, position);
    Ok(Some(position))
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
