//! The alerter and the alerts API over the in-memory logs, without a nats-server: the
//! process's fold (`Runtime::start_memory`), a writer, and a clock the test moves. The
//! alerter's restarts, checkpoints and imports run on a real nats-server in `alerter.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod waiting;

use waiting::{
    append, call, days, kinds, listed_alerts, recorded, scenario, serve_api, wait_recorded,
    waiting_pilot_at, ADMIN, ANALYST, MAYOR, PILOT, T,
};

use pilot_alerter::{Alerter, ManualClock, Progress};
use pilot_api::AppState;
use pilot_events::{Level, Subject};
use pilot_projections::alerting::AlertEvent;
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_runtime::writer::Writer;
use pilot_store::memory::MemoryLog;
use pilot_store::{AlertLog, EventLog, SharedLog};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

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

/// One process over a fresh in-memory log (its fold and alerter), a writer, and the clock.
struct Rig {
    log: Arc<MemoryLog>,
    clock: Arc<ManualClock>,
    stop: watch::Sender<bool>,
    process: Process,
    writer: Writer<MemoryLog>,
}

impl Rig {
    async fn start() -> Rig {
        let log = Arc::new(MemoryLog::new());
        let clock = Arc::new(ManualClock::new(T - days(1)));
        let (stop, _) = watch::channel(false);
        let process = process(&log, &clock, &stop).await;
        let writer = Writer::new(log.clone(), process.runtime.projection().clone());
        Rig {
            log,
            clock,
            stop,
            process,
            writer,
        }
    }

    /// The API over this process's fold, acknowledging and silencing on the rig's clock.
    fn api_state(&self) -> AppState {
        AppState::shared(
            SharedLog::from_arc(self.log.clone()),
            self.process.runtime.projection().clone(),
        )
        .with_clock(self.clock.clone())
    }

    async fn waiting_pilot(&self) {
        waiting_pilot_at(&self.writer, T).await;
    }

    async fn append(&self, subject: Subject, event: pilot_events::Event, at: time::OffsetDateTime) {
        append(&self.writer, subject, event, at).await;
    }

    async fn caught_up(&mut self) {
        let last = self.log.last_position().await.unwrap();
        self.process
            .wait("the end of the log", |p| p.position >= last)
            .await;
    }

    async fn wait_recorded(&self, n: usize) -> Vec<AlertEvent> {
        wait_recorded(self.log.as_ref(), n).await
    }

    async fn recorded(&self) -> Vec<AlertEvent> {
        recorded(self.log.as_ref()).await
    }

    async fn stop(self) {
        self.stop.send_replace(true);
        self.process.task.await.unwrap().unwrap();
        self.process.runtime.stopped(Duration::from_secs(5)).await;
    }
}

/// Issue 11, "Alerts are alerts", through the alerter, the alert stream and the API: a grant
/// on day 10 of 30 records no alert event, so `GET /api/v1/alerts` never lists it. A second
/// approval left waiting is the control: once its alert is listed, the fold has read
/// everything the alerter recorded before it, the grant included.
#[tokio::test]
async fn an_approval_granted_on_day_10_of_30_appears_in_no_alert_list() {
    let mut rig = Rig::start().await;
    rig.waiting_pilot().await;
    let pilot = Subject::Pilot(PILOT);
    let control = scenario::requested("budget", MAYOR, Level::Municipal);
    rig.append(pilot, control, T).await;
    let (base, http) = serve_api(rig.api_state()).await;
    rig.clock.set(T + days(10));
    rig.append(pilot, scenario::granted("mayor"), T + days(10))
        .await;
    rig.caught_up().await;
    let later = T + days(400);
    rig.clock.set(later);
    rig.process
        .wait("a year later", |p| p.advanced_to == Some(later))
        .await;

    let listed = listed_alerts(&http, format!("{base}/api/v1/alerts"), ANALYST).await;
    let approvals: Vec<&Value> = listed["alerts"]
        .as_array()
        .map(|a| a.iter().map(|alert| &alert["approval_id"]).collect())
        .unwrap_or_default();
    assert_eq!(approvals, [&json!("budget")], "{listed:#}");
    assert_eq!(
        listed["counts"],
        json!({"pending": 0, "warning": 0, "firing": 1, "resolved": 0})
    );
    let recorded = rig.recorded().await;
    assert!(
        recorded.iter().all(|e| e.notice.approval_id == "budget"),
        "{:#?}",
        kinds(&recorded)
    );
    rig.stop().await;
}

