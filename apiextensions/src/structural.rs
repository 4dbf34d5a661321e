//! Structural-ness (kube's `schema.ValidateStructural`): every field a
//! value can have is typed outside `anyOf`/`allOf`/`oneOf`/`not`, those only
//! restrict values, metadata is only narrowed at the root, embedded
//! resources are objects. Pruning and defaulting rely on these invariants.

use crate::FieldError;
use crate::field::{self, child, index, key};
use crate::node::{AdditionalProperties, Checks, Node};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// Every structural violation in `root`, sorted as kube sorts them.
pub(crate) fn validate(root: &Node, path: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    invariants(root, Level::Root, path, &mut out);
    if let Some(checks) = root.checks.as_deref() {
        completeness(checks, root, path, path, &mut out);
    }
    out.sort_by_cached_key(FieldError::to_line);
    out
}

fn invariants(s: &Node, level: Level, path: &str, out: &mut Vec<FieldError>) {
    if s.type_str() == "array" && s.items.is_none() {
        out.push(FieldError::required(
            child(path, "items"),
            "must be specified",
        ));
    }
    if let Some(items) = s.items.as_deref() {
        invariants(items, Level::Item, &child(path, "items"), out);
    }
    let props_path = child(path, "properties");
    for (k, prop) in &s.properties {
        invariants(prop, Level::Field, &key(&props_path, k), out);
    }
    if let Some(ap) = &s.additional_properties {
        if level == Level::Root {
            out.push(FieldError::forbidden(
                child(path, "additionalProperties"),
                "must not be used at the root",
            ));
        }
        if let AdditionalProperties::Schema(ap) = ap {
            invariants(ap, Level::Field, &child(path, "additionalProperties"), out);
        }
    }
    if s.int_or_string && s.preserve_unknown_fields {
        out.push(field::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            &Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if s.int_or_string && s.embedded_resource {
        out.push(field::invalid(
            child(path, "x-kubernetes-embedded-resource"),
            &Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if let Some(checks) = s.checks.as_deref() {
        value_validation(
            checks,
            s.is_int_or_string_any_of(),
            s.is_int_or_string_all_of(),
            path,
            out,
        );
    }
    let check_metadata = level == Level::Root || s.embedded_resource;
    let ty = s.type_str();
    if s.embedded_resource && ty != "object" {
        let detail = "must be object if x-kubernetes-embedded-resource is true";
        if ty.is_empty() {
            out.push(FieldError::required(child(path, "type"), detail));
        } else {
            out.push(field::invalid(
                child(path, "type"),
                &Value::from(ty),
                detail,
            ));
        }
    } else if ty.is_empty() && !s.int_or_string && !s.preserve_unknown_fields {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        out.push(FieldError::required(child(path, "type"), detail));
    }
    if s.embedded_resource && s.additional_properties.is_some() {
        out.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if level == Level::Root && !ty.is_empty() && ty != "object" {
        out.push(field::invalid(
            child(path, "type"),
            &Value::from(ty),
            "must be object at the root",
        ));
    }
    if check_metadata {
        for name in ["kind", "apiVersion"] {
            if let Some(prop) = s.property(name)
                && prop.type_str() != "string"
            {
                out.push(field::invalid(
                    child(&key(&props_path, name), "type"),
                    &Value::from(prop.type_str()),
                    "must be string",
                ));
            }
        }
    }
    if let Some(metadata) = s.property("metadata") {
        metadata_invariants(
            metadata,
            check_metadata,
            level,
            &key(&props_path, "metadata"),
            out,
        );
    }
    if s.embedded_resource && !s.preserve_unknown_fields && s.properties.is_empty() {
        out.push(FieldError::required(
            child(path, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// kube's `validateStructuralMetadataInvariants`.
fn metadata_invariants(
    s: &Node,
    check_metadata: bool,
    level: Level,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    if check_metadata && s.type_str() != "object" {
        out.push(field::invalid(
            child(path, "type"),
            &Value::from(s.type_str()),
            "must be object",
        ));
    }
    if level != Level::Root {
        return;
    }
    let names: Vec<&str> = s.properties.iter().map(|(k, _)| k.as_str()).collect();
    let only_names = match names.as_slice() {
        [] | ["name"] | ["generateName"] => true,
        [a, b] => (*a == "generateName" && *b == "name") || (*a == "name" && *b == "generateName"),
        _ => false,
    };
    let anything_else = !only_names
        || s.description.as_deref().is_some_and(|d| !d.is_empty())
        || s.title.as_deref().is_some_and(|t| !t.is_empty())
        || s.nullable
        || s.example.is_some()
        || s.external_docs.is_some()
        || s.preserve_unknown_fields
        || s.embedded_resource
        || s.int_or_string
        || s.list_type.is_some()
        || !s.list_map_keys.is_empty()
        || s.map_type.is_some()
        || s.x_validations
            .as_ref()
            .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()))
        || s.items.is_some()
        || s.additional_properties.is_some()
        || s.checks.as_deref().is_some_and(|c| !c.is_empty());
    if anything_else {
        out.push(FieldError::forbidden(
            path,
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ));
    }
}

/// kube's `validateValueValidation`.
fn value_validation(
    checks: &Checks,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    path: &str,
    out: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        let list = child(path, "anyOf");
        for (i, n) in checks.any_of.iter().enumerate() {
            nested(n, false, &index(&list, i), out);
        }
    }
    let list = child(path, "allOf");
    for (i, n) in checks.all_of.iter().enumerate() {
        nested(n, skip_first_all_of_any_of && i == 0, &index(&list, i), out);
    }
    let list = child(path, "oneOf");
    for (i, n) in checks.one_of.iter().enumerate() {
        nested(n, false, &index(&list, i), out);
    }
    if let Some(not) = checks.not.as_deref() {
        nested(not, false, &child(path, "not"), out);
    }
    if let Some(pattern) = &checks.pattern
        && let Err(reason) = &pattern.regex
    {
        out.push(field::invalid(
            child(path, "pattern"),
            &Value::from(pattern.source.as_str()),
            &format!("must be a valid regular expression, but isn't: {reason}"),
        ));
    }
}

/// kube's `validateNestedValueValidation`: junctor schemas only restrict values.
fn nested(n: &Node, skip_any_of: bool, path: &str, out: &mut Vec<FieldError>) {
    if let Some(checks) = n.checks.as_deref() {
        value_validation(checks, skip_any_of, false, path, out);
    }
    if let Some(items) = n.items.as_deref() {
        nested(items, false, &child(path, "items"), out);
    }
    let props_path = child(path, "properties");
    for (k, prop) in &n.properties {
        nested(prop, false, &key(&props_path, k), out);
    }
    let forbid = |out: &mut Vec<FieldError>, name: &str, detail: &str| {
        out.push(FieldError::forbidden(child(path, name), detail));
    };
    if !n.type_str().is_empty() {
        forbid(out, "type", "must be empty to be structural");
    }
    if matches!(
        n.additional_properties,
        Some(AdditionalProperties::Schema(_)) | Some(AdditionalProperties::Allowed(true))
    ) {
        forbid(
            out,
            "additionalProperties",
            "must be undefined to be structural",
        );
    }
    if n.default.is_some() {
        forbid(out, "default", "must be undefined to be structural");
    }
    if n.title.as_deref().is_some_and(|t| !t.is_empty()) {
        forbid(out, "title", "must be empty to be structural");
    }
    if n.description.as_deref().is_some_and(|d| !d.is_empty()) {
        forbid(out, "description", "must be empty to be structural");
    }
    if n.nullable {
        forbid(out, "nullable", "must be false to be structural");
    }
    if n.preserve_unknown_fields {
        forbid(
            out,
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        );
    }
    if n.embedded_resource {
        forbid(
            out,
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        );
    }
    if n.int_or_string {
        forbid(
            out,
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        );
    }
    if !n.list_map_keys.is_empty() {
        forbid(
            out,
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    if n.list_type.is_some() {
        forbid(
            out,
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        );
    }
    if n.map_type.is_some() {
        forbid(
            out,
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        );
    }
    if n.x_validations
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        forbid(
            out,
            "x-kubernetes-validations",
            "must be empty to be structural",
        );
    }
    if n.property("metadata").is_some() {
        out.push(FieldError::forbidden(
            key(&props_path, "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// kube's `validateStructuralCompleteness` (which kube runs from the root
/// only): fields junctors name must exist structurally.
fn completeness(checks: &Checks, s: &Node, s_path: &str, v_path: &str, out: &mut Vec<FieldError>) {
    if let Some(not) = checks.not.as_deref() {
        nested_completeness(not, Some(s), s_path, &child(v_path, "not"), out);
    }
    for (name, list) in [
        ("allOf", &checks.all_of),
        ("anyOf", &checks.any_of),
        ("oneOf", &checks.one_of),
    ] {
        let list_path = child(v_path, name);
        for (i, n) in list.iter().enumerate() {
            nested_completeness(n, Some(s), s_path, &index(&list_path, i), out);
        }
    }
}

fn nested_completeness(
    v: &Node,
    s: Option<&Node>,
    s_path: &str,
    v_path: &str,
    out: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        out.push(FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        ));
        return;
    };
    if let Some(checks) = v.checks.as_deref() {
        completeness(checks, s, s_path, v_path, out);
    }
    if let Some(items) = v.items.as_deref() {
        nested_completeness(
            items,
            s.items.as_deref(),
            &child(s_path, "items"),
            &child(v_path, "items"),
            out,
        );
    }
    let s_props = child(s_path, "properties");
    let v_props = child(v_path, "properties");
    for (k, prop) in &v.properties {
        match s.property(k) {
            Some(s_prop) => nested_completeness(
                prop,
                Some(s_prop),
                &key(&s_props, k),
                &key(&v_props, k),
                out,
            ),
            None => out.push(FieldError::required(
                key(&s_props, k),
                format!("because it is defined in {}", key(&v_props, k)),
            )),
        }
    }
}
