//! Checkpoints proven against the log: each names the stream it was taken on, its position and
//! the message at that position, and carries a MAC under the service's checkpoint key.
//!
//! A checkpoint is a shortcut, never a source of truth: a start that cannot prove one against
//! the log discards it and replays the log, which is always correct. Two things are refused
//! outright rather than rebuilt from, because serving from them would be serving something the
//! log does not say:
//! - a checkpoint whose MAC does not hold (anyone who can write the object store could
//!   otherwise hand the service a state of their choosing) is discarded and the log replayed;
//! - a log that is shorter than a checkpoint the service itself wrote, or a stream created anew
//!   since, means the record the service has seen is gone: the service stops serving
//!   ([`Verdict::Halt`]) until an operator decides, instead of answering from state the log no
//!   longer holds (and accepting appends at positions it has already seen).
//!
//! On the wire, a sealed checkpoint is three lines and the body:
//! `pilot-checkpoint/1`, the MAC (hex), the [`Anchor`] (JSON), then the body's bytes. The MAC is
//! HMAC-SHA256 over the format, the checkpoint's name, the anchor and the body, so a checkpoint
//! cannot be moved to another name or another anchor either.

use bytes::Bytes;
use hmac::{KeyInit, Mac};
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::EVENTS_STREAM;
use pilot_store::log::{EventLog, LogError};
use pilot_store::memory::MemoryLog;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use uuid::Uuid;

/// The first line of every sealed checkpoint; another one is not this build's format.
const FORMAT: &str = "pilot-checkpoint/1";
/// Bytes of a generated key; a key given in a file must have at least this many.
pub const KEY_BYTES: usize = 32;
/// The key file's name in the data directory, when no other file is configured.
pub const KEY_FILE: &str = "checkpoint.key";

type HmacSha256 = hmac::Hmac<Sha256>;

/// The secret checkpoints are sealed with. Whoever holds it can write checkpoints the service
/// trusts, so it lives in a file only its owner can read, and it is never printed.
#[derive(Clone)]
pub struct CheckpointKey(Arc<Vec<u8>>);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointKey(..)")
    }
}

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read the checkpoint key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the checkpoint key {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the checkpoint key {path} holds {found} bytes; it needs at least {KEY_BYTES} (e.g. `head -c 32 /dev/urandom > {path}`)")]
    TooShort { path: PathBuf, found: usize },
    #[error("the system's random source failed: {0}")]
    Random(String),
}

impl CheckpointKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = vec![0u8; KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(CheckpointKey(Arc::new(bytes)))
    }

    /// The key in `path` (all of its bytes), for processes that share one.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if bytes.len() < KEY_BYTES {
            return Err(KeyError::TooShort {
                path: path.to_path_buf(),
                found: bytes.len(),
            });
        }
        Ok(CheckpointKey(Arc::new(bytes)))
    }

    /// The key in `dir`/[`KEY_FILE`], generated there (mode 0600) on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(KEY_FILE);
        if path.exists() {
            return Self::load(&path);
        }
        let key = Self::generate()?;
        let create = |source| KeyError::Create {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(create)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, &key.0).map_err(create)?;
                file.sync_all().map_err(create)?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Self::load(&path),
            Err(error) => Err(create(error)),
        }
    }

    /// The MAC over a checkpoint's parts, each length-prefixed so no two splits read alike.
    /// `None` only if HMAC refused the key, which it never does (it takes keys of any length).
    fn mac(&self, name: &str, anchor: &[u8], body: &[u8]) -> Option<HmacSha256> {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0).ok()?;
        for part in [FORMAT.as_bytes(), name.as_bytes(), anchor] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(body);
        Some(mac)
    }
}

/// Where a checkpoint stands in the log: the stream (by its creation instant, which a deleted
/// and recreated stream does not keep), the position, and the message stored there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The events stream's creation instant (RFC 3339), as the server reports it.
    pub stream: String,
    pub position: u64,
    /// The message at `position`; `None` at position 0.
    pub last: Option<LastMessage>,
}

/// The message a checkpoint ends with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastMessage {
    /// Its event id, when it is an event (a quarantined message may not be).
    pub event_id: Option<Uuid>,
    /// SHA-256 of its stored bytes (hex).
    pub sha256: String,
}

/// A log that can say which stream it is: what a checkpoint is anchored to.
pub trait Anchored: EventLog {
    /// The identity of the stream the log is (its creation instant), and its last position.
    fn stream_state(&self) -> impl Future<Output = Result<(String, u64), LogError>> + Send;
}

