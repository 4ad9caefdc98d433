//! `[[retention]]` end to end: `pilot serve --nats` on a real nats-server with rules from
//! `PILOT_RETENTION`, `pilot erase --plan` before and after, and the service's retention loop
//! erasing a person whose instant has long passed as soon as its last pilot ends. The exact
//! instant on a moved clock is `pilot_api::retention`'s test; this one is the wiring.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::process::PilotProcess;

const TOKEN: &str = "retention-test-admin-token";
const RESIDENT: &str = "0194a000-0002-7000-8000-00000000e001";
const JOURNALIST: &str = "0194a000-0002-7000-8000-00000000e002";
const PILOT: &str = "0194a000-0001-7000-8000-00000000e003";
const RULES: &str = r#"[{ kind = "resident_group", after_days = 30, from = "pilot_end" }, { kind = "media", after_days = 36500, from = "registered" }]"#;

fn pilot(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("PILOT_SERVER", url)
        .env("PILOT_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json_of(url: &str, args: &[&str]) -> Value {
    let (code, out, err) = pilot(url, args);
    assert_eq!(code, Some(0), "{args:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn append(url: &str, dir: &std::path::Path, draft: Value) {
    let file = dir.join("draft.json");
    std::fs::write(&file, draft.to_string()).unwrap();
    let (code, out, err) = pilot(url, &["append", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{draft}: {out}{err}");
}

fn draft(kind: &str, chain: (&str, &str), at: &str, data: Value) -> Value {
    let mut draft = json!({
        "type": kind,
        "occurred_at": at,
        "actor": {"office": "SSDNC", "user": "clerk"},
        "data": data,
    });
    draft[chain.0] = chain.1.into();
    draft
}

fn registration(id: &str, name: &str, kind: &str) -> Value {
    draft(
        "stakeholder.registered",
        ("stakeholder_id", id),
        "2012-01-01T10:00:00+08:00",
        json!({"name": name, "kind": kind, "level": "municipal", "influence": 1, "person": true}),
    )
}

fn planned_ids(plan: &Value) -> Vec<&str> {
    plan["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stakeholder_id"].as_str().unwrap())
        .collect()
}

#[test]
fn the_service_erases_a_person_once_the_rule_says_and_erase_plan_lists_the_rest() {
    let nats = pilot_nats_harness::NatsServer::start().expect("a nats-server starts");
    let data = tempfile::tempdir().unwrap();
    let (nats_url, data_dir) = (nats.url(), data.path().display().to_string());
    let mut process = PilotProcess::serve(
        &["--nats", &nats_url, "--data-dir", &data_dir],
        &[("PILOT_ADMIN_TOKEN", TOKEN), ("PILOT_RETENTION", RULES)],
        &data.path().join("pilot.stderr.log"),
    );
    let ready = process.wait_for_url();
    let host = ready
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let url = format!("http://{host}");
    let dir = data.path();

    append(
        &url,
        dir,
        registration(RESIDENT, "Residents' rep Wang", "resident_group"),
    );
    append(
        &url,
        dir,
        registration(JOURNALIST, "Reporter Zhou", "media"),
    );
    append(
        &url,
        dir,
        draft(
            "pilot.proposed",
            ("pilot_id", PILOT),
            "2012-02-01T10:00:00+08:00",
            json!({"title": "Retention pilot", "jurisdiction": "Nanguo", "policy_area": "health insurance",
                   "level": "municipal", "problem_frame": "fund deficit"}),
        ),
    );
    append(
        &url,
        dir,
        draft(
            "stakeholder.stance_assessed",
            ("pilot_id", PILOT),
            "2012-03-01T10:00:00+08:00",
            json!({"stakeholder_id": RESIDENT, "stance": 1}),
        ),
    );

    // While the pilot runs, the resident waits; the journalist is due in a century.
    let plan = json_of(&url, &["erase", "--plan", "--json"]);
    assert_eq!(planned_ids(&plan), [JOURNALIST, RESIDENT], "{plan:#}");
    assert_eq!(
        plan["subjects"][1]["basis"]["state"], "pilots_running",
        "{plan:#}"
    );
    assert_eq!(
        plan["subjects"][0]["due_at"], "2111-12-08T10:00:00+08:00",
        "{plan:#}"
    );
    let (code, table, err) = pilot(&url, &["erase", "--plan"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        table.contains("resident_group: 30 days after pilot_end"),
        "{table}"
    );
    assert!(table.contains("waiting: 1 pilot(s) running"), "{table}");

    // The pilot ends in 2013: thirty days later has long passed, so the loop erases at once.
    append(
        &url,
        dir,
        draft(
            "pilot.terminated",
            ("pilot_id", PILOT),
            "2013-01-01T10:00:00+08:00",
            json!({"reason": "evaluated"}),
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let erased = loop {
        let detail = json_of(&url, &["stakeholders", RESIDENT, "--json"]);
        if !detail["erased"].is_null() {
            break detail["erased"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "not erased: {detail:#}\n{}",
            process.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let reason = erased["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("retention rule: resident_group"),
        "{reason}"
    );
    assert!(!reason.contains("Wang"), "{reason}");
    let journalist = json_of(&url, &["stakeholders", JOURNALIST, "--json"]);
    assert!(journalist["erased"].is_null(), "{journalist:#}");
    let plan = json_of(&url, &["erase", "--plan", "--json"]);
    assert_eq!(planned_ids(&plan), [JOURNALIST], "{plan:#}");

    // Only an administrator reads the plan.
    let (code, _, err) = Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args(["erase", "--plan"])
        .env("PILOT_SERVER", &url)
        .env_remove("PILOT_TOKEN")
        .stdin(Stdio::null())
        .output()
        .map(|o| {
            (
                o.status.code(),
                (),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, Some(4), "{err}");
    process.terminate();
}
