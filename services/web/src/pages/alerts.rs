//! The alerts inbox: acknowledging and silencing from it, and its live feed (SSE).

use super::*;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;

/// How often the live feed sends a comment to keep proxies from closing it.
const LIVE_KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug)]
struct AlertRow {
    id: String,
    pilot_href: String,
    pilot_title: String,
    approval: String,
    approver: String,
    level: String,
    requested: String,
    waited: String,
    light: ApprovalLight,
    acknowledged: String,
    silenced_until: String,
    /// The reason of the silence in force, if any.
    silence_reason: String,
    /// The reader may acknowledge it (a clerk of the pilot's office, an admin) and it is not
    /// acknowledged yet.
    may_ack: bool,
    /// The reader may silence it (the same people; also once acknowledged).
    may_silence: bool,
    /// The silence form as last sent, with the API's refusals at their fields.
    silence: SilenceForm,
}

/// The silence form of one alert: what was typed and what the API refused, per field.
#[derive(Debug, Default, Clone)]
pub(crate) struct SilenceForm {
    alert_id: String,
    reason: String,
    until: String,
    reason_error: String,
    until_error: String,
}

impl SilenceForm {
    /// A refusal to show: the form stays open.
    fn refused(&self) -> bool {
        !self.reason_error.is_empty() || !self.until_error.is_empty()
    }
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    l: Layout,
    tr: Tr,
    rows: Vec<AlertRow>,
    csrf: String,
    /// Where the live feed is (`/alerts/live`), for app.js.
    live: &'static str,
}

/// `GET /alerts`: warning and firing (stalled, escalated) alerts, as recorded.
pub(crate) async fn alerts(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
    inbox(&ctx, &state, &query, StatusCode::OK, None)
}

/// The inbox page; `silence`: a silence form sent back with its refusals.
fn inbox(
    ctx: &Ctx,
    state: &WebState,
    query: &Pairs,
    status: StatusCode,
    silence: Option<SilenceForm>,
) -> Response {
    let reader = match gate(ctx, state) {
        Ok(reader) => reader,
        Err(response) => return *response,
    };
    let tr = ctx.tr;
    let now = state.app.clock.now();
    let rows: Vec<AlertRow> = {
        let fold = state.app.projection.read();
        fold.alerts()
            .recorded()
            .alerts()
            .filter(|a| matches!(a.state_kind(), StateKind::Warning | StateKind::Firing))
            .map(|a| {
                let notice = &a.latest;
                let office = fold
                    .pilot(&notice.pilot_id)
                    .map(|r| r.state.office.clone())
                    .unwrap_or_default();
                let light = match &a.state {
                    AlertState::Firing {
                        escalation_level, ..
                    } if *escalation_level > 1 => ApprovalLight {
                        class: Light::Stalled.name(),
                        label: tr.t1("light-escalated", "level", &escalation_level.to_string()),
                        approval: notice.approval_id.clone(),
                    },
                    AlertState::Firing { .. } => ApprovalLight {
                        class: Light::Stalled.name(),
                        label: light_label(&tr, Light::Stalled),
                        approval: notice.approval_id.clone(),
                    },
                    _ => ApprovalLight {
                        class: Light::Warning.name(),
                        label: light_label(&tr, Light::Warning),
                        approval: notice.approval_id.clone(),
                    },
                };
                let waited_days = (now - notice.requested_at).whole_days().max(0);
                let id = notice.alert_id.to_string();
                let may_act = ctx.caller.is_some()
                    && reader.role != Role::Analyst
                    && reader.may_write_for(&office);
                let in_force = a.silenced_at(now);
                let silence = silence
                    .as_ref()
                    .filter(|form| form.alert_id == id)
                    .cloned()
                    .unwrap_or_else(|| SilenceForm {
                        alert_id: id.clone(),
                        ..SilenceForm::default()
                    });
                AlertRow {
                    id,
                    pilot_href: format!("/pilots/{}", notice.pilot_id),
                    pilot_title: notice.pilot_title.clone(),
                    approval: notice.approval_id.clone(),
                    approver: notice
                        .approver_name
                        .clone()
                        .unwrap_or_else(|| notice.approver_id.to_string()),
                    level: tr.t(&format!("level-{}", notice.level.as_str())),
                    requested: view::date(notice.requested_at),
                    waited: tr.t1("alerts-days", "days", &waited_days.to_string()),
                    light,
                    acknowledged: a.acknowledged.as_ref().map_or_else(String::new, |ack| {
                        format!(
                            "{} ({})",
                            ack.acknowledgement.user,
                            view::date(ack.acknowledgement.at)
                        )
                    }),
                    silenced_until: in_force
                        .map_or_else(String::new, |s| view::date_time(s.silence.until)),
                    silence_reason: in_force.map_or_else(String::new, |s| s.silence.reason.clone()),
                    may_ack: may_act && a.acknowledged.is_none(),
                    may_silence: may_act,
                    silence,
                }
            })
            .collect()
    };
    let title = tr.t("alerts-title");
    let template = AlertsPage {
        l: Layout::new(ctx, state, title, "/alerts", query, "alerts"),
        tr,
        rows,
        csrf: ctx.csrf().unwrap_or_default(),
        live: "/alerts/live",
    };
    page(ctx, status, &template)
}

