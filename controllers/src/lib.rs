//! Kubernetes's built-in reconcile loops, run by `mars server` as ordinary
//! controllers: each talks to the API over its public endpoint through a
//! `kube::Client` (never to the store), so each would work against any
//! kube-apiserver too. Each controller keeps its decisions in a pure
//! `plan` function (desired and observed state in, actions out), tested
//! without IO; its module wires the plan to watches and writes.
//!
//! Depends on `kube`, `k8s-openapi` and `mars-informer` only: never on the API server or
//! the store.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpointslice;
pub mod garbage_collector;
pub mod history;
pub mod job;
pub mod namespace;
pub mod nodelifecycle;
pub mod pods;
pub mod replicaset;
pub mod serviceaccount;
pub mod statefulset;

pub mod cache;
mod catalog;
mod claim;
mod sync;
mod work_queue;

pub use catalog::{ALL, Context, Controller, select};
