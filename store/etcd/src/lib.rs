//! The `Store` trait over an external etcd cluster (via `etcd-client`), for
//! users who already run etcd. Only this crate depends on `etcd-client`.
//!
//! What it owns:
//! - [`EtcdStore`]: one `etcd_client::Client` and the translation of each
//!   `Store` method into the same etcd request the embedded backend runs
//!   internally (a guarded transaction where Kubernetes needs a
//!   precondition), so both backends answer with the same values and the
//!   same `StoreError` variants.
//! - The mapping of etcd's gRPC errors onto `StoreError` (one function,
//!   `error::store_error`), by etcd's own error messages.
//! - Watches: an etcd watch stream per `Store::watch`, translated into
//!   `WatchMessage`s and cancelled when the returned stream is dropped.
//!
//! Nothing received from the network is unwrapped: a missing field becomes
//! a default or a `StoreError::Backend`.

mod convert;
mod error;
mod store;
mod watch;

pub use store::EtcdStore;
