//! The alerter: stalled-approval alerts as events (docs/domain.md, "Stalled approvals and alerts").
//!
//! - [`engine`]: a timer and an outbox over the process's one fold (world and alert book, see
//!   `pilot_runtime::runtime`): each transition recorded exactly once on the alert stream
//!   however many alerters run or restart.
//! - [`backfill`]: holding the clock while history is imported, so it is not alerted on as if
//!   it were still pending.
//! - [`clock`]: "now", the wall clock or one a test moves.
//! - [`rules`]: the `[alerts]` configuration: thresholds, calendars, per-pilot overrides.
//! - [`sink`]: delivering recorded notifications to people in order, with retries and dead
//!   letters, through a [`sink::Channel`]:
//! - [`webhook`]: the webhook sink (HTTP POST, Standard Webhooks signatures);
//! - [`email`]: the e-mail sink (SMTP, English or Chinese).

pub mod backfill;
pub mod clock;
pub mod email;
pub mod engine;
pub mod rules;
pub mod sink;
pub mod webhook;

pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{Alerter, AlerterError, Progress};

use pilot_metrics::Metrics;
use pilot_runtime::projection::Projection;
use pilot_store::{AlertLog, EventLog};
use std::sync::Arc;
use tokio::sync::watch;

/// Resolves once `shutdown` turns true (or its sender is gone), holding no guard of the watch,
/// so a `select!`'s other branches may await while this one is pending.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// How long the alerter waits before starting again after losing NATS.
const RESTART_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the alerter over `projection` until `shutdown`, starting it again whenever it loses
/// the event log or the alert stream: the outbox is kept in the projection, so a restart can
/// neither repeat nor miss a transition.
pub async fn run_supervised<L: EventLog + AlertLog>(
    log: Arc<L>,
    projection: Arc<Projection>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let alerter = Alerter::new(log.clone(), projection.clone(), clock.clone())
            .with_metrics(metrics.clone());
        match alerter.run(shutdown.clone()).await {
            Ok(()) => return,
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
