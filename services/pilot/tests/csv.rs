//! Spreadsheets in and out, against `pilot serve --nats` on a real nats-server holding the
//! Nanguo history: the list endpoints as CSV (`format=csv`, `Accept: text/csv`, `bom=true`)
//! and `pilot export --what`; `pilot import --csv` and `POST /api/v1/import` as `text/csv`
//! (dry run, refused rows, idempotent per row); creation events without a chain id.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_api::spreadsheet::{Table, BOM, CSV_CONTENT_TYPE};
use pilot_nats_harness::NatsServer;
use serde_json::{json, Value};
use std::process::{Command, Stdio};

mod common;

use common::process::{serve_on_nats, PilotProcess};

const TOKEN: &str = "csv-test-admin-token";
const NANGUO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/demo/nanguo.jsonl"
);
/// A title in Chinese, as the pilots of the reference case are titled at home.
const CHINESE_TITLE: &str = "南国新型农村合作医疗试点";
const UNIFIED_TITLE: &str = "Unified Basic Health Insurance System";

/// A nats-server and a `pilot serve --nats` on it holding the Nanguo history; both stopped
/// when dropped.
struct Service {
    /// First, so it is stopped while its nats-server still runs (fields drop in order).
    _process: PilotProcess,
    _nats: NatsServer,
    url: String,
    data: tempfile::TempDir,
    http: reqwest::Client,
}

impl Service {
    fn start() -> Service {
        let served = serve_on_nats(TOKEN);
        let service = Service {
            _process: served.process,
            _nats: served.nats,
            url: served.url,
            data: served.data,
            http: reqwest::Client::new(),
        };
        let out = service.pilot(&["import", NANGUO]);
        assert_eq!(out.0, Some(0), "{out:?}");
        service
    }

