//! `Workload`: an application placed across sites, the unit the global
//! scheduler places, rolls out in waves and fails over.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reference::NAME_PATTERN;

/// An application placed across sites: what to run (a pod template), where
/// and how many, how important it is, what it must achieve, how to roll it
/// out and how to fail it over.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "Workload",
    plural = "workloads",
    shortname = "wl",
    category = "mars",
    namespaced,
    status = "WorkloadStatus",
    derive = "PartialEq",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "Workload is an application placed across Sites: a pod template, replicas exact per site or spread over a minimum number of sites, a priority, objectives (p99 latency, availability), rollout waves with observation windows and automatic rollback, and a failover policy. The global scheduler expands it into per-site Deployments and reports per-site readiness in status.",
    printcolumn(
        name = "Priority",
        type_ = "string",
        json_path = ".spec.priority",
        description = "critical, high, normal or low"
    ),
    printcolumn(
        name = "Placement",
        type_ = "string",
        json_path = ".spec.placement.mode",
        description = "perSite or spread"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.replicas",
        description = "Replicas wanted across all sites"
    ),
    printcolumn(
        name = "Ready",
        type_ = "integer",
        json_path = ".status.readyReplicas",
        description = "Ready replicas across all sites"
    ),
    printcolumn(
        name = "Sites",
        type_ = "integer",
        json_path = ".status.readySites",
        description = "Sites with at least one ready replica"
    ),
    printcolumn(
        name = "P99-SLO",
        type_ = "integer",
        json_path = ".spec.objectives.latencyP99Ms",
        priority = 1,
        description = "Latency objective, p99 in ms"
    ),
    printcolumn(
        name = "Wave",
        type_ = "string",
        json_path = ".status.rollout.currentWave",
        priority = 1,
        description = "Rollout wave in progress"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.placement.mode != 'spread' || has(self.replicas)").message("spread placement needs spec.replicas (the total across sites)").field_path(".replicas"),
    validation = Rule::new("self.placement.mode != 'perSite' || !has(self.replicas)").message("spec.replicas is only for spread placement; with perSite the counts come from placement.perSite").field_path(".replicas"),
    validation = Rule::new("self.placement.mode != 'spread' || !has(self.replicas) || !has(self.placement.minSites) || self.replicas >= self.placement.minSites").message("spread placement needs at least one replica per site: replicas must be >= placement.minSites").field_path(".replicas")
)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// Pods to run, exactly as in a Deployment's `spec.template`. Validated
    /// as a PodTemplateSpec by the scheduler when it creates the per-site
    /// Deployments (kept opaque here to keep the CRD small).
    #[schemars(schema_with = "crate::schema::preserved_object")]
    pub template: PodTemplateSpec,
    /// Total replicas across all sites, for `spread` placement. Must be
    /// omitted for `perSite` placement. `kubectl scale` sets this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub replicas: Option<i32>,
    /// Where the replicas go.
    pub placement: Placement,
    /// Importance under pressure: `critical` work is never preempted,
    /// `high` preempts `normal` and `low`, `low` is degraded or evicted
    /// first. Defaults to `normal`.
    #[serde(default)]
    pub priority: WorkloadPriority,
    /// What the application must achieve; the scheduler, rollout and
    /// remediation verify against these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<Objectives>,
    /// How a new template reaches the sites. Omitted means all sites at once
    /// with a rolling update per site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// What happens when a site fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<Failover>,
}

/// Where a workload's replicas go.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.mode != 'perSite' || (has(self.perSite) && size(self.perSite) >= (has(self.minSites) ? self.minSites : 1))").message("perSite placement must name at least minSites sites in placement.perSite").field_path(".perSite"),
    validation = Rule::new("self.mode != 'spread' || !has(self.perSite)").message("placement.perSite is only for perSite placement").field_path(".perSite"),
    validation = Rule::new("!has(self.sites) || !has(self.minSites) || size(self.sites) >= self.minSites").message("placement.sites allows fewer sites than minSites").field_path(".sites")
)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// `perSite`: exactly the counts in `perSite`. `spread`: `spec.replicas`
    /// spread over at least `minSites` sites chosen by capacity, latency,
    /// cost and priority.
    pub mode: PlacementMode,
    /// Site name → replicas at that site, for `perSite` mode, e.g.
    /// `{bj-yizhuang: 6, sh-jinqiao: 6}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::replicas_per_site")]
    pub per_site: Option<BTreeMap<String, i32>>,
    /// Minimum number of distinct sites with ready replicas, 1-64; 2 or more
    /// keeps the service up when a whole datacenter fails. Defaults to 1.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 64))]
    pub min_sites: i32,
    /// Sites the scheduler may use; omitted means every schedulable site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 63), pattern(NAME_PATTERN)))]
    pub sites: Option<Vec<String>>,
    /// Sites the scheduler must not use (e.g. for data residency).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 63), pattern(NAME_PATTERN)))]
    pub avoid_sites: Vec<String>,
    /// Which sites to prefer among the allowed ones: `latency` (closest to
    /// `nearSites`), `cost` (cheapest capacity and links) or `balanced`
    /// (the default).
    #[serde(default)]
    pub prefer: PlacementPreference,
    /// Sites where the users or dependencies are, used by `prefer: latency`,
    /// e.g. the offices that call this service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 63), pattern(NAME_PATTERN)))]
    pub near_sites: Vec<String>,
}

