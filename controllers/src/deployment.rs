//! The Deployment controller (kube's `pkg/controller/deployment`): one
//! ReplicaSet per pod template (named `<deployment>-<pod-template-hash>`),
//! rolled out with the RollingUpdate or Recreate strategy, with kube's
//! annotations, conditions and status so `kubectl rollout` works.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use crate::cache::Informer;
use crate::claim;
use crate::pods;
use crate::sync::{self, SyncError};

/// The label carrying the pod-template hash.
pub const HASH_LABEL: &str = "pod-template-hash";
/// Revision annotation (on ReplicaSets and the Deployment).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Desired-replicas annotation on ReplicaSets.
pub const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
/// Max-replicas annotation on ReplicaSets.
pub const MAX: &str = "deployment.kubernetes.io/max-replicas";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX,
    "deprecated.deployment.rollback.to",
];

// ---------------------------------------------------------------- helpers

fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn set_rs_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(Default::default).replicas = Some(n);
}

fn rs_status<F: Fn(&k8s_openapi::api::apps::v1::ReplicaSetStatus) -> Option<i32>>(
    rs: &ReplicaSet,
    f: F,
) -> i32 {
    rs.status.as_ref().and_then(f).unwrap_or(0)
}

fn rs_available(rs: &ReplicaSet) -> i32 {
    rs_status(rs, |s| s.available_replicas)
}

fn is_recreate(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("Recreate")
}

/// kube's `GetScaledValueFromIntOrPercent`.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> i32 {
    match v {
        IntOrString::Int(i) => *i,
        IntOrString::String(s) => {
            let pct: i64 = s.trim_end_matches('%').trim().parse().unwrap_or(0);
            let prod = pct * i64::from(total);
            let v = if round_up {
                (prod + 99).div_euclid(100)
            } else {
                prod.div_euclid(100)
            };
            i32::try_from(v).unwrap_or(0)
        }
    }
}

/// kube's `ResolveFenceposts`: (maxSurge, maxUnavailable) for a rolling
/// update, surge rounded up, unavailable down, never both 0.
pub fn fenceposts(d: &Deployment) -> (i32, i32) {
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let quarter = IntOrString::String("25%".into());
    let surge_v = ru
        .and_then(|r| r.max_surge.clone())
        .unwrap_or_else(|| quarter.clone());
    let unav_v = ru
        .and_then(|r| r.max_unavailable.clone())
        .unwrap_or(quarter);
    let desired = replicas(d);
    let surge = scaled_value(&surge_v, desired, true).max(0);
    let mut unavailable = scaled_value(&unav_v, desired, false).max(0);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

fn max_surge(d: &Deployment) -> i32 {
    if is_recreate(d) { 0 } else { fenceposts(d).0 }
}

fn max_unavailable(d: &Deployment) -> i32 {
    if is_recreate(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

/// The revision of a ReplicaSet (0 when absent or malformed).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn created(rs: &ReplicaSet) -> (Option<Timestamp>, String) {
    (
        rs.metadata.creation_timestamp.as_ref().map(|t| t.0),
        rs.name_any(),
    )
}

fn without_hash(t: Option<&PodTemplateSpec>) -> PodTemplateSpec {
    let mut t = t.cloned().unwrap_or_default();
    if let Some(l) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        l.remove(HASH_LABEL);
    }
    t
}

fn annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    rs.metadata.annotations.as_ref()?.get(key)?.parse().ok()
}

fn set_annotation(rs: &mut ReplicaSet, key: &str, value: String) {
    rs.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.to_owned(), value);
}

// ---------------------------------------------------------------- plan

/// What one sync of a Deployment should do.
#[derive(Debug, Default)]
pub struct Plan {
    /// A new ReplicaSet to create.
    pub create: Option<ReplicaSet>,
    /// ReplicaSets whose replicas or annotations change (desired objects).
    pub update: Vec<ReplicaSet>,
    /// Old ReplicaSets to delete (history limit).
    pub delete: Vec<String>,
    /// The Deployment's new status.
    pub status: DeploymentStatus,
    /// The Deployment's revision annotation, if it changes.
    pub revision: Option<String>,
    /// When to look again (progress deadline, waiting on old pods).
    pub requeue_after: Option<Duration>,
}

