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
//! | `reader` | read streams (stream info, direct gets, ephemeral consumers); publish nothing; never the key store |
//! | `eraser` | read and securely delete keys of the key store (`PILOT_SUBJECT_KEYS`); nothing else |
//!
//! No role but `operator` may create, update, purge or delete a stream or delete a consumer,
//! and no part may create (which updates) or pull from another part's durable consumer.
//! The key store's keys are personal data's locks (docs/personal-data.md): `api` may read and
//! create them, the other parts only check the bucket's configuration, `reader` may not touch
//! it at all, and only `eraser` may delete a key, which the service does on the erasure path
//! alone. Because every role may subscribe to `_INBOX.>`, the replies to a key read must not
//! go there: `pilot serve` logged in as one of these users takes its replies on a private
//! inbox, `_INBOX_<user>` ([`inbox_prefix`]), which only that user may subscribe to.
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
    SEALS_STREAM, SEALS_SUBJECT, SUBJECT_KEYS_STREAM, SUBJECT_KEYS_SUBJECTS,
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
    /// Destroys keys of the key store on the erasure path; nothing else.
    Eraser,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Operator,
        Role::Api,
        Role::Projector,
        Role::Alerter,
        Role::Reader,
        Role::Eraser,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Api => "api",
            Role::Projector => "projector",
            Role::Alerter => "alerter",
            Role::Reader => "reader",
            Role::Eraser => "eraser",
        }
    }

    /// The role whose NATS user is `user` (`pilot-api` → [`Role::Api`]).
    pub fn of_user(user: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.user() == user)
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
            Role::Operator | Role::Reader | Role::Eraser => None,
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

/// The private inbox prefix of `user`'s connections, `_INBOX_<user>`: replies to its requests
/// (key reads among them) go where no other role may subscribe, as `_INBOX.>` is every
/// role's. Only pilot's own role users have it in their permissions, so `pilot serve` takes it
/// only when logged in as one of them ([`Role::of_user`]).
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{user}")
}

/// Reading keys of the key store: direct gets by subject (and the stream leader's message get).
fn read_keys() -> Vec<String> {
    vec![
        format!("$JS.API.DIRECT.GET.{SUBJECT_KEYS_STREAM}"),
        format!("$JS.API.DIRECT.GET.{SUBJECT_KEYS_STREAM}.>"),
        format!("$JS.API.STREAM.MSG.GET.{SUBJECT_KEYS_STREAM}"),
    ]
}

/// Deleting a key: the eraser's alone, denied to every other role even where a wider allow
/// would grant it.
fn delete_key() -> String {
    format!("$JS.API.STREAM.MSG.DELETE.{SUBJECT_KEYS_STREAM}")
}

