//! How long the comparative analytics take over a folded world: the Nanguo history
//! (deploy/demo/nanguo.jsonl, 5 pilots) and a synthetic history of 1,000 pilots, each at the
//! end of its history and as of a date in its middle. The world is folded once; each figure is
//! the median of repeated runs of `analytics` alone (support trajectories decode every chain,
//! so they dominate).
//!
//! Run: `cargo bench -p pilot-projections --bench analytics` (add `-- EVENTS_PER_PILOT` to
//! change the synthetic size; default 50). Single-threaded.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a bench reports on stdout

use pilot_projections::analytics::analytics;
use pilot_projections::synthetic::{history_json, Shape};
use pilot_projections::World;
use std::hint::black_box;
use std::time::Instant;
use time::macros::datetime;
use time::OffsetDateTime;

const NANGUO: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/demo/nanguo.jsonl"
));

const END: OffsetDateTime = datetime!(2100-01-01 00:00 UTC);

fn main() {
    let per_pilot: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);

    let nanguo = fold(NANGUO.lines().map(str::as_bytes));
    let label = format!("nanguo ({} events), end", NANGUO.lines().count());
    report(&label, &nanguo, END, 201);
    report(
        "nanguo, as of 2001-01-01",
        &nanguo,
        datetime!(2001-01-01 00:00 +08:00),
        201,
    );

    let shape = Shape {
        pilots: 1_000,
        events_per_pilot: per_pilot,
        stakeholders: 200,
        seed: 7,
    };
    let lines = history_json(shape);
    let synthetic = fold(lines.iter().map(Vec::as_slice));
    let label = format!(
        "synthetic ({} pilots, {} events), end",
        shape.pilots,
        lines.len()
    );
    report(&label, &synthetic, END, 11);
    // The synthetic clock moves 1 to 48 hours per event from 2000-01-03; a week in is the
    // middle of a 50-event history.
    report(
        "synthetic, as of 2000-01-10",
        &synthetic,
        datetime!(2000-01-10 00:00 +08:00),
        11,
    );
}

fn fold<'a>(lines: impl Iterator<Item = &'a [u8]>) -> World {
    let mut world = World::new();
    for (i, line) in lines.enumerate() {
        world
            .apply_stored(i as u64 + 1, line)
            .expect("the history is valid");
    }
    world
}

/// Prints the median of `runs` runs of the analytics over `world` as of `as_of`.
fn report(label: &str, world: &World, as_of: OffsetDateTime, runs: usize) {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            black_box(analytics(world, as_of).expect("every chain is loaded"));
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let result = analytics(world, as_of).expect("every chain is loaded");
    println!(
        "{label:<45} median {:>9.3} ms over {runs} runs ({} pilots, {} trajectory points)",
        times[runs / 2] * 1e3,
        result.pilots.len(),
        result
            .pilots
            .iter()
            .map(|p| p.support_trajectory.len())
            .sum::<usize>()
    );
}
