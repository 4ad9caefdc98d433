//! The write endpoints.
//!
//! `POST /api/v1/events` takes one draft event or an array of drafts of one chain (all or
//! nothing). A draft is an event in the wire format (docs/wire-format.md) without what the
//! store sets: `recorded_at`, `prev_hash` and `hash`; `event_id` and `schema` may be left out.
//! A draft that opens a chain (`pilot.proposed`, `stakeholder.registered`,
//! `jurisdiction.registered`) may leave its `pilot_id` (`stakeholder_id`, `jurisdiction_id`)
//! out and is given a new UUID v7; a retry with the same `event_id` gets the id stored the
//! first time ([`assign_chain_ids`]).
//! The writer decides, seals and appends ([`pilot_runtime::writer::Writer`]); the answer carries
//! the stored events with their `version` and stream `position`, and the `position` to pass as
//! `min_position` to read one's own write from any pilot process. Sending the same event ids
//! again returns what was stored the first time, with 200 instead of 201.
//!
//! `POST /api/v1/import` (admin) takes sealed events as JSON Lines (an export, a back-fill)
//! and stores them byte for byte, skipping those already stored ([`crate::demo`]); with
//! `Content-Type: text/csv` and `?type=TYPE`, drafts of one type, a row each
//! ([`crate::csv_import`]).

