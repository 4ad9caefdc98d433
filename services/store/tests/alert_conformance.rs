//! One alert-stream contract, two logs: every case runs against the in-memory log and against
//! a real nats-server with JetStream, so the in-memory alert log (on which the webhook sink's
//! tests run) cannot drift from `PILOT_ALERTS`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use bytes::Bytes;
use futures::StreamExt;
use pilot_nats_harness::NatsServer;
use pilot_store::alerts::{AlertMessage, Recorded};
use pilot_store::delivery::{
    DeadLetter, FirstStart, Notification, NotificationQueue, QueueConfig, QueueStart,
};
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::Layout;
use pilot_store::AlertLog;
use std::time::Duration;

/// The duplicate window of the JetStream run: short, so "at any distance in time" is tested
/// past it.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(1);

fn alert(key: &str) -> AlertMessage {
    AlertMessage {
        subject: format!("pilot.alerts.fired.{key}.1"),
        bytes: Bytes::from(format!("{{\"alert\":\"{key}\"}}")),
    }
}

fn stored(position: u64) -> Recorded {
    Recorded::Stored { position }
}

fn positions(stored: &[pilot_store::Stored]) -> Vec<u64> {
    stored.iter().map(|s| s.position).collect()
}

fn queue(name: &str, ack_wait: Duration, max_unacknowledged: usize) -> QueueConfig {
    QueueConfig {
        name: name.to_string(),
        description: "conformance".to_string(),
        ack_wait,
        max_unacknowledged,
        first_start: FirstStart::All,
    }
}

/// Everything one fetch hands out before it ends.
async fn fetch_all<Q: NotificationQueue>(
    queue: &mut Q,
    max: usize,
    expires: Duration,
) -> Vec<Q::Notification> {
    let fetched = queue.fetch(max, expires).await.unwrap();
    let all: Vec<_> = tokio::time::timeout(expires * 4, fetched.collect::<Vec<_>>())
        .await
        .expect("a fetch ends once it expires");
    all.into_iter().map(Result::unwrap).collect()
}

fn handed_out<N: Notification>(notifications: &[N]) -> Vec<(u64, u64)> {
    notifications
        .iter()
        .map(|n| (n.position().unwrap(), n.delivered()))
        .collect()
}

async fn each_subject_is_recorded_once_at_any_distance_in_time(log: &impl AlertLog) {
    let (a, b, c, d) = (alert("a"), alert("b"), alert("c"), alert("d"));
    assert_eq!(log.last_alert_position().await.unwrap(), 0);
    assert_eq!(
        log.record_alerts(&[a.clone(), b.clone()]).await.unwrap(),
        vec![stored(1), stored(2)]
    );
    assert_eq!(
        log.record_alerts(&[c.clone(), a.clone(), d.clone()])
            .await
            .unwrap(),
        vec![stored(3), Recorded::AlreadyRecorded, stored(4)]
    );
    // Past any duplicate window: the subject itself still refuses a second transition.
    tokio::time::sleep(DUPLICATE_WINDOW + Duration::from_millis(500)).await;
    let mut late = b.clone();
    late.bytes = Bytes::from_static(b"{\"alert\":\"b, again\"}");
    assert_eq!(
        log.record_alerts(&[late, alert("e")]).await.unwrap(),
        vec![Recorded::AlreadyRecorded, stored(5)]
    );
    assert_eq!(log.last_alert_position().await.unwrap(), 5);
    let read = log.read_alerts(1, 10).await.unwrap();
    assert_eq!(read[1].bytes, b.bytes, "the first recording stands");
}

async fn a_subject_outside_the_alert_stream_is_a_failure_and_what_came_before_stands(
    log: &impl AlertLog,
) {
    let foreign = AlertMessage {
        subject: "elsewhere.fired.x.1".to_string(),
        bytes: Bytes::from_static(b"{}"),
    };
    assert!(log
        .record_alerts(&[alert("a"), foreign, alert("b")])
        .await
        .is_err());
    let read = log.read_alerts(1, 10).await.unwrap();
    assert_eq!(
        read.first().map(|s| s.bytes.clone()),
        Some(alert("a").bytes)
    );
}

