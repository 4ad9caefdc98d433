//! Reading personal fields: every answer shows a sealed text (`sealed:v1:…`, see
//! `pilot_events::personal`) as what a reader may know of it (docs/personal-data.md):
//!
//! - the plain text, when the subject's key is in the key store;
//! - `[erased <RFC 3339 instant>: <reason>]` ([`erased_marker`]) once the subject's
//!   `subject.erased` is recorded, whether or not some copy of the key is still about;
//! - [`SEALED_MARKER`] when the key cannot be had and no erasure is recorded (the key store
//!   is down or not configured, or the text was sealed elsewhere).
//!
//! Tokens are found by their shape in any text ([`tokens`]), not by field name: a name can
//! travel far from the field it was sealed in (a CSV list of coalition members, a page's
//! select, an error message), and every such copy must be revealed the same way. The stored
//! events never change: exports keep each line byte for byte (the hash covers it) and add a
//! sidecar line after it ([`Revealer::sidecar`]), which verification and imports skip ([`is_sidecar`]).
//!
//! [`reveal_answers`] applies this to every JSON and CSV answer of the API (and
//! `pilot_web` to its HTML pages), so no handler can forget it.

use crate::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pilot_events::personal::{SealedText, SubjectKey, SEALED_PREFIX};
use pilot_projections::registry::Erasure;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use uuid::Uuid;

/// What a sealed field shows when its key cannot be had and no erasure is recorded.
pub const SEALED_MARKER: &str = "[sealed]";
/// The key that marks an export's sidecar line: `{"revealed_for":"<event_id>","fields":{…}}`.
pub const SIDECAR_KEY: &str = "revealed_for";
/// The largest answer body revealed in memory; a larger one is refused with 500 rather than
/// sent with its tokens (no list endpoint comes near it).
pub const MAX_REVEALED_BYTES: usize = 256 * 1024 * 1024;
/// A UUID's length in its hyphenated form, as tokens carry it.
const UUID_CHARS: usize = 36;

/// What an erased field shows: when and why it was erased.
pub fn erased_marker(erasure: &Erasure) -> String {
    format!(
        "[erased {}: {}]",
        pilot_events::rfc3339(erasure.at),
        erasure.reason
    )
}

/// The byte ranges of the sealed texts in `text`, in order. A token is
/// `sealed:v1:<uuid>:<field>:<base64url>`; anything that starts like one but does not read as
/// one is left alone (the writer never stores such a text).
pub fn tokens(text: &[u8]) -> Vec<Range<usize>> {
    let prefix = SEALED_PREFIX.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = find(&text[from..], prefix) {
        let start = from + offset;
        match token_end(text, start + prefix.len()) {
            Some(end) => {
                found.push(start..end);
                from = end;
            }
            None => from = start + prefix.len(),
        }
    }
    found
}

