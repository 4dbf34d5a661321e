//! Adopting orphan pods and releasing strays (kube's
//! `ControllerRefManager.ClaimPods`): a workload controller takes over
//! matching pods nobody controls, such as those left behind by `kubectl
//! delete --cascade=orphan`, instead of creating new ones beside them; and
//! lets go of pods it controls that no longer match (their labels were
//! edited), which it then replaces.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};

use crate::pods;

/// The orphans a controller with `selector` claims: pods without a
/// controller that match, are not being deleted, and pass `member` (a
/// StatefulSet claims only its own ordinal names).
pub fn orphans<'a>(
    candidates: &'a [Arc<Pod>],
    selector: Option<&LabelSelector>,
    member: impl Fn(&Pod) -> bool,
) -> Vec<&'a Arc<Pod>> {
    candidates
        .iter()
        .filter(|p| {
            pods::controller_of(&p.metadata).is_none()
                && !pods::is_terminating(p)
                && pods::selector_matches(selector, p.metadata.labels.as_ref())
                && member(p)
        })
        .collect()
}

/// Makes `owner` the controller of `object` (a pod, a ReplicaSet), on the
/// condition that the object is still the one seen (its uid), as kube's
/// adoption patch does.
pub async fn adopt<K: Claimable>(
    api: &Api<K>,
    object: &K,
    owner: &OwnerReference,
) -> Result<K, kube::Error> {
    let meta = object.meta();
    let refs: Vec<&OwnerReference> = meta
        .owner_references
        .iter()
        .flatten()
        .chain([owner])
        .collect();
    set_owner_references(api, object, &refs).await
}

/// What a controller can adopt or release.
pub trait Claimable:
    kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug
{
}

impl<K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug> Claimable for K {}

/// Replaces `object`'s owner references if its uid is still the one seen.
async fn set_owner_references<K: Claimable>(
    api: &Api<K>,
    object: &K,
    refs: &[&OwnerReference],
) -> Result<K, kube::Error> {
    let patch =
        serde_json::json!({"metadata": {"ownerReferences": refs, "uid": object.meta().uid}});
    api.patch(
        &object.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
}

/// The pods of `owned` a controller with `selector` lets go of: not being
/// deleted, and no longer matching or passing `member`. None while the
/// controller itself is being deleted (`selector` is `None` then).
pub fn strays<'a>(
    owned: &'a [Arc<Pod>],
    selector: Option<&LabelSelector>,
    member: impl Fn(&Pod) -> bool,
) -> Vec<&'a Arc<Pod>> {
    let Some(selector) = selector else {
        return Vec::new();
    };
    owned
        .iter()
        .filter(|p| {
            let keeps =
                pods::selector_matches(Some(selector), p.metadata.labels.as_ref()) && member(p);
            !keeps && !pods::is_terminating(p)
        })
        .collect()
}

/// Removes the owner reference with `owner_uid` from `pod`, on the
/// condition that the pod is still the one seen (its uid).
pub async fn release(api: &Api<Pod>, pod: &Pod, owner_uid: &str) -> Result<Pod, kube::Error> {
    let refs: Vec<&OwnerReference> = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.uid != owner_uid)
        .collect();
    set_owner_references(api, pod, &refs).await
}

/// Releases the strays of `owned` (see [`strays`]) and takes them out of
/// it, so the controller counts only what it keeps.
pub async fn release_strays(
    api: &Api<Pod>,
    owned: &mut Vec<Arc<Pod>>,
    selector: Option<&LabelSelector>,
    member: impl Fn(&Pod) -> bool,
    owner_uid: &str,
) {
    let strays: Vec<Arc<Pod>> = strays(owned, selector, member)
        .into_iter()
        .cloned()
        .collect();
    for pod in &strays {
        if let Err(error) = release(api, pod, owner_uid).await {
            tracing::info!(pod = %pod.name_any(), %error, "releasing a pod that no longer matches failed");
        }
    }
    owned.retain(|p| !strays.iter().any(|s| Arc::ptr_eq(s, p)));
}

/// Adopts every orphan of `candidates` and returns the pods now owned.
pub async fn adopt_orphans(
    api: &Api<Pod>,
    candidates: &[Arc<Pod>],
    selector: Option<&LabelSelector>,
    member: impl Fn(&Pod) -> bool,
    owner: &OwnerReference,
) -> Vec<Arc<Pod>> {
    let mut adopted = Vec::new();
    for pod in orphans(candidates, selector, member) {
        match adopt(api, pod, owner).await {
            Ok(pod) => adopted.push(Arc::new(pod)),
            Err(error) => {
                tracing::info!(pod = %pod.name_any(), %error, "adopting an orphan pod failed");
            }
        }
    }
    adopted
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn pod(name: &str, app: &str, owner: Option<&str>, deleting: bool) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some([("app".to_string(), app.to_string())].into()),
                owner_references: owner.map(|uid| {
                    vec![OwnerReference {
                        uid: uid.into(),
                        controller: Some(true),
                        ..Default::default()
                    }]
                }),
                deletion_timestamp: deleting.then_some(Time(jiff::Timestamp::UNIX_EPOCH)),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    #[test]
    fn only_live_matching_unowned_members_are_claimed() {
        let selector = LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            ..Default::default()
        };
        let candidates = vec![
            pod("web-0", "web", None, false),
            pod("web-1", "web", Some("other"), false),
            pod("web-2", "web", None, true),
            pod("db-0", "db", None, false),
            pod("stray", "web", None, false),
        ];
        let names = |claimed: Vec<&Arc<Pod>>| -> Vec<String> {
            claimed.iter().map(|p| p.name_any()).collect()
        };
        assert_eq!(
            names(orphans(&candidates, Some(&selector), |_| true)),
            ["web-0", "stray"]
        );
        assert_eq!(
            names(orphans(&candidates, Some(&selector), |p| p
                .name_any()
                .starts_with("web-"))),
            ["web-0"]
        );
        assert!(orphans(&candidates, None, |_| true).is_empty());
    }

    #[test]
    fn owned_pods_that_stopped_matching_are_strays_unless_going_or_owner_deleting() {
        let selector = LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            ..Default::default()
        };
        let owned = vec![
            pod("web-0", "web", Some("me"), false),
            pod("web-1", "debug", Some("me"), false),
            pod("web-2", "debug", Some("me"), true),
            pod("other-0", "web", Some("me"), false),
        ];
        let names =
            |found: Vec<&Arc<Pod>>| -> Vec<String> { found.iter().map(|p| p.name_any()).collect() };
        assert_eq!(names(strays(&owned, Some(&selector), |_| true)), ["web-1"]);
        assert_eq!(
            names(strays(&owned, Some(&selector), |p| p
                .name_any()
                .starts_with("web-"))),
            ["web-1", "other-0"]
        );
        assert!(strays(&owned, None, |_| true).is_empty());
    }
}
