//! The Raft log on disk: entries, truncations, purges and the committed
//! position, appended in order to segment files, with the vote beside them.
//!
//! Layout under `DIR/raft/`: `vote` (rewritten atomically) and `log/`, whose
//! segments are named by a sequence number. A record is `[len: u32 LE]
//! [crc32: u32 LE][payload]`, the payload a postcard-encoded [`Record`].
//! Replaying the records in order rebuilds the log: an entry at index `i`
//! (or a truncation at `i`) drops every entry from `i` on; a purge drops
//! every entry up to its index. A torn tail of the newest segment (a write
//! the crash interrupted, never acknowledged) is cut off on open; damage
//! anywhere else stops the open.
//!
//! All IO runs on one thread, in the order openraft asked for it. Appends
//! queued while the disk is busy share one `fdatasync` (group commit), and
//! openraft is told an entry is durable only after that sync. The entries
//! not yet purged are also kept in memory, for replication to read.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{
    AnyError, Entry, ErrorSubject, ErrorVerb, LogId, RaftLogReader, StorageError, StorageIOError,
    Vote,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::{NodeId, TypeConfig};

const HEADER: usize = 8;
/// A new segment starts once the current one passes this size.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
const VOTE_FILE: &str = "vote";

/// One change to the log, as written to disk.
#[derive(Debug, Serialize, Deserialize)]
enum Record {
    Entry(Entry<TypeConfig>),
    /// Entries from this index on are gone.
    Truncate(u64),
    /// Entries up to and including this log id are gone (a snapshot has them).
    Purge(LogId<NodeId>),
    Committed(Option<LogId<NodeId>>),
}

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogOpenError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path}: record {record} is corrupt ({reason}); the Raft log cannot be replayed past it"
    )]
    Corrupt {
        path: PathBuf,
        record: usize,
        reason: String,
    },
    #[error("cannot start the Raft log thread: {0}")]
    Thread(io::Error),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogOpenError + '_ {
    move |source| LogOpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the log holds, in memory; shared by the store and its readers.
#[derive(Debug, Default)]
struct Contents {
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<NodeId>>,
    committed: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
}

impl Contents {
    fn replay(&mut self, record: Record) {
        match record {
            Record::Entry(entry) => {
                let index = entry.log_id.index;
                self.entries.split_off(&index);
                self.entries.insert(index, entry);
            }
            Record::Truncate(index) => {
                self.entries.split_off(&index);
            }
            Record::Purge(log_id) => {
                self.purge(log_id);
            }
            Record::Committed(committed) => self.committed = committed,
        }
    }

    fn purge(&mut self, log_id: LogId<NodeId>) {
        self.entries = self.entries.split_off(&(log_id.index + 1));
        if self.last_purged.is_none_or(|p| p < log_id) {
            self.last_purged = Some(log_id);
        }
    }

    fn last_log_id(&self) -> Option<LogId<NodeId>> {
        self.entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(self.last_purged)
    }
}

/// Work for the IO thread, done in the order it was queued.
enum Job {
    /// Framed records to append; `sync` when they must be durable before
    /// `done` is answered.
    Write {
        framed: Vec<u8>,
        max_index: Option<u64>,
        sync: bool,
        done: Done,
    },
    Vote {
        vote: Vote<NodeId>,
        done: oneshot::Sender<io::Result<()>>,
    },
    /// Deletes the segments wholly below this index (after a purge record).
    DropSegmentsUpTo(u64),
    Stop,
}

enum Done {
    Nothing,
    Flushed(LogFlushed<TypeConfig>),
    Reply(oneshot::Sender<io::Result<()>>),
}

