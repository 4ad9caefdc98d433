//! Jurisdiction chains through the API, over the in-memory logs holding the Nanguo history:
//! writes (`jurisdiction.registered`, `context.recorded`, a pilot event citing context, the
//! schema-2 envelope fields passing through drafts), the refusals that guard them, and the
//! jurisdiction reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_api::app;
use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::watch;

mod common;

const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";
const STAKEHOLDER: &str = "0194a000-0002-7000-8000-000000000015";
/// The demo history registers Nanguo (deploy/demo/nanguo.jsonl) with three context events.
const NANGUO: &str = "0194a000-0003-7000-8000-000000000001";

const ADMIN: &str = "admin-secret";
const SSDNC_CLERK: &str = "ssdnc-clerk-secret";
const FINANCE_CLERK: &str = "finance-clerk-secret";

/// A pilot service on a loopback port over the in-memory logs with the Nanguo history.
struct Service {
    _nanguo: common::memory::MemoryNanguo,
    base: String,
    http: reqwest::Client,
}

async fn service() -> Service {
    let nanguo = common::memory::nanguo_memory().await;
    let mut tokens = Tokens::default();
    tokens.add_clear("root", Role::Admin, None, ADMIN);
    tokens.add_clear("desk", Role::Clerk, Some("SSDNC"), SSDNC_CLERK);
    tokens.add_clear(
        "finance",
        Role::Clerk,
        Some("Bureau of Finance"),
        FINANCE_CLERK,
    );
    let state = nanguo.state().with_access(Access {
        tokens,
        anonymous_reads: false,
        max_body_bytes: 1024 * 1024,
        max_import_bytes: 1024 * 1024,
    });
    state.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut shutdown: watch::Receiver<bool> = nanguo.stop.subscribe();
    tokio::spawn(async move {
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|s| *s).await;
            })
            .await
    });
    Service {
        _nanguo: nanguo,
        base,
        http: reqwest::Client::new(),
    }
}

