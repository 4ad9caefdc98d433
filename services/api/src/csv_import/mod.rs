//! `POST /api/v1/import?type=TYPE&dry_run=` with `Content-Type: text/csv`: a spreadsheet of
//! events of one type, a row each, stored through the same writer as `POST /api/v1/events`.
//!
//! - The header names the columns ([`columns`]): `occurred_at`, `office` and `user` (both
//!   default to the caller's token), the chain (`pilot` by id or title, `stakeholder` by id or
//!   name) and the type's data fields. Data fields that name a stakeholder or a pilot take a
//!   name or title as well as an id ([`directory`]); lists are separated by `;`, parameters
//!   are `name = value; name = value`.
//! - Rows are numbered as a spreadsheet numbers them: the header is row 1.
//! - Each row stands alone, one append of its own: a refused row is reported with its number
//!   and reason and the others are stored. `dry_run=true` runs every decision the writer
//!   would, each row against the log as it is, and stores nothing (a row that needs an
//!   earlier row of the same file, a design after its proposal, is refused by a dry run).
//! - This module reads the file; `writes::import` stores the rows it hands back, so the two
//!   depend one way.
//! - **Idempotent per row.** A row's `event_id` is a UUID (version 8) made from a SHA-256 of
//!   the type and the row's cells keyed by column (trimmed, in column-name order), not from the
//!   file and row number: a file re-sorted, re-saved by a spreadsheet, or grown by new rows
//!   stores only the rows not stored before, and says which were. The price: two rows with the
//!   same cells are the same fact, stored once.

pub mod columns;
mod directory;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use columns::{Columns, Target};
use directory::Directory;
use pilot_events::fields::{number_from_text, parameters_from_text, Field, Kind};
use pilot_events::EventType;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The most rows one request may carry; split a larger file.
pub const MAX_ROWS: usize = 10_000;
/// What separates the items of a list (and of parameters) in one cell: the export's own.
pub use crate::spreadsheet::LIST_SEPARATOR;
/// What a row's digest starts with, so ids made here never collide with another scheme's.
const DIGEST_DOMAIN: &[u8] = b"pilot-tracker csv import v1\n";

/// What an import did, row by row.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub dry_run: bool,
    #[serde(rename = "type")]
    pub event_type: String,
    /// Data rows read (the header not counted).
    pub rows: usize,
    /// Stored now (a real run) or that would be (a dry run).
    pub stored: Vec<Done>,
    /// Stored by an earlier import of the same rows: nothing new.
    pub already_stored: Vec<Done>,
    pub refused: Vec<Refused>,
}

/// A row stored, or found stored before.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Done {
    pub row: usize,
    pub event_id: Uuid,
    /// The event as stored (a real run) or as it would be sent to the writer (a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub event: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
}

/// A row refused, with why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Refused {
    pub row: usize,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The request's parameters: `type` (required) and `dry_run`.
