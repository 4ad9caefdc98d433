//! The web app in a real browser: a real `pilot serve --demo` (its own nats-server, the
//! Nanguo history, the alerter) driven through headless Chromium with the
//! `pilot-browser-harness` (docs/browser-tests.md). One test, in steps, so one server and one
//! browser serve them all:
//!
//! - an analyst (anonymous demo reads) opens the overview, follows the link to HIHC, sets the
//!   as-of date to 2001-01-01 through the form and reads 880,000 against 1,000,000; the stage
//!   timeline has the documented dates (deploy/demo/README.md);
//! - the page switches to Chinese and back through the switch link;
//! - an approval request appended back-dated through the API appears in the open inbox by
//!   itself (the live feed); a clerk of another office signed in through the form gets no
//!   form; a clerk of the pilot's office acknowledges it, and silences it (a missing reason is
//!   refused at its field first);
//! - SSDNC's clerk logs a new pilot (its proposal), a stakeholder, a contact and an approval
//!   request through the forms only and sees them on the new pilot's page; a stance out of
//!   range is refused at its input (aria-invalid, aria-describedby); the same proposal posted
//!   twice is stored once (checked through the API);
//! - HIHC's page as of 2001-01-01 printed to PDF (A4) holds its title, its stages and 880,000
//!   against 1,000,000, also in Chinese (`dossier-hihc.pdf`, `dossier-hihc-zh-CN.pdf`);
//! - every page loads with no request leaving 127.0.0.1 and no console error; axe-core finds
//!   no WCAG 2.1 A/AA violation on the overview, the pilot page, the inbox, a logging form
//!   (also refused), the ledger, the analytics and the new pilot's page;
//! - pilot stops at once with the inbox's live feed open;
//! - screenshots of the overview (desktop and 360 px phone), the pilot page (also
//!   `pilot-page.png`, taller, which docs/images/ holds a copy of), the inbox, a form, a refused
//!   form, the new pilot, the ledger and the analytics go to the harness's folder
//!   (`target/browser-screenshots/`, or `PILOT_SCREENSHOTS`).
//!
//! Without Chromium and chromedriver it prints "skipped: …" and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;
#[path = "../../web/tests/common/stalled.rs"]
mod stalled;

use stalled::waiting_on_the_mayor;

