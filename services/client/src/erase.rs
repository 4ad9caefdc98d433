//! `pilot erase STAKEHOLDER --reason TEXT`: erases a person's personal data
//! (`POST /api/v1/subjects/{id}/erase`, admin): the service records `subject.erased` and
//! destroys the person's key, so every personal field sealed under it can never be read
//! again (docs/personal-data.md). Erasing twice is refused (409, exit 3).
//!
//! `pilot erase --plan` erases nothing: it lists every person the `[[retention]]` rules will
//! erase, and when ([`crate::erase_plan`]).

use super::erase_plan;
use super::http::Http;
use super::output;
use super::resolve::{self, Kind};
use super::table::{Ids, Table};
use super::{Common, Failure};
use clap::Args;
use serde_json::json;

#[derive(Debug, Clone, Args)]
pub struct EraseArgs {
    /// The person: a stakeholder's name, id or short id.
    #[arg(
        value_name = "STAKEHOLDER",
        required_unless_present = "plan",
        conflicts_with = "plan"
    )]
    pub stakeholder: Option<String>,

    /// Why (a request under the law, a retention rule): shown wherever the erased fields
    /// were. It is not sealed, so it must not name the person.
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "plan",
        conflicts_with = "plan"
    )]
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
    // clap requires both unless `--plan`; this only keeps the code free of `unwrap`.
    let (Some(stakeholder), Some(reason)) = (args.stakeholder, args.reason) else {
        return Err(Failure::Usage(
            "name the person and why: `pilot erase STAKEHOLDER --reason TEXT` (or `pilot erase --plan`)".into(),
        ));
    };
    if reason.trim().is_empty() {
        return Err(Failure::Input(
            "--reason is empty: say why the data is erased (it is shown where the fields were; do not name the person)".into(),
        ));
    }
    let http = Http::new(&args.common)?;
    let id = resolve::id(&http, Kind::Stakeholder, &stakeholder).await?;
    let url = http.url(&format!("/api/v1/subjects/{id}/erase"), &[])?;
    let done = http
        .post_json(url, &json!({"reason": reason}))
        .await?
        .json()?;
    if args.common.json {
        return output::json(&done);
    }
    let mut table = Table::new(&["", ""]);
    for key in [
        "subject",
        "event_id",
        "erased_at",
        "reason",
        "key_destroyed",
        "position",
    ] {
        table.row(vec![
            format!("  {key}"),
            output::visible(&output::text(&done, key)),
        ]);
    }
    output::print(&format!("erased\n{}", table.render()))
}
