//! `mars cluster`: membership of a replicated Mars, asked of any member
//! over its Raft address (changes are forwarded to the leader).

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use mars_store::raft::grpc::{GrpcTransport, PeerTls};
use mars_store::raft::transport::{Rpc, RpcReply, Transport};
use mars_store::raft::{Change, ClusterStatus, NodeId};

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Raft address of any member.
    #[arg(long, default_value = "127.0.0.1:2380")]
    pub endpoint: String,
    /// A certificate the cluster's CA signed (PEM), when members speak TLS.
    #[arg(long, requires_all = ["key", "cacert"])]
    pub cert: Option<std::path::PathBuf>,
    /// The key of --cert (PEM).
    #[arg(long, requires = "cert")]
    pub key: Option<std::path::PathBuf>,
    /// The cluster's CA (PEM).
    #[arg(long, requires = "cert")]
    pub cacert: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Show the members, the leader, the term and the log position.
    Status,
    /// Add a learner `ID=HOST:PORT` (start it first with no --peers); it
    /// receives the log and is returned once it has caught up.
    Add {
        #[arg(value_parser = crate::cli::parse_peer)]
        member: (NodeId, String),
    },
    /// Make a caught-up learner a voter.
    Promote { id: NodeId },
    /// Remove a member (voter or learner).
    Remove { id: NodeId },
}

pub async fn run(args: ClusterArgs) -> anyhow::Result<()> {
    let tls = match (&args.cacert, &args.cert, &args.key) {
        (Some(ca), Some(cert), Some(key)) => Some(PeerTls::load(ca, cert, key)?),
        _ => None,
    };
    let transport = GrpcTransport::new(tls);
    let change = match args.command {
        ClusterCommand::Status => {
            print!("{}", render(&status(&*transport, &args.endpoint).await?));
            return Ok(());
        }
        ClusterCommand::Add { member: (id, addr) } => Change::AddLearner { id, addr },
        ClusterCommand::Promote { id } => Change::Promote(id),
        ClusterCommand::Remove { id } => Change::Remove(id),
    };
    let rpc = Rpc::Change {
        change: change.clone(),
        forwarded: false,
    };
    let call = transport.call(0, &args.endpoint, rpc);
    match tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .context("the change took more than 60 s")?
        .with_context(|| format!("cannot reach {}", args.endpoint))?
    {
        RpcReply::Change(Ok(())) => {}
        RpcReply::Change(Err(e)) => bail!("{change:?} refused: {e}"),
        other => bail!("unexpected reply {other:?}"),
    }
    print!("{}", render(&status(&*transport, &args.endpoint).await?));
    Ok(())
}

async fn status(transport: &dyn Transport, endpoint: &str) -> anyhow::Result<ClusterStatus> {
    match transport
        .call(0, endpoint, Rpc::Status)
        .await
        .with_context(|| format!("cannot reach {endpoint}"))?
    {
        RpcReply::Status(status) => Ok(status),
        other => bail!("unexpected reply {other:?}"),
    }
}

/// A table like `etcdctl member list -w table`.
fn render(status: &ClusterStatus) -> String {
    let mut out = format!(
        "asked member {}: leader {}, term {}, log {}, applied {}\n{:<6} {:<8} {:<8} {}\n",
        status.id,
        status.leader.map_or("none".to_string(), |l| l.to_string()),
        status.term,
        status.last_log_index,
        status.applied_index,
        "ID",
        "ROLE",
        "LEADER",
        "ADDRESS"
    );
    let rows = status
        .voters
        .iter()
        .map(|m| (m, "voter"))
        .chain(status.learners.iter().map(|m| (m, "learner")));
    for ((id, addr), role) in rows {
        let leader = if status.leader == Some(*id) { "*" } else { "" };
        out.push_str(&format!("{id:<6} {role:<8} {leader:<8} {addr}\n"));
    }
    out
}
