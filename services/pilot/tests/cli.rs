//! The built `pilot` binary as a client: `pilot serve --nats` on a real nats-server (the
//! harness), and the client commands run against it as a user would: import, status, export,
//! verify, append, replay, demo; their output and their exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_nats_harness::NatsServer;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::process::{serve_on_nats, PilotProcess, ServedOnNats};

const TOKEN: &str = "cli-test-admin-token";
const NANGUO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/demo/nanguo.jsonl"
);
const BHI: &str = "Basic Health Insurance (BHI)";
const HIHC: &str = "Health Insurance for Hospital Care (HIHC)";
const LCHI: &str = "Local Citizen Health Insurance (LCHI)";

/// A nats-server and a `pilot serve --nats` on it, with the bootstrap admin token; both are
/// stopped when dropped.
struct Service {
    /// First, so it is stopped while its nats-server still runs (fields drop in order).
    process: PilotProcess,
    nats: NatsServer,
    url: String,
    data: tempfile::TempDir,
}

impl Service {
    fn start() -> Service {
        let ServedOnNats {
            process,
            nats,
            data,
            url,
        } = serve_on_nats(TOKEN);
        Service {
            process,
            nats,
            url,
            data,
        }
    }

    /// Runs the client with this service and the admin token.
    fn pilot(&self, args: &[&str]) -> Run {
        run(args, &[("PILOT_SERVER", &self.url), ("PILOT_TOKEN", TOKEN)])
    }

    fn data_dir(&self) -> &str {
        path(self.data.path())
    }

    /// Runs the client with this service and no token.
    fn pilot_without_token(&self, args: &[&str]) -> Run {
        run(args, &[("PILOT_SERVER", &self.url)])
    }
}

/// What one run of the client did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts exit code `code` and returns stdout.
    fn expect(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "{self:#?}");
        &self.stdout
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.expect(0)).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pilot"));
    command
        .args(args)
        .env_remove("PILOT_SERVER")
        .env_remove("PILOT_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The table row that names `title`: its line, and the lines its wrapped cells go on over
/// (those that start blank, under the first column).
fn row(table: &str, title: &str) -> String {
    let mut lines = table.lines().skip_while(|l| !l.contains(title));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no row for {title:?} in\n{table}"));
    let mut row = first.to_string();
    for more in lines.take_while(|l| l.starts_with(' ')) {
        row.push('\n');
        row.push_str(more);
    }
    row
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn import_then_status_as_of_2001_shows_the_2000_programs_implementing_and_a_second_import_skips_all(
) {
    let service = Service::start();
    let out = service.pilot(&["import", NANGUO]).expect(0).to_string();
    assert!(
        out.contains(&format!("{} appended, 0 skipped", common::nanguo_events())),
        "{out}"
    );

    let table = service
        .pilot(&["status", "--as-of", "2001-01-01"])
        .expect(0)
        .to_string();
    for title in [BHI, HIHC] {
        assert!(row(&table, title).contains("implementing"), "{table}");
    }
    assert!(
        row(&table, HIHC).contains("insured_persons 880,000"),
        "{table}"
    );
    assert!(!table.contains(LCHI), "LCHI was proposed in 2002:\n{table}");
    // The header and a row per pilot (wrapped cells go on over lines that start blank).
    let rows = table.lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(rows, 1 + 3, "{table}");

    let views = service
        .pilot(&["status", "--as-of", "2001-01-01", "--json"])
        .json();
    let hihc = views
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["title"] == HIHC)
        .unwrap();
    assert_eq!(hihc["stage"], "implementing");
    let insured = hihc["metrics"]["insured_persons"].as_array().unwrap();
    assert_eq!(insured.last().unwrap()["value"], 880000.0);

    let again = service.pilot(&["import", NANGUO, "--json"]).json();
    assert_eq!(again["appended"], 0);
    assert_eq!(again["skipped"], common::nanguo_events());
}

#[test]
fn analytics_print_tables_and_json_as_of_a_date() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);

    // 30 November 2003: LCHI's approval waits past its deadline; the unified system (2008)
    // does not exist yet.
    let table = service
        .pilot(&["analytics", "--as-of", "2003-11-30"])
        .expect(0)
        .to_string();
    assert!(
        table.starts_with("as of 2003-11-30T23:59:59.999999999Z"),
        "{table}"
    );
    for heading in [
        "Proposal → approval (days)",
        "Request → decision (days)",
        "Stall rates",
        "Time to scale-up (days)",
        "Points per stakeholder per year",
        "Points per office per year",
    ] {
        assert!(table.contains(heading), "{heading} missing in\n{table}");
    }
    // HICI: proposed in March 1992 (from 1992-03-01 00:00), approved 645 days and 10 hours later.
    assert!(row(&table, "(HICI)").contains("645.4"), "{table}");
    assert!(!table.contains("Unified"), "{table}");
    let squeezed: Vec<String> = table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        squeezed.iter().any(|l| l == "all 4 1 1 25.0%"),
        "4 requested, 1 stalled and still pending:\n{table}"
    );

    let figures = service
        .pilot(&["analytics", "--as-of", "2003-11-30", "--json"])
        .json();
    assert_eq!(figures["pilots"].as_array().unwrap().len(), 4);
    assert_eq!(figures["stall_rates"]["overall"]["stalled_pending"], 1);

    let refused = service.pilot(&["analytics", "--as-of", "soon"]);
    assert_eq!(refused.code, Some(2), "{refused:#?}");
}

