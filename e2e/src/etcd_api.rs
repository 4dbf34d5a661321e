//! One etcd v3 interface for the conformance suite, over three targets: the
//! embedded store called in-process, and any etcd endpoint (Mars or a real
//! etcd) through the `etcd-client` crate. Requests and responses are etcd's
//! protobuf types; errors are the gRPC code and message a client would see.

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client as ec;
use mars_store::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use mars_store::pb::etcdserverpb::range_request::{SortOrder, SortTarget};
use mars_store::pb::etcdserverpb::request_op::Request;
use mars_store::pb::etcdserverpb::{
    Compare, DeleteRangeRequest, DeleteRangeResponse, LeaseGrantResponse, LeaseTimeToLiveResponse,
    PutRequest, PutResponse, RangeRequest, RangeResponse, RequestOp, TxnRequest, TxnResponse,
    WatchCreateRequest, WatchResponse,
};
use mars_store::watch::WatchSpec;
use mars_store::{Embedded, Event, StoreError};
use prost::Message;
use tokio::sync::mpsc;

/// An error as a client sees it: gRPC code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: tonic::Code,
    pub message: String,
}

pub type Outcome<T> = Result<T, Failure>;

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        let status = mars_store::grpc::status_of(error);
        Failure {
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

impl From<ec::Error> for Failure {
    fn from(error: ec::Error) -> Self {
        match error {
            ec::Error::GRpcStatus(status) => Failure {
                code: status.code(),
                message: status.message().to_string(),
            },
            other => Failure {
                code: tonic::Code::Unknown,
                message: other.to_string(),
            },
        }
    }
}

/// What a watch delivers, stripped of transport details.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchItem {
    Events(Vec<Event>),
    /// Everything up to this revision has been delivered.
    Progress(i64),
    Canceled {
        compact_revision: i64,
        reason: String,
    },
}

/// One open watch.
#[async_trait]
pub trait WatchHandle: Send {
    /// The next item, or `None` when the watch ended.
    async fn next(&mut self) -> Option<WatchItem>;
    async fn request_progress(&mut self);
}

/// The etcd v3 operations the conformance suite exercises.
#[async_trait]
pub trait EtcdApi: Send + Sync {
    async fn range(&self, request: RangeRequest) -> Outcome<RangeResponse>;
    async fn put(&self, request: PutRequest) -> Outcome<PutResponse>;
    async fn delete_range(&self, request: DeleteRangeRequest) -> Outcome<DeleteRangeResponse>;
    async fn txn(&self, request: TxnRequest) -> Outcome<TxnResponse>;
    async fn compact(&self, revision: i64) -> Outcome<()>;
    async fn lease_grant(&self, ttl: i64) -> Outcome<LeaseGrantResponse>;
    async fn lease_revoke(&self, id: i64) -> Outcome<()>;
    /// One keep-alive round trip; the TTL granted (0 if the lease is gone).
    async fn lease_keep_alive(&self, id: i64) -> Outcome<i64>;
    async fn lease_time_to_live(&self, id: i64, keys: bool) -> Outcome<LeaseTimeToLiveResponse>;
    async fn lease_ids(&self) -> Outcome<Vec<i64>>;
    async fn watch(&self, request: WatchCreateRequest) -> Outcome<Box<dyn WatchHandle>>;
}

// ---------------------------------------------------------------- embedded

/// The embedded store, called directly.
pub struct Native(pub Embedded);

struct NativeWatch {
    store: Embedded,
    id: u64,
    rx: mpsc::UnboundedReceiver<mars_store::WatchMessage>,
    ended: Option<WatchItem>,
}

#[async_trait]
impl WatchHandle for NativeWatch {
    async fn next(&mut self) -> Option<WatchItem> {
        if let Some(item) = self.ended.take() {
            return Some(item);
        }
        let message = self.rx.recv().await?;
        Some(if message.events.is_empty() {
            WatchItem::Progress(message.revision)
        } else {
            WatchItem::Events(message.events)
        })
    }

    async fn request_progress(&mut self) {
        self.store.request_progress(&[self.id]);
    }
}

