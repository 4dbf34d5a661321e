//! Writes: one write transaction produces at most one new revision.
//!
//! Every request is checked against the state before anything changes, so a
//! transaction either applies whole or not at all.

use bytes::Bytes;

use super::range::{check_range, event_of};
use super::{Applied, Entry, KeyRange, Mvcc, Response};
use crate::pb::etcdserverpb::request_op::Request;
use crate::pb::etcdserverpb::response_op::Response as OpResponse;
use crate::pb::etcdserverpb::{
    DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RequestOp, ResponseHeader,
    ResponseOp, TxnRequest, TxnResponse,
};
use crate::pb::mvccpb::Event;
use crate::{KeyValue, StoreError};

/// A write in progress: changes land at `rev`, the store's next revision.
pub(super) struct WriteTxn<'a> {
    mvcc: &'a mut Mvcc,
    rev: i64,
    sub: u32,
    events: Vec<Event>,
}

/// Which branch each (nested) transaction takes, decided on the state before
/// the transaction runs, as etcd decides it.
struct TxnPlan {
    succeeded: bool,
    nested: Vec<TxnPlan>,
}

impl Mvcc {
    pub(super) fn write(
        &mut self,
        body: impl FnOnce(&mut WriteTxn<'_>) -> Result<Response, StoreError>,
    ) -> Applied {
        let mut txn = WriteTxn {
            rev: self.revision + 1,
            sub: 0,
            events: Vec::new(),
            mvcc: self,
        };
        let response = body(&mut txn);
        let events = txn.events;
        debug_assert!(
            response.is_ok() || events.is_empty(),
            "a failed write changed state"
        );
        if !events.is_empty() {
            self.revision += 1;
        }
        Applied { response, events }
    }

    fn check_put(&self, request: &PutRequest) -> Result<(), StoreError> {
        if request.key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        if (request.ignore_value || request.ignore_lease) && self.latest(&request.key).is_none() {
            return Err(StoreError::KeyNotFound);
        }
        if request.lease != 0 && !self.leases.contains_key(&request.lease) {
            return Err(StoreError::LeaseNotFound);
        }
        Ok(())
    }

    /// Decides the branches of a transaction and checks every request on
    /// them against the current state.
    fn plan_txn(&self, request: &TxnRequest) -> Result<TxnPlan, StoreError> {
        let succeeded = request.compare.iter().all(|c| self.compare_holds(c));
        let ops = if succeeded {
            &request.success
        } else {
            &request.failure
        };
        let mut nested = Vec::new();
        for op in ops {
            match &op.request {
                Some(Request::RequestRange(range)) => {
                    check_range(range)?;
                    self.read_revision(range.revision)?;
                }
                Some(Request::RequestPut(put)) => self.check_put(put)?,
                Some(Request::RequestDeleteRange(delete)) => check_delete(delete)?,
                Some(Request::RequestTxn(txn)) => nested.push(self.plan_txn(txn)?),
                None => return Err(StoreError::KeyNotFound),
            }
        }
        Ok(TxnPlan { succeeded, nested })
    }
}

impl WriteTxn<'_> {
    pub(super) fn put(&mut self, request: &PutRequest) -> Result<PutResponse, StoreError> {
        self.mvcc.check_put(request)?;
        Ok(self.apply_put(request))
    }

