//! One pilot's page: facts, stage timeline, approvals, support, metrics, highlights, events.

use super::*;

#[derive(Debug)]
struct Band {
    stage: String,
    from: String,
    until: String,
    width: &'static str,
}

#[derive(Debug)]
struct ApprovalRow {
    approval: String,
    approver: String,
    level: String,
    requested: String,
    decided: String,
    outcome: String,
    light: Option<ApprovalLight>,
}

#[derive(Debug)]
struct StakeholderRow {
    name: String,
    kind: String,
    influence: String,
    stance: String,
    contacts: u32,
    last_contact: String,
}

#[derive(Debug)]
struct MetricRow {
    metric: String,
    value: String,
    unit: String,
    as_of: String,
    target: String,
    due: String,
    /// For `<meter>`: the raw value and target.
    meter: Option<(String, String)>,
    share: String,
}

#[derive(Debug)]
struct HighlightRow {
    date: String,
    title: String,
    kind: String,
    level: String,
    conferred_by: String,
    points: u32,
    balance: String,
}

#[derive(Debug)]
struct EventRow {
    version: String,
    position: String,
    kind: String,
    occurred: String,
    recorded: String,
    actor: String,
    json: String,
}

#[derive(Template)]
#[template(path = "pilot.html")]
struct PilotPage {
    l: Layout,
    tr: Tr,
    id: String,
    as_of: String,
    title: String,
    facts: Vec<(String, String)>,
    bands: Vec<Band>,
    approvals: Vec<ApprovalRow>,
    support_index: String,
    stakeholders: Vec<StakeholderRow>,
    metrics: Vec<MetricRow>,
    highlights: Vec<HighlightRow>,
    events: Vec<EventRow>,
    /// The reader may log for this pilot's office (the "Log activity" link).
    may_log: bool,
}

