//! The alert endpoints: what the alert stream recorded, and acknowledging or silencing.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/v1/alerts?state=&pilot=` | recorded alerts (`pending`, `warning`, `firing`, `resolved`), by alert id, with counts per state |
//! | `GET /api/v1/alerts/{id}` | one alert |
//! | `POST /api/v1/alerts/{id}/ack` `{"note"?}` | records an acknowledgement: later transitions are recorded but not sent |
//! | `POST /api/v1/alerts/{id}/silence` `{"until", "reason"}` | records a silence: transitions until then are recorded but not sent |
//! | `GET /api/v1/alerts/events?after=&limit=` | the alert stream as stored, JSON Lines paged like `GET /api/v1/events` (analysts and admins) |
//!
//! Acknowledgements and silences are alert events on the alert stream, like the alerter's, so
//! they survive restarts, replay and reach every alerter. A clerk acts only on alerts of their
//! own office's pilots; analysts read.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::query::parse_instant;
use crate::query::{params, Params};
use crate::reads::parse_uuid;
use crate::spreadsheet::{self, Context, Format};
use crate::state::AppState;
use crate::stream;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pilot_projections::alert::AlertError;
use pilot_projections::alerting::StateCounts;
use pilot_projections::alerting::{AlertEvent, BookError, RecordedAlert, UserActionKind};
use pilot_projections::StateKind;
use pilot_store::alerts::{AlertMessage, Recorded};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long an acknowledgement waits to see itself folded before answering.
const FOLD_WAIT: Duration = Duration::from_secs(5);

/// `GET /api/v1/alerts?state=&pilot=`; as CSV with `format=csv` or `Accept: text/csv`
/// ([`crate::tables`]): the same alerts, one row each.
#[utoipa::path(get, path = "/alerts", operation_id = "list_alerts", tag = "alerts", summary = "Recorded alerts",
    params(
        ("state" = inline(Option<pilot_projections::StateKind>), Query, description = "Only alerts in this state."),
        ("pilot" = Option<Uuid>, Query, description = "Only this pilot's alerts."),
        crate::spreadsheet::SpreadsheetParams,
    ),
    responses(
        (status = 200, description = "Recorded alerts by alert id, with counts per state and the alert stream's position; a table of the alerts as CSV with `format=csv` or `Accept: text/csv`.",
            content(
                (AlertList = "application/json", example = crate::openapi::examples::alerts),
                (String = "text/csv"),
            )),
    )
)]
#[tracing::instrument(name = "list_alerts", skip_all)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Params,
) -> Result<Response, ApiError> {
    let (query, format) = spreadsheet::negotiate(query, &headers)?;
    let mut wanted_state = None;
    let mut wanted_pilot = None;
    for (name, value) in params(query, &["state", "pilot"])? {
        match name {
            "state" => {
                wanted_state = Some(StateKind::parse(&value).ok_or_else(|| {
                    ApiError::invalid(
                        "state",
                        format!(
                            "state must be pending, warning, firing or resolved; got {value:?}"
                        ),
                    )
                })?)
            }
            _ => wanted_pilot = Some(parse_uuid(name, &value, "a pilot_id")?),
        }
    }
    let now = state.clock.now();
    let fold = state.projection.read();
    let history = fold.alerts().recorded();
    let kept = history
        .alerts()
        .filter(|a| wanted_state.is_none_or(|s| a.state_kind() == s))
        .filter(|a| wanted_pilot.is_none_or(|p| a.latest.pilot_id == p));
    if let Format::Csv { bom } = format {
        let rows: Vec<RecordedAlert> = kept.cloned().collect();
        let context = Context { world: &fold, now };
        return spreadsheet::answer(&rows, &context, bom);
    }
    let alerts = kept.map(|a| AlertOut::of(a, now)).collect();
    Ok(Json(AlertList {
        alerts,
        counts: history.counts(),
        position: history.position(),
    })
    .into_response())
}

#[utoipa::path(get, path = "/alerts/{id}", operation_id = "get_alert", tag = "alerts", summary = "One alert",
    params(("id" = Uuid, Path, description = "The alert's `alert_id`.")),
    responses(
        (status = 200, description = "The alert as recorded, with the silence in force now.", body = AlertOut,
            example = crate::openapi::examples::alert),
        (status = 404, description = "`not_found`: no such recorded alert.", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "get_alert", skip_all)]
