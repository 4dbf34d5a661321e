//! The CustomResourceDefinition schema machinery kube-apiserver's
//! `apiextensions-apiserver` owns: structural-schema checks, validation of
//! custom objects against a CRD's `openAPIV3Schema`, pruning of unknown
//! fields, defaulting and `x-kubernetes-validations` CEL rules.
//!
//! Pure logic over `serde_json::Value`: no IO, no clock, nothing of Mars's
//! other crates. The API server calls it; so could any tool.

mod field_error;

pub use field_error::{FieldError, regex_error, render_value};

pub mod cel;

mod crd_checks;
mod default_checks;
mod defaults;
mod field;
mod formats;
mod go_fmt;
mod go_regex;
mod listtype;
mod node;
mod objectmeta;
mod openapi;
mod parse;
mod prune;
mod schema;
mod structural;

pub use node::{AdditionalProperties, JsonType, ListType, MapType, Node};
pub use schema::Structural;

#[cfg(test)]
mod tests;