/// Plans one sync of `d`. `owned` are the ReplicaSets it controls (not
/// being deleted); `old_pods_running` tells whether pods of old
/// ReplicaSets still exist (for Recreate).
pub fn plan(d: &Deployment, owned: &[ReplicaSet], old_pods_running: bool, now: Timestamp) -> Plan {
    let mut out = Plan::default();
    let spec = d.spec.clone().unwrap_or_default();
    let mut status = d.status.clone().unwrap_or_default();
    let mut rses: Vec<ReplicaSet> = owned.to_vec();
    rses.sort_by_key(created);
    let template = without_hash(Some(&spec.template));
    let collision = status.collision_count;
    let hash = pods::template_hash(&spec.template, collision);
    let new_name = format!("{}-{}", d.name_any(), hash);
    let mut new_idx = rses.iter().position(|rs| {
        without_hash(rs.spec.as_ref().and_then(|s| s.template.as_ref())) == template
    });
    if new_idx.is_none() {
        new_idx = rses.iter().position(|rs| rs.name_any() == new_name);
    }
    let max_old_rev = rses
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != new_idx)
        .map(|(_, rs)| revision(rs))
        .max()
        .unwrap_or(0);

    // Paused conditions (kube's checkPausedConditions).
    let paused = spec.paused == Some(true);
    let progressing = cond(&status, "Progressing").cloned();
    if progressing.as_ref().and_then(|c| c.reason.as_deref()) != Some("ProgressDeadlineExceeded") {
        let paused_cond =
            progressing.as_ref().and_then(|c| c.reason.as_deref()) == Some("DeploymentPaused");
        if paused && !paused_cond {
            set_cond(
                &mut status,
                new_cond(
                    "Progressing",
                    "Unknown",
                    "DeploymentPaused",
                    "Deployment is paused".into(),
                    now,
                ),
            );
        } else if !paused && paused_cond {
            set_cond(
                &mut status,
                new_cond(
                    "Progressing",
                    "Unknown",
                    "DeploymentResumed",
                    "Deployment is resumed".into(),
                    now,
                ),
            );
        }
    }

    let scaling_event = rses
        .iter()
        .any(|rs| rs_replicas(rs) > 0 && annotation(rs, DESIRED).is_some_and(|v| v != replicas(d)));
    let deleting = d.metadata.deletion_timestamp.is_some();
    let mut rollout = false;
    let mut created_new = false;

    if deleting {
        // Status only.
    } else if paused || scaling_event {
        scale(d, &mut rses, new_idx);
        if paused {
            out.delete = cleanup(d, &rses, new_idx);
        }
    } else {
        rollout = true;
        // Recreate creates the new ReplicaSet only once old pods are gone.
        let recreate = is_recreate(d);
        let old_active = rses
            .iter()
            .enumerate()
            .any(|(i, rs)| Some(i) != new_idx && rs_replicas(rs) > 0);
        let create_now = !recreate || (!old_active && !old_pods_running);
        if new_idx.is_none() && create_now {
            let rs = new_replicaset(d, &new_name, &hash, max_old_rev + 1);
            out.create = Some(rs.clone());
            rses.push(rs);
            new_idx = Some(rses.len() - 1);
            created_new = true;
            set_cond(
                &mut status,
                new_cond(
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    format!("Created new replica set {new_name:?}"),
                    now,
                ),
            );
        } else if let Some(i) = new_idx {
            // Existing new ReplicaSet: sync its annotations (kube's
            // SetNewReplicaSetAnnotations) and minReadySeconds.
            sync_new_rs_annotations(d, &mut rses[i], max_old_rev + 1);
            if rses[i].spec.as_ref().and_then(|s| s.min_ready_seconds) != spec.min_ready_seconds {
                rses[i]
                    .spec
                    .get_or_insert_with(Default::default)
                    .min_ready_seconds = spec.min_ready_seconds;
            }
            if cond(&status, "Progressing").is_none() {
                let n = rses[i].name_any();
                set_cond(
                    &mut status,
                    new_cond(
                        "Progressing",
                        "True",
                        "FoundNewReplicaSet",
                        format!("Found new replica set {n:?}"),
                        now,
                    ),
                );
            }
        }
        if recreate {
            rollout_recreate(d, &mut rses, new_idx, old_pods_running);
        } else {
            rollout_rolling(d, &mut rses, new_idx);
        }
        if deployment_complete(d, d.status.as_ref().unwrap_or(&DeploymentStatus::default())) {
            out.delete = cleanup(d, &rses, new_idx);
        }
        if recreate && (new_idx.is_none() || old_pods_running) {
            out.requeue_after = Some(Duration::from_secs(2));
        }
    }

    // The ReplicaSets that changed.
    let originals: BTreeMap<String, &ReplicaSet> =
        owned.iter().map(|rs| (rs.name_any(), rs)).collect();
    for (i, rs) in rses.iter().enumerate() {
        if created_new && Some(i) == new_idx {
            continue;
        }
        if let Some(orig) = originals.get(&rs.name_any())
            && (rs_replicas(orig) != rs_replicas(rs)
                || orig.metadata.annotations != rs.metadata.annotations
                || orig.spec.as_ref().and_then(|s| s.min_ready_seconds)
                    != rs.spec.as_ref().and_then(|s| s.min_ready_seconds))
        {
            out.update.push(rs.clone());
        }
    }
    if created_new && let Some(i) = new_idx {
        out.create = Some(rses[i].clone());
    }
    let new_rs = new_idx.map(|i| &rses[i]);
    if let Some(n) = new_rs {
        let rev = n
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .cloned();
        if rev.is_some()
            && d.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                != rev.as_ref()
        {
            out.revision = rev;
        }
    }

    let (new_status, requeue) = rollout_status(d, status, &rses, new_rs, rollout && !deleting, now);
    out.status = new_status;
    out.requeue_after = match (out.requeue_after, requeue) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    out
}

