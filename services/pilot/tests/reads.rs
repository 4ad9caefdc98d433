//! The read endpoints, the export, the live event stream, /metrics and the OpenAPI document,
//! over the in-memory logs holding the Nanguo history (deploy/demo/README.md says what it
//! holds) folded by the process's runtime, called through the router with `oneshot`. Reads
//! of a world restored from a checkpoint are in `api.rs`, on a real nats-server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use futures::StreamExt;
use pilot_api::state::Access;
use pilot_api::{app, AppState};
use pilot_events::data::{Influence, StakeholderRegistered};
use pilot_events::{Actor, Event, Level, StakeholderKind, Subject};
use pilot_runtime::writer::Draft;
use pilot_store::memory::MemoryLog;
use pilot_store::EventLog;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

mod common;

use common::{ids, NANGUO};

const HICI: &str = "0194a000-0001-7000-8000-000000000001";
const HIHC: &str = "0194a000-0001-7000-8000-000000000003";
const LCHI: &str = "0194a000-0001-7000-8000-000000000004";
const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";
const LIU: &str = "0194a000-0002-7000-8000-000000000005";
const MAYOR: &str = "0194a000-0002-7000-8000-000000000006";
const FINANCE: &str = "0194a000-0002-7000-8000-000000000008";

/// The in-memory logs with the Nanguo history, the runtime folding them, and a ready state
/// whose reads are open without a token.
struct Served {
    nanguo: common::memory::MemoryNanguo,
    log: Arc<MemoryLog>,
    state: AppState,
}

async fn served() -> Served {
    let nanguo = common::memory::nanguo_memory().await;
    let state = nanguo.state().with_access(Access {
        anonymous_reads: true,
        ..Access::default()
    });
    state.set_ready();
    Served {
        log: nanguo.log.clone(),
        nanguo,
        state,
    }
}

impl Served {
    fn router(&self) -> Router {
        app(self.state.clone())
    }
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    (parts.status, parts.headers, bytes.to_vec())
}

async fn raw(router: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get(router: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, _, bytes) = raw(router, uri).await;
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

/// Asserts a 400 naming `field`, and returns the message.
async fn bad(router: &Router, uri: &str, field: &str) -> String {
    let (status, error) = get(router, uri).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {error}");
    assert_eq!(error["error"]["field"], field, "{uri}: {error}");
    error["error"]["message"].as_str().unwrap().to_string()
}

fn nanguo_lines() -> Vec<&'static [u8]> {
    NANGUO
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .collect()
}

