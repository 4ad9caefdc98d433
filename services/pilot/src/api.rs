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
use crate::query::{parse_instant, select};
use crate::state::AppState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pilot_projections::ledger::LedgerLine;
use pilot_projections::{AsOf, ChainNotLoaded, PilotView, World};
use serde_json::json;
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use uuid::Uuid;

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The whole HTTP service over `state`.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/pilots", get(list_pilots))
        .route("/pilots/{id}", get(get_pilot))
        .route("/pilots/{id}/events", get(pilot_events))
        .route("/highlights", get(highlights))
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

fn params(
    query: Params,
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let Query(pairs) = query.map_err(|rejection| {
        ApiError::invalid_query(format!("the query string cannot be read: {rejection}"))
    })?;
    Ok(select(pairs, allowed)?.into_iter().collect())
}

async fn list_pilots(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<PilotView>>, ApiError> {
    params(query, &[])?;
    let mut views: Vec<PilotView> = {
        let world = state.projection.read();
        world
            .pilots()
            .filter_map(|record| world.pilot_view(&record.state.pilot_id))
            .collect()
    };
    views.sort_by_key(|view| view.pilot.pilot_id);
    Ok(Json(views))
}

async fn get_pilot(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Json<PilotView>, ApiError> {
    let id = pilot_id(id)?;
    let mut when = AsOf::default();
    for (name, value) in params(query, &["as_of", "known_at"])? {
        let instant = Some(parse_instant(name, &value)?);
        match name {
            "as_of" => when.as_of = instant,
            _ => when.known_at = instant,
        }
    }
    let unknown = || ApiError::not_found(format!("no pilot {id}"));
    if when == AsOf::default() {
        return state
            .projection
            .read()
            .pilot_view(&id)
            .map(Json)
            .ok_or_else(unknown);
    }
    // A world restored from a checkpoint loads a chain the first time a past view needs it;
    // each missing chain (the pilot's, then those of pilots merged into it) is loaded once.
    let mut loaded = HashSet::new();
    loop {
        let answer = view_at(&state.projection.read(), &id, when);
        match answer {
            Ok(Some(view)) => return Ok(Json(view)),
            Ok(None) => return Err(unknown()),
            Err(PastView::NotYet) => {
                return Err(ApiError::not_found(format!(
                    "pilot {id} had not been proposed{}",
                    describe(when)
                )))
            }
            Err(PastView::ChainNotLoaded(ChainNotLoaded { pilot_id })) => {
                if !loaded.insert(pilot_id) {
                    return Err(ApiError::internal(format!(
                        "pilot {pilot_id}'s chain is still missing after loading it"
                    )));
                }
                crate::chains::load(&state.log, &state.projection, pilot_id).await?;
            }
        }
    }
}

enum PastView {
    /// The pilot exists now, but had not been proposed (or logged) at that time.
    NotYet,
    ChainNotLoaded(ChainNotLoaded),
}

/// `Ok(None)`: no such pilot at all.
fn view_at(world: &World, id: &Uuid, when: AsOf) -> Result<Option<PilotView>, PastView> {
    if world.pilot(id).is_none() {
        return Ok(None);
    }
    match world.pilot_view_at(id, when) {
        Ok(Some(view)) => Ok(Some(view)),
        Ok(None) => Err(PastView::NotYet),
        Err(missing) => Err(PastView::ChainNotLoaded(missing)),
    }
}

fn describe(when: AsOf) -> String {
    let show = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    let mut text = String::new();
    if let Some(as_of) = when.as_of {
        text.push_str(&format!(" as of {}", show(as_of)));
    }
    if let Some(known_at) = when.known_at {
        text.push_str(&format!(" as known at {}", show(known_at)));
    }
    text
}

async fn pilot_events(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let id = pilot_id(id)?;
    params(query, &[])?;
    let loaded = {
        let world = state.projection.read();
        world.pilot(&id).map(|_| world.chain_loaded(&id))
    };
    match loaded {
        None => return Err(ApiError::not_found(format!("no pilot {id}"))),
        Some(false) => crate::chains::load(&state.log, &state.projection, id).await?,
        Some(true) => {}
    }
    let world = state.projection.read();
    let record = world
        .pilot(&id)
        .ok_or_else(|| ApiError::not_found(format!("no pilot {id}")))?;
    // Each event exactly as stored, plus where it stands: its version in the chain and its
    // position in the log.
    let events = record
        .history
        .raw()
        .enumerate()
        .filter_map(|(index, (position, bytes))| {
            let mut event: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(bytes).ok()?;
            event.insert("version".into(), json!(index + 1));
            event.insert("position".into(), json!(position));
            Some(serde_json::Value::Object(event))
        })
        .collect();
    Ok(Json(events))
}

fn pilot_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(raw) = id.map_err(|rejection| ApiError::invalid("id", rejection.body_text()))?;
    Uuid::parse_str(&raw).map_err(|_| {
        ApiError::invalid("id", format!("id must be a pilot_id (a UUID); got {raw:?}"))
    })
}

async fn highlights(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<LedgerLine>>, ApiError> {
    params(query, &[])?;
    let lines: Vec<LedgerLine> = state.projection.read().ledger().lines().cloned().collect();
    Ok(Json(lines))
}
