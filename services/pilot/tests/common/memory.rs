//! The Nanguo history on the in-memory logs, folded by the process's runtime as `pilot serve`
//! folds JetStream: for router tests that do not depend on the wire.

use pilot_api::demo;
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::projection::Projection;
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_store::memory::MemoryLog;
use std::sync::Arc;
use tokio::sync::watch;

/// The in-memory log with the Nanguo history, and the runtime folding it.
pub struct MemoryNanguo {
    pub log: Arc<MemoryLog>,
    pub runtime: Runtime,
    /// Send `true` to stop the runtime's tasks.
    pub stop: watch::Sender<bool>,
}

impl MemoryNanguo {
    pub fn projection(&self) -> &Arc<Projection> {
        self.runtime.projection()
    }

    /// An API state over this log and fold (not ready, no access rules yet).
    pub fn state(&self) -> pilot_api::AppState {
        pilot_api::AppState::shared(
            pilot_store::SharedLog::from_arc(self.log.clone()),
            self.projection().clone(),
        )
    }
}

/// The history loaded as `pilot serve --demo` loads it, into a log of `log`'s limits.
pub async fn nanguo_in(log: MemoryLog) -> MemoryNanguo {
    let log = Arc::new(log);
    let (stop, shutdown) = watch::channel(false);
    let options = RuntimeOptions {
        name: "memory".into(),
        book: pilot_projections::AlertBook::default(),
        checkpoint_key: CheckpointKey::generate().unwrap(),
        collect_alerts: false,
    };
    let runtime = Runtime::start_memory(log.clone(), options, shutdown).await;
    let loaded = demo::load_history(log.as_ref(), runtime.projection(), super::NANGUO)
        .await
        .unwrap();
    assert_eq!(loaded.appended, pilot_api::demo::nanguo_events());
    MemoryNanguo { log, runtime, stop }
}

pub async fn nanguo_memory() -> MemoryNanguo {
    nanguo_in(MemoryLog::new()).await
}
