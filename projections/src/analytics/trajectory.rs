//! A pilot's support index over time: a point after each event that changed it.
//!
//! The current state keeps only the latest stance per stakeholder, so the trajectory refolds
//! the pilot's support from its chain (decoded from the stored bytes once per event: a few
//! microseconds each, the price of any time-travel view). One refold gives every point, where
//! asking `pilot_view_at` once per event would refold the chain once per point.

use crate::registry::Registry;
use crate::support::PilotSupport;
use crate::world::PilotRecord;
use pilot_events::{Envelope, Event};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// The support index right after one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportPoint {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The event that changed the index.
    pub event_id: Uuid,
    /// Null while no registered stakeholder has a stance.
    pub support_index: Option<f64>,
}

/// Every change of the pilot's support index by `as_of`, in `occurred_at` order (stream order
/// on ties), as DOMAIN.md's "latest observation" reads it. Retracted events never count, as in
/// every "as of" view. Influence is the registry's (a stakeholder's influence does not change).
pub(crate) fn trajectory(
    record: &PilotRecord,
    registry: &Registry,
    as_of: OffsetDateTime,
) -> Vec<SupportPoint> {
    let chain: Vec<(u64, Envelope)> = record.history.iter().collect();
    let retracted: HashSet<Uuid> = chain
        .iter()
        .filter_map(|(_, e)| match &e.event {
            Event::EventRetracted(d) => Some(d.event_id),
            _ => None,
        })
        .collect();
    let mut moves: Vec<&(u64, Envelope)> = chain
        .iter()
        .filter(|(_, e)| e.occurred_at <= as_of && !retracted.contains(&e.event_id))
        .filter(|(_, e)| {
            matches!(
                e.event,
                Event::ContactLogged(_) | Event::StanceAssessed(_) | Event::AllianceFormed(_)
            )
        })
        .collect();
    moves.sort_by_key(|(position, e)| (e.occurred_at, *position));
    let mut support = PilotSupport::default();
    let mut last = None;
    let mut points = Vec::new();
    for (_, envelope) in moves {
        support.evolve(envelope);
        let index = support.support_index(registry);
        if index != last {
            points.push(SupportPoint {
                at: envelope.occurred_at,
                event_id: envelope.event_id,
                support_index: index,
            });
            last = index;
        }
    }
    points
}
