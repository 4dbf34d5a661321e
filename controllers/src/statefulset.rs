//! The StatefulSet controller (kube's `pkg/controller/statefulset`): pods
//! with stable names `<set>-<ordinal>`, stable storage from
//! volumeClaimTemplates, OrderedReady or Parallel management, template
//! history as ControllerRevisions, RollingUpdate with partition (and
//! maxUnavailable) or OnDelete, and the status `kubectl rollout status`
//! reads.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use crate::cache::Informer;
use crate::claim;
use crate::history;
use crate::pods;
use crate::sync::{self, SyncError};

/// The label naming a pod (its stable identity).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label holding a pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// The label holding the revision a pod was made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// One action of a sync, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create the pod of this ordinal from the named revision (its missing
    /// claims first).
    CreatePod { ordinal: i32, revision: String },
    /// Create missing claims of an existing pod's ordinal.
    CreateClaims { ordinal: i32 },
    /// Delete a pod.
    DeletePod(String),
    /// Delete a claim (retention policy Delete on scale down).
    DeleteClaim(String),
}

/// What one sync of a StatefulSet should do.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Actions, in order.
    pub steps: Vec<Step>,
    /// The status from the pods observed (before acting).
    pub status: StatefulSetStatus,
}

/// The parent name and ordinal of a pod name (`<parent>-<ordinal>`).
pub fn parent_and_ordinal(name: &str) -> Option<(&str, i32)> {
    let (parent, ord) = name.rsplit_once('-')?;
    if ord.is_empty() || !ord.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parent, ord.parse().ok()?))
}

/// A pod's name: `<set>-<ordinal>`.
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// A claim's name: `<claim>-<set>-<ordinal>`.
pub fn claim_name(claim: &str, set: &str, ordinal: i32) -> String {
    format!("{claim}-{set}-{ordinal}")
}

/// The claim template names of a set.
pub fn claim_templates(sts: &StatefulSet) -> Vec<String> {
    sts.spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.as_ref())
        .map(|v| v.iter().filter_map(|c| c.metadata.name.clone()).collect())
        .unwrap_or_default()
}

fn revision_of(pod: &Pod) -> &str {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_LABEL))
        .map(String::as_str)
        .unwrap_or("")
}

fn running_and_ready(pod: &Pod) -> bool {
    pods::phase(pod) == "Running" && pods::is_ready(pod)
}

fn healthy(pod: &Pod) -> bool {
    running_and_ready(pod) && !pods::is_terminating(pod)
}

fn failed(pod: &Pod) -> bool {
    matches!(pods::phase(pod), "Failed" | "Succeeded")
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The set's replicas, first ordinal, partition (0 unless RollingUpdate),
/// whether it is OrderedReady and whether it updates by RollingUpdate.
struct Shape {
    replicas: i32,
    start: i32,
    partition: i32,
    ordered: bool,
    rolling: bool,
    max_unavailable: i32,
    min_ready: i32,
}

fn shape(sts: &StatefulSet) -> Shape {
    let spec = sts.spec.as_ref();
    let replicas = spec.and_then(|s| s.replicas).unwrap_or(1).max(0);
    let start = spec
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0)
        .max(0);
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let rolling = strategy
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    let ru = strategy.and_then(|s| s.rolling_update.as_ref());
    let partition = if rolling {
        ru.and_then(|r| r.partition).unwrap_or(0).max(0)
    } else {
        0
    };
    let max_unavailable = match ru.and_then(|r| r.max_unavailable.as_ref()) {
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            i32::try_from(pct * i64::from(replicas) / 100).unwrap_or(1)
        }
        None => 1,
    }
    .max(1);
    Shape {
        replicas,
        start,
        partition,
        ordered: spec
            .and_then(|s| s.pod_management_policy.as_deref())
            .is_none_or(|p| p != "Parallel"),
        rolling,
        max_unavailable,
        min_ready: spec.and_then(|s| s.min_ready_seconds).unwrap_or(0),
    }
}

