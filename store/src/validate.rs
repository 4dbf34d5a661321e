//! Shape checks a request must pass before it is logged: what etcd checks in
//! its gRPC layer, independent of the store's state. State-dependent checks
//! (leases, compaction, missing keys) happen when the engine applies it.

use prost::Message;

use crate::StoreError;
use crate::mvcc::KeyRange;
use crate::pb::etcdserverpb::request_op::Request;
use crate::pb::etcdserverpb::{DeleteRangeRequest, PutRequest, RequestOp, TxnRequest};

/// Request limits, as etcd's `--max-request-bytes` and `--max-txn-ops`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub max_txn_ops: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 1536 * 1024,
            max_txn_ops: 128,
        }
    }
}

impl Limits {
    /// Refuses a request whose encoding exceeds the size limit.
    pub fn check_size(&self, request: &impl Message) -> Result<(), StoreError> {
        if request.encoded_len() > self.max_request_bytes {
            return Err(StoreError::RequestTooLarge);
        }
        Ok(())
    }
}

pub fn check_put(request: &PutRequest) -> Result<(), StoreError> {
    if request.key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    if request.ignore_value && !request.value.is_empty() {
        return Err(StoreError::ValueProvided);
    }
    if request.ignore_lease && request.lease != 0 {
        return Err(StoreError::LeaseProvided);
    }
    Ok(())
}

pub fn check_delete(request: &DeleteRangeRequest) -> Result<(), StoreError> {
    if request.key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    Ok(())
}

/// Checks a transaction's size, every request in it, and that no key is
/// written twice in one branch (a put overlapping another put or a delete).
pub fn check_txn(request: &TxnRequest, limits: &Limits) -> Result<(), StoreError> {
    let ops = request
        .compare
        .len()
        .max(request.success.len())
        .max(request.failure.len());
    if ops > limits.max_txn_ops {
        return Err(StoreError::TooManyOps);
    }
    if request.compare.iter().any(|c| c.key.is_empty()) {
        return Err(StoreError::EmptyKey);
    }
    for branch in [&request.success, &request.failure] {
        for op in branch.iter() {
            match &op.request {
                Some(Request::RequestRange(range)) => crate::mvcc::check_range(range)?,
                Some(Request::RequestPut(put)) => check_put(put)?,
                Some(Request::RequestDeleteRange(delete)) => check_delete(delete)?,
                Some(Request::RequestTxn(txn)) => check_txn(txn, limits)?,
                None => return Err(StoreError::KeyNotFound),
            }
        }
        Writes::of(branch)?;
    }
    Ok(())
}

/// The keys one branch puts and the ranges it deletes.
#[derive(Default)]
struct Writes<'a> {
    puts: Vec<&'a [u8]>,
    deletes: Vec<KeyRange<'a>>,
}

impl<'a> Writes<'a> {
    fn of(ops: &'a [RequestOp]) -> Result<Self, StoreError> {
        let mut writes = Writes::default();
        for op in ops {
            match &op.request {
                Some(Request::RequestPut(put)) => writes.add_put(&put.key)?,
                Some(Request::RequestDeleteRange(delete)) => {
                    writes.add_delete(KeyRange::new(&delete.key, &delete.range_end))?
                }
                Some(Request::RequestTxn(txn)) => {
                    // Only one nested branch runs, so its branches may
                    // overlap each other, but neither may overlap this level.
                    let success = Writes::of(&txn.success)?;
                    let failure = Writes::of(&txn.failure)?;
                    let mut nested = Writes::default();
                    for w in [success, failure] {
                        for key in w.puts {
                            if !nested.puts.contains(&key) {
                                nested.puts.push(key);
                            }
                        }
                        nested.deletes.extend(w.deletes);
                    }
                    for key in nested.puts {
                        writes.add_put(key)?;
                    }
                    for range in nested.deletes {
                        writes.add_delete(range)?;
                    }
                }
                _ => {}
            }
        }
        Ok(writes)
    }

    fn add_put(&mut self, key: &'a [u8]) -> Result<(), StoreError> {
        if self.puts.contains(&key) || self.deletes.iter().any(|d| d.contains(key)) {
            return Err(StoreError::DuplicateKey);
        }
        self.puts.push(key);
        Ok(())
    }

    fn add_delete(&mut self, range: KeyRange<'a>) -> Result<(), StoreError> {
        if self.puts.iter().any(|key| range.contains(key)) {
            return Err(StoreError::DuplicateKey);
        }
        self.deletes.push(range);
        Ok(())
    }
}
