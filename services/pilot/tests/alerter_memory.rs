//! The alerter over the in-memory logs, without a nats-server: the process's fold
//! (`Runtime::start_memory`), a writer, and a clock the test moves. The same scenarios run on
//! a real nats-server in `alerter.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod waiting;

use waiting::{append, days, kinds, recorded, scenario, wait_recorded, waiting_pilot_at, PILOT, T};

use pilot_alerter::{Alerter, ManualClock, Progress};
use pilot_events::Subject;
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_runtime::writer::Writer;
use pilot_store::memory::MemoryLog;
use pilot_store::{AlertLog, EventLog};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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

#[tokio::test]
async fn two_processes_on_one_in_memory_log_record_each_transition_once() {
    let log = Arc::new(MemoryLog::new());
    let clock = Arc::new(ManualClock::new(T - days(1)));
    let (stop, _) = watch::channel(false);
    let mut one = process(&log, &clock, &stop).await;
    let mut two = process(&log, &clock, &stop).await;
    let writer = Writer::new(log.clone(), one.runtime.projection().clone());
    waiting_pilot_at(&writer, T).await;
    let last = log.last_position().await.unwrap();
    one.wait("the end of the log", |p| p.position >= last).await;
    two.wait("the end of the log", |p| p.position >= last).await;

    for (at, expected) in [(T + days(24), 1), (T + days(30), 2), (T + days(60), 3)] {
        clock.set(at);
        one.wait("the due instant", |p| p.advanced_to >= Some(at))
            .await;
        two.wait("the due instant", |p| p.advanced_to >= Some(at))
            .await;
        assert_eq!(wait_recorded(log.as_ref(), expected).await.len(), expected);
    }
    let (p1, p2) = (*one.progress.borrow(), *two.progress.borrow());
    assert_eq!(p1.recorded + p2.recorded, 3, "{p1:?} {p2:?}");
    assert_eq!(
        kinds(&recorded(log.as_ref()).await),
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
    let events = wait_recorded(log.as_ref(), 4).await;
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
    assert_eq!(
        recorded(log.as_ref()).await.len(),
        4,
        "nothing recorded twice"
    );
}
