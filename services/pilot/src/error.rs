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
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// 400 `invalid_parameter`: one input value is wrong; `field` names it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            message: message.into(),
            field: Some(field.to_string()),
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
        }
    }

    /// 400 `invalid_query`: the query string itself cannot be read.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_query",
            message: message.into(),
            field: None,
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            field: None,
        }
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "this method is not allowed on this path".to_string(),
            field: None,
        }
    }

    /// 503 `not_ready`: the projections have not caught up with the log yet.
    pub fn not_ready(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "not_ready",
            message: message.into(),
            field: None,
        }
    }

    /// 503 `store_unavailable`: the event store did not answer.
    pub fn store_unavailable(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "store_unavailable",
            message: message.into(),
            field: None,
        }
    }

    /// 500 `internal`: a fault of pilot's own, logged.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
            field: None,
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
