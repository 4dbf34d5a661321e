//! Local caches of API objects for Mars's components (client-go's
//! informers): one watch per kind, objects decoded once and without their
//! managedFields ([`Lean`]), a store for lookups by name, an index by
//! controller, and a stream of changes for each subscriber, so every
//! controller of a process reads and is triggered by the same cache.
//!
//! One watch per kind, not one per controller: each extra watch of every
//! pod is another copy of every pod in memory, another encoding of every
//! pod change on the server and another decoding of it here, and with
//! 10,000 pods changing three times each that was most of the controllers'
//! CPU. Depends on `kube` and `k8s-openapi` only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};

mod lean;
pub use lean::Lean;

/// What a cached object is filed under: the uid of its controller, or, for
/// an object no controller owns, its namespace (orphans are what a
/// controller may adopt).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    Controller(String),
    Orphan(String),
}

impl Owner {
    fn of(meta: &ObjectMeta) -> Self {
        match controller_of(meta) {
            Some(r) => Owner::Controller(r.uid.clone()),
            None => Owner::Orphan(meta.namespace.clone().unwrap_or_default()),
        }
    }
}

/// The owner reference of an object's controller (`controller: true`).
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// What an informer can hold: a kind of the API, decoded from JSON.
pub trait Cacheable:
    kube::Resource<DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Cacheable for K where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}

/// The objects of one kind: a [`Store`] for lookups by name, an index by
/// controller, and a stream of changes for each subscriber.
pub struct Informer<K: kube::Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    state: Arc<Mutex<Fanout<K>>>,
}

impl<K: kube::Resource<DynamicType = ()>> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            state: self.state.clone(),
        }
    }
}

/// What the watch task updates besides the store, under one lock so a new
/// subscriber sees every object exactly once: either in its first batch
/// or as a change after it.
struct Fanout<K: kube::Resource<DynamicType = ()> + 'static> {
    ready: bool,
    subscribers: Vec<mpsc::UnboundedSender<Arc<K>>>,
    by_owner: HashMap<Owner, HashMap<ObjectRef<K>, Arc<K>>>,
}

impl<K: kube::Resource<DynamicType = ()> + Clone> Fanout<K> {
    fn file(&mut self, key: ObjectRef<K>, object: Arc<K>) {
        let owner = Owner::of(object.meta());
        self.by_owner.entry(owner).or_default().insert(key, object);
    }

    /// Takes `key` out of the index, where its cached state `filed` put it.
    fn unfile(&mut self, key: &ObjectRef<K>, filed: &K) {
        let owner = Owner::of(filed.meta());
        if let Some(bucket) = self.by_owner.get_mut(&owner) {
            bucket.remove(key);
            if bucket.is_empty() {
                self.by_owner.remove(&owner);
            }
        }
    }

    fn tell(&mut self, object: &Arc<K>) {
        self.subscribers
            .retain(|tx| tx.unbounded_send(object.clone()).is_ok());
    }
}

impl<K: Cacheable> Informer<K> {
    /// Starts watching every object `api` reaches (decoded without their
    /// managedFields: [`Lean`]), in a task of its own that restarts the
    /// watch with backoff; `who` names it in the logs.
    pub fn start(api: Api<Lean<K>>, who: &'static str) -> Self {
        let (store, writer) = reflector::store();
        let state = Arc::new(Mutex::new(Fanout {
            ready: false,
            subscribers: Vec::new(),
            by_owner: HashMap::new(),
        }));
        let informer = Self { store, state };
        let task = informer.clone();
        tokio::spawn(async move {
            let mut writer = writer;
            let mut events =
                std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) => task.apply(&mut writer, unwrapped(event)),
                    Err(error) => tracing::warn!(%error, "{who} watch"),
                }
            }
        });
        informer
    }

    fn lock(&self) -> MutexGuard<'_, Fanout<K>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn apply(&self, writer: &mut reflector::store::Writer<K>, event: watcher::Event<K>) {
        let mut state = self.lock();
        // The object as cached before the event: where the index has it.
        let cached = match &event {
            watcher::Event::Apply(object) | watcher::Event::Delete(object) => {
                self.store.get(&ObjectRef::from_obj(object))
            }
            _ => None,
        };
        writer.apply_watcher_event(&event);
        match event {
            watcher::Event::Apply(object) => {
                let key = ObjectRef::from_obj(&object);
                let Some(stored) = self.store.get(&key) else {
                    return;
                };
                if let Some(cached) = cached {
                    state.unfile(&key, &cached);
                }
                state.file(key, stored.clone());
                state.tell(&stored);
            }
            watcher::Event::Delete(object) => {
                if let Some(cached) = cached {
                    state.unfile(&ObjectRef::from_obj(&object), &cached);
                }
                state.tell(&Arc::new(object));
            }
            watcher::Event::Init | watcher::Event::InitApply(_) => {}
            watcher::Event::InitDone => {
                // A (re)list: the store now holds exactly what the list
                // returned. Tell of everything in it, and of what vanished
                // while the watch was down.
                let mut gone: HashMap<ObjectRef<K>, Arc<K>> = std::mem::take(&mut state.by_owner)
                    .into_values()
                    .flatten()
                    .collect();
                for object in self.store.state() {
                    let key = ObjectRef::from_obj(object.as_ref());
                    gone.remove(&key);
                    state.file(key, object.clone());
                    state.tell(&object);
                }
                for (key, last) in gone {
                    tracing::debug!(object = %key, "gone while the watch was down");
                    state.tell(&last);
                }
                state.ready = true;
            }
        }
    }

    /// The cache, for lookups by name and for `kube`'s controllers.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Every object that is cached, changed or deleted from now on, first
    /// those already cached: the trigger stream of a controller
    /// (`Controller::for_shared_stream`, `watches_shared_stream`).
    pub fn changes(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let (tx, rx) = mpsc::unbounded();
        let mut state = self.lock();
        if state.ready {
            for object in self.store.state() {
                let _ = tx.unbounded_send(object);
            }
        }
        state.subscribers.push(tx);
        rx
    }

    /// The objects whose controller (owner reference with `controller:
    /// true`) has this uid.
    pub fn controlled_by(&self, uid: &str) -> Vec<Arc<K>> {
        self.filed_under(&Owner::Controller(uid.to_owned()))
    }

    /// The objects of a namespace that no controller owns.
    pub fn orphans_in(&self, namespace: &str) -> Vec<Arc<K>> {
        self.filed_under(&Owner::Orphan(namespace.to_owned()))
    }

    fn filed_under(&self, owner: &Owner) -> Vec<Arc<K>> {
        self.lock()
            .by_owner
            .get(owner)
            .map(|bucket| bucket.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// A watch event of [`Lean`] objects as one of the objects themselves,
/// for a component that runs its own watch.
pub fn unwrapped<K>(event: watcher::Event<Lean<K>>) -> watcher::Event<K> {
    match event {
        watcher::Event::Apply(Lean(object)) => watcher::Event::Apply(object),
        watcher::Event::Delete(Lean(object)) => watcher::Event::Delete(object),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(Lean(object)) => watcher::Event::InitApply(object),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

/// A cache of every object `api` reaches, for a controller that only reads
/// it; `who` names it in the logs.
pub fn watched<K: Cacheable>(api: Api<Lean<K>>, who: &'static str) -> Store<K> {
    Informer::start(api, who).store()
}
