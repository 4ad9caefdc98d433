//! The dedupe index: every applied event's id and the stream position it was applied at.
//!
//! It holds one entry per event ever applied, so it is the one projection that grows with the
//! whole log rather than with the number of pilots. A `HashMap<Uuid, u64>` costs 32 to 57 bytes
//! an entry (24 bytes of entry, a control byte, and a load factor between 7/16 and 7/8) and
//! must be rehashed entry by entry when a checkpoint is restored. Here the bulk of the entries
//! sits in one vector sorted by id (24 bytes an entry, looked up by binary search), and only the
//! entries added since the last merge sit in a small map. The map is merged into the vector
//! once it holds an eighth of the vector, which keeps the whole index under about 31 bytes an
//! event and each insert amortized O(1). A checkpoint writes the merged entries as 24-byte
//! records in id order, so a restore is one pass over the bytes into one allocation, and the
//! same index always gives the same bytes.
//!
//! A plain binary search over a million entries costs a cache miss at almost every step, and
//! the fold asks for every event it applies. So the vector is sorted by a well-spread key of
//! the id (then the id), and a directory of one start offset per 4 entries (half a byte an
//! event) narrows a lookup to a few neighbouring entries: one or two cache lines, whatever the
//! ids look like (a time-ordered UUIDv7 prefix is mixed with its random bits).

use std::collections::HashMap;
use thiserror::Error;
use uuid::Uuid;

/// Bytes of one entry on the wire: the id, then the position as little-endian u64.
pub const RECORD_BYTES: usize = 24;

/// Below this many recent entries no merge happens: merging a large vector for a handful of
/// entries would cost more than it saves.
const MIN_RECENT: usize = 4096;

/// Event ids and the stream positions they were applied at.
#[derive(Debug, Clone, Default)]
pub struct SeenIndex {
    /// Sorted by [`order`], no id twice, and none that is also in `recent`.
    base: Vec<(Uuid, u64)>,
    /// `directory[b]` is the first entry of `base` whose spread key's top bits are `b` or more;
    /// one more at the end (`base.len()`). Empty while `base` is.
    directory: Vec<u32>,
    /// How far a spread key is shifted right to give its directory bucket.
    shift: u32,
    /// Entries added since the last merge.
    recent: HashMap<Uuid, u64>,
}

