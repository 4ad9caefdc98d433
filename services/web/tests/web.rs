//! The web app through its router (merged with the API's, as `pilot serve` serves them),
//! over the in-memory logs holding the Nanguo history, folded by the process's runtime: sign-in and its cookie, CSRF,
//! the overview and its filters, the pilot page as of a day, languages, errors, assets, and
//! the alerts inbox's forms by office.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::stalled::waiting_on_the_mayor;
use common::*;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use std::time::Duration;

const TITLES: [&str; 5] = [
    "Health Insurance for Critical Illness (HICI)",
    "Basic Health Insurance (BHI)",
    "Health Insurance for Hospital Care (HIHC)",
    "Local Citizen Health Insurance (LCHI)",
    "Unified Basic Health Insurance System",
];

/// Titles of the pilots the overview lists.
fn listed(body: &str) -> Vec<&'static str> {
    TITLES
        .iter()
        .copied()
        .filter(|t| body.contains(&format!(">{t}</a>")))
        .collect()
}

#[tokio::test]
async fn signing_in_takes_a_known_token_once_and_keeps_a_strict_session() {
    let served = served_with(false).await;
    let router = &served.router;

    // Without anonymous reads, a page sends the browser to sign in.
    let answer = get_with(router, "/", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], "/signin");

    let form = get_with(router, "/signin", &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let cookie = form
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("pilot_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("pilot_session=");
    assert_eq!(id.len(), 64, "{id}");
    assert!(
        form.body.contains(r#"<label for="token">"#),
        "{}",
        form.body
    );

    // Behind an https proxy the cookie is Secure.
    let https = get_with(router, "/signin", &[("x-forwarded-proto", "https")]).await;
    let cookie = https
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("pilot_session="))
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // A token the store does not know is refused, and no session is signed in.
    let session = form.session_cookie().unwrap();
    let refused = post(
        router,
        "/signin",
        Some(&session),
        &format!("csrf={}&token=not-a-token", form.csrf()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body.contains("This token is not known"),
        "{}",
        refused.body
    );
    assert!(
        !refused.body.contains("not-a-token"),
        "the token is not echoed"
    );
    let still_out = get_with(router, "/", &[("cookie", &session)]).await;
    assert_eq!(still_out.status, StatusCode::SEE_OTHER);

    // A known one signs in with a new session id.
    let signed_in = sign_in(router, ANALYST).await;
    assert_ne!(signed_in, session, "the session id changes at sign-in");
    let overview = get_with(router, "/", &[("cookie", &signed_in)]).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview.body.contains("analyst (analyst)"),
        "{}",
        overview.body
    );
    assert_eq!(listed(&overview.body).len(), 5);

    // Signing out needs the CSRF token; then the session is gone.
    let no_token = post(router, "/signout", Some(&signed_in), "").await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let out = post(
        router,
        "/signout",
        Some(&signed_in),
        &format!("csrf={}", overview.csrf()),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.cookies().iter().any(|c| c.contains("Max-Age=0")));
    let after = get_with(router, "/", &[("cookie", &signed_in)]).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_post_without_its_csrf_token_is_refused_with_a_page_that_says_so() {
    let served = served_with(false).await;
    let router = &served.router;
    let form = get_with(router, "/signin", &[]).await;
    let session = form.session_cookie().unwrap();

    for (cookie, body) in [
        (None, format!("token={CLERK}")),
        (Some(session.as_str()), format!("token={CLERK}")),
        (Some(session.as_str()), format!("csrf=0000&token={CLERK}")),
        (None, format!("csrf={}&token={CLERK}", form.csrf())),
    ] {
        let answer = post(router, "/signin", cookie, &body).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{cookie:?} {body}");
        assert!(answer.body.contains("security token"), "{}", answer.body);
        assert!(answer.session_cookie().is_none());
    }
    let zh = Request::builder()
        .method(Method::POST)
        .uri("/signout")
        .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9")
        .body(Body::empty())
        .unwrap();
    let answer = send(router, zh).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("安全令牌"), "{}", answer.body);
}

#[tokio::test]
async fn the_overview_lists_the_nanguo_pilots_and_filters_narrow_them() {
    let served = served_with(true).await;
    let router = &served.router;

    let all = get_with(router, "/", &[]).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(listed(&all.body), TITLES.to_vec(), "{}", all.body);
    assert!(all.body.len() < 200 * 1024, "{} bytes", all.body.len());
    assert!(all.body.contains("<html lang=\"en\">"));
    assert!(all.body.contains("Reading without signing in"));
    for label in [
        "for=\"f-stage\"",
        "for=\"f-office\"",
        "for=\"f-stalled\"",
        "for=\"f-q\"",
        "for=\"f-as-of\"",
    ] {
        assert!(all.body.contains(label), "{label}");
    }
    assert!(all.body.contains("<th scope=\"col\">"));
    assert!(all.body.contains("Merged"), "stages are labelled");

    let merged = get_with(router, "/?stage=merged", &[]).await;
    assert_eq!(listed(&merged.body).len(), 4, "{}", merged.body);
    let implementing = get_with(router, "/?stage=implementing&office=SSDNC", &[]).await;
    assert_eq!(listed(&implementing.body), vec![TITLES[4]]);
    let search = get_with(router, "/?q=hospital+CARE", &[]).await;
    assert_eq!(listed(&search.body), vec![TITLES[2]]);
    let other_office = get_with(router, "/?office=NOWHERE", &[]).await;
    assert!(listed(&other_office.body).is_empty());
    let not_stalled = get_with(router, "/?stalled=false", &[]).await;
    assert_eq!(listed(&not_stalled.body).len(), 5);
    let stalled = get_with(router, "/?stalled=true", &[]).await;
    assert!(listed(&stalled.body).is_empty());

    // As of 1995 only HICI had been proposed; it was implementing then.
    let past = get_with(router, "/?as_of=1995-01-01", &[]).await;
    assert_eq!(listed(&past.body), vec![TITLES[0]], "{}", past.body);
    assert!(past.body.contains("Implementing"));
    assert!(past
        .body
        .contains(&format!("/pilots/{HICI}?as_of=1995-01-01")));

    // Bad input is a 400 page, not a panic.
    for bad in [
        "/?as_of=yesterday",
        "/?as_of=2001-02-30",
        "/?stage=flying",
        "/?stalled=maybe",
    ] {
        let answer = get_with(router, bad, &[]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            answer.body.contains("<h1>The request cannot be read</h1>"),
            "{bad}: {}",
            answer.body
        );
    }
}

/// Schema 2 on the pilot page: the unified system's 2011 figure is "over 6 million", a lower
/// bound, and the page says so; a rename links to the pilot it became.
#[tokio::test]
async fn a_lower_bound_and_a_rename_show_as_such_on_the_pilot_page() {
    let served = served_with(true).await;
    let page = get_with(
        &served.router,
        "/pilots/0194a000-0001-7000-8000-000000000005",
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("≥ 6,000,000"), "{}", page.body);

    // HICI was renamed into BHI: its page links there.
    let hici = get_with(
        &served.router,
        "/pilots/0194a000-0001-7000-8000-000000000001",
        &[],
    )
    .await;
    assert!(
        hici.body
            .contains("<li>Renamed into <a href=\"/pilots/0194a000-0001-7000-8000-000000000002\">"),
        "{}",
        hici.body
    );
}

#[tokio::test]
async fn the_pilot_page_shows_hihc_against_its_target_as_of_2001() {
    let served = served_with(true).await;
    let router = &served.router;

    let page = get_with(router, &format!("/pilots/{HIHC}?as_of=2001-01-01"), &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("<h1>Health Insurance for Hospital Care (HIHC)</h1>"),
        "{body}"
    );
    assert!(body.contains("880,000"), "{body}");
    assert!(body.contains("1,000,000"), "{body}");
    assert!(body.contains("88%"), "{body}");
    // The province's target was due at the end of 2000: 880,000 missed it by 120,000.
    assert!(body.contains("missed by 120,000"), "{body}");
    assert!(body.contains("As of the end of 2001-01-01"), "{body}");
    // The timeline: proposed 1999-01-18, launched in 2000 (the paper gives the year only, so
    // the page shows the year), still implementing then.
    assert!(body.contains("1999-01-18"), "{body}");
    assert!(body.contains("<li>2000 – ongoing: <strong>"), "{body}");
    // Events after the day are not shown; merged in 2008.
    assert!(!body.contains("pilot.merged"), "{body}");
    assert!(body.contains("pilot.proposed"));

    let now = get_with(router, &format!("/pilots/{HIHC}"), &[]).await;
    assert_eq!(now.status, StatusCode::OK);
    assert!(now.body.contains("pilot.merged"));
    assert!(now.body.contains("Merged"));

    let zh = get_with(
        router,
        &format!("/pilots/{HIHC}?as_of=2001-01-01"),
        &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")],
    )
    .await;
    assert!(zh.body.contains("<html lang=\"zh-CN\">"));
    assert!(zh.body.contains("指标与目标"), "{}", zh.body);
    assert!(zh.body.contains("880,000"));

    for (path, status, words) in [
        (
            "/pilots/not-a-uuid".to_string(),
            StatusCode::NOT_FOUND,
            "There is no such pilot",
        ),
        (
            "/pilots/0194a000-0001-7000-8000-0000000000ff".to_string(),
            StatusCode::NOT_FOUND,
            "There is no such pilot",
        ),
        (
            format!("/pilots/{HIHC}?as_of=1990-01-01"),
            StatusCode::NOT_FOUND,
            "had not been proposed yet as of 1990-01-01",
        ),
        (
            format!("/pilots/{HIHC}?as_of=01/01/2001"),
            StatusCode::BAD_REQUEST,
            "The date cannot be read",
        ),
    ] {
        let answer = get_with(router, &path, &[]).await;
        assert_eq!(answer.status, status, "{path}");
        assert!(answer.body.contains(words), "{path}: {}", answer.body);
    }
    let zh_404 = get_with(router, "/pilots/nope?lang=zh-CN", &[]).await;
    assert_eq!(zh_404.status, StatusCode::NOT_FOUND);
    assert!(zh_404.body.contains("没有这个试点"), "{}", zh_404.body);
}

#[tokio::test]
async fn languages_follow_the_browser_and_the_switch() {
    let served = served_with(true).await;
    let router = &served.router;
    let zh = get_with(
        router,
        "/",
        &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")],
    )
    .await;
    assert!(zh.body.contains("<html lang=\"zh-CN\">"));
    assert!(zh.body.contains("<h1>试点</h1>"), "{}", zh.body);
    assert!(zh.body.contains("支持指数"));
    assert!(zh.body.contains("已合并"));
    // The switch link leads back to English, keeping the filters.
    assert!(zh.body.contains("href=\"/?lang=en\""), "{}", zh.body);

    let switched = get_with(router, "/?stage=merged&lang=zh-CN", &[]).await;
    assert!(switched.body.contains("<h1>试点</h1>"));
    assert!(
        switched
            .body
            .contains("href=\"/?stage=merged&#38;lang=en\""),
        "{}",
        switched.body
    );
    let lang_cookie = switched
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("lang="))
        .unwrap();
    assert!(lang_cookie.starts_with("lang=zh-CN;"), "{lang_cookie}");
    assert!(lang_cookie.contains("SameSite=Strict"));
    // The cookie outranks the browser's language.
    let by_cookie = get_with(
        router,
        "/",
        &[("cookie", "lang=zh-CN"), ("accept-language", "en")],
    )
    .await;
    assert!(by_cookie.body.contains("<h1>试点</h1>"));
    let en = get_with(router, "/", &[("accept-language", "en-GB")]).await;
    assert!(en.body.contains("<h1>Pilots</h1>"));
}

