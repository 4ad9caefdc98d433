//! The alert book driven by events and a controllable clock: no sleeps, every instant chosen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::data::{PilotMerged, PilotTerminated};
use pilot_events::{decode, Envelope, Event, Level, Subject};
use pilot_projections::alert::{AlertError, AlertState, ResolutionReason, TransitionKind};
use pilot_projections::alerting::{replay_book, DayUnit, Threshold};
use pilot_projections::stall::{DayCount, StallRules, Thresholds};
use pilot_projections::stall_terms::StallPolicy;
use pilot_projections::{
    replay, AlertBook, AlertNotice, BookError, Observed, ProjectionError, Refusal, StateCounts,
    StateKind,
};
use scenario::{designed, extended, granted, proposed, requested, retracted, Scenario};
use std::collections::BTreeMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T: OffsetDateTime = datetime!(2008-09-01 09:00 +08:00);
const SETUP: OffsetDateTime = datetime!(2008-01-02 09:00 +08:00);

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A world and a book fed in lock-step, with events sealed onto the world's chain heads by the
/// shared [`Scenario`] harness.
struct Log {
    scenario: Scenario,
    book: AlertBook,
    /// For stakeholder and pilot ids (event ids come from the scenario).
    next_id: u128,
    /// Every envelope fed, in order, for a replay of the same history.
    fed: Vec<Envelope>,
}

impl Log {
    /// The book follows `rules`; the world takes none (it judges by the log alone).
    fn new(rules: StallRules) -> Log {
        Log {
            scenario: Scenario::new(),
            book: AlertBook::new(rules),
            next_id: 0,
            fed: Vec::new(),
        }
    }

    fn envelope(&mut self, subject: Subject, event: Event, at: OffsetDateTime) -> Envelope {
        self.scenario.at(at).envelope(subject, event)
    }

    fn feed(
        &mut self,
        subject: Subject,
        event: Event,
        at: OffsetDateTime,
    ) -> (Uuid, Result<Observed, ProjectionError>) {
        let envelope = self.envelope(subject, event, at);
        let id = envelope.event_id;
        self.fed.push(envelope.clone());
        let world = &mut self.scenario.world;
        let position = world.position() + 1;
        (id, self.book.apply(world, position, envelope))
    }

    /// Feeds an event the test expects to be accepted; returns its id and the book's notices.
    fn ok(
        &mut self,
        subject: Subject,
        event: Event,
        at: OffsetDateTime,
    ) -> (Uuid, Vec<AlertNotice>) {
        let (id, result) = self.feed(subject, event, at);
        let observed = result.unwrap_or_else(|e| panic!("event refused: {e}"));
        assert_eq!(observed.refusals, [], "the book refused something");
        (id, observed.notices)
    }

    fn stakeholder(&mut self, name: &str) -> Uuid {
        self.next_id += 1;
        let id = Uuid::from_u128(0x0194_0000_0000_7000_8000_00b0_0000_0000 | self.next_id);
        let event = Event::StakeholderRegistered(pilot_events::data::StakeholderRegistered {
            name: name.into(),
            kind: pilot_events::StakeholderKind::Leader,
            level: Level::Municipal,
            influence: pilot_events::data::Influence::try_from(5i64).unwrap(),
            person: false,
        });
        self.ok(Subject::Stakeholder(id), event, SETUP);
        id
    }

    /// A pilot in `design`, proposed and designed at setup time.
    fn pilot(&mut self, title: &str) -> Subject {
        self.pilot_at(title, SETUP)
    }

    /// A pilot in `design`, proposed and designed at `at`.
    fn pilot_at(&mut self, title: &str, at: OffsetDateTime) -> Subject {
        self.next_id += 1;
        let subject = Subject::Pilot(Uuid::from_u128(
            0x0194_0000_0000_7000_8000_00a0_0000_0000 | self.next_id,
        ));
        self.ok(subject, proposed(title), at);
        self.ok(subject, designed(), at);
        subject
    }

    fn request(
        &mut self,
        pilot: Subject,
        approval: &str,
        approver: Uuid,
        at: OffsetDateTime,
    ) -> Uuid {
        self.ok(pilot, requested(approval, approver, Level::Municipal), at)
            .0
    }
}

/// `(instant, alert, what, notify)`: one notice, for compact expectations.
type Brief = (OffsetDateTime, Uuid, String, bool);

fn brief(notices: &[AlertNotice]) -> Vec<Brief> {
    notices
        .iter()
        .map(|n| {
            let what = match &n.transition.kind {
                TransitionKind::Warned { .. } => "warned".to_string(),
                TransitionKind::Fired { .. } => "fired".to_string(),
                TransitionKind::Escalated { level } => format!("escalated {level}"),
                TransitionKind::Extended { extra_days, .. } => format!("extended {extra_days}"),
                TransitionKind::Acknowledged { user } => format!("acknowledged by {user}"),
                TransitionKind::Silenced { .. } => "silenced".to_string(),
                TransitionKind::Resolved { reason, waited } => {
                    format!("resolved {reason:?} after {} days", waited.whole_days())
                }
            };
            (n.transition.at, n.alert_id, what, n.transition.notify)
        })
        .collect()
}

fn b(at: OffsetDateTime, alert: Uuid, what: &str, notify: bool) -> Brief {
    (at, alert, what.to_string(), notify)
}

/// Advances `book` as a live alerter does: woken at each due instant in turn up to `until`, so
/// every threshold is reached on its own (a single `advance_to(until)` is a jump, which records
/// only where each alert stands at `until`).
fn live(book: &mut AlertBook, until: OffsetDateTime) -> Vec<AlertNotice> {
    let mut out = Vec::new();
    while let Some(due) = book.next_due().filter(|due| *due <= until) {
        out.extend(book.advance_to(due));
    }
    out.extend(book.advance_to(until));
    out
}

fn merged(into: Subject) -> Event {
    Event::PilotMerged(PilotMerged {
        into_pilot_id: into.id(),
        reason: "unified system".into(),
    })
}

fn terminated() -> Event {
    Event::PilotTerminated(PilotTerminated {
        reason: "abandoned".into(),
    })
}

