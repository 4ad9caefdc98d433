//! Keeps the local nats-server ([`crate::nats_server`]) running while pilot serves.
//!
//! Without its server pilot has no system of record, but a server that dies (killed by the
//! OOM killer, a crash) is no reason to stop serving: its store is on disk and JetStream
//! recovers it. So the supervisor starts it again, on the same port, store and log: the NATS
//! client reconnects by itself to the URL it knows, and the projector, the alert feed and the
//! alerter resume where they were (each retries on its own). Writes answer 503 meanwhile.
//!
//! Restarts back off (from [`FIRST_BACKOFF`], doubling to [`MAX_BACKOFF`]), so a server that
//! cannot start does not spin. After [`MAX_ATTEMPTS`] restarts in a row that did not stay up
//! for [`STABLE_AFTER`], the supervisor gives up and pilot stops with the end of the server's
//! log ([`SupervisedNats::gave_up`]).

use crate::nats_server::LocalNats;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The wait before the first restart.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two restarts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A server that ran this long counts as healthy again: the next restart starts over.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
/// Restarts in a row (failed starts, or servers that died within [`STABLE_AFTER`]) before
/// the supervisor gives up: about a minute of trying with the backoff above.
pub const MAX_ATTEMPTS: u32 = 8;

/// Why the supervisor gave up: the last exit, and the end of the server's log.
#[derive(Debug, Clone)]
pub struct GaveUp {
    pub status: String,
    pub log: PathBuf,
    pub tail: String,
}

/// A local nats-server that is restarted when it dies.
#[derive(Debug)]
pub struct SupervisedNats {
    url: String,
    /// The operator's login: the same across restarts (the server's configuration is).
    login: crate::nats_auth::Login,
    stop: Option<oneshot::Sender<()>>,
    gave_up: oneshot::Receiver<GaveUp>,
    task: JoinHandle<()>,
}

impl SupervisedNats {
    /// Watches `server` from now on.
    pub fn spawn(server: LocalNats) -> Self {
        let url = server.url();
        let login = server.login().clone();
        let (stop_tx, stop_rx) = oneshot::channel();
        let (gave_up_tx, gave_up_rx) = oneshot::channel();
        let task = tokio::spawn(supervise(server, stop_rx, gave_up_tx));
        SupervisedNats {
            url,
            login,
            stop: Some(stop_tx),
            gave_up: gave_up_rx,
            task,
        }
    }

    /// `nats://127.0.0.1:PORT`: the same across restarts.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// How pilot logs in to it: as the operator.
    pub fn login(&self) -> &crate::nats_auth::Login {
        &self.login
    }

    /// Resolves once the supervisor has given up on the server; never while it keeps it
    /// running. Cancel-safe.
    pub async fn gave_up(&mut self) -> GaveUp {
        match (&mut self.gave_up).await {
            Ok(gave_up) => gave_up,
            Err(_) => std::future::pending().await,
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL) and the supervisor.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(error) = self.task.await {
            tracing::warn!(message = "The nats-server supervisor failed.", %error);
        }
    }
}

/// What ended a wait in [`supervise`].
enum Woke<T> {
    Done(T),
    Stop,
}

async fn supervise(
    mut server: LocalNats,
    mut stop: oneshot::Receiver<()>,
    gave_up: oneshot::Sender<GaveUp>,
) {
    let mut up_since = Instant::now();
    let mut attempts = 0;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let exited = tokio::select! {
            status = server.exited() => Woke::Done(status),
            _ = &mut stop => Woke::Stop,
        };
        let status = match exited {
            Woke::Stop => return server.stop().await,
            Woke::Done(status) => status.map_or_else(|e| e.to_string(), |s| s.to_string()),
        };
        if up_since.elapsed() >= STABLE_AFTER {
            attempts = 0;
            backoff = FIRST_BACKOFF;
        }
        tracing::error!(
            message = "The local nats-server exited; restarting it.",
            %status,
            up_s = up_since.elapsed().as_secs(),
            restart_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
            log = %server.log_path().display(),
        );
        let mut last = status;
        loop {
            attempts += 1;
            if attempts > MAX_ATTEMPTS {
                tracing::error!(
                    message = "The local nats-server could not be kept running; giving up.",
                    attempts = MAX_ATTEMPTS,
                    status = %last
                );
                let _ = gave_up.send(GaveUp {
                    status: last,
                    log: server.log_path().to_path_buf(),
                    tail: server.log_tail(),
                });
                return;
            }
            let slept = tokio::select! {
                _ = tokio::time::sleep(backoff) => Woke::Done(()),
                _ = &mut stop => Woke::Stop,
            };
            if let Woke::Stop = slept {
                return;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            let restarted = tokio::select! {
                restarted = server.restart() => Woke::Done(restarted),
                _ = &mut stop => Woke::Stop,
            };
            match restarted {
                Woke::Stop => return server.stop().await,
                Woke::Done(Ok(())) => {
                    tracing::info!(
                        message = "Restarted the local nats-server.",
                        url = %server.url(),
                        pid = server.pid(),
                        attempt = attempts
                    );
                    up_since = Instant::now();
                    break;
                }
                Woke::Done(Err(error)) => {
                    tracing::warn!(
                        message = "Could not restart the local nats-server; trying again.",
                        %error,
                        retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX)
                    );
                    last = error.to_string();
                }
            }
        }
    }
}
