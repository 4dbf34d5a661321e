//! The `paths` of the OpenAPI documents: every endpoint of every resource
//! (list, create, deletecollection, read, replace, patch, delete, watch and
//! subresources) plus the discovery endpoints, named and described as
//! kube-apiserver names them (`listCoreV1NamespacedPod`), modelled once and
//! rendered as Swagger 2.0 or OpenAPI 3.

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::version;
use serde_json::{Map, Value, json};

use super::params::{self, Param};
use super::schemas::{definition_name, name_of};
use super::{Document, Format};
use crate::discovery::{group_versions, subresource_kind};
use crate::resources::{ResourceDef, Subresource};

/// The media types Mars answers with.
const OBJECT_MEDIA: &[&str] = &["application/json", "application/yaml"];
const STREAM_MEDIA: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/json;stream=watch",
];
const PATCH_MEDIA: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];
const CUSTOM_PATCH_MEDIA: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

/// Kinds whose delete answers with the deleted object, not a `Status`.
const DELETE_RETURNS_OBJECT: &[&str] = &[
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodTemplate",
    "ResourceQuota",
    "Service",
    "ServiceAccount",
    "StorageClass",
];

/// An operation's request body.
#[derive(Debug, Clone)]
enum Body {
    /// An object of the named definition.
    Object(String),
    /// A patch; custom resources take every type but strategic merge
    /// (kubectl picks its patch type from this list).
    Patch {
        strategic: bool,
    },
    DeleteOptions,
}

/// One operation of one path.
#[derive(Debug, Clone)]
struct Operation {
    method: &'static str,
    id: String,
    description: String,
    /// `x-kubernetes-action`, with `x-kubernetes-group-version-kind`.
    action: Option<(&'static str, Gvk)>,
    tag: String,
    params: Vec<Param>,
    body: Option<Body>,
    /// Success codes, all answered with `response`.
    codes: &'static [u16],
    response: String,
    media: &'static [&'static str],
}

#[derive(Debug, Clone, Copy)]
struct Gvk {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
}

/// The `paths` object of a document.
pub(super) fn render(document: &Document, resources: &[ResourceDef], format: Format) -> Value {
    let mut paths: Vec<(String, Vec<Operation>)> = Vec::new();
    let mut add =
        |path: String, operation: Operation| match paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, operations)) => operations.push(operation),
            None => paths.push((path, vec![operation])),
        };
    for (path, operation) in operations(document, resources) {
        add(path, operation);
    }
    let rendered: Map<String, Value> = paths
        .into_iter()
        .map(|(path, operations)| (path, render_path(&operations, format)))
        .collect();
    Value::Object(rendered)
}

/// The operations of a document, each with its path.
fn operations(document: &Document, resources: &[ResourceDef]) -> Vec<(String, Operation)> {
    match document {
        Document::Version => vec![discovery_get(
            "/version/",
            "getCodeVersion",
            "get the code version",
            "version",
            name_of::<version::Info>(),
        )],
        Document::Core => vec![discovery_get(
            "/api/",
            "getCoreAPIVersions",
            "get available API versions",
            "core",
            name_of::<meta::APIVersions>(),
        )],
        Document::Apis => vec![discovery_get(
            "/apis/",
            "getAPIVersions",
            "get available API versions",
            "apis",
            name_of::<meta::APIGroupList>(),
        )],
        Document::Group(group) => vec![group_get(group)],
        Document::GroupVersion(group, version) => {
            group_version_operations(resources, group, version)
        }
        Document::All => all_operations(resources),
    }
}

/// Every operation of every document (the single Swagger 2.0 document).
fn all_operations(resources: &[ResourceDef]) -> Vec<(String, Operation)> {
    let mut all = operations(&Document::Version, resources);
    all.extend(operations(&Document::Core, resources));
    all.extend(operations(&Document::Apis, resources));
    for (group, versions) in group_versions(resources) {
        if !group.is_empty() {
            all.push(group_get(group));
        }
        for version in versions {
            all.extend(group_version_operations(resources, group, version));
        }
    }
    all
}

fn discovery_get(
    path: &str,
    id: &str,
    description: &str,
    tag: &str,
    response: String,
) -> (String, Operation) {
    let operation = Operation {
        method: "get",
        id: id.to_string(),
        description: description.to_string(),
        action: None,
        tag: tag.to_string(),
        params: Vec::new(),
        body: None,
        codes: &[200],
        response,
        media: OBJECT_MEDIA,
    };
    (path.to_string(), operation)
}

