//! The stakeholder registry: who can be lobbied, credited or asked for approval, and how much
//! their stance weighs.

use pilot_events::data::{Influence, StakeholderRegistered, TenureRecorded};
use pilot_events::{Level, StakeholderKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// A natural person: a data subject whose personal fields are sealed (docs/personal-data.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub person: bool,
    /// When and why the person's personal data was erased; absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<Erasure>,
}

/// A recorded `subject.erased`: what every view shows where an erased field was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Erasure {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub reason: String,
    pub event_id: Uuid,
}

/// Schema 2: a person (the registry chain it was recorded on) held a post from `from` to `to`,
/// both days included; no `to` means still in post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenure {
    pub person_id: Uuid,
    pub post_id: Uuid,
    #[serde(with = "crate::pilot::date")]
    pub from: Date,
    #[serde(default, with = "crate::pilot::date::option")]
    pub to: Option<Date>,
    pub note: String,
    pub event_id: Uuid,
}

impl Tenure {
    /// Whether the person held the post at `at`, judged by the day `at` falls on in its own
    /// offset (as the event that happened then was written).
    pub fn covers(&self, at: OffsetDateTime) -> bool {
        let day = at.date();
        day >= self.from && self.to.is_none_or(|to| day <= to)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    stakeholders: HashMap<Uuid, Stakeholder>,
    tenures: Vec<Tenure>,
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

    /// Every tenure, in the order recorded.
    pub fn tenures(&self) -> &[Tenure] {
        &self.tenures
    }

    /// The posts a person held (or holds).
    pub fn tenures_of(&self, person_id: &Uuid) -> impl Iterator<Item = &Tenure> + '_ {
        let person_id = *person_id;
        self.tenures
            .iter()
            .filter(move |t| t.person_id == person_id)
    }

    /// Who held a post, in the order recorded.
    pub fn holders_of(&self, post_id: &Uuid) -> impl Iterator<Item = &Tenure> + '_ {
        let post_id = *post_id;
        self.tenures.iter().filter(move |t| t.post_id == post_id)
    }

    pub(crate) fn from_parts(stakeholders: Vec<Stakeholder>, tenures: Vec<Tenure>) -> Registry {
        Registry {
            stakeholders: stakeholders
                .into_iter()
                .map(|s| (s.stakeholder_id, s))
                .collect(),
            tenures,
        }
    }

    pub(crate) fn record_tenure(&mut self, person_id: Uuid, event_id: Uuid, data: &TenureRecorded) {
        self.tenures.push(Tenure {
            person_id,
            post_id: data.post_id,
            from: data.from,
            to: data.to,
            note: data.note.clone(),
            event_id,
        });
    }

    /// Forgets a retracted tenure; true if `event_id` was one.
    pub(crate) fn retract_tenure(&mut self, event_id: &Uuid) -> bool {
        let before = self.tenures.len();
        self.tenures.retain(|t| t.event_id != *event_id);
        self.tenures.len() != before
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
                person: data.person,
                erased: None,
            },
        );
    }

    /// Records a person's erasure (the world has checked that `id` is a registered person).
    pub(crate) fn erase(&mut self, id: &Uuid, erasure: Erasure) {
        if let Some(stakeholder) = self.stakeholders.get_mut(id) {
            stakeholder.erased = Some(erasure);
        }
    }

    /// The erasure of `id`, if it is an erased person.
    pub fn erasure(&self, id: &Uuid) -> Option<&Erasure> {
        self.stakeholders.get(id).and_then(|s| s.erased.as_ref())
    }

    /// Whether `id` is a registered person (a data subject).
    pub fn is_person(&self, id: &Uuid) -> bool {
        self.stakeholders.get(id).is_some_and(|s| s.person)
    }

    pub(crate) fn remove(&mut self, id: &Uuid) {
        self.stakeholders.remove(id);
    }
}
