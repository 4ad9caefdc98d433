//! The API through a real socket, over the in-memory logs holding the Nanguo history and
//! folded by the process's runtime: writes, read-your-writes, the auth matrix and bad input
//! (the documented 4xx, and nothing stored). The same router runs on JetStream in `pilot
//! serve`; `binary.rs` and `api.rs` cover that path end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_api::app;
use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use pilot_runtime::projection::Projection;
use pilot_store::memory::MemoryLog;
use pilot_store::EventLog;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

mod common;

use common::NANGUO;

const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";
const HIHC: &str = "0194a000-0001-7000-8000-000000000003";
const STAKEHOLDER: &str = "0194a000-0002-7000-8000-000000000015";

const ADMIN: &str = "admin-secret";
const ANALYST: &str = "analyst-secret";
const SSDNC_CLERK: &str = "ssdnc-clerk-secret";
const FINANCE_CLERK: &str = "finance-clerk-secret";

/// A pilot service on a loopback port over the in-memory logs with the Nanguo history.
struct Service {
    /// Holds the runtime and its stop signal for as long as the service runs.
    _nanguo: common::memory::MemoryNanguo,
    log: Arc<MemoryLog>,
    projection: Arc<Projection>,
    base: String,
    http: reqwest::Client,
}

async fn service() -> Service {
    let nanguo = common::memory::nanguo_memory().await;
    let mut tokens = Tokens::default();
    tokens.add_clear("root", Role::Admin, None, ADMIN);
    tokens.add_clear("ana", Role::Analyst, None, ANALYST);
    tokens.add_clear("desk", Role::Clerk, Some("SSDNC"), SSDNC_CLERK);
    tokens.add_clear(
        "finance",
        Role::Clerk,
        Some("Bureau of Finance"),
        FINANCE_CLERK,
    );
    let state = nanguo.state().with_access(Access {
        tokens,
        anonymous_reads: false,
        // Above the store's 1 MiB limit on one event (NATS's max_payload, which the in-memory
        // log mirrors), so one event can be too large for the store.
        max_body_bytes: 2 * 1024 * 1024,
        max_import_bytes: 4 * 1024 * 1024,
    });
    state.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut shutdown: watch::Receiver<bool> = nanguo.stop.subscribe();
    tokio::spawn(async move {
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|s| *s).await;
            })
            .await
    });
    Service {
        log: nanguo.log.clone(),
        projection: nanguo.projection().clone(),
        _nanguo: nanguo,
        base,
        http: reqwest::Client::new(),
    }
}

impl Service {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        self.send(reqwest::Method::POST, path, token, Some(bytes))
            .await
    }

    /// An admin's append that must be answered within [`FAST`].
    async fn post_fast(&self, body: Value) -> (StatusCode, Value) {
        let started = std::time::Instant::now();
        let answer = self.post("/api/v1/events", Some(ADMIN), &body).await;
        let took = started.elapsed();
        assert!(took < FAST, "answered after {took:?}: {answer:?}");
        answer
    }

    async fn last_position(&self) -> u64 {
        self.log.last_position().await.unwrap()
    }
}

