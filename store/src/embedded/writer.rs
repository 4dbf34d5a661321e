//! The single writer: group commit, then apply, then answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};

use super::Core;
use crate::StoreError;
use crate::mvcc::Response;
use crate::pb::etcdserverpb::ResponseHeader;
use crate::pb::marspb::{Command, command::Op};
use crate::wal::{self, Wal};

/// Most proposals, and bytes, committed by one `fdatasync`.
const MAX_BATCH: usize = 4096;
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

type Reply = oneshot::Sender<Result<Response, StoreError>>;

/// A command waiting to be logged, or (with no command) the signal to stop.
pub(crate) struct Proposal {
    command: Option<Command>,
    reply: Option<Reply>,
}

impl Proposal {
    pub(crate) fn new(command: Command, reply: Reply) -> Self {
        Self {
            command: Some(command),
            reply: Some(reply),
        }
    }

    pub(crate) fn shutdown() -> Self {
        Self {
            command: None,
            reply: None,
        }
    }
}

pub(crate) struct Writer {
    core: Arc<Core>,
    wal: Wal,
    dir: std::path::PathBuf,
    rx: mpsc::Receiver<Proposal>,
    snapshot_after_bytes: u64,
    bytes_since_snapshot: u64,
    /// A snapshot is due but one is still being written.
    snapshot_due: bool,
    /// The snapshot being written in the background, if any.
    snapshotting: Option<std::thread::JoinHandle<()>>,
    /// Set once the disk failed: the log's tail is unknown, so no further
    /// write may be acknowledged.
    failed: Option<String>,
}

impl Writer {
    pub(crate) fn new(
        core: Arc<Core>,
        wal: Wal,
        dir: std::path::PathBuf,
        rx: mpsc::Receiver<Proposal>,
        snapshot_after_bytes: u64,
    ) -> Self {
        Self {
            core,
            wal,
            dir,
            rx,
            snapshot_after_bytes,
            bytes_since_snapshot: 0,
            snapshot_due: false,
            snapshotting: None,
            failed: None,
        }
    }

    /// Runs until a shutdown proposal arrives or every handle is dropped.
    pub(crate) fn run(mut self) {
        let mut batch: Vec<(Command, Reply)> = Vec::new();
        let mut framed = Vec::new();
        let mut stopping = false;
        while !stopping {
            let Some(first) = self.rx.blocking_recv() else {
                break;
            };
            let mut next = Some(first);
            while let Some(proposal) = next.take() {
                match (proposal.command, proposal.reply) {
                    (Some(command), Some(reply)) => {
                        Wal::frame(&command, &mut framed);
                        batch.push((command, reply));
                    }
                    _ => {
                        stopping = true;
                        break;
                    }
                }
                if batch.len() < MAX_BATCH && framed.len() < MAX_BATCH_BYTES {
                    next = self.rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(&mut batch, &framed);
            }
            framed.clear();
        }
        if let Some(snapshot) = self.snapshotting.take() {
            let _ = snapshot.join();
        }
        tracing::info!("store writer stopped");
    }

    #[tracing::instrument(level = "debug", name = "commit", skip_all, fields(commands = batch.len(), bytes = framed.len()))]
    fn commit(&mut self, batch: &mut Vec<(Command, Reply)>, framed: &[u8]) {
        if let Some(reason) = &self.failed {
            for (_, reply) in batch.drain(..) {
                let _ = reply.send(Err(StoreError::Unavailable(reason.clone())));
            }
            return;
        }
        let started = std::time::Instant::now();
        let last_index = match self.wal.append(framed, batch.len() as u64) {
            Ok(index) => {
                tracing::debug!(index, synced_in = ?started.elapsed(), "logged");
                index
            }
            Err(e) => {
                tracing::error!(error = %e, "write-ahead log failed; refusing further writes");
                let reason = format!("write-ahead log failed: {e}");
                self.failed = Some(reason.clone());
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Unavailable(reason.clone())));
                }
                return;
            }
        };

        let mut replies = Vec::with_capacity(batch.len());
        let mut compacted = false;
        {
            let mut state = self.core.state.write();
            let mut hub = self.core.hub.lock();
            let mut lessor = self.core.lessor.lock();
            for (command, reply) in batch.drain(..) {
                let applied = state.apply(&command);
                let revision = state.revision();
                hub.publish(&applied.events, revision);
                match (&command.op, &applied.response) {
                    (Some(Op::LeaseGrant(_)), Ok(Response::LeaseGrant(granted))) => {
                        lessor.granted(granted.id, granted.ttl);
                    }
                    (Some(Op::LeaseRevoke(revoke)), _) => lessor.forget(revoke.id),
                    (Some(Op::Compaction(_)), Ok(_)) => compacted = true,
                    _ => {}
                }
                let header = self.core.header(revision);
                replies.push((reply, applied.response.map(|r| stamp(r, header))));
            }
            self.core.applied_index.store(last_index, Ordering::SeqCst);
        }
        for (reply, response) in replies {
            let _ = reply.send(response);
        }

        self.bytes_since_snapshot += framed.len() as u64;
        self.core
            .disk_bytes
            .fetch_add(framed.len() as u64, Ordering::SeqCst);
        if compacted || self.snapshot_due || self.bytes_since_snapshot >= self.snapshot_after_bytes
        {
            self.snapshot(last_index);
        }
    }

    /// Starts a snapshot at `applied_index` (one at a time) and drops the log
    /// segments it covers. The state is cloned here, cheaply (values are
    /// shared); encoding and writing happen on another thread so writes go
    /// on. A failure only costs disk space: the log still holds everything.
    fn snapshot(&mut self, applied_index: u64) {
        if self.snapshotting.as_ref().is_some_and(|s| !s.is_finished()) {
            self.snapshot_due = true;
            return;
        }
        if let Some(done) = self.snapshotting.take() {
            let _ = done.join();
        }
        let job = match self.wal.begin_snapshot() {
            Ok(job) => job,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a snapshot; the log keeps growing");
                return;
            }
        };
        let snapshot = self.core.state.read().to_snapshot(applied_index);
        self.snapshot_due = false;
        self.bytes_since_snapshot = 0;
        let core = self.core.clone();
        let dir = self.dir.clone();
        let write = move || {
            let _span = tracing::info_span!("snapshot", applied_index).entered();
            match job.write(&snapshot) {
                Ok(()) => {
                    core.disk_bytes
                        .store(wal::disk_bytes(&dir), Ordering::SeqCst);
                    tracing::debug!("snapshot saved");
                }
                Err(e) => tracing::warn!(error = %e, "snapshot failed; the log keeps growing"),
            }
        };
        let spawned = std::thread::Builder::new()
            .name("mars-store-snapshot".into())
            .spawn(write);
        match spawned {
            Ok(handle) => self.snapshotting = Some(handle),
            Err(e) => tracing::warn!(error = %e, "cannot start the snapshot thread"),
        }
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