#[test]
fn alerts_list_refuse_an_ack_on_a_resolved_one_and_export_as_stored() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);
    // The alerter records the history's alerts as the import goes; the API reads them back.
    let deadline = Instant::now() + Duration::from_secs(30);
    let resolved = loop {
        let listed = service
            .pilot(&["alerts", "--state", "resolved", "--json"])
            .json();
        let alerts = listed["alerts"].as_array().cloned().unwrap_or_default();
        if alerts.len() >= 2 || Instant::now() > deadline {
            break alerts;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // LCHI's and GOHS's: the five approvals decided before their warnings were no alerts.
    assert_eq!(resolved.len(), 2, "{resolved:#?}");
    let lchi = resolved
        .iter()
        .find(|a| a["pilot_title"] == LCHI)
        .unwrap_or_else(|| panic!("{resolved:#?}"));
    assert_eq!(lchi["waited_days"], 63);

    // `pilot alerts` in any state: HICI's approval, granted on day 21 of 30, and the other
    // four decided in time are in no list.
    let all = service.pilot(&["alerts", "--json"]).json();
    let mut approvals: Vec<&str> = all["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["approval_id"].as_str().unwrap())
        .collect();
    approvals.sort();
    assert_eq!(approvals, ["gohs-2008-mayor", "lchi-2004-mayor"], "{all:#}");

    // Wide enough that no title wraps.
    let wide = [
        ("PILOT_SERVER", service.url.as_str()),
        ("PILOT_TOKEN", TOKEN),
        ("COLUMNS", "250"),
    ];
    let table = run(&["alerts"], &wide).expect(0).to_string();
    assert!(row(&table, LCHI).contains("resolved"), "{table}");
    assert!(
        row(&table, LCHI).contains("2003-11-12"),
        "the due date:\n{table}"
    );

    let id = lchi["alert_id"].as_str().unwrap();
    let shown = service.pilot(&["alerts", "show", id]).expect(0).to_string();
    assert!(shown.contains(LCHI), "{shown}");
    assert!(
        row(&shown, "state").contains("resolved"),
        "the alert's state:\n{shown}"
    );
    let shown = service.pilot(&["alerts", "show", id, "--json"]).json();
    assert_eq!(shown["alert_id"], id, "{shown:#}");
    service
        .pilot(&["alerts", "show", "0194ffff-0000-7000-8000-000000000000"])
        .expect(5);

    let refused = service.pilot(&["alerts", "ack", id]);
    refused.expect(3);
    assert!(refused.stderr.contains("alert_resolved"), "{refused:#?}");
    let unknown = service.pilot(&["alerts", "ack", "0194a000-0000-7000-8000-000000000000"]);
    unknown.expect(5);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.jsonl");
    service
        .pilot(&["alerts", "export", "-o", path(&file)])
        .expect(0);
    let lines = std::fs::read_to_string(&file).unwrap();
    let kinds: Vec<String> = lines
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|event| {
            event["transition"]["kind"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    // LCHI's stall (its warning passed over: no event falls between them), its escalation
    // and GOHS's warning, and their two resolutions; nothing of the five approvals decided
    // in time.
    let mut kinds = kinds;
    kinds.sort();
    assert_eq!(
        kinds,
        ["escalated", "fired", "resolved", "resolved", "warned"],
        "{lines}"
    );
}

/// `exported` is the Nanguo history as the log stores it: a line per event in file order,
/// each the file's line or (a person's) the same with its personal fields sealed, and after
/// each sealed one a sidecar whose fields are the file's plain values.
fn assert_exported_as_nanguo(exported: &str) {
    let file = std::fs::read_to_string(NANGUO).unwrap();
    let mut plain = file.lines().filter(|l| !l.trim().is_empty());
    let mut last: Option<(&str, &str)> = None;
    let (mut events, mut sealed, mut sidecars) = (0, 0, 0);
    for line in exported.lines() {
        if pilot_api::reveal::is_sidecar(line.as_bytes()) {
            let (stored, original) = last.take().expect("a sidecar follows an event");
            let sidecar: serde_json::Value = serde_json::from_str(line).unwrap();
            let stored: serde_json::Value = serde_json::from_str(stored).unwrap();
            let original: serde_json::Value = serde_json::from_str(original).unwrap();
            assert_eq!(sidecar["revealed_for"], stored["event_id"]);
            for (field, value) in sidecar["fields"].as_object().unwrap() {
                assert_eq!(value, &original["data"][field], "{field} of {line}");
            }
            sidecars += 1;
            continue;
        }
        let original = plain.next().expect("no more events than the file");
        if line != original {
            // Sealed, or re-linked after a sealed event of its chain: the same event but for
            // its sealed fields (the sidecar's to match), its links and a signature.
            let comparable = |text: &str| {
                let mut event: serde_json::Value = serde_json::from_str(text).unwrap();
                let object = event.as_object_mut().unwrap();
                for link in ["prev_hash", "hash", "signature"] {
                    object.remove(link);
                }
                event
            };
            let (mut stored, mut file) = (comparable(line), comparable(original));
            let data = stored["data"].as_object_mut().unwrap();
            let sealed_fields: Vec<String> = data
                .iter()
                .filter(|(_, v)| v.as_str().is_some_and(|t| t.starts_with("sealed:v1:")))
                .map(|(k, _)| k.clone())
                .collect();
            for field in &sealed_fields {
                data.remove(field);
                file["data"].as_object_mut().unwrap().remove(field);
            }
            assert_eq!(stored, file, "only sealing and re-linking change a line");
            sealed += usize::from(!sealed_fields.is_empty());
        }
        events += 1;
        last = Some((line, original));
    }
    assert_eq!(events, common::nanguo_events());
    assert!(sealed > 0, "the persons' fields are sealed");
    assert_eq!(
        sidecars, sealed,
        "a sidecar after each event with sealed fields"
    );
}

#[test]
fn an_export_imported_into_a_fresh_server_gives_the_same_projections_and_hashes() {
    let temp = tempfile::tempdir().unwrap();
    let export = temp.path().join("nanguo-export.jsonl");
    let again = temp.path().join("again.jsonl");

    let first = Service::start();
    first.pilot(&["import", NANGUO]).expect(0);
    let out = first
        .pilot(&["export", "--format", "jsonl", "-o", path(&export)])
        .expect(0)
        .to_string();
    assert!(
        out.contains(&format!("exported {} events", common::nanguo_events())),
        "{out}"
    );
    let exported = std::fs::read_to_string(&export).unwrap();
    // The log holds Nanguo's lines, its persons' fields sealed on import (every other line
    // byte for byte), and the export gives them back as stored, each sealed one followed by
    // a sidecar revealing exactly the text the file had.
    assert_exported_as_nanguo(&exported);
    let redacted = first.pilot(&["export", "--redact"]).expect(0).to_string();

    let second = Service::start();
    let out = second
        .pilot(&["import", path(&export)])
        .expect(0)
        .to_string();
    assert!(
        out.contains(&format!("{} appended", common::nanguo_events())),
        "{out}"
    );
    // The same lines as stored; the second server has not the first's keys, so only the
    // redacted exports (no sidecars) are the same bytes.
    second
        .pilot(&[
            "export",
            "--redact",
            "--format",
            "jsonl",
            "-o",
            path(&again),
        ])
        .expect(0);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), redacted);
    for args in [
        &["status", "--json"][..],
        &["status", "--json", "--as-of", "2001-01-01"],
        &["status", "--json", "--known-at", "2004-01-01"],
    ] {
        assert_eq!(
            first.pilot(args).json(),
            second.pilot(args).json(),
            "{args:?}"
        );
    }
}

#[test]
fn verify_passes_on_an_export_and_names_a_tampered_line_with_exit_code_6() {
    let temp = tempfile::tempdir().unwrap();
    let export = temp.path().join("export.jsonl");
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);
    service.pilot(&["export", "-o", path(&export)]).expect(0);

    let out = service
        .pilot(&["verify", path(&export)])
        .expect(0)
        .to_string();
    assert!(
        out.contains(&format!("{} events", common::nanguo_events())),
        "{out}"
    );
    // Redacted (no sidecar lines with personal fields revealed): still the log, and verifies.
    let redacted = temp.path().join("redacted.jsonl");
    service
        .pilot(&["export", "--redact", "-o", path(&redacted)])
        .expect(0);
    let redacted_text = std::fs::read_to_string(&redacted).unwrap();
    assert!(!redacted_text.contains("revealed_for"));
    assert_eq!(redacted_text.lines().count(), common::nanguo_events());
    service.pilot(&["verify", path(&redacted)]).expect(0);

    // Without a file: the server's whole log.
    let report = service.pilot(&["verify", "--json"]).json();
    assert_eq!(report["verified"], true);
    assert_eq!(report["events"], common::nanguo_events());

    // Change one field of one line: HIHC's year-end coverage.
    let text = std::fs::read_to_string(&export).unwrap();
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("\"value\":880000.0"))
        .unwrap();
    let event_id = serde_json::from_str::<serde_json::Value>(line).unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_string();
    let tampered = temp.path().join("tampered.jsonl");
    std::fs::write(
        &tampered,
        text.replace("\"value\":880000.0", "\"value\":980000.0"),
    )
    .unwrap();
    let verdict = service.pilot(&["verify", path(&tampered)]);
    verdict.expect(6);
    let number = index + 1;
    assert!(
        verdict.stderr.contains(&format!("line {number}:")),
        "{verdict:#?}"
    );
    assert!(verdict.stderr.contains(&event_id), "{verdict:#?}");
    assert!(verdict.stderr.starts_with("pilot: "), "{verdict:#?}");

    // An export cut at a date is a prefix of every chain: it still verifies.
    let until = service
        .pilot(&["export", "--until", "2001-01-01"])
        .expect(0)
        .to_string();
    let kept = until.lines().count();
    assert!(kept > 0 && kept < common::nanguo_events(), "{kept}");
    let cut = temp.path().join("cut.jsonl");
    std::fs::write(&cut, &until).unwrap();
    service.pilot(&["verify", path(&cut)]).expect(0);
}

