//! Pods and pod templates: core's `ValidatePodSpec`, `ValidatePodCreate`,
//! `ValidatePodUpdate` and `ValidatePodTemplateSpec`, for the fields users
//! get wrong.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::fields::{arr, child, get, index, int_at, invalid_each, key, obj, str_at, str_or_empty};
use super::meta::{self, NameRule};
use super::names;
use super::quantity::Quantity;
use crate::FieldError;

const PORT_PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const MAX_INT32: i64 = i32::MAX as i64;

/// The volume sources in the order kube checks them: (JSON key, the name
/// kube's "more than 1" error uses, the path of its own checks). The
/// odd names are kube's own (`cephFS`, `downwarAPI`, `persistentDisk`).
const VOLUME_SOURCES: &[(&str, &str, &str)] = &[
    ("emptyDir", "emptyDir", "emptyDir"),
    ("hostPath", "hostPath", "hostPath"),
    ("gitRepo", "gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk", "persistentDisk"),
    (
        "awsElasticBlockStore",
        "awsElasticBlockStore",
        "awsElasticBlockStore",
    ),
    ("secret", "secret", "secret"),
    ("nfs", "nfs", "nfs"),
    ("iscsi", "iscsi", "iscsi"),
    ("glusterfs", "glusterfs", "glusterfs"),
    ("flocker", "flocker", "flocker"),
    (
        "persistentVolumeClaim",
        "persistentVolumeClaim",
        "persistentVolumeClaim",
    ),
    ("rbd", "rbd", "rbd"),
    ("cinder", "cinder", "cinder"),
    ("cephfs", "cephFS", "cephfs"),
    ("quobyte", "quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI", "downwardAPI"),
    ("fc", "fc", "fc"),
    ("flexVolume", "flexVolume", "flexVolume"),
    ("configMap", "configMap", "configMap"),
    ("azureFile", "azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume", "vsphereVolume"),
    (
        "photonPersistentDisk",
        "photonPersistentDisk",
        "photonPersistentDisk",
    ),
    ("portworxVolume", "portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk", "azureDisk"),
    ("storageos", "storageos", "storageos"),
    ("projected", "projected", "projected"),
    ("scaleIO", "scaleIO", "scaleIO"),
    ("csi", "csi", "csi"),
    ("ephemeral", "ephemeral", "ephemeral"),
    ("image", "image", "image"),
];

/// `ValidatePodSpec` over `spec` at `path` (`spec`, or
/// `spec.template.spec` inside controllers).
pub fn validate_pod_spec(spec: &Value, path: &str, is_pod: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if get(spec, "terminationGracePeriodSeconds").is_none() {
        errs.push(FieldError::required(
            child(path, "terminationGracePeriodSeconds"),
            "",
        ));
    }
    let (volumes, volume_errs) = validate_volumes(spec, &child(path, "volumes"));
    errs.extend(volume_errs);
    errs.extend(validate_containers(spec, &volumes, path));
    errs.extend(validate_init_containers(spec, &volumes, path));
    errs.extend(validate_host_network_ports(spec, path, is_pod));
    errs.extend(validate_restart_policy(
        str_or_empty(spec, "restartPolicy"),
        &child(path, "restartPolicy"),
    ));
    errs.extend(validate_dns_policy(spec, path));
    errs.extend(meta::validate_labels(
        spec.get("nodeSelector"),
        &child(path, "nodeSelector"),
    ));
    errs.extend(validate_dns_config(spec, path));
    errs.extend(validate_scheduling_gates(spec, path));
    errs.extend(validate_named_field(
        spec,
        "serviceAccountName",
        path,
        names::dns1123_subdomain,
    ));
    errs.extend(validate_named_field(
        spec,
        "nodeName",
        path,
        names::dns1123_subdomain,
    ));
    if let Some(deadline) = int_at(spec, "activeDeadlineSeconds")
        && !(1..=MAX_INT32).contains(&deadline)
    {
        errs.push(FieldError::invalid(
            child(path, "activeDeadlineSeconds"),
            &json!(deadline),
            names::inclusive_range_error(1, MAX_INT32),
        ));
    }
    errs.extend(validate_named_field(
        spec,
        "hostname",
        path,
        names::dns1123_label,
    ));
    errs.extend(validate_named_field(
        spec,
        "subdomain",
        path,
        names::dns1123_label,
    ));
    errs.extend(validate_tolerations(
        arr(spec, "tolerations"),
        &child(path, "tolerations"),
    ));
    errs.extend(validate_named_field(
        spec,
        "priorityClassName",
        path,
        names::dns1123_subdomain,
    ));
    if let Some(policy) = str_at(spec, "preemptionPolicy") {
        errs.extend(validate_preemption_policy(
            policy,
            &child(path, "preemptionPolicy"),
        ));
    }
    errs
}

/// A non-empty string field checked by a name rule.
fn validate_named_field(
    spec: &Value,
    field: &str,
    path: &str,
    rule: fn(&str) -> Vec<String>,
) -> Vec<FieldError> {
    let value = str_or_empty(spec, field);
    if value.is_empty() {
        return Vec::new();
    }
    rule(value)
        .into_iter()
        .map(|msg| FieldError::invalid(child(path, field), &json!(value), msg))
        .collect()
}

/// `ValidatePreemptionPolicy` (pods and PriorityClasses).
pub fn validate_preemption_policy(policy: &str, path: &str) -> Vec<FieldError> {
    match policy {
        "PreemptLowerPriority" | "Never" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            &json!(other),
            &["PreemptLowerPriority", "Never"],
        )],
    }
}

fn validate_restart_policy(policy: &str, path: &str) -> Vec<FieldError> {
    match policy {
        "Always" | "OnFailure" | "Never" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            &json!(other),
            &["Always", "OnFailure", "Never"],
        )],
    }
}

fn validate_dns_policy(spec: &Value, path: &str) -> Vec<FieldError> {
    let path = child(path, "dnsPolicy");
    match str_or_empty(spec, "dnsPolicy") {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            &json!(other),
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )],
    }
}

fn validate_dns_config(spec: &Value, path: &str) -> Vec<FieldError> {
    if str_or_empty(spec, "dnsPolicy") != "None" {
        return Vec::new();
    }
    let config_path = child(path, "dnsConfig");
    match get(spec, "dnsConfig") {
        None => vec![FieldError::required(
            config_path,
            "must provide `dnsConfig` when `dnsPolicy` is None",
        )],
        Some(config) if arr(config, "nameservers").is_empty() => vec![FieldError::required(
            child(&config_path, "nameservers"),
            "must provide at least one DNS nameserver when `dnsPolicy` is None",
        )],
        Some(_) => Vec::new(),
    }
}

/// `ValidateVolumes`: the names of the valid volumes, and the errors.
fn validate_volumes(spec: &Value, path: &str) -> (BTreeSet<String>, Vec<FieldError>) {
    let mut valid = BTreeSet::new();
    let mut errs = Vec::new();
    for (i, volume) in arr(spec, "volumes").iter().enumerate() {
        let volume_path = index(path, i);
        let name_path = child(&volume_path, "name");
        let name = str_or_empty(volume, "name");
        let mut volume_errs = validate_volume_source(volume, &volume_path);
        if name.is_empty() {
            volume_errs.push(FieldError::required(&name_path, ""));
        } else {
            for msg in names::dns1123_label(name) {
                volume_errs.push(FieldError::invalid(&name_path, &json!(name), msg));
            }
        }
        if valid.contains(name) {
            volume_errs.push(FieldError::duplicate(&name_path, &json!(name)));
        }
        if volume_errs.is_empty() {
            valid.insert(name.to_string());
        } else {
            errs.extend(volume_errs);
        }
    }
    (valid, errs)
}

