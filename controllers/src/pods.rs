//! Pure helpers shared by the workload controllers: label selectors, pod
//! readiness and availability, controller owner references, kube's
//! pod-template hash.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

/// Whether `labels` satisfy `selector`. An empty (or absent) selector
/// matches nothing: a controller never claims every object.
pub fn selector_matches(
    selector: Option<&LabelSelector>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(sel) = selector else { return false };
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let ml = sel.match_labels.as_ref().filter(|m| !m.is_empty());
    let me = sel.match_expressions.as_ref().filter(|m| !m.is_empty());
    if ml.is_none() && me.is_none() {
        return false;
    }
    if let Some(ml) = ml
        && !ml.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    me.is_none_or(|exprs| {
        exprs.iter().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            let got = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => got.is_some_and(|v| values.contains(v)),
                "NotIn" => got.is_none_or(|v| !values.contains(v)),
                "Exists" => got.is_some(),
                "DoesNotExist" => got.is_none(),
                _ => false,
            }
        })
    })
}

pub use mars_informer::controller_of;

/// A controller owner reference (controller and blockOwnerDeletion set).
pub fn controller_ref(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Whether the pod is being deleted.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's phase ("" when unset).
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Whether the pod counts as active: not terminal, not being deleted
/// (kube's `FilterActivePods`).
pub fn is_active(pod: &Pod) -> bool {
    !is_terminating(pod) && !matches!(phase(pod), "Succeeded" | "Failed")
}

/// The time the pod became ready, if it is ready now.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (c.status == "True").then(|| c.last_transition_time.as_ref().map(|t| t.0))
}

/// Whether the pod is ready.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Whether the pod has been ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since.as_second() + i64::from(min_ready_seconds) <= now.as_second(),
    }
}

/// Seconds until the first of `pods` that is ready but not yet available
/// (minReadySeconds) becomes available: when a controller looks again.
pub fn soonest_available<'a>(
    pods: impl IntoIterator<Item = &'a Pod>,
    min_ready_seconds: i32,
    now: Timestamp,
) -> Option<i64> {
    if min_ready_seconds <= 0 {
        return None;
    }
    pods.into_iter()
        .filter_map(|pod| {
            let since = ready_since(pod)??;
            let left = since.as_second() + i64::from(min_ready_seconds) - now.as_second();
            (left > 0).then_some(left)
        })
        .min()
}

/// FNV-32a.
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// kube's `rand.SafeEncodeString`: no vowels, no confusable characters.
pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// The `pod-template-hash` of a template (kube's `ComputeHash`: FNV-32a of
/// the template, here its JSON, then the collision count, rendered with
/// safe encoding).
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut data = serde_json::to_vec(template).unwrap_or_default();
    if let Some(c) = collision_count {
        data.extend_from_slice(&(c as u32).to_le_bytes());
    }
    safe_encode(&fnv32a(&data).to_string())
}

/// Drops zeros, nulls, empty lists and maps (which a server may omit, as
/// Go's `omitempty` does), so statuses compare by meaning.
fn normalize(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, normalize(v)))
                .filter(|(_, v)| match v {
                    Value::Null => false,
                    Value::Number(n) => n.as_f64() != Some(0.0),
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    _ => true,
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        v => v,
    }
}

/// Whether two statuses say the same (zero and absent are alike).
pub fn same_status<T: serde::Serialize>(current: Option<&T>, wanted: &T) -> bool {
    let a = current
        .and_then(|c| serde_json::to_value(c).ok())
        .unwrap_or_default();
    let b = serde_json::to_value(wanted).unwrap_or_default();
    normalize(a) == normalize(b)
}

/// A JSON merge patch `{"status": wanted}` that also clears the fields
/// `current` has and `wanted` no longer has.
pub fn status_patch<T: serde::Serialize>(current: Option<&T>, wanted: &T) -> serde_json::Value {
    let mut want = serde_json::to_value(wanted).unwrap_or_default();
    if let (Some(cur), Some(w)) = (
        current.and_then(|c| serde_json::to_value(c).ok()),
        want.as_object_mut(),
    ) && let Some(cur) = cur.as_object()
    {
        for k in cur.keys() {
            w.entry(k.clone()).or_insert(serde_json::Value::Null);
        }
    }
    serde_json::json!({ "status": want })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "x")])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "NotIn".into(),
                values: Some(vec!["db".into()]),
            }]),
        };
        assert!(selector_matches(Some(&sel), Some(&labels(&[("app", "x")]))));
        assert!(!selector_matches(
            Some(&sel),
            Some(&labels(&[("app", "x"), ("tier", "db")]))
        ));
        assert!(!selector_matches(Some(&sel), None));
        assert!(!selector_matches(
            Some(&LabelSelector::default()),
            Some(&labels(&[("a", "b")]))
        ));
    }

    #[test]
    fn statuses_compare_and_patch() {
        use k8s_openapi::api::apps::v1::{ReplicaSetCondition, ReplicaSetStatus};
        let a = ReplicaSetStatus {
            replicas: 2,
            ready_replicas: Some(0),
            ..Default::default()
        };
        let b = ReplicaSetStatus {
            replicas: 2,
            ..Default::default()
        };
        assert!(same_status(Some(&a), &b));
        assert!(!same_status(None, &a));
        let with = ReplicaSetStatus {
            conditions: Some(vec![ReplicaSetCondition::default()]),
            ..b.clone()
        };
        let p = status_patch(Some(&with), &b);
        assert_eq!(p["status"]["conditions"], serde_json::Value::Null);
        assert!(
            p["status"]
                .as_object()
                .is_some_and(|o| o.contains_key("conditions"))
        );
    }

    #[test]
    fn hash_is_stable_and_safe() {
        let t = PodTemplateSpec::default();
        let h = template_hash(&t, None);
        assert_eq!(h, template_hash(&t, None));
        assert_ne!(h, template_hash(&t, Some(1)));
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
    }
}
