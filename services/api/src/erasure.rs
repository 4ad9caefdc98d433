//! Erasing a person's personal data (docs/personal-data.md): `POST /api/v1/subjects/{id}/erase`
//! (admin) and [`erase_subject`], which the retention loop calls too.
//!
//! An erasure is recorded first, as a `subject.erased` event in the person's chain: the record
//! says when and why, and every view shows it where the erased fields were. Then the person's
//! key is destroyed (only the eraser credential may) and this process drops its cached copy;
//! every other process drops its own as its fold applies the event. The sealed fields stay in
//! the log, still covered by their hashes and signatures, and can never be opened again.
//!
//! The order matters: the event first, so a key is never destroyed without the record saying
//! why; a key whose destruction failed is destroyed at the next start
//! ([`destroy_erased_keys`]), since the log says the person is erased.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::query::{params, Params};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use pilot_events::data::SubjectErased;
use pilot_events::{Actor, Event, Provenance, Subject};
use pilot_runtime::writer::Draft;
use pilot_store::subject_keys::KeyStoreError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The body of an erasure request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    /// Why (the request under the law, a retention rule): shown wherever the erased fields
    /// were. It must not name the person: it is not sealed.
    #[serde(default)]
    reason: String,
    /// The office the erasure is recorded for; the caller's own office by default.
    #[serde(default)]
    office: Option<String>,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ErasureDone {
    /// The erased person (a stakeholder).
    pub subject: Uuid,
    /// The `subject.erased` event recorded.
    pub event_id: Uuid,
    /// Its stream position: pass it as `min_position` to read the erasure everywhere.
    pub position: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub erased_at: OffsetDateTime,
    pub reason: String,
    /// Whether a key was destroyed now (false: the person never had a personal field sealed).
    pub key_destroyed: bool,
}

/// Erases `subject`'s personal data: records `subject.erased` through the writer (so the
/// world's rules refuse a non-person, 422 `not_a_person`, and a second erasure, 409
/// `already_erased`), destroys the person's key, and forgets it in this process.
#[tracing::instrument(name = "erase_subject", skip_all, fields(subject = %subject))]
pub async fn erase_subject(
    state: &AppState,
    subject: Uuid,
    reason: String,
    actor: Actor,
) -> Result<ErasureDone, ApiError> {
    let Some(eraser) = state.eraser.clone() else {
        return Err(ApiError::store_unavailable(
            "this service holds no eraser credential, so it cannot destroy keys: configure the eraser login (docs/personal-data.md) and try again; nothing was recorded",
        ));
    };
    if reason.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "no_erasure_reason",
            "give the erasure a reason (`reason`): it is shown wherever the erased fields were; it must not name the person",
        )
        .with_field("reason"));
    }
    if state.projection.read().registry().get(&subject).is_none() {
        return Err(ApiError::not_found(format!(
            "no stakeholder {subject} is registered: erasure applies to a stakeholder registered as a person"
        )));
    }
    let occurred_at = state.clock.now();
    let draft = Draft {
        event_id: None,
        subject: Subject::Stakeholder(subject),
        occurred_at,
        actor,
        correlation_id: None,
        causation_id: None,
        provenance: Provenance::default(),
        event: Event::SubjectErased(SubjectErased {
            reason: reason.clone(),
        }),
    };
    let stored = state
        .writer
        .append(vec![draft], None)
        .await
        .map_err(|error| crate::writes::append_error(error, |_| String::new()))?;
    let Some(stored) = stored.into_iter().next() else {
        return Err(ApiError::internal(
            "the erasure was stored but not returned",
        ));
    };
    state.metrics.appended(1);
    let key_destroyed = eraser.destroy(subject).await.map_err(|error| {
        tracing::error!(message = "The erasure is recorded but the key was not destroyed; it will be at the next start.", %error);
        key_error(subject, error)
    })?;
    if let Some(keys) = &state.subject_keys {
        keys.forget(subject);
    }
    tracing::info!(
        message = "Erased a person's personal data.",
        event_id = %stored.envelope.event_id,
        key_destroyed
    );
    Ok(ErasureDone {
        subject,
        event_id: stored.envelope.event_id,
        position: stored.position,
        erased_at: stored.envelope.occurred_at,
        reason,
        key_destroyed,
    })
}

