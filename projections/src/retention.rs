//! Retention rules: when a person's personal data is due to be erased, from the log alone.
//!
//! A rule (`[[retention]]` in the service's configuration) names a stakeholder kind, a number
//! of days and what they count from. The plan ([`plan`]) applies the rules to a [`World`]: for
//! every registered *person* (`stakeholder.registered` with `person: true`) of a kind a rule
//! names and not yet erased, the instant its erasure falls due, or why it has none yet. The
//! service's retention loop erases each subject once its instant has come (`subject.erased`,
//! with a reason naming the rule); `GET /api/v1/subjects/erasure-plan` and `pilot erase --plan`
//! show the same plan before it happens.
//!
//! # When a pilot has ended
//!
//! A pilot has ended when it entered a terminal stage, `terminated` or `merged` (stages that
//! accept no further stage moves; `scaled` is still running: contacts are still logged). It
//! ended at the `occurred_at` of the event that took it there. A retracted termination undoes
//! the end, and the plan follows (an erasure already recorded stays: it is final).
//!
//! # Which pilots a person appears in
//!
//! Those whose chain names the person: a contact with them (`lobbying.contact_logged`,
//! also as the contact's intermediary), a stance assessed (`stakeholder.stance_assessed`), an
//! alliance naming them, or an approval they were asked for (pending or decided). These are the
//! events that hold personal fields about the person or tie the person to the pilot's purpose.
//!
//! # The due instant
//!
//! `from = "pilot_end"`: `after_days` × 24 hours after the *last* of those pilots ended; while
//! any of them is still running there is no instant yet, and a person who appears in no pilot
//! has none either (a rule `from = "registered"` covers them). `from = "registered"`:
//! `after_days` × 24 hours after the person's registration (`occurred_at`).
//!
//! Nothing here reads a clock: whether an instant has come is the caller's question.

use crate::registry::Stakeholder;
use crate::world::World;
use pilot_events::StakeholderKind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The longest retention a rule may give (100 years): far beyond any law's, and far from the
/// end of the calendar the instants are computed in.
pub const MAX_AFTER_DAYS: u32 = 36_525;

/// What a rule's days count from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RetentionStart {
    /// The end of the last pilot the person appears in (see the module docs).
    PilotEnd,
    /// The person's registration.
    Registered,
}

impl RetentionStart {
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionStart::PilotEnd => "pilot_end",
            RetentionStart::Registered => "registered",
        }
    }
}

/// One `[[retention]]` entry: persons of `kind` are erased `after_days` days after `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub kind: StakeholderKind,
    pub after_days: u32,
    pub from: RetentionStart,
}

impl RetentionRule {
    /// The reason recorded in the `subject.erased` this rule leads to. It names the rule, never
    /// the person (the reason is not sealed).
    pub fn reason(&self) -> String {
        let from = match self.from {
            RetentionStart::PilotEnd => "after the last pilot they appear in ended",
            RetentionStart::Registered => "after their registration",
        };
        format!(
            "retention rule: {} persons are erased {} days {from} (kind = \"{}\", after_days = {}, from = \"{}\")",
            self.kind,
            self.after_days,
            self.kind,
            self.after_days,
            self.from.as_str()
        )
    }
}

/// Why a set of rules cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("[[retention]] has two rules for kind \"{kind}\": give each stakeholder kind at most one rule")]
    TwoRulesForKind { kind: StakeholderKind },
    #[error("[[retention]] kind \"{kind}\": after_days = {after_days} is more than {MAX_AFTER_DAYS} (100 years); give fewer days")]
    TooLong {
        kind: StakeholderKind,
        after_days: u32,
    },
}

/// The configured rules, at most one per stakeholder kind. Empty: nothing is ever erased by
/// retention.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct RetentionRules(Vec<RetentionRule>);

impl RetentionRules {
    /// The rules as configured, checked: one per kind, days within [`MAX_AFTER_DAYS`].
    pub fn new(rules: Vec<RetentionRule>) -> Result<RetentionRules, RuleError> {
        let mut kinds = BTreeSet::new();
        for rule in &rules {
            if !kinds.insert(rule.kind) {
                return Err(RuleError::TwoRulesForKind { kind: rule.kind });
            }
            if rule.after_days > MAX_AFTER_DAYS {
                return Err(RuleError::TooLong {
                    kind: rule.kind,
                    after_days: rule.after_days,
                });
            }
        }
        Ok(RetentionRules(rules))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn rules(&self) -> &[RetentionRule] {
        &self.0
    }

    /// The rule for stakeholders of `kind`, if any.
    pub fn for_kind(&self, kind: StakeholderKind) -> Option<&RetentionRule> {
        self.0.iter().find(|rule| rule.kind == kind)
    }
}

/// What a planned erasure counts from, or why it has no instant yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Basis {
    /// The last pilot the person appears in ended at `ended_at`.
    PilotEnded {
        pilot_id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        ended_at: OffsetDateTime,
    },
    /// No instant yet: these pilots the person appears in are still running.
    PilotsRunning { pilot_ids: Vec<Uuid> },
    /// No instant: the person appears in no pilot (a `from = "pilot_end"` rule).
    NoPilot,
    /// The person was registered at `registered_at`.
    Registered {
        #[serde(with = "time::serde::rfc3339")]
        registered_at: OffsetDateTime,
    },
}

