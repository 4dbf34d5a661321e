//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mars_store::embedded::AutoCompaction;

use crate::{bench, bench_api, bench_pods, server};

/// Mars: one Kubernetes-compatible control plane for a national fleet.
#[derive(Debug, Parser)]
#[command(name = "mars", version, about, args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server settings for the all-in-one default (no subcommand).
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane: the store and its etcd v3 API.
    Server(Box<ServerArgs>),
    /// Measure things and print the figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Print Mars's CustomResourceDefinitions as YAML (what `mars server`
    /// installs), e.g. to apply them to another cluster.
    Crds,
    /// Run a node agent against a Mars (or any Kubernetes) API server; for
    /// now simulated nodes only (`--simulate N`).
    Agent(AgentArgs),
    /// Inspect or change the members of a replicated Mars cluster.
    Cluster(crate::cluster::ClusterArgs),
}

/// What runs beside the API server in `mars server`.
#[derive(Debug, Clone, Args)]
pub struct ComponentArgs {
    /// Controllers to run: `*` for all, names to pick, `-name` to leave one
    /// out (e.g. `*,-garbagecollector`); empty for none.
    #[arg(long, default_value = "*")]
    pub controllers: String,
    /// Do not run the built-in scheduler.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub disable_scheduler: bool,
    /// Simulated nodes to run in-process (the all-in-one default: one,
    /// named after this machine); 0 for none.
    #[arg(long, default_value_t = 1)]
    pub simulate_nodes: usize,
    /// The site (`mars.io/site`) of the simulated nodes.
    #[arg(long, default_value = "local")]
    pub site: String,
    /// How long a node may go without renewing its Lease before it is
    /// marked Unknown and its pods evicted (kube-controller-manager's flag).
    #[arg(long, default_value = "40s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// The name of the single simulated node (default: this machine's).
    #[arg(long, default_value_t = crate::components::host_name())]
    pub node_name: String,
}

#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// Kubeconfig of the API server to join (Mars writes DATA_DIR/kubeconfig.yaml).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: PathBuf,
    /// Simulate this many nodes (no container runtime needed).
    #[arg(long)]
    pub simulate: usize,
    /// Their site (`mars.io/site` label; names are `<site>-<i>`).
    #[arg(long, default_value = "local")]
    pub site: String,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Drive etcd-compatible endpoints (Mars or etcd) with the same load.
    Store(bench::StoreBenchArgs),
    /// Drive a Kubernetes API server (Mars or kube-apiserver) through a kubeconfig.
    Api(bench_api::ApiBenchArgs),
    /// Time the pod pipeline: Deployments to Running pods on simulated nodes.
    Pods(bench_pods::PodsBenchArgs),
    /// Kill a cluster's leader under write load and time until writes resume.
    Failover(crate::bench_failover::FailoverBenchArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Where the store keeps its log and snapshots.
    #[arg(long, env = "MARS_DATA_DIR", default_value = "mars-data")]
    pub data_dir: PathBuf,
    /// Address of the etcd v3 gRPC API.
    #[arg(long, default_value = "127.0.0.1:2379")]
    pub etcd_listen: String,
    /// Name of this member, as `etcdctl member list` shows it.
    #[arg(long, default_value = "mars")]
    pub name: String,
    /// Largest request accepted, in bytes (etcd's default: 1.5 MiB).
    #[arg(long, default_value_t = 1536 * 1024)]
    pub max_request_bytes: usize,
    /// Most operations in one transaction (etcd's default: 128).
    #[arg(long, default_value_t = 128)]
    pub max_txn_ops: usize,
    /// Keep this much history and compact the rest automatically: a revision
    /// count (`10000`) or a duration (`30m`, `1h`). Off by default.
    #[arg(long, value_parser = parse_retention)]
    pub auto_compaction_retention: Option<AutoCompaction>,
    /// How often watches that asked for progress notifications get one.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub watch_progress_notify_interval: Duration,
    /// Serve only the store's etcd API, not the Kubernetes API (for using
    /// Mars as an etcd-compatible store, and for store-level tests).
    #[arg(long)]
    pub no_api: bool,
    /// Address of the Kubernetes API (HTTPS).
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub api_listen: SocketAddr,
    /// Extra host names or IPs for the API's serving certificate.
    #[arg(long, value_delimiter = ',')]
    pub api_host: Vec<String>,
    /// The range Service cluster IPs are allocated from.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// How often the API server compacts the store's history to the revision
    /// of the previous pass, as kube-apiserver does (`0` turns it off).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub etcd_compaction_interval: Duration,
    /// How often an idle watch that allows bookmarks gets one.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub watch_bookmark_interval: Duration,
    #[command(flatten)]
    pub raft: RaftArgs,
    #[command(flatten)]
    pub components: ComponentArgs,
}

