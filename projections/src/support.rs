//! Stakeholder support for one pilot (docs/domain.md, "Stakeholder support").
//!
//! A stakeholder's stance is its latest observation in (`occurred_at`, stream position) order:
//! a contact's or an assessment's `stance`, or an `alliance.formed` naming it, which raises the
//! stance before it to at least +1. Facts may be learned late ([`crate::late`]), so events do
//! not arrive in that order; but each arrives after every event already folded (a later stream
//! position), so on equal `occurred_at` the new one comes last. The fold keeps just enough to
//! place a late observation: the latest stance observed and when, and the latest alliance.

use crate::registry::Registry;
use pilot_events::data::Stance;
use pilot_events::{Envelope, Event, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// What one stakeholder stands at on one pilot, and how it got there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StakeholderSupport {
    pub stance: Option<Stance>,
    pub contacts: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_contact: Option<OffsetDateTime>,
    pub strategies: BTreeSet<Strategy>,
    /// Schema 2: the people in the office who made its contacts or allied it (`made_by`), so
    /// an analyst sees which entrepreneur worked on whom.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub made_by: BTreeSet<String>,
    /// Schema 2: the stakeholders its contacts went through (`intermediary_id`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub through: BTreeSet<Uuid>,
    /// The latest contact's or assessment's stance, before any later alliance raised it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Stance>,
    /// When `observed` occurred.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub observed_at: Option<OffsetDateTime>,
    /// When the latest alliance naming this stakeholder occurred.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub allied_at: Option<OffsetDateTime>,
}

impl StakeholderSupport {
    /// A contact's or an assessment's stance, observed at `at`. It is the latest observation
    /// unless one already folded occurred later; an alliance after it still raises it.
    fn observe(&mut self, stance: Stance, at: OffsetDateTime) {
        if self.observed_at.is_some_and(|latest| at < latest) {
            return;
        }
        self.observed = Some(stance);
        self.observed_at = Some(at);
        // An alliance at the same instant was folded earlier, so it came before: strictly later.
        let raised = self.allied_at.is_some_and(|allied| allied > at);
        self.stance = Some(if raised {
            stance.max(Stance::ALLY)
        } else {
            stance
        });
    }

    /// An alliance naming this stakeholder, formed at `at`: it raises the latest observation
    /// before it to at least +1, and changes nothing if a stance was observed after it.
    fn ally(&mut self, at: OffsetDateTime) {
        self.allied_at = Some(self.allied_at.map_or(at, |allied| allied.max(at)));
        if self.observed_at.is_some_and(|latest| at < latest) {
            return;
        }
        // The stance now is the latest observation, raised or not: raising it again is the same.
        self.stance = Some(self.stance.map_or(Stance::ALLY, |s| s.max(Stance::ALLY)));
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PilotSupport {
    pub stakeholders: BTreeMap<Uuid, StakeholderSupport>,
}

impl PilotSupport {
    /// Folds an accepted event of the pilot's chain, in chain order, whatever its `occurred_at`.
    pub fn evolve(&mut self, envelope: &Envelope) {
        match &envelope.event {
            Event::ContactLogged(d) => {
                let at = envelope.occurred_at;
                let entry = self.stakeholders.entry(d.stakeholder_id).or_default();
                entry.observe(d.stance, at);
                entry.contacts += 1;
                entry.last_contact = Some(entry.last_contact.map_or(at, |last| last.max(at)));
                entry.strategies.insert(d.strategy);
                entry.made_by.extend(d.made_by.iter().cloned());
                entry.through.extend(d.intermediary_id);
            }
            Event::StanceAssessed(d) => {
                self.stakeholders
                    .entry(d.stakeholder_id)
                    .or_default()
                    .observe(d.stance, envelope.occurred_at);
            }
            Event::AllianceFormed(d) => {
                for id in &d.stakeholder_ids {
                    let entry = self.stakeholders.entry(*id).or_default();
                    entry.ally(envelope.occurred_at);
                    entry.made_by.extend(d.made_by.iter().cloned());
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
