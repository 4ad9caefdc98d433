//! Decode-and-fold throughput: JSON bytes of a synthetic history through every projection,
//! measured side by side with a bare decode-and-count loop over the same bytes.
//!
//! Run: `cargo bench -p pilot-projections --bench fold` (add `-- EVENTS` to change the size;
//! default 1,000,000). Single-threaded: the figure is per core.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a bench reports on stdout

use pilot_projections::stall::StallRules;
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
    println!(
        "generated {} events ({} pilots, {:.0} bytes/event) in {:.1}s",
        lines.len(),
        pilots,
        bytes as f64 / lines.len() as f64,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut count = 0usize;
    for line in &lines {
        if pilot_events::decode(line).is_ok() {
            count += 1;
        }
    }
    let decode_secs = started.elapsed().as_secs_f64();
    black_box(count);

    let started = Instant::now();
    let mut world = World::new(StallRules::default());
    for (i, line) in lines.iter().enumerate() {
        let envelope = pilot_events::decode(line).expect("synthetic events decode");
        world
            .apply(i as u64 + 1, envelope)
            .expect("synthetic events are valid");
    }
    let fold_secs = started.elapsed().as_secs_f64();
    black_box(world.position());

    let n = lines.len() as f64;
    println!(
        "decode and count:            {:>10.0} events/s",
        n / decode_secs
    );
    println!(
        "decode and fold (all views): {:>10.0} events/s",
        n / fold_secs
    );
    println!(
        "ratio fold / bare decode:    {:>10.2}",
        decode_secs / fold_secs
    );
}