#[tokio::test]
async fn acknowledged_and_silenced_through_the_api_as_alert_events() {
    use reqwest::Method;
    let mut rig = Rig::start().await;
    rig.waiting_pilot().await;
    let (base, http) = serve_api(rig.api_state()).await;
    rig.caught_up().await;
    rig.clock.set(T + days(24));
    rig.wait_recorded(1).await;
    rig.clock.set(T + days(30));
    let events = rig.wait_recorded(2).await;
    let alert_id = events[1].notice.alert_id;

    // The feed may trail the stream by a moment.
    let listed = listed_alerts(&http, format!("{base}/api/v1/alerts?state=firing"), ADMIN).await;
    assert_eq!(listed["alerts"][0]["alert_id"], json!(alert_id));
    assert_eq!(listed["alerts"][0]["escalation_level"], json!(1));
    assert_eq!(listed["counts"]["firing"], json!(1));

    let ack = format!("{base}/api/v1/alerts/{alert_id}/ack");
    let silence = format!("{base}/api/v1/alerts/{alert_id}/silence");
    let (status, body) = call(&http, Method::POST, ack.clone(), ANALYST, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(
        &http,
        Method::POST,
        ack.clone(),
        ADMIN,
        Some(json!({"note": "calling the mayor's office"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["acknowledged"]["user"], json!("root"));
    assert_eq!(
        body["acknowledged"]["note"],
        json!("calling the mayor's office")
    );
    let (status, body) = call(&http, Method::POST, ack, ADMIN, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], json!("alert_already_acknowledged"));

    let (status, body) = call(
        &http,
        Method::POST,
        silence.clone(),
        ADMIN,
        Some(json!({"until": "2024-05-01"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], json!("no_silence_reason"));
    let (status, body) = call(
        &http,
        Method::POST,
        silence.clone(),
        ADMIN,
        Some(json!({"until": "2024-03-02", "reason": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], json!("silence_not_after_start"));
    let (status, body) = call(
        &http,
        Method::POST,
        silence,
        ADMIN,
        Some(json!({"until": "2024-06-01T00:00:00Z", "reason": "mayor abroad"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["silences"][0]["reason"], json!("mayor abroad"));
    assert_eq!(body["silenced_until"], json!("2024-06-01T00:00:00Z"));

    // Both are counted where they were recorded (this rig's alerter has no metrics, so the
    // figures are the API's own).
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "pilot_alerts_recorded_total{kind=\"acknowledged\"} 1",
        "pilot_alerts_recorded_total{kind=\"silenced\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }

    let unknown = format!("{base}/api/v1/alerts/{}/ack", Uuid::nil());
    let (status, body) = call(&http, Method::POST, unknown, ADMIN, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call(
        &http,
        Method::GET,
        format!("{base}/api/v1/alerts?state=late"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], json!("state"));

    // The alerter reads both back: the escalation is recorded, and not to be sent.
    rig.clock.set(T + days(60));
    let events = rig.wait_recorded(5).await;
    assert_eq!(
        events.iter().map(AlertEvent::kind).collect::<Vec<_>>(),
        ["warning", "fired", "acknowledged", "silenced", "escalated"]
    );
    assert!(!events[4].notice.transition.notify);

    // The alert history exports as stored, paged like the event log.
    let response = http
        .get(format!("{base}/api/v1/alerts/events?limit=3"))
        .bearer_auth(ANALYST)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["pilot-next-after"], "3");
    assert_eq!(response.headers()["pilot-last-position"], "5");
    let page = response.text().await.unwrap();
    let first: Vec<AlertEvent> = page
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(first, events[..3]);
    rig.stop().await;
}

/// Item 4 of issue 16: a silence stops the reminders, not the news that the wait is over. The
/// alert is silenced through the API, the approval is granted inside the silence, and the
/// webhook receives the resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_a_resolution_is_delivered_even_when_the_alert_was_silenced() {
    use axum::extract::State;
    use axum::routing::post;
    use pilot_alerter::webhook::{self, WebhookConfig};
    use std::sync::Mutex;

    let mut rig = Rig::start().await;
    rig.waiting_pilot().await;
    let (base, http) = serve_api(rig.api_state()).await;
    rig.caught_up().await;
    rig.clock.set(T + days(30));
    let events = rig.wait_recorded(1).await;
    let alert_id = events[0].notice.alert_id;
    listed_alerts(&http, format!("{base}/api/v1/alerts?state=firing"), ADMIN).await;
    let (status, body) = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/alerts/{alert_id}/silence"),
        ADMIN,
        Some(json!({"until": "2024-12-31T00:00:00Z", "reason": "mayor abroad"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    rig.clock.set(T + days(40));
    rig.append(
        Subject::Pilot(PILOT),
        scenario::granted("mayor"),
        T + days(40),
    )
    .await;
    let events = rig.wait_recorded(3).await;
    assert_eq!(
        events.iter().map(AlertEvent::kind).collect::<Vec<_>>(),
        ["fired", "silenced", "resolved"]
    );

    // A receiver, and the sink over the same log from its beginning.
    type Got = Arc<Mutex<Vec<String>>>;
    async fn hook(State(got): State<Got>, body: bytes::Bytes) -> &'static str {
        let event: AlertEvent = serde_json::from_slice(&body).unwrap();
        got.lock().unwrap().push(event.kind().to_string());
        "ok"
    }
    let got: Got = Arc::default();
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let metrics = Arc::new(pilot_metrics::Metrics::new(
        rig.process.runtime.projection().clone(),
    ));
    let (stop, shutdown) = watch::channel(false);
    let config = WebhookConfig {
        deliver_backlog: true,
        ..WebhookConfig::new(url)
    };
    let sink = tokio::spawn(webhook::run(rig.log.clone(), config, metrics, shutdown));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything else would have come before the resolution, in stream order.
    stop.send_replace(true);
    sink.await.unwrap().unwrap();
    assert_eq!(*got.lock().unwrap(), ["fired", "resolved"]);
    rig.stop().await;
}
