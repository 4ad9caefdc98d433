//! Checkpoints: a world restored from a snapshot and fed the rest of the log equals the world
//! that folded the whole log, and loads a chain when a retraction or a past view needs it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod scenario;

use pilot_events::Strategy;
use pilot_projections::snapshot::{SnapshotError, MAGIC, SNAPSHOT_FORMAT};
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
    let bytes = first_half.snapshot().unwrap();
    let mut restored = World::restore(&bytes).unwrap();
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

    let mut restored = World::restore(&s.world.snapshot().unwrap()).unwrap();
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
    let mut bytes = World::new().snapshot().unwrap();
    bytes[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&99u32.to_le_bytes());
    assert!(matches!(
        World::restore(&bytes),
        Err(SnapshotError::Format { found: 99 })
    ));
    // A snapshot of an earlier build, in JSON: no snapshot at all for this one.
    let json = br#"{"format":4,"position":0,"seen":[]}"#;
    assert!(matches!(
        World::restore(json),
        Err(SnapshotError::NotASnapshot)
    ));
    assert_eq!(bytes[..MAGIC.len()], MAGIC[..]);
    assert_ne!(SNAPSHOT_FORMAT, 99);
}

#[test]
fn a_snapshot_reads_back_as_the_same_world_and_the_same_bytes() {
    let lines = history_json(SHAPE);
    let mut world = World::new();
    fold(&mut world, &lines, 0);
    let bytes = world.snapshot().unwrap();
    let restored = World::restore(&bytes).unwrap();
    same(&world, &restored);
    assert_eq!(restored.snapshot().unwrap(), bytes);
    let decoder = pilot_events::Decoder::default();
    for (i, line) in lines.iter().enumerate() {
        let event_id = decoder.decode(line).unwrap().event_id;
        assert_eq!(restored.position_of(&event_id), Some(i as u64 + 1));
    }
    assert_eq!(restored.position_of(&uuid::Uuid::new_v4()), None);
}

#[test]
fn the_same_world_gives_the_same_bytes_whatever_its_maps_order() {
    // Two folds of one log: each map has its own random order, the bytes do not.
    let lines = history_json(SHAPE);
    let (mut one, mut two) = (World::new(), World::new());
    fold(&mut one, &lines, 0);
    fold(&mut two, &lines, 0);
    assert_eq!(one.snapshot().unwrap(), two.snapshot().unwrap());
}

#[test]
fn many_pilots_decoded_in_parallel_read_back_in_order() {
    let lines = history_json(Shape {
        pilots: 150,
        events_per_pilot: 8,
        stakeholders: 9,
        seed: 11,
    });
    let mut world = World::new();
    fold(&mut world, &lines, 0);
    let bytes = world.snapshot().unwrap();
    let restored = World::restore(&bytes).unwrap();
    same(&world, &restored);
    assert_eq!(restored.snapshot().unwrap(), bytes);
}

#[test]
fn a_cut_or_damaged_snapshot_is_an_error_never_a_panic() {
    let lines = history_json(SHAPE);
    let mut world = World::new();
    fold(&mut world, &lines[..lines.len() / 3], 0);
    let bytes = world.snapshot().unwrap();
    for cut in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        assert!(World::restore(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        World::restore(&longer),
        Err(SnapshotError::Trailing(1))
    ));
    // Flipped bytes past the header: an error or, where the damage still reads, some world;
    // a MAC over the body (docs/storage.md) is what refuses those.
    for at in (8..bytes.len()).step_by(89) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xa5;
        let _ = World::restore(&damaged);
    }
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

    let mut restored = World::restore(&s.world.snapshot().unwrap()).unwrap();
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
