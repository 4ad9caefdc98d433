//! One contract, two logs: every case runs against the in-memory log and against a real
//! nats-server with JetStream, so the in-memory log cannot drift from the system of record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use bytes::Bytes;
use pilot_events::Subject;
use pilot_nats_harness::NatsServer;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::Layout;
use pilot_store::{EventLog, LogError, Outgoing};
use uuid::Uuid;

fn event(text: &str) -> Outgoing {
    Outgoing {
        event_id: Uuid::now_v7(),
        bytes: Bytes::from(format!("{{\"text\":\"{text}\"}}")),
    }
}

fn pilot(n: u128) -> Subject {
    Subject::Pilot(Uuid::from_u128(n))
}

async fn payloads(log: &impl EventLog, chain: Subject) -> Vec<String> {
    let stored = log.read_chain(chain, 0).await.unwrap();
    stored
        .iter()
        .map(|s| String::from_utf8(s.bytes.to_vec()).unwrap())
        .collect()
}

async fn appends_get_positions_and_chains_stay_apart(log: &impl EventLog) {
    let (a, b) = (pilot(1), pilot(2));
    assert_eq!(log.append(a, 0, vec![event("a1")]).await.unwrap(), vec![1]);
    assert_eq!(log.append(b, 0, vec![event("b1")]).await.unwrap(), vec![2]);
    assert_eq!(log.append(a, 1, vec![event("a2")]).await.unwrap(), vec![3]);
    assert_eq!(
        payloads(log, a).await,
        vec![r#"{"text":"a1"}"#, r#"{"text":"a2"}"#]
    );
    let after_first: Vec<u64> = log
        .read_chain(a, 1)
        .await
        .unwrap()
        .iter()
        .map(|s| s.position)
        .collect();
    assert_eq!(after_first, vec![3]);
    assert_eq!(log.last_position().await.unwrap(), 3);
    let all: Vec<u64> = log
        .read_from(1, 10)
        .await
        .unwrap()
        .iter()
        .map(|s| s.position)
        .collect();
    assert_eq!(all, vec![1, 2, 3]);
    let page: Vec<u64> = log
        .read_from(2, 1)
        .await
        .unwrap()
        .iter()
        .map(|s| s.position)
        .collect();
    assert_eq!(page, vec![2]);
    assert!(log.read_from(4, 10).await.unwrap().is_empty());
}

async fn a_stale_expected_position_is_a_conflict_naming_the_current_one(log: &impl EventLog) {
    let a = pilot(1);
    log.append(a, 0, vec![event("a1")]).await.unwrap();
    log.append(a, 1, vec![event("a2")]).await.unwrap();
    match log.append(a, 1, vec![event("late")]).await {
        Err(LogError::Conflict {
            expected: 1,
            found: 2,
            ..
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    match log.append(pilot(9), 5, vec![event("x")]).await {
        Err(LogError::Conflict {
            expected: 5,
            found: 0,
            ..
        }) => {}
        other => panic!("expected a conflict on an empty chain, got {other:?}"),
    }
    assert_eq!(
        payloads(log, a).await.len(),
        2,
        "nothing stored by a conflict"
    );
}

async fn a_retried_append_is_not_stored_twice(log: &impl EventLog) {
    let a = pilot(1);
    let first = event("a1");
    assert_eq!(
        log.append(a, 0, vec![first.clone()]).await.unwrap(),
        vec![1]
    );
    assert_eq!(
        log.append(a, 0, vec![first.clone()]).await.unwrap(),
        vec![1],
        "same id, same answer"
    );
    let batch = vec![event("a2"), event("a3")];
    assert_eq!(log.append(a, 1, batch.clone()).await.unwrap(), vec![2, 3]);
    assert_eq!(log.append(a, 1, batch).await.unwrap(), vec![2, 3]);
    assert_eq!(payloads(log, a).await.len(), 3);
    assert_eq!(log.last_position().await.unwrap(), 3);
}

async fn a_batch_is_stored_all_or_nothing(log: &impl EventLog) {
    let a = pilot(1);
    log.append(a, 0, vec![event("a1")]).await.unwrap();
    let batch = vec![event("b1"), event("b2"), event("b3")];
    assert!(matches!(
        log.append(a, 0, batch.clone()).await,
        Err(LogError::Conflict { .. })
    ));
    assert_eq!(
        log.last_position().await.unwrap(),
        1,
        "no part of a refused batch is stored"
    );
    assert_eq!(log.append(a, 1, batch).await.unwrap(), vec![2, 3, 4]);
    assert_eq!(payloads(log, a).await.len(), 4);
}

async fn long_chains_read_back_whole_and_in_order(log: &impl EventLog) {
    let (a, b) = (pilot(1), pilot(2));
    let mut last = (0, 0);
    for i in 0..1_200 {
        let (chain, expected) = if i % 3 == 0 {
            (b, &mut last.1)
        } else {
            (a, &mut last.0)
        };
        *expected = log
            .append(chain, *expected, vec![event(&i.to_string())])
            .await
            .unwrap()[0];
    }
    let chain = log.read_chain(a, 0).await.unwrap();
    assert_eq!(chain.len(), 800);
    assert!(chain.windows(2).all(|w| w[0].position < w[1].position));
    let texts: Vec<String> = chain
        .iter()
        .take(3)
        .map(|s| String::from_utf8(s.bytes.to_vec()).unwrap())
        .collect();
    assert_eq!(
        texts,
        vec![r#"{"text":"1"}"#, r#"{"text":"2"}"#, r#"{"text":"4"}"#]
    );
    // Read on from the middle: exactly the chain's messages after that position.
    let middle = chain[300].position;
    let rest = log.read_chain(a, middle).await.unwrap();
    let expected: Vec<u64> = chain
        .iter()
        .map(|s| s.position)
        .filter(|p| *p > middle)
        .collect();
    assert_eq!(
        rest.iter().map(|s| s.position).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        rest.last().map(|s| &s.bytes),
        chain.last().map(|s| &s.bytes)
    );
}

macro_rules! conformance {
    ($($case:ident),+ $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $case() {
                super::$case(&pilot_store::memory::MemoryLog::new()).await;
            })+
        }
        mod jetstream {
            $(#[tokio::test]
            async fn $case() {
                let server = super::NatsServer::start().unwrap();
                let log = super::JetStreamLog::connect(&server.url(), &super::Layout::default()).await.unwrap();
                super::$case(&log).await;
            })+
        }
    };
}

conformance!(
    appends_get_positions_and_chains_stay_apart,
    a_stale_expected_position_is_a_conflict_naming_the_current_one,
    a_retried_append_is_not_stored_twice,
    a_batch_is_stored_all_or_nothing,
    long_chains_read_back_whole_and_in_order,
);
