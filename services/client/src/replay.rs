//! `pilot replay [--until DATE] [--nats URL | --file LOG.jsonl]`: reads the whole log (from
//! the server, from NATS, or from a local file in the JSON Lines of `pilot export`) and folds
//! it locally with the pure projections, then prints every pilot as of DATE (world time) and the alert
//! transitions that would have come due by then: the projections' alert book
//! ([`pilot_projections::alerting::replay`]) driven by a simulated clock that moves to each
//! event's `occurred_at` and then to DATE, under the default stall rules, or under the
//! `[alerts]` rules of a configuration file (`--config FILE`, per-pilot overrides and
//! working-day calendars included; docs/alerting-rules.md).
//!
//! Nothing here asks the server for a projection: the answer comes from the stored bytes
//! alone, so it shows what any pilot-tracker would compute from the same log. Alert
//! transitions are those an alerter would record: a wait decided before its warning was never
//! an alert and is not listed (docs/alerting.md).

use super::log::Source;
use super::log_file;
use super::output;
use super::status::{parse_when, pilots_table};
use super::table::{Ids, Table};
use super::{Common, Failure};
use clap::Args;
use pilot_alerter::rules::AlertRules;
use pilot_events::Envelope;
use pilot_projections::alerting::{self, AlertNotice};
use pilot_projections::{AsOf, World};
use serde_json::{json, Value};
use std::path::PathBuf;
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
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub nats: Option<String>,

    /// Read the log from this file instead (JSON Lines, as `pilot export` writes it; `-` reads
    /// stdin): no server or NATS needed. Every line must be a stored event.
    #[arg(long, value_name = "LOG.jsonl")]
    pub file: Option<String>,

    /// Replay under the `[alerts]` rules of this configuration file (thresholds, warning
    /// share, working-day calendars, per-pilot overrides) instead of the default rules. Only
    /// its `[alerts]` section is read.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub ids: Ids,

    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: ReplayArgs) -> Result<(), Failure> {
    let until = args
        .until
        .as_deref()
        .map(|t| pilot_api::query::parse_instant("until", t).map_err(|e| Failure::Input(e.message)))
        .transpose()?;
    // Before any reading, so that a wrong file is reported at once.
    let rules = load_rules(args.config.as_deref())?;
    let mut fold = Fold::new();
    match args.file.as_deref() {
        Some(file) => log_file::read(file)?
            .iter()
            .for_each(|line| fold.push(&line.bytes)),
        None => {
            let source = Source::open(&args.common, args.nats.as_deref()).await?;
            source
                .for_each(None, |entry| {
                    fold.push(&entry.bytes);
                    Ok(())
                })
                .await?;
        }
    }
    let Fold {
        world,
        envelopes,
        position,
        refused,
    } = fold;

    let at = until.unwrap_or_else(OffsetDateTime::now_utc);
    let views = pilots_at(&world, until)?;
    let alerts = alerts_that_would_have_fired(&rules, envelopes, at);
    if args.common.json {
        return output::json(&json!({
            "events": position,
            "rules": rules.summary(),
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
        pilots_table(&views, args.ids).print()?;
    }
    output::line(&format!(
        "\nalert transitions by {} ({}; simulated clock):",
        args.until.as_deref().unwrap_or("now"),
        rules_source(args.config.as_deref(), &rules),
    ))?;
    if alerts.is_empty() {
        return output::line("  none");
    }
    alerts_table(&alerts).print()
}

/// The log folded so far: the world, and the events for the alert book's replay.
struct Fold {
    world: World,
    envelopes: Vec<Envelope>,
    /// Events seen, which is each one's position in the fold.
    position: u64,
    /// Why the world refused the events it refused, as the live projection says it.
    refused: Vec<String>,
}

impl Fold {
    fn new() -> Fold {
        Fold {
            world: World::new(),
            envelopes: Vec::new(),
            position: 0,
            refused: Vec::new(),
        }
    }

    /// Folds one stored event. Positions are counted here: the fold needs them gapless, not
    /// the log's own.
    fn push(&mut self, bytes: &[u8]) {
        self.position += 1;
        // The world decodes the event once; the book's replay gets a copy, refused or not.
        let mut decoded = None;
        let applied = self
            .world
            .apply_stored_seen(self.position, bytes, |e| decoded = Some(e.clone()));
        if let Err(error) = applied {
            self.refused.push(error.to_string());
        }
        self.envelopes.extend(decoded);
    }
}

/// The `[alerts]` rules of `config`, or the default rules without one.
fn load_rules(config: Option<&std::path::Path>) -> Result<AlertRules, Failure> {
    match config {
        Some(path) => AlertRules::from_config_file(path).map_err(|e| Failure::Input(e.to_string())),
        None => Ok(AlertRules::default()),
    }
}

/// Which rules a replay ran under, for its heading.
fn rules_source(config: Option<&std::path::Path>, rules: &AlertRules) -> String {
    match config {
        Some(path) => format!("stall rules of {}: {}", path.display(), rules.summary()),
        None => "default stall rules".to_string(),
    }
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
/// the order it came due: the log's events replayed through an alert book under `rules` with
/// a simulated clock.
pub fn alerts_that_would_have_fired(
    rules: &AlertRules,
    envelopes: Vec<Envelope>,
    at: OffsetDateTime,
) -> Vec<AlertNotice> {
    alerting::replay_book(rules.new_book(), envelopes, at).notices
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
        let mut world = World::new();
        let mut envelopes = Vec::new();
        let lines = super::super::import::numbered_lines(pilot_api::demo::NANGUO);
        for (i, (_, line)) in lines.into_iter().enumerate() {
            world.apply_stored(i as u64 + 1, line).unwrap();
            envelopes.push(pilot_events::decode(line).unwrap());
        }
        (world, envelopes)
    }

    #[test]
    fn the_nanguo_replay_fires_for_lchis_approval_only() {
        let (_, envelopes) = nanguo();
        let notices = alerts_that_would_have_fired(
            &AlertRules::default(),
            envelopes,
            datetime!(2012-01-01 0:00 UTC),
        );
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

    /// The `[alerts]` rules of a file change what the replay reports: with a 10-working-day
    /// municipal threshold in the example Nanguo calendar, the GOHS expansion (requested Mon
    /// 2008-10-13 10:00, granted 11-10 10:00) stalls on Mon 10-27 10:00 instead of only warning,
    /// and has reached its second threshold (20 working days) when it is granted. No event
    /// falls in between, so the replay's clock jumps from the request to the grant and lists
    /// where the alert stands then: escalated to level 2 on 11-10 10:00.
    #[test]
    fn a_configuration_file_sets_the_rules_of_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let calendar = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/calendars/nanguo.toml");
        let config = dir.path().join("pilot.toml");
        let text = format!(
            "[alerts]\nday_count = \"working\"\ncalendar = \"nanguo\"\ncalendar_files = [{:?}]\nthresholds = {{ municipal = 10 }}\n",
            calendar.display().to_string()
        );
        std::fs::write(&config, text).unwrap();
        let rules = load_rules(Some(&config)).unwrap();
        let (_, envelopes) = nanguo();
        let notices =
            alerts_that_would_have_fired(&rules, envelopes, datetime!(2012-01-01 0:00 UTC));
        let gohs: Vec<(serde_json::Value, OffsetDateTime)> = notices
            .iter()
            .filter(|n| n.approval_id == "gohs-2008-mayor")
            .map(|n| {
                let transition = serde_json::to_value(&n.transition).unwrap();
                (transition["kind"].clone(), n.transition.at)
            })
            .collect();
        assert_eq!(
            gohs[0],
            (
                serde_json::json!("escalated"),
                datetime!(2008-11-10 10:00 +08:00)
            ),
            "{gohs:?}"
        );
        assert_eq!(gohs.len(), 2, "the escalation and the grant: {gohs:?}");
        assert!(rules_source(Some(&config), &rules).contains("working days of calendar nanguo"));

        let missing = load_rules(Some(&dir.path().join("absent.toml"))).unwrap_err();
        assert_eq!(missing.exit_code(), 3);
        assert!(missing.to_string().contains("absent.toml"), "{missing}");
    }
}
