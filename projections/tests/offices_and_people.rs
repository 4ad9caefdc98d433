//! Schema 2's ledger: offices credited beside stakeholders, balances in (`occurred_at`, stream
//! position) order, and a person's view adding the lines of the posts held within the tenure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::data::{HighlightRecorded, TenureRecorded};
use pilot_events::{Event, HighlightKind, Level, Precision, Subject};
use pilot_projections::ledger::Party;
use scenario::*;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

fn credited(id: &str, level: Level, to: &[Uuid], offices: &[&str]) -> Event {
    Event::HighlightRecorded(HighlightRecorded {
        highlight_id: id.into(),
        kind: HighlightKind::RankingUpgrade,
        level,
        title: format!("Honour {id}"),
        conferred_by: "the province".into(),
        credited_to: to.to_vec(),
        credited_offices: offices.iter().map(|o| o.to_string()).collect(),
    })
}

fn tenure(post: Uuid, from: Date, to: Option<Date>) -> Event {
    Event::TenureRecorded(TenureRecorded {
        post_id: post,
        from,
        to,
        note: String::new(),
    })
}

/// Records `event` at `at` and returns its event id.
fn at(s: &mut Scenario, when: OffsetDateTime, subject: Subject, event: Event) -> Uuid {
    s.at(when);
    let envelope = s.envelope(subject, event);
    let id = envelope.event_id;
    s.feed(envelope).unwrap();
    id
}

#[test]
fn an_office_is_credited_the_full_points_and_its_balance_runs() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    at(
        &mut s,
        datetime!(2001-03-01 09:00 +08:00),
        p,
        credited("h1", Level::Provincial, &[mayor], &["SSDNC"]),
    );
    at(
        &mut s,
        datetime!(2002-03-01 09:00 +08:00),
        p,
        credited("h2", Level::Municipal, &[], &["SSDNC", "Bureau of Finance"]),
    );
    let ledger = s.world.ledger();
    let ssdnc: Vec<_> = ledger
        .for_office("SSDNC")
        .iter()
        .map(|l| (l.line.highlight_id.clone(), l.balance))
        .collect();
    assert_eq!(ssdnc, vec![("h1".to_string(), 4), ("h2".to_string(), 6)]);
    assert_eq!(ledger.office_balance("SSDNC"), 6);
    assert_eq!(ledger.office_balance("Bureau of Finance"), 2);
    assert_eq!(ledger.office_balance("nobody"), 0);
    assert_eq!(
        ledger.offices(),
        vec![
            ("Bureau of Finance".to_string(), 2),
            ("SSDNC".to_string(), 6)
        ]
    );
    assert_eq!(
        ledger.stakeholder_balance(mayor),
        4,
        "the office's line h2 is not the mayor's"
    );
    assert_eq!(
        ledger.office_balance_at("SSDNC", datetime!(2001-12-31 00:00 UTC)),
        4
    );
    assert_eq!(
        ledger.office_balance_at("SSDNC", datetime!(2001-01-01 00:00 UTC)),
        0
    );
}

#[test]
fn a_pilot_counts_a_line_once_when_a_stakeholder_and_an_office_share_it() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let secretary = s.stakeholder("Secretary", 5);
    let p = s.pilot();
    s.given(
        p,
        credited(
            "h1",
            Level::National,
            &[mayor, secretary],
            &["SSDNC", "Bureau of Finance"],
        ),
    );
    let ledger = s.world.ledger();
    assert_eq!(ledger.pilot_balance(p.id()), 8);
    assert_eq!(s.world.pilot_view(&p.id()).unwrap().points, 8);
    assert_eq!(ledger.stakeholder_balance(mayor), 8);
    assert_eq!(ledger.stakeholder_balance(secretary), 8);
    assert_eq!(ledger.office_balance("SSDNC"), 8);
    assert_eq!(ledger.office_balance("Bureau of Finance"), 8);
}