#[test]
fn a_30_day_wait_warns_at_80_percent_fires_once_escalates_and_resolves_on_grant() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor of Nanguo (post)");
    let p = log.pilot("LCHI");
    let (a, notices) = log.ok(p, requested("lchi-mayor", mayor, Level::Municipal), T);
    assert_eq!(notices, [], "a request sends nothing");
    assert_eq!(
        log.book.counts(),
        StateCounts::default(),
        "a wait within its threshold is no alert yet"
    );
    assert!(log.book.get(&a).is_none());
    assert_eq!(log.book.next_due(), Some(T + days(24)));

    assert_eq!(log.book.advance_to(T + days(24) - Duration::SECOND), []);
    assert_eq!(
        brief(&log.book.advance_to(T + days(24))),
        [b(T + days(24), a, "warned", true)]
    );
    assert_eq!(
        log.book.advance_to(T + days(30) - Duration::SECOND),
        [],
        "nothing before the stall"
    );

    let fired = log.book.advance_to(T + days(30));
    assert_eq!(brief(&fired), [b(T + days(30), a, "fired", true)]);
    let notice = &fired[0];
    assert_eq!(notice.alert_id, a, "alert id = the request's event id");
    assert_eq!(notice.request_event_id, a);
    assert_eq!(notice.pilot_id, p.id());
    assert_eq!(notice.pilot_title, "LCHI");
    assert_eq!(notice.approval_id, "lchi-mayor");
    assert_eq!(notice.approver_id, mayor);
    assert_eq!(
        notice.approver_name.as_deref(),
        Some("Mayor of Nanguo (post)")
    );
    assert_eq!(notice.level, Level::Municipal);
    assert_eq!(notice.requested_at, T);
    assert_eq!(
        (notice.waited_days, notice.waited_seconds),
        (30, 30 * 86_400)
    );
    let threshold = Threshold {
        days: 30,
        extra_days: 0,
        unit: DayUnit::CalendarDays,
        calendar: None,
        basis: None,
        counted_in: "calendar days".into(),
    };
    assert_eq!(notice.threshold, threshold);
    assert_eq!(
        notice.last_activity, T,
        "the request was the pilot's last event"
    );
    assert_eq!(
        notice.transition.kind,
        TransitionKind::Fired {
            due_at: T + days(30)
        }
    );

    assert_eq!(
        log.book.advance_to(T + days(30)),
        [],
        "fires once, not once per check"
    );
    assert_eq!(log.book.advance_to(T + days(59)), []);
    assert_eq!(
        brief(&log.book.advance_to(T + days(60))),
        [b(T + days(60), a, "escalated 2", true)]
    );
    assert_eq!(
        brief(&log.book.advance_to(T + days(90))),
        [b(T + days(90), a, "escalated 3", true)]
    );
    assert_eq!(log.book.counts().firing, 1);

    let (_, notices) = log.ok(p, granted("lchi-mayor"), T + days(95));
    assert_eq!(
        brief(&notices),
        [b(T + days(95), a, "resolved Granted after 95 days", true)]
    );
    assert_eq!(notices[0].waited_days, 95);
    assert_eq!(notices[0].last_activity, T + days(95));
    let view = log.book.get(&a).unwrap();
    assert_eq!(
        view.state,
        AlertState::Resolved {
            at: T + days(95),
            reason: ResolutionReason::Granted,
            waited: days(95)
        }
    );
    assert_eq!(log.book.advance_to(T + days(400)), []);
    assert_eq!(log.book.next_due(), None);
    assert_eq!(
        log.book.counts(),
        StateCounts {
            resolved: 1,
            ..StateCounts::default()
        }
    );
}

#[test]
fn an_event_first_catches_every_alert_up_to_its_instant_once_each_in_time_order() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let (p, q) = (log.pilot("P"), log.pilot("Q"));
    let a = log.request(p, "a", mayor, T);
    let c = log.request(q, "c", mayor, T + days(10));
    // Nobody advanced the clock; the grant at day 70 catches both alerts up first, each to
    // where it stands then (not warned, fired and escalated in one go).
    let (_, notices) = log.ok(p, granted("a"), T + days(70));
    assert_eq!(
        brief(&notices),
        [
            b(T + days(60), a, "escalated 2", true),
            b(T + days(70), c, "escalated 2", true),
            b(T + days(70), a, "resolved Granted after 70 days", true),
        ]
    );
}

#[test]
fn one_back_dated_request_records_one_escalation() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let back_dated = datetime!(2001-03-01 09:00 +08:00);
    let p = log.pilot_at("P", back_dated);
    let a = log.request(p, "a", mayor, back_dated);
    let now = datetime!(2026-12-04 09:30 +08:00);
    let out = log.book.advance_to(now);
    // 30-day threshold: the 315th whole threshold since the request is the level it is at.
    let level = u32::try_from((now - back_dated).whole_days() / 30).unwrap();
    assert_eq!(
        brief(&out),
        [b(
            back_dated + days(30 * i64::from(level)),
            a,
            &format!("escalated {level}"),
            true
        )]
    );
    assert_eq!(log.book.advance_to(now), [], "recorded once");
    assert_eq!(
        log.book.get(&a).unwrap().state,
        AlertState::Firing {
            since: back_dated + days(30),
            escalation_level: level
        }
    );
}

/// Builds two pilots that request at the same instant, in the given order.
fn tie(first_q: bool) -> (Vec<Brief>, Uuid, Uuid) {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let (p, q) = (log.pilot("P"), log.pilot("Q"));
    let (x, y) = if first_q {
        let y = log.request(q, "y", mayor, T);
        (log.request(p, "x", mayor, T), y)
    } else {
        let x = log.request(p, "x", mayor, T);
        (x, log.request(q, "y", mayor, T))
    };
    (brief(&live(&mut log.book, T + days(30))), x, y)
}

#[test]
fn same_input_gives_the_same_output_and_ties_go_by_alert_id() {
    let (out, x, y) = tie(false);
    assert_eq!(tie(false).0, out, "deterministic");
    let (first, second) = (x.min(y), x.max(y));
    assert_eq!(
        out,
        [
            b(T + days(24), first, "warned", true),
            b(T + days(24), second, "warned", true),
            b(T + days(30), first, "fired", true),
            b(T + days(30), second, "fired", true),
        ]
    );
    let (swapped, x, y) = tie(true);
    assert_eq!(swapped[0].1, x.min(y), "by alert id, not by feeding order");
}

#[test]
fn an_extension_before_the_stall_moves_the_due_time_and_one_after_it_is_refused() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    assert_eq!(
        brief(&log.book.advance_to(T + days(25))),
        [b(T + days(24), a, "warned", true)]
    );

    let (_, notices) = log.ok(p, extended("a", 10), T + days(25));
    let extension = TransitionKind::Extended {
        extra_days: 10,
        warn_at: T + days(32),
        due_at: T + days(40),
        warning_cleared: true,
    };
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (
            notices[0].transition.kind.clone(),
            notices[0].transition.notify
        ),
        (extension, false)
    );
    assert_eq!(notices[0].threshold.days, 40);
    assert_eq!(notices[0].threshold.extra_days, 10);
    assert_eq!(log.book.counts().pending, 1, "the yellow light went off");
    assert_eq!(log.book.next_due(), Some(T + days(32)));
    assert_eq!(
        log.book.advance_to(T + days(31)),
        [],
        "the old due time has no effect"
    );
    assert_eq!(
        brief(&live(&mut log.book, T + days(40))),
        [
            b(T + days(32), a, "warned", true),
            b(T + days(40), a, "fired", true)
        ]
    );

    // After the stall the world refuses the extension, and the book never sees it.
    let (_, late) = log.feed(p, extended("a", 10), T + days(41));
    let Err(ProjectionError::Refused { refusal, .. }) = late else {
        panic!("a late extension must be refused, got {late:?}");
    };
    assert!(
        matches!(refusal, Refusal::ApprovalStalled { .. }),
        "{refusal}"
    );
    assert_eq!(
        log.book.clock(),
        Some(T + days(40)),
        "a refused event moves nothing"
    );
    assert_eq!(log.book.get(&a).unwrap().threshold.days, 40);
}

