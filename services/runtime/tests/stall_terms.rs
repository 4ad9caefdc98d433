//! Validity never depends on configuration: two processes with different `[alerts]` files (two
//! writers with different stall policies, each with its own projection, over one log) accept
//! and refuse exactly the same events, because an extension is judged by the stall instant its
//! request recorded. Configuration only chooses what the next request records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use common::*;

use bytes::Bytes;
use pilot_events::data::{
    ApprovalExtended, ApprovalRequested, Influence, StakeholderRegistered, StallRecord,
};
use pilot_events::{Envelope, Event, Level, StakeholderKind, Subject, CURRENT_SCHEMA};
use pilot_projections::stall::{DayCount, StallRules, Thresholds};
use pilot_projections::stall_terms::StallPolicy;
use pilot_projections::{Refusal, World};
use pilot_runtime::projection::Projection;
use pilot_runtime::projector::follow_memory;
use pilot_runtime::writer::{AppendError, StoredEvent, Writer};
use pilot_store::memory::MemoryLog;
use pilot_store::EventLog;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;
use uuid::Uuid;

const T: OffsetDateTime = datetime!(2000-03-02 09:00 +08:00);
const MAYOR: Subject = Subject::Stakeholder(Uuid::from_u128(0xb1));
const P: Subject = Subject::Pilot(Uuid::from_u128(0xa1));
const Q: Subject = Subject::Pilot(Uuid::from_u128(0xa2));

/// One process: its writer, under its own `[alerts]` rules, and its own projection.
struct Process {
    writer: Writer<MemoryLog>,
}

impl Process {
    fn start(
        log: &Arc<MemoryLog>,
        municipal_days: u32,
        stops: &mut Vec<watch::Sender<bool>>,
    ) -> Self {
        let projection = Arc::new(Projection::new(World::new()));
        let (stop, shutdown) = watch::channel(false);
        tokio::spawn(follow_memory(log.clone(), projection.clone(), shutdown));
        stops.push(stop);
        let writer =
            Writer::new(log.clone(), projection).with_stall_terms(Arc::new(policy(municipal_days)));
        Process { writer }
    }

    fn projection(&self) -> &Projection {
        self.writer.projection()
    }

    async fn append(
        &self,
        subject: Subject,
        event: Event,
        at: OffsetDateTime,
    ) -> Result<StoredEvent, AppendError> {
        let mut d = draft(subject, event);
        d.occurred_at = at;
        self.writer
            .append(vec![d], None)
            .await
            .map(|mut stored| stored.remove(0))
    }

    async fn caught_up(&self, log: &MemoryLog) {
        let last = log.last_position().await.unwrap();
        assert!(
            self.projection()
                .wait_for(last, StdDuration::from_secs(5))
                .await
        );
    }

    /// Whether this process's world would accept `event` as the next of `subject`'s chain.
    fn verdict(
        &self,
        subject: Subject,
        event: Event,
        at: OffsetDateTime,
    ) -> Result<(), &'static str> {
        let world = self.projection().read();
        let envelope = envelope(&world, subject, event, at);
        world.check(&envelope).map_err(|refusal| refusal.code())
    }
}

/// The `[alerts]` rules of one process: municipal approvals stall after `days` calendar days.
fn policy(days: u32) -> StallPolicy {
    let thresholds = Thresholds {
        municipal: days,
        ..Thresholds::default()
    };
    StallPolicy::new(
        StallRules::new(thresholds, 0.8, DayCount::Calendar).unwrap(),
        BTreeMap::new(),
    )
}

/// `event` sealed onto `subject`'s chain head in `world`, as a client outside the writer would.
fn envelope(world: &World, subject: Subject, event: Event, at: OffsetDateTime) -> Envelope {
    let (_, head) = world.chain_head(subject);
    let actor = draft(subject, event.clone()).actor;
    Envelope {
        event_id: Uuid::now_v7(),
        schema: CURRENT_SCHEMA,
        subject,
        occurred_at: at,
        recorded_at: at,
        actor,
        correlation_id: None,
        causation_id: None,
        prev_hash: head,
        hash: pilot_events::Hash::ZERO,
        signature: None,
        provenance: Default::default(),
        event,
    }
    .seal(head)
}

fn mayor() -> Event {
    Event::StakeholderRegistered(StakeholderRegistered {
        name: "Mayor of Nanguo (post)".into(),
        kind: StakeholderKind::Leader,
        level: Level::Municipal,
        influence: Influence::try_from(5).unwrap(),
        person: false,
    })
}

fn request(approval_id: &str, level: Level) -> Event {
    Event::ApprovalRequested(ApprovalRequested {
        approval_id: approval_id.into(),
        approver_id: MAYOR.id(),
        level,
        note: String::new(),
        stall: None,
    })
}

fn extension(approval_id: &str) -> Event {
    Event::ApprovalExtended(ApprovalExtended {
        approval_id: approval_id.into(),
        extra_days: 5,
        reason: "Mayor travelling".into(),
        stalls_at: None,
    })
}

