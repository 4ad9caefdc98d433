//! The built `pilot` binary's configuration from every side (file, `PILOT_*` variables, flags)
//! as `pilot config check` reports it, and what the HTTP layers do to responses of a real
//! `pilot serve --demo` (its own nats-server): compression negotiated by `Accept-Encoding`,
//! Server-Sent Events left uncompressed, and CORS for the configured origins.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::process::{serve_must_exit, PilotProcess};

/// `pilot ARGS` with only `env` in its environment (and `PILOT_NATS_SERVER`, for `serve`).
fn pilot(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn confighttp_variables_set_keys_that_have_no_flag_of_their_own_before() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let check = pilot(
        &["config", "check", "--data-dir", data_dir],
        &[
            ("PILOT_ANONYMOUS_READS", "true"),
            ("PILOT_MAX_BODY_BYTES", "4096"),
        ],
    );
    let out = text(&check.stdout);
    assert!(check.status.success(), "{check:?}");
    assert!(out.contains("anonymous_reads: true"), "{out}");
    assert!(out.contains("max_body_bytes: 4096"), "{out}");
    assert!(
        out.contains("anonymous_reads: variable PILOT_ANONYMOUS_READS"),
        "{out}"
    );
    assert!(
        out.contains("max_body_bytes: variable PILOT_MAX_BODY_BYTES"),
        "{out}"
    );
    assert!(out.contains("data_dir: flag --data-dir"), "{out}");

    // The same key, too small, is refused with the key's own rule, naming the variable.
    let small = pilot(
        &["config", "check", "--data-dir", data_dir],
        &[("PILOT_MAX_BODY_BYTES", "10")],
    );
    assert_eq!(small.status.code(), Some(2), "{small:?}");
    assert!(
        text(&small.stderr).contains(
            "max_body_bytes must be at least 1 KiB (set by variable PILOT_MAX_BODY_BYTES)"
        ),
        "{small:?}"
    );
}

#[test]
fn confighttp_a_flag_beats_its_variable_which_beats_the_file_in_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pilot.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9001\"\nmax_body_bytes = 5000\nconsumer = \"from-file\"\n\
         [nats]\nurl = \"nats://file:4222\"\nuser = \"file-user\"\n\
         [alerts]\nwarning_share = 0.5\n\
         [alerts.thresholds]\ncounty = 10\n\
         [alerts.webhook]\nurl = \"http://127.0.0.1:9/hook\"\nmax_attempts = 3\n\
         [checkpoints]\nkey_file = \"/from/file.key\"\n",
    )
    .unwrap();
    let data_dir = dir.path().join("data");
    let check = pilot(
        &[
            "config",
            "check",
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:9003",
            "--nats-url",
            "nats://flag:4222",
            "--alerts-webhook-max-attempts",
            "5",
        ],
        &[
            ("PILOT_LISTEN", "127.0.0.1:9002"),
            ("PILOT_MAX_BODY_BYTES", "6000"),
            ("PILOT_NATS_URL", "nats://variable:4222"),
            ("PILOT_NATS_PASSWORD", "secret-from-variable"),
            ("PILOT_ALERTS_WARNING_SHARE", "0.6"),
            ("PILOT_ALERTS_THRESHOLDS_NATIONAL", "100"),
            ("PILOT_ALERTS_WEBHOOK_MAX_ATTEMPTS", "4"),
            ("PILOT_CHECKPOINTS_KEY_FILE", "/from/variable.key"),
        ],
    );
    let out = text(&check.stdout);
    assert!(check.status.success(), "{check:?}");
    for line in [
        // Top level: flag over variable over file; variable over file; file alone.
        "listen: 127.0.0.1:9003",
        "listen: flag --listen",
        "max_body_bytes: 6000",
        "max_body_bytes: variable PILOT_MAX_BODY_BYTES",
        "consumer: from-file",
        "consumer: the file",
        // [nats]
        "nats: nats://flag:4222",
        "nats.url: flag --nats-url",
        "nats.user: the file",
        "nats.password: variable PILOT_NATS_PASSWORD",
        // [alerts], [alerts.thresholds], [alerts.webhook], [checkpoints]
        "alerts.warning_share: variable PILOT_ALERTS_WARNING_SHARE",
        "alerts.thresholds.county: the file",
        "alerts.thresholds.national: variable PILOT_ALERTS_THRESHOLDS_NATIONAL",
        "alerts.webhook.url: the file",
        "alerts.webhook.max_attempts: flag --alerts-webhook-max-attempts",
        "checkpoints.key_file: variable PILOT_CHECKPOINTS_KEY_FILE",
    ] {
        assert!(out.contains(line), "{line:?} missing from\n{out}");
    }
    // Where a key came from is shown, never a value that may be a secret.
    assert!(!out.contains("secret-from-variable"), "{out}");
    // Keys left alone are not listed.
    assert!(!out.contains("secure_cookies"), "{out}");
}

