//! The log itself, as stored: pages of JSON Lines for exports, and a live Server-Sent Events
//! stream of what the projections apply.
//!
//! Both send each event's stored bytes untouched, never a re-serialization: `hash` covers the
//! stored bytes, so an export or a listener can verify every chain byte for byte. What a
//! reader may know of an event's sealed personal fields follows it separately: in an export a
//! sidecar line (left out with `redact=true`), in the stream a `revealed` event
//! ([`crate::reveal`]).

use crate::error::ApiError;
use crate::query::{params, Params};
use crate::reads::parse_uuid;
use crate::reveal::Revealer;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use pilot_events::Subject;
use pilot_store::{EventLog, LogError, Stored};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Events per export page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 1_000;
pub const MAX_LIMIT: usize = 10_000;
/// The log's last position when the page was read: page on until `Pilot-Next-After` reaches it.
pub const LAST_POSITION: HeaderName = HeaderName::from_static("pilot-last-position");
/// The `after` to ask for the next page with.
pub const NEXT_AFTER: HeaderName = HeaderName::from_static("pilot-next-after");
/// How many messages one log read of the live stream takes; a listener far behind catches up
/// in batches of this size.
const STREAM_BATCH: usize = 256;
/// The SSE event type of the line that follows an event with sealed personal fields: the
/// export's sidecar, `{"revealed_for": event_id, "fields": {...}}`, without an `id:` of its own.
pub const REVEALED_EVENT: &str = "revealed";
/// Comments on an idle stream, so proxies do not close it as dead.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /api/v1/events?after=&limit=&pilot=`: the stored events after position `after`, in
/// stream order, one per line exactly as stored (`application/x-ndjson`).
///
/// A page holds at most `limit` events. `Pilot-Next-After` is the `after` of the next page and
/// `Pilot-Last-Position` the log's last position when this page was read: an export is
/// complete once `Pilot-Next-After` reaches `Pilot-Last-Position`. With `pilot=`, only that
/// pilot's chain; positions then skip the other chains' events.
///
/// After an event line with sealed personal fields comes, unless `redact=true`, a sidecar line
/// `{"revealed_for":"<event_id>","fields":{"<field>":"<text or erased marker>"}}`: the event
/// line stays as stored (so it verifies), and `pilot verify` and the imports skip sidecars.
#[utoipa::path(get, path = "/events", operation_id = "export_events", tag = "events", summary = "Export the log",
    params(
        ("after" = Option<u64>, Query, description = "Events after this stream position (0 by default)."),
        ("limit" = Option<usize>, Query, description = "At most this many events (1,000 by default, 10,000 at most)."),
        ("pilot" = Option<Uuid>, Query, description = "Only this pilot's chain."),
        ("redact" = Option<bool>, Query, description = "`true`: no sidecar lines, personal fields as ciphertext only (an export to share)."),
    ),
    responses(
        (status = 200, description = "JSON Lines, one stored `Event` per line exactly as stored, each with sealed personal fields followed by a sidecar line `{\"revealed_for\": event_id, \"fields\": {...}}` unless `redact=true`. Page on with `after` = `Pilot-Next-After` until it reaches `Pilot-Last-Position`.",
            content_type = "application/x-ndjson", body = pilot_events::openapi::EventSchema,
            headers(
                ("Pilot-Next-After" = u64, description = "The `after` of the next page."),
                ("Pilot-Last-Position" = u64, description = "The log's last position when this page was read."),
            ),
            example = crate::openapi::examples::export),
        (status = 404, description = "`not_found`: no such pilot.", body = crate::error::Body),
    )
)]
pub async fn export(State(state): State<AppState>, query: Params) -> Result<Response, ApiError> {
    let mut after = 0;
    let mut limit = DEFAULT_LIMIT;
    let mut pilot = None;
    let mut redact = false;
    for (name, value) in params(query, &["after", "limit", "pilot", "redact"])? {
        match name {
            "after" => after = parse_position(name, &value)?,
            "limit" => limit = parse_limit(&value)?,
            "redact" => redact = crate::query::parse_bool(name, &value)?,
            _ => pilot = Some(parse_uuid(name, &value, "a pilot_id")?),
        }
    }
    if let Some(id) = pilot {
        if state.projection.read().pilot(&id).is_none() {
            return Err(ApiError::not_found(format!("no pilot {id}")));
        }
    }
    let last = state.log.last_position().await.map_err(unavailable)?;
    let events = match pilot {
        Some(id) => {
            let mut chain = state
                .log
                .read_chain(Subject::Pilot(id), after)
                .await
                .map_err(unavailable)?;
            chain.truncate(limit);
            chain
        }
        None => {
            read_pages(after, limit, last, |from, max| {
                state.log.read_from(from, max)
            })
            .await?
        }
    };
    if redact {
        return Ok(page(&events, after, limit, last));
    }
    let revealer = Revealer::load(&state, events.iter().map(|e| e.bytes.as_ref())).await;
    Ok(page_with(&events, after, limit, last, |event| {
        revealer.sidecar(event)
    }))
}

