//! What the alerter's tests share, on JetStream (`alerter.rs`) and in memory
//! (`alerter_memory.rs`): a mayor, a pilot whose approval waits on the mayor, reading back
//! what the alert stream recorded, and calling the alerts API.

#![allow(dead_code)] // each test file uses its own part

#[path = "../../../../projections/tests/scenario/mod.rs"]
pub mod scenario;

use pilot_events::data::{Influence, StakeholderRegistered};
use pilot_events::{Actor, Event, Level, StakeholderKind, Subject};
use pilot_projections::alerting::AlertEvent;
use pilot_runtime::writer::{Draft, Writer};
use pilot_store::{AlertLog, EventLog};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;
use uuid::Uuid;

/// When the approval is requested: municipal level, so 30 calendar days, warning at 24.
pub const T: OffsetDateTime = datetime!(2024-03-01 09:00 UTC);
pub const PILOT: Uuid = Uuid::from_u128(0x0194_0000_0000_7000_8000_00a0_0000_0001);
pub const MAYOR: Uuid = Uuid::from_u128(0x0194_0000_0000_7000_8000_00b0_0000_0001);

pub fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

/// Appends `event` as SSDNC's clerk, at `at`.
pub async fn append<L: EventLog>(
    writer: &Writer<L>,
    subject: Subject,
    event: Event,
    at: OffsetDateTime,
) {
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
        provenance: Default::default(),
        event,
    };
    writer.append(vec![draft], None).await.unwrap();
}

/// A registered mayor, and a designed pilot whose approval is requested at `at`.
pub async fn waiting_pilot_at<L: EventLog>(writer: &Writer<L>, at: OffsetDateTime) {
    let registered = Event::StakeholderRegistered(StakeholderRegistered {
        name: "Mayor of Nanguo".into(),
        kind: StakeholderKind::Leader,
        level: Level::Municipal,
        influence: Influence::try_from(5).unwrap(),
        person: false,
    });
    append(
        writer,
        Subject::Stakeholder(MAYOR),
        registered,
        at - days(1),
    )
    .await;
    let pilot = Subject::Pilot(PILOT);
    let proposed = scenario::proposed("Critical illness insurance");
    append(writer, pilot, proposed, at - days(1)).await;
    append(writer, pilot, scenario::designed(), at - days(1)).await;
    let request = scenario::requested("mayor", MAYOR, Level::Municipal);
    append(writer, pilot, request, at).await;
}

/// What the alert stream holds, decoded.
pub async fn recorded<L: AlertLog>(log: &L) -> Vec<AlertEvent> {
    let stored = log.read_alerts(1, 512).await.unwrap();
    stored
        .iter()
        .map(|s| serde_json::from_slice(&s.bytes).unwrap())
        .collect()
}

/// Waits (bounded) until the alert stream holds `n` events.
pub async fn wait_recorded<L: AlertLog>(log: &L, n: usize) -> Vec<AlertEvent> {
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

pub fn kinds(events: &[AlertEvent]) -> Vec<(&'static str, OffsetDateTime)> {
    events
        .iter()
        .map(|e| (e.kind(), e.notice.transition.at))
        .collect()
}

pub const ADMIN: &str = "admin-secret";
pub const ANALYST: &str = "analyst-secret";

/// The API over `state` on a loopback port, with an admin ([`ADMIN`]) and an analyst
/// ([`ANALYST`]); its base URL and a client.
pub async fn serve_api(state: pilot_api::AppState) -> (String, reqwest::Client) {
    use pilot_api::auth::{Role, Tokens};
    let mut tokens = Tokens::default();
    tokens.add_clear("root", Role::Admin, None, ADMIN);
    tokens.add_clear("ana", Role::Analyst, None, ANALYST);
    let state = state.with_access(pilot_api::state::Access {
        tokens,
        ..pilot_api::state::Access::default()
    });
    state.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, pilot_api::app(state)).await });
    (base, reqwest::Client::new())
}

/// `GET url` until it lists an alert (bounded: the fold may trail the stream by a moment); the
/// answer that did, or the last one.
pub async fn listed_alerts(http: &reqwest::Client, url: String, token: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..250 {
        let (status, body) = call(http, reqwest::Method::GET, url.clone(), token, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["alerts"].as_array().is_some_and(|a| !a.is_empty()) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    last
}

/// One call with `token`; the status and the body as JSON (null if it is not).
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
