//! One error type for every store backend, worded as etcd words it so a
//! client sees the same message whichever backend answered.

use crate::KeyValue;

/// Why a store operation was refused or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("etcdserver: key is not provided")]
    EmptyKey,
    #[error("etcdserver: key not found")]
    KeyNotFound,
    #[error("etcdserver: value is provided")]
    ValueProvided,
    #[error("etcdserver: lease is provided")]
    LeaseProvided,
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    #[error("etcdserver: invalid sort option")]
    InvalidSortOption,
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted {
        /// The store's compacted revision; reads must ask for this or later.
        compact_revision: i64,
    },
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRevision,
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    #[error("etcdserver: lease already exists")]
    LeaseExists,
    #[error("etcdserver: too large lease TTL")]
    LeaseTtlTooLarge,
    #[error("etcdserver: request is too large")]
    RequestTooLarge,
    /// A create found the key already present (the `Store` trait's create-if-absent).
    #[error("key {key:?} already exists")]
    AlreadyExists { key: String },
    /// A conditional update or delete lost the race; `current` is what the key holds now.
    #[error("key {key:?} was modified concurrently (the precondition did not hold)")]
    Conflict {
        key: String,
        current: Option<Box<KeyValue>>,
    },
    /// The key does not exist (the `Store` trait's get-or-fail paths).
    #[error("key {key:?} not found")]
    NotFound { key: String },
    /// The store cannot serve now: shutting down, disk failure, backend unreachable.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else a backend reported, in its own words.
    #[error("{0}")]
    Backend(String),
}

impl StoreError {
    /// The outcome of a failed precondition on `key`: gone (no current
    /// value), or changed under the caller.
    pub fn lost_race(key: &[u8], current: Option<KeyValue>) -> Self {
        match current {
            None => StoreError::NotFound {
                key: Self::key_text(key),
            },
            Some(current) => StoreError::Conflict {
                key: Self::key_text(key),
                current: Some(Box::new(current)),
            },
        }
    }

    /// A key rendered for messages: keys are bytes but nearly always UTF-8 paths.
    pub fn key_text(key: &[u8]) -> String {
        String::from_utf8_lossy(key).into_owned()
    }
}