use crate::auth::Caller;
use crate::csv_import;
use crate::demo::{self, LoadError};
use crate::error::ApiError;
use crate::query::{params, Params};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pilot_events::{EventType, SubjectKind};
use pilot_runtime::writer::{AppendError, Draft, StoredEvent, MAX_EVENTS_PER_APPEND};
use pilot_store::{EventLog, LogError};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// What the store sets; a draft that brings them is refused rather than silently resealed.
const SEALED_FIELDS: [&str; 3] = ["recorded_at", "prev_hash", "hash"];
const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The answers of both append routes ([`append`], [`append_to_pilot`]): one list for the
/// OpenAPI document. Never built; each variant describes one status.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum AppendAnswers {
    /// Stored: the events with their `version` and stream `position`, and the `position` to pass as `min_position`.
    #[response(status = 201, example = json!(crate::openapi::examples::appended()))]
    Stored(Appended<'static>),
    /// These event ids were stored before: what was stored the first time.
    #[response(status = 200)]
    StoredBefore(Appended<'static>),
    /// `malformed_json`, or `invalid_parameter` (`expected_version`).
    #[response(status = 400)]
    Malformed(crate::error::Body<'static>),
    /// `not_found`: no such pilot.
    #[response(status = 404)]
    NotFound(crate::error::Body<'static>),
    /// `version_conflict` (with `current_version`: read again, retry), `partly_stored`, `event_id_reused`, `subject_erased` (personal text about an erased person).
    #[response(status = 409, example = json!({"error": {"code": "version_conflict", "message": "the chain is at version 7, not 6: read it again, then retry with expected_version=7", "current_version": 7}}))]
    Conflict(crate::error::Body<'static>),
    /// `body_too_large` or `event_too_large`.
    #[response(status = 413)]
    TooLarge(crate::error::Body<'static>),
    /// `invalid_event` (`field` names the path, `[2].data.stance`), `too_many_events`, `too_deep`, `invalid_sealed_text`, `erase_through_endpoint`, or the rule that refused it (`unknown_pilot`, `wrong_stage`, ...).
    #[response(status = 422, example = json!({"error": {"code": "invalid_event", "message": "data.stance: stance 3 is outside -2..2 (use -2, -1, 0, 1 or 2)", "field": "data.stance"}}))]
    Refused(crate::error::Body<'static>),
}

#[utoipa::path(post, path = "/events", tag = "events", summary = "Append events",
    params(("expected_version" = Option<u64>, Query, description = "Optimistic concurrency: the chain's version as last read; 409 `version_conflict` if it moved.")),
    request_body(description = "One draft, or an array of drafts of one chain (all or nothing, at most 1,000).",
        content((pilot_events::openapi::DraftSchema = "application/json", example = crate::openapi::examples::draft))),
    responses(AppendAnswers)
)]
#[tracing::instrument(name = "append_events", skip_all, fields(caller = %caller.name))]
pub async fn append(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let expected_version = expected_version(query)?;
    let body = body.map_err(|rejection| body_error(rejection, state.access.max_body_bytes))?;
    let result = store(&state, &caller, &body, expected_version, None).await;
    count(&state, &result);
    answer(result)
}

/// `POST /api/v1/pilots/{id}/events`: the same, for one pilot named in the path; drafts may
/// leave `pilot_id` out.
#[utoipa::path(post, path = "/pilots/{id}/events", tag = "events", summary = "Append events to a pilot",
    params(
        ("id" = Uuid, Path, description = "The pilot's `pilot_id`; drafts may leave `pilot_id` out."),
        ("expected_version" = Option<u64>, Query, description = "Optimistic concurrency: the chain's version as last read; 409 `version_conflict` if it moved."),
    ),
    request_body(description = "One draft, or an array of drafts of this pilot's chain (all or nothing).",
        content((pilot_events::openapi::DraftSchema = "application/json", example = crate::openapi::examples::draft))),
    responses(AppendAnswers)
)]
#[tracing::instrument(name = "append_pilot_events", skip_all, fields(caller = %caller.name))]
pub async fn append_to_pilot(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let pilot_id = crate::query::pilot_id(id)?;
    let expected_version = expected_version(query)?;
    let body = body.map_err(|rejection| body_error(rejection, state.access.max_body_bytes))?;
    let result = store(&state, &caller, &body, expected_version, Some(pilot_id)).await;
    count(&state, &result);
    answer(result)
}

/// The one query parameter of an append, through the same check as every endpoint's
/// (unknown parameters are named; `min_position` is accepted everywhere).
fn expected_version(query: Params) -> Result<Option<u64>, ApiError> {
    params(query, &["expected_version"])?
        .into_iter()
        .next()
        .map(|(name, value)| {
            value.trim().parse().map_err(|_| {
                ApiError::invalid(
                    name,
                    format!("expected_version must be a chain version (a whole number, as a read returned it); got {value:?}"),
                )
            })
        })
        .transpose()
}

fn count(state: &AppState, result: &Result<(StatusCode, Vec<StoredEvent>), ApiError>) {
    match result {
        Ok((_, events)) => state.metrics.appended(events.len() as u64),
        Err(error) if error.code == "version_conflict" => state.metrics.conflict(),
        Err(error) if error.status.is_client_error() => state.metrics.rejected(error.code),
        Err(_) => {}
    }
}

fn answer(result: Result<(StatusCode, Vec<StoredEvent>), ApiError>) -> Result<Response, ApiError> {
    let (status, events) = result?;
    let position = events.last().map_or(0, |e| e.position);
    let answer = Appended {
        events: events.iter().map(StoredOut::from).collect(),
        position,
    };
    // The bytes `Json(Value)` gave (keys sorted at every depth), rendered without building a
    // value tree per stored event; what the direct rendering leaves to a `Value` goes that way.
    let mut body = Vec::with_capacity(1024 * events.len());
    if pilot_events::canonical::write_canonical(&answer, &mut body).is_ok() {
        return Ok((
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response());
    }
    let events: Vec<Value> = events.iter().map(stored_json).collect();
    Ok((
        status,
        Json(json!({"position": position, "events": events})),
    )
        .into_response())
}

/// The answer to an append: the stored events and the position to read one's own write at.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Appended<'a> {
    #[schema(value_type = Vec<StoredEventSchema>)]
    events: Vec<StoredOut<'a>>,
    /// The last stored event's position: pass it as `min_position` to read this write.
    position: u64,
}

/// A stored event as the API shows it: the `Event` as stored, with its `version` in the
/// chain and its stream `position` ([`StoredOut`], [`stored_json`]).
#[derive(Debug)]
pub struct StoredEventSchema;

impl utoipa::PartialSchema for StoredEventSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
        let whole = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
        };
        AllOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name(
                pilot_events::openapi::EVENT,
            ))
            .item(
                ObjectBuilder::new()
                    .property(
                        "version",
                        whole().description(Some("Its place in the chain, from 1.")),
                    )
                    .property(
                        "position",
                        whole().description(Some("Its stream position.")),
                    )
                    .required("version")
                    .required("position"),
            )
            .into()
    }
}

