//! The embedded backend: the MVCC engine made durable by the write-ahead
//! log, on one machine, with no other service.
//!
//! Writes go to one writer thread as proposals. It takes every proposal that
//! is waiting, appends them to the log with a single `fdatasync` (group
//! commit), applies them to the engine in order, publishes their events, and
//! only then answers the callers: nothing is acknowledged, or visible to a
//! reader, before it is on disk. Reads take the engine's read lock directly.

mod compaction;
mod lessor;
mod store_impl;
mod writer;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};

pub use compaction::AutoCompaction;
use lessor::Lessor;
use writer::{Proposal, Writer};

use crate::StoreError;
use crate::mvcc::{KeyRange, Mvcc, Response};
use crate::pb::etcdserverpb::request_op::Request;
use crate::pb::etcdserverpb::{
    CompactionRequest, DeleteRangeRequest, DeleteRangeResponse, LeaseGrantRequest,
    LeaseGrantResponse, LeaseRevokeRequest, LeaseTimeToLiveResponse, Member, PutRequest,
    PutResponse, RangeRequest, RangeResponse, RequestOp, ResponseHeader, StatusResponse,
    TxnRequest, TxnResponse,
};
use crate::pb::marspb::{Command, command::Op};
use crate::validate::{self, Limits};
use crate::wal::{Wal, WalError};
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
    /// Take a snapshot (and drop covered log segments) after this many log bytes.
    pub snapshot_after_bytes: u64,
}

impl EmbeddedConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            limits: Limits::default(),
            name: "mars".into(),
            client_urls: Vec::new(),
            auto_compaction: None,
            snapshot_after_bytes: 64 * 1024 * 1024,
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
    #[error("cannot recover the store: {0}")]
    Recover(#[from] WalError),
    #[error("cannot start the writer thread: {0}")]
    Thread(io::Error),
}

/// State shared by the handle, the writer thread and background tasks.
pub(crate) struct Core {
    pub(crate) state: RwLock<Mvcc>,
    pub(crate) hub: Mutex<WatchHub>,
    pub(crate) lessor: Mutex<Lessor>,
    pub(crate) applied_index: AtomicU64,
    pub(crate) disk_bytes: AtomicU64,
    pub(crate) member_id: u64,
    pub(crate) cluster_id: u64,
}

impl Core {
    fn header(&self, revision: i64) -> ResponseHeader {
        ResponseHeader {
            cluster_id: self.cluster_id,
            member_id: self.member_id,
            revision,
            raft_term: 1,
        }
    }
}

/// A handle to the embedded store; cheap to clone, all clones share one store.
#[derive(Clone)]
pub struct Embedded {
    core: Arc<Core>,
    proposals: mpsc::Sender<Proposal>,
    config: Arc<EmbeddedConfig>,
    lifecycle: Arc<Lifecycle>,
}

struct WeakEmbedded {
    core: Weak<Core>,
    proposals: mpsc::WeakSender<Proposal>,
    config: Arc<EmbeddedConfig>,
    lifecycle: Weak<Lifecycle>,
}

impl WeakEmbedded {
    fn upgrade(&self) -> Option<Embedded> {
        Some(Embedded {
            core: self.core.upgrade()?,
            proposals: self.proposals.upgrade()?,
            config: self.config.clone(),
            lifecycle: self.lifecycle.upgrade()?,
        })
    }
}

/// Tracks shutdown; the data-dir lock is released when the last handle goes.
struct Lifecycle {
    closed: AtomicBool,
    writer: Mutex<Option<JoinHandle<()>>>,
    _lock: File,
}

