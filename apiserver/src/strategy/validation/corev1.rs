//! The remaining core/v1 kinds: ConfigMaps, Secrets, Namespaces, Nodes,
//! ServiceAccounts, persistent volumes and claims, Events, and the
//! metadata-only ones (LimitRange, ResourceQuota).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::fields::{
    arr, child, get, index, invalid_each, key, obj as object_of, str_at, str_or_empty,
};
use super::meta::{self, NameRule};
use super::names;
use super::pod;
use super::quantity::Quantity;
use crate::FieldError;

const NULL: Value = Value::Null;
/// The most bytes a ConfigMap's or Secret's data may hold.
pub const MAX_DATA_SIZE: usize = 1024 * 1024;
const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

fn meta_errors(
    obj: &Value,
    old: Option<&Value>,
    namespaced: bool,
    rule: NameRule,
) -> Vec<FieldError> {
    match old {
        None => meta::validate_object_meta(obj, namespaced, rule),
        Some(old) => meta::validate_object_meta_update(obj, old),
    }
}

/// Keys of a data map, sorted, with their values.
fn sorted_entries(map: Option<&Map<String, Value>>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.map(|m| m.iter().collect()).unwrap_or_default();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// The decoded size of a base64 data value.
fn decoded_len(value: &Value) -> usize {
    let text = value.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_or(text.len() * 3 / 4, |bytes| bytes.len())
}

fn config_key_errors(data_key: &str, path: &str) -> Vec<FieldError> {
    names::config_map_key(data_key)
        .into_iter()
        .map(|msg| FieldError::invalid(key(path, data_key), &json!(data_key), msg))
        .collect()
}

/// `immutable: true` objects keep their data (and stay immutable).
fn validate_immutable_data(obj: &Value, old: &Value, fields: &[&str]) -> Vec<FieldError> {
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return Vec::new();
    }
    let mut errs = Vec::new();
    if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden("immutable", IMMUTABLE_SET));
    }
    for field in fields {
        if get(obj, field) != get(old, field) {
            errs.push(FieldError::forbidden(*field, IMMUTABLE_SET));
        }
    }
    errs
}

/// ConfigMap (core/v1).
pub fn validate_config_map(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old));
        errs.extend(validate_immutable_data(obj, old, &["data", "binaryData"]));
    }
    errs.extend(meta::validate_object_meta(obj, true, NameRule::Subdomain));
    let binary = object_of(obj, "binaryData");
    let mut total = 0;
    for (data_key, value) in sorted_entries(object_of(obj, "data")) {
        errs.extend(config_key_errors(data_key, "data"));
        if binary.is_some_and(|b| b.contains_key(data_key)) {
            errs.push(FieldError::invalid(
                key("data", data_key),
                &json!(data_key),
                "duplicate of key present in binaryData",
            ));
        }
        total += value.as_str().map_or(0, str::len);
    }
    for (data_key, value) in sorted_entries(binary) {
        errs.extend(config_key_errors(data_key, "binaryData"));
        total += decoded_len(value);
    }
    if total > MAX_DATA_SIZE {
        // kube reports the whole object, at the path its empty root prints as.
        errs.push(FieldError::too_long("[]", MAX_DATA_SIZE));
    }
    errs
}

/// Secret (core/v1): data keys and size, and the keys each type needs.
pub fn validate_secret(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old));
        let (new_type, old_type) = (str_or_empty(obj, "type"), str_or_empty(old, "type"));
        if new_type != old_type {
            errs.push(FieldError::invalid(
                "type",
                &json!(new_type),
                meta::IMMUTABLE,
            ));
        }
        errs.extend(validate_immutable_data(obj, old, &["data"]));
    }
    errs.extend(meta::validate_object_meta(obj, true, NameRule::Subdomain));
    let data = object_of(obj, "data");
    let mut total = 0;
    for (data_key, value) in sorted_entries(data) {
        errs.extend(config_key_errors(data_key, "data"));
        total += decoded_len(value);
    }
    if total > MAX_DATA_SIZE {
        errs.push(FieldError::too_long("data", MAX_DATA_SIZE));
    }
    errs.extend(validate_secret_type(obj, data));
    errs
}

