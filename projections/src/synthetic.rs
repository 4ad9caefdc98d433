//! Deterministic synthetic histories for tests and benchmarks: N pilots × M events, all valid.
//!
//! The same seed always gives the same events, hashes included, so a benchmark or a failing
//! test can be reproduced exactly. Pilots are interleaved round-robin in stream order, the way
//! many offices logging at once would fill a stream.

use pilot_events::data::*;
use pilot_events::*;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// splitmix64: a ten-line generator is all determinism needs here.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(
            ((u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())).to_be_bytes(),
        )
        .into_uuid()
    }
}

/// The shape of a synthetic history.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub pilots: usize,
    /// Events per pilot, at least 6 (the way from proposal to implementation).
    pub events_per_pilot: usize,
    pub stakeholders: usize,
    pub seed: u64,
}

/// Generates the whole history in stream order: registrations first, then pilots interleaved.
pub fn history(shape: Shape) -> Vec<Envelope> {
    let mut rng = Rng::new(shape.seed);
    let start = time::macros::datetime!(2000-01-03 09:00 +08:00);
    let stakeholders: Vec<Uuid> = (0..shape.stakeholders.max(1)).map(|_| rng.uuid()).collect();
    let mut out = Vec::with_capacity(stakeholders.len() + shape.pilots * shape.events_per_pilot);
    for (i, id) in stakeholders.iter().enumerate() {
        let data = StakeholderRegistered {
            name: format!("Stakeholder {i}"),
            kind: StakeholderKind::ALL[i % StakeholderKind::ALL.len()],
            level: Level::ALL[i % Level::ALL.len()],
            influence: Influence::saturating(1 + (i % 5) as i64),
            person: false,
        };
        out.push(seal(
            &mut rng,
            Subject::Stakeholder(*id),
            start,
            Event::StakeholderRegistered(data),
            Hash::ZERO,
        ));
    }
    let mut pilots: Vec<PilotGen> = (0..shape.pilots)
        .map(|i| PilotGen::new(rng.uuid(), i, start))
        .collect();
    for step in 0..shape.events_per_pilot.max(6) {
        for pilot in &mut pilots {
            let event = pilot.next_event(step, &mut rng, &stakeholders);
            pilot.at += Duration::hours(1 + rng.below(48) as i64);
            let envelope = seal(
                &mut rng,
                Subject::Pilot(pilot.id),
                pilot.at,
                event,
                pilot.last_hash,
            );
            pilot.last_hash = envelope.hash;
            out.push(envelope);
        }
    }
    out
}

/// The same history as JSON Lines bytes, as a store would hand them to a projector.
pub fn history_json(shape: Shape) -> Vec<Vec<u8>> {
    history(shape)
        .iter()
        .map(|e| e.to_json().into_bytes())
        .collect()
}

struct PilotGen {
    id: Uuid,
    index: usize,
    at: OffsetDateTime,
    last_hash: Hash,
    highlights: u64,
}

impl PilotGen {
    fn new(id: Uuid, index: usize, start: OffsetDateTime) -> Self {
        PilotGen {
            id,
            index,
            at: start,
            last_hash: Hash::ZERO,
            highlights: 0,
        }
    }

    fn next_event(&mut self, step: usize, rng: &mut Rng, stakeholders: &[Uuid]) -> Event {
        let pick = |rng: &mut Rng| stakeholders[rng.below(stakeholders.len() as u64) as usize];
        let stance = |rng: &mut Rng| Stance::saturating(rng.below(5) as i64 - 2);
        match step {
            0 => Event::PilotProposed(PilotProposed {
                title: format!("Synthetic pilot {}", self.index),
                jurisdiction: format!("City {}", self.index % 50),
                policy_area: "health insurance".into(),
                level: Level::Municipal,
                problem_frame: "A gap in coverage".into(),
            }),
            1 => Event::ProgramDesigned(ProgramDesigned {
                summary: "A program".into(),
                parameters: BTreeMap::from([(
                    "contribution_rate".to_string(),
                    serde_json::json!(0.02),
                )]),
                target_groups: vec!["workers".into()],
            }),
            2 => Event::ApprovalRequested(ApprovalRequested {
                approval_id: "launch".into(),
                approver_id: pick(rng),
                level: Level::Municipal,
                note: String::new(),
                stall: None,
            }),
            3 => Event::ApprovalGranted(ApprovalGranted {
                approval_id: "launch".into(),
                conditions: String::new(),
            }),
            4 => Event::ImplementationStarted(ImplementationStarted {
                scope: "city-wide".into(),
            }),
            5 => Event::TargetSet(TargetSet {
                metric: "insured_persons".into(),
                target: 1_000_000.0,
                due: time::macros::date!(2030 - 12 - 31),
                direction: None,
                set_by: None,
            }),
            _ => match rng.below(20) {
                0..=7 => Event::ContactLogged(ContactLogged {
                    stakeholder_id: pick(rng),
                    channel: Channel::ALL[rng.below(Channel::ALL.len() as u64) as usize],
                    strategy: Strategy::ALL[rng.below(Strategy::ALL.len() as u64) as usize],
                    summary: "Discussed the program".into(),
                    stance: stance(rng),
                    made_by: None,
                    intermediary_id: None,
                    made_by_id: None,
                }),
                8..=9 => Event::StanceAssessed(StanceAssessed {
                    stakeholder_id: pick(rng),
                    stance: stance(rng),
                    note: String::new(),
                }),
                10..=15 => Event::MetricRecorded(MetricRecorded {
                    metric: "insured_persons".into(),
                    value: (rng.below(1_000_000) as f64).round(),
                    unit: "persons".into(),
                    as_of: self.at.date(),
                    source: "monthly report".into(),
                    qualifier: None,
                }),
                16..=17 => {
                    self.highlights += 1;
                    Event::HighlightRecorded(HighlightRecorded {
                        highlight_id: format!("h{}", self.highlights),
                        kind: HighlightKind::ALL
                            [rng.below(HighlightKind::ALL.len() as u64) as usize],
                        level: Level::ALL[rng.below(4) as usize],
                        title: "An honour".into(),
                        conferred_by: "The province".into(),
                        credited_to: vec![pick(rng)],
                        credited_offices: Vec::new(),
                    })
                }
                _ => {
                    let first = pick(rng);
                    let second = pick(rng);
                    let ids = if first == second {
                        vec![first]
                    } else {
                        vec![first, second]
                    };
                    Event::AllianceFormed(AllianceFormed {
                        stakeholder_ids: ids,
                        basis: "Shared interest".into(),
                        made_by: None,
                        made_by_id: None,
                    })
                }
            },
        }
    }
}

fn seal(
    rng: &mut Rng,
    subject: Subject,
    at: OffsetDateTime,
    event: Event,
    prev_hash: Hash,
) -> Envelope {
    Envelope {
        event_id: rng.uuid(),
        schema: CURRENT_SCHEMA,
        subject,
        occurred_at: at,
        recorded_at: at + Duration::days(1),
        actor: Actor {
            office: "Synthetic Office".into(),
            user: "generator".into(),
        },
        correlation_id: None,
        causation_id: None,
        prev_hash,
        hash: Hash::ZERO,
        signature: None,
        provenance: Default::default(),
        event,
    }
    .seal(prev_hash)
}
