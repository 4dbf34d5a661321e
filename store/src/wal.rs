//! The write-ahead log: every state-changing command, in order, on disk
//! before it is applied or acknowledged.
//!
//! Layout under `DIR/wal/`: segment files named by the index of their first
//! record. A record is `[len: u32 LE][crc32: u32 LE][payload]`. A torn or
//! corrupt tail of the newest segment (a write the crash interrupted, never
//! acknowledged) is cut off on open; damage anywhere else stops the open.
//! `DIR/snapshot` holds the engine state up to some index; segments wholly
//! covered by it are deleted, which is how compaction returns disk space.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use prost::Message;

use crate::pb::marspb::{Command, Snapshot};

const HEADER: usize = 8;
const SNAPSHOT_FILE: &str = "snapshot";
const SNAPSHOT_MAGIC: &[u8; 8] = b"MARSSNP1";
/// A new segment starts once the current one passes this size.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: record {index} is corrupt ({reason}); the log cannot be replayed past it")]
    Corrupt {
        path: PathBuf,
        index: u64,
        reason: String,
    },
    #[error("{path}: snapshot is corrupt ({reason})")]
    CorruptSnapshot { path: PathBuf, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What was on disk at open: the snapshot, and the commands logged after it.
#[derive(Debug, Default)]
pub struct Recovered {
    pub snapshot: Option<Snapshot>,
    /// `(index, command)` for every record newer than the snapshot.
    pub commands: Vec<(u64, Command)>,
}

/// An open log, positioned to append.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    wal_dir: PathBuf,
    file: File,
    segment_start: u64,
    segment_len: u64,
    /// Index the next appended record gets.
    next_index: u64,
}

impl Wal {
    /// Opens (or creates) the log in `dir`, repairing a torn tail, and returns
    /// what must be replayed.
    pub fn open(dir: &Path) -> Result<(Self, Recovered), WalError> {
        let wal_dir = dir.join("wal");
        fs::create_dir_all(&wal_dir).map_err(io_err(&wal_dir))?;
        let snapshot = read_snapshot(dir)?;
        let snapshot_index = snapshot.as_ref().map_or(0, |s| s.applied_index);

        let segments = list_segments(&wal_dir)?;
        let mut commands = Vec::new();
        let mut next_index = snapshot_index + 1;
        // The newest segment: path, first index, record count, valid bytes.
        let mut tail: Option<(PathBuf, u64, u64, u64)> = None;
        for (n, (start, path)) in segments.iter().enumerate() {
            let newest = n + 1 == segments.len();
            let (records, valid_len) = read_segment(path, *start, newest)?;
            let mut index = *start;
            for command in records {
                if index > snapshot_index {
                    if index != next_index {
                        return Err(WalError::Corrupt {
                            path: path.clone(),
                            index,
                            reason: format!(
                                "expected record {next_index}, found {index}: a segment is missing"
                            ),
                        });
                    }
                    commands.push((index, command));
                    next_index = index + 1;
                }
                index += 1;
            }
            if newest {
                tail = Some((path.clone(), *start, index - *start, valid_len));
            }
        }

        let (path, segment_start, segment_len) = match tail {
            // Keep appending to the newest segment only when its next record
            // is the next one due; otherwise (all of it covered by the
            // snapshot) start a new segment.
            Some((path, start, count, len)) if start + count == next_index => (path, start, len),
            _ => (segment_path(&wal_dir, next_index), next_index, 0),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.set_len(segment_len).map_err(io_err(&path))?;
        file.sync_all().map_err(io_err(&path))?;
        sync_dir(&wal_dir)?;
        let wal = Wal {
            dir: dir.to_path_buf(),
            wal_dir,
            file,
            segment_start,
            segment_len,
            next_index,
        };
        Ok((wal, Recovered { snapshot, commands }))
    }

    /// Index the next appended record gets.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Frames one command for [`Wal::append`].
    pub fn frame(command: &Command, out: &mut Vec<u8>) {
        let payload = command.encode_to_vec();
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
    }

    /// Appends already-framed records and makes them durable with one
    /// `fdatasync`: the group commit. Returns the index of the last record.
    pub fn append(&mut self, framed: &[u8], records: u64) -> Result<u64, WalError> {
        if self.segment_len >= SEGMENT_BYTES {
            self.rotate()?;
        }
        let path = segment_path(&self.wal_dir, self.segment_start);
        self.file.write_all(framed).map_err(io_err(&path))?;
        self.file.sync_data().map_err(io_err(&path))?;
        self.segment_len += framed.len() as u64;
        self.next_index += records;
        Ok(self.next_index - 1)
    }

    fn rotate(&mut self) -> Result<(), WalError> {
        let path = segment_path(&self.wal_dir, self.next_index);
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        sync_dir(&self.wal_dir)?;
        self.segment_start = self.next_index;
        self.segment_len = 0;
        Ok(())
    }

    /// Starts a snapshot that covers every record appended so far: seals
    /// the current segment so that all older ones are wholly covered. The
    /// returned job writes the snapshot on any thread while appends go on.
    pub fn begin_snapshot(&mut self) -> Result<SnapshotJob, WalError> {
        if self.segment_len > 0 {
            self.rotate()?;
        }
        Ok(SnapshotJob {
            dir: self.dir.clone(),
            wal_dir: self.wal_dir.clone(),
            sealed_before: self.segment_start,
        })
    }

    /// Writes a snapshot of everything appended so far, in place.
    pub fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), WalError> {
        self.begin_snapshot()?.write(snapshot)
    }

