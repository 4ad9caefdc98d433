//! JSON Schemas of the wire format, for the HTTP API's OpenAPI document (feature `openapi`).
//!
//! Built from the catalogue ([`EventType::ALL`] and each type's data struct), so a new event
//! type appears in the document with its own schemas and nothing here changes:
//! - `EventType`: the wire names, a closed list;
//! - `Draft`: what a writer sends, `oneOf` one `<Variant>Draft` per type, discriminated by
//!   `type`, each with that type's `data` schema (so a client generator can type a draft);
//! - `Event`: a sealed event as stored, `oneOf` one `<Variant>Event` per type, whose chain id
//!   (`pilot_id`, `stakeholder_id` or `jurisdiction_id`) is required as the catalogue says.
//!
//! The envelope's fields are those of `envelope::WireOut`; the golden fixtures are checked
//! against these schemas (services/pilot/tests/openapi.rs), so the two cannot drift apart.

use crate::envelope::{Actor, EventSignature, Source};
use crate::event::{EventType, SubjectKind};
use crate::hash::Hash;
use crate::vocabulary::Precision;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, Discriminator, KnownFormat, ObjectBuilder, OneOfBuilder,
    Ref, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

pub use crate::schema_kit::Schemas;

/// The component name of the `oneOf` over every draft.
pub const DRAFT: &str = "Draft";
/// The component name of the `oneOf` over every stored event.
pub const EVENT: &str = "Event";
/// The component name of the closed list of event types.
pub const EVENT_TYPE: &str = "EventType";

/// A request body or answer of one draft or stored event, typed per `type`: the `Draft` or
/// `Event` component, which brings every wire schema along ([`schemas`]).
macro_rules! whole_schema {
    ($(#[$meta:meta])* $type:ident => $name:ident) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $type;

        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                Ref::from_schema_name($name).into()
            }
        }

        impl ToSchema for $type {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn schemas(out: &mut Schemas) {
                out.extend(schemas());
            }
        }
    };
}

whole_schema!(
    /// `Draft`: one event as a writer sends it.
    DraftSchema => DRAFT
);
whole_schema!(
    /// `Event`: one sealed event as stored.
    EventSchema => EVENT
);

/// The two shapes an event takes on the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Sent by a writer: without what the store sets (`recorded_at`, `prev_hash`, `hash`,
    /// `signature`); `event_id` and `schema` may be left out, and so may the chain id on a
    /// pilot's own path.
    Draft,
    /// Sealed, as stored and served.
    Stored,
}

impl Shape {
    fn suffix(self) -> &'static str {
        match self {
            Shape::Draft => "Draft",
            Shape::Stored => "Event",
        }
    }
}

/// Every schema of the wire format, each named once: `EventType`, `Draft`, `Event`, one draft
/// and one stored schema per event type, each type's `data` and what they refer to.
pub fn schemas() -> Schemas {
    let mut schemas = Schemas::new();
    schemas.push((EVENT_TYPE.to_string(), event_type_schema()));
    for shared in [
        (Actor::name(), Actor::schema()),
        (EventSignature::name(), EventSignature::schema()),
        (Source::name(), Source::schema()),
        (Precision::name(), Precision::schema()),
        (Hash::name(), Hash::schema()),
    ] {
        schemas.push((shared.0.into_owned(), shared.1));
    }
    Source::schemas(&mut schemas);
    for shape in [Shape::Draft, Shape::Stored] {
        let mut one_of = OneOfBuilder::new();
        let mut discriminator = Discriminator::new("type");
        for event_type in EventType::ALL {
            let data = event_type.data_schema(&mut schemas);
            let name = format!("{}{}", event_type.variant_name(), shape.suffix());
            schemas.push((name.clone(), one_type(*event_type, &data, shape)));
            let reference = format!("#/components/schemas/{name}");
            discriminator
                .mapping
                .insert(event_type.as_str().to_string(), reference.clone());
            one_of = one_of.item(Ref::new(reference));
        }
        let (name, description) = match shape {
            Shape::Draft => (
                DRAFT,
                "An event as a writer sends it: the wire envelope without `recorded_at`, \
                 `prev_hash`, `hash` and `signature`, which the store sets. Without `event_id` \
                 the store makes a UUID v7 (bring one to make retries idempotent); `schema` \
                 defaults to the current one. One schema per `type`.",
            ),
            Shape::Stored => (
                EVENT,
                "A sealed event in the wire format (docs/wire-format.md), exactly as stored. \
                 One schema per `type`.",
            ),
        };
        let one_of = one_of
            .discriminator(Some(discriminator))
            .description(Some(description));
        schemas.push((name.to_string(), Schema::OneOf(one_of.build()).into()));
    }
    // Vocabulary enums and newtypes are reached from several data structs: name each once.
    let mut seen = std::collections::HashSet::new();
    schemas.retain(|(name, _)| seen.insert(name.clone()));
    schemas
}

