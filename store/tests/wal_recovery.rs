//! The write-ahead log under damage: torn tails are cut, corruption in the
//! middle stops recovery, snapshots cover and drop old segments.

#![allow(clippy::unwrap_used)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use mars_store::mvcc::Mvcc;
use mars_store::pb::etcdserverpb::PutRequest;
use mars_store::pb::marspb::{Command, command::Op};
use mars_store::wal::{Wal, WalError};

fn put(i: u32) -> Command {
    Command {
        op: Some(Op::Put(PutRequest {
            key: Bytes::from(format!("key/{i}")),
            value: Bytes::from(format!("value {i}")),
            ..PutRequest::default()
        })),
    }
}

fn append(wal: &mut Wal, range: std::ops::Range<u32>) {
    let mut framed = Vec::new();
    let count = range.len() as u64;
    for i in range {
        Wal::frame(&put(i), &mut framed);
    }
    wal.append(&framed, count).unwrap();
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    segments
}

fn newest_segment(dir: &Path) -> PathBuf {
    segments(dir).pop().unwrap()
}

#[test]
fn reopen_replays_every_record_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, recovered) = Wal::open(dir.path()).unwrap();
    assert!(recovered.commands.is_empty());
    append(&mut wal, 0..10);
    append(&mut wal, 10..25);
    drop(wal);
    let (wal, recovered) = Wal::open(dir.path()).unwrap();
    let indexes: Vec<u64> = recovered.commands.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, (1..=25).collect::<Vec<_>>());
    assert_eq!(recovered.commands[24].1, put(24));
    assert_eq!(wal.next_index(), 26);
}

#[test]
fn a_torn_tail_is_cut_off_and_appending_continues() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path()).unwrap();
    append(&mut wal, 0..5);
    drop(wal);
    // Half a record, as a crash in the middle of a write leaves it.
    let mut framed = Vec::new();
    Wal::frame(&put(99), &mut framed);
    let mut file = OpenOptions::new()
        .append(true)
        .open(newest_segment(dir.path()))
        .unwrap();
    file.write_all(&framed[..framed.len() / 2]).unwrap();
    drop(file);

    let (mut wal, recovered) = Wal::open(dir.path()).unwrap();
    assert_eq!(recovered.commands.len(), 5);
    append(&mut wal, 5..7);
    drop(wal);
    let (_, recovered) = Wal::open(dir.path()).unwrap();
    assert_eq!(recovered.commands.len(), 7);
    assert_eq!(recovered.commands[6].1, put(6));
}

#[test]
fn a_flipped_bit_in_the_tail_record_is_treated_as_torn() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path()).unwrap();
    append(&mut wal, 0..3);
    drop(wal);
    let path = newest_segment(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let (_, recovered) = Wal::open(dir.path()).unwrap();
    assert_eq!(recovered.commands.len(), 2);
}

#[test]
fn corruption_before_the_newest_segment_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path()).unwrap();
    append(&mut wal, 0..4);
    let first = newest_segment(dir.path());
    let saved = std::fs::read(&first).unwrap();
    // The snapshot rotates to a new segment and deletes the first one; put
    // it back with a damaged record: a log that is not the newest segment
    // and does not read cleanly must stop recovery, not be skipped.
    let mut mvcc = Mvcc::new();
    for i in 0..2 {
        mvcc.apply(&put(i));
    }
    wal.save_snapshot(&mvcc.to_snapshot(2)).unwrap();
    append(&mut wal, 4..6);
    drop(wal);
    let mut damaged = saved;
    damaged[12] ^= 0xff;
    std::fs::write(&first, damaged).unwrap();
    match Wal::open(dir.path()) {
        Err(WalError::Corrupt { index, .. }) => assert_eq!(index, 1),
        other => panic!("expected corruption to stop the open, got {other:?}"),
    }
}

#[test]
fn a_snapshot_drops_covered_segments_and_recovery_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path()).unwrap();
    append(&mut wal, 0..10);
    let mut mvcc = Mvcc::new();
    for i in 0..10 {
        mvcc.apply(&put(i));
    }
    wal.save_snapshot(&mvcc.to_snapshot(10)).unwrap();
    append(&mut wal, 10..12);
    drop(wal);
    assert_eq!(
        segments(dir.path()).len(),
        1,
        "the covered segment was deleted"
    );

    let (_, recovered) = Wal::open(dir.path()).unwrap();
    let snapshot = recovered.snapshot.unwrap();
    assert_eq!(snapshot.applied_index, 10);
    assert_eq!(Mvcc::from_snapshot(snapshot), mvcc);
    let indexes: Vec<u64> = recovered.commands.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [11, 12]);
}
