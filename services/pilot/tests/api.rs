//! The HTTP API in-process, against a real nats-server holding the Nanguo history (loaded
//! the way `pilot serve --demo` loads it), called through the router with `oneshot`: the
//! end-to-end path on JetStream, with checkpoints, restored worlds and a log that changes
//! under the service. The rest of the router runs on the in-memory logs (`reads.rs`, `http.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use pilot_api::state::Access;
use pilot_api::{app, AppState};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

const HIHC: &str = "0194a000-0001-7000-8000-000000000003";
const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";
const CONSUMER: &str = "pilot-api-test";

mod common;

use common::{ids, nanguo, Nanguo as Served, NANGUO};

async fn served() -> Served {
    nanguo(CONSUMER).await
}

impl Served {
    fn router(&self) -> Router {
        // Reads without a token: the auth matrix is tested through a socket in tests/http.rs.
        let state = reading(AppState::new(self.log.clone(), self.projection.clone()));
        state.set_ready();
        app(state)
    }
}

/// Reads without a token: the auth matrix is tested through a socket in tests/http.rs.
fn reading(state: AppState) -> AppState {
    state.with_access(Access {
        anonymous_reads: true,
        ..Access::default()
    })
}

async fn get(router: &Router, uri: &str) -> (StatusCode, Value) {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

fn insured(view: &Value) -> &Value {
    view["progress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metric"] == "insured_persons")
        .unwrap()
}

#[tokio::test]
async fn serves_the_nanguo_history() {
    let served = served().await;
    let router = served.router();

    let (status, health) = get(&router, "/healthz").await;
    assert_eq!(
        (status, health),
        (StatusCode::OK, serde_json::json!({"status": "ok"}))
    );
    let (status, ready) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["position"], common::nanguo_events());

    let (status, pilots) = get(&router, "/api/v1/pilots").await;
    assert_eq!(status, StatusCode::OK);
    let pilots = pilots.as_array().unwrap();
    assert_eq!(pilots.len(), 5);
    let ids: Vec<&str> = pilots
        .iter()
        .map(|p| p["pilot_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by pilot_id");
    for pilot in pilots {
        for field in [
            "title",
            "stage",
            "support_index",
            "coalition",
            "opposition",
            "progress",
            "points",
        ] {
            assert!(pilot.get(field).is_some(), "{field} missing in {pilot}");
        }
    }
    let unified = pilots.iter().find(|p| p["pilot_id"] == UNIFIED).unwrap();
    assert_eq!(unified["stage"], "implementing");
    assert_eq!(unified["merged_from"].as_array().unwrap().len(), 4);

    let (status, lines) = get(&router, "/api/v1/highlights").await;
    assert_eq!(status, StatusCode::OK);
    let lines = lines.as_array().unwrap();
    assert!(!lines.is_empty());
    let dates: Vec<&str> = lines
        .iter()
        .map(|l| l["occurred_at"].as_str().unwrap())
        .collect();
    let mut ordered = dates.clone();
    ordered.sort();
    assert_eq!(dates, ordered, "in occurred_at order");
    let points: u64 = lines.iter().map(|l| l["points"].as_u64().unwrap()).sum();
    let pilot_points: u64 = pilots.iter().map(|p| p["points"].as_u64().unwrap()).sum();
    assert_eq!(points, pilot_points, "each line counted once per pilot");
}

