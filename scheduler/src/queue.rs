//! The queue of pending pods: highest priority first, then oldest; pods
//! that did not fit wait in a backoff area until the cluster changes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Unschedulable pods are retried at least this often even without events.
const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Entry<T> {
    item: T,
    priority: i32,
    /// Creation time (seconds since the epoch) for the age order.
    created: i64,
    generation: u64,
    attempts: u32,
    /// Set while waiting in the unschedulable area.
    parked: Option<Parked>,
}

#[derive(Debug, Clone, Copy)]
struct Parked {
    since: Instant,
    retry_at: Instant,
    /// A cluster change happened since it was parked.
    moved: bool,
}

type HeapKey = (i32, Reverse<i64>, Reverse<String>, u64);

/// Pending pods keyed by `ns/name`.
#[derive(Debug)]
pub struct Queue<T> {
    entries: HashMap<String, Entry<T>>,
    heap: BinaryHeap<HeapKey>,
    next_gen: u64,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            next_gen: 0,
        }
    }
}

impl<T> Queue<T> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }
    pub fn get(&self, key: &str) -> Option<&T> {
        self.entries.get(key).map(|e| &e.item)
    }

    fn activate(&mut self, key: &str) {
        self.next_gen += 1;
        let g = self.next_gen;
        if let Some(e) = self.entries.get_mut(key) {
            e.generation = g;
            e.parked = None;
            self.heap
                .push((e.priority, Reverse(e.created), Reverse(key.to_string()), g));
        }
    }

    /// Adds a pod, or replaces it; `activate` puts an existing (parked) pod back in line.
    pub fn upsert(&mut self, key: &str, item: T, priority: i32, created: i64, activate: bool) {
        match self.entries.get_mut(key) {
            Some(e) => {
                e.item = item;
                e.priority = priority;
                e.created = created;
                if activate || e.parked.is_none() {
                    self.activate(key);
                }
            }
            None => {
                self.entries.insert(
                    key.to_string(),
                    Entry {
                        item,
                        priority,
                        created,
                        generation: 0,
                        attempts: 0,
                        parked: None,
                    },
                );
                self.activate(key);
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<T> {
        self.entries.remove(key).map(|e| e.item)
    }

    /// The next pod to schedule; it stays known (parked) until removed or re-queued.
    pub fn pop(&mut self, now: Instant) -> Option<(String, &T)> {
        while let Some((_, _, Reverse(key), g)) = self.heap.pop() {
            let live = self
                .entries
                .get(&key)
                .is_some_and(|e| e.generation == g && e.parked.is_none());
            if live {
                let e = self.entries.get_mut(&key)?;
                // In flight: parked without retry until the outcome is known.
                e.parked = Some(Parked {
                    since: now,
                    retry_at: now + MAX_UNSCHEDULABLE * 1000,
                    moved: false,
                });
                let e = self.entries.get(&key)?;
                return Some((key, &e.item));
            }
        }
        None
    }

    /// The pod did not fit: back off exponentially, wait for a cluster change.
    pub fn unschedulable(&mut self, key: &str, now: Instant) {
        if let Some(e) = self.entries.get_mut(key) {
            e.attempts += 1;
            let backoff = INITIAL_BACKOFF
                .saturating_mul(1u32 << (e.attempts - 1).min(10))
                .min(MAX_BACKOFF);
            e.parked = Some(Parked {
                since: now,
                retry_at: now + backoff,
                moved: false,
            });
        }
    }

    /// A transient error: retry after the backoff regardless of cluster changes.
    pub fn retry(&mut self, key: &str, now: Instant) {
        self.unschedulable(key, now);
        if let Some(p) = self.entries.get_mut(key).and_then(|e| e.parked.as_mut()) {
            p.moved = true;
        }
    }

    /// Nodes or pods changed: parked pods become eligible once their backoff ends.
    pub fn cluster_changed(&mut self) {
        for e in self.entries.values_mut() {
            if let Some(p) = e.parked.as_mut()
                && p.retry_at < p.since + MAX_UNSCHEDULABLE * 100
            {
                p.moved = true;
            }
        }
    }

    /// Moves parked pods whose time has come back into line.
    pub fn flush(&mut self, now: Instant) {
        let due: Vec<String> = self
            .entries
            .iter()
            .filter_map(|(k, e)| {
                let p = e.parked?;
                let due = now >= p.retry_at
                    && (p.moved || now.duration_since(p.since) >= MAX_UNSCHEDULABLE);
                due.then(|| k.clone())
            })
            .collect();
        for k in due {
            self.activate(&k);
        }
    }

    /// Pods ready to be popped.
    pub fn active_len(&self) -> usize {
        self.entries.values().filter(|e| e.parked.is_none()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_then_age_then_backoff() {
        let mut q: Queue<u8> = Queue::default();
        let now = Instant::now();
        q.upsert("a/old-low", 1, 0, 10, false);
        q.upsert("a/new-high", 2, 100, 30, false);
        q.upsert("a/old-high", 3, 100, 20, false);
        q.upsert("a/newest-low", 4, 0, 40, false);
        let order: Vec<String> = std::iter::from_fn(|| q.pop(now).map(|(k, _)| k)).collect();
        assert_eq!(
            order,
            ["a/old-high", "a/new-high", "a/old-low", "a/newest-low"]
        );
        // Unschedulable pods wait for a cluster change and the backoff.
        q.unschedulable("a/old-low", now);
        q.flush(now + Duration::from_secs(5));
        assert!(q.pop(now).is_none());
        q.cluster_changed();
        q.flush(now + Duration::from_millis(500));
        assert!(q.pop(now).is_none(), "still backing off");
        q.flush(now + Duration::from_secs(2));
        assert_eq!(q.pop(now).map(|(k, _)| k).as_deref(), Some("a/old-low"));
        // Periodic retry without events.
        q.unschedulable("a/old-low", now);
        q.flush(now + Duration::from_secs(61));
        assert_eq!(q.pop(now).map(|(k, _)| k).as_deref(), Some("a/old-low"));
        // Removal and update.
        q.remove("a/old-low");
        q.upsert("a/new-high", 9, 100, 30, true);
        assert_eq!(
            q.pop(now).map(|(k, v)| (k, *v)),
            Some(("a/new-high".to_string(), 9))
        );
        assert!(q.contains("a/new-high"));
    }
}
