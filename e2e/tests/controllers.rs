//! The controllers of `mars server` seen through kubectl: the garbage
//! collector's three propagation policies on a Deployment, ownership set by
//! hand between ConfigMaps, and the node lifecycle controller marking a
//! simulated node that stopped heartbeating NotReady (conditions Unknown), its pods
//! replaced on another node.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mars_e2e::kubectl::{Cluster, Kubectl};
use mars_e2e::{MarsServer, wait_until};

/// A server running everything `mars server` runs by default, with kubectl.
fn all_in_one() -> (MarsServer, Kubectl) {
    let Cluster { server, kubectl } = Cluster::all_in_one(1, &[]).unwrap();
    (server, kubectl)
}

/// A Deployment `name` of `replicas` rolled out.
fn rolled_out(kubectl: &Kubectl, name: &str, replicas: usize) {
    kubectl
        .run(&format!(
            "create deployment {name} --image=nginx:1.27 --replicas={replicas}"
        ))
        .ok();
    wait_for_rollout(kubectl, name, replicas);
}

/// Waits until Deployment `name` has `replicas` ready pods, all Running.
fn wait_for_rollout(kubectl: &Kubectl, name: &str, replicas: usize) {
    // Polled rather than `rollout status`: four servers share the machine.
    wait_until(
        Duration::from_secs(60),
        &format!("{name} to roll out"),
        || {
            let ready = kubectl
                .run(&format!(
                    "get deployment {name} -o jsonpath={{.status.readyReplicas}}"
                ))
                .ok()
                .stdout;
            ready == replicas.to_string()
                && kubectl.count(&format!(
                    "pods -l app={name} --field-selector=status.phase=Running"
                )) == replicas
        },
    );
    assert_eq!(kubectl.count(&format!("rs -l app={name}")), 1);
    assert_eq!(kubectl.count(&format!("pods -l app={name}")), replicas);
}

#[test]
fn foreground_deletion_removes_the_replicasets_and_pods_first() {
    let (_server, kubectl) = all_in_one();
    rolled_out(&kubectl, "fg", 3);

    kubectl
        .run("delete deployment fg --cascade=foreground --wait=false")
        .ok();
    // The owner stays, marked, while its dependents go.
    let finalizers = kubectl
        .run("get deployment fg -o jsonpath={.metadata.finalizers}")
        .ok()
        .stdout;
    assert!(
        finalizers.contains("foregroundDeletion"),
        "finalizers {finalizers:?}"
    );
    let deleted = kubectl
        .run("get deployment fg -o jsonpath={.metadata.deletionTimestamp}")
        .ok()
        .stdout;
    assert!(!deleted.is_empty(), "no deletionTimestamp");

    // While the Deployment is there, the dependents are on their way out;
    // once it is gone, they are gone already.
    let mut saw_rs_terminating = false;
    wait_until(Duration::from_secs(45), "the Deployment to go", || {
        let rs = kubectl
            .run("get rs -l app=fg -o jsonpath={.items[*].metadata.deletionTimestamp}")
            .ok()
            .stdout;
        saw_rs_terminating |= !rs.trim().is_empty();
        !kubectl.run("get deployment fg -o name").success()
    });
    assert_eq!(
        kubectl.count("rs -l app=fg"),
        0,
        "ReplicaSets outlived their owner"
    );
    assert_eq!(
        kubectl.count("pods -l app=fg"),
        0,
        "pods outlived their owner"
    );
    // Not a race to rely on, but a 3-pod ReplicaSet with 2 s grace periods
    // shows as terminating for a while.
    assert!(
        saw_rs_terminating,
        "the ReplicaSet never showed a deletionTimestamp"
    );
}

