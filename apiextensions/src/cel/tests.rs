use super::*;
use serde_json::json;

const P: &str = "spec.validation.openAPIV3Schema";

fn compile(schema: Value) -> Rules {
    Rules::compile(&schema, P).unwrap_or_else(|e| panic!("unexpected errors: {e:#?}"))
}

fn compile_errs(schema: Value) -> Vec<String> {
    match Rules::compile(&schema, P) {
        Ok(_) => panic!("expected compile errors"),
        Err(e) => e.iter().map(FieldError::to_line).collect(),
    }
}

fn lines(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(FieldError::to_line).collect()
}

/// A CR schema with `spec` holding `spec_props`, and root rules.
fn cr(spec_props: Value, root_rules: Value) -> Value {
    json!({
        "type": "object",
        "x-kubernetes-validations": root_rules,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": spec_props},
        }
    })
}

fn obj(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "labels": {"a": "b"}}, "spec": spec})
}

fn replicas_schema(rules: Value) -> Value {
    cr(json!({"replicas": {"type": "integer"}}), rules)
}

#[test]
fn root_rule_true_and_false() {
    let r = compile(replicas_schema(
        json!([{"rule": "self.spec.replicas >= 0"}]),
    ));
    assert!(!r.is_empty());
    assert!(r.evaluate(&obj(json!({"replicas": 1})), None).is_empty());
    let errs = r.evaluate(&obj(json!({"replicas": -1})), None);
    assert_eq!(
        lines(&errs),
        ["<nil>: Invalid value: \"object\": failed rule: self.spec.replicas >= 0"]
    );
    assert_eq!(errs[0].reason, "FieldValueInvalid");
    assert_eq!(errs[0].field, "<nil>");
}

#[test]
fn no_rules_is_empty() {
    let r = compile(cr(json!({"replicas": {"type": "integer"}}), json!([])));
    assert!(r.is_empty());
    assert!(r.evaluate(&obj(json!({"replicas": 1})), None).is_empty());
}

#[test]
fn message_is_used() {
    let r = compile(replicas_schema(
        json!([{"rule": "self.spec.replicas >= 0", "message": " must not be negative "}]),
    ));
    let errs = r.evaluate(&obj(json!({"replicas": -1})), None);
    assert_eq!(
        lines(&errs),
        ["<nil>: Invalid value: \"object\": must not be negative"]
    );
}

#[test]
fn message_expression_and_fallbacks() {
    let r = compile(replicas_schema(json!([
        {"rule": "self.spec.replicas >= 0", "messageExpression": "'replicas is ' + string(self.spec.replicas)"},
        {"rule": "self.spec.replicas >= 0", "message": "static", "messageExpression": "string(10 / (self.spec.replicas + 3))"},
        {"rule": "self.spec.replicas >= 0", "messageExpression": "'  '"},
    ])));
    let errs = r.evaluate(&obj(json!({"replicas": -3})), None);
    assert_eq!(
        lines(&errs),
        [
            "<nil>: Invalid value: \"object\": replicas is -3",
            "<nil>: Invalid value: \"object\": static",
            "<nil>: Invalid value: \"object\": failed rule: self.spec.replicas >= 0",
        ]
    );
}

#[test]
fn message_expression_must_be_a_string() {
    let errs = compile_errs(replicas_schema(
        json!([{"rule": "true", "messageExpression": "self.spec.replicas"}]),
    ));
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("spec.validation.openAPIV3Schema.x-kubernetes-validations[0].messageExpression: Invalid value: apiextensions.ValidationRule{Rule:\"true\", Message:\"\", MessageExpression:\"self.spec.replicas\""),
        "{errs:?}"
    );
    assert!(
        errs[0].ends_with(": messageExpression must evaluate to a string"),
        "{errs:?}"
    );
}

