//! `pilot replay [--until DATE] [--nats URL]`: reads the whole log and folds it locally with
//! the pure projections, then prints every pilot as of DATE (world time) and the alert
//! transitions that would have come due by then: the projections' alert book
//! ([`pilot_projections::alerting::replay`]) driven by a simulated clock that moves to each
//! event's `occurred_at` and then to DATE, under the default stall rules.
//!
//! Nothing here asks the server for a projection: the answer comes from the stored bytes
//! alone, so it shows what any pilot-tracker would compute from the same log.

use super::log::Source;
use super::output::{self, Table};
use super::status::{parse_when, pilots_table};
use super::{Common, Failure};
use clap::Args;
use pilot_events::Envelope;
use pilot_projections::alerting::{self, AlertNotice};
use pilot_projections::stall::StallRules;
use pilot_projections::{AsOf, World};
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// How many refusals are listed one by one.
const SHOWN_REFUSALS: usize = 10;

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Show the world as of DATE (the end of that day in UTC, or an RFC 3339 timestamp);
    /// default: now.
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub until: Option<String>,

    /// Read the log directly from this NATS server instead of the pilot service.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: ReplayArgs) -> Result<(), Failure> {
    let until = args
        .until
        .as_deref()
        .map(|t| crate::query::parse_instant("until", t).map_err(|e| Failure::Input(e.message)))
        .transpose()?;
    let source = Source::open(&args.common, args.nats.as_deref()).await?;
    let mut world = World::new(StallRules::default());
    let mut envelopes = Vec::new();
    let mut position = 0u64;
    let mut refused = Vec::new();
    source
        .for_each(None, |entry| {
            // Positions are counted here: the fold needs them gapless, not the log's own.
            position += 1;
            if let Err(error) = world.apply_stored(position, &entry.bytes) {
                refused.push(error.to_string());
            }
            if let Ok(envelope) = pilot_events::decode(&entry.bytes) {
                envelopes.push(envelope);
            }
            Ok(())
        })
        .await?;

    let at = until.unwrap_or_else(OffsetDateTime::now_utc);
    let views = pilots_at(&world, until)?;
    let alerts = alerts_that_would_have_fired(envelopes, at);
    if args.common.json {
        return output::json(&json!({
            "events": position,
            "refused": refused,
            "until": args.until,
            "pilots": views,
            "alerts": alerts,
        }));
    }
    let when = args
        .until
        .as_deref()
        .map_or_else(|| "now".to_string(), |u| format!("as of {u}"));
    output::line(&format!(
        "replayed {position} events ({} refused); the pilots {when}:",
        refused.len()
    ))?;
    for reason in refused.iter().take(SHOWN_REFUSALS) {
        output::line(&format!("  refused: {reason}"))?;
    }
    output::line("")?;
    if views.is_empty() {
        output::line("no pilots")?;
    } else {
        pilots_table(&views).print()?;
    }
    output::line(&format!(
        "\nalert transitions by {} (default stall rules, simulated clock):",
        args.until.as_deref().unwrap_or("now")
    ))?;
    if alerts.is_empty() {
        return output::line("  none");
    }
    alerts_table(&alerts).print()
}

/// Every pilot's view as of `until` (now when `None`), as JSON, ordered by `pilot_id`: the
/// same views `pilot status --as-of` gets from the server.
fn pilots_at(world: &World, until: Option<OffsetDateTime>) -> Result<Vec<Value>, Failure> {
    let mut ids: Vec<Uuid> = world.pilots().map(|p| p.state.pilot_id).collect();
    ids.sort();
    let mut views = Vec::new();
    for id in ids {
        let view = match until {
            None => world.pilot_view(&id),
            Some(as_of) => world
                .pilot_view_at(
                    &id,
                    AsOf {
                        as_of: Some(as_of),
                        known_at: None,
                    },
                )
                // A world folded from the log holds every chain.
                .map_err(|e| Failure::Io(e.to_string()))?,
        };
        if let Some(view) = view {
            views.push(
                serde_json::to_value(view).map_err(|e| Failure::Io(format!("pilot {id}: {e}")))?,
            );
        }
    }
    Ok(views)
}

/// Every alert transition (warned, fired, escalated, resolved, ...) that came due by `at`, in
/// the order it came due: the log's events replayed through the alert book with a simulated
/// clock.
pub fn alerts_that_would_have_fired(
    envelopes: Vec<Envelope>,
    at: OffsetDateTime,
) -> Vec<AlertNotice> {
    alerting::replay(&StallRules::default(), envelopes, at).notices
}

fn alerts_table(notices: &[AlertNotice]) -> Table {
    let mut table = Table::new(&[
        "date",
        "pilot",
        "approval_id",
        "approver",
        "transition",
        "waited_days",
    ])
    .right(&["waited_days"]);
    for notice in notices {
        let transition = serde_json::to_value(&notice.transition).unwrap_or(Value::Null);
        table.row(vec![
            notice.transition.at.date().to_string(),
            notice.pilot_title.clone(),
            notice.approval_id.clone(),
            notice
                .approver_name
                .clone()
                .unwrap_or_else(|| notice.approver_id.to_string()),
            describe(&transition),
            notice.waited_days.to_string(),
        ]);
    }
    table
}

/// `fired`, `escalated (level 2)`, `resolved (granted)`: the transition's kind and its one
/// telling detail.
fn describe(transition: &Value) -> String {
    let kind = output::text(transition, "kind");
    let detail = [
        ("level", "level "),
        ("reason", ""),
        ("extra_days", "+"),
        ("user", "by "),
    ]
    .iter()
    .find_map(|(key, prefix)| {
        let value = transition.get(*key)?;
        Some(format!("{prefix}{}", output::cell(Some(value))))
    });
    match detail {
        Some(detail) => format!("{kind} ({detail})"),
        None => kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn nanguo() -> (World, Vec<Envelope>) {
        let mut world = World::new(StallRules::default());
        let mut envelopes = Vec::new();
        let lines = super::super::import::numbered_lines(super::super::import::NANGUO);
        for (i, (_, line)) in lines.into_iter().enumerate() {
            world.apply_stored(i as u64 + 1, line).unwrap();
            envelopes.push(pilot_events::decode(line).unwrap());
        }
        (world, envelopes)
    }

    #[test]
    fn the_nanguo_replay_fires_for_lchis_approval_only() {
        let (_, envelopes) = nanguo();
        let notices = alerts_that_would_have_fired(envelopes, datetime!(2012-01-01 0:00 UTC));
        let fired: Vec<&str> = notices
            .iter()
            .filter(|n| serde_json::to_value(&n.transition).unwrap()["kind"] == "fired")
            .map(|n| n.approval_id.as_str())
            .collect();
        assert_eq!(fired, vec!["lchi-2004-mayor"]);
        let table = alerts_table(&notices).render();
        assert!(table.contains("escalated (level 2)"), "{table}");
    }

    #[test]
    fn pilots_as_of_2001_are_the_three_then_proposed() {
        let (world, _) = nanguo();
        let views = pilots_at(&world, Some(datetime!(2001-01-01 23:59:59 UTC))).unwrap();
        let stages: Vec<&str> = views.iter().filter_map(|v| v["stage"].as_str()).collect();
        assert_eq!(stages, vec!["implementing"; 3]);
    }
}
