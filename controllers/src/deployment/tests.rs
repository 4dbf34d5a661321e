use super::*;
use k8s_openapi::api::apps::v1::{
    DeploymentSpec, DeploymentStrategy, ReplicaSetStatus, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{Container, PodSpec};

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or_default()
}

fn deployment(
    replicas: i32,
    surge: IntOrString,
    unavailable: IntOrString,
    image: &str,
) -> Deployment {
    let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
    Deployment {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("d-uid".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "c".into(),
                        image: Some(image.into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(surge),
                    max_unavailable: Some(unavailable),
                }),
            }),
            ..Default::default()
        }),
        status: None,
    }
}

fn set_image(d: &mut Deployment, image: &str) {
    if let Some(s) = d.spec.as_mut()
        && let Some(ps) = s.template.spec.as_mut()
    {
        ps.containers[0].image = Some(image.into());
    }
    d.metadata.generation = Some(d.metadata.generation.unwrap_or(0) + 1);
}

/// One controller step plus the world's response: ReplicaSets report all
/// their pods available (when `ready`) at once.
struct World {
    d: Deployment,
    rses: Vec<ReplicaSet>,
    now: i64,
    ready: bool,
    last: Plan,
}

impl World {
    fn new(d: Deployment) -> Self {
        World {
            d,
            rses: Vec::new(),
            now: 1000,
            ready: true,
            last: Plan::default(),
        }
    }

    fn step(&mut self) {
        self.now += 1;
        let p = plan(&self.d, &self.rses, false, ts(self.now));
        if let Some(mut rs) = p.create.clone() {
            rs.metadata.creation_timestamp = Some(Time(ts(self.now)));
            rs.metadata.uid = Some(format!("uid-{}", rs.name_any()));
            self.rses.push(rs);
        }
        for u in &p.update {
            if let Some(rs) = self.rses.iter_mut().find(|r| r.name_any() == u.name_any()) {
                rs.spec = u.spec.clone();
                rs.metadata.annotations = u.metadata.annotations.clone();
            }
        }
        self.rses.retain(|rs| !p.delete.contains(&rs.name_any()));
        if let Some(rev) = &p.revision {
            self.d
                .metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(REVISION.into(), rev.clone());
        }
        self.d.status = Some(p.status.clone());
        for rs in &mut self.rses {
            let n = rs_replicas(rs);
            let avail = if self.ready { n } else { 0 };
            rs.status = Some(ReplicaSetStatus {
                replicas: n,
                ready_replicas: Some(avail),
                available_replicas: Some(avail),
                observed_generation: rs.metadata.generation,
                ..Default::default()
            });
        }
        self.last = p;
    }

    fn total(&self) -> i32 {
        self.rses.iter().map(rs_replicas).sum()
    }

    fn cond(&self, t: &str) -> Option<(String, String)> {
        let s = self.d.status.as_ref()?;
        let c = cond(s, t)?;
        Some((c.status.clone(), c.reason.clone().unwrap_or_default()))
    }

    fn complete(&self) -> bool {
        self.d
            .status
            .as_ref()
            .is_some_and(|s| deployment_complete(&self.d, s))
    }
}

#[test]
fn fenceposts_round_as_kube() {
    let d = deployment(
        10,
        IntOrString::String("25%".into()),
        IntOrString::String("25%".into()),
        "a",
    );
    assert_eq!(fenceposts(&d), (3, 2));
    let d = deployment(
        1,
        IntOrString::Int(0),
        IntOrString::String("10%".into()),
        "a",
    );
    assert_eq!(fenceposts(&d), (0, 1), "both zero becomes unavailable 1");
    let d = deployment(3, IntOrString::Int(2), IntOrString::Int(5), "a");
    assert_eq!(max_unavailable(&d), 3, "capped at replicas");
}

