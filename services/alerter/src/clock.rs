//! "Now" for the alerter: the wall clock in service, a clock the test moves by hand.
//!
//! The alert book never reads a clock itself (it is given instants); the alerter asks this one
//! what time it is and sleeps until the book's next due instant. A test moves a
//! [`ManualClock`] across a due instant and the alerter wakes at once, with no real waiting.

use std::future::Future;
use std::pin::Pin;
use time::OffsetDateTime;
use tokio::sync::watch;

/// The longest the alerter sleeps on the wall clock before looking again, so that a clock
/// step (NTP, a suspended VM) delays a due alert by at most this much.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(30);

pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub trait Clock: std::fmt::Debug + Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
    /// Resolves at `at` or earlier (callers look at [`Clock::now`] again when it does).
    fn sleep_until(&self, at: OffsetDateTime) -> Sleep<'_>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep_until(&self, at: OffsetDateTime) -> Sleep<'_> {
        let wait = (at - self.now()).clamp(time::Duration::ZERO, time::Duration::DAY);
        let wait = std::time::Duration::try_from(wait).unwrap_or(MAX_SLEEP);
        // A sub-millisecond remainder rounds up, so a wake-up is never just before `at`.
        let wait = wait.min(MAX_SLEEP) + std::time::Duration::from_millis(1);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that stands still until it is set: for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock {
            now: watch::Sender::new(start),
        }
    }

    /// Moves the clock to `at` (never backwards) and wakes whoever sleeps until then.
    pub fn set(&self, at: OffsetDateTime) {
        self.now.send_if_modified(|now| {
            let moved = at > *now;
            if moved {
                *now = at;
            }
            moved
        });
    }

    pub fn advance(&self, by: time::Duration) {
        self.set(self.now() + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: OffsetDateTime) -> Sleep<'_> {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            let _ = now.wait_for(|now| *now >= at).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_set_past_their_instant() {
        let clock = ManualClock::new(datetime!(2024-01-01 0:00 UTC));
        let sleep = clock.sleep_until(datetime!(2024-01-02 0:00 UTC));
        clock.set(datetime!(2024-01-01 12:00 UTC));
        let early = tokio::time::timeout(std::time::Duration::from_millis(20), sleep).await;
        assert!(early.is_err(), "woke before its instant");
        let sleep = clock.sleep_until(datetime!(2024-01-02 0:00 UTC));
        clock.set(datetime!(2024-01-02 0:00 UTC));
        tokio::time::timeout(std::time::Duration::from_secs(1), sleep)
            .await
            .expect("woke at its instant");
        clock.set(datetime!(2023-01-01 0:00 UTC));
        assert_eq!(
            clock.now(),
            datetime!(2024-01-02 0:00 UTC),
            "never backwards"
        );
    }
}
