//! The stalled-approval alert lifecycle as a pure state machine (docs/domain.md, "Stalled approvals and alerts").
//!
//! An [`Alert`] follows one wait: one `approval.requested` event (its id is the alert id, so a
//! new request for the same approval is a new alert). It is driven by clock values passed in,
//! never by the wall clock, so a live alerter and a replay with a simulated clock produce the
//! same [`Transition`]s:
//!
//! ```text
//! Pending ──warn_at──▶ Warning ──due_at──▶ Firing{1} ──2×──▶ Firing{2} ──3×──▶ …
//!    └─────────────────────┴──────────────────┴───resolve──▶ Resolved (terminal)
//! ```
//!
//! Decisions:
//! - A wait is not an alert until it reaches its warning (or, with no warning, its stall): an
//!   approval decided, withdrawn or extended before then records nothing at all, since nobody
//!   was ever told of it and the pilot's views already show the decided approval with its
//!   wait. Once raised ([`Alert::is_raised`]) an alert stays one: its extensions and its
//!   resolution are recorded, even after an extension cleared its warning.
//! - Only a raised alert can be acknowledged or silenced: one that nobody can list cannot be
//!   taken in hand.
//! - Catching up records where the alert stands, once: a clock that jumps past several due
//!   instants (a back-dated request, an import, an alerter that was down) yields only the
//!   latest transition, stamped with its own due instant, never one per missed threshold. A
//!   clock moving in small steps reaches each threshold in turn and records every one.
//! - Every state-changing method takes the rules and first catches up to its own instant, so
//!   the state an extension, acknowledgement, silence or resolution finds is recorded before
//!   it, even when the alerter was down.
//! - `notify` is decided as of each transition's own instant (the silences and acknowledgement
//!   in force then), not as of when the alerter got round to it, so catching up after downtime
//!   gives the same flags as running on time.
//! - Acknowledging stops re-sends, i.e. escalations; the stall itself (`Fired`) after an
//!   acknowledged warning is a new condition and is still sent. Escalations are always recorded.
//! - A silence suppresses every reminder (warning, firing, escalation) whose instant lies in
//!   `[at, until)`; afterwards notifications resume. Expiry itself sends nothing.
//! - A resolution is sent even while silenced: a silence says "stop reminding me of this wait",
//!   and the wait's end is the news the person who silenced it is waiting for (the approval was
//!   granted, say). It is the last message of the alert, so it cannot turn into a flood.
//! - `Resolved` notifies only if something about this alert was sent before: nobody needs to
//!   hear that an approval they were never warned about has been decided.
//! - User actions (`Extended`, `Acknowledged`, `Silenced`) are recorded with `notify: false`:
//!   the office that did them already knows.
//! - A failed operation leaves the alert untouched, catch-up included.

use crate::stall::{schedule, PendingApproval, Schedule, StallRules};
use pilot_events::rfc3339;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResolutionReason {
    Granted,
    Denied,
    Withdrawn,
    PilotMerged,
    PilotTerminated,
    /// The `approval.requested` event was retracted: the wait stops counting.
    Retracted,
}

/// Where an alert stands. `since` is the instant the state came due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AlertState {
    /// Within the threshold: a wait not yet warned of (no alert until it is, see
    /// [`Alert::is_raised`]), or an alert whose warning an extension cleared.
    Pending,
    /// Due soon (yellow light).
    Warning {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
    /// Stalled (red light); `escalation_level` is 1 at the stall, k at the k-th whole threshold.
    Firing {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        escalation_level: u32,
    },
    /// Decided, withdrawn or the pilot ended. Terminal.
    Resolved {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        reason: ResolutionReason,
        waited: Duration,
    },
}

/// Someone took the alert in hand; later escalations are recorded but not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acknowledgement {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub user: String,
}

/// A period in which transitions are recorded but not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Silence {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    pub reason: String,
}

impl Silence {
    fn covers(&self, instant: OffsetDateTime) -> bool {
        self.at <= instant && instant < self.until
    }
}

/// What happened to an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransitionKind {
    Warned {
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// The approval stalled: escalation level 1.
    Fired {
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// A further whole threshold passed; `level` >= 2.
    Escalated {
        level: u32,
    },
    /// The threshold was extended; `warning_cleared` when a raised warning went back to pending.
    Extended {
        extra_days: u32,
        #[serde(with = "time::serde::rfc3339")]
        warn_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
        warning_cleared: bool,
    },
    Acknowledged {
        user: String,
    },
    Silenced {
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
        reason: String,
    },
    /// The wait ended; `waited` is from the request to the resolution.
    Resolved {
        reason: ResolutionReason,
        waited: Duration,
    },
}

/// One recorded change, stamped with the instant it came due (not when it was computed).
///
/// On the wire the kind is flattened: `{"at": "...", "kind": "fired", "due_at": "...", "notify": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transition {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(flatten)]
    pub kind: TransitionKind,
    /// Whether to send it to people; false while silenced, for escalations after an
    /// acknowledgement, and for user actions.
    pub notify: bool,
}