fn validate_secret_type(secret: &Value, data: Option<&Map<String, Value>>) -> Vec<FieldError> {
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    let required = |k: &str| FieldError::required(key("data", k), "");
    let mut errs = Vec::new();
    match str_or_empty(secret, "type") {
        "kubernetes.io/service-account-token" => {
            let annotation = get(secret, "metadata")
                .and_then(|m| get(m, "annotations"))
                .map_or("", |a| {
                    str_or_empty(a, "kubernetes.io/service-account.name")
                });
            if annotation.is_empty() {
                errs.push(FieldError::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => errs.extend(json_secret_key(data, ".dockercfg")),
        "kubernetes.io/dockerconfigjson" => errs.extend(json_secret_key(data, ".dockerconfigjson")),
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(required("username"));
            errs.push(required("password"));
        }
        "kubernetes.io/ssh-auth" => {
            let empty = data
                .and_then(|d| d.get("ssh-privatekey"))
                .is_none_or(|v| decoded_len(v) == 0);
            if empty {
                errs.push(required("ssh-privatekey"));
            }
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    errs.push(required(k));
                }
            }
        }
        _ => {}
    }
    errs
}

/// A docker config key that must be present and hold a JSON object.
fn json_secret_key(data: Option<&Map<String, Value>>, data_key: &str) -> Vec<FieldError> {
    let Some(value) = data.and_then(|d| d.get(data_key)) else {
        return vec![FieldError::required(key("data", data_key), "")];
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.as_str().unwrap_or(""))
        .unwrap_or_default();
    match serde_json::from_slice::<Map<String, Value>>(&bytes) {
        Ok(_) => Vec::new(),
        Err(e) => vec![FieldError::invalid(
            key("data", data_key),
            &json!("<secret contents redacted>"),
            e.to_string(),
        )],
    }
}

/// Namespace (core/v1): a DNS-label name and known finalizers.
pub fn validate_namespace(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    if let Some(old) = old {
        return meta::validate_object_meta_update(obj, old);
    }
    let mut errs = meta::validate_object_meta(obj, false, NameRule::Label);
    let spec = get(obj, "spec").unwrap_or(&NULL);
    for finalizer in arr(spec, "finalizers").iter().filter_map(Value::as_str) {
        errs.extend(invalid_each(
            "spec.finalizers",
            finalizer,
            names::qualified_name(finalizer),
        ));
        errs.extend(meta::kube_finalizer_name(finalizer, "spec.finalizers"));
    }
    errs
}

/// Node (core/v1): name and taints.
pub fn validate_node(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, false, NameRule::Subdomain);
    let spec = get(obj, "spec").unwrap_or(&NULL);
    let mut seen = std::collections::BTreeSet::new();
    for (i, taint) in arr(spec, "taints").iter().enumerate() {
        let path = index("spec.taints", i);
        let taint_key = str_or_empty(taint, "key");
        errs.extend(invalid_each(
            child(&path, "key"),
            taint_key,
            names::qualified_name(taint_key),
        ));
        let value = str_or_empty(taint, "value");
        let msgs = names::label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                child(&path, "value"),
                &json!(value),
                msgs.join(";"),
            ));
        }
        let effect = str_or_empty(taint, "effect");
        errs.extend(pod::validate_taint_effect(effect, &child(&path, "effect")));
        if !seen.insert((effect, taint_key)) {
            errs.push(FieldError {
                reason: "FieldValueDuplicate",
                field: path,
                message: format!(
                    "Duplicate value: {}: taints must be unique by key and effect pair",
                    taint
                ),
            });
        }
    }
    errs
}

/// Kinds whose validation is their metadata (ServiceAccount, LimitRange,
/// ResourceQuota, PodTemplate-less core kinds).
pub fn validate_metadata_only(
    obj: &Value,
    old: Option<&Value>,
    namespaced: bool,
) -> Vec<FieldError> {
    meta_errors(obj, old, namespaced, NameRule::Subdomain)
}

/// core/v1 Event: kube's legacy rules (no name check), namespace matching
/// the involved object.
pub fn validate_event(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old));
    }
    let namespace = get(obj, "metadata").map_or("", |m| str_or_empty(m, "namespace"));
    let involved = get(obj, "involvedObject").unwrap_or(&NULL);
    let involved_ns = str_or_empty(involved, "namespace");
    let event_time_set = get(obj, "eventTime").is_some();
    if !event_time_set {
        let mismatch = if involved_ns.is_empty() {
            !namespace.is_empty() && namespace != "default"
        } else {
            namespace != involved_ns
        };
        if mismatch {
            errs.push(FieldError::invalid(
                "involvedObject.namespace",
                &json!(involved_ns),
                "does not match event.namespace",
            ));
        }
    }
    errs.extend(invalid_each(
        "namespace",
        namespace,
        names::dns1123_subdomain(namespace),
    ));
    errs
}

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];

