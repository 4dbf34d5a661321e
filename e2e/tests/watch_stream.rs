//! Watch-stream behaviour a single-watch client cannot see: several watches
//! multiplexed on one gRPC stream, cancelling one of them, and periodic
//! progress notifications. Run against `mars server` and a real etcd.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use etcd_client::{Client, EventType, WatchOptions, WatchResponse, WatchStream};
use mars_e2e::{EtcdServer, MarsServer};

const WAIT: Duration = Duration::from_secs(10);

async fn next(stream: &mut WatchStream) -> WatchResponse {
    tokio::time::timeout(WAIT, stream.message())
        .await
        .expect("no watch response within 10 s")
        .unwrap()
        .expect("watch stream ended")
}

/// Two watches on one stream, each seeing only its keys; cancelling one
/// leaves the other working.
async fn multiplexed_watches_and_cancel(url: &str) {
    let client = Client::connect([url], None).await.unwrap();
    let mut stream = client
        .watch_client()
        .watch("/a/", Some(WatchOptions::new().with_prefix()))
        .await
        .unwrap();
    let first = next(&mut stream).await;
    assert!(first.created());
    let a_id = first.watch_id();

    stream
        .watch("/b/", Some(WatchOptions::new().with_prefix()))
        .await
        .unwrap();
    let second = next(&mut stream).await;
    assert!(second.created());
    let b_id = second.watch_id();
    assert_ne!(a_id, b_id);

    let mut kv = client.kv_client();
    kv.put("/a/1", "x", None).await.unwrap();
    kv.put("/b/1", "y", None).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let response = next(&mut stream).await;
        for event in response.events() {
            let key = event.kv().unwrap().key_str().unwrap().to_string();
            seen.push((response.watch_id(), key));
        }
    }
    assert_eq!(
        seen,
        [(a_id, "/a/1".to_string()), (b_id, "/b/1".to_string())]
    );

    stream.cancel(a_id).await.unwrap();
    let canceled = next(&mut stream).await;
    assert!(canceled.canceled());
    assert_eq!(canceled.watch_id(), a_id);

    kv.put("/a/2", "x", None).await.unwrap();
    kv.put("/b/2", "y", None).await.unwrap();
    let response = next(&mut stream).await;
    assert_eq!(
        response.watch_id(),
        b_id,
        "the canceled watch must not deliver"
    );
    let event = &response.events()[0];
    assert_eq!(event.event_type(), EventType::Put);
    assert_eq!(event.kv().unwrap().key_str().unwrap(), "/b/2");
}

/// With progress_notify, an idle watch gets empty responses carrying the
/// current revision.
async fn periodic_progress_notifications(url: &str) {
    let client = Client::connect([url], None).await.unwrap();
    let revision = client
        .kv_client()
        .put("/other", "x", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    let options = WatchOptions::new().with_prefix().with_progress_notify();
    let mut stream = client
        .watch_client()
        .watch("/idle/", Some(options))
        .await
        .unwrap();
    assert!(next(&mut stream).await.created());
    let progress = next(&mut stream).await;
    assert!(progress.events().is_empty(), "{progress:?}");
    assert!(!progress.canceled());
    assert!(progress.header().unwrap().revision() >= revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mars_multiplexes_watches_on_one_stream() {
    let server = MarsServer::store_only().unwrap();
    multiplexed_watches_and_cancel(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_multiplexes_watches_on_one_stream() {
    let server = EtcdServer::start().unwrap();
    multiplexed_watches_and_cancel(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mars_sends_periodic_progress_notifications() {
    let server = MarsServer::store_only_with(&["--watch-progress-notify-interval", "1s"]).unwrap();
    periodic_progress_notifications(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_sends_periodic_progress_notifications() {
    let server =
        EtcdServer::start_with(&["--experimental-watch-progress-notify-interval=1s"]).unwrap();
    periodic_progress_notifications(&server.url()).await;
}

/// SIGTERM ends open watch and keep-alive streams instead of waiting on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_does_not_wait_for_open_streams() {
    let mut server = MarsServer::store_only().unwrap();
    let client = Client::connect([server.url()], None).await.unwrap();
    let mut watch = client.watch_client().watch("/w", None).await.unwrap();
    assert!(next(&mut watch).await.created());
    let lease = client.lease_client().grant(60, None).await.unwrap().id();
    let (_keeper, _responses) = client.lease_client().keep_alive(lease).await.unwrap();

    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    // The client sees its watch end rather than hang.
    let ended = tokio::time::timeout(WAIT, watch.message())
        .await
        .expect("watch did not end");
    assert!(
        !matches!(ended, Ok(Some(ref r)) if !r.events().is_empty()),
        "{ended:?}"
    );
}