fn validate_volume_source(volume: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for (source, forbidden_name, check_name) in VOLUME_SOURCES {
        let Some(value) = get(volume, source) else {
            continue;
        };
        if count > 0 {
            errs.push(FieldError::forbidden(
                child(path, forbidden_name),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        errs.extend(validate_one_volume_source(
            source,
            value,
            &child(path, check_name),
        ));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    errs
}

const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";

fn validate_one_volume_source(source: &str, value: &Value, path: &str) -> Vec<FieldError> {
    let required = |field: &str| {
        if str_or_empty(value, field).is_empty() {
            vec![FieldError::required(child(path, field), "")]
        } else {
            Vec::new()
        }
    };
    let mut errs = Vec::new();
    match source {
        "emptyDir" => {
            if let Some(limit) = get(value, "sizeLimit").and_then(Quantity::from_json)
                && limit.signum() < 0
            {
                errs.push(FieldError::forbidden(
                    child(path, "sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                ));
            }
        }
        "hostPath" => errs.extend(validate_host_path(value, path)),
        "secret" => errs.extend(required("secretName")),
        "configMap" => errs.extend(required("name")),
        "persistentVolumeClaim" => errs.extend(required("claimName")),
        "nfs" => {
            errs.extend(required("server"));
            errs.extend(required("path"));
            let nfs_path = str_or_empty(value, "path");
            if !nfs_path.starts_with('/') {
                errs.push(FieldError::invalid(
                    child(path, "path"),
                    &json!(nfs_path),
                    "must be an absolute path",
                ));
            }
        }
        _ => {}
    }
    if matches!(source, "secret" | "configMap" | "downwardAPI")
        && let Some(mode) = int_at(value, "defaultMode")
        && !(0..=0o777).contains(&mode)
    {
        errs.push(FieldError::invalid(
            child(path, "defaultMode"),
            &json!(mode),
            FILE_MODE_ERROR,
        ));
    }
    if matches!(source, "secret" | "configMap") {
        for (i, item) in arr(value, "items").iter().enumerate() {
            errs.extend(validate_key_to_path(item, &index(&child(path, "items"), i)));
        }
    }
    errs
}

const HOST_PATH_TYPES: &[&str] = &[
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];

fn validate_host_path(host_path: &Value, path: &str) -> Vec<FieldError> {
    let target = str_or_empty(host_path, "path");
    if target.is_empty() {
        return vec![FieldError::required(child(path, "path"), "")];
    }
    let mut errs = no_backsteps(target, &child(path, "path"));
    if let Some(kind) = str_at(host_path, "type")
        && !HOST_PATH_TYPES.contains(&kind)
    {
        errs.push(FieldError::not_supported(
            child(path, "type"),
            &json!(kind),
            HOST_PATH_TYPES,
        ));
    }
    errs
}

/// `validateKeyToPath`: the items of secret and configMap volumes.
fn validate_key_to_path(item: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if str_or_empty(item, "key").is_empty() {
        errs.push(FieldError::required(child(path, "key"), ""));
    }
    let target = str_or_empty(item, "path");
    if target.is_empty() {
        errs.push(FieldError::required(child(path, "path"), ""));
    }
    errs.extend(local_non_reserved_path(target, &child(path, "path")));
    if let Some(mode) = int_at(item, "mode")
        && !(0..=0o777).contains(&mode)
    {
        errs.push(FieldError::invalid(
            child(path, "mode"),
            &json!(mode),
            FILE_MODE_ERROR,
        ));
    }
    errs
}

/// `validatePathNoBacksteps`.
fn no_backsteps(target: &str, path: &str) -> Vec<FieldError> {
    if target.split('/').any(|part| part == "..") {
        vec![FieldError::invalid(
            path,
            &json!(target),
            "must not contain '..'",
        )]
    } else {
        Vec::new()
    }
}

/// `validateLocalDescendingPath`: relative, without `..` steps.
fn local_descending_path(target: &str, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(
            path,
            &json!(target),
            "must be a relative path",
        ));
    }
    errs.extend(no_backsteps(target, path));
    errs
}

/// `ValidateLocalNonReservedPath`: also may not start with `..`.
fn local_non_reserved_path(target: &str, path: &str) -> Vec<FieldError> {
    let mut errs = local_descending_path(target, path);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(FieldError::invalid(
            path,
            &json!(target),
            "must not start with '..'",
        ));
    }
    errs
}

fn validate_init_containers(
    spec: &Value,
    volumes: &BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let path = child(path, "initContainers");
    let mut errs = Vec::new();
    let mut all_names: BTreeSet<&str> = arr(spec, "containers")
        .iter()
        .map(|c| str_or_empty(c, "name"))
        .collect();
    for (i, ctr) in arr(spec, "initContainers").iter().enumerate() {
        let ctr_path = index(&path, i);
        errs.extend(validate_container_common(ctr, volumes, &ctr_path));
        let restart_policy = str_at(ctr, "restartPolicy");
        if let Some(policy) = restart_policy.filter(|p| *p != "Always") {
            errs.push(FieldError::not_supported(
                child(&ctr_path, "restartPolicy"),
                &json!(policy),
                &["Always"],
            ));
        }
        let name = str_or_empty(ctr, "name");
        if all_names.contains(name) {
            errs.push(FieldError::duplicate(
                child(&ctr_path, "name"),
                &json!(name),
            ));
        } else if !name.is_empty() {
            all_names.insert(name);
        }
        // kube checks each init container alone, always at index 0.
        errs.extend(validate_host_port_conflicts(
            std::slice::from_ref(ctr),
            &path,
        ));
        if restart_policy == Some("Always") {
            errs.extend(validate_lifecycle(ctr, &ctr_path));
            errs.extend(validate_probes(ctr, &ctr_path));
        } else {
            for field in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if get(ctr, field).is_some() {
                    errs.push(FieldError::forbidden(
                        child(&ctr_path, field),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    errs
}

fn validate_containers(spec: &Value, volumes: &BTreeSet<String>, path: &str) -> Vec<FieldError> {
    let path = child(path, "containers");
    let containers = arr(spec, "containers");
    if containers.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let mut errs = Vec::new();
    let mut all_names = BTreeSet::new();
    for (i, ctr) in containers.iter().enumerate() {
        let ctr_path = index(&path, i);
        errs.extend(validate_container_common(ctr, volumes, &ctr_path));
        let name = str_or_empty(ctr, "name");
        if !all_names.insert(name) {
            errs.push(FieldError::duplicate(
                child(&ctr_path, "name"),
                &json!(name),
            ));
        }
        errs.extend(validate_lifecycle(ctr, &ctr_path));
        errs.extend(validate_probes(ctr, &ctr_path));
        if get(ctr, "restartPolicy").is_some() {
            errs.push(FieldError::forbidden(
                child(&ctr_path, "restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    errs.extend(validate_host_port_conflicts(containers, &path));
    errs
}

/// Two containers may not bind the same host IP, protocol and port.
fn validate_host_port_conflicts(containers: &[Value], path: &str) -> Vec<FieldError> {
    let mut seen = BTreeSet::new();
    let mut errs = Vec::new();
    for (ci, ctr) in containers.iter().enumerate() {
        for (pi, port) in arr(ctr, "ports").iter().enumerate() {
            let host_port = int_at(port, "hostPort").unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let binding = format!(
                "{}/{}/{host_port}",
                str_or_empty(port, "protocol"),
                str_or_empty(port, "hostIP")
            );
            if !seen.insert(binding.clone()) {
                errs.push(FieldError::duplicate(
                    format!("{path}[{ci}].ports[{pi}].hostPort"),
                    &json!(binding),
                ));
            }
        }
    }
    errs
}

/// With `hostNetwork`, a host port must equal its container port (pod
/// templates may leave it 0: the pod gets it defaulted).
fn validate_host_network_ports(spec: &Value, path: &str, is_pod: bool) -> Vec<FieldError> {
    if spec.get("hostNetwork").and_then(Value::as_bool) != Some(true) {
        return Vec::new();
    }
    let mut errs = Vec::new();
    for (ci, ctr) in arr(spec, "containers").iter().enumerate() {
        for (pi, port) in arr(ctr, "ports").iter().enumerate() {
            let host_port = int_at(port, "hostPort").unwrap_or(0);
            let container_port = int_at(port, "containerPort").unwrap_or(0);
            if (is_pod || host_port != 0) && host_port != container_port {
                errs.push(FieldError::invalid(
                    format!("{path}.containers[{ci}].ports[{pi}].hostPort"),
                    &json!(host_port),
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

fn validate_lifecycle(ctr: &Value, path: &str) -> Vec<FieldError> {
    let Some(lifecycle) = get(ctr, "lifecycle") else {
        return Vec::new();
    };
    let lifecycle_path = child(path, "lifecycle");
    let mut errs = Vec::new();
    for hook in ["postStart", "preStop"] {
        if let Some(handler) = get(lifecycle, hook) {
            errs.extend(validate_handler(handler, &child(&lifecycle_path, hook)));
        }
    }
    errs
}

/// Scheduling gates: qualified names, no duplicates.
fn validate_scheduling_gates(spec: &Value, path: &str) -> Vec<FieldError> {
    let path = child(path, "schedulingGates");
    let mut seen = BTreeSet::new();
    let mut errs = Vec::new();
    for (i, gate) in arr(spec, "schedulingGates").iter().enumerate() {
        let name = str_or_empty(gate, "name");
        errs.extend(invalid_each(
            index(&path, i),
            name,
            names::qualified_name(name),
        ));
        if !seen.insert(name) {
            errs.push(FieldError::duplicate(index(&path, i), &json!(name)));
        }
    }
    errs
}

fn validate_container_common(
    ctr: &Value,
    volumes: &BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name_path = child(path, "name");
    let name = str_or_empty(ctr, "name");
    if name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(invalid_each(&name_path, name, names::dns1123_label(name)));
    }
    if str_or_empty(ctr, "image").is_empty() {
        errs.push(FieldError::required(child(path, "image"), ""));
    }
    errs.extend(validate_termination_message_policy(ctr, path));
    errs.extend(validate_container_ports(
        arr(ctr, "ports"),
        &child(path, "ports"),
    ));
    errs.extend(validate_env(arr(ctr, "env"), &child(path, "env")));
    errs.extend(validate_env_from(
        arr(ctr, "envFrom"),
        &child(path, "envFrom"),
    ));
    errs.extend(validate_volume_mounts(
        arr(ctr, "volumeMounts"),
        volumes,
        &child(path, "volumeMounts"),
    ));
    errs.extend(validate_pull_policy(
        str_or_empty(ctr, "imagePullPolicy"),
        &child(path, "imagePullPolicy"),
    ));
    if let Some(resources) = get(ctr, "resources") {
        errs.extend(validate_resource_requirements(
            resources,
            &child(path, "resources"),
        ));
    }
    errs
}

fn validate_termination_message_policy(ctr: &Value, path: &str) -> Vec<FieldError> {
    let path = child(path, "terminationMessagePolicy");
    match str_or_empty(ctr, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            &json!(other),
            &["File", "FallbackToLogsOnError"],
        )],
    }
}

fn validate_pull_policy(policy: &str, path: &str) -> Vec<FieldError> {
    match policy {
        "Always" | "IfNotPresent" | "Never" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            &json!(other),
            &["Always", "IfNotPresent", "Never"],
        )],
    }
}

fn validate_container_ports(ports: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names_seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let port_path = index(path, i);
        let name = str_or_empty(port, "name");
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    errs.push(FieldError::invalid(
                        child(&port_path, "name"),
                        &json!(name),
                        msg,
                    ));
                }
            } else if !names_seen.insert(name) {
                errs.push(FieldError::duplicate(
                    child(&port_path, "name"),
                    &json!(name),
                ));
            }
        }
        match int_at(port, "containerPort").unwrap_or(0) {
            0 => errs.push(FieldError::required(child(&port_path, "containerPort"), "")),
            n => errs.extend(port_number_errors(n, &child(&port_path, "containerPort"))),
        }
        if let Some(host_port) = int_at(port, "hostPort").filter(|p| *p != 0) {
            errs.extend(port_number_errors(
                host_port,
                &child(&port_path, "hostPort"),
            ));
        }
        errs.extend(validate_protocol(
            str_or_empty(port, "protocol"),
            &child(&port_path, "protocol"),
        ));
    }
    errs
}

/// A port number's range errors, reported with the number as value.
pub fn port_number_errors(port: i64, path: &str) -> Vec<FieldError> {
    names::port_num(port)
        .into_iter()
        .map(|msg| FieldError::invalid(path, &json!(port), msg))
        .collect()
}

/// A port protocol: required, and one of SCTP, TCP, UDP.
pub fn validate_protocol(protocol: &str, path: &str) -> Vec<FieldError> {
    if protocol.is_empty() {
        vec![FieldError::required(path, "")]
    } else if !PORT_PROTOCOLS.contains(&protocol) {
        vec![FieldError::not_supported(
            path,
            &json!(protocol),
            PORT_PROTOCOLS,
        )]
    } else {
        Vec::new()
    }
}

/// `ValidatePortNumOrName`: an IntOrString port.
pub fn validate_port_num_or_name(port: Option<&Value>, path: &str) -> Vec<FieldError> {
    match port {
        Some(Value::String(name)) => names::port_name(name)
            .into_iter()
            .map(|msg| FieldError::invalid(path, &json!(name), msg))
            .collect(),
        other => port_number_errors(other.and_then(Value::as_i64).unwrap_or(0), path),
    }
}

fn validate_env(env: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, var) in env.iter().enumerate() {
        let var_path = index(path, i);
        let name = str_or_empty(var, "name");
        if name.is_empty() {
            errs.push(FieldError::required(child(&var_path, "name"), ""));
        } else {
            errs.extend(invalid_each(
                child(&var_path, "name"),
                name,
                names::env_var_name(name),
            ));
        }
        if let Some(value_from) = get(var, "valueFrom") {
            errs.extend(validate_env_value_from(
                var,
                value_from,
                &child(&var_path, "valueFrom"),
            ));
        }
    }
    errs
}

fn validate_env_value_from(var: &Value, value_from: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut sources = 0;
    if let Some(field_ref) = get(value_from, "fieldRef") {
        sources += 1;
        errs.extend(validate_object_field_selector(
            field_ref,
            &child(path, "fieldRef"),
        ));
    }
    if get(value_from, "resourceFieldRef").is_some() {
        sources += 1;
    }
    for source in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(selector) = get(value_from, source) {
            sources += 1;
            errs.extend(validate_key_selector(selector, &child(path, source)));
        }
    }
    if sources == 0 {
        errs.push(FieldError::invalid(
            path,
            &json!(""),
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        ));
    } else if !str_or_empty(var, "value").is_empty() {
        errs.push(FieldError::invalid(
            path,
            &json!(""),
            "may not be specified when `value` is not empty",
        ));
    } else if sources > 1 {
        errs.push(FieldError::invalid(
            path,
            &json!(""),
            "may not have more than one field specified at a time",
        ));
    }
    errs
}

/// The pod fields an env var may read through `fieldRef`.
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// The field labels the downward API converts at all.
const DOWNWARD_API_LABELS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// `validateObjectFieldSelector` for env vars.
fn validate_object_field_selector(selector: &Value, path: &str) -> Vec<FieldError> {
    let api_version = str_or_empty(selector, "apiVersion");
    if api_version.is_empty() {
        return vec![FieldError::required(child(path, "apiVersion"), "")];
    }
    let field_path = str_or_empty(selector, "fieldPath");
    if field_path.is_empty() {
        return vec![FieldError::required(child(path, "fieldPath"), "")];
    }
    let subscripted = field_path
        .strip_suffix("']")
        .and_then(|p| p.split_once("['"));
    let conversion_error = if api_version != "v1" {
        Some(format!("unsupported pod version: {api_version}"))
    } else {
        match subscripted {
            Some((base, _)) if base != "metadata.annotations" && base != "metadata.labels" => Some(
                format!("field label does not support subscript: {field_path}"),
            ),
            Some(_) => None,
            None if DOWNWARD_API_LABELS.contains(&field_path) || field_path == "spec.host" => None,
            None => Some(format!("field label not supported: {field_path}")),
        }
    };
    if let Some(err) = conversion_error {
        return vec![FieldError::invalid(
            child(path, "fieldPath"),
            &json!(field_path),
            format!("error converting fieldPath: {err}"),
        )];
    }
    match subscripted {
        Some((base, key_name)) => {
            let key_name = if base == "metadata.annotations" {
                key_name.to_lowercase()
            } else {
                key_name.to_string()
            };
            names::qualified_name(&key_name)
                .into_iter()
                .map(|msg| FieldError::invalid(path, &json!(key_name), msg))
                .collect()
        }
        None => {
            let internal = if field_path == "spec.host" {
                "spec.nodeName"
            } else {
                field_path
            };
            if ENV_FIELD_PATHS.contains(&internal) {
                Vec::new()
            } else {
                vec![FieldError::not_supported(
                    child(path, "fieldPath"),
                    &json!(internal),
                    ENV_FIELD_PATHS,
                )]
            }
        }
    }
}

/// `configMapKeyRef` and `secretKeyRef`: a valid object name and key.
fn validate_key_selector(selector: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_or_empty(selector, "name");
    errs.extend(invalid_each(
        child(path, "name"),
        name,
        names::dns1123_subdomain(name),
    ));
    let key_path = child(path, "key");
    let selector_key = str_or_empty(selector, "key");
    if selector_key.is_empty() {
        errs.push(FieldError::required(&key_path, ""));
    } else {
        errs.extend(invalid_each(
            &key_path,
            selector_key,
            names::config_map_key(selector_key),
        ));
    }
    errs
}

/// `ValidateEnvFrom`: a prefix that is a valid name, and one source.
fn validate_env_from(sources: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let source_path = index(path, i);
        let prefix = str_or_empty(source, "prefix");
        if !prefix.is_empty() {
            errs.extend(invalid_each(
                child(&source_path, "prefix"),
                prefix,
                names::env_var_name(prefix),
            ));
        }
        let mut count = 0;
        for kind in ["configMapRef", "secretRef"] {
            let Some(reference) = get(source, kind) else {
                continue;
            };
            count += 1;
            let name_path = child(&child(&source_path, kind), "name");
            let name = str_or_empty(reference, "name");
            if name.is_empty() {
                errs.push(FieldError::required(name_path, ""));
            } else {
                errs.extend(invalid_each(
                    &name_path,
                    name,
                    names::dns1123_subdomain(&names::mask_trailing_dash(name)),
                ));
            }
        }
        match count {
            0 => errs.push(FieldError::invalid(
                path,
                &json!(""),
                "must specify one of: `configMapRef` or `secretRef`",
            )),
            1 => {}
            _ => errs.push(FieldError::invalid(
                path,
                &json!(""),
                "may not have more than one field specified at a time",
            )),
        }
    }
    errs
}

fn validate_volume_mounts(
    mounts: &[Value],
    volumes: &BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut mount_points = BTreeSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let mount_path = index(path, i);
        let name = str_or_empty(mount, "name");
        if name.is_empty() {
            errs.push(FieldError::required(child(&mount_path, "name"), ""));
        }
        if !volumes.contains(name) {
            errs.push(FieldError::not_found(
                child(&mount_path, "name"),
                &json!(name),
            ));
        }
        let target = str_or_empty(mount, "mountPath");
        if target.is_empty() {
            errs.push(FieldError::required(child(&mount_path, "mountPath"), ""));
        }
        if !mount_points.insert(target) {
            errs.push(FieldError::invalid(
                child(&mount_path, "mountPath"),
                &json!(target),
                "must be unique",
            ));
        }
        let sub_path = str_or_empty(mount, "subPath");
        if !sub_path.is_empty() {
            // kube reports this at the list's path, not the item's.
            errs.extend(local_descending_path(sub_path, &child(path, "subPath")));
        }
    }
    errs
}

fn validate_probes(ctr: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (field, needs_one_success) in [
        ("livenessProbe", true),
        ("readinessProbe", false),
        ("startupProbe", true),
    ] {
        let Some(probe) = get(ctr, field) else {
            continue;
        };
        let probe_path = child(path, field);
        errs.extend(validate_probe(probe, &probe_path));
        if !needs_one_success && let Some(grace) = get(probe, "terminationGracePeriodSeconds") {
            errs.push(FieldError::invalid(
                child(&probe_path, "terminationGracePeriodSeconds"),
                grace,
                "must not be set for readinessProbes",
            ));
        }
        if needs_one_success {
            let threshold = int_at(probe, "successThreshold").unwrap_or(0);
            if threshold != 1 {
                errs.push(FieldError::invalid(
                    child(&probe_path, "successThreshold"),
                    &json!(threshold),
                    "must be 1",
                ));
            }
        }
    }
    errs
}

fn validate_probe(probe: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_handler(probe, path);
    for field in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        errs.extend(meta::nonnegative_at(probe, field, path));
    }
    if let Some(grace) = int_at(probe, "terminationGracePeriodSeconds")
        && grace <= 0
    {
        errs.push(FieldError::invalid(
            child(path, "terminationGracePeriodSeconds"),
            &json!(grace),
            "must be greater than 0",
        ));
    }
    errs
}

fn validate_handler(handler: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for kind in ["exec", "httpGet", "tcpSocket", "grpc", "sleep"] {
        let Some(action) = get(handler, kind) else {
            continue;
        };
        let action_path = child(path, kind);
        if count > 0 {
            errs.push(FieldError::forbidden(
                action_path,
                "may not specify more than 1 handler type",
            ));
            continue;
        }
        count += 1;
        errs.extend(validate_action(kind, action, &action_path));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

fn validate_action(kind: &str, action: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match kind {
        "exec" if arr(action, "command").is_empty() => {
            errs.push(FieldError::required(child(path, "command"), ""));
        }
        "httpGet" => {
            if str_or_empty(action, "path").is_empty() {
                errs.push(FieldError::required(child(path, "path"), ""));
            }
            errs.extend(validate_port_num_or_name(
                action.get("port"),
                &child(path, "port"),
            ));
            let scheme = str_or_empty(action, "scheme");
            if scheme != "HTTP" && scheme != "HTTPS" {
                errs.push(FieldError::not_supported(
                    child(path, "scheme"),
                    &json!(scheme),
                    &["HTTP", "HTTPS"],
                ));
            }
        }
        "tcpSocket" => errs.extend(validate_port_num_or_name(
            action.get("port"),
            &child(path, "port"),
        )),
        "grpc" => errs.extend(port_number_errors(
            int_at(action, "port").unwrap_or(0),
            &child(path, "port"),
        )),
        _ => {}
    }
    errs
}

const STANDARD_CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// Whether a resource name is native to Kubernetes (no domain, or a
/// `kubernetes.io` one).
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_huge_pages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !is_huge_pages(name)
}

fn validate_container_resource_name(name: &str, path: &str) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = names::qualified_name(name)
        .into_iter()
        .map(|msg| FieldError::invalid(path, &json!(name), msg))
        .collect();
    if !name.contains('/') {
        if !STANDARD_CONTAINER_RESOURCES.contains(&name) && !is_huge_pages(name) {
            errs.push(FieldError::invalid(
                path,
                &json!(name),
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native_resource(name)
        && (name.starts_with("requests.")
            || !names::qualified_name(&format!("requests.{name}")).is_empty())
    {
        errs.push(FieldError::invalid(
            path,
            &json!(name),
            "doesn't follow extended resource name standard",
        ));
    }
    errs
}

fn validate_quantity_value(name: &str, quantity: &Quantity, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if quantity.signum() < 0 {
        errs.push(FieldError::invalid(
            path,
            &json!(quantity.canonical()),
            meta::NEGATIVE,
        ));
    }
    if !is_native_resource(name) && !quantity.is_integer() {
        errs.push(FieldError::invalid(
            path,
            &json!(quantity.canonical()),
            "must be an integer",
        ));
    }
    errs
}

/// `ValidateContainerResourceRequirements`: names, signs, and
/// requests ≤ limits.
fn validate_resource_requirements(resources: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let limits_path = child(path, "limits");
    let requests_path = child(path, "requests");
    let limits = parsed_resources(resources, "limits");
    let requests = parsed_resources(resources, "requests");
    for (name, quantity) in &limits {
        let item_path = key(&limits_path, name);
        errs.extend(validate_container_resource_name(name, &item_path));
        if let Some(q) = quantity {
            errs.extend(validate_quantity_value(name, q, &item_path));
        }
    }
    for (name, quantity) in &requests {
        let item_path = key(&requests_path, name);
        errs.extend(validate_container_resource_name(name, &item_path));
        let Some(request) = quantity else { continue };
        errs.extend(validate_quantity_value(name, request, &item_path));
        match limits.iter().find(|(n, _)| n == name) {
            Some((_, Some(limit))) => {
                let order = request.cmp_value(limit);
                if order.is_ne() && !overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        &requests_path,
                        &json!(request.canonical()),
                        format!("must be equal to {name} limit of {}", limit.canonical()),
                    ));
                } else if order.is_gt() {
                    errs.push(FieldError::invalid(
                        &requests_path,
                        &json!(request.canonical()),
                        format!(
                            "must be less than or equal to {name} limit of {}",
                            limit.canonical()
                        ),
                    ));
                }
            }
            Some((_, None)) => {}
            None if !overcommit_allowed(name) => errs.push(FieldError::required(
                &limits_path,
                "Limit must be set for non overcommitable resources",
            )),
            None => {}
        }
    }
    let names_of = |list: &[(String, Option<Quantity>)]| {
        list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    };
    let all: Vec<String> = [names_of(&limits), names_of(&requests)].concat();
    let has_huge_pages = all.iter().any(|n| is_huge_pages(n));
    let has_cpu_or_memory = all.iter().any(|n| n == "cpu" || n == "memory");
    if has_huge_pages && !has_cpu_or_memory {
        errs.push(FieldError::forbidden(
            path,
            "HugePages require cpu or memory",
        ));
    }
    errs
}

fn parsed_resources(resources: &Value, field: &str) -> Vec<(String, Option<Quantity>)> {
    let mut list: Vec<(String, Option<Quantity>)> = obj(resources, field)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), Quantity::from_json(v)))
                .collect()
        })
        .unwrap_or_default();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list
}

/// `ValidateTolerations`.
pub fn validate_tolerations(tolerations: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, toleration) in tolerations.iter().enumerate() {
        let t_path = index(path, i);
        let t_key = str_or_empty(toleration, "key");
        let operator = str_or_empty(toleration, "operator");
        let effect = str_or_empty(toleration, "effect");
        let value = str_or_empty(toleration, "value");
        if !t_key.is_empty() {
            errs.extend(invalid_each(
                child(&t_path, "key"),
                t_key,
                names::qualified_name(t_key),
            ));
        }
        if t_key.is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(
                child(&t_path, "operator"),
                &json!(operator),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if get(toleration, "tolerationSeconds").is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                child(&t_path, "effect"),
                &json!(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "Equal" | "" => {
                let msgs = names::label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        child(&t_path, "operator"),
                        &json!(value),
                        msgs.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        child(&t_path, "operator"),
                        &json!(value),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                child(&t_path, "operator"),
                &json!(other),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, &child(&t_path, "effect")));
        }
    }
    errs
}

/// A taint or toleration effect.
pub fn validate_taint_effect(effect: &str, path: &str) -> Vec<FieldError> {
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            &json!(other),
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        )],
    }
}

