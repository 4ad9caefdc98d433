//! The one error shape of the HTTP API:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}` (`field` only when one input
//! is to blame). Codes are stable; messages are for people.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// With 409 `version_conflict`: the chain's version now, to read again from.
    pub current_version: Option<u64>,
}

/// Every error's body: `{"error": {"code", "message", "field"?, "current_version"?}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct Body<'a> {
    error: Detail<'a>,
}

/// What went wrong: a stable `code` for programs, a `message` for people that says how to
/// fix it, and the input to blame when there is one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub struct Detail<'a> {
    /// Stable: `invalid_parameter`, `unknown_parameter`, `invalid_query`, `malformed_json`,
    /// `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, `version_conflict`,
    /// `partly_stored`, `body_too_large`, `event_too_large`, `not_caught_up`, `not_ready`,
    /// `store_unavailable`, `internal`, and with 409 or 422 the rule that refused the request
    /// (`invalid_event`, `unknown_pilot`, `wrong_stage`, `alert_resolved`, ...).
    #[schema(example = "not_found")]
    code: &'a str,
    message: &'a str,
    /// The input to blame: a query parameter, a path (`[2].data.stance`) or a line.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// With 409 `version_conflict`: the chain's version now, to read again from.
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<u64>,
}

impl ApiError {
    /// 400 `invalid_parameter`: one input value is wrong; `field` names it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            message: message.into(),
            field: Some(field.to_string()),
            current_version: None,
        }
    }

    /// 400 `unknown_parameter`: a query parameter this endpoint does not take.
    pub fn unknown_parameter(field: &str, allowed: &[&str]) -> Self {
        let message = if allowed.is_empty() {
            format!("unknown query parameter {field:?}: this endpoint takes none")
        } else {
            format!(
                "unknown query parameter {field:?}: this endpoint takes {}",
                allowed.join(", ")
            )
        };
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "unknown_parameter",
            message,
            field: Some(field.to_string()),
            current_version: None,
        }
    }

    /// 400 `invalid_query`: the query string itself cannot be read.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_query",
            message: message.into(),
            field: None,
            current_version: None,
        }
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            current_version: None,
        }
    }

    /// Names the input to blame.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 `malformed_json`: the body is not JSON (or not JSON Lines) at all.
    pub fn malformed_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    /// 401 `unauthorized`: no token, or one nobody configured.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: the caller's role or office may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 409 `version_conflict`: `expected_version` is not the chain's version.
    pub fn version_conflict(expected: u64, current: u64) -> Self {
        let mut error = Self::new(
            StatusCode::CONFLICT,
            "version_conflict",
            format!("the chain is at version {current}, not {expected}: read it again, then retry with expected_version={current}"),
        );
        error.current_version = Some(current);
        error
    }

    /// 409 `partly_stored`: some of the request's event ids are stored, some not.
    pub fn partly_stored(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "partly_stored", message)
    }

    /// 413 `body_too_large`.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body is larger than {limit} bytes: split it into smaller requests"
            ),
        )
    }

    /// 413 `event_too_large`: one event over what the event store takes in a message.
    pub fn event_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "event_too_large", message)
    }

    /// 422 with a domain code (`invalid_event`, `unknown_pilot`, `wrong_stage`, ...): the
    /// input is well-formed JSON but the rules refuse it.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 503 `not_caught_up`: a read asked for a position the projections have not reached.
    pub fn not_caught_up(wanted: u64, reached: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_caught_up",
            format!(
                "the projections are at position {reached}, not yet at {wanted}: try again shortly"
            ),
        )
    }

    /// 409 with a code saying what conflicts (`alert_resolved`, ...): the request is fine but
    /// the thing it acts on is not in a state to take it.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            field: None,
            current_version: None,
        }
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "this method is not allowed on this path".to_string(),
            field: None,
            current_version: None,
        }
    }

    /// 503 `not_ready`: the projections have not caught up with the log yet.
    pub fn not_ready(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "not_ready",
            message: message.into(),
            field: None,
            current_version: None,
        }
    }

    /// 503 `store_unavailable`: the event store did not answer.
    pub fn store_unavailable(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "store_unavailable",
            message: message.into(),
            field: None,
            current_version: None,
        }
    }

    /// 500 `internal`: a fault of pilot's own, logged.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
            field: None,
            current_version: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(message = "Request failed.", code = self.code, reason = %self.message);
        }
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                current_version: self.current_version,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn names_the_field_when_there_is_one() {
        let (status, json) = body(ApiError::invalid("as_of", "bad date")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "invalid_parameter", "message": "bad date", "field": "as_of"}})
        );
    }

    /// The document lists every fixed code (the `Error` schema's `code`), so a new one
    /// cannot be left out of it.
    #[test]
    fn the_document_names_every_fixed_code() {
        let schema = serde_json::to_value(<Detail as utoipa::PartialSchema>::schema()).unwrap();
        let described = schema["properties"]["code"]["description"]
            .as_str()
            .unwrap()
            .to_string();
        for error in [
            ApiError::invalid("f", ""),
            ApiError::unknown_parameter("f", &[]),
            ApiError::invalid_query(""),
            ApiError::malformed_json(""),
            ApiError::unauthorized(""),
            ApiError::forbidden(""),
            ApiError::version_conflict(1, 2),
            ApiError::partly_stored(""),
            ApiError::body_too_large(1),
            ApiError::event_too_large(""),
            ApiError::not_caught_up(2, 1),
            ApiError::not_found(""),
            ApiError::method_not_allowed(),
            ApiError::not_ready(""),
            ApiError::store_unavailable(""),
            ApiError::internal(""),
        ] {
            assert!(
                described.contains(&format!("`{}`", error.code)),
                "{} is not in the document: {described}",
                error.code
            );
        }
    }

    #[tokio::test]
    async fn leaves_the_field_out_otherwise() {
        let (status, json) = body(ApiError::not_found("no such pilot")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "no such pilot"}})
        );
    }
}
