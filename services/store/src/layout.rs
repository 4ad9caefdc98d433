//! Where pilot-tracker keeps things in JetStream, created or verified at start-up.
//!
//! | stream | subjects | what |
//! |---|---|---|
//! | `PILOT_EVENTS` | `pilot.events.p.<pilot_id>`, `pilot.events.s.<stakeholder_id>`, `pilot.events.j.<jurisdiction_id>` | every event, one subject per chain |
//! | `PILOT_QUARANTINE` | `pilot.quarantine.<position>` | messages the projector could not apply, with the reason |
//! | `PILOT_ALERTS` | `pilot.alerts.<kind>.<alert_id>.<key>` | alert events, one subject per transition; republished once stored on `pilot.notify.<kind>.<alert_id>.<key>` |
//! | `PILOT_DEAD_LETTERS` | `pilot.dead.>` | notifications a sink gave up on, with the reason |
//! | `PILOT_SEALS` | `pilot.seals` | signed seals: every chain's head at a position of the log ([`crate::seals`]) |
//! | `KV_PILOT_SUBJECT_KEYS` | `$KV.PILOT_SUBJECT_KEYS.<subject uuid>` | the key store: one key per data subject ([`crate::subject_keys`]) |
//!
//! Events and quarantine are file-stored, deny deletes and purges, and deduplicate by
//! `Nats-Msg-Id` within `duplicate_window`. Direct gets are allowed so one chain is read
//! without a consumer, and atomic batches so several events of one chain land all or nothing.
//! An existing stream whose configuration differs is reported, never changed: an operator
//! decides, because a silent update could drop protections such as `deny_delete`.
//!
//! The key store is a KV bucket kept stricter than `nats kv add` makes one: a key is written
//! once (one message per subject, and a second one refused, `discard_new_per_subject`), no
//! rollup or purge can replace or drop keys wholesale, and a single message may be deleted,
//! which is how the eraser destroys a key (JetStream's secure delete overwrites its bytes).
//! Deleting is allowed by the stream and refused by the credentials to everyone but the
//! eraser (`pilot`'s `nats_auth`). Readers never see it: [`Layout::verify_readable`] leaves
//! it out, as the reader's credential may not even read its info.
//!
//! At the centre of offices on their own sites, `PILOT_EVENTS` also sources each site's
//! `PILOT_EVENTS` ([`Layout::sites`], docs/sites.md); every other stream is each server's own.
//!
//! Creating needs a NATS user that may create streams (the operator, `pilot init`); every
//! other user only verifies, and is told to run `pilot init` when something is missing.

use async_nats::jetstream::stream::{
    Config, DiscardPolicy, External, Republish, RetentionPolicy, Source, StorageType,
};
use async_nats::jetstream::Context;
use std::time::Duration;
use thiserror::Error;

pub const EVENTS_STREAM: &str = "PILOT_EVENTS";
pub const EVENTS_SUBJECTS: &str = "pilot.events.>";
pub const QUARANTINE_STREAM: &str = "PILOT_QUARANTINE";
pub const QUARANTINE_SUBJECTS: &str = "pilot.quarantine.>";
pub const ALERTS_STREAM: &str = "PILOT_ALERTS";
pub const ALERTS_SUBJECTS: &str = "pilot.alerts.>";
/// Where a stored alert event is republished for other systems (core NATS, one subject per
/// alert kind: `pilot.notify.fired.>`). The server republishes only what the stream stored,
/// so a refused duplicate never reaches a subscriber.
pub const NOTIFY_SUBJECTS: &str = "pilot.notify.>";
pub const DEAD_LETTER_STREAM: &str = "PILOT_DEAD_LETTERS";
pub const DEAD_LETTER_SUBJECTS: &str = "pilot.dead.>";
/// The first tokens of every dead letter's subject (see [`dead_letter_subject`]).
pub const DEAD_LETTER_ROOT: &str = "pilot.dead";
pub const SEALS_STREAM: &str = "PILOT_SEALS";
pub const SEALS_SUBJECT: &str = "pilot.seals";
/// The object store bucket that keeps projection and alerter checkpoints.
pub const CHECKPOINT_BUCKET: &str = "pilot_checkpoints";
/// The KV bucket of the data subjects' keys ([`crate::subject_keys`]).
pub const SUBJECT_KEYS_BUCKET: &str = "PILOT_SUBJECT_KEYS";
/// The stream behind [`SUBJECT_KEYS_BUCKET`], as JetStream names a KV bucket's.
pub const SUBJECT_KEYS_STREAM: &str = "KV_PILOT_SUBJECT_KEYS";
/// The subjects of [`SUBJECT_KEYS_STREAM`]: `$KV.<bucket>.<key>`.
pub const SUBJECT_KEYS_SUBJECTS: &str = "$KV.PILOT_SUBJECT_KEYS.>";
/// The largest message the key store takes: a key is 32 bytes, its headers a few dozen.
const SUBJECT_KEY_MAX_MESSAGE_BYTES: i32 = 1024;

