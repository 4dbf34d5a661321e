//! The informers the controllers of one process share (see
//! `mars_informer`): pods, nodes and ReplicaSets, each started on first
//! use.

use std::sync::{Arc, OnceLock};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
pub use mars_informer::{Informer, Lean, watched};

/// The informers every controller of one process shares; each starts on
/// first use.
#[derive(Clone)]
pub struct Shared {
    client: kube::Client,
    pods: Arc<OnceLock<Informer<Pod>>>,
    nodes: Arc<OnceLock<Informer<Node>>>,
    replicasets: Arc<OnceLock<Informer<ReplicaSet>>>,
}

impl Shared {
    /// Informers over `client`, none started yet.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            pods: Arc::default(),
            nodes: Arc::default(),
            replicasets: Arc::default(),
        }
    }

    /// Every pod of the cluster.
    pub fn pods(&self) -> Informer<Pod> {
        self.pods
            .get_or_init(|| Informer::start(Api::all(self.client.clone()), "shared pod informer"))
            .clone()
    }

    /// Every node of the cluster.
    pub fn nodes(&self) -> Informer<Node> {
        self.nodes
            .get_or_init(|| Informer::start(Api::all(self.client.clone()), "shared node informer"))
            .clone()
    }

    /// Every ReplicaSet of the cluster.
    pub fn replicasets(&self) -> Informer<ReplicaSet> {
        self.replicasets
            .get_or_init(|| {
                Informer::start(Api::all(self.client.clone()), "shared replicaset informer")
            })
            .clone()
    }
}
