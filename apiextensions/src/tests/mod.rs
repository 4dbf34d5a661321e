//! Table tests of the public API against kube-apiserver's behaviour.

mod compile_table;
mod defaults_table;
mod performance;
mod prune_table;
mod reference;
mod support;
mod validate_table;
