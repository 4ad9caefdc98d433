//! One sample envelope of every event type, shared by the golden and validation tests:
//! `schema_1_samples()` are the frozen schema-1 examples (`tests/golden/*.json`, kept byte for
//! byte), `schema_2_samples()` one of each of the 25 types as written now
//! (`tests/golden/schema-2/*.json`), using the fields and words schema 2 added.

use pilot_events::data::*;
use pilot_events::*;
use std::collections::BTreeMap;
use time::macros::{date, datetime};
use uuid::{uuid, Uuid};

pub const PILOT: Uuid = uuid!("0194a000-0000-7000-8000-0000000000a1");
pub const OTHER_PILOT: Uuid = uuid!("0194a000-0000-7000-8000-0000000000a2");
pub const FINANCE: Uuid = uuid!("0194a000-0000-7000-8000-0000000000b1");
pub const MAYOR: Uuid = uuid!("0194a000-0000-7000-8000-0000000000b2");
pub const TOWN_LEADERS: Uuid = uuid!("0194a000-0000-7000-8000-0000000000b3");
pub const PROVINCE: Uuid = uuid!("0194a000-0000-7000-8000-0000000000b4");
pub const GONG: Uuid = uuid!("0194a000-0000-7000-8000-0000000000b5");
pub const NANGUO: Uuid = uuid!("0194a000-0000-7000-8000-0000000000c1");
/// The `context.recorded` of `schema_2_samples()`, which the pilot sample refers to.
#[allow(dead_code)] // used by some of the tests that share this module
pub const CONTEXT_EVENT: Uuid = uuid!("0194a000-0000-7000-8000-000000000216");

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

