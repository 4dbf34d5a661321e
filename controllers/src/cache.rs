//! Local caches of API objects, kept current by a watch: what every
//! controller reads instead of listing on each sync.

use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

/// A cache of every object `api` reaches, filled by a watch that runs in
/// its own task (restarting with backoff); `who` names it in the logs.
pub fn watched<K>(api: Api<K>, who: &'static str) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let watch = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .for_each(move |event| {
            if let Err(error) = event {
                tracing::warn!(%error, "{who} watch");
            }
            std::future::ready(())
        });
    tokio::spawn(watch);
    reader
}

/// The caches every controller of one process reads: one watch of all
/// pods and one of all nodes, however many controllers need them (each
/// extra watch of every pod is another copy of every pod in memory and
/// another serialisation of every pod change on the server). A watch
/// starts on first use.
#[derive(Clone)]
pub struct Shared {
    client: kube::Client,
    pods: Arc<OnceLock<Store<Pod>>>,
    nodes: Arc<OnceLock<Store<Node>>>,
}

impl Shared {
    /// Caches over `client`, none started yet.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            pods: Arc::default(),
            nodes: Arc::default(),
        }
    }

    /// Every pod of the cluster.
    pub fn pods(&self) -> Store<Pod> {
        self.pods
            .get_or_init(|| watched(Api::all(self.client.clone()), "shared pod cache"))
            .clone()
    }

    /// Every node of the cluster.
    pub fn nodes(&self) -> Store<Node> {
        self.nodes
            .get_or_init(|| watched(Api::all(self.client.clone()), "shared node cache"))
            .clone()
    }
}