#[tokio::test]
async fn time_travel_shows_hihc_at_88_percent_at_the_end_of_2000() {
    let served = served().await;
    let router = served.router();

    let (status, view) = get(&router, &format!("/api/v1/pilots/{HIHC}?as_of=2001-01-01")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["stage"], "implementing");
    assert_eq!(insured(&view)["latest"], 880000.0);
    assert_eq!(insured(&view)["target"], 1000000.0);
    assert!((insured(&view)["progress"].as_f64().unwrap() - 0.88).abs() < 1e-12);

    // The same instant as an RFC 3339 timestamp; a year earlier it was 200,000 in 2000.
    let (_, early) = get(
        &router,
        &format!("/api/v1/pilots/{HIHC}?as_of=2000-06-30T00:00:00%2B08:00"),
    )
    .await;
    assert_eq!(insured(&early)["latest"], 200000.0);

    // The year-end figure was logged a day later (recorded_at 2001-01-01T09:00+08:00).
    let (_, known) = get(
        &router,
        &format!("/api/v1/pilots/{HIHC}?as_of=2001-01-01&known_at=2000-12-31"),
    )
    .await;
    assert_eq!(insured(&known)["latest"], 200000.0);

    // Now: merged into the unified system.
    let (status, now) = get(&router, &format!("/api/v1/pilots/{HIHC}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now["stage"], "merged");
}

#[tokio::test]
async fn errors_have_one_shape() {
    let served = served().await;
    let router = served.router();

    let unknown = "0194a000-0001-7000-8000-000000000099";
    let (status, error) = get(&router, &format!("/api/v1/pilots/{unknown}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains(unknown));
    assert!(error["error"].get("field").is_none());

    let (status, error) = get(
        &router,
        &format!("/api/v1/pilots/{unknown}?as_of=2001-01-01"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");

    let (status, error) = get(&router, &format!("/api/v1/pilots/{HIHC}?as_of=1990-01-01")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not proposed yet in 1990");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("had not been proposed"));

    for (query, field) in [
        ("as_of=2001-13-01", "as_of"),
        ("as_of=yesterday", "as_of"),
        ("known_at=2001-01-01T00:00:00", "known_at"),
        ("as_of=2001-01-01&as_of=2002-01-01", "as_of"),
        ("asof=2001-01-01", "asof"),
    ] {
        let (status, error) = get(&router, &format!("/api/v1/pilots/{HIHC}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(error["error"]["field"], field, "{query}: {error}");
        assert!(error["error"]["message"].as_str().is_some());
    }

    let (status, error) = get(&router, "/api/v1/pilots/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "id");

    let (status, error) = get(&router, "/api/v1/pilots?asof=2001-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "unknown_parameter");

    let (status, error) = get(&router, "/api/v2/pilots").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");

    let request = Request::delete(format!("/api/v1/pilots/{HIHC}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn nothing_is_served_before_the_projection_has_caught_up() {
    let served = served().await;
    let state = reading(AppState::new(served.log.clone(), served.projection.clone()));
    let router = app(state.clone());

    let (status, _) = get(&router, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error["error"]["code"], "not_ready");
    let (status, error) = get(&router, "/api/v1/pilots").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error["error"]["code"], "not_ready");

    state.set_ready();
    let (status, _) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_world_restored_from_a_checkpoint_loads_chains_for_past_views() {
    let mut served = served().await;
    let restored = served.restart(CONSUMER).await;
    let hihc = HIHC.parse().unwrap();
    assert!(!restored.read().chain_loaded(&hihc));

    let state = reading(AppState::new(served.log.clone(), restored.clone()));
    state.set_ready();
    let router = app(state);
    let (status, view) = get(&router, &format!("/api/v1/pilots/{HIHC}?as_of=2001-01-01")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(insured(&view)["latest"], 880000.0);
    assert!(restored.read().chain_loaded(&hihc));

    // The unified system needs its own chain and those of the four pilots merged into it.
    let (status, view) = get(
        &router,
        &format!("/api/v1/pilots/{UNIFIED}?as_of=2009-12-31"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["merged_from"].as_array().unwrap().len(), 4);

    // A pilot's event list loads its chain the same way, in a world restored afresh.
    let fresh = common::reopen(&served.log, CONSUMER, &served.checkpoint_key).await;
    assert!(!fresh.read().chain_loaded(&hihc));
    let state = reading(AppState::new(served.log.clone(), fresh.clone()));
    state.set_ready();
    let (status, events) = get(&app(state), &format!("/api/v1/pilots/{HIHC}/events")).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    assert_eq!(
        events.as_array().unwrap().last().unwrap()["type"],
        "pilot.merged"
    );
    assert!(fresh.read().chain_loaded(&hihc));
}

#[tokio::test]
async fn a_restored_world_loads_every_chain_for_a_past_list() {
    let mut served = served().await;
    let restored = served.restart(CONSUMER).await;
    let hihc: Uuid = HIHC.parse().unwrap();
    assert!(!restored.read().chain_loaded(&hihc));
    let state = AppState::new(served.log.clone(), restored.clone()).with_access(Access {
        anonymous_reads: true,
        ..Access::default()
    });
    state.set_ready();
    let router = app(state);

    let (status, pilots) = get(&router, "/api/v1/pilots?as_of=2001-01-01").await;
    assert_eq!(status, StatusCode::OK, "{pilots}");
    assert_eq!(ids(&pilots, "pilot_id").len(), 3);
    let hihc_then = pilots
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pilot_id"] == HIHC)
        .unwrap();
    assert_eq!(hihc_then["progress"][0]["latest"], 880000.0);
    assert!(restored.read().chain_loaded(&hihc));
    let (_, unified) = get(
        &router,
        "/api/v1/pilots?as_of=2009-12-31&stage=implementing",
    )
    .await;
    assert_eq!(ids(&unified, "pilot_id"), [UNIFIED]);
    assert_eq!(unified[0]["merged_from"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_restored_world_imports_a_retraction_on_a_chain_it_has_not_loaded() {
    use pilot_events::data::EventRetracted;
    use pilot_events::{Actor, Envelope, Event, Hash, Subject, CURRENT_SCHEMA};
    let mut served = served().await;
    let restored = served.restart(CONSUMER).await;
    let hihc: Uuid = HIHC.parse().unwrap();
    assert!(!restored.read().chain_loaded(&hihc));
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    {
        let (log, restored) = (served.log.clone(), restored.clone());
        tokio::spawn(async move {
            pilot_runtime::follow::run_projector(&log, CONSUMER, restored, shutdown).await
        });
    }

    // A sealed line, as an import brings it: HIHC's 1999 metric is retracted.
    let subject = Subject::Pilot(hihc);
    let (_, head) = restored.read().chain_head(subject);
    let at = time::macros::datetime!(2010-01-04 09:00 +08:00);
    let retraction = Envelope {
        event_id: Uuid::now_v7(),
        schema: CURRENT_SCHEMA,
        subject,
        occurred_at: at,
        recorded_at: at,
        actor: Actor {
            office: "SSDNC".into(),
            user: "archivist".into(),
        },
        correlation_id: None,
        causation_id: None,
        prev_hash: head,
        hash: Hash::ZERO,
        signature: None,
        provenance: Default::default(),
        event: Event::EventRetracted(EventRetracted {
            event_id: "0194ae00-0003-7000-8000-000000000016".parse().unwrap(),
            reason: "entered twice".into(),
        }),
    }
    .seal(head);
    let line = retraction.to_json();
    let loaded = pilot_api::demo::load_history(&served.log, &restored, line.as_bytes())
        .await
        .unwrap();
    assert_eq!(loaded.appended, 1);
    assert!(restored.read().chain_loaded(&hihc), "loaded for the check");
    assert!(restored.read().position_of(&retraction.event_id).is_some());
}

#[tokio::test]
async fn a_pilots_events_come_back_as_stored_with_version_and_position() {
    let served = served().await;
    let router = served.router();
    let (status, events) = get(&router, &format!("/api/v1/pilots/{HIHC}/events")).await;
    assert_eq!(status, StatusCode::OK);
    let events = events.as_array().unwrap();
    let expected: Vec<&[u8]> = NANGUO
        .split(|b| *b == b'\n')
        .filter(|line| std::str::from_utf8(line).is_ok_and(|l| l.contains(HIHC)))
        .collect();
    assert_eq!(events.len(), expected.len());
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, (1..=expected.len() as u64).collect::<Vec<_>>());
    assert!(events
        .windows(2)
        .all(|w| w[0]["position"].as_u64() < w[1]["position"].as_u64()));
    // Without the two added fields, each is the stored event: the chain verifies.
    let lines: Vec<Vec<u8>> = events
        .iter()
        .map(|e| {
            let mut e = e.as_object().unwrap().clone();
            e.remove("version");
            e.remove("position");
            serde_json::to_vec(&e).unwrap()
        })
        .collect();
    pilot_events::verify_lines(lines.iter().map(Vec::as_slice)).unwrap();

    let (status, body) = get(
        &router,
        "/api/v1/pilots/00000000-0000-7000-8000-000000000000/events",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = get(&router, "/api/v1/pilots/hihc/events").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "id");
}

/// The projector's checkpoint as stored: the sealed lines and the snapshot's JSON.
async fn stored_checkpoint(
    log: &pilot_store::jetstream::JetStreamLog,
) -> (Vec<u8>, Value, Vec<u8>) {
    use pilot_store::EventLog;
    let bytes = log.load_checkpoint(CONSUMER).await.unwrap().unwrap();
    let mut lines = bytes.splitn(4, |b| *b == b'\n');
    let head: Vec<&[u8]> = (0..3).map(|_| lines.next().unwrap()).collect();
    let anchor: Value = serde_json::from_slice(head[2]).unwrap();
    (head.join(&b'\n'), anchor, lines.next().unwrap().to_vec())
}

/// Writes `bytes` as the projector's checkpoint with a plain NATS client, as anyone allowed to
/// write the object store can.
async fn overwrite_checkpoint(url: &str, bytes: Vec<u8>) {
    let client = async_nats::connect(url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let store = js
        .get_object_store(pilot_store::jetstream::CHECKPOINT_BUCKET)
        .await
        .unwrap();
    store.put(CONSUMER, &mut bytes.as_slice()).await.unwrap();
}

#[tokio::test]
async fn a_forged_checkpoint_is_refused() {
    use pilot_runtime::checkpoint::{self, CheckpointKey};
    let served = served().await;
    served.stop.send(true).unwrap();
    served.projector.await.unwrap();
    let hihc: uuid::Uuid = HIHC.parse().unwrap();
    let title = served
        .projection
        .read()
        .pilot(&hihc)
        .unwrap()
        .state
        .title
        .clone();

    // The stored snapshot with one pilot's title changed (same length, so the binary body still
    // reads), under the original seal.
    let (head, anchor, body) = stored_checkpoint(&served.log).await;
    let at = body
        .windows(title.len())
        .position(|w| w == title.as_bytes())
        .unwrap();
    let mut forged = body.clone();
    forged[at..at + title.len()].fill(b'F');
    let read = pilot_runtime::projection::restore(&forged).unwrap();
    let forged_title = read.world.pilot(&hihc).unwrap().state.title.clone();
    assert_eq!(
        forged_title,
        "F".repeat(title.len()),
        "a forgery that reads"
    );
    let resealed = [head.clone(), b"\n".to_vec(), forged.clone()].concat();
    // ... sealed anew under a key of the forger's own ...
    let position = anchor["position"].as_u64().unwrap();
    let own_key = CheckpointKey::generate().unwrap();
    let anchor = checkpoint::anchor_at(&served.log, position).await.unwrap();
    let own_seal = checkpoint::seal(&own_key, CONSUMER, &anchor, &forged).unwrap();
    // ... and as a bare snapshot, the shape checkpoints had before they were sealed.
    for (what, bytes) in [
        ("the original seal", resealed),
        ("another key", own_seal.to_vec()),
        ("no seal", forged),
    ] {
        overwrite_checkpoint(&served.server.url(), bytes).await;
        let restored = common::reopen(&served.log, CONSUMER, &served.checkpoint_key).await;
        assert_eq!(restored.position(), 0, "{what}: not resumed from it");
        assert_eq!(restored.halted(), None, "{what}");
        pilot_runtime::follow::rebuild(&served.log, &restored)
            .await
            .unwrap();
        assert_eq!(
            restored.position(),
            common::nanguo_events() as u64,
            "{what}: rebuilt from the log"
        );
        let state = reading(AppState::new(served.log.clone(), restored.clone()));
        state.set_ready();
        let (status, view) = get(&app(state), &format!("/api/v1/pilots/{HIHC}")).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!(view["title"], title.as_str(), "{what}: the log's title");
    }
}

#[tokio::test]
async fn a_log_behind_its_checkpoint_is_not_served() {
    let served = served().await;
    served.stop.send(true).unwrap();
    served.projector.await.unwrap();

    // Deleted and created again, empty, as a NATS client allowed to manage streams can.
    let client = async_nats::connect(served.server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.delete_stream(pilot_store::layout::EVENTS_STREAM)
        .await
        .unwrap();
    let log = pilot_store::jetstream::JetStreamLog::connect(
        &served.server.url(),
        &pilot_store::layout::Layout::default(),
    )
    .await
    .unwrap();

    let restored = common::reopen(&log, CONSUMER, &served.checkpoint_key).await;
    assert_eq!(restored.position(), 0, "nothing served from the checkpoint");
    let reason = restored.halted().expect("halted");
    assert!(reason.contains("recreated"), "{reason}");
    // Following the new log changes nothing: it is not the log the service has seen.
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let (follower, projection) = (log.clone(), restored.clone());
    let projector = tokio::spawn(async move {
        pilot_runtime::follow::run_projector(&follower, CONSUMER, projection, shutdown).await
    });

    let state = reading(AppState::new(log.clone(), restored.clone()));
    state.set_ready();
    let router = app(state);
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("recreated"), "{message}");
    let (status, body) = get(&router, "/api/v1/pilots").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // An append is refused before it reaches the log: no 201 for an event that then 404s.
    let request = Request::post("/api/v1/events")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"type":"pilot.proposed"}"#))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    use pilot_store::EventLog;
    assert_eq!(log.last_position().await.unwrap(), 0, "nothing appended");
    assert_eq!(restored.position(), 0);
    projector.abort();
}

#[tokio::test]
async fn a_stream_recreated_under_a_running_projector_stops_the_service() {
    let served = served().await;
    let state = reading(AppState::new(served.log.clone(), served.projection.clone()));
    state.set_ready();
    let router = app(state);
    assert_eq!(get(&router, "/readyz").await.0, StatusCode::OK);

    let client = async_nats::connect(served.server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.delete_stream(pilot_store::layout::EVENTS_STREAM)
        .await
        .unwrap();
    pilot_store::jetstream::JetStreamLog::connect(
        &served.server.url(),
        &pilot_store::layout::Layout::default(),
    )
    .await
    .unwrap();
    let mut halted = served.projection.watch_halted();
    let noticed = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        halted.wait_for(|h| h.is_some()),
    )
    .await;
    assert!(matches!(noticed, Ok(Ok(_))), "the projector noticed");
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        get(&router, "/api/v1/pilots").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}
