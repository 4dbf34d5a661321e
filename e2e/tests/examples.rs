//! The shipped examples, applied with the real kubectl against `mars
//! server` exactly as a newcomer would: the national fleet (Mars's own
//! kinds, installed by the server), the Case walked through its state
//! machine with `kubectl patch --subresource=status`, and an ordinary
//! multi-tier Kubernetes application, unchanged.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use mars_e2e::kubectl::{Cluster, Kubectl, default_kubectl};

fn examples(dir: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(dir);
    path.canonicalize().unwrap().display().to_string()
}

/// Requests a Case transition the way the fleet README shows it.
fn transition(kubectl: &Kubectl, phase: &str, reason: &str) -> mars_e2e::kubectl::Run {
    let patch = format!(r#"{{"status":{{"phase":"{phase}","reason":"{reason}"}}}}"#);
    kubectl.run(&format!(
        "-n noc patch case bj-sh-congestion --subresource=status --type=merge -p '{patch}'"
    ))
}

fn phase(kubectl: &Kubectl) -> String {
    kubectl
        .run("-n noc get case bj-sh-congestion -o jsonpath={.status.phase}")
        .ok()
        .stdout
}

#[test]
fn the_fleet_applies_and_its_case_walks_the_state_machine() {
    let cluster = Cluster::start(&default_kubectl().unwrap()).unwrap();
    let kubectl = &cluster.kubectl;
    kubectl.run(&format!("apply -f {}", examples("fleet"))).ok();

    assert!(kubectl.count("sites") >= 12);
    assert!(kubectl.count("links") >= 20);
    assert!(kubectl.count("devices") >= 30);
    assert!(kubectl.count("workloads -A") >= 5);
    let links = kubectl.run("get links").ok();
    let header: Vec<&str> = links
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME", "FROM", "TO", "TYPE", "CAPACITY", "UTIL", "LATENCY", "LOSS", "STATE", "AGE"
        ]
    );
    // The `mars` category lists every kind at once.
    kubectl
        .run("get mars -A")
        .ok()
        .stdout_has("site.mars.io/bj-yizhuang");
    // explain teaches the user from the schema's descriptions.
    kubectl
        .run("explain link.spec.type")
        .ok()
        .stdout_has("leased-line");

    assert_eq!(phase(kubectl), "New");
    // 409: not an edge of the machine; nothing changes.
    transition(kubectl, "Executing", "skip ahead")
        .fails()
        .stderr_has("a Case cannot move from New to Executing");
    assert_eq!(phase(kubectl), "New");
    transition(kubectl, "Analyzing", "NOC on it").ok();
    transition(kubectl, "Planning", "root cause: bulk replication").ok();

    // 422: the guard wants rollback steps; nothing changes.
    kubectl
        .run(r#"-n noc patch changeplan bj-sh-congestion-steer-bulk --type=json -p '[{"op":"remove","path":"/spec/rollback"}]'"#)
        .ok();
    transition(kubectl, "WaitingApproval", "plan ready")
        .fails()
        .stderr_has("is invalid")
        .stderr_has("no rollback steps");
    assert_eq!(phase(kubectl), "Planning");
    kubectl.run(&format!("apply -f {}", examples("fleet"))).ok();

    for (to, reason) in [
        ("WaitingApproval", "plan ready"),
        ("Executing", "auto-approved under the risk bar"),
        ("Verifying", "steps succeeded"),
        ("Closed", "bj-sh-fiber-1 back under 60 percent"),
    ] {
        transition(kubectl, to, reason).ok();
        assert_eq!(phase(kubectl), to);
    }
    transition(kubectl, "Planning", "reopen")
        .fails()
        .stderr_has("final");

    let timeline = kubectl
        .run(r#"-n noc get case bj-sh-congestion -o jsonpath='{range .status.timeline[*]}{.from}>{.to}{"\n"}{end}'"#)
        .ok();
    let moves: Vec<&str> = timeline.stdout.lines().collect();
    assert_eq!(
        moves,
        [
            "New>Analyzing",
            "Analyzing>Planning",
            "Planning>WaitingApproval",
            "WaitingApproval>Executing",
            "Executing>Verifying",
            "Verifying>Closed",
        ]
    );
    // Both refusals and every accepted move are Events on the Case.
    kubectl
        .run("-n noc get events --field-selector involvedObject.name=bj-sh-congestion")
        .ok()
        .stdout_has("TransitionRefused")
        .stdout_has("Verified");
}

#[test]
fn an_ordinary_kubernetes_app_applies_unchanged() {
    let cluster = Cluster::start(&default_kubectl().unwrap()).unwrap();
    let kubectl = &cluster.kubectl;
    kubectl.run(&format!("apply -f {}", examples("app"))).ok();
    let listed = kubectl
        .run("-n shop get deploy,svc,cm,secret,ing,hpa,pdb -o name")
        .ok();
    for object in [
        "deployment.apps/frontend",
        "deployment.apps/backend",
        "service/frontend",
        "service/backend",
        "configmap/backend-config",
        "secret/backend-db",
        "ingress.networking.k8s.io/shop",
        "horizontalpodautoscaler.autoscaling/backend",
        "poddisruptionbudget.policy/backend",
    ] {
        listed.stdout_has(object);
    }
    // A second apply changes nothing it does not have to.
    kubectl
        .run(&format!("apply -f {}", examples("app")))
        .ok()
        .stdout_has("deployment.apps/frontend unchanged");
}
