//! How a list endpoint answers as a spreadsheet: `Accept: text/csv` or `?format=csv` on
//! `GET /api/v1/pilots`, `/stakeholders`, `/highlights` (the ledger) and `/alerts` answers the
//! same rows as the JSON list, with the same filters, as CSV; `?bom=true` puts a UTF-8
//! byte-order mark first, without which Excel reads Chinese text as mojibake.
//!
//! This module knows no row type: a [`Row`] says its table and its [`Column`]s (a header and
//! the function that fills it, so a header can never drift from its values), and
//! [`crate::tables`] gives each row type its columns. The read handlers depend on this
//! module, the tables on the read models: one way.

use crate::error::ApiError;
use crate::query::{parse_bool, Params};
use crate::state::AppState;
use axum::extract::Query;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pilot_projections::World;
use time::OffsetDateTime;
use uuid::Uuid;

/// The UTF-8 byte-order mark `?bom=true` puts first.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// What a CSV answer is.
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
/// Between the items of a list in a cell; the spreadsheet import splits on it, so what is
/// exported reads back.
pub const LIST_SEPARATOR: char = ';';

/// The tables a list endpoint answers as CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Pilots,
    Stakeholders,
    Ledger,
    Alerts,
}

impl Table {
    pub const ALL: [Table; 4] = [
        Table::Pilots,
        Table::Stakeholders,
        Table::Ledger,
        Table::Alerts,
    ];

    /// The table's name, as `pilot export --what` takes it and as its file is named.
    pub fn name(self) -> &'static str {
        match self {
            Table::Pilots => "pilots",
            Table::Stakeholders => "stakeholders",
            Table::Ledger => "ledger",
            Table::Alerts => "alerts",
        }
    }

    /// The list endpoint that answers it.
    pub fn path(self) -> &'static str {
        match self {
            Table::Pilots => "/api/v1/pilots",
            Table::Stakeholders => "/api/v1/stakeholders",
            Table::Ledger => "/api/v1/highlights",
            Table::Alerts => "/api/v1/alerts",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.csv", self.name())
    }
}

/// How a list endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv { bom: bool },
}

/// The query parameters [`negotiate`] reads, for the OpenAPI document of each list that has
/// a CSV form.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes the query for the document; `negotiate` is what reads it.
pub struct SpreadsheetParams {
    /// `json` (the default) or `csv`; `Accept: text/csv` asks for CSV too.
    format: Option<String>,
    /// With CSV: `true` starts the file with a UTF-8 byte-order mark, so that a spreadsheet
    /// reads Chinese text right.
    bom: Option<bool>,
}

/// The answer's format, from `format=` and `bom=` (taken out of the query, so the endpoint
/// sees only its own parameters) or else the `Accept` header.
pub fn negotiate(query: Params, headers: &HeaderMap) -> Result<(Params, Format), ApiError> {
    let Ok(Query(pairs)) = query else {
        return Ok((query, Format::Json));
    };
    let mut format = None;
    let mut bom = None;
    let mut rest = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        match name.as_str() {
            "format" if format.is_some() => {
                return Err(ApiError::invalid("format", "format is given twice"))
            }
            "format" => format = Some(value),
            "bom" if bom.is_some() => return Err(ApiError::invalid("bom", "bom is given twice")),
            "bom" => bom = Some(value),
            _ => rest.push((name, value)),
        }
    }
    let csv = match format.as_deref().map(str::trim) {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("format must be json or csv; got {other:?}"),
            ))
        }
        None => accepts_csv(headers),
    };
    let bom = match bom {
        Some(value) => parse_bool("bom", &value)?,
        None => false,
    };
    let format = match (csv, bom) {
        (true, bom) => Format::Csv { bom },
        (false, true) => {
            return Err(ApiError::invalid(
                "bom",
                "bom=true marks a CSV answer: add format=csv (or send Accept: text/csv)",
            ))
        }
        (false, false) => Format::Json,
    };
    Ok((Ok(Query(rest)), format))
}

/// Whether `Accept` names `text/csv` (a browser's `*/*` still gets JSON).
fn accepts_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            item.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/csv"))
        })
}

