//! The node agent. For now only its simulated nodes: `mars agent
//! --simulate N --site S` registers N nodes, renews their Leases and makes
//! the pods bound to them Running and Ready with realistic status, so the
//! whole pipeline runs and scales on one machine without a container
//! runtime.
//!
//! Depends on `kube`, `k8s-openapi` and `mars-informer` only.

pub mod simulate;
