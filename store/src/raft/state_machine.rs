//! The MVCC engine as openraft's state machine: committed entries are
//! applied to it in log order, their events published to watchers, and its
//! snapshots are what a new or lagging member installs.
//!
//! The engine lives in memory; what makes it durable is the Raft log plus
//! the latest snapshot (`DIR/raft/snapshot`): on start the snapshot is
//! loaded and openraft re-applies the committed entries after it.

use std::fs::{self, File};
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, BasicNode, Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use prost::Message;

use super::wire::{Answer, Logged};
use super::{NodeId, TypeConfig};
use crate::embedded::Core;
use crate::mvcc::{Mvcc, Response};
use crate::pb::etcdserverpb::ResponseHeader;
use crate::pb::marspb::{self, command::Op};

const SNAPSHOT_FILE: &str = "snapshot";
const SNAPSHOT_MAGIC: &[u8; 8] = b"MARSSNP2";

type Meta = SnapshotMeta<NodeId, BasicNode>;

/// A snapshot on disk: the engine state and the Raft position it covers.
pub(crate) struct Loaded {
    pub(crate) state: Mvcc,
    pub(crate) meta: Meta,
}

/// Why the snapshot file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: snapshot is unreadable ({reason})")]
pub struct SnapshotError {
    path: PathBuf,
    reason: String,
}

/// The snapshot file: `MAGIC`, crc32 of the rest, the postcard-encoded
/// `SnapshotMeta` (length-prefixed), then the engine's snapshot record,
/// which is also exactly what is sent to a member that needs it.
struct SnapshotFile {
    meta: Meta,
    payload: Vec<u8>,
}

impl SnapshotFile {
    fn read(dir: &Path) -> Result<Option<Self>, SnapshotError> {
        let path = dir.join(SNAPSHOT_FILE);
        let bad = |reason: String| SnapshotError {
            path: path.clone(),
            reason,
        };
        let mut bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(e.to_string())),
        };
        if bytes.len() < 16 || &bytes[..8] != SNAPSHOT_MAGIC {
            return Err(bad("bad header".into()));
        }
        let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if crc32fast::hash(&bytes[12..]) != crc {
            return Err(bad("checksum mismatch".into()));
        }
        let meta_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        let meta_end = 16usize.saturating_add(meta_len);
        let meta = bytes
            .get(16..meta_end)
            .ok_or_else(|| bad("truncated metadata".into()))
            .and_then(|m| postcard::from_bytes(m).map_err(|e| bad(e.to_string())))?;
        let payload = bytes.split_off(meta_end);
        Ok(Some(Self { meta, payload }))
    }

    /// Durably replaces the snapshot file.
    fn write(&self, dir: &Path) -> io::Result<()> {
        let meta = postcard::to_allocvec(&self.meta)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&(meta.len() as u32).to_le_bytes());
        hasher.update(&meta);
        hasher.update(&self.payload);
        let tmp = dir.join("snapshot.tmp");
        {
            let mut file = io::BufWriter::new(File::create(&tmp)?);
            file.write_all(SNAPSHOT_MAGIC)?;
            file.write_all(&hasher.finalize().to_le_bytes())?;
            file.write_all(&(meta.len() as u32).to_le_bytes())?;
            file.write_all(&meta)?;
            file.write_all(&self.payload)?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        fs::rename(&tmp, dir.join(SNAPSHOT_FILE))?;
        File::open(dir).and_then(|d| d.sync_all())
    }
}

/// Reads `DIR/snapshot`, if there is one, and rebuilds the engine from it.
pub(crate) fn load_snapshot(dir: &Path) -> Result<Option<Loaded>, SnapshotError> {
    let Some(file) = SnapshotFile::read(dir)? else {
        return Ok(None);
    };
    let state = decode(&file.payload).map_err(|reason| SnapshotError {
        path: dir.join(SNAPSHOT_FILE),
        reason,
    })?;
    Ok(Some(Loaded {
        state,
        meta: file.meta,
    }))
}

fn decode(payload: &[u8]) -> Result<Mvcc, String> {
    marspb::Snapshot::decode(payload)
        .map(Mvcc::from_snapshot)
        .map_err(|e| e.to_string())
}

/// Writes `file` on a blocking thread.
async fn persist(dir: &Path, file: SnapshotFile) -> Result<SnapshotFile, StorageError<NodeId>> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || file.write(&dir).map(|()| file))
        .await
        .map_err(|e| StorageIOError::write_snapshot(None, AnyError::error(e)))?
        .map_err(|e| StorageIOError::write_snapshot(None, AnyError::new(&e)).into())
}

