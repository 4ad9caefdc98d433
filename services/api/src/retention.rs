//! Retention: the erasure plan (`GET /api/v1/subjects/erasure-plan`, admin) and the loop that
//! carries it out ([`RetentionLoop`]).
//!
//! The plan is [`pilot_projections::retention::plan`] over the live world and the
//! `[[retention]]` rules in [`AppState::retention`]. The loop erases each person whose instant
//! has come through [`crate::erasure::erase_subject`], the same path as an administrator's
//! `POST /api/v1/subjects/{id}/erase`, with the rule as the reason. It reads "now" from the
//! state's clock and sleeps until the plan's next instant (a test moves a `ManualClock` across
//! it), and plans again whenever the log moves (a pilot ends, a person is erased by hand).
//!
//! Several processes may run the loop over one log: the first erasure is stored, the others
//! are refused with 409 `already_erased`, which the loop takes as done.

use crate::erasure::erase_subject;
use crate::error::{ApiError, Body as ErrorBody};
use crate::query::{params, Params};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use pilot_events::Actor;
use pilot_projections::retention::{plan, Basis, PlannedErasure, RetentionRule};
use serde::Serialize;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// Who a retention erasure is recorded by (`actor`): no person, the rules.
pub const ACTOR_OFFICE: &str = "system";
pub const ACTOR_USER: &str = "retention";
/// How long the loop waits before trying an erasure again after a failure (the store
/// unreachable, say).
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// How often the loop looks whether the service has caught up with the log at start-up.
const READY_POLL: Duration = Duration::from_millis(100);

/// The answer of `GET /api/v1/subjects/erasure-plan`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErasurePlan {
    /// The instant the plan was read at (the service's clock): `due` compares with it.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The `[[retention]]` rules, as configured.
    pub rules: Vec<RetentionRule>,
    /// Every person a rule applies to and not yet erased, earliest instant first; those with
    /// no instant yet last.
    pub subjects: Vec<PlanEntry>,
}

/// One person the retention rules will erase.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanEntry {
    pub stakeholder_id: Uuid,
    /// The name as stored (readers reveal a sealed name where its key exists).
    pub name: String,
    pub kind: pilot_events::StakeholderKind,
    /// The rule that applies (the one for the person's kind).
    pub rule: RetentionRule,
    /// When the erasure falls due; `null` while `basis` gives no instant.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    /// The instant has come: the service erases the person on its next pass (within moments).
    pub due: bool,
    /// What `due_at` counts from, or why there is none yet.
    pub basis: Basis,
    /// The reason the `subject.erased` will record.
    pub reason: String,
}

impl PlanEntry {
    fn new(planned: PlannedErasure, at: OffsetDateTime) -> PlanEntry {
        PlanEntry {
            due: planned.is_due(at),
            stakeholder_id: planned.stakeholder_id,
            name: planned.name,
            kind: planned.kind,
            rule: planned.rule,
            due_at: planned.due_at,
            basis: planned.basis,
            reason: planned.reason,
        }
    }
}

/// What the retention rules will erase, and when.
///
/// Every registered person of a kind a `[[retention]]` rule names, not yet erased, with the
/// instant its personal data falls due for erasure: `after_days` after the last pilot it
/// appears in ended (`terminated` or `merged`), or after its registration. While one of its
/// pilots still runs it has no instant yet (docs/retention.md).
#[utoipa::path(get, path = "/subjects/erasure-plan", tag = "stakeholders", summary = "What the retention rules will erase, and when",
    responses(
        (status = 200, description = "The rules and every person they will erase, earliest first.", body = ErasurePlan,
            example = json!({
                "at": "2026-12-05T13:00:00Z",
                "rules": [{"kind": "resident_group", "after_days": 1826, "from": "pilot_end"}],
                "subjects": [{
                    "stakeholder_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                    "name": "Residents' committee chair Wang",
                    "kind": "resident_group",
                    "rule": {"kind": "resident_group", "after_days": 1826, "from": "pilot_end"},
                    "due_at": "2029-06-30T09:00:00Z",
                    "due": false,
                    "basis": {"state": "pilot_ended", "pilot_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60", "ended_at": "2024-06-30T09:00:00Z"},
                    "reason": "retention rule: resident_group persons are erased 1826 days after the last pilot they appear in ended (kind = \"resident_group\", after_days = 1826, from = \"pilot_end\")"
                }]
            })),
        (status = 400, description = "`unknown_parameter`: this endpoint takes none.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the plan is an administrator's.", body = ErrorBody),
    )
)]
#[tracing::instrument(name = "erasure_plan", skip_all)]
pub async fn erasure_plan(
    State(state): State<AppState>,
    query: Params,
) -> Result<Json<ErasurePlan>, ApiError> {
    params(query, &[])?;
    let at = state.clock.now();
    let planned = {
        let world = state.projection.read();
        plan(&world, &state.retention)
    };
    Ok(Json(ErasurePlan {
        at,
        rules: state.retention.rules().to_vec(),
        subjects: planned.into_iter().map(|p| PlanEntry::new(p, at)).collect(),
    }))
}

