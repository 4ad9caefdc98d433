//! The local nats-server that `pilot serve` runs without `--nats`: started on a free port with
//! JetStream, refused a second time on the same store, watched, and stopped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_service::nats_server::{LocalNats, NatsServerError};
use std::time::Duration;

#[tokio::test]
async fn starts_refuses_a_second_server_on_its_store_and_stops() {
    let binary = pilot_nats_harness::nats_server_binary().unwrap();
    let data = tempfile::tempdir().unwrap();

    let server = LocalNats::start(&binary, data.path()).await.unwrap();
    assert!(server.url().starts_with("nats://127.0.0.1:"));
    let pid = server.pid().unwrap();
    assert!(data.path().join("nats").is_dir());
    assert!(data.path().join("nats-server.log").is_file());

    let second = LocalNats::start(&binary, data.path()).await.unwrap_err();
    assert!(
        matches!(second, NatsServerError::AlreadyRunning { pid: p, .. } if p == pid),
        "{second}"
    );
    assert!(second.to_string().contains(&format!("kill {pid}")));

    server.stop().await;
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());

    // The pid file is stale now: a new server starts on the same store.
    let again = LocalNats::start(&binary, data.path()).await.unwrap();
    again.stop().await;
}

#[tokio::test]
async fn notices_when_its_server_dies() {
    let binary = pilot_nats_harness::nats_server_binary().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut server = LocalNats::start(&binary, data.path()).await.unwrap();
    let pid = server.pid().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), server.exited())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    server.stop().await; // already gone: a no-op
}

#[tokio::test]
async fn a_binary_that_is_no_nats_server_is_reported_with_its_output() {
    let data = tempfile::tempdir().unwrap();
    let error = LocalNats::start(std::path::Path::new("/bin/false"), data.path())
        .await
        .unwrap_err();
    assert!(matches!(error, NatsServerError::Exited { .. }), "{error}");
}
