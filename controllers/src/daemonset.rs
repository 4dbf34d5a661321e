//! The DaemonSet controller (kube's `pkg/controller/daemon`): one pod per
//! eligible node (nodeSelector, required node affinity, taints against the
//! pod's tolerations plus kube's automatic DaemonSet tolerations), pinned to
//! its node with node affinity `matchFields metadata.name In [node]` so the
//! scheduler binds it; surplus, misplaced and failed pods are deleted;
//! RollingUpdate within maxUnavailable and maxSurge, or OnDelete; template
//! history as ControllerRevisions; the status `kubectl rollout status` reads.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodTemplateSpec, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use crate::cache::Informer;
use crate::claim;
use crate::history;
use crate::pods;
use crate::replicaset::Expectations;
use crate::sync::{self, SyncError};

/// The label holding the revision hash a pod was made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// The label holding the template generation (kube's, deprecated but set).
pub const GENERATION_LABEL: &str = "pod-template-generation";

/// kube's automatic DaemonSet tolerations (`AddOrUpdateDaemonPodTolerations`).
pub fn daemon_tolerations(host_network: bool) -> Vec<Toleration> {
    let t = |key: &str, effect: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Toleration::default()
    };
    let mut out = vec![
        t("node.kubernetes.io/not-ready", "NoExecute"),
        t("node.kubernetes.io/unreachable", "NoExecute"),
        t("node.kubernetes.io/disk-pressure", "NoSchedule"),
        t("node.kubernetes.io/memory-pressure", "NoSchedule"),
        t("node.kubernetes.io/pid-pressure", "NoSchedule"),
        t("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        out.push(t("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    out
}

/// Adds the automatic tolerations a pod spec lacks.
fn add_tolerations(tols: &mut Vec<Toleration>, host_network: bool) {
    for t in daemon_tolerations(host_network) {
        if !tols
            .iter()
            .any(|x| x.key == t.key && x.effect == t.effect && x.operator == t.operator)
        {
            tols.push(t);
        }
    }
}

fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => t
            .key
            .as_deref()
            .is_none_or(|k| k.is_empty() || k == taint.key),
        _ => {
            t.key.as_deref() == Some(taint.key.as_str())
                && t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
    }
}

fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let req = |r: &NodeSelectorRequirement, got: Option<&String>| {
        let vals = r.values.as_deref().unwrap_or_default();
        match r.operator.as_str() {
            "In" => got.is_some_and(|v| vals.contains(v)),
            "NotIn" => got.is_none_or(|v| !vals.contains(v)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            "Gt" | "Lt" => {
                let (Some(g), Some(w)) = (
                    got.and_then(|g| g.parse::<i64>().ok()),
                    vals.first().and_then(|w| w.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if r.operator == "Gt" { g > w } else { g < w }
            }
            _ => false,
        }
    };
    let name = node.metadata.name.clone();
    exprs.iter().all(|r| req(r, labels.get(&r.key)))
        && fields.iter().all(|r| {
            let got = (r.key == "metadata.name")
                .then_some(name.as_ref())
                .flatten();
            req(r, got)
        })
}

/// Whether the node should run (`.0`) and may keep running (`.1`) a pod of
/// `template` (kube's `NodeShouldRunDaemonPod`).
pub fn node_should_run(template: &PodTemplateSpec, node: &Node) -> (bool, bool) {
    let spec = template.spec.clone().unwrap_or_default();
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(sel) = spec.node_selector.as_ref()
        && !sel.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return (false, false);
    }
    if let Some(terms) = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|s| &s.node_selector_terms)
        && !terms.iter().any(|t| term_matches(t, node))
    {
        return (false, false);
    }
    let mut tols = spec.tolerations.clone().unwrap_or_default();
    add_tolerations(&mut tols, spec.host_network == Some(true));
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let untolerated = |effect: &str| {
        taints
            .iter()
            .filter(|t| t.effect == effect)
            .any(|t| !tols.iter().any(|x| tolerates(x, t)))
    };
    let no_exec = untolerated("NoExecute");
    let no_sched = untolerated("NoSchedule");
    (!no_exec && !no_sched, !no_exec)
}

