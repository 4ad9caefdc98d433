//! Replaying history with a simulated clock: when each alert would have fired.

use super::{AlertBook, AlertNotice, AlertRefusal};
use crate::stall::StallRules;
use crate::world::{ProjectionError, World};
use pilot_events::Envelope;
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
/// `occurred_at`, then to `until`. Events that occurred after `until` had not happened yet and
/// are skipped (within a chain `occurred_at` never goes backwards, so each chain is cut cleanly).
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
    for envelope in events.into_iter().filter(|e| e.occurred_at <= until) {
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
    Replay {
        notices,
        refusals,
        refused,
        book,
        world,
    }
}
