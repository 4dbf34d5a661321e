//! The Job controller (kube's `pkg/controller/job`) with the
//! ttl-after-finished controller folded in: runs pods from the template
//! until `completions` succeed (NonIndexed or Indexed), within
//! `parallelism`, `backoffLimit` and `activeDeadlineSeconds`; honours
//! `suspend`; tracks finished pods with the `batch.kubernetes.io/job-tracking`
//! finalizer and `status.uncountedTerminatedPods` exactly as kube does, so
//! a pod is counted once even across crashes; deletes finished Jobs after
//! `ttlSecondsAfterFinished`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use crate::cache::Informer;
use crate::pods;
use crate::replicaset::Expectations;
use crate::sync::{self, SyncError};

/// The finalizer that keeps a finished pod until the Job has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The completion index of an Indexed Job's pod (annotation and label).
pub const INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";
/// kube's default backoffLimit.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;
/// kube's pod-failure backoff: 10 s doubling up to 6 min.
pub const BACKOFF_BASE_SECS: i64 = 10;
pub const BACKOFF_MAX_SECS: i64 = 360;
/// At most this many pod creates per sync (kube's burst).
pub const BURST: usize = 500;

/// What one sync of a Job should do.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Pods to create: `None` for NonIndexed, `Some(index)` for Indexed.
    pub create: Vec<Option<i32>>,
    /// Active pods to delete.
    pub delete: Vec<String>,
    /// Pods whose tracking finalizer to remove (after the status is written).
    pub remove_finalizers: Vec<String>,
    /// The wanted status.
    pub status: JobStatus,
    /// Delete the Job itself (TTL after finished expired).
    pub delete_job: bool,
    /// Seconds until the next timed event (deadline, backoff, TTL).
    pub requeue_after: Option<i64>,
}

fn has_finalizer(p: &Pod) -> bool {
    p.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == TRACKING_FINALIZER))
}

fn uid(meta: &ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_default()
}

/// The finished condition (Complete or Failed, status True) of a Job.
pub fn finished_condition(job: &Job) -> Option<&JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}

fn has_condition(status: &JobStatus, type_: &str) -> bool {
    status
        .conditions
        .as_ref()
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == type_ && c.status == "True"))
}

/// Sets a condition (kube's `ensureJobConditionStatus`): a new one is
/// appended; an existing one changes transition time only when its status
/// flips.
pub fn set_condition(
    status: &mut JobStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = conds.iter_mut().find(|c| c.type_ == type_) {
        if c.status != value {
            c.status = value.to_owned();
            c.last_transition_time = Some(Time(now));
        }
        c.reason = Some(reason.to_owned());
        c.message = Some(message.to_owned());
        c.last_probe_time = Some(Time(now));
    } else if value == "True" {
        conds.push(JobCondition {
            type_: type_.to_owned(),
            status: value.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            last_probe_time: Some(Time(now)),
            last_transition_time: Some(Time(now)),
        });
    }
}

fn condition_of<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// The completion index of a pod (annotation, then label).
pub fn pod_index(p: &Pod) -> Option<i32> {
    let m = &p.metadata;
    m.annotations
        .as_ref()
        .and_then(|a| a.get(INDEX_KEY))
        .or_else(|| m.labels.as_ref().and_then(|l| l.get(INDEX_KEY)))
        .and_then(|v| v.parse().ok())
}

/// Renders indexes as kube's compressed interval list ("1,3-5,7").
pub fn format_indexes(set: &BTreeSet<i32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

/// Parses kube's interval list; malformed parts are ignored.
pub fn parse_indexes(s: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>())
                    && a <= b
                    && b - a < 1_000_000
                {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    out.insert(a);
                }
            }
        }
    }
    out
}

