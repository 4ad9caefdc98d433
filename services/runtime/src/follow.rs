//! Following the JetStream log with a durable consumer, acknowledging after applying; a
//! rebuild through an ordered consumer; the projection's lag. Free functions over a
//! [`JetStreamLog`] (which `pilot-store` defines).

use crate::projection::Projection;
use crate::projector::{apply_decoded, catch_up, READ_BATCH};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use futures::{FutureExt, StreamExt};
use pilot_store::jetstream::JetStreamLog;
use pilot_store::layout::EVENTS_STREAM;
use pilot_store::log::{LogError, Stored};
use std::sync::Arc;
use tokio::sync::watch;

/// How often the server says the follow loop's pull is alive when it has nothing to send.
/// Two missed beats end the loop and [`run_projector`] starts it again: a consumer whose
/// leader died (a killed node) answers nothing, and without beats the loop would wait for
/// its pull to expire while every append waits for the projection.
const FOLLOW_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);
/// How long the follow loop waits for one check of the stream ([`check_stream`]).
const STREAM_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// How long one pull of the follow loop stays open at the server.
const FOLLOW_EXPIRES: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest wait between two tries of a projector that lost its consumer: short, since
/// appends wait for the projection, and a try costs the server one consumer lookup.
const RESUME_BACKOFF_CAP: std::time::Duration = std::time::Duration::from_secs(1);

/// The durable consumer's default name; give each projector process its own.
pub const DEFAULT_CONSUMER: &str = "pilot-projector";

/// A checkpoint is saved after this many new positions ...
pub const CHECKPOINT_EVERY: u64 = 100_000;
/// ... or this long after the last one when anything changed, and when the projector stops.
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// How often a following projector checks that the log still holds what it has seen (the same
/// stream, at least as long): a stream deleted and recreated stops the service within this.
pub const STREAM_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

fn unavailable(error: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(error.to_string())
}

/// Catches up with the log, then applies what the durable consumer `name` delivers until
/// `shutdown` turns true. Acknowledges (ack-all) only after applying, so a crash between
/// delivery and apply means a redelivery, which the projection ignores by position.
#[tracing::instrument(name = "projector", skip_all, fields(consumer = name))]
pub async fn follow(
    log: &JetStreamLog,
    name: &str,
    projection: Arc<Projection>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), LogError> {
    check_stream(log, &projection).await?;
    let rebuilt = rebuild(log, &projection).await?;
    catch_up(log, &projection).await?;
    tracing::info!(
        message = "Projections caught up with the log.",
        applied = rebuilt,
        position = projection.position()
    );
    let stream = log
        .jetstream()
        .get_stream(EVENTS_STREAM)
        .await
        .map_err(unavailable)?;
    let config = pull::Config {
        durable_name: Some(name.to_string()),
        ack_policy: AckPolicy::All,
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: projection.position() + 1,
        },
        max_ack_pending: 20_000,
        ..Default::default()
    };
    let consumer = stream
        .get_or_create_consumer(name, config)
        .await
        .map_err(unavailable)?;
    let mut messages = consumer
        .stream()
        .heartbeat(FOLLOW_HEARTBEAT)
        .expires(FOLLOW_EXPIRES)
        .messages()
        .await
        .map_err(unavailable)?;
    // What was rebuilt since the checkpoint the projection started from is worth saving.
    let mut checkpoint = Checkpoints::new(projection.resumed_from());
    let mut stream_check = tokio::time::interval(STREAM_CHECK_INTERVAL);
    loop {
        let woke = tokio::select! {
            next = messages.next() => Wake::Message(next),
            _ = tokio::time::sleep(CHECKPOINT_INTERVAL) => Wake::Idle,
            _ = stream_check.tick() => Wake::CheckStream,
            _ = shutdown.wait_for(|stop| *stop) => Wake::Stop,
        };
        let first = match woke {
            Wake::Message(next) => next,
            Wake::CheckStream => {
                // Bounded, and a check that cannot be made now is made next time: while a
                // stream elects a leader its info requests go unanswered, and waiting here
                // would stop the loop from applying what the consumer delivers.
                match tokio::time::timeout(STREAM_CHECK_TIMEOUT, check_stream(log, &projection))
                    .await
                {
                    Ok(Err(error)) if projection.halted().is_some() => return Err(error),
                    Ok(Err(error)) => {
                        tracing::debug!(message = "Could not check the stream; trying again later.", %error);
                    }
                    Err(_) => {
                        tracing::debug!(
                            message = "The stream check timed out; trying again later."
                        );
                    }
                    Ok(Ok(())) => {}
                }
                continue;
            }
            Wake::Idle => {
                checkpoint.maybe_save(log, name, &projection, true).await;
                continue;
            }
            Wake::Stop => {
                checkpoint.maybe_save(log, name, &projection, true).await;
                return Ok(());
            }
        };
        let Some(first) = first else {
            return Err(LogError::Unavailable("consumer closed".into()));
        };
        let batch = buffered_batch(first.map_err(unavailable)?, &mut messages)?;
        let (stored, decoded) = take_or_decode(&projection, &batch);
        apply_decoded(log, &projection, &stored, decoded).await?;
        if let Some(last) = batch.last() {
            last.ack().await.map_err(unavailable)?;
        }
        checkpoint.maybe_save(log, name, &projection, false).await;
    }
}