/// The status of a set from its pods and revisions (kube's
/// `computeReplicaStatus` and `completeRollingUpdate`).
pub fn status(
    sts: &StatefulSet,
    pods: &[&Pod],
    current: &str,
    update: &str,
    collision_count: i32,
    now: Timestamp,
) -> StatefulSetStatus {
    let sh = shape(sts);
    let live: Vec<&&Pod> = pods.iter().filter(|p| !pods::is_terminating(p)).collect();
    let ready = live.iter().filter(|p| running_and_ready(p)).count();
    let available = live
        .iter()
        .filter(|p| running_and_ready(p) && pods::is_available(p, sh.min_ready, now))
        .count();
    let updated = live.iter().filter(|p| revision_of(p) == update).count();
    let mut current_rev = current.to_owned();
    let mut current_n = live.iter().filter(|p| revision_of(p) == current).count();
    let replicas = live.len();
    if updated == replicas && ready == replicas && replicas == sh.replicas as usize {
        current_rev = update.to_owned();
        current_n = updated;
    }
    StatefulSetStatus {
        observed_generation: sts.metadata.generation,
        replicas: count(replicas),
        ready_replicas: Some(count(ready)),
        available_replicas: Some(count(available)),
        current_replicas: Some(count(current_n)),
        updated_replicas: Some(count(updated)),
        current_revision: Some(current_rev),
        update_revision: Some(update.to_owned()),
        collision_count: Some(collision_count),
        conditions: sts
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .filter(|c| !c.is_empty()),
    }
}

