//! SHA-256 hashes as they appear on the wire: 64 lowercase hex digits.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A SHA-256 digest. The first event of a chain has `prev_hash` = [`Hash::ZERO`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Hash {
        use sha2::Digest;
        Hash(sha2::Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        self.hex_digits()
            .iter()
            .map(|&digit| char::from(digit))
            .collect()
    }

    /// The 64 lowercase hex digits on the stack: every event written carries two hashes, so
    /// serializing one allocates nothing.
    fn hex_digits(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        out
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Option<Hash> {
        let bytes: &[u8; 64] = text.as_bytes().try_into().ok()?;
        let mut out = [0u8; 32];
        let mut invalid = 0u8;
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let (high, low) = (
                HEX_VALUE[usize::from(pair[0])],
                HEX_VALUE[usize::from(pair[1])],
            );
            invalid |= (high | low) & 0x80;
            out[i] = (high << 4) | (low & 0x0f);
        }
        (invalid == 0).then_some(Hash(out))
    }
}

/// Hex digit values; 0x80 marks a byte that is not a hex digit. A table, because every stored
/// event carries two hashes and this runs on every read.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.hex_digits();
        f.write_str(std::str::from_utf8(&digits).unwrap_or_default())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let digits = self.hex_digits();
        // Hex digits are ASCII, so this is always text.
        serializer.serialize_str(std::str::from_utf8(&digits).unwrap_or_default())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(HexVisitor)
    }
}

/// A hash as the OpenAPI document describes it: text, 64 hex digits (either case is read,
/// lower case is written).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Hash {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-fA-F]{64}$"))
            .description(Some("A SHA-256 hash as 64 hex digits."))
            .examples(["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Hash {}

/// Reads the hex text in place: hashes are on every event, so no allocation per hash.
struct HexVisitor;

impl serde::de::Visitor<'_> for HexVisitor {
    type Value = Hash;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SHA-256 hash as 64 hex digits")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Hash, E> {
        Hash::from_hex(text).ok_or_else(|| {
            E::custom(format!(
                "`{text}` is not a SHA-256 hash (expected 64 hex digits)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_matches_the_standard_vector() {
        assert_eq!(
            Hash::of(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_digits() {
        let hash = Hash::of(b"nanguo");
        assert_eq!(Hash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(Hash::from_hex(&"g".repeat(64)), None);
        assert_eq!(Hash::from_hex("00"), None);
    }
}