/// Whether `text` holds a sealed text anywhere: stops at the first (most answers hold none,
/// and this is asked of every one).
pub fn has_tokens(text: &[u8]) -> bool {
    let prefix = SEALED_PREFIX.as_bytes();
    let mut from = 0;
    while let Some(offset) = find(&text[from..], prefix) {
        let start = from + offset + prefix.len();
        if token_end(text, start).is_some() {
            return true;
        }
        from = start;
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Where the token whose subject begins at `at` ends, if it is one.
fn token_end(text: &[u8], at: usize) -> Option<usize> {
    let uuid_end = at + UUID_CHARS;
    let uuid = text.get(at..uuid_end)?;
    if !uuid.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-')
        || text.get(uuid_end) != Some(&b':')
    {
        return None;
    }
    let field_start = uuid_end + 1;
    let field_len = text[field_start..]
        .iter()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
        .count();
    let colon = field_start + field_len;
    if field_len == 0 || text.get(colon) != Some(&b':') {
        return None;
    }
    let body_start = colon + 1;
    let body_len = text[body_start..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
        .count();
    (body_len > 0).then_some(body_start + body_len)
}

/// The subjects whose sealed texts `text` holds.
pub fn subjects_in(text: &[u8]) -> HashSet<Uuid> {
    tokens(text)
        .into_iter()
        .filter_map(|range| parsed(&text[range]))
        .map(|sealed| sealed.subject)
        .collect()
}

fn parsed(token: &[u8]) -> Option<SealedText> {
    SealedText::parse(std::str::from_utf8(token).ok()?)?.ok()
}

/// How a revealed text is written where the token stood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As is (a CSV cell, a `serde_json::Value` string).
    Plain,
    /// Inside a JSON string.
    Json,
    /// In HTML text or an attribute value.
    Html,
}

/// What a reader may know of the sealed texts of some subjects: their keys and their
/// recorded erasures, gathered once per answer.
#[derive(Debug, Clone, Default)]
pub struct Revealer {
    keys: HashMap<Uuid, SubjectKey>,
    erasures: HashMap<Uuid, Erasure>,
}

impl Revealer {
    /// From keys and erasures already gathered (tests, or a caller without an [`AppState`]).
    pub fn new(keys: HashMap<Uuid, SubjectKey>, erasures: HashMap<Uuid, Erasure>) -> Self {
        Revealer { keys, erasures }
    }

    /// What `state` may reveal of the tokens in `texts`: the recorded erasures from the
    /// registry, the keys from the key store (an unreachable store leaves them sealed, with
    /// a warning: an answer with `[sealed]` is better than none).
    pub async fn load<'t>(state: &AppState, texts: impl IntoIterator<Item = &'t [u8]>) -> Revealer {
        let mut subjects = HashSet::new();
        for text in texts {
            subjects.extend(subjects_in(text));
        }
        Self::for_subjects(state, subjects).await
    }

    /// What `state` may reveal of the registry's sealed names (a person's name): for what
    /// matches names typed by people (a spreadsheet's stakeholder column).
    pub async fn for_registry(state: &AppState) -> Revealer {
        let subjects: HashSet<Uuid> = {
            let world = state.projection.read();
            world
                .registry()
                .all()
                .into_iter()
                .flat_map(|s| subjects_in(s.name.as_bytes()))
                .collect()
        };
        Self::for_subjects(state, subjects).await
    }

    /// The same for subjects already known.
    pub async fn for_subjects(state: &AppState, subjects: HashSet<Uuid>) -> Revealer {
        if subjects.is_empty() {
            return Revealer::default();
        }
        let erasures: HashMap<Uuid, Erasure> = {
            let world = state.projection.read();
            subjects
                .iter()
                .filter_map(|id| Some((*id, world.registry().erasure(id)?.clone())))
                .collect()
        };
        let wanted = subjects.into_iter().filter(|id| !erasures.contains_key(id));
        // No key store in this process: what is not erased shows as sealed.
        let Some(store) = &state.subject_keys else {
            return Revealer {
                keys: HashMap::new(),
                erasures,
            };
        };
        let keys = match store.keys_for(wanted).await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(
                    message = "Personal fields shown sealed: the key store did not answer.",
                    %error
                );
                HashMap::new()
            }
        };
        Revealer { keys, erasures }
    }

    /// What one token shows.
    pub fn show(&self, token: &str) -> String {
        let Some(Ok(sealed)) = SealedText::parse(token) else {
            return SEALED_MARKER.to_owned();
        };
        if let Some(erasure) = self.erasures.get(&sealed.subject) {
            return erased_marker(erasure);
        }
        self.keys
            .get(&sealed.subject)
            .and_then(|key| sealed.open(key).ok())
            .unwrap_or_else(|| SEALED_MARKER.to_owned())
    }

    /// `text` with every token replaced by what it shows, written as `escape` says; `None`
    /// when it holds no token (the caller keeps its bytes).
    pub fn reveal_bytes(&self, text: &[u8], escape: Escape) -> Option<Vec<u8>> {
        let found = tokens(text);
        if found.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(text.len());
        let mut from = 0;
        for range in found {
            out.extend_from_slice(&text[from..range.start]);
            let shown = std::str::from_utf8(&text[range.clone()])
                .map(|token| self.show(token))
                .unwrap_or_else(|_| SEALED_MARKER.to_owned());
            out.extend_from_slice(escaped(&shown, escape).as_bytes());
            from = range.end;
        }
        out.extend_from_slice(&text[from..]);
        Some(out)
    }

    /// `text` with every token replaced by what it shows.
    pub fn reveal_str(&self, text: &str) -> String {
        match self.reveal_bytes(text.as_bytes(), Escape::Plain) {
            Some(bytes) => String::from_utf8(bytes).unwrap_or_else(|_| SEALED_MARKER.to_owned()),
            None => text.to_owned(),
        }
    }

    /// Every string in `value` (keys left as they are) revealed.
    pub fn reveal_value(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) if has_tokens(text.as_bytes()) => {
                *text = self.reveal_str(text);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.reveal_value(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.reveal_value(v)),
            _ => {}
        }
    }

    /// An export's sidecar line for the stored event `line` (no line end): the event's id
    /// and, per sealed field of its `data`, what it shows. `None` when the event has no sealed
    /// field (or is not an event).
    pub fn sidecar(&self, line: &[u8]) -> Option<Vec<u8>> {
        if !has_tokens(line) {
            return None;
        }
        let event: serde_json::Value = serde_json::from_slice(line).ok()?;
        let event_id = event.get("event_id")?.as_str()?;
        let fields: serde_json::Map<String, serde_json::Value> = event
            .get("data")?
            .as_object()?
            .iter()
            .filter_map(|(name, value)| {
                let text = value.as_str()?;
                has_tokens(text.as_bytes()).then(|| (name.clone(), self.reveal_str(text).into()))
            })
            .collect();
        if fields.is_empty() {
            return None;
        }
        let mut out = format!("{{\"{SIDECAR_KEY}\":").into_bytes();
        out.extend(serde_json::to_vec(event_id).ok()?);
        out.extend_from_slice(b",\"fields\":");
        out.extend(serde_json::to_vec(&fields).ok()?);
        out.push(b'}');
        Some(out)
    }
}

