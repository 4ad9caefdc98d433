//! pilot-tracker's web app: server-rendered HTML pages over the API's live state, served by
//! `pilot serve` in the same process as the API ([`router`], merged beside `pilot_api::app`).
//!
//! | route | page |
//! |---|---|
//! | `GET /` | the overview: every pilot with stage, office, support index, pending approvals with a traffic light, points and last activity; filters and `as_of` |
//! | `GET /pilots/{id}` | one pilot: facts, stage timeline, approvals, stakeholders, metrics against targets, highlights with running balance, the events as stored; `as_of` |
//! | `GET /stakeholders/{id}` | one stakeholder: stance across pilots, contacts, highlight balance over time (chart); `as_of` |
//! | `GET /ledger` | stakeholders ranked by ledger points with the lines behind each figure; filters as the highlights read |
//! | `GET /analytics` | comparative analytics over every pilot (the API's `/api/v1/analytics`): approval and decision times, stall rates, time to scale-up, points per year, support trajectories; `as_of` |
//! | `GET /log`, `GET, POST /log/{type}` | the clerks' logging forms, one per event type, generated from the catalogue |
//! | `GET /alerts` | warning, firing and escalated alerts with wait and approver; acknowledging (clerks of the pilot's office, admins) |
//! | `POST /alerts/{id}/ack`, `POST /alerts/{id}/silence` | acknowledging and silencing through the API's own handlers; refusals at their fields |
//! | `GET /alerts/live` | Server-Sent Events: `alerts` each time the alert stream records something (the inbox's script reloads its list); ends on shutdown |
//! | `GET, POST /signin`, `POST /signout` | a session from an API token |
//! | `GET /assets/{name}` | the compiled-in CSS and JS, named by content hash, cached for a year |
//!
//! Decisions (docs/web.md says more):
//! - **Templates with askama**: templates are compiled into Rust at build time, so a misspelt
//!   field or a type error fails the build instead of a page; every value is HTML-escaped by
//!   default (no string concatenation of HTML anywhere); nothing is read from disk at run
//!   time, so the binary is the whole app.
//! - **Languages with `fluent-bundle`**: Project Fluent's own reference implementation,
//!   maintained with the Fluent specification (fluent-templates is a convenience layer over
//!   it that adds a file watcher, macros and more dependencies we do not need). The
//!   catalogues are `include_str!`'d ([`i18n`]).
//! - **Reads go through the API's own functions** (`pilot_api::reads::*`, the same handlers
//!   `/api/v1` serves) or the projections under the read lock, so filters, time travel and
//!   the stall rules are the API's, not copies. The traffic light is
//!   `pilot_projections::stall::stall_status` under the API's `stall_terms`, the same
//!   function the API's `stalled` filter uses.
//! - **Sessions and CSRF** ([`session`]): a random id in an HttpOnly, SameSite=Strict cookie
//!   (Secure over https), the rest in memory; a per-session CSRF token in every form, checked
//!   on every POST (403 without it). Roles and offices are the API's token store's.
//! - **No request leaves the service**: one CSS and one optional JS file, compiled in
//!   ([`assets`]); a Content-Security-Policy of `'self'` says so to the browser too.
//!
//! Sealed personal fields are revealed on every page by one layer ([`router`]'s
//! `reveal_pages`), as the API reveals its answers.
//!
//! Every page works without JavaScript. No handler panics on outside input: a bad id or date
//! is a 400 or 404 page in the reader's language. Log lines name the route, never the
//! query or form values.

pub mod assets;
pub mod i18n;
mod pages;
pub mod session;

pub use pages::overview::PAGE_SIZE;
// Numbers, dates, lights, chart and timeline layout come from `pilot-web-view`, under the
// names the pages use (`crate::view`, `crate::chart`, `crate::timeline`).
use pilot_web_view::{chart, timeline, view};

use crate::i18n::{Lang, Tr};
use crate::session::{Session, Sessions};
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use pilot_api::auth::{Caller, Lookup, Role};
use pilot_api::AppState;
use std::sync::Arc;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// How the app sets its cookies.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebOptions {
    /// Mark cookies Secure on every response, not only on requests that came over https
    /// (`X-Forwarded-Proto: https` or `Forwarded: proto=https` from the proxy in front).
    pub secure_cookies: bool,
}

/// What the pages share: the API's state and the sessions.
#[derive(Debug, Clone)]
pub struct WebState {
    pub app: AppState,
    pub sessions: Arc<Sessions>,
    pub options: WebOptions,
}

