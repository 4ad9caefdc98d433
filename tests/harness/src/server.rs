//! One nats-server process with its own port and temporary store directory.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{io_err, nats_server_binary, nats_server_version, tail, HarnessError, Result};

pub(crate) const POLL: Duration = Duration::from_millis(20);
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts when a freshly picked port turns out to be taken before the server binds it.
pub(crate) const PORT_ATTEMPTS: usize = 3;

/// How to start a [`NatsServer`] (or every node of a [`crate::NatsCluster`]).
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Extra nats-server configuration, written to a file passed with `-c`, e.g.
    /// `"jetstream { sync_interval: always, max_file_store: 1GB }"`. Command-line flags set by
    /// the harness (`-js -a -p -sd --server_name`) win over the same settings here, except
    /// `jetstream { store_dir }`, which nats-server refuses next to `-sd`: leave it out.
    pub config: Option<String>,
    /// Run this binary instead of [`crate::nats_server_binary`].
    pub binary: Option<PathBuf>,
}

impl ServerOptions {
    /// Sets [`ServerOptions::config`].
    pub fn config(mut self, text: impl Into<String>) -> Self {
        self.config = Some(text.into());
        self
    }

    /// Sets [`ServerOptions::binary`].
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    pub(crate) fn resolve_binary(&self) -> Result<PathBuf> {
        match &self.binary {
            Some(path) => Ok(path.clone()),
            None => nats_server_binary(),
        }
    }
}

/// A running (or stopped) nats-server with JetStream, listening on `127.0.0.1:port`.
///
/// Files live in a temporary directory: `store/` (the JetStream store), `nats-server.log`
/// (stdout and stderr of every run, appended) and `nats-server.conf` when there is a config.
/// Dropping the value kills the process and deletes the directory.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    name: String,
    store: PathBuf,
    log_path: PathBuf,
    config_path: Option<PathBuf>,
    child: Option<Child>,
    /// Last field: removed after `Drop::drop` has killed the process.
    dir: TempDir,
}

impl NatsServer {
    /// Starts a server with default options and waits until it accepts clients.
    pub fn start() -> Result<Self> {
        Self::start_with(ServerOptions::default())
    }

    /// Starts a server with `options` and waits (up to 10 s) until it accepts clients with
    /// JetStream enabled. The error carries the tail of the server log.
    pub fn start_with(options: ServerOptions) -> Result<Self> {
        let binary = options.resolve_binary()?;
        Self::start_on_ports(binary, 0, |_| options.config.clone()).map(|(server, _)| server)
    }

    /// Starts a server on a free client port and `extra` more free ports, passed to `config`
    /// (e.g. a leafnode port) to write its configuration and returned with the server; tries
    /// again with other ports when one was taken before the server bound it.
    pub(crate) fn start_on_ports(
        binary: PathBuf,
        extra: usize,
        config: impl Fn(&[u16]) -> Option<String>,
    ) -> Result<(Self, Vec<u16>)> {
        let mut attempt = 1;
        loop {
            let ports = free_ports(1 + extra)?;
            let port = ports[0];
            let mut server = Self::prepare(binary.clone(), port, format!("pilot-{port}"))?;
            if let Some(text) = config(&ports[1..]) {
                server.write_config(&text)?;
            }
            server.launch()?;
            match server.wait_ready(READY_TIMEOUT) {
                Err(e) if attempt < PORT_ATTEMPTS && e.is_port_clash() => attempt += 1,
                other => return other.map(|()| (server, ports[1..].to_vec())),
            }
        }
    }

