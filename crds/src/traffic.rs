//! `TrafficPolicy`: classes of traffic, their priorities and guarantees,
//! the thresholds (with hysteresis) that trigger steering, and the paths
//! traffic may take, for the steering controller to keep critical traffic
//! whole when a link fills up.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reference::NAME_PATTERN;

/// Classes of traffic with priorities and guaranteed bandwidth, thresholds
/// with hysteresis, and the primary and backup paths between site pairs.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "TrafficPolicy",
    plural = "trafficpolicies",
    shortname = "tp",
    category = "mars",
    namespaced,
    status = "TrafficPolicyStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "TrafficPolicy declares classes of traffic (by workload, app label, port or DSCP) with priorities and guaranteed bandwidth, per-link and per-class thresholds with hysteresis, and the primary and backup paths between site pairs. When a threshold is crossed the steering controller moves lower-priority classes to backup paths (make-before-break) so critical traffic keeps its bandwidth, and records each decision in status; it asks a human only when no safe plan exists.",
    printcolumn(
        name = "Mode",
        type_ = "string",
        json_path = ".spec.mode",
        description = "automatic or advisory"
    ),
    printcolumn(
        name = "Classes",
        type_ = "string",
        json_path = ".spec.classes[*].name",
        priority = 1,
        description = "Traffic classes, highest priority first"
    ),
    printcolumn(
        name = "Steering",
        type_ = "integer",
        json_path = ".status.activeDecisions",
        description = "Steering decisions in force"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicySpec {
    /// `automatic` (steer and report) or `advisory` (only report what would
    /// be steered, as Events and status). Defaults to `automatic`.
    #[serde(default)]
    pub mode: SteeringMode,
    /// Traffic classes. Names are unique; a flow belongs to the first class
    /// it matches, highest `priority` first.
    #[schemars(length(min = 1, max = 32))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub classes: Vec<TrafficClass>,
    /// When to steer. A threshold is raised when utilisation stays at or
    /// above `raisePercent` for `holdSeconds`, and cleared (traffic moved
    /// back) only when it stays below `clearPercent` for `holdSeconds`.
    #[schemars(length(min = 1, max = 128))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub thresholds: Vec<Threshold>,
    /// Paths between site pairs: the primary and the backups traffic may be
    /// moved to, in order of preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub paths: Vec<PathSet>,
    /// Move at most this many classes per minute, so a burst does not
    /// reshuffle the network. Defaults to 5.
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_moves_per_minute: i32,
}

fn five() -> i32 {
    5
}

/// Whether the steering controller acts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum SteeringMode {
    /// Steer and report.
    #[default]
    Automatic,
    /// Only report what would be steered.
    Advisory,
}

/// A class of traffic.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficClass {
    /// Class name, e.g. `trading`, `video-conference`, `backup`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub name: String,
    /// 0 (lowest) to 7 (highest), like 802.1p. Higher classes keep their
    /// path; lower ones are moved to backups first.
    #[schemars(range(min = 0, max = 7))]
    pub priority: i32,
    /// Which flows belong to the class.
    #[serde(rename = "match")]
    pub matcher: TrafficMatch,
    /// Bandwidth reserved for the class on every link of its path, in
    /// Mbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000000))]
    pub guaranteed_mbps: Option<i64>,
    /// DSCP value (0-63) to mark the class with at the WAN edge, e.g. `46`
    /// (EF) for voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 63))]
    pub mark_dscp: Option<i32>,
    /// May the controller move this class to a backup path? Defaults to
    /// true; set false for traffic that must never change path (e.g.
    /// latency-sensitive replication).
    #[serde(default = "enabled")]
    pub steerable: bool,
}

fn enabled() -> bool {
    true
}

/// Which flows belong to a class; a flow matches when it matches any
/// listed criterion.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("has(self.workloads) || has(self.apps) || has(self.ports) || has(self.dscp)").message("a match needs at least one of workloads, apps, ports or dscp")
)]
#[serde(rename_all = "camelCase")]
pub struct TrafficMatch {
    /// Workloads in this namespace whose traffic belongs to the class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 64),
        inner(length(max = 253), pattern(NAME_PATTERN))
    )]
    pub workloads: Option<Vec<String>>,
    /// Values of the `app.kubernetes.io/name` (or `app`) Pod label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), inner(length(max = 63)))]
    pub apps: Option<Vec<String>>,
    /// Destination ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub ports: Option<Vec<PortMatch>>,
    /// DSCP values (0-63) already marked on the packets, e.g. `46` for EF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), inner(range(min = 0, max = 63)))]
    pub dscp: Option<Vec<i32>>,
}

