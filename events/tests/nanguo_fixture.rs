//! The Nanguo demo history (`deploy/demo/nanguo.jsonl`, schema 2) is valid public wire format:
//! every line decodes, every hash chain verifies, time never goes backwards within a chain,
//! tampering is caught on the right line, and the history keeps the stage rules and facts of
//! docs/domain.md, with what schema 2 can say (vague dates, qualifiers, office rewards, the people
//! in the office, intermediaries, disputes, links, the jurisdiction and its context).
//!
//! The schema-1 history it replaced is kept byte for byte in
//! `events/tests/golden/nanguo-schema-1.jsonl` (stored history is never rewritten): it still
//! decodes as schema 1, verifies, keeps the stage rules and reproduces the same facts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use pilot_events::{
    decode, validate, verify_lines, BrokenLink, Channel, ContextKind, Envelope, Event,
    HighlightKind, LinkRelation, Precision, Qualifier, Stage, Strategy, Subject,
};
use std::collections::{HashMap, HashSet};
use time::macros::{date, datetime};
use uuid::Uuid;

const FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/demo/nanguo.jsonl"
));

/// The schema-1 history, frozen.
const SCHEMA_1: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/nanguo-schema-1.jsonl"
));

const CALENDAR: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/calendars/nanguo.toml"
));

const HICI: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000001");
const HIHC: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000003");
const BHI: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000002");
const LCHI: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000004");
const UBHI: Uuid = uuid::uuid!("0194a000-0001-7000-8000-000000000005");
const BUREAU_OF_FINANCE: Uuid = uuid::uuid!("0194a000-0002-7000-8000-000000000008");
const PROVINCE: Uuid = uuid::uuid!("0194a000-0002-7000-8000-000000000012");
const ENTERPRISE_OWNERS: Uuid = uuid::uuid!("0194a000-0002-7000-8000-000000000014");
const LANDLESS_PEASANTS: Uuid = uuid::uuid!("0194a000-0002-7000-8000-000000000017");
const TOWN_LEADERS: Uuid = uuid::uuid!("0194a000-0002-7000-8000-000000000019");
const NANGUO: Uuid = uuid::uuid!("0194a000-0003-7000-8000-000000000001");
const CITATION: &str = "Zhu and Xiao 2015, The Journal of Chinese Sociology 2:10";

fn lines() -> Vec<&'static str> {
    FIXTURE.lines().collect()
}