#[test]
fn a_highlight_recorded_late_lands_in_its_place_and_moves_the_balances_after_it() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let early = s.pilot();
    let later = s.pilot();
    at(
        &mut s,
        datetime!(2005-06-01 09:00 +08:00),
        later,
        credited("late-pilot", Level::Provincial, &[mayor], &["SSDNC"]),
    );
    // Learned afterwards, on another pilot's chain: it happened in 2003 ("2003", year precision).
    s.at(datetime!(2003-01-01 00:00 +08:00));
    let mut envelope = s.envelope(
        early,
        credited("vague", Level::Municipal, &[mayor], &["SSDNC"]),
    );
    envelope.provenance.precision = Some(Precision::Year);
    let head = envelope.prev_hash;
    s.feed(envelope.seal(head)).unwrap();

    let ledger = s.world.ledger();
    for lines in [ledger.for_office("SSDNC"), ledger.for_stakeholder(mayor)] {
        let running: Vec<_> = lines
            .iter()
            .map(|l| (l.line.highlight_id.as_str(), l.balance))
            .collect();
        assert_eq!(running, vec![("vague", 2), ("late-pilot", 6)]);
    }
    let vague = &ledger.for_office("SSDNC")[0];
    assert_eq!(vague.line.precision, Some(Precision::Year));
    assert_eq!(vague.line.period(), "2003");
    assert_eq!(
        ledger.stakeholder_balance_at(mayor, datetime!(2004-01-01 00:00 +08:00)),
        2
    );
    assert_eq!(
        ledger.stakeholder_balance_at(mayor, datetime!(2005-06-01 09:00 +08:00)),
        6
    );
    let all: Vec<_> = ledger.lines().map(|l| l.highlight_id.as_str()).collect();
    assert_eq!(all, vec!["vague", "late-pilot"]);
}

/// A post held by Gong from 2001-01-01 to 2003-12-31 and by Li from 2004-01-01 on, with
/// lines just inside and just outside each tenure (in the lines' own +08:00 offset).
struct Posts {
    s: Scenario,
    post: Uuid,
    secretary_post: Uuid,
    gong: Uuid,
    li: Uuid,
}

fn posts() -> Posts {
    let mut s = Scenario::default();
    let post = s.stakeholder("Mayor of Nanguo", 5);
    let secretary_post = s.stakeholder("Party secretary of Nanguo", 5);
    let gong = s.stakeholder("Gong", 3);
    let li = s.stakeholder("Li", 3);
    s.given(
        Subject::Stakeholder(gong),
        tenure(post, date!(2001 - 01 - 01), Some(date!(2003 - 12 - 31))),
    )
    .given(
        Subject::Stakeholder(gong),
        tenure(secretary_post, date!(2002 - 06 - 01), None),
    )
    // Recorded twice (an overlapping record): a line it covers still appears once.
    .given(
        Subject::Stakeholder(gong),
        tenure(post, date!(2002 - 01 - 01), Some(date!(2002 - 12 - 31))),
    )
    .given(
        Subject::Stakeholder(li),
        tenure(post, date!(2004 - 01 - 01), None),
    );
    let p = s.pilot();
    let lines = [
        ("before", datetime!(2000-12-31 23:59 +08:00), vec![post]),
        ("first-day", datetime!(2001-01-01 00:00 +08:00), vec![post]),
        (
            "both-posts",
            datetime!(2002-07-01 09:00 +08:00),
            vec![post, secretary_post],
        ),
        (
            "own-and-post",
            datetime!(2002-08-01 09:00 +08:00),
            vec![gong, post],
        ),
        ("own", datetime!(2002-09-01 09:00 +08:00), vec![gong]),
        ("last-day", datetime!(2003-12-31 23:59 +08:00), vec![post]),
        // 2003-12-31 16:30 UTC, but 2004-01-01 where it happened: Li's.
        (
            "li-first-day",
            datetime!(2004-01-01 00:30 +08:00),
            vec![post],
        ),
        ("li-open", datetime!(2010-05-01 09:00 +08:00), vec![post]),
    ];
    for (id, when, to) in lines {
        at(&mut s, when, p, credited(id, Level::Municipal, &to, &[]));
    }
    Posts {
        s,
        post,
        secretary_post,
        gong,
        li,
    }
}

