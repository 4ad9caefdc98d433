//! The command line: `pilot serve` and the operator commands, and the client commands of
//! [`pilot_client`] (a client of a running `pilot serve`, or of the NATS log directly).
//!
//! Exit codes: [`pilot_client::EXIT_CODES`], which `pilot --help` prints; `pilot serve` adds 2
//! for no nats-server to start ([`crate::serve::ServeError::exit_code`]).

use crate::config::ServeArgs;
use clap::{Args, Parser, Subcommand};
use pilot_api::auth::Role;
use pilot_client::ClientCommand;
use std::path::PathBuf;

/// pilot-tracker: an event-sourced record of government policy pilots.
#[derive(Debug, Parser)]
#[command(name = "pilot", version, after_help = pilot_client::EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the projections of the event log over HTTP (JSON).
    Serve(ServeArgs),
    /// Print an example configuration, or check one.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Create the streams and checkpoint store on a NATS server you run, with the operator's
    /// credentials; or print the NATS users file for a deployment (`--print-users`).
    Init(crate::init::InitArgs),
    /// Make, list and revoke API tokens (stored hashed in the tokens file).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the public key the service signs events with, for `pilot verify --keys`.
    Keys(crate::keys::KeysArgs),
    /// Print shell completions: `pilot completions bash > /etc/bash_completion.d/pilot`.
    Completions(crate::cli_docs::CompletionsArgs),
    /// Print the manual page (roff: `pilot man | man -l -`), or write one per command into
    /// `--dir`.
    Man(crate::cli_docs::ManArgs),
    #[command(flatten)]
    Client(ClientCommand),
}

/// Every environment variable `pilot` reads in place of an option: the configuration keys',
/// the options' own, the admin token's and OpenTelemetry's collector endpoint. What a test or a bench clears to say exactly what
/// it wants.
pub fn environment_variables() -> Vec<String> {
    fn walk(command: &clap::Command, out: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if let Some(name) = arg.get_env().and_then(|n| n.to_str()) {
                out.push(name.to_string());
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = vec![
        crate::config::ADMIN_TOKEN_VAR.to_string(),
        crate::config::OTEL_ENDPOINT_VAR.to_string(),
    ];
    out.extend(
        crate::config_layers::config_keys()
            .iter()
            .map(crate::config_keys::Key::variable),
    );
    walk(&<Cli as clap::CommandFactory>::command(), &mut out);
    out.sort();
    out.dedup();
    out
}

/// The `pilot config` commands (run by [`crate::admin`]).
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
    /// List the tokens file's tokens: name, role, office, expiry (never the tokens).
    List(TokensFileArgs),
    /// Remove the token named NAME from the tokens file; a running pilot refuses it within
    /// seconds.
    Revoke(RevokeToken),
    /// Read a token on stdin and print its SHA-256, for a `[[tokens]]` entry.
    Hash,
}

#[derive(Debug, Args)]
pub struct NewToken {
    /// Who holds the token (shown in logs; one token per name).
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum)]
    pub role: Role,
    /// The clerk's office (clerks only).
    #[arg(long)]
    pub office: Option<String>,
    /// When the token stops working: an RFC 3339 instant, or a span from now (90d, 12h,
    /// 30m, 45s) [default: never].
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    #[command(flatten)]
    pub at: TokensFileArgs,
}

#[derive(Debug, Args)]
pub struct RevokeToken {
    /// The token's name, as `pilot token list` shows it.
    pub name: String,
    #[command(flatten)]
    pub at: TokensFileArgs,
}

