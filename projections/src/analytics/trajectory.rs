//! A pilot's support index over time: a point after each event that changed it.
//!
//! The current state keeps only the latest stance per stakeholder, so the trajectory refolds
//! the pilot's support from its chain. One refold gives every point, where asking
//! `pilot_view_at` once per event would refold the chain once per point. The chain is first
//! skimmed (type, id, `occurred_at`, a retraction's target: a fraction of a full decode), and
//! only the stance-moving events by `as_of` are decoded in full: a few microseconds each.

use crate::registry::Registry;
use crate::support::PilotSupport;
use crate::world::PilotRecord;
use pilot_events::{Decoder, Event, EventType};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// The support index right after one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportPoint {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The event that changed the index.
    pub event_id: Uuid,
    /// Null while no registered stakeholder has a stance.
    pub support_index: Option<f64>,
}

/// Every change of the pilot's support index by `as_of`, in `occurred_at` order (stream order
/// on ties), as docs/domain.md's "latest observation" reads it. Retracted events never count, as in
/// every "as of" view. Influence is the registry's (a stakeholder's influence does not change).
pub(crate) fn trajectory(
    record: &PilotRecord,
    registry: &Registry,
    as_of: OffsetDateTime,
) -> Vec<SupportPoint> {
    let skimmed: Vec<(u64, &[u8], Skimmed)> = record
        .history
        .raw()
        .filter_map(|(position, bytes)| Some((position, bytes, skim(bytes)?)))
        .collect();
    let retracted: HashSet<Uuid> = skimmed.iter().filter_map(|(_, _, s)| s.retracts).collect();
    let mut moves: Vec<(u64, OffsetDateTime, &[u8])> = skimmed
        .iter()
        .filter(|(_, _, s)| {
            s.moves_stance && s.occurred_at <= as_of && !retracted.contains(&s.event_id)
        })
        .map(|(position, bytes, s)| (*position, s.occurred_at, *bytes))
        .collect();
    moves.sort_by_key(|(position, occurred_at, _)| (*occurred_at, *position));
    let decoder = Decoder::new();
    let mut support = PilotSupport::default();
    let mut last = None;
    let mut points = Vec::new();
    for (_, _, bytes) in moves {
        // Every entry decoded once before it was kept; one that somehow does not is left
        // out, as `ChainLog::iter` does.
        let Ok(envelope) = decoder.decode(bytes) else {
            continue;
        };
        support.evolve(&envelope);
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

/// What the trajectory needs to know of an event before decoding it.
#[derive(Debug)]
struct Skimmed {
    event_id: Uuid,
    occurred_at: OffsetDateTime,
    /// A contact, an assessment or an alliance.
    moves_stance: bool,
    /// The event a retraction retracts.
    retracts: Option<Uuid>,
}

#[derive(Deserialize)]
struct SkimWire<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    event_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    occurred_at: OffsetDateTime,
    #[serde(default)]
    data: SkimData,
}

#[derive(Default, Deserialize)]
struct SkimData {
    #[serde(default)]
    event_id: Option<Uuid>,
}

/// Reads the envelope's type, id and `occurred_at` (and a retraction's target) without
/// building the event; falls back to a full decode if the skim cannot read the bytes.
fn skim(bytes: &[u8]) -> Option<Skimmed> {
    match serde_json::from_slice::<SkimWire<'_>>(bytes) {
        Ok(wire) => {
            let event_type = EventType::parse(&wire.event_type)?;
            Some(Skimmed {
                event_id: wire.event_id,
                occurred_at: wire.occurred_at,
                moves_stance: moves_stance(event_type),
                retracts: (event_type == EventType::EventRetracted)
                    .then_some(wire.data.event_id)
                    .flatten(),
            })
        }
        Err(_) => {
            let envelope = Decoder::new().decode(bytes).ok()?;
            Some(Skimmed {
                event_id: envelope.event_id,
                occurred_at: envelope.occurred_at,
                moves_stance: moves_stance(envelope.event_type()),
                retracts: match &envelope.event {
                    Event::EventRetracted(d) => Some(d.event_id),
                    _ => None,
                },
            })
        }
    }
}

fn moves_stance(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::ContactLogged | EventType::StanceAssessed | EventType::AllianceFormed
    )
}
