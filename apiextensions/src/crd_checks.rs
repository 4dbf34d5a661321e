//! The schema rules kube's CRD validation applies beyond structural-ness
//! (`ValidateCustomResourceDefinitionOpenAPISchema` and the checks of
//! `validateCustomResourceDefinitionValidation` around it): unsupported
//! keywords, defaults in metadata, list and map type extensions. Walks the
//! raw JSON, as kube walks `JSONSchemaProps`, so keywords the compiled
//! nodes drop are still seen.

use crate::FieldError;
use crate::field::{self, child, index, key};
use crate::go_fmt;
use serde_json::{Map, Value};

const OPENAPI_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// kube's `specStandardValidatorV3` state.
#[derive(Clone, Default)]
struct Context {
    /// Why defaults are forbidden here, if they are.
    forbid_defaults: Option<String>,
    inside_resource_meta: bool,
}

impl Context {
    fn forbidding_defaults(&self, reason: String) -> Context {
        Context {
            forbid_defaults: Some(reason),
            ..self.clone()
        }
    }
}

/// The errors kube reports for the root schema before structural checks.
pub(crate) fn root_errors(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        out.push(FieldError::forbidden(
            child(path, "nullable"),
            "nullable cannot be true at the root",
        ));
    }
    out
}

/// Every CRD-schema rule violation in `schema`, at paths below `path`.
pub(crate) fn check(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(schema, path, &Context::default(), true, &mut out);
    out
}

/// Errors kube meets when converting to a structural schema (reported only
/// when nothing else is wrong, since they overlap with the other checks).
pub(crate) fn conversion_errors(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut reason = None;
    find_unconvertible(schema, &mut reason);
    reason
        .map(|r| vec![field::invalid(path, &Value::String(String::new()), &r)])
        .unwrap_or_default()
}

