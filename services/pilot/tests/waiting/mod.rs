//! What the alerter's tests share, on JetStream (`alerter.rs`) and in memory
//! (`alerter_memory.rs`): a mayor, a pilot whose approval waits on the mayor, and reading back
//! what the alert stream recorded.

#![allow(dead_code)] // each test file uses its own part

#[path = "../../../../projections/tests/scenario/mod.rs"]
pub mod scenario;

use pilot_events::data::{Influence, StakeholderRegistered};
use pilot_events::{Actor, Event, Level, StakeholderKind, Subject};
use pilot_projections::alerting::AlertEvent;
use pilot_runtime::writer::{Draft, Writer};
use pilot_store::{AlertLog, EventLog};
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