/// The subject of one data subject's key.
pub fn subject_key_subject(subject: uuid::Uuid) -> String {
    format!("$KV.{SUBJECT_KEYS_BUCKET}.{subject}")
}

/// The subject of one chain's events.
pub fn chain_subject(chain: pilot_events::Subject) -> String {
    format!("pilot.events.{}", crate::log::chain_key(chain))
}

/// Where `sink`'s dead letter for an alert subject goes: `pilot.alerts.fired.<id>.1` →
/// `pilot.dead.<sink>.fired.<id>.1` (a subject outside the alert stream is kept whole after
/// the sink).
pub fn dead_letter_subject(sink: &str, alert_subject: &str) -> String {
    let rest = alert_subject
        .strip_prefix(alerts_root())
        .filter(|r| !r.is_empty())
        .unwrap_or(alert_subject);
    format!("{DEAD_LETTER_ROOT}.{sink}.{rest}")
}

/// `pilot.alerts.`: what every subject of the alert stream starts with.
pub fn alerts_root() -> &'static str {
    ALERTS_SUBJECTS.trim_end_matches('>')
}

/// Whether the alert stream takes `subject`: `pilot.alerts.` and at least one more token, none
/// of them empty.
pub fn is_alert_subject(subject: &str) -> bool {
    subject
        .strip_prefix(alerts_root())
        .is_some_and(|rest| !rest.is_empty() && rest.split('.').all(|t| !t.is_empty()))
}

#[derive(Debug, Clone)]
pub struct Layout {
    /// 1 for a single server, 3 for a cluster (every event on three servers before it is acked).
    pub replicas: usize,
    /// How long a retried `Nats-Msg-Id` is recognised by the server itself.
    pub duplicate_window: Duration,
    /// At the centre: the JetStream domains of the office sites (leaf nodes) whose own
    /// `PILOT_EVENTS` the central `PILOT_EVENTS` sources, so their events reach the centre
    /// once their link is up ([`crate::sites`]). Empty on a site or a single server, whose
    /// streams source nothing.
    pub sites: Vec<String>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            sites: Vec::new(),
        }
    }
}

#[derive(Debug, Error)]
pub enum LayoutError {
    #[error("stream {stream} exists with a different configuration ({}); pilot-tracker does not change existing streams: fix them with `nats stream edit` or point pilot at another server", differences.join("; "))]
    Mismatch {
        stream: String,
        differences: Vec<String>,
    },
    #[error("this NATS server has no stream {stream}: it does not hold a pilot-tracker log (`pilot serve` creates the streams on its first start)")]
    Missing { stream: String },
    #[error("cannot create or read stream {stream}: {message}")]
    Unavailable { stream: String, message: String },
    #[error("cannot create {stream}: {message}; if this NATS user may not create streams, run `pilot init` once with the operator's credentials")]
    CannotCreate { stream: String, message: String },
    #[error("[nats] replicas = {replicas}, but the NATS server at {server} is not part of a cluster: a stream's replicas live on different JetStream servers; start a {replicas}-node cluster (deploy/nats/cluster) or set [nats] replicas = 1")]
    NotClustered { replicas: usize, server: String },
    #[error("the cluster cannot place {stream} with {replicas} replicas: {message}; each replica needs its own JetStream server that is up and has room: start the missing nodes (or free disk), or set [nats] replicas to the number of servers")]
    CannotPlace {
        stream: String,
        replicas: usize,
        message: String,
    },
}

