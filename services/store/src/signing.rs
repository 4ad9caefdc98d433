//! The service's signing key and the public keys that verify it.
//!
//! The writer signs each event's `hash` with an Ed25519 key of the service, so an event that
//! someone edited and sealed again with a correct hash (no key needed for that) no longer
//! verifies against the service's public key. The key is a 32-byte seed kept as 64 hex
//! digits in a file (`<data-dir>/signing.key`, mode 0600, created on first start; or a file
//! given in the configuration, shared by the processes of one deployment). Its public half is
//! what `pilot keys` prints and `pilot verify --keys` reads: one line per key,
//! `ed25519 <key_id> <public key, 64 hex digits>`, where `key_id` is the first 16 hex digits
//! of the public key's SHA-256.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use pilot_events::{EventSignature, Hash};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read the signing key {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the signing key {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the signing key {path} is not 64 hex digits (a 32-byte Ed25519 seed); restore it from a backup, or move it away to start a new key (events signed with the old key then need its public line in the keys file)")]
    Malformed { path: PathBuf },
    #[error("no randomness for a new signing key: {0}")]
    Random(String),
    #[error("keys file line {line}: {problem}; each line is `ed25519 <key_id> <public key hex>`, as `pilot keys` prints it")]
    KeysLine { line: usize, problem: String },
}

/// The service's private signing key.
pub struct EventSigner {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for EventSigner {
    /// Never prints the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl EventSigner {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id_of(&key.verifying_key());
        EventSigner { key, key_id }
    }

    /// The key in `path`.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let seed = Hash::from_hex(text.trim()).ok_or_else(|| KeyError::Malformed {
            path: path.to_path_buf(),
        })?;
        Ok(EventSigner::from_seed(seed.0))
    }

    /// The key in `path`, or a new one written there (mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match std::fs::metadata(path) {
            Ok(_) => EventSigner::load(path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
                write_private(path, &Hash(seed).to_hex()).map_err(|source| KeyError::Create {
                    path: path.to_path_buf(),
                    source,
                })?;
                tracing::info!(message = "Created a signing key.", path = %path.display());
                Ok(EventSigner::from_seed(seed))
            }
            Err(source) => Err(KeyError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The line `pilot keys` prints and a keys file holds.
    pub fn public_line(&self) -> String {
        public_line(&self.key.verifying_key())
    }

    /// Signs an event's hash.
    pub fn sign(&self, hash: &Hash) -> EventSignature {
        EventSignature {
            key_id: self.key_id.clone(),
            ed25519: hex(&self.key.sign(&hash.0).to_bytes()),
        }
    }

    /// Signs arbitrary bytes (a seal's canonical body), with this key's id.
    pub fn sign_bytes(&self, bytes: &[u8]) -> EventSignature {
        EventSignature {
            key_id: self.key_id.clone(),
            ed25519: hex(&self.key.sign(bytes).to_bytes()),
        }
    }
}

/// The public keys a verifier trusts, by key id.
#[derive(Debug, Default, Clone)]
pub struct KeyRing {
    keys: HashMap<String, VerifyingKey>,
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureProblem {
    #[error("signed by key {0}, which the keys file does not hold")]
    UnknownKey(String),
    #[error("its signature by key {0} does not verify: the event was altered after it was signed")]
    Invalid(String),
}

impl KeyRing {
    /// Reads a keys file: `ed25519 <key_id> <public key hex>` lines; blank lines and `#`
    /// comments are skipped.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut keys = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = |problem: &str| KeyError::KeysLine {
                line: index + 1,
                problem: problem.to_string(),
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [kind, key_id, public] = fields[..] else {
                return Err(problem("not three fields"));
            };
            if kind != "ed25519" {
                return Err(problem(&format!("unknown key kind {kind:?}")));
            }
            let key = Hash::from_hex(public)
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes.0).ok())
                .ok_or_else(|| problem("the public key is not a valid Ed25519 key in hex"))?;
            if key_id_of(&key) != key_id {
                return Err(problem(&format!(
                    "key id {key_id} does not belong to this public key"
                )));
            }
            keys.insert(key_id.to_string(), key);
        }
        Ok(KeyRing { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a signature over `message` (an event's hash bytes, or a seal's body).
    pub fn verify(
        &self,
        message: &[u8],
        signature: &EventSignature,
    ) -> Result<(), SignatureProblem> {
        let key = self
            .keys
            .get(&signature.key_id)
            .ok_or_else(|| SignatureProblem::UnknownKey(signature.key_id.clone()))?;
        let invalid = || SignatureProblem::Invalid(signature.key_id.clone());
        let bytes = decode_hex_64(&signature.ed25519).ok_or_else(invalid)?;
        key.verify(message, &Signature::from_bytes(&bytes))
            .map_err(|_| invalid())
    }
}

fn key_id_of(key: &VerifyingKey) -> String {
    Hash::of(key.as_bytes()).to_hex()[..16].to_string()
}

fn public_line(key: &VerifyingKey) -> String {
    format!("ed25519 {} {}", key_id_of(key), hex(key.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex_64(text: &str) -> Option<[u8; 64]> {
    if text.len() != 128 {
        return None;
    }
    let mut out = [0u8; 64];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// Creates `path` readable and writable by its owner only, refusing to overwrite.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_the_public_line_and_not_after_a_change() {
        let signer = EventSigner::from_seed([7; 32]);
        let ring = KeyRing::parse(&format!("# the service\n{}\n", signer.public_line())).unwrap();
        let hash = Hash::of(b"event");
        let signature = signer.sign(&hash);
        ring.verify(&hash.0, &signature).unwrap();
        assert_eq!(
            ring.verify(&Hash::of(b"edited").0, &signature),
            Err(SignatureProblem::Invalid(signer.key_id().to_string()))
        );
        let other = EventSigner::from_seed([8; 32]).sign(&hash);
        assert!(matches!(
            ring.verify(&hash.0, &other),
            Err(SignatureProblem::UnknownKey(_))
        ));
    }

    #[test]
    fn a_key_file_is_created_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pilot-key-{}", uuid::Uuid::now_v7()));
        let path = dir.join("signing.key");
        let created = EventSigner::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = EventSigner::load_or_create(&path).unwrap();
        assert_eq!(created.public_line(), loaded.public_line());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_keys_line_with_a_foreign_key_id_is_refused() {
        let line = EventSigner::from_seed([1; 32]).public_line();
        let forged = line.replacen(' ', " 0000000000000000 x", 1);
        assert!(KeyRing::parse(&forged).is_err());
        let (_, rest) = line.split_once(' ').unwrap();
        let (_, key) = rest.split_once(' ').unwrap();
        assert!(KeyRing::parse(&format!("ed25519 0000000000000000 {key}")).is_err());
    }
}
