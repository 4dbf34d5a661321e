//! kube-rs (kube 5, rustls with ring) against real `mars server` processes:
//! a `kube::Client` built from the admin kubeconfig the server wrote, then
//! typed and dynamic APIs, paging, watches, the runtime watcher and
//! discovery, each asserting what a real kube-apiserver answers.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, Namespace, PodSpec, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, VersionMatch,
    WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{GroupVersionKind, Status};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::watcher;
use kube::{Client, Config, ResourceExt};
use mars_e2e::MarsServer;
use serde_json::json;

/// The longest any single expected event may take to arrive.
const EVENT_WAIT: Duration = Duration::from_secs(15);

// ------------------------------------------------------------------ helpers

/// The server's admin kubeconfig. The API port accepts connections a
/// moment before the kubeconfig is on disk, so this waits for a complete
/// file.
async fn read_kubeconfig(server: &MarsServer) -> Kubeconfig {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let complete = Kubeconfig::read_from(server.kubeconfig()).ok().filter(|k| {
            k.auth_infos.iter().any(|a| {
                a.auth_info
                    .as_ref()
                    .is_some_and(|i| i.client_key_data.is_some())
            })
        });
        if let Some(kubeconfig) = complete {
            return kubeconfig;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no admin kubeconfig at {} within 30 s\n{}",
            server.kubeconfig().display(),
            server.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client for `server`, configured only from its kubeconfig file.
async fn client_for(server: &MarsServer) -> Client {
    // kube's rustls connector needs a process-wide provider; another test
    // in this process may have installed it already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = read_kubeconfig(server).await;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// A fresh server, a client for it and a new namespace.
async fn setup(extra_args: &[&str]) -> (MarsServer, Client, String) {
    let server = MarsServer::start_with(extra_args).unwrap();
    let client = client_for(&server).await;
    let name = format!("kube-rs-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("create namespace: {e}\n{}", server.log_tail()));
    (server, client, name)
}

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn config_map(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: (!labels.is_empty()).then(|| strings(labels)),
            ..ObjectMeta::default()
        },
        data: Some(strings(data)),
        ..ConfigMap::default()
    }
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    let labels = strings(&[("app", name)]);
    Deployment {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![
                        Container {
                            name: "web".into(),
                            image: Some("nginx:1.25".into()),
                            ports: Some(vec![ContainerPort {
                                container_port: 80,
                                ..ContainerPort::default()
                            }]),
                            ..Container::default()
                        },
                        Container {
                            name: "sidecar".into(),
                            image: Some("busybox:1.36".into()),
                            command: Some(vec!["sleep".into(), "3600".into()]),
                            ..Container::default()
                        },
                    ],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// The metav1.Status of a request that must fail with an API error.
fn api_error<T: Debug>(result: Result<T, kube::Error>, what: &str) -> Box<Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        Err(other) => panic!("{what}: expected an API error (a metav1.Status), got {other:?}"),
        Ok(value) => panic!("{what}: expected an API error, got {value:?}"),
    }
}

fn assert_status(status: &Status, code: u16, reason: &str, what: &str) {
    assert_eq!(status.code, code, "{what}: code in {status:?}");
    assert_eq!(status.reason, reason, "{what}: reason in {status:?}");
    assert!(status.is_failure(), "{what}: status field in {status:?}");
}

fn rv(meta: &ObjectMeta) -> u64 {
    let rv = meta.resource_version.as_deref().unwrap_or_default();
    rv.parse()
        .unwrap_or_else(|_| panic!("resourceVersion {rv:?} is not a number"))
}

/// The next item of a stream, failing the test after `EVENT_WAIT`.
async fn next<S: Stream + Unpin>(stream: &mut S, what: &str) -> S::Item {
    tokio::time::timeout(EVENT_WAIT, stream.next())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {EVENT_WAIT:?}"))
        .unwrap_or_else(|| panic!("{what}: the stream ended"))
}

/// A watch event reduced to (type, name, resourceVersion); bookmarks are
/// collected separately.
fn describe(event: WatchEvent<ConfigMap>) -> (&'static str, String, String) {
    let (kind, object) = match event {
        WatchEvent::Added(o) => ("ADDED", o),
        WatchEvent::Modified(o) => ("MODIFIED", o),
        WatchEvent::Deleted(o) => ("DELETED", o),
        WatchEvent::Bookmark(b) => return ("BOOKMARK", String::new(), b.metadata.resource_version),
        WatchEvent::Error(status) => panic!("watch ERROR event: {status:?}"),
    };
    (
        kind,
        object.name_any(),
        object.resource_version().unwrap_or_default(),
    )
}

/// The next `count` non-bookmark events of a raw watch, plus the
/// bookmarks seen on the way.
async fn watch_events<S>(
    stream: &mut S,
    count: usize,
    what: &str,
) -> (Vec<(&'static str, String, String)>, Vec<String>)
where
    S: Stream<Item = Result<WatchEvent<ConfigMap>, kube::Error>> + Unpin,
{
    let mut events = Vec::new();
    let mut bookmarks = Vec::new();
    while events.len() < count {
        let event = describe(next(stream, what).await.unwrap());
        if event.0 == "BOOKMARK" {
            bookmarks.push(event.2);
        } else {
            events.push(event);
        }
    }
    (events, bookmarks)
}

// -------------------------------------------------------------------- tests

#[tokio::test]
async fn server_version_is_1_33() {
    let (_server, client, _ns) = setup(&[]).await;
    let info = client.apiserver_version().await.unwrap();
    assert_eq!(info.major, "1");
    assert_eq!(info.minor, "33");
    assert!(info.git_version.starts_with("v1.33."), "{info:?}");
}

#[tokio::test]
async fn config_map_crud_conflict_and_merge_patch() {
    let (server, client, ns) = setup(&[]).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    let pp = PostParams::default();

    let created = cms
        .create(&pp, &config_map("cm1", &[("app", "web")], &[("a", "1")]))
        .await
        .unwrap_or_else(|e| panic!("create: {e}\n{}", server.log_tail()));
    assert_eq!(created.metadata.namespace.as_deref(), Some(ns.as_str()));
    assert!(created.metadata.uid.is_some(), "no uid: {created:?}");
    assert!(created.metadata.creation_timestamp.is_some(), "{created:?}");
    let rv1 = rv(&created.metadata);

    let got = cms.get("cm1").await.unwrap();
    assert_eq!(got.metadata.uid, created.metadata.uid);
    assert_eq!(got.data, Some(strings(&[("a", "1")])));
    assert_eq!(rv(&got.metadata), rv1);

    let status = api_error(
        cms.create(&pp, &config_map("cm1", &[], &[("a", "x")]))
            .await,
        "create an existing name",
    );
    assert_status(&status, 409, "AlreadyExists", "create an existing name");
    assert!(status.is_already_exists());

    // Replace with the resourceVersion just read.
    let mut changed = got.clone();
    changed.data = Some(strings(&[("a", "2"), ("b", "3")]));
    let replaced = cms.replace("cm1", &pp, &changed).await.unwrap();
    assert_eq!(replaced.data, changed.data);
    assert_eq!(replaced.metadata.uid, created.metadata.uid);
    assert!(
        rv(&replaced.metadata) > rv1,
        "replace keeps resourceVersion"
    );

    // Replace with the stale one: 409 Conflict.
    let mut stale = replaced.clone();
    stale.metadata.resource_version = created.metadata.resource_version.clone();
    stale.data = Some(strings(&[("a", "stale")]));
    let status = api_error(cms.replace("cm1", &pp, &stale).await, "stale replace");
    assert_status(&status, 409, "Conflict", "stale replace");
    assert!(status.is_conflict());
    assert_eq!(
        status.message,
        "Operation cannot be fulfilled on configmaps \"cm1\": the object has been modified; \
         please apply your changes to the latest version and try again"
    );
    let details = status.details.as_ref().expect("conflict details");
    assert_eq!(details.name, "cm1");
    assert_eq!(details.kind, "configmaps");
    assert_eq!(cms.get("cm1").await.unwrap().data, replaced.data);

    // A JSON merge patch: null removes a key, maps merge.
    let patched = cms
        .patch(
            "cm1",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"labels": {"patched": "yes"}},
                "data": {"a": null, "c": "4"},
            })),
        )
        .await
        .unwrap();
    assert_eq!(patched.data, Some(strings(&[("b", "3"), ("c", "4")])));
    assert_eq!(
        patched.metadata.labels,
        Some(strings(&[("app", "web"), ("patched", "yes")]))
    );
    assert!(rv(&patched.metadata) > rv(&replaced.metadata));

    // A merge patch that carries a stale resourceVersion is a conflict.
    let status = api_error(
        cms.patch(
            "cm1",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"resourceVersion": created.metadata.resource_version},
                "data": {"x": "y"},
            })),
        )
        .await,
        "merge patch with a stale resourceVersion",
    );
    assert_status(
        &status,
        409,
        "Conflict",
        "merge patch, stale resourceVersion",
    );

    // Missing objects.
    assert!(cms.get_opt("never-was").await.unwrap().is_none());
    let status = api_error(cms.get("never-was").await, "get missing");
    assert_status(&status, 404, "NotFound", "get missing");
    assert!(status.is_not_found());
    assert_eq!(status.message, "configmaps \"never-was\" not found");
    let status = api_error(
        cms.patch(
            "never-was",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": "1"}})),
        )
        .await,
        "patch missing",
    );
    assert_status(&status, 404, "NotFound", "patch missing");

    // Delete: a Success Status, then gone.
    let deleted = cms.delete("cm1", &DeleteParams::default()).await.unwrap();
    let status = deleted
        .right()
        .expect("deleting a ConfigMap answers a Status, not the object");
    assert!(status.is_success(), "{status:?}");
    let details = status.details.expect("delete status details");
    assert_eq!(details.name, "cm1");
    assert_eq!(details.kind, "configmaps");
    assert!(cms.get_opt("cm1").await.unwrap().is_none());
    let status = api_error(
        cms.delete("cm1", &DeleteParams::default()).await,
        "delete missing",
    );
    assert_status(&status, 404, "NotFound", "delete missing");
}

