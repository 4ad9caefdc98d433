//! The alert book: every stalled-approval alert, fed by the events of the log and by clock values
//! passed in (docs/domain.md, "Stalled approvals and alerts"). It is the core that the alerter service,
//! `GET /api/v1/alerts` and `pilot replay` share; each [`Alert`] is the per-wait state machine of
//! [`crate::alert`].
//!
//! # Feeding it
//!
//! The book learns of waits from the [`World`](crate::World), the single source of truth for
//! which request a decision answers: it reads the pilot's pending and decided approvals instead of
//! matching approvals itself. Call [`AlertBook::apply`] (world and book in lock-step), or
//! [`AlertBook::observe`] right after `World::apply` returned `Applied::Applied` for that envelope
//! and before the next one, so the world shows the pilot as it is right after it. For every event
//! at instant `t` (its `occurred_at`, world time) the book:
//! 1. catches up: advances every alert due by `t`, so transitions come out in time order and a
//!    resolution at `t` reports the whole wait;
//! 2. for an event that can change a pilot's approvals (`approval.*`, `pilot.merged`,
//!    `pilot.terminated`, `event.retracted`), reconciles that pilot's open alerts with its pending
//!    approvals in the world:
//!    - a pending approval without an alert opens one; its id is the request's event id. It
//!      is followed (timers) from the request on, but is **an alert only once it reaches its
//!      warning**: until then it gives no notice, is in no list, view or count, and cannot be
//!      acknowledged or silenced. A wait resolved before its warning is forgotten without a
//!      trace (the pilot shows it as a decided approval with its wait);
//!    - more `extra_days` in the world than in the alert: [`Alert::extend`]; if the book refuses
//!      (its rules say the approval already stalled), the refusal is reported in
//!      [`Observed::refusals`] and remembered, not retried;
//!    - an alert whose wait is no longer pending is resolved at `t`, for the outcome the pilot
//!      recorded (granted, denied, withdrawn; the pilot merged or terminated).
//!
//! # Retractions
//!
//! `event.retracted` refolds the pilot in the world; the book then reconciles as above, so:
//! - a retracted request resolves its open alert with reason `retracted`;
//! - a retracted extension takes the days off the alert ([`Alert::retract_extension`]);
//! - a retracted decision (or merge, or termination) makes the wait pending again. If the wait
//!   had been decided before its warning, no alert ever carried its id and the wait gets a
//!   plain alert with the request's id again. Otherwise its alert was
//!   resolved and never reopens, so a **successor** alert follows the same request (same
//!   `requested_at`, so the same stall instants). Its id is derived from the retraction's and the
//!   request's event ids (a version-8 UUID), so a replay gives the same id. It catches up at once:
//!   where it stands after the wait was wrongly thought decided comes out stamped with its own,
//!   earlier instant. That is the one case where output is not in time order.
//!
//! # Timers
//!
//! Open alerts sit in a `BTreeSet` of `(next_due, alert_id)`, so [`AlertBook::advance_to`] wakes
//! only the alerts that are due and moves each to where it stands at the new instant (one
//! transition per alert at most: a jump past several due instants records the latest, see
//! [`Alert::advance`]); the notices come out in time order, ties by alert id, and
//! [`AlertBook::next_due`] says when to wake next. No timer is ever stale: an alert's entry is
//! moved whenever it changes.
//!
//! Events whose `occurred_at` lies before the book's clock (back-filled history fed live) are
//! applied at their own instant; alerts they open catch up at the next `advance_to`.
//!
//! # Rules per pilot
//!
//! The book has default [`StallRules`] and, optionally, rules for single pilots
//! ([`AlertBook::with_overrides`]): an alert follows the rules of its own pilot, for its
//! timers, its extensions, its notices and its views, except where its request recorded its
//! terms (`data.stall`): then the recorded threshold and day count apply
//! ([`crate::stall::schedule`]), so the alert stalls where the log says. The world judges
//! extensions by the log alone; where the book would judge otherwise (a request stored without
//! a record, under rules other than schema 1's), it reports what it refuses
//! ([`Observed::refusals`]).
//!
//! The book is serializable as a whole (a checkpoint, overrides included); timers and counts are
//! rebuilt on load.

