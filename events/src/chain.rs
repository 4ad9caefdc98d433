//! Hash chains: sealing an event onto its chain and verifying stored chains.
//!
//! `hash` = SHA-256 over the canonical JSON of the envelope without `hash` and `signature`; `prev_hash` = the
//! previous event's `hash` in the same chain (a pilot's, or a stakeholder's), all zeros first.
//! Verification works on the stored JSON itself, not on decoded events, so it checks exactly
//! the bytes that were written, whatever schema they were written in.

use crate::canonical::{to_canonical_bytes, write_canonical};
use crate::envelope::{Envelope, EventSignature};
use crate::hash::Hash;
use serde_json::Value;
use std::collections::HashMap;
use thiserror::Error;

impl Envelope {
    /// Places this envelope after `prev_hash` and computes its `hash`.
    pub fn seal(mut self, prev_hash: Hash) -> Envelope {
        self.prev_hash = prev_hash;
        self.hash = self.computed_hash();
        self
    }

    /// The hash this envelope's content calls for. Rendered straight from the envelope
    /// ([`write_canonical`]): the writer hashes every event it seals, and the `Value` tree
    /// the definition goes through cost more than the hash itself. Whatever the direct
    /// rendering leaves to the definition is hashed the defined way.
    pub fn computed_hash(&self) -> Hash {
        let mut bytes = Vec::with_capacity(1024);
        match write_canonical(&self.wire(false), &mut bytes) {
            Ok(()) => Hash::of(&bytes),
            Err(_) => Hash::of(&to_canonical_bytes(&self.to_value(false))),
        }
    }
}

/// The first place where a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BrokenLink {
    #[error("line {line}: not a stored event ({message})")]
    Unreadable { line: usize, message: String },
    #[error("line {line}: event {event_id} has hash {stated} but its content hashes to {computed}: the event was altered")]
    HashMismatch {
        line: usize,
        event_id: String,
        stated: String,
        computed: String,
    },
    #[error("line {line}: event {event_id} follows {found} but the previous event of chain {chain} has hash {expected}: an event is missing, reordered or inserted")]
    PrevMismatch {
        line: usize,
        event_id: String,
        chain: String,
        expected: String,
        found: String,
    },
}

/// What a successful verification covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    pub events: usize,
    pub chains: usize,
}

/// Verifies interleaved chains from stored JSON lines in stream order; lines are numbered from 1.
pub fn verify_lines<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Result<ChainReport, BrokenLink> {
    let mut verifier = ChainVerifier::default();
    for line in lines {
        verifier.push(line)?;
    }
    Ok(verifier.report())
}

/// Incremental verification, for streams too long to hold in memory.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    /// Each chain's head: its version (events so far) and last hash.
    heads: HashMap<String, (u64, Hash)>,
    line: usize,
}

/// One event that [`ChainVerifier::push_link`] found in place: its own hash holds and it
/// follows its chain's previous event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLink {
    pub line: usize,
    pub event_id: String,
    pub chain: String,
    pub hash: Hash,
    /// The writer's signature, when the event carries one (checked by the caller, who holds
    /// the keys).
    pub signature: Option<EventSignature>,
}

impl ChainVerifier {
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), BrokenLink> {
        self.push_link(bytes).map(drop)
    }

    /// Verifies the next stored event and says what it was.
    pub fn push_link(&mut self, bytes: &[u8]) -> Result<VerifiedLink, BrokenLink> {
        self.line += 1;
        let link = Link::read(bytes, self.line)?;
        let (version, expected) = self
            .heads
            .get(&link.chain)
            .copied()
            .unwrap_or((0, Hash::ZERO));
        link.follows(expected)?;
        self.heads
            .insert(link.chain.clone(), (version + 1, link.stated));
        Ok(VerifiedLink {
            line: link.line,
            event_id: link.event_id,
            chain: link.chain,
            hash: link.stated,
            signature: link.signature,
        })
    }

    /// Every chain's head so far: (chain id, version, last hash), in no particular order.
    pub fn heads(&self) -> impl Iterator<Item = (&str, u64, Hash)> {
        self.heads
            .iter()
            .map(|(chain, (version, hash))| (chain.as_str(), *version, *hash))
    }

    pub fn report(&self) -> ChainReport {
        ChainReport {
            events: self.line,
            chains: self.heads.len(),
        }
    }
}

/// Checks one stored event that is to follow `expected_prev` in its chain: an import that
/// continues a chain the store already holds. `line` numbers it in messages.
pub fn verify_next(bytes: &[u8], line: usize, expected_prev: Hash) -> Result<(), BrokenLink> {
    Link::read(bytes, line)?.follows(expected_prev)
}

/// One stored event whose own hash holds, and what it links to.
struct Link {
    line: usize,
    event_id: String,
    chain: String,
    prev: Hash,
    stated: Hash,
    signature: Option<EventSignature>,
}

impl Link {
    /// Reads the event's chain fields and checks its hash against its content.
    fn read(bytes: &[u8], line: usize) -> Result<Link, BrokenLink> {
        let unreadable = |message: &str| BrokenLink::Unreadable {
            line,
            message: message.to_string(),
        };
        let mut value: Value =
            serde_json::from_slice(bytes).map_err(|e| unreadable(&e.to_string()))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| unreadable("not a JSON object"))?;
        let stated =
            hash_field(object.remove("hash")).ok_or_else(|| unreadable("no valid `hash`"))?;
        // The signature lies outside what the hash covers.
        let signature = match object.remove("signature") {
            None => None,
            Some(value) => Some(
                serde_json::from_value::<EventSignature>(value)
                    .map_err(|e| unreadable(&format!("`signature`: {e}")))?,
            ),
        };
        let prev = hash_field(object.get("prev_hash").cloned())
            .ok_or_else(|| unreadable("no valid `prev_hash`"))?;
        let event_id = object
            .get("event_id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let chain = ["pilot_id", "stakeholder_id", "jurisdiction_id"]
            .iter()
            .find_map(|key| object.get(*key).and_then(Value::as_str))
            .ok_or_else(|| unreadable("none of `pilot_id`, `stakeholder_id`, `jurisdiction_id`"))?
            .to_string();
        let computed = Hash::of(&to_canonical_bytes(&value));
        if computed != stated {
            return Err(BrokenLink::HashMismatch {
                line,
                event_id,
                stated: stated.to_hex(),
                computed: computed.to_hex(),
            });
        }
        Ok(Link {
            line,
            event_id,
            chain,
            prev,
            stated,
            signature,
        })
    }

    fn follows(&self, expected: Hash) -> Result<(), BrokenLink> {
        if self.prev == expected {
            return Ok(());
        }
        Err(BrokenLink::PrevMismatch {
            line: self.line,
            event_id: self.event_id.clone(),
            chain: self.chain.clone(),
            expected: expected.to_hex(),
            found: self.prev.to_hex(),
        })
    }
}

fn hash_field(value: Option<Value>) -> Option<Hash> {
    value
        .as_ref()
        .and_then(Value::as_str)
        .and_then(Hash::from_hex)
}
