//! The `crd` phase of `mars bench api`: how soon a CRD the size of the
//! Prometheus operator's `prometheuses` is usable, and how fast its
//! objects are created (each one pruned, defaulted and validated against
//! that schema).
//!
//! The real `prometheuses` CRD is mostly core/v1 types inlined (containers,
//! volumes, affinity, tolerations, security contexts…), so the benchmark
//! builds one the same way from the server's own `/openapi/v3/api/v1`:
//! `PodSpec` and friends inlined under several fields, made structural as
//! controller-gen makes them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::client::Api;
use super::{Run, run_ops};

const GROUP: &str = "bench.mars.io";
const PLURAL: &str = "prometheis";
const CRD_NAME: &str = "prometheis.bench.mars.io";

/// What the phase measured.
pub(crate) struct CrdRun {
    /// Size of the CRD as sent, and how many schema nodes it has.
    pub bytes: usize,
    pub nodes: usize,
    /// POST answered 201.
    pub created: Duration,
    /// `Established=True` seen.
    pub established: Duration,
    /// The first object created (201) and read back.
    pub first_object: Duration,
    /// Creates of custom objects with `clients` in flight.
    pub creates: Run,
}

/// Kube's definition name of a core/v1 type.
fn core(name: &str) -> String {
    format!("io.k8s.api.core.v1.{name}")
}

/// A CRD of Prometheus's size built from the server's core/v1 schemas.
pub fn prometheus_sized_crd(core_v1: &Value) -> anyhow::Result<Value> {
    let definitions = core_v1["components"]["schemas"]
        .as_object()
        .context("/openapi/v3/api/v1 has no components.schemas")?;
    let inline = |name: &str| -> anyhow::Result<Value> {
        let schema = definitions
            .get(&core(name))
            .with_context(|| format!("no schema for {name}"))?;
        Ok(structural(schema, definitions, 0))
    };
    let array_of = |name: &str| -> anyhow::Result<Value> {
        Ok(json!({"type": "array", "items": inline(name)?}))
    };
    let spec = json!({
        "type": "object",
        "description": "Desired state of a Prometheus-like deployment.",
        "properties": {
            "replicas": {"type": "integer", "format": "int32", "minimum": 0, "default": 1},
            "retention": {"type": "string", "pattern": "^(0|([0-9]+(y|w|d|h|m|s|ms))+)$", "default": "24h"},
            "logLevel": {"type": "string", "enum": ["", "debug", "info", "warn", "error"]},
            "podSpec": inline("PodSpec")?,
            "containers": array_of("Container")?,
            "initContainers": array_of("Container")?,
            "volumes": array_of("Volume")?,
            "volumeMounts": array_of("VolumeMount")?,
            "affinity": inline("Affinity")?,
            "tolerations": array_of("Toleration")?,
            "securityContext": inline("PodSecurityContext")?,
            "resources": inline("ResourceRequirements")?,
            "topologySpreadConstraints": array_of("TopologySpreadConstraint")?,
            "storage": {"type": "object", "properties": {
                "volumeClaimTemplate": {"type": "object", "properties": {
                    "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "spec": inline("PersistentVolumeClaimSpec")?,
                }},
                "ephemeral": inline("EphemeralVolumeSource")?,
            }},
            "thanos": {"type": "object", "properties": {
                "image": {"type": "string"},
                "podSpec": inline("PodSpec")?,
                "volumeMounts": array_of("VolumeMount")?,
                "resources": inline("ResourceRequirements")?,
            }},
            "web": {"type": "object", "properties": {
                "podSpec": inline("PodSpec")?,
                "probe": inline("Probe")?,
            }},
            "alerting": {"type": "object", "properties": {
                "alertmanagers": {"type": "array", "items": inline("ObjectReference")?},
            }},
        },
    });
    let schema = json!({
        "type": "object",
        "properties": {
            "spec": spec,
            "status": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "availableReplicas": {"type": "integer"},
                "conditions": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    "items": {"type": "object", "required": ["type", "status"], "properties": {
                        "type": {"type": "string"}, "status": {"type": "string"},
                        "message": {"type": "string"}}}},
            }},
        },
    });
    Ok(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {"plural": PLURAL, "singular": "prometheus", "kind": "Prometheus", "listKind": "PrometheusList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }],
        },
    }))
}

/// The schema keywords a CRD schema may carry (JSONSchemaProps).
const KEPT: &[&str] = &[
    "type",
    "format",
    "description",
    "required",
    "enum",
    "default",
    "minimum",
    "maximum",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
];

