//! `GET /api/v1/analytics?as_of=`: comparative analytics over every pilot
//! ([`pilot_projections::analytics`]), as of a world date.

use super::LOAD_ATTEMPTS;
use crate::error::ApiError;
use crate::query::{params, parse_instant, Params};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use pilot_projections::analytics::{analytics as fold, Analytics};
use time::OffsetDateTime;

/// `as_of` is an RFC 3339 timestamp or a date (the end of that day in UTC, as everywhere in
/// the API). Without it the figures are as of the request's arrival: pending approvals need a
/// clock to be judged stalled, and the fold takes none, so the handler lends it the wall clock.
#[tracing::instrument(name = "analytics", skip_all)]
pub async fn analytics(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Analytics>, ApiError> {
    let mut as_of = None;
    for (name, value) in params(query, &["as_of"])? {
        as_of = Some(parse_instant(name, &value)?);
    }
    let as_of = as_of.unwrap_or_else(OffsetDateTime::now_utc);
    // Support trajectories need every chain: a world restored from a checkpoint loads the ones
    // it lacks first, all before folding, so a request costs one load per chain.
    for _ in 0..LOAD_ATTEMPTS {
        crate::chains::load_missing(&state.log, &state.projection).await?;
        // The fold decodes every chain under the read lock (about 0.2 s for 1,000 pilots of
        // 50 events: docs/bench/analytics.txt), so it runs off the async workers; the
        // projector's next write waits for it, as for any read.
        let projection = state.projection.clone();
        let answer = tokio::task::spawn_blocking(move || fold(&projection.read(), as_of))
            .await
            .map_err(|error| ApiError::internal(format!("the analytics fold failed: {error}")))?;
        if let Ok(figures) = answer {
            return Ok(Json(figures));
        }
    }
    Err(ApiError::internal(
        "pilots' chains are still missing after loading them",
    ))
}
