//! The built `pilot` binary's failures as a user meets them: one test per documented exit
//! code (0 ok, 1 failure, 2 usage, 3 input refused, 4 not allowed, 5 not found, 6 a broken
//! hash chain), messages that name the flag or variable to fix, a foreign HTML page
//! summarised rather than pasted, and `pilot serve` on its own, away from the checkout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_nats_harness::NatsServer;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

use common::process::{serve_on_nats, PilotProcess};

const TOKEN: &str = "cli-errors-admin-token";
const NANGUO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/demo/nanguo.jsonl"
);

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts exit code `code` and returns stderr.
    fn expect(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "{self:#?}");
        &self.stderr
    }
}

/// `pilot ARGS` with `env` and no server or token from the environment.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pilot"));
    for name in pilot_service::cli::environment_variables() {
        command.env_remove(name);
    }
    let output = command
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A nats-server and a `pilot serve --nats` on it with the bootstrap admin token.
struct Service {
    /// First, so it stops while its nats-server still runs.
    _process: PilotProcess,
    _nats: NatsServer,
    _data: tempfile::TempDir,
    url: String,
}

impl Service {
    fn start() -> Service {
        let served = serve_on_nats(TOKEN);
        Service {
            _process: served.process,
            _nats: served.nats,
            _data: served.data,
            url: served.url,
        }
    }
}

#[test]
fn exit_code_0_for_a_command_that_worked() {
    let out = run(&["verify", NANGUO], &[]);
    out.expect(0);
    assert!(out.stdout.starts_with("verified: "), "{out:#?}");
}

#[test]
fn exit_code_1_for_a_server_that_cannot_be_reached() {
    let out = run(&["status", "--server", "http://127.0.0.1:1"], &[]);
    let stderr = out.expect(1);
    assert!(stderr.contains("cannot be reached"), "{out:#?}");
    assert!(stderr.contains("--server / PILOT_SERVER"), "{out:#?}");
}

#[test]
fn exit_code_2_for_a_wrong_command_line_a_server_without_scheme_included() {
    let flag = run(&["status", "--server", "127.0.0.1:8080"], &[]);
    let stderr = flag.expect(2);
    assert!(stderr.contains("--server"), "{flag:#?}");
    assert!(stderr.contains("http://127.0.0.1:8080"), "{flag:#?}");

    let variable = run(&["status"], &[("PILOT_SERVER", "localhost:8080")]);
    assert!(variable.expect(2).contains("PILOT_SERVER"), "{variable:#?}");

    for argv in [
        &["status", "--no-such-flag"][..],
        &["no-such-command"],
        &[],
        &["completions", "tcsh"],
        &["status", "--as-of", "someday"],
        &["export", "--nats", "nats://[bad"],
    ] {
        run(argv, &[]).expect(2);
    }
}

#[test]
fn exit_code_3_for_a_file_that_is_not_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "these are my notes, not JSON\n").unwrap();
    let out = run(&["verify", file.to_str().unwrap()], &[]);
    let stderr = out.expect(3);
    assert!(
        stderr.contains("notes.txt: line 1: not a stored event"),
        "{out:#?}"
    );
}

#[test]
fn exit_code_4_for_a_missing_token_that_names_the_flag_and_the_variable() {
    let service = Service::start();
    let out = run(&["status"], &[("PILOT_SERVER", &service.url)]);
    let stderr = out.expect(4);
    assert!(stderr.contains("--token TOKEN or PILOT_TOKEN"), "{out:#?}");
    assert!(!stderr.contains("Authorization"), "{out:#?}");
    assert!(!stderr.contains("Bearer"), "{out:#?}");

    let wrong = run(
        &["status"],
        &[
            ("PILOT_SERVER", &service.url),
            ("PILOT_TOKEN", "not-the-token"),
        ],
    );
    let stderr = wrong.expect(4);
    assert!(stderr.contains("this token is not known"), "{wrong:#?}");
    assert!(stderr.contains("PILOT_TOKEN"), "{wrong:#?}");
}

#[test]
fn exit_code_5_for_what_the_server_does_not_know() {
    let service = Service::start();
    let out = run(
        &["status", "0194a000-0001-7000-8000-0000000000ff"],
        &[("PILOT_SERVER", &service.url), ("PILOT_TOKEN", TOKEN)],
    );
    assert!(out.expect(5).contains("not_found"), "{out:#?}");
}

#[test]
fn exit_code_6_for_a_broken_hash_chain() {
    let dir = tempfile::tempdir().unwrap();
    let tampered = dir.path().join("tampered.jsonl");
    let text = std::fs::read_to_string(NANGUO).unwrap();
    assert!(text.contains("\"value\":880000.0"));
    std::fs::write(
        &tampered,
        text.replace("\"value\":880000.0", "\"value\":980000.0"),
    )
    .unwrap();
    let out = run(&["verify", tampered.to_str().unwrap()], &[]);
    assert!(out.expect(6).contains("the event was altered"), "{out:#?}");
}