/// The id's 128 bits mixed into 64 well-spread ones (a UUIDv7's leading timestamp alone would
/// put a day's events in one corner of the directory).
fn spread(id: &Uuid) -> u64 {
    let (high, low) = id.as_u64_pair();
    (high ^ low.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The order of the sorted entries: by spread key, then by id.
fn order(entry: &(Uuid, u64)) -> (u64, Uuid) {
    (spread(&entry.0), entry.0)
}

/// Why encoded entries could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SeenError {
    #[error("the seen index is cut short: {count} entries announced, {bytes} bytes left")]
    Truncated { count: u64, bytes: usize },
    #[error("the seen index is not in strictly increasing order at entry {at}")]
    Unordered { at: usize },
}

impl SeenIndex {
    /// The position `event_id` was applied at, if it was.
    pub fn get(&self, event_id: &Uuid) -> Option<u64> {
        if let Some(position) = self.recent.get(event_id) {
            return Some(*position);
        }
        let at = self.find(event_id).ok()?;
        self.base.get(at).map(|(_, position)| *position)
    }

    pub fn contains_key(&self, event_id: &Uuid) -> bool {
        self.get(event_id).is_some()
    }

    /// Where `event_id` is in `base` (or would go), searching only its directory bucket.
    fn find(&self, event_id: &Uuid) -> Result<usize, usize> {
        let key = (spread(event_id), *event_id);
        // One bucket shifts by 64: every key is in bucket 0.
        let bucket = usize::try_from(key.0.checked_shr(self.shift).unwrap_or(0)).unwrap_or(0);
        let start = self.directory.get(bucket).map_or(0, |&at| at as usize);
        let end = self
            .directory
            .get(bucket.saturating_add(1))
            .map_or(self.base.len(), |&at| at as usize);
        match self.base.get(start..end) {
            Some(run) => run
                .binary_search_by_key(&key, order)
                .map(|i| start + i)
                .map_err(|i| start + i),
            None => self.base.binary_search_by_key(&key, order),
        }
    }

    /// Records `event_id` at `position` (replacing an earlier position, as a map would).
    pub fn insert(&mut self, event_id: Uuid, position: u64) {
        if let Ok(at) = self.find(&event_id) {
            if let Some(entry) = self.base.get_mut(at) {
                entry.1 = position;
            }
            return;
        }
        self.insert_absent(event_id, position);
    }

    /// Records `event_id` at `position` when the caller has just found it absent
    /// ([`SeenIndex::get`]): the fold's path, one lookup per event instead of two. An id that
    /// is present after all would be left in `base` with its old position beside this one.
    pub fn insert_absent(&mut self, event_id: Uuid, position: u64) {
        self.recent.insert(event_id, position);
        if self.recent.len() >= MIN_RECENT.max(self.base.len() / 8) {
            self.merge();
        }
    }

    /// Lays the directory over `base`: a power of two of buckets, about one per 4 entries.
    fn index(&mut self) {
        let buckets = (self.base.len() / 4).max(1).next_power_of_two();
        self.shift = 64 - buckets.trailing_zeros();
        self.directory.clear();
        self.directory.reserve_exact(buckets + 1);
        let mut at = 0;
        for bucket in 0..buckets as u64 {
            while self
                .base
                .get(at)
                .is_some_and(|entry| spread(&entry.0).checked_shr(self.shift).unwrap_or(0) < bucket)
            {
                at += 1;
            }
            self.directory.push(u32::try_from(at).unwrap_or(u32::MAX));
        }
        self.directory
            .push(u32::try_from(self.base.len()).unwrap_or(u32::MAX));
    }

    pub fn len(&self) -> usize {
        self.base.len() + self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The heap bytes the index holds, counting the map's buckets and control bytes as the
    /// standard library lays them out (an estimate for the map: its layout is not exposed).
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(Uuid, u64)>();
        let map = match self.recent.capacity() {
            0 => 0,
            capacity => {
                let buckets = (capacity * 8 / 7).next_power_of_two();
                buckets * (entry + 1) + 16
            }
        };
        self.base.capacity() * entry + self.directory.capacity() * 4 + map
    }

    /// Moves the recent entries into the sorted vector: one sort of the few recent entries,
    /// then one merge from the back, in place, into an allocation grown to the exact size.
    fn merge(&mut self) {
        let mut fresh: Vec<(Uuid, u64)> = std::mem::take(&mut self.recent).into_iter().collect();
        fresh.sort_unstable_by_key(order);
        let old = self.base.len();
        self.base.reserve_exact(fresh.len());
        self.base.extend_from_slice(&fresh);
        let (mut from_base, mut from_fresh) = (old, fresh.len());
        let mut to = self.base.len();
        while from_fresh > 0 {
            to -= 1;
            let next_fresh = fresh[from_fresh - 1];
            if from_base > 0 && order(&self.base[from_base - 1]) > order(&next_fresh) {
                self.base[to] = self.base[from_base - 1];
                from_base -= 1;
            } else {
                self.base[to] = next_fresh;
                from_fresh -= 1;
            }
        }
        self.index();
    }

    /// Appends the entry count (u64, little-endian) and every entry as a 24-byte record, in
    /// [`order`] whatever order they were added in.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut recent: Vec<(Uuid, u64)> = self.recent.iter().map(|(id, at)| (*id, *at)).collect();
        recent.sort_unstable_by_key(order);
        out.reserve(8 + self.len() * RECORD_BYTES);
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        let mut base = self.base.iter().peekable();
        let mut recent = recent.iter().peekable();
        loop {
            let next = match (base.peek(), recent.peek()) {
                (Some(b), Some(r)) if order(b) < order(r) => base.next(),
                (Some(_), Some(_)) | (None, Some(_)) => recent.next(),
                (Some(_), None) => base.next(),
                (None, None) => break,
            };
            if let Some((id, position)) = next {
                out.extend_from_slice(id.as_bytes());
                out.extend_from_slice(&position.to_le_bytes());
            }
        }
    }

    /// Reads what [`SeenIndex::encode`] wrote from the start of `bytes`; returns the index and
    /// the bytes after it. Entries out of order are refused: lookups would silently miss them.
    pub fn decode(bytes: &[u8]) -> Result<(SeenIndex, &[u8]), SeenError> {
        let (count, rest) = match bytes.split_first_chunk::<8>() {
            Some((count, rest)) => (u64::from_le_bytes(*count), rest),
            None => {
                return Err(SeenError::Truncated {
                    count: 0,
                    bytes: bytes.len(),
                })
            }
        };
        let truncated = SeenError::Truncated {
            count,
            bytes: rest.len(),
        };
        let len = usize::try_from(count)
            .ok()
            .and_then(|count| count.checked_mul(RECORD_BYTES))
            .filter(|len| *len <= rest.len())
            .ok_or_else(|| truncated.clone())?;
        let (records, rest) = rest.split_at(len);
        let mut base = Vec::with_capacity(len / RECORD_BYTES);
        for (at, record) in records.chunks_exact(RECORD_BYTES).enumerate() {
            let (id, position) = read_record(record).ok_or_else(|| truncated.clone())?;
            if base
                .last()
                .is_some_and(|last: &(Uuid, u64)| order(last) >= order(&(id, position)))
            {
                return Err(SeenError::Unordered { at });
            }
            base.push((id, position));
        }
        let mut index = SeenIndex {
            base,
            ..SeenIndex::default()
        };
        index.index();
        Ok((index, rest))
    }
}

