//! `pilot`, the binary of pilot-tracker: the command line, and `pilot serve`, which wires the
//! parts (crates of their own) into one process: the HTTP API (`pilot_api`), the projector
//! (`pilot_store`), the alerter and its webhook sink (`pilot_alerter`), and `/metrics`
//! (`pilot_metrics`); optionally with its own local nats-server.
//!
//! - [`cli`]: the command line; its client commands (HTTP, or NATS directly) are the crate
//!   `pilot_client`.
//! - [`serve`]: start-up and shutdown, in order; [`config`]: the configuration it runs with,
//!   from the file's shape ([`config_file`]), whose keys are also variables and flags
//!   ([`config_keys`]), laid over each other ([`config_layers`]); [`env_check`]: warnings for
//!   `PILOT_*` variables pilot does not read.
//! - [`nats_server`]: the local nats-server pilot runs when no `--nats` URL is given;
//!   [`nats_supervisor`]: restarting it when it dies; [`data_dir_lock`]: one `pilot serve`
//!   per data directory.
//!   [`nats_auth`]: the NATS users of each role, their permissions and the local credentials;
//!   the `[nats]` settings as connect options are the crate `pilot_nats`'s.
//! - [`workspace`]: finding the workspace's own files (install script, demo history).
//! - [`token_reload`]: picking up token changes while serving; [`layout_watch`]: stopping
//!   writes when a stream's configuration changes under the service.
//! - [`signals`]: SIGINT and SIGTERM; [`http_server`]: the HTTP listener with its timeouts and
//!   connection cap.
//! - [`telemetry`]: where logs (text or JSON, [`log_format`]) and traces go; `otel` (feature
//!   `otel`): the OpenTelemetry trace export.

pub mod admin;
pub mod cli;
pub mod cli_docs;
pub mod config;
pub mod config_file;
pub mod config_keys;
pub mod config_layers;
pub mod data_dir_lock;
pub mod env_check;
pub mod http_server;
pub mod init;
pub mod keys;
pub mod layout_watch;
pub mod log_format;
pub mod nats_auth;
pub mod nats_binary;
pub mod nats_server;
pub mod nats_supervisor;
#[cfg(feature = "otel")]
pub mod otel;
pub mod serve;
pub mod signals;
pub mod telemetry;
pub mod token_reload;
pub mod workspace;