/// A destination port (or range).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("!has(self.endPort) || self.endPort >= self.port").message("endPort must be at least port").field_path(".endPort")
)]
#[serde(rename_all = "camelCase")]
pub struct PortMatch {
    /// Port number, 1-65535.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Last port of a range, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub end_port: Option<i32>,
    /// `TCP` (the default), `UDP` or `SCTP`.
    #[serde(default)]
    pub protocol: Protocol,
}

/// Transport protocol, spelled as in Kubernetes Services.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schemars(description = "")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// A utilisation threshold with hysteresis.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.clearPercent < self.raisePercent").message("clearPercent must be below raisePercent, or the threshold would flap").field_path(".clearPercent")
)]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    /// Threshold name, e.g. `wan-congestion`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub name: String,
    /// Link the threshold watches; omitted means every link on a path of
    /// this policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253), pattern(NAME_PATTERN))]
    pub link: Option<String>,
    /// Measure only this class's traffic (per-application threshold);
    /// omitted means all traffic on the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), pattern(NAME_PATTERN))]
    pub class: Option<String>,
    /// Raise when utilisation, in percent of link capacity, is at or above
    /// this (0-100], e.g. `80`.
    #[schemars(range(min = 1.0, max = 100.0))]
    pub raise_percent: f64,
    /// Clear when utilisation falls below this, percent of link capacity;
    /// must be below `raisePercent`, e.g. `60`.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub clear_percent: f64,
    /// How long the condition must hold before raising or clearing, in
    /// seconds (0-3600). Defaults to 60.
    #[serde(default = "sixty")]
    #[schemars(range(min = 0, max = 3600))]
    pub hold_seconds: i32,
}

fn sixty() -> i32 {
    60
}

/// The primary and backup paths between two sites.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.from != self.to").message("a path must connect two different sites").field_path(".to")
)]
#[serde(rename_all = "camelCase")]
pub struct PathSet {
    /// Path name, e.g. `bj-sh`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub name: String,
    /// Site traffic leaves from.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub from: String,
    /// Site traffic goes to (paths are used in both directions).
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub to: String,
    /// The normal path.
    pub primary: Path,
    /// Alternatives in order of preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub backups: Vec<Path>,
    /// Classes that may be moved to the backups; omitted means every
    /// steerable class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), inner(length(max = 63), pattern(NAME_PATTERN)))]
    pub classes: Option<Vec<String>>,
}

/// A path: Links in order from `from` to `to`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Path {
    /// Link names, hop by hop.
    #[schemars(
        length(min = 1, max = 8),
        inner(length(max = 253), pattern(NAME_PATTERN))
    )]
    pub links: Vec<String>,
}

/// What the steering controller is doing, for operators and the big screen.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicyStatus {
    /// Number of decisions in `decisions`, for printing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_decisions: Option<i32>,
    /// Steering decisions in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<SteeringDecision>,
    /// Thresholds currently raised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raised: Vec<RaisedThreshold>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Ready` (policy accepted and programmed),
    /// `Steering` (traffic is off its primary path), `NoSafePlan` (a
    /// threshold is raised but nothing can be moved; a human is told).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// One class moved off its primary path.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SteeringDecision {
    /// The class that was moved.
    pub class: String,
    /// The path set (`spec.paths[].name`).
    pub path: String,
    /// Links the class left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_links: Vec<String>,
    /// Links the class now uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_links: Vec<String>,
    /// The threshold that caused the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    /// Why, in words, e.g. `lk-bj-sh-fiber-1 at 91% for 60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the move took effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}

/// A threshold currently raised.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RaisedThreshold {
    /// Threshold name.
    pub threshold: String,
    /// Link it was raised on.
    pub link: String,
    /// Utilisation when raised, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// When it was raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}
