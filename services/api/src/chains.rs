//! Loading a pilot's chain into a world restored from a checkpoint, for a past view or its
//! event list, or every chain it lacks, for a read over all pilots.

use crate::error::ApiError;
use pilot_runtime::projection::Projection;
use pilot_store::{LogError, SharedLog};
use uuid::Uuid;

/// Loads `pilot_id`'s chain ([`pilot_runtime::projector::ensure_chain`]), as an API error.
pub async fn load(
    log: &SharedLog,
    projection: &Projection,
    pilot_id: Uuid,
) -> Result<(), ApiError> {
    pilot_runtime::projector::ensure_chain(log, projection, pilot_id)
        .await
        .map_err(|error| match error {
            LogError::Refused(reason) => ApiError::internal(reason),
            error => ApiError::store_unavailable(format!(
                "cannot read pilot {pilot_id}'s chain: {error}"
            )),
        })
}

/// Loads every pilot chain the world lacks, all before the caller folds, so a read over all
/// pilots costs one load per chain. A chain may still be missing afterwards (a pilot proposed
/// meanwhile): callers fold, and on [`pilot_projections::ChainNotLoaded`] call this again.
pub async fn load_missing(log: &SharedLog, projection: &Projection) -> Result<(), ApiError> {
    let missing: Vec<Uuid> = {
        let world = projection.read();
        world
            .pilots()
            .map(|record| record.state.pilot_id)
            .filter(|id| !world.chain_loaded(id))
            .collect()
    };
    for id in missing {
        load(log, projection, id).await?;
    }
    Ok(())
}
