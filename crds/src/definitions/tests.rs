use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

fn schemas() -> Vec<(String, Value)> {
    definitions()
        .into_iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let schema = crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .map(|s| serde_json::to_value(s).unwrap())
                .unwrap_or(Value::Null);
            (name, schema)
        })
        .collect()
}

/// Kubernetes' structural-schema rules, plus ours: every property
/// documented, every list bounded where CEL may iterate it.
fn check_node(path: &str, node: &Value, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    for banned in [
        "$ref",
        "definitions",
        "$defs",
        "allOf",
        "oneOf",
        "not",
        "title",
    ] {
        if obj.contains_key(banned) {
            problems.push(format!("{path}: has {banned}"));
        }
    }
    let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if obj.contains_key("anyOf") && !int_or_string {
        problems.push(format!("{path}: anyOf outside int-or-string"));
    }
    let ty = obj.get("type").and_then(Value::as_str);
    if ty.is_none() && !int_or_string {
        problems.push(format!("{path}: no type"));
    }
    if obj.contains_key("properties") && ty != Some("object") {
        problems.push(format!("{path}: properties without type object"));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        problems.push(format!("{path}: both properties and additionalProperties"));
    }
    if ty == Some("object")
        && !obj.contains_key("properties")
        && !obj.contains_key("additionalProperties")
        && !preserve
    {
        problems.push(format!("{path}: object with no fields"));
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array)
        && (ty != Some("string") || !values.iter().all(Value::is_string))
    {
        problems.push(format!("{path}: enum that is not a string enum"));
    }
    if ty == Some("array") && !obj.contains_key("items") {
        problems.push(format!("{path}: array without items"));
    }
    if obj.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
        let keys: Vec<&str> = obj["x-kubernetes-list-map-keys"]
            .as_array()
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let required: BTreeSet<&str> = obj["items"]["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for key in keys {
            if !required.contains(key) {
                problems.push(format!("{path}: list-map key {key} is not required"));
            }
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            let child_path = format!("{path}.{name}");
            let documented = child
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !documented {
                problems.push(format!("{child_path}: no description"));
            }
            check_node(&child_path, child, problems);
        }
    }
    if let Some(items) = obj.get("items") {
        check_node(&format!("{path}[]"), items, problems);
    }
    if let Some(extra) = obj.get("additionalProperties").filter(|v| v.is_object()) {
        check_node(&format!("{path}{{}}"), extra, problems);
    }
}

