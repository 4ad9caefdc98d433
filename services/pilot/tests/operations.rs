//! What an operator's tools read from a running `pilot serve`: every metric the shipped alert
//! rules and Grafana dashboard query is on `/metrics`; the process and build figures are
//! there and true; `--log-format json` writes one JSON object a line, whatever the input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_nats_harness::NatsServer;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::process::PilotProcess;

const RULES: &str = "deploy/prometheus/pilot-tracker-rules.yml";
const DASHBOARD: &str = "deploy/grafana/pilot-tracker.json";
/// Series Prometheus makes itself for every target, not read from `/metrics`.
const MADE_BY_PROMETHEUS: &[&str] = &["up"];

fn repository_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- PromQL: the metric names an expression reads ----

/// Operators, modifiers and aggregations (`sum by (le) (...)` puts no `(` after `sum`).
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
/// Keywords followed by a list of label names in parentheses.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names in a PromQL expression: identifiers outside strings, label matchers,
/// ranges and grouping lists that are neither functions nor keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let closing = |open: char| match open {
        '{' => '}',
        '[' => ']',
        _ => open,
    };
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`' | '{' | '[') {
            // Skip to the matching close, past any string inside.
            let close = closing(c);
            i += 1;
            while i < chars.len() && chars[i] != close {
                if c != '"' && c != '\'' && c != '`' && matches!(chars[i], '"' | '\'') {
                    let quote = chars[i];
                    i += 1;
                    while i < chars.len() && chars[i] != quote {
                        i += usize::from(chars[i] == '\\') + 1;
                    }
                } else if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_digit() || c == '.' || c == '$' {
            // A number (0.95, 1e3) or a dashboard variable: not a name.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "._$".contains(chars[i]))
            {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = chars.get(next) == Some(&'(');
            if GROUPING.contains(&word.as_str()) && call {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
            } else if !call && !KEYWORDS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// The `expr` of every rule in the rules file, plain or as a `|` block.
fn rule_expressions(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut exprs = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest == "|" || rest == ">" {
            let indent = line.len() - line.trim_start().len();
            let block: Vec<&str> = lines[n + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .copied()
                .collect();
            exprs.push(block.join("\n"));
        } else {
            exprs.push(rest.trim_matches('"').to_string());
        }
    }
    exprs
}

/// Every query in the dashboard: the panels' `expr`s and the variables' `label_values(...)`
/// metrics.
fn dashboard_expressions(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", serde_json::Value::String(expr)) => out.push(expr.clone()),
                    ("definition", serde_json::Value::String(def)) => {
                        let inner = def
                            .strip_prefix("label_values(")
                            .and_then(|rest| rest.rsplit_once(','))
                            .map(|(metric, _label)| metric.to_string());
                        out.push(inner.unwrap_or_else(|| panic!("unknown variable query {def}")));
                    }
                    _ => dashboard_expressions(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                dashboard_expressions(item, out);
            }
        }
        _ => {}
    }
}

/// The series names a scrape offers: each sample's, and each family's by its type (a counter's
/// `_total`, a histogram's `_bucket`, `_sum`, `_count`), so a family with no series yet (a
/// refusal reason not seen so far) still counts.
fn served_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let base = name.strip_suffix("_total").unwrap_or(name);
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{base}{s}")));
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

