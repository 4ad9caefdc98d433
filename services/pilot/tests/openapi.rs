//! The generated OpenAPI document against the service it describes, on a real nats-server
//! holding the Nanguo history, through a real socket on 127.0.0.1: the document is OpenAPI
//! 3.1 whose schemas are valid JSON Schema and whose references resolve; every route answers
//! as documented (and nothing else is routed); real answers, errors and examples fit their
//! schemas; every event type has its schemas and every golden fixture, made a draft, fits
//! `Draft`; the reference page loads nothing from outside the server, also in a browser.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use pilot_api::auth::{Role, Tokens};
use pilot_api::state::Access;
use pilot_api::{app, AppState};
use pilot_events::EventType;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;

mod common;

const ADMIN: &str = "admin-secret";
const HIHC: &str = "0194a000-0001-7000-8000-000000000003";
const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";
const MAYOR: &str = "0194a000-0002-7000-8000-000000000006";
/// What the store sets on a sealed event, and a draft therefore leaves out.
const SEALED_FIELDS: [&str; 4] = ["recorded_at", "prev_hash", "hash", "signature"];

/// `pilot serve`'s router over the Nanguo history on a real nats-server, on a loopback port;
/// reads open without a token, as `anonymous_reads` makes them.
struct Served {
    _nanguo: common::Nanguo,
    base: String,
    http: reqwest::Client,
}

