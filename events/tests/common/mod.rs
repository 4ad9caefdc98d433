//! One sample envelope of every event type, shared by the golden and validation tests.

use pilot_events::data::*;
use pilot_events::*;
use std::collections::BTreeMap;
use time::macros::{date, datetime};
use uuid::{uuid, Uuid};

pub const PILOT: Uuid = uuid!("0194a000-0000-7000-8000-0000000000a1");
pub const OTHER_PILOT: Uuid = uuid!("0194a000-0000-7000-8000-0000000000a2");
pub const FINANCE: Uuid = uuid!("0194a000-0000-7000-8000-0000000000b1");
pub const MAYOR: Uuid = uuid!("0194a000-0000-7000-8000-0000000000b2");

pub fn envelope(n: u128, subject: Subject, event: Event) -> Envelope {
    Envelope {
        event_id: Uuid::from_u128(0x0194a000_0000_7000_8000_000000000000 | n),
        schema: 1,
        subject,
        occurred_at: datetime!(2000-03-01 09:00 +08:00),
        recorded_at: datetime!(2000-03-02 09:00 +08:00),
        actor: Actor {
            office: "SSDNC".into(),
            user: "archivist".into(),
        },
        correlation_id: None,
        causation_id: None,
        prev_hash: Hash::ZERO,
        hash: Hash::ZERO,
        signature: None,
        provenance: Default::default(),
        event,
    }
    .seal(Hash::ZERO)
}

