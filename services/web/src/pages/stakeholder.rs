//! One stakeholder's page: who it is, its stance on each pilot (coalition and opposition),
//! its contacts, and its highlight balance over time as a chart with the lines behind it;
//! `as_of`. Everything comes from the API's reads: `reads::stakeholder` (registry, stances,
//! ledger with running balance) and, for a past day, `reads::pilot_support` of each pilot at
//! that day.

use super::*;
use crate::chart::{line_chart, Chart, Point};

#[derive(Debug)]
struct StanceRow {
    pilot_id: String,
    title: String,
    stage: String,
    stance: String,
    /// `coalition`, `opposition` or `neutral`: the side it takes.
    side: &'static str,
    side_label: String,
    contacts: u32,
    last_contact: String,
}

#[derive(Template)]
#[template(path = "stakeholder.html")]
struct StakeholderPage {
    l: Layout,
    tr: Tr,
    id: String,
    as_of: String,
    name: String,
    facts: Vec<(String, String)>,
    stances: Vec<StanceRow>,
    contacts: u32,
    lines: Vec<HighlightLineRow>,
    chart: Option<Chart>,
}

/// `GET /stakeholders/{id}?as_of=`.
pub(crate) async fn stakeholder(
    State(state): State<WebState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
    if let Err(response) = gate(&ctx, &state) {
        return *response;
    }
    let tr = ctx.tr;
    let Some(id) = id
        .ok()
        .and_then(|Path(raw)| Uuid::parse_str(raw.trim()).ok())
    else {
        return error_page(
            &ctx,
            &state,
            StatusCode::NOT_FOUND,
            tr.t("error-no-stakeholder"),
            None,
        );
    };
    let as_of_raw = param(&query, "as_of");
    let as_of = match parse_as_of(&ctx, &state, as_of_raw) {
        Ok(as_of) => as_of,
        Err(response) => return *response,
    };
    let detail = match reads::stakeholder(
        State(state.app.clone()),
        Ok(Path(id.to_string())),
        Ok(Query(Vec::new())),
    )
    .await
    {
        Ok(axum::Json(detail)) => detail,
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            return error_page(
                &ctx,
                &state,
                StatusCode::NOT_FOUND,
                tr.t("error-no-stakeholder"),
                None,
            )
        }
        Err(error) => return api_error_page(&ctx, &state, error),
    };
    let s = &detail.stakeholder;

    // Its stance on each pilot: now from the stakeholder read; as of a day from each pilot's
    // support read at that day (a pilot not proposed yet then is left out).
    let mut stances = Vec::new();
    for on in &detail.pilots {
        let (stage, support) = match as_of {
            None => (on.stage, Some(on.support.clone())),
            Some(_) => {
                let when = vec![("as_of".to_string(), as_of_raw.to_string())];
                let past = reads::get_pilot(
                    State(state.app.clone()),
                    Ok(Path(on.pilot_id.to_string())),
                    Ok(Query(when.clone())),
                )
                .await;
                let Ok(axum::Json(view)) = past else { continue };
                let support = match reads::pilot_support(
                    State(state.app.clone()),
                    Ok(Path(on.pilot_id.to_string())),
                    Ok(Query(when)),
                )
                .await
                {
                    Ok(axum::Json(support)) => support
                        .stakeholders
                        .into_iter()
                        .find(|row| row.who.stakeholder_id == id)
                        .map(|row| row.support),
                    Err(error) => return api_error_page(&ctx, &state, error),
                };
                (view.pilot.stage, support)
            }
        };
        let Some(support) = support else { continue };
        let value = support.stance.map(|s| s.value());
        let side = match value {
            Some(v) if v > 0 => "coalition",
            Some(v) if v < 0 => "opposition",
            _ => "neutral",
        };
        stances.push(StanceRow {
            pilot_id: on.pilot_id.to_string(),
            title: on.title.clone(),
            stage: stage_label(&tr, stage),
            stance: value.map_or_else(|| "—".to_string(), |v| super::pilot::stance_label(&tr, v)),
            side,
            side_label: tr.t(&format!("side-{side}")),
            contacts: support.contacts,
            last_contact: support
                .last_contact
                .map_or_else(|| "—".to_string(), view::date),
        });
    }
    let contacts = stances.iter().map(|s| s.contacts).sum();

    let titles: BTreeMap<Uuid, String> = detail
        .pilots
        .iter()
        .map(|p| (p.pilot_id, p.title.clone()))
        .chain({
            let world = state.app.projection.read();
            detail
                .ledger
                .iter()
                .filter_map(|l| {
                    world
                        .pilot(&l.line.pilot_id)
                        .map(|r| (l.line.pilot_id, r.state.title.clone()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let kept: Vec<_> = detail
        .ledger
        .iter()
        .filter(|l| as_of.is_none_or(|limit| l.line.occurred_at <= limit))
        .collect();
    let points: Vec<Point> = kept
        .iter()
        .map(|l| {
            let balance = l.balance.unwrap_or(0);
            Point {
                at: l.line.occurred_at,
                value: balance as f64,
                label: format!(
                    "{}: {} ({balance})",
                    view::date(l.line.occurred_at),
                    l.line.title
                ),
            }
        })
        .collect();
    let balance_now = kept.last().and_then(|l| l.balance).unwrap_or(0);
    let chart = line_chart(
        "chart-balance",
        tr.t1("chart-balance-title", "name", &s.name),
        points
            .iter()
            .map(|p| p.label.clone())
            .collect::<Vec<_>>()
            .join("; "),
        &points,
        None,
        true,
    );
    let lines = kept
        .iter()
        .map(|l| HighlightLineRow::of(&tr, l, &titles))
        .collect();
    let facts = vec![
        (
            tr.t("field-kind"),
            tr.t(&format!("kind-{}", s.kind.as_str())),
        ),
        (
            tr.t("field-level"),
            tr.t(&format!("level-{}", s.level.as_str())),
        ),
        (tr.t("field-influence"), s.influence.value().to_string()),
        (tr.t("field-registered"), view::date(s.registered_at)),
        (tr.t("field-points"), balance_now.to_string()),
    ];
    let template = StakeholderPage {
        l: Layout::new(
            &ctx,
            &state,
            s.name.clone(),
            &format!("/stakeholders/{id}"),
            &query,
            "",
        ),
        tr,
        id: id.to_string(),
        as_of: as_of_raw.to_string(),
        name: s.name.clone(),
        facts,
        stances,
        contacts,
        lines,
        chart,
    };
    page(&ctx, StatusCode::OK, &template)
}
