//! A three-member Mars store in one process
//! (`mars_store::raft::local_cluster`) in its own temporary directory: the
//! suites run against a follower, so every write is forwarded and every
//! read waits for a read index from the leader.

use anyhow::Context;
use mars_store::Embedded;
use mars_store::raft::local_cluster::{LocalCluster, LocalSettings};
use tempfile::TempDir;

pub struct ThreeMembers {
    cluster: LocalCluster,
    _dir: TempDir,
}

impl ThreeMembers {
    /// Starts three members and waits until they agree on a leader.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let cluster = LocalCluster::start(dir.path(), 3, LocalSettings::default()).await?;
        Ok(Self { cluster, _dir: dir })
    }

    /// A member that is not the leader.
    pub async fn follower(&self) -> anyhow::Result<Embedded> {
        let leader = self.cluster.leader().await?;
        let follower = self.cluster.follower_of(leader).context("no follower")?;
        Ok(self.cluster.member(follower).clone())
    }

    pub async fn close(self) {
        self.cluster.close().await;
    }
}
