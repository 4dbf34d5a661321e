//! Conversion between the versions of a kind that share storage: objects
//! are stored in one version's form (`core/v1` Events, `autoscaling/v2`
//! HorizontalPodAutoscalers) and converted at the registry's edges, so a
//! write through one version is read through the other (kube-apiserver's
//! storage versions and conversion functions).

use serde_json::{Map, Value, json};

use crate::resources::ResourceDef;

/// Whether objects of `resource` are stored in another version's form.
pub fn needed(resource: &ResourceDef) -> bool {
    if let Some(custom) = &resource.custom {
        return custom.served_versions.len() > 1 || custom.storage_version != resource.version;
    }
    matches!(
        (resource.group, resource.version, resource.plural),
        ("events.k8s.io", "v1", "events") | ("autoscaling", "v1", "horizontalpodautoscalers")
    )
}

/// The stored form of an object written through `resource`.
pub fn to_storage(resource: &ResourceDef, mut obj: Value) -> Value {
    if let Some(custom) = &resource.custom {
        // `conversion: None`: only the apiVersion changes.
        if obj.is_object() {
            obj["apiVersion"] = json!(format!("{}/{}", resource.group, custom.storage_version));
        }
        return obj;
    }
    match (resource.group, resource.version) {
        ("events.k8s.io", "v1") => rename_fields(obj, EVENT_FIELDS, Direction::ToCore, "v1"),
        ("autoscaling", "v1") => hpa_v1_to_v2(obj),
        _ => obj,
    }
}

/// A stored object as `resource` presents it.
pub fn from_storage(resource: &ResourceDef, mut obj: Value) -> Value {
    if resource.custom.is_some() {
        if obj.is_object() {
            obj["apiVersion"] = json!(resource.api_version());
        }
        return obj;
    }
    match (resource.group, resource.version) {
        ("events.k8s.io", "v1") => {
            rename_fields(obj, EVENT_FIELDS, Direction::FromCore, "events.k8s.io/v1")
        }
        ("autoscaling", "v1") => hpa_v2_to_v1(obj),
        _ => obj,
    }
}

/// `(events.k8s.io/v1 name, core/v1 name)`.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
];

enum Direction {
    ToCore,
    FromCore,
}

fn rename_fields(
    mut obj: Value,
    fields: &[(&str, &str)],
    direction: Direction,
    api_version: &str,
) -> Value {
    let Some(map) = obj.as_object_mut() else {
        return obj;
    };
    for (events_name, core_name) in fields {
        let (from, to) = match direction {
            Direction::ToCore => (events_name, core_name),
            Direction::FromCore => (core_name, events_name),
        };
        if let Some(value) = map.remove(*from) {
            map.insert((*to).to_string(), value);
        }
    }
    map.insert("apiVersion".into(), json!(api_version));
    obj
}

fn hpa_v1_to_v2(mut obj: Value) -> Value {
    obj["apiVersion"] = json!("autoscaling/v2");
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(target) = spec.remove("targetCPUUtilizationPercentage")
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]),
        );
    }
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut)
        && let Some(current) = status.remove("currentCPUUtilizationPercentage")
    {
        status.insert(
            "currentMetrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}]),
        );
    }
    obj
}

fn hpa_v2_to_v1(mut obj: Value) -> Value {
    obj["apiVersion"] = json!("autoscaling/v1");
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        let cpu = cpu_utilization(spec.remove("metrics"), "target");
        spec.remove("behavior");
        if let Some(cpu) = cpu {
            spec.insert("targetCPUUtilizationPercentage".into(), cpu);
        }
    }
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
        let cpu = cpu_utilization(status.remove("currentMetrics"), "current");
        status.remove("conditions");
        if let Some(cpu) = cpu {
            status.insert("currentCPUUtilizationPercentage".into(), cpu);
        }
    }
    obj
}

/// The CPU utilisation of a v2 metrics list, the only metric v1 shows.
fn cpu_utilization(metrics: Option<Value>, field: &str) -> Option<Value> {
    let metrics = metrics?;
    metrics.as_array()?.iter().find_map(|m| {
        let resource: &Map<String, Value> = m.get("resource")?.as_object()?;
        (m["type"] == "Resource" && resource.get("name")? == "cpu")
            .then(|| resource.get(field)?.get("averageUtilization").cloned())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    #[test]
    fn events_round_trip_between_versions() {
        let events = find("events.k8s.io", "v1", "events").unwrap();
        let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "pulled", "reason": "Pulled",
            "reportingController": "kubelet", "deprecatedCount": 2});
        let core = to_storage(events, new.clone());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "pulled");
        assert_eq!(core["reportingComponent"], "kubelet");
        assert_eq!(core["count"], 2);
        assert_eq!(from_storage(events, core), new);
    }

    #[test]
    fn hpa_v1_round_trips_through_v2() {
        let v1 = find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let obj = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "spec": {"maxReplicas": 5, "targetCPUUtilizationPercentage": 80}});
        let stored = to_storage(v1, obj.clone());
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert_eq!(
            stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
        assert_eq!(from_storage(v1, stored), obj);
        assert!(!needed(
            find("autoscaling", "v2", "horizontalpodautoscalers").unwrap()
        ));
    }
}