/// One 24-byte record's id and position (`None` only for a shorter slice).
fn read_record(record: &[u8]) -> Option<(Uuid, u64)> {
    let (id, position) = record.split_first_chunk::<16>()?;
    let position = position.first_chunk::<8>()?;
    Some((Uuid::from_bytes(*id), u64::from_le_bytes(*position)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn answers_like_a_map_whatever_the_ids_look_like() {
        let n = 3 * MIN_RECENT + 17;
        let sequential: Vec<Uuid> = (0..n as u128).map(Uuid::from_u128).collect();
        let time_ordered: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        for ids in [sequential, time_ordered] {
            let mut seen = SeenIndex::default();
            for (at, id) in ids.iter().enumerate() {
                seen.insert(*id, at as u64 + 1);
            }
            for (at, id) in ids.iter().enumerate() {
                assert_eq!(seen.get(id), Some(at as u64 + 1));
            }
            assert_eq!(seen.get(&Uuid::from_u128(u128::MAX)), None);
        }
    }

    #[test]
    fn answers_like_a_map_across_merges() {
        let ids = ids(3 * MIN_RECENT + 17);
        let mut seen = SeenIndex::default();
        for (at, id) in ids.iter().enumerate() {
            seen.insert(*id, at as u64 + 1);
        }
        assert!(!seen.base.is_empty(), "merged at least once");
        assert_eq!(seen.len(), ids.len());
        for (at, id) in ids.iter().enumerate() {
            assert_eq!(seen.get(id), Some(at as u64 + 1));
        }
        assert_eq!(seen.get(&Uuid::new_v4()), None);
        seen.insert(ids[0], 99);
        assert_eq!((seen.get(&ids[0]), seen.len()), (Some(99), ids.len()));
    }

    #[test]
    fn encodes_in_order_and_reads_back_the_same() {
        let ids = ids(MIN_RECENT + 100);
        let mut seen = SeenIndex::default();
        let mut other = SeenIndex::default();
        for (at, id) in ids.iter().enumerate() {
            seen.insert(*id, at as u64);
        }
        // The same entries added in another order give the same bytes.
        for (at, id) in ids.iter().enumerate().rev() {
            other.insert(*id, at as u64);
        }
        let (mut bytes, mut other_bytes) = (Vec::new(), Vec::new());
        seen.encode(&mut bytes);
        other.encode(&mut other_bytes);
        assert_eq!(bytes, other_bytes);
        assert_eq!(bytes.len(), 8 + ids.len() * RECORD_BYTES);
        bytes.extend_from_slice(b"tail");
        let (back, rest) = SeenIndex::decode(&bytes).unwrap();
        assert_eq!(rest, b"tail");
        for (at, id) in ids.iter().enumerate() {
            assert_eq!(back.get(id), Some(at as u64));
        }
    }

    #[test]
    fn cut_or_disordered_bytes_are_refused() {
        let mut seen = SeenIndex::default();
        for (at, id) in ids(10).into_iter().enumerate() {
            seen.insert(id, at as u64);
        }
        let mut bytes = Vec::new();
        seen.encode(&mut bytes);
        for cut in [0, 7, 8, 30, bytes.len() - 1] {
            assert!(matches!(
                SeenIndex::decode(&bytes[..cut]),
                Err(SeenError::Truncated { .. })
            ));
        }
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(SeenIndex::decode(&huge).is_err());
        let mut swapped = bytes.clone();
        let (first, second) = (8..32, 32..56);
        let a = bytes[first.clone()].to_vec();
        swapped[first].copy_from_slice(&bytes[second.clone()]);
        swapped[second].copy_from_slice(&a);
        assert_eq!(
            SeenIndex::decode(&swapped).map(|_| ()),
            Err(SeenError::Unordered { at: 1 })
        );
    }

    /// The index's memory per event, for a history of a million events: under 40 bytes.
    #[test]
    fn stays_compact() {
        let mut seen = SeenIndex::default();
        let n = 1_000_000;
        let mut worst: f64 = 0.0;
        for at in 0..n {
            seen.insert(Uuid::new_v4(), at);
            if at % 10_000 == 9_999 {
                worst = worst.max(seen.heap_bytes() as f64 / seen.len() as f64);
            }
        }
        let now = seen.heap_bytes() as f64 / seen.len() as f64;
        eprintln!("seen index: {now:.1} bytes/event now, {worst:.1} at worst past 10,000 events");
        assert!(worst <= 40.0, "{worst} bytes/event");
        let mut bytes = Vec::new();
        seen.encode(&mut bytes);
        let (restored, _) = SeenIndex::decode(&bytes).unwrap();
        assert!(restored.heap_bytes() <= n as usize * (RECORD_BYTES + 2));
        let restored_per_event = restored.heap_bytes() as f64 / n as f64;
        eprintln!("restored: {restored_per_event:.1} bytes/event");
    }
}
