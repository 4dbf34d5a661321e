//! `x-kubernetes-embedded-resource` objects carry their own `apiVersion`,
//! `kind` and `metadata` (kube's `schema/objectmeta`): this checks them
//! (`Validate`), refuses metadata that is not an `ObjectMeta` (`Coerce`),
//! and drops metadata fields `ObjectMeta` does not have, as kube's
//! round trip through `ObjectMeta` does.

use crate::FieldError;
use crate::field;
use crate::field_error::regex_error;
use crate::node::Node;
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// Where a walk starts: kube's field path and whether the value there is
/// treated as an embedded resource although its node does not say so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Root<'a> {
    pub path: &'a str,
    pub resource: bool,
}

/// kube's `objectmeta.Validate`: every embedded resource in `value`.
pub(crate) fn validate(node: &Node, value: &Value, root: Root<'_>, out: &mut Vec<FieldError>) {
    walk(node, value, root.path, root.resource, out);
}

fn walk(node: &Node, value: &Value, path: &str, resource: bool, out: &mut Vec<FieldError>) {
    if !node.embedded_below && !resource {
        return;
    }
    match value {
        Value::Object(map) => {
            if node.embedded_resource || resource {
                validate_resource(map, path, out);
            }
            let ap = node
                .additional_properties
                .as_ref()
                .and_then(|ap| ap.schema())
                .filter(|ap| ap.embedded_below);
            let mut relevant: Vec<(&String, bool, &Node, &Value)> = map
                .iter()
                .filter_map(|(k, v)| match node.property(k) {
                    Some(prop) => prop.embedded_below.then_some((k, true, prop, v)),
                    None => ap.map(|ap| (k, false, ap, v)),
                })
                .collect();
            relevant.sort_by(|a, b| a.0.cmp(b.0));
            for (k, is_property, child, v) in relevant {
                let child_path = if is_property {
                    field::child(path, k)
                } else {
                    field::key(path, k)
                };
                walk(child, v, &child_path, false, out);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = node.items.as_deref() {
                for (i, item) in items.iter().enumerate() {
                    walk(item_schema, item, &field::index(path, i), false, out);
                }
            }
        }
        _ => {}
    }
}

/// kube's `validateEmbeddedResource`.
fn validate_resource(map: &Map<String, Value>, path: &str, out: &mut Vec<FieldError>) {
    if !map.contains_key("apiVersion") {
        out.push(FieldError::required(field::child(path, "apiVersion"), ""));
    }
    if !map.contains_key("kind") {
        out.push(FieldError::required(field::child(path, "kind"), ""));
    }
    if let Some(v) = map.get("apiVersion") {
        let p = field::child(path, "apiVersion");
        match v {
            Value::String(s) if s.is_empty() => out.push(field::invalid(p, v, "must not be empty")),
            Value::String(s) if s.matches('/').count() > 1 && s != "/" => {
                out.push(field::invalid(
                    p,
                    v,
                    &format!("unexpected GroupVersion string: {s}"),
                ));
            }
            Value::String(_) => {}
            _ => out.push(field::invalid(p, v, "must be a string")),
        }
    }
    if let Some(v) = map.get("kind") {
        let p = field::child(path, "kind");
        match v {
            Value::String(s) if s.is_empty() => out.push(field::invalid(p, v, "must not be empty")),
            Value::String(s) => {
                let errs = dns1035_label(&s.to_lowercase());
                if !errs.is_empty() {
                    let detail = format!(
                        "may have mixed case, but should otherwise match: {}",
                        errs.join(",")
                    );
                    out.push(field::invalid(p, v, &detail));
                }
            }
            _ => out.push(field::invalid(p, v, "must be a string")),
        }
    }
    if let Some(v) = map.get("metadata") {
        let p = field::child(path, "metadata");
        match decode_error(v) {
            Some(reason) => out.push(field::invalid(p, v, &reason)),
            None => validate_object_meta(v, &p, out),
        }
    }
}

/// kube's `Coerce` without dropping: the first embedded resource whose type
/// meta or metadata would not decode (used to check CRD defaults).
pub(crate) fn coerce_error(node: &Node, value: &Value, root: Root<'_>) -> Option<FieldError> {
    coerce_walk(node, value, root.path, root.resource)
}

fn coerce_walk(node: &Node, value: &Value, path: &str, resource: bool) -> Option<FieldError> {
    if !node.embedded_below && !resource {
        return None;
    }
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                let v = map.get(k)?;
                if node.embedded_resource || resource {
                    match k.as_str() {
                        "apiVersion" | "kind" if !v.is_string() => {
                            return Some(field::invalid(
                                field::child(path, k),
                                v,
                                "must be a string",
                            ));
                        }
                        "metadata" => {
                            if let Some(reason) = decode_error(v) {
                                return Some(field::invalid(field::child(path, k), v, &reason));
                            }
                        }
                        _ => {}
                    }
                }
                let found = if let Some(prop) = node.property(k) {
                    coerce_walk(prop, v, &field::child(path, k), false)
                } else if let Some(ap) = node
                    .additional_properties
                    .as_ref()
                    .and_then(|ap| ap.schema())
                {
                    coerce_walk(ap, v, &field::key(path, k), false)
                } else {
                    None
                };
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Value::Array(items) => {
            let item_schema = node.items.as_deref()?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, item)| coerce_walk(item_schema, item, &field::index(path, i), false))
        }
        _ => None,
    }
}

