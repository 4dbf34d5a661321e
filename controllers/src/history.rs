//! ControllerRevisions for template history (kube's `pkg/controller/history`),
//! shared by the StatefulSet and DaemonSet controllers: the revision data is
//! kube's patch form `{"spec":{"template":{…,"$patch":"replace"}}}`, named
//! `<owner>-<hash>` with the hash in `controller.kubernetes.io/hash`.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use crate::pods;

/// The label holding a revision's hash.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// The StatefulSet or DaemonSet whose template history is kept.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Its controller reference, as revisions (and adopted pods) carry it.
    pub reference: OwnerReference,
    pub namespace: Option<String>,
    /// The selector orphan revisions are claimed by; `None` while the
    /// owner is being deleted (it claims nothing then).
    pub claim_selector: Option<LabelSelector>,
    /// The template the newest revision must hold.
    pub template: PodTemplateSpec,
    /// `status.collisionCount`.
    pub collision_count: i32,
}

impl Owner {
    /// The history owner of kind `kind` (`StatefulSet`, `DaemonSet`).
    pub fn new(
        kind: &str,
        meta: &ObjectMeta,
        selector: Option<&LabelSelector>,
        template: Option<&PodTemplateSpec>,
        collision_count: Option<i32>,
    ) -> Self {
        Self {
            reference: pods::controller_ref("apps/v1", kind, meta),
            namespace: meta.namespace.clone(),
            claim_selector: selector
                .filter(|_| meta.deletion_timestamp.is_none())
                .cloned(),
            template: template.cloned().unwrap_or_default(),
            collision_count: collision_count.unwrap_or(0),
        }
    }
}

/// The revision data of a template (kube's `getPatch`).
pub fn data(template: &PodTemplateSpec) -> serde_json::Value {
    let mut t = serde_json::to_value(template).unwrap_or_default();
    if let Some(o) = t.as_object_mut() {
        o.insert("$patch".into(), "replace".into());
    }
    serde_json::json!({ "spec": { "template": t } })
}

/// The template stored in revision data.
pub fn template_of(rev: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = rev.data.as_ref()?.0.get("spec")?.get("template")?.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// kube's `HashControllerRevision`: FNV-32a of the data and the collision
/// count, safely encoded.
pub fn hash(data: &serde_json::Value, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(data).unwrap_or_default();
    if let Some(c) = collision_count.filter(|c| *c != 0) {
        bytes.extend_from_slice(&(c as u32).to_le_bytes());
    }
    pods::safe_encode(&pods::fnv32a(&bytes).to_string())
}

/// A revision's name: `<owner>-<hash>` (the prefix cut to 223 bytes).
pub fn name(owner: &str, hash: &str) -> String {
    let prefix: String = owner.chars().take(223).collect();
    format!("{prefix}-{hash}")
}

/// Whether a revision holds exactly `data`.
pub fn equal(rev: &ControllerRevision, data: &serde_json::Value) -> bool {
    rev.data.as_ref().is_some_and(|d| &d.0 == data)
}

/// The next revision number (one past the highest).
pub fn next_number(revs: &[ControllerRevision]) -> i64 {
    revs.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// Revisions to delete: the oldest of those not `live`, beyond `limit`.
pub fn to_truncate(revs: &[ControllerRevision], live: &HashSet<String>, limit: i32) -> Vec<String> {
    let mut old: Vec<&ControllerRevision> = revs
        .iter()
        .filter(|r| !live.contains(&r.name_any()))
        .collect();
    let keep = usize::try_from(limit.max(0)).unwrap_or(0);
    if old.len() <= keep {
        return Vec::new();
    }
    old.sort_by_key(|r| r.revision);
    let n = old.len() - keep;
    old.into_iter().take(n).map(|r| r.name_any()).collect()
}

/// A new revision object.
pub fn new_revision(
    owner_name: &str,
    owner_ref: OwnerReference,
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
    data: serde_json::Value,
    hash: &str,
    number: i64,
) -> ControllerRevision {
    let mut labels = labels;
    labels.insert(HASH_LABEL.into(), hash.into());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name(owner_name, hash)),
            namespace,
            labels: Some(labels),
            owner_references: Some(vec![owner_ref]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data)),
        revision: number,
    }
}