impl Embedded {
    /// Opens the store in `config.data_dir`, replaying its log. Must be called
    /// inside a Tokio runtime (lease expiry and auto-compaction run as tasks).
    pub fn open(config: EmbeddedConfig) -> Result<Self, OpenError> {
        let dir = config.data_dir.clone();
        fs::create_dir_all(&dir).map_err(|source| OpenError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let lock = lock_data_dir(&dir)?;
        let (member_id, cluster_id) = identity(&dir)?;

        let (wal, recovered) = Wal::open(&dir)?;
        let mut applied_index = 0;
        let mut state = match recovered.snapshot {
            Some(snapshot) => {
                applied_index = snapshot.applied_index;
                Mvcc::from_snapshot(snapshot)
            }
            None => Mvcc::new(),
        };
        let replayed = recovered.commands.len();
        for (index, command) in &recovered.commands {
            let _ = state.apply(command);
            applied_index = *index;
        }
        tracing::info!(
            data_dir = %dir.display(),
            revision = state.revision(),
            replayed,
            "embedded store recovered"
        );

        let mut lessor = Lessor::default();
        lessor.refresh_all(state.leases());
        let core = Arc::new(Core {
            state: RwLock::new(state),
            hub: Mutex::new(WatchHub::default()),
            lessor: Mutex::new(lessor),
            applied_index: AtomicU64::new(applied_index),
            disk_bytes: AtomicU64::new(wal.disk_bytes()),
            member_id,
            cluster_id,
        });

        let (tx, rx) = mpsc::channel(16 * 1024);
        let writer = Writer::new(
            core.clone(),
            wal,
            dir.clone(),
            rx,
            config.snapshot_after_bytes,
        );
        let handle = std::thread::Builder::new()
            .name("mars-store-writer".into())
            .spawn(move || writer.run())
            .map_err(OpenError::Thread)?;

        let store = Embedded {
            core,
            proposals: tx,
            config: Arc::new(config),
            lifecycle: Arc::new(Lifecycle {
                closed: AtomicBool::new(false),
                writer: Mutex::new(Some(handle)),
                _lock: lock,
            }),
        };
        lessor::spawn_expiry(&store);
        if let Some(policy) = store.config.auto_compaction {
            compaction::spawn(&store, policy);
        }
        Ok(store)
    }

    /// A handle for background tasks that does not keep the store open.
    fn downgrade(&self) -> WeakEmbedded {
        WeakEmbedded {
            core: Arc::downgrade(&self.core),
            proposals: self.proposals.downgrade(),
            config: self.config.clone(),
            lifecycle: Arc::downgrade(&self.lifecycle),
        }
    }

    /// Stops accepting writes, finishes those in flight and closes the log.
    pub async fn close(&self) {
        self.lifecycle.closed.store(true, Ordering::SeqCst);
        let _ = self.proposals.send(Proposal::shutdown()).await;
        let handle = self.lifecycle.writer.lock().take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
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
        let (done, result) = oneshot::channel();
        let proposal = Proposal::new(Command { op: Some(op) }, done);
        self.proposals
            .send(proposal)
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?;
        result
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?
    }

    /// etcd `Range`.
    pub fn range(&self, request: &RangeRequest) -> Result<RangeResponse, StoreError> {
        self.config.limits.check_size(request)?;
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
    /// without touching the log.
    pub async fn txn(&self, request: TxnRequest) -> Result<TxnResponse, StoreError> {
        self.config.limits.check_size(&request)?;
        validate::check_txn(&request, &self.config.limits)?;
        let response = if is_read_only(&request) {
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
    /// was revoked.
    pub fn lease_keep_alive(&self, id: i64) -> Result<i64, StoreError> {
        let state = self.core.state.read();
        let ttl = state
            .leases()
            .get(&id)
            .map(|l| l.ttl)
            .ok_or(StoreError::LeaseNotFound)?;
        self.core.lessor.lock().renew(id, ttl)?;
        Ok(ttl)
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

    /// This member, as `member list` shows it.
    pub fn member(&self) -> Member {
        Member {
            id: self.core.member_id,
            name: self.config.name.clone(),
            peer_ur_ls: Vec::new(),
            client_ur_ls: self.config.client_urls.clone(),
            is_learner: false,
        }
    }

    /// etcd `Status`: a single member that is its own leader.
    pub fn status(&self) -> StatusResponse {
        let revision = self.revision();
        let index = self.core.applied_index.load(Ordering::SeqCst);
        let size = self.core.disk_bytes.load(Ordering::SeqCst) as i64;
        StatusResponse {
            header: Some(self.core.header(revision)),
            version: ETCD_VERSION.into(),
            db_size: size,
            leader: self.core.member_id,
            raft_index: index,
            raft_term: 1,
            raft_applied_index: index,
            errors: Vec::new(),
            db_size_in_use: size,
            is_learner: false,
        }
    }
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
