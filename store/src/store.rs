//! The `Store` trait: what the API server needs from storage, and nothing
//! more — the shape of Kubernetes' `storage.Interface` over etcd primitives.
//! The embedded backend and the external-etcd backend both implement it, and
//! the API server never knows which one it has.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::watch::{WatchMessage, WatchSpec};
use crate::{KeyValue, StoreError};

/// A page of a list, read at one revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    pub kvs: Vec<KeyValue>,
    /// The revision the page was read at; later pages must ask for it.
    pub revision: i64,
    /// More keys follow in the range.
    pub more: bool,
    /// How many keys follow this page (Kubernetes' `remainingItemCount`).
    pub remaining: i64,
}

impl ListPage {
    /// Where the next page starts: just after this page's last key.
    pub fn continue_key(&self) -> Option<Bytes> {
        if !self.more {
            return None;
        }
        let last = self.kvs.last()?;
        let mut next = last.key.to_vec();
        next.push(0);
        Some(next.into())
    }
}

/// A list request: keys in `[key, range_end)` (etcd conventions) read at
/// `revision` (0 = now), at most `limit` (0 = all) of them.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub key: Bytes,
    pub range_end: Bytes,
    pub revision: i64,
    pub limit: i64,
}

impl ListRequest {
    /// Every key starting with `prefix`.
    pub fn prefix(prefix: impl Into<Bytes>) -> Self {
        let key: Bytes = prefix.into();
        Self {
            range_end: prefix_end(&key),
            key,
            ..Self::default()
        }
    }
}

/// The smallest key greater than every key with this prefix (etcd's
/// `GetPrefixRangeEnd`); `"\0"` (everything) when the prefix is all `0xff`.
pub fn prefix_end(prefix: &[u8]) -> Bytes {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end.into();
        }
    }
    Bytes::from_static(&[0])
}

/// The key's state after a put at `revision` over `prev` (`None`: the put
/// created it): what `create` and `update` return, whichever backend ran them.
pub fn written(
    key: &[u8],
    value: Bytes,
    lease: i64,
    revision: i64,
    prev: Option<&KeyValue>,
) -> KeyValue {
    KeyValue {
        key: Bytes::copy_from_slice(key),
        create_revision: prev.map_or(revision, |p| p.create_revision),
        mod_revision: revision,
        version: prev.map_or(1, |p| p.version + 1),
        value,
        lease,
    }
}

/// Messages of one watch: events (in revision order) or progress notifications.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchMessage, StoreError>> + Send>>;

/// Storage for the API server. Keys are bytes (`/registry/...` paths), values
/// are bytes; every write returns the key's new state with its revisions.
#[async_trait]
pub trait Store: Send + Sync {
    /// The key's current value, if any.
    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError>;

    /// A page of keys at one revision.
    async fn list(&self, request: &ListRequest) -> Result<ListPage, StoreError>;

    /// Creates the key; `AlreadyExists` if it is present. `lease` 0 means none.
    async fn create(&self, key: &[u8], value: Bytes, lease: i64) -> Result<KeyValue, StoreError>;

    /// Replaces the value if the key's mod revision is still
    /// `expected_mod_revision` (compare-and-swap); `Conflict` with the current
    /// value otherwise, `NotFound` if the key is gone.
    async fn update(
        &self,
        key: &[u8],
        value: Bytes,
        expected_mod_revision: i64,
        lease: i64,
    ) -> Result<KeyValue, StoreError>;

    /// Deletes the key, if `expected_mod_revision` (when given) still holds;
    /// returns what it held.
    async fn delete(
        &self,
        key: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError>;

    /// Events for the watched range from `spec.start_revision` on (history
    /// first, then live).
    async fn watch(&self, spec: WatchSpec) -> Result<WatchStream, StoreError>;

    /// Discards history below `revision`.
    async fn compact(&self, revision: i64) -> Result<(), StoreError>;

    /// The revision of the latest write.
    async fn current_revision(&self) -> Result<i64, StoreError>;

    /// A lease that deletes its keys after `ttl_seconds` unless renewed.
    async fn grant_lease(&self, ttl_seconds: i64) -> Result<i64, StoreError>;
}
