//! `GET /api/v1/highlights`: the political-highlight ledger's lines, filtered by stakeholder,
//! office, pilot, level and dates; and `GET /api/v1/offices`: every credited office with its
//! balance (offices are creditable parties, docs/research-record.md).

use super::parse_uuid;
use super::stakeholders::BalancedLine;
use crate::error::ApiError;
use crate::query::parse_instant;
use crate::query::{params, Params};
use crate::spreadsheet;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use pilot_events::Level;
use pilot_projections::ledger::LedgerLine;
use serde::Serialize;
use time::macros::{format_description, time};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Which ledger lines to show.
#[derive(Debug, Default)]
struct HighlightFilter {
    stakeholder: Option<Uuid>,
    office: Option<String>,
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
                "office" if value.trim().is_empty() => {
                    return Err(ApiError::invalid(
                        name,
                        "office is empty: give an office's name as events name it in actor.office",
                    ))
                }
                "office" => filter.office = Some(value.trim().to_string()),
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
            && self
                .office
                .as_ref()
                .is_none_or(|office| line.credited_offices.contains(office))
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

/// `GET /api/v1/highlights?stakeholder=&office=&pilot=&level=&from=&until=&format=&bom=`:
/// [`highlight_lines`] as JSON or, with `format=csv` or `Accept: text/csv`, as CSV
/// ([`crate::spreadsheet`]).
#[utoipa::path(get, path = "/highlights", tag = "ledger", summary = "The political-highlight ledger",
    params(
        ("stakeholder" = Option<Uuid>, Query, description = "Only lines crediting this stakeholder; each line carries its running `balance`."),
        ("office" = Option<String>, Query, description = "Only lines crediting this office; each line carries its running `balance`."),
        ("pilot" = Option<Uuid>, Query, description = "Only lines of this pilot; each line carries its running `balance`."),
        ("level" = inline(Option<pilot_events::Level>), Query, description = "Only lines conferred at this level."),
        ("from" = Option<String>, Query, description = "From this instant (RFC 3339), or the start of this date (UTC)."),
        ("until" = Option<String>, Query, description = "Until this instant (RFC 3339), or the end of this date (UTC)."),
        crate::spreadsheet::SpreadsheetParams,
    ),
    responses(
        (status = 200, description = "Ledger lines in (`occurred_at`, position) order; a table of them as CSV with `format=csv` or `Accept: text/csv`.",
            content(
                (Vec<BalancedLine> = "application/json", example = crate::openapi::examples::highlights),
                (String = "text/csv"),
            )),
    )
)]
pub async fn highlights(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Params,
) -> Result<Response, ApiError> {
    let (query, format) = spreadsheet::negotiate(query, &headers)?;
    let Json(lines) = highlight_lines(State(state.clone()), query).await?;
    spreadsheet::respond(&state, format, lines)
}

/// The ledger's lines in (`occurred_at`, position) order. With one of `stakeholder=`, `office=` or `pilot=`, each
/// line also carries that subject's running `balance`, counted over all its lines whatever the
/// other filters.
pub async fn highlight_lines(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<BalancedLine>>, ApiError> {
    let filter = HighlightFilter::parse(params(
        query,
        &["stakeholder", "office", "pilot", "level", "from", "until"],
    )?)?;
    let world = state.projection.read();
    let ledger = world.ledger();
    let running = match (filter.stakeholder, filter.office.as_deref(), filter.pilot) {
        (Some(id), None, None) => Some(ledger.for_stakeholder(id)),
        (None, Some(office), None) => Some(ledger.for_office(office)),
        (None, None, Some(id)) => Some(ledger.for_pilot(id)),
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

/// One credited office and the points of every line crediting it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfficeRow {
    pub office: String,
    pub points: u64,
}

/// `GET /api/v1/offices`: every office a highlight or reward credited, by name.
#[utoipa::path(get, path = "/offices", tag = "ledger", summary = "Credited offices",
    responses(
        (status = 200, description = "Every office a highlight or reward credited, with its points, by name.", body = Vec<OfficeRow>,
            example = json!([{"office": "SSDNC", "points": 6}])),
    )
)]
pub async fn offices(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<Vec<OfficeRow>>, ApiError> {
    params(query, &[])?;
    let world = state.projection.read();
    let rows = world
        .ledger()
        .offices()
        .into_iter()
        .map(|(office, points)| OfficeRow { office, points })
        .collect();
    Ok(Json(rows))
}
