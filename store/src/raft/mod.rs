//! Replication: the MVCC engine as an openraft state machine, so every
//! member of a Mars cluster holds the same store and a cluster survives the
//! loss of a minority of its members.
//!
//! - [`log_store`]: the durable Raft log (entries, vote, committed position).
//! - [`state_machine`]: committed entries applied to the engine; snapshots.
//! - [`transport`]: the messages between members and the seam that carries
//!   them ([`transport::Local`] in one process, gRPC between machines).
//! - [`local_cluster`]: a whole cluster in one process, for tests.
//! - [`Member`]: one running member — proposes writes (forwarding them to
//!   the leader when it is not), answers linearizable reads, changes the
//!   membership, and serves its peers' RPCs.
//!
//! A store on one machine is a cluster of one member: the same code path.

// openraft's storage and network errors are large by design; they travel
// only on the rare failure path.
#![allow(clippy::result_large_err)]

pub mod grpc;
pub mod local_cluster;
pub mod log_store;
pub mod state_machine;
pub mod transport;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Config, Raft, RaftMetrics, SnapshotPolicy};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::embedded::Core;
use crate::mvcc::Response;
use crate::pb::marspb::Command;
use log_store::{LogOpenError, LogStore};
use state_machine::StateMachine;
use transport::{Handler, Network, Redirect, Rpc, RpcReply, Transport};
use wire::{Answer, Logged};

/// A member's id in its cluster (etcd's member id).
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Mars's choice of openraft types: commands in, apply results out.
    pub TypeConfig:
        D = Logged,
        R = Answer,
        NodeId = NodeId,
        Node = BasicNode,
        SnapshotData = Cursor<Vec<u8>>,
);

/// How fast members notice a dead leader; the trade-off is spurious
/// elections when messages are slow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    pub heartbeat: Duration,
    /// Followers wait a random time in `[election_min, election_max)`
    /// without hearing from a leader before they call an election.
    pub election_min: Duration,
    pub election_max: Duration,
}

impl Timings {
    /// One datacenter: round trips under a few milliseconds (openraft's
    /// own defaults). A dead leader is replaced in well under a second: a
    /// follower refuses votes until `election_max` has passed since it last
    /// heard the leader, so the worst case is about two timeouts.
    pub const LAN: Timings = Timings {
        heartbeat: Duration::from_millis(50),
        election_min: Duration::from_millis(150),
        election_max: Duration::from_millis(300),
    };
    /// Voters in different cities: round trips of tens of milliseconds,
    /// with the occasional slow path; elections after 2–4 s of silence.
    pub const WAN: Timings = Timings {
        heartbeat: Duration::from_millis(400),
        election_min: Duration::from_millis(2000),
        election_max: Duration::from_millis(4000),
    };
}

/// How one member runs.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    pub id: NodeId,
    pub timings: Timings,
    /// Take a snapshot (and purge the log it covers) after this many entries.
    pub snapshot_after_entries: u64,
    /// How long a write or a linearizable read may wait for a leader.
    pub request_timeout: Duration,
}

/// A change to the membership, as `mars cluster` asks for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    /// A new member that receives the log but does not vote.
    AddLearner { id: NodeId, addr: String },
    /// A caught-up learner becomes a voter.
    Promote(NodeId),
    /// A voter or learner leaves.
    Remove(NodeId),
}

/// One member's view of the cluster (`mars cluster status`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClusterStatus {
    pub id: NodeId,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub last_log_index: u64,
    pub applied_index: u64,
    /// (id, Raft address)
    pub voters: Vec<(NodeId, String)>,
    pub learners: Vec<(NodeId, String)>,
}

/// Why a member could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Log(#[from] LogOpenError),
    #[error("invalid Raft settings: {0}")]
    Config(String),
    #[error("cannot start Raft: {0}")]
    Raft(String),
}

