//! A `pilot serve` child process for the tests that run the built binary: started with a clean
//! environment, its stdout read for the ready line, its stderr kept in a file for failure
//! reports. Dropped while running, it is sent SIGTERM (and then killed), so a failed test
//! leaves no pilot or nats-server behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const READY_WITHIN: Duration = Duration::from_secs(60);
pub const EXIT_WITHIN: Duration = Duration::from_secs(30);

pub struct PilotProcess {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl PilotProcess {
    /// `pilot serve --listen 127.0.0.1:0 ARGS...` with `env` set, its stderr in `stderr`.
    pub fn serve(args: &[&str], env: &[(&str, &str)], stderr: &Path) -> PilotProcess {
        Self::serve_command(Command::new(env!("CARGO_BIN_EXE_pilot")), args, env, stderr)
    }

    /// The same with another copy of the binary (one installed away from the workspace),
    /// run from its own directory.
    pub fn serve_binary(
        binary: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        stderr: &Path,
    ) -> PilotProcess {
        let mut command = Command::new(binary);
        if let Some(dir) = binary.parent() {
            command.current_dir(dir);
        }
        Self::serve_command(command, args, env, stderr)
    }

    fn serve_command(
        mut command: Command,
        args: &[&str],
        env: &[(&str, &str)],
        stderr: &Path,
    ) -> PilotProcess {
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args);
        // What pilot reads in place of options: the caller says what it wants, whatever the
        // environment says.
        for name in pilot_service::cli::environment_variables() {
            command.env_remove(name);
        }
        let mut child = command
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (send, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        PilotProcess {
            child,
            stdout,
            stderr: stderr.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for the ready line `pilot is serving ... at URL` and returns the URL.
    pub fn wait_for_url(&mut self) -> String {
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            match self.stdout.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => match line.split_once(" at ") {
                    Some((_, url)) if line.starts_with("pilot is serving") => {
                        return url.trim().to_string()
                    }
                    _ => panic!("unexpected stdout line {line:?}"),
                },
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = self.child.try_wait().unwrap() {
                        panic!(
                            "pilot exited ({status}) before it was ready:\n{}",
                            self.stderr()
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().unwrap();
                    panic!("pilot closed stdout ({status}):\n{}", self.stderr());
                }
            }
        }
        panic!(
            "pilot was not ready within {READY_WITHIN:?}:\n{}",
            self.stderr()
        );
    }

    /// Kills the process with SIGKILL (no shutdown, no checkpoint) and reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + EXIT_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "pilot did not exit within {EXIT_WITHIN:?} of SIGTERM:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PilotProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + EXIT_WITHIN;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `pilot serve ARGS` with `env` and waits (bounded) for it to exit by itself: the start
/// must fail. A pilot still running at the deadline is killed and the test fails.
pub fn serve_must_exit(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let temp = tempfile::tempdir().unwrap();
    let stderr = temp.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("PILOT_CONFIG")
        .env_remove("PILOT_NATS_URL")
        .env_remove("PILOT_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + EXIT_WITHIN;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), std::fs::read_to_string(&stderr).unwrap());
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
            panic!(
                "pilot serve {args:?} kept running; it should have refused to start:\n{}",
                std::fs::read_to_string(&stderr).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A real nats-server and a `pilot serve --nats` on it, started with `admin_token` as the
/// bootstrap admin token: what the command-line tests run their client against. Drop the
/// process before the server, so that it stops while its nats-server still runs.
pub struct ServedOnNats {
    pub process: PilotProcess,
    pub nats: pilot_nats_harness::NatsServer,
    pub data: tempfile::TempDir,
    /// `http://HOST:PORT`, without a path.
    pub url: String,
}

/// Starts a [`ServedOnNats`] and waits until pilot says it is ready.
pub fn serve_on_nats(admin_token: &str) -> ServedOnNats {
    let nats = pilot_nats_harness::NatsServer::start().expect("a nats-server starts");
    let data = tempfile::tempdir().expect("a temporary directory");
    let stderr = data.path().join("pilot.stderr.log");
    let (nats_url, data_dir) = (nats.url(), data.path().display().to_string());
    let args = ["--nats", &nats_url, "--data-dir", &data_dir];
    let mut process = PilotProcess::serve(&args, &[("PILOT_ADMIN_TOKEN", admin_token)], &stderr);
    // `http://HOST:PORT/...` → `http://HOST:PORT`.
    let ready = process.wait_for_url();
    let host = ready
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    ServedOnNats {
        process,
        nats,
        data,
        url: format!("http://{host}"),
    }
}