/// The Go type each `ObjectMeta` field decodes into.
#[derive(Clone, Copy)]
enum MetaType {
    Str,
    Int,
    Time,
    StringMap,
    StringList,
    List,
}

const META_FIELDS: &[(&str, MetaType)] = &[
    ("annotations", MetaType::StringMap),
    ("creationTimestamp", MetaType::Time),
    ("deletionGracePeriodSeconds", MetaType::Int),
    ("deletionTimestamp", MetaType::Time),
    ("finalizers", MetaType::StringList),
    ("generateName", MetaType::Str),
    ("generation", MetaType::Int),
    ("labels", MetaType::StringMap),
    ("managedFields", MetaType::List),
    ("name", MetaType::Str),
    ("namespace", MetaType::Str),
    ("ownerReferences", MetaType::List),
    ("resourceVersion", MetaType::Str),
    ("selfLink", MetaType::Str),
    ("uid", MetaType::Str),
];

fn meta_type(name: &str) -> Option<MetaType> {
    META_FIELDS
        .binary_search_by(|(k, _)| (*k).cmp(name))
        .ok()
        .map(|i| META_FIELDS[i].1)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Why `encoding/json` would not decode `v` into an `ObjectMeta` (a light
/// check of the field types), or `None`.
fn decode_error(v: &Value) -> Option<String> {
    let map = match v {
        Value::Object(map) => map,
        Value::Null => return None,
        other => {
            return Some(format!(
                "json: cannot unmarshal {} into Go value of type v1.ObjectMeta",
                json_kind(other)
            ));
        }
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for k in keys {
        let (Some(t), Some(fv)) = (meta_type(k), map.get(k)) else {
            continue;
        };
        if let Some((found, go_type)) = field_type_error(t, fv) {
            return Some(format!(
                "json: cannot unmarshal {found} into Go struct field ObjectMeta.{k} of type {go_type}"
            ));
        }
    }
    None
}

/// The JSON kind found and the Go type wanted where `v` does not decode as `t`.
fn field_type_error(t: MetaType, v: &Value) -> Option<(&'static str, &'static str)> {
    if v.is_null() {
        return None;
    }
    match t {
        MetaType::Str | MetaType::Time if !v.is_string() => Some((json_kind(v), "string")),
        MetaType::Int if v.as_i64().is_none() => Some((json_kind(v), "int64")),
        MetaType::StringMap => match v {
            Value::Object(m) => bad_string(m.values()),
            other => Some((json_kind(other), "map[string]string")),
        },
        MetaType::StringList => match v {
            Value::Array(a) => bad_string(a.iter()),
            other => Some((json_kind(other), "[]string")),
        },
        MetaType::List if !v.is_array() => Some((json_kind(v), "[]v1.OwnerReference")),
        _ => None,
    }
}

/// The first element that is neither a string nor null, as (found, wanted).
fn bad_string<'v>(
    mut items: impl Iterator<Item = &'v Value>,
) -> Option<(&'static str, &'static str)> {
    items
        .find(|x| !x.is_string() && !x.is_null())
        .map(|x| (json_kind(x), "string"))
}

/// Drops the metadata fields of an embedded resource that `ObjectMeta`
/// does not know or cannot decode, returning the unknown ones' paths
/// (kube's `Coerce` with `DropInvalidFields` and unknown-field tracking).
pub(crate) fn coerce_embedded_metadata(
    map: &mut Map<String, Value>,
    field_path: &str,
    unknown: &mut Vec<String>,
) {
    for k in ["apiVersion", "kind"] {
        if map.get(k).is_some_and(|v| !v.is_string()) {
            map.remove(k);
        }
    }
    let Some(Value::Object(meta)) = map.get_mut("metadata") else {
        return;
    };
    let prefix = field::child(field_path, "metadata");
    meta.retain(|k, v| match meta_type(k) {
        None => {
            unknown.push(format!("{prefix}.{k}"));
            false
        }
        Some(t) => field_type_error(t, v).is_none(),
    });
    if meta.get("creationTimestamp").is_some_and(Value::is_null) {
        meta.remove("creationTimestamp");
    }
}

static DNS1035_LABEL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new("^[a-z]([-a-z0-9]*[a-z0-9])?$").ok());
static DNS1123_LABEL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").ok());
static DNS1123_SUBDOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").ok()
});
static QUALIFIED_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").ok());
static LABEL_VALUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").ok());

