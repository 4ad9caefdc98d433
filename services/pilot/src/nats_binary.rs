//! Which nats-server `pilot serve` starts when no `--nats` URL is given, in order:
//!
//! 1. `PILOT_NATS_SERVER` when set and not empty (a path, or a command on `PATH`);
//! 2. `nats-server` on `PATH`, when it reports a version pilot-tracker runs against;
//! 3. inside a pilot-tracker checkout only, what `scripts/install-nats-server.sh` prints (it
//!    installs the pinned server into `.tools/` on its first run).
//!
//! Why this order: an installed `pilot` must run on its own, without the repository; a
//! server on `PATH` that is too old (Debian 12's package is 2.9) is passed over with its
//! reason rather than started and refused later. When none is found, [`NoBinary`] says how to
//! get one; `pilot serve` exits with 2 (usage: the setup is incomplete).

use pilot_store::version;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

use crate::workspace;

/// The variable naming the nats-server binary to run.
pub const BINARY_VAR: &str = "PILOT_NATS_SERVER";
/// The command looked for on `PATH`.
const COMMAND: &str = "nats-server";
/// How long `nats-server --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
/// Where releases are downloaded from.
const RELEASES_URL: &str = "https://github.com/nats-io/nats-server/releases";

/// No usable nats-server: what was tried, and how to get one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no nats-server to start: {}\n{}", tried.join("; "), install_help())]
pub struct NoBinary {
    /// Each place looked at, and why it did not do.
    pub tried: Vec<String>,
}

/// The oldest nats-server pilot-tracker runs against, as people write it (`2.12.1`).
pub fn minimum_version() -> String {
    let (major, minor, patch) = version::MINIMUM;
    format!("{major}.{minor}.{patch}")
}

/// How to get a nats-server, for messages.
pub fn install_help() -> String {
    let minimum = minimum_version();
    format!(
        "  get one (version {minimum} or newer) in one of these ways:\n\
         \x20 - download a release from {RELEASES_URL} and put `nats-server` on PATH, or set \
         {BINARY_VAR}=/path/to/nats-server\n\
         \x20 - install your system's package (Debian, Ubuntu: `apt install nats-server`) if it \
         is {minimum} or newer (`nats-server --version`; Debian 12's is 2.9, too old)\n\
         \x20 - in a pilot-tracker checkout, run scripts/install-nats-server.sh (pilot runs it \
         itself when started there)\n\
         \x20 - or pass --nats URL to use a nats-server you run"
    )
}

/// The nats-server to start, looked for as the module says.
pub async fn find() -> Result<PathBuf, NoBinary> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let exe = std::env::current_exe()
        .ok()
        .map(|exe| exe.canonicalize().unwrap_or(exe));
    let starts: Vec<&Path> = std::iter::once(cwd.as_path())
        .chain(exe.as_deref().and_then(Path::parent))
        .collect();
    find_with(
        std::env::var_os(BINARY_VAR),
        std::env::var_os("PATH"),
        &cwd,
        &starts,
    )
    .await
}

/// [`find`] with the variable, `PATH`, the directory `PATH` is resolved in and the
/// directories a checkout is looked for from given.
pub async fn find_with(
    variable: Option<OsString>,
    path: Option<OsString>,
    cwd: &Path,
    starts: &[&Path],
) -> Result<PathBuf, NoBinary> {
    if let Some(binary) = variable.filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(binary));
    }
    let mut tried = vec![format!("{BINARY_VAR} is not set")];
    match which::which_in(COMMAND, path, cwd) {
        Ok(binary) => match reported_version(&binary).await {
            Ok(found) if version::check(&found).is_ok() => return Ok(binary),
            Ok(found) => tried.push(format!(
                "{} on PATH is version {found}, older than {}",
                binary.display(),
                minimum_version()
            )),
            Err(why) => tried.push(format!(
                "{} on PATH does not say its version ({why})",
                binary.display()
            )),
        },
        Err(_) => tried.push(format!("no {COMMAND} on PATH")),
    }
    match workspace::find_from(workspace::INSTALL_SCRIPT, starts.iter().copied()) {
        Ok(script) => from_script(&script).await.map_err(|why| {
            tried.push(why);
            NoBinary { tried }
        }),
        Err(_) => {
            tried.push(format!(
                "not run inside a pilot-tracker checkout (no {} here or above)",
                workspace::INSTALL_SCRIPT
            ));
            Err(NoBinary { tried })
        }
    }
}

