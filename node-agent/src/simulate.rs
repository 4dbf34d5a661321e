//! Simulated nodes: `mars agent --simulate N --site S` registers N Nodes,
//! renews their Leases and makes the pods bound to them Running and Ready
//! with realistic status, so the whole pipeline (scheduler → node → pod
//! Running) runs and scales on one machine without a container runtime.
//!
//! # What a simulated node does
//! - **Registers** its Node (create, or update labels of an existing one):
//!   labels `kubernetes.io/hostname|os|arch`,
//!   `node.kubernetes.io/instance-type=sim`, `topology.kubernetes.io/region`
//!   and `zone` (nodes spread round-robin over `{region}-a`, `{region}-b` …),
//!   `mars.io/site`, `mars.io/simulated=true`; `spec.podCIDR` a /24 from
//!   10.244.0.0/16 starting at a block picked by a hash of site and prefix
//!   (or [`Simulation::cidr_base`]), continuing into 10.245.0.0/16 … for
//!   more than 256 nodes; status (capacity, Ready and no-pressure
//!   conditions, InternalIP in 172.16.0.0/12, Hostname, nodeInfo,
//!   daemonEndpoints) written through `nodes/status`. Like the kubelet,
//!   a node deleted while the agent runs is not registered again (its Lease
//!   keeps being renewed); restart the agent to register it.
//! - **Heartbeats** like the kubelet: renews its Lease in `kube-node-lease`
//!   every [`Simulation::renew_interval`] and refreshes the conditions'
//!   lastHeartbeatTime every [`Simulation::status_report_interval`].
//!   One task drives all leases: each interval is cut into up to 10 slots,
//!   each renewing its share of the nodes; all API writes go through one
//!   semaphore of [`Simulation::max_concurrent_writes`].
//! - **Heartbeat control**: annotate a node `sim.mars.io/heartbeat=stopped`
//!   and it stops renewing its Lease, posting status and updating its pods
//!   (as a dead kubelet would) until the annotation is removed or changed;
//!   then it renews at once and posts Ready again. To stop a whole site,
//!   annotate all its nodes (`kubectl annotate nodes -l mars.io/site=S
//!   sim.mars.io/heartbeat=stopped`).
//! - **Runs pods**: one watch (`spec.nodeName!=`, filtered to the simulated
//!   nodes) sees bound pods; after a delay between
//!   [`Simulation::pod_start_delay_min`] and `max` a pod gets, through
//!   `pods/status`: phase Running, its conditions, hostIP, a podIP unique in
//!   the node's podCIDR (freed when the pod finishes or goes), startTime and
//!   container statuses (`sim://` image and container IDs). After an agent
//!   restart, pods already Running keep their IPs. Init containers
//!   show terminated/Completed. A readinessProbe keeps the pod not Ready for
//!   its initialDelaySeconds, at most [`Simulation::readiness_delay_cap`].
//! - **Finishes pods**: annotation `sim.mars.io/exit-after-seconds: "N"`
//!   makes the containers exit N seconds (fractions allowed) after start;
//!   without it, Job pods (label `job-name` or `batch.kubernetes.io/job-name`)
//!   with restartPolicy Never or OnFailure exit after 1 s.
//!   `sim.mars.io/exit-code` (default 0) picks the exit code: 0 → Succeeded,
//!   other → Failed (reason Error). Containers never restart, whatever the
//!   restartPolicy.
//! - **Deletes pods**: a pod with a deletionTimestamp is given
//!   min(its grace period, [`Simulation::deletion_grace_cap`]) (2 s by
//!   default, so tests stay fast), its containers are marked terminated and
//!   it is deleted with gracePeriodSeconds=0, as the kubelet does.

mod driver;
pub mod ipam;
pub mod node;
pub mod pod;

use std::time::Duration;

pub use node::{HEARTBEAT_ANNOTATION, HEARTBEAT_STOPPED};
pub use pod::{EXIT_AFTER_ANNOTATION, EXIT_CODE_ANNOTATION};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// How many nodes.
    pub nodes: usize,
    /// The site, e.g. "bj-yizhuang": label `mars.io/site`.
    pub site: String,
    /// Node names are `{prefix}-{i}` (i from 0), or exactly `prefix` when
    /// `nodes == 1` and `single_name` is set.
    pub prefix: String,
    pub single_name: bool,
    /// `topology.kubernetes.io/region`, e.g. "north".
    pub region: String,
    /// Nodes spread over zones `{region}-a`, `{region}-b` …
    pub zones: usize,
    /// Capacity and allocatable, e.g. "16", "64Gi", 110.
    pub cpu: String,
    pub memory: String,
    pub pods: u32,
    /// Lease duration (40 s as kubelet).
    pub lease_duration_seconds: i32,
    /// Lease renew interval (10 s as kubelet).
    pub renew_interval: Duration,
    /// How often the Ready condition's lastHeartbeatTime is refreshed
    /// (5 min as kubelet).
    pub status_report_interval: Duration,
    /// First /24 block of the pod CIDRs (0 = 10.244.0.0/24); by default
    /// derived from a hash of site and prefix.
    pub cidr_base: Option<u32>,
    /// A bound pod turns Running after a delay in this range.
    pub pod_start_delay_min: Duration,
    pub pod_start_delay_max: Duration,
    /// Upper bound of the readinessProbe initial delay honoured.
    pub readiness_delay_cap: Duration,
    /// Upper bound of the deletion grace period honoured.
    pub deletion_grace_cap: Duration,
    /// Concurrent API writes (all nodes and pods together).
    pub max_concurrent_writes: usize,
}

impl Default for Simulation {
    fn default() -> Self {
        Self {
            nodes: 1,
            site: "local".to_owned(),
            prefix: "sim".to_owned(),
            single_name: false,
            region: "local".to_owned(),
            zones: 1,
            cpu: "16".to_owned(),
            memory: "64Gi".to_owned(),
            pods: 110,
            lease_duration_seconds: 40,
            renew_interval: Duration::from_secs(10),
            status_report_interval: Duration::from_secs(300),
            cidr_base: None,
            pod_start_delay_min: Duration::from_millis(50),
            pod_start_delay_max: Duration::from_millis(200),
            readiness_delay_cap: Duration::from_secs(10),
            deletion_grace_cap: Duration::from_secs(2),
            max_concurrent_writes: 32,
        }
    }
}

/// Runs the simulated nodes until the future is dropped.
pub async fn run(client: kube::Client, simulation: Simulation) {
    driver::run(client, simulation).await;
}