async fn served(consumer: &'static str) -> Served {
    let nanguo = common::nanguo(consumer).await;
    let mut tokens = Tokens::default();
    tokens.add_clear("root", Role::Admin, None, ADMIN);
    let state = AppState::new(nanguo.log.clone(), nanguo.projection.clone()).with_access(Access {
        tokens,
        anonymous_reads: true,
        ..Access::default()
    });
    state.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    Served {
        _nanguo: nanguo,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl Served {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let live = headers
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        if live {
            return (status, headers, String::new()); // the live stream never ends
        }
        (status, headers, response.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, text) = self.send(Method::GET, path, None, None).await;
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
        (status, json)
    }

    async fn document(&self) -> Value {
        let (status, document) = self.get("/api/v1/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        document
    }
}

/// A validator for `schema`, whose `$ref`s point into `document`'s components; formats
/// (`uuid`, `date-time`, `date`) are checked too.
fn validator(document: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Value::Object(root) = &mut root {
        root.insert("components".into(), document["components"].clone());
    } else {
        root = json!({"allOf": [schema], "components": document["components"]});
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("not a schema: {e}: {schema}"))
}

fn assert_fits(document: &Value, schema: &Value, instance: &Value, what: &str) {
    let validator = validator(document, schema);
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not fit its schema: {errors:#?}"
    );
}

fn assert_misfits(document: &Value, schema: &Value, instance: &Value, what: &str) {
    assert!(
        !validator(document, schema).is_valid(instance),
        "{what} fits its schema but must not"
    );
}

/// The JSON schema of `method path`'s answer with `status`.
fn answer_schema(document: &Value, method: &str, path: &str, status: u16) -> Value {
    let schema = &document["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no JSON answer {status}"
    );
    schema.clone()
}

fn component(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Every `$ref` in `value`, with where it is.
fn references<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => found.push((at.clone(), target)),
                    _ => references(item, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                references(item, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// The paths of a document with `{id}` made concrete.
fn concrete(path: &str) -> String {
    path.replace("{id}", HIHC)
}

#[tokio::test]
async fn openapi_document_is_3_1_and_every_route_answers_as_documented() {
    let served = served("openapi-routes").await;
    let document = served.document().await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(document["info"]["title"], "pilot-tracker");

    // Every reference resolves, and every named schema is valid JSON Schema 2020-12.
    let mut found = Vec::new();
    references(&document, String::new(), &mut found);
    assert!(found.len() > 100, "only {} references", found.len());
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: {target} points outside the document"));
        assert!(
            document.pointer(pointer).is_some(),
            "{at}: {target} resolves to nothing"
        );
    }
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        if let Err(error) = jsonschema::meta::validate(schema) {
            panic!("schema {name} is not valid JSON Schema: {error}");
        }
    }

    // What is documented is routed, and answers without a token exactly when it is open;
    // a method nobody documented on a documented path meets 405.
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let mut operations = 0;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in &methods {
            let documented = item.get(method.as_str().to_lowercase().as_str());
            // A token for the undocumented methods gets them past authentication, to 405;
            // POSTs without one show whether they are open.
            let token = documented.is_none().then_some(ADMIN);
            let (status, _, text) = served
                .send(method.clone(), &concrete(path), token, None)
                .await;
            match documented {
                Some(operation) => {
                    operations += 1;
                    assert!(
                        ids.insert(operation["operationId"].as_str().unwrap().to_string()),
                        "{method} {path}: operationId used twice"
                    );
                    assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                    assert!(
                        !text.contains("no such endpoint"),
                        "{method} {path} is documented but not routed"
                    );
                    let open = operation["security"] == json!([{}]);
                    let anonymous_get = *method == Method::GET;
                    assert_eq!(
                        status == StatusCode::UNAUTHORIZED,
                        !open && !anonymous_get,
                        "{method} {path}: {status} {text}"
                    );
                    if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
                        assert!(!open, "{method} {path} must name the bearer scheme");
                    }
                    assert!(
                        operation["summary"].is_string(),
                        "{method} {path} has no summary"
                    );
                }
                None => assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed but not documented"
                ),
            }
        }
    }
    assert!(operations >= 24, "only {operations} operations documented");

    // Every query parameter a read takes is documented, and no other: an unknown one is
    // refused with the list the handler reads.
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else {
            continue;
        };
        if !path.starts_with("/api/v1/") || path.ends_with("/stream") {
            continue;
        }
        let (status, error) = served
            .get(&format!("{}?zz_unknown=1", concrete(path)))
            .await;
        if status != StatusCode::BAD_REQUEST {
            continue; // served by the reference page, which takes no parameters of ours
        }
        assert_eq!(error["error"]["code"], "unknown_parameter", "{path}");
        let message = error["error"]["message"].as_str().unwrap();
        let mut taken: Vec<&str> = match message.split_once("this endpoint takes ") {
            Some((_, list)) if list != "none" => list.split(", ").collect(),
            _ => Vec::new(),
        };
        taken.sort_unstable();
        let mut documented: Vec<&str> = operation["parameters"]
            .as_array()
            .map(|list| {
                list.iter()
                    // `min_position` is the middleware's; `format` and `bom` are read by
                    // the CSV negotiation before the handler (checked below).
                    .filter(|p| {
                        p["in"] == "query"
                            && !["min_position", "format", "bom"]
                                .contains(&p["name"].as_str().unwrap())
                    })
                    .map(|p| p["name"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        documented.sort_unstable();
        assert_eq!(
            documented, taken,
            "GET {path}: documented vs read parameters"
        );
        // A list that answers CSV documents `format` and `bom`, and no other does.
        let answers_csv = served
            .send(
                Method::GET,
                &format!("{}?format=csv", concrete(path)),
                None,
                None,
            )
            .await
            .0
            == StatusCode::OK;
        let names: Vec<&str> = operation["parameters"]
            .as_array()
            .map(|list| list.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names.contains(&"format") && names.contains(&"bom"),
            answers_csv,
            "GET {path}: documents format and bom exactly when it answers CSV"
        );
    }
}

#[tokio::test]
async fn openapi_real_answers_and_examples_fit_their_schemas() {
    let served = served("openapi-answers").await;
    let document = served.document().await;
    let reads = [
        ("/api/v1/pilots", "/api/v1/pilots".to_string()),
        (
            "/api/v1/pilots",
            "/api/v1/pilots?as_of=2005-01-01".to_string(),
        ),
        ("/api/v1/pilots/{id}", format!("/api/v1/pilots/{HIHC}")),
        (
            "/api/v1/pilots/{id}/support",
            format!("/api/v1/pilots/{HIHC}/support"),
        ),
        (
            "/api/v1/pilots/{id}/events",
            format!("/api/v1/pilots/{HIHC}/events"),
        ),
        ("/api/v1/stakeholders", "/api/v1/stakeholders".to_string()),
        (
            "/api/v1/stakeholders/{id}",
            format!("/api/v1/stakeholders/{MAYOR}"),
        ),
        ("/api/v1/highlights", "/api/v1/highlights".to_string()),
        (
            "/api/v1/highlights",
            format!("/api/v1/highlights?stakeholder={MAYOR}"),
        ),
        ("/api/v1/offices", "/api/v1/offices".to_string()),
        ("/api/v1/jurisdictions", "/api/v1/jurisdictions".to_string()),
        ("/api/v1/analytics", "/api/v1/analytics".to_string()),
        ("/api/v1/alerts", "/api/v1/alerts".to_string()),
        ("/healthz", "/healthz".to_string()),
        ("/readyz", "/readyz".to_string()),
    ];
    for (path, uri) in reads {
        let (status, answer) = served.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {answer}");
        let schema = answer_schema(&document, "get", path, 200);
        assert_fits(&document, &schema, &answer, &uri);
    }

    // Errors, each with its documented status.
    let unknown = "0194a000-0001-7000-8000-0000000000ff";
    for (path, uri, status) in [
        (
            "/api/v1/pilots/{id}",
            format!("/api/v1/pilots/{unknown}"),
            404,
        ),
        (
            "/api/v1/pilots",
            "/api/v1/pilots?stage=nowhere".to_string(),
            400,
        ),
        (
            "/api/v1/pilots",
            "/api/v1/pilots?min_position=x".to_string(),
            400,
        ),
    ] {
        let (got, answer) = served.get(&uri).await;
        assert_eq!(got.as_u16(), status, "{uri}: {answer}");
        let schema = answer_schema(&document, "get", path, status);
        assert_fits(&document, &schema, &answer, &uri);
    }

    // An append's answer (201) and its refusal (422), then the same ids again (200).
    let draft = common::lobbying_contact("Briefed on the fund's first year", 1);
    let (status, _, text) = served
        .send(Method::POST, "/api/v1/events", Some(ADMIN), Some(&draft))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let appended: Value = serde_json::from_str(&text).unwrap();
    let schema = answer_schema(&document, "post", "/api/v1/events", 201);
    assert_fits(&document, &schema, &appended, "an append's answer");
    let mut refused = draft.clone();
    refused["data"]["stance"] = json!(7);
    let (status, _, text) = served
        .send(Method::POST, "/api/v1/events", Some(ADMIN), Some(&refused))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    let schema = answer_schema(&document, "post", "/api/v1/events", 422);
    assert_fits(
        &document,
        &schema,
        &serde_json::from_str(&text).unwrap(),
        "a refused append",
    );
    // The draft the service refused is refused by the document too, and the one it took fits.
    let draft_schema = component("Draft");
    assert_fits(&document, &draft_schema, &draft, "the appended draft");
    assert_misfits(&document, &draft_schema, &refused, "a stance of 7");

    // The export's lines, and its example's, are stored events.
    let (status, _, page) = served
        .send(Method::GET, "/api/v1/events?limit=50", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let example = document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]
        ["application/x-ndjson"]["example"]
        .as_str()
        .unwrap();
    let lines: Vec<&str> = page.lines().chain(example.lines()).collect();
    assert!(lines.len() > 50, "{}", lines.len());
    for line in lines {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_fits(&document, &component("Event"), &event, line);
    }

    // The answer of a pilot's chain after the append: stored events fit `Event` too.
    let (_, chain) = served
        .get(&format!("/api/v1/pilots/{UNIFIED}/events"))
        .await;
    let schema = answer_schema(&document, "get", "/api/v1/pilots/{id}/events", 200);
    assert_fits(&document, &schema, &chain, "the unified fund's chain");

    // Every JSON example the document shows fits the schema beside it.
    let mut examples = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let mut contents = Vec::new();
            if let Some(content) = operation["requestBody"]["content"].as_object() {
                contents.push(("request".to_string(), content));
            }
            if let Some(responses) = operation["responses"].as_object() {
                for (status, response) in responses {
                    if let Some(content) = response["content"].as_object() {
                        contents.push((status.clone(), content));
                    }
                }
            }
            for (what, content) in contents {
                for (media, body) in content {
                    let Some(example) = body.get("example") else {
                        continue;
                    };
                    examples += 1;
                    if media == "application/json" {
                        assert_fits(
                            &document,
                            &body["schema"],
                            example,
                            &format!("{method} {path} {what} example"),
                        );
                    }
                }
            }
        }
    }
    assert!(examples >= 25, "only {examples} examples");
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let shown = operation["responses"]
                .as_object()
                .unwrap()
                .values()
                .any(|r| {
                    r["content"]
                        .as_object()
                        .is_some_and(|c| c.values().any(|b| b.get("example").is_some()))
                });
            assert!(shown, "{method} {path} shows no example answer");
        }
    }
    assert!(operations >= 24);
}

