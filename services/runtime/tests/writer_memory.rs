//! The writer and the projector over the in-memory log: decisions before publishing,
//! optimistic concurrency, idempotent retries, all-or-nothing batches, quarantine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use common::*;

use bytes::Bytes;
use pilot_events::{Stage, Subject};
use pilot_projections::{Refusal, World};
use pilot_runtime::projection::Projection;
use pilot_runtime::projector::follow_memory;
use pilot_runtime::writer::{AppendError, Writer};
use pilot_store::memory::MemoryLog;
use pilot_store::EventLog;
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

struct Rig {
    log: Arc<MemoryLog>,
    writer: Writer<MemoryLog>,
    _stop: watch::Sender<bool>,
}

fn rig() -> Rig {
    rig_on(MemoryLog::new())
}

/// The writer over a world that keeps state, not chain bytes, as a service's does.
fn rig_on(log: MemoryLog) -> Rig {
    let log = Arc::new(log);
    let projection = Arc::new(Projection::new(World::new().without_chain_bytes()));
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(follow_memory(log.clone(), projection.clone(), shutdown));
    Rig {
        writer: Writer::new(log.clone(), projection),
        log,
        _stop: stop,
    }
}

const P: Subject = Subject::Pilot(Uuid::from_u128(1));

#[tokio::test]
async fn appends_are_sealed_onto_the_chain_and_visible_when_they_return() {
    let rig = rig();
    let first = rig
        .writer
        .append(vec![draft(P, proposed())], None)
        .await
        .unwrap();
    assert_eq!((first[0].version, first[0].position), (1, 1));
    let second = rig
        .writer
        .append(vec![draft(P, designed())], Some(1))
        .await
        .unwrap();
    assert_eq!((second[0].version, second[0].position), (2, 2));
    assert_eq!(second[0].envelope.prev_hash, first[0].envelope.hash);
    assert_eq!(second[0].envelope.computed_hash(), second[0].envelope.hash);
    // Read-your-writes: the projection has the event when append returns.
    assert_eq!(
        rig.writer
            .projection()
            .read()
            .pilot(&P.id())
            .unwrap()
            .state
            .stage,
        Stage::Design
    );
}

