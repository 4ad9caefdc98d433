//! The closed word lists of docs/domain.md: levels, stakeholder kinds, channels, strategies,
//! highlight kinds, adoption mechanisms and stages.
//!
//! Each list is an enum whose serde names are the public vocabulary, so an unknown word is
//! refused by the decoder with the list of allowed ones.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Writes the `as_str` helpers and `Display` for a vocabulary enum in one place, so the
/// wire names used by serde and the names printed in errors can never drift apart.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in the order docs/domain.md lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every public name, in the same order (for forms that offer the list).
            pub const WORDS: &'static [&'static str] = &[$($wire),+];

            /// The public name, as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the public name; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($wire => Some($name::$variant),)+ _ => None }
            }

            /// The allowed names joined for an error message.
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        /// The list as a JSON Schema: its words, from [`Self::WORDS`].
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(Self::WORDS.iter().copied()))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// Government level, low to high. The order matters: it is used for points and thresholds.
    Level {
        County => "county",
        Municipal => "municipal",
        Provincial => "provincial",
        National => "national",
    }
}

impl Level {
    /// Ledger points of a highlight conferred at this level (docs/domain.md, "Political-highlight ledger").
    pub fn highlight_points(self) -> u32 {
        match self {
            Level::County => 1,
            Level::Municipal => 2,
            Level::Provincial => 4,
            Level::National => 8,
        }
    }
}

vocabulary! {
    /// What kind of person or body a stakeholder is.
    StakeholderKind {
        Leader => "leader",
        Bureau => "bureau",
        HigherAuthority => "higher_authority",
        Enterprise => "enterprise",
        ResidentGroup => "resident_group",
        Media => "media",
        Expert => "expert",
    }
}

vocabulary! {
    /// How a lobbying contact was made.
    Channel {
        Meeting => "meeting",
        Briefing => "briefing",
        Letter => "letter",
        Call => "call",
        SiteVisit => "site_visit",
        Media => "media",
        Report => "report",
        InformalAdvice => "informal_advice",
        PersonalRelationship => "personal_relationship",
        Conference => "conference",
    }
}

vocabulary! {
    /// The policy entrepreneur's strategy behind a contact (the case study's vocabulary).
    Strategy {
        Framing => "framing",
        Brokering => "brokering",
        Alliance => "alliance",
        Experimentation => "experimentation",
        Marketing => "marketing",
        Pressure => "pressure",
    }
}

vocabulary! {
    /// The kind of a political highlight.
    HighlightKind {
        Award => "award",
        Commendation => "commendation",
        OfficialVisit => "official_visit",
        ConferenceInvitation => "conference_invitation",
        HonoraryTitle => "honorary_title",
        ModelDesignation => "model_designation",
        MediaCoverage => "media_coverage",
        RankingUpgrade => "ranking_upgrade",
        BudgetIncrease => "budget_increase",
        StaffIncrease => "staff_increase",
    }
}

impl HighlightKind {
    /// The kinds that reward an office itself (its rank, budget or staff) rather than a
    /// leader's standing: docs/domain.md's "office reward".
    pub fn is_office_reward(self) -> bool {
        matches!(
            self,
            HighlightKind::RankingUpgrade
                | HighlightKind::BudgetIncrease
                | HighlightKind::StaffIncrease
        )
    }
}

vocabulary! {
    /// How exactly a date is known (schema 2): `occurred_at` is then the first instant of the
    /// day, month or year in the jurisdiction's offset, and views show the period.
    Precision {
        Day => "day",
        Month => "month",
        Year => "year",
    }
}

vocabulary! {
    /// How exactly a value is known (schema 2); without one a value is `exact`.
    Qualifier {
        Exact => "exact",
        AtLeast => "at_least",
        AtMost => "at_most",
        About => "about",
    }
}

vocabulary! {
    /// Which side of a target counts as met (schema 2); without one a target is `at_least`.
    Direction {
        AtLeast => "at_least",
        AtMost => "at_most",
    }
}

vocabulary! {
    /// What a context event outside any pilot records (schema 2).
    ContextKind {
        PolicyWindow => "policy_window",
        Directive => "directive",
        Meeting => "meeting",
        Reorganisation => "reorganisation",
        Indicator => "indicator",
    }
}

vocabulary! {
    /// How one pilot relates to another (schema 2), read "this pilot <relation> the other".
    LinkRelation {
        RenamedInto => "renamed_into",
        UpgradedInto => "upgraded_into",
        BundledWith => "bundled_with",
        ModelledOn => "modelled_on",
    }
}

vocabulary! {
    /// How a pilot spread to another jurisdiction.
    AdoptionMechanism {
        Mandate => "mandate",
        Championship => "championship",
        Learning => "learning",
    }
}

vocabulary! {
    /// Where a pilot stands. `merged` and `terminated` are terminal.
    Stage {
        Framing => "framing",
        Design => "design",
        AwaitingApproval => "awaiting_approval",
        Approved => "approved",
        Implementing => "implementing",
        Scaled => "scaled",
        Merged => "merged",
        Terminated => "terminated",
    }
}

impl Stage {
    /// Terminal stages accept no further stage moves.
    pub fn is_terminal(self) -> bool {
        matches!(self, Stage::Merged | Stage::Terminated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_for_every_word() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Some(*level));
            let json = serde_json::to_string(level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
        }
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(*stage));
        }
        assert_eq!(Stage::parse("approved-ish"), None);
    }

    #[test]
    fn points_double_with_each_level() {
        let points: Vec<u32> = Level::ALL.iter().map(|l| l.highlight_points()).collect();
        assert_eq!(points, [1, 2, 4, 8]);
    }

    #[test]
    fn only_merged_and_terminated_are_terminal() {
        let terminal: Vec<Stage> = Stage::ALL
            .iter()
            .copied()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, [Stage::Merged, Stage::Terminated]);
    }
}