async fn reads_are_pages_in_order(log: &impl AlertLog) {
    let all: Vec<AlertMessage> = (0..5).map(|i| alert(&i.to_string())).collect();
    log.record_alerts(&all).await.unwrap();
    let first = log.read_alerts(1, 2).await.unwrap();
    assert_eq!(positions(&first), vec![1, 2]);
    assert_eq!(first[0].bytes, all[0].bytes);
    assert_eq!(
        positions(&log.read_alerts(4, 10).await.unwrap()),
        vec![4, 5]
    );
    assert!(log.read_alerts(6, 10).await.unwrap().is_empty());
    assert_eq!(
        positions(&log.read_alerts(0, 0).await.unwrap()),
        vec![1],
        "from 0 means from the start; at least one is asked for"
    );
    assert_eq!(log.last_alert_position().await.unwrap(), 5);
}

async fn a_read_returns_at_most_one_batch(log: &impl AlertLog) {
    let all: Vec<AlertMessage> = (0..600).map(|i| alert(&i.to_string())).collect();
    log.record_alerts(&all).await.unwrap();
    let read = log.read_alerts(1, 10_000).await.unwrap();
    assert_eq!(read.len(), pilot_store::alerts::ALERT_READ_BATCH);
    assert_eq!(read.last().unwrap().position, 512);
}

async fn a_tail_gives_what_is_stored_then_what_comes(log: &impl AlertLog) {
    let all: Vec<AlertMessage> = (0..3).map(|i| alert(&i.to_string())).collect();
    log.record_alerts(&all).await.unwrap();
    let mut tail = log.tail_alerts(2).await.unwrap();
    async fn next(tail: &mut pilot_store::alerts::AlertTail) -> pilot_store::Stored {
        tokio::time::timeout(Duration::from_secs(5), tail.next())
            .await
            .expect("the tail yields within 5 s")
            .unwrap()
            .unwrap()
    }
    assert_eq!(next(&mut tail).await.position, 2);
    assert_eq!(next(&mut tail).await.position, 3);
    log.record_alerts(&[alert("late")]).await.unwrap();
    let late = next(&mut tail).await;
    assert_eq!((late.position, late.bytes), (4, alert("late").bytes));
}

async fn a_queue_hands_out_in_order_and_remembers_what_was_acknowledged(log: &impl AlertLog) {
    let all: Vec<AlertMessage> = (0..3).map(|i| alert(&i.to_string())).collect();
    log.record_alerts(&all).await.unwrap();
    let config = queue("sink", Duration::from_secs(30), 10);
    let mut queue = log.open_queue(&config).await.unwrap();
    assert_eq!(
        queue.start(),
        QueueStart {
            next: 1,
            unacknowledged: 0,
            backlog: 3
        }
    );
    let got = fetch_all(&mut queue, 10, Duration::from_millis(500)).await;
    assert_eq!(handed_out(&got), vec![(1, 1), (2, 1), (3, 1)]);
    assert_eq!(got[0].subject(), all[0].subject);
    assert_eq!(got[0].bytes(), &all[0].bytes);
    got[0].ack().await.unwrap();
    got[1].ack().await.unwrap();
    drop(queue);

    // Opened again (a restart): everything before 3 was acknowledged, 3 is still out.
    let mut queue = log.open_queue(&config).await.unwrap();
    assert_eq!(
        queue.start(),
        QueueStart {
            next: 3,
            unacknowledged: 1,
            backlog: 0
        }
    );
    assert!(
        fetch_all(&mut queue, 10, Duration::from_millis(500))
            .await
            .is_empty(),
        "nothing is handed out twice within ack_wait"
    );
    got[2].give_back().await.unwrap();
    let again = fetch_all(&mut queue, 1, Duration::from_secs(2)).await;
    assert_eq!(
        handed_out(&again),
        vec![(3, 2)],
        "given back, handed out again"
    );
    again[0].ack().await.unwrap();
    log.record_alerts(&[alert("new")]).await.unwrap();
    let new = fetch_all(&mut queue, 1, Duration::from_secs(2)).await;
    assert_eq!(handed_out(&new), vec![(4, 1)]);
    new[0].ack().await.unwrap();
    drop(queue);
    let queue = log.open_queue(&config).await.unwrap();
    assert_eq!(queue.start().next, 5);
    assert_eq!(queue.start().unacknowledged, 0);
}

