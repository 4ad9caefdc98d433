//! The event catalogue: one enum variant per event type, tied to its wire name and data struct.

use crate::data::*;
use serde::{Serialize, Serializer};
use std::fmt;

/// Declares the catalogue once: the `EventType` names, the `Event` enum, and the decoding of
/// `data` by type name, so adding a type is one line here plus its data struct.
macro_rules! catalogue {
    ($($variant:ident($data:ty) => $wire:literal, $subject:ident;)+) => {
        /// The `type` of an event, as a closed list.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType { $($variant),+ }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $wire),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($wire => Some(EventType::$variant),)+ _ => None }
            }

            /// The fields of this type's `data`, as forms offer them ([`crate::fields`]).
            pub fn fields(self) -> &'static [crate::fields::Field] {
                use crate::fields::Describe;
                match self { $(EventType::$variant => <$data>::FIELDS),+ }
            }

            /// Which chain an event of this type belongs to.
            pub fn subject_kind(self) -> SubjectKind {
                match self { $(EventType::$variant => SubjectKind::$subject),+ }
            }
        }

        #[cfg(feature = "openapi")]
        impl EventType {
            /// The component name of this type's `data` schema (its struct's name); pushes
            /// that schema and every schema it refers to onto `schemas`.
            pub(crate) fn data_schema(self, schemas: &mut crate::schema_kit::Schemas) -> String {
                use utoipa::{PartialSchema, ToSchema};
                match self {
                    $(EventType::$variant => {
                        schemas.push((<$data>::name().into_owned(), <$data>::schema()));
                        <$data>::schemas(schemas);
                        <$data>::name().into_owned()
                    }),+
                }
            }

            /// The variant's name (`PilotProposed`), to name this type's schemas by.
            pub(crate) fn variant_name(self) -> &'static str {
                match self { $(EventType::$variant => stringify!($variant)),+ }
            }
        }

        /// One event's typed `data`; the variant is its `type`.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event { $($variant($data)),+ }

        impl Event {
            pub fn event_type(&self) -> EventType {
                match self { $(Event::$variant(_) => EventType::$variant),+ }
            }

            /// Decodes `data` for a known type. Errors carry the path inside `data`.
            pub(crate) fn from_json(
                event_type: EventType,
                data: &str,
            ) -> Result<Event, serde_path_to_error::Error<serde_json::Error>> {
                match event_type {
                    $(EventType::$variant => from_json_traced(data).map(Event::$variant)),+
                }
            }

            /// Decodes `data` in place while the envelope is being parsed (the fast path).
            pub(crate) fn deserialize_as<'de, D: serde::Deserializer<'de>>(
                event_type: EventType,
                deserializer: D,
            ) -> Result<Event, D::Error> {
                use serde::Deserialize;
                match event_type {
                    $(EventType::$variant => <$data>::deserialize(deserializer).map(Event::$variant)),+
                }
            }

            /// The same, from an already parsed value (the upcasting path).
            pub(crate) fn from_value(
                event_type: EventType,
                data: serde_json::Value,
            ) -> Result<Event, serde_path_to_error::Error<serde_json::Error>> {
                match event_type {
                    $(EventType::$variant => serde_path_to_error::deserialize(data).map(Event::$variant)),+
                }
            }
        }

        impl Serialize for Event {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self { $(Event::$variant(data) => data.serialize(serializer)),+ }
            }
        }
    };
}

/// Plain serde on the fast path; on failure only, a second pass records where it failed, so
/// valid events pay nothing for precise error paths.
fn from_json_traced<T: serde::de::DeserializeOwned>(
    data: &str,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    match serde_json::from_str(data) {
        Ok(value) => Ok(value),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(data);
            serde_path_to_error::deserialize(&mut de)
        }
    }
}

/// Which kind of chain an event lives in: a pilot's, a stakeholder's registry chain, or
/// (schema 2) a jurisdiction's chain of context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Pilot,
    Stakeholder,
    Jurisdiction,
    /// `event.retracted` lives in the chain of the event it retracts.
    Either,
}

impl SubjectKind {
    /// The envelope field that names a chain of this kind (`pilot_id` for `Either`: a
    /// retraction most often lives in a pilot's chain).
    pub fn id_field(self) -> &'static str {
        match self {
            SubjectKind::Stakeholder => "stakeholder_id",
            SubjectKind::Jurisdiction => "jurisdiction_id",
            SubjectKind::Pilot | SubjectKind::Either => "pilot_id",
        }
    }
}

catalogue! {
    PilotProposed(PilotProposed) => "pilot.proposed", Pilot;
    ProgramDesigned(ProgramDesigned) => "pilot.program_designed", Pilot;
    StakeholderRegistered(StakeholderRegistered) => "stakeholder.registered", Stakeholder;
    ContactLogged(ContactLogged) => "lobbying.contact_logged", Pilot;
    StanceAssessed(StanceAssessed) => "stakeholder.stance_assessed", Pilot;
    AllianceFormed(AllianceFormed) => "alliance.formed", Pilot;
    ApprovalRequested(ApprovalRequested) => "approval.requested", Pilot;
    ApprovalGranted(ApprovalGranted) => "approval.granted", Pilot;
    ApprovalDenied(ApprovalDenied) => "approval.denied", Pilot;
    ApprovalWithdrawn(ApprovalWithdrawn) => "approval.withdrawn", Pilot;
    ApprovalExtended(ApprovalExtended) => "approval.extended", Pilot;
    ImplementationStarted(ImplementationStarted) => "implementation.started", Pilot;
    TargetSet(TargetSet) => "implementation.target_set", Pilot;
    MetricRecorded(MetricRecorded) => "implementation.metric_recorded", Pilot;
    PilotScaled(PilotScaled) => "pilot.scaled", Pilot;
    AdoptedElsewhere(AdoptedElsewhere) => "pilot.adopted_elsewhere", Pilot;
    PilotMerged(PilotMerged) => "pilot.merged", Pilot;
    PilotTerminated(PilotTerminated) => "pilot.terminated", Pilot;
    HighlightRecorded(HighlightRecorded) => "highlight.recorded", Pilot;
    EventRetracted(EventRetracted) => "event.retracted", Either;
    JurisdictionRegistered(JurisdictionRegistered) => "jurisdiction.registered", Jurisdiction;
    ContextRecorded(ContextRecorded) => "context.recorded", Jurisdiction;
    TenureRecorded(TenureRecorded) => "stakeholder.tenure_recorded", Stakeholder;
    PilotLinked(PilotLinked) => "pilot.linked", Pilot;
    SubjectErased(SubjectErased) => "subject.erased", Stakeholder;
}

impl EventType {
    /// The types that open a chain: the first event of a pilot's, a stakeholder's or a
    /// jurisdiction's chain. A draft of one may leave its chain's id out and is given a new
    /// one when it is appended (docs/wire-format.md, "Drafts"); a stored event never does.
    pub fn opens_chain(self) -> bool {
        matches!(
            self,
            EventType::PilotProposed
                | EventType::StakeholderRegistered
                | EventType::JurisdictionRegistered
        )
    }

    /// The first schema this type exists in: a stored event of an older schema that names it
    /// is refused, so history written before schema 2 cannot carry schema-2 facts.
    pub fn since_schema(self) -> u32 {
        match self {
            EventType::JurisdictionRegistered
            | EventType::ContextRecorded
            | EventType::TenureRecorded
            | EventType::PilotLinked
            | EventType::SubjectErased => 2,
            _ => 1,
        }
    }
}

impl EventType {
    /// Every type name joined for an error message.
    pub fn allowed() -> String {
        Self::ALL
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
