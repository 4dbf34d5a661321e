//! What a simulated kubelet writes into pods (pure): Running status, the
//! rules that make pods finish, terminated status.

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStatus,
    HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::ipam::stable_hash;

pub const EXIT_AFTER_ANNOTATION: &str = "sim.mars.io/exit-after-seconds";
pub const EXIT_CODE_ANNOTATION: &str = "sim.mars.io/exit-code";
/// How long Job pods without the annotation run.
pub const DEFAULT_JOB_RUN: Duration = Duration::from_secs(1);

/// When and how a pod's containers exit on their own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exit {
    pub after: Duration,
    pub code: i32,
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The finish rule: `sim.mars.io/exit-after-seconds: "N"` exits after N
/// seconds (fractions allowed); without it, Job pods (label `job-name` or
/// `batch.kubernetes.io/job-name`) whose restartPolicy is Never or OnFailure
/// exit after 1 s. `sim.mars.io/exit-code` (default 0) picks the exit code:
/// 0 ends Succeeded, anything else Failed.
pub fn exit_rule(pod: &Pod) -> Option<Exit> {
    let code = annotation(pod, EXIT_CODE_ANNOTATION)
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(0);
    if let Some(value) = annotation(pod, EXIT_AFTER_ANNOTATION) {
        let seconds = value.trim().parse::<f64>().ok()?;
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        return Some(Exit {
            after: Duration::from_secs_f64(seconds.min(1e9)),
            code,
        });
    }
    let labels = pod.metadata.labels.as_ref()?;
    let job =
        labels.contains_key("job-name") || labels.contains_key("batch.kubernetes.io/job-name");
    let policy = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref());
    (job && matches!(policy, Some("Never" | "OnFailure"))).then_some(Exit {
        after: DEFAULT_JOB_RUN,
        code,
    })
}

/// How long after start the pod becomes Ready: the largest readinessProbe
/// initialDelaySeconds of its containers, at most `cap`.
pub fn readiness_delay(pod: &Pod, cap: Duration) -> Duration {
    let seconds = containers(pod)
        .iter()
        .filter_map(|c| c.readiness_probe.as_ref()?.initial_delay_seconds)
        .max()
        .unwrap_or(0);
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0)).min(cap)
}

/// A start delay in `[min, max]`, spread by the pod's uid (deterministic, so
/// no random source is needed).
pub fn start_delay(uid: &str, min: Duration, max: Duration) -> Duration {
    if max <= min {
        return min;
    }
    let span = (max - min).as_millis().max(1);
    let pick = u128::from(stable_hash(&[uid])) % (span + 1);
    min + Duration::from_millis(u64::try_from(pick).unwrap_or(0))
}

fn containers(pod: &Pod) -> &[Container] {
    pod.spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[])
}

fn init_containers(pod: &Pod) -> &[Container] {
    pod.spec
        .as_ref()
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or(&[])
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

/// Where the pod runs and since when.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub host_ip: Ipv4Addr,
    pub pod_ip: Ipv4Addr,
    pub started: Timestamp,
}

fn base_status(pod: &Pod, at: &Placement, phase: &str) -> PodStatus {
    let old = pod.status.as_ref();
    PodStatus {
        phase: Some(phase.to_owned()),
        host_ip: Some(at.host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: at.host_ip.to_string(),
        }]),
        pod_ip: Some(at.pod_ip.to_string()),
        pod_ips: Some(vec![PodIP {
            ip: at.pod_ip.to_string(),
        }]),
        start_time: Some(Time(at.started)),
        qos_class: old.and_then(|s| s.qos_class.clone()),
        observed_generation: pod.metadata.generation,
        ..PodStatus::default()
    }
}

/// Conditions in kubelet's order, keeping lastTransitionTime of conditions
/// whose status did not change.
fn conditions(
    pod: &Pod,
    wanted: &[(&str, bool, Option<&str>)],
    now: Timestamp,
) -> Vec<PodCondition> {
    let old = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    wanted
        .iter()
        .map(|&(kind, ok, reason)| {
            let status = if ok { "True" } else { "False" };
            let previous = old.iter().find(|c| c.type_ == kind && c.status == status);
            PodCondition {
                type_: kind.to_owned(),
                status: status.to_owned(),
                reason: reason.map(str::to_owned),
                last_transition_time: Some(
                    previous
                        .and_then(|c| c.last_transition_time.clone())
                        .unwrap_or(Time(now)),
                ),
                observed_generation: pod.metadata.generation,
                ..PodCondition::default()
            }
        })
        .collect()
}

fn container_status(
    pod: &Pod,
    c: &Container,
    state: ContainerState,
    ready: bool,
    started: bool,
) -> ContainerStatus {
    let image = c.image.clone().unwrap_or_default();
    ContainerStatus {
        name: c.name.clone(),
        image_id: format!("sim://{image}"),
        image,
        container_id: Some(format!("sim://{}-{}", uid(pod), c.name)),
        ready,
        started: Some(started),
        restart_count: 0,
        state: Some(state),
        ..ContainerStatus::default()
    }
}

