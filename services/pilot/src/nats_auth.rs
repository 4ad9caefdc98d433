//! Who may do what on pilot-tracker's NATS server: one NATS user per role, its permissions,
//! and the credentials of the local nats-server.
//!
//! Without credentials anyone who reaches the server's port can read every event, publish a
//! sealed event, cut a stream with `update_stream` or delete it: the record would only be as
//! trustworthy as the loopback interface. So the server pilot starts for itself requires a
//! login, and the users a deployment gives its processes (`deploy/nats/users.conf`, rendered
//! by [`deploy_users`]) may do only what their part needs:
//!
//! | role | may |
//! |---|---|
//! | `operator` | everything: create, update and delete streams, buckets and consumers (`pilot init`) |
//! | `api` | publish events and alert events, run its projector (its own consumer, quarantine, checkpoints), read |
//! | `projector` | run its projector (its own consumer, quarantine, checkpoints), read |
//! | `alerter` | publish alert events and dead letters, its projector and webhook consumer, checkpoints, read |
//! | `reader` | read streams (stream info, direct gets, ephemeral consumers); publish nothing |
//!
//! No role but `operator` may create, update, purge or delete a stream or delete a consumer,
//! and no part may create (which updates) or pull from another part's durable consumer.
//! Every `pilot serve` process also runs a projector (its API answers from it), so every part
//! that serves may quarantine and save checkpoints. Subjects and stream names come from
//! [`pilot_store::layout`], never spelled here.
//!
//! The local server's credentials are generated on its first start into
//! `<data-dir>/nats-credentials.toml` (mode 0600) and the server's configuration into
//! `<data-dir>/nats-server.conf` (mode 0600); neither is printed or logged.

use pilot_store::layout::{
    ALERTS_STREAM, ALERTS_SUBJECTS, CHECKPOINT_BUCKET, DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS,
    EVENTS_STREAM, EVENTS_SUBJECTS, NOTIFY_SUBJECTS, QUARANTINE_STREAM, QUARANTINE_SUBJECTS,
    SEALS_STREAM, SEALS_SUBJECT,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The durable consumers of the alert sinks (webhook, e-mail), which run in an alerter's
/// process and read the alert stream.
const ALERT_SINK_CONSUMERS: [&str; 2] = [
    pilot_alerter::webhook::DEFAULT_CONSUMER,
    pilot_alerter::email::DEFAULT_CONSUMER,
];

/// The local server's credentials, inside the data directory.
pub const CREDENTIALS_FILE: &str = "nats-credentials.toml";
/// The local server's configuration (its `-c` file), inside the data directory.
pub const SERVER_CONFIG_FILE: &str = "nats-server.conf";
/// Random bytes in a generated password (256 bits).
const PASSWORD_BYTES: usize = 32;

/// A NATS user of pilot-tracker, by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Operator,
    Api,
    Projector,
    Alerter,
    Reader,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Operator,
        Role::Api,
        Role::Projector,
        Role::Alerter,
        Role::Reader,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Api => "api",
            Role::Projector => "projector",
            Role::Alerter => "alerter",
            Role::Reader => "reader",
        }
    }

    /// The NATS user name: `pilot-<role>`.
    pub fn user(self) -> String {
        format!("pilot-{}", self.name())
    }

    /// The projector's durable consumer this role's process uses in a deployment where
    /// several processes share one server (`--consumer`). No other part may create, pull from
    /// or acknowledge it; further processes of the same role take other names.
    pub fn consumer(self) -> Option<&'static str> {
        match self {
            Role::Api => Some("pilot-api"),
            Role::Projector => Some(pilot_runtime::follow::DEFAULT_CONSUMER),
            Role::Alerter => Some("pilot-alerter"),
            Role::Operator | Role::Reader => None,
        }
    }
}

/// What one user may publish and subscribe to; `None` from [`permissions`] means everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Vec<String>,
    /// Refused even where `publish` allows: the other parts' durable consumers.
    pub deny_publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// Reading a stream: its info, direct gets, and consumers of its own (ordered, ephemeral)