#[test]
fn csv_export_has_a_header_and_one_row_per_event() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);
    let out = service
        .pilot(&["export", "--format", "csv"])
        .expect(0)
        .to_string();
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "position",
            "event_id",
            "type",
            "pilot_id",
            "stakeholder_id",
            "occurred_at",
            "recorded_at",
            "office",
            "user",
            "hash",
            "data"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), common::nanguo_events());
    // The events as the log stores them (persons' fields sealed on import).
    let stored = service.pilot(&["export", "--redact"]).expect(0).to_string();
    for (i, (row, line)) in rows.iter().zip(stored.lines()).enumerate() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(&row[0], (i + 1).to_string(), "{row:?}");
        assert_eq!(&row[1], event["event_id"].as_str().unwrap());
        assert_eq!(&row[9], event["hash"].as_str().unwrap());
        let data: serde_json::Value = serde_json::from_str(&row[10]).unwrap();
        assert_eq!(data, event["data"]);
    }
}

#[test]
fn append_refusals_and_missing_tokens_have_their_exit_codes() {
    let service = Service::start();
    let out = service.pilot(&["demo"]).expect(0).to_string();
    assert!(
        out.contains(&format!("{} appended", common::nanguo_events())),
        "{out}"
    );

    let temp = tempfile::tempdir().unwrap();
    let draft = |stance: i64| common::lobbying_contact("Follow-up on the unified fund", stance);
    let bad = temp.path().join("bad.json");
    std::fs::write(&bad, draft(7).to_string()).unwrap();
    let refused = service.pilot(&["append", path(&bad)]);
    refused.expect(3);
    assert!(refused.stderr.starts_with("pilot: "), "{refused:#?}");
    assert!(refused.stderr.contains("data.stance"), "{refused:#?}");
    assert!(refused.stderr.contains("HTTP 422"), "{refused:#?}");

    let not_json = temp.path().join("not.json");
    std::fs::write(&not_json, "{\"type\": ").unwrap();
    let refused = service.pilot(&["append", path(&not_json)]);
    refused.expect(3);
    assert!(refused.stderr.contains("not JSON"), "{refused:#?}");

    let good = temp.path().join("good.json");
    std::fs::write(&good, draft(2).to_string()).unwrap();
    let stored = service.pilot(&["append", path(&good), "--json"]).json();
    let event = &stored["events"][0];
    assert_eq!(event["type"], "lobbying.contact_logged");
    assert_eq!(event["position"], common::nanguo_events() + 1);
    let version = event["version"].as_u64().unwrap();
    let conflict = service.pilot(&[
        "append",
        path(&good),
        "--expected-version",
        &(version - 1).to_string(),
    ]);
    // The same draft without an event_id is a new event: the version no longer matches.
    conflict.expect(3);
    assert!(
        conflict.stderr.contains("version_conflict"),
        "{conflict:#?}"
    );

    let denied = service.pilot_without_token(&["status"]);
    denied.expect(4);
    assert!(denied.stderr.contains("unauthorized"), "{denied:#?}");
    let wrong = run(
        &["status"],
        &[
            ("PILOT_SERVER", &service.url),
            ("PILOT_TOKEN", "not-the-token"),
        ],
    );
    wrong.expect(4);

    let missing = service.pilot(&["status", "0194a000-0001-7000-8000-0000000000ff"]);
    missing.expect(5);
}