fn running(since: Timestamp) -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(Time(since)),
        }),
        ..ContainerState::default()
    }
}

fn terminated(
    pod: &Pod,
    c: &Container,
    code: i32,
    started: Timestamp,
    finished: Timestamp,
) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            reason: Some(if code == 0 { "Completed" } else { "Error" }.to_owned()),
            started_at: Some(Time(started)),
            finished_at: Some(Time(finished)),
            container_id: Some(format!("sim://{}-{}", uid(pod), c.name)),
            ..ContainerStateTerminated::default()
        }),
        ..ContainerState::default()
    }
}

fn init_statuses(pod: &Pod, at: &Placement, alive: bool) -> Option<Vec<ContainerStatus>> {
    let inits = init_containers(pod);
    (!inits.is_empty()).then(|| {
        inits
            .iter()
            .map(|c| {
                let sidecar = c.restart_policy.as_deref() == Some("Always");
                if sidecar && alive {
                    container_status(pod, c, running(at.started), true, true)
                } else {
                    let state = terminated(pod, c, 0, at.started, at.started);
                    container_status(pod, c, state, !sidecar, false)
                }
            })
            .collect()
    })
}

/// The Running status; `ready` says whether readiness probes passed.
pub fn running_status(pod: &Pod, at: &Placement, ready: bool, now: Timestamp) -> PodStatus {
    let not_ready = (!ready).then_some("ContainersNotReady");
    PodStatus {
        conditions: Some(conditions(
            pod,
            &[
                ("PodReadyToStartContainers", true, None),
                ("Initialized", true, None),
                ("Ready", ready, not_ready),
                ("ContainersReady", ready, not_ready),
                ("PodScheduled", true, None),
            ],
            now,
        )),
        container_statuses: Some(
            containers(pod)
                .iter()
                .map(|c| container_status(pod, c, running(at.started), ready, true))
                .collect(),
        ),
        init_container_statuses: init_statuses(pod, at, true),
        ..base_status(pod, at, "Running")
    }
}

/// The terminal status after the containers exited with `code`
/// (Succeeded for 0, Failed otherwise).
pub fn finished_status(pod: &Pod, at: &Placement, code: i32, now: Timestamp) -> PodStatus {
    let phase = if code == 0 { "Succeeded" } else { "Failed" };
    PodStatus {
        conditions: Some(conditions(
            pod,
            &[
                ("PodReadyToStartContainers", false, None),
                ("Initialized", true, Some("PodCompleted")),
                ("Ready", false, Some("PodCompleted")),
                ("ContainersReady", false, Some("PodCompleted")),
                ("PodScheduled", true, None),
            ],
            now,
        )),
        container_statuses: Some(
            containers(pod)
                .iter()
                .map(|c| {
                    container_status(
                        pod,
                        c,
                        terminated(pod, c, code, at.started, now),
                        false,
                        false,
                    )
                })
                .collect(),
        ),
        init_container_statuses: init_statuses(pod, at, false),
        ..base_status(pod, at, phase)
    }
}

