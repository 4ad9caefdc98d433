//! pilot-tracker's HTTP API (the `api` part of `pilot serve`): the live projections of the
//! JetStream event log, served as JSON in docs/domain.md's names, and the writes.
//!
//! - [`api`]: the HTTP routes ([`app`]); [`state`]: what they share; [`query`]: query
//!   parameters and times; [`error`]: the one error shape; [`chains`]: loading a restored
//!   pilot's chain for a past view.
//! - [`reads`]: the read endpoints; [`writes`]: appends and imports; [`offices`]: who may
//!   write for which office; [`alerts_api`]: alerts, acknowledgements and silences.
//! - [`spreadsheet`]: how a list endpoint answers CSV (`format=csv`, `Accept: text/csv`,
//!   `bom=true`); [`tables`]: each table's columns, decided once.
//! - [`stream`]: the log as stored, in pages of JSON Lines and live as Server-Sent Events.
//! - [`auth`]: tokens and roles.
//! - [`http_layers`]: compression and CORS around every response.
//! - [`csv_import`]: spreadsheets of drafts of one type, a row each, idempotent per row.
//! - [`openapi`]: the OpenAPI document (generated from the handlers) and its reference page.
//! - [`demo`]: loading a sealed JSON Lines history into the log as stored (`POST
//!   /api/v1/import`, and `pilot serve --demo`).
//! - [`reveal`]: sealed personal fields shown as their text, or erased (with when and why),
//!   in every answer; the export's sidecar lines.
//! - [`erasure`]: erasing a person's personal data (`subject.erased`, the key destroyed).
//! - [`retention`]: the erasure plan of the `[[retention]]` rules and the loop that carries it
//!   out through [`erasure`] (the erasure path).
//! - [`sealer`]: signed seals of every chain's head, taken as the log moves and after imports.
//!
//! The process around it (configuration, the local nats-server, start-up and shutdown) is the
//! `pilot` binary's (crate `pilot-service`).

pub mod alerts_api;
pub mod api;
pub mod auth;
pub mod chains;
pub mod csv_import;
pub mod demo;
pub mod erasure;
pub mod error;
pub mod http_layers;
pub mod offices;
pub mod openapi;
pub mod personal_import;
pub mod query;
pub mod reads;
pub mod retention;
pub mod reveal;
pub mod sealer;
pub mod spreadsheet;
pub mod state;
pub mod stream;
pub mod tables;
pub mod writes;

pub use api::app;
pub use error::ApiError;
pub use state::AppState;
