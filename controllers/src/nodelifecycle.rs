//! The node lifecycle controller (kube's `pkg/controller/nodelifecycle`)
//! with NoExecute taint eviction (kube's `pkg/controller/tainteviction`).
//!
//! Every [`MONITOR_PERIOD`] each Node's health is judged from its Lease in
//! `kube-node-lease` (and its Ready condition's heartbeat): a node not heard
//! from within the grace period gets every condition set to Unknown
//! (`NodeStatusUnknown`, "Kubelet stopped posting node status."), its pods'
//! Ready condition set to False, and the `node.kubernetes.io/unreachable`
//! NoSchedule and NoExecute taints; a node whose Ready is False gets the
//! `node.kubernetes.io/not-ready` taints instead; a recovered node loses
//! them. Pods on a node with NoExecute taints they do not tolerate are
//! deleted at once; tolerated with `tolerationSeconds`, once those have
//! passed since the taint was added.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, PodCondition, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Api, Client, ResourceExt};

use crate::pods;

/// kube's `--node-monitor-grace-period`.
pub const NODE_MONITOR_GRACE_PERIOD: Duration = Duration::from_secs(40);
/// kube's node startup grace period (a node that never posted Ready).
pub const NODE_STARTUP_GRACE_PERIOD: Duration = Duration::from_secs(60);
/// How often nodes are checked (kube's `--node-monitor-period` is 5 s).
pub const MONITOR_PERIOD: Duration = Duration::from_secs(2);
/// The namespace of node Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// The taint of a node whose Ready is Unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint of a node whose Ready is False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNKNOWN_MESSAGE: &str = "Kubelet stopped posting node status.";

fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// When the node was last heard from: its Lease's renewTime or its Ready
/// condition's lastHeartbeatTime, whichever is later (else its creation).
pub fn last_heard(node: &Node, lease: Option<&Lease>) -> Option<Timestamp> {
    let renew = lease
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0);
    let hb = ready_condition(node)
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    let created = node.metadata.creation_timestamp.as_ref().map(|t| t.0);
    [renew, hb, created].into_iter().flatten().max()
}

/// What one monitoring pass should do to a node.
#[derive(Debug, Default, PartialEq)]
pub struct NodePlan {
    /// New conditions for `nodes/status` (all Unknown), if the node just
    /// went silent.
    pub conditions: Option<Vec<NodeCondition>>,
    /// The node's new taints, if they change.
    pub taints: Option<Vec<Taint>>,
    /// The Ready status the node is judged to have ("True", "False",
    /// "Unknown").
    pub ready: String,
}

/// Judges one node (kube's `tryUpdateNodeHealth` and the tainting passes).
pub fn plan_node(node: &Node, lease: Option<&Lease>, now: Timestamp, grace: Duration) -> NodePlan {
    let mut out = NodePlan::default();
    let ready = ready_condition(node);
    let limit = if ready.is_none() {
        NODE_STARTUP_GRACE_PERIOD.max(grace)
    } else {
        grace
    };
    let stale = last_heard(node, lease)
        .is_none_or(|t| now.as_millisecond() - t.as_millisecond() > limit.as_millis() as i64);
    let current = ready.map(|c| c.status.as_str()).unwrap_or("Unknown");
    out.ready = if stale { "Unknown" } else { current }.to_owned();
    if stale {
        let conds: Vec<NodeCondition> = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let mut changed = false;
        let mut new: Vec<NodeCondition> = conds
            .into_iter()
            .map(|mut c| {
                if c.status != "Unknown" {
                    c.status = "Unknown".into();
                    c.reason = Some("NodeStatusUnknown".into());
                    c.message = Some(UNKNOWN_MESSAGE.into());
                    c.last_transition_time = Some(Time(now));
                    changed = true;
                }
                c
            })
            .collect();
        if ready.is_none() {
            new.push(NodeCondition {
                type_: "Ready".into(),
                status: "Unknown".into(),
                reason: Some("NodeStatusNeverUpdated".into()),
                message: Some("Kubelet never posted node status.".into()),
                last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                last_transition_time: Some(Time(now)),
            });
            changed = true;
        }
        if changed {
            out.conditions = Some(new);
        }
    }
    let want_key = match out.ready.as_str() {
        "True" => None,
        "False" => Some(NOT_READY),
        _ => Some(UNREACHABLE),
    };
    let taints: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let mut new: Vec<Taint> = taints
        .iter()
        .filter(|t| {
            let ours = t.key == UNREACHABLE || t.key == NOT_READY;
            !ours || Some(t.key.as_str()) == want_key
        })
        .cloned()
        .collect();
    if let Some(key) = want_key {
        for effect in ["NoSchedule", "NoExecute"] {
            if !new.iter().any(|t| t.key == key && t.effect == effect) {
                new.push(Taint {
                    key: key.into(),
                    effect: effect.into(),
                    value: None,
                    time_added: (effect == "NoExecute").then_some(Time(now)),
                });
            }
        }
    }
    if new != taints {
        out.taints = Some(new);
    }
    out
}

