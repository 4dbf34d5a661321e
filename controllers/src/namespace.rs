//! Namespace lifecycle, as kube-controller-manager's `namespace` controller
//! (pkg/controller/namespace): a terminating namespace has everything in it
//! deleted (every discovered namespaced resource that supports `delete`,
//! custom resources included), its `NamespaceDeletion*` / `Namespace*Remaining`
//! conditions kept up to date, and once nothing is left its `kubernetes`
//! finalizer is removed through `namespaces/{name}/finalize`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::work_queue;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::ApiResource;
use kube::runtime::{WatchStreamExt, watcher};

/// The finalizer this controller owns.
pub const FINALIZER: &str = "kubernetes";

/// One discovered resource (preferred version of its group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Discovered {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
}

impl Discovered {
    pub(crate) fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: if self.group.is_empty() {
                self.version.clone()
            } else {
                format!("{}/{}", self.group, self.version)
            },
            kind: self.kind.clone(),
            plural: self.resource.clone(),
        }
    }

    pub(crate) fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// The result of discovery: what was found, and the group versions that failed.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryResult {
    pub resources: Vec<Discovered>,
    /// `group/version: error` for each group version that could not be read.
    pub failures: Vec<String>,
}

/// Discovers every group's preferred version (as client-go's
/// `ServerPreferredResources`), tolerating failing group versions.
pub(crate) async fn discover(client: &kube::Client) -> Result<DiscoveryResult, kube::Error> {
    let mut out = DiscoveryResult::default();
    let core = client.list_core_api_versions().await?;
    let mut versions: Vec<(String, String)> = Vec::new();
    if let Some(v) = core.versions.first() {
        versions.push((String::new(), v.clone()));
    }
    let groups = client.list_api_groups().await?;
    for group in groups.groups {
        let version = group
            .preferred_version
            .as_ref()
            .map(|p| p.version.clone())
            .or_else(|| group.versions.first().map(|v| v.version.clone()));
        if let Some(version) = version {
            versions.push((group.name.clone(), version));
        }
    }
    for (group, version) in versions {
        let listed = if group.is_empty() {
            client.list_core_api_resources(&version).await
        } else {
            client
                .list_api_group_resources(&format!("{group}/{version}"))
                .await
        };
        match listed {
            Ok(list) => {
                for r in list.resources {
                    if r.name.contains('/') {
                        continue;
                    }
                    out.resources.push(Discovered {
                        group: r.group.clone().unwrap_or_else(|| group.clone()),
                        version: r.version.clone().unwrap_or_else(|| version.clone()),
                        resource: r.name,
                        kind: r.kind,
                        namespaced: r.namespaced,
                        verbs: r.verbs,
                    });
                }
            }
            Err(error) => {
                let gv = if group.is_empty() {
                    version.clone()
                } else {
                    format!("{group}/{version}")
                };
                out.failures.push(format!("{gv}: {error}"));
            }
        }
    }
    Ok(out)
}

/// What one pass over a terminating namespace found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DeletionReport {
    /// Discovery failed: kube's message for `NamespaceDeletionDiscoveryFailure`.
    pub discovery_failure: Option<String>,
    /// Group versions that could not be parsed.
    pub group_version_failure: Option<String>,
    /// One message per resource whose content could not be deleted.
    pub content_errors: Vec<String>,
    /// `resource.group` → instances still present.
    pub remaining: BTreeMap<String, usize>,
    /// finalizer → instances still carrying it.
    pub finalizers: BTreeMap<String, usize>,
}

impl DeletionReport {
    /// Whether the namespace is empty and can be finalized.
    pub fn done(&self) -> bool {
        self.discovery_failure.is_none()
            && self.group_version_failure.is_none()
            && self.content_errors.is_empty()
            && self.remaining.values().all(|n| *n == 0)
    }
}

const CONDITION_TYPES: [&str; 5] = [
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
];

