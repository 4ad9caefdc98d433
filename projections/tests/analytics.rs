//! Comparative analytics on small hand-made histories: every figure checked against numbers
//! worked out by hand, at the end of the history and as of dates that cut it in the middle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::data::*;
use pilot_events::*;
use pilot_projections::analytics::{analytics, Analytics, StallRate, Summary};
use scenario::*;
use time::macros::datetime;
use time::OffsetDateTime;
use uuid::Uuid;

const END: OffsetDateTime = datetime!(2000-12-31 23:00 +08:00);

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn summary(days: &[f64]) -> Summary {
    Summary::of(days)
}

fn rate(requested: usize, stalled: usize, stalled_pending: usize) -> StallRate {
    StallRate {
        requested,
        stalled,
        stalled_pending,
        rate: (requested > 0).then(|| stalled as f64 / requested as f64),
    }
}

struct Gate {
    s: Scenario,
    mayor: Uuid,
    finance: Uuid,
    a: Uuid,
    b: Uuid,
    c: Uuid,
}

/// Three pilots through the approval gate (schema-1 requests: municipal approvals stall after
/// 30 calendar days, provincial after 60):
/// - A, proposed 01-10: `launch` (mayor, municipal) requested 01-12 and `funds` (finance,
///   provincial) 01-13; funds granted 01-20 (7 days), launch 01-22 (10 days): approved after
///   12 days; implementing 01-23, scaled 02-09 (30 days after its proposal).
/// - B, proposed 02-01: `launch` (finance, provincial) requested 02-03, denied 02-13 (10 days);
///   `launch2` (mayor, municipal) requested 02-15, granted 03-21 (35 days, past its deadline of
///   03-16 09:00): approved after 49 days (February 2000 has 29).
/// - C, proposed 03-01: `launch` (mayor, municipal) requested 03-03, still pending (deadline
///   04-02 09:00).
fn gate() -> Gate {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor of Nanguo", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    let day = |m: u8, d: u8| {
        time::Date::from_calendar_date(2000, time::Month::try_from(m).unwrap(), d)
            .unwrap()
            .with_hms(9, 0, 0)
            .unwrap()
            .assume_offset(time::macros::offset!(+08:00))
    };
    s.at(day(1, 10));
    let a = s.pilot();
    s.at(day(1, 11)).given(a, designed());
    s.at(day(1, 12))
        .given(a, requested("launch", mayor, Level::Municipal));
    s.at(day(1, 13))
        .given(a, requested("funds", finance, Level::Provincial));
    s.at(day(1, 20)).given(a, granted("funds"));
    s.at(day(1, 22)).given(a, granted("launch"));
    s.at(day(1, 23)).given(
        a,
        Event::ImplementationStarted(ImplementationStarted {
            scope: "city".into(),
        }),
    );
    s.at(day(2, 9)).given(
        a,
        Event::PilotScaled(PilotScaled {
            to_level: Level::Provincial,
            scope: "province".into(),
            successor_title: "Provincial insurance".into(),
        }),
    );
    s.at(day(2, 1));
    let b = s.pilot();
    s.at(day(2, 2)).given(b, designed());
    s.at(day(2, 3))
        .given(b, requested("launch", finance, Level::Provincial));
    s.at(day(2, 13)).given(b, denied("launch"));
    s.at(day(2, 15))
        .given(b, requested("launch2", mayor, Level::Municipal));
    s.at(day(3, 21)).given(b, granted("launch2"));
    s.at(day(3, 1));
    let c = s.pilot();
    s.at(day(3, 2)).given(c, designed());
    s.at(day(3, 3))
        .given(c, requested("launch", mayor, Level::Municipal));
    Gate {
        s,
        mayor,
        finance,
        a: a.id(),
        b: b.id(),
        c: c.id(),
    }
}

fn at(g: &Gate, as_of: OffsetDateTime) -> Analytics {
    analytics(&g.s.world, as_of).unwrap()
}

