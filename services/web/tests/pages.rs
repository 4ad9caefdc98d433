//! The pages of issue 12's items 3, 4 and 9 through the merged router, over the in-memory
//! logs with the Nanguo history: the pilot page's charts, `known_at` and chain check, the
//! stakeholder page, the ledger, the dossier's print stylesheet, and Chinese labels.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use common::{between, get, page, served, HICI, HIHC, MAYOR};
use pilot_events::Subject;
use pilot_store::EventLog;
use uuid::Uuid;

/// Mayor Gong: stances on HIHC and LCHI.
const GONG: &str = "0194a000-0002-7000-8000-000000000003";
/// Party Secretary Liu: a stance on the unified system and a highlight.
const LIU: &str = "0194a000-0002-7000-8000-000000000005";

/// The figure of metric `name` on a pilot page.
fn metric_figure<'a>(body: &'a str, name: &str) -> &'a str {
    between(body, &format!("id=\"metric-{name}\""), "</figure>")
}

#[tokio::test]
async fn the_pilot_page_charts_each_metric_against_its_target_over_time() {
    let served = served().await;
    let router = &served.router;
    let body = page(router, &format!("/pilots/{HIHC}")).await;
    let figure = metric_figure(&body, "insured_persons");
    assert!(figure.contains("<svg class=\"chart\""), "{figure}");
    assert!(figure.contains("<title id=\"chart-metric-"), "{figure}");
    assert!(figure.contains("<polyline class=\"series\""), "{figure}");
    assert!(figure.contains("<line class=\"target\""), "{figure}");
    assert!(figure.contains("target 1,000,000"), "{figure}");
    assert!(figure.contains("data-last=\"880,000\""), "{figure}");
    // The table beside it holds the same readings (the accessible form).
    assert!(figure.contains("<table class=\"readings\">"), "{figure}");
    assert!(figure.contains("200,000 persons"), "{figure}");
    // No inline style anywhere: the CSP allows none.
    assert!(!body.contains("style="), "inline style in the page");

    let then = page(router, &format!("/pilots/{HIHC}?as_of=2001-01-01")).await;
    let figure = metric_figure(&then, "insured_persons");
    assert!(figure.contains("data-last=\"880,000\""), "{figure}");
    let before = page(router, &format!("/pilots/{HIHC}?as_of=2000-06-30")).await;
    let figure = metric_figure(&before, "insured_persons");
    assert!(figure.contains("data-last=\"200,000\""), "{figure}");
    assert!(!figure.contains("880,000"), "{figure}");

    // Approvals are marks on the timeline with their wait; contacts over time are charted.
    let marks = between(&body, "<ol class=\"marks\">", "</ol>");
    assert!(marks.contains("hihc-2000-mayor"), "{marks}");
    assert!(marks.contains("waited"), "{marks}");
    assert!(marks.contains("Merged into"), "{marks}");
    assert!(
        body.contains("id=\"chart-contacts-title\""),
        "contacts chart"
    );
    // Coalition and opposition, each name a link to the stakeholder page.
    let coalition = between(&body, "<ul class=\"coalition\">", "</ul>");
    assert!(coalition.contains("href=\"/stakeholders/"), "{coalition}");
}

