//! The ledger: stakeholders ranked by the points of the political highlights credited to
//! them, each with the lines behind its figure. Filters as the API's highlights read
//! (`pilot`, `level`, `from`, `until`), passed to `reads::highlight_lines` as they are, so a bad
//! value is the API's 400; names from `reads::stakeholder_rows`.

use super::*;
use pilot_events::Level;

#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug)]
struct Ranked {
    rank: usize,
    id: String,
    name: String,
    points: u64,
    lines: Vec<HighlightLineRow>,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    l: Layout,
    tr: Tr,
    pilots: Vec<Choice>,
    levels: Vec<Choice>,
    from: String,
    until: String,
    ranked: Vec<Ranked>,
}

/// `GET /ledger?pilot=&level=&from=&until=`.
pub(crate) async fn ledger(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
    if let Err(response) = gate(&ctx, &state) {
        return *response;
    }
    let tr = ctx.tr;
    let filters: Pairs = ["pilot", "level", "from", "until"]
        .iter()
        .map(|name| (name.to_string(), param(&query, name).to_string()))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    let lines = match reads::highlight_lines(State(state.app.clone()), Ok(Query(filters))).await {
        Ok(axum::Json(lines)) => lines,
        Err(error) => return api_error_page(&ctx, &state, error),
    };
    let registry =
        match reads::stakeholder_rows(State(state.app.clone()), Ok(Query(Vec::new()))).await {
            Ok(axum::Json(rows)) => rows,
            Err(error) => return api_error_page(&ctx, &state, error),
        };
    let names: BTreeMap<Uuid, String> = registry
        .iter()
        .map(|r| (r.stakeholder.stakeholder_id, r.stakeholder.name.clone()))
        .collect();
    let titles: BTreeMap<Uuid, String> = {
        let world = state.app.projection.read();
        world
            .pilots()
            .map(|r| (r.state.pilot_id, r.state.title.clone()))
            .collect()
    };

    // Each line counts in full for every stakeholder it is credited to, as the API's points.
    let mut by_stakeholder: BTreeMap<Uuid, (u64, Vec<HighlightLineRow>)> = BTreeMap::new();
    for l in &lines {
        for who in &l.line.credited_to {
            let entry = by_stakeholder.entry(*who).or_default();
            entry.0 += u64::from(l.line.points);
            entry.1.push(HighlightLineRow::of(&tr, l, &titles));
        }
    }
    let mut ranked: Vec<Ranked> = by_stakeholder
        .into_iter()
        .map(|(id, (points, lines))| Ranked {
            rank: 0,
            id: id.to_string(),
            name: names.get(&id).cloned().unwrap_or_else(|| tr.t("retracted")),
            points,
            lines,
        })
        .collect();
    ranked.sort_by(|a, b| b.points.cmp(&a.points).then_with(|| a.name.cmp(&b.name)));
    // Equal points share a rank (1, 2, 2, 4).
    let mut previous: Option<(u64, usize)> = None;
    for (index, row) in ranked.iter_mut().enumerate() {
        row.rank = match previous {
            Some((points, rank)) if points == row.points => rank,
            _ => index + 1,
        };
        previous = Some((row.points, row.rank));
    }

    let chosen_pilot = param(&query, "pilot");
    let mut pilots = vec![Choice {
        value: String::new(),
        label: tr.t("filter-any"),
        selected: chosen_pilot.is_empty(),
    }];
    pilots.extend(titles.iter().map(|(id, title)| Choice {
        value: id.to_string(),
        label: title.clone(),
        selected: chosen_pilot == id.to_string(),
    }));
    let chosen_level = param(&query, "level");
    let mut levels = vec![Choice {
        value: String::new(),
        label: tr.t("filter-any"),
        selected: chosen_level.is_empty(),
    }];
    levels.extend(Level::ALL.iter().map(|level| Choice {
        value: level.as_str().to_string(),
        label: tr.t(&format!("level-{}", level.as_str())),
        selected: chosen_level == level.as_str(),
    }));
    let template = LedgerPage {
        l: Layout::new(
            &ctx,
            &state,
            tr.t("ledger-title"),
            "/ledger",
            &query,
            "ledger",
        ),
        tr,
        pilots,
        levels,
        from: param(&query, "from").to_string(),
        until: param(&query, "until").to_string(),
        ranked,
    };
    page(&ctx, StatusCode::OK, &template)
}
