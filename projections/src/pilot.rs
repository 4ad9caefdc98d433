//! One pilot's state: stage and the dates it entered each, pending approvals, targets, metrics,
//! scale-ups, adoptions and merges. Folded from the pilot's own chain, event by event.
//!
//! `evolve` assumes the event was accepted by [`crate::decide`]; it never refuses anything, so
//! rebuilding from stored history cannot fail half-way.

use crate::stall::PendingApproval;
use pilot_events::data::*;
use pilot_events::{AdoptionMechanism, Direction, Envelope, Event, Hash, Level, Qualifier, Stage};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageEntry {
    pub stage: Stage,
    #[serde(with = "time::serde::rfc3339")]
    pub entered_at: OffsetDateTime,
    /// Schema 2: how exactly the entering event's date is known; views show the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<pilot_events::Precision>,
    pub event_id: Uuid,
}

impl StageEntry {
    /// When the stage was entered, as views show it ("2000" for a year-precision event).
    pub fn period(&self) -> String {
        crate::period::shown(self.entered_at, self.precision)
    }
}

/// One `implementation.target_set`, as set (schema 2 adds `direction` and `set_by`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Target {
    #[serde(default)]
    pub metric: String,
    pub target: f64,
    #[serde(with = "date")]
    pub due: Date,
    /// Which side of `target` is met (`at_least` when the event gave none).
    pub direction: Direction,
    /// The stakeholder who set it, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<Uuid>,
    /// The event's `occurred_at`: a later target for the metric supersedes it from then.
    #[serde(with = "time::serde::rfc3339")]
    pub set_at: OffsetDateTime,
    pub event_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricPoint {
    pub value: f64,
    pub unit: String,
    #[serde(with = "date")]
    pub as_of: Date,
    pub source: String,
    /// Schema 2: how exactly `value` is known (`exact` when the event gave none).
    pub qualifier: Qualifier,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_for: OffsetDateTime,
    pub event_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScaleUp {
    pub to_level: Level,
    pub scope: String,
    pub successor_title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Adoption {
    pub jurisdiction: String,
    pub level: Level,
    pub mechanism: AdoptionMechanism,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Schema 2: "this pilot <relation> the other", from a `pilot.linked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PilotLink {
    pub relation: pilot_events::LinkRelation,
    pub other_pilot_id: Uuid,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event_id: Uuid,
}

/// How a decided approval ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOutcome {
    Granted,
    Denied,
    Withdrawn,
    /// The pilot was merged or terminated while the approval was pending.
    PilotEnded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecidedApproval {
    /// The approval as it was while pending (request, approver, level, extensions), so its
    /// wait can be replayed against the stall rules without searching the chain.
    #[serde(flatten)]
    pub approval: PendingApproval,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    pub outcome: ApprovalOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PilotState {
    pub pilot_id: Uuid,
    pub title: String,
    pub jurisdiction: String,
    pub policy_area: String,
    pub level: Level,
    pub problem_frame: String,
    /// The office that proposed the pilot owns it.
    pub office: String,
    pub stage: Stage,
    /// When the pilot last entered each stage it has been in.
    pub stage_entered_at: BTreeMap<Stage, StageEntryTime>,
    pub stage_history: Vec<StageEntry>,
    pub design: Option<ProgramDesigned>,
    pub pending_approvals: BTreeMap<String, PendingApproval>,
    /// Pending approvals requested before implementation: they gate the stage.
    pub gate_approvals: BTreeSet<String>,
    /// Where a withdrawn gate request returns to.
    pub stage_before_request: Option<Stage>,
    pub decided_approvals: Vec<DecidedApproval>,
    /// The target in force per metric: the latest set by (`occurred_at`, chain order).
    pub targets: BTreeMap<String, Target>,
    /// Every target ever set, superseded ones included, in chain order
    /// ([`crate::targets`] judges each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_history: Vec<Target>,
    /// Every recorded value per metric, in (`occurred_at`, stream position) order: a value
    /// learned late takes its place by the date it was recorded for.
    pub metrics: BTreeMap<String, Vec<MetricPoint>>,
    pub scale_ups: Vec<ScaleUp>,
    pub adoptions: Vec<Adoption>,
    pub merged_into: Option<Uuid>,
    /// Schema 2: how this pilot relates to others (renamed or upgraded into, bundled with,
    /// modelled on), in chain order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PilotLink>,
    /// Pilots merged into this one (filled from their chains by the whole projection).
    pub merged_from: Vec<Uuid>,
    pub termination_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity: OffsetDateTime,
    /// Events in this pilot's chain, retracted ones and retractions included.
    pub version: u64,
    pub last_hash: Hash,
}

/// A stage entry time, serialized as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageEntryTime(#[serde(with = "time::serde::rfc3339")] pub OffsetDateTime);

/// Progress of one metric against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub metric: String,
    pub latest: f64,
    pub target: f64,
    /// How exactly `latest` is known ("≥ 6,000,000" is `at_least`); progress uses it as given.
    pub qualifier: Qualifier,
    /// latest / target, e.g. 0.88 for 880,000 insured against a 1,000,000 target.
    pub progress: f64,
    #[serde(with = "date")]
    pub due: Date,
}

impl PilotState {
    /// The state right after `pilot.proposed`.
    pub fn proposed(envelope: &Envelope, data: &PilotProposed, pilot_id: Uuid) -> PilotState {
        let mut state = PilotState {
            pilot_id,
            title: data.title.clone(),
            jurisdiction: data.jurisdiction.clone(),
            policy_area: data.policy_area.clone(),
            level: data.level,
            problem_frame: data.problem_frame.clone(),
            office: envelope.actor.office.clone(),
            stage: Stage::Framing,
            stage_entered_at: BTreeMap::new(),
            stage_history: Vec::new(),
            design: None,
            pending_approvals: BTreeMap::new(),
            gate_approvals: BTreeSet::new(),
            stage_before_request: None,
            decided_approvals: Vec::new(),
            targets: BTreeMap::new(),
            target_history: Vec::new(),
            metrics: BTreeMap::new(),
            scale_ups: Vec::new(),
            adoptions: Vec::new(),
            merged_into: None,
            links: Vec::new(),
            merged_from: Vec::new(),
            termination_reason: None,
            last_activity: envelope.occurred_at,
            version: 1,
            last_hash: envelope.hash,
        };
        state.enter(Stage::Framing, envelope);
        state
    }

    /// The latest value of a metric: the last in (`occurred_at`, stream position) order, the
    /// order every fold follows (docs/research-record.md, "Facts learned late").
    pub fn latest_metric(&self, metric: &str) -> Option<&MetricPoint> {
        self.metrics.get(metric)?.last()
    }

    /// Progress against every target whose metric has a value.
    pub fn progress(&self) -> Vec<Progress> {
        self.targets
            .iter()
            .filter_map(|(metric, target)| {
                let point = self.latest_metric(metric)?;
                let latest = point.value;
                Some(Progress {
                    metric: metric.clone(),
                    latest,
                    target: target.target,
                    qualifier: point.qualifier,
                    progress: latest / target.target,
                    due: target.due,
                })
            })
            .collect()
    }

    /// Applies an accepted event of this pilot's chain (not `pilot.proposed`, which creates it).
    pub fn evolve(&mut self, envelope: &Envelope) {
        self.version += 1;
        self.last_hash = envelope.hash;
        self.last_activity = self.last_activity.max(envelope.occurred_at);
        let at = envelope.occurred_at;
        match &envelope.event {
            Event::ProgramDesigned(d) => {
                self.design = Some(d.clone());
                self.enter(Stage::Design, envelope);
            }
            Event::ApprovalRequested(d) => {
                let pending = PendingApproval::requested(envelope.event_id, at, d);
                self.pending_approvals
                    .insert(d.approval_id.clone(), pending);
                if matches!(
                    self.stage,
                    Stage::Framing | Stage::Design | Stage::AwaitingApproval
                ) {
                    self.gate_approvals.insert(d.approval_id.clone());
                    if self.stage != Stage::AwaitingApproval {
                        self.stage_before_request = Some(self.stage);
                        self.enter(Stage::AwaitingApproval, envelope);
                    }
                }
            }
            Event::ApprovalExtended(d) => {
                if let Some(pending) = self.pending_approvals.get_mut(&d.approval_id) {
                    pending.extend(d.extra_days, d.stalls_at);
                }
            }
            Event::ApprovalGranted(d) => {
                if self.decide_approval(&d.approval_id, at, ApprovalOutcome::Granted)
                    && self.stage == Stage::AwaitingApproval
                    && self.gate_approvals.is_empty()
                {
                    self.enter(Stage::Approved, envelope);
                }
            }
            Event::ApprovalDenied(d) => {
                if self.decide_approval(&d.approval_id, at, ApprovalOutcome::Denied) {
                    self.enter(Stage::Design, envelope);
                }
            }
            Event::ApprovalWithdrawn(d) => {
                if self.decide_approval(&d.approval_id, at, ApprovalOutcome::Withdrawn)
                    && self.stage == Stage::AwaitingApproval
                    && self.gate_approvals.is_empty()
                {
                    let back = self.stage_before_request.unwrap_or(Stage::Design);
                    self.enter(back, envelope);
                }
            }
            Event::ImplementationStarted(_) => self.enter(Stage::Implementing, envelope),
            Event::TargetSet(d) => {
                let target = Target {
                    metric: d.metric.clone(),
                    target: d.target,
                    due: d.due,
                    direction: d.direction(),
                    set_by: d.set_by,
                    set_at: at,
                    event_id: envelope.event_id,
                };
                // A target learned late does not displace one set after it in the world.
                if self
                    .targets
                    .get(&d.metric)
                    .is_none_or(|current| current.set_at <= at)
                {
                    self.targets.insert(d.metric.clone(), target.clone());
                }
                self.target_history.push(target);
            }
            Event::MetricRecorded(d) => {
                let point = MetricPoint {
                    value: d.value,
                    unit: d.unit.clone(),
                    as_of: d.as_of,
                    source: d.source.clone(),
                    qualifier: d.qualifier(),
                    recorded_for: at,
                    event_id: envelope.event_id,
                };
                // Look up before inserting: most records extend an existing series, and the
                // key would otherwise be cloned (and freed) on every record.
                match self.metrics.get_mut(&d.metric) {
                    Some(series) => insert_in_time_order(series, point),
                    None => {
                        self.metrics.insert(d.metric.clone(), vec![point]);
                    }
                }
            }
            Event::PilotScaled(d) => {
                self.scale_ups.push(ScaleUp {
                    to_level: d.to_level,
                    scope: d.scope.clone(),
                    successor_title: d.successor_title.clone(),
                    at,
                });
                if self.stage != Stage::Scaled {
                    self.enter(Stage::Scaled, envelope);
                }
            }
            Event::AdoptedElsewhere(d) => self.adoptions.push(Adoption {
                jurisdiction: d.jurisdiction.clone(),
                level: d.level,
                mechanism: d.mechanism,
                at,
            }),
            Event::PilotMerged(d) => {
                self.end_pending_approvals(at);
                self.merged_into = Some(d.into_pilot_id);
                self.enter(Stage::Merged, envelope);
            }
            Event::PilotTerminated(d) => {
                self.end_pending_approvals(at);
                self.termination_reason = Some(d.reason.clone());
                self.enter(Stage::Terminated, envelope);
            }
            Event::PilotLinked(d) => self.links.push(PilotLink {
                relation: d.relation,
                other_pilot_id: d.other_pilot_id,
                note: d.note.clone(),
                at,
                event_id: envelope.event_id,
            }),
            // Support, ledger, registry and jurisdiction events are folded by their own
            // projections; retractions are handled by refolding the chain.
            Event::PilotProposed(_)
            | Event::StakeholderRegistered(_)
            | Event::JurisdictionRegistered(_)
            | Event::ContextRecorded(_)
            | Event::TenureRecorded(_)
            | Event::SubjectErased(_)
            | Event::ContactLogged(_)
            | Event::StanceAssessed(_)
            | Event::AllianceFormed(_)
            | Event::HighlightRecorded(_)
            | Event::EventRetracted(_) => {}
        }
    }

    /// Removes a pending approval and records its outcome; true when it was a gate approval.
    fn decide_approval(
        &mut self,
        approval_id: &str,
        at: OffsetDateTime,
        outcome: ApprovalOutcome,
    ) -> bool {
        if let Some(pending) = self.pending_approvals.remove(approval_id) {
            self.decided_approvals.push(DecidedApproval {
                approval: pending,
                decided_at: at,
                outcome,
            });
        }
        self.gate_approvals.remove(approval_id)
    }

    fn end_pending_approvals(&mut self, at: OffsetDateTime) {
        let ids: Vec<String> = self.pending_approvals.keys().cloned().collect();
        for id in ids {
            self.decide_approval(&id, at, ApprovalOutcome::PilotEnded);
        }
    }

    fn enter(&mut self, stage: Stage, envelope: &Envelope) {
        self.stage = stage;
        self.stage_entered_at
            .insert(stage, StageEntryTime(envelope.occurred_at));
        self.stage_history.push(StageEntry {
            stage,
            entered_at: envelope.occurred_at,
            precision: envelope.provenance.precision,
            event_id: envelope.event_id,
        });
    }
}

/// Puts `point` after every point that occurred at or before it. It arrived after all of them
/// (a later stream position), so on equal `occurred_at` it comes last: the series stays in
/// (`occurred_at`, stream position) order. A point in time order lands at the end.
fn insert_in_time_order(series: &mut Vec<MetricPoint>, point: MetricPoint) {
    let at = series.partition_point(|p| p.recorded_for <= point.recorded_for);
    series.insert(at, point);
}

/// Dates as `YYYY-MM-DD`, the same shape as on the wire.
pub(crate) mod date {
    time::serde::format_description!(pub(crate) iso, Date, "[year]-[month]-[day]");
    pub(crate) use iso::{deserialize, option, serialize};
}