    /// Runs the client with this service and the admin token: (exit code, stdout, stderr).
    fn pilot(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_pilot"))
            .args(args)
            .env("PILOT_SERVER", &self.url)
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

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.data.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    async fn get(&self, path: &str, accept: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        request.send().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let response = self.get(path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// The log's position, as `/readyz` says it.
    async fn position(&self) -> u64 {
        let ready: Value = self
            .http
            .get(format!("{}/readyz", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ready["position"].as_u64().unwrap()
    }
}

/// A proposal with no `pilot_id`, for the server to give it one.
fn proposal(event_id: &str) -> Value {
    json!({
        "event_id": event_id,
        "type": "pilot.proposed",
        "occurred_at": "2012-01-05T09:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "clerk"},
        "data": {
            "title": CHINESE_TITLE,
            "jurisdiction": "南国",
            "policy_area": "农村医疗",
            "level": "municipal",
            "problem_frame": "农民看病贵"
        }
    })
}

/// How many rows a JSON list holds.
type Count = fn(Value) -> usize;

/// A CSV body: its header and records.
fn parse_csv(body: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(body);
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let records = reader.records().map(Result::unwrap).collect();
    (headers, records)
}

#[tokio::test]
async fn csv_a_proposal_without_a_pilot_id_gets_one_and_a_retry_gets_the_same() {
    let service = Service::start();
    let before = service
        .json("/api/v1/pilots")
        .await
        .as_array()
        .unwrap()
        .len();
    let body = serde_json::to_vec(&proposal("0194b000-0000-7000-8000-0000000000c1")).unwrap();

    let (status, first) = service
        .post("/api/v1/events", "application/json", body.clone())
        .await;
    assert_eq!(status, 201, "{first}");
    let pilot_id = first["events"][0]["pilot_id"].as_str().unwrap().to_string();
    let id = uuid::Uuid::parse_str(&pilot_id).unwrap();
    assert_eq!(id.get_version_num(), 7, "a new pilot gets a UUID v7");
    let position = service.position().await;

    let (status, again) = service
        .post("/api/v1/events", "application/json", body)
        .await;
    assert_eq!(status, 200, "a retry stores nothing: {again}");
    assert_eq!(again["events"][0]["pilot_id"], pilot_id.as_str());
    assert_eq!(service.position().await, position);
    let pilots = service.json("/api/v1/pilots").await;
    assert_eq!(pilots.as_array().unwrap().len(), before + 1);
    let pilot = service.json(&format!("/api/v1/pilots/{pilot_id}")).await;
    assert_eq!(pilot["title"], CHINESE_TITLE);

    // The event_id of a stored registration on a proposal: refused as reused, nothing stored.
    let reused = serde_json::to_vec(&proposal("0194ae00-0000-7000-8000-000000000001")).unwrap();
    let (status, error) = service
        .post("/api/v1/events", "application/json", reused)
        .await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"]["code"], "event_id_reused");
    assert_eq!(service.position().await, position);

    // `pilot append` of such a draft (no event_id either): a second new pilot.
    let draft = service.file(
        "draft.json",
        &proposal("0194b000-0000-7000-8000-0000000000c2").to_string(),
    );
    let (code, out, err) = service.pilot(&["append", &draft, "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let stored: Value = serde_json::from_str(&out).unwrap();
    let other = stored["events"][0]["pilot_id"].as_str().unwrap();
    assert_ne!(other, pilot_id);
    let (code, out, err) = service.pilot(&["append", &draft, "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["events"][0]["pilot_id"], other);
}

#[tokio::test]
async fn csv_each_list_answers_its_table_with_the_json_rows_and_filters() {
    let service = Service::start();
    let body = serde_json::to_vec(&proposal("0194b000-0000-7000-8000-0000000000d1")).unwrap();
    let (status, _) = service
        .post("/api/v1/events", "application/json", body)
        .await;
    assert_eq!(status, 201);

    let alerts = |v: Value| v["alerts"].as_array().unwrap().len();
    let lists: [(Table, &str, Count); 6] = [
        (Table::Pilots, "", |v| v.as_array().unwrap().len()),
        (Table::Pilots, "stage=implementing", |v| {
            v.as_array().unwrap().len()
        }),
        (Table::Pilots, "as_of=2001-01-01", |v| {
            v.as_array().unwrap().len()
        }),
        (Table::Stakeholders, "", |v| v.as_array().unwrap().len()),
        (Table::Ledger, "level=municipal", |v| {
            v.as_array().unwrap().len()
        }),
        (Table::Alerts, "", alerts),
    ];
    for (table, filter, count) in lists {
        let json_path = format!("{}?{filter}", table.path());
        let expected = count(service.json(&json_path).await);
        let response = service
            .get(&format!("{}?{filter}&format=csv", table.path()), None)
            .await;
        assert_eq!(response.status(), 200, "{table:?} {filter}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], CSV_CONTENT_TYPE);
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.contains(&format!("filename=\"{}.csv\"", table.name())),
            "{disposition}"
        );
        let body = response.bytes().await.unwrap();
        assert!(!body.starts_with(BOM), "no BOM unless asked");
        let (header, records) = parse_csv(&body);
        assert_eq!(header, table.columns(), "{table:?}");
        assert_eq!(
            records.len(),
            expected,
            "{table:?} {filter}: rows as in JSON"
        );
        if filter.is_empty() {
            assert!(expected > 0 || table == Table::Alerts, "{table:?} has rows");
        }
    }

    // Chinese text round-trips, next to the id; with a BOM when asked, and by Accept.
    let with_bom = service
        .get("/api/v1/pilots?format=csv&bom=true", None)
        .await;
    let body = with_bom.bytes().await.unwrap();
    assert!(body.starts_with(BOM), "bom=true puts the BOM first");
    let (_, records) = parse_csv(&body[BOM.len()..]);
    let row = records
        .iter()
        .find(|r| &r[1] == CHINESE_TITLE)
        .expect("the Chinese title");
    assert!(uuid::Uuid::parse_str(&row[0]).is_ok(), "{row:?}");
    assert_eq!(&row[2], "南国");
    let by_accept = service.get("/api/v1/stakeholders", Some("text/csv")).await;
    assert_eq!(by_accept.headers()["content-type"], CSV_CONTENT_TYPE);

    // A format nobody offers, or a BOM on JSON, is refused naming the parameter.
    for query in ["format=xlsx", "bom=true"] {
        let refused = service.get(&format!("/api/v1/pilots?{query}"), None).await;
        assert_eq!(refused.status(), 400, "{query}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(
            error["error"]["field"],
            query.split('=').next().unwrap(),
            "{error}"
        );
    }
}

#[tokio::test]
async fn csv_pilot_export_writes_each_table_and_a_bom_only_when_asked() {
    let service = Service::start();
    for table in Table::ALL {
        let path = service.data.path().join(table.file_name());
        let out = service.pilot(&[
            "export",
            "--what",
            table.name(),
            "--format",
            "csv",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.0, Some(0), "{out:?}");
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.starts_with(BOM));
        let (header, _) = parse_csv(&bytes);
        assert_eq!(header, table.columns());
    }
    let out = service.pilot(&[
        "export",
        "--what",
        "pilots",
        "--format",
        "csv",
        "--bom",
        "--filter",
        "as_of=2001-01-01",
    ]);
    assert_eq!(out.0, Some(0), "{out:?}");
    assert!(out.1.as_bytes().starts_with(BOM));
    let expected = service
        .json("/api/v1/pilots?as_of=2001-01-01")
        .await
        .as_array()
        .unwrap()
        .len();
    assert_eq!(parse_csv(&out.1.as_bytes()[BOM.len()..]).1.len(), expected);

    // The log's own CSV takes --bom too; JSON Lines do not.
    let events = service.pilot(&["export", "--format", "csv", "--bom"]);
    assert_eq!(events.0, Some(0), "{events:?}");
    assert!(events.1.as_bytes().starts_with(BOM));
    let (header, records) = parse_csv(&events.1.as_bytes()[BOM.len()..]);
    assert_eq!(header[0], "position");
    assert_eq!(records.len(), common::nanguo_events());
    let refused = service.pilot(&["export", "--bom"]);
    assert_eq!(refused.0, Some(3), "a BOM on JSON Lines: {refused:?}");

    let refused = service.pilot(&["export", "--what", "ledger"]);
    assert_eq!(refused.0, Some(3), "JSON Lines of a table: {refused:?}");
    assert!(refused.2.contains("--format csv"), "{refused:?}");
}

/// Three stances: on the Chinese-titled pilot by its title, on the unified pilot, and one
/// out of range.
fn stances_csv() -> String {
    format!(
        "Pilot,Stakeholder ID,Stance,Note,Occurred At,Office\n\
         {CHINESE_TITLE},Bureau of Finance of Nanguo,1,\"支持, 有条件\",2012-03-01T10:00:00+08:00,SSDNC\n\
         {UNIFIED_TITLE},Party Secretary Li,-1,,2012-03-01T10:00:00+08:00,SSDNC\n\
         {UNIFIED_TITLE},Party Secretary Li,7,,2012-03-01T10:00:00+08:00,SSDNC\n"
    )
}

const STANCE_IMPORT: &str = "/api/v1/import?type=stakeholder.stance_assessed";

#[tokio::test]
async fn csv_import_dry_run_stores_nothing_then_stores_two_refuses_one_and_again_stores_none() {
    let service = Service::start();
    let body = serde_json::to_vec(&proposal("0194b000-0000-7000-8000-0000000000e1")).unwrap();
    let (status, proposed) = service
        .post("/api/v1/events", "application/json", body)
        .await;
    assert_eq!(status, 201);
    let chinese_pilot = proposed["events"][0]["pilot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let file = service.file("stances.csv", &stances_csv());
    let start = service.position().await;

    // Dry run over HTTP: two would be stored, row 4 refused with its reason; nothing stored.
    let (status, report) = service
        .post(
            &format!("{STANCE_IMPORT}&dry_run=true"),
            "text/csv",
            stances_csv().into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["rows"], 3);
    let rows = |list: &Value| -> Vec<u64> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| e["row"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(rows(&report["stored"]), [2, 3], "{report}");
    assert_eq!(
        report["stored"][0]["event"]["pilot_id"],
        chinese_pilot.as_str()
    );
    assert_eq!(rows(&report["refused"]), [4], "{report}");
    let reason = report["refused"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("stance"), "{reason}");
    assert_eq!(service.position().await, start, "a dry run stores nothing");

    // The same through the client.
    let (code, out, err) = service.pilot(&[
        "import",
        "--csv",
        &file,
        "--type",
        "stakeholder.stance_assessed",
        "--dry-run",
    ]);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(
        out.contains("2 would be stored, 0 already stored, 1 refused"),
        "{out}"
    );
    assert!(out.contains("row 4: refused"), "{out}");
    assert_eq!(service.position().await, start);

    // A real run stores rows 2 and 3 and refuses row 4.
    let (code, out, err) = service.pilot(&[
        "import",
        "--csv",
        &file,
        "--type",
        "stakeholder.stance_assessed",
    ]);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(
        out.contains("2 stored, 0 already stored, 1 refused"),
        "{out}"
    );
    assert_eq!(service.position().await, start + 2);
    let support = service
        .json(&format!("/api/v1/pilots/{chinese_pilot}/support"))
        .await;
    let finance = support["stakeholders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Bureau of Finance of Nanguo")
        .expect("the stance stored on the Chinese-titled pilot");
    assert_eq!(finance["stance"], 1, "{finance}");

    // Again: every good row is already stored; nothing new.
    let (status, report) = service
        .post(STANCE_IMPORT, "text/csv", stances_csv().into_bytes())
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(rows(&report["stored"]), Vec::<u64>::new(), "{report}");
    assert_eq!(rows(&report["already_stored"]), [2, 3], "{report}");
    assert_eq!(rows(&report["refused"]), [4]);
    assert_eq!(service.position().await, start + 2);
}

#[tokio::test]
async fn csv_import_refuses_unknown_columns_naming_the_expected_ones() {
    let service = Service::start();
    let (status, error) = service
        .post(
            STANCE_IMPORT,
            "text/csv",
            b"pilot,stakeholder_id,stance,occurred_at,office,colour\n".to_vec(),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "invalid_columns");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"colour\""), "{message}");
    assert!(
        message.contains("stakeholder_id") && message.contains("note"),
        "{message}"
    );
    let (status, error) = service
        .post("/api/v1/import", "text/csv", b"a\n".to_vec())
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["field"], "type");
}

#[tokio::test]
async fn csv_import_of_registrations_opens_each_chain_once() {
    let service = Service::start();
    let before = service
        .json("/api/v1/stakeholders")
        .await
        .as_array()
        .unwrap()
        .len();
    let registrations = "name,kind,level,influence,occurred_at,office\n\
                         南国财政局,bureau,municipal,4,2012-02-01T09:00:00+08:00,SSDNC\n\
                         南国日报,media,municipal,2,2012-02-01T09:00:00+08:00,SSDNC\n";
    let path = "/api/v1/import?type=stakeholder.registered";
    let (status, report) = service
        .post(path, "text/csv", registrations.as_bytes().to_vec())
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["stored"].as_array().unwrap().len(), 2, "{report}");
    let first_id = report["stored"][0]["event"]["stakeholder_id"].clone();
    assert!(first_id.is_string(), "a new stakeholder_id: {report}");
    let position = service.position().await;

    // Again, the rows in the other order and the columns too: the same two facts, stored.
    let reordered = "office,occurred_at,influence,level,kind,name\n\
                     SSDNC,2012-02-01T09:00:00+08:00,2,municipal,media,南国日报\n\
                     SSDNC,2012-02-01T09:00:00+08:00,4,municipal,bureau,南国财政局\n";
    let (status, report) = service
        .post(path, "text/csv", reordered.as_bytes().to_vec())
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["stored"], json!([]), "{report}");
    assert_eq!(report["already_stored"].as_array().unwrap().len(), 2);
    assert_eq!(service.position().await, position);
    let stakeholders = service.json("/api/v1/stakeholders").await;
    let stakeholders = stakeholders.as_array().unwrap();
    assert_eq!(stakeholders.len(), before + 2);
    let finance = stakeholders
        .iter()
        .find(|s| s["name"] == "南国财政局")
        .unwrap();
    assert_eq!(finance["stakeholder_id"], first_id);
}