/// One person a rule applies to, and when it will be erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlannedErasure {
    pub stakeholder_id: Uuid,
    /// The name as stored (a sealed token for a person: readers reveal it where a key exists).
    pub name: String,
    pub kind: StakeholderKind,
    pub rule: RetentionRule,
    /// The instant the erasure falls due; `None` while `basis` gives none.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    /// What `due_at` counts from, or why there is none yet.
    pub basis: Basis,
    /// The reason the `subject.erased` will record.
    pub reason: String,
}

impl PlannedErasure {
    /// Whether the erasure is due at `now` (its instant has come).
    pub fn is_due(&self, now: OffsetDateTime) -> bool {
        self.due_at.is_some_and(|due| due <= now)
    }
}

/// Every person a rule applies to and not yet erased, by due instant (earliest first; those
/// without an instant last), then by id.
pub fn plan(world: &World, rules: &RetentionRules) -> Vec<PlannedErasure> {
    if rules.is_empty() {
        return Vec::new();
    }
    let appearances = appearances(world);
    let mut planned: Vec<PlannedErasure> = world
        .registry()
        .all()
        .into_iter()
        .filter(|s| s.person && s.erased.is_none())
        .filter_map(|s| {
            let rule = rules.for_kind(s.kind)?;
            Some(planned_for(s, rule, appearances.get(&s.stakeholder_id)))
        })
        .collect();
    planned.sort_by(|a, b| {
        let key = |p: &PlannedErasure| (p.due_at.is_none(), p.due_at);
        key(a)
            .cmp(&key(b))
            .then(a.stakeholder_id.cmp(&b.stakeholder_id))
    });
    planned
}

/// The erasures due at `now`: [`plan`]'s entries whose instant has come.
pub fn due(world: &World, rules: &RetentionRules, now: OffsetDateTime) -> Vec<PlannedErasure> {
    plan(world, rules)
        .into_iter()
        .filter(|p| p.is_due(now))
        .collect()
}

/// The earliest instant after `now` at which an erasure falls due, for a loop to sleep until.
pub fn next_due_after(
    world: &World,
    rules: &RetentionRules,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    plan(world, rules)
        .into_iter()
        .filter_map(|p| p.due_at)
        .find(|due| *due > now)
}

/// How one pilot stands for the people it names: ended (when) or running.
type PilotEnd = Option<OffsetDateTime>;

/// For each stakeholder named by a pilot (see the module docs), the pilots that name it.
fn appearances(world: &World) -> BTreeMap<Uuid, BTreeMap<Uuid, PilotEnd>> {
    let mut out: BTreeMap<Uuid, BTreeMap<Uuid, PilotEnd>> = BTreeMap::new();
    for record in world.pilots() {
        let state = &record.state;
        let ended = state.stage.is_terminal().then(|| {
            state
                .stage_entered_at
                .get(&state.stage)
                .map_or(state.last_activity, |entered| entered.0)
        });
        let mut named: BTreeSet<Uuid> = BTreeSet::new();
        for (id, support) in &record.support.stakeholders {
            named.insert(*id);
            named.extend(support.through.iter().copied());
        }
        named.extend(state.pending_approvals.values().map(|a| a.approver_id));
        named.extend(
            state
                .decided_approvals
                .iter()
                .map(|d| d.approval.approver_id),
        );
        for id in named {
            out.entry(id).or_default().insert(state.pilot_id, ended);
        }
    }
    out
}

fn planned_for(
    stakeholder: &Stakeholder,
    rule: &RetentionRule,
    pilots: Option<&BTreeMap<Uuid, PilotEnd>>,
) -> PlannedErasure {
    let basis = match rule.from {
        RetentionStart::Registered => Basis::Registered {
            registered_at: stakeholder.registered_at,
        },
        RetentionStart::PilotEnd => match pilots {
            None => Basis::NoPilot,
            Some(pilots) => {
                let running: Vec<Uuid> = pilots
                    .iter()
                    .filter(|(_, ended)| ended.is_none())
                    .map(|(id, _)| *id)
                    .collect();
                let last = pilots
                    .iter()
                    .filter_map(|(id, ended)| Some((ended.as_ref().copied()?, *id)))
                    .max();
                match (running.is_empty(), last) {
                    (true, Some((ended_at, pilot_id))) => Basis::PilotEnded { pilot_id, ended_at },
                    (false, _) => Basis::PilotsRunning { pilot_ids: running },
                    (true, None) => Basis::NoPilot,
                }
            }
        },
    };
    let start = match &basis {
        Basis::PilotEnded { ended_at, .. } => Some(*ended_at),
        Basis::Registered { registered_at } => Some(*registered_at),
        Basis::PilotsRunning { .. } | Basis::NoPilot => None,
    };
    let after = Duration::days(i64::from(rule.after_days));
    PlannedErasure {
        stakeholder_id: stakeholder.stakeholder_id,
        name: stakeholder.name.clone(),
        kind: stakeholder.kind,
        rule: *rule,
        due_at: start.and_then(|at| at.checked_add(after)),
        basis,
        reason: rule.reason(),
    }
}
