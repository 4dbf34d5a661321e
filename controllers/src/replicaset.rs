//! The ReplicaSet controller (kube's `pkg/controller/replicaset`): keeps
//! `spec.replicas` active pods matching the selector, adopting orphans and
//! releasing pods that no longer match, with kube's expectations so a slow
//! watch never causes double creates or deletes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{DeleteParams, PostParams};
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};

use crate::cache::Informer;
use crate::claim;
use crate::pods;
use crate::sync::{self, SyncError};

/// How long unobserved creates/deletes hold back further action.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many creates or deletes per sync (kube's burstReplicas).
pub const BURST_REPLICAS: usize = 500;

/// What one sync of a ReplicaSet should do.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Orphan pods to adopt.
    pub adopt: Vec<String>,
    /// Owned pods that no longer match the selector, to release.
    pub release: Vec<String>,
    /// Pods to create.
    pub create: usize,
    /// Pods to delete, in order.
    pub delete: Vec<String>,
    /// The status from the pods observed (before acting).
    pub status: ReplicaSetStatus,
    /// Seconds until a ready pod becomes available (to requeue).
    pub requeue_after: Option<i64>,
}

fn uid(meta: &ObjectMeta) -> &str {
    meta.uid.as_deref().unwrap_or("")
}

/// Plans one sync. `pods` are the pods of the ReplicaSet's namespace;
/// `may_act` is false while expectations are pending (status only).
pub fn plan(rs: &ReplicaSet, pods: &[Arc<Pod>], may_act: bool, now: Timestamp) -> Plan {
    let mut out = Plan::default();
    let spec = rs.spec.as_ref();
    let selector = spec.map(|s| &s.selector);
    let rs_uid = uid(&rs.metadata);
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let mut owned: Vec<&Pod> = Vec::new();
    for pod in pods {
        let matches = pods::selector_matches(selector, pod.metadata.labels.as_ref());
        match pods::controller_of(&pod.metadata) {
            Some(r) if r.uid == rs_uid => {
                if matches {
                    owned.push(pod);
                } else if !deleting {
                    out.release.push(pod.name_any());
                }
            }
            None if matches && !deleting && !pods::is_terminating(pod) => {
                out.adopt.push(pod.name_any());
                owned.push(pod);
            }
            _ => {}
        }
    }
    let active: Vec<&Pod> = owned
        .iter()
        .copied()
        .filter(|p| pods::is_active(p))
        .collect();
    out.status = status(rs, &active, now);
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    out.requeue_after = pods::soonest_available(active.iter().copied(), min_ready, now);
    if deleting || !may_act {
        return out;
    }
    let want = usize::try_from(spec.and_then(|s| s.replicas).unwrap_or(1).max(0)).unwrap_or(0);
    if active.len() < want {
        out.create = (want - active.len()).min(BURST_REPLICAS);
    } else if active.len() > want {
        let mut ranked = active.clone();
        ranked.sort_by(|a, b| rank_for_deletion(a, b, now));
        out.delete = ranked
            .iter()
            .take((active.len() - want).min(BURST_REPLICAS))
            .map(|p| p.name_any())
            .collect();
    }
    out
}

