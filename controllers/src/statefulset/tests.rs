use super::*;
use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSetOrdinals,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

const CUR: &str = "web-old";
const UPD: &str = "web-new";

fn sts(replicas: i32, parallel: bool) -> StatefulSet {
    StatefulSet {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("u1".into()),
            generation: Some(2),
            ..ObjectMeta::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some("nginx".into()),
            selector: LabelSelector {
                match_labels: Some([("app".to_string(), "web".to_string())].into()),
                ..LabelSelector::default()
            },
            pod_management_policy: parallel.then(|| "Parallel".to_string()),
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".into()),
                    ..ObjectMeta::default()
                },
                ..PersistentVolumeClaim::default()
            }]),
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

fn pod(ord: i32, rev: &str, ready: bool) -> Pod {
    let mut p = new_pod(&sts(1, false), &PodTemplateSpec::default(), ord, rev);
    p.status = Some(PodStatus {
        phase: Some(if ready { "Running" } else { "Pending" }.into()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..PodCondition::default()
        }]),
        ..PodStatus::default()
    });
    p
}

fn all_claims(n: i32) -> BTreeSet<String> {
    (0..n).map(|o| claim_name("data", "web", o)).collect()
}

fn run(s: &StatefulSet, pods: &[Pod], claims: &BTreeSet<String>) -> Plan {
    let refs: Vec<&Pod> = pods.iter().collect();
    plan(s, &refs, claims, CUR, UPD, 0, Timestamp::now())
}

fn create(o: i32, rev: &str) -> Step {
    Step::CreatePod {
        ordinal: o,
        revision: rev.into(),
    }
}

#[test]
fn names_and_ordinals() {
    assert_eq!(parent_and_ordinal("web-12"), Some(("web", 12)));
    assert_eq!(parent_and_ordinal("my-web-0"), Some(("my-web", 0)));
    assert_eq!(parent_and_ordinal("web-x"), None);
    assert_eq!(parent_and_ordinal("web"), None);
    assert_eq!(claim_name("data", "web", 3), "data-web-3");
}

#[test]
fn pod_identity_and_volumes() {
    let p = new_pod(&sts(3, false), &PodTemplateSpec::default(), 2, UPD);
    assert_eq!(p.metadata.name.as_deref(), Some("web-2"));
    let l = p.metadata.labels.clone().unwrap_or_default();
    assert_eq!(l.get(POD_NAME_LABEL).map(String::as_str), Some("web-2"));
    assert_eq!(l.get(POD_INDEX_LABEL).map(String::as_str), Some("2"));
    assert_eq!(l.get(REVISION_LABEL).map(String::as_str), Some(UPD));
    let spec = p.spec.unwrap_or_default();
    assert_eq!(spec.hostname.as_deref(), Some("web-2"));
    assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
    let vols = spec.volumes.unwrap_or_default();
    assert_eq!(
        vols[0]
            .persistent_volume_claim
            .as_ref()
            .map(|c| c.claim_name.as_str()),
        Some("data-web-2")
    );
    let claims = new_claims(&sts(3, false), 2);
    assert_eq!(claims[0].metadata.name.as_deref(), Some("data-web-2"));
    assert!(claims[0].metadata.owner_references.is_none());
    let mut s = sts(3, false);
    if let Some(spec) = s.spec.as_mut() {
        spec.persistent_volume_claim_retention_policy =
            Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some("Delete".into()),
                when_scaled: Some("Retain".into()),
            });
    }
    assert!(new_claims(&s, 0)[0].metadata.owner_references.is_some());
}

#[test]
fn ordered_ready_creates_one_at_a_time() {
    let s = sts(3, false);
    assert_eq!(run(&s, &[], &BTreeSet::new()).steps, vec![create(0, UPD)]);
    // web-0 not ready yet: wait.
    assert_eq!(run(&s, &[pod(0, UPD, false)], &all_claims(3)).steps, vec![]);
    assert_eq!(
        run(&s, &[pod(0, UPD, true)], &all_claims(3)).steps,
        vec![create(1, UPD)]
    );
    // A missing middle ordinal is recreated first.
    assert_eq!(
        run(&s, &[pod(0, UPD, true), pod(2, UPD, true)], &all_claims(3)).steps,
        vec![create(1, UPD)]
    );
}

#[test]
fn parallel_creates_all() {
    let s = sts(3, true);
    assert_eq!(
        run(&s, &[], &BTreeSet::new()).steps,
        vec![create(0, UPD), create(1, UPD), create(2, UPD)]
    );
    let pods = [
        pod(0, UPD, true),
        pod(1, UPD, true),
        pod(2, UPD, true),
        pod(3, UPD, true),
    ];
    assert_eq!(
        run(&sts(1, true), &pods, &all_claims(4)).steps,
        vec![
            Step::DeletePod("web-3".into()),
            Step::DeletePod("web-2".into()),
            Step::DeletePod("web-1".into())
        ]
    );
}

