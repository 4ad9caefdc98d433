//! Two API processes with different `[alerts]` files over one nats-server holding the Nanguo
//! history: each records its own terms on the requests it writes, and both accept and refuse
//! the same extensions, by what the log recorded, never by their own file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use pilot_alerter::rules::AlertRules;
use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use pilot_api::{app, AppState};
use pilot_runtime::projection::Projection;
use pilot_runtime::projector;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::EventLog;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::watch;
use tower::ServiceExt;

mod common;

const ADMIN: &str = "admin-secret";
/// The Mayor of Nanguo (post), registered at the municipal level in the demo history.
const MAYOR: &str = "0194a000-0002-7000-8000-000000000006";

/// One `pilot serve` as far as appends go: its own projection following the log, and a writer
/// under the `[alerts]` section of its own configuration file.
struct Process {
    router: Router,
    projection: Arc<Projection>,
    _stop: watch::Sender<bool>,
}

impl Process {
    async fn start(log: &JetStreamLog, consumer: &'static str, alerts_toml: &str) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pilot.toml");
        std::fs::write(&path, alerts_toml).unwrap();
        let rules = AlertRules::from_config_file(&path).unwrap();
        let key = pilot_runtime::checkpoint::CheckpointKey::generate().unwrap();
        let projection = Arc::new(
            projector::open(log, consumer, pilot_projections::AlertBook::default(), &key).await,
        );
        let (stop, shutdown) = watch::channel(false);
        {
            let (log, projection) = (log.clone(), projection.clone());
            tokio::spawn(async move {
                pilot_runtime::follow::run_projector(&log, consumer, projection, shutdown).await
            });
        }
        let last = log.last_position().await.unwrap();
        assert!(projection.wait_for(last, Duration::from_secs(20)).await);
        let mut tokens = Tokens::default();
        tokens.add_clear("root", Role::Admin, None, ADMIN);
        let state = AppState::new(log.clone(), projection.clone())
            .with_stall_terms(rules.stall_policy())
            .with_access(Access {
                tokens,
                ..Access::default()
            });
        state.set_ready();
        Process {
            router: app(state),
            projection,
            _stop: stop,
        }
    }

    async fn append(&self, event: Value) -> (StatusCode, Value) {
        let request = Request::post("/api/v1/events")
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            .body(Body::from(json!([event]).to_string()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn caught_up(&self, log: &JetStreamLog) {
        let last = log.last_position().await.unwrap();
        assert!(
            self.projection
                .wait_for(last, Duration::from_secs(20))
                .await
        );
    }

    fn heads(&self) -> Vec<(String, u64, String)> {
        let mut heads: Vec<_> = self
            .projection
            .read()
            .chain_heads()
            .map(|(subject, version, hash)| (subject.id().to_string(), version, hash.to_hex()))
            .collect();
        heads.sort();
        heads
    }
}

fn instant(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

fn event(kind: &str, pilot_id: &str, at: OffsetDateTime, data: Value) -> Value {
    json!({
        "type": kind,
        "pilot_id": pilot_id,
        "occurred_at": instant(at),
        "actor": {"office": "SSDNC", "user": "clerk"},
        "data": data,
    })
}

fn proposed(pilot_id: &str, at: OffsetDateTime) -> Value {
    let data = json!({"title": "Stall terms", "jurisdiction": "Nanguo",
        "policy_area": "health insurance", "level": "municipal", "problem_frame": "waiting"});
    event("pilot.proposed", pilot_id, at, data)
}

fn requested(pilot_id: &str, at: OffsetDateTime) -> Value {
    let data = json!({"approval_id": "mayor", "approver_id": MAYOR, "level": "municipal"});
    event("approval.requested", pilot_id, at, data)
}

fn extended(pilot_id: &str, at: OffsetDateTime) -> Value {
    let data = json!({"approval_id": "mayor", "extra_days": 5, "reason": "travelling"});
    event("approval.extended", pilot_id, at, data)
}

#[tokio::test]
async fn two_serve_processes_with_different_alerts_files_agree_on_every_event() {
    let served = common::nanguo("pilot-stall-a").await;
    let log = &served.log;
    let a = Process::start(
        log,
        "pilot-stall-a2",
        "[alerts.thresholds]\nmunicipal = 10\n",
    )
    .await;
    let b = Process::start(
        log,
        "pilot-stall-b",
        "[alerts.thresholds]\nmunicipal = 60\n",
    )
    .await;
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let (p, q) = (
        "0194a000-0009-7000-8000-0000000000a1",
        "0194a000-0009-7000-8000-0000000000a2",
    );

    // P's request is written by A (10 days), Q's by B (60 days), both 15 days ago.
    for (process, pilot, days) in [(&a, p, 10), (&b, q, 60)] {
        let (status, body) = process.append(proposed(pilot, now - 20 * day)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = process.append(requested(pilot, now - 15 * day)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let stall = &body["events"][0]["data"]["stall"];
        assert_eq!(stall["threshold_days"], days, "{body}");
        assert_eq!(stall["day_count"], "calendar");
    }
    a.caught_up(log).await;
    b.caught_up(log).await;

    // B's file would let P wait 60 days; P's record says 10: B refuses the extension.
    let (status, body) = b.append(extended(p, now - day)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "approval_stalled", "{body}");
    // A's file would have stalled Q after 10 days; Q's record says 60: A accepts, and records
    // the stall Q's terms give (60 + 5 days after the request).
    let (status, body) = a.append(extended(q, now - day)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stalls_at = body["events"][0]["data"]["stalls_at"].as_str().unwrap();
    let expected: OffsetDateTime = now + 50 * day;
    assert_eq!(
        OffsetDateTime::parse(stalls_at, &Rfc3339)
            .unwrap()
            .unix_timestamp(),
        expected.unix_timestamp()
    );

    a.caught_up(log).await;
    b.caught_up(log).await;
    assert_eq!(a.heads(), b.heads(), "both folded the same chains");
    for process in [&a, &b] {
        let quarantined = process
            .projection
            .counters
            .quarantined
            .load(Ordering::Relaxed);
        assert_eq!(
            quarantined, 0,
            "the Nanguo history and the new events all fold"
        );
    }
}
