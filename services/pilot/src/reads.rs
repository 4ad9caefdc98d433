//! The read endpoints over the projections: pilots (now, or as of a world date and as known
//! at a system date) with filters, a pilot's support and its chain as stored, the stakeholder
//! registry, and the political-highlight ledger.

use crate::api::{params, pilot_id, Params};
use crate::error::ApiError;
use crate::query::parse_instant;
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use pilot_events::data::{Influence, Stance};
use pilot_events::{Level, Stage, StakeholderKind};
use pilot_projections::ledger::LedgerLine;
use pilot_projections::pilot::PilotState;
use pilot_projections::registry::{Registry, Stakeholder};
use pilot_projections::stall::{stall_status, StallRules, StallStatus};
use pilot_projections::support::StakeholderSupport;
use pilot_projections::{AsOf, ChainNotLoaded, PilotView, World};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, time};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The OpenAPI document of every route, served as written.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// How many times a list of past views loads missing chains before giving up.
const LOAD_ATTEMPTS: usize = 3;

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
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

fn parse_bool(field: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::invalid(
            field,
            format!("{field} must be true or false; got {value:?}"),
        )),
    }
}

/// `GET /api/v1/pilots?stage=&office=&stalled=&as_of=&known_at=`: every pilot's view, ordered
/// by `pilot_id`. In the past, pilots not yet proposed (or logged) then are left out.
pub async fn list_pilots(
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
                let rules = world.rules_for(&record.state.pilot_id);
                filter.keeps(&record.state, rules, now)
            })
            .filter_map(|record| world.pilot_view(&record.state.pilot_id))
            .collect()
    } else {
        let mut views = views_at(&state, filter.when).await?;
        let world = state.projection.read();
        views.retain(|view| filter.keeps(&view.pilot, world.rules_for(&view.pilot.pilot_id), now));
        drop(world);
        views
    };
    views.sort_by_key(|view| view.pilot.pilot_id);
    Ok(Json(views))
}

/// Every pilot's view at `when`. A world restored from a checkpoint first loads the chains it
/// lacks, all of them before folding, so a list costs one load per chain, not one per pilot
/// and retry.
async fn views_at(state: &AppState, when: AsOf) -> Result<Vec<PilotView>, ApiError> {
    for _ in 0..LOAD_ATTEMPTS {
        let missing: Vec<Uuid> = {
            let world = state.projection.read();
            world
                .pilots()
                .map(|record| record.state.pilot_id)
                .filter(|id| !world.chain_loaded(id))
                .collect()
        };
        for id in missing {
            crate::chains::load(&state.log, &state.projection, id).await?;
        }
        let world = state.projection.read();
        let views: Result<Vec<Option<PilotView>>, ChainNotLoaded> = world
            .pilots()
            .map(|record| world.pilot_view_at(&record.state.pilot_id, when))
            .collect();
        if let Ok(views) = views {
            return Ok(views.into_iter().flatten().collect());
        }
    }
    Err(ApiError::internal(
        "pilots' chains are still missing after loading them",
    ))
}

/// `GET /api/v1/pilots/{id}?as_of=&known_at=`.
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

/// A stakeholder as a row of someone else's listing: who it is, in the registry's words.
/// Every field is null for a stakeholder whose registration was retracted.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
pub struct Support {
    pub pilot_id: Uuid,
    pub support_index: Option<f64>,
    pub coalition: Vec<Uuid>,
    pub opposition: Vec<Uuid>,
    /// One row per stakeholder with a stance on the pilot, by name.
    pub stakeholders: Vec<SupportRow>,
}

#[derive(Debug, Serialize)]
pub struct SupportRow {
    #[serde(flatten)]
    pub who: Who,
    #[serde(flatten)]
    pub support: StakeholderSupport,
}

/// `GET /api/v1/pilots/{id}/support?as_of=&known_at=`: who supports the pilot and how much
/// that weighs, at the same moments as the pilot's view.
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

/// A registered stakeholder with its ledger balance.
#[derive(Debug, Serialize)]
pub struct StakeholderRow {
    #[serde(flatten)]
    pub stakeholder: Stakeholder,
    /// Points of the political highlights credited to it.
    pub points: u64,
}

