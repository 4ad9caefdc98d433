//! The key store: one key per data subject, which seals that subject's personal fields
//! (docs/personal-data.md). Destroying a key erases every field sealed under it.
//!
//! [`SubjectKeys`] is what the service holds: it reads keys, creates a subject's key on its
//! first personal field, and caches what it read. [`Eraser`] is the only thing that destroys
//! a key; on NATS it connects with the eraser credential, which alone may delete from the key
//! bucket, and the service opens it only on the erasure path.

use pilot_events::personal::{SubjectKey, KEY_BYTES};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use uuid::Uuid;

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
                backend: Backend::Memory(keys.clone()),
            }),
        }
    }

    /// `subject`'s key, if it has one (none yet, or destroyed).
    pub async fn key(&self, subject: Uuid) -> Result<Option<SubjectKey>, KeyStoreError> {
        if let Some(key) = self.cached(subject) {
            return Ok(Some(key));
        }
        let found = match &self.backend {
            Backend::Memory(keys) => lock(keys).get(&subject).map(|b| SubjectKey::from_bytes(*b)),
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
    backend: Backend,
}

impl Eraser {
    /// Destroys `subject`'s key so that no copy in the store can be read again. `Ok(false)`
    /// when it had none (never created, or destroyed before): erasing is idempotent here,
    /// and the erasure event says whether it was done before.
    pub async fn destroy(&self, subject: Uuid) -> Result<bool, KeyStoreError> {
        match &self.backend {
            Backend::Memory(keys) => Ok(lock(keys).remove(&subject).is_some()),
        }
    }
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