/// An HTTP server on 127.0.0.1 that answers every request with `status` and an HTML page
/// (a proxy, or another web server on the port), on a thread; its URL.
fn html_server(status: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let page = format!(
            "<!DOCTYPE html>\n<html>\n<head><title>Welcome to nginx!</title>\n<style>body {{ width: 35em; }}</style></head>\n<body>\n<h1>Welcome to nginx!</h1>\n{}\n</body>\n</html>\n",
            "<p>If you see this page, the nginx web server is successfully installed.</p>\n".repeat(40)
        );
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    url
}

#[test]
fn a_foreign_html_page_is_summarised_not_pasted() {
    for (status, code) in [
        ("502 Bad Gateway", 1),
        ("200 OK", 1),
        ("401 Unauthorized", 4),
    ] {
        let url = html_server(status);
        let out = run(&["status", "--server", &url], &[]);
        let stderr = out.expect(code);
        assert!(stderr.contains(status), "{out:#?}");
        assert!(stderr.contains("text/html"), "{out:#?}");
        assert!(stderr.contains("titled \"Welcome to nginx!\""), "{out:#?}");
        assert!(stderr.contains("--server (PILOT_SERVER)"), "{out:#?}");
        assert!(!stderr.contains("<h1>"), "{out:#?}");
        assert!(!stderr.contains("successfully installed"), "{out:#?}");
        assert_eq!(stderr.lines().count(), 1, "{out:#?}");
    }
}

/// A copy of the binary in a directory of its own, away from the checkout (a hard link when
/// the file system allows).
fn installed_binary(home: &Path) -> PathBuf {
    let binary = home.join("pilot");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_pilot"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_pilot"), &binary).unwrap();
    }
    binary
}

#[test]
fn serve_away_from_the_checkout_without_a_nats_server_says_how_to_install_one() {
    let home = tempfile::tempdir().unwrap();
    let binary = installed_binary(home.path());
    let empty_path = home.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let output = Command::new(&binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(home.path().join("data"))
        .current_dir(home.path())
        .env_clear()
        .env("PATH", &empty_path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in [
        "no nats-server to start",
        "PILOT_NATS_SERVER is not set",
        "no nats-server on PATH",
        "not run inside a pilot-tracker checkout",
        "https://github.com/nats-io/nats-server/releases",
        "apt install nats-server",
        "Debian 12's is 2.9",
        "scripts/install-nats-server.sh",
        "--nats URL",
        "2.12.1 or newer",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }
    assert!(!stderr.contains("cannot find scripts/"), "{stderr}");
}

#[test]
fn serve_away_from_the_checkout_finds_nats_server_on_path() {
    let home = tempfile::tempdir().unwrap();
    let binary = installed_binary(home.path());
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let nats = pilot_nats_harness::nats_server_binary().unwrap();
    std::os::unix::fs::symlink(&nats, bin.join("nats-server")).unwrap();
    let data = home.path().join("data");
    let mut pilot = PilotProcess::serve_binary(
        &binary,
        &["--data-dir", data.to_str().unwrap()],
        &[("PATH", bin.to_str().unwrap()), ("PILOT_NATS_SERVER", "")],
        &home.path().join("pilot.stderr.log"),
    );
    let url = pilot.wait_for_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

/// Whether `program` runs here (`man`, `bash`): the checks that need one are skipped without.
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn completions_and_the_manual_page_come_from_the_binary_and_render() {
    let dir = tempfile::tempdir().unwrap();
    let bash = run(&["completions", "bash"], &[]);
    bash.expect(0);
    for word in ["serve", "verify", "replay", "completions", "--server"] {
        assert!(bash.stdout.contains(word), "{word} missing");
    }
    let script = dir.path().join("pilot.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    if available("bash") {
        let syntax = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .unwrap();
        assert!(syntax.status.success(), "{syntax:?}");
    }

    let man = run(&["man"], &[]);
    man.expect(0);
    assert!(man.stdout.contains(".TH pilot 1"), "{man:#?}");
    let page = dir.path().join("pilot.1");
    std::fs::write(&page, &man.stdout).unwrap();
    if available("man") {
        let shown = Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(shown.status.success(), "{shown:?}");
        let text = String::from_utf8_lossy(&shown.stdout);
        for word in [
            "pilot-serve(1)",
            "verify",
            "completions",
            "broken hash chain",
        ] {
            assert!(
                text.contains(word),
                "{word} missing from the rendered page:\n{text}"
            );
        }
    }

    let pages = dir.path().join("man1");
    run(&["man", "--dir", pages.to_str().unwrap()], &[]).expect(0);
    assert!(pages.join("pilot-alerts-silence.1").is_file());
}
