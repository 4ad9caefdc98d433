//! `GET /api/v1/analytics?as_of=`: comparative analytics over every pilot
//! ([`pilot_projections::analytics`]), as of a world date.

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
#[utoipa::path(get, path = "/analytics", tag = "analytics", summary = "Comparative analytics over every pilot",
    params(("as_of" = Option<String>, Query, description = "A world date: an RFC 3339 instant, or a date (its end, UTC). Now by default.")),
    responses(
        (status = 200, description = "Proposal → approval and request → decision by level and approver, stall rates, support trajectories, points per year, time to scale-up.",
            body = Analytics, example = crate::openapi::examples::analytics),
    )
)]
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
    // Support trajectories need every chain (about 0.1 s for 1,000 pilots of 50 events under
    // the read lock: docs/bench/analytics.txt).
    let figures = crate::chains::fold_all(&state.log, &state.projection, move |world| {
        fold(world, as_of)
    })
    .await?;
    Ok(Json(figures))
}