impl Layout {
    pub fn configs(&self) -> Vec<Config> {
        vec![
            Config {
                sources: self.event_sources(),
                ..self.stream(
                    EVENTS_STREAM,
                    EVENTS_SUBJECTS,
                    "pilot-tracker events: one subject per chain",
                )
            },
            self.stream(
                QUARANTINE_STREAM,
                QUARANTINE_SUBJECTS,
                "messages the projector could not apply, with the reason",
            ),
            Config {
                republish: Some(Republish {
                    source: ALERTS_SUBJECTS.to_string(),
                    destination: NOTIFY_SUBJECTS.to_string(),
                    headers_only: false,
                }),
                ..self.stream(ALERTS_STREAM, ALERTS_SUBJECTS, "pilot-tracker alert events")
            },
            self.stream(
                DEAD_LETTER_STREAM,
                DEAD_LETTER_SUBJECTS,
                "notifications a sink gave up on, with the reason",
            ),
            self.stream(
                SEALS_STREAM,
                SEALS_SUBJECT,
                "signed seals of every chain's head at a position of the log",
            ),
        ]
    }

    /// The key store's stream: a KV bucket whose keys are written once and deleted one by one
    /// by the eraser alone (the module comment says why each setting).
    pub fn subject_keys(&self) -> Config {
        Config {
            name: SUBJECT_KEYS_STREAM.to_string(),
            subjects: vec![SUBJECT_KEYS_SUBJECTS.to_string()],
            description: Some(
                "pilot-tracker's key store: one key per data subject, destroyed on erasure"
                    .to_string(),
            ),
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::New,
            // Written once: a second message on a key's subject is refused, never kept.
            max_messages_per_subject: 1,
            discard_new_per_subject: true,
            num_replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            // The eraser's secure delete of one message; its credential alone may ask.
            deny_delete: false,
            deny_purge: true,
            allow_rollup: false,
            allow_direct: true,
            max_messages: -1,
            max_bytes: -1,
            max_message_size: SUBJECT_KEY_MAX_MESSAGE_BYTES,
            ..Config::default()
        }
    }

    /// The object store that keeps checkpoints (created with the streams).
    pub fn checkpoint_store(&self) -> async_nats::jetstream::object_store::Config {
        async_nats::jetstream::object_store::Config {
            bucket: CHECKPOINT_BUCKET.to_string(),
            description: Some("pilot-tracker projection checkpoints".to_string()),
            storage: StorageType::File,
            num_replicas: self.replicas,
            ..Default::default()
        }
    }

    /// Each site's `PILOT_EVENTS`, whole, reached through the site's JetStream domain; `None`
    /// when there are no sites, as a stream without sources is configured. A sourced event
    /// keeps its subject and `Nats-Msg-Id`, so the centre holds each one once.
    fn event_sources(&self) -> Option<Vec<Source>> {
        if self.sites.is_empty() {
            return None;
        }
        let sources = self
            .sites
            .iter()
            .map(|domain| Source {
                name: EVENTS_STREAM.to_string(),
                external: Some(External {
                    api_prefix: crate::sites::api_prefix(domain),
                    delivery_prefix: None,
                }),
                ..Source::default()
            })
            .collect();
        Some(sources)
    }

    fn stream(&self, name: &str, subjects: &str, description: &str) -> Config {
        Config {
            name: name.to_string(),
            subjects: vec![subjects.to_string()],
            description: Some(description.to_string()),
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::New,
            num_replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            allow_atomic_publish: true,
            // Unlimited: an event store never drops history to make room.
            max_messages: -1,
            max_bytes: -1,
            max_messages_per_subject: -1,
            max_message_size: -1,
            ..Config::default()
        }
    }