/// `GET /apis/<group>/`: the group's `APIGroup`.
fn group_get(group: &str) -> (String, Operation) {
    discovery_get(
        &format!("/apis/{group}/"),
        &format!("get{}APIGroup", upper_camel(group)),
        "get information of a group",
        &lower_camel(group),
        name_of::<meta::APIGroup>(),
    )
}

/// The discovery endpoint and every resource endpoint of a group version.
fn group_version_operations(
    resources: &[ResourceDef],
    group: &str,
    version: &str,
) -> Vec<(String, Operation)> {
    let prefix = url_prefix(group, version);
    let mut all = vec![discovery_get(
        &format!("{prefix}/"),
        &format!("get{}APIResources", id_prefix(group, version)),
        "get available resources",
        &tag(group, version),
        name_of::<meta::APIResourceList>(),
    )];
    for r in resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        all.extend(ResourceOperations::new(r).all());
    }
    all
}

/// Builds one resource's operations.
struct ResourceOperations<'a> {
    r: &'a ResourceDef,
    /// `CoreV1`, `AppsV1`: the group part of operation ids.
    id_prefix: String,
    /// `Namespaced` for namespaced resources.
    scope: &'static str,
    tag: String,
    object: String,
    gvk: Gvk,
}

impl<'a> ResourceOperations<'a> {
    fn new(r: &'a ResourceDef) -> Self {
        ResourceOperations {
            r,
            id_prefix: id_prefix(r.group, r.version),
            scope: if r.namespaced { "Namespaced" } else { "" },
            tag: tag(r.group, r.version),
            object: definition_name(r.group, r.version, r.kind),
            gvk: Gvk {
                group: r.group,
                version: r.version,
                kind: r.kind,
            },
        }
    }

    fn all(&self) -> Vec<(String, Operation)> {
        let mut all = Vec::new();
        all.extend(self.collection());
        all.extend(self.item());
        for &sub in self.r.subresources {
            all.extend(self.subresource(sub));
        }
        all.extend(self.watches());
        all
    }

    fn allows(&self, verb: &str) -> bool {
        self.r.verbs.allows(verb)
    }

    /// `/api/v1/namespaces/{namespace}/pods` or `/api/v1/nodes`.
    fn collection_path(&self, watch: bool) -> String {
        let prefix = url_prefix(self.r.group, self.r.version);
        let watch = if watch { "/watch" } else { "" };
        let namespace = if self.r.namespaced {
            "/namespaces/{namespace}"
        } else {
            ""
        };
        format!("{prefix}{watch}{namespace}/{}", self.r.plural)
    }

    /// The path parameters and `pretty`, which every operation takes.
    fn common(&self, named: bool) -> Vec<Param> {
        let mut params = vec![Param::Pretty];
        if self.r.namespaced {
            params.push(Param::Namespace);
        }
        if named {
            params.push(Param::Name(self.r.kind));
        }
        params
    }

    fn operation(&self, method: &'static str, verb: &str, action: &'static str) -> Operation {
        Operation {
            method,
            id: format!("{verb}{}{}{}", self.id_prefix, self.scope, self.r.kind),
            description: String::new(),
            action: Some((action, self.gvk)),
            tag: self.tag.clone(),
            params: Vec::new(),
            body: None,
            codes: &[200],
            response: self.object.clone(),
            media: OBJECT_MEDIA,
        }
    }