/// The pod's phase, if set.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Whether the pod's status already says it runs with all containers
/// ready (as written before an agent restart).
pub fn is_running_ready(pod: &Pod) -> bool {
    phase(pod) == "Running"
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pod IP already in its status.
pub fn existing_ip(pod: &Pod) -> Option<Ipv4Addr> {
    pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()
}

/// The start time already in its status.
pub fn existing_start(pod: &Pod) -> Option<Timestamp> {
    pod.status.as_ref()?.start_time.as_ref().map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, Probe};
    use std::collections::BTreeMap;

    fn pod() -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = Some("web".into());
        pod.metadata.uid = Some("u1".into());
        pod.spec = Some(PodSpec {
            node_name: Some("n0".into()),
            containers: vec![
                Container {
                    name: "app".into(),
                    image: Some("nginx:1.27".into()),
                    ..Container::default()
                },
                Container {
                    name: "side".into(),
                    image: Some("busybox".into()),
                    ..Container::default()
                },
            ],
            ..PodSpec::default()
        });
        pod.status = Some(PodStatus {
            phase: Some("Pending".into()),
            qos_class: Some("BestEffort".into()),
            conditions: Some(vec![PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                last_transition_time: Some(Time(Timestamp::UNIX_EPOCH)),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        });
        pod
    }

    fn at() -> Placement {
        Placement {
            host_ip: Ipv4Addr::new(172, 16, 0, 9),
            pod_ip: Ipv4Addr::new(10, 244, 1, 2),
            started: Timestamp::UNIX_EPOCH,
        }
    }

    fn condition<'a>(status: &'a PodStatus, kind: &str) -> Option<&'a PodCondition> {
        status.conditions.as_ref()?.iter().find(|c| c.type_ == kind)
    }

    #[test]
    fn running_status_is_complete() {
        let mut pod = pod();
        let init = Container {
            name: "init".into(),
            image: Some("busybox".into()),
            ..Container::default()
        };
        if let Some(spec) = pod.spec.as_mut() {
            spec.init_containers = Some(vec![init]);
        }
        let status = running_status(&pod, &at(), true, Timestamp::now());
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(status.pod_ip.as_deref(), Some("10.244.1.2"));
        assert_eq!(status.host_ip.as_deref(), Some("172.16.0.9"));
        assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
        for kind in [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        ] {
            assert_eq!(
                condition(&status, kind).map(|c| c.status.as_str()),
                Some("True"),
                "{kind}"
            );
        }
        // Unchanged condition keeps its transition time.
        let scheduled =
            condition(&status, "PodScheduled").and_then(|c| c.last_transition_time.clone());
        assert_eq!(scheduled, Some(Time(Timestamp::UNIX_EPOCH)));
        let containers = status.container_statuses.unwrap_or_default();
        assert_eq!(containers.len(), 2);
        assert_eq!(containers[0].image_id, "sim://nginx:1.27");
        assert_eq!(containers[0].container_id.as_deref(), Some("sim://u1-app"));
        assert!(containers[0].ready);
        assert_eq!(containers[0].started, Some(true));
        assert!(
            containers[0]
                .state
                .as_ref()
                .and_then(|s| s.running.as_ref())
                .is_some()
        );
        let inits = status.init_container_statuses.unwrap_or_default();
        let done = inits[0].state.as_ref().and_then(|s| s.terminated.as_ref());
        assert_eq!(done.and_then(|t| t.reason.as_deref()), Some("Completed"));
    }

    #[test]
    fn not_ready_until_probe_delay() {
        let mut pod = pod();
        if let Some(spec) = pod.spec.as_mut() {
            spec.containers[1].readiness_probe = Some(Probe {
                initial_delay_seconds: Some(3),
                ..Probe::default()
            });
        }
        assert_eq!(
            readiness_delay(&pod, Duration::from_secs(10)),
            Duration::from_secs(3)
        );
        assert_eq!(
            readiness_delay(&pod, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        let status = running_status(&pod, &at(), false, Timestamp::now());
        let ready = condition(&status, "Ready");
        assert_eq!(ready.map(|c| c.status.as_str()), Some("False"));
        assert_eq!(
            ready.and_then(|c| c.reason.as_deref()),
            Some("ContainersNotReady")
        );
    }

    #[test]
    fn finish_rules() {
        let mut p = pod();
        assert_eq!(exit_rule(&p), None);
        p.metadata.labels = Some(BTreeMap::from([("job-name".into(), "j".into())]));
        assert_eq!(exit_rule(&p), None, "restartPolicy Always");
        if let Some(spec) = p.spec.as_mut() {
            spec.restart_policy = Some("Never".into());
        }
        assert_eq!(
            exit_rule(&p),
            Some(Exit {
                after: DEFAULT_JOB_RUN,
                code: 0
            })
        );
        p.metadata.annotations = Some(BTreeMap::from([
            (EXIT_AFTER_ANNOTATION.into(), "2.5".into()),
            (EXIT_CODE_ANNOTATION.into(), "1".into()),
        ]));
        assert_eq!(
            exit_rule(&p),
            Some(Exit {
                after: Duration::from_millis(2500),
                code: 1
            })
        );
        p.metadata.annotations = Some(BTreeMap::from([(EXIT_AFTER_ANNOTATION.into(), "x".into())]));
        assert_eq!(exit_rule(&p), None);
    }

    #[test]
    fn finished_status_phases() {
        let p = pod();
        let ok = finished_status(&p, &at(), 0, Timestamp::now());
        assert_eq!(ok.phase.as_deref(), Some("Succeeded"));
        assert_eq!(
            condition(&ok, "Ready").map(|c| c.status.as_str()),
            Some("False")
        );
        let c = ok.container_statuses.unwrap_or_default();
        let t = c[0].state.as_ref().and_then(|s| s.terminated.as_ref());
        assert_eq!(t.map(|t| t.exit_code), Some(0));
        assert_eq!(t.and_then(|t| t.reason.as_deref()), Some("Completed"));
        assert!(!c[0].ready);
        let failed = finished_status(&p, &at(), 1, Timestamp::now());
        assert_eq!(failed.phase.as_deref(), Some("Failed"));
    }

    #[test]
    fn start_delay_in_range() {
        let (lo, hi) = (Duration::from_millis(50), Duration::from_millis(200));
        for uid in ["a", "b", "c", "d"] {
            let d = start_delay(uid, lo, hi);
            assert!(d >= lo && d <= hi);
        }
        assert_eq!(start_delay("a", hi, lo), hi);
    }
}