    /// Creates every stream (and the checkpoint store) that is missing and checks the
    /// streams that exist, the checkpoint store's replicas included.
    ///
    /// With more than one replica the server must be part of a cluster, and every stream
    /// must be placed on that many servers: otherwise this refuses, saying why, rather than
    /// serve a log that is not copied as the operator asked.
    pub async fn ensure(&self, js: &Context) -> Result<(), LayoutError> {
        let info = js.client().server_info();
        if self.replicas > 1 && info.cluster.is_none() {
            return Err(LayoutError::NotClustered {
                replicas: self.replicas,
                server: format!("{}:{}", info.host, info.port),
            });
        }
        self.check(js, Check::Create).await?;
        self.ensure_checkpoint_store(js).await
    }

    async fn ensure_checkpoint_store(&self, js: &Context) -> Result<(), LayoutError> {
        let backing = checkpoint_stream();
        match js.get_stream(&backing).await {
            Ok(mut existing) => {
                let info = existing
                    .info()
                    .await
                    .map_err(|e| LayoutError::Unavailable {
                        stream: backing.clone(),
                        message: e.to_string(),
                    })?;
                if info.config.num_replicas != self.replicas {
                    return Err(LayoutError::Mismatch {
                        stream: backing,
                        differences: vec![format!(
                            "num_replicas is {}, expected {}",
                            info.config.num_replicas, self.replicas
                        )],
                    });
                }
                Ok(())
            }
            Err(e) if is_not_found(&e) => {
                js.create_object_store(self.checkpoint_store())
                    .await
                    .map_err(|e| {
                        self.creation_failed(&format!("object store {CHECKPOINT_BUCKET}"), &e)
                    })?;
                tracing::info!(
                    message = "Created the checkpoint store.",
                    bucket = CHECKPOINT_BUCKET,
                    replicas = self.replicas
                );
                Ok(())
            }
            Err(e) => Err(LayoutError::Unavailable {
                stream: backing,
                message: e.to_string(),
            }),
        }
    }

    /// Why creating `what` failed: with several replicas the likely cause is placement (too
    /// few servers up, or no room), which the operator fixes differently from a permission.
    fn creation_failed(&self, what: &str, error: &dyn std::fmt::Display) -> LayoutError {
        let message = error.to_string();
        if self.replicas > 1 && is_placement_failure(&message) {
            LayoutError::CannotPlace {
                stream: what.to_string(),
                replicas: self.replicas,
                message,
            }
        } else {
            LayoutError::CannotCreate {
                stream: what.to_string(),
                message,
            }
        }
    }

    /// Checks that every stream exists exactly as this layout says, replicas included, and
    /// changes nothing: the running service's watch ([`Check::Exact`]).
    pub async fn verify(&self, js: &Context) -> Result<(), LayoutError> {
        self.check(js, Check::Exact).await
    }

    /// Checks that every stream exists as pilot-tracker keeps it, with however many replicas
    /// and sourced sites the operator chose, and changes nothing: for readers (`pilot export
    /// --nats`), which must not create streams on a server that turns out not to be
    /// pilot-tracker's, and read a single server, a cluster and a centre alike.
    pub async fn verify_readable(&self, js: &Context) -> Result<(), LayoutError> {
        self.check(js, Check::AsDeployed).await
    }

