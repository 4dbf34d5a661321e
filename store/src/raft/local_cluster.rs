//! A Mars cluster in one process, its members talking through
//! [`Local`] (messages encoded as on the wire, faults on demand): what the
//! cluster tests, the linearizability check and the store suites run
//! against a follower start. Each member keeps its data in
//! `BASE/member-ID`, so a stopped member restarts from its own directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::transport::Local;
use super::{NodeId, Timings};
use crate::StoreError;
use crate::embedded::{ClusterConfig, Embedded, EmbeddedConfig, OpenError};

/// How the members run.
#[derive(Debug, Clone, Copy)]
pub struct LocalSettings {
    pub timings: Timings,
    pub request_timeout: Duration,
    pub snapshot_after_entries: u64,
}

impl Default for LocalSettings {
    /// Quick elections, so tests do not wait on them; the store's own
    /// request timeout and snapshot interval.
    fn default() -> Self {
        let store = EmbeddedConfig::new("");
        Self {
            timings: Timings {
                heartbeat: Duration::from_millis(50),
                election_min: Duration::from_millis(200),
                election_max: Duration::from_millis(400),
            },
            request_timeout: store.request_timeout,
            snapshot_after_entries: store.snapshot_after_entries,
        }
    }
}

pub struct LocalCluster {
    /// The network between the members, for injecting faults.
    pub net: Arc<Local>,
    base: PathBuf,
    settings: LocalSettings,
    members: BTreeMap<NodeId, Embedded>,
}

impl LocalCluster {
    /// Forms a cluster of members `1..=size` under `base` and waits until
    /// they agree on a leader.
    pub async fn start(base: &Path, size: u64, settings: LocalSettings) -> Result<Self, OpenError> {
        let mut cluster = Self {
            net: Local::new(),
            base: base.to_path_buf(),
            settings,
            members: BTreeMap::new(),
        };
        let initial: BTreeMap<NodeId, String> =
            (1..=size).map(|id| (id, Self::address(id))).collect();
        let opened =
            futures::future::join_all((1..=size).map(|id| cluster.open(id, initial.clone()))).await;
        for (id, store) in (1..=size).zip(opened) {
            cluster.members.insert(id, store?);
        }
        cluster.leader().await.map_err(OpenError::Bootstrap)?;
        Ok(cluster)
    }

    /// The address member `id` is known by (what `Change::AddLearner` takes).
    pub fn address(id: NodeId) -> String {
        format!("member-{id}")
    }

    async fn open(
        &self,
        id: NodeId,
        initial: BTreeMap<NodeId, String>,
    ) -> Result<Embedded, OpenError> {
        let mut config = EmbeddedConfig::new(self.base.join(format!("member-{id}")));
        config.timings = self.settings.timings;
        config.request_timeout = self.settings.request_timeout;
        config.snapshot_after_entries = self.settings.snapshot_after_entries;
        config.cluster = Some(ClusterConfig {
            id,
            initial_members: initial,
            transport: self.net.endpoint(id),
        });
        let store = Embedded::open(config).await?;
        self.net.register(id, Arc::downgrade(&store.handler()));
        Ok(store)
    }

    /// Starts member `id` with no membership, to be added to the running
    /// cluster (`Change::AddLearner`).
    pub async fn join(&mut self, id: NodeId) -> Result<&Embedded, OpenError> {
        let store = self.open(id, BTreeMap::new()).await?;
        Ok(self.members.entry(id).or_insert(store))
    }

    pub fn member(&self, id: NodeId) -> &Embedded {
        &self.members[&id]
    }

    /// The running members.
    pub fn members(&self) -> &BTreeMap<NodeId, Embedded> {
        &self.members
    }

    /// Waits (up to 10 s) until the running members agree on one leader
    /// that knows it leads.
    pub async fn leader(&self) -> Result<NodeId, StoreError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let leaders: std::collections::BTreeSet<Option<NodeId>> = self
                .members
                .values()
                .map(|m| m.member().metrics().current_leader)
                .collect();
            if let [Some(leader)] = leaders.iter().copied().collect::<Vec<_>>()[..]
                && self
                    .members
                    .get(&leader)
                    .is_some_and(|m| m.member().is_leader())
            {
                return Ok(leader);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(StoreError::Unavailable(format!(
                    "no agreed leader within 10 s: {leaders:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A running member other than `leader`.
    pub fn follower_of(&self, leader: NodeId) -> Option<NodeId> {
        self.members.keys().copied().find(|&id| id != leader)
    }

    /// Stops a member as a crash would (its directory stays).
    pub async fn stop(&mut self, id: NodeId) {
        if let Some(store) = self.members.remove(&id) {
            store.close().await;
        }
    }

    /// Starts a stopped member again from its directory.
    pub async fn restart(&mut self, id: NodeId) -> Result<(), OpenError> {
        let store = self.open(id, BTreeMap::new()).await?;
        self.members.insert(id, store);
        Ok(())
    }

    /// Stops every member.
    pub async fn close(self) {
        for store in self.members.values() {
            store.close().await;
        }
    }
}