async fn a_new_queue_starts_after_the_last_event_unless_told_to_deliver_all(log: &impl AlertLog) {
    let history: Vec<AlertMessage> = (0..3).map(|i| alert(&format!("old{i}"))).collect();
    log.record_alerts(&history).await.unwrap();
    let from_now = QueueConfig {
        first_start: FirstStart::New,
        ..queue("from-now", Duration::from_secs(30), 10)
    };
    let mut opened = log.open_queue(&from_now).await.unwrap();
    assert_eq!(
        opened.start(),
        QueueStart {
            next: 4,
            unacknowledged: 0,
            backlog: 0
        },
        "history is not delivered"
    );
    assert!(fetch_all(&mut opened, 10, Duration::from_millis(500))
        .await
        .is_empty());
    log.record_alerts(&[alert("new")]).await.unwrap();
    let new = fetch_all(&mut opened, 10, Duration::from_secs(2)).await;
    assert_eq!(handed_out(&new), vec![(4, 1)]);
    new[0].ack().await.unwrap();
    drop(opened);
    // Reopened as "all": an existing queue keeps its place.
    let reopened = QueueConfig {
        first_start: FirstStart::All,
        ..from_now
    };
    let reopened = log.open_queue(&reopened).await.unwrap();
    assert_eq!(reopened.start().next, 5);
    assert_eq!(reopened.start().backlog, 0);
    drop(reopened);
    // A new queue told to deliver all gets the history.
    let all = log
        .open_queue(&queue("everything", Duration::from_secs(30), 10))
        .await
        .unwrap();
    assert_eq!(all.start().next, 1);
    assert_eq!(all.start().backlog, 4);
}

async fn what_is_not_acknowledged_in_time_comes_back_and_at_most_max_are_out(log: &impl AlertLog) {
    let all: Vec<AlertMessage> = (0..3).map(|i| alert(&i.to_string())).collect();
    log.record_alerts(&all).await.unwrap();
    let mut queue = log
        .open_queue(&queue("slow", Duration::from_secs(1), 2))
        .await
        .unwrap();
    let got = fetch_all(&mut queue, 10, Duration::from_millis(500)).await;
    assert_eq!(
        handed_out(&got),
        vec![(1, 1), (2, 1)],
        "at most max_unacknowledged out at once"
    );
    got[1].ack().await.unwrap();
    // Room again: the next new one goes out; 1 is still out, not due yet.
    let next = fetch_all(&mut queue, 1, Duration::from_millis(500)).await;
    assert_eq!(handed_out(&next), vec![(3, 1)]);
    next[0].ack().await.unwrap();
    // 1 was neither acknowledged nor given back: after ack_wait it comes again.
    let again = fetch_all(&mut queue, 1, Duration::from_secs(3)).await;
    assert_eq!(handed_out(&again), vec![(1, 2)]);
    again[0].ack().await.unwrap();
    assert!(fetch_all(&mut queue, 10, Duration::from_millis(500))
        .await
        .is_empty());
}

async fn dead_letters_keep_the_event_and_why_once(log: &impl AlertLog) {
    let refused = DeadLetter {
        sink: "webhook".to_string(),
        alert_subject: "pilot.alerts.fired.a.1".to_string(),
        alert_position: Some(3),
        bytes: Bytes::from_static(b"{\"alert\":\"a\"}"),
        reason: "HTTP 500:\r\ndown for maintenance".to_string(),
        attempts: 8,
        last_status: Some(500),
    };
    let garbage = DeadLetter {
        sink: "webhook".to_string(),
        alert_subject: "pilot.alerts.fired.garbage.1".to_string(),
        alert_position: None,
        bytes: Bytes::from_static(b"not json"),
        reason: "not an alert event".to_string(),
        attempts: 0,
        last_status: None,
    };
    log.dead_letter(&refused).await.unwrap();
    log.dead_letter(&refused).await.unwrap();
    log.dead_letter(&garbage).await.unwrap();
    let letters = log.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 2, "a repeat is kept once: {letters:#?}");
    assert_eq!(letters[0].reason, "HTTP 500:  down for maintenance");
    assert_eq!(
        letters[0],
        DeadLetter {
            reason: letters[0].reason.clone(),
            ..refused
        }
    );
    assert_eq!(letters[1], garbage);
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
                let layout = super::Layout {
                    duplicate_window: super::DUPLICATE_WINDOW,
                    ..super::Layout::default()
                };
                let log = super::JetStreamLog::connect(&server.url(), &layout).await.unwrap();
                super::$case(&log).await;
            })+
        }
    };
}

conformance!(
    each_subject_is_recorded_once_at_any_distance_in_time,
    a_subject_outside_the_alert_stream_is_a_failure_and_what_came_before_stands,
    reads_are_pages_in_order,
    a_read_returns_at_most_one_batch,
    a_tail_gives_what_is_stored_then_what_comes,
    a_queue_hands_out_in_order_and_remembers_what_was_acknowledged,
    a_new_queue_starts_after_the_last_event_unless_told_to_deliver_all,
    what_is_not_acknowledged_in_time_comes_back_and_at_most_max_are_out,
    dead_letters_keep_the_event_and_why_once,
);
