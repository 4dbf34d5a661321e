//! `Device`: a router, switch, firewall, load balancer or gateway, with the
//! configuration intent the device controller renders into vendor-native
//! commands and the health and drift it observes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reference::{NAME_PATTERN, SecretRef};

/// IPv4 prefix in CIDR notation, e.g. `10.12.0.1/31`.
const IPV4_CIDR: &str = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$";
/// IPv4 or IPv6 address without prefix length.
const IP_ADDRESS: &str = r"^(([0-9]{1,3}\.){3}[0-9]{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$";
/// IPv4 or IPv6 prefix in CIDR notation.
const IP_CIDR: &str =
    r"^(([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*/[0-9]{1,3})$";

/// A network device of the fleet and its declared configuration intent.
/// Cluster-scoped, like the Site it sits in.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "Device",
    plural = "devices",
    shortname = "dev",
    category = "mars",
    status = "DeviceStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "Device is a router, switch, firewall, load balancer or gateway at a Site: vendor, model, OS version, management address, a reference to its credentials Secret and its declared configuration intent (interfaces, VLANs, routing). The device controller renders the intent into vendor-native commands, pushes them with the device's own commit-confirm or checkpoint, verifies, and reports health, interface counters and configuration drift in status. Cluster-scoped.",
    printcolumn(
        name = "Site",
        type_ = "string",
        json_path = ".spec.site",
        description = "Site the device is in"
    ),
    printcolumn(
        name = "Role",
        type_ = "string",
        json_path = ".spec.role",
        description = "Network role"
    ),
    printcolumn(
        name = "Vendor",
        type_ = "string",
        json_path = ".spec.vendor",
        description = "Manufacturer"
    ),
    printcolumn(
        name = "Model",
        type_ = "string",
        json_path = ".spec.model",
        description = "Hardware model"
    ),
    printcolumn(
        name = "OS",
        type_ = "string",
        json_path = ".spec.osVersion",
        priority = 1,
        description = "Operating system version"
    ),
    printcolumn(
        name = "Address",
        type_ = "string",
        json_path = ".spec.managementAddress",
        priority = 1,
        description = "Management address"
    ),
    printcolumn(
        name = "Health",
        type_ = "string",
        json_path = ".status.health",
        description = "normal, warning or fault"
    ),
    printcolumn(
        name = "Drift",
        type_ = "boolean",
        json_path = ".status.drift.detected",
        description = "Running configuration differs from intent"
    ),
    printcolumn(
        name = "Last-Sync",
        type_ = "date",
        json_path = ".status.lastSync",
        priority = 1,
        description = "When intent was last applied or verified"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("!has(self.os) || !(self.vendor in ['huawei', 'h3c', 'juniper', 'arista']) || {'huawei': 'vrp', 'h3c': 'comware', 'juniper': 'junos', 'arista': 'eos'}[self.vendor] == self.os").message("os does not match vendor: huawei runs vrp, h3c comware, juniper junos, arista eos").field_path(".os"),
    validation = Rule::new("!has(self.os) || self.vendor != 'cisco' || self.os in ['ios', 'ios-xe', 'ios-xr', 'nx-os']").message("a cisco device runs ios, ios-xe, ios-xr or nx-os").field_path(".os")
)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSpec {
    /// Name of the Site the device is installed in.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub site: String,
    /// Network role, which decides the configuration templates and how
    /// failures are ranked: `core`, `aggregation`, `access`, `spine`, `leaf`,
    /// `border` (internet or peering edge), `wan-edge` (terminates Links),
    /// `firewall`, `load-balancer`, `gateway` or `wireless-controller`.
    pub role: DeviceRole,
    /// Manufacturer: `huawei`, `h3c`, `cisco`, `juniper`, `arista`,
    /// `ruijie`, `zte`, `fortinet`, `paloalto`, `f5`, `sangfor` or
    /// `hillstone`.
    pub vendor: Vendor,
    /// Hardware model as the vendor names it, e.g. `CE6881-48S6CQ`,
    /// `S6850-56HF`, `N9K-C93180YC-FX`, `MX204`, `DCS-7280CR3-32P4`.
    #[schemars(length(min = 1, max = 64))]
    pub model: String,
    /// Operating system family. Omitted means the vendor's usual one (vrp for
    /// huawei, comware for h3c, junos for juniper, eos for arista); required
    /// in practice for cisco, whose families differ in syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<DeviceOs>,
    /// Operating system version as the device reports it, e.g.
    /// `V200R022C00SPC500`, `7.1.070 Release 6710`, `10.3(4a)`, `22.4R3`,
    /// `4.31.2F`. Selects the command knowledge base.
    #[schemars(length(min = 1, max = 64))]
    pub os_version: String,
    /// Address the controller connects to: IPv4, IPv6 or DNS name.
    #[schemars(length(min = 1, max = 253))]
    pub management_address: String,
    /// SSH (or NETCONF) port; defaults to 22.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub management_port: Option<i32>,
    /// Secret with the login (`username`, `password` or `privateKey`, and
    /// optionally `enablePassword`). Only the device controller may read it.
    pub credentials_ref: SecretRef,
    /// Vendor serial number, for RMA and inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub serial_number: Option<String>,
    /// Declared configuration. Parts left out are not managed: the
    /// controller neither changes nor reports drift on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<DeviceIntent>,
    /// When true the controller observes and reports drift but pushes
    /// nothing (e.g. during a vendor maintenance window).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

/// Network role of a device.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(description = "")]
pub enum DeviceRole {
    /// Core router or switch.
    Core,
    /// Aggregation (distribution) switch.
    Aggregation,
    /// Access switch.
    Access,
    /// Data center spine.
    Spine,
    /// Data center leaf.
    Leaf,
    /// Internet or peering edge.
    Border,
    /// Router terminating WAN Links.
    WanEdge,
    /// Firewall.
    Firewall,
    /// Load balancer.
    LoadBalancer,
    /// Office or VPN gateway.
    Gateway,
    /// Wireless LAN controller.
    WirelessController,
}

/// Device manufacturer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum Vendor {
    /// Huawei (VRP).
    Huawei,
    /// New H3C (Comware).
    H3c,
    /// Cisco (IOS, IOS-XE, IOS-XR, NX-OS).
    Cisco,
    /// Juniper (Junos).
    Juniper,
    /// Arista (EOS).
    Arista,
    /// Ruijie (RGOS).
    Ruijie,
    /// ZTE (ZXROS).
    Zte,
    /// Fortinet (FortiOS).
    Fortinet,
    /// Palo Alto Networks (PAN-OS).
    Paloalto,
    /// F5 (TMOS).
    F5,
    /// Sangfor.
    Sangfor,
    /// Hillstone (StoneOS).
    Hillstone,
}