#[test]
fn replay_reads_the_log_from_nats_and_prints_the_pilots_and_alerts() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);
    let nats = service.nats.url();
    // No server involved: the NATS log alone (and no token needed).
    let out = run(&["replay", "--nats", &nats, "--until", "2001-01-01"], &[])
        .expect(0)
        .to_string();
    assert!(
        out.contains(&format!(
            "replayed {} events (0 refused)",
            common::nanguo_events()
        )),
        "{out}"
    );
    assert!(row(&out, HIHC).contains("insured_persons 880,000"), "{out}");
    assert!(row(&out, BHI).contains("implementing"), "{out}");
    assert!(!out.contains(LCHI), "{out}");

    // The same views as the server's status as of that date.
    let replayed = run(
        &["replay", "--nats", &nats, "--until", "2001-01-01", "--json"],
        &[],
    )
    .json();
    let status = service
        .pilot(&["status", "--as-of", "2001-01-01", "--json"])
        .json();
    assert_eq!(replayed["pilots"], status);

    // LCHI's approval stalled in 2003: the replayed alert book fires and escalates.
    let replayed = service
        .pilot(&["replay", "--until", "2004-01-01", "--json"])
        .json();
    let lchi: Vec<&str> = replayed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["approval_id"] == "lchi-2004-mayor")
        .map(|n| n["transition"]["kind"].as_str().unwrap())
        .collect();
    // No event falls between its warning and its stall: the replay jumps past both and
    // lists the stall only (docs/alerting.md, "Catching up is not a flood").
    assert_eq!(lchi, ["fired", "escalated", "resolved"]);

    // NATS holds no keys: the log as stored, as the server's redacted export gives it.
    let export = run(&["export", "--nats", &nats], &[]).expect(0).to_string();
    let redacted = service.pilot(&["export", "--redact"]).expect(0).to_string();
    assert_eq!(export, redacted);
    assert!(!export.contains("revealed_for"));
    run(&["verify", "--nats", &nats], &[]).expect(0);
}