impl utoipa::ToSchema for StoredEventSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "StoredEvent".into()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <pilot_events::openapi::EventSchema as utoipa::ToSchema>::schemas(schemas);
    }
}

/// What `POST /api/v1/import` answers: the lines of a JSON Lines import, or the rows of a
/// spreadsheet's.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ImportAnswer {
    Lines(Imported),
    Rows(crate::csv_import::Report),
}

/// The answer to an import.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// Lines appended now.
    appended: usize,
    /// Lines whose events were in the log already.
    skipped: usize,
    /// The projections' position after the import: pass it as `min_position`.
    position: u64,
}

/// A stored event as the API shows it ([`stored_json`]'s fields), for direct rendering.
#[derive(Debug, serde::Serialize)]
struct StoredOut<'a> {
    #[serde(flatten)]
    envelope: &'a pilot_events::Envelope,
    version: u64,
    position: u64,
}

impl<'a> From<&'a StoredEvent> for StoredOut<'a> {
    fn from(stored: &'a StoredEvent) -> Self {
        StoredOut {
            envelope: &stored.envelope,
            version: stored.version,
            position: stored.position,
        }
    }
}

async fn store(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    expected_version: Option<u64>,
    pilot: Option<Uuid>,
) -> Result<(StatusCode, Vec<StoredEvent>), ApiError> {
    let (mut items, in_array) = parse(body)?;
    if pilot.is_none() {
        assign_chain_ids(state, &mut items).await?;
    }
    let drafts = drafts(items, in_array, pilot)?;
    let at = |index: usize| {
        if in_array {
            format!("[{index}].")
        } else {
            String::new()
        }
    };
    let subject = drafts.first().map(|d| d.subject).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_event",
            "nothing to append: send at least one event",
        )
    })?;
    if let Some(index) = drafts.iter().position(|d| d.subject != subject) {
        return Err(ApiError::unprocessable(
            "mixed_chains",
            format!("event {index} belongs to another chain than event 0: one request appends to one pilot (or one stakeholder); send the others separately"),
        ).with_field(format!("[{index}]")));
    }
    erasures_elsewhere(&drafts, at)?;
    crate::offices::authorize(state, caller, subject, &drafts, at).await?;
    let replay = {
        let world = state.projection.read();
        drafts.iter().all(|d| {
            d.event_id
                .is_some_and(|id| world.position_of(&id).is_some())
        })
    };
    let stored = state
        .writer
        .append(drafts, expected_version)
        .await
        .map_err(|error| append_error(error, at))?;
    let status = if replay {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, stored))
}

/// Refuses `subject.erased` among drafts: an erasure also destroys the person's key, which
/// only `POST /api/v1/subjects/{id}/erase` does ([`crate::erasure`]); recorded here, the event
/// would say the data is erased while its key still opened it.
fn erasures_elsewhere(drafts: &[Draft], at: impl Fn(usize) -> String) -> Result<(), ApiError> {
    match drafts
        .iter()
        .position(|d| d.event.event_type() == EventType::SubjectErased)
    {
        Some(index) => Err(ApiError::unprocessable(
            "erase_through_endpoint",
            format!("{}a person's erasure destroys their key too, so it is not appended as an event: use POST /api/v1/subjects/{{id}}/erase (or `pilot erase`)", at(index)),
        )
        .with_field(format!("{}type", at(index)))),
        None => Ok(()),
    }
}

/// The body as a list of draft objects, and whether it was an array (errors then name the
/// item: `[2].data.stance`).
fn parse(body: &[u8]) -> Result<(Vec<Value>, bool), ApiError> {
    pilot_events::admit::check_depth(body)
        .map_err(|error| ApiError::unprocessable("too_deep", error.to_string()))?;
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        ApiError::malformed_json(format!(
            "the body is not JSON: {error}; send one event object or an array of them"
        ))
    })?;
    let (items, prefixed) = match value {
        Value::Array(items) => (items, true),
        object @ Value::Object(_) => (vec![object], false),
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_event",
                "the body must be one event object or an array of event objects",
            ))
        }
    };
    if items.len() > MAX_EVENTS_PER_APPEND {
        return Err(ApiError::unprocessable(
            "too_many_events",
            format!(
                "{} events in one request; at most {MAX_EVENTS_PER_APPEND} are stored all-or-nothing: split the request",
                items.len()
            ),
        ));
    }
    Ok((items, prefixed))
}

