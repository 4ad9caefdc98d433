//! Server time and bytes of the web app's two heaviest pages, side by side in one run: the
//! overview and the Nanguo HIHC pilot page, over the Nanguo history alone (5 pilots) and with
//! 1,000 synthetic pilots added (each proposed, designed, a stakeholder contacted, an approval
//! requested and granted, implementation started, a target and three metrics recorded).
//!
//! Server time is the router's own (`oneshot`, no socket): from the request to the last byte
//! of the body, median and 95th percentile of [`ROUNDS`] requests after [`WARM_UP`].
//!
//! Run: `cargo bench -p pilot-web --bench pages` (release build). No nats-server: the page
//! reads the process's fold, which is the same over either log.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // a bench reports on stdout and stops at the first failure

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use pilot_api::{app, demo, AppState};
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_store::memory::MemoryLog;
use pilot_store::SharedLog;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tower::ServiceExt;

const HIHC: &str = "0194a000-0001-7000-8000-000000000003";
const SYNTHETIC_PILOTS: usize = 1_000;
const WARM_UP: usize = 5;
const ROUNDS: usize = 51;
const STAKEHOLDER: &str = "0194b000-0002-7000-8000-000000000001";
const MAYOR: &str = "0194a000-0002-7000-8000-000000000006";
const ADMIN: &str = "bench-admin-token";

#[tokio::main]
async fn main() {
    let log = Arc::new(MemoryLog::new());
    let (_stop, shutdown) = watch::channel(false);
    let options = RuntimeOptions {
        name: "bench".into(),
        book: pilot_projections::AlertBook::default(),
        checkpoint_key: CheckpointKey::generate().unwrap(),
        collect_alerts: false,
    };
    let runtime = Runtime::start_memory(log.clone(), options, shutdown).await;
    let projection = runtime.projection().clone();
    demo::load_history(log.as_ref(), &projection, demo::NANGUO)
        .await
        .unwrap();
    let mut tokens = Tokens::default();
    tokens.add_clear("bench", Role::Admin, None, ADMIN);
    let state =
        AppState::shared(SharedLog::from_arc(log.clone()), projection).with_access(Access {
            tokens,
            anonymous_reads: true,
            ..Access::default()
        });
    state.set_ready();
    let router = app(state.clone()).merge(pilot_web::router(
        state.clone(),
        pilot_web::WebOptions::default(),
    ));
    let pages = [
        ("overview", "/".to_string()),
        ("HIHC pilot page", format!("/pilots/{HIHC}")),
    ];

    println!("pilot-web pages: server time (router, no socket) and bytes\n");
    println!(
        "{:<8} {:<18} {:>10} {:>10} {:>10}",
        "pilots", "page", "bytes", "p50 ms", "p95 ms"
    );
    let mut rows = Vec::new();
    for (label, path) in &pages {
        let row = measure(&router, path).await;
        print_row(5, label, &row);
        rows.push(row);
    }
    let started = Instant::now();
    add_synthetic_pilots(&router).await;
    let pilots = state.projection.read().pilots().count();
    println!(
        "\n(added {SYNTHETIC_PILOTS} synthetic pilots in {:.1} s; {pilots} pilots now)\n",
        started.elapsed().as_secs_f64()
    );
    for ((label, path), small) in pages.iter().zip(&rows) {
        let row = measure(&router, path).await;
        print_row(pilots, label, &row);
        println!(
            "{:<8} {:<18} {:>10} {:>10}",
            "",
            "ratio to 5 pilots",
            format!("{:.1}", row.bytes as f64 / small.bytes as f64),
            format!("{:.1}", row.p50.as_secs_f64() / small.p50.as_secs_f64())
        );
    }
}

struct Measured {
    bytes: usize,
    p50: Duration,
    p95: Duration,
}

fn print_row(pilots: usize, label: &str, row: &Measured) {
    println!(
        "{:<8} {:<18} {:>10} {:>10.2} {:>10.2}",
        pilots,
        label,
        row.bytes,
        row.p50.as_secs_f64() * 1e3,
        row.p95.as_secs_f64() * 1e3
    );
}

