//! The sealer: appends a signed seal of every chain's head to `PILOT_SEALS` every
//! [`SEAL_EVERY`] when the log moved, as soon as asked (after an import), and once more when
//! the service stops. `pilot verify --keys` checks the log against the latest seal, which
//! covers unsigned history (imports, the demo) and reveals a dropped tail.

use pilot_runtime::projection::Projection;
use pilot_store::signing::EventSigner;
use pilot_store::{SealLog, SharedLog};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

/// How often a seal is taken while the log moves.
pub const SEAL_EVERY: Duration = Duration::from_secs(300);

/// Asks the sealer for a seal now (an import just finished); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SealRequests(Arc<Notify>);

impl SealRequests {
    pub fn request(&self) {
        self.0.notify_one();
    }
}

/// Runs until `stop` turns true, then seals once more if the log moved.
#[tracing::instrument(name = "sealer", skip_all)]
pub async fn run(
    log: SharedLog,
    projection: Arc<Projection>,
    signer: Arc<EventSigner>,
    requests: SealRequests,
    mut stop: watch::Receiver<bool>,
) {
    let mut sealed_at_position = None;
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(SEAL_EVERY) => false,
            _ = requests.0.notified() => false,
            _ = stop.wait_for(|stop| *stop) => true,
        };
        let position = projection.position();
        if sealed_at_position != Some(position) {
            let seal = {
                let world = projection.read();
                pilot_store::seals::seal_of(&world, &signer, OffsetDateTime::now_utc())
            };
            match log.record_seal(&seal).await {
                Ok(at) => {
                    sealed_at_position = Some(position);
                    tracing::info!(
                        message = "Sealed the chains' heads.",
                        position,
                        events = seal.events,
                        chains = seal.chains,
                        seal_position = at
                    );
                }
                Err(error) => tracing::warn!(message = "Could not record a seal.", %error),
            }
        }
        if stopping {
            return;
        }
    }
}