fn new_replicaset(d: &Deployment, name: &str, hash: &str, revision: i64) -> ReplicaSet {
    let spec = d.spec.clone().unwrap_or_default();
    let mut template = spec.template.clone();
    template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.into(), hash.into());
    let mut selector: LabelSelector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.into(), hash.into());
    let mut annotations: BTreeMap<String, String> = d
        .metadata
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !NOT_COPIED.contains(&k.as_str()))
        .collect();
    annotations.insert(REVISION.into(), revision.to_string());
    annotations.insert(DESIRED.into(), replicas(d).to_string());
    annotations.insert(MAX.into(), (replicas(d) + max_surge(d)).to_string());
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: d.metadata.namespace.clone(),
            labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
            annotations: Some(annotations),
            owner_references: Some(vec![pods::controller_ref(
                "apps/v1",
                "Deployment",
                &d.metadata,
            )]),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    }
}

/// kube's `SetNewReplicaSetAnnotations` for an existing new ReplicaSet:
/// copies the Deployment's annotations, moves the revision forward and
/// records the previous one in the revision history.
fn sync_new_rs_annotations(d: &Deployment, rs: &mut ReplicaSet, new_revision: i64) {
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if !NOT_COPIED.contains(&k.as_str()) && ann.get(k) != Some(v) {
            ann.insert(k.clone(), v.clone());
        }
    }
    let old = ann.get(REVISION).cloned();
    let old_int: i64 = old.as_deref().and_then(|r| r.parse().ok()).unwrap_or(0);
    if old_int < new_revision {
        ann.insert(REVISION.into(), new_revision.to_string());
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            let history = match ann.get(REVISION_HISTORY) {
                Some(h) if !h.is_empty() => format!("{h},{old}"),
                _ => old,
            };
            ann.insert(REVISION_HISTORY.into(), history);
        }
    }
}

