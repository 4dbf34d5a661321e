//! Compaction reclaims space, and automatic compaction keeps only the
//! configured window of history. Driven through `mars server`'s etcd API.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use etcd_client::{Client, GetOptions};
use mars_e2e::MarsServer;

async fn db_size(client: &Client) -> i64 {
    client
        .maintenance_client()
        .status()
        .await
        .unwrap()
        .db_size()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_returns_disk_space() {
    let server = MarsServer::store_only().unwrap();
    let client = Client::connect([server.url()], None).await.unwrap();
    let mut kv = client.kv_client();
    let value = "v".repeat(4096);
    let mut last = 0;
    // 2,000 revisions of 20 keys: ~8 MiB of history, ~80 KiB live.
    for i in 0..2000 {
        last = kv
            .put(format!("/space/{}", i % 20), value.clone(), None)
            .await
            .unwrap()
            .header()
            .unwrap()
            .revision();
    }
    let before = db_size(&client).await;
    assert!(before > 8_000_000, "db size before compaction: {before}");

    // Like etcd's (non-physical) compaction, the space comes back just
    // after the reply: the snapshot that drops old log segments follows it.
    kv.compact(last, None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = db_size(&client).await;
    while after >= before / 10 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = db_size(&client).await;
    }
    assert!(
        after < before / 10,
        "compaction should return space: {before} bytes before, {after} after"
    );
    // Live data is intact, and survives a restart from the snapshot.
    let live = kv
        .get(
            "/space/",
            Some(GetOptions::new().with_prefix().with_count_only()),
        )
        .await
        .unwrap();
    assert_eq!(live.count(), 20);
    drop(kv);
    drop(client);

    let mut server = server;
    server.kill().unwrap();
    server.spawn().unwrap();
    let client = Client::connect([server.url()], None).await.unwrap();
    let mut kv = client.kv_client();
    let got = kv.get("/space/7", None).await.unwrap();
    assert_eq!(got.kvs()[0].value(), value.as_bytes());
    let old = kv
        .get(
            "/space/7",
            Some(GetOptions::new().with_revision(last - 100)),
        )
        .await
        .unwrap_err();
    assert!(
        old.to_string()
            .contains("required revision has been compacted"),
        "{old}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_compaction_keeps_the_configured_window() {
    let server = MarsServer::store_only_with(&["--auto-compaction-retention", "2s"]).unwrap();
    let client = Client::connect([server.url()], None).await.unwrap();
    let mut kv = client.kv_client();
    let first = kv
        .put("/auto/k", "1", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();

    // Keep writing; within a few seconds the first revision falls out of the
    // two-second window and is compacted away.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        kv.put("/auto/k", "more", None).await.unwrap();
        let read = kv
            .get("/auto/k", Some(GetOptions::new().with_revision(first)))
            .await;
        match read {
            Err(e)
                if e.to_string()
                    .contains("required revision has been compacted") =>
            {
                break;
            }
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => {
                assert!(
                    Instant::now() < deadline,
                    "revision {first} was never auto-compacted"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    // Recent history is still there.
    let recent = kv
        .put("/auto/k", "now", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    let at = kv
        .get("/auto/k", Some(GetOptions::new().with_revision(recent - 1)))
        .await
        .unwrap();
    assert_eq!(at.kvs()[0].value(), b"more");
}
