//! What runs beside the API server in `mars server`: the controllers, the
//! scheduler and simulated nodes. Each is an ordinary API client: it gets
//! a `kube::Client` made from the admin kubeconfig the server wrote and
//! reaches the API over HTTPS, as it would reach any kube-apiserver.

use std::path::Path;

use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::task::JoinSet;

use crate::cli::ComponentArgs;
use crate::in_flight::InFlightLimit;

/// How many requests (watches aside) the controllers together, and the
/// scheduler, each keep in flight: enough to keep two cores busy, few
/// enough that neither buries the other's requests in the server's queue.
const CONTROLLERS_IN_FLIGHT: usize = 64;
const SCHEDULER_IN_FLIGHT: usize = 64;
/// The simulated nodes bound their writes themselves.
const AGENT_IN_FLIGHT: usize = 256;

/// The client configuration `kubeconfig` (its current context) gives.
pub async fn config(kubeconfig: &Path) -> anyhow::Result<kube::Config> {
    // kube's rustls needs a process-wide provider; the build has only ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("cannot read {}", kubeconfig.display()))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("cannot use the kubeconfig")
}

/// A `kube::Client` with at most `in_flight` requests (watches aside)
/// under way; each client has its own connections and its own bound.
/// `agent` is its User-Agent product: the field manager its writes are
/// recorded under (`managedFields`), as kube-controller-manager's are.
pub fn bounded_client(
    mut config: kube::Config,
    agent: &str,
    in_flight: usize,
) -> anyhow::Result<kube::Client> {
    let user_agent = format!(
        "{agent}/v{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let value = http::HeaderValue::from_str(&user_agent).context("bad User-Agent")?;
    config.headers.push((http::header::USER_AGENT, value));
    Ok(kube::client::ClientBuilder::try_from(config)
        .context("cannot make an API client")?
        .with_layer(&InFlightLimit::new(in_flight))
        .build())
}

/// A `kube::Client` for `kubeconfig`, as a node agent uses it.
pub async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    bounded_client(config(kubeconfig).await?, "mars-agent", AGENT_IN_FLIGHT)
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

/// Starts what `args` selects, each kind of component with its own client
/// of `kubeconfig`; the tasks stop when the set is dropped.
pub async fn start(kubeconfig: &Path, args: &ComponentArgs) -> anyhow::Result<JoinSet<()>> {
    let config = config(kubeconfig).await?;
    let ca_pem = cluster_ca(kubeconfig);
    let client = bounded_client(
        config.clone(),
        "mars-controller-manager",
        CONTROLLERS_IN_FLIGHT,
    )?;
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
        let client = bounded_client(config.clone(), "mars-scheduler", SCHEDULER_IN_FLIGHT)?;
        tasks.spawn(mars_scheduler::run(client));
    }
    if args.simulate_nodes > 0 {
        let simulation = simulation(args.simulate_nodes, &args.site, &args.node_name);
        tracing::info!(nodes = args.simulate_nodes, site = %args.site, "starting simulated nodes");
        let client = bounded_client(config, "mars-agent", AGENT_IN_FLIGHT)?;
        tasks.spawn(mars_node_agent::simulate::run(client, simulation));
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
