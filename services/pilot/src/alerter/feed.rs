//! The recorded alerts as the API serves them: the alert stream folded into an
//! [`AlertHistory`], followed live.

use futures::StreamExt;
use pilot_projections::alerting::{AlertEvent, AlertHistory};
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::ALERTS_STREAM;
use pilot_store::{LogError, Stored};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;
use tokio::sync::watch;

/// How long the feed waits before following the alert stream again after losing it.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The recorded alerts, with the alert stream position they reflect.
#[derive(Debug)]
pub struct AlertFeed {
    history: RwLock<AlertHistory>,
    position: watch::Sender<u64>,
}

impl Default for AlertFeed {
    fn default() -> Self {
        AlertFeed {
            history: RwLock::new(AlertHistory::new()),
            position: watch::Sender::new(0),
        }
    }
}

impl AlertFeed {
    /// Read access; hold it briefly and never across an `.await`.
    pub fn read(&self) -> RwLockReadGuard<'_, AlertHistory> {
        self.history
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    /// Waits until the feed has folded `position`; false if `timeout` passed first.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut reached = self.position.subscribe();
        tokio::time::timeout(timeout, reached.wait_for(|at| *at >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Folds one stored alert event; a message that is not an alert event is skipped with a
    /// warning (it still counts as read).
    pub fn apply(&self, stored: &Stored) {
        {
            let mut history = self
                .history
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            fold(&mut history, stored);
        }
        self.position.send_if_modified(|at| {
            let moved = stored.position > *at;
            *at = (*at).max(stored.position);
            moved
        });
    }
}

/// Folds one stored alert event into `history`; returns it if it was new there. A message that
/// is not an alert event is skipped with a warning. The API's feed and the alerter both fold
/// through here.
pub fn fold(history: &mut AlertHistory, stored: &Stored) -> Option<AlertEvent> {
    match serde_json::from_slice::<AlertEvent>(&stored.bytes) {
        Ok(event) => history.apply(stored.position, &event).then_some(event),
        Err(error) => {
            tracing::warn!(
                message = "Skipped a message on the alert stream that is not an alert event.",
                position = stored.position,
                %error
            );
            None
        }
    }
}

/// Follows the alert stream into `feed` until `shutdown` turns true, following again after
/// a lost connection.
#[tracing::instrument(name = "alert_feed", skip_all)]
pub async fn follow(log: JetStreamLog, feed: Arc<AlertFeed>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let result = tokio::select! {
            result = follow_once(&log, &feed) => result,
            () = super::stopped(&mut shutdown) => return,
        };
        if let Err(error) = result {
            tracing::warn!(message = "Lost the alert stream; following it again.", %error);
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_AFTER) => {}
            () = super::stopped(&mut shutdown) => return,
        }
    }
}

async fn follow_once(log: &JetStreamLog, feed: &AlertFeed) -> Result<(), LogError> {
    let mut messages = log.tail(ALERTS_STREAM, feed.position() + 1).await?;
    while let Some(stored) = messages.next().await {
        feed.apply(&stored?);
    }
    Err(LogError::Unavailable("the alert stream ended".into()))
}
