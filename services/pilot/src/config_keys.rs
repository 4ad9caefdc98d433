//! The configuration's keys, read off the file's serde types, and the names a key goes by as
//! a `PILOT_*` variable and as a flag of `pilot serve`.
//!
//! There is one list of keys: the structs the TOML file deserializes into. [`keys`] walks them
//! with a deserializer that enters one field at a time and records the field names serde
//! derives (`deserialize_struct`'s `fields`) and what each leaf asks for; [`check`] feeds one
//! value to one key the same way, so a variable's or flag's value is refused with serde's own
//! message before anything else is read. A key added to a struct is a variable and a flag
//! with no other change.
//!
//! The naming rule: the key's path, tables first, joined by `_` and upper-cased after
//! `PILOT_` for the variable, joined by `-` with `_` as `-` for the flag. `[nats] password`
//! is `PILOT_NATS_PASSWORD` and `--nats-password`; `max_body_bytes` is
//! `PILOT_MAX_BODY_BYTES` and `--max-body-bytes`; `[alerts.webhook] url` is
//! `PILOT_ALERTS_WEBHOOK_URL` and `--alerts-webhook-url`.
//!
//! A value is text; how it becomes a TOML value depends on the key: `true`/`false`, a whole
//! number, a number, or the text as it is. A list is comma-separated (`api,projector`) or, for
//! lists of tables or text with commas, a TOML inline array (`[{ name = "desk", ... }]`).

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

/// What a key holds, as far as turning text into it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Integer,
    Float,
    /// Text, a path, an address, or one of a set of names.
    Text,
    /// A list: comma-separated, or a TOML inline array.
    List,
    /// A table of names the file chooses: a TOML inline table.
    Map,
}

impl Kind {
    /// What `--help` shows as the value.
    pub fn value_name(self) -> &'static str {
        match self {
            Kind::Bool => "BOOL",
            Kind::Integer | Kind::Float => "NUMBER",
            Kind::Text => "TEXT",
            Kind::List => "LIST",
            Kind::Map => "TABLE",
        }
    }
}

/// One configuration key: its path of table names and field name, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub path: Vec<&'static str>,
    pub kind: Kind,
}

impl Key {
    /// `nats.password`: how errors and `pilot config check` name the key.
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }

    /// `PILOT_NATS_PASSWORD`.
    pub fn variable(&self) -> String {
        format!("PILOT_{}", self.path.join("_").to_uppercase())
    }

    /// `nats-password` (the flag without its dashes).
    pub fn flag(&self) -> String {
        self.path.join("-").replace('_', "-")
    }

    /// `text` as this key's TOML value, or what is wrong with it; [`check`] then tells whether
    /// the key takes that value.
    pub fn value(&self, text: &str) -> Result<toml::Value, String> {
        let text = text.trim();
        match self.kind {
            Kind::Bool => match text {
                "true" => Ok(toml::Value::Boolean(true)),
                "false" => Ok(toml::Value::Boolean(false)),
                _ => Err(format!("{text:?} is not true or false")),
            },
            Kind::Integer => text
                .parse()
                .map(toml::Value::Integer)
                .map_err(|_| format!("{text:?} is not a whole number")),
            Kind::Float => text
                .parse()
                .map(toml::Value::Float)
                .map_err(|_| format!("{text:?} is not a number")),
            Kind::Text => Ok(toml::Value::String(text.to_string())),
            Kind::List if text.starts_with('[') => inline(text),
            Kind::List => Ok(toml::Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| toml::Value::String(item.to_string()))
                    .collect(),
            )),
            Kind::Map => inline(text),
        }
    }
}

/// A TOML inline array or table, as it would stand after `key = ` in the file.
fn inline(text: &str) -> Result<toml::Value, String> {
    let mut table: toml::Table = toml::from_str(&format!("value = {text}"))
        .map_err(|error| format!("{text:?} is not a TOML inline value: {}", error.message()))?;
    table
        .remove("value")
        .ok_or_else(|| format!("{text:?} is not a TOML inline value"))
}

/// Every key of `T`, tables entered, in the order the structs declare them.
pub fn keys<T: DeserializeOwned>() -> Vec<Key> {
    let mut out = Vec::new();
    walk::<T>(&mut Vec::new(), &mut out);
    out
}