impl Done {
    fn complete(self, result: &io::Result<()>) {
        let copy = || match result {
            Ok(()) => Ok(()),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        match self {
            Done::Nothing => {}
            Done::Flushed(callback) => callback.log_io_completed(copy()),
            Done::Reply(tx) => {
                let _ = tx.send(copy());
            }
        }
    }
}

/// The durable Raft log (openraft's `RaftLogStorage`).
pub struct LogStore {
    contents: Arc<Mutex<Contents>>,
    jobs: std_mpsc::Sender<Job>,
    thread: Option<JoinHandle<()>>,
}

/// Reads entries for replication while the log goes on appending.
#[derive(Clone)]
pub struct LogReader {
    contents: Arc<Mutex<Contents>>,
}

impl LogStore {
    /// Opens (or creates) the log under `dir`, repairing a torn tail.
    pub fn open(dir: &Path) -> Result<Self, LogOpenError> {
        let log_dir = dir.join("log");
        fs::create_dir_all(&log_dir).map_err(io_err(&log_dir))?;
        let mut contents = Contents {
            vote: read_vote(dir)?,
            ..Contents::default()
        };
        let mut segments = Vec::new();
        let listed = list_segments(&log_dir)?;
        for (n, (seq, path)) in listed.iter().enumerate() {
            let newest = n + 1 == listed.len();
            let (records, valid_len) = read_segment(path, newest)?;
            let mut max_index = None;
            for record in records {
                if let Record::Entry(entry) = &record {
                    max_index = max_index.max(Some(entry.log_id.index));
                }
                contents.replay(record);
            }
            segments.push(Segment {
                seq: *seq,
                path: path.clone(),
                len: valid_len,
                max_index,
            });
        }
        let current = match segments.pop() {
            Some(segment) => segment,
            None => Segment {
                seq: 1,
                path: segment_path(&log_dir, 1),
                len: 0,
                max_index: None,
            },
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&current.path)
            .map_err(io_err(&current.path))?;
        file.set_len(current.len).map_err(io_err(&current.path))?;
        file.sync_all().map_err(io_err(&current.path))?;
        sync_dir(&log_dir).map_err(io_err(&log_dir))?;
        tracing::info!(
            dir = %dir.display(),
            entries = contents.entries.len(),
            last = ?contents.last_log_id(),
            committed = ?contents.committed,
            "raft log recovered"
        );

        let contents = Arc::new(Mutex::new(contents));
        let disk = Disk {
            dir: dir.to_path_buf(),
            log_dir,
            file,
            current,
            sealed: segments,
            contents: contents.clone(),
        };
        let (jobs, rx) = std_mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mars-raft-log".into())
            .spawn(move || disk.run(rx))
            .map_err(LogOpenError::Thread)?;
        Ok(Self {
            contents,
            jobs,
            thread: Some(thread),
        })
    }

    fn queue(&self, job: Job) -> Result<(), StorageError<NodeId>> {
        self.jobs
            .send(job)
            .map_err(|_| write_error("the Raft log thread has stopped"))
    }

