//! The comparative analytics page (`/analytics`) through the merged router, over the
//! in-memory logs with the Nanguo history: its figures are the fold's
//! (`pilot_projections::analytics::analytics`, which the API serves), as of a day, in either
//! language, for a signed-in analyst; a bad day is the page again with the message at the
//! field and a 400.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use axum::http::StatusCode;
use common::{between, get_with, served_with, sign_in, Answer, ANALYST, MAYOR};
use pilot_projections::analytics::{analytics, Analytics};
use pilot_web_view::view::number;

/// The fold's figures as of the end of `day` (UTC), as the page asks the API for them (over
/// every pilot's chain, loaded first: the service's world keeps state, not chain bytes).
async fn fold(served: &common::Served, day: &str) -> Analytics {
    let as_of = pilot_api::query::parse_instant("as_of", day).unwrap();
    pilot_api::chains::fold_all(&served.state.log, &served.state.projection, move |world| {
        analytics(world, as_of)
    })
    .await
    .unwrap()
}

/// The table with this id, from its opening to its end.
fn table<'a>(body: &'a str, id: &str) -> &'a str {
    between(body, &format!("id=\"{id}\""), "</table>")
}

/// A figure cell as the page writes it.
fn cell(label: &str, value: &str) -> String {
    format!("<td class=\"num\" data-label=\"{label}\">{value}</td>")
}

async fn get_as(served: &common::Served, cookie: &str, path: &str) -> Answer {
    get_with(&served.router, path, &[("cookie", cookie)]).await
}

/// Checks the page's proposal → approval, stall and points figures against the fold's.
fn shows_the_folds_figures(body: &str, figures: &Analytics) {
    let overall = table(body, "approval-overall");
    let s = &figures.proposal_to_approval.overall;
    assert!(s.count > 0, "some pilot approved");
    assert!(
        overall.contains(&cell("Count", &s.count.to_string())),
        "{overall}"
    );
    assert!(
        overall.contains(&cell("Median (days)", &number(s.median.unwrap()))),
        "{overall}"
    );
    assert!(
        overall.contains(&cell("Maximum (days)", &number(s.max.unwrap()))),
        "{overall}"
    );

    let stalls = table(body, "stall-overall");
    let rate = &figures.stall_rates.overall;
    assert!(
        stalls.contains(&cell("Requested", &rate.requested.to_string())),
        "{stalls}"
    );
    let share = format!("{}%", number(rate.rate.unwrap() * 100.0));
    assert!(stalls.contains(&cell("Share stalled", &share)), "{stalls}");

    // The Mayor's points, year by year, each a row with a link to its page (no row before
    // the Mayor gained any).
    let points = between(body, "id=\"points\"", "</section>");
    let link = format!("href=\"/stakeholders/{MAYOR}\"");
    let mayor = figures
        .points
        .by_stakeholder
        .iter()
        .find(|s| s.stakeholder_id.to_string() == MAYOR);
    let Some(mayor) = mayor else {
        assert!(!points.contains(&link), "{points}");
        return;
    };
    let rows = table(body, "points-stakeholders");
    assert!(rows.contains(&link), "{rows}");
    for year in &mayor.years {
        let row = format!(
            "<th scope=\"row\"><a {link}>{}</a></th>\n        {}{}",
            mayor.name.as_deref().unwrap(),
            cell("Year", &year.year.to_string()),
            cell("Points", &number(year.points as f64)),
        );
        assert!(rows.contains(&row), "{row} in {rows}");
    }
}

#[tokio::test]
async fn a_signed_in_analyst_reads_the_folds_figures() {
    let served = served_with(false).await;
    // Without a session (no anonymous reads) the page sends the reader to sign in.
    let anonymous = get_with(&served.router, "/analytics", &[]).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);

    let cookie = sign_in(&served.router, ANALYST).await;
    let answer = get_as(&served, &cookie, "/analytics?as_of=2010-12-31").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let body = &answer.body;
    assert!(body.contains("<h1>Comparative analytics</h1>"));
    // The menu links to it, marked as the current page.
    assert!(
        body.contains("<a href=\"/analytics\" aria-current=\"page\">Analytics</a>"),
        "nav"
    );
    assert!(body.contains("name=\"as_of\" type=\"date\" value=\"2010-12-31\""));
    assert!(body.contains("As of the end of 2010-12-31"));
    let figures = fold(&served, "2010-12-31").await;
    shows_the_folds_figures(body, &figures);

    // Accessible tables: a caption and headings with their scope.
    assert!(body.contains("<caption>Proposal to approval: by approver level</caption>"));
    assert!(body.contains("<th scope=\"col\">Approver</th>"));
    assert!(body.contains("<th scope=\"row\">"));
    // Each pilot's title links to its page; every key is translated.
    for pilot in &figures.pilots {
        assert!(body.contains(&format!("href=\"/pilots/{}\"", pilot.pilot_id)));
    }
    assert!(!body.contains("analytics-"), "an untranslated key");
    assert!(!body.contains("style="), "inline style in the page");

    // The ledger page links to it too.
    let ledger = get_as(&served, &cookie, "/ledger").await;
    assert!(ledger.body.contains("<a href=\"/analytics\">Analytics</a>"));
}

