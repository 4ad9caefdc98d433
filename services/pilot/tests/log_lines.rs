//! No input forges a log line: outside text that reaches a log field (here a foreign
//! message's unknown event type, quoted in the quarantine reason) is written with its control
//! characters escaped, so one event stays one line and no ESC reaches the terminal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_nats_harness::NatsServer;
use std::time::{Duration, Instant};

mod common;

use common::process::PilotProcess;

const FORGED: &str = "2001-01-01T00:00:00.000000Z  INFO pilot: Token revoked. name=admin";

#[tokio::test]
async fn a_newline_and_esc_in_outside_text_cannot_forge_a_log_line() {
    let server = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stderr = dir.path().join("stderr.log");
    let mut pilot = PilotProcess::serve(
        &[
            "--nats",
            &server.url(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
        &stderr,
    );
    pilot.wait_for_url();

    // A foreign client publishes an event whose type carries a newline, a forged line and ESC.
    let proposal = common::NANGUO
        .split(|b| *b == b'\n')
        .find(|line| line.windows(14).any(|w| w == b"pilot.proposed"))
        .unwrap();
    let mut event: serde_json::Value = serde_json::from_slice(proposal).unwrap();
    event["type"] = serde_json::json!(format!("x\n{FORGED}\u{1b}[2K"));
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.publish(
        format!("pilot.events.p.{}", event["pilot_id"].as_str().unwrap()),
        serde_json::to_vec(&event).unwrap().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while !pilot.stderr().contains("Quarantined") {
        assert!(
            Instant::now() < deadline,
            "no quarantine line:\n{}",
            pilot.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = pilot.stderr();
    let quarantined = log.lines().find(|l| l.contains("Quarantined")).unwrap();
    assert!(quarantined.contains("\\n2001-01-01"), "{quarantined}");
    assert!(quarantined.contains("\\u{1b}[2K"), "{quarantined}");
    assert!(
        !log.lines().any(|line| line.starts_with("2001-01-01")),
        "a forged line stands on its own:\n{log}"
    );
    assert!(!log.contains('\u{1b}'), "ESC reached the log:\n{log}");
    pilot.terminate();
}
