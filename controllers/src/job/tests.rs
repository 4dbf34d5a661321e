use super::*;
use k8s_openapi::api::batch::v1::JobSpec;
use k8s_openapi::api::core::v1::PodStatus;

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn job(completions: Option<i32>, parallelism: i32) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some("pi".into()),
            namespace: Some("default".into()),
            uid: Some("u1".into()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            completions,
            parallelism: Some(parallelism),
            ..Default::default()
        }),
        status: None,
    }
}

fn pod(name: &str, phase: &str, tracked: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            finalizers: tracked.then(|| vec![TRACKING_FINALIZER.to_owned()]),
            ..Default::default()
        },
        spec: None,
        status: Some(PodStatus {
            phase: Some(phase.into()),
            ..Default::default()
        }),
    }
}

fn cond<'a>(s: &'a JobStatus, t: &str) -> Option<&'a JobCondition> {
    condition_of(s, t)
}

#[test]
fn creates_up_to_parallelism_and_remaining_completions() {
    let j = job(Some(5), 2);
    let p = plan(&j, &[], true, ts(100));
    assert_eq!(p.create.len(), 2);
    assert_eq!(p.status.start_time, Some(Time(ts(100))));
    let a = pod("a", "Running", true);
    let p = plan(&j, &[&a], true, ts(100));
    assert_eq!(p.create.len(), 1);
    // 4 succeeded (already counted) and 1 running: nothing more.
    let mut j2 = j.clone();
    j2.status = Some(JobStatus {
        succeeded: Some(4),
        ..Default::default()
    });
    let p = plan(&j2, &[&a], true, ts(100));
    assert!(p.create.is_empty() && p.delete.is_empty());
    // Too many active for one remaining completion: delete one.
    let b = pod("b", "Running", true);
    let p = plan(&j2, &[&a, &b], true, ts(100));
    assert_eq!(p.delete.len(), 1);
    // Not while expectations are pending.
    assert!(plan(&j, &[], false, ts(100)).create.is_empty());
}

#[test]
fn finished_pods_counted_via_uncounted_then_finalizer_removed() {
    let j = job(Some(1), 1);
    let done = pod("a", "Succeeded", true);
    let p = plan(&j, &[&done], true, ts(100));
    let unc = p
        .status
        .uncounted_terminated_pods
        .clone()
        .unwrap_or_default();
    assert_eq!(unc.succeeded, Some(vec!["uid-a".to_owned()]));
    assert_eq!(p.status.succeeded, Some(0));
    assert_eq!(p.remove_finalizers, vec!["a".to_owned()]);
    assert!(p.create.is_empty());
    // Interim condition; Complete waits until the pod is counted.
    assert!(cond(&p.status, "SuccessCriteriaMet").is_some());
    assert!(cond(&p.status, "Complete").is_none());
    // Next sync: finalizer gone, the pod moves into the count.
    let mut j2 = j.clone();
    j2.status = Some(p.status.clone());
    let untracked = pod("a", "Succeeded", false);
    let p2 = plan(&j2, &[&untracked], true, ts(101));
    assert_eq!(p2.status.succeeded, Some(1));
    assert_eq!(
        p2.status
            .uncounted_terminated_pods
            .clone()
            .unwrap_or_default()
            .succeeded,
        None
    );
    assert!(p2.remove_finalizers.is_empty());
    let c = cond(&p2.status, "Complete").cloned().unwrap_or_default();
    assert_eq!(c.reason.as_deref(), Some("CompletionsReached"));
    assert!(p2.status.completion_time.is_some());
}

#[test]
fn nil_completions_finishes_on_first_success() {
    let j = job(None, 2);
    let ok = pod("a", "Succeeded", true);
    let run = pod("b", "Running", true);
    let p = plan(&j, &[&ok, &run], true, ts(10));
    assert!(p.create.is_empty() && p.delete.is_empty());
    assert!(cond(&p.status, "Complete").is_none());
    let ok = pod("a", "Succeeded", false);
    let mut j2 = j.clone();
    j2.status = Some(JobStatus {
        succeeded: Some(1),
        ..Default::default()
    });
    let p = plan(&j2, &[&ok], true, ts(10));
    assert!(cond(&p.status, "Complete").is_some());
}

