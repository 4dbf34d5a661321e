//! Simulated nodes against a running server. Ignored by default; run with
//! `MARS_KUBECONFIG=/tmp/x/kubeconfig.yaml cargo test -p mars-node-agent
//! --test live -- --ignored` after `mars server --data-dir /tmp/x`.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use mars_node_agent::simulate::{self, Simulation};

type Error = Box<dyn std::error::Error>;

async fn client() -> Result<kube::Client, Error> {
    let path = std::env::var("MARS_KUBECONFIG")?;
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(path)?,
        &KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

async fn until<T, F: std::future::Future<Output = Option<T>>>(
    mut check: impl FnMut() -> F,
) -> Result<T, Error> {
    for _ in 0..100 {
        if let Some(value) = check().await {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("timed out".into())
}

#[tokio::test]
#[ignore = "needs a running server (MARS_KUBECONFIG)"]
async fn pods_run_and_go_on_simulated_nodes() -> Result<(), Error> {
    let client = client().await?;
    let suffix = std::process::id();
    let prefix = format!("live-{suffix}");
    let sim = Simulation {
        nodes: 2,
        site: format!("test-{suffix}"),
        prefix: prefix.clone(),
        ..Simulation::default()
    };
    let agent = tokio::spawn(simulate::run(client.clone(), sim));
    let nodes: Api<Node> = Api::all(client.clone());
    let node_name = format!("{prefix}-1");
    let cidr = until(|| async {
        let node = nodes.get_opt(&node_name).await.ok()??;
        let ready = node
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        ready
            .then(|| node.spec.as_ref()?.pod_cidr.clone())
            .flatten()
    })
    .await?;

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": { "name": format!("{prefix}-pod") },
        "spec": { "nodeName": node_name, "containers": [{ "name": "c", "image": "nginx" }] },
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    let ip = until(|| async {
        let pod = pods.get(&format!("{prefix}-pod")).await.ok()?;
        let status = pod.status?;
        (status.phase.as_deref() == Some("Running"))
            .then_some(status.pod_ip)
            .flatten()
    })
    .await?;
    let net = cidr.trim_end_matches("0/24");
    assert!(ip.starts_with(net), "{ip} in {cidr}");

    pods.delete(&format!("{prefix}-pod"), &DeleteParams::default())
        .await?;
    until(|| async {
        pods.get_opt(&format!("{prefix}-pod"))
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await?;
    agent.abort();
    for i in 0..2 {
        let _ = nodes
            .delete(&format!("{prefix}-{i}"), &DeleteParams::default())
            .await;
    }
    Ok(())
}
