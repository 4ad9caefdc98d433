//! Seals: a signed statement of every chain's head at one point of the log.
//!
//! Events the writer signs prove themselves. History that was imported (the demo, a
//! back-fill, an older export) is unsigned, and a dropped tail leaves no altered event behind.
//! A seal covers both: the service signs, every few minutes, after an import and on shutdown,
//! the log's position, how many events its chains hold, and a Merkle root over every chain's
//! `(id, version, last hash)`. A verifier that replays the log to the seal's event count and
//! finds the same root knows that every event up to there is the one the service held, and
//! that no chain was cut short.

use crate::canonical::to_canonical_bytes;
use crate::envelope::EventSignature;
use crate::hash::Hash;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One seal as stored on the seals stream and read by `pilot verify --seal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// The event stream's position the seal was taken at.
    pub stream_sequence: u64,
    /// How many events the chains held then (the sum of their versions).
    pub events: u64,
    /// How many chains there were.
    pub chains: u64,
    /// [`merkle_root`] over every chain's head.
    pub merkle_root: Hash,
    #[serde(with = "time::serde::rfc3339")]
    pub sealed_at: OffsetDateTime,
    /// The service's signature over [`Seal::body`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<EventSignature>,
}

impl Seal {
    /// What the signature covers: the canonical JSON of the seal without its signature.
    pub fn body(&self) -> Vec<u8> {
        let unsigned = Seal {
            signature: None,
            ..self.clone()
        };
        let value = serde_json::to_value(&unsigned).unwrap_or_default();
        to_canonical_bytes(&value)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The Merkle root over chain heads `(chain id, version, last hash)`, in any order: leaves
/// are sorted by chain id, each leaf is the SHA-256 of `id:version:hash`, and each level
/// hashes pairs (an odd last node rises unchanged). No chains: the zero hash.
pub fn merkle_root<'a>(heads: impl IntoIterator<Item = (&'a str, u64, Hash)>) -> Hash {
    let mut heads: Vec<(&str, u64, Hash)> = heads.into_iter().collect();
    heads.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut level: Vec<Hash> = heads
        .iter()
        .map(|(id, version, hash)| Hash::of(format!("{id}:{version}:{}", hash.to_hex()).as_bytes()))
        .collect();
    if level.is_empty() {
        return Hash::ZERO;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut both = [0u8; 64];
                    both[..32].copy_from_slice(&left.0);
                    both[32..].copy_from_slice(&right.0);
                    Hash::of(&both)
                }
                [single] => *single,
                _ => Hash::ZERO,
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_depends_on_every_head_and_not_on_their_order() {
        let a = ("a", 3, Hash::of(b"a"));
        let b = ("b", 1, Hash::of(b"b"));
        let c = ("c", 7, Hash::of(b"c"));
        let root = merkle_root([a, b, c]);
        assert_eq!(root, merkle_root([c, a, b]));
        assert_ne!(root, merkle_root([a, b]));
        assert_ne!(root, merkle_root([a, b, ("c", 6, Hash::of(b"c"))]));
        assert_eq!(merkle_root(std::iter::empty()), Hash::ZERO);
    }

    #[test]
    fn the_body_leaves_the_signature_out() {
        let mut seal = Seal {
            stream_sequence: 9,
            events: 8,
            chains: 2,
            merkle_root: Hash::of(b"root"),
            sealed_at: time::macros::datetime!(2026-12-04 12:00 UTC),
            signature: None,
        };
        let body = seal.body();
        seal.signature = Some(EventSignature {
            key_id: "k".into(),
            ed25519: "00".into(),
        });
        assert_eq!(seal.body(), body);
        let back: Seal = serde_json::from_str(&seal.to_json()).unwrap();
        assert_eq!(back, seal);
    }
}
