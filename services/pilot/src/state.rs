//! What the HTTP handlers share: the log, the live projection, and whether the projection has
//! caught up with the log since start-up.

use pilot_store::jetstream::JetStreamLog;
use pilot_store::projection::Projection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct AppState {
    pub log: JetStreamLog,
    pub projection: Arc<Projection>,
    ready: Arc<AtomicBool>,
}

impl AppState {
    /// Not ready until [`AppState::set_ready`]: the API answers 503 until then.
    pub fn new(log: JetStreamLog, projection: Arc<Projection>) -> Self {
        AppState {
            log,
            projection,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The projection has caught up with what the log held at start-up (and the demo
    /// history, if asked for, is loaded): the API may answer.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
