//! The `Store` trait conformance suite: one set of cases, written against
//! `Arc<dyn Store>`, run against (a) the embedded backend in-process, (b)
//! `EtcdStore` on a real etcd, and (c) `EtcdStore` on a real `mars server`.
//! Every backend must answer every case the same way; where the embedded
//! backend or Mars differs from real etcd, they are wrong.
//!
//! Each case is its own test per backend (`embedded::<case>`,
//! `real_etcd::<case>`, `mars_server::<case>`), on a fresh backend, under its
//! own key prefix. Every await that could hang is bounded, so a bug fails
//! fast instead of stalling the run.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use mars_e2e::raft_cluster::ThreeMembers;
use mars_e2e::{EtcdServer, MarsServer};
use mars_store::pb::mvccpb::event::EventType;
use mars_store::{
    Embedded, EmbeddedConfig, Event, KeyValue, ListPage, ListRequest, Store, StoreError, WatchSpec,
    WatchStream, prefix_end,
};
use mars_store_etcd::EtcdStore;

// ------------------------------------------------------------------ backends

/// A store under test and whatever keeps it alive.
struct Backend {
    store: Arc<dyn Store>,
    /// The embedded store, to close at the end.
    embedded: Option<Embedded>,
    _dir: Option<tempfile::TempDir>,
    _etcd: Option<EtcdServer>,
    _mars: Option<MarsServer>,
    cluster: Option<ThreeMembers>,
}

impl Backend {
    async fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(EmbeddedConfig::new(dir.path()))
            .await
            .unwrap();
        Self {
            store: Arc::new(store.clone()),
            embedded: Some(store),
            _dir: Some(dir),
            _etcd: None,
            _mars: None,
            cluster: None,
        }
    }

    /// A follower of a three-member in-process Raft cluster.
    async fn raft_follower() -> Self {
        let cluster = ThreeMembers::start().await.unwrap();
        let follower = cluster.follower().await.unwrap();
        Self {
            store: Arc::new(follower),
            embedded: None,
            _dir: None,
            _etcd: None,
            _mars: None,
            cluster: Some(cluster),
        }
    }

    async fn real_etcd() -> Self {
        let server = EtcdServer::start().unwrap_or_else(|e| panic!("cannot start etcd: {e:#}"));
        let store = within("connect to etcd", EtcdStore::connect(&[server.url()]))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to etcd at {}: {e}", server.url()));
        Self {
            store: Arc::new(store),
            embedded: None,
            _dir: None,
            _etcd: Some(server),
            _mars: None,
            cluster: None,
        }
    }

    async fn mars_server() -> Self {
        let server =
            MarsServer::store_only().unwrap_or_else(|e| panic!("cannot start mars: {e:#}"));
        let store = within("connect to mars", EtcdStore::connect(&[server.url()]))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to mars at {}: {e}\n{}",
                    server.url(),
                    server.log_tail()
                )
            });
        Self {
            store: Arc::new(store),
            embedded: None,
            _dir: None,
            _etcd: None,
            _mars: Some(server),
            cluster: None,
        }
    }

    async fn finish(self) {
        if let Some(embedded) = &self.embedded {
            within("close the embedded store", embedded.close()).await;
        }
        if let Some(cluster) = self.cluster {
            within("close the cluster", cluster.close()).await;
        }
    }
}

/// Runs every case against every backend, one test each.
macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::Backend::embedded().await;
                    super::$case(backend.store.clone()).await;
                    backend.finish().await;
                }
            )*
        }
        mod raft_follower {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::Backend::raft_follower().await;
                    super::$case(backend.store.clone()).await;
                    backend.finish().await;
                }
            )*
        }
        mod real_etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::Backend::real_etcd().await;
                    super::$case(backend.store.clone()).await;
                    backend.finish().await;
                }
            )*
        }
        mod mars_server {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::Backend::mars_server().await;
                    super::$case(backend.store.clone()).await;
                    backend.finish().await;
                }
            )*
        }
    };
}

store_suite!(
    create_then_get,
    create_twice_is_already_exists,
    update_with_current_revision,
    update_with_stale_revision_conflicts,
    missing_key_is_not_found,
    delete_with_stale_revision_conflicts,
    list_pages_at_one_revision,
    list_at_compacted_revision,
    list_at_future_revision,
    watch_replays_history_then_live,
    watch_no_delete_filter,
    watch_from_compacted_revision,
    current_revision_counts_writes,
    lease_expiry_deletes_key,
);

