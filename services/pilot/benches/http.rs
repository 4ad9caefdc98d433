//! The HTTP API against the in-process store append, side by side in one run:
//!
//! 1. appends: 64 concurrent in-process tasks calling `Writer::append`, then `oha` with 64
//!    connections POSTing the same kind of event over HTTP (parsing, auth, the same writer);
//!    each append goes to one of 64 pilots picked at random, one event per request;
//! 2. `GET /api/v1/pilots/{id}` at a fixed request rate: latency p50 / p99 from `oha`.
//!
//! Run: `scripts/bench-http.sh` (installs the pinned `oha` into `.tools/` and runs
//! `cargo bench -p pilot-service --bench http -- SECONDS`, default 10 s per measurement).
//! One nats-server (the pinned one), started and removed by the bench.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // a bench reports on stdout and stops at the first failure

mod common;

use common::cpu_seconds;
use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use pilot_api::{app, AppState};
use pilot_events::{decode, Envelope};
use pilot_nats_harness::NatsServer;
use pilot_runtime::projector;
use pilot_runtime::writer::Draft;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::Layout;
use pilot_store::EventLog;
use serde_json::{json, Value};
use std::future::IntoFuture;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

const CLIENTS: usize = 64;
const PILOTS: usize = 64;
const TOKEN: &str = "bench-admin-token";
const STAKEHOLDER: &str = "0194b000-0002-7000-8000-000000000001";
/// Pilot ids `…0000000000[0-3][0-9a-f]`: 64 of them, so `oha` can pick one by regex.
const PILOT_PREFIX: &str = "0194b000-0000-7000-8000-0000000000";
const GET_RATE: u32 = 200;

fn pilot_id(index: usize) -> String {
    format!("{PILOT_PREFIX}{index:02x}")
}

/// A draft as the HTTP body carries it (without pilot_id: the path names the pilot).
fn stance_body() -> Value {
    json!({
        "type": "stakeholder.stance_assessed",
        "occurred_at": "2020-01-01T00:00:00Z",
        "actor": {"office": "BENCH", "user": "bench"},
        "data": {"stakeholder_id": STAKEHOLDER, "stance": 1, "note": "benchmark"}
    })
}

