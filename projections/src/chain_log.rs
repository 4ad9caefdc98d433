//! A pilot's chain as stored bytes, for the rare questions that need the whole chain:
//! retraction (refold without an event) and time travel (fold up to a date).
//!
//! The fold keeps current state in typed form and the chain in the compact form it arrived
//! in: one growing buffer per pilot, no allocation per event. Reading it back decodes, which
//! costs microseconds per event, and happens only for those rare questions.
//!
//! A log is either *complete* (every event's bytes, kept up to date as events arrive) or
//! *unloaded* (only where the chain ends). A world restored from a checkpoint, or one that
//! keeps state rather than chain bytes ([`crate::World::without_chain_bytes`]), starts with
//! unloaded logs; an unloaded log takes no bytes as events arrive, so its memory does not grow
//! with the stream, and it becomes complete only when the whole chain is loaded from the store.

use pilot_events::{Decoder, Envelope, CURRENT_SCHEMA};

#[derive(Debug, Clone)]
pub struct ChainLog {
    bytes: Vec<u8>,
    /// Per event: its stream position and where its bytes end in `bytes`.
    entries: Vec<(u64, usize)>,
    /// The stream position of the chain's last event, known even when the bytes are not.
    last_position: Option<u64>,
    /// False after a restore from a checkpoint, until the chain is loaded from the store;
    /// events appended meanwhile are kept but do not make the log whole.
    complete: bool,
}

impl Default for ChainLog {
    fn default() -> Self {
        ChainLog {
            bytes: Vec::new(),
            entries: Vec::new(),
            last_position: None,
            complete: true,
        }
    }
}

impl ChainLog {
    /// A log that knows only where its chain ends: what a restored checkpoint holds.
    pub(crate) fn restored(last_position: u64) -> Self {
        ChainLog {
            last_position: Some(last_position),
            ..ChainLog::unloaded()
        }
    }

    /// A log of a chain not (yet) read from the store: no bytes, not complete.
    pub(crate) fn unloaded() -> Self {
        ChainLog {
            complete: false,
            ..ChainLog::default()
        }
    }

    /// Drops the chain's bytes, keeping where it ends (a bounded cache letting one go).
    pub(crate) fn unload(&mut self) {
        *self = match self.last_position {
            Some(position) => ChainLog::restored(position),
            None => ChainLog::unloaded(),
        };
    }

    /// Bytes this log holds in memory (its buffers' capacity).
    pub fn held_bytes(&self) -> usize {
        self.bytes.capacity() + self.entries.capacity() * std::mem::size_of::<(u64, usize)>()
    }

    /// Appends an event. `stored` are its bytes as stored, when the caller has them and they
    /// are of the current schema; otherwise the envelope is written out anew. An unloaded log
    /// only notes where the chain now ends.
    pub(crate) fn push(&mut self, position: u64, envelope: &Envelope, stored: Option<&[u8]>) {
        self.last_position = Some(position);
        if !self.complete {
            return;
        }
        match stored {
            Some(bytes) if envelope.schema == CURRENT_SCHEMA => self.bytes.extend_from_slice(bytes),
            _ => self.bytes.extend_from_slice(envelope.to_json().as_bytes()),
        }
        self.entries.push((position, self.bytes.len()));
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The stream position of the chain's last event.
    pub fn last_position(&self) -> Option<u64> {
        self.last_position
    }

    /// Events held (all of the chain when complete).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The chain in order, with stream positions. Every entry decoded once before it was
    /// kept, so decoding it again gives the same envelope; an entry that somehow does not is
    /// left out rather than stopping a read.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Envelope)> + '_ {
        let decoder = Decoder::new();
        self.raw()
            .filter_map(move |(position, bytes)| Some((position, decoder.decode(bytes).ok()?)))
    }

    /// The event stored at `position`, if this log holds it.
    pub fn get(&self, position: u64) -> Option<Envelope> {
        Decoder::new().decode(self.locate(position)?.1).ok()
    }

    /// Where the event at `position` stands among the events held, and its stored bytes.
    pub fn locate(&self, position: u64) -> Option<(usize, &[u8])> {
        let index = self
            .entries
            .binary_search_by_key(&position, |(p, _)| *p)
            .ok()?;
        let start = index.checked_sub(1).map_or(0, |i| self.entries[i].1);
        Some((index, &self.bytes[start..self.entries[index].1]))
    }

    /// The stored bytes of each event, in order (for exports).
    pub fn raw(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        let starts = std::iter::once(0).chain(self.entries.iter().map(|(_, end)| *end));
        self.entries
            .iter()
            .zip(starts)
            .map(|(&(position, end), start)| (position, &self.bytes[start..end]))
    }
}
