//! The alerts inbox, and acknowledging from it.

use super::*;

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
    /// The reader may acknowledge it (a clerk of the pilot's office, an admin) and it is not
    /// acknowledged yet.
    may_ack: bool,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    l: Layout,
    tr: Tr,
    rows: Vec<AlertRow>,
    csrf: String,
}

/// `GET /alerts`: warning and firing (stalled, escalated) alerts, as recorded.
pub(crate) async fn alerts(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let query = pairs(query);
    let ctx = Ctx::read(
        &state,
        &headers,
        Some(param(&query, "lang")).filter(|l| !l.is_empty()),
    );
    let reader = match gate(&ctx, &state) {
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
                AlertRow {
                    id: notice.alert_id.to_string(),
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
                    silenced_until: a
                        .silenced_at(now)
                        .map_or_else(String::new, |s| view::date_time(s.silence.until)),
                    may_ack: ctx.caller.is_some()
                        && reader.role != Role::Analyst
                        && reader.may_write_for(&office)
                        && a.acknowledged.is_none(),
                }
            })
            .collect()
    };
    let title = tr.t("alerts-title");
    let template = AlertsPage {
        l: Layout::new(&ctx, &state, title, "/alerts", &query, "alerts"),
        tr,
        rows,
        csrf: ctx.csrf().unwrap_or_default(),
    };
    page(&ctx, StatusCode::OK, &template)
}

/// `POST /alerts/{id}/ack` (`csrf`, `note`): acknowledges through the API's own handler,
/// which applies its rules (office, state); back to the inbox.
pub(crate) async fn acknowledge(
    State(state): State<WebState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let ctx = Ctx::read(&state, &headers, None);
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if let Err(response) = check_csrf(&ctx, &state, &form) {
        return *response;
    }
    let Some(caller) = ctx.caller.clone() else {
        return Redirect::to("/signin").into_response();
    };
    if caller.role == Role::Analyst {
        return error_page(
            &ctx,
            &state,
            StatusCode::FORBIDDEN,
            ctx.tr.t("error-forbidden"),
            None,
        );
    }
    let Ok(Path(id)) = id else {
        return error_page(
            &ctx,
            &state,
            StatusCode::NOT_FOUND,
            ctx.tr.t("error-not-found"),
            None,
        );
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

// ---------------------------------------------------------------- sign-in
