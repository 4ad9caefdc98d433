//! `pilot`: see `pilot --help` and the crate docs of `pilot_service`.

use clap::{CommandFactory, Parser};
use pilot_service::cli::{Cli, Command};
use pilot_service::cli_docs;
use pilot_service::config::Telemetry;
use pilot_service::config_layers::Environment;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr (RUST_LOG, default "info"; "warn" for the client commands and the
    // completions and manual pages, whose stdout is their answer); stdout carries only the
    // ready line. `serve` reads how from its configuration, before anything else can log.
    let (settings, level) = match &cli.command {
        Command::Serve(args) => match Telemetry::load(args, &Environment::from_process()) {
            Ok(settings) => (settings, "info"),
            Err(error) => return fail(error.is_usage(), error),
        },
        Command::Client(_) | Command::Completions(_) | Command::Man(_) => {
            (Telemetry::default(), "warn")
        }
        _ => (Telemetry::default(), "info"),
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
    let code = runtime.block_on(run(cli.command));
    // The runtime first (its tasks may still log), then the guard, which sends the last spans.
    drop(runtime);
    drop(guard);
    code
}

async fn run(command: Command) -> ExitCode {
    // Exit status 2 for a bad variable or flag value, as for any usage error.
    let result = match command {
        Command::Serve(args) => pilot_service::serve::run(args)
            .await
            .map_err(|e| (e.is_usage(), e.to_string())),
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
