//! Loading a sealed history (JSON Lines in the wire format, such as
//! `deploy/demo/nanguo.jsonl`) into the log exactly as stored.
//!
//! The lines are already sealed: `recorded_at`, `prev_hash` and `hash` are in the bytes. So
//! they do not go through the writer (which would seal them again, with a new `recorded_at`):
//! each line is appended as it is, expecting its chain's last position as the live projection
//! knows it, and the loader waits until the projection has applied it before the next line.
//! Events already applied (by `event_id`) are skipped, so a load that was interrupted can be
//! run again. Before a line is appended, its hash must hold, it must follow its chain's last
//! stored event, and the projections' rules must accept it: nothing that would break a chain
//! or be quarantined is stored. `POST /api/v1/import` and `pilot serve --demo` both load
//! this way.

use bytes::Bytes;
use pilot_events::Subject;
use pilot_projections::Refusal;
use pilot_runtime::projection::Projection;
use pilot_store::{EventLog, LogError, Outgoing};
use std::time::Duration;
use uuid::Uuid;

/// The Nanguo case (`deploy/demo/nanguo.jsonl`), compiled in: `pilot serve --demo` and
/// `pilot demo` load it from any directory, with no checkout around them.
pub const NANGUO: &[u8] = include_bytes!("../../../deploy/demo/nanguo.jsonl");

/// How many events the Nanguo history holds (one per non-empty line), for what reports or
/// checks the demo's size.
pub fn nanguo_events() -> usize {
    NANGUO
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .count()
}

/// How long one appended line may take to show in the projection.
pub const APPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Lines appended now.
    pub appended: usize,
    /// Lines whose events were in the log already.
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("line {line}: not an event: {message}")]
    Undecodable { line: usize, message: String },
    #[error("line {line} (event {event_id}): {source}")]
    Log {
        line: usize,
        event_id: Uuid,
        #[source]
        source: LogError,
    },
    #[error("line {line} (event {event_id}) was stored at position {position} but the projection did not reach it within {waited:?}")]
    Lagging {
        line: usize,
        event_id: Uuid,
        position: u64,
        waited: Duration,
    },
    #[error("{0}; nothing from this line on was stored")]
    Broken(#[from] pilot_events::BrokenLink),
    #[error("line {line}: event {event_id} is stored at position {position} with other bytes; nothing from this line on was stored: an event id names one event, so this line is not the stored event (compare it with the export of that position)")]
    Reused {
        line: usize,
        event_id: Uuid,
        position: u64,
    },
    #[error("line {line} is {bytes} bytes; the event store takes at most {limit} bytes in one event; nothing from this line on was stored")]
    TooLarge {
        line: usize,
        bytes: usize,
        limit: usize,
    },
    #[error(
        "line {line} (event {event_id}) refused, nothing from this line on was stored: {refusal}"
    )]
    Rejected {
        line: usize,
        event_id: Uuid,
        refusal: pilot_projections::Refusal,
    },
    #[error("line {line} (event {event_id}) was stored at position {position} but the projections refused it; its reason is in the quarantine (pilot.quarantine.{position})")]
    Refused {
        line: usize,
        event_id: Uuid,
        position: u64,
    },
}

/// The first event of a history: a load is resumable only into a log that holds it.
pub fn first_event(history: &[u8]) -> Option<Uuid> {
    lines(history)
        .next()
        .and_then(|(_, bytes)| pilot_events::decode(bytes).ok())
        .map(|envelope| envelope.event_id)
}

