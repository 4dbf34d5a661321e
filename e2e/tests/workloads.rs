//! The all-in-one pipeline with the real kubectl: a Deployment applied to
//! `mars server` (controllers, scheduler and a simulated node beside the
//! API) reaches Running pods, rolls out, rolls back, scales and is cleaned
//! up as on a real cluster.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use mars_e2e::kubectl::{Cluster, Kubectl};
use mars_e2e::{MarsServer, wait_until};

/// A server running everything `mars server` runs by default, with kubectl.
fn all_in_one() -> (MarsServer, Kubectl) {
    with_nodes(1)
}

/// [`all_in_one`] with `nodes` simulated nodes.
fn with_nodes(nodes: usize) -> (MarsServer, Kubectl) {
    let Cluster { server, kubectl } = Cluster::all_in_one(nodes, &[]).unwrap();
    (server, kubectl)
}

/// `kubectl rollout status` until it reports success (90 s at most: the
/// machine may be busy with other tests' servers).
fn rolled_out(kubectl: &Kubectl, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let run = kubectl.run(&format!("rollout status {what} --timeout=20s"));
        if run.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not roll out: {}",
            run.stderr
        );
    }
}

fn running_pods(kubectl: &Kubectl, selector: &str) -> usize {
    kubectl
        .run(&format!(
            "get pods -l {selector} --field-selector=status.phase=Running -o name"
        ))
        .stdout
        .lines()
        .count()
}

#[test]
fn a_deployment_reaches_running_rolls_out_and_rolls_back() {
    let (_server, kubectl) = all_in_one();
    // The all-in-one node is this machine, Ready.
    kubectl
        .run("wait --for=condition=Ready node --all --timeout=30s")
        .ok();

    kubectl
        .run("create deployment web --image=nginx:1.27 --replicas=3")
        .ok();
    rolled_out(&kubectl, "deployment/web");
    assert_eq!(running_pods(&kubectl, "app=web"), 3);
    let pod_ip = kubectl
        .run("get pods -l app=web -o jsonpath={.items[0].status.podIP}")
        .ok()
        .stdout;
    assert!(pod_ip.starts_with("10."), "pod IP {pod_ip:?}");

    // A new image rolls out through a second ReplicaSet.
    kubectl
        .run("set image deployment/web nginx=nginx:1.28")
        .ok();
    rolled_out(&kubectl, "deployment/web");
    // Old pods may still be terminating (their grace period), as on any
    // cluster; they go.
    wait_until(Duration::from_secs(60), "only nginx:1.28 pods", || {
        let images = kubectl
            .run("get pods -l app=web -o jsonpath={.items[*].spec.containers[0].image}")
            .ok()
            .stdout;
        images.split_whitespace().all(|i| i == "nginx:1.28")
    });
    assert_eq!(running_pods(&kubectl, "app=web"), 3);
    assert_eq!(
        kubectl
            .run("get rs -l app=web -o name")
            .ok()
            .stdout
            .lines()
            .count(),
        2
    );

    // Undo goes back to the first template.
    kubectl.run("rollout undo deployment/web").ok();
    rolled_out(&kubectl, "deployment/web");
    let image = kubectl
        .run("get deployment web -o jsonpath={.spec.template.spec.containers[0].image}")
        .ok()
        .stdout;
    assert_eq!(image, "nginx:1.27");

    // Scale up and down.
    kubectl.run("scale deployment/web --replicas=5").ok();
    rolled_out(&kubectl, "deployment/web");
    wait_until(Duration::from_secs(60), "5 running pods", || {
        running_pods(&kubectl, "app=web") == 5
    });
    kubectl.run("scale deployment/web --replicas=1").ok();
    wait_until(Duration::from_secs(60), "1 pod left", || {
        kubectl
            .run("get pods -l app=web -o name")
            .stdout
            .lines()
            .count()
            == 1
    });

    // Deleting the Deployment takes its ReplicaSets and pods with it.
    kubectl.run("delete deployment web").ok();
    wait_until(
        Duration::from_secs(60),
        "the ReplicaSets and pods gone",
        || {
            kubectl
                .run("get rs,pods -l app=web -o name")
                .stdout
                .trim()
                .is_empty()
        },
    );
}

#[test]
fn deleting_a_namespace_removes_everything_in_it() {
    let (_server, kubectl) = all_in_one();
    kubectl.run("create namespace shop").ok();
    kubectl
        .run("-n shop create deployment api --image=nginx:1.27 --replicas=2")
        .ok();
    kubectl
        .run("-n shop create configmap settings --from-literal=a=b")
        .ok();
    rolled_out(&kubectl, "-n shop deployment/api");
    // Every namespace gets its default ServiceAccount and the root CA.
    kubectl.run("-n shop get serviceaccount default").ok();
    kubectl.run("-n shop get configmap kube-root-ca.crt").ok();

    kubectl.run("delete namespace shop --timeout=25s").ok();
    kubectl
        .run("get namespace shop")
        .fails()
        .stderr_has("not found");
}

