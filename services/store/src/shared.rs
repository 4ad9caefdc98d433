//! [`SharedLog`]: any store that keeps events, alerts and seals, behind one cheap handle that
//! is not generic. The HTTP API holds one, so the same router runs on JetStream in `pilot
//! serve` and on the in-memory log in tests, and its dozens of handlers do not each carry a
//! type parameter. The price is one boxed future per store call, beside a network round trip.

use crate::alerts::{AlertLog, AlertMessage, Recorded};
use crate::log::{EventLog, LogError, Outgoing, Reachable, Stored};
use crate::seals::SealLog;
use bytes::Bytes;
use pilot_events::seal::Seal;
use pilot_events::Subject;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send + 'a>>;

/// The object-safe mirror of [`EventLog`], the reads and records of [`AlertLog`] the API
/// makes, [`SealLog`] and [`Reachable`]; implemented for every store that has them all.
trait DynLog: Send + Sync + 'static {
    fn max_event_bytes(&self) -> usize;
    fn append(
        &self,
        chain: Subject,
        expected_last: u64,
        events: Vec<Outgoing>,
    ) -> Boxed<'_, Vec<u64>>;
    fn read_chain(&self, chain: Subject, after: u64) -> Boxed<'_, Vec<Stored>>;
    fn read_from(&self, from: u64, max: usize) -> Boxed<'_, Vec<Stored>>;
    fn last_position(&self) -> Boxed<'_, u64>;
    fn quarantine<'a>(&'a self, stored: &'a Stored, reason: &'a str) -> Boxed<'a, ()>;
    fn quarantined(&self) -> Boxed<'_, Vec<(u64, String, Bytes)>>;
    fn save_checkpoint<'a>(&'a self, name: &'a str, bytes: Bytes) -> Boxed<'a, ()>;
    fn load_checkpoint<'a>(&'a self, name: &'a str) -> Boxed<'a, Option<Bytes>>;
    fn record_alerts<'a>(&'a self, messages: &'a [AlertMessage]) -> Boxed<'a, Vec<Recorded>>;
    fn read_alerts(&self, from: u64, max: usize) -> Boxed<'_, Vec<Stored>>;
    fn last_alert_position(&self) -> Boxed<'_, u64>;
    fn record_seal<'a>(&'a self, seal: &'a Seal) -> Boxed<'a, u64>;
    fn latest_seal(&self) -> Boxed<'_, Option<Seal>>;
    fn outage(&self) -> Option<String>;
}

impl<L: EventLog + AlertLog + SealLog + Reachable> DynLog for L {
    fn max_event_bytes(&self) -> usize {
        EventLog::max_event_bytes(self)
    }
    fn append(
        &self,
        chain: Subject,
        expected_last: u64,
        events: Vec<Outgoing>,
    ) -> Boxed<'_, Vec<u64>> {
        Box::pin(EventLog::append(self, chain, expected_last, events))
    }
    fn read_chain(&self, chain: Subject, after: u64) -> Boxed<'_, Vec<Stored>> {
        Box::pin(EventLog::read_chain(self, chain, after))
    }
    fn read_from(&self, from: u64, max: usize) -> Boxed<'_, Vec<Stored>> {
        Box::pin(EventLog::read_from(self, from, max))
    }
    fn last_position(&self) -> Boxed<'_, u64> {
        Box::pin(EventLog::last_position(self))
    }
    fn quarantine<'a>(&'a self, stored: &'a Stored, reason: &'a str) -> Boxed<'a, ()> {
        Box::pin(EventLog::quarantine(self, stored, reason))
    }
    fn quarantined(&self) -> Boxed<'_, Vec<(u64, String, Bytes)>> {
        Box::pin(EventLog::quarantined(self))
    }
    fn save_checkpoint<'a>(&'a self, name: &'a str, bytes: Bytes) -> Boxed<'a, ()> {
        Box::pin(EventLog::save_checkpoint(self, name, bytes))
    }
    fn load_checkpoint<'a>(&'a self, name: &'a str) -> Boxed<'a, Option<Bytes>> {
        Box::pin(EventLog::load_checkpoint(self, name))
    }
    fn record_alerts<'a>(&'a self, messages: &'a [AlertMessage]) -> Boxed<'a, Vec<Recorded>> {
        Box::pin(AlertLog::record_alerts(self, messages))
    }
    fn read_alerts(&self, from: u64, max: usize) -> Boxed<'_, Vec<Stored>> {
        Box::pin(AlertLog::read_alerts(self, from, max))
    }
    fn last_alert_position(&self) -> Boxed<'_, u64> {
        Box::pin(AlertLog::last_alert_position(self))
    }
    fn record_seal<'a>(&'a self, seal: &'a Seal) -> Boxed<'a, u64> {
        Box::pin(SealLog::record_seal(self, seal))
    }
    fn latest_seal(&self) -> Boxed<'_, Option<Seal>> {
        Box::pin(SealLog::latest_seal(self))
    }
    fn outage(&self) -> Option<String> {
        Reachable::outage(self)
    }
}

