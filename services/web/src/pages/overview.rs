//! The overview: every pilot, its stage, support, lights and points, filtered, as of a day,
//! [`PAGE_SIZE`] rows to a page.

use super::*;

/// Rows on one page of the overview: a city's few dozen pilots fit on one; with a thousand,
/// a page is some 46 KB instead of 440 KB for all of them (the web bench, `benches/pages.rs`).
pub const PAGE_SIZE: usize = 100;

/// A link to another page of the same filtered list.
#[derive(Debug)]
struct PageLink {
    href: String,
    label: String,
    rel: &'static str,
}

#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug)]
struct PilotRow {
    href: String,
    title: String,
    stage: String,
    office: String,
    support: String,
    pending: Vec<ApprovalLight>,
    points: u64,
    last_activity: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    l: Layout,
    tr: Tr,
    stages: Vec<Choice>,
    offices: Vec<Choice>,
    stalled: Vec<Choice>,
    q: String,
    as_of: String,
    rows: Vec<PilotRow>,
    count: String,
    /// "Page 2 of 11" when there is more than one page.
    page_label: Option<String>,
    page_links: Vec<PageLink>,
}

/// `GET /?stage=&office=&stalled=&q=&as_of=&page=`.
pub(crate) async fn overview(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
    if let Err(response) = gate(&ctx, &state) {
        return *response;
    }
    let tr = ctx.tr;
    let (stage, office, stalled, text, as_of_raw) = (
        param(&query, "stage"),
        param(&query, "office"),
        param(&query, "stalled"),
        param(&query, "q"),
        param(&query, "as_of"),
    );
    let as_of = match parse_as_of(&ctx, &state, as_of_raw) {
        Ok(as_of) => as_of,
        Err(response) => return *response,
    };
    let page_number = match param(&query, "page") {
        "" => Some(1),
        number => number.parse::<usize>().ok().filter(|n| *n >= 1),
    };
    let Some(page_number) = page_number else {
        return error_page(
            &ctx,
            &state,
            StatusCode::BAD_REQUEST,
            tr.t("error-bad-filter"),
            None,
        );
    };
    if (!stage.is_empty() && Stage::parse(stage).is_none())
        || !matches!(stalled, "" | "true" | "false")
    {
        return error_page(
            &ctx,
            &state,
            StatusCode::BAD_REQUEST,
            tr.t("error-bad-filter"),
            None,
        );
    }
    // The API's list does the filtering and the time travel.
    let api_query: Pairs = [
        ("stage", stage),
        ("office", office),
        ("stalled", stalled),
        ("as_of", as_of_raw),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    let views = match reads::pilot_views(State(state.app.clone()), Ok(Query(api_query))).await {
        Ok(axum::Json(views)) => views,
        Err(error) => return api_error_page(&ctx, &state, error),
    };
    let needle = text.to_lowercase();
    let now = as_of.unwrap_or_else(OffsetDateTime::now_utc);
    let keep_query = |href: String| match as_of_raw {
        "" => href,
        day => format!("{href}?{}", view::query(&[("as_of", day)])),
    };
    let matching: Vec<&PilotView> = views
        .iter()
        .filter(|v| needle.is_empty() || v.pilot.title.to_lowercase().contains(&needle))
        .collect();
    let pages = matching.len().div_ceil(PAGE_SIZE).max(1);
    let page_number = page_number.min(pages);
    let rows: Vec<PilotRow> = matching
        .iter()
        .skip((page_number - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|v| PilotRow {
            href: keep_query(format!("/pilots/{}", v.pilot.pilot_id)),
            title: v.pilot.title.clone(),
            stage: stage_label(&tr, v.pilot.stage),
            office: v.pilot.office.clone(),
            support: v
                .support_index
                .map_or_else(|| "—".to_string(), |s| format!("{s:.2}")),
            pending: lights(&state, v, now, &tr),
            points: v.points,
            last_activity: view::date(v.pilot.last_activity),
        })
        .collect();
    let all_offices: BTreeSet<String> = state
        .app
        .projection
        .read()
        .pilots()
        .map(|record| record.state.office.clone())
        .collect();
    let any = |tr: &Tr| Choice {
        value: String::new(),
        label: tr.t("filter-any"),
        selected: false,
    };
    let mut stages = vec![any(&tr)];
    stages.extend(Stage::ALL.iter().map(|s| Choice {
        value: s.as_str().to_string(),
        label: stage_label(&tr, *s),
        selected: s.as_str() == stage,
    }));
    let mut offices = vec![any(&tr)];
    offices.extend(all_offices.into_iter().map(|o| Choice {
        selected: o == office,
        label: o.clone(),
        value: o,
    }));
    let stalled_choices = vec![
        any(&tr),
        Choice {
            value: "true".into(),
            label: tr.t("filter-stalled-yes"),
            selected: stalled == "true",
        },
        Choice {
            value: "false".into(),
            label: tr.t("filter-stalled-no"),
            selected: stalled == "false",
        },
    ];
    let page_href = |number: usize| {
        let number = number.to_string();
        let filters = [
            ("stage", stage),
            ("office", office),
            ("stalled", stalled),
            ("q", text),
            ("as_of", as_of_raw),
            ("page", number.as_str()),
        ];
        format!("/?{}", view::query(&filters))
    };
    let mut page_links = Vec::new();
    if page_number > 1 {
        page_links.push(PageLink {
            href: page_href(page_number - 1),
            label: tr.t("page-previous"),
            rel: "prev",
        });
    }
    if page_number < pages {
        page_links.push(PageLink {
            href: page_href(page_number + 1),
            label: tr.t("page-next"),
            rel: "next",
        });
    }
    let page_label =
        (pages > 1).then(|| tr.t1("page-of", "position", &format!("{page_number} / {pages}")));
    let title = tr.t("overview-title");
    let template = OverviewPage {
        l: Layout::new(&ctx, &state, title, "/", &query, "overview"),
        tr,
        stages,
        offices,
        stalled: stalled_choices,
        q: text.to_string(),
        as_of: as_of_raw.to_string(),
        count: tr.t1("overview-count", "count", &matching.len().to_string()),
        rows,
        page_label,
        page_links,
    };
    page(&ctx, StatusCode::OK, &template)
}

/// A light per pending approval at `now`, by the alert rules the API's `stalled` filter uses.
fn lights(state: &WebState, v: &PilotView, now: OffsetDateTime, tr: &Tr) -> Vec<ApprovalLight> {
    let rules = state.app.stall_terms.rules_for(&v.pilot.pilot_id);
    v.pilot
        .pending_approvals
        .values()
        .map(|approval| {
            let light = Light::of(&stall_status(approval, rules, now));
            ApprovalLight {
                class: light.name(),
                label: light_label(tr, light),
                approval: approval.approval_id.clone(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- pilot page