/// `first` and whatever else the consumer has already buffered, without waiting, so a burst
/// is applied under one lock.
fn buffered_batch<S, E>(
    first: async_nats::jetstream::Message,
    messages: &mut S,
) -> Result<Vec<async_nats::jetstream::Message>, LogError>
where
    S: futures::Stream<Item = Result<async_nats::jetstream::Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut batch = vec![first];
    while batch.len() < READ_BATCH {
        match messages.next().now_or_never() {
            Some(Some(message)) => batch.push(message.map_err(unavailable)?),
            _ => break,
        }
    }
    Ok(batch)
}

/// Consumer messages as stored messages, positioned by their stream sequence.
fn stored(batch: &[async_nats::jetstream::Message]) -> Vec<Stored> {
    batch
        .iter()
        .filter_map(|m| {
            Some(Stored {
                position: m.info().ok()?.stream_sequence,
                bytes: m.payload.clone(),
            })
        })
        .collect()
}

/// Consumer messages as stored messages, each with the envelope this process's writer offered
/// for it ([`Projection::take_offered`]), or else decoded here, outside the projection's lock.
fn take_or_decode(
    projection: &Projection,
    batch: &[async_nats::jetstream::Message],
) -> (Vec<Stored>, Decoded) {
    batch
        .iter()
        .filter_map(|m| {
            let stored = Stored {
                position: m.info().ok()?.stream_sequence,
                bytes: m.payload.clone(),
            };
            let offered = m
                .headers
                .as_ref()
                .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                .and_then(|id| projection.take_offered(id.as_str(), &stored.bytes));
            let envelope = offered.map_or_else(|| projection.decoder().decode(&stored.bytes), Ok);
            Some((stored, envelope))
        })
        .unzip()
}

/// Why the follow loop woke up.
enum Wake<T> {
    Message(Option<T>),
    Idle,
    CheckStream,
    Stop,
}

/// Halts `projection` (and fails) if the log no longer holds what it has seen: another
/// stream under the same name, or one that ends before the projection's position. Reading
/// on would apply the new log's positions as duplicates of old ones, so an append would be
/// acknowledged at a position the projection says it has, and then not be found.
async fn check_stream(log: &JetStreamLog, projection: &Projection) -> Result<(), LogError> {
    use crate::checkpoint::{behind, Anchored};
    if let Some(reason) = projection.halted() {
        return Err(LogError::Refused(reason));
    }
    let Some(stream) = projection.stream() else {
        let (stream, _) = log.stream_state().await?;
        projection.set_stream(stream);
        return Ok(());
    };
    if let Some(reason) = behind(log, &stream, projection.position()).await? {
        projection.halt(reason.clone());
        return Err(LogError::Refused(reason));
    }
    Ok(())
}