    fn collection(&self) -> Vec<(String, Operation)> {
        let kind = self.r.kind;
        let mut operations = Vec::new();
        if self.allows("list") {
            let watch = if self.allows("watch") {
                " or watch"
            } else {
                ""
            };
            operations.push(Operation {
                description: format!("list{watch} objects of kind {kind}"),
                params: [self.common(false), params::LIST.to_vec()].concat(),
                response: format!("{}List", self.object),
                media: STREAM_MEDIA,
                ..self.operation("get", "list", "list")
            });
        }
        if self.allows("create") {
            operations.push(Operation {
                description: format!("create{}{kind}", article(kind)),
                params: [self.common(false), params::WRITE.to_vec()].concat(),
                body: Some(Body::Object(self.object.clone())),
                codes: &[200, 201, 202],
                ..self.operation("post", "create", "post")
            });
        }
        if self.allows("deletecollection") {
            let mut delete = self.operation("delete", "delete", "deletecollection");
            delete.id = format!("delete{}Collection{}{kind}", self.id_prefix, self.scope);
            operations.push(Operation {
                description: format!("delete collection of {kind}"),
                params: [self.common(false), params::DELETE_COLLECTION.to_vec()].concat(),
                body: Some(Body::DeleteOptions),
                response: name_of::<meta::Status>(),
                ..delete
            });
        }
        let mut paths: Vec<(String, Operation)> = operations
            .into_iter()
            .map(|operation| (self.collection_path(false), operation))
            .collect();
        if self.r.namespaced && self.allows("list") {
            paths.push((
                format!(
                    "{}/{}",
                    url_prefix(self.r.group, self.r.version),
                    self.r.plural
                ),
                Operation {
                    id: format!("list{}{kind}ForAllNamespaces", self.id_prefix),
                    description: format!("list or watch objects of kind {kind}"),
                    params: [vec![Param::Pretty], params::LIST.to_vec()].concat(),
                    response: format!("{}List", self.object),
                    media: STREAM_MEDIA,
                    ..self.operation("get", "list", "list")
                },
            ));
        }
        paths
    }

    fn item(&self) -> Vec<(String, Operation)> {
        let kind = self.r.kind;
        let mut operations = Vec::new();
        if self.allows("get") {
            operations.push(Operation {
                description: format!("read the specified {kind}"),
                params: self.common(true),
                ..self.operation("get", "read", "get")
            });
        }
        if self.allows("update") {
            operations.push(Operation {
                description: format!("replace the specified {kind}"),
                params: [self.common(true), params::WRITE.to_vec()].concat(),
                body: Some(Body::Object(self.object.clone())),
                codes: &[200, 201],
                ..self.operation("put", "replace", "put")
            });
        }
        if self.allows("delete") {
            let response = if DELETE_RETURNS_OBJECT.contains(&kind) {
                self.object.clone()
            } else {
                name_of::<meta::Status>()
            };
            operations.push(Operation {
                description: format!("delete{}{kind}", article(kind)),
                params: [self.common(true), params::DELETE.to_vec()].concat(),
                body: Some(Body::DeleteOptions),
                codes: &[200, 202],
                response,
                ..self.operation("delete", "delete", "delete")
            });
        }
        if self.allows("patch") {
            operations.push(Operation {
                description: format!("partially update the specified {kind}"),
                params: [self.common(true), params::PATCH.to_vec()].concat(),
                body: Some(Body::Patch {
                    strategic: self.r.custom.is_none(),
                }),
                codes: &[200, 201],
                ..self.operation("patch", "patch", "patch")
            });
        }
        let path = format!("{}/{{name}}", self.collection_path(false));
        operations
            .into_iter()
            .map(|operation| (path.clone(), operation))
            .collect()
    }