#[test]
fn proposal_to_approval_by_level_and_by_the_approvers_who_opened_the_gate() {
    let g = gate();
    let all = at(&g, END);
    let p = &all.proposal_to_approval;
    assert_eq!(p.overall, summary(&[12.0, 49.0]));
    assert_eq!(p.overall.median, Some(30.5));
    let levels: Vec<_> = p.by_level.iter().map(|l| (l.level, &l.figures)).collect();
    assert_eq!(
        levels,
        vec![
            (Level::Municipal, &summary(&[12.0, 49.0])),
            (Level::Provincial, &summary(&[12.0])),
        ],
        "B's denied provincial request did not open the gate"
    );
    let approvers: Vec<_> = p
        .by_approver
        .iter()
        .map(|a| (a.approver_id, a.name.as_deref(), &a.figures))
        .collect();
    assert_eq!(
        approvers,
        vec![
            (g.finance, Some("Bureau of Finance"), &summary(&[12.0])),
            (g.mayor, Some("Mayor of Nanguo"), &summary(&[12.0, 49.0])),
        ]
    );
    let days: Vec<_> = all
        .pilots
        .iter()
        .map(|p| (p.pilot_id, p.days_to_approval))
        .collect();
    assert_eq!(
        days,
        vec![(g.a, Some(12.0)), (g.b, Some(49.0)), (g.c, None)]
    );
}

#[test]
fn request_to_decision_counts_every_decision_by_outcome() {
    let g = gate();
    let d = &at(&g, END).request_to_decision;
    assert_eq!(d.overall.days, summary(&[7.0, 10.0, 10.0, 35.0]));
    assert_eq!(d.overall.days.mean, Some(15.5));
    assert_eq!(d.overall.days.median, Some(10.0));
    assert_eq!(
        (d.overall.granted, d.overall.denied, d.overall.withdrawn),
        (3, 1, 0)
    );
    let municipal = &d.by_level[0];
    assert_eq!(municipal.level, Level::Municipal);
    assert_eq!(municipal.figures.days, summary(&[10.0, 35.0]));
    assert_eq!(
        (municipal.figures.granted, municipal.figures.denied),
        (2, 0)
    );
    let provincial = &d.by_level[1];
    assert_eq!(provincial.figures.days.median, Some(8.5));
    assert_eq!(
        (provincial.figures.granted, provincial.figures.denied),
        (1, 1)
    );
    let finance = &d.by_approver[0];
    assert_eq!(finance.approver_id, g.finance);
    assert_eq!(finance.figures.days, summary(&[7.0, 10.0]));
    assert_eq!((finance.figures.granted, finance.figures.denied), (1, 1));
    let mayor = &d.by_approver[1];
    assert_eq!(mayor.approver_id, g.mayor);
    assert_eq!(mayor.figures.days, summary(&[10.0, 35.0]));
}

#[test]
fn stall_rates_count_late_decisions_and_approvals_still_waiting_past_their_deadline() {
    let g = gate();
    let stalls = at(&g, END).stall_rates;
    // B's launch2 was decided after its deadline; C's launch still waits past its own.
    assert_eq!(stalls.overall, rate(5, 2, 1));
    assert_eq!(stalls.overall.rate, Some(0.4));
    let levels: Vec<_> = stalls
        .by_level
        .iter()
        .map(|l| (l.level, l.figures.clone()))
        .collect();
    assert_eq!(
        levels,
        vec![
            (Level::Municipal, rate(3, 2, 1)),
            (Level::Provincial, rate(2, 0, 0))
        ]
    );
    let approvers: Vec<_> = stalls
        .by_approver
        .iter()
        .map(|a| (a.approver_id, a.figures.clone()))
        .collect();
    assert_eq!(
        approvers,
        vec![(g.finance, rate(2, 0, 0)), (g.mayor, rate(3, 2, 1))]
    );
    assert!(close(stalls.by_approver[1].figures.rate, 2.0 / 3.0));
}

