//! Picks up changes to the tokens file while pilot serves: a token added with
//! `pilot token new` works, and one revoked with `pilot token revoke` is refused, within
//! [`RELOAD_EVERY`] and without a restart.
//!
//! Polling rather than file notifications: one small read a second costs nothing, works on
//! every filesystem (network mounts, container volumes, editors that replace the file), and
//! compares contents, so a change within one mtime tick is not missed.

use pilot_api::auth::Tokens;
use std::time::Duration;
use tokio::sync::watch;

/// How often the tokens file is read again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Reloads `tokens` (shared with the API's [`pilot_api::state::Access`]) every [`RELOAD_EVERY`]
/// until `stop` turns true. A file that cannot be used is logged once per change; the tokens
/// loaded before keep counting until it is fixed.
pub async fn follow(tokens: Tokens, mut stop: watch::Receiver<bool>) {
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        match tokens.reload() {
            Ok(true) => {
                last_error = None;
                tracing::info!(message = "Reloaded the API tokens.", tokens = tokens.len());
            }
            Ok(false) => {}
            Err(error) => {
                let text = error.to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    tracing::warn!(
                        message = "The tokens file cannot be used; the tokens loaded before still count.",
                        %error
                    );
                    last_error = Some(text);
                }
            }
        }
    }
}