/// The eraser: find a key's message and securely delete it, on its private inbox only.
fn eraser() -> Permissions {
    let mut publish = read_keys();
    publish.push(delete_key());
    Permissions {
        publish,
        deny_publish: Vec::new(),
        subscribe: vec![format!("{}.>", inbox_prefix(&Role::Eraser.user()))],
    }
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
    match role {
        Role::Operator => return None,
        Role::Eraser => return Some(eraser()),
        _ => {}
    }
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
    if role != Role::Reader {
        // Every part checks the key store's configuration with the other streams'.
        publish.push(format!("$JS.API.STREAM.INFO.{SUBJECT_KEYS_STREAM}"));
        subscribe.push(format!("{}.>", inbox_prefix(&role.user())));
    }
    match role {
        // Answered above.
        Role::Operator | Role::Eraser => {}
        // Outside systems may also follow stored alerts as they are republished.
        Role::Reader => subscribe.push(NOTIFY_SUBJECTS.to_string()),
        Role::Api => {
            // The writer seals personal fields: it reads subjects' keys and creates new ones
            // (create-only: the stream refuses a second message on a key's subject).
            publish.extend(read_keys());
            publish.push(SUBJECT_KEYS_SUBJECTS.to_string());
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
    let mut deny_publish = others_consumers(role);
    deny_publish.push(delete_key());
    Some(Permissions {
        publish,
        deny_publish,
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
    /// first start. A file written before a role existed (the eraser) gets a fresh login for
    /// that role, added beside the others; a login the file holds is never replaced, so a
    /// server never starts with credentials its clients do not have.
    pub fn load_or_create(dir: &Path) -> Result<Self, NatsAuthError> {
        let path = dir.join(CREDENTIALS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut credentials: Credentials =
                    toml::from_str(&text).map_err(|error| NatsAuthError::Invalid {
                        path: path.clone(),
                        message: error.message().to_string(),
                    })?;
                let mut added = Vec::new();
                for role in Role::ALL {
                    if credentials.login(role).is_none() {
                        credentials.logins.insert(
                            role,
                            Login {
                                user: role.user(),
                                password: random_password()?,
                            },
                        );
                        added.push(role.name());
                    }
                }
                if !added.is_empty() {
                    credentials.write(&path, false)?;
                    tracing::info!(message = "Added logins for new roles to the local nats-server's credentials.", roles = %added.join(","), file = %path.display());
                }
                Ok(credentials)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let credentials = Self::generate()?;
                credentials.write(&path, true)?;
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

    /// Writes these credentials to `path` (mode 0600): a new file, or (`new_only` false) one
    /// that replaces the old whole, written beside it and renamed, so a crash leaves one or
    /// the other.
    fn write(&self, path: &Path, new_only: bool) -> Result<(), NatsAuthError> {
        let text = toml::to_string(self).map_err(|error| NatsAuthError::Invalid {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        let header = "# pilot-tracker's logins for its local nats-server, generated on its first start.\n# Keep this file private: anyone holding it can read and write the record.\n";
        let text = format!("{header}{text}");
        if new_only {
            return write_private(path, &text, true);
        }
        let partial = path.with_extension("toml.partial");
        write_private(&partial, &text, false)?;
        std::fs::rename(&partial, path).map_err(|source| NatsAuthError::Io {
            action: "replace",
            path: path.to_path_buf(),
            source,
        })
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
    fn a_credentials_file_from_before_the_eraser_gets_an_eraser_login_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let first = Credentials::load_or_create(dir.path()).unwrap();
        let mut older = first.clone();
        older.logins.remove(&Role::Eraser);
        let path = dir.path().join(CREDENTIALS_FILE);
        std::fs::remove_file(&path).unwrap();
        older.write(&path, true).unwrap();

        let upgraded = Credentials::load_or_create(dir.path()).unwrap();
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Eraser) {
            assert_eq!(upgraded.login(role), first.login(role), "{role:?} changed");
        }
        let eraser = upgraded.login(Role::Eraser).unwrap();
        assert_eq!(eraser.user, "pilot-eraser");
        assert_eq!(eraser.password.len(), PASSWORD_BYTES * 2);
        assert_eq!(Credentials::load_or_create(dir.path()).unwrap(), upgraded);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn only_the_api_and_the_eraser_read_keys_and_only_the_eraser_deletes_them() {
        let reads_keys = |p: &Permissions| {
            p.publish
                .iter()
                .any(|s| s.contains(&format!("GET.{SUBJECT_KEYS_STREAM}")))
        };
        let deletes = format!("$JS.API.STREAM.MSG.DELETE.{SUBJECT_KEYS_STREAM}");
        for role in Role::ALL {
            let Some(p) = permissions(role) else {
                continue;
            };
            assert_eq!(
                reads_keys(&p),
                matches!(role, Role::Api | Role::Eraser),
                "{role:?}"
            );
            assert_eq!(
                p.publish.contains(&deletes),
                role == Role::Eraser,
                "{role:?}"
            );
            assert_eq!(
                p.deny_publish.contains(&deletes),
                role != Role::Eraser,
                "{role:?}"
            );
            // Whoever reads keys takes the replies on its own inbox.
            let private = format!("{}.>", inbox_prefix(&role.user()));
            assert_eq!(
                p.subscribe.contains(&private),
                role != Role::Reader,
                "{role:?}"
            );
        }
        let reader = permissions(Role::Reader).unwrap();
        assert!(reader
            .publish
            .iter()
            .chain(&reader.subscribe)
            .all(|s| !s.contains(SUBJECT_KEYS_STREAM) && !s.contains("$KV.")));
        assert!(reader.subscribe.iter().all(|s| !s.starts_with("_INBOX_")));
        let eraser = permissions(Role::Eraser).unwrap();
        assert_eq!(eraser.subscribe, ["_INBOX_pilot-eraser.>"]);
        assert_eq!(Role::Eraser.user(), pilot_nats::DEFAULT_ERASER_USER);
        assert!(eraser
            .publish
            .iter()
            .all(|s| s.contains(SUBJECT_KEYS_STREAM)));
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
