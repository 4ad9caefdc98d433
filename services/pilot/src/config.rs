//! `pilot serve`'s configuration: one TOML file, `PILOT_*` environment variables and flags.
//!
//! Every key of the file is also a `PILOT_*` variable and a flag, named after its path
//! ([`crate::config_keys`]); precedence, highest first: the flag, the variable, the TOML file
//! (`--config FILE` / `PILOT_CONFIG`), the default. The layers are merged as TOML
//! ([`crate::config_layers`]) and deserialized once, so the file's structs are the one list of
//! keys. The file refuses unknown keys, so a typo is an error at start rather than a setting
//! silently ignored. `pilot config example` prints a commented file with every key and its
//! default ([`EXAMPLE`]), and the variable and flag of each.

use crate::config_file::FileConfig;
use crate::config_layers::{layer, Environment, KeyFlags, SettingError, Source};
use crate::http_server::HttpLimits;
use clap::Args;
use pilot_api::auth::{Role, Tokens, TokensError};
use pilot_api::http_layers::CorsOrigins;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the HTTP service listens unless told otherwise.
/// The environment variable whose token is honoured as an admin's while no token is configured
/// (a first start); read by `serve` and `config check`, and not an option of its own.
pub const ADMIN_TOKEN_VAR: &str = "PILOT_ADMIN_TOKEN";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Where the local nats-server and the tokens file live unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./.pilot-data";
/// The body limits' defaults are the API's own (`AppState::new` starts with them).
pub use pilot_api::state::{DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMPORT_BYTES};

/// How long a client has to send a request's head (after connecting, or after the previous
/// response): long enough for any real client on a slow link, short enough that idle and
/// half-open connections do not pile up.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// How long a client has to send a whole request body: a 32 MiB import at 0.5 MiB/s.
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 60_000;
/// Connections served at once; more wait in the accept queue. Far above what the API's
/// clients open, far below the process's file descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

pub use crate::config_file::EXAMPLE;

/// What `pilot config example` prints: [`EXAMPLE`], then every key's variable and flag, from
/// the keys themselves.
pub fn example() -> String {
    use std::fmt::Write;
    let mut out = format!(
        "{EXAMPLE}\n# Every key as a variable and a flag (flag > variable > file > default):\n"
    );
    for key in crate::config_layers::config_keys() {
        let _ = writeln!(
            out,
            "#   {:<32} {:<40} --{}",
            key.dotted(),
            key.variable(),
            key.flag()
        );
    }
    out
}

pub use crate::config_file::{LogFormat, Part};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (`pilot config example` prints one). Flags and PILOT_*
    /// variables override what it says.
    #[arg(long, env = "PILOT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Load the Nanguo history (deploy/demo/nanguo.jsonl) into an empty log before serving;
    /// reads are open without a token unless the configuration says otherwise.
    #[arg(long)]
    pub demo: bool,

    /// Every key of the file as a flag: `--listen`, `--data-dir`, `--nats-url` (or `--nats`),
    /// `--only api,projector`, `--nats-password`, ... (see [`crate::config_keys`]).
    #[command(flatten)]
    pub keys: KeyFlags,
}

/// The `[nats]` table is `pilot_nats`'s, which turns it into connect options for `pilot
/// serve`, `pilot init` and the client commands alike.
pub use pilot_nats::NatsConfig;

/// The signing key's name inside the data directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";

pub use crate::config_layers::OTEL_ENDPOINT_VAR;

/// What logs and traces `pilot serve` writes (`log_format`, `otlp_endpoint`): `main` sets the
/// logger up from the loaded [`Config`] before anything else logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Telemetry {
    pub log_format: LogFormat,
    /// Where traces go (OTLP over HTTP); `None`: nowhere.
    pub otlp_endpoint: Option<String>,
}

impl Telemetry {
    /// The keys as read (flag, variable, file), the endpoint then falling back to the standard
    /// variable of `env`.
    fn resolve(
        log_format: Option<LogFormat>,
        otlp_endpoint: Option<String>,
        env: &Environment,
    ) -> Telemetry {
        let standard = env
            .get(OTEL_ENDPOINT_VAR)
            .and_then(Result::ok)
            .map(str::to_string);
        Telemetry {
            log_format: log_format.unwrap_or_default(),
            otlp_endpoint: otlp_endpoint
                .or(standard)
                .filter(|url| !url.trim().is_empty()),
        }
    }
}