#[test]
fn statefulsets_come_up_in_ordinal_order() {
    let (_server, kubectl) = all_in_one();
    // Each pod turns Ready 2 s after it starts, so OrderedReady creates the
    // next ordinal at least 2 s after the previous one.
    let manifest = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: postgres:16
        readinessProbe: {tcpSocket: {port: 5432}, initialDelaySeconds: 2}
"#;
    kubectl.run_stdin("apply -f -", manifest).ok();
    rolled_out(&kubectl, "statefulset/db");
    let created: Vec<jiff::Timestamp> = ["db-0", "db-1", "db-2"]
        .iter()
        .map(|pod| {
            kubectl
                .run(&format!(
                    "get pod {pod} -o jsonpath={{.metadata.creationTimestamp}}"
                ))
                .ok()
                .stdout
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        created[0] < created[1] && created[1] < created[2],
        "pods were not created in ordinal order: {created:?}"
    );
}

#[test]
fn a_daemonset_runs_one_pod_per_node() {
    let (_server, kubectl) = with_nodes(3);
    let manifest = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: busybox}]}
"#;
    kubectl.run_stdin("apply -f -", manifest).ok();
    rolled_out(&kubectl, "daemonset/agent");
    let nodes = kubectl
        .run("get pods -l app=agent -o jsonpath={.items[*].spec.nodeName}")
        .ok()
        .stdout;
    let mut nodes: Vec<&str> = nodes.split_whitespace().collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 3, "{nodes:?}");
}

#[test]
fn a_job_runs_to_completion_and_a_cronjob_fires() {
    let (_server, kubectl) = all_in_one();
    kubectl
        .run("create job pi --image=busybox -- echo done")
        .ok();
    wait_until(Duration::from_secs(60), "job/pi complete", || {
        kubectl
            .run("wait --for=condition=complete job/pi --timeout=20s")
            .success()
    });
    assert_eq!(
        kubectl
            .run("get job pi -o jsonpath={.status.succeeded}")
            .ok()
            .stdout,
        "1"
    );
    kubectl
        .run("create cronjob tick --image=busybox --schedule='*/1 * * * *' -- echo tick")
        .ok();
    // It fires at the next minute boundary.
    wait_until(Duration::from_secs(75), "a Job of cronjob/tick", || {
        kubectl
            .run("get jobs -o name")
            .stdout
            .lines()
            .any(|job| job.starts_with("job.batch/tick-"))
    });
}

#[test]
fn a_rolling_update_stays_within_its_surge_and_unavailable_bounds() {
    let (server, kubectl) = all_in_one();
    // Pods turn Ready 1 s after they start, so the rollout takes steps.
    let manifest = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 4
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: nginx:1.27
        readinessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 1}
"#;
    kubectl.run_stdin("apply -f -", manifest).ok();
    rolled_out(&kubectl, "deployment/api");
    kubectl.run("set image deployment/api api=nginx:1.28").ok();
    // Observed while it rolls: never more than 4 + 1 pods, never fewer
    // than 4 - 0 available.
    let mut observed = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let status = kubectl
            .run(
                "get deployment api -o jsonpath={.status.replicas},{.status.availableReplicas},{.status.updatedReplicas},{.status.observedGeneration},{.metadata.generation}",
            )
            .ok()
            .stdout;
        let fields: Vec<i64> = status.split(',').map(|f| f.parse().unwrap_or(0)).collect();
        let [
            replicas,
            available,
            updated,
            observed_generation,
            generation,
        ] = fields[..]
        else {
            panic!("unexpected status {status:?}");
        };
        assert!(
            replicas <= 5,
            "{replicas} pods exceed replicas + maxSurge: {status}"
        );
        assert!(
            available >= 4,
            "{available} available is below replicas - maxUnavailable: {status}"
        );
        observed += 1;
        if observed_generation == generation && updated == 4 && replicas == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rollout did not finish: {status}\n{}\n{}\nserver log:\n{}",
            kubectl.run("get rs,pods -o wide").stdout,
            kubectl.run("get rs -o yaml").stdout,
            server.log_tail(),
        );
    }
    assert!(
        observed > 3,
        "the rollout was observed only {observed} times"
    );
    rolled_out(&kubectl, "deployment/api");
}
