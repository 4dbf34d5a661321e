//! Runs simulated nodes against a cluster, for trying them by hand:
//! `cargo run -p mars-node-agent --example simulate -- KUBECONFIG [NODES] [SITE] [RENEW_SECONDS]`.

use kube::config::{KubeConfigOptions, Kubeconfig};
use mars_node_agent::simulate::{self, Simulation};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mars_node_agent=debug".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: simulate KUBECONFIG [NODES] [SITE] [RENEW_SECONDS]")?;
    let nodes = args.next().map(|n| n.parse()).transpose()?.unwrap_or(3);
    let site = args.next().unwrap_or_else(|| "bj-yizhuang".to_owned());
    let renew: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(2);
    let kubeconfig = Kubeconfig::read_from(path)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = kube::Client::try_from(config)?;
    let simulation = Simulation {
        nodes,
        prefix: site.clone(),
        site,
        region: "north".to_owned(),
        zones: 3,
        renew_interval: std::time::Duration::from_secs(renew),
        ..Simulation::default()
    };
    simulate::run(client, simulation).await;
    Ok(())
}
