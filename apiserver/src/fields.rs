//! The typed side of writes, over `mars-merge`: each served kind's schema,
//! field ownership (`managedFields`) for every write, server-side apply,
//! strategic merge patch, and `fieldValidation` (unknown fields are
//! dropped from every object; Warn reports them, Strict refuses them).

use std::collections::HashMap;
use std::sync::LazyLock;

use mars_merge::manager::{ApplyError, FieldManager, Scope, Writer};
use mars_merge::{Schema, TypeId, patch, strict};
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};
use crate::resources::{self, ResourceDef, Subresource};

/// The schemas of the built-in kinds, compiled once.
static BUILTIN_TYPES: LazyLock<Types> = LazyLock::new(|| Types::new(resources::BUILTIN));

/// Compiles the built-in schemas (else the first write does).
pub fn compile_schemas() {
    let started = std::time::Instant::now();
    LazyLock::force(&BUILTIN_TYPES);
    tracing::debug!(elapsed = ?started.elapsed(), "compiled the built-in schemas");
}

/// Compiled schemas and the type of each kind.
struct Types {
    schema: Schema,
    kinds: HashMap<(&'static str, &'static str, &'static str), TypeId>,
    /// `ObjectMeta` and the definitions it refers to: custom resources'
    /// schemas refer to them.
    object_meta: Map<String, Value>,
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

impl Types {
    fn new(resources: &'static [ResourceDef]) -> Self {
        let definitions = crate::openapi::type_definitions(resources);
        let schema = Schema::from_definitions(&definitions);
        let kinds = resources
            .iter()
            .filter_map(|r| {
                let name = crate::openapi::definition_name(r.group, r.version, r.kind);
                Some(((r.group, r.version, r.kind), schema.named(&name)?))
            })
            .collect();
        Self {
            schema,
            kinds,
            object_meta: closure(&definitions, OBJECT_META),
        }
    }

    fn of(&self, resource: &ResourceDef) -> Option<TypeId> {
        self.kinds
            .get(&(resource.group, resource.version, resource.kind))
            .copied()
    }
}

/// `name` and every definition it refers to, directly or not.
fn closure(definitions: &Map<String, Value>, name: &str) -> Map<String, Value> {
    let mut found = Map::new();
    let mut pending = vec![name.to_string()];
    while let Some(name) = pending.pop() {
        if found.contains_key(&name) {
            continue;
        }
        if let Some(schema) = definitions.get(&name) {
            collect_refs(schema, &mut pending);
            found.insert(name, schema.clone());
        }
    }
    found
}

fn collect_refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => {
                        names.push(r.rsplit('/').next().unwrap_or(r).to_string())
                    }
                    _ => collect_refs(value, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, names)),
        _ => {}
    }
}

/// The merge schema of a custom resource: its `openAPIV3Schema` with
/// `metadata` typed as `ObjectMeta` (also in embedded resources), so field
/// ownership of labels and annotations works as on built-in kinds.
pub fn custom_type(openapi_schema: &Value) -> (Schema, TypeId) {
    let mut schema = Schema::from_definitions(&BUILTIN_TYPES.object_meta);
    let ty = schema.add_root(&with_object_meta(openapi_schema, true));
    (schema, ty)
}

fn with_object_meta(schema: &Value, resource: bool) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let value = match (key.as_str(), value) {
            ("properties", Value::Object(properties)) => Value::Object(
                properties
                    .iter()
                    .map(|(name, property)| (name.clone(), with_object_meta(property, false)))
                    .collect(),
            ),
            ("items" | "additionalProperties", Value::Object(_)) => with_object_meta(value, false),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    let embedded = map.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    if resource || embedded {
        let properties = out
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(properties) = properties {
            let string = serde_json::json!({"type": "string"});
            properties.insert("apiVersion".into(), string.clone());
            properties.insert("kind".into(), string);
            properties.insert(
                "metadata".into(),
                serde_json::json!({"$ref": format!("#/components/schemas/{OBJECT_META}")}),
            );
        }
        out.insert("type".into(), Value::String("object".into()));
    }
    Value::Object(out)
}

/// A kind's schema, if it has one (every built-in kind and every custom
/// resource does).
fn typed(resource: &ResourceDef) -> Option<(&Schema, TypeId)> {
    if let Some(custom) = &resource.custom {
        return Some(custom.merge_type());
    }
    let types = &*BUILTIN_TYPES;
    Some((&types.schema, types.of(resource)?))
}