    pub(super) fn delete_range(
        &mut self,
        request: &DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, StoreError> {
        check_delete(request)?;
        Ok(self.apply_delete_range(request))
    }

    pub(super) fn txn(&mut self, request: &TxnRequest) -> Result<TxnResponse, StoreError> {
        let plan = self.mvcc.plan_txn(request)?;
        Ok(self.apply_txn(request, &plan))
    }

    fn apply_put(&mut self, request: &PutRequest) -> PutResponse {
        let prev = self.mvcc.latest(&request.key).cloned();
        // A decoded request's bytes are slices of the whole receive buffer;
        // storing them would pin that buffer for as long as the revision
        // lives. Store exact-size copies (the existing key when there is one).
        let key = match self.mvcc.keys.get_key_value(&request.key[..]) {
            Some((key, _)) => key.clone(),
            None => Bytes::copy_from_slice(&request.key),
        };
        let value = match (&prev, request.ignore_value) {
            (Some(prev), true) => prev.value.clone(),
            _ => Bytes::copy_from_slice(&request.value),
        };
        let lease = match (&prev, request.ignore_lease) {
            (Some(prev), true) => prev.lease,
            _ => request.lease,
        };
        let kv = KeyValue {
            key: key.clone(),
            create_revision: prev.as_ref().map_or(self.rev, |p| p.create_revision),
            mod_revision: self.rev,
            version: prev.as_ref().map_or(1, |p| p.version + 1),
            value,
            lease,
        };
        if let Some(old) = prev
            .as_ref()
            .map(|p| p.lease)
            .filter(|&l| l != 0 && l != lease)
        {
            self.detach(old, &request.key);
        }
        if lease != 0
            && let Some(state) = self.mvcc.leases.get_mut(&lease)
        {
            state.keys.insert(request.key.clone());
        }
        self.record(kv, false, prev.clone());
        PutResponse {
            header: None,
            prev_kv: prev.filter(|_| request.prev_kv),
        }
    }

    fn apply_delete_range(&mut self, request: &DeleteRangeRequest) -> DeleteRangeResponse {
        let keys: Vec<Bytes> = self
            .mvcc
            .histories(KeyRange::new(&request.key, &request.range_end))
            .filter(|(_, h)| h.last().is_some_and(|e| !e.tombstone))
            .map(|(k, _)| k.clone())
            .collect();
        let mut prev_kvs = Vec::new();
        for key in &keys {
            if let Some(prev) = self.delete_key(key)
                && request.prev_kv
            {
                prev_kvs.push(prev);
            }
        }
        DeleteRangeResponse {
            header: None,
            deleted: keys.len() as i64,
            prev_kvs,
        }
    }

    /// Deletes one key if it is live, returning what it held.
    pub(super) fn delete_key(&mut self, key: &Bytes) -> Option<KeyValue> {
        let prev = self.mvcc.latest(key).cloned()?;
        if prev.lease != 0 {
            self.detach(prev.lease, key);
        }
        let tombstone = KeyValue {
            key: key.clone(),
            mod_revision: self.rev,
            ..KeyValue::default()
        };
        self.record(tombstone, true, Some(prev.clone()));
        Some(prev)
    }

    fn apply_txn(&mut self, request: &TxnRequest, plan: &TxnPlan) -> TxnResponse {
        let ops: &[RequestOp] = if plan.succeeded {
            &request.success
        } else {
            &request.failure
        };
        let mut nested = plan.nested.iter();
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            let response = match &op.request {
                Some(Request::RequestRange(range)) => {
                    // Reads inside a transaction see its own earlier writes.
                    let rev = if range.revision > 0 {
                        range.revision
                    } else {
                        self.read_revision()
                    };
                    let mut out = self.mvcc.range_at(range, rev);
                    out.header = Some(self.header());
                    OpResponse::ResponseRange(out)
                }
                Some(Request::RequestPut(put)) => {
                    let mut out = self.apply_put(put);
                    out.header = Some(self.header());
                    OpResponse::ResponsePut(out)
                }
                Some(Request::RequestDeleteRange(delete)) => {
                    let mut out = self.apply_delete_range(delete);
                    out.header = Some(self.header());
                    OpResponse::ResponseDeleteRange(out)
                }
                Some(Request::RequestTxn(txn)) => {
                    let Some(plan) = nested.next() else {
                        continue;
                    };
                    let mut out = self.apply_txn(txn, plan);
                    out.header = Some(self.header());
                    OpResponse::ResponseTxn(out)
                }
                None => continue,
            };
            responses.push(ResponseOp {
                response: Some(response),
            });
        }
        TxnResponse {
            header: None,
            succeeded: plan.succeeded,
            responses,
        }
    }

    fn read_revision(&self) -> i64 {
        if self.events.is_empty() {
            self.rev - 1
        } else {
            self.rev
        }
    }

    fn header(&self) -> ResponseHeader {
        ResponseHeader {
            revision: self.read_revision(),
            ..ResponseHeader::default()
        }
    }

    fn detach(&mut self, lease: i64, key: &[u8]) {
        if let Some(state) = self.mvcc.leases.get_mut(&lease) {
            state.keys.remove(key);
        }
    }

    fn record(&mut self, kv: KeyValue, tombstone: bool, prev_kv: Option<KeyValue>) {
        let entry = Entry {
            kv,
            sub: self.sub,
            tombstone,
        };
        self.sub += 1;
        self.events.push(event_of(&entry, prev_kv));
        self.mvcc
            .keys
            .entry(entry.kv.key.clone())
            .or_default()
            .push(entry);
    }
}

fn check_delete(request: &DeleteRangeRequest) -> Result<(), StoreError> {
    if request.key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    Ok(())
}
