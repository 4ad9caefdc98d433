//! pilot-tracker on a real 3-node JetStream cluster (R3), with steady append load, and the
//! checks that every fault must pass afterwards.
//!
//! - [`Rig`]: three nats-servers on loopback and four `pilot serve` processes on them: two
//!   API processes (`--only api`) and two alerters (`--only alerter,api`, so their folds can
//!   be compared over the API), each with its own consumer, data directory and first node.
//! - [`Load`]: writers, each owning its pilots' chains, append one event at a time through
//!   the HTTP API. A failed request (refused connection, cut connection, 5xx, timeout) is
//!   sent again with the same event id, to the next API process, until it is acknowledged
//!   or [`GIVE_UP`] passes. Every acknowledgement is kept with its position and time.
//! - [`Rig::check`]: every acknowledged event is stored exactly once, where it was
//!   acknowledged, in its chain's order, each chain unbroken (hashes and links, from the
//!   first event); every process's projection equals a fresh rebuild's; every alert
//!   transition is recorded once.
//! - [`Proxy`]: a loopback TCP proxy whose connections the test can cut.

#![allow(dead_code)] // each test file uses its own part

use crate::common::process::PilotProcess;
use async_nats::jetstream;
use pilot_nats_harness::NatsCluster;
use pilot_projections::alerting::AlertEvent;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::{AlertLog, EventLog};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

pub const TOKEN: &str = "fault-suite-admin-token-0123456789abcdef";
/// The approver every pilot waits on (registered once by [`Rig::start`]).
const MAYOR: &str = "01950000-0000-7000-8000-00000000000a";
/// Events per pilot: proposed, approval requested, contacts, approval granted.
const STEPS: u64 = 10;
/// How long a writer keeps sending one event before it gives up on it.
pub const GIVE_UP: Duration = Duration::from_secs(60);
/// One request's limit; a request to a hung node's client ends here and is sent again.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
/// How long the checks wait for a process to reach the log's end.
const CONVERGE_WITHIN: Duration = Duration::from_secs(30);

/// One `pilot serve` process of the rig.
pub struct Service {
    pub name: String,
    parts: &'static str,
    nats: String,
    data: PathBuf,
    process: Option<PilotProcess>,
    /// How often it was started (names its stderr file).
    starts: usize,
    /// `127.0.0.1:PORT` of its HTTP listener (changes on restart).
    pub host: String,
}

impl Service {
    pub fn is_api(&self) -> bool {
        self.parts == "api"
    }

    pub fn kill9(&mut self) {
        if let Some(process) = self.process.as_mut() {
            process.kill9();
        }
        self.process = None;
    }

    fn spawn(&mut self, config: &str) {
        let data = self.data.to_str().unwrap().to_owned();
        self.starts += 1;
        let stderr = self
            .data
            .with_extension(format!("{}.stderr.log", self.starts));
        let args = [
            "--nats",
            &self.nats,
            "--config",
            config,
            "--data-dir",
            &data,
            "--consumer",
            &self.name,
            "--only",
            self.parts,
        ];
        self.process = Some(PilotProcess::serve(
            &args,
            &[("PILOT_ADMIN_TOKEN", TOKEN)],
            &stderr,
        ));
    }

    fn wait_ready(&mut self) {
        let url = self.process.as_mut().unwrap().wait_for_url();
        let rest = url.strip_prefix("http://").unwrap();
        self.host = rest[..rest.find('/').unwrap()].to_owned();
    }
}

/// The cluster, the pilot processes, and where the writers send appends.
pub struct Rig {
    pub cluster: NatsCluster,
    pub services: Vec<Service>,
    /// The API processes' `host:port`s the writers send to (the test may change them).
    pub targets: Arc<RwLock<Vec<String>>>,
    temp: tempfile::TempDir,
    config: String,
    http: reqwest::Client,
    /// When the approvals were requested: 31 days before the rig started, so each pilot's
    /// approval is overdue (municipal: 30 days) and the alerters record it.
    requested_at: OffsetDateTime,
}