#[test]
fn backoff_limit_fails_the_job() {
    let mut j = job(Some(3), 1);
    if let Some(s) = j.spec.as_mut() {
        s.backoff_limit = Some(1);
    }
    j.status = Some(JobStatus {
        failed: Some(1),
        ..Default::default()
    });
    let f = pod("x", "Failed", true);
    let r = pod("r", "Running", true);
    let p = plan(&j, &[&f, &r], true, ts(100));
    let ft = cond(&p.status, "FailureTarget")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ft.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!(p.delete, vec!["r".to_owned()]);
    assert!(
        cond(&p.status, "Failed").is_none(),
        "waits for active pods to go"
    );
    let mut j2 = j.clone();
    j2.status = Some(p.status.clone());
    let counted = pod("x", "Failed", false);
    let p = plan(&j2, &[&counted], true, ts(100));
    assert_eq!(p.status.failed, Some(2));
    let failed = cond(&p.status, "Failed").cloned().unwrap_or_default();
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!(
        failed.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
}

#[test]
fn failure_backoff_delays_replacements() {
    let j = job(Some(1), 1);
    let mut f = pod("x", "Failed", false);
    f.metadata.creation_timestamp = Some(Time(ts(95)));
    let p = plan(&j, &[&f], true, ts(100));
    assert!(p.create.is_empty());
    assert_eq!(p.requeue_after, Some(5));
    let p = plan(&j, &[&f], true, ts(106));
    assert_eq!(p.create.len(), 1);
}

#[test]
fn deadline_exceeded_and_suspend() {
    let mut j = job(Some(2), 2);
    if let Some(s) = j.spec.as_mut() {
        s.active_deadline_seconds = Some(30);
    }
    j.status = Some(JobStatus {
        start_time: Some(Time(ts(100))),
        ..Default::default()
    });
    let r = pod("r", "Running", true);
    let p = plan(&j, &[&r], true, ts(110));
    assert_eq!(p.requeue_after, Some(20));
    let p = plan(&j, &[&r], true, ts(130));
    assert_eq!(p.delete, vec!["r".to_owned()]);
    let ft = cond(&p.status, "FailureTarget")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ft.reason.as_deref(), Some("DeadlineExceeded"));

    let mut s = job(Some(2), 2);
    if let Some(sp) = s.spec.as_mut() {
        sp.suspend = Some(true);
    }
    let p = plan(&s, &[&r], true, ts(100));
    assert_eq!(p.delete, vec!["r".to_owned()]);
    assert!(p.create.is_empty());
    let c = cond(&p.status, "Suspended").cloned().unwrap_or_default();
    assert_eq!(c.reason.as_deref(), Some("JobSuspended"));
    assert_eq!(p.status.start_time, None);
}

#[test]
fn ttl_after_finished() {
    let mut j = job(Some(1), 1);
    if let Some(s) = j.spec.as_mut() {
        s.ttl_seconds_after_finished = Some(10);
    }
    let mut st = JobStatus::default();
    set_condition(
        &mut st,
        "Complete",
        "True",
        "CompletionsReached",
        "m",
        ts(100),
    );
    j.status = Some(st);
    let p = plan(&j, &[], true, ts(105));
    assert!(!p.delete_job);
    assert_eq!(p.requeue_after, Some(5));
    assert!(plan(&j, &[], true, ts(110)).delete_job);
}

#[test]
fn indexed_jobs() {
    let mut j = job(Some(4), 2);
    if let Some(s) = j.spec.as_mut() {
        s.completion_mode = Some("Indexed".into());
    }
    let p = plan(&j, &[], true, ts(1));
    assert_eq!(p.create, vec![Some(0), Some(1)]);
    let mut done = pod("a", "Succeeded", true);
    done.metadata.annotations = Some(BTreeMap::from([(INDEX_KEY.to_owned(), "0".to_owned())]));
    let mut run = pod("b", "Running", true);
    run.metadata.labels = Some(BTreeMap::from([(INDEX_KEY.to_owned(), "1".to_owned())]));
    let p = plan(&j, &[&done, &run], true, ts(1));
    assert_eq!(p.create, vec![Some(2)]);
    assert_eq!(p.status.completed_indexes.as_deref(), Some("0"));
    let pod = new_pod(&j, Some(3));
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("pi-3-"));
    assert_eq!(
        pod.spec.as_ref().and_then(|s| s.hostname.as_deref()),
        Some("pi-3")
    );
    assert_eq!(
        pod.metadata.finalizers,
        Some(vec![TRACKING_FINALIZER.to_owned()])
    );
    assert_eq!(
        pod.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("job-name"))
            .map(String::as_str),
        Some("pi")
    );
}

#[test]
fn index_lists() {
    let s: BTreeSet<i32> = [0, 1, 2, 4, 6, 7].into_iter().collect();
    assert_eq!(format_indexes(&s), "0-2,4,6-7");
    assert_eq!(parse_indexes("0-2,4,6-7"), s);
    assert_eq!(parse_indexes(""), BTreeSet::new());
}