/// Plans one sync (kube's `updateStatefulSet`). `owned` are the set's pods,
/// `claims` the names of the claims existing in its namespace, `current`
/// and `update` the revision names.
pub fn plan(
    sts: &StatefulSet,
    owned: &[&Pod],
    claims: &BTreeSet<String>,
    current: &str,
    update: &str,
    collision_count: i32,
    now: Timestamp,
) -> Plan {
    let mut out = Plan {
        status: status(sts, owned, current, update, collision_count, now),
        ..Plan::default()
    };
    if sts.metadata.deletion_timestamp.is_some() {
        return out;
    }
    let name = sts.name_any();
    let sh = shape(sts);
    let end = sh.start.saturating_add(sh.replicas);
    let by_ord: BTreeMap<i32, &Pod> = owned
        .iter()
        .filter_map(|p| {
            let n = p.metadata.name.as_deref()?;
            let (parent, ord) = parent_and_ordinal(n)?;
            (parent == name).then_some((ord, *p))
        })
        .collect();
    let templates = claim_templates(sts);
    let missing_claims = |ord: i32| {
        templates
            .iter()
            .any(|t| !claims.contains(&claim_name(t, &name, ord)))
    };

    // Replicas, lowest ordinal first.
    for ord in sh.start..end {
        match by_ord.get(&ord) {
            None => {
                let revision = if sh.rolling && ord < sh.start.saturating_add(sh.partition) {
                    current
                } else {
                    update
                };
                out.steps.push(Step::CreatePod {
                    ordinal: ord,
                    revision: revision.to_owned(),
                });
                if sh.ordered {
                    return out;
                }
            }
            Some(pod) if failed(pod) && !pods::is_terminating(pod) => {
                out.steps.push(Step::DeletePod(pod.name_any()));
                if sh.ordered {
                    return out;
                }
            }
            Some(pod) => {
                if missing_claims(ord) && !pods::is_terminating(pod) {
                    out.steps.push(Step::CreateClaims { ordinal: ord });
                }
                if sh.ordered && !healthy(pod) {
                    return out;
                }
            }
        }
    }

    // Condemned pods (outside the range), highest ordinal first.
    let condemned: Vec<(i32, &Pod)> = by_ord
        .iter()
        .rev()
        .filter(|(o, _)| **o < sh.start || **o >= end)
        .map(|(o, p)| (*o, *p))
        .collect();
    for (_, pod) in &condemned {
        if pods::is_terminating(pod) {
            if sh.ordered {
                return out;
            }
            continue;
        }
        out.steps.push(Step::DeletePod(pod.name_any()));
        if sh.ordered {
            return out;
        }
    }
    if !condemned.is_empty() && sh.ordered {
        return out;
    }

    // Claims of ordinals scaled away (retention whenScaled: Delete), once
    // their pod is gone.
    let when_scaled_delete = sts
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
        .and_then(|p| p.when_scaled.as_deref())
        == Some("Delete");
    if when_scaled_delete {
        for c in claims {
            for t in &templates {
                let Some(rest) = c.strip_prefix(&format!("{t}-")) else {
                    continue;
                };
                if let Some((parent, ord)) = parent_and_ordinal(rest)
                    && parent == name
                    && (ord < sh.start || ord >= end)
                    && !by_ord.contains_key(&ord)
                {
                    out.steps.push(Step::DeleteClaim(c.clone()));
                }
            }
        }
    }

    // Rolling update: highest ordinal first, down to the partition, within
    // maxUnavailable (1 unless set), waiting for health.
    if !sh.rolling {
        return out;
    }
    let replicas: Vec<(i32, Option<&Pod>)> = (sh.start..end)
        .map(|o| (o, by_ord.get(&o).copied()))
        .collect();
    let unavailable = replicas
        .iter()
        .filter(|(_, p)| p.is_none_or(|p| !healthy(p)))
        .count();
    let mut budget = usize::try_from(sh.max_unavailable).unwrap_or(1);
    if unavailable >= budget {
        // Old pods already down may still be replaced.
        budget = 0;
    } else {
        budget -= unavailable;
    }
    let floor = sh.start.saturating_add(sh.partition);
    for (ord, pod) in replicas.iter().rev() {
        if *ord < floor {
            break;
        }
        let Some(pod) = pod else { continue };
        if revision_of(pod) != update && !pods::is_terminating(pod) {
            if !healthy(pod) {
                out.steps.push(Step::DeletePod(pod.name_any()));
                continue;
            }
            if budget == 0 {
                break;
            }
            budget -= 1;
            out.steps.push(Step::DeletePod(pod.name_any()));
            continue;
        }
        if sh.max_unavailable <= 1 && !healthy(pod) {
            break;
        }
    }
    out
}

/// The pod of `ordinal` from `template` (revision `revision`).
pub fn new_pod(sts: &StatefulSet, template: &PodTemplateSpec, ordinal: i32, revision: &str) -> Pod {
    let name = sts.name_any();
    let pname = pod_name(&name, ordinal);
    let tm = template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), pname.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(REVISION_LABEL.into(), revision.to_owned());
    let mut spec = template.spec.clone().unwrap_or_default();
    spec.hostname = Some(pname.clone());
    if let Some(svc) = sts
        .spec
        .as_ref()
        .and_then(|s| s.service_name.clone())
        .filter(|s| !s.is_empty())
    {
        spec.subdomain = Some(svc);
    }
    let templates = claim_templates(sts);
    if !templates.is_empty() {
        let mut vols: Vec<Volume> = spec
            .volumes
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !templates.contains(&v.name))
            .collect();
        for t in &templates {
            vols.push(Volume {
                name: t.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim_name(t, &name, ordinal),
                    read_only: None,
                }),
                ..Volume::default()
            });
        }
        spec.volumes = Some(vols);
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(pname),
            namespace: sts.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![pods::controller_ref(
                "apps/v1",
                "StatefulSet",
                &sts.metadata,
            )]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// The claims of `ordinal` (owned by the set when whenDeleted is Delete).