/// `pilot replay --file` folds an export as `pilot replay` folds the server's log: the same
/// pilots, the same alerts. Of Nanguo's seven approvals only the two that reached their
/// warnings are alerts; the five decided in time (HICI's, granted on day 21 of 30, among
/// them) are listed nowhere.
#[test]
fn replay_folds_an_exported_file_as_it_folds_the_server() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.jsonl");
    service
        .pilot(&["export", "--format", "jsonl", "-o", path(&file)])
        .expect(0);
    let args = ["replay", "--until", "2012-01-01", "--json"];
    let from_server = service.pilot(&args).json();
    // No server, no token: the file alone.
    let from_file = run(&[&args[..], &["--file", path(&file)]].concat(), &[]).json();
    assert_eq!(from_file["events"], common::nanguo_events());
    assert_eq!(from_file["refused"], serde_json::json!([]));
    assert_eq!(from_file["pilots"], from_server["pilots"]);
    assert_eq!(from_file["alerts"], from_server["alerts"]);
    let mut approvals: Vec<&str> = from_file["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["approval_id"].as_str().unwrap())
        .collect();
    approvals.dedup();
    assert_eq!(approvals, ["lchi-2004-mayor", "gohs-2008-mayor"]);

    let table = run(
        &["replay", "--file", path(&file), "--until", "2012-01-01"],
        &[],
    )
    .expect(0)
    .to_string();
    assert!(
        table.contains(&format!(
            "replayed {} events (0 refused)",
            common::nanguo_events()
        )),
        "{table}"
    );
    assert!(!table.contains("hici-1994-mayor"), "{table}");
}

#[test]
fn replay_of_a_missing_or_broken_file_says_which_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.jsonl");
    let run_missing = run(&["replay", "--file", path(&missing)], &[]);
    run_missing.expect(1);
    assert!(
        run_missing.stderr.starts_with("pilot: cannot read ")
            && run_missing.stderr.contains("absent.jsonl"),
        "{run_missing:#?}"
    );

    let broken = dir.path().join("broken.jsonl");
    let nanguo = std::fs::read_to_string(NANGUO).unwrap();
    let mut lines: Vec<&str> = nanguo.lines().take(3).collect();
    lines.push("{\"event_id\": 7}");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let refused = run(&["replay", "--file", path(&broken)], &[]);
    refused.expect(3);
    assert!(
        refused
            .stderr
            .contains("broken.jsonl line 4 is not a stored event: "),
        "{refused:#?}"
    );
    assert!(refused.stdout.is_empty(), "nothing replayed: {refused:#?}");

    let both = run(
        &["replay", "--file", path(&broken), "--nats", "nats://x"],
        &[],
    );
    both.expect(2);
}

#[test]
fn without_a_server_the_client_fails_plainly() {
    let unreachable = run(&["status", "--server", "http://127.0.0.1:1"], &[]);
    unreachable.expect(1);
    assert!(
        unreachable.stderr.starts_with("pilot: "),
        "{unreachable:#?}"
    );
    assert!(
        unreachable.stderr.contains("cannot be reached"),
        "{unreachable:#?}"
    );

    let usage = run(&["status", "--as-of", "someday"], &[]);
    usage.expect(2);

    // verify of a file needs no server.
    run(&["verify", NANGUO], &[]).expect(0);
    let missing = run(&["verify", "/nonexistent/export.jsonl"], &[]);
    missing.expect(1);
    assert!(
        missing.stderr.contains("/nonexistent/export.jsonl"),
        "{missing:#?}"
    );
}

#[test]
fn reading_a_nats_server_without_a_pilot_log_creates_nothing() {
    let server = pilot_nats_harness::NatsServer::start().unwrap();
    for _ in 0..2 {
        // Twice: had the first read created the streams, the second would export nothing.
        let refused = run(&["export", "--nats", &server.url()], &[]);
        refused.expect(1);
        assert!(
            refused.stderr.contains("has no stream PILOT_EVENTS"),
            "{refused:#?}"
        );
    }
}

/// A log of the Nanguo history (imported, unsigned) and one signed append, sealed when the
/// service stopped: its export's lines, the keys file and the seal file, in `dir`.
struct Sealed {
    _service: Service,
    lines: Vec<String>,
    keys: String,
    seal: String,
}

