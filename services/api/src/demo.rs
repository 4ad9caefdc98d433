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
//! this way. Given a key store ([`load_history_with`]), the loader seals the plain personal
//! fields of persons as it goes ([`crate::personal_import`]), so a line may be stored with
//! other bytes than the file's, deterministically: a second load finds them all stored.

use crate::personal_import::{self, HistorySealer, Prepared, SealError};
use bytes::Bytes;
use pilot_events::Subject;
use pilot_projections::Refusal;
use pilot_runtime::projection::Projection;
use pilot_store::subject_keys::SubjectKeys;
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
    #[error("line {line} (event {event_id}): its personal fields could not be sealed, nothing from this line on was stored: {source}")]
    Sealing {
        line: usize,
        event_id: Uuid,
        #[source]
        source: SealError,
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
/// that does not decode, is refused by the log, or is refused by the projections. Personal
/// fields are stored as the lines have them: [`load_history_with`] seals them.
pub async fn load_history<L: EventLog>(
    log: &L,
    projection: &Projection,
    history: &[u8],
) -> Result<Loaded, LoadError> {
    load_history_with(log, projection, history, None).await
}

/// [`load_history`], and with a key store, the plain personal fields of persons are sealed as
/// each line is loaded (docs/personal-data.md, "Imported history"): a changed line and the rest
/// of its chain are re-linked, a signature that no longer holds is dropped, and lines already
/// sealed keep their bytes. Loading the same history again appends nothing.
pub async fn load_history_with<L: EventLog>(
    log: &L,
    projection: &Projection,
    history: &[u8],
    keys: Option<&SubjectKeys>,
) -> Result<Loaded, LoadError> {
    let mut sealer = keys.cloned().map(HistorySealer::new);
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
        let sealing = |source| LoadError::Sealing {
            line,
            event_id,
            source,
        };
        let stored_at = projection.read().position_of(&event_id);
        if let Some(position) = stored_at {
            let stored = stored_bytes(log, line, event_id, position).await?;
            let kept = if stored.as_ref() == bytes {
                Some(envelope.hash)
            } else if let Some(sealer) = &sealer {
                let plain = personal_import::plain_fields(&projection.read(), &envelope);
                let prepared = sealer
                    .prepare(&plain, bytes, &envelope, Some(stored.as_ref()))
                    .await
                    .map_err(sealing)?;
                (prepared.bytes == stored.as_ref()).then_some(prepared.envelope.hash)
            } else {
                None
            };
            let Some(stored_hash) = kept else {
                return Err(LoadError::Reused {
                    line,
                    event_id,
                    position,
                });
            };
            if let Some(sealer) = &mut sealer {
                sealer.loaded(&envelope, stored_hash);
            }
            loaded.skipped += 1;
            continue;
        }
        pilot_events::admit::admit(&envelope).map_err(|error| LoadError::Rejected {
            line,
            event_id,
            refusal: Refusal::Invalid(error),
        })?;
        let prepared = match &sealer {
            Some(sealer) => {
                let plain = {
                    let world = projection.read();
                    let (_, head) = world.chain_head(subject);
                    pilot_events::verify_next(bytes, line, sealer.expected_prev(subject, head))?;
                    personal_import::plain_fields(&world, &envelope)
                };
                sealer
                    .prepare(&plain, bytes, &envelope, None)
                    .await
                    .map_err(sealing)?
            }
            None => Prepared {
                bytes: bytes.to_vec(),
                envelope: envelope.clone(),
            },
        };
        if prepared.bytes.len() > limit {
            return Err(LoadError::TooLarge {
                line,
                bytes: prepared.bytes.len(),
                limit,
            });
        }
        // A restored world loads the chain a retraction needs once; whole, it is not asked again.
        let mut chain_loaded = false;
        let expected = loop {
            let refusal = {
                let world = projection.read();
                let (_, head) = world.chain_head(subject);
                pilot_events::verify_next(&prepared.bytes, line, head)?;
                match world.check(&prepared.envelope) {
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
        let positions = append_line(
            log,
            projection,
            subject,
            expected,
            event_id,
            &prepared.bytes,
        )
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
        if let Some(sealer) = &mut sealer {
            sealer.loaded(&envelope, prepared.envelope.hash);
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

/// The stored bytes of the event at `position`, which the projection says is `event_id`.
async fn stored_bytes<L: EventLog>(
    log: &L,
    line: usize,
    event_id: Uuid,
    position: u64,
) -> Result<Bytes, LoadError> {
    let stored = log
        .read_from(position, 1)
        .await
        .map_err(log_error(line, event_id))?;
    match stored.into_iter().next() {
        Some(stored) if stored.position == position => Ok(stored.bytes),
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

    /// Every stored message's bytes, in log order.
    async fn stored_lines(log: &MemoryLog) -> Vec<Bytes> {
        let last = log.last_position().await.unwrap();
        let stored = log.read_from(1, last as usize).await.unwrap();
        assert_eq!(stored.len() as u64, last);
        stored.into_iter().map(|s| s.bytes).collect()
    }

    /// The registrations of the persons the Nanguo history marks: (id, name).
    fn nanguo_persons() -> Vec<(Uuid, String)> {
        lines(NANGUO)
            .map(|(_, bytes)| pilot_events::decode(bytes).unwrap())
            .filter_map(|envelope| match envelope.event {
                pilot_events::Event::StakeholderRegistered(r) if r.person => {
                    Some((envelope.subject.id(), r.name))
                }
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn loading_with_a_key_store_seals_the_persons_fields_and_every_chain_verifies() {
        let (log, projection, _stop) = follower().await;
        let keys = SubjectKeys::memory();
        let loaded = load_history_with(log.as_ref(), &projection, NANGUO, Some(&keys))
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

        let stored = stored_lines(&log).await;
        let all: Vec<u8> = stored.iter().flat_map(|b| b.iter().copied()).collect();
        let all = String::from_utf8(all).unwrap();
        let persons = nanguo_persons();
        assert_eq!(persons.len(), 5);
        for (_, name) in &persons {
            assert!(
                !all.contains(name.as_str()),
                "{name} is stored in clear text"
            );
        }
        // Not only the names: the contact summaries and notes about them too.
        assert!(!all.contains("It sounds good"));
        assert!(all.matches("\"sealed:v1:").count() > persons.len());
        // Posts, bodies and groups stay plain.
        assert!(all.contains("\"Mayor of Nanguo (post)\""));

        let report = pilot_events::verify_lines(stored.iter().map(|b| b.as_ref())).unwrap();
        assert_eq!(report.events, nanguo_events());

        // A person's name opens under their key.
        let (li, name) = &persons[0];
        let registration: serde_json::Value = serde_json::from_slice(&stored[0]).unwrap();
        let token = registration["data"]["name"].as_str().unwrap();
        let key = keys.key(*li).await.unwrap().unwrap();
        let sealed = pilot_events::personal::SealedText::parse(token)
            .unwrap()
            .unwrap();
        assert_eq!(&sealed.open(&key).unwrap(), name);

        // Lines with nothing personal in chains nothing changed keep their bytes.
        let ministry = lines(NANGUO).nth(1).unwrap().1;
        assert_eq!(stored[1].as_ref(), ministry);
    }

    #[tokio::test]
    async fn loading_again_with_the_key_store_appends_nothing_even_after_an_erasure() {
        let (log, projection, _stop) = follower().await;
        let keys = SubjectKeys::memory();
        load_history_with(log.as_ref(), &projection, NANGUO, Some(&keys))
            .await
            .unwrap();
        let before = stored_lines(&log).await;
        let again = load_history_with(log.as_ref(), &projection, NANGUO, Some(&keys))
            .await
            .unwrap();
        assert_eq!(
            again,
            Loaded {
                appended: 0,
                skipped: nanguo_events()
            }
        );

        // Mayor Gong is erased: his key is gone, and the history still finds every line stored.
        let (gong, _) = nanguo_persons()
            .into_iter()
            .find(|(_, name)| name == "Mayor Gong")
            .unwrap();
        let chain = Subject::Stakeholder(gong);
        let head = projection.read().chain_head(chain).1;
        let at = time::macros::datetime!(2026-01-05 09:00 UTC);
        let erasure = pilot_events::Envelope {
            event_id: Uuid::from_u128(0x0194ae00_0000_7000_8000_0000000e0001),
            schema: 2,
            subject: chain,
            occurred_at: at,
            recorded_at: at,
            actor: pilot_events::Actor {
                office: "SSDNC".into(),
                user: "admin".into(),
            },
            correlation_id: None,
            causation_id: None,
            prev_hash: head,
            hash: pilot_events::Hash::ZERO,
            signature: None,
            provenance: Default::default(),
            event: pilot_events::Event::SubjectErased(pilot_events::data::SubjectErased {
                reason: "Request under the law".into(),
            }),
        }
        .seal(head);
        load_history_with(
            log.as_ref(),
            &projection,
            erasure.to_json().as_bytes(),
            Some(&keys),
        )
        .await
        .unwrap();
        assert!(keys.memory_eraser().unwrap().destroy(gong).await.unwrap());
        keys.forget(gong);

        let after_erasure = load_history_with(log.as_ref(), &projection, NANGUO, Some(&keys))
            .await
            .unwrap();
        assert_eq!(after_erasure.appended, 0);
        assert_eq!(after_erasure.skipped, nanguo_events());
        let after = stored_lines(&log).await;
        assert_eq!(&after[..before.len()], &before[..]);
        assert_eq!(after.len(), before.len() + 1);

        // A new plain note about him cannot be sealed any more, and is not stored.
        let contact = lines(NANGUO)
            .map(|(_, bytes)| pilot_events::decode(bytes).unwrap())
            .find(|e| {
                matches!(&e.event, pilot_events::Event::ContactLogged(c) if c.stakeholder_id == gong)
            })
            .unwrap();
        let head = projection.read().chain_head(contact.subject).1;
        let late = pilot_events::Envelope {
            event_id: Uuid::from_u128(0x0194ae00_0000_7000_8000_0000000e0002),
            signature: None,
            ..contact
        }
        .seal(head);
        let error = load_history_with(
            log.as_ref(),
            &projection,
            late.to_json().as_bytes(),
            Some(&keys),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                error,
                LoadError::Sealing {
                    source: SealError::Erased { field: "summary", subject },
                    ..
                } if subject == gong
            ),
            "{error}"
        );
        assert_eq!(stored_lines(&log).await.len(), after.len());
    }

    #[tokio::test]
    async fn an_altered_personal_text_is_refused_on_a_second_load() {
        let (log, projection, _stop) = follower().await;
        let keys = SubjectKeys::memory();
        let first = lines(NANGUO).next().unwrap().1;
        load_history_with(log.as_ref(), &projection, first, Some(&keys))
            .await
            .unwrap();
        // The same event id with another name: sealed, it is not the stored event.
        let mut altered = pilot_events::decode(first).unwrap();
        let pilot_events::Event::StakeholderRegistered(r) = &mut altered.event else {
            panic!("the first line registers a person");
        };
        r.name = "Party Secretary Lee".into();
        let altered = altered.seal(pilot_events::Hash::ZERO).to_json();
        let error = load_history_with(log.as_ref(), &projection, altered.as_bytes(), Some(&keys))
            .await
            .unwrap_err();
        assert!(
            matches!(error, LoadError::Reused { line: 1, .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_signature_over_a_changed_hash_is_dropped_and_others_are_kept() {
        let (log, projection, _stop) = follower().await;
        let keys = SubjectKeys::memory();
        let signature = pilot_events::EventSignature {
            key_id: "0123456789abcdef".into(),
            ed25519: "ab".repeat(64),
        };
        let signed: Vec<String> = lines(NANGUO)
            .take(2)
            .map(|(_, bytes)| {
                let mut envelope = pilot_events::decode(bytes).unwrap();
                envelope.signature = Some(signature.clone());
                envelope.to_json()
            })
            .collect();
        load_history_with(
            log.as_ref(),
            &projection,
            signed.join("\n").as_bytes(),
            Some(&keys),
        )
        .await
        .unwrap();
        let stored = stored_lines(&log).await;
        // A person's registration: sealed, so its hash changed and the signature went.
        let person = pilot_events::decode(&stored[0]).unwrap();
        assert_eq!(person.signature, None);
        assert_ne!(stored[0].as_ref(), signed[0].as_bytes());
        // A ministry's: unchanged, signature and all.
        assert_eq!(stored[1].as_ref(), signed[1].as_bytes());
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
