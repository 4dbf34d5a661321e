//! What members say to each other, and the seam that carries it.
//!
//! Every message is an [`Rpc`] answered by an [`RpcReply`], both serde
//! values, so a transport only moves bytes: [`Local`] hands them between
//! members of one process (with faults injected on demand, for tests), the
//! gRPC transport between machines. openraft's `RaftNetwork` is implemented
//! once, over any [`Transport`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::wire::{Answer, Logged};
use super::{Change, ClusterStatus, NodeId, TypeConfig};

/// A request from one member to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum Rpc {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A write a follower received, for the leader to propose.
    Propose(Logged),
    /// Asks the leader for the log index a linearizable read must wait for.
    ReadIndex,
    /// A membership change; `forwarded` when it comes from a member that
    /// took it for the leader (which then does not pass it on again).
    Change {
        change: Change,
        forwarded: bool,
    },
    /// The member's view of the cluster.
    Status,
    /// A lease keep-alive, for the leader (which keeps the deadlines).
    KeepAlive(i64),
}

/// The answer to an [`Rpc`], variant for variant.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcReply {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// The answers and the index of the entry that carried them.
    Propose(Result<(u64, Answer), Redirect>),
    ReadIndex(Result<u64, Redirect>),
    Change(Result<(), Redirect>),
    Status(ClusterStatus),
    /// The lease's TTL, or `None` when it is gone.
    KeepAlive(Result<Option<i64>, Redirect>),
}

/// Why a member did not serve a forwarded request itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum Redirect {
    #[error("member is not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<NodeId> },
    #[error("{0}")]
    Unavailable(String),
}

/// The message did not get an answer: the peer is down, unreachable, or
/// the network dropped it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("member {to} at {addr} is unreachable: {reason}")]
pub struct Unanswered {
    pub to: NodeId,
    pub addr: String,
    pub reason: String,
    /// The request may have reached the member (only its answer is
    /// missing), so whatever it asked may have happened.
    pub sent: bool,
}

/// Carries one request to a member and brings back its answer.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    async fn call(&self, to: NodeId, addr: &str, rpc: Rpc) -> Result<RpcReply, Unanswered>;
}

/// Whatever answers RPCs on a member (its Raft node).
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, rpc: Rpc) -> RpcReply;
}

/// openraft's view of the network: one client per target, over a transport.
#[derive(Clone)]
pub struct Network {
    transport: Arc<dyn Transport>,
}

impl Network {
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self { transport }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            transport: self.transport.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

/// The client for one peer.
pub struct Peer {
    transport: Arc<dyn Transport>,
    target: NodeId,
    addr: String,
}

type NetError<E = openraft::error::Infallible> = RPCError<NodeId, BasicNode, RaftError<NodeId, E>>;

impl Peer {
    async fn call<E: std::error::Error>(&self, rpc: Rpc) -> Result<RpcReply, NetError<E>> {
        self.transport
            .call(self.target, &self.addr, rpc)
            .await
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))
    }

    fn remote<T, E: std::error::Error>(
        &self,
        result: Result<T, RaftError<NodeId, E>>,
    ) -> Result<T, NetError<E>> {
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

fn mismatched<E: std::error::Error>(reply: &RpcReply) -> NetError<E> {
    let e = std::io::Error::other(format!("mismatched reply {reply:?}"));
    RPCError::Network(NetworkError::new(&e))
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, NetError> {
        match self.call(Rpc::AppendEntries(rpc)).await? {
            RpcReply::AppendEntries(result) => self.remote(result),
            other => Err(mismatched(&other)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, NetError<InstallSnapshotError>> {
        match self.call(Rpc::InstallSnapshot(rpc)).await? {
            RpcReply::InstallSnapshot(result) => self.remote(result),
            other => Err(mismatched(&other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, NetError> {
        match self.call(Rpc::Vote(rpc)).await? {
            RpcReply::Vote(result) => self.remote(result),
            other => Err(mismatched(&other)),
        }
    }
}

/// Members of one process talking through memory, each message encoded and
/// decoded as on a real wire, with faults on demand: a member cut off, a
/// link dropped one way, a delay on every message. Used by the in-process
/// cluster tests; a cut-off member neither sends nor receives.
#[derive(Default)]
pub struct Local {
    members: Mutex<HashMap<NodeId, Weak<dyn Handler>>>,
    faults: Mutex<Faults>,
}

#[derive(Default, Clone)]
struct Faults {
    isolated: HashSet<NodeId>,
    /// Messages from `.0` to `.1` are lost.
    cut: HashSet<(NodeId, NodeId)>,
    delay: Duration,
}

impl Local {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Routes messages for `id` to `handler` (replacing a previous one,
    /// as when a member restarts).
    pub fn register(&self, id: NodeId, handler: Weak<dyn Handler>) {
        self.members.lock().insert(id, handler);
    }

    /// The transport member `id` sends with.
    pub fn endpoint(self: &Arc<Self>, id: NodeId) -> Arc<dyn Transport> {
        Arc::new(LocalEndpoint {
            net: self.clone(),
            from: id,
        })
    }

    /// Cuts `id` off from every other member (both directions).
    pub fn isolate(&self, id: NodeId) {
        self.faults.lock().isolated.insert(id);
    }

    /// Loses every message from `from` to `to` (one direction).
    pub fn cut(&self, from: NodeId, to: NodeId) {
        self.faults.lock().cut.insert((from, to));
    }

    /// Delays every message by `delay`.
    pub fn delay(&self, delay: Duration) {
        self.faults.lock().delay = delay;
    }

    /// Removes every fault.
    pub fn heal(&self) {
        *self.faults.lock() = Faults::default();
    }

    fn passes(&self, from: NodeId, to: NodeId) -> Result<Duration, &'static str> {
        let faults = self.faults.lock();
        if faults.isolated.contains(&from) || faults.isolated.contains(&to) {
            return Err("partitioned");
        }
        if faults.cut.contains(&(from, to)) {
            return Err("link cut");
        }
        Ok(faults.delay)
    }
}

struct LocalEndpoint {
    net: Arc<Local>,
    from: NodeId,
}

#[async_trait]
impl Transport for LocalEndpoint {
    async fn call(&self, to: NodeId, addr: &str, rpc: Rpc) -> Result<RpcReply, Unanswered> {
        let unsent = |reason: &str| Unanswered {
            to,
            addr: addr.to_string(),
            reason: reason.to_string(),
            sent: false,
        };
        let delay = self.net.passes(self.from, to).map_err(unsent)?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let handler = self.net.members.lock().get(&to).and_then(Weak::upgrade);
        let handler = handler.ok_or_else(|| unsent("not running"))?;
        let bytes = postcard::to_allocvec(&rpc).map_err(|e| unsent(&e.to_string()))?;
        let rpc: Rpc = postcard::from_bytes(&bytes).map_err(|e| unsent(&e.to_string()))?;
        let reply = handler.handle(rpc).await;
        let fail = |reason: &str| Unanswered {
            sent: true,
            ..unsent(reason)
        };
        // The answer crosses the same network back.
        self.net.passes(to, self.from).map_err(fail)?;
        let bytes = postcard::to_allocvec(&reply).map_err(|e| fail(&e.to_string()))?;
        postcard::from_bytes(&bytes).map_err(|e| fail(&e.to_string()))
    }
}
