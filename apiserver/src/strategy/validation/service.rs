//! Services and their endpoints: core's `ValidateService`,
//! `ValidateServiceUpdate`, `ValidateEndpoints`, and discovery's
//! `ValidateEndpointSlice`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{Value, json};

use super::fields::{
    arr, child, duplicate_rendered, get, go_int_or_string, go_quote, go_string_slice, index,
    int_at, invalid_each, invalid_rendered, str_at, str_or_empty,
};
use super::meta::{self, NameRule};
use super::names;
use super::pod::{port_number_errors, validate_port_num_or_name, validate_protocol};
use crate::FieldError;

const NULL: Value = Value::Null;
const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const NODE_PORT_RANGE: (i64, i64) = (30000, 32767);

fn spec_of(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

/// The first cluster IP, from `clusterIPs` or the older `clusterIP`.
fn primary_cluster_ip(spec: &Value) -> &str {
    arr(spec, "clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_or_empty(spec, "clusterIP"))
}

fn is_headless(spec: &Value) -> bool {
    str_or_empty(spec, "type") == "ClusterIP" && primary_cluster_ip(spec) == "None"
}

fn externally_accessible(spec: &Value) -> bool {
    match str_or_empty(spec, "type") {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => !arr(spec, "externalIPs").is_empty(),
        _ => false,
    }
}

/// Service (core/v1) on create or update.
pub fn validate_service(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old));
        errs.extend(validate_cluster_ip_unchanged(spec_of(obj), spec_of(old)));
    }
    errs.extend(meta::validate_object_meta(obj, true, NameRule::Dns1035));
    errs.extend(validate_service_spec(spec_of(obj)));
    errs
}

fn validate_cluster_ip_unchanged(spec: &Value, old_spec: &Value) -> Vec<FieldError> {
    if str_or_empty(spec, "type") == "ExternalName"
        || str_or_empty(old_spec, "type") == "ExternalName"
    {
        return Vec::new();
    }
    let (new, old) = (primary_cluster_ip(spec), primary_cluster_ip(old_spec));
    // An update that leaves the IP out keeps the allocated one.
    if old.is_empty() || new.is_empty() || new == old {
        return Vec::new();
    }
    let ips = match get(spec, "clusterIPs") {
        Some(list) => go_string_slice(Some(list)),
        None => format!("[]string{{{}}}", go_quote(new)),
    };
    vec![invalid_rendered(
        "spec.clusterIPs[0]",
        &ips,
        "may not change once set",
    )]
}

fn validate_service_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let service_type = str_or_empty(spec, "type");
    let ports = arr(spec, "ports");
    if ports.is_empty() && !is_headless(spec) && service_type != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    errs.extend(validate_type_specific(spec, service_type));
    let mut port_names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        errs.extend(validate_service_port(
            port,
            ports.len() > 1,
            &mut port_names,
            &index("spec.ports", i),
        ));
    }
    if let Some(selector) = get(spec, "selector") {
        errs.extend(meta::validate_labels(Some(selector), "spec.selector"));
    }
    match str_or_empty(spec, "sessionAffinity") {
        "" => errs.push(FieldError::required("spec.sessionAffinity", "")),
        "ClientIP" => errs.extend(validate_client_ip_affinity(spec)),
        "None" => {
            if get(spec, "sessionAffinityConfig").is_some() {
                errs.push(FieldError::forbidden(
                    "spec.sessionAffinityConfig",
                    "must not be set when session affinity is None",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            &json!(other),
            &["ClientIP", "None"],
        )),
    }
    errs.extend(validate_ip_families(spec));
    for (i, ip) in arr(spec, "externalIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        errs.extend(validate_ip(ip, &index("spec.externalIPs", i)));
    }
    if service_type.is_empty() {
        errs.push(FieldError::required("spec.type", ""));
    } else if !SERVICE_TYPES.contains(&service_type) {
        errs.push(FieldError::not_supported(
            "spec.type",
            &json!(service_type),
            SERVICE_TYPES,
        ));
    }
    errs.extend(validate_node_ports(spec, service_type));
    errs.extend(validate_duplicate_ports(ports));
    errs.extend(validate_traffic_policies(spec));
    errs
}

fn validate_type_specific(spec: &Value, service_type: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match service_type {
        "LoadBalancer" | "NodePort" if primary_cluster_ip(spec) == "None" => {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                &json!("None"),
                format!("may not be set to 'None' for {service_type} services"),
            ));
        }
        "ExternalName" => {
            if !arr(spec, "clusterIPs").is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.clusterIPs",
                    "may not be set for ExternalName services",
                ));
            }
            if !arr(spec, "ipFamilies").is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilies",
                    "may not be set for ExternalName services",
                ));
            }
            if get(spec, "ipFamilyPolicy").is_some() {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            let cname = str_or_empty(spec, "externalName");
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                errs.extend(invalid_each(
                    "spec.externalName",
                    cname,
                    names::dns1123_subdomain(cname),
                ));
            }
        }
        _ => {}
    }
    errs
}

