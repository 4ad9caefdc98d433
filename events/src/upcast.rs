//! Upcasting: lifting stored events of an older schema to the current one on read.
//!
//! Stored history is immutable, so when the wire format changes (schema 2, ...), old events
//! stay as they were written and each read passes them through one step per version. A step
//! may rename a type or reshape `data`; it never touches the envelope, whose hash still covers
//! the stored bytes.

use serde_json::Value;

/// A step's work: the stored type name and `data` in, the next schema's type name and `data`
/// out, or a sentence saying why the stored event cannot be lifted.
pub type UpcastFn = fn(event_type: &str, data: Value) -> Result<(String, Value), String>;

/// One step: reads `data` of `from_schema` and returns the type name and `data` of the next.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    pub from_schema: u32,
    pub apply: UpcastFn,
}