/// A draft that opens a chain (`pilot.proposed`, `stakeholder.registered`,
/// `jurisdiction.registered`) may leave the chain's id out, so clerks need not invent UUIDs:
/// it is given a new UUID v7. A retry (a draft whose `event_id` is stored already) is given
/// the id stored the first time, looked up before any new id is made: sending a proposal
/// again never opens a second pilot.
async fn assign_chain_ids(state: &AppState, items: &mut [Value]) -> Result<(), ApiError> {
    for item in items {
        let Value::Object(object) = item else {
            continue;
        };
        let Some(event_type) = object
            .get("type")
            .and_then(Value::as_str)
            .and_then(EventType::parse)
            .filter(|t| t.opens_chain())
        else {
            continue;
        };
        if CHAIN_ID_FIELDS
            .iter()
            .any(|kind| object.contains_key(kind.id_field()))
        {
            continue;
        }
        let field = event_type.subject_kind().id_field();
        let stored_at = object
            .get("event_id")
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| state.projection.read().position_of(&id));
        let stored = match stored_at {
            Some(position) => stored_field(state, position, field).await?,
            None => None,
        };
        // An id stored on an event without this field (another type) gets a new chain id,
        // and the writer refuses the reused `event_id` (409 `event_id_reused`).
        let id = stored.unwrap_or_else(|| json!(Uuid::now_v7()));
        object.insert(field.to_string(), id);
    }
    Ok(())
}

/// The kinds of chain whose id field a draft may carry.
const CHAIN_ID_FIELDS: [SubjectKind; 3] = [
    SubjectKind::Pilot,
    SubjectKind::Stakeholder,
    SubjectKind::Jurisdiction,
];

/// `field` of the event stored at `position`, if it has one.
async fn stored_field(
    state: &AppState,
    position: u64,
    field: &str,
) -> Result<Option<Value>, ApiError> {
    let stored = state.log.read_from(position, 1).await.map_err(|error| {
        ApiError::store_unavailable(format!("cannot read the event log: {error}"))
    })?;
    Ok(stored
        .iter()
        .find(|s| s.position == position)
        .and_then(|s| serde_json::from_slice::<Map<String, Value>>(&s.bytes).ok())
        .and_then(|mut event| event.remove(field)))
}

/// One CSV row's draft ([`crate::csv_import`]), as one request of its own: given a chain id
/// if it opens a chain, checked like any draft, authorized, then stored; in a dry run judged
/// by every decision of the writer and not stored. Answers the event as stored (as it would
/// be sent, in a dry run) and its position.
async fn store_row(
    state: &AppState,
    caller: &Caller,
    object: Value,
    dry_run: bool,
) -> Result<(Value, Option<u64>), ApiError> {
    let mut items = vec![object];
    assign_chain_ids(state, &mut items).await?;
    let sent = items.first().cloned().unwrap_or_default();
    let drafts = drafts(items, false, None)?;
    let subject = drafts.first().map(|d| d.subject).ok_or_else(|| {
        ApiError::unprocessable("invalid_event", "nothing to append: the row makes no event")
    })?;
    let whole = |_: usize| String::new();
    erasures_elsewhere(&drafts, whole)?;
    crate::offices::authorize(state, caller, subject, &drafts, whole).await?;
    if dry_run {
        state
            .writer
            .check(&drafts)
            .map_err(|error| append_error(error, whole))?;
        return Ok((sent, None));
    }
    let result = state
        .writer
        .append(drafts, None)
        .await
        .map(|stored| (StatusCode::CREATED, stored))
        .map_err(|error| append_error(error, whole));
    count(state, &result);
    let (_, stored) = result?;
    let event = stored.first().map(stored_json).unwrap_or_default();
    Ok((event, stored.last().map(|s| s.position)))
}

