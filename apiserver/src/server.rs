//! Serving the API: credentials on first start, the watch caches, the
//! system namespaces, and HTTPS (HTTP/2 and HTTP/1.1) with optional client
//! certificates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mars_store::Store;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::auth::authn::Authenticator;
use crate::auth::pki;
use crate::catalog::Catalog;
use crate::handler::{self, Api, Incoming};
use crate::registry::{Registry, RegistryConfig};
use crate::resources::{self, BUILTIN};

/// The namespaces every cluster has.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// How the API server runs.
#[derive(Debug, Clone)]
pub struct ApiServerConfig {
    pub listen: SocketAddr,
    /// Where the PKI and the admin kubeconfig live.
    pub data_dir: PathBuf,
    /// Extra names for the serving certificate.
    pub hosts: Vec<String>,
    pub registry: RegistryConfig,
    pub bookmark_interval: Duration,
    /// How often the store's history is compacted (`None`: never).
    pub compaction_interval: Option<Duration>,
    /// CustomResourceDefinitions installed (or upgraded) at start, served
    /// before the port opens: Mars's own kinds.
    pub install_crds: Vec<serde_json::Value>,
}

/// Why the API server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the registry: {0}")]
    Registry(String),
}

/// A running API server.
pub struct ApiServer {
    pub addr: SocketAddr,
    /// The admin kubeconfig written at start.
    pub kubeconfig: PathBuf,
    pub api: Arc<Api>,
    stop: watch::Sender<bool>,
    serve: tokio::task::JoinHandle<()>,
    cleanup: tokio::task::JoinHandle<()>,
    crd_controller: tokio::task::JoinHandle<()>,
    compactor: Option<tokio::task::JoinHandle<()>>,
}

impl ApiServer {
    /// Starts serving; returns once the listener is bound and the caches
    /// are loaded.
    pub async fn start(store: Arc<dyn Store>, config: ApiServerConfig) -> Result<Self, StartError> {
        // With a fixed port, everything a client needs (the kubeconfig, the
        // caches, the system namespaces) is ready before the port opens, so
        // "it accepts connections" means "it is ready". Port 0 must bind
        // first to learn its number.
        let early = match config.listen.port() {
            0 => Some(bind(config.listen).await?),
            _ => None,
        };
        let addr = match &early {
            Some(listener) => listener.local_addr().map_err(|source| StartError::Listen {
                addr: config.listen,
                source,
            })?,
            None => config.listen,
        };
        let mut hosts = config.hosts.clone();
        if !addr.ip().is_unspecified() {
            hosts.push(addr.ip().to_string());
        }
        let creds = pki::load_or_create(&config.data_dir, &hosts)?;
        let server_host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        let url = match addr {
            SocketAddr::V4(_) => format!("https://{server_host}:{}", addr.port()),
            SocketAddr::V6(_) => format!("https://[{server_host}]:{}", addr.port()),
        };
        pki::write_kubeconfig(&config.data_dir, &url, &creds)?;
        let tls = Arc::new(pki::server_tls_config(&creds)?);

        let registry = Registry::start(Arc::clone(&store), BUILTIN, &config.registry)
            .await
            .map_err(StartError::Registry)?;
        // The typed schemas take a moment to compile: do it now, beside
        // start-up, rather than in the first write.
        tokio::task::spawn_blocking(crate::fields::compile_schemas);
        ensure_system_namespaces(&registry).await;
        let catalog = Arc::new(Catalog::new(BUILTIN));
        install_crds(&registry, &config.install_crds).await;
        if let Err(error) =
            crate::crd::controller::reconcile_once(Arc::clone(&registry), Arc::clone(&catalog))
                .await
        {
            tracing::warn!(%error, "cannot serve the stored CRDs yet");
        }
        let crd_controller = tokio::spawn(crate::crd::controller::run(
            Arc::clone(&registry),
            Arc::clone(&catalog),
        ));
        let compactor = config
            .compaction_interval
            .filter(|i| !i.is_zero())
            .map(|interval| tokio::spawn(crate::compactor::run(Arc::clone(&store), interval)));
        let cleanup = tokio::spawn(crate::namespace_cleanup::run(
            Arc::clone(&registry),
            Arc::clone(&catalog),
            Duration::from_secs(1),
        ));
        let mut api = Api::new(registry, Authenticator::from_credentials(&creds), catalog);
        api.bookmark_interval = config.bookmark_interval;
        api.server_address = url.trim_start_matches("https://").to_string();
        let api = Arc::new(api);

        let listener = match early {
            Some(listener) => listener,
            None => bind(config.listen).await?,
        };
        let (stop, stopped) = watch::channel(false);
        let serve = tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(tls),
            Arc::clone(&api),
            stopped,
        ));
        Ok(Self {
            addr,
            kubeconfig: config.data_dir.join(pki::KUBECONFIG_FILE),
            api,
            stop,
            serve,
            cleanup,
            crd_controller,
            compactor,
        })
    }

    /// Stops accepting and closes open connections (watches included).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.cleanup.abort();
        self.crd_controller.abort();
        if let Some(compactor) = &self.compactor {
            compactor.abort();
        }
        let _ = self.serve.await;
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })
}

async fn ensure_system_namespaces(registry: &Arc<Registry>) {
    let Some(namespaces) = resources::find("", "v1", "namespaces") else {
        return;
    };
    for name in SYSTEM_NAMESPACES {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match registry
            .create(namespaces, None, ns, crate::registry::Write::internal())
            .await
        {
            Ok(_) | Err(crate::ApiError::AlreadyExists { .. }) => {}
            Err(error) => {
                tracing::warn!(namespace = name, %error, "cannot create a system namespace")
            }
        }
    }
}

/// Creates each CRD, or updates its spec when it differs from the stored
/// one (an upgrade of Mars brings new fields); objects stay.
async fn install_crds(registry: &Arc<Registry>, crds: &[serde_json::Value]) {
    let Some(resource) = resources::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return;
    };
    let write = crate::registry::Write {
        manager: Some("mars"),
        ..crate::registry::Write::internal()
    };
    for crd in crds {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        let created = registry.create(resource, None, crd.clone(), write).await;
        let result = match created {
            Err(crate::ApiError::AlreadyExists { .. }) => registry
                .guaranteed_update(resource, None, name, write, |current| {
                    let mut next = current.clone();
                    next["spec"] = crd["spec"].clone();
                    Ok(next)
                })
                .await
                .map(|_| ()),
            other => other.map(|_| ()),
        };
        if let Err(error) = result {
            tracing::warn!(crd = name, %error, "cannot install a CRD");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    api: Arc<Api>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let api = Arc::clone(&api);
                let stopped = stopped.clone();
                connections.spawn(async move {
                    if let Err(error) = serve_connection(tcp, acceptor, api, stopped).await {
                        tracing::debug!(%peer, %error, "connection ended");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped.changed() => break,
        }
    }
    // Give short requests a moment, then close everything (watches never end on their own).
    let drain = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(drain);
    loop {
        tokio::select! {
            joined = connections.join_next() => if joined.is_none() { break },
            _ = &mut drain => { connections.abort_all(); break; }
        }
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    api: Arc<Api>,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let tls = acceptor.accept(tcp).await?;
    let client_cert: Option<Bytes> = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| Bytes::copy_from_slice(cert.as_ref()));
    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
        let api = Arc::clone(&api);
        let client_cert = client_cert.clone();
        async move {
            let response = handler::handle(
                api,
                Incoming {
                    request,
                    client_cert,
                },
            )
            .await;
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => result,
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}