pub async fn get(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Json<AlertOut>, ApiError> {
    params(query, &[])?;
    let alert_id = alert_id(id)?;
    let fold = state.projection.read();
    let alert = fold
        .alerts()
        .recorded()
        .get(&alert_id)
        .ok_or_else(|| unknown(alert_id))?;
    Ok(Json(AlertOut::of(alert, state.clock.now())))
}

/// `GET /api/v1/alerts/events`: every alert event as stored, for exports and audits.
#[utoipa::path(get, path = "/alerts/events", operation_id = "export_alert_events", tag = "alerts", summary = "Export the alert stream",
    params(
        ("after" = Option<u64>, Query, description = "Alert events after this position (0 by default)."),
        ("limit" = Option<usize>, Query, description = "At most this many (1,000 by default, 10,000 at most)."),
    ),
    responses(
        (status = 200, description = "JSON Lines, one stored `AlertEvent` per line, paged like `GET /api/v1/events`.",
            content_type = "application/x-ndjson", body = pilot_projections::alerting::AlertEvent,
            headers(
                ("Pilot-Next-After" = u64, description = "The `after` of the next page."),
                ("Pilot-Last-Position" = u64, description = "The alert stream's last position when this page was read."),
            ),
            example = crate::openapi::examples::alert_events),
    )
)]
#[tracing::instrument(name = "export_alert_events", skip_all)]
pub async fn export(State(state): State<AppState>, query: Params) -> Result<Response, ApiError> {
    let mut after = 0;
    let mut limit = stream::DEFAULT_LIMIT;
    for (name, value) in params(query, &["after", "limit"])? {
        match name {
            "after" => after = stream::parse_position(name, &value)?,
            _ => limit = stream::parse_limit(&value)?,
        }
    }
    let last =
        state.log.last_alert_position().await.map_err(|e| {
            ApiError::store_unavailable(format!("cannot read the alert stream: {e}"))
        })?;
    let events = stream::read_pages(after, limit, last, |from, max| {
        state.log.read_alerts(from, max)
    })
    .await?;
    Ok(stream::page(&events, after, limit, last))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AckBody {
    note: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SilenceBody {
    /// Empty or missing ones are refused with their own codes, not as malformed JSON.
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

#[utoipa::path(post, path = "/alerts/{id}/ack", operation_id = "acknowledge_alert", tag = "alerts", summary = "Acknowledge an alert",
    params(("id" = Uuid, Path, description = "The alert's `alert_id`.")),
    request_body(content = AckBody, description = "Optional; an empty body acknowledges without a note.",
        example = json!({"note": "Called the bureau; decision expected Friday"})),
    responses(
        (status = 200, description = "The alert as it is now, with the alert stream's `position`.", body = AlertOut,
            example = crate::openapi::examples::alert),
        (status = 404, description = "`not_found`: no such recorded alert.", body = crate::error::Body),
        (status = 409, description = "`alert_resolved`, `already_acknowledged`, ...: the alert cannot take it now.", body = crate::error::Body),
        (status = 422, description = "The body breaks a rule (`no_user`, ...).", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "acknowledge_alert", skip_all, fields(caller = %caller.name))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertOut>, ApiError> {
    let (alert_id, body): (Uuid, AckBody) = action_request(&state, &caller, id, query, body)?;
    let action = UserActionKind::Acknowledged {
        note: body.note.unwrap_or_default(),
    };
    let event = judged(&state, alert_id, &caller, &action)?;
    record(&state, event, "alert_already_acknowledged").await
}

#[utoipa::path(post, path = "/alerts/{id}/silence", operation_id = "silence_alert", tag = "alerts", summary = "Silence an alert",
    params(("id" = Uuid, Path, description = "The alert's `alert_id`.")),
    request_body(content = SilenceBody,
        example = json!({"until": "2026-01-12T00:00:00Z", "reason": "Bureau closed for the holiday"})),
    responses(
        (status = 200, description = "The alert as it is now, with the alert stream's `position`.", body = AlertOut,
            example = crate::openapi::examples::alert),
        (status = 404, description = "`not_found`: no such recorded alert.", body = crate::error::Body),
        (status = 409, description = "`alert_resolved`, ...: the alert cannot take it now.", body = crate::error::Body),
        (status = 422, description = "`no_silence_reason`, `silence_not_after_start`, ...", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "silence_alert", skip_all, fields(caller = %caller.name))]
pub async fn silence(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertOut>, ApiError> {
    let (alert_id, body): (Uuid, SilenceBody) = action_request(&state, &caller, id, query, body)?;
    let until = parse_instant("until", &body.until)?;
    let action = UserActionKind::Silenced {
        until,
        reason: body.reason,
    };
    let event = judged(&state, alert_id, &caller, &action)?;
    record(&state, event, "conflict").await
}

/// The alert event recording `caller`'s `action` now, if the alert book takes it: the book's
/// rulebook decides, the same that applies the event once it is read back from the stream.
fn judged(
    state: &AppState,
    alert_id: Uuid,
    caller: &Caller,
    action: &UserActionKind,
) -> Result<AlertEvent, ApiError> {
    let now = state.clock.now();
    state
        .projection
        .read()
        .alerts()
        .book()
        .user_action_event(alert_id, &caller.name, now, action)
        .map_err(refused)
}

/// The alert an action names and the action's body (none at all means the defaults), once
/// the caller may act on that alert.
fn action_request<B: serde::de::DeserializeOwned + Default>(
    state: &AppState,
    caller: &Caller,
    id: Result<Path<String>, PathRejection>,
    query: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Uuid, B), ApiError> {
    params(query, &[])?;
    let alert_id = alert_id(id)?;
    let bytes = body.map_err(|rejection| ApiError::malformed_json(rejection.body_text()))?;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        B::default()
    } else {
        parse_json(&bytes)?
    };
    may_act(state, caller, alert_id)?;
    Ok((alert_id, body))
}

/// Records a user's alert event and answers with the alert as it is then.
async fn record(
    state: &AppState,
    event: AlertEvent,
    taken_code: &'static str,
) -> Result<Json<AlertOut>, ApiError> {
    let alert_id = event.notice.alert_id;
    let bytes = serde_json::to_vec(&event)
        .map_err(|e| ApiError::internal(format!("alert event does not serialize: {e}")))?;
    let message = AlertMessage {
        subject: event.subject(),
        bytes: bytes.into(),
    };
    let recorded = state
        .log
        .record_alerts(std::slice::from_ref(&message))
        .await
        .map_err(|e| ApiError::store_unavailable(e.to_string()))?;
    let position = match recorded.first() {
        Some(Recorded::Stored { position }) => {
            // Counted where it is recorded, as the alerter counts its own transitions.
            state.metrics.alert_recorded(event.kind());
            *position
        }
        _ => {
            return Err(ApiError::conflict(
                taken_code,
                format!("alert {alert_id} changed at the same moment (another {} was recorded first); read it again", event.kind()),
            ))
        }
    };
    state.projection.wait_for_alerts(position, FOLD_WAIT).await;
    let fold = state.projection.read();
    let alert = fold
        .alerts()
        .recorded()
        .get(&alert_id)
        .ok_or_else(|| unknown(alert_id))?;
    let mut answer = AlertOut::of(alert, state.clock.now());
    answer.position = Some(position);
    Ok(Json(answer))
}

/// Clerks act on alerts of their own office's pilots; admins on any; analysts on none (the
/// role check has already refused them).
fn may_act(state: &AppState, caller: &Caller, alert_id: Uuid) -> Result<(), ApiError> {
    let fold = state.projection.read();
    let pilot_id = fold
        .alerts()
        .recorded()
        .get(&alert_id)
        .map(|a| a.latest.pilot_id)
        .ok_or_else(|| unknown(alert_id))?;
    let office = fold
        .pilot(&pilot_id)
        .map(|record| record.state.office.clone())
        .unwrap_or_default();
    if caller.may_write_for(&office) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "alert {alert_id} is on a pilot of office {office:?}; {} may act only for office {:?}",
            caller.name,
            caller.office.as_deref().unwrap_or("")
        )))
    }
}

