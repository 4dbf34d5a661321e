//! (schema, object, expected error lines) for every keyword validation
//! covers, with kube's wording (from kube-openapi's messages and
//! apiextensions' `kubeOpenAPIResultToFieldErrors`).

use super::support::{compile, lines};
use serde_json::{Value, json};

/// A root schema with one property `field`.
fn with_field(field: Value) -> Value {
    json!({"type": "object", "properties": {"field": field}})
}

struct Case {
    name: &'static str,
    field: Value,
    value: Value,
    want: &'static [&'static str],
}

fn run(cases: &[Case]) {
    for case in cases {
        let s = compile(with_field(case.field.clone()));
        let got = lines(&s.validate(&json!({"field": case.value})));
        let want: Vec<String> = case.want.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "case {:?}", case.name);
    }
}

#[test]
fn types() {
    run(&[
        Case {
            name: "string for object",
            field: json!({"type": "object"}),
            value: json!("foo"),
            want: &[
                r#"field: Invalid value: "string": field in body must be of type object: "string""#,
            ],
        },
        Case {
            name: "integer for object",
            field: json!({"type": "object"}),
            value: json!(42),
            want: &[
                r#"field: Invalid value: "integer": field in body must be of type object: "integer""#,
            ],
        },
        Case {
            name: "number for object",
            field: json!({"type": "object"}),
            value: json!(1.2),
            want: &[
                r#"field: Invalid value: "number": field in body must be of type object: "number""#,
            ],
        },
        Case {
            name: "array for object",
            field: json!({"type": "object"}),
            value: json!([]),
            want: &[
                r#"field: Invalid value: "array": field in body must be of type object: "array""#,
            ],
        },
        Case {
            name: "boolean for object",
            field: json!({"type": "object"}),
            value: json!(true),
            want: &[
                r#"field: Invalid value: "boolean": field in body must be of type object: "boolean""#,
            ],
        },
        Case {
            name: "null, not nullable",
            field: json!({"type": "object"}),
            value: json!(null),
            want: &[
                r#"field: Invalid value: "null": field in body must be of type object: "null""#,
            ],
        },
        Case {
            name: "null, nullable",
            field: json!({"type": "object", "nullable": true}),
            value: json!(null),
            want: &[],
        },
        Case {
            name: "integer accepts an integral float",
            field: json!({"type": "integer"}),
            value: json!(1.0),
            want: &[],
        },
        Case {
            name: "integer refuses a fraction",
            field: json!({"type": "integer"}),
            value: json!(1.5),
            want: &[
                r#"field: Invalid value: "number": field in body must be of type integer: "number""#,
            ],
        },
        Case {
            name: "number accepts an integer",
            field: json!({"type": "number"}),
            value: json!(3),
            want: &[],
        },
        Case {
            name: "string for integer",
            field: json!({"type": "integer"}),
            value: json!("3"),
            want: &[
                r#"field: Invalid value: "string": field in body must be of type integer: "string""#,
            ],
        },
        Case {
            name: "int-or-string takes both",
            field: json!({"x-kubernetes-int-or-string": true}),
            value: json!("50%"),
            want: &[],
        },
        Case {
            name: "int-or-string refuses a boolean",
            field: json!({"x-kubernetes-int-or-string": true}),
            value: json!(true),
            want: &[
                r#"field: Invalid value: "boolean": field in body must be of type integer,string: "boolean""#,
            ],
        },
        Case {
            name: "int-or-string refuses null",
            field: json!({"x-kubernetes-int-or-string": true}),
            value: json!(null),
            want: &[
                r#"field: Invalid value: "null": field in body must be of type integer,string: "null""#,
            ],
        },
        Case {
            name: "untyped preserve-unknown takes anything",
            field: json!({"x-kubernetes-preserve-unknown-fields": true}),
            value: json!([1, "a"]),
            want: &[],
        },
    ]);
}

