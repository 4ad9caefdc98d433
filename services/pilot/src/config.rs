//! `pilot serve`'s configuration: one TOML file, `PILOT_*` environment variables and flags.
//!
//! Precedence, highest first: a flag, its `PILOT_*` variable (clap reads both), the TOML file
//! (`--config FILE` / `PILOT_CONFIG`), the default. The file refuses unknown keys, so a typo
//! is an error at start rather than a setting silently ignored. `pilot config example` prints
//! a commented file with every key and its default ([`EXAMPLE`]).

use crate::http_server::HttpLimits;
use clap::{Args, ValueEnum};
use pilot_api::auth::{Role, TokenEntry, Tokens, TokensError};
use serde::Deserialize;
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

/// The commented example `pilot config example` prints; a test keeps it loadable.
pub const EXAMPLE: &str = include_str!("../pilot.example.toml");

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

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (`pilot config example` prints one). Flags and PILOT_*
    /// variables override what it says.
    #[arg(long, env = "PILOT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The NATS server holding the event log (JetStream, version 2.12.1 or newer); a
    /// comma-separated list for a cluster. Without it, pilot starts its own nats-server on a
    /// free loopback port, keeps its data in `<data-dir>/nats` and stops it when pilot exits.
    #[arg(long, env = "PILOT_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,

    /// Where the HTTP service listens [default: 127.0.0.1:8080].
    #[arg(long, env = "PILOT_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Where the local nats-server keeps its store, and where the tokens file is looked for
    /// [default: ./.pilot-data].
    #[arg(long, env = "PILOT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Load the Nanguo history (deploy/demo/nanguo.jsonl) into an empty log before serving;
    /// reads are open without a token unless the configuration says otherwise.
    #[arg(long)]
    pub demo: bool,

    /// The projector's durable consumer and checkpoint name; give each pilot process that
    /// shares a NATS server its own [default: pilot-projector].
    #[arg(long, env = "PILOT_CONSUMER", value_name = "NAME")]
    pub consumer: Option<String>,

    /// Run only this part (repeat for several): `api`, `projector` or `alerter`.
    #[arg(long, env = "PILOT_ONLY", value_name = "PART", value_delimiter = ',')]
    pub only: Vec<Part>,
}

/// The `[nats]` table is `pilot_nats`'s, which turns it into connect options for `pilot
/// serve`, `pilot init` and the client commands alike.
pub use pilot_nats::NatsConfig;

/// The signing key's name inside the data directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";

/// The TOML file, as written: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    consumer: Option<String>,
    only: Option<Vec<Part>>,
    anonymous_reads: Option<bool>,
    secure_cookies: Option<bool>,
    max_body_bytes: Option<usize>,
    max_import_bytes: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    tokens_file: Option<PathBuf>,
    signing_key_file: Option<PathBuf>,
    #[serde(default)]
    nats: NatsConfig,
    #[serde(default)]
    tokens: Vec<TokenEntry>,
    #[serde(default)]
    alerts: pilot_alerter::rules::AlertsFile,
    #[serde(default)]
    checkpoints: CheckpointsFile,
}

