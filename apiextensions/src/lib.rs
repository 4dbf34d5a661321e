//! The CustomResourceDefinition schema machinery kube-apiserver's
//! `apiextensions-apiserver` owns: structural-schema checks, validation of
//! custom objects against a CRD's `openAPIV3Schema`, pruning of unknown
//! fields, defaulting and `x-kubernetes-validations` CEL rules.
//!
//! Pure logic over `serde_json::Value`: no IO, no clock, nothing of Mars's
//! other crates. The API server calls it; so could any tool.

mod field_error;

pub use field_error::{FieldError, render_value};

pub mod cel;