    async fn check(&self, js: &Context, check: Check) -> Result<(), LayoutError> {
        let create = check == Check::Create;
        let mut streams = self.configs();
        // A reader may not see the key store at all, not even its info.
        if check != Check::AsDeployed {
            streams.push(self.subject_keys());
        }
        for mut wanted in streams {
            let stream = wanted.name.clone();
            let unavailable = |e: &dyn std::fmt::Display| LayoutError::Unavailable {
                stream: stream.clone(),
                message: e.to_string(),
            };
            match js.get_stream(&wanted.name).await {
                Ok(mut existing) => {
                    let info = existing.info().await.map_err(|e| unavailable(&e))?;
                    if check == Check::AsDeployed {
                        wanted.num_replicas = info.config.num_replicas;
                        wanted.sources = info.config.sources.clone();
                    }
                    let differences = differences(&wanted, &info.config);
                    if create && differences.len() == 1 && differences[0].starts_with("republish ")
                    {
                        // Added in a later version; republishing takes no protection away.
                        js.update_stream(&wanted)
                            .await
                            .map_err(|e| unavailable(&e))?;
                        tracing::info!(message = "Added republishing to stream.", stream = %wanted.name);
                    } else if !differences.is_empty() {
                        return Err(LayoutError::Mismatch {
                            stream,
                            differences,
                        });
                    }
                }
                Err(e) if is_not_found(&e) && !create => {
                    return Err(LayoutError::Missing { stream });
                }
                Err(e) if is_not_found(&e) => {
                    js.create_stream(wanted.clone())
                        .await
                        .map_err(|e| self.creation_failed(&format!("stream {stream}"), &e))?;
                    tracing::info!(message = "Created stream.", stream = %wanted.name, replicas = self.replicas);
                }
                Err(e) => return Err(unavailable(&e)),
            }
        }
        Ok(())
    }
}

/// What [`Layout::check`] does with each stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Create what is missing; check the rest exactly.
    Create,
    /// Check every stream exactly; create nothing.
    Exact,
    /// Check every stream but how it is deployed (replica count, sourced sites); create
    /// nothing.
    AsDeployed,
}

/// The settings pilot-tracker relies on, compared one by one so the report says which differ.
fn differences(wanted: &Config, found: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, wanted: String, found: String| {
        if wanted != found {
            out.push(format!("{name} is {found}, expected {wanted}"));
        }
    };
    check(
        "subjects",
        format!("{:?}", wanted.subjects),
        format!("{:?}", found.subjects),
    );
    check(
        "storage",
        format!("{:?}", wanted.storage),
        format!("{:?}", found.storage),
    );
    check(
        "retention",
        format!("{:?}", wanted.retention),
        format!("{:?}", found.retention),
    );
    check(
        "discard",
        format!("{:?}", wanted.discard),
        format!("{:?}", found.discard),
    );
    check(
        "num_replicas",
        wanted.num_replicas.to_string(),
        found.num_replicas.to_string(),
    );
    check(
        "duplicate_window",
        format!("{:?}", wanted.duplicate_window),
        format!("{:?}", found.duplicate_window),
    );
    check(
        "deny_delete",
        wanted.deny_delete.to_string(),
        found.deny_delete.to_string(),
    );
    check(
        "deny_purge",
        wanted.deny_purge.to_string(),
        found.deny_purge.to_string(),
    );
    check(
        "allow_rollup_hdrs",
        wanted.allow_rollup.to_string(),
        found.allow_rollup.to_string(),
    );
    check(
        "discard_new_per_subject",
        wanted.discard_new_per_subject.to_string(),
        found.discard_new_per_subject.to_string(),
    );
    check(
        "allow_direct",
        wanted.allow_direct.to_string(),
        found.allow_direct.to_string(),
    );
    check(
        "allow_atomic_publish",
        wanted.allow_atomic_publish.to_string(),
        found.allow_atomic_publish.to_string(),
    );
    check(
        "max_messages",
        wanted.max_messages.to_string(),
        found.max_messages.to_string(),
    );
    check(
        "max_bytes",
        wanted.max_bytes.to_string(),
        found.max_bytes.to_string(),
    );
    check(
        "max_age",
        format!("{:?}", wanted.max_age),
        format!("{:?}", found.max_age),
    );
    check(
        "max_messages_per_subject",
        wanted.max_messages_per_subject.to_string(),
        found.max_messages_per_subject.to_string(),
    );
    check(
        "max_message_size",
        wanted.max_message_size.to_string(),
        found.max_message_size.to_string(),
    );
    check(
        "sealed",
        wanted.sealed.to_string(),
        found.sealed.to_string(),
    );
    check(
        "allow_message_ttl",
        wanted.allow_message_ttl.to_string(),
        found.allow_message_ttl.to_string(),
    );
    check(
        "mirror",
        wanted.mirror.is_some().to_string(),
        found.mirror.is_some().to_string(),
    );
    check(
        "republish",
        format!("{:?}", wanted.republish),
        format!("{:?}", found.republish),
    );
    out.extend(source_differences(wanted, found));
    out
}