fn find_unconvertible(schema: &Value, reason: &mut Option<String>) {
    let Some(m) = schema.as_object() else { return };
    if reason.is_some() {
        return;
    }
    let present = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
    let non_empty = |k: &str| match m.get(k) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    let problem = if non_empty("id") {
        Some("OpenAPIV3Schema 'id' is not supported")
    } else if non_empty("$schema") {
        Some("OpenAPIV3Schema 'schema' is not supported")
    } else if non_empty("$ref") {
        Some("OpenAPIV3Schema '$ref' is not supported")
    } else if non_empty("patternProperties") {
        Some("OpenAPIV3Schema 'patternProperties' is not supported")
    } else if non_empty("dependencies") {
        Some("OpenAPIV3Schema 'dependencies' is not supported")
    } else if present("additionalItems") {
        Some("OpenAPIV3Schema 'additionalItems' is not supported")
    } else if non_empty("definitions") {
        Some("OpenAPIV3Schema 'definitions' is not supported")
    } else if m
        .get("items")
        .is_some_and(|i| i.as_array().is_some_and(|a| !a.is_empty()))
    {
        Some("OpenAPIV3Schema 'items' must be a schema, but is an array")
    } else if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        Some("internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined")
    } else {
        None
    };
    if let Some(p) = problem {
        *reason = Some(p.to_string());
        return;
    }
    for k in ["items", "not", "additionalProperties"] {
        if let Some(sub) = m.get(k).filter(|v| v.is_object()) {
            find_unconvertible(sub, reason);
        }
    }
    if let Some(Value::Object(props)) = m.get("properties") {
        for sub in props.values() {
            find_unconvertible(sub, reason);
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = m.get(k) {
            for sub in subs {
                find_unconvertible(sub, reason);
            }
        }
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

fn sorted_entries(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// kube's `specStandardValidatorV3.validate`.
fn standard_checks(m: &Map<String, Value>, path: &str, ctx: &Context, out: &mut Vec<FieldError>) {
    let ty = str_of(m, "type").unwrap_or("");
    if !ty.is_empty() && !OPENAPI_TYPES.contains(&ty) {
        let supported: Vec<String> = OPENAPI_TYPES.iter().map(|s| s.to_string()).collect();
        out.push(field::not_supported(
            child(path, "type"),
            &Value::from(ty),
            &supported,
        ));
    }
    if m.contains_key("default")
        && let Some(reason) = &ctx.forbid_defaults
    {
        out.push(FieldError::forbidden(
            child(path, "default"),
            format!("must not be set {reason}"),
        ));
    }
    if str_of(m, "id").is_some_and(|id| !id.is_empty()) {
        out.push(FieldError::forbidden(
            child(path, "id"),
            "id is not supported",
        ));
    }
    if m.get("additionalItems").is_some_and(|v| !v.is_null()) {
        out.push(FieldError::forbidden(
            child(path, "additionalItems"),
            "additionalItems is not supported",
        ));
    }
    if m.get("patternProperties")
        .and_then(Value::as_object)
        .is_some_and(|o| !o.is_empty())
    {
        out.push(FieldError::forbidden(
            child(path, "patternProperties"),
            "patternProperties is not supported",
        ));
    }
    if m.get("definitions")
        .and_then(Value::as_object)
        .is_some_and(|o| !o.is_empty())
    {
        out.push(FieldError::forbidden(
            child(path, "definitions"),
            "definitions is not supported",
        ));
    }
    if m.get("dependencies").is_some_and(|v| !v.is_null()) {
        out.push(FieldError::forbidden(
            child(path, "dependencies"),
            "dependencies is not supported",
        ));
    }
    if m.get("$ref").is_some_and(|v| !v.is_null()) {
        out.push(FieldError::forbidden(
            child(path, "$ref"),
            "$ref is not supported",
        ));
    }
    if ty == "null" {
        out.push(FieldError::forbidden(
            child(path, "type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if m.get("items")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        out.push(FieldError::forbidden(
            child(path, "items"),
            "items must be a schema object and not an array",
        ));
    }
    if ctx.inside_resource_meta
        && m.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true))
    {
        out.push(FieldError::forbidden(
            child(path, "x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
}

fn walk(schema: &Value, path: &str, ctx: &Context, is_root: bool, out: &mut Vec<FieldError>) {
    let Some(m) = schema.as_object() else { return };
    standard_checks(m, path, ctx, out);
    let ty = str_of(m, "type").unwrap_or("");
    let embedded = m.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    let properties = m.get("properties").and_then(Value::as_object);

    if m.get("uniqueItems") == Some(&Value::Bool(true)) {
        out.push(FieldError::forbidden(
            child(path, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if let Some(ap) = m.get("additionalProperties").filter(|v| !v.is_null()) {
        if properties.is_some_and(|p| !p.is_empty())
            && (ap == &Value::Bool(false) || ap.is_object())
        {
            out.push(FieldError::forbidden(
                child(path, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if ap.is_object() {
            let sub = if ctx.inside_resource_meta {
                ctx.forbidding_defaults(
                    "inside additionalProperties applying to object metadata".into(),
                )
            } else {
                ctx.clone()
            };
            walk(ap, &child(path, "additionalProperties"), &sub, false, out);
        }
    }
    if let Some(props) = properties {
        let props_path = child(path, "properties");
        for (k, v) in sorted_entries(props) {
            let mut sub = ctx.clone();
            if (is_root || embedded) && META_FIELDS.contains(&k.as_str()) {
                sub.inside_resource_meta = true;
                if is_root {
                    sub = sub.forbidding_defaults(format!("in top-level {k}"));
                }
            }
            walk(v, &key(&props_path, k), &sub, false, out);
        }
    }
    if let Some(not) = m.get("not") {
        walk(not, &child(path, "not"), ctx, false, out);
    }
    for name in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(subs)) = m.get(name) {
            let list_path = child(path, name);
            for (i, sub) in subs.iter().enumerate() {
                walk(sub, &index(&list_path, i), ctx, false, out);
            }
        }
    }
    match m.get("items") {
        Some(items @ Value::Object(_)) => walk(items, &child(path, "items"), ctx, false, out),
        Some(Value::Array(items)) => {
            let items_path = child(path, "items");
            for (i, item) in items.iter().enumerate() {
                walk(item, &index(&items_path, i), ctx, false, out);
            }
        }
        _ => {}
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        out.push(field::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            &Value::Bool(false),
            "must be true or undefined",
        ));
    }
    map_type_checks(m, path, ty, out);
    list_type_checks(m, path, ty, out);
}

/// Requires the type an extension presumes: `Required` if unset, else `Invalid`.
fn type_must_be(path: &str, ty: &str, detail: &str) -> FieldError {
    if ty.is_empty() {
        FieldError::required(child(path, "type"), detail)
    } else {
        field::invalid(child(path, "type"), &Value::from(ty), detail)
    }
}

fn map_type_checks(m: &Map<String, Value>, path: &str, ty: &str, out: &mut Vec<FieldError>) {
    let Some(map_type) = str_of(m, "x-kubernetes-map-type") else {
        return;
    };
    if ty != "object" {
        out.push(type_must_be(
            path,
            ty,
            "must be object if x-kubernetes-map-type is specified",
        ));
    }
    if map_type != "atomic" && map_type != "granular" {
        out.push(field::not_supported(
            child(path, "x-kubernetes-map-type"),
            &Value::from(map_type),
            &["atomic".to_string(), "granular".to_string()],
        ));
    }
}

/// A `*string` as Go's `field.Error` prints it: the string quoted, or `"null"`.
fn optional_string(v: Option<&str>) -> Value {
    Value::from(v.unwrap_or("null"))
}

fn list_type_checks(m: &Map<String, Value>, path: &str, ty: &str, out: &mut Vec<FieldError>) {
    let list_type = str_of(m, "x-kubernetes-list-type");
    let items = m.get("items").and_then(Value::as_object);
    let items_path = child(path, "items");
    if let Some(lt) = list_type {
        if ty != "array" {
            out.push(type_must_be(
                path,
                ty,
                "must be array if x-kubernetes-list-type is specified",
            ));
        } else if lt == "set"
            && let Some(is) = items
        {
            let detail = "must be atomic as item of a list with x-kubernetes-list-type=set";
            let item_lt = str_of(is, "x-kubernetes-list-type");
            match str_of(is, "type") {
                Some("array") if item_lt.is_some_and(|t| t != "atomic") => {
                    out.push(field::invalid(
                        child(&items_path, "x-kubernetes-list-type"),
                        &optional_string(item_lt),
                        detail,
                    ))
                }
                Some("object") if str_of(is, "x-kubernetes-map-type") != Some("atomic") => out
                    .push(field::invalid(
                        child(&items_path, "x-kubernetes-map-type"),
                        &optional_string(item_lt),
                        detail,
                    )),
                _ => {}
            }
        }
        if !["atomic", "set", "map"].contains(&lt) {
            out.push(field::not_supported(
                child(path, "x-kubernetes-list-type"),
                &Value::from(lt),
                &["atomic".to_string(), "set".to_string(), "map".to_string()],
            ));
        }
    }
    let keys: Vec<String> = m
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !keys.is_empty() {
        let detail = "must be map if x-kubernetes-list-map-keys is non-empty";
        match list_type {
            None => out.push(FieldError::required(
                child(path, "x-kubernetes-list-type"),
                detail,
            )),
            Some(lt) if lt != "map" => {
                out.push(field::invalid(
                    child(path, "x-kubernetes-list-type"),
                    &Value::from(lt),
                    detail,
                ));
            }
            _ => {}
        }
    }
    if list_type == Some("map") {
        if keys.is_empty() {
            out.push(FieldError::required(
                child(path, "x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match m.get("items") {
            None | Some(Value::Null) => out.push(FieldError::required(
                items_path.clone(),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(Value::Array(_)) => out.push(field::invalid_rendered(
                items_path.clone(),
                "apiextensions.JSONSchemaPropsOrArray{...}",
                "must only have a single schema if x-kubernetes-list-type is map",
            )),
            _ => {}
        }
        if let Some(is) = items {
            let item_ty = str_of(is, "type").unwrap_or("");
            if item_ty != "object" {
                out.push(field::invalid(
                    child(&items_path, "type"),
                    &Value::from(item_ty),
                    "must be object if parent array's x-kubernetes-list-type is map",
                ));
            } else {
                let item_props = is.get("properties").and_then(Value::as_object);
                let shown_keys = go_fmt::string_slice(&keys);
                let mut seen: Vec<&str> = Vec::new();
                for k in &keys {
                    match item_props.and_then(|p| p.get(k)).and_then(Value::as_object) {
                        Some(prop) => {
                            let prop_ty = str_of(prop, "type").unwrap_or("");
                            if prop_ty == "array" || prop_ty == "object" {
                                let props_path = child(&items_path, "properties");
                                out.push(field::invalid(
                                    child(&key(&props_path, k), "type"),
                                    &Value::from(item_ty),
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                ));
                            }
                        }
                        None => out.push(field::invalid_rendered(
                            child(path, "x-kubernetes-list-map-keys"),
                            &shown_keys,
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(&k.as_str()) {
                        out.push(field::invalid_rendered(
                            child(path, "x-kubernetes-list-map-keys"),
                            &shown_keys,
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(k);
                }
            }
        }
    }
    keyed_list_item_checks(path, list_type, items, &keys, out);
}

/// kube's `validateMapListKeysMapSet`: items of set and map lists cannot be
/// null, and map keys must always be present (required or defaulted).
fn keyed_list_item_checks(
    path: &str,
    list_type: Option<&str>,
    items: Option<&Map<String, Value>>,
    keys: &[String],
    out: &mut Vec<FieldError>,
) {
    let (Some(lt @ ("set" | "map")), Some(is)) = (list_type, items) else {
        return;
    };
    let items_path = child(path, "items");
    if is.get("nullable") == Some(&Value::Bool(true)) {
        out.push(FieldError::forbidden(
            child(&items_path, "nullable"),
            format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
        ));
    }
    if lt != "map" {
        return;
    }
    let required: Vec<&str> = is
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let props = is.get("properties").and_then(Value::as_object);
    let props_path = child(&items_path, "properties");
    for k in keys {
        let Some(prop) = props.and_then(|p| p.get(k)).and_then(Value::as_object) else {
            continue;
        };
        let prop_path = key(&props_path, k);
        if !required.contains(&k.as_str()) && !prop.contains_key("default") {
            out.push(FieldError::required(
                child(&prop_path, "default"),
                "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
            ));
        }
        if prop.get("nullable") == Some(&Value::Bool(true)) {
            out.push(FieldError::forbidden(
                child(&prop_path, "nullable"),
                "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
            ));
        }
    }
}