/// The file named by `--config` (if any) with the `PILOT_*` variables of `env` and the flags
/// laid over it, and where each key set came from.
fn layered(
    args: &ServeArgs,
    env: &Environment,
) -> Result<(FileConfig, BTreeMap<String, Source>), ConfigError> {
    let table = match &args.config {
        Some(path) => read_file(path)?,
        None => toml::Table::new(),
    };
    let (table, sources) = layer(table, env, &args.keys)?;
    let file: FileConfig = table.try_into().map_err(|error: toml::de::Error| {
        let message = error.to_string().trim_end().to_string();
        match &args.config {
            Some(path) => ConfigError::Invalid {
                path: path.clone(),
                message,
            },
            None => ConfigError::InvalidWithoutFile(message),
        }
    })?;
    Ok((file, sources))
}

/// The resolved configuration `pilot serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub consumer: String,
    pub demo: bool,
    /// Empty: every part.
    pub only: Vec<Part>,
    /// GET requests under /api/v1 without a token are answered as if from an analyst.
    pub anonymous_reads: bool,
    /// The web app marks its cookies Secure on every response, not only on requests a proxy
    /// says came over https.
    pub secure_cookies: bool,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    /// Timeouts and the connection cap of the HTTP listener.
    pub http: HttpLimits,
    /// `cors_origins`: the browser origins whose pages may call the API.
    pub cors: CorsOrigins,
    pub nats: NatsConfig,
    pub tokens: Tokens,
    /// The Ed25519 key the writer signs events with (created there on first start).
    pub signing_key_file: PathBuf,
    /// The `[alerts]` rules and sinks.
    pub alerts: pilot_alerter::rules::AlertsConfig,
    /// `[checkpoints] key_file`: the key checkpoints are sealed with, shared by processes that
    /// read each other's checkpoints. Without it, `<data_dir>/checkpoint.key`, generated on
    /// first start.
    pub checkpoint_key_file: Option<PathBuf>,
    /// `[[retention]]`: which persons the service erases, and when (none by default).
    pub retention: pilot_projections::retention::RetentionRules,
    /// Where each key that is not at its default was set, by dotted key (`nats.url`).
    pub sources: BTreeMap<String, Source>,
    /// How logs are written and where traces go.
    pub telemetry: Telemetry,
}

