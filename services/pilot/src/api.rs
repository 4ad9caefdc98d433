//! The HTTP API (JSON), in DOMAIN.md's names.
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | 200 `{"status": "ok"}` while the process runs |
//! | `GET /readyz` | 200 `{"status": "ready", "position": N}` once the projections have caught up with the log since start-up and NATS is connected; else 503 |
//! | `GET /api/v1/pilots` | every pilot's view ([`PilotView`]), ordered by `pilot_id` |
//! | `GET /api/v1/pilots/{id}?as_of=&known_at=` | one pilot now, or as of a world date and/or as known at a system date ([`crate::query`]); 404 for an unknown pilot or one not yet proposed then |
//! | `GET /api/v1/pilots/{id}/events` | the pilot's chain as stored (the wire format), each event with its `version` and stream `position` |
//! | `GET /api/v1/highlights` | the political-highlight ledger's lines in `occurred_at` order |
//!
//! The `/api/v1` routes answer 503 `not_ready` until the projections have caught up. Every
//! error has the shape of [`ApiError`]. Handlers copy what they need out of the projection
//! under its read lock and release it before any `.await`.

use crate::error::ApiError;
use crate::query::select;
use crate::reads;
use crate::state::AppState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use uuid::Uuid;

pub type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The whole HTTP service over `state`.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/pilots", get(reads::list_pilots))
        .route("/pilots/{id}", get(reads::get_pilot))
        .route("/pilots/{id}/events", get(reads::pilot_events))
        .route("/highlights", get(reads::highlights))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_ready));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if !state.is_ready() {
        return ApiError::not_ready("the projections are catching up with the event log")
            .into_response();
    }
    let connection = state.log.client().connection_state();
    if connection != async_nats::connection::State::Connected {
        return ApiError::not_ready(format!("NATS is {connection}")).into_response();
    }
    let position = state.projection.position();
    Json(json!({"status": "ready", "position": position})).into_response()
}

async fn require_ready(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.is_ready() {
        next.run(request).await
    } else {
        ApiError::not_ready("the projections are catching up with the event log; try again")
            .into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

pub fn params(
    query: Params,
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let Query(pairs) = query.map_err(|rejection| {
        ApiError::invalid_query(format!("the query string cannot be read: {rejection}"))
    })?;
    Ok(select(pairs, allowed)?.into_iter().collect())
}

pub fn pilot_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(raw) = id.map_err(|rejection| ApiError::invalid("id", rejection.body_text()))?;
    Uuid::parse_str(&raw).map_err(|_| {
        ApiError::invalid("id", format!("id must be a pilot_id (a UUID); got {raw:?}"))
    })
}

