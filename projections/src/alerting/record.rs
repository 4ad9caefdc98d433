//! Alert events as recorded on the alert stream, and the fold of them that the API serves.
//!
//! Every transition of every alert is one [`AlertEvent`]: the [`AlertNotice`] (everything a
//! receiver needs to act) plus when it was recorded. Each has its own subject,
//! `pilot.alerts.<kind>.<alert_id>.<key>`, where `key` tells one transition of that kind from
//! another (the escalation level, the warning's instant, ...). The store publishes each with
//! "this subject is still empty" as its condition, so a transition is recorded at most once
//! however many alerters compute it, and at any distance in time.
//!
//! [`AlertHistory`] folds recorded events into the alerts' states: what `GET /api/v1/alerts`
//! shows is what was recorded, so the API, exports and replays agree.

use super::{AlertNotice, StateKind};
use crate::alert::{Acknowledgement, AlertState, Silence, TransitionKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// The subject prefix of the alert stream.
pub const ALERT_SUBJECT_PREFIX: &str = "pilot.alerts";

/// The version of [`AlertEvent`]'s wire shape.
pub const ALERT_EVENT_SCHEMA: u32 = 1;

/// One alert event: a transition with its context, as stored and as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertEvent {
    pub schema: u32,
    #[serde(flatten)]
    pub notice: AlertNotice,
    /// When it was recorded (wall clock); `transition.at` is when it came due.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// Who recorded it: `alerter`, or the user who acknowledged or silenced.
    pub recorded_by: String,
    /// An acknowledgement's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AlertEvent {
    pub fn new(notice: AlertNotice, recorded_at: OffsetDateTime, recorded_by: &str) -> Self {
        AlertEvent {
            schema: ALERT_EVENT_SCHEMA,
            notice,
            recorded_at,
            recorded_by: recorded_by.to_string(),
            note: None,
        }
    }

    /// The subject this event is recorded on; the same transition always gets the same one.
    pub fn subject(&self) -> String {
        subject_of(&self.notice)
    }

    pub fn kind(&self) -> &'static str {
        kind_name(&self.notice.transition.kind)
    }

    /// Whether a person did this (acknowledged, silenced), rather than the clock or the log.
    pub fn is_user_action(&self) -> bool {
        is_user_action(&self.notice.transition.kind)
    }
}

/// The two names of one kind of alert event. They differ for one kind only (a warning is
/// `pilot.alerts.warning.…` with `"kind": "warned"`), and receivers see both, so both are
/// written here once and the docs are checked against this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindNames {
    /// The subject token after `pilot.alerts` (also the `kind` label of the alert metrics).
    pub subject: &'static str,
    /// `transition.kind` in the event's JSON.
    pub transition: &'static str,
}

const WARNED: KindNames = names("warning", "warned");
const FIRED: KindNames = names("fired", "fired");
const ESCALATED: KindNames = names("escalated", "escalated");
const EXTENDED: KindNames = names("extended", "extended");
const ACKNOWLEDGED: KindNames = names("acknowledged", "acknowledged");
const SILENCED: KindNames = names("silenced", "silenced");
const RESOLVED: KindNames = names("resolved", "resolved");

/// Every kind of alert event, in lifecycle order: the catalogue of what is recorded and sent.
pub const KINDS: [KindNames; 7] = [
    WARNED,
    FIRED,
    ESCALATED,
    EXTENDED,
    ACKNOWLEDGED,
    SILENCED,
    RESOLVED,
];

const fn names(subject: &'static str, transition: &'static str) -> KindNames {
    KindNames {
        subject,
        transition,
    }
}

/// Both names of a transition's kind.
pub fn kind_names(kind: &TransitionKind) -> KindNames {
    match kind {
        TransitionKind::Warned { .. } => WARNED,
        TransitionKind::Fired { .. } => FIRED,
        TransitionKind::Escalated { .. } => ESCALATED,
        TransitionKind::Extended { .. } => EXTENDED,
        TransitionKind::Acknowledged { .. } => ACKNOWLEDGED,
        TransitionKind::Silenced { .. } => SILENCED,
        TransitionKind::Resolved { .. } => RESOLVED,
    }
}

