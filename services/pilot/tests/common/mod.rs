//! What the service's integration tests share: a real nats-server holding the Nanguo history,
//! with a projection following it, or the same history on the in-memory logs ([`memory`]).

// Each test file uses its own part of this module.
#![allow(dead_code)]

pub mod memory;
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

pub use pilot_api::demo::{nanguo_events, NANGUO};

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

impl Nanguo {
    /// Stops the projector (it saves its checkpoint on the way out) and opens the projection as
    /// a restarted process would: from that checkpoint, with no chain loaded yet.
    pub async fn restart(&mut self, consumer: &str) -> Arc<Projection> {
        self.stop.send(true).unwrap();
        (&mut self.projector).await.unwrap();
        let restored = reopen(&self.log, consumer, &self.checkpoint_key).await;
        assert_eq!(
            restored.position(),
            nanguo_events() as u64,
            "resumed from the checkpoint"
        );
        restored
    }
}

/// The ids under `key` of a JSON list.
pub fn ids(list: &serde_json::Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_string())
        .collect()
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
    assert_eq!(loaded.appended, nanguo_events());
    Nanguo {
        server,
        log,
        projection,
        stop,
        checkpoint_key,
        projector,
    }
}

/// `value` with the texts an erasure changes blanked: `name` (a person's name as shown before
/// the erasure) and erased markers (`[erased …]`, shown after it). What is left, every figure and
/// every other stakeholder, must be the same before and after an erasure.
pub fn erasable_blanked(mut value: serde_json::Value, name: &str) -> serde_json::Value {
    fn blank(value: &mut serde_json::Value, name: &str) {
        match value {
            serde_json::Value::String(text) if text == name || text.starts_with("[erased ") => {
                *text = "(erasable)".into();
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| blank(v, name)),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(|v| blank(v, name)),
            _ => {}
        }
    }
    blank(&mut value, name);
    value
}
