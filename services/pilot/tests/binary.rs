//! The built `pilot` binary, as the README's quick start runs it: `pilot serve --demo` with
//! no `--nats` starts its own nats-server, loads the Nanguo history, prints its URL once
//! ready, and on SIGTERM stops in order, exits 0 and leaves no nats-server behind. A second
//! run on the same data directory resumes from the checkpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::process::{serve_must_exit, PilotProcess, READY_WITHIN};

const HIHC: &str = "0194a000-0001-7000-8000-000000000003";
const LCHI: &str = "Local Citizen Health Insurance (LCHI)";

/// `pilot serve` on its own data directory, stderr beside it.
fn serve(data_dir: &Path, extra: &[&str]) -> PilotProcess {
    let stderr = data_dir.with_extension("stderr.log");
    let data = data_dir.to_str().unwrap();
    let args = [&["--data-dir", data][..], extra].concat();
    PilotProcess::serve(&args, &[], &stderr)
}

/// `http://127.0.0.1:PORT/api/v1/pilots` → `127.0.0.1:PORT`.
fn host_of(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap();
    &rest[..rest.find('/').unwrap()]
}

/// A plain HTTP/1.0 GET: the status code and the body.
fn http_get(host: &str, path: &str) -> (u16, String) {
    http_get_as(host, path, None)
}

/// The same with a bearer token.
fn http_get_as(host: &str, path: &str, token: Option<&str>) -> (u16, String) {
    http_request(host, "GET", path, token, None)
}

/// A plain HTTP/1.0 request, with a JSON body if given: the status code and the body.
fn http_request(
    host: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = json
        .map(|json| {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                json.len()
            )
        })
        .unwrap_or_else(|| "\r\n".to_string());
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\n{auth}{body}"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Processes whose command line names `<data_dir>/nats`: the local nats-server's store
/// (pilot's own command line names only `<data_dir>`).
fn nats_servers_on(data_dir: &Path) -> Vec<String> {
    let needle = data_dir.join("nats").to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) {
            found.push(format!("{name}: {cmdline}"));
        }
    }
    found
}

#[test]
fn serve_demo_starts_its_own_nats_server_and_stops_cleanly_on_sigterm() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");

    let started = Instant::now();
    let mut pilot = serve(&data_dir, &["--demo"]);
    let url = pilot.wait_for_url();
    eprintln!("ready after {:?}: {url}", started.elapsed());
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/v1/pilots"),
        "{url}"
    );
    let host = host_of(&url).to_string();
    let (status, body) = http_get(&host, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ready\""), "{body}");
    let (status, body) = http_get(&host, "/api/v1/pilots");
    assert_eq!(status, 200);
    let pilots: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(pilots.as_array().unwrap().len(), 5);
    // The alerter records the history's alerts; the API lists them once it has read them back.
    let lchi = wait_for_alert(&host, "/api/v1/alerts?state=resolved", LCHI);
    assert_eq!(lchi["reason"], "granted", "{lchi}");
    assert_eq!(lchi["waited_days"], 63, "{lchi}");
    assert!(
        !nats_servers_on(&data_dir).is_empty(),
        "pilot runs its nats-server on {}",
        data_dir.display()
    );

    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
    let stderr = pilot.stderr();
    assert!(stderr.contains("Saved a checkpoint"), "{stderr}");
    assert!(stderr.contains("Stopped the local nats-server"), "{stderr}");
    assert_eq!(nats_servers_on(&data_dir), Vec::<String>::new());

    // An analyst's token in the data directory's tokens file.
    let output = Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args([
            "token",
            "new",
            "--name",
            "ana",
            "--role",
            "analyst",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(token.len() > 40, "{token}");

    // Again on the same data, without --demo: reads need the token now. Resumes from the
    // checkpoint; a past view loads its chain.
    let mut pilot = serve(&data_dir, &[]);
    let url = pilot.wait_for_url();
    let host = host_of(&url).to_string();
    let path = format!("/api/v1/pilots/{HIHC}?as_of=2001-01-01");
    let (status, body) = http_get(&host, &path);
    assert_eq!(status, 401, "{body}");
    let (status, body) = http_get_as(&host, &path, Some(&token));
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["stage"], "implementing");
    assert!(pilot.stderr().contains("Resuming from a checkpoint"));
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
    assert_eq!(nats_servers_on(&data_dir), Vec::<String>::new());
    eprintln!("both runs took {:?}", started.elapsed());
}