fn validate_service_port(
    port: &Value,
    require_name: bool,
    seen: &mut BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_or_empty(port, "name");
    let name_path = child(path, "name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else if !name.is_empty() {
        errs.extend(invalid_each(&name_path, name, names::dns1123_label(name)));
        if !seen.insert(name.to_string()) {
            errs.push(FieldError::duplicate(&name_path, &json!(name)));
        }
    }
    errs.extend(port_number_errors(
        int_at(port, "port").unwrap_or(0),
        &child(path, "port"),
    ));
    errs.extend(validate_protocol(
        str_or_empty(port, "protocol"),
        &child(path, "protocol"),
    ));
    errs.extend(validate_port_num_or_name(
        get(port, "targetPort"),
        &child(path, "targetPort"),
    ));
    if let Some(app_protocol) = str_at(port, "appProtocol") {
        errs.extend(invalid_each(
            child(path, "appProtocol"),
            app_protocol,
            names::qualified_name(app_protocol),
        ));
    }
    errs
}

fn validate_client_ip_affinity(spec: &Value) -> Vec<FieldError> {
    const WHEN: &str = "when session affinity type is ClientIP";
    let path = "spec.sessionAffinityConfig";
    let Some(config) = get(spec, "sessionAffinityConfig") else {
        return vec![FieldError::required(path, WHEN)];
    };
    let Some(client_ip) = get(config, "clientIP") else {
        return vec![FieldError::required(format!("{path}.clientIP"), WHEN)];
    };
    let timeout_path = format!("{path}.clientIP.timeoutSeconds");
    match int_at(client_ip, "timeoutSeconds") {
        None => vec![FieldError::required(timeout_path, WHEN)],
        Some(t) if !(1..=86400).contains(&t) => vec![FieldError::invalid(
            timeout_path,
            &json!(t),
            "must be greater than 0 and less than 86400",
        )],
        Some(_) => Vec::new(),
    }
}

fn validate_ip_families(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(policy) = str_at(spec, "ipFamilyPolicy")
        && !["SingleStack", "PreferDualStack", "RequireDualStack"].contains(&policy)
    {
        errs.push(FieldError::not_supported(
            "spec.ipFamilyPolicy",
            &json!(policy),
            &["PreferDualStack", "RequireDualStack", "SingleStack"],
        ));
    }
    for (i, family) in arr(spec, "ipFamilies").iter().enumerate() {
        let family = family.as_str().unwrap_or("");
        if family != "IPv4" && family != "IPv6" {
            errs.push(FieldError::not_supported(
                index("spec.ipFamilies", i),
                &json!(family),
                &["IPv4", "IPv6"],
            ));
        }
    }
    errs
}