#[async_trait]
impl EtcdApi for Native {
    async fn range(&self, request: RangeRequest) -> Outcome<RangeResponse> {
        Ok(self.0.range(&request).await?)
    }
    async fn put(&self, request: PutRequest) -> Outcome<PutResponse> {
        Ok(self.0.put(request).await?)
    }
    async fn delete_range(&self, request: DeleteRangeRequest) -> Outcome<DeleteRangeResponse> {
        Ok(self.0.delete_range(request).await?)
    }
    async fn txn(&self, request: TxnRequest) -> Outcome<TxnResponse> {
        Ok(self.0.txn(request).await?)
    }
    async fn compact(&self, revision: i64) -> Outcome<()> {
        self.0.compact(revision).await?;
        Ok(())
    }
    async fn lease_grant(&self, ttl: i64) -> Outcome<LeaseGrantResponse> {
        Ok(self.0.lease_grant(ttl, 0).await?)
    }
    async fn lease_revoke(&self, id: i64) -> Outcome<()> {
        self.0.lease_revoke(id).await?;
        Ok(())
    }
    async fn lease_keep_alive(&self, id: i64) -> Outcome<i64> {
        Ok(self.0.lease_keep_alive(id).await.unwrap_or(0))
    }
    async fn lease_time_to_live(&self, id: i64, keys: bool) -> Outcome<LeaseTimeToLiveResponse> {
        Ok(self.0.lease_time_to_live(id, keys))
    }
    async fn lease_ids(&self) -> Outcome<Vec<i64>> {
        Ok(self.0.lease_ids())
    }
    async fn watch(&self, request: WatchCreateRequest) -> Outcome<Box<dyn WatchHandle>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let spec = WatchSpec {
            key: request.key,
            range_end: request.range_end,
            start_revision: request.start_revision,
            prev_kv: request.prev_kv,
            no_put: request.filters.contains(&0),
            no_delete: request.filters.contains(&1),
            progress_requests: None,
        };
        let (id, ended) = match self.0.watch(spec, 0, tx) {
            Ok(id) => (id, None),
            Err(error) => {
                let compact_revision = match error {
                    StoreError::Compacted { compact_revision } => compact_revision,
                    _ => 0,
                };
                let reason = error.to_string();
                (
                    u64::MAX,
                    Some(WatchItem::Canceled {
                        compact_revision,
                        reason,
                    }),
                )
            }
        };
        Ok(Box::new(NativeWatch {
            store: self.0.clone(),
            id,
            rx,
            ended,
        }))
    }
}

// ------------------------------------------------------------- etcd-client

/// Any etcd endpoint, through the `etcd-client` crate.
pub struct Remote(pub ec::Client);

impl Remote {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Remote(ec::Client::connect([url], None).await?))
    }
}

/// Re-decodes an etcd-client protobuf message as Mars's identical wire type.
fn recode<A: Message, B: Message + Default>(message: &A) -> B {
    B::decode(message.encode_to_vec().as_slice()).unwrap_or_default()
}

fn key_range<T>(
    range_end: &[u8],
    with_from_key: impl FnOnce(T) -> T,
    with_range: impl FnOnce(T, Vec<u8>) -> T,
    options: T,
) -> T {
    match range_end {
        [] => options,
        [0] => with_from_key(options),
        end => with_range(options, end.to_vec()),
    }
}

fn get_options(r: &RangeRequest) -> ec::GetOptions {
    let mut o = key_range(
        &r.range_end,
        ec::GetOptions::with_from_key,
        ec::GetOptions::with_range,
        ec::GetOptions::new(),
    )
    .with_limit(r.limit)
    .with_revision(r.revision)
    .with_min_mod_revision(r.min_mod_revision)
    .with_max_mod_revision(r.max_mod_revision)
    .with_min_create_revision(r.min_create_revision)
    .with_max_create_revision(r.max_create_revision);
    let target = match SortTarget::try_from(r.sort_target) {
        Ok(SortTarget::Version) => ec::SortTarget::Version,
        Ok(SortTarget::Create) => ec::SortTarget::Create,
        Ok(SortTarget::Mod) => ec::SortTarget::Mod,
        Ok(SortTarget::Value) => ec::SortTarget::Value,
        _ => ec::SortTarget::Key,
    };
    let order = match SortOrder::try_from(r.sort_order) {
        Ok(SortOrder::Ascend) => ec::SortOrder::Ascend,
        Ok(SortOrder::Descend) => ec::SortOrder::Descend,
        _ => ec::SortOrder::None,
    };
    if r.sort_target != 0 || r.sort_order != 0 {
        o = o.with_sort(target, order);
    }
    if r.serializable {
        o = o.with_serializable();
    }
    if r.keys_only {
        o = o.with_keys_only();
    }
    if r.count_only {
        o = o.with_count_only();
    }
    o
}