/// Why an operation on an alert was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AlertError {
    #[error("alert {alert_id} was resolved at {}; a resolved alert never reopens (a new request for the approval starts a new alert)", rfc3339(*.at))]
    Resolved { alert_id: Uuid, at: OffsetDateTime },
    #[error("approval `{approval_id}` stalled at {}; an extension is allowed only before it stalls (this one is at {})", rfc3339(*.due_at), rfc3339(*.at))]
    AlreadyStalled {
        approval_id: String,
        due_at: OffsetDateTime,
        at: OffsetDateTime,
    },
    #[error("an extension needs at least 1 extra day")]
    NoExtraDays,
    #[error("alert {alert_id} is not raised at {}: only a warning or firing alert can be acknowledged, and only an alert that reached its warning can be silenced", rfc3339(*.at))]
    NotRaised { alert_id: Uuid, at: OffsetDateTime },
    #[error("alert {alert_id} was already acknowledged by {by} at {}", rfc3339(*.at))]
    AlreadyAcknowledged {
        alert_id: Uuid,
        by: String,
        at: OffsetDateTime,
    },
    #[error("an acknowledgement needs the user who acknowledges")]
    NoUser,
    #[error("a silence needs a reason, so others know why the alert went quiet")]
    NoSilenceReason,
    #[error("a silence must end after it starts: until {} is not after {}", rfc3339(*.until), rfc3339(*.at))]
    SilenceNotAfterStart {
        at: OffsetDateTime,
        until: OffsetDateTime,
    },
}

/// The alert for one pending approval of one pilot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    alert_id: Uuid,
    pilot_id: Uuid,
    approval: PendingApproval,
    state: AlertState,
    acknowledged: Option<Acknowledgement>,
    silences: Vec<Silence>,
    /// Whether any transition of this alert was sent; decides whether its resolution is.
    announced: bool,
    /// Whether the wait ever reached its warning or stall, i.e. is an alert at all; decides
    /// whether anything else about it is recorded. Required in a checkpoint, so that one made
    /// before it existed is not read (the alerter then replays the log, which is always right).
    raised: bool,
}

impl Alert {
    /// A pending alert for `approval`, as requested. Its `extra_days` count from the start;
    /// later extensions go through [`Alert::extend`], not by rebuilding the alert.
    pub fn new(pilot_id: Uuid, approval: PendingApproval) -> Self {
        Alert {
            alert_id: approval.request_event_id,
            pilot_id,
            approval,
            state: AlertState::Pending,
            acknowledged: None,
            silences: Vec::new(),
            announced: false,
            raised: false,
        }
    }

    /// A pending alert with its own id for a wait whose first alert was resolved, when a
    /// correction makes the wait pending again (a retracted decision, see
    /// [`crate::alerting`]): the resolved alert never reopens, so the wait gets a successor.
    /// The approval keeps its request, so the schedule still counts from `requested_at`.
    pub fn successor(alert_id: Uuid, pilot_id: Uuid, approval: PendingApproval) -> Self {
        Alert {
            alert_id,
            ..Alert::new(pilot_id, approval)
        }
    }

    /// The id of the `approval.requested` event this alert follows (or, for a
    /// [`Alert::successor`], the id it was given).
    pub fn alert_id(&self) -> Uuid {
        self.alert_id
    }

    pub fn pilot_id(&self) -> Uuid {
        self.pilot_id
    }

    pub fn approval(&self) -> &PendingApproval {
        &self.approval
    }

    pub fn state(&self) -> &AlertState {
        &self.state
    }

    pub fn acknowledged(&self) -> Option<&Acknowledgement> {
        self.acknowledged.as_ref()
    }

    pub fn silences(&self) -> &[Silence] {
        &self.silences
    }

    /// Whether the wait ever reached its warning (or its stall): whether it is an alert, one
    /// that is listed and whose transitions are recorded. A wait resolved before that never
    /// was one.
    pub fn is_raised(&self) -> bool {
        self.raised
    }

    pub fn is_resolved(&self) -> bool {
        matches!(self.state, AlertState::Resolved { .. })
    }

    /// Whether a silence covers `instant`.
    pub fn is_silenced_at(&self, instant: OffsetDateTime) -> bool {
        self.silences.iter().any(|s| s.covers(instant))
    }

    /// Where the alert stands at `now`, recorded once: the latest transition that came due up
    /// to and including `now`, stamped with its due instant. Calling it again with the same (or
    /// an earlier) `now` returns nothing; a resolved alert never produces anything.
    ///
    /// Catching up is not replaying: when `now` lies past several due instants at once (a
    /// back-dated request, an import, an alerter that was down), only the latest state is
    /// recorded and sent (the warning and the levels passed on the way were never anybody's
    /// news, and one message per missed threshold is a flood), so a request from 2001 gives one
    /// `Escalated` at today's level, not a warning, a firing and hundreds of escalations. A clock
    /// that moves in small steps reaches each threshold in turn, so a live alerter still records
    /// the warning, the firing and every escalation, each at its own instant.
    pub fn advance(&mut self, rules: &StallRules, now: OffsetDateTime) -> Vec<Transition> {
        if self.is_resolved() {
            return Vec::new();
        }
        let schedule = schedule(&self.approval, rules);
        let latest = self
            .firing_due(&schedule, now)
            .or_else(|| self.warning_due(&schedule, now));
        latest
            .map(|(at, kind)| self.record(at, kind))
            .into_iter()
            .collect()
    }

