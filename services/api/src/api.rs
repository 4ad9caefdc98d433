//! The HTTP API (JSON), in docs/domain.md's names.
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | 200 `{"status": "ok"}` while the process runs |
//! | `GET /readyz` | 200 `{"status": "ready", "position": N}` once the projections have caught up with the log since start-up and NATS is connected; else 503 (for good, with the reason, when the event log holds less than the service has seen: see `pilot_runtime::checkpoint`) |
//! | `GET /metrics` | Prometheus text format ([`pilot_metrics`]) |
//! | `GET /api/v1/openapi.json`, `GET /api/v1/docs/` | the OpenAPI 3.1 document of every route, generated from the handlers, and its reference page ([`crate::openapi`]) |
//! | `GET /api/v1/pilots?stage=&office=&stalled=&as_of=&known_at=` | every pilot's view ([`PilotView`]), ordered by `pilot_id`, filtered, now or in the past |
//! | `GET /api/v1/pilots/{id}?as_of=&known_at=` | one pilot now, or as of a world date and/or as known at a system date ([`crate::query`]); 404 for an unknown pilot or one not yet proposed then |
//! | `GET /api/v1/pilots/{id}/events` | the pilot's chain as stored (the wire format), each event with its `version` and stream `position` |
//! | `GET /api/v1/pilots/{id}/support?as_of=&known_at=` | the pilot's `support_index`, `coalition`, `opposition` and a row per stakeholder with a stance |
//! | `GET /api/v1/stakeholders`, `GET /api/v1/stakeholders/{id}` | the registry with ledger `points`; one stakeholder with its stances across pilots, its ledger lines, and its tenures (posts held; for a post, its holders) |
//! | `GET /api/v1/jurisdictions`, `GET /api/v1/jurisdictions/{id}` | the registered jurisdictions with `context_count` and `pilot_count`; one with its context in (`occurred_at`, position) order and the `pilot_ids` that name it ([`crate::reads::jurisdictions`]) |
//! | `GET /api/v1/highlights?stakeholder=&office=&pilot=&level=&from=&until=` | the political-highlight ledger's lines in (`occurred_at`, position) order |
//! | `GET /api/v1/offices` | every credited office with its `points` ([`crate::reads::offices`]) |
//! | `GET /api/v1/analytics?as_of=` | comparative analytics over every pilot as of a world date (now by default): proposal → approval and request → decision by approver level and approver, stall rates, support trajectories, points per stakeholder and office per year, time to scale-up ([`pilot_projections::analytics`]) |
//! | `GET /api/v1/events?after=&limit=&pilot=&redact=` | the log as stored, as JSON Lines pages, each event with sealed personal fields followed by a sidecar line revealing them unless `redact=true` ([`crate::stream`]) |
//! | `GET /api/v1/events/stream` | Server-Sent Events of what the projections apply |
//! | `POST /api/v1/subjects/{id}/erase` | admin: erases a person's personal data (`subject.erased`, then the key destroyed); 409 `already_erased` the second time ([`crate::erasure`]) |
//! | `GET /api/v1/subjects/erasure-plan` | (admin) every person a `[[retention]]` rule will erase and when ([`crate::retention`]) |
//! | `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, `POST /api/v1/alerts/{id}/ack`, `POST /api/v1/alerts/{id}/silence` | recorded alerts; acknowledging and silencing ([`crate::alerts_api`]) |
//!
//! The `/api/v1` routes answer 503 `not_ready` until the projections have caught up. Every
//! error has the shape of [`ApiError`]. Every JSON and CSV answer shows sealed personal fields
//! as their text, or erased with when and why ([`crate::reveal`]). Handlers copy what they need out of the projection
//! under its read lock and release it before any `.await`.

use crate::alerts_api;
use crate::auth::{Caller, Lookup, Role};
use crate::error::{ApiError, Body as ErrorBody};
use crate::openapi;
use crate::reads;
use crate::retention;
use crate::state::AppState;
use crate::stream;
use crate::writes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use pilot_metrics as metrics;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// How long a read with `min_position` waits for the projections to reach that position.
pub const MIN_POSITION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// The header alternative to `?min_position=`.
pub const MIN_POSITION_HEADER: &str = "pilot-min-position";

