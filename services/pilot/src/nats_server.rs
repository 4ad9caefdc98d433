//! A local nats-server that pilot starts, watches and stops itself when no `--nats` URL is
//! given: `nats-server -js -a 127.0.0.1 -p <free port> -sd <data-dir>/nats -c
//! <data-dir>/nats-server.conf`.
//!
//! The server requires a login: a local process that reaches the port without the
//! credentials in `<data-dir>/nats-credentials.toml` is refused ([`crate::nats_auth`]).
//! pilot itself logs in as the operator, which creates the streams.
//!
//! The server runs in its own process group, so a Ctrl-C in the terminal reaches pilot only:
//! pilot first stops its projector (which saves a checkpoint in the server) and only then
//! stops the server with SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]. Its output is appended
//! to `<data-dir>/nats-server.log` and its pid written to `<data-dir>/nats-server.pid`.
//!
//! nats-server does not lock its store directory, and two servers on one store would damage
//! it. If pilot itself is killed with SIGKILL, its server is left running; so before starting
//! a server, pilot checks the pid file and refuses to start while the process it names still
//! runs on the same store ([`NatsServerError::AlreadyRunning`]).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

use crate::nats_auth::{Credentials, Login, NatsAuthError, Role};
use crate::nats_binary::{install_help, NoBinary};

/// How long the server may take to accept clients with JetStream enabled.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stopping server may take after SIGTERM before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts when a free port is taken by someone else before the server binds it.
const PORT_ATTEMPTS: usize = 3;
const POLL: Duration = Duration::from_millis(25);

#[derive(Debug, thiserror::Error)]
pub enum NatsServerError {
    #[error(transparent)]
    NoBinary(#[from] NoBinary),
    #[error("cannot run {binary}: {source}\n{}", install_help())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "a nats-server (pid {pid}) is already running on {store}, perhaps left behind by a pilot \
         that was killed; stop it (kill {pid}) or give pilot another --data-dir"
    )]
    AlreadyRunning { pid: u32, store: PathBuf },
    #[error("the local nats-server's credentials: {0}")]
    Credentials(#[from] NatsAuthError),
    #[error("nats-server exited before it was ready ({status}); the end of {log}:\n{tail}")]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("nats-server did not accept clients within {waited:?}; the end of {log}:\n{tail}")]
    NotReady {
        waited: Duration,
        log: PathBuf,
        tail: String,
    },
}

fn io_error(action: impl Into<String>) -> impl FnOnce(io::Error) -> NatsServerError {
    let action = action.into();
    move |source| NatsServerError::Io { action, source }
}

/// A running nats-server that pilot started.
#[derive(Debug)]
pub struct LocalNats {
    child: Child,
    port: u16,
    log: PathBuf,
    /// Where this run's output starts in the (appended) log file.
    log_start: u64,
    /// What it was started with, to start it again the same way.
    binary: PathBuf,
    store: PathBuf,
    pid_file: PathBuf,
    config: PathBuf,
    /// How pilot logs in: as the operator.
    login: Login,
}

impl LocalNats {
    /// Starts `binary` with JetStream on a free loopback port, its store in `<data_dir>/nats`,
    /// its logins from `<data_dir>/nats-credentials.toml` (generated on the first start) and
    /// its output appended to `<data_dir>/nats-server.log`, and waits until it accepts
    /// clients with JetStream enabled.
    pub async fn start(binary: &Path, data_dir: &Path) -> Result<Self, NatsServerError> {
        let store = data_dir.join("nats");
        std::fs::create_dir_all(&store).map_err(io_error(format!("create {}", store.display())))?;
        // One spelling of the path, whatever the command line said, for the running check.
        let data_dir = &std::fs::canonicalize(data_dir)
            .map_err(io_error(format!("resolve {}", data_dir.display())))?;
        let store = data_dir.join("nats");
        let pid_file = data_dir.join("nats-server.pid");
        check_not_running(&store, &pid_file)?;
        let credentials = Credentials::load_or_create(data_dir)?;
        let config = credentials.write_server_config(data_dir)?;
        let login = credentials.login(Role::Operator).cloned().ok_or_else(|| {
            NatsAuthError::MissingRole {
                path: data_dir.join(crate::nats_auth::CREDENTIALS_FILE),
                role: Role::Operator.name(),
            }
        })?;
        let mut attempt = 1;
        loop {
            let log = data_dir.join("nats-server.log");
            let paths = Paths {
                store: &store,
                pid_file: &pid_file,
                config: &config,
            };
            let mut server = Self::spawn(binary, paths, log, login.clone(), free_port()?)?;
            match server.wait_ready(READY_TIMEOUT).await {
                Ok(()) => {
                    tracing::info!(message = "Started a local nats-server.", url = %server.url(), pid = server.pid(), store = %store.display());
                    return Ok(server);
                }
                Err(NatsServerError::Exited { ref tail, .. })
                    if attempt < PORT_ATTEMPTS && tail.contains("address already in use") =>
                {
                    attempt += 1;
                }
                Err(error) => {
                    server.stop().await;
                    return Err(error);
                }
            }
        }
    }

