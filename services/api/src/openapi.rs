//! The OpenAPI 3.1 document and the interactive reference, both generated from the code.
//!
//! Each handler carries its own `#[utoipa::path]` (parameters, bodies, answers, examples) and
//! the route table in [`crate::api`] registers it with `utoipa_axum::routes!`, so a route
//! cannot exist without its entry, nor an entry without its route. What holds for every
//! `/api/v1` route because of the middleware there (the bearer token, `min_position`, the
//! readiness and role refusals) is added here once by [`complete`], from the same layers'
//! description. The wire format's schemas (one per event type) come from
//! [`pilot_events::openapi`].
//!
//! The reference page (Swagger UI) is built into the binary (`utoipa-swagger-ui`'s `vendored`
//! assets): it loads nothing from outside the server, and its Content-Security-Policy says so.

use crate::error::Body as ErrorBody;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi, PathItem, RefOr, Required, ResponseBuilder, SecurityRequirement,
};
use utoipa::ToSchema;
use utoipa_swagger_ui::{Config, SwaggerUi};

pub mod examples;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
/// Where the reference page is served.
pub const DOCS_PATH: &str = "/api/v1/docs";
/// The prefix of the routes behind readiness, a token and read-your-writes.
pub const API_PREFIX: &str = "/api/v1";
/// The name of the bearer security scheme.
const BEARER: &str = "bearer";

/// The reference page may load and call only its own server.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The title, version and introduction of the document.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "pilot-tracker",
        version = "1",
        description = "The HTTP API of `pilot serve`: an event-sourced tracker of government \
            policy pilots (docs/domain.md). JSON in docs/domain.md's names; every error has the shape of \
            `Error` with a stable `code`. Every route under /api/v1 takes `min_position` (or \
            the `Pilot-Min-Position` header) to read its own writes, and answers 503 \
            `not_ready` until the projections have caught up after start-up. The events' \
            `data` are typed per `type` (`Draft`, `Event`): the wire format is \
            docs/wire-format.md."
    ),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document: no token needed."),
        (name = "pilots", description = "Pilots now, or as of a world date and as known at a system date."),
        (name = "stakeholders", description = "The stakeholder registry, stances and tenures."),
        (name = "ledger", description = "The political-highlight ledger and the credited offices."),
        (name = "jurisdictions", description = "Registered jurisdictions and their context."),
        (name = "analytics", description = "Comparative figures over every pilot."),
        (name = "events", description = "The log: appends, exports, the live stream, imports and seals."),
        (name = "alerts", description = "Recorded stall alerts; acknowledging and silencing."),
        (name = "personal data", description = "Persons' personal fields are stored sealed; erasing a person destroys their key (docs/personal-data.md)."),
    )
)]
struct Introduction;

/// The whole document: what the routes registered, the introduction, the wire format's
/// schemas, and what every `/api/v1` route has in common.
pub fn complete(routes: OpenApi, min_position_header: &str) -> OpenApi {
    let mut document = <Introduction as utoipa::OpenApi>::openapi();
    document.merge(routes);
    let components = document
        .components
        .get_or_insert_with(utoipa::openapi::Components::new);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "`Authorization: Bearer <token>` (`pilot token new`). Roles: clerk (reads; \
                     appends and alert actions for pilots of its own office), analyst (reads, \
                     exports), admin (everything, import included). A server may answer GETs \
                     without a token as for an analyst (`anonymous_reads`).",
                ))
                .build(),
        ),
    );
    for (name, schema) in pilot_events::openapi::schemas() {
        components.schemas.entry(name).or_insert(schema);
    }
    // Answers described by an `IntoResponses` list (or by no `body =` at all) refer to these
    // schemas without registering them.
    register::<ErrorBody>(components);
    register::<crate::writes::Appended>(components);
    document
        .paths
        .paths
        .insert(DOCUMENT_PATH.to_string(), this_document());
    for (path, item) in document.paths.paths.iter_mut() {
        if path.starts_with(API_PREFIX) && path != DOCUMENT_PATH {
            for operation in operations(item) {
                behind_the_middleware(operation, min_position_header);
            }
        }
    }
    document
}

/// `GET /api/v1/openapi.json` itself, served beside the reference page by [`reference`].
fn this_document() -> PathItem {
    let operation = OperationBuilder::new()
        .operation_id(Some("openapi"))
        .tag("operations")
        .summary(Some("This document"))
        .description(Some(
            "The OpenAPI 3.1 document of every route, generated from the handlers; the \
             reference page at /api/v1/docs/ reads it.",
        ))
        .security(SecurityRequirement::default())
        .response(
            "200",
            ResponseBuilder::new()
                .description("The OpenAPI document.")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
                        .example(Some(serde_json::json!({
                            "openapi": "3.1.0",
                            "info": {"title": "pilot-tracker", "version": "1"},
                            "paths": {}
                        })))
                        .build(),
                ),
        )
        .build();
    PathItem::new(HttpMethod::Get, operation)
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// What `api::app`'s layers add to each `/api/v1` route: `require_ready` (503 `not_ready`),
/// `authenticate` (401, 403), `wait_for_position` (`min_position`, 400, 503 `not_caught_up`).
fn behind_the_middleware(operation: &mut Operation, min_position_header: &str) {
    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let position = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
    };
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    parameters.push(
        ParameterBuilder::new()
            .name("min_position")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(position()))
            .description(Some(
                "Read your own writes: wait (up to 5 s) until the projections have applied this \
                 stream position, as a write returned it; 503 `not_caught_up` if they do not.",
            ))
            .build(),
    );
    parameters.push(
        ParameterBuilder::new()
            .name(min_position_header)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .schema(Some(position()))
            .description(Some("The header alternative to `min_position`."))
            .build(),
    );
    let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name(
                        ErrorBody::name(),
                    )))
                    .build(),
            )
            .into()
    };
    let responses = &mut operation.responses.responses;
    for (status, description) in [
        ("400", "`invalid_parameter`, `unknown_parameter` or `invalid_query`: a query parameter (`field`) is wrong or not taken here."),
        ("401", "`unauthorized`: no token, an unknown or an expired one."),
        ("403", "`forbidden`: the caller's role or office may not do this."),
        ("500", "`internal`: a fault of pilot's own, logged."),
        ("503", "`not_ready` (the projections are catching up, or writes are stopped), `not_caught_up` (`min_position` not reached) or `store_unavailable`."),
    ] {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error(description));
    }
}

/// The reference page at [`DOCS_PATH`], reading the document at [`DOCUMENT_PATH`] (which it
/// also serves), with a policy that keeps it on this server.
pub fn reference<S: Clone + Send + Sync + 'static>(document: OpenApi) -> Router<S> {
    let ui = SwaggerUi::new(DOCS_PATH)
        .url(DOCUMENT_PATH, document)
        // The default validator is an outside service that the page would ask about the
        // document: none here.
        .config(
            Config::default()
                .validator_url("none")
                .try_it_out_enabled(true),
        );
    Router::from(ui).layer(axum::middleware::map_response(
        |mut response: Response| async move {
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CSP),
            );
            response
        },
    ))
}

/// Adds `T`'s schema and every schema it refers to, unless present.
fn register<T: utoipa::ToSchema>(components: &mut utoipa::openapi::Components) {
    let mut referred = Vec::new();
    T::schemas(&mut referred);
    for (name, schema) in referred {
        components.schemas.entry(name).or_insert(schema);
    }
    components
        .schemas
        .entry(T::name().into_owned())
        .or_insert_with(<T as utoipa::PartialSchema>::schema);
}
