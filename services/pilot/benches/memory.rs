//! Resident memory and start-up time of the `pilot serve` binary over a large log (issue 11).
//!
//! 1. A pinned nats-server on a free loopback port with a temporary store
//!    ([`pilot_nats_harness::NatsServer`]); `EVENTS` synthetic, valid, hash-chained events
//!    ([`pilot_projections::synthetic::history`], 1,000 pilots and 200 stakeholders, as the
//!    store bench builds them) published raw and pipelined into `PILOT_EVENTS`. Loading is
//!    setup: its time is printed, not compared.
//! 2. Cold start: the release `pilot serve --nats URL --data-dir TMP --listen 127.0.0.1:PORT`
//!    is spawned with an empty data directory and no checkpoint. Measured from the spawn: the
//!    first `GET /readyz` answering 200 (the projector caught up), then the alerter caught up
//!    (its log line, below), then `VmRSS`, `RssAnon` and `VmHWM` from `/proc/PID/status`
//!    after [`SETTLE`] of quiet.
//! 3. SIGTERM: the time to exit (projector and alerter save their checkpoints) and the
//!    checkpoints' sizes in the object store.
//! 4. Restart from those checkpoints, measured the same way.
//! 5. One more restart with `--only api` (no alerter): what the projector's world alone costs,
//!    today's best estimate of "the world held once".
//!
//! The binary is driven from outside only (flags, `/readyz`, `/metrics`, its log on stderr),
//! so the bench keeps working while `serve`'s insides change.
//!
//! The alerter's signal is the log line `Alerter caught up.` (`alerter/engine.rs`); set
//! `PILOT_BENCH_ALERTER_LINE` to wait for another line once that changes. If the line does
//! not come within the deadline, the row says `not seen` and the memory is sampled anyway.
//!
//! Run: `scripts/bench-memory.sh [EVENTS]` (`cargo bench -p pilot-service --bench memory --
//! EVENTS`; default 1,000,000). With `PILOT_BENCH_PIDS=FILE` it writes the pids it starts to
//! FILE, one a line, so the script can end them if the bench itself is killed.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // a bench reports on stdout and stops at the first failure

use async_nats::jetstream::message::PublishMessage;
use futures::StreamExt;
use pilot_nats_harness::NatsServer;
use pilot_projections::synthetic::{history, Shape};
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::{chain_subject, Layout, CHECKPOINT_BUCKET};
use pilot_store::EventLog;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_EVENTS: usize = 1_000_000;
/// The line the alerter logs once it has folded the log (overridable, see the crate doc).
const ALERTER_LINE: &str = "Alerter caught up.";
/// Quiet time after both have caught up, before the memory is read.
const SETTLE: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);
/// How long `pilot serve` may take to exit after SIGTERM (it saves checkpoints).
const EXIT_WITHIN: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() {
    let events: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_EVENTS);
    // Ctrl-C or SIGTERM drops the run, and with it every process and directory it made.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("cannot catch SIGTERM");
    // The run is dropped (its processes stopped, its directories removed) before the exit.
    let code = tokio::select! {
        () = run(events) => 0,
        _ = tokio::signal::ctrl_c() => 130,
        _ = term.recv() => 143,
    };
    if code != 0 {
        eprintln!("stopped by a signal; cleaned up");
        std::process::exit(code);
    }
}

