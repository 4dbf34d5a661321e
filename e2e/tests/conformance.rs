//! The store conformance suite: etcd v3 semantics, one set of cases run
//! against (a) the embedded store in-process, (b) a follower of a
//! three-member in-process Raft cluster, (c) `mars server` through its gRPC
//! API with `etcd-client`, and (d) a real etcd through `etcd-client`.
//! Where etcd and Mars differ, Mars is wrong.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use mars_e2e::etcd_api::{EtcdApi, Failure, Native, Remote, WatchHandle, WatchItem, key};
use mars_e2e::{EtcdServer, MarsServer};
use mars_store::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use mars_store::pb::etcdserverpb::range_request::{SortOrder, SortTarget};
use mars_store::pb::etcdserverpb::request_op::Request;
use mars_store::pb::etcdserverpb::response_op::Response as OpResponse;
use mars_store::pb::etcdserverpb::*;
use mars_store::pb::mvccpb::event::EventType;
use mars_store::{Embedded, EmbeddedConfig, Event, KeyValue};
use tonic::Code;

// ------------------------------------------------------------------ targets

/// Runs every case against every target, one test each.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = mars_store::Embedded::open(mars_store::EmbeddedConfig::new(dir.path())).await.unwrap();
                    super::$case(&super::Native(store.clone())).await;
                    store.close().await;
                }
            )*
        }
        mod raft_follower {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let cluster = mars_e2e::raft_cluster::ThreeMembers::start().await.unwrap();
                    let follower = cluster.follower().await.unwrap();
                    super::$case(&super::Native(follower)).await;
                    cluster.close().await;
                }
            )*
        }
        mod mars_grpc {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let server = mars_e2e::MarsServer::store_only().unwrap();
                    let api = super::Remote::connect(&server.url()).await.unwrap();
                    super::$case(&api).await;
                }
            )*
        }
        mod real_etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let server = mars_e2e::EtcdServer::start().unwrap();
                    let api = super::Remote::connect(&server.url()).await.unwrap();
                    super::$case(&api).await;
                }
            )*
        }
    };
}

conformance!(
    revisions_and_generations,
    range_selects_sorts_and_filters,
    range_at_past_revisions,
    put_options,
    delete_range,
    txn_compares,
    txn_is_atomic_and_nested,
    request_errors,
    compaction,
    watch_replays_history_then_live,
    watch_filters_and_ranges,
    watch_from_compacted_revision,
    watch_progress_request,
    leases,
    lease_expiry_deletes_keys,
);

// Keep the imports used by the macro's generated modules visible to rustc.
#[allow(dead_code)]
fn _targets(_: Embedded, _: EmbeddedConfig, _: MarsServer, _: EtcdServer) {}

// ------------------------------------------------------------------ helpers

const WAIT: Duration = Duration::from_secs(10);

fn put_req(k: &str, v: &str) -> PutRequest {
    PutRequest {
        key: key(k),
        value: key(v),
        ..PutRequest::default()
    }
}

fn get_req(k: &str) -> RangeRequest {
    RangeRequest {
        key: key(k),
        ..RangeRequest::default()
    }
}

fn prefix_req(prefix: &str) -> RangeRequest {
    RangeRequest {
        key: key(prefix),
        range_end: mars_store::prefix_end(prefix.as_bytes()),
        ..RangeRequest::default()
    }
}

async fn put(api: &dyn EtcdApi, k: &str, v: &str) -> i64 {
    let response = api.put(put_req(k, v)).await.unwrap();
    response.header.unwrap().revision
}

async fn get(api: &dyn EtcdApi, k: &str) -> Option<KeyValue> {
    api.range(get_req(k)).await.unwrap().kvs.into_iter().next()
}

/// The store's current revision.
async fn revision(api: &dyn EtcdApi) -> i64 {
    api.range(get_req("\u{0}probe"))
        .await
        .unwrap()
        .header
        .unwrap()
        .revision
}

fn keys(kvs: &[KeyValue]) -> Vec<String> {
    kvs.iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect()
}

fn op(request: Request) -> RequestOp {
    RequestOp {
        request: Some(request),
    }
}

fn compare(k: &str, target: CompareTarget, result: CompareResult, union: TargetUnion) -> Compare {
    Compare {
        result: result as i32,
        target: target as i32,
        key: key(k),
        target_union: Some(union),
        range_end: Bytes::new(),
    }
}

fn failure(code: Code, message: &str) -> Failure {
    Failure {
        code,
        message: message.to_string(),
    }
}

async fn next_item(watch: &mut Box<dyn WatchHandle>) -> WatchItem {
    tokio::time::timeout(WAIT, watch.next())
        .await
        .expect("watch delivered nothing within 10 s")
        .expect("watch ended")
}