/// The wire name of a transition kind, the subject token after `pilot.alerts`.
pub fn kind_name(kind: &TransitionKind) -> &'static str {
    kind_names(kind).subject
}

pub fn is_user_action(kind: &TransitionKind) -> bool {
    matches!(
        kind,
        TransitionKind::Acknowledged { .. } | TransitionKind::Silenced { .. }
    )
}

/// `pilot.alerts.<kind>.<alert_id>.<key>`: what tells this transition from every other one.
/// A warning can come again after an extension cleared it (keyed by its instant), an
/// escalation by its level, an extension by its instant and total days; firing, resolution
/// and acknowledgement happen once per alert.
pub fn subject_of(notice: &AlertNotice) -> String {
    let transition = &notice.transition;
    let at = transition.at.unix_timestamp();
    let key = match &transition.kind {
        TransitionKind::Warned { .. } | TransitionKind::Silenced { .. } => at.to_string(),
        TransitionKind::Escalated { level } => level.to_string(),
        TransitionKind::Extended { extra_days, .. } => format!("{at}-{extra_days}"),
        TransitionKind::Fired { .. }
        | TransitionKind::Acknowledged { .. }
        | TransitionKind::Resolved { .. } => "1".to_string(),
    };
    format!(
        "{ALERT_SUBJECT_PREFIX}.{}.{}.{key}",
        kind_name(&transition.kind),
        notice.alert_id.simple()
    )
}

/// An acknowledgement as recorded, with its note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordedAcknowledgement {
    #[serde(flatten)]
    pub acknowledgement: Acknowledgement,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A silence as recorded, with who asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordedSilence {
    #[serde(flatten)]
    pub silence: Silence,
    pub by: String,
}

/// One alert as its recorded events say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordedAlert {
    /// The latest notice: the pilot, the approver, the threshold and the wait as last recorded.
    #[serde(flatten)]
    pub latest: AlertNotice,
    /// `"state": "firing", "since": ..., "escalation_level": 2`, or `"state": "resolved", ...`.
    #[serde(flatten)]
    pub state: AlertState,
    /// When the approval stalls (stalled), as last recorded; moved by extensions.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    pub acknowledged: Option<RecordedAcknowledgement>,
    pub silences: Vec<RecordedSilence>,
    /// Stream positions of its events, in the order they were recorded.
    pub positions: Vec<u64>,
}

impl RecordedAlert {
    pub fn state_kind(&self) -> StateKind {
        StateKind::of(&self.state)
    }

    /// The silence covering `instant`, if any.
    pub fn silenced_at(&self, instant: OffsetDateTime) -> Option<&RecordedSilence> {
        self.silences
            .iter()
            .find(|s| s.silence.at <= instant && instant < s.silence.until)
    }
}

/// Every recorded alert, folded from the alert stream in order.
#[derive(Debug, Clone, Default)]
pub struct AlertHistory {
    alerts: BTreeMap<Uuid, RecordedAlert>,
    subjects: HashSet<String>,
    position: u64,
}

impl AlertHistory {
    pub fn new() -> Self {
        AlertHistory::default()
    }

