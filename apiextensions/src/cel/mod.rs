//! `x-kubernetes-validations`: CEL rules compiled once per CRD version and
//! evaluated against each written object (and its stored predecessor, for
//! transition rules).