/// The draft objects as drafts, each checked as the wire format says, with errors that name
/// the field (`[2].data.stance`).
fn drafts(items: Vec<Value>, prefixed: bool, pilot: Option<Uuid>) -> Result<Vec<Draft>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let drafts = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let prefix = if prefixed {
                format!("[{index}].")
            } else {
                String::new()
            };
            draft(item, now, pilot).map_err(|(message, field)| {
                let error = ApiError::unprocessable("invalid_event", format!("{prefix}{message}"));
                match field {
                    Some(field) => error.with_field(format!("{prefix}{field}")),
                    None => error,
                }
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(drafts)
}

/// Checks a draft by completing it as a sealed event (placeholders where the store will
/// write) and decoding that: one decoder, so drafts and stored events obey the same rules.
fn draft(
    item: Value,
    now: OffsetDateTime,
    pilot: Option<Uuid>,
) -> Result<Draft, (String, Option<String>)> {
    let Value::Object(mut object) = item else {
        return Err(("an event must be a JSON object".into(), None));
    };
    if let Some(pilot) = pilot {
        in_pilot(&mut object, pilot)?;
    }
    if let Some(field) = SEALED_FIELDS.iter().find(|f| object.contains_key(**f)) {
        return Err((
            format!("`{field}` is set by the store, not by the writer: leave it out (sealed events are loaded with POST /api/v1/import)"),
            Some((*field).to_string()),
        ));
    }
    let now_text = now.format(&Rfc3339).unwrap_or_default();
    complete(&mut object, "event_id", || json!(Uuid::now_v7()));
    complete(&mut object, "schema", || {
        json!(pilot_events::CURRENT_SCHEMA)
    });
    object.insert("recorded_at".into(), json!(now_text));
    object.insert("prev_hash".into(), json!(ZERO_HASH));
    object.insert("hash".into(), json!(ZERO_HASH));
    let bytes = serde_json::to_vec(&object).map_err(|e| (e.to_string(), None))?;
    let envelope = pilot_events::decode(&bytes).map_err(|error| {
        let field = error.field_path().map(str::to_string);
        (error.to_string(), field)
    })?;
    Ok(Draft::from(envelope))
}

/// Puts a draft sent to `/pilots/{id}/events` into that pilot's chain.
fn in_pilot(object: &mut Map<String, Value>, pilot: Uuid) -> Result<(), (String, Option<String>)> {
    if object.contains_key("stakeholder_id") {
        return Err((
            "a stakeholder's registry event goes to POST /api/v1/events, not to a pilot".into(),
            Some("stakeholder_id".into()),
        ));
    }
    match object.get("pilot_id") {
        None => {
            object.insert("pilot_id".into(), json!(pilot));
            Ok(())
        }
        Some(Value::String(id)) if Uuid::parse_str(id).ok() == Some(pilot) => Ok(()),
        Some(other) => Err((
            format!("pilot_id {other} differs from the pilot in the path ({pilot}): leave it out or make them agree"),
            Some("pilot_id".into()),
        )),
    }
}

fn complete(object: &mut Map<String, Value>, key: &str, value: impl FnOnce() -> Value) {
    if !object.contains_key(key) {
        object.insert(key.to_string(), value());
    }
}

pub(crate) fn append_error(error: AppendError, at: impl Fn(usize) -> String) -> ApiError {
    match error {
        AppendError::Empty => ApiError::unprocessable(
            "invalid_event",
            "nothing to append: send at least one event",
        ),
        AppendError::TooMany { .. } => {
            ApiError::unprocessable("too_many_events", error.to_string())
        }
        AppendError::Refused {
            index,
            refusal: refusal @ pilot_projections::Refusal::AlreadyErased { .. },
        } => ApiError::conflict(refusal.code(), format!("{}{refusal}", at(index))),
        AppendError::Refused { index, refusal } => {
            let field = match &refusal {
                pilot_projections::Refusal::Invalid(invalid) => {
                    invalid.field_path().map(str::to_string)
                }
                _ => None,
            };
            let error = ApiError::unprocessable(refusal.code(), format!("{}{refusal}", at(index)));
            match field {
                Some(field) => error.with_field(format!("{}{field}", at(index))),
                None => error,
            }
        }
        AppendError::Conflict { expected, current } => {
            ApiError::version_conflict(expected, current)
        }
        AppendError::PartlyStored => ApiError::partly_stored(error.to_string()),
        AppendError::DuplicateEventId { second, .. } => {
            ApiError::unprocessable("duplicate_event_id", error.to_string())
                .with_field(format!("{}event_id", at(second)))
        }
        AppendError::EventIdReused { index, .. } => {
            ApiError::conflict("event_id_reused", error.to_string())
                .with_field(format!("{}event_id", at(index)))
        }
        AppendError::TooLarge { .. } => ApiError::event_too_large(error.to_string()),
        AppendError::InvalidSealedText { index, field, .. } => {
            ApiError::unprocessable("invalid_sealed_text", error.to_string())
                .with_field(format!("{}data.{field}", at(index)))
        }
        AppendError::SubjectErased { index, field, .. } => {
            ApiError::conflict("subject_erased", error.to_string())
                .with_field(format!("{}data.{field}", at(index)))
        }
        AppendError::NoKeyStore { .. } | AppendError::KeyStore(_) => {
            ApiError::store_unavailable(error.to_string())
        }
        AppendError::WrittenAtCentre { .. } => {
            ApiError::unprocessable("written_at_centre", error.to_string())
        }
        AppendError::Contended { .. } | AppendError::Lagging { .. } => {
            ApiError::store_unavailable(format!("{error}; try again"))
        }
        AppendError::Log(LogError::Unavailable(_)) => {
            ApiError::store_unavailable(error.to_string())
        }
        AppendError::Log(other) => ApiError::internal(other.to_string()),
    }
}

pub(crate) fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::body_too_large(limit)
    } else {
        ApiError::malformed_json(format!(
            "the body cannot be read: {}",
            rejection.body_text()
        ))
    }
}