#[test]
fn int_or_string_with_user_any_of_reports_the_best_branch() {
    run(&[
        Case {
            name: "anyOf",
            field: json!({"x-kubernetes-int-or-string": true, "nullable": true,
                "anyOf": [{"type": "integer"}, {"type": "string"}]}),
            value: json!(true),
            want: &[
                r#"field: Invalid value: "boolean": field in body must be of type integer,string: "boolean""#,
                r#"<nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
                r#"field: Invalid value: "boolean": field in body must be of type integer: "boolean""#,
            ],
        },
        Case {
            name: "allOf",
            field: json!({"x-kubernetes-int-or-string": true,
                "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}]}),
            value: json!({}),
            want: &[
                r#"field: Invalid value: "object": field in body must be of type integer,string: "object""#,
                r#"<nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
                r#"field: Invalid value: "object": field in body must be of type integer: "object""#,
                r#"<nil>: Invalid value: "": "field" must validate all the schemas (allOf). None validated"#,
            ],
        },
    ]);
}

#[test]
fn enums() {
    run(&[
        Case {
            name: "string enum",
            field: json!({"type": "string", "enum": ["a", "b"]}),
            value: json!("c"),
            want: &[r#"field: Unsupported value: "c": supported values: "a", "b""#],
        },
        Case {
            name: "integer enum with a string",
            field: json!({"type": "integer", "enum": [1, 2]}),
            value: json!("x"),
            want: &[
                r#"field: Invalid value: "string": field in body must be of type integer: "string""#,
                r#"field: Unsupported value: "x": supported values: "1", "2""#,
            ],
        },
        Case {
            name: "string enum with a boolean",
            field: json!({"type": "string", "enum": ["a", "b"]}),
            value: json!(true),
            want: &[
                r#"field: Invalid value: "boolean": field in body must be of type string: "boolean""#,
                r#"field: Unsupported value: true: supported values: "a", "b""#,
            ],
        },
        Case {
            name: "integer matches a float enum value",
            field: json!({"type": "number", "enum": [1.0, 2.5]}),
            value: json!(1),
            want: &[],
        },
        Case {
            name: "nullable enum still refuses null, as kube does",
            field: json!({"type": "string", "nullable": true, "enum": ["a"]}),
            value: json!(null),
            want: &[r#"field: Unsupported value: "null": supported values: "a""#],
        },
        Case {
            name: "object enum",
            field: json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "enum": [{"a": 1}]}),
            value: json!({"a": 2}),
            want: &[
                r#"field: Unsupported value: map[string]interface {}{"a":2}: supported values: "{\"a\":1}""#,
            ],
        },
    ]);
}

#[test]
fn strings() {
    run(&[
        Case {
            name: "pattern",
            field: json!({"type": "string", "pattern": "^a+$"}),
            value: json!("b"),
            want: &[r#"field: Invalid value: "b": field in body should match '^a+$'"#],
        },
        Case {
            name: "maxLength counts characters",
            field: json!({"type": "string", "maxLength": 2}),
            value: json!("abc"),
            want: &["field: Too long: may not be more than 2 bytes"],
        },
        Case {
            name: "maxLength passes multibyte",
            field: json!({"type": "string", "maxLength": 2}),
            value: json!("éé"),
            want: &[],
        },
        Case {
            name: "minLength",
            field: json!({"type": "string", "minLength": 3}),
            value: json!("ab"),
            want: &[r#"field: Invalid value: "ab": field in body should be at least 3 chars long"#],
        },
        Case {
            name: "maxLength stops before pattern",
            field: json!({"type": "string", "maxLength": 1, "pattern": "^x$"}),
            value: json!("abc"),
            want: &["field: Too long: may not be more than 1 bytes"],
        },
    ]);
}

#[test]
fn formats() {
    run(&[
        Case {
            name: "email",
            field: json!({"type": "string", "format": "email"}),
            value: json!("nope"),
            want: &[r#"field: Invalid value: "nope": field in body must be of type email: "nope""#],
        },
        Case {
            name: "date-time keeps its dash in the message",
            field: json!({"type": "string", "format": "date-time"}),
            value: json!("yesterday"),
            want: &[
                r#"field: Invalid value: "yesterday": field in body must be of type date-time: "yesterday""#,
            ],
        },
        Case {
            name: "valid date-time",
            field: json!({"type": "string", "format": "date-time"}),
            value: json!("2024-05-06T07:08:09Z"),
            want: &[],
        },
        Case {
            name: "byte is base64",
            field: json!({"type": "string", "format": "byte"}),
            value: json!("!!"),
            want: &[r#"field: Invalid value: "!!": field in body must be of type byte: "!!""#],
        },
        Case {
            name: "unknown formats are ignored",
            field: json!({"type": "string", "format": "uri-reference"}),
            value: json!("::"),
            want: &[],
        },
        Case {
            name: "int32 is stripped in 1.28-1.33",
            field: json!({"type": "integer", "format": "int32"}),
            value: json!(9_999_999_999_i64),
            want: &[],
        },
        Case {
            name: "a string format on a number",
            field: json!({"type": "string", "format": "ipv4"}),
            value: json!(7),
            want: &[
                r#"field: Invalid value: "int64": field in body must be of type ipv4: "int64""#,
            ],
        },
    ]);
}

#[test]
fn numbers() {
    run(&[
        Case {
            name: "minimum",
            field: json!({"type": "integer", "minimum": 1}),
            value: json!(0),
            want: &["field: Invalid value: 0: field in body should be greater than or equal to 1"],
        },
        Case {
            name: "exclusive minimum",
            field: json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true}),
            value: json!(1),
            want: &["field: Invalid value: 1: field in body should be greater than 1"],
        },
        Case {
            name: "maximum",
            field: json!({"type": "number", "maximum": 2.5}),
            value: json!(3.5),
            want: &["field: Invalid value: 3.5: field in body should be less than or equal to 2.5"],
        },
        Case {
            name: "exclusive maximum",
            field: json!({"type": "integer", "maximum": 10, "exclusiveMaximum": true}),
            value: json!(10),
            want: &["field: Invalid value: 10: field in body should be less than 10"],
        },
        Case {
            name: "integers compare against the truncated bound, as kube does",
            field: json!({"type": "integer", "minimum": 1.5}),
            value: json!(1),
            want: &[],
        },
        Case {
            name: "large bounds print like Go",
            field: json!({"type": "number", "maximum": 1_000_000.0}),
            value: json!(2e6),
            want: &[
                "field: Invalid value: 2e+06: field in body should be less than or equal to 1e+06",
            ],
        },
        Case {
            name: "multipleOf integer",
            field: json!({"type": "integer", "multipleOf": 5}),
            value: json!(12),
            want: &["field: Invalid value: 12: field in body should be a multiple of 5"],
        },
        Case {
            name: "multipleOf float",
            field: json!({"type": "number", "multipleOf": 0.5}),
            value: json!(1.25),
            want: &["field: Invalid value: 1.25: field in body should be a multiple of 0.5"],
        },
        Case {
            name: "multipleOf float passes",
            field: json!({"type": "number", "multipleOf": 0.1}),
            value: json!(0.3),
            want: &[],
        },
        Case {
            name: "multipleOf, minimum and maximum report in kube's order",
            field: json!({"type": "integer", "multipleOf": 2, "minimum": 10, "maximum": 0}),
            value: json!(5),
            want: &[
                "field: Invalid value: 5: field in body should be a multiple of 2",
                "field: Invalid value: 5: field in body should be greater than or equal to 10",
                "field: Invalid value: 5: field in body should be less than or equal to 0",
            ],
        },
    ]);
}

#[test]
fn arrays() {
    run(&[
        Case {
            name: "maxItems",
            field: json!({"type": "array", "items": {"type": "string"}, "maxItems": 2}),
            value: json!(["a", "b", "c"]),
            want: &["field: Too many: 3: must have at most 2 items"],
        },
        Case {
            name: "minItems",
            field: json!({"type": "array", "items": {"type": "string"}, "minItems": 1}),
            value: json!([]),
            want: &["field: Invalid value: 0: field in body should have at least 1 items"],
        },
        Case {
            name: "item paths",
            field: json!({"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}),
            value: json!([{"name": "a"}, {"name": 1}]),
            want: &[
                r#"field[1].name: Invalid value: "integer": field[1].name in body must be of type string: "integer""#,
            ],
        },
        Case {
            name: "items before size",
            field: json!({"type": "array", "items": {"type": "integer"}, "maxItems": 1}),
            value: json!(["x", 2]),
            want: &[
                r#"field[0]: Invalid value: "string": field[0] in body must be of type integer: "string""#,
                "field: Too many: 2: must have at most 1 items",
            ],
        },
    ]);
}

#[test]
fn objects() {
    run(&[
        Case {
            name: "maxProperties",
            field: json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "maxProperties": 2}),
            value: json!({"a": true, "b": true, "c": true}),
            want: &["field: Too many: 3: must have at most 2 items"],
        },
        Case {
            name: "minProperties",
            field: json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "minProperties": 1}),
            value: json!({}),
            want: &["field: Invalid value: 0: field in body should have at least 1 properties"],
        },
        Case {
            name: "required",
            field: json!({"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}),
            value: json!({"b": "x"}),
            want: &["field.a: Required value"],
        },
        Case {
            name: "map values are validated with dotted paths, as kube-openapi names them",
            field: json!({"type": "object", "additionalProperties": {"type": "string", "maxLength": 1}}),
            value: json!({"k1": "a", "k2": "bb", "k3": 3}),
            want: &[
                "field.k2: Too long: may not be more than 1 bytes",
                r#"field.k3: Invalid value: "integer": field.k3 in body must be of type string: "integer""#,
            ],
        },
        Case {
            name: "additionalProperties false forbids every key",
            field: json!({"type": "object", "additionalProperties": false}),
            value: json!({"x": 1}),
            want: &[r#"field: Invalid value: "x": field.x in body is a forbidden property"#],
        },
        Case {
            name: "unknown fields under preserve-unknown are not validated",
            field: json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"known": {"type": "integer"}}}),
            value: json!({"known": "x", "other": {"deep": true}}),
            want: &[
                r#"field.known: Invalid value: "string": field.known in body must be of type integer: "string""#,
            ],
        },
        Case {
            name: "errors come in property order",
            field: json!({"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "string"}}}),
            value: json!({"b": 1, "a": 2}),
            want: &[
                r#"field.a: Invalid value: "integer": field.a in body must be of type string: "integer""#,
                r#"field.b: Invalid value: "integer": field.b in body must be of type string: "integer""#,
            ],
        },
    ]);
}

#[test]
fn junctors() {
    run(&[
        Case {
            name: "anyOf none valid",
            field: json!({"type": "string", "anyOf": [{"pattern": "^a"}, {"maxLength": 1}]}),
            value: json!("bcd"),
            want: &[
                r#"<nil>: Invalid value: "": "field" must validate at least one schema (anyOf)"#,
                r#"field: Invalid value: "bcd": field in body should match '^a'"#,
            ],
        },
        Case {
            name: "anyOf one valid",
            field: json!({"type": "string", "anyOf": [{"pattern": "^a"}, {"maxLength": 1}]}),
            value: json!("b"),
            want: &[],
        },
        Case {
            name: "oneOf two valid",
            field: json!({"type": "string", "oneOf": [{"minLength": 1}, {"maxLength": 5}]}),
            value: json!("abc"),
            want: &[
                r#"<nil>: Invalid value: "": "field" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
            ],
        },
        Case {
            name: "oneOf none valid",
            field: json!({"type": "string", "oneOf": [{"minLength": 5}, {"pattern": "^z"}]}),
            value: json!("abc"),
            want: &[
                r#"<nil>: Invalid value: "": "field" must validate one and only one schema (oneOf). Found none valid"#,
                r#"field: Invalid value: "abc": field in body should be at least 5 chars long"#,
            ],
        },
        Case {
            name: "allOf one failing",
            field: json!({"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}),
            value: json!(5),
            want: &[
                "field: Invalid value: 5: field in body should be less than or equal to 3",
                r#"<nil>: Invalid value: "": "field" must validate all the schemas (allOf)"#,
            ],
        },
        Case {
            name: "not",
            field: json!({"type": "string", "not": {"enum": ["forbidden"]}}),
            value: json!("forbidden"),
            want: &[r#"<nil>: Invalid value: "": "field" must not validate the schema (not)"#],
        },
        Case {
            name: "nested properties in allOf",
            field: json!({"type": "object", "properties": {"a": {"type": "integer"}},
                "allOf": [{"properties": {"a": {"minimum": 3}}}]}),
            value: json!({"a": 1}),
            want: &[
                "field.a: Invalid value: 1: field.a in body should be greater than or equal to 3",
                r#"<nil>: Invalid value: "": "field" must validate all the schemas (allOf). None validated"#,
            ],
        },
    ]);
}

#[test]
fn list_sets_and_maps() {
    run(&[
        Case {
            name: "set duplicates report the second occurrence",
            field: json!({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}),
            value: json!(["a", "b", "a", "a", "b"]),
            want: &[
                r#"field[2]: Duplicate value: "a""#,
                r#"field[4]: Duplicate value: "b""#,
            ],
        },
        Case {
            name: "set of integers",
            field: json!({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}),
            value: json!([1, 2, 1]),
            want: &["field[2]: Duplicate value: 1"],
        },
        Case {
            name: "map with one key",
            field: json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}}),
            value: json!([{"name": "a", "v": 1}, {"name": "b"}, {"name": "a", "v": 2}]),
            want: &[r#"field[2]: Duplicate value: map[string]interface {}{"name":"a"}"#],
        },
        Case {
            name: "map with two keys",
            field: json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
                "items": {"type": "object", "required": ["port"], "properties": {
                    "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}}),
            value: json!([{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "UDP"}, {"port": 80, "protocol": "TCP"}]),
            want: &[
                r#"field[2]: Duplicate value: map[string]interface {}{"port":80, "protocol":"TCP"}"#,
            ],
        },
        Case {
            name: "map elements must be objects",
            field: json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}),
            value: json!([{"name": "a"}, "b"]),
            want: &[
                r#"field[1]: Invalid value: "string": field[1] in body must be of type object: "string""#,
                r#"field[1]: Invalid value: "b": must be an object for an array of list-type map"#,
            ],
        },
        Case {
            name: "sets inside maps use kube's key paths",
            field: json!({"type": "object", "additionalProperties": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}),
            value: json!({"k": ["x", "x"]}),
            want: &[r#"field[k][1]: Duplicate value: "x""#],
        },
    ]);
}

#[test]
fn embedded_resources() {
    let embedded = json!({"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true});
    run(&[
        Case {
            name: "apiVersion and kind are required",
            field: embedded.clone(),
            value: json!({"spec": {}}),
            want: &[
                "field.apiVersion: Required value",
                "field.kind: Required value",
            ],
        },
        Case {
            name: "kind must be a DNS-1035 label in any case",
            field: embedded.clone(),
            value: json!({"apiVersion": "v1", "kind": "Pod_"}),
            want: &[
                r#"field.kind: Invalid value: "Pod_": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
            ],
        },
        Case {
            name: "apiVersion with two slashes",
            field: embedded.clone(),
            value: json!({"apiVersion": "a/b/c", "kind": "X"}),
            want: &[
                r#"field.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c"#,
            ],
        },
        Case {
            name: "metadata names are path segments",
            field: embedded.clone(),
            value: json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a/b"}}),
            want: &[r#"field.metadata.name: Invalid value: "a/b": may not contain '/'"#],
        },
        Case {
            name: "metadata field types",
            field: embedded.clone(),
            value: json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": 1}}}),
            want: &[
                r#"field.metadata: Invalid value: map[string]interface {}{"labels":map[string]interface {}{"a":1}}: json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string"#,
            ],
        },
        Case {
            name: "valid",
            field: embedded,
            value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}}}),
            want: &[],
        },
    ]);
}
