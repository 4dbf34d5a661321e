//! `Link`: a network connection between two sites, the edge of the fleet
//! graph that traffic steering, placement (latency, cost) and root-cause
//! analysis reason about.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reference::NAME_PATTERN;

/// A connection between two sites. Links are bidirectional; a backup path is
/// another Link between the same pair with `role: backup`.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "Link",
    plural = "links",
    shortname = "lk",
    category = "mars",
    status = "LinkStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "Link is a network connection between two Sites (fiber, leased line, MPLS, VPN, internet or SD-WAN) with its contracted capacity and cost and its observed utilisation, latency, jitter, loss and state. Links are bidirectional and cluster-scoped; a backup path is another Link between the same pair with role backup.",
    printcolumn(
        name = "From",
        type_ = "string",
        json_path = ".spec.from",
        description = "Site at one end"
    ),
    printcolumn(
        name = "To",
        type_ = "string",
        json_path = ".spec.to",
        description = "Site at the other end"
    ),
    printcolumn(
        name = "Type",
        type_ = "string",
        json_path = ".spec.type",
        description = "fiber, leased-line, mpls, vpn, internet or sd-wan"
    ),
    printcolumn(
        name = "Role",
        type_ = "string",
        json_path = ".spec.role",
        priority = 1,
        description = "primary or backup"
    ),
    printcolumn(
        name = "Carrier",
        type_ = "string",
        json_path = ".spec.carrier",
        priority = 1,
        description = "Carrier providing the circuit"
    ),
    printcolumn(
        name = "Capacity",
        type_ = "integer",
        json_path = ".spec.capacityMbps",
        description = "Contracted capacity in Mbit/s"
    ),
    printcolumn(
        name = "Util",
        type_ = "number",
        json_path = ".status.utilizationPercent",
        description = "Observed utilisation, percent of capacity (busier direction)"
    ),
    printcolumn(
        name = "Latency",
        type_ = "number",
        json_path = ".status.latencyMs",
        description = "Observed round-trip latency in milliseconds"
    ),
    printcolumn(
        name = "Jitter",
        type_ = "number",
        json_path = ".status.jitterMs",
        priority = 1,
        description = "Observed jitter in milliseconds"
    ),
    printcolumn(
        name = "Loss",
        type_ = "number",
        json_path = ".status.lossPercent",
        description = "Observed packet loss in percent"
    ),
    printcolumn(
        name = "State",
        type_ = "string",
        json_path = ".status.state",
        description = "up, degraded or down"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.from != self.to").message("a Link must connect two different sites: from and to are equal").field_path(".to")
)]
#[serde(rename_all = "camelCase")]
pub struct LinkSpec {
    /// Name of the Site at one end, e.g. `bj-yizhuang`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub from: String,
    /// Name of the Site at the other end; must differ from `from`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub to: String,
    /// Transport: `fiber` (own or leased dark fiber/DWDM wavelength),
    /// `leased-line` (carrier point-to-point circuit, e.g. SDH/MSTP),
    /// `mpls` (carrier MPLS VPN), `vpn` (IPsec over the internet),
    /// `internet` (plain internet transit) or `sd-wan` (overlay across
    /// several underlays).
    #[serde(rename = "type")]
    pub link_type: LinkType,
    /// Whether traffic uses this link normally (`primary`) or only when a
    /// primary is congested or down (`backup`).
    #[serde(default)]
    pub role: LinkRole,
    /// Contracted capacity in megabits per second (each direction), e.g.
    /// `100000` for 100 Gbit/s.
    #[schemars(range(min = 1, max = 100000000))]
    pub capacity_mbps: i64,
    /// Carrier or provider of the circuit, e.g. `china-telecom`,
    /// `china-unicom`, `china-mobile`, `cernet` or `self-built`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub carrier: Option<String>,
    /// Carrier's circuit identifier, quoted when calling the carrier's NOC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub circuit_id: Option<String>,
    /// What the link costs; placement and steering prefer cheaper paths
    /// when objectives allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<LinkCost>,
    /// What the carrier contracted to deliver; breaches raise alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<LinkSla>,
}

/// Transport technology of a link.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(description = "")]
pub enum LinkType {
    /// Own or leased dark fiber / DWDM wavelength.
    Fiber,
    /// Carrier point-to-point circuit.
    LeasedLine,
    /// Carrier MPLS VPN.
    Mpls,
    /// IPsec over the internet.
    Vpn,
    /// Plain internet transit.
    Internet,
    /// Overlay across several underlays.
    SdWan,
}

/// How a link is used.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum LinkRole {
    /// Carries traffic normally.
    #[default]
    Primary,
    /// Carries traffic when a primary is congested or down.
    Backup,
}

/// What a link costs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkCost {
    /// Recurring fee in yuan (CNY) per month, e.g. `180000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub monthly_cny: Option<f64>,
    /// Routing metric, 1 to 65535: lower is preferred, like an IGP cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub metric: Option<i32>,
}

/// What the carrier contracted to deliver.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkSla {
    /// Maximum round-trip latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub latency_ms: Option<f64>,
    /// Maximum packet loss in percent, e.g. `0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub loss_percent: Option<f64>,
    /// Monthly availability in percent, e.g. `99.95`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub availability_percent: Option<f64>,
}

/// Observed state of a link, written by the link telemetry controller from
/// probes and interface counters (the time series stay in telemetry; this is
/// the latest summary).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct LinkStatus {
    /// `up`, `degraded` (loss, latency or errors beyond the SLA) or `down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<LinkState>,
    /// Utilisation of the busier direction over the last minute, percent of
    /// `spec.capacityMbps` (0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub utilization_percent: Option<f64>,
    /// Traffic in the from→to direction, Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub forward_mbps: Option<f64>,
    /// Traffic in the to→from direction, Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub reverse_mbps: Option<f64>,
    /// Round-trip latency in milliseconds (median of the last minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub latency_ms: Option<f64>,
    /// Jitter (mean deviation of latency) in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub jitter_ms: Option<f64>,
    /// Packet loss in percent (0-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub loss_percent: Option<f64>,
    /// When these figures were measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_observed: Option<Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Ready` (up and within SLA), `Congested` (above
    /// a TrafficPolicy threshold), `Steered` (traffic moved off or onto it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Operational state of a link.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum LinkState {
    /// Carrying traffic within its SLA.
    Up,
    /// Carrying traffic with loss, latency or errors beyond its SLA.
    Degraded,
    /// Not carrying traffic.
    Down,
}
