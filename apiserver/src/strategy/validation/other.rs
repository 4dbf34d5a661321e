//! The non-core groups besides apps and batch: networking, policy,
//! autoscaling, RBAC, storage, scheduling, coordination, and the
//! metadata-level CRD rules.

use serde_json::{Value, json};

use super::apps::{not_more_than_100_percent, positive_int_or_percent};
use super::fields::{
    arr, child, get, go_quote, index, int_at, invalid_each, invalid_rendered, str_at, str_or_empty,
};
use super::meta::{self, NameRule};
use super::names;
use crate::FieldError;

const NULL: Value = Value::Null;

fn meta_errors(
    obj: &Value,
    old: Option<&Value>,
    namespaced: bool,
    rule: NameRule,
) -> Vec<FieldError> {
    match old {
        None => meta::validate_object_meta(obj, namespaced, rule),
        Some(old) => meta::validate_object_meta_update(obj, old),
    }
}

fn spec_of(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

/// Ingress (networking.k8s.io/v1).
pub fn validate_ingress(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, true, NameRule::Subdomain);
    let spec = spec_of(obj);
    let rules = arr(spec, "rules");
    let default_backend = get(spec, "defaultBackend");
    if rules.is_empty() && default_backend.is_none() {
        let rendered = if get(spec, "rules").is_some() {
            "[]networking.IngressRule{}"
        } else {
            "[]networking.IngressRule(nil)"
        };
        errs.push(invalid_rendered(
            "spec",
            rendered,
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(backend) = default_backend {
        errs.extend(validate_ingress_backend(backend, "spec.defaultBackend"));
    }
    for (i, rule) in rules.iter().enumerate() {
        errs.extend(validate_ingress_rule(rule, &index("spec.rules", i)));
    }
    if let Some(class) = str_at(spec, "ingressClassName") {
        errs.extend(invalid_each(
            "spec.ingressClassName",
            class,
            names::dns1123_subdomain(class),
        ));
    }
    if old.is_none() {
        let annotation = get(obj, "metadata")
            .and_then(|m| get(m, "annotations"))
            .and_then(|a| str_at(a, "kubernetes.io/ingress.class"));
        if let (Some(annotation), Some(class)) = (annotation, str_at(spec, "ingressClassName"))
            && annotation != class
        {
            errs.push(FieldError::invalid(
                "annotations.kubernetes.io/ingress.class",
                &json!(annotation),
                "must match `ingressClassName` when both are specified",
            ));
        }
    }
    errs
}

fn validate_ingress_rule(rule: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let host = str_or_empty(rule, "host");
    if !host.is_empty() {
        let host_path = child(path, "host");
        if names::parse_ip(host).is_some() {
            errs.push(FieldError::invalid(
                &host_path,
                &json!(host),
                "must be a DNS name, not an IP address",
            ));
        }
        let msgs = if host.contains('*') {
            names::wildcard_dns1123_subdomain(host)
        } else {
            names::dns1123_subdomain(host)
        };
        for msg in msgs {
            errs.push(FieldError::invalid(&host_path, &json!(host), msg));
        }
    }
    if let Some(http) = get(rule, "http") {
        let paths_path = child(&child(path, "http"), "paths");
        let paths = arr(http, "paths");
        if paths.is_empty() {
            errs.push(FieldError::required(&paths_path, ""));
        }
        for (i, p) in paths.iter().enumerate() {
            errs.extend(validate_ingress_path(p, &index(&paths_path, i)));
        }
    }
    errs
}

fn validate_ingress_path(p: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(path_type) = str_at(p, "pathType") else {
        return vec![FieldError::required(
            child(path, "pathType"),
            "pathType must be specified",
        )];
    };
    let value = str_or_empty(p, "path");
    let value_path = child(path, "path");
    match path_type {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.push(FieldError::invalid(
                    &value_path,
                    &json!(value),
                    "must be an absolute path",
                ));
            }
            if !value.is_empty() {
                for sequence in ["//", "/./", "/../", "%2f", "%2F"] {
                    if value.contains(sequence) {
                        errs.push(FieldError::invalid(
                            &value_path,
                            &json!(value),
                            format!("must not contain '{sequence}'"),
                        ));
                    }
                }
                for suffix in ["/..", "/."] {
                    if value.ends_with(suffix) {
                        errs.push(FieldError::invalid(
                            &value_path,
                            &json!(value),
                            format!("cannot end with '{suffix}'"),
                        ));
                    }
                }
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.push(FieldError::invalid(
                    &value_path,
                    &json!(value),
                    "must be an absolute path",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            child(path, "pathType"),
            &json!(other),
            &["Exact", "ImplementationSpecific", "Prefix"],
        )),
    }
    errs.extend(validate_ingress_backend(
        get(p, "backend").unwrap_or(&NULL),
        &child(path, "backend"),
    ));
    errs
}

fn validate_ingress_backend(backend: &Value, path: &str) -> Vec<FieldError> {
    let resource = get(backend, "resource");
    let service = get(backend, "service");
    match (resource, service) {
        (Some(_), Some(_)) => vec![FieldError::invalid(
            path,
            &json!(""),
            "cannot set both resource and service backends",
        )],
        (Some(resource), None) => {
            let mut errs = Vec::new();
            for field in ["kind", "name"] {
                if str_or_empty(resource, field).is_empty() {
                    errs.push(FieldError::required(
                        child(&child(path, "resource"), field),
                        "",
                    ));
                }
            }
            errs
        }
        (None, Some(service)) => validate_service_backend(service, path),
        (None, None) => vec![FieldError::invalid(
            path,
            &json!(""),
            "resource or service backend is required",
        )],
    }
}

fn validate_service_backend(service: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name_path = format!("{path}.service.name");
    let name = str_or_empty(service, "name");
    if name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(invalid_each(&name_path, name, names::dns1035_label(name)));
    }
    let port = get(service, "port").unwrap_or(&NULL);
    let port_name = str_or_empty(port, "name");
    let port_number = int_at(port, "number").unwrap_or(0);
    match (port_name.is_empty(), port_number == 0) {
        (false, false) => errs.push(FieldError::invalid(
            path,
            &json!(""),
            "cannot set both port name & port number",
        )),
        (false, true) => {
            errs.extend(invalid_each(
                format!("{path}.service.port.name"),
                port_name,
                names::port_name(port_name),
            ));
        }
        (true, false) => {
            errs.extend(invalid_each(
                format!("{path}.service.port.number"),
                port_number,
                names::port_num(port_number),
            ));
        }
        (true, true) => errs.push(FieldError::required(
            path,
            "port name or number is required",
        )),
    }
    errs
}

/// IngressClass (networking.k8s.io/v1): a domain-prefixed controller.
pub fn validate_ingress_class(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, false, NameRule::Subdomain);
    let spec = spec_of(obj);
    let controller = str_or_empty(spec, "controller");
    if controller.len() > 250 {
        errs.push(FieldError::too_long("spec.controller", 250));
    }
    if controller.is_empty() {
        errs.push(FieldError::required("spec.controller", ""));
    } else {
        for (value, msg) in names::domain_prefixed_path(controller) {
            errs.push(FieldError::invalid("spec.controller", &json!(value), msg));
        }
    }
    if let Some(old) = old {
        let old_controller = str_or_empty(spec_of(old), "controller");
        if old_controller != controller {
            errs.push(FieldError::invalid(
                "spec.controller",
                &json!(controller),
                meta::IMMUTABLE,
            ));
        }
    }
    errs
}

/// NetworkPolicy (networking.k8s.io/v1).
pub fn validate_network_policy(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, true, NameRule::Subdomain);
    let spec = spec_of(obj);
    errs.extend(meta::validate_label_selector(
        get(spec, "podSelector"),
        "spec.podSelector",
    ));
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr(spec, direction).iter().enumerate() {
            let rule_path = index(&child("spec", direction), i);
            for (j, port) in arr(rule, "ports").iter().enumerate() {
                errs.extend(validate_network_policy_port(
                    port,
                    &index(&child(&rule_path, "ports"), j),
                ));
            }
            for (j, peer) in arr(rule, peers).iter().enumerate() {
                errs.extend(validate_network_policy_peer(
                    peer,
                    &index(&child(&rule_path, peers), j),
                ));
            }
        }
    }
    let types = arr(spec, "policyTypes");
    if types.len() > 2 {
        errs.push(FieldError::invalid(
            "spec.policyTypes",
            spec.get("policyTypes").unwrap_or(&NULL),
            "may not specify more than two policyTypes",
        ));
        return errs;
    }
    for (i, policy_type) in types.iter().enumerate() {
        let policy_type = policy_type.as_str().unwrap_or("");
        if policy_type != "Ingress" && policy_type != "Egress" {
            errs.push(FieldError::not_supported(
                index("spec.policyTypes", i),
                &json!(policy_type),
                &["Ingress", "Egress"],
            ));
        }
    }
    errs
}