/// What `BINARY --version` reports (`nats-server: v2.15.1` → `v2.15.1`).
async fn reported_version(binary: &Path) -> Result<String, String> {
    let run = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(VERSION_TIMEOUT, run)
        .await
        .map_err(|_| format!("no answer within {VERSION_TIMEOUT:?}"))?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .last()
        .filter(|v| version::parse(v).is_some())
        .map(str::to_string)
        .ok_or_else(|| format!("`--version` printed {:?}", text.trim()))
}

/// The path the checkout's install script prints as its last line.
async fn from_script(script: &Path) -> Result<PathBuf, String> {
    tracing::info!(message = "Finding nats-server with the install script.", script = %script.display());
    let output = Command::new(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!("{} failed ({})", script.display(), output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(path) if Path::new(path).is_file() => Ok(PathBuf::from(path)),
        _ => Err(format!(
            "{} printed no existing file on stdout (it printed {stdout:?})",
            script.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A directory with a `nats-server` script that reports `version`.
    fn fake_server(version: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join(COMMAND);
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho 'nats-server: {version}'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[tokio::test]
    async fn the_variable_comes_first() {
        let on_path = fake_server("v2.15.1");
        let found = find_with(
            Some("/opt/nats/nats-server".into()),
            Some(on_path.path().into()),
            on_path.path(),
            &[],
        )
        .await
        .unwrap();
        assert_eq!(found, PathBuf::from("/opt/nats/nats-server"));
    }

    #[tokio::test]
    async fn a_current_server_on_path_is_used() {
        let on_path = fake_server("v2.15.1");
        let found = find_with(None, Some(on_path.path().into()), on_path.path(), &[])
            .await
            .unwrap();
        assert_eq!(found, on_path.path().join(COMMAND));
    }

    #[tokio::test]
    async fn an_old_server_on_path_is_passed_over_with_its_version() {
        let on_path = fake_server("v2.9.10");
        let elsewhere = tempfile::tempdir().unwrap();
        let error = find_with(
            None,
            Some(on_path.path().into()),
            on_path.path(),
            &[elsewhere.path()],
        )
        .await
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("is version v2.9.10, older than 2.12.1"),
            "{message}"
        );
        assert!(
            message.contains("not run inside a pilot-tracker checkout"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn nothing_found_says_how_to_install_one() {
        let empty = tempfile::tempdir().unwrap();
        let error = find_with(
            None,
            Some(empty.path().into()),
            empty.path(),
            &[empty.path()],
        )
        .await
        .unwrap_err();
        let message = error.to_string();
        for needle in [
            "PILOT_NATS_SERVER is not set",
            "no nats-server on PATH",
            RELEASES_URL,
            "apt install nats-server",
            "Debian 12's is 2.9",
            "scripts/install-nats-server.sh",
            "--nats URL",
            "2.12.1 or newer",
        ] {
            assert!(message.contains(needle), "{needle} missing: {message}");
        }
    }

    #[tokio::test]
    async fn inside_the_checkout_the_install_script_is_used() {
        let empty = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let binary = root.path().join("nats-server");
        std::fs::write(&binary, "").unwrap();
        std::fs::create_dir_all(root.path().join("scripts")).unwrap();
        let script = root.path().join(workspace::INSTALL_SCRIPT);
        std::fs::write(&script, format!("#!/bin/sh\necho {}\n", binary.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_with(
            None,
            Some(empty.path().into()),
            empty.path(),
            &[root.path()],
        )
        .await
        .unwrap();
        assert_eq!(found, binary);
    }
}
