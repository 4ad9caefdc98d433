//! Following the alert stream into the projection's alert fold
//! ([`Projection::apply_recorded_alert`]): what the API lists, what the alerter must not record
//! twice, and the user actions the book applies.

use crate::projection::Projection;
use futures::StreamExt;
use pilot_store::alerts::AlertLog;
use pilot_store::log::{EventLog, LogError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long the follower waits before following the alert stream again after losing it.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Follows the alert stream into `projection` until `shutdown` turns true, following again
/// after a lost connection. It starts once the world has caught up with the event log as it
/// stood when the follower started: a user action folded before the world knows its alert
/// would be refused by the book and lost.
#[tracing::instrument(name = "alert_follower", skip_all)]
pub async fn follow_alerts<L: EventLog + AlertLog>(
    log: &L,
    projection: Arc<Projection>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let result = tokio::select! {
            result = follow_alerts_once(log, &projection) => result,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        if let Err(error) = result {
            tracing::warn!(message = "Lost the alert stream; following it again.", %error);
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_AFTER) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

async fn follow_alerts_once<L: EventLog + AlertLog>(
    log: &L,
    projection: &Projection,
) -> Result<(), LogError> {
    let last = log.last_position().await?;
    while !projection.wait_for(last, Duration::from_secs(60)).await {}
    let mut messages = log.tail_alerts(projection.alert_position() + 1).await?;
    while let Some(stored) = messages.next().await {
        projection.apply_recorded_alert(&stored?);
    }
    Err(LogError::Unavailable("the alert stream ended".into()))
}
