//! The chromedriver process: a free loopback port, its own process group and temp folder.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{io_err, tail, BrowserError, Result};

const POLL: Duration = Duration::from_millis(20);
const READY_TIMEOUT: Duration = Duration::from_secs(15);
const PORT_ATTEMPTS: usize = 3;

/// The command-line switches Chromium runs with, besides `--window-size` and `--lang`.
///
/// Headless as root in a container (`--headless=new --no-sandbox --disable-gpu
/// --disable-dev-shm-usage`), and nothing that talks to the network on its own: no background
/// networking, component or field-trial updates, sync, default apps, translation, optimization
/// hints, media router, safe-browsing or phishing checks, domain reliability reports, pings,
/// metrics upload or crash reports, no network-time or AI-mode eligibility queries, no
/// new-tab-page bar, promos or doodle, no GCM check-in.
///
/// Chromium 148 still tries one request of its own that no switch turns off:
/// `accounts.google.com/ListAccounts` (the identity manager, once the network is up). So, last,
/// `--host-resolver-rules` makes every host name but `localhost` and `127.0.0.1` unresolvable
/// inside Chromium: that attempt, and any request nobody thought of, fails before a DNS query
/// or a connection. A page's own request to another host is still attempted (and
/// [`crate::Browser::requests_leaving`] reports it).
pub fn chromium_args() -> Vec<String> {
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-features=Translate,OptimizationHints,OptimizationGuideModelDownloading,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,PrivacySandboxSettings4,NetworkTimeServiceQuerying,AimEligibilityService,AimServerEligibilityEnabled,AimServerRequestOnStartupEnabled,NtpMiddleSlotPromo,NtpOneGoogleBar",
        "--disable-field-trial-config",
        "--disable-client-side-phishing-detection",
        "--safebrowsing-disable-auto-update",
        "--disable-domain-reliability",
        "--disable-breakpad",
        "--disable-crash-reporter",
        "--no-pings",
        "--metrics-recording-only",
        "--no-service-autorun",
        "--password-store=basic",
        "--mute-audio",
        "--hide-scrollbars",
        // Empty URLs switch off the new-tab page's doodle fetch and GCM's check-in.
        "--google-doodle-url=",
        "--gcm-checkin-url=",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A running chromedriver. Dropping it ends the WebDriver session (if one was registered),
/// then kills its whole process group (chromedriver, Chromium and Chromium's helpers) and
/// removes its folder (log and browser profile).
#[derive(Debug)]
pub(crate) struct Driver {
    port: u16,
    child: Option<Child>,
    session: Option<String>,
    log_path: PathBuf,
    /// Last field: removed after `Drop::drop` has killed the processes.
    dir: TempDir,
}

impl Driver {
    /// Starts chromedriver on a free 127.0.0.1 port and waits until it accepts connections.
    pub(crate) fn start(binary: &Path) -> Result<Self> {
        let mut attempt = 1;
        loop {
            let dir = tempfile::Builder::new()
                .prefix("pilot-browser-")
                .tempdir()
                .map_err(io_err("create a temporary directory"))?;
            let port = free_port()?;
            let log_path = dir.path().join("chromedriver.log");
            let log = File::create(&log_path)
                .map_err(io_err(format!("create {}", log_path.display())))?;
            let log_err = log.try_clone().map_err(io_err("clone the log file"))?;
            let child = Command::new(binary)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log_path.display()))
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                // Its own process group, so that Drop can kill Chromium along with it.
                .process_group(0)
                .spawn()
                .map_err(io_err(format!("start {}", binary.display())))?;
            let mut driver = Self {
                port,
                child: Some(child),
                session: None,
                log_path,
                dir,
            };
            match driver.wait_ready() {
                Ok(()) => return Ok(driver),
                Err(e)
                    if attempt < PORT_ATTEMPTS
                        && driver.log().contains("ddress already in use") =>
                {
                    drop(e);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(BrowserError::Driver {
                        detail: format!("it exited ({status})"),
                        log_tail: self.log_tail(),
                    });
                }
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(BrowserError::Driver {
                    detail: format!("not listening on {addr} after {READY_TIMEOUT:?}"),
                    log_tail: self.log_tail(),
                });
            }
            sleep(POLL);
        }
    }

    /// `http://127.0.0.1:PORT/`, the WebDriver endpoint.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The folder for the browser profile (`--user-data-dir`), removed on drop.
    pub(crate) fn profile_dir(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    /// Remembers the session so that Drop can end it.
    pub(crate) fn register_session(&mut self, id: Option<String>) {
        self.session = id;
    }

    pub(crate) fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub(crate) fn log_tail(&self) -> String {
        tail(&self.log(), 30)
    }

    /// Ends the session with a plain blocking `DELETE /session/{id}` (Drop cannot await), so
    /// chromedriver closes Chromium cleanly; bounded by short timeouts.
    fn delete_session(&mut self) {
        let Some(id) = self.session.take() else {
            return;
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
        let request = format!(
            "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            read_response(&mut stream);
        }
    }

    fn kill_group(&mut self, signal: &str) {
        if let Some(child) = &self.child {
            // The group id is chromedriver's pid (process_group(0)); it is not reaped yet, so
            // the id cannot have been reused.
            let _ = Command::new("kill")
                .args([signal, "--", &format!("-{}", child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.delete_session();
        self.kill_group("-TERM");
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                sleep(POLL);
            }
            self.child = Some(child);
            self.kill_group("-KILL");
            if let Some(mut child) = self.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Reads one HTTP response: the head, then `Content-Length` bytes (chromedriver keeps the
/// connection open, so reading to the end would wait for the read timeout).
fn read_response(stream: &mut TcpStream) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                return;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("bind a free loopback port"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io_err("read a bound port"))
}
