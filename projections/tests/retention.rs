//! The retention plan (`pilot_projections::retention`): who a rule erases, and from when.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::data::*;
use pilot_events::*;
use pilot_projections::retention::{
    due, next_due_after, plan, Basis, RetentionRule, RetentionRules, RetentionStart, RuleError,
};
use scenario::*;
use time::macros::datetime;
use time::Duration;
use uuid::Uuid;

const FIVE_YEARS: u32 = 1826;

fn rules(list: &[(StakeholderKind, u32, RetentionStart)]) -> RetentionRules {
    RetentionRules::new(
        list.iter()
            .map(|&(kind, after_days, from)| RetentionRule {
                kind,
                after_days,
                from,
            })
            .collect(),
    )
    .unwrap()
}

fn resident_rule() -> RetentionRules {
    rules(&[(
        StakeholderKind::ResidentGroup,
        FIVE_YEARS,
        RetentionStart::PilotEnd,
    )])
}

fn register(s: &mut Scenario, n: u128, kind: StakeholderKind, person: bool) -> Uuid {
    let id = Uuid::from_u128(0x0194_0000_0000_7000_8000_00c0_0000_0000 | n);
    s.given(
        Subject::Stakeholder(id),
        Event::StakeholderRegistered(StakeholderRegistered {
            name: format!("stakeholder {n}"),
            kind,
            level: Level::Municipal,
            influence: Influence::try_from(2).unwrap(),
            person,
        }),
    );
    id
}

fn terminated() -> Event {
    Event::PilotTerminated(PilotTerminated {
        reason: "ended".into(),
    })
}

fn due_at(s: &Scenario, rules: &RetentionRules, id: Uuid) -> Option<time::OffsetDateTime> {
    plan(&s.world, rules)
        .into_iter()
        .find(|p| p.stakeholder_id == id)
        .and_then(|p| p.due_at)
}

#[test]
fn a_person_of_the_rules_kind_is_due_exactly_after_days_after_the_pilot_ended() {
    let mut s = Scenario::new();
    let resident = register(&mut s, 1, StakeholderKind::ResidentGroup, true);
    let group = register(&mut s, 2, StakeholderKind::ResidentGroup, false);
    let leader = register(&mut s, 3, StakeholderKind::Leader, true);
    let p = s.pilot();
    s.given(p, contact(resident, 1, Strategy::Framing))
        .given(p, contact(group, 1, Strategy::Framing))
        .given(p, contact(leader, 1, Strategy::Framing));
    let ended_at = datetime!(2010-06-30 17:00 +08:00);
    s.at(ended_at).given(p, terminated());

    let rules = resident_rule();
    let planned = plan(&s.world, &rules);
    // Only the person of the kind the rule names: not the group (no person), not the leader
    // (no rule for leaders).
    assert_eq!(planned.len(), 1, "{planned:?}");
    let entry = &planned[0];
    assert_eq!(entry.stakeholder_id, resident);
    let instant = ended_at + Duration::days(i64::from(FIVE_YEARS));
    assert_eq!(entry.due_at, Some(instant));
    assert_eq!(
        entry.basis,
        Basis::PilotEnded {
            pilot_id: p.id(),
            ended_at
        }
    );
    assert!(entry.reason.contains("resident_group"), "{}", entry.reason);
    assert!(entry.reason.contains("1826 days"), "{}", entry.reason);
    assert!(
        !entry.reason.contains("stakeholder 1"),
        "the reason must not name the person: {}",
        entry.reason
    );

    // Due at the instant, not a moment before.
    let before = instant - Duration::nanoseconds(1);
    assert!(due(&s.world, &rules, before).is_empty());
    assert_eq!(next_due_after(&s.world, &rules, before), Some(instant));
    let now_due = due(&s.world, &rules, instant);
    assert_eq!(now_due.len(), 1);
    assert_eq!(now_due[0].stakeholder_id, resident);
    assert_eq!(next_due_after(&s.world, &rules, instant), None);
}

#[test]
fn a_running_pilot_holds_the_instant_back_until_the_last_pilot_has_ended() {
    let mut s = Scenario::new();
    let resident = register(&mut s, 1, StakeholderKind::ResidentGroup, true);
    let first = s.pilot();
    let second = s.pilot();
    s.given(first, contact(resident, 1, Strategy::Framing))
        .given(second, assessed(resident, -1));
    let rules = resident_rule();
    let entry = plan(&s.world, &rules).remove(0);
    assert_eq!(entry.due_at, None);
    assert_eq!(
        entry.basis,
        Basis::PilotsRunning {
            pilot_ids: {
                let mut ids = vec![first.id(), second.id()];
                ids.sort();
                ids
            }
        }
    );

    s.at(datetime!(2011-01-01 0:00 UTC))
        .given(first, terminated());
    assert_eq!(due_at(&s, &rules, resident), None, "the second still runs");

    let later = datetime!(2012-03-01 0:00 UTC);
    s.at(later).given(second, terminated());
    assert_eq!(
        due_at(&s, &rules, resident),
        Some(later + Duration::days(i64::from(FIVE_YEARS))),
        "counted from the last pilot's end"
    );
}