#[test]
fn first_rollout_creates_a_replicaset_with_kubes_names_and_annotations() {
    let mut w = World::new(deployment(3, IntOrString::Int(1), IntOrString::Int(0), "a"));
    w.step();
    let rs = w.last.create.clone().expect("creates");
    let hash = rs
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(HASH_LABEL))
        .cloned()
        .unwrap_or_default();
    assert_eq!(rs.name_any(), format!("web-{hash}"));
    assert_eq!(
        rs.spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.as_ref())
            .and_then(|m| m.get(HASH_LABEL)),
        Some(&hash)
    );
    let ann = rs.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(ann.get(REVISION).map(String::as_str), Some("1"));
    assert_eq!(ann.get(DESIRED).map(String::as_str), Some("3"));
    assert_eq!(ann.get(MAX).map(String::as_str), Some("4"));
    assert_eq!(
        rs_replicas(&rs),
        3,
        "created at full size: nothing else is running"
    );
    assert_eq!(w.last.revision.as_deref(), Some("1"));
    assert_eq!(
        w.cond("Progressing"),
        Some(("True".into(), "NewReplicaSetCreated".into()))
    );
    let msg =
        w.d.status
            .as_ref()
            .and_then(|s| cond(s, "Progressing"))
            .and_then(|c| c.message.clone());
    assert_eq!(msg, Some(format!("Created new replica set \"web-{hash}\"")));
    w.step();
    assert!(w.complete());
    assert_eq!(
        w.cond("Progressing"),
        Some(("True".into(), "NewReplicaSetAvailable".into()))
    );
    assert_eq!(
        w.cond("Available"),
        Some(("True".into(), "MinimumReplicasAvailable".into()))
    );
    let s = w.d.status.clone().unwrap_or_default();
    assert_eq!(
        (
            s.replicas,
            s.updated_replicas,
            s.available_replicas,
            s.unavailable_replicas
        ),
        (Some(3), Some(3), Some(3), Some(0))
    );
}

fn rolling(replicas: i32, surge: IntOrString, unavailable: IntOrString) {
    let mut w = World::new(deployment(
        replicas,
        surge.clone(),
        unavailable.clone(),
        "a",
    ));
    for _ in 0..3 {
        w.step();
    }
    assert!(w.complete());
    let (s, u) = fenceposts(&w.d);
    let u = u.min(replicas);
    set_image(&mut w.d, "b");
    let mut steps = 0;
    loop {
        w.step();
        steps += 1;
        assert!(
            w.total() <= replicas + s,
            "surge exceeded: {} > {replicas}+{s}",
            w.total()
        );
        let avail: i32 = w.rses.iter().map(rs_available).sum();
        assert!(
            avail >= replicas - u,
            "availability broken: {avail} < {replicas}-{u}"
        );
        if w.complete() && w.rses.iter().filter(|r| rs_replicas(r) > 0).count() == 1 {
            break;
        }
        assert!(steps < 50, "rollout did not finish");
    }
    w.step();
    assert_eq!(
        w.cond("Progressing"),
        Some(("True".into(), "NewReplicaSetAvailable".into()))
    );
    let revs: Vec<i64> = w.rses.iter().map(revision).collect();
    assert_eq!(revs, vec![1, 2]);
    assert_eq!(
        w.d.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .map(String::as_str),
        Some("2")
    );
}

#[test]
fn rolling_updates_respect_surge_and_unavailability() {
    rolling(3, IntOrString::Int(1), IntOrString::Int(0));
    rolling(3, IntOrString::Int(0), IntOrString::Int(1));
    rolling(
        10,
        IntOrString::String("25%".into()),
        IntOrString::String("25%".into()),
    );
    rolling(5, IntOrString::Int(2), IntOrString::Int(2));
    rolling(
        1,
        IntOrString::String("25%".into()),
        IntOrString::String("25%".into()),
    );
    rolling(
        4,
        IntOrString::String("0%".into()),
        IntOrString::String("50%".into()),
    );
}

