//! Compile and validation cost on large schemas (real operator CRDs, such
//! as the Prometheus operator's, have ~10k lines of schema).

use super::support::compile;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// A container-like object schema with the usual keywords, patterns and
/// int-or-string quantities operator CRDs repeat hundreds of times.
fn container(depth: usize) -> Value {
    let mut props = Map::new();
    for i in 0..40 {
        props.insert(
            format!("field{i}"),
            json!({"type": "string", "description": "some text", "maxLength": 253}),
        );
    }
    props.insert(
        "resources".into(),
        json!({"type": "object", "additionalProperties": {
            "x-kubernetes-int-or-string": true,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$"
        }}),
    );
    props.insert(
        "ports".into(),
        json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
            "items": {"type": "object", "required": ["containerPort"], "properties": {
                "containerPort": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535},
                "protocol": {"type": "string", "default": "TCP", "enum": ["TCP", "UDP", "SCTP"]},
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
            }}}),
    );
    if depth > 0 {
        props.insert(
            "nested".into(),
            json!({"type": "array", "items": container(depth - 1)}),
        );
        props.insert("other".into(), container(depth - 1));
    }
    json!({"type": "object", "properties": props})
}

fn large_schema() -> Value {
    let mut props = Map::new();
    for i in 0..24 {
        props.insert(format!("section{i}"), container(2));
    }
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": props}}})
}

fn count_properties(v: &Value) -> usize {
    match v {
        Value::Object(m) => {
            m.get("properties")
                .and_then(Value::as_object)
                .map_or(0, |p| p.len())
                + m.values().map(count_properties).sum::<usize>()
        }
        Value::Array(a) => a.iter().map(count_properties).sum(),
        _ => 0,
    }
}

#[test]
fn large_schema_compiles_fast_even_in_debug() {
    let schema = large_schema();
    assert!(
        count_properties(&schema) > 5000,
        "schema has {} properties",
        count_properties(&schema)
    );
    let start = Instant::now();
    let s = compile(schema);
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_millis(200),
        "compile took {elapsed:?}"
    );

    let obj = json!({"spec": {"section3": {
        "field1": "x",
        "resources": {"cpu": "100m", "memory": "1Gi"},
        "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
        "nested": [{"field2": "y", "other": {"field3": "z"}}],
    }}});
    let start = Instant::now();
    for _ in 0..100 {
        assert!(s.validate(&obj).is_empty());
    }
    let per_object = start.elapsed() / 100;
    assert!(
        per_object < Duration::from_millis(2),
        "validation took {per_object:?}"
    );
}
