//! Loading a pilot's chain into a world restored from a checkpoint, for a past view.
//!
//! `pilot_store::projector::load_chain` reads the chain and then replaces the pilot's history
//! under the write lock. The projector may apply an event of the same chain between the read
//! and the lock; the history would then miss that event while claiming to be complete. So
//! after loading, the history is checked against the pilot's version (the number of events
//! its chain has applied) and read again if they differ.

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
            world
                .pilot(&pilot_id)
                .map_or((0, 0), |p| (p.history.len() as u64, p.state.version))
        };
        if held.0 == held.1 {
            return Ok(());
        }
    }
    Err(ApiError::internal(format!(
        "pilot {pilot_id}'s chain as read from the store holds {} events, but the projection \
         applied {}; a message on its subject may have been quarantined",
        held.0, held.1
    )))
}
