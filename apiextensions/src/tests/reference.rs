//! The 422 a real kube-apiserver 1.28.7 returned for an invalid Widget
//! (`shared/reference/kube-apiserver-1.28.7/errors/422-invalid-widget.json`),
//! against the CRD it was created from (`objects/crd-widgets.json`).

use super::support::compile;
use serde_json::json;

/// `spec.versions[0].schema.openAPIV3Schema` of `crd-widgets.json`.
fn widget_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "description": "WidgetSpec is the desired state.",
                "type": "object",
                "required": ["size"],
                "properties": {
                    "color": {"type": "string", "enum": ["red", "green", "blue"]},
                    "size": {"description": "number of things", "type": "integer", "minimum": 1}
                }
            },
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
        }
    })
}

#[test]
fn invalid_widget_reproduces_kube_causes() {
    let s = compile(widget_schema());
    let widget = json!({
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"color": "pink", "size": 0}
    });
    let causes: Vec<(&str, String, String)> = s
        .validate(&widget)
        .into_iter()
        .map(|e| (e.reason, e.field, e.message))
        .collect();
    assert_eq!(
        causes,
        vec![
            (
                "FieldValueNotSupported",
                "spec.color".to_string(),
                "Unsupported value: \"pink\": supported values: \"red\", \"green\", \"blue\""
                    .to_string()
            ),
            (
                "FieldValueInvalid",
                "spec.size".to_string(),
                "Invalid value: 0: spec.size in body should be greater than or equal to 1"
                    .to_string()
            ),
        ]
    );
    let joined: Vec<String> = s
        .validate(&widget)
        .iter()
        .map(crate::FieldError::to_line)
        .collect();
    assert_eq!(
        format!(
            "Widget.example.com \"bad\" is invalid: [{}]",
            joined.join(", ")
        ),
        "Widget.example.com \"bad\" is invalid: [spec.color: Unsupported value: \"pink\": supported values: \"red\", \"green\", \"blue\", spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1]"
    );
}

#[test]
fn valid_widget_passes_and_required_size_is_reported() {
    let s = compile(widget_schema());
    assert!(
        s.validate(&json!({"spec": {"color": "red", "size": 3}, "status": {"ready": true}}))
            .is_empty()
    );
    let lines: Vec<String> = s
        .validate(&json!({"spec": {}}))
        .iter()
        .map(crate::FieldError::to_line)
        .collect();
    assert_eq!(lines, ["spec.size: Required value"]);
}
