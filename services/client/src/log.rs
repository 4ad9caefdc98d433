//! Reading the whole log (or one pilot's chain) as stored, in stream order: from the server
//! (`GET /api/v1/events`, pages of JSON Lines) or, with `--nats URL`, from JetStream itself.
//!
//! Paging the server: `GET /api/v1/events?after=P&limit=N[&pilot=ID]` answers the stored
//! bytes of the next events, one per line, with two headers: `Pilot-Next-After`, the `after`
//! of the next page, and `Pilot-Last-Position`, the log's last position when the page was
//! read. The read is complete once the next `after` reaches that last position (or a page
//! comes back empty). Without a pilot filter the log has no gaps (deletes are denied), so the
//! events of a page are at `after + 1 ..= after + n`. A sidecar line after an event (what a
//! reader may know of its sealed personal fields, `pilot_api::reveal`) is no event: it is
//! handed on with the event it follows, and counts for no position.

use super::http::Http;
use super::{Common, Failure};
use bytes::Bytes;
use pilot_events::Subject;
use pilot_store::jetstream::JetStreamLog;
use pilot_store::EventLog;
use std::time::Duration;
use uuid::Uuid;

/// How many events one page asks the server for (the server's default; it allows 10,000).
const PAGE: usize = 1_000;
/// How many messages one read asks NATS for.
const NATS_PAGE: usize = 512;
/// How long connecting to NATS may take.
const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The header with the `after` of the next page of `GET /api/v1/events`.
pub const NEXT_AFTER_HEADER: &str = "Pilot-Next-After";
/// The header with the log's last position when a page was read.
pub const LAST_POSITION_HEADER: &str = "Pilot-Last-Position";

/// One stored event: its position in the log when known, and its bytes as stored.
#[derive(Debug, Clone)]
pub struct Entry {
    pub position: Option<u64>,
    pub bytes: Bytes,
    /// The server's sidecar line for it (its sealed fields revealed), if it sent one.
    pub revealed: Option<Bytes>,
}

/// Where the log is read from.
#[derive(Debug)]
pub enum Source {
    Server(Http),
    Nats(JetStreamLog),
}

impl Source {
    /// NATS when `nats` is given, else the server of `common`.
    pub async fn open(common: &Common, nats: Option<&str>) -> Result<Source, Failure> {
        match nats {
            None => Ok(Source::Server(Http::new(common)?)),
            Some(url) => {
                let (options, addrs, shown) = pilot_nats::url_options(url)
                    .map_err(|e| Failure::Usage(format!("--nats: {e}")))?;
                let connect = async {
                    let client = options.connect(addrs).await.map_err(|error| {
                        format!(
                            "cannot connect to NATS at {shown} (is a nats-server running \
                                 there? --nats URL): {error}"
                        )
                    })?;
                    JetStreamLog::open_existing_client(client)
                        .await
                        .map_err(|error| error.to_string())
                };
                match tokio::time::timeout(NATS_CONNECT_TIMEOUT, connect).await {
                    Ok(Ok(log)) => Ok(Source::Nats(log)),
                    Ok(Err(message)) => Err(Failure::Unreachable(message)),
                    Err(_) => Err(Failure::Unreachable(format!(
                        "NATS at {shown} did not answer within {NATS_CONNECT_TIMEOUT:?}"
                    ))),
                }
            }
        }
    }

    /// Calls `each` with every stored event in stream order (only pilot `pilot`'s chain when
    /// given); returns how many there were.
    pub async fn for_each(
        &self,
        pilot: Option<Uuid>,
        each: impl FnMut(Entry) -> Result<(), Failure>,
    ) -> Result<u64, Failure> {
        self.for_each_redacted(pilot, false, each).await
    }