/// Operating system family of a device.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(description = "")]
pub enum DeviceOs {
    /// Huawei Versatile Routing Platform.
    Vrp,
    /// H3C Comware.
    Comware,
    /// Cisco IOS.
    Ios,
    /// Cisco IOS XE.
    IosXe,
    /// Cisco IOS XR.
    IosXr,
    /// Cisco NX-OS.
    NxOs,
    /// Juniper Junos.
    Junos,
    /// Arista EOS.
    Eos,
    /// Ruijie RGOS.
    Rgos,
    /// Fortinet FortiOS.
    Fortios,
    /// Palo Alto PAN-OS.
    PanOs,
    /// F5 TMOS.
    Tmos,
    /// Anything else; command rendering falls back to learned syntax.
    Other,
}

/// Declared configuration of a device, vendor-neutral.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct DeviceIntent {
    /// Hostname (sysname) to configure, e.g. `BJYZ-DC1-CORE-01`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub hostname: Option<String>,
    /// Interfaces, by vendor-native name. Interfaces not listed are left
    /// alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1024))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub interfaces: Vec<InterfaceIntent>,
    /// VLANs that must exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4094))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["id".into()]))]
    pub vlans: Vec<VlanIntent>,
    /// Static routes and routing protocols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingIntent>,
    /// NTP servers (addresses), in order of preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8), inner(length(max = 253)))]
    pub ntp_servers: Vec<String>,
    /// Syslog collectors (addresses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8), inner(length(max = 253)))]
    pub syslog_servers: Vec<String>,
}

