//! Personal fields read back (docs/personal-data.md): a person's sealed name and a contact note
//! about them show as plain text in the API's JSON, its CSV tables, the export's sidecar
//! lines and the web pages (a form's stakeholder list too); after the person's key is
//! destroyed and `subject.erased` recorded, every one of them shows the erased marker with
//! when and why, and a redacted export (no sidecars) still verifies and imports without
//! storing any plain text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::{append_as_admin, get_with, send, served, sign_in, ADMIN, CLERK, HICI};
use pilot_events::personal::seal;
use pilot_store::subject_keys::SubjectKeys;
use pilot_store::EventLog;
use uuid::Uuid;

const PERSON: &str = "0194a000-0002-7000-8000-0000000000e1";
const NAME: &str = "Deputy Director Qian, \"Old Qian\"";
const SUMMARY: &str = "Qian said the bureau would back the pilot <privately>, 钱主任同意.";
const REASON: &str = "asked to be forgotten under PIPL art. 47";

async fn as_admin(router: &Router, path: &str) -> common::Answer {
    get_with(
        router,
        path,
        &[("authorization", &format!("Bearer {ADMIN}"))],
    )
    .await
}

/// The non-sidecar lines of an export, verified as chains; panics on a broken link.
fn verify_export(body: &str) -> usize {
    let mut verifier = pilot_events::ChainVerifier::default();
    let mut events = 0;
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        if pilot_api::reveal::is_sidecar(line.as_bytes()) {
            continue;
        }
        verifier
            .push_link(line.as_bytes())
            .unwrap_or_else(|e| panic!("the export verifies: {e:?}"));
        events += 1;
    }
    events
}