#[test]
fn a_person_s_view_adds_the_post_s_lines_within_the_tenure_bounds_included() {
    let Posts {
        s,
        post,
        secretary_post,
        gong,
        li,
    } = posts();
    let gong_lines = s.world.person_lines(gong);
    let seen: Vec<_> = gong_lines
        .iter()
        .map(|l| {
            (
                l.line.highlight_id.as_str(),
                l.own,
                l.via_posts.clone(),
                l.balance,
            )
        })
        .collect();
    let mut both = vec![post, secretary_post];
    both.sort();
    assert_eq!(
        seen,
        vec![
            ("first-day", false, vec![post], 2),
            ("both-posts", false, both, 4),
            ("own-and-post", true, vec![post], 6),
            ("own", true, vec![], 8),
            ("last-day", false, vec![post], 10),
        ]
    );
    assert_eq!(s.world.person_balance(gong), 10);
    assert_eq!(
        s.world
            .person_balance_at(gong, datetime!(2002-07-31 00:00 +08:00)),
        4
    );

    let li_lines: Vec<_> = s
        .world
        .person_lines(li)
        .iter()
        .map(|l| (l.line.highlight_id.as_str(), l.balance))
        .collect();
    assert_eq!(
        li_lines,
        vec![("li-first-day", 2), ("li-open", 4)],
        "an open tenure runs on"
    );
    assert_eq!(s.world.person_balance(li), 4);
}

#[test]
fn rankings_count_each_party_s_own_lines_only() {
    let Posts {
        s,
        post,
        secretary_post,
        gong,
        li,
    } = posts();
    let ledger = s.world.ledger();
    // The post was credited on 7 lines, the secretary's post on 1, Gong by name on 2.
    assert_eq!(ledger.stakeholder_balance(post), 14);
    assert_eq!(ledger.stakeholder_balance(gong), 4);
    assert_eq!(ledger.stakeholder_balance(li), 0);
    assert_eq!(
        ledger.ranking(),
        vec![
            (Party::Stakeholder(post), 14),
            (Party::Stakeholder(gong), 4),
            (Party::Stakeholder(secretary_post), 2),
        ]
    );
    let total: u64 = ledger.ranking().iter().map(|(_, points)| points).sum();
    let credited: u64 = ledger
        .lines()
        .map(|l| u64::from(l.points) * l.credited_to.len() as u64)
        .sum();
    assert_eq!(total, credited, "no line counted twice for a party");
}

#[test]
fn a_snapshot_keeps_offices_precision_and_tenures() {
    let Posts { mut s, gong, .. } = posts();
    let p = s.pilot();
    s.at(datetime!(2011-01-01 00:00 +08:00));
    let mut envelope = s.envelope(p, credited("office", Level::National, &[], &["SSDNC"]));
    envelope.provenance.precision = Some(Precision::Year);
    let head = envelope.prev_hash;
    s.feed(envelope.seal(head)).unwrap();

    let bytes = s.world.snapshot().unwrap();
    let restored = pilot_projections::World::restore(&bytes).unwrap();
    assert_eq!(
        restored.ledger().lines().collect::<Vec<_>>(),
        s.world.ledger().lines().collect::<Vec<_>>()
    );
    assert_eq!(restored.ledger().offices(), vec![("SSDNC".to_string(), 8)]);
    assert_eq!(
        restored.ledger().for_office("SSDNC")[0].line.period(),
        "2011"
    );
    assert_eq!(restored.person_lines(gong), s.world.person_lines(gong));
    assert_eq!(restored.ledger().ranking(), s.world.ledger().ranking());
}
