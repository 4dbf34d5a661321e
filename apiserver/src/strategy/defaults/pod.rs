//! Pod defaults: core/v1's `SetDefaults_Pod`, `SetDefaults_PodSpec`,
//! `SetDefaults_Container`, and the defaulters of everything a pod spec
//! embeds (ports, probes, env, volumes).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::{
    default_empty, default_missing, default_zero, each_object, object_at, pvc_spec_defaults,
};

/// Defaults a Pod: its spec, plus the defaults only real pods get
/// (requests from limits, service links, host-network ports).
pub fn default_pod(pod: &mut Value) {
    let Some(spec) = object_at(pod, "spec") else {
        return;
    };
    for field in ["containers", "initContainers"] {
        each_object(spec, field, requests_from_limits);
    }
    default_missing(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for field in ["containers", "initContainers"] {
            each_object(spec, field, |ctr| {
                each_object(ctr, "ports", |port| {
                    let container_port = port.get("containerPort").cloned().unwrap_or(json!(0));
                    default_zero(port, "hostPort", container_port);
                });
            });
        }
    }
    default_pod_spec(spec);
}

/// Defaults the pod spec of a template (`spec.template` of controllers,
/// `template` of PodTemplates).
pub fn default_template(template: &mut Map<String, Value>) {
    if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
        default_pod_spec(spec);
    }
}

/// `SetDefaults_PodSpec` and everything below it.
pub fn default_pod_spec(spec: &mut Map<String, Value>) {
    default_empty(spec, "dnsPolicy", "ClusterFirst");
    default_empty(spec, "restartPolicy", "Always");
    default_missing(spec, "securityContext", json!({}));
    default_missing(spec, "terminationGracePeriodSeconds", json!(30));
    default_empty(spec, "schedulerName", "default-scheduler");
    for field in ["containers", "initContainers"] {
        each_object(spec, field, default_container);
    }
    each_object(spec, "volumes", |volume| default_volume(volume, true));
}

/// If limits are set but requests are not, a real pod requests its limits.
fn requests_from_limits(ctr: &mut Map<String, Value>) {
    let Some(resources) = ctr.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if limits.is_empty() {
        return;
    }
    if !resources.get("requests").is_some_and(Value::is_object) {
        resources.insert("requests".into(), json!({}));
    }
    if let Some(requests) = resources.get_mut("requests").and_then(Value::as_object_mut) {
        for (name, quantity) in limits {
            requests.entry(name).or_insert(quantity);
        }
    }
}

/// `SetDefaults_Container` plus the defaults of its ports, env, probes and
/// lifecycle handlers.
fn default_container(ctr: &mut Map<String, Value>) {
    let image = ctr
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    default_empty(ctr, "imagePullPolicy", pull_policy_for(&image));
    default_empty(ctr, "terminationMessagePath", "/dev/termination-log");
    default_empty(ctr, "terminationMessagePolicy", "File");
    each_object(ctr, "ports", |port| default_empty(port, "protocol", "TCP"));
    // Go always serializes the (non-pointer) resources struct.
    default_missing(ctr, "resources", json!({}));
    each_object(ctr, "env", |var| {
        if let Some(field_ref) = object_at(var, "valueFrom").and_then(|v| object_at(v, "fieldRef"))
        {
            default_empty(field_ref, "apiVersion", "v1");
        }
    });
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = object_at(ctr, probe) {
            default_probe(probe);
        }
    }
    if let Some(lifecycle) = object_at(ctr, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(handler) = object_at(lifecycle, hook) {
                default_handler(handler);
            }
        }
    }
}

/// `SetDefaults_Probe`: zero thresholds and periods get kube's values.
fn default_probe(probe: &mut Map<String, Value>) {
    default_zero(probe, "timeoutSeconds", json!(1));
    default_zero(probe, "periodSeconds", json!(10));
    default_zero(probe, "successThreshold", json!(1));
    default_zero(probe, "failureThreshold", json!(3));
    default_handler(probe);
}

fn default_handler(handler: &mut Map<String, Value>) {
    if let Some(http) = object_at(handler, "httpGet") {
        default_empty(http, "path", "/");
        default_empty(http, "scheme", "HTTP");
    }
    if let Some(grpc) = object_at(handler, "grpc") {
        default_missing(grpc, "service", json!(""));
    }
}

/// The volume source keys a pod volume may carry.
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "quobyte",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// File mode 0644, kube's default for projected files.
const DEFAULT_MODE: i64 = 0o644;

