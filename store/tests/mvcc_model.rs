//! Property tests: the MVCC engine against a model that simply keeps a full
//! copy of the keyspace for every revision.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use bytes::Bytes;
use mars_store::StoreError;
use mars_store::mvcc::{KeyRange, Mvcc};
use mars_store::pb::etcdserverpb::{
    CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
    request_op::Request,
};
use mars_store::pb::marspb::{Command, command::Op};
use mars_store::pb::mvccpb::event::EventType;
use proptest::prelude::*;

/// A key's state in the model.
#[derive(Debug, Clone, PartialEq)]
struct ModelKv {
    value: String,
    create: i64,
    modified: i64,
    version: i64,
}

type Keyspace = BTreeMap<String, ModelKv>;

#[derive(Debug, Clone)]
enum Step {
    Put(u8, u8),
    Delete(u8),
    DeletePrefix(u8),
    /// Two puts in one transaction (skipped when the keys coincide).
    TxnPut(u8, u8, u8),
    /// Compact to a revision chosen as a fraction of the current one.
    Compact(u8),
    /// Read everything at a revision chosen as a fraction of the current one.
    Read(u8),
}

fn key_of(k: u8) -> String {
    format!("k{}/{}", k % 3, k % 7)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Step::Put(k, v)),
        2 => any::<u8>().prop_map(Step::Delete),
        1 => any::<u8>().prop_map(Step::DeletePrefix),
        2 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, v)| Step::TxnPut(a, b, v)),
        1 => any::<u8>().prop_map(Step::Compact),
        3 => any::<u8>().prop_map(Step::Read),
    ]
}

fn put_op(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: Bytes::copy_from_slice(value.as_bytes()),
        ..PutRequest::default()
    }
}

fn model_put(space: &mut Keyspace, key: &str, value: &str, revision: i64) {
    let next = match space.get(key) {
        Some(kv) => ModelKv {
            value: value.into(),
            create: kv.create,
            modified: revision,
            version: kv.version + 1,
        },
        None => ModelKv {
            value: value.into(),
            create: revision,
            modified: revision,
            version: 1,
        },
    };
    space.insert(key.into(), next);
}

/// Everything the engine holds at `revision`, as the model represents it.
fn engine_at(mvcc: &Mvcc, revision: i64) -> Result<Keyspace, StoreError> {
    let response = mvcc.range(&RangeRequest {
        key: Bytes::from_static(&[0]),
        range_end: Bytes::from_static(&[0]),
        revision,
        ..RangeRequest::default()
    })?;
    assert_eq!(response.count as usize, response.kvs.len());
    Ok(response
        .kvs
        .into_iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                ModelKv {
                    value: String::from_utf8_lossy(&kv.value).into_owned(),
                    create: kv.create_revision,
                    modified: kv.mod_revision,
                    version: kv.version,
                },
            )
        })
        .collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn engine_matches_model(steps in proptest::collection::vec(step(), 1..80)) {
        let mut mvcc = Mvcc::new();
        // history[r] = keyspace at revision r (revision 1 is empty).
        let mut history: Vec<Keyspace> = vec![Keyspace::new(), Keyspace::new()];
        let mut compacted = 0i64;

        for step in steps {
            let current = history.len() as i64 - 1;
            let mut next = history[current as usize].clone();
            let command = match &step {
                Step::Put(k, v) => {
                    model_put(&mut next, &key_of(*k), &v.to_string(), current + 1);
                    Some(Op::Put(put_op(&key_of(*k), &v.to_string())))
                }
                Step::Delete(k) => {
                    next.remove(&key_of(*k));
                    Some(Op::DeleteRange(DeleteRangeRequest {
                        key: Bytes::from(key_of(*k)),
                        ..DeleteRangeRequest::default()
                    }))
                }
                Step::DeletePrefix(k) => {
                    let prefix = format!("k{}/", k % 3);
                    next.retain(|key, _| !key.starts_with(&prefix));
                    Some(Op::DeleteRange(DeleteRangeRequest {
                        range_end: mars_store::prefix_end(prefix.as_bytes()),
                        key: Bytes::from(prefix),
                        ..DeleteRangeRequest::default()
                    }))
                }
                Step::TxnPut(a, b, v) if key_of(*a) != key_of(*b) => {
                    model_put(&mut next, &key_of(*a), &v.to_string(), current + 1);
                    model_put(&mut next, &key_of(*b), &v.to_string(), current + 1);
                    let op = |k: u8| RequestOp {
                        request: Some(Request::RequestPut(put_op(&key_of(k), &v.to_string()))),
                    };
                    Some(Op::Txn(TxnRequest { compare: vec![], success: vec![op(*a), op(*b)], failure: vec![] }))
                }
                Step::TxnPut(..) => None,
                Step::Compact(f) => {
                    let target = 1 + (current - 1) * i64::from(*f) / 255;
                    let request = CompactionRequest { revision: target, physical: false };
                    let applied = mvcc.apply(&Command { op: Some(Op::Compaction(request)) });
                    if target <= compacted {
                        prop_assert!(applied.response.is_err());
                    } else {
                        prop_assert!(applied.response.is_ok());
                        compacted = target;
                    }
                    None
                }
                Step::Read(f) => {
                    let at = 1 + (current - 1) * i64::from(*f) / 255;
                    let read = engine_at(&mvcc, at);
                    if at < compacted {
                        prop_assert_eq!(read, Err(StoreError::Compacted { compact_revision: compacted }));
                    } else {
                        prop_assert_eq!(read?, history[at as usize].clone(), "read at {}", at);
                    }
                    None
                }
            };
            if let Some(op) = command {
                let changed = next != history[current as usize];
                let applied = mvcc.apply(&Command { op: Some(op) });
                prop_assert!(applied.response.is_ok());
                prop_assert_eq!(!applied.events.is_empty(), changed);
                if changed {
                    history.push(next);
                }
            }
            prop_assert_eq!(mvcc.revision(), history.len() as i64 - 1);
            prop_assert_eq!(engine_at(&mvcc, 0)?, history.last().cloned().unwrap_or_default());
        }

        // A snapshot restores exactly the same engine.
        let restored = Mvcc::from_snapshot(mvcc.to_snapshot(7));
        prop_assert_eq!(&restored, &mvcc);

        // Replaying history from any retained revision rebuilds the keyspace.
        let current = mvcc.revision();
        let from = compacted.max(1) + 1;
        if from <= current {
            let events = mvcc.history_since(KeyRange::new(&[0], &[0]), from)?;
            let mut replayed = history[(from - 1) as usize].clone();
            let mut last = 0;
            for event in events {
                let kv = event.kv.unwrap_or_default();
                prop_assert!(kv.mod_revision >= last, "events out of order");
                last = kv.mod_revision;
                let key = String::from_utf8_lossy(&kv.key).into_owned();
                if event.r#type == EventType::Delete as i32 {
                    replayed.remove(&key);
                } else {
                    replayed.insert(key, ModelKv {
                        value: String::from_utf8_lossy(&kv.value).into_owned(),
                        create: kv.create_revision,
                        modified: kv.mod_revision,
                        version: kv.version,
                    });
                }
            }
            prop_assert_eq!(&replayed, history.last().unwrap());
        }
    }
}