/// One running member of a Mars cluster.
pub struct Member {
    id: NodeId,
    /// Writes waiting to be batched into the next Raft entry.
    proposals: mpsc::Sender<Proposal>,
    raft: Raft<TypeConfig>,
    core: Arc<Core>,
    /// Dropped with the member: its background task then ends and lets go
    /// of Raft, which stops once no handle is left.
    _tasks_guard: tokio::sync::oneshot::Sender<()>,
    transport: Arc<dyn Transport>,
    request_timeout: Duration,
}

impl Member {
    /// Starts the member whose log and snapshot live in `dir` and whose
    /// engine (already loaded from the snapshot `meta` describes) is in
    /// `core`; openraft then re-applies the committed entries after it.
    pub(crate) async fn start(
        config: &MemberConfig,
        dir: &Path,
        core: Arc<Core>,
        meta: Option<&openraft::SnapshotMeta<NodeId, BasicNode>>,
        transport: Arc<dyn Transport>,
    ) -> Result<Arc<Self>, StartError> {
        let t = config.timings;
        let raft_config = Config {
            cluster_name: "mars".into(),
            heartbeat_interval: t.heartbeat.as_millis() as u64,
            election_timeout_min: t.election_min.as_millis() as u64,
            election_timeout_max: t.election_max.as_millis() as u64,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_after_entries),
            // Entries kept behind a snapshot, so a follower that is only a
            // little behind gets entries rather than the whole snapshot.
            max_in_snapshot_log_to_keep: (config.snapshot_after_entries / 2).min(1000),
            install_snapshot_timeout: 10_000,
            ..Config::default()
        }
        .validate()
        .map_err(|e| StartError::Config(e.to_string()))?;
        let log = LogStore::open(dir)?;
        let state_machine = StateMachine::new(core.clone(), dir.to_path_buf(), meta);
        let raft = Raft::new(
            config.id,
            Arc::new(raft_config),
            Network::new(transport.clone()),
            log,
            state_machine,
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
        let (tasks_guard, gone) = tokio::sync::oneshot::channel();
        tokio::spawn(snapshot_after_compactions(raft.clone(), core.clone(), gone));
        let (proposals, waiting) = mpsc::channel(16 * 1024);
        tokio::spawn(batch_proposals(
            config.id,
            raft.clone(),
            transport.clone(),
            waiting,
        ));
        Ok(Arc::new(Self {
            proposals,
            id: config.id,
            raft,
            core,
            _tasks_guard: tasks_guard,
            transport,
            request_timeout: config.request_timeout,
        }))
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Forms a new cluster of `members` (id → Raft address). A member that
    /// already belongs to a cluster ignores it, so restarting with the same
    /// flags is harmless.
    pub async fn bootstrap(&self, members: BTreeMap<NodeId, String>) -> Result<(), StoreError> {
        if self.raft.is_initialized().await.map_err(unavailable)? {
            return Ok(());
        }
        let nodes: BTreeMap<NodeId, BasicNode> = members
            .into_iter()
            .map(|(id, addr)| (id, BasicNode { addr }))
            .collect();
        match self.raft.initialize(nodes).await {
            Ok(()) => Ok(()),
            // Another member's bootstrap got here first.
            Err(RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Logs `command` through the leader and answers what applying it gave.
    ///
    /// A follower forwards it. It is retried only while it certainly was not
    /// proposed (no leader yet, or the leader changed before taking it); a
    /// forwarded request whose answer is lost fails as etcd's does, with the
    /// outcome unknown.
    pub async fn propose(&self, command: Command) -> Result<Response, StoreError> {
        self.retrying("no leader accepted the request", || async {
            match self.propose_here(command.clone(), true).await {
                Ok(result) => Attempt::Done(result),
                Err(Redirect::NotLeader { leader }) => Attempt::Retry(match leader {
                    Some(leader) => format!("member {leader} is no longer the leader"),
                    None => "no leader is elected".into(),
                }),
                Err(Redirect::Unavailable(reason)) => {
                    Attempt::Done(Err(StoreError::Unavailable(reason)))
                }
            }
        })
        .await
    }

    /// Retries `attempt`, pausing between tries, until it settles or the
    /// request timeout passes; `what` opens the error that then says why.
    async fn retrying<T, Fut>(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> Fut,
    ) -> Result<T, StoreError>
    where
        Fut: Future<Output = Attempt<T>>,
    {
        let deadline = tokio::time::Instant::now() + self.request_timeout;
        loop {
            let outcome = tokio::time::timeout_at(deadline, attempt())
                .await
                .map_err(|_| timed_out())?;
            match outcome {
                Attempt::Done(result) => return result,
                Attempt::Retry(reason) => {
                    if tokio::time::Instant::now() + RETRY_PAUSE >= deadline {
                        return Err(StoreError::Unavailable(format!("{what}: {reason}")));
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    /// Sends `rpc` to the leader at the address the membership records.
    async fn ask(&self, leader: NodeId, rpc: Rpc) -> Result<RpcReply, String> {
        let addr = self
            .address_of(leader)
            .ok_or_else(|| format!("leader {leader} has no known address"))?;
        self.transport
            .call(leader, &addr, rpc)
            .await
            .map_err(|e| e.to_string())
    }

    /// Hands a command to this member's batcher; with `forward`, a batch
    /// this member cannot log (it is not the leader) goes to the leader.
    async fn propose_here(
        &self,
        command: Command,
        forward: bool,
    ) -> Result<Result<Response, StoreError>, Redirect> {
        let (reply, answer) = oneshot::channel();
        self.proposals
            .send(Proposal {
                command,
                forward,
                reply,
            })
            .await
            .map_err(|_| Redirect::Unavailable("the member is shutting down".into()))?;
        answer
            .await
            .map_err(|_| Redirect::Unavailable("the member is shutting down".into()))?
    }

    /// Returns once this member has applied every write acknowledged
    /// before the call (a read index, confirmed by a quorum of heartbeats):
    /// a read that follows sees them all.
    pub async fn linearize(&self) -> Result<(), StoreError> {
        let started = tokio::time::Instant::now();
        let index = self
            .retrying("cannot confirm a linearizable read", || async {
                match self.read_index().await {
                    Ok(index) => Attempt::Done(Ok(index)),
                    Err(reason) => Attempt::Retry(reason),
                }
            })
            .await?;
        let remaining = self.request_timeout.saturating_sub(started.elapsed());
        self.raft
            .wait(Some(remaining))
            .applied_index_at_least(Some(index), "linearizable read")
            .await
            .map_err(|_| timed_out())?;
        Ok(())
    }

    /// The leader's read index, asked of the leader when this member is not.
    async fn read_index(&self) -> Result<u64, String> {
        let leader = match self.local_read_index().await {
            Ok(index) => return Ok(index),
            Err(Redirect::NotLeader {
                leader: Some(leader),
            }) if leader != self.id => leader,
            Err(e) => return Err(e.to_string()),
        };
        match self.ask(leader, Rpc::ReadIndex).await? {
            RpcReply::ReadIndex(result) => result.map_err(|e| e.to_string()),
            other => Err(format!("mismatched reply {other:?}")),
        }
    }

    async fn local_read_index(&self) -> Result<u64, Redirect> {
        match self.raft.get_read_log_id().await {
            Ok((read, _applied)) => Ok(read.map_or(0, |l| l.index)),
            Err(RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f))) => {
                Err(Redirect::NotLeader {
                    leader: f.leader_id,
                })
            }
            Err(e) => Err(Redirect::Unavailable(e.to_string())),
        }
    }

    fn address_of(&self, id: NodeId) -> Option<String> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        metrics
            .membership_config
            .nodes()
            .find(|(n, _)| **n == id)
            .map(|(_, node)| node.addr.clone())
    }

    /// Whether this member is the leader now (as far as it knows).
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.id)
    }

    /// Raft's view of the cluster from this member.
    pub fn metrics(&self) -> RaftMetrics<NodeId, BasicNode> {
        self.raft.metrics().borrow().clone()
    }

    /// Renews lease `id` on the leader, which alone expires leases.
    pub async fn keep_alive(&self, id: i64) -> Result<i64, StoreError> {
        self.retrying("cannot reach the leader to renew the lease", || async {
            let leader = match self.keep_alive_here(id) {
                Ok(ttl) => return Attempt::Done(ttl.ok_or(StoreError::LeaseNotFound)),
                Err(Redirect::NotLeader {
                    leader: Some(leader),
                }) => leader,
                Err(e) => return Attempt::Done(Err(StoreError::Unavailable(e.to_string()))),
            };
            match self.ask(leader, Rpc::KeepAlive(id)).await {
                Ok(RpcReply::KeepAlive(Ok(ttl))) => {
                    Attempt::Done(ttl.ok_or(StoreError::LeaseNotFound))
                }
                Ok(RpcReply::KeepAlive(Err(e))) => Attempt::Retry(e.to_string()),
                Ok(other) => Attempt::Retry(format!("mismatched reply {other:?}")),
                Err(reason) => Attempt::Retry(reason),
            }
        })
        .await
    }

    fn keep_alive_here(&self, id: i64) -> Result<Option<i64>, Redirect> {
        let leader = self.raft.metrics().borrow().current_leader;
        match leader {
            Some(leader) if leader == self.id => match self.core.renew_lease(id) {
                Ok(ttl) => Ok(Some(ttl)),
                Err(StoreError::LeaseNotFound) => Ok(None),
                Err(e) => Err(Redirect::Unavailable(e.to_string())),
            },
            None => Err(Redirect::Unavailable("no leader is elected".into())),
            leader => Err(Redirect::NotLeader { leader }),
        }
    }

    /// Changes the membership, on the leader (forwarded there when this
    /// member is not it). Returns once the change is committed; adding a
    /// learner also waits until it has caught up.
    pub async fn change(&self, change: Change) -> Result<(), String> {
        match self.change_here(change.clone()).await {
            Err(Redirect::NotLeader {
                leader: Some(leader),
            }) if leader != self.id => {
                let rpc = Rpc::Change {
                    change,
                    forwarded: true,
                };
                match self.ask(leader, rpc).await? {
                    RpcReply::Change(result) => result.map_err(|e| e.to_string()),
                    other => Err(format!("mismatched reply {other:?}")),
                }
            }
            other => other.map_err(|e| e.to_string()),
        }
    }

    async fn change_here(&self, change: Change) -> Result<(), Redirect> {
        use openraft::ChangeMembers;
        let membership = self.metrics().membership_config.membership().clone();
        let is_voter = |id: NodeId| membership.voter_ids().any(|v| v == id);
        let result = match change {
            Change::AddLearner { id, addr } => {
                self.raft.add_learner(id, BasicNode { addr }, true).await
            }
            Change::Promote(id) => {
                self.raft
                    .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
                    .await
            }
            Change::Remove(id) if is_voter(id) => {
                self.raft
                    .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
                    .await
            }
            Change::Remove(id) => {
                self.raft
                    .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                    .await
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(Redirect::NotLeader {
                    leader: f.leader_id,
                })
            }
            Err(e) => Err(Redirect::Unavailable(e.to_string())),
        }
    }

    /// The cluster as this member sees it.
    pub fn status(&self) -> ClusterStatus {
        let metrics = self.metrics();
        let membership = metrics.membership_config.membership();
        let mut voters = Vec::new();
        let mut learners = Vec::new();
        for (&id, node) in membership.nodes() {
            let row = (id, node.addr.clone());
            if membership.voter_ids().any(|v| v == id) {
                voters.push(row);
            } else {
                learners.push(row);
            }
        }
        ClusterStatus {
            id: self.id,
            leader: metrics.current_leader,
            term: metrics.current_term,
            last_log_index: metrics.last_log_index.unwrap_or(0),
            applied_index: metrics.last_applied.map_or(0, |l| l.index),
            voters,
            learners,
        }
    }

    /// Stops Raft on this member.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft did not shut down cleanly");
        }
    }
}

#[async_trait]
impl Handler for Member {
    async fn handle(&self, rpc: Rpc) -> RpcReply {
        match rpc {
            Rpc::AppendEntries(request) => {
                RpcReply::AppendEntries(self.raft.append_entries(request).await)
            }
            Rpc::Vote(request) => RpcReply::Vote(self.raft.vote(request).await),
            Rpc::InstallSnapshot(request) => {
                RpcReply::InstallSnapshot(self.raft.install_snapshot(request).await)
            }
            Rpc::Propose(command) => {
                RpcReply::Propose(match self.raft.client_write(command).await {
                    Ok(written) => Ok((written.log_id.index, written.data)),
                    Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                        Err(Redirect::NotLeader {
                            leader: f.leader_id,
                        })
                    }
                    Err(e) => Err(Redirect::Unavailable(e.to_string())),
                })
            }
            Rpc::ReadIndex => RpcReply::ReadIndex(self.local_read_index().await),
            Rpc::Change {
                change,
                forwarded: true,
            } => RpcReply::Change(self.change_here(change).await),
            Rpc::Change { change, .. } => {
                RpcReply::Change(self.change(change).await.map_err(Redirect::Unavailable))
            }
            Rpc::Status => RpcReply::Status(self.status()),
            Rpc::KeepAlive(id) => RpcReply::KeepAlive(self.keep_alive_here(id)),
        }
    }
}

/// After each applied compaction, snapshots the state and purges the whole
/// log it covers, so compacting returns disk space at once, as etcd's does.
/// Ends when the member is dropped (`gone` resolves) or Raft stops.
async fn snapshot_after_compactions(
    raft: Raft<TypeConfig>,
    core: Arc<Core>,
    mut gone: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            () = core.compacted.notified() => {}
            _ = &mut gone => return,
        }
        let applied = raft.metrics().borrow().last_applied.map_or(0, |l| l.index);
        if raft.trigger().snapshot().await.is_err() {
            return;
        }
        let built = raft
            .wait(Some(Duration::from_secs(60)))
            .metrics(
                |m| m.snapshot.is_some_and(|s| s.index >= applied),
                "snapshot",
            )
            .await;
        match built {
            Ok(m) => {
                if let Some(snapshot) = m.snapshot
                    && raft.trigger().purge_log(snapshot.index).await.is_err()
                {
                    return;
                }
            }
            Err(e) => tracing::warn!(error = %e, "no snapshot after a compaction"),
        }
    }
}

