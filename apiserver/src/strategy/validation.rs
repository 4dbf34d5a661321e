//! Validation of built-in kinds (kube-apiserver's `ValidateObjectMeta` and
//! `pkg/apis/*/validation`), as field errors with kube's exact paths and
//! wording. Each kind's rules live in a submodule; this file only routes.

mod apps;
mod batch;
mod corev1;
mod fields;
mod meta;
mod names;
mod other;
mod pod;
mod quantity;
mod service;

use serde_json::Value;

use crate::FieldError;
use crate::resources::ResourceDef;

pub use batch::{
    CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL,
};

/// Everything wrong with `obj` (after defaulting); `old` is the stored object
/// on updates. Empty means valid.
///
/// On updates the caller is expected to have done what kube's
/// `BeforeUpdate` does first: keep the stored `uid` and
/// `creationTimestamp` when the client left them out.
pub fn validate(resource: &ResourceDef, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    if let Some(custom) = &resource.custom {
        let mut errors = corev1::validate_metadata_only(obj, old, resource.namespaced);
        errors.extend(custom.validate(obj, old));
        return errors;
    }
    match (resource.group, resource.kind) {
        ("", "Pod") => pod::validate_pod(obj, old),
        ("", "PodTemplate") => pod::validate_pod_template(obj, old),
        ("", "ReplicationController") => apps::validate_replication_controller(obj, old),
        ("", "Service") => service::validate_service(obj, old),
        ("", "Endpoints") => service::validate_endpoints(obj, old),
        ("discovery.k8s.io", "EndpointSlice") => service::validate_endpoint_slice(obj, old),
        ("", "ConfigMap") => corev1::validate_config_map(obj, old),
        ("", "Secret") => corev1::validate_secret(obj, old),
        ("", "Namespace") => corev1::validate_namespace(obj, old),
        ("", "Node") => corev1::validate_node(obj, old),
        ("", "PersistentVolume") => corev1::validate_persistent_volume(obj, old),
        ("", "PersistentVolumeClaim") => corev1::validate_persistent_volume_claim(obj, old),
        ("", "Event") => corev1::validate_event(obj, old),
        ("apps", "Deployment") => apps::validate_deployment(obj, old),
        ("apps", "ReplicaSet") => apps::validate_replica_set(obj, old),
        ("apps", "StatefulSet") => apps::validate_stateful_set(obj, old),
        ("apps", "DaemonSet") => apps::validate_daemon_set(obj, old),
        ("apps", "ControllerRevision") => apps::validate_controller_revision(obj, old),
        ("batch", "Job") => batch::validate_job(obj, old),
        ("batch", "CronJob") => batch::validate_cron_job(obj, old),
        ("networking.k8s.io", "Ingress") => other::validate_ingress(obj, old),
        ("networking.k8s.io", "IngressClass") => other::validate_ingress_class(obj, old),
        ("networking.k8s.io", "NetworkPolicy") => other::validate_network_policy(obj, old),
        ("policy", "PodDisruptionBudget") => other::validate_pod_disruption_budget(obj, old),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            other::validate_horizontal_pod_autoscaler(obj, old)
        }
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            other::validate_role(obj, old, resource.namespaced)
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            other::validate_role_binding(obj, old, resource.namespaced)
        }
        ("storage.k8s.io", "StorageClass") => other::validate_storage_class(obj, old),
        ("scheduling.k8s.io", "PriorityClass") => other::validate_priority_class(obj, old),
        ("coordination.k8s.io", "Lease") => other::validate_lease(obj, old),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            other::validate_custom_resource_definition(obj, old)
        }
        // Review-style kinds are answered, never stored.
        (_, "SelfSubjectReview") => Vec::new(),
        _ => corev1::validate_metadata_only(obj, old, resource.namespaced),
    }
}

/// Errors as the Status message lists them, one per line (for the
/// validation tests of every kind).
#[cfg(test)]
fn lines(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(FieldError::to_line).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::BUILTIN;

    fn find(group: &str, kind: &str) -> &'static ResourceDef {
        BUILTIN
            .iter()
            .find(|r| r.group == group && r.kind == kind)
            .unwrap()
    }

    #[test]
    fn configmap_name_matches_the_recorded_kube_response() {
        let errs = validate(
            find("", "ConfigMap"),
            &json!({"metadata": {"name": "Bad_Name", "namespace": "default"}}),
            None,
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "metadata.name");
        assert_eq!(errs[0].reason, "FieldValueInvalid");
        assert_eq!(
            errs[0].message,
            "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
    }

    #[test]
    fn every_builtin_kind_accepts_a_minimal_valid_object() {
        // A CRD's name must be derived from its spec; its own test covers it.
        for resource in BUILTIN
            .iter()
            .filter(|r| r.kind != "CustomResourceDefinition")
        {
            let mut obj = json!({"metadata": {"name": "x"}});
            if resource.namespaced {
                obj["metadata"]["namespace"] = json!("default");
            }
            // Kinds with required spec fields are covered by their own tests.
            let errs = validate(resource, &obj, None);
            let name_errs: Vec<_> = errs
                .iter()
                .filter(|e| e.field.starts_with("metadata"))
                .collect();
            assert!(name_errs.is_empty(), "{}: {name_errs:?}", resource.kind);
        }
    }

    #[test]
    fn namespaces_need_dns_labels_and_services_dns1035() {
        let ns = validate(
            find("", "Namespace"),
            &json!({"metadata": {"name": "a.b"}}),
            None,
        );
        assert_eq!(
            ns[0].message,
            "Invalid value: \"a.b\": must not contain dots"
        );
        let rbac = validate(
            find("rbac.authorization.k8s.io", "ClusterRole"),
            &json!({"metadata": {"name": "system:aggregate-to-view"}}),
            None,
        );
        assert!(rbac.is_empty(), "{rbac:?}");
    }

    #[test]
    fn update_checks_identity_for_plain_kinds() {
        let old = json!({"metadata": {"name": "a", "namespace": "default", "uid": "1"}});
        let new = json!({"metadata": {"name": "a", "namespace": "other", "uid": "1"}});
        let errs = validate(find("", "ServiceAccount"), &new, Some(&old));
        assert_eq!(
            errs.iter().map(FieldError::to_line).collect::<Vec<_>>(),
            vec!["metadata.namespace: Invalid value: \"other\": field is immutable"]
        );
    }
}