#[tokio::test]
async fn deployment_crud_conflict_and_patches() {
    let (_server, client, ns) = setup(&[]).await;
    let deployments: Api<Deployment> = Api::namespaced(client, &ns);
    let pp = PostParams::default();

    let created = deployments
        .create(&pp, &deployment("web", 2))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.as_ref().unwrap().replicas, Some(2));

    let mut got = deployments.get("web").await.unwrap();
    assert_eq!(got.metadata.uid, created.metadata.uid);
    got.spec.as_mut().unwrap().replicas = Some(3);
    let replaced = deployments.replace("web", &pp, &got).await.unwrap();
    assert_eq!(replaced.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(
        replaced.metadata.generation,
        Some(2),
        "a spec change bumps generation"
    );

    let mut stale = replaced.clone();
    stale.metadata.resource_version = created.metadata.resource_version.clone();
    let status = api_error(
        deployments.replace("web", &pp, &stale).await,
        "stale deployment replace",
    );
    assert_status(&status, 409, "Conflict", "stale deployment replace");
    assert_eq!(
        status.message,
        "Operation cannot be fulfilled on deployments.apps \"web\": the object has been \
         modified; please apply your changes to the latest version and try again"
    );

    let patched = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let spec = patched.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(5));
    assert_eq!(spec.template.spec.as_ref().unwrap().containers.len(), 2);
    assert_eq!(patched.metadata.generation, Some(3));

    // A strategic merge patch merges containers by name.
    let patched = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}
            })),
        )
        .await
        .unwrap();
    let containers = &patched.spec.unwrap().template.spec.unwrap().containers;
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["web", "sidecar"], "strategic merge keeps both");
    assert_eq!(containers[0].image.as_deref(), Some("nginx:1.26"));
    assert_eq!(
        containers[0].ports.as_ref().map(|p| p[0].container_port),
        Some(80)
    );

    let listed = deployments.list(&ListParams::default()).await.unwrap();
    let names: Vec<String> = listed.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, ["web"]);

    assert!(deployments.get_opt("nope").await.unwrap().is_none());
    let deleted = deployments
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        deleted.right().is_some_and(|s| s.is_success()),
        "deleting a Deployment (no finalizers) answers a Success Status"
    );
    assert!(deployments.get_opt("web").await.unwrap().is_none());
}