impl Config {
    /// The checkpoint key: from `[checkpoints] key_file`, or the data directory's own
    /// (generated there, mode 0600, on first start).
    pub fn checkpoint_key(
        &self,
    ) -> Result<pilot_runtime::checkpoint::CheckpointKey, pilot_runtime::checkpoint::KeyError> {
        use pilot_runtime::checkpoint::CheckpointKey;
        match &self.checkpoint_key_file {
            Some(path) => CheckpointKey::load(path),
            None => CheckpointKey::load_or_create(&self.data_dir),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message} (`pilot config example` prints every key with its meaning)")]
    Invalid { path: PathBuf, message: String },
    #[error("the configuration is not valid: {0} (`pilot config example` prints every key with its meaning)")]
    InvalidWithoutFile(String),
    /// A variable or flag with a value its key does not take: a usage error (exit status 2).
    #[error("{0}")]
    Setting(#[from] SettingError),
    #[error("{0}")]
    Tokens(#[from] TokensError),
    #[error("{source}{set_by}")]
    Cors {
        source: pilot_api::http_layers::CorsError,
        set_by: SetBy,
    },
    #[error("{key} must be at least 1 KiB{set_by}")]
    TooSmall { key: &'static str, set_by: SetBy },
    #[error("{key} must be at least {min}{set_by}")]
    AtLeast {
        key: &'static str,
        min: u64,
        set_by: SetBy,
    },
    #[error("[nats] replicas must be 1, 3 or 5 (a JetStream stream's replica count); got {0}")]
    Replicas(usize),
    #[error("[nats] site and sites exclude each other: `sites` lists the offices the centre sources, `site` names the office this pilot runs at; give the one for this place (docs/sites.md)")]
    SiteAndSites,
    #[error("[nats] {key}: {source}")]
    Site {
        key: &'static str,
        #[source]
        source: pilot_store::sites::SiteError,
    },
    /// The `[alerts]` rules or a calendar file they name (docs/alerting-rules.md).
    #[error("{in_file}{source}")]
    Alerts {
        in_file: InFile,
        #[source]
        source: pilot_alerter::rules::AlertRulesError,
    },
    /// Two rules for one kind, or one too long.
    #[error("{source}{set_by}")]
    Retention {
        source: pilot_projections::retention::RuleError,
        set_by: SetBy,
    },
    /// The source names the key (`alerts.webhook.url …`).
    #[error("{in_file}{source}{set_by}")]
    Webhook {
        in_file: InFile,
        #[source]
        source: pilot_alerter::webhook::WebhookConfigError,
        set_by: SetBy,
    },
    #[error("{in_file}{source}{set_by}")]
    Email {
        in_file: InFile,
        #[source]
        source: pilot_alerter::email::EmailConfigError,
        set_by: SetBy,
    },
}

impl ConfigError {
    /// A variable or flag with a value its key does not take: the command line (or the
    /// environment standing in for it) is wrong, exit status 2.
    pub fn is_usage(&self) -> bool {
        match self {
            ConfigError::Setting(_) => true,
            ConfigError::Cors { set_by, .. }
            | ConfigError::TooSmall { set_by, .. }
            | ConfigError::AtLeast { set_by, .. }
            | ConfigError::Retention { set_by, .. }
            | ConfigError::Webhook { set_by, .. }
            | ConfigError::Email { set_by, .. } => set_by.0.is_some(),
            _ => false,
        }
    }
}

/// Where a refused value was set, when not in the file (whose errors are the file's): the
/// variable or flag to fix.
#[derive(Debug)]
pub struct SetBy(Option<Source>);

impl SetBy {
    fn of(sources: &BTreeMap<String, Source>, key: &str) -> SetBy {
        SetBy(sources.get(key).filter(|s| **s != Source::File).cloned())
    }

    /// The first key of a table (`alerts.webhook.`) set other than in the file.
    fn in_table(sources: &BTreeMap<String, Source>, table: &str) -> SetBy {
        SetBy(
            sources
                .iter()
                .find(|(key, source)| key.starts_with(table) && **source != Source::File)
                .map(|(_, source)| source.clone()),
        )
    }
}

/// The configuration file a refused setting may come from, named when there is one.
#[derive(Debug)]
pub struct InFile(Option<PathBuf>);

impl std::fmt::Display for InFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(path) => write!(f, "the configuration file {}: ", path.display()),
            None => Ok(()),
        }
    }
}

impl std::fmt::Display for SetBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(source) => write!(f, " (set by {source})"),
            None => Ok(()),
        }
    }
}

impl Config {
    /// Reads the file named by `--config` (if any), then lays the `PILOT_*` variables of
    /// `env` and the flags over it. `PILOT_ADMIN_TOKEN` (in `env`) is honoured only while no
    /// token is configured.
    pub fn load(args: &ServeArgs, env: &Environment) -> Result<Config, ConfigError> {
        let (file, sources) = layered(args, env)?;
        let telemetry = Telemetry::resolve(file.log_format, file.otlp_endpoint.clone(), env);
        let admin_token = env.get(ADMIN_TOKEN_VAR).and_then(Result::ok);
        let http = http_limits(&file, &sources)?;
        let cors = CorsOrigins::parse(file.cors_origins.as_deref().unwrap_or_default()).map_err(
            |source| ConfigError::Cors {
                source,
                set_by: SetBy::of(&sources, "cors_origins"),
            },
        )?;
        let data_dir = file
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let tokens_file = file
            .tokens_file
            .unwrap_or_else(|| data_dir.join(pilot_api::auth::TOKENS_FILE));
        let tokens = Tokens::load(file.tokens, &tokens_file, admin_token)?;
        let nats = file.nats;
        if let Some(replicas) = nats.replicas {
            if ![1, 3, 5].contains(&replicas) {
                return Err(ConfigError::Replicas(replicas));
            }
        }
        check_sites(&nats)?;
        let max_body_bytes = file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        let max_import_bytes = file.max_import_bytes.unwrap_or(DEFAULT_MAX_IMPORT_BYTES);
        if max_body_bytes < 1024 {
            return Err(ConfigError::TooSmall {
                key: "max_body_bytes",
                set_by: SetBy::of(&sources, "max_body_bytes"),
            });
        }
        if max_import_bytes < 1024 {
            return Err(ConfigError::TooSmall {
                key: "max_import_bytes",
                set_by: SetBy::of(&sources, "max_import_bytes"),
            });
        }
        let alerts =
            pilot_alerter::rules::AlertsConfig::from_file(file.alerts, args.config.as_deref())
                .map_err(|source| ConfigError::Alerts {
                    in_file: InFile(args.config.clone()),
                    source,
                })?;
        if let Some(webhook) = &alerts.webhook {
            webhook.validate().map_err(|source| ConfigError::Webhook {
                in_file: InFile(args.config.clone()),
                source,
                set_by: SetBy::in_table(&sources, "alerts.webhook."),
            })?;
        }
        if let Some(email) = &alerts.email {
            email.validate().map_err(|source| ConfigError::Email {
                in_file: InFile(args.config.clone()),
                source,
                set_by: SetBy::in_table(&sources, "alerts.email."),
            })?;
        }
        let retention = pilot_projections::retention::RetentionRules::new(file.retention).map_err(
            |source| ConfigError::Retention {
                source,
                set_by: SetBy::of(&sources, "retention"),
            },
        )?;
        let default_listen = DEFAULT_LISTEN
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        let signing_key_file = file
            .signing_key_file
            .unwrap_or_else(|| data_dir.join(SIGNING_KEY_FILE));
        Ok(Config {
            listen: file.listen.unwrap_or(default_listen),
            data_dir,
            consumer: file
                .consumer
                .unwrap_or_else(|| pilot_runtime::follow::DEFAULT_CONSUMER.to_string()),
            demo: args.demo,
            only: file.only.unwrap_or_default(),
            // The demo is for looking around: its reads are open unless the file says no.
            anonymous_reads: file.anonymous_reads.unwrap_or(args.demo),
            secure_cookies: file.secure_cookies.unwrap_or(false),
            max_body_bytes,
            max_import_bytes,
            http,
            cors,
            nats,
            tokens,
            signing_key_file,
            checkpoint_key_file: file.checkpoints.key_file,
            retention,
            alerts,
            sources,
            telemetry,
        })
    }

