//! Canonical JSON: the exact bytes an event's hash is computed over.
//!
//! Canonical form is the compact serde_json rendering of the JSON value with object keys sorted
//! by their UTF-8 bytes at every depth, no insignificant whitespace, strings escaped the way
//! serde_json escapes them, and numbers as parsed (integers stay integers, floats keep
//! serde_json's shortest round-trip form). `serde_json::Value` keeps maps sorted because this
//! workspace never enables serde_json's `preserve_order` feature; a test guards that.
//!
//! [`to_canonical_bytes`] is the definition: render a `Value`. [`write_canonical`] produces the
//! same bytes straight from any `Serialize` type, without building the `Value` tree (one
//! `String` and one map node per field) that the definition goes through: the writer hashes
//! every event it seals, so that tree was a large share of an append's CPU. Scalars are
//! written by serde_json itself, so escaping and number formats cannot drift; each object's
//! fields are written in the order they come and reordered only when that order is not
//! already sorted (struct fields arrive in declaration order, so most objects never move).

use serde::ser::{self, Serialize};
use serde_json::Value;
use thiserror::Error;

/// Canonical bytes of a JSON value.
pub fn to_canonical_bytes(value: &Value) -> Vec<u8> {
    // Writing a Value into a Vec cannot fail: it holds only valid JSON.
    serde_json::to_vec(value).unwrap_or_default()
}

/// A value [`write_canonical`] does not render itself, because the `Value` route treats it
/// in ways of its own (`f32` widened to `f64`, 128-bit integers, map keys that are not text,
/// repeated keys, raw JSON). Callers render such a value through [`to_canonical_bytes`],
/// which stays the definition.
#[derive(Debug, Error)]
#[error("no direct canonical form: {0}")]
pub struct Unsupported(String);

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Unsupported(message.to_string())
    }
}

impl From<serde_json::Error> for Unsupported {
    fn from(error: serde_json::Error) -> Self {
        Unsupported(error.to_string())
    }
}

/// Appends the canonical bytes of `value` to `out`: the bytes [`to_canonical_bytes`] gives
/// for `serde_json::to_value(value)`. On [`Unsupported`], `out` holds a partial rendering
/// and the caller falls back to the `Value` route.
pub fn write_canonical<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), Unsupported> {
    // Sized for an event (a few dozen fields in all, under a kilobyte) so that rendering one
    // grows nothing.
    let mut canon = Canon {
        out,
        entries: Vec::with_capacity(32),
        scratch: Vec::with_capacity(1024),
    };
    value.serialize(&mut canon)
}

/// The rendering state: the output, the fields of every object still open (a stack, so
/// nested objects reuse one allocation), and room to reorder an object's fields.
struct Canon<'a> {
    out: &'a mut Vec<u8>,
    entries: Vec<Entry>,
    scratch: Vec<u8>,
}

/// One field of an open object: its key and where `"key":value` lies in the output.
struct Entry {
    key: Key,
    start: usize,
    end: usize,
}

/// A struct's field names are static; only map keys need an owned copy.
enum Key {
    Static(&'static str),
    Owned(String),
}

impl Key {
    fn as_str(&self) -> &str {
        match self {
            Key::Static(key) => key,
            Key::Owned(key) => key,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl<'a> Canon<'a> {
    /// A scalar, rendered by serde_json itself.
    fn scalar<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        Ok(serde_json::to_writer(&mut *self.out, value)?)
    }

    fn open_object<'c>(&'c mut self, close_variant: bool) -> Object<'c, 'a> {
        self.out.push(b'{');
        let base = self.entries.len();
        let body = self.out.len();
        Object {
            canon: self,
            base,
            body,
            close_variant,
            pending_key: None,
        }
    }

    fn open_array<'c>(&'c mut self, close: &'static [u8]) -> Array<'c, 'a> {
        self.out.push(b'[');
        Array {
            canon: self,
            first: true,
            close,
        }
    }

