//! `GET /api/v1/stakeholders` and `GET /api/v1/stakeholders/{id}`: the registry with ledger
//! points, and one stakeholder's stances across pilots, its ledger lines and its tenures
//! (schema 2: the posts a person held, and for a post the people who held it).

use super::parse_uuid;
use crate::error::ApiError;
use crate::query::{params, Params};
use crate::spreadsheet;
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use pilot_events::data::Stance;
use pilot_events::Stage;
use pilot_projections::ledger::LedgerLine;
use pilot_projections::registry::{Registry, Stakeholder, Tenure};
use pilot_projections::support::StakeholderSupport;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// A registered stakeholder with its ledger balance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StakeholderRow {
    #[serde(flatten)]
    pub stakeholder: Stakeholder,
    /// Points of the political highlights credited to it.
    pub points: u64,
}

/// `GET /api/v1/stakeholders?format=&bom=`: [`stakeholder_rows`] as JSON or, with
/// `format=csv` or `Accept: text/csv`, as CSV ([`crate::spreadsheet`]).
#[utoipa::path(get, path = "/stakeholders", tag = "stakeholders", summary = "The stakeholder registry",
    params(crate::spreadsheet::SpreadsheetParams),
    responses(
        (status = 200, description = "Every registered stakeholder with its ledger `points`, by name; a table of them as CSV with `format=csv` or `Accept: text/csv`.",
            content(
                (Vec<StakeholderRow> = "application/json", example = crate::openapi::examples::stakeholders),
                (String = "text/csv"),
            )),
    )
)]
pub async fn stakeholders(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Params,
) -> Result<Response, ApiError> {
    let (query, format) = spreadsheet::negotiate(query, &headers)?;
    let Json(rows) = stakeholder_rows(State(state.clone()), query).await?;
    spreadsheet::respond(&state, format, rows)
}

/// The registry, by name, each with its ledger points.
pub async fn stakeholder_rows(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<StakeholderRow>>, ApiError> {
    params(query, &[])?;
    let world = state.projection.read();
    let mut points: HashMap<Uuid, u64> = HashMap::new();
    for line in world.ledger().lines() {
        for id in &line.credited_to {
            *points.entry(*id).or_default() += u64::from(line.points);
        }
    }
    let rows = world
        .registry()
        .all()
        .into_iter()
        .map(|s| StakeholderRow {
            points: points.get(&s.stakeholder_id).copied().unwrap_or(0),
            stakeholder: s.clone(),
        })
        .collect();
    Ok(Json(rows))
}

/// `GET /api/v1/stakeholders/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StakeholderDetail {
    #[serde(flatten)]
    pub stakeholder: Stakeholder,
    pub points: u64,
    /// Pilots on which its stance is above zero.
    pub coalition: Vec<Uuid>,
    /// Pilots on which its stance is below zero.
    pub opposition: Vec<Uuid>,
    /// Every pilot it has a stance on, by `pilot_id`.
    pub pilots: Vec<StanceOnPilot>,
    /// The highlights credited to it, in `occurred_at` order, with its running balance.
    pub ledger: Vec<BalancedLine>,
    /// The posts it held, as a person, by `from`.
    pub tenures: Vec<TenureRow>,
    /// The people who held it, as a post ("Mayor of Nanguo"), by `from`.
    pub holders: Vec<TenureRow>,
    /// For a person who held posts: its own lines and the lines of the posts it held, dated
    /// within the tenure, each once, with the person's running balance (`points` counts its
    /// own lines only, as rankings do). Left out for a stakeholder that held no post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonView>,
}

/// A person's view through the posts it held (docs/research-record.md, "Posts and people").
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub points: u64,
    pub ledger: Vec<PersonLineRow>,
}

/// One line of a person's view.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonLineRow {
    #[serde(flatten)]
    pub line: LedgerLine,
    /// The line credits the person by its own id.
    pub own: bool,
    /// The posts it held then that the line credits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via_posts: Vec<Uuid>,
    pub balance: u64,
}

