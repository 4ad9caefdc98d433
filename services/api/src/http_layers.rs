//! What every API response passes through on its way out: compression, negotiated by
//! `Accept-Encoding`, and CORS for the browser origins the configuration names.
//!
//! Compression is gzip or brotli, whichever the client ranks higher; without an
//! `Accept-Encoding` the body goes as it is. tower-http's default levels suit compressing each
//! response as it is sent: gzip 6, and brotli 4 rather than the brotli crate's 11, which is
//! meant for files compressed once. tower-http's default predicate leaves out bodies
//! under 32 bytes, images, and `text/event-stream`: the encoder holds what it is given until
//! its buffer fills, so a compressed Server-Sent Events stream would hold each event back
//! instead of sending it as it happens.
//!
//! CORS is off unless origins are configured (`cors_origins`): a browser page from another
//! origin then gets no `Access-Control-Allow-Origin` and cannot read the answers. With origins,
//! a preflight (`OPTIONS` with `Access-Control-Request-Method`) from one of them is answered
//! 204 with the methods and headers the API takes, `Authorization` among them; one from any
//! other origin is answered without `Access-Control-Allow-Origin`, so the browser refuses the
//! request. Credentials (cookies) are never allowed cross-origin: the API takes bearer tokens.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer before asking again.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The browser origins allowed to call the API from their pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin reads: the default.
    #[default]
    Off,
    /// `["*"]`: any origin (the API answers only bearer tokens, which a page must hold).
    Any,
    /// These origins, exactly as a browser sends them in `Origin`.
    List(Vec<HeaderValue>),
}

/// Why a configured origin was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorsError {
    #[error("cors_origins: {0:?} is not an origin: give the scheme, host and port only, as a browser sends it in Origin (e.g. \"https://dashboard.example.gov\" or \"http://localhost:3000\", no path or trailing slash), or [\"*\"] for any origin")]
    NotAnOrigin(String),
    #[error("cors_origins: \"*\" allows every origin and cannot be listed with others; give [\"*\"] alone, or the origins alone")]
    WildcardWithOthers,
}

impl CorsOrigins {
    /// The configured list: empty is off, `["*"]` is any origin, otherwise each entry must be
    /// an `http://` or `https://` origin without a path.
    pub fn parse(origins: &[String]) -> Result<CorsOrigins, CorsError> {
        if origins.is_empty() {
            return Ok(CorsOrigins::Off);
        }
        if origins.iter().any(|o| o == "*") {
            return match origins.len() {
                1 => Ok(CorsOrigins::Any),
                _ => Err(CorsError::WildcardWithOthers),
            };
        }
        origins
            .iter()
            .map(|origin| {
                let rest = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"));
                let is_origin = rest.is_some_and(|host| {
                    !host.is_empty()
                        && !host
                            .chars()
                            .any(|c| matches!(c, '/' | '?' | '#' | '@') || c.is_whitespace())
                });
                match (is_origin, HeaderValue::from_str(origin)) {
                    (true, Ok(value)) => Ok(value),
                    _ => Err(CorsError::NotAnOrigin(origin.clone())),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(CorsOrigins::List)
    }

    /// For `pilot config check`: "off", "*" or the origins, comma-separated.
    pub fn describe(&self) -> String {
        match self {
            CorsOrigins::Off => "off".to_string(),
            CorsOrigins::Any => "*".to_string(),
            CorsOrigins::List(list) => list
                .iter()
                .map(|v| v.to_str().unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// `router` with compression and, when origins are configured, CORS; `request_headers` are
/// the API's own request headers a page may send besides `Authorization` and `Content-Type`.
pub fn apply(router: Router, cors: &CorsOrigins, request_headers: &[HeaderName]) -> Router {
    let router = router.layer(CompressionLayer::new());
    let allow_origin = match cors {
        CorsOrigins::Off => return router,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    let headers = [header::AUTHORIZATION, header::CONTENT_TYPE]
        .into_iter()
        .chain(request_headers.iter().cloned())
        .collect::<Vec<_>>();
    let cors = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(headers)
        .max_age(PREFLIGHT_MAX_AGE);
    router
        .layer(cors)
        .layer(middleware::from_fn(preflight_no_content))
}

/// tower-http answers a preflight 200 with an empty body; 204 says what it is (no content),
/// as browsers and the Fetch standard's examples expect.
async fn preflight_no_content(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(origins: &[&str]) -> Vec<String> {
        origins.iter().map(|o| o.to_string()).collect()
    }

    #[test]
    fn origins_are_scheme_host_and_port_or_a_lone_star() {
        assert_eq!(CorsOrigins::parse(&[]), Ok(CorsOrigins::Off));
        assert_eq!(CorsOrigins::parse(&list(&["*"])), Ok(CorsOrigins::Any));
        let two = CorsOrigins::parse(&list(&["https://a.example.gov", "http://localhost:3000"]));
        assert_eq!(
            two.map(|o| o.describe()),
            Ok("https://a.example.gov, http://localhost:3000".to_string())
        );
        for bad in [
            "a.example.gov",
            "https://a.example.gov/",
            "https://a.example.gov/app",
            "ftp://a.example.gov",
            "https://",
            "https://user@a.example.gov",
        ] {
            let error = CorsOrigins::parse(&list(&[bad])).unwrap_err().to_string();
            assert!(error.contains(bad) && error.contains("no path"), "{error}");
        }
        assert_eq!(
            CorsOrigins::parse(&list(&["*", "https://a.example.gov"])),
            Err(CorsError::WildcardWithOthers)
        );
    }
}
