//! The alerter at scale: 100,000 pending approvals across 10,000 pilots.
//!
//! 1. Idle tick, pure: the cost of one `AlertBook::advance_to(now)` + `next_due()` with nothing
//!    due, for books holding 1,000, 10,000 and 100,000 pending approvals, side by side, next
//!    to a scan of every pending approval (what a polling loop would pay per tick).
//! 2. The real alerter on a real nats-server, wall clock: the event log holds 100,000 pending
//!    approvals; of them, 1,000 warnings fall due one by one over a 10 s window and 5,000 at
//!    one instant. Measured: catch-up time, the process's CPU while nothing is due, and the
//!    delay from each due instant to its alert event arriving on `pilot.notify.>` (the server
//!    republishes only what the stream stored, so this is after JetStream acknowledged it),
//!    p50 / p99 / max; then a second start from the checkpoint the first saved when it stopped.
//!
//! Run: `scripts/bench-alerter.sh` (`cargo bench -p pilot-alerter --bench alerter`).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // a bench reports on stdout and stops at the first failure

// The one copy of what the benchmarks share lives with the binary's benches.
#[path = "../../pilot/benches/common/mod.rs"]
mod common;

use common::cpu_seconds;
use futures::StreamExt;
use pilot_alerter::{Alerter, SystemClock};
use pilot_events::data::{
    ApprovalRequested, Influence, PilotProposed, ProgramDesigned, StakeholderRegistered,
};
use pilot_events::{Actor, Envelope, Event, Hash, Level, StakeholderKind, Subject, CURRENT_SCHEMA};
use pilot_nats_harness::NatsServer;
use pilot_projections::alerting::AlertEvent;
use pilot_projections::stall::schedule;
use pilot_projections::{AlertBook, World};
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_runtime::writer::{Draft, Writer};
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::Layout;
use pilot_store::EventLog;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

const PILOTS: usize = 10_000;
const REQUESTS_PER_PILOT: usize = 10;
/// Warnings that fall due one by one, spread over [`SPREAD`].
const SPREAD_DUE: usize = 1_000;
/// Warnings that fall due at the same instant.
const BURST_DUE: usize = 5_000;
const SPREAD: Duration = Duration::from_secs(10);
/// Municipal: 30 days, warning at 80%.
const WARN_AFTER: time::Duration = time::Duration::days(24);
/// How long the idle measurement lasts.
const IDLE: Duration = Duration::from_secs(10);
const MAYOR: Uuid = Uuid::from_u128(0x0194_c000_0000_7000_8000_0000_0000_0001);
/// The approver of national requests: a request names its approver's registered level.
const MINISTRY: Uuid = Uuid::from_u128(0x0194_c000_0000_7000_8000_0000_0000_0002);

fn pilot_id(i: usize) -> Uuid {
    Uuid::from_u128(0x0194_c000_0001_7000_8000_0000_0000_0000 | i as u128)
}

fn draft(subject: Subject, event: Event, at: OffsetDateTime) -> Draft {
    Draft {
        event_id: None,
        subject,
        occurred_at: at,
        actor: Actor {
            office: "BENCH".into(),
            user: "bench".into(),
        },
        correlation_id: None,
        causation_id: None,
        provenance: Default::default(),
        event,
    }
}

/// The approver of `level`'s requests, and its registration.
fn approver(level: Level) -> Uuid {
    if level == Level::National {
        MINISTRY
    } else {
        MAYOR
    }
}

fn registered(level: Level) -> Event {
    Event::StakeholderRegistered(StakeholderRegistered {
        name: format!("Approver ({level})"),
        kind: StakeholderKind::Leader,
        level,
        influence: Influence::saturating(5),
        person: false,
    })
}

