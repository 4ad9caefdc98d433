//! `pilot init`: creates pilot-tracker's streams and checkpoint store on a NATS server that an
//! operator runs, with the operator's credentials (the `[nats]` settings).
//!
//! In a deployment only the operator user may create, update or delete streams
//! ([`crate::nats_auth`]); the parts (`pilot serve --only ...`) run with their own users and
//! only verify what `pilot init` made. The local nats-server of `pilot serve` without `--nats`
//! needs no init: pilot logs in there as the operator and creates what is missing itself.

use crate::config::{Config, ConfigError, ServeArgs};
use crate::config_layers::{Environment, KeyFlags};
use clap::Args;
use pilot_store::jetstream::{ConnectError, JetStreamLog};
use pilot_store::layout::Layout;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The configuration file whose `[nats]` table names the server and the operator's
    /// credentials (`pilot config example`).
    #[arg(long, env = "PILOT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The NATS server (overrides `[nats] url`).
    #[arg(long, env = "PILOT_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,
    /// Print the NATS users file for a deployment (deploy/nats/users.conf) and exit.
    #[arg(long)]
    pub print_users: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("pilot init needs a NATS server: give --nats URL or [nats] url (the local server of `pilot serve` initialises itself)")]
    NoServer,
    #[error("[nats]: {0}")]
    Options(String),
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

/// Runs `pilot init`; what to print on stdout.
pub async fn run(args: InitArgs) -> Result<String, InitError> {
    if args.print_users {
        return Ok(crate::nats_auth::deploy_users());
    }
    let mut keys = KeyFlags::default();
    if let Some(url) = &args.nats {
        keys = keys.with("nats.url", url);
    }
    let serve = ServeArgs {
        config: args.config,
        demo: false,
        keys,
    };
    let config = Config::load(&serve, &Environment::from_process())?;
    let url = config.nats.url.clone().ok_or(InitError::NoServer)?;
    let layout = Layout {
        replicas: config.nats.replicas.unwrap_or(1),
        sites: config.nats.sites.clone(),
        ..Layout::default()
    };
    let client = pilot_nats::connect_options(&config.nats)
        .await
        .map_err(InitError::Options)?
        .name("pilot init")
        .connect(pilot_nats::server_addrs(&url).map_err(InitError::Options)?)
        .await
        .map_err(|error| ConnectError::Connect {
            url: url.clone(),
            message: error.to_string(),
        })?;
    JetStreamLog::with_client(client, &layout).await?;
    tracing::info!(message = "The streams and the checkpoint store are in place.", %url);
    Ok(format!(
        "pilot-tracker's streams and checkpoint store are in place on {url}\n"
    ))
}