/// `type`: one of the catalogue's wire names.
fn event_type_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(EventType::ALL.iter().map(|t| t.as_str())))
        .description(Some(
            "An event's `type`: one of the catalogue's wire names.",
        ))
        .into()
}

fn uuid() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

fn instant() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
}

fn reference<T: ToSchema>() -> Ref {
    Ref::from_schema_name(T::name())
}

/// One event type's envelope in one shape, with its own `data` schema (`data` names it).
fn one_type(event_type: EventType, data: &str, shape: Shape) -> RefOr<Schema> {
    let stored = shape == Shape::Stored;
    let wire = event_type.as_str();
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .title(Some(format!("{wire} ({})", shape.suffix().to_lowercase())))
        .property("event_id", uuid())
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([wire])),
        )
        .property(
            "schema",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(crate::CURRENT_SCHEMA)),
        )
        .property("pilot_id", uuid())
        .property("stakeholder_id", uuid())
        .property("jurisdiction_id", uuid())
        .property("occurred_at", instant());
    if stored {
        object = object.property("recorded_at", instant());
    }
    object = object
        .property("actor", reference::<Actor>())
        .property("correlation_id", uuid())
        .property("causation_id", uuid());
    if stored {
        object = object
            .property("prev_hash", reference::<Hash>())
            .property("hash", reference::<Hash>())
            .property("signature", reference::<EventSignature>());
    }
    object = object
        .property("precision", reference::<Precision>())
        .property("source", reference::<Source>())
        .property("context_ids", ArrayBuilder::new().items(uuid()))
        .property("data", Ref::from_schema_name(data));
    let required: &[&str] = match shape {
        Shape::Draft => &["type", "occurred_at", "actor", "data"],
        Shape::Stored => &[
            "event_id",
            "type",
            "schema",
            "occurred_at",
            "recorded_at",
            "actor",
            "prev_hash",
            "hash",
            "data",
        ],
    };
    for field in required {
        object = object.required(*field);
    }
    if stored {
        // The chain an event lives in is named by the id its kind requires; a draft sent to
        // a pilot's own path may leave `pilot_id` out.
        let chain = match event_type.subject_kind() {
            SubjectKind::Pilot => Some("pilot_id"),
            SubjectKind::Stakeholder => Some("stakeholder_id"),
            SubjectKind::Jurisdiction => Some("jurisdiction_id"),
            SubjectKind::Either => None,
        };
        if let Some(chain) = chain {
            object = object.required(chain);
        }
    } else {
        // The store refuses a draft with a field it does not know, or one it sets itself.
        object =
            object.additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    }
    object.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_draft_and_a_stored_schema_with_its_data() {
        let schemas = schemas();
        let names: Vec<&str> = schemas.iter().map(|(name, _)| name.as_str()).collect();
        for event_type in EventType::ALL {
            for suffix in ["Draft", "Event"] {
                let name = format!("{}{suffix}", event_type.variant_name());
                assert!(names.contains(&name.as_str()), "{name} is missing");
            }
        }
        let unique: std::collections::HashSet<&&str> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "a schema is named twice");
    }
}
