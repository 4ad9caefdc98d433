//! Jurisdictions (schema 2): each registered by `jurisdiction.registered` on its own chain,
//! with the context recorded there (`context.recorded`: policy windows, directives, meetings,
//! reorganisations, indicators). Pilots belong to a jurisdiction by the name their
//! `pilot.proposed` gives as `jurisdiction`; its UTC offset says where their vague dates and
//! due dates begin and end, and its calendar which working days their alerts count.

use pilot_events::data::{ContextRecorded, JurisdictionRegistered};
use pilot_events::{Envelope, Level, Precision, Source};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

/// One registered jurisdiction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jurisdiction {
    pub jurisdiction_id: Uuid,
    pub name: String,
    pub level: Level,
    /// As registered (`+08:00`); [`Jurisdiction::offset`] parses it.
    pub utc_offset: String,
    pub calendar: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    /// The registration event, so a retraction can find it.
    pub event_id: Uuid,
}

impl Jurisdiction {
    /// The offset its days begin in (validated on decoding, so a stored one parses; UTC otherwise).
    pub fn offset(&self) -> UtcOffset {
        pilot_events::validate::parse_utc_offset(&self.utc_offset).unwrap_or(UtcOffset::UTC)
    }
}

/// One context event, as views show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextEntry {
    pub event_id: Uuid,
    pub jurisdiction_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub position: u64,
    #[serde(flatten)]
    pub context: ContextRecorded,
}

/// Every jurisdiction and its context, as of the world's position.
#[derive(Debug, Clone, Default)]
pub struct Jurisdictions {
    by_id: HashMap<Uuid, Jurisdiction>,
    /// Context events by `event_id`, for links from pilot events and for retraction.
    contexts: HashMap<Uuid, ContextEntry>,
}

impl Jurisdictions {
    pub fn get(&self, id: &Uuid) -> Option<&Jurisdiction> {
        self.by_id.get(id)
    }

    /// The jurisdiction pilots name `name` in their `jurisdiction`.
    pub fn named(&self, name: &str) -> Option<&Jurisdiction> {
        self.by_id.values().find(|j| j.name == name)
    }

    /// All jurisdictions, by name.
    pub fn all(&self) -> Vec<&Jurisdiction> {
        let mut all: Vec<_> = self.by_id.values().collect();
        all.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.jurisdiction_id.cmp(&b.jurisdiction_id))
        });
        all
    }

    pub fn context(&self, event_id: &Uuid) -> Option<&ContextEntry> {
        self.contexts.get(event_id)
    }

    /// How many live context events a jurisdiction holds.
    pub fn context_count(&self, jurisdiction_id: &Uuid) -> usize {
        self.contexts
            .values()
            .filter(|c| c.jurisdiction_id == *jurisdiction_id)
            .count()
    }

    /// A jurisdiction's context in (`occurred_at`, stream position) order.
    pub fn context_of(&self, jurisdiction_id: &Uuid) -> Vec<&ContextEntry> {
        let mut entries: Vec<_> = self
            .contexts
            .values()
            .filter(|c| c.jurisdiction_id == *jurisdiction_id)
            .collect();
        entries.sort_by_key(|c| (c.occurred_at, c.position));
        entries
    }

    pub(crate) fn register(
        &mut self,
        id: Uuid,
        envelope: &Envelope,
        data: &JurisdictionRegistered,
    ) {
        self.by_id.insert(
            id,
            Jurisdiction {
                jurisdiction_id: id,
                name: data.name.clone(),
                level: data.level,
                utc_offset: data.utc_offset.clone(),
                calendar: data.calendar.clone(),
                registered_at: envelope.occurred_at,
                event_id: envelope.event_id,
            },
        );
    }

    pub(crate) fn record(
        &mut self,
        id: Uuid,
        position: u64,
        envelope: &Envelope,
        data: &ContextRecorded,
    ) {
        self.contexts.insert(
            envelope.event_id,
            ContextEntry {
                event_id: envelope.event_id,
                jurisdiction_id: id,
                occurred_at: envelope.occurred_at,
                recorded_at: envelope.recorded_at,
                precision: envelope.provenance.precision,
                source: envelope.provenance.source.clone(),
                position,
                context: data.clone(),
            },
        );
    }

    /// Forgets a retracted event of a jurisdiction's chain: a context entry, or the
    /// registration itself.
    pub(crate) fn retract(&mut self, id: Uuid, event_id: Uuid) {
        if self.contexts.remove(&event_id).is_none()
            && self.by_id.get(&id).is_some_and(|j| j.event_id == event_id)
        {
            self.by_id.remove(&id);
        }
    }

    /// Whether a chain holds live context (its registration cannot then be retracted).
    pub(crate) fn has_context(&self, id: &Uuid) -> bool {
        self.contexts.values().any(|c| c.jurisdiction_id == *id)
    }

    pub(crate) fn parts(&self) -> (Vec<Jurisdiction>, Vec<ContextEntry>) {
        (
            self.by_id.values().cloned().collect(),
            self.contexts.values().cloned().collect(),
        )
    }

    pub(crate) fn from_parts(
        jurisdictions: Vec<Jurisdiction>,
        contexts: Vec<ContextEntry>,
    ) -> Self {
        Jurisdictions {
            by_id: jurisdictions
                .into_iter()
                .map(|j| (j.jurisdiction_id, j))
                .collect(),
            contexts: contexts.into_iter().map(|c| (c.event_id, c)).collect(),
        }
    }
}
