//! A stream changed under a running `pilot serve` stops its writes and its readiness, naming
//! what changed, instead of going unnoticed until the next start.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::process::PilotProcess;
use pilot_nats_harness::NatsServer;
use pilot_store::layout::EVENTS_STREAM;
use std::time::{Duration, Instant};

const TOKEN: &str = "layout-watch-admin-token-0123456789";

fn contact(stance: i64) -> serde_json::Value {
    common::lobbying_contact("Follow-up on the unified fund", stance)
}

/// Polls `/readyz` until it answers 503 (bounded); returns the body.
async fn wait_until_not_ready(http: &reqwest::Client, base: &str, pilot: &PilotProcess) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = http.get(format!("{base}/readyz")).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        if status == 503 {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still answers {status} {body}:\n{}",
            pilot.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `pilot serve --demo` on `nats`, ready; its base URL.
fn serve_demo(nats: &NatsServer, data: &std::path::Path) -> (PilotProcess, String) {
    let url = nats.url();
    let args = [
        "--nats",
        &url,
        "--demo",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let mut pilot = PilotProcess::serve(
        &args,
        &[("PILOT_ADMIN_TOKEN", TOKEN)],
        &data.join("pilot.stderr.log"),
    );
    let ready = pilot.wait_for_url();
    let base = ready.split("/api/").next().unwrap().to_string();
    (pilot, base)
}

#[tokio::test]
async fn a_stream_changed_while_running_stops_appends() {
    let nats = NatsServer::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut pilot, base) = serve_demo(&nats, data.path());
    let http = reqwest::Client::new();
    let append = |stance| {
        http.post(format!("{base}/api/v1/events"))
            .bearer_auth(TOKEN)
            .json(&contact(stance))
            .send()
    };
    assert_eq!(append(1).await.unwrap().status(), 201);

    // An operator cuts the event stream to its last 10 messages while pilot runs.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(EVENTS_STREAM).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    js.update_stream(&async_nats::jetstream::stream::Config {
        max_messages: 10,
        discard: async_nats::jetstream::stream::DiscardPolicy::Old,
        ..config
    })
    .await
    .unwrap();

    let body = wait_until_not_ready(&http, &base, &pilot).await;
    assert!(body.contains("max_messages"), "{body}");
    assert!(body.contains("discard"), "{body}");
    assert!(body.contains(EVENTS_STREAM), "{body}");

    let refused = append(2).await.unwrap();
    assert_eq!(refused.status(), 503);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("max_messages"), "{refused}");
    // Reads still answer from what was checked.
    let pilots = http
        .get(format!("{base}/api/v1/pilots"))
        .send()
        .await
        .unwrap();
    assert_eq!(pilots.status(), 200);
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

#[tokio::test]
async fn a_stream_deleted_while_running_stops_appends() {
    let nats = NatsServer::start().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut pilot, base) = serve_demo(&nats, data.path());
    let http = reqwest::Client::new();

    // deny_delete keeps messages, not the stream itself.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.delete_stream(EVENTS_STREAM).await.unwrap();

    let body = wait_until_not_ready(&http, &base, &pilot).await;
    assert!(body.contains(EVENTS_STREAM), "{body}");
    let refused = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(TOKEN)
        .json(&contact(1))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}