#[test]
fn ops_promql_names_skip_functions_labels_ranges_and_grouping() {
    let names = metric_names(
        r#"histogram_quantile(0.95, sum by (le) (rate(pilot_http_request_duration_seconds_bucket{job=~"$job", route="/a{b}"}[$__rate_interval]))) + max without (le) (x_bucket)
           / on(instance) group_left (version) pilot_build_info and time() - process_start_time_seconds offset 5m > bool 1e3"#,
    );
    let expected: BTreeSet<String> = [
        "pilot_http_request_duration_seconds_bucket",
        "x_bucket",
        "pilot_build_info",
        "process_start_time_seconds",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(names, expected);
    let rules = rule_expressions("  - alert: A\n    expr: up == 0\n  - alert: B\n    expr: |\n      rate(a_total[5m]) > 0\n        and b\n    for: 1m\n");
    assert_eq!(
        rules,
        ["up == 0", "      rate(a_total[5m]) > 0\n        and b"]
    );
}

/// `pilot serve --nats URL` with its data in `dir` and `extra` arguments, and its base URL.
fn serve(server: &NatsServer, dir: &Path, extra: &[&str]) -> (PilotProcess, String) {
    serve_with(server, dir, extra, &[])
}

fn serve_with(
    server: &NatsServer,
    dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (PilotProcess, String) {
    let data = dir.join("data");
    let mut args = vec![
        "--nats".to_string(),
        server.url(),
        "--data-dir".to_string(),
        data.to_str().unwrap().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pilot = PilotProcess::serve(&args, env, &dir.join("stderr.log"));
    let ready = pilot.wait_for_url();
    // The ready line names a page (`http://ADDR/api/v1/pilots`); the tests want `http://ADDR`.
    let host = ready
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    (pilot, format!("http://{host}"))
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of the sample line that starts with `series` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn ops_every_metric_the_rules_and_the_dashboard_use_is_served() {
    let mut exprs = rule_expressions(&repository_file(RULES));
    let alerts = repository_file(RULES).matches("- alert:").count();
    assert_eq!(exprs.len(), alerts, "one expr per rule");
    let dashboard: serde_json::Value = serde_json::from_str(&repository_file(DASHBOARD)).unwrap();
    dashboard_expressions(&dashboard, &mut exprs);
    let used: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert!(used.len() >= 20, "too few names found: {used:?}");

    let server = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = "ops-test-admin-token";
    let (mut pilot, url) = serve_with(&server, dir.path(), &[], &[("PILOT_ADMIN_TOKEN", token)]);
    // A labelled family shows once it has a series: one refused append gives
    // pilot_append_rejections_total{reason} its first.
    let refused = reqwest::Client::new()
        .post(format!("{url}/api/v1/events"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    // The second scrape also shows the first's request in the HTTP histogram.
    let _ = scrape(&url).await;
    let served = served_names(&scrape(&url).await);
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !served.contains(*name) && !MADE_BY_PROMETHEUS.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{RULES} and {DASHBOARD} query names /metrics does not serve: {missing:?}\nserved: {served:?}"
    );
    pilot.terminate();
}

#[tokio::test]
async fn ops_process_build_readiness_and_nats_figures_are_true() {
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut server = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut pilot, url) = serve(&server, dir.path(), &[]);
    let text = scrape(&url).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();

    let started = sample(&text, "process_start_time_seconds").expect(&text);
    // This process's start, not the test's or the machine's (/proc/stat's boot time is
    // whole seconds).
    assert!(
        started >= before.as_secs_f64() - 2.0 && started <= now.as_secs_f64() + 2.0,
        "{started} not within [{before:?}, {now:?}]"
    );
    let resident = sample(&text, "process_resident_memory_bytes").expect(&text);
    let expected = pilot_nats_harness::resident_bytes(&pilot.pid().to_string()) as f64;
    assert!(
        resident > 1e6 && (resident - expected).abs() < expected * 0.5,
        "resident {resident} vs /proc's {expected}"
    );
    assert!(
        sample(&text, "process_open_fds").expect(&text) >= 3.0,
        "{text}"
    );
    assert!(
        sample(&text, "process_max_fds").expect(&text) >= 64.0,
        "{text}"
    );
    assert!(
        sample(&text, "process_cpu_seconds_total").expect(&text) > 0.0,
        "{text}"
    );
    let build = text
        .lines()
        .find(|line| line.starts_with("pilot_build_info{"))
        .expect(&text);
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION")))
            && build.contains("rustc=\"rustc ")
            && build.ends_with(" 1"),
        "{build}"
    );
    assert_eq!(sample(&text, "pilot_ready"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "pilot_nats_connected"), Some(1.0), "{text}");

    // NATS goes away: both say so, as /readyz does.
    server.stop();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = scrape(&url).await;
        if sample(&text, "pilot_nats_connected") == Some(0.0) {
            assert_eq!(sample(&text, "pilot_ready"), Some(0.0), "{text}");
            let readyz = reqwest::get(format!("{url}/readyz")).await.unwrap();
            assert_eq!(readyz.status(), 503);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pilot_nats_connected still not 0:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pilot.kill9();
}

// ---- JSON logs ----

const FORGED: &str = "2001-01-01T00:00:00.000000Z  INFO pilot: Token revoked. name=admin";

/// Publishes, as a foreign client would, an event whose type carries a newline and a forged
/// log line: the projector quarantines it and logs the type in the reason.
async fn publish_forged_event(server: &NatsServer) {
    let proposal = common::NANGUO
        .split(|b| *b == b'\n')
        .find(|line| line.windows(14).any(|w| w == b"pilot.proposed"))
        .unwrap();
    let mut event: serde_json::Value = serde_json::from_slice(proposal).unwrap();
    event["type"] = serde_json::json!(format!("x\n{FORGED}\u{1b}[2K"));
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.publish(
        format!("pilot.events.p.{}", event["pilot_id"].as_str().unwrap()),
        serde_json::to_vec(&event).unwrap().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
}

fn stderr_path(dir: &Path) -> PathBuf {
    dir.join("stderr.log")
}

#[tokio::test]
async fn ops_json_logs_are_one_object_a_line_with_span_fields() {
    let server = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut pilot, url) = serve(&server, dir.path(), &["--log-format", "json"]);
    // A request path with an encoded newline: logged in the request span.
    let path = "/api/v1/pilots/x%0A2001-01-01T00:00:00Z%20INFO%20forged";
    let _ = reqwest::get(format!("{url}{path}")).await.unwrap();
    publish_forged_event(&server).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    while !pilot.stderr().contains("Quarantined") || !pilot.stderr().contains(path) {
        assert!(
            Instant::now() < deadline,
            "no quarantine or request line:\n{}",
            pilot.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pilot.terminate();
    let log = std::fs::read_to_string(stderr_path(dir.path())).unwrap();
    assert!(!log.contains('\u{1b}'), "ESC reached the log:\n{log}");
    let mut lines = Vec::new();
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line:?}\n{log}"));
        let timestamp = value["timestamp"].as_str().expect(line);
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("timestamp {timestamp:?} is not RFC 3339: {e}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(value["fields"]["message"].is_string(), "{line}");
        lines.push(value);
    }
    // The newline was really in the field: it is in the parsed value, and on no line of its own.
    let quarantined = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Quarantined"))
        })
        .expect(&log);
    assert!(
        quarantined.to_string().contains(&format!("x\\n{FORGED}")),
        "{quarantined}"
    );
    // The request's span and its fields come with the events inside it.
    let request = lines
        .iter()
        .find(|l| l["span"]["uri"].as_str() == Some(path))
        .unwrap_or_else(|| panic!("no event in the request span:\n{log}"));
    assert_eq!(request["span"]["name"], "request", "{request}");
    assert_eq!(request["span"]["method"], "GET", "{request}");
    assert!(request["spans"].is_array(), "{request}");
}

/// A configuration written for a build with `--features otel` still starts this one, which
/// says in its log that it sends no traces.
#[cfg(not(feature = "otel"))]
#[tokio::test]
async fn ops_an_otlp_endpoint_without_the_otel_feature_is_reported_not_ignored() {
    let server = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut pilot, _url) = serve(
        &server,
        dir.path(),
        &["--otlp-endpoint", "http://127.0.0.1:9"],
    );
    let log = pilot.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("without the `otel` feature")),
        "{log}"
    );
    pilot.terminate();
}
