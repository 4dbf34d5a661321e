//! The object lifecycle rules every kind shares (k8s.io/apiserver's
//! `BeforeCreate`/`BeforeUpdate`/`BeforeDelete` and the per-kind
//! `PrepareFor*` hooks): system metadata, status/spec separation,
//! generations, and graceful deletion. Pure functions over values.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, FieldError};
use crate::resources::{ResourceDef, Subresource};

/// Metadata fields only the server sets; a client's values are replaced.
const SYSTEM_FIELDS: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

/// The current time as Kubernetes writes timestamps (RFC 3339, seconds).
pub fn timestamp(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Checks the body's `apiVersion`/`kind` against the endpoint and fills
/// them in when absent.
pub fn check_type(resource: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {})",
            resource.kind
        )));
    };
    let api_version = resource.api_version();
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), json!(resource.kind));
        }
        Some(kind) if kind == resource.kind => {}
        Some(kind) => {
            return Err(ApiError::BadRequest(format!(
                "the object provided is unrecognized (must be of type {}): kind {kind:?} was sent to the {} endpoint",
                resource.kind,
                resource.group_resource()
            )));
        }
    }
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), json!(api_version));
        }
        Some(v) if v == api_version => {}
        // Another served version of the same kind shares storage.
        Some(v) if other_version_of(resource, v) => {
            map.insert("apiVersion".into(), json!(api_version));
        }
        Some(v) => {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    if !map.get("metadata").is_some_and(Value::is_object) {
        if map.get("metadata").is_some_and(|m| !m.is_null()) {
            return Err(ApiError::BadRequest(
                "metadata: expected an object".to_string(),
            ));
        }
        map.insert("metadata".into(), json!({}));
    }
    Ok(())
}

/// Whether `api_version` is another served version of `resource`'s kind.
fn other_version_of(resource: &ResourceDef, api_version: &str) -> bool {
    match &resource.custom {
        Some(custom) => api_version
            .strip_prefix(resource.group)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|version| custom.served_versions.iter().any(|v| v == version)),
        None => crate::resources::find_kind(api_version, resource.kind)
            .is_some_and(|other| other.group == resource.group),
    }
}

fn meta(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(map)) => map,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// The namespace a request's object must be in: the URL's, which a body
/// may repeat but not contradict (kube-apiserver's wording).
pub fn settle_namespace(
    resource: &ResourceDef,
    obj: &mut Value,
    url_namespace: Option<&str>,
) -> Result<(), ApiError> {
    let m = meta(obj);
    if !resource.namespaced {
        m.remove("namespace");
        return Ok(());
    }
    let body = m
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match url_namespace {
        Some(url) if !body.is_empty() && body != url => Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .to_string(),
        )),
        Some(url) => {
            m.insert("namespace".into(), json!(url));
            Ok(())
        }
        None => Err(ApiError::BadRequest(
            "the server could not find the requested resource: a namespace is required".to_string(),
        )),
    }
}

/// Prepares a new object: system metadata, a name from `generateName`,
/// first generation, and the status a new object starts with.
pub fn prepare_create(resource: &ResourceDef, obj: &mut Value, now: jiff::Timestamp) {
    let m = meta(obj);
    for field in SYSTEM_FIELDS {
        m.remove(*field);
    }
    m.remove("resourceVersion");
    let has_name = m
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !has_name
        && let Some(prefix) = m.get("generateName").and_then(Value::as_str)
        && !prefix.is_empty()
    {
        let name = format!("{prefix}{}", random_suffix());
        m.insert("name".into(), json!(name));
    }
    m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    m.insert("creationTimestamp".into(), json!(timestamp(now)));
    if resource.has_generation {
        m.insert("generation".into(), json!(1));
    }
    reset_status_on_create(resource, obj);
}

/// Five characters from the alphabet kube-apiserver uses for generated
/// names (no vowels, no confusable digits).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let id = uuid::Uuid::new_v4();
    id.as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Kinds whose controllers own `.status` start with an empty one, as their
/// kube-apiserver strategies do.
fn reset_status_on_create(resource: &ResourceDef, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    match (resource.group, resource.plural) {
        ("", "pods") => {
            let qos = qos_class(map.get("spec").unwrap_or(&Value::Null));
            map.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": qos}),
            );
        }
        ("", "services") => {
            map.insert("status".into(), json!({"loadBalancer": {}}));
        }
        ("", "namespaces") => {
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        ("", "persistentvolumeclaims" | "persistentvolumes") => {
            map.insert("status".into(), json!({"phase": "Pending"}));
        }
        ("", "nodes" | "resourcequotas") => {}
        // apiextensions' strategy drops a custom resource's status.
        _ if resource.custom.is_some() && resource.serves(Subresource::Status) => {
            map.remove("status");
        }
        _ if resource.serves(Subresource::Status) => {
            map.insert("status".into(), json!({}));
        }
        _ => {}
    }
}