/// Declared state of one interface.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.mode != 'access' || has(self.accessVlan)").message("an access interface needs accessVlan").field_path(".accessVlan"),
    validation = Rule::new("self.mode == 'trunk' || !has(self.trunkVlans)").message("trunkVlans applies only to mode trunk").field_path(".trunkVlans"),
    validation = Rule::new("self.mode == 'routed' || !has(self.ipv4Address)").message("an IP address needs mode routed").field_path(".ipv4Address")
)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceIntent {
    /// Vendor-native interface name, e.g. `10GE1/0/1` (Huawei),
    /// `Ten-GigabitEthernet1/0/1` (H3C), `Ethernet1/49` (NX-OS),
    /// `xe-0/1/0` (Junos), `Ethernet1` (EOS), `Eth-Trunk10`, `Vlanif100`.
    #[schemars(length(min = 1, max = 64))]
    pub name: String,
    /// Interface description, e.g. `to SH-JQ-WAN-01 xe-0/1/0 (CT-100G-0031)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 240))]
    pub description: Option<String>,
    /// Administratively up (true, the default) or shut down (false).
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Layer-2 `access` (one untagged VLAN), layer-2 `trunk` (tagged VLANs)
    /// or layer-3 `routed` (an IP address, no switching).
    pub mode: InterfaceMode,
    /// Untagged VLAN of an access port, 1-4094.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4094))]
    pub access_vlan: Option<i32>,
    /// VLANs allowed tagged on a trunk port, each 1-4094.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4094), inner(range(min = 1, max = 4094)))]
    pub trunk_vlans: Option<Vec<i32>>,
    /// IPv4 address with prefix length of a routed interface, e.g.
    /// `10.12.0.1/31`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(IPV4_CIDR))]
    pub ipv4_address: Option<String>,
    /// MTU in bytes, 576-9216 (jumbo frames in the data center: 9000+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 576, max = 9216))]
    pub mtu: Option<i32>,
    /// Name of the link aggregation (Eth-Trunk, Bridge-Aggregation,
    /// port-channel, ae) this interface is a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub aggregate: Option<String>,
}

fn enabled() -> bool {
    true
}

/// Switching mode of an interface.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum InterfaceMode {
    /// One untagged VLAN.
    Access,
    /// Several tagged VLANs.
    Trunk,
    /// Layer 3 with an IP address.
    Routed,
}

/// A VLAN that must exist on the device.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VlanIntent {
    /// VLAN ID, 1-4094.
    #[schemars(range(min = 1, max = 4094))]
    pub id: i32,
    /// VLAN name, e.g. `prod-web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub name: Option<String>,
}

/// Routing configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingIntent {
    /// Static routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1024))]
    pub static_routes: Vec<StaticRoute>,
    /// BGP, if the device runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<BgpIntent>,
    /// OSPF, if the device runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ospf: Option<OspfIntent>,
}

/// A static route.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaticRoute {
    /// Destination prefix, e.g. `0.0.0.0/0` or `10.40.0.0/16`.
    #[schemars(pattern(IP_CIDR))]
    pub prefix: String,
    /// Next-hop address.
    #[schemars(pattern(IP_ADDRESS))]
    pub next_hop: String,
    /// Administrative distance (preference), 1-255; a higher value makes a
    /// floating backup route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 255))]
    pub distance: Option<i32>,
}