fn is_match(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(s))
}

fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_match(&DNS1035_LABEL, s) {
        errs.push(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            "[a-z]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "abc-123"],
        ));
    }
    errs
}

fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_match(&DNS1123_LABEL, s) {
        if is_match(&DNS1123_SUBDOMAIN, s) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if !is_match(&DNS1123_SUBDOMAIN, s) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            &["example.com"],
        ));
    }
    errs
}

const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

/// apimachinery's `IsQualifiedName`.
fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !is_match(&QUALIFIED_NAME, name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_match(&LABEL_VALUE, value) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// apimachinery's `ValidatePathSegmentName`.
fn path_segment(name: &str, prefix: bool) -> Vec<String> {
    if !prefix && (name == "." || name == "..") {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|bad| name.contains(**bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

/// The parts of kube's `ValidateObjectMeta` that embedded metadata gets:
/// names, namespace, generation, labels and annotations.
fn validate_object_meta(meta: &Value, path: &str, out: &mut Vec<FieldError>) {
    let Some(m) = meta.as_object() else { return };
    let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let generate_name = text("generateName");
    if !generate_name.is_empty() {
        for msg in path_segment(generate_name, true) {
            out.push(field::invalid(
                field::child(path, "generateName"),
                &Value::from(generate_name),
                &msg,
            ));
        }
    }
    let name = if text("name").is_empty() {
        "fakename"
    } else {
        text("name")
    };
    for msg in path_segment(name, false) {
        out.push(field::invalid(
            field::child(path, "name"),
            &Value::from(name),
            &msg,
        ));
    }
    let namespace = text("namespace");
    if !namespace.is_empty() {
        for msg in dns1123_label(namespace) {
            out.push(field::invalid(
                field::child(path, "namespace"),
                &Value::from(namespace),
                &msg,
            ));
        }
    }
    if let Some(generation) = m
        .get("generation")
        .and_then(Value::as_i64)
        .filter(|g| *g < 0)
    {
        out.push(field::invalid(
            field::child(path, "generation"),
            &Value::from(generation),
            "must be greater than or equal to 0",
        ));
    }
    if let Some(labels) = m.get("labels").and_then(Value::as_object) {
        let labels_path = field::child(path, "labels");
        let mut keys: Vec<&String> = labels.keys().collect();
        keys.sort();
        for k in keys {
            for msg in qualified_name(k) {
                out.push(field::invalid(&labels_path, &Value::from(k.as_str()), &msg));
            }
            let v = labels.get(k).and_then(Value::as_str).unwrap_or("");
            for msg in label_value(v) {
                out.push(field::invalid(&labels_path, &Value::from(v), &msg));
            }
        }
    }
    if let Some(annotations) = m.get("annotations").and_then(Value::as_object) {
        let annotations_path = field::child(path, "annotations");
        let mut keys: Vec<&String> = annotations.keys().collect();
        keys.sort();
        let mut total = 0;
        for k in keys {
            for msg in qualified_name(&k.to_lowercase()) {
                out.push(field::invalid(
                    &annotations_path,
                    &Value::from(k.as_str()),
                    &msg,
                ));
            }
            total += k.len()
                + annotations
                    .get(k)
                    .and_then(Value::as_str)
                    .map_or(0, str::len);
        }
        if total > 256 * 1024 {
            out.push(field::too_long(annotations_path, 256 * 1024));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_must_be_a_dns1035_label() {
        assert!(dns1035_label("deployment").is_empty());
        assert_eq!(dns1035_label("1abc").len(), 1);
    }

    #[test]
    fn qualified_names_follow_apimachinery() {
        assert!(qualified_name("example.com/MyName").is_empty());
        assert_eq!(
            qualified_name("/x"),
            vec!["prefix part must be non-empty".to_string()]
        );
        assert_eq!(qualified_name("a/b/c").len(), 1);
    }

    #[test]
    fn metadata_types_are_checked() {
        assert_eq!(
            decode_error(&serde_json::json!({"name": 5})).as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.name of type string"
            )
        );
        assert_eq!(
            decode_error(&serde_json::json!({"name": "x", "foo": 1})),
            None
        );
    }
}
