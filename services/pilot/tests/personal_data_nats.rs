//! Personal data through `pilot serve --nats` on a real nats-server holding the Nanguo
//! history (docs/personal-data.md): a contact note about a person is stored sealed (the
//! stream's bytes, read straight from NATS, never hold the plain text), a retry stays one
//! event, `pilot erase` erases once and is refused (exit 3, 409) the second time, and the
//! pilot's support index and the ledger are the same after the erasure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use serde_json::{json, Value};
use std::process::{Command, Stdio};

mod common;

use common::process::serve_on_nats;

const TOKEN: &str = "personal-data-admin-token";
const NANGUO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/demo/nanguo.jsonl"
);
const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";
const NAME: &str = "Wang Fang, county clinic director";
const NOTE: &str = "Wang confided that the clinics cannot survive the unified fund";

/// Runs the client against `url` with the admin token: (exit code, stdout, stderr).
fn pilot(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args(args)
        .env("PILOT_SERVER", url)
        .env("PILOT_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let response = http
        .post(format!("{url}/api/v1/events"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get(http: &reqwest::Client, url: &str, path: &str) -> Value {
    let response = http
        .get(format!("{url}/api/v1{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sealed_note_on_nats_and_pilot_erase_once() {
    let served = serve_on_nats(TOKEN);
    let url = served.url.clone();
    let out = pilot(&url, &["import", NANGUO]);
    assert_eq!(out.0, Some(0), "{out:?}");
    let http = reqwest::Client::new();

    let (status, body) = post(
        &http,
        &url,
        &json!({
            "type": "stakeholder.registered",
            "occurred_at": "2012-01-05T09:00:00+08:00",
            "actor": {"office": "SSDNC", "user": "desk"},
            "data": {"name": NAME, "kind": "leader", "level": "county", "influence": 3, "person": true}
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let person = body["events"][0]["stakeholder_id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut contact = common::lobbying_contact(NOTE, -1);
    contact["data"]["stakeholder_id"] = json!(person);
    contact["event_id"] = json!(uuid::Uuid::now_v7());
    let (status, first) = post(&http, &url, &contact).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        first["events"][0]["data"]["summary"], NOTE,
        "the answer shows the note"
    );
    // A retry: the same event, stored once.
    let (status, again) = post(&http, &url, &contact).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["events"][0]["hash"], first["events"][0]["hash"]);
    assert_eq!(again["position"], first["position"]);

    // The stream's bytes, read from NATS itself, hold neither the name nor the note.
    let nats = served.nats.url();
    let (code, export, stderr) = pilot(&url, &["export", "--nats", &nats]);
    assert_eq!(code, Some(0), "{stderr}");
    let prefix = format!("sealed:v1:{person}:summary:");
    let at = export
        .find(&prefix)
        .expect("the sealed note is in the export");
    let summary: String = export[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_:.".contains(*c))
        .collect();
    assert!(!export.contains(NOTE) && !export.contains(NAME));
    assert_eq!(export.matches(&summary).count(), 1, "stored once");

    let support = get(&http, &url, &format!("/pilots/{UNIFIED}/support")).await;
    let highlights = get(&http, &url, "/highlights").await;
    let (code, out, stderr) = pilot(
        &url,
        &[
            "erase",
            &person,
            "--reason",
            "Request under PIPL art. 47",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{out} {stderr}");
    let done: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(done["subject"], json!(person));
    assert_eq!(done["key_destroyed"], true);
    let (code, _, stderr) = pilot(&url, &["erase", &person, "--reason", "again"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("already_erased"), "{stderr}");

    assert_eq!(
        common::erasable_blanked(
            get(&http, &url, &format!("/pilots/{UNIFIED}/support")).await,
            NAME
        ),
        common::erasable_blanked(support, NAME)
    );
    assert_eq!(get(&http, &url, "/highlights").await, highlights);
    // No new personal text about the erased person.
    contact["event_id"] = json!(uuid::Uuid::now_v7());
    let (status, body) = post(&http, &url, &contact).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "subject_erased");
    drop(served);
}