/// kube's `ActivePods` ordering: the pods to delete first come first
/// (unscheduled, pending, not ready, ready for less time, more restarts,
/// newer).
pub fn rank_for_deletion(a: &Pod, b: &Pod, _now: Timestamp) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let scheduled = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    let phase_rank = |p: &Pod| match pods::phase(p) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    let restarts = |p: &Pod| -> i32 {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
            .unwrap_or(0)
    };
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    scheduled(a)
        .cmp(&scheduled(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| pods::is_ready(a).cmp(&pods::is_ready(b)))
        .then_with(|| deletion_cost(a).cmp(&deletion_cost(b)))
        .then_with(|| {
            match (
                pods::ready_since(a).flatten(),
                pods::ready_since(b).flatten(),
            ) {
                // Ready more recently comes first.
                (Some(x), Some(y)) => y.cmp(&x),
                _ => Ordering::Equal,
            }
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| created(b).cmp(&created(a)))
}

/// The `controller.kubernetes.io/pod-deletion-cost` annotation (0 when
/// absent or malformed): lower costs are deleted first.
fn deletion_cost(p: &Pod) -> i32 {
    p.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The status of a ReplicaSet from its active pods (conditions are carried
/// over; the caller adds or clears ReplicaFailure).
pub fn status(rs: &ReplicaSet, active: &[&Pod], now: Timestamp) -> ReplicaSetStatus {
    let spec = rs.spec.as_ref();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let fully = active
        .iter()
        .filter(|p| {
            let l = p.metadata.labels.as_ref();
            template_labels
                .iter()
                .all(|(k, v)| l.and_then(|l| l.get(k)) == Some(v))
        })
        .count();
    let old = rs.status.as_ref();
    ReplicaSetStatus {
        replicas: count(active.len()),
        fully_labeled_replicas: Some(count(fully)),
        ready_replicas: Some(count(active.iter().filter(|p| pods::is_ready(p)).count())),
        available_replicas: Some(count(
            active
                .iter()
                .filter(|p| pods::is_available(p, min_ready, now))
                .count(),
        )),
        observed_generation: rs.metadata.generation,
        conditions: old
            .and_then(|s| s.conditions.clone())
            .filter(|c| !c.is_empty()),
        terminating_replicas: old.and_then(|s| s.terminating_replicas),
    }
}

/// Sets (`Some(message)`) or clears (`None`) the ReplicaFailure condition.
pub fn set_failure(status: &mut ReplicaSetStatus, failure: Option<(&str, String)>, now: Timestamp) {
    let mut conds = status.conditions.take().unwrap_or_default();
    match failure {
        None => conds.retain(|c| c.type_ != "ReplicaFailure"),
        Some((reason, message)) => {
            if let Some(c) = conds.iter_mut().find(|c| c.type_ == "ReplicaFailure") {
                c.reason = Some(reason.to_owned());
                c.message = Some(message);
            } else {
                conds.push(ReplicaSetCondition {
                    type_: "ReplicaFailure".into(),
                    status: "True".into(),
                    reason: Some(reason.to_owned()),
                    message: Some(message),
                    last_transition_time: Some(Time(now)),
                });
            }
        }
    }
    status.conditions = (!conds.is_empty()).then_some(conds);
}

/// kube's slow start: batches of 1, 2, 4, … up to `total`.
pub fn slow_start_batches(total: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut left, mut size) = (total, 1usize);
    while left > 0 {
        let b = size.min(left);
        out.push(b);
        left -= b;
        size *= 2;
    }
    out
}

/// Creates and deletes issued but not yet seen by the watch, per
/// ReplicaSet (kube's `UIDTrackingControllerExpectations`, keyed by pod
/// name for creates and uid for deletes).
#[derive(Debug, Default)]
pub struct Expectations {
    pending: HashMap<String, Pending>,
}

#[derive(Debug)]
struct Pending {
    creates: HashSet<String>,
    deletes: HashSet<String>,
    since: Timestamp,
}

impl Expectations {
    /// Records issued creates (pod names) and deletes (pod uids).
    pub fn expect(
        &mut self,
        key: &str,
        creates: Vec<String>,
        deletes: Vec<String>,
        now: Timestamp,
    ) {
        if creates.is_empty() && deletes.is_empty() {
            return;
        }
        let p = self
            .pending
            .entry(key.to_owned())
            .or_insert_with(|| Pending {
                creates: HashSet::new(),
                deletes: HashSet::new(),
                since: now,
            });
        p.creates.extend(creates);
        p.deletes.extend(deletes);
        p.since = now;
    }

    /// Whether the ReplicaSet may act: every expected create observed and
    /// every expected delete gone (or terminating) in `pods`, or timed out.
    pub fn satisfied(&mut self, key: &str, pods: &[Arc<Pod>], now: Timestamp) -> bool {
        let Some(p) = self.pending.get_mut(key) else {
            return true;
        };
        let seen: HashSet<&str> = pods
            .iter()
            .filter_map(|p| p.metadata.name.as_deref())
            .collect();
        p.creates.retain(|n| !seen.contains(n.as_str()));
        let live: HashSet<&str> = pods
            .iter()
            .filter(|p| !pods::is_terminating(p))
            .filter_map(|p| p.metadata.uid.as_deref())
            .collect();
        p.deletes.retain(|u| live.contains(u.as_str()));
        let timed_out =
            now.as_second() - p.since.as_second() >= EXPECTATIONS_TIMEOUT.as_secs() as i64;
        if (p.creates.is_empty() && p.deletes.is_empty()) || timed_out {
            self.pending.remove(key);
            return true;
        }
        false
    }

    /// Forgets a ReplicaSet.
    pub fn forget(&mut self, key: &str) {
        self.pending.remove(key);
    }
}

/// A pod for `rs` from its template.
pub fn new_pod(rs: &ReplicaSet) -> Pod {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let tm = template.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.name_any())),
            namespace: rs.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![pods::controller_ref(
                "apps/v1",
                "ReplicaSet",
                &rs.metadata,
            )]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

struct Ctx {
    client: Client,
    pods: Informer<Pod>,
    expectations: Mutex<Expectations>,
}

/// Runs the controller until the future is dropped.
pub async fn run(client: Client, caches: crate::cache::Shared) {
    let pods = caches.pods();
    let replicasets = caches.replicasets();
    let ctx = Arc::new(Ctx {
        client,
        pods: pods.clone(),
        expectations: Mutex::new(Expectations::default()),
    });
    let rs_store = replicasets.store();
    Controller::for_shared_stream(replicasets.changes(), replicasets.store())
        .watches_shared_stream(pods.changes(), move |pod: Arc<Pod>| {
            pod_to_replicasets(&rs_store, &pod)
        })
        .run(reconcile, sync::retry, ctx)
        .for_each(sync::log_failure("replicaset"))
        .await;
}

fn pod_to_replicasets(store: &Store<ReplicaSet>, pod: &Pod) -> Vec<ObjectRef<ReplicaSet>> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    if let Some(r) = pods::controller_of(&pod.metadata) {
        if r.kind == "ReplicaSet" {
            return vec![ObjectRef::new(&r.name).within(&ns)];
        }
        return Vec::new();
    }
    store
        .state()
        .iter()
        .filter(|rs| rs.metadata.namespace.as_deref() == Some(ns.as_str()))
        .filter(|rs| {
            pods::selector_matches(
                rs.spec.as_ref().map(|s| &s.selector),
                pod.metadata.labels.as_ref(),
            )
        })
        .map(|rs| ObjectRef::from_obj(rs.as_ref()))
        .collect()
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    sync::bounded(sync_once(rs, ctx)).await
}