/// The revisions `api` holds whose controller is `owner`, after adopting
/// the orphans its claim selector matches (kube's
/// `ClaimControllerRevisions`: an owner deleted with `--cascade=orphan`
/// and created again takes its history back, so its pods keep their
/// revision).
pub async fn owned(
    api: &Api<ControllerRevision>,
    owner: &Owner,
) -> Result<Vec<ControllerRevision>, kube::Error> {
    let selector = owner.claim_selector.as_ref();
    let owner = &owner.reference;
    let mut revisions = Vec::new();
    for rev in api.list(&ListParams::default()).await?.items {
        match pods::controller_of(&rev.metadata) {
            Some(o) if o.uid == owner.uid => revisions.push(rev),
            None if pods::selector_matches(selector, rev.metadata.labels.as_ref()) => {
                let mut refs = rev.metadata.owner_references.clone().unwrap_or_default();
                refs.push(owner.clone());
                let patch = serde_json::json!({"metadata": {"ownerReferences": refs, "uid": rev.metadata.uid}});
                match api
                    .patch(
                        &rev.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(adopted) => revisions.push(adopted),
                    Err(error) => {
                        tracing::info!(revision = %rev.name_any(), %error, "adopting an orphan revision failed");
                    }
                }
            }
            _ => {}
        }
    }
    Ok(revisions)
}

/// Finds or creates the revision for the owner's template among `revs`
/// (its revisions), bumping an equal older revision to the newest number
/// (a rollback) as kube does, and handling hash collisions by raising the
/// collision count. Returns the revision and the collision count.
pub async fn ensure(
    api: &Api<ControllerRevision>,
    owner: &Owner,
    revs: &[ControllerRevision],
) -> Result<(ControllerRevision, i32), kube::Error> {
    let owner_ref = &owner.reference;
    let collision_count = owner.collision_count;
    let labels = owner
        .claim_selector
        .as_ref()
        .and_then(|s| s.match_labels.clone())
        .unwrap_or_default();
    let d = data(&owner.template);
    let next = next_number(revs);
    let mut equals: Vec<&ControllerRevision> = revs.iter().filter(|r| equal(r, &d)).collect();
    equals.sort_by_key(|r| r.revision);
    if let Some(eq) = equals.last() {
        if eq.revision + 1 == next {
            return Ok(((*eq).clone(), collision_count));
        }
        let patch = serde_json::json!({ "revision": next });
        let r = api
            .patch(
                &eq.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        return Ok((r, collision_count));
    }
    let mut cc = collision_count;
    for _ in 0..10 {
        let h = hash(&d, Some(cc));
        let rev = new_revision(
            &owner_ref.name,
            owner_ref.clone(),
            owner.namespace.clone(),
            labels.clone(),
            d.clone(),
            &h,
            next,
        );
        match api.create(&PostParams::default(), &rev).await {
            Ok(r) => return Ok((r, cc)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let existing = api.get(&rev.name_any()).await?;
                let same_owner =
                    pods::controller_of(&existing.metadata).is_some_and(|r| r.uid == owner_ref.uid);
                if same_owner && equal(&existing, &d) {
                    return Ok((existing, cc));
                }
                cc += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Err(kube::Error::Service(
        "controller revision: too many hash collisions".into(),
    ))
}

/// Deletes the named revisions (absent ones are fine).
pub async fn delete(api: &Api<ControllerRevision>, names: &[String]) {
    for n in names {
        match api.delete(n, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::info!(revision = %n, error = %e, "controller revision delete failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(name: &str, n: i64) -> ControllerRevision {
        ControllerRevision {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            data: None,
            revision: n,
        }
    }

    #[test]
    fn hashing_and_round_trip() {
        let mut t = PodTemplateSpec::default();
        let d = data(&t);
        assert_eq!(hash(&d, None), hash(&d, Some(0)));
        assert_ne!(hash(&d, None), hash(&d, Some(1)));
        t.metadata = Some(ObjectMeta {
            labels: Some([("a".to_string(), "b".to_string())].into()),
            ..ObjectMeta::default()
        });
        let d2 = data(&t);
        assert_ne!(hash(&d, None), hash(&d2, None));
        assert_eq!(d2["spec"]["template"]["$patch"], "replace");
        let r = new_revision(
            "web",
            OwnerReference::default(),
            None,
            BTreeMap::new(),
            d2.clone(),
            "abc",
            3,
        );
        assert_eq!(r.name_any(), "web-abc");
        assert_eq!(template_of(&r), Some(t));
        assert!(equal(&r, &d2));
        assert!(!equal(&r, &d));
    }

    #[test]
    fn history_limit_keeps_live_and_newest() {
        let revs = vec![
            rev("a", 1),
            rev("b", 2),
            rev("c", 3),
            rev("d", 4),
            rev("e", 5),
        ];
        assert_eq!(next_number(&revs), 6);
        let live: HashSet<String> = ["e".to_string(), "a".to_string()].into();
        assert_eq!(to_truncate(&revs, &live, 1), vec!["b", "c"]);
        assert_eq!(to_truncate(&revs, &live, 10), Vec::<String>::new());
        assert_eq!(to_truncate(&revs, &live, 0), vec!["b", "c", "d"]);
    }
}
