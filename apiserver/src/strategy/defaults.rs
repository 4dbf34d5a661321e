//! Defaulting of built-in kinds (kube-apiserver's `SetDefaults_*`, plus the
//! few create-time fills users see as defaults: Job selectors, Namespace
//! finalizers, Service IP families, Secret `stringData`).
//!
//! Every default applies only where the field is absent (or, for string
//! and integer fields Go cannot tell apart from absent, empty or zero).

mod pod;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::resources::ResourceDef;
use crate::strategy::validation::{
    CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL,
};

/// Fills in the defaults kube-apiserver sets on `obj` (a whole object of
/// `resource`, as written by a client) before validation.
pub fn apply_defaults(resource: &ResourceDef, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    if let Some(custom) = &resource.custom {
        custom.apply_defaults(obj);
        return;
    }
    match (resource.group, resource.kind) {
        ("", "Pod") => pod::default_pod(obj),
        ("", "PodTemplate") => {
            if let Some(template) = object_at(obj, "template") {
                pod::default_template(template);
            }
        }
        ("", "ReplicationController") => default_replication_controller(obj),
        ("", "Service") => default_service(obj),
        ("", "Secret") => default_secret(obj),
        ("", "Namespace") => default_namespace(obj),
        ("", "PersistentVolumeClaim") => default_pvc(obj),
        ("", "PersistentVolume") => default_pv(obj),
        ("", "Node") => default_node(obj),
        ("", "Endpoints") => each_object_at(obj, "subsets", |subset| {
            each_object(subset, "ports", |port| {
                default_empty(port, "protocol", "TCP")
            });
        }),
        ("", "LimitRange") => default_limit_range(obj),
        ("apps", "Deployment") => default_deployment(obj),
        ("apps", "ReplicaSet") => default_replica_set(obj),
        ("apps", "StatefulSet") => default_stateful_set(obj),
        ("apps", "DaemonSet") => default_daemon_set(obj),
        ("batch", "Job") => default_job(obj),
        ("batch", "CronJob") => default_cron_job(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => default_hpa(obj, resource.version),
        ("networking.k8s.io", "NetworkPolicy") => default_network_policy(obj),
        ("networking.k8s.io", "IngressClass") => {
            if let Some(parameters) = spec_mut(obj).and_then(|s| object_at(s, "parameters")) {
                default_missing(parameters, "scope", json!("Cluster"));
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => default_crd(obj),
        ("discovery.k8s.io", "EndpointSlice") => each_object_at(obj, "ports", |port| {
            default_missing(port, "name", json!(""));
            default_missing(port, "protocol", json!("TCP"));
        }),
        ("scheduling.k8s.io", "PriorityClass") => {
            if let Some(m) = obj.as_object_mut() {
                default_missing(m, "preemptionPolicy", json!("PreemptLowerPriority"));
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            if let Some(m) = obj.as_object_mut() {
                default_missing(m, "reclaimPolicy", json!("Delete"));
                default_missing(m, "volumeBindingMode", json!("Immediate"));
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            default_role_binding(obj);
        }
        _ => {}
    }
}

// --- JSON helpers -------------------------------------------------------

/// The object member `key` of `v`, if it is an object.
fn object_at<'a, V: JsonObject + ?Sized>(
    v: &'a mut V,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    v.member(key).and_then(Value::as_object_mut)
}

/// The object member `key`, created as `{}` when absent or null.
fn object_or_insert<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = json!({});
    }
    slot.as_object_mut()
}

/// Lets helpers take either a `Value` or a `Map`.
trait JsonObject {
    fn member(&mut self, key: &str) -> Option<&mut Value>;
}

impl JsonObject for Value {
    fn member(&mut self, key: &str) -> Option<&mut Value> {
        self.get_mut(key)
    }
}

impl JsonObject for Map<String, Value> {
    fn member(&mut self, key: &str) -> Option<&mut Value> {
        self.get_mut(key)
    }
}

/// Runs `f` on every object element of the array member `key`.
fn each_object(m: &mut Map<String, Value>, key: &str, mut f: impl FnMut(&mut Map<String, Value>)) {
    if let Some(items) = m.get_mut(key).and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            f(item);
        }
    }
}

