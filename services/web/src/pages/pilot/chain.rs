//! The pilot page's hash-chain check: the chain as stored in the log, verified link by link.

use super::super::*;
use pilot_events::{BrokenLink, ChainVerifier, Subject};
use pilot_store::EventLog;

/// The pilot's chain as stored in the log, verified link by link (as `pilot verify` does for
/// the whole log).
#[derive(Debug, Default)]
pub(super) struct ChainCheck {
    /// Stored messages on the chain's subject.
    pub(super) total: usize,
    /// Whether the log could be read at all.
    pub(super) read: bool,
    pub(super) broken: Vec<BrokenRow>,
}

#[derive(Debug)]
pub(super) struct BrokenRow {
    pub(super) position: String,
    pub(super) reason: String,
    pub(super) detail: String,
}

/// Reads the pilot's chain as stored in the log (every message on its subject, including any
/// the fold refused) and verifies it link by link with the verifier `pilot verify` runs over
/// the whole log ([`ChainVerifier`]): each event's hash must match its content and its
/// `prev_hash` the previous good event's hash. A broken message does not move the head, so
/// the events after it are judged against the last good one (as the writer appends after
/// junk); a good event of another chain stored on this subject is out of place. The status
/// by position, for the event table.
pub(super) async fn check_chain(
    tr: &Tr,
    state: &WebState,
    id: Uuid,
) -> (ChainCheck, BTreeMap<u64, bool>) {
    let mut status = BTreeMap::new();
    let stored = match state.app.log.read_chain(Subject::Pilot(id), 0).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(message = "The pilot's chain could not be read.", %error);
            return (ChainCheck::default(), status);
        }
    };
    let mut check = ChainCheck {
        total: stored.len(),
        read: true,
        broken: Vec::new(),
    };
    let chain = id.to_string();
    let mut verifier = ChainVerifier::default();
    for message in &stored {
        let verdict = match verifier.push_link(&message.bytes) {
            Ok(link) if link.chain == chain => Ok(()),
            Ok(link) => Err((
                "chain-out-of-place",
                format!("event {} belongs to chain {}", link.event_id, link.chain),
            )),
            Err(broken) => Err((
                match broken {
                    BrokenLink::Unreadable { .. } => "chain-unreadable",
                    BrokenLink::HashMismatch { .. } => "chain-altered",
                    BrokenLink::PrevMismatch { .. } => "chain-out-of-place",
                },
                broken.to_string(),
            )),
        };
        status.insert(message.position, verdict.is_ok());
        if let Err((key, detail)) = verdict {
            check.broken.push(BrokenRow {
                position: message.position.to_string(),
                reason: tr.t(key),
                detail,
            });
        }
    }
    (check, status)
}