fn validate_network_policy_port(port: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(protocol) = str_at(port, "protocol")
        && !["TCP", "UDP", "SCTP"].contains(&protocol)
    {
        errs.push(FieldError::not_supported(
            child(path, "protocol"),
            &json!(protocol),
            &["TCP", "UDP", "SCTP"],
        ));
    }
    let end_port = int_at(port, "endPort");
    match get(port, "port") {
        Some(Value::String(name)) => {
            if let Some(end) = end_port {
                errs.push(FieldError::invalid(
                    child(path, "endPort"),
                    &json!(end),
                    "may not be specified when `port` is non-numeric",
                ));
            }
            errs.extend(invalid_each(
                child(path, "port"),
                name,
                names::port_name(name),
            ));
        }
        Some(number) => {
            let number = number.as_i64().unwrap_or(0);
            errs.extend(invalid_each(
                child(path, "port"),
                number,
                names::port_num(number),
            ));
            if let Some(end) = end_port {
                if end < number {
                    errs.push(FieldError::invalid(
                        child(path, "endPort"),
                        &json!(number),
                        "must be greater than or equal to `port`",
                    ));
                }
                errs.extend(invalid_each(
                    child(path, "endPort"),
                    end,
                    names::port_num(end),
                ));
            }
        }
        None => {
            if let Some(end) = end_port {
                errs.push(FieldError::invalid(
                    child(path, "endPort"),
                    &json!(end),
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    errs
}

fn validate_network_policy_peer(peer: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for selector in ["podSelector", "namespaceSelector"] {
        if let Some(s) = get(peer, selector) {
            count += 1;
            errs.extend(meta::validate_label_selector(
                Some(s),
                &child(path, selector),
            ));
        }
    }
    let ip_block = get(peer, "ipBlock");
    if let Some(block) = ip_block {
        count += 1;
        if str_or_empty(block, "cidr").is_empty() {
            errs.push(FieldError::required(format!("{path}.ipBlock.cidr"), ""));
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a peer"));
    } else if count > 1 && ip_block.is_some() {
        errs.push(FieldError::forbidden(
            path,
            "may not specify both ipBlock and another peer",
        ));
    }
    errs
}

/// PodDisruptionBudget (policy/v1).
pub fn validate_pod_disruption_budget(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, true, NameRule::Subdomain);
    let spec = spec_of(obj);
    let min = get(spec, "minAvailable");
    let max = get(spec, "maxUnavailable");
    if min.is_some() && max.is_some() {
        errs.push(FieldError::invalid(
            "spec",
            spec,
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (field, value) in [("minAvailable", min), ("maxUnavailable", max)] {
        if value.is_some() {
            let path = child("spec", field);
            errs.extend(positive_int_or_percent(value, &path));
            errs.extend(not_more_than_100_percent(value, &path));
        }
    }
    errs.extend(meta::validate_label_selector(
        get(spec, "selector"),
        "spec.selector",
    ));
    if let Some(policy) = str_at(spec, "unhealthyPodEvictionPolicy")
        && policy != "AlwaysAllow"
        && policy != "IfHealthyBudget"
    {
        errs.push(FieldError::not_supported(
            "spec.unhealthyPodEvictionPolicy",
            &json!(policy),
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
    errs
}

/// HorizontalPodAutoscaler (autoscaling/v1 and v2).
pub fn validate_horizontal_pod_autoscaler(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, true, NameRule::Subdomain);
    let spec = spec_of(obj);
    let min = int_at(spec, "minReplicas");
    let max = int_at(spec, "maxReplicas").unwrap_or(0);
    if let Some(min) = min.filter(|m| *m < 1) {
        errs.push(FieldError::invalid(
            "spec.minReplicas",
            &json!(min),
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        errs.push(FieldError::invalid(
            "spec.maxReplicas",
            &json!(max),
            "must be greater than 0",
        ));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(FieldError::invalid(
            "spec.maxReplicas",
            &json!(max),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    let target = get(spec, "scaleTargetRef").unwrap_or(&NULL);
    for field in ["kind", "name"] {
        let path = child("spec.scaleTargetRef", field);
        let value = str_or_empty(target, field);
        if value.is_empty() {
            errs.push(FieldError::required(path, ""));
        } else {
            errs.extend(invalid_each(
                &path,
                value,
                names::path_segment_name(value, false),
            ));
        }
    }
    errs
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Role and ClusterRole (rbac.authorization.k8s.io/v1).
pub fn validate_role(obj: &Value, old: Option<&Value>, namespaced: bool) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta(obj, namespaced, NameRule::PathSegment);
    for (i, rule) in arr(obj, "rules").iter().enumerate() {
        errs.extend(validate_policy_rule(rule, namespaced, &index("rules", i)));
    }
    if !namespaced && let Some(aggregation) = get(obj, "aggregationRule") {
        let selectors = arr(aggregation, "clusterRoleSelectors");
        if selectors.is_empty() {
            errs.push(FieldError::required(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, selector) in selectors.iter().enumerate() {
            errs.extend(meta::validate_label_selector(
                Some(selector),
                &index("aggregationRule.clusterRoleSelectors", i),
            ));
        }
    }
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old));
    }
    errs
}

fn validate_policy_rule(rule: &Value, namespaced: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if arr(rule, "verbs").is_empty() {
        errs.push(FieldError::required(
            child(path, "verbs"),
            "verbs must contain at least one value",
        ));
    }
    let urls = arr(rule, "nonResourceURLs");
    if !urls.is_empty() {
        let urls_value = rule.get("nonResourceURLs").unwrap_or(&NULL);
        if namespaced {
            errs.push(FieldError::invalid(
                child(path, "nonResourceURLs"),
                urls_value,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if !arr(rule, "apiGroups").is_empty()
            || !arr(rule, "resources").is_empty()
            || !arr(rule, "resourceNames").is_empty()
        {
            errs.push(FieldError::invalid(
                child(path, "nonResourceURLs"),
                urls_value,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if arr(rule, "apiGroups").is_empty() {
        errs.push(FieldError::required(
            child(path, "apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if arr(rule, "resources").is_empty() {
        errs.push(FieldError::required(
            child(path, "resources"),
            "resource rules must supply at least one resource",
        ));
    }
    errs
}

/// RoleBinding and ClusterRoleBinding (rbac.authorization.k8s.io/v1).
pub fn validate_role_binding(
    obj: &Value,
    old: Option<&Value>,
    namespaced: bool,
) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta(obj, namespaced, NameRule::PathSegment);
    let role_ref = get(obj, "roleRef").unwrap_or(&NULL);
    let api_group = str_or_empty(role_ref, "apiGroup");
    if api_group != RBAC_GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            &json!(api_group),
            &[RBAC_GROUP],
        ));
    }
    let kind = str_or_empty(role_ref, "kind");
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&kind) {
        errs.push(FieldError::not_supported(
            "roleRef.kind",
            &json!(kind),
            kinds,
        ));
    }
    let name = str_or_empty(role_ref, "name");
    if name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        errs.extend(invalid_each(
            "roleRef.name",
            name,
            names::path_segment_name(name, false),
        ));
    }
    for (i, subject) in arr(obj, "subjects").iter().enumerate() {
        errs.extend(validate_subject(subject, namespaced, &index("subjects", i)));
    }
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old));
        let old_ref = get(old, "roleRef").unwrap_or(&NULL);
        let fields = ["apiGroup", "kind", "name"];
        if fields
            .iter()
            .any(|f| str_or_empty(role_ref, f) != str_or_empty(old_ref, f))
        {
            errs.push(invalid_rendered(
                "roleRef",
                &format!(
                    "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
                    go_quote(api_group),
                    go_quote(kind),
                    go_quote(name)
                ),
                "cannot change roleRef",
            ));
        }
    }
    errs
}

fn validate_subject(subject: &Value, namespaced: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_or_empty(subject, "name");
    if name.is_empty() {
        errs.push(FieldError::required(child(path, "name"), ""));
    }
    let api_group = str_or_empty(subject, "apiGroup");
    match str_or_empty(subject, "kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                errs.extend(invalid_each(
                    child(path, "name"),
                    name,
                    names::dns1123_subdomain(name),
                ));
            }
            if !api_group.is_empty() {
                errs.push(FieldError::not_supported(
                    child(path, "apiGroup"),
                    &json!(api_group),
                    &[""],
                ));
            }
            if !namespaced && str_or_empty(subject, "namespace").is_empty() {
                errs.push(FieldError::required(child(path, "namespace"), ""));
            }
        }
        "User" | "Group" => {
            if api_group != RBAC_GROUP {
                errs.push(FieldError::not_supported(
                    child(path, "apiGroup"),
                    &json!(api_group),
                    &[RBAC_GROUP],
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            child(path, "kind"),
            &json!(other),
            &["ServiceAccount", "User", "Group"],
        )),
    }
    errs
}

/// StorageClass (storage.k8s.io/v1); its behaviour fields are frozen.
pub fn validate_storage_class(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    if let Some(old) = old {
        let mut errs = meta::validate_object_meta_update(obj, old);
        if get(obj, "parameters") != get(old, "parameters") {
            errs.push(FieldError::forbidden(
                "parameters",
                "updates to parameters are forbidden.",
            ));
        }
        if str_or_empty(obj, "provisioner") != str_or_empty(old, "provisioner") {
            errs.push(FieldError::forbidden(
                "provisioner",
                "updates to provisioner are forbidden.",
            ));
        }
        if str_or_empty(obj, "reclaimPolicy") != str_or_empty(old, "reclaimPolicy") {
            errs.push(FieldError::forbidden(
                "reclaimPolicy",
                "updates to reclaimPolicy are forbidden.",
            ));
        }
        let mode = obj.get("volumeBindingMode");
        if mode != old.get("volumeBindingMode") {
            errs.push(FieldError::invalid(
                "volumeBindingMode",
                mode.unwrap_or(&NULL),
                meta::IMMUTABLE,
            ));
        }
        return errs;
    }
    let mut errs = meta::validate_object_meta(obj, false, NameRule::Subdomain);
    let provisioner = str_or_empty(obj, "provisioner");
    if provisioner.is_empty() {
        errs.push(FieldError::required("provisioner", ""));
    } else {
        for msg in names::qualified_name(&provisioner.to_lowercase()) {
            errs.push(FieldError::invalid(
                "provisioner",
                &json!(provisioner.to_lowercase()),
                msg,
            ));
        }
    }
    if let Some(policy) = str_at(obj, "reclaimPolicy").filter(|p| !p.is_empty())
        && policy != "Delete"
        && policy != "Retain"
    {
        errs.push(FieldError::not_supported(
            "reclaimPolicy",
            &json!(policy),
            &["Delete", "Retain"],
        ));
    }
    match str_at(obj, "volumeBindingMode") {
        None => errs.push(FieldError::required("volumeBindingMode", "")),
        Some("Immediate" | "WaitForFirstConsumer") => {}
        Some(other) => errs.push(FieldError::not_supported(
            "volumeBindingMode",
            &json!(other),
            &["Immediate", "WaitForFirstConsumer"],
        )),
    }
    errs
}

const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
const SYSTEM_PRIORITY_CLASSES: &[(&str, i64)] = &[
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

/// PriorityClass (scheduling.k8s.io/v1).
pub fn validate_priority_class(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, false, NameRule::Subdomain);
    let name = get(obj, "metadata").map_or("", |m| str_or_empty(m, "name"));
    let value = int_at(obj, "value").unwrap_or(0);
    if name.starts_with("system-") {
        let problem = match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name) {
            None => Some(format!("{name} is not a known system priority class")),
            Some((_, expected)) if *expected != value => {
                Some(format!("value of {name} PriorityClass must be {expected}"))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem.filter(|_| old.is_none()) {
            errs.push(FieldError::forbidden(
                "metadata.name",
                format!(
                    "priority class names with 'system-' prefix are reserved for system use only. error: {problem}"
                ),
            ));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errs.push(FieldError::forbidden(
            "value",
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    if let Some(policy) = str_at(obj, "preemptionPolicy") {
        errs.extend(super::pod::validate_preemption_policy(
            policy,
            "preemptionPolicy",
        ));
    }
    if let Some(old) = old {
        if int_at(old, "value").unwrap_or(0) != value {
            errs.push(FieldError::forbidden(
                "value",
                "may not be changed in an update.",
            ));
        }
        if obj.get("preemptionPolicy") != old.get("preemptionPolicy") {
            errs.push(FieldError::invalid(
                "preemptionPolicy",
                obj.get("preemptionPolicy").unwrap_or(&NULL),
                meta::IMMUTABLE,
            ));
        }
    }
    errs
}

/// Lease (coordination.k8s.io/v1).
pub fn validate_lease(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta_errors(obj, old, true, NameRule::Subdomain);
    let spec = spec_of(obj);
    if let Some(duration) = int_at(spec, "leaseDurationSeconds")
        && duration <= 0
    {
        errs.push(FieldError::invalid(
            "spec.leaseDurationSeconds",
            &json!(duration),
            "must be greater than 0",
        ));
    }
    errs
}

/// CustomResourceDefinition (apiextensions.k8s.io/v1): only the naming
/// rules; the schema is validated elsewhere.
pub fn validate_custom_resource_definition(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let group = str_or_empty(spec, "group");
    let crd_names = get(spec, "names").unwrap_or(&NULL);
    let plural = str_or_empty(crd_names, "plural");
    let mut errs = match old {
        None => meta::validate_object_meta(obj, false, NameRule::Subdomain),
        Some(old) => meta::validate_object_meta_update(obj, old),
    };
    let name = get(obj, "metadata").map_or("", |m| str_or_empty(m, "name"));
    if old.is_none() && !name.is_empty() && name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let msgs = names::dns1123_subdomain(group);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                "spec.group",
                &json!(group),
                msgs.join(","),
            ));
        } else if !group.contains('.') {
            errs.push(FieldError::invalid(
                "spec.group",
                &json!(group),
                "should be a domain with at least one dot",
            ));
        }
    }
    if plural.is_empty() {
        errs.push(FieldError::required("spec.names.plural", ""));
    }
    if str_or_empty(crd_names, "kind").is_empty() {
        errs.push(FieldError::required("spec.names.kind", ""));
    }
    match str_or_empty(spec, "scope") {
        "Cluster" | "Namespaced" => {}
        "" => errs.push(FieldError::required("spec.scope", "")),
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            &json!(other),
            &["Cluster", "Namespaced"],
        )),
    }
    let versions = arr(spec, "versions");
    let storage_count = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if storage_count != 1 {
        let rendered = if versions.is_empty() {
            "[]apiextensions.CustomResourceDefinitionVersion(nil)".to_string()
        } else {
            spec.get("versions")
                .map(Value::to_string)
                .unwrap_or_default()
        };
        errs.push(invalid_rendered(
            "spec.versions",
            &rendered,
            "must have exactly one version marked as storage version",
        ));
    }
    // Mars converts between versions only by rewriting apiVersion; a CRD
    // that needs its webhook would be served wrong, so it is refused.
    let strategy = spec
        .get("conversion")
        .map_or("", |c| str_or_empty(c, "strategy"));
    if !matches!(strategy, "" | "None") {
        errs.push(FieldError::not_supported(
            "spec.conversion.strategy",
            &json!(strategy),
            &["None"],
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, version) in versions.iter().enumerate() {
        let name = str_or_empty(version, "name");
        if name.is_empty() {
            errs.push(FieldError::required(format!("spec.versions[{i}].name"), ""));
        } else if !seen.insert(name) {
            errs.push(FieldError::duplicate(
                format!("spec.versions[{i}].name"),
                &json!(name),
            ));
        }
        if version["schema"]["openAPIV3Schema"].is_null() {
            errs.push(FieldError::required(
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "schemas are required",
            ));
        }
    }
    if errs.is_empty() {
        errs.extend(crate::crd::validate(obj));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::strategy::validation::lines;

    #[test]
    fn ingress_rules() {
        let ing = |spec: Value| json!({"metadata": {"name": "i", "namespace": "d"}, "spec": spec});
        let backend = json!({"service": {"name": "web", "port": {"number": 80}}});
        assert!(validate_ingress(&ing(json!({"rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}]})), None).is_empty());
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (
                json!({}),
                vec![
                    "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified",
                ],
            ),
            (
                json!({"rules": [{"host": "1.2.3.4"}]}),
                vec![
                    "spec.rules[0].host: Invalid value: \"1.2.3.4\": must be a DNS name, not an IP address",
                ],
            ),
            (
                json!({"rules": [{"http": {"paths": [{"path": "/", "backend": backend}]}}]}),
                vec![
                    "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
                ],
            ),
            (
                json!({"rules": [{"http": {"paths": [{"path": "/", "pathType": "Glob", "backend": backend}]}}]}),
                vec![
                    "spec.rules[0].http.paths[0].pathType: Unsupported value: \"Glob\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"",
                ],
            ),
            (
                json!({"rules": [{"http": {"paths": [{"path": "api", "pathType": "Exact", "backend": backend}]}}]}),
                vec![
                    "spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path",
                ],
            ),
            (
                json!({"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {}}}}]}}]}),
                vec![
                    "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
                ],
            ),
            (
                json!({"rules": [{"http": {"paths": []}}]}),
                vec!["spec.rules[0].http.paths: Required value"],
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(
                lines(&validate_ingress(&ing(spec.clone()), None)),
                want,
                "{spec}"
            );
        }
    }

    #[test]
    fn network_policy_rules() {
        let np = json!({"metadata": {"name": "n", "namespace": "d"}, "spec": {"podSelector": {},
            "ingress": [{"ports": [{"protocol": "ICMP", "port": 80}], "from": [{}]}], "policyTypes": ["Ingress", "Sideways"]}});
        assert_eq!(
            lines(&validate_network_policy(&np, None)),
            vec![
                "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "spec.ingress[0].from[0]: Required value: must specify a peer",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ]
        );
    }

    #[test]
    fn disruption_budget_rules() {
        let pdb = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"minAvailable": 1, "maxUnavailable": "150%"}});
        let got = lines(&validate_pod_disruption_budget(&pdb, None));
        assert_eq!(got.len(), 2);
        assert!(
            got[0].starts_with("spec: Invalid value: ")
                && got[0].ends_with(": minAvailable and maxUnavailable cannot be both set")
        );
        assert_eq!(
            got[1],
            "spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%"
        );
    }

    #[test]
    fn autoscaler_rules() {
        let hpa = json!({"metadata": {"name": "h", "namespace": "d"}, "spec": {"minReplicas": 3, "maxReplicas": 2, "scaleTargetRef": {"kind": "Deployment"}}});
        assert_eq!(
            lines(&validate_horizontal_pod_autoscaler(&hpa, None)),
            vec![
                "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
                "spec.scaleTargetRef.name: Required value",
            ]
        );
    }

    #[test]
    fn rbac_rules() {
        let role = json!({"metadata": {"name": "a/b", "namespace": "d"}, "rules": [{"verbs": [], "apiGroups": [""]}]});
        assert_eq!(
            lines(&validate_role(&role, None, true)),
            vec![
                "metadata.name: Invalid value: \"a/b\": may not contain '/'",
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].resources: Required value: resource rules must supply at least one resource",
            ]
        );
        let binding = json!({"metadata": {"name": "b", "namespace": "d"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "Robot", "name": "x"}, {"kind": "User", "name": "u"}]});
        assert_eq!(
            lines(&validate_role_binding(&binding, None, true)),
            vec![
                "subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
                "subjects[1].apiGroup: Unsupported value: \"\": supported values: \"rbac.authorization.k8s.io\"",
            ]
        );
        let mut changed = binding.clone();
        changed["roleRef"]["name"] = json!("other");
        changed["subjects"] = json!([]);
        let mut old = binding.clone();
        old["subjects"] = json!([]);
        assert_eq!(
            lines(&validate_role_binding(&changed, Some(&old), true)),
            vec![
                "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"other\"}: cannot change roleRef",
            ]
        );
        let crb = json!({"metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa"}]});
        assert_eq!(
            lines(&validate_role_binding(&crb, None, false)),
            vec![
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
            ]
        );
    }

    #[test]
    fn storage_class_rules() {
        let sc = json!({"metadata": {"name": "fast"}, "reclaimPolicy": "Keep", "volumeBindingMode": "Immediate"});
        assert_eq!(
            lines(&validate_storage_class(&sc, None)),
            vec![
                "provisioner: Required value",
                "reclaimPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Retain\"",
            ]
        );
        let old = json!({"metadata": {"name": "fast"}, "provisioner": "a.io/x", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
        let mut new = old.clone();
        new["provisioner"] = json!("b.io/y");
        assert_eq!(
            lines(&validate_storage_class(&new, Some(&old))),
            vec!["provisioner: Forbidden: updates to provisioner are forbidden."]
        );
    }

    #[test]
    fn priority_class_rules() {
        let pc = json!({"metadata": {"name": "huge"}, "value": 2_000_000_000i64, "preemptionPolicy": "Always"});
        assert_eq!(
            lines(&validate_priority_class(&pc, None)),
            vec![
                "value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
                "preemptionPolicy: Unsupported value: \"Always\": supported values: \"PreemptLowerPriority\", \"Never\"",
            ]
        );
        let sys = json!({"metadata": {"name": "system-foo"}, "value": 1});
        assert_eq!(
            lines(&validate_priority_class(&sys, None)),
            vec![
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class",
            ]
        );
        let old = json!({"metadata": {"name": "p"}, "value": 1, "preemptionPolicy": "Never"});
        let mut new = old.clone();
        new["value"] = json!(2);
        assert_eq!(
            lines(&validate_priority_class(&new, Some(&old))),
            vec!["value: Forbidden: may not be changed in an update."]
        );
    }

    #[test]
    fn valid_objects_pass() {
        let pdb = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"a": "b"}}}});
        assert!(validate_pod_disruption_budget(&pdb, None).is_empty());
        let hpa = json!({"metadata": {"name": "h", "namespace": "d"}, "spec": {"minReplicas": 1, "maxReplicas": 3,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}});
        assert!(validate_horizontal_pod_autoscaler(&hpa, None).is_empty());
        let class =
            json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}});
        assert!(validate_ingress_class(&class, None).is_empty());
        let bad_class = json!({"metadata": {"name": "nginx"}, "spec": {"controller": "nginx"}});
        assert_eq!(
            lines(&validate_ingress_class(&bad_class, None)),
            vec![
                "spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")",
            ]
        );
        let role = json!({"metadata": {"name": "system:view"}, "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]});
        assert!(validate_role(&role, None, false).is_empty());
        let sc = json!({"metadata": {"name": "fast"}, "provisioner": "a.io/x", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
        let mut changed = sc.clone();
        changed["volumeBindingMode"] = json!("WaitForFirstConsumer");
        assert_eq!(
            lines(&validate_storage_class(&changed, Some(&sc))),
            vec!["volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable",]
        );
    }

    #[test]
    fn lease_and_crd_rules() {
        let lease = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0}});
        assert_eq!(
            lines(&validate_lease(&lease, None)),
            vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
        );
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "kind": "Gadget"}, "conversion": {"strategy": "Webhook"},
            "versions": [{"name": "v1", "served": true, "storage": true}, {"name": "v1", "served": true, "storage": false,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
        assert_eq!(
            lines(&validate_custom_resource_definition(&crd, None)),
            vec![
                "metadata.name: Invalid value: \"widgets.example.com\": must be spec.names.plural+\".\"+spec.group",
                "spec.conversion.strategy: Unsupported value: \"Webhook\": supported values: \"None\"",
                "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required",
                "spec.versions[1].name: Duplicate value: \"v1\"",
            ]
        );
        let bare = json!({"metadata": {"name": "x.y"}, "spec": {"names": {}}});
        assert_eq!(
            lines(&validate_custom_resource_definition(&bare, None)),
            vec![
                "metadata.name: Invalid value: \"x.y\": must be spec.names.plural+\".\"+spec.group",
                "spec.group: Required value",
                "spec.names.plural: Required value",
                "spec.names.kind: Required value",
                "spec.scope: Required value",
                "spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion(nil): must have exactly one version marked as storage version",
            ]
        );
    }
}
