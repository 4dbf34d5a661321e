//! Small tools every validator shares: field paths as kube prints them,
//! typed reads of a `serde_json::Value` that treat `null` as absent, and
//! Go's `%#v` rendering of the few struct values kube puts in messages.

use serde_json::{Map, Value};

use crate::FieldError;

/// `base.name` (or `name` at the root).
pub fn child(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}.{name}")
    }
}

/// `base[i]`.
pub fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `base[key]`: kube prints map keys unquoted.
pub fn key(base: &str, key: &str) -> String {
    format!("{base}[{key}]")
}

/// The member `key` of `v`, with `null` read as absent.
pub fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// The string member `key`, if it is a string.
pub fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The string member `key`, or `""` (Go's zero value).
pub fn str_or_empty<'a>(v: &'a Value, key: &str) -> &'a str {
    str_at(v, key).unwrap_or("")
}

/// The integer member `key`, if it is a number.
pub fn int_at(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(|x| {
        x.as_i64()
            .or_else(|| x.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
    })
}

/// The boolean member `key`, if it is a boolean.
pub fn bool_at(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

/// The array member `key`, or an empty slice.
pub fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object member `key`, if it is an object.
pub fn obj<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// Whether two optional values are equal the way kube's semantic
/// equality of Go structs sees them: absent, `null`, `{}`, `[]` and the
/// zero scalars (`""`, `0`, `false`) are all "unset".
pub fn semantic_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn unset(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Bool(b)) => !b,
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        }
    }
    match (a, b) {
        _ if unset(a) && unset(b) => true,
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .all(|k| semantic_eq(x.get(k.as_str()), y.get(k.as_str())))
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| semantic_eq(Some(p), Some(q)))
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// An `Invalid` error at `field` for each message a name check
/// (`names::dns1123_label` …) returned about `value`.
pub fn invalid_each(
    field: impl Into<String>,
    value: impl serde::Serialize,
    messages: Vec<String>,
) -> impl Iterator<Item = FieldError> {
    let field = field.into();
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    messages
        .into_iter()
        .map(move |msg| FieldError::invalid(field.clone(), &value, msg))
}

/// An `Invalid value` error whose value is already rendered (Go `%#v`).
pub fn invalid_rendered(field: impl Into<String>, rendered: &str, detail: &str) -> FieldError {
    let mut message = format!("Invalid value: {rendered}");
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(detail);
    }
    FieldError {
        reason: "FieldValueInvalid",
        field: field.into(),
        message,
    }
}

/// A `Duplicate value` error whose value is already rendered.
pub fn duplicate_rendered(field: impl Into<String>, rendered: &str) -> FieldError {
    FieldError {
        reason: "FieldValueDuplicate",
        field: field.into(),
        message: format!("Duplicate value: {rendered}"),
    }
}

/// An `Unsupported value` error whose value is already rendered.
pub fn not_supported_rendered(
    field: impl Into<String>,
    rendered: &str,
    supported: &[&str],
) -> FieldError {
    let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    FieldError {
        reason: "FieldValueNotSupported",
        field: field.into(),
        message: format!(
            "Unsupported value: {rendered}: supported values: {}",
            list.join(", ")
        ),
    }
}

/// Go's `%q`.
pub fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

/// `map[string]string{"a":"b", "c":"d"}`, `map[string]string{}` or
/// `map[string]string(nil)`.
pub fn go_string_map(map: Option<&Value>) -> String {
    match map.and_then(Value::as_object) {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v.as_str().unwrap_or(""))))
                .collect();
            format!("map[string]string{{{}}}", body.join(", "))
        }
    }
}

/// `[]string{"a", "b"}` or `[]string(nil)`.
pub fn go_string_slice(list: Option<&Value>) -> String {
    match list.and_then(Value::as_array) {
        None => "[]string(nil)".to_string(),
        Some(items) => {
            let body: Vec<String> = items
                .iter()
                .map(|v| go_quote(v.as_str().unwrap_or("")))
                .collect();
            format!("[]string{{{}}}", body.join(", "))
        }
    }
}

/// A `metav1.LabelSelector` as `%#v` prints it; `null` for an absent one.
pub fn go_label_selector(selector: Option<&Value>) -> String {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return "null".to_string();
    };
    let expressions = match selector.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(exprs) => {
            let body: Vec<String> = exprs
                .iter()
                .map(|e| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(str_or_empty(e, "key")),
                        go_quote(str_or_empty(e, "operator")),
                        go_string_slice(e.get("values"))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", body.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        go_string_map(selector.get("matchLabels")),
        expressions
    )
}

/// An `intstr.IntOrString` as `%#v` prints it.
pub fn go_int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => {
            format!(
                "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                go_quote(s)
            )
        }
        Some(n) if n.is_number() => format!(
            "intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}",
            n.as_i64().unwrap_or(0)
        ),
        _ => "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_go_values() {
        assert_eq!(
            go_string_map(Some(&json!({"b": "2", "a": "1"}))),
            r#"map[string]string{"a":"1", "b":"2"}"#
        );
        assert_eq!(go_string_map(None), "map[string]string(nil)");
        assert_eq!(
            go_label_selector(Some(&json!({"matchLabels": {"app": "web"}}))),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"#
        );
        assert_eq!(
            go_int_or_string(Some(&json!("25%"))),
            r#"intstr.IntOrString{Type:1, IntVal:0, StrVal:"25%"}"#
        );
        assert_eq!(
            go_int_or_string(Some(&json!(0))),
            r#"intstr.IntOrString{Type:0, IntVal:0, StrVal:""}"#
        );
    }

    #[test]
    fn semantic_equality_ignores_empty_collections() {
        assert!(semantic_eq(Some(&json!({"a": {}})), Some(&json!({}))));
        assert!(semantic_eq(None, Some(&json!([]))));
        assert!(!semantic_eq(Some(&json!({"a": 1})), Some(&json!({"a": 2}))));
    }
}
