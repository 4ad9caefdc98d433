//! Talking to a running `pilot serve`: URLs under `--server`, the bearer token, and turning
//! every answer into either its body or a [`Failure`] with the server's error code.

use super::{foreign, wording, Common, Failure};
use bytes::Bytes;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde_json::Value;
use std::time::Duration;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take, body included: an import chunk waits for the projections
/// to apply every line, so this is generous.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Where the server's URL is set, as a user sets it.
const SERVER_SOURCE: &str = "--server (PILOT_SERVER)";

/// A client of one pilot service.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// A successful answer: its headers and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_slice(&self.body).map_err(|_| {
            Failure::BadAnswer(format!(
                "{}, not pilot's JSON: is {SERVER_SOURCE} the pilot service?",
                foreign::summary(self.status, content_type(&self.headers), &self.body)
            ))
        })
    }

    /// A header's value as a number.
    pub fn header_u64(&self, name: &str) -> Option<u64> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    }
}

impl Http {
    pub fn new(common: &Common) -> Result<Http, Failure> {
        let base = server_url(&common.server).map_err(Failure::Usage)?;
        let client = client(reqwest::Client::builder().timeout(REQUEST_TIMEOUT))?;
        let token = common.token.clone().filter(|t| !t.trim().is_empty());
        if let Some(token) = &token {
            if reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
                return Err(Failure::Usage(
                    "--token (PILOT_TOKEN) holds characters no token has (a line break, \
                     another control character or a non-ASCII letter): copy the token again"
                        .to_string(),
                ));
            }
        }
        Ok(Http {
            client,
            base,
            token,
        })
    }

    /// `path` (starting with `/`) under the server URL, with the query parameters that have a
    /// value (percent-encoded: a `+` in an offset stays a `+`).
    pub fn url(&self, path: &str, query: &[(&str, Option<String>)]) -> Result<Url, Failure> {
        let mut url = Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| Failure::Input(format!("bad URL {}{path}: {e}", self.base)))?;
        let present: Vec<_> = query
            .iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| (*name, v)))
            .collect();
        if !present.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in present {
                pairs.append_pair(name, value);
            }
        }
        Ok(url)
    }

    /// GET, answering the body as JSON.
    pub async fn get_json(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
    ) -> Result<Value, Failure> {
        let url = self.url(path, query)?;
        self.send(Method::GET, url, None).await?.json()
    }

    /// GET, answering the raw body and headers.
    pub async fn get(&self, url: Url) -> Result<Answer, Failure> {
        self.send(Method::GET, url, None).await
    }

    /// POST a JSON body.
    pub async fn post_json(&self, url: Url, body: &Value) -> Result<Answer, Failure> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Failure::Input(format!("cannot encode the request: {e}")))?;
        self.send(Method::POST, url, Some(("application/json", bytes)))
            .await
    }

    /// POST a body of JSON Lines.
    pub async fn post_ndjson(&self, url: Url, body: Vec<u8>) -> Result<Answer, Failure> {
        self.send(Method::POST, url, Some(("application/x-ndjson", body)))
            .await
    }

    /// POST a CSV body.
    pub async fn post_csv(&self, url: Url, body: Vec<u8>) -> Result<Answer, Failure> {
        self.send(Method::POST, url, Some(("text/csv; charset=utf-8", body)))
            .await
    }

    /// GET an answer that does not end on its own (Server-Sent Events), handed over as it
    /// arrives: no limit on the whole answer, only on `silence` between two reads.
    pub async fn open_stream(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
        silence: Duration,
    ) -> Result<reqwest::Response, Failure> {
        let url = self.url(path, query)?;
        let shown_url = url.to_string();
        let client = client(reqwest::Client::builder().read_timeout(silence))?;
        let mut request = client.get(url).header(ACCEPT, "text/event-stream");
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = request
            .send()
            .await
            .map_err(|e| unreachable(&shown_url, &e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let content_type = content_type(response.headers()).map(str::to_string);
        let body = response.bytes().await.unwrap_or_default();
        Err(self.refusal(status, content_type.as_deref(), &body))
    }

    /// An answer that is not 2xx as a failure, in the command line's words.
    fn refusal(&self, status: u16, content_type: Option<&str>, body: &[u8]) -> Failure {
        wording::for_cli(
            server_error(status, content_type, body),
            self.token.is_some(),
        )
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Answer, Failure> {
        let shown_url = url.to_string();
        let mut request = self.client.request(method, url);
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| unreachable(&shown_url, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| unreachable(&shown_url, &e))?;
        if (200..300).contains(&status) {
            Ok(Answer {
                status,
                headers,
                body,
            })
        } else {
            Err(self.refusal(status, content_type(&headers), &body))
        }
    }
}

/// The HTTP client every command uses: `builder`'s timeouts, the connect timeout, pilot's
/// user agent.
fn client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, Failure> {
    builder
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("pilot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::Io(format!("cannot set up the HTTP client: {e}")))
}

pub fn unreachable(url: &str, error: &reqwest::Error) -> Failure {
    // reqwest's Display stops at the outermost layer ("error sending request for url"); the
    // causes say why.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let text = if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    };
    let what = if error.is_timeout() {
        "did not answer in time"
    } else if error.is_connect() {
        "cannot be reached (is `pilot serve` running there? --server / PILOT_SERVER)"
    } else {
        "failed"
    };
    Failure::Unreachable(format!("{url} {what}: {text}"))
}

/// `--server`'s value (and `PILOT_SERVER`'s): an `http` or `https` URL with a host, without
/// a trailing `/`. Clap checks it with this, so a wrong one is a usage error (exit code 2).
pub fn server_url(text: &str) -> Result<String, String> {
    let base = text.trim().trim_end_matches('/');
    let example = "give --server or PILOT_SERVER a URL like http://127.0.0.1:8080";
    match Url::parse(base) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(base.to_string())
        }
        Ok(url) => Err(format!(
            "{base:?} is not an http:// or https:// URL (it reads as scheme `{}`): {example}",
            url.scheme()
        )),
        Err(e) => Err(format!("{base:?} is not a URL ({e}): {example}")),
    }
}

/// The content type an answer names, if any.
fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

/// The error an answer carries: the server's `{"error": {...}}` when it sent one, else a
/// summary of what answered ([`foreign::summary`]).
pub fn server_error(status: u16, content_type: Option<&str>, body: &[u8]) -> Failure {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let text = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match (text("code"), text("message")) {
        (Some(code), message) => {
            let detail = error.and_then(Value::as_object).and_then(|e| {
                let extra: Vec<String> = e
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "code" | "message" | "field"))
                    .map(|(k, v)| format!("{k}: {}", compact(v)))
                    .collect();
                (!extra.is_empty()).then(|| extra.join(", "))
            });
            Failure::Server {
                status,
                code,
                message: message.unwrap_or_default(),
                field: text("field"),
                detail,
            }
        }
        _ => Failure::Server {
            status,
            code: reason(status).to_string(),
            message: format!(
                "the answer is not pilot's ({}): is {SERVER_SOURCE} the pilot service, and \
                 does nothing in between answer for it?",
                foreign::summary(status, content_type, body)
            ),
            field: None,
            detail: None,
        },
    }
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_servers_error_shape() {
        let body = br#"{"error":{"code":"version_conflict","message":"the pilot moved on","current_version":7}}"#;
        let failure = server_error(409, Some("application/json"), body);
        assert_eq!(failure.exit_code(), 3);
        let text = failure.to_string();
        assert!(text.contains("version_conflict"), "{text}");
        assert!(text.contains("the pilot moved on"), "{text}");
        assert!(text.contains("current_version: 7"), "{text}");
    }

    #[test]
    fn a_body_that_is_not_the_error_shape_is_summarised() {
        let page = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        let failure = server_error(502, Some("text/html"), page);
        assert_eq!(failure.exit_code(), 1);
        let text = failure.to_string();
        assert!(text.contains("titled \"502 Bad Gateway\""), "{text}");
        assert!(text.contains("--server (PILOT_SERVER)"), "{text}");
        assert!(!text.contains("<center>"), "{text}");
    }

    #[test]
    fn a_token_with_a_line_break_is_a_usage_error() {
        let common = Common {
            server: "http://127.0.0.1:8080".into(),
            token: Some("abc\ndef".into()),
            json: false,
        };
        let failure = Http::new(&common).unwrap_err();
        assert_eq!(failure.exit_code(), 2);
        assert!(failure.to_string().contains("PILOT_TOKEN"), "{failure}");
    }

    #[test]
    fn a_server_url_needs_a_scheme_and_a_host() {
        assert_eq!(
            server_url(" https://pilot.example/ "),
            Ok("https://pilot.example".to_string())
        );
        for wrong in ["127.0.0.1:8080", "localhost:8080", "ftp://x", "http://"] {
            let error = server_url(wrong).unwrap_err();
            assert!(
                error.contains("--server or PILOT_SERVER"),
                "{wrong}: {error}"
            );
        }
    }

    #[test]
    fn query_values_are_encoded() {
        let common = Common {
            server: "http://127.0.0.1:8080/".into(),
            token: None,
            json: false,
        };
        let http = Http::new(&common).unwrap();
        let url = http
            .url(
                "/api/v1/pilots",
                &[
                    ("as_of", Some("2001-01-01T00:00:00+08:00".into())),
                    ("known_at", None),
                ],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/api/v1/pilots?as_of=2001-01-01T00%3A00%3A00%2B08%3A00"
        );
    }
}
