//! `mars bench pods`: the pod pipeline end to end. Starts a `mars server`
//! (controllers and scheduler, no simulated nodes of its own) on a fresh data
//! directory, simulates `--nodes` nodes in this process (as `mars agent
//! --simulate N` would), waits for them to be Ready, applies `--deployments`
//! Deployments of `--replicas` pods each, and watches the pods: for each, the
//! time from the watch first seeing it to it being Running and Ready, the
//! stages between (created → scheduled → Running), and the pipeline's
//! throughput from the first create to the last pod Running.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use kube::api::{ListParams, PostParams};
use kube::runtime::watcher;

use crate::bench_api::server::{Memory, Spawned, cpu, memory};
use crate::components;

/// The Kubernetes SLO for pod startup latency (stateless pods, image pulls
/// excluded): p99 at most 5 s.
const SLO_P99: Duration = Duration::from_secs(5);
/// What this benchmark aims at, end to end.
const TARGET_PODS_PER_SECOND: f64 = 1000.0;

#[derive(Debug, Clone, Args)]
pub struct PodsBenchArgs {
    /// Simulated nodes (in this process, like `mars agent --simulate N`).
    #[arg(long, default_value_t = 1000)]
    pub nodes: usize,
    /// Deployments to apply.
    #[arg(long, default_value_t = 100)]
    pub deployments: usize,
    /// Replicas of each Deployment.
    #[arg(long, default_value_t = 100)]
    pub replicas: usize,
    /// Deployments created at once.
    #[arg(long, default_value_t = 16)]
    pub create_concurrency: usize,
    /// Concurrent API writes of the simulated nodes (all nodes together).
    #[arg(long, default_value_t = 64)]
    pub sim_writes: usize,
    /// The `mars` binary to start as the server (default: this one).
    #[arg(long)]
    pub spawn_mars: Option<PathBuf>,
    /// Where the server's data directory goes (default: $TMPDIR or /tmp).
    #[arg(long)]
    pub spawn_dir: Option<PathBuf>,
    /// Drive an existing cluster instead of starting a server.
    #[arg(long, conflicts_with_all = ["spawn_mars", "spawn_dir"])]
    pub kubeconfig: Option<PathBuf>,
    /// With --kubeconfig: the server's pid, to read its memory and CPU.
    #[arg(long, requires = "kubeconfig")]
    pub server_pid: Option<u32>,
    /// Keep the spawned server's data directory and log.
    #[arg(long)]
    pub keep: bool,
    /// Give up waiting for the pods after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_seconds: u64,
    /// The namespace the Deployments go to.
    #[arg(long, default_value = "bench-pods")]
    pub namespace: String,
}

pub async fn pods(args: PodsBenchArgs) -> anyhow::Result<()> {
    ensure!(
        args.nodes > 0 && args.deployments > 0 && args.replicas > 0,
        "--nodes, --deployments and --replicas must be positive"
    );
    let mut spawned = None;
    let (kubeconfig, pid) = match &args.kubeconfig {
        Some(path) => (path.clone(), args.server_pid),
        None => {
            let binary = match &args.spawn_mars {
                Some(path) => path.clone(),
                None => std::env::current_exe().context("cannot find this binary")?,
            };
            let base = args.spawn_dir.clone().unwrap_or_else(std::env::temp_dir);
            // Controllers and scheduler; the nodes are this benchmark's.
            let (server, ready) =
                Spawned::start(&binary, &base, args.keep, &["--simulate-nodes=0"]).await?;
            println!(
                "server: {} (pid {}), ready in {:.1} s, data in {}",
                binary.display(),
                server.pid,
                ready.as_secs_f64(),
                server.data_dir().display()
            );
            let out = (server.kubeconfig(), Some(server.pid));
            spawned = Some(server);
            out
        }
    };
    let outcome = run(&args, &kubeconfig, pid).await;
    if let Some(server) = spawned {
        server.finish().await?;
    }
    outcome
}

