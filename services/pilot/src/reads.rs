//! The read endpoints: pilots (now, or as of a world date and as known at a system date),
//! a pilot's chain as stored, and the political-highlight ledger.

use crate::api::{params, pilot_id, Params};
use crate::error::ApiError;
use crate::query::parse_instant;
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use pilot_projections::ledger::LedgerLine;
use pilot_projections::{AsOf, ChainNotLoaded, PilotView, World};
use serde_json::json;
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn list_pilots(
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

pub async fn get_pilot(
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

pub async fn pilot_events(
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

pub async fn highlights(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<LedgerLine>>, ApiError> {
    params(query, &[])?;
    let lines: Vec<LedgerLine> = state.projection.read().ledger().lines().cloned().collect();
    Ok(Json(lines))
}
