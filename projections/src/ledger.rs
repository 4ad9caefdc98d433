//! The political-highlight ledger (docs/domain.md, "Political-highlight ledger").
//!
//! Every `highlight.recorded` is one line worth 1/2/4/8 points by level. Each credited party,
//! stakeholder or office (schema 2, `credited_offices`), gains the full points; a pilot's balance
//! counts each line once. Lines are kept in (`occurred_at`, stream position) order, whatever
//! order pilots' chains arrive in, so running balances read as the history happened: a highlight
//! recorded late lands in its place and moves the balances after it.

use pilot_events::data::HighlightRecorded;
use pilot_events::{HighlightKind, Level, Precision};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerLine {
    pub event_id: Uuid,
    pub highlight_id: String,
    pub pilot_id: Uuid,
    pub kind: HighlightKind,
    pub level: Level,
    pub title: String,
    pub conferred_by: String,
    pub credited_to: Vec<Uuid>,
    /// Schema 2: offices credited with the line, each with the full points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credited_offices: Vec<String>,
    pub points: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Schema 2: how exactly `occurred_at` is known (the envelope's `precision`), so a view
    /// can show the period ("2005") instead of its first instant ([`LedgerLine::period`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
}

impl LedgerLine {
    /// When the line happened as a view shows it: the period for a vague date ("2005",
    /// "2007-07", "2007-07-15"), else the instant in RFC 3339.
    pub fn period(&self) -> String {
        crate::period::shown(self.occurred_at, self.precision)
    }
}

/// Who a line credits: a registered stakeholder or an office (by its `actor.office` name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "party", content = "id", rename_all = "snake_case")]
pub enum Party {
    Stakeholder(Uuid),
    Office(String),
}

/// A line with the balance it brought its subject (a stakeholder or a pilot) to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        envelope: &pilot_events::Envelope,
        pilot_id: Uuid,
        data: &HighlightRecorded,
    ) {
        let (event_id, occurred_at) = (envelope.event_id, envelope.occurred_at);
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
                precision: envelope.provenance.precision,
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

    /// The stakeholder's lines with its running balance, in (`occurred_at`, stream position)
    /// order. Only lines crediting it by its own id: a post's lines are the post's.
    pub fn for_stakeholder(&self, stakeholder_id: Uuid) -> Vec<RunningLine<'_>> {
        running(
            self.lines()
                .filter(|l| l.credited_to.contains(&stakeholder_id)),
        )
    }

    /// The office's lines (those naming it in `credited_offices`) with its running balance.
    pub fn for_office(&self, office: &str) -> Vec<RunningLine<'_>> {
        running(
            self.lines()
                .filter(|l| l.credited_offices.iter().any(|o| o == office)),
        )
    }

    /// The pilot's lines with its running balance (each line once, however many it credits).
    pub fn for_pilot(&self, pilot_id: Uuid) -> Vec<RunningLine<'_>> {
        running(self.lines().filter(|l| l.pilot_id == pilot_id))
    }

    /// The stakeholder's balance over all its own lines.
    pub fn stakeholder_balance(&self, stakeholder_id: Uuid) -> u64 {
        balance_at(&self.for_stakeholder(stakeholder_id), None)
    }

    /// The office's balance over all its lines (0 for an office never credited).
    pub fn office_balance(&self, office: &str) -> u64 {
        balance_at(&self.for_office(office), None)
    }

    /// The pilot's balance: each of its lines once.
    pub fn pilot_balance(&self, pilot_id: Uuid) -> u64 {
        balance_at(&self.for_pilot(pilot_id), None)
    }

    /// The stakeholder's balance as of `as_of`: its lines with `occurred_at` ≤ `as_of`.
    pub fn stakeholder_balance_at(&self, stakeholder_id: Uuid, as_of: OffsetDateTime) -> u64 {
        balance_at(&self.for_stakeholder(stakeholder_id), Some(as_of))
    }

    /// The office's balance as of `as_of`: its lines with `occurred_at` ≤ `as_of`.
    pub fn office_balance_at(&self, office: &str, as_of: OffsetDateTime) -> u64 {
        balance_at(&self.for_office(office), Some(as_of))
    }

    /// Every credited office with its balance, by office name.
    pub fn offices(&self) -> Vec<(String, u64)> {
        let mut balances: BTreeMap<&str, u64> = BTreeMap::new();
        for line in self.lines() {
            for office in &line.credited_offices {
                *balances.entry(office).or_default() += u64::from(line.points);
            }
        }
        balances
            .into_iter()
            .map(|(office, points)| (office.to_string(), points))
            .collect()
    }

    /// Every credited party, stakeholder or office, with the points of its **own** lines, most
    /// points first (ties: stakeholders by id, then offices by name). A post's lines count for
    /// the post and never again for the people who held it, so no line counts twice for one
    /// party; only [`crate::people`]'s person view adds a post's lines to a person.
    pub fn ranking(&self) -> Vec<(Party, u64)> {
        let mut balances: BTreeMap<Party, u64> = BTreeMap::new();
        for line in self.lines() {
            let points = u64::from(line.points);
            let mut parties: Vec<Party> = line
                .credited_to
                .iter()
                .map(|id| Party::Stakeholder(*id))
                .chain(line.credited_offices.iter().cloned().map(Party::Office))
                .collect();
            // A party named twice on one line is credited once.
            parties.sort();
            parties.dedup();
            for party in parties {
                *balances.entry(party).or_default() += points;
            }
        }
        let mut ranking: Vec<(Party, u64)> = balances.into_iter().collect();
        ranking.sort_by(|(a, pa), (b, pb)| pb.cmp(pa).then_with(|| a.cmp(b)));
        ranking
    }
}

/// The balance a running list had reached by `as_of` (its end when `None`): the balance of its
/// last line with `occurred_at` ≤ `as_of`, 0 before its first. Lists are in `occurred_at` order.
pub fn balance_at(lines: &[RunningLine<'_>], as_of: Option<OffsetDateTime>) -> u64 {
    lines
        .iter()
        .take_while(|l| as_of.is_none_or(|t| l.line.occurred_at <= t))
        .last()
        .map_or(0, |l| l.balance)
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