/// One pilot's chain: proposed and designed long ago, then its requests in time order.
fn pilot_chain(
    i: usize,
    level: Level,
    requested: &[OffsetDateTime],
    long_ago: OffsetDateTime,
) -> Vec<Draft> {
    let subject = Subject::Pilot(pilot_id(i));
    let mut out = vec![
        draft(
            subject,
            Event::PilotProposed(PilotProposed {
                title: format!("Pilot {i}"),
                jurisdiction: "Nanguo".into(),
                policy_area: "health insurance".into(),
                level: Level::Municipal,
                problem_frame: "benchmark".into(),
            }),
            long_ago,
        ),
        draft(
            subject,
            Event::ProgramDesigned(ProgramDesigned {
                summary: "design".into(),
                parameters: BTreeMap::new(),
                target_groups: vec![],
            }),
            long_ago,
        ),
    ];
    for (k, at) in requested.iter().enumerate() {
        let request = Event::ApprovalRequested(ApprovalRequested {
            approval_id: format!("approval-{k}"),
            approver_id: approver(level),
            level,
            note: String::new(),
            stall: None,
        });
        out.push(draft(subject, request, *at));
    }
    out
}

/// Due-soon approvals per pilot in the second load: [`SPREAD_DUE`] and [`BURST_DUE`] are
/// spread over pilots in chains of this many requests each.
const DUE_PER_PILOT: usize = 10;

/// The second load's requests on pilot `i`: municipal (a 30-day threshold, warning at 24),
/// requested so that their warnings fall due at the given instants.
fn due_soon_chain(i: usize, warn_at: &[OffsetDateTime]) -> Vec<Draft> {
    let subject = Subject::Pilot(pilot_id(i));
    warn_at
        .iter()
        .enumerate()
        .map(|(k, at)| {
            let request = Event::ApprovalRequested(ApprovalRequested {
                approval_id: format!("due-{k}"),
                approver_id: MAYOR,
                level: Level::Municipal,
                note: String::new(),
                stall: None,
            });
            draft(subject, request, *at - WARN_AFTER)
        })
        .collect()
}

