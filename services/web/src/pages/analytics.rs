//! Comparative analytics (issue 13) as a page: the API's own figures
//! (`reads::analytics`, the fold `pilot_projections::analytics`), as of a day, laid out as
//! tables. The page reads nothing the API does not serve at `GET /api/v1/analytics`, so its
//! figures are the API's and the CLI's. Empty groups show "—" (the fold's null), never 0.

use super::*;
use pilot_projections::analytics::{
    Analytics, ByApprover, ByLevel, Grouped, StallRate, Summary, YearPoints,
};

/// One row of a figures table: its heading cell (a link where the party has a page) and
/// its figures, already formatted.
#[derive(Debug)]
struct Row {
    label: String,
    href: Option<String>,
    cells: Vec<String>,
}

/// One accessible table: a caption, column headings, rows with a row heading.
#[derive(Debug)]
struct Table {
    id: String,
    caption: String,
    /// The heading of the first column (the rows' headings).
    first: String,
    head: Vec<String>,
    rows: Vec<Row>,
}

/// A section of the page: a heading and its tables.
#[derive(Debug)]
struct Section {
    id: &'static str,
    heading: String,
    help: String,
    tables: Vec<Table>,
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    l: Layout,
    tr: Tr,
    as_of: String,
    /// The message at the as-of field when it cannot be read.
    as_of_error: String,
    sections: Vec<Section>,
}

/// What an empty group shows instead of a figure.
const NONE: &str = "—";

/// Days as the pages show numbers (two decimals at most), "—" when there are none.
fn days(value: Option<f64>) -> String {
    value.map_or_else(|| NONE.to_string(), view::number)
}

/// `GET /analytics?as_of=`.
pub(crate) async fn analytics(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
    if let Err(response) = gate(&ctx, &state) {
        return *response;
    }
    let tr = ctx.tr;
    let as_of_raw = param(&query, "as_of");
    let layout = |ctx: &Ctx| {
        Layout::new(
            ctx,
            &state,
            tr.t("analytics-title"),
            "/analytics",
            &query,
            "analytics",
        )
    };
    // A bad day is the page again with the message at the field (and no figures), not an
    // error page: the reader corrects it where they typed it.
    if !as_of_raw.is_empty() && pilot_api::query::parse_instant("as_of", as_of_raw).is_err() {
        let template = AnalyticsPage {
            l: layout(&ctx),
            tr,
            as_of: as_of_raw.to_string(),
            as_of_error: tr.t("error-bad-date"),
            sections: Vec::new(),
        };
        return page(&ctx, StatusCode::BAD_REQUEST, &template);
    }
    let api_query: Pairs = match as_of_raw {
        "" => Vec::new(),
        day => vec![("as_of".to_string(), day.to_string())],
    };
    // The API's handler loads missing chains and folds off the async workers; no lock is
    // held here across its `.await`.
    let figures = match reads::analytics(State(state.app.clone()), Ok(Query(api_query))).await {
        Ok(axum::Json(figures)) => figures,
        Err(error) => return api_error_page(&ctx, &state, error),
    };
    let template = AnalyticsPage {
        l: layout(&ctx),
        tr,
        as_of: as_of_raw.to_string(),
        as_of_error: String::new(),
        sections: sections(&tr, &figures),
    };
    page(&ctx, StatusCode::OK, &template)
}

