//! `mars-apiserver`: the Kubernetes REST API served over the [`mars_store::Store`]
//! trait. It owns request handling (filters, endpoints, discovery, OpenAPI),
//! the generic registry with its per-kind strategies, the watch cache, and
//! authentication. It depends on the store's trait only, never on a backend:
//! the binary decides which store it gets.

pub mod auth;
pub mod discovery;
pub mod error;
pub mod openapi;
pub mod resources;
pub mod selectors;
pub mod strategy;
pub mod table;

pub use error::{ApiError, FieldError};
