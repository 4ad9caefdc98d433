//! Comparative analytics over many pilots (issue 13): how long the approval gate takes and
//! who stalls it, how support was built, who gained what political capital, and how long
//! pilots take to scale up, each as of any world date.
//!
//! Definitions (the research record's "Comparative analytics" says the same):
//! - **As of** `as_of`: only facts with `occurred_at` ≤ `as_of` count; a pilot proposed later
//!   does not exist. Retracted events never count (as in every "as of" view). There is no
//!   "now" here: projections never read a clock, so the caller passes the instant to judge
//!   pending approvals at (the API passes the wall clock when no date is asked for).
//! - **Days** are fractional days of 24 hours between two instants (`f64`; 36 hours is 1.5).
//! - **Proposal → approval**: per pilot, from `pilot.proposed` to its first entry into
//!   `approved`; grouped by the level and by the approver of the gate approvals granted in the
//!   round that ended in `approved` ([`approvals::gate_grants`]).
//! - **Request → decision**: every approval granted, denied or withdrawn by `as_of` (gate and
//!   expansion approvals; not those ended by the pilot's merge or termination), the days it
//!   waited, grouped by level and approver, with counts by outcome.
//! - **Stall rate**: of the approvals requested by `as_of`, the share that waited until their
//!   deadline ([`crate::stall::deadline`]: what the log recorded, not the alerter's present
//!   configuration) or past it; one still pending at `as_of` past its deadline counts.
//! - **Support trajectory**: per pilot, the support index after each event that changed it
//!   ([`trajectory`]).
//! - **Points**: per stakeholder and per office, per year of the ledger line's `occurred_at`
//!   in its own offset ([`points`]).
//! - **Time to scale-up**: from proposal to the first entry into `scaled`.
//!
//! Outputs are sorted: pilots by id, levels low to high, approvers and stakeholders by name
//! then id, offices by name, years ascending.

pub mod approvals;
pub mod points;
pub mod summary;
pub mod trajectory;

pub use approvals::{Decisions, StallRate};
pub use points::{OfficePoints, Points, StakeholderPoints, YearPoints};
pub use summary::{days_between, ByApprover, ByLevel, Grouped, Summary};
pub use trajectory::SupportPoint;

use crate::view::ChainNotLoaded;
use crate::world::World;
use approvals::{first_entry, Approvals, ProposalToApproval};
use pilot_events::Stage;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Every comparative figure as of one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Analytics {
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
    /// Pilots proposed by `as_of`, by id.
    pub pilots: Vec<PilotFigures>,
    pub proposal_to_approval: Grouped<Summary>,
    pub request_to_decision: Grouped<Decisions>,
    pub stall_rates: Grouped<StallRate>,
    pub time_to_scale_up: Summary,
    pub points: Points,
}

/// One pilot's own figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PilotFigures {
    pub pilot_id: Uuid,
    pub title: String,
    pub office: String,
    #[serde(with = "time::serde::rfc3339")]
    pub proposed_at: OffsetDateTime,
    /// Days from proposal to approval; null if not approved by `as_of`.
    pub days_to_approval: Option<f64>,
    /// Days from proposal to scale-up; null if not scaled by `as_of`.
    pub days_to_scale_up: Option<f64>,
    pub support_trajectory: Vec<SupportPoint>,
}

/// Every figure as of `as_of`, folded over the world's pilots and ledger.
///
/// Support trajectories need each pilot's chain: a world restored from a checkpoint must load
/// the chains first ([`World::load_chain`]); the first pilot without one is named in the error.
pub fn analytics(world: &World, as_of: OffsetDateTime) -> Result<Analytics, ChainNotLoaded> {
    let name = |id: &Uuid| world.registry().get(id).map(|s| s.name.clone());
    let mut records: Vec<_> = world.pilots().collect();
    records.sort_by_key(|r| r.state.pilot_id);
    let mut to_approval = ProposalToApproval::default();
    let mut approvals = Approvals::default();
    let mut to_scale_up = Vec::new();
    let mut pilots = Vec::new();
    for record in records {
        let state = &record.state;
        let Some(proposed) = state.stage_history.first() else {
            continue;
        };
        let proposed_at = proposed.entered_at;
        if proposed_at > as_of {
            continue;
        }
        if !world.chain_loaded(&state.pilot_id) {
            return Err(ChainNotLoaded {
                pilot_id: state.pilot_id,
            });
        }
        let days_to_approval = to_approval.add(state, proposed_at, as_of);
        approvals.add(state, as_of);
        let days_to_scale_up =
            first_entry(state, Stage::Scaled, as_of).map(|(_, at)| days_between(proposed_at, at));
        to_scale_up.extend(days_to_scale_up);
        pilots.push(PilotFigures {
            pilot_id: state.pilot_id,
            title: state.title.clone(),
            office: state.office.clone(),
            proposed_at,
            days_to_approval,
            days_to_scale_up,
            support_trajectory: trajectory::trajectory(record, world.registry(), as_of),
        });
    }
    let (request_to_decision, stall_rates) = approvals.finish(name);
    Ok(Analytics {
        as_of,
        pilots,
        proposal_to_approval: to_approval.finish(name),
        request_to_decision,
        stall_rates,
        time_to_scale_up: Summary::of(&to_scale_up),
        points: points::points(world.ledger(), as_of, name),
    })
}