fn put_options(r: &PutRequest) -> ec::PutOptions {
    let mut o = ec::PutOptions::new().with_lease(r.lease);
    if r.prev_kv {
        o = o.with_prev_key();
    }
    if r.ignore_value {
        o = o.with_ignore_value();
    }
    if r.ignore_lease {
        o = o.with_ignore_lease();
    }
    o
}

fn delete_options(r: &DeleteRangeRequest) -> ec::DeleteOptions {
    let o = key_range(
        &r.range_end,
        ec::DeleteOptions::with_from_key,
        ec::DeleteOptions::with_range,
        ec::DeleteOptions::new(),
    );
    if r.prev_kv { o.with_prev_key() } else { o }
}

fn compare(c: &Compare) -> ec::Compare {
    let op = match CompareResult::try_from(c.result) {
        Ok(CompareResult::Greater) => ec::CompareOp::Greater,
        Ok(CompareResult::Less) => ec::CompareOp::Less,
        Ok(CompareResult::NotEqual) => ec::CompareOp::NotEqual,
        _ => ec::CompareOp::Equal,
    };
    let number = match c.target_union {
        Some(TargetUnion::Version(n))
        | Some(TargetUnion::CreateRevision(n))
        | Some(TargetUnion::ModRevision(n))
        | Some(TargetUnion::Lease(n)) => n,
        _ => 0,
    };
    let key = c.key.to_vec();
    let built = match CompareTarget::try_from(c.target) {
        Ok(CompareTarget::Create) => ec::Compare::create_revision(key, op, number),
        Ok(CompareTarget::Mod) => ec::Compare::mod_revision(key, op, number),
        Ok(CompareTarget::Lease) => ec::Compare::lease(key, op, number),
        Ok(CompareTarget::Value) => {
            let value = match &c.target_union {
                Some(TargetUnion::Value(v)) => v.to_vec(),
                _ => Vec::new(),
            };
            ec::Compare::value(key, op, value)
        }
        _ => ec::Compare::version(key, op, number),
    };
    if c.range_end.is_empty() {
        built
    } else {
        built.with_range(c.range_end.to_vec())
    }
}

fn txn_op(op: &RequestOp) -> Option<ec::TxnOp> {
    Some(match op.request.as_ref()? {
        Request::RequestRange(r) => ec::TxnOp::get(r.key.to_vec(), Some(get_options(r))),
        Request::RequestPut(r) => {
            ec::TxnOp::put(r.key.to_vec(), r.value.to_vec(), Some(put_options(r)))
        }
        Request::RequestDeleteRange(r) => {
            ec::TxnOp::delete(r.key.to_vec(), Some(delete_options(r)))
        }
        Request::RequestTxn(t) => ec::TxnOp::txn(txn(t)),
    })
}

fn txn(t: &TxnRequest) -> ec::Txn {
    ec::Txn::new()
        .when(t.compare.iter().map(compare).collect::<Vec<_>>())
        .and_then(t.success.iter().filter_map(txn_op).collect::<Vec<_>>())
        .or_else(t.failure.iter().filter_map(txn_op).collect::<Vec<_>>())
}

struct RemoteWatch {
    stream: ec::WatchStream,
}