#[test]
fn the_book_surfaces_an_extension_its_own_rules_refuse_once() {
    // The world stalls this unrecorded request at 30 days (schema 1), the book at 20: the world
    // accepts an extension at day 25 that the book finds too late.
    let strict = StallRules::new(
        Thresholds {
            municipal: 20,
            ..Thresholds::default()
        },
        0.8,
        DayCount::Calendar,
    )
    .unwrap();
    let mut log = Log::new(strict);
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    let (extension, result) = log.feed(p, extended("a", 10), T + days(25));
    let observed = result.unwrap();
    assert_eq!(
        brief(&observed.notices),
        [b(T + days(20), a, "fired", true)],
        "caught up to the extension's instant: where the alert stands then"
    );
    assert_eq!(observed.refusals.len(), 1);
    let refusal = &observed.refusals[0];
    assert_eq!((refusal.alert_id, refusal.event_id), (a, extension));
    let expected = AlertError::AlreadyStalled {
        approval_id: "a".into(),
        due_at: T + days(20),
        at: T + days(25),
    };
    assert_eq!(refusal.error, expected);
    assert_eq!(
        BookError::from(refusal.error.clone()).code(),
        "approval_stalled"
    );

    // Not asked again at the next event of the pilot; a second extension is its own refusal.
    let (_, result) = log.feed(p, requested("b", mayor, Level::Municipal), T + days(26));
    assert_eq!(result.unwrap().refusals, []);
    let (_, result) = log.feed(p, extended("a", 5), T + days(27));
    let refusals = result.unwrap().refusals;
    assert_eq!(refusals.len(), 1);
    assert_eq!(log.book.get(&a).unwrap().threshold.days, 20);
}

#[test]
fn working_days_skip_a_public_holiday_and_count_make_up_days() {
    // National Day week 2008: 10-01..07 off; Sat 09-27 and Sun 09-28 worked instead.
    let calendar = serde_json::from_value(serde_json::json!({
        "name": "nanguo",
        "utc_offset": "+08:00",
        "holidays": ["2008-10-01", "2008-10-02", "2008-10-03", "2008-10-04",
                     "2008-10-05", "2008-10-06", "2008-10-07"],
        "makeup_workdays": ["2008-09-27", "2008-09-28"]
    }))
    .unwrap();
    let thresholds = Thresholds {
        municipal: 10,
        ..Thresholds::default()
    };
    let rules = StallRules::new(thresholds, 0.8, DayCount::Working(calendar)).unwrap();
    let mut log = Log::new(rules);
    let mayor = log.stakeholder("Mayor");
    let (p, q) = (log.pilot("P"), log.pilot("Q"));
    // Thursday 09-25 10:00. Working days after it: 1 Fri 26, 2 Sat 27 (make-up), 3 Sun 28
    // (make-up), 4 Mon 29, 5 Tue 30, (holidays), 6 Wed 10-08, 7 Thu 09, 8 Fri 10, 9 Mon 13,
    // 10 Tue 14, 11 Wed 15, ..., 20 Tue 28. Without the make-up days the 10th would be Thu 16.
    let requested_at = datetime!(2008-09-25 10:00 +08:00);
    let a = log.request(p, "a", mayor, requested_at);
    let c = log.request(q, "c", mayor, requested_at);
    // An extension of one working day on Thu 10-09 (7th working day, before the stall).
    let (_, notices) = log.ok(q, extended("c", 1), datetime!(2008-10-09 10:00 +08:00));
    assert_eq!(
        notices,
        [],
        "extended before its warning (8th working day): no alert, so nothing recorded"
    );

    assert_eq!(
        log.book
            .advance_to(datetime!(2008-10-14 09:59:59 +08:00))
            .len(),
        2,
        "warnings"
    );
    let out = live(&mut log.book, datetime!(2008-10-29 00:00 +08:00));
    assert_eq!(
        brief(&out),
        [
            b(datetime!(2008-10-14 10:00 +08:00), a, "fired", true),
            b(datetime!(2008-10-15 10:00 +08:00), c, "fired", true),
            b(datetime!(2008-10-28 10:00 +08:00), a, "escalated 2", true),
        ]
    );
    assert_eq!(out[0].waited_days, 10);
    assert_eq!(out[0].threshold.unit, DayUnit::WorkingDays);
    assert_eq!(out[0].threshold.calendar.as_deref(), Some("nanguo"));
    assert_eq!(
        (out[1].threshold.days, out[1].threshold.extra_days),
        (11, 1)
    );
    let warned_a = log.book.get(&a).unwrap();
    assert!(matches!(
        warned_a.state,
        AlertState::Firing {
            escalation_level: 2,
            ..
        }
    ));
    // 11 working days × 2 = 22 for Q: Thu 10-30.
    assert_eq!(
        log.book.next_due(),
        Some(datetime!(2008-10-30 10:00 +08:00))
    );
}

#[test]
fn merging_or_terminating_a_pilot_resolves_all_its_open_alerts() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let (p, q, unified) = (log.pilot("P"), log.pilot("Q"), log.pilot("Unified"));
    let a1 = log.request(p, "a1", mayor, T);
    let a2 = log.request(p, "a2", mayor, T + days(20));
    let c = log.request(q, "c", mayor, T);
    assert_eq!(
        log.book.advance_to(T + days(25)).len(),
        2,
        "a1 and c warned"
    );

    let (_, notices) = log.ok(p, merged(unified), T + days(26));
    assert_eq!(
        brief(&notices),
        [b(
            T + days(26),
            a1,
            "resolved PilotMerged after 26 days",
            true
        )],
        "a2 waited 6 days, never reached its warning, so it was never an alert"
    );
    assert!(log.book.get(&a2).is_none());
    assert!(matches!(
        log.book.get(&c).unwrap().state,
        AlertState::Warning { .. }
    ));

    let (_, notices) = log.ok(q, terminated(), T + days(27));
    assert_eq!(
        brief(&notices),
        [b(
            T + days(27),
            c,
            "resolved PilotTerminated after 27 days",
            true
        )]
    );
    assert_eq!(log.book.counts().open(), 0);
    assert_eq!(log.book.counts().resolved, 2);
    assert_eq!(log.book.next_due(), None);
}

#[test]
fn a_resolved_alert_never_reopens_and_a_new_request_starts_a_new_alert() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let first = log.request(p, "launch", mayor, T);
    let (_, notices) = log.ok(p, scenario::denied("launch"), T + days(25));
    assert_eq!(
        brief(&notices),
        [
            b(T + days(24), first, "warned", true),
            b(T + days(25), first, "resolved Denied after 25 days", true)
        ],
        "whoever was warned hears of the denial"
    );
    let second = log.request(p, "launch", mayor, T + days(30));
    assert_ne!(second, first);

    let out = live(&mut log.book, T + days(110));
    assert!(
        out.iter().all(|n| n.alert_id == second),
        "the first alert stays resolved"
    );
    assert_eq!(brief(&out)[0], b(T + days(54), second, "warned", true));
    let refused = log.book.acknowledge(first, "wang.clerk", T + days(100), "");
    let Err(error) = refused else {
        panic!("acknowledging a resolved alert must be refused");
    };
    assert!(
        matches!(error, BookError::Alert(AlertError::Resolved { .. })),
        "{error}"
    );
    assert_eq!(error.code(), "alert_resolved");
    assert_eq!(log.book.counts().resolved, 1);
    assert_eq!(log.book.counts().firing, 1);
}

