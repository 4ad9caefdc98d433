//! All projections together, fed one stored event at a time in stream order.
//!
//! `World::apply(position, envelope)` is the only way in. It runs the decisions, links the hash
//! chain and folds the event into the pilot, support, ledger and registry projections. It is
//! idempotent by stream position and by `event_id`, and refuses to skip positions silently, so a
//! projector that lost a message notices instead of serving a wrong state.

use crate::chain_log::ChainLog;
use crate::decide::{check_chain, check_references, References, Refusal};
use crate::jurisdiction::Jurisdictions;
use crate::ledger::Ledger;
use crate::pilot::PilotState;
use crate::registry::{Erasure, Registry, Stakeholder};
use crate::seen::SeenIndex;
use crate::support::PilotSupport;
use pilot_events::{Decoder, Envelope, Event, EventError, EventType, Hash, Stage, Subject};
use std::collections::{HashMap, HashSet, VecDeque};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

/// One pilot: its state, support, and its chain as stored (for retraction and time travel).
#[derive(Debug, Clone)]
pub struct PilotRecord {
    pub state: PilotState,
    pub support: PilotSupport,
    /// The chain with each event's stream position, retracted events and retractions included.
    pub history: ChainLog,
}

/// The head of a stakeholder's registry chain.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct RegistryChain {
    pub(crate) last_hash: Hash,
    pub(crate) last_position: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) last_occurred_at: OffsetDateTime,
    pub(crate) version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event changed the projections.
    Applied,
    /// Already applied (same position or same event_id): nothing changed.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProjectionError {
    #[error("stream position {found} arrived but {expected} was expected: an event was lost between them")]
    SequenceGap { expected: u64, found: u64 },
    #[error("event {event_id} at stream position {position} refused: {refusal}")]
    Refused {
        position: u64,
        event_id: Uuid,
        refusal: Refusal,
    },
    #[error("message at stream position {position} is not a valid event: {error}")]
    Undecodable { position: u64, error: EventError },
    /// The event needs pilot `pilot_id`'s whole chain, which a world restored from a
    /// checkpoint loads on demand ([`World::load_chain`]). Nothing was consumed: load the
    /// chain and apply the same message again.
    #[error("pilot {pilot_id}'s chain must be loaded before the event at position {position} can be applied")]
    NeedsChain { position: u64, pilot_id: Uuid },
}

/// Every projection at one stream position. Whether an event may join a chain depends on the
/// log alone, never on configuration: two processes folding one log accept and refuse the same
/// events (docs/wire-format.md, "Stall record").
#[derive(Debug, Default)]
pub struct World {
    decoder: Decoder,
    pub(crate) registry: Registry,
    pub(crate) registry_chains: HashMap<Uuid, RegistryChain>,
    pub(crate) jurisdictions: Jurisdictions,
    pub(crate) jurisdiction_chains: HashMap<Uuid, RegistryChain>,
    pub(crate) pilots: HashMap<Uuid, PilotRecord>,
    pub(crate) ledger: Ledger,
    /// Every applied event and its stream position (idempotency, and answering a retried append).
    pub(crate) seen: SeenIndex,
    pub(crate) retracted: HashSet<Uuid>,
    pub(crate) position: u64,
    chain_bytes: ChainBytes,
}

/// Which pilots' chains a world keeps as stored bytes.
#[derive(Debug, Default)]
enum ChainBytes {
    /// Every chain, complete from the pilot's proposal on: a world folded in memory (tests,
    /// a replayed file) answers every past view without a store.
    #[default]
    All,
    /// Only chains loaded from the store ([`World::load_chain`]), oldest load first, until
    /// [`World::trim_chains`] lets the oldest go: a service's world, whose memory must not
    /// grow with the stream.
    Loaded(VecDeque<Uuid>),
}

impl References for World {
    fn stakeholder_registered(&self, id: &Uuid) -> bool {
        self.registry.contains(id)
    }
    fn pilot_stage(&self, id: &Uuid) -> Option<Stage> {
        self.pilots.get(id).map(|p| p.state.stage)
    }
    fn context_recorded(&self, event_id: &Uuid) -> bool {
        self.jurisdictions.context(event_id).is_some()
    }
}

impl World {
    /// An empty world. It takes no rules: nothing it decides depends on configuration.
    pub fn new() -> Self {
        World::default()
    }