#[async_trait]
impl WatchHandle for RemoteWatch {
    async fn next(&mut self) -> Option<WatchItem> {
        loop {
            let response = self.stream.message().await.ok()??;
            let response: WatchResponse = recode(&response.0);
            if response.canceled {
                return Some(WatchItem::Canceled {
                    compact_revision: response.compact_revision,
                    reason: response.cancel_reason,
                });
            }
            if response.created {
                continue;
            }
            let revision = response.header.map_or(0, |h| h.revision);
            return Some(if response.events.is_empty() {
                WatchItem::Progress(revision)
            } else {
                WatchItem::Events(response.events)
            });
        }
    }

    async fn request_progress(&mut self) {
        let _ = self.stream.request_progress().await;
    }
}

#[async_trait]
impl EtcdApi for Remote {
    async fn range(&self, r: RangeRequest) -> Outcome<RangeResponse> {
        let response = self
            .0
            .kv_client()
            .get(r.key.to_vec(), Some(get_options(&r)))
            .await?;
        Ok(recode(&response.0))
    }
    async fn put(&self, r: PutRequest) -> Outcome<PutResponse> {
        let response = self
            .0
            .kv_client()
            .put(r.key.to_vec(), r.value.to_vec(), Some(put_options(&r)))
            .await?;
        Ok(recode(&response.0))
    }
    async fn delete_range(&self, r: DeleteRangeRequest) -> Outcome<DeleteRangeResponse> {
        let response = self
            .0
            .kv_client()
            .delete(r.key.to_vec(), Some(delete_options(&r)))
            .await?;
        Ok(recode(&response.0))
    }
    async fn txn(&self, r: TxnRequest) -> Outcome<TxnResponse> {
        let response = self.0.kv_client().txn(txn(&r)).await?;
        Ok(recode(&response.0))
    }
    async fn compact(&self, revision: i64) -> Outcome<()> {
        self.0.kv_client().compact(revision, None).await?;
        Ok(())
    }
    async fn lease_grant(&self, ttl: i64) -> Outcome<LeaseGrantResponse> {
        let response = self.0.lease_client().grant(ttl, None).await?;
        Ok(recode(&response.0))
    }
    async fn lease_revoke(&self, id: i64) -> Outcome<()> {
        self.0.lease_client().revoke(id).await?;
        Ok(())
    }
    async fn lease_keep_alive(&self, id: i64) -> Outcome<i64> {
        // etcd-client's keep_alive does the first round trip itself, and
        // turns the server's TTL 0 ("gone") into this error.
        match self.0.lease_client().keep_alive(id).await {
            Ok((mut keeper, mut stream)) => {
                keeper.keep_alive().await?;
                Ok(stream.message().await?.map_or(0, |r| r.ttl()))
            }
            Err(ec::Error::LeaseKeepAliveError(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
    async fn lease_time_to_live(&self, id: i64, keys: bool) -> Outcome<LeaseTimeToLiveResponse> {
        let options = keys.then(|| ec::LeaseTimeToLiveOptions::new().with_keys());
        let response = self.0.lease_client().time_to_live(id, options).await?;
        Ok(recode(&response.0))
    }
    async fn lease_ids(&self) -> Outcome<Vec<i64>> {
        let response = self.0.lease_client().leases().await?;
        Ok(response.leases().iter().map(|l| l.id()).collect())
    }
    async fn watch(&self, r: WatchCreateRequest) -> Outcome<Box<dyn WatchHandle>> {
        let mut options = key_range(
            &r.range_end,
            ec::WatchOptions::with_from_key,
            ec::WatchOptions::with_range,
            ec::WatchOptions::new(),
        )
        .with_start_revision(r.start_revision);
        if r.prev_kv {
            options = options.with_prev_key();
        }
        if r.progress_notify {
            options = options.with_progress_notify();
        }
        let filters: Vec<ec::WatchFilterType> = r
            .filters
            .iter()
            .map(|f| {
                if *f == 0 {
                    ec::WatchFilterType::NoPut
                } else {
                    ec::WatchFilterType::NoDelete
                }
            })
            .collect();
        if !filters.is_empty() {
            options = options.with_filters(filters);
        }
        let stream = self
            .0
            .watch_client()
            .watch(r.key.to_vec(), Some(options))
            .await?;
        Ok(Box::new(RemoteWatch { stream }))
    }
}

/// Builds a key from text.
pub fn key(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}