/// A stored event as the API shows it: the stored fields plus its `version` and `position`.
fn stored_json(stored: &StoredEvent) -> Value {
    let mut value = stored.envelope.to_value(true);
    if let Value::Object(object) = &mut value {
        object.insert("version".into(), json!(stored.version));
        object.insert("position".into(), json!(stored.position));
    }
    value
}

/// `POST /api/v1/import`: sealed JSON Lines, or with `Content-Type: text/csv` and
/// `?type=TYPE&dry_run=` a spreadsheet of drafts of one type ([`crate::csv_import`]).
#[utoipa::path(post, path = "/import", tag = "events", summary = "Import sealed history, or a spreadsheet of drafts",
    params(
        ("type" = Option<String>, Query, description = "With a CSV body (required there): the event type of every row, e.g. `stakeholder.stance_assessed`."),
        ("dry_run" = Option<bool>, Query, description = "With a CSV body: `true` checks every row and stores nothing."),
    ),
    request_body(description = "Sealed events as JSON Lines (an export, a back-fill), stored byte for byte, those already stored skipped; or a CSV with a header naming the type's fields, a draft per row, pilots and stakeholders by id, title or name.",
        content(
            (String = "application/x-ndjson", example = crate::openapi::examples::export),
            (String = "text/csv", example = "stakeholder,stance,note\nBureau of Finance,1,agreed to co-design LCHI\n"),
        )),
    responses(
        (status = 200, description = "JSON Lines: how many lines were appended and skipped, and the position to read from. CSV: every row stored, stored before, or refused with its reason.",
            body = ImportAnswer,
            example = json!({"appended": 24, "skipped": 0, "position": 24})),
        (status = 409, description = "`event_id_reused` (`field`: the line).", body = crate::error::Body),
        (status = 413, description = "`body_too_large` or `event_too_large`.", body = crate::error::Body),
        (status = 422, description = "`invalid_event`, `broken_chain`, `invalid_columns` or the rule that refused a line (`field`: the line).", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "import_events", skip_all, fields(caller = %caller.name))]
