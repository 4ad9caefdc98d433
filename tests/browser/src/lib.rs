//! Drives a real headless Chromium through chromedriver (WebDriver) for the web app's page tests.
//!
//! - [`Browser::start`] / [`Browser::start_with`]: finds chromedriver and Chromium, starts
//!   chromedriver on a free loopback port and opens a headless session with everything that
//!   phones home switched off ([`chromium_args`]). Missing binaries give a [`Skip`]; use
//!   [`browser_or_skip!`] so a test prints `skipped: <reason>` and returns.
//! - On a session: [`Browser::screenshot`], [`Browser::requests_leaving`],
//!   [`Browser::console_errors`], [`Browser::axe`], [`Browser::print_pdf`]; the fantoccini
//!   client itself through [`Browser::client`] for clicks, forms and waits.
//! - PDF helpers through poppler-utils: [`pdf_text`] and [`pdf_info`].
//!
//! Binaries: `PILOT_CHROMEDRIVER` (else `/usr/bin/chromedriver`, else `chromedriver` on PATH),
//! `PILOT_CHROMIUM` (else `/usr/lib/chromium/chromium`, Debian's real binary without the
//! `/usr/bin/chromium` wrapper, which adds API keys and remote extensions; else `chromium` on
//! PATH), `PILOT_AXE_JS` (else `scripts/install-axe-core.sh`, run once per process).
//! `scripts/test.sh` installs and exports all three. `PILOT_BROWSER_REQUIRED=1` turns a skip
//! into a failure. Dropping a [`Browser`] ends its session and kills chromedriver and every
//! process it started (they run in their own process group).

mod browser;
mod driver;
mod pdf;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The WebDriver client, re-exported so page tests use the same version (`Locator`, `Client`).
pub use fantoccini;

pub use browser::{AxeNode, AxeViolation, Browser, BrowserOptions, ConsoleEntry};
pub use driver::chromium_args;
pub use pdf::{pdf_info, pdf_text, PdfInfo};

/// The axe-core rule tags for WCAG 2.0 and 2.1, levels A and AA.
pub const WCAG21_A_AA: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Why a browser test cannot run here (a binary is missing); not a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// What is missing and how to install it.
    pub reason: String,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl Skip {
    /// Prints `skipped: <reason>` on stderr (shown by `cargo test -- --nocapture`; the test
    /// itself passes), or panics with the reason when `PILOT_BROWSER_REQUIRED` is set to
    /// anything but `0` or empty, so a run that must have a browser cannot skip silently.
    #[allow(clippy::panic)]
    pub fn report(&self) {
        if browser_required() {
            panic!("PILOT_BROWSER_REQUIRED is set, but: {}", self.reason);
        }
        eprintln!("skipped: {}", self.reason);
    }
}

fn browser_required() -> bool {
    std::env::var("PILOT_BROWSER_REQUIRED").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Why [`Browser::start`] returned no browser.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Chromium or chromedriver is not installed: the test should skip.
    #[error("{0}")]
    Skip(Skip),
    /// Both are installed but did not start: the test should fail.
    #[error(transparent)]
    Failed(#[from] BrowserError),
}

/// Everything that can go wrong with an installed browser.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// A file-system or process operation of the harness failed.
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    /// chromedriver exited or did not listen in time.
    #[error("chromedriver did not start: {detail}\n--- chromedriver log tail ---\n{log_tail}")]
    Driver { detail: String, log_tail: String },
    /// chromedriver refused to open a session (Chromium would not start).
    #[error("no WebDriver session: {source}\n--- chromedriver log tail ---\n{log_tail}")]
    Session {
        #[source]
        source: Box<fantoccini::error::NewSessionError>,
        log_tail: String,
    },
    /// A WebDriver command failed.
    #[error("WebDriver {command}: {source}")]
    Command {
        command: &'static str,
        #[source]
        source: Box<fantoccini::error::CmdError>,
    },
    /// A script run in the page answered something unexpected.
    #[error("{what}: {detail}")]
    Script { what: &'static str, detail: String },
    /// The pinned axe-core could not be found or installed.
    #[error("axe-core unavailable: {0}\n  fix: run scripts/install-axe-core.sh (needs npm and the registry once) or set PILOT_AXE_JS=/path/to/axe.min.js")]
    Axe(String),
    /// A poppler tool is missing or failed.
    #[error("{tool}: {detail}\n  fix: apt-get install poppler-utils")]
    Pdf { tool: &'static str, detail: String },
}

/// Shorthand for results of this crate.
pub type Result<T, E = BrowserError> = std::result::Result<T, E>;

pub(crate) fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> BrowserError {
    let action = action.into();
    move |source| BrowserError::Io { action, source }
}

pub(crate) fn cmd_err(
    command: &'static str,
) -> impl FnOnce(fantoccini::error::CmdError) -> BrowserError {
    move |source| BrowserError::Command {
        command,
        source: Box::new(source),
    }
}

/// Starts a browser or, when Chromium or chromedriver is missing, prints `skipped: <reason>`
/// and returns from the calling test (which then passes). A browser that is installed but
/// fails to start fails the test.
///
/// ```text
/// let browser = browser_or_skip!(Browser::start());
/// ```
#[macro_export]
macro_rules! browser_or_skip {
    ($start:expr) => {
        match $start.await {
            Ok(browser) => browser,
            Err($crate::StartError::Skip(skip)) => {
                skip.report();
                return;
            }
            Err($crate::StartError::Failed(error)) => {
                panic!("the browser did not start: {error}")
            }
        }
    };
}

/// The workspace root (`CARGO_MANIFEST_DIR/../..`).
pub fn workspace_root() -> PathBuf {
    let raw = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    raw.canonicalize().unwrap_or(raw)
}

/// Where [`Browser::screenshot`] writes: `PILOT_SCREENSHOTS` if set, else
/// `<workspace>/target/browser-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    match std::env::var_os("PILOT_SCREENSHOTS").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target/browser-screenshots"),
    }
}