#[test]
fn acknowledging_goes_through_the_book_and_a_refusal_changes_nothing() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);

    let unknown = Uuid::from_u128(42);
    let error = log
        .book
        .acknowledge(unknown, "wang.clerk", T, "")
        .unwrap_err();
    assert_eq!(error, BookError::UnknownAlert { alert_id: unknown });
    assert_eq!(error.code(), "unknown_alert");

    let before = serde_json::to_value(&log.book).unwrap();
    let error = log
        .book
        .acknowledge(a, "wang.clerk", T + days(10), "")
        .unwrap_err();
    assert!(matches!(
        error,
        BookError::Alert(AlertError::NotRaised { .. })
    ));
    assert_eq!(
        serde_json::to_value(&log.book).unwrap(),
        before,
        "not even the clock moved"
    );

    log.book.advance_to(T + days(25));
    let out = log
        .book
        .acknowledge(a, "wang.clerk", T + days(31), "calling the mayor's office")
        .unwrap();
    assert_eq!(
        brief(&out),
        [
            b(T + days(30), a, "fired", true),
            b(T + days(31), a, "acknowledged by wang.clerk", false),
        ]
    );
    assert_eq!(
        brief(&log.book.advance_to(T + days(60))),
        [b(T + days(60), a, "escalated 2", false)],
        "acknowledged: recorded, not re-sent"
    );
    let view = log.book.get(&a).unwrap();
    assert_eq!(view.acknowledged.unwrap().user, "wang.clerk");
    let action = serde_json::to_value(&view.actions).unwrap();
    assert_eq!(action[0]["action"], "acknowledged");
    assert_eq!(action[0]["note"], "calling the mayor's office");
    assert_eq!(action[0]["by"], "wang.clerk");
}

/// The API records the event `user_action_event` gives, and the book applies it when the event
/// comes back from the stream: one rulebook, so nothing recorded is refused on the way back,
/// and nothing the book would refuse is recorded.
#[test]
fn a_user_action_is_judged_and_applied_by_the_same_rulebook() {
    use pilot_projections::alerting::UserActionKind;
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    let ack = UserActionKind::Acknowledged {
        note: "on it".into(),
    };
    let unknown = Uuid::from_u128(42);
    let error = log
        .book
        .user_action_event(unknown, "li", T, &ack)
        .unwrap_err();
    assert_eq!(error.code(), "unknown_alert");
    // Not raised on day 10: refused, though the book's clock has not moved past the request.
    let error = log
        .book
        .user_action_event(a, "li", T + days(10), &ack)
        .unwrap_err();
    assert_eq!(error.code(), "alert_not_raised");
    // On day 31 it has fired, though the book's clock still stands at the request: judged as
    // of the action's instant, on a copy.
    let before = serde_json::to_value(&log.book).unwrap();
    let event = log
        .book
        .user_action_event(a, "li", T + days(31), &ack)
        .unwrap();
    assert_eq!(
        serde_json::to_value(&log.book).unwrap(),
        before,
        "a dry run"
    );
    assert!(event.is_user_action());
    assert!(!event.notice.transition.notify);
    assert_eq!(event.note.as_deref(), Some("on it"));
    assert_eq!(event.recorded_by, "li");
    // Read back, the book takes exactly that action.
    let out = log
        .book
        .acknowledge(a, "li", event.notice.transition.at, "on it")
        .unwrap();
    assert_eq!(
        brief(&out).last(),
        Some(&b(T + days(31), a, "acknowledged by li", false))
    );
    let again = log
        .book
        .user_action_event(a, "wang", T + days(32), &ack)
        .unwrap_err();
    assert_eq!(again.code(), "alert_already_acknowledged");
    let silence = |reason: &str, until| UserActionKind::Silenced {
        until,
        reason: reason.into(),
    };
    let at = T + days(32);
    let no_reason = log
        .book
        .user_action_event(a, "li", at, &silence(" ", at + days(1)));
    assert_eq!(no_reason.unwrap_err().code(), "no_silence_reason");
    let backwards = log
        .book
        .user_action_event(a, "li", at, &silence("away", at));
    assert_eq!(backwards.unwrap_err().code(), "silence_not_after_start");
    let silenced = log
        .book
        .user_action_event(a, "li", at, &silence("mayor abroad", at + days(7)))
        .unwrap();
    assert!(silenced.is_user_action());
}

#[test]
fn silencing_goes_through_the_book() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    let error = log
        .book
        .silence(a, "li.head", T, T + days(1), " ")
        .unwrap_err();
    assert_eq!(error, BookError::Alert(AlertError::NoSilenceReason));
    let out = log
        .book
        .silence(
            a,
            "li.head",
            T + days(25),
            T + days(50),
            "mayor abroad until mid-October",
        )
        .unwrap();
    assert_eq!(
        brief(&out),
        [
            b(T + days(24), a, "warned", true),
            b(T + days(25), a, "silenced", false)
        ]
    );
    assert_eq!(
        brief(&live(&mut log.book, T + days(60))),
        [
            b(T + days(30), a, "fired", false),
            b(T + days(60), a, "escalated 2", true)
        ],
        "muted inside the silence, sent after it expired"
    );
    let view = log.book.get(&a).unwrap();
    assert_eq!(view.silences.len(), 1);
    assert_eq!(view.actions[0].by, "li.head");
}

#[test]
fn queries_by_state_by_id_and_counts() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let firing = log.request(p, "firing", mayor, T);
    let resolved = log.request(p, "resolved", mayor, T + days(1));
    // Warned on day 29, then extended on day 33: the warning moves to day 37, so the alert
    // is pending again, an alert all the same.
    let cleared = log.request(p, "cleared", mayor, T + days(5));
    let warning = log.request(p, "warning", mayor, T + days(10));
    let waiting = log.request(p, "waiting", mayor, T + days(30));
    log.ok(p, granted("resolved"), T + days(31));
    log.ok(p, extended("cleared", 10), T + days(33));
    log.book.advance_to(T + days(35));

    let ids = |state| -> Vec<Uuid> { log.book.by_state(state).map(|v| v.alert_id).collect() };
    assert_eq!(ids(StateKind::Pending), [cleared]);
    assert_eq!(ids(StateKind::Warning), [warning]);
    assert_eq!(ids(StateKind::Firing), [firing]);
    assert_eq!(ids(StateKind::Resolved), [resolved]);
    assert_eq!(
        log.book.counts(),
        StateCounts {
            pending: 1,
            warning: 1,
            firing: 1,
            resolved: 1
        }
    );
    assert_eq!(log.book.all().count(), 4);
    assert_eq!(log.book.len(), 4);
    assert!(
        log.book.get(&waiting).is_none(),
        "a wait 5 days old is no alert"
    );
    assert_eq!(StateKind::parse("firing"), Some(StateKind::Firing));
    assert_eq!(StateKind::parse("burning"), None);
    assert!(log.book.get(&Uuid::from_u128(7)).is_none());

    let view = log.book.get(&firing).unwrap();
    assert_eq!(view.pilot_title, "P");
    assert_eq!(view.approval.approval_id, "firing");
    assert_eq!(view.next_due, Some(T + days(60)));
    assert_eq!(
        view.last_activity,
        T + days(33),
        "the extension was the pilot's last event"
    );
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["state"], "firing");
    assert_eq!(json["escalation_level"], 1);
    assert_eq!(json["since"], "2008-10-01T09:00:00+08:00");
    assert_eq!(json["approval"]["approval_id"], "firing");
    assert_eq!(json["threshold"]["unit"], "calendar_days");
    assert_eq!(json["next_due"], "2008-10-31T09:00:00+08:00");
}

