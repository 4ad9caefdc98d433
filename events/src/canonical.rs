//! Canonical JSON: the exact bytes an event's hash is computed over.
//!
//! Canonical form is the compact serde_json rendering of the JSON value with object keys sorted
//! by their UTF-8 bytes at every depth, no insignificant whitespace, strings escaped the way
//! serde_json escapes them, and numbers as parsed (integers stay integers, floats keep
//! serde_json's shortest round-trip form). `serde_json::Value` keeps maps sorted because this
//! workspace never enables serde_json's `preserve_order` feature; a test guards that.

use serde_json::Value;

/// Canonical bytes of a JSON value.
pub fn to_canonical_bytes(value: &Value) -> Vec<u8> {
    // Writing a Value into a Vec cannot fail: it holds only valid JSON.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth_and_whitespace_dropped() {
        let value: Value =
            serde_json::from_str(r#"{ "b": 1, "a": { "z": [1, 2], "c": "x" } }"#).unwrap();
        assert_eq!(
            String::from_utf8(to_canonical_bytes(&value)).unwrap(),
            r#"{"a":{"c":"x","z":[1,2]},"b":1}"#
        );
    }
}
