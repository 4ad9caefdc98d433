//! The page handlers and their templates (askama, `templates/*.html`).
//!
//! Each handler reads who asks and in which language ([`Ctx`]), reads what it shows through
//! the API's read functions (or the projections under the read lock, released before any
//! `.await`), turns it into rows of display strings, and renders. Outside input never
//! panics: a bad id or date is a 400 or 404 page, in the reader's language.

use crate::i18n::Tr;
use crate::session::{self, same_token};
use crate::view::{self, Light};
use crate::{assets, Ctx, WebState};
use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use pilot_api::auth::{Caller, Lookup, Role};
use pilot_api::{alerts_api, reads, ApiError};
use pilot_events::Stage;
use pilot_projections::alert::AlertState;
use pilot_projections::stall::stall_status;
use pilot_projections::{PilotView, StateKind};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use uuid::Uuid;

type Pairs = Vec<(String, String)>;

/// The parts every page's frame shows.
#[derive(Debug)]
pub(crate) struct Layout {
    pub lang: &'static str,
    pub title: String,
    pub css: String,
    pub js: String,
    /// The link that switches to the other language, keeping the page and its query.
    pub switch_href: String,
    pub switch_label: String,
    pub switch_lang: &'static str,
    /// Who is signed in ("name (role, office)"), if anyone.
    pub signed_in: Option<String>,
    pub csrf: Option<String>,
    /// Reads are open without signing in.
    pub anonymous: bool,
    /// Which entry of the menu is this page.
    pub current: &'static str,
}

impl Layout {
    fn new(
        ctx: &Ctx,
        state: &WebState,
        title: String,
        path: &str,
        query: &Pairs,
        current: &'static str,
    ) -> Layout {
        let other = ctx.tr.lang.other();
        let mut kept: Vec<(&str, &str)> = query
            .iter()
            .filter(|(name, _)| name != "lang")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        kept.push(("lang", other.tag()));
        let signed_in = ctx.caller.as_ref().map(|caller| {
            let role = ctx.tr.t(&format!("role-{}", caller.role.name()));
            match &caller.office {
                Some(office) => format!("{} ({role}, {office})", caller.name),
                None => format!("{} ({role})", caller.name),
            }
        });
        Layout {
            lang: ctx.tr.lang.tag(),
            title,
            css: assets::CSS.path(),
            js: assets::JS.path(),
            switch_href: format!("{path}?{}", view::query(&kept)),
            switch_label: Tr::new(other).t("lang-name"),
            switch_lang: other.tag(),
            signed_in,
            csrf: ctx.csrf(),
            anonymous: state.app.access.anonymous_reads,
            current,
        }
    }
}

