//! Figures shared by every analytic: a summary of durations in days, and the grouping by
//! approver level and by approver.

use pilot_events::Level;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Days from `from` to `to` as a fraction (36 hours is 1.5): whole days would hide the
/// difference between an answer in the morning and one the next evening, and the caller can
/// round; negative only if `to` is earlier.
pub fn days_between(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    (to - from).as_seconds_f64() / SECONDS_PER_DAY
}

/// Count, median, mean, minimum and maximum of durations in days; every figure but the count
/// is null when there is nothing to summarise (a mean of nothing is not 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub count: usize,
    pub median: Option<f64>,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Summary {
    /// The median of an even count is the mean of the two middle values.
    pub fn of(days: &[f64]) -> Summary {
        let mut sorted = days.to_vec();
        sorted.sort_by(f64::total_cmp);
        let count = sorted.len();
        if count == 0 {
            return Summary::default();
        }
        let middle = count / 2;
        let median = if count % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        };
        Summary {
            count,
            median: Some(median),
            mean: Some(sorted.iter().sum::<f64>() / count as f64),
            min: sorted.first().copied(),
            max: sorted.last().copied(),
        }
    }
}

/// One figure overall, per approver level (low to high) and per approver (by name, then id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grouped<T> {
    pub overall: T,
    pub by_level: Vec<ByLevel<T>>,
    pub by_approver: Vec<ByApprover<T>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ByLevel<T> {
    pub level: Level,
    #[serde(flatten)]
    pub figures: T,
}

/// `name` is the registry's, null for a stakeholder whose registration was retracted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ByApprover<T> {
    pub approver_id: Uuid,
    pub name: Option<String>,
    #[serde(flatten)]
    pub figures: T,
}

/// Raw observations gathered per group before they are summarised.
#[derive(Debug)]
pub(crate) struct Groups<A> {
    pub(crate) overall: A,
    pub(crate) by_level: BTreeMap<Level, A>,
    pub(crate) by_approver: BTreeMap<Uuid, A>,
}

impl<A: Default> Default for Groups<A> {
    fn default() -> Self {
        Groups {
            overall: A::default(),
            by_level: BTreeMap::new(),
            by_approver: BTreeMap::new(),
        }
    }
}

impl<A: Default> Groups<A> {
    pub(crate) fn level(&mut self, level: Level) -> &mut A {
        self.by_level.entry(level).or_default()
    }

    pub(crate) fn approver(&mut self, approver_id: Uuid) -> &mut A {
        self.by_approver.entry(approver_id).or_default()
    }

    /// Summarises every group with `finish`; approvers are named by `name` and ordered by
    /// name (unnamed last), then id, so the output never depends on hash order.
    pub(crate) fn finish<T>(
        self,
        finish: impl Fn(A) -> T,
        name: impl Fn(&Uuid) -> Option<String>,
    ) -> Grouped<T> {
        let mut by_approver: Vec<ByApprover<T>> = self
            .by_approver
            .into_iter()
            .map(|(approver_id, acc)| ByApprover {
                approver_id,
                name: name(&approver_id),
                figures: finish(acc),
            })
            .collect();
        by_approver.sort_by(|a, b| {
            (a.name.is_none(), &a.name, a.approver_id).cmp(&(
                b.name.is_none(),
                &b.name,
                b.approver_id,
            ))
        });
        Grouped {
            overall: finish(self.overall),
            by_level: self
                .by_level
                .into_iter()
                .map(|(level, acc)| ByLevel {
                    level,
                    figures: finish(acc),
                })
                .collect(),
            by_approver,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_nothing_has_no_figures() {
        assert_eq!(Summary::of(&[]), Summary::default());
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = Summary::of(&[10.0, 1.0, 4.0, 2.0]);
        assert_eq!(s.count, 4);
        assert_eq!(s.median, Some(3.0));
        assert_eq!(s.mean, Some(4.25));
        assert_eq!((s.min, s.max), (Some(1.0), Some(10.0)));
        assert_eq!(Summary::of(&[5.0, 1.0, 3.0]).median, Some(3.0));
    }
}