#[test]
fn retracting_a_request_resolves_its_alert_and_retracting_a_decision_starts_a_successor() {
    let run = || {
        let mut log = Log::new(StallRules::default());
        let mayor = log.stakeholder("Mayor");
        let p = log.pilot("P");
        let wrong = log.request(p, "launch", mayor, T);
        log.book.advance_to(T + days(25));
        let (_, notices) = log.ok(p, retracted(wrong), T + days(26));
        assert_eq!(
            brief(&notices),
            [b(
                T + days(26),
                wrong,
                "resolved Retracted after 26 days",
                true
            )]
        );

        let request = log.request(p, "launch", mayor, T + days(27));
        let (grant, notices) = log.ok(p, granted("launch"), T + days(52));
        let what: Vec<String> = brief(&notices).into_iter().map(|n| n.2).collect();
        assert_eq!(what, ["warned", "resolved Granted after 25 days"]);
        let (_, notices) = log.ok(p, retracted(grant), T + days(70));
        (log, request, notices)
    };
    let (mut log, request, notices) = run();
    // The wait is pending again. Its alert stays resolved; a successor follows the same
    // request and catches up at once to where it stands, with the instant of the request's
    // own schedule (the warning of day 51 is passed over: the stall of day 57 is the news).
    let successor = notices[0].alert_id;
    assert_ne!(successor, request);
    assert_eq!(brief(&notices), [b(T + days(57), successor, "fired", true)]);
    assert_eq!(notices[0].request_event_id, request);
    assert_eq!(
        run().2[0].alert_id,
        successor,
        "a replay derives the same id"
    );
    assert!(matches!(
        log.book.get(&request).unwrap().state,
        AlertState::Resolved { .. }
    ));

    let p = Subject::Pilot(notices[0].pilot_id);
    let (_, notices) = log.ok(p, granted("launch"), T + days(71));
    assert_eq!(
        brief(&notices),
        [b(
            T + days(71),
            successor,
            "resolved Granted after 44 days",
            true
        )]
    );
}

#[test]
fn retracting_an_extension_brings_the_stall_back() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    let (extension, _) = log.ok(p, extended("a", 10), T + days(20));
    assert_eq!(log.book.next_due(), Some(T + days(32)));
    let (_, notices) = log.ok(p, retracted(extension), T + days(35));
    assert_eq!(
        brief(&notices),
        [
            b(T + days(32), a, "warned", true),
            b(T + days(30), a, "fired", true)
        ],
        "the catch-up under 40 days, then the stall of the 30-day threshold"
    );
    assert_eq!(log.book.get(&a).unwrap().threshold.days, 30);
    assert_eq!(log.book.next_due(), Some(T + days(60)));
}

#[test]
fn advancing_wakes_only_the_alerts_that_are_due() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let mut first = None;
    for n in 0..400 {
        let p = log.pilot(&format!("Pilot {n}"));
        for k in 0..5 {
            // One request a minute: request i (0-based) warns at T + 24 days + i minutes.
            let i = n * 5 + k;
            let id = log.request(p, &format!("a{k}"), mayor, T + Duration::minutes(i));
            first.get_or_insert(id);
        }
    }
    assert_eq!(
        log.book.counts(),
        StateCounts::default(),
        "2000 waits, no alert"
    );
    assert_eq!(log.book.next_due(), Some(T + days(24)));

    let woken = log.book.wakeups();
    let out = log.book.advance_to(T + days(24));
    assert_eq!(
        brief(&out),
        [b(T + days(24), first.unwrap(), "warned", true)]
    );
    assert_eq!(
        log.book.wakeups() - woken,
        1,
        "one due alert, one wake-up, of 2000 open"
    );

    let woken = log.book.wakeups();
    assert_eq!(
        log.book.advance_to(T + days(24) + Duration::seconds(59)),
        []
    );
    assert_eq!(
        log.book.wakeups() - woken,
        0,
        "nothing due, nothing touched"
    );

    let out = log.book.advance_to(T + days(24) + Duration::minutes(3));
    assert_eq!(out.len(), 3);
    assert_eq!(log.book.wakeups() - woken, 3);
    assert_eq!(
        log.book.next_due(),
        Some(T + days(24) + Duration::minutes(4))
    );
    assert_eq!(
        (log.book.counts().open(), log.book.counts().warning),
        (4, 4),
        "the 1996 others are no alerts yet"
    );
}

#[test]
fn a_checkpoint_restores_and_carries_on_exactly_like_the_original() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    let c = log.request(p, "c", mayor, T + days(3));
    live(&mut log.book, T + days(31));
    log.book
        .acknowledge(a, "wang.clerk", T + days(31), "on it")
        .unwrap();

    let json = serde_json::to_string(&log.book).unwrap();
    let mut restored: AlertBook = serde_json::from_str(&json).unwrap();
    assert_eq!(restored.counts(), log.book.counts());
    assert_eq!(restored.next_due(), log.book.next_due());
    assert_eq!(restored.clock(), Some(T + days(31)));

    let grant = log.envelope(p, granted("c"), T + days(65));
    log.scenario
        .world
        .apply(log.scenario.world.position() + 1, grant.clone())
        .unwrap();
    let original = log.book.observe(&log.scenario.world, &grant);
    let resumed = restored.observe(&log.scenario.world, &grant);
    assert_eq!(resumed, original);
    assert_eq!(
        brief(&original.notices),
        [
            b(T + days(60), a, "escalated 2", false),
            b(T + days(63), c, "escalated 2", true),
            b(T + days(65), c, "resolved Granted after 62 days", true),
        ]
    );
    assert_eq!(
        restored.advance_to(T + days(200)),
        log.book.advance_to(T + days(200))
    );
    assert_eq!(
        serde_json::to_string(&restored).unwrap(),
        serde_json::to_string(&log.book).unwrap()
    );
}

#[test]
fn a_notice_is_self_contained_json() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor of Nanguo (post)");
    let p = log.pilot("LCHI");
    log.request(p, "lchi-mayor", mayor, T);
    let fired = log.book.advance_to(T + days(30)).pop().unwrap();
    let json = serde_json::to_value(&fired).unwrap();
    assert_eq!(json["approver_name"], "Mayor of Nanguo (post)");
    assert_eq!(json["requested_at"], "2008-09-01T09:00:00+08:00");
    assert_eq!(json["waited_days"], 30);
    assert_eq!(
        json["threshold"],
        serde_json::json!({"days": 30, "extra_days": 0, "unit": "calendar_days", "counted_in": "calendar days"})
    );
    assert_eq!(json["transition"]["kind"], "fired");
    assert_eq!(json["transition"]["at"], "2008-10-01T09:00:00+08:00");
    assert_eq!(json["transition"]["notify"], true);
    let back: AlertNotice = serde_json::from_value(json).unwrap();
    assert_eq!(back, fired);
}

const NANGUO: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/demo/nanguo.jsonl"
));

fn nanguo_events() -> Vec<Envelope> {
    NANGUO
        .lines()
        .map(|line| decode(line.as_bytes()).unwrap())
        .collect()
}

