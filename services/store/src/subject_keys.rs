//! The key store: one key per data subject, which seals that subject's personal fields
//! (docs/personal-data.md). Destroying a key erases every field sealed under it.
//!
//! [`SubjectKeys`] is what the service holds: it reads keys, creates a subject's key on its
//! first personal field, and caches what it read. [`Eraser`] is the only thing that destroys
//! a key; on NATS it connects with the eraser credential, which alone may delete from the key
//! bucket, and the service opens it only on the erasure path.
//!
//! On NATS the keys live in the KV bucket `PILOT_SUBJECT_KEYS` ([`crate::layout`]): one
//! message per subject, `$KV.PILOT_SUBJECT_KEYS.<subject uuid>`, whose payload is the key's
//! 32 bytes. A key is created with `Nats-Expected-Last-Subject-Sequence: 0`, and the stream
//! refuses a second message on a key's subject, so a key once stored is never replaced: two
//! processes creating one subject's key agree on the first. The eraser destroys a key with
//! JetStream's secure delete (`no_erase: false`), which overwrites the message's bytes in the
//! stream's files instead of only marking it deleted.
//!
//! What the secure delete does not reach: on a cluster each server's Raft log of the stream
//! (`$SYS/_js_/S-R3F-*`) holds the key's message too, until the stream's next snapshot
//! compacts that log (seen with nats-server 2.15.1 on three nodes: gone from every node's
//! files about two minutes after the erasure); backups of the store keep what they copied.

use crate::layout::{subject_key_subject, SUBJECT_KEYS_STREAM};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::DirectGetErrorKind;
use async_nats::jetstream::{self, Context};
use futures::future::BoxFuture;
use pilot_events::personal::{SubjectKey, KEY_BYTES};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use uuid::Uuid;

/// How long the eraser waits for each answer of the server.
const ERASER_TIMEOUT: Duration = Duration::from_secs(10);
/// JetStream's error code for a message delete of a sequence the stream no longer holds.
const NO_MESSAGE_FOUND: u64 = 10057;

/// Why the key store did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    #[error("the key store is unavailable: {0}")]
    Unavailable(String),
    #[error("subject {0}'s stored key is not a key ({1} bytes, not {KEY_BYTES})")]
    Corrupt(Uuid, usize),
    #[error("no randomness for a new key: {0}")]
    Random(String),
    #[error("this credential may not {0}: {1}")]
    Denied(&'static str, String),
}

/// Keys held in memory: for unit tests and a process without NATS.
type MemoryKeys = Arc<Mutex<HashMap<Uuid, [u8; KEY_BYTES]>>>;

#[derive(Debug, Clone)]
enum Backend {
    Memory(MemoryKeys),
    /// The `PILOT_SUBJECT_KEYS` bucket, through the service's own connection.
    JetStream(Context),
}

/// Opens a NATS connection logged in with the eraser's credential. [`Eraser`] calls it for
/// each erasure and closes the connection after, so that credential is in use only on the
/// erasure path.
pub type ConnectEraser = Arc<dyn Fn() -> EraserConnecting + Send + Sync>;

/// A connection with the eraser's login on its way, or why it failed.
pub type EraserConnecting = BoxFuture<'static, Result<async_nats::Client, String>>;

/// Where an [`Eraser`] destroys keys.
#[derive(Clone)]
enum EraserBackend {
    Memory(MemoryKeys),
    JetStream(ConnectEraser),
}

impl std::fmt::Debug for EraserBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EraserBackend::Memory(_) => f.write_str("Memory"),
            EraserBackend::JetStream(_) => f.write_str("JetStream(<eraser login>)"),
        }
    }
}

/// The service's handle on the key store, with a cache of the keys it has read.
#[derive(Debug, Clone)]
pub struct SubjectKeys {
    backend: Backend,
    cache: Arc<Mutex<HashMap<Uuid, SubjectKey>>>,
}

impl SubjectKeys {
    /// A key store in memory; [`SubjectKeys::memory_eraser`] destroys its keys.
    pub fn memory() -> Self {
        SubjectKeys::with_backend(Backend::Memory(MemoryKeys::default()))
    }

    /// The key store on NATS, read and written with the service's own connection (`js`), whose
    /// credential may read and create keys but not delete them. The bucket is created with
    /// the streams ([`crate::layout::Layout::ensure`]).
    pub fn jetstream(js: Context) -> Self {
        SubjectKeys::with_backend(Backend::JetStream(js))
    }

    fn with_backend(backend: Backend) -> Self {
        SubjectKeys {
            backend,
            cache: Arc::default(),
        }
    }

    /// The eraser of a memory key store (for tests: on NATS the eraser has its own credential).
    pub fn memory_eraser(&self) -> Option<Eraser> {
        match &self.backend {
            Backend::Memory(keys) => Some(Eraser {
                backend: EraserBackend::Memory(keys.clone()),
            }),
            Backend::JetStream(_) => None,
        }
    }