const RETRY_PAUSE: Duration = Duration::from_millis(25);

/// One try of a request: settled (success or a final error), or worth
/// retrying, for the reason given.
enum Attempt<T> {
    Done(Result<T, StoreError>),
    Retry(String),
}

/// Most commands, and bytes, in one Raft entry.
const MAX_BATCH: usize = 4096;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// A write waiting for the next batch.
struct Proposal {
    command: Command,
    /// Whether to forward it to the leader when this member is not it (not
    /// for writes that were themselves forwarded here).
    forward: bool,
    reply: oneshot::Sender<Result<Result<Response, StoreError>, Redirect>>,
}

/// Group commit above Raft: takes every proposal waiting and logs them as
/// one entry, one entry at a time. openraft 0.9 holds back a new append
/// until the previous one is flushed, so one command per entry would mean
/// one `fdatasync` per write; batching here makes the sync cover everyone
/// who arrived while the last one ran. On a follower the same batch goes to
/// the leader in one message. Ends when the member is dropped.
async fn batch_proposals(
    id: NodeId,
    raft: Raft<TypeConfig>,
    transport: Arc<dyn Transport>,
    mut rx: mpsc::Receiver<Proposal>,
) {
    use prost::Message;
    while let Some(first) = rx.recv().await {
        let mut bytes = first.command.encoded_len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    bytes += next.command.encoded_len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        batch.retain(|p| !p.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        // Raft takes the commands; the proposals keep theirs in case the
        // batch must go to the leader instead (keys and values are shared
        // `Bytes`, so the copy is of the message structure only).
        let commands: Vec<Command> = batch.iter().map(|p| p.command.clone()).collect();
        let leader = match raft.client_write(Logged(commands)).await {
            Ok(written) => {
                for (proposal, result) in batch.into_iter().zip(written.data.0) {
                    let _ = proposal.reply.send(Ok(result));
                }
                continue;
            }
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => f,
            Err(other) => {
                let redirect = Redirect::Unavailable(other.to_string());
                for proposal in batch {
                    let _ = proposal.reply.send(Err(redirect.clone()));
                }
                continue;
            }
        };
        // A write whose caller gave up (timed out: outcome unknown) is not
        // carried to another leader: it would land long after the caller
        // was told it failed.
        batch.retain(|p| !p.reply.is_closed());
        let (forwarded, kept): (Vec<_>, Vec<_>) = batch.into_iter().partition(|p| p.forward);
        for proposal in kept {
            let _ = proposal.reply.send(Err(Redirect::NotLeader {
                leader: leader.leader_id,
            }));
        }
        let results = match (leader.leader_id, leader.leader_node) {
            (Some(to), Some(node)) if to != id && !forwarded.is_empty() => {
                let commands = forwarded.iter().map(|p| p.command.clone()).collect();
                forward(&*transport, to, &node.addr, commands).await
            }
            (leader_id, _) => Err(Redirect::NotLeader { leader: leader_id }),
        };
        match results {
            Ok((index, results)) => {
                // As etcd's proposing member does, answer once this member
                // has applied the entry too, so a read here after the
                // write sees it. Another batch need not wait for that.
                let raft = raft.clone();
                tokio::spawn(async move {
                    let applied = raft
                        .wait(Some(LOCAL_APPLY_WAIT))
                        .applied_index_at_least(Some(index), "forwarded write")
                        .await;
                    if applied.is_err() {
                        tracing::debug!(index, "forwarded write not applied here in time");
                    }
                    for (proposal, result) in forwarded.into_iter().zip(results) {
                        let _ = proposal.reply.send(Ok(result));
                    }
                });
            }
            Err(redirect) => {
                for proposal in forwarded {
                    let _ = proposal.reply.send(Err(redirect.clone()));
                }
            }
        }
    }
}

/// How long a member that forwarded a write waits to apply it itself
/// before answering anyway (the write is committed either way; only
/// reading it back here right away is not promised then).
const LOCAL_APPLY_WAIT: Duration = Duration::from_secs(5);

/// Sends a batch to the leader. `NotLeader` when it certainly was not
/// proposed there (so it may be retried); a lost answer is an unknown
/// outcome, as with etcd.
async fn forward(
    transport: &dyn Transport,
    leader: NodeId,
    addr: &str,
    commands: Vec<Command>,
) -> Result<(u64, Vec<Result<Response, StoreError>>), Redirect> {
    let count = commands.len();
    match transport
        .call(leader, addr, Rpc::Propose(Logged(commands)))
        .await
    {
        Ok(RpcReply::Propose(Ok((index, Answer(results))))) if results.len() == count => {
            Ok((index, results))
        }
        Ok(RpcReply::Propose(Ok(_))) => Err(Redirect::Unavailable(
            "the leader answered a different number of commands".into(),
        )),
        Ok(RpcReply::Propose(Err(redirect))) => Err(redirect),
        Ok(other) => Err(Redirect::Unavailable(format!(
            "mismatched reply from the leader: {other:?}"
        ))),
        Err(e) if !e.sent => Err(Redirect::NotLeader { leader: None }),
        Err(e) => Err(Redirect::Unavailable(format!(
            "request timed out, possibly due to leader failure ({e})"
        ))),
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn timed_out() -> StoreError {
    StoreError::Unavailable("request timed out".into())
}
