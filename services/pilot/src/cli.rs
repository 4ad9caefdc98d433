//! The command line: `pilot serve [--nats URL] [--listen ADDR] [--data-dir DIR] [--demo]`.

use crate::config::ServeArgs;
use clap::{Parser, Subcommand};

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
