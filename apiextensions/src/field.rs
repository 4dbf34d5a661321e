//! kube's `field.Path` spelling and the `field.Error` constructors this
//! crate needs beyond `FieldError`'s own, with values rendered as Go does.

use crate::FieldError;
use crate::go_fmt;
use serde_json::Value;

/// `path.Child(name)`: `a.b`, or `b` at the root.
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// `path.Key(key)`: `a[key]`.
pub(crate) fn key(path: &str, key: &str) -> String {
    format!("{path}[{key}]")
}

/// `path.Index(i)`: `a[0]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// `field.Invalid` with kube's rendering of the bad value.
pub(crate) fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> FieldError {
    invalid_rendered(field, &go_fmt::error_value(value), detail)
}

/// `field.Invalid` with a value already rendered (Go `[]string`, typed nils).
pub(crate) fn invalid_rendered(
    field: impl Into<String>,
    rendered: &str,
    detail: &str,
) -> FieldError {
    FieldError {
        reason: "FieldValueInvalid",
        field: field.into(),
        message: with_detail(format!("Invalid value: {rendered}"), detail),
    }
}

/// `field.TypeInvalid`: worded as `Invalid value`, reason `FieldValueTypeInvalid`.
pub(crate) fn type_invalid(field: impl Into<String>, value: &Value, detail: &str) -> FieldError {
    FieldError {
        reason: "FieldValueTypeInvalid",
        field: field.into(),
        message: with_detail(
            format!("Invalid value: {}", go_fmt::error_value(value)),
            detail,
        ),
    }
}

/// `field.NotSupported` with the supported values quoted as Go's `strconv.Quote` does.
pub(crate) fn not_supported(
    field: impl Into<String>,
    value: &Value,
    supported: &[String],
) -> FieldError {
    let mut message = format!("Unsupported value: {}", go_fmt::error_value(value));
    if !supported.is_empty() {
        let quoted: Vec<String> = supported.iter().map(|s| go_fmt::quote(s)).collect();
        message.push_str(": supported values: ");
        message.push_str(&quoted.join(", "));
    }
    FieldError {
        reason: "FieldValueNotSupported",
        field: field.into(),
        message,
    }
}

/// `field.Duplicate` with kube's rendering of the duplicated value.
pub(crate) fn duplicate(field: impl Into<String>, value: &Value) -> FieldError {
    FieldError {
        reason: "FieldValueDuplicate",
        field: field.into(),
        message: format!("Duplicate value: {}", go_fmt::error_value(value)),
    }
}

/// `field.TooMany`: `Too many: 3: must have at most 2 items`.
pub(crate) fn too_many(field: impl Into<String>, actual: i64, max: i64) -> FieldError {
    let detail = if max >= 0 {
        format!("must have at most {max} items")
    } else {
        "has too many items".to_string()
    };
    let message = if actual >= 0 {
        format!("Too many: {actual}: {detail}")
    } else {
        format!("Too many: {detail}")
    };
    FieldError {
        reason: "FieldValueTooMany",
        field: field.into(),
        message,
    }
}

/// `field.TooLong`: `Too long: may not be more than 5 bytes`.
pub(crate) fn too_long(field: impl Into<String>, max: i64) -> FieldError {
    if max >= 0 {
        FieldError::too_long(field, max as usize)
    } else {
        FieldError {
            reason: "FieldValueTooLong",
            field: field.into(),
            message: "Too long: value is too long".to_string(),
        }
    }
}

fn with_detail(mut head: String, detail: &str) -> String {
    if !detail.is_empty() {
        head.push_str(": ");
        head.push_str(detail);
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_are_spelled_like_field_path() {
        assert_eq!(child("", "spec"), "spec");
        assert_eq!(child("spec", "x"), "spec.x");
        assert_eq!(key("spec.labels", "a"), "spec.labels[a]");
        assert_eq!(index("spec.list", 3), "spec.list[3]");
    }

    #[test]
    fn constructors_word_messages_like_kube() {
        assert_eq!(
            too_many("f", 3, 2).to_line(),
            "f: Too many: 3: must have at most 2 items"
        );
        assert_eq!(
            not_supported("f", &json!(1), &["a".into(), "1".into()]).to_line(),
            r#"f: Unsupported value: 1: supported values: "a", "1""#
        );
        assert_eq!(
            duplicate("f[1]", &json!({"name": "a"})).to_line(),
            r#"f[1]: Duplicate value: map[string]interface {}{"name":"a"}"#
        );
        assert_eq!(
            invalid("f", &json!(null), "x").to_line(),
            r#"f: Invalid value: "null": x"#
        );
    }
}
