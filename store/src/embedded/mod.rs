//! The embedded backend: the MVCC engine replicated by Raft, on one machine
//! (a cluster of one) or on several.
//!
//! Writes are proposed to Raft ([`crate::raft::Member`]): the leader appends
//! them to its log with group commit, replicates them to a quorum, and
//! applies them to the engine in order, publishing their events, before
//! the caller is answered; nothing is acknowledged before a quorum has it on
//! disk. A write sent to a follower is forwarded to the leader. Reads take
//! the engine's read lock; [`Embedded::linearize`] first makes sure this
//! member has applied every write acknowledged anywhere.

mod compaction;
mod lessor;
mod store_impl;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

pub use compaction::AutoCompaction;
use lessor::Lessor;

use crate::StoreError;
use crate::mvcc::{KeyRange, Mvcc, Response};
use crate::pb::etcdserverpb::request_op::Request;
use crate::pb::etcdserverpb::{
    CompactionRequest, DeleteRangeRequest, DeleteRangeResponse, LeaseGrantRequest,
    LeaseGrantResponse, LeaseRevokeRequest, LeaseTimeToLiveResponse, PutRequest, PutResponse,
    RangeRequest, RangeResponse, RequestOp, ResponseHeader, StatusResponse, TxnRequest,
    TxnResponse,
};
use crate::pb::marspb::{Command, command::Op};
use crate::raft::log_store::LogOpenError;
use crate::raft::state_machine::{self, SnapshotError};
use crate::raft::transport::{Handler, Rpc, RpcReply, Transport, Unanswered};
use crate::raft::{Member, MemberConfig, NodeId, StartError, Timings};
use crate::validate::{self, Limits};
use crate::watch::{WatchHub, WatchSender, WatchSpec};

/// The etcd API version the embedded store reports and emulates.
pub const ETCD_VERSION: &str = "3.5.0";

/// How to open the embedded store.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// Name reported in `member list`.
    pub name: String,
    /// Client URLs reported in `member list`.
    pub client_urls: Vec<String>,
    pub auto_compaction: Option<AutoCompaction>,
    /// Take a snapshot (and drop covered log entries) after this many entries.
    pub snapshot_after_entries: u64,
    pub timings: Timings,
    /// How long a write or a linearizable read may wait for a leader.
    pub request_timeout: Duration,
    /// Membership in a replicated cluster; `None` is a cluster of one.
    pub cluster: Option<ClusterConfig>,
}

/// How this member takes part in a cluster.
#[derive(Clone)]
pub struct ClusterConfig {
    pub id: NodeId,
    /// The members (id → Raft address) to form a new cluster with; empty
    /// to wait until a running cluster adds this member.
    pub initial_members: BTreeMap<NodeId, String>,
    /// How this member reaches the others.
    pub transport: Arc<dyn Transport>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("id", &self.id)
            .field("initial_members", &self.initial_members)
            .finish_non_exhaustive()
    }
}

impl EmbeddedConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            limits: Limits::default(),
            name: "mars".into(),
            client_urls: Vec::new(),
            auto_compaction: None,
            snapshot_after_entries: 20_000,
            timings: Timings::LAN,
            request_timeout: Duration::from_secs(7),
            cluster: None,
        }
    }
}

/// Why the embedded store could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error(
        "data directory {path} is in use by another Mars process{holder}; stop it first or choose another --data-dir"
    )]
    Locked { path: PathBuf, holder: String },
    #[error("cannot lock data directory {path}: {source}")]
    Lock { path: PathBuf, source: io::Error },
    #[error("cannot read the store's identity in {path}: {reason}")]
    Identity { path: PathBuf, reason: String },
    #[error(
        "{path} holds a store in the pre-Raft format of an older Mars; export its objects with that version, or start with an empty --data-dir"
    )]
    OldFormat { path: PathBuf },
    #[error("cannot recover the Raft log: {0}")]
    Log(#[from] LogOpenError),
    #[error("cannot recover the store: {0}")]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Raft(StartError),
    #[error("cannot form the cluster: {0}")]
    Bootstrap(StoreError),
}

impl From<StartError> for OpenError {
    fn from(error: StartError) -> Self {
        match error {
            StartError::Log(e) => OpenError::Log(e),
            other => OpenError::Raft(other),
        }
    }
}

