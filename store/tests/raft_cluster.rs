//! In-process Mars clusters whose members talk through a fault-injecting
//! network: election, replication, forwarding, partitions, snapshot
//! install, membership change and restart, each checked through the same
//! store API the API server uses.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;
use mars_store::raft::local_cluster::{LocalCluster, LocalSettings};
use mars_store::raft::{Change, NodeId};
use mars_store::{Embedded, ListRequest, Store, StoreError, WatchSpec};
use tempfile::TempDir;

/// A cluster under test, and the directory its members keep their data in.
struct Cluster {
    inner: LocalCluster,
    _dir: TempDir,
}

impl std::ops::Deref for Cluster {
    type Target = LocalCluster;
    fn deref(&self) -> &LocalCluster {
        &self.inner
    }
}

impl std::ops::DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut LocalCluster {
        &mut self.inner
    }
}

impl Cluster {
    async fn start(size: u64) -> Result<Self> {
        Self::start_with(size, LocalSettings::default().snapshot_after_entries).await
    }

    async fn start_with(size: u64, snapshot_after_entries: u64) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let settings = LocalSettings {
            request_timeout: Duration::from_secs(2),
            snapshot_after_entries,
            ..LocalSettings::default()
        };
        let inner = LocalCluster::start(dir.path(), size, settings).await?;
        Ok(Self { inner, _dir: dir })
    }

    fn follower(&self, leader: NodeId) -> NodeId {
        self.follower_of(leader).expect("a follower")
    }
}

fn addr(id: NodeId) -> String {
    LocalCluster::address(id)
}

fn key(n: usize) -> Vec<u8> {
    format!("/registry/configmaps/default/cm-{n:05}").into_bytes()
}

async fn value_at(store: &Embedded, n: usize) -> Result<Option<Bytes>> {
    Ok(store.get(&key(n)).await?.map(|kv| kv.value))
}