// ------------------------------------------------------------------ helpers

/// Longest any single step may take.
const STEP: Duration = Duration::from_secs(10);

/// Awaits `future` for at most [`STEP`], failing the test with `what` otherwise.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    within_for(what, STEP, future).await
}

async fn within_for<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {limit:?}"))
}

fn key(prefix: &str, name: &str) -> Vec<u8> {
    format!("{prefix}{name}").into_bytes()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn value(v: &str) -> Bytes {
    Bytes::copy_from_slice(v.as_bytes())
}

async fn create(store: &dyn Store, k: &[u8], v: &str) -> KeyValue {
    within("create", store.create(k, value(v), 0))
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", text(k)))
}

/// Creates `k`, updates it three times and compacts at the last write.
/// Returns the first and last versions: reads at the first must now fail.
async fn history_then_compact(store: &dyn Store, k: &[u8]) -> (KeyValue, KeyValue) {
    let first = create(store, k, "one").await;
    let mut last = first.clone();
    for i in 0..3 {
        last = within(
            "update",
            store.update(k, value(&format!("v{i}")), last.mod_revision, 0),
        )
        .await
        .unwrap();
    }
    within("compact", store.compact(last.mod_revision))
        .await
        .unwrap();
    (first, last)
}

async fn get(store: &dyn Store, k: &[u8]) -> Option<KeyValue> {
    within("get", store.get(k))
        .await
        .unwrap_or_else(|e| panic!("get {}: {e}", text(k)))
}

async fn revision(store: &dyn Store) -> i64 {
    within("current_revision", store.current_revision())
        .await
        .unwrap()
}

async fn list(store: &dyn Store, request: &ListRequest) -> Result<ListPage, StoreError> {
    within("list", store.list(request)).await
}

fn prefix_request(prefix: &str, revision: i64, limit: i64) -> ListRequest {
    ListRequest {
        revision,
        limit,
        ..ListRequest::prefix(prefix.to_string())
    }
}

fn watch_spec(prefix: &str, start_revision: i64) -> WatchSpec {
    WatchSpec {
        key: Bytes::from(prefix.to_string()),
        range_end: prefix_end(prefix.as_bytes()),
        start_revision,
        ..WatchSpec::default()
    }
}

async fn watch(store: &dyn Store, spec: WatchSpec) -> WatchStream {
    within("watch", store.watch(spec))
        .await
        .unwrap_or_else(|e| panic!("watch: {e}"))
}

/// The next `n` events of a watch (progress notifications skipped), checking
/// that each message's revision covers its events.
async fn next_events(stream: &mut WatchStream, n: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < n {
        let message = within(
            &format!("watch event {} of {n}", events.len() + 1),
            stream.next(),
        )
        .await
        .unwrap_or_else(|| panic!("watch ended after {} of {n} events", events.len()))
        .unwrap_or_else(|e| panic!("watch failed after {} of {n} events: {e}", events.len()));
        for event in &message.events {
            let rev = event.kv.as_ref().map_or(0, |kv| kv.mod_revision);
            assert!(
                message.revision >= rev,
                "message at revision {} carries an event at revision {rev}",
                message.revision
            );
        }
        events.extend(message.events);
    }
    assert_eq!(events.len(), n, "more events than expected: {events:#?}");
    events
}

/// An event as (type, key, value, mod revision, prev value) for comparisons.
fn summary(event: &Event) -> (&'static str, String, String, i64, Option<String>) {
    let kind = if event.r#type == EventType::Put as i32 {
        "PUT"
    } else if event.r#type == EventType::Delete as i32 {
        "DELETE"
    } else {
        "UNKNOWN"
    };
    let kv = event.kv.clone().unwrap_or_default();
    (
        kind,
        text(&kv.key),
        text(&kv.value),
        kv.mod_revision,
        event.prev_kv.as_ref().map(|p| text(&p.value)),
    )
}

