//! The read endpoints over the projections: pilots (now, or as of a world date and as known
//! at a system date) with filters, a pilot's support and its chain as stored; and
//! - [`stakeholders`]: the registry, one stakeholder across pilots with its ledger balance;
//! - [`highlights`]: the political-highlight ledger, filtered, and the credited offices;
//! - [`analytics`](analytics()): comparative figures over every pilot, as of a date;
//! - [`jurisdictions`]: the registered jurisdictions, one with its context and pilots.

mod analytics;
mod highlights;
mod jurisdictions;
mod seals;
mod stakeholders;

pub use analytics::{__path_analytics, analytics};
pub use highlights::{
    __path_highlights, __path_offices, highlight_lines, highlights, offices, OfficeRow,
};
pub use jurisdictions::{
    __path_jurisdiction, __path_jurisdictions, jurisdiction, jurisdictions, JurisdictionDetail,
    JurisdictionRow,
};
pub use seals::{__path_latest_seal, latest_seal};
pub use stakeholders::{
    __path_stakeholder, __path_stakeholders, stakeholder, stakeholder_rows, stakeholders,
    BalancedLine, StakeholderDetail, StakeholderRow, StanceOnPilot, TenureRow,
};

use crate::error::{ApiError, Body as ErrorBody};
use crate::query::{params, pilot_id, Params};
use crate::query::{parse_bool, parse_instant};
use crate::spreadsheet;
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use pilot_events::data::Influence;
use pilot_events::{Level, Stage, StakeholderKind};
use pilot_projections::pilot::PilotState;
use pilot_projections::registry::Registry;
use pilot_projections::stall::{stall_status, StallRules, StallStatus};
use pilot_projections::support::StakeholderSupport;
use pilot_projections::{AsOf, ChainNotLoaded, PilotView, World};
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// The filters of `GET /api/v1/pilots`, as the OpenAPI document describes them
/// ([`PilotFilter::parse`] reads them).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query for the document; `PilotFilter` is what is read.
struct PilotFilterParams {
    /// Only pilots at this stage.
    #[param(inline)]
    stage: Option<Stage>,
    /// Only pilots of this office (exact text).
    office: Option<String>,
    /// Only pilots with (`true`) or without (`false`) a stalled pending approval.
    stalled: Option<bool>,
}

/// Which pilots a list keeps, and when it looks.
#[derive(Debug, Default)]
struct PilotFilter {
    stage: Option<Stage>,
    office: Option<String>,
    stalled: Option<bool>,
    when: AsOf,
}

impl PilotFilter {
    fn parse(pairs: Vec<(&'static str, String)>) -> Result<Self, ApiError> {
        let mut filter = PilotFilter::default();
        for (name, value) in pairs {
            match name {
                "stage" => {
                    let stage = Stage::parse(value.trim()).ok_or_else(|| {
                        ApiError::invalid(
                            name,
                            format!("stage must be one of {}; got {value:?}", Stage::allowed()),
                        )
                    })?;
                    filter.stage = Some(stage);
                }
                "office" => filter.office = Some(value),
                "stalled" => filter.stalled = Some(parse_bool(name, &value)?),
                "as_of" => filter.when.as_of = Some(parse_instant(name, &value)?),
                _ => filter.when.known_at = Some(parse_instant(name, &value)?),
            }
        }
        Ok(filter)
    }

    /// The clock stalls are judged by: the past moment looked at, else the wall clock.
    fn now(&self) -> OffsetDateTime {
        self.when
            .as_of
            .or(self.when.known_at)
            .unwrap_or_else(OffsetDateTime::now_utc)
    }

    fn keeps(&self, pilot: &PilotState, rules: &StallRules, now: OffsetDateTime) -> bool {
        self.stage.is_none_or(|stage| pilot.stage == stage)
            && self
                .office
                .as_ref()
                .is_none_or(|office| pilot.office == *office)
            && self
                .stalled
                .is_none_or(|stalled| is_stalled(pilot, rules, now) == stalled)
    }
}

/// Whether any of the pilot's pending approvals has passed its threshold at `now`.
fn is_stalled(pilot: &PilotState, rules: &StallRules, now: OffsetDateTime) -> bool {
    pilot.pending_approvals.values().any(|approval| {
        matches!(
            stall_status(approval, rules, now),
            StallStatus::Firing { .. }
        )
    })
}

/// A UUID-valued parameter; `what` says which id it must be (`a pilot_id`).
pub(crate) fn parse_uuid(field: &str, value: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value.trim()).map_err(|_| {
        ApiError::invalid(
            field,
            format!("{field} must be {what} (a UUID); got {value:?}"),
        )
    })
}