impl Anchored for JetStreamLog {
    async fn stream_state(&self) -> Result<(String, u64), LogError> {
        let stream = self
            .jetstream()
            .get_stream_no_info(EVENTS_STREAM)
            .await
            .map_err(|e| LogError::Unavailable(e.to_string()))?;
        let info = stream
            .get_info()
            .await
            .map_err(|e| LogError::Unavailable(e.to_string()))?;
        let created = pilot_events::rfc3339(info.created);
        Ok((created, info.state.last_sequence))
    }
}

impl Anchored for MemoryLog {
    /// An in-memory log lives as long as its process: it is always the same stream.
    async fn stream_state(&self) -> Result<(String, u64), LogError> {
        Ok(("memory".to_string(), self.last_position().await?))
    }
}

/// The anchor of `position` on `log` as it stands now.
pub async fn anchor_at<L: Anchored>(log: &L, position: u64) -> Result<Anchor, LogError> {
    let (stream, _) = log.stream_state().await?;
    Ok(Anchor {
        stream,
        position,
        last: last_message(log, position).await?,
    })
}

async fn last_message<L: EventLog>(
    log: &L,
    position: u64,
) -> Result<Option<LastMessage>, LogError> {
    if position == 0 {
        return Ok(None);
    }
    let found = log.read_from(position, 1).await?;
    Ok(found
        .into_iter()
        .find(|stored| stored.position == position)
        .map(|stored| LastMessage {
            event_id: pilot_events::decode(&stored.bytes).ok().map(|e| e.event_id),
            sha256: hex(&Sha256::digest(&stored.bytes)),
        }))
}

/// Seals `body` as checkpoint `name` at `position` of `log` and stores it.
pub async fn save<L: Anchored>(
    log: &L,
    key: &CheckpointKey,
    name: &str,
    position: u64,
    body: &[u8],
) -> Result<(), LogError> {
    let anchor = anchor_at(log, position).await?;
    log.save_checkpoint(name, seal(key, name, &anchor, body)?)
        .await
}

/// The sealed bytes of checkpoint `name`.
pub fn seal(
    key: &CheckpointKey,
    name: &str,
    anchor: &Anchor,
    body: &[u8],
) -> Result<Bytes, LogError> {
    let anchor = serde_json::to_vec(anchor)
        .map_err(|e| LogError::Refused(format!("cannot serialize a checkpoint anchor: {e}")))?;
    let mac = key
        .mac(name, &anchor, body)
        .ok_or_else(|| LogError::Refused("the checkpoint key is unusable".into()))?;
    let mac = hex(&mac.finalize().into_bytes());
    let mut out = Vec::with_capacity(FORMAT.len() + mac.len() + anchor.len() + body.len() + 3);
    for line in [FORMAT.as_bytes(), mac.as_bytes(), &anchor] {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(body);
    Ok(Bytes::from(out))
}

/// Why a stored checkpoint was not used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refused {
    #[error("the checkpoint is not in this build's sealed format `{FORMAT}`")]
    Format,
    #[error("the checkpoint's MAC does not hold: it was not written under this service's checkpoint key (forged, altered, or written with another key)")]
    Mac,
    #[error("the checkpoint's anchor is unreadable: {0}")]
    Anchor(String),
}

/// Checks a sealed checkpoint's MAC; returns its anchor and body.
pub fn unseal(key: &CheckpointKey, name: &str, bytes: &Bytes) -> Result<(Anchor, Bytes), Refused> {
    let mut rest = bytes.clone();
    let mut line = || -> Result<Bytes, Refused> {
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(Refused::Format)?;
        let line = rest.split_to(end);
        let _newline = rest.split_to(1);
        Ok(line)
    };
    if line()?.as_ref() != FORMAT.as_bytes() {
        return Err(Refused::Format);
    }
    let mac = line()?;
    let anchor = line()?;
    let body = rest;
    let expected = unhex(&mac).ok_or(Refused::Mac)?;
    key.mac(name, &anchor, &body)
        .ok_or(Refused::Mac)?
        .verify_slice(&expected)
        .map_err(|_| Refused::Mac)?;
    let anchor = serde_json::from_slice(&anchor).map_err(|e| Refused::Anchor(e.to_string()))?;
    Ok((anchor, body))
}

/// What a start does with the checkpoint it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// None stored: replay the log.
    None,
    /// Proven against the log: resume from its body.
    Resume { anchor: Anchor, body: Bytes },
    /// Not usable, for the reason given: replay the log.
    Discard { reason: String },
    /// The log holds less than this service has seen: do not serve.
    Halt { reason: String },
}