/// The pod's conditions with Ready set False (kube's `MarkPodsNotReady`),
/// if it is not already.
pub fn mark_not_ready(pod: &Pod, now: Timestamp) -> Option<Vec<PodCondition>> {
    let conds = pod.status.as_ref()?.conditions.clone()?;
    let ready = conds.iter().find(|c| c.type_ == "Ready")?;
    if ready.status == "False" {
        return None;
    }
    Some(ready_false(conds, now))
}

fn ready_false(mut conds: Vec<PodCondition>, now: Timestamp) -> Vec<PodCondition> {
    for c in conds
        .iter_mut()
        .filter(|c| c.type_ == "Ready" && c.status != "False")
    {
        c.status = "False".into();
        c.reason = Some("NodeNotReady".into());
        c.message = Some("Node is not ready".into());
        c.last_transition_time = Some(Time(now));
    }
    conds
}

/// Whether `tol` tolerates `taint` (kube's `ToleratesTaint`).
pub fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = tol.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect
    {
        return false;
    }
    let key = tol.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match tol.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => {
            !key.is_empty()
                && tol.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    }
}

/// When a pod on a node with `taints` is to be evicted (kube's taint
/// eviction): `None` never (no NoExecute taint, or all tolerated forever);
/// else the time (now or past: at once). A taint not tolerated evicts at
/// once; tolerated ones at the earliest timeAdded + tolerationSeconds.
pub fn eviction_time(pod: &Pod, taints: &[Taint], now: Timestamp) -> Option<Timestamp> {
    let tols: &[Toleration] = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let mut when: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<&Toleration> = tols.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        // The shortest tolerationSeconds among the matching (none: forever).
        let Some(secs) = matching.iter().filter_map(|t| t.toleration_seconds).min() else {
            continue;
        };
        let since = taint.time_added.as_ref().map(|t| t.0).unwrap_or(now);
        let at =
            Timestamp::from_second(since.as_second().saturating_add(secs.max(0))).unwrap_or(now);
        when = Some(when.map_or(at, |w| w.min(at)));
    }
    when
}

/// What the eviction pass should do to the pods of one node.
#[derive(Debug, Default, PartialEq)]
pub struct EvictionPlan {
    /// Pods (namespace, name) to delete now.
    pub evict: Vec<(String, String)>,
    /// The next time a tolerating pod is due, to check again.
    pub next: Option<Timestamp>,
}

/// Plans eviction for the pods bound to a node with `taints`.
pub fn plan_evictions(taints: &[Taint], node_pods: &[&Pod], now: Timestamp) -> EvictionPlan {
    let mut out = EvictionPlan::default();
    for pod in node_pods {
        if pods::is_terminating(pod) || matches!(pods::phase(pod), "Succeeded" | "Failed") {
            continue;
        }
        match eviction_time(pod, taints, now) {
            Some(at) if at <= now => out
                .evict
                .push((pod.namespace().unwrap_or_default(), pod.name_any())),
            Some(at) => out.next = Some(out.next.map_or(at, |n| n.min(at))),
            None => {}
        }
    }
    out
}