/// The `[checkpoints]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointsFile {
    key_file: Option<PathBuf>,
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
    #[error("the configuration file {path} is not valid: {message}(`pilot config example` prints every key with its meaning)")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Tokens(#[from] TokensError),
    #[error("{0} must be at least 1 KiB")]
    TooSmall(&'static str),
    #[error("{key} must be at least {min}")]
    AtLeast { key: &'static str, min: u64 },
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
    #[error("the configuration file {path}: {source}")]
    Alerts {
        path: PathBuf,
        #[source]
        source: pilot_alerter::rules::AlertRulesError,
    },
    #[error("the configuration file {path}: [alerts.webhook]: {source}")]
    Webhook {
        path: PathBuf,
        #[source]
        source: pilot_alerter::webhook::WebhookConfigError,
    },
    #[error("the configuration file {path}: [alerts.email]: {source}")]
    Email {
        path: PathBuf,
        #[source]
        source: pilot_alerter::email::EmailConfigError,
    },
}

impl Config {
    /// Reads the file named by `--config` (if any), then lets flags and variables override it.
    /// `admin_token` is `PILOT_ADMIN_TOKEN`: it is honoured only while no token is configured.
    pub fn load(args: &ServeArgs, admin_token: Option<&str>) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let http = http_limits(&file)?;
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let tokens_file = file
            .tokens_file
            .unwrap_or_else(|| data_dir.join(pilot_api::auth::TOKENS_FILE));
        let tokens = Tokens::load(file.tokens, &tokens_file, admin_token)?;
        let mut nats = file.nats;
        if args.nats.is_some() {
            nats.url.clone_from(&args.nats);
        }
        if let Some(replicas) = nats.replicas {
            if ![1, 3, 5].contains(&replicas) {
                return Err(ConfigError::Replicas(replicas));
            }
        }
        check_sites(&nats)?;
        let max_body_bytes = file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        let max_import_bytes = file.max_import_bytes.unwrap_or(DEFAULT_MAX_IMPORT_BYTES);
        if max_body_bytes < 1024 {
            return Err(ConfigError::TooSmall("max_body_bytes"));
        }
        if max_import_bytes < 1024 {
            return Err(ConfigError::TooSmall("max_import_bytes"));
        }
        let alerts =
            pilot_alerter::rules::AlertsConfig::from_file(file.alerts, args.config.as_deref())
                .map_err(|source| ConfigError::Alerts {
                    path: args.config.clone().unwrap_or_default(),
                    source,
                })?;
        if let Some(webhook) = &alerts.webhook {
            webhook.validate().map_err(|source| ConfigError::Webhook {
                path: args.config.clone().unwrap_or_default(),
                source,
            })?;
        }
        if let Some(email) = &alerts.email {
            email.validate().map_err(|source| ConfigError::Email {
                path: args.config.clone().unwrap_or_default(),
                source,
            })?;
        }
        let default_listen = DEFAULT_LISTEN
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        let signing_key_file = file
            .signing_key_file
            .unwrap_or_else(|| data_dir.join(SIGNING_KEY_FILE));
        Ok(Config {
            listen: args.listen.or(file.listen).unwrap_or(default_listen),
            data_dir,
            consumer: args
                .consumer
                .clone()
                .or(file.consumer)
                .unwrap_or_else(|| pilot_runtime::follow::DEFAULT_CONSUMER.to_string()),
            demo: args.demo,
            only: if args.only.is_empty() {
                file.only.unwrap_or_default()
            } else {
                args.only.clone()
            },
            // The demo is for looking around: its reads are open unless the file says no.
            anonymous_reads: file.anonymous_reads.unwrap_or(args.demo),
            secure_cookies: file.secure_cookies.unwrap_or(false),
            max_body_bytes,
            max_import_bytes,
            http,
            nats,
            tokens,
            signing_key_file,
            checkpoint_key_file: file.checkpoints.key_file,
            alerts,
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
fn http_limits(file: &FileConfig) -> Result<HttpLimits, ConfigError> {
    let at_least = |key, value: u64, min| {
        if value < min {
            Err(ConfigError::AtLeast { key, min })
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

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|message| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    })
}

fn parse(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|error| error.to_string())
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
        let file = parse(EXAMPLE).unwrap();
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
    fn unknown_keys_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "listen = \"127.0.0.1:9000\"\nlisten_port = 9000\n",
        );
        let error = Config::load(&args(&["--config", path.to_str().unwrap()]), None).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("listen_port"), "{text}");
        assert!(text.contains("pilot config example"), "{text}");

        let path = write(dir.path(), "[nats]\nurll = \"nats://x\"\n");
        let text = Config::load(&args(&["--config", path.to_str().unwrap()]), None)
            .unwrap_err()
            .to_string();
        assert!(text.contains("urll"), "{text}");
    }

    #[test]
    fn the_checkpoint_key_is_the_data_dirs_own_unless_a_shared_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let data_dir = data_dir.to_str().unwrap();
        let own = Config::load(&args(&["--data-dir", data_dir]), None).unwrap();
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
            None,
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
                None,
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
        let config =
            Config::load(&args(&["--config", path, "--data-dir", data_dir]), None).unwrap();
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
            None,
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(config.nats.url.as_deref(), Some("nats://flag:4222"));
        // What the flag does not say still comes from the file.
        assert_eq!(config.nats.password.as_deref(), Some("p"));
    }

    #[test]
    fn only_takes_a_list_of_parts() {
        let config = Config::load(
            &args(&["--only", "api", "--data-dir", "/nonexistent-pilot-dir"]),
            None,
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
        let demo = Config::load(&args(&["--demo", "--data-dir", data_dir]), None).unwrap();
        assert!(demo.anonymous_reads);
        let plain = Config::load(&args(&["--data-dir", data_dir]), None).unwrap();
        assert!(!plain.anonymous_reads);
        let path = write(dir.path(), "anonymous_reads = false\n");
        let closed =
            Config::load(&args(&["--demo", "--config", path.to_str().unwrap()]), None).unwrap();
        assert!(!closed.anonymous_reads);
    }

    #[test]
    fn secure_cookies_are_off_unless_the_file_turns_them_on() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_str().unwrap();
        let plain = Config::load(&args(&["--data-dir", data_dir]), None).unwrap();
        assert!(!plain.secure_cookies);
        let path = write(dir.path(), "secure_cookies = true\n");
        let on = Config::load(&args(&["--config", path.to_str().unwrap()]), None).unwrap();
        assert!(on.secure_cookies);
    }

    #[test]
    fn alert_rule_errors_name_the_configuration_file_and_calendars_resolve_next_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "[alerts]\nthresholds = { municipal = 0 }\n");
        let error = Config::load(&args(&["--config", path.to_str().unwrap()]), None).unwrap_err();
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
            None,
        )
        .unwrap();
        let rules = config.alerts.rules.default_rules();
        assert!(matches!(
            rules.day_count(),
            pilot_projections::stall::DayCount::Working(c) if c.name() == "n"
        ));
    }

    #[test]
    fn http_limits_come_from_the_file_and_zero_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = Config::load(&args(&["--data-dir", "/nonexistent-pilot-dir"]), None).unwrap();
        assert_eq!(
            plain.http.header_read_timeout,
            Duration::from_millis(DEFAULT_HEADER_READ_TIMEOUT_MS)
        );
        assert_eq!(plain.http.max_connections, DEFAULT_MAX_CONNECTIONS);
        let path = write(
            dir.path(),
            "header_read_timeout_ms = 500\nbody_read_timeout_ms = 2000\nmax_connections = 8\n",
        );
        let config = Config::load(&args(&["--config", path.to_str().unwrap()]), None).unwrap();
        assert_eq!(config.http.header_read_timeout, Duration::from_millis(500));
        assert_eq!(config.http.body_read_timeout, Duration::from_secs(2));
        assert_eq!(config.http.max_connections, 8);
        let path = write(dir.path(), "max_connections = 0\n");
        let error = Config::load(&args(&["--config", path.to_str().unwrap()]), None).unwrap_err();
        assert!(error.to_string().contains("max_connections"), "{error}");
        let path = write(dir.path(), "header_read_timeout_ms = 0\n");
        let error = Config::load(&args(&["--config", path.to_str().unwrap()]), None).unwrap_err();
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
        let error = Config::load(&args(&["--config", path.to_str().unwrap()]), None).unwrap_err();
        assert!(error.to_string().contains("max_body_bytes"), "{error}");
    }
}
