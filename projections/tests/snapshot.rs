//! Checkpoints: a world restored from a snapshot and fed the rest of the log equals the world
//! that folded the whole log, and loads a chain when a retraction or a past view needs it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::Strategy;
use pilot_projections::snapshot::Snapshot;
use pilot_projections::synthetic::{history_json, Shape};
use pilot_projections::{AsOf, ProjectionError, World};
use scenario::*;

const SHAPE: Shape = Shape {
    pilots: 12,
    events_per_pilot: 40,
    stakeholders: 9,
    seed: 5,
};

fn fold(world: &mut World, lines: &[Vec<u8>], from: usize) {
    for (i, line) in lines.iter().enumerate().skip(from) {
        world.apply_stored(i as u64 + 1, line).unwrap();
    }
}

fn same(a: &World, b: &World) {
    assert_eq!(a.position(), b.position());
    let mut ids: Vec<_> = a.pilots().map(|p| p.state.pilot_id).collect();
    ids.sort();
    for id in ids {
        assert_eq!(a.pilot_view(&id), b.pilot_view(&id), "pilot {id}");
    }
    assert_eq!(
        a.ledger().lines().collect::<Vec<_>>(),
        b.ledger().lines().collect::<Vec<_>>()
    );
    assert_eq!(a.registry().all(), b.registry().all());
}

#[test]
fn a_restored_world_fed_the_rest_equals_a_full_fold() {
    let lines = history_json(SHAPE);
    let mut full = World::new();
    fold(&mut full, &lines, 0);

    let half = lines.len() / 2;
    let mut first_half = World::new();
    fold(&mut first_half, &lines[..half], 0);
    let json = serde_json::to_vec(&first_half.snapshot()).unwrap();
    let snapshot: Snapshot = serde_json::from_slice(&json).unwrap();
    let mut restored = World::restore(snapshot).unwrap();
    assert_eq!(restored.position(), half as u64);
    // Everything up to the snapshot is a duplicate: nothing is applied twice.
    assert_eq!(
        restored.apply_stored(1, &lines[0]).unwrap(),
        pilot_projections::Applied::Duplicate
    );
    fold(&mut restored, &lines, half);
    same(&full, &restored);
}

#[test]
fn a_retraction_after_a_restore_asks_for_its_chain_then_applies() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    let contact = s.envelope(p, contact(mayor, -2, Strategy::Pressure));
    let contact_id = contact.event_id;
    s.feed(contact).unwrap();
    let stored: Vec<(u64, Vec<u8>)> = s
        .world
        .pilot(&p.id())
        .unwrap()
        .history
        .raw()
        .map(|(at, b)| (at, b.to_vec()))
        .collect();

    let mut restored = World::restore(s.world.snapshot()).unwrap();
    let when = AsOf::default();
    assert!(
        restored.pilot_view_at(&p.id(), when).is_err(),
        "a past view needs the chain"
    );
    let retraction = s.envelope(p, retracted(contact_id));
    let position = restored.position() + 1;
    match restored.apply(position, retraction.clone()) {
        Err(ProjectionError::NeedsChain {
            pilot_id,
            position: at,
        }) => assert_eq!((pilot_id, at), (p.id(), position)),
        other => panic!("expected NeedsChain, got {other:?}"),
    }
    assert_eq!(restored.position(), position - 1, "nothing consumed");
    restored.load_chain(p.id(), stored.iter().map(|(at, b)| (*at, b.as_slice())));
    restored.apply(position, retraction).unwrap();
    assert!(restored
        .pilot(&p.id())
        .unwrap()
        .support
        .stakeholders
        .get(&mayor)
        .is_none_or(|s| s.stance.is_none()));
    assert!(restored.pilot_view_at(&p.id(), when).unwrap().is_some());
}

#[test]
fn a_snapshot_of_another_format_is_refused() {
    let world = World::new();
    let mut value = serde_json::to_value(world.snapshot()).unwrap();
    value["format"] = serde_json::json!(99);
    let snapshot: Snapshot = serde_json::from_value(value).unwrap();
    assert!(World::restore(snapshot).is_err());
}