    /// `subject`'s key, if it has one (none yet, or destroyed).
    pub async fn key(&self, subject: Uuid) -> Result<Option<SubjectKey>, KeyStoreError> {
        if let Some(key) = self.cached(subject) {
            return Ok(Some(key));
        }
        let found = match &self.backend {
            Backend::Memory(keys) => lock(keys).get(&subject).map(|b| SubjectKey::from_bytes(*b)),
            Backend::JetStream(js) => stored_key(js, subject).await?,
        };
        if let Some(key) = &found {
            lock(&self.cache).insert(subject, key.clone());
        }
        Ok(found)
    }

    /// The keys of `subjects` that exist, read once each.
    pub async fn keys_for(
        &self,
        subjects: impl IntoIterator<Item = Uuid>,
    ) -> Result<HashMap<Uuid, SubjectKey>, KeyStoreError> {
        let mut found = HashMap::new();
        for subject in subjects {
            if found.contains_key(&subject) {
                continue;
            }
            if let Some(key) = self.key(subject).await? {
                found.insert(subject, key);
            }
        }
        Ok(found)
    }

    /// `subject`'s key, created (random, stored once) if it has none yet. Two processes
    /// creating the same subject's key at once agree on the one stored first.
    pub async fn key_or_create(&self, subject: Uuid) -> Result<SubjectKey, KeyStoreError> {
        if let Some(key) = self.key(subject).await? {
            return Ok(key);
        }
        let mut fresh = [0u8; KEY_BYTES];
        getrandom::fill(&mut fresh).map_err(|e| KeyStoreError::Random(e.to_string()))?;
        let key = match &self.backend {
            Backend::Memory(keys) => {
                SubjectKey::from_bytes(*lock(keys).entry(subject).or_insert(fresh))
            }
            Backend::JetStream(js) => create_key(js, subject, fresh).await?,
        };
        lock(&self.cache).insert(subject, key.clone());
        Ok(key)
    }

    /// The key of `subject` if this process holds it already, without asking the store.
    pub fn cached(&self, subject: Uuid) -> Option<SubjectKey> {
        lock(&self.cache).get(&subject).cloned()
    }

    /// Drops every copy of `subject`'s key this process holds (after its erasure).
    pub fn forget(&self, subject: Uuid) {
        lock(&self.cache).remove(&subject);
    }
}

/// Destroys keys: the erasure path's one capability.
#[derive(Debug, Clone)]
pub struct Eraser {
    backend: EraserBackend,
}

impl Eraser {
    /// The eraser of the key store on NATS: each erasure connects with `connect` (the eraser's
    /// credential, which alone may delete from the bucket) and closes the connection after.
    pub fn jetstream(connect: ConnectEraser) -> Self {
        Eraser {
            backend: EraserBackend::JetStream(connect),
        }
    }

    /// Destroys `subject`'s key so that no copy in the store can be read again. `Ok(false)`
    /// when it had none (never created, or destroyed before): erasing is idempotent here,
    /// and the erasure event says whether it was done before.
    pub async fn destroy(&self, subject: Uuid) -> Result<bool, KeyStoreError> {
        Ok(self.destroy_all([subject]).await? == 1)
    }

    /// Destroys the keys of `subjects` over one connection (a process sweeping the keys of
    /// subjects erased while it was away); how many there were to destroy.
    pub async fn destroy_all(
        &self,
        subjects: impl IntoIterator<Item = Uuid>,
    ) -> Result<usize, KeyStoreError> {
        match &self.backend {
            EraserBackend::Memory(keys) => {
                let mut keys = lock(keys);
                Ok(subjects
                    .into_iter()
                    .filter(|subject| keys.remove(subject).is_some())
                    .count())
            }
            EraserBackend::JetStream(connect) => {
                let mut subjects = subjects.into_iter().peekable();
                if subjects.peek().is_none() {
                    return Ok(0);
                }
                let client = connect().await.map_err(|message| {
                    KeyStoreError::Unavailable(format!(
                        "cannot connect with the eraser's login: {message}"
                    ))
                })?;
                let js = jetstream::ContextBuilder::new()
                    .timeout(ERASER_TIMEOUT)
                    .build(client.clone());
                let mut destroyed = 0;
                let mut outcome = Ok(());
                for subject in subjects {
                    match erase_key(&js, subject).await {
                        Ok(true) => destroyed += 1,
                        Ok(false) => {}
                        Err(error) => {
                            outcome = Err(error);
                            break;
                        }
                    }
                }
                // The eraser's login is not kept open beyond the erasure.
                if let Err(error) = client.drain().await {
                    tracing::debug!(message = "Closing the eraser's connection failed.", %error);
                }
                outcome.map(|()| destroyed)
            }
        }
    }
}

