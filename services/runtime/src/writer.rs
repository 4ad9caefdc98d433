//! The writer: decides, seals and appends, with optimistic concurrency per chain.
//!
//! The append path reads no history: the chain's version, last hash and last position come
//! from the live projection. The log is read only to answer a retry (ids already stored), to
//! compare an event id stored before with the draft that reuses it, and to answer for a
//! stakeholder's chain, whose events the projection does not keep. Decisions and the hash chain run before anything is published.
//! Within one process appends to the same chain queue behind a per-chain lock (so they do not
//! fight each other); across processes the store's expected-position check arbitrates, and
//! the loser catches up and tries again.

pub use crate::draft::{AppendError, Draft, MAX_EVENTS_PER_APPEND};
use crate::projection::Projection;
use bytes::Bytes;
use pilot_events::data::CalendarSource;
use pilot_events::{Envelope, Event, Hash, Subject, CURRENT_SCHEMA};
use pilot_projections::stall_terms::{NewEvent, StallPolicy};
use pilot_projections::Refusal;
use pilot_store::log::{EventLog, LogError, Outgoing};
use pilot_store::signing::EventSigner;
use pilot_store::subject_keys::SubjectKeys;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long an append waits for the projection to show what the store now holds.
const PROJECTION_WAIT: Duration = Duration::from_secs(5);
/// How many times an append without `expected_version` retries after losing a race.
const MAX_ATTEMPTS: usize = 1_000;
/// The longest pause between two attempts; pauses are random up to a bound that doubles with
/// each lost race, so writers that collided do not collide again in lockstep.
const MAX_BACKOFF_MS: u64 = 32;

impl Draft {
    /// The first field in which two drafts differ, by its wire name; `None` when they are the
    /// same event.
    fn first_difference(&self, other: &Draft) -> Option<&'static str> {
        let fields = [
            ("chain", self.subject == other.subject),
            ("occurred_at", self.occurred_at == other.occurred_at),
            ("actor", self.actor == other.actor),
            (
                "correlation_id",
                self.correlation_id == other.correlation_id,
            ),
            ("causation_id", self.causation_id == other.causation_id),
            ("provenance", self.provenance == other.provenance),
            ("type", self.event.event_type() == other.event.event_type()),
            ("data", same_data(&self.event, &other.event)),
        ];
        fields
            .into_iter()
            .find(|(_, same)| !same)
            .map(|(name, _)| name)
    }
}

/// Whether a stored event's data and a draft's are the same event: a draft that leaves the
/// stall record out (the writer fills it) matches the stored record, whatever it says.
fn same_data(stored: &Event, draft: &Event) -> bool {
    use pilot_events::data::{ApprovalExtended, ApprovalRequested};
    match (stored, draft) {
        (Event::ApprovalRequested(s), Event::ApprovalRequested(d)) if d.stall.is_none() => {
            *d == ApprovalRequested {
                stall: None,
                ..s.clone()
            }
        }
        (Event::ApprovalExtended(s), Event::ApprovalExtended(d)) if d.stalls_at.is_none() => {
            *d == ApprovalExtended {
                stalls_at: None,
                ..s.clone()
            }
        }
        _ => stored == draft,
    }
}

/// One append's events sealed onto the chain, and where the chain stood when they were.
struct Sealed {
    envelopes: Vec<Envelope>,
    /// The chain's version the events follow.
    version: u64,
    /// The stream position of the chain's last event.
    chain_position: u64,
}

/// After the store answered that a chain's subject ends at `found`, and the projection has
/// caught up with `found`: whether the message there is foreign (the projector quarantined
/// it) rather than a rival's event. It is when the chain is still at `version` and its last
/// event lies before `found`. An append then expects `found` as the subject's last position,
/// so junk on a chain's subject costs one round trip, never the chain.
pub fn is_foreign_tail(
    projection: &Projection,
    subject: Subject,
    version: u64,
    found: u64,
) -> bool {
    let world = projection.read();
    let foreign = world.chain_head(subject).0 == version && world.chain_position(subject) < found;
    if foreign {
        tracing::info!(
            message = "A foreign message is the last on the chain's subject; appending after it.",
            position = found
        );
    }
    foreign
}