#[tokio::test]
async fn appends_answer_from_the_projection_without_reading_the_chain() {
    let rig = rig();
    let mut last = rig
        .writer
        .append(vec![draft(P, proposed())], None)
        .await
        .unwrap();
    for i in 1..5 {
        last = rig
            .writer
            .append(vec![draft(P, target(i)), draft(P, target(i + 10))], None)
            .await
            .unwrap();
    }
    let answered: Vec<_> = last.iter().map(|s| (s.version, s.position)).collect();
    assert_eq!(answered, vec![(8, 8), (9, 9)]);
    assert_eq!(last[1].envelope.prev_hash, last[0].envelope.hash);
    assert_eq!(rig.log.chain_reads(), 0, "no append read the chain back");
    assert!(!rig.writer.projection().read().chain_loaded(&P.id()));
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_with_the_current_version() {
    let rig = rig();
    rig.writer
        .append(vec![draft(P, proposed())], None)
        .await
        .unwrap();
    rig.writer
        .append(vec![draft(P, designed())], None)
        .await
        .unwrap();
    match rig.writer.append(vec![draft(P, designed())], Some(1)).await {
        Err(AppendError::Conflict {
            expected: 1,
            current: 2,
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(rig.log.last_position().await.unwrap(), 2);
}

#[tokio::test]
async fn a_refused_event_is_never_published() {
    let rig = rig();
    rig.writer
        .append(vec![draft(P, proposed())], None)
        .await
        .unwrap();
    match rig.writer.append(vec![draft(P, started())], None).await {
        Err(AppendError::Refused {
            index: 0,
            refusal:
                Refusal::WrongStage {
                    stage: Stage::Framing,
                    ..
                },
        }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    // All or nothing: the second event is refused, so the first is not stored either.
    match rig
        .writer
        .append(vec![draft(P, designed()), draft(P, started())], None)
        .await
    {
        Err(AppendError::Refused { index: 1, .. }) => {}
        other => panic!("expected a refusal of the second event, got {other:?}"),
    }
    assert_eq!(rig.log.last_position().await.unwrap(), 1);
    let batch = rig
        .writer
        .append(vec![draft(P, designed()), draft(P, designed())], Some(1))
        .await
        .unwrap();
    assert_eq!(
        batch
            .iter()
            .map(|s| (s.version, s.position))
            .collect::<Vec<_>>(),
        vec![(2, 2), (3, 3)]
    );
}

#[tokio::test]
async fn a_retried_request_returns_what_was_stored_the_first_time() {
    let rig = rig();
    let mut proposal = draft(P, proposed());
    proposal.event_id = Some(Uuid::now_v7());
    let first = rig
        .writer
        .append(vec![proposal.clone()], None)
        .await
        .unwrap();
    let again = rig
        .writer
        .append(vec![proposal.clone()], None)
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(rig.log.last_position().await.unwrap(), 1);
    let mut design = draft(P, designed());
    design.event_id = Some(Uuid::now_v7());
    match rig.writer.append(vec![proposal, design], None).await {
        Err(AppendError::PartlyStored) => {}
        other => panic!("expected PartlyStored, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_from_a_foreign_client_is_quarantined_and_the_projector_runs_on() {
    let rig = rig();
    rig.writer
        .append(vec![draft(P, proposed())], None)
        .await
        .unwrap();
    let garbage = rig.log.append_raw(Bytes::from_static(b"not an event"));
    rig.writer
        .append(vec![draft(P, designed())], None)
        .await
        .unwrap();
    assert!(
        rig.writer
            .projection()
            .wait_for(3, std::time::Duration::from_secs(5))
            .await
    );
    let quarantined = rig.log.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].0, garbage);
    assert!(
        quarantined[0].1.contains("not a valid event"),
        "{}",
        quarantined[0].1
    );
    assert_eq!(
        rig.writer
            .projection()
            .read()
            .pilot(&P.id())
            .unwrap()
            .state
            .stage,
        Stage::Design
    );
}

#[tokio::test]
async fn junk_on_a_pilot_subject_does_not_block_appends() {
    let rig = rig();
    rig.writer
        .append(vec![draft(P, proposed())], None)
        .await
        .unwrap();
    let junk = rig
        .log
        .append_foreign(P, Bytes::from_static(b"{\"not\": \"an event\"}"));
    // With the version the chain really has, and without: both go on after the junk.
    let design = rig
        .writer
        .append(vec![draft(P, designed())], Some(1))
        .await
        .unwrap();
    assert_eq!((design[0].version, design[0].position), (2, junk + 1));
    rig.log.append_foreign(P, Bytes::from_static(b"more junk"));
    let third = rig
        .writer
        .append(vec![draft(P, target(1))], None)
        .await
        .unwrap();
    assert_eq!(third[0].version, 3);
    assert_eq!(third[0].envelope.prev_hash, design[0].envelope.hash);
    assert_eq!(rig.log.quarantined().await.unwrap().len(), 2);
    // A retry of the append made after the junk answers with the stored event and version.
    let mut retry = draft(P, designed());
    retry.event_id = Some(design[0].envelope.event_id);
    retry.occurred_at = design[0].envelope.occurred_at;
    let again = rig.writer.append(vec![retry], None).await.unwrap();
    assert_eq!(again, design);
}

#[tokio::test]
async fn one_event_id_twice_in_a_request_is_refused_before_anything_is_stored() {
    let rig = rig();
    let mut first = draft(P, proposed());
    first.event_id = Some(Uuid::now_v7());
    let mut second = draft(P, designed());
    second.event_id = first.event_id;
    match rig.writer.append(vec![first, second], None).await {
        Err(AppendError::DuplicateEventId {
            first: 0,
            second: 1,
            ..
        }) => {}
        other => panic!("expected DuplicateEventId, got {other:?}"),
    }
    assert_eq!(rig.log.last_position().await.unwrap(), 0);
}

#[tokio::test]
async fn an_event_id_reused_for_another_event_or_chain_is_refused() {
    let rig = rig();
    let stored = rig
        .writer
        .append(vec![draft(P, proposed())], None)
        .await
        .unwrap();
    let id = stored[0].envelope.event_id;
    // The same id with other data on the same chain.
    let mut other_data = draft(P, designed());
    other_data.event_id = Some(id);
    other_data.occurred_at = stored[0].envelope.occurred_at;
    match rig.writer.append(vec![other_data], None).await {
        Err(AppendError::EventIdReused {
            index: 0,
            event_id,
            position: 1,
            differs: "type",
            ..
        }) if event_id == id => {}
        other => panic!("expected EventIdReused naming the type, got {other:?}"),
    }
    // The same event on another chain.
    let other_pilot = Subject::Pilot(Uuid::from_u128(2));
    let mut elsewhere = draft(other_pilot, proposed());
    elsewhere.event_id = Some(id);
    elsewhere.occurred_at = stored[0].envelope.occurred_at;
    elsewhere.actor = stored[0].envelope.actor.clone();
    match rig.writer.append(vec![elsewhere], None).await {
        Err(AppendError::EventIdReused {
            differs: "chain",
            stored_chain,
            ..
        }) => assert_eq!(stored_chain, pilot_store::log::chain_key(P)),
        other => panic!("expected EventIdReused naming the chain, got {other:?}"),
    }
    assert_eq!(rig.log.last_position().await.unwrap(), 1);
}

#[tokio::test]
async fn an_event_larger_than_the_store_takes_is_refused_with_the_limit() {
    let rig = rig_on(MemoryLog::new().with_max_event_bytes(2_000));
    let mut proposal = proposed();
    if let pilot_events::Event::PilotProposed(data) = &mut proposal {
        data.title = "x".repeat(3_000);
    }
    match rig.writer.append(vec![draft(P, proposal)], None).await {
        Err(AppendError::TooLarge {
            index: 0, limit, ..
        }) => assert_eq!(limit, 2_000),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(rig.log.last_position().await.unwrap(), 0);
}
