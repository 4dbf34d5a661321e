//! The watch hub: live fan-out of applied events to registered watchers.
//!
//! The backend publishes each applied command's events while it still holds
//! the state's write lock, and a watcher registers (replaying its history)
//! under the read lock, so no event can fall between the replay and the live
//! feed. Every message for a watcher goes through one ordered channel, which
//! is also how progress notifications stay behind the events they vouch for.

use std::collections::HashMap;

use bytes::Bytes;
use prost::Message;
use tokio::sync::mpsc;

use crate::mvcc::KeyRange;
use crate::pb::mvccpb::{Event, event::EventType};

/// Largest batch of replayed history sent in one message (cut only between
/// revisions), so clients with a 4 MiB receive limit can take it.
const HISTORY_BATCH_BYTES: usize = 1024 * 1024;

/// What a watcher wants to see.
#[derive(Debug, Clone, Default)]
pub struct WatchSpec {
    pub key: Bytes,
    pub range_end: Bytes,
    /// First revision to deliver; 0 means "from the next write".
    pub start_revision: i64,
    pub prev_kv: bool,
    pub no_put: bool,
    pub no_delete: bool,
    /// Notified to ask for a progress notification: the watcher then gets a
    /// message with no events once everything up to the current revision
    /// has been delivered (etcd's `WatchProgressRequest`). Caches use it to
    /// learn that they are up to date with revisions newer than their last
    /// event.
    pub progress_requests: Option<std::sync::Arc<tokio::sync::Notify>>,
}

/// One message to a watcher: events of one or more revisions, or, when
/// `events` is empty, a progress notification that everything up to
/// `revision` has been delivered.
#[derive(Debug, Clone)]
pub struct WatchMessage {
    /// The tag the registrant chose (the gRPC watch id).
    pub tag: i64,
    /// The store's revision when the message was sent.
    pub revision: i64,
    pub events: Vec<Event>,
}

/// Channel a registrant receives its watchers' messages on; one channel may
/// carry many watchers (a gRPC watch stream multiplexes them by tag).
pub type WatchSender = mpsc::UnboundedSender<WatchMessage>;

struct Watcher {
    spec: WatchSpec,
    /// Events below this revision were replayed at registration.
    from: i64,
    tag: i64,
    tx: WatchSender,
}

impl Watcher {
    fn select(&self, events: &[Event]) -> Vec<Event> {
        events
            .iter()
            .filter(|e| {
                let Some(kv) = &e.kv else { return false };
                let put = e.r#type == EventType::Put as i32;
                kv.mod_revision >= self.from
                    && KeyRange::new(&self.spec.key, &self.spec.range_end).contains(&kv.key)
                    && if put {
                        !self.spec.no_put
                    } else {
                        !self.spec.no_delete
                    }
            })
            .map(|e| {
                let mut e = e.clone();
                if !self.spec.prev_kv {
                    e.prev_kv = None;
                }
                e
            })
            .collect()
    }
}

/// Registered watchers, keyed by a hub-wide id.
#[derive(Default)]
pub struct WatchHub {
    next_id: u64,
    watchers: HashMap<u64, Watcher>,
}

impl WatchHub {
    /// Registers a watcher whose live feed starts at `from`, after sending it
    /// `history` (events already filtered to its range, from `from` on).
    pub fn register(
        &mut self,
        spec: WatchSpec,
        from: i64,
        history: Vec<Event>,
        revision: i64,
        tag: i64,
        tx: WatchSender,
    ) -> u64 {
        let watcher = Watcher {
            spec,
            from,
            tag,
            tx,
        };
        let replay = watcher.select(&history);
        for events in batches(replay) {
            let _ = watcher.tx.send(WatchMessage {
                tag,
                revision,
                events,
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        self.watchers.insert(id, watcher);
        id
    }

    pub fn cancel(&mut self, id: u64) -> bool {
        self.watchers.remove(&id).is_some()
    }

    /// Delivers one applied command's events to every interested watcher and
    /// drops watchers whose receiver is gone.
    pub fn publish(&mut self, events: &[Event], revision: i64) {
        if events.is_empty() {
            return;
        }
        self.watchers.retain(|_, w| {
            let selected = w.select(events);
            selected.is_empty()
                || w.tx
                    .send(WatchMessage {
                        tag: w.tag,
                        revision,
                        events: selected,
                    })
                    .is_ok()
        });
    }

    /// Brings every watcher up to `state` after the state jumped forward
    /// from `after` without publishing (a Raft snapshot was installed):
    /// each gets the events it missed from the retained history. A watcher
    /// whose missed events were compacted away is dropped, its feed ends.
    pub fn catch_up(&mut self, state: &crate::mvcc::Mvcc, after: i64) {
        let revision = state.revision();
        self.watchers.retain(|id, w| {
            let from = w.from.max(after + 1);
            let range = KeyRange::new(&w.spec.key, &w.spec.range_end);
            let missed = match state.history_since(range, from) {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(watcher = id, error = %e, "a watcher cannot catch up after a snapshot; dropping it");
                    return false;
                }
            };
            batches(w.select(&missed)).into_iter().all(|events| {
                w.tx.send(WatchMessage {
                    tag: w.tag,
                    revision,
                    events,
                })
                .is_ok()
            })
        });
    }

    /// Sends a progress notification (no events) at `revision` to the given
    /// watchers; every event up to `revision` was already queued before it.
    pub fn notify_progress(&self, ids: &[u64], revision: i64) {
        for id in ids {
            if let Some(w) = self.watchers.get(id) {
                let _ = w.tx.send(WatchMessage {
                    tag: w.tag,
                    revision,
                    events: Vec::new(),
                });
            }
        }
    }
}

/// Splits replayed events into messages of bounded size, never splitting the
/// events of one revision.
fn batches(events: Vec<Event>) -> Vec<Vec<Event>> {
    let mut out: Vec<Vec<Event>> = Vec::new();
    let mut current: Vec<Event> = Vec::new();
    let mut bytes = 0usize;
    let mut last_rev = None;
    for event in events {
        let rev = event.kv.as_ref().map(|kv| kv.mod_revision);
        if bytes >= HISTORY_BATCH_BYTES && rev != last_rev {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += event.encoded_len();
        last_rev = rev;
        current.push(event);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
