//! The `Store` trait over an external etcd cluster (via `etcd-client`), for
//! users who already run etcd. Only this crate depends on `etcd-client`.