/// Collects events until `count` have arrived (skipping progress messages).
async fn next_events(watch: &mut Box<dyn WatchHandle>, count: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < count {
        match next_item(watch).await {
            WatchItem::Events(batch) => events.extend(batch),
            WatchItem::Progress(_) => {}
            other => panic!("expected events, got {other:?}"),
        }
    }
    assert_eq!(events.len(), count, "more events than expected: {events:?}");
    events
}

/// (type, key, value, mod_revision) of an event, for compact assertions.
fn brief(event: &Event) -> (&'static str, String, String, i64) {
    let kv = event.kv.clone().unwrap_or_default();
    let kind = if event.r#type == EventType::Delete as i32 {
        "DELETE"
    } else {
        "PUT"
    };
    (
        kind,
        String::from_utf8_lossy(&kv.key).into_owned(),
        String::from_utf8_lossy(&kv.value).into_owned(),
        kv.mod_revision,
    )
}

fn watch_req(k: &str, range_end: &[u8], start_revision: i64) -> WatchCreateRequest {
    WatchCreateRequest {
        key: key(k),
        range_end: Bytes::copy_from_slice(range_end),
        start_revision,
        ..WatchCreateRequest::default()
    }
}

// -------------------------------------------------------------------- cases

async fn revisions_and_generations(api: &dyn EtcdApi) {
    let start = revision(api).await;
    assert_eq!(put(api, "/g/a", "1").await, start + 1);
    assert_eq!(put(api, "/g/a", "2").await, start + 2);
    let kv = get(api, "/g/a").await.unwrap();
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (start + 1, start + 2, 2)
    );
    // Putting the same value again is still a write.
    assert_eq!(put(api, "/g/a", "2").await, start + 3);

    let deleted = api
        .delete_range(DeleteRangeRequest {
            key: key("/g/a"),
            ..DeleteRangeRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(deleted.deleted, 1);
    assert_eq!(deleted.header.unwrap().revision, start + 4);
    assert_eq!(get(api, "/g/a").await, None);

    // A new generation starts from version 1.
    assert_eq!(put(api, "/g/a", "3").await, start + 5);
    let kv = get(api, "/g/a").await.unwrap();
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (start + 5, start + 5, 1)
    );
    assert_eq!(revision(api).await, start + 5);
}

