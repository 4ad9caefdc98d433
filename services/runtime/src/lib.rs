//! pilot-tracker's projection runtime: the one fold of the logs that `pilot-store` keeps.
//!
//! - [`runtime`]: opens the one [`projection::Projection`] from its checkpoint and follows the
//!   event log and the alert stream into it.
//! - [`projection`]: the live fold: one `World`, the alert book ([`alert_fold`]) and the
//!   stream positions readers and writers wait for.
//! - [`projector`]: applying stored events, catching up, opening from and saving a checkpoint;
//!   [`follow`]: following JetStream with a durable consumer, rebuilding, lag.
//! - [`alert_follow`]: the alert stream followed into the alert fold.
//! - [`checkpoint`]: checkpoints sealed with a MAC and proven against the log before use.
//! - [`sealing`]: persons' personal fields sealed on write, forged tokens refused.
//! - [`draft`]: a writer's draft and the append path's [`draft::AppendError`].
//! - [`writer`]: decides, signs and appends, reading the projection for read-your-writes.

pub mod alert_fold;
pub mod alert_follow;
pub mod checkpoint;
pub mod draft;
pub mod follow;
pub mod projection;
pub mod projector;
pub mod runtime;
pub mod sealing;
pub mod writer;
