//! `pilot verify [FILE]`: recomputes every hash chain of an exported JSON Lines file, or of
//! the whole log (from the server, or `--nats URL`), and names the first broken link: its
//! line (or position in the log), its event and what is wrong. Exit code 6 when one is found.

use super::log::Source;
use super::output;
use super::{read_input, Common, Failure};
use clap::Args;
use pilot_events::{BrokenLink, ChainVerifier};
use serde_json::json;

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// An exported JSON Lines file (`-` reads stdin). Without it, the whole log of the server
    /// (or of `--nats`).
    #[arg(value_name = "FILE")]
    pub file: Option<String>,

    /// Read the log directly from this NATS server instead of the pilot service.
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub nats: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

/// Where a broken link was found, for messages.
enum Place<'a> {
    /// Line `n` of a file.
    File(&'a str, usize),
    /// The n-th event read from the log, at this position when known.
    Log(Option<u64>),
}

pub async fn run(args: VerifyArgs) -> Result<(), Failure> {
    let mut verifier = ChainVerifier::default();
    let outcome = match &args.file {
        Some(file) => {
            let input = read_input(file)?;
            let mut outcome = Ok(());
            for (number, line) in super::import::numbered_lines(&input) {
                if let Err(link) = verifier.push(line) {
                    outcome = Err((link, Place::File(file, number)));
                    break;
                }
            }
            outcome
        }
        None => {
            let source = Source::open(&args.common, args.nats.as_deref()).await?;
            let mut broken = None;
            source
                .for_each(None, |entry| match verifier.push(&entry.bytes) {
                    Ok(()) => Ok(()),
                    Err(link) => {
                        broken = Some((link, Place::Log(entry.position)));
                        // Stop reading: the first broken link is the answer.
                        Err(Failure::BrokenChain(String::new()))
                    }
                })
                .await
                .or_else(|failure| match failure {
                    Failure::BrokenChain(_) => Ok(0),
                    other => Err(other),
                })?;
            broken.map_or(Ok(()), Err)
        }
    };
    let report = verifier.report();
    match outcome {
        Ok(()) => {
            if args.common.json {
                output::json(&json!({
                    "verified": true,
                    "events": report.events,
                    "chains": report.chains,
                }))
            } else {
                output::line(&format!(
                    "verified: {} events in {} chains, every hash chain holds",
                    report.events, report.chains
                ))
            }
        }
        Err((link, place)) => {
            let link = relabel(link, &place);
            let message = match place {
                Place::File(file, _) => format!("{file}: {link}"),
                Place::Log(Some(position)) => format!("the log: {link} (log position {position})"),
                Place::Log(None) => format!("the log: {link}"),
            };
            if args.common.json {
                output::json(&describe(&link, &message))?;
            }
            Err(Failure::BrokenChain(message))
        }
    }
}

/// The link numbered as the file numbers its lines (blank lines are not events).
fn relabel(link: BrokenLink, place: &Place) -> BrokenLink {
    let Place::File(_, number) = *place else {
        return link;
    };
    match link {
        BrokenLink::Unreadable { message, .. } => BrokenLink::Unreadable {
            line: number,
            message,
        },
        BrokenLink::HashMismatch {
            event_id,
            stated,
            computed,
            ..
        } => BrokenLink::HashMismatch {
            line: number,
            event_id,
            stated,
            computed,
        },
        BrokenLink::PrevMismatch {
            event_id,
            chain,
            expected,
            found,
            ..
        } => BrokenLink::PrevMismatch {
            line: number,
            event_id,
            chain,
            expected,
            found,
        },
    }
}

fn describe(link: &BrokenLink, message: &str) -> serde_json::Value {
    let (problem, line, event_id) = match link {
        BrokenLink::Unreadable { line, .. } => ("unreadable", *line, None),
        BrokenLink::HashMismatch { line, event_id, .. } => ("altered", *line, Some(event_id)),
        BrokenLink::PrevMismatch { line, event_id, .. } => ("broken_link", *line, Some(event_id)),
    };
    json!({
        "verified": false,
        "line": line,
        "event_id": event_id,
        "problem": problem,
        "message": message,
    })
}
