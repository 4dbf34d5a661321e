//! What Go's protobuf encoder means by a zero value. It writes every
//! non-pointer field, set or not, so a kubectl body is full of `""`, `0`,
//! `false`, `null` and `{}` that Go's JSON (`omitempty`) would leave out.
//! Which fields are pointers is not in our schema, so the rule is: drop
//! empty strings, nulls, empty objects and arrays, and zero/false values —
//! except for the pointer fields whose zero is a real choice (`replicas: 0`,
//! `enableServiceLinks: false`), listed here.

use serde_json::Value;

/// Pointer fields where `0` differs from "unset" (the default is not 0).
const MEANINGFUL_ZERO: &[&str] = &[
    "replicas",
    "parallelism",
    "completions",
    "backoffLimit",
    "backoffLimitPerIndex",
    "maxFailedIndexes",
    "revisionHistoryLimit",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "startingDeadlineSeconds",
    "progressDeadlineSeconds",
    "minReplicas",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "defaultMode",
    "mode",
    "partition",
    "maxUnavailable",
    "maxSurge",
    "minAvailable",
    "priority",
    "value",
    "expirationSeconds",
    "gracePeriodSeconds",
    "deletionGracePeriodSeconds",
];

/// Pointer fields where `false` differs from "unset".
const MEANINGFUL_FALSE: &[&str] = &[
    "automountServiceAccountToken",
    "enableServiceLinks",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "privileged",
    "allowPrivilegeEscalation",
    "immutable",
    "optional",
    "suspend",
    "shareProcessNamespace",
    "hostUsers",
    "setHostnameAsFQDN",
];

/// Removes the values Go wrote only because its fields are not pointers.
pub fn omit_unset(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|key, v| {
            omit_unset(v);
            !is_unset(key, v)
        });
    } else if let Value::Array(items) = value {
        for item in items {
            omit_unset(item);
        }
    }
}

fn is_unset(key: &str, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(map) => map.is_empty() && !keeps_empty_object(key),
        Value::Array(items) => items.is_empty(),
        Value::Bool(false) => !MEANINGFUL_FALSE.contains(&key),
        Value::Number(n) => n.as_f64() == Some(0.0) && !MEANINGFUL_ZERO.contains(&key),
        Value::Bool(true) => false,
    }
}

/// `emptyDir: {}` and friends select a volume source by being present.
fn keeps_empty_object(key: &str) -> bool {
    matches!(
        key,
        "emptyDir"
            | "data"
            | "selector"
            | "matchLabels"
            | "podSelector"
            | "namespaceSelector"
            | "resources"
            | "securityContext"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_zero_values_are_unset_but_pointer_zeros_stay() {
        let mut deployment = json!({
            "metadata": {"name": "web", "generateName": "", "uid": "", "generation": 0, "creationTimestamp": null},
            "spec": {"replicas": 0, "strategy": {"type": ""}, "minReadySeconds": 0,
                "template": {"spec": {"containers": [{"name": "web", "image": "nginx", "imagePullPolicy": "",
                    "ports": [{"containerPort": 80, "hostPort": 0, "protocol": ""}]}],
                    "enableServiceLinks": false, "hostNetwork": false, "volumes": [{"name": "v", "emptyDir": {}}]}}},
            "status": {"replicas": 0, "conditions": []}
        });
        omit_unset(&mut deployment);
        assert_eq!(
            deployment,
            json!({
                "metadata": {"name": "web"},
                "spec": {"replicas": 0,
                    "template": {"spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}],
                        "enableServiceLinks": false, "volumes": [{"name": "v", "emptyDir": {}}]}}},
                "status": {"replicas": 0}
            })
        );
    }
}
