//! The JetStream event log: the system of record.
//!
//! - Append: one message per event on its chain's subject, `Nats-Msg-Id` = event_id so a retry
//!   never duplicates, and `Nats-Expected-Last-Subject-Sequence` = the chain's last position so
//!   two writers cannot both extend the same chain. Several events of one chain go in one
//!   atomic batch (server 2.12+, ADR-50): all are stored or none.
//! - Read one chain: batched direct gets by subject (`next_by_subj`), served from the stream's
//!   subject index, without a consumer and without scanning other chains.
//! - Read the log: batched direct gets by sequence.
//! - The alert stream ([`crate::alerts::AlertLog`]): `alerts` records, reads and follows it;
//!   `delivery` keeps the webhook's durable consumer and the dead letters.

mod alerts;
mod delivery;

pub use delivery::{JetStreamNotification, JetStreamQueue};

use crate::layout::{chain_subject, Layout, LayoutError, EVENTS_STREAM, QUARANTINE_STREAM};
use crate::log::{chain_key, EventLog, LogError, Outgoing, Stored};
use crate::version;
use async_nats::header::{self, HeaderMap};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context, ErrorCode};
use async_nats::Client;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use pilot_events::Subject;
use std::time::Duration;
use thiserror::Error;

/// Headers of a quarantined message: why it was set aside, and where it stood in the log.
pub const QUARANTINE_REASON: &str = "Pilot-Quarantine-Reason";
pub const QUARANTINE_POSITION: &str = "Pilot-Position";

pub use crate::layout::CHECKPOINT_BUCKET;