/// The pod's conditions with kube's DisruptionTarget condition
/// (`DeletionByTaintManager`) added, if it lacks it.
pub fn disruption_conditions(pod: &Pod, now: Timestamp) -> Option<Vec<PodCondition>> {
    let mut conds = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    if conds.iter().any(|c| c.type_ == "DisruptionTarget") {
        return None;
    }
    conds.push(PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some("DeletionByTaintManager".into()),
        message: Some("Taint manager: deleting due to NoExecute taint".into()),
        last_transition_time: Some(Time(now)),
        ..PodCondition::default()
    });
    Some(conds)
}

/// Runs the controller until the future is dropped; `grace` is
/// kube-controller-manager's `--node-monitor-grace-period`
/// ([`NODE_MONITOR_GRACE_PERIOD`] by default).
pub async fn run(client: Client, caches: crate::cache::Shared, grace: Duration) {
    let nodes = caches.nodes().store();
    let leases = crate::cache::watched(
        Api::<crate::cache::Lean<Lease>>::namespaced(client.clone(), LEASE_NAMESPACE),
        "nodelifecycle: lease",
    );
    let pods = caches.pods().store();
    let _ = nodes.wait_until_ready().await;
    let _ = leases.wait_until_ready().await;
    let _ = pods.wait_until_ready().await;
    tracing::info!(grace_seconds = grace.as_secs(), "nodelifecycle: started");
    let mut tick = tokio::time::interval(MONITOR_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        monitor(&client, &nodes, &leases, &pods, grace).await;
    }
}