/// kube's scaleReplicaSet: sets size and the desired/max annotations.
fn scale_to(d: &Deployment, rs: &mut ReplicaSet, n: i32) {
    set_rs_replicas(rs, n.max(0));
    set_annotation(rs, DESIRED, replicas(d).to_string());
    set_annotation(rs, MAX, (replicas(d) + max_surge(d)).to_string());
}

/// kube's `sync`/`scale`: applies a replicas change (paused or not in a
/// rollout), proportionally when several ReplicaSets are active.
fn scale(d: &Deployment, rses: &mut [ReplicaSet], new_idx: Option<usize>) {
    let want = replicas(d);
    let active: Vec<usize> = (0..rses.len())
        .filter(|&i| rs_replicas(&rses[i]) > 0)
        .collect();
    let target = match active.len() {
        0 => new_idx.or_else(|| (!rses.is_empty()).then(|| rses.len() - 1)),
        1 => Some(active[0]),
        _ => None,
    };
    if let Some(i) = target {
        if rs_replicas(&rses[i]) != want || annotation(&rses[i], DESIRED) != Some(want) {
            scale_to(d, &mut rses[i], want);
        }
        return;
    }
    if let Some(n) = new_idx
        && rs_replicas(&rses[n]) == want
        && annotation(&rses[n], DESIRED) == Some(want)
        && rs_available(&rses[n]) == want
    {
        for &i in &active {
            if i != n {
                scale_to(d, &mut rses[i], 0);
            }
        }
        return;
    }
    if is_recreate(d) {
        return;
    }
    // Proportional scaling.
    let total: i32 = active.iter().map(|&i| rs_replicas(&rses[i])).sum();
    let allowed = if want > 0 { want + max_surge(d) } else { 0 };
    let to_add = allowed - total;
    let mut order = active.clone();
    if to_add > 0 {
        // Larger first, newer first on ties.
        order.sort_by(|&a, &b| {
            rs_replicas(&rses[b])
                .cmp(&rs_replicas(&rses[a]))
                .then(b.cmp(&a))
        });
    } else {
        order.sort_by(|&a, &b| {
            rs_replicas(&rses[b])
                .cmp(&rs_replicas(&rses[a]))
                .then(a.cmp(&b))
        });
    }
    let mut sizes: BTreeMap<usize, i32> = BTreeMap::new();
    let mut added = 0;
    let status_replicas = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    for &i in &order {
        let cur = rs_replicas(&rses[i]);
        let mut size = cur;
        if to_add != 0 {
            let fraction = if want == 0 {
                -cur
            } else {
                let annotated = annotation(&rses[i], MAX).unwrap_or(status_replicas);
                if annotated == 0 {
                    0
                } else {
                    let v = f64::from(cur) * f64::from(want + max_surge(d)) / f64::from(annotated);
                    v.round() as i32 - cur
                }
            };
            let left = to_add - added;
            let p = if to_add > 0 {
                fraction.min(left)
            } else {
                fraction.max(left)
            };
            size += p;
            added += p;
        }
        sizes.insert(i, size);
    }
    if let Some(&first) = order.first() {
        let leftover = to_add - added;
        if let Some(s) = sizes.get_mut(&first) {
            *s = (*s + leftover).max(0);
        }
    }
    for (i, size) in sizes {
        if rs_replicas(&rses[i]) != size || annotation(&rses[i], DESIRED) != Some(want) {
            scale_to(d, &mut rses[i], size);
        }
    }
}

/// kube's `NewRSNewReplicas` for a rolling update.
fn new_rs_new_replicas(d: &Deployment, rses: &[ReplicaSet], new_idx: usize) -> i32 {
    let current: i32 = rses.iter().map(rs_replicas).sum();
    let max_total = replicas(d) + max_surge(d);
    let new_cur = rs_replicas(&rses[new_idx]);
    if current >= max_total {
        return new_cur;
    }
    let up = (max_total - current).min(replicas(d) - new_cur).max(0);
    new_cur + up
}

