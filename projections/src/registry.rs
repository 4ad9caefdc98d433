//! The stakeholder registry: who can be lobbied, credited or asked for approval, and how much
//! their stance weighs.

use pilot_events::data::{Influence, StakeholderRegistered};
use pilot_events::{Level, StakeholderKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stakeholder {
    pub stakeholder_id: Uuid,
    pub name: String,
    pub kind: StakeholderKind,
    pub level: Level,
    pub influence: Influence,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    /// The registration event, so a retraction can find it.
    pub event_id: Uuid,
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    stakeholders: HashMap<Uuid, Stakeholder>,
}

impl Registry {
    pub fn get(&self, id: &Uuid) -> Option<&Stakeholder> {
        self.stakeholders.get(id)
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.stakeholders.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.stakeholders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stakeholders.is_empty()
    }

    /// All stakeholders, by name for stable listings.
    pub fn all(&self) -> Vec<&Stakeholder> {
        let mut all: Vec<_> = self.stakeholders.values().collect();
        all.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.stakeholder_id.cmp(&b.stakeholder_id))
        });
        all
    }

    pub(crate) fn from_stakeholders(stakeholders: Vec<Stakeholder>) -> Registry {
        Registry {
            stakeholders: stakeholders
                .into_iter()
                .map(|s| (s.stakeholder_id, s))
                .collect(),
        }
    }

    pub(crate) fn register(
        &mut self,
        id: Uuid,
        event_id: Uuid,
        at: OffsetDateTime,
        data: &StakeholderRegistered,
    ) {
        self.stakeholders.insert(
            id,
            Stakeholder {
                stakeholder_id: id,
                name: data.name.clone(),
                kind: data.kind,
                level: data.level,
                influence: data.influence,
                registered_at: at,
                event_id,
            },
        );
    }

    pub(crate) fn remove(&mut self, id: &Uuid) {
        self.stakeholders.remove(id);
    }
}
