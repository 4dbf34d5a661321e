//! The pure scheduling core: a cluster snapshot with incrementally kept
//! per-node aggregates, filters, scores and the placement decision.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::core::v1::{
    Container, Node, NodeSelectorTerm, Pod, PodAffinityTerm, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::quantity::{parse_milli, parse_value};

pub type Labels = BTreeMap<String, String>;

pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";
pub const ZONE_KEY: &str = "topology.kubernetes.io/zone";
const DEFAULT_CPU_MILLI: i64 = 100;
const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;

/// Requested or allocatable resources.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Resources {
    /// Millicores.
    pub cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral: i64,
    pub pods: i64,
}

impl Resources {
    fn add(&mut self, o: &Resources, sign: i64) {
        self.cpu += sign * o.cpu;
        self.memory += sign * o.memory;
        self.ephemeral += sign * o.ephemeral;
        self.pods += sign * o.pods;
    }
    fn max(&mut self, o: &Resources) {
        self.cpu = self.cpu.max(o.cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral = self.ephemeral.max(o.ephemeral);
        self.pods = self.pods.max(o.pods);
    }
    /// Reads a `resources.requests`-like map.
    pub fn from_map(
        m: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    ) -> Self {
        let sat = |v: Option<i128>| v.unwrap_or(0).clamp(0, i64::MAX as i128) as i64;
        Resources {
            cpu: sat(m.get("cpu").and_then(|q| parse_milli(&q.0))),
            memory: sat(m.get("memory").and_then(|q| parse_value(&q.0))),
            ephemeral: sat(m.get("ephemeral-storage").and_then(|q| parse_value(&q.0))),
            pods: sat(m.get("pods").and_then(|q| parse_value(&q.0))),
        }
    }
}

// ---------------------------------------------------------------- selectors

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            "Gt" => Op::Gt,
            "Lt" => Op::Lt,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
    pub values: Vec<String>,
}

impl Requirement {
    pub fn matches_value(&self, v: Option<&str>) -> bool {
        match self.op {
            Op::In => v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Op::NotIn => !v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Op::Exists => v.is_some(),
            Op::DoesNotExist => v.is_none(),
            Op::Gt | Op::Lt => {
                let (Some(v), Some(want)) = (v, self.values.first()) else {
                    return false;
                };
                let (Ok(v), Ok(want)) = (v.parse::<i64>(), want.parse::<i64>()) else {
                    return false;
                };
                if self.op == Op::Gt {
                    v > want
                } else {
                    v < want
                }
            }
        }
    }
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.key).map(String::as_str))
    }
}

/// A label selector: requirements ANDed; empty matches everything.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    /// `None` for an invalid selector (which then matches nothing).
    pub fn from_label_selector(ls: &LabelSelector) -> Option<Selector> {
        let mut reqs = Vec::new();
        for (k, v) in ls.match_labels.iter().flatten() {
            reqs.push(Requirement {
                key: k.clone(),
                op: Op::In,
                values: vec![v.clone()],
            });
        }
        for e in ls.match_expressions.iter().flatten() {
            let op = Op::parse(&e.operator).filter(|o| !matches!(o, Op::Gt | Op::Lt))?;
            let mut values = e.values.clone().unwrap_or_default();
            values.sort();
            reqs.push(Requirement {
                key: e.key.clone(),
                op,
                values,
            });
        }
        reqs.sort_by(|a, b| (&a.key, &a.values).cmp(&(&b.key, &b.values)));
        Some(Selector(reqs))
    }
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

/// One `nodeSelectorTerm`: expressions on labels and fields, ANDed.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NodeTerm {
    pub labels: Vec<Requirement>,
    pub fields: Vec<Requirement>,
    /// An unknown operator makes the term match nothing.
    pub invalid: bool,
}

impl NodeTerm {
    pub fn from_k8s(t: &NodeSelectorTerm) -> NodeTerm {
        let mut out = NodeTerm::default();
        let conv = |r: &k8s_openapi::api::core::v1::NodeSelectorRequirement| {
            Op::parse(&r.operator).map(|op| Requirement {
                key: r.key.clone(),
                op,
                values: r.values.clone().unwrap_or_default(),
            })
        };
        for r in t.match_expressions.iter().flatten() {
            match conv(r) {
                Some(r) => out.labels.push(r),
                None => out.invalid = true,
            }
        }
        for r in t.match_fields.iter().flatten() {
            match conv(r) {
                Some(r) if r.key == "metadata.name" && matches!(r.op, Op::In | Op::NotIn) => {
                    out.fields.push(r)
                }
                _ => out.invalid = true,
            }
        }
        out
    }
    /// An empty term matches no node (as in kube).
    pub fn matches(&self, node_name: &str, labels: &Labels) -> bool {
        if self.invalid || (self.labels.is_empty() && self.fields.is_empty()) {
            return false;
        }
        self.labels.iter().all(|r| r.matches(labels))
            && self.fields.iter().all(|r| r.matches_value(Some(node_name)))
    }
}

/// Which pods a term or a spread constraint counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Matcher {
    /// Pods controlled by this owner UID (the default spreading group).
    Owner(String),
    /// Pods in these namespaces (`None`: all) matching the selector.
    Labels {
        namespaces: Option<BTreeSet<String>>,
        selector: Selector,
    },
}

impl Matcher {
    pub fn matches(&self, pod: &PodInfo) -> bool {
        match self {
            Matcher::Owner(uid) => pod.owner.as_deref() == Some(uid.as_str()),
            Matcher::Labels {
                namespaces,
                selector,
            } => {
                namespaces
                    .as_ref()
                    .is_none_or(|n| n.contains(&pod.namespace))
                    && selector.matches(&pod.labels)
            }
        }
    }
}

/// A pod (anti-)affinity term.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodTerm {
    pub topology_key: String,
    pub matcher: Matcher,
}