#[test]
fn confighttp_an_unknown_variable_is_a_warning_naming_it_and_the_closest_known_one() {
    let dir = tempfile::tempdir().unwrap();
    let check = pilot(
        &[
            "config",
            "check",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[
            ("PILOT_FOO", "1"),
            ("PILOT_MAX_BODY_BYTE", "4096"),
            // The client's, the local nats-server's and the admin token's are known.
            ("PILOT_TOKEN", "t"),
            ("PILOT_SERVER", "http://127.0.0.1:1"),
            ("PILOT_NATS_SERVER", "/nonexistent/nats-server"),
        ],
    );
    let out = text(&check.stdout);
    assert!(check.status.success(), "{check:?}");
    assert!(
        out.contains("warning: PILOT_FOO is not a variable pilot reads"),
        "{out}"
    );
    assert!(
        out.contains(
            "warning: PILOT_MAX_BODY_BYTE is not a variable pilot reads; did you mean PILOT_MAX_BODY_BYTES?"
        ),
        "{out}"
    );
    assert_eq!(out.matches("warning:").count(), 2, "{out}");
}

#[test]
fn confighttp_a_bad_value_in_a_variable_or_flag_names_it_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    for (name, value, says) in [
        (
            "PILOT_MAX_BODY_BYTES",
            "lots",
            "\"lots\" is not a whole number",
        ),
        (
            "PILOT_ANONYMOUS_READS",
            "yes",
            "\"yes\" is not true or false",
        ),
        ("PILOT_LISTEN", "nowhere", "invalid socket address"),
        ("PILOT_ONLY", "api,web", "unknown variant `web`"),
    ] {
        let check = pilot(
            &["config", "check", "--data-dir", data_dir],
            &[(name, value)],
        );
        let stderr = text(&check.stderr);
        assert_eq!(check.status.code(), Some(2), "{name}: {check:?}");
        assert!(stderr.contains(&format!("variable {name}")), "{stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
    }
    let flag = pilot(
        &[
            "config",
            "check",
            "--data-dir",
            data_dir,
            "--max-connections=-1",
        ],
        &[],
    );
    assert_eq!(flag.status.code(), Some(2), "{flag:?}");
    assert!(text(&flag.stderr).contains("--max-connections"), "{flag:?}");
    // `pilot serve` refuses it the same way, before starting anything.
    let (code, stderr) = serve_must_exit(
        &["--data-dir", data_dir],
        &[("PILOT_HEADER_READ_TIMEOUT_MS", "soon")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("PILOT_HEADER_READ_TIMEOUT_MS"), "{stderr}");
}

const ALLOWED: &str = "http://dashboard.example.test";
const ADMIN_TOKEN: &str = "config-http-admin-token";

/// `pilot serve --demo` with CORS for [`ALLOWED`], set by variable; its `http://HOST:PORT`.
fn serve_demo(data_dir: &Path) -> (PilotProcess, String) {
    let stderr = data_dir.with_extension("stderr.log");
    let mut process = PilotProcess::serve(
        &["--demo", "--data-dir", data_dir.to_str().unwrap()],
        &[
            ("PILOT_CORS_ORIGINS", ALLOWED),
            ("PILOT_ADMIN_TOKEN", ADMIN_TOKEN),
            ("PILOT_MAX_BODY_BYTE", "4096"),
        ],
        &stderr,
    );
    let ready = process.wait_for_url();
    let host = ready
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    (process, format!("http://{host}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn confighttp_compression_sse_and_cors_over_a_real_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (process, base) = serve_demo(&dir.path().join("data"));
    let http = reqwest::Client::new();

    // The unknown variable was named in the log, with the one meant.
    let log = process.stderr();
    assert!(
        log.contains("PILOT_MAX_BODY_BYTE") && log.contains("PILOT_MAX_BODY_BYTES"),
        "{log}"
    );

    // An export page: gzip when asked for, several times smaller than what it decodes to.
    let export = format!("{base}/api/v1/events?limit=1000");
    let response = http
        .get(&export)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let gzipped = response.bytes().await.unwrap();
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert!(
        plain.len() >= 4 * gzipped.len(),
        "{} bytes gzipped to {}",
        plain.len(),
        gzipped.len()
    );
    // Not asked for: not compressed, and the same page.
    let response = http.get(&export).send().await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(response.bytes().await.unwrap(), plain);
    // Brotli when preferred.
    let response = http
        .get(&export)
        .header("accept-encoding", "br;q=1.0, gzip;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "br");

    // Server-Sent Events: never compressed, so an event arrives as it happens.
    let mut stream = http
        .get(format!("{base}/api/v1/events/stream"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers().get("content-encoding").is_none());
    let appended = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&common::lobbying_contact("compression check", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(appended.status(), 201, "{:?}", appended.text().await);
    let sent = Instant::now();
    let mut seen = String::new();
    while !seen.contains("compression check") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event within 5 s; got {seen:?}"))
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(sent.elapsed() < Duration::from_secs(5));
    assert!(seen.contains("event: lobbying.contact_logged"), "{seen}");

    // CORS: a preflight from the allowed origin is answered 204 with what it may send.
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, format!("{base}/api/v1/pilots"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight(ALLOWED).await.unwrap();
    assert_eq!(allowed.status(), 204);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], ALLOWED);
    let allow_headers = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allow_headers.contains("authorization"), "{allow_headers}");
    let allow_methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(allow_methods.contains("GET") && allow_methods.contains("POST"));
    // Another origin: no Access-Control-Allow-Origin, so its browser refuses the request.
    let other = preflight("http://elsewhere.example.test").await.unwrap();
    assert!(
        other.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        other.headers()
    );
    // The request itself from the allowed origin carries the header too.
    let read = http
        .get(format!("{base}/api/v1/pilots"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["access-control-allow-origin"], ALLOWED);
    drop(stream);
    drop(process);
}
