//! The alerter: stalled-approval alerts as events (DOMAIN.md, "Stalled approvals").
//!
//! - [`engine`]: the loop; the event log and a clock in, alert events out, each transition
//!   recorded exactly once on the alert stream however many alerters run or restart.
//! - [`backfill`]: holding the clock while history is imported, so it is not alerted on as if
//!   it were still pending.
//! - [`checkpoint`]: the alerter's world and book saved, so a start reads only what followed.
//! - [`clock`]: "now", the wall clock or one a test moves.
//! - [`feed`]: the recorded alerts folded for the API (`GET /api/v1/alerts`).
//! - [`rules`]: the `[alerts]` configuration: thresholds, calendars, per-pilot overrides.
//! - [`webhook`]: the webhook sink, delivering recorded notifications in order.

pub mod backfill;
pub mod checkpoint;
pub mod clock;
pub mod engine;
pub mod feed;
pub mod rules;
pub mod webhook;

pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{Alerter, AlerterError, Progress};
pub use feed::AlertFeed;

use crate::metrics::Metrics;
use pilot_store::jetstream::JetStreamLog;
use std::sync::Arc;
use tokio::sync::watch;

/// Resolves once `shutdown` turns true (or its sender is gone), holding no guard of the watch,
/// so a `select!`'s other branches may await while this one is pending.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// How long the alerter waits before starting again after losing NATS.
const RESTART_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the alerter until `shutdown`, starting it again (catch-up included) whenever it loses
/// the event log or the alert stream: a restart can neither repeat nor miss a transition.
pub async fn run_supervised(
    log: JetStreamLog,
    rules: rules::AlertRules,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    checkpoint_key: pilot_store::checkpoint::CheckpointKey,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let alerter = Alerter::new(log.clone(), rules.clone(), clock.clone())
            .with_metrics(metrics.clone())
            .with_checkpoint_key(checkpoint_key.clone());
        match alerter.run(shutdown.clone()).await {
            Ok(()) => return,
            // Starting again would find the same log: say so once and stay down until stopped.
            Err(error @ AlerterError::LogBehind(_)) => {
                tracing::error!(message = "The alerter will not run: the event log holds less than its checkpoint says it has seen.", %error);
                stopped(&mut shutdown).await;
                return;
            }
            Err(error) => {
                tracing::warn!(message = "The alerter stopped; starting it again.", %error)
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RESTART_AFTER) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}