/// Replication: with none of these, the store is a cluster of one.
#[derive(Debug, Clone, Args)]
pub struct RaftArgs {
    /// This member's id in the cluster (a positive integer, unique in it).
    #[arg(long, requires = "raft_listen")]
    pub node_id: Option<u64>,
    /// Address peers reach this member's Raft service on.
    #[arg(long, requires = "node_id")]
    pub raft_listen: Option<String>,
    /// The members that form a new cluster: `1=host:port,2=host:port,...`,
    /// this member included. Leave out to join a running cluster (after
    /// `mars cluster add` on it).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer, requires = "node_id")]
    pub peers: Vec<(u64, String)>,
    /// Raft timing defaults: `lan` (heartbeat 50ms, election 150–300ms)
    /// or `wan` (voters in different cities: 400ms, 2–4s).
    #[arg(long, default_value = "lan", value_parser = parse_timings)]
    pub raft_timings: mars_store::raft::Timings,
    /// Overrides the heartbeat interval of --raft-timings.
    #[arg(long, value_parser = parse_duration)]
    pub heartbeat_interval: Option<Duration>,
    /// Overrides the (minimum) election timeout of --raft-timings; the
    /// maximum is twice it.
    #[arg(long, value_parser = parse_duration)]
    pub election_timeout: Option<Duration>,
    /// Entries between snapshots (etcd's --snapshot-count).
    #[arg(long, default_value_t = 20_000)]
    pub snapshot_count: u64,
    /// This member's certificate for Raft traffic (PEM); with the next two,
    /// members speak mutual TLS.
    #[arg(long, requires_all = ["peer_key_file", "peer_trusted_ca_file"])]
    pub peer_cert_file: Option<PathBuf>,
    /// The key of --peer-cert-file (PEM).
    #[arg(long, requires = "peer_cert_file")]
    pub peer_key_file: Option<PathBuf>,
    /// The CA that signs every member's certificate (PEM).
    #[arg(long, requires = "peer_cert_file")]
    pub peer_trusted_ca_file: Option<PathBuf>,
}

impl RaftArgs {
    /// Mutual TLS for Raft traffic, when the files are given.
    pub fn tls(&self) -> anyhow::Result<Option<mars_store::raft::grpc::PeerTls>> {
        match (
            &self.peer_trusted_ca_file,
            &self.peer_cert_file,
            &self.peer_key_file,
        ) {
            (Some(ca), Some(cert), Some(key)) => {
                Ok(Some(mars_store::raft::grpc::PeerTls::load(ca, cert, key)?))
            }
            _ => Ok(None),
        }
    }

    /// The timings after overrides.
    pub fn timings(&self) -> mars_store::raft::Timings {
        let mut timings = self.raft_timings;
        if let Some(heartbeat) = self.heartbeat_interval {
            timings.heartbeat = heartbeat;
        }
        if let Some(election) = self.election_timeout {
            timings.election_min = election;
            timings.election_max = election * 2;
        }
        timings
    }
}

/// `3=10.0.0.3:2380`: a member's id and Raft address (`--peers`,
/// `mars cluster add`).
pub(crate) fn parse_peer(text: &str) -> Result<(u64, String), String> {
    let (id, addr) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid peer {text:?}: use ID=HOST:PORT, e.g. 1=10.0.0.1:2380"))?;
    let id: u64 = id
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("invalid peer {text:?}: the id must be a positive integer"))?;
    if !addr.contains(':') {
        return Err(format!("invalid peer {text:?}: the address needs a port"));
    }
    Ok((id, addr.to_string()))
}

fn parse_timings(text: &str) -> Result<mars_store::raft::Timings, String> {
    match text {
        "lan" => Ok(mars_store::raft::Timings::LAN),
        "wan" => Ok(mars_store::raft::Timings::WAN),
        _ => Err(format!("unknown timings {text:?}: use lan or wan")),
    }
}

/// `10000` keeps that many revisions; `30s`, `5m`, `1h` keep that much time.
fn parse_retention(text: &str) -> Result<AutoCompaction, String> {
    let bad = || {
        format!(
            "invalid retention {text:?}: use a revision count like 10000 or a duration like 30s, 5m, 1h"
        )
    };
    if let Ok(revisions) = text.parse::<i64>() {
        return if revisions > 0 {
            Ok(AutoCompaction::Revisions(revisions))
        } else {
            Err(bad())
        };
    }
    match parse_duration(text) {
        Ok(keep) if !keep.is_zero() => Ok(AutoCompaction::Periodic(keep)),
        _ => Err(bad()),
    }
}

/// Parses `500ms`, `30s`, `10m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit: use ms, s, m or h"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(format!("{text:?} has an unknown unit: use ms, s, m or h")),
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default `info` level.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => server::run(cli.server).await,
        Some(Command::Server(args)) => server::run(*args).await,
        Some(Command::Bench(BenchCommand::Store(args))) => bench::store(args).await,
        Some(Command::Bench(BenchCommand::Api(args))) => bench_api::api(args).await,
        Some(Command::Bench(BenchCommand::Pods(args))) => bench_pods::pods(args).await,
        Some(Command::Bench(BenchCommand::Failover(args))) => {
            crate::bench_failover::failover(args).await
        }
        Some(Command::Agent(args)) => crate::agent::run(args).await,
        Some(Command::Cluster(args)) => crate::cluster::run(args).await,
        Some(Command::Crds) => {
            use std::io::Write;
            match std::io::stdout()
                .lock()
                .write_all(mars_crds::GENERATED_YAML.as_bytes())
            {
                // `mars crds | head` is fine.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(Into::into),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_retentions_parse_like_etcds_flags() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10d").is_err());
        assert_eq!(
            parse_retention("10000"),
            Ok(AutoCompaction::Revisions(10000))
        );
        assert_eq!(
            parse_retention("1h"),
            Ok(AutoCompaction::Periodic(Duration::from_secs(3600)))
        );
        for bad in ["0", "0s", "abc", ""] {
            assert!(parse_retention(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn peers_parse_as_id_equals_address() {
        assert_eq!(
            parse_peer("2=10.0.0.2:2380"),
            Ok((2, "10.0.0.2:2380".to_string()))
        );
        for bad in ["10.0.0.2:2380", "0=a:1", "x=a:1", "2=host"] {
            assert!(parse_peer(bad).is_err(), "{bad:?}");
        }
    }
}
