//! Stream-position bookkeeping, free of I/O: [`InOrder`] releases messages strictly by stream
//! sequence and skips a gap that never fills; [`Settled`] recognises copies of messages this run
//! has already settled.

use pilot_store::delivery::Notification;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Something with a stream position ([`InOrder`] is tested with plain numbers).
pub(super) trait Positioned {
    fn position(&self) -> Option<u64>;
}

impl<N: Notification> Positioned for N {
    fn position(&self) -> Option<u64> {
        Notification::position(self)
    }
}

/// Releases messages strictly by stream position, from the queue's first unacknowledged one on.
///
/// The sender acknowledges in order, so everything below `next` is settled or queued and
/// everything from `next` on is unacknowledged. After a stop or crash the store may hand out
/// newer messages before it redelivers the ones left unacknowledged; they wait here (at most
/// `queue` of them: the queue's `max_unacknowledged`) until the gap is filled. A gap that never
/// fills (a message acknowledged out of order after a failed ack, say) is skipped after
/// `patience`.
#[derive(Debug)]
pub(super) struct InOrder<T> {
    next: u64,
    held: BTreeMap<u64, T>,
    waiting_since: Option<Instant>,
    patience: Duration,
}

impl<T: Positioned> InOrder<T> {
    pub(super) fn new(next: u64, patience: Duration) -> Self {
        InOrder {
            next,
            held: BTreeMap::new(),
            waiting_since: None,
            patience,
        }
    }

    /// Takes a message and returns the ones now due, in order.
    pub(super) fn push(&mut self, message: T) -> Vec<T> {
        match message.position() {
            // Already released (a redelivered copy) or of unknown position: the sender decides.
            None => return vec![message],
            Some(seq) if seq < self.next => return vec![message],
            Some(seq) => {
                // A second copy of a held message replaces the first: either acks the sequence.
                self.held.insert(seq, message);
            }
        }
        self.release()
    }

    fn release(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(message) = self.held.remove(&self.next) {
            out.push(message);
            self.next += 1;
        }
        if self.held.is_empty() {
            self.waiting_since = None;
        } else if !out.is_empty() || self.waiting_since.is_none() {
            self.waiting_since = Some(Instant::now());
        }
        out
    }

    pub(super) fn is_waiting(&self) -> bool {
        self.waiting_since.is_some()
    }

    pub(super) fn give_up_at(&self) -> Instant {
        let now = Instant::now();
        self.waiting_since.map_or(now + self.patience, |since| {
            since.checked_add(self.patience).unwrap_or(now)
        })
    }

    /// Gives up on the missing sequences below the first held message.
    pub(super) fn skip_gap(&mut self) -> Vec<T> {
        if let Some(&first) = self.held.keys().next() {
            tracing::warn!(
                message = "Stream positions never came back; skipping them.",
                from = self.next,
                to = first - 1
            );
            self.next = first;
        }
        self.release()
    }

    pub(super) fn drain(&mut self) -> Vec<T> {
        self.waiting_since = None;
        std::mem::take(&mut self.held).into_values().collect()
    }
}

/// The positions this run has settled (acknowledged), the latest `capacity` of them: a
/// redelivered copy of one is acknowledged again and not sent.
#[derive(Debug)]
pub(super) struct Settled {
    positions: BTreeSet<u64>,
    capacity: usize,
}

impl Settled {
    pub(super) fn new(capacity: usize) -> Self {
        Settled {
            positions: BTreeSet::new(),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn contains(&self, position: u64) -> bool {
        self.positions.contains(&position)
    }

    pub(super) fn insert(&mut self, position: u64) {
        self.positions.insert(position);
        while self.positions.len() > self.capacity {
            self.positions.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message at a position (a local type: the sink's messages are the store's).
    #[derive(Debug, PartialEq)]
    struct At(u64);

    impl Positioned for At {
        fn position(&self) -> Option<u64> {
            Some(self.0)
        }
    }

    fn at(positions: &[u64]) -> Vec<At> {
        positions.iter().copied().map(At).collect()
    }

    #[test]
    fn in_order_releases_by_position_and_holds_newer_ones_back() {
        let mut order = InOrder::new(5, Duration::from_secs(60));
        // Newer messages first (the store hands out new ones before redelivering 5 and 6).
        assert!(order.push(At(7)).is_empty());
        assert!(order.push(At(8)).is_empty());
        assert!(order.is_waiting());
        assert!(order.push(At(6)).is_empty());
        assert_eq!(order.push(At(5)), at(&[5, 6, 7, 8]));
        assert!(!order.is_waiting());
        // A copy of something released passes straight through; the sender recognises it.
        assert_eq!(order.push(At(6)), at(&[6]));
        assert_eq!(order.push(At(9)), at(&[9]));
    }

    #[test]
    fn a_gap_that_never_fills_is_skipped() {
        let mut order = InOrder::new(1, Duration::ZERO);
        assert!(order.push(At(3)).is_empty());
        assert!(order.push(At(4)).is_empty());
        assert!(order.give_up_at() <= Instant::now());
        assert_eq!(order.skip_gap(), at(&[3, 4]));
        assert_eq!(order.push(At(5)), at(&[5]));
        assert!(order.push(At(7)).is_empty());
        assert_eq!(order.drain(), at(&[7]));
        assert!(!order.is_waiting());
    }

    #[test]
    fn settled_keeps_the_latest_positions() {
        let mut settled = Settled::new(2);
        for p in [1, 2, 3] {
            settled.insert(p);
        }
        assert!(!settled.contains(1));
        assert!(settled.contains(2) && settled.contains(3));
    }
}