fn rollout_rolling(d: &Deployment, rses: &mut [ReplicaSet], new_idx: Option<usize>) {
    let want = replicas(d);
    // reconcileNewReplicaSet.
    if let Some(n) = new_idx {
        let cur = rs_replicas(&rses[n]);
        if cur > want {
            scale_to(d, &mut rses[n], want);
            return;
        }
        if cur < want {
            let next = new_rs_new_replicas(d, rses, n);
            if next != cur {
                scale_to(d, &mut rses[n], next);
                return;
            }
        } else if annotation(&rses[n], DESIRED) != Some(want) {
            scale_to(d, &mut rses[n], want);
        }
    }
    // reconcileOldReplicaSets.
    let old: Vec<usize> = (0..rses.len()).filter(|&i| Some(i) != new_idx).collect();
    let old_count: i32 = old.iter().map(|&i| rs_replicas(&rses[i])).sum();
    if old_count == 0 {
        return;
    }
    let all: i32 = rses.iter().map(rs_replicas).sum();
    let min_available = want - max_unavailable(d);
    let new_unavailable = new_idx.map_or(0, |n| rs_replicas(&rses[n]) - rs_available(&rses[n]));
    let max_scaled_down = all - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return;
    }
    // cleanupUnhealthyReplicas: old pods that are not available go first.
    let mut cleaned = 0;
    for &i in &old {
        if cleaned >= max_scaled_down {
            break;
        }
        let cur = rs_replicas(&rses[i]);
        let avail = rs_available(&rses[i]);
        if cur == 0 || cur <= avail {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(cur - avail);
        scale_to(d, &mut rses[i], cur - down);
        cleaned += down;
    }
    // scaleDownOldReplicaSetsForRollingUpdate.
    let available: i32 = rses.iter().map(rs_available).sum();
    if available <= min_available {
        return;
    }
    let total_down = available - min_available;
    let mut done = 0;
    for &i in &old {
        if done >= total_down {
            break;
        }
        let cur = rs_replicas(&rses[i]);
        if cur == 0 {
            continue;
        }
        let down = cur.min(total_down - done);
        scale_to(d, &mut rses[i], cur - down);
        done += down;
    }
}

fn rollout_recreate(
    d: &Deployment,
    rses: &mut [ReplicaSet],
    new_idx: Option<usize>,
    old_pods_running: bool,
) {
    let mut scaled_down = false;
    for (i, rs) in rses.iter_mut().enumerate() {
        if Some(i) != new_idx && rs_replicas(rs) > 0 {
            scale_to(d, rs, 0);
            scaled_down = true;
        }
    }
    if scaled_down || old_pods_running {
        return;
    }
    if let Some(n) = new_idx
        && (rs_replicas(&rses[n]) != replicas(d)
            || annotation(&rses[n], DESIRED) != Some(replicas(d)))
    {
        scale_to(d, &mut rses[n], replicas(d));
    }
}

/// kube's `cleanupDeployment`: deletes the oldest old ReplicaSets with no
/// replicas beyond `revisionHistoryLimit` (default 10).
pub fn cleanup(d: &Deployment, rses: &[ReplicaSet], new_idx: Option<usize>) -> Vec<String> {
    let limit = d
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10)
        .max(0) as usize;
    let mut cleanable: Vec<&ReplicaSet> = rses
        .iter()
        .enumerate()
        .filter(|(i, rs)| {
            Some(*i) != new_idx
                && rs_replicas(rs) == 0
                && rs_status(rs, |s| Some(s.replicas)) == 0
                && rs.metadata.deletion_timestamp.is_none()
                && rs.status.as_ref().and_then(|s| s.observed_generation) >= rs.metadata.generation
        })
        .map(|(_, rs)| rs)
        .collect();
    if cleanable.len() <= limit {
        return Vec::new();
    }
    cleanable.sort_by_key(|rs| created(rs));
    let n = cleanable.len() - limit;
    cleanable.iter().take(n).map(|rs| rs.name_any()).collect()
}

fn cond<'a>(s: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    s.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