/// When the last checkpoint was saved, and the rule for the next.
struct Checkpoints {
    position: u64,
    at: std::time::Instant,
}

impl Checkpoints {
    fn new(position: u64) -> Self {
        Checkpoints {
            position,
            at: std::time::Instant::now(),
        }
    }

    /// Saves when enough has changed (or, with `due`, when anything has). A failed save is
    /// logged and retried at the next occasion: the projections themselves are unaffected.
    async fn maybe_save(
        &mut self,
        log: &JetStreamLog,
        name: &str,
        projection: &Projection,
        due: bool,
    ) {
        let position = projection.position();
        let changed = position > self.position;
        let enough = position >= self.position + CHECKPOINT_EVERY
            || self.at.elapsed() >= CHECKPOINT_INTERVAL;
        if !changed || !(due || enough) {
            return;
        }
        match crate::projector::save_checkpoint(log, name, projection).await {
            // Alert transitions wait to be recorded: try again at the next occasion.
            Ok(None) => {}
            Ok(Some(saved)) => {
                self.position = saved;
                self.at = std::time::Instant::now();
            }
            Err(error) => {
                tracing::warn!(message = "Could not save a checkpoint; will retry.", %error)
            }
        }
    }
}

/// [`follow`], started again after every failure (a server restart, a lost
/// connection) with a bounded backoff, until `shutdown` turns true. The projector never
/// stops for a failure of the server; it says so in the log and resumes.
pub async fn run_projector(
    log: &JetStreamLog,
    name: &str,
    projection: Arc<Projection>,
    shutdown: watch::Receiver<bool>,
) {
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        if projection.halted().is_some() {
            // Nothing to follow: the log holds less than what was seen. Wait for the stop.
            let mut stop = shutdown.clone();
            let _ = stop.wait_for(|s| *s).await;
            return;
        }
        match follow(log, name, projection.clone(), shutdown.clone()).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(message = "Projector interrupted; resuming.", %error, retry_in_ms = backoff.as_millis() as u64);
            }
        }
        let mut stop = shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(RESUME_BACKOFF_CAP);
    }
}

/// How far the projections trail the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    /// Stored messages not yet applied.
    pub events: u64,
    /// How long the oldest of them has been stored; 0 when there are none.
    pub seconds: f64,
}

/// The projection's lag behind the log, in messages and in seconds.
pub async fn lag(log: &JetStreamLog, projection: &Projection) -> Result<Lag, LogError> {
    use pilot_store::log::EventLog;
    let position = projection.position();
    let last = log.last_position().await?;
    let events = last.saturating_sub(position);
    if events == 0 {
        return Ok(Lag {
            events,
            seconds: 0.0,
        });
    }
    let stored_at = log.stored_at(position + 1).await?;
    let seconds = stored_at.map_or(0.0, |at| {
        (time::OffsetDateTime::now_utc() - at)
            .as_seconds_f64()
            .max(0.0)
    });
    Ok(Lag { events, seconds })
}

/// Applies everything stored beyond the projection's position, read with an ordered
/// consumer: the server streams the messages in order with flow control, several times
/// faster than request/reply reads. The consumer is ephemeral and deleted afterwards, so a
/// rebuild leaves nothing behind. Decoding runs on as many cores as the process may use
/// ([`decoders`]); the fold stays in order on one.
#[tracing::instrument(name = "rebuild", skip_all)]
pub async fn rebuild(log: &JetStreamLog, projection: &Projection) -> Result<u64, LogError> {
    rebuild_with(log, projection, decoders()).await
}