/// Whether a line of an export is a sidecar (what [`Revealer::sidecar`] writes), which
/// `pilot verify`, `pilot import` and `POST /api/v1/import` skip: its plain text is never
/// stored, and it is no event.
pub fn is_sidecar(line: &[u8]) -> bool {
    let trimmed = line.trim_ascii_start();
    if trimmed.starts_with(format!("{{\"{SIDECAR_KEY}\"").as_bytes()) {
        return true;
    }
    // A sidecar reformatted by another tool (key order, spaces) is still one.
    trimmed.starts_with(b"{")
        && find(trimmed, SIDECAR_KEY.as_bytes()).is_some()
        && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(trimmed).is_ok_and(
            |object| object.contains_key(SIDECAR_KEY) && !object.contains_key("event_id"),
        )
}

fn escaped(shown: &str, escape: Escape) -> String {
    match escape {
        Escape::Plain => shown.to_owned(),
        Escape::Json => {
            let quoted = serde_json::Value::from(shown).to_string();
            quoted[1..quoted.len() - 1].to_owned()
        }
        Escape::Html => {
            let mut out = String::with_capacity(shown.len());
            for c in shown.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&#34;"),
                    '\'' => out.push_str("&#39;"),
                    c => out.push(c),
                }
            }
            out
        }
    }
}

/// Middleware: every JSON and CSV answer with sealed texts gets them revealed (the export's
/// JSON Lines and the event stream are not touched here: they add sidecars themselves).
pub async fn reveal_answers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let escape = match content_type(&response) {
        Some(kind) if kind.starts_with("application/json") => Escape::Json,
        Some(kind) if kind.starts_with("text/csv") => Escape::Plain,
        _ => return response,
    };
    reveal_response(&state, response, escape, |revealer, body| match escape {
        Escape::Plain => reveal_csv(revealer, body),
        _ => revealer.reveal_bytes(body, escape),
    })
    .await
}

/// The media type of `response`, lower case, without parameters' case changed.
pub fn content_type(response: &Response) -> Option<String> {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
}

