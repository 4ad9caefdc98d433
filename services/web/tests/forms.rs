//! The clerks' logging forms through the router (merged with the API's, as `pilot serve`
//! serves them), over the in-memory logs holding the Nanguo history: a clerk logs a pilot, a
//! stakeholder, a contact and an approval request through the forms only; a refused draft
//! comes back with the rule's message at its field and nothing stored; a double submit stores
//! once; analysts, other offices and POSTs without CSRF are refused; every type of the
//! catalogue renders a form with a label for every field in both languages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::*;

use axum::http::{header, StatusCode};
use axum::Router;

/// The Unified Basic Health Insurance System: still running, so stances may be assessed.
const UNIFIED: &str = "0194a000-0001-7000-8000-000000000005";

/// The last position of the log.
fn log_position(served: &Served) -> u64 {
    *served.log.watch().borrow()
}

/// The `value` of the input named `name` (the first one), as the form was rendered.
fn input_value(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("name=\"{name}\""))?;
    let tag = &body[at..at + body[at..].find('>')?];
    let start = tag.find("value=\"")? + "value=\"".len();
    Some(tag[start..].split('"').next()?.to_string())
}

/// The value of the `<option>` whose label starts with `label`.
fn option_value(body: &str, label: &str) -> String {
    let at = body
        .find(&format!("\">{label}"))
        .unwrap_or_else(|| panic!("no option {label:?}"));
    let start = body[..at].rfind("value=\"").unwrap() + "value=\"".len();
    body[start..at].to_string()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The body a browser posts for a rendered form: its hidden fields and defaults, then `fields`.
fn filled(form: &Answer, fields: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for name in [
        "csrf",
        "event_id",
        "pilot_id",
        "stakeholder_id",
        "jurisdiction_id",
        "pilot",
        "occurred_at",
        "offset_default",
    ] {
        if let Some(value) = input_value(&form.body, name) {
            pairs.push((name.to_string(), value));
        }
    }
    pairs.push(("offset".into(), "+08:00".into()));
    for (name, value) in fields {
        pairs.push((name.to_string(), value.to_string()));
    }
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// GETs the form at `path`, fills it in with `fields` and posts it; the form and the answer.
async fn log(
    router: &Router,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (Answer, Answer) {
    let form = get_with(router, path, &[("cookie", cookie)]).await;
    assert_eq!(form.status, StatusCode::OK, "{path}: {}", form.body);
    let action = path.split('?').next().unwrap();
    let answer = post(router, action, Some(cookie), &filled(&form, fields)).await;
    (form, answer)
}

/// Proposes a pilot through the form; its id.
async fn propose(router: &Router, cookie: &str, title: &str) -> String {
    let (form, answer) = log(
        router,
        cookie,
        "/log/pilot.proposed",
        &[
            ("data.title", title),
            ("data.jurisdiction", "Nanguo"),
            ("data.policy_area", "pensions"),
            ("data.level", "municipal"),
            (
                "data.problem_frame",
                "Rural residents have no pension.\nNone at all.",
            ),
        ],
    )
    .await;
    let id = input_value(&form.body, "pilot_id").unwrap();
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.headers[header::LOCATION], format!("/pilots/{id}"));
    id
}

#[tokio::test]
async fn a_clerk_logs_a_pilot_a_stakeholder_a_contact_and_an_approval_through_the_forms() {
    let served = served_with(false).await;
    let router = &served.router;
    let clerk = sign_in(router, CLERK).await;

    let overview = get_with(router, "/", &[("cookie", &clerk)]).await;
    assert!(overview.body.contains("href=\"/log/pilot.proposed\""));
    let list = get_with(router, "/log", &[("cookie", &clerk)]).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Propose a pilot"), "{}", list.body);

    let pilot = propose(router, &clerk, "Rural Pension Pilot (RPP)").await;

    let (_, stored) = log(
        router,
        &clerk,
        &format!("/log/stakeholder.registered?pilot={pilot}"),
        &[
            ("data.name", "Village Committees of Nanguo"),
            ("data.kind", "resident_group"),
            ("data.level", "county"),
            ("data.influence", "3"),
        ],
    )
    .await;
    assert_eq!(stored.status, StatusCode::SEE_OTHER, "{}", stored.body);
    assert_eq!(
        stored.headers[header::LOCATION],
        format!("/log?pilot={pilot}&stored=1")
    );

    let contact_path = format!("/log/lobbying.contact_logged?pilot={pilot}");
    let form = get_with(router, &contact_path, &[("cookie", &clerk)]).await;
    let village = option_value(&form.body, "Village Committees of Nanguo");
    let answer = post(
        router,
        "/log/lobbying.contact_logged",
        Some(&clerk),
        &filled(
            &form,
            &[
                ("data.stakeholder_id", &village),
                ("data.channel", "site_visit"),
                ("data.strategy", "framing"),
                ("data.summary", "Walked the villages with the committees"),
                ("data.stance", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.headers[header::LOCATION], format!("/pilots/{pilot}"));

    let request_path = format!("/log/approval.requested?pilot={pilot}");
    let form = get_with(router, &request_path, &[("cookie", &clerk)]).await;
    let mayor = option_value(&form.body, "Mayor of Nanguo (post)");
    let answer = post(
        router,
        "/log/approval.requested",
        Some(&clerk),
        &filled(
            &form,
            &[
                ("data.approval_id", "rpp-mayor"),
                ("data.approver_id", &mayor),
                ("data.level", "municipal"),
                ("data.note", ""),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);

    let page = get_with(router, &format!("/pilots/{pilot}"), &[("cookie", &clerk)]).await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        "Rural Pension Pilot (RPP)",
        "Village Committees of Nanguo",
        "rpp-mayor",
        "Mayor of Nanguo (post)",
        "lobbying.contact_logged",
        "clerk-ssdnc",
        &format!("href=\"/log?pilot={pilot}\""),
    ] {
        assert!(page.body.contains(expected), "{expected} not on the page");
    }
}

/// Schema 2's chains outside pilots: a jurisdiction is registered on a new chain; its context
/// and a person's tenure go on the chain the clerk chooses in the form.
#[tokio::test]
async fn a_clerk_registers_a_jurisdiction_records_its_context_and_a_tenure_through_the_forms() {
    let served = served_with(false).await;
    let router = &served.router;
    let clerk = sign_in(router, CLERK).await;

    let (form, stored) = log(
        router,
        &clerk,
        "/log/jurisdiction.registered",
        &[
            ("data.name", "Beihai"),
            ("data.level", "municipal"),
            ("data.utc_offset", "+08:00"),
            ("data.calendar", ""),
        ],
    )
    .await;
    assert_eq!(stored.status, StatusCode::SEE_OTHER, "{}", stored.body);
    assert_eq!(stored.headers[header::LOCATION], "/log?stored=1");
    let beihai = input_value(&form.body, "jurisdiction_id").unwrap();

    let form = get_with(router, "/log/context.recorded", &[("cookie", &clerk)]).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(option_value(&form.body, "Beihai"), beihai);
    let answer = post(
        router,
        "/log/context.recorded",
        Some(&clerk),
        &filled(
            &form,
            &[
                ("jurisdiction_id", &beihai),
                ("data.kind", "indicator"),
                ("data.title", "Migrant share of the workforce"),
                ("data.metric", "migrant_share"),
                ("data.value", "0.7"),
                ("data.unit", "share"),
                ("data.qualifier", "about"),
                // Known only to its year, from a cited page.
                ("precision", "year"),
                ("source.citation", "Zhu and Xiao 2015"),
                ("source.page", "4"),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    {
        let world = served.state.projection.read();
        let id = uuid::Uuid::parse_str(&beihai).unwrap();
        let context = world.jurisdictions().context_of(&id);
        assert_eq!(context.len(), 1);
        assert_eq!(context[0].context.value, Some(0.7));
        // Dated at the start of the year the form's day falls in, in the chosen offset.
        let entered = input_value(&form.body, "occurred_at").unwrap();
        let year: i32 = entered[..4].parse().unwrap();
        let at = context[0].occurred_at;
        assert_eq!((at.year(), u8::from(at.month()), at.day()), (year, 1, 1));
        assert_eq!(at.offset().whole_hours(), 8);
        assert_eq!(context[0].precision, Some(pilot_events::Precision::Year));
        let source = context[0].source.as_ref().unwrap();
        assert_eq!(
            (source.citation.as_str(), source.page.as_deref()),
            ("Zhu and Xiao 2015", Some("4"))
        );
    }

    let form = get_with(
        router,
        "/log/stakeholder.tenure_recorded",
        &[("cookie", &clerk)],
    )
    .await;
    let mayor = option_value(&form.body, "Mayor of Nanguo (post)");
    let (_, person) = log(
        router,
        &clerk,
        "/log/stakeholder.registered",
        &[
            ("data.name", "Gong Wei"),
            ("data.kind", "leader"),
            ("data.level", "municipal"),
            ("data.influence", "5"),
        ],
    )
    .await;
    assert_eq!(person.status, StatusCode::SEE_OTHER, "{}", person.body);
    let form = get_with(
        router,
        "/log/stakeholder.tenure_recorded",
        &[("cookie", &clerk)],
    )
    .await;
    let gong = option_value(&form.body, "Gong Wei");
    let answer = post(
        router,
        "/log/stakeholder.tenure_recorded",
        Some(&clerk),
        &filled(
            &form,
            &[
                ("stakeholder_id", &gong),
                ("data.post_id", &mayor),
                ("data.from", "2003-01-01"),
                ("data.to", ""),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let world = served.state.projection.read();
    let person = uuid::Uuid::parse_str(&gong).unwrap();
    let tenures: Vec<_> = world.registry().tenures_of(&person).collect();
    assert_eq!(tenures.len(), 1);
    assert_eq!(tenures[0].post_id.to_string(), mayor);
    assert_eq!(tenures[0].to, None);
}

#[tokio::test]
async fn a_refused_draft_shows_the_rules_message_at_its_field_and_stores_nothing() {
    let served = served_with(false).await;
    let router = &served.router;
    let clerk = sign_in(router, CLERK).await;
    let before = log_position(&served);

    // A stance out of range: the decoder's message, at the stance input.
    let form = get_with(
        router,
        &format!("/log/lobbying.contact_logged?pilot={HICI}"),
        &[("cookie", &clerk)],
    )
    .await;
    let mayor = option_value(&form.body, "Mayor of Nanguo (post)");
    let answer = post(
        router,
        "/log/lobbying.contact_logged",
        Some(&clerk),
        &filled(
            &form,
            &[
                ("data.stakeholder_id", &mayor),
                ("data.channel", "meeting"),
                ("data.strategy", "pressure"),
                ("data.summary", "Kept as entered"),
                ("data.stance", "7"),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &answer.body;
    assert!(body.contains("stance 7 is outside -2..2"), "{body}");
    assert!(
        body.contains(
            "name=\"data.stance\" type=\"number\" value=\"7\" min=\"-2\" max=\"2\" step=\"1\" required aria-describedby=\"f-data-stance-help f-data-stance-error\" aria-invalid=\"true\""
        ),
        "{body}"
    );
    assert!(body.contains("id=\"f-data-stance-error\""), "{body}");
    assert!(body.contains("href=\"#f-data-stance\""), "{body}");
    assert!(body.contains("Kept as entered</textarea>"), "{body}");
    assert_eq!(
        input_value(body, "event_id"),
        input_value(&form.body, "event_id"),
        "the same event id, so sending it again once fixed stores once"
    );
    assert_eq!(log_position(&served), before);

    // A chain rule that names no field: its message above the form, on no input.
    let answer = post(
        router,
        "/log/lobbying.contact_logged",
        Some(&clerk),
        &filled(
            &form,
            &[
                ("data.stakeholder_id", &mayor),
                ("data.channel", "meeting"),
                ("data.strategy", "pressure"),
                ("data.summary", "HICI was merged"),
                ("data.stance", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("is in `merged`"), "{}", answer.body);
    assert!(!answer.body.contains("aria-invalid"), "{}", answer.body);
    assert_eq!(log_position(&served), before);

    // A required text left blank: validation's message, at the title.
    let form = get_with(router, "/log/pilot.proposed", &[("cookie", &clerk)]).await;
    let answer = post(
        router,
        "/log/pilot.proposed",
        Some(&clerk),
        &filled(
            &form,
            &[
                ("data.title", "  "),
                ("data.jurisdiction", "Nanguo"),
                ("data.policy_area", "pensions"),
                ("data.level", "municipal"),
                ("data.problem_frame", "p"),
            ],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains("id=\"f-data-title-error\""),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("empty: give a non-blank text"));
    assert!(answer.body.contains("value=\"Nanguo\""), "kept");
    assert_eq!(log_position(&served), before);

    // In Chinese, the lead is Chinese and the API's words are marked as English.
    let answer = post(
        router,
        "/log/pilot.proposed",
        Some(&format!("{clerk}; lang=zh-CN")),
        &filled(&form, &[("data.title", "")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("未被接受"), "{}", answer.body);
    assert!(answer.body.contains("<span lang=\"en\">"));
    assert_eq!(log_position(&served), before);
}

#[tokio::test]
async fn posting_the_same_form_twice_stores_once() {
    let served = served_with(false).await;
    let router = &served.router;
    let clerk = sign_in(router, CLERK).await;
    let before = log_position(&served);
    let form = get_with(router, "/log/pilot.proposed", &[("cookie", &clerk)]).await;
    let body = filled(
        &form,
        &[
            ("data.title", "Twice Sent Pilot"),
            ("data.jurisdiction", "Nanguo"),
            ("data.policy_area", "pensions"),
            ("data.level", "county"),
            ("data.problem_frame", "p"),
        ],
    );
    let first = post(router, "/log/pilot.proposed", Some(&clerk), &body).await;
    let second = post(router, "/log/pilot.proposed", Some(&clerk), &body).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    assert_eq!(
        first.headers[header::LOCATION],
        second.headers[header::LOCATION]
    );
    assert_eq!(log_position(&served), before + 1);
    let overview = get_with(router, "/", &[("cookie", &clerk)]).await;
    assert_eq!(overview.body.matches("Twice Sent Pilot").count(), 1);
}

#[tokio::test]
async fn analysts_other_offices_and_posts_without_csrf_are_refused() {
    let served = served_with(true).await;
    let router = &served.router;
    let before = log_position(&served);

    // Anonymous readers (--demo) read, but sign in to log.
    let answer = get_with(router, "/log", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], "/signin");

    let analyst = sign_in(router, ANALYST).await;
    let list = get_with(router, "/log", &[("cookie", &analyst)]).await;
    assert_eq!(list.status, StatusCode::FORBIDDEN);
    assert!(!list.body.contains("href=\"/log/"), "{}", list.body);
    let form = get_with(router, "/log/pilot.proposed", &[("cookie", &analyst)]).await;
    assert_eq!(form.status, StatusCode::FORBIDDEN);
    let overview = get_with(router, "/", &[("cookie", &analyst)]).await;
    assert!(
        !overview.body.contains("/log"),
        "no logging links for analysts"
    );

    // A clerk of another office: no link on SSDNC's pilot, and the API's office rule.
    let other = sign_in(router, OTHER_CLERK).await;
    let page = get_with(router, &format!("/pilots/{HICI}"), &[("cookie", &other)]).await;
    assert!(!page.body.contains("href=\"/log?pilot="), "{}", page.body);
    let form = get_with(
        router,
        &format!("/log/stakeholder.stance_assessed?pilot={UNIFIED}"),
        &[("cookie", &other)],
    )
    .await;
    let mayor = option_value(&form.body, "Mayor of Nanguo (post)");
    let answer = post(
        router,
        "/log/stakeholder.stance_assessed",
        Some(&other),
        &filled(
            &form,
            &[("data.stakeholder_id", &mayor), ("data.stance", "-1")],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer.body.contains("belongs to office"), "{}", answer.body);
    assert!(answer.body.contains("role=\"alert\""));
    assert_eq!(log_position(&served), before);

    // Without the CSRF token: 403 and nothing stored.
    let clerk = sign_in(router, CLERK).await;
    let form = get_with(
        router,
        &format!("/log/stakeholder.stance_assessed?pilot={UNIFIED}"),
        &[("cookie", &clerk)],
    )
    .await;
    let body = filled(
        &form,
        &[("data.stakeholder_id", &mayor), ("data.stance", "-1")],
    );
    let without: String = body
        .split('&')
        .filter(|pair| !pair.starts_with("csrf="))
        .collect::<Vec<_>>()
        .join("&");
    let answer = post(
        router,
        "/log/stakeholder.stance_assessed",
        Some(&clerk),
        &without,
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(log_position(&served), before);
    // With it, the same clerk's draft is stored.
    let answer = post(
        router,
        "/log/stakeholder.stance_assessed",
        Some(&clerk),
        &body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(log_position(&served), before + 1);
}

#[tokio::test]
async fn every_type_of_the_catalogue_renders_a_form_with_every_label_in_both_languages() {
    use pilot_events::fields::Kind;
    use pilot_events::EventType;
    use pilot_web::i18n::{Lang, Tr};

    let served = served_with(false).await;
    let router = &served.router;
    let admin = sign_in(router, ADMIN).await;
    for lang in Lang::ALL {
        let tr = Tr::new(lang);
        for event_type in EventType::ALL {
            let path = format!(
                "/log/{}?pilot={HICI}&lang={}",
                event_type.as_str(),
                lang.tag()
            );
            let form = get_with(router, &path, &[("cookie", &admin)]).await;
            assert_eq!(form.status, StatusCode::OK, "{path}");
            assert!(input_value(&form.body, "event_id").is_some(), "{path}");
            for field in event_type.fields() {
                if field.kind == Kind::Written {
                    assert!(!form.body.contains(&format!("name=\"data.{}\"", field.name)));
                    continue;
                }
                let key = format!("forms-field-{}", field.name);
                assert!(tr.has(&key), "{}: {key}", lang.tag());
                let label = format!("<label for=\"f-data-{}\">{}", field.name, tr.t(&key));
                assert!(form.body.contains(&label), "{path}: {label}");
                if let Kind::Word { words, .. } = field.kind {
                    for word in words {
                        assert!(form.body.contains(&format!("<option value=\"{word}\"")));
                    }
                }
            }
        }
    }
    // A pilot's type without a pilot asks for the pilot, by title.
    let choose = get_with(router, "/log/approval.granted", &[("cookie", &admin)]).await;
    assert_eq!(choose.status, StatusCode::OK);
    assert!(choose
        .body
        .contains("Health Insurance for Critical Illness (HICI)"));
    let unknown = get_with(router, "/log/pilot.dreamed_up", &[("cookie", &admin)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