/// `GET /api/v1/stakeholders`: the registry, by name.
pub async fn stakeholders(
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
#[derive(Debug, Serialize)]
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
}

#[derive(Debug, Serialize)]
pub struct StanceOnPilot {
    pub pilot_id: Uuid,
    pub title: String,
    pub stage: Stage,
    #[serde(flatten)]
    pub support: StakeholderSupport,
}

/// A ledger line with the balance it brought its subject to.
#[derive(Debug, Serialize)]
pub struct BalancedLine {
    #[serde(flatten)]
    pub line: LedgerLine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<u64>,
}

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
    Ok(Json(StakeholderDetail {
        points: ledger.last().and_then(|l| l.balance).unwrap_or(0),
        stakeholder,
        coalition,
        opposition,
        pilots,
        ledger,
    }))
}

/// Which ledger lines to show.
#[derive(Debug, Default)]
struct HighlightFilter {
    stakeholder: Option<Uuid>,
    pilot: Option<Uuid>,
    level: Option<Level>,
    from: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
}

impl HighlightFilter {
    fn parse(pairs: Vec<(&'static str, String)>) -> Result<Self, ApiError> {
        let mut filter = HighlightFilter::default();
        for (name, value) in pairs {
            match name {
                "stakeholder" => {
                    filter.stakeholder = Some(parse_uuid(name, &value, "a stakeholder_id")?)
                }
                "pilot" => filter.pilot = Some(parse_uuid(name, &value, "a pilot_id")?),
                "level" => {
                    let level = Level::parse(value.trim()).ok_or_else(|| {
                        ApiError::invalid(
                            name,
                            format!("level must be one of {}; got {value:?}", Level::allowed()),
                        )
                    })?;
                    filter.level = Some(level);
                }
                "from" => filter.from = Some(parse_from(&value)?),
                _ => filter.until = Some(parse_instant(name, &value)?),
            }
        }
        if let (Some(from), Some(until)) = (filter.from, filter.until) {
            if from > until {
                return Err(ApiError::invalid("from", "from is later than until"));
            }
        }
        Ok(filter)
    }

    fn keeps(&self, line: &LedgerLine) -> bool {
        self.stakeholder
            .is_none_or(|id| line.credited_to.contains(&id))
            && self.pilot.is_none_or(|id| line.pilot_id == id)
            && self.level.is_none_or(|level| line.level == level)
            && self.from.is_none_or(|from| line.occurred_at >= from)
            && self.until.is_none_or(|until| line.occurred_at <= until)
    }
}

/// `from` as an instant; a bare date is the **start** of that day in UTC, so that
/// `from=2006-05-15&until=2006-05-15` is that whole day (`until`, like `as_of`, takes a date
/// as its end).
fn parse_from(value: &str) -> Result<OffsetDateTime, ApiError> {
    match Date::parse(value.trim(), format_description!("[year]-[month]-[day]")) {
        Ok(date) => Ok(date.with_time(time!(00:00)).assume_utc()),
        Err(_) => parse_instant("from", value),
    }
}

/// `GET /api/v1/highlights?stakeholder=&pilot=&level=&from=&until=`: ledger lines in
/// `occurred_at` order. With `stakeholder=` or `pilot=` (one of them), each line also carries
/// that subject's running `balance`, counted over all its lines whatever the other filters.
pub async fn highlights(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<BalancedLine>>, ApiError> {
    let filter = HighlightFilter::parse(params(
        query,
        &["stakeholder", "pilot", "level", "from", "until"],
    )?)?;
    let world = state.projection.read();
    let ledger = world.ledger();
    let running = match (filter.stakeholder, filter.pilot) {
        (Some(id), None) => Some(ledger.for_stakeholder(id)),
        (None, Some(id)) => Some(ledger.for_pilot(id)),
        _ => None,
    };
    let lines = match running {
        Some(running) => running
            .into_iter()
            .filter(|l| filter.keeps(l.line))
            .map(|l| BalancedLine {
                line: l.line.clone(),
                balance: Some(l.balance),
            })
            .collect(),
        None => ledger
            .lines()
            .filter(|l| filter.keeps(l))
            .map(|l| BalancedLine {
                line: l.clone(),
                balance: None,
            })
            .collect(),
    };
    Ok(Json(lines))
}