fn walk<T: DeserializeOwned>(path: &mut Vec<&'static str>, out: &mut Vec<Key>) {
    let mode = Mode::Probe(RefCell::new(None));
    let _ = T::deserialize(At {
        rest: path,
        mode: &mode,
    });
    let Mode::Probe(shape) = mode else { return };
    match shape.into_inner() {
        Some(Shape::Table(fields)) => {
            for field in fields {
                path.push(field);
                walk::<T>(path, out);
                path.pop();
            }
        }
        Some(Shape::Leaf(kind)) => out.push(Key {
            path: path.clone(),
            kind,
        }),
        None => {}
    }
}

/// Whether the key at `path` of `T` takes `value`: `Err` with serde's reason if not.
/// Other keys are left out, so a table's required keys do not count here.
pub fn check<T: DeserializeOwned>(path: &[&'static str], value: toml::Value) -> Result<(), String> {
    let mode = Mode::Feed {
        value: RefCell::new(Some(value)),
        refused: RefCell::new(None),
    };
    let _ = T::deserialize(At {
        rest: path,
        mode: &mode,
    });
    match mode {
        Mode::Feed { refused, .. } => refused.into_inner().map_or(Ok(()), Err),
        Mode::Probe(_) => Ok(()),
    }
}

/// What a path leads to.
enum Shape {
    Table(&'static [&'static str]),
    Leaf(Kind),
}

enum Mode {
    /// Find out what the path leads to.
    Probe(RefCell<Option<Shape>>),
    /// Give the value at the path to whatever it leads to; keep serde's refusal.
    Feed {
        value: RefCell<Option<toml::Value>>,
        refused: RefCell<Option<String>>,
    },
}

/// Ends a walk: what was wanted is recorded, or the type is not what the walk expects.
#[derive(Debug)]
struct Stop(String);

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(message: M) -> Self {
        Stop(message.to_string())
    }
}

/// A deserializer standing at `rest` below the current table.
struct At<'a> {
    rest: &'a [&'static str],
    mode: &'a Mode,
}

impl At<'_> {
    /// At the end of the path: record the kind, or hand the value on.
    fn leaf<'de, V: Visitor<'de>>(
        self,
        kind: Kind,
        feed: impl FnOnce(toml::Value, V) -> Result<V::Value, toml::de::Error>,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        if !self.rest.is_empty() {
            return Err(Stop(format!("{} is not a table", self.rest.join("."))));
        }
        match self.mode {
            Mode::Probe(shape) => {
                *shape.borrow_mut() = Some(Shape::Leaf(kind));
                Err(Stop("probed".to_string()))
            }
            Mode::Feed { value, refused } => {
                let Some(value) = value.borrow_mut().take() else {
                    return Err(Stop("fed twice".to_string()));
                };
                feed(value, visitor).map_err(|error| {
                    let message = error.message().to_string();
                    *refused.borrow_mut() = Some(message.clone());
                    Stop(message)
                })
            }
        }
    }
}

/// The field named first in `rest`, and a deserializer for its value.
struct OneField<'a> {
    key: Option<&'static str>,
    value: Option<At<'a>>,
}

impl<'de> MapAccess<'de> for OneField<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(key) => seed
                .deserialize(BorrowedStrDeserializer::new(key))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        match self.value.take() {
            Some(at) => seed.deserialize(at),
            None => Err(Stop("no value".to_string())),
        }
    }
}