/// Loads checkpoint `name` and proves it against `log` (see the module docs).
pub async fn load<L: Anchored>(log: &L, key: &CheckpointKey, name: &str) -> Verdict {
    let bytes = match log.load_checkpoint(name).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Verdict::None,
        Err(error) => {
            return Verdict::Discard {
                reason: format!("it cannot be read: {error}"),
            }
        }
    };
    let (anchor, body) = match unseal(key, name, &bytes) {
        Ok(unsealed) => unsealed,
        Err(refused) => {
            return Verdict::Discard {
                reason: refused.to_string(),
            }
        }
    };
    match prove(log, &anchor).await {
        Ok(None) => Verdict::Resume { anchor, body },
        Ok(Some(verdict)) => verdict,
        Err(error) => Verdict::Discard {
            reason: format!("it cannot be checked against the log: {error}"),
        },
    }
}

/// `None` when `anchor` holds on `log`; otherwise what to do instead.
async fn prove<L: Anchored>(log: &L, anchor: &Anchor) -> Result<Option<Verdict>, LogError> {
    if let Some(reason) = behind(log, &anchor.stream, anchor.position).await? {
        return Ok(Some(Verdict::Halt { reason }));
    }
    let last = last_message(log, anchor.position).await?;
    if last != anchor.last {
        return Ok(Some(Verdict::Discard {
            reason: format!(
                "the log's message at position {} is not the one the checkpoint was taken after",
                anchor.position
            ),
        }));
    }
    Ok(None)
}

/// Why `log` no longer holds what was seen on stream `stream` up to `position`, if it does not:
/// the stream was created anew, or it ends before `position`.
pub async fn behind<L: Anchored>(
    log: &L,
    stream: &str,
    position: u64,
) -> Result<Option<String>, LogError> {
    let (current, last) = log.stream_state().await?;
    if current != stream {
        return Ok(Some(format!(
            "the event stream {EVENTS_STREAM} was created at {current}, but this service has seen \
             the stream created at {stream} up to position {position}: the log was deleted and \
             recreated. Restore the log, or (if this log is to be served) delete the checkpoints \
             and restart"
        )));
    }
    if last < position {
        return Ok(Some(format!(
            "the event log ends at position {last}, but this service has seen it up to position \
             {position}: events were removed. Restore the log, or (if this log is to be served) \
             delete the checkpoints and restart"
        )));
    }
    Ok(None)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor() -> Anchor {
        Anchor {
            stream: "2026-12-04T18:00:00Z".into(),
            position: 7,
            last: Some(LastMessage {
                event_id: None,
                sha256: "00".into(),
            }),
        }
    }

    #[test]
    fn a_generated_key_is_private_to_its_owner_and_kept() -> Result<(), KeyError> {
        let dir = std::env::temp_dir().join(format!("pilot-key-{}", Uuid::now_v7()));
        let key = CheckpointKey::load_or_create(&dir)?;
        let again = CheckpointKey::load_or_create(&dir)?;
        assert_eq!(key.0, again.0, "the second start reads the first one's key");
        assert_eq!(key.0.len(), KEY_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .map_err(|source| KeyError::Read {
                    path: dir.clone(),
                    source,
                })?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let short = dir.join("short.key");
        std::fs::write(&short, b"too short").map_err(|source| KeyError::Create {
            path: short.clone(),
            source,
        })?;
        assert!(matches!(
            CheckpointKey::load(&short),
            Err(KeyError::TooShort { found: 9, .. })
        ));
        assert_eq!(format!("{key:?}"), "CheckpointKey(..)", "never printed");
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn a_sealed_checkpoint_opens_only_under_its_key_and_name() -> Result<(), LogError> {
        let key = CheckpointKey::generate().map_err(|e| LogError::Refused(e.to_string()))?;
        let other = CheckpointKey::generate().map_err(|e| LogError::Refused(e.to_string()))?;
        let sealed = seal(&key, "projector", &anchor(), b"{\"world\":1}")?;
        assert_eq!(
            unseal(&key, "projector", &sealed),
            Ok((anchor(), Bytes::from_static(b"{\"world\":1}")))
        );
        assert_eq!(unseal(&other, "projector", &sealed), Err(Refused::Mac));
        assert_eq!(unseal(&key, "alerter", &sealed), Err(Refused::Mac));
        let mut altered = sealed.to_vec();
        let last = altered.len() - 2;
        altered[last] = b'2';
        assert_eq!(
            unseal(&key, "projector", &Bytes::from(altered)),
            Err(Refused::Mac)
        );
        assert_eq!(
            unseal(&key, "projector", &Bytes::from_static(b"{\"format\":2}")),
            Err(Refused::Format)
        );
        Ok(())
    }
}