fn sealed_log(dir: &Path) -> Sealed {
    let mut service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);
    let draft = dir.join("draft.json");
    std::fs::write(
        &draft,
        common::lobbying_contact("Reporting the first year", 2).to_string(),
    )
    .unwrap();
    service.pilot(&["append", path(&draft)]).expect(0);
    let keys = dir.join("keys.txt");
    let printed = run(&["keys", "--data-dir", service.data_dir()], &[]);
    std::fs::write(&keys, printed.expect(0)).unwrap();
    // Through the server: the import's seal (taken just after it) covers the history, and
    // the append is signed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let verdict = service.pilot(&["verify", "--keys", path(&keys)]);
        if verdict.code == Some(0) {
            assert!(
                verdict.stdout.contains("signed or covered by the seal"),
                "{verdict:#?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no seal covered the import: {verdict:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stopping seals the chains' heads once more: the seal covers the signed append too.
    service.process.terminate();
    let nats = service.nats.url();
    // Reading NATS directly, verify finds the latest seal by itself.
    let whole = run(&["verify", "--nats", &nats, "--keys", path(&keys)], &[]);
    assert!(
        whole.expect(0).contains("signed or covered by the seal"),
        "{whole:#?}"
    );
    let export = run(&["export", "--nats", &nats], &[]).expect(0).to_string();
    let seal = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let log = pilot_store::jetstream::JetStreamLog::open_existing(&nats)
            .await
            .unwrap();
        pilot_store::SealLog::latest_seal(&log)
            .await
            .unwrap()
            .expect("a seal was recorded")
    });
    assert_eq!(seal.events, common::nanguo_events() as u64 + 1);
    let seal_file = dir.join("seal.json");
    std::fs::write(&seal_file, seal.to_json()).unwrap();
    let sealed = Sealed {
        _service: service,
        lines: export.lines().map(str::to_string).collect(),
        keys: path(&keys).to_string(),
        seal: path(&seal_file).to_string(),
    };
    assert!(
        sealed.lines[imported()].contains("\"signature\""),
        "the append is signed"
    );
    assert!(
        !sealed.lines[0].contains("\"signature\""),
        "imported history is not"
    );
    sealed
}

impl Sealed {
    /// `pilot verify FILE` of `lines`, with the keys and the seal or without.
    fn verify(&self, dir: &Path, lines: &[String], with_keys: bool) -> Run {
        let file = dir.join("candidate.jsonl");
        std::fs::write(&file, lines.join("\n")).unwrap();
        let mut args = vec!["verify", path(&file)];
        if with_keys {
            args.extend(["--keys", &self.keys, "--seal", &self.seal]);
        }
        run(&args, &[])
    }
}

/// How many lines the imported history takes, so the signed append is `lines[imported()]`.
fn imported() -> usize {
    common::nanguo_events() as usize
}

/// Line `index` edited and sealed again with a correct hash (no key needed for that).
fn resealed(lines: &[String], index: usize) -> Vec<String> {
    let mut envelope = pilot_events::decode(lines[index].as_bytes()).unwrap();
    envelope.actor.user = "someone else".into();
    let prev = envelope.prev_hash;
    let envelope = envelope.seal(prev);
    let mut out = lines.to_vec();
    out[index] = envelope.to_json();
    out
}

#[test]
fn a_resealed_chain_fails_verify_with_keys() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = sealed_log(dir.path());
    sealed.verify(dir.path(), &sealed.lines, true).expect(0);

    // The signed append, edited and resealed: its hashes hold, its signature does not.
    let edited = resealed(&sealed.lines, imported());
    sealed.verify(dir.path(), &edited, false).expect(0);
    let verdict = sealed.verify(dir.path(), &edited, true);
    verdict.expect(6);
    assert!(verdict.stderr.contains("does not verify"), "{verdict:#?}");

    // An unsigned imported event, edited and resealed (HIHC's last: nothing follows it in its
    // chain): the hashes hold, the seal's root does not.
    let last_of_hihc = sealed
        .lines
        .iter()
        .rposition(|l| l.contains("0194a000-0001-7000-8000-000000000003"))
        .unwrap();
    let edited = resealed(&sealed.lines, last_of_hihc);
    sealed.verify(dir.path(), &edited, false).expect(0);
    let verdict = sealed.verify(dir.path(), &edited, true);
    verdict.expect(6);
    assert!(
        verdict.stderr.contains("differ from the seal"),
        "{verdict:#?}"
    );
}

#[test]
fn a_dropped_tail_fails_verify_against_the_seal() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = sealed_log(dir.path());
    let cut = &sealed.lines[..imported()];
    sealed.verify(dir.path(), cut, false).expect(0);
    let verdict = sealed.verify(dir.path(), cut, true);
    verdict.expect(6);
    assert!(verdict.stderr.contains("were dropped"), "{verdict:#?}");
    // An unsigned event with no seal to cover it is refused by name.
    let keys_only = run(
        &[
            "verify",
            &{
                let file = dir.path().join("nanguo.jsonl");
                std::fs::write(&file, sealed.lines[..imported()].join("\n")).unwrap();
                path(&file).to_string()
            },
            "--keys",
            &sealed.keys,
        ],
        &[],
    );
    keys_only.expect(6);
    assert!(keys_only.stderr.contains("is not signed"), "{keys_only:#?}");
}

/// Every line of `text` by display width (a CJK character or an emoji takes two columns).
fn display_widths(text: &str) -> Vec<usize> {
    text.lines()
        .map(unicode_width::UnicodeWidthStr::width)
        .collect()
}

/// The pilots' ids by title, from `pilot status --json`.
fn pilot_ids(service: &Service) -> Vec<(String, String)> {
    let listed = service.pilot(&["status", "--json"]).json();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["title"].as_str().unwrap().to_string(),
                p["pilot_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A stakeholder's registration, dated after the Nanguo history.
fn registration(name: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "stakeholder.registered",
        "stakeholder_id": "0194a000-0002-7000-8000-0000000000c1",
        "occurred_at": "2012-03-01T10:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "clerk"},
        "data": {"name": name, "kind": "bureau", "level": "municipal", "influence": 3}
    })
}