    /// Whether this process runs `part`.
    pub fn runs(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

/// `[nats] sites` (at the centre) and `[nats] site` (at an office): domains that can name a
/// site, each once, and not both.
fn check_sites(nats: &NatsConfig) -> Result<(), ConfigError> {
    if nats.site.is_some() && !nats.sites.is_empty() {
        return Err(ConfigError::SiteAndSites);
    }
    pilot_store::sites::check_domains(nats.sites.iter().map(String::as_str)).map_err(|source| {
        ConfigError::Site {
            key: "sites",
            source,
        }
    })?;
    if let Some(site) = &nats.site {
        pilot_store::sites::check_domain(site).map_err(|source| ConfigError::Site {
            key: "site",
            source,
        })?;
    }
    Ok(())
}

/// The HTTP listener's limits; a timeout under 100 ms or no connection at all is refused, as
/// it would refuse real clients.
fn http_limits(
    file: &FileConfig,
    sources: &BTreeMap<String, Source>,
) -> Result<HttpLimits, ConfigError> {
    let at_least = |key, value: u64, min| {
        if value < min {
            Err(ConfigError::AtLeast {
                key,
                min,
                set_by: SetBy::of(sources, key),
            })
        } else {
            Ok(value)
        }
    };
    let header = file
        .header_read_timeout_ms
        .unwrap_or(DEFAULT_HEADER_READ_TIMEOUT_MS);
    let body = file
        .body_read_timeout_ms
        .unwrap_or(DEFAULT_BODY_READ_TIMEOUT_MS);
    let connections = file.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    Ok(HttpLimits {
        header_read_timeout: Duration::from_millis(at_least(
            "header_read_timeout_ms",
            header,
            100,
        )?),
        body_read_timeout: Duration::from_millis(at_least("body_read_timeout_ms", body, 100)?),
        max_connections: usize::try_from(at_least(
            "max_connections",
            u64::try_from(connections).unwrap_or(u64::MAX),
            1,
        )?)
        .unwrap_or(usize::MAX),
    })
}

/// The file as a TOML table; its keys are checked once the variables and flags are laid
/// over it.
fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse()
        .map_err(|error: toml::de::Error| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: error.to_string().trim_end().to_string(),
        })
}

