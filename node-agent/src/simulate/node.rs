//! The Node and Lease objects of simulated nodes (pure).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;

use super::Simulation;
use super::ipam::{self, Block};

/// Annotation that stops a node's heartbeat (Lease renewals, status and pod
/// updates) while it is `stopped`.
pub const HEARTBEAT_ANNOTATION: &str = "sim.mars.io/heartbeat";
pub const HEARTBEAT_STOPPED: &str = "stopped";
pub const SIMULATED_LABEL: &str = "mars.io/simulated";
pub const SITE_LABEL: &str = "mars.io/site";
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
pub const KUBELET_VERSION: &str = "v1.33.0-mars";

/// One simulated node's fixed facts.
#[derive(Debug, Clone)]
pub struct NodePlan {
    pub index: usize,
    pub name: String,
    pub zone: String,
    pub pod_block: Block,
    pub host_ip: Ipv4Addr,
}

/// Name of the `i`th zone of `region`: `{region}-a` … `{region}-z`, then
/// `{region}-z26` ….
pub fn zone_name(region: &str, i: usize) -> String {
    match u8::try_from(i) {
        Ok(n) if n < 26 => format!("{region}-{}", char::from(b'a' + n)),
        _ => format!("{region}-z{i}"),
    }
}

/// The nodes a simulation runs.
pub fn plan(sim: &Simulation) -> Vec<NodePlan> {
    let base = sim
        .cidr_base
        .unwrap_or_else(|| ipam::block_base(&sim.site, &sim.prefix));
    let zones = sim.zones.max(1);
    (0..sim.nodes)
        .map(|index| NodePlan {
            index,
            name: if sim.nodes == 1 && sim.single_name {
                sim.prefix.clone()
            } else {
                format!("{}-{index}", sim.prefix)
            },
            zone: zone_name(&sim.region, index % zones),
            pod_block: ipam::pod_block(base, index),
            host_ip: ipam::host_ip(&sim.site, &sim.prefix, index),
        })
        .collect()
}

/// The labels the agent sets on a node.
pub fn labels(sim: &Simulation, node: &NodePlan) -> BTreeMap<String, String> {
    [
        ("kubernetes.io/hostname", node.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("node.kubernetes.io/instance-type", "sim"),
        ("topology.kubernetes.io/region", sim.region.as_str()),
        ("topology.kubernetes.io/zone", node.zone.as_str()),
        (SITE_LABEL, sim.site.as_str()),
        (SIMULATED_LABEL, "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The Node to create (metadata and spec; status is written separately
/// through `nodes/status`).
pub fn node_object(sim: &Simulation, node: &NodePlan) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(node.name.clone()),
            labels: Some(labels(sim, node)),
            annotations: Some(BTreeMap::from([(
                "node.alpha.kubernetes.io/ttl".to_owned(),
                "0".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(node.pod_block.cidr()),
            pod_cidrs: Some(vec![node.pod_block.cidr()]),
            ..NodeSpec::default()
        }),
        status: Some(node_status(sim, node, Timestamp::now(), Timestamp::now())),
    }
}

fn resources(sim: &Simulation) -> BTreeMap<String, Quantity> {
    [
        ("cpu", sim.cpu.clone()),
        ("memory", sim.memory.clone()),
        ("pods", sim.pods.to_string()),
        ("ephemeral-storage", "100Gi".to_owned()),
        ("hugepages-1Gi", "0".to_owned()),
        ("hugepages-2Mi", "0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Quantity(v)))
    .collect()
}

fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    heartbeat: Timestamp,
    transition: Timestamp,
) -> NodeCondition {
    NodeCondition {
        type_: kind.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(Time(heartbeat)),
        last_transition_time: Some(Time(transition)),
    }
}

/// The node's status: capacity, conditions (Ready and no pressure),
/// addresses, nodeInfo, daemonEndpoints. `heartbeat` is the conditions'
/// lastHeartbeatTime, `transition` their lastTransitionTime.
pub fn node_status(
    sim: &Simulation,
    node: &NodePlan,
    heartbeat: Timestamp,
    transition: Timestamp,
) -> NodeStatus {
    let id = format!("{:016x}", ipam::stable_hash(&[&sim.site, &node.name]));
    let boot = format!(
        "{:016x}",
        ipam::stable_hash(&["boot", &sim.site, &node.name])
    );
    NodeStatus {
        capacity: Some(resources(sim)),
        allocatable: Some(resources(sim)),
        conditions: Some(vec![
            condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
                heartbeat,
                transition,
            ),
            condition(
                "DiskPressure",
                "False",
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
                heartbeat,
                transition,
            ),
            condition(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
                heartbeat,
                transition,
            ),
            condition(
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
                heartbeat,
                transition,
            ),
        ]),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".to_owned(),
                address: node.host_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".to_owned(),
                address: node.name.clone(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: "amd64".to_owned(),
            boot_id: format!("{boot}{id}"),
            container_runtime_version: "sim://1.0".to_owned(),
            kernel_version: "6.1.0-sim".to_owned(),
            kube_proxy_version: String::new(),
            kubelet_version: KUBELET_VERSION.to_owned(),
            machine_id: format!("{id}{id}"),
            operating_system: "linux".to_owned(),
            os_image: "Mars simulated node".to_owned(),
            swap: None,
            system_uuid: format!(
                "{}-{}-{}-{}-{}",
                &id[0..8],
                &id[8..12],
                &id[12..16],
                &boot[0..4],
                &boot[4..16]
            ),
        }),
        ..NodeStatus::default()
    }
}

/// The node's Lease in `kube-node-lease`, owned by the node when its uid is
/// known (as the kubelet does, so deleting the node deletes the Lease).
pub fn lease_object(sim: &Simulation, name: &str, node_uid: Option<&str>, now: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(LEASE_NAMESPACE.to_owned()),
            owner_references: node_uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".to_owned(),
                    kind: "Node".to_owned(),
                    name: name.to_owned(),
                    uid: uid.to_owned(),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        },
        spec: Some(lease_spec(sim, name, now)),
    }
}

pub fn lease_spec(sim: &Simulation, name: &str, now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(name.to_owned()),
        lease_duration_seconds: Some(sim.lease_duration_seconds),
        renew_time: Some(MicroTime(now)),
        ..LeaseSpec::default()
    }
}