/// [`each_object`] on a `Value`.
fn each_object_at(v: &mut Value, key: &str, f: impl FnMut(&mut Map<String, Value>)) {
    if let Some(m) = v.as_object_mut() {
        each_object(m, key, f);
    }
}

/// Sets `key` when it is absent or null (Go pointer fields).
fn default_missing(m: &mut Map<String, Value>, key: &str, value: Value) {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = value;
    }
}

/// Sets `key` when it is absent, null or `""` (Go string fields).
fn default_empty(m: &mut Map<String, Value>, key: &str, value: &str) {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() || slot.as_str() == Some("") {
        *slot = json!(value);
    }
}

/// Sets `key` when it is absent, null or `0` (Go integer fields).
fn default_zero(m: &mut Map<String, Value>, key: &str, value: Value) {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() || slot.as_i64() == Some(0) {
        *slot = value;
    }
}

fn spec_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    object_at(obj, "spec")
}

fn default_pod_template_of(spec: &mut Map<String, Value>) {
    if let Some(template) = object_at(spec, "template") {
        pod::default_template(template);
    }
}

// --- core/v1 ------------------------------------------------------------

/// A ReplicationController's selector and labels come from its template.
fn default_replication_controller(obj: &mut Value) {
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = template_labels {
        if let Some(spec) = spec_mut(obj) {
            let empty = spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
            if empty {
                spec.insert("selector".into(), labels.clone());
            }
        }
        default_labels(obj, labels);
    }
    if let Some(spec) = spec_mut(obj) {
        default_missing(spec, "replicas", json!(1));
        default_pod_template_of(spec);
    }
}

/// Sets `metadata.labels` when the object has none.
fn default_labels(obj: &mut Value, labels: Value) {
    let Some(meta) = obj
        .as_object_mut()
        .and_then(|m| object_or_insert(m, "metadata"))
    else {
        return;
    };
    let empty = meta
        .get("labels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    if empty {
        meta.insert("labels".into(), labels);
    }
}

