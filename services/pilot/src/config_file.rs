//! The TOML file's shape: every key `pilot serve` takes, each optional. These structs are the
//! one list of keys: [`crate::config_keys`] reads the variables and flags off them.

use clap::ValueEnum;
use pilot_api::auth::TokenEntry;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The TOML file, as written: every key optional. Unknown keys are refused, so a typo is an
/// error at start rather than a setting silently ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub consumer: Option<String>,
    pub only: Option<Vec<Part>>,
    pub anonymous_reads: Option<bool>,
    pub secure_cookies: Option<bool>,
    pub max_body_bytes: Option<usize>,
    pub max_import_bytes: Option<usize>,
    pub header_read_timeout_ms: Option<u64>,
    pub body_read_timeout_ms: Option<u64>,
    pub max_connections: Option<usize>,
    pub cors_origins: Option<Vec<String>>,
    pub tokens_file: Option<PathBuf>,
    pub signing_key_file: Option<PathBuf>,
    #[serde(default)]
    pub nats: pilot_nats::NatsConfig,
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
    #[serde(default)]
    pub alerts: pilot_alerter::rules::AlertsFile,
    #[serde(default)]
    pub checkpoints: CheckpointsFile,
}

/// The `[checkpoints]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsFile {
    pub key_file: Option<PathBuf>,
}

/// What one `pilot` process runs. Without `--only`, all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The HTTP API, with its own in-memory projections of the log.
    Api,
    /// The projector alone: follows the log, quarantines what it cannot apply and keeps the
    /// checkpoint fresh; it serves only /healthz, /readyz and /metrics.
    Projector,
    /// The alerter: records stalled-approval alerts on the alert stream and delivers them.
    Alerter,
}