/// How many batches a rebuild decodes at once: one per core this process may run on (its
/// affinity mask, so `taskset` and container limits are respected).
pub fn decoders() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// [`rebuild`] decoding up to `decoders` batches at once on the blocking pool while the fold
/// applies the batch before them. Three stages: a task reads batches off the consumer, the
/// decodes run in parallel and are taken back in order, and this task folds them. The fold
/// sees the same messages in the same order whatever `decoders` is, so the result is the same.
pub async fn rebuild_with(
    log: &JetStreamLog,
    projection: &Projection,
    decoders: usize,
) -> Result<u64, LogError> {
    use async_nats::jetstream::consumer::pull::OrderedConfig;
    use pilot_store::log::EventLog;
    let last = log.last_position().await?;
    let before = projection.position();
    if before >= last {
        return Ok(0);
    }
    let stream = log
        .jetstream()
        .get_stream(EVENTS_STREAM)
        .await
        .map_err(unavailable)?;
    let name = format!("pilot-rebuild-{}", uuid::Uuid::now_v7().simple());
    let config = OrderedConfig {
        name: Some(name.clone()),
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: before + 1,
        },
        ..Default::default()
    };
    let consumer = stream.create_consumer(config).await.map_err(unavailable)?;
    let messages = consumer.messages().await.map_err(unavailable)?;
    let decoders = decoders.max(1);
    let (batches, mut to_fold) = tokio::sync::mpsc::channel(decoders * 2);
    let reader = tokio::spawn(read_batches(messages, last, batches));
    let decoder = projection.decoder().clone();
    let mut in_flight = futures::stream::FuturesOrdered::new();
    let mut reading = true;
    let result = async {
        while projection.position() < last {
            while reading && in_flight.len() < decoders {
                match to_fold.recv().await {
                    Some(batch) => in_flight.push_back(decode_off_thread(decoder.clone(), batch?)),
                    None => reading = false,
                }
            }
            let Some(decoded) = in_flight.next().await else {
                return Err(LogError::Unavailable("rebuild consumer closed".into()));
            };
            let (batch, decoded) = decoded.map_err(unavailable)?;
            apply_decoded(log, projection, &batch, decoded).await?;
        }
        Ok(())
    }
    .await;
    reader.abort();
    // Ordered consumers are recreated under numbered names when they reset; remove them all.
    let _ = stream.delete_consumer(&name).await;
    result.map(|()| projection.position().saturating_sub(before))
}

type Decoded = Vec<Result<pilot_events::Envelope, pilot_events::EventError>>;

/// Decodes `batch` on the blocking pool; the batch comes back beside what it decoded to.
fn decode_off_thread(
    decoder: pilot_events::Decoder,
    batch: Vec<Stored>,
) -> tokio::task::JoinHandle<(Vec<Stored>, Decoded)> {
    tokio::task::spawn_blocking(move || {
        let decoded = batch.iter().map(|s| decoder.decode(&s.bytes)).collect();
        (batch, decoded)
    })
}

/// Reads the consumer's messages up to position `last` into batches for the rebuild, until
/// the rebuild stops listening; a read error is passed on and ends the reading.
async fn read_batches<S>(
    mut messages: S,
    last: u64,
    batches: tokio::sync::mpsc::Sender<Result<Vec<Stored>, LogError>>,
) where
    S: futures::Stream<
            Item = Result<
                async_nats::jetstream::Message,
                async_nats::jetstream::consumer::pull::OrderedError,
            >,
        > + Unpin,
{
    loop {
        let batch = match messages.next().await {
            None => Err(LogError::Unavailable("rebuild consumer closed".into())),
            Some(first) => first
                .map_err(unavailable)
                .and_then(|first| buffered_batch(first, &mut messages))
                .map(|batch| {
                    let mut batch = stored(&batch);
                    batch.retain(|s| s.position <= last);
                    batch
                }),
        };
        let done = match &batch {
            Ok(batch) => batch.last().is_some_and(|s| s.position >= last),
            Err(_) => true,
        };
        if batches.send(batch).await.is_err() || done {
            return;
        }
    }
}