/// A checked POST on one alert: its form, who sent it, the caller, the alert id.
type AlertAction = (BTreeMap<String, String>, Ctx, Caller, String);

/// What acknowledging and silencing both check first: the CSRF token, a signed-in caller who
/// is not an analyst (the API checks the office), an alert id in the path.
fn alert_action(
    state: &WebState,
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Result<AlertAction, Box<Response>> {
    let (form, ctx) = form_request(state, headers, form)?;
    let Some(caller) = ctx.caller.clone() else {
        return Err(Box::new(Redirect::to("/signin").into_response()));
    };
    let refuse = |status, key| Box::new(error_page(&ctx, state, status, ctx.tr.t(key), None));
    if caller.role == Role::Analyst {
        return Err(refuse(StatusCode::FORBIDDEN, "error-forbidden"));
    }
    let Ok(Path(id)) = id else {
        return Err(refuse(StatusCode::NOT_FOUND, "error-not-found"));
    };
    Ok((form, ctx, caller, id))
}

/// `POST /alerts/{id}/ack` (`csrf`, `note`): acknowledges through the API's own handler,
/// which applies its rules (office, state); back to the inbox.
pub(crate) async fn acknowledge(
    State(state): State<WebState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let (form, ctx, caller, id) = match alert_action(&state, &headers, id, form) {
        Ok(action) => action,
        Err(response) => return *response,
    };
    let note = form.get("note").map(|n| n.trim()).unwrap_or("");
    let body = serde_json::json!({ "note": note }).to_string();
    match alerts_api::acknowledge(
        State(state.app.clone()),
        Extension(caller),
        Ok(Path(id)),
        Ok(Query(Vec::new())),
        Ok(Bytes::from(body)),
    )
    .await
    {
        Ok(_) => Redirect::to("/alerts").into_response(),
        Err(error) => api_error_page(&ctx, &state, error),
    }
}

/// `POST /alerts/{id}/silence` (`csrf`, `reason`, `until`): silences through the API's own
/// handler, which applies its rules (office, a reason, an end after now); back to the inbox,
/// or the inbox again with the API's refusals at their fields.
///
/// `until` is the form's `datetime-local` value (`2026-12-06T18:00`, read as UTC, as the field's
/// label says), a date (the end of that day, UTC) or an RFC 3339 timestamp.
pub(crate) async fn silence(
    State(state): State<WebState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let (form, ctx, caller, id) = match alert_action(&state, &headers, id, form) {
        Ok(action) => action,
        Err(response) => return *response,
    };
    let reason = form.get("reason").map(|r| r.trim()).unwrap_or("");
    let until = form.get("until").map(|u| u.trim()).unwrap_or("");
    let body =
        serde_json::json!({ "reason": reason, "until": instant_of_field(until) }).to_string();
    let answer = alerts_api::silence(
        State(state.app.clone()),
        Extension(caller),
        Ok(Path(id.clone())),
        Ok(Query(Vec::new())),
        Ok(Bytes::from(body)),
    )
    .await;
    let error = match answer {
        Ok(_) => return Redirect::to("/alerts").into_response(),
        Err(error) => error,
    };
    let mut refused = SilenceForm {
        alert_id: id,
        reason: reason.to_string(),
        until: until.to_string(),
        ..SilenceForm::default()
    };
    match (error.code, error.field.as_deref()) {
        ("no_silence_reason", _) => refused.reason_error = ctx.tr.t("silence-no-reason"),
        ("silence_not_after_start", _) => refused.until_error = ctx.tr.t("silence-not-after-now"),
        ("invalid_parameter", Some("until")) => refused.until_error = ctx.tr.t("silence-bad-until"),
        _ => return api_error_page(&ctx, &state, error),
    }
    inbox(&ctx, &state, &Vec::new(), error.status, Some(refused))
}

/// The API's instant from the form's `until`: a `datetime-local` value (`YYYY-MM-DDTHH:MM`, or
/// with seconds) gets `Z` (UTC); anything else is passed on for the API to read or refuse.
fn instant_of_field(until: &str) -> String {
    let bytes = until.as_bytes();
    let local = until.is_ascii()
        && bytes.len() >= 16
        && bytes[10] == b'T'
        && !bytes[10..]
            .iter()
            .any(|b| matches!(b, b'Z' | b'z' | b'+' | b'-'));
    if !local {
        return until.to_string();
    }
    match until.len() {
        16 => format!("{until}:00Z"),
        _ => format!("{until}Z"),
    }
}

/// `GET /alerts/live`: Server-Sent Events, one `alerts` event (its data and id the alert
/// stream's position) each time the alert stream records something new: a new alert, a
/// change of state, an acknowledgement, a silence. The inbox's script reloads the list on
/// each. Resumes after `Last-Event-ID`; ends when the server shuts down.
pub(crate) async fn live(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let ctx = Ctx::read(&state, &headers, None);
    if ctx.reader(&state).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "sign in first",
        )
            .into_response();
    }
    let current = state.app.projection.alert_position();
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|p| *p <= current)
        .unwrap_or(current);
    Sse::new(alert_changes(&state, after))
        .keep_alive(KeepAlive::new().interval(LIVE_KEEP_ALIVE))
        .into_response()
}