/// How far the retention loop has come: published after every pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The log position the last pass planned at.
    pub position: u64,
    /// The clock's instant the last pass planned at.
    pub looked_at: Option<OffsetDateTime>,
    /// Erasures this loop recorded.
    pub erased: u64,
    /// Erasures another process (or an administrator) had recorded first (409).
    pub already_erased: u64,
}

/// The loop that erases what the retention rules make due: run it with [`RetentionLoop::run`].
#[derive(Debug)]
pub struct RetentionLoop {
    state: AppState,
    progress: watch::Sender<Progress>,
}

impl RetentionLoop {
    /// A loop over `state`'s projection, rules, clock and erasure path.
    pub fn new(state: AppState) -> RetentionLoop {
        RetentionLoop {
            state,
            progress: watch::Sender::new(Progress::default()),
        }
    }

    /// Follows this loop's [`Progress`] (tests wait on it).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Waits until the service has caught up with the log (an erasure is final, so it is
    /// never decided on half a history), then erases what is due, and again whenever the log
    /// moves or the clock reaches the next instant, until `shutdown` turns true. Without rules
    /// it returns at once.
    #[tracing::instrument(name = "retention", skip_all)]
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if self.state.retention.is_empty() {
            return;
        }
        while !self.state.is_ready() {
            tokio::select! {
                () = tokio::time::sleep(READY_POLL) => {}
                () = stopped(&mut shutdown) => return,
            }
        }
        let mut positions = self.state.projection.subscribe();
        loop {
            let (failed, next) = self.pass().await;
            let clock = self.state.clock.clone();
            let wake = async move {
                match (failed, next) {
                    (true, _) => tokio::time::sleep(RETRY_AFTER).await,
                    (false, Some(at)) => clock.sleep_until(at).await,
                    (false, None) => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = positions.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = wake => {}
                () = stopped(&mut shutdown) => return,
            }
        }
    }

    /// Erases every person due now. Returns whether an erasure failed (to be tried again),
    /// and the next instant after now at which one falls due.
    async fn pass(&self) -> (bool, Option<OffsetDateTime>) {
        let state = &self.state;
        let now = state.clock.now();
        let (position, planned) = {
            let world = state.projection.read();
            (world.position(), plan(&world, &state.retention))
        };
        self.progress.send_modify(|p| {
            p.position = position;
            p.looked_at = Some(now);
        });
        if let Some(reason) = state.refused().or_else(|| state.writes_stopped()) {
            // `/readyz` and the halt's own log line say why; this would repeat it every pass.
            tracing::debug!(message = "Retention erasures wait: the service does not write.", %reason);
            return (true, None);
        }
        let next = planned
            .iter()
            .filter_map(|p| p.due_at)
            .find(|due| *due > now);
        let mut failed = false;
        for due in planned.into_iter().filter(|p| p.is_due(now)) {
            let actor = Actor {
                office: ACTOR_OFFICE.to_string(),
                user: ACTOR_USER.to_string(),
            };
            let subject = due.stakeholder_id;
            match erase_subject(state, subject, due.reason, actor).await {
                Ok(_) => {
                    tracing::info!(
                        message = "Erased a person's personal data under a retention rule.",
                        stakeholder_id = %subject,
                        kind = %due.kind,
                        due_at = %due.due_at.map(pilot_events::rfc3339).unwrap_or_default(),
                    );
                    self.progress.send_modify(|p| p.erased += 1);
                }
                Err(error) if error.code == "already_erased" => {
                    self.progress.send_modify(|p| p.already_erased += 1);
                }
                Err(error) => {
                    tracing::warn!(
                        message = "A retention erasure failed; it is tried again.",
                        stakeholder_id = %subject,
                        code = error.code,
                        error = %error.message,
                    );
                    failed = true;
                }
            }
        }
        (failed, next)
    }
}