#[test]
fn clicmd_pilots_and_stakeholders_are_found_by_title_prefix_or_short_id() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);

    // The start of a title, in any case.
    let detail = service.pilot(&["status", "local citizen"]);
    assert!(
        detail.expect(0).starts_with(&format!("{LCHI}\n")),
        "{detail:#?}"
    );

    // An acronym no title starts with: the title that holds it.
    let by_acronym = service.pilot(&["support", "LCHI"]);
    assert!(
        by_acronym.expect(0).contains("Bureau of Finance of Nanguo"),
        "{by_acronym:#?}"
    );

    // A short id that every Nanguo pilot's id starts with names none of them.
    let shared = service.pilot(&["status", "0194a000"]);
    shared.expect(3);
    assert!(shared.stderr.contains("matches 5 pilots"), "{shared:#?}");
    let ids = pilot_ids(&service);

    // Two titles start so: exit 3, naming both.
    let ambiguous = service.pilot(&["status", "Health Insurance for"]);
    ambiguous.expect(3);
    assert!(
        ambiguous.stderr.contains("matches 2 pilots"),
        "{ambiguous:#?}"
    );
    assert!(ambiguous.stderr.contains(HIHC), "{ambiguous:#?}");
    assert!(ambiguous.stderr.contains("(HICI)"), "{ambiguous:#?}");

    // None does: exit 5, with what there is.
    let unknown = service.pilot(&["status", "Long-term Care"]);
    unknown.expect(5);
    assert!(
        unknown
            .stderr
            .contains("no pilot matches \"Long-term Care\""),
        "{unknown:#?}"
    );
    assert!(unknown.stderr.contains(BHI), "{unknown:#?}");

    // Stakeholders alike: a whole name wins over the longer names it starts.
    let li = service.pilot(&["stakeholders", "party secretary li"]);
    let text = li.expect(0);
    assert!(text.starts_with("Party Secretary Li\n"), "{li:#?}");
    assert!(text.contains("stances:"), "{li:#?}");
    let json = service
        .pilot(&["stakeholders", "Party Secretary Li", "--json"])
        .json();
    assert_eq!(json["name"], "Party Secretary Li");
    assert!(json["ledger"].is_array(), "{json:#}");
    service
        .pilot(&["stakeholders", "Party Secretary"])
        .expect(3);
    // A short id: a new stakeholder's id starts unlike the others.
    let temp = tempfile::tempdir().unwrap();
    let draft = temp.path().join("media.json");
    let mut registered = registration("Nanguo Evening News");
    registered["stakeholder_id"] = "5eed0000-0000-7000-8000-000000000001".into();
    std::fs::write(&draft, registered.to_string()).unwrap();
    service.pilot(&["append", path(&draft)]).expect(0);
    let by_short = service.pilot(&["stakeholders", "5eed0000"]);
    assert!(
        by_short.expect(0).starts_with("Nanguo Evening News\n"),
        "{by_short:#?}"
    );
    service.pilot(&["stakeholders", "Mayor Wu"]).expect(5);
    // And the filters that take one.
    let lines = service
        .pilot(&["highlights", "--pilot", "basic health", "--json"])
        .json();
    let bhi = &ids.iter().find(|(t, _)| t == BHI).unwrap().1;
    let lines = lines.as_array().unwrap();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l["pilot_id"] == bhi.as_str()),
        "{lines:#?}"
    );
}

#[test]
fn clicmd_tables_line_up_wide_characters_and_fit_the_terminal() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);
    let temp = tempfile::tempdir().unwrap();
    let draft = temp.path().join("bureau.json");
    let bureau = "南国市财政局 💰";
    std::fs::write(&draft, registration(bureau).to_string()).unwrap();
    service.pilot(&["append", path(&draft)]).expect(0);

    let narrow = [
        ("PILOT_SERVER", service.url.as_str()),
        ("PILOT_TOKEN", TOKEN),
        ("COLUMNS", "60"),
    ];
    // Sixty columns are too few for the name whole: it wraps, by display width, and every
    // line is as wide as the header.
    let table = run(&["stakeholders"], &narrow).expect(0).to_string();
    assert!(table.contains("南国市"), "{table}");
    let widths = display_widths(&table);
    assert!(
        widths.iter().all(|w| *w == widths[0]),
        "{widths:?}\n{table}"
    );
    assert!(widths[0] <= 60, "{table}");
    // Names, not ids, unless asked.
    assert!(!table.contains("0194a000-0002"), "{table}");
    let wide = service
        .pilot(&["stakeholders", "--ids"])
        .expect(0)
        .to_string();
    assert!(
        row(&wide, "南国市财政局").contains("0194a000-0002-7000-8000-0000000000c1"),
        "{wide}"
    );

    let pilots = run(&["status"], &narrow).expect(0).to_string();
    assert!(display_widths(&pilots).iter().all(|w| *w <= 60), "{pilots}");
    assert!(pilots.contains("SSDNC"), "{pilots}");
    assert!(!pilots.contains("0194a000-0001"), "{pilots}");
}