use crate::alert::{Alert, AlertError, AlertState, Transition, TransitionKind};
use crate::stall::StallRules;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

mod feed;
pub mod record;
mod replay;
mod view;

pub use record::{AlertEvent, AlertHistory, RecordedAlert};
pub use replay::{replay, replay_book, Replay};
pub use view::{AlertNotice, AlertView, DayUnit, StateCounts, StateKind, Threshold};

/// Why the book refused a user action.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    #[error(
        "alert {alert_id} does not exist: alert ids are the ids of `approval.requested` events"
    )]
    UnknownAlert { alert_id: Uuid },
    /// The alert refused (resolved, not raised, already acknowledged, no reason, ...).
    #[error(transparent)]
    Alert(#[from] AlertError),
}

impl BookError {
    /// A stable, machine-readable name for the error (API error codes, metrics labels).
    pub fn code(&self) -> &'static str {
        match self {
            BookError::UnknownAlert { .. } => "unknown_alert",
            BookError::Alert(error) => match error {
                AlertError::Resolved { .. } => "alert_resolved",
                AlertError::AlreadyStalled { .. } => "approval_stalled",
                AlertError::NoExtraDays => "no_extra_days",
                AlertError::NotRaised { .. } => "alert_not_raised",
                AlertError::AlreadyAcknowledged { .. } => "alert_already_acknowledged",
                AlertError::NoUser => "no_user",
                AlertError::NoSilenceReason => "no_silence_reason",
                AlertError::SilenceNotAfterStart { .. } => "silence_not_after_start",
            },
        }
    }
}

/// An alert operation that an event called for and the book refused: the event stands (the
/// world accepted it), the alert is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRefusal {
    pub alert_id: Uuid,
    /// The event that called for it.
    pub event_id: Uuid,
    pub error: AlertError,
}

/// What feeding one event produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// In order: catch-up to the event's instant, then what the event did.
    pub notices: Vec<AlertNotice>,
    pub refusals: Vec<AlertRefusal>,
    /// When the event occurred (none when nothing was applied).
    pub occurred_at: Option<OffsetDateTime>,
}

/// A user's action on an alert, kept with it (the alert keeps the state, this the who and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserAction {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: String,
    #[serde(flatten)]
    pub action: UserActionKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UserActionKind {
    Acknowledged {
        note: String,
    },
    Silenced {
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
        reason: String,
    },
}

/// One alert with what the book keeps beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    alert: Alert,
    /// The approver's registered name when the alert opened (an approver is best a post).
    approver_name: Option<String>,
    /// Extension days the world accepted but this book refused (its rules stalled the
    /// approval earlier), so the difference is not asked for again at every event.
    refused_extra_days: u32,
    actions: Vec<UserAction>,
    /// The instant this alert's timer is filed under; derived, rebuilt on load.
    #[serde(skip)]
    due: Option<OffsetDateTime>,
}

/// What notices need of a pilot when no world is at hand (timer wake-ups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PilotContext {
    title: String,
    /// `occurred_at` of the pilot's latest event, as the world's projection has it.
    #[serde(with = "time::serde::rfc3339")]
    last_activity: OffsetDateTime,
}

/// Every alert, open and resolved, with timers for the open ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "BookState")]
pub struct AlertBook {
    rules: StallRules,
    /// Rules for single pilots, in place of `rules`. Left out of a checkpoint when empty, so
    /// checkpoints of books without overrides keep their shape.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    overrides: BTreeMap<Uuid, StallRules>,
    /// The latest instant the book was advanced to (events and `advance_to`).
    #[serde(with = "time::serde::rfc3339::option")]
    clock: Option<OffsetDateTime>,
    alerts: BTreeMap<Uuid, Entry>,
    pilots: BTreeMap<Uuid, PilotContext>,
    #[serde(skip)]
    open_by_pilot: BTreeMap<Uuid, BTreeSet<Uuid>>,
    #[serde(skip)]
    timers: BTreeSet<(OffsetDateTime, Uuid)>,
    #[serde(skip)]
    counts: StateCounts,
    /// Alerts woken by timers since this book was built or loaded (for tests and metrics).
    #[serde(skip)]
    wakeups: u64,
}

