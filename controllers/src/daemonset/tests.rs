use super::*;
use k8s_openapi::api::apps::v1::{DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
use k8s_openapi::api::core::v1::{NodeSpec, PodCondition, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

const NEW: &str = "hnew";
const OLD: &str = "hold";

fn ds() -> DaemonSet {
    DaemonSet {
        metadata: ObjectMeta {
            name: Some("agent".into()),
            namespace: Some("kube-system".into()),
            uid: Some("d1".into()),
            generation: Some(3),
            ..ObjectMeta::default()
        },
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some([("app".to_string(), "agent".to_string())].into()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec::default(),
            ..DaemonSetSpec::default()
        }),
        status: None,
    }
}

fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            taints: Some(
                taints
                    .iter()
                    .map(|(k, e)| Taint {
                        key: k.to_string(),
                        effect: e.to_string(),
                        ..Taint::default()
                    })
                    .collect(),
            ),
            ..NodeSpec::default()
        }),
        status: None,
    }
}

fn pod(name: &str, node: &str, hash: &str, ready: bool) -> Pod {
    let mut p = new_pod(&ds(), node, hash);
    p.metadata.name = Some(name.into());
    p.status = Some(PodStatus {
        phase: Some("Running".into()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..PodCondition::default()
        }]),
        ..PodStatus::default()
    });
    p
}

fn run(d: &DaemonSet, nodes: &[Node], pods: &[Pod]) -> Plan {
    let n: Vec<&Node> = nodes.iter().collect();
    let p: Vec<&Pod> = pods.iter().collect();
    plan(d, &n, &p, NEW, Timestamp::now())
}

fn with_template(spec: PodSpec) -> DaemonSet {
    let mut d = ds();
    if let Some(s) = d.spec.as_mut() {
        s.template.spec = Some(spec);
    }
    d
}

#[test]
fn eligibility_selectors_and_taints() {
    let d = with_template(PodSpec {
        node_selector: Some([("disk".to_string(), "ssd".to_string())].into()),
        ..PodSpec::default()
    });
    let t = d.spec.clone().unwrap_or_default().template;
    assert_eq!(
        node_should_run(&t, &node("a", &[("disk", "ssd")], &[])),
        (true, true)
    );
    assert_eq!(node_should_run(&t, &node("b", &[], &[])), (false, false));
    let plain = PodTemplateSpec::default();
    // Automatic tolerations cover unschedulable and not-ready.
    assert_eq!(
        node_should_run(
            &plain,
            &node(
                "c",
                &[],
                &[
                    ("node.kubernetes.io/unschedulable", "NoSchedule"),
                    ("node.kubernetes.io/not-ready", "NoExecute")
                ]
            )
        ),
        (true, true)
    );
    assert_eq!(
        node_should_run(&plain, &node("d", &[], &[("dedicated", "NoSchedule")])),
        (false, true)
    );
    assert_eq!(
        node_should_run(&plain, &node("e", &[], &[("dedicated", "NoExecute")])),
        (false, false)
    );
    let tol = PodTemplateSpec {
        spec: Some(PodSpec {
            tolerations: Some(vec![Toleration {
                key: Some("dedicated".into()),
                operator: Some("Exists".into()),
                ..Toleration::default()
            }]),
            ..PodSpec::default()
        }),
        ..PodTemplateSpec::default()
    };
    assert_eq!(
        node_should_run(&tol, &node("e", &[], &[("dedicated", "NoExecute")])),
        (true, true)
    );
    // Required node affinity.
    let aff = PodTemplateSpec {
        spec: Some(PodSpec {
            affinity: Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: Some(vec![NodeSelectorRequirement {
                                key: "zone".into(),
                                operator: "In".into(),
                                values: Some(vec!["z1".into()]),
                            }]),
                            match_fields: None,
                        }],
                    }),
                    ..NodeAffinity::default()
                }),
                ..Affinity::default()
            }),
            ..PodSpec::default()
        }),
        ..PodTemplateSpec::default()
    };
    assert!(node_should_run(&aff, &node("f", &[("zone", "z1")], &[])).0);
    assert!(!node_should_run(&aff, &node("g", &[("zone", "z2")], &[])).0);
}

