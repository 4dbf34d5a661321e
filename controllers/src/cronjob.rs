//! The CronJob controller (kube's `pkg/controller/cronjob`, v2): creates a
//! Job per schedule time (in `spec.timeZone`), honouring
//! `startingDeadlineSeconds`, `concurrencyPolicy` and `suspend`; keeps
//! `status.active`, `lastScheduleTime` and `lastSuccessfulTime`; deletes
//! finished Jobs beyond the history limits; requeues at the next schedule
//! time.

pub mod schedule;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use crate::job::finished_condition;
use crate::pods;
use crate::sync::{self, SyncError};
pub use schedule::Schedule;

/// The annotation with a Job's scheduled time (RFC 3339, CronJob's zone).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// kube's limit on reported missed start times.
pub const MAX_MISSED: usize = 100;

/// What one sync of a CronJob should do.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// The status (the created Job's reference is added by the caller).
    pub status: CronJobStatus,
    /// Create the Job for this scheduled time.
    pub create: Option<Timestamp>,
    /// Active Jobs to delete first (Replace).
    pub replace: Vec<String>,
    /// Finished Jobs beyond the history limits.
    pub delete_history: Vec<String>,
    /// When to sync again (milliseconds), if ever.
    pub requeue_after_ms: Option<i64>,
    /// Why nothing is scheduled (bad schedule or zone), for the log.
    pub problem: Option<String>,
    /// Too many missed start times were skipped.
    pub missed_too_many: bool,
}

/// The name of the Job for a scheduled time (minutes since the epoch).
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

fn is_succeeded(j: &Job) -> bool {
    finished_condition(j).is_some_and(|c| c.type_ == "Complete")
}

fn started(j: &Job) -> Option<Timestamp> {
    j.status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .or(j.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}

/// The zone of a CronJob: `spec.timeZone`, else `local`.
pub fn zone_of(cj: &CronJob, local: &TimeZone) -> Result<TimeZone, String> {
    match cj.spec.as_ref().and_then(|s| s.time_zone.as_deref()) {
        None | Some("") => Ok(local.clone()),
        Some(z) => TimeZone::get(z).map_err(|e| format!("invalid timeZone {z:?}: {e}")),
    }
}

/// Plans one sync. `jobs` are the Jobs the CronJob controls.
pub fn plan(cj: &CronJob, jobs: &[&Job], local: &TimeZone, now: Timestamp) -> Plan {
    let mut out = Plan::default();
    let spec = cj.spec.clone().unwrap_or_default();
    let old = cj.status.clone().unwrap_or_default();
    let mut status = old.clone();
    if cj.metadata.deletion_timestamp.is_some() {
        out.status = status;
        return out;
    }

    // Active list: drop finished and vanished Jobs.
    let by_uid: BTreeMap<&str, &Job> = jobs
        .iter()
        .filter_map(|j| Some((j.metadata.uid.as_deref()?, *j)))
        .collect();
    let mut active: Vec<ObjectReference> = old.active.clone().unwrap_or_default();
    active.retain(|r| {
        r.uid
            .as_deref()
            .and_then(|u| by_uid.get(u))
            .is_some_and(|j| finished_condition(j).is_none())
    });
    for j in jobs {
        if is_succeeded(j)
            && let Some(ct) = j.status.as_ref().and_then(|s| s.completion_time.clone())
            && status
                .last_successful_time
                .as_ref()
                .is_none_or(|l| l.0 < ct.0)
        {
            status.last_successful_time = Some(ct);
        }
    }

    // History cleanup (kube does it every sync).
    let history = |succeeded: bool, limit: i32| -> Vec<String> {
        let mut done: Vec<&&Job> = jobs
            .iter()
            .filter(|j| finished_condition(j).is_some() && is_succeeded(j) == succeeded)
            .filter(|j| j.metadata.deletion_timestamp.is_none())
            .collect();
        done.sort_by_key(|j| (started(j), j.name_any()));
        let extra = done
            .len()
            .saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
        done.iter().take(extra).map(|j| j.name_any()).collect()
    };
    out.delete_history = history(true, spec.successful_jobs_history_limit.unwrap_or(3));
    out.delete_history
        .extend(history(false, spec.failed_jobs_history_limit.unwrap_or(1)));

    let finish = |mut out: Plan, status: CronJobStatus, active: Vec<ObjectReference>| {
        let mut status = status;
        status.active = (!active.is_empty()).then_some(active);
        out.status = status;
        out
    };

    let tz = match zone_of(cj, local) {
        Ok(tz) => tz,
        Err(e) => {
            out.problem = Some(e);
            return finish(out, status, active);
        }
    };
    let sched = match Schedule::parse(&spec.schedule) {
        Ok(s) => s,
        Err(e) => {
            out.problem = Some(format!("unparseable schedule {:?}: {e}", spec.schedule));
            return finish(out, status, active);
        }
    };
    if spec.suspend == Some(true) {
        return finish(out, status, active);
    }
    let next_ms = sched
        .next(now, &tz)
        .map(|n| (n.as_millisecond() - now.as_millisecond()).max(0) + 100);
    out.requeue_after_ms = next_ms;

    // The most recent unmet schedule time in (earliest, now].
    let mut earliest = old
        .last_schedule_time
        .as_ref()
        .or(cj.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
        .unwrap_or(now);
    if let Some(sds) = spec.starting_deadline_seconds {
        let bound = Timestamp::from_second(now.as_second() - sds).unwrap_or(now);
        earliest = earliest.max(bound);
    }
    let Some(scheduled) = sched.prev_or_at(now, &tz).filter(|t| *t > earliest) else {
        return finish(out, status, active);
    };
    let mut missed = 0usize;
    let mut t = earliest;
    while let Some(n) = sched.next(t, &tz) {
        if n > now || missed > MAX_MISSED {
            break;
        }
        missed += 1;
        t = n;
    }
    out.missed_too_many = missed > MAX_MISSED;
    if let Some(sds) = spec.starting_deadline_seconds
        && scheduled.as_second() + sds < now.as_second()
    {
        return finish(out, status, active);
    }
    let name = job_name(&cj.name_any(), scheduled);
    let exists = jobs.iter().any(|j| j.name_any() == name)
        || active
            .iter()
            .any(|r| r.name.as_deref() == Some(name.as_str()));
    if exists
        || old
            .last_schedule_time
            .as_ref()
            .is_some_and(|l| l.0 == scheduled)
    {
        return finish(out, status, active);
    }
    match spec.concurrency_policy.as_deref() {
        Some("Forbid") if !active.is_empty() => return finish(out, status, active),
        Some("Replace") => {
            out.replace = active.iter().filter_map(|r| r.name.clone()).collect();
            active.clear();
        }
        _ => {}
    }
    out.create = Some(scheduled);
    status.last_schedule_time = Some(Time(scheduled));
    finish(out, status, active)
}

/// Go's RFC 3339 rendering (`Z` for UTC).
fn rfc3339(t: Timestamp, tz: &TimeZone) -> String {
    let z = t.to_zoned(tz.clone());
    if z.offset().seconds() == 0 {
        z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// The Job for a scheduled time (kube's `getJobFromTemplate2`).
pub fn new_job(cj: &CronJob, scheduled: Timestamp, tz: &TimeZone) -> Job {
    let tmpl = cj
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .unwrap_or_default();
    let tm = tmpl.metadata.unwrap_or_default();
    let mut annotations = tm.annotations.unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP.to_owned(), rfc3339(scheduled, tz));
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(&cj.name_any(), scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![pods::controller_ref(
                "batch/v1",
                "CronJob",
                &cj.metadata,
            )]),
            ..ObjectMeta::default()
        },
        spec: tmpl.spec,
        status: None,
    }
}

fn job_ref(j: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: j.metadata.name.clone(),
        namespace: j.metadata.namespace.clone(),
        uid: j.metadata.uid.clone(),
        resource_version: j.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

struct Ctx {
    client: Client,
    local: TimeZone,
}

/// Runs the controller until the future is dropped.
pub async fn run(client: Client) {
    let jobs_all: Api<Job> = Api::all(client.clone());
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        local: TimeZone::try_system().unwrap_or(TimeZone::UTC),
    });
    let api: Api<CronJob> = Api::all(client);
    Controller::new(api, watcher::Config::default())
        .watches(jobs_all, watcher::Config::default(), |j: Job| {
            let ns = j.metadata.namespace.clone().unwrap_or_default();
            pods::controller_of(&j.metadata)
                .filter(|r| r.kind == "CronJob")
                .map(|r| ObjectRef::new(&r.name).within(&ns))
        })
        .run(reconcile, sync::retry, ctx)
        .for_each(sync::log_failure("cronjob"))
        .await;
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    sync::bounded(sync_once(cj, ctx)).await
}

