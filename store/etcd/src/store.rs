//! [`EtcdStore`]: each `Store` method as one etcd request, the same request
//! the embedded backend runs internally, so both give the same answers.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::proto::PbTxnResponse;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp,
};
use mars_store::store::written;
use mars_store::{KeyValue, ListPage, ListRequest, Store, StoreError, WatchSpec, WatchStream};

use crate::convert;
use crate::error::store_error;
use crate::watch;

/// How long establishing the connection (and the first request) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take unless changed with
/// [`EtcdStore::with_request_timeout`].
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The `Store` trait over an external etcd cluster, so Mars can run on an
/// etcd its users already operate instead of its embedded backend.
///
/// Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    request_timeout: Duration,
    progress_notify: bool,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("request_timeout", &self.request_timeout)
            .field("progress_notify", &self.progress_notify)
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects to the cluster at `endpoints` (`http://host:port` or
    /// `host:port`) and checks that it answers, so a wrong address fails
    /// here, as `Unavailable`, rather than on the first request.
    pub async fn connect(endpoints: &[String]) -> Result<EtcdStore, StoreError> {
        let options = ConnectOptions::new().with_connect_timeout(CONNECT_TIMEOUT);
        let client =
            tokio::time::timeout(CONNECT_TIMEOUT, Client::connect(endpoints, Some(options)))
                .await
                .map_err(|_| {
                    StoreError::Unavailable(format!(
                        "cannot connect to etcd at {endpoints:?} within {CONNECT_TIMEOUT:?}"
                    ))
                })?
                .map_err(store_error)?;
        let store = EtcdStore {
            client,
            request_timeout: CONNECT_TIMEOUT,
            progress_notify: false,
        };
        store.current_revision().await?;
        Ok(EtcdStore {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            ..store
        })
    }

    /// Bounds every request (and a watch's creation), so an etcd that stops
    /// answering yields `Unavailable` instead of a hang. Default 30 s. A
    /// write that timed out may still have been applied.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Asks etcd for periodic progress notifications (messages without
    /// events) on every watch, which `WatchSpec` cannot ask for; off by
    /// default, as the embedded backend sends none unprompted.
    pub fn with_progress_notify(mut self, on: bool) -> Self {
        self.progress_notify = on;
        self
    }

    /// Runs one etcd request within the request timeout, mapping its error.
    async fn call<T>(
        &self,
        what: &str,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.request_timeout, request)
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "etcd did not answer a {what} within {:?}",
                    self.request_timeout
                ))
            })?
            .map_err(store_error)
    }

    async fn txn(&self, txn: Txn) -> Result<PbTxnResponse, StoreError> {
        let mut kv = self.client.kv_client();
        Ok(self.call("transaction", kv.txn(txn)).await?.0)
    }
}

/// A compare on the key's mod revision (0 = "absent").
fn mod_revision_is(key: &[u8], revision: i64) -> Compare {
    Compare::mod_revision(key, CompareOp::Equal, revision)
}

#[async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        let mut kv = self.client.kv_client();
        let response = self.call("get", kv.get(key, None)).await?.0;
        Ok(response.kvs.into_iter().next().map(convert::key_value))
    }

    async fn list(&self, request: &ListRequest) -> Result<ListPage, StoreError> {
        let options = GetOptions::new()
            .with_range(request.range_end.to_vec())
            .with_limit(request.limit)
            .with_revision(request.revision);
        let mut kv = self.client.kv_client();
        let response = self
            .call("list", kv.get(request.key.to_vec(), Some(options)))
            .await?
            .0;
        let current = convert::revision_of(response.header.as_ref());
        let kvs: Vec<KeyValue> = response.kvs.into_iter().map(convert::key_value).collect();
        Ok(ListPage {
            remaining: response.count - kvs.len() as i64,
            revision: if request.revision > 0 {
                request.revision
            } else {
                current
            },
            more: response.more,
            kvs,
        })
    }

    async fn create(&self, key: &[u8], value: Bytes, lease: i64) -> Result<KeyValue, StoreError> {
        let txn = Txn::new()
            .when([mod_revision_is(key, 0)])
            .and_then([TxnOp::put(
                key,
                value.to_vec(),
                Some(PutOptions::new().with_lease(lease)),
            )]);
        let response = self.txn(txn).await?;
        if !response.succeeded {
            return Err(StoreError::AlreadyExists {
                key: StoreError::key_text(key),
            });
        }
        let revision = convert::revision_of(response.header.as_ref());
        Ok(written(key, value, lease, revision, None))
    }

    async fn update(
        &self,
        key: &[u8],
        value: Bytes,
        expected_mod_revision: i64,
        lease: i64,
    ) -> Result<KeyValue, StoreError> {
        let txn = Txn::new()
            .when([mod_revision_is(key, expected_mod_revision)])
            .and_then([TxnOp::put(
                key,
                value.to_vec(),
                Some(PutOptions::new().with_lease(lease).with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let response = self.txn(txn).await?;
        if !response.succeeded {
            return Err(StoreError::lost_race(key, convert::range_kv(response)));
        }
        let revision = convert::revision_of(response.header.as_ref());
        let prev = convert::put_prev_kv(response);
        Ok(written(key, value, lease, revision, prev.as_ref()))
    }

    async fn delete(
        &self,
        key: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError> {
        let compare: Vec<Compare> = expected_mod_revision
            .map(|rev| mod_revision_is(key, rev))
            .into_iter()
            .collect();
        let txn = Txn::new()
            .when(compare)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let response = self.txn(txn).await?;
        if !response.succeeded {
            return Err(StoreError::lost_race(key, convert::range_kv(response)));
        }
        convert::deleted_kv(response).ok_or_else(|| StoreError::NotFound {
            key: StoreError::key_text(key),
        })
    }

    async fn watch(&self, spec: WatchSpec) -> Result<WatchStream, StoreError> {
        watch::open(
            self.client.watch_client(),
            spec,
            self.progress_notify,
            self.request_timeout,
        )
        .await
    }

    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        let mut kv = self.client.kv_client();
        self.call("compaction", kv.compact(revision, None)).await?;
        Ok(())
    }

    async fn current_revision(&self) -> Result<i64, StoreError> {
        // A count-only read of one key: the answer is in the header.
        let mut kv = self.client.kv_client();
        let response = self
            .call(
                "revision read",
                kv.get(&[0u8][..], Some(GetOptions::new().with_count_only())),
            )
            .await?
            .0;
        Ok(convert::revision_of(response.header.as_ref()))
    }

    async fn grant_lease(&self, ttl_seconds: i64) -> Result<i64, StoreError> {
        let mut lease = self.client.lease_client();
        let response = self
            .call("lease grant", lease.grant(ttl_seconds, None))
            .await?
            .0;
        if !response.error.is_empty() {
            return Err(crate::error::status_error(
                tonic::Code::Unknown,
                &response.error,
            ));
        }
        Ok(response.id)
    }
}
