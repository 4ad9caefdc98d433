//! The alerts inbox through the merged router, over the in-memory logs holding the Nanguo
//! history and one back-dated approval request: silencing through the API's own handler (for
//! the pilot's office only, its refusals at their fields) and the live feed at
//! `/alerts/live`, which says when the alert stream records something and ends on shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::stalled::waiting_on_the_mayor;
use common::{get, get_with, post, sign_in, Served, CLERK, OTHER_CLERK};
use futures::StreamExt;
use std::time::Duration;
use tower::ServiceExt;

const PILOT: &str = "0194a000-0001-7000-8000-0000000000aa";

/// The Nanguo history, and a pilot of SSDNC whose approval was requested 31 days ago (over
/// the municipal 30); no alerter yet.
async fn served() -> Served {
    served_with(true).await
}

async fn served_with(anonymous_reads: bool) -> Served {
    let served = common::served_with(anonymous_reads).await;
    let drafts = waiting_on_the_mayor(PILOT);
    let appended = common::append_as_admin(&served.router, &drafts).await;
    assert_eq!(appended.status, StatusCode::CREATED, "{}", appended.body);
    served
}

/// Waits (bounded) until the alerter has recorded the mayor's alert; its id.
async fn alert_id(served: &Served) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = served
            .state
            .projection
            .read()
            .alerts()
            .recorded()
            .alerts()
            .find(|a| a.latest.approval_id == "mayor-sign-off")
            .map(|a| a.latest.alert_id.to_string());
        if let Some(id) = found {
            return id;
        }
        assert!(tokio::time::Instant::now() < deadline, "no alert recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text inside the element with `id="{id}"`'s field block: from the input to its `</div>`.
fn field_block<'b>(body: &'b str, input_id: &str) -> &'b str {
    let at = body
        .find(&format!("<label for=\"{input_id}\">"))
        .unwrap_or_else(|| panic!("no field {input_id}: {body}"));
    let rest = &body[at..];
    &rest[..rest.find("</div>").unwrap()]
}