/// A rendered page with its status, plus the cookies the request asked for.
fn page<T: Template>(ctx: &Ctx, status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            if ctx.remember_lang {
                let cookie = ctx.cookie("lang", ctx.tr.lang.tag(), Some(31_536_000));
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(error) => {
            tracing::error!(message = "A page did not render.", %error);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    tr: Tr,
    heading: String,
    message: String,
    /// The API's own words, in English, when there are any.
    detail: Option<String>,
    back: Option<String>,
}

/// An error page: `heading_key` and `message` in the reader's language.
fn error_page(
    ctx: &Ctx,
    state: &WebState,
    status: StatusCode,
    message: String,
    detail: Option<String>,
) -> Response {
    let heading_key = match status {
        StatusCode::BAD_REQUEST => "error-400",
        StatusCode::FORBIDDEN => "error-403",
        StatusCode::NOT_FOUND => "error-404",
        StatusCode::UNAUTHORIZED => "error-401",
        StatusCode::CONFLICT => "error-409",
        StatusCode::SERVICE_UNAVAILABLE => "error-503",
        _ => "error-500",
    };
    let heading = ctx.tr.t(heading_key);
    let template = ErrorPage {
        l: Layout::new(ctx, state, heading.clone(), "/", &Vec::new(), ""),
        tr: ctx.tr,
        heading,
        message,
        detail,
        back: Some("/".to_string()),
    };
    page(ctx, status, &template)
}

/// The page for an error the API's read or write functions answered.
fn api_error_page(ctx: &Ctx, state: &WebState, error: ApiError) -> Response {
    let message = match (error.status, error.field.as_deref()) {
        (StatusCode::BAD_REQUEST, Some(field)) => ctx.tr.t1("error-bad-field", "field", field),
        (StatusCode::FORBIDDEN, _) => ctx.tr.t("error-forbidden"),
        (StatusCode::NOT_FOUND, _) => ctx.tr.t("error-not-found"),
        (StatusCode::CONFLICT, _) => ctx.tr.t("error-conflict"),
        (StatusCode::SERVICE_UNAVAILABLE, _) => ctx.tr.t("error-unavailable"),
        _ => ctx.tr.t("error-internal"),
    };
    error_page(ctx, state, error.status, message, Some(error.message))
}

/// Stops a page early: not ready yet, or nobody may read without signing in.
fn gate(ctx: &Ctx, state: &WebState) -> Result<Caller, Box<Response>> {
    if state.app.refused().is_some() || !state.app.is_ready() {
        return Err(Box::new(error_page(
            ctx,
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            ctx.tr.t("error-not-ready"),
            None,
        )));
    }
    ctx.reader(state)
        .ok_or_else(|| Box::new(Redirect::to("/signin").into_response()))
}

/// The value of query parameter `name` (the first), trimmed; empty if absent.
fn param<'q>(query: &'q Pairs, name: &str) -> &'q str {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.trim())
}

/// The query string, or none if it cannot be read (treated as empty).
fn pairs(query: Result<Query<Pairs>, QueryRejection>) -> Pairs {
    query.map(|Query(pairs)| pairs).unwrap_or_default()
}

/// `as_of` from the page's field: a date (end of that day, UTC) or an RFC 3339 timestamp,
/// read by the API's own parser; a 400 page for anything else.
fn parse_as_of(
    ctx: &Ctx,
    state: &WebState,
    raw: &str,
) -> Result<Option<OffsetDateTime>, Box<Response>> {
    if raw.is_empty() {
        return Ok(None);
    }
    pilot_api::query::parse_instant("as_of", raw)
        .map(Some)
        .map_err(|_| {
            Box::new(error_page(
                ctx,
                state,
                StatusCode::BAD_REQUEST,
                ctx.tr.t("error-bad-date"),
                None,
            ))
        })
}

fn stage_label(tr: &Tr, stage: Stage) -> String {
    tr.t(&format!("stage-{}", stage.as_str()))
}

fn light_label(tr: &Tr, light: Light) -> String {
    tr.t(&format!("light-{}", light.name()))
}

// ---------------------------------------------------------------- overview

#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug)]
struct ApprovalLight {
    class: &'static str,
    label: String,
    approval: String,
}

#[derive(Debug)]
struct PilotRow {
    href: String,
    title: String,
    stage: String,
    office: String,
    support: String,
    pending: Vec<ApprovalLight>,
    points: u64,
    last_activity: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    l: Layout,
    tr: Tr,
    stages: Vec<Choice>,
    offices: Vec<Choice>,
    stalled: Vec<Choice>,
    q: String,
    as_of: String,
    rows: Vec<PilotRow>,
    count: String,
}