    /// The warning, if it came due by `now` and the alert is still pending.
    fn warning_due(
        &mut self,
        schedule: &Schedule<'_>,
        now: OffsetDateTime,
    ) -> Option<(OffsetDateTime, TransitionKind)> {
        let due = schedule.has_warning() && schedule.warn_at <= now;
        if !(matches!(self.state, AlertState::Pending) && due) {
            return None;
        }
        self.state = AlertState::Warning {
            since: schedule.warn_at,
        };
        let due_at = schedule.due_at;
        Some((schedule.warn_at, TransitionKind::Warned { due_at }))
    }

    /// The stall (level 1) or the highest escalation level reached by `now`, if it is above the
    /// level recorded so far. The level is computed in closed form, so a wait decades late costs
    /// no loop.
    fn firing_due(
        &mut self,
        schedule: &Schedule<'_>,
        now: OffsetDateTime,
    ) -> Option<(OffsetDateTime, TransitionKind)> {
        let (since, recorded) = match self.state {
            AlertState::Firing {
                since,
                escalation_level,
            } => (since, escalation_level),
            AlertState::Pending | AlertState::Warning { .. } => (schedule.due_at, 0),
            AlertState::Resolved { .. } => return None,
        };
        let level = schedule.escalation_level_at(now);
        if level <= recorded {
            return None;
        }
        self.state = AlertState::Firing {
            since,
            escalation_level: level,
        };
        let due_at = schedule.due_at;
        Some(match level {
            1 => (due_at, TransitionKind::Fired { due_at }),
            level => (
                schedule.escalation_at(level),
                TransitionKind::Escalated { level },
            ),
        })
    }

    /// Adds `extra_days` to the threshold, at instant `at`.
    ///
    /// Allowed only while the approval has not stalled at `at` and the alert has not fired: a
    /// red light already sent is not taken back. If a raised warning's new warning instant lies
    /// after `at`, the alert goes back to `Pending` (and will warn again at the new instant);
    /// otherwise it stays in `Warning`.
    pub fn extend(
        &mut self,
        rules: &StallRules,
        extra_days: u32,
        at: OffsetDateTime,
    ) -> Result<Vec<Transition>, AlertError> {
        self.refuse_if_resolved()?;
        if extra_days == 0 {
            return Err(AlertError::NoExtraDays);
        }
        let due_at = schedule(&self.approval, rules).due_at;
        if due_at <= at || matches!(self.state, AlertState::Firing { .. }) {
            return Err(AlertError::AlreadyStalled {
                approval_id: self.approval.approval_id.clone(),
                due_at,
                at,
            });
        }
        let mut out = self.advance(rules, at);
        self.approval.extra_days = self.approval.extra_days.saturating_add(extra_days);
        let moved = schedule(&self.approval, rules);
        let warning_cleared =
            matches!(self.state, AlertState::Warning { .. }) && moved.warn_at > at;
        if warning_cleared {
            self.state = AlertState::Pending;
        }
        let kind = TransitionKind::Extended {
            extra_days,
            warn_at: moved.warn_at,
            due_at: moved.due_at,
            warning_cleared,
        };
        out.extend(self.record_if_raised(at, kind));
        Ok(out)
    }

    /// Takes `days` off the threshold at `at`, for a retracted `approval.extended`: catches up
    /// under the longer threshold, then under the shorter one, so transitions the shorter
    /// threshold had already made due are recorded at their own (earlier) instants. Nothing
    /// else is recorded: the retraction is the record. A resolved alert is left alone.
    pub fn retract_extension(
        &mut self,
        rules: &StallRules,
        days: u32,
        at: OffsetDateTime,
    ) -> Vec<Transition> {
        if self.is_resolved() {
            return Vec::new();
        }
        let mut out = self.advance(rules, at);
        self.approval.extra_days = self.approval.extra_days.saturating_sub(days);
        out.extend(self.advance(rules, at));
        out
    }

    /// Ends the wait at `at`: catches up, then records `Resolved` with how long it waited
    /// (never negative). Resolving a resolved alert returns nothing: it never reopens.
    pub fn resolve(
        &mut self,
        rules: &StallRules,
        at: OffsetDateTime,
        reason: ResolutionReason,
    ) -> Vec<Transition> {
        if self.is_resolved() {
            return Vec::new();
        }
        let mut out = self.advance(rules, at);
        let waited = (at - self.approval.requested_at).max(Duration::ZERO);
        out.extend(self.record_if_raised(at, TransitionKind::Resolved { reason, waited }));
        self.state = AlertState::Resolved { at, reason, waited };
        out
    }

