//! `pilot`: see `pilot --help` and the crate docs of `pilot_service`.

use clap::Parser;
use pilot_service::cli::{Cli, Command};
use pilot_service::config::{Telemetry, OTEL_ENDPOINT_VAR};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr (RUST_LOG, default "info"; "warn" for the client commands, whose
    // stdout is their answer); stdout carries only the ready line. `serve` reads how from its
    // configuration, before anything else can log.
    let (settings, level) = match &cli.command {
        Command::Serve(args) => {
            match Telemetry::load(args, std::env::var(OTEL_ENDPOINT_VAR).ok()) {
                Ok(settings) => (settings, "info"),
                Err(error) => return fail(error),
            }
        }
        Command::Client(_) => (Telemetry::default(), "warn"),
        _ => (Telemetry::default(), "info"),
    };
    // Set up outside the runtime: the trace exporter's HTTP client blocks on its own thread.
    let guard = match pilot_service::telemetry::init(&settings, level) {
        Ok(guard) => guard,
        Err(error) => return fail(error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("cannot start the async runtime: {error}")),
    };
    let code = runtime.block_on(run(cli.command));
    // The runtime first (its tasks may still log), then the guard, which sends the last spans.
    drop(runtime);
    drop(guard);
    code
}

async fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Serve(args) => pilot_service::serve::run(args)
            .await
            .map_err(|e| e.to_string()),
        Command::Init(args) => print(pilot_service::init::run(args).await),
        Command::Config(command) => print(pilot_service::admin::config(command)),
        Command::Token(command) => print(pilot_service::admin::token(command)),
        Command::Keys(args) => print(pilot_service::keys::run(&args).map_err(|e| e.to_string())),
        Command::Client(command) => return pilot_client::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

fn fail(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("pilot: {error}");
    ExitCode::FAILURE
}

/// Prints what an operator command produced on stdout.
fn print(result: Result<String, impl std::fmt::Display>) -> Result<(), String> {
    use std::io::Write;
    let text = result.map_err(|e| e.to_string())?;
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}