/// How many messages one direct-get request asks for when the caller wants a bounded page.
const READ_BATCH: usize = 512;
/// How many messages one request of a whole read ([`JetStreamLog::read_pages`]) asks for:
/// a pilot's chain (thousands of events) comes in one request, and the end-of-batch reply
/// says when the server stopped short, so nothing depends on the server granting it all.
const WHOLE_READ_BATCH: usize = 100_000;
/// The end-of-batch reply's count of messages the request would still match (ADR-31).
const NATS_NUM_PENDING: &str = "Nats-Num-Pending";
/// How many of a chain's messages one direct get reads before the rest is streamed.
const CHAIN_FIRST_PAGE: usize = 64;
/// How long one publish waits for the stream's acknowledgement. A healthy cluster answers in
/// milliseconds; the wait ends sooner than async-nats's 5 s so that a publish lost with a dead
/// stream leader is sent again soon after a new one is elected.
const PUBLISH_ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an append keeps publishing again while the stream does not answer
/// ([`JetStreamLog::publish_patiently`]), and opening the log retries its layout.
const ELECTION_PATIENCE: Duration = Duration::from_secs(12);
/// The pause between two of those publishes.
const REPUBLISH_PAUSE: Duration = Duration::from_millis(250);
/// How long a read waits for the server before giving up.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error(transparent)]
    Version(#[from] version::VersionError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

#[derive(Debug, Clone)]
pub struct JetStreamLog {
    client: Client,
    js: Context,
    replicas: usize,
}

impl JetStreamLog {
    /// Connects, refuses servers older than 2.12.1, and creates or verifies the streams.
    pub async fn connect(url: &str, layout: &Layout) -> Result<Self, ConnectError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| ConnectError::Connect {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        Self::with_client(client, layout).await
    }

    /// Connects to a server that already holds a pilot-tracker log, for reading: the streams
    /// are verified, never created or changed.
    pub async fn open_existing(url: &str) -> Result<Self, ConnectError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| ConnectError::Connect {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        Self::open_existing_client(client).await
    }

    /// The same, on a client the caller configured (a login, TLS).
    pub async fn open_existing_client(client: Client) -> Result<Self, ConnectError> {
        version::check(&client.server_info().version)?;
        let js = jetstream::new(client.clone());
        let layout = Layout::default();
        layout.verify_readable(&js).await?;
        Ok(JetStreamLog {
            client,
            js,
            replicas: layout.replicas,
        })
    }

    /// The same, on a client the caller configured (auth, TLS, cluster URLs).
    pub async fn with_client(client: Client, layout: &Layout) -> Result<Self, ConnectError> {
        version::check(&client.server_info().version)?;
        let js = jetstream::new(client.clone());
        // A cluster that has just started, or is electing, answers JetStream requests only
        // once it has a leader: as patient here as an append is ([`ELECTION_PATIENCE`]).
        let deadline = tokio::time::Instant::now() + ELECTION_PATIENCE;
        loop {
            match layout.ensure(&js).await {
                Ok(()) => break,
                Err(LayoutError::Unavailable { stream, message })
                    if tokio::time::Instant::now() < deadline =>
                {
                    tracing::info!(
                        message = "JetStream did not answer yet (a cluster still electing?); trying again.",
                        %stream,
                        reason = %message
                    );
                    tokio::time::sleep(REPUBLISH_PAUSE).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(JetStreamLog {
            client,
            js,
            replicas: layout.replicas,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn jetstream(&self) -> &Context {
        &self.js
    }

    /// Every message of `stream` from position `from` on, then each new one as it is stored:
    /// an ordered consumer (ephemeral; the server removes it once the stream is dropped).
    pub async fn tail(
        &self,
        stream: &str,
        from: u64,
    ) -> Result<BoxStream<'static, Result<Stored, LogError>>, LogError> {
        use async_nats::jetstream::consumer::pull::OrderedConfig;
        use async_nats::jetstream::consumer::DeliverPolicy;
        let stream = self.js.get_stream(stream).await.map_err(unavailable)?;
        let config = OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from.max(1),
            },
            ..Default::default()
        };
        let consumer = stream.create_consumer(config).await.map_err(unavailable)?;
        let messages = consumer.messages().await.map_err(unavailable)?;
        Ok(messages
            .map(|message| {
                let message = message.map_err(unavailable)?;
                let position = message.info().map_err(unavailable)?.stream_sequence;
                Ok(Stored {
                    position,
                    bytes: message.payload.clone(),
                })
            })
            .boxed())
    }

    /// One chain's messages after `after`, streamed by an ephemeral consumer filtered to the
    /// chain's subject: the server pushes them in order without a reply per message, several
    /// times cheaper per message than direct gets for a long chain.
    async fn read_chain_streamed(
        &self,
        chain: Subject,
        after: u64,
    ) -> Result<Vec<Stored>, LogError> {
        use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
        let stream = self
            .js
            .get_stream_no_info(EVENTS_STREAM)
            .await
            .map_err(unavailable)?;
        let config = pull::Config {
            filter_subject: chain_subject(chain),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
            ack_policy: AckPolicy::None,
            inactive_threshold: Duration::from_secs(10),
            memory_storage: true,
            num_replicas: 1,
            ..Default::default()
        };
        let consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.create_consumer(config).await.map_err(unavailable)?;
        let mut pending = consumer.cached_info().num_pending;
        let name = consumer.cached_info().name.clone();
        let mut out = Vec::with_capacity(usize::try_from(pending).unwrap_or(0));
        while pending > 0 {
            let batch = usize::try_from(pending).unwrap_or(usize::MAX).min(100_000);
            let mut messages = consumer
                .fetch()
                .max_messages(batch)
                .messages()
                .await
                .map_err(unavailable)?;
            let before = out.len();
            while let Some(message) = tokio::time::timeout(READ_TIMEOUT, messages.next())
                .await
                .map_err(|_| LogError::Unavailable("chain read timed out".into()))?
            {
                let message = message.map_err(unavailable)?;
                let info = message.info().map_err(unavailable)?;
                pending = info.pending;
                out.push(Stored {
                    position: info.stream_sequence,
                    bytes: message.payload.clone(),
                });
            }
            if out.len() == before {
                break;
            }
        }
        // Removing it costs a round trip the reader need not wait for.
        tokio::spawn(async move { stream.delete_consumer(&name).await });
        Ok(out)
    }

    /// The checkpoint bucket, created on first use.
    async fn checkpoints(
        &self,
    ) -> Result<async_nats::jetstream::object_store::ObjectStore, LogError> {
        if let Ok(store) = self.js.get_object_store(CHECKPOINT_BUCKET).await {
            return Ok(store);
        }
        let config = Layout {
            replicas: self.replicas,
            ..Layout::default()
        }
        .checkpoint_store();
        self.js
            .create_object_store(config)
            .await
            .map_err(unavailable)
    }

    async fn publish_one(
        &self,
        subject: &str,
        expected_last: u64,
        event: &Outgoing,
    ) -> Result<u64, PublishFailure> {
        let message = PublishMessage::build()
            .payload(event.bytes.clone())
            .message_id(event.event_id.to_string())
            .expected_last_subject_sequence(expected_last);
        self.publish_acked(subject, message).await
    }

    /// Publishes and waits (up to [`PUBLISH_ACK_TIMEOUT`]) for the stream's acknowledgement;
    /// returns the stored position.
    pub(crate) async fn publish_acked(
        &self,
        subject: &str,
        message: PublishMessage,
    ) -> Result<u64, PublishFailure> {
        let ack = self
            .js
            .send_publish(subject.to_string(), message)
            .await
            .map_err(PublishFailure::from)?;
        let ack = tokio::time::timeout(PUBLISH_ACK_TIMEOUT, ack)
            .await
            .map_err(|_| {
                PublishFailure::Unavailable(format!(
                    "no acknowledgement within {PUBLISH_ACK_TIMEOUT:?} (the stream may be electing a leader)"
                ))
            })?;
        Ok(ack.map_err(PublishFailure::from)?.sequence)
    }

    /// [`EventLog::append`]'s publish, sent again with the same message ids while the stream
    /// does not answer and the connection holds, for up to [`ELECTION_PATIENCE`]: a killed or
    /// hung stream leader stops acknowledgements until the others elect a new one (4 to 10 s
    /// in nats-server), and an append that rides that out spares its client a 503 and a
    /// retry. Sending again is safe: the server drops a message id it already stored, and a
    /// resent append that did land meets a conflict that [`EventLog::append`] settles by the
    /// chain's tail.
    async fn publish_patiently(
        &self,
        subject: &str,
        expected_last: u64,
        events: &[Outgoing],
    ) -> Result<Vec<u64>, PublishFailure> {
        let deadline = tokio::time::Instant::now() + ELECTION_PATIENCE;
        loop {
            let result = match events {
                [] => return Ok(Vec::new()),
                [one] => self
                    .publish_one(subject, expected_last, one)
                    .await
                    .map(|p| vec![p]),
                many => self.publish_batch(subject, expected_last, many).await,
            };
            let connected = matches!(
                self.client.connection_state(),
                async_nats::connection::State::Connected
            );
            match result {
                Err(PublishFailure::Unavailable(reason))
                    if connected && tokio::time::Instant::now() < deadline =>
                {
                    tracing::debug!(message = "No acknowledgement; publishing again with the same message ids.", %reason);
                    tokio::time::sleep(REPUBLISH_PAUSE).await;
                }
                other => return other,
            }
        }
    }

    /// An atomic batch (ADR-50): every message carries the batch id and its place in it; the
    /// first carries the chain's expected last position; the last commits.
    async fn publish_batch(
        &self,
        subject: &str,
        expected_last: u64,
        events: &[Outgoing],
    ) -> Result<Vec<u64>, PublishFailure> {
        let batch_id = uuid::Uuid::now_v7().simple().to_string();
        let count = events.len();
        for (i, event) in events.iter().enumerate() {
            let mut headers = HeaderMap::new();
            headers.insert(header::NATS_MESSAGE_ID, event.event_id.to_string().as_str());
            headers.insert(header::NATS_BATCH_ID, batch_id.as_str());
            headers.insert(header::NATS_BATCH_SEQUENCE, (i + 1).to_string().as_str());
            if i == 0 {
                headers.insert(
                    header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
                    expected_last.to_string().as_str(),
                );
            }
            if i + 1 < count {
                // Intermediate messages are plain publishes: the server holds them until commit.
                self.client
                    .publish_with_headers(subject.to_string(), headers, event.bytes.clone())
                    .await
                    .map_err(|e| PublishFailure::Unavailable(e.to_string()))?;
            } else {
                headers.insert(header::NATS_BATCH_COMMIT, header::NATS_BATCH_COMMIT_FINAL);
                let message = PublishMessage::build()
                    .payload(event.bytes.clone())
                    .headers(headers);
                let last = self.publish_acked(subject, message).await?;
                let first = last + 1 - count as u64;
                return Ok((first..=last).collect());
            }
        }
        Ok(Vec::new())
    }

    /// When the message at `position` was stored, from the server's own timestamp. Public
    /// because the projection's lag (`pilot_runtime::follow::lag`) is measured with it.
    pub async fn stored_at(&self, position: u64) -> Result<Option<time::OffsetDateTime>, LogError> {
        let batch = self.direct_batch(EVENTS_STREAM, position, None, 1).await?;
        let stamp = batch
            .first()
            .and_then(|h| h.headers.as_ref())
            .and_then(|h| h.get(header::NATS_TIME_STAMP))
            .map(|v| v.to_string());
        Ok(stamp.and_then(|s| {
            time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).ok()
        }))
    }

    /// The position of the last message stored before `time` (0 if none): the log as it was
    /// known then. The server's own storage timestamps decide, so this is "as known at" on
    /// the store's clock; world dates (`occurred_at`) are the projections' business.
    pub async fn position_at(&self, time: time::OffsetDateTime) -> Result<u64, LogError> {
        let stamp = time
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| LogError::Refused(e.to_string()))?;
        let request = DirectGetRequest {
            seq: 0,
            batch: 1,
            next_by_subj: None,
            start_time: Some(&stamp),
        };
        let first_after = self.direct_get(EVENTS_STREAM, &request).await?;
        match first_after.first() {
            Some(headed) => Ok(headed.stored.position.saturating_sub(1)),
            None => self.last_position().await,
        }
    }

    /// One chain as it was known at `time` (see [`JetStreamLog::position_at`]).
    pub async fn read_chain_at(
        &self,
        chain: Subject,
        time: time::OffsetDateTime,
    ) -> Result<Vec<Stored>, LogError> {
        let until = self.position_at(time).await?;
        let mut chain = self.read_chain(chain, 0).await?;
        chain.retain(|s| s.position <= until);
        Ok(chain)
    }

    /// The chain's last stored message: its position and `Nats-Msg-Id`.
    async fn chain_tail(&self, chain: Subject) -> Result<Option<(u64, String)>, LogError> {
        let subject = chain_subject(chain);
        let stream = self
            .js
            .get_stream_no_info(EVENTS_STREAM)
            .await
            .map_err(unavailable)?;
        match stream.direct_get_last_for_subject(subject).await {
            Ok(message) => {
                let id = message
                    .headers
                    .get(header::NATS_MESSAGE_ID)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                Ok(Some((message.sequence, id)))
            }
            Err(e) if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Every message of `stream` with its headers, read page by page (the quarantine and the
    /// dead letters: small streams read whole).
    pub(crate) async fn read_all_headed(&self, stream: &str) -> Result<Vec<Headed>, LogError> {
        self.read_pages(stream, 1, None).await
    }

    /// Every message of `stream` from `seq` on (of `subject` when given), in as few requests
    /// as the server allows, all answered on one subscription: loading a chain used to pay a
    /// subscribe, a round trip and an unsubscribe per 512 events. Each batch ends with the
    /// server's end-of-batch reply, whose `Nats-Num-Pending` says whether more remain.
    async fn read_pages(
        &self,
        stream: &str,
        seq: u64,
        subject: Option<&str>,
    ) -> Result<Vec<Headed>, LogError> {
        let mut replies = DirectGets::open(&self.client, stream).await?;
        let mut out = Vec::new();
        let mut next = seq;
        let result = loop {
            let request = DirectGetRequest {
                seq: next,
                batch: WHOLE_READ_BATCH,
                next_by_subj: subject,
                start_time: None,
            };
            let before = out.len();
            match replies.batch(&request, &mut out).await {
                Ok(BatchEnd::More) if out.len() > before => {
                    next = out.last().map_or(next, |h: &Headed| h.stored.position + 1);
                }
                Ok(_) => break Ok(out),
                Err(e) => break Err(e),
            }
        };
        replies.close().await;
        result
    }

    /// One batched direct get (one page): up to `batch` messages from `seq` on, of `subject`
    /// when given.
    pub(crate) async fn direct_batch(
        &self,
        stream: &str,
        seq: u64,
        subject: Option<&str>,
        batch: usize,
    ) -> Result<Vec<Headed>, LogError> {
        let request = DirectGetRequest {
            seq,
            batch,
            next_by_subj: subject,
            start_time: None,
        };
        self.direct_get(stream, &request).await
    }

    /// Sends one batched direct-get request and collects its replies until the end of batch.
    async fn direct_get(
        &self,
        stream: &str,
        request: &DirectGetRequest<'_>,
    ) -> Result<Vec<Headed>, LogError> {
        let mut replies = DirectGets::open(&self.client, stream).await?;
        let mut out = Vec::with_capacity(request.batch.min(READ_BATCH));
        let result = replies.batch(request, &mut out).await;
        replies.close().await;
        result.map(|_| out)
    }
}

/// A batched direct-get request (ADR-31): from sequence `seq`, or from the first message
/// stored at or after `start_time` (RFC 3339) when given.
struct DirectGetRequest<'a> {
    seq: u64,
    batch: usize,
    next_by_subj: Option<&'a str>,
    start_time: Option<&'a str>,
}

impl DirectGetRequest<'_> {
    fn to_json(&self) -> serde_json::Value {
        let mut request = match self.start_time {
            Some(stamp) => serde_json::json!({ "start_time": stamp, "batch": self.batch }),
            None => serde_json::json!({ "seq": self.seq, "batch": self.batch }),
        };
        if let Some(subject) = self.next_by_subj {
            request["next_by_subj"] = serde_json::Value::String(subject.to_string());
        }
        request
    }
}

/// How a batch ended: the server has more for the request, or not.
enum BatchEnd {
    More,
    Done,
}

/// One subscription that takes the replies to any number of direct-get requests in turn.
struct DirectGets {
    client: Client,
    api: String,
    inbox: String,
    replies: async_nats::Subscriber,
}

impl DirectGets {
    async fn open(client: &Client, stream: &str) -> Result<Self, LogError> {
        let inbox = client.new_inbox();
        let replies = client.subscribe(inbox.clone()).await.map_err(unavailable)?;
        Ok(DirectGets {
            client: client.clone(),
            api: format!("$JS.API.DIRECT.GET.{stream}"),
            inbox,
            replies,
        })
    }

    /// Sends one batched request and appends its messages to `out`, up to and including the
    /// end-of-batch reply, so the next request's replies start clean on the same inbox.
    async fn batch(
        &mut self,
        request: &DirectGetRequest<'_>,
        out: &mut Vec<Headed>,
    ) -> Result<BatchEnd, LogError> {
        let body = Bytes::from(request.to_json().to_string());
        self.client
            .publish_with_reply(self.api.clone(), self.inbox.clone(), body)
            .await
            .map_err(unavailable)?;
        let start = out.len();
        loop {
            let message = tokio::time::timeout(READ_TIMEOUT, self.replies.next())
                .await
                .map_err(|_| LogError::Unavailable("direct get timed out".into()))?
                .ok_or_else(|| LogError::Unavailable("direct get subscription closed".into()))?;
            match message.status.map(|s| s.as_u16()) {
                // End of batch: more remain when the server says so. A server that does not
                // say is taken at its word when it sent fewer than asked.
                Some(204) => {
                    let pending = message
                        .headers
                        .as_ref()
                        .and_then(|h| h.get(NATS_NUM_PENDING))
                        .and_then(|v| v.as_str().parse::<u64>().ok());
                    let more = match pending {
                        Some(pending) => pending > 0,
                        None => out.len() - start >= request.batch,
                    };
                    return Ok(if more { BatchEnd::More } else { BatchEnd::Done });
                }
                // Nothing (more) to get.
                Some(404) => return Ok(BatchEnd::Done),
                Some(status) if status != 200 => {
                    return Err(LogError::Refused(format!(
                        "direct get answered {status}: {}",
                        message.description.unwrap_or_default()
                    )))
                }
                _ => {}
            }
            out.push(Headed::from_reply(message)?);
        }
    }

    async fn close(mut self) {
        // The subscription ends with this reader either way; an unsubscribe that cannot
        // reach the server changes nothing for the caller.
        let _ = self.replies.unsubscribe().await;
    }
}

/// A message from a direct get, with its headers.
pub(crate) struct Headed {
    pub(crate) stored: Stored,
    pub(crate) headers: Option<HeaderMap>,
}

impl Headed {
    /// A direct get's message: its payload at the position `Nats-Sequence` names.
    fn from_reply(message: async_nats::Message) -> Result<Headed, LogError> {
        let position = message
            .headers
            .as_ref()
            .and_then(|h| h.get(header::NATS_SEQUENCE))
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .ok_or_else(|| LogError::Refused("direct get reply without Nats-Sequence".into()))?;
        Ok(Headed {
            stored: Stored {
                position,
                bytes: message.payload,
            },
            headers: message.headers,
        })
    }

    /// The value of header `name`, if the message has it.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.to_string())
    }
}

/// "atomic publish batch contains duplicate message id".
const BATCH_DUPLICATE_MESSAGE_ID: u64 = 10201;

/// What a publish can end in, before it is turned into a [`LogError`].
#[derive(Debug)]
pub(crate) enum PublishFailure {
    /// Codes 10071 and 10164: the chain's last position is not the expected one.
    WrongLastSequence,
    Refused(String),
    Unavailable(String),
}

impl From<async_nats::jetstream::context::PublishError> for PublishFailure {
    fn from(error: async_nats::jetstream::context::PublishError) -> Self {
        let code = std::error::Error::source(&error)
            .and_then(|s| s.downcast_ref::<jetstream::Error>())
            .map(|e| e.error_code());
        match (error.kind(), code) {
            (PublishErrorKind::WrongLastSequence, _) => PublishFailure::WrongLastSequence,
            (
                _,
                Some(
                    ErrorCode::STREAM_WRONG_LAST_SEQUENCE
                    | ErrorCode::STREAM_WRONG_LAST_SEQUENCE_CONSTANT,
                ),
            ) => PublishFailure::WrongLastSequence,
            // A retried atomic batch: its message ids are already stored (ADR-50 refuses the
            // whole batch rather than deduplicating it). Settled like a conflict, by the tail.
            (_, Some(ErrorCode(BATCH_DUPLICATE_MESSAGE_ID))) => PublishFailure::WrongLastSequence,
            // No responders: nothing listens on the subject while a stream elects a leader.
            // A stream that is really missing is the layout check's to report.
            (
                PublishErrorKind::TimedOut
                | PublishErrorKind::BrokenPipe
                | PublishErrorKind::StreamNotFound,
                _,
            ) => PublishFailure::Unavailable(error.to_string()),
            _ => PublishFailure::Refused(format!(
                "{error} ({})",
                std::error::Error::source(&error)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            )),
        }
    }
}

pub(crate) fn unavailable(error: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(error.to_string())
}

impl crate::log::Reachable for JetStreamLog {
    fn outage(&self) -> Option<String> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => None,
            state => Some(format!("NATS is {state}")),
        }
    }
}

