//! pilot-tracker's event store: NATS JetStream as the system of record.
//!
//! - [`log`]: the [`log::EventLog`] contract; [`memory`] and [`jetstream`] implement it.
//! - [`layout`]: streams and subjects, created or verified at start-up.
//! - [`version`]: refuses servers older than 2.12.1.
//! - [`seals`]: signed seals of every chain's head on `PILOT_SEALS`.
//! - [`shared`]: [`SharedLog`], any store behind one handle that is not generic (the API's).
//! - [`signing`]: the service's Ed25519 signing key and the public keys that verify it.
//! - [`checkpoint`]: checkpoints sealed with a MAC and proven against the log before use.
//! - [`alerts`]: the [`alerts::AlertLog`] contract: each alert transition recorded at most
//!   once, read back, tailed; [`delivery`]: the durable queue a sink reads it through, and
//!   dead letters. [`memory`] and [`jetstream`] implement both.

pub mod alert_fold;
pub mod alert_follow;
pub mod alerts;
pub mod checkpoint;
pub mod delivery;
pub mod follow;
pub mod jetstream;
pub mod layout;
pub mod log;
pub mod memory;
pub mod projection;
pub mod projector;
pub mod runtime;
pub mod seals;
pub mod shared;
pub mod signing;
pub mod version;
pub mod writer;

pub use alerts::AlertLog;
pub use log::{EventLog, LogError, Outgoing, Reachable, Stored};
pub use seals::SealLog;
pub use shared::SharedLog;
