//! OpenAPI v2 and v3 documents of every served type, generated from the
//! k8s-openapi Rust types (their schemars schemas) plus the
//! `x-kubernetes-*` extensions clients rely on: kubectl maps kinds to
//! schemas by `x-kubernetes-group-version-kind`, `kubectl explain` reads the
//! v3 documents, and client-side apply reads the patch metadata (from v3
//! since kubectl 1.29, before that from v2 in protobuf: [`v2_protobuf`]).

mod gnostic;
mod kinds;
mod params;
mod paths;
mod schemas;
mod upstream;
mod upstream_table;

use serde_json::{Value, json};

use crate::discovery::{GIT_VERSION, group_versions};
use crate::resources::ResourceDef;

pub use gnostic::{V2_PROTOBUF_CONTENT_TYPE, V2_PROTOBUF_MEDIA_TYPE, v2_protobuf};

/// Every definition the served kinds use, in OpenAPI v3 form: the schemas
/// patches, server-side apply and field validation read.
pub fn type_definitions(resources: &[ResourceDef]) -> serde_json::Map<String, Value> {
    schemas::generate(Format::V3, resources, resources)
}

/// The definition name of a kind (`io.k8s.api.apps.v1.Deployment`).
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    schemas::definition_name(group, version, kind)
}

/// `/openapi/v2`: one Swagger 2.0 document of every resource.
pub fn v2(resources: &[ResourceDef]) -> Value {
    let format = Format::V2;
    let paths = paths::render(&Document::All, resources, format);
    let all = schemas::generate(format, resources, resources);
    let definitions = schemas::referenced(&all, &paths, format);
    json!({
        "swagger": "2.0",
        "info": info(),
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": bearer_token()},
        "security": [{"BearerToken": []}],
    })
}

/// `/openapi/v3`: the index of group-version documents, each URL carrying
/// a hash of its document so clients can cache it.
pub fn v3_index(resources: &[ResourceDef]) -> Value {
    let mut paths = serde_json::Map::new();
    for path in v3_paths(resources) {
        if let Some(document) = v3(resources, &path) {
            let url = format!("/openapi/v3/{path}?hash={}", content_hash(&document));
            paths.insert(path, json!({"serverRelativeURL": url}));
        }
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<api/v1 | apis/group/version>`: the document of one group
/// version, if served. `path` is the part after `/openapi/v3/`; the index's
/// other documents (`api`, `apis`, `apis/<group>`, `version`) describe the
/// discovery endpoints.
pub fn v3(resources: &[ResourceDef], path: &str) -> Option<Value> {
    let document = Document::parse(resources, path)?;
    let format = Format::V3;
    let paths = paths::render(&document, resources, format);
    let roots = resources.iter().filter(|r| document.serves(r));
    let all = schemas::generate(format, resources, roots);
    let schemas = schemas::referenced(&all, &paths, format);
    Some(json!({
        "openapi": "3.0.0",
        "info": info(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"BearerToken": bearer_token()},
        },
    }))
}

/// Which OpenAPI dialect a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Swagger 2.0: definitions under `#/definitions/`.
    V2,
    /// OpenAPI 3.0: definitions under `#/components/schemas/`.
    V3,
}

impl Format {
    /// How `$ref`s to a definition start.
    fn ref_prefix(self) -> &'static str {
        match self {
            Format::V2 => "#/definitions/",
            Format::V3 => "#/components/schemas/",
        }
    }

    /// A `$ref` schema pointing at the definition `name`.
    fn schema_ref(self, name: &str) -> Value {
        json!({"$ref": format!("{}{name}", self.ref_prefix())})
    }
}

/// What one document covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Document<'a> {
    /// Everything: the Swagger 2.0 document.
    All,
    /// `version`: `/version/`.
    Version,
    /// `api`: `/api/`.
    Core,
    /// `apis`: `/apis/`.
    Apis,
    /// `apis/<group>`: `/apis/<group>/`.
    Group(&'a str),
    /// `api/v1` or `apis/<group>/<version>`: every endpoint of the version.
    GroupVersion(&'a str, &'a str),
}

impl<'a> Document<'a> {
    /// The v3 document at `path` (`apis/apps/v1`), if served.
    fn parse(resources: &[ResourceDef], path: &'a str) -> Option<Self> {
        let path = path.trim_matches('/');
        let served = |group: &str, version: Option<&str>| {
            resources
                .iter()
                .any(|r| r.group == group && version.is_none_or(|v| r.version == v))
        };
        let segments: Vec<&'a str> = path.split('/').collect();
        match segments.as_slice() {
            ["version"] => Some(Document::Version),
            ["api"] => Some(Document::Core),
            ["apis"] => Some(Document::Apis),
            ["api", version] if served("", Some(version)) => {
                Some(Document::GroupVersion("", version))
            }
            ["apis", group] if !group.is_empty() && served(group, None) => {
                Some(Document::Group(group))
            }
            ["apis", group, version] if !group.is_empty() && served(group, Some(version)) => {
                Some(Document::GroupVersion(group, version))
            }
            _ => None,
        }
    }

    /// Whether the document describes `resource`'s endpoints.
    fn serves(&self, resource: &ResourceDef) -> bool {
        match self {
            Document::All => true,
            Document::GroupVersion(group, version) => {
                resource.group == *group && resource.version == *version
            }
            _ => false,
        }
    }
}

/// Every v3 document path, as the index lists them.
fn v3_paths(resources: &[ResourceDef]) -> Vec<String> {
    let mut paths = vec!["api".to_string(), "apis".to_string(), "version".to_string()];
    for (group, versions) in group_versions(resources) {
        if group.is_empty() {
            paths.extend(versions.iter().map(|v| format!("api/{v}")));
        } else {
            paths.push(format!("apis/{group}"));
            paths.extend(versions.iter().map(|v| format!("apis/{group}/{v}")));
        }
    }
    paths.sort();
    paths
}