impl EventLog for JetStreamLog {
    fn max_event_bytes(&self) -> usize {
        crate::log::event_bytes_within(self.client.server_info().max_payload)
    }

    async fn append(
        &self,
        chain: Subject,
        expected_last: u64,
        events: Vec<Outgoing>,
    ) -> Result<Vec<u64>, LogError> {
        let subject = chain_subject(chain);
        if events.is_empty() {
            return Ok(Vec::new());
        }
        match self
            .publish_patiently(&subject, expected_last, &events)
            .await
        {
            Ok(positions) => Ok(positions),
            Err(PublishFailure::WrongLastSequence) => {
                // From 2.12 the expected-sequence check runs before deduplication, so a retry of
                // an append that did land meets a conflict: it succeeded if its last event is
                // the chain's last.
                let tail = self.chain_tail(chain).await?;
                let last_id = events.last().map(|e| e.event_id.to_string());
                match tail {
                    Some((position, id)) if Some(&id) == last_id.as_ref() => {
                        let first = position + 1 - events.len() as u64;
                        Ok((first..=position).collect())
                    }
                    tail => Err(LogError::Conflict {
                        chain: chain_key(chain),
                        expected: expected_last,
                        found: tail.map_or(0, |(position, _)| position),
                    }),
                }
            }
            Err(PublishFailure::Refused(message)) => Err(LogError::Refused(message)),
            Err(PublishFailure::Unavailable(message)) => Err(LogError::Unavailable(message)),
        }
    }

