use super::*;
use k8s_openapi::api::batch::v1::{CronJobSpec, JobCondition, JobStatus};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn cj(schedule: &str, policy: Option<&str>) -> CronJob {
    CronJob {
        metadata: ObjectMeta {
            name: Some("hello".into()),
            namespace: Some("default".into()),
            uid: Some("cj-uid".into()),
            creation_timestamp: Some(Time(at("2024-01-01T00:00:30Z"))),
            ..Default::default()
        },
        spec: Some(CronJobSpec {
            schedule: schedule.into(),
            concurrency_policy: policy.map(str::to_owned),
            ..Default::default()
        }),
        status: None,
    }
}

fn job(name: &str, finished: Option<(&str, &str)>) -> Job {
    let conditions = finished.map(|(t, at_)| {
        vec![JobCondition {
            type_: t.into(),
            status: "True".into(),
            ..Default::default()
        }]
        .into_iter()
        .map(|c| (c, at_))
        .map(|(c, _)| c)
        .collect::<Vec<_>>()
    });
    Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        },
        spec: None,
        status: Some(JobStatus {
            conditions,
            start_time: finished.map(|(_, s)| Time(at(s))),
            completion_time: finished
                .filter(|(t, _)| *t == "Complete")
                .map(|(_, s)| Time(at(s))),
            ..Default::default()
        }),
    }
}

fn active_ref(j: &Job) -> ObjectReference {
    job_ref(j)
}

#[test]
fn schedules_the_most_recent_time_and_requeues_at_the_next() {
    let c = cj("*/5 * * * *", None);
    let p = plan(&c, &[], &TimeZone::UTC, at("2024-01-01T00:12:00Z"));
    assert_eq!(p.create, Some(at("2024-01-01T00:10:00Z")));
    assert_eq!(
        p.status.last_schedule_time,
        Some(Time(at("2024-01-01T00:10:00Z")))
    );
    assert_eq!(p.requeue_after_ms, Some(3 * 60_000 + 100));
    assert_eq!(
        job_name("hello", at("2024-01-01T00:10:00Z")),
        "hello-28401130"
    );
    // Already scheduled: nothing, requeue.
    let mut c2 = c.clone();
    c2.status = p.status.clone().into();
    let p2 = plan(&c2, &[], &TimeZone::UTC, at("2024-01-01T00:13:00Z"));
    assert_eq!(p2.create, None);
    assert_eq!(p2.requeue_after_ms, Some(2 * 60_000 + 100));
    // Before the first time: nothing.
    let p3 = plan(&c, &[], &TimeZone::UTC, at("2024-01-01T00:04:00Z"));
    assert_eq!(p3.create, None);
}

#[test]
fn starting_deadline_and_suspend() {
    let mut c = cj("0 * * * *", None);
    if let Some(s) = c.spec.as_mut() {
        s.starting_deadline_seconds = Some(60);
    }
    // 01:00 was missed by more than 60 s.
    assert_eq!(
        plan(&c, &[], &TimeZone::UTC, at("2024-01-01T01:02:00Z")).create,
        None
    );
    assert_eq!(
        plan(&c, &[], &TimeZone::UTC, at("2024-01-01T01:00:40Z")).create,
        Some(at("2024-01-01T01:00:00Z"))
    );
    if let Some(s) = c.spec.as_mut() {
        s.suspend = Some(true);
    }
    let p = plan(&c, &[], &TimeZone::UTC, at("2024-01-01T01:00:40Z"));
    assert_eq!((p.create, p.requeue_after_ms), (None, None));
}

#[test]
fn concurrency_policies() {
    let running = job("hello-1", None);
    let now = at("2024-01-01T00:12:00Z");
    for (policy, create, replace) in [
        (None, true, 0),
        (Some("Allow"), true, 0),
        (Some("Forbid"), false, 0),
        (Some("Replace"), true, 1),
    ] {
        let mut c = cj("*/5 * * * *", policy);
        c.status = Some(CronJobStatus {
            active: Some(vec![active_ref(&running)]),
            last_schedule_time: Some(Time(at("2024-01-01T00:05:00Z"))),
            ..Default::default()
        });
        let p = plan(&c, &[&running], &TimeZone::UTC, now);
        assert_eq!(p.create.is_some(), create, "{policy:?}");
        assert_eq!(p.replace.len(), replace, "{policy:?}");
    }
}

#[test]
fn active_list_and_last_successful_time() {
    let done = job("hello-1", Some(("Complete", "2024-01-01T00:06:00Z")));
    let mut c = cj("0 0 1 1 *", None);
    c.status = Some(CronJobStatus {
        active: Some(vec![active_ref(&done), active_ref(&job("gone", None))]),
        ..Default::default()
    });
    let p = plan(&c, &[&done], &TimeZone::UTC, at("2024-01-01T00:12:00Z"));
    assert_eq!(p.status.active, None);
    assert_eq!(
        p.status.last_successful_time,
        Some(Time(at("2024-01-01T00:06:00Z")))
    );
}

#[test]
fn history_limits() {
    let ok: Vec<Job> = (0..5)
        .map(|i| {
            job(
                &format!("ok-{i}"),
                Some(("Complete", &format!("2024-01-01T00:0{i}:00Z"))),
            )
        })
        .collect();
    let bad: Vec<Job> = (0..3)
        .map(|i| {
            job(
                &format!("bad-{i}"),
                Some(("Failed", &format!("2024-01-01T00:0{i}:00Z"))),
            )
        })
        .collect();
    let all: Vec<&Job> = ok.iter().chain(bad.iter()).collect();
    let c = cj("0 0 1 1 *", None);
    let p = plan(&c, &all, &TimeZone::UTC, at("2024-06-01T00:00:00Z"));
    assert_eq!(p.delete_history, vec!["ok-0", "ok-1", "bad-0", "bad-1"]);
}

#[test]
fn time_zone_and_annotation() {
    let mut c = cj("0 9 * * *", None);
    if let Some(s) = c.spec.as_mut() {
        s.time_zone = Some("Asia/Shanghai".into());
    }
    let p = plan(&c, &[], &TimeZone::UTC, at("2024-01-02T01:30:00Z"));
    assert_eq!(p.create, Some(at("2024-01-02T01:00:00Z")));
    let tz = zone_of(&c, &TimeZone::UTC).unwrap_or(TimeZone::UTC);
    let j = new_job(&c, at("2024-01-02T01:00:00Z"), &tz);
    let ann = j.metadata.annotations.unwrap_or_default();
    assert_eq!(
        ann.get(SCHEDULED_TIMESTAMP).map(String::as_str),
        Some("2024-01-02T09:00:00+08:00")
    );
    assert_eq!(
        j.metadata.owner_references.map(|r| r[0].kind.clone()),
        Some("CronJob".into())
    );
    let utc = new_job(&c, at("2024-01-02T01:00:00Z"), &TimeZone::UTC);
    assert_eq!(
        utc.metadata
            .annotations
            .unwrap_or_default()
            .get(SCHEDULED_TIMESTAMP)
            .map(String::as_str),
        Some("2024-01-02T01:00:00Z")
    );
    if let Some(s) = c.spec.as_mut() {
        s.time_zone = Some("Mars/Olympus".into());
    }
    let p = plan(&c, &[], &TimeZone::UTC, at("2024-01-02T01:30:00Z"));
    assert!(p.problem.is_some() && p.create.is_none());
}
