//! One pilot's page: facts, stage timeline with approval, merge and scale-up marks, approvals,
//! support (coalition, opposition, contacts over time), metrics against targets as charts,
//! highlights, and the events with each one's hash-chain status. `as_of` and `known_at`.
//! It prints as the briefing dossier (`assets/print.css`).

mod chain;
mod marks;

use super::*;
use crate::chart::{line_chart, Chart, Point, Reference};
use crate::timeline::{timeline, Timeline};
use chain::{check_chain, ChainCheck};
use marks::{marks, outcome_name, stages, Mark};

/// A stage as text, under the timeline's SVG (the accessible form).
#[derive(Debug)]
struct Band {
    stage: String,
    from: String,
    until: String,
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
    id: String,
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
    /// The target in force judged at the page's day: open, met, or missed and by how much.
    outcome: String,
}

#[derive(Debug)]
struct EventRow {
    /// This event's link in the chain: `Some(true)` holds, `Some(false)` broken.
    chain_ok: Option<bool>,
    chain: String,
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
    known_at: String,
    title: String,
    /// When the page was rendered (the dossier's "printed") and the log position it shows.
    printed: String,
    position: String,
    facts: Vec<(String, String)>,
    /// Schema 2's links to other pilots: (relation in words, the other pilot's link, its title).
    links: Vec<(String, String, String)>,
    bands: Vec<Band>,
    timeline: Option<Timeline>,
    marks: Vec<Mark>,
    approvals: Vec<ApprovalRow>,
    support_index: String,
    stakeholders: Vec<StakeholderRow>,
    coalition: Vec<(String, String)>,
    opposition: Vec<(String, String)>,
    contacts: Vec<ContactRow>,
    contacts_chart: Option<Chart>,
    metrics: Vec<MetricRow>,
    metric_charts: Vec<MetricChart>,
    highlights: Vec<HighlightLineRow>,
    events: Vec<EventRow>,
    chain: ChainCheck,
    /// The reader may log for this pilot's office (the "Log activity" link).
    may_log: bool,
}

#[derive(Debug)]
struct ContactRow {
    date: String,
    stakeholder_id: String,
    stakeholder: String,
    channel: String,
    total: usize,
}

/// One metric's readings over time against its target: the chart and the same figures as a
/// table (the accessible form).
#[derive(Debug)]
struct MetricChart {
    metric: String,
    chart: Chart,
    readings: Vec<(String, String)>,
    target: String,
}

