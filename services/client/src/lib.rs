//! The `pilot` command line's client commands: a client of a running `pilot serve` over HTTP,
//! and direct reads of the NATS log (`--nats URL`) for export, verify and replay.
//!
//! One file per command or group: [`append`], [`import`] (and `demo`), [`status`],
//! [`lists`] (stakeholders, highlights, offices, jurisdictions), [`stakeholder`] (one in
//! detail), [`jurisdiction`] (one in detail), [`support`], [`events`], [`follow`], [`analytics`], [`alerts`], [`export`],
//! [`verify`], [`replay`], [`erase`] (and [`erase_plan`]); [`resolve`] turns a title, name or short id into an id;
//! [`http`] talks to the server, [`log`] reads the whole log from the server or NATS,
//! [`log_file`] a local log file, [`output`] writes text and `--json`, and [`table`] lays out
//! tables; [`wording`] says the API's errors in command-line words, [`foreign`] summarises
//! answers that are not pilot's.
//!
//! # Exit codes
//!
//! [`EXIT_CODES`] (what `pilot --help` prints) is the table; [`Failure::exit_code`] gives them.
//!
//! Errors print `pilot: <message>` on stderr; a server error shows its `code`, `field` and
//! `message` (`{"error": {"code", "message", "field"?}}`).

pub mod alerts;
pub mod analytics;
pub mod append;
pub mod erase;
pub mod erase_plan;
pub mod events;
pub mod export;
pub mod follow;
pub mod foreign;
pub mod http;
pub mod import;
pub mod jurisdiction;
pub mod lists;
pub mod log;
pub mod log_file;
pub mod output;
pub mod replay;
pub mod resolve;
pub mod stakeholder;
pub mod status;
pub mod support;
pub mod table;
pub mod trust;
pub mod verify;
pub mod wording;

use alerts::AlertsArgs;
use analytics::AnalyticsArgs;
use append::AppendArgs;
use clap::Args;
use clap::Subcommand;
use erase::EraseArgs;
use events::EventsArgs;
use export::ExportArgs;
use follow::FollowArgs;
use import::{DemoArgs, ImportArgs};
use lists::{HighlightsArgs, JurisdictionsArgs, OfficesArgs, StakeholdersArgs};
use replay::ReplayArgs;
use status::StatusArgs;
use std::process::ExitCode;
use support::SupportArgs;
use verify::VerifyArgs;

/// The exit-code table, as `pilot --help` shows it.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  failure (server or NATS unreachable, 5xx, an answer that is not pilot's, IO)
  2  usage (a wrong command line or --server; `pilot serve` with no nats-server to start)
  3  input refused (400, 409, 413, 422; an input file that is not JSON; a name several match)
  4  not allowed (401, 403)
  5  not found (404; no pilot, stakeholder or jurisdiction matches the name given)
  6  verification found a broken hash chain (or, with --keys, an event neither signed nor sealed)";

/// What every client command takes: where the server is, who is calling, and how to print.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The running pilot service.
    #[arg(
        long,
        global = true,
        env = "PILOT_SERVER",
        value_name = "URL",
        value_parser = http::server_url,
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,

    /// The API token, sent as `Authorization: Bearer TOKEN`.
    #[arg(
        long,
        global = true,
        env = "PILOT_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Machine output: JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Why a client command failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The server answered with an error.
    #[error("{}", describe_server_error(*status, code, field.as_deref(), message, detail.as_deref()))]
    Server {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
        /// Anything else the error carries worth showing (e.g. `current_version`).
        detail: Option<String>,
    },
    /// The server (or NATS) could not be reached, or broke off.
    #[error("{0}")]
    Unreachable(String),
    /// The server answered something this client cannot read.
    #[error("unexpected answer from the server: {0}")]
    BadAnswer(String),
    /// Reading or writing a local file or stdout.
    #[error("{0}")]
    Io(String),
    /// The input given to the command is not usable (refused before sending).
    #[error("{0}")]
    Input(String),
    /// The command line is wrong in a way clap could not see.
    #[error("{0}")]
    Usage(String),
    /// A hash chain does not hold.
    #[error("{0}")]
    BrokenChain(String),
    /// No pilot or stakeholder matches what was given ([`resolve`]).
    #[error("{0}")]
    NotFound(String),
    /// Stdout was closed by its reader (`pilot export | head`): stop quietly.
    #[error("stdout closed")]
    Closed,
}

impl Failure {
    /// The documented exit code (see the module docs).
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Server { status, .. } => match status {
                400 | 409 | 413 | 422 => 3,
                401 | 403 => 4,
                404 => 5,
                _ => 1,
            },
            Failure::Unreachable(_) | Failure::BadAnswer(_) | Failure::Io(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Input(_) => 3,
            Failure::BrokenChain(_) => 6,
            Failure::NotFound(_) => 5,
            Failure::Closed => 0,
        }
    }

    pub fn io(what: impl std::fmt::Display, error: std::io::Error) -> Failure {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::Closed
        } else {
            Failure::Io(format!("{what}: {error}"))
        }
    }
}

/// The bytes of `name`, or of stdin for `-`.
pub fn read_input(name: &str) -> Result<Vec<u8>, Failure> {
    if name == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map_err(|e| Failure::Io(format!("cannot read stdin: {e}")))?;
        Ok(bytes)
    } else {
        std::fs::read(name).map_err(|e| Failure::Io(format!("cannot read {name}: {e}")))
    }
}