/// `GET /pilots/{id}?as_of=`.
pub(crate) async fn pilot(
    State(state): State<WebState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let query = pairs(query);
    let ctx = Ctx::read(
        &state,
        &headers,
        Some(param(&query, "lang")).filter(|l| !l.is_empty()),
    );
    if let Err(response) = gate(&ctx, &state) {
        return *response;
    }
    let tr = ctx.tr;
    let not_found = |ctx: &Ctx| {
        error_page(
            ctx,
            &state,
            StatusCode::NOT_FOUND,
            tr.t("error-no-pilot"),
            None,
        )
    };
    let Some(id) = id
        .ok()
        .and_then(|Path(raw)| Uuid::parse_str(raw.trim()).ok())
    else {
        return not_found(&ctx);
    };
    let as_of_raw = param(&query, "as_of");
    let as_of = match parse_as_of(&ctx, &state, as_of_raw) {
        Ok(as_of) => as_of,
        Err(response) => return *response,
    };
    let when: Pairs = match as_of_raw {
        "" => Vec::new(),
        day => vec![("as_of".to_string(), day.to_string())],
    };
    let pilot_view = match reads::get_pilot(
        State(state.app.clone()),
        Ok(Path(id.to_string())),
        Ok(Query(when.clone())),
    )
    .await
    {
        Ok(axum::Json(view)) => view,
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            let exists = state.app.projection.read().pilot(&id).is_some();
            if exists {
                return error_page(
                    &ctx,
                    &state,
                    StatusCode::NOT_FOUND,
                    tr.t1("error-not-yet", "date", as_of_raw),
                    None,
                );
            }
            return not_found(&ctx);
        }
        Err(error) => return api_error_page(&ctx, &state, error),
    };
    let support = match reads::pilot_support(
        State(state.app.clone()),
        Ok(Path(id.to_string())),
        Ok(Query(when.clone())),
    )
    .await
    {
        Ok(axum::Json(support)) => support,
        Err(error) => return api_error_page(&ctx, &state, error),
    };
    let mut highlight_query = vec![("pilot".to_string(), id.to_string())];
    if !as_of_raw.is_empty() {
        highlight_query.push(("until".to_string(), as_of_raw.to_string()));
    }
    let highlights =
        match reads::highlights(State(state.app.clone()), Ok(Query(highlight_query))).await {
            Ok(axum::Json(lines)) => lines,
            Err(error) => return api_error_page(&ctx, &state, error),
        };
    let events = match reads::pilot_events(
        State(state.app.clone()),
        Ok(Path(id.to_string())),
        Ok(Query(Vec::new())),
    )
    .await
    {
        Ok(axum::Json(events)) => events,
        Err(error) => return api_error_page(&ctx, &state, error),
    };

    let p = &pilot_view.pilot;
    let now = as_of.unwrap_or_else(OffsetDateTime::now_utc);
    let facts = vec![
        (tr.t("field-office"), p.office.clone()),
        (tr.t("field-stage"), stage_label(&tr, p.stage)),
        (tr.t("field-jurisdiction"), p.jurisdiction.clone()),
        (tr.t("field-policy-area"), p.policy_area.clone()),
        (
            tr.t("field-level"),
            tr.t(&format!("level-{}", p.level.as_str())),
        ),
        (tr.t("field-problem"), p.problem_frame.clone()),
        (tr.t("field-points"), pilot_view.points.to_string()),
        (tr.t("field-last-activity"), view::date(p.last_activity)),
        (tr.t("field-version"), p.version.to_string()),
    ];
    let bands = bands(&tr, p, now);
    let names: BTreeMap<Uuid, String> = {
        let world = state.app.projection.read();
        p.pending_approvals
            .values()
            .map(|a| a.approver_id)
            .chain(p.decided_approvals.iter().map(|d| d.approval.approver_id))
            .filter_map(|id| world.registry().get(&id).map(|s| (id, s.name.clone())))
            .collect()
    };
    let approver = |id: &Uuid| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let rules = state.app.stall_terms.rules_for(&id);
    let mut approvals: Vec<ApprovalRow> = p
        .decided_approvals
        .iter()
        .map(|d| ApprovalRow {
            approval: d.approval.approval_id.clone(),
            approver: approver(&d.approval.approver_id),
            level: tr.t(&format!("level-{}", d.approval.level.as_str())),
            requested: view::date(d.approval.requested_at),
            decided: view::date(d.decided_at),
            outcome: tr.t(&format!("outcome-{}", outcome_name(d.outcome))),
            light: None,
        })
        .collect();
    approvals.extend(p.pending_approvals.values().map(|a| {
        let light = Light::of(&stall_status(a, rules, now));
        ApprovalRow {
            approval: a.approval_id.clone(),
            approver: approver(&a.approver_id),
            level: tr.t(&format!("level-{}", a.level.as_str())),
            requested: view::date(a.requested_at),
            decided: "—".to_string(),
            outcome: tr.t("outcome-pending"),
            light: Some(ApprovalLight {
                class: light.name(),
                label: light_label(&tr, light),
                approval: a.approval_id.clone(),
            }),
        }
    }));
    let stakeholders = support
        .stakeholders
        .iter()
        .map(|row| StakeholderRow {
            name: row.who.name.clone().unwrap_or_else(|| tr.t("retracted")),
            kind: row
                .who
                .kind
                .map_or_else(String::new, |k| tr.t(&format!("kind-{}", k.as_str()))),
            influence: row
                .who
                .influence
                .map_or_else(String::new, |i| i.value().to_string()),
            stance: row
                .support
                .stance
                .map_or_else(|| "—".to_string(), |s| stance_label(&tr, s.value())),
            contacts: row.support.contacts,
            last_contact: row
                .support
                .last_contact
                .map_or_else(|| "—".to_string(), view::date),
        })
        .collect();
    let metrics = p
        .metrics
        .keys()
        .filter_map(|metric| {
            let latest = p.latest_metric(metric)?;
            let target = p.targets.get(metric);
            Some(MetricRow {
                metric: metric.clone(),
                value: view::number(latest.value),
                unit: latest.unit.clone(),
                as_of: latest
                    .as_of
                    .format(time::macros::format_description!("[year]-[month]-[day]"))
                    .unwrap_or_default(),
                target: target.map_or_else(|| "—".to_string(), |t| view::number(t.target)),
                due: target.map_or_else(String::new, |t| {
                    t.due
                        .format(time::macros::format_description!("[year]-[month]-[day]"))
                        .unwrap_or_default()
                }),
                meter: target
                    .filter(|t| t.target > 0.0)
                    .map(|t| (latest.value.to_string(), t.target.to_string())),
                share: target
                    .filter(|t| t.target > 0.0)
                    .map_or_else(String::new, |t| {
                        format!("{}%", view::number(latest.value / t.target * 100.0))
                    }),
            })
        })
        .collect();
    let highlights = highlights
        .iter()
        .map(|l| HighlightRow {
            date: view::date(l.line.occurred_at),
            title: l.line.title.clone(),
            kind: tr.t(&format!("highlight-{}", l.line.kind.as_str())),
            level: tr.t(&format!("level-{}", l.line.level.as_str())),
            conferred_by: l.line.conferred_by.clone(),
            points: l.line.points,
            balance: l.balance.map_or_else(String::new, |b| b.to_string()),
        })
        .collect();
    let events = events
        .iter()
        .filter(|event| {
            as_of.is_none_or(|limit| {
                event
                    .get("occurred_at")
                    .and_then(|v| v.as_str())
                    .and_then(|t| {
                        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .is_none_or(|at| at <= limit)
            })
        })
        .map(|event| {
            let text = |name: &str| {
                event
                    .get(name)
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .unwrap_or_default()
            };
            let actor = event
                .get("actor")
                .map(|a| {
                    let part = |n: &str| a.get(n).and_then(|v| v.as_str()).unwrap_or("");
                    format!("{} / {}", part("office"), part("user"))
                })
                .unwrap_or_default();
            EventRow {
                version: text("version"),
                position: text("position"),
                kind: text("type"),
                occurred: text("occurred_at"),
                recorded: text("recorded_at"),
                actor,
                json: serde_json::to_string_pretty(event).unwrap_or_default(),
            }
        })
        .collect();
    let template = PilotPage {
        l: Layout::new(
            &ctx,
            &state,
            p.title.clone(),
            &format!("/pilots/{id}"),
            &query,
            "",
        ),
        tr,
        id: id.to_string(),
        as_of: as_of_raw.to_string(),
        title: p.title.clone(),
        facts,
        bands,
        approvals,
        support_index: pilot_view
            .support_index
            .map_or_else(|| "—".to_string(), |s| format!("{s:.2}")),
        stakeholders,
        metrics,
        highlights,
        events,
        may_log: ctx
            .caller
            .as_ref()
            .is_some_and(|c| c.role != Role::Analyst && c.may_write_for(&pilot_view.pilot.office)),
    };
    page(&ctx, StatusCode::OK, &template)
}

fn outcome_name(outcome: pilot_projections::pilot::ApprovalOutcome) -> &'static str {
    use pilot_projections::pilot::ApprovalOutcome;
    match outcome {
        ApprovalOutcome::Granted => "granted",
        ApprovalOutcome::Denied => "denied",
        ApprovalOutcome::Withdrawn => "withdrawn",
        ApprovalOutcome::PilotEnded => "pilot-ended",
    }
}