/// State shared by the handle, the writer thread and background tasks.
pub(crate) struct Core {
    pub(crate) state: RwLock<Mvcc>,
    pub(crate) hub: Mutex<WatchHub>,
    pub(crate) lessor: Mutex<Lessor>,
    /// The Raft term of the last applied entry.
    pub(crate) term: AtomicU64,
    /// Signalled when a compaction is applied: a snapshot then returns the
    /// log's space at once instead of after `snapshot_after_entries`.
    pub(crate) compacted: tokio::sync::Notify,
    pub(crate) member_id: u64,
    pub(crate) cluster_id: u64,
}

impl Core {
    /// Renews a lease's deadline on this member (the leader's is the one
    /// that counts); returns its TTL.
    pub(crate) fn renew_lease(&self, id: i64) -> Result<i64, StoreError> {
        let state = self.state.read();
        let ttl = state
            .leases()
            .get(&id)
            .map(|l| l.ttl)
            .ok_or(StoreError::LeaseNotFound)?;
        self.lessor.lock().renew(id, ttl)?;
        Ok(ttl)
    }

    pub(crate) fn header(&self, revision: i64) -> ResponseHeader {
        ResponseHeader {
            cluster_id: self.cluster_id,
            member_id: self.member_id,
            revision,
            raft_term: self.term.load(Ordering::Relaxed),
        }
    }
}

/// A handle to the embedded store; cheap to clone, all clones share one store.
#[derive(Clone)]
pub struct Embedded {
    core: Arc<Core>,
    member: Arc<Member>,
    config: Arc<EmbeddedConfig>,
    lifecycle: Arc<Lifecycle>,
}

struct WeakEmbedded {
    core: Weak<Core>,
    member: Weak<Member>,
    config: Arc<EmbeddedConfig>,
    lifecycle: Weak<Lifecycle>,
}

impl WeakEmbedded {
    fn upgrade(&self) -> Option<Embedded> {
        Some(Embedded {
            core: self.core.upgrade()?,
            member: self.member.upgrade()?,
            config: self.config.clone(),
            lifecycle: self.lifecycle.upgrade()?,
        })
    }
}

/// Tracks shutdown; the data-dir lock is released when the last handle goes.
struct Lifecycle {
    closed: AtomicBool,
    _lock: File,
}

/// The transport of a cluster of one: there is nobody to call.
struct Alone;

#[async_trait::async_trait]
impl Transport for Alone {
    async fn call(&self, to: NodeId, addr: &str, _rpc: Rpc) -> Result<RpcReply, Unanswered> {
        Err(Unanswered {
            to,
            addr: addr.to_string(),
            reason: "this store is a cluster of one".into(),
            sent: false,
        })
    }
}