async fn run(events: usize) {
    // Every wait is bounded by this: generous for a slow, shared machine.
    let within = Duration::from_secs(120 + (events / 2_000) as u64);
    let pids = std::env::var_os("PILOT_BENCH_PIDS").map(PathBuf::from);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_pilot"));
    let server = NatsServer::start().expect("cannot start nats-server");
    let nats_pid = pid_with_arg(server.store_dir());
    if let (Some(file), Some(pid)) = (&pids, nats_pid) {
        note_pid(file, pid);
    }
    println!(
        "nats-server {} at {}; pilot {}",
        server.version().expect("nats-server --version"),
        server.url(),
        binary.display()
    );

    let loading = load(&server.url(), events).await;
    let total = loading.events;
    println!(
        "loaded {total} events ({} pilots x {}, 200 stakeholders): generated in {:.1} s, published in {:.1} s",
        loading.pilots,
        loading.per_pilot,
        loading.generate.as_secs_f64(),
        loading.publish.as_secs_f64()
    );
    let nats_rss_loaded = nats_pid.and_then(memory);

    let data = tempfile::Builder::new()
        .prefix("pilot-bench-memory-")
        .tempdir()
        .expect("cannot create a temporary data directory");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let line = std::env::var("PILOT_BENCH_ALERTER_LINE").unwrap_or_else(|_| ALERTER_LINE.into());
    let start = |name: &'static str, extra: &'static [&'static str]| {
        let serve = Serve::spawn(&binary, &server.url(), data.path(), extra, name);
        if let Some(file) = &pids {
            note_pid(file, serve.pid());
        }
        serve
    };

    eprintln!("cold start ...");
    let mut cold = start("cold", &[]);
    let cold_row = cold.measure(&http, Some(&line), within, total).await;
    // One more event goes in before the stop (a stakeholder's registration on a chain of its
    // own). Before issue 11 a projector that rebuilt the whole log saved no checkpoint at the
    // stop unless the log had moved; that is fixed, and the event stays so that the figures
    // compare with docs/bench/memory-before.txt.
    let total = total + append_one(&server.url()).await;
    let moved = Instant::now();
    while cold.position(&http).await != Some(total as u64) {
        assert!(
            moved.elapsed() < within,
            "the projector did not apply the extra event"
        );
        tokio::time::sleep(POLL).await;
    }
    let (stop_secs, status) = cold.terminate();
    let saved_projector = cold.log().contains("Saved a checkpoint.");
    let saved_alerter = cold.log().contains("Saved the alerter's checkpoint.");
    let sizes = checkpoint_sizes(&server.url()).await;

    eprintln!("restart from the checkpoints ...");
    let mut warm = start("restart", &[]);
    let warm_row = warm.measure(&http, Some(&line), within, total).await;
    let resumed_projector = warm.log().contains("Resuming from a checkpoint.");
    let resumed_alerter = warm.log().contains("resumes from its checkpoint");
    let (warm_stop_secs, _) = warm.terminate();

    eprintln!("restart with --only api ...");
    let mut api = start("api-only", &["--only", "api"]);
    let api_row = api.measure(&http, None, within, total).await;
    api.terminate();
    let nats_rss_end = nats_pid.and_then(memory);

    println!();
    println!("pilot serve over {total} events (nproc {})", nproc());
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "ready", "alerter", "VmRSS", "RssAnon", "VmHWM", "applied"
    );
    for (name, row) in [
        ("cold start (empty data dir)", &cold_row),
        ("restart from checkpoints", &warm_row),
        ("restart, --only api (no alerter)", &api_row),
    ] {
        println!(
            "{name:<34} {:>7.2} s {:>9} {:>6} MiB {:>6} MiB {:>6} MiB {:>9}",
            row.ready.as_secs_f64(),
            row.alerter
                .map_or("-".into(), |d| format!("{:.2} s", d.as_secs_f64())),
            row.memory.rss_kib / 1024,
            row.memory.anon_kib / 1024,
            row.memory.hwm_kib / 1024,
            row.applied.map_or("?".into(), |n| n.to_string()),
        );
    }
    println!(
        "(times from spawn; ready = GET /readyz 200; alerter = the log line {line:?}; memory from /proc/PID/status {} s after both; applied = pilot_projection_applied_total then; one extra event was appended after the cold start so that the projector saves a checkpoint at the stop)",
        SETTLE.as_secs()
    );
    println!(
        "load: {:.1} s to generate, {:.1} s to publish {} events",
        loading.generate.as_secs_f64(),
        loading.publish.as_secs_f64(),
        loading.events
    );
    println!(
        "SIGTERM after the cold start: exited in {stop_secs:.2} s ({status}); checkpoint saved: projector {}, alerter {}",
        yes(saved_projector),
        yes(saved_alerter)
    );
    println!("SIGTERM after the restart: exited in {warm_stop_secs:.2} s");
    for (name, size) in &sizes {
        println!("checkpoint {name:<16} {:>8.1} MB", *size as f64 / 1e6);
    }
    println!(
        "the restart resumed from a checkpoint: projector {}, alerter {}",
        yes(resumed_projector),
        yes(resumed_alerter)
    );
    if let (Some(loaded), Some(end)) = (nats_rss_loaded, nats_rss_end) {
        println!(
            "nats-server VmRSS: {} MiB after loading, {} MiB at the end (VmHWM {} MiB)",
            loaded.rss_kib / 1024,
            end.rss_kib / 1024,
            end.hwm_kib / 1024
        );
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

struct Loading {
    events: usize,
    pilots: usize,
    per_pilot: usize,
    generate: Duration,
    publish: Duration,
}

/// Publishes the synthetic history raw, 1,000 acknowledgements in flight, as the store bench
/// does: setup, not a figure.
async fn load(url: &str, events: usize) -> Loading {
    let log = JetStreamLog::connect(url, &Layout::default())
        .await
        .expect("cannot connect to the bench's nats-server");
    let pilots = 1_000.min(events / 10).max(1);
    let per_pilot = events / pilots;
    let started = Instant::now();
    let envelopes = history(Shape {
        pilots,
        events_per_pilot: per_pilot,
        stakeholders: 200,
        seed: 7,
    });
    let generate = started.elapsed();
    let total = envelopes.len();
    let started = Instant::now();
    let js = log.jetstream().clone();
    let mut acks = futures::stream::FuturesUnordered::new();
    for envelope in envelopes {
        let message = PublishMessage::build()
            .payload(envelope.to_json().into())
            .message_id(envelope.event_id.to_string());
        let ack = js
            .send_publish(chain_subject(envelope.subject), message)
            .await
            .expect("cannot publish an event");
        acks.push(async move { ack.await });
        while acks.len() >= 1_000 {
            acks.next()
                .await
                .expect("an acknowledgement")
                .expect("the server refused an event");
        }
    }
    while let Some(ack) = acks.next().await {
        ack.expect("the server refused an event");
    }
    let publish = started.elapsed();
    let last = log.last_position().await.expect("the log's last position");
    assert_eq!(last as usize, total, "the log holds what was published");
    Loading {
        events: total,
        pilots,
        per_pilot,
        generate,
        publish,
    }
}

/// Publishes one more valid event (a new stakeholder's registration); returns 1.
async fn append_one(url: &str) -> usize {
    let client = async_nats::connect(url).await.expect("cannot connect");
    let js = async_nats::jetstream::new(client);
    let extra = history(Shape {
        pilots: 0,
        events_per_pilot: 6,
        stakeholders: 1,
        seed: 8,
    });
    assert_eq!(extra.len(), 1, "one registration");
    for envelope in extra {
        let message = PublishMessage::build()
            .payload(envelope.to_json().into())
            .message_id(envelope.event_id.to_string());
        js.send_publish(chain_subject(envelope.subject), message)
            .await
            .expect("cannot publish the extra event")
            .await
            .expect("the server refused the extra event");
    }
    1
}

async fn checkpoint_sizes(url: &str) -> Vec<(String, usize)> {
    let client = async_nats::connect(url).await.expect("cannot connect");
    let js = async_nats::jetstream::new(client);
    let Ok(bucket) = js.get_object_store(CHECKPOINT_BUCKET).await else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Ok(mut list) = bucket.list().await {
        while let Some(Ok(info)) = list.next().await {
            names.push((info.name.clone(), info.size));
        }
    }
    names.sort();
    names
}

#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss_kib: u64,
    anon_kib: u64,
    hwm_kib: u64,
}