#[test]
fn ordered_scale_down_highest_first_waiting() {
    let s = sts(1, false);
    let mut pods = vec![pod(0, UPD, true), pod(1, UPD, true), pod(2, UPD, true)];
    assert_eq!(
        run(&s, &pods, &all_claims(3)).steps,
        vec![Step::DeletePod("web-2".into())]
    );
    pods[2].metadata.deletion_timestamp = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::now()),
    );
    assert_eq!(run(&s, &pods, &all_claims(3)).steps, vec![]);
    pods.pop();
    assert_eq!(
        run(&s, &pods, &all_claims(3)).steps,
        vec![Step::DeletePod("web-1".into())]
    );
}

#[test]
fn claims_created_and_deleted_on_scale() {
    let mut s = sts(2, false);
    let pods = [pod(0, UPD, true), pod(1, UPD, true)];
    let mut claims = all_claims(1);
    assert_eq!(
        run(&s, &pods, &claims).steps,
        vec![Step::CreateClaims { ordinal: 1 }]
    );
    claims = all_claims(3);
    assert_eq!(run(&s, &pods, &claims).steps, vec![]);
    if let Some(spec) = s.spec.as_mut() {
        spec.persistent_volume_claim_retention_policy =
            Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some("Retain".into()),
                when_scaled: Some("Delete".into()),
            });
    }
    assert_eq!(
        run(&s, &pods, &claims).steps,
        vec![Step::DeleteClaim("data-web-2".into())]
    );
}

#[test]
fn rolling_update_highest_first_one_at_a_time() {
    let s = sts(3, false);
    let mut pods = vec![pod(0, CUR, true), pod(1, CUR, true), pod(2, CUR, true)];
    assert_eq!(
        run(&s, &pods, &all_claims(3)).steps,
        vec![Step::DeletePod("web-2".into())]
    );
    // web-2 recreated at the new revision but not ready: wait.
    pods[2] = pod(2, UPD, false);
    assert_eq!(run(&s, &pods, &all_claims(3)).steps, vec![]);
    pods[2] = pod(2, UPD, true);
    assert_eq!(
        run(&s, &pods, &all_claims(3)).steps,
        vec![Step::DeletePod("web-1".into())]
    );
    let st = run(&s, &pods, &all_claims(3)).status;
    assert_eq!(st.updated_replicas, Some(1));
    assert_eq!(st.current_replicas, Some(2));
    assert_eq!(st.current_revision.as_deref(), Some(CUR));
    let done = [pod(0, UPD, true), pod(1, UPD, true), pod(2, UPD, true)];
    let st = run(&s, &done, &all_claims(3)).status;
    assert_eq!(st.current_revision.as_deref(), Some(UPD));
    assert_eq!(st.current_replicas, Some(3));
    assert_eq!(st.ready_replicas, Some(3));
    assert_eq!(st.observed_generation, Some(2));
}

fn with_strategy(
    mut s: StatefulSet,
    partition: Option<i32>,
    max_unavailable: Option<i32>,
    on_delete: bool,
) -> StatefulSet {
    if let Some(spec) = s.spec.as_mut() {
        spec.update_strategy = Some(StatefulSetUpdateStrategy {
            type_: Some(
                if on_delete {
                    "OnDelete"
                } else {
                    "RollingUpdate"
                }
                .into(),
            ),
            rolling_update: Some(RollingUpdateStatefulSetStrategy {
                partition,
                max_unavailable: max_unavailable.map(IntOrString::Int),
            }),
        });
    }
    s
}

#[test]
fn partition_and_on_delete() {
    let s = with_strategy(sts(3, false), Some(2), None, false);
    let pods = [pod(0, CUR, true), pod(1, CUR, true), pod(2, UPD, true)];
    assert_eq!(run(&s, &pods, &all_claims(3)).steps, vec![]);
    // Below the partition, a missing pod comes back at the current revision.
    let pods2 = [pod(0, CUR, true), pod(2, UPD, true)];
    assert_eq!(run(&s, &pods2, &all_claims(3)).steps, vec![create(1, CUR)]);
    let od = with_strategy(sts(3, false), None, None, true);
    let old = [pod(0, CUR, true), pod(1, CUR, true), pod(2, CUR, true)];
    assert_eq!(run(&od, &old, &all_claims(3)).steps, vec![]);
    assert_eq!(
        run(&od, &old[..2], &all_claims(3)).steps,
        vec![create(2, UPD)]
    );
}

#[test]
fn max_unavailable_updates_in_parallel() {
    let s = with_strategy(sts(4, true), None, Some(2), false);
    let pods = [
        pod(0, CUR, true),
        pod(1, CUR, true),
        pod(2, CUR, true),
        pod(3, CUR, true),
    ];
    assert_eq!(
        run(&s, &pods, &all_claims(4)).steps,
        vec![
            Step::DeletePod("web-3".into()),
            Step::DeletePod("web-2".into())
        ]
    );
    let s = with_strategy(sts(3, false), None, None, false);
    let mut s = s;
    if let Some(spec) = s.spec.as_mut() {
        spec.ordinals = Some(StatefulSetOrdinals { start: Some(5) });
    }
    assert_eq!(run(&s, &[], &BTreeSet::new()).steps, vec![create(5, UPD)]);
}