fn info() -> Value {
    json!({"title": "Kubernetes", "version": GIT_VERSION})
}

fn bearer_token() -> Value {
    json!({
        "type": "apiKey",
        "description": "Bearer Token authentication",
        "name": "authorization",
        "in": "header",
    })
}

/// An uppercase hex digest of a document's JSON: 128-bit FNV-1a, enough
/// to tell versions of a document apart (kube-apiserver uses SHA-512;
/// clients treat the value as opaque).
fn content_hash(document: &Value) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let bytes = serde_json::to_vec(document).unwrap_or_default();
    let hash = bytes.iter().fold(OFFSET, |hash, &byte| {
        (hash ^ u128::from(byte)).wrapping_mul(PRIME)
    });
    format!("{hash:032X}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::BUILTIN;

    fn property<'a>(schema: &'a Value, field: &str) -> &'a Value {
        &schema["properties"][field]
    }

    #[test]
    fn v2_deployment_has_gvk_and_pod_spec_patch_metadata() {
        let doc = v2(BUILTIN);
        assert_eq!(doc["swagger"], "2.0");
        let definitions = &doc["definitions"];
        assert_eq!(
            definitions["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        let pod_spec = &definitions["io.k8s.api.core.v1.PodSpec"];
        let containers = property(pod_spec, "containers");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(
            containers["items"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.Container"
        );
        let volumes = property(pod_spec, "volumes");
        assert_eq!(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
        assert_eq!(
            property(pod_spec, "nodeSelector")["x-kubernetes-map-type"],
            "atomic"
        );
        let ports = property(&definitions["io.k8s.api.core.v1.Container"], "ports");
        assert_eq!(
            ports["x-kubernetes-list-map-keys"],
            json!(["containerPort", "protocol"])
        );
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
        let strategy = property(
            &definitions["io.k8s.api.apps.v1.DeploymentSpec"],
            "strategy",
        );
        assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
        let finalizers = property(
            &definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"],
            "finalizers",
        );
        assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(finalizers["x-kubernetes-list-type"], "set");
        assert_eq!(
            definitions["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"],
            "atomic"
        );
        for meta in [
            "Status",
            "WatchEvent",
            "DeleteOptions",
            "APIResourceList",
            "Patch",
        ] {
            assert!(
                definitions[format!("io.k8s.apimachinery.pkg.apis.meta.v1.{meta}")].is_object(),
                "{meta}"
            );
        }
        assert!(definitions["io.k8s.api.autoscaling.v1.Scale"].is_object());
        assert_eq!(
            doc["paths"]["/api/v1/namespaces/{namespace}/pods"]["get"]["operationId"],
            "listCoreV1NamespacedPod"
        );
        assert!(doc["paths"]["/apis/apps/"]["get"].is_object());
        assert!(doc["paths"]["/version/"]["get"].is_object());
    }

    #[test]
    fn v2_refs_all_resolve() {
        let doc = v2(BUILTIN);
        let text = doc.to_string();
        for piece in text.split("\"#/definitions/").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(doc["definitions"].get(name).is_some(), "dangling {name}");
        }
    }

    #[test]
    fn v3_index_lists_group_versions_with_hashes() {
        let index = v3_index(BUILTIN);
        let paths = index["paths"].as_object().unwrap();
        for path in [
            "api",
            "api/v1",
            "apis",
            "apis/apps",
            "apis/apps/v1",
            "apis/autoscaling/v2",
            "version",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        let url = paths["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap();
        let hash = url.strip_prefix("/openapi/v3/apis/apps/v1?hash=").unwrap();
        assert_eq!(hash.len(), 32);
        assert!(
            hash.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        let document = v3(BUILTIN, "apis/apps/v1").unwrap();
        assert_eq!(hash, content_hash(&document));
    }

    #[test]
    fn v3_core_document_explains_pods() {
        let doc = v3(BUILTIN, "api/v1").unwrap();
        assert_eq!(doc["openapi"], "3.0.0");
        let schemas = &doc["components"]["schemas"];
        let pod = &schemas["io.k8s.api.core.v1.Pod"];
        assert!(
            pod["description"]
                .as_str()
                .unwrap()
                .starts_with("Pod is a collection of containers")
        );
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "Pod", "version": "v1"}])
        );
        let containers = property(&schemas["io.k8s.api.core.v1.PodSpec"], "containers");
        assert!(containers["description"].is_string());
        assert_eq!(
            containers["items"]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.Container"
        );
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert!(schemas["io.k8s.api.core.v1.Binding"].is_object());
        assert!(schemas.get("io.k8s.api.apps.v1.Deployment").is_none());
        let text = doc.to_string();
        assert!(!text.contains("#/definitions/"));
        for piece in text.split("\"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(schemas.get(name).is_some(), "dangling {name}");
        }
    }

    #[test]
    fn v3_discovery_documents_and_unknown_paths() {
        let apps = v3(BUILTIN, "apis/apps").unwrap();
        assert_eq!(
            apps["paths"]["/apis/apps/"]["get"]["operationId"],
            "getAppsAPIGroup"
        );
        assert!(
            apps["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"]
                .is_object()
        );
        let version = v3(BUILTIN, "version").unwrap();
        assert!(
            version["components"]["schemas"]["io.k8s.apimachinery.pkg.version.Info"].is_object()
        );
        assert!(v3(BUILTIN, "apis/apps/v2").is_none());
        assert!(v3(BUILTIN, "apis/nope").is_none());
        assert!(v3(BUILTIN, "api/v2").is_none());
        assert!(v3(BUILTIN, "apis/apps/v1/").is_some());
    }
}