    /// A short chain (most) in one direct get; a longer one's rest streamed by a consumer
    /// ([`JetStreamLog::read_chain_streamed`]), which costs the server and the client a
    /// fraction of a direct get's reply per message.
    async fn read_chain(&self, chain: Subject, after: u64) -> Result<Vec<Stored>, LogError> {
        let subject = chain_subject(chain);
        let mut out: Vec<Stored> = self
            .direct_batch(EVENTS_STREAM, after + 1, Some(&subject), CHAIN_FIRST_PAGE)
            .await?
            .into_iter()
            .map(|h| h.stored)
            .collect();
        if out.len() < CHAIN_FIRST_PAGE {
            return Ok(out);
        }
        let last = out.last().map_or(after, |s| s.position);
        out.extend(self.read_chain_streamed(chain, last).await?);
        Ok(out)
    }

    async fn read_from(&self, from: u64, max: usize) -> Result<Vec<Stored>, LogError> {
        let batch = self
            .direct_batch(EVENTS_STREAM, from.max(1), None, max.clamp(1, READ_BATCH))
            .await?;
        Ok(batch.into_iter().map(|h| h.stored).collect())
    }

    async fn quarantine(&self, stored: &Stored, reason: &str) -> Result<(), LogError> {
        // Header values are single lines.
        let reason: String = reason
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        // One subject per position, expected empty: a second quarantine of the same position
        // (a rebuild meets the same bad message again) is refused by the server, at any age.
        let message = PublishMessage::build()
            .payload(stored.bytes.clone())
            .message_id(format!("quarantine-{}", stored.position))
            .expected_last_subject_sequence(0)
            .header(QUARANTINE_REASON, reason.as_str())
            .header(QUARANTINE_POSITION, stored.position.to_string().as_str());
        let subject = format!("pilot.quarantine.{}", stored.position);
        match self.publish_acked(&subject, message).await {
            Ok(_) | Err(PublishFailure::WrongLastSequence) => Ok(()),
            Err(PublishFailure::Refused(message)) => Err(LogError::Refused(message)),
            Err(PublishFailure::Unavailable(message)) => Err(LogError::Unavailable(message)),
        }
    }