/// `response` with its body read, revealed by `rewrite` (`None`: unchanged) and put back.
pub async fn reveal_response(
    state: &AppState,
    response: Response,
    escape: Escape,
    rewrite: impl FnOnce(&Revealer, &[u8]) -> Option<Vec<u8>>,
) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_REVEALED_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(message = "An answer could not be read to reveal it.", %error, ?escape);
            return crate::ApiError::internal("the answer could not be prepared").into_response();
        }
    };
    if !has_tokens(&bytes) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let revealer = Revealer::load(state, [bytes.as_ref()]).await;
    match rewrite(&revealer, &bytes) {
        Some(revealed) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            if let Ok(length) = HeaderValue::try_from(revealed.len().to_string()) {
                parts.headers.insert(header::CONTENT_LENGTH, length);
            }
            Response::from_parts(parts, Body::from(revealed))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// A CSV answer with each cell revealed and the file written again in the same dialect (a
/// revealed text may need quotes its token did not). A leading byte-order mark stays.
fn reveal_csv(revealer: &Revealer, body: &[u8]) -> Option<Vec<u8>> {
    let bom = crate::spreadsheet::BOM;
    let (mut out, rows) = match body.strip_prefix(bom) {
        Some(rest) => (bom.to_vec(), rest),
        None => (Vec::new(), body),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(rows);
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for record in reader.records() {
        let record = record.ok()?;
        let cells: Vec<String> = record
            .iter()
            .map(|cell| revealer.reveal_str(cell))
            .collect();
        writer.write_record(&cells).ok()?;
    }
    out.extend(writer.into_inner().ok()?);
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use pilot_events::personal::{seal, KEY_BYTES};
    use time::macros::datetime;

    fn subject(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn key(byte: u8) -> SubjectKey {
        SubjectKey::from_bytes([byte; KEY_BYTES])
    }

    fn revealer() -> Revealer {
        let erasure = Erasure {
            at: datetime!(2026-03-01 09:30 UTC),
            reason: "asked to be forgotten".into(),
            event_id: subject(99),
        };
        Revealer::new(
            HashMap::from([(subject(1), key(1))]),
            HashMap::from([(subject(2), erasure)]),
        )
    }

    #[test]
    fn a_token_shows_its_text_its_erasure_or_sealed() {
        let known = seal(&key(1), subject(1), "summary", "Li said \"yes\" <b>").to_string();
        let erased = seal(&key(2), subject(2), "note", "gone").to_string();
        let unknown = seal(&key(3), subject(3), "name", "who").to_string();
        let text = format!("a {known}; {erased}, {unknown}.");
        let shown = revealer().reveal_str(&text);
        assert_eq!(
            shown,
            "a Li said \"yes\" <b>; [erased 2026-03-01T09:30:00Z: asked to be forgotten], [sealed]."
        );
        let json = String::from_utf8(
            revealer()
                .reveal_bytes(format!("{{\"s\":\"{known}\"}}").as_bytes(), Escape::Json)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(json, r#"{"s":"Li said \"yes\" <b>"}"#);
        let html = revealer()
            .reveal_bytes(known.as_bytes(), Escape::Html)
            .unwrap();
        assert_eq!(html, b"Li said &#34;yes&#34; &lt;b&gt;");
        assert_eq!(
            revealer().reveal_bytes(b"no tokens, sealed:v1:x", Escape::Json),
            None
        );
    }

    #[test]
    fn tokens_are_found_by_shape_and_their_subjects_named() {
        let a = seal(&key(1), subject(1), "summary", "x").to_string();
        let b = seal(&key(2), subject(2), "name", "y").to_string();
        let text = format!("[\"{a}\",\"sealed:v1:bad\",\"{b}\"]");
        assert_eq!(tokens(text.as_bytes()).len(), 2);
        assert_eq!(
            subjects_in(text.as_bytes()),
            HashSet::from([subject(1), subject(2)])
        );
    }

    #[test]
    fn a_sidecar_names_the_event_and_its_sealed_fields_and_is_known_as_one() {
        let summary = seal(&key(1), subject(1), "summary", "met, 同意").to_string();
        let line = format!(
            "{{\"event_id\":\"{}\",\"data\":{{\"summary\":\"{summary}\",\"channel\":\"meeting\"}}}}",
            subject(5)
        );
        let sidecar = revealer().sidecar(line.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(sidecar.clone()).unwrap(),
            format!(
                "{{\"revealed_for\":\"{}\",\"fields\":{{\"summary\":\"met, 同意\"}}}}",
                subject(5)
            )
        );
        assert!(is_sidecar(&sidecar));
        assert!(is_sidecar(b" { \"fields\": {}, \"revealed_for\": \"x\" }"));
        assert!(!is_sidecar(line.as_bytes()));
        assert_eq!(
            revealer().sidecar(b"{\"event_id\":\"x\",\"data\":{}}"),
            None
        );
    }

    #[test]
    fn a_csv_cell_that_needs_quotes_gets_them() {
        let name = seal(&key(1), subject(1), "name", "Li, \"the\" secretary").to_string();
        let body = format!("\u{feff}id,name\n1,{name}\n");
        let out = reveal_csv(&revealer(), body.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{feff}id,name\n1,\"Li, \"\"the\"\" secretary\"\n"
        );
    }
}