pub fn new_claims(sts: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let name = sts.name_any();
    let spec = sts.spec.as_ref();
    let owned = spec
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
        .and_then(|p| p.when_deleted.as_deref())
        == Some("Delete");
    let sel_labels = spec
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default();
    spec.and_then(|s| s.volume_claim_templates.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| {
            let tname = t.metadata.name.clone()?;
            let mut labels = t.metadata.labels.clone().unwrap_or_default();
            labels.extend(sel_labels.clone());
            Some(PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(&tname, &name, ordinal)),
                    namespace: sts.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: t.metadata.annotations.clone(),
                    owner_references: owned.then(|| {
                        vec![pods::controller_ref(
                            "apps/v1",
                            "StatefulSet",
                            &sts.metadata,
                        )]
                    }),
                    ..ObjectMeta::default()
                },
                spec: t.spec.clone(),
                status: None,
            })
        })
        .collect()
}

struct Ctx {
    client: Client,
    pods: Informer<Pod>,
}

/// Runs the controller until the future is dropped.
pub async fn run(client: Client, caches: crate::cache::Shared) {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: caches.pods(),
    });
    let api: Api<StatefulSet> = Api::all(client);
    Controller::new(api, watcher::Config::default())
        .owns_shared_stream(ctx.pods.changes())
        .run(reconcile, sync::retry, ctx)
        .for_each(sync::log_failure("statefulset"))
        .await;
}

fn ignore_404<T>(r: Result<T, kube::Error>, what: &str, name: &str) -> Result<(), kube::Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => {
            tracing::info!(object = %name, error = %e, "statefulset: {what} failed");
            Err(e)
        }
    }
}

async fn reconcile(sts: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    sync::bounded(sync_once(sts, ctx)).await
}

/// Creates the claims of `ordinal` that `existing` lacks.
async fn create_missing_claims(
    api: &Api<PersistentVolumeClaim>,
    sts: &StatefulSet,
    ordinal: i32,
    existing: &BTreeSet<String>,
) -> Result<(), SyncError> {
    for c in new_claims(sts, ordinal) {
        if !existing.contains(&c.name_any()) {
            ignore_404(
                api.create(&PostParams::default(), &c).await,
                "claim create",
                &c.name_any(),
            )?;
        }
    }
    Ok(())
}