impl PodTerm {
    /// `None` when the term can match no pod (null or invalid selector).
    fn from_k8s(t: &PodAffinityTerm, pod_ns: &str, pod_labels: &Labels) -> Option<PodTerm> {
        let mut selector = Selector::from_label_selector(t.label_selector.as_ref()?)?;
        for k in t.match_label_keys.iter().flatten() {
            if let Some(v) = pod_labels.get(k) {
                selector.0.push(Requirement {
                    key: k.clone(),
                    op: Op::In,
                    values: vec![v.clone()],
                });
            }
        }
        for k in t.mismatch_label_keys.iter().flatten() {
            if let Some(v) = pod_labels.get(k) {
                selector.0.push(Requirement {
                    key: k.clone(),
                    op: Op::NotIn,
                    values: vec![v.clone()],
                });
            }
        }
        let mut namespaces: BTreeSet<String> = t.namespaces.iter().flatten().cloned().collect();
        let all_ns = t.namespace_selector.as_ref().is_some_and(|s| {
            s.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && s.match_expressions.as_ref().is_none_or(|m| m.is_empty())
        });
        if namespaces.is_empty() && t.namespace_selector.is_none() {
            namespaces.insert(pod_ns.to_string());
        }
        Some(PodTerm {
            topology_key: t.topology_key.clone(),
            matcher: Matcher::Labels {
                namespaces: if all_ns { None } else { Some(namespaces) },
                selector,
            },
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    /// `DoNotSchedule`.
    pub hard: bool,
    pub matcher: Matcher,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub protocol: String,
    pub ip: String,
    pub port: i32,
}

impl HostPort {
    fn conflicts(&self, o: &HostPort) -> bool {
        self.port == o.port
            && self.protocol == o.protocol
            && (self.ip == o.ip || self.ip == "0.0.0.0" || o.ip == "0.0.0.0")
    }
}

// ---------------------------------------------------------------- pods

/// What the scheduler needs of a pod, computed once.
#[derive(Clone, Debug, Default)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: Labels,
    pub priority: i32,
    pub node_name: Option<String>,
    pub requests: Resources,
    /// cpu, memory with kube's defaults for zero requests (scoring only).
    pub nonzero: (i64, i64),
    pub host_ports: Vec<HostPort>,
    pub node_selector: Labels,
    /// Required node affinity terms (ORed); `None` when absent.
    pub required_node_terms: Option<Vec<NodeTerm>>,
    pub preferred_node_terms: Vec<(i32, NodeTerm)>,
    pub tolerations: Vec<Toleration>,
    /// UID of the controlling owner.
    pub owner: Option<String>,
    pub required_affinity: Vec<PodTerm>,
    /// Set when a required affinity term could not be understood: fits nowhere.
    pub unsatisfiable_affinity: bool,
    pub required_anti_affinity: Vec<PodTerm>,
    pub preferred_affinity: Vec<(i32, PodTerm)>,
    pub preferred_anti_affinity: Vec<(i32, PodTerm)>,
    pub spread: Vec<SpreadConstraint>,
}

impl PodInfo {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn from_pod(pod: &Pod) -> PodInfo {
        let md = &pod.metadata;
        let namespace = md.namespace.clone().unwrap_or_default();
        let labels = md.labels.clone().unwrap_or_default();
        let owner = md
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| o.uid.clone());
        let mut info = PodInfo {
            name: md.name.clone().unwrap_or_default(),
            uid: md.uid.clone().unwrap_or_default(),
            owner: owner.clone(),
            ..Default::default()
        };
        let Some(spec) = pod.spec.as_ref() else {
            info.namespace = namespace;
            info.labels = labels;
            return info;
        };
        info.priority = spec.priority.unwrap_or(0);
        info.node_name = spec.node_name.clone().filter(|n| !n.is_empty());
        info.requests = pod_requests(spec);
        info.nonzero = (
            if info.requests.cpu == 0 {
                DEFAULT_CPU_MILLI
            } else {
                info.requests.cpu
            },
            if info.requests.memory == 0 {
                DEFAULT_MEMORY
            } else {
                info.requests.memory
            },
        );
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for p in c.ports.iter().flatten() {
                if let Some(hp) = p.host_port.filter(|p| *p > 0) {
                    info.host_ports.push(HostPort {
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|i| !i.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".into()),
                        port: hp,
                    });
                }
            }
        }
        info.node_selector = spec.node_selector.clone().unwrap_or_default();
        info.tolerations = spec.tolerations.clone().unwrap_or_default();
        if let Some(aff) = &spec.affinity {
            if let Some(na) = &aff.node_affinity {
                if let Some(req) = &na.required_during_scheduling_ignored_during_execution {
                    info.required_node_terms = Some(
                        req.node_selector_terms
                            .iter()
                            .map(NodeTerm::from_k8s)
                            .collect(),
                    );
                }
                for p in na
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    info.preferred_node_terms
                        .push((p.weight, NodeTerm::from_k8s(&p.preference)));
                }
            }
            if let Some(pa) = &aff.pod_affinity {
                for t in pa
                    .required_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    match PodTerm::from_k8s(t, &namespace, &labels) {
                        Some(t) => info.required_affinity.push(t),
                        None => info.unsatisfiable_affinity = true,
                    }
                }
                for w in pa
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    if let Some(t) = PodTerm::from_k8s(&w.pod_affinity_term, &namespace, &labels) {
                        info.preferred_affinity.push((w.weight, t));
                    }
                }
            }
            if let Some(pa) = &aff.pod_anti_affinity {
                for t in pa
                    .required_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    if let Some(t) = PodTerm::from_k8s(t, &namespace, &labels) {
                        info.required_anti_affinity.push(t);
                    }
                }
                for w in pa
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    if let Some(t) = PodTerm::from_k8s(&w.pod_affinity_term, &namespace, &labels) {
                        info.preferred_anti_affinity.push((w.weight, t));
                    }
                }
            }
        }
        let constraints = spec
            .topology_spread_constraints
            .as_deref()
            .unwrap_or_default();
        for c in constraints {
            let Some(mut selector) = c
                .label_selector
                .as_ref()
                .and_then(Selector::from_label_selector)
            else {
                continue;
            };
            for k in c.match_label_keys.iter().flatten() {
                if let Some(v) = labels.get(k) {
                    selector.0.push(Requirement {
                        key: k.clone(),
                        op: Op::In,
                        values: vec![v.clone()],
                    });
                }
            }
            info.spread.push(SpreadConstraint {
                max_skew: c.max_skew.max(1),
                topology_key: c.topology_key.clone(),
                hard: c.when_unsatisfiable != "ScheduleAnyway",
                matcher: Matcher::Labels {
                    namespaces: Some([namespace.clone()].into()),
                    selector,
                },
            });
        }
        if constraints.is_empty()
            && let Some(uid) = owner
        {
            // kube's default constraints (system defaulting).
            for (key, skew) in [(HOSTNAME_KEY, 3), (ZONE_KEY, 5)] {
                info.spread.push(SpreadConstraint {
                    max_skew: skew,
                    topology_key: key.into(),
                    hard: false,
                    matcher: Matcher::Owner(uid.clone()),
                });
            }
        }
        info.namespace = namespace;
        info.labels = labels;
        info
    }
}

fn container_requests(c: &Container) -> Resources {
    let Some(r) = &c.resources else {
        return Resources::default();
    };
    let req = r
        .requests
        .as_ref()
        .map(Resources::from_map)
        .unwrap_or_default();
    let lim = r
        .limits
        .as_ref()
        .map(Resources::from_map)
        .unwrap_or_default();
    let has = |name: &str| r.requests.as_ref().is_some_and(|m| m.contains_key(name));
    Resources {
        cpu: if has("cpu") { req.cpu } else { lim.cpu },
        memory: if has("memory") {
            req.memory
        } else {
            lim.memory
        },
        ephemeral: if has("ephemeral-storage") {
            req.ephemeral
        } else {
            lim.ephemeral
        },
        pods: 0,
    }
}

