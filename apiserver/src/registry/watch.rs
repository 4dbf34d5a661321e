//! WATCH: events from the watch cache (or, for a resourceVersion older
//! than the cache's window, straight from the store), filtered by
//! namespace and selectors with kube's transitions (an object that starts
//! or stops matching is ADDED or DELETED), bookmarks, initial events and
//! timeouts.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use mars_store::{StoreError, WatchSpec, prefix_end};
use tokio::sync::{broadcast, mpsc};

use super::Registry;
use super::list::{ListOptions, matches, matches_decoded};
use crate::error::ApiError;
use crate::resources::ResourceDef;
use crate::watchcache::{Broadcast, CacheEvent, CachedObject, EventType};

/// What a watch asks for.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    pub filter: ListOptions,
    pub allow_bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
    /// How often an idle watch with bookmarks gets one.
    pub bookmark_interval: Duration,
}

/// One message of a watch.
#[derive(Debug, Clone)]
pub enum WatchItem {
    Event {
        kind: EventType,
        object: Arc<CachedObject>,
    },
    /// Everything up to `revision` has been sent.
    Bookmark {
        revision: i64,
        initial_events_end: bool,
    },
    /// The watch ends with this error (kube sends it as an ERROR event).
    Error(ApiError),
}

/// The buffer between a watch's producer and its HTTP body.
const CHANNEL: usize = 256;

fn too_old(requested: i64, oldest: i64) -> ApiError {
    ApiError::Gone {
        message: format!("too old resource version: {requested} ({oldest})"),
        expired: true,
        continue_token: None,
    }
}

impl Registry {
    /// Starts a watch; its items arrive on the returned channel, which
    /// closes when the watch ends.
    pub async fn watch(
        self: &Arc<Self>,
        resource: &ResourceDef,
        namespace: Option<&str>,
        options: WatchOptions,
    ) -> Result<mpsc::Receiver<WatchItem>, ApiError> {
        let prefix = resource.namespace_prefix(namespace);
        let rv = options
            .filter
            .resource_version
            .as_deref()
            .filter(|v| !v.is_empty());
        let requested =
            match rv {
                Some(v) => Some(v.parse::<i64>().ok().filter(|r| *r >= 0).ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid resource version: {v:?}"))
                })?),
                None => None,
            };
        if options.send_initial_events {
            if options.filter.resource_version_match.as_deref() != Some("NotOlderThan")
                && requested.is_some()
            {
                return Err(ApiError::BadRequest(
                    "sendInitialEvents requires resourceVersionMatch=NotOlderThan".into(),
                ));
            }
            if !options.allow_bookmarks {
                return Err(ApiError::BadRequest(
                    "sendInitialEvents requires allowWatchBookmarks=true".into(),
                ));
            }
        }
        let (tx, rx) = mpsc::channel(CHANNEL);
        let mut initial = Vec::new();
        let initial_revision;
        let live;
        let backlog;
        match (requested, options.send_initial_events) {
            // Current state first: unset ("most recent", consistent),
            // "0" ("any"), or sendInitialEvents at least at `rv`.
            (None | Some(0), _) | (Some(_), true) => {
                let at_least = match requested {
                    Some(rv) => rv,
                    None => self.current_revision().await?,
                };
                let cache = self.cache_at_least(resource, at_least).await?;
                let (snapshot, watch) = cache.snapshot_and_watch(prefix.as_bytes());
                initial = snapshot
                    .objects
                    .into_iter()
                    .filter(|o| matches(o, &options.filter))
                    .collect();
                initial_revision = snapshot.revision;
                live = Some(watch.live);
                backlog = Vec::new();
            }
            (Some(rv), false) => {
                let cache = self.cache_at_least(resource, rv).await?;
                match cache.watch_from(rv) {
                    Some(watch) => {
                        initial_revision = watch.revision;
                        live = Some(watch.live);
                        backlog = watch.backlog;
                    }
                    None => {
                        self.store_watch(&prefix, rv, &options, tx).await?;
                        return Ok(rx);
                    }
                }
            }
        }
        let task = Producer {
            prefix,
            options,
            tx,
            revision: initial_revision,
        };
        let live = live.ok_or_else(|| ApiError::Internal("watch without a feed".into()))?;
        tokio::spawn(task.run(initial, backlog, live));
        Ok(rx)
    }

    /// A watch from a revision the cache no longer holds: the store's own
    /// history serves it, or says it is compacted (410).
    async fn store_watch(
        &self,
        prefix: &str,
        from: i64,
        options: &WatchOptions,
        tx: mpsc::Sender<WatchItem>,
    ) -> Result<(), ApiError> {
        let spec = WatchSpec {
            key: prefix.as_bytes().to_vec().into(),
            range_end: prefix_end(prefix.as_bytes()),
            start_revision: from + 1,
            prev_kv: true,
            ..WatchSpec::default()
        };
        let mut stream = match self.store.watch(spec).await {
            Ok(stream) => stream,
            Err(StoreError::Compacted { compact_revision }) => {
                let _ = tx
                    .send(WatchItem::Error(too_old(from, compact_revision)))
                    .await;
                return Ok(());
            }
            Err(other) => return Err(super::store_error(other)),
        };
        let options = options.clone();
        tokio::spawn(async move {
            let deadline = options.timeout.map(|t| tokio::time::Instant::now() + t);
            loop {
                let message = match deadline {
                    Some(at) => match tokio::time::timeout_at(at, stream.next()).await {
                        Ok(m) => m,
                        Err(_) => return,
                    },
                    None => stream.next().await,
                };
                let events = match message {
                    Some(Ok(m)) => m.events,
                    Some(Err(StoreError::Compacted { compact_revision })) => {
                        let _ = tx
                            .send(WatchItem::Error(too_old(from, compact_revision)))
                            .await;
                        return;
                    }
                    Some(Err(_)) | None => return,
                };
                for event in events {
                    // The store sends the previous state of updates and
                    // deletes (`prev_kv`); creates have none.
                    let prev = event.prev_kv.as_ref().map(|p| {
                        Arc::new(CachedObject::from_store(
                            p.key.clone(),
                            p.value.clone(),
                            p.mod_revision,
                        ))
                    });
                    let Some(cache_event) = CacheEvent::from_store(&event, prev) else {
                        continue;
                    };
                    if let Some(item) = filter_event(&cache_event, &options.filter)
                        && tx.send(item).await.is_err()
                    {
                        return;
                    }
                }
            }
        });
        Ok(())
    }
}