fn default_service(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    default_empty(spec, "sessionAffinity", "None");
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let timeout_missing = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| c.get("timeoutSeconds"))
                .is_none_or(Value::is_null);
            if timeout_missing {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    default_empty(spec, "type", "ClusterIP");
    each_object(spec, "ports", |port| {
        default_empty(port, "protocol", "TCP");
        let unset = match port.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(n) => n.as_i64() == Some(0),
        };
        if unset && let Some(number) = port.get("port").cloned() {
            port.insert("targetPort".into(), number);
        }
    });
    let service_type = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|ips| !ips.is_empty());
    let externally_accessible = service_type == "NodePort"
        || service_type == "LoadBalancer"
        || (service_type == "ClusterIP" && has_external_ips);
    if externally_accessible {
        default_empty(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(
        service_type.as_str(),
        "ClusterIP" | "NodePort" | "LoadBalancer"
    ) {
        default_missing(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        default_missing(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if service_type != "ExternalName" {
        default_ip_families(spec);
    }
}

/// The IP-family fields kube's allocator fills on create for a
/// single-stack IPv4 cluster (headless selectorless services ask for
/// both families).
fn default_ip_families(spec: &mut Map<String, Value>) {
    let cluster_ip = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let headless = cluster_ip == "None";
    let selectorless = spec
        .get("selector")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    let policy = if headless && selectorless {
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    default_missing(spec, "ipFamilyPolicy", json!(policy));
    let families_empty = spec
        .get("ipFamilies")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if families_empty {
        let primary = if cluster_ip.contains(':') {
            "IPv6"
        } else {
            "IPv4"
        };
        let single = spec.get("ipFamilyPolicy").and_then(Value::as_str) == Some("SingleStack");
        let families = if headless && selectorless && !single {
            let other = if primary == "IPv4" { "IPv6" } else { "IPv4" };
            json!([primary, other])
        } else {
            json!([primary])
        };
        spec.insert("ipFamilies".into(), families);
    }
}

/// Secrets are Opaque by default; `stringData` is folded into `data`.
fn default_secret(obj: &mut Value) {
    let Some(secret) = obj.as_object_mut() else {
        return;
    };
    default_empty(secret, "type", "Opaque");
    let Some(Value::Object(string_data)) = secret.remove("stringData") else {
        return;
    };
    if string_data.is_empty() {
        return;
    }
    if let Some(data) = object_or_insert(secret, "data") {
        for (key, value) in string_data {
            let text = value.as_str().unwrap_or("");
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            data.insert(key, json!(encoded));
        }
    }
}

fn default_namespace(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(ns) = obj.as_object_mut() else {
        return;
    };
    if !name.is_empty()
        && let Some(labels) =
            object_or_insert(ns, "metadata").and_then(|m| object_or_insert(m, "labels"))
    {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    if let Some(spec) = object_or_insert(ns, "spec") {
        default_missing(spec, "finalizers", json!(["kubernetes"]));
    }
    if let Some(status) = object_or_insert(ns, "status") {
        default_empty(status, "phase", "Active");
    }
}

/// `SetDefaults_PersistentVolumeClaimSpec`.
fn pvc_spec_defaults(spec: &mut Map<String, Value>) {
    default_missing(spec, "volumeMode", json!("Filesystem"));
}

/// A claim (or claim template): Filesystem mode, Pending until bound.
fn default_pvc_object(claim: &mut Map<String, Value>) {
    if let Some(spec) = object_or_insert(claim, "spec") {
        pvc_spec_defaults(spec);
    }
    if let Some(status) = object_or_insert(claim, "status") {
        default_empty(status, "phase", "Pending");
    }
}

fn default_pvc(obj: &mut Value) {
    if let Some(claim) = obj.as_object_mut() {
        default_pvc_object(claim);
    }
}

fn default_pv(obj: &mut Value) {
    let Some(pv) = obj.as_object_mut() else {
        return;
    };
    if let Some(spec) = object_or_insert(pv, "spec") {
        default_empty(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_missing(spec, "volumeMode", json!("Filesystem"));
        pod::default_volume(spec, false);
    }
    if let Some(status) = object_or_insert(pv, "status") {
        default_empty(status, "phase", "Pending");
    }
}

/// A node's allocatable defaults to its capacity.
fn default_node(obj: &mut Value) {
    let Some(status) = object_at(obj, "status") else {
        return;
    };
    let capacity = status.get("capacity").filter(|c| c.is_object()).cloned();
    if let Some(capacity) = capacity {
        default_missing(status, "allocatable", capacity);
    }
}

/// Container limit ranges: default limit from max, default request from
/// the default limit, then from min.
fn default_limit_range(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    each_object(spec, "limits", |item| {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            return;
        }
        let copy_missing = |item: &mut Map<String, Value>, from: &str, to: &str| {
            let Some(source) = item.get(from).and_then(Value::as_object).cloned() else {
                return;
            };
            if source.is_empty() {
                return;
            }
            if let Some(target) = object_or_insert(item, to) {
                for (name, quantity) in source {
                    target.entry(name).or_insert(quantity);
                }
            }
        };
        copy_missing(item, "max", "default");
        copy_missing(item, "default", "defaultRequest");
        copy_missing(item, "min", "defaultRequest");
    });
}

// --- apps/v1 ------------------------------------------------------------

fn default_deployment(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    default_missing(spec, "replicas", json!(1));
    if let Some(strategy) = object_or_insert(spec, "strategy") {
        default_empty(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = object_or_insert(strategy, "rollingUpdate")
        {
            default_missing(rolling, "maxUnavailable", json!("25%"));
            default_missing(rolling, "maxSurge", json!("25%"));
        }
    }
    default_missing(spec, "revisionHistoryLimit", json!(10));
    default_missing(spec, "progressDeadlineSeconds", json!(600));
    default_pod_template_of(spec);
}

fn default_replica_set(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    default_missing(spec, "replicas", json!(1));
    default_pod_template_of(spec);
}

fn default_stateful_set(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    default_empty(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = object_or_insert(spec, "updateStrategy") {
        let untyped = strategy
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if untyped {
            strategy.insert("type".into(), json!("RollingUpdate"));
            default_missing(strategy, "rollingUpdate", json!({}));
        }
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = object_at(strategy, "rollingUpdate")
        {
            default_missing(rolling, "partition", json!(0));
        }
    }
    if let Some(policy) = object_or_insert(spec, "persistentVolumeClaimRetentionPolicy") {
        default_empty(policy, "whenDeleted", "Retain");
        default_empty(policy, "whenScaled", "Retain");
    }
    default_missing(spec, "replicas", json!(1));
    default_missing(spec, "revisionHistoryLimit", json!(10));
    each_object(spec, "volumeClaimTemplates", default_pvc_object);
    default_pod_template_of(spec);
}

fn default_daemon_set(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    if let Some(strategy) = object_or_insert(spec, "updateStrategy") {
        default_empty(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = object_or_insert(strategy, "rollingUpdate")
        {
            default_missing(rolling, "maxUnavailable", json!(1));
            default_missing(rolling, "maxSurge", json!(0));
        }
    }
    default_missing(spec, "revisionHistoryLimit", json!(10));
    default_pod_template_of(spec);
}

// --- batch/v1 -----------------------------------------------------------

/// `SetDefaults_Job`, then the selector and pod labels kube generates on
/// create (keyed by the Job's uid) unless the selector is manual.
fn default_job(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    let unset = |s: &Map<String, Value>, k: &str| s.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    default_missing(spec, "parallelism", json!(1));
    let backoff = if unset(spec, "backoffLimitPerIndex") {
        json!(6)
    } else {
        json!(i32::MAX)
    };
    default_missing(spec, "backoffLimit", backoff);
    default_missing(spec, "completionMode", json!("NonIndexed"));
    default_missing(spec, "suspend", json!(false));
    let replacement = if unset(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    default_missing(spec, "podReplacementPolicy", json!(replacement));
    if let Some(policy) = object_at(spec, "podFailurePolicy") {
        each_object(policy, "rules", |rule| {
            each_object(rule, "onPodConditions", |pattern| {
                default_empty(pattern, "status", "True");
            });
        });
    }
    default_pod_template_of(spec);
    generate_job_selector(obj);
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = template_labels {
        default_labels(obj, labels);
    }
}

fn generate_job_selector(obj: &mut Value) {
    let manual = obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true);
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if manual || uid.is_empty() {
        return;
    }
    let Some(spec) = spec_mut(obj) else { return };
    if let Some(labels) = object_or_insert(spec, "template")
        .and_then(|t| object_or_insert(t, "metadata"))
        .and_then(|m| object_or_insert(m, "labels"))
    {
        for (label, value) in [
            (LEGACY_JOB_NAME_LABEL, &name),
            (JOB_NAME_LABEL, &name),
            (LEGACY_CONTROLLER_UID_LABEL, &uid),
            (CONTROLLER_UID_LABEL, &uid),
        ] {
            labels.entry(label).or_insert(json!(value));
        }
    }
    if let Some(match_labels) =
        object_or_insert(spec, "selector").and_then(|s| object_or_insert(s, "matchLabels"))
    {
        match_labels
            .entry(CONTROLLER_UID_LABEL)
            .or_insert(json!(uid));
    }
}

fn default_cron_job(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    default_empty(spec, "concurrencyPolicy", "Allow");
    default_missing(spec, "suspend", json!(false));
    default_missing(spec, "successfulJobsHistoryLimit", json!(3));
    default_missing(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = object_at(spec, "jobTemplate").and_then(|t| object_at(t, "spec")) {
        default_pod_template_of(job_spec);
    }
}

// --- other groups -------------------------------------------------------

/// `minReplicas` 1; autoscaling/v2 also targets 80% CPU when no metric is
/// given.
fn default_hpa(obj: &mut Value, version: &str) {
    let Some(spec) = spec_mut(obj) else { return };
    default_missing(spec, "minReplicas", json!(1));
    if version == "v2" {
        let no_metrics = spec
            .get("metrics")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if no_metrics {
            spec.insert(
                "metrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
            );
        }
    }
}

fn default_network_policy(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    for direction in ["ingress", "egress"] {
        each_object(spec, direction, |rule| {
            each_object(rule, "ports", |port| {
                default_missing(port, "protocol", json!("TCP"))
            });
        });
    }
    let no_types = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if no_types {
        let has_egress = spec
            .get("egress")
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty());
        let types = if has_egress {
            json!(["Ingress", "Egress"])
        } else {
            json!(["Ingress"])
        };
        spec.insert("policyTypes".into(), types);
    }
}

/// A CRD's derived names, conversion strategy, and stored version.
fn default_crd(obj: &mut Value) {
    let Some(spec) = spec_mut(obj) else { return };
    if let Some(crd_names) = object_at(spec, "names") {
        let kind = crd_names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        default_empty(crd_names, "singular", &kind.to_lowercase());
        if !kind.is_empty() {
            default_empty(crd_names, "listKind", &format!("{kind}List"));
        }
    }
    default_missing(spec, "conversion", json!({"strategy": "None"}));
    let storage_version = spec
        .get("versions")
        .and_then(Value::as_array)
        .and_then(|versions| {
            versions
                .iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|v| v.get("name"))
        .cloned();
    let Some(version) = storage_version else {
        return;
    };
    if let Some(status) = obj
        .as_object_mut()
        .and_then(|o| object_or_insert(o, "status"))
    {
        let empty = status
            .get("storedVersions")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if empty {
            status.insert("storedVersions".into(), json!([version]));
        }
    }
}

/// RBAC's group for role references and for User and Group subjects.
fn default_role_binding(obj: &mut Value) {
    const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
    let Some(binding) = obj.as_object_mut() else {
        return;
    };
    if let Some(role_ref) = object_at(binding, "roleRef") {
        default_empty(role_ref, "apiGroup", RBAC_GROUP);
    }
    each_object(binding, "subjects", |subject| {
        let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind == "User" || kind == "Group" {
            default_empty(subject, "apiGroup", RBAC_GROUP);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::BUILTIN;

    fn find(group: &str, kind: &str) -> &'static ResourceDef {
        BUILTIN
            .iter()
            .find(|r| r.group == group && r.kind == kind)
            .unwrap()
    }

    fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
        apply_defaults(find(group, kind), &mut obj);
        obj
    }

    #[test]
    fn deployment_matches_the_recorded_kube_object() {
        let recorded: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/reference/kube-apiserver-1.28.7/objects/deployment-web.json"
            ))
            .unwrap_or_default(),
        )
        .unwrap_or(Value::Null);
        let input = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}}});
        let got = defaulted("apps", "Deployment", input);
        if recorded.is_object() {
            let mut want_spec = recorded["spec"].clone();
            // Go's null creationTimestamp on templates is a serialization artifact.
            want_spec["template"]["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("creationTimestamp");
            assert_eq!(got["spec"], want_spec);
        }
        assert_eq!(
            got["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(
            got["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert!(
            got["spec"]["template"]["spec"]
                .get("enableServiceLinks")
                .is_none()
        );
    }

    #[test]
    fn pod_defaults() {
        let got = defaulted(
            "",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {
                "hostNetwork": true,
                "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 8080}],
                    "resources": {"limits": {"cpu": "1"}},
                    "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "livenessProbe": {"httpGet": {"port": 8080}}}],
                "volumes": [{"name": "a"}, {"name": "s", "secret": {"secretName": "x"}},
                    {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]
            }}),
        );
        let spec = &got["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["enableServiceLinks"], true);
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(
            c["ports"][0],
            json!({"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"})
        );
        assert_eq!(c["resources"]["requests"], json!({"cpu": "1"}));
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
            "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(spec["volumes"][0]["emptyDir"], json!({}));
        assert_eq!(spec["volumes"][1]["secret"]["defaultMode"], 420);
        assert_eq!(spec["volumes"][2]["projected"]["defaultMode"], 420);
        assert_eq!(
            spec["volumes"][2]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3600
        );
    }

    #[test]
    fn explicit_values_are_kept() {
        let got = defaulted(
            "",
            "Pod",
            json!({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
            "enableServiceLinks": false, "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}}),
        );
        assert_eq!(got["spec"]["restartPolicy"], "Never");
        assert_eq!(got["spec"]["terminationGracePeriodSeconds"], 0);
        assert_eq!(got["spec"]["enableServiceLinks"], false);
        assert_eq!(got["spec"]["containers"][0]["imagePullPolicy"], "Never");
    }

    #[test]
    fn workload_defaults() {
        let rs = defaulted(
            "apps",
            "ReplicaSet",
            json!({"spec": {"template": {"spec": {"containers": []}}}}),
        );
        assert_eq!(rs["spec"]["replicas"], 1);
        assert_eq!(rs["spec"]["template"]["spec"]["restartPolicy"], "Always");

        let sts = defaulted(
            "apps",
            "StatefulSet",
            json!({"spec": {"serviceName": "db",
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}], "template": {"spec": {}}}}),
        );
        assert_eq!(sts["spec"]["replicas"], 1);
        assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            sts["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(sts["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(sts["spec"]["serviceName"], "db");
        assert_eq!(
            sts["spec"]["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Filesystem"
        );
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["status"]["phase"],
            "Pending"
        );

        let on_delete = defaulted(
            "apps",
            "StatefulSet",
            json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
        );
        assert_eq!(
            on_delete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );

        let ds = defaulted("apps", "DaemonSet", json!({"spec": {}}));
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);

        let recreate = defaulted(
            "apps",
            "Deployment",
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        );
        assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(recreate["spec"]["progressDeadlineSeconds"], 600);
        assert_eq!(recreate["spec"]["revisionHistoryLimit"], 10);

        let rc = defaulted(
            "",
            "ReplicationController",
            json!({"metadata": {"name": "rc"},
            "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": {}}}}),
        );
        assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
        assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
        assert_eq!(rc["spec"]["replicas"], 1);
    }

    #[test]
    fn job_defaults_and_generated_selector() {
        let job = defaulted(
            "batch",
            "Job",
            json!({"metadata": {"name": "pi", "uid": "u-1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}}}}),
        );
        let spec = &job["spec"];
        assert_eq!(spec["parallelism"], 1);
        assert_eq!(spec["completions"], 1);
        assert_eq!(spec["backoffLimit"], 6);
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
        assert!(spec.get("manualSelector").is_none());
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let labels = json!({"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
            "controller-uid": "u-1", "job-name": "pi"});
        assert_eq!(spec["template"]["metadata"]["labels"], labels);
        assert_eq!(job["metadata"]["labels"], labels);
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");

        let parallel = defaulted("batch", "Job", json!({"spec": {"parallelism": 3}}));
        assert_eq!(parallel["spec"]["parallelism"], 3);
        assert!(parallel["spec"].get("completions").is_none());

        let manual = defaulted(
            "batch",
            "Job",
            json!({"metadata": {"name": "m", "uid": "u"},
            "spec": {"manualSelector": true, "selector": {"matchLabels": {"a": "b"}}}}),
        );
        assert_eq!(
            manual["spec"]["selector"],
            json!({"matchLabels": {"a": "b"}})
        );

        let with_policy = defaulted(
            "batch",
            "Job",
            json!({"spec": {"podFailurePolicy": {"rules": [{"onPodConditions": [{"type": "DisruptionTarget"}]}]}}}),
        );
        assert_eq!(with_policy["spec"]["podReplacementPolicy"], "Failed");
        assert_eq!(
            with_policy["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
            "True"
        );

        let cron = defaulted(
            "batch",
            "CronJob",
            json!({"spec": {"schedule": "* * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}}}}}),
        );
        assert_eq!(cron["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cron["spec"]["suspend"], false);
        assert_eq!(cron["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(cron["spec"]["failedJobsHistoryLimit"], 1);
        let job_spec = &cron["spec"]["jobTemplate"]["spec"];
        assert!(job_spec.get("backoffLimit").is_none());
        assert_eq!(
            job_spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    #[test]
    fn service_defaults() {
        let svc = defaulted(
            "",
            "Service",
            json!({"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}}),
        );
        let spec = &svc["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(
            spec["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(spec["ports"][1]["targetPort"], "dns");
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert!(spec.get("externalTrafficPolicy").is_none());

        let np = defaulted(
            "",
            "Service",
            json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}),
        );
        assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(np["spec"]["allocateLoadBalancerNodePorts"], true);

        let headless = defaulted("", "Service", json!({"spec": {"clusterIP": "None"}}));
        assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
        assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));

        let external = defaulted(
            "",
            "Service",
            json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
        );
        assert!(external["spec"].get("ipFamilies").is_none());
        assert!(external["spec"].get("internalTrafficPolicy").is_none());

        let sticky = defaulted(
            "",
            "Service",
            json!({"spec": {"sessionAffinity": "ClientIP"}}),
        );
        assert_eq!(
            sticky["spec"]["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
    }

    #[test]
    fn core_object_defaults() {
        let secret = defaulted(
            "",
            "Secret",
            json!({"data": {"a": "eA=="}, "stringData": {"b": "hello"}}),
        );
        assert_eq!(secret["type"], "Opaque");
        assert_eq!(secret["data"], json!({"a": "eA==", "b": "aGVsbG8="}));
        assert!(secret.get("stringData").is_none());

        let ns = defaulted("", "Namespace", json!({"metadata": {"name": "team"}}));
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(ns["status"]["phase"], "Active");
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team"
        );

        let pvc = defaulted("", "PersistentVolumeClaim", json!({"spec": {}}));
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["status"]["phase"], "Pending");

        let pv = defaulted(
            "",
            "PersistentVolume",
            json!({"spec": {"hostPath": {"path": "/x"}}}),
        );
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pv["spec"]["hostPath"]["type"], "");
        assert_eq!(pv["status"]["phase"], "Pending");

        let node = defaulted("", "Node", json!({"status": {"capacity": {"cpu": "4"}}}));
        assert_eq!(node["status"]["allocatable"], json!({"cpu": "4"}));

        let ep = defaulted(
            "",
            "Endpoints",
            json!({"subsets": [{"ports": [{"port": 80}]}]}),
        );
        assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");

        let lr = defaulted(
            "",
            "LimitRange",
            json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1Mi"}}]}}),
        );
        assert_eq!(lr["spec"]["limits"][0]["default"], json!({"cpu": "2"}));
        assert_eq!(
            lr["spec"]["limits"][0]["defaultRequest"],
            json!({"cpu": "2", "memory": "1Mi"})
        );

        let tmpl = defaulted(
            "",
            "PodTemplate",
            json!({"template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}}),
        );
        assert_eq!(tmpl["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    }

    #[test]
    fn other_group_defaults() {
        let hpa = defaulted(
            "autoscaling",
            "HorizontalPodAutoscaler",
            json!({"spec": {"maxReplicas": 3}}),
        );
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );

        let netpol = defaulted(
            "networking.k8s.io",
            "NetworkPolicy",
            json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}}),
        );
        assert_eq!(netpol["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(netpol["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
        let ingress_only = defaulted("networking.k8s.io", "NetworkPolicy", json!({"spec": {}}));
        assert_eq!(ingress_only["spec"]["policyTypes"], json!(["Ingress"]));

        let slice = defaulted(
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"ports": [{"port": 80}]}),
        );
        assert_eq!(
            slice["ports"][0],
            json!({"port": 80, "name": "", "protocol": "TCP"})
        );

        let pc = defaulted("scheduling.k8s.io", "PriorityClass", json!({"value": 10}));
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");

        let sc = defaulted(
            "storage.k8s.io",
            "StorageClass",
            json!({"provisioner": "x.io/y"}),
        );
        assert_eq!(sc["reclaimPolicy"], "Delete");
        assert_eq!(sc["volumeBindingMode"], "Immediate");

        let crd = defaulted(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            json!({"spec": {
            "group": "example.com", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1beta1", "storage": false}, {"name": "v1", "storage": true}]}}),
        );
        assert_eq!(crd["spec"]["names"]["singular"], "widget");
        assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
        assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));

        let class = defaulted(
            "networking.k8s.io",
            "IngressClass",
            json!({"spec": {"controller": "a.io/x",
            "parameters": {"kind": "P", "name": "p"}}}),
        );
        assert_eq!(class["spec"]["parameters"]["scope"], "Cluster");

        let rb = defaulted(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            json!({"roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s"}]}),
        );
        assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
        assert!(rb["subjects"][1].get("apiGroup").is_none());
    }
}
