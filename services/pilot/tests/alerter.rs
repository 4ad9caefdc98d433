//! The alerter against a real nats-server, with a clock the test moves: the boundaries of one
//! wait, a restart across a due instant, two alerters at once, checkpoints and imports. The
//! alerts API (listing, acknowledging, silencing) runs on the in-memory logs in
//! `alerter_memory.rs`. No test waits for real time to pass; they wait (bounded) for the alerter
//! to act on an instant they set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod waiting;

use waiting::{days, kinds, scenario, PILOT, T};

use pilot_alerter::{Alerter, Clock, ManualClock, Progress};
use pilot_events::{Event, Subject};
use pilot_nats_harness::NatsServer;
use pilot_projections::alert::{ResolutionReason, TransitionKind};
use pilot_projections::alerting::AlertEvent;
use pilot_projections::stall::StallRules;
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::projection::Projection;
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_runtime::writer::Writer;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::Layout;
use pilot_store::EventLog;
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How a process folds: its checkpoint `name`d and sealed with `key`; `alerts`: it runs an
/// alerter.
fn fold_options(name: &str, key: &CheckpointKey, alerts: bool) -> RuntimeOptions {
    RuntimeOptions {
        name: name.into(),
        book: pilot_projections::AlertBook::default(),
        checkpoint_key: key.clone(),
        collect_alerts: alerts,
    }
}

/// A nats-server, a projection following it (for the writer and the API), and a clock the
/// test moves.
struct Rig {
    _server: NatsServer,
    log: JetStreamLog,
    projection: Arc<Projection>,
    writer: Writer<JetStreamLog>,
    clock: Arc<ManualClock>,
    stop: watch::Sender<bool>,
    /// Shared by the rig's projector and every alerter it starts, as by one service's parts.
    checkpoint_key: CheckpointKey,
}

async fn rig() -> Rig {
    let server = NatsServer::start().unwrap();
    let log = JetStreamLog::connect(&server.url(), &Layout::default())
        .await
        .unwrap();
    let checkpoint_key = CheckpointKey::generate().unwrap();
    let (stop, shutdown) = watch::channel(false);
    let runtime = Runtime::start(
        &log,
        fold_options("alerter-test", &checkpoint_key, false),
        shutdown,
    )
    .await;
    let projection = runtime.projection().clone();
    let writer = Writer::new(Arc::new(log.clone()), projection.clone());
    Rig {
        _server: server,
        log,
        projection,
        writer,
        clock: Arc::new(ManualClock::new(T - days(1))),
        stop,
        checkpoint_key,
    }
}

impl Rig {
    async fn append(&self, subject: Subject, event: Event, at: OffsetDateTime) {
        waiting::append(&self.writer, subject, event, at).await;
    }

    /// A registered mayor, and a designed pilot whose approval is requested at `T`.
    async fn waiting_pilot(&self) {
        self.waiting_pilot_at(T).await;
    }

    /// A registered mayor, and a designed pilot whose approval is requested at `at`.
    async fn waiting_pilot_at(&self, at: OffsetDateTime) {
        waiting::waiting_pilot_at(&self.writer, at).await;
    }

    /// Starts a process's fold with an alerter on the rig's clock; a restart finds the
    /// checkpoint the last one saved.
    async fn alerter(&self) -> RunningAlerter {
        self.alerter_named("alerter", self.checkpoint_key.clone())
            .await
    }

    /// A process's fold named `name` (its durable consumer and checkpoint) with an alerter,
    /// its checkpoints sealed with `key`.
    async fn alerter_named(&self, name: &str, key: CheckpointKey) -> RunningAlerter {
        let (stop, shutdown) = watch::channel(false);
        let runtime =
            Runtime::start(&self.log, fold_options(name, &key, true), shutdown.clone()).await;
        let projection = runtime.projection().clone();
        let alerter = Alerter::new(
            Arc::new(self.log.clone()),
            projection.clone(),
            self.clock.clone(),
        );
        let progress = alerter.progress();
        let task = tokio::spawn(alerter.run(shutdown));
        RunningAlerter {
            progress,
            stop,
            task,
            runtime,
            projection,
        }
    }

    async fn recorded(&self) -> Vec<AlertEvent> {
        waiting::recorded(&self.log).await
    }