fn recorded(stored: &StoredEvent) -> StallRecord {
    match &stored.envelope.event {
        Event::ApprovalRequested(d) => d.stall.clone().unwrap(),
        other => panic!("not a request: {other:?}"),
    }
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

#[tokio::test]
async fn two_processes_with_different_alerts_files_accept_and_refuse_the_same_events() {
    let log = Arc::new(MemoryLog::new());
    let mut stops = Vec::new();
    // Process A stalls municipal approvals after 10 days, process B after 60.
    let a = Process::start(&log, 10, &mut stops);
    let b = Process::start(&log, 60, &mut stops);
    a.append(MAYOR, mayor(), T - days(1)).await.unwrap();
    for (process, pilot) in [(&a, P), (&b, Q)] {
        process
            .append(pilot, proposed(), T - days(1))
            .await
            .unwrap();
        process
            .append(pilot, designed(), T - days(1))
            .await
            .unwrap();
    }
    // Each records its own terms on the request it writes.
    let on_p = a
        .append(P, request("p", Level::Municipal), T)
        .await
        .unwrap();
    let on_q = b
        .append(Q, request("q", Level::Municipal), T)
        .await
        .unwrap();
    assert_eq!(recorded(&on_p).stalls_at, T + days(10));
    assert_eq!(recorded(&on_q).stalls_at, T + days(60));
    a.caught_up(&log).await;
    b.caught_up(&log).await;

    // Both judge every candidate extension alike, by the request's record, not their rules.
    let candidates = [
        (P, "p", days(9), Ok(())),
        (P, "p", days(10), Err("approval_stalled")),
        (P, "p", days(20), Err("approval_stalled")),
        (Q, "q", days(20), Ok(())),
        (Q, "q", days(59), Ok(())),
        (Q, "q", days(61), Err("approval_stalled")),
    ];
    for (pilot, approval, after, expected) in candidates {
        let at = T + after;
        let (by_a, by_b) = (
            a.verdict(pilot, extension(approval), at),
            b.verdict(pilot, extension(approval), at),
        );
        assert_eq!((by_a, by_b), (expected, expected), "{approval} at +{after}");
    }

    // Appends: B, whose rules would wait 60 days, refuses P's extension on day 20; A, whose
    // rules stall after 10, accepts Q's and records the stall Q's terms give (60 + 5 days).
    match b.append(P, extension("p"), T + days(20)).await {
        Err(AppendError::Refused {
            refusal: Refusal::ApprovalStalled { due_at, .. },
            ..
        }) => assert_eq!(due_at, T + days(10)),
        other => panic!("expected approval_stalled, got {other:?}"),
    }
    let extended = a.append(Q, extension("q"), T + days(20)).await.unwrap();
    match &extended.envelope.event {
        Event::ApprovalExtended(d) => assert_eq!(d.stalls_at, Some(T + days(65))),
        other => panic!("not an extension: {other:?}"),
    }

    // A late extension written past both writers lands in the log: both quarantine it.
    let late = envelope(&a.projection().read(), P, extension("p"), T + days(21));
    log.append_foreign(P, Bytes::from(late.to_json()));
    a.caught_up(&log).await;
    b.caught_up(&log).await;
    for process in [&a, &b] {
        assert_eq!(
            process
                .projection()
                .counters
                .quarantined
                .load(Ordering::Relaxed),
            1
        );
    }
    let heads = |process: &Process| {
        let mut heads: Vec<_> = process.projection().read().chain_heads().collect();
        heads.sort_by_key(|(subject, _, _)| subject.id());
        heads
    };
    assert_eq!(heads(&a), heads(&b));

    // And a third fold, with no configuration at all, agrees with both.
    let mut fresh = World::new();
    let mut refused = 0;
    for stored in log.read_from(1, 1_000).await.unwrap() {
        if fresh.apply_stored(stored.position, &stored.bytes).is_err() {
            refused += 1;
        }
    }
    assert_eq!(refused, 1);
    let mut fresh_heads: Vec<_> = fresh.chain_heads().collect();
    fresh_heads.sort_by_key(|(subject, _, _)| subject.id());
    assert_eq!(fresh_heads, heads(&a));
}

#[tokio::test]
async fn a_client_may_not_forge_a_stall_record_nor_pick_another_level() {
    let log = Arc::new(MemoryLog::new());
    let mut stops = Vec::new();
    let a = Process::start(&log, 10, &mut stops);
    a.append(MAYOR, mayor(), T - days(1)).await.unwrap();
    a.append(P, proposed(), T - days(1)).await.unwrap();
    a.append(P, designed(), T - days(1)).await.unwrap();

    // A national request would record 90 days: refused, the approver is municipal.
    match a.append(P, request("p", Level::National), T).await {
        Err(AppendError::Refused {
            refusal: refusal @ Refusal::ApproverLevelMismatch { .. },
            ..
        }) => assert_eq!(refusal.code(), "approver_level_mismatch"),
        other => panic!("expected approver_level_mismatch, got {other:?}"),
    }
    // A record that says a year: refused, naming the field.
    let mut forged = request("p", Level::Municipal);
    if let Event::ApprovalRequested(d) = &mut forged {
        d.stall = Some(StallRecord {
            stalls_at: T + days(365),
            ..policy(10).record_request(&P.id(), Level::Municipal, T)
        });
    }
    match a.append(P, forged, T).await {
        Err(AppendError::Refused { refusal, .. }) => {
            assert_eq!(refusal.code(), "stall_record_mismatch");
            assert!(refusal.to_string().contains("data.stall"), "{refusal}");
        }
        other => panic!("expected stall_record_mismatch, got {other:?}"),
    }
    assert_eq!(
        log.last_position().await.unwrap(),
        3,
        "nothing refused was stored"
    );

    // A retry of a stored request that leaves the record out (the client never had it) is
    // the same event: it answers with what was stored.
    let stored = a
        .append(P, request("p", Level::Municipal), T)
        .await
        .unwrap();
    let mut retry = draft(P, request("p", Level::Municipal));
    retry.event_id = Some(stored.envelope.event_id);
    retry.occurred_at = T;
    let again = a.writer.append(vec![retry], None).await.unwrap();
    assert_eq!(again[0], stored);
}

fn registered(name: &str, calendar: Option<&str>) -> Event {
    Event::JurisdictionRegistered(pilot_events::data::JurisdictionRegistered {
        name: name.into(),
        level: Level::Municipal,
        utc_offset: "+08:00".into(),
        calendar: calendar.map(str::to_string),
    })
}

/// The writer counts a pilot's request in the working days of the calendar its registered
/// jurisdiction names, when its rules loaded it, and records why; a jurisdiction naming a
/// calendar that was not loaded gets the default, and the record says so.
#[tokio::test]
async fn the_writer_records_the_calendar_of_the_pilots_jurisdiction_and_why() {
    use pilot_events::data::{CalendarSource, DayUnit};
    use pilot_projections::calendar::WorkCalendar;
    let log = Arc::new(MemoryLog::new());
    let projection = Arc::new(Projection::new(World::new()));
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(follow_memory(log.clone(), projection.clone(), shutdown));
    let nanguo = WorkCalendar::weekends_only("nanguo", time::macros::offset!(+08:00)).unwrap();
    let thresholds = Thresholds {
        municipal: 10,
        ..Thresholds::default()
    };
    let rules = StallRules::new(thresholds, 0.8, DayCount::Calendar)
        .unwrap()
        .with_calendars([nanguo]);
    let writer = Writer::new(log.clone(), projection)
        .with_stall_terms(Arc::new(StallPolicy::new(rules, BTreeMap::new())));
    let a = Process { writer };
    let (nanguo_chain, beiguo_chain) = (
        Subject::Jurisdiction(Uuid::from_u128(0xc1)),
        Subject::Jurisdiction(Uuid::from_u128(0xc2)),
    );
    a.append(MAYOR, mayor(), T - days(2)).await.unwrap();
    a.append(
        nanguo_chain,
        registered("Nanguo", Some("nanguo")),
        T - days(2),
    )
    .await
    .unwrap();
    a.append(
        beiguo_chain,
        registered("Beiguo", Some("beiguo")),
        T - days(2),
    )
    .await
    .unwrap();
    let mut in_beiguo = proposed();
    if let Event::PilotProposed(d) = &mut in_beiguo {
        d.jurisdiction = "Beiguo".into();
    }
    for (pilot, proposal) in [(P, proposed()), (Q, in_beiguo)] {
        a.append(pilot, proposal, T - days(1)).await.unwrap();
        a.append(pilot, designed(), T - days(1)).await.unwrap();
    }
    let on_p = recorded(
        &a.append(P, request("p", Level::Municipal), T)
            .await
            .unwrap(),
    );
    // Thu 2000-03-02 09:00 + 10 working days (weekends off) = Thu 03-16 09:00.
    assert_eq!(
        (on_p.day_count, on_p.calendar.as_deref(), on_p.stalls_at),
        (
            DayUnit::Working,
            Some("nanguo"),
            datetime!(2000-03-16 09:00 +08:00)
        )
    );
    let basis = on_p.basis.unwrap();
    assert_eq!(
        (basis.by, basis.jurisdiction.as_deref()),
        (CalendarSource::Jurisdiction, Some("Nanguo"))
    );
    let on_q = recorded(
        &a.append(Q, request("q", Level::Municipal), T)
            .await
            .unwrap(),
    );
    assert_eq!(
        (on_q.day_count, on_q.stalls_at),
        (DayUnit::Calendar, T + days(10))
    );
    let basis = on_q.basis.unwrap();
    assert_eq!(
        (basis.by, basis.named_calendar.as_deref()),
        (CalendarSource::CalendarNotLoaded, Some("beiguo"))
    );
}