#[test]
fn reasons() {
    let r = compile(replicas_schema(json!([
        {"rule": "false", "message": "nope", "reason": "FieldValueForbidden"},
        {"rule": "false", "message": "needed", "reason": "FieldValueRequired"},
        {"rule": "false", "message": "dup", "reason": "FieldValueDuplicate"},
        {"rule": "false", "message": "bad", "reason": "FieldValueInvalid"},
    ])));
    let errs = r.evaluate(&obj(json!({"replicas": 1})), None);
    assert_eq!(
        lines(&errs),
        [
            "<nil>: Forbidden: nope",
            "<nil>: Required value: needed",
            "<nil>: Duplicate value: \"object\"",
            "<nil>: Invalid value: \"object\": bad",
        ]
    );
    assert_eq!(
        errs.iter().map(|e| e.reason).collect::<Vec<_>>(),
        [
            "FieldValueForbidden",
            "FieldValueRequired",
            "FieldValueDuplicate",
            "FieldValueInvalid"
        ]
    );
}

#[test]
fn field_path_is_appended() {
    let schema = cr(
        json!({
            "replicas": {"type": "integer"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        }),
        json!([]),
    );
    let mut schema = schema;
    schema["properties"]["spec"]["x-kubernetes-validations"] = json!([
        {"rule": "self.replicas < 5", "fieldPath": ".replicas", "message": "too many"},
        {"rule": "!('a.b' in self.labels)", "fieldPath": ".labels['a.b']", "message": "reserved"},
    ]);
    let r = compile(schema);
    let errs = r.evaluate(&obj(json!({"replicas": 9, "labels": {"a.b": "x"}})), None);
    assert_eq!(
        lines(&errs),
        [
            "spec.replicas: Invalid value: \"object\": too many",
            "spec.labels[a.b]: Invalid value: \"object\": reserved",
        ]
    );
}

#[test]
fn invalid_field_path_is_refused() {
    let mut schema = cr(json!({"replicas": {"type": "integer"}}), json!([]));
    schema["properties"]["spec"]["x-kubernetes-validations"] =
        json!([{"rule": "true", "fieldPath": ".nope"}]);
    assert_eq!(
        compile_errs(schema),
        [
            "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].fieldPath: Invalid value: \".nope\": fieldPath must be a valid path"
        ]
    );
}

#[test]
fn nested_property_items_and_map_values() {
    let schema = cr(
        json!({
            "replicas": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 10"}]},
            "items": {"type": "array", "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "x-kubernetes-validations": [{"rule": "self.name != 'bad'", "message": "bad name"}]
            }},
            "labels": {"type": "object", "additionalProperties": {
                "type": "string", "x-kubernetes-validations": [{"rule": "self.size() <= 3"}]
            }},
        }),
        json!([]),
    );
    let r = compile(schema);
    let errs = r.evaluate(
        &obj(json!({
            "replicas": 12,
            "items": [{"name": "ok"}, {"name": "bad"}],
            "labels": {"k": "toolong", "j": "ok"},
        })),
        None,
    );
    let mut got = lines(&errs);
    got.sort();
    assert_eq!(
        got,
        [
            "spec.items[1]: Invalid value: \"object\": bad name",
            "spec.labels[k]: Invalid value: \"string\": failed rule: self.size() <= 3",
            "spec.replicas: Invalid value: \"integer\": failed rule: self < 10",
        ]
    );
}

#[test]
fn transition_rules_immutability_and_monotonic() {
    let schema = cr(
        json!({
            "name": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "name is immutable"}]},
            "count": {"type": "integer", "x-kubernetes-validations": [{"rule": "self >= oldSelf", "message": "count may not decrease"}]},
        }),
        json!([]),
    );
    let r = compile(schema);
    let v1 = obj(json!({"name": "a", "count": 2}));
    // create: transition rules do not run
    assert!(r.evaluate(&v1, None).is_empty());
    assert!(
        r.evaluate(&obj(json!({"name": "a", "count": 3})), Some(&v1))
            .is_empty()
    );
    let errs = r.evaluate(&obj(json!({"name": "b", "count": 1})), Some(&v1));
    let mut got = lines(&errs);
    got.sort();
    assert_eq!(
        got,
        [
            "spec.count: Invalid value: \"integer\": count may not decrease",
            "spec.name: Invalid value: \"string\": name is immutable",
        ]
    );
    // a field absent before has no old value: the rule does not run
    let old = obj(json!({"count": 2}));
    assert!(
        r.evaluate(&obj(json!({"name": "new", "count": 2})), Some(&old))
            .is_empty()
    );
}