/// Refuses a request that names one event id twice: the store would keep one of them and
/// the all-or-nothing batch could never complete.
fn distinct_ids(drafts: &[Draft]) -> Result<(), AppendError> {
    let mut seen: HashMap<Uuid, usize> = HashMap::with_capacity(drafts.len());
    for (index, draft) in drafts.iter().enumerate() {
        if let Some(event_id) = draft.event_id {
            if let Some(first) = seen.insert(event_id, index) {
                return Err(AppendError::DuplicateEventId {
                    first,
                    second: index,
                    event_id,
                });
            }
        }
    }
    Ok(())
}

/// A stored event with its place: chain version and stream position.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub envelope: Envelope,
    pub version: u64,
    pub position: u64,
}

/// A random pause below a bound that doubles per attempt (full jitter).
fn backoff(attempt: usize) -> Duration {
    let bound_ms = (1u64 << attempt.min(6)).min(MAX_BACKOFF_MS);
    // The random bits of a fresh UUID v7 are jitter enough; no generator crate needed.
    let random = (Uuid::now_v7().as_u128() & u128::from(u64::MAX)) as u64;
    Duration::from_micros(random % (bound_ms * 1_000))
}

/// The wall clock by default; tests and replays pass their own.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

pub struct Writer<L> {
    log: Arc<L>,
    projection: Arc<Projection>,
    chain_locks: Mutex<HashMap<Subject, Arc<tokio::sync::Mutex<()>>>>,
    clock: Clock,
    /// Signs each sealed event's hash; `None` writes unsigned events (tests, replays).
    signer: Option<Arc<EventSigner>>,
    /// The stall terms new approval requests and extensions record.
    stall_terms: Arc<StallPolicy>,
    /// Calendars named by jurisdictions but not loaded, already warned about (once each).
    warned_calendars: Mutex<HashSet<String>>,
    /// The office site (JetStream domain) this writer writes at; `None` at the centre or on a
    /// single server. A site refuses the chains the centre writes
    /// ([`pilot_store::sites::written_at_centre`]), so two sites never write one chain.
    site: Option<String>,
    /// Seals persons' personal fields ([`crate::sealing`]); without it a person's personal
    /// text is refused rather than stored plain.
    subject_keys: Option<SubjectKeys>,
}

impl<L> std::fmt::Debug for Writer<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("position", &self.projection.position())
            .finish_non_exhaustive()
    }
}

impl<L: EventLog> Writer<L> {
    pub fn new(log: Arc<L>, projection: Arc<Projection>) -> Self {
        Writer {
            log,
            projection,
            chain_locks: Mutex::default(),
            clock: Arc::new(OffsetDateTime::now_utc),
            signer: None,
            stall_terms: Arc::new(StallPolicy::default()),
            warned_calendars: Mutex::default(),
            site: None,
            subject_keys: None,
        }
    }

    /// Seals every person's personal field under the person's key from `keys` before the
    /// event is decided and hashed (docs/personal-data.md).
    pub fn with_subject_keys(mut self, keys: SubjectKeys) -> Self {
        self.subject_keys = Some(keys);
        self
    }

    /// The key store this writer seals with, if any.
    pub fn subject_keys(&self) -> Option<&SubjectKeys> {
        self.subject_keys.as_ref()
    }

    /// Writes at the office site `domain`: chains the centre writes are refused with
    /// [`AppendError::WrittenAtCentre`].
    pub fn at_site(mut self, domain: impl Into<String>) -> Self {
        self.site = Some(domain.into());
        self
    }

    /// Records new requests and extensions under `policy` (the `[alerts]` rules) instead of
    /// the defaults. It chooses only what is recorded next: stored events keep their records.
    pub fn with_stall_terms(mut self, policy: Arc<StallPolicy>) -> Self {
        self.stall_terms = policy;
        self
    }

