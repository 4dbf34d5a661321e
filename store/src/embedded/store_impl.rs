//! The `Store` trait over the embedded backend: each method is one etcd
//! request (a guarded transaction where Kubernetes needs a precondition).

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::Embedded;
use crate::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use crate::pb::etcdserverpb::request_op::Request;
use crate::pb::etcdserverpb::response_op::Response as OpResponse;
use crate::pb::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, TxnResponse,
};
use crate::store::{ListPage, ListRequest, Store, WatchStream, written};
use crate::watch::WatchSpec;
use crate::{KeyValue, StoreError};

/// A compare on the key's mod revision (0 = "absent" when used with create).
fn mod_revision_is(key: &[u8], revision: i64) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Mod as i32,
        key: Bytes::copy_from_slice(key),
        target_union: Some(TargetUnion::ModRevision(revision)),
        range_end: Bytes::new(),
    }
}

fn op(request: Request) -> RequestOp {
    RequestOp {
        request: Some(request),
    }
}

fn get_op(key: &[u8]) -> RequestOp {
    op(Request::RequestRange(RangeRequest {
        key: Bytes::copy_from_slice(key),
        ..RangeRequest::default()
    }))
}

/// The kv the range in a failed guard's failure branch returned.
fn current_of(response: &TxnResponse) -> Option<KeyValue> {
    response.responses.iter().find_map(|r| match &r.response {
        Some(OpResponse::ResponseRange(range)) => range.kvs.first().cloned(),
        _ => None,
    })
}

fn revision_of(response: &TxnResponse) -> i64 {
    response.header.as_ref().map_or(0, |h| h.revision)
}

#[async_trait]
impl Store for Embedded {
    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        let response = self
            .range(&RangeRequest {
                key: Bytes::copy_from_slice(key),
                ..RangeRequest::default()
            })
            .await?;
        Ok(response.kvs.into_iter().next())
    }

    async fn list(&self, request: &ListRequest) -> Result<ListPage, StoreError> {
        let response = self
            .range(&RangeRequest {
                key: request.key.clone(),
                range_end: request.range_end.clone(),
                revision: request.revision,
                limit: request.limit,
                ..RangeRequest::default()
            })
            .await?;
        let current = response.header.as_ref().map_or(0, |h| h.revision);
        Ok(ListPage {
            remaining: response.count - response.kvs.len() as i64,
            revision: if request.revision > 0 {
                request.revision
            } else {
                current
            },
            more: response.more,
            kvs: response.kvs,
        })
    }

    async fn create(&self, key: &[u8], value: Bytes, lease: i64) -> Result<KeyValue, StoreError> {
        let response = self
            .txn(TxnRequest {
                compare: vec![mod_revision_is(key, 0)],
                success: vec![op(Request::RequestPut(PutRequest {
                    key: Bytes::copy_from_slice(key),
                    value: value.clone(),
                    lease,
                    ..PutRequest::default()
                }))],
                failure: vec![],
            })
            .await?;
        if !response.succeeded {
            return Err(StoreError::AlreadyExists {
                key: StoreError::key_text(key),
            });
        }
        let revision = revision_of(&response);
        Ok(written(key, value, lease, revision, None))
    }

    async fn update(
        &self,
        key: &[u8],
        value: Bytes,
        expected_mod_revision: i64,
        lease: i64,
    ) -> Result<KeyValue, StoreError> {
        let response = self
            .txn(TxnRequest {
                compare: vec![mod_revision_is(key, expected_mod_revision)],
                success: vec![op(Request::RequestPut(PutRequest {
                    key: Bytes::copy_from_slice(key),
                    value: value.clone(),
                    lease,
                    prev_kv: true,
                    ..PutRequest::default()
                }))],
                failure: vec![get_op(key)],
            })
            .await?;
        if !response.succeeded {
            return Err(StoreError::lost_race(key, current_of(&response)));
        }
        let prev = response.responses.iter().find_map(|r| match &r.response {
            Some(OpResponse::ResponsePut(put)) => put.prev_kv.clone(),
            _ => None,
        });
        let revision = revision_of(&response);
        Ok(written(key, value, lease, revision, prev.as_ref()))
    }

    async fn delete(
        &self,
        key: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError> {
        let delete = op(Request::RequestDeleteRange(DeleteRangeRequest {
            key: Bytes::copy_from_slice(key),
            prev_kv: true,
            ..DeleteRangeRequest::default()
        }));
        let response = self
            .txn(TxnRequest {
                compare: expected_mod_revision
                    .map(|rev| mod_revision_is(key, rev))
                    .into_iter()
                    .collect(),
                success: vec![delete],
                failure: vec![get_op(key)],
            })
            .await?;
        if !response.succeeded {
            return Err(StoreError::lost_race(key, current_of(&response)));
        }
        response
            .responses
            .iter()
            .find_map(|r| match &r.response {
                Some(OpResponse::ResponseDeleteRange(d)) => d.prev_kvs.first().cloned(),
                _ => None,
            })
            .ok_or_else(|| StoreError::NotFound {
                key: StoreError::key_text(key),
            })
    }

    async fn watch(&self, spec: WatchSpec) -> Result<WatchStream, StoreError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let progress_requests = spec.progress_requests.clone();
        let id = Embedded::watch(self, spec, 0, tx.clone())?;
        if let Some(requests) = progress_requests {
            let store = self.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = requests.notified() => store.request_progress(&[id]),
                        _ = tx.closed() => break,
                    }
                }
            });
        }
        let guard = CancelOnDrop {
            store: self.clone(),
            id,
        };
        let stream = UnboundedReceiverStream::new(rx).map(move |message| {
            let _keep = &guard;
            Ok(message)
        });
        Ok(Box::pin(stream))
    }

    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        Embedded::compact(self, revision).await.map(|_| ())
    }

    async fn current_revision(&self) -> Result<i64, StoreError> {
        self.linearize().await?;
        Ok(self.revision())
    }

    async fn grant_lease(&self, ttl_seconds: i64) -> Result<i64, StoreError> {
        Ok(self.lease_grant(ttl_seconds, 0).await?.id)
    }
}

/// Unregisters a trait-level watch when its stream is dropped.
struct CancelOnDrop {
    store: Embedded,
    id: u64,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.store.cancel_watch(self.id);
    }
}