/// A token entry's role, for the example and the tests.
pub fn role_names() -> Vec<&'static str> {
    [Role::Clerk, Role::Analyst, Role::Admin]
        .iter()
        .map(|r| r.name())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn args(list: &[&str]) -> ServeArgs {
        let mut all = vec!["pilot"];
        all.extend_from_slice(list);
        Wrapper::try_parse_from(all).unwrap().args
    }

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("pilot.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_example_is_a_valid_configuration() {
        let file: FileConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(file.listen, Some(DEFAULT_LISTEN.parse().unwrap()));
        assert_eq!(file.max_body_bytes, Some(DEFAULT_MAX_BODY_BYTES));
        assert_eq!(
            file.header_read_timeout_ms,
            Some(DEFAULT_HEADER_READ_TIMEOUT_MS)
        );
        assert_eq!(
            file.body_read_timeout_ms,
            Some(DEFAULT_BODY_READ_TIMEOUT_MS)
        );
        assert_eq!(file.max_connections, Some(DEFAULT_MAX_CONNECTIONS));
        for role in role_names() {
            assert!(EXAMPLE.contains(role), "the example names role {role}");
        }
    }

    #[test]
    fn the_example_names_every_key_and_lists_its_variable_and_flag() {
        for key in crate::config_layers::config_keys() {
            let dotted = key.dotted();
            let (tables, last) = key.path.split_at(key.path.len() - 1);
            let named = [format!("{} = ", last[0]), format!("[[{dotted}]]")]
                .iter()
                .any(|form| EXAMPLE.contains(form.as_str()));
            assert!(named, "the example does not show {dotted}");
            if !tables.is_empty() && !dotted.starts_with("alerts.thresholds") {
                let table = tables.join(".");
                assert!(EXAMPLE.contains(&format!("[{table}]")), "[{table}]");
            }
        }
        let printed = example();
        assert!(printed.contains("PILOT_NATS_PASSWORD"), "{printed}");
        assert!(
            printed.contains("--alerts-webhook-bearer-token"),
            "{printed}"
        );
        let file: FileConfig = toml::from_str(&printed).unwrap();
        assert_eq!(file.cors_origins, Some(Vec::new()));
    }

    #[test]
    fn variables_reach_every_table_and_lose_to_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "consumer = \"file\"\n[nats]\nurl = \"nats://file:4222\"\n[alerts]\nwarning_share = 0.5\n[alerts.webhook]\nurl = \"http://127.0.0.1:9/\"\n",
        );
        let env = Environment::from_pairs(
            [
                ("PILOT_CONSUMER", "variable"),
                ("PILOT_NATS_URL", "nats://variable:4222"),
                ("PILOT_NATS_PASSWORD", "p"),
                ("PILOT_NATS_USER", "u"),
                ("PILOT_ALERTS_WARNING_SHARE", "0.6"),
                ("PILOT_ALERTS_THRESHOLDS_MUNICIPAL", "12"),
                ("PILOT_ALERTS_WEBHOOK_MAX_ATTEMPTS", "3"),
                ("PILOT_ALERTS_WEBHOOK_BEARER_TOKEN", "b"),
                ("PILOT_CHECKPOINTS_KEY_FILE", "/k"),
                ("PILOT_CORS_ORIGINS", "https://a.example, https://b.example"),
                (
                    "PILOT_TOKENS",
                    "[{ name = \"desk\", role = \"analyst\", sha256 = \"00000000000000000000000000000000000000000000000000000000000000aa\" }]",
                ),
            ]
            .map(|(n, v)| (n.into(), v.into())),
        );
        let data_dir = dir.path().join("data");
        let flags = [
            "--config",
            path.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
        ];
        let config = Config::load(&args(&flags), &env).unwrap();
        assert_eq!(config.consumer, "variable");
        assert_eq!(config.nats.url.as_deref(), Some("nats://variable:4222"));
        assert_eq!(config.nats.password.as_deref(), Some("p"));
        assert_eq!(config.checkpoint_key_file, Some(PathBuf::from("/k")));
        assert_eq!(config.tokens.len(), 1);
        assert_eq!(
            config.cors.describe(),
            "https://a.example, https://b.example"
        );
        let webhook = config.alerts.webhook.as_ref().unwrap();
        assert_eq!(webhook.max_attempts, 3);
        assert_eq!(webhook.bearer_token.as_deref(), Some("b"));
        let with_flags = Config::load(
            &args(
                &[
                    &flags[..],
                    &["--consumer", "flag", "--nats", "nats://flag:4222"],
                ]
                .concat(),
            ),
            &env,
        )
        .unwrap();
        assert_eq!(with_flags.consumer, "flag");
        assert_eq!(with_flags.nats.url.as_deref(), Some("nats://flag:4222"));
        assert_eq!(
            with_flags.sources["nats.url"],
            Source::Flag("--nats-url".to_string())
        );
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "listen = \"127.0.0.1:9000\"\nlisten_port = 9000\n",
        );
        let error = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("listen_port"), "{text}");
        assert!(text.contains("pilot config example"), "{text}");

        let path = write(dir.path(), "[nats]\nurll = \"nats://x\"\n");
        let text = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(text.contains("urll"), "{text}");
    }

    #[test]
    fn the_checkpoint_key_is_the_data_dirs_own_unless_a_shared_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let data_dir = data_dir.to_str().unwrap();
        let own = Config::load(&args(&["--data-dir", data_dir]), &Environment::default()).unwrap();
        assert_eq!(own.checkpoint_key_file, None);
        own.checkpoint_key().unwrap();
        assert!(dir
            .path()
            .join("data")
            .join(pilot_runtime::checkpoint::KEY_FILE)
            .exists());

        let shared = dir.path().join("shared.key");
        let path = write(
            dir.path(),
            &format!("[checkpoints]\nkey_file = {:?}\n", shared.to_str().unwrap()),
        );
        let config = Config::load(
            &args(&["--config", path.to_str().unwrap(), "--data-dir", data_dir]),
            &Environment::default(),
        )
        .unwrap();
        assert_eq!(
            config.checkpoint_key_file.as_deref(),
            Some(shared.as_path())
        );
        let missing = config.checkpoint_key().unwrap_err().to_string();
        assert!(missing.contains("shared.key"), "{missing}");
        std::fs::write(&shared, [7u8; 32]).unwrap();
        config.checkpoint_key().unwrap();
    }

    #[test]
    fn sites_are_domains_named_once_and_site_excludes_sites() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let load = |text: &str| {
            let path = write(dir.path(), text);
            Config::load(
                &args(&[
                    "--config",
                    path.to_str().unwrap(),
                    "--data-dir",
                    data_dir.to_str().unwrap(),
                ]),
                &Environment::default(),
            )
        };
        let centre = load("[nats]\nsites = [\"office-a\", \"office-b\"]\n").unwrap();
        assert_eq!(centre.nats.sites, ["office-a", "office-b"]);
        let office = load("[nats]\nsite = \"office-a\"\n").unwrap();
        assert_eq!(office.nats.site.as_deref(), Some("office-a"));
        for (text, says) in [
            (
                "[nats]\nsite = \"a\"\nsites = [\"b\"]\n",
                "site and sites exclude each other",
            ),
            (
                "[nats]\nsites = [\"a\", \"a\"]\n",
                "[nats] sites: site \"a\" is named twice",
            ),
            (
                "[nats]\nsite = \"office.a\"\n",
                "[nats] site: \"office.a\" is not a JetStream domain",
            ),
            (
                "[nats]\nsites = [\"\"]\n",
                "[nats] sites: a site's JetStream domain is empty",
            ),
        ] {
            let error = load(text).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "listen = \"127.0.0.1:9000\"\nconsumer = \"from-file\"\n[nats]\nurl = \"nats://file:4222\"\nuser = \"u\"\npassword = \"p\"\n",
        );
        let path = path.to_str().unwrap();
        let data_dir = dir.path().join("data");
        let data_dir = data_dir.to_str().unwrap();
        let config = Config::load(
            &args(&["--config", path, "--data-dir", data_dir]),
            &Environment::default(),
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.consumer, "from-file");
        assert_eq!(config.nats.url.as_deref(), Some("nats://file:4222"));
        assert_eq!(config.nats.user.as_deref(), Some("u"));

        let config = Config::load(
            &args(&[
                "--config",
                path,
                "--data-dir",
                data_dir,
                "--listen",
                "127.0.0.1:9100",
                "--nats",
                "nats://flag:4222",
            ]),
            &Environment::default(),
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(config.nats.url.as_deref(), Some("nats://flag:4222"));
        // What the flag does not say still comes from the file.
        assert_eq!(config.nats.password.as_deref(), Some("p"));
    }

    /// What `main` sets the logger up with, for these arguments and variables.
    fn telemetry_of(args: &ServeArgs, env: &Environment) -> Result<Telemetry, ConfigError> {
        Config::load(args, env).map(|config| config.telemetry)
    }

    #[test]
    fn the_log_format_and_the_trace_endpoint_follow_the_usual_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let none = Environment::default();
        let standard =
            Environment::from_pairs([(OTEL_ENDPOINT_VAR.into(), "http://otel:4318".into())]);
        assert_eq!(
            telemetry_of(&args(&[]), &none).unwrap(),
            Telemetry::default()
        );
        let file = write(
            dir.path(),
            "log_format = \"json\"\notlp_endpoint = \"http://127.0.0.1:4318\"\n",
        );
        let config = ["--config", file.to_str().unwrap()];
        let from_file = telemetry_of(&args(&config), &standard).unwrap();
        assert_eq!(from_file.log_format, LogFormat::Json);
        assert_eq!(
            from_file.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        let variable = Environment::from_pairs([("PILOT_LOG_FORMAT".into(), "text".into())]);
        assert_eq!(
            telemetry_of(&args(&config), &variable).unwrap().log_format,
            LogFormat::Text
        );
        let mut flags = config.to_vec();
        flags.extend(["--log-format", "text", "--otlp-endpoint", "http://c:4318"]);
        let from_flags = telemetry_of(&args(&flags), &none).unwrap();
        assert_eq!(from_flags.log_format, LogFormat::Text);
        assert_eq!(from_flags.otlp_endpoint.as_deref(), Some("http://c:4318"));
        let fallback = telemetry_of(&args(&[]), &standard).unwrap();
        assert_eq!(fallback.otlp_endpoint.as_deref(), Some("http://otel:4318"));
        let bad = write(dir.path(), "log_format = \"xml\"\n");
        let error = telemetry_of(&args(&["--config", bad.to_str().unwrap()]), &none).unwrap_err();
        assert!(error.to_string().contains("log_format"), "{error}");
    }

    #[test]
    fn only_takes_a_list_of_parts() {
        let config = Config::load(
            &args(&["--only", "api", "--data-dir", "/nonexistent-pilot-dir"]),
            &Environment::default(),
        )
        .unwrap();
        assert!(config.runs(Part::Api));
        assert!(!config.runs(Part::Projector));
        let error = Wrapper::try_parse_from(["pilot", "--only", "web"]).unwrap_err();
        assert!(error.to_string().contains("api"), "{error}");
    }

    #[test]
    fn the_demo_opens_reads_unless_the_file_closes_them() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_str().unwrap();
        let demo = Config::load(
            &args(&["--demo", "--data-dir", data_dir]),
            &Environment::default(),
        )
        .unwrap();
        assert!(demo.anonymous_reads);
        let plain =
            Config::load(&args(&["--data-dir", data_dir]), &Environment::default()).unwrap();
        assert!(!plain.anonymous_reads);
        let path = write(dir.path(), "anonymous_reads = false\n");
        let closed = Config::load(
            &args(&["--demo", "--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap();
        assert!(!closed.anonymous_reads);
    }

    #[test]
    fn secure_cookies_are_off_unless_the_file_turns_them_on() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_str().unwrap();
        let plain =
            Config::load(&args(&["--data-dir", data_dir]), &Environment::default()).unwrap();
        assert!(!plain.secure_cookies);
        let path = write(dir.path(), "secure_cookies = true\n");
        let on = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap();
        assert!(on.secure_cookies);
    }

    #[test]
    fn alert_rule_errors_name_the_configuration_file_and_calendars_resolve_next_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "[alerts]\nthresholds = { municipal = 0 }\n");
        let error = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains(path.to_str().unwrap()), "{text}");
        assert!(
            text.contains("[alerts]: stall threshold for municipal"),
            "{text}"
        );

        std::fs::create_dir(dir.path().join("calendars")).unwrap();
        std::fs::write(
            dir.path().join("calendars/n.toml"),
            "name = \"n\"\nutc_offset = \"+08:00\"\n",
        )
        .unwrap();
        let path = write(
            dir.path(),
            "[alerts]\nday_count = \"working\"\ncalendar = \"n\"\ncalendar_files = [\"calendars/n.toml\"]\n",
        );
        let data_dir = dir.path().join("data");
        let config = Config::load(
            &args(&[
                "--config",
                path.to_str().unwrap(),
                "--data-dir",
                data_dir.to_str().unwrap(),
            ]),
            &Environment::default(),
        )
        .unwrap();
        let rules = config.alerts.rules.default_rules();
        assert!(matches!(
            rules.day_count(),
            pilot_projections::stall::DayCount::Working(c) if c.name() == "n"
        ));
    }

    #[test]
    fn retention_rules_come_from_the_file_or_a_variable_and_one_kind_takes_one_rule() {
        use pilot_events::StakeholderKind;
        use pilot_projections::retention::RetentionStart;
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let load = |path: &Path, env: &Environment| {
            Config::load(
                &args(&[
                    "--config",
                    path.to_str().unwrap(),
                    "--data-dir",
                    data_dir.to_str().unwrap(),
                ]),
                env,
            )
        };
        let none = load(&write(dir.path(), ""), &Environment::default()).unwrap();
        assert!(none.retention.is_empty());

        let path = write(
            dir.path(),
            "[[retention]]\nkind = \"resident_group\"\nafter_days = 1826\nfrom = \"pilot_end\"\n",
        );
        let config = load(&path, &Environment::default()).unwrap();
        let rule = config.retention.rules()[0];
        assert_eq!(rule.kind, StakeholderKind::ResidentGroup);
        assert_eq!(rule.after_days, 1826);
        assert_eq!(rule.from, RetentionStart::PilotEnd);

        let env = Environment::from_pairs([(
            "PILOT_RETENTION".into(),
            "[{ kind = \"media\", after_days = 30, from = \"registered\" }]".into(),
        )]);
        let config = load(&path, &env).unwrap();
        assert_eq!(config.retention.rules()[0].kind, StakeholderKind::Media);

        let twice = write(
            dir.path(),
            "[[retention]]\nkind = \"media\"\nafter_days = 1\nfrom = \"pilot_end\"\n[[retention]]\nkind = \"media\"\nafter_days = 2\nfrom = \"registered\"\n",
        );
        let error = load(&twice, &Environment::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("two rules for kind \"media\""), "{error}");
        let typo = write(
            dir.path(),
            "[[retention]]\nkind = \"resident_group\"\nafter_days = 1\nfrom = \"pilot_ended\"\n",
        );
        let error = load(&typo, &Environment::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("pilot_end"), "{error}");
    }

    /// A bad webhook URL from a variable names the variable and no file that was not given;
    /// from a file, the file.
    #[test]
    fn a_bad_webhook_setting_names_where_it_was_set() {
        let env = Environment::from_pairs([(
            "PILOT_ALERTS_WEBHOOK_URL".into(),
            "ftp://hooks.example".into(),
        )]);
        let error =
            Config::load(&args(&["--data-dir", "/nonexistent-pilot-dir"]), &env).unwrap_err();
        let message = error.to_string();
        assert!(!message.contains("configuration file"), "{message}");
        assert!(message.contains("alerts.webhook.url"), "{message}");
        assert!(message.contains("PILOT_ALERTS_WEBHOOK_URL"), "{message}");
        assert!(error.is_usage());

        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "[alerts.webhook]\nurl = \"ftp://hooks.example\"\n",
        );
        let error = Config::load(
            &args(&[
                "--config",
                path.to_str().unwrap(),
                "--data-dir",
                "/nonexistent-pilot-dir",
            ]),
            &Environment::default(),
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("the configuration file "), "{message}");
        assert!(!error.is_usage());
    }

    #[test]
    fn http_limits_come_from_the_file_and_zero_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = Config::load(
            &args(&["--data-dir", "/nonexistent-pilot-dir"]),
            &Environment::default(),
        )
        .unwrap();
        assert_eq!(
            plain.http.header_read_timeout,
            Duration::from_millis(DEFAULT_HEADER_READ_TIMEOUT_MS)
        );
        assert_eq!(plain.http.max_connections, DEFAULT_MAX_CONNECTIONS);
        let path = write(
            dir.path(),
            "header_read_timeout_ms = 500\nbody_read_timeout_ms = 2000\nmax_connections = 8\n",
        );
        let config = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap();
        assert_eq!(config.http.header_read_timeout, Duration::from_millis(500));
        assert_eq!(config.http.body_read_timeout, Duration::from_secs(2));
        assert_eq!(config.http.max_connections, 8);
        let path = write(dir.path(), "max_connections = 0\n");
        let error = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("max_connections"), "{error}");
        let path = write(dir.path(), "header_read_timeout_ms = 0\n");
        let error = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("header_read_timeout_ms must be at least 100"),
            "{error}"
        );
    }

    #[test]
    fn a_tiny_body_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "max_body_bytes = 10\n");
        let error = Config::load(
            &args(&["--config", path.to_str().unwrap()]),
            &Environment::default(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("max_body_bytes"), "{error}");
    }
}
