//! Commands an operator runs on the service's host: `pilot config example|check` and
//! `pilot token new|list|revoke|hash`. The token commands change the tokens file; a running
//! `pilot serve` reads it again within seconds ([`crate::token_reload`]).

pub use crate::cli::{ConfigCommand, NewToken, RevokeToken, TokenCommand, TokensFileArgs};
use crate::config::Config;
use pilot_api::auth;
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Tokens(#[from] auth::TokensError),
    #[error("cannot read the token from stdin: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("no token on stdin: pipe one in, e.g. `printf %s \"$TOKEN\" | pilot token hash`")]
    EmptyToken,
    #[error("{0}")]
    Expiry(String),
}

impl AdminError {
    /// A variable or flag with a bad value: a usage error (exit status 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, AdminError::Config(error) if error.is_usage())
    }
}

/// Runs a `pilot config` command; what it prints goes to stdout.
pub fn config(command: ConfigCommand) -> Result<String, AdminError> {
    match command {
        ConfigCommand::Example => Ok(crate::config::example()),
        ConfigCommand::Check(args) => {
            let env = crate::config_layers::Environment::from_process();
            let config = Config::load(&args, &env)?;
            Ok(check_report(&config, &crate::env_check::unknown(&env)))
        }
    }
}

/// What `pilot config check` prints: a summary, where each key not at its default was set
/// (never the values, which may be secrets), and the unknown `PILOT_*` variables.
fn check_report(config: &Config, unknown: &[crate::env_check::Unknown]) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "configuration is valid\nlisten: {}\nhttp: header_read_timeout {} ms, body_read_timeout {} ms, max_connections {}\nmax_body_bytes: {}\nmax_import_bytes: {}\ncors_origins: {}\ndata_dir: {}\nnats: {}\nconsumer: {}\nparts: {}\ntokens: {}\nanonymous_reads: {}\nretention rules: {}\n",
        config.listen,
        config.http.header_read_timeout.as_millis(),
        config.http.body_read_timeout.as_millis(),
        config.http.max_connections,
        config.max_body_bytes,
        config.max_import_bytes,
        config.cors.describe(),
        config.data_dir.display(),
        config.nats.url.as_deref().unwrap_or("(a local nats-server)"),
        config.consumer,
        if config.only.is_empty() {
            "all".to_string()
        } else {
            format!("{:?}", config.only).to_lowercase()
        },
        config.tokens.len(),
        config.anonymous_reads,
        config.retention.rules().len(),
    );
    if config.sources.is_empty() {
        out.push_str("every key is at its default\n");
    } else {
        out.push_str("set, and where (other keys are at their defaults):\n");
        for (key, source) in &config.sources {
            let _ = writeln!(out, "  {key}: {source}");
        }
    }
    for unknown in unknown {
        let _ = writeln!(out, "warning: {unknown}");
    }
    out
}

impl TokensFileArgs {
    /// `--file`, else `<data-dir>/tokens.toml`.
    pub fn path(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(auth::TOKENS_FILE))
    }
}

/// Runs a `pilot token` command; what it prints goes to stdout.
pub fn token(command: TokenCommand) -> Result<String, AdminError> {
    match command {
        TokenCommand::New(new) => {
            let file = new.at.path();
            let now = time::OffsetDateTime::now_utc();
            let expires = new
                .expires
                .as_deref()
                .map(|text| auth::parse_expiry(text, now))
                .transpose()
                .map_err(AdminError::Expiry)?;
            let token =
                auth::new_token(&file, &new.name, new.role, new.office.as_deref(), expires)?;
            tracing::info!(message = "Added a token.", name = ?new.name, role = new.role.name(), file = %file.display());
            Ok(format!("{token}\n"))
        }
        TokenCommand::List(at) => {
            let now = time::OffsetDateTime::now_utc();
            let mut out = String::from("NAME\tROLE\tOFFICE\tEXPIRES\n");
            for entry in auth::list_tokens(&at.path())? {
                let expires = match entry.expires {
                    None => "never".to_string(),
                    Some(when) if when <= now => format!("expired {}", pilot_events::rfc3339(when)),
                    Some(when) => pilot_events::rfc3339(when),
                };
                out.push_str(&format!(
                    "{}\t{}\t{}\t{expires}\n",
                    entry.name,
                    entry.role.name(),
                    entry.office.as_deref().unwrap_or("-"),
                ));
            }
            Ok(out)
        }
        TokenCommand::Revoke(revoke) => {
            let file = revoke.at.path();
            let removed = auth::revoke_token(&file, &revoke.name)?;
            tracing::info!(message = "Revoked a token.", name = ?revoke.name, file = %file.display());
            Ok(format!(
                "revoked {removed} token(s) named {:?} in {}; a running pilot refuses it within \
                 {} s\n",
                revoke.name,
                file.display(),
                crate::token_reload::RELOAD_EVERY.as_secs() + 1
            ))
        }
        TokenCommand::Hash => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(AdminError::Stdin)?;
            let token = text.trim();
            if token.is_empty() {
                return Err(AdminError::EmptyToken);
            }
            Ok(format!("{}\n", auth::hash_hex(token)))
        }
    }
}
