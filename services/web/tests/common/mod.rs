//! What the router tests share: the in-memory logs with the Nanguo history folded by the
//! process's runtime, tokens of each role, the API and the web app merged as `pilot serve`
//! merges them, requests through `oneshot`, and signing in through the form.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code

pub mod stalled;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use pilot_api::{app, demo, AppState};
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_store::memory::MemoryLog;
use pilot_store::SharedLog;
use std::sync::Arc;
use tokio::sync::watch;
use tower::ServiceExt;

pub const HICI: &str = "0194a000-0001-7000-8000-000000000001";
pub const HIHC: &str = "0194a000-0001-7000-8000-000000000003";
/// The Mayor of Nanguo (post): the most highlight points in the demo.
pub const MAYOR: &str = "0194a000-0002-7000-8000-000000000006";

pub const ADMIN: &str = "admin-token-for-the-web-tests";
pub const CLERK: &str = "clerk-token-of-ssdnc";
pub const OTHER_CLERK: &str = "clerk-token-of-another-office";
pub const ANALYST: &str = "analyst-token";

pub struct Served {
    pub log: Arc<MemoryLog>,
    pub state: AppState,
    pub router: Router,
    _runtime: Runtime,
    _stop: watch::Sender<bool>,
    _stop_alerter: Option<watch::Sender<bool>>,
}

impl Served {
    /// Starts the alerter over the same logs and fold, as `pilot serve` runs it.
    pub fn start_alerter(&mut self) {
        let (stop, shutdown) = watch::channel(false);
        tokio::spawn(pilot_alerter::run_supervised(
            self.log.clone(),
            self.state.projection.clone(),
            Arc::new(pilot_alerter::SystemClock),
            self.state.metrics.clone(),
            shutdown,
        ));
        self._stop_alerter = Some(stop);
    }
}

/// The Nanguo history in the in-memory logs, reads open without signing in (`--demo`).
pub async fn served() -> Served {
    served_with(true).await
}

/// The Nanguo history in the in-memory logs, one fold (with the alerts), a token of each role
/// ([`ADMIN`], an SSDNC [`CLERK`], a clerk of office OTHER, an [`ANALYST`]).
pub async fn served_with(anonymous_reads: bool) -> Served {
    let log = Arc::new(MemoryLog::new());
    let (stop, shutdown) = watch::channel(false);
    let runtime = Runtime::start_memory(
        log.clone(),
        RuntimeOptions {
            name: "web-test".into(),
            book: pilot_projections::AlertBook::default(),
            checkpoint_key: CheckpointKey::generate().unwrap(),
            collect_alerts: true,
        },
        shutdown,
    )
    .await;
    let projection = runtime.projection().clone();
    let loaded = demo::load_history(log.as_ref(), &projection, demo::NANGUO)
        .await
        .unwrap();
    assert_eq!(loaded.appended, demo::nanguo_events());
    let mut tokens = Tokens::default();
    tokens.add_clear("admin", Role::Admin, None, ADMIN);
    tokens.add_clear("clerk-ssdnc", Role::Clerk, Some("SSDNC"), CLERK);
    tokens.add_clear("clerk-other", Role::Clerk, Some("OTHER"), OTHER_CLERK);
    tokens.add_clear("analyst", Role::Analyst, None, ANALYST);
    let state =
        AppState::shared(SharedLog::from_arc(log.clone()), projection).with_access(Access {
            tokens,
            anonymous_reads,
            ..Access::default()
        });
    state.set_ready();
    let router = app(state.clone()).merge(pilot_web::router(
        state.clone(),
        pilot_web::WebOptions::default(),
    ));
    Served {
        log,
        state,
        router,
        _runtime: runtime,
        _stop: stop,
        _stop_alerter: None,
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    /// `pilot_session=…` as a browser would send it back.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|c| c.starts_with("pilot_session="))
            .map(|c| c.split(';').next().unwrap().to_string())
    }

    /// The page's CSRF token (from its first form).
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let at = self.body.find(marker).expect("a csrf field") + marker.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub async fn get(router: &Router, path: &str) -> Answer {
    get_with(router, path, &[]).await
}

/// `GET path` with these request headers.
pub async fn get_with(router: &Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().method(Method::GET).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

/// A form POST, with the session `cookie` if any.
pub async fn post(router: &Router, path: &str, cookie: Option<&str>, form: &str) -> Answer {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::from(form.to_string())).unwrap()).await
}

/// `POST /api/v1/events` of `drafts` as the admin.
pub async fn append_as_admin(router: &Router, drafts: &serde_json::Value) -> Answer {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/events")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(drafts.to_string()))
        .unwrap();
    send(router, request).await
}

/// Signs in with `token` through the form; the session cookie.
pub async fn sign_in(router: &Router, token: &str) -> String {
    let form = get(router, "/signin").await;
    let cookie = form.session_cookie().unwrap();
    let answer = post(
        router,
        "/signin",
        Some(&cookie),
        &format!("csrf={}&token={token}", form.csrf()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    answer.session_cookie().unwrap()
}

/// The page at `path`, which must answer 200.
pub async fn page(router: &Router, path: &str) -> String {
    let answer = get(router, path).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    answer.body
}

/// The text between `start` and the next `end` after it.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in the page"))
        + start.len();
    let rest = &text[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}
