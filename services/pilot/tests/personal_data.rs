//! Personal data on write and on erasure, through the API over the in-memory logs holding the
//! Nanguo history (docs/personal-data.md): a person's personal fields are stored sealed (the
//! log's bytes never hold the plain text, the person's key opens it), retries stay one event,
//! forged tokens and personal text about an erased person are refused, and
//! `POST /api/v1/subjects/{id}/erase` records the erasure, destroys the key, answers 409 the
//! second time, and leaves the support index and the ledger as they were.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_api::app;
use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use pilot_api::AppState;
use pilot_events::personal::SealedText;
use pilot_store::subject_keys::SubjectKeys;
use pilot_store::EventLog;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::watch;
use uuid::Uuid;

mod common;

const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";
/// A body of the Nanguo history (the Bureau of Finance): not a person.
const BUREAU: &str = "0194a000-0002-7000-8000-000000000008";
const ADMIN: &str = "admin-secret";
const CLERK: &str = "ssdnc-clerk-secret";
const NAME: &str = "Zhang Wei, deputy director";
const NOTE: &str = "Zhang said in private that the fund ruins the county budget";

struct Service {
    nanguo: common::memory::MemoryNanguo,
    state: AppState,
    keys: SubjectKeys,
    base: String,
    http: reqwest::Client,
}

async fn service() -> Service {
    let nanguo = common::memory::nanguo_memory().await;
    let mut tokens = Tokens::default();
    tokens.add_clear("root", Role::Admin, None, ADMIN);
    tokens.add_clear("desk", Role::Clerk, Some("SSDNC"), CLERK);
    let keys = SubjectKeys::memory();
    let state = nanguo
        .state()
        .with_access(Access {
            tokens,
            anonymous_reads: false,
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 1024 * 1024,
        })
        .with_personal_data(keys.clone(), keys.memory_eraser());
    state.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut shutdown: watch::Receiver<bool> = nanguo.stop.subscribe();
    let served = state.clone();
    tokio::spawn(async move {
        axum::serve(listener, app(served))
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|s| *s).await;
            })
            .await
    });
    Service {
        nanguo,
        state,
        keys,
        base,
        http: reqwest::Client::new(),
    }
}

