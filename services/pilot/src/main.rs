//! `pilot`: see `pilot --help` and the crate docs of `pilot_service`.

use clap::{CommandFactory, Parser};
use pilot_service::cli::{Cli, Command};
use pilot_service::cli_docs;
use pilot_service::config::{Config, Telemetry};
use pilot_service::config_layers::Environment;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr (RUST_LOG, default "info"; "warn" for the client commands and the
    // completions and manual pages, whose stdout is their answer); stdout carries only the
    // ready line. `serve` loads its configuration first, once: it says how to log.
    let env = Environment::from_process();
    let serve_config = match &cli.command {
        Command::Serve(args) => match Config::load(args, &env) {
            Ok(config) => Some(config),
            Err(error) => return fail(error.is_usage(), error),
        },
        _ => None,
    };
    let (settings, level) = match (&serve_config, &cli.command) {
        (Some(config), _) => (config.telemetry.clone(), "info"),
        (None, Command::Client(_) | Command::Completions(_) | Command::Man(_)) => {
            (Telemetry::default(), "warn")
        }
        (None, _) => (Telemetry::default(), "info"),
    };
    // Set up outside the runtime: the trace exporter's HTTP client blocks on its own thread.
    let guard = match pilot_service::telemetry::init(&settings, level) {
        Ok(guard) => guard,
        Err(error) => return fail(false, error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(false, format!("cannot start the async runtime: {error}")),
    };
    let code = runtime.block_on(run(cli.command, serve_config, &env));
    // The runtime first (its tasks may still log), then the guard, which sends the last spans.
    drop(runtime);
    drop(guard);
    code
}

/// Runs `command`; `serve` with `serve_config` when `main` loaded it already, and `env` (the
/// process's `PILOT_*` variables).
async fn run(command: Command, serve_config: Option<Config>, env: &Environment) -> ExitCode {
    // Exit status 2 for a bad variable or flag value, as for any usage error.
    let result = match command {
        Command::Serve(args) => {
            let loaded = match serve_config {
                Some(config) => Ok(config),
                None => Config::load(&args, env),
            };
            match loaded {
                Ok(config) => pilot_service::serve::run(config, env).await,
                Err(error) => Err(error.into()),
            }
            .map_err(|e| (e.is_usage(), e.to_string()))
        }
        Command::Init(args) => print(pilot_service::init::run(args).await),
        Command::Config(command) => {
            let result = pilot_service::admin::config(command);
            let usage = matches!(&result, Err(error) if error.is_usage());
            print(result).map_err(|(_, message)| (usage, message))
        }
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
        Err((usage, error)) => fail(usage, error),
    }
}

/// Says why `pilot` stops; exit status 2 for a usage error (the command line or a variable
/// standing in for it), 1 for anything else.
fn fail(usage: bool, error: impl std::fmt::Display) -> ExitCode {
    eprintln!("pilot: {error}");
    ExitCode::from(if usage { 2 } else { 1 })
}

/// Prints what an operator command produced on stdout; an error is never a usage error.
fn print(result: Result<String, impl std::fmt::Display>) -> Result<(), (bool, String)> {
    use std::io::Write;
    let text = result.map_err(|e| (false, e.to_string()))?;
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| (false, format!("cannot write to stdout: {e}")))
}
