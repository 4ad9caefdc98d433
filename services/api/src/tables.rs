//! Each table's columns, decided once: the pilots, the stakeholder registry, the ledger
//! (highlights) and the recorded alerts, as `GET /api/v1/pilots`, `/stakeholders`,
//! `/highlights` and `/alerts` answer them with `format=csv` ([`crate::spreadsheet`]), and as
//! `pilot export --what TABLE --format csv` writes them (it asks the server). Titles and names
//! stand next to the ids they name, dates are RFC 3339, numbers plain, lists joined by `"; "`.

use crate::reads::{BalancedLine, StakeholderRow};
use crate::spreadsheet::{column, list, optional, Column, Row, Table};
use pilot_events::rfc3339;
use pilot_projections::alert::AlertState;
use pilot_projections::alerting::RecordedAlert;
use pilot_projections::PilotView;

impl Table {
    /// The header row.
    pub fn columns(self) -> Vec<&'static str> {
        fn names<R>(columns: &[Column<R>]) -> Vec<&'static str> {
            columns.iter().map(|c| c.name).collect()
        }
        match self {
            Table::Pilots => names(PilotView::COLUMNS),
            Table::Stakeholders => names(StakeholderRow::COLUMNS),
            Table::Ledger => names(BalancedLine::COLUMNS),
            Table::Alerts => names(RecordedAlert::COLUMNS),
        }
    }
}

impl Row for PilotView {
    const TABLE: Table = Table::Pilots;
    const COLUMNS: &'static [Column<Self>] = &[
        column("pilot_id", |v, _| v.pilot.pilot_id.to_string()),
        column("title", |v, _| v.pilot.title.clone()),
        column("jurisdiction", |v, _| v.pilot.jurisdiction.clone()),
        column("policy_area", |v, _| v.pilot.policy_area.clone()),
        column("level", |v, _| v.pilot.level.as_str().to_string()),
        column("office", |v, _| v.pilot.office.clone()),
        column("stage", |v, _| v.pilot.stage.as_str().to_string()),
        column("stage_entered_at", |v, _| {
            optional(
                v.pilot
                    .stage_entered_at
                    .get(&v.pilot.stage)
                    .map(|t| rfc3339(t.0)),
            )
        }),
        column("last_activity", |v, _| rfc3339(v.pilot.last_activity)),
        column("pending_approvals", |v, _| {
            v.pilot.pending_approvals.len().to_string()
        }),
        column("support_index", |v, _| optional(v.support_index)),
        column("coalition", |v, c| {
            list(v.coalition.iter().map(|id| c.name(id)))
        }),
        column("opposition", |v, c| {
            list(v.opposition.iter().map(|id| c.name(id)))
        }),
        column("points", |v, _| v.points.to_string()),
        column("merged_into", |v, _| optional(v.pilot.merged_into)),
        column("merged_into_title", |v, c| {
            optional(v.pilot.merged_into.map(|id| c.title(&id)))
        }),
        column("version", |v, _| v.pilot.version.to_string()),
    ];
}

impl Row for StakeholderRow {
    const TABLE: Table = Table::Stakeholders;
    const COLUMNS: &'static [Column<Self>] = &[
        column("stakeholder_id", |r, _| {
            r.stakeholder.stakeholder_id.to_string()
        }),
        column("name", |r, _| r.stakeholder.name.clone()),
        column("kind", |r, _| r.stakeholder.kind.as_str().to_string()),
        column("level", |r, _| r.stakeholder.level.as_str().to_string()),
        column("influence", |r, _| {
            r.stakeholder.influence.value().to_string()
        }),
        column("registered_at", |r, _| rfc3339(r.stakeholder.registered_at)),
        column("points", |r, _| r.points.to_string()),
    ];
}

impl Row for BalancedLine {
    const TABLE: Table = Table::Ledger;
    const COLUMNS: &'static [Column<Self>] = &[
        column("occurred_at", |l, _| rfc3339(l.line.occurred_at)),
        column("period", |l, _| l.line.period()),
        column("highlight_id", |l, _| l.line.highlight_id.clone()),
        column("pilot_id", |l, _| l.line.pilot_id.to_string()),
        column("pilot_title", |l, c| c.title(&l.line.pilot_id)),
        column("kind", |l, _| l.line.kind.as_str().to_string()),
        column("level", |l, _| l.line.level.as_str().to_string()),
        column("title", |l, _| l.line.title.clone()),
        column("conferred_by", |l, _| l.line.conferred_by.clone()),
        column("credited_to", |l, _| list(&l.line.credited_to)),
        column("credited_names", |l, c| {
            list(l.line.credited_to.iter().map(|id| c.name(id)))
        }),
        column("credited_offices", |l, _| list(&l.line.credited_offices)),
        column("points", |l, _| l.line.points.to_string()),
        column("balance", |l, _| optional(l.balance)),
        column("event_id", |l, _| l.line.event_id.to_string()),
    ];
}

impl Row for RecordedAlert {
    const TABLE: Table = Table::Alerts;
    const COLUMNS: &'static [Column<Self>] = &[
        column("alert_id", |a, _| a.latest.alert_id.to_string()),
        column("pilot_id", |a, _| a.latest.pilot_id.to_string()),
        column("pilot_title", |a, _| a.latest.pilot_title.clone()),
        column("approval_id", |a, _| a.latest.approval_id.clone()),
        column("approver_id", |a, _| a.latest.approver_id.to_string()),
        column("approver_name", |a, _| {
            optional(a.latest.approver_name.as_ref())
        }),
        column("level", |a, _| a.latest.level.as_str().to_string()),
        column("state", |a, _| a.state_kind().as_str().to_string()),
        column("since", |a, _| match &a.state {
            AlertState::Pending => String::new(),
            AlertState::Warning { since } | AlertState::Firing { since, .. } => rfc3339(*since),
            AlertState::Resolved { at, .. } => rfc3339(*at),
        }),
        column("escalation_level", |a, _| match &a.state {
            AlertState::Firing {
                escalation_level, ..
            } => escalation_level.to_string(),
            _ => String::new(),
        }),
        column("requested_at", |a, _| rfc3339(a.latest.requested_at)),
        column("due_at", |a, _| optional(a.due_at.map(rfc3339))),
        column("waited_days", |a, _| a.latest.waited_days.to_string()),
        column("threshold_days", |a, _| a.latest.threshold.days.to_string()),
        column("acknowledged", |a, _| a.acknowledged.is_some().to_string()),
        column("silenced_until", |a, c| {
            optional(a.silenced_at(c.now).map(|s| rfc3339(s.silence.until)))
        }),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_distinct_columns_and_a_file_name() {
        for table in Table::ALL {
            let columns = table.columns();
            let mut unique = columns.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), columns.len(), "{table:?}");
            assert!(table.file_name().ends_with(".csv"));
        }
    }
}