async fn sync_once(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    ctx.pods.store().wait_until_ready().await.ok();
    let ns = rs.namespace().unwrap_or_default();
    let name = rs.name_any();
    let key = format!("{ns}/{name}");
    let now = Timestamp::now();
    // Only this ReplicaSet's pods and orphans can matter (the plan ignores
    // pods another controller owns): the informer's index by controller
    // keeps a sync's cost in proportion to its own pods.
    let mut ns_pods = ctx.pods.controlled_by(uid(&rs.metadata));
    ns_pods.extend(ctx.pods.orphans_in(&ns));
    let may_act = ctx
        .expectations
        .lock()
        .map(|mut e| e.satisfied(&key, &ns_pods, now))
        .unwrap_or(true);
    let plan = plan(&rs, &ns_pods, may_act, now);
    tracing::debug!(
        replicaset = %key,
        want = rs.spec.as_ref().and_then(|s| s.replicas),
        active = plan.status.replicas,
        may_act,
        create = plan.create,
        delete = plan.delete.len(),
        "replicaset sync"
    );
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let by_name: BTreeMap<String, &Arc<Pod>> = ns_pods.iter().map(|p| (p.name_any(), p)).collect();

    let our_ref = pods::controller_ref("apps/v1", "ReplicaSet", &rs.metadata);
    for pod_name in &plan.adopt {
        let Some(pod) = by_name.get(pod_name) else {
            continue;
        };
        if let Err(e) = claim::adopt(&pods_api, pod, &our_ref).await {
            tracing::info!(pod = %pod_name, error = %e, "replicaset: adopt failed");
        }
    }
    for pod_name in &plan.release {
        let Some(pod) = by_name.get(pod_name) else {
            continue;
        };
        if let Err(e) = claim::release(&pods_api, pod, &our_ref.uid).await {
            tracing::info!(pod = %pod_name, error = %e, "replicaset: release failed");
        }
    }

    let mut failure = None;
    if plan.create > 0 {
        let pod = new_pod(&rs);
        let pp = PostParams::default();
        let mut created = Vec::new();
        'batches: for batch in slow_start_batches(plan.create) {
            let results =
                futures::future::join_all((0..batch).map(|_| pods_api.create(&pp, &pod))).await;
            let mut failed = false;
            for r in results {
                match r {
                    Ok(p) => created.push(p.name_any()),
                    Err(e) => {
                        tracing::info!(replicaset = %key, error = %e, "replicaset: pod create failed");
                        failure = Some(("FailedCreate", e.to_string()));
                        failed = true;
                    }
                }
            }
            if failed {
                break 'batches;
            }
        }
        if let Ok(mut e) = ctx.expectations.lock() {
            e.expect(&key, created, Vec::new(), Timestamp::now());
        }
    }
    if !plan.delete.is_empty() {
        let mut deleted = Vec::new();
        for pod_name in &plan.delete {
            match pods_api.delete(pod_name, &DeleteParams::default()).await {
                Ok(_) => {
                    if let Some(u) = by_name.get(pod_name).and_then(|p| p.metadata.uid.clone()) {
                        deleted.push(u);
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    tracing::info!(pod = %pod_name, error = %e, "replicaset: pod delete failed");
                    failure = Some(("FailedDelete", e.to_string()));
                }
            }
        }
        if let Ok(mut e) = ctx.expectations.lock() {
            e.expect(&key, Vec::new(), deleted, Timestamp::now());
        }
    }

    let mut status = plan.status.clone();
    if may_act {
        set_failure(&mut status, failure, now);
    }
    if rs.metadata.deletion_timestamp.is_none() {
        let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
        let exists = sync::write_status(&rs_api, &name, rs.status.as_ref(), &status).await?;
        if !exists && let Ok(mut e) = ctx.expectations.lock() {
            e.forget(&key);
        }
    }
    if !may_act {
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    if let Some(s) = plan.requeue_after {
        return Ok(Action::requeue(Duration::from_secs(
            u64::try_from(s).unwrap_or(1).max(1),
        )));
    }
    // Until every wanted pod is ready, look again soon: a pod event can
    // trigger a sync before the pod cache it reads has the change, and the
    // status would stay stale until the next event.
    let wanted = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = &plan.status;
    if status.replicas != wanted || status.ready_replicas.unwrap_or(0) != wanted {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSetSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};

    fn labels() -> BTreeMap<String, String> {
        [("app".to_string(), "web".to_string())].into()
    }

    fn rs(replicas: i32) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("rs-uid".into()),
                generation: Some(2),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                selector: LabelSelector {
                    match_labels: Some(labels()),
                    ..Default::default()
                },
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels()),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec::default()),
                }),
                min_ready_seconds: None,
            }),
            status: None,
        }
    }

    fn pod(
        name: &str,
        owned: bool,
        node: Option<&str>,
        phase: &str,
        ready: bool,
        created: i64,
    ) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                labels: Some(labels()),
                creation_timestamp: Some(Time(Timestamp::from_second(created).unwrap_or_default())),
                owner_references: owned.then(|| {
                    vec![OwnerReference {
                        api_version: "apps/v1".into(),
                        kind: "ReplicaSet".into(),
                        name: "web".into(),
                        uid: "rs-uid".into(),
                        controller: Some(true),
                        block_owner_deletion: Some(true),
                    }]
                }),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(String::from),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: Some(Time(
                        Timestamp::from_second(created + 1).unwrap_or_default(),
                    )),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        })
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1000).unwrap_or_default()
    }

    #[test]
    fn scales_up_and_adopts() {
        let pods = vec![
            pod("a", true, None, "Pending", false, 1),
            pod("orphan", false, None, "Pending", false, 2),
        ];
        let p = plan(&rs(5), &pods, true, now());
        assert_eq!(p.adopt, vec!["orphan".to_string()]);
        assert_eq!(p.create, 3);
        assert_eq!(p.status.replicas, 2);
        assert_eq!(p.status.observed_generation, Some(2));
    }

    #[test]
    fn scales_down_worst_pods_first() {
        let pods = vec![
            pod("ready-old", true, Some("n"), "Running", true, 1),
            pod("ready-new", true, Some("n"), "Running", true, 5),
            pod("unscheduled", true, None, "Pending", false, 0),
            pod("notready", true, Some("n"), "Running", false, 0),
        ];
        let p = plan(&rs(1), &pods, true, now());
        assert_eq!(p.delete, vec!["unscheduled", "notready", "ready-new"]);
        let mut costly = (*pods[1]).clone();
        costly.metadata.annotations = Some(
            [(
                "controller.kubernetes.io/pod-deletion-cost".to_string(),
                "10".to_string(),
            )]
            .into(),
        );
        let pods = vec![pods[0].clone(), Arc::new(costly)];
        let p = plan(&rs(1), &pods, true, now());
        assert_eq!(p.delete, vec!["ready-old"], "deletion cost wins over age");
        assert_eq!(p.status.ready_replicas, Some(2));
        assert_eq!(p.status.available_replicas, Some(2));
    }

    #[test]
    fn releases_non_matching_and_ignores_terminating() {
        let mut other = (*pod("moved", true, None, "Pending", false, 1)).clone();
        other.metadata.labels = Some([("app".to_string(), "other".to_string())].into());
        let mut dying = (*pod("dying", true, None, "Running", true, 1)).clone();
        dying.metadata.deletion_timestamp = Some(Time(now()));
        let p = plan(&rs(1), &[Arc::new(other), Arc::new(dying)], true, now());
        assert_eq!(p.release, vec!["moved"]);
        assert_eq!(p.create, 1);
        assert_eq!(p.status.replicas, 0);
    }

    #[test]
    fn min_ready_seconds_delays_availability() {
        let mut r = rs(1);
        if let Some(s) = r.spec.as_mut() {
            s.min_ready_seconds = Some(10);
        }
        let pods = vec![pod("a", true, Some("n"), "Running", true, 995)];
        let p = plan(&r, &pods, true, now());
        assert_eq!(p.status.available_replicas, Some(0));
        assert_eq!(p.requeue_after, Some(6));
        let p = plan(
            &r,
            &pods,
            true,
            Timestamp::from_second(1006).unwrap_or_default(),
        );
        assert_eq!(p.status.available_replicas, Some(1));
    }

    #[test]
    fn expectations_hold_back_until_observed() {
        let mut e = Expectations::default();
        e.expect(
            "ns/web",
            vec!["web-1".into(), "web-2".into()],
            vec![],
            now(),
        );
        let pods = vec![pod("web-1", true, None, "Pending", false, 1)];
        assert!(!e.satisfied("ns/web", &pods, now()));
        // No action while pending: plan with may_act=false plans nothing.
        let p = plan(&rs(3), &pods, false, now());
        assert_eq!((p.create, p.delete.len()), (0, 0));
        let pods = vec![
            pods[0].clone(),
            pod("web-2", true, None, "Pending", false, 1),
        ];
        assert!(e.satisfied("ns/web", &pods, now()));
        // Deletes: satisfied once gone; or after the timeout.
        e.expect("ns/web", vec![], vec!["uid-web-1".into()], now());
        assert!(!e.satisfied("ns/web", &pods, now()));
        let later = Timestamp::from_second(1000 + 31).unwrap_or_default();
        assert!(e.satisfied("ns/web", &pods, later));
        assert!(e.satisfied("other", &pods, now()));
    }

    #[test]
    fn slow_start() {
        assert_eq!(slow_start_batches(10), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
    }

    #[test]
    fn failure_condition() {
        let mut s = ReplicaSetStatus::default();
        set_failure(&mut s, Some(("FailedCreate", "quota".into())), now());
        assert_eq!(s.conditions.as_ref().map(Vec::len), Some(1));
        set_failure(&mut s, None, now());
        assert_eq!(s.conditions, None);
    }
}
