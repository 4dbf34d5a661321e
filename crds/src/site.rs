//! `Site`: a datacenter, office or edge location, the unit the scheduler
//! places workloads on and the big screen draws on the map.

use k8s_openapi::apimachinery::pkg::{
    api::resource::Quantity,
    apis::meta::v1::{Condition, Time},
};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A datacenter, office or edge location of the fleet: where it is, what it
/// is, and how much it can run. Cluster-scoped; Links, Devices, Nodes and
/// Workload placements refer to it by name.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "Site",
    plural = "sites",
    shortname = "st",
    category = "mars",
    status = "SiteStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    attr = "x_kube(crates(kube_core = \"::kube_core\"))",
    doc = "Site is a datacenter, office or edge location of the fleet: its city, coordinates, kind, capacity and observed health. Sites are cluster-scoped; Links, Devices, Nodes and Workload placements refer to them by name.",
    validation = Rule::new("size(self.metadata.name) <= 63").message("a Site name is used as the topology.mars.io/site label value, so it must be at most 63 characters"),
    printcolumn(name = "City", type_ = "string", json_path = ".spec.city", description = "City the site is in"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.kind", description = "datacenter, office or edge"),
    printcolumn(name = "Region", type_ = "string", json_path = ".spec.region", priority = 1, description = "Geographic region of China"),
    printcolumn(name = "Health", type_ = "string", json_path = ".status.health", description = "Observed health: normal, degraded or down"),
    printcolumn(name = "Nodes", type_ = "string", json_path = ".status.nodes.summary", priority = 1, description = "Ready/total nodes"),
    printcolumn(name = "Lat", type_ = "number", json_path = ".spec.location.latitude", priority = 1, description = "Latitude (WGS-84)"),
    printcolumn(name = "Lon", type_ = "number", json_path = ".spec.location.longitude", priority = 1, description = "Longitude (WGS-84)"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("!has(self.tier) || self.kind == 'datacenter'").message("tier applies only to sites of kind datacenter").field_path(".tier")
)]
#[serde(rename_all = "camelCase")]
pub struct SiteSpec {
    /// Human-readable name shown on the big screen, usually Chinese, e.g.
    /// `北京亦庄数据中心`. Defaults to the object name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub display_name: Option<String>,
    /// What the site is: `datacenter` (runs workloads at scale), `office`
    /// (people, branch network, a few local services) or `edge` (small
    /// footprint close to users, e.g. a CDN or factory point of presence).
    pub kind: SiteKind,
    /// City the site is in, in pinyin or Chinese, e.g. `Beijing` or `北京`.
    #[schemars(length(min = 1, max = 64))]
    pub city: String,
    /// Province, autonomous region or municipality, e.g. `Guangdong`,
    /// `Inner Mongolia`, `Shanghai`.
    #[schemars(length(min = 1, max = 64))]
    pub province: String,
    /// Geographic region of China, used for spreading replicas across
    /// regions and for grouping on the big screen: north (华北), northeast
    /// (东北), east (华东), central (华中), south (华南), southwest (西南),
    /// northwest (西北).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// Where the site is on the map.
    pub location: Coordinates,
    /// Data center tier per the Uptime Institute, 1 (basic) to 4 (fault
    /// tolerant). Only for sites of kind `datacenter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4))]
    pub tier: Option<i32>,
    /// What the site can run; the scheduler never places more than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<SiteCapacity>,
    /// BGP autonomous system number of the site's network, e.g. `64512`
    /// (private ASNs are 64512-65534 and 4200000000-4294967294).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4294967295_i64))]
    pub asn: Option<i64>,
    /// When true the scheduler places no new replicas here (maintenance,
    /// decommissioning); running replicas stay until moved. Like
    /// `kubectl cordon` for a whole site.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unschedulable: bool,
}

/// What a site is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum SiteKind {
    /// Runs workloads at scale.
    Datacenter,
    /// Hosts people, a branch network and a few local services.
    Office,
    /// A small footprint close to users.
    Edge,
}

/// The seven geographic regions of China.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum Region {
    /// 华北: Beijing, Tianjin, Hebei, Shanxi, Inner Mongolia.
    North,
    /// 东北: Liaoning, Jilin, Heilongjiang.
    Northeast,
    /// 华东: Shanghai, Jiangsu, Zhejiang, Anhui, Fujian, Jiangxi, Shandong.
    East,
    /// 华中: Henan, Hubei, Hunan.
    Central,
    /// 华南: Guangdong, Guangxi, Hainan, Hong Kong, Macao.
    South,
    /// 西南: Chongqing, Sichuan, Guizhou, Yunnan, Tibet.
    Southwest,
    /// 西北: Shaanxi, Gansu, Qinghai, Ningxia, Xinjiang.
    Northwest,
}

/// A point on the earth.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Coordinates {
    /// Latitude in decimal degrees, WGS-84 (GPS; not GCJ-02), -90 to 90,
    /// north positive, e.g. `39.9042` for Beijing.
    #[schemars(range(min = -90.0, max = 90.0))]
    pub latitude: f64,
    /// Longitude in decimal degrees, WGS-84 (GPS; not GCJ-02), -180 to 180,
    /// east positive, e.g. `116.4074` for Beijing.
    #[schemars(range(min = -180.0, max = 180.0))]
    pub longitude: f64,
}

/// What a site can run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteCapacity {
    /// Total CPU for workloads, as a Kubernetes quantity in cores, e.g.
    /// `12000` or `500m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Quantity>,
    /// Total memory for workloads, as a Kubernetes quantity, e.g. `96Ti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// Maximum number of Pods the site may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000000))]
    pub pods: Option<i32>,
    /// Contracted IT power in kilowatts, e.g. `4800` for a 4.8 MW hall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1000000.0))]
    pub power_kw: Option<f64>,
}

/// Observed state of a site, written by the site-health controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct SiteStatus {
    /// Overall health as seen from several vantage points: `normal`,
    /// `degraded` (partly reachable or short of capacity) or `down`
    /// (unreachable from a majority of vantage points; workloads fail over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<SiteHealth>,
    /// Nodes registered at the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeCount>,
    /// Share of capacity in use, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<SiteUsage>,
    /// When a vantage point last reached the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Ready` (reachable and healthy) and
    /// `CapacityPressure` (above 85 % of a capacity dimension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Health of a site.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum SiteHealth {
    /// Reachable and within capacity.
    Normal,
    /// Partly reachable or short of capacity.
    Degraded,
    /// Unreachable; workloads fail over.
    Down,
}

/// Ready and total nodes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeCount {
    /// Nodes whose Ready condition is True.
    pub ready: i32,
    /// All nodes registered with this site.
    pub total: i32,
    /// `ready/total`, e.g. `118/120`, for printing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// Share of a site's capacity in use.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteUsage {
    /// CPU requested by running Pods, percent of capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Memory requested by running Pods, percent of capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_percent: Option<f64>,
    /// Running Pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<i32>,
}