    /// Signs every event this writer seals with `signer`.
    pub fn with_signer(mut self, signer: Arc<EventSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn projection(&self) -> &Arc<Projection> {
        &self.projection
    }

    /// Refuses, at a site, a draft of a chain the centre writes.
    fn owned_here(&self, drafts: &[Draft]) -> Result<(), AppendError> {
        let Some(site) = &self.site else {
            return Ok(());
        };
        match drafts
            .iter()
            .find(|d| pilot_store::sites::written_at_centre(d.subject))
        {
            Some(draft) => Err(AppendError::WrittenAtCentre {
                chain: pilot_store::log::chain_key(draft.subject),
                site: site.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Appends events of one chain, all or nothing. With `expected_version`, refuses with
    /// [`AppendError::Conflict`] unless the chain is at that version; without it, retries
    /// after losing a race with another writer. Retrying a request with the same event ids
    /// returns what was stored the first time; an id stored with other fields is refused.
    ///
    /// Requests that can be refused from what they carry (no events, too many, one id twice,
    /// an id reused) are refused before the chain's lock is taken, so a bad request never
    /// delays good ones.
    #[tracing::instrument(name = "append", skip_all, fields(events = drafts.len(), expected_version))]
    pub async fn append(
        &self,
        drafts: Vec<Draft>,
        expected_version: Option<u64>,
    ) -> Result<Vec<StoredEvent>, AppendError> {
        let subject = drafts
            .first()
            .map(|d| d.subject)
            .ok_or(AppendError::Empty)?;
        if drafts.len() > MAX_EVENTS_PER_APPEND {
            return Err(AppendError::TooMany {
                count: drafts.len(),
            });
        }
        self.owned_here(&drafts)?;
        distinct_ids(&drafts)?;
        // Sealed first: a retry seals to the same bytes, so it compares equal to what is stored.
        let drafts =
            crate::sealing::seal_drafts(&self.projection, self.subject_keys.as_ref(), drafts)
                .await?;
        if let Some(stored) = self.already_stored(subject, &drafts).await? {
            return Ok(stored);
        }
        let lock = self.chain_lock(subject);
        let _guard = lock.lock().await;
        // A twin of this request may have landed while this one waited for the lock.
        if let Some(stored) = self.already_stored(subject, &drafts).await? {
            return Ok(stored);
        }
        let drafts: Vec<Draft> = drafts
            .into_iter()
            .map(|d| Draft {
                event_id: Some(d.event_id.unwrap_or_else(Uuid::now_v7)),
                ..d
            })
            .collect();
        // The subject's last position when a foreign message lies there ([`is_foreign_tail`]).
        let mut foreign_tail = 0;
        for attempt in 1..=MAX_ATTEMPTS {
            let sealed = match self.seal(subject, &drafts, expected_version) {
                Err(AppendError::Refused {
                    refusal: Refusal::ChainNotLoaded { pilot_id },
                    ..
                }) => {
                    // A world without the chain's bytes loads the chain a retraction needs.
                    crate::projector::ensure_chain(
                        self.log.as_ref(),
                        &self.projection,
                        pilot_id,
                        false,
                    )
                    .await?;
                    continue;
                }
                sealed => sealed?,
            };
            let expected_last = sealed.chain_position.max(foreign_tail);
            let limit = self.log.max_event_bytes();
            let sealed_bytes: Vec<(Envelope, Bytes)> = sealed
                .envelopes
                .into_iter()
                .map(|e| {
                    let bytes = Bytes::from(e.to_json());
                    (e, bytes)
                })
                .collect();
            if let Some((index, (_, bytes))) = sealed_bytes
                .iter()
                .enumerate()
                .find(|(_, (_, bytes))| bytes.len() > limit)
            {
                return Err(AppendError::TooLarge {
                    index,
                    bytes: bytes.len(),
                    limit,
                });
            }
            let outgoing = sealed_bytes
                .iter()
                .map(|(e, bytes)| Outgoing {
                    event_id: e.event_id,
                    bytes: bytes.clone(),
                })
                .collect();
            // The projector applies these very envelopes instead of decoding them again.
            let _offer = self.projection.offer(
                sealed_bytes
                    .iter()
                    .map(|(envelope, bytes)| (envelope, bytes)),
            );
            match self.log.append(subject, expected_last, outgoing).await {
                Ok(positions) => {
                    let last = positions.last().copied().unwrap_or(expected_last);
                    if !self.projection.wait_for(last, PROJECTION_WAIT).await {
                        tracing::warn!(
                            message = "Appended, but the projections lag behind.",
                            position = last
                        );
                    }
                    // Answer with what the store holds: when the store recognised a retry, that
                    // is the first attempt's envelope, not the one sealed just now.
                    return self.stored_at(subject, &positions, &sealed_bytes).await;
                }
                Err(LogError::Conflict { found, .. }) => {
                    tracing::debug!(
                        message = "Lost a race for the chain; catching up.",
                        attempt,
                        found
                    );
                    if !self.projection.wait_for(found, PROJECTION_WAIT).await {
                        return Err(AppendError::Lagging { position: found });
                    }
                    // The race may have been lost to an earlier attempt of this very request.
                    if let Some(stored) = self.already_stored(subject, &drafts).await? {
                        return Ok(stored);
                    }
                    if is_foreign_tail(&self.projection, subject, sealed.version, found) {
                        foreign_tail = found;
                        continue;
                    }
                    if let Some(expected) = expected_version {
                        let current = self.projection.read().chain_head(subject).0;
                        return Err(AppendError::Conflict { expected, current });
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(AppendError::Contended {
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Runs every decision an append of `drafts` would run, against the chain as it is now,
    /// and stores nothing: a dry run (a CSV import's `dry_run`) refuses exactly what
    /// [`Writer::append`] would.
    pub fn check(&self, drafts: &[Draft]) -> Result<(), AppendError> {
        let subject = drafts
            .first()
            .map(|d| d.subject)
            .ok_or(AppendError::Empty)?;
        self.owned_here(drafts)?;
        distinct_ids(drafts)?;
        crate::sealing::check_drafts(&self.projection.read(), drafts, self.subject_keys.is_some())?;
        self.seal(subject, drafts, None).map(|_| ())
    }

    /// Seals the drafts onto the chain head and runs every decision, under the read lock.
    fn seal(
        &self,
        subject: Subject,
        drafts: &[Draft],
        expected: Option<u64>,
    ) -> Result<Sealed, AppendError> {
        let world = self.projection.read();
        let (version, mut head) = world.chain_head(subject);
        if let Some(expected) = expected {
            if expected != version {
                return Err(AppendError::Conflict {
                    expected,
                    current: version,
                });
            }
        }
        let recorded_at = (self.clock)();
        let events = self.stamped(&world, subject, drafts)?;
        let mut envelopes = Vec::with_capacity(drafts.len());
        for (index, (draft, event)) in drafts.iter().zip(events).enumerate() {
            let mut envelope = Envelope {
                event_id: draft.event_id.unwrap_or_else(Uuid::now_v7),
                schema: CURRENT_SCHEMA,
                subject: draft.subject,
                occurred_at: draft.occurred_at,
                recorded_at,
                actor: draft.actor.clone(),
                correlation_id: draft.correlation_id,
                causation_id: draft.causation_id,
                prev_hash: head,
                hash: Hash::ZERO,
                signature: None,
                provenance: draft.provenance.clone(),
                event,
            }
            .seal(head);
            envelope.signature = self.signer.as_ref().map(|s| s.sign(&envelope.hash));
            pilot_events::validate::validate(&envelope)
                .and_then(|()| pilot_events::admit::admit(&envelope))
                .map_err(|e| AppendError::Refused {
                    index,
                    refusal: Refusal::Invalid(e),
                })?;
            world
                .admit(&envelope)
                .map_err(|refusal| AppendError::Refused { index, refusal })?;
            head = envelope.hash;
            envelopes.push(envelope);
        }
        world
            .check_batch(&envelopes)
            .map_err(|(index, refusal)| AppendError::Refused { index, refusal })?;
        Ok(Sealed {
            envelopes,
            version,
            chain_position: world.chain_position(subject),
        })
    }

    /// The drafts' events with their stall records filled from the writer's policy
    /// ([`StallPolicy::stamp`]); a record a client sent that differs is refused.
    fn stamped(
        &self,
        world: &pilot_projections::World,
        subject: Subject,
        drafts: &[Draft],
    ) -> Result<Vec<Event>, AppendError> {
        let mut events: Vec<Event> = drafts.iter().map(|d| d.event.clone()).collect();
        let Subject::Pilot(pilot_id) = subject else {
            return Ok(events);
        };
        let mut new: Vec<NewEvent<'_>> = drafts
            .iter()
            .zip(events.iter_mut())
            .map(|(draft, event)| NewEvent {
                event_id: draft.event_id.unwrap_or_default(),
                occurred_at: draft.occurred_at,
                event,
            })
            .collect();
        let state = world.pilot(&pilot_id).map(|record| &record.state);
        self.stall_terms
            .stamp(&pilot_id, state, world.jurisdictions(), &mut new)
            .map_err(|(index, refusal)| AppendError::Refused { index, refusal })?;
        self.warn_unloaded_calendars(&events);
        Ok(events)
    }

    /// Logs, once per calendar name and process, a request counted in the default calendar
    /// because its jurisdiction names a calendar the alert rules did not load. `pilot config
    /// check` cannot see this (jurisdictions are events, not configuration), so the log is
    /// where an operator learns to add the calendar file; the alert itself says it too.
    fn warn_unloaded_calendars(&self, events: &[Event]) {
        for event in events {
            let Event::ApprovalRequested(d) = event else {
                continue;
            };
            let Some(basis) = d.stall.as_ref().and_then(|r| r.basis.as_ref()) else {
                continue;
            };
            if basis.by != CalendarSource::CalendarNotLoaded {
                continue;
            }
            let calendar = basis.named_calendar.clone().unwrap_or_default();
            let first = match self.warned_calendars.lock() {
                Ok(mut warned) => warned.insert(calendar.clone()),
                Err(_) => false,
            };
            if first {
                tracing::warn!(
                    message = "A jurisdiction names a working-day calendar the alert rules do not load; its pilots' approvals are counted in the default calendar. Add the calendar's file to [alerts] calendar_files.",
                    calendar = ?calendar,
                    jurisdiction = ?basis.jurisdiction,
                );
            }
        }
    }

    /// The stored events at `positions` with their versions: from the projection's chain, or
    /// from the log for registry chains.
    async fn stored_at(
        &self,
        subject: Subject,
        positions: &[u64],
        sealed: &[(Envelope, Bytes)],
    ) -> Result<Vec<StoredEvent>, AppendError> {
        if let Some(stored) = self.ours_at_head(subject, positions, sealed) {
            return Ok(stored);
        }
        let from_projection: Option<Vec<StoredEvent>> = {
            let world = self.projection.read();
            match subject {
                Subject::Pilot(id) => world.pilot(&id).and_then(|record| {
                    positions
                        .iter()
                        .zip(sealed)
                        .map(|(&position, (ours, our_bytes))| {
                            let (index, bytes) = record.history.locate(position)?;
                            // Usually the stored bytes are the ones just sent: no need to decode.
                            let envelope = if bytes == our_bytes.as_ref() {
                                ours.clone()
                            } else {
                                pilot_events::decode(bytes).ok()?
                            };
                            let version = record.state.version - record.history.len() as u64
                                + index as u64
                                + 1;
                            Some(StoredEvent {
                                envelope,
                                version,
                                position,
                            })
                        })
                        .collect()
                }),
                Subject::Stakeholder(_) | Subject::Jurisdiction(_) => None,
            }
        };
        if let Some(stored) = from_projection {
            return Ok(stored);
        }
        let out: Vec<StoredEvent> = self
            .accepted_chain(subject)
            .await?
            .into_iter()
            .filter(|stored| positions.contains(&stored.position))
            .collect();
        if out.len() == positions.len() {
            return Ok(out);
        }
        Err(AppendError::Lagging {
            position: positions.last().copied().unwrap_or(0),
        })
    }

    /// The events just sent, when the chain as the projection holds it ends with them: its head
    /// is the last one's hash at the last position. The hash covers each event's `prev_hash`,
    /// so every event before it is the one sent too. The usual answer, for every kind of
    /// chain, without reading any stored bytes (a world without chain bytes holds none).
    fn ours_at_head(
        &self,
        subject: Subject,
        positions: &[u64],
        sealed: &[(Envelope, Bytes)],
    ) -> Option<Vec<StoredEvent>> {
        let (last_position, (last, _)) = (positions.last()?, sealed.last()?);
        if positions.len() != sealed.len() {
            return None;
        }
        let world = self.projection.read();
        let (version, head) = world.chain_head(subject);
        if head != last.hash || world.chain_position(subject) != *last_position {
            return None;
        }
        let first_version = (version + 1).checked_sub(positions.len() as u64)?;
        Some(
            positions
                .iter()
                .zip(sealed)
                .zip(first_version..)
                .map(|((&position, (ours, _)), version)| StoredEvent {
                    envelope: ours.clone(),
                    version,
                    position,
                })
                .collect(),
        )
    }

    /// The chain's events that the projections accepted, with their versions: foreign
    /// messages on the chain's subject are not events of the chain and do not count.
    async fn accepted_chain(&self, subject: Subject) -> Result<Vec<StoredEvent>, AppendError> {
        let decoded: Vec<(u64, Envelope)> = self
            .log
            .read_chain(subject, 0)
            .await?
            .into_iter()
            .filter_map(|stored| {
                pilot_events::decode(&stored.bytes)
                    .ok()
                    .map(|envelope| (stored.position, envelope))
            })
            .collect();
        let world = self.projection.read();
        let mut version = 0;
        let mut out = Vec::new();
        for (position, envelope) in decoded {
            if world.position_of(&envelope.event_id) == Some(position) {
                version += 1;
                out.push(StoredEvent {
                    envelope,
                    version,
                    position,
                });
            }
        }
        Ok(out)
    }

    /// A retried request: every event id is already stored with the same fields, so answer
    /// with what was stored. An id stored with other fields, or on another chain, is refused
    /// ([`AppendError::EventIdReused`]); some ids stored and others not is
    /// [`AppendError::PartlyStored`].
    async fn already_stored(
        &self,
        subject: Subject,
        drafts: &[Draft],
    ) -> Result<Option<Vec<StoredEvent>>, AppendError> {
        let positions: Vec<Option<u64>> = {
            let world = self.projection.read();
            drafts
                .iter()
                .map(|d| d.event_id.and_then(|id| world.position_of(&id)))
                .collect()
        };
        if positions.iter().all(Option::is_none) {
            return Ok(None);
        }
        for (index, (draft, position)) in drafts.iter().zip(&positions).enumerate() {
            if let Some(position) = *position {
                self.same_as_stored(index, draft, position).await?;
            }
        }
        if positions.iter().any(Option::is_none) {
            return Err(AppendError::PartlyStored);
        }
        let out: Vec<StoredEvent> = self
            .accepted_chain(subject)
            .await?
            .into_iter()
            .filter(|stored| positions.contains(&Some(stored.position)))
            .collect();
        // The chain read may come from a replica still behind the fold (a leader hung a moment
        // ago): an answer without some of the events would tell the client they were stored
        // nowhere. Say "try again" instead.
        if let Some(missing) = positions
            .iter()
            .flatten()
            .find(|position| !out.iter().any(|stored| stored.position == **position))
        {
            return Err(AppendError::Lagging { position: *missing });
        }
        Ok(Some(out))
    }

    /// Refuses a draft whose event id is stored at `position` as another event: "the same"
    /// means the same draft fields (what the store sets, and the bytes, may differ).
    async fn same_as_stored(
        &self,
        index: usize,
        draft: &Draft,
        position: u64,
    ) -> Result<(), AppendError> {
        let stored = self
            .log
            .read_from(position, 1)
            .await?
            .into_iter()
            .find(|stored| stored.position == position)
            .ok_or(AppendError::Lagging { position })?;
        let envelope =
            pilot_events::decode(&stored.bytes).map_err(|e| LogError::Refused(e.to_string()))?;
        let event_id = envelope.event_id;
        let stored_chain = pilot_store::log::chain_key(envelope.subject);
        match Draft::from(envelope).first_difference(draft) {
            None => Ok(()),
            Some(differs) => Err(AppendError::EventIdReused {
                index,
                event_id,
                position,
                stored_chain,
                differs,
            }),
        }
    }

    fn chain_lock(&self, subject: Subject) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .chain_locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(subject).or_default().clone()
    }
}