#[test]
fn orphan_deletion_keeps_the_replicasets_and_pods_without_owner() {
    let (_server, kubectl) = all_in_one();
    rolled_out(&kubectl, "orphans", 2);
    let rs = kubectl
        .run("get rs -l app=orphans -o jsonpath={.items[0].metadata.name}")
        .ok()
        .stdout;

    kubectl
        .run("delete deployment orphans --cascade=orphan")
        .ok();
    wait_until(Duration::from_secs(20), "the Deployment to go", || {
        !kubectl.run("get deployment orphans -o name").success()
    });
    // The ReplicaSet stays, no longer owned; its pods stay Running, owned by it.
    std::thread::sleep(Duration::from_secs(2));
    for field in ["ownerReferences", "deletionTimestamp"] {
        let value = kubectl
            .run(&format!("get rs {rs} -o jsonpath={{.metadata.{field}}}"))
            .ok()
            .stdout;
        // kube-apiserver omits an emptied list; Mars keeps `[]` (either is
        // "no owner").
        assert!(
            value.is_empty() || value == "[]",
            "the orphaned ReplicaSet's {field}: {value}"
        );
    }
    assert_eq!(
        kubectl.count("pods -l app=orphans --field-selector=status.phase=Running"),
        2
    );
    let pod_owners = kubectl
        .run("get pods -l app=orphans -o jsonpath={.items[*].metadata.ownerReferences[0].name}")
        .ok()
        .stdout;
    assert_eq!(pod_owners, format!("{rs} {rs}"));
    let deleting = kubectl
        .run("get pods -l app=orphans -o jsonpath={.items[*].metadata.deletionTimestamp}")
        .ok()
        .stdout;
    assert!(deleting.trim().is_empty(), "pods being deleted: {deleting}");
    // The ReplicaSet still keeps its replicas.
    kubectl.run("delete pods -l app=orphans --wait=false").ok();
    wait_until(
        Duration::from_secs(30),
        "the orphaned ReplicaSet to replace its pods",
        || {
            kubectl.count("pods -l app=orphans --field-selector=status.phase=Running") == 2
            && kubectl
                .run("get pods -l app=orphans -o jsonpath={.items[*].metadata.deletionTimestamp}")
                .ok()
                .stdout
                .trim()
                .is_empty()
        },
    );
}

#[test]
fn background_deletion_removes_the_deployment_then_its_dependents() {
    let (_server, kubectl) = all_in_one();
    rolled_out(&kubectl, "bg", 3);

    kubectl.run("delete deployment bg --wait=false").ok();
    // Background: the owner goes at once, without a finalizer.
    wait_until(Duration::from_secs(10), "the Deployment to go", || {
        !kubectl.run("get deployment bg -o name").success()
    });
    wait_until(
        Duration::from_secs(45),
        "the ReplicaSet and pods to go",
        || kubectl.count("rs -l app=bg") == 0 && kubectl.count("pods -l app=bg") == 0,
    );
}

#[test]
fn a_configmap_owned_by_another_is_collected_with_it() {
    let (_server, kubectl) = all_in_one();
    kubectl
        .run("create configmap owner --from-literal=a=1")
        .ok();
    kubectl
        .run("create configmap bystander --from-literal=c=3")
        .ok();
    let uid = kubectl
        .run("get configmap owner -o jsonpath={.metadata.uid}")
        .ok()
        .stdout;
    assert!(!uid.is_empty());
    let dependent = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"dependent",
        "ownerReferences":[{{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":"{uid}"}}]}},
        "data":{{"b":"2"}}}}"#
    );
    kubectl.run_stdin("create -f -", &dependent).ok();
    // The owner lives: the dependent stays.
    std::thread::sleep(Duration::from_secs(2));
    kubectl.run("get configmap dependent -o name").ok();

    kubectl.run("delete configmap owner").ok();
    wait_until(
        Duration::from_secs(30),
        "the dependent to be collected",
        || !kubectl.run("get configmap dependent -o name").success(),
    );
    kubectl.run("get configmap bystander -o name").ok();
}