/// A store of events, alerts and seals; clones share it.
#[derive(Clone)]
pub struct SharedLog(Arc<dyn DynLog>);

impl std::fmt::Debug for SharedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedLog")
    }
}

impl SharedLog {
    pub fn new<L: EventLog + AlertLog + SealLog + Reachable>(log: L) -> SharedLog {
        SharedLog(Arc::new(log))
    }

    /// The same, for a log the caller keeps a handle on too (the in-memory log of a test).
    pub fn from_arc<L: EventLog + AlertLog + SealLog + Reachable>(log: Arc<L>) -> SharedLog {
        SharedLog(log)
    }

    /// See [`AlertLog::record_alerts`].
    pub async fn record_alerts(
        &self,
        messages: &[AlertMessage],
    ) -> Result<Vec<Recorded>, LogError> {
        self.0.record_alerts(messages).await
    }

    /// See [`AlertLog::read_alerts`].
    pub async fn read_alerts(&self, from: u64, max: usize) -> Result<Vec<Stored>, LogError> {
        self.0.read_alerts(from, max).await
    }

    /// See [`AlertLog::last_alert_position`].
    pub async fn last_alert_position(&self) -> Result<u64, LogError> {
        self.0.last_alert_position().await
    }

    /// See [`Reachable::outage`].
    pub fn outage(&self) -> Option<String> {
        self.0.outage()
    }
}

impl EventLog for SharedLog {
    fn max_event_bytes(&self) -> usize {
        self.0.max_event_bytes()
    }
    async fn append(
        &self,
        chain: Subject,
        expected_last: u64,
        events: Vec<Outgoing>,
    ) -> Result<Vec<u64>, LogError> {
        self.0.append(chain, expected_last, events).await
    }
    async fn read_chain(&self, chain: Subject, after: u64) -> Result<Vec<Stored>, LogError> {
        self.0.read_chain(chain, after).await
    }
    async fn read_from(&self, from: u64, max: usize) -> Result<Vec<Stored>, LogError> {
        self.0.read_from(from, max).await
    }
    async fn last_position(&self) -> Result<u64, LogError> {
        self.0.last_position().await
    }
    async fn quarantine(&self, stored: &Stored, reason: &str) -> Result<(), LogError> {
        self.0.quarantine(stored, reason).await
    }
    async fn quarantined(&self) -> Result<Vec<(u64, String, Bytes)>, LogError> {
        self.0.quarantined().await
    }
    async fn save_checkpoint(&self, name: &str, bytes: Bytes) -> Result<(), LogError> {
        self.0.save_checkpoint(name, bytes).await
    }
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Bytes>, LogError> {
        self.0.load_checkpoint(name).await
    }
}

impl SealLog for SharedLog {
    async fn record_seal(&self, seal: &Seal) -> Result<u64, LogError> {
        self.0.record_seal(seal).await
    }
    async fn latest_seal(&self) -> Result<Option<Seal>, LogError> {
        self.0.latest_seal().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryLog;

    /// A handle sees what the log it wraps holds, and the reverse: it is that log, not a copy.
    #[tokio::test]
    async fn a_shared_handle_reads_and_writes_the_log_it_wraps() {
        let log = Arc::new(MemoryLog::new());
        let shared = SharedLog::from_arc(log.clone());
        let chain = Subject::Pilot(uuid::Uuid::now_v7());
        let event = Outgoing {
            event_id: uuid::Uuid::now_v7(),
            bytes: Bytes::from_static(b"{}"),
        };
        let positions = shared.append(chain, 0, vec![event]).await.expect("append");
        assert_eq!(positions, vec![1]);
        assert_eq!(
            EventLog::last_position(log.as_ref()).await.expect("last"),
            1
        );
        assert_eq!(shared.read_chain(chain, 0).await.expect("chain").len(), 1);
        assert_eq!(shared.outage(), None);
        assert_eq!(shared.latest_seal().await.expect("seal"), None);
    }
}