/// Whether a node's annotations stop its heartbeat.
pub fn heartbeat_stopped(node: &Node) -> bool {
    node.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HEARTBEAT_ANNOTATION))
        .is_some_and(|v| v == HEARTBEAT_STOPPED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> Simulation {
        Simulation {
            nodes: 4,
            site: "bj-yizhuang".into(),
            prefix: "bj".into(),
            region: "north".into(),
            zones: 3,
            ..Simulation::default()
        }
    }

    #[test]
    fn plan_names_zones_and_cidrs() {
        let plan = plan(&sim());
        let names: Vec<_> = plan.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["bj-0", "bj-1", "bj-2", "bj-3"]);
        let zones: Vec<_> = plan.iter().map(|n| n.zone.as_str()).collect();
        assert_eq!(zones, ["north-a", "north-b", "north-c", "north-a"]);
        assert_ne!(plan[0].pod_block, plan[1].pod_block);
        assert_ne!(plan[0].host_ip, plan[1].host_ip);
        let single = Simulation {
            nodes: 1,
            single_name: true,
            prefix: "edge".into(),
            cidr_base: Some(7),
            ..Simulation::default()
        };
        let plan = super::plan(&single);
        assert_eq!(plan[0].name, "edge");
        assert_eq!(plan[0].pod_block.cidr(), "10.244.7.0/24");
        assert_eq!(zone_name("r", 27), "r-z27");
    }

    #[test]
    fn node_object_has_labels_cidr_and_ready_status() {
        let sim = sim();
        let plan = plan(&sim);
        let node = node_object(&sim, &plan[1]);
        let labels = node.metadata.labels.unwrap_or_default();
        assert_eq!(labels["kubernetes.io/hostname"], "bj-1");
        assert_eq!(labels["topology.kubernetes.io/zone"], "north-b");
        assert_eq!(labels["topology.kubernetes.io/region"], "north");
        assert_eq!(labels["mars.io/site"], "bj-yizhuang");
        assert_eq!(labels["mars.io/simulated"], "true");
        assert_eq!(labels["node.kubernetes.io/instance-type"], "sim");
        let spec = node.spec.unwrap_or_default();
        assert_eq!(spec.pod_cidr, Some(plan[1].pod_block.cidr()));
        let status = node.status.unwrap_or_default();
        let conditions = status.conditions.unwrap_or_default();
        let ready = conditions.iter().find(|c| c.type_ == "Ready");
        assert_eq!(ready.map(|c| c.status.as_str()), Some("True"));
        assert_eq!(
            ready.and_then(|c| c.reason.as_deref()),
            Some("KubeletReady")
        );
        for kind in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            let c = conditions.iter().find(|c| c.type_ == kind);
            assert_eq!(c.map(|c| c.status.as_str()), Some("False"), "{kind}");
        }
        let capacity = status.capacity.unwrap_or_default();
        assert_eq!(capacity["cpu"].0, "16");
        assert_eq!(capacity["pods"].0, "110");
        let addresses = status.addresses.unwrap_or_default();
        assert_eq!(addresses[0].type_, "InternalIP");
        assert_eq!(addresses[0].address, plan[1].host_ip.to_string());
        let info = status.node_info.unwrap_or_default();
        assert_eq!(info.kubelet_version, "v1.33.0-mars");
        assert_eq!(info.container_runtime_version, "sim://1.0");
        // Serializes as the API expects.
        let json = serde_json::to_value(&status.daemon_endpoints).unwrap_or_default();
        assert_eq!(json["kubeletEndpoint"]["Port"], 10250);
    }

    #[test]
    fn lease_is_held_by_the_node() {
        let lease = lease_object(&sim(), "bj-0", Some("uid-1"), Timestamp::now());
        let spec = lease.spec.unwrap_or_default();
        assert_eq!(spec.holder_identity.as_deref(), Some("bj-0"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        assert!(spec.renew_time.is_some());
        assert_eq!(lease.metadata.namespace.as_deref(), Some("kube-node-lease"));
        let owners = lease.metadata.owner_references.unwrap_or_default();
        assert_eq!(owners[0].kind, "Node");
    }

    #[test]
    fn heartbeat_annotation() {
        let mut node = Node::default();
        assert!(!heartbeat_stopped(&node));
        node.metadata.annotations = Some(BTreeMap::from([(
            HEARTBEAT_ANNOTATION.to_owned(),
            "stopped".to_owned(),
        )]));
        assert!(heartbeat_stopped(&node));
    }
}