fn assert_conflict(result: Result<KeyValue, StoreError>, expected_current: &KeyValue, what: &str) {
    match result {
        Err(StoreError::Conflict { key, current }) => {
            assert_eq!(
                key,
                text(&expected_current.key),
                "{what}: conflict names the key"
            );
            assert_eq!(
                current.as_deref(),
                Some(expected_current),
                "{what}: conflict carries the current value"
            );
        }
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, k: &[u8], what: &str) {
    match result {
        Err(StoreError::NotFound { key }) => assert_eq!(key, text(k), "{what}: names the key"),
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

// --------------------------------------------------------------------- cases

async fn create_then_get(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/create-then-get/";
    let before = revision(store).await;
    let created = create(store, &key(p, "a"), "one").await;
    assert_eq!(text(&created.key), format!("{p}a"));
    assert_eq!(text(&created.value), "one");
    assert_eq!(created.version, 1, "a new key is at version 1");
    assert_eq!(created.lease, 0);
    assert_eq!(
        created.create_revision,
        before + 1,
        "create is the next revision"
    );
    assert_eq!(created.mod_revision, created.create_revision);
    assert_eq!(
        get(store, &key(p, "a")).await,
        Some(created),
        "get returns what create returned"
    );
    assert_eq!(
        get(store, &key(p, "missing")).await,
        None,
        "get of an absent key"
    );
}

async fn create_twice_is_already_exists(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/create-twice/";
    let k = key(p, "a");
    let first = create(store, &k, "one").await;
    match within("second create", store.create(&k, value("two"), 0)).await {
        Err(StoreError::AlreadyExists { key }) => assert_eq!(key, text(&k)),
        other => panic!("second create: expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        get(store, &k).await,
        Some(first),
        "the failed create changed nothing"
    );
}

async fn update_with_current_revision(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/update-current/";
    let k = key(p, "a");
    let first = create(store, &k, "one").await;
    create(store, &key(p, "other"), "x").await;
    let updated = within(
        "update",
        store.update(&k, value("two"), first.mod_revision, 0),
    )
    .await
    .unwrap();
    assert_eq!(text(&updated.value), "two");
    assert_eq!(updated.version, 2, "update bumps the version");
    assert_eq!(
        updated.create_revision, first.create_revision,
        "create revision kept"
    );
    assert_eq!(
        updated.mod_revision,
        first.mod_revision + 2,
        "mod revision is the update's revision"
    );
    assert_eq!(updated.mod_revision, revision(store).await);
    assert_eq!(
        get(store, &k).await,
        Some(updated.clone()),
        "get returns what update returned"
    );

    let again = within(
        "second update",
        store.update(&k, value("three"), updated.mod_revision, 0),
    )
    .await
    .unwrap();
    assert_eq!(again.version, 3);
    assert_eq!(again.mod_revision, updated.mod_revision + 1);
}

async fn update_with_stale_revision_conflicts(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/update-stale/";
    let k = key(p, "a");
    let first = create(store, &k, "one").await;
    let second = within(
        "update",
        store.update(&k, value("two"), first.mod_revision, 0),
    )
    .await
    .unwrap();
    let before = revision(store).await;
    let stale = within(
        "stale update",
        store.update(&k, value("three"), first.mod_revision, 0),
    )
    .await;
    assert_conflict(stale, &second, "update with a stale revision");
    assert_eq!(
        revision(store).await,
        before,
        "a failed update writes nothing"
    );
    assert_eq!(get(store, &k).await, Some(second));
}

async fn missing_key_is_not_found(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/missing/";
    let k = key(p, "never");
    create(store, &key(p, "present"), "x").await;
    let before = revision(store).await;
    let result = within("update missing", store.update(&k, value("v"), before, 0)).await;
    assert_not_found(result, &k, "update of a missing key");
    let result = within("delete missing", store.delete(&k, None)).await;
    assert_not_found(result, &k, "unconditional delete of a missing key");
    let result = within("delete missing", store.delete(&k, Some(before))).await;
    assert_not_found(result, &k, "conditional delete of a missing key");

    // A key that existed and was deleted is just as missing.
    let gone = key(p, "gone");
    let kv = create(store, &gone, "x").await;
    let deleted = within("delete", store.delete(&gone, None)).await.unwrap();
    assert_eq!(deleted, kv, "delete returns what the key held");
    let result = within(
        "update deleted",
        store.update(&gone, value("y"), kv.mod_revision, 0),
    )
    .await;
    assert_not_found(result, &gone, "update of a deleted key");
    let result = within("delete deleted", store.delete(&gone, Some(kv.mod_revision))).await;
    assert_not_found(result, &gone, "delete of a deleted key");
    assert_eq!(get(store, &gone).await, None);
}

async fn delete_with_stale_revision_conflicts(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/delete-stale/";
    let k = key(p, "a");
    let first = create(store, &k, "one").await;
    let second = within(
        "update",
        store.update(&k, value("two"), first.mod_revision, 0),
    )
    .await
    .unwrap();
    let before = revision(store).await;
    let stale = within("stale delete", store.delete(&k, Some(first.mod_revision))).await;
    assert_conflict(stale, &second, "delete with a stale revision");
    assert_eq!(
        revision(store).await,
        before,
        "a failed delete writes nothing"
    );
    assert_eq!(
        get(store, &k).await,
        Some(second.clone()),
        "the key survives"
    );

    let deleted = within("delete", store.delete(&k, Some(second.mod_revision)))
        .await
        .unwrap();
    assert_eq!(deleted, second, "delete returns what the key held");
    assert_eq!(revision(store).await, before + 1);
    assert_eq!(get(store, &k).await, None);
}

async fn list_pages_at_one_revision(store: Arc<dyn Store>) {
    let p = "/store-trait/list-pages/";
    let names: Vec<String> = (0..10).map(|i| format!("k{i:02}")).collect();
    let mut originals = Vec::new();
    for name in &names {
        originals.push(create(store.as_ref(), &key(p, name), &format!("v-{name}")).await);
    }
    // Neighbours outside the prefix must not show up.
    create(store.as_ref(), b"/store-trait/list-pages", "outside").await;
    create(store.as_ref(), b"/store-trait/list-pages0", "outside").await;

    let first = list(store.as_ref(), &prefix_request(p, 0, 2))
        .await
        .unwrap();
    let at = first.revision;
    assert_eq!(at, revision(store.as_ref()).await, "a list at 0 reads now");
    assert_eq!(first.kvs.len(), 2);
    assert!(first.more);
    assert_eq!(first.remaining, 8, "remaining after the first page");

    // Another task writes under the prefix between pages: new keys among the
    // old ones, a delete and an update of keys not yet listed.
    let stop = Arc::new(AtomicBool::new(false));
    let (written_tx, mut written_rx) = tokio::sync::watch::channel(0u64);
    let writer = {
        let store = store.clone();
        let stop = stop.clone();
        let k09 = originals[9].clone();
        tokio::spawn(async move {
            let store = store.as_ref();
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                match n {
                    1 => {
                        store.delete(&key(p, "k07"), None).await?;
                    }
                    2 => {
                        store
                            .update(&key(p, "k09"), value("changed"), k09.mod_revision, 0)
                            .await?;
                    }
                    _ => {}
                }
                let name = format!("k{:02}-new{n}", n % 10);
                store.create(&key(p, &name), value("new"), 0).await?;
                let _ = written_tx.send(n);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok::<u64, StoreError>(n)
        })
    };

    let mut seen: Vec<KeyValue> = first.kvs.clone();
    let mut page = first;
    let mut pages = 1;
    let mut writes_seen = 0u64;
    while let Some(next) = page.continue_key() {
        // Let at least one more write land before each page.
        within(
            "the writer's next write",
            written_rx.wait_for(|&n| n > writes_seen),
        )
        .await
        .unwrap_or_else(|_| panic!("the writer stopped early"));
        writes_seen = *written_rx.borrow();

        let request = ListRequest {
            key: next,
            range_end: prefix_end(p.as_bytes()),
            revision: at,
            limit: 2,
        };
        page = list(store.as_ref(), &request)
            .await
            .unwrap_or_else(|e| panic!("page {}: {e}", pages + 1));
        pages += 1;
        assert_eq!(
            page.revision, at,
            "page {pages} is read at the first page's revision"
        );
        assert!(
            !page.kvs.is_empty(),
            "page {pages} is empty yet the last one said more"
        );
        assert!(page.kvs.len() <= 2, "page {pages} exceeds the limit");
        seen.extend(page.kvs.iter().cloned());
        assert_eq!(
            page.remaining,
            names.len() as i64 - seen.len() as i64,
            "remaining after page {pages}"
        );
        assert_eq!(page.more, page.remaining > 0, "more on page {pages}");
        assert!(pages <= 10, "paging does not end");
    }
    stop.store(true, Ordering::SeqCst);
    let writes = within("the writer's end", writer)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the writer failed: {e}"));
    assert!(
        writes >= 4,
        "the writer wrote between every page ({writes} writes)"
    );

    assert_eq!(pages, 5, "10 keys in pages of 2");
    let seen_keys: Vec<String> = seen.iter().map(|kv| text(&kv.key)).collect();
    let expected: Vec<String> = names.iter().map(|n| format!("{p}{n}")).collect();
    assert_eq!(
        seen_keys, expected,
        "every key exactly once, in order, as of the first page"
    );
    assert_eq!(seen, originals, "values as of the first page's revision");

    // Now the writes show.
    let now = list(store.as_ref(), &prefix_request(p, 0, 0))
        .await
        .unwrap();
    assert_eq!(
        now.kvs.len() as u64,
        9 + writes,
        "k07 deleted, one new key per write"
    );
    assert_eq!(now.remaining, 0);
    assert!(!now.more);
    assert!(now.kvs.iter().all(|kv| text(&kv.key) != format!("{p}k07")));
    let k09 = now
        .kvs
        .iter()
        .find(|kv| text(&kv.key) == format!("{p}k09"))
        .unwrap();
    assert_eq!(text(&k09.value), "changed");
}

async fn list_at_compacted_revision(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/list-compacted/";
    let (first, last) = history_then_compact(store, &key(p, "a")).await;
    match list(store, &prefix_request(p, first.mod_revision, 0)).await {
        Err(StoreError::Compacted { .. }) => {}
        other => panic!("list below the compacted revision: expected Compacted, got {other:?}"),
    }
    match list(store, &prefix_request(p, last.mod_revision - 1, 0)).await {
        Err(StoreError::Compacted { .. }) => {}
        other => {
            panic!("list just below the compacted revision: expected Compacted, got {other:?}")
        }
    }
    let page = list(store, &prefix_request(p, last.mod_revision, 0))
        .await
        .unwrap_or_else(|e| panic!("list at the compacted revision itself: {e}"));
    assert_eq!(page.revision, last.mod_revision);
    assert_eq!(
        page.kvs,
        vec![last],
        "the compacted revision itself stays readable"
    );
}

async fn list_at_future_revision(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/list-future/";
    create(store, &key(p, "a"), "one").await;
    let now = revision(store).await;
    match list(store, &prefix_request(p, now + 1, 0)).await {
        Err(StoreError::FutureRevision) => {}
        other => panic!("list at the next revision: expected FutureRevision, got {other:?}"),
    }
    match list(store, &prefix_request(p, now + 1000, 0)).await {
        Err(StoreError::FutureRevision) => {}
        other => panic!("list far in the future: expected FutureRevision, got {other:?}"),
    }
    let page = list(store, &prefix_request(p, now, 0)).await.unwrap();
    assert_eq!(page.kvs.len(), 1, "the current revision is readable");
    assert_eq!(page.revision, now);
}

async fn watch_replays_history_then_live(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/watch-history/";
    let (a, b, c) = (key(p, "a"), key(p, "b"), key(p, "c"));
    let a1 = create(store, &a, "a1").await;
    let a2 = within(
        "update a",
        store.update(&a, value("a2"), a1.mod_revision, 0),
    )
    .await
    .unwrap();
    let outside = create(store, b"/store-trait/watch-history-outside", "x").await;
    let b1 = create(store, &b, "b1").await;
    let a_deleted = within("delete a", store.delete(&a, None)).await.unwrap();
    assert_eq!(a_deleted, a2);
    let delete_a_rev = revision(store).await;

    let mut stream = watch(
        store,
        WatchSpec {
            prev_kv: true,
            ..watch_spec(p, a1.mod_revision)
        },
    )
    .await;
    let history = next_events(&mut stream, 4).await;
    let a_key = text(&a);
    let b_key = text(&b);
    assert_eq!(
        history.iter().map(summary).collect::<Vec<_>>(),
        vec![
            ("PUT", a_key.clone(), "a1".into(), a1.mod_revision, None),
            (
                "PUT",
                a_key.clone(),
                "a2".into(),
                a2.mod_revision,
                Some("a1".into())
            ),
            ("PUT", b_key.clone(), "b1".into(), b1.mod_revision, None),
            (
                "DELETE",
                a_key.clone(),
                String::new(),
                delete_a_rev,
                Some("a2".into())
            ),
        ],
        "replayed history"
    );
    assert_eq!(
        history[0].kv.as_ref(),
        Some(&a1),
        "a replayed put carries the full kv"
    );
    assert_eq!(
        history[1].prev_kv.as_ref(),
        Some(&a1),
        "prev_kv is the full previous kv"
    );

    // Live events follow, in order.
    let c1 = create(store, &c, "c1").await;
    within(
        "update outside",
        store.update(
            b"/store-trait/watch-history-outside",
            value("y"),
            outside.mod_revision,
            0,
        ),
    )
    .await
    .unwrap();
    within("delete b", store.delete(&b, None)).await.unwrap();
    let delete_b_rev = revision(store).await;
    let c2 = within(
        "update c",
        store.update(&c, value("c2"), c1.mod_revision, 0),
    )
    .await
    .unwrap();
    let live = next_events(&mut stream, 3).await;
    let c_key = text(&c);
    assert_eq!(
        live.iter().map(summary).collect::<Vec<_>>(),
        vec![
            ("PUT", c_key.clone(), "c1".into(), c1.mod_revision, None),
            (
                "DELETE",
                b_key,
                String::new(),
                delete_b_rev,
                Some("b1".into())
            ),
            (
                "PUT",
                c_key,
                "c2".into(),
                c2.mod_revision,
                Some("c1".into())
            ),
        ],
        "live events"
    );
    assert_eq!(live[2].kv.as_ref(), Some(&c2));

    // A watch without prev_kv gets none: a2, b1, delete a, c1, delete b, c2.
    let mut plain = watch(store, watch_spec(p, a2.mod_revision)).await;
    let events = next_events(&mut plain, 6).await;
    assert!(
        events.iter().all(|e| e.prev_kv.is_none()),
        "prev_kv only when asked: {events:#?}"
    );
}

async fn watch_no_delete_filter(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/watch-no-delete/";
    let (a, b) = (key(p, "a"), key(p, "b"));
    let mut stream = watch(
        store,
        WatchSpec {
            no_delete: true,
            ..watch_spec(p, 0)
        },
    )
    .await;
    let a1 = create(store, &a, "a1").await;
    within("delete a", store.delete(&a, None)).await.unwrap();
    let b1 = create(store, &b, "b1").await;
    within("delete b", store.delete(&b, None)).await.unwrap();
    let a2 = create(store, &a, "a2").await;
    // Every delete came before the last put, so by then any unfiltered
    // DELETE would have arrived.
    let events = next_events(&mut stream, 3).await;
    assert_eq!(
        events.iter().map(summary).collect::<Vec<_>>(),
        vec![
            ("PUT", text(&a), "a1".into(), a1.mod_revision, None),
            ("PUT", text(&b), "b1".into(), b1.mod_revision, None),
            ("PUT", text(&a), "a2".into(), a2.mod_revision, None),
        ],
        "only puts pass a no_delete watch"
    );
    assert_eq!(a2.version, 1, "a recreated key starts again at version 1");
    assert_eq!(events[2].kv.as_ref().map(|kv| kv.version), Some(1));

    // And the mirror image, no_put, from history.
    let mut deletes = watch(
        store,
        WatchSpec {
            no_put: true,
            ..watch_spec(p, a1.mod_revision)
        },
    )
    .await;
    let events = next_events(&mut deletes, 2).await;
    assert!(
        events.iter().all(|e| e.r#type == EventType::Delete as i32),
        "only deletes pass a no_put watch: {events:#?}"
    );
    assert_eq!(
        events.iter().map(|e| summary(e).1).collect::<Vec<_>>(),
        vec![text(&a), text(&b)]
    );
}

async fn watch_from_compacted_revision(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/watch-compacted/";
    let (first, last) = history_then_compact(store, &key(p, "a")).await;
    let compacted = last.mod_revision;

    // The error may come at creation or on the first poll.
    let error = match within("watch", store.watch(watch_spec(p, first.mod_revision))).await {
        Err(error) => error,
        Ok(mut stream) => {
            let item = within("first poll of a compacted watch", stream.next()).await;
            match item {
                Some(Err(error)) => {
                    let after = within("poll after the error", stream.next()).await;
                    assert!(
                        after.is_none(),
                        "the stream ends after Compacted, got {after:?}"
                    );
                    error
                }
                other => {
                    panic!("watch from a compacted revision: expected an error, got {other:?}")
                }
            }
        }
    };
    assert_eq!(
        error,
        StoreError::Compacted {
            compact_revision: compacted
        },
        "a watch from a compacted revision reports the compacted revision"
    );

    // From the compacted revision itself, history is still there.
    let mut stream = watch(store, watch_spec(p, compacted)).await;
    let events = next_events(&mut stream, 1).await;
    assert_eq!(events[0].kv.as_ref(), Some(&last));
}

async fn current_revision_counts_writes(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/revision/";
    let k = key(p, "a");
    let r0 = revision(store).await;
    let kv = create(store, &k, "one").await;
    assert_eq!(revision(store).await, r0 + 1, "after create");
    assert_eq!(kv.mod_revision, r0 + 1);
    let kv = within("update", store.update(&k, value("two"), kv.mod_revision, 0))
        .await
        .unwrap();
    assert_eq!(revision(store).await, r0 + 2, "after update");
    assert_eq!(kv.mod_revision, r0 + 2);

    // Failed and read-only operations write nothing.
    assert!(
        within("create again", store.create(&k, value("x"), 0))
            .await
            .is_err()
    );
    assert!(
        within("stale update", store.update(&k, value("x"), r0, 0))
            .await
            .is_err()
    );
    assert!(
        within("stale delete", store.delete(&k, Some(r0)))
            .await
            .is_err()
    );
    assert!(
        within("delete missing", store.delete(&key(p, "none"), None))
            .await
            .is_err()
    );
    get(store, &k).await;
    list(store, &prefix_request(p, 0, 0)).await.unwrap();
    assert_eq!(
        revision(store).await,
        r0 + 2,
        "after failed writes and reads"
    );

    within("delete", store.delete(&k, Some(kv.mod_revision)))
        .await
        .unwrap();
    assert_eq!(revision(store).await, r0 + 3, "after delete");
    for i in 0..5 {
        create(store, &key(p, &format!("n{i}")), "v").await;
        assert_eq!(revision(store).await, r0 + 4 + i, "after create n{i}");
    }
}

async fn lease_expiry_deletes_key(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = "/store-trait/lease/";
    let k = key(p, "ephemeral");
    let lease = within("grant_lease", store.grant_lease(2)).await.unwrap();
    assert_ne!(lease, 0, "a granted lease has an id");
    let mut stream = watch(store, watch_spec(p, 0)).await;
    let kv = within("create with lease", store.create(&k, value("v"), lease))
        .await
        .unwrap();
    assert_eq!(kv.lease, lease);
    assert_eq!(get(store, &k).await.map(|kv| kv.lease), Some(lease));
    let kept = create(store, &key(p, "kept"), "v").await;

    let started = std::time::Instant::now();
    let put = next_events(&mut stream, 2).await;
    assert_eq!(summary(&put[0]).0, "PUT");
    assert_eq!(put[1].kv.as_ref(), Some(&kept));
    let deleted = within_for(
        "the lease's DELETE",
        Duration::from_secs(15),
        next_events(&mut stream, 1),
    )
    .await;
    let (kind, deleted_key, _, deleted_rev, _) = summary(&deleted[0]);
    assert_eq!((kind, deleted_key.as_str()), ("DELETE", text(&k).as_str()));
    assert!(deleted_rev > kept.mod_revision);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "the key outlived its 2 s lease by far: {:?}",
        started.elapsed()
    );
    assert_eq!(get(store, &k).await, None, "the key is gone");
    assert_eq!(
        get(store, &key(p, "kept")).await,
        Some(kept),
        "keys without the lease stay"
    );

    // The expired lease cannot be used again.
    match within(
        "create with expired lease",
        store.create(&key(p, "late"), value("v"), lease),
    )
    .await
    {
        Err(StoreError::LeaseNotFound) => {}
        other => panic!("create with an expired lease: expected LeaseNotFound, got {other:?}"),
    }
}
