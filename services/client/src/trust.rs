//! `pilot verify --keys FILE [--seal FILE]`: beyond the hash chains, who wrote the events.
//!
//! Every event must be signed by a key in the keys file, or, unsigned (imported history, the
//! demo), be covered by a seal: a signed statement of every chain's head at some count of
//! events. When the log reaches the seal's count, the chains' heads must give the seal's Merkle
//! root; a log that ends before the seal's count lost its tail. Anything else is refused and
//! named. A resealed chain (edited, hashes recomputed) fails here although its hashes hold.

use pilot_events::seal::{merkle_root, Seal};
use pilot_events::{ChainVerifier, VerifiedLink};
use pilot_store::signing::KeyRing;

/// The signature and seal checks for one verification.
#[derive(Debug)]
pub struct Trust {
    ring: KeyRing,
    seal: Option<Seal>,
    /// The first unsigned event seen before the seal's point: covered only once the log
    /// reaches that point with the seal's root.
    uncovered: Option<(usize, String)>,
    /// The log reached the seal's point with its root.
    sealed: bool,
}

impl Trust {
    /// Checks the seal's own signature first: a seal signed by no known key covers nothing.
    pub fn new(ring: KeyRing, seal: Option<Seal>) -> Result<Trust, String> {
        if ring.is_empty() {
            return Err("the keys file holds no key: write `pilot keys` output into it".into());
        }
        if let Some(seal) = &seal {
            let signature = seal
                .signature
                .as_ref()
                .ok_or("the seal is not signed: it covers nothing")?;
            ring.verify(&seal.body(), signature)
                .map_err(|problem| format!("the seal does not hold: {problem}"))?;
        }
        Ok(Trust {
            ring,
            seal,
            uncovered: None,
            sealed: false,
        })
    }

    /// Checks the event the verifier just accepted.
    pub fn check(&mut self, link: &VerifiedLink, verifier: &ChainVerifier) -> Result<(), String> {
        match &link.signature {
            Some(signature) => self
                .ring
                .verify(&link.hash.0, signature)
                .map_err(|problem| {
                    format!("line {}: event {} {problem}", link.line, link.event_id)
                })?,
            None if self.seal.is_some() && !self.sealed => {
                self.uncovered
                    .get_or_insert_with(|| (link.line, link.event_id.clone()));
            }
            None => {
                return Err(format!(
                    "line {}: event {} is not signed and no seal covers it",
                    link.line, link.event_id
                ))
            }
        }
        if let Some(seal) = &self.seal {
            if !self.sealed && verifier.report().events as u64 == seal.events {
                let root = merkle_root(verifier.heads());
                if root != seal.merkle_root {
                    return Err(format!(
                        "after {} events the chains' heads differ from the seal of {} (events were altered, dropped, reordered or added before it)",
                        seal.events, seal.sealed_at
                    ));
                }
                self.sealed = true;
                self.uncovered = None;
            }
        }
        Ok(())
    }

    /// After the last event: a log shorter than its seal lost its tail.
    pub fn finish(&self, verifier: &ChainVerifier) -> Result<(), String> {
        let Some(seal) = &self.seal else {
            return Ok(());
        };
        if self.sealed {
            return Ok(());
        }
        let events = verifier.report().events;
        match &self.uncovered {
            _ if (events as u64) < seal.events => Err(format!(
                "the log ends after {events} events but the seal of {} covers {}: events were dropped",
                seal.sealed_at, seal.events
            )),
            Some((line, event_id)) => Err(format!(
                "line {line}: event {event_id} is not signed and the log never matched the seal"
            )),
            None => Ok(()),
        }
    }
}