/// Effective pod requests: containers and sidecars, init containers' peaks, overhead.
pub fn pod_requests(spec: &k8s_openapi::api::core::v1::PodSpec) -> Resources {
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&container_requests(c), 1);
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&r, 1);
            init_peak.max(&sidecars);
        } else {
            let mut p = sidecars;
            p.add(&r, 1);
            init_peak.max(&p);
        }
    }
    sum.add(&sidecars, 1);
    sum.max(&init_peak);
    if let Some(o) = &spec.overhead {
        sum.add(&Resources::from_map(o), 1);
    }
    sum.pods = 1;
    sum
}

// ---------------------------------------------------------------- nodes

#[derive(Clone, Debug, PartialEq)]
pub struct NodeTaint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeData {
    pub labels: Labels,
    pub allocatable: Resources,
    /// Includes the implicit `not-ready`/`unreachable` taint when not Ready.
    pub taints: Vec<NodeTaint>,
    pub unschedulable: bool,
}

impl NodeData {
    pub fn from_node(node: &Node) -> NodeData {
        let spec = node.spec.as_ref();
        let mut taints: Vec<NodeTaint> = spec
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t: &Taint| NodeTaint {
                key: t.key.clone(),
                value: t.value.clone().unwrap_or_default(),
                effect: t.effect.clone(),
            })
            .collect();
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.as_str());
        let implicit = match ready {
            Some("True") => None,
            Some("Unknown") => Some("node.kubernetes.io/unreachable"),
            _ => Some("node.kubernetes.io/not-ready"),
        };
        if let Some(key) = implicit
            && !taints
                .iter()
                .any(|t| t.key == key && t.effect == "NoSchedule")
        {
            taints.push(NodeTaint {
                key: key.into(),
                value: String::new(),
                effect: "NoSchedule".into(),
            });
        }
        NodeData {
            labels: node.metadata.labels.clone().unwrap_or_default(),
            allocatable: node
                .status
                .as_ref()
                .and_then(|s| s.allocatable.as_ref())
                .map(Resources::from_map)
                .unwrap_or_default(),
            taints,
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        }
    }
}

/// Does the toleration tolerate the taint?
pub fn tolerates(t: &Toleration, taint: &NodeTaint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect
    {
        return false;
    }
    let op = t.operator.as_deref().unwrap_or("Equal");
    let key = t.key.as_deref().unwrap_or("");
    if key.is_empty() {
        return op == "Exists";
    }
    if key != taint.key {
        return false;
    }
    match op {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or("") == taint.value,
        _ => false,
    }
}

/// Filter: the first untolerated NoSchedule/NoExecute taint.
pub fn untolerated_taint<'a>(
    taints: &'a [NodeTaint],
    tolerations: &[Toleration],
) -> Option<&'a NodeTaint> {
    taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

/// Filter: nodeSelector and required node affinity.
pub fn node_affinity_fits(pod: &PodInfo, node_name: &str, labels: &Labels) -> bool {
    if !pod
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    match &pod.required_node_terms {
        None => true,
        Some(terms) => terms.iter().any(|t| t.matches(node_name, labels)),
    }
}

/// Filter: resource fit; the reasons in kube's words.
pub fn insufficient(
    req: &Resources,
    requested: &Resources,
    alloc: &Resources,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if requested.pods + 1 > alloc.pods {
        out.push("Too many pods");
    }
    if req.cpu > 0 && requested.cpu + req.cpu > alloc.cpu {
        out.push("Insufficient cpu");
    }
    if req.memory > 0 && requested.memory + req.memory > alloc.memory {
        out.push("Insufficient memory");
    }
    if req.ephemeral > 0 && requested.ephemeral + req.ephemeral > alloc.ephemeral {
        out.push("Insufficient ephemeral-storage");
    }
    out
}

/// Score: least allocated (cpu and memory, equal weights), 0..=100.
pub fn least_allocated(nonzero_req: (i64, i64), used: (i64, i64), alloc: &Resources) -> i64 {
    let one = |req: i64, used: i64, cap: i64| {
        if cap <= 0 || req + used > cap {
            0
        } else {
            (cap - used - req) * 100 / cap
        }
    };
    (one(nonzero_req.0, used.0, alloc.cpu) + one(nonzero_req.1, used.1, alloc.memory)) / 2
}

/// Score: balanced cpu/memory allocation, 0..=100.
pub fn balanced_allocation(nonzero_req: (i64, i64), used: (i64, i64), alloc: &Resources) -> i64 {
    let frac = |r: i64, cap: i64| {
        if cap <= 0 {
            1.0
        } else {
            ((r as f64) / (cap as f64)).min(1.0)
        }
    };
    let a = frac(nonzero_req.0 + used.0, alloc.cpu);
    let b = frac(nonzero_req.1 + used.1, alloc.memory);
    ((1.0 - (a - b).abs() / 2.0) * 100.0) as i64
}

/// Score (raw): sum of weights of matching preferred node affinity terms.
pub fn preferred_node_affinity(pod: &PodInfo, node_name: &str, labels: &Labels) -> i64 {
    pod.preferred_node_terms
        .iter()
        .filter(|(_, t)| t.matches(node_name, labels))
        .map(|(w, _)| *w as i64)
        .sum()
}