#[test]
fn an_as_of_date_in_the_middle_sees_only_what_had_happened() {
    let g = gate();
    // 10 March: B's launch2 waits (deadline 16 March), C waits (deadline 2 April).
    let mid = at(&g, datetime!(2000-03-10 00:00 +08:00));
    assert_eq!(mid.pilots.len(), 3);
    assert_eq!(mid.proposal_to_approval.overall, summary(&[12.0]));
    assert_eq!(
        mid.request_to_decision.overall.days,
        summary(&[7.0, 10.0, 10.0])
    );
    assert_eq!(mid.stall_rates.overall, rate(5, 0, 0));
    assert_eq!(mid.time_to_scale_up, summary(&[30.0]));

    // 20 March: launch2 is four days past its deadline and still pending.
    let later = at(&g, datetime!(2000-03-20 09:00 +08:00));
    assert_eq!(later.stall_rates.overall, rate(5, 1, 1));
    assert_eq!(later.proposal_to_approval.overall.count, 1);

    // 20 February: C is not proposed yet, so it does not exist; A is not scaled before 9 Feb.
    let early = at(&g, datetime!(2000-02-20 00:00 +08:00));
    let ids: Vec<_> = early.pilots.iter().map(|p| p.pilot_id).collect();
    assert_eq!(ids, vec![g.a, g.b]);
    assert_eq!(early.stall_rates.overall, rate(4, 0, 0));
    let before_scale = at(&g, datetime!(2000-02-09 08:59 +08:00));
    assert_eq!(before_scale.time_to_scale_up, Summary::default());
    assert_eq!(before_scale.pilots[0].days_to_scale_up, None);
}

#[test]
fn time_to_scale_up_runs_from_proposal_to_the_first_scale_up() {
    let g = gate();
    let all = at(&g, END);
    assert_eq!(all.time_to_scale_up, summary(&[30.0]));
    assert_eq!(all.pilots[0].days_to_scale_up, Some(30.0));
    assert_eq!(all.pilots[1].days_to_scale_up, None);
}

#[test]
fn days_are_fractional() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    s.at(datetime!(2000-01-10 09:00 +08:00));
    let p = s.pilot();
    s.at(datetime!(2000-01-10 21:00 +08:00))
        .given(p, requested("launch", mayor, Level::Municipal));
    s.at(datetime!(2000-01-12 09:00 +08:00))
        .given(p, granted("launch"));
    let all = analytics(&s.world, END).unwrap();
    assert_eq!(all.request_to_decision.overall.days.max, Some(1.5));
    assert_eq!(all.pilots[0].days_to_approval, Some(2.0));
}

#[test]
fn the_support_trajectory_has_a_point_per_change_of_the_index() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    s.at(datetime!(2000-01-10 09:00 +08:00));
    let p = s.pilot();
    s.at(datetime!(2000-01-11 09:00 +08:00))
        .given(p, contact(mayor, 2, Strategy::Framing)); // 5·2/(2·5) = 1
    s.at(datetime!(2000-01-12 09:00 +08:00))
        .given(p, assessed(finance, -2)); // (10-8)/18 = 1/9
    s.at(datetime!(2000-01-13 09:00 +08:00))
        .given(p, contact(finance, -1, Strategy::Brokering)); // (10-4)/18 = 1/3
    s.at(datetime!(2000-01-14 09:00 +08:00))
        .given(p, contact(mayor, 2, Strategy::Marketing)); // unchanged: no point
    s.at(datetime!(2000-01-15 09:00 +08:00))
        .given(p, alliance(&[finance])); // finance to +1: (10+4)/18 = 7/9

    let all = analytics(&s.world, END).unwrap();
    let points = &all.pilots[0].support_trajectory;
    let got: Vec<_> = points.iter().map(|pt| (pt.at, pt.support_index)).collect();
    let want = [
        (datetime!(2000-01-11 09:00 +08:00), 1.0),
        (datetime!(2000-01-12 09:00 +08:00), 1.0 / 9.0),
        (datetime!(2000-01-13 09:00 +08:00), 1.0 / 3.0),
        (datetime!(2000-01-15 09:00 +08:00), 7.0 / 9.0),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((at, index), (want_at, want_index)) in got.iter().zip(want) {
        assert_eq!(*at, want_at);
        assert!(close(*index, want_index), "{at}: {index:?} ≠ {want_index}");
    }

    // Cut on the 13th at noon: the alliance has not happened.
    let mid = analytics(&s.world, datetime!(2000-01-13 12:00 +08:00)).unwrap();
    assert_eq!(mid.pilots[0].support_trajectory.len(), 3);
    assert!(close(
        mid.pilots[0].support_trajectory[2].support_index,
        1.0 / 3.0
    ));
}