    /// This world keeping state, not chains' stored bytes: a pilot's chain is loaded from the
    /// store when a retraction or a past view needs it ([`World::chains_needed`],
    /// [`World::load_chain`]) and kept until [`World::trim_chains`] lets it go. A world
    /// restored from a checkpoint is one already.
    pub fn without_chain_bytes(mut self) -> Self {
        for record in self.pilots.values_mut() {
            record.history.unload();
        }
        self.chain_bytes = ChainBytes::Loaded(VecDeque::new());
        self
    }

    /// Lets the chains loaded longest ago go until those kept hold at most `max_bytes`
    /// (only in a world [`World::without_chain_bytes`]); returns the bytes still held.
    pub fn trim_chains(&mut self, max_bytes: usize) -> usize {
        let ChainBytes::Loaded(order) = &mut self.chain_bytes else {
            return self.pilots.values().map(|p| p.history.held_bytes()).sum();
        };
        order.retain(|id| self.pilots.get(id).is_some_and(|p| p.history.is_complete()));
        let mut held: usize = order
            .iter()
            .filter_map(|id| self.pilots.get(id))
            .map(|p| p.history.held_bytes())
            .sum();
        while held > max_bytes {
            let Some(oldest) = order.pop_front() else {
                break;
            };
            if let Some(record) = self.pilots.get_mut(&oldest) {
                held -= record.history.held_bytes();
                record.history.unload();
            }
        }
        held
    }

    /// The chain log a newly proposed pilot starts with.
    fn new_chain_log(&self) -> ChainLog {
        match self.chain_bytes {
            ChainBytes::All => ChainLog::default(),
            ChainBytes::Loaded(_) => ChainLog::unloaded(),
        }
    }

    /// The stream position of the last message consumed (applied, duplicate, refused or skipped).
    pub fn position(&self) -> u64 {
        self.position
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Jurisdictions and their context (schema 2).
    pub fn jurisdictions(&self) -> &Jurisdictions {
        &self.jurisdictions
    }

    pub fn pilot(&self, id: &Uuid) -> Option<&PilotRecord> {
        self.pilots.get(id)
    }

    pub fn pilots(&self) -> impl Iterator<Item = &PilotRecord> {
        self.pilots.values()
    }

    /// The stream position an event was applied at, if it was.
    pub fn position_of(&self, event_id: &Uuid) -> Option<u64> {
        self.seen.get(event_id)
    }

    /// The stream position of a chain's last event (0 for a chain with none): what an append
    /// expects the store's last position on the chain's subject to be.
    pub fn chain_position(&self, subject: Subject) -> u64 {
        match subject {
            Subject::Pilot(id) => self
                .pilots
                .get(&id)
                .and_then(|p| p.history.last_position())
                .unwrap_or(0),
            Subject::Stakeholder(id) => {
                self.registry_chains.get(&id).map_or(0, |c| c.last_position)
            }
            Subject::Jurisdiction(id) => self
                .jurisdiction_chains
                .get(&id)
                .map_or(0, |c| c.last_position),
        }
    }

    /// Every chain's head, pilots' and stakeholders': (chain, version, last hash), in no
    /// particular order. What a seal covers.
    pub fn chain_heads(&self) -> impl Iterator<Item = (Subject, u64, Hash)> + '_ {
        let pilots = self
            .pilots
            .iter()
            .map(|(id, p)| (Subject::Pilot(*id), p.state.version, p.state.last_hash));
        let stakeholders = self
            .registry_chains
            .iter()
            .map(|(id, c)| (Subject::Stakeholder(*id), c.version, c.last_hash));
        let jurisdictions = self
            .jurisdiction_chains
            .iter()
            .map(|(id, c)| (Subject::Jurisdiction(*id), c.version, c.last_hash));
        pilots.chain(stakeholders).chain(jurisdictions)
    }

    pub fn is_retracted(&self, event_id: &Uuid) -> bool {
        self.retracted.contains(event_id)
    }