#[test]
fn pod_is_pinned_and_tolerant() {
    let p = new_pod(&ds(), "n1", NEW);
    assert_eq!(pod_node(&p).as_deref(), Some("n1"));
    let tols = p
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    assert_eq!(tols.len(), 6);
    assert_eq!(
        p.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(REVISION_LABEL))
            .map(String::as_str),
        Some(NEW)
    );
    assert_eq!(p.metadata.generate_name.as_deref(), Some("agent-"));
}

#[test]
fn one_pod_per_node() {
    let d = ds();
    let nodes = [
        node("a", &[], &[]),
        node("b", &[], &[]),
        node("c", &[], &[("x", "NoSchedule")]),
    ];
    let p = run(&d, &nodes, &[]);
    assert_eq!(p.create, vec!["a", "b"]);
    assert_eq!(p.status.desired_number_scheduled, 2);
    // Duplicates, a pod on a tainted node and one on a vanished node go.
    let pods = [
        pod("p1", "a", NEW, true),
        pod("p2", "a", NEW, true),
        pod("p3", "b", NEW, true),
        pod("p4", "gone", NEW, true),
    ];
    let p = run(&d, &nodes, &pods);
    assert!(p.create.is_empty());
    assert_eq!(p.delete, vec!["p2", "p4"]);
    assert_eq!(p.status.current_number_scheduled, 2);
    assert_eq!(p.status.number_ready, 2);
    assert_eq!(p.status.updated_number_scheduled, Some(2));
    assert_eq!(p.status.observed_generation, Some(3));
    let nodes2 = [node("a", &[], &[("x", "NoExecute")])];
    let p = run(&d, &nodes2, &[pod("p1", "a", NEW, true)]);
    assert_eq!(p.delete, vec!["p1"]);
    assert_eq!(p.status.number_misscheduled, 1);
}

#[test]
fn rolling_update_budget() {
    let d = ds();
    let nodes = [
        node("a", &[], &[]),
        node("b", &[], &[]),
        node("c", &[], &[]),
    ];
    let old = [
        pod("p1", "a", OLD, true),
        pod("p2", "b", OLD, true),
        pod("p3", "c", OLD, true),
    ];
    let p = run(&d, &nodes, &old);
    assert_eq!(p.delete.len(), 1);
    assert_eq!(p.status.updated_number_scheduled, Some(0));
    // One new pod not yet ready uses the budget.
    let mid = [
        pod("n1", "a", NEW, false),
        pod("p2", "b", OLD, true),
        pod("p3", "c", OLD, true),
    ];
    assert!(run(&d, &nodes, &mid).delete.is_empty());
    // An unavailable old pod goes regardless.
    let bad = [
        pod("n1", "a", NEW, true),
        pod("p2", "b", OLD, false),
        pod("p3", "c", OLD, true),
    ];
    assert_eq!(run(&d, &nodes, &bad).delete, vec!["p2"]);
    let mut d2 = ds();
    if let Some(s) = d2.spec.as_mut() {
        s.update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDaemonSet {
                max_unavailable: Some(IntOrString::String("100%".into())),
                max_surge: None,
            }),
        });
    }
    assert_eq!(run(&d2, &nodes, &old).delete.len(), 3);
    let mut od = ds();
    if let Some(s) = od.spec.as_mut() {
        s.update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some("OnDelete".into()),
            rolling_update: None,
        });
    }
    assert!(run(&od, &nodes, &old).delete.is_empty());
}

#[test]
fn surge_creates_before_deleting() {
    let mut d = ds();
    if let Some(s) = d.spec.as_mut() {
        s.update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDaemonSet {
                max_unavailable: Some(IntOrString::Int(0)),
                max_surge: Some(IntOrString::Int(1)),
            }),
        });
    }
    let nodes = [node("a", &[], &[]), node("b", &[], &[])];
    let old = [pod("p1", "a", OLD, true), pod("p2", "b", OLD, true)];
    let p = run(&d, &nodes, &old);
    assert_eq!(p.create, vec!["a"]);
    assert!(p.delete.is_empty());
    let surging = [
        pod("p1", "a", OLD, true),
        pod("n1", "a", NEW, false),
        pod("p2", "b", OLD, true),
    ];
    let p = run(&d, &nodes, &surging);
    assert!(p.create.is_empty() && p.delete.is_empty());
    let ready = [
        pod("p1", "a", OLD, true),
        pod("n1", "a", NEW, true),
        pod("p2", "b", OLD, true),
    ];
    let p = run(&d, &nodes, &ready);
    assert_eq!(p.delete, vec!["p1"]);
    assert_eq!(p.create, vec!["b"]);
}