/// The node a daemon pod is for: its nodeName, else its matchFields
/// `metadata.name` affinity.
pub fn pod_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name" && f.operator == "In")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

fn hash_of(pod: &Pod) -> &str {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_LABEL))
        .map(String::as_str)
        .unwrap_or("")
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn scaled(v: Option<&IntOrString>, total: usize, default: i32, round_up: bool) -> usize {
    let n = match v {
        None => i64::from(default),
        Some(IntOrString::Int(n)) => i64::from(*n),
        Some(IntOrString::String(s)) => {
            let pct: i64 = s.trim_end_matches('%').trim().parse().unwrap_or(0);
            let t = i64::try_from(total).unwrap_or(i64::MAX);
            if round_up {
                (pct * t + 99) / 100
            } else {
                pct * t / 100
            }
        }
    };
    usize::try_from(n.max(0)).unwrap_or(0)
}

/// What one sync of a DaemonSet should do.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Nodes to create a pod for.
    pub create: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<String>,
    /// The status from the nodes and pods observed (before acting).
    pub status: DaemonSetStatus,
}

/// Plans one sync (kube's `manage` and `rollingUpdate`). `owned` are the
/// set's pods; `hash` is the update revision's hash.
pub fn plan(ds: &DaemonSet, nodes: &[&Node], owned: &[&Pod], hash: &str, now: Timestamp) -> Plan {
    let mut out = Plan::default();
    let spec = ds.spec.as_ref();
    let template = spec.map(|s| s.template.clone()).unwrap_or_default();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let mut by_node: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    let mut orphans = Vec::new();
    for p in owned {
        match pod_node(p) {
            Some(n) => by_node.entry(n).or_default().push(p),
            None => orphans.push(p.name_any()),
        }
    }
    let node_names: HashSet<String> = nodes.iter().map(|n| n.name_any()).collect();
    let (mut desired, mut current, mut misscheduled) = (0usize, 0usize, 0usize);
    let (mut ready, mut available, mut updated) = (0usize, 0usize, 0usize);
    // Per eligible node: its kept (active, non-terminating) pods.
    let mut eligible: Vec<(String, Vec<&Pod>)> = Vec::new();
    for node in nodes {
        let name = node.name_any();
        let (should_run, should_continue) = node_should_run(&template, node);
        let here: Vec<&Pod> = by_node.get(&name).cloned().unwrap_or_default();
        let live: Vec<&Pod> = here
            .iter()
            .copied()
            .filter(|p| !pods::is_terminating(p))
            .collect();
        if should_run {
            desired += 1;
            if !live.is_empty() {
                current += 1;
            }
        } else if !live.is_empty() {
            misscheduled += 1;
        }
        if should_run || (should_continue && !live.is_empty()) {
            let (failed, mut ok): (Vec<&Pod>, Vec<&Pod>) =
                live.into_iter().partition(|p| !pods::is_active(p));
            out.delete.extend(failed.iter().map(|p| p.name_any()));
            // Keep one pod: the updated one if any, else the oldest.
            ok.sort_by(|a, b| {
                (hash_of(b) == hash)
                    .cmp(&(hash_of(a) == hash))
                    .then_with(|| {
                        pods::is_available(b, min_ready, now)
                            .cmp(&pods::is_available(a, min_ready, now))
                    })
                    .then_with(|| {
                        let t = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
                        t(a).cmp(&t(b))
                    })
            });
            let surge_pair = ok.len() == 2
                && hash_of(ok[0]) == hash
                && hash_of(ok[1]) != hash
                && !pods::is_available(ok[0], min_ready, now);
            let keep = if surge_pair { 2 } else { 1 };
            out.delete
                .extend(ok.iter().skip(keep).map(|p| p.name_any()));
            ok.truncate(keep);
            if let Some(p) = ok.first() {
                if pods::is_ready(p) {
                    ready += 1;
                }
                if pods::is_available(p, min_ready, now) {
                    available += 1;
                }
                if hash_of(p) == hash {
                    updated += 1;
                }
            }
            // A pod on a node it only tolerates (NoExecute) stays put.
            if should_run {
                eligible.push((name, ok));
            }
        } else {
            out.delete.extend(live.iter().map(|p| p.name_any()));
        }
    }
    for (n, ps) in &by_node {
        if !node_names.contains(n) {
            out.delete.extend(
                ps.iter()
                    .filter(|p| !pods::is_terminating(p))
                    .map(|p| p.name_any()),
            );
        }
    }
    out.delete.extend(orphans);
    out.status = DaemonSetStatus {
        desired_number_scheduled: count(desired),
        current_number_scheduled: count(current),
        number_misscheduled: count(misscheduled),
        number_ready: count(ready),
        number_available: Some(count(available)),
        number_unavailable: Some(count(desired.saturating_sub(available))),
        updated_number_scheduled: Some(count(updated)),
        observed_generation: ds.metadata.generation,
        collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
        conditions: ds
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .filter(|c| !c.is_empty()),
    };
    if ds.metadata.deletion_timestamp.is_some() {
        out.create.clear();
        out.delete.clear();
        return out;
    }
    for (n, ps) in &eligible {
        if ps.is_empty() {
            out.create.push(n.clone());
        }
    }

    // Rolling update.
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    if strategy
        .and_then(|s| s.type_.as_deref())
        .is_some_and(|t| t != "RollingUpdate")
    {
        return out;
    }
    let ru = strategy.and_then(|s| s.rolling_update.as_ref());
    let max_surge = scaled(ru.and_then(|r| r.max_surge.as_ref()), desired, 0, true);
    let mut max_unavailable = scaled(
        ru.and_then(|r| r.max_unavailable.as_ref()),
        desired,
        1,
        false,
    );
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let is_new = |p: &Pod| hash_of(p) == hash;
    let avail = |p: &Pod| pods::is_available(p, min_ready, now);
    if max_surge == 0 {
        // kube's rollingUpdate without surge: unavailable old pods go at
        // once, available ones within the budget.
        let mut unavailable = 0usize;
        let mut candidates = Vec::new();
        for (_, ps) in &eligible {
            match ps.first() {
                None => unavailable += 1,
                Some(p) if is_new(p) => {
                    if !avail(p) {
                        unavailable += 1;
                    }
                }
                Some(p) if !avail(p) => {
                    unavailable += 1;
                    out.delete.push(p.name_any());
                }
                Some(p) => candidates.push(p.name_any()),
            }
        }
        let budget = max_unavailable.saturating_sub(unavailable);
        out.delete.extend(candidates.into_iter().take(budget));
        return out;
    }
    // With surge: a new pod beside each old one (within maxSurge), the old
    // one deleted once the new is available.
    let mut surging = 0usize;
    let mut want_surge = Vec::new();
    let mut unavailable = 0usize;
    for (n, ps) in &eligible {
        let new = ps.iter().find(|p| is_new(p));
        let old = ps.iter().find(|p| !is_new(p));
        match (old, new) {
            (Some(o), Some(nw)) => {
                if avail(nw) {
                    out.delete.push(o.name_any());
                } else {
                    surging += 1;
                }
            }
            (Some(o), None) => {
                if avail(o) {
                    want_surge.push(n.clone());
                } else {
                    // Old and unavailable: replace it right away.
                    unavailable += 1;
                    out.delete.push(o.name_any());
                }
            }
            (None, Some(nw)) if !avail(nw) => unavailable += 1,
            _ => {}
        }
    }
    let _ = unavailable;
    let budget = max_surge.saturating_sub(surging);
    out.create.extend(want_surge.into_iter().take(budget));
    out
}