fn validate_access_modes(spec: &Value, path: &str, required_detail: &str) -> Vec<FieldError> {
    let modes = arr(spec, "accessModes");
    let mut errs = Vec::new();
    if modes.is_empty() {
        errs.push(FieldError::required(
            child(path, "accessModes"),
            required_detail,
        ));
    }
    for mode in modes {
        let mode = mode.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&mode) {
            errs.push(FieldError::not_supported(
                child(path, "accessModes"),
                &json!(mode),
                ACCESS_MODES,
            ));
        }
    }
    errs
}

fn validate_class_and_mode(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(class) = str_at(spec, "storageClassName").filter(|c| !c.is_empty()) {
        errs.extend(invalid_each(
            child(path, "storageClassName"),
            class,
            names::dns1123_subdomain(class),
        ));
    }
    if let Some(mode) = str_at(spec, "volumeMode")
        && !VOLUME_MODES.contains(&mode)
    {
        errs.push(FieldError::not_supported(
            child(path, "volumeMode"),
            &json!(mode),
            VOLUME_MODES,
        ));
    }
    errs
}

const PV_SOURCES: &[&str] = &[
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "hostPath",
    "glusterfs",
    "nfs",
    "rbd",
    "quobyte",
    "iscsi",
    "cephfs",
    "cinder",
    "fc",
    "flocker",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

/// PersistentVolume (core/v1): access modes, a storage capacity, exactly
/// one volume source, and known policies.
pub fn validate_persistent_volume(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, false, NameRule::Subdomain);
    let spec = get(obj, "spec").unwrap_or(&NULL);
    errs.extend(validate_access_modes(spec, "spec", ""));
    match obj_len(spec, "capacity") {
        0 => errs.push(FieldError::required("spec.capacity", "")),
        _ => {
            if let Some(storage) = get(spec, "capacity").and_then(|c| get(c, "storage"))
                && let Some(q) = Quantity::from_json(storage)
                && q.signum() <= 0
            {
                errs.push(FieldError::invalid(
                    "spec.capacity[storage]",
                    &json!(q.canonical()),
                    "must be greater than zero",
                ));
            }
        }
    }
    errs.extend(validate_class_and_mode(spec, "spec"));
    if let Some(policy) = str_at(spec, "persistentVolumeReclaimPolicy").filter(|p| !p.is_empty())
        && !["Delete", "Recycle", "Retain"].contains(&policy)
    {
        errs.push(FieldError::not_supported(
            "spec.persistentVolumeReclaimPolicy",
            &json!(policy),
            &["Delete", "Recycle", "Retain"],
        ));
    }
    let sources: Vec<&&str> = PV_SOURCES
        .iter()
        .filter(|s| get(spec, s).is_some())
        .collect();
    match sources.as_slice() {
        [] => errs.push(FieldError::required("spec", "must specify a volume type")),
        [_] => {}
        [_, extra, ..] => errs.push(FieldError::forbidden(
            child("spec", extra),
            "may not specify more than 1 volume type",
        )),
    }
    errs
}

fn obj_len(v: &Value, field: &str) -> usize {
    object_of(v, field).map_or(0, Map::len)
}

/// PersistentVolumeClaim (core/v1): access modes and a storage request.
pub fn validate_persistent_volume_claim(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, true, NameRule::Subdomain);
    let spec = get(obj, "spec").unwrap_or(&NULL);
    errs.extend(validate_pvc_spec(spec, "spec"));
    errs
}