/// Appends every line of `history` that the projection has not applied yet, in file order,
/// each as its own append, and waits for the projection to apply it. Stops at the first line
/// that does not decode, is refused by the log, or is refused by the projections.
pub async fn load_history<L: EventLog>(
    log: &L,
    projection: &Projection,
    history: &[u8],
) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    let limit = log.max_event_bytes();
    for (line, bytes) in lines(history) {
        let undecodable = |error: pilot_events::EventError| LoadError::Undecodable {
            line,
            message: error.to_string(),
        };
        pilot_events::admit::check_depth(bytes).map_err(undecodable)?;
        let envelope = pilot_events::decode(bytes).map_err(undecodable)?;
        let event_id = envelope.event_id;
        let subject: Subject = envelope.subject;
        let stored_at = projection.read().position_of(&event_id);
        if let Some(position) = stored_at {
            same_bytes_as_stored(log, line, event_id, position, bytes).await?;
            loaded.skipped += 1;
            continue;
        }
        if bytes.len() > limit {
            return Err(LoadError::TooLarge {
                line,
                bytes: bytes.len(),
                limit,
            });
        }
        pilot_events::admit::admit(&envelope).map_err(|error| LoadError::Rejected {
            line,
            event_id,
            refusal: Refusal::Invalid(error),
        })?;
        // A restored world loads the chain a retraction needs once; whole, it is not asked again.
        let mut chain_loaded = false;
        let expected = loop {
            let refusal = {
                let world = projection.read();
                let (_, head) = world.chain_head(subject);
                pilot_events::verify_next(bytes, line, head)?;
                match world.check(&envelope) {
                    Ok(()) => break world.chain_position(subject),
                    Err(refusal) => refusal,
                }
            };
            match refusal {
                // A world restored from a checkpoint loads the chain a retraction needs, as
                // the writer does.
                Refusal::ChainNotLoaded { pilot_id } if !chain_loaded => {
                    chain_loaded = true;
                    pilot_runtime::projector::ensure_chain(log, projection, pilot_id, false)
                        .await
                        .map_err(log_error(line, event_id))?;
                }
                refusal => {
                    return Err(LoadError::Rejected {
                        line,
                        event_id,
                        refusal,
                    })
                }
            }
        };
        let positions = append_line(log, projection, subject, expected, event_id, bytes)
            .await
            .map_err(log_error(line, event_id))?;
        let position = positions.last().copied().unwrap_or(0);
        if !projection.wait_for(position, APPLY_TIMEOUT).await {
            return Err(LoadError::Lagging {
                line,
                event_id,
                position,
                waited: APPLY_TIMEOUT,
            });
        }
        if projection.read().position_of(&event_id) != Some(position) {
            return Err(LoadError::Refused {
                line,
                event_id,
                position,
            });
        }
        loaded.appended += 1;
    }
    Ok(loaded)
}

/// Appends one sealed line after the chain's last event at `expected`, going on after a
/// foreign message on the chain's subject (as the writer does), so junk never blocks an import.
async fn append_line<L: EventLog>(
    log: &L,
    projection: &Projection,
    subject: Subject,
    expected: u64,
    event_id: Uuid,
    bytes: &[u8],
) -> Result<Vec<u64>, LogError> {
    let version = projection.read().chain_head(subject).0;
    let outgoing = Outgoing {
        event_id,
        bytes: Bytes::copy_from_slice(bytes),
    };
    match log.append(subject, expected, vec![outgoing.clone()]).await {
        Err(LogError::Conflict { found, .. })
            if projection.wait_for(found, APPLY_TIMEOUT).await
                && pilot_runtime::writer::is_foreign_tail(projection, subject, version, found) =>
        {
            log.append(subject, found, vec![outgoing]).await
        }
        other => other,
    }
}

/// A line whose event id is stored: it is skipped when its bytes are the stored ones, and
/// refused when they are not (an altered line, or an id reused for another event).
async fn same_bytes_as_stored<L: EventLog>(
    log: &L,
    line: usize,
    event_id: Uuid,
    position: u64,
    bytes: &[u8],
) -> Result<(), LoadError> {
    let stored = log
        .read_from(position, 1)
        .await
        .map_err(log_error(line, event_id))?;
    match stored.first() {
        Some(stored) if stored.position == position && stored.bytes.as_ref() == bytes => Ok(()),
        _ => Err(LoadError::Reused {
            line,
            event_id,
            position,
        }),
    }
}

/// A log failure while loading line `line`.
fn log_error(line: usize, event_id: Uuid) -> impl FnOnce(LogError) -> LoadError {
    move |source| LoadError::Log {
        line,
        event_id,
        source,
    }
}