/// `GET /?stage=&office=&stalled=&q=&as_of=`.
pub(crate) async fn overview(
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
    if let Err(response) = gate(&ctx, &state) {
        return *response;
    }
    let tr = ctx.tr;
    let (stage, office, stalled, text, as_of_raw) = (
        param(&query, "stage"),
        param(&query, "office"),
        param(&query, "stalled"),
        param(&query, "q"),
        param(&query, "as_of"),
    );
    let as_of = match parse_as_of(&ctx, &state, as_of_raw) {
        Ok(as_of) => as_of,
        Err(response) => return *response,
    };
    if (!stage.is_empty() && Stage::parse(stage).is_none())
        || !matches!(stalled, "" | "true" | "false")
    {
        return error_page(
            &ctx,
            &state,
            StatusCode::BAD_REQUEST,
            tr.t("error-bad-filter"),
            None,
        );
    }
    // The API's list does the filtering and the time travel.
    let api_query: Pairs = [
        ("stage", stage),
        ("office", office),
        ("stalled", stalled),
        ("as_of", as_of_raw),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    let views = match reads::list_pilots(State(state.app.clone()), Ok(Query(api_query))).await {
        Ok(axum::Json(views)) => views,
        Err(error) => return api_error_page(&ctx, &state, error),
    };
    let needle = text.to_lowercase();
    let now = as_of.unwrap_or_else(OffsetDateTime::now_utc);
    let keep_query = |href: String| match as_of_raw {
        "" => href,
        day => format!("{href}?{}", view::query(&[("as_of", day)])),
    };
    let rows: Vec<PilotRow> = views
        .iter()
        .filter(|v| needle.is_empty() || v.pilot.title.to_lowercase().contains(&needle))
        .map(|v| PilotRow {
            href: keep_query(format!("/pilots/{}", v.pilot.pilot_id)),
            title: v.pilot.title.clone(),
            stage: stage_label(&tr, v.pilot.stage),
            office: v.pilot.office.clone(),
            support: v
                .support_index
                .map_or_else(|| "—".to_string(), |s| format!("{s:.2}")),
            pending: lights(&state, v, now, &tr),
            points: v.points,
            last_activity: view::date(v.pilot.last_activity),
        })
        .collect();
    let all_offices: BTreeSet<String> = state
        .app
        .projection
        .read()
        .pilots()
        .map(|record| record.state.office.clone())
        .collect();
    let any = |tr: &Tr| Choice {
        value: String::new(),
        label: tr.t("filter-any"),
        selected: false,
    };
    let mut stages = vec![any(&tr)];
    stages.extend(Stage::ALL.iter().map(|s| Choice {
        value: s.as_str().to_string(),
        label: stage_label(&tr, *s),
        selected: s.as_str() == stage,
    }));
    let mut offices = vec![any(&tr)];
    offices.extend(all_offices.into_iter().map(|o| Choice {
        selected: o == office,
        label: o.clone(),
        value: o,
    }));
    let stalled_choices = vec![
        any(&tr),
        Choice {
            value: "true".into(),
            label: tr.t("filter-stalled-yes"),
            selected: stalled == "true",
        },
        Choice {
            value: "false".into(),
            label: tr.t("filter-stalled-no"),
            selected: stalled == "false",
        },
    ];
    let title = tr.t("overview-title");
    let template = OverviewPage {
        l: Layout::new(&ctx, &state, title, "/", &query, "overview"),
        tr,
        stages,
        offices,
        stalled: stalled_choices,
        q: text.to_string(),
        as_of: as_of_raw.to_string(),
        count: tr.t1("overview-count", "count", &rows.len().to_string()),
        rows,
    };
    page(&ctx, StatusCode::OK, &template)
}

/// A light per pending approval at `now`, by the alert rules the API's `stalled` filter uses.
fn lights(state: &WebState, v: &PilotView, now: OffsetDateTime, tr: &Tr) -> Vec<ApprovalLight> {
    let rules = state.app.stall_terms.rules_for(&v.pilot.pilot_id);
    v.pilot
        .pending_approvals
        .values()
        .map(|approval| {
            let light = Light::of(&stall_status(approval, rules, now));
            ApprovalLight {
                class: light.name(),
                label: light_label(tr, light),
                approval: approval.approval_id.clone(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- pilot page

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

/// The POST's CSRF token matches the session's; else the 403 page that says so.
fn check_csrf(
    ctx: &Ctx,
    state: &WebState,
    form: &BTreeMap<String, String>,
) -> Result<(), Box<Response>> {
    let expected = ctx.session.as_ref().map(|(_, s)| s.csrf.as_str());
    match (expected, form.get("csrf")) {
        (Some(expected), Some(given)) if same_token(expected, given) => Ok(()),
        _ => Err(Box::new(error_page(
            ctx,
            state,
            StatusCode::FORBIDDEN,
            ctx.tr.t("error-csrf"),
            None,
        ))),
    }
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

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    l: Layout,
    tr: Tr,
    csrf: String,
    refused: Option<String>,
}

/// Renders the sign-in form, starting a session for its CSRF token if the browser has none.
fn signin_page(
    ctx: &mut Ctx,
    state: &WebState,
    status: StatusCode,
    refused: Option<String>,
) -> Response {
    let mut new_cookie = None;
    if ctx.session.is_none() {
        match state.sessions.start(None) {
            Some((id, session)) => {
                new_cookie = Some(ctx.cookie(session::COOKIE, &id, None));
                ctx.session = Some((id, session));
            }
            None => {
                return error_page(
                    ctx,
                    state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ctx.tr.t("error-internal"),
                    None,
                )
            }
        }
    }
    let title = ctx.tr.t("signin-title");
    let template = SigninPage {
        l: Layout::new(ctx, state, title, "/signin", &Vec::new(), "signin"),
        tr: ctx.tr,
        csrf: ctx.csrf().unwrap_or_default(),
        refused,
    };
    let mut response = page(ctx, status, &template);
    if let Some(value) = new_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /signin`.
pub(crate) async fn signin_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let query = pairs(query);
    let mut ctx = Ctx::read(
        &state,
        &headers,
        Some(param(&query, "lang")).filter(|l| !l.is_empty()),
    );
    signin_page(&mut ctx, &state, StatusCode::OK, None)
}

/// `POST /signin` (`csrf`, `token`): a new session for a token the API's store knows.
pub(crate) async fn signin(
    State(state): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let mut ctx = Ctx::read(&state, &headers, None);
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if let Err(response) = check_csrf(&ctx, &state, &form) {
        return *response;
    }
    let token = form.get("token").map(|t| t.trim()).unwrap_or("");
    let refusal = match state.app.access.tokens.lookup(token) {
        Lookup::Known(caller) => {
            if let Some((old, _)) = &ctx.session {
                state.sessions.end(old);
            }
            let Some((id, _)) = state.sessions.start(Some(token.to_string())) else {
                return error_page(
                    &ctx,
                    &state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ctx.tr.t("error-internal"),
                    None,
                );
            };
            tracing::info!(message = "Signed in.", caller = %pilot_api_name(&caller));
            let mut response = Redirect::to("/").into_response();
            if let Ok(value) = HeaderValue::from_str(&ctx.cookie(session::COOKIE, &id, None)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            return response;
        }
        Lookup::Expired { .. } => ctx.tr.t("signin-expired"),
        Lookup::Unknown => ctx.tr.t("signin-refused"),
    };
    signin_page(&mut ctx, &state, StatusCode::UNAUTHORIZED, Some(refusal))
}

/// A token's name for a log line: configured by an administrator, but still escaped.
fn pilot_api_name(caller: &Caller) -> String {
    caller.name.escape_debug().to_string()
}

/// `POST /signout` (`csrf`): forgets the session.
pub(crate) async fn signout(
    State(state): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let ctx = Ctx::read(&state, &headers, None);
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if let Err(response) = check_csrf(&ctx, &state, &form) {
        return *response;
    }
    if let Some((id, _)) = &ctx.session {
        state.sessions.end(id);
    }
    let mut response = Redirect::to("/signin").into_response();
    if let Ok(value) = HeaderValue::from_str(&ctx.cookie(session::COOKIE, "", Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
