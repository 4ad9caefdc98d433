//! Loading a pilot's chain into a world restored from a checkpoint, for a past view or its
//! event list, or every chain it lacks, for a read over all pilots.

use crate::error::ApiError;
use pilot_projections::{ChainNotLoaded, World};
use pilot_runtime::projection::Projection;
use pilot_store::{LogError, SharedLog};
use std::sync::Arc;
use uuid::Uuid;

/// Loads `pilot_id`'s chain ([`pilot_runtime::projector::ensure_chain`]), as an API error;
/// `keep_all` for a read over every pilot, which must hold them all at once.
pub async fn load(
    log: &SharedLog,
    projection: &Projection,
    pilot_id: Uuid,
    keep_all: bool,
) -> Result<(), ApiError> {
    pilot_runtime::projector::ensure_chain(log, projection, pilot_id, keep_all)
        .await
        .map_err(|error| match error {
            LogError::Refused(reason) => ApiError::internal(reason),
            error => ApiError::store_unavailable(format!(
                "cannot read pilot {pilot_id}'s chain: {error}"
            )),
        })
}

/// Loads every pilot chain the world lacks, all before the caller folds, so a read over all
/// pilots costs one load per chain; none is let go until [`fold_all`] trims the cache after
/// its fold. A chain may still be missing afterwards (a pilot proposed meanwhile, or a chain
/// another read let go): callers fold, and on [`pilot_projections::ChainNotLoaded`] call this
/// again.
async fn load_missing(log: &SharedLog, projection: &Projection) -> Result<(), ApiError> {
    let missing: Vec<Uuid> = {
        let world = projection.read();
        world
            .pilots()
            .map(|record| record.state.pilot_id)
            .filter(|id| !world.chain_loaded(id))
            .collect()
    };
    for id in missing {
        load(log, projection, id, true).await?;
    }
    Ok(())
}

/// How many times a read over all pilots loads missing chains before giving up.
const LOAD_ATTEMPTS: usize = 3;

/// Runs `fold` over a world holding every pilot's chain, for a read over all pilots (a list of
/// past views, the analytics): loads the missing chains, folds off the async workers (under the
/// projection's read lock, which the projector's next write waits for), and loads again if a
/// pilot proposed meanwhile still lacks its chain, or one another read let go. The chains it
/// loaded stay only for its fold: the cache is trimmed to its bound afterwards.
pub async fn fold_all<T, F>(
    log: &SharedLog,
    projection: &Arc<Projection>,
    fold: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: Fn(&World) -> Result<T, ChainNotLoaded> + Send + Sync + 'static,
{
    let fold = Arc::new(fold);
    for _ in 0..LOAD_ATTEMPTS {
        load_missing(log, projection).await?;
        let (held, fold) = (projection.clone(), fold.clone());
        let answer = tokio::task::spawn_blocking(move || fold(&held.read()))
            .await
            .map_err(|error| {
                ApiError::internal(format!("a fold over every pilot failed: {error}"))
            })?;
        if let Ok(folded) = answer {
            projection.trim_chains();
            return Ok(folded);
        }
    }
    Err(ApiError::internal(
        "pilots' chains are still missing after loading them",
    ))
}