fn validate_node_ports(spec: &Value, service_type: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ports = arr(spec, "ports");
    if service_type == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if int_at(port, "nodePort").unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    format!("spec.ports[{i}].nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let node_port = int_at(port, "nodePort").unwrap_or(0);
        if node_port == 0 {
            continue;
        }
        let path = format!("spec.ports[{i}].nodePort");
        if !seen.insert((str_or_empty(port, "protocol"), node_port)) {
            errs.push(FieldError::duplicate(&path, &json!(node_port)));
        }
        if service_type != "ClusterIP"
            && !(NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(&node_port)
        {
            errs.push(FieldError::invalid(
                &path,
                &json!(node_port),
                format!(
                    "provided port is not in the valid range. The range of valid ports is {}-{}",
                    NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                ),
            ));
        }
    }
    errs
}

fn validate_duplicate_ports(ports: &[Value]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let protocol = str_or_empty(port, "protocol");
        let number = int_at(port, "port").unwrap_or(0);
        if !seen.insert((protocol, number)) {
            let rendered = format!(
                "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{number}, TargetPort:{}, NodePort:0}}",
                go_quote(protocol),
                go_int_or_string(None)
            );
            errs.push(duplicate_rendered(index("spec.ports", i), &rendered));
        }
    }
    errs
}

fn validate_traffic_policies(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let external = str_or_empty(spec, "externalTrafficPolicy");
    if externally_accessible(spec) {
        if external.is_empty() {
            errs.push(FieldError::required("spec.externalTrafficPolicy", ""));
        } else if external != "Cluster" && external != "Local" {
            errs.push(FieldError::not_supported(
                "spec.externalTrafficPolicy",
                &json!(external),
                &["Cluster", "Local"],
            ));
        }
    }
    let needs_health_check = str_or_empty(spec, "type") == "LoadBalancer" && external == "Local";
    if let Some(port) = int_at(spec, "healthCheckNodePort").filter(|p| *p != 0)
        && !needs_health_check
    {
        errs.push(FieldError::invalid(
            "spec.healthCheckNodePort",
            &json!(port),
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ));
    }
    if let Some(internal) = str_at(spec, "internalTrafficPolicy")
        && internal != "Cluster"
        && internal != "Local"
    {
        errs.push(FieldError::not_supported(
            "spec.internalTrafficPolicy",
            &json!(internal),
            &["Cluster", "Local"],
        ));
    }
    errs
}

/// A legacy IP field: parses, and is not a special address.
fn validate_ip(ip: &str, path: &str) -> Vec<FieldError> {
    match names::parse_ip(ip) {
        None => vec![FieldError::invalid(
            path,
            &json!(ip),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        )],
        Some(parsed) => non_special_ip(ip, parsed, path),
    }
}

