//! Watches the streams' configuration while the service runs.
//!
//! The start-up check ([`pilot_store::layout`]) refuses a stream whose configuration differs
//! from pilot-tracker's, but a change made later (`nats stream edit PILOT_EVENTS
//! --max-msgs 10 --discard old`, a deleted stream) would otherwise go unnoticed while the
//! stream drops history behind the service's back. So every [`WATCH_EVERY`] the same check
//! runs again; a difference stops every write for good and makes `/readyz` answer 503 naming
//! the stream and the key ([`AppState::halt`]). Only a restart, which checks again, lifts it:
//! whatever the change let the server drop is not brought back by undoing it.

use async_nats::jetstream::Context;
use pilot_api::state::AppState;
use pilot_store::layout::{Layout, LayoutError};
use std::time::Duration;
use tokio::sync::watch;

/// How often the streams' configuration is read back.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Checks the layout every [`WATCH_EVERY`] until `stop` turns true or a change is found.
#[tracing::instrument(name = "layout_watch", skip_all)]
pub async fn run(js: Context, layout: Layout, state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(WATCH_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        match layout.verify(&js).await {
            Ok(()) => {}
            // NATS being away is `/readyz`'s connection check; try again next time.
            Err(LayoutError::Unavailable { stream, message }) => {
                tracing::debug!(message = "Could not read a stream's configuration.", %stream, reason = %message);
            }
            Err(error) => {
                let reason = format!("writes are stopped until pilot is restarted: {error}");
                tracing::error!(message = "A stream changed while pilot was running; writes are stopped.", %error);
                state.halt(reason);
                return;
            }
        }
    }
}
