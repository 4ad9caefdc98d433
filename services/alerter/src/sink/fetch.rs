//! The fetcher: pulls from the durable queue into the bounded in-process queue, releasing
//! messages through [`InOrder`] so the sender gets them by stream position.

use super::order::InOrder;
use super::{is_stopped, PULL_EXPIRES, PULL_RETRY_MAX, PULL_RETRY_MIN};
use crate::stopped;
use futures::StreamExt;
use pilot_metrics::{Metrics, SinkMetrics};
use pilot_store::delivery::NotificationQueue;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Pulls from the durable queue into the in-process one (`out`), in stream order, while it has
/// room.
pub(super) struct Fetcher<Q: NotificationQueue> {
    pub(super) queue: Q,
    pub(super) out: mpsc::Sender<Q::Notification>,
    pub(super) order: InOrder<Q::Notification>,
    pub(super) metrics: Arc<Metrics>,
    /// The sink's own figures among `metrics`.
    pub(super) figures: fn(&Metrics) -> &SinkMetrics,
    pub(super) shutdown: watch::Receiver<bool>,
    /// Messages taken but not queued when the sink stopped.
    pub(super) left: Vec<Q::Notification>,
}

impl<Q: NotificationQueue> Fetcher<Q> {
    /// Pulls until the sink stops; returns the messages it holds, to be handed back.
    pub(super) async fn run(mut self) -> Vec<Q::Notification> {
        let mut retry = PULL_RETRY_MIN;
        while !is_stopped(&self.shutdown) {
            // Wait for room, then ask for as many as fit.
            let room = tokio::select! {
                permit = self.out.reserve() => match permit {
                    Ok(permit) => {
                        drop(permit);
                        self.out.capacity().max(1)
                    }
                    Err(_) => break,
                },
                () = stopped(&mut self.shutdown) => break,
            };
            match self.pull(room).await {
                Ok(true) => retry = PULL_RETRY_MIN,
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(message = "Pulling alert events failed; retrying.", %error, retry_in_ms = retry.as_millis() as u64);
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        () = stopped(&mut self.shutdown) => break,
                    }
                    retry = retry.saturating_mul(2).min(PULL_RETRY_MAX);
                }
            }
        }
        let mut left = std::mem::take(&mut self.left);
        left.extend(self.order.drain());
        left
    }

    /// One pull request for up to `room` messages; false when the sink is stopping.
    async fn pull(&mut self, room: usize) -> Result<bool, String> {
        let mut batch = self
            .queue
            .fetch(room, PULL_EXPIRES)
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let patience = tokio::time::sleep_until(self.order.give_up_at().into());
            let next = tokio::select! {
                next = batch.next() => next,
                () = patience, if self.order.is_waiting() => {
                    let released = self.order.skip_gap();
                    if !self.forward(released).await {
                        break;
                    }
                    continue;
                }
                () = stopped(&mut self.shutdown) => break,
            };
            match next {
                None => return Ok(true),
                Some(Err(error)) => return Err(error.to_string()),
                Some(Ok(message)) => {
                    (self.figures)(&self.metrics).queued();
                    let released = self.order.push(message);
                    if !self.forward(released).await {
                        break;
                    }
                }
            }
        }
        // Stopping. The pull request cannot be withdrawn: until it ends (at most PULL_EXPIRES)
        // the store may still hand messages to it, and one handed to a request no one reads
        // would wait out ack_wait. So read it to its end and keep what comes, to hand
        // back once nothing can receive it again.
        let rest = async {
            while let Some(Ok(message)) = batch.next().await {
                self.left.push(message);
            }
        };
        if tokio::time::timeout(PULL_EXPIRES * 2, rest).await.is_err() {
            tracing::debug!(message = "The last pull request did not end in time.");
        }
        Ok(false)
    }

    /// Queues `released` in order; false (keeping the rest to hand back) when stopping.
    async fn forward(&mut self, released: Vec<Q::Notification>) -> bool {
        let mut released = released.into_iter();
        while let Some(message) = released.next() {
            let permit = tokio::select! {
                permit = self.out.reserve() => permit.ok(),
                () = stopped(&mut self.shutdown) => None,
            };
            match permit {
                Some(permit) if !is_stopped(&self.shutdown) => permit.send(message),
                _ => {
                    self.left.push(message);
                    self.left.extend(released);
                    return false;
                }
            }
        }
        true
    }
}