    /// Version and last hash of a chain: what the next event must follow.
    pub fn chain_head(&self, subject: Subject) -> (u64, Hash) {
        match subject {
            Subject::Pilot(id) => self
                .pilots
                .get(&id)
                .map_or((0, Hash::ZERO), |p| (p.state.version, p.state.last_hash)),
            Subject::Stakeholder(id) => self
                .registry_chains
                .get(&id)
                .map_or((0, Hash::ZERO), |c| (c.version, c.last_hash)),
            Subject::Jurisdiction(id) => self
                .jurisdiction_chains
                .get(&id)
                .map_or((0, Hash::ZERO), |c| (c.version, c.last_hash)),
        }
    }

    /// Marks a position consumed without an event (e.g. a message that did not decode and was
    /// quarantined), so the next position is not reported as a gap.
    pub fn skip(&mut self, position: u64) -> Result<(), ProjectionError> {
        self.advance_to(position).map(drop)
    }

    /// Reads upcast older schemas with this decoder (see `pilot_events::upcast`).
    pub fn with_decoder(mut self, decoder: Decoder) -> Self {
        self.decoder = decoder;
        self
    }

    /// Applies the stored bytes at `position`: the projector's path. A message that does not
    /// decode or is refused still consumes its position, so the fold goes on after it.
    pub fn apply_stored(
        &mut self,
        position: u64,
        bytes: &[u8],
    ) -> Result<Applied, ProjectionError> {
        self.apply_stored_seen(position, bytes, |_| ())
            .map(|(applied, _)| applied)
    }

    /// [`World::apply_stored`], showing `look` the decoded event before the world takes it:
    /// how an observer (the alert book) learns what was applied without decoding it again.
    /// `look`'s answer comes back for every message that decoded.
    pub fn apply_stored_seen<T>(
        &mut self,
        position: u64,
        bytes: &[u8],
        look: impl FnOnce(&Envelope) -> T,
    ) -> Result<(Applied, Option<T>), ProjectionError> {
        if position <= self.position {
            return Ok((Applied::Duplicate, None));
        }
        let decoded = self.decoder.decode(bytes);
        self.apply_decoded_seen(position, decoded, bytes, look)
    }

    /// [`World::apply_stored_seen`] for stored bytes already decoded with this world's
    /// [`World::decoder`]: how a rebuild decodes on every core and still folds in order on
    /// one. Given the same bytes and decoder, the outcome is the same as decoding here.
    pub fn apply_decoded_seen<T>(
        &mut self,
        position: u64,
        decoded: Result<Envelope, EventError>,
        bytes: &[u8],
        look: impl FnOnce(&Envelope) -> T,
    ) -> Result<(Applied, Option<T>), ProjectionError> {
        if position <= self.position {
            return Ok((Applied::Duplicate, None));
        }
        match decoded {
            Ok(envelope) => {
                self.check_chain_loaded(position, &envelope)?;
                self.advance_to(position)?;
                let seen = look(&envelope);
                let applied = self.apply_at(position, envelope, Some(bytes))?;
                Ok((applied, Some(seen)))
            }
            Err(error) => {
                self.advance_to(position)?;
                Err(ProjectionError::Undecodable { position, error })
            }
        }
    }

    /// The decoder this world reads stored bytes with (upcasting older schemas): what a
    /// caller decoding ahead for [`World::apply_decoded_seen`] must use.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Applies a decoded stored event at `position`. A refused event still consumes its position.
    pub fn apply(&mut self, position: u64, envelope: Envelope) -> Result<Applied, ProjectionError> {
        if position <= self.position {
            return Ok(Applied::Duplicate);
        }
        self.check_chain_loaded(position, &envelope)?;
        self.advance_to(position)?;
        self.apply_at(position, envelope, None)
    }

