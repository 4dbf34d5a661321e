//! `ObjectMeta` validation (apimachinery's `ValidateObjectMeta` and
//! `ValidateObjectMetaUpdate`, plus core's finalizer rule), and the label
//! and label-selector rules every kind with a selector shares.

use serde_json::{Value, json};

use super::fields::{
    arr, child, get, go_quote, index, invalid_each, key, obj, str_at, str_or_empty,
};
use super::names;
use crate::FieldError;

/// The most bytes all annotation keys and values may take together.
pub const TOTAL_ANNOTATION_SIZE: usize = 256 * 1024;

/// `field is immutable`.
pub const IMMUTABLE: &str = "field is immutable";

/// `must be greater than or equal to 0`.
pub const NEGATIVE: &str = "must be greater than or equal to 0";

/// Which rule a kind's `metadata.name` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain: most kinds.
    Subdomain,
    /// RFC 1123 label: namespaces, statefulsets.
    Label,
    /// RFC 1035 label: services.
    Dns1035,
    /// Anything usable as a URL path segment: RBAC kinds.
    PathSegment,
}

impl NameRule {
    /// kube's `ValidateNameFunc`: the messages for `name` (a generateName
    /// prefix when `prefix`).
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        let masked;
        let name = if prefix && self != NameRule::PathSegment {
            masked = names::mask_trailing_dash(name);
            masked.as_str()
        } else {
            name
        };
        match self {
            NameRule::Subdomain => names::dns1123_subdomain(name),
            NameRule::Label => names::dns1123_label(name),
            NameRule::Dns1035 => names::dns1035_label(name),
            NameRule::PathSegment => names::path_segment_name(name, prefix),
        }
    }
}

fn metadata(obj: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    get(obj, "metadata").unwrap_or(&EMPTY)
}

/// `ValidateObjectMeta` for a whole object on create.
pub fn validate_object_meta(obj: &Value, namespaced: bool, rule: NameRule) -> Vec<FieldError> {
    let meta = metadata(obj);
    let mut errs = Vec::new();
    let generate_name = str_or_empty(meta, "generateName");
    if !generate_name.is_empty() {
        for msg in rule.check(generate_name, true) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                &json!(generate_name),
                msg,
            ));
        }
    }
    let name = str_or_empty(meta, "name");
    if name.is_empty() {
        // The name is generated from generateName before validation.
        if generate_name.is_empty() {
            errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        for msg in rule.check(name, false) {
            errs.push(FieldError::invalid("metadata.name", &json!(name), msg));
        }
    }
    errs.extend(validate_meta_common(meta, namespaced));
    errs
}

fn validate_meta_common(meta: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let namespace = str_or_empty(meta, "namespace");
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required("metadata.namespace", ""));
        } else {
            errs.extend(invalid_each(
                "metadata.namespace",
                namespace,
                names::dns1123_label(namespace),
            ));
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    if let Some(generation) = meta.get("generation").and_then(Value::as_i64) {
        errs.extend(nonnegative("metadata.generation", generation));
    }
    errs.extend(validate_labels(meta.get("labels"), "metadata.labels"));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        "metadata.annotations",
    ));
    errs.extend(validate_owner_references(meta));
    errs.extend(validate_finalizers(meta));
    errs
}

/// Labels: qualified-name keys and label-syntax values, both reported at
/// the map's own path.
pub fn validate_labels(labels: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(labels) = labels.and_then(Value::as_object) else {
        return errs;
    };
    let mut keys: Vec<&String> = labels.keys().collect();
    keys.sort();
    for k in keys {
        errs.extend(invalid_each(path, k, names::qualified_name(k)));
        let value = labels[k.as_str()].as_str().unwrap_or("");
        errs.extend(invalid_each(path, value, names::label_value(value)));
    }
    errs
}

/// Annotations: case-insensitive qualified-name keys, 256 KiB in total.
pub fn validate_annotations(annotations: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(annotations) = annotations.and_then(Value::as_object) else {
        return errs;
    };
    let mut keys: Vec<&String> = annotations.keys().collect();
    keys.sort();
    let mut total = 0;
    for k in keys {
        errs.extend(invalid_each(
            path,
            k,
            names::qualified_name(&k.to_lowercase()),
        ));
        total += k.len() + annotations[k.as_str()].as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE));
    }
    errs
}