#[test]
fn clicmd_status_filters_support_alerts_events_and_offices() {
    let service = Service::start();
    service.pilot(&["import", NANGUO]).expect(0);

    let implementing = service
        .pilot(&["status", "--stage", "implementing", "--json"])
        .json();
    let implementing = implementing.as_array().unwrap();
    assert!(!implementing.is_empty());
    assert!(implementing.iter().all(|p| p["stage"] == "implementing"));
    let all = service.pilot(&["status", "--json"]).json();
    assert!(all.as_array().unwrap().len() > implementing.len());
    let table = service
        .pilot(&["status", "--office", "SSDNC", "--stalled=false"])
        .expect(0)
        .to_string();
    assert!(table.contains(BHI), "{table}");
    let bad = service.pilot(&["status", "--stage", "flying"]);
    bad.expect(2);
    assert!(bad.stderr.contains("implementing"), "{bad:#?}");

    let support = service.pilot(&["support", "Local Citizen"]);
    let text = support.expect(0);
    assert!(text.starts_with("support_index "), "{support:#?}");
    assert!(text.contains("Bureau of Finance of Nanguo"), "{support:#?}");
    let json = service
        .pilot(&["support", "Local Citizen", "--json"])
        .json();
    assert!(json["stakeholders"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));

    // LCHI's alert, and only its.
    let deadline = Instant::now() + Duration::from_secs(30);
    let alerts = loop {
        let listed = service
            .pilot(&["alerts", "--pilot", "local citizen", "--json"])
            .json();
        let alerts = listed["alerts"].as_array().cloned().unwrap_or_default();
        if !alerts.is_empty() || Instant::now() > deadline {
            break alerts;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!alerts.is_empty());
    assert!(
        alerts.iter().all(|a| a["pilot_title"] == LCHI),
        "{alerts:#?}"
    );

    // Events: one pilot's approvals, as a table naming the pilot, and as stored.
    let events = service
        .pilot(&["events", "--pilot", "Local Citizen", "--type", "approval"])
        .expect(0)
        .to_string();
    let lines: Vec<&str> = events.lines().skip(1).collect();
    assert!(!lines.is_empty(), "{events}");
    for line in &lines {
        assert!(line.contains("approval."), "{events}");
        // Where it stands in the log, though the page held one chain.
        let position = line.split_whitespace().next().unwrap();
        assert!(position.parse::<u64>().is_ok(), "{events}");
    }
    assert!(events.contains(LCHI), "{events}");
    let stored = service
        .pilot(&["events", "--since", "2004-01-01", "--last", "3", "--json"])
        .expect(0)
        .to_string();
    let stored: Vec<serde_json::Value> = stored
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stored.len(), 3, "{stored:#?}");
    assert!(stored
        .iter()
        .all(|e| e["occurred_at"].as_str().unwrap() >= "2004"));
    service
        .pilot(&["events", "--pilot", "Long-term Care"])
        .expect(5);

    let offices = service.pilot(&["offices"]).expect(0).to_string();
    assert!(offices.contains("SSDNC"), "{offices}");

    // A jurisdiction by name: its context, and its pilots by title.
    let nanguo = service.pilot(&["jurisdictions", "nanguo"]);
    let text = nanguo.expect(0);
    assert!(text.starts_with("Nanguo\n"), "{nanguo:#?}");
    assert!(
        text.contains("The province asks Nanguo to raise social insurance"),
        "{nanguo:#?}"
    );
    assert!(text.contains(LCHI), "{nanguo:#?}");
}

/// A running `pilot follow`: its stdout lines as they come, and its exit.
struct Follower {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Follower {
    fn start(service: &Service, args: &[&str]) -> Follower {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pilot"))
            .arg("follow")
            .args(args)
            .env_remove("RUST_LOG")
            .env("PILOT_SERVER", &service.url)
            .env("PILOT_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // It says on stderr once the stream is open.
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
        assert!(first.contains("following"), "{first}");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// Lines until one contains `wanted`.
    fn until(&self, wanted: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let done = line.contains(wanted);
                seen.push(line);
                if done {
                    return seen;
                }
            }
        }
        panic!("no line with {wanted:?} in {seen:#?}");
    }

    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "pilot follow did not end");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn clicmd_follow_prints_each_event_and_ends_on_a_signal_or_the_server_stopping() {
    let mut service = Service::start();
    let mut lines = Follower::start(&service, &[]);
    let mut json = Follower::start(&service, &["--json", "--type", "pilot.proposed"]);
    let mut interrupted = Follower::start(&service, &[]);
    let mut terminated = Follower::start(&service, &["--type", "pilot"]);
    service.pilot(&["import", NANGUO]).expect(0);

    // Each event a line, its pilot by title (learnt from the proposal the stream brought).
    let seen = lines.until(BHI);
    assert!(seen.last().unwrap().contains("pilot.proposed"), "{seen:#?}");
    assert!(seen[0].contains("stakeholder.registered"), "{seen:#?}");
    // As stored, only the type asked for.
    let raw = json.until(BHI);
    for line in &raw {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["type"], "pilot.proposed", "{line}");
    }

    interrupted.until("pilot.proposed");
    let status = Command::new("kill")
        .args(["-INT", &interrupted.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(interrupted.exit_code(), Some(0));
    terminated.until(LCHI);
    let status = Command::new("kill")
        .args(["-TERM", &terminated.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(terminated.exit_code(), Some(0));

    // The server stopping closes the stream: exit 0.
    service.process.terminate();
    assert_eq!(lines.exit_code(), Some(0));
    assert_eq!(json.exit_code(), Some(0));
}
