//! Personal data through `pilot serve --nats` on a real nats-server holding the Nanguo
//! history (docs/personal-data.md): a contact note about a person is stored sealed (the
//! stream's bytes, read straight from NATS, never hold the plain text), a retry stays one
//! event, `pilot erase` erases once and is refused (exit 3, 409) the second time, and the
//! pilot's support index and the ledger are the same after the erasure.

//!
//! And after a person's erasure, nothing of their personal fields can be read from anything the
//! service holds (docs/personal-data.md, "What an erasure guarantees"): not through the API, not
//! after a restart from the checkpoint, not after a full rebuild by a fresh fold, and not in the
//! bytes on disk: the nats-server's store (the event stream, the checkpoint bucket, the key
//! store) and the service's data directory. The key's own bytes are searched for too. Before the
//! erasure the same searches find the plain text where it should be (the API) and the key in
//! the key store, so the searches can fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use serde_json::{json, Value};
use std::process::{Command, Stdio};

mod common;

use common::process::{serve_on_nats, PilotProcess};
use std::path::Path;

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

const ZHOU_NAME: &str = "Zhou Minghui, owner of the Minghui textile mill";
const ZHOU_NOTE: &str = "Zhou said privately that the mill would close under the new levy";
const ZHOU_STANCE_NOTE: &str = "Zhou's foreman confirms the owner will oppose it";
const REASON: &str = "Request under PIPL art. 47 (ticket 2026-118)";

