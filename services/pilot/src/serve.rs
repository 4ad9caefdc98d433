//! `pilot serve`: start-up and shutdown, in order.
//!
//! 1. Catch SIGINT and SIGTERM.
//! 2. Without `--nats`, lock the data directory ([`crate::data_dir_lock`]) and start a local
//!    nats-server ([`crate::nats_server`]), restarted with backoff if it dies
//!    ([`crate::nats_supervisor`]).
//! 3. Connect to JetStream (creating or verifying the streams and the key store), open the
//!    projection from the latest checkpoint and spawn the projector. The key store is read
//!    with the service's own login; the eraser's (`[nats.eraser]`, or the local server's) is
//!    kept for the erasure path, which connects with it only to destroy a key.
//! 4. Listen for HTTP at once: `/healthz` answers, `/readyz` and the API answer 503.
//! 5. Wait until the projection has caught up with what the log held; with `--demo`, load
//!    the Nanguo history into an empty log. Then mark ready and print the URL on stdout.
//!    Beside them run the alert feed (the API's view of the alert stream) and the alerter
//!    ([`pilot_alerter`]), as `--only` says; with the alerter, the retention loop
//!    ([`pilot_api::retention`]) when `[[retention]]` rules are configured.
//! 6. On SIGINT or SIGTERM: stop accepting and finish open requests, stop the projector (it
//!    saves a checkpoint), stop the local nats-server; `Ok(())`. If the local nats-server
//!    cannot be kept running, pilot stops the same way and returns [`ServeError::NatsExited`].