    async fn write(&self, record: &Record, sync: bool) -> Result<(), StorageError<NodeId>> {
        let mut framed = Vec::new();
        frame(record, &mut framed).map_err(|e| write_error(&e))?;
        let (done, result) = oneshot::channel();
        self.queue(Job::Write {
            framed,
            max_index: None,
            sync,
            done: Done::Reply(done),
        })?;
        result
            .await
            .map_err(|_| write_error("the Raft log thread has stopped"))?
            .map_err(|e| StorageError::from_io_error(ErrorSubject::Logs, ErrorVerb::Write, e))
    }
}

impl Drop for LogStore {
    fn drop(&mut self) {
        let _ = self.jobs.send(Job::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_error(reason: impl ToString) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::error(reason)).into()
}

fn entries_in(contents: &Mutex<Contents>, range: impl RangeBounds<u64>) -> Vec<Entry<TypeConfig>> {
    let bounds = (range.start_bound().cloned(), range.end_bound().cloned());
    contents
        .lock()
        .entries
        .range(bounds)
        .map(|(_, e)| e.clone())
        .collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        Ok(entries_in(&self.contents, range))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        Ok(entries_in(&self.contents, range))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let contents = self.contents.lock();
        Ok(LogState {
            last_purged_log_id: contents.last_purged,
            last_log_id: contents.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        LogReader {
            contents: self.contents.clone(),
        }
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let (done, result) = oneshot::channel();
        self.queue(Job::Vote { vote: *vote, done })?;
        result
            .await
            .map_err(|_| write_error("the Raft log thread has stopped"))?
            .map_err(|e| StorageError::from_io_error(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.contents.lock().vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.contents.lock().vote)
    }

    /// Not synced on its own: it rides on the next append's sync. Losing it
    /// only means replaying a little less at start, until the leader says
    /// what is committed.
    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        let mut framed = Vec::new();
        frame(&Record::Committed(committed), &mut framed).map_err(|e| write_error(&e))?;
        self.queue(Job::Write {
            framed,
            max_index: None,
            sync: false,
            done: Done::Nothing,
        })?;
        self.contents.lock().committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.contents.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut framed = Vec::new();
        let mut max_index = None;
        {
            let mut contents = self.contents.lock();
            for entry in entries {
                let index = entry.log_id.index;
                let record = Record::Entry(entry);
                frame(&record, &mut framed).map_err(|e| write_error(&e))?;
                contents.replay(record);
                max_index = Some(index);
            }
        }
        self.queue(Job::Write {
            framed,
            max_index,
            sync: true,
            done: Done::Flushed(callback),
        })
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.contents.lock().replay(Record::Truncate(log_id.index));
        self.write(&Record::Truncate(log_id.index), true).await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.contents.lock().purge(log_id);
        self.write(&Record::Purge(log_id), false).await?;
        self.queue(Job::DropSegmentsUpTo(log_id.index))
    }
}

/// A segment file and the highest entry index written to it.
#[derive(Debug)]
struct Segment {
    seq: u64,
    path: PathBuf,
    len: u64,
    max_index: Option<u64>,
}

/// The IO thread's state.
struct Disk {
    dir: PathBuf,
    log_dir: PathBuf,
    file: File,
    current: Segment,
    /// Older segments, oldest first.
    sealed: Vec<Segment>,
    contents: Arc<Mutex<Contents>>,
}

impl Disk {
    fn run(mut self, rx: std_mpsc::Receiver<Job>) {
        let mut waiting: Vec<Done> = Vec::new();
        let mut buffer = Vec::new();
        let mut sync = false;
        'outer: while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Write {
                        framed,
                        max_index,
                        sync: needs_sync,
                        done,
                    } => {
                        buffer.extend_from_slice(&framed);
                        if max_index.is_some() {
                            self.current.max_index = self.current.max_index.max(max_index);
                        }
                        sync |= needs_sync;
                        waiting.push(done);
                    }
                    Job::Vote { vote, done } => {
                        // Whatever was queued before the vote is on disk first.
                        self.flush(&mut buffer, &mut sync, &mut waiting);
                        let _ = done.send(write_vote(&self.dir, &vote));
                    }
                    Job::DropSegmentsUpTo(index) => {
                        self.flush(&mut buffer, &mut sync, &mut waiting);
                        self.drop_segments(index);
                    }
                    Job::Stop => {
                        self.flush(&mut buffer, &mut sync, &mut waiting);
                        break 'outer;
                    }
                }
                next = rx.try_recv().ok();
            }
            self.flush(&mut buffer, &mut sync, &mut waiting);
        }
        tracing::debug!("raft log thread stopped");
    }

    fn flush(&mut self, buffer: &mut Vec<u8>, sync: &mut bool, waiting: &mut Vec<Done>) {
        if buffer.is_empty() && waiting.is_empty() {
            return;
        }
        let result = self.write_out(buffer, *sync);
        if let Err(e) = &result {
            tracing::error!(error = %e, "the Raft log cannot be written");
        }
        for done in waiting.drain(..) {
            done.complete(&result);
        }
        buffer.clear();
        *sync = false;
    }

    fn write_out(&mut self, buffer: &[u8], sync: bool) -> io::Result<()> {
        if !buffer.is_empty() {
            self.file.write_all(buffer)?;
            self.current.len += buffer.len() as u64;
        }
        if sync {
            self.file.sync_data()?;
        }
        if self.current.len >= SEGMENT_BYTES {
            self.rotate()?;
        }
        Ok(())
    }

    /// Starts a new segment that opens with the log's bounds, so no segment
    /// ever needs an older one to know what is purged or committed.
    fn rotate(&mut self) -> io::Result<()> {
        let seq = self.current.seq + 1;
        let path = segment_path(&self.log_dir, seq);
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        let (last_purged, committed) = {
            let contents = self.contents.lock();
            (contents.last_purged, contents.committed)
        };
        let mut opening = Vec::new();
        if let Some(purged) = last_purged {
            frame(&Record::Purge(purged), &mut opening)?;
        }
        frame(&Record::Committed(committed), &mut opening)?;
        file.write_all(&opening)?;
        file.sync_all()?;
        sync_dir(&self.log_dir)?;
        let sealed = std::mem::replace(
            &mut self.current,
            Segment {
                seq,
                path,
                len: opening.len() as u64,
                max_index: None,
            },
        );
        self.sealed.push(sealed);
        self.file = file;
        Ok(())
    }

    /// Deletes sealed segments whose every entry is purged. Best effort: a
    /// segment left behind costs disk space, not correctness.
    fn drop_segments(&mut self, purged: u64) {
        // A current segment whose every entry is purged is sealed first, so
        // a snapshot that covers the whole log returns all of its space.
        if self.current.max_index.is_some_and(|i| i <= purged)
            && let Err(e) = self.rotate()
        {
            tracing::warn!(error = %e, "cannot start a new Raft log segment");
        }
        let keep_from = self
            .sealed
            .iter()
            .position(|s| s.max_index.is_some_and(|i| i > purged))
            .unwrap_or(self.sealed.len());
        for segment in self.sealed.drain(..keep_from) {
            if let Err(e) = fs::remove_file(&segment.path) {
                tracing::warn!(path = %segment.path.display(), error = %e, "cannot delete a purged Raft log segment");
            }
        }
        let _ = sync_dir(&self.log_dir);
    }
}