async fn sync_once(sts: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    ctx.pods.store().wait_until_ready().await.ok();
    let ns = sts.namespace().unwrap_or_default();
    let name = sts.name_any();
    let uid = sts.metadata.uid.clone().unwrap_or_default();
    let now = Timestamp::now();
    let mut owned = ctx.pods.controlled_by(&uid);
    let orphans = ctx.pods.orphans_in(&ns);
    let spec = sts.spec.as_ref();
    let owner = history::Owner::new(
        "StatefulSet",
        &sts.metadata,
        spec.map(|s| &s.selector),
        spec.map(|s| &s.template),
        sts.status.as_ref().and_then(|s| s.collision_count),
    );
    // Its pods whose labels were edited away are let go (and replaced).
    // Orphans named like this set's pods are its own, left by an orphaning
    // delete: take them back rather than replace them.
    let member = |p: &Pod| parent_and_ordinal(&p.name_any()).is_some_and(|(set, _)| set == name);
    claim::release_strays(
        &Api::namespaced(ctx.client.clone(), &ns),
        &mut owned,
        owner.claim_selector.as_ref(),
        member,
        &uid,
    )
    .await;
    owned.extend(
        claim::adopt_orphans(
            &Api::namespaced(ctx.client.clone(), &ns),
            &orphans,
            owner.claim_selector.as_ref(),
            member,
            &owner.reference,
        )
        .await,
    );
    let owned_refs: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();

    // Revisions.
    let rev_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let revs = history::owned(&rev_api, &owner).await?;
    let template = &owner.template;
    let cc0 = owner.collision_count;
    let (update_rev, cc) = if sts.metadata.deletion_timestamp.is_some() {
        let n = sts
            .status
            .as_ref()
            .and_then(|s| s.update_revision.clone())
            .unwrap_or_default();
        let r = revs
            .iter()
            .find(|r| r.name_any() == n)
            .cloned()
            .unwrap_or_default();
        (r, cc0)
    } else {
        history::ensure(&rev_api, &owner, &revs).await?
    };
    let update_name = update_rev.name_any();
    let current_name = sts
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .filter(|c| revs.iter().any(|r| &r.name_any() == c))
        .unwrap_or_else(|| update_name.clone());
    let current_template = revs
        .iter()
        .find(|r| r.name_any() == current_name)
        .and_then(history::template_of)
        .unwrap_or_else(|| template.clone());

    // Claims.
    let pvc_api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
    let claims: BTreeSet<String> = if claim_templates(&sts).is_empty() {
        BTreeSet::new()
    } else {
        pvc_api
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(|c| c.name_any())
            .collect()
    };

    let plan = plan(
        &sts,
        &owned_refs,
        &claims,
        &current_name,
        &update_name,
        cc,
        now,
    );
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let mut acted = false;
    for step in &plan.steps {
        acted = true;
        match step {
            Step::CreatePod { ordinal, revision } => {
                let tmpl = if *revision == update_name {
                    template
                } else {
                    &current_template
                };
                create_missing_claims(&pvc_api, &sts, *ordinal, &claims).await?;
                let pod = new_pod(&sts, tmpl, *ordinal, revision);
                tracing::debug!(statefulset = %name, pod = %pod.name_any(), "creating pod");
                ignore_404(
                    pods_api.create(&PostParams::default(), &pod).await,
                    "pod create",
                    &pod.name_any(),
                )?;
            }
            Step::CreateClaims { ordinal } => {
                create_missing_claims(&pvc_api, &sts, *ordinal, &claims).await?;
            }
            Step::DeletePod(p) => {
                tracing::debug!(statefulset = %name, pod = %p, "deleting pod");
                ignore_404(
                    pods_api.delete(p, &DeleteParams::default()).await,
                    "pod delete",
                    p,
                )?;
            }
            Step::DeleteClaim(c) => {
                ignore_404(
                    pvc_api.delete(c, &DeleteParams::default()).await,
                    "claim delete",
                    c,
                )?;
            }
        }
    }

    // History: keep the live revisions and revisionHistoryLimit others.
    let mut live: HashSet<String> = owned_refs
        .iter()
        .map(|p| revision_of(p).to_owned())
        .collect();
    live.insert(update_name.clone());
    live.insert(current_name.clone());
    let limit = sts
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    let mut all_revs = revs.clone();
    if !all_revs.iter().any(|r| r.name_any() == update_name) {
        all_revs.push(update_rev.clone());
    }
    history::delete(&rev_api, &history::to_truncate(&all_revs, &live, limit)).await;

    if sts.metadata.deletion_timestamp.is_none() {
        let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ns);
        sync::write_status(&api, &name, sts.status.as_ref(), &plan.status).await?;
    }
    let min_ready = sts
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let wait = pods::soonest_available(owned_refs.iter().copied(), min_ready, now);
    // The pod store is a separate watch from the one that triggered this
    // sync and may lag it: poll while the set has not settled.
    let st = &plan.status;
    let want = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let settled = st.replicas == want
        && st.ready_replicas.unwrap_or(0) == want
        && st.updated_replicas.unwrap_or(0) == want
        && owned_refs.len() == usize::try_from(want).unwrap_or(0);
    Ok(match (acted || !settled, wait) {
        (_, Some(s)) => Action::requeue(Duration::from_secs(u64::try_from(s).unwrap_or(1).max(1))),
        (true, None) => Action::requeue(Duration::from_secs(2)),
        (false, None) => Action::requeue(Duration::from_secs(300)),
    })
}

#[cfg(test)]
mod tests;