/// The stored part of an [`AlertBook`]; loading rebuilds the rest.
#[derive(Deserialize)]
struct BookState {
    rules: StallRules,
    #[serde(default)]
    overrides: BTreeMap<Uuid, StallRules>,
    #[serde(with = "time::serde::rfc3339::option")]
    clock: Option<OffsetDateTime>,
    alerts: BTreeMap<Uuid, Entry>,
    pilots: BTreeMap<Uuid, PilotContext>,
}

impl From<BookState> for AlertBook {
    fn from(state: BookState) -> Self {
        let mut book = AlertBook {
            rules: state.rules,
            overrides: state.overrides,
            clock: state.clock,
            alerts: state.alerts,
            pilots: state.pilots,
            ..AlertBook::new(StallRules::default())
        };
        book.rebuild_index();
        book
    }
}

impl Default for AlertBook {
    /// An empty book under the default stall rules.
    fn default() -> Self {
        AlertBook::new(StallRules::default())
    }
}

impl AlertBook {
    /// An empty book. Use the world's rules (and overrides): the world refuses late extensions
    /// by its rules, the book by its own.
    pub fn new(rules: StallRules) -> Self {
        AlertBook::with_overrides(rules, BTreeMap::new())
    }

    /// An empty book whose pilots in `overrides` follow their own rules instead of `rules`
    /// (a pilot with a tighter deadline, or one counted in another jurisdiction's working days).
    pub fn with_overrides(rules: StallRules, overrides: BTreeMap<Uuid, StallRules>) -> Self {
        AlertBook {
            rules,
            overrides,
            clock: None,
            alerts: BTreeMap::new(),
            pilots: BTreeMap::new(),
            open_by_pilot: BTreeMap::new(),
            timers: BTreeSet::new(),
            counts: StateCounts::default(),
            wakeups: 0,
        }
    }

    /// The default rules: those of every pilot without an override.
    pub fn rules(&self) -> &StallRules {
        &self.rules
    }

    /// The rules for single pilots.
    pub fn overrides(&self) -> &BTreeMap<Uuid, StallRules> {
        &self.overrides
    }

    /// The rules `pilot_id`'s alerts follow: its override, or the default.
    pub fn pilot_rules(&self, pilot_id: &Uuid) -> &StallRules {
        rules_for(&self.rules, &self.overrides, pilot_id)
    }

    /// New default rules (a configuration change): open alerts follow them from now on.
    pub fn set_rules(&mut self, rules: StallRules) {
        self.rules = rules;
        self.rebuild_index();
    }

    /// New per-pilot rules (a configuration change), replacing all earlier ones: open alerts
    /// follow them from now on; a pilot left out goes back to the default.
    pub fn set_overrides(&mut self, overrides: BTreeMap<Uuid, StallRules>) {
        self.overrides = overrides;
        self.rebuild_index();
    }

    /// The latest instant the book was advanced to.
    pub fn clock(&self) -> Option<OffsetDateTime> {
        self.clock
    }

    /// When the next transition falls due: when an alerter should wake.
    pub fn next_due(&self) -> Option<OffsetDateTime> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Alerts woken by timers since the book was built or loaded: work done by `advance_to`.
    pub fn wakeups(&self) -> u64 {
        self.wakeups
    }