/// The pod for `node` from the set's template (revision `hash`).
pub fn new_pod(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let spec = ds.spec.as_ref();
    let template = spec.map(|s| s.template.clone()).unwrap_or_default();
    let tm = template.metadata.unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    labels.insert(REVISION_LABEL.into(), hash.to_owned());
    if let Some(g) = ds.metadata.generation {
        labels.insert(GENERATION_LABEL.into(), g.to_string());
    }
    let mut ps = template.spec.unwrap_or_default();
    let mut tols = ps.tolerations.take().unwrap_or_default();
    add_tolerations(&mut tols, ps.host_network == Some(true));
    ps.tolerations = Some(tols);
    // kube's ReplaceDaemonSetPodNodeNameNodeAffinity.
    let term = NodeSelectorTerm {
        match_expressions: None,
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.to_owned()]),
        }]),
    };
    let mut affinity = ps.affinity.take().unwrap_or_default();
    let mut na = affinity.node_affinity.take().unwrap_or_default();
    na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
    affinity.node_affinity = Some(NodeAffinity { ..na });
    ps.affinity = Some(Affinity { ..affinity });
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds.name_any())),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![pods::controller_ref(
                "apps/v1",
                "DaemonSet",
                &ds.metadata,
            )]),
            ..ObjectMeta::default()
        },
        spec: Some(ps),
        status: None,
    }
}