/// When a terminal pod finished: its containers' latest finish time, else
/// its latest condition transition, else its creation.
fn finish_time(p: &Pod) -> Option<Timestamp> {
    let st = p.status.as_ref();
    st.and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| {
            cs.iter()
                .filter_map(|c| {
                    c.state
                        .as_ref()?
                        .terminated
                        .as_ref()?
                        .finished_at
                        .as_ref()
                        .map(|t| t.0)
                })
                .max()
        })
        .or_else(|| {
            st.and_then(|s| s.conditions.as_ref()).and_then(|cs| {
                cs.iter()
                    .filter_map(|c| c.last_transition_time.as_ref().map(|t| t.0))
                    .max()
            })
        })
        .or_else(|| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Whether a pod counts as failed (kube's `isPodFailed` without a pod
/// failure policy): phase Failed, or deleted before it succeeded.
fn is_failed(p: &Pod) -> bool {
    pods::phase(p) == "Failed" || (pods::is_terminating(p) && pods::phase(p) != "Succeeded")
}

/// Plans one sync of `job` given the pods it controls (any phase) at `now`.
/// `may_act` is false while creates/deletes are unobserved (status only).
pub fn plan(job: &Job, owned: &[&Pod], may_act: bool, now: Timestamp) -> Plan {
    let mut out = Plan::default();
    let spec = job.spec.clone().unwrap_or_default();
    let old = job.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    let deleting = job.metadata.deletion_timestamp.is_some();
    let finished_before = finished_condition(job).is_some();

    // Finished-pod accounting through uncountedTerminatedPods.
    let uncounted = old.uncounted_terminated_pods.clone().unwrap_or_default();
    let mut unc_succ: BTreeSet<String> = uncounted
        .succeeded
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut unc_fail: BTreeSet<String> = uncounted.failed.unwrap_or_default().into_iter().collect();
    let mut succeeded = old.succeeded.unwrap_or(0);
    let mut failed = old.failed.unwrap_or(0);
    let by_uid: BTreeMap<String, &Pod> = owned.iter().map(|p| (uid(&p.metadata), *p)).collect();
    // Uncounted pods whose finalizer is gone are now counted for good.
    let gone = |u: &String| by_uid.get(u).is_none_or(|p| !has_finalizer(p));
    let done_s: Vec<String> = unc_succ.iter().filter(|u| gone(u)).cloned().collect();
    let done_f: Vec<String> = unc_fail.iter().filter(|u| gone(u)).cloned().collect();
    for u in &done_s {
        unc_succ.remove(u);
        succeeded += 1;
    }
    for u in &done_f {
        unc_fail.remove(u);
        failed += 1;
    }
    let mut completed: BTreeSet<i32> =
        parse_indexes(old.completed_indexes.as_deref().unwrap_or(""));
    let completions = spec.completions;
    let in_range = |i: i32| completions.is_none_or(|c| i >= 0 && i < c);
    for p in owned {
        if !has_finalizer(p) {
            continue;
        }
        let u = uid(&p.metadata);
        let finishing = finished_before || deleting;
        if pods::phase(p) == "Succeeded" && !unc_fail.contains(&u) {
            unc_succ.insert(u.clone());
            if indexed && let Some(i) = pod_index(p).filter(|i| in_range(*i)) {
                completed.insert(i);
            }
        } else if (is_failed(p) || (finishing && pods::phase(p) != "Succeeded"))
            && !unc_succ.contains(&u)
        {
            unc_fail.insert(u.clone());
        }
        if unc_succ.contains(&u) || unc_fail.contains(&u) || finishing {
            out.remove_finalizers.push(p.name_any());
        }
    }
    // kube adds Complete/Failed only once every finished pod is counted.
    let all_counted = unc_succ.is_empty() && unc_fail.is_empty();
    let total_succeeded = succeeded + count(unc_succ.len());
    let total_failed = failed + count(unc_fail.len());
    status.succeeded = Some(succeeded);
    status.failed = Some(failed);
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods {
        succeeded: (!unc_succ.is_empty()).then(|| unc_succ.into_iter().collect()),
        failed: (!unc_fail.is_empty()).then(|| unc_fail.into_iter().collect()),
    });
    if indexed {
        status.completed_indexes = Some(format_indexes(&completed));
    }

    let active: Vec<&Pod> = owned
        .iter()
        .copied()
        .filter(|p| pods::is_active(p))
        .collect();
    let terminating = owned
        .iter()
        .filter(|p| pods::is_terminating(p) && !matches!(pods::phase(p), "Succeeded" | "Failed"))
        .count();
    status.active = Some(count(active.len()));
    status.ready = Some(count(active.iter().filter(|p| pods::is_ready(p)).count()));
    status.terminating = Some(count(terminating));

    // TTL after finished.
    if let Some(fc) = finished_condition(job) {
        if let Some(ttl) = spec.ttl_seconds_after_finished {
            let at = fc
                .last_transition_time
                .as_ref()
                .map(|t| t.0)
                .or_else(|| old.completion_time.as_ref().map(|t| t.0))
                .unwrap_or(now);
            let left = at.as_second() + i64::from(ttl) - now.as_second();
            if left <= 0 {
                out.delete_job = !deleting;
            } else {
                out.requeue_after = Some(left);
            }
        }
        // A finished Job only cleans up (stray active pods too).
        if may_act {
            out.delete = active.iter().map(|p| p.name_any()).collect();
        }
        out.status = status;
        return out;
    }
    if deleting {
        out.status = status;
        return out;
    }

    let suspended = spec.suspend == Some(true);
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let backoff_limit = spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);

    // Suspension.
    if suspended {
        if !has_condition(&status, "Suspended") {
            set_condition(
                &mut status,
                "Suspended",
                "True",
                "JobSuspended",
                "Job suspended",
                now,
            );
        }
        status.start_time = None;
    } else {
        if has_condition(&status, "Suspended") {
            set_condition(
                &mut status,
                "Suspended",
                "False",
                "JobResumed",
                "Job resumed",
                now,
            );
            status.start_time = None;
        }
        if status.start_time.is_none() {
            status.start_time = Some(Time(now));
        }
    }

    // Success and failure criteria (kube 1.31: interim conditions first).
    let complete_by_count = if indexed {
        completions.is_some_and(|c| count(completed.len()) >= c)
    } else {
        match completions {
            Some(c) => total_succeeded >= c,
            None => total_succeeded > 0 && active.is_empty(),
        }
    };
    let mut failure: Option<(&str, &str)> =
        condition_of(&status, "FailureTarget").map(|c| match c.reason.as_deref() {
            Some("DeadlineExceeded") => (
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            ),
            _ => (
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ),
        });
    let success_met = has_condition(&status, "SuccessCriteriaMet") || complete_by_count;
    if failure.is_none() && !success_met {
        if total_failed > backoff_limit {
            failure = Some((
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ));
        } else if let (Some(ads), Some(st), false) = (
            spec.active_deadline_seconds,
            status.start_time.as_ref(),
            suspended,
        ) {
            let left = st.0.as_second() + ads - now.as_second();
            if left <= 0 {
                failure = Some((
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                ));
            } else {
                out.requeue_after = Some(left);
            }
        }
    }
    if let Some((reason, message)) = failure {
        set_condition(&mut status, "FailureTarget", "True", reason, message, now);
        if may_act {
            out.delete = active.iter().map(|p| p.name_any()).collect();
        }
        if active.is_empty() && terminating == 0 && all_counted {
            set_condition(&mut status, "Failed", "True", reason, message, now);
        }
        out.status = status;
        return out;
    }
    if success_met {
        const MSG: &str = "Reached expected number of succeeded pods";
        set_condition(
            &mut status,
            "SuccessCriteriaMet",
            "True",
            "CompletionsReached",
            MSG,
            now,
        );
        if may_act {
            out.delete = active.iter().map(|p| p.name_any()).collect();
        }
        if active.is_empty() && terminating == 0 && all_counted {
            set_condition(
                &mut status,
                "Complete",
                "True",
                "CompletionsReached",
                MSG,
                now,
            );
            status.completion_time = Some(Time(now));
        }
        out.status = status;
        return out;
    }
    out.status = status;
    if !may_act {
        return out;
    }
    if suspended {
        out.delete = active.iter().map(|p| p.name_any()).collect();
        return out;
    }

    // Pod-failure backoff: failures since the last success delay creates.
    let last_success = owned
        .iter()
        .filter(|p| pods::phase(p) == "Succeeded")
        .filter_map(|p| finish_time(p))
        .max();
    let recent_failures: Vec<Timestamp> = owned
        .iter()
        .filter(|p| pods::phase(p) == "Failed")
        .filter_map(|p| finish_time(p))
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    let backoff_left = recent_failures.iter().max().map(|last| {
        let n = u32::try_from(recent_failures.len().saturating_sub(1))
            .unwrap_or(31)
            .min(20);
        let delay = (BACKOFF_BASE_SECS << n).min(BACKOFF_MAX_SECS);
        last.as_second() + delay - now.as_second()
    });

    if indexed {
        let Some(c) = completions else {
            return out;
        };
        // Duplicates, out-of-range and completed indexes go.
        let mut seen: HashSet<i32> = HashSet::new();
        let mut sorted = active.clone();
        sorted.sort_by_key(|p| std::cmp::Reverse(pods::is_ready(p)));
        for p in &sorted {
            match pod_index(p) {
                Some(i) if in_range(i) && !completed.contains(&i) && seen.insert(i) => {}
                _ => out.delete.push(p.name_any()),
            }
        }
        let running = count(seen.len());
        let want = parallelism.min(c - count(completed.len())).max(0);
        if running < want {
            if let Some(left) = backoff_left.filter(|l| *l > 0) {
                out.requeue_after = Some(out.requeue_after.map_or(left, |r| r.min(left)));
                return out;
            }
            let n = usize::try_from(want - running).unwrap_or(0).min(BURST);
            out.create = (0..c)
                .filter(|i| !completed.contains(i) && !seen.contains(i))
                .take(n)
                .map(Some)
                .collect();
        } else if running > want {
            // Highest indexes go first.
            let mut keep: Vec<&&Pod> = sorted
                .iter()
                .filter(|p| !out.delete.contains(&p.name_any()))
                .collect();
            keep.sort_by_key(|p| std::cmp::Reverse(pod_index(p)));
            for p in keep
                .iter()
                .take(usize::try_from(running - want).unwrap_or(0))
            {
                out.delete.push(p.name_any());
            }
        }
        return out;
    }

    let n_active = count(active.len());
    let want = match completions {
        None if total_succeeded > 0 => n_active,
        None => parallelism,
        Some(c) => (c - total_succeeded).min(parallelism).max(0),
    };
    if n_active > want {
        let mut ranked = active.clone();
        ranked.sort_by(|a, b| crate::replicaset::rank_for_deletion(a, b, now));
        out.delete = ranked
            .iter()
            .take(usize::try_from(n_active - want).unwrap_or(0))
            .map(|p| p.name_any())
            .collect();
    } else if n_active < want {
        if let Some(left) = backoff_left.filter(|l| *l > 0) {
            out.requeue_after = Some(out.requeue_after.map_or(left, |r| r.min(left)));
            return out;
        }
        let n = usize::try_from(want - n_active).unwrap_or(0).min(BURST);
        out.create = vec![None; n];
    }
    out
}

