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

#[utoipa::path(get, path = "/seals/latest", tag = "events", summary = "The latest seal",
    responses(
        (status = 200, description = "The latest signed seal of every chain's head (`pilot verify --keys`).", body = pilot_events::seal::Seal,
            example = json!({"stream_sequence": 1234, "events": 1200, "chains": 40,
                "merkle_root": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "sealed_at": "2026-01-05T10:00:00Z",
                "signature": {"key_id": "k1", "ed25519": "00".repeat(64)}})),
        (status = 404, description = "`not_found`: no seal is recorded yet.", body = crate::error::Body),
    )
)]
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