/// Non-blank lines with their 1-based numbers, without the line ending. An export's sidecar
/// lines are skipped: they are no events, and their plain text must never be stored.
fn lines(history: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    history
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .filter(|(_, line)| !crate::reveal::is_sidecar(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    use pilot_projections::World;
    use pilot_runtime::projector::follow_memory;
    use pilot_store::memory::MemoryLog;
    use std::sync::Arc;
    use tokio::sync::watch;

    async fn follower() -> (Arc<MemoryLog>, Arc<Projection>, watch::Sender<bool>) {
        let log = Arc::new(MemoryLog::new());
        let projection = Arc::new(Projection::new(World::new()));
        let (stop, shutdown) = watch::channel(false);
        tokio::spawn(follow_memory(log.clone(), projection.clone(), shutdown));
        (log, projection, stop)
    }

    #[tokio::test]
    async fn loads_the_nanguo_history_as_stored_and_only_once() {
        let (log, projection, _stop) = follower().await;
        let loaded = load_history(log.as_ref(), &projection, NANGUO)
            .await
            .unwrap();
        assert_eq!(
            loaded,
            Loaded {
                appended: nanguo_events(),
                skipped: 0
            }
        );
        assert_eq!(projection.read().pilots().count(), 5);
        // Stored byte for byte: the first line is the first message.
        let first = log.read_from(1, 1).await.unwrap();
        let line = NANGUO.split(|b| *b == b'\n').next().unwrap();
        assert_eq!(first[0].bytes.as_ref(), line);

        let again = load_history(log.as_ref(), &projection, NANGUO)
            .await
            .unwrap();
        assert_eq!(
            again,
            Loaded {
                appended: 0,
                skipped: nanguo_events()
            }
        );
        assert_eq!(log.last_position().await.unwrap(), nanguo_events() as u64);
    }

    #[tokio::test]
    async fn names_the_line_that_does_not_decode() {
        let (log, projection, _stop) = follower().await;
        let first = NANGUO.split(|b| *b == b'\n').next().unwrap();
        let mut history = first.to_vec();
        history.extend_from_slice(b"\n\n{\"event_id\": 1}\n");
        let error = load_history(log.as_ref(), &projection, &history)
            .await
            .unwrap_err();
        assert!(
            matches!(error, LoadError::Undecodable { line: 3, .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn refuses_a_line_the_projections_would_refuse_and_stores_nothing() {
        let (log, projection, _stop) = follower().await;
        // A pilot event before its pilot.proposed.
        let line = NANGUO
            .split(|b| *b == b'\n')
            .find(|l| l.windows(24).any(|w| w == b"\"pilot.program_designed\""))
            .unwrap();
        let error = load_history(log.as_ref(), &projection, line)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                LoadError::Broken(_) | LoadError::Rejected { line: 1, .. }
            ),
            "{error}"
        );
        assert_eq!(log.last_position().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn refuses_an_altered_line_and_keeps_what_came_before() {
        let (log, projection, _stop) = follower().await;
        let text = std::str::from_utf8(NANGUO).unwrap();
        let mut lines: Vec<String> = text.lines().take(3).map(str::to_string).collect();
        lines[2] = lines[2].replacen("\"influence\":", "\"influence\": ", 1);
        lines[2] = lines[2].replacen("\"archivist\"", "\"someone else\"", 1);
        let error = load_history(log.as_ref(), &projection, lines.join("\n").as_bytes())
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                LoadError::Broken(pilot_events::BrokenLink::HashMismatch { line: 3, .. })
            ),
            "{error}"
        );
        assert_eq!(log.last_position().await.unwrap(), 2);
    }

    #[test]
    fn the_first_event_is_that_of_the_first_line() {
        assert_eq!(
            first_event(NANGUO).map(|id| id.to_string()).as_deref(),
            Some("0194ae00-0000-7000-8000-000000000001")
        );
        assert_eq!(first_event(b"\n"), None);
    }
}