/// The whole HTTP service over `state`, with its OpenAPI document and reference page.
pub fn app(state: AppState) -> Router {
    let (router, document) = routes(&state).split_for_parts();
    let app = router
        .merge(openapi::reference(openapi::complete(
            document,
            MIN_POSITION_HEADER,
        )))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(trace_layer())
        .with_state(state.clone());
    let own_headers = [header::HeaderName::from_static(MIN_POSITION_HEADER)];
    crate::http_layers::apply(app, &state.cors, &own_headers)
}

/// The route table: each handler with its OpenAPI entry (`routes!`), so the two cannot differ.
fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let access = &state.access;
    let body_limit = |bytes: usize| DefaultBodyLimit::max(bytes);
    let reads = OpenApiRouter::new()
        .routes(routes!(reads::list_pilots))
        .routes(routes!(reads::get_pilot))
        .routes(routes!(reads::pilot_events))
        .routes(routes!(reads::highlights))
        .routes(routes!(reads::offices))
        .routes(routes!(reads::pilot_support))
        .routes(routes!(reads::stakeholders))
        .routes(routes!(reads::stakeholder))
        .routes(routes!(reads::analytics))
        .routes(routes!(reads::jurisdictions))
        .routes(routes!(reads::jurisdiction))
        .routes(routes!(stream::export))
        .routes(routes!(stream::live))
        .routes(routes!(alerts_api::list))
        .routes(routes!(alerts_api::export))
        .routes(routes!(alerts_api::get))
        .routes(routes!(reads::latest_seal))
        .routes(routes!(retention::erasure_plan));
    let writes = OpenApiRouter::new()
        .routes(routes!(writes::append).layer(body_limit(access.max_body_bytes)))
        .routes(routes!(writes::append_to_pilot).layer(body_limit(access.max_body_bytes)))
        .routes(routes!(alerts_api::acknowledge))
        .routes(routes!(alerts_api::silence))
        .routes(routes!(writes::import).layer(body_limit(access.max_import_bytes)))
        .routes(routes!(crate::erasure::erase));
    // Layers run outside in: readiness, then who is calling, then read-your-writes, then
    // the answer's sealed personal fields revealed (`openapi::complete` documents what they
    // add to every route).
    let api = reads
        .merge(writes)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::reveal::reveal_answers,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            wait_for_position,
        ))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_ready));
    open_routes().nest(openapi::API_PREFIX, api)
}

/// With `--only projector`: health, readiness and metrics, no API.
pub fn operations(state: AppState) -> Router {
    let (router, _) = open_routes().split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(trace_layer())
        .with_state(state)
}

/// The endpoints that need no token (see [`crate::auth`]); the document and its reference
/// page are added by [`openapi::reference`].
fn open_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(scrape_metrics))
}

fn trace_layer() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    DefaultMakeSpan,
    tower_http::trace::DefaultOnRequest,
    DefaultOnResponse,
