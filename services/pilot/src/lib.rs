//! pilot-tracker's HTTP service (`pilot serve`): the live projections of the JetStream event
//! log, served as JSON in DOMAIN.md's names.
//!
//! - [`cli`]: the command line; [`client`]: its client commands (HTTP, or NATS directly).
//! - [`serve`]: start-up and shutdown, in order.
//! - [`nats_server`]: the local nats-server pilot runs when no `--nats` URL is given;
//!   [`nats_supervisor`]: restarting it when it dies; [`data_dir_lock`]: one `pilot serve`
//!   per data directory.
//!   [`nats_auth`]: the NATS users of each role, their permissions and the local credentials.
//! - [`workspace`]: finding the workspace's own files (install script, demo history).
//! - [`demo`]: loading a sealed JSON Lines history into the log as stored.
//! - [`api`]: the HTTP routes ([`app`]); [`state`]: what they share; [`query`]: query
//!   parameters and times; [`error`]: the one error shape; [`chains`]: loading a restored
//!   pilot's chain for a past view.
//! - [`stream`]: the log as stored, in pages of JSON Lines and live as Server-Sent Events;
//!   `/metrics` for Prometheus is the crate `pilot_metrics`, the alerter `pilot_alerter`.
//! - [`auth`]: tokens and roles; [`token_reload`]: picking up token changes while serving.
//! - [`signals`]: SIGINT and SIGTERM; [`http_server`]: the HTTP listener with its timeouts and
//!   connection cap.

pub mod admin;
pub mod alerts_api;
pub mod api;
pub mod auth;
pub mod chains;
pub mod cli;
pub mod client;
pub mod config;
pub mod data_dir_lock;
pub mod demo;
pub mod error;
pub mod http_server;
pub mod init;
pub mod keys;
pub mod layout_watch;
pub mod log_format;
pub mod nats_auth;
pub mod nats_options;
pub mod nats_server;
pub mod nats_supervisor;
pub mod offices;
pub mod query;
pub mod reads;
pub mod sealer;
pub mod serve;
pub mod signals;
pub mod state;
pub mod stream;
pub mod token_reload;
pub mod workspace;
pub mod writes;

pub use api::app;
pub use error::ApiError;
pub use state::AppState;