/// One pod's milestones, in seconds since the first Deployment create.
#[derive(Debug, Default, Clone, Copy)]
struct Milestones {
    seen: f64,
    scheduled: Option<f64>,
    running: Option<f64>,
}

async fn run(args: &PodsBenchArgs, kubeconfig: &Path, pid: Option<u32>) -> anyhow::Result<()> {
    let client = components::client(kubeconfig).await?;

    // Nodes.
    let site = "bench";
    let mut simulation = components::simulation(args.nodes, site, "");
    simulation.max_concurrent_writes = args.sim_writes;
    let cpu_before_nodes = pid.and_then(|pid| cpu(pid).ok());
    let started = Instant::now();
    let sim = tokio::spawn(mars_node_agent::simulate::run(client.clone(), simulation));
    let nodes: kube::Api<Node> = kube::Api::all(client.clone());
    let selector = ListParams::default().labels(&format!("mars.io/site={site}"));
    loop {
        let list = nodes.list(&selector).await?;
        let ready = list.items.iter().filter(|n| node_ready(n)).count();
        if ready >= args.nodes {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {ready} of {} nodes Ready after 600 s", args.nodes);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "nodes: {} Ready in {:.1} s{}",
        args.nodes,
        started.elapsed().as_secs_f64(),
        pid.map(|pid| usage(pid, cpu_before_nodes))
            .unwrap_or_default()
    );

    // A namespace with its default ServiceAccount.
    let namespaces: kube::Api<Namespace> = kube::Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": args.namespace},
    }))?;
    match namespaces.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => return Err(error).context("cannot create the namespace"),
    }
    let accounts: kube::Api<ServiceAccount> =
        kube::Api::namespaced(client.clone(), &args.namespace);
    let waited = Instant::now();
    while accounts.get_opt("default").await?.is_none() {
        if waited.elapsed() > Duration::from_secs(30) {
            eprintln!("   no default ServiceAccount after 30 s; going on");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The watch, before any create.
    let pods_api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), &args.namespace);
    let t0_cell = std::sync::Arc::new(std::sync::OnceLock::<Instant>::new());
    let total = args.deployments * args.replicas;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<HashMap<String, Milestones>>();
    let (synced_tx, synced_rx) = tokio::sync::oneshot::channel::<()>();
    let progress = std::sync::Arc::new(std::sync::Mutex::new((0usize, 0usize, 0usize)));
    let watch = {
        let t0_cell = t0_cell.clone();
        let progress = progress.clone();
        let pods_api = pods_api.clone();
        tokio::spawn(async move {
            let mut pods: HashMap<String, Milestones> = HashMap::new();
            let mut synced = Some(synced_tx);
            let mut counts = (0usize, 0usize, 0usize);
            let stream = watcher(pods_api, watcher::Config::default());
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                let pod = match event {
                    Ok(watcher::Event::InitDone) => {
                        if let Some(tx) = synced.take() {
                            let _ = tx.send(());
                        }
                        continue;
                    }
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                    Ok(_) => continue,
                    Err(error) => {
                        eprintln!("   pod watch: {error}");
                        continue;
                    }
                };
                let now = match t0_cell.get() {
                    Some(t0) => t0.elapsed().as_secs_f64(),
                    None => 0.0,
                };
                let Some(uid) = pod.metadata.uid.clone() else {
                    continue;
                };
                let entry = pods.entry(uid).or_insert_with(|| {
                    counts.0 += 1;
                    Milestones {
                        seen: now,
                        ..Default::default()
                    }
                });
                let bound = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_ref())
                    .is_some();
                if bound && entry.scheduled.is_none() {
                    entry.scheduled = Some(now);
                    counts.1 += 1;
                }
                if pod_running_ready(&pod) && entry.running.is_none() {
                    entry.running = Some(now);
                    counts.2 += 1;
                    if entry.scheduled.is_none() {
                        entry.scheduled = Some(now);
                        counts.1 += 1;
                    }
                }
                *progress.lock().unwrap_or_else(|e| e.into_inner()) = counts;
                if counts.2 >= total {
                    break;
                }
            }
            let _ = done_tx.send(pods);
        })
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), synced_rx).await;

    // The Deployments.
    println!(
        "applying {} Deployments × {} replicas = {total} pods in namespace {}",
        args.deployments, args.replicas, args.namespace
    );
    let deployments: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), &args.namespace);
    let cpu_before = pid.and_then(|pid| cpu(pid).ok());
    let self_cpu_before = cpu(std::process::id()).ok();
    let t0 = Instant::now();
    let _ = t0_cell.set(t0);
    let replicas = args.replicas;
    let concurrency = args.create_concurrency.max(1);
    let creates = futures::stream::iter(0..args.deployments)
        .map(move |i| {
            let deployments = deployments.clone();
            async move {
                let deployment = deployment(i, replicas)?;
                deployments
                    .create(&PostParams::default(), &deployment)
                    .await
                    .with_context(|| format!("cannot create Deployment {i}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>();
    let created_at = tokio::spawn(async move {
        let result = creates.await;
        (result, t0.elapsed())
    });

    // Progress until every pod runs (or the timeout).
    let deadline = t0 + Duration::from_secs(args.timeout_seconds);
    let mut done_rx = done_rx;
    let mut last_print = Instant::now();
    let mut peak_rss = 0u64;
    let pods = loop {
        tokio::select! {
            pods = &mut done_rx => break pods.ok(),
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if let Some(pid) = pid
            && let Ok(m) = memory(pid)
        {
            peak_rss = peak_rss.max(m.rss);
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            last_print = Instant::now();
            let (seen, scheduled, running) = *progress.lock().unwrap_or_else(|e| e.into_inner());
            println!(
                "   {:6.1} s: {seen} created, {scheduled} scheduled, {running} Running",
                t0.elapsed().as_secs_f64()
            );
        }
        if Instant::now() > deadline {
            watch.abort();
            break None;
        }
    };
    let elapsed_server_cpu = pid.and_then(|pid| Some(cpu(pid).ok()? - cpu_before?));
    let elapsed_self_cpu = cpu(std::process::id())
        .ok()
        .and_then(|now| Some(now - self_cpu_before?));
    let (create_result, create_time) = created_at.await?;
    create_result?;
    sim.abort();

    let Some(pods) = pods else {
        let (seen, scheduled, running) = *progress.lock().unwrap_or_else(|e| e.into_inner());
        bail!(
            "timed out after {} s: {seen} created, {scheduled} scheduled, {running} of {total} Running",
            args.timeout_seconds
        );
    };
    report(&Report {
        pods: &pods,
        total,
        create_time,
        server_cpu: elapsed_server_cpu,
        self_cpu: elapsed_self_cpu,
        server_rss: pid.and_then(|pid| memory(pid).ok()),
        peak_rss,
    });
    Ok(())
}

struct Report<'a> {
    pods: &'a HashMap<String, Milestones>,
    total: usize,
    create_time: Duration,
    server_cpu: Option<Duration>,
    self_cpu: Option<Duration>,
    server_rss: Option<Memory>,
    peak_rss: u64,
}

fn report(r: &Report<'_>) {
    let done: Vec<&Milestones> = r.pods.values().filter(|m| m.running.is_some()).collect();
    let last = done.iter().filter_map(|m| m.running).fold(0.0f64, f64::max);
    let first_seen = done.iter().map(|m| m.seen).fold(f64::INFINITY, f64::min);
    let last_seen = done.iter().map(|m| m.seen).fold(0.0f64, f64::max);
    let rate = done.len() as f64 / last.max(1e-9);
    let mut latency: Vec<f64> = done
        .iter()
        .filter_map(|m| Some(m.running? - m.seen))
        .collect();
    let mut to_schedule: Vec<f64> = done
        .iter()
        .filter_map(|m| Some(m.scheduled? - m.seen))
        .collect();
    let mut to_run: Vec<f64> = done
        .iter()
        .filter_map(|m| Some(m.running? - m.scheduled?))
        .collect();
    let mut created: Vec<f64> = done.iter().map(|m| m.seen).collect();
    let p = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let q = |x: f64| {
            if v.is_empty() {
                f64::NAN
            } else {
                v[((v.len() as f64 * x).ceil() as usize)
                    .saturating_sub(1)
                    .min(v.len() - 1)]
            }
        };
        format!(
            "p50 {:7.3} s  p90 {:7.3} s  p99 {:7.3} s  max {:7.3} s",
            q(0.5),
            q(0.9),
            q(0.99),
            q(1.0)
        )
    };
    println!();
    println!(
        "== mars bench pods: {} of {} pods Running and Ready",
        done.len(),
        r.total
    );
    println!(
        "throughput   {rate:8.0} pods/s  (first create → last Running: {last:.2} s; \
         target ≥ {TARGET_PODS_PER_SECOND:.0} pods/s; kube-scheduler publishes 100–300 pods/s at 5,000 nodes)"
    );
    let mut sorted = latency.clone();
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted
        .get(((sorted.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(f64::NAN);
    println!(
        "startup      {}  (seen → Running+Ready; Kubernetes SLO p99 ≤ {} s: {})",
        p(&mut latency),
        SLO_P99.as_secs(),
        if p99 <= SLO_P99.as_secs_f64() {
            "met"
        } else {
            "MISSED"
        }
    );
    println!("stages:");
    println!(
        "  create     Deployments created in {:.2} s; pods appear from {first_seen:.2} s to {last_seen:.2} s \
         ({:.0} pods/s through Deployment → ReplicaSet → pods)",
        r.create_time.as_secs_f64(),
        done.len() as f64 / last_seen.max(1e-9)
    );
    println!("    pod seen at (since first create)  {}", p(&mut created));
    println!("  schedule   {}  (seen → bound)", p(&mut to_schedule));
    println!(
        "  start      {}  (bound → Running+Ready, simulated node)",
        p(&mut to_run)
    );
    if let Some(rss) = r.server_rss {
        println!(
            "server       RSS {:.0} MiB now, {:.0} MiB peak during the run (VmHWM {:.0} MiB)",
            rss.rss as f64 / 1048576.0,
            r.peak_rss as f64 / 1048576.0,
            rss.peak as f64 / 1048576.0
        );
    }
    if let Some(cpu) = r.server_cpu {
        println!(
            "server CPU   {:.1} s over the run ({:.2} cores)",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / last.max(1e-9)
        );
    }
    if let Some(cpu) = r.self_cpu {
        println!(
            "bench CPU    {:.1} s (simulated nodes, watch and client; {:.2} cores)",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / last.max(1e-9)
        );
    }
}

fn deployment(i: usize, replicas: usize) -> anyhow::Result<Deployment> {
    let name = format!("bench-{i:04}");
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{
                        "name": "pause",
                        "image": "registry.k8s.io/pause:3.10",
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    }],
                },
            },
        },
    }))?)
}

fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_running_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn usage(pid: u32, cpu_before: Option<Duration>) -> String {
    let rss = memory(pid)
        .map(|m| format!(", server RSS {:.0} MiB", m.rss as f64 / 1048576.0))
        .unwrap_or_default();
    let cpu = cpu(pid)
        .ok()
        .zip(cpu_before)
        .map(|(now, before)| format!(", server CPU {:.1} s", (now - before).as_secs_f64()))
        .unwrap_or_default();
    format!("{rss}{cpu}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_has_the_replicas_and_a_matching_selector() -> anyhow::Result<()> {
        let d = deployment(7, 100)?;
        let spec = d.spec.context("no spec")?;
        assert_eq!(spec.replicas, Some(100));
        let labels = spec.selector.match_labels.context("no selector")?;
        assert_eq!(labels.get("app").map(String::as_str), Some("bench-0007"));
        Ok(())
    }
}
