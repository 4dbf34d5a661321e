//! Pruning: what kube drops, what it keeps, and the paths it reports.

use super::support::compile;
use serde_json::json;

#[test]
fn prunes_unknown_fields_and_reports_them_sorted() {
    let s = compile(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "list": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}},
                    "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "integer"}}}}},
                },
            },
        },
    }));
    let mut obj = json!({
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "anything": 1},
        "spec": {
            "foo": 1,
            "list": [{"name": "a", "bar": true}, {"name": "b"}],
            "labels": {"k": {"v": "x", "extra": 1}},
            "matrix": [[{"a": 1, "b": 2}]],
        },
        "status": {"ready": true},
    });
    let removed = s.prune(&mut obj);
    assert_eq!(
        removed,
        [
            "spec.foo",
            "spec.labels.k.extra",
            "spec.list[0].bar",
            "spec.matrix[0][0].b",
            "status"
        ]
    );
    assert_eq!(
        obj,
        json!({
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "anything": 1},
            "spec": {
                "list": [{"name": "a"}, {"name": "b"}],
                "labels": {"k": {"v": "x"}},
                "matrix": [[{"a": 1}]],
            },
        })
    );
}

#[test]
fn preserve_unknown_fields_keeps_unknown_but_prunes_known_subtrees() {
    let s = compile(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}},
            },
            "raw": {"x-kubernetes-preserve-unknown-fields": true},
        },
    }));
    let mut obj = json!({
        "spec": {"free": {"x": 1}, "known": {"a": "1", "b": 2}},
        "raw": {"anything": [1, {"goes": true}]},
    });
    let removed = s.prune(&mut obj);
    assert_eq!(removed, ["spec.known.b"]);
    assert_eq!(
        obj,
        json!({"spec": {"free": {"x": 1}, "known": {"a": "1"}}, "raw": {"anything": [1, {"goes": true}]}})
    );
}

#[test]
fn root_preserve_unknown_fields_keeps_everything_unknown() {
    let s = compile(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    let mut obj = json!({"spec": {"a": 1}, "other": 2});
    assert!(s.prune(&mut obj).is_empty());
    assert_eq!(obj, json!({"spec": {"a": 1}, "other": 2}));
}

#[test]
fn embedded_resources_keep_type_and_object_meta() {
    let s = compile(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}},
                    },
                    "templates": {
                        "type": "object",
                        "additionalProperties": {"type": "object", "x-kubernetes-embedded-resource": true,
                            "x-kubernetes-preserve-unknown-fields": true},
                    },
                },
            },
        },
    }));
    let mut obj = json!({
        "spec": {
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "labels": {"a": "b"}, "bogus": 1, "creationTimestamp": null},
                "spec": {"replicas": 1, "junk": 2},
                "status": {},
            },
            "templates": {"one": {"apiVersion": "v1", "kind": "X", "metadata": {"weird": true}, "free": 1}},
        },
    });
    let removed = s.prune(&mut obj);
    assert_eq!(
        removed,
        [
            "spec.template.metadata.bogus",
            "spec.template.spec.junk",
            "spec.template.status",
            "spec.templates[one].metadata.weird",
        ]
    );
    assert_eq!(
        obj["spec"]["template"],
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"replicas": 1}})
    );
    assert_eq!(
        obj["spec"]["templates"]["one"],
        json!({"apiVersion": "v1", "kind": "X", "metadata": {}, "free": 1})
    );
}

#[test]
fn additional_properties_true_keeps_keys_but_not_their_insides() {
    let s = compile(json!({
        "type": "object",
        "properties": {"m": {"type": "object", "additionalProperties": true}},
    }));
    let mut obj = json!({"m": {"a": 1, "b": {"c": 2}}});
    assert_eq!(s.prune(&mut obj), ["m.b.c"]);
    assert_eq!(obj, json!({"m": {"a": 1, "b": {}}}));
}