/// What a cell may look up: the world the rows came from (titles and names by id) and the
/// instant the list was made (an alert's silence).
#[derive(Debug)]
pub struct Context<'w> {
    pub world: &'w World,
    pub now: OffsetDateTime,
}

impl Context<'_> {
    pub(crate) fn title(&self, pilot: &Uuid) -> String {
        self.world
            .pilot(pilot)
            .map(|p| p.state.title.clone())
            .unwrap_or_default()
    }

    pub(crate) fn name(&self, stakeholder: &Uuid) -> String {
        self.world
            .registry()
            .get(stakeholder)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }
}

/// One column: its header and what fills it.
pub struct Column<R> {
    pub name: &'static str,
    pub value: fn(&R, &Context) -> String,
}

impl<R> std::fmt::Debug for Column<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Column").field("name", &self.name).finish()
    }
}

pub(crate) const fn column<R>(name: &'static str, value: fn(&R, &Context) -> String) -> Column<R> {
    Column { name, value }
}

/// A row type of a table.
pub trait Row: Sized + 'static {
    const TABLE: Table;
    const COLUMNS: &'static [Column<Self>];
}

/// The rows a list endpoint found, as JSON or as CSV.
pub fn respond<R: Row + serde::Serialize>(
    state: &AppState,
    format: Format,
    rows: Vec<R>,
) -> Result<Response, ApiError> {
    match format {
        Format::Json => Ok(Json(rows).into_response()),
        Format::Csv { bom } => {
            let world = state.projection.read();
            let context = Context {
                world: &world,
                now: state.clock.now(),
            };
            answer(&rows, &context, bom)
        }
    }
}

/// The CSV answer: header, one record per row, with its content type and a file name.
pub fn answer<R: Row>(rows: &[R], context: &Context, bom: bool) -> Result<Response, ApiError> {
    let body = render(rows, context, bom)
        .map_err(|error| ApiError::internal(format!("cannot write the CSV: {error}")))?;
    let disposition = format!("attachment; filename=\"{}\"", R::TABLE.file_name());
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(CSV_CONTENT_TYPE),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition)
                .map_err(|error| ApiError::internal(error.to_string()))?,
        ),
    ];
    Ok((headers, body).into_response())
}

/// The rows as CSV bytes, the byte-order mark first when asked.
pub fn render<R: Row>(rows: &[R], context: &Context, bom: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(BOM);
    }
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(R::COLUMNS.iter().map(|c| c.name))?;
    for row in rows {
        writer.write_record(R::COLUMNS.iter().map(|c| (c.value)(row, context)))?;
    }
    writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))
}

pub(crate) fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(&format!("{LIST_SEPARATOR} "))
}

pub(crate) fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn query(pairs: &[(&str, &str)]) -> Params {
        Ok(Query(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    fn left(params: Params) -> Vec<(String, String)> {
        match params {
            Ok(Query(pairs)) => pairs,
            Err(_) => panic!("the query was readable"),
        }
    }

    #[test]
    fn format_and_bom_are_taken_out_of_the_query() {
        let (rest, format) = negotiate(
            query(&[("format", "csv"), ("stage", "proposed"), ("bom", "true")]),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(format, Format::Csv { bom: true });
        assert_eq!(left(rest), vec![("stage".into(), "proposed".into())]);
    }

    #[test]
    fn accept_text_csv_asks_for_csv_and_the_query_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;q=0.5, text/csv"),
        );
        let (_, format) = negotiate(query(&[]), &headers).unwrap();
        assert_eq!(format, Format::Csv { bom: false });
        let (_, format) = negotiate(query(&[("format", "json")]), &headers).unwrap();
        assert_eq!(format, Format::Json);
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(negotiate(query(&[]), &headers).unwrap().1, Format::Json);
    }

    #[test]
    fn a_wrong_format_or_a_bom_on_json_is_refused_naming_the_parameter() {
        for (pairs, field) in [
            (vec![("format", "xlsx")], "format"),
            (vec![("bom", "yes"), ("format", "csv")], "bom"),
            (vec![("bom", "true")], "bom"),
            (vec![("format", "csv"), ("format", "csv")], "format"),
        ] {
            let error = negotiate(query(&pairs), &HeaderMap::new()).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{pairs:?}");
        }
    }
}
