//! What the wire types need to describe themselves as JSON Schemas (feature `openapi`), apart
//! from [`crate::openapi`], which assembles the document from them: the types import this, and
//! that imports the types.

use utoipa::openapi::{schema::Schema, RefOr};

/// Named schemas, as `utoipa::ToSchema::schemas` collects them: (component name, schema).
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// `ToSchema` for a whole number kept within `$type::MIN..=$type::MAX` (the range is stated
/// once, by the type's constants).
macro_rules! bounded_integer {
    ($type:ident, $description:literal) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some($type::MIN))
                    .maximum(Some($type::MAX))
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $type {}
    };
}
pub(crate) use bounded_integer;
