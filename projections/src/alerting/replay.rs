//! Replaying history with a simulated clock: when each alert would have fired.

use super::{AlertBook, AlertNotice, AlertRefusal};
use crate::stall::StallRules;
use crate::world::{ProjectionError, World};
use pilot_events::Envelope;
use std::collections::HashSet;
use time::OffsetDateTime;

/// What a replay found.
#[derive(Debug)]
pub struct Replay {
    /// Every transition, with its date, in the order it came due.
    pub notices: Vec<AlertNotice>,
    pub refusals: Vec<AlertRefusal>,
    /// Events the world refused (they count for nothing, as in the live fold).
    pub refused: Vec<ProjectionError>,
    /// The book at `until`, for queries.
    pub book: AlertBook,
    /// The world at `until`.
    pub world: World,
}

/// Replays `events` (in log order) with a simulated clock: the clock moves to each event's
/// `occurred_at`, then to `until`. Each chain is cut at its first event that occurred after
/// `until` ([`until_first_later`]).
pub fn replay(
    rules: &StallRules,
    events: impl IntoIterator<Item = Envelope>,
    until: OffsetDateTime,
) -> Replay {
    replay_book(AlertBook::new(rules.clone()), events, until)
}

/// [`replay`] into a given (usually empty) book, so that its per-pilot rules
/// ([`AlertBook::with_overrides`]) apply, to the alerts and to the world's checks alike.
pub fn replay_book(
    mut book: AlertBook,
    events: impl IntoIterator<Item = Envelope>,
    until: OffsetDateTime,
) -> Replay {
    let mut world = World::new();
    let (mut notices, mut refusals, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    let mut position = 0;
    for envelope in until_first_later(events, until) {
        position += 1;
        match book.apply(&mut world, position, envelope) {
            Ok(observed) => {
                notices.extend(observed.notices);
                refusals.extend(observed.refusals);
            }
            Err(error) => refused.push(error),
        }
    }
    notices.extend(book.advance_to(until));
    // The book hears of each chain in log order, and a back-filled pilot's transitions came
    // due long before the events logged ahead of it: list them as they came due. The sort is
    // stable, so transitions due at the same instant stay in the order they were found.
    notices.sort_by_key(|notice| notice.transition.at);
    Replay {
        notices,
        refusals,
        refused,
        book,
        world,
    }
}

/// The events of each chain up to (not including) its first event that occurred after `until`.
///
/// Stage moves stay in `occurred_at` order, so every approval event dated by `until` comes
/// before the cut, and the alerts replay whole. A fact learned late ([`crate::late`]) that was
/// logged after the cut is left out although it is dated by `until`: its hash links it to the
/// event it followed, so without that event its chain would not verify. Alerts never depend on
/// such facts.
fn until_first_later(
    events: impl IntoIterator<Item = Envelope>,
    until: OffsetDateTime,
) -> impl Iterator<Item = Envelope> {
    let mut cut = HashSet::new();
    events.into_iter().filter(move |e| {
        if e.occurred_at > until {
            cut.insert(e.subject);
        }
        !cut.contains(&e.subject)
    })
}