impl Embedded {
    /// Opens the store in `config.data_dir`: loads its snapshot, starts its
    /// Raft member (which re-applies the committed log after the snapshot)
    /// and, for a cluster of one or a new cluster, forms the cluster. A
    /// cluster of one is ready for linearizable reads when this returns.
    pub async fn open(config: EmbeddedConfig) -> Result<Self, OpenError> {
        let dir = config.data_dir.clone();
        fs::create_dir_all(&dir).map_err(|source| OpenError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let lock = lock_data_dir(&dir)?;
        let raft_dir = dir.join("raft");
        if dir.join("wal").exists() && !raft_dir.exists() {
            return Err(OpenError::OldFormat { path: dir });
        }
        fs::create_dir_all(&raft_dir).map_err(|source| OpenError::CreateDir {
            path: raft_dir.clone(),
            source,
        })?;
        let (identity_id, cluster_id) = identity(&dir)?;
        let member_id = config.cluster.as_ref().map_or(identity_id, |c| c.id);

        let (state, meta) = match state_machine::load_snapshot(&raft_dir)? {
            Some(loaded) => (loaded.state, Some(loaded.meta)),
            None => (Mvcc::new(), None),
        };
        let mut lessor = Lessor::default();
        lessor.refresh_all(state.leases());
        let core = Arc::new(Core {
            state: RwLock::new(state),
            hub: Mutex::new(WatchHub::default()),
            lessor: Mutex::new(lessor),
            term: AtomicU64::new(1),
            compacted: tokio::sync::Notify::new(),
            member_id,
            cluster_id,
        });

        let member_config = MemberConfig {
            id: member_id,
            timings: config.timings,
            snapshot_after_entries: config.snapshot_after_entries,
            request_timeout: config.request_timeout,
        };
        let (transport, initial): (Arc<dyn Transport>, _) = match &config.cluster {
            Some(cluster) => (cluster.transport.clone(), cluster.initial_members.clone()),
            None => (
                Arc::new(Alone),
                BTreeMap::from([(member_id, "local".to_string())]),
            ),
        };
        let member = Member::start(
            &member_config,
            &raft_dir,
            core.clone(),
            meta.as_ref(),
            transport,
        )
        .await?;
        if !initial.is_empty() {
            member
                .bootstrap(initial)
                .await
                .map_err(OpenError::Bootstrap)?;
        }
        if config.cluster.is_none() {
            member.linearize().await.map_err(OpenError::Bootstrap)?;
        }
        tracing::info!(
            data_dir = %dir.display(),
            member = member_id,
            revision = core.state.read().revision(),
            "embedded store open"
        );

        let store = Embedded {
            core,
            member,
            config: Arc::new(config),
            lifecycle: Arc::new(Lifecycle {
                closed: AtomicBool::new(false),
                _lock: lock,
            }),
        };
        lessor::spawn_expiry(&store);
        if let Some(policy) = store.config.auto_compaction {
            compaction::spawn(&store, policy);
        }
        Ok(store)
    }

    /// This member's Raft side, for its peers' RPCs and cluster changes.
    pub fn member(&self) -> &Arc<Member> {
        &self.member
    }

    /// The handler for RPCs that peers send this member.
    pub fn handler(&self) -> Arc<dyn Handler> {
        self.member.clone()
    }

    /// A handle for background tasks that does not keep the store open.
    fn downgrade(&self) -> WeakEmbedded {
        WeakEmbedded {
            core: Arc::downgrade(&self.core),
            member: Arc::downgrade(&self.member),
            config: self.config.clone(),
            lifecycle: Arc::downgrade(&self.lifecycle),
        }
    }

    /// Stops accepting writes and stops this member's Raft.
    pub async fn close(&self) {
        self.lifecycle.closed.store(true, Ordering::SeqCst);
        self.member.shutdown().await;
    }

    /// Returns once this member has applied every write acknowledged before
    /// the call, so that a read that follows is linearizable.
    pub async fn linearize(&self) -> Result<(), StoreError> {
        self.member.linearize().await
    }

    pub fn is_closed(&self) -> bool {
        self.lifecycle.closed.load(Ordering::SeqCst)
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// A response header stamped with this member and the given revision.
    pub fn header(&self, revision: i64) -> ResponseHeader {
        self.core.header(revision)
    }

    pub fn revision(&self) -> i64 {
        self.core.state.read().revision()
    }

    pub fn compact_revision(&self) -> i64 {
        self.core.state.read().compact_revision()
    }

    async fn propose(&self, op: Op) -> Result<Response, StoreError> {
        if self.is_closed() {
            return Err(StoreError::Unavailable("the store is shutting down".into()));
        }
        self.member.propose(Command { op: Some(op) }).await
    }

    /// etcd `Range`: linearizable (after a read index) unless the request
    /// asks for a serializable read of this member's state.
    pub async fn range(&self, request: &RangeRequest) -> Result<RangeResponse, StoreError> {
        self.config.limits.check_size(request)?;
        if !request.serializable {
            self.linearize().await?;
        }
        let state = self.core.state.read();
        let mut response = state.range(request)?;
        response.header = Some(self.core.header(state.revision()));
        Ok(response)
    }

    /// etcd `Put`.
    pub async fn put(&self, request: PutRequest) -> Result<PutResponse, StoreError> {
        self.config.limits.check_size(&request)?;
        validate::check_put(&request)?;
        match self.propose(Op::Put(request)).await? {
            Response::Put(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }

    /// etcd `DeleteRange`.
    pub async fn delete_range(
        &self,
        request: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, StoreError> {
        self.config.limits.check_size(&request)?;
        validate::check_delete(&request)?;
        match self.propose(Op::DeleteRange(request)).await? {
            Response::DeleteRange(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }

    /// etcd `Txn`. A transaction that cannot write is answered from memory
    /// (after a read index) without touching the log.
    pub async fn txn(&self, request: TxnRequest) -> Result<TxnResponse, StoreError> {
        self.config.limits.check_size(&request)?;
        validate::check_txn(&request, &self.config.limits)?;
        let response = if is_read_only(&request) {
            self.linearize().await?;
            let mut state = self.core.state.write();
            let applied = state.apply(&Command {
                op: Some(Op::Txn(request)),
            });
            debug_assert!(applied.events.is_empty(), "a read-only txn wrote");
            let header = self.core.header(state.revision());
            applied.response.map(|r| match r {
                Response::Txn(mut txn) => {
                    txn.header = Some(header);
                    Response::Txn(txn)
                }
                other => other,
            })
        } else {
            self.propose(Op::Txn(request)).await
        };
        match response? {
            Response::Txn(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }

    /// etcd `Compact`: revisions below `revision` become unreadable.
    pub async fn compact(&self, revision: i64) -> Result<ResponseHeader, StoreError> {
        let request = CompactionRequest {
            revision,
            physical: false,
        };
        self.propose(Op::Compaction(request)).await?;
        Ok(self.core.header(self.revision()))
    }

    /// etcd `LeaseGrant`; `id` 0 lets the store choose.
    pub async fn lease_grant(&self, ttl: i64, id: i64) -> Result<LeaseGrantResponse, StoreError> {
        let id = if id == 0 { self.new_lease_id() } else { id };
        match self
            .propose(Op::LeaseGrant(LeaseGrantRequest { ttl, id }))
            .await?
        {
            Response::LeaseGrant(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }

    fn new_lease_id(&self) -> i64 {
        let state = self.core.state.read();
        loop {
            let id = rand::random::<i64>() & i64::MAX;
            if id != 0 && !state.leases().contains_key(&id) {
                return id;
            }
        }
    }

    /// etcd `LeaseRevoke`: the lease's keys are deleted in one revision.
    pub async fn lease_revoke(&self, id: i64) -> Result<ResponseHeader, StoreError> {
        self.propose(Op::LeaseRevoke(LeaseRevokeRequest { id }))
            .await?;
        Ok(self.core.header(self.revision()))
    }

    /// Renews a lease; returns its TTL, or `LeaseNotFound` once it expired or
    /// was revoked. The leader keeps lease deadlines, so a follower forwards
    /// the renewal to it.
    pub async fn lease_keep_alive(&self, id: i64) -> Result<i64, StoreError> {
        self.member.keep_alive(id).await
    }

    /// etcd `LeaseTimeToLive`; an unknown lease reports TTL -1, as etcd does.
    pub fn lease_time_to_live(&self, id: i64, with_keys: bool) -> LeaseTimeToLiveResponse {
        let state = self.core.state.read();
        let header = Some(self.core.header(state.revision()));
        let (Some(lease), Some(remaining)) = (
            state.leases().get(&id),
            self.core.lessor.lock().remaining(id),
        ) else {
            return LeaseTimeToLiveResponse {
                header,
                id,
                ttl: -1,
                ..Default::default()
            };
        };
        LeaseTimeToLiveResponse {
            header,
            id,
            ttl: remaining,
            granted_ttl: lease.ttl,
            keys: if with_keys {
                lease.keys.iter().cloned().collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Ids of every live lease.
    pub fn lease_ids(&self) -> Vec<i64> {
        self.core.state.read().leases().keys().copied().collect()
    }

    /// Registers a watcher. Its history from `spec.start_revision` is sent
    /// first, then live events, all on `tx` tagged with `tag`. Returns the id
    /// to cancel it with.
    pub fn watch(&self, spec: WatchSpec, tag: i64, tx: WatchSender) -> Result<u64, StoreError> {
        if spec.key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        let state = self.core.state.read();
        let current = state.revision();
        let from = if spec.start_revision > 0 {
            spec.start_revision
        } else {
            current + 1
        };
        // A start in the future just waits; one below the compacted
        // revision fails in `history_since`.
        let history = if from <= current {
            state.history_since(KeyRange::new(&spec.key, &spec.range_end), from)?
        } else {
            Vec::new()
        };
        let id = self
            .core
            .hub
            .lock()
            .register(spec, from, history, current, tag, tx);
        Ok(id)
    }

    pub fn cancel_watch(&self, id: u64) -> bool {
        self.core.hub.lock().cancel(id)
    }

    /// Queues a progress notification at the current revision for the given
    /// watchers, behind every event they have not yet received.
    pub fn request_progress(&self, ids: &[u64]) {
        let state = self.core.state.read();
        self.core.hub.lock().notify_progress(ids, state.revision());
    }

    /// The cluster's members, as `member list` shows them. Client URLs are
    /// known for this member only.
    pub fn members(&self) -> Vec<crate::pb::etcdserverpb::Member> {
        let cluster = self.member.status();
        let mut members: Vec<_> = cluster
            .voters
            .into_iter()
            .map(|m| (m, false))
            .chain(cluster.learners.into_iter().map(|m| (m, true)))
            .map(|((id, addr), is_learner)| {
                let this = id == self.core.member_id;
                crate::pb::etcdserverpb::Member {
                    id,
                    name: if this {
                        self.config.name.clone()
                    } else {
                        format!("member-{id:x}")
                    },
                    peer_ur_ls: match &self.config.cluster {
                        Some(_) => vec![addr],
                        None => Vec::new(),
                    },
                    client_ur_ls: if this {
                        self.config.client_urls.clone()
                    } else {
                        Vec::new()
                    },
                    is_learner,
                }
            })
            .collect();
        members.sort_by_key(|m| m.id);
        members
    }

    /// etcd `Status`, from this member's Raft view.
    pub fn status(&self) -> StatusResponse {
        let revision = self.revision();
        let cluster = self.member.status();
        let size = disk_bytes(&self.config.data_dir.join("raft")) as i64;
        StatusResponse {
            header: Some(self.core.header(revision)),
            version: ETCD_VERSION.into(),
            db_size: size,
            leader: cluster.leader.unwrap_or(0),
            raft_index: cluster.last_log_index,
            raft_term: cluster.term,
            raft_applied_index: cluster.applied_index,
            errors: Vec::new(),
            db_size_in_use: size,
            is_learner: !cluster.voters.iter().any(|(id, _)| *id == cluster.id),
        }
    }
}

/// Bytes the store occupies on disk under `dir` (etcd's "db size").
fn disk_bytes(dir: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| match entry.metadata() {
                Ok(m) if m.is_dir() => walk(&entry.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(dir)
}

fn unexpected(response: Response) -> StoreError {
    StoreError::Backend(format!("unexpected engine response {response:?}"))
}

fn is_read_only(request: &TxnRequest) -> bool {
    fn ops_read_only(ops: &[RequestOp]) -> bool {
        ops.iter().all(|op| match &op.request {
            Some(Request::RequestRange(_)) | None => true,
            Some(Request::RequestTxn(txn)) => is_read_only(txn),
            _ => false,
        })
    }
    ops_read_only(&request.success) && ops_read_only(&request.failure)
}

/// Takes an exclusive lock on `DIR/LOCK` for the life of the process; the
/// kernel drops it if the process dies, so a crash never leaves it stale.
fn lock_data_dir(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join("LOCK");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| OpenError::Lock {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            return Err(OpenError::Locked {
                path: dir.to_path_buf(),
                holder,
            });
        }
        Err(std::fs::TryLockError::Error(source)) => {
            return Err(OpenError::Lock { path, source });
        }
    }
    let _ = file.set_len(0);
    let _ = write!(file, "{}", std::process::id());
    let _ = file.sync_all();
    Ok(file)
}

/// The member and cluster ids, chosen at first start and kept in `DIR/identity`.
fn identity(dir: &Path) -> Result<(u64, u64), OpenError> {
    let path = dir.join("identity");
    let bad = |reason: String| OpenError::Identity {
        path: path.clone(),
        reason,
    };
    match fs::read_to_string(&path) {
        Ok(text) => {
            let ids: Vec<u64> = text
                .split_whitespace()
                .map(|t| u64::from_str_radix(t, 16))
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            match ids[..] {
                [member, cluster] => Ok((member, cluster)),
                _ => Err(bad(format!(
                    "expected two hex ids, found {:?}",
                    text.trim()
                ))),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (member, cluster) = (rand::random::<u64>() | 1, rand::random::<u64>() | 1);
            let tmp = dir.join("identity.tmp");
            fs::write(&tmp, format!("{member:x} {cluster:x}\n"))
                .and_then(|()| File::open(&tmp)?.sync_all())
                .and_then(|()| fs::rename(&tmp, &path))
                .map_err(|e| bad(e.to_string()))?;
            Ok((member, cluster))
        }
        Err(e) => Err(bad(e.to_string())),
    }
}

/// How often background tasks look at the clock.
pub(crate) const TICK: Duration = Duration::from_millis(250);