#[test]
fn rolling_update_waits_for_availability() {
    let mut w = World::new(deployment(4, IntOrString::Int(1), IntOrString::Int(0), "a"));
    w.step();
    w.step();
    set_image(&mut w.d, "b");
    w.ready = false;
    for _ in 0..5 {
        w.step();
    }
    // The new RS surged by one and nothing old was scaled down.
    let sizes: Vec<i32> = w.rses.iter().map(rs_replicas).collect();
    assert_eq!(sizes, vec![4, 1]);
    let s = w.d.status.clone().unwrap_or_default();
    assert_eq!(s.updated_replicas, Some(1));
    assert_eq!(s.available_replicas, Some(0));
    assert_eq!(
        w.cond("Available"),
        Some(("False".into(), "MinimumReplicasUnavailable".into()))
    );
}

#[test]
fn progress_deadline_exceeded() {
    let mut d = deployment(2, IntOrString::Int(1), IntOrString::Int(0), "a");
    if let Some(s) = d.spec.as_mut() {
        s.progress_deadline_seconds = Some(10);
    }
    let mut w = World::new(d);
    w.ready = false;
    w.step();
    w.step();
    assert_eq!(
        w.cond("Progressing"),
        Some(("True".into(), "ReplicaSetUpdated".into()))
    );
    assert!(w.last.requeue_after.is_some());
    w.now += 20;
    w.step();
    assert_eq!(
        w.cond("Progressing"),
        Some(("False".into(), "ProgressDeadlineExceeded".into()))
    );
    let msg =
        w.d.status
            .as_ref()
            .and_then(|s| cond(s, "Progressing"))
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
    assert!(msg.ends_with("has timed out progressing."), "{msg}");
}

#[test]
fn recreate_scales_old_down_before_creating_new() {
    let mut d = deployment(3, IntOrString::Int(1), IntOrString::Int(0), "a");
    if let Some(s) = d.spec.as_mut() {
        s.strategy = Some(DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
    }
    let mut w = World::new(d);
    w.step();
    w.step();
    assert!(w.complete());
    set_image(&mut w.d, "b");
    // Old pods still running: scale down, no new RS.
    let p = plan(&w.d, &w.rses, true, ts(w.now));
    assert!(p.create.is_none());
    assert_eq!(
        p.update.iter().map(rs_replicas).collect::<Vec<_>>(),
        vec![0]
    );
    w.step();
    assert_eq!(w.rses.len(), 1);
    let p = plan(&w.d, &w.rses, true, ts(w.now));
    assert!(p.create.is_none(), "waits for the old pods to be gone");
    w.step();
    assert_eq!(w.rses.len(), 2);
    assert_eq!(
        w.rses.iter().map(rs_replicas).collect::<Vec<_>>(),
        vec![0, 3]
    );
    w.step();
    assert!(w.complete());
}

#[test]
fn history_is_limited() {
    let mut d = deployment(1, IntOrString::Int(1), IntOrString::Int(0), "v0");
    if let Some(s) = d.spec.as_mut() {
        s.revision_history_limit = Some(2);
    }
    let mut w = World::new(d);
    for i in 1..6 {
        for _ in 0..4 {
            w.step();
        }
        set_image(&mut w.d, &format!("v{i}"));
    }
    for _ in 0..4 {
        w.step();
    }
    assert!(w.complete());
    // The new one plus two old ones; the newest revisions kept.
    let revs: Vec<i64> = w.rses.iter().map(revision).collect();
    assert_eq!(revs, vec![4, 5, 6]);
}

#[test]
fn rollback_to_an_old_template_reuses_its_replicaset_with_a_new_revision() {
    let mut w = World::new(deployment(2, IntOrString::Int(1), IntOrString::Int(0), "a"));
    for _ in 0..3 {
        w.step();
    }
    set_image(&mut w.d, "b");
    for _ in 0..6 {
        w.step();
    }
    set_image(&mut w.d, "a");
    w.d.metadata.annotations = Some(
        [
            ("kubernetes.io/change-cause".to_string(), "undo".to_string()),
            (
                "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                "{}".to_string(),
            ),
        ]
        .into(),
    );
    for _ in 0..6 {
        w.step();
    }
    assert!(w.complete());
    assert_eq!(w.rses.len(), 2);
    let revs: Vec<(i64, i32)> = w
        .rses
        .iter()
        .map(|r| (revision(r), rs_replicas(r)))
        .collect();
    assert_eq!(revs, vec![(3, 2), (2, 0)]);
    let ann = w.rses[0].metadata.annotations.clone().unwrap_or_default();
    assert_eq!(ann.get(REVISION_HISTORY).map(String::as_str), Some("1"));
    assert_eq!(
        ann.get("kubernetes.io/change-cause").map(String::as_str),
        Some("undo")
    );
    assert!(!ann.contains_key("kubectl.kubernetes.io/last-applied-configuration"));
}

#[test]
fn scaling_applies_to_the_active_replicaset() {
    let mut w = World::new(deployment(2, IntOrString::Int(1), IntOrString::Int(0), "a"));
    w.step();
    w.step();
    if let Some(s) = w.d.spec.as_mut() {
        s.replicas = Some(5);
    }
    w.step();
    assert_eq!(w.rses.iter().map(rs_replicas).collect::<Vec<_>>(), vec![5]);
    assert_eq!(annotation(&w.rses[0], DESIRED), Some(5));
    assert_eq!(annotation(&w.rses[0], MAX), Some(6));
    w.step();
    assert!(w.complete());
}

#[test]
fn proportional_scaling_mid_rollout() {
    let mut w = World::new(deployment(
        10,
        IntOrString::Int(3),
        IntOrString::Int(2),
        "a",
    ));
    w.step();
    w.step();
    set_image(&mut w.d, "b");
    w.ready = false;
    w.step();
    w.step();
    let before: Vec<i32> = w.rses.iter().map(rs_replicas).collect();
    assert_eq!(before.len(), 2);
    if let Some(s) = w.d.spec.as_mut() {
        s.replicas = Some(20);
    }
    w.step();
    let after: Vec<i32> = w.rses.iter().map(rs_replicas).collect();
    assert_eq!(after.iter().sum::<i32>(), 23, "{before:?} -> {after:?}");
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "{before:?} -> {after:?}"
    );
}