/// `GET /api/v1/pilots?stage=&office=&stalled=&as_of=&known_at=&format=&bom=`: the pilots
/// of [`pilot_views`], as JSON or, with `format=csv` or `Accept: text/csv`, as CSV
/// ([`crate::spreadsheet`]).
#[utoipa::path(get, path = "/pilots", operation_id = "list_pilots", tag = "pilots", summary = "Pilots",
    params(PilotFilterParams, crate::query::TimeTravel, crate::spreadsheet::SpreadsheetParams),
    responses(
        (status = 200, description = "Every pilot's view, by `pilot_id`; a table of them as CSV with `format=csv` or `Accept: text/csv`.",
            content(
                (Vec<PilotView> = "application/json", example = crate::openapi::examples::pilots),
                (String = "text/csv"),
            )),
    )
)]
pub async fn list_pilots(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Params,
) -> Result<Response, ApiError> {
    let (query, format) = spreadsheet::negotiate(query, &headers)?;
    let Json(views) = pilot_views(State(state.clone()), query).await?;
    spreadsheet::respond(&state, format, views)
}

/// Every pilot's view, ordered by `pilot_id`, filtered by `stage`, `office`, `stalled`, now or
/// `as_of` / `known_at`. In the past, pilots not yet proposed (or logged) then are left out.
pub async fn pilot_views(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<PilotView>>, ApiError> {
    let filter = PilotFilter::parse(params(
        query,
        &["stage", "office", "stalled", "as_of", "known_at"],
    )?)?;
    let now = filter.now();
    let mut views = if filter.when == AsOf::default() {
        let world = state.projection.read();
        world
            .pilots()
            .filter(|record| {
                let rules = state.stall_terms.rules_for(&record.state.pilot_id);
                filter.keeps(&record.state, rules, now)
            })
            .filter_map(|record| world.pilot_view(&record.state.pilot_id))
            .collect()
    } else {
        let mut views = views_at(&state, filter.when).await?;
        views.retain(|view| {
            let rules = state.stall_terms.rules_for(&view.pilot.pilot_id);
            filter.keeps(&view.pilot, rules, now)
        });
        views
    };
    views.sort_by_key(|view| view.pilot.pilot_id);
    Ok(Json(views))
}

/// Every pilot's view at `when`. A world restored from a checkpoint first loads the chains it
/// lacks, all of them before folding, so a list costs one load per chain, not one per pilot
/// and retry.
async fn views_at(state: &AppState, when: AsOf) -> Result<Vec<PilotView>, ApiError> {
    crate::chains::fold_all(&state.log, &state.projection, move |world| {
        let views: Vec<Option<PilotView>> = world
            .pilots()
            .map(|record| world.pilot_view_at(&record.state.pilot_id, when))
            .collect::<Result<_, ChainNotLoaded>>()?;
        Ok(views.into_iter().flatten().collect())
    })
    .await
}

/// `GET /api/v1/pilots/{id}?as_of=&known_at=`.
#[utoipa::path(get, path = "/pilots/{id}", tag = "pilots", summary = "One pilot",
    params(("id" = Uuid, Path, description = "The pilot's `pilot_id`."), crate::query::TimeTravel),
    responses(
        (status = 200, description = "The pilot's view.", body = PilotView,
            example = crate::openapi::examples::pilot),
        (status = 404, description = "`not_found`: no such pilot, or not yet proposed then.", body = ErrorBody,
            example = json!({"error": {"code": "not_found", "message": "no pilot 0194a000-0000-7000-8000-0000000000a9"}})),
    )
)]
pub async fn get_pilot(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Json<PilotView>, ApiError> {
    let id = pilot_id(id)?;
    let when = parse_when(params(query, &["as_of", "known_at"])?)?;
    pilot_at(&state, id, when).await.map(Json)
}

fn parse_when(pairs: Vec<(&'static str, String)>) -> Result<AsOf, ApiError> {
    let mut when = AsOf::default();
    for (name, value) in pairs {
        let instant = Some(parse_instant(name, &value)?);
        match name {
            "as_of" => when.as_of = instant,
            _ => when.known_at = instant,
        }
    }
    Ok(when)
}

/// One pilot now or at `when`; 404 for an unknown pilot or one not yet proposed then.
async fn pilot_at(state: &AppState, id: Uuid, when: AsOf) -> Result<PilotView, ApiError> {
    let unknown = || ApiError::not_found(format!("no pilot {id}"));
    if when == AsOf::default() {
        return state.projection.read().pilot_view(&id).ok_or_else(unknown);
    }
    // A world restored from a checkpoint loads a chain the first time a past view needs it;
    // each missing chain (the pilot's, then those of pilots merged into it) is loaded once.
    let mut loaded = HashSet::new();
    loop {
        let answer = view_at(&state.projection.read(), &id, when);
        match answer {
            Ok(Some(view)) => return Ok(view),
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
                crate::chains::load(&state.log, &state.projection, pilot_id, false).await?;
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
    let show = pilot_events::rfc3339;
    let mut text = String::new();
    if let Some(as_of) = when.as_of {
        text.push_str(&format!(" as of {}", show(as_of)));
    }
    if let Some(known_at) = when.known_at {
        text.push_str(&format!(" as known at {}", show(known_at)));
    }
    text
}

/// A stakeholder as a row of someone else's listing: who it is, in the registry's words.
/// Every field is null for a stakeholder whose registration was retracted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Who {
    pub stakeholder_id: Uuid,
    pub name: Option<String>,
    pub kind: Option<StakeholderKind>,
    pub level: Option<Level>,
    pub influence: Option<Influence>,
}

impl Who {
    fn of(registry: &Registry, id: Uuid) -> Who {
        let found = registry.get(&id);
        Who {
            stakeholder_id: id,
            name: found.map(|s| s.name.clone()),
            kind: found.map(|s| s.kind),
            level: found.map(|s| s.level),
            influence: found.map(|s| s.influence),
        }
    }
}

/// `GET /api/v1/pilots/{id}/support`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Support {
    pub pilot_id: Uuid,
    pub support_index: Option<f64>,
    pub coalition: Vec<Uuid>,
    pub opposition: Vec<Uuid>,
    /// One row per stakeholder with a stance on the pilot, by name.
    pub stakeholders: Vec<SupportRow>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SupportRow {
    #[serde(flatten)]
    pub who: Who,
    #[serde(flatten)]
    pub support: StakeholderSupport,
}

/// `GET /api/v1/pilots/{id}/support?as_of=&known_at=`: who supports the pilot and how much
/// that weighs, at the same moments as the pilot's view.
#[utoipa::path(get, path = "/pilots/{id}/support", tag = "pilots", summary = "A pilot's stakeholder support",
    params(("id" = Uuid, Path, description = "The pilot's `pilot_id`."), crate::query::TimeTravel),
    responses(
        (status = 200, description = "Support index, coalition, opposition and a row per stakeholder with a stance.", body = Support,
            example = crate::openapi::examples::support),
        (status = 404, description = "`not_found`: no such pilot, or not yet proposed then.", body = ErrorBody),
    )
)]
pub async fn pilot_support(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Json<Support>, ApiError> {
    let id = pilot_id(id)?;
    let when = parse_when(params(query, &["as_of", "known_at"])?)?;
    let view = pilot_at(&state, id, when).await?;
    let world = state.projection.read();
    let mut stakeholders: Vec<SupportRow> = view
        .support
        .stakeholders
        .into_iter()
        .map(|(stakeholder_id, support)| SupportRow {
            who: Who::of(world.registry(), stakeholder_id),
            support,
        })
        .collect();
    stakeholders.sort_by(|a, b| {
        (&a.who.name, a.who.stakeholder_id).cmp(&(&b.who.name, b.who.stakeholder_id))
    });
    Ok(Json(Support {
        pilot_id: id,
        support_index: view.support_index,
        coalition: view.coalition,
        opposition: view.opposition,
        stakeholders,
    }))
}

/// `GET /api/v1/pilots/{id}/events`: the pilot's chain as stored (the wire format), each
/// event with its `version` and stream `position`.
#[utoipa::path(get, path = "/pilots/{id}/events", tag = "pilots", summary = "A pilot's chain",
    params(("id" = Uuid, Path, description = "The pilot's `pilot_id`.")),
    responses(
        (status = 200, description = "The chain as stored, each event with its `version` and stream `position`.",
            body = Vec<crate::writes::StoredEventSchema>, example = crate::openapi::examples::chain),
        (status = 404, description = "`not_found`: no such pilot.", body = ErrorBody),
    )
)]
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
        Some(false) => crate::chains::load(&state.log, &state.projection, id, false).await?,
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
