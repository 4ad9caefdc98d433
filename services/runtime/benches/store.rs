//! The event store against a real nats-server, side by side with raw async-nats in one run:
//!
//! 1. append through the writer (validate + decide + hash + expected sequence + msg id + ack,
//!    and the projection showing the event) against raw publishes of the same bytes with the
//!    same headers, both pipelined across 1,000 pilots (one append in flight per pilot);
//! 2. rebuild of every projection from the stored events against a raw ordered-consumer read
//!    of the same stream;
//! 3. restart from a checkpoint against that full rebuild (checkpoint size, save, encode and
//!    decode times, and the dedupe index's bytes per event);
//! 4. appending into a pilot with 1,000 events against appending into new pilots, and loading
//!    one pilot's 1,000 events;
//! 5. the same events decoded and folded in memory on one thread (the fold's speed per core).
//!
//! Run: `cargo bench -p pilot-runtime --bench store` (add `-- EVENTS` for the rebuild size;
//! default 1,000,000). One nats-server (the pinned one), started and removed by the bench.
//! The rebuild is run again in child processes pinned to 1, 2 and all cores (`taskset`), each
//! reporting its speed and resident memory.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a bench reports on stdout

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;

use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::message::PublishMessage;
use futures::StreamExt;
use pilot_events::Subject;
use pilot_nats_harness::NatsServer;
use pilot_projections::synthetic::{history, Shape};
use pilot_projections::World;
use pilot_runtime::projection::Projection;
use pilot_runtime::writer::Writer;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::{chain_subject, Layout, EVENTS_STREAM};
use pilot_store::EventLog;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

const PILOTS: usize = 1_000;
const APPENDS_PER_PILOT: usize = 20;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == REBUILD_CHILD) {
        // A child started by `rebuild_on_cores`: one rebuild under the affinity it was given.
        let (url, total) = (&args[at + 1], args[at + 2].parse().unwrap());
        rebuild_child(url, total).await;
        return;
    }
    let events: usize = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    println!(
        "nats-server {}",
        pilot_nats_harness::nats_server_version(&pilot_nats_harness::nats_server_binary().unwrap())
            .unwrap()
    );
    append_against_raw().await;
    sizes_and_latency().await;
    rebuild_restart(events).await;
}

struct Running {
    log: JetStreamLog,
    projection: Arc<Projection>,
    _stop: watch::Sender<bool>,
}

async fn running(url: &str) -> Running {
    let log = JetStreamLog::connect(url, &Layout::default())
        .await
        .unwrap();
    let projection = Arc::new(Projection::new(World::new()));
    let (stop, shutdown) = watch::channel(false);
    let (follower, p) = (log.clone(), projection.clone());
    tokio::spawn(async move {
        pilot_runtime::follow::run_projector(&follower, "bench", p, shutdown).await
    });
    Running {
        log,
        projection,
        _stop: stop,
    }
}

