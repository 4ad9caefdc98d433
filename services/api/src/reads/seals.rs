//! `GET /api/v1/seals/latest`: the latest signed seal of every chain's head, for
//! `pilot verify --keys` against the server. Seals say nothing a reader could not compute
//! from the log, so every role may read them.

use crate::error::ApiError;
use crate::query::{params, Params};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use pilot_events::seal::Seal;
use pilot_store::{LogError, SealLog};

pub async fn latest_seal(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Seal>, ApiError> {
    params(query, &[])?;
    match state.log.latest_seal().await {
        Ok(Some(seal)) => Ok(Json(seal)),
        Ok(None) => Err(ApiError::not_found(
            "no seal is recorded yet: the service seals after an import, every 5 minutes while the log moves, and when it stops",
        )),
        Err(LogError::Unavailable(message)) => Err(ApiError::store_unavailable(message)),
        Err(other) => Err(ApiError::internal(other.to_string())),
    }
}