impl Rig {
    /// Starts the cluster and the four processes; `nats_of` may give a process another
    /// `--nats` than the rotated list of the three nodes (a proxy).
    pub async fn start() -> Rig {
        Self::start_with(|_, urls| urls).await
    }

    pub async fn start_with(nats_of: impl Fn(&str, String) -> String) -> Rig {
        let started = Instant::now();
        let cluster = tokio::task::block_in_place(|| NatsCluster::start(3)).unwrap();
        let temp = tempfile::tempdir().unwrap();
        let config_path = temp.path().join("pilot.toml");
        std::fs::write(&config_path, "[nats]\nreplicas = 3\n").unwrap();
        let urls = cluster.url_list();
        let rotated = |first: usize| -> String {
            (0..3)
                .map(|i| urls[(first + i) % 3].clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        let plan = [
            ("api-1", "api", 0),
            ("api-2", "api", 1),
            ("alerter-1", "alerter,api", 1),
            ("alerter-2", "alerter,api", 2),
        ];
        let mut services: Vec<Service> = plan
            .iter()
            .map(|&(name, parts, node)| Service {
                name: name.to_owned(),
                parts,
                nats: nats_of(name, rotated(node)),
                data: temp.path().join(name),
                process: None,
                starts: 0,
                host: String::new(),
            })
            .collect();
        let config = config_path.to_str().unwrap().to_owned();
        // The first creates the R3 streams; the others find them.
        services[0].spawn(&config);
        tokio::task::block_in_place(|| services[0].wait_ready());
        for service in &mut services[1..] {
            service.spawn(&config);
        }
        tokio::task::block_in_place(|| {
            for service in &mut services[1..] {
                service.wait_ready();
            }
        });
        let targets = services
            .iter()
            .filter(|s| s.is_api())
            .map(|s| s.host.clone())
            .collect();
        let rig = Rig {
            cluster,
            services,
            targets: Arc::new(RwLock::new(targets)),
            temp,
            config,
            http: client(),
            requested_at: OffsetDateTime::now_utc() - time::Duration::days(31),
        };
        rig.register_mayor().await;
        eprintln!("rig ready in {:.1} s", started.elapsed().as_secs_f64());
        rig
    }

    async fn register_mayor(&self) {
        let draft = json!({
            "type": "stakeholder.registered",
            "stakeholder_id": MAYOR,
            "occurred_at": "2020-01-01T00:00:00Z",
            "actor": {"office": "SSDNC", "user": "fault-suite"},
            "data": {"name": "Mayor", "kind": "leader", "level": "municipal", "influence": 5}
        });
        let host = self.targets.read().unwrap()[0].clone();
        let response = self
            .http
            .post(format!("http://{host}/api/v1/events"))
            .bearer_auth(TOKEN)
            .json(&draft)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }

    /// The warnings and errors every running process logged, for a failure report.
    pub fn warnings(&self) -> String {
        let mut out = String::new();
        for service in &self.services {
            if let Some(process) = &service.process {
                for line in process.stderr().lines() {
                    if !line.contains(" INFO ") {
                        out.push_str(&format!("{}: {line}\n", service.name));
                    }
                }
            }
        }
        out
    }

    pub fn service(&mut self, name: &str) -> &mut Service {
        self.services.iter_mut().find(|s| s.name == name).unwrap()
    }

    /// Starts a killed process again (same consumer, data directory and nodes) and waits
    /// until it is ready; an API process's new address replaces its old one among the
    /// targets.
    pub fn restart(&mut self, name: &str) {
        let config = self.config.clone();
        let service = self.service(name);
        let old = service.host.clone();
        service.spawn(&config);
        tokio::task::block_in_place(|| service.wait_ready());
        let new = service.host.clone();
        for target in self.targets.write().unwrap().iter_mut() {
            if *target == old {
                *target = new.clone();
            }
        }
    }

    /// A client of the cluster's JetStream, for the test's own reads.
    pub async fn jetstream(&self) -> jetstream::Context {
        let addrs: Vec<async_nats::ServerAddr> = self
            .cluster
            .url_list()
            .iter()
            .map(|u| u.parse().unwrap())
            .collect();
        let client = async_nats::ConnectOptions::new()
            .connect(addrs)
            .await
            .unwrap();
        jetstream::new(client)
    }

    /// The node index of `stream`'s leader, asked until one is elected (bounded).
    pub async fn leader_of(&self, stream: &str) -> usize {
        self.leader_other_than(stream, None).await
    }

    /// The node index of `stream`'s leader once it is not `old`, asked until one is elected
    /// (bounded).
    pub async fn leader_other_than(&self, stream: &str, old: Option<usize>) -> usize {
        let js = self.jetstream().await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut found) = js.get_stream(stream).await {
                if let Ok(info) = found.info().await {
                    let leader = info.cluster.as_ref().and_then(|c| c.leader.clone());
                    let index = leader.and_then(|l| self.cluster.index_of(&l));
                    if let Some(index) = index.filter(|&i| Some(i) != old) {
                        return index;
                    }
                }
            }
            assert!(Instant::now() < deadline, "{stream} has no leader");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts `writers` writers appending through [`Rig::targets`].
    pub fn load(&self, writers: usize) -> Load {
        Load::start(self.targets.clone(), writers, self.requested_at)
    }

    /// Everything the fault must not have broken; panics naming what it did. Returns the
    /// tally for the suite's table.
    pub async fn check(&mut self, written: &Written) -> Tally {
        let js = self.jetstream().await;
        let log = JetStreamLog::open_existing_client(js.client())
            .await
            .unwrap();
        let stored = read_all(&log).await;
        let mut tally = tally_events(written, &stored);
        let last = log.last_position().await.unwrap();
        self.projections_match_a_fresh_rebuild(last).await;
        let (transitions, duplicated) = alert_transitions(&log).await;
        tally.alert_transitions = transitions;
        tally.alert_duplicates = duplicated;
        assert_eq!(tally.lost, 0, "acknowledged events lost: {tally}");
        assert_eq!(tally.duplicated, 0, "events stored twice: {tally}");
        assert!(transitions > 0, "the alerters recorded nothing: {tally}");
        assert_eq!(duplicated, 0, "alert transitions recorded twice: {tally}");
        tally
    }

    /// Starts one more API process with a consumer of its own (no checkpoint: it folds the
    /// whole log), and compares what every running process serves with what it serves.
    async fn projections_match_a_fresh_rebuild(&mut self, last: u64) {
        let config = self.config.clone();
        let nats = self.cluster.urls();
        let mut fresh = Service {
            name: "fresh-rebuild".to_owned(),
            parts: "api",
            nats,
            data: self.temp.path().join("fresh-rebuild"),
            process: None,
            starts: 0,
            host: String::new(),
        };
        fresh.spawn(&config);
        tokio::task::block_in_place(|| fresh.wait_ready());
        let reads = [
            format!("/api/v1/pilots?min_position={last}"),
            format!("/api/v1/highlights?min_position={last}"),
            "/api/v1/alerts".to_owned(),
        ];
        // Each read is asked of the fresh process and of every other again until all give
        // the same answer: the alert stream has no position to wait for, and the alerters may
        // still record the last pilots' transitions.
        for read in &reads {
            let deadline = Instant::now() + CONVERGE_WITHIN;
            loop {
                let mut differing = None;
                match self.get(&fresh.host, read).await {
                    Err(behind) => differing = Some((fresh.name.clone(), behind)),
                    Ok(want) => {
                        for service in self.services.iter().filter(|s| s.process.is_some()) {
                            let difference = match self.get(&service.host, read).await {
                                Err(behind) => Some(behind),
                                Ok(got) if got != want => Some(excerpt(&got, &want)),
                                Ok(_) => None,
                            };
                            if let Some(difference) = difference {
                                differing = Some((service.name.clone(), difference));
                                break;
                            }
                        }
                    }
                }
                let Some((name, difference)) = differing else {
                    break;
                };
                assert!(
                    Instant::now() < deadline,
                    "{name} serves another {read} than a fresh rebuild (or none), {difference}"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        fresh.kill9();
    }

    /// The body of a successful read, or `Err` naming how far behind the process still is:
    /// after a hung leader a process's consumer may take a few seconds more than the API's
    /// own wait to catch up, and the caller's deadline decides whether that is too long.
    async fn get(&self, host: &str, path: &str) -> Result<Value, String> {
        let response = self
            .http
            .get(format!("http://{host}{path}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {host}{path}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE
            && body["error"]["code"] == "not_caught_up"
        {
            return Err(format!("still catching up: {body}"));
        }
        assert!(status.is_success(), "GET {host}{path}: {status} {body}");
        Ok(body)
    }
}

/// Where `got` first differs from `want`: the path and both values, shortened.
fn excerpt(got: &Value, want: &Value) -> String {
    fn first_difference(got: &Value, want: &Value, path: String) -> Option<String> {
        match (got, want) {
            (Value::Object(g), Value::Object(w)) => {
                let keys: std::collections::BTreeSet<&String> = g.keys().chain(w.keys()).collect();
                keys.into_iter().find_map(|k| {
                    let (a, b) = (
                        g.get(k).unwrap_or(&Value::Null),
                        w.get(k).unwrap_or(&Value::Null),
                    );
                    first_difference(a, b, format!("{path}.{k}"))
                })
            }
            (Value::Array(g), Value::Array(w)) if g.len() != w.len() => {
                let missing: Vec<&Value> = w.iter().filter(|v| !g.contains(v)).take(3).collect();
                let extra: Vec<&Value> = g.iter().filter(|v| !w.contains(v)).take(3).collect();
                Some(format!(
                    "at {path}: {} entries, a fresh rebuild has {}; missing {missing:?}; extra {extra:?}",
                    g.len(),
                    w.len()
                ))
            }
            (Value::Array(g), Value::Array(w)) => g
                .iter()
                .zip(w)
                .enumerate()
                .find_map(|(i, (a, b))| first_difference(a, b, format!("{path}[{i}]"))),
            (g, w) if g == w => None,
            (g, w) => {
                let short = |v: &Value| v.to_string().chars().take(700).collect::<String>();
                Some(format!(
                    "at {path}:\n  got:   {}\n  fresh: {}",
                    short(g),
                    short(w)
                ))
            }
        }
    }
    first_difference(got, want, String::new()).unwrap_or_default()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .unwrap()
}

/// One acknowledged append.
#[derive(Debug, Clone)]
pub struct Ack {
    pub event_id: String,
    pub pilot: String,
    pub position: u64,
    /// When the request that was acknowledged was sent (the last of the event's attempts),
    /// and when its acknowledgement came.
    pub sent: Instant,
    pub acked: Instant,
}

/// What the writers did.
#[derive(Debug, Default)]
pub struct Written {
    pub acks: Vec<Ack>,
    /// Every event id a writer sent, by pilot, in sending order.
    pub sent: BTreeMap<String, Vec<String>>,
    /// Events given up on after [`GIVE_UP`]: perhaps stored, never acknowledged.
    pub gave_up: usize,
    /// Requests sent again after a failure.
    pub retries: usize,
    /// Each failed request: when it was sent, how long it took, and what it got.
    pub failures: Vec<(Instant, Duration, String)>,
}

impl Written {
    /// Seconds from `fault` until a request sent after it was first acknowledged: how long
    /// a client that tries again and again had to wait for its write to succeed.
    pub fn resumed_after(&self, fault: Instant) -> Option<f64> {
        self.acks
            .iter()
            .filter(|a| a.sent >= fault)
            .map(|a| a.acked.duration_since(fault).as_secs_f64())
            .reduce(f64::min)
    }

    /// The longest time without any acknowledgement between `from` and `to`.
    pub fn longest_pause(&self, from: Instant, to: Instant) -> f64 {
        let mut times: Vec<Instant> = self
            .acks
            .iter()
            .map(|a| a.acked)
            .filter(|&t| t >= from && t <= to)
            .collect();
        times.sort();
        let mut previous = from;
        let mut longest = Duration::ZERO;
        for t in times.into_iter().chain([to]) {
            longest = longest.max(t.duration_since(previous));
            previous = t;
        }
        longest.as_secs_f64()
    }
}

/// Writers appending until [`Load::stop`].
pub struct Load {
    stop: Arc<AtomicBool>,
    writers: Vec<JoinHandle<Written>>,
}

impl Load {
    fn start(
        targets: Arc<RwLock<Vec<String>>>,
        writers: usize,
        requested_at: OffsetDateTime,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let writers = (0..writers)
            .map(|w| {
                let writer = Writer {
                    index: w,
                    targets: targets.clone(),
                    stop: stop.clone(),
                    requested_at,
                    http: client(),
                };
                tokio::spawn(writer.run())
            })
            .collect();
        Load { stop, writers }
    }

    /// Stops the writers after their current event and gathers what they did.
    pub async fn stop(self) -> Written {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Written::default();
        for writer in self.writers {
            let written = writer.await.unwrap();
            all.acks.extend(written.acks);
            all.sent.extend(written.sent);
            all.gave_up += written.gave_up;
            all.retries += written.retries;
            all.failures.extend(written.failures);
        }
        all
    }
}

struct Writer {
    index: usize,
    targets: Arc<RwLock<Vec<String>>>,
    stop: Arc<AtomicBool>,
    requested_at: OffsetDateTime,
    http: reqwest::Client,
}

enum Outcome {
    /// Stored at `position`; the acknowledged request was sent at `sent`.
    Acked {
        position: u64,
        sent: Instant,
    },
    GaveUp,
}

impl Writer {
    async fn run(self) -> Written {
        let mut written = Written::default();
        let mut sequence: u64 = 0;
        while !self.stop.load(Ordering::SeqCst) {
            let pilot = format!(
                "01950000-{:04x}-7000-8000-{:012x}",
                self.index + 1,
                sequence / STEPS
            );
            let event_id = format!(
                "01960000-{:04x}-7000-8000-{:012x}",
                self.index + 1,
                sequence
            );
            let draft = self.draft(sequence % STEPS, &pilot, &event_id);
            written
                .sent
                .entry(pilot.clone())
                .or_default()
                .push(event_id.clone());
            // Read-your-writes across processes: the next API process applies this writer's
            // last acknowledged event before it decides on the next.
            let after = written.acks.last().map_or(0, |a| a.position);
            match self.send(&draft, after, &mut written).await {
                Outcome::Acked { position, sent } => written.acks.push(Ack {
                    event_id,
                    pilot,
                    position,
                    sent,
                    acked: Instant::now(),
                }),
                Outcome::GaveUp => written.gave_up += 1,
            }
            sequence += 1;
        }
        written
    }

    /// Sends `draft` until it is acknowledged, to the next target after each failure.
    async fn send(&self, draft: &Value, after: u64, written: &mut Written) -> Outcome {
        let started = Instant::now();
        let mut attempt = self.index;
        loop {
            let target = {
                let targets = self.targets.read().unwrap();
                targets[attempt % targets.len()].clone()
            };
            let sent_at = Instant::now();
            let sent = self
                .http
                .post(format!(
                    "http://{target}/api/v1/events?min_position={after}"
                ))
                .bearer_auth(TOKEN)
                .json(draft)
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    if let Ok(body) = response.json::<Value>().await {
                        let position =
                            body["events"][0]["position"].as_u64().unwrap_or_else(|| {
                                panic!(
                                    "a success answer without the stored event's position: {body}"
                                )
                            });
                        return Outcome::Acked {
                            position,
                            sent: sent_at,
                        };
                    }
                }
                Ok(response) if response.status().is_client_error() => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    panic!("the API refused a fault-suite draft: {status} {body}\n{draft}");
                }
                // 5xx, or the connection failed, was cut or timed out: send it again.
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    let what = format!("{status} {}", body.chars().take(200).collect::<String>());
                    written.failures.push((sent_at, sent_at.elapsed(), what));
                }
                Err(error) => {
                    written
                        .failures
                        .push((sent_at, sent_at.elapsed(), error.to_string()));
                }
            }
            if started.elapsed() > GIVE_UP {
                return Outcome::GaveUp;
            }
            written.retries += 1;
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Step `step` of a pilot's life: proposed, approval requested (overdue), contacts with
    /// the mayor, approval granted.
    fn draft(&self, step: u64, pilot: &str, event_id: &str) -> Value {
        let at = |minutes: i64| {
            (self.requested_at + time::Duration::minutes(minutes))
                .format(&Rfc3339)
                .unwrap()
        };
        let actor = json!({"office": "SSDNC", "user": format!("writer-{}", self.index + 1)});
        let (kind, occurred_at, data) = match step {
            0 => (
                "pilot.proposed",
                "2020-01-01T00:00:00Z".to_owned(),
                json!({
                    "title": format!("Fault-suite pilot {pilot}"),
                    "jurisdiction": "Nanguo",
                    "policy_area": "health insurance",
                    "level": "municipal",
                    "problem_frame": "Whether the record survives faults."
                }),
            ),
            1 => (
                "approval.requested",
                at(0),
                json!({"approval_id": "approval", "approver_id": MAYOR, "level": "municipal", "note": ""}),
            ),
            s if s + 1 < STEPS => (
                "lobbying.contact_logged",
                at(i64::try_from(s).unwrap()),
                json!({
                    "stakeholder_id": MAYOR,
                    "channel": "meeting",
                    "strategy": "alliance",
                    "summary": format!("contact {event_id}"),
                    "stance": 1
                }),
            ),
            // Late (the approval took 30 days and a half, over the municipal 30): each pilot
            // has an alert that fires, and is resolved by this grant.
            _ => (
                "approval.granted",
                at(30 * 24 * 60 + 12 * 60),
                json!({"approval_id": "approval", "conditions": ""}),
            ),
        };
        json!({
            "type": kind,
            "pilot_id": pilot,
            "event_id": event_id,
            "occurred_at": occurred_at,
            "actor": actor,
            "data": data,
        })
    }
}

/// One row of the suite's table.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub acknowledged: usize,
    /// Acknowledged events found where they were acknowledged.
    pub stored: usize,
    pub lost: usize,
    /// Stored events whose id was stored before.
    pub duplicated: usize,
    pub gave_up: usize,
    pub retries: usize,
    pub alert_transitions: usize,
    pub alert_duplicates: usize,
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "acknowledged {}, stored {}, lost {}, duplicated {}, given up {}, retried requests {}, alert transitions {} (twice: {})",
            self.acknowledged,
            self.stored,
            self.lost,
            self.duplicated,
            self.gave_up,
            self.retries,
            self.alert_transitions,
            self.alert_duplicates
        )
    }
}

/// Prints the suite's line for one fault (scripts/test.sh gathers them into a table).
pub fn report(fault: &str, tally: &Tally, resumed_after: Option<f64>, longest_pause: f64) {
    let resumed = resumed_after.map_or("-".to_owned(), |s| format!("{s:.1}"));
    eprintln!(
        "fault suite | {fault} | {} | {} | {} | {} | {resumed} | {longest_pause:.1} | {} | {}",
        tally.acknowledged,
        tally.stored,
        tally.lost,
        tally.duplicated,
        tally.retries,
        tally.alert_transitions,
    );
    eprintln!(
        "{fault}: {tally}; writes resumed after {resumed} s, longest pause {longest_pause:.1} s"
    );
}

/// Every event in the stream, in order.
async fn read_all(log: &JetStreamLog) -> Vec<pilot_store::log::Stored> {
    let mut out = Vec::new();
    let mut from = 1;
    loop {
        let page = log.read_from(from, 4096).await.unwrap();
        let Some(last) = page.last().map(|s| s.position) else {
            return out;
        };
        from = last + 1;
        out.extend(page);
    }
}

/// Counts what the stream holds against what the writers were told, and checks each chain.
fn tally_events(written: &Written, stored: &[pilot_store::log::Stored]) -> Tally {
    let mut verifier = pilot_events::chain::ChainVerifier::default();
    let mut position_of: HashMap<String, u64> = HashMap::new();
    let mut chains: HashMap<String, Vec<String>> = HashMap::new();
    let mut duplicated = 0;
    for event in stored {
        let link = verifier
            .push_link(&event.bytes)
            .unwrap_or_else(|e| panic!("broken chain at position {}: {e}", event.position));
        if position_of
            .insert(link.event_id.clone(), event.position)
            .is_some()
        {
            duplicated += 1;
        }
        chains.entry(link.chain).or_default().push(link.event_id);
    }
    let mut tally = Tally {
        acknowledged: written.acks.len(),
        duplicated,
        gave_up: written.gave_up,
        retries: written.retries,
        ..Tally::default()
    };
    for ack in &written.acks {
        match position_of.get(&ack.event_id) {
            Some(&position) if position == ack.position => tally.stored += 1,
            Some(&position) => panic!(
                "{} was acknowledged at position {} but is stored at {position}",
                ack.event_id, ack.position
            ),
            None => tally.lost += 1,
        }
    }
    // Each pilot's chain holds what its writer sent, in sending order: nothing else, and
    // every acknowledged event in its place.
    for (pilot, sent) in &written.sent {
        let chain = chains
            .iter()
            .find(|(key, _)| key.ends_with(pilot.as_str()))
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default();
        let mut in_sent = sent.iter();
        for id in &chain {
            assert!(
                in_sent.any(|s| s == id),
                "pilot {pilot}'s chain holds {id} out of sending order (or not sent): {chain:?}"
            );
        }
    }
    tally
}

/// How many alert transitions the alert stream holds, and how many of them twice (two
/// events on the subject that names one transition).
async fn alert_transitions(log: &JetStreamLog) -> (usize, usize) {
    let last = log.last_alert_position().await.unwrap();
    let mut subjects: HashMap<String, usize> = HashMap::new();
    let mut from = 1;
    while from <= last {
        let page = log.read_alerts(from, 512).await.unwrap();
        let Some(end) = page.last().map(|s| s.position) else {
            break;
        };
        for stored in &page {
            let event: AlertEvent = serde_json::from_slice(&stored.bytes).unwrap();
            *subjects.entry(event.subject()).or_default() += 1;
        }
        from = end + 1;
    }
    let duplicated = subjects.values().map(|n| n - 1).sum();
    (subjects.len(), duplicated)
}

/// A loopback TCP proxy to `upstream` (`host:port`) whose open connections [`Proxy::cut`]
/// drops at once.
pub struct Proxy {
    pub addr: SocketAddr,
    upstream: Arc<RwLock<String>>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: JoinHandle<()>,
    /// Connections cut while open.
    pub cut_open: Arc<AtomicUsize>,
}

impl Proxy {
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let upstream = Arc::new(RwLock::new(upstream));
        let (open, target) = (connections.clone(), upstream.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = target.read().unwrap().clone();
                let copy = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open.lock().unwrap().push(copy.abort_handle());
            }
        });
        Proxy {
            addr,
            upstream,
            connections,
            accept,
            cut_open: Arc::default(),
        }
    }

    /// Where new connections go from now on (`host:port`).
    pub fn point_at(&self, upstream: &str) {
        *self.upstream.write().unwrap() = upstream.to_owned();
    }

    /// Drops every open connection (both sides see it close), as a network cut does.
    pub fn cut(&self) -> usize {
        let open: Vec<AbortHandle> = std::mem::take(&mut *self.connections.lock().unwrap());
        let mut cut = 0;
        for connection in open {
            if !connection.is_finished() {
                connection.abort();
                cut += 1;
            }
        }
        self.cut_open.fetch_add(cut, Ordering::SeqCst);
        cut
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
