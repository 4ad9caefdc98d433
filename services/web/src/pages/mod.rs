//! The page handlers and their templates (askama, `templates/*.html`), one module per page;
//! here what they share: the frame ([`Layout`]), rendering, error pages, the gate for who may
//! read, query parameters and the CSRF check.
//!
//! Each handler reads who asks and in which language ([`Ctx`]), reads what it shows through
//! the API's read functions (or the projections under the read lock, released before any
//! `.await`), turns it into rows of display strings, and renders. Outside input never
//! panics: a bad id or date is a 400 or 404 page, in the reader's language.

pub(crate) mod alerts;
pub(crate) mod analytics;
pub(crate) mod forms;
pub(crate) mod ledger;
pub(crate) mod overview;
pub(crate) mod pilot;
pub(crate) mod signin;
pub(crate) mod stakeholder;

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
    pub icon: String,
    /// The print stylesheet (the dossier).
    pub print_css: String,
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
    /// The reader is signed in with a role that logs events (the logging forms).
    pub may_log: bool,
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
            icon: assets::ICON.path(),
            print_css: assets::PRINT.path(),
            switch_href: format!("{path}?{}", view::query(&kept)),
            switch_label: Tr::new(other).t("lang-name"),
            switch_lang: other.tag(),
            signed_in,
            csrf: ctx.csrf(),
            anonymous: state.app.access.anonymous_reads,
            current,
            may_log: ctx.caller.as_ref().is_some_and(|c| c.role != Role::Analyst),
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

/// The `lang` query parameter, if the reader chose one with the switch link.
fn lang_of(query: &Pairs) -> Option<&str> {
    Some(param(query, "lang")).filter(|l| !l.is_empty())
}

/// A GET page's query, and who asks in which language.
fn page_request(
    state: &WebState,
    headers: &HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> (Pairs, Ctx) {
    let query = pairs(query);
    let ctx = Ctx::read(state, headers, lang_of(&query));
    (query, ctx)
}

/// A form POST's fields and who sent them, once its CSRF token matched the session's; else
/// the 403 page that says so.
fn form_request(
    state: &WebState,
    headers: &HeaderMap,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Result<(BTreeMap<String, String>, Ctx), Box<Response>> {
    let ctx = Ctx::read(state, headers, None);
    let form = form.map(|Form(f)| f).unwrap_or_default();
    check_csrf(&ctx, state, &form)?;
    Ok((form, ctx))
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

/// One pending approval's traffic light, as the overview, the pilot page and the inbox show it.
#[derive(Debug)]
struct ApprovalLight {
    class: &'static str,
    label: String,
    approval: String,
}

/// One highlight line as the ledger, the stakeholder page and the pilot page list it.
#[derive(Debug)]
struct HighlightLineRow {
    date: String,
    title: String,
    pilot_id: String,
    /// The pilot's title, or its id if the world has no such pilot.
    pilot: String,
    /// "Award (provincial)", in the reader's language.
    kind: String,
    conferred_by: String,
    points: u32,
    /// The balance the line brought its subject to, where the read gives one.
    balance: String,
}

impl HighlightLineRow {
    fn of(
        tr: &Tr,
        line: &pilot_api::reads::BalancedLine,
        titles: &BTreeMap<Uuid, String>,
    ) -> HighlightLineRow {
        let l = &line.line;
        HighlightLineRow {
            date: pilot_projections::period::day(l.occurred_at, l.precision),
            title: l.title.clone(),
            pilot_id: l.pilot_id.to_string(),
            pilot: titles
                .get(&l.pilot_id)
                .cloned()
                .unwrap_or_else(|| l.pilot_id.to_string()),
            kind: format!(
                "{} ({})",
                tr.t(&format!("highlight-{}", l.kind.as_str())),
                tr.t(&format!("level-{}", l.level.as_str()))
            ),
            conferred_by: l.conferred_by.clone(),
            points: l.points,
            balance: line.balance.map_or_else(String::new, |b| b.to_string()),
        }
    }
}