/// One envelope of every type, in catalogue order.
pub fn samples() -> Vec<Envelope> {
    let p = Subject::Pilot(PILOT);
    let approval = || "hihc-2000-mayor".to_string();
    vec![
        envelope(
            1,
            p,
            Event::PilotProposed(PilotProposed {
                title: "Health Insurance for Private-enterprise and Migrant Workers".into(),
                jurisdiction: "Nanguo".into(),
                policy_area: "health insurance".into(),
                level: Level::Municipal,
                problem_frame: "Workers outside state units have no cover".into(),
            }),
        ),
        envelope(
            2,
            p,
            Event::ProgramDesigned(ProgramDesigned {
                summary: "Low contribution for a large uncovered group".into(),
                parameters: BTreeMap::from([(
                    "contribution_rate".to_string(),
                    serde_json::json!(0.02),
                )]),
                target_groups: vec![
                    "migrant workers".into(),
                    "private-enterprise employees".into(),
                ],
            }),
        ),
        envelope(
            3,
            Subject::Stakeholder(FINANCE),
            Event::StakeholderRegistered(StakeholderRegistered {
                name: "Bureau of Finance".into(),
                kind: StakeholderKind::Bureau,
                level: Level::Municipal,
                influence: Influence::try_from(4).unwrap(),
            }),
        ),
        envelope(
            4,
            p,
            Event::ContactLogged(ContactLogged {
                stakeholder_id: FINANCE,
                channel: Channel::Meeting,
                strategy: Strategy::Alliance,
                summary: "Co-designing the fund rules".into(),
                stance: Stance::try_from(2).unwrap(),
                intermediary_id: Default::default(),
                made_by: Default::default(),
            }),
        ),
        envelope(
            5,
            p,
            Event::StanceAssessed(StanceAssessed {
                stakeholder_id: MAYOR,
                stance: Stance::try_from(-1).unwrap(),
                note: "Worried about the fund deficit".into(),
            }),
        ),
        envelope(
            6,
            p,
            Event::AllianceFormed(AllianceFormed {
                stakeholder_ids: vec![FINANCE, MAYOR],
                basis: "Coverage without new deficits".into(),
                made_by: Default::default(),
            }),
        ),
        envelope(
            7,
            p,
            Event::ApprovalRequested(ApprovalRequested {
                approval_id: approval(),
                approver_id: MAYOR,
                level: Level::Municipal,
                note: "Program design attached".into(),
                stall: None,
            }),
        ),
        envelope(
            8,
            p,
            Event::ApprovalGranted(ApprovalGranted {
                approval_id: approval(),
                conditions: "Report after one year".into(),
            }),
        ),
        envelope(
            9,
            p,
            Event::ApprovalDenied(ApprovalDenied {
                approval_id: approval(),
                reason: "Fund risk".into(),
            }),
        ),
        envelope(
            10,
            p,
            Event::ApprovalWithdrawn(ApprovalWithdrawn {
                approval_id: approval(),
                reason: "Redesign".into(),
            }),
        ),
        envelope(
            11,
            p,
            Event::ApprovalExtended(ApprovalExtended {
                approval_id: approval(),
                extra_days: 14,
                reason: "Mayor travelling".into(),
                stalls_at: None,
            }),
        ),
        envelope(
            12,
            p,
            Event::ImplementationStarted(ImplementationStarted {
                scope: "All districts".into(),
            }),
        ),
        envelope(
            13,
            p,
            Event::TargetSet(TargetSet {
                metric: "insured_persons".into(),
                target: 1_000_000.0,
                due: date!(2000 - 12 - 31),
                direction: Default::default(),
                set_by: Default::default(),
            }),
        ),
        envelope(
            14,
            p,
            Event::MetricRecorded(MetricRecorded {
                metric: "insured_persons".into(),
                value: 880_000.0,
                unit: "persons".into(),
                as_of: date!(2000 - 12 - 31),
                source: "SSDNC annual report".into(),
                qualifier: Default::default(),
            }),
        ),
        envelope(
            15,
            p,
            Event::PilotScaled(PilotScaled {
                to_level: Level::Municipal,
                scope: "All residents".into(),
                successor_title: "Unified basic health insurance".into(),
            }),
        ),
        envelope(
            16,
            p,
            Event::AdoptedElsewhere(AdoptedElsewhere {
                jurisdiction: "Dongguan".into(),
                level: Level::Municipal,
                mechanism: AdoptionMechanism::Learning,
            }),
        ),
        envelope(
            17,
            p,
            Event::PilotMerged(PilotMerged {
                into_pilot_id: OTHER_PILOT,
                reason: "Unified system".into(),
            }),
        ),
        envelope(
            18,
            p,
            Event::PilotTerminated(PilotTerminated {
                reason: "Superseded".into(),
            }),
        ),
        envelope(
            19,
            p,
            Event::HighlightRecorded(HighlightRecorded {
                highlight_id: "model-city-2009".into(),
                kind: HighlightKind::HonoraryTitle,
                level: Level::National,
                title: "National Model City of Social Development".into(),
                conferred_by: "State Council".into(),
                credited_to: vec![MAYOR],
                credited_offices: Default::default(),
            }),
        ),
        envelope(
            20,
            p,
            Event::EventRetracted(EventRetracted {
                event_id: Uuid::from_u128(0x0194a000_0000_7000_8000_000000000004),
                reason: "Logged on the wrong pilot".into(),
            }),
        ),
    ]
}

/// The two events that carry a stall record, as the writer stores them now: a request with
/// the terms it was stored under (working days of the `nanguo` calendar) and an extension with
/// the stall it leads to. `samples()` keeps them without, as stored before the record existed.
#[allow(dead_code)] // used by the golden and validation tests, not by every test that shares this module
pub fn recorded_samples() -> Vec<(&'static str, Envelope)> {
    let p = Subject::Pilot(PILOT);
    vec![
        (
            "approval.requested.recorded",
            envelope(
                21,
                p,
                Event::ApprovalRequested(ApprovalRequested {
                    approval_id: "hihc-2000-mayor".into(),
                    approver_id: MAYOR,
                    level: Level::Municipal,
                    note: "Program design attached".into(),
                    stall: Some(StallRecord {
                        threshold_days: 20,
                        day_count: DayUnit::Working,
                        calendar: Some("nanguo".into()),
                        stalls_at: datetime!(2000-03-29 09:00 +08:00),
                        basis: None,
                    }),
                }),
            ),
        ),
        (
            "approval.extended.recorded",
            envelope(
                22,
                p,
                Event::ApprovalExtended(ApprovalExtended {
                    approval_id: "hihc-2000-mayor".into(),
                    extra_days: 14,
                    reason: "Mayor travelling".into(),
                    stalls_at: Some(datetime!(2000-04-18 09:00 +08:00)),
                }),
            ),
        ),
    ]
}
