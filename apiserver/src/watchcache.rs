//! The watch cache of one resource: every object in memory and a window of
//! recent events, kept current by one store watch, so lists at a known
//! revision and thousands of watchers cost the store nothing
//! (k8s.io/apiserver's `cacher`).
//!
//! Objects are kept as their stored JSON; each event is turned into wire
//! bytes once and shared by every watcher.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use mars_store::{Event, ListRequest, Store, StoreError, WatchSpec, prefix_end};
use parking_lot::RwLock;
use serde_json::Value;
use tokio::sync::{Notify, broadcast, watch};

use crate::encoding;
use crate::projection::Projection;

/// How many recent events a cache keeps for watches that resume from a
/// resource version.
const HISTORY: usize = 10_000;
/// How many events a watcher may fall behind before it is cut off (it then
/// resumes from its last resource version, like any client after a drop).
const WATCHER_BUFFER: usize = 4_096;

/// One object as the cache holds it.
#[derive(Debug)]
pub struct CachedObject {
    /// The store key (`/registry/…/<ns>/<name>`).
    pub key: Bytes,
    /// The JSON as stored (no resourceVersion).
    pub raw: Bytes,
    /// The revision the object (or its deletion) happened at.
    pub revision: i64,
    /// `metadata.labels`, kept apart so label selectors need no decoding.
    pub labels: Value,
    json: OnceLock<Bytes>,
}

impl CachedObject {
    /// An object read from the store at `revision`.
    pub fn from_store(key: Bytes, raw: Bytes, revision: i64) -> Self {
        let labels = serde_json::from_slice::<LabelsOnly>(&raw)
            .map(|o| o.metadata.labels)
            .unwrap_or(Value::Null);
        Self {
            key,
            raw,
            revision,
            labels,
            json: OnceLock::new(),
        }
    }

    /// The object's JSON with its resourceVersion, computed once.
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| {
            encoding::with_resource_version(&self.raw, self.revision)
                .unwrap_or_else(|| self.raw.clone())
        })
    }

    /// The object decoded (for field selectors, tables, conversions).
    /// Decoded afresh each time, so a cache of 100,000 objects holds only
    /// their bytes.
    pub fn value(&self) -> Value {
        encoding::decode(&self.raw, self.revision).unwrap_or(Value::Null)
    }

    /// The object with only its `metadata` decoded (metadata-only lists
    /// and watches, as the garbage collector makes).
    pub fn metadata_only(&self) -> Value {
        static METADATA: LazyLock<Projection> = LazyLock::new(|| Projection::of(["metadata"]));
        let mut value = METADATA.decode(&self.raw).unwrap_or(Value::Null);
        encoding::set_resource_version(&mut value, self.revision);
        value
    }
}

#[derive(serde::Deserialize)]
struct LabelsOnly {
    #[serde(default)]
    metadata: MetadataLabels,
}

#[derive(serde::Deserialize, Default)]
struct MetadataLabels {
    #[serde(default)]
    labels: Value,
}