    /// The stream position folded so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether a transition with this subject is already recorded.
    pub fn is_recorded(&self, subject: &str) -> bool {
        self.subjects.contains(subject)
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    pub fn get(&self, alert_id: &Uuid) -> Option<&RecordedAlert> {
        self.alerts.get(alert_id)
    }

    /// Alerts by id (request ids are v7 UUIDs, so roughly by request time).
    pub fn alerts(&self) -> impl Iterator<Item = &RecordedAlert> {
        self.alerts.values()
    }

    /// How many alerts are in each state.
    pub fn counts(&self) -> super::StateCounts {
        let mut counts = super::StateCounts::default();
        for alert in self.alerts.values() {
            counts.add(alert.state_kind());
        }
        counts
    }

    /// Folds the event stored at `position`. A second event on a subject already seen is
    /// ignored (false), so folding is idempotent.
    pub fn apply(&mut self, position: u64, event: &AlertEvent) -> bool {
        self.position = self.position.max(position);
        if !self.subjects.insert(event.subject()) {
            return false;
        }
        let notice = &event.notice;
        let alert = self
            .alerts
            .entry(notice.alert_id)
            .or_insert_with(|| RecordedAlert {
                latest: notice.clone(),
                state: AlertState::Pending,
                due_at: None,
                acknowledged: None,
                silences: Vec::new(),
                positions: Vec::new(),
            });
        alert.positions.push(position);
        let transition = &notice.transition;
        if transition.at >= alert.latest.transition.at {
            alert.latest = notice.clone();
        }
        let resolved = matches!(alert.state, AlertState::Resolved { .. });
        if let TransitionKind::Warned { due_at }
        | TransitionKind::Fired { due_at }
        | TransitionKind::Extended { due_at, .. } = &transition.kind
        {
            alert.due_at = Some(*due_at);
        }
        match &transition.kind {
            TransitionKind::Acknowledged { user } => {
                alert.acknowledged = Some(RecordedAcknowledgement {
                    acknowledgement: Acknowledgement {
                        at: transition.at,
                        user: user.clone(),
                    },
                    note: event.note.clone(),
                });
            }
            TransitionKind::Silenced { until, reason } => alert.silences.push(RecordedSilence {
                silence: Silence {
                    at: transition.at,
                    until: *until,
                    reason: reason.clone(),
                },
                by: event.recorded_by.clone(),
            }),
            // A resolved alert never reopens, whatever is recorded after.
            _ if resolved => {}
            TransitionKind::Warned { .. } => {
                if !matches!(alert.state, AlertState::Firing { .. }) {
                    alert.state = AlertState::Warning {
                        since: transition.at,
                    };
                }
            }
            TransitionKind::Fired { .. } => {
                alert.state = AlertState::Firing {
                    since: transition.at,
                    escalation_level: 1,
                }
            }
            TransitionKind::Escalated { level } => {
                let since = match alert.state {
                    AlertState::Firing { since, .. } => since,
                    _ => transition.at,
                };
                alert.state = AlertState::Firing {
                    since,
                    escalation_level: *level,
                };
            }
            TransitionKind::Extended {
                warning_cleared, ..
            } => {
                if *warning_cleared && matches!(alert.state, AlertState::Warning { .. }) {
                    alert.state = AlertState::Pending;
                }
            }
            TransitionKind::Resolved { reason, waited } => {
                alert.state = AlertState::Resolved {
                    at: transition.at,
                    reason: *reason,
                    waited: *waited,
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{ResolutionReason, Transition};
    use crate::alerting::{DayUnit, Threshold};
    use pilot_events::Level;
    use time::macros::datetime;
    use time::Duration;

    const T: OffsetDateTime = datetime!(2024-03-01 09:00 UTC);
    const ALERT: Uuid = Uuid::from_u128(7);

    fn event(kind: TransitionKind, at: OffsetDateTime) -> AlertEvent {
        let notice = AlertNotice {
            alert_id: ALERT,
            pilot_id: Uuid::from_u128(1),
            pilot_title: "LCHI".into(),
            approval_id: "mayor".into(),
            request_event_id: ALERT,
            approver_id: Uuid::from_u128(2),
            approver_name: Some("Mayor".into()),
            level: Level::Municipal,
            requested_at: T,
            waited_seconds: (at - T).whole_seconds(),
            waited_days: (at - T).whole_days() as u64,
            threshold: Threshold {
                days: 30,
                extra_days: 0,
                unit: DayUnit::CalendarDays,
                calendar: None,
                basis: None,
                counted_in: "calendar days".into(),
            },
            last_activity: T,
            transition: Transition {
                at,
                kind,
                notify: true,
            },
        };
        AlertEvent::new(notice, at, "alerter")
    }

    fn fired() -> AlertEvent {
        let due_at = T + Duration::days(30);
        event(TransitionKind::Fired { due_at }, due_at)
    }

    /// One transition of every kind; the match makes a new kind fail to compile here until
    /// it has an example (and so a place in the catalogue).
    fn one_of_each() -> Vec<TransitionKind> {
        let all = vec![
            TransitionKind::Warned { due_at: T },
            TransitionKind::Fired { due_at: T },
            TransitionKind::Escalated { level: 2 },
            TransitionKind::Extended {
                extra_days: 5,
                warn_at: T,
                due_at: T,
                warning_cleared: false,
            },
            TransitionKind::Acknowledged { user: "u".into() },
            TransitionKind::Silenced {
                until: T,
                reason: "r".into(),
            },
            TransitionKind::Resolved {
                reason: ResolutionReason::Granted,
                waited: Duration::days(3),
            },
        ];
        for kind in &all {
            match kind {
                TransitionKind::Warned { .. }
                | TransitionKind::Fired { .. }
                | TransitionKind::Escalated { .. }
                | TransitionKind::Extended { .. }
                | TransitionKind::Acknowledged { .. }
                | TransitionKind::Silenced { .. }
                | TransitionKind::Resolved { .. } => {}
            }
        }
        all
    }

    #[test]
    fn the_kind_catalogue_names_what_is_recorded_and_sent() {
        let sent: Vec<KindNames> = one_of_each()
            .into_iter()
            .map(|kind| {
                let event = event(kind, T);
                let json = serde_json::to_value(&event).unwrap();
                let names = kind_names(&event.notice.transition.kind);
                assert_eq!(json["transition"]["kind"], names.transition, "{json}");
                assert!(event
                    .subject()
                    .starts_with(&format!("pilot.alerts.{}.", names.subject)));
                names
            })
            .collect();
        assert_eq!(sent, KINDS);
    }

    #[test]
    fn every_transition_has_its_own_subject_and_the_same_one_every_time() {
        let at = T + Duration::days(24);
        let warned = event(TransitionKind::Warned { due_at: at }, at);
        let subjects = [
            warned.subject(),
            fired().subject(),
            event(
                TransitionKind::Escalated { level: 2 },
                T + Duration::days(60),
            )
            .subject(),
            event(
                TransitionKind::Escalated { level: 3 },
                T + Duration::days(90),
            )
            .subject(),
        ];
        let unique: HashSet<_> = subjects.iter().collect();
        assert_eq!(unique.len(), subjects.len(), "{subjects:?}");
        assert_eq!(fired().subject(), fired().subject());
        assert_eq!(
            fired().subject(),
            format!("pilot.alerts.fired.{}.1", ALERT.simple())
        );
    }

    #[test]
    fn folding_is_idempotent_and_a_resolved_alert_never_reopens() {
        let mut history = AlertHistory::new();
        assert!(history.apply(1, &fired()));
        assert!(!history.apply(2, &fired()), "same subject again");
        assert_eq!(
            history.get(&ALERT).map(|a| a.positions.clone()),
            Some(vec![1])
        );
        let resolved = event(
            TransitionKind::Resolved {
                reason: ResolutionReason::Granted,
                waited: Duration::days(40),
            },
            T + Duration::days(40),
        );
        history.apply(3, &resolved);
        // An escalation recorded late (a successor's catch-up order) does not reopen it.
        history.apply(
            4,
            &event(
                TransitionKind::Escalated { level: 2 },
                T + Duration::days(60),
            ),
        );
        let alert = history.get(&ALERT).map(RecordedAlert::state_kind);
        assert_eq!(alert, Some(StateKind::Resolved));
        assert_eq!(history.counts().resolved, 1);
    }
}