fn ok_condition(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "NamespaceDeletionDiscoveryFailure" => (
            "ResourcesDiscovered",
            "All resources successfully discovered",
        ),
        "NamespaceDeletionGroupVersionParsingFailure" => (
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        "NamespaceDeletionContentFailure" => (
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        _ => ("ContentRemoved", "All content successfully removed"),
    }
}

/// The failing conditions (status True) a report calls for, by type:
/// `(reason, message)`.
pub fn failing_conditions(report: &DeletionReport) -> BTreeMap<&'static str, (String, String)> {
    let mut out = BTreeMap::new();
    if let Some(msg) = &report.discovery_failure {
        out.insert(
            CONDITION_TYPES[0],
            ("DiscoveryFailed".to_string(), msg.clone()),
        );
    }
    if let Some(msg) = &report.group_version_failure {
        out.insert(
            CONDITION_TYPES[1],
            ("GroupVersionParsingFailed".to_string(), msg.clone()),
        );
    }
    if !report.content_errors.is_empty() {
        let mut msgs = report.content_errors.clone();
        msgs.sort();
        out.insert(
            CONDITION_TYPES[2],
            (
                "ContentDeletionFailed".to_string(),
                format!(
                    "Failed to delete all resource types, {} remaining: {}",
                    msgs.len(),
                    msgs.join(", ")
                ),
            ),
        );
    }
    let mut remaining: Vec<String> = report
        .remaining
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(gr, n)| format!("{gr} has {n} resource instances"))
        .collect();
    if !remaining.is_empty() {
        remaining.sort();
        out.insert(
            CONDITION_TYPES[3],
            (
                "SomeResourcesRemain".to_string(),
                format!("Some resources are remaining: {}", remaining.join(", ")),
            ),
        );
    }
    let mut finalizers: Vec<String> = report
        .finalizers
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(f, n)| format!("{f} in {n} resource instances"))
        .collect();
    if !finalizers.is_empty() {
        finalizers.sort();
        out.insert(
            CONDITION_TYPES[4],
            (
                "SomeFinalizerRemain".to_string(),
                format!("Some finalizers are remaining: {}", finalizers.join(", ")),
            ),
        );
    }
    out
}

/// Brings `conditions` up to date with `report` as kube's
/// `updateConditions` does (every type present, True when failing, False
/// with kube's "ok" reason otherwise; the transition time moves only when
/// the status changes). True if anything changed.
pub fn update_conditions(
    conditions: &mut Vec<NamespaceCondition>,
    report: &DeletionReport,
    now: &Time,
) -> bool {
    let failing = failing_conditions(report);
    let mut changed = false;
    for kind in CONDITION_TYPES {
        let (status, reason, message) = match failing.get(kind) {
            Some((reason, message)) => ("True", reason.clone(), message.clone()),
            None => {
                let (reason, message) = ok_condition(kind);
                ("False", reason.to_string(), message.to_string())
            }
        };
        match conditions.iter_mut().find(|c| c.type_ == kind) {
            None => {
                conditions.push(NamespaceCondition {
                    type_: kind.to_string(),
                    status: status.to_string(),
                    reason: Some(reason),
                    message: Some(message),
                    last_transition_time: Some(now.clone()),
                });
                changed = true;
            }
            Some(old) => {
                if old.status != status
                    || old.reason.as_deref() != Some(&reason)
                    || old.message.as_deref() != Some(&message)
                {
                    if old.status != status {
                        old.last_transition_time = Some(now.clone());
                    }
                    old.status = status.to_string();
                    old.reason = Some(reason);
                    old.message = Some(message);
                    changed = true;
                }
            }
        }
    }
    changed
}

/// Whether the controller has work on this namespace: it is being deleted
/// and still carries the `kubernetes` finalizer.
pub fn needs_cleanup(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_some()
        && ns
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.iter().any(|x| x == FINALIZER))
}

/// The resources whose content the controller deletes: namespaced, and
/// supporting list and delete.
pub(crate) fn deletable(resources: &[Discovered]) -> Vec<&Discovered> {
    let mut seen = std::collections::HashSet::new();
    resources
        .iter()
        .filter(|r| r.namespaced && r.supports("delete") && r.supports("list"))
        .filter(|r| seen.insert((r.group.clone(), r.resource.clone())))
        .collect()
}

/// Runs the controller until the future is dropped.
pub async fn run(client: kube::Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let watch = {
        let namespaces = namespaces.clone();
        async move {
            let mut stream = std::pin::pin!(
                watcher(namespaces, watcher::Config::default())
                    .default_backoff()
                    .boxed()
            );
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::Apply(ns) | watcher::Event::InitApply(ns)) => {
                        if needs_cleanup(&ns)
                            && let Some(name) = ns.metadata.name
                        {
                            let _ = tx.send(name);
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "namespace watch failed; retrying"),
                }
            }
        }
    };
    let work = work_queue::run(
        rx,
        "namespace deletion",
        work_queue::Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(64),
        },
        |name| {
            let client = client.clone();
            async move { sync(&client, &name).await }
        },
    );
    tokio::join!(watch, work);
}