/// Appends one framed record to `out`.
fn frame(record: &Record, out: &mut Vec<u8>) -> io::Result<()> {
    let payload =
        postcard::to_allocvec(record).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(())
}

fn segment_path(log_dir: &Path, seq: u64) -> PathBuf {
    log_dir.join(format!("{seq:020}.log"))
}

fn list_segments(log_dir: &Path) -> Result<Vec<(u64, PathBuf)>, LogOpenError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(log_dir).map_err(io_err(log_dir))? {
        let path = entry.map_err(io_err(log_dir))?.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            segments.push((seq, path));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Reads a segment's records. In the newest segment a bad record is a torn
/// write: reading stops there and the valid length is returned for truncation.
fn read_segment(path: &Path, newest: bool) -> Result<(Vec<Record>, u64), LogOpenError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut records = Vec::new();
    let mut valid = 0u64;
    let corrupt = |record: usize, reason: &str| LogOpenError::Corrupt {
        path: path.to_path_buf(),
        record,
        reason: reason.to_string(),
    };
    loop {
        let mut header = [0u8; HEADER];
        match read_full(&mut reader, &mut header).map_err(io_err(path))? {
            0 => break,
            n if n < HEADER => {
                if newest {
                    break;
                }
                return Err(corrupt(records.len(), "truncated header"));
            }
            _ => {}
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let mut payload = vec![0u8; len];
        let read = read_full(&mut reader, &mut payload).map_err(io_err(path))?;
        let decoded = if read < len {
            Err("truncated record".to_string())
        } else if crc32fast::hash(&payload) != crc {
            Err("checksum mismatch".to_string())
        } else {
            postcard::from_bytes::<Record>(&payload).map_err(|e| e.to_string())
        };
        match decoded {
            Ok(record) => {
                records.push(record);
                valid += (HEADER + len) as u64;
            }
            Err(_) if newest => break,
            Err(reason) => return Err(corrupt(records.len(), &reason)),
        }
    }
    Ok((records, valid))
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_vote(dir: &Path) -> Result<Option<Vote<NodeId>>, LogOpenError> {
    let path = dir.join(VOTE_FILE);
    match fs::read(&path) {
        Ok(bytes) => postcard::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| LogOpenError::Corrupt {
                path,
                record: 0,
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// Replaces the vote file atomically and durably.
fn write_vote(dir: &Path, vote: &Vote<NodeId>) -> io::Result<()> {
    let bytes =
        postcard::to_allocvec(vote).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let tmp = dir.join("vote.tmp");
    {
        let mut file = File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, dir.join(VOTE_FILE))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, LeaderId};

    use super::*;
    use crate::pb::marspb::Command;
    use crate::raft::wire::Logged;

    fn log_id(term: u64, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    fn entry(term: u64, index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: log_id(term, index),
            payload: EntryPayload::Normal(Logged(vec![Command::default()])),
        }
    }

    /// Writes records straight into a segment, as a crashed member left them.
    fn write_segment(dir: &Path, seq: u64, records: &[Record], garbage: &[u8]) {
        let log_dir = dir.join("log");
        fs::create_dir_all(&log_dir).expect("log dir");
        let mut bytes = Vec::new();
        for record in records {
            frame(record, &mut bytes).expect("frame");
        }
        bytes.extend_from_slice(garbage);
        fs::write(segment_path(&log_dir, seq), bytes).expect("segment");
    }

    async fn indexes(store: &mut LogStore) -> Vec<(u64, u64)> {
        store
            .try_get_log_entries(..)
            .await
            .expect("read")
            .iter()
            .map(|e| (e.log_id.leader_id.term, e.log_id.index))
            .collect()
    }

    #[tokio::test]
    async fn replay_applies_overwrites_truncations_and_purges_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_segment(
            dir.path(),
            1,
            &[
                Record::Entry(entry(1, 1)),
                Record::Entry(entry(1, 2)),
                Record::Entry(entry(1, 3)),
                Record::Entry(entry(1, 4)),
                // A new leader overwrote 3.. and then 4 was cut.
                Record::Entry(entry(2, 3)),
                Record::Entry(entry(2, 4)),
                Record::Truncate(4),
                Record::Committed(Some(log_id(2, 3))),
            ],
            &[],
        );
        write_segment(
            dir.path(),
            2,
            &[Record::Purge(log_id(1, 1)), Record::Entry(entry(2, 4))],
            &[],
        );
        let mut store = LogStore::open(dir.path()).expect("open");
        assert_eq!(indexes(&mut store).await, vec![(1, 2), (2, 3), (2, 4)]);
        let state = store.get_log_state().await.expect("state");
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1)));
        assert_eq!(state.last_log_id, Some(log_id(2, 4)));
        assert_eq!(
            store.read_committed().await.expect("committed"),
            Some(log_id(2, 3))
        );
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_off_and_appending_continues_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Half a header, as a crash in the middle of a write leaves it.
        write_segment(dir.path(), 1, &[Record::Entry(entry(1, 1))], &[7, 0, 0]);
        let mut store = LogStore::open(dir.path()).expect("open");
        assert_eq!(indexes(&mut store).await, vec![(1, 1)]);
        store.truncate(log_id(1, 1)).await.expect("truncate");
        drop(store);
        let mut store = LogStore::open(dir.path()).expect("reopen");
        assert_eq!(
            indexes(&mut store).await,
            vec![],
            "the truncation record follows the cut"
        );
    }

    #[tokio::test]
    async fn damage_before_the_tail_stops_the_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_segment(
            dir.path(),
            1,
            &[Record::Entry(entry(1, 1))],
            &[9, 9, 9, 9, 9, 9, 9, 9, 9],
        );
        write_segment(dir.path(), 2, &[Record::Entry(entry(1, 2))], &[]);
        let error = LogStore::open(dir.path()).err().expect("refused");
        assert!(error.to_string().contains("is corrupt"), "{error}");
    }

    #[tokio::test]
    async fn the_vote_and_purges_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_segment(
            dir.path(),
            1,
            &(1..=5)
                .map(|i| Record::Entry(entry(3, i)))
                .collect::<Vec<_>>(),
            &[],
        );
        let mut store = LogStore::open(dir.path()).expect("open");
        let vote = Vote {
            leader_id: LeaderId::new(3, 2),
            committed: true,
        };
        store.save_vote(&vote).await.expect("vote");
        store.purge(log_id(3, 2)).await.expect("purge");
        drop(store);
        let mut store = LogStore::open(dir.path()).expect("reopen");
        assert_eq!(store.read_vote().await.expect("vote"), Some(vote));
        assert_eq!(indexes(&mut store).await, vec![(3, 3), (3, 4), (3, 5)]);
    }

    #[tokio::test]
    async fn a_purge_deletes_the_segments_it_wholly_covers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entries = |range: std::ops::RangeInclusive<u64>| {
            range
                .map(|i| Record::Entry(entry(1, i)))
                .collect::<Vec<_>>()
        };
        write_segment(dir.path(), 1, &entries(1..=3), &[]);
        write_segment(dir.path(), 2, &entries(4..=6), &[]);
        write_segment(dir.path(), 3, &entries(7..=8), &[]);
        let mut store = LogStore::open(dir.path()).expect("open");
        store.purge(log_id(1, 5)).await.expect("purge");
        drop(store);
        let left: Vec<u64> = list_segments(&dir.path().join("log"))
            .expect("list")
            .into_iter()
            .map(|(seq, _)| seq)
            .collect();
        assert_eq!(left, vec![2, 3], "segment 2 still holds entry 6");
        let mut store = LogStore::open(dir.path()).expect("reopen");
        assert_eq!(indexes(&mut store).await, vec![(1, 6), (1, 7), (1, 8)]);
    }
}