#[test]
fn transition_rules_on_map_list_items_correlate_by_key() {
    let schema = cr(
        json!({
            "ports": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                    "x-kubernetes-validations": [{"rule": "self.port == oldSelf.port", "message": "port is immutable"}]
                }
            }
        }),
        json!([]),
    );
    let r = compile(schema);
    let old = obj(json!({"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}));
    // reordered, same ports: fine; new item c has no old value
    let new = obj(
        json!({"ports": [{"name": "c", "port": 9}, {"name": "b", "port": 2}, {"name": "a", "port": 1}]}),
    );
    assert!(r.evaluate(&new, Some(&old)).is_empty());
    let new = obj(json!({"ports": [{"name": "b", "port": 3}, {"name": "a", "port": 1}]}));
    assert_eq!(
        lines(&r.evaluate(&new, Some(&old))),
        ["spec.ports[0]: Invalid value: \"object\": port is immutable"]
    );
}

#[test]
fn old_self_on_uncorrelatable_items_is_refused() {
    let schema = cr(
        json!({
            "list": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10, "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}},
            "atomic": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
                "x": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}
            }},
        }),
        json!([]),
    );
    assert_eq!(
        compile_errs(schema),
        [
            "spec.validation.openAPIV3Schema.properties[spec].properties[atomic].properties[x].x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within spec.validation.openAPIV3Schema.properties[spec].properties[atomic]",
            "spec.validation.openAPIV3Schema.properties[spec].properties[list].items.x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within spec.validation.openAPIV3Schema.properties[spec].properties[list]",
        ]
    );
}

#[test]
fn optional_old_self() {
    let schema = cr(
        json!({"count": {"type": "integer", "x-kubernetes-validations": [{
            "rule": "oldSelf.hasValue() ? self >= oldSelf.value() : self == 0",
            "message": "starts at 0 and only grows",
            "optionalOldSelf": true
        }]}}),
        json!([]),
    );
    let r = compile(schema);
    // runs on create, with no old value
    assert!(r.evaluate(&obj(json!({"count": 0})), None).is_empty());
    assert_eq!(
        lines(&r.evaluate(&obj(json!({"count": 5})), None)),
        ["spec.count: Invalid value: \"integer\": starts at 0 and only grows"]
    );
    let old = obj(json!({"count": 4}));
    assert!(r.evaluate(&obj(json!({"count": 5})), Some(&old)).is_empty());
    assert_eq!(r.evaluate(&obj(json!({"count": 3})), Some(&old)).len(), 1);
}

#[test]
fn optional_old_self_requires_old_self() {
    let errs = compile_errs(replicas_schema(
        json!([{"rule": "self.spec.replicas > 0", "optionalOldSelf": true}]),
    ));
    assert_eq!(
        errs,
        [
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[0].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule"
        ]
    );
}

#[test]
fn syntax_errors_are_reported_like_cel_go() {
    let errs = compile_errs(replicas_schema(json!([{"rule": "self.spec.replicas >"}])));
    assert_eq!(
        errs,
        [
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:\"self.spec.replicas >\", Message:\"\", MessageExpression:\"\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:21: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | self.spec.replicas >\n | ....................^"
        ]
    );
}

#[test]
fn type_errors_are_reported() {
    let errs = compile_errs(replicas_schema(json!([
        {"rule": "self.spec.nope == 1"},
        {"rule": "self.spec.replicas"},
        {"rule": "self.spec.replicas == 'a'"},
        {"rule": "foo == 1"},
        {"rule": "self.spec.replicas.startsWith('a')"},
        {"rule": "self.metadata.labels.size() > 0"},
    ])));
    let details: Vec<&str> = errs
        .iter()
        .map(|e| e.split_once("}: ").map(|(_, d)| d).unwrap_or(e))
        .collect();
    assert_eq!(
        details,
        [
            "compilation failed: ERROR: <input>:1:10: undefined field 'nope'\n | self.spec.nope == 1\n | .........^",
            "cel expression must evaluate to a bool",
            "compilation failed: ERROR: <input>:1:20: found no matching overload for '_==_' applied to '(int, string)'\n | self.spec.replicas == 'a'\n | ...................^",
            "compilation failed: ERROR: <input>:1:1: undeclared reference to 'foo' (in container '')\n | foo == 1\n | ^",
            "compilation failed: ERROR: <input>:1:30: found no matching overload for 'startsWith' applied to 'int.(string)'\n | self.spec.replicas.startsWith('a')\n | .............................^",
            "compilation failed: ERROR: <input>:1:14: undefined field 'labels'\n | self.metadata.labels.size() > 0\n | .............^",
        ]
    );
}