/// chromedriver: `PILOT_CHROMEDRIVER`, else `/usr/bin/chromedriver`, else on PATH.
pub fn chromedriver_binary() -> Result<PathBuf, Skip> {
    find_binary(
        "PILOT_CHROMEDRIVER",
        &["/usr/bin/chromedriver"],
        &["chromedriver"],
        "chromium-driver",
    )
}

/// Chromium: `PILOT_CHROMIUM`, else Debian's `/usr/lib/chromium/chromium`, else on PATH.
pub fn chromium_binary() -> Result<PathBuf, Skip> {
    find_binary(
        "PILOT_CHROMIUM",
        &["/usr/lib/chromium/chromium", "/usr/bin/chromium"],
        &["chromium", "chromium-browser"],
        "chromium",
    )
}

fn find_binary(var: &str, paths: &[&str], names: &[&str], package: &str) -> Result<PathBuf, Skip> {
    let hint = format!(
        "install it with `apt-get install {package}` (scripts/test.sh does), or set {var}=/path/to/it"
    );
    if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&value);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(Skip {
                reason: format!("{var}={} is not an executable file; {hint}", path.display()),
            })
        };
    }
    let found = paths.iter().map(PathBuf::from).find(|p| is_executable(p));
    let on_path = || {
        let dirs = std::env::var_os("PATH")?;
        std::env::split_paths(&dirs)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|p| is_executable(p))
    };
    found.or_else(on_path).ok_or_else(|| Skip {
        reason: format!(
            "no {} (looked at {} and for {} on PATH); {hint}",
            names[0],
            paths.join(", "),
            names.join(", ")
        ),
    })
}

pub(crate) fn given_binary(path: &Path, what: &str, package: &str) -> Result<PathBuf, Skip> {
    if is_executable(path) {
        Ok(path.to_path_buf())
    } else {
        Err(Skip {
            reason: format!(
                "{what} {} is not an executable file; install it with `apt-get install {package}`",
                path.display()
            ),
        })
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The axe-core script to inject: `PILOT_AXE_JS`, else the path printed by
/// `scripts/install-axe-core.sh` (run at most once per process; the outcome is cached).
pub fn axe_js_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("PILOT_AXE_JS").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(run_axe_install_script)
        .clone()
        .map_err(BrowserError::Axe)
}

fn run_axe_install_script() -> Result<PathBuf, String> {
    let script = workspace_root().join("scripts/install-axe-core.sh");
    let out = Command::new(&script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 20)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(path) if Path::new(path).is_file() => Ok(PathBuf::from(path)),
        _ => Err(format!(
            "{} printed no existing file path (got {stdout:?})",
            script.display()
        )),
    }
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
    fn a_missing_override_is_a_skip_that_says_how_to_install() {
        let skip = find_binary(
            "PILOT_TEST_NO_SUCH_VAR_SET",
            &["/nonexistent/chromedriver"],
            &["no-such-chromedriver-binary"],
            "chromium-driver",
        )
        .unwrap_err();
        assert!(
            skip.reason.contains("apt-get install chromium-driver"),
            "{skip}"
        );
        assert!(skip.reason.contains("/nonexistent/chromedriver"), "{skip}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 5), "");
    }
}