async fn range_selects_sorts_and_filters(api: &dyn EtcdApi) {
    for (k, v) in [
        ("/r/b", "2"),
        ("/r/a", "3"),
        ("/r/c", "1"),
        ("/r/d", "0"),
        ("/s/x", "9"),
    ] {
        put(api, k, v).await;
    }
    put(api, "/r/c", "1").await; // /r/c: version 2, newest mod revision

    let all = api.range(prefix_req("/r/")).await.unwrap();
    assert_eq!(keys(&all.kvs), ["/r/a", "/r/b", "/r/c", "/r/d"]);
    assert_eq!((all.count, all.more), (4, false));

    // [key, range_end)
    let mut between = get_req("/r/b");
    between.range_end = key("/r/d");
    assert_eq!(
        keys(&api.range(between).await.unwrap().kvs),
        ["/r/b", "/r/c"]
    );

    // "\0" range end: every key from /r/c on.
    let mut from = get_req("/r/c");
    from.range_end = Bytes::from_static(&[0]);
    assert_eq!(
        keys(&api.range(from).await.unwrap().kvs),
        ["/r/c", "/r/d", "/s/x"]
    );

    // Limit: count stays the total, more says there is more.
    let mut limited = prefix_req("/r/");
    limited.limit = 2;
    let page = api.range(limited).await.unwrap();
    assert_eq!(keys(&page.kvs), ["/r/a", "/r/b"]);
    assert_eq!((page.count, page.more), (4, true));
    let mut exact = prefix_req("/r/");
    exact.limit = 4;
    assert!(!api.range(exact).await.unwrap().more);

    let mut count_only = prefix_req("/r/");
    count_only.count_only = true;
    let counted = api.range(count_only).await.unwrap();
    assert_eq!((counted.count, counted.kvs.len()), (4, 0));

    let mut keys_only = prefix_req("/r/");
    keys_only.keys_only = true;
    let listed = api.range(keys_only).await.unwrap();
    assert_eq!(listed.kvs.len(), 4);
    assert!(listed.kvs.iter().all(|kv| kv.value.is_empty()));

    let sorted = |target: SortTarget, order: SortOrder, limit: i64| {
        let mut request = prefix_req("/r/");
        request.sort_target = target as i32;
        request.sort_order = order as i32;
        request.limit = limit;
        request
    };
    let by = |r| async move { keys(&api.range(r).await.unwrap().kvs) };
    assert_eq!(
        by(sorted(SortTarget::Key, SortOrder::Descend, 0)).await,
        ["/r/d", "/r/c", "/r/b", "/r/a"]
    );
    assert_eq!(
        by(sorted(SortTarget::Value, SortOrder::Ascend, 0)).await,
        ["/r/d", "/r/c", "/r/b", "/r/a"]
    );
    // A non-key target with no order sorts ascending.
    assert_eq!(
        by(sorted(SortTarget::Value, SortOrder::None, 0)).await,
        ["/r/d", "/r/c", "/r/b", "/r/a"]
    );
    assert_eq!(
        by(sorted(SortTarget::Mod, SortOrder::Descend, 2)).await,
        ["/r/c", "/r/d"]
    );
    assert_eq!(
        by(sorted(SortTarget::Create, SortOrder::Ascend, 0)).await,
        ["/r/b", "/r/a", "/r/c", "/r/d"]
    );
    assert_eq!(
        by(sorted(SortTarget::Version, SortOrder::Descend, 1)).await,
        ["/r/c"]
    );
    let mut sorted_limited = sorted(SortTarget::Value, SortOrder::Descend, 2);
    let page = api.range(sorted_limited.clone()).await.unwrap();
    assert_eq!(
        (keys(&page.kvs), page.more, page.count),
        (vec!["/r/a".to_string(), "/r/b".to_string()], true, 4)
    );

    // Revision filters apply after the range is read.
    let created_b = get(api, "/r/b").await.unwrap().create_revision;
    sorted_limited = prefix_req("/r/");
    sorted_limited.min_create_revision = created_b + 1;
    sorted_limited.max_create_revision = created_b + 2;
    assert_eq!(by(sorted_limited).await, ["/r/a", "/r/c"]);
    let mut modded = prefix_req("/r/");
    modded.min_mod_revision = get(api, "/r/c").await.unwrap().mod_revision;
    assert_eq!(by(modded).await, ["/r/c"]);

    // A range that ends before it starts is empty, not an error.
    let mut backwards = get_req("/r/d");
    backwards.range_end = key("/r/a");
    let empty = api.range(backwards).await.unwrap();
    assert_eq!((empty.kvs.len(), empty.count), (0, 0));
}

async fn range_at_past_revisions(api: &dyn EtcdApi) {
    let first = put(api, "/p/k", "v1").await;
    let second = put(api, "/p/k", "v2").await;
    api.delete_range(DeleteRangeRequest {
        key: key("/p/k"),
        ..DeleteRangeRequest::default()
    })
    .await
    .unwrap();
    let now = put(api, "/p/other", "x").await;

    let at = |rev: i64| {
        let mut request = get_req("/p/k");
        request.revision = rev;
        request
    };
    let old = api.range(at(first)).await.unwrap();
    assert_eq!(old.kvs[0].value, "v1");
    // The header carries the store's current revision, not the one read.
    assert_eq!(old.header.unwrap().revision, now);
    assert_eq!(api.range(at(second)).await.unwrap().kvs[0].value, "v2");
    assert!(api.range(at(second + 1)).await.unwrap().kvs.is_empty());
    let mut listed = prefix_req("/p/");
    listed.revision = second;
    assert_eq!(keys(&api.range(listed).await.unwrap().kvs), ["/p/k"]);
}

async fn put_options(api: &dyn EtcdApi) {
    put(api, "/o/k", "first").await;
    let mut with_prev = put_req("/o/k", "second");
    with_prev.prev_kv = true;
    let response = api.put(with_prev).await.unwrap();
    assert_eq!(response.prev_kv.unwrap().value, "first");
    // Without prev_kv asked, none is returned.
    assert!(
        api.put(put_req("/o/k", "third"))
            .await
            .unwrap()
            .prev_kv
            .is_none()
    );

    let lease = api.lease_grant(60).await.unwrap().id;
    let mut leased = put_req("/o/k", "leased");
    leased.lease = lease;
    api.put(leased).await.unwrap();

    // ignore_value keeps the value and takes the request's lease.
    let ignore_value = PutRequest {
        key: key("/o/k"),
        ignore_value: true,
        ..PutRequest::default()
    };
    api.put(ignore_value).await.unwrap();
    let kv = get(api, "/o/k").await.unwrap();
    assert_eq!((kv.value.as_ref(), kv.lease), (&b"leased"[..], 0));

    let mut relet = put_req("/o/k", "again");
    relet.lease = lease;
    api.put(relet).await.unwrap();
    let ignore_lease = PutRequest {
        key: key("/o/k"),
        value: key("new value"),
        ignore_lease: true,
        ..PutRequest::default()
    };
    api.put(ignore_lease).await.unwrap();
    let kv = get(api, "/o/k").await.unwrap();
    assert_eq!((kv.value.as_ref(), kv.lease), (&b"new value"[..], lease));

    let missing = PutRequest {
        key: key("/o/missing"),
        ignore_value: true,
        ..PutRequest::default()
    };
    assert_eq!(
        api.put(missing).await.unwrap_err(),
        failure(Code::InvalidArgument, "etcdserver: key not found")
    );
    let contradiction = PutRequest {
        key: key("/o/k"),
        value: key("v"),
        ignore_value: true,
        ..PutRequest::default()
    };
    assert_eq!(
        api.put(contradiction).await.unwrap_err(),
        failure(Code::InvalidArgument, "etcdserver: value is provided")
    );
}