    /// `user` takes the alert in hand at `at`; only a warning or firing alert can be
    /// acknowledged, and only once.
    pub fn acknowledge(
        &mut self,
        rules: &StallRules,
        at: OffsetDateTime,
        user: &str,
    ) -> Result<Vec<Transition>, AlertError> {
        self.refuse_if_resolved()?;
        if user.trim().is_empty() {
            return Err(AlertError::NoUser);
        }
        if let Some(ack) = &self.acknowledged {
            return Err(AlertError::AlreadyAcknowledged {
                alert_id: self.alert_id,
                by: ack.user.clone(),
                at: ack.at,
            });
        }
        self.atomically(|alert| {
            let mut out = alert.advance(rules, at);
            if !alert.is_raised_at(at) {
                return Err(AlertError::NotRaised {
                    alert_id: alert.alert_id,
                    at,
                });
            }
            alert.acknowledged = Some(Acknowledgement {
                at,
                user: user.to_string(),
            });
            let kind = TransitionKind::Acknowledged {
                user: user.to_string(),
            };
            out.push(alert.record(at, kind));
            Ok(out)
        })
    }

    /// Suppresses notifications in `[at, until)`. Allowed once the alert was raised and until it
    /// is resolved (also while an extension has cleared its warning): a wait that is no alert
    /// yet is listed nowhere, so there is nothing to silence.
    pub fn silence(
        &mut self,
        rules: &StallRules,
        at: OffsetDateTime,
        until: OffsetDateTime,
        reason: &str,
    ) -> Result<Vec<Transition>, AlertError> {
        self.refuse_if_resolved()?;
        if reason.trim().is_empty() {
            return Err(AlertError::NoSilenceReason);
        }
        if until <= at {
            return Err(AlertError::SilenceNotAfterStart { at, until });
        }
        self.atomically(|alert| {
            let mut out = alert.advance(rules, at);
            if !alert.raised {
                return Err(AlertError::NotRaised {
                    alert_id: alert.alert_id,
                    at,
                });
            }
            alert.silences.push(Silence {
                at,
                until,
                reason: reason.to_string(),
            });
            let kind = TransitionKind::Silenced {
                until,
                reason: reason.to_string(),
            };
            out.push(alert.record(at, kind));
            Ok(out)
        })
    }

    /// The next instant at which [`Alert::advance`] would produce a transition, for timer
    /// queues; `None` once resolved (or when the next escalation lies past representable time).
    pub fn next_due(&self, rules: &StallRules) -> Option<OffsetDateTime> {
        let schedule = schedule(&self.approval, rules);
        match self.state {
            AlertState::Resolved { .. } => None,
            AlertState::Pending if schedule.has_warning() => Some(schedule.warn_at),
            AlertState::Pending | AlertState::Warning { .. } => Some(schedule.due_at),
            AlertState::Firing {
                escalation_level, ..
            } => {
                let current = schedule.escalation_at(escalation_level);
                let next = schedule.escalation_at(escalation_level.saturating_add(1));
                (next > current).then_some(next)
            }
        }
    }

    /// Builds a transition, deciding `notify` as of its own instant.
    fn record(&mut self, at: OffsetDateTime, kind: TransitionKind) -> Transition {
        let silenced = self.is_silenced_at(at);
        let notify = match &kind {
            TransitionKind::Warned { .. } | TransitionKind::Fired { .. } => !silenced,
            TransitionKind::Escalated { .. } => !silenced && !self.acknowledged_by(at),
            // Not muted by a silence: see the module's decisions.
            TransitionKind::Resolved { .. } => self.announced,
            TransitionKind::Extended { .. }
            | TransitionKind::Acknowledged { .. }
            | TransitionKind::Silenced { .. } => false,
        };
        self.announced |= notify;
        self.raised |= matches!(
            kind,
            TransitionKind::Warned { .. }
                | TransitionKind::Fired { .. }
                | TransitionKind::Escalated { .. }
        );
        Transition { at, kind, notify }
    }

    /// [`Alert::record`] for what happens to a wait rather than by its schedule (an extension,
    /// a resolution): nothing while the wait is not an alert yet.
    fn record_if_raised(&mut self, at: OffsetDateTime, kind: TransitionKind) -> Option<Transition> {
        self.raised.then(|| self.record(at, kind))
    }

    fn acknowledged_by(&self, instant: OffsetDateTime) -> bool {
        self.acknowledged.as_ref().is_some_and(|a| a.at <= instant)
    }

    fn is_raised_at(&self, instant: OffsetDateTime) -> bool {
        match self.state {
            AlertState::Warning { since } | AlertState::Firing { since, .. } => since <= instant,
            AlertState::Pending | AlertState::Resolved { .. } => false,
        }
    }

    fn refuse_if_resolved(&self) -> Result<(), AlertError> {
        match self.state {
            AlertState::Resolved { at, .. } => Err(AlertError::Resolved {
                alert_id: self.alert_id,
                at,
            }),
            _ => Ok(()),
        }
    }

