//! `mars server`: opens the embedded store and serves it until SIGTERM or
//! Ctrl-C, then drains writes in flight and closes the log.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use mars_apiserver::registry::RegistryConfig;
use mars_apiserver::{ApiServer, ApiServerConfig};
use mars_store::grpc::{EtcdService, GrpcConfig};
use mars_store::validate::Limits;
use mars_store::{ClusterConfig, Embedded, EmbeddedConfig};
use tokio::net::TcpListener;

use crate::cli::ServerArgs;
use crate::components;

/// How long shutdown waits for requests in flight.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// A started server: its store and the addresses it listens on.
pub struct Running {
    pub store: Embedded,
    raft_stop: tokio::sync::oneshot::Sender<()>,
    pub etcd_addr: std::net::SocketAddr,
    /// The Kubernetes API, unless `--no-api`.
    pub api: Option<ApiServer>,
    serve: tokio::task::JoinHandle<anyhow::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
    /// Controllers, scheduler and simulated nodes.
    components: tokio::task::JoinSet<()>,
}

impl Running {
    /// Stops serving (waiting up to [`DRAIN`] for requests in flight), then
    /// closes the store, finishing every write it already accepted.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.components.shutdown().await;
        if let Some(api) = self.api.take() {
            api.shutdown().await;
        }
        let _ = self.stop.send(());
        let served = match tokio::time::timeout(DRAIN, &mut self.serve).await {
            Ok(joined) => joined.context("server task panicked")?,
            Err(_) => {
                tracing::warn!("connections still open after {DRAIN:?}; closing them");
                self.serve.abort();
                Ok(())
            }
        };
        self.store.close().await;
        let _ = self.raft_stop.send(());
        served
    }
}

/// Opens the store and starts serving; returns once the listener is bound.
pub async fn start(args: &ServerArgs) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(&args.etcd_listen)
        .await
        .with_context(|| format!("cannot listen on --etcd-listen {}", args.etcd_listen))?;
    let etcd_addr = listener.local_addr()?;
    let mut config = EmbeddedConfig::new(&args.data_dir);
    config.name = args.name.clone();
    config.client_urls = vec![format!("http://{etcd_addr}")];
    config.limits = Limits {
        max_request_bytes: args.max_request_bytes,
        max_txn_ops: args.max_txn_ops,
    };
    config.auto_compaction = args.auto_compaction_retention;
    config.timings = args.raft.timings();
    config.snapshot_after_entries = args.raft.snapshot_count;
    let raft = match (&args.raft.node_id, &args.raft.raft_listen) {
        (Some(id), Some(listen)) => {
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on --raft-listen {listen}"))?;
            let local = listener.local_addr()?;
            let initial: BTreeMap<u64, String> = args.raft.peers.iter().cloned().collect();
            if !initial.is_empty() && !initial.contains_key(id) {
                anyhow::bail!("--peers must include this member (--node-id {id})");
            }
            let tls = args.raft.tls()?;
            config.cluster = Some(ClusterConfig {
                id: *id,
                initial_members: initial,
                transport: mars_store::raft::grpc::GrpcTransport::new(tls.clone()),
            });
            tracing::info!(member = id, raft = %local, "replicated store: serving Raft");
            Some((listener, tls))
        }
        _ => None,
    };
    let store = Embedded::open(config).await?;
    let (raft_stop, raft_stopped) = tokio::sync::oneshot::channel::<()>();
    if let Some((listener, tls)) = raft {
        let handler = store.handler();
        tokio::spawn(async move {
            let stopped = async {
                let _ = raft_stopped.await;
            };
            if let Err(e) = mars_store::raft::grpc::serve(listener, handler, tls, stopped).await {
                tracing::error!(error = %e, "the Raft service failed");
            }
        });
        wait_for_quorum(&store).await;
    }

    let service = EtcdService::new(
        store.clone(),
        GrpcConfig {
            progress_notify_interval: args.watch_progress_notify_interval,
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serve = tokio::spawn(async move {
        service
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .context("etcd gRPC server failed")
    });
    let api = if args.no_api {
        None
    } else {
        Some(
            ApiServer::start(
                Arc::new(store.clone()),
                ApiServerConfig {
                    listen: args.api_listen,
                    data_dir: args.data_dir.clone(),
                    hosts: args.api_host.clone(),
                    registry: RegistryConfig {
                        service_cidr: args.service_cluster_ip_range.clone(),
                    },
                    bookmark_interval: args.watch_bookmark_interval,
                    compaction_interval: Some(args.etcd_compaction_interval),
                    install_crds: mars_crds_documents()?,
                },
            )
            .await
            .context("cannot start the Kubernetes API")?,
        )
    };
    let components = match &api {
        Some(api) => components::start(&api.kubeconfig, &args.components).await?,
        None => tokio::task::JoinSet::new(),
    };
    Ok(Running {
        store,
        raft_stop,
        etcd_addr,
        api,
        serve,
        stop,
        components,
    })
}

/// Waits until this member can serve linearizable reads (a leader exists
/// and it has caught up), so the API server starts on current data.
async fn wait_for_quorum(store: &Embedded) {
    let mut waited = 0u32;
    while let Err(e) = store.linearize().await {
        waited += 1;
        if waited.is_power_of_two() {
            tracing::info!(error = %e, "waiting for the cluster to elect a leader");
        }
    }
}

/// Runs until SIGTERM or Ctrl-C.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let running = start(&args).await?;
    match &running.api {
        Some(api) => tracing::info!(
            data_dir = %args.data_dir.display(),
            api = %format!("https://{}", api.addr),
            etcd = %format!("http://{}", running.etcd_addr),
            "Mars is serving; try: KUBECONFIG={} kubectl get namespaces",
            api.kubeconfig.display()
        ),
        None => tracing::info!(
            data_dir = %args.data_dir.display(),
            etcd = %format!("http://{}", running.etcd_addr),
            "Mars is serving the etcd API only; try: ETCDCTL_API=3 etcdctl --endpoints=http://{} endpoint status",
            running.etcd_addr
        ),
    }
    wait_for_signal().await?;
    tracing::info!("shutting down");
    running.shutdown().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Returns on SIGTERM or Ctrl-C.
pub async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        _ = term.recv() => {}
        result = tokio::signal::ctrl_c() => result.context("cannot watch Ctrl-C")?,
    }
    Ok(())
}

/// Mars's CRDs as generated into the repository.
fn mars_crds_documents() -> anyhow::Result<Vec<serde_json::Value>> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(mars_crds::GENERATED_YAML)
        .map(serde_json::Value::deserialize)
        .collect::<Result<_, _>>()
        .context("crds/generated/mars-crds.yaml does not parse")
}
