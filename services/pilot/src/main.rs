//! `pilot`: see `pilot --help` and the crate docs of `pilot_service`.

use clap::{CommandFactory, Parser};
use pilot_service::cli::{Cli, Command};
use pilot_service::cli_docs;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr (RUST_LOG, default "info"; "warn" for the client commands and the
    // completions and manual pages, whose stdout is their answer); stdout carries only the
    // ready line.
    let level = match cli.command {
        Command::Client(_) | Command::Completions(_) | Command::Man(_) => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .fmt_fields(pilot_service::log_format::EscapedFields::default())
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Serve(args) => match pilot_service::serve::run(args).await {
            Ok(()) => Ok(()),
            Err(error) => {
                eprintln!("pilot: {error}");
                return ExitCode::from(error.exit_code());
            }
        },
        Command::Init(args) => print(pilot_service::init::run(args).await),
        Command::Config(command) => print(pilot_service::admin::config(command)),
        Command::Token(command) => print(pilot_service::admin::token(command)),
        Command::Keys(args) => print(pilot_service::keys::run(&args).map_err(|e| e.to_string())),
        Command::Completions(args) => print(Ok::<_, String>(cli_docs::completions(
            &args,
            Cli::command(),
        ))),
        Command::Man(args) => print(cli_docs::man(&args, Cli::command())),
        Command::Client(command) => return pilot_client::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pilot: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what an operator command produced on stdout.
fn print(result: Result<String, impl std::fmt::Display>) -> Result<(), String> {
    use std::io::Write;
    let text = result.map_err(|e| e.to_string())?;
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}
