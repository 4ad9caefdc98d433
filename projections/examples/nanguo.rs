//! Folds the Nanguo history (deploy/demo/nanguo.jsonl, or a JSONL file given as argument)
//! through every projection and prints what an analyst would look at first.
//!
//! Run: `cargo run --release -q -p pilot-projections --example nanguo [FILE]`

#![allow(clippy::print_stdout)] // a demo prints

use pilot_projections::stall::{stall_status, StallRules, StallStatus};
use pilot_projections::World;
use std::process::ExitCode;

const DEFAULT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/demo/nanguo.jsonl");

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT.to_string());
    match run(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    pilot_events::verify_lines(text.lines().map(str::as_bytes))
        .map_err(|e| format!("{path}: {e}"))?;
    let mut world = World::new();
    for (i, line) in text.lines().enumerate() {
        let envelope =
            pilot_events::decode(line.as_bytes()).map_err(|e| format!("{path}:{}: {e}", i + 1))?;
        world
            .apply(i as u64 + 1, envelope)
            .map_err(|e| format!("{path}:{}: {e}", i + 1))?;
    }
    println!(
        "{} events, {} pilots, {} stakeholders: hash chains verified\n",
        world.position(),
        world.pilots().count(),
        world.registry().len()
    );
    print_pilots(&world);
    print_stalls(&world);
    print_ledger(&world);
    Ok(())
}

fn name(world: &World, id: &uuid::Uuid) -> String {
    world
        .registry()
        .get(id)
        .map_or_else(|| id.to_string(), |s| s.name.clone())
}

fn print_pilots(world: &World) {
    let mut pilots: Vec<_> = world.pilots().collect();
    pilots.sort_by_key(|p| p.state.stage_history.first().map(|s| s.entered_at));
    println!(
        "{:<52} {:<14} {:>8} {:>7}  progress",
        "pilot", "stage", "support", "points"
    );
    for record in pilots {
        let Some(view) = world.pilot_view(&record.state.pilot_id) else {
            continue;
        };
        let support = view
            .support_index
            .map_or("-".to_string(), |s| format!("{s:+.2}"));
        let progress: Vec<String> = view
            .progress
            .iter()
            .map(|p| format!("{} {:.0}%", p.metric, p.progress * 100.0))
            .collect();
        println!(
            "{:<52} {:<14} {:>8} {:>7}  {}",
            view.pilot.title,
            view.pilot.stage.as_str(),
            support,
            view.points,
            progress.join(", ")
        );
        let coalition: Vec<String> = view.coalition.iter().map(|id| name(world, id)).collect();
        if !coalition.is_empty() {
            println!("    coalition: {}", coalition.join(", "));
        }
    }
}

/// Every approval in the history, replayed against the default stall rules at its decision.
fn print_stalls(world: &World) {
    println!("\napprovals that stalled before their decision (default thresholds):");
    for record in world.pilots() {
        for decided in &record.state.decided_approvals {
            let pending = &decided.approval;
            let waited = (decided.decided_at - pending.requested_at).whole_days();
            match stall_status(pending, &StallRules::default(), decided.decided_at - time::Duration::seconds(1)) {
                StallStatus::Firing { escalation_level, due_at, .. } => println!(
                    "  {} / {}: waited {waited} days on {}; fired {}, escalation level {escalation_level}",
                    record.state.title, pending.approval_id, name(world, &pending.approver_id), due_at.date()
                ),
                StallStatus::Warning { due_at } => println!(
                    "  {} / {}: waited {waited} days on {}; warning (due {})",
                    record.state.title, pending.approval_id, name(world, &pending.approver_id), due_at.date()
                ),
                StallStatus::Ok { .. } => {}
            }
        }
    }
}

fn print_ledger(world: &World) {
    println!("\npolitical-highlight ledger, by stakeholder:");
    for stakeholder in world.registry().all() {
        let lines = world.ledger().for_stakeholder(stakeholder.stakeholder_id);
        if lines.is_empty() {
            continue;
        }
        println!("  {}", stakeholder.name);
        for line in lines {
            println!(
                "    {}  {:<55} {:>2} pts  balance {:>3}",
                line.line.occurred_at.date(),
                line.line.title,
                line.line.points,
                line.balance
            );
        }
    }
}
