//! The alerts a process knows, kept beside its one [`World`](pilot_projections::World) in the
//! [`Projection`](crate::projection::Projection): the [`AlertBook`] fed right after each event
//! the world applies, the [`AlertHistory`] folded from the alert stream, and the outbox of
//! transitions the book computed that an alerter has still to record.
//!
//! One fold serves everyone: the API lists what the history recorded, the alerter records what
//! the book computes, and user actions (acknowledgements, silences) reach the book only as
//! recorded alert events, so every process applies the same ones in the same order.

use pilot_projections::alerting::{AlertEvent, AlertHistory, Observed};
use pilot_projections::{AlertBook, AlertNotice};
use std::collections::VecDeque;
use time::OffsetDateTime;

/// The book, what is recorded, and what waits to be recorded.
#[derive(Debug)]
pub struct AlertFold {
    book: AlertBook,
    recorded: AlertHistory,
    /// Transitions computed but not yet recorded, in order; kept only while `collecting`.
    outbox: VecDeque<AlertNotice>,
    /// Whether this process records alerts (runs an alerter): otherwise computed transitions
    /// are dropped, as another process records them from its own book.
    collecting: bool,
    /// The alert stream position whose user actions the book holds.
    actions_applied: u64,
    /// The earliest `occurred_at` of the events applied since the alerter last asked: history
    /// fed live (an import) holds the alert clock ([`AlertFold::take_earliest_occurred`]).
    earliest_occurred: Option<OffsetDateTime>,
}

impl AlertFold {
    /// A fold around `book` (fresh, or restored with the user actions up to `actions_applied`).
    pub fn new(book: AlertBook, actions_applied: u64) -> Self {
        AlertFold {
            book,
            recorded: AlertHistory::new(),
            outbox: VecDeque::new(),
            collecting: false,
            actions_applied,
            earliest_occurred: None,
        }
    }

    pub fn book(&self) -> &AlertBook {
        &self.book
    }

    /// What the alert stream recorded, as folded so far.
    pub fn recorded(&self) -> &AlertHistory {
        &self.recorded
    }

    /// The alert stream position whose user actions the book holds.
    pub fn actions_applied(&self) -> u64 {
        self.actions_applied
    }

    /// Keep computed transitions for an alerter to record.
    pub fn collect(&mut self) {
        self.collecting = true;
    }

    /// Transitions waiting to be recorded, oldest first.
    pub fn outbox(&self) -> &VecDeque<AlertNotice> {
        &self.outbox
    }

    /// Drops the first `count` transitions of the outbox: the server has them.
    pub fn settled(&mut self, count: usize) {
        self.outbox.drain(..count.min(self.outbox.len()));
    }

    pub(crate) fn book_mut(&mut self) -> &mut AlertBook {
        &mut self.book
    }

    /// Takes what one applied event produced.
    pub(crate) fn observed(&mut self, observed: Observed) {
        for refusal in observed.refusals {
            tracing::info!(
                message = "The alert rules refused an extension the log accepted.",
                alert_id = %refusal.alert_id,
                event_id = %refusal.event_id,
                reason = %refusal.error
            );
        }
        if let Some(at) = observed.occurred_at {
            self.earliest_occurred = Some(self.earliest_occurred.map_or(at, |e| e.min(at)));
        }
        self.push(observed.notices);
    }

    /// Moves the book's clock to `now`; what falls due goes to the outbox.
    pub fn advance_to(&mut self, now: OffsetDateTime) {
        let notices = self.book.advance_to(now);
        self.push(notices);
    }

    /// The earliest instant of the events applied since the last call.
    pub fn take_earliest_occurred(&mut self) -> Option<OffsetDateTime> {
        self.earliest_occurred.take()
    }

    fn push(&mut self, notices: Vec<AlertNotice>) {
        if self.collecting {
            self.outbox.extend(notices);
        }
    }

    /// Folds one alert event, stored at `position`: into the history, and, for a user action
    /// the book does not hold yet, into the book.
    pub fn apply_recorded(&mut self, position: u64, event: &AlertEvent) {
        let new = self.recorded.apply(position, event);
        if new && event.is_user_action() && position > self.actions_applied {
            self.actions_applied = position;
            // A refusal (the alert resolved meanwhile) changes nothing.
            match self.book.apply_recorded_action(event) {
                Ok(notices) => self.push(notices),
                Err(error) => {
                    tracing::debug!(message = "The alert book did not take a recorded user action.", alert_id = %event.notice.alert_id, %error)
                }
            }
        }
    }
}
