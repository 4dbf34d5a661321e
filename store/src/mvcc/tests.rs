//! Unit tests of the engine's rules, without IO.

use bytes::Bytes;

use super::*;
use crate::pb::etcdserverpb::{DeleteRangeRequest, PutRequest, RangeRequest};

fn put(mvcc: &mut Mvcc, key: &str, value: &str) -> Applied {
    mvcc.apply(&Command {
        op: Some(Op::Put(PutRequest {
            key: Bytes::copy_from_slice(key.as_bytes()),
            value: Bytes::copy_from_slice(value.as_bytes()),
            ..PutRequest::default()
        })),
    })
}

fn get_at(mvcc: &Mvcc, key: &str, revision: i64) -> Result<Option<KeyValue>, StoreError> {
    mvcc.range(&RangeRequest {
        key: Bytes::copy_from_slice(key.as_bytes()),
        revision,
        ..RangeRequest::default()
    })
    .map(|r| r.kvs.into_iter().next())
}

#[test]
fn revisions_versions_and_generations() {
    let mut mvcc = Mvcc::new();
    put(&mut mvcc, "a", "1");
    put(&mut mvcc, "a", "2");
    let kv = get_at(&mvcc, "a", 0).unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 3, 2));

    mvcc.apply(&Command {
        op: Some(Op::DeleteRange(DeleteRangeRequest {
            key: Bytes::from_static(b"a"),
            ..DeleteRangeRequest::default()
        })),
    });
    assert_eq!(mvcc.revision(), 4);
    assert_eq!(get_at(&mvcc, "a", 0).unwrap(), None);
    put(&mut mvcc, "a", "3");
    let kv = get_at(&mvcc, "a", 0).unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (5, 5, 1));
    assert_eq!(get_at(&mvcc, "a", 2).unwrap().unwrap().value, "1");
}

#[test]
fn compaction_keeps_what_reads_at_the_compacted_revision_see() {
    let mut mvcc = Mvcc::new();
    put(&mut mvcc, "a", "1"); // 2
    put(&mut mvcc, "a", "2"); // 3
    put(&mut mvcc, "b", "1"); // 4
    let compact = |mvcc: &mut Mvcc, revision| {
        mvcc.apply(&Command {
            op: Some(Op::Compaction(CompactionRequest {
                revision,
                physical: false,
            })),
        })
        .response
    };
    assert!(compact(&mut mvcc, 3).is_ok());
    assert_eq!(
        get_at(&mvcc, "a", 2),
        Err(StoreError::Compacted {
            compact_revision: 3
        })
    );
    assert_eq!(get_at(&mvcc, "a", 3).unwrap().unwrap().value, "2");
    assert_eq!(mvcc.retained_revisions(), 2);
    assert_eq!(
        compact(&mut mvcc, 3),
        Err(StoreError::Compacted {
            compact_revision: 3
        })
    );
    assert_eq!(compact(&mut mvcc, 99), Err(StoreError::FutureRevision));
}