/// `subject`'s key as the bucket holds it, if it holds one.
async fn stored_key(js: &Context, subject: Uuid) -> Result<Option<SubjectKey>, KeyStoreError> {
    let stream = js
        .get_stream_no_info(SUBJECT_KEYS_STREAM)
        .await
        .map_err(unavailable)?;
    match stream
        .direct_get_last_for_subject(subject_key_subject(subject))
        .await
    {
        Ok(message) => key_from(subject, &message.payload).map(Some),
        Err(error) if error.kind() == DirectGetErrorKind::NotFound => Ok(None),
        Err(error) => Err(unavailable(error)),
    }
}

/// Stores `fresh` as `subject`'s key unless a key is stored already, and returns the one the
/// bucket keeps: ours, or the one another process stored first.
async fn create_key(
    js: &Context,
    subject: Uuid,
    fresh: [u8; KEY_BYTES],
) -> Result<SubjectKey, KeyStoreError> {
    let message = PublishMessage::build()
        .payload(bytes::Bytes::copy_from_slice(&fresh))
        .expected_last_subject_sequence(0);
    let published = match js.send_publish(subject_key_subject(subject), message).await {
        Ok(ack) => ack.await,
        Err(error) => return Err(unavailable(error)),
    };
    match published {
        Ok(_) => Ok(SubjectKey::from_bytes(fresh)),
        // Another process stored one first (or the stream refused a second message on the
        // key's subject): use the stored key.
        Err(error) => match stored_key(js, subject).await? {
            Some(stored) => Ok(stored),
            None if error.kind() == PublishErrorKind::WrongLastSequence => {
                Err(KeyStoreError::Unavailable(format!(
                    "subject {subject}'s key was refused as a second key, yet none is stored"
                )))
            }
            None => Err(unavailable(error)),
        },
    }
}

/// Securely deletes `subject`'s key: finds its message and deletes it with `no_erase: false`,
/// so the server overwrites its bytes; true when there was one.
async fn erase_key(js: &Context, subject: Uuid) -> Result<bool, KeyStoreError> {
    let stream = js
        .get_stream_no_info(SUBJECT_KEYS_STREAM)
        .await
        .map_err(unavailable)?;
    let sequence = match stream
        .direct_get_last_for_subject(subject_key_subject(subject))
        .await
    {
        Ok(message) => message.sequence,
        Err(error) if error.kind() == DirectGetErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(unavailable(error)),
    };
    let request = serde_json::json!({ "seq": sequence, "no_erase": false });
    let answer: serde_json::Value = js
        .request(format!("STREAM.MSG.DELETE.{SUBJECT_KEYS_STREAM}"), &request)
        .await
        .map_err(|error| {
            KeyStoreError::Unavailable(format!(
                "no answer to the secure delete of subject {subject}'s key ({error}); a \
                 credential that may not delete from the key store gets none: check the \
                 eraser's login"
            ))
        })?;
    if answer.get("success").and_then(serde_json::Value::as_bool) == Some(true) {
        tracing::info!(message = "Destroyed a subject's key.", %subject, sequence);
        return Ok(true);
    }
    let error = answer.get("error");
    let code = error
        .and_then(|e| e.get("err_code"))
        .and_then(serde_json::Value::as_u64);
    if code == Some(NO_MESSAGE_FOUND) {
        // Destroyed meanwhile by another erasure.
        return Ok(false);
    }
    let description = error
        .and_then(|e| e.get("description"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("no description");
    Err(KeyStoreError::Denied(
        "delete a key",
        format!("the server refused the secure delete of subject {subject}'s key: {description}"),
    ))
}

/// The key in a stored message's payload.
fn key_from(subject: Uuid, payload: &[u8]) -> Result<SubjectKey, KeyStoreError> {
    let bytes: [u8; KEY_BYTES] = payload
        .try_into()
        .map_err(|_| KeyStoreError::Corrupt(subject, payload.len()))?;
    Ok(SubjectKey::from_bytes(bytes))
}

fn unavailable(error: impl std::fmt::Display) -> KeyStoreError {
    KeyStoreError::Unavailable(error.to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_created_once_and_gone_after_destroy() {
        let keys = SubjectKeys::memory();
        let subject = Uuid::from_u128(1);
        assert_eq!(keys.key(subject).await.unwrap(), None);
        let key = keys.key_or_create(subject).await.unwrap();
        assert_eq!(keys.key_or_create(subject).await.unwrap(), key);
        let eraser = keys.memory_eraser().unwrap();
        assert!(eraser.destroy(subject).await.unwrap());
        assert!(!eraser.destroy(subject).await.unwrap());
        // The cache still holds it until the process forgets it.
        assert_eq!(keys.key(subject).await.unwrap(), Some(key));
        keys.forget(subject);
        assert_eq!(keys.key(subject).await.unwrap(), None);
    }
}