pub fn parse_params(pairs: Vec<(&'static str, String)>) -> Result<(EventType, bool), ApiError> {
    let mut event_type = None;
    let mut dry_run = false;
    for (name, value) in pairs {
        match name {
            "type" => {
                event_type = Some(EventType::parse(value.trim()).ok_or_else(|| {
                    ApiError::invalid(
                        "type",
                        format!(
                            "type must be an event type, one of {}; got {value:?}",
                            EventType::allowed()
                        ),
                    )
                })?)
            }
            _ => dry_run = crate::query::parse_bool("dry_run", &value)?,
        }
    }
    let event_type = event_type.ok_or_else(|| {
        ApiError::invalid(
            "type",
            "a CSV import names the type of its rows: add ?type=TYPE (pilot.proposed, stakeholder.stance_assessed, …)",
        )
    })?;
    Ok((event_type, dry_run))
}

/// A row ready to be stored: its number, its id and its draft.
#[derive(Debug)]
pub struct Pending {
    pub row: usize,
    pub event_id: Uuid,
    pub draft: Value,
}

impl Report {
    /// A row stored by an earlier import.
    pub fn already(&mut self, row: usize, event_id: Uuid, position: u64) {
        self.already_stored.push(Done {
            row,
            event_id,
            event: None,
            position: Some(position),
        });
    }

    /// What storing (or checking) a pending row came to.
    pub fn record(&mut self, pending: Pending, result: Result<(Value, Option<u64>), ApiError>) {
        match result {
            Ok((event, position)) => self.stored.push(Done {
                row: pending.row,
                event_id: pending.event_id,
                event: Some(event),
                position,
            }),
            Err(error) => self.refused.push(Refused {
                row: pending.row,
                reason: error.message,
                field: error.field,
            }),
        }
    }

    /// Each list in row order.
    pub fn finish(mut self) -> Report {
        self.stored.sort_by_key(|d| d.row);
        self.already_stored.sort_by_key(|d| d.row);
        self.refused.sort_by_key(|r| r.row);
        self
    }
}

/// Reads `body` (CSV with a header) as drafts of `event_type`: the rows to store, and a
/// report that already holds the rows stored before and those refused as they were read.
/// The caller stores the pending rows (`writes::import`), each as its own request.
#[tracing::instrument(name = "read_csv_import", skip_all, fields(event_type = %event_type, dry_run))]
pub fn prepare(
    state: &AppState,
    caller: &Caller,
    event_type: EventType,
    dry_run: bool,
    body: &[u8],
    revealer: &crate::reveal::Revealer,
) -> Result<(Report, Vec<Pending>), ApiError> {
    let body = body.strip_prefix(crate::spreadsheet::BOM).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let headers = reader.headers().map_err(|error| {
        ApiError::unprocessable(
            "invalid_csv",
            format!("the first row (the header) cannot be read: {error}"),
        )
    })?;
    let headers: Vec<String> = headers.iter().map(str::to_string).collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let columns = Columns::map(event_type, &header_refs, caller.office.is_some())
        .map_err(|error| ApiError::unprocessable("invalid_columns", error.to_string()))?;
    let stored = Directory::of(&state.projection.read());
    let directory = stored.revealed(revealer);
    let mut report = Report {
        dry_run,
        event_type: event_type.as_str().to_string(),
        ..Report::default()
    };
    let mut pending = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        report.rows += 1;
        if report.rows > MAX_ROWS {
            return Err(ApiError::unprocessable(
                "too_many_rows",
                format!("more than {MAX_ROWS} rows in one request: split the file"),
            ));
        }
        let refuse = |reason: String, field: Option<String>| Refused { row, reason, field };
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                report
                    .refused
                    .push(refuse(format!("the row cannot be read: {error}"), None));
                continue;
            }
        };
        if record.len() != headers.len() {
            report.refused.push(refuse(
                format!(
                    "the row has {} cells and the header {}: quote cells that hold a comma",
                    record.len(),
                    headers.len()
                ),
                None,
            ));
            continue;
        }
        let cells: Vec<&str> = record.iter().collect();
        let event_id = row_id(&columns, &cells);
        if let Some(position) = state.projection.read().position_of(&event_id) {
            report.already(row, event_id, position);
            continue;
        }
        match draft_object(&columns, &cells, &directory, caller, event_id) {
            Ok(draft) => pending.push(Pending {
                row,
                event_id,
                draft,
            }),
            Err((reason, field)) => report.refused.push(refuse(reason, field)),
        }
    }
    Ok((report, pending))
}