    /// Opens `{"variant":` for an enum variant that carries content.
    fn variant_key(&mut self, variant: &str) -> Result<(), Unsupported> {
        self.out.push(b'{');
        self.scalar(variant)?;
        self.out.push(b':');
        Ok(())
    }
}

/// An open array; `close` ends it (`]`, or `]}` for a tuple variant).
struct Array<'c, 'a> {
    canon: &'c mut Canon<'a>,
    first: bool,
    close: &'static [u8],
}

impl Array<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        if !self.first {
            self.canon.out.push(b',');
        }
        self.first = false;
        value.serialize(&mut *self.canon)
    }

    fn close(self) -> Result<(), Unsupported> {
        self.canon.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// An open object: its fields are `canon.entries[base..]`, its body starts at `body`.
struct Object<'c, 'a> {
    canon: &'c mut Canon<'a>,
    base: usize,
    body: usize,
    /// Whether a `}` closes an enclosing `{"variant":` too.
    close_variant: bool,
    pending_key: Option<Key>,
}

impl Object<'_, '_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: Key, value: &T) -> Result<(), Unsupported> {
        if self.canon.entries.len() > self.base {
            self.canon.out.push(b',');
        }
        let start = self.canon.out.len();
        self.canon.scalar(key.as_str())?;
        self.canon.out.push(b':');
        value.serialize(&mut *self.canon)?;
        let end = self.canon.out.len();
        self.canon.entries.push(Entry { key, start, end });
        Ok(())
    }

    /// Sorts the fields by key unless they came sorted, and closes the object.
    fn close(self) -> Result<(), Unsupported> {
        let Canon {
            out,
            entries,
            scratch,
        } = self.canon;
        let fields = &mut entries[self.base..];
        if !fields
            .windows(2)
            .all(|w| w[0].key.as_bytes() < w[1].key.as_bytes())
        {
            fields.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
            if fields
                .windows(2)
                .any(|w| w[0].key.as_bytes() == w[1].key.as_bytes())
            {
                return Err(Unsupported("a key repeated in one object".into()));
            }
            scratch.clear();
            scratch.extend_from_slice(&out[self.body..]);
            out.truncate(self.body);
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&scratch[field.start - self.body..field.end - self.body]);
            }
        }
        entries.truncate(self.base);
        out.push(b'}');
        if self.close_variant {
            out.push(b'}');
        }
        Ok(())
    }
}