    /// Pilots whose chain must be loaded before these events can be decided or applied:
    /// a retraction refolds its chain, and a restored world holds no chain bytes.
    pub fn chains_needed<'a>(
        &self,
        envelopes: impl IntoIterator<Item = &'a Envelope>,
    ) -> Vec<Uuid> {
        let mut needed: Vec<Uuid> = envelopes
            .into_iter()
            .filter(|e| matches!(e.event, Event::EventRetracted(_)))
            .filter_map(|e| e.subject.pilot_id())
            .filter(|id| {
                self.pilots
                    .get(id)
                    .is_some_and(|p| !p.history.is_complete())
            })
            .collect();
        needed.dedup();
        needed
    }

    fn check_chain_loaded(
        &self,
        position: u64,
        envelope: &Envelope,
    ) -> Result<(), ProjectionError> {
        match self.chains_needed([envelope]).first() {
            Some(pilot_id) => Err(ProjectionError::NeedsChain {
                position,
                pilot_id: *pilot_id,
            }),
            None => Ok(()),
        }
    }

    /// Gives a pilot its whole chain as stored (after a restore from a checkpoint, or to a
    /// world without chain bytes). `stored` must hold every event this world applied on the
    /// chain; messages beyond this world's position are left for the fold to apply in turn. A
    /// read that ends before the world's last event on the chain leaves it unloaded: read on
    /// from where it ended and call again with the whole chain.
    pub fn load_chain<'a>(
        &mut self,
        pilot_id: Uuid,
        stored: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) {
        let Some(record) = self.pilots.get(&pilot_id) else {
            return;
        };
        let mut log = ChainLog::default();
        for (at, bytes) in stored.into_iter().filter(|(at, _)| *at <= self.position) {
            // Only what this world applied there: a refused (quarantined) message on the
            // chain's subject is not part of the chain.
            match self.decoder.decode(bytes) {
                Ok(envelope) if self.seen.get(&envelope.event_id) == Some(at) => {
                    log.push(at, &envelope, Some(bytes))
                }
                _ => {}
            }
        }
        // Complete only if it is the whole chain; otherwise keep waiting for a full read.
        if log.len() as u64 != record.state.version {
            return;
        }
        if let Some(record) = self.pilots.get_mut(&pilot_id) {
            record.history = log;
        }
        if let ChainBytes::Loaded(order) = &mut self.chain_bytes {
            order.retain(|id| *id != pilot_id);
            order.push_back(pilot_id);
        }
    }

    /// Whether time travel and retraction can use this pilot's chain right now.
    pub fn chain_loaded(&self, pilot_id: &Uuid) -> bool {
        self.pilots
            .get(pilot_id)
            .is_some_and(|p| p.history.is_complete())
    }

    fn apply_at(
        &mut self,
        position: u64,
        envelope: Envelope,
        stored: Option<&[u8]>,
    ) -> Result<Applied, ProjectionError> {
        if self.seen.contains_key(&envelope.event_id) {
            return Ok(Applied::Duplicate);
        }
        let event_id = envelope.event_id;
        let refused = |refusal| ProjectionError::Refused {
            position,
            event_id,
            refusal,
        };
        self.check(&envelope).map_err(refused)?;
        self.evolve(position, envelope, stored).map_err(refused)?;
        Ok(Applied::Applied)
    }

    /// Would `envelope` be accepted as the next event of its chain? Runs every rule without
    /// changing anything; the store calls this before publishing.
    pub fn check(&self, envelope: &Envelope) -> Result<(), Refusal> {
        let (_, last_hash) = self.chain_head(envelope.subject);
        if envelope.prev_hash != last_hash {
            return Err(Refusal::BrokenChain {
                expected: last_hash.to_hex(),
                found: envelope.prev_hash.to_hex(),
            });
        }
        self.decide(envelope)
    }

    /// Decisions only, without the hash link: for callers that seal after deciding.
    pub fn decide(&self, envelope: &Envelope) -> Result<(), Refusal> {
        match envelope.subject {
            Subject::Stakeholder(id) => self.check_registry_event(id, envelope),
            Subject::Jurisdiction(id) => self.check_jurisdiction_event(id, envelope),
            Subject::Pilot(id) => self.decide_pilot(self.pilots.get(&id), id, envelope),
        }
    }

    fn decide_pilot(
        &self,
        pilot: Option<&PilotRecord>,
        id: Uuid,
        envelope: &Envelope,
    ) -> Result<(), Refusal> {
        match (pilot, &envelope.event) {
            (None, Event::PilotProposed(_)) => {}
            (None, _) => return Err(Refusal::UnknownPilot { pilot_id: id }),
            (Some(pilot), Event::EventRetracted(_)) if !pilot.history.is_complete() => {
                return Err(Refusal::ChainNotLoaded { pilot_id: id });
            }
            (Some(pilot), Event::EventRetracted(d)) => {
                check_chain(&pilot.state, envelope)?;
                self.check_pilot_retraction(pilot, d.event_id)?;
            }
            (Some(pilot), _) => check_chain(&pilot.state, envelope)?,
        }
        check_references(self, envelope)
    }

    /// Checks several events of one chain as if each were applied in turn (an import, or a
    /// command that yields two events), without changing anything. Names the first refused.
    pub fn check_batch(&self, envelopes: &[Envelope]) -> Result<(), (usize, Refusal)> {
        let first = match envelopes {
            [] => return Ok(()),
            // One event needs no scratch copy of its chain.
            [one] => return self.check(one).map_err(|refusal| (0, refusal)),
            [first, ..] => first,
        };
        let subject = first.subject;
        let (_, mut head) = self.chain_head(subject);
        // The chain's stored bytes are copied only when a retraction in the batch needs them.
        let needs_history = envelopes
            .iter()
            .any(|e| matches!(e.event, Event::EventRetracted(_)));
        let mut scratch = match subject {
            Subject::Pilot(id) => self.pilots.get(&id).map(|record| PilotRecord {
                state: record.state.clone(),
                support: record.support.clone(),
                history: if needs_history {
                    record.history.clone()
                } else {
                    ChainLog::default()
                },
            }),
            Subject::Stakeholder(_) | Subject::Jurisdiction(_) => None,
        };
        for (i, envelope) in envelopes.iter().enumerate() {
            let refused = |refusal| (i, refusal);
            if envelope.subject != subject {
                let refusal = Refusal::Invalid(pilot_events::EventError::Field {
                    field: "pilot_id".into(),
                    message: "all events of one append belong to one chain".into(),
                });
                return Err(refused(refusal));
            }
            if envelope.prev_hash != head {
                return Err(refused(Refusal::BrokenChain {
                    expected: head.to_hex(),
                    found: envelope.prev_hash.to_hex(),
                }));
            }
            match subject {
                Subject::Stakeholder(id) if i == 0 => {
                    self.check_registry_event(id, envelope).map_err(refused)?
                }
                Subject::Stakeholder(id)
                    if matches!(envelope.event, Event::StakeholderRegistered(_)) =>
                {
                    return Err(refused(Refusal::StakeholderExists { stakeholder_id: id }));
                }
                Subject::Jurisdiction(id) if i == 0 => self
                    .check_jurisdiction_event(id, envelope)
                    .map_err(refused)?,
                Subject::Stakeholder(_) | Subject::Jurisdiction(_) => {
                    let field = match subject {
                        Subject::Jurisdiction(_) => "jurisdiction_id",
                        _ => "stakeholder_id",
                    };
                    return Err(refused(Refusal::Invalid(pilot_events::EventError::Field {
                        field: field.into(),
                        message: "a registry or jurisdiction chain takes one event per append: send the rest in further requests".into(),
                    })));
                }
                Subject::Pilot(id) => {
                    self.decide_pilot(scratch.as_ref(), id, envelope)
                        .map_err(refused)?;
                    scratch = Some(
                        self.evolve_scratch(scratch, id, envelope)
                            .map_err(refused)?,
                    );
                }
            }
            head = envelope.hash;
        }
        Ok(())
    }

    /// The pilot record after `envelope`, for [`World::check_batch`].
    fn evolve_scratch(
        &self,
        record: Option<PilotRecord>,
        id: Uuid,
        envelope: &Envelope,
    ) -> Result<PilotRecord, Refusal> {
        let mut record = match (record, &envelope.event) {
            (None, Event::PilotProposed(data)) => {
                return Ok(PilotRecord {
                    state: PilotState::proposed(envelope, data, id),
                    support: PilotSupport::default(),
                    history: {
                        let mut log = ChainLog::default();
                        log.push(0, envelope, None);
                        log
                    },
                })
            }
            (Some(record), _) => record,
            (None, _) => return Err(Refusal::UnknownPilot { pilot_id: id }),
        };
        if let Event::EventRetracted(d) = &envelope.event {
            let (state, support) = self.refold(&record, Some(d.event_id))?;
            record.state = state;
            record.support = support;
        } else {
            record.state.evolve(envelope);
            record.support.evolve(envelope);
        }
        record.history.push(0, envelope, None);
        Ok(record)
    }

    /// Returns false when `position` was consumed before (a redelivery).
    fn advance_to(&mut self, position: u64) -> Result<bool, ProjectionError> {
        if position <= self.position {
            return Ok(false);
        }
        if position != self.position + 1 {
            return Err(ProjectionError::SequenceGap {
                expected: self.position + 1,
                found: position,
            });
        }
        self.position = position;
        Ok(true)
    }

    fn check_registry_event(&self, id: Uuid, envelope: &Envelope) -> Result<(), Refusal> {
        let chain = self.registry_chains.get(&id);
        // A tenure may be learned late (`late::stays_in_order` says which events may); a
        // registration opens the chain and is checked like the events that stay in order.
        let event_type = envelope.event_type();
        if crate::late::stays_in_order(event_type) || event_type == EventType::StakeholderRegistered
        {
            pilot_events::validate::check_order(chain.map(|c| c.last_occurred_at), envelope)?;
        }
        match (&envelope.event, chain) {
            (Event::StakeholderRegistered(_), Some(_)) => {
                Err(Refusal::StakeholderExists { stakeholder_id: id })
            }
            (Event::StakeholderRegistered(_), None) => Ok(()),
            (Event::EventRetracted(d), Some(_)) => self.check_registry_retraction(id, d.event_id),
            (_, None) => Err(Refusal::UnknownStakeholder {
                field: "stakeholder_id",
                stakeholder_id: id,
            }),
            (Event::TenureRecorded(_) | Event::SubjectErased(_), Some(_))
                if !self.registry.contains(&id) =>
            {
                Err(Refusal::UnknownStakeholder {
                    field: "stakeholder_id",
                    stakeholder_id: id,
                })
            }
            (Event::SubjectErased(_), Some(_)) => match self.registry.get(&id) {
                Some(s) if !s.person => Err(Refusal::NotAPerson { stakeholder_id: id }),
                Some(Stakeholder {
                    erased: Some(erasure),
                    ..
                }) => Err(Refusal::AlreadyErased {
                    stakeholder_id: id,
                    at: erasure.at,
                }),
                _ => Ok(()),
            },
            (_, Some(_)) => check_references(self, envelope),
        }
    }

    /// A jurisdiction's chain starts with its registration, under a name no other
    /// jurisdiction has; context follows in any order of `occurred_at` (it may be learned late).
    fn check_jurisdiction_event(&self, id: Uuid, envelope: &Envelope) -> Result<(), Refusal> {
        if let Event::JurisdictionRegistered(d) = &envelope.event {
            if self.jurisdiction_chains.contains_key(&id) {
                return Err(Refusal::JurisdictionExists {
                    jurisdiction_id: id,
                });
            }
            return match self.jurisdictions.named(&d.name) {
                Some(other) => Err(Refusal::JurisdictionNameTaken {
                    name: d.name.clone(),
                    jurisdiction_id: other.jurisdiction_id,
                }),
                None => Ok(()),
            };
        }
        // No chain, or a chain whose registration was retracted.
        let Some(registered) = self.jurisdictions.get(&id) else {
            return Err(Refusal::UnknownJurisdiction {
                jurisdiction_id: id,
            });
        };
        let Event::EventRetracted(d) = &envelope.event else {
            return check_references(self, envelope);
        };
        if self.retracted.contains(&d.event_id) {
            return Err(Refusal::AlreadyRetracted {
                event_id: d.event_id,
            });
        }
        if self.jurisdictions.context(&d.event_id).is_some() {
            return Ok(());
        }
        if registered.event_id != d.event_id {
            return Err(Refusal::UnknownRetractionTarget {
                event_id: d.event_id,
            });
        }
        if self.jurisdictions.has_context(&id) {
            return Err(Refusal::RetractionBreaksChain {
                event_id: d.event_id,
                consequence: format!("jurisdiction {id} still holds context; retract that first"),
            });
        }
        Ok(())
    }

    fn check_registry_retraction(&self, id: Uuid, target: Uuid) -> Result<(), Refusal> {
        if self.registry.tenures_of(&id).any(|t| t.event_id == target) {
            return Ok(());
        }
        if let Some(erasure) = self.registry.erasure(&id) {
            return Err(Refusal::NotRetractable {
                event_id: target,
                event_type: if erasure.event_id == target {
                    EventType::SubjectErased
                } else {
                    EventType::StakeholderRegistered
                },
                why: "the person's personal data was erased: its key is destroyed, so the erasure cannot be undone and the registration stays",
            });
        }
        let registration = self.registry.get(&id).map(|s| s.event_id);
        if registration != Some(target) {
            return Err(if self.retracted.contains(&target) {
                Refusal::AlreadyRetracted { event_id: target }
            } else {
                Refusal::UnknownRetractionTarget { event_id: target }
            });
        }
        if self.stakeholder_in_use(id) {
            return Err(Refusal::RetractionBreaksChain {
                event_id: target,
                consequence: format!(
                    "pilots still refer to stakeholder {id}; retract those events first"
                ),
            });
        }
        Ok(())
    }

    fn stakeholder_in_use(&self, id: Uuid) -> bool {
        self.ledger.lines().any(|l| l.credited_to.contains(&id))
            || self
                .registry
                .tenures()
                .iter()
                .any(|t| t.post_id == id || t.person_id == id)
            || self.pilots.values().any(|p| {
                p.support.stakeholders.contains_key(&id)
                    || p.state
                        .pending_approvals
                        .values()
                        .any(|a| a.approver_id == id)
                    || p.state
                        .decided_approvals
                        .iter()
                        .any(|a| a.approval.approver_id == id)
            })
    }

    fn check_pilot_retraction(&self, pilot: &PilotRecord, target: Uuid) -> Result<(), Refusal> {
        if self.retracted.contains(&target) {
            return Err(Refusal::AlreadyRetracted { event_id: target });
        }
        let event_type = pilot
            .history
            .iter()
            .find(|(_, e)| e.event_id == target)
            .map(|(_, e)| e.event_type())
            .ok_or(Refusal::UnknownRetractionTarget { event_id: target })?;
        let why = match event_type {
            EventType::PilotProposed => {
                Some("a pilot is ended with `pilot.terminated`, not erased")
            }
            EventType::EventRetracted => {
                Some("a retraction is final; record the event again instead")
            }
            _ => None,
        };
        if let Some(why) = why {
            return Err(Refusal::NotRetractable {
                event_id: target,
                event_type,
                why,
            });
        }
        self.refold(pilot, Some(target)).map(drop)
    }

    /// Folds a pilot's chain again without retracted events (and without `extra`), re-running the
    /// chain rules, so a retraction is accepted only if the rest of the chain still holds.
    fn refold(
        &self,
        pilot: &PilotRecord,
        extra: Option<Uuid>,
    ) -> Result<(PilotState, PilotSupport), Refusal> {
        let skip = |id: &Uuid| self.retracted.contains(id) || Some(*id) == extra;
        let mut events = pilot
            .history
            .iter()
            .map(|(_, e)| e)
            .filter(|e| !skip(&e.event_id));
        let first = events.next();
        let Some((first, Event::PilotProposed(data))) = first.as_ref().map(|e| (e, &e.event))
        else {
            return Err(Refusal::UnknownPilot {
                pilot_id: pilot.state.pilot_id,
            });
        };
        let mut state = PilotState::proposed(first, data, pilot.state.pilot_id);
        let mut support = PilotSupport::default();
        for envelope in events {
            if !matches!(envelope.event, Event::EventRetracted(_)) {
                check_chain(&state, &envelope).map_err(|refusal| {
                    Refusal::RetractionBreaksChain {
                        event_id: extra.unwrap_or_default(),
                        consequence: format!(
                            "later event {} would be refused: {refusal}",
                            envelope.event_id
                        ),
                    }
                })?;
            }
            state.evolve(&envelope);
            support.evolve(&envelope);
        }
        // Version and head cover the whole chain, retracted events included.
        state.version = pilot.state.version;
        state.last_hash = pilot.state.last_hash;
        state.merged_from.clone_from(&pilot.state.merged_from);
        Ok((state, support))
    }

    fn evolve(
        &mut self,
        position: u64,
        envelope: Envelope,
        stored: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        // `apply_at` found the id absent just before.
        self.seen.insert_absent(envelope.event_id, position);
        match envelope.subject {
            Subject::Stakeholder(id) => {
                self.evolve_registry(id, position, &envelope);
                Ok(())
            }
            Subject::Jurisdiction(id) => {
                self.evolve_jurisdiction(id, position, &envelope);
                Ok(())
            }
            Subject::Pilot(id) => self.evolve_pilot(id, position, envelope, stored),
        }
    }

    fn evolve_jurisdiction(&mut self, id: Uuid, position: u64, envelope: &Envelope) {
        match &envelope.event {
            Event::JurisdictionRegistered(d) => self.jurisdictions.register(id, envelope, d),
            Event::ContextRecorded(d) => self.jurisdictions.record(id, position, envelope, d),
            Event::EventRetracted(d) => {
                self.retracted.insert(d.event_id);
                self.jurisdictions.retract(id, d.event_id);
            }
            _ => {}
        }
        advance_chain(&mut self.jurisdiction_chains, id, position, envelope);
    }

    fn evolve_registry(&mut self, id: Uuid, position: u64, envelope: &Envelope) {
        match &envelope.event {
            Event::StakeholderRegistered(d) => {
                self.registry
                    .register(id, envelope.event_id, envelope.occurred_at, d)
            }
            Event::TenureRecorded(d) => self.registry.record_tenure(id, envelope.event_id, d),
            Event::SubjectErased(d) => self.registry.erase(
                &id,
                Erasure {
                    at: envelope.occurred_at,
                    reason: d.reason.clone(),
                    event_id: envelope.event_id,
                },
            ),
            Event::EventRetracted(d) => {
                self.retracted.insert(d.event_id);
                if !self.registry.retract_tenure(&d.event_id) {
                    self.registry.remove(&id);
                }
            }
            _ => {}
        }
        advance_chain(&mut self.registry_chains, id, position, envelope);
    }

    fn evolve_pilot(
        &mut self,
        id: Uuid,
        position: u64,
        envelope: Envelope,
        stored: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        if let Event::PilotProposed(data) = &envelope.event {
            let state = PilotState::proposed(&envelope, data, id);
            let mut history = self.new_chain_log();
            history.push(position, &envelope, stored);
            let record = PilotRecord {
                state,
                support: PilotSupport::default(),
                history,
            };
            self.pilots.insert(id, record);
            return Ok(());
        }
        match &envelope.event {
            Event::HighlightRecorded(d) => {
                self.ledger.record(position, &envelope, id, d);
            }
            Event::PilotMerged(d) => {
                if let Some(target) = self.pilots.get_mut(&d.into_pilot_id) {
                    target.state.merged_from.push(id);
                }
            }
            Event::EventRetracted(d) => {
                return self.retract(id, position, &envelope, d.event_id, stored)
            }
            _ => {}
        }
        if let Some(record) = self.pilots.get_mut(&id) {
            record.state.evolve(&envelope);
            record.support.evolve(&envelope);
            record.history.push(position, &envelope, stored);
        }
        Ok(())
    }

    fn retract(
        &mut self,
        id: Uuid,
        position: u64,
        envelope: &Envelope,
        target: Uuid,
        stored: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        let Some(record) = self.pilots.get(&id) else {
            return Err(Refusal::UnknownPilot { pilot_id: id });
        };
        let (mut state, support) = self.refold(record, Some(target))?;
        let old_merge = record.state.merged_into;
        state.version += 1;
        state.last_hash = envelope.hash;
        state.last_activity = state.last_activity.max(envelope.occurred_at);
        self.retracted.insert(target);
        self.ledger.remove(&target);
        if let (Some(into), None) = (old_merge, state.merged_into) {
            if let Some(absorber) = self.pilots.get_mut(&into) {
                absorber.state.merged_from.retain(|p| *p != id);
            }
        }
        if let Some(record) = self.pilots.get_mut(&id) {
            record.state = state;
            record.support = support;
            record.history.push(position, envelope, stored);
        }
        Ok(())
    }
}

/// Moves a registry or jurisdiction chain's head past `envelope`. `last_occurred_at` is the
/// latest `occurred_at` on the chain (a late fact does not move it back).
fn advance_chain(
    chains: &mut HashMap<Uuid, RegistryChain>,
    id: Uuid,
    position: u64,
    envelope: &Envelope,
) {
    let chain = chains.entry(id).or_insert(RegistryChain {
        last_hash: Hash::ZERO,
        last_position: 0,
        last_occurred_at: envelope.occurred_at,
        version: 0,
    });
    chain.last_hash = envelope.hash;
    chain.last_position = position;
    chain.last_occurred_at = chain.last_occurred_at.max(envelope.occurred_at);
    chain.version += 1;
}
