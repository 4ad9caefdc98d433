//! Decode-and-fold throughput: JSON bytes of a synthetic history through every projection,
//! measured side by side, in one run, with two bare loops over the same bytes:
//! - skim: serde_json parsing each line without building anything (`IgnoredAny`);
//! - decode: typed, validated `Envelope`s, counted and dropped.
//!
//! Run: `cargo bench -p pilot-projections --bench fold` (add `-- EVENTS` to change the size;
//! default 1,000,000). Single-threaded: the figures are per core. Also prints the resident
//! memory a world without chain bytes (a service's) holds after the fold.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a bench reports on stdout

use pilot_projections::synthetic::{history_json, Shape};
use pilot_projections::World;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let events: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let pilots = 1_000.min(events / 10).max(1);
    let shape = Shape {
        pilots,
        events_per_pilot: events / pilots,
        stakeholders: 200,
        seed: 7,
    };
    let started = Instant::now();
    let lines = history_json(shape);
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let n = lines.len() as f64;
    println!(
        "generated {} events ({} pilots, {:.0} bytes/event) in {:.1}s",
        lines.len(),
        pilots,
        bytes as f64 / n,
        started.elapsed().as_secs_f64()
    );

    let skim = timed(|| {
        lines
            .iter()
            .filter(|l| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok())
            .count()
    });
    let decode = timed(|| {
        lines
            .iter()
            .filter(|l| pilot_events::decode(l).is_ok())
            .count()
    });
    let fold_into = |mut world: World| {
        for (i, line) in lines.iter().enumerate() {
            world
                .apply_stored(i as u64 + 1, line)
                .expect("synthetic events are valid");
        }
        world
    };
    // What the service's world holds, measured first, before freed memory can be reused:
    // resident memory with it, less without it.
    let before = pilot_nats_harness::resident_bytes("self");
    let world = fold_into(World::new().without_chain_bytes());
    let held = pilot_nats_harness::resident_bytes("self").saturating_sub(before);
    drop(black_box(world));
    // A service's world keeps state, not chain bytes; an in-memory one keeps every chain.
    let fold = timed(|| fold_into(World::new().without_chain_bytes()).position() as usize);
    let fold_keeping = timed(|| fold_into(World::new()).position() as usize);

    println!(
        "skim (serde_json, IgnoredAny):   {:>10.0} events/s",
        n / skim
    );
    println!(
        "decode (typed, validated):       {:>10.0} events/s",
        n / decode
    );
    println!(
        "decode and fold (all views):     {:>10.0} events/s (world without chain bytes, as served)",
        n / fold
    );
    println!(
        "decode and fold, keeping chains: {:>10.0} events/s (every chain's bytes in memory)",
        n / fold_keeping
    );
    println!(
        "world without chain bytes:       {:>10.0} MB resident ({:.0} bytes/event)",
        held as f64 / 1e6,
        held as f64 / n
    );
    println!("ratio fold / decode:             {:>10.2}", decode / fold);
    println!("ratio fold / skim:               {:>10.2}", skim / fold);
}

/// Seconds one pass takes; the result is kept alive so the work is not optimised away.
fn timed(pass: impl FnOnce() -> usize) -> f64 {
    let started = Instant::now();
    black_box(pass());
    started.elapsed().as_secs_f64()
}