#[test]
fn rule_level_errors() {
    let errs = compile_errs(replicas_schema(json!([
        {"rule": "  "},
        {"rule": "true", "message": "a\nb"},
        {"rule": "true ||\nfalse"},
        {"rule": "true", "reason": "Nope"},
        {"rule": "true", "messageExpression": " "},
    ])));
    assert_eq!(
        errs,
        [
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule: Required value: rule is not specified",
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[1].message: Invalid value: \"a\\nb\": message must not contain line breaks",
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[2].message: Required value: message must be specified if rule contains line breaks",
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[3].reason: Unsupported value: \"Nope\": supported values: \"FieldValueDuplicate\", \"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\"",
            "spec.validation.openAPIV3Schema.x-kubernetes-validations[4].messageExpression: Required value: messageExpression must be non-empty if specified",
        ]
    );
}

#[test]
fn runtime_errors_are_reported() {
    let schema = cr(
        json!({"a": {"type": "string"}, "n": {"type": "integer"}}),
        json!([
            {"rule": "self.spec.a == 'x'", "message": "a must be x"},
            {"rule": "10 / self.spec.n > 1"},
        ]),
    );
    let r = compile(schema);
    assert_eq!(
        lines(&r.evaluate(&obj(json!({"n": 0})), None)),
        [
            "<nil>: Invalid value: \"object\": no such key: a evaluating rule: a must be x",
            "<nil>: Invalid value: \"object\": division by zero evaluating rule: 10 / self.spec.n > 1",
        ]
    );
}

#[test]
fn null_values_are_not_validated() {
    let schema = cr(
        json!({"x": {"type": "string", "nullable": true, "x-kubernetes-validations": [{"rule": "self.size() > 3"}]}}),
        json!([]),
    );
    let r = compile(schema);
    assert!(r.evaluate(&obj(json!({"x": null})), None).is_empty());
    assert_eq!(r.evaluate(&obj(json!({"x": "ab"})), None).len(), 1);
}

#[test]
fn root_sees_type_and_object_meta() {
    let r = compile(cr(
        json!({}),
        json!([
            {"rule": "self.metadata.name.startsWith('w') && self.kind == 'Widget' && self.apiVersion.endsWith('/v1')"},
            {"rule": "!has(self.metadata.generateName)"},
        ]),
    ));
    assert!(r.evaluate(&obj(json!({})), None).is_empty());
    let mut o = obj(json!({}));
    o["metadata"]["name"] = json!("x");
    assert_eq!(r.evaluate(&o, None).len(), 1);
}

#[test]
fn escaped_property_names() {
    let r = compile(cr(
        json!({"foo-bar": {"type": "integer"}, "namespace": {"type": "string"}, "a.b": {"type": "string"}}),
        json!([{"rule": "self.spec.foo__dash__bar == 1 && self.spec.__namespace__ == 'ns' && self.spec.a__dot__b == 'x'"}]),
    ));
    assert!(
        r.evaluate(
            &obj(json!({"foo-bar": 1, "namespace": "ns", "a.b": "x"})),
            None
        )
        .is_empty()
    );
    assert_eq!(
        r.evaluate(
            &obj(json!({"foo-bar": 2, "namespace": "ns", "a.b": "x"})),
            None
        )
        .len(),
        1
    );
}