async fn delete_range(api: &dyn EtcdApi) {
    for k in ["/d/a", "/d/b", "/d/c", "/e/x"] {
        put(api, k, "v").await;
    }
    let before = revision(api).await;
    let response = api
        .delete_range(DeleteRangeRequest {
            key: key("/d/"),
            range_end: mars_store::prefix_end(b"/d/"),
            prev_kv: true,
        })
        .await
        .unwrap();
    assert_eq!(response.deleted, 3);
    assert_eq!(keys(&response.prev_kvs), ["/d/a", "/d/b", "/d/c"]);
    // All deletes of one request share one revision.
    assert_eq!(response.header.unwrap().revision, before + 1);
    assert!(get(api, "/e/x").await.is_some());

    // Deleting nothing does not create a revision.
    let nothing = api
        .delete_range(DeleteRangeRequest {
            key: key("/d/a"),
            ..DeleteRangeRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(nothing.deleted, 0);
    assert_eq!(nothing.header.unwrap().revision, before + 1);
    assert_eq!(revision(api).await, before + 1);
}

async fn txn_compares(api: &dyn EtcdApi) {
    put(api, "/c/k", "m").await;
    put(api, "/c/k", "m").await; // version 2
    let kv = get(api, "/c/k").await.unwrap();
    let lease = api.lease_grant(60).await.unwrap().id;
    let mut leased = put_req("/c/l", "x");
    leased.lease = lease;
    api.put(leased).await.unwrap();

    use CompareResult::*;
    use CompareTarget::*;
    let cases: Vec<(Compare, bool)> = vec![
        (
            compare("/c/k", Version, Equal, TargetUnion::Version(2)),
            true,
        ),
        (
            compare("/c/k", Version, Greater, TargetUnion::Version(1)),
            true,
        ),
        (
            compare("/c/k", Version, Less, TargetUnion::Version(2)),
            false,
        ),
        (
            compare("/c/k", Version, NotEqual, TargetUnion::Version(2)),
            false,
        ),
        (
            compare(
                "/c/k",
                Create,
                Equal,
                TargetUnion::CreateRevision(kv.create_revision),
            ),
            true,
        ),
        (
            compare(
                "/c/k",
                Create,
                Less,
                TargetUnion::CreateRevision(kv.create_revision),
            ),
            false,
        ),
        (
            compare(
                "/c/k",
                Mod,
                Equal,
                TargetUnion::ModRevision(kv.mod_revision),
            ),
            true,
        ),
        (
            compare(
                "/c/k",
                Mod,
                Greater,
                TargetUnion::ModRevision(kv.mod_revision - 1),
            ),
            true,
        ),
        (
            compare("/c/k", Value, Equal, TargetUnion::Value(key("m"))),
            true,
        ),
        (
            compare("/c/k", Value, Greater, TargetUnion::Value(key("a"))),
            true,
        ),
        (
            compare("/c/k", Value, Less, TargetUnion::Value(key("a"))),
            false,
        ),
        (
            compare("/c/k", Value, NotEqual, TargetUnion::Value(key("m"))),
            false,
        ),
        (
            compare("/c/l", Lease, Equal, TargetUnion::Lease(lease)),
            true,
        ),
        (compare("/c/k", Lease, Equal, TargetUnion::Lease(0)), true),
        // A missing key has version/create/mod 0...
        (
            compare("/c/missing", Version, Equal, TargetUnion::Version(0)),
            true,
        ),
        (
            compare("/c/missing", Create, Equal, TargetUnion::CreateRevision(0)),
            true,
        ),
        // ...but a value compare on it always fails.
        (
            compare("/c/missing", Value, Equal, TargetUnion::Value(Bytes::new())),
            false,
        ),
        (
            compare("/c/missing", Value, NotEqual, TargetUnion::Value(key("x"))),
            false,
        ),
    ];
    for (guard, expected) in cases {
        let response = api
            .txn(TxnRequest {
                compare: vec![guard.clone()],
                success: vec![op(Request::RequestRange(get_req("/c/k")))],
                failure: vec![],
            })
            .await
            .unwrap();
        assert_eq!(response.succeeded, expected, "compare {guard:?}");
    }

    // A compare over a range holds only if every key in it satisfies it.
    let mut over_range = compare("/c/", Version, Greater, TargetUnion::Version(0));
    over_range.range_end = mars_store::prefix_end(b"/c/");
    let txn = |c: Compare| TxnRequest {
        compare: vec![c],
        ..TxnRequest::default()
    };
    assert!(api.txn(txn(over_range.clone())).await.unwrap().succeeded);
    over_range.target_union = Some(TargetUnion::Version(1));
    assert!(!api.txn(txn(over_range)).await.unwrap().succeeded);
}

async fn txn_is_atomic_and_nested(api: &dyn EtcdApi) {
    put(api, "/t/counter", "1").await;
    let before = revision(api).await;
    let response = api
        .txn(TxnRequest {
            compare: vec![compare(
                "/t/counter",
                CompareTarget::Value,
                CompareResult::Equal,
                TargetUnion::Value(key("1")),
            )],
            success: vec![
                op(Request::RequestPut(put_req("/t/a", "A"))),
                op(Request::RequestPut(put_req("/t/b", "B"))),
                // Reads inside the transaction see its own writes.
                op(Request::RequestRange(prefix_req("/t/"))),
                op(Request::RequestDeleteRange(DeleteRangeRequest {
                    key: key("/t/counter"),
                    prev_kv: true,
                    ..DeleteRangeRequest::default()
                })),
                op(Request::RequestTxn(TxnRequest {
                    compare: vec![compare(
                        "/t/a",
                        CompareTarget::Version,
                        CompareResult::Equal,
                        TargetUnion::Version(0),
                    )],
                    success: vec![op(Request::RequestPut(put_req(
                        "/t/nested",
                        "absent-before",
                    )))],
                    failure: vec![op(Request::RequestPut(put_req(
                        "/t/nested",
                        "present-before",
                    )))],
                })),
            ],
            failure: vec![op(Request::RequestPut(put_req("/t/failed", "x")))],
        })
        .await
        .unwrap();
    assert!(response.succeeded);
    assert_eq!(response.header.unwrap().revision, before + 1);
    assert_eq!(response.responses.len(), 5);
    match &response.responses[2].response {
        Some(OpResponse::ResponseRange(range)) => {
            assert_eq!(keys(&range.kvs), ["/t/a", "/t/b", "/t/counter"]);
        }
        other => panic!("expected a range response, got {other:?}"),
    }
    match &response.responses[4].response {
        Some(OpResponse::ResponseTxn(nested)) => assert!(nested.succeeded),
        other => panic!("expected a nested txn response, got {other:?}"),
    }
    // Every write of the transaction carries the same revision.
    for k in ["/t/a", "/t/b", "/t/nested"] {
        assert_eq!(get(api, k).await.unwrap().mod_revision, before + 1, "{k}");
    }
    // The nested compare saw the state before the transaction.
    assert_eq!(get(api, "/t/nested").await.unwrap().value, "absent-before");
    assert_eq!(get(api, "/t/counter").await, None);
    assert_eq!(get(api, "/t/failed").await, None);

    // A transaction that fails part-way changes nothing.
    let mut bad_lease = put_req("/t/never", "x");
    bad_lease.lease = 0x7a11_0000_0001;
    let error = api
        .txn(TxnRequest {
            compare: vec![],
            success: vec![
                op(Request::RequestPut(put_req("/t/also-never", "x"))),
                op(Request::RequestPut(bad_lease)),
            ],
            failure: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        error,
        failure(Code::NotFound, "etcdserver: requested lease not found")
    );
    assert_eq!(get(api, "/t/also-never").await, None);
    assert_eq!(revision(api).await, before + 1);
}

async fn request_errors(api: &dyn EtcdApi) {
    let empty_key = failure(Code::InvalidArgument, "etcdserver: key is not provided");
    assert_eq!(api.put(put_req("", "v")).await.unwrap_err(), empty_key);
    assert_eq!(api.range(get_req("")).await.unwrap_err(), empty_key);
    assert_eq!(
        api.delete_range(DeleteRangeRequest::default())
            .await
            .unwrap_err(),
        empty_key
    );

    let now = put(api, "/x/k", "v").await;
    let mut future = get_req("/x/k");
    future.revision = now + 100;
    assert_eq!(
        api.range(future).await.unwrap_err(),
        failure(
            Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision"
        )
    );

    let too_many = TxnRequest {
        success: (0..129)
            .map(|i| op(Request::RequestPut(put_req(&format!("/x/many/{i}"), "v"))))
            .collect(),
        ..TxnRequest::default()
    };
    assert_eq!(
        api.txn(too_many).await.unwrap_err(),
        failure(
            Code::InvalidArgument,
            "etcdserver: too many operations in txn request"
        )
    );
    let just_enough = TxnRequest {
        success: (0..128)
            .map(|i| op(Request::RequestPut(put_req(&format!("/x/many/{i}"), "v"))))
            .collect(),
        ..TxnRequest::default()
    };
    assert!(api.txn(just_enough).await.unwrap().succeeded);

    let duplicate = failure(
        Code::InvalidArgument,
        "etcdserver: duplicate key given in txn request",
    );
    let twice = TxnRequest {
        success: vec![
            op(Request::RequestPut(put_req("/x/dup", "1"))),
            op(Request::RequestPut(put_req("/x/dup", "2"))),
        ],
        ..TxnRequest::default()
    };
    assert_eq!(api.txn(twice).await.unwrap_err(), duplicate);
    let put_in_deleted_range = TxnRequest {
        success: vec![
            op(Request::RequestDeleteRange(DeleteRangeRequest {
                key: key("/x/"),
                range_end: mars_store::prefix_end(b"/x/"),
                ..DeleteRangeRequest::default()
            })),
            op(Request::RequestPut(put_req("/x/dup", "2"))),
        ],
        ..TxnRequest::default()
    };
    assert_eq!(api.txn(put_in_deleted_range).await.unwrap_err(), duplicate);

    // Over the 1.5 MiB request limit (but under the gRPC frame limit).
    let big = "x".repeat(1600 * 1024);
    assert_eq!(
        api.put(put_req("/x/big", &big)).await.unwrap_err(),
        failure(Code::InvalidArgument, "etcdserver: request is too large")
    );
    // Just under the limit is fine.
    let large = "x".repeat(1500 * 1024);
    api.put(put_req("/x/large", &large)).await.unwrap();

    let mut unknown_lease = put_req("/x/leased", "v");
    unknown_lease.lease = 0x1234_5678;
    assert_eq!(
        api.put(unknown_lease).await.unwrap_err(),
        failure(Code::NotFound, "etcdserver: requested lease not found")
    );
    assert_eq!(
        api.lease_revoke(0x1234_5678).await.unwrap_err(),
        failure(Code::NotFound, "etcdserver: requested lease not found")
    );
    // Nothing refused above was applied; the store still serves.
    assert_eq!(get(api, "/x/big").await, None);
    assert_eq!(get(api, "/x/leased").await, None);
    assert_eq!(get(api, "/x/dup").await, None);
    put(api, "/x/after", "ok").await;
    assert_eq!(get(api, "/x/after").await.unwrap().value, "ok");
}

async fn compaction(api: &dyn EtcdApi) {
    let r1 = put(api, "/k/a", "1").await;
    let r2 = put(api, "/k/a", "2").await;
    let r3 = put(api, "/k/b", "1").await;
    api.delete_range(DeleteRangeRequest {
        key: key("/k/b"),
        ..DeleteRangeRequest::default()
    })
    .await
    .unwrap();
    let r5 = put(api, "/k/a", "3").await;

    api.compact(r3).await.unwrap();
    let compacted = failure(
        Code::OutOfRange,
        "etcdserver: mvcc: required revision has been compacted",
    );
    for old in [r1, r2] {
        let mut at = get_req("/k/a");
        at.revision = old;
        assert_eq!(api.range(at).await.unwrap_err(), compacted, "read at {old}");
    }
    // The compacted revision itself is still readable.
    let mut at = prefix_req("/k/");
    at.revision = r3;
    let snapshot = api.range(at).await.unwrap();
    assert_eq!(keys(&snapshot.kvs), ["/k/a", "/k/b"]);
    assert_eq!(snapshot.kvs[0].value, "2");
    let mut at = prefix_req("/k/");
    at.revision = r5;
    assert_eq!(keys(&api.range(at).await.unwrap().kvs), ["/k/a"]);
    // Versions survive compaction.
    assert_eq!(get(api, "/k/a").await.unwrap().version, 3);

    assert_eq!(api.compact(r3).await.unwrap_err(), compacted);
    assert_eq!(api.compact(r2).await.unwrap_err(), compacted);
    assert_eq!(
        api.compact(r5 + 100).await.unwrap_err(),
        failure(
            Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision"
        )
    );
    api.compact(r5).await.unwrap();
    assert_eq!(get(api, "/k/a").await.unwrap().value, "3");
}

async fn watch_replays_history_then_live(api: &dyn EtcdApi) {
    let r1 = put(api, "/w/a", "1").await;
    put(api, "/w/a", "2").await;
    put(api, "/w/b", "1").await;
    let r4 = api
        .delete_range(DeleteRangeRequest {
            key: key("/w/a"),
            ..DeleteRangeRequest::default()
        })
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    put(api, "/other", "x").await;

    let mut request = watch_req("/w/", &mars_store::prefix_end(b"/w/"), r1);
    request.prev_kv = true;
    let mut watch = api.watch(request).await.unwrap();
    let history = next_events(&mut watch, 4).await;
    let briefs: Vec<_> = history.iter().map(brief).collect();
    assert_eq!(
        briefs,
        [
            ("PUT", "/w/a".into(), "1".into(), r1),
            ("PUT", "/w/a".into(), "2".into(), r1 + 1),
            ("PUT", "/w/b".into(), "1".into(), r1 + 2),
            ("DELETE", "/w/a".into(), "".into(), r4),
        ]
    );
    assert_eq!(history[0].prev_kv, None);
    assert_eq!(history[1].prev_kv.as_ref().unwrap().value, "1");
    assert_eq!(history[3].prev_kv.as_ref().unwrap().value, "2");

    // Then live, in order, one transaction's events at one revision.
    let live = api
        .txn(TxnRequest {
            success: vec![
                op(Request::RequestPut(put_req("/w/c", "1"))),
                op(Request::RequestPut(put_req("/w/b", "2"))),
            ],
            ..TxnRequest::default()
        })
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    let events = next_events(&mut watch, 2).await;
    assert_eq!(
        events.iter().map(brief).collect::<Vec<_>>(),
        [
            ("PUT", "/w/c".into(), "1".into(), live),
            ("PUT", "/w/b".into(), "2".into(), live),
        ]
    );
    assert_eq!(events[1].prev_kv.as_ref().unwrap().value, "1");

    // A watch from "now" (revision 0) sees only later writes.
    let mut fresh = api
        .watch(watch_req("/w/", &mars_store::prefix_end(b"/w/"), 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let next = put(api, "/w/d", "1").await;
    let events = next_events(&mut fresh, 1).await;
    assert_eq!(brief(&events[0]), ("PUT", "/w/d".into(), "1".into(), next));
    assert_eq!(events[0].prev_kv, None, "prev_kv only when asked");
}

async fn watch_filters_and_ranges(api: &dyn EtcdApi) {
    let start = revision(api).await + 1;
    let mut no_delete = watch_req("/f/", &mars_store::prefix_end(b"/f/"), start);
    no_delete.filters = vec![1];
    let mut no_put = watch_req("/f/", &mars_store::prefix_end(b"/f/"), start);
    no_put.filters = vec![0];
    let single = watch_req("/f/a", &[], start);
    let mut from_key = watch_req("/f/b", &[0], start);
    from_key.prev_kv = false;

    let mut puts_only = api.watch(no_delete).await.unwrap();
    let mut deletes_only = api.watch(no_put).await.unwrap();
    let mut only_a = api.watch(single).await.unwrap();
    let mut from_b = api.watch(from_key).await.unwrap();

    put(api, "/f/a", "1").await;
    put(api, "/f/b", "1").await;
    api.delete_range(DeleteRangeRequest {
        key: key("/f/a"),
        ..DeleteRangeRequest::default()
    })
    .await
    .unwrap();
    put(api, "/g/z", "1").await;

    let kinds = |events: Vec<Event>| {
        events
            .iter()
            .map(|e| (brief(e).0, brief(e).1))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(next_events(&mut puts_only, 2).await),
        [("PUT", "/f/a".into()), ("PUT", "/f/b".into())]
    );
    assert_eq!(
        kinds(next_events(&mut deletes_only, 1).await),
        [("DELETE", "/f/a".into())]
    );
    assert_eq!(
        kinds(next_events(&mut only_a, 2).await),
        [("PUT", "/f/a".into()), ("DELETE", "/f/a".into())]
    );
    assert_eq!(
        kinds(next_events(&mut from_b, 2).await),
        [("PUT", "/f/b".into()), ("PUT", "/g/z".into())]
    );
}

async fn watch_from_compacted_revision(api: &dyn EtcdApi) {
    let r1 = put(api, "/wc/a", "1").await;
    put(api, "/wc/a", "2").await;
    let r3 = put(api, "/wc/a", "3").await;
    api.compact(r3).await.unwrap();

    let mut watch = api.watch(watch_req("/wc/a", &[], r1)).await.unwrap();
    match next_item(&mut watch).await {
        WatchItem::Canceled {
            compact_revision, ..
        } => assert_eq!(compact_revision, r3),
        other => panic!("expected the watch to be canceled as compacted, got {other:?}"),
    }
    // At the compacted revision itself the watch works.
    let mut watch = api.watch(watch_req("/wc/a", &[], r3)).await.unwrap();
    let events = next_events(&mut watch, 1).await;
    assert_eq!(brief(&events[0]), ("PUT", "/wc/a".into(), "3".into(), r3));
}

async fn watch_progress_request(api: &dyn EtcdApi) {
    let mut watch = api
        .watch(watch_req("/pr/", &mars_store::prefix_end(b"/pr/"), 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = put(api, "/pr/a", "1").await;
    put(api, "/unwatched", "1").await;
    let now = revision(api).await;
    watch.request_progress().await;
    // The event comes first, then a progress notification at a revision
    // that covers it.
    let events = next_events(&mut watch, 1).await;
    assert_eq!(brief(&events[0]).3, written);
    match next_item(&mut watch).await {
        WatchItem::Progress(revision) => {
            assert!(revision >= now, "progress at {revision}, expected >= {now}");
        }
        other => panic!("expected a progress notification, got {other:?}"),
    }
}

async fn leases(api: &dyn EtcdApi) {
    let granted = api.lease_grant(60).await.unwrap();
    assert_eq!(granted.ttl, 60);
    assert!(granted.id > 0);
    // A very short TTL is raised to the minimum.
    let short = api.lease_grant(1).await.unwrap();
    assert_eq!(short.ttl, 2);

    let mut a = put_req("/l/a", "1");
    a.lease = granted.id;
    api.put(a).await.unwrap();
    let mut b = put_req("/l/b", "1");
    b.lease = granted.id;
    api.put(b).await.unwrap();
    put(api, "/l/c", "unleased").await;

    let ttl = api.lease_time_to_live(granted.id, true).await.unwrap();
    assert_eq!(ttl.granted_ttl, 60);
    assert!((55..=60).contains(&ttl.ttl), "remaining ttl {}", ttl.ttl);
    let mut attached: Vec<String> = ttl
        .keys
        .iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    attached.sort();
    assert_eq!(attached, ["/l/a", "/l/b"]);

    assert_eq!(api.lease_keep_alive(granted.id).await.unwrap(), 60);
    let ids = api.lease_ids().await.unwrap();
    assert!(
        ids.contains(&granted.id) && ids.contains(&short.id),
        "{ids:?}"
    );

    // Revoking deletes every attached key in one revision.
    let before = revision(api).await;
    let mut watch = api
        .watch(watch_req(
            "/l/",
            &mars_store::prefix_end(b"/l/"),
            before + 1,
        ))
        .await
        .unwrap();
    api.lease_revoke(granted.id).await.unwrap();
    let events = next_events(&mut watch, 2).await;
    assert!(
        events
            .iter()
            .all(|e| brief(e).0 == "DELETE" && brief(e).3 == before + 1),
        "{events:?}"
    );
    assert_eq!(get(api, "/l/a").await, None);
    assert!(get(api, "/l/c").await.is_some());

    // A revoked lease is gone.
    assert_eq!(
        api.lease_time_to_live(granted.id, false).await.unwrap().ttl,
        -1
    );
    assert_eq!(api.lease_keep_alive(granted.id).await.unwrap(), 0);
    assert!(!api.lease_ids().await.unwrap().contains(&granted.id));
}

async fn lease_expiry_deletes_keys(api: &dyn EtcdApi) {
    let lease = api.lease_grant(2).await.unwrap().id;
    let mut leased = put_req("/le/k", "v");
    leased.lease = lease;
    let written = api.put(leased).await.unwrap().header.unwrap().revision;
    let mut watch = api
        .watch(watch_req("/le/k", &[], written + 1))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let events = tokio::time::timeout_at(deadline, async {
        loop {
            if let WatchItem::Events(events) = watch.next().await.expect("watch ended") {
                return events;
            }
        }
    })
    .await
    .expect("the leased key was not deleted within 15 s");
    assert_eq!(brief(&events[0]).0, "DELETE");
    assert_eq!(get(api, "/le/k").await, None);
    assert_eq!(api.lease_time_to_live(lease, false).await.unwrap().ttl, -1);
}