    /// Runs `change` on a copy and keeps it only if it succeeds, so a refused operation does not
    /// leave a half-done catch-up behind.
    fn atomically<T>(
        &mut self,
        change: impl FnOnce(&mut Alert) -> Result<T, AlertError>,
    ) -> Result<T, AlertError> {
        let mut draft = self.clone();
        let result = change(&mut draft)?;
        *self = draft;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::WorkCalendar;
    use crate::stall::{DayCount, Thresholds};
    use pilot_events::Level;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2008-09-01 09:00 +08:00);
    const PILOT: Uuid = Uuid::from_u128(0x9111);

    fn days(n: i64) -> Duration {
        Duration::days(n)
    }

    fn approval(requested_at: OffsetDateTime) -> PendingApproval {
        PendingApproval {
            approval_id: "lchi-2002-mayor".into(),
            request_event_id: Uuid::from_u128(0xA1),
            approver_id: Uuid::from_u128(0xB0),
            level: Level::Municipal,
            requested_at,
            extra_days: 0,
            stall: None,
            stalls_at: None,
        }
    }

    fn alert() -> Alert {
        Alert::new(PILOT, approval(T))
    }

    fn rules() -> StallRules {
        StallRules::default()
    }

    fn t(at: OffsetDateTime, kind: TransitionKind, notify: bool) -> Transition {
        Transition { at, kind, notify }
    }

    fn warned(at_day: i64, due_day: i64) -> Transition {
        t(
            T + days(at_day),
            TransitionKind::Warned {
                due_at: T + days(due_day),
            },
            true,
        )
    }

    fn fired(due_day: i64) -> Transition {
        t(
            T + days(due_day),
            TransitionKind::Fired {
                due_at: T + days(due_day),
            },
            true,
        )
    }

    fn escalated(at_day: i64, level: u32, notify: bool) -> Transition {
        t(
            T + days(at_day),
            TransitionKind::Escalated { level },
            notify,
        )
    }

    #[test]
    fn full_lifecycle_with_a_30_day_threshold() {
        let (rules, mut a) = (rules(), alert());
        assert_eq!(
            a.alert_id(),
            Uuid::from_u128(0xA1),
            "alert id is the request event id"
        );
        assert_eq!(a.advance(&rules, T), []);
        assert_eq!(a.next_due(&rules), Some(T + days(24)));
        assert_eq!(a.advance(&rules, T + days(24) - Duration::SECOND), []);
        assert_eq!(a.advance(&rules, T + days(24)), [warned(24, 30)]);
        assert_eq!(a.next_due(&rules), Some(T + days(30)));
        assert_eq!(a.advance(&rules, T + days(30) - Duration::SECOND), []);
        assert_eq!(a.advance(&rules, T + days(30)), [fired(30)]);
        assert_eq!(
            a.advance(&rules, T + days(30)),
            [],
            "fires once, not once per check"
        );
        assert_eq!(a.advance(&rules, T + days(45)), []);
        assert_eq!(a.next_due(&rules), Some(T + days(60)));
        assert_eq!(a.advance(&rules, T + days(60)), [escalated(60, 2, true)]);
        assert_eq!(a.advance(&rules, T + days(90)), [escalated(90, 3, true)]);
        assert_eq!(
            a.state(),
            &AlertState::Firing {
                since: T + days(30),
                escalation_level: 3
            }
        );

        let granted = a.resolve(&rules, T + days(95), ResolutionReason::Granted);
        let waited = days(95);
        let resolved = TransitionKind::Resolved {
            reason: ResolutionReason::Granted,
            waited,
        };
        assert_eq!(granted, [t(T + days(95), resolved, true)]);
        assert_eq!(
            a.resolve(&rules, T + days(96), ResolutionReason::Granted),
            []
        );
        assert_eq!(a.advance(&rules, T + days(400)), []);
        assert_eq!(a.next_due(&rules), None);
    }

    #[test]
    fn an_alerter_that_was_down_records_where_the_alert_stands_once() {
        let (rules, mut a) = (rules(), alert());
        // Down across the warning, the stall and two escalations: one transition, the level
        // it stands at, stamped with that level's instant and sent.
        let caught_up = a.advance(&rules, T + days(100));
        assert_eq!(caught_up, [escalated(90, 3, true)]);
        assert_eq!(
            a.state(),
            &AlertState::Firing {
                since: T + days(30),
                escalation_level: 3
            }
        );
        assert_eq!(a.advance(&rules, T + days(100)), []);
        assert_eq!(
            a.advance(&rules, T + days(50)),
            [],
            "an earlier clock changes nothing"
        );
        assert_eq!(a.next_due(&rules), Some(T + days(120)));
    }

    #[test]
    fn resolution_catches_up_first_and_reports_the_wait() {
        let (rules, mut a) = (rules(), alert());
        let out = a.resolve(&rules, T + days(31), ResolutionReason::Denied);
        let waited = days(31);
        let resolved = TransitionKind::Resolved {
            reason: ResolutionReason::Denied,
            waited,
        };
        assert_eq!(out, [fired(30), t(T + days(31), resolved, true)]);
    }