async fn sync_once(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    let ns = cj.namespace().unwrap_or_default();
    let name = cj.name_any();
    let cj_uid = cj.metadata.uid.clone().unwrap_or_default();
    let now = Timestamp::now();
    let jobs_api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    // A fresh list: the watch that triggered this sync may be ahead of any
    // cache, and a missed finish would hold Forbid until the next time.
    let owned: Vec<Job> = jobs_api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|j| pods::controller_of(&j.metadata).is_some_and(|r| r.uid == cj_uid))
        .collect();
    let refs: Vec<&Job> = owned.iter().collect();
    let mut plan = plan(&cj, &refs, &ctx.local, now);
    if let Some(p) = &plan.problem {
        tracing::warn!(cronjob = %format!("{ns}/{name}"), problem = %p, "cronjob: not scheduling");
    }
    if plan.missed_too_many {
        tracing::warn!(cronjob = %format!("{ns}/{name}"), "cronjob: too many missed start times (> 100); check clock skew");
    }
    let background = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    for j in &plan.replace {
        match jobs_api.delete(j, &background).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(scheduled) = plan.create {
        let tz = zone_of(&cj, &ctx.local).unwrap_or(TimeZone::UTC);
        let job = new_job(&cj, scheduled, &tz);
        let created = match jobs_api.create(&PostParams::default(), &job).await {
            Ok(j) => Some(j),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Already there: ours if it has our controller reference.
                let existing = jobs_api.get(&job.name_any()).await?;
                pods::controller_of(&existing.metadata)
                    .is_some_and(|r| r.uid == cj_uid)
                    .then_some(existing)
                    .filter(|j| finished_condition(j).is_none())
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(cronjob = %format!("{ns}/{name}"), job = %job.name_any(), "cronjob: created job");
        if let Some(j) = created {
            let active = plan.status.active.get_or_insert_with(Vec::new);
            if !active.iter().any(|r| r.uid == j.metadata.uid) {
                active.push(job_ref(&j));
            }
        }
    }
    if !pods::same_status(cj.status.as_ref(), &plan.status) {
        let patch = pods::status_patch(cj.status.as_ref(), &plan.status);
        let api: Api<CronJob> = Api::namespaced(ctx.client.clone(), &ns);
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    let gone: HashSet<&String> = plan.replace.iter().collect();
    for j in plan.delete_history.iter().filter(|j| !gone.contains(j)) {
        match jobs_api.delete(j, &background).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => tracing::info!(job = %j, error = %e, "cronjob: history cleanup failed"),
        }
    }
    Ok(match plan.requeue_after_ms {
        Some(ms) => Action::requeue(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        None => Action::await_change(),
    })
}

#[cfg(test)]
mod tests;
