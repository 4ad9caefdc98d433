//! `GET /api/v1/jurisdictions` and `GET /api/v1/jurisdictions/{id}`: the registered
//! jurisdictions (docs/research-record.md, "Jurisdictions and context"), and one with its
//! context in (`occurred_at`, stream position) order and the pilots that name it.

use super::parse_uuid;
use crate::error::ApiError;
use crate::query::{params, Params};
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use pilot_projections::jurisdiction::{ContextEntry, Jurisdiction};
use pilot_projections::World;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// One jurisdiction in the list: as registered, with how much context it holds and how many
/// pilots name it, so a list says where to look without loading every context.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JurisdictionRow {
    #[serde(flatten)]
    pub jurisdiction: Jurisdiction,
    /// Live `context.recorded` events on its chain.
    pub context_count: usize,
    /// Pilots whose `pilot.proposed` names it as their `jurisdiction`.
    pub pilot_count: usize,
}

/// `GET /api/v1/jurisdictions/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JurisdictionDetail {
    #[serde(flatten)]
    pub jurisdiction: Jurisdiction,
    /// Its context, in (`occurred_at`, stream position) order: the order every fold uses.
    pub context: Vec<ContextEntry>,
    /// The pilots that name it, by `pilot_id`.
    pub pilot_ids: Vec<Uuid>,
}

/// The ids of the pilots naming `name` (exact text, as pilots belong to jurisdictions).
fn pilots_naming(world: &World, name: &str) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = world
        .pilots()
        .filter(|record| record.state.jurisdiction == name)
        .map(|record| record.state.pilot_id)
        .collect();
    ids.sort();
    ids
}

/// `GET /api/v1/jurisdictions`: every registered jurisdiction, by name.
#[utoipa::path(get, path = "/jurisdictions", tag = "jurisdictions", summary = "The registered jurisdictions",
    responses(
        (status = 200, description = "Every registered jurisdiction with `context_count` and `pilot_count`, by name.", body = Vec<JurisdictionRow>,
            example = crate::openapi::examples::jurisdictions),
    )
)]
#[tracing::instrument(name = "list_jurisdictions", skip_all)]
pub async fn jurisdictions(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<JurisdictionRow>>, ApiError> {
    params(query, &[])?;
    let world = state.projection.read();
    let jurisdictions = world.jurisdictions();
    // One pass over the pilots for every count (a list only counts; the detail lists them).
    let mut pilots_by_name: HashMap<&str, usize> = HashMap::new();
    for record in world.pilots() {
        *pilots_by_name
            .entry(record.state.jurisdiction.as_str())
            .or_default() += 1;
    }
    let rows = jurisdictions
        .all()
        .into_iter()
        .map(|j| JurisdictionRow {
            context_count: jurisdictions.context_count(&j.jurisdiction_id),
            pilot_count: pilots_by_name.get(j.name.as_str()).copied().unwrap_or(0),
            jurisdiction: j.clone(),
        })
        .collect();
    Ok(Json(rows))
}

/// `GET /api/v1/jurisdictions/{id}`: 404 for an id no live registration carries.
#[utoipa::path(get, path = "/jurisdictions/{id}", tag = "jurisdictions", summary = "One jurisdiction",
    params(("id" = Uuid, Path, description = "The jurisdiction's `jurisdiction_id`.")),
    responses(
        (status = 200, description = "Its context in (`occurred_at`, position) order and the pilots that name it.", body = JurisdictionDetail,
            example = crate::openapi::examples::jurisdiction),
        (status = 404, description = "`not_found`: no live registration carries this id.", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "get_jurisdiction", skip_all)]
pub async fn jurisdiction(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Json<JurisdictionDetail>, ApiError> {
    let Path(raw) = id.map_err(|rejection| ApiError::invalid("id", rejection.body_text()))?;
    let id = parse_uuid("id", &raw, "a jurisdiction_id")?;
    params(query, &[])?;
    let world = state.projection.read();
    let jurisdictions = world.jurisdictions();
    let jurisdiction = jurisdictions
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no jurisdiction {id}")))?;
    let context = jurisdictions.context_of(&id).into_iter().cloned().collect();
    let pilot_ids = pilots_naming(&world, &jurisdiction.name);
    Ok(Json(JurisdictionDetail {
        jurisdiction,
        context,
        pilot_ids,
    }))
}
