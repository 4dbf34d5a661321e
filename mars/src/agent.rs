//! `mars agent`: a node agent joining an API server through a kubeconfig.
//! For now it runs simulated nodes (`--simulate N --site S`).

use anyhow::ensure;

use crate::cli::AgentArgs;
use crate::components;

/// Runs until Ctrl-C or SIGTERM.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    ensure!(
        args.simulate > 0,
        "only simulated nodes exist yet: pass --simulate N"
    );
    let client = components::client(&args.kubeconfig).await?;
    let simulation = components::simulation(args.simulate, &args.site, "");
    tracing::info!(nodes = args.simulate, site = %args.site, "simulating nodes");
    tokio::select! {
        () = mars_node_agent::simulate::run(client, simulation) => Ok(()),
        signal = crate::server::wait_for_signal() => signal,
    }
}