    /// Waits (bounded) until the alert stream holds `n` events.
    async fn wait_recorded(&self, n: usize) -> Vec<AlertEvent> {
        waiting::wait_recorded(&self.log, n).await
    }

    async fn last_position(&self) -> u64 {
        self.log.last_position().await.unwrap()
    }
}

struct RunningAlerter {
    progress: watch::Receiver<Progress>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), pilot_alerter::AlerterError>>,
    runtime: Runtime,
    projection: Arc<Projection>,
}

impl RunningAlerter {
    /// Waits (bounded) until the alerter's progress satisfies `done`.
    async fn wait(&mut self, what: &str, done: impl Fn(&Progress) -> bool) {
        let reached = tokio::time::timeout(Duration::from_secs(10), self.progress.wait_for(done));
        assert!(
            matches!(reached.await, Ok(Ok(_))),
            "the alerter did not get to: {what}"
        );
    }

    async fn caught_up_with(&mut self, position: u64) {
        self.wait("the end of the event log", |p| p.position >= position)
            .await;
    }

    /// Stops the alerter and the fold (which saves its checkpoint on the way out).
    async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap().unwrap();
        self.runtime.stopped(Duration::from_secs(10)).await;
    }
}

#[tokio::test]
async fn one_wait_warns_fires_escalates_and_resolves_at_its_boundaries() {
    let rig = rig().await;
    rig.waiting_pilot().await;
    let mut alerter = rig.alerter().await;
    alerter.caught_up_with(rig.last_position().await).await;

    rig.clock.set(T + days(24) - time::Duration::SECOND);
    rig.clock.set(T + days(24));
    let events = rig.wait_recorded(1).await;
    assert_eq!(kinds(&events), [("warning", T + days(24))]);

    // One second before the threshold nothing more comes due; the firing that follows is
    // stamped with its own instant, so it cannot have been recorded any earlier.
    rig.clock.set(T + days(30) - time::Duration::SECOND);
    rig.clock.set(T + days(30));
    rig.wait_recorded(2).await;
    rig.clock.set(T + days(60));
    rig.wait_recorded(3).await;
    rig.clock.set(T + days(90));
    let events = rig.wait_recorded(4).await;
    assert_eq!(
        kinds(&events),
        [
            ("warning", T + days(24)),
            ("fired", T + days(30)),
            ("escalated", T + days(60)),
            ("escalated", T + days(90)),
        ]
    );
    let levels: Vec<_> = events
        .iter()
        .filter_map(|e| match e.notice.transition.kind {
            TransitionKind::Escalated { level } => Some(level),
            _ => None,
        })
        .collect();
    assert_eq!(levels, [2, 3]);
    // Every notice names the pilot, the approver, the wait, the threshold, the last activity.
    let fired = &events[1];
    assert_eq!(fired.notice.pilot_title, "Critical illness insurance");
    assert_eq!(
        fired.notice.approver_name.as_deref(),
        Some("Mayor of Nanguo")
    );
    assert_eq!(fired.notice.waited_days, 30);
    assert_eq!(fired.notice.threshold.days, 30);
    assert_eq!(fired.notice.last_activity, T);
    assert!(fired.notice.transition.notify);

    rig.clock.set(T + days(95));
    rig.append(
        Subject::Pilot(PILOT),
        scenario::granted("mayor"),
        T + days(95),
    )
    .await;
    let events = rig.wait_recorded(5).await;
    match &events[4].notice.transition.kind {
        TransitionKind::Resolved { reason, waited } => {
            assert_eq!(*reason, ResolutionReason::Granted);
            assert_eq!(*waited, days(95));
        }
        other => panic!("expected the resolution, got {other:?}"),
    }
    alerter.stop().await;
    let _ = rig.stop.send(true);
    let _ = &rig.projection;
}