fn new_cond(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// kube's `SetDeploymentCondition`: no change for the same status and
/// reason; keeps the transition time when the status is unchanged.
fn set_cond(s: &mut DeploymentStatus, mut c: DeploymentCondition) {
    let conds = s.conditions.get_or_insert_with(Vec::new);
    if let Some(cur) = conds.iter().find(|x| x.type_ == c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    conds.retain(|x| x.type_ != c.type_);
    conds.push(c);
}

fn remove_cond(s: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = s.conditions.as_mut() {
        c.retain(|x| x.type_ != type_);
    }
}

/// kube's `DeploymentComplete`.
pub fn deployment_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let want = replicas(d);
    s.updated_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

fn deployment_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let g = |o: Option<i32>| o.unwrap_or(0);
    let old_old = g(old.replicas) - g(old.updated_replicas);
    let new_old = g(new.replicas) - g(new.updated_replicas);
    g(new.updated_replicas) > g(old.updated_replicas)
        || new_old < old_old
        || g(new.ready_replicas) > g(old.ready_replicas)
        || g(new.available_replicas) > g(old.available_replicas)
}

/// kube's `calculateStatus` plus, for rollouts, `syncRolloutStatus`'s
/// Progressing condition. Returns the status and when the progress
/// deadline would pass.
pub fn rollout_status(
    d: &Deployment,
    mut status: DeploymentStatus,
    rses: &[ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    rollout: bool,
    now: Timestamp,
) -> (DeploymentStatus, Option<Duration>) {
    let available: i32 = rses.iter().map(rs_available).sum();
    let total: i32 = rses.iter().map(rs_replicas).sum();
    status.observed_generation = d.metadata.generation;
    status.replicas = Some(
        rses.iter()
            .map(|rs| rs_status(rs, |s| Some(s.replicas)))
            .sum(),
    );
    status.updated_replicas = Some(new_rs.map_or(0, |rs| rs_status(rs, |s| Some(s.replicas))));
    status.ready_replicas = Some(
        rses.iter()
            .map(|rs| rs_status(rs, |s| s.ready_replicas))
            .sum(),
    );
    status.available_replicas = Some(available);
    status.unavailable_replicas = Some((total - available).max(0));
    let now_t = now;
    if available >= replicas(d) - max_unavailable(d) {
        set_cond(
            &mut status,
            new_cond(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                now_t,
            ),
        );
    } else {
        set_cond(
            &mut status,
            new_cond(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                now_t,
            ),
        );
    }
    let mut requeue = None;
    let paused = d.spec.as_ref().and_then(|s| s.paused) == Some(true);
    let deadline = d
        .spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .unwrap_or(600);
    let has_deadline = deadline != i32::MAX;
    if !has_deadline {
        remove_cond(&mut status, "Progressing");
    }
    if rollout && has_deadline && !paused {
        let cur = cond(&status, "Progressing").cloned();
        let complete_already = status.replicas == status.updated_replicas
            && cur.as_ref().and_then(|c| c.reason.as_deref()) == Some("NewReplicaSetAvailable");
        let name = new_rs.map(|rs| rs.name_any());
        if !complete_already {
            if deployment_complete(d, &status) {
                let msg = name
                    .as_ref()
                    .map_or("Deployment has successfully progressed.".to_string(), |n| {
                        format!("ReplicaSet {n:?} has successfully progressed.")
                    });
                set_cond(
                    &mut status,
                    new_cond("Progressing", "True", "NewReplicaSetAvailable", msg, now),
                );
            } else if deployment_progressing(d, &status) {
                let msg = name
                    .as_ref()
                    .map_or("Deployment is progressing.".to_string(), |n| {
                        format!("ReplicaSet {n:?} is progressing.")
                    });
                let mut c = new_cond("Progressing", "True", "ReplicaSetUpdated", msg, now);
                if let Some(cur) = &cur
                    && cur.status == "True"
                {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove_cond(&mut status, "Progressing");
                set_cond(&mut status, c);
            } else if let Some(cur) = &cur {
                let reason = cur.reason.as_deref();
                let last = cur
                    .last_update_time
                    .as_ref()
                    .map(|t| t.0.as_second())
                    .unwrap_or(now.as_second());
                let timed_out = reason == Some("ProgressDeadlineExceeded")
                    || (reason != Some("NewReplicaSetAvailable")
                        && last + i64::from(deadline) < now.as_second());
                if timed_out {
                    let msg = name
                        .as_ref()
                        .map_or("Deployment has timed out progressing.".to_string(), |n| {
                            format!("ReplicaSet {n:?} has timed out progressing.")
                        });
                    set_cond(
                        &mut status,
                        new_cond("Progressing", "False", "ProgressDeadlineExceeded", msg, now),
                    );
                }
            }
        }
        // requeueStuckDeployment.
        if let Some(c) = cond(&status, "Progressing")
            && !matches!(
                c.reason.as_deref(),
                Some("NewReplicaSetAvailable" | "ProgressDeadlineExceeded")
            )
            && !deployment_complete(d, &status)
        {
            let last = c
                .last_update_time
                .as_ref()
                .map(|t| t.0.as_second())
                .unwrap_or(now.as_second());
            let left = last + i64::from(deadline) - now.as_second();
            requeue = Some(Duration::from_secs(
                u64::try_from(left).unwrap_or(0).max(1) + 1,
            ));
        }
    }
    // Surface ReplicaSet failures.
    let failure = new_rs
        .into_iter()
        .chain(rses.iter())
        .filter_map(|rs| rs.status.as_ref()?.conditions.as_ref())
        .flatten()
        .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
        .cloned();
    match failure {
        Some(f) => set_cond(
            &mut status,
            DeploymentCondition {
                type_: "ReplicaFailure".into(),
                status: f.status,
                reason: f.reason,
                message: f.message,
                last_update_time: f.last_transition_time.clone(),
                last_transition_time: f.last_transition_time,
            },
        ),
        None => remove_cond(&mut status, "ReplicaFailure"),
    }
    (status, requeue)
}

// ---------------------------------------------------------------- IO

struct Ctx {
    client: Client,
    pods: Informer<Pod>,
    replicasets: Informer<ReplicaSet>,
}

/// Runs the controller until the future is dropped.
pub async fn run(client: Client, caches: crate::cache::Shared) {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: caches.pods(),
        replicasets: caches.replicasets(),
    });
    Controller::new(Api::<Deployment>::all(client), watcher::Config::default())
        .owns_shared_stream(ctx.replicasets.changes())
        .run(reconcile, sync::retry, ctx)
        .for_each(sync::log_failure("deployment"))
        .await;
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    sync::bounded(sync_once(d, ctx)).await
}

async fn sync_once(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    ctx.pods.store().wait_until_ready().await.ok();
    ctx.replicasets.store().wait_until_ready().await.ok();
    let ns = d.namespace().unwrap_or_default();
    let name = d.name_any();
    let d_uid = d.metadata.uid.clone().unwrap_or_default();
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    let selector = d.spec.as_ref().map(|s| &s.selector);
    if selector.is_none_or(|s| {
        s.match_labels.as_ref().is_none_or(|m| m.is_empty())
            && s.match_expressions.as_ref().is_none_or(|m| m.is_empty())
    }) {
        // kube refuses to act on an empty selector (it would select all pods).
        return Ok(Action::await_change());
    }
    // The ReplicaSets come from the informer whose changes trigger this
    // controller, so a sync triggered by a ReplicaSet event sees at least
    // that event's state.
    let mut owned = Vec::new();
    let candidates = ctx
        .replicasets
        .controlled_by(&d_uid)
        .into_iter()
        .chain(ctx.replicasets.orphans_in(&ns));
    for rs in candidates {
        if rs.metadata.namespace.as_deref() != Some(ns.as_str())
            || rs.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        match pods::controller_of(&rs.metadata) {
            Some(r) if r.uid == d_uid => owned.push(ReplicaSet::clone(&rs)),
            None if d.metadata.deletion_timestamp.is_none()
                && pods::selector_matches(selector, rs.metadata.labels.as_ref()) =>
            {
                // Adopt the orphan.
                let owner = pods::controller_ref("apps/v1", "Deployment", &d.metadata);
                match claim::adopt(&rs_api, &rs, &owner).await {
                    Ok(adopted) => owned.push(adopted),
                    Err(e) => tracing::info!(error = %e, "deployment: adopting replicaset failed"),
                }
            }
            _ => {}
        }
    }
    let now = Timestamp::now();
    // Which ReplicaSet is new is decided by the plan; only Recreate needs
    // to know whether pods of any other owned ReplicaSet still exist.
    let template = without_hash(d.spec.as_ref().map(|s| &s.template));
    let old_pods_running = is_recreate(&d) && {
        let old_uids: Vec<String> = owned
            .iter()
            .filter(|rs| {
                without_hash(rs.spec.as_ref().and_then(|s| s.template.as_ref())) != template
            })
            .filter_map(|rs| rs.metadata.uid.clone())
            .collect();
        old_uids.iter().any(|uid| {
            ctx.pods
                .controlled_by(uid)
                .iter()
                .any(|p| !matches!(pods::phase(p), "Succeeded" | "Failed"))
        })
    };
    let plan = plan(&d, &owned, old_pods_running, now);
    tracing::debug!(
        deployment = %format!("{ns}/{name}"),
        seen = ?owned.iter().map(|rs| (rs.name_any(), rs_replicas(rs), rs_available(rs))).collect::<Vec<_>>(),
        scale = ?plan.update.iter().map(|rs| (rs.name_any(), rs_replicas(rs))).collect::<Vec<_>>(),
        create = plan.create.is_some(),
        "deployment sync"
    );

    if let Some(rs) = &plan.create {
        match rs_api.create(&PostParams::default(), rs).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // A hash collision unless it is ours with our template.
                let existing = rs_api.get(&rs.name_any()).await?;
                let ours = pods::controller_of(&existing.metadata).is_some_and(|r| r.uid == d_uid);
                let same = without_hash(existing.spec.as_ref().and_then(|s| s.template.as_ref()))
                    == template;
                if !(ours && same) {
                    let count = d
                        .status
                        .as_ref()
                        .and_then(|s| s.collision_count)
                        .unwrap_or(0)
                        + 1;
                    let patch = serde_json::json!({"status": {"collisionCount": count}});
                    Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
                        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await?;
                }
                return Ok(Action::requeue(Duration::from_secs(1)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    for rs in &plan.update {
        let patch = serde_json::json!({
            "metadata": {"annotations": rs.metadata.annotations},
            "spec": {
                "replicas": rs_replicas(rs),
                "minReadySeconds": rs.spec.as_ref().and_then(|s| s.min_ready_seconds),
            },
        });
        rs_api
            .patch(
                &rs.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
    }
    for rs_name in &plan.delete {
        match rs_api.delete(rs_name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::info!(replicaset = %rs_name, error = %e, "deployment: history cleanup failed")
            }
        }
    }
    let d_api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    if let Some(rev) = &plan.revision {
        let patch = serde_json::json!({"metadata": {"annotations": {REVISION: rev}}});
        d_api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    // The plan's status carries the observed generation of the object it
    // was planned with (`rollout_status`).
    if !sync::write_status(&d_api, &name, d.status.as_ref(), &plan.status).await? {
        return Ok(Action::await_change());
    }
    // While a rollout is under way, look again soon: the trigger of a sync
    // (a ReplicaSet event) can arrive before the caches it reads have caught
    // up, and a sync that saw nothing to do would otherwise wait for the
    // next event, which may never come.
    let wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let settled = |count: Option<i32>| count.unwrap_or(0) == wanted;
    let status = &plan.status;
    let rolling = !(settled(status.replicas)
        && settled(status.updated_replicas)
        && settled(status.available_replicas));
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    Ok(match plan.requeue_after {
        Some(t) => Action::requeue(t),
        None if rolling && !paused => Action::requeue(Duration::from_secs(1)),
        None => Action::requeue(Duration::from_secs(300)),
    })
}

#[cfg(test)]
mod tests;