/// The same draft for the writer, decoded the way the API decodes it.
fn draft(mut body: Value, chain: (&str, &str)) -> Draft {
    let object = body.as_object_mut().unwrap();
    object.insert(chain.0.into(), json!(chain.1));
    object.insert("event_id".into(), json!(Uuid::now_v7()));
    object.insert("schema".into(), json!(1));
    object.insert("recorded_at".into(), json!("2026-01-01T00:00:00Z"));
    object.insert("prev_hash".into(), json!("0".repeat(64)));
    object.insert("hash".into(), json!("0".repeat(64)));
    let envelope: Envelope = decode(&serde_json::to_vec(&body).unwrap()).unwrap();
    Draft::from(envelope)
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let oha = std::env::var("PILOT_OHA").unwrap_or_else(|_| "oha".to_string());
    let server = NatsServer::start().unwrap();
    println!("nats-server {}", server.version().unwrap());
    let log = JetStreamLog::connect(&server.url(), &Layout::default())
        .await
        .unwrap();
    let projection = Arc::new(
        projector::open(
            &log,
            "bench",
            pilot_projections::AlertBook::default(),
            &pilot_runtime::checkpoint::CheckpointKey::generate().unwrap(),
        )
        .await,
    );
    let (_stop, shutdown) = watch::channel(false);
    {
        let (log, projection, shutdown) = (log.clone(), projection.clone(), shutdown.clone());
        tokio::spawn(async move {
            pilot_runtime::follow::run_projector(&log, "bench", projection, shutdown).await
        });
    }
    let mut tokens = Tokens::default();
    tokens.add_clear("bench", Role::Admin, None, TOKEN);
    let state = AppState::new(log.clone(), projection.clone()).with_access(Access {
        tokens,
        ..Access::default()
    });
    state.set_ready();
    setup(&state).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = pilot_service::serve::no_delay(listener);
    tokio::spawn(axum::serve(listener, app(state.clone())).into_future());

    let cpu_before = cpu_seconds();
    let in_process = append_in_process(&state, Duration::from_secs(seconds)).await;
    let cpu_in_process = cpu_seconds() - cpu_before;
    println!("in-process Writer::append, {CLIENTS} tasks, {seconds} s: {in_process:.0} appends/s; this process used {:.0} CPU-µs per append", 1e6 * cpu_in_process / (in_process * seconds as f64));

    let url = format!("http://{addr}/api/v1/pilots/{PILOT_PREFIX}[0-3][0-9a-f]/events");
    let before = log.last_position().await.unwrap();
    let body = serde_json::to_string(&stance_body()).unwrap();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let report = run_oha(
        &oha,
        &[
            "-c",
            &CLIENTS.to_string(),
            "-z",
            &format!("{seconds}s"),
            "-m",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            &body,
            "--rand-regex-url",
            &url,
        ],
    )
    .await;
    let elapsed = started.elapsed();
    let cpu_http = cpu_seconds() - cpu_before;
    let stored = log.last_position().await.unwrap() - before;
    let http_rate = report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0);
    println!(
        "HTTP POST /api/v1/pilots/{{id}}/events, {CLIENTS} connections (oha), {seconds} s: {http_rate:.0} requests/s; status codes {}; {stored} events stored in {:.1} s",
        report["statusCodeDistribution"],
        elapsed.as_secs_f64()
    );
    println!(
        "this process used {:.0} CPU-µs per HTTP append (the load generator runs apart)",
        1e6 * cpu_http / stored.max(1) as f64
    );
    println!(
        "ratio HTTP / in-process: {:.2} (goal >= 0.5)",
        http_rate / in_process
    );

    let get = format!("http://{addr}/api/v1/pilots/{}", pilot_id(7));
    let report = run_oha(
        &oha,
        &[
            "-c",
            "8",
            "-q",
            &GET_RATE.to_string(),
            "-z",
            &format!("{seconds}s"),
            &get,
        ],
    )
    .await;
    let percentiles = &report["latencyPercentiles"];
    let ms = |key: &str| percentiles[key].as_f64().unwrap_or(f64::NAN) * 1000.0;
    println!(
        "GET /api/v1/pilots/{{id}} at {GET_RATE} requests/s for {seconds} s: p50 {:.2} ms, p99 {:.2} ms, status codes {}",
        ms("p50"),
        ms("p99"),
        report["statusCodeDistribution"]
    );
}

/// One stakeholder and 64 pilots to append to.
async fn setup(state: &AppState) {
    let stakeholder = json!({
        "type": "stakeholder.registered",
        "occurred_at": "2019-01-01T00:00:00Z",
        "actor": {"office": "BENCH", "user": "bench"},
        "data": {"name": "Bureau of Benchmarks", "kind": "bureau", "level": "municipal", "influence": 3}
    });
    state
        .writer
        .append(
            vec![draft(stakeholder, ("stakeholder_id", STAKEHOLDER))],
            None,
        )
        .await
        .unwrap();
    for index in 0..PILOTS {
        let proposed = json!({
            "type": "pilot.proposed",
            "occurred_at": "2019-06-01T00:00:00Z",
            "actor": {"office": "BENCH", "user": "bench"},
            "data": {
                "title": format!("Benchmark pilot {index}"),
                "jurisdiction": "Bench City",
                "policy_area": "benchmarks",
                "level": "municipal",
                "problem_frame": "How fast is it?"
            }
        });
        state
            .writer
            .append(vec![draft(proposed, ("pilot_id", &pilot_id(index)))], None)
            .await
            .unwrap();
    }
}

async fn append_in_process(state: &AppState, duration: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (writer, done) = (state.writer.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    // A random pilot per append, as oha's URL regex picks one.
                    let index = (Uuid::new_v4().as_u128() % PILOTS as u128) as usize;
                    let draft = draft(stance_body(), ("pilot_id", &pilot_id(index)));
                    writer.append(vec![draft], None).await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Runs oha off the runtime's threads and returns its JSON report.
async fn run_oha(oha: &str, args: &[&str]) -> Value {
    let mut command = Command::new(oha);
    command
        .args(["--no-tui", "--output-format", "json", "-H"])
        .arg(format!("authorization: Bearer {TOKEN}"))
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!("cannot run oha ({e}): run scripts/bench-http.sh, which installs it")
        });
    assert!(
        output.status.success(),
        "oha failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "oha's output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