#[tokio::test]
async fn pilots_are_filtered_by_stage_office_stall_and_time() {
    let served = served().await;
    let router = served.router();

    let (status, merged) = get(&router, "/api/v1/pilots?stage=merged").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&merged, "pilot_id").len(), 4);
    let (_, running) = get(&router, "/api/v1/pilots?stage=implementing").await;
    assert_eq!(ids(&running, "pilot_id"), [UNIFIED]);
    let (_, ours) = get(&router, "/api/v1/pilots?office=SSDNC").await;
    assert_eq!(ids(&ours, "pilot_id").len(), 5);
    let (_, theirs) = get(&router, "/api/v1/pilots?office=Elsewhere").await;
    assert_eq!(theirs, serde_json::json!([]));

    // Every approval has been decided by now.
    let (_, stalled) = get(&router, "/api/v1/pilots?stalled=true").await;
    assert_eq!(stalled, serde_json::json!([]));
    // LCHI's approval (requested 2003-10-13) stalled on 2003-11-12 and was granted on 12-15;
    // the unified system was not proposed yet.
    let (_, stalled) = get(&router, "/api/v1/pilots?as_of=2003-11-30&stalled=true").await;
    assert_eq!(ids(&stalled, "pilot_id"), [LCHI]);
    assert_eq!(stalled[0]["stage"], "awaiting_approval");
    let (_, fine) = get(&router, "/api/v1/pilots?as_of=2003-11-30&stalled=false").await;
    assert_eq!(ids(&fine, "pilot_id").len(), 3);
    assert!(!ids(&fine, "pilot_id").contains(&LCHI.to_string()));
    let (_, warned) = get(&router, "/api/v1/pilots?as_of=2003-11-10&stalled=true").await;
    assert_eq!(warned, serde_json::json!([]), "a warning is not a stall");

    // In the past, pilots not yet proposed are left out.
    let (_, early) = get(&router, "/api/v1/pilots?as_of=1995-01-01").await;
    assert_eq!(ids(&early, "pilot_id"), [HICI]);
    assert_eq!(early[0]["stage"], "implementing");
    // HICI was proposed on 1992-03-16 and logged a day later.
    let (_, unknown) = get(&router, "/api/v1/pilots?known_at=1992-03-16").await;
    assert_eq!(unknown, serde_json::json!([]));
    let (_, known) = get(&router, "/api/v1/pilots?known_at=1992-03-17").await;
    assert_eq!(ids(&known, "pilot_id"), [HICI]);
    let (_, in_2001) = get(
        &router,
        "/api/v1/pilots?as_of=2001-01-01&stage=implementing",
    )
    .await;
    assert_eq!(ids(&in_2001, "pilot_id").len(), 3, "HICI, BHI and HIHC");

    let message = bad(&router, "/api/v1/pilots?stage=piloting", "stage").await;
    assert!(message.contains("awaiting_approval"), "{message}");
    let message = bad(&router, "/api/v1/pilots?stalled=yes", "stalled").await;
    assert!(message.contains("true or false"), "{message}");
    bad(&router, "/api/v1/pilots?as_of=soon", "as_of").await;
    bad(&router, "/api/v1/pilots?known_at=2001-02-30", "known_at").await;
    bad(&router, "/api/v1/pilots?colour=red", "colour").await;
}