/// A pod for `job` from its template (with the tracking finalizer and, for
/// Indexed Jobs, the completion index).
pub fn new_pod(job: &Job, index: Option<i32>) -> Pod {
    let name = job.name_any();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tm = template.metadata.unwrap_or_default();
    let job_uid = uid(&job.metadata);
    let mut labels = tm.labels.unwrap_or_default();
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", &job_uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &job_uid),
        ("job-name", &name),
    ] {
        labels.entry(k.to_owned()).or_insert_with(|| v.clone());
    }
    let mut annotations = tm.annotations.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    let mut generate_name = format!("{name}-");
    if let Some(i) = index {
        labels.insert(INDEX_KEY.to_owned(), i.to_string());
        annotations.insert(INDEX_KEY.to_owned(), i.to_string());
        generate_name = format!("{name}-{i}-");
        if spec.hostname.is_none() {
            spec.hostname = Some(format!("{name}-{i}"));
        }
        let env = EnvVar {
            name: "JOB_COMPLETION_INDEX".into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: format!("metadata.labels['{INDEX_KEY}']"),
                }),
                ..Default::default()
            }),
        };
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            let envs = c.env.get_or_insert_with(Vec::new);
            if !envs.iter().any(|e| e.name == env.name) {
                envs.push(env.clone());
            }
        }
    }
    let mut finalizers = tm.finalizers.unwrap_or_default();
    if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
        finalizers.push(TRACKING_FINALIZER.to_owned());
    }
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: Some(finalizers),
            owner_references: Some(vec![pods::controller_ref("batch/v1", "Job", &job.metadata)]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
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
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: pods.clone(),
        expectations: Mutex::new(Expectations::default()),
    });
    let jobs_api: Api<Job> = Api::all(client.clone());
    let controller = Controller::new(jobs_api, watcher::Config::default());
    let job_store = controller.store();
    tokio::spawn(orphan_sweeper(client.clone(), pods.store(), job_store));
    controller
        .watches_shared_stream(pods.changes(), |pod: Arc<Pod>| {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            pods::controller_of(&pod.metadata)
                .filter(|r| r.kind == "Job")
                .map(|r| ObjectRef::new(&r.name).within(&ns))
        })
        .run(reconcile, sync::retry, ctx)
        .for_each(sync::log_failure("job"))
        .await;
}

