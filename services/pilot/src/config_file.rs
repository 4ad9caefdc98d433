//! The TOML file's shape: every key `pilot serve` takes, each optional. These structs are the
//! one list of keys: [`crate::config_keys`] reads the variables and flags off them. And the
//! commented example ([`EXAMPLE`]), whose comments are also the flags' help
//! ([`example_comments`]), so each key is explained in one place.

use clap::ValueEnum;
use pilot_api::auth::TokenEntry;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The commented example file `pilot config example` prints; a test keeps it loadable and
/// naming every key.
pub const EXAMPLE: &str = include_str!("../pilot.example.toml");

/// The example's comment on each key, by dotted key (`nats.url`): the comment lines above it
/// (shared by keys listed together), else the comment above its table.
pub fn example_comments() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut table = String::new();
    let mut table_text = String::new();
    let mut text: Vec<&str> = Vec::new();
    let mut after_key = false;
    for line in EXAMPLE.lines() {
        let bare = line.trim_start_matches('#').trim();
        if bare.is_empty() {
            text.clear();
            after_key = false;
            continue;
        }
        let header = bare
            .strip_prefix("[[")
            .and_then(|rest| rest.strip_suffix("]]"))
            .or_else(|| {
                bare.strip_prefix('[')
                    .and_then(|rest| rest.strip_suffix(']'))
            });
        if let Some(name) = header {
            table_text = text.join(" ");
            // A list of tables ([[tokens]]) is one key: its comment is the block's.
            out.entry(name.to_string())
                .or_insert_with(|| table_text.clone());
            table = name.to_string();
            text.clear();
            after_key = false;
            continue;
        }
        let key = bare
            .split_once(" = ")
            .map(|(name, _)| name)
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        match key {
            Some(name) => {
                let dotted = match table.as_str() {
                    "" => name.to_string(),
                    table => format!("{table}.{name}"),
                };
                let help = if text.is_empty() {
                    table_text.clone()
                } else {
                    text.join(" ")
                };
                out.entry(dotted).or_insert(help);
                after_key = true;
            }
            None => {
                if after_key {
                    text.clear();
                    after_key = false;
                }
                text.push(bare);
            }
        }
    }
    out
}

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
    /// `[[retention]]`: when persons of a stakeholder kind are erased (docs/retention.md).
    #[serde(default)]
    pub retention: Vec<pilot_projections::retention::RetentionRule>,
    pub log_format: Option<LogFormat>,
    pub otlp_endpoint: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line an event, fields as `key=value`, control characters escaped.
    #[default]
    Text,
    /// One JSON object a line: `timestamp` (RFC 3339), `level`, `fields`, `target`, `span`
    /// and `spans` (the fields of the spans it happened in).
    Json,
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
