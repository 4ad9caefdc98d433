//! Read views of one pilot, now or in the past (docs/domain.md, "Time").
//!
//! Two clocks: `as_of` filters by `occurred_at` (what had happened in the world by then) and
//! `known_at` filters by `recorded_at` (what the office had logged by then). A retraction counts
//! from the moment it was recorded, whatever world date is asked for: an event that was later
//! found never to have happened did not happen as of any date, but it was still known until the
//! correction was logged.
//!
//! Facts may be learned late ([`crate::late`]), so a chain is not in `occurred_at` order: an
//! "as of" view takes exactly the events dated on or before the date wherever they stand in the
//! chain (a filter, never a cut at the first later event), and the folds place each by its date.

use crate::pilot::PilotState;
use crate::registry::Registry;
use crate::support::PilotSupport;
use crate::world::{PilotRecord, World};
use pilot_events::{Envelope, Event};
use serde::Serialize;
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// A pilot with its derived figures, in docs/domain.md's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PilotView {
    #[serde(flatten)]
    pub pilot: PilotState,
    pub support_index: Option<f64>,
    pub coalition: Vec<Uuid>,
    pub opposition: Vec<Uuid>,
    pub support: PilotSupport,
    pub progress: Vec<crate::pilot::Progress>,
    /// Every target set, superseded ones included, with its outcome as of the view's instant:
    /// the `as_of` asked for, else the pilot's latest `occurred_at` (`last_activity`), so a
    /// view depends on the log alone, never on the wall clock. A service that wants "now"
    /// asks [`World::target_outcomes`] with its clock.
    pub target_outcomes: Vec<crate::targets::TargetOutcome>,
    /// Points of the pilot's political highlights (each line once).
    pub points: u64,
}

impl PilotView {
    fn build(
        pilot: PilotState,
        support: PilotSupport,
        points: u64,
        world: &World,
        as_of: Option<OffsetDateTime>,
    ) -> PilotView {
        let registry: &Registry = world.registry();
        let at = as_of.unwrap_or(pilot.last_activity);
        PilotView {
            target_outcomes: crate::targets::outcomes(&pilot, world.offset_of(&pilot), at),
            support_index: support.support_index(registry),
            coalition: support.coalition(),
            opposition: support.opposition(),
            progress: pilot.progress(),
            points,
            support,
            pilot,
        }
    }
}

/// A past view needs a chain that a restored world has not loaded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("pilot {pilot_id}'s chain is not loaded; load it from the store and ask again")]
pub struct ChainNotLoaded {
    pub pilot_id: Uuid,
}

/// Which past to look at; `None` on a clock means "no limit".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsOf {
    pub as_of: Option<OffsetDateTime>,
    pub known_at: Option<OffsetDateTime>,
}

impl World {
    /// The pilot as it stands now.
    pub fn pilot_view(&self, id: &Uuid) -> Option<PilotView> {
        let record = self.pilot(id)?;
        let points = self.ledger().pilot_balance(*id);
        Some(PilotView::build(
            record.state.clone(),
            record.support.clone(),
            points,
            self,
            None,
        ))
    }

    /// The pilot as it stood at `when`; `None` if it did not exist yet (or is unknown).
    /// A world restored from a checkpoint must load the pilot's chain first
    /// ([`World::load_chain`]), and the chains of pilots merged into it.
    pub fn pilot_view_at(
        &self,
        id: &Uuid,
        when: AsOf,
    ) -> Result<Option<PilotView>, ChainNotLoaded> {
        let Some(record) = self.pilot(id) else {
            return Ok(None);
        };
        if let Some(missing) = std::iter::once(id)
            .chain(&record.state.merged_from)
            .find(|p| !self.chain_loaded(p))
        {
            return Err(ChainNotLoaded { pilot_id: *missing });
        }
        let Some((mut state, support, points)) = fold_at(record, when) else {
            return Ok(None);
        };
        state.merged_from = self.merged_into_by(*id, when);
        Ok(Some(PilotView::build(
            state, support, points, self, when.as_of,
        )))
    }

    /// Pilots whose merge into `id` had happened and been logged by `when`.
    fn merged_into_by(&self, id: Uuid, when: AsOf) -> Vec<Uuid> {
        let record = self.pilot(&id);
        let Some(record) = record else {
            return Vec::new();
        };
        record
            .state
            .merged_from
            .iter()
            .copied()
            .filter(|from| {
                self.pilot(from)
                    .and_then(|p| fold_at(p, when))
                    .is_some_and(|(state, _, _)| state.merged_into == Some(id))
            })
            .collect()
    }
}

/// Folds the events of `record` that had happened by `when.as_of` and been logged by
/// `when.known_at`, in chain order; the pilot and support folds order them by date themselves.
fn fold_at(record: &PilotRecord, when: AsOf) -> Option<(PilotState, PilotSupport, u64)> {
    let known = |e: &Envelope| when.known_at.is_none_or(|t| e.recorded_at <= t);
    let happened = |e: &Envelope| when.as_of.is_none_or(|t| e.occurred_at <= t);
    let chain: Vec<Envelope> = record
        .history
        .iter()
        .map(|(_, e)| e)
        .filter(|e| known(e))
        .collect();
    let retracted: HashSet<Uuid> = chain
        .iter()
        .filter_map(|e| match &e.event {
            Event::EventRetracted(d) => Some(d.event_id),
            _ => None,
        })
        .collect();
    let mut events = chain
        .iter()
        .filter(|e| happened(e) && !retracted.contains(&e.event_id));
    let first = events.next()?;
    let Event::PilotProposed(data) = &first.event else {
        return None;
    };
    let mut state = PilotState::proposed(first, data, record.state.pilot_id);
    let mut support = PilotSupport::default();
    let mut points = 0;
    for envelope in events {
        state.evolve(envelope);
        support.evolve(envelope);
        if let Event::HighlightRecorded(d) = &envelope.event {
            points += u64::from(d.level.highlight_points());
        }
    }
    Some((state, support, points))
}