/// `ValidatePersistentVolumeClaimSpec` (claims and claim templates).
pub fn validate_pvc_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    errs.extend(validate_access_modes(
        spec,
        path,
        "at least 1 access mode is required",
    ));
    if let Some(selector) = get(spec, "selector") {
        errs.extend(meta::validate_label_selector(
            Some(selector),
            &child(path, "selector"),
        ));
    }
    let storage_path = key(&child(path, "resources"), "storage");
    match get(spec, "resources")
        .and_then(|r| get(r, "requests"))
        .and_then(|r| get(r, "storage"))
    {
        None => errs.push(FieldError::required(storage_path, "")),
        Some(storage) => {
            if let Some(q) = Quantity::from_json(storage)
                && q.signum() <= 0
            {
                errs.push(FieldError::invalid(
                    storage_path,
                    &json!(q.canonical()),
                    "must be greater than zero",
                ));
            }
        }
    }
    errs.extend(validate_class_and_mode(spec, path));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::strategy::validation::lines;

    #[test]
    fn config_map_rules() {
        let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a b": "x", "ok": "y"}, "binaryData": {"ok": "eQ=="}});
        assert_eq!(
            lines(&validate_config_map(&cm, None)),
            vec![
                "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "data[ok]: Invalid value: \"ok\": duplicate of key present in binaryData",
            ]
        );
        let big = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "x".repeat(MAX_DATA_SIZE + 1)}});
        assert_eq!(
            lines(&validate_config_map(&big, None)),
            vec!["[]: Too long: may not be more than 1048576 bytes"]
        );
        let frozen = json!({"metadata": {"name": "c", "namespace": "d"}, "immutable": true, "data": {"k": "1"}});
        let mut changed = frozen.clone();
        changed["data"]["k"] = json!("2");
        changed["immutable"] = json!(false);
        assert_eq!(
            lines(&validate_config_map(&changed, Some(&frozen))),
            vec![
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
    }

    #[test]
    fn secret_rules() {
        let s = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
        assert_eq!(
            lines(&validate_secret(&s, None)),
            vec!["data[tls.key]: Required value"]
        );
        let old = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"});
        let new = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/basic-auth", "data": {"username": "eA=="}});
        assert_eq!(
            lines(&validate_secret(&new, Some(&old))),
            vec!["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"]
        );
        let sa = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/service-account-token"});
        assert_eq!(
            lines(&validate_secret(&sa, None)),
            vec!["metadata.annotations[kubernetes.io/service-account.name]: Required value"]
        );
        let docker = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson", "data": {}});
        assert_eq!(
            lines(&validate_secret(&docker, None)),
            vec!["data[.dockerconfigjson]: Required value"]
        );
    }

    #[test]
    fn immutable_secrets_keep_their_data() {
        let old = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque", "immutable": true, "data": {"a": "eA=="}});
        let mut new = old.clone();
        new["data"]["a"] = json!("eQ==");
        assert_eq!(
            lines(&validate_secret(&new, Some(&old))),
            vec!["data: Forbidden: field is immutable when `immutable` is set"]
        );
        assert!(validate_secret(&old, Some(&old)).is_empty());
    }

    #[test]
    fn namespace_rules() {
        let ns = json!({"metadata": {"name": "team.a"}, "spec": {"finalizers": ["kubernetes", "custom"]}});
        assert_eq!(
            lines(&validate_namespace(&ns, None)),
            vec![
                "metadata.name: Invalid value: \"team.a\": must not contain dots",
                "spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
            ]
        );
    }

    #[test]
    fn node_taints() {
        let node = json!({"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "a", "effect": "Sometimes"}, {"key": "b"}]}});
        assert_eq!(
            lines(&validate_node(&node, None)),
            vec![
                "spec.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                "spec.taints[1].effect: Required value",
            ]
        );
    }

    #[test]
    fn volumes_and_claims() {
        let pv = json!({"metadata": {"name": "pv1"}, "spec": {"accessModes": ["ReadWriteSometimes"], "capacity": {"storage": "1Gi"}, "persistentVolumeReclaimPolicy": "Keep"}});
        assert_eq!(
            lines(&validate_persistent_volume(&pv, None)),
            vec![
                "spec.accessModes: Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                "spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Recycle\", \"Retain\"",
                "spec: Required value: must specify a volume type",
            ]
        );
        let pvc = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"volumeMode": "Filesystem"}});
        assert_eq!(
            lines(&validate_persistent_volume_claim(&pvc, None)),
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ]
        );
        let zero = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}}});
        assert_eq!(
            lines(&validate_persistent_volume_claim(&zero, None)),
            vec!["spec.resources[storage]: Invalid value: \"0\": must be greater than zero"]
        );
    }

    #[test]
    fn events_match_their_object_namespace() {
        let ev = json!({"metadata": {"name": "x.1", "namespace": "a"}, "involvedObject": {"namespace": "b"}});
        assert_eq!(
            lines(&validate_event(&ev, None)),
            vec!["involvedObject.namespace: Invalid value: \"b\": does not match event.namespace"]
        );
        let ev = json!({"metadata": {"name": "Any_Name", "namespace": "a"}, "involvedObject": {"namespace": "a"}});
        assert!(validate_event(&ev, None).is_empty());
    }
}
