//! Upcasting: lifting stored events of an older schema to the current one on read.
//!
//! Stored history is immutable, so when the wire format changes, old events stay as they were
//! written and each read passes them through one step per version. A step may rename a type
//! or reshape `data`; it never touches the envelope, whose hash still covers the stored bytes.
//!
//! Schema 1 → 2 is [`SCHEMA_1_TO_2`]: an additive step. Schema 2 only adds types and optional
//! fields whose absence keeps schema 1's meaning (a target without `direction` is `at_least`,
//! a metric without `qualifier` is `exact`, an event without `precision` happened at the
//! instant it states), so a schema-1 `data` decodes as schema 2 unchanged and the decoder
//! takes its one-pass path for it. What an additive step still checks, the decoder does:
//! a schema-1 event may not carry anything schema 2 introduced (`EventType::since_schema`,
//! [`crate::validate`]).

use serde_json::Value;

/// A step's work: the stored type name and `data` in, the next schema's type name and `data`
/// out, or a sentence saying why the stored event cannot be lifted.
pub type UpcastFn = fn(event_type: &str, data: Value) -> Result<(String, Value), String>;

/// One step from `from_schema` to the next.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    pub from_schema: u32,
    pub step: Step,
}

/// What one step does to `data`.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Nothing: the next schema only adds optional fields and types, so older `data` is
    /// already valid and means the same.
    Additive,
    /// Reshapes type name and `data`.
    Reshape(UpcastFn),
}

impl Upcaster {
    /// A step that reshapes `data` from `from_schema` to the next.
    pub const fn reshape(from_schema: u32, apply: UpcastFn) -> Upcaster {
        Upcaster {
            from_schema,
            step: Step::Reshape(apply),
        }
    }

    /// Applies the step to a stored type name and `data`.
    pub fn apply(&self, event_type: String, data: Value) -> Result<(String, Value), String> {
        match self.step {
            Step::Additive => Ok((event_type, data)),
            Step::Reshape(apply) => apply(&event_type, data),
        }
    }
}

/// Schema 1 → 2: additive (see the module's documentation).
pub const SCHEMA_1_TO_2: Upcaster = Upcaster {
    from_schema: 1,
    step: Step::Additive,
};

/// The steps this build reads older history with, oldest first.
pub const BUILD_STEPS: &[Upcaster] = &[SCHEMA_1_TO_2];
