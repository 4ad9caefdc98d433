//! What the router tests share: the in-memory logs with the Nanguo history folded by the
//! process's runtime, the API and the web app merged as `pilot serve` merges them, and
//! requests through `oneshot`. (Used by `pages.rs`; `web.rs` keeps its own copy for now, so
//! that work on both files in parallel merges cleanly.)

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use pilot_api::auth::Tokens;
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

pub struct Served {
    pub log: Arc<MemoryLog>,
    pub state: AppState,
    pub router: Router,
    _runtime: Runtime,
    _stop: watch::Sender<bool>,
}

/// The Nanguo history in the in-memory logs, reads open without signing in (`--demo`).
pub async fn served() -> Served {
    let log = Arc::new(MemoryLog::new());
    let (stop, shutdown) = watch::channel(false);
    let runtime = Runtime::start_memory(
        log.clone(),
        RuntimeOptions {
            name: "web-pages-test".into(),
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
    assert_eq!(loaded.appended, 98);
    let state =
        AppState::shared(SharedLog::from_arc(log.clone()), projection).with_access(Access {
            tokens: Tokens::default(),
            anonymous_reads: true,
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
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub async fn get(router: &Router, path: &str) -> Answer {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
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
