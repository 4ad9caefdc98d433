//! The configuration's layers, merged as TOML before it is deserialized: the file, then each
//! key's `PILOT_*` variable, then its flag (precedence flag > variable > file > default).
//!
//! The keys, their variables and their flags come from [`crate::config_keys`]; this module
//! adds a flag per key to `pilot serve` and `pilot config check` ([`KeyFlags`]), reads the
//! variables ([`Environment`]) and says where each key's value came from ([`Source`]).

use crate::config_file::{example_comments, FileConfig};
use crate::config_keys::{check, keys, Key, Kind};
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::OnceLock;

/// Older names a flag still answers to.
const FLAG_ALIASES: &[(&str, &str)] = &[("nats.url", "nats")];

/// Where a key's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File,
    /// The variable's name.
    Variable(String),
    /// The flag, with its dashes.
    Flag(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File => f.write_str("the file"),
            Source::Variable(name) => write!(f, "variable {name}"),
            Source::Flag(name) => write!(f, "flag {name}"),
        }
    }
}

/// A variable or flag whose value the key does not take.
#[derive(Debug, thiserror::Error)]
#[error("{from} (the key {key}): {message}")]
pub struct SettingError {
    pub from: Source,
    pub key: String,
    pub message: String,
}

/// The configuration's keys, read off [`FileConfig`] once.
pub fn config_keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(keys::<FileConfig>)
}

/// The variable OpenTelemetry's SDKs read for a collector, honoured after `otlp_endpoint`.
pub const OTEL_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The `PILOT_*` variables of the process, and the standard OpenTelemetry collector
/// endpoint, by name.
#[derive(Debug, Clone, Default)]
pub struct Environment(BTreeMap<String, OsString>);

impl Environment {
    /// Every variable of this process that pilot's configuration reads.
    pub fn from_process() -> Environment {
        Self::from_pairs(std::env::vars_os())
    }

    /// The variables among `pairs` that the configuration reads (a test's own environment).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (OsString, OsString)>) -> Environment {
        Environment(
            pairs
                .into_iter()
                .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
                .filter(|(name, _)| name.starts_with("PILOT_") || name == OTEL_ENDPOINT_VAR)
                .collect(),
        )
    }

    /// A variable's text; an empty variable counts as unset.
    pub fn get(&self, name: &str) -> Option<Result<&str, ()>> {
        let value = self.0.get(name)?;
        match value.to_str() {
            Some("") => None,
            Some(text) => Some(Ok(text)),
            None => Some(Err(())),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// One flag per configuration key, for `pilot serve` and `pilot config check`: the values
/// given, by key.
#[derive(Debug, Clone, Default)]
pub struct KeyFlags {
    given: BTreeMap<String, Vec<String>>,
}

impl KeyFlags {
    /// Flags as if given on the command line, by dotted key (for `pilot init` and tests).
    pub fn with(mut self, key: &str, value: &str) -> KeyFlags {
        self.given
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
        self
    }
}

impl clap::FromArgMatches for KeyFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = KeyFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for key in config_keys() {
            let id = key.dotted();
            if let Ok(Some(values)) = matches.try_get_many::<String>(&id) {
                self.given.insert(id, values.cloned().collect());
            }
        }
        Ok(())
    }
}

impl clap::Args for KeyFlags {
    fn augment_args(command: Command) -> Command {
        let mut command = command.next_help_heading(
            "Configuration keys (any key of `pilot config example`; flag > PILOT_* variable > file)",
        );
        let comments = example_comments();
        for key in config_keys() {
            let path = key.path.clone();
            let parse_key = key.clone();
            let comment = comments.get(&key.dotted()).map_or("", String::as_str);
            // The first sentence for -h, the whole comment for --help.
            let first = comment.split(". ").next().unwrap_or_default();
            let named = format!("[{}, variable {}]", key.dotted(), key.variable());
            let mut arg = Arg::new(key.dotted())
                .long(key.flag())
                .value_name(key.kind.value_name())
                .help(format!("{} {named}", first.trim_end_matches('.')))
                .long_help(format!("{comment} {named}"))
                .value_parser(move |text: &str| {
                    parse_key
                        .value(text)
                        .and_then(|value| check::<FileConfig>(&path, value))
                        .map(|()| text.to_string())
                });
            arg = match key.kind {
                Kind::List => arg.action(ArgAction::Append),
                _ => arg.action(ArgAction::Set),
            };
            for (dotted, alias) in FLAG_ALIASES {
                if *dotted == key.dotted() {
                    arg = arg.visible_alias(*alias);
                }
            }
            command = command.arg(arg);
        }
        command
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

/// The file's table with the variables and then the flags laid over it; where each key set
/// came from, by dotted key.
pub fn layer(
    mut table: toml::Table,
    env: &Environment,
    flags: &KeyFlags,
) -> Result<(toml::Table, BTreeMap<String, Source>), SettingError> {
    let mut sources = BTreeMap::new();
    for key in config_keys() {
        let dotted = key.dotted();
        if lookup(&table, &key.path).is_some() {
            sources.insert(dotted.clone(), Source::File);
        }
        let (source, texts) = match (flags.given.get(&dotted), env.get(&key.variable())) {
            (Some(texts), _) => (Source::Flag(format!("--{}", key.flag())), texts.clone()),
            (None, Some(Ok(text))) => (Source::Variable(key.variable()), vec![text.to_string()]),
            (None, Some(Err(()))) => {
                return Err(SettingError {
                    from: Source::Variable(key.variable()),
                    key: dotted,
                    message: "the value is not valid UTF-8".to_string(),
                })
            }
            (None, None) => continue,
        };
        let refused = |message| SettingError {
            from: source.clone(),
            key: dotted.clone(),
            message,
        };
        let mut value = None;
        for text in &texts {
            let one = key.value(text).map_err(refused)?;
            check::<FileConfig>(&key.path, one.clone()).map_err(refused)?;
            value = Some(match (value, one) {
                // A list flag given several times: its lists, one after the other.
                (Some(toml::Value::Array(mut all)), toml::Value::Array(more)) => {
                    all.extend(more);
                    toml::Value::Array(all)
                }
                (_, one) => one,
            });
        }
        if let Some(value) = value {
            insert(&mut table, &key.path, value);
            sources.insert(dotted, source);
        }
    }
    Ok((table, sources))
}

fn lookup<'a>(table: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (last, tables) = path.split_last()?;
    let mut here = table;
    for name in tables {
        here = here.get(*name)?.as_table()?;
    }
    here.get(*last)
}

fn insert(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    let Some((last, tables)) = path.split_last() else {
        return;
    };
    let mut here = table;
    for name in tables {
        let entry = here
            .entry(name.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        // The file has something else where a table belongs: left as it is, so that the
        // file's own error (naming the key) is what the operator sees.
        let toml::Value::Table(next) = entry else {
            return;
        };
        here = next;
    }
    here.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().map(|(n, v)| (n.into(), v.into())))
    }