/// Removes the tracking finalizer from pods whose Job is gone (kube does
/// this for orphans), so a deleted Job's pods can go.
async fn orphan_sweeper(client: Client, pods_store: Store<Pod>, jobs: Store<Job>) {
    if pods_store.wait_until_ready().await.is_err() || jobs.wait_until_ready().await.is_err() {
        return;
    }
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let uids: HashSet<String> = jobs.state().iter().map(|j| uid(&j.metadata)).collect();
        for p in pods_store.state() {
            if !has_finalizer(&p) {
                continue;
            }
            let owner = pods::controller_of(&p.metadata);
            if owner.is_some_and(|r| r.kind == "Job" && uids.contains(&r.uid)) {
                continue;
            }
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            remove_finalizer(&Api::namespaced(client.clone(), &ns), &p).await;
        }
    }
}

async fn remove_finalizer(api: &Api<Pod>, p: &Pod) {
    let rest: Vec<String> = p
        .metadata
        .finalizers
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f != TRACKING_FINALIZER)
        .collect();
    let patch = serde_json::json!({"metadata": {
        "finalizers": rest,
        "resourceVersion": p.metadata.resource_version,
    }});
    match api
        .patch(
            &p.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
        Err(e) => tracing::info!(pod = %p.name_any(), error = %e, "job: finalizer removal failed"),
    }
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    sync::bounded(sync_once(job, ctx)).await
}

