//! Ledger points per stakeholder and per office, per calendar year.
//!
//! The year is that of the line's `occurred_at` in its own offset (a highlight conferred on
//! 1 January in Nanguo counts for that year, whatever UTC says). Each credited party gains the
//! line's full points, as in the ledger; a party's own lines only (a post's lines count for the
//! post, not for the people who held it: that would count a line twice).

use crate::ledger::Ledger;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YearPoints {
    pub year: i32,
    pub points: u64,
    /// Ledger lines that credited the party that year.
    pub lines: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StakeholderPoints {
    pub stakeholder_id: Uuid,
    /// The registry's name; null for a stakeholder whose registration was retracted.
    pub name: Option<String>,
    pub total: u64,
    /// Years with a line, ascending.
    pub years: Vec<YearPoints>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficePoints {
    pub office: String,
    pub total: u64,
    pub years: Vec<YearPoints>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Points {
    /// By name (unnamed last), then id.
    pub by_stakeholder: Vec<StakeholderPoints>,
    /// By office name.
    pub by_office: Vec<OfficePoints>,
}

type Years = BTreeMap<i32, (u64, usize)>;

fn years(years: Years) -> (u64, Vec<YearPoints>) {
    let total = years.values().map(|(p, _)| p).sum();
    let rows = years
        .into_iter()
        .map(|(year, (points, lines))| YearPoints {
            year,
            points,
            lines,
        })
        .collect();
    (total, rows)
}

/// Points of every line dated by `as_of`.
pub(crate) fn points(
    ledger: &Ledger,
    as_of: OffsetDateTime,
    name: impl Fn(&Uuid) -> Option<String>,
) -> Points {
    let mut stakeholders: BTreeMap<Uuid, Years> = BTreeMap::new();
    let mut offices: BTreeMap<&str, Years> = BTreeMap::new();
    // Lines are in `occurred_at` order: stop at the first one after `as_of`.
    for line in ledger.lines().take_while(|l| l.occurred_at <= as_of) {
        let year = line.occurred_at.year();
        let points = u64::from(line.points);
        for id in &line.credited_to {
            let entry = stakeholders
                .entry(*id)
                .or_default()
                .entry(year)
                .or_default();
            entry.0 += points;
            entry.1 += 1;
        }
        for office in &line.credited_offices {
            let entry = offices.entry(office).or_default().entry(year).or_default();
            entry.0 += points;
            entry.1 += 1;
        }
    }
    let mut by_stakeholder: Vec<StakeholderPoints> = stakeholders
        .into_iter()
        .map(|(stakeholder_id, y)| {
            let (total, years) = years(y);
            StakeholderPoints {
                stakeholder_id,
                name: name(&stakeholder_id),
                total,
                years,
            }
        })
        .collect();
    by_stakeholder.sort_by(|a, b| {
        (a.name.is_none(), &a.name, a.stakeholder_id).cmp(&(
            b.name.is_none(),
            &b.name,
            b.stakeholder_id,
        ))
    });
    let by_office = offices
        .into_iter()
        .map(|(office, y)| {
            let (total, years) = years(y);
            OfficePoints {
                office: office.to_string(),
                total,
                years,
            }
        })
        .collect();
    Points {
        by_stakeholder,
        by_office,
    }
}