    async fn quarantined(&self) -> Result<Vec<(u64, String, Bytes)>, LogError> {
        let entries = self.read_all_headed(QUARANTINE_STREAM).await?;
        Ok(entries
            .into_iter()
            .map(|headed| {
                let position = headed
                    .header(QUARANTINE_POSITION)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                let reason = headed.header(QUARANTINE_REASON).unwrap_or_default();
                (position, reason, headed.stored.bytes)
            })
            .collect())
    }

    async fn save_checkpoint(&self, name: &str, bytes: Bytes) -> Result<(), LogError> {
        let store = self.checkpoints().await?;
        let mut reader: &[u8] = &bytes;
        store.put(name, &mut reader).await.map_err(unavailable)?;
        Ok(())
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<Bytes>, LogError> {
        use async_nats::jetstream::object_store::GetErrorKind;
        use tokio::io::AsyncReadExt;
        let store = self.checkpoints().await?;
        let mut object = match store.get(name).await {
            Ok(object) => object,
            Err(e) if e.kind() == GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let mut bytes = Vec::new();
        object.read_to_end(&mut bytes).await.map_err(unavailable)?;
        Ok(Some(Bytes::from(bytes)))
    }

    async fn last_position(&self) -> Result<u64, LogError> {
        let stream = self
            .js
            .get_stream_no_info(EVENTS_STREAM)
            .await
            .map_err(unavailable)?;
        let info = stream.get_info().await.map_err(unavailable)?;
        Ok(info.state.last_sequence)
    }
}