/// `(instant, approval, what)` of the notices that are sent.
fn sent(notices: &[AlertNotice]) -> Vec<(OffsetDateTime, String, String)> {
    let approvals: Vec<String> = notices.iter().map(|n| n.approval_id.clone()).collect();
    brief(notices)
        .into_iter()
        .zip(approvals)
        .filter(|((_, _, _, notify), _)| *notify)
        .map(|((at, _, what, _), approval)| (at, approval, what))
        .collect()
}

#[test]
fn replaying_nanguo_shows_when_each_alert_would_have_fired() {
    // deploy/demo/README.md, "Approvals and stalls": with 30 calendar days and a warning at 80%,
    // LCHI's approval (requested 2003-10-13 10:00) warns on 11-06, fires on 11-12 10:00,
    // escalates on 12-12 and is resolved on 12-15 after 63 days; the GOHS expansion (requested
    // 2008-10-13) only warns, on 11-06; every other approval is decided in time. The replay's
    // clock follows the events, and no event falls between LCHI's warning and its stall: the
    // clock jumps past both, so (as for a live alerter) only the stall is recorded.
    let replay = replay(
        &StallRules::default(),
        nanguo_events(),
        datetime!(2012-01-01 00:00 +08:00),
    );
    assert_eq!(replay.refused, []);
    assert_eq!(replay.refusals, []);
    let s = |at, approval: &str, what: &str| (at, approval.to_string(), what.to_string());
    assert_eq!(
        sent(&replay.notices),
        [
            s(
                datetime!(2003-11-12 10:00 +08:00),
                "lchi-2004-mayor",
                "fired"
            ),
            s(
                datetime!(2003-12-12 10:00 +08:00),
                "lchi-2004-mayor",
                "escalated 2"
            ),
            s(
                datetime!(2003-12-15 10:00 +08:00),
                "lchi-2004-mayor",
                "resolved Granted after 63 days"
            ),
            s(
                datetime!(2008-11-06 10:00 +08:00),
                "gohs-2008-mayor",
                "warned"
            ),
            s(
                datetime!(2008-11-10 10:00 +08:00),
                "gohs-2008-mayor",
                "resolved Granted after 28 days"
            ),
        ]
    );
    assert_eq!(
        replay.notices.len(),
        5,
        "the five above: the five approvals decided in time were never alerts"
    );
    assert_eq!(
        replay.book.counts(),
        StateCounts {
            resolved: 2,
            ..StateCounts::default()
        }
    );
    let fired = replay
        .notices
        .iter()
        .find(|n| matches!(n.transition.kind, TransitionKind::Fired { .. }))
        .unwrap();
    assert_eq!(fired.pilot_title, "Local Citizen Health Insurance (LCHI)");
    assert_eq!(
        fired.approver_name.as_deref(),
        Some("Mayor of Nanguo (post)")
    );
    assert_eq!(fired.waited_days, 30);
}

#[test]
fn replaying_nanguo_until_a_date_shows_the_alerts_open_then() {
    let until = datetime!(2003-11-20 00:00 +08:00);
    let replay = replay(&StallRules::default(), nanguo_events(), until);
    assert_eq!(
        replay.refused,
        [],
        "events after `until` are left out, not refused"
    );
    let firing: Vec<_> = replay.book.by_state(StateKind::Firing).collect();
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].approval.approval_id, "lchi-2004-mayor");
    assert_eq!(firing[0].next_due, Some(datetime!(2003-12-12 10:00 +08:00)));
    assert_eq!(
        replay.book.next_due(),
        Some(datetime!(2003-12-12 10:00 +08:00))
    );
    assert_eq!(replay.book.clock(), Some(until));
    assert_eq!(
        replay.book.counts().resolved,
        0,
        "HICI, BHI and HIHC were decided by then, in time: never alerts"
    );
    assert_eq!(replay.book.len(), 1);
}

/// Municipal approvals stall after `days` calendar days (warning at 80%).
fn municipal_after(days: u32) -> StallRules {
    let thresholds = Thresholds {
        municipal: days,
        ..Thresholds::default()
    };
    StallRules::new(thresholds, 0.8, DayCount::Calendar).unwrap()
}

/// A log whose book follows `rules` for `pilot` alone; the world and every other pilot, the
/// defaults.
fn with_override(log: &mut Log, pilot: Subject, rules: StallRules) {
    let overrides = BTreeMap::from([(pilot.id(), rules)]);
    log.book = AlertBook::with_overrides(StallRules::default(), overrides);
}

#[test]
fn a_pilot_with_an_override_fires_at_its_own_threshold_while_others_use_the_default() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let (p, q) = (log.pilot("P"), log.pilot("Q"));
    with_override(&mut log, p, municipal_after(10));
    assert_eq!(log.book.pilot_rules(&p.id()), &municipal_after(10));
    assert_eq!(log.book.pilot_rules(&q.id()), &StallRules::default());
    let a = log.request(p, "a", mayor, T);
    let c = log.request(q, "c", mayor, T);
    assert_eq!(log.book.next_due(), Some(T + days(8)), "80% of P's 10 days");

    let out = live(&mut log.book, T + days(30));
    assert_eq!(
        brief(&out),
        [
            b(T + days(8), a, "warned", true),
            b(T + days(10), a, "fired", true),
            b(T + days(20), a, "escalated 2", true),
            b(T + days(24), c, "warned", true),
            b(T + days(30), a, "escalated 3", true),
            b(T + days(30), c, "fired", true),
        ]
    );
    assert_eq!(out[1].threshold.days, 10, "P's notice names P's threshold");
    assert_eq!(out[5].threshold.days, 30);
    assert_eq!(log.book.get(&a).unwrap().threshold.days, 10);
    assert_eq!(log.book.get(&a).unwrap().next_due, Some(T + days(40)));
    assert_eq!(log.book.get(&c).unwrap().threshold.days, 30);
}

#[test]
fn changing_the_overrides_moves_the_timers_of_open_alerts() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    assert_eq!(log.book.next_due(), Some(T + days(24)));
    log.book
        .set_overrides(BTreeMap::from([(p.id(), municipal_after(10))]));
    assert_eq!(log.book.next_due(), Some(T + days(8)));
    log.book.set_overrides(BTreeMap::new());
    assert_eq!(
        log.book.next_due(),
        Some(T + days(24)),
        "back to the default"
    );
    log.book
        .set_overrides(BTreeMap::from([(p.id(), municipal_after(10))]));
    let warned = log.book.advance_to(T + days(8));
    assert_eq!(brief(&warned), [b(T + days(8), a, "warned", true)]);
    assert_eq!(warned[0].threshold.days, 10);
    assert_eq!(log.book.get(&a).unwrap().threshold.days, 10);
}

#[test]
fn an_extension_the_pilots_own_rules_find_late_is_refused_by_the_book() {
    // The world stalls at the default 30 days; P's override at 10: the world accepts an
    // extension on day 12, the book refuses it for P and says when P had stalled.
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    with_override(&mut log, p, municipal_after(10));
    let a = log.request(p, "a", mayor, T);
    let (extension, result) = log.feed(p, extended("a", 5), T + days(12));
    let refusals = result.unwrap().refusals;
    assert_eq!(refusals.len(), 1);
    assert_eq!((refusals[0].alert_id, refusals[0].event_id), (a, extension));
    let expected = AlertError::AlreadyStalled {
        approval_id: "a".into(),
        due_at: T + days(10),
        at: T + days(12),
    };
    assert_eq!(refusals[0].error, expected);
}