/// An object's selectable fields, as the first field selector that needed
/// them decoded them.
#[derive(Debug)]
pub struct Selectable {
    pub projection: Arc<Projection>,
    pub value: Value,
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// The watch event `type`.
    pub fn name(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, with the object before it (for selector transitions).
#[derive(Debug)]
pub struct CacheEvent {
    pub kind: EventType,
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
    /// The selectable fields of `object` and `prev`, when a watcher's
    /// field selector needs them: decoded once per event, not once per
    /// watcher.
    pub decoded: OnceLock<Selectable>,
    pub decoded_prev: OnceLock<Selectable>,
}

impl CacheEvent {
    pub fn revision(&self) -> i64 {
        self.object.revision
    }

    /// The event of a store change, given the object's state before it
    /// (`None`: it did not exist). A delete of an unknown object is `None`:
    /// there is nothing to tell watchers.
    pub fn from_store(event: &Event, prev: Option<Arc<CachedObject>>) -> Option<Self> {
        let kv = event.kv.as_ref()?;
        if is_delete(event) {
            // A deletion shows the object's last state at the delete's revision.
            let prev = prev?;
            let object =
                CachedObject::from_store(kv.key.clone(), prev.raw.clone(), kv.mod_revision);
            return Some(Self {
                kind: EventType::Deleted,
                object: Arc::new(object),
                prev: Some(prev),
                decoded: OnceLock::new(),
                decoded_prev: OnceLock::new(),
            });
        }
        let object = CachedObject::from_store(kv.key.clone(), kv.value.clone(), kv.mod_revision);
        Some(Self {
            kind: if prev.is_some() {
                EventType::Modified
            } else {
                EventType::Added
            },
            object: Arc::new(object),
            prev,
            decoded: OnceLock::new(),
            decoded_prev: OnceLock::new(),
        })
    }
}

fn is_delete(event: &Event) -> bool {
    event.r#type == mars_store::pb::mvccpb::event::EventType::Delete as i32
}

/// What the broadcast carries: an event, or word that the cache restarted
/// (its watchers must end and resume).
#[derive(Debug, Clone)]
pub enum Broadcast {
    Event(Arc<CacheEvent>),
    Reset,
}

struct State {
    objects: BTreeMap<Bytes, Arc<CachedObject>>,
    history: VecDeque<Arc<CacheEvent>>,
    /// Every change up to here is applied.
    revision: i64,
    /// Events after this revision are all in `history`.
    oldest: i64,
}

impl State {
    /// The objects whose keys start with `key_prefix`, in key order.
    fn objects_under(&self, key_prefix: &[u8]) -> Vec<Arc<CachedObject>> {
        self.objects
            .range(Bytes::copy_from_slice(key_prefix)..)
            .take_while(|(k, _)| k.starts_with(key_prefix))
            .map(|(_, o)| Arc::clone(o))
            .collect()
    }
}

/// The cache of one key prefix.
pub struct WatchCache {
    prefix: Bytes,
    state: RwLock<State>,
    events: broadcast::Sender<Broadcast>,
    revision: watch::Sender<i64>,
    progress: Arc<Notify>,
    ready: watch::Sender<bool>,
}

/// A consistent copy of the cache's objects at one revision.
pub struct Snapshot {
    pub objects: Vec<Arc<CachedObject>>,
    pub revision: i64,
}

/// A watch on the cache: events after `from`, then live ones.
pub struct CacheWatch {
    /// Events already in history, oldest first.
    pub backlog: Vec<Arc<CacheEvent>>,
    pub live: broadcast::Receiver<Broadcast>,
    /// The revision the watch is current at, once the backlog is sent.
    pub revision: i64,
}

impl WatchCache {
    /// Starts caching every key under `prefix`; the cache fills in the
    /// background ([`WatchCache::wait_ready`]).
    pub fn start(store: Arc<dyn Store>, prefix: &str) -> Arc<Self> {
        let (events, _) = broadcast::channel(WATCHER_BUFFER);
        let cache = Arc::new(Self {
            prefix: Bytes::copy_from_slice(prefix.as_bytes()),
            state: RwLock::new(State {
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                revision: 0,
                oldest: i64::MAX,
            }),
            events,
            revision: watch::channel(0).0,
            progress: Arc::new(Notify::new()),
            ready: watch::channel(false).0,
        });
        tokio::spawn(Arc::clone(&cache).run(store));
        cache
    }

    /// Waits until the first list is loaded.
    pub async fn wait_ready(&self) {
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// The revision every change is applied up to.
    pub fn revision(&self) -> i64 {
        self.state.read().revision
    }

    /// Waits (up to `timeout`) until the cache has applied everything up to
    /// `revision`, asking the store for progress so a quiet resource catches
    /// up with revisions written elsewhere. False on timeout.
    pub async fn wait_for(&self, revision: i64, timeout: Duration) -> bool {
        let mut current = self.revision.subscribe();
        if *current.borrow() >= revision {
            return true;
        }
        self.progress.notify_one();
        tokio::time::timeout(timeout, current.wait_for(|r| *r >= revision))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Every object under `key_prefix` (a namespace's, or all), in key order.
    pub fn snapshot(&self, key_prefix: &[u8]) -> Snapshot {
        let state = self.state.read();
        let objects = state.objects_under(key_prefix);
        Snapshot {
            objects,
            revision: state.revision,
        }
    }

    /// One object, if cached.
    pub fn get(&self, key: &[u8]) -> Option<Arc<CachedObject>> {
        self.state.read().objects.get(key).cloned()
    }

    /// Subscribes to events after `from`: `None` if `from` is older than
    /// the history window (the caller falls back to the store).
    pub fn watch_from(&self, from: i64) -> Option<CacheWatch> {
        let state = self.state.read();
        if from < state.oldest {
            return None;
        }
        let live = self.events.subscribe();
        let backlog = state
            .history
            .iter()
            .skip_while(|e| e.revision() <= from)
            .cloned()
            .collect();
        Some(CacheWatch {
            backlog,
            live,
            revision: state.revision.max(from),
        })
    }

    /// Subscribes to events after the current state, returning that state
    /// too, with nothing missed in between.
    pub fn snapshot_and_watch(&self, key_prefix: &[u8]) -> (Snapshot, CacheWatch) {
        let state = self.state.read();
        let live = self.events.subscribe();
        let objects = state.objects_under(key_prefix);
        let revision = state.revision;
        (
            Snapshot { objects, revision },
            CacheWatch {
                backlog: Vec::new(),
                live,
                revision,
            },
        )
    }

    async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.sync(&store).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(prefix = ?self.prefix, %error, "watch cache lost its store watch; relisting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            if self.events.receiver_count() > 0 {
                let _ = self.events.send(Broadcast::Reset);
            }
        }
    }

    /// Lists everything, then follows the store's watch until it fails.
    async fn sync(&self, store: &Arc<dyn Store>) -> Result<(), StoreError> {
        let (objects, revision) = self.list_all(store).await?;
        {
            let mut state = self.state.write();
            state.objects = objects;
            state.history.clear();
            state.revision = revision;
            state.oldest = revision;
        }
        self.revision.send_replace(revision);
        self.ready.send_replace(true);
        let mut stream = store
            .watch(WatchSpec {
                key: self.prefix.clone(),
                range_end: prefix_end(&self.prefix),
                start_revision: revision + 1,
                progress_requests: Some(Arc::clone(&self.progress)),
                ..WatchSpec::default()
            })
            .await?;
        while let Some(message) = stream.next().await {
            let message = message?;
            if message.events.is_empty() {
                self.advance(message.revision);
            } else {
                self.apply(&message.events);
            }
        }
        Err(StoreError::Unavailable("the store ended the watch".into()))
    }

    async fn list_all(
        &self,
        store: &Arc<dyn Store>,
    ) -> Result<(BTreeMap<Bytes, Arc<CachedObject>>, i64), StoreError> {
        let mut request = ListRequest::prefix(self.prefix.clone());
        request.limit = 10_000;
        let mut objects = BTreeMap::new();
        loop {
            let page = store.list(&request).await?;
            request.revision = page.revision;
            let next = page.continue_key();
            for kv in page.kvs {
                let object = CachedObject::from_store(kv.key.clone(), kv.value, kv.mod_revision);
                objects.insert(kv.key, Arc::new(object));
            }
            match next {
                Some(key) => request.key = key,
                None => return Ok((objects, request.revision)),
            }
        }
    }

    fn advance(&self, revision: i64) {
        let mut state = self.state.write();
        if revision > state.revision {
            state.revision = revision;
            drop(state);
            self.revision.send_replace(revision);
        }
    }

    fn apply(&self, events: &[Event]) {
        let mut state = self.state.write();
        let mut last = state.revision;
        for event in events {
            let Some(kv) = &event.kv else { continue };
            let prev = if is_delete(event) {
                state.objects.remove(&kv.key)
            } else {
                state.objects.get(&kv.key).cloned()
            };
            let Some(cache_event) = CacheEvent::from_store(event, prev) else {
                continue;
            };
            if cache_event.kind != EventType::Deleted {
                state
                    .objects
                    .insert(kv.key.clone(), Arc::clone(&cache_event.object));
            }
            last = last.max(kv.mod_revision);
            let cache_event = Arc::new(cache_event);
            state.history.push_back(Arc::clone(&cache_event));
            if state.history.len() > HISTORY
                && let Some(evicted) = state.history.pop_front()
            {
                state.oldest = evicted.revision();
            }
            let _ = self.events.send(Broadcast::Event(cache_event));
        }
        state.revision = last;
        drop(state);
        self.revision.send_replace(last);
    }
}