/// Server-side apply as controllers built on kube-rs use it: typed
/// `Patch::Apply` with a field manager, conflicts as 409 with the owner and
/// path, `force` taking the field over, and ownership in managedFields.
#[tokio::test]
async fn server_side_apply_records_owners_and_refuses_conflicts() {
    let (_server, client, ns) = setup(&[]).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &ns);
    let apply = |manager: &str| PatchParams::apply(manager);
    let desired = |value: &str| {
        let mut cm = config_map("settings", &[("app", "shop")], &[("mode", value)]);
        cm.metadata.namespace = None;
        serde_json::to_value(&cm).unwrap()
    };

    let created = config_maps
        .patch(
            "settings",
            &apply("operator"),
            &Patch::Apply(desired("fast")),
        )
        .await
        .unwrap();
    let entries = created.metadata.managed_fields.clone().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].manager.as_deref(), Some("operator"));
    assert_eq!(entries[0].operation.as_deref(), Some("Apply"));
    assert_eq!(
        entries[0].fields_v1.as_ref().unwrap().0,
        json!({"f:data": {"f:mode": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );

    // The same configuration again is a no-op: same resourceVersion.
    let again = config_maps
        .patch(
            "settings",
            &apply("operator"),
            &Patch::Apply(desired("fast")),
        )
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        created.metadata.resource_version
    );

    let status = api_error(
        config_maps
            .patch("settings", &apply("rival"), &Patch::Apply(desired("slow")))
            .await,
        "conflicting apply",
    );
    assert_status(&status, 409, "Conflict", "conflicting apply");
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"operator\": .data.mode"
    );

    let forced = config_maps
        .patch(
            "settings",
            &apply("rival").force(),
            &Patch::Apply(desired("slow")),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["mode"], "slow");
    let owners: Vec<(String, String)> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.manager.unwrap(),
                serde_json::to_string(&e.fields_v1.unwrap().0).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        [
            (
                "operator".to_string(),
                r#"{"f:metadata":{"f:labels":{"f:app":{}}}}"#.to_string()
            ),
            (
                "rival".to_string(),
                r#"{"f:data":{"f:mode":{}},"f:metadata":{"f:labels":{"f:app":{}}}}"#.to_string()
            ),
        ]
    );

    // Dry-run apply shows the result and stores nothing.
    let dry = config_maps
        .patch(
            "settings",
            &apply("rival").dry_run(),
            &Patch::Apply(desired("dry")),
        )
        .await
        .unwrap();
    assert_eq!(dry.data.unwrap()["mode"], "dry");
    let stored = config_maps.get("settings").await.unwrap();
    assert_eq!(stored.data.unwrap()["mode"], "slow");
}

