//! The pilot-tracker event catalogue (docs/domain.md; schema version 2, reading schema 1).
//!
//! This crate is the public wire format and nothing else: serde types for every event type,
//! decoding with precise errors, upcasting of older schemas, validation of single events, the
//! stricter admission rules for new events, canonical JSON, the SHA-256 hash chain, and a
//! description of every type's fields for forms ([`fields`]). It does no IO and knows nothing of NATS, tokio
//! or HTTP, so every rule here is tested in microseconds.

pub mod admit;
pub mod canonical;
pub mod chain;
pub mod data;
mod decode;
mod envelope;
mod error;
mod event;
pub mod fields;
mod hash;
mod instant;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod personal;
#[cfg(feature = "openapi")]
mod schema_kit;
pub mod seal;
pub mod upcast;
pub mod validate;
pub mod vocabulary;

pub use chain::{verify_lines, verify_next, BrokenLink, ChainReport, ChainVerifier, VerifiedLink};
pub use decode::{decode, Decoder};
pub use envelope::{Actor, Envelope, EventSignature, Provenance, Source, Subject, CURRENT_SCHEMA};
pub use error::EventError;
pub use event::{Event, EventType, SubjectKind};
pub use hash::Hash;
pub use instant::rfc3339;
pub use vocabulary::{
    AdoptionMechanism, Channel, ContextKind, Direction, HighlightKind, Level, LinkRelation,
    Precision, Qualifier, Stage, StakeholderKind, Strategy,
};