fn one() -> i32 {
    1
}

/// How replicas are distributed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(description = "")]
pub enum PlacementMode {
    /// Exact counts per site.
    PerSite,
    /// A total spread over at least minSites sites.
    Spread,
}

/// What placement optimises for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(description = "")]
pub enum PlacementPreference {
    /// Closest to nearSites.
    Latency,
    /// Cheapest.
    Cost,
    /// A weighted mix of latency, cost and free capacity.
    #[default]
    Balanced,
}

/// Importance of a workload under resource pressure.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum WorkloadPriority {
    /// Never preempted.
    Critical,
    /// Preempts normal and low.
    High,
    /// The default.
    #[default]
    Normal,
    /// Degraded or evicted first.
    Low,
}

/// Service objectives of a workload.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Objectives {
    /// 99th-percentile response time in milliseconds, e.g. `200`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600000))]
    pub latency_p99_ms: Option<i32>,
    /// Availability over 30 days in percent, e.g. `99.95`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub availability_percent: Option<f64>,
    /// Maximum time to recover from a site failure, in seconds, e.g. `30`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub recovery_time_seconds: Option<i32>,
}

/// Staged rollout of a new template.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// Waves in order; each waits for the previous one to be ready and
    /// observed healthy. Sites in no wave are updated last.
    #[schemars(length(min = 1, max = 20))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub waves: Vec<Wave>,
    /// Roll the updated sites back to the previous template when an
    /// objective is breached during an observation window. Defaults to true.
    #[serde(default = "enabled")]
    pub auto_rollback: bool,
}

fn enabled() -> bool {
    true
}

/// One rollout wave.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Wave {
    /// Wave name, e.g. `canary`, `south`, `rest`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub name: String,
    /// Sites updated in this wave.
    #[schemars(
        length(min = 1, max = 64),
        inner(length(max = 63), pattern(NAME_PATTERN))
    )]
    pub sites: Vec<String>,
    /// Observation window after the wave is ready, in seconds (0-86400),
    /// before the next wave starts; objectives are checked throughout.
    #[serde(default)]
    #[schemars(range(min = 0, max = 86400))]
    pub pause_seconds: i32,
}

/// Behaviour when a site fails.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Failover {
    /// `automatic` (move replicas to healthy sites), `manual` (open a Case
    /// and wait) or `none` (stay put). Defaults to `automatic`.
    #[serde(default)]
    pub mode: FailoverMode,
    /// How long a site must stay down before replicas move, in seconds
    /// (5-3600), so a WAN blip does not cause flapping. Defaults to 15.
    #[serde(default = "detection_seconds")]
    #[schemars(range(min = 5, max = 3600))]
    pub detection_seconds: i32,
    /// Sites to fail over to, in order of preference; omitted means the
    /// scheduler chooses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 63), pattern(NAME_PATTERN)))]
    pub target_sites: Vec<String>,
}

fn detection_seconds() -> i32 {
    15
}

/// Failover behaviour.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum FailoverMode {
    /// Move replicas to healthy sites.
    #[default]
    Automatic,
    /// Open a Case and wait for a human.
    Manual,
    /// Stay put.
    None,
}

/// Observed state of a workload, written by the global scheduler.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    /// Replicas wanted across all sites (the scale subresource reads this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Ready replicas across all sites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Sites with at least one ready replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_sites: Option<i32>,
    /// Label selector of the workload's Pods in string form, for the scale
    /// subresource and HorizontalPodAutoscalers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Per-site placement and readiness.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["site".into()]))]
    pub sites: Vec<SiteReplicas>,
    /// Progress of the current rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Available` (objectives met, minSites ready),
    /// `Progressing` (a rollout is under way), `Degraded` (fewer sites or
    /// replicas than asked), `FailedOver`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Replicas of a workload at one site.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteReplicas {
    /// Site name.
    pub site: String,
    /// Replicas placed at the site.
    pub desired: i32,
    /// Replicas ready at the site.
    pub ready: i32,
    /// Template revision running at the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// Progress of a rollout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// Name of the wave being updated or observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_wave: Option<String>,
    /// Template revision being rolled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// When the current wave's observation window ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe_until: Option<Time>,
    /// True when the rollout was rolled back after breaching an objective.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolled_back: bool,
}
