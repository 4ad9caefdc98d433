//! What the service's integration tests share: a real nats-server holding the Nanguo history,
//! with a projection following it.

// Each test file uses its own part of this module.
#![allow(dead_code)]

pub mod process;

use pilot_api::demo;
use pilot_nats_harness::NatsServer;
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::projection::Projection;
use pilot_runtime::projector;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::Layout;
use pilot_store::EventLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub const NANGUO: &[u8] = include_bytes!("../../../../deploy/demo/nanguo.jsonl");

/// A lobbying contact on the Nanguo history's unified-fund pilot with the Bureau of Finance,
/// dated after everything in the history: appendable any number of times by SSDNC.
pub fn lobbying_contact(summary: &str, stance: i64) -> serde_json::Value {
    serde_json::json!({
        "type": "lobbying.contact_logged",
        "pilot_id": "0194a000-0001-7000-8000-000000000005",
        "occurred_at": "2012-03-01T10:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "clerk"},
        "data": {
            "stakeholder_id": "0194a000-0002-7000-8000-000000000008",
            "channel": "meeting",
            "strategy": "alliance",
            "summary": summary,
            "stance": stance
        }
    })
}

/// A nats-server with the Nanguo history loaded as `pilot serve --demo` loads it, and a
/// projection following it with the durable consumer `consumer`.
pub struct Nanguo {
    pub server: NatsServer,
    pub log: JetStreamLog,
    pub projection: Arc<Projection>,
    /// Send `true` to stop the projector (it saves a checkpoint).
    pub stop: watch::Sender<bool>,
    /// What the projector seals its checkpoints with; open them with the same.
    pub checkpoint_key: CheckpointKey,
    pub projector: tokio::task::JoinHandle<()>,
}

/// A projection opened as a restarted process opens it: from `consumer`'s checkpoint when it
/// holds under `key`, else empty.
pub async fn reopen(log: &JetStreamLog, consumer: &str, key: &CheckpointKey) -> Arc<Projection> {
    Arc::new(projector::open(log, consumer, pilot_projections::AlertBook::default(), key).await)
}

pub async fn nanguo(consumer: &'static str) -> Nanguo {
    let server = NatsServer::start().unwrap();
    let log = JetStreamLog::connect(&server.url(), &Layout::default())
        .await
        .unwrap();
    let checkpoint_key = CheckpointKey::generate().unwrap();
    let projection = Arc::new(
        projector::open(
            &log,
            consumer,
            pilot_projections::AlertBook::default(),
            &checkpoint_key,
        )
        .await,
    );
    let (stop, shutdown) = watch::channel(false);
    let projector = {
        let (log, projection) = (log.clone(), projection.clone());
        tokio::spawn(async move {
            pilot_runtime::follow::run_projector(&log, consumer, projection, shutdown).await
        })
    };
    let last = log.last_position().await.unwrap();
    assert!(projection.wait_for(last, Duration::from_secs(20)).await);
    let loaded = demo::load_history(&log, &projection, NANGUO).await.unwrap();
    assert_eq!(loaded.appended, 98);
    Nanguo {
        server,
        log,
        projection,
        stop,
        checkpoint_key,
        projector,
    }
}
