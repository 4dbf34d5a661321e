//! The example manifests under `examples/` must stay in step with the
//! schemas: every document parses into its Rust type without losing a field,
//! validates against its CRD schema, and every reference between fleet
//! objects resolves.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{ConfigMap, Namespace, Secret, Service},
    networking::v1::Ingress,
    policy::v1::PodDisruptionBudget,
};
use mars_crds::{
    Alert, AlertRule, Case, ChangePlan, Device, Link, Phase, Site, TrafficPolicy, Workload,
    definitions, guard, validate_change_plan,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

fn examples(dir: &str) -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let value: Value = serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{name} document {i}: {e}"));
            if !value.is_null() {
                docs.push((format!("{name}#{i}"), value));
            }
        }
    }
    docs
}

/// Every field written in the manifest survives a round trip through the
/// Rust type (serde ignores unknown fields, so a typo would otherwise pass).
fn contained(path: &str, written: &Value, typed: &Value) -> Vec<String> {
    match (written, typed) {
        (Value::Object(w), Value::Object(t)) => w
            .iter()
            .flat_map(|(k, v)| match t.get(k) {
                Some(tv) => contained(&format!("{path}.{k}"), v, tv),
                None => vec![format!("{path}.{k}: unknown field")],
            })
            .collect(),
        (Value::Array(w), Value::Array(t)) if w.len() == t.len() => w
            .iter()
            .zip(t)
            .enumerate()
            .flat_map(|(i, (a, b))| contained(&format!("{path}[{i}]"), a, b))
            .collect(),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => vec![],
        (Value::Number(a), Value::String(b)) if a.to_string() == *b => vec![],
        (a, b) if a == b => vec![],
        (a, b) => vec![format!("{path}: wrote {a}, reads back as {b}")],
    }
}

fn typed<T: DeserializeOwned + Serialize>(name: &str, doc: &Value) -> T {
    let object: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&object).unwrap();
    let lost = contained(name, doc, &back);
    assert!(lost.is_empty(), "{}", lost.join("\n"));
    object
}

/// A subset of OpenAPI validation: types, required fields, unknown fields,
/// enums, numeric ranges, lengths and item counts (not patterns or CEL).
fn validate(path: &str, value: &Value, schema: &Value, problems: &mut Vec<String>) {
    if value.is_null() {
        if schema["nullable"] != true {
            problems.push(format!("{path}: null"));
        }
        return;
    }
    if schema["x-kubernetes-int-or-string"] == true {
        if !(value.is_i64() || value.is_string()) {
            problems.push(format!("{path}: want int or string"));
        }
        return;
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        problems.push(format!("{path}: {value} not one of {values:?}"));
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(obj) = value.as_object() else {
                return problems.push(format!("{path}: want object"));
            };
            for req in schema["required"].as_array().into_iter().flatten() {
                if let Some(key) = req.as_str()
                    && !obj.contains_key(key)
                {
                    problems.push(format!("{path}.{key}: required"));
                }
            }
            if let Some(max) = schema["maxProperties"].as_u64()
                && obj.len() as u64 > max
            {
                problems.push(format!("{path}: more than {max} entries"));
            }
            for (key, child) in obj {
                let child_path = format!("{path}.{key}");
                if let Some(prop) = schema["properties"].get(key) {
                    validate(&child_path, child, prop, problems);
                } else if schema["additionalProperties"].is_object() {
                    validate(
                        &child_path,
                        child,
                        &schema["additionalProperties"],
                        problems,
                    );
                } else if schema["x-kubernetes-preserve-unknown-fields"] != true {
                    problems.push(format!("{child_path}: unknown field"));
                }
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return problems.push(format!("{path}: want array"));
            };
            if let Some(min) = schema["minItems"].as_u64()
                && (items.len() as u64) < min
            {
                problems.push(format!("{path}: fewer than {min} items"));
            }
            if let Some(max) = schema["maxItems"].as_u64()
                && items.len() as u64 > max
            {
                problems.push(format!("{path}: more than {max} items"));
            }
            for (i, item) in items.iter().enumerate() {
                validate(&format!("{path}[{i}]"), item, &schema["items"], problems);
            }
        }
        Some("string") => {
            let Some(s) = value.as_str() else {
                return problems.push(format!("{path}: want string"));
            };
            let len = s.chars().count() as u64;
            if schema["minLength"].as_u64().is_some_and(|min| len < min) {
                problems.push(format!("{path}: too short"));
            }
            if schema["maxLength"].as_u64().is_some_and(|max| len > max) {
                problems.push(format!("{path}: too long"));
            }
        }
        Some(ty @ ("integer" | "number")) => {
            let Some(n) = value.as_f64() else {
                return problems.push(format!("{path}: want {ty}"));
            };
            if ty == "integer" && !(value.is_i64() || value.is_u64()) {
                problems.push(format!("{path}: want integer, got {value}"));
            }
            if schema["minimum"].as_f64().is_some_and(|min| n < min) {
                problems.push(format!("{path}: {n} below minimum"));
            }
            if schema["maximum"].as_f64().is_some_and(|max| n > max) {
                problems.push(format!("{path}: {n} above maximum"));
            }
        }
        Some("boolean") if !value.is_boolean() => problems.push(format!("{path}: want boolean")),
        _ => {}
    }
}