/// The state machine openraft drives.
pub struct StateMachine {
    core: Arc<Core>,
    dir: PathBuf,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
}

impl StateMachine {
    /// A state machine over `core`, whose engine was loaded from the
    /// snapshot `meta` describes (none: an empty store).
    pub(crate) fn new(core: Arc<Core>, dir: PathBuf, meta: Option<&Meta>) -> Self {
        Self {
            core,
            dir,
            last_applied: meta.and_then(|m| m.last_log_id),
            membership: meta.map(|m| m.last_membership.clone()).unwrap_or_default(),
        }
    }
}

/// Builds a snapshot from a copy of the state taken between two applies.
pub struct SnapshotBuilder {
    state: marspb::Snapshot,
    meta: Meta,
    dir: PathBuf,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    #[tracing::instrument(level = "info", name = "raft_snapshot", skip_all, fields(last = ?self.meta.last_log_id))]
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let file = SnapshotFile {
            meta: self.meta.clone(),
            payload: std::mem::take(&mut self.state).encode_to_vec(),
        };
        let file = persist(&self.dir, file).await?;
        Ok(Snapshot {
            meta: file.meta,
            snapshot: Box::new(Cursor::new(file.payload)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Answer>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut answers = Vec::new();
        let mut state = self.core.state.write();
        let mut hub = self.core.hub.lock();
        let mut lessor = self.core.lessor.lock();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let commands = match entry.payload {
                EntryPayload::Normal(Logged(commands)) => commands,
                EntryPayload::Blank => Vec::new(),
                EntryPayload::Membership(membership) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), membership);
                    Vec::new()
                }
            };
            let mut results = Vec::with_capacity(commands.len());
            for command in commands {
                let applied = state.apply(&command);
                let revision = state.revision();
                hub.publish(&applied.events, revision);
                match (&command.op, &applied.response) {
                    (Some(Op::LeaseGrant(_)), Ok(Response::LeaseGrant(granted))) => {
                        lessor.granted(granted.id, granted.ttl);
                    }
                    (Some(Op::LeaseRevoke(revoke)), _) => lessor.forget(revoke.id),
                    (Some(Op::Compaction(_)), Ok(_)) => self.core.compacted.notify_one(),
                    _ => {}
                }
                let header = ResponseHeader {
                    raft_term: entry.log_id.leader_id.term,
                    ..self.core.header(revision)
                };
                results.push(applied.response.map(|r| stamp(r, header)));
            }
            answers.push(Answer(results));
        }
        if let Some(last) = self.last_applied {
            self.core.term.store(last.leader_id.term, Ordering::Relaxed);
        }
        Ok(answers)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let index = self.last_applied.map_or(0, |l| l.index);
        let meta = Meta {
            last_log_id: self.last_applied,
            last_membership: self.membership.clone(),
            snapshot_id: format!("{}-{index}", self.core.member_id),
        };
        SnapshotBuilder {
            state: self.core.state.read().to_snapshot(index),
            meta,
            dir: self.dir.clone(),
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    #[tracing::instrument(level = "info", name = "raft_install_snapshot", skip_all, fields(last = ?meta.last_log_id))]
    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let payload = snapshot.into_inner();
        let installed = decode(&payload)
            .map_err(|e| StorageIOError::read_snapshot(None, AnyError::error(e)))?;
        let file = SnapshotFile {
            meta: meta.clone(),
            payload,
        };
        persist(&self.dir, file).await?;
        {
            let mut state = self.core.state.write();
            let before = state.revision();
            *state = installed;
            self.core.lessor.lock().refresh_all(state.leases());
            self.core.hub.lock().catch_up(&state, before);
        }
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let dir = self.dir.clone();
        let file = tokio::task::spawn_blocking(move || SnapshotFile::read(&dir))
            .await
            .map_err(|e| StorageIOError::read_snapshot(None, AnyError::error(e)))?
            .map_err(|e| StorageIOError::read_snapshot(None, AnyError::new(&e)))?;
        Ok(file.map(|file| Snapshot {
            meta: file.meta,
            snapshot: Box::new(Cursor::new(file.payload)),
        }))
    }
}

/// Stamps the top-level header of a write's response.
fn stamp(response: Response, header: ResponseHeader) -> Response {
    match response {
        Response::Put(mut r) => {
            r.header = Some(header);
            Response::Put(r)
        }
        Response::DeleteRange(mut r) => {
            r.header = Some(header);
            Response::DeleteRange(r)
        }
        Response::Txn(mut r) => {
            r.header = Some(header);
            Response::Txn(r)
        }
        Response::LeaseGrant(mut r) => {
            r.header = Some(header);
            Response::LeaseGrant(r)
        }
        other => other,
    }
}