impl<'c, 'a> ser::Serializer for &'c mut Canon<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Array<'c, 'a>;
    type SerializeTuple = Array<'c, 'a>;
    type SerializeTupleStruct = Array<'c, 'a>;
    type SerializeTupleVariant = Array<'c, 'a>;
    type SerializeMap = Object<'c, 'a>;
    type SerializeStruct = Object<'c, 'a>;
    type SerializeStructVariant = Object<'c, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_i128(self, _: i128) -> Result<(), Unsupported> {
        Err(Unsupported("a 128-bit integer".into()))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_u128(self, _: u128) -> Result<(), Unsupported> {
        Err(Unsupported("a 128-bit integer".into()))
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        Err(Unsupported("an f32 (a Value widens it to f64)".into()))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        // A Value holds a non-finite float as null; serde_json writes it as null too.
        self.scalar(&v)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.scalar(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        // A Value holds bytes as an array of numbers.
        let mut array = self.open_array(b"]");
        for byte in v {
            array.element(byte)?;
        }
        array.close()
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.scalar(&())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.scalar(&())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.scalar(&())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.scalar(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.variant_key(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Array<'c, 'a>, Unsupported> {
        Ok(self.open_array(b"]"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Array<'c, 'a>, Unsupported> {
        Ok(self.open_array(b"]"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Array<'c, 'a>, Unsupported> {
        Ok(self.open_array(b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Array<'c, 'a>, Unsupported> {
        self.variant_key(variant)?;
        Ok(self.open_array(b"]}"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'c, 'a>, Unsupported> {
        Ok(self.open_object(false))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Object<'c, 'a>, Unsupported> {
        if name.starts_with("$serde_json::private::") {
            return Err(Unsupported("raw JSON".into()));
        }
        Ok(self.open_object(false))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Object<'c, 'a>, Unsupported> {
        self.variant_key(variant)?;
        Ok(self.open_object(true))
    }
}

impl ser::SerializeSeq for Array<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

impl ser::SerializeTuple for Array<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Array<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Array<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

impl ser::SerializeMap for Object<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.pending_key = Some(Key::Owned(key.serialize(MapKey)?));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| Unsupported("a map value without its key".into()))?;
        self.field(key, value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

impl ser::SerializeStruct for Object<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.field(Key::Static(key), value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Object<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.field(Key::Static(key), value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close()
    }
}

/// Map keys: text only (a `Value` turns other keys into text in ways of its own).
struct MapKey;

impl ser::Serializer for MapKey {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<String, Unsupported>;
    type SerializeTuple = ser::Impossible<String, Unsupported>;
    type SerializeTupleStruct = ser::Impossible<String, Unsupported>;
    type SerializeTupleVariant = ser::Impossible<String, Unsupported>;
    type SerializeMap = ser::Impossible<String, Unsupported>;
    type SerializeStruct = ser::Impossible<String, Unsupported>;
    type SerializeStructVariant = ser::Impossible<String, Unsupported>;

    fn serialize_str(self, v: &str) -> Result<String, Unsupported> {
        Ok(v.to_owned())
    }
    fn serialize_bool(self, _: bool) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_i8(self, _: i8) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_i16(self, _: i16) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_i32(self, _: i32) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_i64(self, _: i64) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_u8(self, _: u8) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_u16(self, _: u16) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_u32(self, _: u32) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_u64(self, _: u64) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_f32(self, _: f32) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_f64(self, _: f64) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_char(self, _: char) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_none(self) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_unit(self) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Unsupported> {
        Err(not_text())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(not_text())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(not_text())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(not_text())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(not_text())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(not_text())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        Err(not_text())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(not_text())
    }
}

fn not_text() -> Unsupported {
    Unsupported("a map key that is not text".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[test]
    fn keys_are_sorted_at_every_depth_and_whitespace_dropped() {
        let value: Value =
            serde_json::from_str(r#"{ "b": 1, "a": { "z": [1, 2], "c": "x" } }"#).unwrap();
        assert_eq!(
            String::from_utf8(to_canonical_bytes(&value)).unwrap(),
            r#"{"a":{"c":"x","z":[1,2]},"b":1}"#
        );
    }

    /// The direct rendering against the definition: through a `Value`.
    fn same_as_value<T: Serialize>(value: &T) {
        let mut direct = Vec::new();
        write_canonical(value, &mut direct).unwrap();
        let defined = to_canonical_bytes(&serde_json::to_value(value).unwrap());
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(defined).unwrap()
        );
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { zeta: bool, alpha: Option<u8> },
    }

    #[derive(Serialize)]
    struct Unsorted<'a> {
        zulu: &'a str,
        alpha: Vec<Shape>,
        mike: BTreeMap<String, Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        bravo: Option<f64>,
        charlie: f64,
        delta: Option<u64>,
        echo: (i64, char),
        #[serde(with = "serde_bytes_as_seq")]
        foxtrot: Vec<u8>,
    }

    mod serde_bytes_as_seq {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn direct_rendering_matches_the_value_route() {
        let mike: BTreeMap<String, Value> = serde_json::from_str(
            r#"{"b\"q": {"y": [1, -2, 3.5e300, "\u0001"], "x": null}, "a": true, "é": 0.1, "Z": {}}"#,
        )
        .unwrap();
        same_as_value(&Unsorted {
            zulu: "tab\there \"quoted\" \\ é 漢 \u{7f} \u{1}",
            alpha: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, "t".into()),
                Shape::Struct {
                    zeta: true,
                    alpha: None,
                },
            ],
            mike,
            bravo: None,
            charlie: f64::NAN,
            delta: Some(u64::MAX),
            echo: (i64::MIN, '"'),
            foxtrot: vec![0, 255],
        });
        same_as_value(&vec![1.0f64, 0.30000000000000004, 1e-7, -0.0]);
        same_as_value(&BTreeMap::<String, u8>::new());
    }

    #[test]
    fn what_a_value_treats_its_own_way_is_left_to_the_value_route() {
        assert!(write_canonical(&1.5f32, &mut Vec::new()).is_err());
        assert!(write_canonical(&u128::MAX, &mut Vec::new()).is_err());
        let numbered: BTreeMap<u8, u8> = [(1, 2)].into();
        assert!(write_canonical(&numbered, &mut Vec::new()).is_err());
    }
}