#[tokio::test]
async fn silencing_is_for_the_pilots_office_and_its_refusals_stand_at_their_fields() {
    let mut served = served().await;
    served.start_alerter();
    let id = alert_id(&served).await;
    let router = &served.router;
    let path = format!("/alerts/{id}/silence");
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap();

    // Anonymous readers and clerks of another office get no silence form ...
    let page = get(router, "/alerts").await;
    assert!(page.body.contains("mayor-sign-off"), "{}", page.body);
    assert!(!page.body.contains("/silence\""), "anonymous: no form");
    let other = sign_in(router, OTHER_CLERK).await;
    let page = get_with(router, "/alerts", &[("cookie", &other)]).await;
    assert!(!page.body.contains("/silence\""), "another office: no form");
    // ... nor may they post one by hand: the API's office rule answers.
    let forged = post(
        router,
        &path,
        Some(&other),
        &format!("csrf={}&reason=mine&until={tomorrow}", page.csrf()),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

    let clerk = sign_in(router, CLERK).await;
    let page = get_with(router, "/alerts", &[("cookie", &clerk)]).await;
    assert!(
        page.body.contains(&format!("action=\"{path}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("<label for=\"reason-{id}\">")));
    assert!(page.body.contains(&format!("<label for=\"until-{id}\">")));
    let csrf = page.csrf();

    // Without CSRF: refused before anything else.
    let without = post(router, &path, Some(&clerk), "reason=x&until=2099-01-01").await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);

    // No reason: the API's no_silence_reason, at the reason field; the typed values stay.
    let refused = post(
        router,
        &path,
        Some(&clerk),
        &format!("csrf={csrf}&reason=+&until={tomorrow}"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reason = field_block(&refused.body, &format!("reason-{id}"));
    assert!(reason.contains("aria-invalid=\"true\""), "{reason}");
    assert!(
        reason.contains("Say why the alert is silenced."),
        "{reason}"
    );
    let until = field_block(&refused.body, &format!("until-{id}"));
    assert!(until.contains(&format!("value=\"{tomorrow}\"")), "{until}");
    assert!(!until.contains("field-error"), "{until}");
    assert!(refused.body.contains("<details class=\"silence\" open>"));

    // An end in the past: silence_not_after_start, at the until field, in Chinese too.
    let refused = post(
        router,
        &path,
        Some(&format!("{clerk}; lang=zh-CN")),
        &format!("csrf={csrf}&reason=on+leave&until=2001-01-01T00%3A00"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let until = field_block(&refused.body, &format!("until-{id}"));
    assert!(until.contains("静默的结束时间必须晚于现在。"), "{until}");
    let reason = field_block(&refused.body, &format!("reason-{id}"));
    assert!(reason.contains("value=\"on leave\""), "{reason}");
    assert!(!reason.contains("field-error"), "{reason}");

    // An until that is no date: the API's invalid_parameter for `until`, at that field.
    let refused = post(
        router,
        &path,
        Some(&clerk),
        &format!("csrf={csrf}&reason=on+leave&until=soon"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let until = field_block(&refused.body, &format!("until-{id}"));
    assert!(until.contains("Give a date and time"), "{until}");

    // Then it is silenced, as the API records it.
    let silenced = post(
        router,
        &path,
        Some(&clerk),
        &format!("csrf={csrf}&reason=mayor+on+leave&until={tomorrow}"),
    )
    .await;
    assert_eq!(silenced.status, StatusCode::SEE_OTHER, "{}", silenced.body);
    let api = get(router, &format!("/api/v1/alerts/{id}")).await;
    let alert: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert!(
        alert["silenced_until"]
            .as_str()
            .unwrap()
            .starts_with(&tomorrow),
        "{alert}"
    );
    let page = get_with(router, "/alerts", &[("cookie", &clerk)]).await;
    assert!(page.body.contains("silenced until"), "{}", page.body);
    assert!(page.body.contains("(mayor on leave)"), "{}", page.body);
}

/// The next SSE frame's text, or None when the stream ended.
async fn next_frame(
    frames: &mut (impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
) -> Option<String> {
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(20), frames.next())
            .await
            .expect("a frame within 20 s")?
            .unwrap();
        let text = String::from_utf8(chunk.to_vec()).unwrap();
        if !text.starts_with(':') {
            return Some(text);
        }
    }
}

#[tokio::test]
async fn the_live_feed_says_when_an_alert_is_recorded_and_ends_on_shutdown() {
    let mut served = served().await;
    let response = served
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/alerts/live")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let before = served.state.projection.alert_position();
    let mut frames = response.into_body().into_data_stream();

    // The alerter records the mayor's alert: the feed says so, with the alert position.
    served.start_alerter();
    let frame = next_frame(&mut frames).await.expect("an event");
    assert!(frame.contains("event: alerts\n"), "{frame}");
    let position: u64 = frame
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(position > before, "{frame}");
    assert!(frame.contains(&format!("id: {position}\n")), "{frame}");
    alert_id(&served).await;

    // A reader who resumes after the latest position hears nothing old; a shutdown ends it.
    served.state.shut_down();
    let mut ended = false;
    for _ in 0..100 {
        if next_frame(&mut frames).await.is_none() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the feed ends on shutdown");
}

#[tokio::test]
async fn the_inbox_names_its_live_feed_and_a_future_last_event_id_is_ignored() {
    let served = served().await;
    // With anonymous reads it is open; the inbox names it for the script.
    let page = get(&served.router, "/alerts").await;
    assert!(
        page.body.contains("data-live=\"/alerts/live\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("role=\"status\""), "{}", page.body);
    // A forged Last-Event-ID from the future is ignored rather than trusted.
    let response = served
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/alerts/live")
                .header("last-event-id", "99999999")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_anonymous_reads_the_live_feed_wants_a_session() {
    let served = served_with(false).await;
    let answer = get(&served.router, "/alerts/live").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let clerk = sign_in(&served.router, CLERK).await;
    let response = served
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/alerts/live")
                .header(header::COOKIE, &clerk)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
