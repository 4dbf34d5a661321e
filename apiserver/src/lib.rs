//! `mars-apiserver`: the Kubernetes REST API served over the [`mars_store::Store`]
//! trait. It owns request handling (filters, endpoints, discovery, OpenAPI),
//! the generic registry with its per-kind strategies, the watch cache, and
//! authentication. It depends on the store's trait only, never on a backend:
//! the binary decides which store it gets.

pub mod admission;
pub mod auth;
pub mod catalog;
pub mod compactor;
pub mod conversion;
pub mod crd;
pub mod discovery;
pub mod encoding;
pub mod endpoints;
pub mod error;
pub mod fields;
pub mod handler;
mod interned;
pub mod namespace_cleanup;
pub mod negotiation;
pub mod openapi;
pub mod projection;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod resources;
pub mod response;
pub mod selectors;
pub mod server;
pub mod strategy;
pub mod table;
pub mod watchcache;

pub use error::{ApiError, FieldError};
pub use server::{ApiServer, ApiServerConfig};