/// Score (raw, lower is better): untolerated PreferNoSchedule taints.
pub fn intolerable_prefer_no_schedule(taints: &[NodeTaint], tolerations: &[Toleration]) -> i64 {
    taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule")
        .filter(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
        .count() as i64
}

/// Min-max normalisation into 0..=100 (`reverse`: lower raw is better).
pub fn normalize(raw: &mut [i64], reverse: bool) {
    let (Some(&min), Some(&max)) = (raw.iter().min(), raw.iter().max()) else {
        return;
    };
    for v in raw.iter_mut() {
        *v = if max == min {
            if reverse || max > 0 { 100 } else { 0 }
        } else if reverse {
            (max - *v) * 100 / (max - min)
        } else {
            (*v - min) * 100 / (max - min)
        };
    }
}

// ---------------------------------------------------------------- cluster

#[derive(Debug)]
struct Slot {
    name: String,
    node: Option<NodeData>,
    requested: Resources,
    nonzero: (i64, i64),
    ports: Vec<HostPort>,
}

#[derive(Debug, Default)]
struct Topo {
    domain_of: Vec<Option<u32>>,
    n_domains: usize,
}

#[derive(Debug)]
struct Placed {
    slot: usize,
    info: PodInfo,
    assumed: bool,
}

/// Counts of matching pods per slot, with a total.
#[derive(Debug, Default, Clone)]
struct Counts {
    per_slot: Vec<u32>,
    total: u64,
}

impl Counts {
    fn bump(&mut self, slot: usize, up: bool) {
        if self.per_slot.len() <= slot {
            self.per_slot.resize(slot + 1, 0);
        }
        if up {
            self.per_slot[slot] += 1;
            self.total += 1;
        } else {
            self.per_slot[slot] = self.per_slot[slot].saturating_sub(1);
            self.total = self.total.saturating_sub(1);
        }
    }
}

/// Why a pod fits nowhere.
#[derive(Debug, Clone, PartialEq)]
pub struct FitError {
    pub total: usize,
    /// Reason -> number of nodes.
    pub reasons: BTreeMap<String, usize>,
}

impl FitError {
    /// kube's wording.
    pub fn message(&self) -> String {
        if self.total == 0 {
            return "no nodes available to schedule pods".into();
        }
        let mut parts: Vec<String> = self
            .reasons
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        parts.sort();
        format!(
            "0/{t} nodes are available: {}. preemption: 0/{t} nodes are available: {t} Preemption is not helpful for scheduling.",
            parts.join(", "),
            t = self.total
        )
    }
}

/// The scheduler's view of the cluster: nodes, placed (and assumed) pods and
/// the aggregates the filters and scores need, kept incrementally.
#[derive(Debug, Default)]
pub struct Cluster {
    slots: Vec<Slot>,
    slot_of: HashMap<String, usize>,
    live: Vec<usize>,
    pods: HashMap<String, Placed>,
    owners: HashMap<String, Counts>,
    label_index: HashMap<Matcher, Counts>,
    /// Required anti-affinity terms of placed pods.
    anti_terms: HashMap<PodTerm, Counts>,
    topo: HashMap<String, Topo>,
    next_start: usize,
    rng: u64,
    /// Score a sample of nodes in big clusters, like kube's percentageOfNodesToScore.
    pub sample_nodes: bool,
}

struct Ctx {
    /// Per constraint: counts per domain, min count, the pod matches itself.
    spread: Vec<(Vec<u32>, u32, u32)>,
    /// Per required affinity term: allowed domains (`None`: anywhere).
    affinity: Vec<Option<Vec<bool>>>,
    /// (topology key, forbidden domains) from the pod's and existing pods' anti-affinity.
    anti: Vec<(String, Vec<bool>, bool)>,
    /// Preferred terms: (topology key, domain counts, signed weight).
    preferred: Vec<(String, Vec<u32>, i64)>,
}

impl Cluster {
    pub fn new() -> Cluster {
        Cluster {
            rng: 0x9E37_79B9_7F4A_7C15,
            sample_nodes: true,
            ..Default::default()
        }
    }

    fn slot_for(&mut self, name: &str) -> usize {
        if let Some(&i) = self.slot_of.get(name) {
            return i;
        }
        let i = self.slots.len();
        self.slots.push(Slot {
            name: name.to_string(),
            node: None,
            requested: Resources::default(),
            nonzero: (0, 0),
            ports: Vec::new(),
        });
        self.slot_of.insert(name.to_string(), i);
        i
    }

    pub fn node_count(&self) -> usize {
        self.live.len()
    }

    pub fn upsert_node(&mut self, name: &str, data: NodeData) {
        let i = self.slot_for(name);
        let labels_changed = self.slots[i]
            .node
            .as_ref()
            .is_none_or(|n| n.labels != data.labels);
        if self.slots[i].node.is_none() {
            self.live.push(i);
        }
        self.slots[i].node = Some(data);
        if labels_changed {
            self.topo.clear();
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        if let Some(&i) = self.slot_of.get(name)
            && self.slots[i].node.take().is_some()
        {
            self.live.retain(|&s| s != i);
            self.topo.clear();
        }
    }

    /// Keeps only the named nodes (after a relist).
    pub fn retain_nodes(&mut self, keep: &std::collections::HashSet<String>) {
        let gone: Vec<String> = self
            .live
            .iter()
            .map(|&i| self.slots[i].name.clone())
            .filter(|n| !keep.contains(n))
            .collect();
        for n in gone {
            self.remove_node(&n);
        }
    }

    pub fn pod_keys(&self) -> Vec<String> {
        self.pods.keys().cloned().collect()
    }

    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|p| p.assumed)
    }

    pub fn contains_pod(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    /// Adds (or replaces) a pod bound to a node; `assumed` when not yet confirmed by the API.
    pub fn add_pod(&mut self, info: PodInfo, assumed: bool) {
        let key = info.key();
        self.remove_pod(&key);
        let Some(node) = info.node_name.clone() else {
            return;
        };
        let slot = self.slot_for(&node);
        let s = &mut self.slots[slot];
        s.requested.add(&info.requests, 1);
        s.nonzero.0 += info.nonzero.0;
        s.nonzero.1 += info.nonzero.1;
        s.ports.extend(info.host_ports.iter().cloned());
        self.index(&info, slot, true);
        self.pods.insert(
            key,
            Placed {
                slot,
                info,
                assumed,
            },
        );
    }

    pub fn remove_pod(&mut self, key: &str) -> Option<PodInfo> {
        let p = self.pods.remove(key)?;
        let s = &mut self.slots[p.slot];
        s.requested.add(&p.info.requests, -1);
        s.nonzero.0 -= p.info.nonzero.0;
        s.nonzero.1 -= p.info.nonzero.1;
        for hp in &p.info.host_ports {
            if let Some(pos) = s.ports.iter().position(|x| x == hp) {
                s.ports.swap_remove(pos);
            }
        }
        self.index(&p.info, p.slot, false);
        Some(p.info)
    }

    fn index(&mut self, info: &PodInfo, slot: usize, up: bool) {
        if let Some(o) = &info.owner {
            let c = self.owners.entry(o.clone()).or_default();
            c.bump(slot, up);
            if c.total == 0 {
                self.owners.remove(o);
            }
        }
        for (m, c) in self.label_index.iter_mut() {
            if m.matches(info) {
                c.bump(slot, up);
            }
        }
        for t in &info.required_anti_affinity {
            let c = self.anti_terms.entry(t.clone()).or_default();
            c.bump(slot, up);
            if c.total == 0 {
                self.anti_terms.remove(t);
            }
        }
    }

    fn ensure_topo(&mut self, key: &str) {
        if self.topo.contains_key(key) {
            return;
        }
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut t = Topo {
            domain_of: vec![None; self.slots.len()],
            n_domains: 0,
        };
        for &i in &self.live {
            let slot = &self.slots[i];
            let mut v = slot.node.as_ref().and_then(|n| n.labels.get(key));
            if v.is_none() && key == HOSTNAME_KEY {
                v = Some(&slot.name);
            }
            if let Some(v) = v {
                let next = ids.len() as u32;
                t.domain_of[i] = Some(*ids.entry(v.as_str()).or_insert(next));
            }
        }
        t.n_domains = ids.len();
        self.topo.insert(key.to_string(), t);
    }

    fn ensure_matcher(&mut self, m: &Matcher) {
        if matches!(m, Matcher::Owner(_)) || self.label_index.contains_key(m) {
            return;
        }
        let mut c = Counts::default();
        for p in self.pods.values() {
            if m.matches(&p.info) {
                c.bump(p.slot, true);
            }
        }
        self.label_index.insert(m.clone(), c);
    }

    fn counts(&self, m: &Matcher) -> Option<&Counts> {
        match m {
            Matcher::Owner(uid) => self.owners.get(uid),
            m => self.label_index.get(m),
        }
    }

    fn domain(&self, key: &str, slot: usize) -> Option<u32> {
        self.topo
            .get(key)
            .and_then(|t| t.domain_of.get(slot).copied().flatten())
    }

    /// Matching pods per domain of `key`.
    fn domain_counts(&self, m: &Matcher, key: &str) -> Vec<u32> {
        let Some(t) = self.topo.get(key) else {
            return Vec::new();
        };
        let mut out = vec![0u32; t.n_domains];
        if let Some(c) = self.counts(m) {
            for (slot, &n) in c.per_slot.iter().enumerate() {
                if n > 0
                    && let Some(Some(d)) = t.domain_of.get(slot)
                {
                    out[*d as usize] += n;
                }
            }
        }
        out
    }

    fn prepare(&mut self, pod: &PodInfo) -> Ctx {
        let mut keys: Vec<&str> = Vec::new();
        let mut matchers: Vec<&Matcher> = Vec::new();
        for c in &pod.spread {
            keys.push(&c.topology_key);
            matchers.push(&c.matcher);
        }
        let terms = pod
            .required_affinity
            .iter()
            .chain(&pod.required_anti_affinity)
            .chain(pod.preferred_affinity.iter().map(|(_, t)| t))
            .chain(pod.preferred_anti_affinity.iter().map(|(_, t)| t));
        for t in terms {
            keys.push(&t.topology_key);
            matchers.push(&t.matcher);
        }
        let existing: Vec<PodTerm> = self
            .anti_terms
            .keys()
            .filter(|t| t.matcher.matches(pod))
            .cloned()
            .collect();
        for k in keys
            .iter()
            .copied()
            .chain(existing.iter().map(|t| t.topology_key.as_str()))
        {
            self.ensure_topo(k);
        }
        for m in matchers {
            self.ensure_matcher(m);
        }
        let mut ctx = Ctx {
            spread: Vec::new(),
            affinity: Vec::new(),
            anti: Vec::new(),
            preferred: Vec::new(),
        };
        for c in &pod.spread {
            let counts = self.domain_counts(&c.matcher, &c.topology_key);
            let min = counts.iter().copied().min().unwrap_or(0);
            ctx.spread
                .push((counts, min, c.matcher.matches(pod) as u32));
        }
        for t in &pod.required_affinity {
            let counts = self.domain_counts(&t.matcher, &t.topology_key);
            let any = self.counts(&t.matcher).is_some_and(|c| c.total > 0);
            ctx.affinity.push(if !any && t.matcher.matches(pod) {
                None
            } else {
                Some(counts.iter().map(|&n| n > 0).collect())
            });
        }
        for t in &pod.required_anti_affinity {
            let counts = self.domain_counts(&t.matcher, &t.topology_key);
            ctx.anti.push((
                t.topology_key.clone(),
                counts.iter().map(|&n| n > 0).collect(),
                false,
            ));
        }
        for t in &existing {
            let mut forbidden =
                vec![false; self.topo.get(&t.topology_key).map_or(0, |x| x.n_domains)];
            if let Some(c) = self.anti_terms.get(t) {
                for (slot, &n) in c.per_slot.iter().enumerate() {
                    if n > 0
                        && let Some(d) = self.domain(&t.topology_key, slot)
                    {
                        forbidden[d as usize] = true;
                    }
                }
            }
            ctx.anti.push((t.topology_key.clone(), forbidden, true));
        }
        for (w, t) in &pod.preferred_affinity {
            ctx.preferred.push((
                t.topology_key.clone(),
                self.domain_counts(&t.matcher, &t.topology_key),
                *w as i64,
            ));
        }
        for (w, t) in &pod.preferred_anti_affinity {
            ctx.preferred.push((
                t.topology_key.clone(),
                self.domain_counts(&t.matcher, &t.topology_key),
                -(*w as i64),
            ));
        }
        ctx
    }
}

const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

impl Cluster {
    /// Runs every filter of `pod` against one node; the failure reasons.
    fn filter(&self, pod: &PodInfo, ctx: &Ctx, slot: usize) -> Result<(), Vec<String>> {
        let s = &self.slots[slot];
        let Some(n) = &s.node else {
            return Err(vec!["node(s) were not found".into()]);
        };
        if n.unschedulable {
            let taint = NodeTaint {
                key: UNSCHEDULABLE_TAINT.into(),
                value: String::new(),
                effect: "NoSchedule".into(),
            };
            if !pod.tolerations.iter().any(|t| tolerates(t, &taint)) {
                return Err(vec!["node(s) were unschedulable".into()]);
            }
        }
        if let Some(t) = untolerated_taint(&n.taints, &pod.tolerations) {
            return Err(vec![format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key, t.value
            )]);
        }
        if !node_affinity_fits(pod, &s.name, &n.labels) {
            return Err(vec![
                "node(s) didn't match Pod's node affinity/selector".into(),
            ]);
        }
        if pod
            .host_ports
            .iter()
            .any(|p| s.ports.iter().any(|q| p.conflicts(q)))
        {
            return Err(vec![
                "node(s) didn't have free ports for the requested pod ports".into(),
            ]);
        }
        let short = insufficient(&pod.requests, &s.requested, &n.allocatable);
        if !short.is_empty() {
            return Err(short.into_iter().map(String::from).collect());
        }
        for (c, (counts, min, own)) in pod.spread.iter().zip(&ctx.spread) {
            if !c.hard {
                continue;
            }
            let ok = self.domain(&c.topology_key, slot).is_some_and(|d| {
                (counts[d as usize] + own) as i64 - (*min as i64) <= c.max_skew as i64
            });
            if !ok {
                return Err(vec![
                    "node(s) didn't match pod topology spread constraints".into(),
                ]);
            }
        }
        let affinity_ok =
            !pod.unsatisfiable_affinity
                && pod.required_affinity.iter().zip(&ctx.affinity).all(
                    |(t, allowed)| match allowed {
                        None => true,
                        Some(a) => self
                            .domain(&t.topology_key, slot)
                            .is_some_and(|d| a[d as usize]),
                    },
                );
        if !affinity_ok {
            return Err(vec!["node(s) didn't match pod affinity rules".into()]);
        }
        for (key, forbidden, existing) in &ctx.anti {
            if self
                .domain(key, slot)
                .is_some_and(|d| forbidden.get(d as usize).copied().unwrap_or(false))
            {
                return Err(vec![if *existing {
                    "node(s) didn't satisfy existing pods anti-affinity rules".into()
                } else {
                    "node(s) didn't match pod anti-affinity rules".into()
                }]);
            }
        }
        Ok(())
    }

    fn next_rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// How many feasible nodes to look for (kube's adaptive percentageOfNodesToScore).
    fn nodes_to_find(&self, n: usize) -> usize {
        if !self.sample_nodes || n < 100 {
            return n;
        }
        let pct = (50usize.saturating_sub(n / 125)).max(5);
        (n * pct / 100).max(100)
    }

    /// Picks a node for `pod` (does not assume it; see [`Cluster::assume`]).
    pub fn schedule(&mut self, pod: &PodInfo) -> Result<String, FitError> {
        let ctx = self.prepare(pod);
        let n = self.live.len();
        let want = self.nodes_to_find(n);
        let start = if n == 0 { 0 } else { self.next_start % n };
        let mut feasible: Vec<usize> = Vec::with_capacity(want.min(n));
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut processed = 0;
        for k in 0..n {
            let slot = self.live[(start + k) % n];
            processed += 1;
            match self.filter(pod, &ctx, slot) {
                Ok(()) => {
                    feasible.push(slot);
                    if feasible.len() >= want {
                        break;
                    }
                }
                Err(rs) => {
                    for r in rs {
                        *reasons.entry(r).or_default() += 1;
                    }
                }
            }
        }
        if n > 0 {
            self.next_start = (start + processed) % n;
        }
        if feasible.is_empty() {
            return Err(FitError { total: n, reasons });
        }
        let scores = self.score(pod, &ctx, &feasible);
        let best = scores.iter().copied().max().unwrap_or(0);
        let ties: Vec<usize> = feasible
            .iter()
            .zip(&scores)
            .filter(|(_, s)| **s == best)
            .map(|(f, _)| *f)
            .collect();
        let pick = ties[(self.next_rand() % ties.len() as u64) as usize];
        Ok(self.slots[pick].name.clone())
    }

    /// Weighted sum of the normalised scores of each feasible node.
    fn score(&self, pod: &PodInfo, ctx: &Ctx, feasible: &[usize]) -> Vec<i64> {
        let mut total = vec![0i64; feasible.len()];
        let mut node_aff = vec![0i64; feasible.len()];
        let mut taints = vec![0i64; feasible.len()];
        let mut spread = vec![0i64; feasible.len()];
        let mut interpod = vec![0i64; feasible.len()];
        #[allow(clippy::type_complexity)]
        let soft: Vec<(&SpreadConstraint, &(Vec<u32>, u32, u32))> = pod
            .spread
            .iter()
            .zip(&ctx.spread)
            .filter(|(c, _)| !c.hard)
            .collect();
        let topos: Vec<Option<&Topo>> = soft
            .iter()
            .map(|(c, _)| self.topo.get(&c.topology_key))
            .collect();
        let weights: Vec<f64> = topos
            .iter()
            .map(|t| ((t.map_or(0, |t| t.n_domains) + 2) as f64).ln())
            .collect();
        for (i, &slot) in feasible.iter().enumerate() {
            let s = &self.slots[slot];
            let Some(n) = &s.node else { continue };
            total[i] = least_allocated(pod.nonzero, s.nonzero, &n.allocatable)
                + balanced_allocation(pod.nonzero, s.nonzero, &n.allocatable);
            if !pod.preferred_node_terms.is_empty() {
                node_aff[i] = preferred_node_affinity(pod, &s.name, &n.labels);
            }
            taints[i] = intolerable_prefer_no_schedule(&n.taints, &pod.tolerations);
            let mut raw = 0.0;
            for (((_, (counts, _, _)), w), t) in soft.iter().zip(&weights).zip(&topos) {
                raw += match t.and_then(|t| t.domain_of.get(slot).copied().flatten()) {
                    Some(d) => counts[d as usize] as f64 * w,
                    None => 1e9,
                };
            }
            spread[i] = (raw * 1000.0) as i64;
            for (key, counts, w) in &ctx.preferred {
                if let Some(d) = self.domain(key, slot) {
                    interpod[i] += counts.get(d as usize).copied().unwrap_or(0) as i64 * w;
                }
            }
        }
        normalize(&mut node_aff, false);
        normalize(&mut taints, true);
        normalize(&mut spread, true);
        if ctx.preferred.is_empty() {
            interpod.fill(0);
        } else {
            normalize(&mut interpod, false);
        }
        for i in 0..total.len() {
            total[i] += 2 * node_aff[i] + 3 * taints[i] + 2 * spread[i] + 2 * interpod[i];
        }
        total
    }

    /// Records the decision before the API confirms it (kube's assume cache).
    pub fn assume(&mut self, mut pod: PodInfo, node: &str) {
        pod.node_name = Some(node.to_string());
        self.add_pod(pod, true);
    }

    /// Drops an assumed pod whose binding failed.
    pub fn forget(&mut self, key: &str) {
        if self.is_assumed(key) {
            self.remove_pod(key);
        }
    }

    /// Requested resources on a node (tests and diagnostics).
    pub fn requested(&self, node: &str) -> Option<Resources> {
        self.slot_of.get(node).map(|&i| self.slots[i].requested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Instant;

    fn node(
        name: &str,
        zone: &str,
        cpu: &str,
        mem: &str,
        extra: serde_json::Value,
    ) -> (String, NodeData) {
        let mut n: serde_json::Value = json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone}},
            "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}
        });
        merge(&mut n, extra);
        let n: Node = serde_json::from_value(n).unwrap();
        (name.to_string(), NodeData::from_node(&n))
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn pod(name: &str, cpu: &str, extra: serde_json::Value) -> PodInfo {
        let mut p = json!({
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
        });
        merge(&mut p, extra);
        PodInfo::from_pod(&serde_json::from_value::<Pod>(p).unwrap())
    }

    fn cluster(nodes: Vec<(String, NodeData)>) -> Cluster {
        let mut c = Cluster::new();
        for (n, d) in nodes {
            c.upsert_node(&n, d);
        }
        c
    }

    #[test]
    fn requests_include_init_sidecars_and_limits() {
        let p = pod(
            "p",
            "100m",
            json!({"spec": {
            "initContainers": [
                {"name": "big", "resources": {"requests": {"cpu": "2"}}},
                {"name": "side", "restartPolicy": "Always", "resources": {"limits": {"cpu": "300m"}}}],
            "overhead": {"cpu": "10m"}}}),
        );
        assert_eq!(p.requests.cpu, 2010);
        assert_eq!(p.requests.memory, 64 << 20);
        let p = pod(
            "p",
            "1",
            json!({"spec": {"initContainers": [
            {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "300m"}}}]}}),
        );
        assert_eq!(p.requests.cpu, 1300);
    }

    #[test]
    fn taints_and_tolerations() {
        let taint = |k: &str, v: &str, e: &str| NodeTaint {
            key: k.into(),
            value: v.into(),
            effect: e.into(),
        };
        let tol = |v: serde_json::Value| serde_json::from_value::<Toleration>(v).unwrap();
        let t = taint("dedicated", "gpu", "NoSchedule");
        assert!(tolerates(
            &tol(json!({"key": "dedicated", "operator": "Equal", "value": "gpu"})),
            &t
        ));
        assert!(tolerates(
            &tol(json!({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"})),
            &t
        ));
        assert!(!tolerates(
            &tol(json!({"key": "dedicated", "value": "cpu"})),
            &t
        ));
        assert!(!tolerates(
            &tol(json!({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"})),
            &t
        ));
        assert!(tolerates(
            &tol(json!({"key": "dedicated", "operator": "Exists"})),
            &t
        ));
        assert!(tolerates(&tol(json!({"operator": "Exists"})), &t));
        assert!(!tolerates(&tol(json!({"operator": "Equal"})), &t));
        let taints = vec![
            taint("a", "", "PreferNoSchedule"),
            t.clone(),
            taint("b", "x", "NoExecute"),
        ];
        assert_eq!(untolerated_taint(&taints, &[]), Some(&t));
        let tols = [tol(json!({"key": "dedicated", "operator": "Exists"}))];
        assert_eq!(
            untolerated_taint(&taints, &tols).map(|t| t.key.as_str()),
            Some("b")
        );
        assert_eq!(intolerable_prefer_no_schedule(&taints, &tols), 1);
    }

    #[test]
    fn node_affinity_and_selector() {
        let labels: Labels = [
            ("disk".to_string(), "ssd".to_string()),
            ("gen".to_string(), "5".to_string()),
        ]
        .into();
        let p = pod("p", "1", json!({"spec": {"nodeSelector": {"disk": "ssd"}}}));
        assert!(node_affinity_fits(&p, "n1", &labels));
        let p = pod("p", "1", json!({"spec": {"nodeSelector": {"disk": "hdd"}}}));
        assert!(!node_affinity_fits(&p, "n1", &labels));
        let aff = |terms: serde_json::Value| {
            pod(
                "p",
                "1",
                json!({"spec": {"affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}}),
            )
        };
        let expr = |k: &str, op: &str, v: serde_json::Value| json!([{"matchExpressions": [{"key": k, "operator": op, "values": v}]}]);
        assert!(node_affinity_fits(
            &aff(expr("disk", "In", json!(["ssd", "nvme"]))),
            "n1",
            &labels
        ));
        assert!(!node_affinity_fits(
            &aff(expr("disk", "NotIn", json!(["ssd"]))),
            "n1",
            &labels
        ));
        assert!(node_affinity_fits(
            &aff(expr("gen", "Gt", json!(["4"]))),
            "n1",
            &labels
        ));
        assert!(!node_affinity_fits(
            &aff(expr("gen", "Lt", json!(["4"]))),
            "n1",
            &labels
        ));
        assert!(node_affinity_fits(
            &aff(expr("gpu", "DoesNotExist", json!(null))),
            "n1",
            &labels
        ));
        assert!(!node_affinity_fits(
            &aff(expr("gpu", "Exists", json!(null))),
            "n1",
            &labels
        ));
        // Terms are ORed; an empty term matches nothing.
        let terms = json!([{}, {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]);
        assert!(node_affinity_fits(&aff(terms.clone()), "n1", &labels));
        assert!(!node_affinity_fits(&aff(terms), "n2", &labels));
        assert!(!node_affinity_fits(&aff(json!([{}])), "n1", &labels));
        // Preferred weights.
        let p = pod(
            "p",
            "1",
            json!({"spec": {"affinity": {"nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
                {"weight": 5, "preference": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}}]}}}}),
        );
        assert_eq!(preferred_node_affinity(&p, "n1", &labels), 10);
    }

    #[test]
    fn resource_fit_and_scores() {
        let alloc = Resources {
            cpu: 2000,
            memory: 4 << 30,
            ephemeral: 0,
            pods: 2,
        };
        let req = Resources {
            cpu: 1500,
            memory: 1 << 30,
            ephemeral: 1,
            pods: 1,
        };
        let used = Resources {
            cpu: 1000,
            memory: 0,
            ephemeral: 0,
            pods: 2,
        };
        assert_eq!(
            insufficient(&req, &used, &alloc),
            [
                "Too many pods",
                "Insufficient cpu",
                "Insufficient ephemeral-storage"
            ]
        );
        assert!(
            insufficient(
                &req,
                &Resources::default(),
                &Resources {
                    ephemeral: 1,
                    ..alloc
                }
            )
            .is_empty()
        );
        assert_eq!(
            least_allocated((500, 1 << 30), (500, 1 << 30), &alloc),
            (50 + 50) / 2
        );
        assert_eq!(least_allocated((0, 0), (0, 0), &alloc), 100);
        assert_eq!(balanced_allocation((1000, 2 << 30), (0, 0), &alloc), 100);
        assert_eq!(balanced_allocation((2000, 0), (0, 0), &alloc), 50);
        let mut v = vec![0, 5, 10];
        normalize(&mut v, true);
        assert_eq!(v, [100, 50, 0]);
    }

    #[test]
    fn filters_in_cluster_and_failure_message() {
        let mut c = cluster(vec![
            node(
                "n1",
                "a",
                "1",
                "1Gi",
                json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
            ),
            node("n2", "a", "100m", "1Gi", json!({})),
            node(
                "n3",
                "b",
                "4",
                "8Gi",
                json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
            ),
            node(
                "n4",
                "b",
                "4",
                "8Gi",
                json!({"spec": {"unschedulable": true}}),
            ),
        ]);
        let err = c.schedule(&pod("p", "500m", json!({}))).unwrap_err();
        assert_eq!(
            err.message(),
            "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, \
             1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. \
             preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
        );
        let tolerant = pod(
            "p",
            "500m",
            json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}}),
        );
        assert_eq!(c.schedule(&tolerant).unwrap(), "n3");
        // Host ports.
        let hp = json!({"spec": {"tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}});
        let p1 = pod("h1", "10m", hp.clone());
        let node1 = c.schedule(&p1).unwrap();
        c.assume(p1, &node1);
        let p2 = pod("h2", "10m", hp);
        let node2 = c.schedule(&p2).unwrap();
        assert_ne!(node1, node2);
        assert!(c.is_assumed("default/h1"));
        c.forget("default/h1");
        assert_eq!(c.requested(&node1).unwrap().pods, 0);
        assert_eq!(
            Cluster::new().schedule(&p2).unwrap_err().message(),
            "no nodes available to schedule pods"
        );
    }

    #[test]
    fn pod_affinity_and_anti_affinity() {
        let mut c = cluster(vec![
            node("a1", "a", "8", "8Gi", json!({})),
            node("a2", "a", "8", "8Gi", json!({})),
            node("b1", "b", "8", "8Gi", json!({})),
        ]);
        let anti = |name: &str, key: &str| {
            pod(
                name,
                "10m",
                json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": key, "labelSelector": {"matchLabels": {"app": "web"}}}]}}}}),
            )
        };
        let p = anti("w1", ZONE_KEY);
        let n = c.schedule(&p).unwrap();
        c.assume(p, &n);
        let p = anti("w2", ZONE_KEY);
        let n2 = c.schedule(&p).unwrap();
        assert_ne!(&n[..1], &n2[..1], "different zones");
        c.assume(p, &n2);
        let err = c.schedule(&anti("w3", ZONE_KEY)).unwrap_err();
        assert_eq!(
            err.reasons
                .get("node(s) didn't match pod anti-affinity rules"),
            Some(&3)
        );
        // A plain pod with app=web is kept away by the existing pods' terms.
        let err = c.schedule(&pod("plain", "10m", json!({}))).unwrap_err();
        assert_eq!(
            err.reasons
                .get("node(s) didn't satisfy existing pods anti-affinity rules"),
            Some(&3)
        );
        // Other namespaces are not affected.
        assert!(
            c.schedule(&pod(
                "other",
                "10m",
                json!({"metadata": {"namespace": "x"}})
            ))
            .is_ok()
        );
        // Required affinity: with the pods in zone of n.
        let aff = pod(
            "db",
            "10m",
            json!({"metadata": {"labels": {"app": "db"}}, "spec": {"affinity": {"podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": HOSTNAME_KEY, "labelSelector": {"matchLabels": {"app": "web"}}}]}}}}),
        );
        let got = c.schedule(&aff).unwrap();
        assert!(got == n || got == n2);
        // First pod of a self-affine group goes anywhere.
        let selfaff = pod(
            "s",
            "10m",
            json!({"metadata": {"labels": {"app": "s"}}, "spec": {"affinity": {"podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": ZONE_KEY, "labelSelector": {"matchLabels": {"app": "s"}}}]}}}}),
        );
        assert!(c.schedule(&selfaff).is_ok());
        // Preferred anti-affinity steers away.
        let mut c = cluster(vec![
            node("a1", "a", "8", "8Gi", json!({})),
            node("b1", "b", "8", "8Gi", json!({})),
        ]);
        let pref = |name: &str| {
            pod(
                name,
                "10m",
                json!({"spec": {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"topologyKey": HOSTNAME_KEY, "labelSelector": {"matchLabels": {"app": "web"}}}}]}}}}),
            )
        };
        let p = pref("x1");
        let n = c.schedule(&p).unwrap();
        c.assume(p, &n);
        assert_ne!(c.schedule(&pref("x2")).unwrap(), n);
    }

    #[test]
    fn hard_topology_spread() {
        let mut c = cluster(vec![
            node("a1", "a", "8", "8Gi", json!({})),
            node("a2", "a", "8", "8Gi", json!({})),
            node("b1", "b", "8", "8Gi", json!({})),
        ]);
        let mk = |name: &str| {
            pod(
                name,
                "10m",
                json!({"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "preference": {"matchExpressions": [{"key": ZONE_KEY, "operator": "In", "values": ["a"]}]}}]}},
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"app": "web"}}}]}}),
            )
        };
        let mut zones = BTreeMap::<String, i32>::new();
        for i in 0..6 {
            let p = mk(&format!("p{i}"));
            let n = c.schedule(&p).unwrap();
            *zones.entry(n[..1].to_string()).or_default() += 1;
            c.assume(p, &n);
        }
        assert_eq!(zones, [("a".to_string(), 3), ("b".to_string(), 3)].into());
    }

    #[test]
    fn plan_10k_pods_on_1k_nodes() {
        let zones = ["z1", "z2", "z3"];
        let nodes: Vec<_> = (0..1000)
            .map(|i| {
                node(
                    &format!("node-{i:04}"),
                    zones[i % 3],
                    "8",
                    "32Gi",
                    json!({}),
                )
            })
            .collect();
        let mut c = cluster(nodes);
        let pods: Vec<PodInfo> = (0..10_000)
            .map(|i| {
                pod(&format!("p{i}"), "500m", json!({"metadata": {"labels": {"app": format!("app{}", i % 100)},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "controller": true,
                                         "uid": format!("uid-{}", i % 100)}]}}))
            })
            .collect();
        let start = Instant::now();
        let mut per_owner_zone: HashMap<(String, String), u32> = HashMap::new();
        let mut per_owner_node: HashMap<(String, String), u32> = HashMap::new();
        for p in pods {
            let n = c.schedule(&p).expect("fits");
            let owner = p.owner.clone().unwrap();
            *per_owner_zone
                .entry((
                    owner.clone(),
                    zones[n[5..].parse::<usize>().unwrap() % 3].to_string(),
                ))
                .or_default() += 1;
            *per_owner_node.entry((owner, n.clone())).or_default() += 1;
            c.assume(p, &n);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "scheduled 10000 pods on 1000 nodes in {secs:.3}s: {:.0} pods/s",
            10_000.0 / secs
        );
        for i in 0..1000 {
            let r = c.requested(&format!("node-{i:04}")).unwrap();
            assert!(r.cpu <= 8000, "capacity");
            assert!(r.pods >= 5 && r.pods <= 16, "balanced: {}", r.pods);
        }
        // 100 replicas per owner over 3 zones: 33 or 34 each (small skew allowed).
        for ((_, _), n) in &per_owner_zone {
            assert!((28..=40).contains(n), "zone spread {n}");
        }
        assert!(per_owner_node.values().all(|&n| n <= 2), "host spread");
        // Next one no longer fits: 16 pods of 500m fill 8 cores.
        let mut big = c;
        for i in 0..6000 {
            let p = pod(&format!("fill{i}"), "500m", json!({}));
            let n = big.schedule(&p).expect("capacity left");
            big.assume(p, &n);
        }
        let err = big.schedule(&pod("last", "500m", json!({}))).unwrap_err();
        assert_eq!(err.reasons.get("Insufficient cpu"), Some(&1000));
    }
}
