//! The seals stream: signed statements of every chain's head (see `pilot_events::seal`).
//!
//! The service takes a seal from its live world (every few minutes when the log moved, after
//! an import, on shutdown) and appends it to `PILOT_SEALS`; `pilot verify --keys` checks the
//! log against the latest one. [`SealLog`] is where seals are kept: the JetStream stream, or
//! the in-memory log's list.

use crate::jetstream::{JetStreamLog, PublishFailure};
use crate::layout::{SEALS_STREAM, SEALS_SUBJECT};
use crate::log::LogError;
use crate::signing::EventSigner;
use async_nats::jetstream::message::PublishMessage;
use pilot_events::seal::{merkle_root, Seal};
use pilot_projections::World;
use std::future::Future;
use time::OffsetDateTime;

/// Where seals are kept.
pub trait SealLog: Send + Sync + 'static {
    /// Appends a seal; returns its position among the seals.
    fn record_seal(&self, seal: &Seal) -> impl Future<Output = Result<u64, LogError>> + Send;

    /// The latest seal, if any was recorded.
    fn latest_seal(&self) -> impl Future<Output = Result<Option<Seal>, LogError>> + Send;
}

/// A signed seal of `world` as it stands.
pub fn seal_of(world: &World, signer: &EventSigner, now: OffsetDateTime) -> Seal {
    let heads: Vec<(String, u64, pilot_events::Hash)> = world
        .chain_heads()
        .map(|(subject, version, hash)| (subject.id().to_string(), version, hash))
        .collect();
    let mut seal = Seal {
        stream_sequence: world.position(),
        events: heads.iter().map(|(_, version, _)| version).sum(),
        chains: heads.len() as u64,
        merkle_root: merkle_root(heads.iter().map(|(id, v, h)| (id.as_str(), *v, *h))),
        sealed_at: now,
        signature: None,
    };
    seal.signature = Some(signer.sign_bytes(&seal.body()));
    seal
}

impl SealLog for JetStreamLog {
    async fn record_seal(&self, seal: &Seal) -> Result<u64, LogError> {
        let message = PublishMessage::build().payload(seal.to_json().into());
        match self.publish_acked(SEALS_SUBJECT, message).await {
            Ok(position) => Ok(position),
            Err(PublishFailure::WrongLastSequence) | Err(PublishFailure::Refused(_)) => Err(
                LogError::Refused("the seals stream refused a seal".to_string()),
            ),
            Err(PublishFailure::Unavailable(message)) => Err(LogError::Unavailable(message)),
        }
    }

    async fn latest_seal(&self) -> Result<Option<Seal>, LogError> {
        let stream = self
            .jetstream()
            .get_stream_no_info(SEALS_STREAM)
            .await
            .map_err(crate::jetstream::unavailable)?;
        match stream.direct_get_last_for_subject(SEALS_SUBJECT).await {
            Ok(message) => serde_json::from_slice(&message.payload)
                .map(Some)
                .map_err(|e| LogError::Refused(format!("the latest seal does not read: {e}"))),
            Err(e) if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(crate::jetstream::unavailable(e)),
        }
    }
}