/// `GET /api/v1/events/stream?after=0` read until it holds `wanted` and the next event's end.
async fn live_until(router: &Router, wanted: &str) -> String {
    use futures::StreamExt;
    use tower::ServiceExt;
    let request = Request::builder()
        .uri("/api/v1/events/stream?after=0")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body().into_data_stream();
    let mut text = String::new();
    let deadline = std::time::Duration::from_secs(10);
    while !text
        .find(wanted)
        .is_some_and(|at| text[at..].contains("\n\n"))
    {
        let chunk = tokio::time::timeout(deadline, stream.next())
            .await
            .expect("the stream sends the revealed event in time")
            .expect("the stream goes on")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test]
async fn a_persons_fields_read_as_text_until_erased_then_as_erased_everywhere() {
    let served = served().await;
    let keys = SubjectKeys::memory();
    let eraser = keys.memory_eraser().unwrap();
    let state = served
        .state
        .clone()
        .with_personal_data(keys.clone(), Some(eraser.clone()));
    let router = pilot_api::app(state.clone()).merge(pilot_web::router(
        state.clone(),
        pilot_web::WebOptions::default(),
    ));
    let person = Uuid::parse_str(PERSON).unwrap();
    let key = keys.key_or_create(person).await.unwrap();
    let sealed_name = seal(&key, person, "name", NAME).to_string();
    let sealed_summary = seal(&key, person, "summary", SUMMARY).to_string();

    let registered = append_as_admin(
        &router,
        &serde_json::json!([{"type": "stakeholder.registered", "stakeholder_id": PERSON,
            "occurred_at": "2001-02-01T10:00:00+08:00", "actor": {"office": "SSDNC", "user": "clerk"},
            "data": {"name": sealed_name, "kind": "leader", "level": "municipal",
                     "influence": 3, "person": true}}]),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let contact = append_as_admin(
        &router,
        &serde_json::json!([{"type": "lobbying.contact_logged", "pilot_id": HICI,
            "occurred_at": "2001-02-02T10:00:00+08:00", "actor": {"office": "SSDNC", "user": "clerk"},
            "data": {"stakeholder_id": PERSON, "channel": "meeting", "strategy": "framing",
                     "summary": sealed_summary, "stance": 1}}]),
    )
    .await;
    assert_eq!(contact.status, StatusCode::CREATED, "{}", contact.body);

    // With the key: plain text in the API, its CSV, the export's sidecars and the pages.
    let json_name = serde_json::to_string(NAME).unwrap();
    let one = as_admin(&router, &format!("/api/v1/stakeholders/{PERSON}")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert!(one.body.contains(&json_name), "{}", one.body);
    assert!(!one.body.contains("sealed:v1:"), "{}", one.body);
    let support = as_admin(&router, &format!("/api/v1/pilots/{HICI}/support")).await;
    assert!(support.body.contains(&json_name), "{}", support.body);
    let chain = as_admin(&router, &format!("/api/v1/pilots/{HICI}/events")).await;
    assert!(
        chain
            .body
            .contains(&serde_json::to_string(SUMMARY).unwrap()[1..]),
        "{}",
        chain.body
    );

    let csv = as_admin(&router, "/api/v1/stakeholders?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(
        csv.body.contains(&format!(
            "{PERSON},\"Deputy Director Qian, \"\"Old Qian\"\"\",leader"
        )),
        "{}",
        csv.body
    );
    assert!(!csv.body.contains("sealed:v1:"));

    let export = as_admin(&router, &format!("/api/v1/events?pilot={HICI}&limit=10000")).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    let sidecar = export
        .body
        .lines()
        .find(|l| l.starts_with("{\"revealed_for\""))
        .expect("a sidecar line after the contact");
    let sidecar: serde_json::Value = serde_json::from_str(sidecar).unwrap();
    assert_eq!(sidecar["fields"]["summary"], SUMMARY);
    assert!(
        export.body.contains(&sealed_summary),
        "the event line as stored"
    );
    verify_export(&export.body);

    // The live stream sends each event as stored, then a `revealed` event with its sidecar.
    let live = live_until(&router, "\",\"fields\":{\"summary\":").await;
    assert!(
        live.contains(&serde_json::to_string(SUMMARY).unwrap()),
        "{live}"
    );
    assert!(live.contains(&sealed_summary), "{live}");
    assert!(
        live.contains("event: revealed\ndata: {\"revealed_for\":"),
        "{live}"
    );

    let clerk = sign_in(&router, CLERK).await;
    let page = get_with(
        &router,
        &format!("/stakeholders/{PERSON}"),
        &[("cookie", &clerk)],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("Deputy Director Qian, &#34;Old Qian&#34;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("sealed:v1:"), "{}", page.body);
    let pilot = get_with(&router, &format!("/pilots/{HICI}"), &[("cookie", &clerk)]).await;
    assert!(
        pilot.body.contains("&lt;privately&gt;, 钱主任同意."),
        "{}",
        pilot.body
    );
    assert!(!pilot.body.contains("sealed:v1:"), "{}", pilot.body);
    let form = get_with(
        &router,
        &format!("/log/lobbying.contact_logged?pilot={HICI}"),
        &[("cookie", &clerk)],
    )
    .await;
    assert!(
        form.body
            .contains("Deputy Director Qian, &#34;Old Qian&#34;"),
        "the form's stakeholder list: {}",
        form.body
    );

    // A spreadsheet names the person as people see the name, not by its ciphertext.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/import?type=stakeholder.stance_assessed&dry_run=true")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(format!(
            "Pilot,Stakeholder ID,Stance,Occurred At,Office\n\
             {HICI},\"Deputy Director Qian, \"\"Old Qian\"\"\",1,2001-02-03T10:00:00+08:00,SSDNC\n"
        )))
        .unwrap();
    let dry_run = send(&router, request).await;
    assert_eq!(dry_run.status, StatusCode::OK, "{}", dry_run.body);
    let report: serde_json::Value = serde_json::from_str(&dry_run.body).unwrap();
    assert_eq!(report["refused"], serde_json::json!([]), "{}", dry_run.body);
    assert_eq!(
        report["stored"][0]["event"]["data"]["stakeholder_id"], PERSON,
        "{}",
        dry_run.body
    );

    // Erased through the erasure path: the erasure recorded, the key destroyed and forgotten.
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/subjects/{PERSON}/erase"))
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({"reason": REASON}).to_string(),
        ))
        .unwrap();
    let erased = send(&router, request).await;
    assert!(erased.status.is_success(), "{}", erased.body);
    assert_eq!(keys.key(person).await.unwrap(), None, "the key is gone");
    let erasure = state
        .projection
        .read()
        .registry()
        .erasure(&person)
        .cloned()
        .expect("the erasure is recorded");
    let marker = pilot_api::reveal::erased_marker(&erasure);
    assert!(marker.starts_with("[erased 20") && marker.ends_with(&format!(": {REASON}]")));
    let erased_text = marker.as_str();

    let one = as_admin(&router, &format!("/api/v1/stakeholders/{PERSON}")).await;
    assert!(one.body.contains(erased_text), "{}", one.body);
    assert!(!one.body.contains("Qian"), "{}", one.body);
    let chain = as_admin(&router, &format!("/api/v1/pilots/{HICI}/events")).await;
    assert!(chain.body.contains(erased_text), "{}", chain.body);
    assert!(!chain.body.contains("钱主任"), "{}", chain.body);
    let csv = as_admin(&router, "/api/v1/stakeholders?format=csv").await;
    assert!(
        csv.body
            .contains(&format!("{PERSON},\"{erased_text}\",leader"))
            || csv.body.contains(&format!("{PERSON},{erased_text},leader")),
        "{}",
        csv.body
    );
    let page = get_with(
        &router,
        &format!("/stakeholders/{PERSON}"),
        &[("cookie", &clerk)],
    )
    .await;
    assert!(page.body.contains(erased_text), "{}", page.body);
    assert!(!page.body.contains("Qian"), "{}", page.body);
    let pilot = get_with(&router, &format!("/pilots/{HICI}"), &[("cookie", &clerk)]).await;
    assert!(pilot.body.contains(erased_text), "{}", pilot.body);
    assert!(!pilot.body.contains("钱主任"), "{}", pilot.body);
    let form = get_with(
        &router,
        &format!("/log/lobbying.contact_logged?pilot={HICI}"),
        &[("cookie", &clerk)],
    )
    .await;
    assert!(form.body.contains(erased_text), "{}", form.body);

    let export = as_admin(&router, "/api/v1/events?limit=10000").await;
    let sidecars: Vec<serde_json::Value> = export
        .body
        .lines()
        .filter(|l| pilot_api::reveal::is_sidecar(l.as_bytes()))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sidecars.len(), 2, "the registration and the contact");
    for sidecar in &sidecars {
        for value in sidecar["fields"].as_object().unwrap().values() {
            assert_eq!(value, erased_text);
        }
    }
    assert!(!export.body.contains("Qian"));

    // Redacted: ciphertext only, and every chain still verifies.
    let redacted = as_admin(&router, "/api/v1/events?limit=10000&redact=true").await;
    assert_eq!(redacted.status, StatusCode::OK, "{}", redacted.body);
    assert!(!redacted.body.contains("revealed_for"));
    assert!(!redacted.body.contains("[erased"));
    assert!(redacted.body.contains(&sealed_name));
    assert_eq!(
        verify_export(&redacted.body),
        verify_export(&export.body),
        "the same events"
    );
    assert_eq!(
        redacted.body.lines().count() + sidecars.len(),
        export.body.lines().count()
    );
}

