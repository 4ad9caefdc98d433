//! A rebuild that decodes on several cores folds the same world as one that decodes on one,
//! and as the plain sequential catch-up: the same checkpoint, byte for byte, against a real
//! nats-server holding a synthetic history with an undecodable message in it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use async_nats::jetstream::message::PublishMessage;
use pilot_nats_harness::NatsServer;
use pilot_projections::synthetic::{history, Shape};
use pilot_projections::World;
use pilot_runtime::projection::Projection;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::{chain_subject, Layout};
use pilot_store::EventLog;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_and_sequential_rebuilds_give_the_same_checkpoint_bytes() {
    let server = NatsServer::start().unwrap();
    let log = JetStreamLog::connect(&server.url(), &Layout::default())
        .await
        .unwrap();
    let envelopes = history(Shape {
        pilots: 24,
        events_per_pilot: 150,
        stakeholders: 30,
        seed: 11,
    });
    let js = log.jetstream().clone();
    for (i, envelope) in envelopes.iter().enumerate() {
        let subject = chain_subject(envelope.subject);
        if i == envelopes.len() / 2 {
            // A message that is no event: quarantined, its position consumed, by every rebuild.
            js.publish(subject.clone(), "not an event".into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
        let message = PublishMessage::build()
            .payload(envelope.to_json().into())
            .message_id(envelope.event_id.to_string());
        js.send_publish(subject, message)
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let last = log.last_position().await.unwrap();
    assert_eq!(last as usize, envelopes.len() + 1);

    let checkpoint_of = |projection: &Projection| {
        assert_eq!(projection.position(), last);
        projection.checkpoint().unwrap().unwrap().1
    };
    let sequential = Projection::new(World::new().without_chain_bytes());
    pilot_runtime::projector::catch_up(&log, &sequential)
        .await
        .unwrap();
    let expected = checkpoint_of(&sequential);
    assert_eq!(
        sequential
            .counters
            .quarantined
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    for decoders in [1, 2, 8] {
        let rebuilt = Projection::new(World::new().without_chain_bytes());
        pilot_runtime::follow::rebuild_with(&log, &rebuilt, decoders)
            .await
            .unwrap();
        assert!(
            checkpoint_of(&rebuilt) == expected,
            "a rebuild decoding {decoders} batches at once gave other checkpoint bytes"
        );
    }
}