async fn append_all(writer: &Arc<Writer<JetStreamLog>>, chains: Vec<Vec<Draft>>) {
    let chains = Arc::new(std::sync::Mutex::new(chains));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (writer, chains) = (writer.clone(), chains.clone());
            tokio::spawn(async move {
                loop {
                    let Some(chain) = chains.lock().unwrap().pop() else {
                        return;
                    };
                    writer.append(chain, None).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// Part 1: one idle tick of the pure book, for several numbers of pending approvals.
fn idle_ticks() {
    println!("idle tick (advance_to with nothing due, then next_due), pure book:");
    let now = OffsetDateTime::now_utc();
    let long_ago = now - time::Duration::days(40);
    let mut base = None;
    for pilots in [100, 1_000, 10_000] {
        let mut world = World::new();
        let mut book = AlertBook::default();
        let mut position = 0;
        let mut feed = |world: &mut World, book: &mut AlertBook, draft: Draft| {
            position += 1;
            let (_, head) = world.chain_head(draft.subject);
            let envelope = Envelope {
                event_id: Uuid::now_v7(),
                schema: CURRENT_SCHEMA,
                subject: draft.subject,
                occurred_at: draft.occurred_at,
                recorded_at: draft.occurred_at,
                actor: draft.actor,
                correlation_id: None,
                causation_id: None,
                prev_hash: head,
                hash: Hash::ZERO,
                signature: None,
                provenance: Default::default(),
                event: draft.event,
            }
            .seal(head);
            book.apply(world, position, envelope).unwrap();
        };
        feed(
            &mut world,
            &mut book,
            draft(
                Subject::Stakeholder(MAYOR),
                registered(Level::Municipal),
                long_ago,
            ),
        );
        for i in 0..pilots {
            let times = vec![now - time::Duration::days(1); REQUESTS_PER_PILOT];
            for d in pilot_chain(i, Level::Municipal, &times, long_ago) {
                feed(&mut world, &mut book, d);
            }
        }
        // The book lists none of them: a wait is an alert only from its warning on.
        let pending: usize = world
            .pilots()
            .map(|p| p.state.pending_approvals.len())
            .sum();
        let ticks = 200_000u32;
        let started = Instant::now();
        let mut instant = now;
        for _ in 0..ticks {
            instant += time::Duration::MILLISECOND;
            let notices = book.advance_to(instant);
            assert!(notices.is_empty());
            std::hint::black_box(book.next_due());
        }
        let per_tick = started.elapsed().as_nanos() as f64 / f64::from(ticks);
        let scan_started = Instant::now();
        let scans = 20u32;
        for _ in 0..scans {
            let rules = book.rules();
            let due = world
                .pilots()
                .flat_map(|p| p.state.pending_approvals.values())
                .filter(|a| schedule(a, rules).warn_at <= now)
                .count();
            std::hint::black_box(due);
        }
        let per_scan = scan_started.elapsed().as_nanos() as f64 / f64::from(scans);
        let base = *base.get_or_insert(per_tick);
        println!(
            "  {pending:>7} pending: {per_tick:>7.0} ns/tick (x{:.2} of the smallest); a scan of every wait: {:>10.0} ns",
            per_tick / base,
            per_scan
        );
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// How long an alerter took to catch up, and where its fold started from.
struct CaughtUp {
    elapsed: Duration,
    resumed_from: u64,
}

/// Starts an alerter over `projection` and waits until it has recorded everything up to `last`.
async fn caught_up_alerter(
    log: &JetStreamLog,
    projection: &Arc<pilot_runtime::projection::Projection>,
    last: u64,
) -> (
    watch::Sender<bool>,
    tokio::task::JoinHandle<Result<(), pilot_alerter::AlerterError>>,
    CaughtUp,
) {
    let alerter = Alerter::new(
        Arc::new(log.clone()),
        projection.clone(),
        Arc::new(SystemClock),
    );
    let mut progress = alerter.progress();
    let (stop, shutdown) = watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(alerter.run(shutdown));
    progress.wait_for(|p| p.position >= last).await.unwrap();
    let caught_up = CaughtUp {
        elapsed: started.elapsed(),
        resumed_from: progress.borrow().resumed_from,
    };
    (stop, task, caught_up)
}

/// One process's fold, as `pilot serve` runs it with an alerter.
fn options(key: &pilot_runtime::checkpoint::CheckpointKey) -> RuntimeOptions {
    RuntimeOptions {
        name: "bench".into(),
        book: AlertBook::default(),
        checkpoint_key: key.clone(),
        collect_alerts: true,
    }
}

#[tokio::main]
async fn main() {
    idle_ticks();

    let server = NatsServer::start().unwrap();
    let log = JetStreamLog::connect(&server.url(), &Layout::default())
        .await
        .unwrap();
    let key = pilot_runtime::checkpoint::CheckpointKey::generate().unwrap();
    let (stop_projector, shutdown) = watch::channel(false);
    let runtime = Runtime::start(&log, options(&key), shutdown).await;
    let projection = runtime.projection().clone();
    let writer = Arc::new(Writer::new(Arc::new(log.clone()), projection.clone()));

    // First load: 100,000 national approvals (a 90-day threshold), requested 30 days ago, so
    // none is due for weeks.
    let now = OffsetDateTime::now_utc();
    let long_ago = now - time::Duration::days(40);
    let loading = Instant::now();
    for level in [Level::Municipal, Level::National] {
        let registration = draft(
            Subject::Stakeholder(approver(level)),
            registered(level),
            long_ago,
        );
        writer.append(vec![registration], None).await.unwrap();
    }
    let requested = vec![now - time::Duration::days(30); REQUESTS_PER_PILOT];
    append_all(
        &writer,
        (0..PILOTS)
            .map(|i| pilot_chain(i, Level::National, &requested, long_ago))
            .collect(),
    )
    .await;
    let last = log.last_position().await.unwrap();
    let per_chain = loading.elapsed() / PILOTS as u32;
    println!(
        "loaded {last} events ({} pending approvals across {PILOTS} pilots) in {:.1} s",
        PILOTS * REQUESTS_PER_PILOT,
        loading.elapsed().as_secs_f64()
    );

    // Listen where other systems listen: only what the stream stored is republished.
    let mut notices = log
        .client()
        .subscribe("pilot.notify.warning.>")
        .await
        .unwrap();
    let (arrivals_tx, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = notices.next().await {
            let received = OffsetDateTime::now_utc();
            if arrivals_tx.send((received, message.payload)).is_err() {
                return;
            }
        }
    });

    let (stop, task, caught_up) = caught_up_alerter(&log, &projection, last).await;
    println!(
        "alerter caught up with {last} events in {:.1} s",
        caught_up.elapsed.as_secs_f64()
    );

    let cpu_before = cpu_seconds();
    let wall = Instant::now();
    tokio::time::sleep(IDLE).await;
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "idle, nothing due, {} pending: {:.3} CPU-s over {:.1} s of wall clock ({:.2}% of one core, whole process)",
        PILOTS * REQUESTS_PER_PILOT,
        cpu,
        wall.elapsed().as_secs_f64(),
        100.0 * cpu / wall.elapsed().as_secs_f64()
    );

    // Second load, live: warnings that fall due shortly after it is stored, one by one over a
    // window and all at one instant. The margin is twice what loading them should take.
    let chains = (SPREAD_DUE + BURST_DUE) / DUE_PER_PILOT;
    let margin = time::Duration::try_from(per_chain * chains as u32 * 2).unwrap()
        + time::Duration::seconds(3);
    let spread_at = OffsetDateTime::now_utc() + margin;
    let burst_at =
        spread_at + time::Duration::try_from(SPREAD).unwrap() + time::Duration::seconds(2);
    let mut due = Vec::new();
    for c in 0..chains {
        let warn_at: Vec<OffsetDateTime> = (0..DUE_PER_PILOT)
            .map(|k| {
                let n = c * DUE_PER_PILOT + k;
                if n < SPREAD_DUE {
                    let offset = SPREAD.as_millis() as i64 * n as i64 / SPREAD_DUE as i64;
                    spread_at + time::Duration::milliseconds(offset)
                } else {
                    burst_at
                }
            })
            .collect();
        due.push(due_soon_chain(c, &warn_at));
    }
    let loading = Instant::now();
    append_all(&writer, due).await;
    let left = spread_at - OffsetDateTime::now_utc();
    println!(
        "loaded {} due-soon approvals live in {:.1} s; the first falls due {:.1} s later",
        SPREAD_DUE + BURST_DUE,
        loading.elapsed().as_secs_f64(),
        left.as_seconds_f64()
    );

    let expected = SPREAD_DUE + BURST_DUE;
    let mut spread = Vec::new();
    let mut burst = Vec::new();
    let deadline = burst_at + time::Duration::seconds(30);
    while spread.len() + burst.len() < expected && OffsetDateTime::now_utc() < deadline {
        let Ok(Some((received, payload))) =
            tokio::time::timeout(Duration::from_secs(5), arrivals.recv()).await
        else {
            continue;
        };
        let event: AlertEvent = serde_json::from_slice(&payload).unwrap();
        let delay = (received - event.notice.transition.at).as_seconds_f64() * 1000.0;
        if event.notice.transition.at == burst_at {
            burst.push(delay);
        } else {
            spread.push(delay);
        }
    }
    let stopping = Instant::now();
    let _ = stop.send(true);
    let _ = task.await;
    let _ = stop_projector.send(true);
    runtime.stopped(Duration::from_secs(60)).await;
    println!(
        "alerter and projector stopped (saving the checkpoint) in {:.1} s",
        stopping.elapsed().as_secs_f64()
    );

    // A second start, from the checkpoint the first saved on its way out.
    let last = log.last_position().await.unwrap();
    let (stop_projector, shutdown) = watch::channel(false);
    let runtime = Runtime::start(&log, options(&key), shutdown).await;
    let (stop, task, caught_up) = caught_up_alerter(&log, runtime.projection(), last).await;
    println!(
        "alerter caught up again from its checkpoint (position {}) in {:.1} s",
        caught_up.resumed_from,
        caught_up.elapsed.as_secs_f64()
    );
    let _ = stop.send(true);
    let _ = task.await;
    let _ = stop_projector.send(true);
    for (name, mut delays) in [
        ("one by one over 10 s", spread),
        ("all at one instant", burst),
    ] {
        delays.sort_by(f64::total_cmp);
        println!(
            "due -> stored and republished, {name}: {} warnings, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            delays.len(),
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            delays.last().copied().unwrap_or(f64::NAN)
        );
    }
}