#[tokio::test]
async fn openapi_every_event_type_is_typed_and_golden_drafts_fit() {
    let served = served("openapi-events").await;
    let document = served.document().await;
    let schemas = &document["components"]["schemas"];

    let wire: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(schemas["EventType"]["enum"], json!(wire));
    for name in ["Draft", "Event"] {
        let one_of = schemas[name]["oneOf"].as_array().unwrap();
        assert_eq!(one_of.len(), EventType::ALL.len(), "{name}");
        let mapping = schemas[name]["discriminator"]["mapping"]
            .as_object()
            .unwrap();
        assert_eq!(schemas[name]["discriminator"]["propertyName"], "type");
        for event_type in EventType::ALL {
            let target = mapping[event_type.as_str()].as_str().unwrap();
            let own = document.pointer(target.trim_start_matches('#')).unwrap();
            assert_eq!(
                own["properties"]["type"]["enum"],
                json!([event_type.as_str()]),
                "{target}"
            );
            let data = own["properties"]["data"]["$ref"].as_str().unwrap();
            assert!(
                document.pointer(data.trim_start_matches('#')).unwrap()["properties"].is_object(),
                "{event_type}: data {data} has no fields"
            );
        }
    }

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/tests/golden");
    let mut seen = std::collections::BTreeSet::new();
    for dir in [golden.clone(), golden.join("schema-2")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let stored: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let what = path.display().to_string();
            let own = |name: &str| json!({"$ref": schemas[name]["discriminator"]["mapping"][stored["type"].as_str().unwrap()]});
            // Its own type's schema first, for a precise failure; then the whole `oneOf`.
            assert_fits(&document, &own("Event"), &stored, &what);
            assert_fits(&document, &component("Event"), &stored, &what);
            let mut draft = stored.clone();
            for field in SEALED_FIELDS {
                draft.as_object_mut().unwrap().remove(field);
            }
            assert_fits(&document, &own("Draft"), &draft, &what);
            assert_fits(&document, &component("Draft"), &draft, &what);
            // Typed per `type`: the same data under another type does not fit.
            let other = if stored["type"] == "pilot.proposed" {
                "approval.granted"
            } else {
                "pilot.proposed"
            };
            let mut mistyped = draft.clone();
            mistyped["type"] = json!(other);
            assert_misfits(&document, &component("Draft"), &mistyped, &what);
            let mut sealed = draft.clone();
            sealed["hash"] = stored["hash"].clone();
            assert_misfits(&document, &component("Draft"), &sealed, &what);
            seen.insert(stored["type"].as_str().unwrap().to_string());
        }
    }
    let all: std::collections::BTreeSet<String> = wire.iter().map(|t| t.to_string()).collect();
    assert_eq!(seen, all, "a golden fixture per event type");
}

