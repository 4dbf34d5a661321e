//! Service accounts and the root CA bundle, as kube-controller-manager's
//! `serviceaccount` controller (pkg/controller/serviceaccount: every active
//! namespace has a ServiceAccount `default`, recreated if deleted) and
//! `root-ca-certificate-publisher` (pkg/controller/certificates/
//! rootcacertpublisher: every namespace has ConfigMap `kube-root-ca.crt`
//! with the cluster CA under `ca.crt`, restored if edited).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::work_queue;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

/// The ServiceAccount every namespace gets.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
/// The ConfigMap holding the cluster CA in every namespace.
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
/// Its key.
pub const ROOT_CA_KEY: &str = "ca.crt";
const DESCRIPTION_KEY: &str = "kubernetes.io/description";
/// kube's annotation on the ConfigMap.
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// A write the controller makes in one namespace.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    CreateServiceAccount(ServiceAccount),
    CreateConfigMap(ConfigMap),
    /// Replace the ConfigMap (keeps its resourceVersion: a conflict retries).
    UpdateConfigMap(ConfigMap),
}

/// The desired root-CA ConfigMap for a namespace.
pub fn root_ca_configmap(namespace: &str, ca_pem: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(ROOT_CA_CONFIGMAP.into()),
            namespace: Some(namespace.into()),
            annotations: Some([(DESCRIPTION_KEY.to_string(), DESCRIPTION.to_string())].into()),
            ..ObjectMeta::default()
        },
        data: Some([(ROOT_CA_KEY.to_string(), ca_pem.to_string())].into()),
        ..ConfigMap::default()
    }
}

/// What a namespace needs, given what exists: its `default`
/// ServiceAccount, and (when the CA is known) its root-CA ConfigMap.
pub fn plan(
    ns: &Namespace,
    service_account: Option<&ServiceAccount>,
    configmap: Option<&ConfigMap>,
    ca_pem: Option<&str>,
) -> Vec<Action> {
    let mut out = Vec::new();
    let Some(name) = ns.metadata.name.as_deref() else {
        return out;
    };
    let terminating = ns.metadata.deletion_timestamp.is_some()
        || ns.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating");
    if terminating {
        return out;
    }
    if service_account.is_none() {
        out.push(Action::CreateServiceAccount(ServiceAccount {
            metadata: ObjectMeta {
                name: Some(DEFAULT_SERVICE_ACCOUNT.into()),
                namespace: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        }));
    }
    let Some(ca) = ca_pem else {
        return out;
    };
    match configmap {
        None => out.push(Action::CreateConfigMap(root_ca_configmap(name, ca))),
        Some(cm) => {
            let data_ok = cm.data.as_ref().is_some_and(|d| {
                d.len() == 1 && d.get(ROOT_CA_KEY).map(String::as_str) == Some(ca)
            }) && cm.binary_data.as_ref().is_none_or(BTreeMap::is_empty);
            let annotation_ok = cm
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DESCRIPTION_KEY))
                .map(String::as_str)
                == Some(DESCRIPTION);
            if !(data_ok && annotation_ok) {
                let mut next = cm.clone();
                next.data = Some([(ROOT_CA_KEY.to_string(), ca.to_string())].into());
                next.binary_data = None;
                next.metadata
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert(DESCRIPTION_KEY.into(), DESCRIPTION.into());
                out.push(Action::UpdateConfigMap(next));
            }
        }
    }
    out
}

/// Runs the controller until the future is dropped, publishing the CA found
/// in `kube-system/kube-root-ca.crt` (if any; otherwise only the
/// ServiceAccounts are managed).
pub async fn run(client: kube::Client) {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    let mut ca = None;
    for attempt in 0..5u32 {
        match cms.get_opt(ROOT_CA_CONFIGMAP).await {
            Ok(found) => {
                ca = found.and_then(|cm| cm.data?.get(ROOT_CA_KEY).cloned());
                break;
            }
            Err(error) => {
                tracing::debug!(%error, "cannot read kube-system/kube-root-ca.crt; retrying");
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
        }
    }
    if ca.is_none() {
        tracing::warn!(
            "no cluster CA known (kube-system/kube-root-ca.crt absent): not publishing kube-root-ca.crt"
        );
    }
    run_inner(client, ca).await
}

/// Runs the controller until the future is dropped, publishing `ca_pem` as
/// every namespace's `kube-root-ca.crt`.
pub async fn run_with_ca(client: kube::Client, ca_pem: String) {
    run_inner(client, Some(ca_pem)).await
}

fn watch_into<K>(api: Api<K>, config: watcher::Config, tx: mpsc::UnboundedSender<String>)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, config).default_backoff());
        while let Some(event) = stream.next().await {
            let obj = match event {
                Ok(
                    watcher::Event::Apply(o)
                    | watcher::Event::InitApply(o)
                    | watcher::Event::Delete(o),
                ) => o,
                Ok(_) => continue,
                Err(error) => {
                    tracing::debug!(%error, "serviceaccount controller watch failed; retrying");
                    continue;
                }
            };
            let meta = obj.meta();
            // A namespace's own name, or the namespace of an SA / ConfigMap.
            let ns = meta.namespace.clone().or_else(|| meta.name.clone());
            if let Some(ns) = ns
                && tx.send(ns).is_err()
            {
                return;
            }
        }
    });
}