async fn sync_once(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let key = format!("{ns}/{name}");
    let job_uid = uid(&job.metadata);
    let now = Timestamp::now();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    // The informer whose changes trigger this controller: a sync triggered
    // by a pod event sees at least that event's state.
    ctx.pods.store().wait_until_ready().await.ok();
    let all = ctx.pods.controlled_by(&job_uid);
    let may_act = ctx
        .expectations
        .lock()
        .map(|mut e| e.satisfied(&key, &all, now))
        .unwrap_or(true);
    let owned: Vec<&Pod> = all.iter().map(|p| p.as_ref()).collect();
    let plan = plan(&job, &owned, may_act, now);
    let jobs_api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);

    if plan.delete_job {
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        tracing::info!(job = %key, "job: TTL after finished expired, deleting");
        match jobs_api.delete(&name, &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        ctx.expectations.lock().map(|mut e| e.forget(&key)).ok();
        return Ok(Action::await_change());
    }

    // Status first: finished pods are recorded as uncounted before their
    // finalizers go.
    let current = job.status.as_ref();
    if !pods::same_status(current, &plan.status) {
        let mut updated = (*job).clone();
        updated.status = Some(plan.status.clone());
        match jobs_api
            .replace_status(&name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            // Someone else wrote the Job since: look again at once.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                return Ok(Action::requeue(Duration::from_millis(500)));
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Action::await_change()),
            Err(e) => return Err(e.into()),
        }
    }
    let by_name: BTreeMap<String, &Arc<Pod>> = all.iter().map(|p| (p.name_any(), p)).collect();
    for n in &plan.remove_finalizers {
        if let Some(p) = by_name.get(n) {
            remove_finalizer(&pods_api, p).await;
        }
    }
    let mut deleted = Vec::new();
    for n in &plan.delete {
        match pods_api.delete(n, &DeleteParams::default()).await {
            Ok(_) => {
                if let Some(u) = by_name.get(n).and_then(|p| p.metadata.uid.clone()) {
                    deleted.push(u);
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => tracing::info!(pod = %n, error = %e, "job: pod delete failed"),
        }
    }
    let mut created = Vec::new();
    if !plan.create.is_empty() {
        let pp = PostParams::default();
        for batch in crate::replicaset::slow_start_batches(plan.create.len()) {
            let start = created.len();
            let slice: Vec<Option<i32>> = plan
                .create
                .iter()
                .skip(start)
                .take(batch)
                .copied()
                .collect();
            let new_pods: Vec<Pod> = slice.iter().map(|i| new_pod(&job, *i)).collect();
            let results =
                futures::future::join_all(new_pods.iter().map(|p| pods_api.create(&pp, p))).await;
            let mut failed = false;
            for r in results {
                match r {
                    Ok(p) => created.push(p.name_any()),
                    Err(e) => {
                        tracing::info!(job = %key, error = %e, "job: pod create failed");
                        failed = true;
                    }
                }
            }
            if failed {
                break;
            }
        }
    }
    if let Ok(mut e) = ctx.expectations.lock() {
        e.expect(&key, created, deleted, Timestamp::now());
    }
    Ok(match plan.requeue_after {
        Some(s) => Action::requeue(Duration::from_secs(u64::try_from(s.max(1)).unwrap_or(1))),
        None => Action::await_change(),
    })
}

#[cfg(test)]
mod tests;
