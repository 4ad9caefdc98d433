//! The alerter: a timer and an outbox over the process's one fold.
//!
//! # How a transition is recorded exactly once
//!
//! The process's projection ([`pilot_runtime::runtime`]) keeps the world and the [`AlertBook`](pilot_projections::AlertBook)
//! in lock-step: the book is fed right after the world applies each event, and it is restored
//! with the world from the one checkpoint. The transitions it computes wait in the fold's outbox
//! ([`AlertFold`](pilot_runtime::alert_fold::AlertFold)) until this alerter has recorded them.
//! Each transition goes to its own subject on the alert stream with the condition "this subject
//! is still empty" ([`pilot_store::alerts`]). So:
//! - a restart recomputes transitions that are already recorded; the alerter skips those the
//!   alert stream's follower has folded, and the server refuses any it had not read yet;
//! - two alerters compute the same transitions at the same instants; the first to record one
//!   wins, the other is told "already recorded" and sends nothing;
//! - nothing is lost in between: a transition leaves the outbox only once the server has
//!   stored it (or said it holds it already), and no checkpoint is saved while the outbox holds
//!   any. Failed attempts are retried.
//!
//! Acknowledgements and silences are recorded by the API on the same stream; the follower
//! applies them to the book, which then marks later transitions not to be sent
//! (`notify: false`); the transitions themselves are recorded either way.
//!
//! # History fed live
//!
//! An event that occurred well before "now" (an import, the demo history, a late entry) is
//! applied at its own instant. While such events keep arriving, the alerter holds its clock
//! ([`BackfillHold`]): advancing to "now" between a back-filled request and its back-filled
//! decision would record escalations for a wait that in fact ended decades ago.
//!
//! # Timers
//!
//! Between events, the loop sleeps until the book's next due instant
//! ([`AlertBook::next_due`](pilot_projections::AlertBook::next_due), the first entry of an ordered set), so an idle alerter does no
//! work at all, however many approvals are pending.