/// The row's stable `event_id` (see the module documentation).
pub fn row_id(columns: &Columns, cells: &[&str]) -> Uuid {
    let mut keyed: Vec<(&str, &str)> = columns
        .targets
        .iter()
        .zip(cells)
        .map(|(target, cell)| (target.name(columns.event_type), cell.trim()))
        .collect();
    keyed.sort_unstable();
    let mut digest = Sha256::new();
    digest.update(DIGEST_DOMAIN);
    digest.update(columns.event_type.as_str().as_bytes());
    // Each cell with its length first, so no cell's text can pass for a column boundary.
    for (name, cell) in keyed {
        digest.update(format!("\n{name}={}:", cell.len()).as_bytes());
        digest.update(cell.as_bytes());
    }
    let hash = digest.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The draft a row makes, in the wire format's shape; refused with a reason and the column.
fn draft_object(
    columns: &Columns,
    cells: &[&str],
    directory: &Directory,
    caller: &Caller,
    event_id: Uuid,
) -> Result<Value, (String, Option<String>)> {
    let event_type = columns.event_type;
    let mut object = Map::new();
    let mut data = Map::new();
    let mut office = caller.office.clone();
    let mut user = caller.name.clone();
    object.insert("event_id".into(), json!(event_id));
    object.insert("type".into(), json!(event_type.as_str()));
    for (target, cell) in columns.targets.iter().zip(cells) {
        let text = cell.trim();
        match target {
            Target::OccurredAt => {
                object.insert("occurred_at".into(), json!(text));
            }
            Target::Office if !text.is_empty() => office = Some(text.to_string()),
            Target::User if !text.is_empty() => user = text.to_string(),
            Target::Office | Target::User => {}
            Target::Chain => {
                let field = event_type.subject_kind().id_field();
                let id = directory
                    .chain(event_type.subject_kind(), text)
                    .map_err(|reason| (reason, Some(field.to_string())))?;
                object.insert(field.into(), json!(id));
            }
            Target::Data(field) => {
                if let Some(value) = cell_value(field, cell, directory)
                    .map_err(|reason| (reason, Some(format!("data.{}", field.name))))?
                {
                    data.insert(field.name.to_string(), value);
                }
            }
        }
    }
    let office = office.ok_or_else(|| {
        (
            "no office: fill the office column (your token names none)".to_string(),
            Some("actor.office".to_string()),
        )
    })?;
    object.insert("actor".into(), json!({"office": office, "user": user}));
    object.insert("data".into(), Value::Object(data));
    Ok(Value::Object(object))
}

/// A cell as the JSON `field` takes; `None` leaves an empty optional field out (an empty
/// required one too, so the decoder names it). Nothing is judged here that the decoder and
/// the rules judge: a number that is not one goes as text, for them to refuse.
fn cell_value(field: &Field, cell: &str, directory: &Directory) -> Result<Option<Value>, String> {
    let text = cell.trim();
    if text.is_empty() && !matches!(field.kind, Kind::TextList | Kind::Stakeholders) {
        return Ok(None);
    }
    let items = || {
        text.split([LIST_SEPARATOR, '\n'])
            .map(str::trim)
            .filter(|item| !item.is_empty())
    };
    Ok(Some(match field.kind {
        Kind::LongText => json!(cell.replace("\r\n", "\n")),
        Kind::TextList => json!(items().collect::<Vec<_>>()),
        Kind::Parameters => Value::Object(
            parameters_from_text(text.split([LIST_SEPARATOR, '\n'])).ok_or_else(|| {
                format!(
                    "parameters are `name = value` items separated by `{LIST_SEPARATOR}`; got {text:?}"
                )
            })?,
        ),
        Kind::Integer { .. } | Kind::Number => number_from_text(text),
        Kind::Stakeholder => json!(directory.stakeholder(text)?),
        Kind::Stakeholders => json!(items()
            .map(|item| directory.stakeholder(item))
            .collect::<Result<Vec<_>, _>>()?),
        Kind::Pilot => json!(directory.pilot(text)?),
        // `true` or `false` as JSON; anything else as text, for the decoder to refuse.
        Kind::Flag => match text {
            "true" => json!(true),
            "false" => json!(false),
            other => json!(other),
        },
        Kind::Text
        | Kind::Date
        | Kind::Approval
        | Kind::ChainEvent
        | Kind::Word { .. }
        | Kind::Written => json!(text),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(event_type: EventType, headers: &[&str]) -> Columns {
        Columns::map(event_type, headers, true).unwrap()
    }

    #[test]
    fn a_rows_id_depends_on_its_cells_not_on_the_column_order_or_spaces() {
        let a = columns(
            EventType::StanceAssessed,
            &["pilot", "stakeholder_id", "stance", "occurred_at"],
        );
        let b = columns(
            EventType::StanceAssessed,
            &["occurred_at", "stance", "stakeholder_id", "pilot"],
        );
        let one = row_id(&a, &["P", "S", "1", "2001-01-01T00:00:00Z"]);
        assert_eq!(one, row_id(&b, &["2001-01-01T00:00:00Z", " 1 ", "S", "P"]));
        assert_ne!(one, row_id(&a, &["P", "S", "2", "2001-01-01T00:00:00Z"]));
        assert_eq!(one.get_version_num(), 8);
    }

    #[test]
    fn cells_become_the_json_of_their_kind() {
        let directory = Directory::default();
        let field = |name: &str| {
            *EventType::ProgramDesigned
                .fields()
                .iter()
                .find(|f| f.name == name)
                .unwrap()
        };
        assert_eq!(
            cell_value(
                &field("target_groups"),
                "migrant workers; retirees;",
                &directory
            ),
            Ok(Some(json!(["migrant workers", "retirees"])))
        );
        assert_eq!(
            cell_value(
                &field("parameters"),
                "rate = 0.02; open = true; name = A",
                &directory
            ),
            Ok(Some(json!({"rate": 0.02, "open": true, "name": "A"})))
        );
        assert!(cell_value(&field("parameters"), "no equals", &directory).is_err());
        assert_eq!(
            cell_value(&field("summary"), " a\r\nb ", &directory),
            Ok(Some(json!(" a\nb ")))
        );
    }
}
