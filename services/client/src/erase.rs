//! `pilot erase`: erase a person's personal data, or (`--plan`) list what the retention rules
//! will erase and when ([`crate::erase_plan`]).
//!
//! PLACEHOLDER (helper C, issue 17): helper B owns `pilot erase STAKEHOLDER --reason TEXT`
//! (`POST /api/v1/subjects/{id}/erase`). Only `--plan` is served here; at the merge B's erase
//! replaces the `else` branch of [`run`] and keeps the `--plan` flag and its branch.

use super::erase_plan;
use super::table::Ids;
use super::{Common, Failure};
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct EraseArgs {
    /// The person to erase: its id, the start of its name, or a short id.
    #[arg(value_name = "STAKEHOLDER", conflicts_with = "plan")]
    pub stakeholder: Option<String>,

    /// Why, recorded in the erasure for everyone to see (it must not name the person).
    #[arg(long, value_name = "TEXT", conflicts_with = "plan")]
    pub reason: Option<String>,

    /// Erase nothing: list every person the `[[retention]]` rules will erase, and when
    /// (admin).
    #[arg(long)]
    pub plan: bool,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: EraseArgs) -> Result<(), Failure> {
    if args.plan {
        return erase_plan::run(&args.common, args.ids).await;
    }
    Err(Failure::Usage(
        "this build serves only `pilot erase --plan`; erasing one person arrives with `POST /api/v1/subjects/{id}/erase`".to_string(),
    ))
}
