//! Loading a pilot's chain into a world restored from a checkpoint, for a past view or its
//! event list.
//!

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