    /// Where each alert due by `now` stands, once per alert: its latest transition (see
    /// [`Alert::advance`]: a clock that jumps past several of an alert's due instants records
    /// only the last), in time order (ties by alert id). Costs work for the alerts that are
    /// due, not for all open alerts.
    pub fn advance_to(&mut self, now: OffsetDateTime) -> Vec<AlertNotice> {
        self.clock = Some(self.clock.map_or(now, |clock| clock.max(now)));
        let mut out = Vec::new();
        while let Some(&(due, id)) = self.timers.first() {
            if due > now {
                break;
            }
            self.wakeups += 1;
            let transitions = self
                .change(id, |alert, rules| alert.advance(rules, now))
                .unwrap_or_default();
            self.notify(id, transitions, &mut out);
            // An alert must move past `now`; if it did not (an instant past representable
            // time), park it rather than wake it forever. Any event on its pilot files it again.
            if let Some(entry) = self.alerts.get_mut(&id) {
                if let Some(next) = entry.due.filter(|next| *next <= now) {
                    self.timers.remove(&(next, id));
                    entry.due = None;
                }
            } else {
                self.timers.remove(&(due, id));
            }
        }
        // Alerts are woken by their first due instant but stamped with their latest one.
        out.sort_by_key(|notice| (notice.transition.at, notice.alert_id));
        out
    }

    /// `by` takes the alert in hand at `at` (stops re-sends; escalations are still recorded).
    /// The book first catches up to `at`. A refused acknowledgement changes nothing.
    pub fn acknowledge(
        &mut self,
        alert_id: Uuid,
        by: &str,
        at: OffsetDateTime,
        note: &str,
    ) -> Result<Vec<AlertNotice>, BookError> {
        let action = UserActionKind::Acknowledged {
            note: note.to_string(),
        };
        self.user_action(alert_id, by, at, action, |alert, rules| {
            alert.acknowledge(rules, at, by)
        })
    }

    /// `by` silences the alert from `at` until `until` for `reason`: transitions in between
    /// are recorded but not sent. The book first catches up to `at`.
    pub fn silence(
        &mut self,
        alert_id: Uuid,
        by: &str,
        at: OffsetDateTime,
        until: OffsetDateTime,
        reason: &str,
    ) -> Result<Vec<AlertNotice>, BookError> {
        let action = UserActionKind::Silenced {
            until,
            reason: reason.to_string(),
        };
        self.user_action(alert_id, by, at, action, |alert, rules| {
            alert.silence(rules, at, until, reason)
        })
    }

