//! pilot-tracker's logs: the contracts of the event and alert logs and their two implementations.
//!
//! - [`log`]: the [`log::EventLog`] contract; [`memory`] and [`jetstream`] implement it.
//! - [`layout`]: streams and subjects, created or verified at start-up.
//! - [`version`]: refuses servers older than 2.12.1.
//! - [`seals`]: signed seals of every chain's head on `PILOT_SEALS`.
//! - [`shared`]: [`SharedLog`], any store behind one handle that is not generic (the API's).
//! - [`signing`]: the service's Ed25519 signing key and the public keys that verify it.
//! - [`subject_keys`]: one key per data subject, and the [`subject_keys::Eraser`] that destroys them.
//! - [`sites`]: offices on their own sites (leaf nodes): which chains the centre writes.
//! - [`alerts`]: the [`alerts::AlertLog`] contract: each alert transition recorded at most
//!   once, read back, tailed; [`delivery`]: the durable queue a sink reads it through, and
//!   dead letters. [`memory`] and [`jetstream`] implement both.
//!
//! Folding these logs (the projection, the projector, checkpoints, the writer) is
//! `pilot-runtime`'s job.

pub mod alerts;
pub mod delivery;
pub mod jetstream;
pub mod layout;
pub mod log;
pub mod memory;
pub mod seals;
pub mod shared;
pub mod signing;
pub mod sites;
pub mod subject_keys;
pub mod version;

pub use alerts::AlertLog;
pub use log::{EventLog, LogError, Outgoing, Reachable, Stored};
pub use seals::SealLog;
pub use shared::SharedLog;