/// `schema` with every `$ref` inlined (to a depth, as controller-gen
/// stops at recursive types), made structural.
fn structural(schema: &Value, definitions: &Map<String, Value>, depth: usize) -> Value {
    let reference = schema
        .get("$ref")
        .or_else(|| schema["allOf"][0].get("$ref"));
    if let Some(name) = reference.and_then(Value::as_str) {
        let name = name.rsplit('/').next().unwrap_or(name);
        let mut inlined = match definitions.get(name) {
            Some(target) if depth < 12 => structural(target, definitions, depth + 1),
            _ => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        };
        if let Some(description) = schema.get("description") {
            inlined["description"] = description.clone();
        }
        return inlined;
    }
    if schema.get("oneOf").is_some() || schema["format"] == "int-or-string" {
        let mut out = json!({"x-kubernetes-int-or-string": true});
        if let Some(description) = schema.get("description") {
            out["description"] = description.clone();
        }
        return out;
    }
    let mut out = Map::new();
    for key in KEPT {
        if let Some(value) = schema.get(*key) {
            out.insert((*key).to_string(), value.clone());
        }
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        let properties: Map<String, Value> = properties
            .iter()
            .map(|(name, p)| (name.clone(), structural(p, definitions, depth)))
            .collect();
        out.insert("properties".into(), Value::Object(properties));
        out.insert("type".into(), json!("object"));
    }
    if let Some(items) = schema.get("items") {
        out.insert("items".into(), structural(items, definitions, depth));
    }
    if let Some(values @ Value::Object(_)) = schema.get("additionalProperties") {
        out.insert(
            "additionalProperties".into(),
            structural(values, definitions, depth),
        );
    }
    if !out.contains_key("type") && !out.contains_key("properties") {
        out.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
    }
    Value::Object(out)
}

/// Schema nodes: objects with a `type` or a preserve/int-or-string marker.
fn nodes(schema: &Value) -> usize {
    match schema {
        Value::Object(map) => {
            let own = usize::from(
                map.contains_key("type")
                    || map.contains_key("x-kubernetes-int-or-string")
                    || map.contains_key("x-kubernetes-preserve-unknown-fields"),
            );
            own + map.values().map(nodes).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(nodes).sum(),
        _ => 0,
    }
}

/// One realistic object: a few containers, volumes and tolerations.
fn object(name: &str) -> Vec<u8> {
    let container = |n: usize| {
        json!({"name": format!("c{n}"), "image": "quay.io/prometheus/prometheus:v2.54.1",
               "args": ["--storage.tsdb.retention.time=24h"],
               "ports": [{"name": "web", "containerPort": 9090 + n}],
               "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}}})
    };
    json!({
        "apiVersion": format!("{GROUP}/v1"), "kind": "Prometheus",
        "metadata": {"name": name, "labels": {"app": "mars-bench"}},
        "spec": {
            "replicas": 2,
            "containers": [container(0), container(1)],
            "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "10Gi"}}],
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "monitoring", "effect": "NoSchedule"}],
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                 "labelSelector": {"matchLabels": {"app": "prometheus"}}}}]}},
        },
    })
    .to_string()
    .into_bytes()
}

/// Creates the CRD, times it to usable, creates `count` objects in
/// `namespace`, then deletes the CRD (and with it the objects).
pub(crate) async fn run(
    api: &Arc<Api>,
    namespace: &str,
    clients: usize,
    count: u64,
) -> anyhow::Result<CrdRun> {
    let core_v1: Value = serde_json::from_slice(
        &api.expect(0, Method::GET, "/openapi/v3/api/v1", None, StatusCode::OK)
            .await?,
    )?;
    let crd = serde_json::to_vec(&prometheus_sized_crd(&core_v1)?)?;
    let nodes = nodes(&serde_json::from_slice::<Value>(&crd)?);
    let crd_path = format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}");
    let started = Instant::now();
    api.expect(
        0,
        Method::POST,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        Some(crd.clone()),
        StatusCode::CREATED,
    )
    .await
    .context("the CRD was refused")?;
    let created = started.elapsed();
    loop {
        let body = api
            .expect(0, Method::GET, &crd_path, None, StatusCode::OK)
            .await?;
        let crd: Value = serde_json::from_slice(&body)?;
        let established = crd["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        });
        if established {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the CRD was not Established after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let established = started.elapsed();
    let collection = format!("/apis/{GROUP}/v1/namespaces/{namespace}/{PLURAL}");
    // Served as soon as Established (a 404 here would be a bug).
    api.expect(
        0,
        Method::POST,
        &collection,
        Some(object("first")),
        StatusCode::CREATED,
    )
    .await?;
    api.expect(
        0,
        Method::GET,
        &format!("{collection}/first"),
        None,
        StatusCode::OK,
    )
    .await?;
    let first_object = started.elapsed();
    // A typo deep in a container is caught by the schema.
    let mut bad: Value = serde_json::from_slice(&object("bad"))?;
    bad["spec"]["containers"][0]["ports"][0]["containerPort"] = json!("web");
    let refused = api
        .send(
            0,
            Method::POST,
            &collection,
            Some(serde_json::to_vec(&bad)?),
        )
        .await?;
    ensure!(
        refused.status == StatusCode::UNPROCESSABLE_ENTITY,
        "an object with a string containerPort was not refused: {}",
        refused.status
    );

    let api_for_creates = Arc::clone(api);
    let collection = Arc::new(collection);
    let creates = run_ops(clients, count, move |lane, i| {
        let (api, collection) = (Arc::clone(&api_for_creates), Arc::clone(&collection));
        async move {
            api.expect(
                lane,
                Method::POST,
                &collection,
                Some(object(&format!("p-{i:06}"))),
                StatusCode::CREATED,
            )
            .await
            .map(drop)
        }
    })
    .await?;
    api.expect(0, Method::DELETE, &crd_path, None, StatusCode::OK)
        .await?;
    Ok(CrdRun {
        bytes: crd.len(),
        nodes,
        created,
        established,
        first_object,
        creates,
    })
}