impl Service {
    async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, ADMIN, path, Some(body))
            .await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, ADMIN, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// Every byte the event log holds, as text.
    async fn log_text(&self) -> String {
        let stored = self.nanguo.log.read_from(0, 1_000_000).await.unwrap();
        stored
            .iter()
            .map(|s| String::from_utf8_lossy(&s.bytes).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The stored `data` of the event an answer names: answers show personal texts revealed,
    /// the log holds them sealed.
    async fn stored_data(&self, event: &Value) -> Value {
        let id = event["event_id"].as_str().unwrap();
        let stored = self.nanguo.log.read_from(0, 1_000_000).await.unwrap();
        stored
            .iter()
            .rev()
            .find_map(|s| {
                let value: Value = serde_json::from_slice(&s.bytes).ok()?;
                (value["event_id"] == id).then(|| value["data"].clone())
            })
            .unwrap_or_else(|| panic!("event {id} is not in the log"))
    }

    async fn log_len(&self) -> usize {
        self.nanguo.log.read_from(0, 1_000_000).await.unwrap().len()
    }

    /// Registers a person and answers their id.
    async fn register_person(&self) -> Uuid {
        let (status, body) = self
            .post(
                "/events",
                &json!({
                    "type": "stakeholder.registered",
                    "occurred_at": "2012-01-05T09:00:00+08:00",
                    "actor": {"office": "SSDNC", "user": "desk"},
                    "data": {"name": NAME, "kind": "leader", "level": "county", "influence": 3, "person": true}
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let event = &body["events"][0];
        let id: Uuid = event["stakeholder_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(event["data"]["name"], NAME, "the answer shows the name");
        let data = self.stored_data(event).await;
        let name = data["name"].as_str().unwrap();
        assert!(name.starts_with(&format!("sealed:v1:{id}:name:")), "{name}");
        id
    }
}

fn contact(person: Uuid, summary: &str, event_id: Option<Uuid>) -> Value {
    let mut draft = common::lobbying_contact(summary, -1);
    draft["data"]["stakeholder_id"] = json!(person);
    if let Some(event_id) = event_id {
        draft["event_id"] = json!(event_id);
    }
    draft
}

fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// Opens a stored token with the person's key from the key store.
async fn open(keys: &SubjectKeys, token: &str) -> String {
    let sealed = SealedText::parse(token).unwrap().unwrap();
    let key = keys.key(sealed.subject).await.unwrap().unwrap();
    sealed.open(&key).unwrap()
}

#[tokio::test]
async fn a_persons_contact_note_is_stored_sealed_and_opens_with_their_key() {
    let service = service().await;
    let person = service.register_person().await;
    let event_id = Uuid::now_v7();
    let (status, body) = service
        .post("/events", &contact(person, NOTE, Some(event_id)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["events"][0]["data"]["summary"], NOTE,
        "the answer shows the note"
    );
    let stored = service.stored_data(&body["events"][0]).await["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stored.starts_with(&format!("sealed:v1:{person}:summary:")));
    // The log's bytes hold neither the note nor the name; the key opens both.
    let log = service.log_text().await;
    assert!(
        !log.contains(NOTE) && !log.contains(NAME),
        "plain text in the log"
    );
    assert_eq!(open(&service.keys, &stored).await, NOTE);
    // The same text about a body (not a person) is stored as given.
    let (status, body) = service
        .post("/events", &contact(BUREAU.parse().unwrap(), NOTE, None))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["events"][0]["data"]["summary"], NOTE);

    // A retry of the draft with the personal field: the same event, stored once.
    let before = service.log_len().await;
    let (status, again) = service
        .post("/events", &contact(person, NOTE, Some(event_id)))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["events"][0]["hash"],
        body_hash(&service, event_id).await
    );
    assert_eq!(
        service.stored_data(&again["events"][0]).await["summary"],
        stored.as_str()
    );
    assert_eq!(service.log_len().await, before);
    // The same id with another note is another event: refused.
    let (status, body) = service
        .post("/events", &contact(person, "another note", Some(event_id)))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "event_id_reused");
}

#[tokio::test]
async fn csv_rows_about_a_person_are_stored_sealed_and_once() {
    let service = service().await;
    let person = service.register_person().await;
    let csv = format!(
        "Pilot,Stakeholder ID,Stance,Note,Occurred At,Office\n\
         {UNIFIED},{person},1,\"{NOTE}\",2012-03-01T10:00:00+08:00,SSDNC\n"
    );
    let import = |csv: String| {
        service
            .http
            .post(format!(
                "{}/api/v1/import?type=stakeholder.stance_assessed",
                service.base
            ))
            .bearer_auth(ADMIN)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
    };
    let report: Value = import(csv.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(report["stored"].as_array().unwrap().len(), 1, "{report}");
    let note = service.stored_data(&report["stored"][0]["event"]).await["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.starts_with(&format!("sealed:v1:{person}:note:")),
        "{note}"
    );
    assert_eq!(open(&service.keys, &note).await, NOTE);
    assert!(!service.log_text().await.contains(NOTE));
    // The same file again: the row is found stored, nothing new.
    let before = service.log_len().await;
    let again: Value = import(csv).await.unwrap().json().await.unwrap();
    assert_eq!(
        again["already_stored"].as_array().unwrap().len(),
        1,
        "{again}"
    );
    assert_eq!(again["stored"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(service.log_len().await, before);
}

/// The stored hash of `event_id`, from the pilot's chain as the API serves it.
async fn body_hash(service: &Service, event_id: Uuid) -> Value {
    let events = service.get(&format!("/pilots/{UNIFIED}/events")).await;
    let list = events
        .as_array()
        .or_else(|| events["events"].as_array())
        .unwrap();
    list.iter()
        .find(|e| e["event_id"] == json!(event_id))
        .map(|e| e["hash"].clone())
        .unwrap()
}

#[tokio::test]
async fn forged_or_misplaced_sealed_texts_are_refused() {
    let service = service().await;
    let person = service.register_person().await;
    let (_, body) = service.post("/events", &contact(person, NOTE, None)).await;
    let summary = service.stored_data(&body["events"][0]).await["summary"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = [
        // Looks like a token, is not one.
        "sealed:v1:garbage".to_string(),
        // A valid token of another field (the name) put in the summary.
        summary.replace(":summary:", ":name:"),
        // The right field, altered bytes.
        format!("{}AA", &summary[..summary.len() - 2]),
    ];
    for text in refused {
        let (status, body) = service.post("/events", &contact(person, &text, None)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}: {body}");
        assert_eq!(code(&body), "invalid_sealed_text", "{body}");
        assert_eq!(body["error"]["field"], "data.summary", "{body}");
    }
    // A token of this person's summary moved onto a body: refused too.
    let (status, body) = service
        .post("/events", &contact(BUREAU.parse().unwrap(), &summary, None))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "invalid_sealed_text");
    // `sealed:` starts only tokens: not a plain note, nor a field that is not personal.
    let (status, body) = service
        .post("/events", &contact(person, "sealed: the deal", None))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "invalid_sealed_text");
    let mut made_by = contact(BUREAU.parse().unwrap(), "a plain note", None);
    made_by["data"]["made_by"] = json!(summary);
    let (status, body) = service.post("/events", &made_by).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "data.made_by", "{body}");
    // The stored token itself, sent again: a valid sealed value of this field, kept as is.
    let (status, body) = service
        .post("/events", &contact(person, &summary, None))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        service.stored_data(&body["events"][0]).await["summary"],
        summary.as_str()
    );
    // A control character in a person's name is refused before sealing hides it.
    let (status, body) = service
        .post(
            "/events",
            &json!({
                "type": "stakeholder.registered",
                "occurred_at": "2012-01-05T09:00:00+08:00",
                "actor": {"office": "SSDNC", "user": "desk"},
                "data": {"name": "Zhang\u{1b}[2J", "kind": "leader", "level": "county", "influence": 3, "person": true}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "data.name", "{body}");
}

#[tokio::test]
async fn erasing_destroys_the_key_once_and_keeps_support_and_ledger() {
    let service = service().await;
    let person = service.register_person().await;
    let (status, _) = service.post("/events", &contact(person, NOTE, None)).await;
    assert_eq!(status, StatusCode::CREATED);
    let support = service.get(&format!("/pilots/{UNIFIED}/support")).await;
    let highlights = service.get("/highlights").await;
    let stakeholder = service.get(&format!("/stakeholders/{person}")).await;
    assert!(service.keys.key(person).await.unwrap().is_some());

    let erase = format!("/subjects/{person}/erase");
    let reason = json!({"reason": "Request under PIPL art. 47, ticket 2031"});
    // Only an admin erases, with a reason, a registered person.
    let (status, body) = service
        .send(reqwest::Method::POST, CLERK, &erase, Some(&reason))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = service.post(&erase, &json!({"reason": " "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "no_erasure_reason");
    let (status, body) = service
        .post(&format!("/subjects/{BUREAU}/erase"), &reason)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "not_a_person");
    let (status, body) = service
        .post(&format!("/subjects/{}/erase", Uuid::now_v7()), &reason)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, done) = service.post(&erase, &reason).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(done["subject"], json!(person));
    assert_eq!(done["key_destroyed"], true);
    assert_eq!(service.keys.cached(person), None);
    assert_eq!(service.keys.key(person).await.unwrap(), None);
    // Twice: 409, nothing recorded.
    let before = service.log_len().await;
    let (status, body) = service.post(&erase, &reason).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "already_erased");
    assert_eq!(service.log_len().await, before);

    // The facts stay: the support index, the ledger, the stakeholder's stances and points.
    assert_eq!(
        common::erasable_blanked(
            service.get(&format!("/pilots/{UNIFIED}/support")).await,
            NAME
        ),
        common::erasable_blanked(support, NAME)
    );
    assert_eq!(service.get("/highlights").await, highlights);
    let after = service.get(&format!("/stakeholders/{person}")).await;
    for part in ["pilots", "points", "ledger", "coalition", "opposition"] {
        assert_eq!(after[part], stakeholder[part], "{part}");
    }

    // No personal text about the erased person is stored again, and no new key is made.
    let (status, body) = service
        .post("/events", &contact(person, "one more note", None))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "subject_erased");
    assert_eq!(body["error"]["field"], "data.summary");
    assert_eq!(service.keys.key(person).await.unwrap(), None);
    // An erasure is not appended as a plain event.
    let (status, body) = service
        .post(
            "/events",
            &json!({"type": "subject.erased", "stakeholder_id": person,
                    "occurred_at": "2013-01-01T00:00:00Z",
                    "actor": {"office": "SSDNC", "user": "desk"}, "data": {"reason": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "erase_through_endpoint");
}

/// A `subject.erased` recorded elsewhere (here, straight through the writer, as another
/// process would): the fold drops the cached key, and a start with an eraser destroys it.
#[tokio::test]
async fn the_fold_forgets_an_erased_key_and_a_start_destroys_it() {
    let service = service().await;
    let person = service.register_person().await;
    assert!(service.keys.cached(person).is_some());
    let draft = pilot_runtime::writer::Draft {
        event_id: None,
        subject: pilot_events::Subject::Stakeholder(person),
        occurred_at: time::OffsetDateTime::now_utc(),
        actor: pilot_events::Actor {
            office: "SSDNC".into(),
            user: "other process".into(),
        },
        correlation_id: None,
        causation_id: None,
        provenance: Default::default(),
        event: pilot_events::Event::SubjectErased(pilot_events::data::SubjectErased {
            reason: "retention".into(),
        }),
    };
    service
        .state
        .writer
        .append(vec![draft], None)
        .await
        .unwrap();
    assert_eq!(service.keys.cached(person), None, "forgotten by the fold");
    // The key store still has it until a process with an eraser starts.
    assert!(service.keys.key(person).await.unwrap().is_some());
    service.keys.forget(person);
    assert_eq!(
        pilot_api::erasure::destroy_erased_keys(&service.state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(service.keys.key(person).await.unwrap(), None);
    assert_eq!(
        pilot_api::erasure::destroy_erased_keys(&service.state)
            .await
            .unwrap(),
        0
    );
}

/// A named person in the office: `made_by` with `made_by_id` naming them as a registered person
/// is their personal data, sealed under their key (not the contacted stakeholder's), shown by
/// the support answer, and erased with them; `made_by` without an id (a post) stays plain.
#[tokio::test]
async fn a_named_person_in_the_office_is_sealed_under_their_own_key_and_erased() {
    const STAFF: &str = "Chen Jing, SSDNC section chief";
    let service = service().await;
    let (status, body) = service
        .post(
            "/events",
            &json!({
                "type": "stakeholder.registered",
                "occurred_at": "2012-01-05T09:00:00+08:00",
                "actor": {"office": "SSDNC", "user": "desk"},
                "data": {"name": STAFF, "kind": "bureau", "level": "municipal", "influence": 1, "person": true}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let staff: Uuid = body["events"][0]["stakeholder_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let mut draft = contact(BUREAU.parse().unwrap(), "Briefed the bureau", None);
    draft["data"]["made_by"] = json!(STAFF);
    draft["data"]["made_by_id"] = json!(staff);
    let (status, body) = service.post("/events", &draft).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["events"][0]["data"]["made_by"], STAFF,
        "the answer shows the name"
    );
    let data = service.stored_data(&body["events"][0]).await;
    let stored = data["made_by"].as_str().unwrap();
    assert!(
        stored.starts_with(&format!("sealed:v1:{staff}:made_by:")),
        "{stored}"
    );
    assert_eq!(body["events"][0]["data"]["summary"], "Briefed the bureau");
    assert!(!service.log_text().await.contains(STAFF));
    assert_eq!(open(&service.keys, stored).await, STAFF);
    // The name without an id is a post, as the office writes it: plain.
    let mut post_only = contact(BUREAU.parse().unwrap(), "Briefed again", None);
    post_only["data"]["made_by"] = json!("Director of the SSDNC");
    let (status, body) = service.post("/events", &post_only).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["events"][0]["data"]["made_by"],
        "Director of the SSDNC"
    );
    // An id without the name it registers is refused, saying what to add.
    let mut id_only = contact(BUREAU.parse().unwrap(), "Briefed once more", None);
    id_only["data"]["made_by_id"] = json!(staff);
    let (status, body) = service.post("/events", &id_only).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("made_by"), "{body}");

    let support = service.get(&format!("/pilots/{UNIFIED}/support")).await;
    assert!(support.to_string().contains(STAFF), "{support}");
    let (status, body) = service
        .post(
            &format!("/subjects/{staff}/erase"),
            &json!({"reason": "Left the office; request under PIPL art. 47"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let support = service.get(&format!("/pilots/{UNIFIED}/support")).await;
    let text = support.to_string();
    assert!(!text.contains(STAFF), "{support}");
    assert!(
        text.contains("[erased ") && text.contains("Left the office"),
        "{support}"
    );
    assert_eq!(service.keys.key(staff).await.unwrap(), None);
}