/// One page of JSON Lines with its paging headers: `Pilot-Next-After` (a short page read
/// everything there was, up to at least `last`) and `Pilot-Last-Position`.
pub fn page(events: &[Stored], after: u64, limit: usize, last: u64) -> Response {
    page_with(events, after, limit, last, |_| None)
}

/// [`page`] with the line `after_line` gives for an event written after it (a sidecar).
pub fn page_with(
    events: &[Stored],
    after: u64,
    limit: usize,
    last: u64,
    after_line: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> Response {
    let returned = events.last().map_or(after, |e| e.position);
    let next = if events.len() < limit {
        returned.max(last).max(after)
    } else {
        returned
    };
    let mut body = Vec::with_capacity(events.iter().map(|e| e.bytes.len() + 1).sum());
    for event in events {
        body.extend_from_slice(&event.bytes);
        body.push(b'\n');
        if let Some(line) = after_line(&event.bytes) {
            body.extend_from_slice(&line);
            body.push(b'\n');
        }
    }
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        ),
        (LAST_POSITION, HeaderValue::from(last)),
        (NEXT_AFTER, HeaderValue::from(next)),
    ];
    (headers, Body::from(body)).into_response()
}

/// Up to `limit` messages after `after`, in `read`'s batches (`read(from, max)`), stopping at
/// `last` (what was stored when the page began) so a busy stream cannot keep one page growing.
pub async fn read_pages<F, R>(
    after: u64,
    limit: usize,
    last: u64,
    mut read: R,
) -> Result<Vec<Stored>, ApiError>
where
    R: FnMut(u64, usize) -> F,
    F: std::future::Future<Output = Result<Vec<Stored>, LogError>>,
{
    let mut out: Vec<Stored> = Vec::new();
    let mut next = after.saturating_add(1);
    while out.len() < limit && next <= last {
        let batch = read(next, limit - out.len()).await.map_err(unavailable)?;
        let Some(end) = batch.last().map(|s| s.position) else {
            break;
        };
        out.extend(batch.into_iter().filter(|s| s.position <= last));
        next = end.saturating_add(1);
    }
    out.truncate(limit);
    Ok(out)
}