async fn measure(router: &Router, path: &str) -> Measured {
    let mut times = Vec::with_capacity(ROUNDS);
    let mut bytes = 0;
    for round in 0..WARM_UP + ROUNDS {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let started = Instant::now();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        let took = started.elapsed();
        bytes = body.len();
        if round >= WARM_UP {
            times.push(took);
        }
    }
    times.sort();
    Measured {
        bytes,
        p50: times[times.len() / 2],
        p95: times[times.len() * 95 / 100],
    }
}

fn event(kind: &str, at: &str, data: Value) -> Value {
    json!({
        "type": kind,
        "occurred_at": at,
        "actor": {"office": "SSDNC", "user": "bench"},
        "data": data
    })
}

/// Appends through the API (`POST /api/v1/events`, one request per chain), as a client would.
async fn append(router: &Router, drafts: Value) {
    let request = Request::post("/api/v1/events")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(Body::from(drafts.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn add_synthetic_pilots(router: &Router) {
    let stakeholder = event(
        "stakeholder.registered",
        "2019-01-01T00:00:00Z",
        json!({"name": "Bureau of Benchmarks", "kind": "bureau", "level": "municipal", "influence": 3}),
    );
    let mut stakeholder = stakeholder;
    stakeholder["stakeholder_id"] = json!(STAKEHOLDER);
    append(router, stakeholder).await;
    for index in 0..SYNTHETIC_PILOTS {
        let id = format!("0194b000-0000-7000-8000-{index:012x}");
        let approval = format!("bench-{index}");
        let events = [
            event(
                "pilot.proposed",
                "2019-06-01T00:00:00Z",
                json!({
                "title": format!("Synthetic pilot {index}"), "jurisdiction": "Bench City",
                "policy_area": "benchmarks", "level": "municipal",
                "problem_frame": "How does the page grow with the number of pilots?"}),
            ),
            event(
                "lobbying.contact_logged",
                "2019-06-02T00:00:00Z",
                json!({
                "stakeholder_id": STAKEHOLDER, "channel": "meeting", "strategy": "alliance",
                "summary": "A synthetic meeting.", "stance": 1}),
            ),
            event(
                "pilot.program_designed",
                "2019-06-03T00:00:00Z",
                json!({
                "summary": "A synthetic design.",
                "parameters": {"covers_synthetic_cases": true},
                "target_groups": ["synthetic residents"]}),
            ),
            event(
                "approval.requested",
                "2019-06-04T00:00:00Z",
                json!({
                "approval_id": approval, "approver_id": MAYOR, "level": "municipal",
                "note": "Synthetic."}),
            ),
            event(
                "approval.granted",
                "2019-06-10T00:00:00Z",
                json!({
                "approval_id": approval, "conditions": ""}),
            ),
            event(
                "implementation.started",
                "2019-07-01T00:00:00Z",
                json!({
                "scope": "Synthetic scope."}),
            ),
            event(
                "implementation.target_set",
                "2019-07-02T00:00:00Z",
                json!({
                "metric": "enrolled", "target": 1000.0, "due": "2020-12-31"}),
            ),
            event(
                "implementation.metric_recorded",
                "2019-12-31T00:00:00Z",
                json!({
                "metric": "enrolled", "value": 300.0, "unit": "persons", "as_of": "2019-12-31",
                "source": "synthetic"}),
            ),
            event(
                "implementation.metric_recorded",
                "2020-06-30T00:00:00Z",
                json!({
                "metric": "enrolled", "value": 650.0, "unit": "persons", "as_of": "2020-06-30",
                "source": "synthetic"}),
            ),
            event(
                "implementation.metric_recorded",
                "2020-12-31T00:00:00Z",
                json!({
                "metric": "enrolled", "value": 980.0, "unit": "persons", "as_of": "2020-12-31",
                "source": "synthetic"}),
            ),
        ];
        let drafts = events
            .into_iter()
            .map(|mut body| {
                body["pilot_id"] = json!(id);
                body
            })
            .collect();
        append(router, Value::Array(drafts)).await;
    }
}