#[tokio::test]
async fn an_earlier_day_changes_the_figures_and_empty_groups_show_a_dash() {
    let served = served_with(false).await;
    let cookie = sign_in(&served.router, ANALYST).await;
    let late = fold(&served, "2010-12-31").await;
    let early = fold(&served, "2001-01-01").await;
    assert_ne!(
        late.proposal_to_approval.overall, early.proposal_to_approval.overall,
        "the demo approves pilots after 2001"
    );
    let answer = get_as(&served, &cookie, "/analytics?as_of=2001-01-01").await;
    assert_eq!(answer.status, StatusCode::OK);
    shows_the_folds_figures(&answer.body, &early);
    // The figures the fold gives for the demo: three pilots approved by 2001 (a median of
    // 329 days), five by 2010; one approval of seven waited past its deadline by 2010, none
    // of three by 2001; no ledger points yet in 2001.
    let early_approval = table(&answer.body, "approval-overall");
    assert!(
        early_approval.contains(&cell("Count", "3")),
        "{early_approval}"
    );
    assert!(early_approval.contains(&cell("Median (days)", "329")));
    assert!(table(&answer.body, "stall-overall").contains(&cell("Share stalled", "0%")));
    assert!(answer
        .body
        .contains("Points per stakeholder and year: None."));
    let later = get_as(&served, &cookie, "/analytics?as_of=2010-12-31").await;
    let late_approval = table(&later.body, "approval-overall");
    assert!(
        late_approval.contains(&cell("Count", "5")),
        "{late_approval}"
    );
    let late_stalls = table(&later.body, "stall-overall");
    assert!(
        late_stalls.contains(&cell("Share stalled", "14.29%")),
        "{late_stalls}"
    );
    assert!(late_stalls.contains(&cell("Stalled", "1")), "{late_stalls}");

    // Before any pilot was proposed every group is empty: "—", never 0 days.
    let none = get_as(&served, &cookie, "/analytics?as_of=1980-01-01").await;
    assert_eq!(none.status, StatusCode::OK);
    let overall = table(&none.body, "approval-overall");
    assert!(overall.contains(&cell("Count", "0")), "{overall}");
    assert!(overall.contains(&cell("Median (days)", "—")), "{overall}");
    assert!(!overall.contains(&cell("Median (days)", "0")), "{overall}");
    let stalls = table(&none.body, "stall-overall");
    assert!(stalls.contains(&cell("Share stalled", "—")), "{stalls}");
}

#[tokio::test]
async fn a_bad_day_is_the_page_again_with_the_message_at_the_field() {
    let served = served_with(false).await;
    let cookie = sign_in(&served.router, ANALYST).await;
    let answer = get_as(&served, &cookie, "/analytics?as_of=31.12.2010").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let body = &answer.body;
    assert!(body.contains("<h1>Comparative analytics</h1>"));
    assert!(body
        .contains("value=\"31.12.2010\" aria-invalid=\"true\" aria-describedby=\"f-as-of-error\""));
    let message = between(body, "id=\"f-as-of-error\">", "</p>");
    assert!(message.contains("The date cannot be read"), "{message}");
    assert!(
        !body.contains("<table"),
        "no figures for a day that cannot be read"
    );
}

#[tokio::test]
async fn the_page_speaks_chinese() {
    let served = served_with(false).await;
    let cookie = sign_in(&served.router, ANALYST).await;
    let answer = get_as(&served, &cookie, "/analytics?as_of=2010-12-31&lang=zh-CN").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = &answer.body;
    for label in [
        "<h1>比较分析</h1>",
        "从提出到批准：按审批层级",
        "停滞率",
        "推广用时",
        "各利益相关方每年积分",
        "中位数（天）",
    ] {
        assert!(body.contains(label), "{label}");
    }
    assert!(body.contains("aria-current=\"page\">比较分析</a>"), "nav");
    assert!(!body.contains("analytics-"), "an untranslated key");
    // A bad day's message is in Chinese too.
    let bad = get_as(&served, &cookie, "/analytics?as_of=nonsense&lang=zh-CN").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("id=\"f-as-of-error\""));
    assert!(!bad.body.contains("The date cannot be read"));
}