> {
    TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

/// Finds the caller by their bearer token and hands it to the handler as an extension;
/// refuses what the caller's role may not do at all (a clerk's office is checked by the
/// write handler, which knows the pilot).
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let caller = match bearer(request.headers()) {
        Bearer::Token(token) => match state.access.tokens.lookup(token) {
            Lookup::Known(caller) => caller,
            Lookup::Expired { name, at } => {
                return ApiError::unauthorized(format!(
                    "this token ({name}) expired at {}: ask an administrator for a new one \
                     (`pilot token new`)",
                    pilot_events::rfc3339(at)
                ))
                .into_response()
            }
            Lookup::Unknown => {
                return ApiError::unauthorized(
                    "this token is not known: ask an administrator for one (`pilot token new`)",
                )
                .into_response()
            }
        },
        Bearer::Malformed => {
            return ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
                .into_response()
        }
        Bearer::Missing
            if matches!(*request.method(), Method::GET | Method::HEAD)
                && state.access.anonymous_reads =>
        {
            Caller {
                name: "anonymous".to_string(),
                role: Role::Analyst,
                office: None,
            }
        }
        Bearer::Missing => {
            return ApiError::unauthorized(
                "this endpoint needs a token: send `Authorization: Bearer <token>`",
            )
            .into_response()
        }
    };
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let spreadsheet = writes::is_csv(request.headers());
    if let Err(error) = role_allows(&caller, request.method(), &path, spreadsheet) {
        return error.into_response();
    }
    tracing::Span::current().record("caller", caller.name.as_str());
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// What each role may do, by route; reads are open to every role. A spreadsheet import
/// (`spreadsheet`: a CSV body) is a clerk's write like any other, each row checked against the
/// clerk's office; sealed history is an admin's.
fn role_allows(
    caller: &Caller,
    method: &Method,
    path: &str,
    spreadsheet: bool,
) -> Result<(), ApiError> {
    let refuse = |what: &str| {
        Err(ApiError::forbidden(format!(
            "{what}; {} holds role {}",
            caller.name,
            caller.role.name()
        )))
    };
    match (method, path) {
        (&Method::GET, "/api/v1/events" | "/api/v1/alerts/events") if !caller.may_export() => {
            refuse("exporting the log needs role analyst or admin")
        }
        (&Method::GET | &Method::HEAD, "/api/v1/subjects/erasure-plan")
            if caller.role != Role::Admin =>
        {
            refuse("the erasure plan (which persons are erased, and when) needs role admin")
        }
        (&Method::POST, "/api/v1/import") if caller.role != Role::Admin && !spreadsheet => {
            refuse("importing sealed history needs role admin (a clerk imports a spreadsheet: Content-Type: text/csv)")
        }
        (&Method::POST, "/api/v1/subjects/{id}/erase") if caller.role != Role::Admin => {
            refuse("erasing a person's personal data needs role admin")
        }
        (&Method::GET | &Method::HEAD, _) => Ok(()),
        _ if caller.role == Role::Analyst => {
            refuse("analysts read, export and replay; writing needs role clerk or admin")
        }
        _ => Ok(()),
    }
}

enum Bearer<'a> {
    Missing,
    Malformed,
    Token(&'a str),
}

fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Bearer::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Bearer::Malformed;
    };
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Bearer::Token(token.trim())
        }
        _ => Bearer::Malformed,
    }
}

/// Read-your-writes: a request that names a stream position (`?min_position=` or the
/// `Pilot-Min-Position` header) waits until the projections have reached it, for at most
/// [`MIN_POSITION_WAIT`].
async fn wait_for_position(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let from_query = request.uri().query().and_then(|query| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "min_position")
            .map(|(_, value)| value.to_string())
    });
    let from_header = request
        .headers()
        .get(MIN_POSITION_HEADER)
        .map(|v| v.to_str().unwrap_or("?").to_string());
    let Some(raw) = from_query.or(from_header) else {
        return next.run(request).await;
    };
    let Ok(position) = raw.trim().parse::<u64>() else {
        return ApiError::invalid(
            "min_position",
            format!("min_position must be a stream position (a whole number, as a write returned it); got {raw:?}"),
        )
        .into_response();
    };
    if !state.projection.wait_for(position, MIN_POSITION_WAIT).await {
        return ApiError::not_caught_up(position, state.projection.position()).into_response();
    }
    next.run(request).await
}

