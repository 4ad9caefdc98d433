//! A small given/when/then harness: events are sealed onto their chain from the world's own
//! chain head and fed in stream order, with a clock that moves one day per event unless set.

#![allow(dead_code)] // each test file uses part of the harness

use pilot_events::data::*;
use pilot_events::*;
use pilot_projections::{Applied, ProjectionError, World};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub struct Scenario {
    pub world: World,
    pub clock: OffsetDateTime,
    /// Delay between an event happening and being recorded.
    pub recording_lag: Duration,
    position: u64,
    next_id: u128,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::new()
    }
}

impl Scenario {
    pub fn new() -> Self {
        Scenario {
            world: World::new(),
            clock: time::macros::datetime!(2000-01-03 09:00 +08:00),
            recording_lag: Duration::hours(1),
            position: 0,
            next_id: 0,
        }
    }

    pub fn at(&mut self, when: OffsetDateTime) -> &mut Self {
        self.clock = when;
        self
    }

    pub fn envelope(&mut self, subject: Subject, event: Event) -> Envelope {
        self.next_id += 1;
        let (_, head) = self.world.chain_head(subject);
        Envelope {
            event_id: Uuid::from_u128(0x0194_0000_0000_7000_8000_0000_0000_0000 | self.next_id),
            schema: CURRENT_SCHEMA,
            subject,
            occurred_at: self.clock,
            recorded_at: self.clock + self.recording_lag,
            actor: Actor {
                office: "SSDNC".into(),
                user: "clerk".into(),
            },
            correlation_id: None,
            causation_id: None,
            prev_hash: head,
            hash: Hash::ZERO,
            signature: None,
            provenance: Default::default(),
            event,
        }
        .seal(head)
    }

    /// Feeds an already built envelope at the next stream position.
    pub fn feed(&mut self, envelope: Envelope) -> Result<Applied, ProjectionError> {
        self.position += 1;
        self.world.apply(self.position, envelope)
    }

    /// Records `event` on `subject` at the clock, then moves the clock one day on.
    pub fn when(&mut self, subject: Subject, event: Event) -> Result<Applied, ProjectionError> {
        let envelope = self.envelope(subject, event);
        self.clock += Duration::days(1);
        self.feed(envelope)
    }

    /// Like `when`, for events the test expects to be accepted.
    pub fn given(&mut self, subject: Subject, event: Event) -> &mut Self {
        if let Err(error) = self.when(subject, event) {
            panic!("given event refused: {error}");
        }
        self
    }

    pub fn refusal(&mut self, subject: Subject, event: Event) -> pilot_projections::Refusal {
        match self.when(subject, event) {
            Err(ProjectionError::Refused { refusal, .. }) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    pub fn stakeholder(&mut self, name: &str, influence: i64) -> Uuid {
        self.next_id += 1;
        let id = Uuid::from_u128(0x0194_0000_0000_7000_8000_00b0_0000_0000 | self.next_id);
        self.given(
            Subject::Stakeholder(id),
            Event::StakeholderRegistered(StakeholderRegistered {
                name: name.into(),
                kind: StakeholderKind::Leader,
                level: Level::Municipal,
                influence: Influence::try_from(influence).unwrap(),
                person: false,
            }),
        );
        id
    }

    pub fn pilot(&mut self) -> Subject {
        self.next_id += 1;
        let subject = Subject::Pilot(Uuid::from_u128(
            0x0194_0000_0000_7000_8000_00a0_0000_0000 | self.next_id,
        ));
        self.given(subject, proposed("A pilot"));
        subject
    }

    /// A pilot taken to `implementing` through one granted approval by `approver`.
    pub fn implementing_pilot(&mut self, approver: Uuid) -> Subject {
        let p = self.pilot();
        self.given(p, designed())
            .given(p, requested("launch", approver, Level::Municipal))
            .given(p, granted("launch"))
            .given(
                p,
                Event::ImplementationStarted(ImplementationStarted {
                    scope: "city".into(),
                }),
            );
        p
    }

    pub fn stage(&self, subject: Subject) -> Stage {
        self.world.pilot(&subject.id()).unwrap().state.stage
    }
}

pub fn proposed(title: &str) -> Event {
    Event::PilotProposed(PilotProposed {
        title: title.into(),
        jurisdiction: "Nanguo".into(),
        policy_area: "health insurance".into(),
        level: Level::Municipal,
        problem_frame: "fund deficit".into(),
    })
}

pub fn designed() -> Event {
    Event::ProgramDesigned(ProgramDesigned {
        summary: "design".into(),
        parameters: BTreeMap::new(),
        target_groups: vec![],
    })
}

pub fn requested(approval_id: &str, approver: Uuid, level: Level) -> Event {
    Event::ApprovalRequested(ApprovalRequested {
        approval_id: approval_id.into(),
        approver_id: approver,
        level,
        note: String::new(),
        stall: None,
    })
}

pub fn granted(approval_id: &str) -> Event {
    Event::ApprovalGranted(ApprovalGranted {
        approval_id: approval_id.into(),
        conditions: String::new(),
    })
}

pub fn denied(approval_id: &str) -> Event {
    Event::ApprovalDenied(ApprovalDenied {
        approval_id: approval_id.into(),
        reason: "not now".into(),
    })
}

pub fn withdrawn(approval_id: &str) -> Event {
    Event::ApprovalWithdrawn(ApprovalWithdrawn {
        approval_id: approval_id.into(),
        reason: "redesign".into(),
    })
}

pub fn extended(approval_id: &str, extra_days: u32) -> Event {
    Event::ApprovalExtended(ApprovalExtended {
        approval_id: approval_id.into(),
        extra_days,
        reason: "busy".into(),
        stalls_at: None,
    })
}

pub fn contact(stakeholder: Uuid, stance: i64, strategy: Strategy) -> Event {
    Event::ContactLogged(ContactLogged {
        stakeholder_id: stakeholder,
        channel: Channel::Meeting,
        strategy,
        summary: "met".into(),
        stance: Stance::try_from(stance).unwrap(),
        intermediary_id: Default::default(),
        made_by: Default::default(),
        made_by_id: None,
    })
}

pub fn assessed(stakeholder: Uuid, stance: i64) -> Event {
    Event::StanceAssessed(StanceAssessed {
        stakeholder_id: stakeholder,
        stance: Stance::try_from(stance).unwrap(),
        note: String::new(),
    })
}

pub fn alliance(ids: &[Uuid]) -> Event {
    Event::AllianceFormed(AllianceFormed {
        stakeholder_ids: ids.to_vec(),
        basis: "shared interest".into(),
        made_by: Default::default(),
        made_by_id: None,
    })
}

pub fn metric(name: &str, value: f64, as_of: time::Date) -> Event {
    Event::MetricRecorded(MetricRecorded {
        metric: name.into(),
        value,
        unit: "persons".into(),
        as_of,
        source: "report".into(),
        qualifier: Default::default(),
    })
}

pub fn highlight(id: &str, level: Level, credited_to: &[Uuid]) -> Event {
    Event::HighlightRecorded(HighlightRecorded {
        highlight_id: id.into(),
        kind: HighlightKind::Award,
        level,
        title: format!("Honour {id}"),
        conferred_by: "someone".into(),
        credited_to: credited_to.to_vec(),
        credited_offices: Default::default(),
    })
}

pub fn retracted(event_id: Uuid) -> Event {
    Event::EventRetracted(EventRetracted {
        event_id,
        reason: "wrong".into(),
    })
}