/// `GET /pilots/{id}?as_of=`.
pub(crate) async fn pilot(
    State(state): State<WebState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
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
    let known_raw = param(&query, "known_at");
    let known_at = match parse_as_of(&ctx, &state, known_raw) {
        Ok(known_at) => known_at,
        Err(response) => return *response,
    };
    let mut when: Pairs = Vec::new();
    if !as_of_raw.is_empty() {
        when.push(("as_of".to_string(), as_of_raw.to_string()));
    }
    if !known_raw.is_empty() {
        when.push(("known_at".to_string(), known_raw.to_string()));
    }
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
                    tr.t1(
                        "error-not-yet",
                        "date",
                        if as_of_raw.is_empty() {
                            known_raw
                        } else {
                            as_of_raw
                        },
                    ),
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
        match reads::highlight_lines(State(state.app.clone()), Ok(Query(highlight_query))).await {
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
    // The events as they stood (occurred by `as_of`) and as they were known (recorded by
    // `known_at`).
    let instant = |event: &serde_json::Value, name: &str| {
        event.get(name).and_then(|v| v.as_str()).and_then(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    let shown: Vec<&serde_json::Value> = events
        .iter()
        .filter(|event| {
            as_of.is_none_or(|limit| instant(event, "occurred_at").is_none_or(|at| at <= limit))
                && known_at
                    .is_none_or(|limit| instant(event, "recorded_at").is_none_or(|at| at <= limit))
        })
        .collect();
    let known_ids: BTreeSet<&str> = shown
        .iter()
        .filter_map(|event| event.get("event_id").and_then(|v| v.as_str()))
        .collect();
    let of_type = |kind: &'static str| {
        shown
            .iter()
            .copied()
            .filter(move |event| event.get("type").and_then(|v| v.as_str()) == Some(kind))
    };
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
    let stages = stages(&tr, p, now);
    let bands = stages
        .iter()
        .enumerate()
        .map(|(index, s)| Band {
            stage: s.label.clone(),
            from: pilot_projections::period::day(
                s.from,
                p.stage_history.get(index).and_then(|e| e.precision),
            ),
            until: match (s.until, index + 1 < stages.len()) {
                (Some(u), true) => pilot_projections::period::day(
                    u,
                    p.stage_history.get(index + 1).and_then(|e| e.precision),
                ),
                (Some(_), false) => tr.t("timeline-ongoing"),
                (None, _) => String::new(),
            },
        })
        .collect();
    let data_id = |event: &serde_json::Value, name: &str| {
        event
            .get("data")
            .and_then(|d| d.get(name))
            .and_then(|v| v.as_str())
            .and_then(|v| Uuid::parse_str(v).ok())
    };
    #[allow(clippy::type_complexity)]
    let (names, (titles, merged_at)): (
        BTreeMap<Uuid, String>,
        (BTreeMap<Uuid, String>, BTreeMap<Uuid, OffsetDateTime>),
    ) = {
        let world = state.app.projection.read();
        let names = p
            .pending_approvals
            .values()
            .map(|a| a.approver_id)
            .chain(p.decided_approvals.iter().map(|d| d.approval.approver_id))
            .chain(of_type("lobbying.contact_logged").filter_map(|e| data_id(e, "stakeholder_id")))
            .filter_map(|id| world.registry().get(&id).map(|s| (id, s.name.clone())))
            .collect();
        let titles = of_type("pilot.merged")
            .filter_map(|e| data_id(e, "into_pilot_id"))
            .chain(p.merged_from.iter().copied())
            .chain(p.links.iter().map(|l| l.other_pilot_id))
            .filter_map(|id| world.pilot(&id).map(|r| (id, r.state.title.clone())))
            .collect();
        // When each pilot merged into this one was merged: its last stage's entry.
        let merged = p
            .merged_from
            .iter()
            .filter_map(|id| {
                let last = world.pilot(id)?.state.stage_history.last()?;
                (last.stage == Stage::Merged).then_some((*id, last.entered_at))
            })
            .collect::<BTreeMap<Uuid, OffsetDateTime>>();
        (names, (titles, merged))
    };
    let approver = |id: &Uuid| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let links = p
        .links
        .iter()
        .filter(|l| as_of.is_none_or(|limit| l.at <= limit))
        .map(|l| {
            (
                tr.t(&format!("link-{}", l.relation.as_str())),
                format!("/pilots/{}", l.other_pilot_id),
                titles
                    .get(&l.other_pilot_id)
                    .cloned()
                    .unwrap_or_else(|| l.other_pilot_id.to_string()),
            )
        })
        .collect();
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
    let lights: BTreeMap<String, Light> = p
        .pending_approvals
        .values()
        .map(|a| {
            (
                a.approval_id.clone(),
                Light::of(&stall_status(a, rules, now)),
            )
        })
        .collect();
    approvals.extend(p.pending_approvals.values().map(|a| {
        let light = lights.get(&a.approval_id).copied().unwrap_or(Light::Ok);
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
    let (marks, waits, points) = marks(
        &tr,
        p,
        now,
        &approver,
        &lights,
        (&titles, &merged_at),
        of_type("pilot.merged"),
    );
    let timeline = timeline(
        tr.t("pilot-timeline"),
        tr.t1(
            "timeline-desc",
            "stages",
            &stages
                .iter()
                .map(|s| format!("{} {}", s.label, view::date(s.from)))
                .collect::<Vec<_>>()
                .join(", "),
        ) + " "
            + &tr.t1("timeline-desc-marks", "count", &marks.len().to_string()),
        &stages,
        &waits,
        &points,
        now,
    );
    let stakeholders = support
        .stakeholders
        .iter()
        .map(|row| StakeholderRow {
            id: row.who.stakeholder_id.to_string(),
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
    // Judged at the page's day, in the pilot's jurisdiction's offset (the lock is released at once).
    let outcomes = {
        let world = state.app.projection.read();
        pilot_projections::targets::outcomes(p, world.offset_of(p), now)
    };
    let metrics = p
        .metrics
        .keys()
        .filter_map(|metric| {
            let latest = p.latest_metric(metric)?;
            let target = p.targets.get(metric);
            let outcome = outcomes
                .iter()
                .rev()
                .find(|o| o.target.metric == *metric && o.superseded_by.is_none());
            Some(MetricRow {
                outcome: outcome.map_or_else(|| "—".to_string(), |o| outcome_text(&tr, o)),
                metric: metric.clone(),
                value: format!(
                    "{}{}",
                    qualifier_sign(latest.qualifier),
                    view::number(latest.value)
                ),
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
    let named = |ids: &[Uuid]| -> Vec<(String, String)> {
        ids.iter()
            .map(|id| {
                let name = support
                    .stakeholders
                    .iter()
                    .find(|row| row.who.stakeholder_id == *id)
                    .and_then(|row| row.who.name.clone())
                    .unwrap_or_else(|| tr.t("retracted"));
                (id.to_string(), name)
            })
            .collect()
    };
    let coalition = named(&support.coalition);
    let opposition = named(&support.opposition);
    let mut contacts: Vec<ContactRow> = Vec::new();
    let mut contact_points = Vec::new();
    for event in of_type("lobbying.contact_logged") {
        let Some(at) = instant(event, "occurred_at") else {
            continue;
        };
        let who = data_id(event, "stakeholder_id");
        let total = contacts.len() + 1;
        contact_points.push(Point {
            at,
            value: total as f64,
            label: format!("{}: {total}", view::date(at)),
        });
        contacts.push(ContactRow {
            date: view::date(at),
            stakeholder_id: who.map(|id| id.to_string()).unwrap_or_default(),
            stakeholder: who
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| tr.t("retracted")),
            channel: event
                .get("data")
                .and_then(|d| d.get("channel"))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
            total,
        });
    }
    let contacts_chart = line_chart(
        "chart-contacts",
        tr.t("chart-contacts-title"),
        tr.t1("chart-contacts-desc", "count", &contacts.len().to_string()),
        &contact_points,
        None,
        true,
    );
    let metric_charts = p
        .metrics
        .iter()
        .enumerate()
        .filter_map(|(index, (metric, readings))| {
            let target = p.targets.get(metric);
            let points: Vec<Point> = readings
                .iter()
                .map(|r| Point {
                    at: r.as_of.midnight().assume_utc(),
                    value: r.value,
                    label: format!("{}: {} {}", r.as_of, view::number(r.value), r.unit),
                })
                .collect();
            let target_text = target.map_or_else(String::new, |t| {
                tr.t1("chart-target", "target", &view::number(t.target))
            });
            let readings_text: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
            let chart = line_chart(
                &format!("chart-metric-{index}"),
                tr.t1("chart-metric-title", "metric", metric),
                format!("{}. {}", readings_text.join("; "), target_text),
                &points,
                target.map(|t| Reference {
                    value: t.target,
                    label: target_text.clone(),
                }),
                false,
            )?;
            Some(MetricChart {
                metric: metric.clone(),
                chart,
                readings: readings
                    .iter()
                    .map(|r| {
                        (
                            r.as_of.to_string(),
                            format!("{} {}", view::number(r.value), r.unit),
                        )
                    })
                    .collect(),
                target: target.map_or_else(
                    || "—".to_string(),
                    |t| {
                        format!(
                            "{} ({} {})",
                            view::number(t.target),
                            tr.t("field-due"),
                            t.due
                        )
                    },
                ),
            })
        })
        .collect();
    let highlights = highlights
        .iter()
        .filter(|l| known_at.is_none() || known_ids.contains(l.line.event_id.to_string().as_str()))
        .map(|l| HighlightLineRow::of(&tr, l, &titles))
        .collect();
    let chain = check_chain(&tr, &state, id).await;
    let status: BTreeMap<u64, bool> = chain.1;
    let chain = chain.0;
    let events = shown
        .iter()
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
            let chain_ok = event
                .get("position")
                .and_then(|v| v.as_u64())
                .and_then(|position| status.get(&position).copied());
            EventRow {
                chain: match chain_ok {
                    Some(true) => tr.t("chain-link-ok"),
                    Some(false) => tr.t("chain-link-broken"),
                    None => "—".to_string(),
                },
                chain_ok,
                version: text("version"),
                position: text("position"),
                kind: text("type"),
                // A vague date shows as its period ("1992"), not as its first instant.
                occurred: match (
                    instant(event, "occurred_at"),
                    event
                        .get("precision")
                        .and_then(|v| v.as_str())
                        .and_then(pilot_events::Precision::parse),
                ) {
                    (Some(at), Some(precision)) => {
                        pilot_projections::period::shown(at, Some(precision))
                    }
                    _ => text("occurred_at"),
                },
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
        known_at: known_raw.to_string(),
        title: p.title.clone(),
        printed: view::date_time(OffsetDateTime::now_utc()),
        position: state.app.projection.position().to_string(),
        facts,
        links,
        bands,
        timeline,
        marks,
        approvals,
        support_index: pilot_view
            .support_index
            .map_or_else(|| "—".to_string(), |s| format!("{s:.2}")),
        stakeholders,
        coalition,
        opposition,
        contacts,
        contacts_chart,
        metrics,
        metric_charts,
        highlights,
        events,
        chain,
        may_log: ctx
            .caller
            .as_ref()
            .is_some_and(|c| c.role != Role::Analyst && c.may_write_for(&pilot_view.pilot.office)),
    };
    page(&ctx, StatusCode::OK, &template)
}

pub(super) fn stance_label(tr: &Tr, stance: i8) -> String {
    let key = match stance {
        i8::MIN..=-2 => "stance-strongly-opposed",
        -1 => "stance-opposed",
        0 => "stance-neutral",
        1 => "stance-supportive",
        _ => "stance-strongly-supportive",
    };
    format!("{stance:+} {}", tr.t(key))
}

/// How a page writes a value's qualifier before it: "≥ 6,000,000" for `at_least`.
fn qualifier_sign(qualifier: pilot_events::Qualifier) -> &'static str {
    use pilot_events::Qualifier;
    match qualifier {
        Qualifier::Exact => "",
        Qualifier::AtLeast => "≥ ",
        Qualifier::AtMost => "≤ ",
        Qualifier::About => "≈ ",
    }
}

/// A target's outcome in words: open, met, missed by how much, or missed with no value.
fn outcome_text(tr: &Tr, outcome: &pilot_projections::targets::TargetOutcome) -> String {
    use pilot_projections::targets::Outcome;
    match (outcome.outcome, outcome.difference) {
        (Outcome::Open, _) => tr.t("target-open"),
        (Outcome::Met, _) => tr.t("target-met"),
        (Outcome::Missed, Some(difference)) => tr.t1(
            "target-missed-by",
            "difference",
            &view::number(difference.abs()),
        ),
        (Outcome::Missed, None) => tr.t("target-missed-no-value"),
    }
}
