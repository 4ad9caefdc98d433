//! A writer's signature travels with the event but outside its hash: signing changes no
//! hash, so history stored unsigned verifies as before.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

mod common;

use pilot_events::decode;

#[test]
fn a_signature_lies_outside_the_hash_and_survives_a_round_trip() {
    let envelope = common::schema_1_samples().remove(0);
    let mut signed = envelope.clone();
    signed.signature = Some(pilot_events::EventSignature {
        key_id: "k1".into(),
        ed25519: "ab".repeat(64),
    });
    assert_eq!(
        signed.computed_hash(),
        envelope.hash,
        "signing changes no hash"
    );
    let bytes = signed.to_json();
    assert_eq!(decode(bytes.as_bytes()).unwrap(), signed);
    let link = pilot_events::ChainVerifier::default()
        .push_link(bytes.as_bytes())
        .unwrap();
    assert_eq!(link.signature, signed.signature);
    // The unsigned bytes still verify as they always did.
    pilot_events::verify_lines([envelope.to_json().as_bytes()]).unwrap();
}
