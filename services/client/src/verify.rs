//! `pilot verify [FILE]`: recomputes every hash chain of an exported JSON Lines file, or of
//! the whole log (from the server, or `--nats URL`), and names the first broken link: its
//! line (or position in the log), its event and what is wrong. Exit code 6 when one is found.
//! With `--keys FILE` it also checks who wrote the events ([`super::trust`]): each is signed by
//! a key of the file or covered by the seal (`--seal FILE`, or the latest seal of the server
//! or of `--nats` when reading the log).

use super::log::Source;
use super::output;
use super::trust::Trust;
use super::{read_input, Common, Failure};
use clap::Args;
use pilot_events::{BrokenLink, ChainVerifier};
use pilot_store::signing::KeyRing;
use pilot_store::SealLog;
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

    /// The service's public keys (what `pilot keys` prints): every event must be signed by
    /// one of them, or be covered by the seal.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<String>,

    /// A seal (JSON, as `GET /api/v1/seals/latest` answers) that covers unsigned history and
    /// reveals a dropped tail; reading the log (no FILE), the latest seal is fetched when not
    /// given.
    #[arg(long, value_name = "FILE", requires = "keys")]
    pub seal: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

/// Where a broken link was found, for messages.
enum Place<'a> {
    /// Line `n` of a file.
    File(&'a str, usize),
    /// The n-th event read from the log, at this position when known.
    Log(Option<u64>),
    /// After the last event.
    End,
}

/// What stopped a verification.
enum Problem {
    Broken(BrokenLink),
    Untrusted(String),
}

/// The keys file and the seal: `--seal FILE`, else the latest seal when reading NATS.
async fn trust(keys: &str, seal: Option<&str>, source: Option<&Source>) -> Result<Trust, Failure> {
    let text = read_input(keys)?;
    let ring = KeyRing::parse(&String::from_utf8_lossy(&text))
        .map_err(|e| Failure::Input(format!("{keys}: {e}")))?;
    let seal = match (seal, source) {
        (Some(file), _) => {
            let bytes = read_input(file)?;
            Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| Failure::Input(format!("{file}: not a seal: {e}")))?,
            )
        }
        (None, Some(Source::Nats(log))) => log
            .latest_seal()
            .await
            .map_err(|e| Failure::Unreachable(e.to_string()))?,
        (None, Some(Source::Server(http))) => {
            match http.get(http.url("/api/v1/seals/latest", &[])?).await {
                Ok(answer) => Some(serde_json::from_slice(&answer.body).map_err(|e| {
                    Failure::BadAnswer(format!("GET /api/v1/seals/latest: not a seal: {e}"))
                })?),
                Err(Failure::Server { status: 404, .. }) => None,
                Err(other) => return Err(other),
            }
        }
        (None, None) => None,
    };
    Trust::new(ring, seal).map_err(Failure::BrokenChain)
}

