//! The API's errors in the command line's words: where the server's message tells an HTTP
//! client what to send (`Authorization: Bearer <token>`, `expected_version=N`), a command-line
//! user needs the flag or environment variable to change instead.
//!
//! Only the message changes: the stable code (`services/api/src/error.rs`), the status and
//! with them the exit code stay as the server said.

use super::Failure;

/// Where the token comes from, as a user sets it.
const TOKEN_SOURCE: &str = "--token TOKEN or PILOT_TOKEN";

/// `failure` said for a command-line user; `sent_token` tells whether a token went with the
/// request.
pub fn for_cli(failure: Failure, sent_token: bool) -> Failure {
    let Failure::Server {
        status,
        code,
        message,
        field,
        detail,
    } = failure
    else {
        return failure;
    };
    let message = match code.as_str() {
        "unauthorized" if !sent_token => format!(
            "this command needs a token: pass {TOKEN_SOURCE} (an administrator makes one with \
             `pilot token new`)"
        ),
        "unauthorized" if message.contains("Authorization") => format!(
            "the token given with {TOKEN_SOURCE} cannot be read as a token: copy it again \
             (one word, as `pilot token new` printed it)"
        ),
        // The server's own words ("this token is not known", "expired at ..."): say which
        // setting holds the token it means.
        "unauthorized" | "forbidden" if sent_token => {
            format!("{message} (the token given with {TOKEN_SOURCE})")
        }
        "version_conflict" => match current_version(detail.as_deref()) {
            Some(current) => format!(
                "the chain is at version {current}, not the one given: read it again, then \
                 retry with --expected-version {current}"
            ),
            None => message,
        },
        _ => message,
    };
    Failure::Server {
        status,
        code,
        message,
        field,
        detail,
    }
}

/// `current_version` from the detail the client keeps of an error (`current_version: 7`).
fn current_version(detail: Option<&str>) -> Option<u64> {
    detail?
        .split(", ")
        .find_map(|part| part.strip_prefix("current_version: "))
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::server_error;

    fn said(body: &str, status: u16, sent_token: bool) -> String {
        for_cli(
            server_error(status, Some("application/json"), body.as_bytes()),
            sent_token,
        )
        .to_string()
    }

    #[test]
    fn a_missing_token_names_the_flag_and_the_variable_not_the_header() {
        let body = r#"{"error":{"code":"unauthorized","message":"this endpoint needs a token: send `Authorization: Bearer <token>`"}}"#;
        let text = said(body, 401, false);
        assert!(text.contains("--token TOKEN or PILOT_TOKEN"), "{text}");
        assert!(!text.contains("Authorization"), "{text}");
        assert!(!text.contains("Bearer"), "{text}");
    }

    #[test]
    fn a_refused_token_says_where_it_came_from() {
        let body = r#"{"error":{"code":"unauthorized","message":"this token is not known: ask an administrator for one (`pilot token new`)"}}"#;
        let text = said(body, 401, true);
        assert!(text.contains("this token is not known"), "{text}");
        assert!(text.contains("--token TOKEN or PILOT_TOKEN"), "{text}");
    }

    #[test]
    fn a_malformed_token_is_not_explained_as_a_header() {
        let body = r#"{"error":{"code":"unauthorized","message":"the Authorization header must be `Bearer <token>`"}}"#;
        let text = said(body, 401, true);
        assert!(text.contains("--token TOKEN or PILOT_TOKEN"), "{text}");
        assert!(!text.contains("Authorization"), "{text}");
    }

    #[test]
    fn a_version_conflict_names_the_flag_to_retry_with() {
        let body = r#"{"error":{"code":"version_conflict","message":"the chain is at version 7, not 6: read it again, then retry with expected_version=7","current_version":7}}"#;
        let text = said(body, 409, true);
        assert!(text.contains("--expected-version 7"), "{text}");
        assert!(!text.contains("expected_version="), "{text}");
    }

    #[test]
    fn other_errors_keep_the_servers_words() {
        let body = r#"{"error":{"code":"invalid_event","message":"stance must be -2..2","field":"data.stance"}}"#;
        assert_eq!(
            said(body, 422, true),
            "invalid_event (data.stance): stance must be -2..2 (HTTP 422)"
        );
    }
}