    #[test]
    fn every_table_is_reached_and_names_are_unique() {
        let keys = config_keys();
        for dotted in [
            "listen",
            "max_body_bytes",
            "cors_origins",
            "nats.url",
            "nats.password",
            "tokens",
            "alerts.warning_share",
            "alerts.thresholds.municipal",
            "alerts.pilots",
            "alerts.webhook.url",
            "alerts.webhook.bearer_token",
            "checkpoints.key_file",
        ] {
            assert!(keys.iter().any(|k| k.dotted() == dotted), "{dotted}");
        }
        let mut variables: Vec<_> = keys.iter().map(Key::variable).collect();
        variables.sort();
        variables.dedup();
        assert_eq!(variables.len(), keys.len());
    }

    #[test]
    fn each_flag_is_explained_by_the_examples_comment_on_its_key() {
        let comments = example_comments();
        assert!(comments["nats.url"].contains("pilot starts its own nats-server"));
        assert!(comments["nats.replicas"].starts_with("Copies of each stream"));
        assert!(comments["nats.password"].contains("Authenticate with one of"));
        assert!(comments["max_connections"].contains("HTTP limits"));
        assert!(comments["alerts.warning_share"].starts_with("Warn at this share"));
        assert!(comments["alerts.thresholds.county"].starts_with("Days an approval may wait"));
        assert!(comments["tokens"].starts_with("API tokens, by SHA-256"));
        assert!(comments["cors_origins"].starts_with("Browser origins"));
        for key in config_keys() {
            let dotted = key.dotted();
            assert!(
                comments.get(&dotted).is_some_and(|c| !c.is_empty()),
                "the example says nothing of {dotted}"
            );
        }
    }

    #[test]
    fn a_flag_beats_its_variable_which_beats_the_file() {
        let file: toml::Table =
            toml::from_str("consumer = \"file\"\n[nats]\nuser = \"u\"\n").unwrap();
        let flags = KeyFlags::default().with("consumer", "flag");
        let environment = env(&[
            ("PILOT_CONSUMER", "variable"),
            ("PILOT_NATS_USER", "v"),
            ("PILOT_NATS_PASSWORD", ""),
        ]);
        let (table, sources) = layer(file, &environment, &flags).unwrap();
        assert_eq!(table["consumer"].as_str(), Some("flag"));
        assert_eq!(table["nats"]["user"].as_str(), Some("v"));
        assert!(table["nats"].get("password").is_none(), "empty is unset");
        assert_eq!(sources["consumer"], Source::Flag("--consumer".to_string()));
        assert_eq!(
            sources["nats.user"],
            Source::Variable("PILOT_NATS_USER".to_string())
        );
    }

    #[test]
    fn a_file_with_a_value_where_a_table_belongs_keeps_its_own_error() {
        let file: toml::Table = toml::from_str("nats = 1\n").unwrap();
        let (table, _) = layer(
            file,
            &env(&[("PILOT_NATS_URL", "nats://variable:4222")]),
            &KeyFlags::default(),
        )
        .unwrap();
        assert_eq!(table["nats"].as_integer(), Some(1));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let error = layer(
            toml::Table::new(),
            &env(&[("PILOT_MAX_BODY_BYTES", "lots")]),
            &KeyFlags::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("PILOT_MAX_BODY_BYTES"), "{error}");
        assert!(error.contains("whole number"), "{error}");
    }
}