fn describe_server_error(
    status: u16,
    code: &str,
    field: Option<&str>,
    message: &str,
    detail: Option<&str>,
) -> String {
    let mut text = code.to_string();
    if let Some(field) = field {
        text.push_str(&format!(" ({field})"));
    }
    text.push_str(&format!(": {message}"));
    if let Some(detail) = detail {
        text.push_str(&format!(" [{detail}]"));
    }
    text.push_str(&format!(" (HTTP {status})"));
    text
}

/// The client commands: `--server URL` (PILOT_SERVER), `--token TOKEN` (PILOT_TOKEN) and
/// `--json` on each.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Append draft events (JSON, a JSON array, or JSON Lines) and print what was stored.
    Append(AppendArgs),
    /// Back-fill sealed events from JSON Lines (an export, deploy/demo/nanguo.jsonl), or new
    /// events of one type from CSV (`--csv FILE --type TYPE [--dry-run]`); what is stored
    /// already is skipped.
    Import(ImportArgs),
    /// Load the Nanguo history (built in) into the running service, like `pilot import`.
    Demo(DemoArgs),
    /// Every pilot in a table (filtered by stage, office, stall), or one pilot in detail (by
    /// title, id or short id); now, as of a date, as known at a date.
    Status(StatusArgs),
    /// The registered stakeholders, or one in detail (by name, id or short id).
    Stakeholders(StakeholdersArgs),
    /// Who supports a pilot, and how much that weighs.
    Support(SupportArgs),
    /// The political-highlight ledger, filtered.
    Highlights(HighlightsArgs),
    /// The offices highlights credited, with their points.
    Offices(OfficesArgs),
    /// The log's events, a line each, filtered by pilot, type and date.
    Events(EventsArgs),
    /// Print each event as the service applies it, until Ctrl-C or the server stops.
    Follow(FollowArgs),
    /// Comparative analytics over every pilot, now or as of a date: time to approval and to
    /// decision by approver level and approver, stall rates, support, points, scale-ups.
    Analytics(AnalyticsArgs),
    /// The registered jurisdictions: offset, working-day calendar, context and pilots; or one
    /// in detail (by name, id or short id).
    Jurisdictions(JurisdictionsArgs),
    /// Stalled-approval alerts: list them, show one, acknowledge one, silence one.
    Alerts(AlertsArgs),
    /// Export the log as stored: JSON Lines (byte for byte) or CSV; or, with `--what`, the
    /// pilots, stakeholders, ledger or alerts as CSV for a spreadsheet.
    Export(ExportArgs),
    /// Verify the hash chains of an export or of the whole log; exit 6 when one is broken.
    Verify(VerifyArgs),
    /// Fold the whole log (or an export of it, `--file`) locally: the pilots as of a date and
    /// the alerts that would have fired by then.
    Replay(ReplayArgs),
    /// Erase a person's personal data (admin): records the erasure with `--reason` and
    /// destroys the person's key; erasing twice is refused. `--plan` lists what the retention
    /// rules will erase, and when.
    Erase(EraseArgs),
}

/// Runs one client command; prints `pilot: <message>` on failure.
pub async fn run(command: ClientCommand) -> ExitCode {
    let result = match command {
        ClientCommand::Append(args) => append::run(args).await,
        ClientCommand::Import(args) => import::run(args).await,
        ClientCommand::Demo(args) => import::demo(args).await,
        ClientCommand::Status(args) => status::run(args).await,
        ClientCommand::Stakeholders(args) => lists::stakeholders(args).await,
        ClientCommand::Support(args) => support::run(args).await,
        ClientCommand::Highlights(args) => lists::highlights(args).await,
        ClientCommand::Offices(args) => lists::offices(args).await,
        ClientCommand::Events(args) => events::run(args).await,
        ClientCommand::Follow(args) => follow::run(args).await,
        ClientCommand::Analytics(args) => analytics::run(args).await,
        ClientCommand::Jurisdictions(args) => lists::jurisdictions(args).await,
        ClientCommand::Alerts(args) => alerts::run(args).await,
        ClientCommand::Export(args) => export::run(args).await,
        ClientCommand::Verify(args) => verify::run(args).await,
        ClientCommand::Erase(args) => erase::run(args).await,
        ClientCommand::Replay(args) => replay::run(args).await,
    };
    match result {
        Ok(()) | Err(Failure::Closed) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("pilot: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16) -> Failure {
        Failure::Server {
            status,
            code: "x".into(),
            message: "m".into(),
            field: None,
            detail: None,
        }
    }

    #[test]
    fn statuses_map_to_the_documented_exit_codes() {
        for (status, code) in [
            (400, 3),
            (409, 3),
            (413, 3),
            (422, 3),
            (401, 4),
            (403, 4),
            (404, 5),
            (500, 1),
            (503, 1),
            (405, 1),
        ] {
            assert_eq!(server(status).exit_code(), code, "{status}");
        }
        assert_eq!(Failure::BrokenChain("x".into()).exit_code(), 6);
        assert_eq!(Failure::Input("x".into()).exit_code(), 3);
        assert_eq!(Failure::Usage("x".into()).exit_code(), 2);
        assert_eq!(Failure::Unreachable("x".into()).exit_code(), 1);
    }

    #[test]
    fn a_server_error_shows_code_field_and_message() {
        let failure = Failure::Server {
            status: 422,
            code: "invalid_event".into(),
            message: "stance must be -2..2".into(),
            field: Some("data.stance".into()),
            detail: None,
        };
        assert_eq!(
            failure.to_string(),
            "invalid_event (data.stance): stance must be -2..2 (HTTP 422)"
        );
    }
}