async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::auth::{Role, Tokens};
    use crate::state::Access;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use pilot_alerter::ManualClock;
    use pilot_events::data::*;
    use pilot_events::{Event, Level, StakeholderKind, Subject};
    use pilot_projections::retention::{RetentionRules, RetentionStart};
    use pilot_runtime::checkpoint::CheckpointKey;
    use pilot_runtime::runtime::{Runtime, RuntimeOptions};
    use pilot_runtime::writer::Draft;
    use pilot_store::memory::MemoryLog;
    use pilot_store::SharedLog;
    use std::sync::Arc;
    use time::macros::datetime;
    use tower::ServiceExt;

    const ADMIN: &str = "admin-token";
    const ANALYST: &str = "analyst-token";
    const AFTER_DAYS: u32 = 1826;

    struct Rig {
        state: AppState,
        clock: Arc<ManualClock>,
        _runtime: Runtime,
        stop: watch::Sender<bool>,
    }

    async fn rig(rules: RetentionRules) -> Rig {
        let log = Arc::new(MemoryLog::new());
        let (stop, shutdown) = watch::channel(false);
        let options = RuntimeOptions {
            name: "memory".into(),
            book: pilot_projections::AlertBook::default(),
            checkpoint_key: CheckpointKey::generate().unwrap(),
            collect_alerts: false,
        };
        let runtime = Runtime::start_memory(log.clone(), options, shutdown).await;
        let clock = Arc::new(ManualClock::new(datetime!(2020-01-01 0:00 UTC)));
        let mut tokens = Tokens::default();
        tokens.add_clear("root", Role::Admin, None, ADMIN);
        tokens.add_clear("reader", Role::Analyst, None, ANALYST);
        let keys = pilot_store::subject_keys::SubjectKeys::memory();
        let eraser = keys.memory_eraser();
        let state = AppState::shared(SharedLog::from_arc(log), runtime.projection().clone())
            .with_personal_data(keys, eraser)
            .with_retention(rules)
            .with_clock(clock.clone())
            .with_access(Access {
                tokens,
                ..Access::default()
            });
        state.set_ready();
        Rig {
            state,
            clock,
            _runtime: runtime,
            stop,
        }
    }

    impl Rig {
        async fn append(&self, subject: Subject, at: OffsetDateTime, event: Event) -> u64 {
            let draft = Draft {
                event_id: None,
                subject,
                occurred_at: at,
                actor: Actor {
                    office: "SSDNC".into(),
                    user: "clerk".into(),
                },
                correlation_id: None,
                causation_id: None,
                provenance: Default::default(),
                event,
            };
            let stored = self.state.writer.append(vec![draft], None).await.unwrap();
            stored.last().unwrap().position
        }

        async fn register(&self, n: u128, kind: StakeholderKind, person: bool) -> Uuid {
            let id = Uuid::from_u128(0x0194_0000_0000_7000_8000_00c0_0000_0000 | n);
            let event = Event::StakeholderRegistered(StakeholderRegistered {
                name: format!("stakeholder {n}"),
                kind,
                level: Level::Municipal,
                influence: 2.try_into().unwrap(),
                person,
            });
            self.append(
                Subject::Stakeholder(id),
                datetime!(2019-01-01 0:00 UTC),
                event,
            )
            .await;
            id
        }

        async fn pilot(&self, n: u128) -> Subject {
            let subject = Subject::Pilot(Uuid::from_u128(
                0x0194_0000_0000_7000_8000_00a0_0000_0000 | n,
            ));
            let event = Event::PilotProposed(PilotProposed {
                title: format!("pilot {n}"),
                jurisdiction: "Nanguo".into(),
                policy_area: "health insurance".into(),
                level: Level::Municipal,
                problem_frame: "fund deficit".into(),
            });
            self.append(subject, datetime!(2019-02-01 0:00 UTC), event)
                .await;
            subject
        }

        /// A stance (with no note: nothing personal) on `pilot` about `stakeholder`.
        async fn assess(&self, pilot: Subject, stakeholder: Uuid, at: OffsetDateTime) -> u64 {
            let event = Event::StanceAssessed(StanceAssessed {
                stakeholder_id: stakeholder,
                stance: 1.try_into().unwrap(),
                note: String::new(),
            });
            self.append(pilot, at, event).await
        }

        fn erased(&self, id: &Uuid) -> Option<pilot_projections::registry::Erasure> {
            self.state.projection.read().registry().erasure(id).cloned()
        }

        async fn get_plan(&self, token: &str) -> (StatusCode, serde_json::Value) {
            let request = Request::get("/api/v1/subjects/erasure-plan")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let response = crate::app(self.state.clone())
                .oneshot(request)
                .await
                .unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, serde_json::from_slice(&bytes).unwrap())
        }
    }

    async fn wait_for(
        progress: &mut watch::Receiver<Progress>,
        what: &str,
        done: impl Fn(&Progress) -> bool,
    ) {
        let reached = tokio::time::timeout(Duration::from_secs(10), progress.wait_for(done));
        assert!(
            matches!(reached.await, Ok(Ok(_))),
            "the retention loop did not get to: {what}"
        );
    }

    fn resident_rule() -> RetentionRules {
        RetentionRules::new(vec![RetentionRule {
            kind: StakeholderKind::ResidentGroup,
            after_days: AFTER_DAYS,
            from: RetentionStart::PilotEnd,
        }])
        .unwrap()
    }

    #[tokio::test]
    async fn a_rule_erases_exactly_its_persons_at_its_instant_and_not_a_moment_before() {
        let rig = rig(resident_rule()).await;
        let resident = rig.register(1, StakeholderKind::ResidentGroup, true).await;
        let still_running = rig.register(2, StakeholderKind::ResidentGroup, true).await;
        let group = rig.register(3, StakeholderKind::ResidentGroup, false).await;
        let leader = rig.register(4, StakeholderKind::Leader, true).await;
        let (ended, running) = (rig.pilot(1).await, rig.pilot(2).await);
        let during = datetime!(2019-03-01 0:00 UTC);
        for id in [resident, group, leader] {
            rig.assess(ended, id, during).await;
        }
        rig.assess(running, still_running, during).await;
        let ended_at = datetime!(2020-06-30 9:00 UTC);
        rig.append(
            ended,
            ended_at,
            Event::PilotTerminated(PilotTerminated {
                reason: "evaluated".into(),
            }),
        )
        .await;
        let instant = ended_at + time::Duration::days(i64::from(AFTER_DAYS));

        // The plan lists the two persons of the rule's kind, the dated one first; only an
        // administrator reads it.
        let (status, plan) = rig.get_plan(ADMIN).await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        let listed: Vec<&str> = plan["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stakeholder_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            listed,
            [resident.to_string(), still_running.to_string()],
            "{plan}"
        );
        assert_eq!(
            plan["subjects"][0]["due_at"],
            pilot_events::rfc3339(instant),
            "{plan}"
        );
        assert_eq!(plan["subjects"][0]["due"], false);
        assert_eq!(plan["subjects"][1]["due_at"], serde_json::Value::Null);
        assert_eq!(plan["subjects"][1]["basis"]["state"], "pilots_running");
        let (status, refused) = rig.get_plan(ANALYST).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

        let retention = RetentionLoop::new(rig.state.clone());
        let mut progress = retention.progress();
        let task = tokio::spawn(retention.run(rig.stop.subscribe()));

        // A moment before the instant (the log moves, so the loop plans again): nothing.
        let before = instant - time::Duration::nanoseconds(1);
        rig.clock.set(before);
        let position = rig.assess(running, still_running, during).await;
        wait_for(&mut progress, "a pass just before the instant", |p| {
            p.position >= position && p.looked_at == Some(before)
        })
        .await;
        for id in [resident, still_running, group, leader] {
            assert_eq!(rig.erased(&id), None, "erased before its instant: {id}");
        }

        // At the instant: the clock wakes the loop, and exactly the rule's person is erased.
        rig.clock.set(instant);
        wait_for(&mut progress, "the erasure at the instant", |p| {
            p.erased == 1
        })
        .await;
        let erasure = rig.erased(&resident).expect("erased at its instant");
        assert!(
            erasure.reason.contains("retention rule"),
            "{}",
            erasure.reason
        );
        assert!(
            erasure.reason.contains("resident_group"),
            "{}",
            erasure.reason
        );
        assert!(
            !erasure.reason.contains("stakeholder 1"),
            "{}",
            erasure.reason
        );
        for id in [still_running, group, leader] {
            assert_eq!(rig.erased(&id), None, "not named by the rule's plan: {id}");
        }

        // Years later: the person whose pilot still runs keeps its data; no second erasure.
        let later = instant + time::Duration::days(300);
        rig.clock.set(later);
        let position = rig.assess(running, still_running, during).await;
        wait_for(&mut progress, "a pass years later", |p| {
            p.position >= position && p.looked_at == Some(later)
        })
        .await;
        assert_eq!(progress.borrow().erased, 1);
        assert_eq!(progress.borrow().already_erased, 0);
        assert_eq!(rig.erased(&still_running), None);
        let (_, plan) = rig.get_plan(ADMIN).await;
        assert_eq!(plan["subjects"].as_array().unwrap().len(), 1, "{plan}");

        rig.stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the loop stops")
            .unwrap();
    }

    #[tokio::test]
    async fn without_rules_the_loop_returns_and_the_plan_is_empty() {
        let rig = rig(RetentionRules::default()).await;
        tokio::time::timeout(
            Duration::from_secs(1),
            RetentionLoop::new(rig.state.clone()).run(rig.stop.subscribe()),
        )
        .await
        .expect("returns at once");
        let (status, plan) = rig.get_plan(ADMIN).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(plan["subjects"], serde_json::json!([]));
        assert_eq!(plan["rules"], serde_json::json!([]));
    }
}