#[test]
fn paused_deployments_do_not_roll_out() {
    let mut w = World::new(deployment(2, IntOrString::Int(1), IntOrString::Int(0), "a"));
    w.step();
    w.step();
    if let Some(s) = w.d.spec.as_mut() {
        s.paused = Some(true);
    }
    set_image(&mut w.d, "b");
    w.step();
    assert_eq!(w.rses.len(), 1);
    assert_eq!(
        w.cond("Progressing"),
        Some(("Unknown".into(), "DeploymentPaused".into()))
    );
    if let Some(s) = w.d.spec.as_mut() {
        s.paused = Some(false);
    }
    w.step();
    assert_eq!(w.rses.len(), 2);
    for _ in 0..6 {
        w.step();
    }
    assert!(w.complete());
    assert_eq!(
        w.cond("Progressing"),
        Some(("True".into(), "NewReplicaSetAvailable".into()))
    );
}

#[test]
fn replica_failures_surface_on_the_deployment() {
    use k8s_openapi::api::apps::v1::ReplicaSetCondition;
    let mut w = World::new(deployment(2, IntOrString::Int(1), IntOrString::Int(0), "a"));
    w.step();
    w.rses[0].status = Some(ReplicaSetStatus {
        conditions: Some(vec![ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some("FailedCreate".into()),
            message: Some("exceeded quota".into()),
            last_transition_time: None,
        }]),
        ..Default::default()
    });
    let p = plan(&w.d, &w.rses, false, ts(w.now));
    let c = cond(&p.status, "ReplicaFailure")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref()),
        ("True", Some("FailedCreate"))
    );
    w.step();
    w.step();
    assert!(w.cond("ReplicaFailure").is_none());
}