    /// Bytes on disk: snapshot plus log segments (etcd's "db size").
    pub fn disk_bytes(&self) -> u64 {
        disk_bytes(&self.dir)
    }
}

/// A snapshot to be written, from [`Wal::begin_snapshot`]. Every step is
/// crash-safe: until the rename the old snapshot and all segments stand; after
/// it, the segments it covers are merely garbage.
#[derive(Debug)]
pub struct SnapshotJob {
    dir: PathBuf,
    wal_dir: PathBuf,
    /// Segments starting below this index were sealed when the job began.
    sealed_before: u64,
}

impl SnapshotJob {
    /// Durably replaces the snapshot, then deletes the segments it covers.
    /// `snapshot` must include every record appended before the job began.
    pub fn write(self, snapshot: &Snapshot) -> Result<(), WalError> {
        let payload = snapshot.encode_to_vec();
        let tmp = self.dir.join("snapshot.tmp");
        let mut out = Vec::with_capacity(payload.len() + 16);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        {
            let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
            file.write_all(&out).map_err(io_err(&tmp))?;
            file.sync_all().map_err(io_err(&tmp))?;
        }
        let target = self.dir.join(SNAPSHOT_FILE);
        fs::rename(&tmp, &target).map_err(io_err(&target))?;
        sync_dir(&self.dir)?;

        for (start, path) in list_segments(&self.wal_dir)? {
            if start < self.sealed_before && start <= snapshot.applied_index {
                fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        sync_dir(&self.wal_dir)
    }
}

/// Bytes the store occupies in `dir`: snapshot plus log segments.
pub fn disk_bytes(dir: &Path) -> u64 {
    let snapshot = fs::metadata(dir.join(SNAPSHOT_FILE)).map_or(0, |m| m.len());
    let segments: u64 = list_segments(&dir.join("wal"))
        .unwrap_or_default()
        .iter()
        .filter_map(|(_, p)| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    snapshot + segments
}

fn segment_path(wal_dir: &Path, start: u64) -> PathBuf {
    wal_dir.join(format!("{start:020}.log"))
}

fn list_segments(wal_dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(wal_dir).map_err(io_err(wal_dir))? {
        let path = entry.map_err(io_err(wal_dir))?.path();
        let start = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(start) = start {
            segments.push((start, path));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Reads a segment's records. In the newest segment a bad record is a torn
/// write: reading stops there and the valid length is returned for truncation.
fn read_segment(path: &Path, start: u64, newest: bool) -> Result<(Vec<Command>, u64), WalError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut records = Vec::new();
    let mut valid = 0u64;
    loop {
        let index = start + records.len() as u64;
        let mut header = [0u8; HEADER];
        match read_full(&mut reader, &mut header).map_err(io_err(path))? {
            0 => break,
            n if n < HEADER => {
                if newest {
                    break;
                }
                return Err(corrupt(path, index, "truncated header"));
            }
            _ => {}
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let mut payload = vec![0u8; len];
        let read = read_full(&mut reader, &mut payload).map_err(io_err(path))?;
        let problem = if read < len {
            Some("truncated record")
        } else if crc32fast::hash(&payload) != crc {
            Some("checksum mismatch")
        } else {
            None
        };
        let decoded = match problem {
            Some(reason) => Err(reason.to_string()),
            None => Command::decode(payload.as_slice()).map_err(|e| e.to_string()),
        };
        match decoded {
            Ok(command) => {
                records.push(command);
                valid += (HEADER + len) as u64;
            }
            Err(_) if newest => break,
            Err(reason) => return Err(corrupt(path, index, &reason)),
        }
    }
    Ok((records, valid))
}

fn corrupt(path: &Path, index: u64, reason: &str) -> WalError {
    WalError::Corrupt {
        path: path.to_path_buf(),
        index,
        reason: reason.to_string(),
    }
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

fn read_snapshot(dir: &Path) -> Result<Option<Snapshot>, WalError> {
    let path = dir.join(SNAPSHOT_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let bad = |reason: &str| WalError::CorruptSnapshot {
        path: path.clone(),
        reason: reason.to_string(),
    };
    if bytes.len() < 12 || &bytes[..8] != SNAPSHOT_MAGIC {
        return Err(bad("bad header"));
    }
    let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let payload = &bytes[12..];
    if crc32fast::hash(payload) != crc {
        return Err(bad("checksum mismatch"));
    }
    Snapshot::decode(payload)
        .map(Some)
        .map_err(|e| bad(&e.to_string()))
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}