/// One pass over a namespace: `None` when done, `Some(delay)` to check again.
async fn sync(client: &kube::Client, name: &str) -> Result<Option<Duration>, kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let Some(mut ns) = namespaces.get_opt(name).await? else {
        return Ok(None);
    };
    if !needs_cleanup(&ns) {
        return Ok(None);
    }
    let report = delete_content(client, name).await;
    let now = Time(jiff::Timestamp::now());
    let status = ns.status.get_or_insert_with(Default::default);
    let mut conditions = status.conditions.take().unwrap_or_default();
    let mut changed = update_conditions(&mut conditions, &report, &now);
    status.conditions = Some(conditions);
    if status.phase.as_deref() != Some("Terminating") {
        status.phase = Some("Terminating".into());
        changed = true;
    }
    if changed {
        ns = match namespaces
            .replace_status(name, &PostParams::default(), &ns)
            .await
        {
            Ok(ns) => ns,
            // Gone meanwhile, or changed meanwhile: look again.
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(None),
            Err(kube::Error::Api(s)) if s.code == 409 => return Ok(Some(Duration::ZERO)),
            Err(e) => return Err(e),
        };
    }
    if !report.done() {
        return Ok(Some(Duration::from_secs(
            if report.content_errors.is_empty() {
                2
            } else {
                5
            },
        )));
    }
    if let Some(finalizers) = ns.spec.as_mut().and_then(|s| s.finalizers.as_mut()) {
        finalizers.retain(|f| f != FINALIZER);
    }
    match namespaces
        .replace_subresource("finalize", name, &PostParams::default(), &ns)
        .await
    {
        Ok(_) => Ok(None),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Some(Duration::ZERO)),
        Err(e) => Err(e),
    }
}

fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Deletes everything in the namespace and reports what remains.
async fn delete_content(client: &kube::Client, namespace: &str) -> DeletionReport {
    let mut report = DeletionReport::default();
    let discovered = match discover(client).await {
        Ok(d) => d,
        Err(error) => {
            report.discovery_failure = Some(error.to_string());
            return report;
        }
    };
    if !discovered.failures.is_empty() {
        report.discovery_failure = Some(format!(
            "Discovery failed for some groups, {} failing: unable to retrieve the complete list of server APIs: {}",
            discovered.failures.len(),
            discovered.failures.join(", ")
        ));
    }
    for resource in deletable(&discovered.resources) {
        let ar = resource.api_resource();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let gr = format!("{}.{}", resource.resource, resource.group);
        let mut collection_done = false;
        if resource.supports("deletecollection") {
            match api
                .delete_collection(&DeleteParams::background(), &ListParams::default())
                .await
            {
                Ok(_) => collection_done = true,
                Err(e) if matches!(api_code(&e), Some(404)) => continue,
                Err(e) if matches!(api_code(&e), Some(405)) => {}
                Err(e) => {
                    report.content_errors.push(format!("{gr}: {e}"));
                    continue;
                }
            }
        }
        let listed = match api.list_metadata(&ListParams::default()).await {
            Ok(l) => l,
            Err(e) if matches!(api_code(&e), Some(404 | 405)) => continue,
            Err(e) => {
                report.content_errors.push(format!("{gr}: {e}"));
                continue;
            }
        };
        if !collection_done {
            for item in &listed.items {
                if item.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let Some(name) = item.metadata.name.as_deref() else {
                    continue;
                };
                match api.delete(name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
                    Err(e) => report.content_errors.push(format!("{gr}: {e}")),
                }
            }
        }
        // What is left after the deletes.
        let left = if collection_done || !listed.items.is_empty() {
            match api.list_metadata(&ListParams::default()).await {
                Ok(l) => l.items,
                Err(e) if matches!(api_code(&e), Some(404 | 405)) => continue,
                Err(e) => {
                    report.content_errors.push(format!("{gr}: {e}"));
                    continue;
                }
            }
        } else {
            Vec::new()
        };
        if !left.is_empty() {
            *report.remaining.entry(gr).or_default() += left.len();
            for item in &left {
                for f in item.metadata.finalizers.iter().flatten() {
                    *report.finalizers.entry(f.clone()).or_default() += 1;
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Time {
        Time(jiff::Timestamp::from_second(1_700_000_000).unwrap())
    }

    fn cond<'a>(c: &'a [NamespaceCondition], t: &str) -> &'a NamespaceCondition {
        c.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn clean_pass_sets_every_condition_false_with_kubes_ok_reasons() {
        let mut c = Vec::new();
        assert!(update_conditions(
            &mut c,
            &DeletionReport::default(),
            &now()
        ));
        assert_eq!(c.len(), 5);
        assert!(c.iter().all(|c| c.status == "False"));
        let d = cond(&c, "NamespaceDeletionDiscoveryFailure");
        assert_eq!(d.reason.as_deref(), Some("ResourcesDiscovered"));
        assert_eq!(
            cond(&c, "NamespaceContentRemaining").message.as_deref(),
            Some("All content successfully removed")
        );
        // Nothing changes on a second identical pass.
        assert!(!update_conditions(
            &mut c,
            &DeletionReport::default(),
            &now()
        ));
        assert!(DeletionReport::default().done());
    }

    #[test]
    fn remaining_content_and_finalizers_are_reported_as_kube_does() {
        let report = DeletionReport {
            remaining: [
                ("pods.".to_string(), 3),
                ("widgets.example.com".to_string(), 1),
            ]
            .into(),
            finalizers: [("example.com/hold".to_string(), 1)].into(),
            ..Default::default()
        };
        assert!(!report.done());
        let mut c = Vec::new();
        update_conditions(&mut c, &report, &now());
        let r = cond(&c, "NamespaceContentRemaining");
        assert_eq!(r.status, "True");
        assert_eq!(r.reason.as_deref(), Some("SomeResourcesRemain"));
        assert_eq!(
            r.message.as_deref(),
            Some(
                "Some resources are remaining: pods. has 3 resource instances, widgets.example.com has 1 resource instances"
            )
        );
        let f = cond(&c, "NamespaceFinalizersRemaining");
        assert_eq!(f.reason.as_deref(), Some("SomeFinalizerRemain"));
        assert_eq!(
            f.message.as_deref(),
            Some("Some finalizers are remaining: example.com/hold in 1 resource instances")
        );
        // Back to clean: flips to False and moves the transition time.
        let later = Time(jiff::Timestamp::from_second(1_700_000_100).unwrap());
        assert!(update_conditions(
            &mut c,
            &DeletionReport::default(),
            &later
        ));
        let r = cond(&c, "NamespaceContentRemaining");
        assert_eq!(r.status, "False");
        assert_eq!(r.last_transition_time, Some(later));
    }

    #[test]
    fn content_and_discovery_failures_block_finalization() {
        let report = DeletionReport {
            content_errors: vec!["b: boom".into(), "a: bang".into()],
            discovery_failure: Some("x".into()),
            ..Default::default()
        };
        assert!(!report.done());
        let failing = failing_conditions(&report);
        assert_eq!(
            failing["NamespaceDeletionContentFailure"].1,
            "Failed to delete all resource types, 2 remaining: a: bang, b: boom"
        );
        assert_eq!(
            failing["NamespaceDeletionDiscoveryFailure"].0,
            "DiscoveryFailed"
        );
    }

    #[test]
    fn only_namespaced_deletable_resources_are_emptied() {
        let r = |name: &str, namespaced: bool, verbs: &[&str]| Discovered {
            group: String::new(),
            version: "v1".into(),
            resource: name.into(),
            kind: name.into(),
            namespaced,
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
        };
        let all = vec![
            r("pods", true, &["list", "delete", "deletecollection"]),
            r("nodes", false, &["list", "delete"]),
            r("bindings", true, &["create"]),
            r("pods", true, &["list", "delete"]),
        ];
        let names: Vec<&str> = deletable(&all)
            .iter()
            .map(|r| r.resource.as_str())
            .collect();
        assert_eq!(names, ["pods"]);
    }

    #[test]
    fn cleanup_needed_only_when_terminating_with_our_finalizer() {
        let mut ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"finalizers": ["kubernetes"]}
        }))
        .unwrap();
        assert!(needs_cleanup(&ns));
        ns.spec = None;
        assert!(!needs_cleanup(&ns));
    }
}
