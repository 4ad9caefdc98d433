//! `PILOT_*` variables that pilot does not read: most likely a misspelt key or a variable of
//! another release, which would otherwise change nothing without a word. `pilot serve` logs a
//! warning for each and `pilot config check` lists them, with the closest known name.

use crate::config_layers::Environment;
use std::fmt;

/// A `PILOT_*` variable no part of pilot reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub name: String,
    /// The known variable nearest to it, if one is near enough to be a likely misspelling.
    pub closest: Option<String>,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a variable pilot reads",
            self.name.escape_debug()
        )?;
        match &self.closest {
            Some(closest) => write!(f, "; did you mean {closest}?"),
            None => f.write_str(" (`pilot config example` names each key's variable)"),
        }
    }
}

/// Every `PILOT_*` variable pilot reads: the options' and configuration keys'
/// ([`crate::cli::environment_variables`]), where the nats-server binary is, and the role
/// passwords a deployment's nats-server reads from the same environment.
pub fn known() -> Vec<String> {
    let mut known = crate::cli::environment_variables();
    known.push(crate::nats_binary::BINARY_VAR.to_string());
    known.extend(
        crate::nats_auth::Role::ALL
            .iter()
            .map(|role| crate::nats_auth::password_variable(*role).replace('$', "")),
    );
    known.sort();
    known.dedup();
    known
}

/// The variables of `env` that pilot does not read, each with the closest known name.
pub fn unknown(env: &Environment) -> Vec<Unknown> {
    let known = known();
    env.names()
        .filter(|name| !known.iter().any(|k| k == name))
        .map(|name| Unknown {
            name: name.to_string(),
            closest: closest(name, &known),
        })
        .collect()
}

/// The nearest of `known` by edit distance, if within a third of the name's length past
/// `PILOT_` (two edits at least): near enough to be a typo, not just another variable.
fn closest(name: &str, known: &[String]) -> Option<String> {
    let rest = name.len().saturating_sub("PILOT_".len());
    let limit = (rest / 3).max(2);
    known
        .iter()
        .map(|k| (strsim::levenshtein(name, k), k))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(names: &[&str]) -> Environment {
        Environment::from_pairs(names.iter().map(|n| (n.into(), "x".into())))
    }

    #[test]
    fn unknown_variables_are_named_with_the_closest_known_one() {
        let found = unknown(&env(&[
            "PILOT_FOO",
            "PILOT_MAX_BODY_BYTE",
            "PILOT_NATS_PASWORD",
            "PILOT_TOKEN",
            "PILOT_SERVER",
            "PILOT_NATS_SERVER",
            "PILOT_CONFIG",
            "PILOT_NATS_API_PASSWORD",
            "PILOT_ALERTS_WEBHOOK_URL",
            "HOME",
        ]));
        let names: Vec<_> = found.iter().map(|u| u.to_string()).collect();
        assert_eq!(
            names,
            [
                "PILOT_FOO is not a variable pilot reads (`pilot config example` names each key's variable)",
                "PILOT_MAX_BODY_BYTE is not a variable pilot reads; did you mean PILOT_MAX_BODY_BYTES?",
                "PILOT_NATS_PASWORD is not a variable pilot reads; did you mean PILOT_NATS_PASSWORD?",
            ]
        );
    }
}