use crate::config::{Config, ConfigError, Part};
use crate::config_layers::Environment;
use crate::data_dir_lock::{DataDirLock, LockError};
use crate::http_server;
use crate::nats_binary;
use crate::nats_server::{LocalNats, NatsServerError};
use crate::nats_supervisor::{GaveUp, SupervisedNats};
use crate::signals::Signals;
use crate::token_reload;
use pilot_alerter::{self as alerter, SystemClock};
use pilot_api::api::app;
use pilot_api::demo::{self, LoadError};
use pilot_api::state::{Access, AppState};
use pilot_runtime::projection::Projection;
use pilot_runtime::runtime::{Runtime, RuntimeOptions};
use pilot_store::jetstream::{ConnectError, JetStreamLog};
use pilot_store::layout::Layout;
use pilot_store::subject_keys::{ConnectEraser, Eraser, EraserConnecting, SubjectKeys};
use pilot_store::{AlertLog, EventLog, LogError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long open HTTP requests may take to finish after a stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the projector may take to save its checkpoint after a stop.
const PROJECTOR_STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the catch-up at start-up reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("[nats]: {0}")]
    NatsOptions(String),
    #[error("cannot catch SIGINT and SIGTERM: {0}")]
    Signals(#[source] std::io::Error),
    #[error(transparent)]
    NatsServer(#[from] NatsServerError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("[nats] site: {0}")]
    Site(#[from] pilot_store::sites::SiteServerError),
    #[error("the event log: {0}")]
    Log(#[from] LogError),
    #[error(transparent)]
    SigningKey(#[from] pilot_store::signing::KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("--demo: {0}")]
    Demo(#[from] LoadError),
    #[error("{0}")]
    CheckpointKey(#[from] pilot_runtime::checkpoint::KeyError),
    #[error("the local nats-server exited while pilot was running and could not be restarted ({status}); the end of {log}:\n{tail}")]
    NatsExited {
        status: String,
        log: PathBuf,
        tail: String,
    },
}

impl ServeError {
    /// A usage error (exit status 2), as clap's are: a variable or flag with a bad value, or a
    /// setup the user completes before trying again (no nats-server to start, or
    /// `PILOT_NATS_SERVER` naming none that runs).
    pub fn is_usage(&self) -> bool {
        use std::io::ErrorKind;
        match self {
            ServeError::Config(error) => error.is_usage(),
            ServeError::NatsServer(NatsServerError::NoBinary(_)) => true,
            ServeError::NatsServer(NatsServerError::Spawn { source, .. }) => matches!(
                source.kind(),
                ErrorKind::NotFound | ErrorKind::PermissionDenied
            ),
            _ => false,
        }
    }
}

/// Runs `pilot serve` with `config` (as [`Config::load`] read it from `env` and the rest)
/// until SIGINT or SIGTERM (`Ok`) or a failure.
pub async fn run(config: Config, env: &Environment) -> Result<(), ServeError> {
    for unknown in crate::env_check::unknown(env) {
        tracing::warn!(
            message = "An unknown PILOT_* variable is set; pilot does not read it, so it changes nothing.",
            variable = %unknown.name,
            did_you_mean = unknown.closest.as_deref().unwrap_or("-"),
        );
    }
    if config.tokens.ignores_bootstrap_admin() {
        tracing::warn!(
            message = "PILOT_ADMIN_TOKEN is ignored: tokens are configured.",
            tokens = config.tokens.len()
        );
    }
    if config.tokens.is_empty() && config.runs(Part::Api) {
        tracing::warn!(
            message = "No API tokens are configured: /api/v1 answers 401 to every request that needs one. Set PILOT_ADMIN_TOKEN for a first start, or add tokens with `pilot token new`.",
            anonymous_reads = config.anonymous_reads
        );
    }
    let mut signals = Signals::install().map_err(ServeError::Signals)?;
    // Held until the local server has stopped, below.
    let mut lock = None;
    let (url, mut local) = match &config.nats.url {
        Some(url) => (url.clone(), None),
        None => {
            lock = Some(DataDirLock::acquire(&config.data_dir)?);
            let start = async {
                let binary = nats_binary::find().await.map_err(NatsServerError::from)?;
                LocalNats::start(&binary, &config.data_dir).await
            };
            // Dropping a half-started server kills it.
            let local = tokio::select! {
                started = start => started?,
                name = signals.recv() => {
                    tracing::info!(message = "Stopped before start-up finished.", signal = name);
                    return Ok(());
                }
            };
            let local = SupervisedNats::spawn(local);
            (local.url(), Some(local))
        }
    };
    let result = serve_on(&config, &url, &mut signals, local.as_mut()).await;
    if let Some(local) = local {
        local.stop().await;
    }
    drop(lock);
    result
}

/// Which build this is, for `pilot_build_info` on `/metrics`: `build.rs` records the compiler,
/// a release build passes its commit in `PILOT_GIT_COMMIT`.
fn build_info() -> pilot_metrics::BuildInfo {
    pilot_metrics::BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("PILOT_GIT_COMMIT").map(str::to_string),
        rustc: option_env!("PILOT_RUSTC_VERSION").map(str::to_string),
    }
}

/// Why pilot stops.
enum Stop {
    Signal(&'static str),
    NatsExited(GaveUp),
    Failed(ServeError),
}

async fn serve_on(
    config: &Config,
    url: &str,
    signals: &mut Signals,
    mut local: Option<&mut SupervisedNats>,
) -> Result<(), ServeError> {
    let layout = Layout {
        replicas: config.nats.replicas.unwrap_or(1),
        sites: config.nats.sites.clone(),
        ..Layout::default()
    };
    let login = local.as_deref().map(|l| l.login().clone());
    let log = tokio::select! {
        log = connect(config, url, &layout, login.as_ref()) => log?,
        stop = stopped(signals, local.as_deref_mut()) => return finish(stop),
    };
    if let Some(site) = &config.nats.site {
        pilot_store::sites::check_site_server(log.jetstream(), site).await?;
    }
    tracing::info!(message = "Connected to the event log.", %url);
    let (stop_tx, stop_rx) = watch::channel(false);
    let runtime = Runtime::start(
        &log,
        RuntimeOptions {
            name: config.consumer.clone(),
            book: config.alerts.rules.new_book(),
            checkpoint_key: config.checkpoint_key()?,
            collect_alerts: config.runs(Part::Alerter),
        },
        stop_rx.clone(),
    )
    .await;
    let projection = runtime.projection().clone();

    let signer = pilot_store::signing::EventSigner::load_or_create(&config.signing_key_file)?;
    let keys = SubjectKeys::jetstream(log.jetstream().clone());
    let eraser = eraser(config, url, local.is_some()).await?;
    if eraser.is_none() && config.runs(Part::Api) {
        tracing::warn!(
            message = "No eraser login is configured ([nats.eraser]): this process cannot erase a person's data."
        );
    }
    let state = AppState::new(log.clone(), projection.clone())
        .with_personal_data(keys, eraser)
        .with_signer(Arc::new(signer))
        .with_stall_terms(config.alerts.rules.stall_policy())
        .with_site(config.nats.site.clone())
        .with_cors(config.cors.clone())
        .with_retention(config.retention.clone())
        .with_access(Access {
            tokens: config.tokens.clone(),
            anonymous_reads: config.anonymous_reads,
            max_body_bytes: config.max_body_bytes,
            max_import_bytes: config.max_import_bytes,
        });
    state.metrics.set_build_info(build_info());
    let mut helpers = Vec::new();
    if config.runs(Part::Api) {
        let reload = token_reload::follow(config.tokens.clone(), stop_rx.clone());
        helpers.push(("token reload", tokio::spawn(reload)));
    }
    if let (true, Some(signer)) = (config.runs(Part::Api), state.signer.clone()) {
        let sealer = pilot_api::sealer::run(
            state.log.clone(),
            projection.clone(),
            signer,
            state.seals.clone(),
            stop_rx.clone(),
        );
        helpers.push(("sealer", tokio::spawn(sealer)));
    }
    if config.runs(Part::Alerter) {
        let alerter = alerter::run_supervised(
            Arc::new(log.clone()),
            projection.clone(),
            Arc::new(SystemClock),
            state.metrics.clone(),
            stop_rx.clone(),
        );
        helpers.push(("alerter", tokio::spawn(alerter)));
        if let Some(webhook) = config.alerts.webhook.clone() {
            let (alerts, metrics, stop) = (
                Arc::new(log.clone()),
                state.metrics.clone(),
                stop_rx.clone(),
            );
            let sink = async move {
                if let Err(error) = alerter::webhook::run(alerts, webhook, metrics, stop).await {
                    tracing::error!(message = "The webhook sink stopped.", %error);
                }
            };
            helpers.push(("webhook sink", tokio::spawn(sink)));
        }
        if let Some(email) = config.alerts.email.clone() {
            let (alerts, metrics, stop) = (
                Arc::new(log.clone()),
                state.metrics.clone(),
                stop_rx.clone(),
            );
            let sink = async move {
                if let Err(error) = alerter::email::run(alerts, email, metrics, stop).await {
                    tracing::error!(message = "The e-mail sink stopped.", %error);
                }
            };
            helpers.push(("e-mail sink", tokio::spawn(sink)));
        }
    }
    if config.runs(Part::Alerter) && !config.retention.is_empty() {
        // Erases what the `[[retention]]` rules make due, once the service has caught up.
        let retention = pilot_api::retention::RetentionLoop::new(state.clone());
        helpers.push(("retention", tokio::spawn(retention.run(stop_rx.clone()))));
    }
    {
        let (js, state, stop) = (log.jetstream().clone(), state.clone(), stop_rx.clone());
        let watching = crate::layout_watch::run(js, layout.clone(), state, stop);
        helpers.push(("layout watch", tokio::spawn(watching)));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.listen,
            source,
        });
    let (server, stop) = match listener {
        Err(error) => (None, Stop::Failed(error)),
        Ok(listener) => {
            let addr = listener.local_addr().unwrap_or(config.listen);
            let mut stop = stop_rx.clone();
            let serving = http_server::serve(
                listener,
                router(config, state.clone()),
                config.http,
                async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                },
            );
            let server = tokio::spawn(serving);
            tracing::info!(message = "Listening for HTTP.", %addr);
            let started = tokio::select! {
                started = start(config, &log, &state) => Ok(started),
                stop = stopped(signals, local.as_deref_mut()) => Err(stop),
            };
            let stop = match started {
                Ok(Ok(demo)) => {
                    // Keys of persons the log says are erased go now, if an erasure left one.
                    if let Err(error) = pilot_api::erasure::destroy_erased_keys(&state).await {
                        tracing::error!(message = "Could not destroy the keys of erased persons; they are destroyed at the next start.", %error);
                    }
                    state.set_ready();
                    announce(addr, demo, config.runs(Part::Api));
                    stopped(signals, local).await
                }
                Ok(Err(error)) => Stop::Failed(error),
                Err(stop) => stop,
            };
            (Some(server), stop)
        }
    };

    // Stop serving, then the projector (it saves a checkpoint while NATS is still up).
    // Open event streams end first, or they would hold the graceful shutdown open.
    state.shut_down();
    let _ = stop_tx.send(true);
    if let Some(handle) = server {
        match tokio::time::timeout(DRAIN_TIMEOUT, handle).await {
            Ok(Ok(())) => tracing::info!(message = "Stopped serving HTTP."),
            Ok(Err(error)) => tracing::warn!(message = "HTTP server task failed.", %error),
            Err(_) => tracing::warn!(message = "Open HTTP requests did not finish in time."),
        }
    }
    for (name, helper) in helpers {
        if tokio::time::timeout(PROJECTOR_STOP_TIMEOUT, helper)
            .await
            .is_err()
        {
            tracing::warn!(message = "A task did not stop in time.", task = name);
        }
    }
    runtime.stopped(PROJECTOR_STOP_TIMEOUT).await;
    finish(stop)
}

fn finish(stop: Stop) -> Result<(), ServeError> {
    match stop {
        Stop::Signal(name) => {
            tracing::info!(message = "Stopped.", signal = name);
            Ok(())
        }
        Stop::Failed(error) => Err(error),
        Stop::NatsExited(GaveUp { status, log, tail }) => {
            Err(ServeError::NatsExited { status, log, tail })
        }
    }
}

/// Waits for a signal or, with a local server, for its supervisor to give up on it.
async fn stopped(signals: &mut Signals, local: Option<&mut SupervisedNats>) -> Stop {
    let server_exit = async {
        match local {
            Some(local) => local.gave_up().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        name = signals.recv() => {
            tracing::info!(message = "Stopping.", signal = name);
            Stop::Signal(name)
        }
        gave_up = server_exit => {
            tracing::error!(message = "The local nats-server could not be restarted; stopping.", status = %gave_up.status);
            Stop::NatsExited(gave_up)
        }
    }
}

/// Catches up with the log and, with `--demo`, loads the Nanguo history. True when pilot
/// serves the Nanguo history.
async fn start(config: &Config, log: &JetStreamLog, state: &AppState) -> Result<bool, ServeError> {
    let projection = &state.projection;
    let last = log.last_position().await?;
    tracing::info!(
        message = "Catching up with the event log.",
        from = projection.position(),
        to = last
    );
    while !projection.wait_for(last, PROGRESS_EVERY).await {
        if projection.halted().is_some() {
            // It will not catch up; /readyz says why.
            return Ok(false);
        }
        tracing::info!(
            message = "Still catching up with the event log.",
            position = projection.position(),
            to = last
        );
    }
    tracing::info!(
        message = "Caught up with the event log.",
        position = projection.position()
    );
    let last_alert = log.last_alert_position().await?;
    while !projection.wait_for_alerts(last_alert, PROGRESS_EVERY).await {
        tracing::info!(
            message = "Still reading the alert stream.",
            position = projection.alert_position(),
            to = last_alert
        );
    }
    if !config.demo {
        return Ok(false);
    }
    let loaded = load_demo(log, projection, state.subject_keys.as_ref()).await?;
    // The demo history is imported, unsigned: a seal covers it.
    state.seals.request();
    Ok(loaded)
}

/// Loads the Nanguo history (compiled in) into an empty log, or finishes a load that was
/// interrupted. A log that holds other events is left alone (false).
/// Persons' plain personal fields are sealed as they load, with `keys`.
async fn load_demo(
    log: &JetStreamLog,
    projection: &Projection,
    keys: Option<&SubjectKeys>,
) -> Result<bool, ServeError> {
    let history = demo::NANGUO;
    let empty = log.last_position().await? == 0;
    let started = demo::first_event(history)
        .is_some_and(|first| projection.read().position_of(&first).is_some());
    if !empty && !started {
        tracing::warn!(
            message = "The event log holds other events; --demo loads the Nanguo history only into an empty log."
        );
        return Ok(false);
    }
    let loaded = demo::load_history_with(log, projection, history, keys).await?;
    tracing::info!(
        message = "Loaded the Nanguo history.",
        appended = loaded.appended,
        already_stored = loaded.skipped
    );
    Ok(true)
}

/// The one line pilot prints on stdout, once it is ready.
fn announce(addr: SocketAddr, demo: bool, api: bool) {
    let what = if demo { " the Nanguo history" } else { "" };
    let path = if api { "api/v1/pilots" } else { "readyz" };
    // The only stdout output: scripts and tests wait for this line to know pilot is ready.
    #[allow(clippy::print_stdout)]
    {
        println!("pilot is serving{what} at http://{addr}/{path}");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// The HTTP routes this process serves: everything (the API, and the web app at `/`), or with
/// `--only projector` the health, readiness and metrics endpoints alone.
fn router(config: &Config, state: AppState) -> axum::Router {
    if config.runs(Part::Api) {
        let web = pilot_web::WebOptions {
            secure_cookies: config.secure_cookies,
        };
        app(state.clone()).merge(pilot_web::router(state, web))
    } else {
        pilot_api::api::operations(state)
    }
}

/// Sends each response as soon as it is written: without `TCP_NODELAY` a small response can
/// wait for the client's delayed acknowledgement of the previous one (Nagle's algorithm).
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    listener.tap_io(set_no_delay)
}

fn set_no_delay(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(message = "Cannot set TCP_NODELAY on a connection.", %error);
    }
}

/// Connects to NATS with the `[nats]` settings (auth, TLS), or to the local server with its
/// operator login.
async fn connect(
    config: &Config,
    url: &str,
    layout: &Layout,
    local: Option<&crate::nats_auth::Login>,
) -> Result<JetStreamLog, ServeError> {
    let (options, user) = if let Some(login) = local {
        let options = async_nats::ConnectOptions::with_user_and_password(
            login.user.clone(),
            login.password.clone(),
        );
        (options, Some(login.user.as_str()))
    } else {
        let options = pilot_nats::connect_options(&config.nats)
            .await
            .map_err(ServeError::NatsOptions)?;
        (options, config.nats.user.as_deref())
    };
    let client = private_inbox(options, user)
        .name("pilot")
        .connect(server_addrs(url)?)
        .await
        .map_err(|error| ConnectError::Connect {
            url: url.to_string(),
            message: error.to_string(),
        })?;
    Ok(JetStreamLog::with_client(client, layout).await?)
}

/// Replies on the login's private inbox ([`crate::nats_auth::inbox_prefix`]) when it is one
/// of pilot's own users, whose permissions allow it: key reads must not be answered on
/// `_INBOX.>`, which every role may subscribe to. Another login keeps the default inbox.
fn private_inbox(
    options: async_nats::ConnectOptions,
    user: Option<&str>,
) -> async_nats::ConnectOptions {
    match user.filter(|user| crate::nats_auth::Role::of_user(user).is_some()) {
        Some(user) => options.custom_inbox_prefix(crate::nats_auth::inbox_prefix(user)),
        None => options,
    }
}

/// The eraser of the key store on NATS: with the local server, its eraser login; otherwise
/// `[nats.eraser]`'s, checked now and used only when a key is destroyed. `None` without one.
async fn eraser(config: &Config, url: &str, local: bool) -> Result<Option<Eraser>, ServeError> {
    use crate::nats_auth::{Credentials, Role};
    let local_login = if local {
        let credentials =
            Credentials::load_or_create(&config.data_dir).map_err(NatsServerError::from)?;
        credentials.login(Role::Eraser).cloned()
    } else {
        match pilot_nats::eraser_options(&config.nats).await {
            // A server that takes no logins has no rights to keep apart: the erasure path
            // connects as the service does (docs/personal-data.md, "Credentials").
            None if !has_login(&config.nats) => {}
            None => return Ok(None),
            Some(checked) => {
                checked.map_err(ServeError::NatsOptions)?;
            }
        }
        None
    };
    if local && local_login.is_none() {
        return Ok(None);
    }
    let (nats, url) = (config.nats.clone(), url.to_string());
    let connect: ConnectEraser = Arc::new(move || -> EraserConnecting {
        let (nats, url, local_login) = (nats.clone(), url.clone(), local_login.clone());
        Box::pin(async move {
            let (options, user) = match local_login {
                Some(login) => (
                    async_nats::ConnectOptions::with_user_and_password(
                        login.user.clone(),
                        login.password,
                    ),
                    Some(login.user),
                ),
                None => {
                    let user = nats.eraser.as_ref().map(|e| {
                        e.user
                            .clone()
                            .unwrap_or_else(|| pilot_nats::DEFAULT_ERASER_USER.to_string())
                    });
                    let options = match pilot_nats::eraser_options(&nats).await {
                        Some(options) => options?,
                        None => pilot_nats::connect_options(&nats).await?,
                    };
                    (options, user)
                }
            };
            let addrs = pilot_nats::server_addrs(&url)?;
            private_inbox(options, user.as_deref())
                .name("pilot-eraser")
                .connect(addrs)
                .await
                .map_err(|error| error.to_string())
        })
    });
    Ok(Some(Eraser::jetstream(connect)))
}

/// Whether `[nats]` logs in at all (a user, a token, an nkey or a creds file).
fn has_login(nats: &pilot_nats::NatsConfig) -> bool {
    nats.user.is_some()
        || nats.token.is_some()
        || nats.nkey_seed_file.is_some()
        || nats.creds_file.is_some()
}

/// The servers of `--nats` ([`pilot_nats::server_addrs`]).
fn server_addrs(urls: &str) -> Result<Vec<async_nats::ServerAddr>, ServeError> {
    pilot_nats::server_addrs(urls).map_err(ServeError::NatsOptions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_is_a_comma_separated_list() {
        let addrs = server_addrs("nats://n1:4222, nats://n2:4222,nats://n3:4222").unwrap();
        assert_eq!(addrs.len(), 3);
        let error = server_addrs("nats://n1:4222,http://[bad").unwrap_err();
        assert!(error.to_string().contains("http://[bad"), "{error}");
    }
}