#[test]
fn the_world_judges_an_extension_by_the_log_not_the_overrides() {
    // P's request recorded 60 days (the policy of the writer that stored it); Q's was stored
    // without a record, so schema 1's 30 days hold, although the book's override gives Q 60.
    // On day 40 P's extension is on time and Q's late, whatever the book's rules.
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let (p, q) = (log.pilot("P"), log.pilot("Q"));
    with_override(&mut log, q, municipal_after(60));
    let policy = StallPolicy::new(municipal_after(60), BTreeMap::new());
    let mut request = requested("a", mayor, Level::Municipal);
    if let Event::ApprovalRequested(d) = &mut request {
        d.stall = Some(policy.record_request(&p.id(), Level::Municipal, T));
    }
    log.ok(p, request, T);
    log.request(q, "b", mayor, T);
    let (_, on_time) = log.feed(p, extended("a", 5), T + days(40));
    assert_eq!(
        on_time.unwrap().refusals,
        [],
        "the book follows P's record too"
    );
    let (_, late) = log.feed(q, extended("b", 5), T + days(40));
    match late {
        Err(ProjectionError::Refused { refusal, .. }) => {
            assert_eq!(refusal.code(), "approval_stalled")
        }
        other => panic!("expected the world to refuse Q's late extension, got {other:?}"),
    }
}

#[test]
fn a_checkpoint_keeps_the_overrides_and_omits_them_when_there_are_none() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let (p, q) = (log.pilot("P"), log.pilot("Q"));
    let plain = serde_json::to_value(&log.book).unwrap();
    assert!(plain.get("overrides").is_none(), "{plain}");
    with_override(&mut log, p, municipal_after(10));
    log.request(p, "a", mayor, T);
    log.request(q, "c", mayor, T);

    let json = serde_json::to_string(&log.book).unwrap();
    let mut restored: AlertBook = serde_json::from_str(&json).unwrap();
    assert_eq!(restored.overrides(), log.book.overrides());
    assert_eq!(restored.next_due(), Some(T + days(8)));
    assert_eq!(
        restored.advance_to(T + days(40)),
        log.book.advance_to(T + days(40))
    );
}

#[test]
fn replaying_nanguo_with_an_override_for_lchi_changes_only_lchis_alert() {
    // With 70 days for LCHI, its approval (granted after 63 days) warns on day 56 and never
    // fires; the GOHS expansion keeps the default 30 days and warns as before.
    let until = datetime!(2012-01-01 00:00 +08:00);
    let default = replay(&StallRules::default(), nanguo_events(), until);
    let lchi = default
        .notices
        .iter()
        .find(|n| n.approval_id == "lchi-2004-mayor")
        .unwrap()
        .pilot_id;
    let book = AlertBook::with_overrides(
        StallRules::default(),
        BTreeMap::from([(lchi, municipal_after(70))]),
    );
    let replay = replay_book(book, nanguo_events(), until);
    assert_eq!((replay.refused.len(), replay.refusals.len()), (0, 0));
    let s = |at, approval: &str, what: &str| (at, approval.to_string(), what.to_string());
    assert_eq!(
        sent(&replay.notices),
        [
            s(
                datetime!(2003-12-08 10:00 +08:00),
                "lchi-2004-mayor",
                "warned"
            ),
            s(
                datetime!(2003-12-15 10:00 +08:00),
                "lchi-2004-mayor",
                "resolved Granted after 63 days"
            ),
            s(
                datetime!(2008-11-06 10:00 +08:00),
                "gohs-2008-mayor",
                "warned"
            ),
            s(
                datetime!(2008-11-10 10:00 +08:00),
                "gohs-2008-mayor",
                "resolved Granted after 28 days"
            ),
        ]
    );
}

/// Issue 11, "Alerts are alerts": a wait decided before its warning was never an alert. It
/// gives no notice (so the alerter records nothing), is in no list and no count, and neither
/// an acknowledgement nor a silence can reach it; the pilot shows it as a decided approval.
#[test]
fn an_approval_granted_on_day_10_of_30_appears_in_no_alert_list() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    let refused = log.book.silence(a, "li", T + days(5), T + days(9), "away");
    assert_eq!(refused.map_err(|e| e.code()), Err("alert_not_raised"));
    let (_, notices) = log.ok(p, extended("a", 5), T + days(6));
    assert_eq!(notices, [], "an extension of no alert is no alert event");
    let (_, notices) = log.ok(p, granted("a"), T + days(10));
    assert_eq!(notices, [], "a grant on day 10 of 30 records nothing");
    assert_eq!(live(&mut log.book, T + days(400)), []);

    assert!(log.book.get(&a).is_none());
    assert_eq!(log.book.all().count(), 0);
    assert!(StateKind::ALL
        .iter()
        .all(|state| log.book.by_state(*state).count() == 0));
    assert_eq!(log.book.counts(), StateCounts::default());
    assert!(log.book.is_empty());
    assert_eq!(log.book.next_due(), None);
    let ack = log.book.acknowledge(a, "li", T + days(11), "");
    assert_eq!(ack.map_err(|e| e.code()), Err("unknown_alert"));
    let pilot = log.scenario.world.pilot(&p.id()).unwrap();
    assert_eq!(pilot.state.decided_approvals.len(), 1, "the pilot keeps it");

    // A replay of the same history agrees.
    let replayed = replay(&StallRules::default(), log.fed.clone(), T + days(400));
    assert_eq!(replayed.notices, []);
    assert!(replayed.book.is_empty());
}

/// The grant of a wait that never became an alert is retracted: the wait is pending again and
/// its alert, which no alert ever preceded, takes the request's own id.
#[test]
fn a_retracted_early_grant_gives_an_alert_with_the_requests_own_id() {
    let mut log = Log::new(StallRules::default());
    let mayor = log.stakeholder("Mayor");
    let p = log.pilot("P");
    let a = log.request(p, "a", mayor, T);
    let (grant, notices) = log.ok(p, granted("a"), T + days(10));
    assert_eq!(notices, []);
    let (_, notices) = log.ok(p, retracted(grant), T + days(12));
    assert_eq!(notices, [], "pending again, still within its threshold");
    assert_eq!(
        brief(&live(&mut log.book, T + days(24))),
        [b(T + days(24), a, "warned", true)]
    );
}

/// Registers jurisdiction `name` (naming `calendar`, or none) on its own chain.
fn jurisdiction(log: &mut Log, id: u128, name: &str, calendar: Option<&str>) {
    let event = Event::JurisdictionRegistered(pilot_events::data::JurisdictionRegistered {
        name: name.into(),
        level: Level::Municipal,
        utc_offset: "+08:00".into(),
        calendar: calendar.map(str::to_string),
    });
    log.ok(Subject::Jurisdiction(Uuid::from_u128(id)), event, SETUP);
}