    /// `…/{name}/status` and the like: the object the subresource reads
    /// and writes, under its own operation ids (`readCoreV1NamespacedPodStatus`).
    fn subresource(&self, sub: Subresource) -> Vec<(String, Operation)> {
        let kind = self.r.kind;
        let response = subresource_kind(self.r, sub);
        let (group, version) = response
            .group_version
            .unwrap_or((self.r.group, self.r.version));
        let object = definition_name(group, version, response.kind);
        let gvk = Gvk {
            group,
            version,
            kind: response.kind,
        };
        let name = sub.name();
        let suffix = capitalize(name);
        let with = |verb: &str, action: &'static str, description: String| Operation {
            id: format!("{verb}{}{}{kind}{suffix}", self.id_prefix, self.scope),
            description,
            action: Some((action, gvk)),
            response: object.clone(),
            ..self.operation("get", verb, action)
        };
        let mut operations = Vec::new();
        if response.verbs.contains(&"get") {
            operations.push(Operation {
                params: self.common(true),
                ..with(
                    "read",
                    "get",
                    format!("read {name} of the specified {kind}"),
                )
            });
        }
        if response.verbs.contains(&"create") {
            operations.push(Operation {
                method: "post",
                params: [self.common(true), params::WRITE.to_vec()].concat(),
                body: Some(Body::Object(object.clone())),
                codes: &[200, 201, 202],
                ..with(
                    "create",
                    "post",
                    format!("create {name} of{}{kind}", article(kind)),
                )
            });
        }
        if response.verbs.contains(&"update") {
            operations.push(Operation {
                method: "put",
                params: [self.common(true), params::WRITE.to_vec()].concat(),
                body: Some(Body::Object(object.clone())),
                codes: &[200, 201],
                ..with(
                    "replace",
                    "put",
                    format!("replace {name} of the specified {kind}"),
                )
            });
        }
        if response.verbs.contains(&"patch") {
            operations.push(Operation {
                method: "patch",
                params: [self.common(true), params::PATCH.to_vec()].concat(),
                body: Some(Body::Patch {
                    strategic: self.r.custom.is_none(),
                }),
                codes: &[200, 201],
                ..with(
                    "patch",
                    "patch",
                    format!("partially update {name} of the specified {kind}"),
                )
            });
        }
        let path = format!("{}/{{name}}/{name}", self.collection_path(false));
        operations
            .into_iter()
            .map(|operation| (path.clone(), operation))
            .collect()
    }

    /// The deprecated `/watch/` paths.
    fn watches(&self) -> Vec<(String, Operation)> {
        if !self.allows("watch") {
            return Vec::new();
        }
        let kind = self.r.kind;
        const DEPRECATED: &str =
            "deprecated: use the 'watch' parameter with a list operation instead";
        let watch =
            |id: String, action: &'static str, description: String, params: Vec<Param>| Operation {
                id,
                description,
                params: [params, params::LIST.to_vec()].concat(),
                response: name_of::<meta::WatchEvent<()>>(),
                media: STREAM_MEDIA,
                ..self.operation("get", "watch", action)
            };
        let list_description =
            format!("watch individual changes to a list of {kind}. {DEPRECATED}.");
        let collection = self.collection_path(true);
        let mut paths = vec![
            (
                collection.clone(),
                watch(
                    format!("watch{}{}{kind}List", self.id_prefix, self.scope),
                    "watchlist",
                    list_description.clone(),
                    self.common(false),
                ),
            ),
            (
                format!("{collection}/{{name}}"),
                watch(
                    format!("watch{}{}{kind}", self.id_prefix, self.scope),
                    "watch",
                    format!(
                        "watch changes to an object of kind {kind}. {DEPRECATED}, filtered to a single item with the 'fieldSelector' parameter."
                    ),
                    self.common(true),
                ),
            ),
        ];
        if self.r.namespaced {
            paths.push((
                format!(
                    "{}/watch/{}",
                    url_prefix(self.r.group, self.r.version),
                    self.r.plural
                ),
                watch(
                    format!("watch{}{kind}ListForAllNamespaces", self.id_prefix),
                    "watchlist",
                    list_description,
                    vec![Param::Pretty],
                ),
            ));
        }
        paths
    }
}

/// `/api/v1` or `/apis/<group>/<version>`.
fn url_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// The group's words: `rbac.authorization.k8s.io` is `rbac`,
/// `authorization`; the core group is `core`.
fn group_words(group: &str) -> Vec<&str> {
    if group.is_empty() {
        return vec!["core"];
    }
    let group = group.strip_suffix(".k8s.io").unwrap_or(group);
    group.split(['.', '-']).filter(|w| !w.is_empty()).collect()
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `RbacAuthorization`.
fn upper_camel(group: &str) -> String {
    group_words(group).into_iter().map(capitalize).collect()
}

/// `rbacAuthorization`: kube's tag of a group.
fn lower_camel(group: &str) -> String {
    let words = group_words(group);
    let mut out = String::new();
    for (i, word) in words.into_iter().enumerate() {
        if i == 0 {
            out.push_str(word);
        } else {
            out.push_str(&capitalize(word));
        }
    }
    out
}

/// `CoreV1`, `RbacAuthorizationV1`: the group-version part of operation ids.
fn id_prefix(group: &str, version: &str) -> String {
    format!("{}{}", upper_camel(group), capitalize(version))
}

/// `core_v1`, `rbacAuthorization_v1`: the tag of a group version's operations.
fn tag(group: &str, version: &str) -> String {
    format!("{}_{version}", lower_camel(group))
}

/// kube's article before a kind in descriptions: none for plurals
/// (`Endpoints`), `an` before vowels, else `a`; padded with spaces.
fn article(kind: &str) -> &'static str {
    if kind.ends_with('s') && !kind.ends_with("ss") {
        " "
    } else if kind.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        " an "
    } else {
        " a "
    }
}

