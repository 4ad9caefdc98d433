//! Errors from decoding and validating events: each names the field, what was wrong and what
//! is allowed, so a clerk can fix the input without reading code.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    /// The bytes are not a JSON object at all.
    #[error("malformed JSON: {message}")]
    Malformed { message: String },

    #[error("unknown event type `{found}`; allowed types: {allowed}", allowed = crate::EventType::allowed())]
    UnknownType { found: String },

    #[error("schema {found} is not supported: this build reads schemas up to {newest}{hint}", hint = if *found == 0 { " (schemas start at 1)" } else { "; upgrade pilot-tracker to read newer events" })]
    UnsupportedSchema { found: u32, newest: u32 },

    /// A field is missing, unknown, of the wrong type, or out of its allowed range.
    #[error("field `{field}`: {message}")]
    Field { field: String, message: String },
}

impl EventError {
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        EventError::Field {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The offending field's path, when one field is to blame.
    pub fn field_path(&self) -> Option<&str> {
        match self {
            EventError::Field { field, .. } => Some(field),
            EventError::UnknownType { .. } => Some("type"),
            EventError::UnsupportedSchema { .. } => Some("schema"),
            EventError::Malformed { .. } => None,
        }
    }

    /// Turns a serde error into a field error, prefixing the path (e.g. `data.`) when given.
    pub(crate) fn from_serde(
        prefix: &str,
        error: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_eof()
            || (inner.is_syntax() && prefix.is_empty() && matches!(path.as_str(), "." | "?"))
        {
            return EventError::Malformed {
                message: inner.to_string(),
            };
        }
        let message = strip_position(&inner.to_string());
        let field = match (prefix, path.as_str()) {
            ("", ".") => missing_or_unknown_field(&message).unwrap_or_else(|| "envelope".into()),
            ("", path) => path.to_string(),
            (prefix, ".") => missing_or_unknown_field(&message)
                .map(|f| format!("{prefix}.{f}"))
                .unwrap_or_else(|| prefix.to_string()),
            (prefix, path) => format!("{prefix}.{path}"),
        };
        EventError::Field { field, message }
    }
}

/// serde reports a missing or unknown field at its parent's path; the name is in the message.
fn missing_or_unknown_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(str::to_string)
}

/// serde_json appends " at line 1 column 57", which means nothing to someone posting an event.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}