/// Every key under `/registry/configmaps/` a member holds, read linearizably.
async fn keys_on(store: &Embedded) -> Result<Vec<Bytes>> {
    let page = store
        .list(&ListRequest::prefix("/registry/configmaps/"))
        .await?;
    Ok(page.kvs.into_iter().map(|kv| kv.key).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_any_member_reach_every_member() -> Result<()> {
    let cluster = Cluster::start(3).await?;
    let leader = cluster.leader().await?;
    let follower = cluster.follower(leader);

    // Through the leader, and through a follower that forwards.
    cluster
        .member(leader)
        .create(&key(1), "a".into(), 0)
        .await?;
    let forwarded = cluster
        .member(follower)
        .create(&key(2), "b".into(), 0)
        .await?;
    assert!(
        forwarded.mod_revision > 2,
        "the forwarded write got a revision: {forwarded:?}"
    );
    // A conditional write that loses comes back as the same error from a follower.
    let lost = cluster
        .member(follower)
        .create(&key(1), "again".into(), 0)
        .await;
    assert!(
        matches!(lost, Err(StoreError::AlreadyExists { .. })),
        "{lost:?}"
    );

    for (id, store) in cluster.members() {
        assert_eq!(
            value_at(store, 1).await?.as_deref(),
            Some(&b"a"[..]),
            "member {id}"
        );
        assert_eq!(
            value_at(store, 2).await?.as_deref(),
            Some(&b"b"[..]),
            "member {id}"
        );
        assert_eq!(
            store.revision(),
            forwarded.mod_revision,
            "member {id} revision"
        );
    }
    // A lease granted through a follower is renewed through another.
    let lease = cluster.member(follower).grant_lease(60).await?;
    let other = *cluster
        .members()
        .keys()
        .find(|&&id| id != leader && id != follower)
        .expect("a third member");
    assert_eq!(cluster.member(other).lease_keep_alive(lease).await?, 60);
    assert_eq!(
        cluster.member(other).lease_keep_alive(lease + 1).await,
        Err(StoreError::LeaseNotFound)
    );

    let status = cluster.member(follower).status();
    assert_eq!(status.leader, leader);
    assert!(
        status.raft_term >= 1 && status.raft_applied_index >= 3,
        "{status:?}"
    );
    assert_eq!(cluster.member(follower).members().len(), 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_takes_over_and_the_old_one_catches_up() -> Result<()> {
    let mut cluster = Cluster::start(3).await?;
    let old = cluster.leader().await?;
    for n in 0..20 {
        cluster
            .member(old)
            .create(&key(n), "before".into(), 0)
            .await?;
    }
    cluster.stop(old).await;
    let new = cluster.leader().await?;
    assert_ne!(new, old);
    let survivor = cluster.follower(new);
    for n in 20..40 {
        cluster
            .member(survivor)
            .create(&key(n), "after".into(), 0)
            .await?;
    }
    cluster.restart(old).await?;
    let restarted = cluster.member(old);
    let keys = keys_on(restarted).await?;
    assert_eq!(keys.len(), 40, "the restarted member has every write");
    assert_eq!(restarted.revision(), cluster.member(new).revision());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_leader_refuses_writes_and_the_majority_goes_on() -> Result<()> {
    let cluster = Cluster::start(3).await?;
    let old = cluster.leader().await?;
    cluster.member(old).create(&key(0), "v".into(), 0).await?;
    cluster.net.isolate(old);

    // The minority cannot commit: the write fails (times out) rather than
    // being acknowledged.
    let refused = cluster
        .member(old)
        .create(&key(1), "minority".into(), 0)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    let stale_read = cluster.member(old).get(&key(0)).await;
    assert!(
        matches!(stale_read, Err(StoreError::Unavailable(_))),
        "a linearizable read on the minority fails: {stale_read:?}"
    );

    // The majority elects a leader and goes on.
    let majority: Vec<NodeId> = cluster
        .members()
        .keys()
        .copied()
        .filter(|&id| id != old)
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let new = loop {
        let leader = cluster
            .member(majority[0])
            .member()
            .metrics()
            .current_leader;
        if let Some(leader) = leader.filter(|l| *l != old) {
            break leader;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the majority elected no leader");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    cluster
        .member(new)
        .create(&key(2), "majority".into(), 0)
        .await?;

    cluster.net.heal();
    let leader = cluster.leader().await?;
    assert_ne!(leader, old, "the healed member rejoins as a follower");
    for (id, store) in cluster.members() {
        let keys = keys_on(store).await?;
        assert_eq!(
            keys,
            vec![Bytes::from(key(0)), Bytes::from(key(2))],
            "member {id}: the refused write is nowhere"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_member_catches_up_from_a_snapshot() -> Result<()> {
    let cluster = Cluster::start_with(3, 50).await?;
    let leader = cluster.leader().await?;
    let lagging = cluster.follower(leader);
    cluster.net.isolate(lagging);
    for n in 0..300 {
        cluster
            .member(leader)
            .create(&key(n), "v".into(), 0)
            .await?;
    }
    let purged = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let metrics = cluster.member(leader).member().metrics();
            if metrics.purged.is_some_and(|p| p.index > 100) {
                return metrics.purged;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let purged = match purged {
        Ok(purged) => purged,
        Err(_) => bail!(
            "the leader did not purge its log: {:?}",
            cluster.member(leader).member().metrics()
        ),
    };

    // A watcher on the lagging member, from before the gap.
    let from = cluster.member(lagging).revision() + 1;
    let mut watch = Store::watch(
        cluster.member(lagging),
        WatchSpec {
            key: "/registry/configmaps/".into(),
            range_end: mars_store::prefix_end(b"/registry/configmaps/"),
            start_revision: from,
            ..WatchSpec::default()
        },
    )
    .await?;

    cluster.net.heal();
    let snapshot = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let metrics = cluster.member(lagging).member().metrics();
            if metrics.snapshot.is_some_and(|s| s.index > 100) && metrics.last_applied >= purged {
                return metrics.snapshot;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("the lagging member installed no snapshot")?;
    assert!(snapshot.is_some());
    assert_eq!(keys_on(cluster.member(lagging)).await?.len(), 300);

    // The watcher saw every write exactly once, in order, across the install.
    let mut seen = Vec::new();
    while seen.len() < 300 {
        let message = tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .context("watch stalled")?
            .context("watch ended")??;
        seen.extend(
            message
                .events
                .into_iter()
                .filter_map(|e| e.kv)
                .map(|kv| kv.key),
        );
    }
    let expected: Vec<Bytes> = (0..300).map(|n| Bytes::from(key(n))).collect();
    assert_eq!(seen, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_added_promoted_and_removed() -> Result<()> {
    let mut cluster = Cluster::start(3).await?;
    let leader = cluster.leader().await?;
    for n in 0..10 {
        cluster
            .member(leader)
            .create(&key(n), "v".into(), 0)
            .await?;
    }
    // A fourth member starts empty and waits to be added.
    cluster.join(4).await?;
    // Asked of a follower: forwarded to the leader.
    let follower = *[1, 2, 3]
        .iter()
        .find(|&&id| id != leader)
        .expect("a follower");
    cluster
        .member(follower)
        .member()
        .change(Change::AddLearner {
            id: 4,
            addr: addr(4),
        })
        .await
        .map_err(anyhow::Error::msg)?;
    assert!(cluster.member(4).status().is_learner);
    assert_eq!(
        keys_on(cluster.member(4)).await?.len(),
        10,
        "the learner caught up"
    );

    // Promote it, then remove another voter.
    let removed = cluster.follower(leader);
    let removed = if removed == 4 { 3 } else { removed };
    let voters: BTreeSet<NodeId> = [1, 2, 3, 4]
        .into_iter()
        .filter(|&id| id != removed)
        .collect();
    let admin = cluster.member(leader).member();
    admin
        .change(Change::Promote(4))
        .await
        .map_err(anyhow::Error::msg)?;
    admin
        .change(Change::Remove(removed))
        .await
        .map_err(anyhow::Error::msg)?;
    let status = admin.status();
    let status_voters: BTreeSet<NodeId> = status.voters.iter().map(|(id, _)| *id).collect();
    assert_eq!(status_voters, voters);
    assert!(status.learners.is_empty(), "{status:?}");
    cluster.stop(removed).await;
    let members = cluster.member(4).members();
    let ids: BTreeSet<u64> = members
        .iter()
        .filter(|m| !m.is_learner)
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, voters);
    assert!(!cluster.member(4).status().is_learner);

    // The new voter counts: with one old voter down, writes still commit.
    let other = *voters
        .iter()
        .find(|&&id| id != 4 && id != leader)
        .expect("third voter");
    cluster.stop(other).await;
    cluster
        .member(4)
        .create(&key(100), "with the new voter".into(), 0)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_links_cost_latency_not_leadership() -> Result<()> {
    let cluster = Cluster::start(3).await?;
    let leader = cluster.leader().await?;
    let term = cluster.member(leader).member().metrics().current_term;
    // 30 ms each way: a 60 ms round trip, as between distant cities.
    cluster.net.delay(Duration::from_millis(30));
    let follower = cluster.follower(leader);
    let started = tokio::time::Instant::now();
    for n in 0..20 {
        cluster
            .member(follower)
            .create(&key(n), "slow".into(), 0)
            .await?;
    }
    let per_write = started.elapsed() / 20;
    assert!(
        per_write >= Duration::from_millis(60),
        "a forwarded write needs at least one round trip to the leader: {per_write:?}"
    );
    for store in cluster.members().values() {
        assert_eq!(keys_on(store).await?.len(), 20);
    }
    let metrics = cluster.member(leader).member().metrics();
    assert_eq!(
        (metrics.current_leader, metrics.current_term),
        (Some(leader), term),
        "no election while the links were slow"
    );
    Ok(())
}