#[test]
fn a_loaded_chain_leaves_out_refused_messages_and_needs_every_event_applied() {
    let mut s = Scenario::default();
    let mayor = s.stakeholder("Mayor", 5);
    let p = s.pilot();
    s.given(p, contact(mayor, 1, Strategy::Framing));
    // A refused message on the chain's subject: it consumes a position but is no event of p.
    let refused = s.envelope(p, designed()).seal(pilot_events::Hash::ZERO);
    assert!(s.feed(refused.clone()).is_err());
    let mut stored: Vec<(u64, Vec<u8>)> = s
        .world
        .pilot(&p.id())
        .unwrap()
        .history
        .raw()
        .map(|(at, b)| (at, b.to_vec()))
        .collect();
    stored.push((s.world.position(), refused.to_json().into_bytes()));
    stored.sort();

    let mut restored = World::restore(s.world.snapshot()).unwrap();
    // An event applied after the chain was read from the store: the unloaded log keeps no
    // bytes of it, so that read alone is not the whole chain.
    let later = s.envelope(p, contact(mayor, 2, Strategy::Marketing));
    let later_position = restored.position() + 1;
    restored.apply(later_position, later.clone()).unwrap();
    assert!(!restored.chain_loaded(&p.id()));
    let held = restored.pilot(&p.id()).unwrap().history.held_bytes();
    assert_eq!(held, 0, "an unloaded chain holds no bytes as events arrive");
    restored.load_chain(p.id(), stored.iter().map(|(at, b)| (*at, b.as_slice())));
    assert!(!restored.chain_loaded(&p.id()), "the read ended too early");

    // Reading on from where the first read ended gives the whole chain.
    stored.push((later_position, later.to_json().into_bytes()));
    restored.load_chain(p.id(), stored.iter().map(|(at, b)| (*at, b.as_slice())));
    assert!(restored.chain_loaded(&p.id()));
    let ids: Vec<_> = restored
        .pilot(&p.id())
        .unwrap()
        .history
        .iter()
        .map(|(_, e)| e.event_id)
        .collect();
    assert!(
        !ids.contains(&refused.event_id),
        "the refused message is not part of the chain"
    );
    assert_eq!(ids.last(), Some(&later.event_id));
    assert_eq!(
        ids.len() as u64,
        restored.pilot(&p.id()).unwrap().state.version
    );
}

#[test]
fn a_world_without_chain_bytes_loads_chains_and_lets_the_oldest_go() {
    let lines = history_json(SHAPE);
    let mut kept = World::new();
    fold(&mut kept, &lines, 0);
    let mut lean = World::new().without_chain_bytes();
    fold(&mut lean, &lines, 0);
    same(&kept, &lean);
    let pilots: Vec<_> = kept.pilots().map(|p| p.state.pilot_id).take(3).collect();
    assert!(pilots.iter().all(|id| !lean.chain_loaded(id)));
    assert_eq!(lean.trim_chains(0), 0, "nothing loaded, nothing held");

    for id in &pilots {
        let chain = &kept.pilot(id).unwrap().history;
        lean.load_chain(*id, chain.raw());
        assert!(lean.chain_loaded(id));
        let events = |w: &World| -> Vec<_> {
            w.pilot(id)
                .unwrap()
                .history
                .iter()
                .map(|(at, e)| (at, e.event_id))
                .collect()
        };
        assert_eq!(events(&lean), events(&kept));
    }
    // A bound that holds one chain keeps the one loaded last.
    let one = lean.pilot(&pilots[2]).unwrap().history.held_bytes();
    assert_eq!(lean.trim_chains(one), one);
    assert!(!lean.chain_loaded(&pilots[0]));
    assert!(!lean.chain_loaded(&pilots[1]));
    assert!(lean.chain_loaded(&pilots[2]));
}