#[test]
fn approvals_and_alliances_count_as_appearing_in_a_pilot() {
    let mut s = Scenario::new();
    let approver = register(&mut s, 1, StakeholderKind::ResidentGroup, true);
    let ally = register(&mut s, 2, StakeholderKind::ResidentGroup, true);
    let p = s.pilot();
    s.given(p, designed())
        .given(p, requested("consent", approver, Level::Municipal))
        .given(p, alliance(&[ally]));
    let rules = resident_rule();
    for id in [approver, ally] {
        let entry = plan(&s.world, &rules)
            .into_iter()
            .find(|e| e.stakeholder_id == id)
            .unwrap();
        assert_eq!(
            entry.basis,
            Basis::PilotsRunning {
                pilot_ids: vec![p.id()]
            }
        );
    }
}

#[test]
fn a_retracted_termination_takes_the_instant_back() {
    let mut s = Scenario::new();
    let resident = register(&mut s, 1, StakeholderKind::ResidentGroup, true);
    let p = s.pilot();
    s.given(p, contact(resident, 1, Strategy::Framing));
    let end = s.envelope(p, terminated());
    let end_id = end.event_id;
    s.feed(end).unwrap();
    let rules = resident_rule();
    assert!(due_at(&s, &rules, resident).is_some());
    s.given(p, retracted(end_id));
    assert_eq!(due_at(&s, &rules, resident), None);
}

#[test]
fn an_erased_person_leaves_the_plan_and_one_in_no_pilot_has_no_instant() {
    let mut s = Scenario::new();
    let erased = register(&mut s, 1, StakeholderKind::ResidentGroup, true);
    let alone = register(&mut s, 2, StakeholderKind::ResidentGroup, true);
    let rules = resident_rule();
    assert_eq!(plan(&s.world, &rules).len(), 2);
    s.given(
        Subject::Stakeholder(erased),
        Event::SubjectErased(SubjectErased {
            reason: "asked".into(),
        }),
    );
    let planned = plan(&s.world, &rules);
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].stakeholder_id, alone);
    assert_eq!(planned[0].basis, Basis::NoPilot);
    assert_eq!(planned[0].due_at, None);
}

#[test]
fn a_registered_rule_counts_from_the_registration_and_no_rules_plan_nothing() {
    let mut s = Scenario::new();
    let registered_at = datetime!(2005-05-05 10:00 +08:00);
    s.at(registered_at);
    let journalist = register(&mut s, 1, StakeholderKind::Media, true);
    let rules = rules(&[(StakeholderKind::Media, 30, RetentionStart::Registered)]);
    let planned = plan(&s.world, &rules);
    assert_eq!(planned[0].stakeholder_id, journalist);
    assert_eq!(planned[0].basis, Basis::Registered { registered_at });
    assert_eq!(planned[0].due_at, Some(registered_at + Duration::days(30)));
    assert!(plan(&s.world, &RetentionRules::default()).is_empty());
}

#[test]
fn the_plan_is_ordered_by_instant_with_the_undated_last() {
    let mut s = Scenario::new();
    let late = register(&mut s, 1, StakeholderKind::ResidentGroup, true);
    let early = register(&mut s, 2, StakeholderKind::ResidentGroup, true);
    let undated = register(&mut s, 3, StakeholderKind::ResidentGroup, true);
    let (a, b) = (s.pilot(), s.pilot());
    s.given(a, contact(late, 0, Strategy::Framing))
        .given(b, contact(early, 0, Strategy::Framing));
    s.at(datetime!(2001-01-01 0:00 UTC)).given(b, terminated());
    s.at(datetime!(2002-01-01 0:00 UTC)).given(a, terminated());
    let order: Vec<Uuid> = plan(&s.world, &resident_rule())
        .into_iter()
        .map(|p| p.stakeholder_id)
        .collect();
    assert_eq!(order, [early, late, undated]);
}

#[test]
fn two_rules_for_one_kind_and_centuries_are_refused() {
    let rule = |after_days| RetentionRule {
        kind: StakeholderKind::Media,
        after_days,
        from: RetentionStart::PilotEnd,
    };
    assert_eq!(
        RetentionRules::new(vec![rule(1), rule(2)]),
        Err(RuleError::TwoRulesForKind {
            kind: StakeholderKind::Media
        })
    );
    let error = RetentionRules::new(vec![rule(40_000)]).unwrap_err();
    assert!(error.to_string().contains("after_days = 40000"), "{error}");
}

#[test]
fn a_rule_reads_from_its_toml_shape() {
    let rule: RetentionRule = serde_json::from_value(serde_json::json!({
        "kind": "resident_group", "after_days": 1826, "from": "pilot_end"
    }))
    .unwrap();
    assert_eq!(rule.kind, StakeholderKind::ResidentGroup);
    assert_eq!(rule.from, RetentionStart::PilotEnd);
    let unknown = serde_json::from_value::<RetentionRule>(serde_json::json!({
        "kind": "resident_group", "after_days": 1, "from": "pilot_end", "fields": []
    }));
    assert!(unknown.is_err());
}
