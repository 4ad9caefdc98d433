//! Feeding the alert book from the world: catch up to each event's instant, then reconcile the
//! event's pilot's alerts with its pending approvals (see the [`crate::alerting`] docs).

use super::{AlertBook, AlertRefusal, Entry, Observed, PilotContext};
use crate::alert::{Alert, ResolutionReason};
use crate::pilot::{ApprovalOutcome, PilotState};
use crate::stall::PendingApproval;
use crate::world::{Applied, ProjectionError, World};
use pilot_events::{Envelope, Event, Hash, Stage};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

impl AlertBook {
    /// Applies `envelope` to `world` and, if it was applied, feeds it to the book. A refused or
    /// duplicate event leaves the book as it was.
    pub fn apply(
        &mut self,
        world: &mut World,
        position: u64,
        envelope: Envelope,
    ) -> Result<Observed, ProjectionError> {
        let seen = Seen::of(&envelope);
        match world.apply(position, envelope)? {
            Applied::Applied => Ok(self.observe_seen(world, &seen)),
            Applied::Duplicate => Ok(Observed::default()),
        }
    }

    /// Applies the stored bytes at `position` to `world` ([`World::apply_stored`], the
    /// projector's path, decoding once) and, if they were applied, feeds the event to the book:
    /// the hook that keeps one process's world and book in lock-step.
    pub fn apply_stored(
        &mut self,
        world: &mut World,
        position: u64,
        bytes: &[u8],
    ) -> Result<(Applied, Observed), ProjectionError> {
        if position <= world.position() {
            return Ok((Applied::Duplicate, Observed::default()));
        }
        let decoded = world.decoder().decode(bytes);
        self.apply_decoded(world, position, decoded, bytes)
    }

    /// [`AlertBook::apply_stored`] for bytes already decoded with the world's decoder
    /// ([`World::apply_decoded_seen`]).
    pub fn apply_decoded(
        &mut self,
        world: &mut World,
        position: u64,
        decoded: Result<Envelope, pilot_events::EventError>,
        bytes: &[u8],
    ) -> Result<(Applied, Observed), ProjectionError> {
        match world.apply_decoded_seen(position, decoded, bytes, Seen::of)? {
            (Applied::Applied, Some(seen)) => {
                Ok((Applied::Applied, self.observe_seen(world, &seen)))
            }
            (applied, _) => Ok((applied, Observed::default())),
        }
    }

    /// Feeds an event the world has just applied (see the module docs for the contract).
    pub fn observe(&mut self, world: &World, envelope: &Envelope) -> Observed {
        self.observe_seen(world, &Seen::of(envelope))
    }

    fn observe_seen(&mut self, world: &World, seen: &Seen) -> Observed {
        let mut observed = Observed {
            notices: self.advance_to(seen.at),
            refusals: Vec::new(),
            occurred_at: Some(seen.at),
        };
        let Some(state) = seen
            .pilot_id
            .and_then(|id| world.pilot(&id))
            .map(|r| &r.state)
        else {
            return observed;
        };
        match self.pilots.get_mut(&state.pilot_id) {
            Some(pilot) => pilot.last_activity = state.last_activity,
            None => {
                let pilot = PilotContext {
                    title: state.title.clone(),
                    last_activity: state.last_activity,
                };
                self.pilots.insert(state.pilot_id, pilot);
            }
        }
        if seen.drives_alerts {
            self.reconcile(world, state, seen, &mut observed);
            // A successor alert catches up at once.
            observed.notices.extend(self.advance_to(seen.at));
        }
        observed
    }

    /// Brings one pilot's open alerts in line with its pending approvals in the world.
    fn reconcile(
        &mut self,
        world: &World,
        state: &PilotState,
        seen: &Seen,
        observed: &mut Observed,
    ) {
        let open = self
            .open_by_pilot
            .get(&state.pilot_id)
            .cloned()
            .unwrap_or_default();
        let mut followed = BTreeSet::new();
        for id in open {
            let Some(entry) = self.alerts.get(&id) else {
                continue;
            };
            let request = entry.alert.approval().request_event_id;
            let pending = state
                .pending_approvals
                .get(&entry.alert.approval().approval_id)
                .filter(|p| p.request_event_id == request);
            match pending {
                Some(pending) => {
                    followed.insert(request);
                    self.align_extension(id, pending.extra_days, seen, observed);
                }
                None => {
                    let reason = ending(state, request);
                    let transitions = self
                        .change(id, |alert, rules| alert.resolve(rules, seen.at, reason))
                        .unwrap_or_default();
                    self.notify(id, transitions, &mut observed.notices);
                }
            }
        }
        let mut waits: Vec<(Uuid, &PendingApproval)> = state
            .pending_approvals
            .values()
            .filter(|p| !followed.contains(&p.request_event_id))
            .map(|p| (self.new_alert_id(p, seen.event_id), p))
            .collect();
        waits.sort_by_key(|(id, _)| *id);
        for (id, pending) in waits {
            self.open(world, state.pilot_id, id, pending.clone());
        }
    }

