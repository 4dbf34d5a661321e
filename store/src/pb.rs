//! Generated wire types: etcd's v3 API (`etcdserverpb`, `mvccpb`) and Mars's
//! log record (`marspb`). The engine speaks these types directly, as etcd's
//! own server does, so a request is encoded once for the wire, the log and
//! (later) Raft.

#![allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used)]

/// etcd's key-value and event types.
pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}

/// etcd's v3 request, response and service types.
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}

/// Mars's write-ahead-log command and snapshot records.
pub mod marspb {
    tonic::include_proto!("marspb");
}