#[test]
fn formats_and_int_or_string() {
    let r = compile(cr(
        json!({
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "timeout": {"type": "string", "format": "duration"},
            "port": {"x-kubernetes-int-or-string": true},
            "ratio": {"type": "number"},
        }),
        json!([
            {"rule": "self.spec.end > self.spec.start", "message": "end before start"},
            {"rule": "self.spec.timeout <= duration('1h')", "message": "timeout too long"},
            {"rule": "type(self.spec.port) == int ? self.spec.port > 0 : self.spec.port.matches('^[a-z]+$')", "message": "bad port"},
            {"rule": "self.spec.ratio < 1.0", "message": "ratio"},
        ]),
    ));
    let ok = obj(json!({
        "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z",
        "timeout": "30m", "port": 8080, "ratio": 0,
    }));
    assert!(
        r.evaluate(&ok, None).is_empty(),
        "{:?}",
        r.evaluate(&ok, None)
    );
    let bad = obj(json!({
        "start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z",
        "timeout": "2h", "port": "HTTP", "ratio": 1,
    }));
    assert_eq!(
        lines(&r.evaluate(&bad, None)),
        [
            "<nil>: Invalid value: \"object\": end before start",
            "<nil>: Invalid value: \"object\": timeout too long",
            "<nil>: Invalid value: \"object\": bad port",
            "<nil>: Invalid value: \"object\": ratio",
        ]
    );
    assert!(
        r.evaluate(
            &obj(json!({
                "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z",
                "timeout": "1s", "port": "http", "ratio": 0.5,
            })),
            None
        )
        .is_empty()
    );
}

#[test]
fn library_functions() {
    let r = compile(cr(
        json!({
            "name": {"type": "string", "maxLength": 64},
            "opt": {"type": "string"},
            "nums": {"type": "array", "maxItems": 10, "items": {"type": "integer"}},
            "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 16}},
        }),
        json!([
            {"rule": "self.spec.name.lowerAscii() == 'abc-def'"},
            {"rule": "self.spec.name.upperAscii().split('-') == ['ABC', 'DEF']"},
            {"rule": "self.spec.tags.join(',') == 'a,b'"},
            {"rule": "self.spec.nums.isSorted() && self.spec.nums.sum() == 6 && self.spec.nums.min() == 1 && self.spec.nums.max() == 3"},
            {"rule": "self.spec.nums.indexOf(2) == 1 && self.spec.nums.lastIndexOf(9) == -1"},
            {"rule": "self.spec.name.find('[a-z]+') == 'bc' && self.spec.name.findAll('[A-Za-z]+') == ['Abc', 'DEF'] && self.spec.name.findAll('[A-Z]', 2) == ['A', 'D']"},
            {"rule": "sets.contains(self.spec.tags, ['a']) && sets.intersects(self.spec.tags, ['b', 'z']) && !sets.equivalent(self.spec.tags, ['a'])"},
            {"rule": "self.spec.name.matches('^[a-zA-Z-]+$') && self.spec.name.indexOf('-') == 3 && self.spec.name.trim() == self.spec.name"},
            {"rule": "self.spec.tags.exists_one(t, t == 'a') && self.spec.tags.all(t, t.size() == 1) && self.spec.nums.map(n, n * 2).filter(n, n > 2).size() == 2"},
            {"rule": "self.spec.name.replace('-', '_') == 'Abc_DEF' && self.spec.name.substring(0, 3) == 'Abc' && self.spec.name.charAt(0) == 'A'"},
            {"rule": "isIP('1.2.3.4') && isIP('::1') && !isIP('::ffff:1.2.3.4') && !isIP('01.2.3.4') && isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && !isCIDR('10.0.0.0')"},
            {"rule": "optional.of(self.spec.name).hasValue() && self.spec.?opt.orValue('d') == 'd' && !has(self.spec.opt)"},
        ]),
    ));
    let errs = r.evaluate(
        &obj(json!({"name": "Abc-DEF", "nums": [1, 2, 3], "tags": ["a", "b"]})),
        None,
    );
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn all_of_rules_apply() {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "allOf": [{"x-kubernetes-validations": [{"rule": "self.a > 1", "message": "a too small"}]}]
        }}
    });
    let r = compile(schema);
    assert_eq!(
        lines(&r.evaluate(&json!({"spec": {"a": 1}}), None)),
        ["spec: Invalid value: \"object\": a too small"]
    );
}