    /// [`Source::for_each`]; with `redact`, the server sends no sidecar lines (the plain text
    /// of personal fields never leaves it). NATS has none to send.
    pub async fn for_each_redacted(
        &self,
        pilot: Option<Uuid>,
        redact: bool,
        mut each: impl FnMut(Entry) -> Result<(), Failure>,
    ) -> Result<u64, Failure> {
        match self {
            Source::Server(http) => {
                server_pages(http, EVENTS, pilot, redact, PAGE, &mut each).await
            }
            Source::Nats(log) => nats_reads(log, pilot, &mut each).await,
        }
    }
}

/// Calls `each` with every alert event the server's alert stream holds, in order
/// (`GET /api/v1/alerts/events`); returns how many there were.
pub async fn for_each_alert_event(
    http: &Http,
    mut each: impl FnMut(Entry) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    server_pages(http, ALERT_EVENTS, None, false, PAGE, &mut each).await
}

const EVENTS: &str = "/api/v1/events";
const ALERT_EVENTS: &str = "/api/v1/alerts/events";

async fn server_pages(
    http: &Http,
    path: &str,
    pilot: Option<Uuid>,
    redact: bool,
    page: usize,
    each: &mut impl FnMut(Entry) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    let mut after = 0u64;
    let mut count = 0u64;
    loop {
        let url = http.url(
            path,
            &[
                ("after", Some(after.to_string())),
                ("limit", Some(page.to_string())),
                ("pilot", pilot.map(|p| p.to_string())),
                ("redact", redact.then(|| "true".to_string())),
            ],
        )?;
        let answer = http.get(url).await?;
        let entries = entries(split_lines(&answer.body));
        let n = entries.len() as u64;
        let next = match (answer.header_u64(NEXT_AFTER_HEADER), pilot) {
            (Some(next), _) => next,
            (None, None) => after + n,
            (None, Some(_)) if n == 0 => after,
            (None, Some(_)) => {
                return Err(Failure::BadAnswer(format!(
                    "GET {path} answered without a {NEXT_AFTER_HEADER} header; cannot page on"
                )))
            }
        };
        if n > 0 && next <= after {
            return Err(Failure::BadAnswer(format!(
                "GET {path}?after={after} answered {n} events but {NEXT_AFTER_HEADER}: {next}; cannot page on"
            )));
        }
        for (i, mut entry) in entries.into_iter().enumerate() {
            // Without a filter the log has no gaps: positions follow `after`.
            entry.position = pilot.is_none().then_some(after + i as u64 + 1);
            each(entry)?;
            count += 1;
        }
        let complete = answer
            .header_u64(LAST_POSITION_HEADER)
            .is_some_and(|last| next >= last);
        if n == 0 || complete {
            return Ok(count);
        }
        after = next;
    }
}

async fn nats_reads(
    log: &JetStreamLog,
    pilot: Option<Uuid>,
    each: &mut impl FnMut(Entry) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    let unavailable = |e: pilot_store::LogError| Failure::Unreachable(e.to_string());
    let mut count = 0u64;
    if let Some(pilot) = pilot {
        for stored in log
            .read_chain(Subject::Pilot(pilot), 0)
            .await
            .map_err(unavailable)?
        {
            each(Entry {
                position: Some(stored.position),
                bytes: stored.bytes,
                revealed: None,
            })?;
            count += 1;
        }
        return Ok(count);
    }
    let last = log.last_position().await.map_err(unavailable)?;
    let mut from = 1u64;
    while from <= last {
        let batch = log.read_from(from, NATS_PAGE).await.map_err(unavailable)?;
        if batch.is_empty() {
            break;
        }
        for stored in batch {
            if stored.position > last {
                return Ok(count);
            }
            from = stored.position + 1;
            each(Entry {
                position: Some(stored.position),
                bytes: stored.bytes,
                revealed: None,
            })?;
            count += 1;
        }
    }
    Ok(count)
}