/// Which tokens file a `pilot token` command works on.
#[derive(Debug, Args)]
pub struct TokensFileArgs {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_variables_come_from_the_options() {
        let names = environment_variables();
        for name in [
            "PILOT_CONFIG",
            "PILOT_NATS_URL",
            "PILOT_LISTEN",
            "PILOT_DATA_DIR",
            "PILOT_CONSUMER",
            "PILOT_ONLY",
            "PILOT_ADMIN_TOKEN",
            "PILOT_SERVER",
            "PILOT_NATS_PASSWORD",
            "PILOT_ALERTS_WEBHOOK_BEARER_TOKEN",
            "PILOT_MAX_BODY_BYTES",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} missing from {names:?}"
            );
        }
        // Where the nats-server binary is, which tests set for pilot, is not an option.
        assert!(!names.iter().any(|n| n == "PILOT_NATS_SERVER"), "{names:?}");
    }
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_parses_its_flags() {
        let cli = Cli::try_parse_from(["pilot", "serve", "--demo"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert!(args.demo);
    }

    #[test]
    fn client_commands_take_the_common_flags_anywhere() {
        let cli = Cli::try_parse_from([
            "pilot", "alerts", "--token", "t", "ack", "a1", "--note", "on it", "--json",
        ])
        .unwrap();
        let Command::Client(ClientCommand::Alerts(args)) = cli.command else {
            panic!("not alerts");
        };
        assert_eq!(args.common.token.as_deref(), Some("t"));
        assert!(args.common.json);
        assert!(args.action.is_some());

        let cli = Cli::try_parse_from(["pilot", "alerts", "--state", "firing"]).unwrap();
        let Command::Client(ClientCommand::Alerts(args)) = cli.command else {
            panic!("not alerts");
        };
        assert_eq!(args.state.as_deref(), Some("firing"));
        assert!(args.action.is_none());
    }

    #[test]
    fn bad_dates_and_ids_are_usage_errors() {
        for argv in [
            &["pilot", "status", "--as-of", "yesterday"][..],
            &["pilot", "status", "--stage", "flying"],
            &["pilot", "events", "--type", "pilot.flown"],
            &["pilot", "export", "--format", "xml"],
            &["pilot", "highlights", "--level", "global"],
        ] {
            let error = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{argv:?}: {error}");
        }
    }

    #[test]
    fn status_filters_parse_and_a_pilot_is_any_text() {
        let status = |argv: &[&str]| {
            let cli = Cli::try_parse_from(argv).unwrap();
            let Command::Client(ClientCommand::Status(args)) = cli.command else {
                panic!("not status");
            };
            args
        };
        assert_eq!(
            status(&["pilot", "status", "--stalled"]).stalled,
            Some(true)
        );
        let args = status(&[
            "pilot",
            "status",
            "--stalled=false",
            "--stage",
            "implementing",
        ]);
        assert_eq!(args.stalled, Some(false));
        assert_eq!(args.stage.as_deref(), Some("implementing"));
        let args = status(&["pilot", "status", "Long-term Care"]);
        assert_eq!(args.pilot.as_deref(), Some("Long-term Care"));
        // A filter is for the table, not for one pilot.
        let error =
            Cli::try_parse_from(["pilot", "status", "LCHI", "--stage", "approved"]).unwrap_err();
        assert_eq!(error.exit_code(), 2, "{error}");
    }

    #[test]
    fn the_help_lists_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("6  verification found a broken hash chain"),
            "{help}"
        );
    }

    #[test]
    fn bash_completions_name_the_subcommands() {
        let args = crate::cli_docs::CompletionsArgs {
            shell: clap_complete::Shell::Bash,
        };
        let script = crate::cli_docs::completions(&args, Cli::command());
        for word in [
            "serve",
            "verify",
            "export",
            "alerts",
            "completions",
            "--server",
        ] {
            assert!(
                script.contains(word),
                "{word} missing from the bash completions"
            );
        }
        for shell in ["zsh", "fish", "elvish", "powershell"] {
            let Ok(Command::Completions(args)) =
                Cli::try_parse_from(["pilot", "completions", shell]).map(|c| c.command)
            else {
                panic!("{shell} is not taken");
            };
            assert!(!crate::cli_docs::completions(&args, Cli::command()).is_empty());
        }
    }

    #[test]
    fn the_manual_page_lists_the_commands_and_the_exit_codes() {
        let args = crate::cli_docs::ManArgs { dir: None };
        let page = crate::cli_docs::man(&args, Cli::command()).unwrap();
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "not roff: {page}");
        assert!(page.contains(".TH pilot 1"), "{page}");
        // NAME is the one-line summary, not the crate's description.
        assert!(
            page.contains("pilot \\- pilot\\-tracker: an event\\-sourced record"),
            "{page}"
        );
        for word in [
            "serve",
            "verify",
            "replay",
            "completions",
            "broken hash chain",
        ] {
            assert!(page.contains(word), "{word} missing from the page");
        }
    }

    #[test]
    fn manual_pages_are_written_for_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let args = crate::cli_docs::ManArgs {
            dir: Some(dir.path().join("man1")),
        };
        let said = crate::cli_docs::man(&args, Cli::command()).unwrap();
        for page in [
            "pilot.1",
            "pilot-serve.1",
            "pilot-verify.1",
            "pilot-token-new.1",
        ] {
            assert!(
                dir.path().join("man1").join(page).is_file(),
                "{page}: {said}"
            );
        }
    }

    #[test]
    fn a_bad_listen_address_is_refused() {
        let error = Cli::try_parse_from(["pilot", "serve", "--listen", "nowhere"]).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
    }
}
