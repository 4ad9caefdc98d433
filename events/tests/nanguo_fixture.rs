//! The Nanguo demo history (`deploy/demo/nanguo.jsonl`) is valid public wire format: every line
//! decodes, every hash chain verifies, time never goes backwards within a chain, tampering is
//! caught on the right line, and the history keeps the stage rules and facts of DOMAIN.md.

use pilot_events::{decode, validate, verify_lines, BrokenLink, Envelope, Event, Stage, Subject};
use std::collections::{HashMap, HashSet};
use time::macros::{date, datetime};
use uuid::Uuid;

const FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/demo/nanguo.jsonl"
));

const HICI: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000001");
const HIHC: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000003");
const LCHI: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000004");
const UBHI: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000005");
const BUREAU_OF_FINANCE: Uuid = uuid::uuid!("0194a000-0002-7000-8000-000000000008");

fn lines() -> Vec<&'static str> {
    FIXTURE.lines().collect()
}

/// Every line decoded, or the first failure with its line number.
fn events() -> Result<Vec<Envelope>, String> {
    lines()
        .iter()
        .enumerate()
        .map(|(i, line)| decode(line.as_bytes()).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

#[test]
fn every_line_decodes_and_the_size_is_a_demo_size() {
    let events = events().unwrap();
    assert!(
        (60..=120).contains(&events.len()),
        "{} events",
        events.len()
    );
    let ids: HashSet<Uuid> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
}

#[test]
fn every_chain_verifies() {
    let report = verify_lines(lines().into_iter().map(str::as_bytes)).unwrap();
    assert_eq!(report.events, lines().len());
    // 5 pilots and 18 stakeholders.
    assert_eq!(report.chains, 23);
}

#[test]
fn stored_bytes_are_what_pilot_tracker_itself_writes() {
    for (i, (line, envelope)) in lines().iter().zip(events().unwrap()).enumerate() {
        assert_eq!(envelope.computed_hash(), envelope.hash, "line {}", i + 1);
        assert_eq!(envelope.to_json(), *line, "line {}", i + 1);
    }
}

#[test]
fn occurred_at_never_goes_backwards_within_a_chain() {
    let mut last = HashMap::new();
    for (i, envelope) in events().unwrap().iter().enumerate() {
        if let Err(error) = validate::check_order(last.get(&envelope.subject).copied(), envelope) {
            panic!("line {}: {error}", i + 1);
        }
        last.insert(envelope.subject, envelope.occurred_at);
    }
}

#[test]
fn tampering_one_byte_of_a_text_is_caught_on_its_line() {
    let lines = lines();
    let index = lines
        .iter()
        .position(|l| l.contains("\"title\":\"Local Citizen Health Insurance (LCHI)\""))
        .unwrap();
    let mut bytes = lines[index].as_bytes().to_vec();
    let at = lines[index].find("Local Citizen").unwrap();
    assert_eq!(bytes[at], b'L');
    bytes[at] = b'l';
    // Still a well-formed event: only the hash can tell.
    decode(&bytes).unwrap();

    let tampered: Vec<&[u8]> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == index { &bytes[..] } else { l.as_bytes() })
        .collect();
    match verify_lines(tampered) {
        Err(BrokenLink::HashMismatch { line, .. }) => assert_eq!(line, index + 1),
        other => panic!(
            "expected a hash mismatch on line {}, got {other:?}",
            index + 1
        ),
    }
}

/// Replays the stage rules of DOMAIN.md ("Event catalogue", "Stages") over the fixture.
#[test]
fn every_event_fits_its_pilots_stage() {
    let mut registered_at = HashMap::new();
    let mut stage: HashMap<Uuid, Stage> = HashMap::new();
    let mut pending: HashMap<Uuid, HashSet<String>> = HashMap::new();

    for (i, e) in events().unwrap().iter().enumerate() {
        let line = i + 1;
        let (pilot, at) = match e.subject {
            Subject::Stakeholder(id) => {
                assert!(
                    matches!(e.event, Event::StakeholderRegistered(_)),
                    "line {line}"
                );
                assert!(
                    registered_at.insert(id, e.occurred_at).is_none(),
                    "line {line}"
                );
                continue;
            }
            Subject::Jurisdiction(_) => continue,
            Subject::Pilot(id) => (id, e.occurred_at),
        };
        for who in stakeholders_named(&e.event) {
            let known = registered_at.get(&who).is_some_and(|r| *r <= at);
            assert!(
                known,
                "line {line}: stakeholder {who} is not registered yet"
            );
        }
        let current = stage.get(&pilot).copied();
        let is_terminal = current.is_some_and(Stage::is_terminal);
        let next = match (&e.event, current) {
            (Event::PilotProposed(_), None) => Stage::Framing,
            (_, None) => panic!("line {line}: pilot {pilot} is not proposed yet"),
            (Event::HighlightRecorded(_) | Event::EventRetracted(_), Some(s)) => s,
            (_, Some(s)) if is_terminal => panic!("line {line}: pilot is {s}"),
            (Event::ProgramDesigned(_), Some(Stage::Framing)) => Stage::Design,
            (Event::ApprovalRequested(d), Some(s)) => {
                pending
                    .entry(pilot)
                    .or_default()
                    .insert(d.approval_id.clone());
                match s {
                    Stage::Framing | Stage::Design => Stage::AwaitingApproval,
                    Stage::AwaitingApproval | Stage::Implementing | Stage::Scaled => s,
                    _ => panic!("line {line}: approval requested in {s}"),
                }
            }
            (Event::ApprovalGranted(d), Some(s)) => {
                let open = pending.entry(pilot).or_default();
                assert!(open.remove(&d.approval_id), "line {line}: not pending");
                if s == Stage::AwaitingApproval && open.is_empty() {
                    Stage::Approved
                } else {
                    s
                }
            }
            (Event::ImplementationStarted(_), Some(Stage::Approved)) => Stage::Implementing,
            (Event::MetricRecorded(_), Some(s @ (Stage::Implementing | Stage::Scaled))) => s,
            (Event::PilotMerged(d), Some(_)) => {
                assert!(stage.contains_key(&d.into_pilot_id), "line {line}");
                Stage::Merged
            }
            (
                Event::ContactLogged(_)
                | Event::StanceAssessed(_)
                | Event::AllianceFormed(_)
                | Event::TargetSet(_),
                Some(s),
            ) => s,
            (event, Some(s)) => panic!("line {line}: {} in {s}", event.event_type()),
        };
        stage.insert(pilot, next);
    }

    for pilot in [HICI, HIHC, LCHI] {
        assert_eq!(stage[&pilot], Stage::Merged);
    }
    assert_eq!(stage[&UBHI], Stage::Implementing);
    assert!(pending.values().all(HashSet::is_empty), "{pending:?}");
}

/// The stakeholders an event's `data` refers to.
fn stakeholders_named(event: &Event) -> Vec<Uuid> {
    match event {
        Event::ContactLogged(d) => vec![d.stakeholder_id],
        Event::StanceAssessed(d) => vec![d.stakeholder_id],
        Event::AllianceFormed(d) => d.stakeholder_ids.clone(),
        Event::ApprovalRequested(d) => vec![d.approver_id],
        Event::HighlightRecorded(d) => d.credited_to.clone(),
        _ => Vec::new(),
    }
}

/// The facts DOMAIN.md ("The Nanguo case as data") asks the fixture to reproduce.
#[test]
fn the_fixture_reproduces_the_case() {
    let events = events().unwrap();
    let on = |pilot: Uuid| {
        events
            .iter()
            .filter(move |e| e.subject == Subject::Pilot(pilot))
            .map(|e| (e.occurred_at, &e.event))
    };

    // HICI is merged into the unified system in July 2008.
    let (merged_at, into) = on(HICI)
        .find_map(|(at, e)| match e {
            Event::PilotMerged(d) => Some((at, d.into_pilot_id)),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (merged_at.year(), merged_at.month()),
        (2008, time::Month::July)
    );
    assert_eq!(into, UBHI);

    // HIHC: 2% contribution, the province's 1 million target, 0.88 million by the end of 2000.
    let hihc: Vec<_> = on(HIHC).collect();
    let target = hihc
        .iter()
        .find_map(|(_, e)| match e {
            Event::TargetSet(d) if d.metric == "insured_persons" => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (target.target, target.due),
        (1_000_000.0, date!(2000 - 12 - 31))
    );
    let end_of_2000 = datetime!(2000-12-31 23:59:59 +08:00);
    let insured_then = hihc
        .iter()
        .filter(|(at, _)| *at <= end_of_2000)
        .filter_map(|(_, e)| match e {
            Event::MetricRecorded(d) if d.metric == "insured_persons" => Some(d.value),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(insured_then, [200_000.0, 880_000.0]);
    assert!((insured_then[1] / target.target - 0.88).abs() < 1e-9);
    assert!(hihc.iter().any(|(_, e)| matches!(e,
        Event::MetricRecorded(d) if d.metric == "contribution_rate" && d.value == 0.02)));

    // LCHI: the Bureau of Finance ends in the coalition (latest stance above zero, allies count as +1).
    let finance = on(LCHI)
        .filter_map(|(_, e)| match e {
            Event::ContactLogged(d) if d.stakeholder_id == BUREAU_OF_FINANCE => {
                Some(d.stance.value())
            }
            Event::StanceAssessed(d) if d.stakeholder_id == BUREAU_OF_FINANCE => {
                Some(d.stance.value())
            }
            Event::AllianceFormed(d) if d.stakeholder_ids.contains(&BUREAU_OF_FINANCE) => Some(1),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert!(finance.last().is_some_and(|s| *s > 0), "{finance:?}");

    // The unified system: over 6 million insured and the reimbursement rates at the end of 2011.
    let metrics: HashMap<String, f64> = on(UBHI)
        .filter_map(|(_, e)| match e {
            Event::MetricRecorded(d) if d.as_of == date!(2011 - 12 - 31) => {
                Some((d.metric.clone(), d.value))
            }
            _ => None,
        })
        .collect();
    assert!(metrics["insured_persons"] > 6_000_000.0);
    assert_eq!(metrics["reimbursement_rate_community"], 0.95);
    assert_eq!(metrics["reimbursement_rate_hospital"], 0.70);

    // 2009: the State Council's national model designation, credited to two leaders.
    let model = on(UBHI)
        .find_map(|(at, e)| match e {
            Event::HighlightRecorded(d) if d.highlight_id == "model-city-2009" => Some((at, d)),
            _ => None,
        })
        .unwrap();
    assert_eq!(model.0.year(), 2009);
    assert_eq!(model.1.level, pilot_events::Level::National);
    assert_eq!(model.1.credited_to.len(), 2);
}