struct Ctx {
    client: Client,
    pods: Informer<Pod>,
    nodes: Store<Node>,
    expectations: Mutex<Expectations>,
}

/// Runs the controller until the future is dropped.
pub async fn run(client: Client, caches: crate::cache::Shared) {
    let nodes = caches.nodes();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: caches.pods(),
        nodes: nodes.store(),
        expectations: Mutex::new(Expectations::default()),
    });
    let api: Api<DaemonSet> = Api::all(client);
    let controller = Controller::new(api, watcher::Config::default());
    let store = controller.store();
    controller
        .owns_shared_stream(ctx.pods.changes())
        .watches_shared_stream(nodes.changes(), move |_n: Arc<Node>| {
            store
                .state()
                .iter()
                .map(|d| ObjectRef::from_obj(d.as_ref()))
                .collect::<Vec<_>>()
        })
        .run(reconcile, sync::retry, ctx)
        .for_each(sync::log_failure("daemonset"))
        .await;
}

async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    sync::bounded(sync_once(ds, ctx)).await
}

async fn sync_once(ds: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    ctx.pods.store().wait_until_ready().await.ok();
    ctx.nodes.wait_until_ready().await.ok();
    let ns = ds.namespace().unwrap_or_default();
    let name = ds.name_any();
    let key = format!("{ns}/{name}");
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let now = Timestamp::now();
    let spec = ds.spec.as_ref();
    let owner = history::Owner::new(
        "DaemonSet",
        &ds.metadata,
        spec.map(|s| &s.selector),
        spec.map(|s| &s.template),
        ds.status.as_ref().and_then(|s| s.collision_count),
    );
    // Its own pods (less those whose labels were edited away: let go, and
    // replaced) and the matching orphans an orphaning delete left, taken
    // back rather than replaced. Nothing else matters.
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let mut own = ctx.pods.controlled_by(&uid);
    claim::release_strays(
        &pods_api,
        &mut own,
        owner.claim_selector.as_ref(),
        |_| true,
        &uid,
    )
    .await;
    let orphans = ctx.pods.orphans_in(&ns);
    let adopted = claim::adopt_orphans(
        &pods_api,
        &orphans,
        owner.claim_selector.as_ref(),
        |_| true,
        &owner.reference,
    )
    .await;
    let ns_pods: Vec<Arc<Pod>> = own.iter().chain(&orphans).cloned().collect();
    let owned: Vec<&Pod> = own.iter().chain(&adopted).map(|p| p.as_ref()).collect();
    let nodes = ctx.nodes.state();
    let node_refs: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();

    // Revisions.
    let rev_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let revs = history::owned(&rev_api, &owner).await?;
    let cc0 = owner.collision_count;
    let (rev, cc) = if ds.metadata.deletion_timestamp.is_some() {
        (ControllerRevision::default(), cc0)
    } else {
        history::ensure(&rev_api, &owner, &revs).await?
    };
    let hash = rev
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(history::HASH_LABEL).cloned())
        .unwrap_or_default();

    let may_act = ctx
        .expectations
        .lock()
        .map(|mut e| e.satisfied(&key, &ns_pods, now))
        .unwrap_or(true);
    let mut plan = plan(&ds, &node_refs, &owned, &hash, now);
    if cc != 0 {
        plan.status.collision_count = Some(cc);
    }
    let acted = may_act && !(plan.create.is_empty() && plan.delete.is_empty());
    if may_act {
        let mut created = Vec::new();
        let pp = PostParams::default();
        let new_pods: Vec<Pod> = plan.create.iter().map(|n| new_pod(&ds, n, &hash)).collect();
        let results =
            futures::future::join_all(new_pods.iter().map(|p| pods_api.create(&pp, p))).await;
        for r in results {
            match r {
                Ok(p) => created.push(p.name_any()),
                Err(e) => {
                    tracing::info!(daemonset = %key, error = %e, "daemonset: pod create failed")
                }
            }
        }
        let by_name: BTreeMap<String, &Pod> = owned.iter().map(|p| (p.name_any(), *p)).collect();
        let mut deleted = Vec::new();
        for p in &plan.delete {
            match pods_api.delete(p, &DeleteParams::default()).await {
                Ok(_) => {
                    if let Some(u) = by_name.get(p).and_then(|x| x.metadata.uid.clone()) {
                        deleted.push(u);
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => tracing::info!(pod = %p, error = %e, "daemonset: pod delete failed"),
            }
        }
        if let Ok(mut e) = ctx.expectations.lock() {
            e.expect(&key, created, deleted, Timestamp::now());
        }
    }

    let mut live: HashSet<String> = owned
        .iter()
        .filter_map(|p| {
            let h = hash_of(p);
            revs.iter()
                .find(|r| {
                    r.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(history::HASH_LABEL))
                        .is_some_and(|x| x == h)
                })
                .map(|r| r.name_any())
        })
        .collect();
    live.insert(rev.name_any());
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    if ds.metadata.deletion_timestamp.is_none() {
        history::delete(&rev_api, &history::to_truncate(&revs, &live, limit)).await;
    }

    if ds.metadata.deletion_timestamp.is_none() {
        let api: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), &ns);
        let exists = sync::write_status(&api, &name, ds.status.as_ref(), &plan.status).await?;
        if !exists && let Ok(mut e) = ctx.expectations.lock() {
            e.forget(&key);
        }
    }
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let wait = pods::soonest_available(owned.iter().copied(), min_ready, now);
    // The pod store is a separate watch from the one that triggered this
    // sync and may lag it: poll while the set has not settled.
    let st = &plan.status;
    let settled = st.number_available == Some(st.desired_number_scheduled)
        && st.updated_number_scheduled == Some(st.desired_number_scheduled)
        && st.number_misscheduled == 0
        && owned.len() == usize::try_from(st.desired_number_scheduled).unwrap_or(0);
    Ok(match (may_act, acted || !settled, wait) {
        (false, _, _) => Action::requeue(Duration::from_secs(2)),
        (_, _, Some(s)) => {
            Action::requeue(Duration::from_secs(u64::try_from(s).unwrap_or(1).max(1)))
        }
        (_, true, None) => Action::requeue(Duration::from_secs(2)),
        _ => Action::requeue(Duration::from_secs(300)),
    })
}

#[cfg(test)]
mod tests;
