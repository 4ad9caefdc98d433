//! The synthetic generator: deterministic by seed, and every generated event is accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use pilot_events::{decode, verify_lines, Stage};
use pilot_projections::synthetic::{history, history_json, Shape};
use pilot_projections::World;

const SHAPE: Shape = Shape {
    pilots: 20,
    events_per_pilot: 60,
    stakeholders: 12,
    seed: 42,
};

#[test]
fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    assert_eq!(history(SHAPE), history(SHAPE));
    assert_ne!(
        history(SHAPE)[20].hash,
        history(Shape { seed: 43, ..SHAPE })[20].hash
    );
}

#[test]
fn every_generated_event_is_accepted_and_chains_verify() {
    let lines = history_json(SHAPE);
    assert_eq!(lines.len(), 12 + 20 * 60);
    verify_lines(lines.iter().map(Vec::as_slice)).unwrap();
    let mut world = World::new();
    for (i, line) in lines.iter().enumerate() {
        world.apply(i as u64 + 1, decode(line).unwrap()).unwrap();
    }
    assert_eq!(world.pilots().count(), 20);
    assert!(world
        .pilots()
        .all(|p| p.state.stage == Stage::Implementing && p.state.version == 60));
    assert!(!world.ledger().is_empty());
}
