//! Store trait over etcd
