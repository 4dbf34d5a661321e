//! `mars bench failover`: how long writes stop when a cluster's leader dies.
//! Writers keep putting through every member; the leader (found through
//! etcd's `Status` on each member) is killed with SIGKILL; the figure is the
//! time from the kill to the first write that was sent after it and
//! acknowledged. Works the same against a Mars cluster and an etcd cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use etcd_client::{Client, ConnectOptions};
use parking_lot::Mutex;

use crate::bench::Target;

#[derive(Debug, Clone, Args)]
pub struct FailoverBenchArgs {
    /// The cluster, `NAME=URL|URL|URL` (etcd client URLs of its members).
    #[arg(long)]
    pub endpoint: String,
    /// Process ids of the members, in the order of the URLs.
    #[arg(long, value_delimiter = ',', required = true)]
    pub pids: Vec<u32>,
    /// Concurrent writers.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Steady writing before the kill.
    #[arg(long, default_value = "2s", value_parser = crate::cli::parse_duration)]
    pub settle: Duration,
}

/// One acknowledged put: when it was sent and when it was answered.
type Acks = Arc<Mutex<Vec<(Instant, Instant)>>>;

pub async fn failover(args: FailoverBenchArgs) -> anyhow::Result<()> {
    let target = Target::parse(&args.endpoint)?;
    let urls: Vec<String> = target.urls().into_iter().map(str::to_owned).collect();
    ensure!(
        urls.len() == args.pids.len(),
        "{} URLs but {} pids",
        urls.len(),
        args.pids.len()
    );
    let leader = leader_index(&urls).await?;
    println!(
        "mars bench failover: {} ({} members, {} writers); leader is {}",
        target.name,
        urls.len(),
        args.clients,
        urls[leader]
    );

    let acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..args.clients)
        .map(|w| tokio::spawn(write(urls.clone(), w, acks.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(args.settle).await;
    let before = acks.lock().len();
    ensure!(before > 0, "no write was acknowledged before the kill");

    let pid = args.pids[leader];
    let status = std::process::Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .status()
        .context("cannot run kill")?;
    ensure!(status.success(), "kill -KILL {pid} failed");
    // The clock starts once the leader is dead, not when the signal was
    // sent: a write it still answered in between is not a new leader's.
    while alive(pid) {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let killed = Instant::now();

    // Wait for the first write sent after the kill to be acknowledged.
    let deadline = killed + Duration::from_secs(30);
    let resumed = loop {
        let first = acks
            .lock()
            .iter()
            .filter(|(sent, _)| *sent > killed)
            .map(|(_, acked)| *acked)
            .min();
        if let Some(first) = first {
            break first.duration_since(killed);
        }
        if Instant::now() > deadline {
            stop.store(true, Ordering::SeqCst);
            bail!("no write was acknowledged within 30 s of the kill");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // A little more load, to report the rate after the failover.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        let _ = writer.await;
    }
    let acks = acks.lock();
    let rate = |from: Instant, to: Instant| {
        let n = acks.iter().filter(|(_, a)| *a >= from && *a < to).count();
        n as f64 / to.duration_since(from).as_secs_f64().max(1e-9)
    };
    let first_after = killed + resumed;
    println!(
        "{:<8} leader killed -> first new write acknowledged after {:.0} ms; \
         {:.0} writes/s before, {:.0} writes/s in the second after",
        target.name,
        resumed.as_secs_f64() * 1000.0,
        rate(killed - args.settle / 2, killed),
        rate(first_after, first_after + Duration::from_secs(1)),
    );
    Ok(())
}

/// Whether the process still runs (a zombie waiting for its parent to
/// reap it does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Which URL's member is the leader: the one whose own id is the leader
/// its `Status` reports.
async fn leader_index(urls: &[String]) -> anyhow::Result<usize> {
    for (i, url) in urls.iter().enumerate() {
        let mut client = connect(url).await?;
        let status = client
            .status()
            .await
            .with_context(|| format!("status of {url}"))?;
        let member = status.header().map_or(0, |h| h.member_id());
        if member != 0 && member == status.leader() {
            return Ok(i);
        }
    }
    bail!("no member reports itself as the leader")
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(1))
        .with_timeout(Duration::from_secs(5));
    Client::connect([url], Some(options))
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

/// One writer: puts fresh keys through a member, moving to the next member
/// when a request fails.
async fn write(urls: Vec<String>, writer: usize, acks: Acks, stop: Arc<AtomicBool>) {
    let mut member = writer % urls.len();
    let mut client: Option<Client> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if client.is_none() {
            client = connect(&urls[member]).await.ok();
        }
        let Some(c) = client.as_mut() else {
            member = (member + 1) % urls.len();
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let sent = Instant::now();
        let put = c
            .put(format!("/bench/failover/{writer}/{n}"), "v", None)
            .await;
        n += 1;
        match put {
            Ok(_) => acks.lock().push((sent, Instant::now())),
            Err(_) => {
                client = None;
                member = (member + 1) % urls.len();
            }
        }
    }
}