async fn created(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    let (status, body) = post(http, url, body).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Every read a person's fields show in, as text: the API's JSON answers, its CSV tables and
/// the export (with its revealed sidecars).
async fn everything_served(http: &reqwest::Client, url: &str, person: &str) -> String {
    let mut all = String::new();
    for path in [
        format!("/api/v1/pilots/{UNIFIED}"),
        format!("/api/v1/pilots/{UNIFIED}/support"),
        format!("/api/v1/stakeholders/{person}"),
        "/api/v1/stakeholders".to_string(),
        "/api/v1/stakeholders?format=csv".to_string(),
        format!("/api/v1/pilots/{UNIFIED}/events"),
        "/api/v1/events?limit=10000".to_string(),
    ] {
        let response = http
            .get(format!("{url}{path}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        all.push_str(&response.text().await.unwrap());
        all.push('\n');
    }
    all
}

/// Every file below `dir` whose bytes contain `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

/// The person's key as the key store holds it (this test's server takes no logins).
async fn stored_key(nats_url: &str, person: &str) -> Option<Vec<u8>> {
    let client = async_nats::connect(nats_url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let kv = js.get_key_value("PILOT_SUBJECT_KEYS").await.unwrap();
    kv.get(person).await.unwrap().map(|bytes| bytes.to_vec())
}

/// Starts another `pilot serve` on the same server and data directory.
fn serve_again(
    nats_url: &str,
    data: &Path,
    consumer: Option<&str>,
    log: &str,
) -> (PilotProcess, String) {
    let data_dir = data.display().to_string();
    let mut args = vec!["--nats", nats_url, "--data-dir", &data_dir];
    if let Some(consumer) = consumer {
        args.extend(["--consumer", consumer]);
    }
    let mut process = PilotProcess::serve(&args, &[("PILOT_ADMIN_TOKEN", TOKEN)], &data.join(log));
    let ready = process.wait_for_url();
    let host = ready
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    (process, format!("http://{host}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erased_persons_fields_are_nowhere_after_a_restart_and_a_rebuild() {
    let mut served = serve_on_nats(TOKEN);
    let url = served.url.clone();
    let nats_url = served.nats.url();
    let out = pilot(&url, &["import", NANGUO]);
    assert_eq!(out.0, Some(0), "{out:?}");
    let http = reqwest::Client::new();

    let registered = created(
        &http,
        &url,
        &json!({
            "type": "stakeholder.registered",
            "occurred_at": "2012-01-05T09:00:00+08:00",
            "actor": {"office": "SSDNC", "user": "desk"},
            "data": {"name": ZHOU_NAME, "kind": "enterprise", "level": "municipal", "influence": 3, "person": true}
        }),
    )
    .await;
    let person = registered["events"][0]["stakeholder_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut contact = common::lobbying_contact(ZHOU_NOTE, -1);
    contact["data"]["stakeholder_id"] = json!(person);
    created(&http, &url, &contact).await;
    created(
        &http,
        &url,
        &json!({
            "type": "stakeholder.stance_assessed",
            "pilot_id": UNIFIED,
            "occurred_at": "2012-03-02T09:00:00+08:00",
            "actor": {"office": "SSDNC", "user": "desk"},
            "data": {"stakeholder_id": person, "stance": -2, "note": ZHOU_STANCE_NOTE}
        }),
    )
    .await;

    // Before: the API shows the plain texts, the disk holds none of them, the key is stored.
    let before = everything_served(&http, &url, &person).await;
    for text in [ZHOU_NAME, ZHOU_NOTE, ZHOU_STANCE_NOTE] {
        assert!(before.contains(text), "the API shows {text:?}");
    }
    let store = served.nats.store_dir().to_path_buf();
    let data = served.data.path().to_path_buf();
    for text in [ZHOU_NAME, ZHOU_NOTE, ZHOU_STANCE_NOTE] {
        assert_eq!(files_holding(&store, text.as_bytes()), Vec::<String>::new());
        assert_eq!(files_holding(&data, text.as_bytes()), Vec::<String>::new());
    }
    let key = stored_key(&nats_url, &person)
        .await
        .expect("the person has a key");
    assert!(
        !files_holding(&store, &key).is_empty(),
        "the key's bytes are in the key store before the erasure"
    );
    let support = everything_served_support(&http, &url).await;

    let (code, out, stderr) = pilot(&url, &["erase", &person, "--reason", REASON, "--json"]);
    assert_eq!(code, Some(0), "{out} {stderr}");
    let done: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(done["key_destroyed"], true, "{done}");
    let erased_at = done["erased_at"].as_str().unwrap().to_string();

    let check = |served: &str, when: &str| {
        for text in [ZHOU_NAME, ZHOU_NOTE, ZHOU_STANCE_NOTE] {
            assert!(!served.contains(text), "{when}: {text:?} is still served");
        }
        assert!(
            served.contains(REASON) && served.contains(&erased_at[..10]),
            "{when}: the erased fields say when and why"
        );
    };
    check(
        &everything_served(&http, &url, &person).await,
        "after the erasure",
    );
    assert_eq!(everything_served_support(&http, &url).await, support);

    // A restart from the checkpoint (saved on the way out), then a fresh fold of the whole log.
    served.process.terminate();
    let (mut restarted, url) = serve_again(&nats_url, &data, None, "restarted.stderr.log");
    check(
        &everything_served(&http, &url, &person).await,
        "after a restart",
    );
    assert_eq!(everything_served_support(&http, &url).await, support);
    restarted.terminate();
    let (mut rebuilt, url) = serve_again(&nats_url, &data, Some("rebuild"), "rebuilt.stderr.log");
    check(
        &everything_served(&http, &url, &person).await,
        "after a full rebuild",
    );
    assert_eq!(everything_served_support(&http, &url).await, support);
    let (code, out, stderr) = pilot(&url, &["verify"]);
    assert_eq!(code, Some(0), "the log still verifies: {out} {stderr}");
    rebuilt.terminate();

    // The bytes: no plain text and no key anywhere on disk, the key store answers nothing.
    assert_eq!(stored_key(&nats_url, &person).await, None);
    for text in [ZHOU_NAME, ZHOU_NOTE, ZHOU_STANCE_NOTE] {
        assert_eq!(files_holding(&store, text.as_bytes()), Vec::<String>::new());
        assert_eq!(files_holding(&data, text.as_bytes()), Vec::<String>::new());
    }
    assert_eq!(
        files_holding(&store, &key),
        Vec::<String>::new(),
        "the destroyed key's bytes are overwritten"
    );
    assert_eq!(files_holding(&data, &key), Vec::<String>::new());
    drop(served);
}

/// What an erasure must not change: the pilot's support index and the ledger, every figure
/// and every other stakeholder; only where the person's name was, it now says "erased".
async fn everything_served_support(http: &reqwest::Client, url: &str) -> (Value, Value) {
    (
        common::erasable_blanked(
            get(http, url, &format!("/pilots/{UNIFIED}/support")).await,
            ZHOU_NAME,
        ),
        common::erasable_blanked(get(http, url, "/highlights").await, ZHOU_NAME),
    )
}