async fn monitor(
    client: &Client,
    nodes: &Store<Node>,
    leases: &Store<Lease>,
    pods_store: &Store<Pod>,
    grace: Duration,
) {
    let now = Timestamp::now();
    let lease_by_node: BTreeMap<String, Arc<Lease>> = leases
        .state()
        .into_iter()
        .map(|l| (l.name_any(), l))
        .collect();
    let mut by_node: BTreeMap<String, Vec<Arc<Pod>>> = BTreeMap::new();
    for p in pods_store.state() {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
            by_node.entry(n).or_default().push(p);
        }
    }
    let node_api: Api<Node> = Api::all(client.clone());
    for node in nodes.state() {
        let name = node.name_any();
        let plan = plan_node(
            &node,
            lease_by_node.get(&name).map(AsRef::as_ref),
            now,
            grace,
        );
        let mut resource_version = node.metadata.resource_version.clone();
        if let Some(conds) = &plan.conditions {
            tracing::info!(node = %name, "nodelifecycle: node stopped posting status; conditions Unknown");
            let patch = serde_json::json!({"status": {"conditions": conds}});
            match node_api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(n) => resource_version = n.metadata.resource_version,
                Err(e) => {
                    tracing::info!(node = %name, error = %e, "nodelifecycle: status update failed");
                }
            }
        }
        let mut applied_taints = node.spec.as_ref().and_then(|s| s.taints.clone());
        if let Some(taints) = &plan.taints {
            tracing::info!(node = %name, ready = %plan.ready, taints = ?taints.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect::<Vec<_>>(), "nodelifecycle: updating taints");
            let patch = serde_json::json!({
                "metadata": {"resourceVersion": resource_version},
                "spec": {"taints": taints},
            });
            match node_api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(n) => applied_taints = n.spec.and_then(|s| s.taints),
                Err(e) => {
                    tracing::info!(node = %name, error = %e, "nodelifecycle: taint update failed (retrying next pass)");
                }
            }
        }
        let node_pods = by_node.get(&name).cloned().unwrap_or_default();
        if plan.ready == "Unknown" {
            for pod in &node_pods {
                let Some(conds) = mark_not_ready(pod, now) else {
                    continue;
                };
                let api: Api<Pod> =
                    Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
                let patch = serde_json::json!({
                    "metadata": {"resourceVersion": pod.metadata.resource_version},
                    "status": {"conditions": conds},
                });
                if let Err(e) = api
                    .patch_status(
                        &pod.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    tracing::debug!(pod = %pod.name_any(), error = %e, "nodelifecycle: mark not ready failed");
                }
            }
        }
        // Eviction follows the node's taints as written.
        let taints: Vec<Taint> = applied_taints.unwrap_or_default();
        if !taints.iter().any(|t| t.effect == "NoExecute") {
            continue;
        }
        let refs: Vec<&Pod> = node_pods.iter().map(AsRef::as_ref).collect();
        let ev = plan_evictions(&taints, &refs, now);
        let by_name: BTreeMap<(String, String), &Pod> = refs
            .iter()
            .map(|p| ((p.namespace().unwrap_or_default(), p.name_any()), *p))
            .collect();
        for (ns, pod) in ev.evict {
            tracing::info!(node = %name, namespace = %ns, pod = %pod, "nodelifecycle: evicting pod (NoExecute taint)");
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            // Best effort: the condition is informational.
            if let Some(conds) = by_name
                .get(&(ns.clone(), pod.clone()))
                .and_then(|p| disruption_conditions(p, now))
            {
                // Built from the cache: keep the Ready=False just written.
                let conds = if plan.ready == "Unknown" {
                    ready_false(conds, now)
                } else {
                    conds
                };
                let patch = serde_json::json!({"status": {"conditions": conds}});
                let _ = api
                    .patch_status(&pod, &PatchParams::default(), &Patch::Merge(&patch))
                    .await;
            }
            match api.delete(&pod, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => tracing::info!(pod = %pod, error = %e, "nodelifecycle: eviction failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::api::core::v1::{NodeSpec, NodeStatus, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn cond(type_: &str, status: &str, hb: i64) -> NodeCondition {
        NodeCondition {
            type_: type_.into(),
            status: status.into(),
            last_heartbeat_time: Some(Time(t(hb))),
            ..NodeCondition::default()
        }
    }

    fn node(ready: &str, taints: Vec<Taint>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                creation_timestamp: Some(Time(t(-1000))),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                taints: Some(taints),
                ..NodeSpec::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(vec![
                    cond("Ready", ready, 0),
                    cond("MemoryPressure", "False", 0),
                ]),
                ..NodeStatus::default()
            }),
        }
    }

    fn lease(renew: i64) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                renew_time: Some(MicroTime(t(renew))),
                ..LeaseSpec::default()
            }),
        }
    }

    fn keys(ts: &[Taint]) -> Vec<String> {
        ts.iter()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect()
    }

    #[test]
    fn health_from_lease_age() {
        let g = Duration::from_secs(40);
        let n = node("True", vec![]);
        // Lease renewed recently: healthy, nothing to do.
        let p = plan_node(&n, Some(&lease(100)), t(130), g);
        assert_eq!(
            p,
            NodePlan {
                ready: "True".into(),
                ..NodePlan::default()
            }
        );
        // Lease too old: everything Unknown, unreachable taints.
        let p = plan_node(&n, Some(&lease(100)), t(141), g);
        assert_eq!(p.ready, "Unknown");
        let conds = p.conditions.unwrap();
        assert!(conds.iter().all(|c| c.status == "Unknown"));
        let r = conds.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(r.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            r.message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        let taints = p.taints.unwrap();
        assert_eq!(
            keys(&taints),
            vec![
                "node.kubernetes.io/unreachable:NoSchedule",
                "node.kubernetes.io/unreachable:NoExecute"
            ]
        );
        assert!(taints[1].time_added.is_some());
        // Already Unknown and tainted: no more writes.
        let mut n2 = node("Unknown", taints.clone());
        n2.status.as_mut().unwrap().conditions = Some(conds);
        let p = plan_node(&n2, Some(&lease(100)), t(200), g);
        assert!(p.conditions.is_none() && p.taints.is_none());
        // Recovered (kubelet posts Ready again): taints go.
        let n3 = node("True", taints);
        let p = plan_node(&n3, Some(&lease(300)), t(301), g);
        assert_eq!(p.taints, Some(vec![]));
    }

    #[test]
    fn not_ready_taints_and_others_kept() {
        let g = Duration::from_secs(40);
        let other = Taint {
            key: "dedicated".into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        let unreachable = Taint {
            key: UNREACHABLE.into(),
            effect: "NoExecute".into(),
            ..Taint::default()
        };
        let n = node("False", vec![other, unreachable]);
        let p = plan_node(&n, Some(&lease(0)), t(10), g);
        assert_eq!(p.ready, "False");
        assert!(p.conditions.is_none());
        assert_eq!(
            keys(&p.taints.unwrap()),
            vec![
                "dedicated:NoSchedule",
                "node.kubernetes.io/not-ready:NoSchedule",
                "node.kubernetes.io/not-ready:NoExecute"
            ]
        );
    }

    fn pod(name: &str, tols: Vec<Toleration>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                tolerations: Some(tols),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    fn tol(key: &str, op: &str, secs: Option<i64>) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some(op.into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: secs,
            value: None,
        }
    }

    #[test]
    fn eviction_by_tolerations() {
        let taints = vec![
            Taint {
                key: UNREACHABLE.into(),
                effect: "NoSchedule".into(),
                ..Taint::default()
            },
            Taint {
                key: UNREACHABLE.into(),
                effect: "NoExecute".into(),
                time_added: Some(Time(t(0))),
                value: None,
            },
        ];
        let none = pod("none", vec![]);
        let short = pod("short", vec![tol(UNREACHABLE, "Exists", Some(30))]);
        let forever = pod("forever", vec![tol(UNREACHABLE, "Exists", None)]);
        let all = pod(
            "all",
            vec![Toleration {
                operator: Some("Exists".into()),
                ..Toleration::default()
            }],
        );
        let other = pod("other", vec![tol(NOT_READY, "Exists", Some(1))]);
        let refs = vec![&none, &short, &forever, &all, &other];
        let p = plan_evictions(&taints, &refs, t(10));
        let names: Vec<&str> = p.evict.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, vec!["none", "other"]);
        assert_eq!(p.next, Some(t(30)));
        let p = plan_evictions(&taints, &refs, t(30));
        let names: Vec<&str> = p.evict.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, vec!["none", "short", "other"]);
        // No NoExecute taint: nobody.
        assert!(plan_evictions(&taints[..1], &refs, t(30)).evict.is_empty());
        // Equal operator needs the value.
        let eq = Toleration {
            key: Some("k".into()),
            operator: Some("Equal".into()),
            value: Some("v".into()),
            ..Toleration::default()
        };
        assert!(tolerates(
            &eq,
            &Taint {
                key: "k".into(),
                value: Some("v".into()),
                effect: "NoExecute".into(),
                time_added: None
            }
        ));
        assert!(!tolerates(
            &eq,
            &Taint {
                key: "k".into(),
                value: None,
                effect: "NoExecute".into(),
                time_added: None
            }
        ));
    }

    #[test]
    fn pods_marked_not_ready() {
        let p = pod("a", vec![]);
        let conds = mark_not_ready(&p, t(0)).unwrap();
        assert_eq!(conds[0].status, "False");
        let mut p2 = p.clone();
        p2.status.as_mut().unwrap().conditions = Some(conds);
        assert!(mark_not_ready(&p2, t(1)).is_none());
        assert!(
            disruption_conditions(&p, t(0))
                .unwrap()
                .iter()
                .any(|c| c.type_ == "DisruptionTarget")
        );
    }
}