/// One event per new alert-stream position past `after`, until shutdown.
fn alert_changes(
    state: &WebState,
    after: u64,
) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
    let positions = state.app.projection.subscribe_alerts();
    let shutdown = state.app.shutting_down();
    futures::stream::unfold(
        (after, positions, shutdown),
        |(after, mut positions, mut shutdown)| async move {
            let reached = tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return None,
                reached = positions.wait_for(|p| *p > after) => *reached.ok()?,
            };
            let event = Event::default()
                .event("alerts")
                .id(reached.to_string())
                .data(reached.to_string());
            Some((Ok(event), (reached, positions, shutdown)))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::instant_of_field;

    #[test]
    fn the_until_field_is_read_as_utc_when_it_has_no_offset() {
        assert_eq!(instant_of_field("2026-12-06T18:00"), "2026-12-06T18:00:00Z");
        assert_eq!(
            instant_of_field("2026-12-06T18:00:30"),
            "2026-12-06T18:00:30Z"
        );
        assert_eq!(
            instant_of_field("2026-12-06T18:00:00+08:00"),
            "2026-12-06T18:00:00+08:00"
        );
        assert_eq!(
            instant_of_field("2026-12-06T18:00:00-05:00"),
            "2026-12-06T18:00:00-05:00"
        );
        assert_eq!(instant_of_field("2026-12-06T18:00Z"), "2026-12-06T18:00Z");
        assert_eq!(instant_of_field("2026-12-06"), "2026-12-06");
        assert_eq!(instant_of_field(""), "");
        assert_eq!(instant_of_field("soon"), "soon");
        assert_eq!(instant_of_field("2026-12-06T18:00é"), "2026-12-06T18:00é");
    }
}