/// The event a watcher with `filter` sees for `event`, if any: kube's
/// transitions for objects entering or leaving the selection.
fn filter_event(event: &CacheEvent, filter: &ListOptions) -> Option<WatchItem> {
    let now =
        event.kind != EventType::Deleted && matches_decoded(&event.object, filter, &event.decoded);
    let before = event
        .prev
        .as_ref()
        .is_some_and(|p| matches_decoded(p, filter, &event.decoded_prev));
    let (kind, object) = match (event.kind, before, now) {
        (EventType::Deleted, true, _) => (EventType::Deleted, Arc::clone(&event.object)),
        (EventType::Deleted, false, _) => return None,
        (_, false, true) => (EventType::Added, Arc::clone(&event.object)),
        (_, true, true) => (EventType::Modified, Arc::clone(&event.object)),
        (_, true, false) => {
            // It left the selection: DELETED, with its previous state at
            // this event's revision.
            let prev = event.prev.as_ref()?;
            let object =
                CachedObject::from_store(prev.key.clone(), prev.raw.clone(), event.revision());
            (EventType::Deleted, Arc::new(object))
        }
        (_, false, false) => return None,
    };
    Some(WatchItem::Event { kind, object })
}

/// Feeds one watcher from the cache.
struct Producer {
    prefix: String,
    options: WatchOptions,
    tx: mpsc::Sender<WatchItem>,
    revision: i64,
}

impl Producer {
    async fn run(
        mut self,
        initial: Vec<Arc<CachedObject>>,
        backlog: Vec<Arc<CacheEvent>>,
        mut live: broadcast::Receiver<Broadcast>,
    ) {
        for object in initial {
            let item = WatchItem::Event {
                kind: EventType::Added,
                object,
            };
            if self.tx.send(item).await.is_err() {
                return;
            }
        }
        if self.options.send_initial_events {
            let item = WatchItem::Bookmark {
                revision: self.revision,
                initial_events_end: true,
            };
            if self.tx.send(item).await.is_err() {
                return;
            }
        }
        for event in backlog {
            if !self.deliver(&event).await {
                return;
            }
        }
        let deadline = self
            .options
            .timeout
            .map(|t| tokio::time::Instant::now() + t);
        let interval = self
            .options
            .bookmark_interval
            .max(Duration::from_millis(100));
        let mut bookmarks =
            tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        let mut bookmarked = self.revision;
        loop {
            let timeout = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = live.recv() => match received {
                    Ok(Broadcast::Event(event)) => {
                        if event.revision() <= self.revision {
                            continue;
                        }
                        if !self.deliver(&event).await {
                            return;
                        }
                    }
                    // Cut off (too slow) or the cache restarted: the client
                    // resumes from the last revision it saw.
                    Ok(Broadcast::Reset) | Err(_) => return,
                },
                _ = bookmarks.tick(), if self.options.allow_bookmarks => {
                    if self.revision > bookmarked {
                        bookmarked = self.revision;
                        let item = WatchItem::Bookmark { revision: self.revision, initial_events_end: false };
                        if self.tx.send(item).await.is_err() {
                            return;
                        }
                    }
                }
                _ = self.tx.closed() => return,
                _ = timeout => return,
            }
        }
    }

    /// Sends the event if this watcher sees it; false when the client is gone.
    async fn deliver(&mut self, event: &CacheEvent) -> bool {
        self.revision = self.revision.max(event.revision());
        if !event.object.key.starts_with(self.prefix.as_bytes()) {
            return true;
        }
        match filter_event(event, &self.options.filter) {
            Some(item) => self.tx.send(item).await.is_ok(),
            None => true,
        }
    }
}
