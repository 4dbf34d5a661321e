//! What runs beside the API server in `mars server`: the controllers, the
//! scheduler and simulated nodes. Each is an ordinary API client: it gets
//! a `kube::Client` made from the admin kubeconfig the server wrote and
//! reaches the API over HTTPS, as it would reach any kube-apiserver.

use std::path::Path;

use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::task::JoinSet;

use crate::cli::ComponentArgs;

/// A `kube::Client` for `kubeconfig` (its current context).
pub async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    // kube's rustls needs a process-wide provider; the build has only ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("cannot read {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("cannot use the kubeconfig")?;
    kube::Client::try_from(config).context("cannot make an API client")
}

/// The cluster CA (PEM) a kubeconfig trusts, if it names one inline.
pub fn cluster_ca(kubeconfig: &Path) -> Option<String> {
    use base64::Engine;
    let kubeconfig = Kubeconfig::read_from(kubeconfig).ok()?;
    let data = kubeconfig
        .clusters
        .first()?
        .cluster
        .as_ref()?
        .certificate_authority_data
        .clone()?;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    String::from_utf8(pem).ok()
}

/// Starts what `args` selects; the tasks stop when the set is dropped.
pub fn start(
    client: &kube::Client,
    ca_pem: Option<String>,
    args: &ComponentArgs,
) -> anyhow::Result<JoinSet<()>> {
    let mut tasks = JoinSet::new();
    let controllers = mars_controllers::select(&args.controllers).map_err(anyhow::Error::msg)?;
    let context = mars_controllers::Context {
        client: client.clone(),
        ca_pem,
        node_monitor_grace_period: args.node_monitor_grace_period,
        caches: mars_controllers::cache::Shared::new(client.clone()),
    };
    for controller in controllers {
        tracing::info!(controller = controller.name, "starting controller");
        tasks.spawn((controller.run)(context.clone()));
    }
    if !args.disable_scheduler {
        tracing::info!("starting the scheduler");
        tasks.spawn(mars_scheduler::run(client.clone()));
    }
    if args.simulate_nodes > 0 {
        let simulation = simulation(args.simulate_nodes, &args.site, &args.node_name);
        tracing::info!(nodes = args.simulate_nodes, site = %args.site, "starting simulated nodes");
        tasks.spawn(mars_node_agent::simulate::run(client.clone(), simulation));
    }
    Ok(tasks)
}

/// `nodes` simulated nodes of `site`; one node is named `single` (this
/// machine's name in the all-in-one default).
pub fn simulation(nodes: usize, site: &str, single: &str) -> mars_node_agent::simulate::Simulation {
    let one = nodes == 1 && !single.is_empty();
    mars_node_agent::simulate::Simulation {
        nodes,
        site: site.to_string(),
        prefix: if one {
            single.to_string()
        } else {
            site.to_string()
        },
        single_name: one,
        ..Default::default()
    }
}

/// This machine's host name (the all-in-one node's name).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_lowercase())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "mars-node".to_string())
}