/// Who owns what a write through `subresource` changes.
fn field_manager(
    resource: &ResourceDef,
    subresource: Option<Subresource>,
) -> Option<FieldManager<'_>> {
    let (schema, ty) = typed(resource)?;
    let scope = match subresource {
        None | Some(Subresource::Scale) => Scope::Main {
            status_reset: resource.serves(Subresource::Status),
        },
        Some(Subresource::Status) => Scope::Status,
        Some(_) => Scope::Other,
    };
    Some(FieldManager { schema, ty, scope })
}

fn writer<'a>(
    subresource: Option<Subresource>,
    manager: &'a str,
    now: &'a str,
    api_version: &'a str,
) -> Writer<'a> {
    Writer {
        manager,
        api_version,
        subresource: subresource.map(Subresource::name).unwrap_or_default(),
        now,
    }
}

fn now() -> String {
    crate::registry::lifecycle::timestamp(jiff::Timestamp::now())
}

/// Records a write other than apply (`old` is `Value::Null` for a create)
/// in `new`'s `managedFields`.
pub fn record_update(
    resource: &ResourceDef,
    subresource: Option<Subresource>,
    manager: &str,
    old: &Value,
    new: &mut Value,
) {
    let Some(fields) = field_manager(resource, subresource) else {
        return;
    };
    let (now, api_version) = (now(), resource.api_version());
    fields.update(old, new, writer(subresource, manager, &now, &api_version));
}

/// Server-side apply of `config` over `live` (`Value::Null` to create).
pub fn apply(
    resource: &ResourceDef,
    subresource: Option<Subresource>,
    live: &Value,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let fields = field_manager(resource, subresource)
        .ok_or_else(|| ApiError::Internal(format!("no schema for {}", resource.kind)))?;
    let (now, api_version) = (now(), resource.api_version());
    let writer = writer(subresource, manager, &now, &api_version);
    let mut applied = fields
        .apply(live, config, writer, force)
        .map_err(|error| apply_error(resource, config, error))?;
    sync_last_applied(live, config, manager, &mut applied);
    Ok(applied)
}

/// kubectl's client-side apply annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The largest last-applied annotation kept (kube's limit).
const LAST_APPLIED_LIMIT: usize = 256 * 1024;

/// After a server-side apply by `kubectl` over an object that carries a
/// client-side apply annotation, the annotation becomes the configuration
/// just applied, so a later client-side apply starts from it (kube's
/// last-applied updater; other managers opt out by their name).
fn sync_last_applied(live: &Value, config: &Value, manager: &str, applied: &mut Value) {
    if manager != "kubectl" || live["metadata"]["annotations"].get(LAST_APPLIED).is_none() {
        return;
    }
    let mut last = config.clone();
    if let Some(annotations) = last["metadata"]["annotations"].as_object_mut() {
        annotations.remove(LAST_APPLIED);
    }
    let text = last.to_string();
    let Some(metadata) = applied["metadata"].as_object_mut() else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(annotations) = annotations.as_object_mut() {
        if text.len() > LAST_APPLIED_LIMIT {
            annotations.remove(LAST_APPLIED);
        } else {
            annotations.insert(LAST_APPLIED.into(), Value::String(text));
        }
    }
}

fn apply_error(resource: &ResourceDef, config: &Value, error: ApplyError) -> ApiError {
    match error {
        ApplyError::Conflicts(conflicts) => ApiError::ApplyConflict {
            causes: conflicts
                .iter()
                .map(|c| FieldError {
                    reason: "FieldManagerConflict",
                    field: c.path.to_string(),
                    message: c.to_string(),
                })
                .collect(),
            message: ApplyError::Conflicts(conflicts).to_string(),
        },
        ApplyError::BadRequest(message) => ApiError::BadRequest(message),
        ApplyError::Invalid(error) => ApiError::Invalid {
            kind: resource.kind.to_string(),
            group: resource.group.to_string(),
            name: config["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            causes: vec![FieldError {
                reason: "FieldValueInvalid",
                field: error.path.trim_start_matches('.').to_string(),
                message: error.message,
            }],
        },
    }
}

