//! Schemas kube-apiserver refuses in a CRD, with the reasons it gives, and
//! schemas it accepts.

use super::support::{compile, lines};
use crate::Structural;
use serde_json::{Value, json};

fn refusals(schema: Value) -> Vec<String> {
    match Structural::compile(&schema, "openAPIV3Schema") {
        Ok(_) => Vec::new(),
        Err(errors) => lines(&errors),
    }
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

#[test]
fn refusals_are_worded_as_kube_words_them() {
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "untyped field",
            obj(json!({"spec": {"properties": {"a": {"type": "string"}}}})),
            vec![
                "openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
            ],
        ),
        (
            "untyped root",
            json!({"properties": {"a": {"type": "string"}}}),
            vec!["openAPIV3Schema.type: Required value: must not be empty at the root"],
        ),
        (
            "root not an object",
            json!({"type": "string"}),
            vec![r#"openAPIV3Schema.type: Invalid value: "string": must be object at the root"#],
        ),
        (
            "untyped array items",
            obj(json!({"list": {"type": "array", "items": {}}})),
            vec![
                "openAPIV3Schema.properties[list].items.type: Required value: must not be empty for specified array items",
            ],
        ),
        (
            "array without items",
            obj(json!({"list": {"type": "array"}})),
            vec!["openAPIV3Schema.properties[list].items: Required value: must be specified"],
        ),
        (
            "$ref",
            obj(json!({"a": {"type": "string", "$ref": "#/definitions/x"}})),
            vec!["openAPIV3Schema.properties[a].$ref: Forbidden: $ref is not supported"],
        ),
        (
            "$schema alone is a conversion error",
            obj(
                json!({"a": {"type": "string", "$schema": "http://json-schema.org/draft-04/schema#"}}),
            ),
            vec![
                r#"openAPIV3Schema: Invalid value: "": OpenAPIV3Schema 'schema' is not supported"#,
            ],
        ),
        (
            "items as an array",
            obj(json!({"a": {"type": "array", "items": [{"type": "string"}]}})),
            vec![
                "openAPIV3Schema.properties[a].items: Forbidden: items must be a schema object and not an array",
            ],
        ),
        (
            "type null",
            obj(json!({"a": {"type": "null"}})),
            vec![
                r#"openAPIV3Schema.properties[a].type: Unsupported value: "null": supported values: "array", "boolean", "integer", "number", "object", "string""#,
                "openAPIV3Schema.properties[a].type: Forbidden: type cannot be set to null, use nullable as an alternative",
            ],
        ),
        (
            "properties and additionalProperties",
            obj(
                json!({"m": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}}),
            ),
            vec![
                "openAPIV3Schema.properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
            ],
        ),
        (
            "additionalProperties at the root",
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            vec!["openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root"],
        ),
        (
            "uniqueItems",
            obj(json!({"a": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}})),
            vec![
                "openAPIV3Schema.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ],
        ),
        (
            "preserve-unknown-fields false",
            obj(json!({"a": {"type": "object", "x-kubernetes-preserve-unknown-fields": false}})),
            vec![
                "openAPIV3Schema.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
            ],
        ),
        (
            "nullable root",
            json!({"type": "object", "nullable": true}),
            vec!["openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root"],
        ),
        (
            "type in anyOf",
            obj(
                json!({"a": {"type": "string", "anyOf": [{"type": "string", "description": "x"}]}}),
            ),
            vec![
                "openAPIV3Schema.properties[a].anyOf[0].description: Forbidden: must be empty to be structural",
                "openAPIV3Schema.properties[a].anyOf[0].type: Forbidden: must be empty to be structural",
            ],
        ),
        (
            "extensions in allOf",
            obj(
                json!({"a": {"type": "object", "allOf": [{"nullable": true, "x-kubernetes-preserve-unknown-fields": true, "default": {}}]}}),
            ),
            vec![
                "openAPIV3Schema.properties[a].allOf[0].default: Forbidden: must be undefined to be structural",
                "openAPIV3Schema.properties[a].allOf[0].nullable: Forbidden: must be false to be structural",
                "openAPIV3Schema.properties[a].allOf[0].x-kubernetes-preserve-unknown-fields: Forbidden: must be false to be structural",
            ],
        ),
        (
            "metadata in a junctor",
            json!({"type": "object", "properties": {"metadata": {"type": "object"}}, "anyOf": [{"properties": {"metadata": {}}}]}),
            vec![
                "openAPIV3Schema.anyOf[0].properties[metadata]: Forbidden: must not be specified in a nested context",
            ],
        ),
        (
            "junctor names a field the schema lacks",
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "allOf": [{"properties": {"b": {"minLength": 1}}}]}),
            vec![
                "openAPIV3Schema.properties[b]: Required value: because it is defined in openAPIV3Schema.allOf[0].properties[b]",
            ],
        ),
        (
            "root metadata restricted",
            obj(
                json!({"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}),
            ),
            vec![
                "openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ],
        ),
        (
            "root metadata of the wrong type",
            obj(json!({"metadata": {"type": "string"}})),
            vec![
                r#"openAPIV3Schema.properties[metadata].type: Invalid value: "string": must be object"#,
            ],
        ),
        (
            "default in top-level metadata",
            obj(
                json!({"metadata": {"type": "object", "properties": {"name": {"type": "string", "default": "x"}}}}),
            ),
            vec![
                "openAPIV3Schema.properties[metadata].properties[name].default: Forbidden: must not be set in top-level metadata",
            ],
        ),
        (
            "kind must be a string",
            obj(json!({"kind": {"type": "integer"}})),
            vec![
                r#"openAPIV3Schema.properties[kind].type: Invalid value: "integer": must be string"#,
            ],
        ),
        (
            "embedded resource must be an object with properties",
            obj(json!({"e": {"type": "string", "x-kubernetes-embedded-resource": true}})),
            vec![
                "openAPIV3Schema.properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
                r#"openAPIV3Schema.properties[e].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true"#,
            ],
        ),
        (
            "int-or-string with preserve-unknown-fields",
            obj(
                json!({"a": {"x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true}}),
            ),
            vec![
                "openAPIV3Schema.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true",
            ],
        ),
        (
            "list map without keys",
            obj(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}}),
            ),
            vec![
                "openAPIV3Schema.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
            ],
        ),
        (
            "list map keys must be required or defaulted scalar properties",
            obj(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b", "c"],
                "items": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "object"}}}}}),
            ),
            vec![
                r#"openAPIV3Schema.properties[l].items.properties[b].type: Invalid value: "object": must be a scalar type if parent array's x-kubernetes-list-type is map"#,
                r#"openAPIV3Schema.properties[l].x-kubernetes-list-map-keys: Invalid value: []string{"a", "b", "c"}: entries must all be names of item properties"#,
                "openAPIV3Schema.properties[l].items.properties[a].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                "openAPIV3Schema.properties[l].items.properties[b].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
            ],
        ),
        (
            "list type on a non-array",
            obj(json!({"l": {"type": "object", "x-kubernetes-list-type": "set"}})),
            vec![
                r#"openAPIV3Schema.properties[l].type: Invalid value: "object": must be array if x-kubernetes-list-type is specified"#,
            ],
        ),
        (
            "unknown list type",
            obj(
                json!({"l": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"}}),
            ),
            vec![
                r#"openAPIV3Schema.properties[l].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map""#,
            ],
        ),
        (
            "set of granular objects",
            obj(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}}),
            ),
            vec![
                r#"openAPIV3Schema.properties[l].items.x-kubernetes-map-type: Invalid value: "null": must be atomic as item of a list with x-kubernetes-list-type=set"#,
            ],
        ),
        (
            "map type on a non-object",
            obj(json!({"m": {"type": "string", "x-kubernetes-map-type": "atomic"}})),
            vec![
                r#"openAPIV3Schema.properties[m].type: Invalid value: "string": must be object if x-kubernetes-map-type is specified"#,
            ],
        ),
        (
            "invalid pattern",
            obj(json!({"a": {"type": "string", "pattern": "+"}})),
            vec!["PATTERN"],
        ),
        (
            "default not pruned",
            obj(
                json!({"a": {"type": "object", "properties": {"x": {"type": "string"}}, "default": {"x": "1", "y": 2}}}),
            ),
            vec![
                r#"openAPIV3Schema.properties[a].default: Invalid value: map[string]interface {}{"x":"1", "y":2}: must not have unknown fields"#,
            ],
        ),
        (
            "default of the wrong type",
            obj(json!({"a": {"type": "integer", "minimum": 1, "default": 0}})),
            vec![
                "openAPIV3Schema.properties[a].default: Invalid value: 0:  in body should be greater than or equal to 1",
            ],
        ),
        (
            "default with a bad nested field",
            obj(
                json!({"a": {"type": "object", "properties": {"x": {"type": "string"}}, "default": {"x": 1}}}),
            ),
            vec![
                r#"openAPIV3Schema.properties[a].default.x: Invalid value: "integer": x in body must be of type string: "integer""#,
            ],
        ),
        (
            "malformed keyword",
            obj(json!({"a": {"type": "string", "maxLength": "ten"}})),
            vec![
                r#"openAPIV3Schema.properties[a].maxLength: Invalid value: "ten": must be an integer"#,
            ],
        ),
    ];
    for (name, schema, want) in cases {
        let got = refusals(schema);
        if want == ["PATTERN"] {
            assert_eq!(got.len(), 1, "{name}: {got:#?}");
            assert!(
                got[0].starts_with(r#"openAPIV3Schema.properties[a].pattern: Invalid value: "+": must be a valid regular expression, but isn't: error parsing regexp: "#),
                "{name}: {got:#?}"
            );
            continue;
        }
        assert_eq!(got, want, "case {name:?}");
    }
}