#[test]
fn a_missing_nats_server_binary_is_a_clear_error() {
    let temp = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(temp.path())
        .env("PILOT_NATS_SERVER", temp.path().join("no-nats-server"))
        .env_remove("PILOT_NATS_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Usage: the setup names no nats-server that runs.
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-nats-server"), "{stderr}");
    assert!(stderr.contains("PILOT_NATS_SERVER"), "{stderr}");
}

#[test]
fn the_example_configuration_checks_and_a_typo_is_named() {
    let temp = tempfile::tempdir().unwrap();
    let pilot = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pilot"))
            .args(args)
            .env_remove("PILOT_CONFIG")
            .env_remove("PILOT_LISTEN")
            .env_remove("PILOT_NATS_URL")
            .output()
            .unwrap()
    };
    let example = pilot(&["config", "example"]);
    assert!(example.status.success());
    let path = temp.path().join("pilot.toml");
    std::fs::write(&path, &example.stdout).unwrap();
    let check = pilot(&["config", "check", "--config", path.to_str().unwrap()]);
    assert!(check.status.success(), "{check:?}");
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(summary.contains("listen: 127.0.0.1:8080"), "{summary}");
    assert!(
        summary.contains(
            "http: header_read_timeout 10000 ms, body_read_timeout 60000 ms, max_connections 1024"
        ),
        "{summary}"
    );

    let typo = String::from_utf8(example.stdout)
        .unwrap()
        .replace("anonymous_reads = false", "anonymous_read = false");
    std::fs::write(&path, typo).unwrap();
    let check = pilot(&["config", "check", "--config", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("anonymous_read"), "{stderr}");
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
}

/// Waits (bounded) until `path` lists an alert of the pilot titled `title`; returns it.
fn wait_for_alert(host: &str, path: &str, title: &str) -> serde_json::Value {
    let deadline = Instant::now() + READY_WITHIN;
    let mut last = String::new();
    while Instant::now() < deadline {
        let (status, body) = http_get(host, path);
        assert_eq!(status, 200, "{body}");
        let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
        let found = listed["alerts"]
            .as_array()
            .and_then(|alerts| alerts.iter().find(|a| a["pilot_title"] == title).cloned());
        if let Some(alert) = found {
            return alert;
        }
        last = body;
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no alert of {title} at {path}: {last}");
}

#[test]
fn an_alerter_alone_records_what_an_api_alone_serves() {
    let server = pilot_nats_harness::NatsServer::start().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let url = server.url();
    let alerter_only = [
        "--nats",
        &url,
        "--only",
        "alerter",
        "--consumer",
        "alerter-only",
    ];
    let mut alerter = serve(
        &temp.path().join("alerter"),
        &[&alerter_only[..], &["--demo"]].concat(),
    );
    let alerter_url = alerter.wait_for_url();
    assert!(alerter_url.ends_with("/readyz"), "{alerter_url}");
    let (status, _) = http_get(host_of(&alerter_url), "/api/v1/alerts");
    assert_eq!(status, 404, "no API in the alerter");

    let api_only = ["--nats", &url, "--only", "api", "--consumer", "api-only"];
    let mut api = serve(
        &temp.path().join("api"),
        &[&api_only[..], &["--demo"]].concat(),
    );
    let api_url = api.wait_for_url();
    let lchi = wait_for_alert(host_of(&api_url), "/api/v1/alerts?state=resolved", LCHI);
    assert_eq!(lchi["reason"], "granted", "{lchi}");
    assert_eq!(lchi["at"], "2003-12-15T10:00:00+08:00", "{lchi}");
    for pilot in [&mut api, &mut alerter] {
        let status = pilot.terminate();
        assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
    }
}

#[test]
fn only_projector_serves_health_but_no_api() {
    let server = pilot_nats_harness::NatsServer::start().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let mut pilot = serve(
        &data_dir,
        &[
            "--nats",
            &server.url(),
            "--only",
            "projector",
            "--consumer",
            "projector-only",
        ],
    );
    let url = pilot.wait_for_url();
    assert!(url.ends_with("/readyz"), "{url}");
    let host = host_of(&url).to_string();
    let (status, body) = http_get(&host, "/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, _) = http_get(&host, "/metrics");
    assert_eq!(status, 200);
    let (status, body) = http_get(&host, "/api/v1/pilots");
    assert_eq!(status, 404, "{body}");
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
    assert!(
        nats_servers_on(&data_dir).is_empty(),
        "no local server with --nats"
    );
}

#[test]
fn a_short_admin_token_is_refused_at_start() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let (code, stderr) = serve_must_exit(
        &["--data-dir", data.to_str().unwrap()],
        &[("PILOT_ADMIN_TOKEN", "admin123")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("PILOT_ADMIN_TOKEN is 8 characters long"),
        "{stderr}"
    );
    assert!(stderr.contains("at least 16"), "{stderr}");
    assert!(
        !stderr.contains("admin123"),
        "the token is never echoed: {stderr}"
    );
    assert!(
        nats_servers_on(&data).is_empty(),
        "refused before any nats-server starts"
    );
}

const ADMIN_TOKEN: &str = "binary-test-admin-token";
const UNIFIED_ID: &str = "0194a000-0001-7000-8000-000000000005";

/// A lobbying contact on the Nanguo history's unified-fund pilot: appendable any number of times.
fn lobbying_draft(summary: &str) -> String {
    common::lobbying_contact(summary, 1).to_string()
}

/// The pid the local nats-server wrote into the data directory.
fn nats_server_pid(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("nats-server.pid"))
        .unwrap()
        .trim()
        .to_string()
}

fn kill_9(pid: &str) {
    let killed = Command::new("kill").args(["-KILL", pid]).status().unwrap();
    assert!(killed.success());
}

#[test]
fn a_killed_nats_server_is_restarted_and_appends_resume() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let stderr = temp.path().join("stderr.log");
    let data = data_dir.to_str().unwrap();
    let mut pilot = PilotProcess::serve(
        &["--data-dir", data, "--demo"],
        &[("PILOT_ADMIN_TOKEN", ADMIN_TOKEN)],
        &stderr,
    );
    let host = host_of(&pilot.wait_for_url()).to_string();
    let (status, body) = http_request(
        &host,
        "POST",
        "/api/v1/events",
        Some(ADMIN_TOKEN),
        Some(&lobbying_draft("before the crash")),
    );
    assert_eq!(status, 201, "{body}");

    let first = nats_server_pid(&data_dir);
    kill_9(&first);
    let killed = Instant::now();
    // Appends fail while the server is down, then succeed again: no restart of pilot.
    let deadline = Instant::now() + Duration::from_secs(60);
    let stored = loop {
        let (status, body) = http_request(
            &host,
            "POST",
            "/api/v1/events",
            Some(ADMIN_TOKEN),
            Some(&lobbying_draft("after the crash")),
        );
        if status == 201 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "appends did not resume within 60 s (last: {status} {body}):\n{}",
            pilot.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("appends resumed {:?} after the kill", killed.elapsed());
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    // After the history and the contact made before the crash.
    let position = common::nanguo_events() as u64 + 2;
    assert_eq!(stored["events"][0]["position"], position, "{stored}");
    let second = nats_server_pid(&data_dir);
    assert_ne!(first, second, "a new nats-server runs");
    // The projector resumed too: the pilot's chain, read back, holds both contacts.
    let (status, body) = http_get_as(
        &host,
        &format!("/api/v1/pilots/{UNIFIED_ID}/events?min_position={position}"),
        Some(ADMIN_TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("before the crash") && body.contains("after the crash"));
    let (status, body) = http_get(&host, "/readyz");
    assert_eq!(status, 200, "{body}");
    // And the alerter and the API's alert feed: a pilot proposed now, with an approval
    // requested 31 days ago (over the municipal 30), gets its alert recorded and listed.
    let pilot_id = "0194a000-0001-7000-8000-0000000000aa";
    let requested = (time::OffsetDateTime::now_utc() - time::Duration::days(31))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let drafts = serde_json::json!([
        {
            "type": "pilot.proposed",
            "pilot_id": pilot_id,
            "occurred_at": "2000-12-01T10:00:00+08:00",
            "actor": {"office": "SSDNC", "user": "clerk"},
            "data": {
                "title": "Proposed after the crash",
                "jurisdiction": "Nanguo",
                "policy_area": "health insurance",
                "level": "municipal",
                "problem_frame": "Whether the alerter still runs."
            }
        },
        {
            "type": "approval.requested",
            "pilot_id": pilot_id,
            "occurred_at": requested,
            "actor": {"office": "SSDNC", "user": "clerk"},
            "data": {
                "approval_id": "after-the-crash",
                "approver_id": "0194a000-0002-7000-8000-000000000006",
                "level": "municipal",
                "note": "Stalled for a month."
            }
        }
    ]);
    let (status, body) = http_request(
        &host,
        "POST",
        "/api/v1/events",
        Some(ADMIN_TOKEN),
        Some(&drafts.to_string()),
    );
    assert_eq!(status, 201, "{body}");
    let alerts = format!("/api/v1/alerts?pilot={pilot_id}");
    let waited = Instant::now();
    let alert = wait_for_alert(&host, &alerts, "Proposed after the crash");
    eprintln!(
        "the alert was listed {:?} after its request",
        waited.elapsed()
    );
    assert_eq!(alert["pilot_id"], pilot_id, "{alert}");
    let log = pilot.stderr();
    assert!(log.contains("Restarted the local nats-server"), "{log}");

    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
    assert_eq!(nats_servers_on(&data_dir), Vec::<String>::new());
}

#[test]
fn a_second_serve_on_one_data_dir_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let mut first = serve(&data_dir, &[]);
    let host = host_of(&first.wait_for_url()).to_string();
    // The moment a second pilot could slip in: the first one's nats-server has just died.
    kill_9(&nats_server_pid(&data_dir));
    let (code, stderr) = serve_must_exit(&["--data-dir", data_dir.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("is in use by another `pilot serve`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("(pid {})", first.pid())),
        "{stderr}"
    );
    // The first one carries on with its own, restarted, server.
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_get(&host, "/readyz").0 != 200 {
        assert!(Instant::now() < deadline, "{}", first.stderr());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(nats_servers_on(&data_dir).len(), 1);
    let status = first.terminate();
    assert_eq!(status.code(), Some(0), "{}", first.stderr());
}

/// A configuration file in `dir` that says `text`.
fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("pilot.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn idle_connections_are_closed_after_the_header_timeout() {
    let temp = tempfile::tempdir().unwrap();
    let config = config_file(temp.path(), "header_read_timeout_ms = 500\n");
    let mut pilot = serve(&temp.path().join("data"), &["--config", &config]);
    let host = host_of(&pilot.wait_for_url()).to_string();

    // Half send nothing at all, half the start of a request head and no more.
    let opened = Instant::now();
    let mut idle: Vec<TcpStream> = (0..50)
        .map(|i| {
            let mut stream = TcpStream::connect(&host).unwrap();
            if i % 2 == 1 {
                write!(stream, "GET /readyz HTTP/1.1\r\nHost: {host}\r\n").unwrap();
            }
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream
        })
        .collect();
    for (i, stream) in idle.iter_mut().enumerate() {
        let mut rest = Vec::new();
        // The server closes the connection: end of file (after a 408, if hyper sends one).
        // Without a timeout the read would block until the client gives up.
        let read = stream.read_to_end(&mut rest);
        assert!(
            read.is_ok(),
            "connection {i} is still open after {:?}: {read:?}",
            opened.elapsed()
        );
        let answer = String::from_utf8_lossy(&rest);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    let closed = opened.elapsed();
    eprintln!("50 idle connections closed {closed:?} after they opened");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
    // A client that sends its request in time is served as ever.
    let (status, body) = http_get(&host, "/readyz");
    assert_eq!(status, 200, "{body}");
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

#[test]
fn a_trickled_body_fails_after_the_body_timeout() {
    let temp = tempfile::tempdir().unwrap();
    let config = config_file(temp.path(), "body_read_timeout_ms = 500\n");
    let mut pilot = PilotProcess::serve(
        &[
            "--data-dir",
            temp.path().join("data").to_str().unwrap(),
            "--config",
            &config,
        ],
        &[("PILOT_ADMIN_TOKEN", ADMIN_TOKEN)],
        &temp.path().join("stderr.log"),
    );
    let host = host_of(&pilot.wait_for_url()).to_string();
    let mut stream = TcpStream::connect(&host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    write!(
        stream,
        "POST /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"type\": "
    )
    .unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    let answered = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "still waiting after {answered:?}: {read:?}");
    eprintln!("a trickled body was refused after {answered:?}: {answer}");
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(answered < Duration::from_secs(5), "{answered:?}");
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let temp = tempfile::tempdir().unwrap();
    let config = config_file(temp.path(), "max_connections = 2\n");
    let mut pilot = serve(&temp.path().join("data"), &["--config", &config]);
    let host = host_of(&pilot.wait_for_url()).to_string();
    let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&host).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(&host).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    write!(third, "GET /healthz HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let waiting = third.read_to_end(&mut answer);
    assert!(
        waiting.is_err() && answer.is_empty(),
        "a third connection was served while two were held: {:?}",
        String::from_utf8_lossy(&answer)
    );
    drop(held);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    third.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

/// `pilot token ARGS --data-dir DATA_DIR`.
fn pilot_token(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pilot"))
        .arg("token")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("PILOT_DATA_DIR")
        .output()
        .unwrap()
}

/// A new token in the data directory's tokens file, in clear.
fn new_token(data_dir: &Path, name: &str, role: &str, extra: &[&str]) -> String {
    let output = pilot_token(
        data_dir,
        &[&["new", "--name", name, "--role", role][..], extra].concat(),
    );
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Polls `GET /api/v1/pilots` with `token` until it answers `want`; how long that took.
fn wait_for_status(pilot: &PilotProcess, host: &str, token: &str, want: u16) -> (Duration, String) {
    let started = Instant::now();
    loop {
        let (status, body) = http_get_as(host, "/api/v1/pilots", Some(token));
        if status == want {
            return (started.elapsed(), body);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {status} after 10 s, not {want}: {body}\n{}",
            pilot.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_revoked_token_is_refused_within_seconds_by_a_running_serve() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let ana = new_token(&data_dir, "ana", "analyst", &[]);
    let keep = new_token(&data_dir, "keep", "analyst", &[]);
    let mut pilot = serve(&data_dir, &[]);
    let host = host_of(&pilot.wait_for_url()).to_string();
    let (status, body) = http_get_as(&host, "/api/v1/pilots", Some(&ana));
    assert_eq!(status, 200, "{body}");

    let revoked = pilot_token(&data_dir, &["revoke", "ana"]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert!(String::from_utf8_lossy(&revoked.stdout).contains("revoked 1 token(s) named \"ana\""));
    let (took, body) = wait_for_status(&pilot, &host, &ana, 401);
    eprintln!("a revoked token was refused {took:?} after `pilot token revoke`");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(body.contains("not known"), "{body}");
    let (status, body) = http_get_as(&host, "/api/v1/pilots", Some(&keep));
    assert_eq!(status, 200, "the other token still works: {body}");
    assert!(pilot.stderr().contains("Reloaded the API tokens"));
    let again = pilot_token(&data_dir, &["revoke", "ana"]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("no token is named \"ana\""));
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

#[test]
fn a_token_added_with_token_new_works_without_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    new_token(&data_dir, "root", "admin", &[]);
    let mut pilot = serve(&data_dir, &[]);
    let host = host_of(&pilot.wait_for_url()).to_string();
    let bob = new_token(&data_dir, "bob", "analyst", &[]);
    let (took, body) = wait_for_status(&pilot, &host, &bob, 200);
    eprintln!("a new token worked {took:?} after `pilot token new`");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(body.starts_with('['), "{body}");
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

#[test]
fn an_expired_token_is_refused_with_a_message_saying_so() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let past = pilot_token(
        &data_dir,
        &[
            "new",
            "--name",
            "x",
            "--role",
            "admin",
            "--expires",
            "2001-01-01T00:00:00Z",
        ],
    );
    assert_eq!(past.status.code(), Some(1), "{past:?}");
    assert!(String::from_utf8_lossy(&past.stderr).contains("passed already"));
    let brief = new_token(&data_dir, "brief", "analyst", &["--expires", "2s"]);
    let lasting = new_token(
        &data_dir,
        "lasting",
        "clerk",
        &["--office", "SSDNC", "--expires", "30d"],
    );
    std::thread::sleep(Duration::from_millis(2100));

    let mut pilot = serve(&data_dir, &[]);
    let host = host_of(&pilot.wait_for_url()).to_string();
    let (status, body) = http_get_as(&host, "/api/v1/pilots", Some(&brief));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("this token (brief) expired at"), "{body}");
    // The instant as RFC 3339, as `--expires` takes it.
    let at = body
        .split("expired at ")
        .nth(1)
        .and_then(|rest| rest.split(": ask").next())
        .unwrap();
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    assert!(time::OffsetDateTime::parse(at, rfc3339).is_ok(), "{body}");
    let (status, body) = http_get_as(&host, "/api/v1/pilots", Some(&lasting));
    assert_eq!(status, 200, "{body}");

    let listed = pilot_token(&data_dir, &["list"]);
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8(listed.stdout).unwrap();
    let row = |name: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {listed}"))
            .to_string()
    };
    assert!(row("brief\tanalyst\t-\texpired 20").len() > 20, "{listed}");
    assert!(row("lasting\tclerk\tSSDNC\t20").len() > 20, "{listed}");
    assert!(
        !listed.contains(&brief) && !listed.contains(&lasting),
        "{listed}"
    );
    assert!(!listed.contains("sha256"), "{listed}");
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}

#[test]
fn serve_demo_runs_from_a_binary_installed_outside_the_workspace() {
    let nats = pilot_nats_harness::NatsServer::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let binary = home.path().join("pilot");
    std::fs::copy(env!("CARGO_BIN_EXE_pilot"), &binary).unwrap();
    let data = home.path().join("data");
    let url = nats.url();
    let args = [
        "--nats",
        &url,
        "--demo",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let mut pilot =
        PilotProcess::serve_binary(&binary, &args, &[], &home.path().join("pilot.stderr.log"));
    let ready = pilot.wait_for_url();
    let (status, body) = http_get(host_of(&ready), "/api/v1/pilots");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(LCHI), "{body}");
    pilot.terminate();
}