/// A path item: the parameters every operation shares move to the path,
/// sorted by name, as kube-apiserver writes them.
fn render_path(operations: &[Operation], format: Format) -> Value {
    let shared: Vec<Param> = match operations.split_first() {
        Some((first, rest)) => {
            let mut shared: Vec<Param> = first
                .params
                .iter()
                .copied()
                .filter(|p| rest.iter().all(|o| o.params.contains(p)))
                .collect();
            sort_params(&mut shared);
            shared
        }
        None => Vec::new(),
    };
    let mut item = Map::new();
    for operation in operations {
        let mut own: Vec<Param> = operation
            .params
            .iter()
            .copied()
            .filter(|p| !shared.contains(p))
            .collect();
        sort_params(&mut own);
        item.insert(
            operation.method.into(),
            render_operation(operation, &own, format),
        );
    }
    if !shared.is_empty() {
        let shared: Vec<Value> = shared.into_iter().map(|p| p.to_json(format)).collect();
        item.insert("parameters".into(), shared.into());
    }
    Value::Object(item)
}

fn sort_params(params: &mut [Param]) {
    params.sort_by_key(|p| p.name());
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        _ => "Unauthorized",
    }
}

fn render_operation(operation: &Operation, params: &[Param], format: Format) -> Value {
    let mut out = match format {
        Format::V2 => render_v2(operation, params),
        Format::V3 => render_v3(operation, params),
    };
    if let Some((action, gvk)) = operation.action {
        out["x-kubernetes-action"] = action.into();
        out["x-kubernetes-group-version-kind"] =
            json!({"group": gvk.group, "version": gvk.version, "kind": gvk.kind});
    }
    out
}

fn body_schema(body: &Body) -> String {
    match body {
        Body::Object(name) => name.clone(),
        Body::Patch { .. } => name_of::<meta::Patch>(),
        Body::DeleteOptions => name_of::<meta::DeleteOptions>(),
    }
}

