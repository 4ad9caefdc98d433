//! Pilots by title and stakeholders by name, copied out of the world once per import so no
//! lock is held while rows are stored. A cell holding a UUID is taken as the id it is (the
//! writer refuses an unknown one in its own words); anything else must name exactly one.
//! A person's sealed name is matched as its reader sees it ([`crate::reveal`]): a spreadsheet
//! names Party Secretary Li, not a ciphertext; an erased person only by id.

use crate::reveal::Revealer;
use pilot_events::SubjectKind;
use pilot_projections::World;
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct Directory {
    pilots: Vec<(Uuid, String)>,
    stakeholders: Vec<(Uuid, String)>,
}

impl Directory {
    /// The names as stored (persons' sealed): copy them out under the projection's lock, then
    /// [`Directory::revealed`] opens them with the lock released.
    pub fn of(world: &World) -> Directory {
        Directory {
            pilots: world
                .pilots()
                .map(|p| (p.state.pilot_id, p.state.title.clone()))
                .collect(),
            stakeholders: world
                .registry()
                .all()
                .into_iter()
                .map(|s| (s.stakeholder_id, s.name.clone()))
                .collect(),
        }
    }

    /// Every sealed name shown as its reader sees it.
    pub fn revealed(mut self, revealer: &Revealer) -> Directory {
        for (_, name) in &mut self.stakeholders {
            *name = revealer.reveal_str(name);
        }
        self
    }

    pub fn pilot(&self, text: &str) -> Result<Uuid, String> {
        find(&self.pilots, text, "pilot", "titled", "pilot_id")
    }

    pub fn stakeholder(&self, text: &str) -> Result<Uuid, String> {
        find(
            &self.stakeholders,
            text,
            "stakeholder",
            "named",
            "stakeholder_id",
        )
    }

    /// The chain a row joins, of the kind its type lives in.
    pub fn chain(&self, kind: SubjectKind, text: &str) -> Result<Uuid, String> {
        match kind {
            SubjectKind::Pilot | SubjectKind::Either => self.pilot(text),
            SubjectKind::Stakeholder => self.stakeholder(text),
            SubjectKind::Jurisdiction => Uuid::parse_str(text.trim()).map_err(|_| {
                format!("jurisdiction_id must be a jurisdiction's id (a UUID); got {text:?}")
            }),
        }
    }
}

/// The one entry whose id is `text`, or whose name is `text` (exactly, else ignoring case).
fn find(
    entries: &[(Uuid, String)],
    text: &str,
    what: &str,
    named: &str,
    id_field: &str,
) -> Result<Uuid, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("no {what} given: fill in its title or {id_field}"));
    }
    if let Ok(id) = Uuid::parse_str(text) {
        return Ok(id);
    }
    let exact: Vec<Uuid> = entries
        .iter()
        .filter(|(_, name)| name.trim() == text)
        .map(|(id, _)| *id)
        .collect();
    let found = if exact.is_empty() {
        let lower = text.to_lowercase();
        entries
            .iter()
            .filter(|(_, name)| name.trim().to_lowercase() == lower)
            .map(|(id, _)| *id)
            .collect()
    } else {
        exact
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "no {what} {named} {text:?}: give its {id_field}, or its name exactly as registered"
        )),
        several => Err(format!(
            "{} {what}s are {named} {text:?}: give the {id_field} of the one meant ({})",
            several.len(),
            several
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        let id = |n: u128| Uuid::from_u128(n);
        Directory {
            pilots: vec![
                (id(1), "南国医保试点".into()),
                (id(2), "Twin".into()),
                (id(3), "twin".into()),
            ],
            stakeholders: vec![(id(9), "Mayor of Nanguo".into())],
        }
    }

    #[test]
    fn names_ids_and_case_resolve_and_ambiguity_is_refused() {
        let d = directory();
        assert_eq!(d.pilot("南国医保试点"), Ok(Uuid::from_u128(1)));
        assert_eq!(d.pilot(" Twin "), Ok(Uuid::from_u128(2)));
        assert_eq!(d.stakeholder("mayor of nanguo"), Ok(Uuid::from_u128(9)));
        assert_eq!(
            d.pilot(&Uuid::from_u128(77).to_string()),
            Ok(Uuid::from_u128(77))
        );
        assert!(d.pilot("TWIN").unwrap_err().contains("2 pilots"));
        assert!(d
            .stakeholder("Governor")
            .unwrap_err()
            .contains("no stakeholder named"));
    }
}