/// with their pull requests. Consumer deletion is not here: only the operator deletes.
fn read_stream(stream: &str) -> Vec<String> {
    vec![
        format!("$JS.API.STREAM.INFO.{stream}"),
        format!("$JS.API.STREAM.MSG.GET.{stream}"),
        format!("$JS.API.DIRECT.GET.{stream}"),
        format!("$JS.API.DIRECT.GET.{stream}.>"),
        format!("$JS.API.CONSUMER.CREATE.{stream}"),
        format!("$JS.API.CONSUMER.CREATE.{stream}.>"),
        format!("$JS.API.CONSUMER.INFO.{stream}.*"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.*"),
    ]
}

/// The stream behind an object store bucket, as JetStream names it.
fn object_stream(bucket: &str) -> String {
    format!("OBJ_{bucket}")
}

/// What every `pilot serve` part needs for its projector: acknowledge its durable consumer
/// (any name but another part's, see [`others_consumers`], so several API processes each
/// have their own), quarantine what it cannot apply, and save its checkpoints.
fn projector() -> Vec<String> {
    vec![
        format!("$JS.ACK.{EVENTS_STREAM}.>"),
        QUARANTINE_SUBJECTS.to_string(),
        format!("$O.{CHECKPOINT_BUCKET}.>"),
        // Replacing a checkpoint purges the previous one's chunks (object store `put`).
        format!("$JS.API.STREAM.PURGE.{}", object_stream(CHECKPOINT_BUCKET)),
    ]
}

/// The durable consumers of a deployment: stream, name, and the role that owns it.
fn durables() -> Vec<(&'static str, &'static str, Role)> {
    let mut out: Vec<_> = [Role::Api, Role::Projector, Role::Alerter]
        .into_iter()
        .filter_map(|role| role.consumer().map(|name| (EVENTS_STREAM, name, role)))
        .collect();
    for sink in ALERT_SINK_CONSUMERS {
        out.push((ALERTS_STREAM, sink, Role::Alerter));
    }
    out
}

/// Creating a consumer under an existing name updates it (a new filter, a new ack wait), and
/// pulling from it takes its messages: so no part may do either to another part's durable
/// consumer, whatever the wider allow says.
fn others_consumers(role: Role) -> Vec<String> {
    durables()
        .into_iter()
        .filter(|(_, _, owner)| *owner != role)
        .flat_map(|(stream, name, _)| {
            [
                format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"),
                format!("$JS.API.CONSUMER.CREATE.{stream}.{name}.>"),
                format!("$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{name}"),
                format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"),
                format!("$JS.ACK.{stream}.{name}.>"),
            ]
        })
        .collect()
}

/// The permissions of `role`; `None` for the operator, who may do everything.
pub fn permissions(role: Role) -> Option<Permissions> {
    let mut publish = vec!["$JS.API.INFO".to_string()];
    for stream in [
        EVENTS_STREAM,
        QUARANTINE_STREAM,
        ALERTS_STREAM,
        DEAD_LETTER_STREAM,
        SEALS_STREAM,
        &object_stream(CHECKPOINT_BUCKET),
    ] {
        publish.extend(read_stream(stream));
    }
    // Replies to requests and publishes (acks, direct gets, consumer deliveries).
    let mut subscribe = vec!["_INBOX.>".to_string()];
    match role {
        Role::Operator => return None,
        // Outside systems may also follow stored alerts as they are republished.
        Role::Reader => subscribe.push(NOTIFY_SUBJECTS.to_string()),
        Role::Api => {
            publish.extend(projector());
            publish.push(EVENTS_SUBJECTS.to_string());
            // Acknowledging and silencing alerts records alert events.
            publish.push(ALERTS_SUBJECTS.to_string());
            // The sealer runs where the writer does.
            publish.push(SEALS_SUBJECT.to_string());
        }
        Role::Projector => publish.extend(projector()),
        Role::Alerter => {
            publish.extend(projector());
            publish.push(ALERTS_SUBJECTS.to_string());
            // The webhook and e-mail sinks run in the alerter's process: their durable
            // consumers on the alert stream, and the dead letters they give up on.
            for sink in ALERT_SINK_CONSUMERS {
                publish.push(format!("$JS.ACK.{ALERTS_STREAM}.{sink}.>"));
            }
            publish.push(DEAD_LETTER_SUBJECTS.to_string());
        }
    }
    Some(Permissions {
        publish,
        deny_publish: others_consumers(role),
        subscribe,
    })
}

/// A user name and password; the password never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The local server's logins, one per role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub logins: BTreeMap<Role, Login>,
}