#[test]
fn a_node_that_stops_heartbeating_goes_not_ready_and_its_pods_move() {
    // Leases are renewed every 10 s; a 15 s grace keeps healthy nodes Ready.
    let Cluster {
        server: _server,
        kubectl,
    } = Cluster::all_in_one(2, &["--node-monitor-grace-period=15s"]).unwrap();
    wait_until(Duration::from_secs(30), "two Ready nodes", || {
        let run = kubectl.run("get nodes --no-headers");
        run.success() && run.rows().iter().filter(|row| row[1] == "Ready").count() == 2
    });
    // Pods ride out a node's outage for 300 s unless they say otherwise
    // (the API's DefaultTolerationSeconds); these leave after 2 s.
    let manifest = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
"#;
    kubectl.run_stdin("apply -f -", manifest).ok();
    wait_for_rollout(&kubectl, "web", 4);
    let tolerations = kubectl
        .run("get pods -l app=web -o jsonpath={.items[0].spec.tolerations}")
        .ok()
        .stdout;
    assert!(
        tolerations.contains(r#""tolerationSeconds":2"#)
            && tolerations.contains(r#"{"effect":"NoExecute","key":"node.kubernetes.io/not-ready","operator":"Exists","tolerationSeconds":300}"#),
        "the pod's own toleration and the default one: {tolerations}"
    );
    let names = kubectl
        .run("get nodes -o jsonpath={.items[*].metadata.name}")
        .ok()
        .stdout;
    let (stopped, alive) = names.split_once(' ').unwrap();
    kubectl
        .run(&format!(
            "annotate node {stopped} sim.mars.io/heartbeat=stopped"
        ))
        .ok();
    let ready = |node: &str| {
        let run = kubectl.run(&format!("get node {node} --no-headers")).ok();
        run.rows()[0][1].to_owned()
    };
    wait_until(Duration::from_secs(60), "the node to turn NotReady", || {
        ready(stopped) == "NotReady"
    });
    assert_eq!(ready(alive), "Ready");
    // Every condition Unknown, and the unreachable taints, as kube's
    // controller sets them.
    kubectl
        .run(&format!("get node {stopped} -o yaml"))
        .ok()
        .stdout_has("NodeStatusUnknown")
        .stdout_has("node.kubernetes.io/unreachable");
    // Its pods are evicted and replaced on the other node. (The evicted
    // ones stay Terminating, as on kube, until their node returns: nobody
    // is there to confirm they stopped.)
    wait_until(
        Duration::from_secs(60),
        "four pods running on the live node",
        || {
            let nodes = kubectl
                .run(
                    "get pods -l app=web --field-selector=status.phase=Running \
                 -o jsonpath={.items[*].spec.nodeName}",
                )
                .stdout;
            nodes.split_whitespace().filter(|n| *n == alive).count() == 4
        },
    );
    // Running comes before Ready: the Deployment counts them once ready.
    wait_until(Duration::from_secs(30), "four available replicas", || {
        kubectl
            .run("get deployment web -o jsonpath={.status.availableReplicas}")
            .stdout
            == "4"
    });
}

#[test]
fn a_statefulset_and_a_daemonset_take_back_the_pods_an_orphaning_delete_left() {
    let (_server, kubectl) = all_in_one();
    let manifest = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: busybox}]}
