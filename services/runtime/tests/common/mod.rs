//! Drafts the store's tests and benchmark append: a proposal, designs, targets.

#![allow(dead_code)] // each test binary uses part of it

use pilot_events::data::*;
use pilot_events::{Actor, Event, Level, Subject};
use pilot_runtime::writer::Draft;

pub fn draft(subject: Subject, event: Event) -> Draft {
    Draft {
        event_id: None,
        subject,
        occurred_at: time::macros::datetime!(2000-03-01 09:00 +08:00),
        actor: Actor {
            office: "SSDNC".into(),
            user: "clerk".into(),
        },
        correlation_id: None,
        causation_id: None,
        provenance: Default::default(),
        event,
    }
}

pub fn proposed() -> Event {
    Event::PilotProposed(PilotProposed {
        title: "HIHC".into(),
        jurisdiction: "Nanguo".into(),
        policy_area: "health insurance".into(),
        level: Level::Municipal,
        problem_frame: "uncovered workers".into(),
    })
}

pub fn designed() -> Event {
    Event::ProgramDesigned(ProgramDesigned {
        summary: "2%".into(),
        parameters: Default::default(),
        target_groups: vec![],
    })
}

pub fn started() -> Event {
    Event::ImplementationStarted(ImplementationStarted {
        scope: "city".into(),
    })
}

/// A target on metric `m<n>`: many distinct, always-valid events for one pilot.
pub fn target(n: usize) -> Event {
    Event::TargetSet(TargetSet {
        metric: format!("m{n}"),
        target: 1.0 + n as f64,
        due: time::macros::date!(2030 - 01 - 01),
        direction: Default::default(),
        set_by: Default::default(),
    })
}