#[test]
fn every_schema_is_structural_and_documented() {
    let mut problems = Vec::new();
    for (name, schema) in schemas() {
        check_node(&name, &schema, &mut problems);
        assert!(schema["properties"]["spec"].is_object(), "{name}: no spec");
        assert!(
            schema["properties"]["status"].is_object(),
            "{name}: no status"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn descriptions_are_reflowed() {
    let text = serde_json::to_string(&definitions()).unwrap();
    // A doc comment's hard wrap shows up as a newline between two words.
    let re_wrapped = text.matches("\\n").count();
    let paragraphs = text.matches("\\n\\n").count() * 2;
    let list_items = text.matches("\\n- ").count();
    assert!(
        re_wrapped <= paragraphs + list_items,
        "stray line breaks in descriptions"
    );
    assert_eq!(reflow("a\nb\n\nc\n- d"), "a b\n\nc\n- d");
}

#[test]
fn names_scopes_and_categories() {
    let got: Vec<(String, String, Vec<String>)> = definitions()
        .into_iter()
        .map(|crd| {
            assert_eq!(crd.spec.group, GROUP);
            assert_eq!(crd.spec.versions.len(), 1);
            let v = &crd.spec.versions[0];
            assert_eq!(v.name, VERSION);
            assert!(v.served && v.storage);
            let sub = v.subresources.as_ref().expect("subresources");
            assert!(
                sub.status.is_some(),
                "{}: status subresource",
                crd.spec.names.kind
            );
            assert_eq!(
                crd.spec.names.categories.as_deref(),
                Some(&[CATEGORY.to_string()][..])
            );
            let cols = v.additional_printer_columns.as_deref().unwrap_or_default();
            let last = cols.last().expect("printer columns");
            assert_eq!(last.name, "Age");
            assert_eq!(last.json_path, ".metadata.creationTimestamp");
            (
                crd.spec.names.plural.clone(),
                crd.spec.scope.clone(),
                crd.spec.names.short_names.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("sites", "Cluster", "st"),
        ("links", "Cluster", "lk"),
        ("devices", "Cluster", "dev"),
        ("workloads", "Namespaced", "wl"),
        ("trafficpolicies", "Namespaced", "tp"),
        ("alertrules", "Namespaced", "ar"),
        ("alerts", "Namespaced", "al"),
        ("cases", "Namespaced", "inc"),
        ("changeplans", "Namespaced", "cp"),
    ];
    assert_eq!(got.len(), want.len());
    for ((plural, scope, short), (wp, ws, wsn)) in got.iter().zip(want) {
        assert_eq!((plural.as_str(), scope.as_str()), (wp, ws));
        assert_eq!(short, &vec![wsn.to_string()]);
    }
}

#[test]
fn link_columns_are_exactly_the_documented_ones() {
    let crd = Link::crd();
    let cols = crd.spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap_or_default();
    let default: Vec<String> = cols
        .iter()
        .filter(|c| c.priority.unwrap_or(0) == 0)
        .map(|c| c.name.to_uppercase())
        .collect();
    assert_eq!(
        default,
        [
            "FROM", "TO", "TYPE", "CAPACITY", "UTIL", "LATENCY", "LOSS", "STATE", "AGE"
        ]
    );
}

#[test]
fn printer_columns_point_at_real_fields() {
    for (crd, (name, schema)) in definitions().iter().zip(schemas()) {
        for col in crd.spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
        {
            if col.json_path.starts_with(".metadata") {
                continue;
            }
            let mut node = &schema;
            for part in col.json_path.trim_start_matches('.').split('.') {
                let part = part.trim_end_matches("[*]");
                node = &node["properties"][part];
                if node["type"] == "array" {
                    node = &node["items"];
                }
            }
            assert!(
                node.is_object(),
                "{name}: column {} → {}",
                col.name,
                col.json_path
            );
        }
    }
}

#[test]
fn cel_rules_are_present() {
    let text = serde_json::to_string(&definitions()).unwrap();
    for rule in [
        "self.from != self.to",
        "self.clearPercent < self.raisePercent",
        "self.end > self.start",
    ] {
        assert!(text.contains(rule), "missing CEL rule {rule}");
    }
}

#[test]
fn definitions_stay_small_and_yaml_round_trips() {
    let json = serde_json::to_string(&definitions()).unwrap();
    assert!(json.len() < 200_000, "CRDs are {} bytes", json.len());
    let yaml = definitions_yaml();
    let docs: Vec<CustomResourceDefinition> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect();
    assert_eq!(docs, definitions());
    assert!(
        yaml.starts_with(
            "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        )
    );
}

#[test]
fn workload_template_stays_opaque() {
    let schema = &schemas()[3].1;
    let template = &schema["properties"]["spec"]["properties"]["template"];
    assert_eq!(template["x-kubernetes-preserve-unknown-fields"], true);
    assert_eq!(template["type"], "object");
}

/// The generated file is what the kinds generate (regenerate with
/// `MARS_UPDATE_CRDS=1 cargo test -p mars-crds`).
#[test]
fn the_generated_yaml_is_current() {
    let fresh = definitions_yaml();
    if std::env::var_os("MARS_UPDATE_CRDS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/generated/mars-crds.yaml");
        std::fs::write(path, &fresh).unwrap();
        return;
    }
    assert!(
        GENERATED_YAML == fresh,
        "crds/generated/mars-crds.yaml is stale: run `MARS_UPDATE_CRDS=1 cargo test -p mars-crds`"
    );
}