use common::process::PilotProcess;
use pilot_browser_harness::fantoccini::Locator;
use pilot_browser_harness::{
    browser_or_skip, pdf_info, pdf_text, screenshot_dir, Browser, BrowserOptions, WCAG21_A_AA,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const HIHC: &str = "Health Insurance for Hospital Care (HIHC)";
const PILOT: &str = "0194a000-0001-7000-8000-0000000000bb";
/// HIHC (deploy/demo/README.md).
const HIHC_ID: &str = "0194a000-0001-7000-8000-000000000003";
const NEW_PILOT: &str = "Clinic vouchers for migrant workers";
const BUREAU: &str = "Nanguo District Health Bureau";
const CONTACT: &str = "Briefed the bureau on the voucher design.";

/// `pilot token new` in `data_dir`'s tokens file; the token.
fn token(data_dir: &Path, name: &str, role: &str, office: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pilot"));
    command.args(["token", "new", "--name", name, "--role", role]);
    if let Some(office) = office {
        command.args(["--office", office]);
    }
    let output = command.arg("--data-dir").arg(data_dir).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// What every page must be: nothing fetched from elsewhere, no console error.
async fn clean(browser: &Browser, origin: &str, page: &str) {
    assert_eq!(
        browser.requests_leaving(origin).await.unwrap(),
        Vec::<String>::new(),
        "{page}: requests leaving {origin}"
    );
    assert_eq!(
        browser.console_errors().await.unwrap(),
        vec![],
        "{page}: console errors"
    );
}

/// The same for a page answered with a deliberate 4xx status (a refused form, 422): Chromium
/// reports the document's status as a console error of source `network`; that one entry, and
/// nothing else, is allowed.
async fn clean_but_status(browser: &Browser, origin: &str, page: &str, status: u16) {
    assert_eq!(
        browser.requests_leaving(origin).await.unwrap(),
        Vec::<String>::new(),
        "{page}: requests leaving {origin}"
    );
    let errors = browser.console_errors().await.unwrap();
    let expected = format!("the server responded with a status of {status}");
    assert!(
        errors.len() == 1 && errors[0].source == "network" && errors[0].message.contains(&expected),
        "{page}: console errors other than its {status} status: {errors:?}"
    );
}

/// axe-core's WCAG 2.1 A/AA violations on the current page: none.
async fn accessible(browser: &Browser, page: &str) {
    let violations = browser.axe(WCAG21_A_AA).await.unwrap();
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        violations.is_empty(),
        "{page}: axe-core finds\n{}",
        listed.join("\n")
    );
}

/// The text of the first element `css` selects.
async fn text(browser: &Browser, css: &str) -> String {
    browser
        .client()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn click(browser: &Browser, css: &str) {
    browser
        .client()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks what `locator` finds, which loads another page, and waits (bounded) until that page
/// has loaded: a click does not wait for the navigation it starts.
async fn click_to_load(browser: &Browser, locator: Locator<'_>) {
    browser
        .eval("window.pilotOldPage = true", vec![])
        .await
        .unwrap();
    browser
        .client()
        .find(locator)
        .await
        .unwrap_or_else(|e| panic!("nothing to click: {e}"))
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // While the page changes, a script may fail (its context is gone): not loaded yet.
        let loaded = browser
            .eval(
                "return window.pilotOldPage !== true && document.readyState === 'complete'",
                vec![],
            )
            .await;
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(Instant::now() < deadline, "no new page after the click");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn html_lang(browser: &Browser) -> String {
    browser
        .eval("return document.documentElement.lang", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits (bounded) until the page's `<main>` holds `wanted`; its text.
async fn wait_for_text(browser: &Browser, wanted: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let main = text(browser, "main").await;
        if main.contains(wanted) {
            return main;
        }
        assert!(Instant::now() < deadline, "no {wanted:?} in:\n{main}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `script` until it returns true (bounded, 10 s); whether it did.
async fn browser_eval_until(browser: &Browser, script: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if browser.eval(script, vec![]).await.unwrap() == serde_json::json!(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Signs in through the form with `token` (the browser follows the redirect).
async fn sign_in(browser: &Browser, origin: &str, token: &str) {
    browser.goto(&format!("{origin}/signin")).await.unwrap();
    clean(browser, origin, "sign-in").await;
    browser
        .client()
        .find(Locator::Css("input#token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    click_to_load(browser, Locator::Css("main form button[type=submit]")).await;
    let header = text(browser, "header.site").await;
    assert!(header.contains("clerk-"), "not signed in: {header}");
}

async fn sign_out(browser: &Browser) {
    click_to_load(
        browser,
        Locator::Css("header.site form[action='/signout'] button"),
    )
    .await;
}

/// Types `value` into the input or textarea `css` selects (after clearing it).
async fn fill(browser: &Browser, css: &str, value: &str) {
    let input = browser
        .client()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Picks the option of the select `css` whose visible text is `label`.
async fn choose(browser: &Browser, css: &str, label: &str) {
    browser
        .client()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .select_by_label(label)
        .await
        .unwrap_or_else(|e| panic!("no option {label:?} in {css}: {e}"));
}

/// Submits the logging form on the page, which loads another page.
async fn store(browser: &Browser) {
    click_to_load(browser, Locator::Css("form.log-form button[type=submit]")).await;
}

/// The path of the current page's URL.
/// Waits (bounded) until the page has loaded and its heading holds `heading`: printing must
/// not start on a page still blank (seen once under load: an empty PDF).
async fn loaded_with_heading(browser: &Browser, heading: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = browser
            .eval(
                "const h = document.querySelector('h1'); \
                 return document.readyState === 'complete' && !!h && h.textContent.includes(arguments[0]);",
                vec![serde_json::json!(heading)],
            )
            .await
            .unwrap();
        if ready == serde_json::json!(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page with {heading:?} did not load"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn path(browser: &Browser) -> String {
    browser
        .client()
        .current_url()
        .await
        .unwrap()
        .path()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_and_clerks_use_the_web_app_in_a_real_browser() {
    let started = Instant::now();
    let browser = browser_or_skip!(Browser::start());

    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let admin = token(&data_dir, "admin", "admin", None);
    let clerk = token(&data_dir, "clerk-ssdnc", "clerk", Some("SSDNC"));
    let other = token(&data_dir, "clerk-other", "clerk", Some("OTHER"));
    let stderr = temp.path().join("pilot.stderr.log");
    let data = data_dir.to_str().unwrap();
    let mut pilot = PilotProcess::serve(&["--data-dir", data, "--demo"], &[], &stderr);
    let url = pilot.wait_for_url();
    let origin = url.trim_end_matches("/api/v1/pilots").to_string();
    assert!(origin.starts_with("http://127.0.0.1:"), "{origin}");
    eprintln!("pilot serve ready after {:?}", started.elapsed());

    // The overview, as an analyst reads it anonymously.
    browser.goto(&format!("{origin}/")).await.unwrap();
    let main = text(&browser, "main").await;
    assert!(main.contains(HIHC), "{main}");
    clean(&browser, &origin, "overview").await;
    accessible(&browser, "overview").await;
    browser.screenshot("overview").await.unwrap();

    // HIHC's page, then as of 2001-01-01 through the page's date form.
    click_to_load(&browser, Locator::LinkText(HIHC)).await;
    clean(&browser, &origin, "pilot page").await;
    browser
        .eval(
            "document.getElementById('f-as-of').value = '2001-01-01'",
            vec![],
        )
        .await
        .unwrap();
    click_to_load(&browser, Locator::Css("form.filters button[type=submit]")).await;
    let at = browser.client().current_url().await.unwrap();
    assert!(at.as_str().contains("as_of=2001-01-01"), "{at}");
    let main = text(&browser, "main").await;
    assert!(main.contains("880,000"), "{main}");
    assert!(main.contains("1,000,000"), "{main}");
    // The documented stages: proposed 1999-01-18, implementing since 2000 (a year-precision
    // date, shown as its year).
    let timeline = text(&browser, "section[aria-labelledby=h-timeline]").await;
    assert!(timeline.contains("1999-01-18"), "{timeline}");
    assert!(timeline.contains("2000 – ongoing"), "{timeline}");
    assert!(timeline.contains("Implementing"), "{timeline}");
    assert!(!timeline.contains("Merged"), "not yet in 2001: {timeline}");
    clean(&browser, &origin, "pilot page as of 2001-01-01").await;
    accessible(&browser, "pilot page").await;
    browser.screenshot("pilot-hihc").await.unwrap();
    // The README's picture (docs/images/pilot-page.png is a copy of it): the same page in a
    // taller window, down to the support section.
    let (width, height) = browser.client().get_window_size().await.unwrap();
    let (width, height) = (
        u32::try_from(width).unwrap(),
        u32::try_from(height).unwrap(),
    );
    browser
        .client()
        .set_window_size(1280, height + 500)
        .await
        .unwrap();
    browser.screenshot("pilot-page").await.unwrap();
    browser
        .client()
        .set_window_size(width, height)
        .await
        .unwrap();

    // Chinese and back, through the switch link; the page and its date stay.
    click_to_load(&browser, Locator::Css("header.site a[hreflang='zh-CN']")).await;
    assert_eq!(html_lang(&browser).await, "zh-CN");
    let main = text(&browser, "main").await;
    assert!(main.contains("实施中"), "{main}");
    assert!(main.contains("880,000"), "{main}");
    clean(&browser, &origin, "pilot page in Chinese").await;
    click_to_load(&browser, Locator::Css("header.site a[hreflang='en']")).await;
    assert_eq!(html_lang(&browser).await, "en");
    assert!(text(&browser, "main").await.contains("Implementing"));
    clean(&browser, &origin, "pilot page in English again").await;

    // The inbox is open when an approval request, back-dated 31 days (over the municipal
    // 30), is appended through the API: the alerter records the alert and the live feed
    // brings it into the open page.
    browser.goto(&format!("{origin}/alerts")).await.unwrap();
    let main = text(&browser, "main").await;
    assert!(!main.contains("mayor-sign-off"), "{main}");
    let drafts = waiting_on_the_mayor(PILOT);
    let appended = reqwest::Client::new()
        .post(format!("{origin}/api/v1/events"))
        .bearer_auth(&admin)
        .json(&drafts)
        .send()
        .await
        .unwrap();
    assert_eq!(appended.status(), 201, "{:?}", appended.text().await);
    let main = wait_for_text(&browser, "mayor-sign-off", Duration::from_secs(20)).await;
    assert!(main.contains("Mayor of Nanguo"), "{main}");
    assert!(main.contains("31 days"), "{main}");
    let status = text(&browser, "#alerts-status").await;
    assert_eq!(status, "The list of alerts was updated.");
    clean(&browser, &origin, "inbox").await;

    // A clerk of another office, signed in through the form: no forms.
    sign_in(&browser, &origin, &other).await;
    browser.goto(&format!("{origin}/alerts")).await.unwrap();
    assert!(text(&browser, "main").await.contains("mayor-sign-off"));
    let forms = browser
        .client()
        .find_all(Locator::Css(
            "form[action$='/ack'], form[action$='/silence']",
        ))
        .await
        .unwrap();
    assert!(forms.is_empty(), "another office gets no form");
    clean(&browser, &origin, "inbox of another office").await;
    sign_out(&browser).await;

    // The pilot's office's clerk acknowledges it with a note.
    sign_in(&browser, &origin, &clerk).await;
    browser.goto(&format!("{origin}/alerts")).await.unwrap();
    browser
        .client()
        .find(Locator::Css("form[action$='/ack'] input[name=note]"))
        .await
        .unwrap()
        .send_keys("on it")
        .await
        .unwrap();
    clean(&browser, &origin, "inbox of the pilot's office").await;
    accessible(&browser, "inbox with its forms").await;
    browser.screenshot("inbox").await.unwrap();
    click_to_load(
        &browser,
        Locator::Css("form[action$='/ack'] button[type=submit]"),
    )
    .await;
    let main = wait_for_text(&browser, "clerk-ssdnc (", Duration::from_secs(10)).await;
    assert!(main.contains("mayor-sign-off"), "{main}");
    let acks = browser
        .client()
        .find_all(Locator::Css("form[action$='/ack']"))
        .await
        .unwrap();
    assert!(acks.is_empty(), "acknowledged once");
    clean(&browser, &origin, "inbox after acknowledging").await;

    // Silencing: the form opens from its summary; without a reason the API's refusal stands
    // at the reason field (the end typed stays), and with one the alert is silenced.
    click(&browser, "details.silence summary").await;
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap();
    browser
        .eval(
            "document.querySelector('form[action$=\"/silence\"] input[name=until]').value = arguments[0]",
            vec![serde_json::json!(tomorrow)],
        )
        .await
        .unwrap();
    click_to_load(
        &browser,
        Locator::Css("form[action$='/silence'] button[type=submit]"),
    )
    .await;
    let refusal = text(&browser, ".field.invalid .field-error").await;
    assert_eq!(refusal, "Say why the alert is silenced.");
    let described = browser
        .eval(
            "var input = document.querySelector('.field.invalid input'); \
             return [input.name, input.getAttribute('aria-invalid'), \
                     document.getElementById(input.getAttribute('aria-describedby')).textContent, \
                     document.querySelector('input[name=until]').value]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        described,
        serde_json::json!(["reason", "true", refusal, tomorrow]),
        "the refusal is at the reason field"
    );
    clean_but_status(&browser, &origin, "inbox with a refused silence", 422).await;
    accessible(&browser, "inbox with a refused silence").await;
    browser.screenshot("inbox-silence-refused").await.unwrap();
    browser
        .client()
        .find(Locator::Css("form[action$='/silence'] input[name=reason]"))
        .await
        .unwrap()
        .send_keys("mayor on leave")
        .await
        .unwrap();
    click_to_load(
        &browser,
        Locator::Css("form[action$='/silence'] button[type=submit]"),
    )
    .await;
    let main = wait_for_text(&browser, "(mayor on leave)", Duration::from_secs(10)).await;
    assert!(main.contains("silenced until"), "{main}");
    clean(&browser, &origin, "inbox after silencing").await;

    // The first logging form the clerk is offered, and the ledger: clean and accessible too.
    browser.goto(&format!("{origin}/log")).await.unwrap();
    clean(&browser, &origin, "logging forms").await;
    click_to_load(&browser, Locator::Css("ul.forms a")).await;
    let form = text(&browser, "main").await;
    assert!(
        browser
            .client()
            .find(Locator::Css("main form"))
            .await
            .is_ok(),
        "{form}"
    );
    clean(&browser, &origin, "a logging form").await;
    accessible(&browser, "a logging form").await;
    browser.screenshot("log-form").await.unwrap();
    browser.goto(&format!("{origin}/ledger")).await.unwrap();
    clean(&browser, &origin, "ledger").await;
    accessible(&browser, "ledger").await;
    browser.screenshot("ledger").await.unwrap();
    // The comparative analytics as of the end of 2010: every pilot approved by then.
    browser
        .goto(&format!("{origin}/analytics?as_of=2010-12-31"))
        .await
        .unwrap();
    let analytics = text(&browser, "main").await;
    assert!(analytics.contains("Proposal to approval"), "{analytics}");
    assert!(
        analytics.contains("SSDNC"),
        "the office's points: {analytics}"
    );
    clean(&browser, &origin, "analytics").await;
    accessible(&browser, "analytics").await;
    browser.screenshot("analytics").await.unwrap();

    // The clerk's work through the forms only (still SSDNC's clerk, signed in through the
    // form): a new pilot (its proposal), a stakeholder, a contact and an approval request.
    browser.goto(&format!("{origin}/log")).await.unwrap();
    click_to_load(&browser, Locator::LinkText("Propose a pilot")).await;
    fill(&browser, "#f-data-title", NEW_PILOT).await;
    fill(&browser, "#f-data-jurisdiction", "Nanguo").await;
    fill(&browser, "#f-data-policy_area", "health insurance").await;
    choose(&browser, "#f-data-level", "municipal").await;
    fill(
        &browser,
        "#f-data-problem_frame",
        "Migrant workers pay for clinic visits out of pocket.",
    )
    .await;
    // What the form sends, to send it a second time below.
    let posted = browser
        .eval(
            "return Array.from(new FormData(document.querySelector('form.log-form')).entries())",
            vec![],
        )
        .await
        .unwrap();
    let field = |name: &str| -> String {
        posted
            .as_array()
            .unwrap()
            .iter()
            .find(|pair| pair[0] == name)
            .unwrap_or_else(|| panic!("no {name} in {posted}"))[1]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (event_id, new_pilot) = (field("event_id"), field("pilot_id"));
    store(&browser).await;
    assert_eq!(path(&browser).await, format!("/pilots/{new_pilot}"));
    assert!(text(&browser, "h1").await.contains(NEW_PILOT));
    clean(&browser, &origin, "the new pilot's page").await;

    // Submitting the same form again (the same data, its hidden event_id and CSRF token, from
    // the page as the browser would resend it) ends on the pilot's page, and stores nothing.
    let again = browser
        .eval(
            "return fetch('/log/pilot.proposed', {method: 'POST', credentials: 'same-origin', \
               body: new URLSearchParams(arguments[0])}) \
             .then(function (r) { return [r.status, new URL(r.url).pathname]; })",
            vec![posted.clone()],
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        serde_json::json!([200, format!("/pilots/{new_pilot}")]),
        "the second submit"
    );
    let events: Vec<serde_json::Value> = reqwest::Client::new()
        .get(format!("{origin}/api/v1/pilots/{new_pilot}/events"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![event_id.as_str()], "stored once: {events:?}");

    // A stakeholder, from the pilot's "Log activity" list.
    click_to_load(&browser, Locator::LinkText("Log activity for this pilot")).await;
    click_to_load(&browser, Locator::LinkText("Register a stakeholder")).await;
    fill(&browser, "#f-data-name", BUREAU).await;
    choose(&browser, "#f-data-kind", "bureau").await;
    choose(&browser, "#f-data-level", "municipal").await;
    fill(&browser, "#f-data-influence", "4").await;
    store(&browser).await;
    assert_eq!(text(&browser, "p.stored").await, "Stored.");
    clean(&browser, &origin, "stakeholder stored").await;

    // A contact with it: a stance of 3 is out of the range -2..2. The browser itself would
    // not send it (the input's max); without that check the service's rule refuses it, and its
    // message stands at the stance input.
    click_to_load(&browser, Locator::LinkText(NEW_PILOT)).await;
    click_to_load(&browser, Locator::LinkText("Log a contact")).await;
    let bureau = format!("{BUREAU} (bureau)");
    choose(&browser, "#f-data-stakeholder_id", &bureau).await;
    choose(&browser, "#f-data-channel", "meeting").await;
    choose(&browser, "#f-data-strategy", "framing").await;
    fill(&browser, "#f-data-summary", CONTACT).await;
    fill(&browser, "#f-data-stance", "3").await;
    let blocked = browser
        .eval(
            "return document.getElementById('f-data-stance').validity.rangeOverflow",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(blocked, serde_json::json!(true), "the browser's own check");
    browser
        .eval(
            "document.querySelector('form.log-form').noValidate = true",
            vec![],
        )
        .await
        .unwrap();
    store(&browser).await;
    let refused = browser
        .eval(
            "var input = document.getElementById('f-data-stance'); \
             var ids = (input.getAttribute('aria-describedby') || '').split(' '); \
             var error = document.getElementById('f-data-stance-error'); \
             return [input.getAttribute('aria-invalid'), ids.indexOf('f-data-stance-error') >= 0, \
                     error ? error.textContent : null, input.value, \
                     document.getElementById('f-data-summary').value, \
                     document.querySelectorAll('[aria-invalid=true]').length]",
            vec![],
        )
        .await
        .unwrap();
    eprintln!("the refused contact: {refused}");
    assert_eq!(refused[0], "true", "aria-invalid on the stance: {refused}");
    assert_eq!(
        refused[1], true,
        "aria-describedby names the message: {refused}"
    );
    let message = refused[2].as_str().unwrap_or_default();
    assert!(message.contains("stance"), "the rule's message: {refused}");
    assert_eq!(refused[3], "3", "what was entered stays: {refused}");
    assert_eq!(refused[4], CONTACT, "what was entered stays: {refused}");
    assert_eq!(refused[5], 1, "only the stance is marked: {refused}");
    clean_but_status(&browser, &origin, "a refused contact", 422).await;
    accessible(&browser, "a refused contact").await;
    browser.screenshot("log-contact-refused").await.unwrap();
    fill(&browser, "#f-data-stance", "1").await;
    store(&browser).await;
    assert_eq!(path(&browser).await, format!("/pilots/{new_pilot}"));
    clean(&browser, &origin, "contact stored").await;

    // An approval request, the bureau picked as approver by its name.
    click_to_load(&browser, Locator::LinkText("Log activity for this pilot")).await;
    click_to_load(&browser, Locator::LinkText("Request an approval")).await;
    fill(&browser, "#f-data-approval_id", "bureau-sign-off").await;
    choose(&browser, "#f-data-approver_id", &bureau).await;
    choose(&browser, "#f-data-level", "municipal").await;
    store(&browser).await;
    assert_eq!(path(&browser).await, format!("/pilots/{new_pilot}"));
    let main = text(&browser, "main").await;
    for wanted in [NEW_PILOT, BUREAU, "bureau-sign-off"] {
        assert!(
            main.contains(wanted),
            "no {wanted:?} on the pilot page:\n{main}"
        );
    }
    clean(&browser, &origin, "the new pilot with its activity").await;
    accessible(&browser, "the new pilot with its activity").await;
    browser.screenshot("new-pilot").await.unwrap();

    // HIHC's dossier as of 2001-01-01, printed by the browser to A4, in English and Chinese.
    browser
        .goto(&format!("{origin}/pilots/{HIHC_ID}?as_of=2001-01-01"))
        .await
        .unwrap();
    loaded_with_heading(&browser, HIHC).await;
    let pdf = browser.print_pdf().await.unwrap();
    std::fs::write(screenshot_dir().join("dossier-hihc.pdf"), &pdf).unwrap();
    let dossier = pdf_text(&pdf).unwrap();
    let words = dossier.split_whitespace().collect::<Vec<_>>().join(" ");
    for wanted in [
        HIHC,
        "Framing",
        "Design",
        "Awaiting approval",
        "Approved",
        "Implementing",
        "880,000",
        "1,000,000",
    ] {
        assert!(
            words.contains(wanted),
            "no {wanted:?} in the dossier:\n{dossier}"
        );
    }
    assert!(
        !words.contains("Log activity"),
        "links for the screen are not printed:\n{dossier}"
    );
    let info = pdf_info(&pdf).unwrap();
    assert!(info.is_a4(), "{info:?}");
    browser
        .goto(&format!(
            "{origin}/pilots/{HIHC_ID}?as_of=2001-01-01&lang=zh-CN"
        ))
        .await
        .unwrap();
    loaded_with_heading(&browser, HIHC).await;
    let pdf = browser.print_pdf().await.unwrap();
    std::fs::write(screenshot_dir().join("dossier-hihc-zh-CN.pdf"), &pdf).unwrap();
    let dossier = pdf_text(&pdf).unwrap();
    for wanted in ["实施中", "880,000", "1,000,000"] {
        assert!(
            dossier.contains(wanted),
            "no {wanted:?} in the Chinese dossier:\n{dossier}"
        );
    }
    assert!(pdf_info(&pdf).unwrap().is_a4());
    clean(&browser, &origin, "the dossier in Chinese").await;
    browser.close().await.unwrap();

    // The overview on a 360 px phone.
    let phone = browser_or_skip!(Browser::start_with(BrowserOptions::phone()));
    phone.goto(&format!("{origin}/")).await.unwrap();
    assert!(text(&phone, "main").await.contains(HIHC));
    clean(&phone, &origin, "overview on a phone").await;
    accessible(&phone, "overview on a phone").await;
    phone.screenshot("overview-phone").await.unwrap();

    // With the inbox open (its live feed connected), pilot still stops at once: the feed
    // ends on shutdown instead of holding the graceful stop.
    phone.goto(&format!("{origin}/alerts")).await.unwrap();
    let connected = browser_eval_until(
        &phone,
        "return document.getElementById('alerts-live').dataset.state === 'open'",
    )
    .await;
    assert!(connected, "the inbox opened its live feed");
    let stopping = Instant::now();
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "stopped after {:?} with a live feed open",
        stopping.elapsed()
    );
    eprintln!("stopped in {:?} with the inbox open", stopping.elapsed());
    phone.close().await.unwrap();
    eprintln!("the browser test took {:?}", started.elapsed());
}