#[tokio::test]
async fn openapi_reference_page_is_served_from_local_assets_only() {
    let served = served("openapi-docs").await;
    let (status, headers, _) = served.send(Method::GET, "/api/v1/docs", None, None).await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(headers["location"], "/api/v1/docs/");

    let (status, headers, page) = served.send(Method::GET, "/api/v1/docs/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(!policy.contains("http"), "{policy}");

    // Every asset the page names is relative, on this server, and served.
    let mut assets = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for piece in page.split(attribute).skip(1) {
            assets.push(piece.split('"').next().unwrap().to_string());
        }
    }
    assert!(assets.len() >= 3, "{page}");
    assert!(
        assets.iter().any(|a| a.ends_with("swagger-initializer.js")),
        "{page}"
    );
    for asset in &assets {
        assert!(
            !asset.contains("//") && !asset.starts_with("data:http"),
            "the page loads {asset} from elsewhere"
        );
        let (status, _, body) = served
            .send(Method::GET, &format!("/api/v1/docs/{asset}"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(!body.is_empty(), "{asset}");
    }

    // The page reads the document from this server and asks no outside validator.
    let (_, _, initializer) = served
        .send(
            Method::GET,
            "/api/v1/docs/swagger-initializer.js",
            None,
            None,
        )
        .await;
    assert!(
        initializer.contains("/api/v1/openapi.json"),
        "{initializer}"
    );
    assert!(
        !initializer.contains("http://") && !initializer.contains("https://"),
        "{initializer}"
    );
    assert!(
        initializer
            .replace(' ', "")
            .contains("\"validatorUrl\":\"none\""),
        "{initializer}"
    );
}

/// In headless Chromium the page renders the document (its title and an operation), logs no
/// error (a Content-Security-Policy violation would be one), and loads nothing from outside
/// the server.
#[tokio::test]
async fn openapi_reference_page_renders_offline_in_a_browser() {
    use pilot_browser_harness::{browser_or_skip, Browser};
    let served = served("openapi-browser").await;
    let browser = browser_or_skip!(Browser::start());
    browser
        .goto(&format!("{}/api/v1/docs/", served.base))
        .await
        .unwrap();
    let rendered = "return document.querySelector('.swagger-ui .info .title') !== null \
         && document.querySelector('.swagger-ui .opblock') !== null;";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while browser.eval(rendered, vec![]).await.unwrap() != json!(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "the reference page did not render the document"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let title = browser
        .eval(
            "return document.querySelector('.swagger-ui .info .title').textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert!(title.as_str().unwrap().contains("pilot-tracker"), "{title}");
    let leaving = browser.requests_leaving(&served.base).await.unwrap();
    assert!(leaving.is_empty(), "the page loaded {leaving:?}");
    let errors = browser.console_errors().await.unwrap();
    assert!(errors.is_empty(), "{errors:#?}");
    browser.close().await.unwrap();
}