impl Service {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/events", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

fn registration(id: &str, name: &str, office: &str) -> Value {
    json!({
        "type": "jurisdiction.registered",
        "jurisdiction_id": id,
        "occurred_at": "1990-01-01T00:00:00+08:00",
        "actor": {"office": office, "user": "desk"},
        "data": {"name": name, "level": "municipal", "utc_offset": "+08:00", "calendar": "nanguo"}
    })
}

fn context(title: &str, occurred_at: &str, office: &str) -> Value {
    json!({
        "type": "context.recorded",
        "jurisdiction_id": NANGUO,
        "occurred_at": occurred_at,
        "precision": "year",
        "source": {"citation": "Zhu and Xiao 2015, 2:10", "page": "4"},
        "actor": {"office": office, "user": "desk"},
        "data": {"kind": "policy_window", "title": title, "summary": "A window opens"}
    })
}

/// A contact with the unified system's stakeholder citing `context_ids`.
fn contact(context_ids: Value) -> Value {
    json!({
        "type": "lobbying.contact_logged",
        "pilot_id": UNIFIED,
        "occurred_at": "2012-03-01T10:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "desk"},
        "context_ids": context_ids,
        "data": {
            "stakeholder_id": STAKEHOLDER,
            "channel": "informal_advice",
            "strategy": "brokering",
            "summary": "Reporting the first year of the unified system",
            "stance": 2,
            "made_by": "Director Wang"
        }
    })
}

#[tokio::test]
async fn jurisdiction_chains_are_written_through_the_api_with_their_envelope_fields() {
    let service = service().await;
    // Any office's clerk registers and records context: context is shared.
    let beihai = "01950000-0000-7000-8000-0000000000d1";
    let (status, body) = service
        .post(
            FINANCE_CLERK,
            &registration(beihai, "Beihai", "Bureau of Finance"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["events"][0]["jurisdiction_id"], beihai);
    let (status, body) = service
        .post(
            FINANCE_CLERK,
            &context(
                "Provincial target",
                "2000-01-01T00:00:00+08:00",
                "Bureau of Finance",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored = &body["events"][0];
    assert_eq!(stored["precision"], "year", "{stored}");
    assert_eq!(stored["source"]["citation"], "Zhu and Xiao 2015, 2:10");
    assert_eq!(stored["schema"], 2);
    let context_id = stored["event_id"].as_str().unwrap().to_string();

    // A pilot event citing it keeps its context_ids; an unknown id is refused.
    let (status, body) = service
        .post(SSDNC_CLERK, &contact(json!([context_id])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["events"][0]["context_ids"], json!([context_id]));
    assert_eq!(body["events"][0]["data"]["made_by"], "Director Wang");
    let unknown = "01950000-0000-7000-8000-00000000dead";
    let (status, body) = service.post(SSDNC_CLERK, &contact(json!([unknown]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "unknown_context");

    // A second jurisdiction under a taken name (the demo's Nanguo) is refused.
    let other = "01950000-0000-7000-8000-0000000000d2";
    let (status, body) = service
        .post(SSDNC_CLERK, &registration(other, "Nanguo", "SSDNC"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "jurisdiction_name_taken");

    // A schema-1 event may not carry what schema 2 introduced.
    let mut old = contact(json!([]));
    old["schema"] = json!(1);
    old.as_object_mut().unwrap().remove("context_ids");
    old["data"]["channel"] = json!("meeting");
    let (status, body) = service.post(SSDNC_CLERK, &old).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "data.made_by", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("schema 2"),
        "{body}"
    );
}

#[tokio::test]
async fn jurisdictions_are_listed_and_shown_with_context_in_order_and_their_pilots() {
    let service = service().await;
    let (status, list) = service.get("/api/v1/jurisdictions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the demo's Nanguo: {list}"
    );
    assert_eq!(list[0]["context_count"], 3);
    let beiguo = "01950000-0000-7000-8000-0000000000d3";
    let mut other = registration(beiguo, "Beiguo", "SSDNC");
    other["data"].as_object_mut().unwrap().remove("calendar");
    service.post(SSDNC_CLERK, &other).await;
    // Recorded late, but earlier in the world: it comes first.
    for (title, at) in [
        ("National conference", "2007-01-01T00:00:00+08:00"),
        ("Provincial target", "2000-01-01T00:00:00+08:00"),
    ] {
        let (status, body) = service
            .post(SSDNC_CLERK, &context(title, at, "SSDNC"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (status, list) = service.get("/api/v1/jurisdictions").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Beiguo", "Nanguo"], "by name");
    let nanguo = &list[1];
    assert_eq!(nanguo["jurisdiction_id"], NANGUO);
    assert_eq!(nanguo["calendar"], "nanguo");
    assert_eq!(nanguo["utc_offset"], "+08:00");
    assert_eq!(nanguo["context_count"], 5);
    assert_eq!(nanguo["pilot_count"], 5, "the five Nanguo pilots name it");
    assert_eq!(list[0]["context_count"], 0);
    assert_eq!(list[0]["pilot_count"], 0);

    let (status, detail) = service
        .get(&format!("/api/v1/jurisdictions/{NANGUO}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["name"], "Nanguo");
    let titles: Vec<&str> = detail["context"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "The province asks Nanguo to raise social insurance participants to 1 million",
            "Provincial target",
            "National conference",
            "Reconstruction of government offices",
            "Migrant workers in Nanguo's population"
        ],
        "by occurred_at, then position: a context recorded late takes its place"
    );
    assert_eq!(detail["context"][1]["precision"], "year");
    assert_eq!(detail["context"][1]["kind"], "policy_window");
    assert_eq!(detail["pilot_ids"].as_array().unwrap().len(), 5);
    assert_eq!(detail["pilot_ids"][4], UNIFIED);

    let (status, body) = service
        .get(&format!("/api/v1/jurisdictions/{UNIFIED}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = service.get("/api/v1/jurisdictions/nanguo").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "id");
}

#[tokio::test]
async fn a_stakeholder_shows_the_posts_it_held_and_a_post_its_holders() {
    let service = service().await;
    let mayor_post = "0194a000-0002-7000-8000-000000000006";
    let gong = "01950000-0000-7000-8000-0000000000e1";
    let registered = json!({
        "type": "stakeholder.registered",
        "stakeholder_id": gong,
        "occurred_at": "1990-01-01T00:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "desk"},
        "data": {"name": "Gong, mayor", "kind": "leader", "level": "municipal", "influence": 5}
    });
    let (status, body) = service.post(SSDNC_CLERK, &registered).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let tenure = json!({
        "type": "stakeholder.tenure_recorded",
        "stakeholder_id": gong,
        "occurred_at": "2003-03-01T00:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "desk"},
        "data": {"post_id": mayor_post, "from": "2003-03-01", "to": "2006-06-12", "note": "first term"}
    });
    let (status, body) = service.post(SSDNC_CLERK, &tenure).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, person) = service.get(&format!("/api/v1/stakeholders/{gong}")).await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["holders"], json!([]));
    let held = &person["tenures"][0];
    assert_eq!(held["post_id"], mayor_post);
    assert_eq!(held["from"], "2003-03-01");
    assert_eq!(held["to"], "2006-06-12");
    assert_eq!(held["person_name"], "Gong, mayor");
    assert!(held["post_name"].is_string(), "{held}");

    let (status, post) = service
        .get(&format!("/api/v1/stakeholders/{mayor_post}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    assert_eq!(post["tenures"], json!([]));
    assert_eq!(post["holders"][0]["person_id"], gong);
    assert_eq!(post["holders"][0]["note"], "first term");

    // The person's view adds the post's lines dated within the tenure (both days included: the
    // provincial leaders' visit of 2006-06-12 is the tenure's last day);
    // its own points stay its own (none), as rankings count them.
    let within: Vec<&Value> = post["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            let day = &l["occurred_at"].as_str().unwrap()[..10];
            ("2003-03-01"..="2006-06-12").contains(&day)
        })
        .collect();
    assert!(
        !within.is_empty(),
        "the mayor was credited while Gong held the post"
    );
    assert!(
        within.len() < post["ledger"].as_array().unwrap().len(),
        "and also after"
    );
    assert_eq!(person["points"], 0);
    let view = &person["person"];
    let ids = |lines: &[&Value]| -> Vec<String> {
        lines.iter().map(|l| l["event_id"].to_string()).collect()
    };
    let seen: Vec<&Value> = view["ledger"].as_array().unwrap().iter().collect();
    assert_eq!(ids(&seen), ids(&within), "{view}");
    assert!(seen
        .iter()
        .all(|l| l["own"] == false && l["via_posts"][0] == mayor_post));
    let total: u64 = within.iter().map(|l| l["points"].as_u64().unwrap()).sum();
    assert_eq!(view["points"], total);
}
