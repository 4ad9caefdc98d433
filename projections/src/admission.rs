//! Rules for new events only that need the world: the writer runs them before sealing; a
//! stored event that breaks them still folds as it was accepted, so a stricter rule never
//! quarantines history (the event-only rules are `pilot_events::admit`).
//!
//! - **The approver's level.** An `approval.requested` names the level of its approver as
//!   registered: the level chooses the stall threshold the writer records, so a request may not
//!   pick a longer one by naming a higher level. Stored history (the Nanguo fixture included)
//!   meets it, but events stored before the rule are not re-judged.

use crate::decide::Refusal;
use crate::world::World;
use pilot_events::{Envelope, Event};

impl World {
    /// Runs the rules for new events that need the world (see the module's documentation).
    /// An approver that is not registered is left to [`World::check`], which names it.
    pub fn admit(&self, envelope: &Envelope) -> Result<(), Refusal> {
        if let Event::ApprovalRequested(d) = &envelope.event {
            if let Some(approver) = self.registry.get(&d.approver_id) {
                if approver.level != d.level {
                    return Err(Refusal::ApproverLevelMismatch {
                        approver_id: d.approver_id,
                        requested: d.level,
                        registered: approver.level,
                    });
                }
            }
        }
        Ok(())
    }
}
