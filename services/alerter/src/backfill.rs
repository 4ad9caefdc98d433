//! Holding the alerter's clock while history is back-filled.
//!
//! A request and its decision imported one after the other arrive milliseconds apart, but
//! occurred weeks apart. If the alerter advanced to "now" in between, the request would look
//! pending until today: it would be recorded as stalled at today's escalation level, and a
//! recorded transition is never taken back. So after an event that occurred more than
//! [`BACKFILL_TOLERANCE`] before "now", the alerter stops advancing to "now" until no such event
//! has arrived for [`SETTLE`] (at most [`MAX_HOLD`] in a row, so a stream of late entries cannot
//! silence it). Events keep being applied at their own instants meanwhile, and an alert that
//! came due during the hold is recorded afterwards, once, where it stands then, stamped with
//! that state's due instant.

use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

/// How far before "now" an event may have occurred and still count as live: the clock skew
/// the event rules allow.
pub const BACKFILL_TOLERANCE: time::Duration = time::Duration::minutes(5);
/// How long the event log must be free of back-filled events before the clock moves again.
pub const SETTLE: Duration = Duration::from_secs(3);
/// The longest the clock is held in one go.
pub const MAX_HOLD: Duration = Duration::from_secs(300);

/// Whether, and until when, the clock is held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillHold {
    started: Option<Instant>,
    last: Option<Instant>,
}

impl BackfillHold {
    /// Notes an event that occurred at `occurred_at`, seen when the clock said `now`.
    pub fn saw(&mut self, occurred_at: OffsetDateTime, now: OffsetDateTime) {
        if occurred_at < now - BACKFILL_TOLERANCE {
            let seen = Instant::now();
            if self.started.is_none() {
                tracing::info!(message = "History is being back-filled; holding the alert clock until it settles.", occurred_at = %pilot_events::rfc3339(occurred_at));
            }
            self.started.get_or_insert(seen);
            self.last = Some(seen);
        }
    }

    /// When the hold ends, if the clock is held.
    pub fn until(&self) -> Option<Instant> {
        let (started, last) = (self.started?, self.last?);
        Some((last + SETTLE).min(started + MAX_HOLD))
    }

    /// Ends the hold if its time has come.
    pub fn expire(&mut self) {
        if self.until().is_some_and(|until| until <= Instant::now()) {
            tracing::info!(message = "Back-fill settled; the alert clock moves again.");
            *self = BackfillHold::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

    #[tokio::test(start_paused = true)]
    async fn late_events_hold_the_clock_until_the_back_fill_settles() {
        let mut hold = BackfillHold::default();
        hold.saw(NOW - time::Duration::minutes(4), NOW);
        assert_eq!(hold.until(), None, "within the allowed skew: live");
        hold.saw(datetime!(1999-11-15 10:00 +08:00), NOW);
        let first = hold.until().expect("held");
        tokio::time::advance(Duration::from_secs(2)).await;
        hold.saw(datetime!(1999-12-06 10:00 +08:00), NOW);
        assert!(
            hold.until().expect("still held") > first,
            "each late event extends it"
        );
        hold.expire();
        assert!(hold.until().is_some(), "not settled yet");
        tokio::time::advance(SETTLE).await;
        hold.expire();
        assert_eq!(hold.until(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_stream_of_late_events_cannot_hold_the_clock_for_ever() {
        let mut hold = BackfillHold::default();
        let started = Instant::now();
        for _ in 0..200 {
            hold.saw(NOW - time::Duration::days(1), NOW);
            tokio::time::advance(Duration::from_secs(2)).await;
        }
        assert_eq!(hold.until(), Some(started + MAX_HOLD));
    }
}