/// `VmRSS`, `RssAnon` and `VmHWM` of `pid` (kB in /proc, which means KiB).
fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        anon_kib: field("RssAnon:").unwrap_or(0),
        hwm_kib: field("VmHWM:")?,
    })
}

/// The pid of the process whose command line holds `arg` (the harness's nats-server, found by
/// its store directory, which only it has).
fn pid_with_arg(arg: &Path) -> Option<u32> {
    let arg = arg.to_str()?;
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
        })
}

fn note_pid(file: &Path, pid: u32) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("cannot write PILOT_BENCH_PIDS");
    writeln!(f, "{pid}").expect("cannot write PILOT_BENCH_PIDS");
}

fn nproc() -> usize {
    std::thread::available_parallelism().map_or(0, usize::from)
}

struct Row {
    ready: Duration,
    alerter: Option<Duration>,
    memory: Memory,
    applied: Option<u64>,
}

/// One `pilot serve` child: stderr in a file, SIGTERM then SIGKILL when dropped.
struct Serve {
    child: Child,
    stderr: PathBuf,
    port: u16,
    spawned: Instant,
}

impl Serve {
    fn spawn(binary: &Path, nats: &str, data: &Path, extra: &[&str], name: &str) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let stderr = data.join(format!("pilot-{name}.log"));
        let mut command = Command::new(binary);
        // What pilot reads in place of options: the caller says what it wants, whatever the
        // environment says.
        for variable in pilot_service::cli::environment_variables() {
            command.env_remove(variable);
        }
        command
            .arg("serve")
            .args(["--nats", nats])
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("cannot create the log file"));
        let spawned = Instant::now();
        let child = command.spawn().expect("cannot start pilot serve");
        Serve {
            child,
            stderr,
            port,
            spawned,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn check_running(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().expect("wait on pilot") {
            panic!("pilot exited ({status}) while {what}:\n{}", self.tail());
        }
    }

    /// Ready, alerter caught up, settled: the row.
    async fn measure(
        &mut self,
        http: &reqwest::Client,
        line: Option<&str>,
        within: Duration,
        total: usize,
    ) -> Row {
        let deadline = self.spawned + within;
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        let ready = loop {
            self.check_running("starting");
            if let Ok(response) = http.get(&url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    break self.spawned.elapsed();
                }
            }
            assert!(
                Instant::now() < deadline,
                "pilot was not ready within {within:?}:\n{}",
                self.tail()
            );
            tokio::time::sleep(POLL).await;
        };
        let alerter = loop {
            let Some(line) = line else { break None };
            self.check_running("the alerter catches up");
            if self.log().contains(line) {
                break Some(self.spawned.elapsed());
            }
            if Instant::now() >= deadline {
                eprintln!("the alerter's line {line:?} did not come within {within:?}");
                break None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        tokio::time::sleep(SETTLE).await;
        self.check_running("settling");
        let memory = memory(self.pid()).expect("pilot's /proc status");
        let applied = self.applied(http).await;
        let position = self.position(http).await;
        assert_eq!(
            position,
            Some(total as u64),
            "the projection reached the log's end"
        );
        Row {
            ready,
            alerter,
            memory,
            applied,
        }
    }

    async fn metrics(&self, http: &reqwest::Client) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        match http.get(&url).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn metric(&self, http: &reqwest::Client, name: &str) -> Option<u64> {
        self.metrics(http)
            .await
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .map(|v| v as u64)
    }

    async fn applied(&self, http: &reqwest::Client) -> Option<u64> {
        self.metric(http, "pilot_projection_applied_total").await
    }

    async fn position(&self, http: &reqwest::Client) -> Option<u64> {
        self.metric(http, "pilot_projection_position").await
    }

    /// SIGTERM; the time to exit and how.
    fn terminate(&mut self) -> (f64, ExitStatus) {
        self.check_running("running");
        let started = Instant::now();
        signal(self.pid(), "-TERM");
        loop {
            if let Some(status) = self.child.try_wait().expect("wait on pilot") {
                assert!(
                    status.success(),
                    "pilot exited with {status}:\n{}",
                    self.tail()
                );
                return (started.elapsed().as_secs_f64(), status);
            }
            assert!(
                started.elapsed() < EXIT_WITHIN,
                "pilot did not exit within {EXIT_WITHIN:?} of SIGTERM:\n{}",
                self.tail()
            );
            std::thread::sleep(POLL);
        }
    }
}

fn signal(pid: u32, which: &str) {
    let _ = Command::new("kill")
        .args([which, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            signal(self.pid(), "-TERM");
            let started = Instant::now();
            while matches!(self.child.try_wait(), Ok(None)) && started.elapsed() < EXIT_WITHIN {
                std::thread::sleep(POLL);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