use super::backfill::BackfillHold;
use super::clock::Clock;
use super::stopped;
use pilot_metrics::Metrics;
use pilot_projections::alerting::record::is_user_action;
use pilot_projections::alerting::AlertEvent;
use pilot_projections::AlertNotice;
use pilot_runtime::projection::Projection;
use pilot_store::alerts::{AlertMessage, Recorded};
use pilot_store::{AlertLog, EventLog, LogError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long the alerter waits before trying again to record after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often a start reports that it still waits for the fold to catch up.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Who the alerter's own alert events are recorded by.
pub const RECORDED_BY: &str = "alerter";

#[derive(Debug, thiserror::Error)]
pub enum AlerterError {
    #[error("the alerter lost the event log or the alert stream: {0}")]
    Log(#[from] LogError),
}

/// The alerter: run it with [`Alerter::run`]. Generic over the logs, so tests run it on the
/// in-memory ones as well as on JetStream.
#[derive(Debug)]
pub struct Alerter<L> {
    log: Arc<L>,
    projection: Arc<Projection>,
    clock: Arc<dyn Clock>,
    metrics: Option<Arc<Metrics>>,
    progress: watch::Sender<Progress>,
}

/// How far an alerter has come: published whenever everything computed so far is recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The event log position whose transitions are all recorded.
    pub position: u64,
    /// The instant the book was advanced to.
    pub advanced_to: Option<time::OffsetDateTime>,
    /// Alert events it recorded.
    pub recorded: u64,
    /// Alert events it found already recorded (by another alerter, or before a restart).
    pub already_recorded: u64,
    /// Whether it holds its clock while history is back-filled ([`BackfillHold`]).
    pub held: bool,
    /// The event log position of the checkpoint the fold started from (0: the start of the log).
    pub resumed_from: u64,
}

impl<L: EventLog + AlertLog> Alerter<L> {
    /// An alerter over `projection`'s book, recording on `log`'s alert stream. The projection
    /// must collect transitions from its start (see [`pilot_runtime::runtime::RuntimeOptions`]);
    /// this turns it on in case it does not yet.
    pub fn new(log: Arc<L>, projection: Arc<Projection>, clock: Arc<dyn Clock>) -> Self {
        projection.with_alerts(|alerts| alerts.collect());
        Alerter {
            log,
            projection,
            clock,
            metrics: None,
            progress: watch::Sender::new(Progress::default()),
        }
    }

    /// Follows this alerter's [`Progress`] (tests wait on it; nothing else needs to).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Waits for the fold to catch up with both logs, records what is due, then follows the
    /// fold and the clock until `shutdown` turns true.
    #[tracing::instrument(name = "alerter", skip_all)]
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), AlerterError> {
        tokio::select! {
            started = self.start() => started?,
            () = stopped(&mut shutdown) => return Ok(()),
        };
        let mut positions = self.projection.subscribe();
        let mut recorded = self.projection.subscribe_alerts();
        let mut hold = BackfillHold::default();
        loop {
            if let Err(error) = self.record().await {
                tracing::warn!(message = "Could not record alert events; trying again.", %error);
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_AFTER) => continue,
                    () = stopped(&mut shutdown) => return Ok(()),
                }
            }
            self.progress
                .send_modify(|progress| progress.held = hold.until().is_some());
            let next_due = self.projection.read().alerts().book().next_due();
            let held_until = hold.until();
            let due = async {
                match (held_until, next_due) {
                    (Some(until), _) => tokio::time::sleep_until(until).await,
                    (None, Some(at)) => self.clock.sleep_until(at).await,
                    (None, None) => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = positions.changed() => {
                    if changed.is_err() {
                        return Err(ended("event log"));
                    }
                    let earliest = self.projection.with_alerts(|a| a.take_earliest_occurred());
                    if let Some(occurred_at) = earliest {
                        hold.saw(occurred_at, self.clock.now());
                    }
                }
                changed = recorded.changed() => {
                    if changed.is_err() {
                        return Err(ended("alert stream"));
                    }
                }
                () = due => {
                    if held_until.is_some() {
                        hold.expire();
                    } else {
                        self.advance();
                    }
                }
                () = stopped(&mut shutdown) => return Ok(()),
            }
        }
    }

    /// Waits until the fold has caught up with the event log and the alert stream as they are
    /// now (so what is recorded already is known), then advances the book to now.
    async fn start(&self) -> Result<(), AlerterError> {
        let resumed_from = self.projection.resumed_from();
        self.progress.send_modify(|p| p.resumed_from = resumed_from);
        let last = self.log.last_position().await?;
        while !self.projection.wait_for(last, PROGRESS_EVERY).await {
            tracing::info!(
                message = "The alerter waits for the projections to catch up.",
                position = self.projection.position(),
                to = last
            );
        }
        let last_alert = self.log.last_alert_position().await?;
        while !self
            .projection
            .wait_for_alerts(last_alert, PROGRESS_EVERY)
            .await
        {
            tracing::info!(
                message = "The alerter waits for the alert stream to be read.",
                position = self.projection.alert_position(),
                to = last_alert
            );
        }
        // History read at start-up is not history fed live: no hold for it.
        self.projection
            .with_alerts(|alerts| alerts.take_earliest_occurred());
        self.advance();
        let (open_alerts, to_record, next_due) = {
            let fold = self.projection.read();
            let book = fold.alerts().book();
            (
                book.counts().open(),
                fold.alerts().outbox().len(),
                book.next_due(),
            )
        };
        tracing::info!(
            message = "Alerter caught up.",
            position = self.projection.position(),
            resumed_from,
            open_alerts,
            to_record,
            next_due = next_due.map(pilot_events::rfc3339).as_deref()
        );
        Ok(())
    }

    /// Moves the book to the clock's now.
    fn advance(&self) {
        let now = self.clock.now();
        let advanced_to = self.projection.with_alerts(|alerts| {
            alerts.advance_to(now);
            alerts.book().clock()
        });
        self.progress
            .send_modify(|progress| progress.advanced_to = advanced_to);
    }

    /// Records the outbox in order: what is already recorded is dropped, the rest is
    /// published; the notices leave the outbox once the server has them all.
    async fn record(&self) -> Result<(), LogError> {
        let (position, pending) = self.pending();
        if pending.is_empty() {
            self.progress
                .send_modify(|p| p.position = p.position.max(position));
            return Ok(());
        }
        let recorded_at = self.clock.now();
        let mut batch = Vec::new();
        {
            let fold = self.projection.read();
            for notice in &pending {
                if is_user_action(&notice.transition.kind) {
                    continue;
                }
                let event = AlertEvent::new(notice.clone(), recorded_at, RECORDED_BY);
                let subject = event.subject();
                if fold.alerts().recorded().is_recorded(&subject) {
                    continue;
                }
                let bytes = serde_json::to_vec(&event).map_err(|e| {
                    LogError::Refused(format!("alert event does not serialize: {e}"))
                })?;
                batch.push((
                    event,
                    AlertMessage {
                        subject,
                        bytes: bytes.into(),
                    },
                ));
            }
        }
        let messages: Vec<AlertMessage> = batch.iter().map(|(_, m)| m.clone()).collect();
        let results = self.log.record_alerts(&messages).await?;
        for ((event, _), result) in batch.iter().zip(results) {
            match result {
                Recorded::Stored { .. } => {
                    self.progress.send_modify(|p| p.recorded += 1);
                    log_recorded(event);
                    if let Some(metrics) = &self.metrics {
                        metrics.alert_recorded(event.kind());
                    }
                }
                Recorded::AlreadyRecorded => {
                    self.progress.send_modify(|p| p.already_recorded += 1);
                    tracing::debug!(message = "Alert event was already recorded.", subject = %event.subject());
                    if let Some(metrics) = &self.metrics {
                        metrics.alert_already_recorded();
                    }
                }
            }
        }
        self.projection
            .with_alerts(|alerts| alerts.settled(pending.len()));
        self.progress
            .send_modify(|p| p.position = p.position.max(position));
        Ok(())
    }

    /// The outbox, and the event log position it reflects, read under one lock.
    fn pending(&self) -> (u64, Vec<AlertNotice>) {
        let fold = self.projection.read();
        let pending = fold.alerts().outbox().iter().cloned().collect();
        (fold.position(), pending)
    }
}

fn ended(what: &str) -> AlerterError {
    AlerterError::Log(LogError::Unavailable(format!("the {what} follower ended")))
}

/// The log sink: one line per recorded transition, with what a reader needs to act.
fn log_recorded(event: &AlertEvent) {
    let notice = &event.notice;
    tracing::info!(
        message = "Alert recorded.",
        kind = event.kind(),
        alert_id = %notice.alert_id,
        pilot = %notice.pilot_title,
        pilot_id = %notice.pilot_id,
        approval_id = %notice.approval_id,
        approver = notice.approver_name.as_deref().unwrap_or("(unnamed)"),
        level = %notice.level,
        waited_days = notice.waited_days,
        threshold_days = notice.threshold.days,
        last_activity = %notice.last_activity,
        due = %notice.transition.at,
        notify = notice.transition.notify
    );
}