#[tokio::test]
async fn known_at_leaves_out_what_was_logged_later() {
    let served = served().await;
    let router = &served.router;
    // The 880,000 reading (for 2000-12-31) was logged on 2001-01-01 at 09:00 +08:00.
    let known = page(router, &format!("/pilots/{HIHC}?known_at=2000-12-31")).await;
    let figure = metric_figure(&known, "insured_persons");
    assert!(figure.contains("data-last=\"200,000\""), "{figure}");
    assert!(!figure.contains("880,000"), "{figure}");
    assert!(known.contains("As known at the end of 2000-12-31"), "note");
    assert!(known.contains("name=\"known_at\" type=\"date\" value=\"2000-12-31\""));
    let events = between(&known, "class=\"events-history\"", "</section>");
    assert!(
        !events.contains("2001-01-01T09:00:00+08:00"),
        "a later event"
    );
    // Known a day later, it is there.
    let later = page(router, &format!("/pilots/{HIHC}?known_at=2001-01-01")).await;
    assert!(metric_figure(&later, "insured_persons").contains("data-last=\"880,000\""));
    // A bad date is a 400 page.
    let bad = get(router, &format!("/pilots/{HIHC}?known_at=yesterday")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_link_of_a_nanguo_chain_holds() {
    let served = served().await;
    let body = page(&served.router, &format!("/pilots/{HICI}")).await;
    let verdict = between(&body, "id=\"chain-verdict\">", "</p>");
    assert!(verdict.starts_with("Verified: all "), "{verdict}");
    assert!(body.contains("class=\"chain-ok\" id=\"chain-verdict\""));
    assert!(!body.contains("class=\"chain-broken\""), "no broken link");
    let events = between(&body, "class=\"events-history\"", "</section>");
    assert!(events.matches(">OK</td>").count() >= 5, "{events}");
}

#[tokio::test]
async fn a_tampered_chain_shows_its_broken_links() {
    let served = served().await;
    let id = Uuid::parse_str(HIHC).unwrap();
    let stored = served.log.read_chain(Subject::Pilot(id), 0).await.unwrap();
    // A copy of the chain's last event with its content altered, and plain junk, written on
    // the chain's subject past the service.
    let mut altered: serde_json::Value =
        serde_json::from_slice(&stored.last().unwrap().bytes).unwrap();
    altered["actor"]["user"] = serde_json::json!("mallory");
    altered["event_id"] = serde_json::json!(Uuid::now_v7().to_string());
    let altered_at = served.log.append_foreign(
        Subject::Pilot(id),
        Bytes::from(serde_json::to_vec(&altered).unwrap()),
    );
    let junk_at = served
        .log
        .append_foreign(Subject::Pilot(id), Bytes::from_static(b"not an event"));

    let body = page(&served.router, &format!("/pilots/{HIHC}")).await;
    let verdict = between(&body, "id=\"chain-verdict\">", "</p>");
    assert!(verdict.contains("Broken: 2 stored messages"), "{verdict}");
    let check = between(&body, "class=\"chain-check\"", "</section>");
    assert!(
        check.contains(&format!(
            "<th scope=\"row\" class=\"num\">{altered_at}</th>"
        )),
        "{check}"
    );
    assert!(check.contains("Altered: its hash does not match its content"));
    assert!(check.contains(&format!("<th scope=\"row\" class=\"num\">{junk_at}</th>")));
    assert!(check.contains("Not a stored event"), "{check}");
    // The events the fold kept still hold.
    let events = between(&body, "class=\"events-history\"", "</section>");
    assert!(events.contains(">OK</td>"), "{events}");

    // Another pilot's chain is untouched.
    let other = page(&served.router, &format!("/pilots/{HICI}")).await;
    assert!(other.contains("class=\"chain-ok\" id=\"chain-verdict\""));
}

#[tokio::test]
async fn the_stakeholder_page_shows_stances_across_pilots_and_the_balance_chart() {
    let served = served().await;
    let router = &served.router;
    // Mayor Gong has a stance on HIHC and LCHI.
    let gong = page(router, &format!("/stakeholders/{GONG}")).await;
    assert!(gong.contains("<h1>Mayor Gong</h1>"), "title");
    let stances = between(&gong, "id=\"h-stances\"", "</section>");
    assert!(stances.matches("href=\"/pilots/").count() >= 2, "{stances}");
    assert!(
        stances.contains(&format!("href=\"/pilots/{HIHC}\"")),
        "{stances}"
    );
    assert!(stances.contains("Coalition"), "{stances}");
    // Party Secretary Liu: a stance on the unified system and a highlight.
    let liu = page(router, &format!("/stakeholders/{LIU}")).await;
    assert!(between(&liu, "id=\"h-stances\"", "</section>").contains("Unified Basic"));
    assert!(between(&liu, "id=\"h-balance\"", "</section>").contains("<svg class=\"chart\""));

    let body = page(router, &format!("/stakeholders/{MAYOR}")).await;
    assert!(body.contains("<h1>Mayor of Nanguo (post)</h1>"), "title");
    let balance = between(&body, "id=\"h-balance\"", "</section>");
    assert!(balance.contains("<svg class=\"chart\""), "{balance}");
    assert!(balance.contains("id=\"chart-balance-title\""), "{balance}");
    assert!(balance.contains("National Model City"), "{balance}");

    // The API's figure for the same stakeholder.
    let api = get(router, &format!("/api/v1/stakeholders/{MAYOR}")).await;
    let detail: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    let points = detail["points"].as_u64().unwrap();
    assert!(points > 0);
    assert!(
        balance.contains(&format!("data-last=\"{points}\"")),
        "{balance}"
    );
    // As of a day before any highlight: no chart, no lines.
    let early = page(router, &format!("/stakeholders/{MAYOR}?as_of=2000-01-01")).await;
    assert!(!between(&early, "id=\"h-balance\"", "</section>").contains("<svg"));

    // Linked from the pilot page; an unknown stakeholder is a 404 page.
    let pilot = page(router, &format!("/pilots/{HIHC}")).await;
    assert!(pilot.contains("href=\"/stakeholders/"), "links");
    let unknown = get(router, &format!("/stakeholders/{}", Uuid::nil())).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = get(router, "/stakeholders/not-a-uuid").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_ledger_ranks_stakeholders_by_points_with_the_lines_behind_each() {
    let served = served().await;
    let router = &served.router;
    let body = page(router, "/ledger").await;
    assert!(
        body.contains("href=\"/ledger\" aria-current=\"page\""),
        "nav"
    );
    // (id, points) in the page's order.
    let ranked: Vec<(String, u64)> = body
        .split("<li class=\"ledger-row\" id=\"s-")
        .skip(1)
        .map(|row| {
            let id = row.split('"').next().unwrap().to_string();
            let points = between(row, "</strong>: ", " points").parse().unwrap();
            (id, points)
        })
        .collect();
    assert!(ranked.len() >= 3, "{ranked:?}");
    assert!(ranked.windows(2).all(|w| w[0].1 >= w[1].1), "{ranked:?}");
    assert_eq!(ranked[0].0, MAYOR);
    // Each figure is the API's.
    let api = get(router, "/api/v1/stakeholders").await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&api.body).unwrap();
    let with_points: Vec<_> = rows
        .iter()
        .filter(|r| r["points"].as_u64() > Some(0))
        .collect();
    assert_eq!(with_points.len(), ranked.len());
    for (id, points) in &ranked {
        let row = rows
            .iter()
            .find(|r| r["stakeholder_id"] == id.as_str())
            .unwrap();
        assert_eq!(row["points"].as_u64(), Some(*points), "{id}");
    }
    // The lines behind the first figure add up to it.
    let first = between(&body, &format!("id=\"s-{MAYOR}\""), "</li>");
    let sum: u64 = first
        .split("data-label=\"Points\" class=\"num\">")
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, ranked[0].1);
    assert!(first.contains(&format!("href=\"/stakeholders/{MAYOR}\"")));

    // Filters are the API's: a level narrows, a bad one is its 400.
    let national = page(router, "/ledger?level=national").await;
    assert!(!national.contains("Provincial Science and Technology"));
    assert!(national.contains("National Model City"));
    let bad = get(router, "/ledger?level=galactic").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let until = page(router, "/ledger?until=2006-01-01").await;
    assert!(!until.contains("National Model City"));
}

#[tokio::test]
async fn the_pilot_page_prints_as_a_dossier() {
    let served = served().await;
    let router = &served.router;
    let body = page(router, &format!("/pilots/{HIHC}")).await;
    let name = between(
        &body,
        "<link rel=\"stylesheet\" href=\"/assets/print-",
        "\"",
    );
    assert!(
        body.contains(&format!("href=\"/assets/print-{name}\" media=\"print\">")),
        "linked for print"
    );
    let css = get(router, &format!("/assets/print-{name}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.body.contains("size: A4"), "{}", css.body);
    assert!(css.body.contains("header.site nav"), "nav hidden");
    // The timeline prints with its bands' labels, whatever the screen hid.
    assert!(
        css.body.contains("svg.timeline .band-label"),
        "{}",
        css.body
    );
    // The date it was printed and the log position it shows.
    let printed = between(&body, "<p class=\"printed\">", "</p>");
    assert!(printed.starts_with("Printed 20"), "{printed}");
    let position = served.state.projection.position();
    assert!(position >= 98, "{position}");
    assert!(
        printed.ends_with(&format!("log position {position}")),
        "{printed}"
    );
    // Every page links it; the overview stays far under 200 KB.
    let overview = page(router, "/").await;
    assert!(overview.contains("media=\"print\""));
    assert!(overview.len() < 200_000, "{}", overview.len());
}

#[tokio::test]
async fn the_new_pages_speak_chinese() {
    let served = served().await;
    let router = &served.router;
    let pilot = page(router, &format!("/pilots/{HIHC}?lang=zh-CN")).await;
    for label in [
        "截至记录日",
        "哈希链",
        "已验证",
        "审批、合并与推广",
        "支持联盟",
        "打印于",
        "日志位置",
    ] {
        assert!(pilot.contains(label), "{label}");
    }
    assert!(pilot.contains("目标 1,000,000"), "chart label");
    let stakeholder = page(router, &format!("/stakeholders/{GONG}?lang=zh-CN")).await;
    for label in ["在各试点上的立场", "政绩积分变化", "阵营", "支持联盟"] {
        assert!(stakeholder.contains(label), "{label}");
    }
    let ledger = page(router, "/ledger?lang=zh-CN").await;
    for label in ["<h1>政绩台账</h1>", "起始", "截止", " 分</summary>"] {
        assert!(ledger.contains(label), "{label}");
    }
    assert!(ledger.contains(">台账</a>"), "nav");
}

/// LCHI: its approval waited 63 days (stalled from 2003-11-12).
const LCHI: &str = "0194a000-0001-7000-8000-000000000004";
/// The unified system the four programs merged into in 2008.
const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";

/// The value of attribute `name` in `tag` (the text of one element's start tag).
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    between(tag, &format!(" {name}=\""), "\"")
}

/// Each `<g class="{class}…` group of the timeline's SVG, as its text up to `</g>`.
fn groups<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
    svg.split(&format!("<g class=\"{class}"))
        .skip(1)
        .map(|g| &g[..g.find("</g>").unwrap()])
        .collect()
}

fn number(tag: &str, name: &str) -> f64 {
    attr(tag, name).parse().unwrap()
}

/// The days between two `YYYY-MM-DD` dates.
fn days(from: &str, to: &str) -> i64 {
    let day = |d: &str| {
        time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
    };
    (day(to) - day(from)).whole_days()
}

#[tokio::test]
async fn the_timeline_is_one_svg_with_a_band_per_stage_and_the_documented_dates() {
    let served = served().await;
    let router = &served.router;
    let body = page(router, &format!("/pilots/{HIHC}?as_of=2001-01-01")).await;
    let section = between(&body, "aria-labelledby=\"h-timeline\"", "</section>");
    let svg = between(section, "<svg class=\"timeline\"", "</svg>");
    assert!(svg.contains("role=\"img\""), "{svg}");
    assert!(svg.contains("aria-labelledby=\"timeline-title timeline-desc\""));
    assert!(svg.contains("<title id=\"timeline-title\">Stage timeline</title>"));
    assert!(svg.contains("<desc id=\"timeline-desc\">"), "{svg}");
    assert!(!body.contains("style="), "inline style in the page");
    // One band per stage entered, from its entry to the next, the last to the as-of day
    // (deploy/demo/README.md: proposed 1999-01-18, designed 1999-06-21, approved 1999-12-06,
    // implementing since 2000, a year-precision date drawn from its first instant).
    let bands: Vec<(String, String, String)> = groups(svg, "band")
        .iter()
        .map(|g| {
            (
                attr(g, "data-stage").to_string(),
                attr(g, "data-from").to_string(),
                attr(g, "data-until").to_string(),
            )
        })
        .collect();
    let expected = [
        ("framing", "1999-01-18", "1999-06-21"),
        ("design", "1999-06-21", "1999-11-15"),
        ("awaiting_approval", "1999-11-15", "1999-12-06"),
        ("approved", "1999-12-06", "2000-01-01"),
        ("implementing", "2000-01-01", "2001-01-01"),
    ];
    assert_eq!(
        bands,
        expected
            .iter()
            .map(|(s, f, u)| (s.to_string(), f.to_string(), u.to_string()))
            .collect::<Vec<_>>()
    );
    // Bands follow each other inside the axis; the current one is labelled.
    let rects: Vec<(f64, f64)> = groups(svg, "band")
        .iter()
        .map(|g| {
            let rect = between(g, "<rect", "/>");
            (number(rect, "x"), number(rect, "width"))
        })
        .collect();
    for pair in rects.windows(2) {
        assert!(pair[0].0 + pair[0].1 <= pair[1].0 + 0.05, "{rects:?}");
    }
    assert!(svg.contains(">Implementing</text>"), "{svg}");
    assert_eq!(attr(svg, "data-start"), "1999-01-18");
    assert_eq!(attr(svg, "data-end"), "2001-01-01");
    assert!(
        svg.contains(">2000</text>") && svg.contains(">2001</text>"),
        "year ticks"
    );
    // The dates stay as text under it (the accessible form, and what the browser test reads).
    let stages = between(section, "<ol class=\"stages\">", "</ol>");
    // A vague date shows as its period: the launch is "2000", not its first instant.
    for text in [
        "1999-01-18",
        "1999-12-06 – 2000: ",
        "<li>2000 – ",
        "Implementing",
    ] {
        assert!(stages.contains(text), "{stages}");
    }
    assert!(!stages.contains("2000-01-01"), "{stages}");
    assert!(!section.contains("Merged"), "not merged in 2001: {section}");
}

#[tokio::test]
async fn approval_marks_span_the_waits_the_api_reports() {
    let served = served().await;
    let router = &served.router;
    for (pilot, as_of) in [(HIHC, ""), (LCHI, "2003-11-20"), (UNIFIED, "")] {
        let query = if as_of.is_empty() {
            String::new()
        } else {
            format!("?as_of={as_of}")
        };
        let body = page(router, &format!("/pilots/{pilot}{query}")).await;
        let svg = between(&body, "<svg class=\"timeline\"", "</svg>");
        let axis = between(svg, "<line class=\"axis\"", "/>");
        let (left, right) = (number(axis, "x1"), number(axis, "x2"));
        let per_day = (right - left) / days(attr(svg, "data-start"), attr(svg, "data-end")) as f64;
        let api = get(router, &format!("/api/v1/pilots/{pilot}{query}")).await;
        let view: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        let day = |v: &serde_json::Value| v.as_str().unwrap()[..10].to_string();
        // (approval, requested, until, pending) as the API says.
        let mut expected: Vec<(String, String, String, bool)> = view["decided_approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["approval_id"].as_str().unwrap().to_string(),
                    day(&d["requested_at"]),
                    day(&d["decided_at"]),
                    false,
                )
            })
            .collect();
        let pending = view["pending_approvals"].as_object().unwrap();
        expected.extend(pending.values().map(|a| {
            (
                a["approval_id"].as_str().unwrap().to_string(),
                day(&a["requested_at"]),
                as_of.to_string(),
                true,
            )
        }));
        let marks = groups(svg, "mark approval");
        assert_eq!(marks.len(), expected.len(), "{pilot}: {svg}");
        assert!(!expected.is_empty(), "{pilot}");
        for (approval, requested, until, pending) in &expected {
            let mark = marks
                .iter()
                .find(|g| attr(g, "data-approval") == approval)
                .unwrap_or_else(|| panic!("{approval} not marked"));
            assert_eq!(attr(mark, "data-requested"), requested, "{mark}");
            assert_eq!(attr(mark, "data-until"), until, "{mark}");
            let waited = days(requested, until);
            assert_eq!(attr(mark, "data-days"), waited.to_string(), "{mark}");
            let bar = between(mark, "<rect", "/>");
            let (x, width) = (number(bar, "x"), number(bar, "width"));
            assert!(x >= left && x + width <= right + 0.05, "{mark}");
            assert!(
                (width - (waited as f64 * per_day).max(2.0)).abs() < 1.5,
                "{approval}: {width} for {waited} days"
            );
            assert!(mark.contains("<title>"), "{mark}");
            if *pending {
                // LCHI's request of 2003-10-13 is stalled by 2003-11-20.
                assert!(mark.starts_with(" approval-stalled\""), "{mark}");
                assert!(mark.contains("fill=\"#a4161a\""), "{mark}");
            } else {
                assert!(mark.starts_with(" approval-decided\""), "{mark}");
            }
        }
        if pilot == LCHI {
            assert!(expected.iter().any(|e| e.3), "LCHI's wait is pending");
        }
    }
}