#[test]
fn a_retracted_stance_leaves_the_trajectory() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    let p = s.pilot();
    s.given(p, contact(mayor, 2, Strategy::Framing));
    let wrong = s.envelope(p, contact(finance, -2, Strategy::Pressure));
    let wrong_id = wrong.event_id;
    s.feed(wrong).unwrap();
    s.given(p, retracted(wrong_id));
    let all = analytics(&s.world, END).unwrap();
    let got: Vec<_> = all.pilots[0]
        .support_trajectory
        .iter()
        .map(|pt| pt.support_index)
        .collect();
    assert_eq!(got, vec![Some(1.0)]);
}

fn highlight_to(id: &str, level: Level, to: &[Uuid], offices: &[&str]) -> Event {
    Event::HighlightRecorded(HighlightRecorded {
        highlight_id: id.into(),
        kind: HighlightKind::Award,
        level,
        title: format!("Honour {id}"),
        conferred_by: "someone".into(),
        credited_to: to.to_vec(),
        credited_offices: offices.iter().map(|o| o.to_string()).collect(),
    })
}

#[test]
fn points_per_stakeholder_and_per_office_per_year_in_the_lines_own_offset() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    s.at(datetime!(2000-01-10 09:00 +08:00));
    let p = s.pilot();
    s.at(datetime!(2000-06-01 09:00 +08:00)).given(
        p,
        highlight_to("h1", Level::Municipal, &[mayor], &["SSDNC"]),
    );
    s.at(datetime!(2000-09-01 09:00 +08:00)).given(
        p,
        highlight_to(
            "h2",
            Level::Provincial,
            &[mayor, finance],
            &["SSDNC", "FINB"],
        ),
    );
    // 03:00 on New Year's Day in Nanguo is still 2000 in UTC: it counts for 2001.
    s.at(datetime!(2001-01-01 03:00 +08:00)).given(
        p,
        highlight_to("h3", Level::National, &[finance], &["SSDNC"]),
    );
    let wrong = s.envelope(p, highlight_to("h4", Level::National, &[mayor], &["SSDNC"]));
    let wrong_id = wrong.event_id;
    s.feed(wrong).unwrap();
    s.given(p, retracted(wrong_id));

    let all = analytics(&s.world, datetime!(2001-12-31 00:00 UTC)).unwrap();
    let stakeholders: Vec<_> = all
        .points
        .by_stakeholder
        .iter()
        .map(|sp| {
            let years: Vec<_> = sp
                .years
                .iter()
                .map(|y| (y.year, y.points, y.lines))
                .collect();
            (sp.name.clone().unwrap(), sp.total, years)
        })
        .collect();
    assert_eq!(
        stakeholders,
        vec![
            (
                "Bureau of Finance".into(),
                12,
                vec![(2000, 4, 1), (2001, 8, 1)]
            ),
            ("Mayor".to_string(), 6, vec![(2000, 6, 2)]),
        ]
    );
    let offices: Vec<_> = all
        .points
        .by_office
        .iter()
        .map(|o| {
            let years: Vec<_> = o.years.iter().map(|y| (y.year, y.points)).collect();
            (o.office.as_str(), o.total, years)
        })
        .collect();
    assert_eq!(
        offices,
        vec![
            ("FINB", 4, vec![(2000, 4)]),
            ("SSDNC", 14, vec![(2000, 6), (2001, 8)]),
        ]
    );

    // As of 23:00 on 31 December in Nanguo (15:00 UTC), h3 (19:00 UTC) has not happened.
    let cut = analytics(&s.world, datetime!(2000-12-31 23:00 +08:00)).unwrap();
    let ssdnc = cut
        .points
        .by_office
        .iter()
        .find(|o| o.office == "SSDNC")
        .unwrap();
    assert_eq!(ssdnc.total, 6);
    let finance_points = &cut.points.by_stakeholder[0];
    assert_eq!(
        (finance_points.stakeholder_id, finance_points.total),
        (finance, 4)
    );
}

#[test]
fn the_result_serializes_with_its_public_names() {
    let g = gate();
    let json = serde_json::to_value(at(&g, END)).unwrap();
    assert_eq!(json["stall_rates"]["overall"]["rate"], 0.4);
    assert_eq!(
        json["proposal_to_approval"]["by_level"][0]["level"],
        "municipal"
    );
    assert_eq!(json["request_to_decision"]["overall"]["granted"], 3);
    assert_eq!(json["time_to_scale_up"]["median"], 30.0);
    let back: Analytics = serde_json::from_value(json).unwrap();
    assert_eq!(back, at(&g, END));
}