/// BGP configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct BgpIntent {
    /// Local autonomous system number.
    #[schemars(range(min = 1, max = 4294967295_i64))]
    pub asn: i64,
    /// Router ID, an IPv4 address, e.g. the loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(IP_ADDRESS))]
    pub router_id: Option<String>,
    /// Peers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 512))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["address".into()]))]
    pub neighbors: Vec<BgpNeighbor>,
    /// Prefixes to announce.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1024), inner(pattern(IP_CIDR)))]
    pub networks: Vec<String>,
}

/// A BGP peer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BgpNeighbor {
    /// Peer address.
    #[schemars(pattern(IP_ADDRESS))]
    pub address: String,
    /// Peer autonomous system number; equal to the local ASN for iBGP.
    #[schemars(range(min = 1, max = 4294967295_i64))]
    pub remote_asn: i64,
    /// Free text, e.g. `SH-JQ-WAN-01 over lk-bj-sh-fiber-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 240))]
    pub description: Option<String>,
    /// Enable BFD for sub-second failure detection.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bfd: bool,
}

/// OSPF configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OspfIntent {
    /// OSPF process ID, 1-65535.
    #[schemars(range(min = 1, max = 65535))]
    pub process_id: i32,
    /// Router ID, an IPv4 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(IP_ADDRESS))]
    pub router_id: Option<String>,
    /// Areas and the interfaces in each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub areas: Vec<OspfArea>,
}

/// An OSPF area.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OspfArea {
    /// Area ID in dotted form, e.g. `0.0.0.0` for the backbone.
    #[schemars(pattern(r"^([0-9]{1,3}\.){3}[0-9]{1,3}$"))]
    pub id: String,
    /// Interfaces (vendor-native names) in the area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1024), inner(length(max = 64)))]
    pub interfaces: Vec<String>,
}

/// Observed state of a device, written by the device controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// `normal`, `warning` (errors, high CPU or temperature, a redundant
    /// part failed) or `fault` (unreachable, or a service-affecting failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<DeviceHealth>,
    /// OS version the device reported at the last sync; differs from
    /// `spec.osVersion` during an upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_os_version: Option<String>,
    /// Seconds since the device last booted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<i64>,
    /// Interfaces and their counters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub interfaces: Vec<InterfaceStatus>,
    /// Difference between the running configuration and the intent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// When the intent was last applied or verified on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<Time>,
    /// Checkpoint or commit identifier of the last configuration Mars
    /// pushed, for rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_revision: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Reachable`, `InSync` (running configuration
    /// matches intent), `Healthy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Health of a device.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum DeviceHealth {
    /// Working normally.
    Normal,
    /// Degraded but forwarding.
    Warning,
    /// Unreachable or not forwarding.
    Fault,
}

/// Observed state and counters of one interface.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceStatus {
    /// Vendor-native interface name.
    pub name: String,
    /// Operational state: `up`, `down` or `testing`.
    pub oper_state: OperState,
    /// Administrative state: true when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_up: Option<bool>,
    /// Negotiated speed in Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<i64>,
    /// Input errors since the counters were last cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_errors: Option<i64>,
    /// Output errors since the counters were last cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_errors: Option<i64>,
    /// CRC errors since the counters were last cleared (a dirty optic or
    /// fiber when it grows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc_errors: Option<i64>,
    /// Up/down transitions in the last hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flaps: Option<i32>,
    /// When the operational state last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<Time>,
}

/// Operational state of an interface.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum OperState {
    /// Forwarding.
    Up,
    /// Not forwarding.
    Down,
    /// In a test mode.
    Testing,
}

/// Configuration drift of a device.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// True when the running configuration differs from the intent.
    pub detected: bool,
    /// Short human summary of the difference, e.g.
    /// `interface 10GE1/0/3: description changed; vlan 120 missing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub summary: Option<String>,
    /// Number of differing configuration lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_lines: Option<i32>,
    /// When the drift was first seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<Time>,
}