/// The Nanguo history's figures, worked out by hand from deploy/demo/nanguo.jsonl: HICI was
/// proposed on 1992-03-16 and approved 630 days later; LCHI's approval, requested on
/// 2003-10-13, stalled on 2003-11-12 and was granted on 2003-12-15 (63 days), 651 days after
/// LCHI's proposal on 2002-03-04; the unified system was proposed in July 2008.
#[tokio::test]
async fn analytics_compare_the_pilots_as_of_a_date() {
    let served = served().await;
    let router = served.router();

    let (status, all) = get(&router, "/api/v1/analytics?as_of=2020-01-01").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["as_of"], "2020-01-01T23:59:59.999999999Z");
    assert_eq!(ids(&all["pilots"], "pilot_id").len(), 5);
    let lchi = all["pilots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pilot_id"] == LCHI)
        .unwrap();
    assert_eq!(lchi["days_to_approval"], 651.0);
    assert_eq!(all["pilots"][0]["pilot_id"], HICI);
    // Proposed in March 1992 (month precision: 1992-03-01 00:00 +08:00), approved on
    // 1993-12-06 at 10:00: 645 days and 10 hours.
    let hici_days = all["pilots"][0]["days_to_approval"].as_f64().unwrap();
    assert!(
        (hici_days - (645.0 + 10.0 / 24.0)).abs() < 1e-9,
        "{hici_days}"
    );
    assert_eq!(all["request_to_decision"]["overall"]["max"], 63.0);
    let stalls = &all["stall_rates"]["overall"];
    assert_eq!(
        (
            stalls["stalled"].as_u64(),
            stalls["stalled_pending"].as_u64()
        ),
        (Some(1), Some(0))
    );
    let mayor = &all["proposal_to_approval"]["by_approver"][0];
    assert_eq!(mayor["approver_id"], MAYOR);
    assert_eq!(mayor["count"], 5, "the mayor opened every gate");
    assert!(all["points"]["by_stakeholder"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stakeholder_id"] == MAYOR && s["total"].as_u64() > Some(0)));

    // Cut in the middle: LCHI waits past its deadline; the unified system does not exist yet.
    let (status, mid) = get(&router, "/api/v1/analytics?as_of=2003-11-30").await;
    assert_eq!(status, StatusCode::OK, "{mid}");
    assert_eq!(ids(&mid["pilots"], "pilot_id").len(), 4);
    assert!(!ids(&mid["pilots"], "pilot_id").contains(&UNIFIED.to_string()));
    assert_eq!(mid["stall_rates"]["overall"]["stalled_pending"], 1);
    assert_eq!(mid["proposal_to_approval"]["overall"]["count"], 3);

    let (_, early) = get(
        &router,
        "/api/v1/analytics?as_of=1992-12-31T00:00:00%2B08:00",
    )
    .await;
    assert_eq!(ids(&early["pilots"], "pilot_id"), [HICI]);
    assert_eq!(early["pilots"][0]["days_to_approval"], Value::Null);

    let message = bad(&router, "/api/v1/analytics?as_of=last-year", "as_of").await;
    assert!(message.contains("RFC 3339"), "{message}");
    bad(&router, "/api/v1/analytics?as_of=2003-02-30", "as_of").await;
    bad(&router, "/api/v1/analytics?known_at=2003-01-01", "known_at").await;

    // Now, without a date.
    let (status, now) = get(&router, "/api/v1/analytics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now["pilots"], all["pilots"]);
}

#[tokio::test]
async fn an_analyst_may_read_the_analytics() {
    let served = served().await;
    let mut tokens = pilot_api::auth::Tokens::default();
    tokens.add_clear(
        "ana",
        pilot_api::auth::Role::Analyst,
        None,
        "analyst-secret",
    );
    let state = served.nanguo.state().with_access(Access {
        tokens,
        ..Access::default()
    });
    state.set_ready();
    let router = app(state);
    let request = |token: Option<&str>| {
        let mut request = Request::get("/api/v1/analytics?as_of=2001-01-01");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Body::empty()).unwrap()
    };
    let (status, _, body) = send(&router, request(Some("analyst-secret"))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = send(&router, request(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_pilots_support_names_its_stakeholders() {
    let served = served().await;
    let router = served.router();

    let (status, support) = get(&router, &format!("/api/v1/pilots/{LCHI}/support")).await;
    assert_eq!(status, StatusCode::OK, "{support}");
    assert_eq!(support["pilot_id"], LCHI);
    let index = support["support_index"].as_f64().unwrap();
    assert!(index > 0.0 && index <= 1.0, "{index}");
    let coalition = support["coalition"].as_array().unwrap();
    assert!(coalition.contains(&Value::from(FINANCE)), "{support}");
    let rows = support["stakeholders"].as_array().unwrap();
    let finance = rows
        .iter()
        .find(|row| row["stakeholder_id"] == FINANCE)
        .unwrap();
    assert_eq!(finance["name"], "Bureau of Finance of Nanguo");
    assert_eq!(finance["kind"], "bureau");
    assert_eq!(finance["influence"], 4);
    assert_eq!(finance["stance"], 2);
    assert!(finance["contacts"].as_u64().is_some());
    // The index is the formula over the rows.
    let (weighted, weights) = rows.iter().fold((0.0, 0.0), |(ws, w), row| {
        let weight = row["influence"].as_f64().unwrap();
        (ws + weight * row["stance"].as_f64().unwrap(), w + weight)
    });
    assert!((index - weighted / (2.0 * weights)).abs() < 1e-12);
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");

    // The same as the pilot's view, and as of a date before Finance joined LCHI's design.
    let (_, view) = get(&router, &format!("/api/v1/pilots/{LCHI}")).await;
    assert_eq!(view["support_index"], support["support_index"]);
    assert_eq!(view["coalition"], support["coalition"]);
    let (status, early) = get(
        &router,
        &format!("/api/v1/pilots/{LCHI}/support?as_of=2002-03-31"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{early}");
    assert!(!early["stakeholders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row["stakeholder_id"] == FINANCE));

    let (status, error) = get(
        &router,
        "/api/v1/pilots/0194a000-0001-7000-8000-000000000099/support",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
    let (status, _) = get(
        &router,
        &format!("/api/v1/pilots/{LCHI}/support?as_of=1990-01-01"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not proposed yet");
    bad(&router, "/api/v1/pilots/lchi/support", "id").await;
    bad(
        &router,
        &format!("/api/v1/pilots/{LCHI}/support?as_of=x"),
        "as_of",
    )
    .await;
}

#[tokio::test]
async fn stakeholders_carry_their_points_stances_and_ledger() {
    let served = served().await;
    let router = served.router();

    let (status, all) = get(&router, "/api/v1/stakeholders").await;
    assert_eq!(status, StatusCode::OK);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 19, "deploy/demo/README.md: 19 stakeholders");
    let names: Vec<&str> = all.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");
    let points = |id: &str| {
        all.iter().find(|s| s["stakeholder_id"] == id).unwrap()["points"]
            .as_u64()
            .unwrap()
    };
    // deploy/demo/README.md: Mayor (post) 40, Party Secretary (post) 24, Liu 8.
    assert_eq!(points(MAYOR), 40);
    assert_eq!(points("0194a000-0002-7000-8000-000000000007"), 24);
    assert_eq!(points(LIU), 8);
    assert_eq!(points(FINANCE), 0);
    let mayor = all.iter().find(|s| s["stakeholder_id"] == MAYOR).unwrap();
    assert_eq!(mayor["name"], "Mayor of Nanguo (post)");
    assert_eq!(mayor["kind"], "leader");
    assert_eq!(mayor["level"], "municipal");
    assert_eq!(mayor["influence"], 5);

    let (status, mayor) = get(&router, &format!("/api/v1/stakeholders/{MAYOR}")).await;
    assert_eq!(status, StatusCode::OK, "{mayor}");
    assert_eq!(mayor["points"], 40);
    let ledger = mayor["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), 6);
    let balances: Vec<u64> = ledger
        .iter()
        .map(|l| l["balance"].as_u64().unwrap())
        .collect();
    assert_eq!(balances, [4, 12, 16, 24, 32, 40]);
    assert_eq!(
        mayor["pilots"],
        serde_json::json!([]),
        "posts get no stances"
    );

    let (_, finance) = get(&router, &format!("/api/v1/stakeholders/{FINANCE}")).await;
    assert_eq!(finance["name"], "Bureau of Finance of Nanguo");
    let coalition = finance["coalition"].as_array().unwrap();
    assert!(coalition.contains(&Value::from(LCHI)), "{finance}");
    assert!(coalition.contains(&Value::from(HIHC)), "{finance}");
    assert_eq!(finance["opposition"], serde_json::json!([]));
    let on_lchi = finance["pilots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pilot_id"] == LCHI)
        .unwrap();
    assert_eq!(on_lchi["stance"], 2);
    assert_eq!(on_lchi["title"], "Local Citizen Health Insurance (LCHI)");
    assert_eq!(on_lchi["stage"], "merged");
    assert_eq!(finance["ledger"], serde_json::json!([]));

    let (status, error) = get(
        &router,
        "/api/v1/stakeholders/0194a000-0002-7000-8000-000000000099",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
    bad(&router, "/api/v1/stakeholders/mayor", "id").await;
    bad(&router, "/api/v1/stakeholders?kind=leader", "kind").await;
}

#[tokio::test]
async fn highlights_are_filtered_by_stakeholder_pilot_level_and_dates() {
    let served = served().await;
    let router = served.router();

    let (_, all) = get(&router, "/api/v1/highlights").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        8,
        "six honours and the SSDNC's two rewards"
    );
    assert!(all[0].get("balance").is_none(), "no subject, no balance");

    let (_, mayor) = get(&router, &format!("/api/v1/highlights?stakeholder={MAYOR}")).await;
    let balances: Vec<u64> = mayor
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["balance"].as_u64().unwrap())
        .collect();
    assert_eq!(balances, [4, 12, 16, 24, 32, 40]);
    let (_, liu) = get(&router, &format!("/api/v1/highlights?stakeholder={LIU}")).await;
    assert_eq!(ids(&liu, "highlight_id"), ["model-city-2009"]);

    let (_, hihc) = get(&router, &format!("/api/v1/highlights?pilot={HIHC}")).await;
    assert_eq!(
        ids(&hihc, "highlight_id"),
        [
            "ssdnc-ranking-upgrade",
            "visit-2006-vice-minister",
            "visit-2006-provincial-leaders"
        ]
    );
    assert_eq!(hihc[2]["balance"], 14, "2 + 8 + 4: each line once");

    let (_, national) = get(&router, "/api/v1/highlights?level=national").await;
    let national = national.as_array().unwrap();
    assert_eq!(national.len(), 4);
    assert!(national.iter().all(|l| l["points"] == 8));

    let (_, year) = get(
        &router,
        "/api/v1/highlights?from=2006-01-01&until=2006-12-31",
    )
    .await;
    assert_eq!(
        ids(&year, "highlight_id"),
        [
            "visit-2006-vice-minister",
            "visit-2006-provincial-leaders",
            "commendation-premier-wen"
        ]
    );
    let (_, day) = get(
        &router,
        "/api/v1/highlights?from=2006-05-15&until=2006-05-15",
    )
    .await;
    assert_eq!(ids(&day, "highlight_id"), ["visit-2006-vice-minister"]);
    // Instants keep their offset: the vice-minister came at 11:00+08:00, which is 03:00Z.
    let (_, until) = get(&router, "/api/v1/highlights?until=2006-05-15T03:00:00Z").await;
    assert_eq!(
        ids(&until, "highlight_id"),
        [
            "ssdnc-ranking-upgrade",
            "award-2005-provincial-science-technology",
            "visit-2006-vice-minister"
        ]
    );
    let (_, before) = get(
        &router,
        "/api/v1/highlights?until=2006-05-15T10:59:59%2B08:00",
    )
    .await;
    assert_eq!(before.as_array().unwrap().len(), 2);
    let (_, combined) = get(
        &router,
        &format!("/api/v1/highlights?stakeholder={MAYOR}&level=provincial&until=2006-06-30"),
    )
    .await;
    let combined = combined.as_array().unwrap();
    assert_eq!(combined.len(), 2);
    assert_eq!(
        combined[1]["balance"], 16,
        "the running balance counts every line"
    );

    let message = bad(&router, "/api/v1/highlights?level=city", "level").await;
    assert!(message.contains("provincial"), "{message}");
    bad(
        &router,
        "/api/v1/highlights?stakeholder=mayor",
        "stakeholder",
    )
    .await;
    bad(&router, "/api/v1/highlights?pilot=1", "pilot").await;
    bad(&router, "/api/v1/highlights?from=2007", "from").await;
    bad(&router, "/api/v1/highlights?until=tomorrow", "until").await;
    bad(
        &router,
        "/api/v1/highlights?from=2007-01-01&until=2006-01-01",
        "from",
    )
    .await;
}

/// Offices are creditable (schema 2): the SSDNC's rank and budget rises credit the office,
/// with its own running balance, and no leader.
#[tokio::test]
async fn offices_are_credited_with_their_rewards_and_run_a_balance() {
    let served = served().await;
    let router = served.router();

    let (status, offices) = get(&router, "/api/v1/offices").await;
    assert_eq!(status, StatusCode::OK, "{offices}");
    assert_eq!(
        offices,
        serde_json::json!([{"office": "SSDNC", "points": 4}])
    );

    let (_, lines) = get(&router, "/api/v1/highlights?office=SSDNC").await;
    let lines = lines.as_array().unwrap();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ranking_upgrade", "budget_increase"]);
    let balances: Vec<u64> = lines
        .iter()
        .map(|l| l["balance"].as_u64().unwrap())
        .collect();
    assert_eq!(balances, [2, 4]);
    assert!(lines
        .iter()
        .all(|l| l["credited_offices"] == serde_json::json!(["SSDNC"])
            && l["credited_to"] == serde_json::json!([])));
    let (_, none) = get(&router, "/api/v1/highlights?office=Finance").await;
    assert_eq!(none, serde_json::json!([]));
    let message = bad(&router, "/api/v1/highlights?office=%20", "office").await;
    assert!(message.contains("actor.office"), "{message}");
}

#[tokio::test]
async fn the_export_is_the_log_byte_for_byte_in_pages() {
    let served = served().await;
    let router = served.router();
    let lines = nanguo_lines();

    let (status, headers, body) = raw(&router, "/api/v1/events").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let last = lines.len().to_string();
    assert_eq!(headers["pilot-last-position"], last.as_str());
    assert_eq!(headers["pilot-next-after"], last.as_str());
    let exported: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(exported, lines, "every stored line, in order, as stored");
    assert!(body.ends_with(b"\n"));
    pilot_events::verify_lines(exported.iter().copied()).unwrap();

    // Pages: 40 + 40 + 18.
    let mut after = 0;
    let mut paged = Vec::new();
    loop {
        let (_, headers, body) =
            raw(&router, &format!("/api/v1/events?after={after}&limit=40")).await;
        let page: Vec<Vec<u8>> = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        assert!(page.len() <= 40);
        paged.extend(page);
        after = headers["pilot-next-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let last: u64 = headers["pilot-last-position"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        if after >= last {
            break;
        }
    }
    assert_eq!(paged, lines);
    let (_, headers, body) = raw(&router, "/api/v1/events?after=90&limit=5").await;
    let page: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(page, &lines[90..95]);
    assert_eq!(headers["pilot-next-after"], "95");
    let (_, headers, body) = raw(&router, &format!("/api/v1/events?after={last}")).await;
    assert!(body.is_empty());
    assert_eq!(headers["pilot-next-after"], last.as_str());

    // One pilot's chain.
    let hihc: Vec<&[u8]> = lines
        .iter()
        .copied()
        .filter(|l| {
            std::str::from_utf8(l)
                .unwrap()
                .contains(&format!("\"pilot_id\":\"{HIHC}\""))
        })
        .collect();
    let (status, _, body) = raw(&router, &format!("/api/v1/events?pilot={HIHC}")).await;
    assert_eq!(status, StatusCode::OK);
    let chain: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(chain, hihc);
    pilot_events::verify_lines(chain.iter().copied()).unwrap();
    let (_, headers, body) = raw(&router, &format!("/api/v1/events?pilot={HIHC}&limit=2")).await;
    let two: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(two, &hihc[..2]);
    let next: u64 = headers["pilot-next-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, _, rest) = raw(
        &router,
        &format!("/api/v1/events?pilot={HIHC}&after={next}"),
    )
    .await;
    let rest: Vec<&[u8]> = rest
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(rest, &hihc[2..]);

    bad(&router, "/api/v1/events?limit=0", "limit").await;
    bad(&router, "/api/v1/events?limit=10001", "limit").await;
    bad(&router, "/api/v1/events?after=-1", "after").await;
    bad(&router, "/api/v1/events?pilot=hihc", "pilot").await;
    let (status, error) = get(
        &router,
        "/api/v1/events?pilot=0194a000-0001-7000-8000-000000000099",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
}

/// Reads SSE frames from `body` until one with `id: {id}` arrives; returns that frame.
async fn frame_with_id(
    body: &mut (impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
    buffer: &mut String,
    id: u64,
) -> String {
    let wanted = format!("id: {id}\n");
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if frame.contains(&wanted) {
                    return frame;
                }
            }
            let chunk = body.next().await.expect("stream ended").unwrap();
            buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no event with id {id}; got {buffer:?}"))
}

fn registration(name: &str) -> Draft {
    Draft {
        event_id: None,
        subject: Subject::Stakeholder(Uuid::now_v7()),
        occurred_at: OffsetDateTime::now_utc(),
        actor: Actor {
            office: "SSDNC".into(),
            user: "reads-test".into(),
        },
        correlation_id: None,
        causation_id: None,
        provenance: Default::default(),
        event: Event::StakeholderRegistered(StakeholderRegistered {
            name: name.into(),
            kind: StakeholderKind::Expert,
            level: Level::Municipal,
            influence: Influence::saturating(2),
            person: false,
        }),
    }
}

#[tokio::test]
async fn the_event_stream_sends_new_events_and_resumes() {
    let served = served().await;
    let router = served.router();

    let response = router
        .clone()
        .oneshot(
            Request::get("/api/v1/events/stream")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut live = response.into_body().into_data_stream();
    let mut buffer = String::new();

    let stored = served
        .state
        .writer
        .append(vec![registration("Professor Wu")], None)
        .await
        .unwrap();
    let position = stored[0].position;
    // The history's last line is its last metric; the new event follows it.
    let last = nanguo_lines().len() as u64;
    assert_eq!(position, last + 1);
    let frame = frame_with_id(&mut live, &mut buffer, position).await;
    assert!(frame.contains("event: stakeholder.registered\n"), "{frame}");
    let bytes = served.log.read_from(position, 1).await.unwrap()[0]
        .bytes
        .clone();
    let data = format!("data: {}\n", std::str::from_utf8(&bytes).unwrap());
    assert!(frame.contains(&data), "the stored JSON as stored: {frame}");
    assert!(
        !buffer.contains(&format!("id: {last}\n")),
        "only new events without a resume point"
    );

    // A reconnecting client resumes after its Last-Event-ID, which wins over ?after=.
    let response = router
        .clone()
        .oneshot(
            Request::get("/api/v1/events/stream?after=10")
                .header("Last-Event-ID", (last - 1).to_string())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut resumed = response.into_body().into_data_stream();
    let mut resumed_buffer = String::new();
    let frame = frame_with_id(&mut resumed, &mut resumed_buffer, last).await;
    assert!(
        frame.contains("event: implementation.metric_recorded\n"),
        "{frame}"
    );
    assert!(frame.contains(std::str::from_utf8(nanguo_lines()[last as usize - 1]).unwrap()));
    frame_with_id(&mut resumed, &mut resumed_buffer, last + 1).await;

    let response = router
        .clone()
        .oneshot(
            Request::get(format!("/api/v1/events/stream?after={}", last - 1))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut from_query = response.into_body().into_data_stream();
    frame_with_id(&mut from_query, &mut String::new(), last).await;

    // Shutting down ends every open stream.
    served.state.shut_down();
    for stream in [&mut live, &mut resumed, &mut from_query] {
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while stream.next().await.is_some() {}
        })
        .await;
        assert!(ended.is_ok(), "the stream did not end on shutdown");
    }

    bad(&router, "/api/v1/events/stream?after=last", "after").await;
    let (status, _, body) = send(
        &router,
        Request::get("/api/v1/events/stream")
            .header("Last-Event-ID", "x")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["field"], "Last-Event-ID");
}

#[tokio::test]
async fn metrics_are_open_and_name_every_family() {
    let served = served().await;
    let router = served.router();
    get(&router, &format!("/api/v1/pilots/{HIHC}")).await;
    served.state.metrics.appended(2);
    served.state.metrics.rejected("wrong_stage");

    let (status, headers, body) = raw(&router, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(body).unwrap();
    let events = nanguo_lines().len();
    for needle in [
        "pilot_events_appended_total 2",
        "pilot_append_conflicts_total 0",
        "pilot_append_rejections_total{reason=\"wrong_stage\"} 1",
        &format!("pilot_projection_position {events}"),
        &format!("pilot_log_last_position {events}"),
        "pilot_projection_lag 0",
        &format!("pilot_projection_applied_total {events}"),
        "pilot_projection_quarantined_total 0",
        // Set from the recorded alerts at each scrape: none are recorded here.
        "pilot_alerts{state=\"firing\"} 0",
        "pilot_alerts{state=\"resolved\"} 0",
        "pilot_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/pilots/{id}\",status=\"200\",le=",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in\n{text}");
    }
    // No series per raw path.
    assert!(!text.contains(HIHC), "{text}");
}