fn validate_owner_references(meta: &Value) -> Vec<FieldError> {
    let path = "metadata.ownerReferences";
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for reference in arr(meta, "ownerReferences") {
        let api_version = str_or_empty(reference, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "apiVersion"),
                &json!(api_version),
                "version must not be empty",
            ));
        }
        for field in ["kind", "name", "uid"] {
            let value = str_or_empty(reference, field);
            if value.is_empty() {
                errs.push(FieldError::invalid(
                    child(path, field),
                    &json!(value),
                    "must not be empty",
                ));
            }
        }
        if reference.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!(
                "{}/{}",
                str_or_empty(reference, "kind"),
                str_or_empty(reference, "name")
            );
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    meta.get("ownerReferences").unwrap_or(&Value::Null),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// The finalizer names kube knows without a domain prefix.
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

fn validate_finalizers(meta: &Value) -> Vec<FieldError> {
    let path = "metadata.finalizers";
    let finalizers: Vec<&str> = arr(meta, "finalizers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut errs = Vec::new();
    for f in &finalizers {
        errs.extend(invalid_each(path, f, names::qualified_name(f)));
    }
    if finalizers.contains(&"orphan") && finalizers.contains(&"foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            meta.get("finalizers").unwrap_or(&Value::Null),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    for (i, f) in finalizers.iter().enumerate() {
        errs.extend(kube_finalizer_name(f, &index(path, i)));
    }
    errs
}

/// Core's extra finalizer rule: a name without `/` must be a standard one.
pub fn kube_finalizer_name(name: &str, path: &str) -> Vec<FieldError> {
    if !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
        vec![FieldError::invalid(
            path,
            &json!(name),
            "name is neither a standard finalizer name nor is it fully qualified",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidateObjectMetaUpdate`: identity fields may not change; labels and
/// annotations are revalidated. An empty `uid` or absent
/// `creationTimestamp` counts as "kept" (kube copies them from the stored
/// object before validating).
pub fn validate_object_meta_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let (meta, old_meta) = (metadata(obj), metadata(old));
    let mut errs = Vec::new();
    if old_meta
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        let old_finalizers = arr(old_meta, "finalizers");
        let mut added: Vec<&str> = arr(meta, "finalizers")
            .iter()
            .filter(|f| !old_finalizers.contains(f))
            .filter_map(Value::as_str)
            .collect();
        added.sort_unstable();
        added.dedup();
        if !added.is_empty() {
            let list: Vec<String> = added.iter().map(|f| go_quote(f)).collect();
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    for field in ["name", "namespace"] {
        let (new, previous) = (str_or_empty(meta, field), str_or_empty(old_meta, field));
        if new != previous {
            errs.push(FieldError::invalid(
                child("metadata", field),
                &json!(new),
                IMMUTABLE,
            ));
        }
    }
    for field in ["uid", "creationTimestamp"] {
        if let Some(new) = str_at(meta, field).filter(|s| !s.is_empty())
            && str_at(old_meta, field).is_some_and(|previous| previous != new)
        {
            errs.push(FieldError::invalid(
                child("metadata", field),
                &json!(new),
                IMMUTABLE,
            ));
        }
    }
    errs.extend(validate_labels(meta.get("labels"), "metadata.labels"));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        "metadata.annotations",
    ));
    errs.extend(validate_owner_references(meta));
    let finalizers = arr(meta, "finalizers").iter().filter_map(Value::as_str);
    for (i, f) in finalizers.enumerate() {
        errs.extend(kube_finalizer_name(f, &index("metadata.finalizers", i)));
    }
    errs
}

/// `ValidateNonnegativeField`.
pub fn nonnegative(path: &str, value: i64) -> Vec<FieldError> {
    if value < 0 {
        vec![FieldError::invalid(path, &json!(value), NEGATIVE)]
    } else {
        Vec::new()
    }
}

/// The integer at `key` of `v`, checked with [`nonnegative`].
pub fn nonnegative_at(v: &Value, key_name: &str, path: &str) -> Vec<FieldError> {
    v.get(key_name)
        .and_then(Value::as_i64)
        .map(|n| nonnegative(&child(path, key_name), n))
        .unwrap_or_default()
}

/// `ValidateLabelSelector` (label values checked strictly).
pub fn validate_label_selector(selector: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return errs;
    };
    errs.extend(validate_labels(
        selector.get("matchLabels"),
        &child(path, "matchLabels"),
    ));
    for (i, expr) in arr(selector, "matchExpressions").iter().enumerate() {
        let expr_path = index(&child(path, "matchExpressions"), i);
        errs.extend(validate_selector_requirement(expr, &expr_path));
    }
    errs
}

fn validate_selector_requirement(expr: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let values = arr(expr, "values");
    let operator = str_or_empty(expr, "operator");
    match operator {
        "In" | "NotIn" => {
            if values.is_empty() {
                errs.push(FieldError::required(
                    child(path, "values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                errs.push(FieldError::forbidden(
                    child(path, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        _ => errs.push(FieldError::invalid(
            child(path, "operator"),
            &json!(operator),
            "not a valid selector operator",
        )),
    }
    let label_key = str_or_empty(expr, "key");
    errs.extend(invalid_each(
        child(path, "key"),
        label_key,
        names::qualified_name(label_key),
    ));
    for (i, value) in values.iter().enumerate() {
        let value = value.as_str().unwrap_or("");
        errs.extend(invalid_each(
            index(&child(path, "values"), i),
            value,
            names::label_value(value),
        ));
    }
    errs
}

/// A parsed `metav1.LabelSelector`, as `LabelSelectorAsSelector` builds it.
#[derive(Debug)]
pub enum Selector<'a> {
    /// A nil selector: matches nothing.
    Nothing,
    /// An empty selector: matches everything.
    Everything,
    /// Requirements that must all hold.
    Requirements(Vec<(&'a str, &'a str, Vec<&'a str>)>),
}

impl<'a> Selector<'a> {
    /// Parses `selector`; `None` when kube's conversion would fail.
    pub fn parse(selector: Option<&'a Value>) -> Option<Self> {
        let Some(selector) = selector.filter(|s| s.is_object()) else {
            return Some(Selector::Nothing);
        };
        if !validate_label_selector(Some(selector), "").is_empty() {
            return None;
        }
        let mut reqs = Vec::new();
        if let Some(labels) = obj(selector, "matchLabels") {
            for (k, v) in labels {
                reqs.push((k.as_str(), "In", vec![v.as_str().unwrap_or("")]));
            }
        }
        for expr in arr(selector, "matchExpressions") {
            let values = arr(expr, "values")
                .iter()
                .map(|v| v.as_str().unwrap_or(""))
                .collect();
            reqs.push((
                str_or_empty(expr, "key"),
                str_or_empty(expr, "operator"),
                values,
            ));
        }
        Some(if reqs.is_empty() {
            Selector::Everything
        } else {
            Selector::Requirements(reqs)
        })
    }

    /// `selector.Empty()`: true only for the match-everything selector.
    pub fn is_empty(&self) -> bool {
        matches!(self, Selector::Everything)
    }

    /// Whether a set of labels (a JSON object, or absent) is selected.
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        match self {
            Selector::Nothing => false,
            Selector::Everything => true,
            Selector::Requirements(reqs) => reqs.iter().all(|(k, op, values)| match *op {
                "In" => label(k).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(k).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(k).is_some(),
                "DoesNotExist" => label(k).is_none(),
                _ => false,
            }),
        }
    }
}

/// Whether a selector object has neither matchLabels nor matchExpressions.
pub fn selector_has_no_terms(selector: &Value) -> bool {
    obj(selector, "matchLabels").is_none_or(|m| m.is_empty())
        && arr(selector, "matchExpressions").is_empty()
}

/// The key path of one label, for errors that name it.
pub fn label_path(base: &str, label: &str) -> String {
    key(&child(base, "labels"), label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::to_line).collect()
    }

    #[test]
    fn name_is_required_without_generate_name() {
        let errs = validate_object_meta(
            &json!({"metadata": {"namespace": "d"}}),
            true,
            NameRule::Subdomain,
        );
        assert_eq!(
            messages(&errs),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
        let errs = validate_object_meta(
            &json!({"metadata": {"generateName": "x-", "namespace": "d"}}),
            true,
            NameRule::Subdomain,
        );
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn generate_name_prefix_is_checked() {
        let errs = validate_object_meta(
            &json!({"metadata": {"generateName": "Bad-", "namespace": "d"}}),
            true,
            NameRule::Subdomain,
        );
        assert_eq!(errs[0].field, "metadata.generateName");
        assert!(
            errs[0]
                .message
                .starts_with("Invalid value: \"Bad-\": a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn namespace_rules() {
        let errs = validate_object_meta(
            &json!({"metadata": {"name": "a"}}),
            true,
            NameRule::Subdomain,
        );
        assert_eq!(messages(&errs), vec!["metadata.namespace: Required value"]);
        let errs = validate_object_meta(
            &json!({"metadata": {"name": "a", "namespace": "x"}}),
            false,
            NameRule::Subdomain,
        );
        assert_eq!(
            messages(&errs),
            vec!["metadata.namespace: Forbidden: not allowed on this type"]
        );
    }

    #[test]
    fn labels_and_annotations() {
        let obj = json!({"metadata": {"name": "a", "namespace": "d", "labels": {"a/b/c": "-x"}}});
        let errs = validate_object_meta(&obj, true, NameRule::Subdomain);
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "metadata.labels");
        assert!(
            errs[0]
                .message
                .starts_with("Invalid value: \"a/b/c\": a qualified name must consist")
        );
        assert!(
            errs[1]
                .message
                .starts_with("Invalid value: \"-x\": a valid label must be an empty string")
        );

        let big = "x".repeat(TOTAL_ANNOTATION_SIZE);
        let obj = json!({"metadata": {"name": "a", "namespace": "d", "annotations": {"Example.com/Key": big}}});
        let errs = validate_object_meta(&obj, true, NameRule::Subdomain);
        assert_eq!(
            messages(&errs),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
    }

    #[test]
    fn finalizers_need_a_domain_unless_standard() {
        let obj = json!({"metadata": {"name": "a", "finalizers": ["kubernetes", "custom", "example.com/x"]}});
        let errs = validate_object_meta(&obj, false, NameRule::Subdomain);
        assert_eq!(
            messages(&errs),
            vec![
                "metadata.finalizers[1]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"
            ]
        );
    }

    #[test]
    fn owner_references_need_identity() {
        let obj = json!({"metadata": {"name": "a", "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "n", "uid": ""}]}});
        let errs = validate_object_meta(&obj, false, NameRule::Subdomain);
        assert_eq!(
            messages(&errs),
            vec!["metadata.ownerReferences.uid: Invalid value: \"\": must not be empty"]
        );
    }

    #[test]
    fn identity_is_immutable_on_update() {
        let old = json!({"metadata": {"name": "a", "namespace": "d", "uid": "1", "creationTimestamp": "2024-01-01T00:00:00Z"}});
        let new = json!({"metadata": {"name": "b", "namespace": "d", "uid": "2", "creationTimestamp": "2025-01-01T00:00:00Z"}});
        assert_eq!(
            messages(&validate_object_meta_update(&new, &old)),
            vec![
                "metadata.name: Invalid value: \"b\": field is immutable",
                "metadata.uid: Invalid value: \"2\": field is immutable",
                "metadata.creationTimestamp: Invalid value: \"2025-01-01T00:00:00Z\": field is immutable",
            ]
        );
        let kept = json!({"metadata": {"name": "a", "namespace": "d"}});
        assert!(validate_object_meta_update(&kept, &old).is_empty());
    }

    #[test]
    fn no_new_finalizers_while_deleting() {
        let old = json!({"metadata": {"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["a.io/x"]}});
        let new = json!({"metadata": {"name": "a", "finalizers": ["a.io/x", "a.io/y"]}});
        assert_eq!(
            messages(&validate_object_meta_update(&new, &old)),
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"a.io/y\"}"
            ]
        );
    }

    #[test]
    fn selector_requirements() {
        let sel = json!({"matchExpressions": [
            {"key": "a", "operator": "In"},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "c", "operator": "Near"}
        ]});
        assert_eq!(
            messages(&validate_label_selector(Some(&sel), "spec.selector")),
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                "spec.selector.matchExpressions[2].operator: Invalid value: \"Near\": not a valid selector operator",
            ]
        );
    }

    #[test]
    fn selector_matching() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]});
        let parsed = Selector::parse(Some(&sel)).unwrap();
        assert!(parsed.matches(Some(&json!({"app": "web"}))));
        assert!(!parsed.matches(Some(&json!({"app": "web", "tier": "db"}))));
        assert!(!Selector::parse(None).unwrap().matches(Some(&json!({}))));
        assert!(Selector::parse(Some(&json!({}))).unwrap().is_empty());
    }
}
