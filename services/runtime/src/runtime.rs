//! The projection runtime: the only place a process folds the logs. It opens the one
//! [`Projection`] (world, alert book and what the alert stream recorded) from the process's one
//! checkpoint, then follows the event log (the projector, which saves that checkpoint) and the
//! alert stream. The API, the event feed and the alerter all read the projection it holds.

use crate::alert_fold::AlertFold;
use crate::alert_follow::follow_alerts;
use crate::checkpoint::{Anchored, CheckpointKey};
use crate::projection::Projection;
use crate::{follow, projector};
use pilot_projections::AlertBook;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::memory::MemoryLog;
use pilot_store::{AlertLog, EventLog};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the runtime folds.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// The durable consumer's name, and the checkpoint's.
    pub name: String,
    /// A fresh book with the rules and overrides alerts follow.
    pub book: AlertBook,
    pub checkpoint_key: CheckpointKey,
    /// Keep the transitions the book computes for an alerter in this process to record.
    pub collect_alerts: bool,
}

/// The projection of `options`, from its checkpoint on `log` when one holds.
async fn open<L: Anchored>(log: &L, options: &RuntimeOptions) -> Arc<Projection> {
    let projection = Arc::new(
        projector::open(
            log,
            &options.name,
            options.book.clone(),
            &options.checkpoint_key,
        )
        .await,
    );
    if options.collect_alerts {
        projection.with_alerts(AlertFold::collect);
    }
    projection
}

/// The running fold: the projection and the tasks that feed it.
#[derive(Debug)]
pub struct Runtime {
    projection: Arc<Projection>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Runtime {
    /// Opens the projection from its checkpoint and follows both streams until `shutdown`.
    pub async fn start(
        log: &JetStreamLog,
        options: RuntimeOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Runtime {
        let projection = open(log, &options).await;
        let projector = {
            let (log, projection, stop) = (log.clone(), projection.clone(), shutdown.clone());
            tokio::spawn(async move {
                follow::run_projector(&log, &options.name, projection, stop).await
            })
        };
        Runtime::with_follower(Arc::new(log.clone()), projection, projector, shutdown)
    }

    /// The same fold over an in-memory log, for tests of the parts above it (API, alerter,
    /// webhook) that do not depend on the wire. It follows the log as it grows; it saves no
    /// checkpoint (a test that restarts from one uses JetStream).
    pub async fn start_memory(
        log: Arc<MemoryLog>,
        options: RuntimeOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Runtime {
        let projection = open(log.as_ref(), &options).await;
        let projector = {
            let (log, projection, stop) = (log.clone(), projection.clone(), shutdown.clone());
            tokio::spawn(async move {
                if let Err(error) = projector::follow_memory(log, projection, stop).await {
                    tracing::warn!(message = "The in-memory projector stopped.", %error);
                }
            })
        };
        Runtime::with_follower(log, projection, projector, shutdown)
    }

    /// The runtime of `projection` fed by `projector`, with the alert stream of `log` followed
    /// into it until `shutdown`.
    fn with_follower<L: EventLog + AlertLog>(
        log: Arc<L>,
        projection: Arc<Projection>,
        projector: JoinHandle<()>,
        shutdown: watch::Receiver<bool>,
    ) -> Runtime {
        let follower = {
            let projection = projection.clone();
            tokio::spawn(async move { follow_alerts(log.as_ref(), projection, shutdown).await })
        };
        Runtime {
            projection,
            tasks: vec![("projector", projector), ("alert follower", follower)],
        }
    }

    pub fn projection(&self) -> &Arc<Projection> {
        &self.projection
    }

    /// Waits (up to `timeout` each) for the tasks to end after `shutdown` turned true; the
    /// projector saves the checkpoint on its way out.
    pub async fn stopped(self, timeout: Duration) {
        for (name, task) in self.tasks {
            match tokio::time::timeout(timeout, task).await {
                Ok(Ok(())) => tracing::info!(message = "Stopped.", task = name),
                Ok(Err(error)) => tracing::warn!(message = "A task failed.", task = name, %error),
                Err(_) => tracing::warn!(message = "A task did not stop in time.", task = name),
            }
        }
    }
}