    /// The request's id, unless an alert already had it: then the wait is back after a
    /// retraction and its successor's id is derived from the retraction and the request.
    fn new_alert_id(&self, pending: &PendingApproval, event_id: Uuid) -> Uuid {
        let request = pending.request_event_id;
        if !self.alerts.contains_key(&request) {
            return request;
        }
        let mut input = b"pilot-tracker alert successor ".to_vec();
        input.extend_from_slice(event_id.as_bytes());
        input.extend_from_slice(request.as_bytes());
        let digest = Hash::of(&input).0;
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }

    fn open(&mut self, world: &World, pilot_id: Uuid, id: Uuid, pending: PendingApproval) {
        let approver_name = world
            .registry()
            .get(&pending.approver_id)
            .map(|s| s.name.clone());
        let alert = if id == pending.request_event_id {
            Alert::new(pilot_id, pending)
        } else {
            Alert::successor(id, pilot_id, pending)
        };
        let entry = Entry {
            alert,
            approver_name,
            refused_extra_days: 0,
            actions: Vec::new(),
            due: None,
        };
        self.alerts.insert(id, entry);
        self.open_by_pilot.entry(pilot_id).or_default().insert(id);
        // Files its timer.
        self.change(id, |_, _| ());
    }

    /// Extends (or, after a retracted extension, shortens) an alert to the world's extra days,
    /// less the days this book refused before.
    fn align_extension(&mut self, id: Uuid, world_days: u32, seen: &Seen, observed: &mut Observed) {
        let Some(entry) = self.alerts.get(&id) else {
            return;
        };
        let wanted = world_days.saturating_sub(entry.refused_extra_days);
        let current = entry.alert.approval().extra_days;
        let at = seen.at;
        if wanted > current {
            let extra = wanted - current;
            match self
                .change(id, |alert, rules| alert.extend(rules, extra, at))
                .unwrap_or(Ok(Vec::new()))
            {
                Ok(transitions) => self.notify(id, transitions, &mut observed.notices),
                Err(error) => {
                    if let Some(entry) = self.alerts.get_mut(&id) {
                        entry.refused_extra_days = entry.refused_extra_days.saturating_add(extra);
                    }
                    observed.refusals.push(AlertRefusal {
                        alert_id: id,
                        event_id: seen.event_id,
                        error,
                    });
                }
            }
        } else if wanted < current {
            let days = current - wanted;
            let transitions = self
                .change(id, |alert, rules| alert.retract_extension(rules, days, at))
                .unwrap_or_default();
            self.notify(id, transitions, &mut observed.notices);
        }
    }
}

/// Why the wait of `request` ended, from what the pilot recorded; `Retracted` when the pilot
/// no longer knows the request at all.
fn ending(state: &PilotState, request: Uuid) -> ResolutionReason {
    let outcome = state
        .decided_approvals
        .iter()
        .rev()
        .find(|d| d.approval.request_event_id == request)
        .map(|d| d.outcome);
    match outcome {
        Some(ApprovalOutcome::Granted) => ResolutionReason::Granted,
        Some(ApprovalOutcome::Denied) => ResolutionReason::Denied,
        Some(ApprovalOutcome::Withdrawn) => ResolutionReason::Withdrawn,
        Some(ApprovalOutcome::PilotEnded) if state.stage == Stage::Terminated => {
            ResolutionReason::PilotTerminated
        }
        Some(ApprovalOutcome::PilotEnded) => ResolutionReason::PilotMerged,
        None => ResolutionReason::Retracted,
    }
}

/// What the book needs of an envelope, taken before the world consumes it.
struct Seen {
    pilot_id: Option<Uuid>,
    event_id: Uuid,
    at: OffsetDateTime,
    /// Whether the event can change the pilot's approvals.
    drives_alerts: bool,
}

impl Seen {
    fn of(envelope: &Envelope) -> Seen {
        let drives_alerts = matches!(
            envelope.event,
            Event::ApprovalRequested(_)
                | Event::ApprovalExtended(_)
                | Event::ApprovalGranted(_)
                | Event::ApprovalDenied(_)
                | Event::ApprovalWithdrawn(_)
                | Event::PilotMerged(_)
                | Event::PilotTerminated(_)
                | Event::EventRetracted(_)
        );
        Seen {
            pilot_id: envelope.subject.pilot_id(),
            event_id: envelope.event_id,
            at: envelope.occurred_at,
            drives_alerts,
        }
    }
}