"#;
    let ready = || {
        kubectl
            .run("get sts db -o jsonpath={.status.readyReplicas}")
            .stdout
            == "2"
            && kubectl
                .run("get ds agent -o jsonpath={.status.numberReady}")
                .stdout
                == "1"
    };
    let pods = || {
        let mut uids: Vec<String> = kubectl
            .run("get pods -l 'app in (db,agent)' -o jsonpath={.items[*].metadata.uid}")
            .ok()
            .stdout
            .split_whitespace()
            .map(str::to_string)
            .collect();
        uids.sort();
        uids
    };
    kubectl.run_stdin("apply -f -", manifest).ok();
    wait_until(Duration::from_secs(60), "db and agent ready", ready);
    let before = pods();
    assert_eq!(before.len(), 3);

    kubectl.run("delete sts db --cascade=orphan").ok();
    kubectl.run("delete ds agent --cascade=orphan").ok();
    wait_until(
        Duration::from_secs(30),
        "the pods to lose their owners",
        || {
            kubectl
            .run("get pods -l 'app in (db,agent)' -o jsonpath={.items[*].metadata.ownerReferences[*].name}")
            .stdout
            .trim()
            .is_empty()
        },
    );

    // The controllers read pods from their own cache, which may trail what
    // kubectl just saw; a DaemonSet that still sees the old owner on its
    // pod would start a new one beside it. Let the cache catch up.
    std::thread::sleep(Duration::from_secs(2));
    // Applied again, the owners take the same pods back.
    kubectl.run_stdin("apply -f -", manifest).ok();
    let owners = || {
        let uid = |what: &str| {
            kubectl
                .run(&format!("get {what} -o jsonpath={{.metadata.uid}}"))
                .stdout
        };
        let (sts, ds) = (uid("sts db"), uid("ds agent"));
        let mut owners: Vec<String> = kubectl
            .run("get pods -l 'app in (db,agent)' -o jsonpath={.items[*].metadata.ownerReferences[0].uid}")
            .stdout
            .split_whitespace()
            .map(str::to_string)
            .collect();
        owners.sort();
        let mut expected = vec![sts.clone(), sts, ds];
        expected.sort();
        owners == expected
    };
    wait_until(Duration::from_secs(30), "the pods adopted", owners);
    wait_until(Duration::from_secs(30), "db and agent ready again", ready);
    assert_eq!(pods(), before, "the adopted pods are the same pods");
}

#[test]
fn a_daemonset_and_a_statefulset_let_go_of_pods_whose_labels_no_longer_match() {
    let (_server, kubectl) = all_in_one();
    let manifest = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cache}
spec:
  serviceName: cache
  replicas: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec: {containers: [{name: cache, image: redis:7}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: probe}
spec:
  selector: {matchLabels: {app: probe}}
  template:
    metadata: {labels: {app: probe}}
    spec: {containers: [{name: probe, image: busybox}]}
"#;
    kubectl.run_stdin("apply -f -", manifest).ok();
    let ready = || {
        kubectl
            .run("get sts cache -o jsonpath={.status.readyReplicas}")
            .stdout
            == "1"
            && kubectl
                .run("get ds probe -o jsonpath={.status.numberReady}")
                .stdout
                == "1"
    };
    wait_until(Duration::from_secs(60), "cache and probe ready", ready);
    let probe = kubectl
        .run("get pods -l app=probe -o jsonpath={.items[0].metadata.name}")
        .ok()
        .stdout;

    // Taken out of their selectors (as one does to debug a pod in place).
    kubectl
        .run(&format!("label pod {probe} app=debug --overwrite"))
        .ok();
    kubectl.run("label pod cache-0 app=debug --overwrite").ok();
    let owner_of = |pod: &str| {
        kubectl
            .run(&format!(
                "get pod {pod} -o jsonpath={{.metadata.ownerReferences[*].name}}"
            ))
            .stdout
    };
    wait_until(Duration::from_secs(30), "both pods released", || {
        owner_of(&probe).trim().is_empty() && owner_of("cache-0").trim().is_empty()
    });
    // The DaemonSet runs a new pod on the node; the released one stays.
    wait_until(Duration::from_secs(30), "a new probe pod ready", || {
        kubectl
            .run("get pods -l app=probe -o jsonpath={.items[*].metadata.name}")
            .stdout
            .split_whitespace()
            .any(|name| name != probe)
            && kubectl
                .run("get ds probe -o jsonpath={.status.numberReady}")
                .stdout
                == "1"
    });
    // The StatefulSet cannot make a new cache-0 while the released pod has
    // that name (kube's StatefulSet waits the same way).
    assert_eq!(
        kubectl
            .run(&format!(
                "get pod {probe} -o jsonpath={{.metadata.labels.app}}"
            ))
            .ok()
            .stdout,
        "debug"
    );
}