async fn run_inner(client: kube::Client, ca: Option<String>) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    watch_into(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default(),
        tx.clone(),
    );
    watch_into(
        Api::<ServiceAccount>::all(client.clone()),
        watcher::Config::default().fields("metadata.name=default"),
        tx.clone(),
    );
    if ca.is_some() {
        watch_into(
            Api::<ConfigMap>::all(client.clone()),
            watcher::Config::default().fields("metadata.name=kube-root-ca.crt"),
            tx.clone(),
        );
    }
    drop(tx);
    let ca = ca.as_deref();
    work_queue::run(
        rx,
        "serviceaccount",
        work_queue::Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_millis(51_200),
        },
        |name| {
            let client = client.clone();
            async move { sync(&client, &name, ca).await.map(|()| None) }
        },
    )
    .await;
}

fn ignorable(error: &kube::Error) -> bool {
    // Already exists (409), or the namespace is gone / terminating (404, 403).
    matches!(error, kube::Error::Api(s) if matches!(s.code, 403 | 404 | 409))
}

async fn sync(client: &kube::Client, namespace: &str, ca: Option<&str>) -> Result<(), kube::Error> {
    let Some(ns) = Api::<Namespace>::all(client.clone())
        .get_opt(namespace)
        .await?
    else {
        return Ok(());
    };
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let sa = sas.get_opt(DEFAULT_SERVICE_ACCOUNT).await?;
    let cm = match ca {
        Some(_) => cms.get_opt(ROOT_CA_CONFIGMAP).await?,
        None => None,
    };
    for action in plan(&ns, sa.as_ref(), cm.as_ref(), ca) {
        let result = match action {
            Action::CreateServiceAccount(sa) => {
                sas.create(&PostParams::default(), &sa).await.map(drop)
            }
            Action::CreateConfigMap(cm) => cms.create(&PostParams::default(), &cm).await.map(drop),
            Action::UpdateConfigMap(cm) => cms
                .replace(ROOT_CA_CONFIGMAP, &PostParams::default(), &cm)
                .await
                .map(drop),
        };
        match result {
            Ok(()) => {}
            Err(e)
                if ignorable(&e)
                    && !matches!(&e, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict") =>
                {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(name: &str) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        }
    }

    const CA: &str = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n";

    #[test]
    fn an_empty_namespace_gets_its_service_account_and_ca_bundle() {
        let actions = plan(&ns("a"), None, None, Some(CA));
        assert_eq!(actions.len(), 2);
        let Action::CreateServiceAccount(sa) = &actions[0] else {
            panic!()
        };
        assert_eq!(sa.metadata.name.as_deref(), Some("default"));
        assert_eq!(sa.metadata.namespace.as_deref(), Some("a"));
        let Action::CreateConfigMap(cm) = &actions[1] else {
            panic!()
        };
        assert_eq!(cm.data.as_ref().unwrap()["ca.crt"], CA);
        assert_eq!(
            cm.metadata.annotations.as_ref().unwrap()["kubernetes.io/description"],
            DESCRIPTION
        );
        // Without a CA only the ServiceAccount is managed.
        assert_eq!(plan(&ns("a"), None, None, None).len(), 1);
    }

    #[test]
    fn a_complete_namespace_needs_nothing_and_terminating_ones_are_left_alone() {
        let sa = ServiceAccount::default();
        let cm = root_ca_configmap("a", CA);
        assert!(plan(&ns("a"), Some(&sa), Some(&cm), Some(CA)).is_empty());
        let mut t = ns("a");
        t.status = Some(k8s_openapi::api::core::v1::NamespaceStatus {
            phase: Some("Terminating".into()),
            ..Default::default()
        });
        assert!(plan(&t, None, None, Some(CA)).is_empty());
    }

    #[test]
    fn edited_bundles_are_restored() {
        let sa = ServiceAccount::default();
        let mut cm = root_ca_configmap("a", "tampered");
        cm.metadata.resource_version = Some("7".into());
        cm.data.as_mut().unwrap().insert("extra".into(), "x".into());
        let actions = plan(&ns("a"), Some(&sa), Some(&cm), Some(CA));
        let [Action::UpdateConfigMap(next)] = actions.as_slice() else {
            panic!("{actions:?}")
        };
        assert_eq!(next.data, root_ca_configmap("a", CA).data);
        assert_eq!(next.metadata.resource_version.as_deref(), Some("7"));
        // A missing annotation is restored too.
        let mut cm = root_ca_configmap("a", CA);
        cm.metadata.annotations = None;
        assert_eq!(plan(&ns("a"), Some(&sa), Some(&cm), Some(CA)).len(), 1);
    }
}
