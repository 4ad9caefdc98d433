//! Commands an operator runs on the service's host: `pilot config example|check` and
//! `pilot token new|hash`.

use crate::auth::{self, Role};
use crate::config::{Config, ServeArgs, EXAMPLE};
use clap::{Args, Subcommand};
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented configuration file with every key and its default.
    Example,
    /// Load the configuration as `pilot serve` would (file, PILOT_* variables, flags) and
    /// report what is wrong, or a summary of what it says.
    Check(ServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new API token, add its SHA-256 to the tokens file and print the token once.
    New(NewToken),
    /// Read a token on stdin and print its SHA-256, for a `[[tokens]]` entry.
    Hash,
}

#[derive(Debug, Args)]
pub struct NewToken {
    /// Who holds the token (shown in logs).
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum)]
    pub role: Role,
    /// The clerk's office (clerks only).
    #[arg(long)]
    pub office: Option<String>,
    /// The tokens file [default: <data-dir>/tokens.toml].
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The data directory whose tokens file to use.
    #[arg(
        long,
        env = "PILOT_DATA_DIR",
        value_name = "DIR",
        default_value = crate::config::DEFAULT_DATA_DIR
    )]
    pub data_dir: PathBuf,
}

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
}

/// Runs a `pilot config` command; what it prints goes to stdout.
pub fn config(command: ConfigCommand) -> Result<String, AdminError> {
    match command {
        ConfigCommand::Example => Ok(EXAMPLE.to_string()),
        ConfigCommand::Check(args) => {
            let admin = std::env::var("PILOT_ADMIN_TOKEN").ok();
            let config = Config::load(&args, admin.as_deref())?;
            Ok(format!(
                "configuration is valid\nlisten: {}\ndata_dir: {}\nnats: {}\nconsumer: {}\nparts: {}\ntokens: {}\nanonymous_reads: {}\n",
                config.listen,
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
            ))
        }
    }
}

/// Runs a `pilot token` command; what it prints goes to stdout.
pub fn token(command: TokenCommand) -> Result<String, AdminError> {
    match command {
        TokenCommand::New(new) => {
            let file = new
                .file
                .unwrap_or_else(|| new.data_dir.join(auth::TOKENS_FILE));
            let token = auth::new_token(&file, &new.name, new.role, new.office.as_deref())?;
            tracing::info!(message = "Added a token.", name = %new.name, role = new.role.name(), file = %file.display());
            Ok(format!("{token}\n"))
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
