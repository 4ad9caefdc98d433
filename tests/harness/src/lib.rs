//! Runs real `nats-server` processes with JetStream for integration tests.
//!
//! - [`NatsServer`]: one server on a free loopback port with its own temporary store directory.
//!   It can be killed with SIGKILL ([`NatsServer::kill9`]), stopped with SIGTERM
//!   ([`NatsServer::stop`]) and restarted on the same port and store ([`NatsServer::restart`]).
//! - [`NatsCluster`]: N servers (`n1`, `n2`, ...) routed into the cluster `pilot`, returned
//!   only once every node sees routes to all the others and reports healthy.
//! - [`LeafHub`] and [`start_site`]: a hub with a JetStream domain and a leafnode port, and
//!   office sites connected to it as leaf nodes with their own domains (docs/sites.md).
//!
//! The binary comes from `PILOT_NATS_SERVER` if set, else from
//! `scripts/install-nats-server.sh` (run once per process); see [`nats_server_binary`].
//! Process management is synchronous: the calls block for at most their documented bounds,
//! which is fine inside `#[tokio::test]`. Dropping a server kills it and deletes its files.

mod cluster;
mod leaf;
mod server;

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub use cluster::NatsCluster;
pub use leaf::{start_site, LeafHub};
pub use server::{NatsServer, ServerOptions};

/// Everything that can go wrong while finding, starting or waiting for a server.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Neither `PILOT_NATS_SERVER` nor the install script produced a binary.
    #[error(
        "no nats-server binary: {reason}\n  fix: run `scripts/install-nats-server.sh` in the \
         workspace root (the first run needs python3 with pip and network access), or set \
         PILOT_NATS_SERVER=/path/to/nats-server (version >= 2.12.1)"
    )]
    BinaryNotFound { reason: String },
    /// The binary could not be executed at all.
    #[error(
        "cannot run {binary}: {source} (set PILOT_NATS_SERVER or run scripts/install-nats-server.sh)"
    )]
    Spawn {
        binary: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file-system or socket operation of the harness itself failed.
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    /// The server process exited while we waited for it to become ready.
    #[error("nats-server on port {port} exited before it was ready ({status})\n--- log tail ---\n{log_tail}")]
    Exited {
        port: u16,
        status: String,
        log_tail: String,
    },
    /// The server kept running but did not accept clients in time.
    #[error(
        "nats-server on port {port} was not ready after {waited:?}\n--- log tail ---\n{log_tail}"
    )]
    NotReady {
        port: u16,
        waited: Duration,
        log_tail: String,
    },
    /// A cluster operation was asked for while the process was not running.
    #[error("nats-server on port {port} is not running")]
    NotRunning { port: u16 },
    /// `--version` printed nothing that looks like a version.
    #[error("could not read a version from `{binary} --version`; it printed {output:?}")]
    Version { binary: PathBuf, output: String },
    /// The cluster did not form (routes or health) within the bound.
    #[error("cluster did not form within {waited:?}: {detail}")]
    ClusterNotFormed { waited: Duration, detail: String },
    /// A node index past the end of the cluster.
    #[error("no node {index}: the cluster has {len} nodes (indices start at 0)")]
    NoSuchNode { index: usize, len: usize },
    /// `NatsCluster::start(0)`.
    #[error("a cluster needs at least one node")]
    EmptyCluster,
}

/// Shorthand for results of this crate.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

pub(crate) fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
    let action = action.into();
    move |source| HarnessError::Io { action, source }
}

/// CPU seconds (user + system) process `pid` has used, `"self"` for this one, from
/// `/proc/<pid>/stat` (10 ms ticks); 0 where `/proc` does not say. For benches that report
/// where the CPU went, the nats-server's ([`NatsServer::pid`]) beside their own.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks / 100.0
}

/// The resident set size (VmRSS) of process `pid`, `"self"` for this one, in bytes, from
/// `/proc/<pid>/status`; 0 where `/proc` does not say. For benches that report memory.
pub fn resident_bytes(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// The workspace root (`CARGO_MANIFEST_DIR/../..`).
pub fn workspace_root() -> PathBuf {
    let raw = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    raw.canonicalize().unwrap_or(raw)
}

/// The nats-server to run: `PILOT_NATS_SERVER` if set and non-empty, else the path printed by
/// `<workspace root>/scripts/install-nats-server.sh` (run at most once per process; the
/// outcome, success or failure, is cached).
pub fn nats_server_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("PILOT_NATS_SERVER").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(run_install_script)
        .clone()
        .map_err(|reason| HarnessError::BinaryNotFound { reason })
}

fn run_install_script() -> Result<PathBuf, String> {
    let script = workspace_root().join("scripts/install-nats-server.sh");
    let out = Command::new(&script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            out.status,
            tail(&stderr, 20)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout.lines().map(str::trim).rfind(|l| !l.is_empty());
    match path.map(PathBuf::from) {
        Some(path) if path.is_file() => Ok(path),
        _ => Err(format!(
            "{} printed no existing file path on stdout (got {stdout:?})",
            script.display()
        )),
    }
}

/// Runs `binary --version` and returns the version, e.g. `"2.15.1"` for `nats-server: v2.15.1`.
pub fn nats_server_version(binary: &Path) -> Result<String> {
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| HarnessError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_version(&text).ok_or_else(|| HarnessError::Version {
        binary: binary.to_path_buf(),
        output: text.trim().to_owned(),
    })
}

fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace().find_map(|token| {
        let v = token.strip_prefix('v').unwrap_or(token);
        let looks_like = v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.');
        looks_like.then(|| v.to_owned())
    })
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            parse_version("nats-server: v2.15.1\n").as_deref(),
            Some("2.15.1")
        );
        assert_eq!(
            parse_version("nats-server: v2.9.10").as_deref(),
            Some("2.9.10")
        );
        assert_eq!(
            parse_version("nats-server: v2.12.0-RC.1").as_deref(),
            Some("2.12.0-RC.1")
        );
        assert_eq!(parse_version("command not found"), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }
}
