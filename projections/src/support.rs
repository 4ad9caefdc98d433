//! Stakeholder support for one pilot (DOMAIN.md, "Stakeholder support").
//!
//! A stakeholder's stance is its latest observation in `occurred_at` order: a contact's or an
//! assessment's `stance`, or an `alliance.formed` naming it, which raises it to at least +1.
//! Chains are folded in `occurred_at` order, so "latest" is simply "last applied".

use crate::registry::Registry;
use pilot_events::data::Stance;
use pilot_events::{Envelope, Event, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// What one stakeholder stands at on one pilot, and how it got there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StakeholderSupport {
    pub stance: Option<Stance>,
    pub contacts: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_contact: Option<OffsetDateTime>,
    pub strategies: BTreeSet<Strategy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PilotSupport {
    pub stakeholders: BTreeMap<Uuid, StakeholderSupport>,
}

impl PilotSupport {
    pub fn evolve(&mut self, envelope: &Envelope) {
        match &envelope.event {
            Event::ContactLogged(d) => {
                let entry = self.stakeholders.entry(d.stakeholder_id).or_default();
                entry.stance = Some(d.stance);
                entry.contacts += 1;
                entry.last_contact = Some(envelope.occurred_at);
                entry.strategies.insert(d.strategy);
            }
            Event::StanceAssessed(d) => {
                self.stakeholders
                    .entry(d.stakeholder_id)
                    .or_default()
                    .stance = Some(d.stance);
            }
            Event::AllianceFormed(d) => {
                for id in &d.stakeholder_ids {
                    let entry = self.stakeholders.entry(*id).or_default();
                    entry.stance = Some(entry.stance.map_or(Stance::ALLY, |s| s.max(Stance::ALLY)));
                }
            }
            _ => {}
        }
    }

    /// Σ(w·s) / (2·Σw) over stakeholders with a stance, in [-1, 1]; `None` when nobody has one.
    pub fn support_index(&self, registry: &Registry) -> Option<f64> {
        let (weighted, weights) = self
            .with_stance()
            .filter_map(|(id, stance)| {
                Some((f64::from(registry.get(id)?.influence.value()), stance))
            })
            .fold((0.0, 0.0), |(ws, w), (weight, stance)| {
                (ws + weight * f64::from(stance.value()), w + weight)
            });
        (weights > 0.0).then(|| weighted / (2.0 * weights))
    }

    /// Stakeholders whose stance is above zero.
    pub fn coalition(&self) -> Vec<Uuid> {
        self.with_stance()
            .filter(|(_, s)| s.value() > 0)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Stakeholders whose stance is below zero.
    pub fn opposition(&self) -> Vec<Uuid> {
        self.with_stance()
            .filter(|(_, s)| s.value() < 0)
            .map(|(id, _)| *id)
            .collect()
    }

    fn with_stance(&self) -> impl Iterator<Item = (&Uuid, Stance)> {
        self.stakeholders
            .iter()
            .filter_map(|(id, s)| Some((id, s.stance?)))
    }
}