pub async fn run(args: VerifyArgs) -> Result<(), Failure> {
    let mut verifier = ChainVerifier::default();
    let source = match &args.file {
        Some(_) => None,
        None => Some(Source::open(&args.common, args.nats.as_deref()).await?),
    };
    let mut trust = match &args.keys {
        Some(keys) => Some(trust(keys, args.seal.as_deref(), source.as_ref()).await?),
        None => None,
    };
    let mut step = |bytes: &[u8]| -> Result<(), Problem> {
        let link = verifier.push_link(bytes).map_err(Problem::Broken)?;
        match trust.as_mut() {
            Some(trust) => trust.check(&link, &verifier).map_err(Problem::Untrusted),
            None => Ok(()),
        }
    };
    let outcome = match (&args.file, &source) {
        (Some(file), _) => {
            let input = read_input(file)?;
            let mut outcome = Ok(());
            for (number, line) in super::import::numbered_lines(&input) {
                if let Err(problem) = step(line) {
                    outcome = Err((problem, Place::File(file, number)));
                    break;
                }
            }
            outcome
        }
        (None, Some(source)) => {
            let mut broken = None;
            source
                .for_each(None, |entry| match step(&entry.bytes) {
                    Ok(()) => Ok(()),
                    Err(problem) => {
                        broken = Some((problem, Place::Log(entry.position)));
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
        (None, None) => Ok(()),
    };
    let finished = match (&outcome, trust.as_ref()) {
        (Ok(()), Some(trust)) => trust.finish(&verifier).err(),
        _ => None,
    };
    let outcome = match finished {
        Some(message) => Err((Problem::Untrusted(message), Place::End)),
        None => outcome,
    };
    let outcome = match outcome {
        Ok(()) => Ok(()),
        Err((Problem::Broken(link), place)) => Err((link, place)),
        Err((Problem::Untrusted(message), place)) => {
            let message = match place {
                Place::File(file, _) => format!("{file}: {message}"),
                Place::Log(Some(position)) => {
                    format!("the log: {message} (log position {position})")
                }
                Place::Log(None) | Place::End => format!("the log: {message}"),
            };
            if args.common.json {
                output::json(
                    &json!({"verified": false, "problem": "untrusted", "message": message}),
                )?;
            }
            return Err(Failure::BrokenChain(message));
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
                    "signatures_checked": args.keys.is_some(),
                }))
            } else {
                output::line(&format!(
                    "verified: {} events in {} chains, every hash chain holds{}",
                    report.events,
                    report.chains,
                    if args.keys.is_some() {
                        ", every event is signed or covered by the seal"
                    } else {
                        ""
                    }
                ))
            }
        }
        Err((link, place)) => {
            let link = relabel(link, &place);
            // A file line that is no stored event at all means the file is not an export:
            // input refused (3), not a broken chain (6).
            let not_an_export =
                matches!(place, Place::File(..)) && matches!(link, BrokenLink::Unreadable { .. });
            let message = match place {
                Place::File(file, _) => format!("{file}: {link}"),
                Place::Log(Some(position)) => format!("the log: {link} (log position {position})"),
                Place::Log(None) | Place::End => format!("the log: {link}"),
            };
            if args.common.json {
                output::json(&describe(&link, &message))?;
            }
            if not_an_export {
                Err(Failure::Input(message))
            } else {
                Err(Failure::BrokenChain(message))
            }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use pilot_events::personal::{seal, SubjectKey, KEY_BYTES};
    use pilot_events::{Event, Hash};

    /// A person's registration with a sealed name, as the writer stores it, then the export's
    /// sidecar line for it (or none: redacted).
    fn export(sidecar: bool) -> String {
        let first = pilot_api::demo::NANGUO
            .split(|b| *b == b'\n')
            .next()
            .unwrap();
        let mut envelope = pilot_events::decode(first).unwrap();
        let subject = uuid::Uuid::from_u128(0xe1);
        let key = SubjectKey::from_bytes([7; KEY_BYTES]);
        let Event::StakeholderRegistered(data) = &mut envelope.event else {
            unreachable!("the history starts with a registration")
        };
        data.name = seal(&key, subject, "name", "Party Secretary Li").to_string();
        let line = envelope.seal(Hash::ZERO).to_json();
        assert!(!line.contains("Party Secretary Li"));
        let mut text = format!("{line}\n");
        if sidecar {
            text.push_str(&format!(
                "{{\"revealed_for\":\"{}\",\"fields\":{{\"name\":\"Party Secretary Li\"}}}}\n",
                envelope_id(&line)
            ));
        }
        text
    }

    fn envelope_id(line: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        value["event_id"].as_str().unwrap().to_string()
    }

    async fn verify(text: &str) -> Result<(), Failure> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.jsonl");
        std::fs::write(&path, text).unwrap();
        run(VerifyArgs {
            file: Some(path.to_string_lossy().into_owned()),
            nats: None,
            keys: None,
            seal: None,
            common: Common {
                server: "http://127.0.0.1:1".into(),
                token: None,
                json: true,
            },
        })
        .await
    }

    #[tokio::test]
    async fn an_export_verifies_with_its_sidecars_skipped_and_redacted() {
        verify(&export(true)).await.unwrap();
        verify(&export(false)).await.unwrap();
        // The event line itself is still checked: a changed ciphertext breaks its chain.
        let tampered = export(true).replacen("sealed:v1:", "sealed:v1:0", 1);
        assert!(verify(&tampered).await.is_err());
    }
}