#[tokio::test]
async fn merges_are_marks_at_their_dates() {
    let served = served().await;
    let router = &served.router;
    let hihc = page(router, &format!("/pilots/{HIHC}")).await;
    let svg = between(&hihc, "<svg class=\"timeline\"", "</svg>");
    let merges = groups(svg, "mark merge");
    assert_eq!(merges.len(), 1, "{svg}");
    assert_eq!(attr(merges[0], "data-date"), "2008-07-15");
    assert!(
        merges[0].contains("Merged into Unified Basic"),
        "{}",
        merges[0]
    );
    // Merged: a terminal band at the end, the axis ends at the merge.
    assert!(svg.contains("data-stage=\"merged\" data-from=\"2008-07-15\" data-until=\"\""));
    assert_eq!(attr(svg, "data-end"), "2008-07-15");
    // The unified system shows the four programs merged into it, on the same day.
    let unified = page(router, &format!("/pilots/{UNIFIED}")).await;
    let svg = between(&unified, "<svg class=\"timeline\"", "</svg>");
    let merges = groups(svg, "mark merge");
    assert_eq!(merges.len(), 4, "{svg}");
    assert!(merges.iter().all(|g| attr(g, "data-date") == "2008-07-15"));
    let marks = between(&unified, "<ol class=\"marks\">", "</ol>");
    assert!(
        marks.contains("<time>2008-07-15</time> Merged into this pilot:"),
        "{marks}"
    );
}

#[tokio::test]
async fn the_timeline_speaks_chinese() {
    let served = served().await;
    let body = page(
        &served.router,
        &format!("/pilots/{HIHC}?as_of=2001-01-01&lang=zh-CN"),
    )
    .await;
    let section = between(&body, "aria-labelledby=\"h-timeline\"", "</section>");
    let svg = between(section, "<svg class=\"timeline\"", "</svg>");
    assert!(
        svg.contains("<title id=\"timeline-title\">阶段时间线</title>"),
        "{svg}"
    );
    assert!(svg.contains("各阶段及其起始日期"), "{svg}");
    assert!(svg.contains(">实施中</text>"), "{svg}");
    assert!(svg.contains("审批 hihc-2000-mayor"), "{svg}");
    assert!(svg.contains("等待 21 天"), "{svg}");
    for label in ["已决定的审批", "按期", "合并", "推广"] {
        assert!(section.contains(label), "{label}");
    }
}