#[test]
fn accepted_shapes() {
    for schema in [
        obj(
            json!({"port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}),
        ),
        obj(json!({"port": {"x-kubernetes-int-or-string": true,
            "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^[0-9]+%?$"}]}})),
        obj(
            json!({"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}}),
        ),
        obj(json!({"raw": {"x-kubernetes-preserve-unknown-fields": true}})),
        obj(
            json!({"template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}),
        ),
        obj(
            json!({"labels": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "granular"}}),
        ),
        obj(
            json!({"ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
            "items": {"type": "object", "required": ["port"], "properties": {
                "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}}}),
        ),
        obj(
            json!({"a": {"type": "object", "properties": {"x": {"type": "string", "default": "d"}}, "default": {}}}),
        ),
        obj(
            json!({"d": {"type": "string", "format": "date-time", "default": "2020-01-01T00:00:00Z"}}),
        ),
        obj(
            json!({"v": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() > 0"}]}}),
        ),
    ] {
        compile(schema);
    }
}

#[test]
fn node_exposes_the_compiled_schema() {
    let s = compile(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "description": "the spec",
                "properties": {
                    "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "atomic"},
                    "n": {"x-kubernetes-int-or-string": true, "nullable": true},
                },
                "x-kubernetes-validations": [{"rule": "true"}],
            },
        },
    }));
    let spec = s.root().property("spec").expect("spec");
    assert_eq!(spec.json_type(), Some(crate::JsonType::Object));
    assert_eq!(spec.description(), Some("the spec"));
    assert!(spec.x_validations().is_some());
    let names: Vec<&str> = spec.properties().map(|(k, _)| k).collect();
    assert_eq!(names, ["labels", "n", "ports"]);
    let ports = spec.property("ports").expect("ports");
    assert_eq!(ports.list_type(), Some(crate::ListType::Map));
    assert_eq!(ports.list_map_keys(), ["name".to_string()]);
    assert_eq!(
        ports.items().map(|i| i.required().to_vec()),
        Some(vec!["name".to_string()])
    );
    let labels = spec.property("labels").expect("labels");
    assert_eq!(labels.map_type(), Some(crate::MapType::Atomic));
    assert!(matches!(
        labels.additional_properties(),
        Some(crate::AdditionalProperties::Schema(_))
    ));
    let n = spec.property("n").expect("n");
    assert!(n.int_or_string() && n.nullable() && n.json_type().is_none());
}
