//! Per-kind behaviour of the generic registry: defaulting and validation of
//! built-in kinds, as kube-apiserver's strategies and `pkg/apis/*/validation` do.

pub mod defaults;
pub mod validation;