/// A strategic merge patch, which needs the kind's patch metadata: custom
/// resources have none and refuse it, as on kube-apiserver.
pub fn strategic_merge_patch(
    resource: &ResourceDef,
    original: &Value,
    patch_doc: &Value,
) -> Result<Value, ApiError> {
    let typed = typed(resource).filter(|_| resource.custom.is_none());
    let Some((schema, ty)) = typed else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        )));
    };
    patch::strategic_merge_patch(schema, ty, original, patch_doc)
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    /// Parses the parameter; absent means Warn, kube-apiserver's default.
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("" | "Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }

    /// Drops the fields of `object` its kind does not know and reports
    /// them, with the fields `json` (the request body, when JSON) sets
    /// twice: as warnings, or as a 400 under Strict.
    pub fn check(
        self,
        resource: &ResourceDef,
        object: &mut Value,
        json: Option<&[u8]>,
    ) -> Result<Vec<String>, ApiError> {
        let mut problems = self.duplicates(json);
        let mut unknown = Vec::new();
        if let Some(custom) = &resource.custom {
            unknown.extend(custom.prune(object));
        }
        if let Some((schema, ty)) = typed(resource) {
            unknown.extend(strict::prune_unknown(schema, ty, object));
        }
        problems.extend(
            unknown
                .into_iter()
                .map(|path| format!("unknown field {path:?}")),
        );
        self.verdict(resource, problems)
    }

    /// The fields a JSON patch document sets twice, judged like
    /// [`FieldValidation::check`]'s.
    pub fn check_duplicates(
        self,
        resource: &ResourceDef,
        json: &[u8],
    ) -> Result<Vec<String>, ApiError> {
        let problems = self.duplicates(Some(json));
        self.verdict(resource, problems)
    }

    fn duplicates(self, json: Option<&[u8]>) -> Vec<String> {
        match (self, json) {
            (Self::Ignore, _) | (_, None) => Vec::new(),
            (_, Some(json)) => strict::duplicate_fields(json)
                .into_iter()
                .map(|path| format!("duplicate field {path:?}"))
                .collect(),
        }
    }

    fn verdict(
        self,
        resource: &ResourceDef,
        problems: Vec<String>,
    ) -> Result<Vec<String>, ApiError> {
        match self {
            Self::Ignore => Ok(Vec::new()),
            Self::Warn => Ok(problems),
            Self::Strict if problems.is_empty() => Ok(problems),
            Self::Strict => Err(ApiError::BadRequest(format!(
                "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
                problems.join(", "),
                kind = resource.kind,
                version = resource.version,
            ))),
        }
    }
}

/// The field manager a write is recorded under: `fieldManager`, else the
/// product of the user agent (`kubectl` of `kubectl/v1.33.0 (linux…)`).
pub fn manager_name(
    field_manager: Option<&str>,
    user_agent: Option<&str>,
) -> Result<String, ApiError> {
    if let Some(manager) = field_manager {
        if manager.chars().count() > 128 {
            return Err(ApiError::BadRequest(format!(
                "fieldManager: Too long: may not be longer than 128 characters, got {}",
                manager.chars().count()
            )));
        }
        return Ok(manager.to_string());
    }
    let agent = user_agent.unwrap_or_default();
    Ok(agent
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .take(128)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployments() -> &'static ResourceDef {
        resources::find("apps", "v1", "deployments").unwrap()
    }

    #[test]
    fn builtin_kinds_have_types() {
        for r in resources::BUILTIN {
            assert!(typed(r).is_some(), "{}/{} {}", r.group, r.version, r.kind);
        }
    }

    #[test]
    fn unknown_fields_are_dropped_and_reported_by_mode() {
        let body = br#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicass":1,"replicas":1,"replicas":2}}"#;
        let object: Value = serde_json::from_slice(body).unwrap();
        let mut warned = object.clone();
        let warnings = FieldValidation::Warn
            .check(deployments(), &mut warned, Some(body))
            .unwrap();
        assert_eq!(
            warnings,
            [
                "duplicate field \"spec.replicas\"",
                "unknown field \"spec.replicass\""
            ]
        );
        assert_eq!(warned["spec"], json!({"replicas": 2}));
        let mut ignored = object.clone();
        assert!(
            FieldValidation::Ignore
                .check(deployments(), &mut ignored, Some(body))
                .unwrap()
                .is_empty()
        );
        assert_eq!(ignored, warned);
        let error = FieldValidation::Strict
            .check(deployments(), &mut object.clone(), Some(body))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: duplicate field \"spec.replicas\", unknown field \"spec.replicass\""
        );
    }

    #[test]
    fn a_full_deployment_has_no_unknown_fields() {
        let mut deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"a": "b"},
                "managedFields": [{"manager": "m", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                    "name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                    "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                }]}}},
            "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
        });
        let warnings = FieldValidation::Strict
            .check(deployments(), &mut deployment, None)
            .unwrap();
        assert!(warnings.is_empty());
    }

    #[test]
    fn managers_default_to_the_user_agents_product() {
        assert_eq!(
            manager_name(None, Some("kubectl/v1.33.0 (linux/amd64) kubernetes/abc")).unwrap(),
            "kubectl"
        );
        assert_eq!(manager_name(Some("argocd"), Some("x/1")).unwrap(), "argocd");
        assert!(manager_name(Some(&"m".repeat(129)), None).is_err());
    }
}