/// `GET /api/v1/alerts`: the alerts, how many are in each state, and the alert stream's
/// position they were read at.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    pub alerts: Vec<AlertOut>,
    pub counts: StateCounts,
    pub position: u64,
}

/// One alert as the API shows it: the recorded alert, and the silence in force now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertOut {
    #[serde(flatten)]
    pub alert: RecordedAlert,
    #[serde(with = "time::serde::rfc3339::option")]
    pub silenced_until: Option<OffsetDateTime>,
    /// After an acknowledgement or a silence: the alert stream's position it was recorded at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
}

impl AlertOut {
    fn of(alert: &RecordedAlert, now: OffsetDateTime) -> AlertOut {
        AlertOut {
            silenced_until: alert.silenced_at(now).map(|s| s.silence.until),
            alert: alert.clone(),
            position: None,
        }
    }
}

fn alert_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(raw) = id.map_err(|rejection| ApiError::invalid("id", rejection.body_text()))?;
    parse_uuid("id", &raw, "an alert_id, as `pilot alerts` lists it")
}

fn unknown(alert_id: Uuid) -> ApiError {
    ApiError::not_found(format!(
        "there is no recorded alert {alert_id}; `GET /api/v1/alerts` lists them"
    ))
}

fn refused(error: BookError) -> ApiError {
    match &error {
        BookError::UnknownAlert { alert_id } => unknown(*alert_id),
        BookError::Alert(
            AlertError::Resolved { .. }
            | AlertError::AlreadyAcknowledged { .. }
            | AlertError::NotRaised { .. }
            | AlertError::AlreadyStalled { .. }
            | AlertError::NoExtraDays,
        ) => ApiError::conflict(error.code(), error.to_string()),
        BookError::Alert(
            AlertError::NoSilenceReason
            | AlertError::SilenceNotAfterStart { .. }
            | AlertError::NoUser,
        ) => ApiError::unprocessable(error.code(), error.to_string()),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::malformed_json(e.to_string()))
}