/// A contact with the unified system's stakeholder, after everything in the history.
fn contact(stance: Value) -> Value {
    json!({
        "type": "lobbying.contact_logged",
        "pilot_id": UNIFIED,
        "occurred_at": "2012-03-01T10:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "desk"},
        "data": {
            "stakeholder_id": STAKEHOLDER,
            "channel": "meeting",
            "strategy": "brokering",
            "summary": "Reporting the first year of the unified system",
            "stance": stance
        }
    })
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

#[tokio::test]
async fn appends_are_stored_once_and_readable_at_their_position() {
    let service = service().await;
    let mut draft = contact(json!(2));
    draft["event_id"] = json!("01950000-0000-7000-8000-0000000000c1");

    let (status, stored) = service
        .post("/api/v1/events", Some(SSDNC_CLERK), &draft)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let position = stored["position"].as_u64().unwrap();
    assert_eq!(position, common::nanguo_events() as u64 + 1);
    let event = &stored["events"][0];
    assert_eq!(event["event_id"], "01950000-0000-7000-8000-0000000000c1");
    assert_eq!(event["position"], position);
    assert_eq!(event["hash"].as_str().unwrap().len(), 64);
    let chain_length = event["version"].as_u64().unwrap();
    assert!(chain_length > 1);

    // The same event again: the first answer, 200, nothing new stored.
    let (status, again) = service
        .post("/api/v1/events", Some(SSDNC_CLERK), &draft)
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["events"][0]["hash"], event["hash"]);
    assert_eq!(
        service.last_position().await,
        common::nanguo_events() as u64 + 1
    );

    // A stale expected_version: 409 with the version to read from.
    let (status, conflict) = service
        .post(
            &format!("/api/v1/events?expected_version={}", chain_length - 1),
            Some(SSDNC_CLERK),
            &contact(json!(1)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(error_code(&conflict), "version_conflict");
    assert_eq!(conflict["error"]["current_version"], chain_length);

    // The right one, as an array of two: both stored, in order.
    let (status, both) = service
        .post(
            &format!("/api/v1/events?expected_version={chain_length}"),
            Some(ADMIN),
            &json!([contact(json!(1)), contact(json!(0))]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{both}");
    assert_eq!(both["events"][1]["version"], chain_length + 2);
    let position = both["position"].as_u64().unwrap();

    // Read-your-writes: a read at that position sees the last stance.
    let (status, support) = service
        .get(
            &format!("/api/v1/pilots/{UNIFIED}?min_position={position}"),
            Some(ANALYST),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{support}");
    let (status, far) = service
        .get(
            &format!("/api/v1/pilots/{UNIFIED}?min_position={}", position + 1000),
            Some(ANALYST),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{far}");
    assert_eq!(error_code(&far), "not_caught_up");
    // To a pilot named in the path: pilot_id may be left out, and must agree if given.
    let mut unnamed = contact(json!(2));
    unnamed.as_object_mut().unwrap().remove("pilot_id");
    let path = format!("/api/v1/pilots/{UNIFIED}/events");
    let (status, stored) = service.post(&path, Some(SSDNC_CLERK), &unnamed).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["events"][0]["pilot_id"], UNIFIED);
    let (status, refused) = service
        .post(
            &format!("/api/v1/pilots/{HIHC}/events"),
            Some(SSDNC_CLERK),
            &contact(json!(2)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "pilot_id");

    let (status, bad) = service
        .get("/api/v1/pilots?min_position=soon", Some(ANALYST))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["field"], "min_position");
}

#[tokio::test]
async fn the_auth_matrix() {
    let service = service().await;
    let draft = contact(json!(1));

    // Open endpoints need no token.
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        let (status, body) = service.get(path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // No token, an unknown token, a header that is not Bearer: 401.
    let (status, body) = service.get("/api/v1/pilots", None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, _) = service.get("/api/v1/pilots", Some("guess")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = service
        .http
        .get(format!("{}/api/v1/pilots", service.base))
        .header("authorization", format!("Basic {ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = service.post("/api/v1/events", None, &draft).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Every role reads.
    for token in [ADMIN, ANALYST, SSDNC_CLERK, FINANCE_CLERK] {
        let (status, _) = service.get("/api/v1/pilots", Some(token)).await;
        assert_eq!(status, StatusCode::OK);
    }
    // An analyst does not write; a clerk does not write for another office, nor to a
    // pilot another office owns.
    let (status, body) = service.post("/api/v1/events", Some(ANALYST), &draft).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, body) = service
        .post("/api/v1/events", Some(FINANCE_CLERK), &draft)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["field"], "actor.office");
    let mut as_finance = draft.clone();
    as_finance["actor"]["office"] = json!("Bureau of Finance");
    let (status, body) = service
        .post("/api/v1/events", Some(FINANCE_CLERK), &as_finance)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("SSDNC"));
    // Exports are for analysts and admins; imports for admins.
    let (status, _) = service.get("/api/v1/events", Some(SSDNC_CLERK)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = service.get("/api/v1/events", Some(ANALYST)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = service
        .send(
            reqwest::Method::POST,
            "/api/v1/import",
            Some(ANALYST),
            Some(NANGUO.to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        service.last_position().await,
        common::nanguo_events() as u64,
        "nothing stored"
    );

    // The owning office's clerk writes.
    let (status, body) = service
        .post("/api/v1/events", Some(SSDNC_CLERK), &draft)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn bad_input_gets_the_documented_4xx_and_stores_nothing() {
    let service = service().await;
    let before = service.last_position().await;
    let raw = |bytes: &[u8]| bytes.to_vec();

    let (status, body) = service
        .send(
            reqwest::Method::POST,
            "/api/v1/events",
            Some(ADMIN),
            Some(raw(b"{\"type\": ")),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );

    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        (
            "wrong type",
            contact(json!("very")),
            "invalid_event",
            Some("data.stance"),
        ),
        (
            "stance 7",
            contact(json!(7)),
            "invalid_event",
            Some("data.stance"),
        ),
        (
            "unknown event type",
            {
                let mut d = contact(json!(1));
                d["type"] = json!("lobbying.bribe_offered");
                d
            },
            "invalid_event",
            Some("type"),
        ),
        (
            "sealed field",
            {
                let mut d = contact(json!(1));
                d["hash"] = json!("00");
                d
            },
            "invalid_event",
            Some("hash"),
        ),
        (
            "unknown pilot",
            {
                let mut d = contact(json!(1));
                d["pilot_id"] = json!("01950000-0000-7000-8000-00000000dead");
                d
            },
            "unknown_pilot",
            None,
        ),
        (
            "merge into itself",
            json!({
                "type": "pilot.merged",
                "pilot_id": UNIFIED,
                "occurred_at": "2012-03-01T10:00:00+08:00",
                "actor": {"office": "SSDNC", "user": "desk"},
                "data": {"into_pilot_id": UNIFIED, "reason": "tidying up"}
            }),
            "",
            None,
        ),
        (
            "merged pilot",
            {
                let mut d = contact(json!(1));
                d["pilot_id"] = json!(HIHC);
                d
            },
            "wrong_stage",
            None,
        ),
        (
            "two chains",
            {
                let mut other = contact(json!(1));
                other["pilot_id"] = json!(HIHC);
                Value::Array(vec![contact(json!(1)), other])
            },
            "mixed_chains",
            Some("[1]"),
        ),
    ];
    for (name, body, code, field) in cases {
        let (status, answer) = service.post("/api/v1/events", Some(ADMIN), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {answer}");
        if !code.is_empty() {
            assert_eq!(error_code(&answer), code, "{name}: {answer}");
        }
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{name}: {answer}");
        }
        assert!(
            !answer["error"]["message"].as_str().unwrap().is_empty(),
            "{name}"
        );
    }

    // 10 MB: refused before it is read.
    let huge = vec![b' '; 10 * 1024 * 1024];
    let (status, body) = service
        .send(
            reqwest::Method::POST,
            "/api/v1/events",
            Some(ADMIN),
            Some(huge),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );

    // A query parameter the endpoint does not take.
    let (status, body) = service
        .post(
            "/api/v1/events?expected_version=x",
            Some(ADMIN),
            &contact(json!(1)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = service
        .post(
            "/api/v1/events?expected_versoin=1",
            Some(ADMIN),
            &contact(json!(1)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "unknown_parameter");
    assert_eq!(body["error"]["field"], "expected_versoin");

    assert_eq!(service.last_position().await, before, "nothing was stored");
    // The projections saw nothing either, and still answer.
    assert_eq!(service.projection.position(), before);
}

#[tokio::test]
async fn imports_skip_what_is_stored_and_refuse_a_tampered_line() {
    let service = service().await;
    let import = |body: Vec<u8>| {
        service.send(
            reqwest::Method::POST,
            "/api/v1/import",
            Some(ADMIN),
            Some(body),
        )
    };
    let (status, body) = import(NANGUO.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["appended"], 0);
    assert_eq!(body["skipped"], common::nanguo_events());

    // A new event sealed elsewhere, then altered after sealing: refused, nothing stored.
    let (status, stored) = service
        .post("/api/v1/events", Some(ADMIN), &contact(json!(1)))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut sealed = stored["events"][0].clone();
    let object = sealed.as_object_mut().unwrap();
    object.remove("version");
    object.remove("position");
    object.insert(
        "event_id".into(),
        json!("01950000-0000-7000-8000-0000000000f1"),
    );
    let line = serde_json::to_vec(&sealed).unwrap();
    let (status, body) = import(line).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "broken_chain");
    assert_eq!(body["error"]["field"], "line 1");
    assert_eq!(
        service.last_position().await,
        common::nanguo_events() as u64 + 1
    );

    let (status, body) = import(b"not json\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        service.last_position().await,
        common::nanguo_events() as u64 + 1
    );
    // Give the projector a moment: nothing was quarantined.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        service
            .projection
            .counters
            .quarantined
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

/// A request that can only be refused gets its 4xx within this bound, and the pilot's next
/// good append goes through within it too: nothing waited on a lock or a retry loop.
const FAST: Duration = Duration::from_secs(2);

#[tokio::test]
async fn hostile_drafts_are_refused_fast_hold_no_lock_and_store_nothing() {
    let service = service().await;
    let before = service.last_position().await;

    // One event id twice in one request.
    let mut first = contact(json!(1));
    first["event_id"] = json!("01950000-0000-7000-8000-0000000000d1");
    let twice = json!([first.clone(), first.clone()]);
    let (status, body) = service.post_fast(twice).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "duplicate_event_id");
    assert_eq!(body["error"]["field"], "[1].event_id");

    // Nested parameters, and a document deeper than the limit.
    let mut design = json!({
        "type": "pilot.program_designed",
        "pilot_id": UNIFIED,
        "occurred_at": "2012-03-01T10:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "desk"},
        "data": {"summary": "s", "parameters": {"tiers": {"low": 1}}, "target_groups": []}
    });
    let (status, body) = service.post_fast(design.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "data.parameters.tiers");
    let mut deep = json!(1);
    for _ in 0..124 {
        deep = json!({ "p": deep });
    }
    design["data"]["parameters"] = json!({ "p": deep });
    let (status, body) = service.post_fast(design).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "too_deep");

    // Control characters in a one-line text: a forged log line.
    let mut forged = contact(json!(1));
    forged["actor"]["user"] =
        json!("desk\n2026-12-04T00:00:00Z  INFO pilot: admin granted\u{1b}[2K");
    let (status, body) = service.post_fast(forged).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "invalid_event");
    assert_eq!(body["error"]["field"], "actor.user");

    // An event over NATS's max_payload, under the body limit.
    let mut huge = contact(json!(1));
    huge["data"]["summary"] = json!("x".repeat(1_500_000));
    let (status, body) = service.post_fast(huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "event_too_large");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(
            &pilot_store::log::event_bytes_within(pilot_store::log::NATS_DEFAULT_MAX_PAYLOAD)
                .to_string()
        ),
        "{body}"
    );
    assert_eq!(service.last_position().await, before, "nothing was stored");

    // The pilot takes the next good append at once.
    let (status, stored) = service.post_fast(first.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");

    // The same id again with another body, or on another pilot: 409 naming both.
    let mut other_body = first.clone();
    other_body["data"]["stance"] = json!(-1);
    let (status, body) = service.post_fast(other_body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "event_id_reused");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("0000000000d1") && message.contains(&format!("position {}", before + 1)),
        "{message}"
    );
    let mut other_pilot = first.clone();
    other_pilot["pilot_id"] = json!(HIHC);
    let (status, body) = service.post_fast(other_pilot).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "event_id_reused");
    // The same draft fields again are a retry: 200 with what was stored.
    let (status, again) = service.post_fast(first).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["events"][0]["hash"], stored["events"][0]["hash"]);
    assert_eq!(service.last_position().await, before + 1);
}

#[tokio::test]
async fn an_import_line_altered_under_a_stored_event_id_is_refused_by_line() {
    let service = service().await;
    let mut lines: Vec<&[u8]> = NANGUO
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut altered: Value = serde_json::from_slice(lines[40]).unwrap();
    altered["actor"]["user"] = json!("someone else");
    let altered = serde_json::to_vec(&altered).unwrap();
    lines[40] = &altered;
    let body = lines.join(&b'\n');
    let (status, answer) = service
        .send(
            reqwest::Method::POST,
            "/api/v1/import",
            Some(ADMIN),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(error_code(&answer), "event_id_reused");
    assert_eq!(answer["error"]["field"], "line 41");
    assert_eq!(
        service.last_position().await,
        common::nanguo_events() as u64
    );
}

/// A pilot of the Bureau of Finance, proposed by its clerk.
const FINANCE_PILOT: &str = "01950000-0000-7000-8000-0000000000f0";
/// The first stakeholder of the history, registered by SSDNC.
const SSDNC_STAKEHOLDER: &str = "0194a000-0002-7000-8000-000000000001";

fn as_finance(mut draft: Value) -> Value {
    draft["occurred_at"] = json!("2012-03-01T10:00:00+08:00");
    draft["actor"] = json!({"office": "Bureau of Finance", "user": "fin"});
    draft
}

fn retraction(chain: (&str, &str), event_id: &str) -> Value {
    let mut draft = as_finance(json!({
        "type": "event.retracted",
        "data": {"event_id": event_id, "reason": "entered by mistake"}
    }));
    draft[chain.0] = json!(chain.1);
    draft
}

#[tokio::test]
async fn a_clerk_cannot_retract_another_offices_event() {
    let service = service().await;
    let (status, body) = service
        .post(
            "/api/v1/events",
            Some(FINANCE_CLERK),
            &as_finance(json!({
                "type": "pilot.proposed",
                "pilot_id": FINANCE_PILOT,
                "data": {"title": "Budget pilot", "jurisdiction": "Nanguo",
                         "policy_area": "finance", "level": "municipal",
                         "problem_frame": "The fund runs a deficit."}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // An admin records an event of SSDNC's on the Finance pilot.
    let mut ssdnc_event = as_finance(json!({
        "type": "pilot.program_designed",
        "pilot_id": FINANCE_PILOT,
        "data": {"summary": "2%", "parameters": {}, "target_groups": []}
    }));
    ssdnc_event["actor"]["office"] = json!("SSDNC");
    let (status, body) = service
        .post("/api/v1/events", Some(ADMIN), &ssdnc_event)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ssdnc_event_id = body["events"][0]["event_id"].as_str().unwrap().to_string();
    let before = service.last_position().await;

    // Finance may not retract it, though the pilot is its own.
    let (status, body) = service
        .post(
            "/api/v1/events",
            Some(FINANCE_CLERK),
            &retraction(("pilot_id", FINANCE_PILOT), &ssdnc_event_id),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["field"], "data.event_id");
    assert!(body["error"]["message"].as_str().unwrap().contains("SSDNC"));

    // Nor retract SSDNC's stakeholder registration.
    let registration = "0194ae00-0000-7000-8000-000000000001";
    let (status, body) = service
        .post(
            "/api/v1/events",
            Some(FINANCE_CLERK),
            &retraction(("stakeholder_id", SSDNC_STAKEHOLDER), registration),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["field"], "stakeholder_id");

    // Nor merge its pilot into SSDNC's.
    let merge = as_finance(json!({
        "type": "pilot.merged",
        "pilot_id": FINANCE_PILOT,
        "data": {"into_pilot_id": UNIFIED, "reason": "one system"}
    }));
    let (status, body) = service
        .post("/api/v1/events", Some(FINANCE_CLERK), &merge)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["field"], "data.into_pilot_id");
    assert_eq!(service.last_position().await, before, "nothing stored");

    // Its own registration it may retract; an admin may do all of the above.
    let own = "01950000-0000-7000-8000-0000000000f2";
    let (status, body) = service
        .post(
            "/api/v1/events",
            Some(FINANCE_CLERK),
            &as_finance(json!({
                "type": "stakeholder.registered",
                "stakeholder_id": own,
                "data": {"name": "Budget office", "kind": "bureau", "level": "municipal", "influence": 2}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let own_registration = body["events"][0]["event_id"].as_str().unwrap().to_string();
    let (status, body) = service
        .post(
            "/api/v1/events",
            Some(FINANCE_CLERK),
            &retraction(("stakeholder_id", own), &own_registration),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = service
        .post(
            "/api/v1/events",
            Some(ADMIN),
            &retraction(("pilot_id", FINANCE_PILOT), &ssdnc_event_id),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
