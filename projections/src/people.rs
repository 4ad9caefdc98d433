//! A person's view of the ledger (research-record.md, "Posts and people"): the person's own
//! lines plus the lines of every post the person held, as far as each line's `occurred_at`
//! falls within the tenure (by the day it falls on in its own offset, both ends included; no
//! `to` means still in post).
//!
//! This is the one place a post's lines are added to a person. Rankings
//! ([`crate::ledger::Ledger::ranking`]) count each party's own lines only, so a line is never
//! counted twice.

use crate::ledger::LedgerLine;
use crate::world::World;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// One line of a person's view with the person's running balance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonLine<'a> {
    #[serde(flatten)]
    pub line: &'a LedgerLine,
    /// The line credits the person by their own id.
    pub own: bool,
    /// The posts the person held when the line happened and that the line credits (the line
    /// still appears once, however many tenures cover it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via_posts: Vec<Uuid>,
    pub balance: u64,
}

impl World {
    /// The person's lines, own and through the posts held, in (`occurred_at`, stream
    /// position) order, each once, with the person's running balance.
    pub fn person_lines(&self, person_id: Uuid) -> Vec<PersonLine<'_>> {
        let tenures: Vec<_> = self.registry().tenures_of(&person_id).collect();
        let mut balance = 0;
        self.ledger()
            .lines()
            .filter_map(|line| {
                let own = line.credited_to.contains(&person_id);
                let mut via_posts: Vec<Uuid> = tenures
                    .iter()
                    .filter(|t| line.credited_to.contains(&t.post_id) && t.covers(line.occurred_at))
                    .map(|t| t.post_id)
                    .collect();
                via_posts.sort();
                via_posts.dedup();
                if !own && via_posts.is_empty() {
                    return None;
                }
                balance += u64::from(line.points);
                Some(PersonLine {
                    line,
                    own,
                    via_posts,
                    balance,
                })
            })
            .collect()
    }

    /// The person's balance: own lines and their posts' lines within their tenures.
    pub fn person_balance(&self, person_id: Uuid) -> u64 {
        self.person_lines(person_id).last().map_or(0, |l| l.balance)
    }

    /// The person's balance as of `as_of`: the lines of [`World::person_lines`] with
    /// `occurred_at` ≤ `as_of`.
    pub fn person_balance_at(&self, person_id: Uuid, as_of: OffsetDateTime) -> u64 {
        self.person_lines(person_id)
            .iter()
            .take_while(|l| l.line.occurred_at <= as_of)
            .last()
            .map_or(0, |l| l.balance)
    }
}