/// A request of `pilot` stamped as the writer stamps it under `policy` (its jurisdiction as
/// the world has it now), fed to the book at `at`.
fn stamped_request(
    log: &mut Log,
    policy: &StallPolicy,
    pilot: Subject,
    approver: Uuid,
    at: OffsetDateTime,
) -> Uuid {
    use pilot_projections::stall_terms::NewEvent;
    let mut event = requested("a", approver, Level::Municipal);
    {
        let world = &log.scenario.world;
        let state = world.pilot(&pilot.id()).map(|r| &r.state);
        let mut new = [NewEvent {
            event_id: Uuid::nil(),
            occurred_at: at,
            event: &mut event,
        }];
        policy
            .stamp(&pilot.id(), state, world.jurisdictions(), &mut new)
            .unwrap();
    }
    log.ok(pilot, event, at).0
}

#[test]
fn a_pilot_counts_in_its_jurisdictions_calendar_and_the_alert_says_which_and_why() {
    use pilot_projections::calendar::WorkCalendar;
    // Calendar days by default (10 municipal), with the nanguo calendar loaded: Nanguo names
    // it, so its pilot's 10 days are working days (Mon 09-01 → Mon 09-15, warning on the 8th
    // working day, Thu 09-11); Beiguo names none, so its pilot's are 24-hour days (09-11).
    let nanguo = WorkCalendar::weekends_only("nanguo", time::macros::offset!(+08:00)).unwrap();
    let rules = municipal_after(10).with_calendars([nanguo]);
    let policy = StallPolicy::new(rules.clone(), BTreeMap::new());
    let mut log = Log::new(rules);
    let mayor = log.stakeholder("Mayor");
    jurisdiction(&mut log, 0xc1, "Nanguo", Some("nanguo"));
    jurisdiction(&mut log, 0xc2, "Beiguo", None);
    let p = log.pilot("P");
    let q = Subject::Pilot(Uuid::from_u128(0x0194_0000_0000_7000_8000_00a0_0000_0fff));
    let mut beiguo = proposed("Q");
    if let Event::PilotProposed(d) = &mut beiguo {
        d.jurisdiction = "Beiguo".into();
    }
    log.ok(q, beiguo, SETUP);
    log.ok(q, designed(), SETUP);
    let a = stamped_request(&mut log, &policy, p, mayor, T);
    let b_id = stamped_request(&mut log, &policy, q, mayor, T);

    let notices = live(&mut log.book, datetime!(2008-09-15 09:00 +08:00));
    let of =
        |id: Uuid| -> Vec<Brief> { brief(&notices).into_iter().filter(|n| n.1 == id).collect() };
    assert_eq!(
        of(a),
        [
            b(datetime!(2008-09-11 09:00 +08:00), a, "warned", true),
            b(datetime!(2008-09-15 09:00 +08:00), a, "fired", true),
        ]
    );
    assert_eq!(
        of(b_id),
        [
            b(T + Duration::seconds(8 * 86_400), b_id, "warned", true),
            b(T + days(10), b_id, "fired", true),
        ]
    );
    let fired = |id: Uuid| {
        notices
            .iter()
            .find(|n| n.alert_id == id && matches!(n.transition.kind, TransitionKind::Fired { .. }))
            .unwrap()
            .threshold
            .clone()
    };
    let in_nanguo = fired(a);
    assert_eq!(in_nanguo.unit, DayUnit::WorkingDays);
    assert_eq!(in_nanguo.calendar.as_deref(), Some("nanguo"));
    assert_eq!(
        in_nanguo.counted_in,
        "working days of calendar nanguo (jurisdiction Nanguo)"
    );
    let in_beiguo = fired(b_id);
    assert_eq!(in_beiguo.unit, DayUnit::CalendarDays);
    assert_eq!(
        in_beiguo.counted_in,
        "calendar days (default calendar: jurisdiction Beiguo names none)"
    );
}

#[test]
fn a_pilot_override_wins_over_its_jurisdictions_calendar() {
    use pilot_projections::calendar::WorkCalendar;
    let nanguo = WorkCalendar::weekends_only("nanguo", time::macros::offset!(+08:00)).unwrap();
    let rules = municipal_after(10).with_calendars([nanguo]);
    let mut log = Log::new(rules.clone());
    let mayor = log.stakeholder("Mayor");
    jurisdiction(&mut log, 0xc1, "Nanguo", Some("nanguo"));
    let p = log.pilot("P");
    let policy = StallPolicy::new(rules, BTreeMap::from([(p.id(), municipal_after(5))]));
    let a = stamped_request(&mut log, &policy, p, mayor, T);
    let notices = live(&mut log.book, T + days(5));
    assert_eq!(
        brief(&notices).last(),
        Some(&b(T + days(5), a, "fired", true)),
        "5 calendar days: the override's"
    );
    let threshold = &notices[notices.len() - 1].threshold;
    assert_eq!(
        threshold.counted_in,
        "calendar days (the pilot's override in the alert rules)"
    );
}

#[test]
fn a_book_that_does_not_know_the_recorded_calendar_stalls_where_the_log_says() {
    use pilot_projections::calendar::WorkCalendar;
    // The writer knew nanguo; this book (another process's rules) does not: the alert still
    // fires at the recorded instant and says the recorded calendar.
    let nanguo = WorkCalendar::weekends_only("nanguo", time::macros::offset!(+08:00)).unwrap();
    let policy = StallPolicy::new(
        municipal_after(10).with_calendars([nanguo]),
        BTreeMap::new(),
    );
    let mut log = Log::new(municipal_after(10));
    let mayor = log.stakeholder("Mayor");
    jurisdiction(&mut log, 0xc1, "Nanguo", Some("nanguo"));
    let p = log.pilot("P");
    let a = stamped_request(&mut log, &policy, p, mayor, T);
    let stall = datetime!(2008-09-15 09:00 +08:00);
    let notices = live(&mut log.book, stall);
    assert_eq!(brief(&notices).last(), Some(&b(stall, a, "fired", true)));
    assert_eq!(
        notices[notices.len() - 1].threshold.counted_in,
        "working days of calendar nanguo (jurisdiction Nanguo)"
    );
}

#[test]
fn a_replay_lists_transitions_by_their_instant_whatever_the_log_order() {
    // The registries first, then the pilots' chains newest pilot first: log order is no
    // longer date order, as after an office back-fills an old pilot.
    let events = nanguo_events();
    let (registries, pilots): (Vec<Envelope>, Vec<Envelope>) = events
        .into_iter()
        .partition(|e| !matches!(e.subject, Subject::Pilot(_)));
    let mut chains: Vec<(Subject, Vec<Envelope>)> = Vec::new();
    for event in pilots {
        match chains
            .iter_mut()
            .find(|(subject, _)| *subject == event.subject)
        {
            Some((_, chain)) => chain.push(event),
            None => chains.push((event.subject, vec![event])),
        }
    }
    chains.reverse();
    let reordered = registries
        .into_iter()
        .chain(chains.into_iter().flat_map(|(_, chain)| chain));
    let replay = replay(
        &StallRules::default(),
        reordered,
        datetime!(2012-01-01 00:00 +08:00),
    );
    let instants: Vec<OffsetDateTime> = replay.notices.iter().map(|n| n.transition.at).collect();
    assert!(instants.len() >= 2, "{instants:?}");
    assert!(
        instants.windows(2).all(|pair| pair[0] <= pair[1]),
        "transitions out of date order: {instants:?}"
    );
}