#[tokio::test]
async fn deployment_defaults_are_applied() {
    let (_server, client, ns) = setup(&[]).await;
    let deployments: Api<Deployment> = Api::namespaced(client, &ns);
    let created = deployments
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    for (what, d) in [
        ("created", created),
        ("read back", deployments.get("web").await.unwrap()),
    ] {
        let spec = d.spec.unwrap();
        let strategy = spec
            .strategy
            .unwrap_or_else(|| panic!("{what}: spec.strategy not defaulted"));
        assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"), "{what}");
        let rolling = strategy.rolling_update.expect("rollingUpdate");
        assert_eq!(
            serde_json::to_value(&rolling.max_surge).unwrap(),
            json!("25%"),
            "{what}"
        );
        assert_eq!(spec.revision_history_limit, Some(10), "{what}");
        assert_eq!(spec.progress_deadline_seconds, Some(600), "{what}");
        let pod = spec.template.spec.unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Always"), "{what}");
        assert_eq!(pod.dns_policy.as_deref(), Some("ClusterFirst"), "{what}");
        let web = &pod.containers[0];
        assert_eq!(
            web.image_pull_policy.as_deref(),
            Some("IfNotPresent"),
            "{what}"
        );
        assert_eq!(
            web.termination_message_path.as_deref(),
            Some("/dev/termination-log"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn list_with_labels_and_paging() {
    let (_server, client, ns) = setup(&[]).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    // 120 objects with app=web, 10 with app=db.
    let objects: Vec<ConfigMap> = (0..130)
        .map(|i| {
            let app = if i < 120 { "web" } else { "db" };
            config_map(&format!("cm-{i:03}"), &[("app", app)], &[("i", "x")])
        })
        .collect();
    futures::stream::iter(objects.iter())
        .map(|cm| {
            let cms = cms.clone();
            async move { cms.create(&PostParams::default(), cm).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let web: Vec<String> = (0..120).map(|i| format!("cm-{i:03}")).collect();

    // Pages of 25 with a label selector.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    let mut list_rv = None;
    loop {
        let mut lp = ListParams::default().labels("app=web").limit(25);
        if let Some(token) = &token {
            lp = lp.continue_token(token);
        }
        let page = cms.list(&lp).await.unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(ResourceExt::name_any));
        let meta_rv = page.metadata.resource_version.clone();
        assert!(meta_rv.is_some(), "list without resourceVersion");
        match &list_rv {
            None => list_rv = meta_rv,
            Some(first) => assert_eq!(meta_rv.as_ref(), Some(first), "pages of one list"),
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(next) => {
                // kube cannot count the matches of a selector cheaply.
                assert_eq!(page.metadata.remaining_item_count, None);
                token = Some(next);
            }
            None => break,
        }
        assert!(sizes.len() <= 6, "paging does not end: {sizes:?}");
    }
    assert_eq!(sizes, [25, 25, 25, 25, 20]);
    assert_eq!(
        seen, web,
        "every app=web object exactly once, in name order"
    );

    // Without a selector the remaining count is exact.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(25);
        if let Some(token) = &token {
            lp = lp.continue_token(token);
        }
        let page = cms.list(&lp).await.unwrap();
        seen.extend(page.items.iter().map(ResourceExt::name_any));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(next) => {
                assert_eq!(
                    page.metadata.remaining_item_count,
                    Some(130 - seen.len() as i64),
                    "remainingItemCount after {} items",
                    seen.len()
                );
                token = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 130);

    // Other selectors.
    let names = |list: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        list.items.iter().map(ResourceExt::name_any).collect()
    };
    let db = cms
        .list(&ListParams::default().labels("app in (db)"))
        .await
        .unwrap();
    assert_eq!(names(db).len(), 10);
    let one = cms
        .list(&ListParams::default().fields("metadata.name=cm-007"))
        .await
        .unwrap();
    assert_eq!(names(one), ["cm-007"]);
    let none = cms
        .list(&ListParams::default().labels("app=web,app=db"))
        .await
        .unwrap();
    assert!(none.items.is_empty());
    let status = api_error(
        cms.list(&ListParams::default().labels("app in (web")).await,
        "malformed label selector",
    );
    assert_status(&status, 400, "BadRequest", "malformed label selector");
}

#[tokio::test]
async fn raw_watch_with_bookmarks_and_resume() {
    let (_server, client, ns) = setup(&["--watch-bookmark-interval", "1s"]).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    let pp = PostParams::default();
    cms.create(&pp, &config_map("before", &[], &[("v", "0")]))
        .await
        .unwrap();
    let listed = cms.list(&ListParams::default()).await.unwrap();
    let start = listed.metadata.resource_version.unwrap();

    // WatchParams::default() asks for bookmarks.
    let mut stream = cms
        .watch(&WatchParams::default().timeout(60), &start)
        .await
        .unwrap()
        .boxed();
    let w1 = cms
        .create(&pp, &config_map("w1", &[], &[("v", "0")]))
        .await
        .unwrap();
    let w1m = cms
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"v": "1"}})),
        )
        .await
        .unwrap();
    cms.delete("w1", &DeleteParams::default()).await.unwrap();
    let (events, bookmarks) = watch_events(&mut stream, 3, "watch from the list").await;
    let rvs: Vec<u64> = events.iter().map(|e| e.2.parse().unwrap()).collect();
    let kinds: Vec<(&str, &str)> = events.iter().map(|e| (e.0, e.1.as_str())).collect();
    assert_eq!(
        kinds,
        [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]
    );
    assert_eq!(events[0].2, w1.resource_version().unwrap());
    assert_eq!(events[1].2, w1m.resource_version().unwrap());
    assert!(rvs[2] > rvs[1], "DELETED carries the deletion's revision");
    for b in &bookmarks {
        assert!(b.parse::<u64>().unwrap() >= start.parse::<u64>().unwrap());
    }

    // Idle, with a 1 s bookmark interval: a bookmark at or past the delete.
    let bookmark = match next(&mut stream, "bookmark on an idle watch")
        .await
        .unwrap()
    {
        WatchEvent::Bookmark(b) => b,
        other => panic!("unexpected event on an idle watch: {other:?}"),
    };
    assert_eq!(bookmark.types.kind, "ConfigMap");
    assert_eq!(bookmark.types.api_version, "v1");
    let bookmark_rv: u64 = bookmark.metadata.resource_version.parse().unwrap();
    assert!(
        bookmark_rv >= rvs[2],
        "bookmark {bookmark_rv} before {rvs:?}"
    );
    drop(stream);

    // Changes while nobody watches, then resume from the last event seen:
    // exactly the later changes, in order.
    let w2 = cms
        .create(&pp, &config_map("w2", &[], &[("v", "0")]))
        .await
        .unwrap();
    cms.delete("before", &DeleteParams::default())
        .await
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(30), &events[2].2)
        .await
        .unwrap()
        .boxed();
    let (resumed, _) = watch_events(&mut stream, 2, "resumed watch").await;
    let kinds: Vec<(&str, &str)> = resumed.iter().map(|e| (e.0, e.1.as_str())).collect();
    assert_eq!(kinds, [("ADDED", "w2"), ("DELETED", "before")]);
    assert_eq!(resumed[0].2, w2.resource_version().unwrap());
}

