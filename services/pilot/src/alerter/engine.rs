//! The alerter's loop: the event log and a clock in, alert events out.
//!
//! # How a transition is recorded exactly once
//!
//! The alerter keeps its own world and [`AlertBook`], rebuilt at start from its checkpoint
//! ([`checkpoint`]) and the events that followed, or from the whole event log
//! (the book's clock follows each event's `occurred_at`, so history yields the transitions it
//! would have yielded live, each stamped with the instant it came due), then advanced to the
//! clock's "now" (so what fell due while no alerter ran comes out, stamped with its due
//! instant). Every transition goes to its own subject on the alert stream with the condition
//! "this subject is still empty" ([`pilot_store::alerts`]). So:
//! - a restart recomputes transitions that are already recorded; it skips those it has read
//!   back from the alert stream, and the server refuses any it had not read yet;
//! - two alerters compute the same transitions at the same instants; the first to record one
//!   wins, the other is told "already recorded" and sends nothing;
//! - nothing is lost in between: a transition leaves the outbox only once the server has
//!   stored it (or said it holds it already). Failed attempts are retried.
//!
//! Acknowledgements and silences are recorded by the API on the same stream. The alerter reads
//! them back and applies them to its book, which then marks later transitions not to be sent
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
//! ([`AlertBook::next_due`], the first entry of an ordered set), so an idle alerter does no
//! work at all, however many approvals are pending.

use super::backfill::BackfillHold;
use super::checkpoint::{self, Loaded, CHECKPOINT_INTERVAL};
use super::clock::Clock;
use super::rules::AlertRules;
use super::stopped;
use crate::metrics::Metrics;
use futures::stream::BoxStream;
use futures::StreamExt;
use pilot_events::{Envelope, Subject};
use pilot_projections::alert::TransitionKind;
use pilot_projections::alerting::record::is_user_action;
use pilot_projections::alerting::{AlertEvent, AlertHistory};
use pilot_projections::{AlertBook, AlertNotice, ProjectionError, World};
use pilot_store::alerts::{AlertMessage, Recorded};
use pilot_store::checkpoint::CheckpointKey;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::{ALERTS_STREAM, EVENTS_STREAM};
use pilot_store::{EventLog, LogError, Stored};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// How long the alerter waits before trying again to record after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often one event may load a chain before the alerter gives up on it: more would mean
/// the log and the world disagree.
const MAX_CHAIN_LOADS: u32 = 3;
/// Who the alerter's own alert events are recorded by.
pub const RECORDED_BY: &str = "alerter";

#[derive(Debug, thiserror::Error)]
pub enum AlerterError {
    #[error("the alerter lost the event log or the alert stream: {0}")]
    Log(#[from] LogError),
    /// The log holds less than the alerter's own checkpoint says it has seen.
    #[error("the alerter will not run on this log: {0}")]
    LogBehind(String),
}

/// The alerter: run it with [`Alerter::run`].
#[derive(Debug)]
pub struct Alerter {
    log: JetStreamLog,
    rules: AlertRules,
    clock: Arc<dyn Clock>,
    metrics: Option<Arc<Metrics>>,
    progress: watch::Sender<Progress>,
    /// Seals and proves its checkpoints; without one it keeps none and replays the log.
    checkpoint_key: Option<CheckpointKey>,
}

/// How far an alerter has come: published whenever everything computed so far is recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The event log position its world and book have reached.
    pub position: u64,
    /// The instant its book was advanced to.
    pub advanced_to: Option<time::OffsetDateTime>,
    /// Alert events it recorded.
    pub recorded: u64,
    /// Alert events it found already recorded (by another alerter, or before a restart).
    pub already_recorded: u64,
    /// Whether it holds its clock while history is back-filled ([`BackfillHold`]).
    pub held: bool,
    /// The event log position of the checkpoint it started from (0: the start of the log).
    pub resumed_from: u64,
}