/// The web app's routes over the API's `state`, to merge with `pilot_api::app` (it has no
/// fallback of its own, so the API's stays the one).
pub fn router(app: AppState, options: WebOptions) -> Router {
    let state = WebState {
        app: app.clone(),
        sessions: Arc::new(Sessions::default()),
        options,
    };
    Router::new()
        .route("/", get(pages::overview::overview))
        .route("/pilots/{id}", get(pages::pilot::pilot))
        .route("/alerts", get(pages::alerts::alerts))
        .route("/stakeholders/{id}", get(pages::stakeholder::stakeholder))
        .route("/ledger", get(pages::ledger::ledger))
        .route("/analytics", get(pages::analytics::analytics))
        .route("/alerts/{id}/ack", post(pages::alerts::acknowledge))
        .route("/alerts/{id}/silence", post(pages::alerts::silence))
        .route("/alerts/live", get(pages::alerts::live))
        .route("/log", get(pages::forms::list))
        .route(
            "/log/{type}",
            get(pages::forms::form).post(pages::forms::submit),
        )
        .route(
            "/signin",
            get(pages::signin::signin_form).post(pages::signin::signin),
        )
        .route("/signout", post(pages::signin::signout))
        .route("/assets/{name}", get(assets::serve))
        .layer(middleware::from_fn_with_state(app, reveal_pages))
        .layer(middleware::from_fn(security_headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// One span per request, naming the route (never the query or the body: they hold user text).
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    tracing::info_span!("web", method = %request.method(), route = route)
}

/// Every HTML page shows sealed personal fields as their text, or erased with when and why
/// (`pilot_api::reveal`), wherever a page put them: a page reads the API's reads and the
/// projections (a form's stakeholder list, a chart's labels), and none of them can forget it.
async fn reveal_pages(
    axum::extract::State(app): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let html = pilot_api::reveal::content_type(&response)
        .is_some_and(|kind| kind.starts_with("text/html"));
    if !html {
        return response;
    }
    let escape = pilot_api::reveal::Escape::Html;
    pilot_api::reveal::reveal_response(&app, response, escape, |revealer, body| {
        revealer.reveal_bytes(body, escape)
    })
    .await
}

/// Headers on every response: nothing from elsewhere, no framing, no sniffing; pages are
/// not cached (assets set their own).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Who is asking and in which language: read once per request from its headers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub tr: Tr,
    /// The session id and the session, if the browser has a live one.
    pub session: Option<(String, Session)>,
    /// The signed-in caller, as the API's token store knows them now.
    pub caller: Option<Caller>,
    /// Cookies get `Secure`.
    pub secure: bool,
    /// The language was chosen with `?lang=` now: remember it in a cookie.
    pub remember_lang: bool,
}

impl Ctx {
    /// `lang_query`: the value of `?lang=`, if any.
    pub fn read(state: &WebState, headers: &HeaderMap, lang_query: Option<&str>) -> Ctx {
        let cookies = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let from_query = lang_query.and_then(Lang::parse);
        let lang = from_query
            .or_else(|| session::cookie(cookies, "lang").and_then(Lang::parse))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .map(Lang::from_accept_language)
            })
            .unwrap_or(Lang::En);
        let session = session::cookie(cookies, session::COOKIE)
            .and_then(|id| state.sessions.get(id).map(|s| (id.to_string(), s)));
        let caller = session
            .as_ref()
            .and_then(|(_, s)| s.token.as_deref())
            .and_then(|token| match state.app.access.tokens.lookup(token) {
                Lookup::Known(caller) => Some(caller),
                Lookup::Expired { .. } | Lookup::Unknown => None,
            });
        Ctx {
            tr: Tr::new(lang),
            session,
            caller,
            secure: state.options.secure_cookies || came_over_https(headers),
            remember_lang: from_query.is_some(),
        }
    }

    /// Who reads: the signed-in caller, else with anonymous reads (`--demo`) an anonymous
    /// analyst, as the API answers a GET without a token.
    pub fn reader(&self, state: &WebState) -> Option<Caller> {
        self.caller.clone().or_else(|| {
            state.app.access.anonymous_reads.then(|| Caller {
                name: "anonymous".to_string(),
                role: Role::Analyst,
                office: None,
            })
        })
    }

    /// The session's CSRF token, for the forms of a page.
    pub fn csrf(&self) -> Option<String> {
        self.session.as_ref().map(|(_, s)| s.csrf.clone())
    }

    /// A `Set-Cookie` value with this app's flags.
    pub fn cookie(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if let Some(seconds) = max_age {
            cookie.push_str(&format!("; Max-Age={seconds}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

/// Whether the proxy in front says the request came over https.
fn came_over_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split([';', ','])
                .any(|p| p.trim().eq_ignore_ascii_case("proto=https"))
        });
    forwarded_proto || forwarded
}