#[tokio::test]
async fn runtime_watcher_sees_apply_and_delete() {
    let (_server, client, ns) = setup(&["--watch-bookmark-interval", "1s"]).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    let pp = PostParams::default();
    cms.create(&pp, &config_map("existing", &[("app", "web")], &[]))
        .await
        .unwrap();
    cms.create(&pp, &config_map("other", &[("app", "db")], &[]))
        .await
        .unwrap();

    // Bookmarks are on in watcher::Config::default().
    let mut events = watcher(cms.clone(), watcher::Config::default().labels("app=web")).boxed();
    let mut initial = Vec::new();
    loop {
        match next(&mut events, "watcher initial list").await.unwrap() {
            watcher::Event::Init => {}
            watcher::Event::InitApply(cm) => initial.push(cm.name_any()),
            watcher::Event::InitDone => break,
            other => panic!("unexpected event before InitDone: {other:?}"),
        }
    }
    assert_eq!(initial, ["existing"]);

    cms.create(&pp, &config_map("new", &[("app", "web")], &[("v", "0")]))
        .await
        .unwrap();
    cms.patch(
        "new",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "1"}})),
    )
    .await
    .unwrap();
    // Leaving the selection is a delete for this watcher.
    cms.patch(
        "existing",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})),
    )
    .await
    .unwrap();
    cms.delete("new", &DeleteParams::default()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 4 {
        match next(&mut events, "watcher events").await.unwrap() {
            watcher::Event::Apply(cm) => seen.push((
                "Apply",
                cm.name_any(),
                cm.data
                    .unwrap_or_default()
                    .get("v")
                    .cloned()
                    .unwrap_or_default(),
            )),
            watcher::Event::Delete(cm) => seen.push(("Delete", cm.name_any(), String::new())),
            other => panic!("unexpected watcher event: {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            ("Apply", "new".to_string(), "0".to_string()),
            ("Apply", "new".to_string(), "1".to_string()),
            ("Delete", "existing".to_string(), String::new()),
            ("Delete", "new".to_string(), String::new()),
        ]
    );

    // An idle watcher stays up across bookmarks: a later change still arrives.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    cms.create(&pp, &config_map("late", &[("app", "web")], &[]))
        .await
        .unwrap();
    match next(&mut events, "watcher after idling").await.unwrap() {
        watcher::Event::Apply(cm) => assert_eq!(cm.name_any(), "late"),
        other => panic!("unexpected watcher event after idling: {other:?}"),
    }
}

#[tokio::test]
async fn discovery_finds_deployments_for_dynamic_objects() {
    let (_server, client, ns) = setup(&[]).await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.has_group(""), "core group discovered");
    let apps = discovery.get("apps").expect("apps group discovered");
    assert_eq!(apps.preferred_version(), Some("v1"));

    let gvk = GroupVersionKind::gvk("apps", "v1", "Deployment");
    let (ar, caps) = discovery
        .resolve_gvk(&gvk)
        .expect("apps/v1 Deployment discovered");
    assert_eq!(ar.plural, "deployments");
    assert_eq!(ar.api_version, "apps/v1");
    assert_eq!(caps.scope, Scope::Namespaced);
    for verb in [
        verbs::CREATE,
        verbs::GET,
        verbs::LIST,
        verbs::WATCH,
        verbs::UPDATE,
        verbs::PATCH,
        verbs::DELETE,
        verbs::DELETE_COLLECTION,
    ] {
        assert!(
            caps.supports_operation(verb),
            "deployments lack {verb}: {caps:?}"
        );
    }
    let subresources: Vec<&str> = caps
        .subresources
        .iter()
        .map(|(r, _)| r.plural.as_str())
        .collect();
    assert!(
        subresources.contains(&"scale") && subresources.contains(&"status"),
        "{subresources:?}"
    );
    let (cm_ar, cm_caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap"))
        .expect("v1 ConfigMap discovered");
    assert_eq!(cm_ar.plural, "configmaps");
    assert_eq!(cm_caps.scope, Scope::Namespaced);
    let (_, ns_caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
        .expect("v1 Namespace discovered");
    assert_eq!(ns_caps.scope, Scope::Cluster);

    // A Deployment through the dynamic API, read back typed.
    let dynamic: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
    let typed = serde_json::to_value(deployment("dyn", 1)).unwrap();
    let object = DynamicObject::new("dyn", &ar)
        .within(&ns)
        .data(json!({"spec": typed["spec"]}));
    let created = dynamic
        .create(&PostParams::default(), &object)
        .await
        .unwrap();
    assert_eq!(created.types.as_ref().unwrap().kind, "Deployment");
    assert_eq!(created.data["spec"]["replicas"], json!(1));
    let patched = dynamic
        .patch(
            "dyn",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data["spec"]["replicas"], json!(4));
    let typed: Api<Deployment> = Api::namespaced(client, &ns);
    let read = typed.get("dyn").await.unwrap();
    assert_eq!(read.spec.unwrap().replicas, Some(4));
    let listed = dynamic.list(&ListParams::default()).await.unwrap();
    let names: Vec<String> = listed.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, ["dyn"]);
    dynamic
        .delete("dyn", &DeleteParams::default())
        .await
        .unwrap();
    assert!(dynamic.get_opt("dyn").await.unwrap().is_none());
}

/// Compacts the store to its current revision through the etcd API, on a
/// runtime of its own: the etcd connection is closed when this returns (an
/// idle one left open would hold up the server's SIGTERM drain).
fn compact(server: &MarsServer) {
    let endpoint = server.endpoint();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut etcd = etcd_client::Client::connect([endpoint], None)
                .await
                .unwrap();
            let revision = etcd.status().await.unwrap().header().unwrap().revision();
            etcd.compact(
                revision,
                Some(etcd_client::CompactionOptions::new().with_physical()),
            )
            .await
            .unwrap();
        });
    })
    .join()
    .unwrap();
}

