//! A three-member Mars store in one process, its members talking through
//! `raft::transport::Local` (messages encoded as on the wire): the suites
//! run against a follower, so every write is forwarded and every read
//! waits for a read index from the leader.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use mars_store::raft::transport::Local;
use mars_store::raft::{NodeId, Timings};
use mars_store::{ClusterConfig, Embedded, EmbeddedConfig};
use tempfile::TempDir;

/// Quick elections: the suites should not wait on them.
const TIMINGS: Timings = Timings {
    heartbeat: Duration::from_millis(50),
    election_min: Duration::from_millis(200),
    election_max: Duration::from_millis(400),
};

pub struct LocalCluster {
    members: BTreeMap<NodeId, Embedded>,
    _dirs: Vec<TempDir>,
}

impl LocalCluster {
    /// Starts three members and waits until they agree on a leader.
    pub async fn start() -> anyhow::Result<Self> {
        let net = Local::new();
        let initial: BTreeMap<NodeId, String> =
            (1..=3).map(|id| (id, format!("member-{id}"))).collect();
        let mut members = BTreeMap::new();
        let mut dirs = Vec::new();
        let opened = futures::future::join_all((1..=3).map(|id| {
            let (net, initial) = (net.clone(), initial.clone());
            async move {
                let dir = tempfile::tempdir()?;
                let mut config = EmbeddedConfig::new(dir.path());
                config.timings = TIMINGS;
                config.cluster = Some(ClusterConfig {
                    id,
                    initial_members: initial,
                    transport: net.endpoint(id),
                });
                let store = Embedded::open(config).await.context("open member")?;
                net.register(id, Arc::downgrade(&store.handler()));
                anyhow::Ok((id, dir, store))
            }
        }))
        .await;
        for opened in opened {
            let (id, dir, store) = opened?;
            members.insert(id, store);
            dirs.push(dir);
        }
        let cluster = Self {
            members,
            _dirs: dirs,
        };
        cluster.leader().await?;
        Ok(cluster)
    }

    /// The leader, once every member names the same one.
    pub async fn leader(&self) -> anyhow::Result<NodeId> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut leaders = self
                .members
                .values()
                .map(|m| m.member().metrics().current_leader);
            let first = leaders.next().flatten();
            if let Some(first) = first
                && leaders.all(|l| l == Some(first))
            {
                return Ok(first);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no agreed leader within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A member that is not the leader.
    pub async fn follower(&self) -> anyhow::Result<Embedded> {
        let leader = self.leader().await?;
        self.members
            .iter()
            .find(|(id, _)| **id != leader)
            .map(|(_, store)| store.clone())
            .context("no follower")
    }

    pub async fn close(self) {
        for store in self.members.values() {
            store.close().await;
        }
    }
}
