//! The Mars binary as a library: the CLI and the composition of the crates
//! into a running server, so end-to-end tests can start it in-process too.

pub mod agent;
pub mod bench;
pub mod bench_api;
pub mod bench_failover;
pub mod bench_pods;
pub mod cli;
pub mod cluster;
pub mod components;
pub mod in_flight;
pub mod server;