/// The page's sections, in the order of the research record's definitions.
fn sections(tr: &Tr, a: &Analytics) -> Vec<Section> {
    let summary_head = || {
        ["count", "median", "mean", "min", "max"]
            .map(|k| tr.t(&format!("analytics-col-{k}")))
            .to_vec()
    };
    let summary_cells = |s: &Summary| {
        vec![
            s.count.to_string(),
            days(s.median),
            days(s.mean),
            days(s.min),
            days(s.max),
        ]
    };
    let decision_head = || {
        let mut head = summary_head();
        head.extend(["granted", "denied", "withdrawn"].map(|o| tr.t(&format!("outcome-{o}"))));
        head
    };
    let stall_head = || {
        ["requested", "stalled", "stalled-pending", "share"]
            .map(|k| tr.t(&format!("analytics-col-{k}")))
            .to_vec()
    };
    let stall_cells = |s: &StallRate| {
        vec![
            s.requested.to_string(),
            s.stalled.to_string(),
            s.stalled_pending.to_string(),
            s.rate.map_or_else(
                || NONE.to_string(),
                |r| format!("{}%", view::number(r * 100.0)),
            ),
        ]
    };
    let to_approval = grouped(
        tr,
        "approval",
        "analytics-to-approval",
        &a.proposal_to_approval,
        "analytics-all-pilots",
        &summary_head(),
        summary_cells,
    );
    let decisions = grouped(
        tr,
        "decision",
        "analytics-to-decision",
        &a.request_to_decision,
        "analytics-all-approvals",
        &decision_head(),
        |d| {
            let mut cells = summary_cells(&d.days);
            cells.extend([d.granted, d.denied, d.withdrawn].map(|n| n.to_string()));
            cells
        },
    );
    let stalls = grouped(
        tr,
        "stall",
        "analytics-stall-rate",
        &a.stall_rates,
        "analytics-all-approvals",
        &stall_head(),
        stall_cells,
    );

    let pilot_href = |id: &Uuid| format!("/pilots/{id}");
    let scale_up = vec![
        Table {
            id: "scale-up-summary".into(),
            caption: tr.t("analytics-scale-up-summary"),
            first: tr.t("analytics-col-group"),
            head: summary_head(),
            rows: vec![Row {
                label: tr.t("analytics-scaled-pilots"),
                href: None,
                cells: summary_cells(&a.time_to_scale_up),
            }],
        },
        Table {
            id: "scale-up-pilots".into(),
            caption: tr.t("analytics-per-pilot"),
            first: tr.t("field-pilot"),
            head: ["proposed", "to-approval", "to-scale-up"]
                .map(|k| tr.t(&format!("analytics-col-{k}")))
                .to_vec(),
            rows: a
                .pilots
                .iter()
                .map(|p| Row {
                    label: p.title.clone(),
                    href: Some(pilot_href(&p.pilot_id)),
                    cells: vec![
                        view::date(p.proposed_at),
                        days(p.days_to_approval),
                        days(p.days_to_scale_up),
                    ],
                })
                .collect(),
        },
    ];

    let points_head = || {
        vec![
            tr.t("analytics-col-year"),
            tr.t("field-points"),
            tr.t("analytics-col-lines"),
        ]
    };
    let year_rows = |label: &str, href: Option<String>, years: &[YearPoints]| -> Vec<Row> {
        years
            .iter()
            .map(|y| Row {
                label: label.to_string(),
                href: href.clone(),
                cells: vec![
                    y.year.to_string(),
                    view::number(y.points as f64),
                    y.lines.to_string(),
                ],
            })
            .collect()
    };
    let points = vec![
        Table {
            id: "points-stakeholders".into(),
            caption: tr.t("analytics-points-stakeholders"),
            first: tr.t("field-stakeholder"),
            head: points_head(),
            rows: a
                .points
                .by_stakeholder
                .iter()
                .flat_map(|s| {
                    let name = s.name.clone().unwrap_or_else(|| tr.t("retracted"));
                    year_rows(
                        &name,
                        Some(format!("/stakeholders/{}", s.stakeholder_id)),
                        &s.years,
                    )
                })
                .collect(),
        },
        Table {
            id: "points-offices".into(),
            caption: tr.t("analytics-points-offices"),
            first: tr.t("field-office"),
            head: points_head(),
            rows: a
                .points
                .by_office
                .iter()
                .flat_map(|o| year_rows(&o.office, None, &o.years))
                .collect(),
        },
    ];

    let trajectories = a
        .pilots
        .iter()
        .map(|p| Table {
            id: format!("support-{}", p.pilot_id),
            caption: tr.t1("analytics-support-of", "title", &p.title),
            first: tr.t("field-date"),
            head: vec![tr.t("field-support-index")],
            rows: p
                .support_trajectory
                .iter()
                .map(|point| Row {
                    label: view::date(point.at),
                    href: None,
                    cells: vec![point
                        .support_index
                        .map_or_else(|| NONE.to_string(), |s| format!("{s:.2}"))],
                })
                .collect(),
        })
        .collect();

    vec![
        Section {
            id: "proposal-to-approval",
            heading: tr.t("analytics-to-approval"),
            help: tr.t("analytics-to-approval-help"),
            tables: to_approval,
        },
        Section {
            id: "request-to-decision",
            heading: tr.t("analytics-to-decision"),
            help: tr.t("analytics-to-decision-help"),
            tables: decisions,
        },
        Section {
            id: "stall-rate",
            heading: tr.t("analytics-stall-rate"),
            help: tr.t("analytics-stall-rate-help"),
            tables: stalls,
        },
        Section {
            id: "scale-up",
            heading: tr.t("analytics-scale-up"),
            help: tr.t("analytics-scale-up-help"),
            tables: scale_up,
        },
        Section {
            id: "points",
            heading: tr.t("analytics-points"),
            help: tr.t("analytics-points-help"),
            tables: points,
        },
        Section {
            id: "support",
            heading: tr.t("analytics-support"),
            help: tr.t("analytics-support-help"),
            tables: trajectories,
        },
    ]
}

/// Three tables of one grouped figure: overall, by approver level, by approver (each
/// approver a link to its stakeholder page). `id` prefixes the tables' ids.
fn grouped<T>(
    tr: &Tr,
    id: &str,
    heading_key: &str,
    figures: &Grouped<T>,
    overall_key: &str,
    head: &[String],
    cells: impl Fn(&T) -> Vec<String>,
) -> Vec<Table> {
    let heading = tr.t(heading_key);
    let table = |suffix: &str, caption: String, first: String, rows: Vec<Row>| Table {
        id: format!("{id}-{suffix}"),
        caption,
        first,
        head: head.to_vec(),
        rows,
    };
    let level_row = |g: &ByLevel<T>| Row {
        label: tr.t(&format!("level-{}", g.level.as_str())),
        href: None,
        cells: cells(&g.figures),
    };
    let approver_row = |g: &ByApprover<T>| Row {
        label: g.name.clone().unwrap_or_else(|| tr.t("retracted")),
        href: Some(format!("/stakeholders/{}", g.approver_id)),
        cells: cells(&g.figures),
    };
    vec![
        table(
            "overall",
            tr.t1("analytics-overall", "figure", &heading),
            tr.t("analytics-col-group"),
            vec![Row {
                label: tr.t(overall_key),
                href: None,
                cells: cells(&figures.overall),
            }],
        ),
        table(
            "levels",
            tr.t1("analytics-by-level", "figure", &heading),
            tr.t("field-level"),
            figures.by_level.iter().map(level_row).collect(),
        ),
        table(
            "approvers",
            tr.t1("analytics-by-approver", "figure", &heading),
            tr.t("field-approver"),
            figures.by_approver.iter().map(approver_row).collect(),
        ),
    ]
}