    /// Starts the server again after it exited, on the same port, store and log, so that
    /// clients reconnect to the URL they know ([`crate::nats_supervisor`] calls it).
    pub async fn restart(&mut self) -> Result<(), NatsServerError> {
        let log = self.log.clone();
        let paths = Paths {
            store: &self.store,
            pid_file: &self.pid_file,
            config: &self.config,
        };
        *self = Self::spawn(&self.binary, paths, log, self.login.clone(), self.port)?;
        let ready = self.wait_ready(READY_TIMEOUT).await;
        if ready.is_err() {
            let _ = self.child.kill().await;
        }
        ready
    }

    fn spawn(
        binary: &Path,
        paths: Paths<'_>,
        log: PathBuf,
        login: Login,
        port: u16,
    ) -> Result<Self, NatsServerError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_error(format!("open {}", log.display())))?;
        let log_start = file.metadata().map(|m| m.len()).unwrap_or(0);
        let file_err = file
            .try_clone()
            .map_err(io_error(format!("open {}", log.display())))?;
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .arg("-sd")
            .arg(paths.store)
            .arg("-P")
            .arg(paths.pid_file)
            .arg("-c")
            .arg(paths.config)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(file_err)
            // Its own process group: a terminal's Ctrl-C must not stop the server before
            // pilot has saved its checkpoint into it.
            .process_group(0)
            // A safety net if pilot unwinds without calling `stop`.
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| NatsServerError::Spawn {
                binary: binary.to_path_buf(),
                source,
            })?;
        Ok(LocalNats {
            child,
            port,
            log,
            log_start,
            binary: binary.to_path_buf(),
            store: paths.store.to_path_buf(),
            pid_file: paths.pid_file.to_path_buf(),
            config: paths.config.to_path_buf(),
            login,
        })
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), NatsServerError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(io_error("wait for nats-server"))?
            {
                return Err(NatsServerError::Exited {
                    status: status.to_string(),
                    log: self.log.clone(),
                    tail: self.log_tail(),
                });
            }
            if accepts_clients(self.port).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(NatsServerError::NotReady {
                    waited: timeout,
                    log: self.log.clone(),
                    tail: self.log_tail(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The operator's login, with which pilot connects to this server.
    pub fn login(&self) -> &Login {
        &self.login
    }

    /// The process id, while the process runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The file the server's output is appended to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last lines this run of the server wrote to its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log)
            .map(|bytes| {
                let start = usize::try_from(self.log_start)
                    .unwrap_or(0)
                    .min(bytes.len());
                String::from_utf8_lossy(&bytes[start..]).into_owned()
            })
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits until the server exits by itself (cancel-safe): pilot watches this while it
    /// serves, since without its server it has no system of record.
    pub async fn exited(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Stops the server: SIGTERM, then SIGKILL if it has not exited after [`STOP_TIMEOUT`].
    pub async fn stop(mut self) {
        // `id` is `None` once the child has been reaped; until then its pid cannot be reused.
        let Some(pid) = self.child.id() else {
            return;
        };
        if let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            if let Err(error) = rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
                tracing::warn!(message = "Could not send SIGTERM to nats-server.", %error);
            }
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) => {
                tracing::info!(message = "Stopped the local nats-server.", %status);
            }
            Ok(Err(error)) => {
                tracing::warn!(message = "Could not wait for nats-server.", %error);
            }
            Err(_) => {
                tracing::warn!(
                    message = "nats-server did not stop after SIGTERM; killing it.",
                    waited_s = STOP_TIMEOUT.as_secs()
                );
                if let Err(error) = self.child.kill().await {
                    tracing::warn!(message = "Could not kill nats-server.", %error);
                }
            }
        }
    }
}

/// The files one server run uses.
#[derive(Clone, Copy)]
struct Paths<'a> {
    store: &'a Path,
    pid_file: &'a Path,
    config: &'a Path,
}

/// Refuses to start a second server on `store` while the one named in `pid_file` runs on it.
/// The process is recognised by its command line (`/proc/<pid>/cmdline` naming the store), so
/// a stale pid file, or a pid reused by another program, does not block a start.
fn check_not_running(store: &Path, pid_file: &Path) -> Result<(), NatsServerError> {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return Ok(());
    };
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return Ok(());
    };
    let store_arg = store.as_os_str().as_encoded_bytes();
    if cmdline.split(|b| *b == 0).any(|arg| arg == store_arg) {
        return Err(NatsServerError::AlreadyRunning {
            pid,
            store: store.to_path_buf(),
        });
    }
    Ok(())
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16, NatsServerError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(io_error("bind a free loopback port"))
}

/// True once the port greets a client with an `INFO` line that has JetStream on.
async fn accepts_clients(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(Ok(stream)) = tokio::time::timeout(
        Duration::from_millis(250),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    else {
        return false;
    };
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(stream);
    match tokio::time::timeout(Duration::from_millis(500), reader.read_line(&mut line)).await {
        Ok(Ok(_)) => line.starts_with("INFO ") && line.contains("\"jetstream\":true"),
        _ => false,
    }
}
