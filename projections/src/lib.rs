//! Pure projections of pilot-tracker: every read model is a fold over stored events.
//!
//! - [`world::World`] takes stored events one at a time in stream order and keeps every
//!   projection current: pilots ([`pilot`]), stakeholder support ([`support`]), the
//!   political-highlight ledger ([`ledger`]) and the stakeholder [`registry`].
//! - [`decide`] says whether an event may join its chain, with typed refusals, from the log
//!   alone; [`admission`] adds the rules for new events only, and [`stall_terms`] what the writer
//!   records on a new request so that its deadline is in the log; [`late`] says which events
//!   may be facts learned late and the stage such a fact is judged against.
//! - [`stall`], [`calendar`] and [`alert`] compute stalled approvals and drive the alert
//!   lifecycle from a clock value, never from the wall clock.
//! - [`alerting`] keeps every alert in an [`AlertBook`], fed by the log and a clock, and
//!   replays history with a simulated clock ([`alerting::replay`]).
//! - [`people`] adds a post's ledger lines to the people who held it; [`targets`] judges
//!   target outcomes at an instant.
//! - [`retention`] plans when the retention rules erase each person's personal data.
//! - [`view`] answers "as of" and "as known at" questions; [`analytics`] compares many pilots
//!   as of a date.
//!
//! Nothing here does IO or knows about NATS, tokio or HTTP; projections never publish.

pub mod admission;
pub mod alert;
pub mod alerting;
pub mod analytics;
pub mod calendar;
pub mod chain_log;
pub mod decide;
pub mod jurisdiction;
pub mod late;
pub mod ledger;
pub mod people;
pub mod period;
pub mod pilot;
pub mod registry;
pub mod retention;
pub mod seen;
pub mod snapshot;
pub mod stall;
pub mod stall_terms;
pub mod support;
pub mod synthetic;
pub mod targets;
pub mod view;
pub mod world;

pub use alerting::{
    replay, AlertBook, AlertEvent, AlertHistory, AlertNotice, AlertRefusal, AlertView, BookError,
    Observed, Replay, StateCounts, StateKind,
};
pub use decide::Refusal;
pub use view::{AsOf, ChainNotLoaded, PilotView};
pub use world::{Applied, PilotRecord, ProjectionError, World};
