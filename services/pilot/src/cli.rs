//! The command line: `pilot serve [--nats URL] [--listen ADDR] [--data-dir DIR] [--demo]`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// pilot-tracker: an event-sourced record of government policy pilots.
#[derive(Debug, Parser)]
#[command(name = "pilot", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the projections of the event log over HTTP (JSON).
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The NATS server holding the event log (JetStream, version 2.12.1 or newer). Without it,
    /// pilot starts its own nats-server on a free loopback port, keeps its data in
    /// `<data-dir>/nats` and stops it when pilot exits.
    #[arg(long, env = "PILOT_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,

    /// Where the HTTP service listens.
    #[arg(
        long,
        env = "PILOT_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// Where the local nats-server keeps its store and its log (used only without --nats).
    #[arg(
        long,
        env = "PILOT_DATA_DIR",
        value_name = "DIR",
        default_value = "./.pilot-data"
    )]
    pub data_dir: PathBuf,

    /// Load the Nanguo history (deploy/demo/nanguo.jsonl) into an empty log before serving.
    #[arg(long)]
    pub demo: bool,

    /// The projector's durable consumer and checkpoint name; give each pilot process that
    /// shares a NATS server its own.
    #[arg(
        long,
        env = "PILOT_CONSUMER",
        value_name = "NAME",
        default_value = pilot_store::follow::DEFAULT_CONSUMER
    )]
    pub consumer: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_parses_its_flags() {
        let cli = Cli::try_parse_from(["pilot", "serve", "--demo"]).unwrap();
        let Command::Serve(args) = cli.command;
        assert!(args.demo);
        // The other defaults may come from PILOT_* variables of the test's environment.
        assert!(!args.consumer.is_empty());
    }

    #[test]
    fn a_bad_listen_address_is_refused() {
        let error = Cli::try_parse_from(["pilot", "serve", "--listen", "nowhere"]).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
    }
}
