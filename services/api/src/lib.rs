//! pilot-tracker's HTTP API (the `api` part of `pilot serve`): the live projections of the
//! JetStream event log, served as JSON in DOMAIN.md's names, and the writes.
//!
//! - [`api`]: the HTTP routes ([`app`]); [`state`]: what they share; [`query`]: query
//!   parameters and times; [`error`]: the one error shape; [`chains`]: loading a restored
//!   pilot's chain for a past view.
//! - [`reads`]: the read endpoints; [`writes`]: appends and imports; [`offices`]: who may
//!   write for which office; [`alerts_api`]: alerts, acknowledgements and silences.
//! - [`stream`]: the log as stored, in pages of JSON Lines and live as Server-Sent Events.
//! - [`auth`]: tokens and roles.
//! - [`openapi`]: the OpenAPI document (generated from the handlers) and its reference page.
//! - [`demo`]: loading a sealed JSON Lines history into the log as stored (`POST
//!   /api/v1/import`, and `pilot serve --demo`).
//! - [`sealer`]: signed seals of every chain's head, taken as the log moves and after imports.
//!
//! The process around it (configuration, the local nats-server, start-up and shutdown) is the
//! `pilot` binary's (crate `pilot-service`).

pub mod alerts_api;
pub mod api;
pub mod auth;
pub mod chains;
pub mod demo;
pub mod error;
pub mod offices;
pub mod openapi;
pub mod query;
pub mod reads;
pub mod sealer;
pub mod state;
pub mod stream;
pub mod writes;

pub use api::app;
pub use error::ApiError;
pub use state::AppState;
