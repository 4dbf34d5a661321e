//! What kube-apiserver's default admission chain adds to every new pod:
//! `DefaultTolerationSeconds` (pods ride out a node's short outage for five
//! minutes before eviction) and the defaulting half of `ServiceAccount`
//! (a pod runs as the namespace's `default` account unless it names one).

use serde_json::{Value, json};

/// The taints a node gets when it stops reporting or is not ready.
const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// kube-apiserver's `--default-not-ready-toleration-seconds` and
/// `--default-unreachable-toleration-seconds`.
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Admits a pod being created.
pub fn on_create(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    default_service_account(spec);
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if let Some(list) = tolerations.as_array_mut() {
        default_tolerations(list);
    }
}

/// `serviceAccountName` (and its deprecated alias `serviceAccount`, which
/// kube keeps equal) default to `default`.
fn default_service_account(spec: &mut serde_json::Map<String, Value>) {
    let named = |field: &str| {
        spec.get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let account = named("serviceAccountName")
        .or_else(|| named("serviceAccount"))
        .unwrap_or_else(|| "default".to_string());
    spec.insert("serviceAccountName".into(), json!(account));
    spec.insert("serviceAccount".into(), json!(account));
}

/// Adds the NoExecute tolerations of `not-ready` and `unreachable` for
/// 300 s unless the pod already says how it tolerates them.
fn default_tolerations(list: &mut Vec<Value>) {
    for key in [NOT_READY, UNREACHABLE] {
        let tolerated = list.iter().any(|t| tolerates_no_execute(t, key));
        if !tolerated {
            list.push(json!({
                "key": key,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}

/// Whether toleration `t` already speaks for NoExecute taints with `key`
/// (kube's test: the same or an empty key, NoExecute or any effect).
fn tolerates_no_execute(t: &Value, key: &str) -> bool {
    let effect = t["effect"].as_str().unwrap_or_default();
    let t_key = t["key"].as_str().unwrap_or_default();
    (effect.is_empty() || effect == "NoExecute") && (t_key.is_empty() || t_key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(spec: Value) -> Value {
        let mut pod = json!({"spec": spec});
        on_create(&mut pod);
        pod["spec"].clone()
    }

    #[test]
    fn a_bare_pod_gets_the_default_account_and_five_minute_tolerations() {
        let spec = admitted(json!({"containers": [{"name": "a", "image": "x"}]}));
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(
            spec["tolerations"],
            json!([
                {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ])
        );
    }

    #[test]
    fn the_pods_own_account_and_tolerations_are_kept() {
        let spec = admitted(json!({
            "serviceAccount": "builder",
            "tolerations": [
                {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
                {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
            ],
        }));
        assert_eq!(spec["serviceAccountName"], "builder");
        let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
        assert_eq!(tolerations.len(), 3, "{tolerations:?}");
        assert_eq!(tolerations[0]["tolerationSeconds"], 5);
        assert_eq!(tolerations[2]["key"], NOT_READY);
    }

    #[test]
    fn a_tolerate_everything_toleration_needs_no_defaults() {
        let spec = admitted(json!({"tolerations": [{"operator": "Exists"}]}));
        assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
        let spec = admitted(json!({"tolerations": [{"key": NOT_READY, "operator": "Exists"}]}));
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
    }
}