#[test]
fn withdrawals_count_as_decisions_and_approvals_ended_by_the_pilot_only_as_stalls() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    s.at(datetime!(2000-01-10 09:00 +08:00));
    let p = s.pilot();
    s.at(datetime!(2000-01-11 09:00 +08:00))
        .given(p, requested("first", mayor, Level::Municipal));
    s.at(datetime!(2000-01-15 09:00 +08:00))
        .given(p, withdrawn("first")); // 4 days
    s.at(datetime!(2000-01-16 09:00 +08:00))
        .given(p, requested("second", mayor, Level::Municipal));
    // Terminated 40 days later with `second` still pending: past its 30 days.
    s.at(datetime!(2000-02-25 09:00 +08:00)).given(
        p,
        Event::PilotTerminated(PilotTerminated {
            reason: "abandoned".into(),
        }),
    );
    let all = analytics(&s.world, END).unwrap();
    let decisions = &all.request_to_decision.overall;
    assert_eq!(decisions.days, summary(&[4.0]));
    assert_eq!(
        (decisions.granted, decisions.denied, decisions.withdrawn),
        (0, 0, 1)
    );
    assert_eq!(all.stall_rates.overall, rate(2, 1, 0));
    assert_eq!(all.pilots[0].days_to_approval, None);
}

#[test]
fn a_restored_world_loads_its_chains_first_and_then_agrees() {
    let mut g = gate();
    let finance = g.finance;
    let a = Subject::Pilot(g.a);
    g.s.at(datetime!(2000-06-01 09:00 +08:00))
        .given(a, contact(finance, 1, Strategy::Brokering))
        .given(
            a,
            highlight_to("h1", Level::Provincial, &[finance], &["SSDNC"]),
        );
    let snapshot = g.s.world.snapshot().unwrap();
    let mut restored = pilot_projections::World::restore(&snapshot).unwrap();
    let missing = analytics(&restored, END).unwrap_err();
    assert_eq!(missing.pilot_id, g.a, "the first pilot by id is named");
    for id in [g.a, g.b, g.c] {
        let chain: Vec<(u64, Vec<u8>)> =
            g.s.world
                .pilot(&id)
                .unwrap()
                .history
                .raw()
                .map(|(at, bytes)| (at, bytes.to_vec()))
                .collect();
        restored.load_chain(id, chain.iter().map(|(at, b)| (*at, b.as_slice())));
    }
    let figures = analytics(&restored, END).unwrap();
    assert_eq!(figures, at(&g, END));
    assert_eq!(
        figures.points.by_office[0].office, "SSDNC",
        "offices survive a checkpoint"
    );
    assert_eq!(figures.pilots[0].support_trajectory.len(), 1);
}

#[test]
fn a_grant_in_a_round_that_ended_in_a_denial_opened_no_gate() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let finance = s.stakeholder("Bureau of Finance", 4);
    s.at(datetime!(2000-01-10 09:00 +08:00));
    let p = s.pilot();
    s.at(datetime!(2000-01-11 09:00 +08:00))
        .given(p, designed())
        .given(p, requested("launch", mayor, Level::Municipal))
        .given(p, requested("funds", finance, Level::Provincial))
        .given(p, granted("launch"))
        .given(p, denied("funds")) // back to design on 01-15
        .given(p, requested("funds2", finance, Level::Provincial)) // 01-16
        .given(p, granted("funds2")); // approved on 01-17: 7 days after the proposal
    let all = analytics(&s.world, END).unwrap();
    let p2a = &all.proposal_to_approval;
    assert_eq!(p2a.overall, summary(&[7.0]));
    let approvers: Vec<_> = p2a.by_approver.iter().map(|a| a.approver_id).collect();
    assert_eq!(
        approvers,
        vec![finance],
        "the mayor's grant was of the denied round"
    );
    let levels: Vec<_> = p2a.by_level.iter().map(|l| l.level).collect();
    assert_eq!(levels, vec![Level::Provincial]);
    assert_eq!(all.request_to_decision.overall.granted, 2);
}
