//! Structured merge for Kubernetes objects: what kube-apiserver gets from
//! structured-merge-diff and its patch libraries, written over
//! `serde_json::Value`.
//!
//! - [`Schema`] is the type model: structs, maps, lists with their list
//!   type (`atomic`, `set`, `map` with keys) and patch metadata, compiled
//!   from OpenAPI v3 schemas (the built-in definitions, a CRD's schema).
//! - [`patch`] applies JSON, merge and strategic merge patches.
//! - [`Set`] is a set of field paths (the `FieldsV1` of `managedFields`);
//!   [`typed`] computes them from objects, compares, merges and prunes.
//! - [`manager`] is server-side apply and update attribution: who owns
//!   which field, conflicts, `force`, removal of fields an applier dropped.
//! - [`strict`] finds unknown and duplicate fields for `fieldValidation`.
//!
//! The crate is pure logic: no IO, no clock (callers pass timestamps), no
//! knowledge of the API server or the store.

pub mod manager;
pub mod patch;
mod path;
mod schema;
mod set;
pub mod strict;
pub mod typed;

pub use path::{Path, PathElement};
pub use schema::{Field, ListKey, ListKind, Node, Schema, TypeId};
pub use set::Set;