#[tokio::test]
async fn assets_are_compiled_in_hashed_and_cached_and_nothing_is_fetched_elsewhere() {
    let served = served_with(true).await;
    let router = &served.router;
    let page = get_with(router, "/", &[]).await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let css = pilot_web::assets::CSS.path();
    assert!(page.body.contains(&format!("href=\"{css}\"")));
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in page.body.match_indices(attribute) {
            let url = &page.body[at + attribute.len()..];
            assert!(
                url.starts_with('/') || url.starts_with('?') || url.starts_with('#'),
                "{}",
                &url[..40.min(url.len())]
            );
        }
    }
    let answer = get_with(router, &css, &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(answer.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(answer.body.contains("@media (max-width: 40rem)"));
    let js = get_with(router, &pilot_web::assets::JS.path(), &[]).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(
        get_with(router, "/assets/app-000000000000.css", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The API is still there, answering as before.
    let api = get_with(router, "/api/v1/pilots", &[]).await;
    assert_eq!(api.status, StatusCode::OK);
    assert!(api.body.starts_with('['));
    assert_eq!(
        get_with(router, "/nowhere", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_alerts_inbox_offers_acknowledging_to_the_pilots_office_only() {
    let mut served = served_with(true).await;
    // The alerter runs as in `pilot serve`, and records the alert once the request is stored.
    served.start_alerter();
    let router = &served.router;
    // A pilot of SSDNC whose approval was requested 31 days ago: over the municipal 30.
    let pilot_id = "0194a000-0001-7000-8000-0000000000aa";
    let drafts = waiting_on_the_mayor(pilot_id);
    let appended = append_as_admin(router, &drafts).await;
    assert_eq!(appended.status, StatusCode::CREATED, "{}", appended.body);

    // The overview's light says stalled, by the same rules as the API's filter.
    let stalled = get_with(router, "/?stalled=true", &[]).await;
    assert!(
        stalled.body.contains(">Waiting on the mayor</a>"),
        "{}",
        stalled.body
    );
    assert!(stalled.body.contains("light-stalled"), "{}", stalled.body);

    // The alerter records the alert.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let inbox = loop {
        let inbox = get_with(router, "/alerts", &[]).await;
        if inbox.body.contains("mayor-sign-off") {
            break inbox;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no alert: {}",
            inbox.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(inbox.body.contains("Mayor of Nanguo"), "{}", inbox.body);
    assert!(inbox.body.contains("31 days"), "{}", inbox.body);
    assert!(
        !inbox.body.contains("/ack\""),
        "anonymous readers get no form"
    );

    let analyst = sign_in(router, ANALYST).await;
    let page = get_with(router, "/alerts", &[("cookie", &analyst)]).await;
    assert!(page.body.contains("mayor-sign-off"));
    assert!(!page.body.contains("/ack\""), "an analyst gets no form");

    let other = sign_in(router, OTHER_CLERK).await;
    let page = get_with(router, "/alerts", &[("cookie", &other)]).await;
    assert!(page.body.contains("mayor-sign-off"));
    assert!(
        !page.body.contains("/ack\""),
        "a clerk of another office gets no form"
    );
    // Nor may they post it by hand (the API's own office rule answers).
    let alert_id = {
        let fold = served.state.projection.read();
        let id = fold
            .alerts()
            .recorded()
            .alerts()
            .find(|a| a.latest.approval_id == "mayor-sign-off")
            .unwrap()
            .latest
            .alert_id;
        id
    };
    let forged = post(
        router,
        &format!("/alerts/{alert_id}/ack"),
        Some(&other),
        &format!("csrf={}&note=mine", page.csrf()),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

    let clerk = sign_in(router, CLERK).await;
    let page = get_with(router, "/alerts", &[("cookie", &clerk)]).await;
    assert!(
        page.body
            .contains(&format!("action=\"/alerts/{alert_id}/ack\"")),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(&format!("<label for=\"note-{alert_id}\">")));
    let without_csrf = post(
        router,
        &format!("/alerts/{alert_id}/ack"),
        Some(&clerk),
        "note=x",
    )
    .await;
    assert_eq!(without_csrf.status, StatusCode::FORBIDDEN);
    let acked = post(
        router,
        &format!("/alerts/{alert_id}/ack"),
        Some(&clerk),
        &format!("csrf={}&note=on+it", page.csrf()),
    )
    .await;
    assert_eq!(acked.status, StatusCode::SEE_OTHER, "{}", acked.body);
    let page = get_with(router, "/alerts", &[("cookie", &clerk)]).await;
    assert!(page.body.contains("clerk-ssdnc ("), "{}", page.body);
    assert!(!page.body.contains("/ack\""), "acknowledged once");
}

/// Past one page of pilots, the overview shows a page and links to the next, keeping the
/// filters; the count is of every matching pilot; a page past the end shows the last one.
#[tokio::test]
async fn a_long_overview_is_paged_and_keeps_its_filters() {
    let served = served_with(true).await;
    let router = &served.router;
    let proposed = |index: usize| {
        serde_json::json!({
            "type": "pilot.proposed",
            "pilot_id": format!("0194c000-0000-7000-8000-{index:012x}"),
            "occurred_at": "2019-06-01T00:00:00Z",
            "actor": {"office": "PAGING", "user": "clerk"},
            "data": {"title": format!("Paging pilot {index:03}"), "jurisdiction": "Nanguo",
                     "policy_area": "paging", "level": "municipal", "problem_frame": "Many pilots."}
        })
    };
    // One request per pilot: a request appends to one chain.
    for index in 0..pilot_web::PAGE_SIZE + 20 {
        let appended = append_as_admin(router, &proposed(index)).await;
        assert_eq!(appended.status, StatusCode::CREATED, "{}", appended.body);
    }
    let rows = |body: &str| body.matches("<th scope=\"row\">").count();

    let first = get_with(router, "/?office=PAGING&q=paging", &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(rows(&first.body), pilot_web::PAGE_SIZE, "{}", first.body);
    assert!(first.body.contains("120 pilots"), "{}", first.body);
    assert!(first.body.contains("Page 1 / 2"), "{}", first.body);
    let next = "href=\"/?office=PAGING&#38;q=paging&#38;page=2\" rel=\"next\"";
    assert!(first.body.contains(next), "{}", first.body);
    assert!(!first.body.contains("rel=\"prev\""));

    let second = get_with(router, "/?office=PAGING&q=paging&page=2", &[]).await;
    assert_eq!(rows(&second.body), 20);
    assert!(second.body.contains("Paging pilot 119"));
    assert!(second.body.contains("rel=\"prev\""));
    assert!(!second.body.contains("rel=\"next\""));
    let beyond = get_with(router, "/?office=PAGING&page=99", &[]).await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(rows(&beyond.body), 20, "a page past the end shows the last");
    for bad in ["0", "x", "-1"] {
        let answer = get_with(router, &format!("/?page={bad}"), &[]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "page={bad}");
    }
    // The demo's five pilots fit on one page: no page links at all.
    let demo = get_with(router, "/?office=SSDNC", &[]).await;
    assert!(!demo.body.contains("class=\"pages\""));
}