#[tokio::test]
async fn an_alerter_stopped_across_due_instants_records_where_the_alert_stands_once_on_restart() {
    let rig = rig().await;
    rig.waiting_pilot().await;
    let last = rig.last_position().await;
    rig.clock.set(T + days(1));
    let mut first = rig.alerter().await;
    first.caught_up_with(last).await;
    first.stop().await;
    assert!(rig.recorded().await.is_empty());

    // Down while the warning and the firing fall due: the firing is the news, the warning
    // on the way to it is passed over.
    rig.clock.set(T + days(31));
    let mut second = rig.alerter().await;
    second.caught_up_with(last).await;
    second
        .wait("advancing to now", |p| p.advanced_to == Some(T + days(31)))
        .await;
    let events = rig.wait_recorded(1).await;
    assert_eq!(
        kinds(&events),
        [("fired", T + days(30))],
        "caught up once, stamped with the instant it was due"
    );
    assert!(events[0].notice.transition.notify);
    assert_eq!(events[0].recorded_at, T + days(31));
    second.stop().await;

    // A third start finds it recorded and records nothing.
    let mut third = rig.alerter().await;
    third.caught_up_with(last).await;
    third
        .wait("advancing to now", |p| p.advanced_to == Some(T + days(31)))
        .await;
    third.stop().await;
    assert_eq!(rig.recorded().await.len(), 1);
}

#[tokio::test]
async fn one_back_dated_request_records_one_escalation() {
    let rig = rig().await;
    let back_dated = datetime!(2001-03-01 09:00 UTC);
    rig.waiting_pilot_at(back_dated).await;
    let now = rig.clock.now();
    let mut alerter = rig.alerter().await;
    alerter.caught_up_with(rig.last_position().await).await;
    alerter
        .wait("advancing to now", |p| p.advanced_to == Some(now))
        .await;
    let events = rig.wait_recorded(1).await;
    // Give a flood the time to show itself before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events_later = rig.recorded().await;
    alerter.stop().await;
    let level = u32::try_from((now - back_dated).whole_days() / 30).unwrap();
    assert!(level > 200, "{level}");
    assert_eq!(
        kinds(&events_later),
        [("escalated", back_dated + days(30 * i64::from(level)))],
        "one alert event at the level it stands at, not one per threshold"
    );
    assert_eq!(
        events[0].notice.transition.kind,
        TransitionKind::Escalated { level }
    );
    assert!(events[0].notice.transition.notify);
}

#[tokio::test]
async fn two_alerters_record_each_transition_once() {
    let rig = rig().await;
    rig.waiting_pilot().await;
    let last = rig.last_position().await;
    let mut one = rig.alerter_named("one", rig.checkpoint_key.clone()).await;
    let mut two = rig.alerter_named("two", rig.checkpoint_key.clone()).await;
    one.caught_up_with(last).await;
    two.caught_up_with(last).await;

    for (at, expected) in [(T + days(24), 1), (T + days(30), 2), (T + days(60), 3)] {
        rig.clock.set(at);
        one.wait("the due instant", |p| p.advanced_to >= Some(at))
            .await;
        two.wait("the due instant", |p| p.advanced_to >= Some(at))
            .await;
        let events = rig.wait_recorded(expected).await;
        assert_eq!(events.len(), expected, "{:#?}", kinds(&events));
    }
    let (p1, p2) = (*one.progress.borrow(), *two.progress.borrow());
    assert_eq!(p1.recorded + p2.recorded, 3, "{p1:?} {p2:?}");
    one.stop().await;
    two.stop().await;
    assert_eq!(
        kinds(&rig.recorded().await),
        [
            ("warning", T + days(24)),
            ("fired", T + days(30)),
            ("escalated", T + days(60))
        ]
    );
}

#[tokio::test]
async fn history_imported_while_the_alerter_runs_gives_the_alerts_a_replay_gives() {
    const NANGUO: &[u8] = include_bytes!("../../../deploy/demo/nanguo.jsonl");
    let now = datetime!(2026-01-01 00:00 UTC);
    let rig = rig().await;
    rig.clock.set(now);
    let mut alerter = rig.alerter().await;
    alerter
        .wait("advancing to now", |p| p.advanced_to == Some(now))
        .await;

    // Loaded line by line, as `pilot serve --demo` and `pilot import` do, while it runs.
    pilot_api::demo::load_history(&rig.log, &rig.projection, NANGUO)
        .await
        .unwrap();
    let envelopes: Vec<_> = NANGUO
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| pilot_events::decode(line).unwrap())
        .collect();
    let replayed = pilot_projections::replay(&StallRules::default(), envelopes, now);
    let mut expected: Vec<_> = replayed
        .notices
        .into_iter()
        .map(|n| AlertEvent::new(n, now, "replay"))
        .map(|e| (e.subject(), e.notice.transition.at))
        .collect();
    expected.sort();
    // LCHI's stall, escalation and resolution, GOHS's warning and resolution: the other five
    // approvals were decided before their warnings and never were alerts.
    assert_eq!(expected.len(), 5, "{expected:#?}");

    // Without holding the clock, the wait between a back-filled request and its back-filled
    // decision would be escalated up to 2026 (hundreds of extra events).
    rig.wait_recorded(expected.len()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut recorded: Vec<_> = rig
        .recorded()
        .await
        .into_iter()
        .map(|e| (e.subject(), e.notice.transition.at))
        .collect();
    recorded.sort();
    assert_eq!(recorded, expected, "{} recorded", recorded.len());
    // Once the back-fill has settled the clock moves to now, and finds nothing more due.
    let last = rig.last_position().await;
    alerter
        .wait("the end of the hold", |p| p.position >= last && !p.held)
        .await;
    assert_eq!(rig.recorded().await.len(), expected.len());
    alerter.stop().await;
}

