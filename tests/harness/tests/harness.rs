#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The harness against a real nats-server: durability across SIGKILL, cleanup, errors, and a
//! 3-node cluster that survives losing its stream leader.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage, stream};
use pilot_nats_harness::{HarnessError, NatsCluster, NatsServer, ServerOptions};

async fn connect(urls: Vec<String>) -> jetstream::Context {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(urls)
        .await
        .expect("connect");
    jetstream::new(client)
}

fn stream_config(name: &str, replicas: usize) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{}.events", name.to_lowercase())],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// Publishes with a `Nats-Msg-Id` and waits for the ack, retrying (deduplicated) until `within`.
async fn publish_acked(js: &jetstream::Context, subject: &str, id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let attempt = async {
            let msg = PublishMessage::build()
                .payload(id.to_owned().into())
                .message_id(id);
            js.send_publish(subject.to_owned(), msg).await?.await
        };
        let error = match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(_ack)) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no ack within 2 s".to_owned(),
        };
        assert!(
            Instant::now() < deadline,
            "publish {id} not acked within {within:?}: {error}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn acked_messages_survive_kill9_and_restart() {
    let started = Instant::now();
    // sync_interval: always makes every acked message durable the moment it is acked.
    let mut server = NatsServer::start_with(
        ServerOptions::default().config("jetstream { sync_interval: always }"),
    )
    .unwrap();
    eprintln!("single server ready in {:?}", started.elapsed());
    assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));

    let js = connect(vec![server.url()]).await;
    js.create_stream(stream_config("DURABLE", 1)).await.unwrap();
    for i in 0..10 {
        let ack = js.publish("durable.events", format!("m{i}").into()).await;
        ack.unwrap().await.unwrap();
    }

    server.kill9();
    assert!(!server.is_running());
    let restarted = Instant::now();
    server.restart().unwrap();
    eprintln!("restart after kill9 ready in {:?}", restarted.elapsed());
    assert!(server.log().contains("--- pilot-nats-harness: restart ---"));

    let js = connect(vec![server.url()]).await;
    let mut stream = js.get_stream("DURABLE").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 10);
}

#[tokio::test]
async fn stop_and_drop_remove_the_temp_dir() {
    let mut server = NatsServer::start().unwrap();
    let store = server.store_dir().to_path_buf();
    assert!(store.is_dir());
    assert!(server.log().contains("Server is ready"), "{}", server.log());
    let version = server.version().unwrap();
    if std::env::var_os("PILOT_NATS_SERVER").is_none() {
        assert_eq!(version, "2.15.1");
    }

    server.stop();
    assert!(!server.is_running());
    server.stop(); // idempotent
    server.kill9();
    drop(server);
    assert!(!store.exists(), "{} still exists", store.display());
}

#[tokio::test]
async fn start_errors_explain_themselves() {
    let bad = NatsServer::start_with(ServerOptions::default().config("this is { not valid"));
    match bad {
        Err(HarnessError::Exited { log_tail, .. }) => {
            assert!(!log_tail.is_empty(), "the error carries the server log");
        }
        other => panic!("expected Exited, got {other:?}"),
    }

    let missing =
        NatsServer::start_with(ServerOptions::default().binary("/nonexistent/nats-server"));
    let message = missing.unwrap_err().to_string();
    assert!(message.contains("PILOT_NATS_SERVER"), "{message}");
}

#[tokio::test]
async fn cluster_keeps_publishing_after_its_stream_leader_is_killed() {
    let started = Instant::now();
    let mut cluster = NatsCluster::start(3).unwrap();
    eprintln!("3-node cluster formed in {:?}", started.elapsed());
    let names: Vec<&str> = cluster.nodes().iter().map(|n| n.name()).collect();
    assert_eq!(names, ["n1", "n2", "n3"]);
    assert_eq!(cluster.urls().split(',').count(), 3);
    assert!(cluster.node(3).is_err());

    let js = connect(cluster.url_list()).await;
    let mut stream = js
        .create_stream(stream_config("REPLICATED", 3))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let leader = loop {
        let info = stream.info().await.unwrap();
        if let Some(leader) = info.cluster.as_ref().and_then(|c| c.leader.clone()) {
            assert_eq!(info.config.num_replicas, 3);
            break leader;
        }
        assert!(Instant::now() < deadline, "the R3 stream got no leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for i in 0..5 {
        publish_acked(
            &js,
            "replicated.events",
            &format!("before-{i}"),
            Duration::from_secs(5),
        )
        .await;
    }

    let victim = names.iter().position(|&n| n == leader).unwrap();
    cluster.kill9(victim).unwrap();
    let killed = Instant::now();
    for i in 0..5 {
        publish_acked(
            &js,
            "replicated.events",
            &format!("after-{i}"),
            Duration::from_secs(15),
        )
        .await;
    }
    eprintln!(
        "publishing resumed {:?} after killing leader {leader}",
        killed.elapsed()
    );

    let restarted = Instant::now();
    cluster.restart(victim).unwrap();
    eprintln!("{leader} rejoined in {:?}", restarted.elapsed());
    let mut stream = js.get_stream("REPLICATED").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 10);
}
