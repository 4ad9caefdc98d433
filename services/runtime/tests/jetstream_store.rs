//! The JetStream store against a real nats-server: concurrent writers on one chain, retried
//! appends, a SIGKILL during load, foreign publishers, refused deletes and purges, and the
//! server version check.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)] // test code

mod common;

use common::*;

use pilot_events::data::*;
use pilot_events::{Event, Stage, Subject};
use pilot_nats_harness::{NatsServer, ServerOptions};
use pilot_projections::World;
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::follow::DEFAULT_CONSUMER;
use pilot_runtime::projection::Projection;
use pilot_runtime::writer::{StoredEvent, Writer};
use pilot_store::jetstream::{ConnectError, JetStreamLog};
use pilot_store::layout::{Layout, EVENTS_STREAM};
use pilot_store::EventLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

struct Node {
    log: JetStreamLog,
    projection: Arc<Projection>,
    _stop: watch::Sender<bool>,
}

/// The checkpoint key every node of this test binary seals with, as processes sharing a
/// `[checkpoints] key_file` do.
fn checkpoint_key() -> CheckpointKey {
    static KEY: std::sync::OnceLock<CheckpointKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| CheckpointKey::generate().unwrap())
        .clone()
}

async fn node(url: &str, consumer: &str) -> Node {
    let log = JetStreamLog::connect(url, &Layout::default())
        .await
        .unwrap();
    let projection = Arc::new(Projection::new(World::new()));
    projection.set_checkpoint_key(checkpoint_key());
    let (stop, shutdown) = watch::channel(false);
    let follower = log.clone();
    let (p, name) = (projection.clone(), consumer.to_string());
    tokio::spawn(async move {
        pilot_runtime::follow::run_projector(&follower, &name, p, shutdown).await
    });
    // Ready once caught up with what the log held at start, as a service waits before serving.
    let last = log.last_position().await.unwrap();
    assert!(projection.wait_for(last, Duration::from_secs(20)).await);
    Node {
        log,
        projection,
        _stop: stop,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_writers_on_one_pilot_store_every_event_once_in_one_valid_chain() {
    let server = NatsServer::start().unwrap();
    let p = Subject::Pilot(Uuid::now_v7());
    let shared = node(&server.url(), DEFAULT_CONSUMER).await;
    Writer::new(Arc::new(shared.log.clone()), shared.projection.clone())
        .append(vec![draft(p, proposed())], None)
        .await
        .unwrap();
    const WRITERS: u32 = 16;
    const EACH: u32 = 1_000;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        // Each writer has its own connection and its own per-chain lock: only the server arbitrates.
        let log = JetStreamLog::connect(&server.url(), &Layout::default())
            .await
            .unwrap();
        let writer = Writer::new(Arc::new(log), shared.projection.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                writer
                    .append(vec![draft(p, target((w * EACH + i) as usize))], None)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let chain = shared.log.read_chain(p, 0).await.unwrap();
    assert_eq!(chain.len() as u32, 1 + WRITERS * EACH);
    let lines: Vec<&[u8]> = chain.iter().map(|s| s.bytes.as_ref()).collect();
    let report = pilot_events::verify_lines(lines).unwrap();
    assert_eq!(report.events as u32, 1 + WRITERS * EACH);
    let world = shared.projection.read();
    let state = &world.pilot(&p.id()).unwrap().state;
    assert_eq!(
        state.version as u32,
        1 + WRITERS * EACH,
        "versions without gaps"
    );
    assert_eq!(state.targets.len() as u32, WRITERS * EACH);
}

#[tokio::test]
async fn a_retried_append_never_duplicates() {
    let server = NatsServer::start().unwrap();
    let node = node(&server.url(), DEFAULT_CONSUMER).await;
    let writer = Writer::new(Arc::new(node.log.clone()), node.projection.clone());
    let p = Subject::Pilot(Uuid::now_v7());
    let mut proposal = draft(p, proposed());
    proposal.event_id = Some(Uuid::now_v7());
    let first = writer.append(vec![proposal.clone()], None).await.unwrap();
    // The same sealed bytes published again below the writer (as a client retrying after a
    // lost ack would): the server's dedupe or the tail check answers with the first position.
    let again = node
        .log
        .append(
            p,
            0,
            vec![pilot_store::Outgoing {
                event_id: first[0].envelope.event_id,
                bytes: first[0].envelope.to_json().into(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(again, vec![first[0].position]);
    assert_eq!(writer.append(vec![proposal], None).await.unwrap(), first);
    assert_eq!(node.log.read_chain(p, 0).await.unwrap().len(), 1);
    assert_eq!(node.log.last_position().await.unwrap(), 1);
}

#[tokio::test]
async fn deletes_and_purges_are_refused_by_the_server() {
    let server = NatsServer::start().unwrap();
    let node = node(&server.url(), DEFAULT_CONSUMER).await;
    let writer = Writer::new(Arc::new(node.log.clone()), node.projection.clone());
    writer
        .append(
            vec![draft(Subject::Pilot(Uuid::now_v7()), proposed())],
            None,
        )
        .await
        .unwrap();
    let stream = node
        .log
        .jetstream()
        .get_stream(EVENTS_STREAM)
        .await
        .unwrap();
    assert!(
        stream.delete_message(1).await.is_err(),
        "delete must be refused"
    );
    assert!(stream.purge().await.is_err(), "purge must be refused");
    assert_eq!(node.log.last_position().await.unwrap(), 1);
    assert_eq!(node.log.read_from(1, 10).await.unwrap().len(), 1);
}

/// A node on `server`, its writer, and a pilot it has just proposed.
async fn proposed_pilot(
    server: &NatsServer,
) -> (Node, Writer<JetStreamLog>, Subject, Vec<StoredEvent>) {
    let node = node(&server.url(), DEFAULT_CONSUMER).await;
    let writer = Writer::new(Arc::new(node.log.clone()), node.projection.clone());
    let p = Subject::Pilot(Uuid::now_v7());
    let proposal = writer
        .append(vec![draft(p, proposed())], None)
        .await
        .unwrap();
    (node, writer, p, proposal)
}

/// A client with no business in the log, as any holder of publish rights could be.
async fn foreign_client(url: &str) -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(url).await.unwrap())
}

/// Publishes raw bytes on `subject` and waits until the stream stored them.
async fn publish_raw(js: &async_nats::jetstream::Context, subject: &str, bytes: impl Into<String>) {
    js.publish(subject.to_string(), bytes.into().into())
        .await
        .unwrap()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_foreign_publisher_cannot_stop_the_projector() {
    let server = NatsServer::start().unwrap();
    let (node, writer, p, first) = proposed_pilot(&server).await;
    let js = foreign_client(&server.url()).await;
    let subject = pilot_store::layout::chain_subject(p);
    publish_raw(&js, &subject, "{garbage").await;
    // A valid event, sealed by hand onto the chain, published raw like any foreign client.
    let mut design = first[0].envelope.clone();
    design.event_id = Uuid::now_v7();
    design.event = Event::ProgramDesigned(ProgramDesigned {
        summary: "s".into(),
        parameters: Default::default(),
        target_groups: vec![],
    });
    let design = design.seal(first[0].envelope.hash);
    publish_raw(&js, &subject, design.to_json()).await;
    assert!(
        node.projection.wait_for(3, Duration::from_secs(10)).await,
        "the projector went on"
    );
    assert_eq!(
        node.projection.read().pilot(&p.id()).unwrap().state.stage,
        Stage::Design
    );
    // The projection moves past a bad message before its quarantine entry is stored.
    let mut quarantined = Vec::new();
    for _ in 0..250 {
        quarantined = node.log.quarantined().await.unwrap();
        if !quarantined.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].0, 2);
    assert!(
        quarantined[0].1.contains("not a valid event"),
        "{}",
        quarantined[0].1
    );
    assert_eq!(quarantined[0].2.as_ref(), b"{garbage");
    // And writers go on after it.
    writer
        .append(vec![draft(p, target(1))], None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_during_load_loses_no_acknowledged_append() {
    let mut server = NatsServer::start().unwrap();
    let url = server.url();
    let node = node(&url, DEFAULT_CONSUMER).await;
    let writer = Arc::new(Writer::new(
        Arc::new(node.log.clone()),
        node.projection.clone(),
    ));
    let p = Subject::Pilot(Uuid::now_v7());
    writer
        .append(vec![draft(p, proposed())], None)
        .await
        .unwrap();
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let load = {
        let (writer, acknowledged) = (writer.clone(), acknowledged.clone());
        tokio::spawn(async move {
            for i in 0..100_000u32 {
                if let Ok(stored) = writer
                    .append(vec![draft(p, target(i as usize))], None)
                    .await
                {
                    acknowledged
                        .lock()
                        .unwrap()
                        .push(stored[0].envelope.event_id);
                }
                if acknowledged.lock().unwrap().len() >= 600 {
                    break;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill9();
    server.restart().unwrap();
    load.await.unwrap();
    let fresh = JetStreamLog::connect(&url, &Layout::default())
        .await
        .unwrap();
    let stored: std::collections::HashSet<Uuid> = fresh
        .read_chain(p, 0)
        .await
        .unwrap()
        .iter()
        .map(|s| pilot_events::decode(&s.bytes).unwrap().event_id)
        .collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 600);
    assert!(
        acknowledged.iter().all(|id| stored.contains(id)),
        "every acknowledged append survived"
    );
    // The running projector resumed and agrees with a rebuild from scratch.
    let last = fresh.last_position().await.unwrap();
    assert!(
        node.projection
            .wait_for(last, Duration::from_secs(20))
            .await
    );
    let rebuilt = Projection::new(World::new());
    pilot_runtime::projector::catch_up(&fresh, &rebuilt)
        .await
        .unwrap();
    assert_eq!(
        rebuilt.read().pilot_view(&p.id()),
        node.projection.read().pilot_view(&p.id())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projector_applies_the_writers_own_envelopes_without_decoding_them_again() {
    let server = NatsServer::start().unwrap();
    let shared = node(&server.url(), DEFAULT_CONSUMER).await;
    // Until its durable consumer exists, the projector catches up by reading the log.
    let stream = shared
        .log
        .jetstream()
        .get_stream(EVENTS_STREAM)
        .await
        .unwrap();
    for _ in 0..100 {
        if stream.consumer_info(DEFAULT_CONSUMER).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let writer = Writer::new(Arc::new(shared.log.clone()), shared.projection.clone());
    let p = Subject::Pilot(Uuid::now_v7());
    writer
        .append(vec![draft(p, proposed())], None)
        .await
        .unwrap();
    writer
        .append(vec![draft(p, target(1)), draft(p, target(2))], None)
        .await
        .unwrap();
    let counters = &shared.projection.counters;
    let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(count(&counters.applied), 3);
    assert_eq!(
        count(&counters.handed_over),
        3,
        "every append was handed over"
    );
    // A foreign publisher's message is decoded as usual.
    let js = shared.log.jetstream().clone();
    let foreign = pilot_events::decode(
        &shared
            .log
            .read_chain(p, 0)
            .await
            .unwrap()
            .last()
            .unwrap()
            .bytes,
    )
    .unwrap();
    js.publish(
        pilot_store::layout::chain_subject(p),
        foreign.to_json().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let last = shared.log.last_position().await.unwrap();
    assert!(
        shared
            .projection
            .wait_for(last, Duration::from_secs(10))
            .await
    );
    assert_eq!(count(&counters.handed_over), 3);
    assert_eq!(
        count(&counters.duplicates),
        1,
        "the same event again is a duplicate"
    );
}

#[tokio::test]
async fn servers_older_than_2_12_1_are_refused_with_the_version_found() {
    let debian = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists());
    let Some(binary) = debian else {
        println!("skipped: no nats-server 2.9 binary at /usr/sbin or /usr/bin (scripts/test.sh installs Debian's package)");
        return;
    };
    let server = NatsServer::start_with(ServerOptions::default().binary(binary)).unwrap();
    let version = server.version().unwrap();
    if !version.starts_with("2.9.") {
        println!("skipped: the system nats-server is {version}, not a 2.9 release");
        return;
    }
    match JetStreamLog::connect(&server.url(), &Layout::default()).await {
        Err(ConnectError::Version(error)) => {
            let message = error.to_string();
            assert!(
                message.contains(&version) && message.contains("2.12.1"),
                "{message}"
            );
        }
        other => panic!("a {version} server must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn an_existing_stream_with_other_settings_is_reported_and_left_alone() {
    let server = NatsServer::start().unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut config = Layout::default().configs().remove(0);
    config.deny_delete = false;
    config.discard = async_nats::jetstream::stream::DiscardPolicy::Old;
    js.create_stream(config).await.unwrap();
    match JetStreamLog::connect(&server.url(), &Layout::default()).await {
        Err(ConnectError::Layout(error)) => {
            let message = error.to_string();
            assert!(
                message.contains("PILOT_EVENTS")
                    && message.contains("deny_delete is false, expected true")
                    && message.contains("discard is Old, expected New"),
                "{message}"
            );
        }
        other => panic!("expected a layout mismatch, got {other:?}"),
    }
    let mut stream = js.get_stream(EVENTS_STREAM).await.unwrap();
    assert!(
        !stream.info().await.unwrap().config.deny_delete,
        "the existing stream was not changed"
    );
    // Starting twice against a correct layout is fine: creation is idempotent.
    let other = NatsServer::start().unwrap();
    JetStreamLog::connect(&other.url(), &Layout::default())
        .await
        .unwrap();
    JetStreamLog::connect(&other.url(), &Layout::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_its_checkpoint_and_applies_nothing_twice() {
    let server = NatsServer::start().unwrap();
    let (p, q) = (
        Subject::Pilot(Uuid::now_v7()),
        Subject::Pilot(Uuid::now_v7()),
    );
    let before_stop = {
        let node = node(&server.url(), "resumer").await;
        let writer = Writer::new(Arc::new(node.log.clone()), node.projection.clone());
        for pilot in [p, q] {
            writer
                .append(vec![draft(pilot, proposed())], None)
                .await
                .unwrap();
        }
        for i in 0..200 {
            writer
                .append(vec![draft(p, target(i as usize))], None)
                .await
                .unwrap();
        }
        writer
            .append(vec![draft(q, target(0))], None)
            .await
            .unwrap();
        let position = node.projection.position();
        node._stop.send_replace(true); // a graceful stop saves a checkpoint
        tokio::time::sleep(Duration::from_millis(500)).await;
        position
    };
    // Others write while this projector is down, among them a retraction on p.
    let other = node(&server.url(), "other").await;
    let writer = Writer::new(Arc::new(other.log.clone()), other.projection.clone());
    for i in 200..250 {
        writer
            .append(vec![draft(p, target(i as usize))], None)
            .await
            .unwrap();
    }
    let retract = |event_id| {
        Event::EventRetracted(EventRetracted {
            event_id,
            reason: "typo".into(),
        })
    };
    let first_of =
        |chain: Vec<pilot_store::Stored>| pilot_events::decode(&chain[1].bytes).unwrap().event_id;
    let m0 = first_of(other.log.read_chain(p, 0).await.unwrap());
    writer
        .append(vec![draft(p, retract(m0))], None)
        .await
        .unwrap();
    let last = other.log.last_position().await.unwrap();

    let log = JetStreamLog::connect(&server.url(), &Layout::default())
        .await
        .unwrap();
    let projection = Arc::new(
        pilot_runtime::projector::open(
            &log,
            "resumer",
            pilot_projections::AlertBook::default(),
            &checkpoint_key(),
        )
        .await,
    );
    assert_eq!(
        projection.position(),
        before_stop,
        "resumed from the checkpoint, not from zero"
    );
    let (_stop, shutdown) = watch::channel(false);
    let (follower, p2) = (log.clone(), projection.clone());
    tokio::spawn(async move {
        pilot_runtime::follow::run_projector(&follower, "resumer", p2, shutdown).await
    });
    assert!(projection.wait_for(last, Duration::from_secs(20)).await);
    let applied = projection
        .counters
        .applied
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        applied,
        last - before_stop,
        "only what came after the checkpoint was applied"
    );
    assert!(
        !projection
            .read()
            .pilot(&p.id())
            .unwrap()
            .state
            .targets
            .contains_key("m0"),
        "the retraction applied"
    );

    let rebuilt = Projection::new(World::new());
    pilot_runtime::projector::catch_up(&log, &rebuilt)
        .await
        .unwrap();
    assert_eq!(
        rebuilt.read().pilot_view(&p.id()),
        projection.read().pilot_view(&p.id())
    );

    // A writer on the restored projection retracts on q, whose chain it has not loaded yet.
    assert!(!projection.read().chain_loaded(&q.id()));
    let q0 = first_of(log.read_chain(q, 0).await.unwrap());
    let restored_writer = Writer::new(Arc::new(log.clone()), projection.clone());
    restored_writer
        .append(vec![draft(q, retract(q0))], None)
        .await
        .unwrap();
    assert!(projection
        .read()
        .pilot(&q.id())
        .unwrap()
        .state
        .targets
        .is_empty());
}

#[tokio::test]
async fn projection_lag_is_measured_in_events_and_seconds() {
    let server = NatsServer::start().unwrap();
    let writing = node(&server.url(), "writer").await;
    let writer = Writer::new(Arc::new(writing.log.clone()), writing.projection.clone());
    let p = Subject::Pilot(Uuid::now_v7());
    writer
        .append(vec![draft(p, proposed())], None)
        .await
        .unwrap();
    writer
        .append(vec![draft(p, target(1))], None)
        .await
        .unwrap();
    // A second projection that has not started yet trails by both events.
    let behind = Projection::new(World::new());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let lag = pilot_runtime::follow::lag(&writing.log, &behind)
        .await
        .unwrap();
    assert_eq!(lag.events, 2);
    assert!(lag.seconds >= 0.04 && lag.seconds < 60.0, "{lag:?}");
    pilot_runtime::projector::catch_up(&writing.log, &behind)
        .await
        .unwrap();
    assert_eq!(
        pilot_runtime::follow::lag(&writing.log, &behind)
            .await
            .unwrap(),
        pilot_runtime::follow::Lag {
            events: 0,
            seconds: 0.0
        }
    );
}

#[tokio::test]
async fn a_chain_reads_as_it_was_known_at_a_time() {
    let server = NatsServer::start().unwrap();
    let (node, writer, p, _) = proposed_pilot(&server).await;
    writer
        .append(vec![draft(p, target(1))], None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(20)).await;
    writer
        .append(vec![draft(p, target(2))], None)
        .await
        .unwrap();
    assert_eq!(node.log.position_at(between).await.unwrap(), 2);
    assert_eq!(node.log.read_chain_at(p, between).await.unwrap().len(), 2);
    assert_eq!(
        node.log
            .read_chain_at(p, time::OffsetDateTime::now_utc())
            .await
            .unwrap()
            .len(),
        3
    );
    let before_everything = time::macros::datetime!(2001-01-01 00:00 UTC);
    assert_eq!(node.log.position_at(before_everything).await.unwrap(), 0);
}

#[tokio::test]
async fn junk_on_a_pilot_subject_does_not_block_appends() {
    let server = NatsServer::start().unwrap();
    let (node, writer, p, _) = proposed_pilot(&server).await;
    // A foreign message is now the subject's last: the server's expected-sequence check
    // sees it, the projector quarantines it.
    let js = foreign_client(&server.url()).await;
    let subject = pilot_store::layout::chain_subject(p);
    publish_raw(&js, &subject, "{junk").await;
    let design = tokio::time::timeout(
        Duration::from_secs(10),
        writer.append(vec![draft(p, designed())], Some(1)),
    )
    .await
    .expect("the append came back")
    .unwrap();
    assert_eq!((design[0].version, design[0].position), (2, 3));
    publish_raw(&js, &subject, "{more junk").await;
    // A writer that never saw the junk (a restarted process) goes on as well.
    let fresh = Writer::new(Arc::new(node.log.clone()), node.projection.clone());
    let third = tokio::time::timeout(
        Duration::from_secs(10),
        fresh.append(vec![draft(p, target(1))], None),
    )
    .await
    .expect("the append came back")
    .unwrap();
    assert_eq!((third[0].version, third[0].position), (3, 5));
    assert_eq!(third[0].envelope.prev_hash, design[0].envelope.hash);
}