fn schemas_by_kind() -> BTreeMap<String, Value> {
    definitions()
        .into_iter()
        .map(|crd| {
            let schema = crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .map(|s| serde_json::to_value(s).unwrap())
                .unwrap();
            (crd.spec.names.kind, schema)
        })
        .collect()
}

#[derive(Default)]
struct Fleet {
    namespaces: BTreeSet<String>,
    secrets: BTreeSet<(String, String)>,
    sites: Vec<Site>,
    links: Vec<Link>,
    devices: Vec<Device>,
    workloads: Vec<Workload>,
    policies: Vec<TrafficPolicy>,
    rules: Vec<AlertRule>,
    alerts: Vec<Alert>,
    cases: Vec<Case>,
    plans: Vec<ChangePlan>,
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn load_fleet() -> Fleet {
    let schemas = schemas_by_kind();
    let mut fleet = Fleet::default();
    let docs = examples("fleet");
    let mut problems = Vec::new();
    for (name, doc) in &docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        if let Some(schema) = schemas.get(kind) {
            assert_eq!(doc["apiVersion"], "mars.io/v1alpha1", "{name}");
            let mut body = doc.clone();
            if let Some(obj) = body.as_object_mut() {
                for key in ["apiVersion", "kind", "metadata"] {
                    obj.remove(key);
                }
            }
            validate(&format!("{name} {kind}"), &body, schema, &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (name, doc) in docs {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        match kind.as_str() {
            "Namespace" => {
                fleet
                    .namespaces
                    .insert(name_of(&typed::<Namespace>(&name, &doc).metadata));
            }
            "Secret" => {
                let s: Secret = typed(&name, &doc);
                fleet.secrets.insert((
                    s.metadata.namespace.clone().unwrap_or_default(),
                    name_of(&s.metadata),
                ));
            }
            "Site" => fleet.sites.push(typed(&name, &doc)),
            "Link" => fleet.links.push(typed(&name, &doc)),
            "Device" => fleet.devices.push(typed(&name, &doc)),
            "Workload" => fleet.workloads.push(typed(&name, &doc)),
            "TrafficPolicy" => fleet.policies.push(typed(&name, &doc)),
            "AlertRule" => fleet.rules.push(typed(&name, &doc)),
            "Alert" => fleet.alerts.push(typed(&name, &doc)),
            "Case" => fleet.cases.push(typed(&name, &doc)),
            "ChangePlan" => fleet.plans.push(typed(&name, &doc)),
            other => panic!("{name}: unexpected kind {other:?}"),
        }
    }
    fleet
}

#[test]
fn fleet_is_large_and_varied_enough() {
    let fleet = load_fleet();
    let vendors: std::collections::HashSet<_> =
        fleet.devices.iter().map(|d| d.spec.vendor).collect();
    let link_types: std::collections::HashSet<_> =
        fleet.links.iter().map(|l| l.spec.link_type).collect();
    assert!(fleet.sites.len() >= 12, "{} sites", fleet.sites.len());
    assert!(fleet.links.len() >= 20, "{} links", fleet.links.len());
    assert!(fleet.devices.len() >= 30, "{} devices", fleet.devices.len());
    assert!(vendors.len() >= 5, "{} vendors", vendors.len());
    assert!(link_types.len() >= 5, "{} link types", link_types.len());
    assert!(
        fleet.workloads.len() >= 5,
        "{} workloads",
        fleet.workloads.len()
    );
    assert!(!fleet.policies.is_empty() && !fleet.rules.is_empty());
    assert!(!fleet.alerts.is_empty() && !fleet.cases.is_empty() && !fleet.plans.is_empty());
}

#[test]
fn fleet_references_resolve() {
    let fleet = load_fleet();
    let sites: BTreeSet<String> = fleet.sites.iter().map(|s| name_of(&s.metadata)).collect();
    let links: BTreeMap<String, &Link> = fleet
        .links
        .iter()
        .map(|l| (name_of(&l.metadata), l))
        .collect();
    for link in &fleet.links {
        assert!(sites.contains(&link.spec.from), "{:?}", link.metadata.name);
        assert!(sites.contains(&link.spec.to), "{:?}", link.metadata.name);
    }
    for device in &fleet.devices {
        let name = name_of(&device.metadata);
        assert!(sites.contains(&device.spec.site), "{name}: site");
        let secret = &device.spec.credentials_ref;
        assert!(
            fleet
                .secrets
                .contains(&(secret.namespace.clone(), secret.name.clone())),
            "{name}: credentials Secret"
        );
    }
    for wl in &fleet.workloads {
        let name = name_of(&wl.metadata);
        assert!(
            fleet
                .namespaces
                .contains(wl.metadata.namespace.as_deref().unwrap_or(""))
        );
        let p = &wl.spec.placement;
        let mentioned = p.per_site.iter().flat_map(|m| m.keys());
        let mentioned = mentioned
            .chain(p.sites.iter().flatten())
            .chain(&p.avoid_sites)
            .chain(&p.near_sites)
            .chain(wl.spec.failover.iter().flat_map(|f| &f.target_sites))
            .chain(
                wl.spec
                    .rollout
                    .iter()
                    .flat_map(|r| r.waves.iter().flat_map(|w| &w.sites)),
            );
        for site in mentioned {
            assert!(sites.contains(site), "{name}: unknown site {site}");
        }
    }
    // Each path walks its links hop by hop from `from` to `to`.
    for policy in &fleet.policies {
        let classes: BTreeSet<&str> = policy
            .spec
            .classes
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        for t in &policy.spec.thresholds {
            assert!(
                t.link.as_ref().is_none_or(|l| links.contains_key(l)),
                "{}",
                t.name
            );
            assert!(
                t.class.as_deref().is_none_or(|c| classes.contains(c)),
                "{}",
                t.name
            );
        }
        for path in &policy.spec.paths {
            for route in std::iter::once(&path.primary).chain(&path.backups) {
                let mut at = path.from.as_str();
                for hop in &route.links {
                    let link = links
                        .get(hop)
                        .unwrap_or_else(|| panic!("{}: {hop}", path.name));
                    at = if link.spec.from == at {
                        &link.spec.to
                    } else if link.spec.to == at {
                        &link.spec.from
                    } else {
                        panic!("{}: {hop} does not start at {at}", path.name)
                    };
                }
                assert_eq!(at, path.to, "{}: route ends elsewhere", path.name);
            }
        }
    }
    let rules: BTreeSet<String> = fleet.rules.iter().map(|r| name_of(&r.metadata)).collect();
    let alerts: BTreeSet<String> = fleet.alerts.iter().map(|a| name_of(&a.metadata)).collect();
    for alert in &fleet.alerts {
        assert!(
            rules.contains(&alert.spec.rule),
            "{:?}",
            alert.metadata.name
        );
    }
    for case in &fleet.cases {
        for alert in &case.spec.alerts {
            assert!(alerts.contains(alert), "case alert {alert}");
        }
        let plan_name = case.spec.change_plan_ref.as_ref().map(|r| r.name.clone());
        let plan = fleet
            .plans
            .iter()
            .find(|p| Some(name_of(&p.metadata)) == plan_name)
            .expect("the Case's ChangePlan is in the fleet");
        assert_eq!(plan.spec.case_ref.name, name_of(&case.metadata));
        // The example Case can walk the whole happy path.
        assert!(validate_change_plan(&plan.spec).is_empty());
        assert_eq!(guard(Phase::WaitingApproval, Some(&plan.spec)), Ok(()));
        assert_eq!(guard(Phase::Executing, Some(&plan.spec)), Ok(()));
        assert!(
            case.status.is_none(),
            "status is set by the API server, not the manifest"
        );
    }
}

#[test]
fn app_example_is_plain_kubernetes() {
    let mut kinds = BTreeSet::new();
    for (name, doc) in examples("app") {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        match kind.as_str() {
            "Namespace" => drop(typed::<Namespace>(&name, &doc)),
            "ConfigMap" => drop(typed::<ConfigMap>(&name, &doc)),
            "Secret" => drop(typed::<Secret>(&name, &doc)),
            "Deployment" => drop(typed::<Deployment>(&name, &doc)),
            "Service" => drop(typed::<Service>(&name, &doc)),
            "Ingress" => drop(typed::<Ingress>(&name, &doc)),
            "HorizontalPodAutoscaler" => drop(typed::<HorizontalPodAutoscaler>(&name, &doc)),
            "PodDisruptionBudget" => drop(typed::<PodDisruptionBudget>(&name, &doc)),
            other => panic!("{name}: unexpected kind {other}"),
        }
        kinds.insert(kind);
    }
    assert_eq!(kinds.len(), 8, "{kinds:?}");
}