/// A page's lines as events, each sidecar line handed on with the event before it.
fn entries(lines: Vec<Bytes>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::with_capacity(lines.len());
    for bytes in lines {
        if pilot_api::reveal::is_sidecar(&bytes) {
            if let Some(last) = entries.last_mut() {
                last.revealed = Some(bytes);
            }
            continue;
        }
        entries.push(Entry {
            position: None,
            bytes,
            revealed: None,
        });
    }
    entries
}

/// The non-blank lines of a body, without their line ends, sharing its bytes.
pub fn split_lines(body: &Bytes) -> Vec<Bytes> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, byte) in body.iter().enumerate() {
        if *byte == b'\n' {
            push_line(body, start, i, &mut lines);
            start = i + 1;
        }
    }
    push_line(body, start, body.len(), &mut lines);
    lines
}

fn push_line(body: &Bytes, start: usize, end: usize, lines: &mut Vec<Bytes>) {
    let mut end = end;
    if end > start && body[end - 1] == b'\r' {
        end -= 1;
    }
    if body[start..end].iter().all(u8::is_ascii_whitespace) {
        return;
    }
    lines.push(body.slice(start..end));
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::Query;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use std::collections::HashMap;

    /// A server holding events 1..=7 that pages them as `pilot serve` does, each even one
    /// followed by a sidecar line unless `redact=true`.
    async fn fake_server() -> Http {
        async fn page(Query(q): Query<HashMap<String, String>>) -> (HeaderMap, String) {
            let number = |name: &str| q[name].parse::<u64>().unwrap();
            let (after, limit, last) = (number("after"), number("limit"), 7u64);
            let redact = q.get("redact").is_some_and(|r| r == "true");
            let upto = (after + limit).min(last);
            let body: String = (after + 1..=upto)
                .map(|p| match p % 2 == 0 && !redact {
                    true => format!("{{\"p\":{p}}}\n{}\n", sidecar(p)),
                    false => format!("{{\"p\":{p}}}\n"),
                })
                .collect();
            let next = if upto - after < limit {
                upto.max(last)
            } else {
                upto
            };
            let mut headers = HeaderMap::new();
            headers.insert("pilot-next-after", next.into());
            headers.insert("pilot-last-position", last.into());
            (headers, body)
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/api/v1/events", get(page));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Http::new(&Common {
            server: format!("http://{addr}"),
            token: None,
            json: false,
        })
        .unwrap()
    }

    fn sidecar(p: u64) -> String {
        format!("{{\"revealed_for\":\"{p}\",\"fields\":{{\"summary\":\"text {p}\"}}}}")
    }

    #[tokio::test]
    async fn pages_through_the_whole_log_with_positions_and_sidecars_beside_their_events() {
        let http = fake_server().await;
        for (page, redact) in [(2, false), (3, false), (7, true), (100, false), (100, true)] {
            let mut seen = Vec::new();
            let count = server_pages(&http, EVENTS, None, redact, page, &mut |entry: Entry| {
                seen.push((entry.position, entry.bytes, entry.revealed));
                Ok(())
            })
            .await
            .unwrap();
            assert_eq!(count, 7, "page {page}");
            let expected: Vec<(Option<u64>, Bytes, Option<Bytes>)> = (1..=7)
                .map(|p| {
                    let revealed = (p % 2 == 0 && !redact).then(|| Bytes::from(sidecar(p)));
                    (Some(p), Bytes::from(format!("{{\"p\":{p}}}")), revealed)
                })
                .collect();
            assert_eq!(seen, expected, "page {page}, redact {redact}");
        }
    }

    #[test]
    fn splits_lines_without_their_ends_and_skips_blank_ones() {
        let body = Bytes::from_static(b"{\"a\":1}\r\n\n  \n{\"b\":2}");
        let lines = split_lines(&body);
        assert_eq!(lines, vec![&b"{\"a\":1}"[..], &b"{\"b\":2}"[..]]);
        assert!(split_lines(&Bytes::new()).is_empty());
    }
}