/// Prometheus metrics.
///
/// The process's figures in the Prometheus text format (`pilot_metrics`).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses(
        (status = 200, description = "The Prometheus text format.", content_type = "text/plain; version=0.0.4",
            body = String, example = "# TYPE pilot_events_appended counter\npilot_events_appended_total 42\n"),
        (status = 500, description = "`internal`: the metrics cannot be encoded.", body = ErrorBody),
    )
)]
async fn scrape_metrics(State(state): State<AppState>) -> Response {
    let counts = state.projection.read().alerts().recorded().counts();
    for kind in pilot_projections::StateKind::ALL {
        state.metrics.set_alerts(
            kind.as_str(),
            i64::try_from(counts.get(kind)).unwrap_or(i64::MAX),
        );
    }
    state.metrics.set_ready(not_ready(&state).is_none());
    state
        .metrics
        .set_nats_connected(state.log.outage().is_none());
    let log_last = tokio::time::timeout(
        metrics::LOG_POSITION_TIMEOUT,
        pilot_store::EventLog::last_position(&state.log),
    )
    .await
    .ok()
    .and_then(Result::ok);
    match state.metrics.render(log_last) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            ApiError::internal(format!("cannot encode the metrics: {error}")).into_response()
        }
    }
}

/// Liveness.
///
/// 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The process runs.", body = Status,
        example = json!({"status": "ok"})))
)]
async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok",
        position: None,
    })
}

/// Readiness.
///
/// 200 once the projections have caught up with the log since start-up and NATS is
/// connected; else 503, for good (with the reason) when the event log holds less than the
/// service has seen.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses(
        (status = 200, description = "Ready, at this stream position.", body = Status,
            example = json!({"status": "ready", "position": 1234})),
        (status = 503, description = "`not_ready`: catching up, NATS unreachable, or the log refused.", body = ErrorBody,
            example = json!({"error": {"code": "not_ready", "message": "the projections are catching up with the event log"}})),
    )
)]
async fn readyz(State(state): State<AppState>) -> Response {
    if let Some(reason) = not_ready(&state) {
        return ApiError::not_ready(reason).into_response();
    }
    let position = state.projection.position();
    Json(Status {
        status: "ready",
        position: Some(position),
    })
    .into_response()
}

/// Why `/readyz` answers 503 now; `None` when it answers 200. `/metrics` shows the same as
/// `pilot_ready`, so an alert and a load balancer never disagree.
fn not_ready(state: &AppState) -> Option<String> {
    if let Some(reason) = state.refused().or_else(|| state.writes_stopped()) {
        return Some(reason);
    }
    if !state.is_ready() {
        return Some("the projections are catching up with the event log".to_string());
    }
    state.log.outage()
}

async fn require_ready(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(reason) = state.refused() {
        return ApiError::not_ready(reason).into_response();
    }
    let write = !matches!(*request.method(), Method::GET | Method::HEAD);
    if let Some(reason) = state.writes_stopped().filter(|_| write) {
        return ApiError::not_ready(reason).into_response();
    }
    if state.is_ready() {
        next.run(request).await
    } else {
        ApiError::not_ready("the projections are catching up with the event log; try again")
            .into_response()
    }
}

/// The answer of `/healthz` and `/readyz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Status {
    /// `ok` (alive) or `ready`.
    status: &'static str,
    /// `/readyz`: the stream position the projections have applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            name: "t".to_string(),
            role,
            office: Some("SSDNC".to_string()),
        }
    }

    #[test]
    fn clerks_import_spreadsheets_and_only_admins_import_sealed_history() {
        let import = "/api/v1/import";
        assert!(role_allows(&caller(Role::Clerk), &Method::POST, import, true).is_ok());
        let sealed = role_allows(&caller(Role::Clerk), &Method::POST, import, false).unwrap_err();
        assert!(sealed.message.contains("role admin"), "{}", sealed.message);
        assert!(role_allows(&caller(Role::Admin), &Method::POST, import, false).is_ok());
        assert!(role_allows(&caller(Role::Analyst), &Method::POST, import, true).is_err());
    }

    #[test]
    fn only_admins_read_the_erasure_plan() {
        let plan = "/api/v1/subjects/erasure-plan";
        for role in [Role::Analyst, Role::Clerk] {
            let refused = role_allows(&caller(role), &Method::GET, plan, false).unwrap_err();
            assert!(
                refused.message.contains("role admin"),
                "{}",
                refused.message
            );
        }
        assert!(role_allows(&caller(Role::Admin), &Method::GET, plan, false).is_ok());
    }
}