/// The deserialize methods of a leaf: each records its kind, or forwards to the TOML value.
macro_rules! leaves {
    ($($method:ident => $kind:expr),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
            self.leaf($kind, |value, visitor| value.$method(visitor), visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for At<'_> {
    type Error = Stop;

    leaves! {
        deserialize_any => Kind::Text,
        deserialize_bool => Kind::Bool,
        deserialize_i8 => Kind::Integer,
        deserialize_i16 => Kind::Integer,
        deserialize_i32 => Kind::Integer,
        deserialize_i64 => Kind::Integer,
        deserialize_i128 => Kind::Integer,
        deserialize_u8 => Kind::Integer,
        deserialize_u16 => Kind::Integer,
        deserialize_u32 => Kind::Integer,
        deserialize_u64 => Kind::Integer,
        deserialize_u128 => Kind::Integer,
        deserialize_f32 => Kind::Float,
        deserialize_f64 => Kind::Float,
        deserialize_char => Kind::Text,
        deserialize_str => Kind::Text,
        deserialize_string => Kind::Text,
        deserialize_bytes => Kind::Text,
        deserialize_byte_buf => Kind::Text,
        deserialize_unit => Kind::Text,
        deserialize_seq => Kind::List,
        deserialize_map => Kind::Map,
        deserialize_identifier => Kind::Text,
        deserialize_ignored_any => Kind::Text,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        // A value is given (or asked about): what it is, is the inner type's business.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(
            Kind::Text,
            |value, visitor| value.deserialize_unit_struct(name, visitor),
            visitor,
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        self.leaf(
            Kind::List,
            |value, visitor| value.deserialize_tuple(len, visitor),
            visitor,
        )
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(
            Kind::List,
            |value, visitor| value.deserialize_tuple_struct(name, len, visitor),
            visitor,
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(
            Kind::Text,
            |value, visitor| value.deserialize_enum(name, variants, visitor),
            visitor,
        )
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        if let Some((first, rest)) = self.rest.split_first() {
            return visitor.visit_map(OneField {
                key: Some(first),
                value: Some(At {
                    rest,
                    mode: self.mode,
                }),
            });
        }
        match self.mode {
            Mode::Probe(shape) => {
                *shape.borrow_mut() = Some(Shape::Table(fields));
                Err(Stop("probed".to_string()))
            }
            Mode::Feed { .. } => self.leaf(
                Kind::Map,
                |value, visitor| value.deserialize_struct(name, fields, visitor),
                visitor,
            ),
        }
    }

    fn is_human_readable(&self) -> bool {
        // As TOML is: addresses and times are text.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        url: String,
        #[serde(default)]
        queue: usize,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        listen: Option<std::net::SocketAddr>,
        open: Option<bool>,
        share: Option<f64>,
        #[serde(default)]
        parts: Vec<String>,
        inner: Option<Inner>,
    }

    #[test]
    fn keys_are_read_off_the_structs_tables_entered() {
        let keys = keys::<Outer>();
        let names: Vec<_> = keys.iter().map(|k| (k.dotted(), k.kind)).collect();
        assert_eq!(
            names,
            [
                ("listen".to_string(), Kind::Text),
                ("open".to_string(), Kind::Bool),
                ("share".to_string(), Kind::Float),
                ("parts".to_string(), Kind::List),
                ("inner.url".to_string(), Kind::Text),
                ("inner.queue".to_string(), Kind::Integer),
            ]
        );
        assert_eq!(keys[4].variable(), "PILOT_INNER_URL");
        assert_eq!(keys[5].flag(), "inner-queue");
    }

    #[test]
    fn a_value_is_checked_against_its_key_alone() {
        let listen = Key {
            path: vec!["listen"],
            kind: Kind::Text,
        };
        assert_eq!(
            check::<Outer>(&listen.path, listen.value("127.0.0.1:9").unwrap()),
            Ok(())
        );
        let error = check::<Outer>(&listen.path, listen.value("nowhere").unwrap()).unwrap_err();
        assert!(error.contains("socket address"), "{error}");
        // `inner.url` is required, but only `inner.queue` is given: no refusal.
        let queue = Key {
            path: vec!["inner", "queue"],
            kind: Kind::Integer,
        };
        assert_eq!(
            check::<Outer>(&queue.path, queue.value("5").unwrap()),
            Ok(())
        );
        let error = check::<Outer>(&queue.path, queue.value("-5").unwrap()).unwrap_err();
        assert!(error.contains("-5"), "{error}");
        assert!(queue.value("five").unwrap_err().contains("whole number"));
    }

    #[test]
    fn lists_are_comma_separated_or_inline_toml() {
        let parts = Key {
            path: vec!["parts"],
            kind: Kind::List,
        };
        let list = parts.value("api, projector").unwrap();
        assert_eq!(list, toml::Value::try_from(["api", "projector"]).unwrap());
        assert_eq!(
            parts.value("[\"a,b\"]").unwrap(),
            toml::Value::try_from(["a,b"]).unwrap()
        );
        assert!(parts
            .value("[unclosed")
            .unwrap_err()
            .contains("TOML inline value"));
    }
}