/// `GET /api/v1/events/stream`: Server-Sent Events of the events the projections apply from
/// now on, or after the position in `Last-Event-ID` (a reconnecting client) or `?after=`.
/// `Last-Event-ID` wins over `after`: a browser reconnects with the URL it first used.
///
/// Each event: `id:` its stream position, `event:` its type, `data:` the stored JSON; after an
/// event with sealed personal fields, an event `revealed` whose data is its sidecar. Only
/// events the projections applied are sent (not duplicates or refused messages), so a listener
/// sees what the read endpoints show. If the log cannot be read the stream ends and the client
/// reconnects with `Last-Event-ID`, missing nothing.
#[utoipa::path(get, path = "/events/stream", operation_id = "live_events", tag = "events", summary = "Live events (Server-Sent Events)",
    params(
        ("after" = Option<u64>, Query, description = "Send the applied events after this stream position first."),
        ("Last-Event-ID" = Option<u64>, Header, description = "A reconnecting client's last `id:`; wins over `after`."),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: per event, `id:` its stream position, `event:` its type, `data:` the stored `Event`; after an event with sealed personal fields, an event `revealed` with its sidecar `{\"revealed_for\": event_id, \"fields\": {...}}`.",
            content_type = "text/event-stream", body = String,
            example = "id: 17\nevent: approval.granted\ndata: {\"event_id\":\"0194a000-0000-7000-8000-000000000016\",\"type\":\"approval.granted\",...}\n\n"),
    )
)]
pub async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Params,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut after = None;
    for (name, value) in params(query, &["after"])? {
        after = Some(parse_position(name, &value)?);
    }
    if let Some(value) = headers.get("last-event-id") {
        let value = value.to_str().map_err(|_| {
            ApiError::invalid("Last-Event-ID", "Last-Event-ID must be a stream position")
        })?;
        after = Some(parse_position("Last-Event-ID", value)?);
    }
    let after = after.unwrap_or_else(|| state.projection.position());
    let follow = Follow {
        position: state.projection.subscribe(),
        shutdown: state.shutting_down(),
        state,
        after,
        pending: VecDeque::new(),
    };
    let stream = futures::stream::unfold(follow, |mut follow| async move {
        let event = follow.next().await?;
        Some((Ok(event), follow))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One listener's place in the log.
struct Follow {
    state: AppState,
    /// The last position sent (or skipped).
    after: u64,
    position: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    pending: VecDeque<Event>,
}

impl Follow {
    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let after = self.after;
            let reached = tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|stop| *stop) => return None,
                reached = self.position.wait_for(|p| *p > after) => *reached.ok()?,
            };
            let batch = match self
                .state
                .log
                .read_from(after.saturating_add(1), STREAM_BATCH)
                .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(message = "Event stream ended: cannot read the log.", after, %error);
                    return None;
                }
            };
            let batch: Vec<Stored> = batch
                .into_iter()
                .filter(|s| s.position > after && s.position <= reached)
                .collect();
            let Some(last) = batch.last().map(|s| s.position) else {
                // The projections are past a position the log does not show yet (a read
                // from a lagging replica): wait a little rather than spin.
                tokio::select! {
                    _ = self.shutdown.wait_for(|stop| *stop) => return None,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            };
            self.after = last;
            let applied: Vec<(&Stored, Head)> = {
                let world = self.state.projection.read();
                batch
                    .iter()
                    .filter_map(|stored| {
                        let head: Head = serde_json::from_slice(&stored.bytes).ok()?;
                        let applied = world.position_of(&head.event_id) == Some(stored.position);
                        applied.then_some((stored, head))
                    })
                    .collect()
            };
            let revealer =
                Revealer::load(&self.state, applied.iter().map(|(s, _)| s.bytes.as_ref())).await;
            for (stored, head) in applied {
                self.pending.push_back(sse_event(stored, &head.kind));
                if let Some(sidecar) = revealer.sidecar(&stored.bytes) {
                    self.pending.push_back(
                        Event::default()
                            .event(REVEALED_EVENT)
                            .data(String::from_utf8_lossy(&sidecar)),
                    );
                }
            }
        }
    }
}

/// The two envelope fields the stream needs, read without decoding the rest.
#[derive(serde::Deserialize)]
struct Head {
    event_id: Uuid,
    #[serde(rename = "type")]
    kind: String,
}

fn sse_event(stored: &Stored, kind: &str) -> Event {
    // An SSE field cannot hold a line break; type names never do, anything else is not a type.
    let kind = if !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
    {
        kind
    } else {
        "unknown"
    };
    Event::default()
        .id(stored.position.to_string())
        .event(kind)
        .data(String::from_utf8_lossy(&stored.bytes))
}

pub fn parse_position(field: &str, value: &str) -> Result<u64, ApiError> {
    value.trim().parse().map_err(|_| {
        ApiError::invalid(
            field,
            format!("{field} must be a stream position (a whole number, 0 or more); got {value:?}"),
        )
    })
}

pub fn parse_limit(value: &str) -> Result<usize, ApiError> {
    match value.trim().parse::<usize>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(ApiError::invalid(
            "limit",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}; got {value:?}"),
        )),
    }
}

fn unavailable(error: LogError) -> ApiError {
    ApiError::store_unavailable(format!("cannot read the event log: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_positions_are_whole_numbers_in_range() {
        assert_eq!(parse_limit("10000").unwrap(), MAX_LIMIT);
        for bad in ["0", "10001", "-1", "ten", ""] {
            assert_eq!(
                parse_limit(bad).unwrap_err().field.as_deref(),
                Some("limit")
            );
        }
        assert_eq!(parse_position("after", "0").unwrap(), 0);
        assert_eq!(
            parse_position("Last-Event-ID", "x")
                .unwrap_err()
                .field
                .as_deref(),
            Some("Last-Event-ID")
        );
    }

    #[test]
    fn a_type_that_cannot_be_an_sse_field_is_unknown() {
        let stored = Stored {
            position: 7,
            bytes: bytes::Bytes::from_static(b"{}"),
        };
        // Building the event would panic on a line break; it must not.
        let _ = sse_event(&stored, "pilot.proposed\nevent: x");
        let _ = sse_event(&stored, "");
    }
}