    /// Applies a recorded acknowledgement or silence (read back from the alert stream) at its
    /// own instant, so that later transitions are marked not to be sent; any other alert event
    /// changes nothing. The counterpart of [`AlertBook::user_action_event`].
    pub fn apply_recorded_action(
        &mut self,
        event: &AlertEvent,
    ) -> Result<Vec<AlertNotice>, BookError> {
        let notice = &event.notice;
        let at = notice.transition.at;
        match &notice.transition.kind {
            TransitionKind::Acknowledged { user } => self.acknowledge(
                notice.alert_id,
                user,
                at,
                event.note.as_deref().unwrap_or(""),
            ),
            TransitionKind::Silenced { until, reason } => {
                self.silence(notice.alert_id, &event.recorded_by, at, *until, reason)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The alert event recording `by`'s `action` at `at`, as the book will apply it when it
    /// reads the event back: judged by the alert's own state machine ([`Alert::acknowledge`],
    /// [`Alert::silence`], which first catch the alert up to `at`), on a copy, so the book is
    /// unchanged. The API asks this before recording a user action: one rulebook decides both
    /// what may be recorded and what the recorded action does.
    pub fn user_action_event(
        &self,
        alert_id: Uuid,
        by: &str,
        at: OffsetDateTime,
        action: &UserActionKind,
    ) -> Result<AlertEvent, BookError> {
        let entry = self
            .alerts
            .get(&alert_id)
            .ok_or(BookError::UnknownAlert { alert_id })?;
        let rules = self.pilot_rules(&entry.alert.pilot_id());
        let mut alert = entry.alert.clone();
        let transitions = match action {
            UserActionKind::Acknowledged { .. } => alert.acknowledge(rules, at, by),
            UserActionKind::Silenced { until, reason } => alert.silence(rules, at, *until, reason),
        }?;
        // The action's own transition comes last, after what catching up to `at` brought.
        let transition = transitions
            .into_iter()
            .next_back()
            .ok_or(BookError::UnknownAlert { alert_id })?;
        let pilot = self.pilots.get(&alert.pilot_id());
        let notice = AlertNotice::new(
            &alert,
            entry.approver_name.as_deref(),
            pilot.map(|p| (p.title.as_str(), p.last_activity)),
            rules,
            transition,
        );
        let mut event = AlertEvent::new(notice, at, by);
        if let UserActionKind::Acknowledged { note } = action {
            event.note = Some(note.clone()).filter(|n| !n.trim().is_empty());
        }
        Ok(event)
    }

    fn user_action(
        &mut self,
        alert_id: Uuid,
        by: &str,
        at: OffsetDateTime,
        action: UserActionKind,
        act: impl Fn(&mut Alert, &StallRules) -> Result<Vec<Transition>, AlertError>,
    ) -> Result<Vec<AlertNotice>, BookError> {
        // A wait not yet raised is found, not refused as unknown: the action may lie past its
        // warning (an acknowledgement read back before the book advanced to it), and the
        // alert catches up before it judges (`AlertError::NotRaised` otherwise).
        let entry = self
            .alerts
            .get(&alert_id)
            .ok_or(BookError::UnknownAlert { alert_id })?;
        // A dry run on a copy, so that a refusal leaves even the clock alone.
        act(
            &mut entry.alert.clone(),
            self.pilot_rules(&entry.alert.pilot_id()),
        )?;
        let mut out = self.advance_to(at);
        let transitions = self
            .change(alert_id, |alert, rules| act(alert, rules))
            .ok_or(BookError::UnknownAlert { alert_id })??;
        if let Some(entry) = self.alerts.get_mut(&alert_id) {
            entry.actions.push(UserAction {
                at,
                by: by.to_string(),
                action,
            });
        }
        self.notify(alert_id, transitions, &mut out);
        Ok(out)
    }

    /// One alert by id, open or resolved; `None` for a wait that has not reached its warning
    /// (it is no alert yet, see [`crate::alert`]).
    pub fn get(&self, alert_id: &Uuid) -> Option<AlertView> {
        self.alerts
            .get(alert_id)
            .filter(|entry| entry.alert.is_raised())
            .map(|entry| self.view(entry))
    }

    /// Alerts in `state`, by alert id (request ids are v7 UUIDs, so roughly by request time).
    /// Walks every alert: a query, not the timer path.
    pub fn by_state(&self, state: StateKind) -> impl Iterator<Item = AlertView> + '_ {
        self.alerts
            .values()
            .filter(move |entry| listed_as(&entry.alert) == Some(state))
            .map(|entry| self.view(entry))
    }

    /// Every alert, by alert id: the waits that reached their warning, as the alert stream
    /// records them.
    pub fn all(&self) -> impl Iterator<Item = AlertView> + '_ {
        self.alerts
            .values()
            .filter(|entry| entry.alert.is_raised())
            .map(|entry| self.view(entry))
    }

    /// How many alerts are in each state (kept up to date, not counted on demand). Waits that
    /// have not reached their warning are not alerts and are not counted, so these are the
    /// counts of the recorded alerts ([`AlertHistory::counts`]).
    pub fn counts(&self) -> StateCounts {
        self.counts
    }

    /// How many alerts the book lists (see [`AlertBook::counts`]).
    pub fn len(&self) -> usize {
        usize::try_from(self.counts.open() + self.counts.resolved).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets alerts resolved before `before`, to bound the book's size; returns how many.
    pub fn prune_resolved(&mut self, before: OffsetDateTime) -> usize {
        let len = self.alerts.len();
        self.alerts.retain(|_, entry| {
            !matches!(entry.alert.state(), AlertState::Resolved { at, .. } if *at < before)
        });
        let pruned = len - self.alerts.len();
        self.counts.resolved = self.counts.resolved.saturating_sub(pruned as u64);
        pruned
    }

    /// Runs `f` on one alert and keeps counts, the pilot index and the alert's timer in step.
    /// `None` for an unknown id.
    fn change<T>(&mut self, id: Uuid, f: impl FnOnce(&mut Alert, &StallRules) -> T) -> Option<T> {
        let entry = self.alerts.get_mut(&id)?;
        // Field by field, not `self.pilot_rules`: `entry` borrows `self.alerts` mutably.
        let rules = rules_for(&self.rules, &self.overrides, &entry.alert.pilot_id());
        let before = listed_as(&entry.alert);
        let out = f(&mut entry.alert, rules);
        let after = listed_as(&entry.alert);
        self.counts.shift(before, after);
        let next = entry.alert.next_due(rules);
        if entry.due != next {
            if let Some(old) = entry.due {
                self.timers.remove(&(old, id));
            }
            if let Some(next) = next {
                self.timers.insert((next, id));
            }
            entry.due = next;
        }
        if entry.alert.is_resolved() {
            let pilot_id = entry.alert.pilot_id();
            if !entry.alert.is_raised() {
                self.alerts.remove(&id);
            }
            if let Some(open) = self.open_by_pilot.get_mut(&pilot_id) {
                open.remove(&id);
                if open.is_empty() {
                    self.open_by_pilot.remove(&pilot_id);
                }
            }
        }
        Some(out)
    }

    fn notify(&self, id: Uuid, transitions: Vec<Transition>, out: &mut Vec<AlertNotice>) {
        let Some(entry) = self.alerts.get(&id) else {
            return;
        };
        let pilot = self.pilots.get(&entry.alert.pilot_id());
        let rules = self.pilot_rules(&entry.alert.pilot_id());
        out.extend(transitions.into_iter().map(|transition| {
            AlertNotice::new(
                &entry.alert,
                entry.approver_name.as_deref(),
                pilot.map(|p| (p.title.as_str(), p.last_activity)),
                rules,
                transition,
            )
        }));
    }

    fn view(&self, entry: &Entry) -> AlertView {
        let pilot = self.pilots.get(&entry.alert.pilot_id());
        AlertView {
            alert_id: entry.alert.alert_id(),
            pilot_id: entry.alert.pilot_id(),
            pilot_title: pilot.map(|p| p.title.clone()).unwrap_or_default(),
            approval: entry.alert.approval().clone(),
            approver_name: entry.approver_name.clone(),
            state: entry.alert.state().clone(),
            acknowledged: entry.alert.acknowledged().cloned(),
            silences: entry.alert.silences().to_vec(),
            actions: entry.actions.clone(),
            threshold: Threshold::of(
                entry.alert.approval(),
                self.pilot_rules(&entry.alert.pilot_id()),
            ),
            next_due: entry.due,
            last_activity: pilot.map_or(entry.alert.approval().requested_at, |p| p.last_activity),
        }
    }

    /// Rebuilds the derived parts (pilot index, timers, counts) from the alerts.
    fn rebuild_index(&mut self) {
        self.open_by_pilot.clear();
        self.timers.clear();
        self.counts = StateCounts::default();
        for (id, entry) in &mut self.alerts {
            self.counts.shift(None, listed_as(&entry.alert));
            let rules = rules_for(&self.rules, &self.overrides, &entry.alert.pilot_id());
            entry.due = entry.alert.next_due(rules);
            if let Some(due) = entry.due {
                self.timers.insert((due, *id));
            }
            if !entry.alert.is_resolved() {
                let pilot = entry.alert.pilot_id();
                self.open_by_pilot.entry(pilot).or_default().insert(*id);
            }
        }
    }
}

/// The state `alert` is listed and counted under; `None` while it is a wait that has not
/// reached its warning, which is no alert.
fn listed_as(alert: &Alert) -> Option<StateKind> {
    alert.is_raised().then(|| StateKind::of(alert.state()))
}

/// The rules of `pilot_id`: its override, or `default`. A free function so that callers can
/// borrow the book's rules while they hold one of its alerts mutably.
fn rules_for<'r>(
    default: &'r StallRules,
    overrides: &'r BTreeMap<Uuid, StallRules>,
    pilot_id: &Uuid,
) -> &'r StallRules {
    overrides.get(pilot_id).unwrap_or(default)
}