#[tokio::test]
async fn watch_from_a_compacted_resource_version_is_gone() {
    let (mut server, client, ns) = setup(&[]).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    cms.create(
        &PostParams::default(),
        &config_map("old", &[], &[("v", "0")]),
    )
    .await
    .unwrap();
    let old = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    for i in 1..=3 {
        cms.patch(
            "old",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"v": i.to_string()}})),
        )
        .await
        .unwrap();
    }
    // As after kube-apiserver's compaction and a restart: the old
    // resourceVersion is in no history the server keeps.
    compact(&server);
    assert!(server.terminate().unwrap().success());
    server.spawn().unwrap();
    let client = client_for(&server).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);

    let status = api_error(
        cms.list(&ListParams::default().at(&old).matching(VersionMatch::Exact))
            .await,
        "list at a compacted resourceVersion",
    );
    assert_status(
        &status,
        410,
        "Expired",
        "list at a compacted resourceVersion",
    );

    // kube-apiserver answers 200 and one ERROR event with a 410 Status.
    let mut stream = cms
        .watch(&WatchParams::default().timeout(10), &old)
        .await
        .unwrap()
        .boxed();
    match next(&mut stream, "watch from a compacted resourceVersion").await {
        Ok(WatchEvent::Error(status)) | Err(kube::Error::Api(status)) => {
            assert_status(&status, 410, "Expired", "watch from a compacted revision");
            assert!(
                status.message.starts_with("too old resource version"),
                "{status:?}"
            );
        }
        other => panic!("watch from compacted {old}: expected a 410 ERROR, got {other:?}"),
    }

    // The way out: relist and watch from there.
    let listed = cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        listed.items[0].data.as_ref().unwrap()["v"],
        "3",
        "relisted state"
    );
    let mut stream = cms
        .watch(
            &WatchParams::default().timeout(30),
            listed.metadata.resource_version.as_deref().unwrap(),
        )
        .await
        .unwrap()
        .boxed();
    cms.create(&PostParams::default(), &config_map("fresh", &[], &[]))
        .await
        .unwrap();
    let (events, _) = watch_events(&mut stream, 1, "watch after relisting").await;
    assert_eq!((events[0].0, events[0].1.as_str()), ("ADDED", "fresh"));
}