/// `ValidatePodTemplateSpec` at `path` (`spec.template`).
pub fn validate_pod_template_spec(template: &Value, path: &str) -> Vec<FieldError> {
    let empty = Value::Null;
    let template_meta = get(template, "metadata").unwrap_or(&empty);
    let mut errs = meta::validate_labels(template_meta.get("labels"), &child(path, "labels"));
    errs.extend(meta::validate_annotations(
        template_meta.get("annotations"),
        &child(path, "annotations"),
    ));
    let spec = get(template, "spec").unwrap_or(&empty);
    errs.extend(validate_pod_spec(spec, &child(path, "spec"), false));
    if !arr(spec, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(
            child(&child(path, "spec"), "ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// `validateContainersOnlyForPod`: images of real pods may not carry
/// surrounding whitespace.
fn validate_image_whitespace(spec: &Value, field: &str) -> Vec<FieldError> {
    let path = child("spec", field);
    arr(spec, field)
        .iter()
        .enumerate()
        .filter_map(|(i, ctr)| {
            let image = str_or_empty(ctr, "image");
            (image.trim() != image).then(|| {
                FieldError::invalid(
                    child(&index(&path, i), "image"),
                    &json!(image),
                    "must not have leading or trailing whitespace",
                )
            })
        })
        .collect()
}

fn validate_pod_metadata_and_spec(pod: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = get(pod, "spec").unwrap_or(&empty);
    let mut errs = meta::validate_object_meta(pod, true, NameRule::Subdomain);
    errs.extend(validate_pod_spec(spec, "spec", true));
    if str_or_empty(spec, "serviceAccountName").is_empty() {
        for (vi, volume) in arr(spec, "volumes").iter().enumerate() {
            let Some(projected) = get(volume, "projected") else {
                continue;
            };
            for (si, source) in arr(projected, "sources").iter().enumerate() {
                if get(source, "serviceAccountToken").is_some() {
                    errs.push(FieldError::forbidden(
                        format!("spec.volumes[{vi}].projected.sources[{si}].serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    errs.extend(validate_image_whitespace(spec, "containers"));
    errs.extend(validate_image_whitespace(spec, "initContainers"));
    errs
}

/// A Pod on create.
pub fn validate_pod_create(pod: &Value) -> Vec<FieldError> {
    let mut errs = validate_pod_metadata_and_spec(pod);
    let empty = Value::Null;
    let spec = get(pod, "spec").unwrap_or(&empty);
    if !arr(spec, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(
            "spec.ephemeralContainers",
            "cannot be set on create",
        ));
    }
    if !str_or_empty(spec, "nodeName").is_empty() && !arr(spec, "schedulingGates").is_empty() {
        errs.push(FieldError::forbidden(
            "spec.nodeName",
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}

const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// A Pod on update: everything but images, a shrinking deadline, added
/// tolerations and removed scheduling gates is frozen.
pub fn validate_pod_update(pod: &Value, old: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = get(pod, "spec").unwrap_or(&empty);
    let old_spec = get(old, "spec").unwrap_or(&empty);
    let mut errs = meta::validate_object_meta_update(pod, old);
    errs.extend(validate_pod_metadata_and_spec(pod));
    for field in ["containers", "initContainers"] {
        let (new_list, old_list) = (arr(spec, field), arr(old_spec, field));
        let path = child("spec", field);
        if new_list.len() != old_list.len() {
            errs.push(FieldError::forbidden(
                path,
                "pod updates may not add or remove containers",
            ));
            return errs;
        }
        for (i, ctr) in new_list.iter().enumerate() {
            if str_or_empty(ctr, "image").is_empty() {
                errs.push(FieldError::required(child(&index(&path, i), "image"), ""));
            }
        }
    }
    let (deadline_errs, stop) = validate_deadline_update(spec, old_spec);
    errs.extend(deadline_errs);
    if stop {
        return errs;
    }
    errs.extend(validate_only_added_tolerations(spec, old_spec));
    errs.extend(validate_only_deleted_scheduling_gates(spec, old_spec));
    if let Some(diff) = frozen_pod_spec_diff(spec, old_spec) {
        errs.push(FieldError::forbidden(
            "spec",
            format!("pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{diff}"),
        ));
    }
    errs
}

/// Deadlines may be added, or shrunk, never grown or removed; the bool
/// says whether kube stops validating here.
fn validate_deadline_update(spec: &Value, old_spec: &Value) -> (Vec<FieldError>, bool) {
    let path = "spec.activeDeadlineSeconds";
    match (
        int_at(spec, "activeDeadlineSeconds"),
        int_at(old_spec, "activeDeadlineSeconds"),
    ) {
        (Some(new), _) if !(0..=MAX_INT32).contains(&new) => (
            vec![FieldError::invalid(
                path,
                &json!(new),
                names::inclusive_range_error(0, MAX_INT32),
            )],
            true,
        ),
        (Some(new), Some(old)) if old < new => (
            vec![FieldError::invalid(
                path,
                &json!(new),
                "must be less than or equal to previous value",
            )],
            true,
        ),
        (None, Some(_)) => (
            vec![FieldError::invalid(
                path,
                &Value::Null,
                "must not update from a positive integer to nil value",
            )],
            false,
        ),
        _ => (Vec::new(), false),
    }
}

fn validate_only_added_tolerations(spec: &Value, old_spec: &Value) -> Vec<FieldError> {
    let path = "spec.tolerations";
    let new_list = arr(spec, "tolerations");
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    for old in arr(old_spec, "tolerations") {
        if !new_list.iter().any(|new| strip(new) == strip(old)) {
            return vec![FieldError::forbidden(
                path,
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    validate_tolerations(new_list, path)
}

/// Scheduling gates may only be removed.
fn validate_only_deleted_scheduling_gates(spec: &Value, old_spec: &Value) -> Vec<FieldError> {
    let old_names: BTreeSet<&str> = arr(old_spec, "schedulingGates")
        .iter()
        .map(|g| str_or_empty(g, "name"))
        .collect();
    arr(spec, "schedulingGates")
        .iter()
        .enumerate()
        .filter(|(_, g)| !old_names.contains(str_or_empty(g, "name")))
        .map(|(i, g)| {
            FieldError::forbidden(
                format!("spec.schedulingGates[{i}].name"),
                format!(
                    "only deletion is allowed, but found new scheduling gate '{}'",
                    str_or_empty(g, "name")
                ),
            )
        })
        .collect()
}

/// The frozen part of the spec that changed, rendered as a short diff; or
/// `None` when only updatable fields changed.
fn frozen_pod_spec_diff(spec: &Value, old_spec: &Value) -> Option<String> {
    let munged = munge_updatable_fields(spec, old_spec);
    if super::fields::semantic_eq(Some(&munged), Some(old_spec)) {
        return None;
    }
    let mut keys: BTreeSet<&String> = BTreeSet::new();
    if let (Some(a), Some(b)) = (munged.as_object(), old_spec.as_object()) {
        keys.extend(a.keys());
        keys.extend(b.keys());
    }
    let mut lines = vec!["  core.PodSpec{".to_string()];
    for k in keys {
        let (new, old) = (munged.get(k.as_str()), old_spec.get(k.as_str()));
        if super::fields::semantic_eq(new, old) {
            continue;
        }
        if let Some(old) = old {
            lines.push(format!("- \t{k}: {old},"));
        }
        if let Some(new) = new {
            lines.push(format!("+ \t{k}: {new},"));
        }
    }
    lines.push("  }".to_string());
    Some(lines.join("\n"))
}

fn munge_updatable_fields(spec: &Value, old_spec: &Value) -> Value {
    let mut munged = spec.clone();
    let Some(m) = munged.as_object_mut() else {
        return munged;
    };
    for field in ["containers", "initContainers"] {
        if let Some(list) = m.get_mut(field).and_then(Value::as_array_mut) {
            for (ctr, old) in list.iter_mut().zip(arr(old_spec, field)) {
                if let Some(c) = ctr.as_object_mut() {
                    match old.get("image") {
                        Some(image) => c.insert("image".into(), image.clone()),
                        None => c.remove("image"),
                    };
                }
            }
        }
    }
    for field in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match old_spec.get(field) {
            Some(v) => m.insert(field.into(), v.clone()),
            None => m.remove(field),
        };
    }
    if int_at(old_spec, "terminationGracePeriodSeconds").is_some_and(|g| g < 0)
        && int_at(spec, "terminationGracePeriodSeconds") == Some(1)
        && let Some(old) = old_spec.get("terminationGracePeriodSeconds")
    {
        m.insert("terminationGracePeriodSeconds".into(), old.clone());
    }
    munged
}

/// A Pod on create or update.
pub fn validate_pod(pod: &Value, old: Option<&Value>) -> Vec<FieldError> {
    match old {
        None => validate_pod_create(pod),
        Some(old) => validate_pod_update(pod, old),
    }
}

/// A core/v1 PodTemplate.
pub fn validate_pod_template(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        None => meta::validate_object_meta(obj, true, NameRule::Subdomain),
        Some(old) => meta::validate_object_meta_update(obj, old),
    };
    let empty = Value::Null;
    errs.extend(validate_pod_template_spec(
        get(obj, "template").unwrap_or(&empty),
        "template",
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::strategy::validation::lines;

    fn pod(spec: Value) -> Value {
        let mut spec = spec;
        let defaults = json!({
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
        });
        for (k, v) in defaults.as_object().unwrap() {
            spec.as_object_mut()
                .unwrap()
                .entry(k.clone())
                .or_insert(v.clone());
        }
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }

    fn ctr(extra: Value) -> Value {
        let mut c = json!({"name": "c", "image": "nginx", "imagePullPolicy": "IfNotPresent",
            "terminationMessagePolicy": "File", "terminationMessagePath": "/dev/termination-log"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[test]
    fn a_good_pod_is_valid() {
        let p = pod(
            json!({"containers": [ctr(json!({"ports": [{"containerPort": 80, "protocol": "TCP"}]}))]}),
        );
        assert!(
            validate_pod(&p, None).is_empty(),
            "{:?}",
            validate_pod(&p, None)
        );
    }

    #[test]
    fn pod_spec_rules() {
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (
                json!({"containers": []}),
                vec!["spec.containers: Required value"],
            ),
            (
                json!({"containers": [ctr(json!({"image": ""}))]}),
                vec!["spec.containers[0].image: Required value"],
            ),
            (
                json!({"containers": [ctr(json!({"name": "Web"}))]}),
                vec![
                    "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            (
                json!({"containers": [ctr(json!({})), ctr(json!({}))]}),
                vec!["spec.containers[1].name: Duplicate value: \"c\""],
            ),
            (
                json!({"containers": [ctr(json!({"ports": [{"containerPort": 70000, "protocol": "TCP"}]}))]}),
                vec![
                    "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"ports": [{"containerPort": 80, "protocol": "HTTP"}]}))]}),
                vec![
                    "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"ports": [{"protocol": "TCP"}]}))]}),
                vec!["spec.containers[0].ports[0].containerPort: Required value"],
            ),
            (
                json!({"restartPolicy": "Sometimes", "containers": [ctr(json!({}))]}),
                vec![
                    "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                ],
            ),
            (
                json!({"dnsPolicy": "Cluster", "containers": [ctr(json!({}))]}),
                vec![
                    "spec.dnsPolicy: Unsupported value: \"Cluster\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1000m"}}}))]}),
                vec![
                    "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"resources": {"requests": {"memory": "-1"}}}))]}),
                vec![
                    "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"resources": {"limits": {"gpu": "1"}}}))]}),
                vec![
                    "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"resources": {"requests": {"example.com/dongle": "1"}}}))]}),
                vec![
                    "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
                ],
            ),
            (
                json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}], "containers": [ctr(json!({}))]}),
                vec!["spec.volumes[1].name: Duplicate value: \"v\""],
            ),
            (
                json!({"volumes": [{"name": "v"}], "containers": [ctr(json!({}))]}),
                vec!["spec.volumes[0]: Required value: must specify a volume type"],
            ),
            (
                json!({"volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}], "containers": [ctr(json!({}))]}),
                vec![
                    "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
                ],
            ),
            (
                json!({"volumes": [{"name": "v", "secret": {}}], "containers": [ctr(json!({}))]}),
                vec!["spec.volumes[0].secret.secretName: Required value"],
            ),
            (
                json!({"containers": [ctr(json!({"volumeMounts": [{"name": "data", "mountPath": "/data"}]}))]}),
                vec!["spec.containers[0].volumeMounts[0].name: Not found: \"data\""],
            ),
            (
                json!({"volumes": [{"name": "d", "emptyDir": {}}], "containers": [ctr(json!({"volumeMounts": [{"name": "d", "mountPath": "/d"}, {"name": "d", "mountPath": "/d"}]}))]}),
                vec![
                    "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/d\": must be unique",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"imagePullPolicy": "Sometimes"}))]}),
                vec![
                    "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"env": [{"name": "A=B", "value": "x"}]}))]}),
                vec![
                    "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"livenessProbe": {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}}))]}),
                vec![
                    "spec.containers[0].livenessProbe: Required value: must specify a handler type",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}}))]}),
                vec![
                    "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"readinessProbe": {"httpGet": {"path": "/", "port": "http-port-too-long", "scheme": "HTTP"}}}))]}),
                vec![
                    "spec.containers[0].readinessProbe.httpGet.port: Invalid value: \"http-port-too-long\": must be no more than 15 characters",
                ],
            ),
            (
                json!({"initContainers": [ctr(json!({}))], "containers": [ctr(json!({}))]}),
                vec!["spec.initContainers[0].name: Duplicate value: \"c\""],
            ),
            (
                json!({"initContainers": [ctr(json!({"name": "i", "readinessProbe": {"exec": {"command": ["x"]}}}))], "containers": [ctr(json!({}))]}),
                vec![
                    "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
                ],
            ),
            (
                json!({"activeDeadlineSeconds": 0, "containers": [ctr(json!({}))]}),
                vec![
                    "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
                ],
            ),
            (
                json!({"tolerations": [{"operator": "Equal", "value": "x"}], "containers": [ctr(json!({}))]}),
                vec![
                    "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                ],
            ),
            (
                json!({"tolerations": [{"key": "k", "operator": "Exists", "effect": "Never"}], "containers": [ctr(json!({}))]}),
                vec![
                    "spec.tolerations[0].effect: Unsupported value: \"Never\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                ],
            ),
            (
                json!({"dnsPolicy": "None", "containers": [ctr(json!({}))]}),
                vec![
                    "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
                ],
            ),
            (
                json!({"nodeSelector": {"disk": "s s"}, "containers": [ctr(json!({}))]}),
                vec![
                    "spec.nodeSelector: Invalid value: \"s s\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"image": " nginx"}))]}),
                vec![
                    "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace",
                ],
            ),
            (
                json!({"ephemeralContainers": [{"name": "e"}], "containers": [ctr(json!({}))]}),
                vec!["spec.ephemeralContainers: Forbidden: cannot be set on create"],
            ),
            (
                json!({"containers": [ctr(json!({"resources": {"limits": {"hugepages-2Mi": "2Mi"}, "requests": {"hugepages-2Mi": "2Mi"}}}))]}),
                vec!["spec.containers[0].resources: Forbidden: HugePages require cpu or memory"],
            ),
            (
                json!({"containers": [ctr(json!({"env": [{"name": "P", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.phase"}}}]}))]}),
                vec![
                    "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"env": [{"name": "P", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nope"}}}]}))]}),
                vec![
                    "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.nope\": error converting fieldPath: field label not supported: spec.nope",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"env": [{"name": "L", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['app']"}}}]}))]}),
                vec![],
            ),
            (
                json!({"containers": [ctr(json!({"env": [{"name": "S", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}))]}),
                vec![
                    "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"env": [{"name": "S", "valueFrom": {"configMapKeyRef": {"name": "c"}}}]}))]}),
                vec!["spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value"],
            ),
            (
                json!({"containers": [ctr(json!({"envFrom": [{"prefix": "A_"}]}))]}),
                vec![
                    "spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
                ],
            ),
            (
                json!({"volumes": [{"name": "h", "hostPath": {"path": "/a/../b", "type": "Dir"}}], "containers": [ctr(json!({}))]}),
                vec![
                    "spec.volumes[0].hostPath.path: Invalid value: \"/a/../b\": must not contain '..'",
                    "spec.volumes[0].hostPath.type: Unsupported value: \"Dir\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
                ],
            ),
            (
                json!({"volumes": [{"name": "n", "nfs": {"server": "s", "path": "x"}}], "containers": [ctr(json!({}))]}),
                vec!["spec.volumes[0].nfs.path: Invalid value: \"x\": must be an absolute path"],
            ),
            (
                json!({"volumes": [{"name": "c", "configMap": {"name": "cm", "items": [{"key": "k", "path": "/abs"}]}}], "containers": [ctr(json!({}))]}),
                vec![
                    "spec.volumes[0].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path",
                ],
            ),
            (
                json!({"volumes": [{"name": "d", "emptyDir": {}}], "containers": [ctr(json!({"volumeMounts": [{"name": "d", "mountPath": "/d", "subPath": "../x"}]}))]}),
                vec![
                    "spec.containers[0].volumeMounts.subPath: Invalid value: \"../x\": must not contain '..'",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"terminationMessagePolicy": "Always"}))]}),
                vec![
                    "spec.containers[0].terminationMessagePolicy: Unsupported value: \"Always\": supported values: \"File\", \"FallbackToLogsOnError\"",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]})), ctr(json!({"name": "d", "ports": [{"containerPort": 81, "hostPort": 8080, "protocol": "TCP"}]}))]}),
                vec!["spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\""],
            ),
            (
                json!({"hostNetwork": true, "containers": [ctr(json!({"ports": [{"containerPort": 80, "protocol": "TCP"}]}))]}),
                vec![
                    "spec.containers[0].ports[0].hostPort: Invalid value: 0: must match `containerPort` when `hostNetwork` is true",
                ],
            ),
            (
                json!({"containers": [ctr(json!({"lifecycle": {"preStop": {}}}))]}),
                vec![
                    "spec.containers[0].lifecycle.preStop: Required value: must specify a handler type",
                ],
            ),
            (
                json!({"schedulingGates": [{"name": "a.io/x"}, {"name": "a.io/x"}], "containers": [ctr(json!({}))]}),
                vec!["spec.schedulingGates[1]: Duplicate value: \"a.io/x\""],
            ),
            (
                json!({"tolerations": [{"key": "k", "operator": "Exists", "value": "v"}], "containers": [ctr(json!({}))]}),
                vec![
                    "spec.tolerations[0].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
                ],
            ),
        ];
        for (spec, want) in cases {
            let got = lines(&validate_pod(&pod(spec.clone()), None));
            assert_eq!(got, want, "spec {spec}");
        }
    }

    #[test]
    fn pod_updates_are_restricted() {
        let old = pod(json!({"containers": [ctr(json!({}))], "activeDeadlineSeconds": 100}));
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("nginx:2");
        new["spec"]["activeDeadlineSeconds"] = json!(50);
        assert!(validate_pod(&new, Some(&old)).is_empty());

        new["spec"]["activeDeadlineSeconds"] = json!(200);
        assert_eq!(
            lines(&validate_pod(&new, Some(&old))),
            vec![
                "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
            ]
        );

        let mut new = old.clone();
        new["spec"]["containers"][0]["ports"] = json!([{"containerPort": 81, "protocol": "TCP"}]);
        let errs = validate_pod(&new, Some(&old));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec");
        assert!(errs[0].message.starts_with("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"), "{}", errs[0].message);

        let mut new = old.clone();
        new["spec"]["containers"] = json!([ctr(json!({})), ctr(json!({"name": "d"}))]);
        assert_eq!(
            lines(&validate_pod(&new, Some(&old))),
            vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
        );

        let mut new = old.clone();
        new["spec"]
            .as_object_mut()
            .unwrap()
            .remove("activeDeadlineSeconds");
        assert_eq!(
            lines(&validate_pod(&new, Some(&old))),
            vec![
                "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"
            ]
        );
    }

    #[test]
    fn scheduling_gates_may_only_be_removed() {
        let old =
            pod(json!({"containers": [ctr(json!({}))], "schedulingGates": [{"name": "a.io/x"}]}));
        let mut new = old.clone();
        new["spec"]["schedulingGates"] = json!([]);
        assert!(validate_pod(&new, Some(&old)).is_empty());
        new["spec"]["schedulingGates"] = json!([{"name": "a.io/x"}, {"name": "b.io/y"}]);
        assert_eq!(
            lines(&validate_pod(&new, Some(&old))),
            vec![
                "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'b.io/y'"
            ]
        );
    }

    #[test]
    fn pod_templates_are_validated_like_pods() {
        let template = json!({"metadata": {"name": "t", "namespace": "d"}, "template": {
            "metadata": {"labels": {"-bad": "x"}},
            "spec": {"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
                "containers": [ctr(json!({"image": " padded "}))]}}});
        let got = lines(&validate_pod_template(&template, None));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("template.labels: Invalid value: \"-bad\": name part must consist")
        );
    }

    #[test]
    fn tolerations_may_only_be_added() {
        let old = pod(
            json!({"containers": [ctr(json!({}))], "tolerations": [{"key": "a", "operator": "Exists"}]}),
        );
        let mut new = old.clone();
        new["spec"]["tolerations"] =
            json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]);
        assert!(validate_pod(&new, Some(&old)).is_empty());
        new["spec"]["tolerations"] = json!([{"key": "b", "operator": "Exists"}]);
        assert_eq!(
            lines(&validate_pod(&new, Some(&old))),
            vec![
                "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
            ]
        );
    }
}