#[test]
fn ratcheting_keeps_unchanged_invalid_values() {
    let schema = cr(
        json!({
            "a": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() < 3", "message": "too long"}]},
            "b": {"type": "integer"},
        }),
        json!([]),
    );
    let r = compile(schema);
    let old = obj(json!({"a": "long", "b": 1}));
    // `a` unchanged: its error is ratcheted away
    assert!(
        r.evaluate(&obj(json!({"a": "long", "b": 2})), Some(&old))
            .is_empty()
    );
    // `a` changed: reported
    assert_eq!(
        r.evaluate(&obj(json!({"a": "longer", "b": 2})), Some(&old))
            .len(),
        1
    );
    // on create: reported
    assert_eq!(r.evaluate(&old, None).len(), 1);
}

#[test]
fn static_cost_refuses_quadratic_rules_over_unbounded_lists() {
    let schema = cr(
        json!({"tags": {"type": "array", "items": {"type": "string"}}}),
        json!([{"rule": "self.spec.tags.all(x, self.spec.tags.exists(y, x == y))"}]),
    );
    let errs = compile_errs(schema);
    assert!(
        errs.contains(&"spec.validation.openAPIV3Schema.x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)".to_string()),
        "{errs:#?}"
    );
    assert!(
        errs.iter().any(|e| e.starts_with("spec.validation.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x")),
        "{errs:#?}"
    );
    // bounded, it is fine
    compile(cr(
        json!({"tags": {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 32}}}),
        json!([{"rule": "self.spec.tags.all(x, self.spec.tags.exists(y, x == y))"}]),
    ));
}

#[test]
fn static_cost_counts_how_often_item_rules_run() {
    // an unbounded list of unbounded strings, each checked with a string scan
    let schema = cr(
        json!({"tags": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self.contains('x')"}]}}}),
        json!([]),
    );
    let errs = compile_errs(schema);
    assert_eq!(
        errs[0],
        "spec.validation.openAPIV3Schema.properties[spec].properties[tags].items.x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    );
    assert!(errs.contains(&"spec.validation.openAPIV3Schema.properties[spec].properties[tags].items.x-kubernetes-validations[0].rule: Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema".to_string()));
    compile(cr(
        json!({"tags": {"type": "array", "maxItems": 100, "items": {"type": "string", "maxLength": 64, "x-kubernetes-validations": [{"rule": "self.contains('x')"}]}}}),
        json!([]),
    ));
}

#[test]
fn runaway_rule_is_cut_off_at_the_call_limit() {
    // 100³ iterations: under the static limit, over the per-call limit
    let r = compile(cr(
        json!({"l": {"type": "array", "maxItems": 100, "items": {"type": "integer"}}}),
        json!([
            {"rule": "self.spec.l.all(x, self.spec.l.all(y, self.spec.l.all(z, x + y + z >= 0)))"},
            {"rule": "false", "message": "never reached"},
        ]),
    ));
    let l: Vec<i64> = (0..100).collect();
    let t = Instant::now();
    let errs = r.evaluate(&obj(json!({"l": l})), None);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(
        lines(&errs),
        [
            "<nil>: Invalid value: \"object\": 'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: self.spec.l.all(x, self.spec.l.all(y, self.spec.l.all(z, x + y + z >= 0)))"
        ]
    );
}

#[test]
fn total_budget_is_shared_by_all_rules() {
    // each list rule costs ~3000 iterations × its body: five of them do not
    // fit in a budget of 60k
    let item = json!({"type": "object", "properties": {"v": {"type": "integer"}}});
    let list = json!({"type": "array", "maxItems": 3000, "items": item,
        "x-kubernetes-validations": [{"rule": "self.all(x, x.v >= 0)"}]});
    let r = compile(cr(
        json!({"a": list.clone(), "b": list.clone(), "c": list.clone(), "d": list.clone(), "e": list}),
        json!([]),
    ));
    let items: Vec<Value> = (0..3000).map(|i| json!({"v": i})).collect();
    let spec = json!({"a": items.clone(), "b": items.clone(), "c": items.clone(), "d": items.clone(), "e": items});
    let o = obj(spec);
    assert!(r.evaluate(&o, None).is_empty());
    let errs = r.evaluate_with_budget(&o, None, 60_000);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].to_line().ends_with(": Invalid value: \"array\": validation failed due to running out of cost budget, no further validation rules will be run"),
        "{errs:#?}"
    );
}

#[test]
fn hundreds_of_rules_compile_fast() {
    let mut props = serde_json::Map::new();
    for i in 0..300 {
        props.insert(
            format!("f{i}"),
            json!({"type": "string", "maxLength": 63, "x-kubernetes-validations": [
                {"rule": format!("self.size() > {i} && self.matches('^[a-z]+$') || self.startsWith('x')"), "message": "m"}
            ]}),
        );
    }
    let schema = cr(Value::Object(props), json!([]));
    let t = Instant::now();
    let r = compile(schema);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(!r.is_empty());
}

#[test]
fn carets_count_characters_and_mark_wide_ones() {
    let errs = compile_errs(replicas_schema(json!([{"rule": "'é' == self.spec.nope"}])));
    let detail = errs[0].split_once("}: ").unwrap().1;
    assert_eq!(
        detail,
        "compilation failed: ERROR: <input>:1:17: undefined field 'nope'\n | 'é' == self.spec.nope\n | .\u{FF0E}..............^"
    );
}

#[test]
fn rules_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Rules>();
    let r = compile(replicas_schema(
        json!([{"rule": "self.spec.replicas >= 0"}]),
    ));
    let r2 = r.clone();
    let h = std::thread::spawn(move || r2.evaluate(&obj(json!({"replicas": -1})), None).len());
    assert_eq!(h.join().unwrap(), 1);
    assert_eq!(format!("{r:?}"), "Rules { rules: 1 }");
}

