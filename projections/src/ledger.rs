//! The political-highlight ledger (DOMAIN.md, "Political-highlight ledger").
//!
//! Every `highlight.recorded` is one line worth 1/2/4/8 points by level. Each credited
//! stakeholder gains the full points; a pilot's balance counts each line once. Lines are kept in
//! `occurred_at` order (ties by stream position), whatever order pilots' chains arrive in, so
//! running balances read as the history happened.

use pilot_events::data::HighlightRecorded;
use pilot_events::{HighlightKind, Level};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub event_id: Uuid,
    pub highlight_id: String,
    pub pilot_id: Uuid,
    pub kind: HighlightKind,
    pub level: Level,
    pub title: String,
    pub conferred_by: String,
    pub credited_to: Vec<Uuid>,
    /// Schema 2: offices credited with the line's full points, from `highlight.recorded`'s
    /// `credited_offices` (left out of the JSON when none, so older checkpoints still read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credited_offices: Vec<String>,
    pub points: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
}

/// A line with the balance it brought its subject (a stakeholder or a pilot) to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunningLine<'a> {
    #[serde(flatten)]
    pub line: &'a LedgerLine,
    pub balance: u64,
}

type LineKey = (OffsetDateTime, u64);

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    lines: BTreeMap<LineKey, LedgerLine>,
    keys: HashMap<Uuid, LineKey>,
}

impl Ledger {
    pub(crate) fn record(
        &mut self,
        position: u64,
        event_id: Uuid,
        pilot_id: Uuid,
        occurred_at: OffsetDateTime,
        data: &HighlightRecorded,
    ) {
        let key = (occurred_at, position);
        self.keys.insert(event_id, key);
        self.lines.insert(
            key,
            LedgerLine {
                event_id,
                highlight_id: data.highlight_id.clone(),
                pilot_id,
                kind: data.kind,
                level: data.level,
                title: data.title.clone(),
                conferred_by: data.conferred_by.clone(),
                credited_to: data.credited_to.clone(),
                credited_offices: data.credited_offices.clone(),
                points: data.level.highlight_points(),
                occurred_at,
            },
        );
    }

    /// Drops a line (its event was retracted); unknown ids are ignored.
    pub(crate) fn remove(&mut self, event_id: &Uuid) {
        if let Some(key) = self.keys.remove(event_id) {
            self.lines.remove(&key);
        }
    }

    /// Lines with the stream position they were recorded at (for snapshots).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u64, &LedgerLine)> {
        self.lines
            .iter()
            .map(|((_, position), line)| (*position, line))
    }

    pub(crate) fn from_entries(entries: Vec<(u64, LedgerLine)>) -> Ledger {
        let mut ledger = Ledger::default();
        for (position, line) in entries {
            let key = (line.occurred_at, position);
            ledger.keys.insert(line.event_id, key);
            ledger.lines.insert(key, line);
        }
        ledger
    }

    /// All lines in `occurred_at` order.
    pub fn lines(&self) -> impl Iterator<Item = &LedgerLine> {
        self.lines.values()
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The stakeholder's lines with its running balance.
    pub fn for_stakeholder(&self, stakeholder_id: Uuid) -> Vec<RunningLine<'_>> {
        running(
            self.lines()
                .filter(|l| l.credited_to.contains(&stakeholder_id)),
        )
    }

    /// The pilot's lines with its running balance.
    pub fn for_pilot(&self, pilot_id: Uuid) -> Vec<RunningLine<'_>> {
        running(self.lines().filter(|l| l.pilot_id == pilot_id))
    }

    pub fn stakeholder_balance(&self, stakeholder_id: Uuid) -> u64 {
        self.for_stakeholder(stakeholder_id)
            .last()
            .map_or(0, |l| l.balance)
    }

    pub fn pilot_balance(&self, pilot_id: Uuid) -> u64 {
        self.for_pilot(pilot_id).last().map_or(0, |l| l.balance)
    }
}

fn running<'a>(lines: impl Iterator<Item = &'a LedgerLine>) -> Vec<RunningLine<'a>> {
    let mut balance = 0;
    lines
        .map(|line| {
            balance += u64::from(line.points);
            RunningLine { line, balance }
        })
        .collect()
}
