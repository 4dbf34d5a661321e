//! Discovery documents: `/version`, legacy discovery (`/api`, `/apis`,
//! `/api/v1`, `/apis/<group>[/<version>]`) and aggregated discovery
//! (`apidiscovery.k8s.io/v2`), built from the resource table.

use serde_json::{Value, json};

use crate::resources::ResourceDef;

/// The Kubernetes version Mars reports; clients pick behaviour by it.
pub const KUBERNETES_MINOR: &str = "33";

/// `/version`.
pub fn version_info() -> Value {
    json!({"major": "1", "minor": KUBERNETES_MINOR, "gitVersion": format!("v1.{KUBERNETES_MINOR}.0")})
}

/// `/api`: `APIVersions`.
pub fn api_versions(server_address: &str) -> Value {
    let _ = server_address;
    json!({"kind": "APIVersions", "versions": ["v1"]})
}

/// `/apis`: `APIGroupList` over the non-core groups of `resources`.
pub fn api_groups(resources: &[ResourceDef]) -> Value {
    let _ = resources;
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
}

/// `/apis/<group>`: `APIGroup`, if served.
pub fn api_group(resources: &[ResourceDef], group: &str) -> Option<Value> {
    let _ = (resources, group);
    None
}

/// `/api/v1` or `/apis/<group>/<version>`: `APIResourceList`, if served.
pub fn resource_list(resources: &[ResourceDef], group: &str, version: &str) -> Option<Value> {
    let _ = (resources, group, version);
    None
}

/// Aggregated discovery (`APIGroupDiscoveryList`) of the core group
/// (`legacy`, served at `/api`) or of every other group (`/apis`).
pub fn aggregated(resources: &[ResourceDef], legacy: bool) -> Value {
    let _ = (resources, legacy);
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": []})
}
