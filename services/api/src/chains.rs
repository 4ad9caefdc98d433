//! Loading a pilot's chain into a world restored from a checkpoint, for a past view or its
//! event list.
//!
//! `World::load_chain` keeps events the projector applied after the chain was read, and marks
//! the chain whole only when it holds as many events as the pilot has applied; a load that
//! raced the log is simply read again.

use crate::error::ApiError;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::projection::Projection;
use uuid::Uuid;

/// Reads this many times at most before giving up.
const ATTEMPTS: usize = 3;

/// Loads `pilot_id`'s chain and checks that the projection now holds all of it.
pub async fn load(
    log: &JetStreamLog,
    projection: &Projection,
    pilot_id: Uuid,
) -> Result<(), ApiError> {
    let mut held = (0, 0);
    for _ in 0..ATTEMPTS {
        pilot_store::projector::load_chain(log, projection, pilot_id)
            .await
            .map_err(|error| {
                ApiError::store_unavailable(format!(
                    "cannot read pilot {pilot_id}'s chain: {error}"
                ))
            })?;
        held = {
            let world = projection.read();
            if world.chain_loaded(&pilot_id) {
                return Ok(());
            }
            world
                .pilot(&pilot_id)
                .map_or((0, 0), |p| (p.history.len() as u64, p.state.version))
        };
    }
    Err(ApiError::internal(format!(
        "pilot {pilot_id}'s chain as read from the store holds {} events, but the projection \
         applied {}; a message on its subject may have been quarantined",
        held.0, held.1
    )))
}