#[tokio::test]
async fn a_restarted_alerter_resumes_from_its_checkpoint_and_loads_the_chains_it_needs() {
    let rig = rig().await;
    rig.waiting_pilot().await;
    let saved_at = rig.last_position().await;
    let mut first = rig.alerter().await;
    first.caught_up_with(saved_at).await;
    rig.clock.set(T + days(24));
    let warned = rig.wait_recorded(1).await;
    first.stop().await; // saves its checkpoint on the way out

    // While it is down the request is retracted: the restored world, which holds no chain's
    // bytes, must load the pilot's chain to judge the retraction.
    let request = warned[0].notice.request_event_id;
    rig.clock.set(T + days(25));
    rig.append(
        Subject::Pilot(PILOT),
        scenario::retracted(request),
        T + days(25),
    )
    .await;
    let mut second = rig.alerter().await;
    second
        .wait("resuming from the checkpoint", |p| {
            p.resumed_from == saved_at
        })
        .await;
    let events = rig.wait_recorded(2).await;
    match &events[1].notice.transition.kind {
        TransitionKind::Resolved { reason, waited } => {
            assert_eq!(*reason, ResolutionReason::Retracted);
            assert_eq!(*waited, days(25));
        }
        other => panic!("expected the resolution, got {other:?}"),
    }
    second.caught_up_with(saved_at + 1).await;
    second.stop().await;
    assert_eq!(rig.recorded().await.len(), 2, "nothing recorded twice");
}

#[tokio::test]
async fn an_alerter_checkpoint_under_another_key_or_ahead_of_the_log_is_not_used() {
    let rig = rig().await;
    rig.waiting_pilot().await;
    let saved_at = rig.last_position().await;
    let mut first = rig.alerter().await;
    first.caught_up_with(saved_at).await;
    first.stop().await; // saves its checkpoint on the way out

    // Under its own key the checkpoint is used ...
    let mut own = rig.alerter().await;
    own.wait("resuming from the checkpoint", |p| {
        p.resumed_from == saved_at
    })
    .await;
    own.stop().await;
    // ... under another key (as anyone who can write the object store could use) it is
    // refused, and the log replayed from the start. That alerter saves its own on the way out,
    // which the owner refuses in turn (and replaces with one under its key).
    let mut stranger = rig
        .alerter_named("alerter", CheckpointKey::generate().unwrap())
        .await;
    stranger.caught_up_with(saved_at).await;
    assert_eq!(stranger.progress.borrow().resumed_from, 0);
    stranger.stop().await;
    let mut owner = rig.alerter().await;
    owner.caught_up_with(saved_at).await;
    assert_eq!(owner.progress.borrow().resumed_from, 0);
    owner.stop().await;

    // The events stream deleted and created again, empty: the alerter does not start on it.
    let client = async_nats::connect(rig._server.url()).await.unwrap();
    async_nats::jetstream::new(client)
        .delete_stream(pilot_store::layout::EVENTS_STREAM)
        .await
        .unwrap();
    JetStreamLog::connect(&rig._server.url(), &Layout::default())
        .await
        .unwrap();
    let behind = rig.alerter().await;
    let halted = behind.projection.watch_halted();
    let reason = tokio::time::timeout(Duration::from_secs(10), async move {
        let mut halted = halted;
        let reason = halted.wait_for(Option::is_some).await.unwrap().clone();
        reason
    })
    .await
    .expect("the fold refused the log at once");
    assert!(reason.is_some_and(|r| r.contains("recreated")));
    assert!(rig.recorded().await.is_empty());
}