/// Every line of a history decoded, or the first failure with its line number.
fn decode_all(text: &str) -> Result<Vec<Envelope>, String> {
    text.lines()
        .enumerate()
        .map(|(i, line)| decode(line.as_bytes()).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

fn events() -> Result<Vec<Envelope>, String> {
    decode_all(FIXTURE)
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
    assert!(events.iter().all(|e| e.schema == 2), "written as schema 2");
}

#[test]
fn every_chain_verifies() {
    let report = verify_lines(lines().into_iter().map(str::as_bytes)).unwrap();
    assert_eq!(report.events, lines().len());
    // 5 pilots, 19 stakeholders and the jurisdiction.
    assert_eq!(report.chains, 25);
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

/// Replays the stage rules of docs/domain.md ("Events", "Stages") over the fixture.
#[test]
fn every_event_fits_its_pilots_stage() {
    replay_stages(&events().unwrap());
}

fn replay_stages(events: &[Envelope]) {
    let mut registered_at = HashMap::new();
    let mut stage: HashMap<Uuid, Stage> = HashMap::new();
    let mut pending: HashMap<Uuid, HashSet<String>> = HashMap::new();
    let mut context = HashSet::new();

    for (i, e) in events.iter().enumerate() {
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
            Subject::Jurisdiction(_) => {
                if let Event::ContextRecorded(d) = &e.event {
                    if let Some(who) = d.issued_by {
                        assert!(registered_at.contains_key(&who), "line {line}");
                    }
                    context.insert(e.event_id);
                }
                continue;
            }
            Subject::Pilot(id) => (id, e.occurred_at),
        };
        for id in &e.provenance.context_ids {
            assert!(context.contains(id), "line {line}: unknown context {id}");
        }
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
            (Event::PilotLinked(d), Some(s)) => {
                assert!(stage.contains_key(&d.other_pilot_id), "line {line}");
                s
            }
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
        Event::ContactLogged(d) => [Some(d.stakeholder_id), d.intermediary_id]
            .into_iter()
            .flatten()
            .collect(),
        Event::TargetSet(d) => d.set_by.into_iter().collect(),
        Event::StanceAssessed(d) => vec![d.stakeholder_id],
        Event::AllianceFormed(d) => d.stakeholder_ids.clone(),
        Event::ApprovalRequested(d) => vec![d.approver_id],
        Event::HighlightRecorded(d) => d.credited_to.clone(),
        _ => Vec::new(),
    }
}

/// The facts docs/domain.md ("The Nanguo case as data") asks the fixture to reproduce.
#[test]
fn the_fixture_reproduces_the_case() {
    reproduces_the_case(&events().unwrap());
}

fn reproduces_the_case(events: &[Envelope]) {
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
    assert!(metrics["insured_persons"] >= 6_000_000.0);
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

/// The frozen schema-1 copy: the bytes the demo had before schema 2, kept as stored history.
#[test]
fn the_schema_1_history_still_decodes_verifies_and_keeps_the_facts() {
    let events = decode_all(SCHEMA_1).unwrap();
    assert_eq!(events.len(), 98);
    assert!(events.iter().all(|e| e.schema == 1));
    assert!(events.iter().all(|e| e.provenance.is_empty()));
    let report = verify_lines(SCHEMA_1.lines().map(str::as_bytes)).unwrap();
    assert_eq!((report.events, report.chains), (98, 23));
    for (i, (line, envelope)) in SCHEMA_1.lines().zip(&events).enumerate() {
        assert_eq!(envelope.to_json(), line, "line {}", i + 1);
        assert_eq!(envelope.computed_hash(), envelope.hash, "line {}", i + 1);
    }
    replay_stages(&events);
    reproduces_the_case(&events);
}

/// The same pilots and stakeholders as the schema-1 history: ids are kept, only added to.
#[test]
fn the_schema_2_history_keeps_the_schema_1_ids() {
    let chains =
        |events: &[Envelope]| -> HashSet<Subject> { events.iter().map(|e| e.subject).collect() };
    let before = chains(&decode_all(SCHEMA_1).unwrap());
    let after = chains(&events().unwrap());
    assert!(before.is_subset(&after));
    let added: Vec<_> = after.difference(&before).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(added.contains(&&Subject::Stakeholder(TOWN_LEADERS)));
    assert!(added.contains(&&Subject::Jurisdiction(NANGUO)));
}

fn on_pilot(events: &[Envelope], pilot: Uuid) -> impl Iterator<Item = &Envelope> {
    events
        .iter()
        .filter(move |e| e.subject == Subject::Pilot(pilot))
}

#[test]
fn vague_dates_are_recorded_with_their_precision() {
    let events = events().unwrap();
    let first = |pilot, event_type: pilot_events::EventType| {
        on_pilot(&events, pilot)
            .find(|e| e.event_type() == event_type)
            .unwrap()
    };
    use pilot_events::EventType::*;
    // "In March 1992, the Nanguo municipal government initiated the health insurance innovation."
    let initiative = first(HICI, PilotProposed);
    assert_eq!(initiative.provenance.precision, Some(Precision::Month));
    assert_eq!(initiative.occurred_at, datetime!(1992-03-01 00:00 +08:00));
    // Table 1 gives years only: 1994 HICI, 2000 BHI and HIHC, 2004 LCHI.
    for (pilot, year) in [(HICI, 1994), (BHI, 2000), (HIHC, 2000), (LCHI, 2004)] {
        let started = first(pilot, ImplementationStarted);
        assert_eq!(started.provenance.precision, Some(Precision::Year));
        assert_eq!(
            started.occurred_at,
            time::Date::from_calendar_date(year, time::Month::January, 1)
                .unwrap()
                .midnight()
                .assume_offset(time::macros::offset!(+08:00))
        );
    }
    // "in 2009 ... National Model City of Social Development".
    let model = on_pilot(&events, UBHI)
        .find(|e| matches!(&e.event, Event::HighlightRecorded(d) if d.highlight_id == "model-city-2009"))
        .unwrap();
    assert_eq!(model.provenance.precision, Some(Precision::Year));
    assert_eq!(model.occurred_at, datetime!(2009-01-01 00:00 +08:00));
    // Every vague date is the first instant of its period in Nanguo's offset.
    for e in &events {
        if e.provenance.precision.is_some() {
            assert_eq!(e.occurred_at.offset(), time::macros::offset!(+08:00));
        }
    }
}

#[test]
fn over_six_million_is_at_least_six_million() {
    let events = events().unwrap();
    let insured = on_pilot(&events, UBHI)
        .find_map(|e| match &e.event {
            Event::MetricRecorded(d) if d.metric == "insured_persons" => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(insured.value, 6_000_000.0);
    assert_eq!(insured.qualifier, Some(Qualifier::AtLeast));
    assert_eq!(insured.as_of, date!(2011 - 12 - 31));
    let migrants = on_pilot(&events, UBHI)
        .find_map(|e| match &e.event {
            Event::MetricRecorded(d) if d.metric == "migrant_participation_share" => {
                Some(d.clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(migrants.qualifier(), Qualifier::About);
}

#[test]
fn the_ssdnc_is_credited_with_its_rank_and_budget() {
    let events = events().unwrap();
    let rewards: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::HighlightRecorded(d) if d.kind.is_office_reward() => Some((e, d)),
            _ => None,
        })
        .collect();
    let kinds: Vec<HighlightKind> = rewards.iter().map(|(_, d)| d.kind).collect();
    assert_eq!(
        kinds,
        [HighlightKind::RankingUpgrade, HighlightKind::BudgetIncrease]
    );
    for (e, d) in rewards {
        // The office is named as the fixture's actor names it.
        assert_eq!(d.credited_offices, std::slice::from_ref(&e.actor.office));
        assert_eq!(d.credited_offices, ["SSDNC"]);
        assert!(d.credited_to.is_empty());
        assert_eq!(e.provenance.precision, Some(Precision::Year));
    }
    // No other highlight credits an office: the leaders keep their credit.
    assert!(events.iter().all(|e| match &e.event {
        Event::HighlightRecorded(d) => d.kind.is_office_reward() || d.credited_offices.is_empty(),
        _ => true,
    }));
}

#[test]
fn the_entrepreneurs_are_named_on_their_contacts() {
    let events = events().unwrap();
    let mut names: HashMap<String, usize> = HashMap::new();
    for e in &events {
        if let Event::ContactLogged(d) = &e.event {
            if let Some(name) = &d.made_by {
                *names.entry(name.clone()).or_default() += 1;
            }
        }
    }
    for name in ["Mr. Lao", "Mr. Zhao", "Mr. Yao", "Director of the SSDNC"] {
        assert!(names.contains_key(name), "{name} in {names:?}");
    }
    assert!(names["Mr. Lao"] >= 5, "{names:?}");
}

#[test]
fn the_town_leaders_are_the_intermediary_of_the_pressure_on_enterprises() {
    let events = events().unwrap();
    let registered = events
        .iter()
        .find_map(|e| match &e.event {
            Event::StakeholderRegistered(d) if e.subject == Subject::Stakeholder(TOWN_LEADERS) => {
                Some(d.clone())
            }
            _ => None,
        })
        .unwrap();
    assert!(
        registered.name.starts_with("Town leaders"),
        "{}",
        registered.name
    );
    let through: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::ContactLogged(d) if d.intermediary_id == Some(TOWN_LEADERS) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(through.len(), 1);
    let contact = through[0];
    assert_eq!(contact.stakeholder_id, ENTERPRISE_OWNERS);
    assert_eq!(contact.strategy, Strategy::Pressure);
    assert_eq!(contact.channel, Channel::PersonalRelationship);
    assert_eq!(contact.made_by.as_deref(), Some("Mr. Lao"));
}

#[test]
fn the_disputes_are_negative_stances_before_they_were_settled() {
    let events = events().unwrap();
    for (pilot, who) in [
        (HIHC, BUREAU_OF_FINANCE),
        (HIHC, ENTERPRISE_OWNERS),
        (LCHI, LANDLESS_PEASANTS),
    ] {
        let stances: Vec<i8> = on_pilot(&events, pilot)
            .filter_map(|e| match &e.event {
                Event::StanceAssessed(d) if d.stakeholder_id == who => Some(d.stance.value()),
                Event::ContactLogged(d) if d.stakeholder_id == who => Some(d.stance.value()),
                _ => None,
            })
            .collect();
        let negative = stances.iter().position(|s| *s < 0);
        assert!(negative.is_some(), "{who}: {stances:?}");
        // Each dispute was settled: a later observation is positive.
        assert!(
            stances[negative.unwrap_or(0)..].iter().any(|s| *s > 0),
            "{who}: {stances:?}"
        );
    }
}

#[test]
fn hici_was_renamed_into_bhi_and_hihc_modelled_on_hici() {
    let events = events().unwrap();
    let links: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::PilotLinked(d) => Some((e.subject, d.relation, d.other_pilot_id, e)),
            _ => None,
        })
        .collect();
    let rename = links
        .iter()
        .find(|(from, ..)| *from == Subject::Pilot(HICI))
        .unwrap();
    assert_eq!((rename.1, rename.2), (LinkRelation::RenamedInto, BHI));
    assert_eq!(rename.3.occurred_at.year(), 2000);
    assert_eq!(rename.3.provenance.precision, Some(Precision::Year));
    assert!(links
        .iter()
        .any(|(from, relation, to, _)| *from == Subject::Pilot(HIHC)
            && *relation == LinkRelation::ModelledOn
            && *to == HICI));
}

#[test]
fn nanguo_is_a_jurisdiction_with_its_calendar_and_context() {
    let events = events().unwrap();
    let on_nanguo: Vec<_> = events
        .iter()
        .filter(|e| e.subject == Subject::Jurisdiction(NANGUO))
        .collect();
    let Event::JurisdictionRegistered(registered) = &on_nanguo[0].event else {
        panic!("the jurisdiction's chain starts with its registration")
    };
    assert_eq!(registered.name, "Nanguo");
    assert_eq!(registered.utc_offset, "+08:00");
    // The calendar is named as the calendar file names itself.
    let calendar = registered.calendar.as_deref().unwrap();
    assert!(
        CALENDAR
            .lines()
            .any(|l| l.trim() == format!("name = \"{calendar}\"")),
        "deploy/calendars/nanguo.toml is not named {calendar}"
    );
    // Every pilot names it.
    for e in &events {
        if let Event::PilotProposed(d) = &e.event {
            assert_eq!(d.jurisdiction, registered.name);
        }
    }

    let context: HashMap<ContextKind, (&Envelope, &pilot_events::data::ContextRecorded)> =
        on_nanguo
            .iter()
            .filter_map(|e| match &e.event {
                Event::ContextRecorded(d) => Some((d.kind, (*e, d))),
                _ => None,
            })
            .collect();
    let (directive_event, directive) = context[&ContextKind::Directive];
    assert_eq!(directive.issued_by, Some(PROVINCE));
    assert!(directive.title.contains("1 million"), "{}", directive.title);
    assert_eq!(directive_event.occurred_at.year(), 2000);
    let (reorganisation, _) = context[&ContextKind::Reorganisation];
    assert_eq!(reorganisation.occurred_at.year(), 2008);
    let (indicator_event, indicator) = context[&ContextKind::Indicator];
    assert_eq!(
        (indicator.value, indicator.qualifier),
        (Some(0.7), Some(Qualifier::About))
    );
    assert_eq!(indicator_event.provenance.precision, Some(Precision::Year));

    // HIHC's target is the province's, set under its directive.
    let target = on_pilot(&events, HIHC)
        .find(|e| matches!(e.event, Event::TargetSet(_)))
        .unwrap();
    let Event::TargetSet(d) = &target.event else {
        unreachable!()
    };
    assert_eq!(d.set_by, Some(PROVINCE));
    assert_eq!(target.provenance.context_ids, [directive_event.event_id]);
}

#[test]
fn every_pilot_and_context_event_cites_the_paper() {
    for e in events().unwrap() {
        if matches!(e.subject, Subject::Stakeholder(_))
            || matches!(e.event, Event::JurisdictionRegistered(_))
        {
            continue;
        }
        let source = e.provenance.source.as_ref().unwrap();
        assert_eq!(source.citation, CITATION, "{}", e.event_id);
    }
}

/// The natural persons of the case, and only they, are data subjects (docs/personal-data.md):
/// posts, bodies and groups are not, so nothing of theirs is ever sealed or erased.
#[test]
fn the_natural_persons_and_only_they_are_marked_as_persons() {
    let mut persons: Vec<String> = events()
        .unwrap()
        .into_iter()
        .filter_map(|envelope| match envelope.event {
            Event::StakeholderRegistered(registered) if registered.person => Some(registered.name),
            _ => None,
        })
        .collect();
    persons.sort();
    assert_eq!(
        persons,
        [
            "Mayor Gong",
            "Party Secretary Li",
            "Party Secretary Liu",
            "Party Secretary Tong",
            "Vice Mayor Zhan (in charge of social welfare)",
        ]
    );
}