/// `ValidateNonSpecialIP`.
fn non_special_ip(ip: &str, parsed: IpAddr, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (unspecified, loopback, link_local, link_local_multicast) = match parsed {
        IpAddr::V4(v4) => (
            v4.is_unspecified(),
            v4.is_loopback(),
            v4.is_link_local(),
            v4.octets()[..3] == [224, 0, 0],
        ),
        IpAddr::V6(v6) => (
            v6.is_unspecified(),
            v6.is_loopback(),
            v6.segments()[0] & 0xffc0 == 0xfe80,
            v6.segments()[0] & 0xff0f == 0xff02,
        ),
    };
    if unspecified {
        errs.push(FieldError::invalid(
            path,
            &json!(ip),
            format!("may not be unspecified ({ip})"),
        ));
    }
    if loopback {
        errs.push(FieldError::invalid(
            path,
            &json!(ip),
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    if link_local {
        errs.push(FieldError::invalid(
            path,
            &json!(ip),
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    if link_local_multicast {
        errs.push(FieldError::invalid(
            path,
            &json!(ip),
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

/// Endpoints (core/v1).
pub fn validate_endpoints(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        None => meta::validate_object_meta(obj, true, NameRule::Subdomain),
        Some(old) => meta::validate_object_meta_update(obj, old),
    };
    for (i, subset) in arr(obj, "subsets").iter().enumerate() {
        let path = index("subsets", i);
        let addresses = arr(subset, "addresses");
        let not_ready = arr(subset, "notReadyAddresses");
        if addresses.is_empty() && not_ready.is_empty() {
            errs.push(FieldError::required(
                &path,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (field, list) in [("addresses", addresses), ("notReadyAddresses", not_ready)] {
            for (j, address) in list.iter().enumerate() {
                errs.extend(validate_endpoint_address(
                    address,
                    &index(&child(&path, field), j),
                ));
            }
        }
        let ports = arr(subset, "ports");
        for (j, port) in ports.iter().enumerate() {
            errs.extend(validate_endpoint_port(
                port,
                ports.len() > 1,
                &index(&child(&path, "ports"), j),
            ));
        }
    }
    errs
}

fn validate_endpoint_address(address: &Value, path: &str) -> Vec<FieldError> {
    let ip_path = child(path, "ip");
    let ip = str_or_empty(address, "ip");
    let parsed = names::parse_ip(ip);
    let mut errs = Vec::new();
    if parsed.is_none() {
        errs.push(FieldError::invalid(
            &ip_path,
            &json!(ip),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
    let hostname = str_or_empty(address, "hostname");
    if !hostname.is_empty() {
        errs.extend(invalid_each(
            child(path, "hostname"),
            hostname,
            names::dns1123_label(hostname),
        ));
    }
    if let Some(node) = str_at(address, "nodeName") {
        errs.extend(invalid_each(
            child(path, "nodeName"),
            node,
            names::dns1123_subdomain(node),
        ));
    }
    if let Some(parsed) = parsed {
        errs.extend(non_special_ip(ip, parsed, &ip_path));
    }
    errs
}

fn validate_endpoint_port(port: &Value, require_name: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_or_empty(port, "name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(child(path, "name"), ""));
    } else if !name.is_empty() {
        errs.extend(invalid_each(
            child(path, "name"),
            name,
            names::dns1123_label(name),
        ));
    }
    errs.extend(port_number_errors(
        int_at(port, "port").unwrap_or(0),
        &child(path, "port"),
    ));
    errs.extend(validate_protocol(
        str_or_empty(port, "protocol"),
        &child(path, "protocol"),
    ));
    errs
}

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
const MAX_ENDPOINT_ADDRESSES: usize = 100;

/// EndpointSlice (discovery.k8s.io/v1).
pub fn validate_endpoint_slice(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        None => meta::validate_object_meta(obj, true, NameRule::Subdomain),
        Some(old) => meta::validate_object_meta_update(obj, old),
    };
    let address_type = str_or_empty(obj, "addressType");
    for (i, endpoint) in arr(obj, "endpoints").iter().enumerate() {
        errs.extend(validate_slice_endpoint(
            endpoint,
            address_type,
            &index("endpoints", i),
        ));
    }
    let mut names_seen = BTreeSet::new();
    for (i, port) in arr(obj, "ports").iter().enumerate() {
        let path = index("ports", i);
        let name = str_or_empty(port, "name");
        if !name.is_empty() {
            errs.extend(invalid_each(
                child(&path, "name"),
                name,
                names::dns1123_label(name),
            ));
        }
        if !names_seen.insert(name) {
            errs.push(FieldError::duplicate(child(&path, "name"), &json!(name)));
        }
        match str_at(port, "protocol") {
            None => errs.push(FieldError::required(child(&path, "protocol"), "")),
            Some(p) => errs.extend(validate_protocol(p, &child(&path, "protocol"))),
        }
    }
    if address_type.is_empty() {
        errs.push(FieldError::required("addressType", ""));
    } else if !ADDRESS_TYPES.contains(&address_type) {
        errs.push(FieldError::not_supported(
            "addressType",
            &json!(address_type),
            ADDRESS_TYPES,
        ));
    }
    if let Some(old) = old
        && str_or_empty(old, "addressType") != address_type
    {
        errs.push(FieldError::invalid(
            "addressType",
            &json!(address_type),
            meta::IMMUTABLE,
        ));
    }
    errs
}

fn validate_slice_endpoint(endpoint: &Value, address_type: &str, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let addresses_path = child(path, "addresses");
    let addresses = arr(endpoint, "addresses");
    if addresses.is_empty() {
        errs.push(FieldError::required(
            &addresses_path,
            "must contain at least 1 address",
        ));
    } else if addresses.len() > MAX_ENDPOINT_ADDRESSES {
        errs.push(FieldError {
            reason: "FieldValueTooMany",
            field: addresses_path.clone(),
            message: format!(
                "Too many: {}: must have at most {MAX_ENDPOINT_ADDRESSES} items",
                addresses.len()
            ),
        });
        return errs;
    }
    for (i, address) in addresses.iter().enumerate() {
        let address = address.as_str().unwrap_or("");
        let address_path = index(&addresses_path, i);
        let parsed = names::parse_ip(address);
        match address_type {
            "IPv4" if !matches!(parsed, Some(IpAddr::V4(_))) => errs.push(FieldError::invalid(
                address_path,
                &json!(address),
                "must be a valid IPv4 address",
            )),
            "IPv6" if !matches!(parsed, Some(IpAddr::V6(_))) => errs.push(FieldError::invalid(
                address_path,
                &json!(address),
                "must be a valid IPv6 address",
            )),
            "FQDN" => errs.extend(validate_fqdn(address, &address_path)),
            _ => {}
        }
    }
    if let Some(hostname) = str_at(endpoint, "hostname") {
        errs.extend(invalid_each(
            child(path, "hostname"),
            hostname,
            names::dns1123_label(hostname),
        ));
    }
    errs
}

/// `IsFullyQualifiedDomainName`.
fn validate_fqdn(name: &str, path: &str) -> Vec<FieldError> {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let errs = names::dns1123_subdomain(name);
    if !errs.is_empty() {
        return vec![FieldError::invalid(path, &json!(name), errs.join(","))];
    }
    if name.split('.').count() < 2 {
        return vec![FieldError::invalid(
            path,
            &json!(name),
            "should be a domain with at least two segments separated by dots",
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::strategy::validation::lines;

    fn service(spec: Value) -> Value {
        let mut full = json!({"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"});
        for (k, v) in spec.as_object().unwrap() {
            full[k] = v.clone();
        }
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": full})
    }

    fn port(n: i64) -> Value {
        json!({"port": n, "protocol": "TCP", "targetPort": n})
    }

    #[test]
    fn service_rules() {
        assert!(validate_service(&service(json!({"ports": [port(80)]})), None).is_empty());
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!({}), vec!["spec.ports: Required value"]),
            (json!({"clusterIP": "None"}), vec![]),
            (
                json!({"ports": [port(0)]}),
                vec![
                    "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                    "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
                ],
            ),
            (
                json!({"ports": [port(80), port(443)]}),
                vec![
                    "spec.ports[0].name: Required value",
                    "spec.ports[1].name: Required value",
                ],
            ),
            (
                json!({"ports": [{"name": "a", "port": 80, "protocol": "TCP", "targetPort": 80}, {"name": "a", "port": 81, "protocol": "TCP", "targetPort": 81}]}),
                vec!["spec.ports[1].name: Duplicate value: \"a\""],
            ),
            (
                json!({"ports": [{"port": 80, "protocol": "ICMP", "targetPort": 80}]}),
                vec![
                    "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ],
            ),
            (
                json!({"type": "Magic", "ports": [port(80)]}),
                vec![
                    "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                ],
            ),
            (
                json!({"selector": {"app": "-"}, "ports": [port(80)]}),
                vec![
                    "spec.selector: Invalid value: \"-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ],
            ),
            (
                json!({"type": "NodePort", "externalTrafficPolicy": "Cluster", "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 80}]}),
                vec![
                    "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
                ],
            ),
            (
                json!({"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30080}]}),
                vec![
                    "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
                ],
            ),
            (
                json!({"type": "ExternalName", "externalName": "", "internalTrafficPolicy": null}),
                vec!["spec.externalName: Required value"],
            ),
            (
                json!({"type": "NodePort", "ports": [port(80)]}),
                vec!["spec.externalTrafficPolicy: Required value"],
            ),
            (
                json!({"sessionAffinity": "Sticky", "ports": [port(80)]}),
                vec![
                    "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"",
                ],
            ),
            (
                json!({"ports": [{"name": "a", "port": 80, "protocol": "TCP", "targetPort": 80}, {"name": "b", "port": 80, "protocol": "TCP", "targetPort": 81}]}),
                vec![
                    "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
                ],
            ),
            (
                json!({"externalIPs": ["127.0.0.1"], "externalTrafficPolicy": "Cluster", "ports": [port(80)]}),
                vec![
                    "spec.externalIPs[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                ],
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(
                lines(&validate_service(&service(spec.clone()), None)),
                want,
                "{spec}"
            );
        }
        let mut bad_name = service(json!({"ports": [port(80)]}));
        bad_name["metadata"]["name"] = json!("1web");
        assert_eq!(
            validate_service(&bad_name, None)[0].message,
            "Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        );
    }

    #[test]
    fn cluster_ip_is_immutable() {
        let old = service(
            json!({"clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"], "ports": [port(80)]}),
        );
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.0.0.6");
        new["spec"]["clusterIPs"] = json!(["10.0.0.6"]);
        assert_eq!(
            lines(&validate_service(&new, Some(&old))),
            vec![
                "spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.6\"}: may not change once set"
            ]
        );
        let mut kept = old.clone();
        kept["spec"].as_object_mut().unwrap().remove("clusterIP");
        kept["spec"].as_object_mut().unwrap().remove("clusterIPs");
        assert!(validate_service(&kept, Some(&old)).is_empty());
    }

    #[test]
    fn endpoints_rules() {
        let ep = json!({"metadata": {"name": "web", "namespace": "default"}, "subsets": [
            {"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80, "protocol": "TCP"}]},
            {"ports": [{"name": "a", "port": 0, "protocol": "TCP"}, {"port": 1, "protocol": "TCP"}]},
            {"addresses": [{"ip": "nope"}, {"ip": "169.254.1.1"}]}
        ]});
        assert_eq!(
            lines(&validate_endpoints(&ep, None)),
            vec![
                "subsets[1]: Required value: must specify `addresses` or `notReadyAddresses`",
                "subsets[1].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "subsets[1].ports[1].name: Required value",
                "subsets[2].addresses[0].ip: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "subsets[2].addresses[1].ip: Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
            ]
        );
    }

    #[test]
    fn endpoint_slice_rules() {
        let slice = json!({"metadata": {"name": "web-1", "namespace": "default"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["fe80::1"]}, {"addresses": []}],
            "ports": [{"name": "", "port": 80, "protocol": "TCP"}, {"name": "", "port": 81, "protocol": "TCP"}]});
        assert_eq!(
            lines(&validate_endpoint_slice(&slice, None)),
            vec![
                "endpoints[1].addresses[0]: Invalid value: \"fe80::1\": must be a valid IPv4 address",
                "endpoints[2].addresses: Required value: must contain at least 1 address",
                "ports[1].name: Duplicate value: \"\"",
            ]
        );
        let mut bad = slice.clone();
        bad["addressType"] = json!("IPX");
        bad["endpoints"] = json!([]);
        bad["ports"] = json!([]);
        assert_eq!(
            lines(&validate_endpoint_slice(&bad, None)),
            vec![
                "addressType: Unsupported value: \"IPX\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
            ]
        );
    }
}