/// A tenure with the registered names of its post and person, so a reader need not look
/// them up.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenureRow {
    #[serde(flatten)]
    pub tenure: Tenure,
    pub post_name: Option<String>,
    pub person_name: Option<String>,
}

/// `tenures` by `from` (then person, then event), with names.
fn tenure_rows<'a>(
    registry: &Registry,
    tenures: impl Iterator<Item = &'a Tenure>,
) -> Vec<TenureRow> {
    let name = |id: &Uuid| registry.get(id).map(|s| s.name.clone());
    let mut rows: Vec<TenureRow> = tenures
        .map(|t| TenureRow {
            post_name: name(&t.post_id),
            person_name: name(&t.person_id),
            tenure: t.clone(),
        })
        .collect();
    rows.sort_by_key(|r| (r.tenure.from, r.tenure.person_id, r.tenure.event_id));
    rows
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StanceOnPilot {
    pub pilot_id: Uuid,
    pub title: String,
    pub stage: Stage,
    #[serde(flatten)]
    pub support: StakeholderSupport,
}

/// A ledger line with the balance it brought its subject to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BalancedLine {
    #[serde(flatten)]
    pub line: LedgerLine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<u64>,
}

#[utoipa::path(get, path = "/stakeholders/{id}", tag = "stakeholders", summary = "One stakeholder",
    params(("id" = Uuid, Path, description = "The stakeholder's `stakeholder_id`.")),
    responses(
        (status = 200, description = "Its stances across pilots, its ledger lines and its tenures.", body = StakeholderDetail,
            example = crate::openapi::examples::stakeholder),
        (status = 404, description = "`not_found`: no such stakeholder.", body = crate::error::Body),
    )
)]
pub async fn stakeholder(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Json<StakeholderDetail>, ApiError> {
    let Path(raw) = id.map_err(|rejection| ApiError::invalid("id", rejection.body_text()))?;
    let id = parse_uuid("id", &raw, "a stakeholder_id")?;
    params(query, &[])?;
    let world = state.projection.read();
    let stakeholder = world
        .registry()
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no stakeholder {id}")))?;
    let mut pilots: Vec<StanceOnPilot> = world
        .pilots()
        .filter_map(|record| {
            let support = record.support.stakeholders.get(&id)?;
            Some(StanceOnPilot {
                pilot_id: record.state.pilot_id,
                title: record.state.title.clone(),
                stage: record.state.stage,
                support: support.clone(),
            })
        })
        .collect();
    pilots.sort_by_key(|p| p.pilot_id);
    let with_stance = |keep: fn(Stance) -> bool| -> Vec<Uuid> {
        pilots
            .iter()
            .filter(|p| p.support.stance.is_some_and(keep))
            .map(|p| p.pilot_id)
            .collect()
    };
    let coalition = with_stance(|s| s.value() > 0);
    let opposition = with_stance(|s| s.value() < 0);
    let ledger: Vec<BalancedLine> = world
        .ledger()
        .for_stakeholder(id)
        .into_iter()
        .map(|l| BalancedLine {
            line: l.line.clone(),
            balance: Some(l.balance),
        })
        .collect();
    let tenures = tenure_rows(world.registry(), world.registry().tenures_of(&id));
    let holders = tenure_rows(world.registry(), world.registry().holders_of(&id));
    let person = (!tenures.is_empty()).then(|| {
        let ledger: Vec<PersonLineRow> = world
            .person_lines(id)
            .into_iter()
            .map(|l| PersonLineRow {
                line: l.line.clone(),
                own: l.own,
                via_posts: l.via_posts,
                balance: l.balance,
            })
            .collect();
        PersonView {
            points: ledger.last().map_or(0, |l| l.balance),
            ledger,
        }
    });
    Ok(Json(StakeholderDetail {
        points: ledger.last().and_then(|l| l.balance).unwrap_or(0),
        stakeholder,
        coalition,
        opposition,
        pilots,
        ledger,
        tenures,
        holders,
        person,
    }))
}