#[test]
fn embedded_resources_see_their_type_meta() {
    let r = compile(cr(
        json!({"template": {
            "type": "object",
            "x-kubernetes-embedded-resource": true,
            "x-kubernetes-preserve-unknown-fields": true,
            "x-kubernetes-validations": [{"rule": "self.kind == 'Pod' && self.metadata.name != ''", "message": "must be a named Pod"}]
        }}),
        json!([]),
    ));
    let ok = obj(
        json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}}),
    );
    assert!(r.evaluate(&ok, None).is_empty());
    let bad = obj(
        json!({"template": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "p"}}}),
    );
    assert_eq!(
        lines(&r.evaluate(&bad, None)),
        ["spec.template: Invalid value: \"object\": must be a named Pod"]
    );
}

#[test]
fn unknown_fields_are_not_visible() {
    // preserved unknown fields are not accessible from CEL, as in kube
    let errs = compile_errs(cr(
        json!({"extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}),
        json!([{"rule": "self.spec.extra.anything == 1"}]),
    ));
    assert!(
        errs[0].ends_with(
            "undefined field 'anything'\n | self.spec.extra.anything == 1\n | ...............^"
        ),
        "{errs:?}"
    );
    // rules on a typeless node cannot be typed
    let errs = compile_errs(cr(
        json!({"any": {"x-kubernetes-preserve-unknown-fields": true, "x-kubernetes-validations": [{"rule": "true"}]}}),
        json!([]),
    ));
    assert_eq!(
        errs,
        [
            "spec.validation.openAPIV3Schema.properties[spec].properties[any].x-kubernetes-validations: Internal error: internal error: failed to retrieve type information for x-kubernetes-validations"
        ]
    );
}

#[test]
fn many_items_evaluate_quickly() {
    let r = compile(cr(
        json!({"items": {"type": "array", "maxItems": 20000, "items": {
            "type": "object",
            "properties": {"name": {"type": "string", "maxLength": 63}, "n": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.name.startsWith('i') && self.n >= 0"}]
        }}}),
        json!([]),
    ));
    let items: Vec<Value> = (0..20000)
        .map(|i| json!({"name": format!("i{i}"), "n": i}))
        .collect();
    let t = Instant::now();
    assert!(r.evaluate(&obj(json!({"items": items})), None).is_empty());
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn map_key_scans_are_cheap_like_kube() {
    // kube sizes map keys at 0, so scanning every key of a bounded map is
    // accepted even with long values (Gateway API's annotation rules)
    compile(cr(
        json!({"annotations": {
            "type": "object",
            "maxProperties": 16,
            "additionalProperties": {"type": "string", "maxLength": 4096},
            "x-kubernetes-validations": [{"rule": "self.all(key, key.matches('^[a-z0-9./-]+$') && key.split('/')[0].size() < 253)"}]
        }}),
        json!([]),
    ));
}