async fn append_against_raw() {
    let server = NatsServer::start().unwrap();
    let node = running(&server.url()).await;
    let writer = Arc::new(Writer::new(
        Arc::new(node.log.clone()),
        node.projection.clone(),
    ));
    let pilots: Vec<Subject> = (0..PILOTS)
        .map(|_| Subject::Pilot(Uuid::now_v7()))
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = pilots
        .iter()
        .map(|&p| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut stored = Vec::with_capacity(APPENDS_PER_PILOT);
                stored.extend(
                    writer
                        .append(vec![draft(p, proposed())], None)
                        .await
                        .unwrap(),
                );
                for i in 1..APPENDS_PER_PILOT {
                    stored.extend(
                        writer
                            .append(vec![draft(p, target(i))], None)
                            .await
                            .unwrap(),
                    );
                }
                stored
            })
        })
        .collect();
    let mut chains = Vec::new();
    for task in tasks {
        chains.push(task.await.unwrap());
    }
    let store_secs = started.elapsed().as_secs_f64();
    let n = (PILOTS * APPENDS_PER_PILOT) as f64;
    let bytes: usize = chains
        .iter()
        .flatten()
        .map(|s| s.envelope.to_json().len())
        .sum();

    // The same bytes and headers, raw, into a second stream on the same server.
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut config = Layout::default().configs().remove(0);
    config.name = "BENCH_RAW".into();
    config.subjects = vec!["bench.raw.>".into()];
    js.create_stream(config).await.unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = chains
        .into_iter()
        .map(|chain| {
            let js = js.clone();
            tokio::spawn(async move {
                let mut last = 0;
                for stored in chain {
                    let subject = chain_subject(stored.envelope.subject).replacen(
                        "pilot.events",
                        "bench.raw",
                        1,
                    );
                    let message = PublishMessage::build()
                        .payload(stored.envelope.to_json().into())
                        .message_id(stored.envelope.event_id.to_string())
                        .expected_last_subject_sequence(last);
                    last = js
                        .send_publish(subject, message)
                        .await
                        .unwrap()
                        .await
                        .unwrap()
                        .sequence;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let raw_secs = started.elapsed().as_secs_f64();
    println!("\n1. append, {PILOTS} pilots x {APPENDS_PER_PILOT} events, {:.0} bytes/event, one in flight per pilot", bytes as f64 / n);
    println!(
        "   store append (writer):   {:>9.0} events/s",
        n / store_secs
    );
    println!("   raw async-nats publish:  {:>9.0} events/s", n / raw_secs);
    println!("   ratio store / raw:       {:>9.2}", raw_secs / store_secs);
}

async fn sizes_and_latency() {
    let server = NatsServer::start().unwrap();
    let node = running(&server.url()).await;
    let writer = Writer::new(Arc::new(node.log.clone()), node.projection.clone());
    let big = Subject::Pilot(Uuid::now_v7());
    writer
        .append(vec![draft(big, proposed())], None)
        .await
        .unwrap();
    for i in 1..1_000 {
        writer
            .append(vec![draft(big, target(i))], None)
            .await
            .unwrap();
    }
    const SAMPLES: usize = 300;
    let started = Instant::now();
    for i in 0..SAMPLES {
        writer
            .append(vec![draft(big, target(1_000 + i))], None)
            .await
            .unwrap();
    }
    let into_big = started.elapsed().as_secs_f64() / SAMPLES as f64;
    let started = Instant::now();
    for _ in 0..SAMPLES {
        writer
            .append(
                vec![draft(Subject::Pilot(Uuid::now_v7()), proposed())],
                None,
            )
            .await
            .unwrap();
    }
    let into_new = started.elapsed().as_secs_f64() / SAMPLES as f64;
    let mut loads = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        let chain = node.log.read_chain(big, 0).await.unwrap();
        loads.push(started.elapsed().as_secs_f64());
        assert!(chain.len() >= 1_000);
    }
    loads.sort_by(f64::total_cmp);
    println!("\n4. one writer, sequential appends ({SAMPLES} each)");
    println!(
        "   into a pilot with 1,000+ events: {:>7.3} ms/append",
        into_big * 1e3
    );
    println!(
        "   into new pilots:                 {:>7.3} ms/append",
        into_new * 1e3
    );
    println!(
        "   ratio new / big:                 {:>7.2}",
        into_new / into_big
    );
    println!(
        "   load one pilot's {} events:    {:>7.2} ms (median of 21; min {:.2}, max {:.2})",
        1_000 + SAMPLES,
        loads[10] * 1e3,
        loads[0] * 1e3,
        loads[20] * 1e3
    );
}

async fn rebuild_restart(events: usize) {
    let server = NatsServer::start().unwrap();
    let log = JetStreamLog::connect(&server.url(), &Layout::default())
        .await
        .unwrap();
    let pilots = 1_000.min(events / 10).max(1);
    let envelopes = history(Shape {
        pilots,
        events_per_pilot: events / pilots,
        stakeholders: 200,
        seed: 7,
    });
    let total = envelopes.len();
    let lines: Vec<bytes::Bytes> = envelopes
        .iter()
        .map(|e| bytes::Bytes::from(e.to_json()))
        .collect();
    // Loading goes in raw and pipelined: this is setup, not a figure.
    let js = log.jetstream().clone();
    let mut acks = futures::stream::FuturesUnordered::new();
    for (envelope, line) in envelopes.iter().zip(&lines) {
        let message = PublishMessage::build()
            .payload(line.clone())
            .message_id(envelope.event_id.to_string());
        let ack = js
            .send_publish(chain_subject(envelope.subject), message)
            .await
            .unwrap();
        acks.push(async move { ack.await });
        while acks.len() >= 1_000 {
            acks.next().await.unwrap().unwrap();
        }
    }
    while let Some(ack) = acks.next().await {
        ack.unwrap();
    }
    drop(envelopes);
    println!("\n2. rebuild from {total} stored events");

    let stream = js.get_stream(EVENTS_STREAM).await.unwrap();
    let server_pid = server.pid().map_or("self".into(), |p| p.to_string());
    let server_cpu = || pilot_nats_harness::cpu_seconds(&server_pid);
    let (cpu_before, server_before) = (pilot_nats_harness::cpu_seconds("self"), server_cpu());
    let started = Instant::now();
    let consumer = stream
        .create_consumer(OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut read = 0;
    while read < total {
        messages.next().await.unwrap().unwrap();
        read += 1;
    }
    let raw_secs = started.elapsed().as_secs_f64();
    let raw_cpu = (
        pilot_nats_harness::cpu_seconds("self") - cpu_before,
        server_cpu() - server_before,
    );
    drop(messages);

    let (cpu_before, server_before) = (pilot_nats_harness::cpu_seconds("self"), server_cpu());
    let started = Instant::now();
    let projection = Projection::new(World::new().without_chain_bytes());
    let key = pilot_runtime::checkpoint::CheckpointKey::generate().unwrap();
    projection.set_checkpoint_key(key.clone());
    pilot_runtime::follow::rebuild(&log, &projection)
        .await
        .unwrap();
    let rebuild_secs = started.elapsed().as_secs_f64();
    let rebuild_cpu = (
        pilot_nats_harness::cpu_seconds("self") - cpu_before,
        server_cpu() - server_before,
    );
    assert_eq!(projection.position() as usize, total);
    println!(
        "   raw ordered consumer read: {:>9.0} events/s ({raw_secs:.1} s; CPU: client {:.1} s, nats-server {:.1} s)",
        total as f64 / raw_secs,
        raw_cpu.0,
        raw_cpu.1
    );
    println!(
        "   rebuild all projections:   {:>9.0} events/s ({rebuild_secs:.1} s; CPU: this process {:.1} s, nats-server {:.1} s)",
        total as f64 / rebuild_secs,
        rebuild_cpu.0,
        rebuild_cpu.1
    );
    println!(
        "   ratio rebuild / raw:       {:>9.2}",
        raw_secs / rebuild_secs
    );
    rebuild_on_cores(&server.url(), total, raw_secs);

    let (seen_bytes, seen_len) = {
        let world = projection.read();
        let seen = world.seen_index();
        (seen.heap_bytes(), seen.len().max(1))
    };
    // The body alone, in memory: what encoding and decoding cost without the store.
    let started = Instant::now();
    let (_, body) = projection.checkpoint().unwrap().unwrap();
    let encode_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let decoded = pilot_runtime::projection::restore(&body).unwrap();
    let decode_secs = started.elapsed().as_secs_f64();
    let restored_seen = decoded.world.seen_index().heap_bytes() as f64 / seen_len as f64;
    drop((body, decoded));
    let started = Instant::now();
    pilot_runtime::projector::save_checkpoint(&log, "bench", &projection)
        .await
        .unwrap();
    let save_secs = started.elapsed().as_secs_f64();
    let size = log
        .load_checkpoint("bench")
        .await
        .unwrap()
        .map_or(0, |b| b.len());
    drop(projection);
    let started = Instant::now();
    let restored = pilot_runtime::projector::open(
        &log,
        "bench",
        pilot_projections::AlertBook::default(),
        &key,
    )
    .await;
    pilot_runtime::follow::rebuild(&log, &restored)
        .await
        .unwrap();
    let ready_secs = started.elapsed().as_secs_f64();
    assert_eq!(restored.position() as usize, total);
    println!("\n3. restart at {total} events");
    println!(
        "   checkpoint: {:.1} MB, saved in {save_secs:.2} s",
        size as f64 / 1e6
    );
    println!("   body encoded in memory:    {encode_secs:>6.2} s");
    println!("   body decoded in memory:    {decode_secs:>6.2} s");
    println!("   ready from checkpoint:     {ready_secs:>6.2} s");
    println!("   ready by full rebuild:     {rebuild_secs:>6.2} s");
    println!(
        "   seen index: {:.1} bytes/event after the rebuild, {restored_seen:.1} restored",
        seen_bytes as f64 / seen_len as f64
    );
    in_memory_fold(&lines);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The same events decoded and folded in memory on one thread: the fold's own speed per core,
/// without the store.
fn in_memory_fold(lines: &[bytes::Bytes]) {
    let started = Instant::now();
    let decoder = pilot_events::Decoder::new();
    let decoded = lines.iter().filter(|l| decoder.decode(l).is_ok()).count();
    let decode_secs = started.elapsed().as_secs_f64();
    assert_eq!(decoded, lines.len());
    let started = Instant::now();
    let mut world = World::new().without_chain_bytes();
    for (i, line) in lines.iter().enumerate() {
        world.apply_stored(i as u64 + 1, line).unwrap();
    }
    let fold_secs = started.elapsed().as_secs_f64();
    let n = lines.len() as f64;
    println!("\n5. in memory, one thread, {} events", lines.len());
    println!(
        "   decode (typed, validated): {:>9.0} events/s",
        n / decode_secs
    );
    println!(
        "   decode and fold:           {:>9.0} events/s",
        n / fold_secs
    );
}

/// The argument that makes this bench binary a rebuild child (see [`rebuild_on_cores`]).
const REBUILD_CHILD: &str = "--rebuild-child";

/// The rebuild again in child processes pinned with `taskset` to 1 core, 2 cores and every
/// core: how the rebuild scales with the cores it is given (the nats-server is not pinned).
fn rebuild_on_cores(url: &str, total: usize, raw_secs: f64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1, 2, cores];
    counts.dedup();
    counts.retain(|&n| n <= cores);
    let exe = std::env::current_exe().unwrap();
    println!("   rebuild pinned to N cores (taskset; decode on N, fold on one):");
    for n in counts {
        let output = std::process::Command::new("taskset")
            .arg("-c")
            .arg(format!("0-{}", n - 1))
            .arg(&exe)
            .args([REBUILD_CHILD, url, &total.to_string()])
            .output();
        match output {
            Ok(output) if output.status.success() => {
                let text = String::from_utf8_lossy(&output.stdout);
                let mut figures = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
                let (secs, resident) = (figures.next().unwrap(), figures.next().unwrap());
                println!(
                    "     {n:>2} core(s): {:>9.0} events/s ({secs:.1} s), ratio to raw read {:.2}, resident {:.0} MB",
                    total as f64 / secs,
                    raw_secs / secs,
                    resident / 1e6
                );
            }
            Ok(output) => println!(
                "     {n:>2} core(s): failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => println!("     {n:>2} core(s): taskset not run: {error}"),
        }
    }
}

/// One rebuild from the start of the log at `url`; prints its seconds and the process's
/// resident memory after it.
async fn rebuild_child(url: &str, total: usize) {
    let log = JetStreamLog::connect(url, &Layout::default())
        .await
        .unwrap();
    let projection = Projection::new(World::new().without_chain_bytes());
    let started = Instant::now();
    pilot_runtime::follow::rebuild(&log, &projection)
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(projection.position() as usize, total);
    println!("{secs} {}", pilot_nats_harness::resident_bytes("self"));
}