/// One envelope of every schema-1 type, in catalogue order, as schema 1 wrote them: the frozen
/// examples of `tests/golden/*.json`.
#[allow(dead_code)] // used by some of the tests that share this module
pub fn schema_1_samples() -> Vec<Envelope> {
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
                person: false,
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
                made_by_id: None,
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
                made_by_id: None,
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

/// A schema-2 envelope: sample `n` of the schema-2 set (ids `...0002nn`), with `provenance`.
fn envelope_2(n: u128, subject: Subject, provenance: Provenance, event: Event) -> Envelope {
    Envelope {
        event_id: Uuid::from_u128(0x0194a000_0000_7000_8000_000000000200 | n),
        schema: 2,
        provenance,
        ..envelope(n, subject, event)
    }
    .seal(Hash::ZERO)
}

fn paper(page: &str) -> Option<Source> {
    Some(Source {
        citation: "Zhu and Xiao 2015, The Journal of Chinese Sociology 2:10".into(),
        url: None,
        page: Some(page.into()),
    })
}

/// One envelope of every type at schema 2, in catalogue order, using what schema 2 added:
/// precision, source and context ids on the envelope; made_by, intermediary, an informal
/// channel, target direction and setter, a qualifier, credited offices with an office reward;
/// and the new types.
#[allow(dead_code)] // used by some of the tests that share this module
pub fn schema_2_samples() -> Vec<Envelope> {
    let p = Subject::Pilot(PILOT);
    let plain = Provenance::default;
    let sourced = |page: &str| Provenance {
        source: paper(page),
        ..Provenance::default()
    };
    let approval = || "hihc-2000-mayor".to_string();
    let mut samples = vec![
        {
            let mut proposed = envelope_2(
                1,
                p,
                Provenance {
                    precision: Some(Precision::Month),
                    source: paper("Table 1"),
                    context_ids: vec![CONTEXT_EVENT],
                },
                Event::PilotProposed(PilotProposed {
                    title: "Health Insurance for Private-enterprise and Migrant Workers".into(),
                    jurisdiction: "Nanguo".into(),
                    policy_area: "health insurance".into(),
                    level: Level::Municipal,
                    problem_frame: "Workers outside state units have no cover".into(),
                }),
            );
            proposed.occurred_at = datetime!(2000-03-01 00:00 +08:00);
            proposed.seal(Hash::ZERO)
        },
        envelope_2(
            2,
            p,
            sourced("Make alliances and defeat the opposition"),
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
        envelope_2(
            3,
            Subject::Stakeholder(TOWN_LEADERS),
            plain(),
            Event::StakeholderRegistered(StakeholderRegistered {
                name: "Town leaders".into(),
                kind: StakeholderKind::Leader,
                level: Level::County,
                influence: Influence::try_from(3).unwrap(),
                person: false,
            }),
        ),
        envelope_2(
            4,
            p,
            plain(),
            Event::ContactLogged(ContactLogged {
                stakeholder_id: FINANCE,
                channel: Channel::InformalAdvice,
                strategy: Strategy::Pressure,
                summary: "Enterprises urged to enrol their migrant workers".into(),
                stance: Stance::try_from(1).unwrap(),
                made_by: Some("Director of the SSDNC".into()),
                intermediary_id: Some(TOWN_LEADERS),
                made_by_id: None,
            }),
        ),
        envelope_2(
            5,
            p,
            sourced("Background"),
            Event::StanceAssessed(StanceAssessed {
                stakeholder_id: MAYOR,
                stance: Stance::try_from(-1).unwrap(),
                note: "Worried about the fund deficit".into(),
            }),
        ),
        envelope_2(
            6,
            p,
            plain(),
            Event::AllianceFormed(AllianceFormed {
                stakeholder_ids: vec![FINANCE, MAYOR],
                basis: "Coverage without new deficits".into(),
                made_by: Some("Director of the SSDNC".into()),
                made_by_id: None,
            }),
        ),
        envelope_2(
            7,
            p,
            plain(),
            Event::ApprovalRequested(ApprovalRequested {
                approval_id: approval(),
                approver_id: MAYOR,
                level: Level::Municipal,
                note: "Program design attached".into(),
                stall: Some(StallRecord {
                    threshold_days: 20,
                    day_count: DayUnit::Working,
                    calendar: Some("nanguo".into()),
                    stalls_at: datetime!(2000-03-29 09:00 +08:00),
                    basis: Some(CalendarBasis {
                        by: CalendarSource::Jurisdiction,
                        jurisdiction: Some("Nanguo".into()),
                        named_calendar: None,
                    }),
                }),
            }),
        ),
        envelope_2(
            8,
            p,
            plain(),
            Event::ApprovalGranted(ApprovalGranted {
                approval_id: approval(),
                conditions: "Report after one year".into(),
            }),
        ),
        envelope_2(
            9,
            p,
            plain(),
            Event::ApprovalDenied(ApprovalDenied {
                approval_id: approval(),
                reason: "Fund risk".into(),
            }),
        ),
        envelope_2(
            10,
            p,
            plain(),
            Event::ApprovalWithdrawn(ApprovalWithdrawn {
                approval_id: approval(),
                reason: "Redesign".into(),
            }),
        ),
        envelope_2(
            11,
            p,
            plain(),
            Event::ApprovalExtended(ApprovalExtended {
                approval_id: approval(),
                extra_days: 14,
                reason: "Mayor travelling".into(),
                stalls_at: Some(datetime!(2000-04-18 09:00 +08:00)),
            }),
        ),
        envelope_2(
            12,
            p,
            plain(),
            Event::ImplementationStarted(ImplementationStarted {
                scope: "All districts".into(),
            }),
        ),
        envelope_2(
            13,
            p,
            plain(),
            Event::TargetSet(TargetSet {
                metric: "insured_persons".into(),
                target: 1_000_000.0,
                due: date!(2000 - 12 - 31),
                direction: Some(Direction::AtLeast),
                set_by: Some(PROVINCE),
            }),
        ),
        envelope_2(
            14,
            p,
            sourced("Background"),
            Event::MetricRecorded(MetricRecorded {
                metric: "insured_persons".into(),
                value: 6_000_000.0,
                unit: "persons".into(),
                as_of: date!(2011 - 12 - 31),
                source: "Zhu and Xiao 2015".into(),
                qualifier: Some(Qualifier::AtLeast),
            }),
        ),
        envelope_2(
            15,
            p,
            plain(),
            Event::PilotScaled(PilotScaled {
                to_level: Level::Municipal,
                scope: "All residents".into(),
                successor_title: "Unified basic health insurance".into(),
            }),
        ),
        envelope_2(
            16,
            p,
            plain(),
            Event::AdoptedElsewhere(AdoptedElsewhere {
                jurisdiction: "Dongguan".into(),
                level: Level::Municipal,
                mechanism: AdoptionMechanism::Learning,
            }),
        ),
        envelope_2(
            17,
            p,
            plain(),
            Event::PilotMerged(PilotMerged {
                into_pilot_id: OTHER_PILOT,
                reason: "Unified system".into(),
            }),
        ),
        envelope_2(
            18,
            p,
            plain(),
            Event::PilotTerminated(PilotTerminated {
                reason: "Superseded".into(),
            }),
        ),
        envelope_2(
            19,
            p,
            plain(),
            Event::HighlightRecorded(HighlightRecorded {
                highlight_id: "ssdnc-staff-2001".into(),
                kind: HighlightKind::StaffIncrease,
                level: Level::Municipal,
                title: "More staff for the SSDNC".into(),
                conferred_by: "Nanguo municipal government".into(),
                credited_to: Vec::new(),
                credited_offices: vec!["SSDNC".into()],
            }),
        ),
        envelope_2(
            20,
            p,
            plain(),
            Event::EventRetracted(EventRetracted {
                event_id: Uuid::from_u128(0x0194a000_0000_7000_8000_000000000204),
                reason: "Logged on the wrong pilot".into(),
            }),
        ),
        envelope_2(
            21,
            Subject::Jurisdiction(NANGUO),
            plain(),
            Event::JurisdictionRegistered(JurisdictionRegistered {
                name: "Nanguo".into(),
                level: Level::Municipal,
                utc_offset: "+08:00".into(),
                calendar: Some("nanguo".into()),
            }),
        ),
        {
            let mut context = envelope_2(
                22,
                Subject::Jurisdiction(NANGUO),
                Provenance {
                    precision: Some(Precision::Year),
                    source: paper("Background"),
                    context_ids: Vec::new(),
                },
                Event::ContextRecorded(ContextRecorded {
                    kind: ContextKind::Indicator,
                    title: "Migrants among the insured".into(),
                    summary: "About 70% of the insured were migrants by the end of 2011".into(),
                    issued_by: None,
                    metric: Some("migrant_share".into()),
                    value: Some(0.7),
                    unit: Some("share".into()),
                    qualifier: Some(Qualifier::About),
                }),
            );
            context.occurred_at = datetime!(2011-01-01 00:00 +08:00);
            context.recorded_at = datetime!(2012-03-02 09:00 +08:00);
            context.seal(Hash::ZERO)
        },
        envelope_2(
            23,
            Subject::Stakeholder(GONG),
            plain(),
            Event::TenureRecorded(TenureRecorded {
                post_id: MAYOR,
                from: date!(1998 - 02 - 01),
                to: Some(date!(2003 - 01 - 31)),
                note: "Days picked: the paper gives none".into(),
            }),
        ),
        envelope_2(
            24,
            p,
            plain(),
            Event::PilotLinked(PilotLinked {
                relation: LinkRelation::RenamedInto,
                other_pilot_id: OTHER_PILOT,
                note: "Outpatient care added under a new name".into(),
            }),
        ),
        envelope_2(
            25,
            Subject::Stakeholder(GONG),
            plain(),
            Event::SubjectErased(SubjectErased {
                reason: "Request under PIPL art. 47, ticket 2026-118".into(),
            }),
        ),
    ];
    // The context sample's id is the one the pilot sample refers to.
    assert_eq!(samples[21].event_id, CONTEXT_EVENT);
    samples.shrink_to_fit();
    samples
}