    /// Creates the temporary directory; no process yet.
    pub(crate) fn prepare(binary: PathBuf, port: u16, name: String) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("pilot-nats-")
            .tempdir()
            .map_err(io_err("create a temporary directory"))?;
        let store = dir.path().join("store");
        fs::create_dir(&store).map_err(io_err(format!("create {}", store.display())))?;
        Ok(Self {
            binary,
            port,
            name,
            store,
            log_path: dir.path().join("nats-server.log"),
            config_path: None,
            child: None,
            dir,
        })
    }

    pub(crate) fn write_config(&mut self, text: &str) -> Result<()> {
        let path = self.dir.path().join("nats-server.conf");
        fs::write(&path, text).map_err(io_err(format!("write {}", path.display())))?;
        self.config_path = Some(path);
        Ok(())
    }

    /// Spawns the process (does not wait for readiness).
    pub(crate) fn launch(&mut self) -> Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_err(format!("open {}", self.log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(io_err(format!("open {}", self.log_path.display())))?;
        let mut cmd = Command::new(&self.binary);
        cmd.args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(&self.store)
            .arg("--server_name")
            .arg(&self.name);
        if let Some(config) = &self.config_path {
            cmd.arg("-c").arg(config);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                binary: self.binary.clone(),
                source,
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// Polls every 20 ms until the port answers with an `INFO` line announcing JetStream.
    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_alive()?;
            if accepts_clients(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::NotReady {
                    port: self.port,
                    waited: timeout,
                    log_tail: self.log_tail(),
                });
            }
            sleep(POLL);
        }
    }

    /// `Exited` (with the log tail) if the process has died, `NotRunning` if it was stopped.
    pub(crate) fn check_alive(&mut self) -> Result<()> {
        let Some(child) = self.child.as_mut() else {
            return Err(HarnessError::NotRunning { port: self.port });
        };
        match child.try_wait().map_err(io_err("wait for nats-server"))? {
            None => Ok(()),
            Some(status) => {
                self.child = None;
                Err(HarnessError::Exited {
                    port: self.port,
                    status: status.to_string(),
                    log_tail: self.log_tail(),
                })
            }
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server process's id while it runs (benches read its CPU time from `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `server_name` (`pilot-PORT`, or `n1`, `n2`, ... in a cluster).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JetStream store directory (nats-server keeps its data in `jetstream/` below it).
    pub fn store_dir(&self) -> &Path {
        &self.store
    }

    /// The binary this server runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Everything the server printed so far, over all its runs (empty if unreadable).
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    pub(crate) fn log_tail(&self) -> String {
        tail(&self.log(), 40)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// The version of the binary, e.g. `"2.15.1"`.
    pub fn version(&self) -> Result<String> {
        nats_server_version(&self.binary)
    }

    /// Kills the process with SIGKILL and reaps it. No-op if it is not running.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGSTOP: the process hangs with its sockets open and answers nothing, as a node
    /// does that is stuck on a disk or swapped out. [`NatsServer::resume`] sends SIGCONT.
    /// No-op if not running.
    pub fn pause(&mut self) {
        self.signal("-STOP");
    }

    /// Sends SIGCONT to a paused server. No-op if not running.
    pub fn resume(&mut self) {
        self.signal("-CONT");
    }

    fn signal(&mut self, which: &str) {
        if let Some(child) = &self.child {
            // The child is not reaped yet, so its pid cannot have been reused.
            let _ = Command::new("kill")
                .args([which, &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Sends SIGTERM, waits up to 5 s for a clean exit, then SIGKILL. No-op if not running.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The child is not reaped yet, so its pid cannot have been reused.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => sleep(POLL),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again on the same port with the same store and config, and waits up
    /// to 10 s until it accepts clients. A still-running process is first stopped (SIGTERM).
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.mark_log("restart");
        self.launch()?;
        self.wait_ready(READY_TIMEOUT)
    }

    fn mark_log(&self, what: &str) {
        if let Ok(mut log) = OpenOptions::new().append(true).open(&self.log_path) {
            let _ = writeln!(log, "--- pilot-nats-harness: {what} ---");
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl HarnessError {
    /// The server died because a port we picked was taken in the meantime.
    pub(crate) fn is_port_clash(&self) -> bool {
        matches!(self, HarnessError::Exited { log_tail, .. } if log_tail.contains("address already in use"))
    }
}

/// `n` distinct free loopback ports (all bound at once, then released).
pub(crate) fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err("bind a free loopback port"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err("read a bound port"))
}

/// True once the port greets a new connection with `INFO {...}` that has JetStream on.
fn accepts_clients(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(250)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .is_err()
    {
        return false;
    }
    let mut line = String::new();
    match BufReader::new(stream).read_line(&mut line) {
        Ok(_) => line.starts_with("INFO ") && line.contains("\"jetstream\":true"),
        Err(_) => false,
    }
}