pub async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    query: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportAnswer>, ApiError> {
    let body = body.map_err(|rejection| body_error(rejection, state.access.max_import_bytes))?;
    if is_csv(&headers) {
        let (event_type, dry_run) = csv_import::parse_params(params(query, &["type", "dry_run"])?)?;
        let revealer = crate::reveal::Revealer::for_registry(&state).await;
        let (mut report, pending) =
            csv_import::prepare(&state, &caller, event_type, dry_run, &body, &revealer)?;
        for row in pending {
            // Two rows of one file with the same cells are one fact: the later finds it stored.
            let stored_at = state.projection.read().position_of(&row.event_id);
            if let Some(position) = stored_at {
                report.already(row.row, row.event_id, position);
                continue;
            }
            let result = store_row(&state, &caller, row.draft.clone(), dry_run).await;
            report.record(row, result);
        }
        return Ok(Json(ImportAnswer::Rows(report.finish())));
    }
    params(query, &[]).map_err(|mut error| {
        if matches!(error.field.as_deref(), Some("type" | "dry_run")) {
            error.message = "`type` and `dry_run` go with a spreadsheet: send it with \
                             `Content-Type: text/csv` (sealed JSON Lines take no parameters)"
                .to_string();
        }
        error
    })?;
    match demo::load_history_with(
        &state.log,
        &state.projection,
        &body,
        state.subject_keys.as_ref(),
    )
    .await
    {
        Ok(loaded) => {
            state.metrics.appended(loaded.appended as u64);
            if loaded.appended > 0 {
                // Imported history is unsigned: a seal covers it.
                state.seals.request();
            }
            Ok(Json(ImportAnswer::Lines(Imported {
                appended: loaded.appended,
                skipped: loaded.skipped,
                position: state.projection.position(),
            })))
        }
        Err(error) => {
            let error = import_error(error);
            state.metrics.rejected(error.code);
            Err(error)
        }
    }
}

/// Whether the body is declared CSV (`text/csv`, any parameters).
pub(crate) fn is_csv(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/csv"))
}

fn import_error(error: LoadError) -> ApiError {
    use crate::personal_import::SealError;
    let message = error.to_string();
    match error {
        LoadError::Undecodable { line, .. } => {
            ApiError::unprocessable("invalid_event", message).with_field(format!("line {line}"))
        }
        LoadError::Broken(link) => {
            let line = match &link {
                pilot_events::BrokenLink::Unreadable { line, .. }
                | pilot_events::BrokenLink::HashMismatch { line, .. }
                | pilot_events::BrokenLink::PrevMismatch { line, .. } => *line,
            };
            ApiError::unprocessable("broken_chain", message).with_field(format!("line {line}"))
        }
        LoadError::Reused { line, .. } => {
            ApiError::conflict("event_id_reused", message).with_field(format!("line {line}"))
        }
        LoadError::TooLarge { line, .. } => {
            ApiError::event_too_large(message).with_field(format!("line {line}"))
        }
        LoadError::Rejected { line, refusal, .. } => {
            ApiError::unprocessable(refusal.code(), message).with_field(format!("line {line}"))
        }
        LoadError::Log {
            source: LogError::Unavailable(_),
            ..
        }
        | LoadError::Lagging { .. } => ApiError::store_unavailable(message),
        LoadError::Sealing { line, source, .. } => match source {
            SealError::Erased { .. } => {
                ApiError::conflict("subject_erased", message).with_field(format!("line {line}"))
            }
            SealError::Undecodable(_) => {
                ApiError::unprocessable("invalid_event", message).with_field(format!("line {line}"))
            }
            SealError::Keys(_) => ApiError::store_unavailable(message),
        },
        LoadError::Log { .. } | LoadError::Refused { .. } => ApiError::internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct rendering of an append's answer gives the bytes the `Value` route gave, for
    /// every event type of the wire format's golden files.
    #[test]
    fn the_answer_renders_as_the_value_route_did() {
        let golden =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/tests/golden");
        let mut events = Vec::new();
        let files = [golden.clone(), golden.join("schema-2")]
            .into_iter()
            .flat_map(|dir| std::fs::read_dir(dir).unwrap())
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"));
        for (index, path) in files.enumerate() {
            let bytes = std::fs::read(path).unwrap();
            let envelope = pilot_events::decode(&bytes).unwrap();
            events.push(StoredEvent {
                envelope,
                version: index as u64 + 1,
                position: 100 + index as u64,
            });
        }
        assert!(events.len() > 20);
        let answer = Appended {
            events: events.iter().map(StoredOut::from).collect(),
            position: 7,
        };
        let mut direct = Vec::new();
        pilot_events::canonical::write_canonical(&answer, &mut direct).unwrap();
        let values: Vec<Value> = events.iter().map(stored_json).collect();
        let by_value = serde_json::to_vec(&json!({"position": 7, "events": values})).unwrap();
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(by_value).unwrap()
        );
    }
}