fn render_v2(operation: &Operation, params: &[Param]) -> Value {
    let consumes: &[&str] = match operation.body {
        Some(Body::Patch { strategic: true }) => PATCH_MEDIA,
        Some(Body::Patch { strategic: false }) => CUSTOM_PATCH_MEDIA,
        _ => &["*/*"],
    };
    let mut parameters: Vec<Value> = Vec::new();
    if let Some(body) = &operation.body {
        let mut param = json!({"name": "body", "in": "body", "schema": Format::V2.schema_ref(&body_schema(body))});
        if !matches!(body, Body::DeleteOptions) {
            param["required"] = true.into();
        }
        parameters.push(param);
    }
    parameters.extend(params.iter().map(|p| p.to_json(Format::V2)));
    let mut responses = Map::new();
    for &code in operation.codes {
        responses.insert(
            code.to_string(),
            json!({"description": status_text(code), "schema": Format::V2.schema_ref(&operation.response)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let mut out = json!({
        "description": operation.description,
        "consumes": consumes,
        "produces": operation.media,
        "schemes": ["https"],
        "tags": [operation.tag],
        "operationId": operation.id,
        "responses": responses,
    });
    if !parameters.is_empty() {
        out["parameters"] = parameters.into();
    }
    out
}

fn render_v3(operation: &Operation, params: &[Param]) -> Value {
    let content = |media: &[&str], schema: &str| -> Value {
        let schema = Format::V3.schema_ref(schema);
        let content: Map<String, Value> = media
            .iter()
            .map(|m| (m.to_string(), json!({"schema": schema})))
            .collect();
        Value::Object(content)
    };
    let mut responses = Map::new();
    for &code in operation.codes {
        responses.insert(
            code.to_string(),
            json!({"description": status_text(code), "content": content(operation.media, &operation.response)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let mut out = json!({
        "tags": [operation.tag],
        "description": operation.description,
        "operationId": operation.id,
        "responses": responses,
    });
    if !params.is_empty() {
        let params: Vec<Value> = params.iter().map(|p| p.to_json(Format::V3)).collect();
        out["parameters"] = params.into();
    }
    if let Some(body) = &operation.body {
        let media: &[&str] = match body {
            Body::Patch { strategic: true } => PATCH_MEDIA,
            Body::Patch { strategic: false } => CUSTOM_PATCH_MEDIA,
            _ => &["*/*"],
        };
        let mut request = json!({"content": content(media, &body_schema(body))});
        if !matches!(body, Body::DeleteOptions) {
            request["required"] = true.into();
        }
        out["requestBody"] = request;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::BUILTIN;

    #[test]
    fn names_follow_kube() {
        assert_eq!(id_prefix("", "v1"), "CoreV1");
        assert_eq!(
            id_prefix("rbac.authorization.k8s.io", "v1"),
            "RbacAuthorizationV1"
        );
        assert_eq!(id_prefix("autoscaling", "v2"), "AutoscalingV2");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(lower_camel("apiextensions.k8s.io"), "apiextensions");
        assert_eq!(article("Endpoints"), " ");
        assert_eq!(article("Event"), " an ");
        assert_eq!(article("Pod"), " a ");
        assert_eq!(article("IngressClass"), " an ");
    }

    #[test]
    fn pods_have_kube_operations() {
        let paths = render(&Document::GroupVersion("", "v1"), BUILTIN, Format::V3);
        let collection = &paths["/api/v1/namespaces/{namespace}/pods"];
        assert_eq!(collection["get"]["operationId"], "listCoreV1NamespacedPod");
        assert_eq!(collection["get"]["x-kubernetes-action"], "list");
        assert_eq!(
            collection["post"]["operationId"],
            "createCoreV1NamespacedPod"
        );
        assert_eq!(
            collection["delete"]["operationId"],
            "deleteCoreV1CollectionNamespacedPod"
        );
        let shared: Vec<&str> = collection["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(shared, vec!["namespace", "pretty"]);
        let item = &paths["/api/v1/namespaces/{namespace}/pods/{name}"];
        assert_eq!(item["patch"]["operationId"], "patchCoreV1NamespacedPod");
        assert!(
            item["patch"]["requestBody"]["content"]["application/strategic-merge-patch+json"]
                .is_object()
        );
        assert_eq!(
            item["delete"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.Pod"
        );
        let binding = &paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"]["post"];
        assert_eq!(binding["operationId"], "createCoreV1NamespacedPodBinding");
        assert_eq!(
            binding["x-kubernetes-group-version-kind"]["kind"],
            "Binding"
        );
        let finalize = &paths["/api/v1/namespaces/{name}/finalize"]["put"];
        assert_eq!(finalize["operationId"], "replaceCoreV1NamespaceFinalize");
        assert!(paths["/api/v1/namespaces"].get("delete").is_none());
        assert_eq!(
            paths["/api/v1/watch/pods"]["get"]["operationId"],
            "watchCoreV1PodListForAllNamespaces"
        );
        assert_eq!(
            paths["/api/v1/pods"]["get"]["operationId"],
            "listCoreV1PodForAllNamespaces"
        );
        assert_eq!(
            paths["/api/v1/"]["get"]["operationId"],
            "getCoreV1APIResources"
        );
    }

    #[test]
    fn scale_subresource_answers_autoscaling_scale() {
        let paths = render(&Document::GroupVersion("apps", "v1"), BUILTIN, Format::V2);
        let scale = &paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
        assert_eq!(
            scale["get"]["operationId"],
            "readAppsV1NamespacedDeploymentScale"
        );
        assert_eq!(
            scale["get"]["description"],
            "read scale of the specified Deployment"
        );
        assert_eq!(
            scale["put"]["responses"]["200"]["schema"]["$ref"],
            "#/definitions/io.k8s.api.autoscaling.v1.Scale"
        );
        assert_eq!(
            scale["patch"]["x-kubernetes-group-version-kind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
        assert_eq!(scale["patch"]["parameters"][0]["in"], "body");
    }

    #[test]
    fn create_only_resources_have_one_operation() {
        let paths = render(
            &Document::GroupVersion("authentication.k8s.io", "v1"),
            BUILTIN,
            Format::V3,
        );
        let object = paths.as_object().unwrap();
        assert_eq!(object.len(), 2, "{:?}", object.keys().collect::<Vec<_>>());
        let create = &paths["/apis/authentication.k8s.io/v1/selfsubjectreviews"];
        assert_eq!(
            create["post"]["operationId"],
            "createAuthenticationV1SelfSubjectReview"
        );
        assert_eq!(create["parameters"].as_array().unwrap().len(), 4);
    }
}