/// The stream behind the checkpoint object store (`OBJ_<bucket>`, as JetStream names it).
fn checkpoint_stream() -> String {
    format!("OBJ_{CHECKPOINT_BUCKET}")
}

/// Whether a server's refusal to create a stream says it could not place the replicas:
/// too few servers in the cluster, none with room, or no cluster at all. Told by the
/// server's description, which names the cause the same way for streams and object stores.
fn is_placement_failure(message: &str) -> bool {
    const CAUSES: [&str; 3] = [
        "insufficient resources",
        "no suitable peers",
        "replicas > 1 not supported",
    ];
    let message = message.to_ascii_lowercase();
    CAUSES.iter().any(|cause| message.contains(cause))
}

/// How a stream's sources differ from the sites the layout names: each site sourced but not
/// named, and each named but not sourced. A source that is not a whole site's `PILOT_EVENTS`
/// (another stream, a filter, a local stream) is reported as it is, never taken for a site.
fn source_differences(wanted: &Config, found: &Config) -> Vec<String> {
    let names = |c: &Config| -> Vec<String> {
        let mut names: Vec<String> = c.sources.iter().flatten().map(source_name).collect();
        names.sort();
        names
    };
    let (wanted, found) = (names(wanted), names(found));
    let mut out = Vec::new();
    let extra: Vec<&String> = found.iter().filter(|f| !wanted.contains(f)).collect();
    if !extra.is_empty() {
        out.push(format!(
            "it sources {}, which this layout does not name as sites (expected {})",
            list(&extra),
            if wanted.is_empty() {
                "no sources".to_string()
            } else {
                list(&wanted.iter().collect::<Vec<_>>())
            }
        ));
    }
    let missing: Vec<&String> = wanted.iter().filter(|w| !found.contains(w)).collect();
    if !missing.is_empty() {
        out.push(format!(
            "it does not source {}, which this layout names",
            list(&missing)
        ));
    }
    out
}

/// A source as a difference names it: the site's domain for a whole site's `PILOT_EVENTS`,
/// else what the source is.
fn source_name(source: &Source) -> String {
    let domain = source
        .external
        .as_ref()
        .and_then(|e| crate::sites::domain_of(&e.api_prefix));
    let whole = source.filter_subject.as_deref().is_none_or(str::is_empty)
        && source.subject_transforms.is_empty()
        && source.name == EVENTS_STREAM;
    match (domain, &source.external) {
        (Some(domain), _) if whole => format!("site {domain}"),
        (_, Some(external)) => format!("stream {} via {}", source.name, external.api_prefix),
        (_, None) => format!("local stream {}", source.name),
    }
}

