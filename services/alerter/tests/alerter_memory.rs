//! The alerter over the in-memory logs, without a nats-server: the process's fold
//! (`Runtime::start_memory`), a writer, and a clock the test moves. The same scenarios run on
//! a real nats-server in `services/pilot/tests/alerter.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "../../../projections/tests/scenario/mod.rs"]
mod scenario;

use pilot_alerter::{Alerter, ManualClock, Progress};
use pilot_events::data::{Influence, StakeholderRegistered};
use pilot_events::{Actor, Event, Level, StakeholderKind, Subject};
use pilot_projections::alerting::AlertEvent;
use pilot_store::checkpoint::CheckpointKey;
use pilot_store::memory::MemoryLog;
use pilot_store::runtime::{Runtime, RuntimeOptions};
use pilot_store::writer::{Draft, Writer};
use pilot_store::{AlertLog, EventLog};
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// When the approval is requested: municipal level, so 30 calendar days, warning at 24.
const T: OffsetDateTime = datetime!(2024-03-01 09:00 UTC);
const PILOT: Uuid = Uuid::from_u128(0x0194_0000_0000_7000_8000_00a0_0000_0001);
const MAYOR: Uuid = Uuid::from_u128(0x0194_0000_0000_7000_8000_00b0_0000_0001);

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

/// One process: its fold over `log` and an alerter over that fold.
struct Process {
    runtime: Runtime,
    progress: watch::Receiver<Progress>,
    task: tokio::task::JoinHandle<Result<(), pilot_alerter::AlerterError>>,
}

async fn process(
    log: &Arc<MemoryLog>,
    clock: &Arc<ManualClock>,
    stop: &watch::Sender<bool>,
) -> Process {
    let options = RuntimeOptions {
        name: "memory".into(),
        book: pilot_projections::AlertBook::default(),
        checkpoint_key: CheckpointKey::generate().unwrap(),
        collect_alerts: true,
    };
    let runtime = Runtime::start_memory(log.clone(), options, stop.subscribe()).await;
    let alerter = Alerter::new(log.clone(), runtime.projection().clone(), clock.clone());
    let progress = alerter.progress();
    let task = tokio::spawn(alerter.run(stop.subscribe()));
    Process {
        runtime,
        progress,
        task,
    }
}

impl Process {
    async fn wait(&mut self, what: &str, done: impl Fn(&Progress) -> bool) {
        let reached = tokio::time::timeout(Duration::from_secs(10), self.progress.wait_for(done));
        assert!(
            matches!(reached.await, Ok(Ok(_))),
            "the alerter did not get to: {what}"
        );
    }
}

async fn append(writer: &Writer<MemoryLog>, subject: Subject, event: Event, at: OffsetDateTime) {
    let draft = Draft {
        event_id: None,
        subject,
        occurred_at: at,
        actor: Actor {
            office: "SSDNC".into(),
            user: "clerk".into(),
        },
        correlation_id: None,
        causation_id: None,
        event,
    };
    writer.append(vec![draft], None).await.unwrap();
}

/// A registered mayor, and a designed pilot whose approval is requested at `T`.
async fn waiting_pilot(writer: &Writer<MemoryLog>) {
    let registered = Event::StakeholderRegistered(StakeholderRegistered {
        name: "Mayor of Nanguo".into(),
        kind: StakeholderKind::Leader,
        level: Level::Municipal,
        influence: Influence::try_from(5).unwrap(),
    });
    append(writer, Subject::Stakeholder(MAYOR), registered, T - days(1)).await;
    let pilot = Subject::Pilot(PILOT);
    append(
        writer,
        pilot,
        scenario::proposed("Critical illness insurance"),
        T - days(1),
    )
    .await;
    append(writer, pilot, scenario::designed(), T - days(1)).await;
    append(
        writer,
        pilot,
        scenario::requested("mayor", MAYOR, Level::Municipal),
        T,
    )
    .await;
}

async fn recorded(log: &MemoryLog) -> Vec<AlertEvent> {
    let stored = log.read_alerts(1, 512).await.unwrap();
    stored
        .iter()
        .map(|s| serde_json::from_slice(&s.bytes).unwrap())
        .collect()
}

async fn wait_recorded(log: &MemoryLog, n: usize) -> Vec<AlertEvent> {
    let mut last = Vec::new();
    for _ in 0..500 {
        last = recorded(log).await;
        if last.len() >= n {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} alert events, found {}: {last:#?}", last.len());
}

fn kinds(events: &[AlertEvent]) -> Vec<(&'static str, OffsetDateTime)> {
    events
        .iter()
        .map(|e| (e.kind(), e.notice.transition.at))
        .collect()
}

#[tokio::test]
async fn two_processes_on_one_in_memory_log_record_each_transition_once() {
    let log = Arc::new(MemoryLog::new());
    let clock = Arc::new(ManualClock::new(T - days(1)));
    let (stop, _) = watch::channel(false);
    let mut one = process(&log, &clock, &stop).await;
    let mut two = process(&log, &clock, &stop).await;
    let writer = Writer::new(log.clone(), one.runtime.projection().clone());
    waiting_pilot(&writer).await;
    let last = log.last_position().await.unwrap();
    one.wait("the end of the log", |p| p.position >= last).await;
    two.wait("the end of the log", |p| p.position >= last).await;

    for (at, expected) in [(T + days(24), 1), (T + days(30), 2), (T + days(60), 3)] {
        clock.set(at);
        one.wait("the due instant", |p| p.advanced_to >= Some(at))
            .await;
        two.wait("the due instant", |p| p.advanced_to >= Some(at))
            .await;
        assert_eq!(wait_recorded(&log, expected).await.len(), expected);
    }
    let (p1, p2) = (*one.progress.borrow(), *two.progress.borrow());
    assert_eq!(p1.recorded + p2.recorded, 3, "{p1:?} {p2:?}");
    assert_eq!(
        kinds(&recorded(&log).await),
        [
            ("warning", T + days(24)),
            ("fired", T + days(30)),
            ("escalated", T + days(60))
        ]
    );

    // A grant resolves it once; both folds list the same recorded alert.
    append(
        &writer,
        Subject::Pilot(PILOT),
        scenario::granted("mayor"),
        T + days(61),
    )
    .await;
    let events = wait_recorded(&log, 4).await;
    assert_eq!(events[3].kind(), "resolved");
    for process in [&one, &two] {
        let position = log.last_alert_position().await.unwrap();
        let projection = process.runtime.projection();
        assert!(
            projection
                .wait_for_alerts(position, Duration::from_secs(5))
                .await
        );
        let fold = projection.read();
        let alert = fold
            .alerts()
            .recorded()
            .get(&events[0].notice.alert_id)
            .unwrap();
        assert_eq!(alert.positions.len(), 4);
    }
    stop.send_replace(true);
    for process in [one, two] {
        process.task.await.unwrap().unwrap();
        process.runtime.stopped(Duration::from_secs(5)).await;
    }
    assert_eq!(recorded(&log).await.len(), 4, "nothing recorded twice");
}