    #[test]
    fn extension_before_the_stall_moves_the_due_time() {
        let (rules, mut a) = (rules(), alert());
        assert_eq!(a.advance(&rules, T + days(25)), [warned(24, 30)]);
        let out = a.extend(&rules, 10, T + days(25)).unwrap();
        // 40 days now: warning at 32 days, after the extension, so the yellow light goes off.
        let extended = TransitionKind::Extended {
            extra_days: 10,
            warn_at: T + days(32),
            due_at: T + days(40),
            warning_cleared: true,
        };
        assert_eq!(out, [t(T + days(25), extended, false)]);
        assert_eq!(a.state(), &AlertState::Pending);
        assert_eq!(a.next_due(&rules), Some(T + days(32)));
        assert_eq!(
            a.advance(&rules, T + days(31)),
            [],
            "the old due time has no effect"
        );
        assert_eq!(a.advance(&rules, T + days(32)), [warned(32, 40)]);
        assert_eq!(a.advance(&rules, T + days(40)), [fired(40)]);
        assert_eq!(a.advance(&rules, T + days(80)), [escalated(80, 2, true)]);
    }

    #[test]
    fn a_late_extension_keeps_the_warning_when_it_is_still_due() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(29));
        // 31 days: warning at 24.8 days, already past at day 29, so it stays raised.
        let out = a.extend(&rules, 1, T + days(29)).unwrap();
        assert!(matches!(
            out.as_slice(),
            [Transition {
                kind: TransitionKind::Extended {
                    warning_cleared: false,
                    ..
                },
                ..
            }]
        ));
        assert_eq!(
            a.state(),
            &AlertState::Warning {
                since: T + days(24)
            }
        );
    }

    #[test]
    fn extension_catches_up_before_applying() {
        let (rules, mut a) = (rules(), alert());
        // Never advanced; the extension at day 29 first records the warning of day 24.
        let out = a
            .extend(&rules, 1, T + days(30) - Duration::SECOND)
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], warned(24, 30));
    }

    #[test]
    fn extension_after_the_stall_is_refused_and_names_the_due_time() {
        let rules = rules();
        let mut fresh = alert();
        let refused = fresh.extend(&rules, 10, T + days(30));
        let expected = AlertError::AlreadyStalled {
            approval_id: "lchi-2002-mayor".into(),
            due_at: T + days(30),
            at: T + days(30),
        };
        assert_eq!(refused, Err(expected));
        assert_eq!(fresh, alert(), "a refused extension changes nothing");
        let message = fresh
            .extend(&rules, 10, T + days(31))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("stalled at 2008-10-01T09:00:00+08:00"),
            "{message}"
        );

        let mut fired_alert = alert();
        fired_alert.advance(&rules, T + days(30));
        let back_dated = fired_alert.extend(&rules, 10, T + days(20));
        assert!(matches!(back_dated, Err(AlertError::AlreadyStalled { .. })));
        assert_eq!(fired_alert.approval().extra_days, 0);
    }

    #[test]
    fn a_resolved_alert_never_reopens() {
        let (rules, mut a) = (rules(), alert());
        let out = a.resolve(&rules, T + days(10), ResolutionReason::Withdrawn);
        assert_eq!(out, [], "withdrawn before its warning: never an alert");
        assert!(!a.is_raised());
        assert_eq!(a.advance(&rules, T + days(400)), []);
        assert_eq!(a.next_due(&rules), None);
        assert!(matches!(
            a.extend(&rules, 5, T + days(11)),
            Err(AlertError::Resolved { .. })
        ));
        assert!(matches!(
            a.acknowledge(&rules, T + days(11), "clerk"),
            Err(AlertError::Resolved { .. })
        ));
        assert!(matches!(
            a.silence(&rules, T + days(11), T + days(20), "x"),
            Err(AlertError::Resolved { .. })
        ));
        assert_eq!(
            a.resolve(&rules, T + days(12), ResolutionReason::Granted),
            []
        );
        assert!(matches!(
            a.state(),
            AlertState::Resolved {
                reason: ResolutionReason::Withdrawn,
                ..
            }
        ));

        // A new request for the same approval is a new alert with its own id.
        let mut again = approval(T + days(50));
        again.request_event_id = Uuid::from_u128(0xA2);
        let renewed = Alert::new(PILOT, again);
        assert_ne!(renewed.alert_id(), a.alert_id());
        assert_eq!(renewed.state(), &AlertState::Pending);
    }

    #[test]
    fn acknowledgement_stops_resends_but_not_the_escalation_record() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(30));
        let ack = a.acknowledge(&rules, T + days(31), "wang.clerk").unwrap();
        let kind = TransitionKind::Acknowledged {
            user: "wang.clerk".into(),
        };
        assert_eq!(ack, [t(T + days(31), kind, false)]);
        assert_eq!(a.advance(&rules, T + days(60)), [escalated(60, 2, false)]);
        assert_eq!(a.advance(&rules, T + days(90)), [escalated(90, 3, false)]);
        let again = a.acknowledge(&rules, T + days(91), "li.head");
        assert!(
            matches!(again, Err(AlertError::AlreadyAcknowledged { ref by, .. }) if by == "wang.clerk")
        );
        let resolved = a.resolve(&rules, T + days(92), ResolutionReason::Granted);
        assert!(
            resolved[0].notify,
            "whoever was alerted hears of the resolution"
        );
    }

    #[test]
    fn acknowledging_a_warning_still_sends_the_stall() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(25));
        a.acknowledge(&rules, T + days(25), "wang.clerk").unwrap();
        assert_eq!(a.advance(&rules, T + days(30)), [fired(30)]);
        assert_eq!(a.advance(&rules, T + days(60)), [escalated(60, 2, false)]);
    }

    #[test]
    fn only_a_raised_alert_can_be_acknowledged() {
        let (rules, mut a) = (rules(), alert());
        let refused = a.acknowledge(&rules, T + days(10), "wang.clerk");
        let expected = AlertError::NotRaised {
            alert_id: a.alert_id(),
            at: T + days(10),
        };
        assert_eq!(refused, Err(expected));
        assert_eq!(a.acknowledged(), None);
        assert_eq!(
            a.acknowledge(&rules, T + days(25), " "),
            Err(AlertError::NoUser)
        );
        // Acknowledging at day 25 without a prior advance catches up to the warning first.
        let out = a.acknowledge(&rules, T + days(25), "wang.clerk").unwrap();
        assert_eq!(out[0], warned(24, 30));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_refused_acknowledgement_leaves_no_half_done_catch_up() {
        let rules = rules();
        let mut a = alert();
        a.advance(&rules, T + days(60));
        let before = a.clone();
        // Acknowledging at day 20 (back-dated, before anything was raised) is refused.
        let refused = a.acknowledge(&rules, T + days(20), "wang.clerk");
        assert!(matches!(refused, Err(AlertError::NotRaised { .. })));
        assert_eq!(a, before);
    }

    #[test]
    fn silence_mutes_until_it_expires() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(25));
        let out = a
            .silence(
                &rules,
                T + days(25),
                T + days(50),
                "mayor abroad until mid-October",
            )
            .unwrap();
        assert!(matches!(out.as_slice(), [Transition { notify: false, .. }]));
        let muted_fire = t(
            T + days(30),
            TransitionKind::Fired {
                due_at: T + days(30),
            },
            false,
        );
        assert_eq!(a.advance(&rules, T + days(40)), [muted_fire]);
        assert_eq!(
            a.advance(&rules, T + days(60)),
            [escalated(60, 2, true)],
            "expired"
        );
        assert!(a.is_silenced_at(T + days(50) - Duration::SECOND));
        assert!(!a.is_silenced_at(T + days(50)));
    }

    #[test]
    fn a_resolution_is_sent_even_while_silenced() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(25));
        a.silence(&rules, T + days(26), T + days(90), "budget session")
            .unwrap();
        let out = a.resolve(&rules, T + days(40), ResolutionReason::Granted);
        let kinds: Vec<(&str, bool)> = out
            .iter()
            .map(|t| (crate::alerting::record::kind_name(&t.kind), t.notify))
            .collect();
        assert_eq!(kinds, [("fired", false), ("resolved", true)]);
    }

    #[test]
    fn notify_is_decided_at_each_transitions_own_instant() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(25));
        a.silence(&rules, T + days(25), T + days(50), "budget session")
            .unwrap();
        // The stall of day 30 is inside the silence; the alerter then is down until day 65,
        // after the silence expired: the escalation of day 60 was not silenced.
        let muted_fire = t(
            T + days(30),
            TransitionKind::Fired {
                due_at: T + days(30),
            },
            false,
        );
        assert_eq!(a.advance(&rules, T + days(31)), [muted_fire]);
        assert_eq!(a.advance(&rules, T + days(65)), [escalated(60, 2, true)]);
    }

    #[test]
    fn a_silence_starting_after_a_missed_transition_records_it_first() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(25));
        // Silenced at day 35 by an alerter last advanced at day 25: the stall of day 30 came
        // before the silence, so it is recorded first and still sent.
        let out = a
            .silence(&rules, T + days(35), T + days(70), "budget session")
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], fired(30));
        assert!(!out[1].notify);
        assert_eq!(a.advance(&rules, T + days(65)), [escalated(60, 2, false)]);
    }

    #[test]
    fn silence_needs_a_reason_and_an_expiry_after_its_start() {
        let (rules, mut a) = (rules(), alert());
        assert_eq!(
            a.silence(&rules, T, T + days(1), "  "),
            Err(AlertError::NoSilenceReason)
        );
        assert_eq!(
            a.silence(&rules, T + days(1), T + days(1), "x"),
            Err(AlertError::SilenceNotAfterStart {
                at: T + days(1),
                until: T + days(1)
            })
        );
        assert!(a.silences().is_empty());
    }

    #[test]
    fn working_day_alert_fires_on_the_computed_working_day() {
        let calendar: WorkCalendar = serde_json::from_value(serde_json::json!({
            "name": "nanguo",
            "utc_offset": "+08:00",
            "holidays": ["2008-10-01", "2008-10-02", "2008-10-03", "2008-10-04",
                         "2008-10-05", "2008-10-06", "2008-10-07"],
            "makeup_workdays": ["2008-09-27", "2008-09-28"]
        }))
        .unwrap();
        let thresholds = Thresholds {
            municipal: 5,
            ..Thresholds::default()
        };
        let rules = StallRules::new(thresholds, 0.8, DayCount::Working(calendar)).unwrap();
        // Thu 09-25 10:00: working days 1 Fri 09-26, 2 Sat 09-27, 3 Sun 09-28 (make-up),
        // 4 Mon 09-29, 5 Tue 09-30; warning at floor(0.8 × 5) = 4; 2× = 10 is Tue 10-14.
        let mut a = Alert::new(PILOT, approval(datetime!(2008-09-25 10:00 +08:00)));
        // Woken at each due instant in turn, as a live alerter is.
        let until = datetime!(2008-10-20 00:00 +08:00);
        let mut instants = Vec::new();
        while let Some(due) = a.next_due(&rules).filter(|due| *due <= until) {
            instants.extend(a.advance(&rules, due).iter().map(|tr| tr.at));
        }
        assert_eq!(
            instants,
            [
                datetime!(2008-09-29 10:00 +08:00),
                datetime!(2008-09-30 10:00 +08:00),
                datetime!(2008-10-14 10:00 +08:00),
            ]
        );
        assert_eq!(a.next_due(&rules), Some(datetime!(2008-10-21 10:00 +08:00)));
    }

    #[test]
    fn a_wait_decided_before_its_warning_records_nothing() {
        let (rules, mut a) = (rules(), alert());
        let extended = a.extend(&rules, 5, T + days(5)).unwrap();
        assert_eq!(extended, [], "an extension of a wait that is no alert yet");
        let refused = a.silence(&rules, T + days(6), T + days(9), "mayor abroad");
        let expected = AlertError::NotRaised {
            alert_id: a.alert_id(),
            at: T + days(6),
        };
        assert_eq!(refused, Err(expected));
        assert!(a.silences().is_empty(), "a refused silence changes nothing");
        assert_eq!(
            a.resolve(&rules, T + days(10), ResolutionReason::Granted),
            []
        );
        assert!(a.is_resolved());
        assert!(!a.is_raised());
    }

    #[test]
    fn a_silence_past_the_warning_catches_up_before_it_judges() {
        let (rules, mut a) = (rules(), alert());
        // Read back by an alerter whose book has not reached day 24 yet: still taken.
        let out = a
            .silence(&rules, T + days(26), T + days(40), "budget session")
            .unwrap();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0], warned(24, 30));
        assert!(a.is_silenced_at(T + days(30)));
    }

    #[test]
    fn once_raised_an_alert_records_its_extension_and_its_resolution() {
        let (rules, mut a) = (rules(), alert());
        assert_eq!(a.advance(&rules, T + days(25)), [warned(24, 30)]);
        assert!(a.is_raised());
        let out = a.extend(&rules, 10, T + days(25)).unwrap();
        assert_eq!(out.len(), 1, "the extension is recorded: {out:?}");
        assert_eq!(a.state(), &AlertState::Pending, "the warning was cleared");
        assert!(a.is_raised(), "a cleared warning leaves an alert");
        a.silence(&rules, T + days(26), T + days(27), "away")
            .unwrap();
        let resolved = a.resolve(&rules, T + days(28), ResolutionReason::Granted);
        assert!(
            matches!(
                resolved.as_slice(),
                [Transition {
                    kind: TransitionKind::Resolved { .. },
                    notify: true,
                    ..
                }]
            ),
            "{resolved:?}"
        );
    }

    #[test]
    fn snapshots_round_trip_and_resume() {
        let (rules, mut a) = (rules(), alert());
        a.advance(&rules, T + days(31));
        a.acknowledge(&rules, T + days(31), "wang.clerk").unwrap();
        let json = serde_json::to_string(&a).unwrap();
        let mut restored: Alert = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, a);
        assert_eq!(
            restored.advance(&rules, T + days(60)),
            [escalated(60, 2, false)]
        );
        let transition = serde_json::to_value(fired(30)).unwrap();
        assert_eq!(transition["kind"], "fired");
        assert_eq!(transition["at"], "2008-10-01T09:00:00+08:00");
        assert_eq!(transition["due_at"], "2008-10-01T09:00:00+08:00");
        let resolved = a.resolve(&rules, T + days(70), ResolutionReason::Granted);
        let json = serde_json::to_string(&resolved).unwrap();
        assert_eq!(
            serde_json::from_str::<Vec<Transition>>(&json).unwrap(),
            resolved
        );
    }
}