/// `SetDefaults_Volume` and the per-source defaulters. `pod_volume` is
/// false for PersistentVolume sources (no emptyDir fallback).
pub fn default_volume(volume: &mut Map<String, Value>, pod_volume: bool) {
    if pod_volume
        && !VOLUME_SOURCES
            .iter()
            .any(|s| volume.get(*s).is_some_and(|v| !v.is_null()))
    {
        volume.insert("emptyDir".into(), json!({}));
    }
    if let Some(host_path) = object_at(volume, "hostPath") {
        default_missing(host_path, "type", json!(""));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(source) = object_at(volume, source) {
            default_missing(source, "defaultMode", json!(DEFAULT_MODE));
        }
    }
    if let Some(downward) = object_at(volume, "downwardAPI") {
        default_downward_items(downward);
    }
    if let Some(projected) = object_at(volume, "projected") {
        each_object(projected, "sources", |source| {
            if let Some(token) = object_at(source, "serviceAccountToken") {
                default_missing(token, "expirationSeconds", json!(3600));
            }
            if let Some(downward) = object_at(source, "downwardAPI") {
                default_downward_items(downward);
            }
        });
    }
    if let Some(claim_spec) = object_at(volume, "ephemeral")
        .and_then(|e| object_at(e, "volumeClaimTemplate"))
        .and_then(|t| object_at(t, "spec"))
    {
        pvc_spec_defaults(claim_spec);
    }
    default_legacy_sources(volume);
}

fn default_downward_items(downward: &mut Map<String, Value>) {
    each_object(downward, "items", |item| {
        if let Some(field_ref) = object_at(item, "fieldRef") {
            default_empty(field_ref, "apiVersion", "v1");
        }
    });
}

/// The defaults of the in-tree volume plugins that still have them.
fn default_legacy_sources(volume: &mut Map<String, Value>) {
    if let Some(iscsi) = object_at(volume, "iscsi") {
        default_empty(iscsi, "iscsiInterface", "default");
    }
    if let Some(rbd) = object_at(volume, "rbd") {
        default_empty(rbd, "pool", "rbd");
        default_empty(rbd, "user", "admin");
        default_empty(rbd, "keyring", "/etc/ceph/keyring");
    }
    if let Some(azure) = object_at(volume, "azureDisk") {
        default_missing(azure, "cachingMode", json!("ReadWrite"));
        default_missing(azure, "fsType", json!("ext4"));
        default_missing(azure, "readOnly", json!(false));
        default_missing(azure, "kind", json!("Shared"));
    }
    if let Some(scale_io) = object_at(volume, "scaleIO") {
        default_empty(scale_io, "storageMode", "ThinProvisioned");
        default_empty(scale_io, "fsType", "xfs");
    }
}

/// A docker reference (`[domain/]path[:tag][@digest]`), as the
/// distribution library parses it.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let path_component = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
    let domain_component = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let domain =
        format!(r"(?:{domain_component}(?:\.{domain_component})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?");
    let name = format!(r"(?:{domain}/)?{path_component}(?:/{path_component})*");
    let tag = r"[\w][\w.-]{0,127}";
    let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    Regex::new(&format!(r"^({name})(?::({tag}))?(?:@({digest}))?$")).expect("static regex")
});

/// `Always` for `:latest` or untagged images, else `IfNotPresent`
/// (including images kube cannot parse).
fn pull_policy_for(image: &str) -> &'static str {
    match image_tag(image) {
        Some(tag) if tag == "latest" => "Always",
        _ => "IfNotPresent",
    }
}

/// The tag kube's `ParseImageName` reports: `latest` when neither tag nor
/// digest is given; `None` when the reference does not parse.
fn image_tag(image: &str) -> Option<String> {
    if image.len() == 64
        && image
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let has_domain = !first.is_empty()
        && (first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first);
    let remainder = if has_domain { rest } else { image };
    let remote_name = remainder.split(':').next().unwrap_or("");
    if remote_name.to_lowercase() != remote_name {
        return None;
    }
    let full = if has_domain {
        image.to_string()
    } else {
        format!("docker.io/{image}")
    };
    let caps = REFERENCE.captures(&full)?;
    if caps.get(1).map_or(0, |m| m.as_str().len()) > 255 {
        return None;
    }
    let tag = caps.get(2).map(|m| m.as_str().to_string());
    let digest = caps.get(3);
    Some(match (tag, digest) {
        (Some(tag), _) => tag,
        (None, None) => "latest".to_string(),
        (None, Some(_)) => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        for (image, want) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("registry.example.com:5000/team/app", "Always"),
            ("registry.example.com:5000/team/app:v2", "IfNotPresent"),
            (
                "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "IfNotPresent",
            ),
            (
                "nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "Always",
            ),
            ("Nginx", "IfNotPresent"),
            ("", "IfNotPresent"),
            ("localhost/app", "Always"),
        ] {
            assert_eq!(pull_policy_for(image), want, "{image}");
        }
    }
}
