//! Reads: ranges at a revision, and the history a watch replays.

use std::cmp::Ordering;
use std::ops::Bound;

use bytes::Bytes;

use super::{Entry, Mvcc};
use crate::pb::etcdserverpb::range_request::{SortOrder, SortTarget};
use crate::pb::etcdserverpb::{RangeRequest, RangeResponse};
use crate::pb::mvccpb::{Event, event::EventType};
use crate::{KeyValue, StoreError};

/// A key or a key range, decoded from etcd's `(key, range_end)` convention:
/// an empty `range_end` means the single key, `"\0"` means every key from
/// `key` on, and anything else is the half-open range `[key, range_end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRange<'a> {
    Single(&'a [u8]),
    From(&'a [u8]),
    Between(&'a [u8], &'a [u8]),
}

impl<'a> KeyRange<'a> {
    pub fn new(key: &'a [u8], range_end: &'a [u8]) -> Self {
        match range_end {
            [] => KeyRange::Single(key),
            [0] => KeyRange::From(key),
            end => KeyRange::Between(key, end),
        }
    }

    pub fn contains(&self, candidate: &[u8]) -> bool {
        match *self {
            KeyRange::Single(key) => candidate == key,
            KeyRange::From(start) => candidate >= start,
            KeyRange::Between(start, end) => candidate >= start && candidate < end,
        }
    }

    fn bounds(&self) -> (&'a [u8], Bound<&'a [u8]>) {
        match *self {
            KeyRange::Single(key) => (key, Bound::Included(key)),
            KeyRange::From(start) => (start, Bound::Unbounded),
            KeyRange::Between(start, end) => (start, Bound::Excluded(end)),
        }
    }
}

impl Mvcc {
    /// Keys in `range` with their retained histories, in key order.
    pub(super) fn histories<'s>(
        &'s self,
        range: KeyRange<'_>,
    ) -> Box<dyn Iterator<Item = (&'s Bytes, &'s Vec<Entry>)> + 's> {
        let (start, end) = range.bounds();
        if let Bound::Excluded(end) = end
            && end <= start
        {
            return Box::new(std::iter::empty());
        }
        Box::new(self.keys.range::<[u8], _>((Bound::Included(start), end)))
    }

    /// The key's value as a read at `rev` sees it.
    pub(super) fn visible(history: &[Entry], rev: i64) -> Option<&Entry> {
        let at = history.partition_point(|e| e.kv.mod_revision <= rev);
        history[..at].last().filter(|e| !e.tombstone)
    }

    /// The key's latest value, including writes of a transaction in progress.
    pub(super) fn latest(&self, key: &[u8]) -> Option<&KeyValue> {
        self.keys
            .get(key)
            .and_then(|h| h.last())
            .filter(|e| !e.tombstone)
            .map(|e| &e.kv)
    }

    /// Resolves a requested read revision (0 or less means "now") and checks
    /// it is still readable.
    pub fn read_revision(&self, requested: i64) -> Result<i64, StoreError> {
        if requested <= 0 {
            return Ok(self.revision);
        }
        if requested > self.revision {
            return Err(StoreError::FutureRevision);
        }
        if requested < self.compact_revision {
            return Err(StoreError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        Ok(requested)
    }

    /// Answers a Range request against the current state.
    pub fn range(&self, request: &RangeRequest) -> Result<RangeResponse, StoreError> {
        check_range(request)?;
        let rev = self.read_revision(request.revision)?;
        Ok(self.range_at(request, rev))
    }

    /// Answers a validated Range request at a resolved revision.
    pub(super) fn range_at(&self, request: &RangeRequest, rev: i64) -> RangeResponse {
        let target = SortTarget::try_from(request.sort_target).unwrap_or(SortTarget::Key);
        let mut order = SortOrder::try_from(request.sort_order).unwrap_or(SortOrder::None);
        if target != SortTarget::Key && order == SortOrder::None {
            // etcd sorts ascending by default when a non-key target is named.
            order = SortOrder::Ascend;
        }
        let sorted = !matches!(
            (order, target),
            (SortOrder::None, _) | (SortOrder::Ascend, SortTarget::Key)
        );
        let filtered = request.min_mod_revision != 0
            || request.max_mod_revision != 0
            || request.min_create_revision != 0
            || request.max_create_revision != 0;
        let limit = usize::try_from(request.limit).unwrap_or(0);
        // Without sorting or filtering the first limit+1 keys decide `more`.
        let keep = if sorted || filtered || limit == 0 {
            usize::MAX
        } else {
            limit + 1
        };

        let mut count = 0i64;
        let mut kvs = Vec::new();
        for (_, history) in self.histories(KeyRange::new(&request.key, &request.range_end)) {
            if let Some(entry) = Self::visible(history, rev) {
                count += 1;
                if !request.count_only && kvs.len() < keep {
                    kvs.push(entry.kv.clone());
                }
            }
        }
        if filtered {
            kvs.retain(|kv| passes_filters(request, kv));
        }
        if sorted {
            sort_kvs(&mut kvs, target, order);
        }
        let more = limit > 0 && kvs.len() > limit;
        kvs.truncate(if limit > 0 { limit } else { usize::MAX });
        if request.keys_only {
            for kv in &mut kvs {
                kv.value = Bytes::new();
            }
        }
        RangeResponse {
            header: None,
            kvs,
            more,
            count,
        }
    }

    /// Every event in `range` at or after revision `from`, in revision order,
    /// each with its previous value: what a watch starting at `from` replays.
    pub fn history_since(&self, range: KeyRange<'_>, from: i64) -> Result<Vec<Event>, StoreError> {
        if from < self.compact_revision {
            return Err(StoreError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        let mut events: Vec<(u32, Event)> = Vec::new();
        for (_, history) in self.histories(range) {
            let first = history.partition_point(|e| e.kv.mod_revision < from);
            for at in first..history.len() {
                let entry = &history[at];
                let prev_kv = at
                    .checked_sub(1)
                    .map(|p| &history[p])
                    .filter(|p| !p.tombstone)
                    .map(|p| p.kv.clone());
                events.push((entry.sub, event_of(entry, prev_kv)));
            }
        }
        events.sort_by_key(|(sub, e)| (e.kv.as_ref().map_or(0, |kv| kv.mod_revision), *sub));
        Ok(events.into_iter().map(|(_, e)| e).collect())
    }
}

/// Builds the watch event for one history entry.
pub(super) fn event_of(entry: &Entry, prev_kv: Option<KeyValue>) -> Event {
    let kind = if entry.tombstone {
        EventType::Delete
    } else {
        EventType::Put
    };
    Event {
        r#type: kind as i32,
        kv: Some(entry.kv.clone()),
        prev_kv,
    }
}

/// Checks a Range request's shape, as etcd does before reading.
pub fn check_range(request: &RangeRequest) -> Result<(), StoreError> {
    if request.key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    if SortOrder::try_from(request.sort_order).is_err()
        || SortTarget::try_from(request.sort_target).is_err()
    {
        return Err(StoreError::InvalidSortOption);
    }
    Ok(())
}

fn passes_filters(request: &RangeRequest, kv: &KeyValue) -> bool {
    let above = |min: i64, value: i64| min == 0 || value >= min;
    let below = |max: i64, value: i64| max == 0 || value <= max;
    above(request.min_mod_revision, kv.mod_revision)
        && below(request.max_mod_revision, kv.mod_revision)
        && above(request.min_create_revision, kv.create_revision)
        && below(request.max_create_revision, kv.create_revision)
}

fn sort_kvs(kvs: &mut [KeyValue], target: SortTarget, order: SortOrder) {
    let compare = |a: &KeyValue, b: &KeyValue| -> Ordering {
        match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        }
    };
    match order {
        SortOrder::Descend => kvs.sort_by(|a, b| compare(b, a)),
        _ => kvs.sort_by(compare),
    }
}
