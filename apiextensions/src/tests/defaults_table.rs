//! Defaulting as kube's structural defaulter does it.

use super::support::compile;
use serde_json::{Value, json};

fn defaulted(schema: Value, mut obj: Value) -> Value {
    compile(schema).apply_defaults(&mut obj);
    obj
}

#[test]
fn missing_fields_get_defaults_recursively() {
    let schema = json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "default": {},
                "properties": {
                    "replicas": {"type": "integer", "default": 1},
                    "strategy": {
                        "type": "object",
                        "default": {"type": "Rolling"},
                        "properties": {
                            "type": {"type": "string"},
                            "maxSurge": {"type": "integer", "default": 25},
                        },
                    },
                    "given": {"type": "string", "default": "d"},
                },
            },
        },
    });
    assert_eq!(
        defaulted(schema.clone(), json!({})),
        json!({"spec": {"replicas": 1, "strategy": {"type": "Rolling", "maxSurge": 25}, "given": "d"}})
    );
    assert_eq!(
        defaulted(
            schema,
            json!({"spec": {"given": "mine", "strategy": {"type": "Recreate"}}})
        ),
        json!({"spec": {"replicas": 1, "strategy": {"type": "Recreate", "maxSurge": 25}, "given": "mine"}})
    );
}

#[test]
fn defaults_in_array_items_and_map_values() {
    let schema = json!({
        "type": "object",
        "properties": {
            "ports": {
                "type": "array",
                "items": {"type": "object", "properties": {
                    "port": {"type": "integer"},
                    "protocol": {"type": "string", "default": "TCP"},
                }},
            },
            "limits": {
                "type": "object",
                "additionalProperties": {"type": "object", "properties": {"max": {"type": "integer", "default": 10}}},
            },
        },
    });
    assert_eq!(
        defaulted(
            schema,
            json!({"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}], "limits": {"cpu": {}, "mem": {"max": 3}}})
        ),
        json!({
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "limits": {"cpu": {"max": 10}, "mem": {"max": 3}},
        })
    );
}

#[test]
fn nulls_follow_nullable() {
    let schema = json!({
        "type": "object",
        "properties": {
            "withDefault": {"type": "string", "default": "d"},
            "nullableWithDefault": {"type": "string", "nullable": true, "default": "d"},
            "plain": {"type": "string"},
            "nullablePlain": {"type": "string", "nullable": true},
            "items": {"type": "array", "items": {"type": "string", "default": "x"}},
            "free": {"type": "object", "additionalProperties": {"type": "integer", "default": 7}},
            "nullableItems": {"type": "array", "items": {"type": "string", "nullable": true, "default": "x"}},
        },
    });
    let obj = json!({
        "withDefault": null,
        "nullableWithDefault": null,
        "plain": null,
        "nullablePlain": null,
        "items": ["a", null],
        "free": {"k": null},
        "nullableItems": [null],
    });
    assert_eq!(
        defaulted(schema, obj),
        json!({
            "withDefault": "d",
            "nullableWithDefault": null,
            "nullablePlain": null,
            "items": ["a", "x"],
            "free": {"k": 7},
            "nullableItems": [null],
        })
    );
}

#[test]
fn unknown_nulls_are_left_for_pruning() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    assert_eq!(
        defaulted(schema, json!({"b": null, "a": null})),
        json!({"b": null})
    );
}