/// The pod's QoS class from its containers' requests and limits.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["initContainers"].as_array().into_iter().flatten());
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let requests = &c["resources"]["requests"];
        let limits = &c["resources"]["limits"];
        for r in ["cpu", "memory"] {
            let (req, lim) = (&requests[r], &limits[r]);
            if !req.is_null() || !lim.is_null() {
                any = true;
            }
            if lim.is_null() || (!req.is_null() && req != lim) {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

/// Merges a client's update onto the stored object according to which
/// endpoint it came through: the main resource cannot change status, the
/// status subresource can change only status, `finalize` only the
/// namespace's finalizers. System metadata always stays the server's.
pub fn prepare_update(
    resource: &ResourceDef,
    new: &mut Value,
    old: &Value,
    subresource: Option<Subresource>,
) {
    // Subresource writes keep the stored metadata, except managedFields,
    // which already track this write (kube's ResetObjectMetaForStatus).
    match subresource {
        Some(Subresource::Status) => {
            let status = new.as_object_mut().and_then(|m| m.remove("status"));
            let mut merged = old_except(old, new, Some("status"));
            if let (Some(status), Some(map)) = (status, merged.as_object_mut()) {
                map.insert("status".into(), status);
            }
            *new = merged;
        }
        Some(Subresource::Finalize) => {
            let finalizers = new["spec"]["finalizers"].take();
            let mut merged = old_except(old, new, None);
            merged["spec"]["finalizers"] = finalizers;
            *new = merged;
        }
        _ => {
            if resource.serves(Subresource::Status)
                && let Some(map) = new.as_object_mut()
            {
                match old.get("status") {
                    Some(status) => {
                        map.insert("status".into(), status.clone());
                    }
                    None => {
                        map.remove("status");
                    }
                }
            }
        }
    }
    let old_meta = old["metadata"].as_object();
    let m = meta(new);
    for field in SYSTEM_FIELDS {
        match old_meta.and_then(|old| old.get(*field)) {
            Some(v) => m.insert((*field).to_string(), v.clone()),
            None => m.remove(*field),
        };
    }
    if resource.has_generation && spec_changed(old, new) {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        meta(new).insert("generation".into(), json!(generation));
    }
}

/// A copy of `old` without its top-level member `skipped`, with
/// the managedFields of `new` (taken from it) instead of its own: only
/// what the result keeps is copied.
fn old_except(old: &Value, new: &mut Value, skipped: Option<&str>) -> Value {
    let mut managed_fields = new
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove("managedFields"));
    let Some(old) = old.as_object() else {
        return old.clone();
    };
    let mut merged = serde_json::Map::new();
    for (key, value) in old {
        match value {
            _ if Some(key.as_str()) == skipped => {}
            Value::Object(metadata) if key == "metadata" => {
                let mut kept: serde_json::Map<String, Value> = metadata
                    .iter()
                    .filter(|(field, _)| *field != "managedFields")
                    .map(|(field, value)| (field.clone(), value.clone()))
                    .collect();
                if let Some(fields) = managed_fields.take() {
                    kept.insert("managedFields".into(), fields);
                }
                merged.insert(key.clone(), Value::Object(kept));
            }
            _ => {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(merged)
}

/// Whether anything besides metadata and status differs.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return old != new;
    };
    let keys = old.keys().chain(new.keys());
    keys.filter(|k| !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind"))
        .any(|k| old.get(k) != new.get(k))
}

/// Whether the object has finalizers left: `metadata.finalizers`, and
/// for namespaces also `spec.finalizers` (the namespace controller's).
pub fn has_finalizers(obj: &Value) -> bool {
    let non_empty = |v: &Value| v.as_array().is_some_and(|f| !f.is_empty());
    non_empty(&obj["metadata"]["finalizers"])
        || (obj["kind"] == "Namespace" && non_empty(&obj["spec"]["finalizers"]))
}

/// Whether a stored Namespace is terminating (being deleted), read from
/// its bytes without decoding the rest of it: every create checks it.
pub fn namespace_terminating(raw: &[u8]) -> bool {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Namespace {
        metadata: Metadata,
        status: Status,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Metadata {
        deletion_timestamp: Option<String>,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Status {
        phase: Option<String>,
    }
    let ns: Namespace = serde_json::from_slice(raw).unwrap_or_default();
    ns.metadata.deletion_timestamp.is_some() || ns.status.phase.as_deref() == Some("Terminating")
}

/// Whether the object is being deleted (has a deletion timestamp).
pub fn is_deleting(obj: &Value) -> bool {
    obj["metadata"]["deletionTimestamp"].is_string()
}

/// How a delete request ends for this object.
#[derive(Debug, PartialEq)]
pub enum DeletePlan {
    /// Remove it from the store now.
    Now,
    /// Keep it, marked for deletion (the updated object), until finalizers
    /// are gone or its grace period is over.
    Mark,
}

/// Decides how to delete `obj` and marks it when it must wait (kube's
/// `BeforeDelete`): objects with finalizers (including the ones the
/// propagation policy adds) and pods still bound to a node wait.
pub fn plan_delete(
    resource: &ResourceDef,
    obj: &mut Value,
    grace_period: Option<i64>,
    propagation: Option<&str>,
    now: jiff::Timestamp,
) -> DeletePlan {
    let finalizer = match propagation {
        Some("Foreground") => Some("foregroundDeletion"),
        Some("Orphan") => Some("orphan"),
        _ => None,
    };
    // A CRD's objects are deleted before the CRD goes (its controller
    // removes this finalizer then).
    let crd_cleanup = (resource.group == "apiextensions.k8s.io"
        && resource.plural == "customresourcedefinitions")
        .then_some(crate::crd::CLEANUP_FINALIZER);
    for f in finalizer.into_iter().chain(crd_cleanup) {
        let m = meta(obj);
        let list = m.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut()
            && !list.iter().any(|x| x == f)
        {
            list.push(json!(f));
        }
    }
    let grace = pod_grace_period(resource, obj, grace_period);
    if grace == 0 && !has_finalizers(obj) {
        return DeletePlan::Now;
    }
    if resource.group.is_empty() && resource.plural == "namespaces" {
        obj["status"]["phase"] = json!("Terminating");
    }
    // The first delete starts the grace period; a later one with a shorter
    // grace period cuts it short.
    let m = meta(obj);
    let marked = m.get("deletionTimestamp").is_some_and(Value::is_string);
    let current = m
        .get("deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if !marked || grace < current {
        let at = now
            .checked_add(jiff::SignedDuration::from_secs(grace))
            .unwrap_or(now);
        m.insert("deletionTimestamp".into(), json!(timestamp(at)));
        m.insert("deletionGracePeriodSeconds".into(), json!(grace));
    }
    DeletePlan::Mark
}

/// Only pods have graceful deletion: a pod bound to a node that has not
/// finished gets its grace period (the request's, else its spec's, else
/// 30 s); everything else is deleted at once.
fn pod_grace_period(resource: &ResourceDef, obj: &Value, requested: Option<i64>) -> i64 {
    if !resource.group.is_empty() || resource.plural != "pods" {
        return 0;
    }
    let bound = obj["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        obj["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !bound || finished {
        return 0;
    }
    requested
        .or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30)
        .max(0)
}

/// Preconditions of a delete (`DeleteOptions.preconditions`).
pub fn check_preconditions(
    resource: &ResourceDef,
    name: &str,
    obj: &Value,
    preconditions: &Value,
) -> Result<(), ApiError> {
    let conflict = |detail: String| ApiError::conflict(resource, name, detail);
    if let Some(uid) = preconditions["uid"].as_str() {
        let actual = obj["metadata"]["uid"].as_str().unwrap_or_default();
        if uid != actual {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
            )));
        }
    }
    if let Some(rv) = preconditions["resourceVersion"].as_str() {
        let actual = obj["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if rv != actual {
            return Err(conflict(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
            )));
        }
    }
    Ok(())
}

/// Field errors for a resourceVersion that is not a number.
pub fn parse_resource_version(value: &str) -> Result<i64, FieldError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| {
            FieldError::invalid(
                "metadata.resourceVersion",
                &json!(value),
                "must be a non-negative integer",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    fn now() -> jiff::Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn create_sets_system_metadata_and_generated_names() {
        let deploy = find("apps", "v1", "deployments").unwrap();
        let mut obj = json!({"metadata": {"generateName": "web-", "uid": "client", "resourceVersion": "5"}, "spec": {}, "status": {"replicas": 3}});
        prepare_create(deploy, &mut obj, now());
        let name = obj["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("web-") && name.len() == 9, "{name}");
        assert_ne!(obj["metadata"]["uid"], "client");
        assert_eq!(obj["metadata"]["creationTimestamp"], "2026-11-23T10:00:00Z");
        assert_eq!(obj["metadata"]["generation"], 1);
        assert!(obj["metadata"].get("resourceVersion").is_none());
        assert_eq!(obj["status"], json!({}));
    }

    #[test]
    fn pods_start_pending_with_a_qos_class() {
        let pods = find("", "v1", "pods").unwrap();
        let mut obj = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
        prepare_create(pods, &mut obj, now());
        assert_eq!(
            obj["status"],
            json!({"phase": "Pending", "qosClass": "Guaranteed"})
        );
        assert_eq!(
            qos_class(&json!({"containers": [{"name": "a"}]})),
            "BestEffort"
        );
        assert_eq!(
            qos_class(&json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]})),
            "Burstable"
        );
    }

    #[test]
    fn updates_keep_status_and_bump_generation_on_spec_change() {
        let deploy = find("apps", "v1", "deployments").unwrap();
        let old = json!({"metadata": {"name": "w", "uid": "u1", "generation": 3}, "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let mut new = json!({"metadata": {"name": "w", "uid": "other"}, "spec": {"replicas": 2}, "status": {"replicas": 99}});
        prepare_update(deploy, &mut new, &old, None);
        assert_eq!(new["status"], json!({"replicas": 1}));
        assert_eq!(new["metadata"]["uid"], "u1");
        assert_eq!(new["metadata"]["generation"], 4);

        let mut label_only = old.clone();
        label_only["metadata"]["labels"] = json!({"a": "b"});
        prepare_update(deploy, &mut label_only, &old, None);
        assert_eq!(label_only["metadata"]["generation"], 3);
    }

    #[test]
    fn status_updates_change_only_status() {
        let deploy = find("apps", "v1", "deployments").unwrap();
        let old = json!({"metadata": {"name": "w", "generation": 2}, "spec": {"replicas": 1}, "status": {}});
        let mut new = json!({"metadata": {"name": "w", "resourceVersion": "9"}, "spec": {"replicas": 5}, "status": {"replicas": 1}});
        prepare_update(deploy, &mut new, &old, Some(Subresource::Status));
        assert_eq!(new["spec"]["replicas"], 1);
        assert_eq!(new["status"]["replicas"], 1);
        assert_eq!(new["metadata"]["generation"], 2);
    }

    #[test]
    fn deletion_plans() {
        let cms = find("", "v1", "configmaps").unwrap();
        let mut cm = json!({"metadata": {"name": "c"}});
        assert_eq!(
            plan_delete(cms, &mut cm, None, None, now()),
            DeletePlan::Now
        );

        let mut held = json!({"metadata": {"name": "c", "finalizers": ["x"]}});
        assert_eq!(
            plan_delete(cms, &mut held, None, None, now()),
            DeletePlan::Mark
        );
        assert_eq!(
            held["metadata"]["deletionTimestamp"],
            "2026-11-23T10:00:00Z"
        );
        assert_eq!(held["metadata"]["deletionGracePeriodSeconds"], 0);

        let mut fg = json!({"metadata": {"name": "c"}});
        assert_eq!(
            plan_delete(cms, &mut fg, None, Some("Foreground"), now()),
            DeletePlan::Mark
        );
        assert_eq!(fg["metadata"]["finalizers"], json!(["foregroundDeletion"]));

        let pods = find("", "v1", "pods").unwrap();
        let mut unbound = json!({"metadata": {}, "spec": {}});
        assert_eq!(
            plan_delete(pods, &mut unbound, None, None, now()),
            DeletePlan::Now
        );
        let mut bound = json!({"metadata": {}, "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 10}});
        assert_eq!(
            plan_delete(pods, &mut bound, None, None, now()),
            DeletePlan::Mark
        );
        assert_eq!(
            bound["metadata"]["deletionTimestamp"],
            "2026-11-23T10:00:10Z"
        );
        assert_eq!(
            plan_delete(pods, &mut bound, Some(0), None, now()),
            DeletePlan::Now
        );
    }

    #[test]
    fn terminating_namespaces_are_read_from_their_bytes() {
        assert!(!namespace_terminating(
            br#"{"metadata":{"name":"a"},"status":{"phase":"Active"}}"#
        ));
        assert!(namespace_terminating(
            br#"{"metadata":{"deletionTimestamp":"2026-01-01T00:00:00Z"}}"#
        ));
        assert!(namespace_terminating(
            br#"{"metadata":{},"status":{"phase":"Terminating"}}"#
        ));
    }

    #[test]
    fn namespaces_wait_for_their_finalizers() {
        let namespaces = find("", "v1", "namespaces").unwrap();
        let mut ns = json!({"kind": "Namespace", "metadata": {"name": "x"}, "spec": {"finalizers": ["kubernetes"]}});
        assert_eq!(
            plan_delete(namespaces, &mut ns, None, None, now()),
            DeletePlan::Mark
        );
        assert_eq!(ns["status"]["phase"], "Terminating");
        ns["spec"]["finalizers"] = json!([]);
        assert!(!has_finalizers(&ns));
    }

    #[test]
    fn namespace_from_url_and_body() {
        let cms = find("", "v1", "configmaps").unwrap();
        let mut obj = json!({"metadata": {"namespace": "a"}});
        assert!(settle_namespace(cms, &mut obj, Some("b")).is_err());
        let mut obj = json!({"metadata": {}});
        settle_namespace(cms, &mut obj, Some("b")).unwrap();
        assert_eq!(obj["metadata"]["namespace"], "b");
    }
}