#[derive(Debug, thiserror::Error)]
pub enum NatsAuthError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid credentials file ({message}); move it away and pilot writes a new one on its next start")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path} lacks the {role} login; move it away and pilot writes a new one on its next start"
    )]
    MissingRole { path: PathBuf, role: &'static str },
    #[error("cannot draw random bytes for a password: {0}")]
    Random(String),
}

impl Credentials {
    /// Fresh random passwords for every role.
    pub fn generate() -> Result<Self, NatsAuthError> {
        let mut logins = BTreeMap::new();
        for role in Role::ALL {
            logins.insert(
                role,
                Login {
                    user: role.user(),
                    password: random_password()?,
                },
            );
        }
        Ok(Credentials { logins })
    }

    /// The login of `role`.
    pub fn login(&self, role: Role) -> Option<&Login> {
        self.logins.get(&role)
    }

    /// Reads `<dir>/nats-credentials.toml`, or generates and writes it (mode 0600) on the
    /// first start. A file that lacks a role is refused rather than silently rewritten, so a
    /// server never starts with credentials its clients do not have.
    pub fn load_or_create(dir: &Path) -> Result<Self, NatsAuthError> {
        let path = dir.join(CREDENTIALS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let credentials: Credentials =
                    toml::from_str(&text).map_err(|error| NatsAuthError::Invalid {
                        path: path.clone(),
                        message: error.message().to_string(),
                    })?;
                for role in Role::ALL {
                    if credentials.login(role).is_none() {
                        return Err(NatsAuthError::MissingRole {
                            path,
                            role: role.name(),
                        });
                    }
                }
                Ok(credentials)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let credentials = Self::generate()?;
                let text =
                    toml::to_string(&credentials).map_err(|error| NatsAuthError::Invalid {
                        path: path.clone(),
                        message: error.to_string(),
                    })?;
                let header = "# pilot-tracker's logins for its local nats-server, generated on its first start.\n# Keep this file private: anyone holding it can read and write the record.\n";
                write_private(&path, &format!("{header}{text}"), true)?;
                tracing::info!(message = "Generated credentials for the local nats-server.", file = %path.display());
                Ok(credentials)
            }
            Err(source) => Err(NatsAuthError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// The local server's `-c` configuration: these logins and each role's permissions.
    pub fn server_config(&self) -> String {
        let mut out = String::from(
            "# Written by pilot on every start of its local nats-server; edits are lost.\n",
        );
        out.push_str(&authorization(|role| {
            self.login(role).map(|l| quote(&l.password))
        }));
        out
    }

    /// Writes [`Credentials::server_config`] to `<dir>/nats-server.conf` (mode 0600).
    pub fn write_server_config(&self, dir: &Path) -> Result<PathBuf, NatsAuthError> {
        let path = dir.join(SERVER_CONFIG_FILE);
        write_private(&path, &self.server_config(), false)?;
        Ok(path)
    }
}

/// The users file of a deployment (`deploy/nats/users.conf`): every role with its
/// permissions; each password is read from the environment of nats-server
/// (`PILOT_NATS_<ROLE>_PASSWORD`, plain or a bcrypt hash from `nats server passwd`).
pub fn deploy_users() -> String {
    let mut out = String::from(
        "# pilot-tracker's NATS users, one per role, each with least privilege.\n\
         # Generated by `pilot init --print-users`; a test keeps this file equal to it.\n\
         # Include it from the server configuration (`include users.conf`). Each password\n\
         # comes from nats-server's environment: PILOT_NATS_<ROLE>_PASSWORD, plain or\n\
         # bcrypted (`nats server passwd`). See docs/security.md.\n",
    );
    out.push_str(&authorization(|role| Some(password_variable(role))));
    out
}

/// `PILOT_NATS_API_PASSWORD`: the variable a deployment's server reads a role's password from.
pub fn password_variable(role: Role) -> String {
    format!("$PILOT_NATS_{}_PASSWORD", role.name().to_uppercase())
}

fn authorization(password: impl Fn(Role) -> Option<String>) -> String {
    let mut out = String::from("authorization {\n  users = [\n");
    for role in Role::ALL {
        let Some(password) = password(role) else {
            continue;
        };
        let _ = writeln!(out, "    # {}", role.name());
        let _ = writeln!(out, "    {{");
        let _ = writeln!(out, "      user: {}", quote(&role.user()));
        let _ = writeln!(out, "      password: {password}");
        if let Some(permissions) = permissions(role) {
            let _ = writeln!(out, "      permissions: {{");
            let _ = writeln!(
                out,
                "        publish: {{ allow: {}, deny: {} }}",
                list(&permissions.publish),
                list(&permissions.deny_publish)
            );
            let _ = writeln!(
                out,
                "        subscribe: {{ allow: {} }}",
                list(&permissions.subscribe)
            );
            let _ = writeln!(out, "      }}");
        }
        let _ = writeln!(out, "    }}");
    }
    out.push_str("  ]\n}\n");
    out
}

/// One subject a line, so a review of the users file reads like a list of rights.
fn list(items: &[String]) -> String {
    let mut out = String::from("[\n");
    for item in items {
        let _ = writeln!(out, "          {}", quote(item));
    }
    out.push_str("        ]");
    out
}

/// A double-quoted configuration string: nats-server reads `$` inside quotes literally.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn random_password() -> Result<String, NatsAuthError> {
    let mut bytes = [0u8; PASSWORD_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| NatsAuthError::Random(error.to_string()))?;
    Ok(bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

/// Writes `text` to `path`, readable by its owner only from the moment it exists.
/// `new_only` refuses to replace an existing file (credentials are written once).
fn write_private(path: &Path, text: &str, new_only: bool) -> Result<(), NatsAuthError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |action| {
        move |source| NatsAuthError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if new_only {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    let mut file = options.open(path).map_err(io("create"))?;
    // `mode` applies only to a new file; an older one is narrowed too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io("restrict"))?;
    file.write_all(text.as_bytes()).map_err(io("write"))?;
    file.sync_all().map_err(io("write"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn credentials_are_generated_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Credentials::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(CREDENTIALS_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Credentials::load_or_create(dir.path()).unwrap();
        assert_eq!(first, again);
        let operator = first.login(Role::Operator).unwrap();
        assert_eq!(operator.password.len(), PASSWORD_BYTES * 2);
        assert_ne!(operator.password, first.login(Role::Api).unwrap().password);
        assert!(!format!("{first:?}").contains(&operator.password));

        let config = first.write_server_config(dir.path()).unwrap();
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn only_the_operator_may_touch_streams() {
        for role in Role::ALL {
            let Some(permissions) = permissions(role) else {
                assert_eq!(role, Role::Operator);
                continue;
            };
            for subject in &permissions.publish {
                for forbidden in [
                    "STREAM.CREATE",
                    "STREAM.UPDATE",
                    "STREAM.DELETE",
                    "CONSUMER.DELETE",
                ] {
                    assert!(!subject.contains(forbidden), "{role:?} may {subject}");
                }
                assert!(!subject.ends_with('>') || !subject.starts_with("$JS.API.>"));
            }
        }
        let reader = permissions(Role::Reader).unwrap();
        assert!(reader.publish.iter().all(|s| s.starts_with("$JS.API.")));
    }

    #[test]
    fn the_deploy_users_file_is_what_pilot_renders() {
        let file = include_str!("../../../deploy/nats/users.conf");
        assert!(
            file == deploy_users(),
            "deploy/nats/users.conf differs from `pilot init --print-users`; regenerate it with \
             `cargo run -p pilot-service -- init --print-users > deploy/nats/users.conf`"
        );
    }
}
