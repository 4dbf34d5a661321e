//! Mars's source of truth: a multi-version key-value store with etcd v3
//! semantics.
//!
//! - [`mvcc`]: the pure engine (revisions, ranges, transactions, leases,
//!   compaction, history for watches); no IO, no clock.
//! - [`raft`]: replication with openraft — the durable Raft log, the engine
//!   as its state machine, snapshots, and the messages between members.
//! - [`embedded`]: the backend `mars server` runs by default: engine + Raft
//!   (a cluster of one, or several members) + lease expiry + watch fan-out.
//! - [`grpc`]: etcd's v3 gRPC API over the embedded backend, so `etcdctl`
//!   and any etcd client work against Mars.
//! - [`Store`]: the narrow interface the API server uses, implemented here
//!   for the embedded backend and in `mars-store-etcd` for a real etcd.
//!
//! This crate depends on nothing else of Mars's.

pub mod embedded;
pub mod error;
pub mod grpc;
pub mod mvcc;
pub mod pb;
pub mod raft;
pub mod store;
pub mod validate;
pub mod watch;

pub use embedded::{ClusterConfig, Embedded, EmbeddedConfig};
pub use error::StoreError;
pub use store::{ListPage, ListRequest, Store, WatchStream, prefix_end};
pub use watch::{WatchMessage, WatchSpec};

/// A key at one revision, as etcd returns it.
pub type KeyValue = pb::mvccpb::KeyValue;
/// A watch event, as etcd returns it.
pub type Event = pb::mvccpb::Event;