fn key_error(subject: Uuid, error: KeyStoreError) -> ApiError {
    ApiError::store_unavailable(format!(
        "the erasure of {subject} is recorded, but its key was not destroyed ({error}); the service destroys it at its next start, or erase again is refused (409): restart the service once the key store answers"
    ))
}

/// Destroys the keys of every person the log says is erased (a destruction that failed after
/// its event was recorded, or an erasure recorded by a process without an eraser). Run at
/// start, once the projection has caught up; answers how many keys were still there.
pub async fn destroy_erased_keys(state: &AppState) -> Result<usize, KeyStoreError> {
    let Some(eraser) = &state.eraser else {
        return Ok(0);
    };
    let erased: Vec<Uuid> = {
        let world = state.projection.read();
        world
            .registry()
            .all()
            .into_iter()
            .filter(|s| s.erased.is_some())
            .map(|s| s.stakeholder_id)
            .collect()
    };
    // One eraser connection for them all.
    let destroyed = eraser.destroy_all(erased.iter().copied()).await?;
    if let Some(keys) = &state.subject_keys {
        erased.iter().for_each(|subject| keys.forget(*subject));
    }
    if destroyed > 0 {
        tracing::warn!(
            message = "Destroyed keys of persons erased before; their erasure had left them.",
            destroyed
        );
    }
    Ok(destroyed)
}

#[utoipa::path(post, path = "/subjects/{id}/erase", operation_id = "erase_subject", tag = "personal data", summary = "Erase a person's personal data",
    params(("id" = Uuid, Path, description = "The person's `stakeholder_id`.")),
    request_body(content = EraseBody, description = "Why; it is shown wherever the erased fields were, so it must not name the person.",
        example = json!({"reason": "Request under PIPL art. 47, ticket 2031"})),
    responses(
        (status = 201, description = "Erased: the `subject.erased` event and whether a key was destroyed.", body = ErasureDone,
            example = json!({"subject": "0194a000-0002-7000-8000-000000000001", "event_id": "0194b000-0000-7000-8000-0000000000f1",
                "position": 112, "erased_at": "2026-01-12T09:00:00Z", "reason": "Request under PIPL art. 47, ticket 2031", "key_destroyed": true})),
        (status = 409, description = "`already_erased`: an erasure is final; this person was erased before.", body = crate::error::Body,
            example = json!({"error": {"code": "already_erased", "message": "stakeholder 0194a000-0002-7000-8000-000000000001's personal data was already erased at 2026-01-12T09:00:00Z: an erasure is final, there is nothing left to erase"}})),
        (status = 404, description = "`not_found`: no such stakeholder.", body = crate::error::Body),
        (status = 422, description = "`not_a_person` (only a stakeholder registered with `person: true` has personal data of its own), `no_erasure_reason`.", body = crate::error::Body),
        (status = 503, description = "`store_unavailable`: no eraser credential, or the key store did not answer.", body = crate::error::Body),
    )
)]
#[tracing::instrument(name = "erase", skip_all, fields(caller = %caller.name))]
pub async fn erase(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    query: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ErasureDone>), ApiError> {
    params(query, &[])?;
    let Path(raw) = id.map_err(|rejection| ApiError::invalid("id", rejection.body_text()))?;
    let subject = Uuid::parse_str(&raw).map_err(|_| {
        ApiError::invalid(
            "id",
            format!("id must be a stakeholder_id (a UUID); got {raw:?}"),
        )
    })?;
    let bytes = body
        .map_err(|rejection| crate::writes::body_error(rejection, state.access.max_body_bytes))?;
    // No body at all is an erasure without a reason: the refusal below says what to send.
    let body: EraseBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        EraseBody::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|error| {
            ApiError::malformed_json(format!(
                "the body must be {{\"reason\": \"...\"}}, optionally with \"office\": {error}"
            ))
        })?
    };
    let actor = Actor {
        office: body
            .office
            .or_else(|| caller.office.clone())
            .unwrap_or_else(|| "admin".to_string()),
        user: caller.name.clone(),
    };
    let done = erase_subject(&state, subject, body.reason, actor).await?;
    Ok((StatusCode::CREATED, Json(done)))
}