fn stance_label(tr: &Tr, stance: i8) -> String {
    let key = match stance {
        i8::MIN..=-2 => "stance-strongly-opposed",
        -1 => "stance-opposed",
        0 => "stance-neutral",
        1 => "stance-supportive",
        _ => "stance-strongly-supportive",
    };
    format!("{stance:+} {}", tr.t(key))
}

/// Each stage the pilot entered as a band from its entry to the next (or to `now` for the
/// last, unless it is terminal), its width its share of the whole.
fn bands(tr: &Tr, p: &pilot_projections::pilot::PilotState, now: OffsetDateTime) -> Vec<Band> {
    let entries = &p.stage_history;
    let Some(first) = entries.first() else {
        return Vec::new();
    };
    let end = |index: usize| -> Option<OffsetDateTime> {
        match entries.get(index + 1) {
            Some(next) => Some(next.entered_at),
            None if entries[index].stage.is_terminal() => None,
            None => Some(now.max(entries[index].entered_at)),
        }
    };
    let last_end = end(entries.len() - 1).unwrap_or(entries[entries.len() - 1].entered_at);
    let whole = (last_end - first.entered_at).as_seconds_f64();
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let until = end(index);
            let span = until.map_or(0.0, |u| (u - entry.entered_at).as_seconds_f64());
            Band {
                stage: stage_label(tr, entry.stage),
                from: view::date(entry.entered_at),
                until: match (until, entries.get(index + 1)) {
                    (Some(u), Some(_)) => view::date(u),
                    (Some(_), None) => tr.t("timeline-ongoing"),
                    (None, _) => String::new(),
                },
                width: view::width_class(span, whole),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- alerts