#[tokio::test]
async fn importing_an_export_with_sidecars_stores_no_plain_text() {
    let source = served().await;
    let keys = SubjectKeys::memory();
    let state = source.state.clone().with_personal_data(keys.clone(), None);
    let router = pilot_api::app(state.clone());
    let person = Uuid::parse_str(PERSON).unwrap();
    let key = keys.key_or_create(person).await.unwrap();
    let registered = append_as_admin(
        &router,
        &serde_json::json!([{"type": "stakeholder.registered", "stakeholder_id": PERSON,
            "occurred_at": "2001-02-01T10:00:00+08:00", "actor": {"office": "SSDNC", "user": "clerk"},
            "data": {"name": seal(&key, person, "name", NAME).to_string(), "kind": "leader",
                     "level": "municipal", "influence": 3, "person": true}}]),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let export = as_admin(&router, "/api/v1/events?limit=10000").await;
    assert!(
        export.body.contains("Old Qian"),
        "the sidecar reveals the name"
    );

    // Into another service, which holds the Nanguo history already: the new registration
    // is appended, its sidecar skipped.
    let target = served().await;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/import")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from(export.body.clone()))
        .unwrap();
    let imported = send(&target.router, request).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    let stored = target.log.read_from(1, 100_000).await.unwrap();
    assert!(stored
        .iter()
        .all(|s| !pilot_api::reveal::is_sidecar(&s.bytes)));
    let all: Vec<u8> = stored.iter().flat_map(|s| s.bytes.to_vec()).collect();
    assert!(!String::from_utf8_lossy(&all).contains("Qian"));
    assert!(target.state.projection.read().registry().is_person(&person));
}

/// The Nanguo history loaded with a key store: its persons' fields are sealed as they load,
/// and every reader sees them as before; the redacted export holds no plain name and verifies.
#[tokio::test]
async fn the_nanguo_persons_read_as_before_once_sealed_on_load() {
    use pilot_runtime::checkpoint::CheckpointKey;
    use pilot_runtime::runtime::{Runtime, RuntimeOptions};
    use pilot_store::memory::MemoryLog;
    use std::sync::Arc;

    let log = Arc::new(MemoryLog::new());
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let runtime = Runtime::start_memory(
        log.clone(),
        RuntimeOptions {
            name: "reveal-test".into(),
            book: pilot_projections::AlertBook::default(),
            checkpoint_key: CheckpointKey::generate().unwrap(),
            collect_alerts: false,
        },
        shutdown,
    )
    .await;
    let projection = runtime.projection().clone();
    let keys = SubjectKeys::memory();
    pilot_api::demo::load_history_with(
        log.as_ref(),
        &projection,
        pilot_api::demo::NANGUO,
        Some(&keys),
    )
    .await
    .unwrap();
    let stored = log.read_from(1, 100_000).await.unwrap();
    let all: Vec<u8> = stored.iter().flat_map(|s| s.bytes.to_vec()).collect();
    let all = String::from_utf8_lossy(&all).into_owned();
    assert!(all.contains("sealed:v1:"), "persons' fields sealed on load");
    assert!(!all.contains("Party Secretary Li"));

    let mut tokens = pilot_api::auth::Tokens::default();
    tokens.add_clear("admin", pilot_api::auth::Role::Admin, None, ADMIN);
    let state =
        pilot_api::AppState::shared(pilot_store::SharedLog::from_arc(log.clone()), projection)
            .with_access(pilot_api::state::Access {
                tokens,
                anonymous_reads: true,
                ..pilot_api::state::Access::default()
            })
            .with_personal_data(keys, None);
    state.set_ready();
    let router = pilot_api::app(state.clone())
        .merge(pilot_web::router(state, pilot_web::WebOptions::default()));
    let li = "0194a000-0002-7000-8000-000000000001";
    let one = as_admin(&router, &format!("/api/v1/stakeholders/{li}")).await;
    assert!(one.body.contains("\"Party Secretary Li\""), "{}", one.body);
    let page = get_with(&router, &format!("/stakeholders/{li}"), &[]).await;
    assert!(
        page.body.contains("<h1>Party Secretary Li</h1>"),
        "{}",
        page.body
    );
    let export = as_admin(&router, "/api/v1/events?limit=10000").await;
    assert!(export.body.contains("\"name\":\"Party Secretary Li\""));
    let redacted = as_admin(&router, "/api/v1/events?limit=10000&redact=true").await;
    assert!(!redacted.body.contains("Party Secretary Li"));
    assert_eq!(
        verify_export(&redacted.body),
        pilot_api::demo::nanguo_events()
    );
    drop(runtime);
}