/// What the alerter knows: its world and book in lock-step, and what is recorded.
struct State {
    world: World,
    book: AlertBook,
    history: AlertHistory,
    /// Transitions computed but not yet recorded, in order.
    outbox: VecDeque<AlertNotice>,
    hold: BackfillHold,
    /// The position of the last checkpoint saved or restored, and when.
    saved_position: u64,
    saved_at: tokio::time::Instant,
}

impl Alerter {
    pub fn new(log: JetStreamLog, rules: AlertRules, clock: Arc<dyn Clock>) -> Self {
        Alerter {
            log,
            rules,
            clock,
            metrics: None,
            progress: watch::Sender::new(Progress::default()),
            checkpoint_key: None,
        }
    }

    /// Keep checkpoints, sealed with `key` ([`pilot_store::checkpoint`]).
    pub fn with_checkpoint_key(mut self, key: CheckpointKey) -> Self {
        self.checkpoint_key = Some(key);
        self
    }

    /// Follows this alerter's [`Progress`] (tests wait on it; nothing else needs to).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Catches up with the log and the clock, records what is due, then follows both until
    /// `shutdown` turns true. Returns after the outbox is recorded, or at shutdown.
    #[tracing::instrument(name = "alerter", skip_all)]
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), AlerterError> {
        let (mut state, mut events, mut alerts) = tokio::select! {
            started = self.start() => started?,
            () = stopped(&mut shutdown) => return Ok(()),
        };
        tracing::info!(
            message = "Alerter caught up.",
            position = state.world.position(),
            open_alerts = state.book.counts().open(),
            to_record = state.outbox.len(),
            next_due = ?state.book.next_due()
        );
        loop {
            if !state.outbox.is_empty() {
                if let Err(error) = self.record(&mut state).await {
                    tracing::warn!(message = "Could not record alert events; trying again.", %error);
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_AFTER) => continue,
                        () = stopped(&mut shutdown) => return Ok(()),
                    }
                }
            }
            self.progress.send_modify(|progress| {
                progress.position = state.world.position();
                progress.advanced_to = state.book.clock();
                progress.held = state.hold.until().is_some();
            });
            let next_due = state.book.next_due();
            let held_until = state.hold.until();
            let due = async {
                match (held_until, next_due) {
                    (Some(until), _) => tokio::time::sleep_until(until).await,
                    (None, Some(at)) => self.clock.sleep_until(at).await,
                    (None, None) => std::future::pending().await,
                }
            };
            tokio::select! {
                event = events.next() => {
                    let stored = event.ok_or_else(|| ended("event log"))??;
                    let (notices, occurred_at) = self.apply_stored(&mut state, &stored).await?;
                    state.outbox.extend(notices);
                    if let Some(occurred_at) = occurred_at {
                        state.hold.saw(occurred_at, self.clock.now());
                    }
                }
                alert = alerts.next() => {
                    let stored = alert.ok_or_else(|| ended("alert stream"))??;
                    if let Some(action) = fold(&mut state.history, &stored) {
                        let notices = apply_user_action(&mut state.book, &action);
                        state.outbox.extend(notices);
                    }
                }
                () = due => {
                    if held_until.is_some() {
                        state.hold.expire();
                    } else {
                        let notices = state.book.advance_to(self.clock.now());
                        state.outbox.extend(notices);
                    }
                }
                () = tokio::time::sleep_until(state.saved_at + CHECKPOINT_INTERVAL) => {
                    self.save(&mut state).await;
                }
                () = stopped(&mut shutdown) => {
                    self.save(&mut state).await;
                    return Ok(());
                }
            }
        }
    }

    /// Reads what is recorded, rebuilds world and book from the checkpoint and the log after
    /// it (or the whole log), applies the recorded acknowledgements and silences the book does
    /// not hold yet, and advances to now. Returns the followed
    /// streams, positioned after what was read.
    async fn start(
        &self,
    ) -> Result<
        (
            State,
            BoxStream<'static, Result<Stored, LogError>>,
            BoxStream<'static, Result<Stored, LogError>>,
        ),
        AlerterError,
    > {
        let mut history = AlertHistory::new();
        let mut actions = Vec::new();
        let mut from = 1;
        loop {
            let batch = self.log.read_alerts(from, 512).await?;
            let Some(last) = batch.last() else { break };
            from = last.position + 1;
            actions.extend(
                batch
                    .iter()
                    .filter_map(|s| fold(&mut history, s).map(|action| (s.position, action))),
            );
        }
        let loaded = match &self.checkpoint_key {
            Some(key) => checkpoint::load(&self.log, &self.rules, key).await,
            None => Loaded::Nothing,
        };
        let (world, book, actions_applied) = match loaded {
            Loaded::Restored(restored) => (restored.world, restored.book, restored.alert_position),
            Loaded::Halt(reason) => return Err(AlerterError::LogBehind(reason)),
            Loaded::Nothing => (World::new(), self.rules.new_book(), 0),
        };
        let resumed_from = world.position();
        if resumed_from > 0 {
            tracing::info!(
                message = "The alerter resumes from its checkpoint.",
                position = resumed_from
            );
        }
        self.progress.send_modify(|p| p.resumed_from = resumed_from);
        let mut state = State {
            world,
            book,
            history,
            outbox: VecDeque::new(),
            hold: BackfillHold::default(),
            saved_position: resumed_from,
            saved_at: tokio::time::Instant::now(),
        };
        let last = self.log.last_position().await?;
        let mut events = self.log.tail(EVENTS_STREAM, resumed_from + 1).await?;
        while state.world.position() < last {
            let stored = events.next().await.ok_or_else(|| ended("event log"))??;
            let (notices, _) = self.apply_stored(&mut state, &stored).await?;
            state.outbox.extend(notices);
        }
        for (_, action) in actions.iter().filter(|(at, _)| *at > actions_applied) {
            let notices = apply_user_action(&mut state.book, action);
            state.outbox.extend(notices);
        }
        let notices = state.book.advance_to(self.clock.now());
        state.outbox.extend(notices);
        let alerts = self
            .log
            .tail(ALERTS_STREAM, state.history.position() + 1)
            .await?;
        Ok((state, events, alerts))
    }

    /// Applies one stored event, loading a chain a restored world needs first.
    async fn apply_stored(
        &self,
        state: &mut State,
        stored: &Stored,
    ) -> Result<(Vec<AlertNotice>, Option<OffsetDateTime>), LogError> {
        for _ in 0..MAX_CHAIN_LOADS {
            match apply_event(state, stored) {
                Applied::Done(notices, occurred_at) => return Ok((notices, occurred_at)),
                Applied::NeedsChain(pilot_id) => {
                    let chain = self.log.read_chain(Subject::Pilot(pilot_id), 0).await?;
                    let chain = chain.iter().map(|s| (s.position, s.bytes.as_ref()));
                    state.world.load_chain(pilot_id, chain);
                }
            }
        }
        Err(LogError::Refused(format!(
            "the chain needed at position {} could not be loaded whole",
            stored.position
        )))
    }

    /// Saves a checkpoint if the world moved since the last one; a failure is only logged
    /// (the next start then reads more of the log). Never while transitions wait in the
    /// outbox: a start from that checkpoint would not compute them again, and they would be
    /// lost.
    async fn save(&self, state: &mut State) {
        if state.world.position() <= state.saved_position || !state.outbox.is_empty() {
            return;
        }
        let Some(key) = &self.checkpoint_key else {
            return;
        };
        let alert_position = state.history.position();
        match checkpoint::save(&self.log, key, &state.world, &state.book, alert_position).await {
            Ok(position) => state.saved_position = position,
            Err(error) => {
                tracing::warn!(message = "Could not save the alerter's checkpoint.", %error)
            }
        }
        state.saved_at = tokio::time::Instant::now();
    }

    /// Records the outbox in order: what is already recorded is dropped, the rest is
    /// published; each notice leaves the outbox once the server has it.
    async fn record(&self, state: &mut State) -> Result<(), LogError> {
        let recorded_at = self.clock.now();
        let mut batch = Vec::new();
        for notice in state.outbox.iter() {
            if is_user_action(&notice.transition.kind) {
                continue;
            }
            let event = AlertEvent::new(notice.clone(), recorded_at, RECORDED_BY);
            let subject = event.subject();
            if state.history.is_recorded(&subject) {
                continue;
            }
            let bytes = serde_json::to_vec(&event)
                .map_err(|e| LogError::Refused(format!("alert event does not serialize: {e}")))?;
            batch.push((
                event,
                AlertMessage {
                    subject,
                    bytes: bytes.into(),
                },
            ));
        }
        let messages: Vec<AlertMessage> = batch.iter().map(|(_, m)| m.clone()).collect();
        let results = self.log.record_alerts(&messages).await?;
        for ((event, _), result) in batch.iter().zip(results) {
            match result {
                Recorded::Stored { position } => {
                    state.history.apply(position, event);
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
        state.outbox.clear();
        Ok(())
    }
}

fn ended(what: &str) -> LogError {
    LogError::Unavailable(format!("the {what} consumer ended"))
}

/// What applying one stored event came to.
enum Applied {
    /// The transitions it brought, and when the event occurred (none for an undecodable one).
    Done(Vec<AlertNotice>, Option<OffsetDateTime>),
    /// A world restored from a checkpoint must load this pilot's chain first; nothing changed.
    NeedsChain(Uuid),
}

/// Applies one stored event to world and book in lock-step. An event the world refuses counts
/// for nothing, as in the projector.
fn apply_event(state: &mut State, stored: &Stored) -> Applied {
    let envelope: Envelope = match pilot_events::decode(&stored.bytes) {
        Ok(envelope) => envelope,
        Err(_) => {
            // The projector quarantines it; the world still moves past its position.
            let _ = state.world.apply_stored(stored.position, &stored.bytes);
            return Applied::Done(Vec::new(), None);
        }
    };
    let occurred_at = envelope.occurred_at;
    let notices = match state
        .book
        .apply(&mut state.world, stored.position, envelope)
    {
        Ok(observed) => {
            for refusal in observed.refusals {
                tracing::info!(
                    message = "The alert rules refused an extension the log accepted.",
                    alert_id = %refusal.alert_id,
                    event_id = %refusal.event_id,
                    reason = %refusal.error
                );
            }
            observed.notices
        }
        Err(ProjectionError::NeedsChain { pilot_id, .. }) => return Applied::NeedsChain(pilot_id),
        Err(error) => {
            tracing::debug!(message = "Event refused by the world; no alert change.", position = stored.position, %error);
            Vec::new()
        }
    };
    Applied::Done(notices, Some(occurred_at))
}

/// Folds a stored alert event; returns it if it is a user action seen for the first time.
fn fold(history: &mut AlertHistory, stored: &Stored) -> Option<AlertEvent> {
    super::feed::fold(history, stored).filter(AlertEvent::is_user_action)
}

/// Applies a recorded acknowledgement or silence to the book, so that later transitions are
/// marked not to be sent. Refusals (the alert resolved meanwhile) change nothing.
fn apply_user_action(book: &mut AlertBook, action: &AlertEvent) -> Vec<AlertNotice> {
    let notice = &action.notice;
    let at = notice.transition.at;
    let result = match &notice.transition.kind {
        TransitionKind::Acknowledged { user } => book.acknowledge(
            notice.alert_id,
            user,
            at,
            action.note.as_deref().unwrap_or(""),
        ),
        TransitionKind::Silenced { until, reason } => {
            book.silence(notice.alert_id, &action.recorded_by, at, *until, reason)
        }
        _ => return Vec::new(),
    };
    result.unwrap_or_else(|error| {
        tracing::debug!(message = "The alert book did not take a recorded user action.", alert_id = %notice.alert_id, %error);
        Vec::new()
    })
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