fn list(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_not_found(error: &async_nats::jetstream::context::GetStreamError) -> bool {
    use async_nats::jetstream::context::GetStreamErrorKind;
    use async_nats::jetstream::ErrorCode;
    matches!(error.kind(), GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_keep_the_alert_subject_after_the_sink() {
        assert_eq!(
            dead_letter_subject("webhook", "pilot.alerts.fired.0192abcd.1"),
            "pilot.dead.webhook.fired.0192abcd.1"
        );
        assert_eq!(
            dead_letter_subject("webhook", "elsewhere.x"),
            "pilot.dead.webhook.elsewhere.x"
        );
    }

    #[test]
    fn alert_subjects_are_the_alert_streams() {
        assert!(is_alert_subject("pilot.alerts.fired.0192abcd.1"));
        assert!(!is_alert_subject("pilot.alerts."));
        assert!(!is_alert_subject("pilot.alerts.fired..1"));
        assert!(!is_alert_subject("pilot.alertsx.fired.1"));
        assert!(!is_alert_subject("elsewhere.fired.1"));
    }

    fn events_config(layout: &Layout) -> Config {
        layout.configs().remove(0)
    }

    fn centre(sites: &[&str]) -> Layout {
        Layout {
            sites: sites.iter().map(|s| s.to_string()).collect(),
            ..Layout::default()
        }
    }

    #[test]
    fn the_centre_sources_each_site_through_its_domain() {
        let config = events_config(&centre(&["office-a", "office-b"]));
        let sources = config.sources.unwrap();
        assert_eq!(sources.len(), 2);
        assert!(sources.iter().all(|s| s.name == EVENTS_STREAM));
        assert_eq!(
            sources[1].external.as_ref().unwrap().api_prefix,
            "$JS.office-b.API"
        );
        assert_eq!(events_config(&Layout::default()).sources, None);
        // The other streams stay each server's own.
        assert!(centre(&["office-a"]).configs()[1..]
            .iter()
            .all(|c| c.sources.is_none()));
    }

    #[test]
    fn sources_other_than_the_named_sites_are_named_in_the_mismatch() {
        let wanted = events_config(&centre(&["office-a", "office-b"]));
        assert!(differences(&wanted, &wanted).is_empty());
        // The same sites in another order are the same layout.
        let reordered = events_config(&centre(&["office-b", "office-a"]));
        assert!(differences(&wanted, &reordered).is_empty());

        let found = events_config(&centre(&["office-a", "office-c"]));
        let report = differences(&wanted, &found).join("; ");
        assert!(
            report.contains("sources site office-c, which this layout does not name"),
            "{report}"
        );
        assert!(
            report.contains("does not source site office-b, which this layout names"),
            "{report}"
        );

        // A site or a single server expects no sources at all.
        let report = differences(&events_config(&Layout::default()), &found).join("; ");
        assert!(report.contains("expected no sources"), "{report}");
        let local = Config {
            sources: Some(vec![Source {
                name: "ELSEWHERE".into(),
                ..Source::default()
            }]),
            ..events_config(&Layout::default())
        };
        let report = differences(&wanted, &local).join("; ");
        assert!(report.contains("local stream ELSEWHERE"), "{report}");
    }

    #[test]
    fn the_key_store_keeps_each_key_once_and_deletes_one_message_at_a_time() {
        let keys = Layout::default().subject_keys();
        assert_eq!(keys.name, SUBJECT_KEYS_STREAM);
        assert_eq!(keys.subjects, [SUBJECT_KEYS_SUBJECTS]);
        assert_eq!(keys.max_messages_per_subject, 1);
        assert!(keys.discard_new_per_subject && keys.discard == DiscardPolicy::New);
        assert!(!keys.allow_rollup && keys.deny_purge);
        // The eraser's secure delete is a message delete: the stream allows it, the
        // credentials refuse it to everyone else.
        assert!(!keys.deny_delete);
        assert_eq!(
            subject_key_subject(uuid::Uuid::nil()),
            "$KV.PILOT_SUBJECT_KEYS.00000000-0000-0000-0000-000000000000"
        );

        // A bucket as `nats kv add` makes it (rollups, purges, a second value replacing the
        // first) is reported, never used.
        let plain = Config {
            allow_rollup: true,
            deny_purge: false,
            discard_new_per_subject: false,
            ..keys.clone()
        };
        let report = differences(&keys, &plain).join("; ");
        for expected in [
            "allow_rollup_hdrs is true, expected false",
            "deny_purge is false, expected true",
            "discard_new_per_subject is false, expected true",
        ] {
            assert!(report.contains(expected), "{report}");
        }
        // The readers' check leaves it out: their credential may not see it.
        assert!(Layout::default()
            .configs()
            .iter()
            .all(|c| c.name != SUBJECT_KEYS_STREAM));
    }
}
