//! A three-member Mars cluster of real `mars server` processes on loopback.
//! Many clients write continuously, spread over the members, and record
//! every acknowledged write; a member (the leader, then a follower) is
//! killed with SIGKILL and later restarted on its data directory, and then
//! the leader is frozen (SIGSTOP) while clients talk to it, until the others
//! have elected a new one, and thawed. Writes must resume on the survivors,
//! the frozen leader must not acknowledge anything on its own, the
//! restarted members must catch up, and at the end every acknowledged write
//! must be on every member, with the revision it was acknowledged with.
//! A third cluster partitions its leader with userspace proxies on every
//! member-to-member link while clients keep talking to it: it must not
//! acknowledge anything, the majority goes on, and after healing every
//! acknowledged write is on every member. `mars cluster` changes the
//! membership of a running cluster, and members can speak mutual TLS.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use etcd_client::{Client, ConnectOptions, GetOptions, WatchOptions};
use mars_e2e::{MarsServer, free_port};

const WRITERS: usize = 24;
const OP_TIMEOUT: Duration = Duration::from_secs(10);
const PREFIX: &str = "/raft/";

/// A free Raft port for each of members 1, 2 and 3.
fn free_raft_ports() -> anyhow::Result<BTreeMap<u64, u16>> {
    (1..=3).map(|id| Ok((id, free_port()?))).collect()
}

struct Members {
    servers: BTreeMap<u64, MarsServer>,
    raft_ports: BTreeMap<u64, u16>,
}

impl Members {
    fn start() -> anyhow::Result<Self> {
        Self::start_with(&[])
    }

    fn start_with(extra: &[String]) -> anyhow::Result<Self> {
        let raft_ports = free_raft_ports()?;
        let peers = raft_ports
            .iter()
            .map(|(id, port)| format!("{id}=127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",");
        Self::start_on(raft_ports, |_| peers.clone(), extra)
    }

    /// Starts a member per Raft port, member `id` bootstrapped with
    /// `peers_for(id)` as its `--peers`.
    fn start_on(
        raft_ports: BTreeMap<u64, u16>,
        peers_for: impl Fn(u64) -> String,
        extra: &[String],
    ) -> anyhow::Result<Self> {
        let mut servers = BTreeMap::new();
        for (&id, port) in &raft_ports {
            let flags = [
                format!("--node-id={id}"),
                format!("--raft-listen=127.0.0.1:{port}"),
                format!("--peers={}", peers_for(id)),
                format!("--name=member-{id}"),
            ];
            let flags: Vec<&str> = flags.iter().chain(extra).map(String::as_str).collect();
            servers.insert(id, MarsServer::store_only_with(&flags)?);
        }
        Ok(Self {
            servers,
            raft_ports,
        })
    }

    fn raft_addr(&self, id: u64) -> String {
        format!("127.0.0.1:{}", self.raft_ports[&id])
    }

    fn urls(&self) -> Vec<String> {
        self.servers.values().map(MarsServer::url).collect()
    }
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(1))
        .with_timeout(OP_TIMEOUT);
    Ok(Client::connect([url], Some(options)).await?)
}

/// The leader as `url`'s member reports it, once one is elected.
async fn leader(url: &str) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut client) = connect(url).await
            && let Ok(status) = client.status().await
            && status.leader() != 0
        {
            return Ok(status.leader());
        }
        if Instant::now() > deadline {
            bail!("{url} reports no leader after 20 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `url`'s member names a leader other than `old`, and
/// returns it; `what` says what failed to happen.
async fn leader_other_than(
    url: &str,
    old: u64,
    within: Duration,
    what: &str,
) -> anyhow::Result<u64> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(l) = leader(url).await
            && l != old
        {
            return Ok(l);
        }
        if Instant::now() > deadline {
            bail!("{what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes acknowledged so far: key → (value, revision).
type Acked = Arc<Mutex<BTreeMap<String, (String, i64)>>>;

/// Writers that keep putting fresh keys through every member, moving to the
/// next member when one fails, until told to stop.
struct Load {
    acked: Acked,
    stop: Arc<AtomicBool>,
    /// When each acknowledged write was sent and answered.
    times: Arc<Mutex<Vec<(Instant, Instant)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(urls: Vec<String>) -> Self {
        let acked: Acked = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let times: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
        let tasks = (0..WRITERS)
            .map(|writer| {
                let (urls, acked, stop, times) =
                    (urls.clone(), acked.clone(), stop.clone(), times.clone());
                tokio::spawn(async move {
                    let mut member = writer % urls.len();
                    let mut client = None;
                    let mut n = 0u64;
                    while !stop.load(Ordering::SeqCst) {
                        if client.is_none() {
                            client = connect(&urls[member]).await.ok();
                        }
                        let Some(c) = client.as_mut() else {
                            member = (member + 1) % urls.len();
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        };
                        let key = format!("{PREFIX}w{writer:02}/{n:06}");
                        let value = format!("{writer}-{n}");
                        n += 1;
                        let sent = Instant::now();
                        match c.put(key.clone(), value.clone(), None).await {
                            Ok(response) => {
                                let revision = response.header().map_or(0, |h| h.revision());
                                acked.lock().unwrap().insert(key, (value, revision));
                                times.lock().unwrap().push((sent, Instant::now()));
                            }
                            Err(_) => {
                                // Unknown outcome; try another member.
                                client = None;
                                member = (member + 1) % urls.len();
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        Self {
            acked,
            stop,
            times,
            tasks,
        }
    }

    fn acked_count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// When the first write sent after `since` was acknowledged.
    fn first_ack_after(&self, since: Instant) -> Option<Duration> {
        self.times
            .lock()
            .unwrap()
            .iter()
            .filter(|(sent, _)| *sent > since)
            .map(|(_, acked)| *acked)
            .min()
            .map(|t| t.duration_since(since))
    }

    async fn finish(self) -> BTreeMap<String, (String, i64)> {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            let _ = task.await;
        }
        Arc::try_unwrap(self.acked)
            .map(|m| m.into_inner().unwrap())
            .unwrap_or_else(|shared| shared.lock().unwrap().clone())
    }
}

/// A watch on the whole prefix from revision 1 that, whenever its member
/// fails, resumes on the next member from the revision after its last event
/// (as etcd's clients do).
struct Watcher {
    /// (key, mod revision) of every event, in arrival order.
    events: Arc<Mutex<Vec<(String, i64)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    fn start(urls: Vec<String>) -> Self {
        let events: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
        let seen = events.clone();
        let task = tokio::spawn(async move {
            let mut member = 1 % urls.len();
            let mut next = 1i64;
            loop {
                let Ok(mut client) = connect(&urls[member]).await else {
                    member = (member + 1) % urls.len();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let options = WatchOptions::new().with_prefix().with_start_revision(next);
                if let Ok(mut stream) = client.watch(PREFIX, Some(options)).await {
                    while let Ok(Some(response)) = stream.message().await {
                        for event in response.events() {
                            if let Some(kv) = event.kv() {
                                let key = kv.key_str().unwrap_or_default().to_string();
                                seen.lock().unwrap().push((key, kv.mod_revision()));
                                next = next.max(kv.mod_revision() + 1);
                            }
                        }
                    }
                }
                member = (member + 1) % urls.len();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self { events, task }
    }

    /// Every acknowledged write arrived exactly once, at its revision, and
    /// revisions never went backwards.
    async fn check(self, acked: &BTreeMap<String, (String, i64)>) -> anyhow::Result<()> {
        let last = acked
            .values()
            .map(|(_, revision)| *revision)
            .max()
            .unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self
            .events
            .lock()
            .unwrap()
            .last()
            .is_none_or(|(_, r)| *r < last)
        {
            if Instant::now() > deadline {
                bail!("the watch did not reach revision {last}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.task.abort();
        let events = self.events.lock().unwrap().clone();
        let mut previous = 0;
        for (key, revision) in &events {
            if *revision <= previous {
                bail!(
                    "the watch went from revision {previous} to {revision} ({key}): a duplicate or a step back"
                );
            }
            previous = *revision;
        }
        let watched: BTreeMap<&str, i64> = events.iter().map(|(k, r)| (k.as_str(), *r)).collect();
        for (key, (_, revision)) in acked {
            match watched.get(key.as_str()) {
                Some(r) if r == revision => {}
                other => bail!("{key} (revision {revision}) was watched as {other:?}"),
            }
        }
        println!(
            "the watch saw {} events, resuming across the failures",
            events.len()
        );
        Ok(())
    }
}

async fn wait_for_acks(load: &Load, more_than: usize, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while load.acked_count() <= more_than {
        if Instant::now() > deadline {
            bail!("{what}: no write acknowledged within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Every acknowledged write, read back (linearizably) from `url`.
async fn check_member(url: &str, acked: &BTreeMap<String, (String, i64)>) -> anyhow::Result<()> {
    let mut client = connect(url).await?;
    let response = client
        .get(PREFIX, Some(GetOptions::new().with_prefix()))
        .await
        .with_context(|| format!("read {url}"))?;
    let held: BTreeMap<String, (String, i64)> = response
        .kvs()
        .iter()
        .map(|kv| {
            (
                kv.key_str().unwrap().to_string(),
                (kv.value_str().unwrap().to_string(), kv.mod_revision()),
            )
        })
        .collect();
    let mut missing = 0;
    for (key, expected) in acked {
        match held.get(key) {
            Some(found) if found == expected => {}
            Some(found) => bail!("{url}: {key} is {found:?}, acknowledged as {expected:?}"),
            None => missing += 1,
        }
    }
    if missing > 0 {
        bail!(
            "{url}: {missing} of {} acknowledged writes are missing",
            acked.len()
        );
    }
    Ok(())
}

/// Kills one member while the load runs, checks writes resume, restarts it,
/// and checks it catches up. Returns how long writes stalled.
async fn kill_and_restart(
    members: &mut Members,
    load: &Load,
    victim: u64,
) -> anyhow::Result<Duration> {
    wait_for_acks(load, load.acked_count() + 200, "before the kill").await?;
    // `kill` returns once the process is reaped: the clock starts with it dead.
    members.servers.get_mut(&victim).unwrap().kill()?;
    let killed_at = Instant::now();
    let before = load.acked_count();
    wait_for_acks(load, before + 200, "after the kill").await?;
    let resumed = load.first_ack_after(killed_at).unwrap_or_default();

    let server = members.servers.get_mut(&victim).unwrap();
    server.spawn()?;
    let url = server.url();
    leader(&url)
        .await
        .context("the restarted member finds the leader")?;
    wait_for_acks(load, load.acked_count() + 200, "after the restart").await?;
    Ok(resumed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_killing_the_leader_and_a_follower() -> anyhow::Result<()> {
    let mut members = Members::start()?;
    let urls = members.urls();
    let first_leader = leader(&urls[0]).await?;
    let watcher = Watcher::start(urls.clone());
    let load = Load::start(urls.clone());

    let stalled = kill_and_restart(&mut members, &load, first_leader).await?;
    let new_leader = leader(&urls[0]).await?;
    assert_ne!(new_leader, first_leader, "a new leader was elected");
    println!("leader {first_leader} killed: first write acknowledged {stalled:?} after");
    assert!(
        stalled < Duration::from_secs(5),
        "writes resumed {stalled:?} after the leader was killed"
    );

    let follower = *members
        .servers
        .keys()
        .find(|&&id| id != new_leader)
        .unwrap();
    let stalled = kill_and_restart(&mut members, &load, follower).await?;
    println!("follower {follower} killed: first write acknowledged {stalled:?} after");

    // Freeze the leader while clients still send to it; thaw it once the
    // others have moved on: it must step down, not acknowledge on its own.
    let frozen = leader(&urls[0]).await?;
    let frozen_url = members.servers[&frozen].url();
    members.servers[&frozen].signal("STOP")?;
    let others: Vec<&String> = urls.iter().filter(|u| **u != frozen_url).collect();
    let what = format!("no new leader while {frozen} was frozen");
    leader_other_than(others[0], frozen, Duration::from_secs(20), &what).await?;
    wait_for_acks(
        &load,
        load.acked_count() + 200,
        "while the leader is frozen",
    )
    .await?;
    members.servers[&frozen].signal("CONT")?;
    // Until it hears the new term it may still think it leads.
    let what = format!("the thawed member {frozen} still thinks it leads");
    leader_other_than(&frozen_url, frozen, Duration::from_secs(10), &what).await?;
    wait_for_acks(&load, load.acked_count() + 200, "after the thaw").await?;

    let acked = load.finish().await;
    assert!(
        acked.len() > 600,
        "only {} writes were acknowledged",
        acked.len()
    );
    watcher.check(&acked).await?;
    for url in &urls {
        check_member(url, &acked).await?;
    }
    // Every member reports the same leader and is caught up.
    let mut leaders = Vec::new();
    for url in &urls {
        let status = connect(url).await?.status().await?;
        leaders.push(status.leader());
    }
    assert!(leaders.windows(2).all(|w| w[0] == w[1]), "{leaders:?}");
    let members_listed = connect(&urls[0]).await?.member_list().await?;
    assert_eq!(members_listed.members().len(), 3);
    Ok(())
}

/// Runs `mars cluster ARGS` and returns its standard output.
fn mars_cluster(args: &[&str]) -> anyhow::Result<String> {
    let output = std::process::Command::new(mars_e2e::mars_binary()?)
        .arg("cluster")
        .args(args)
        .output()?;
    if !output.status.success() {
        bail!(
            "mars cluster {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mars_cluster_adds_promotes_and_removes_members() -> anyhow::Result<()> {
    let members = Members::start()?;
    let urls = members.urls();
    leader(&urls[0]).await?;
    let mut client = connect(&urls[0]).await?;
    for n in 0..50 {
        client.put(format!("{PREFIX}m/{n}"), "v", None).await?;
    }
    let endpoint = members.raft_addr(1);

    // A fourth member starts empty and waits to be added.
    let raft_port = free_port()?;
    let flags = [
        "--node-id=4".to_string(),
        format!("--raft-listen=127.0.0.1:{raft_port}"),
        "--name=member-4".to_string(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let fourth = MarsServer::store_only_with(&flags)?;
    let added = mars_cluster(&[
        "--endpoint",
        &endpoint,
        "add",
        &format!("4=127.0.0.1:{raft_port}"),
    ])?;
    assert!(added.contains("learner"), "{added}");
    let mut learner = connect(&fourth.url()).await?;
    let seen = learner
        .get(
            format!("{PREFIX}m/"),
            Some(GetOptions::new().with_prefix().with_count_only()),
        )
        .await?;
    assert_eq!(seen.count(), 50, "the learner caught up");

    mars_cluster(&["--endpoint", &endpoint, "promote", "4"])?;
    let status = mars_cluster(&["--endpoint", &members.raft_addr(2), "remove", "3"])?;
    let rows: Vec<&str> = status.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{status}");
    assert!(rows.iter().all(|r| r.contains("voter")), "{status}");
    assert!(!status.lines().any(|l| l.starts_with("3 ")), "{status}");

    let listed = learner.member_list().await?;
    let mut ids: Vec<u64> = listed.members().iter().map(|m| m.id()).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2, 4]);
    // The new voter takes writes.
    learner.put(format!("{PREFIX}m/after"), "v", None).await?;
    Ok(())
}

/// A CA and one certificate for every member (the IP of their Raft
/// addresses, server and client use), as PEM files in `dir`.
fn peer_pki(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        SanType,
    };
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::default();
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse()?)];
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert_pem = leaf.signed_by(&key, &issuer)?.pem();
    let write = |name: &str, pem: &str| -> anyhow::Result<String> {
        let path = dir.join(name);
        std::fs::write(&path, pem)?;
        Ok(path.display().to_string())
    };
    Ok(vec![
        write("ca.pem", &ca_pem)?,
        write("member.pem", &cert_pem)?,
        write("member-key.pem", &key.serialize_pem())?,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_speak_mutual_tls_when_given_certificates() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let files = peer_pki(dir.path())?;
    let (ca, cert, key) = (&files[0], &files[1], &files[2]);
    let members = Members::start_with(&[
        format!("--peer-trusted-ca-file={ca}"),
        format!("--peer-cert-file={cert}"),
        format!("--peer-key-file={key}"),
    ])?;
    let urls = members.urls();
    leader(&urls[0]).await?;
    connect(&urls[0])
        .await?
        .put(format!("{PREFIX}tls"), "v", None)
        .await?;
    // A linearizable read on another member: a read index over TLS.
    let read = connect(&urls[2])
        .await?
        .get(format!("{PREFIX}tls"), None)
        .await?;
    assert_eq!(read.kvs().len(), 1, "replicated over TLS");

    let endpoint = members.raft_addr(1);
    let plain = std::process::Command::new(mars_e2e::mars_binary()?)
        .args(["cluster", "--endpoint", &endpoint, "status"])
        .output()?;
    assert!(!plain.status.success(), "a client without TLS is refused");
    let status = mars_cluster(&[
        "--endpoint",
        &endpoint,
        "--cacert",
        ca,
        "--cert",
        cert,
        "--key",
        key,
        "status",
    ])?;
    assert_eq!(
        status.lines().filter(|l| l.contains("voter")).count(),
        3,
        "{status}"
    );
    Ok(())
}

/// Userspace links between members: member `i` reaches member `j` through
/// its own proxy `i→j`, so traffic can be cut per direction. Each member is
/// bootstrapped with `--peers` naming its own proxies (its view of the
/// others' addresses), which openraft keeps as long as the membership does
/// not change.
struct Links {
    /// (from, to) → proxy port.
    ports: BTreeMap<(u64, u64), u16>,
    cut: Arc<Mutex<std::collections::BTreeSet<(u64, u64)>>>,
    /// Bumped on every cut, so open connections of a cut link close.
    generation: tokio::sync::watch::Sender<u64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Links {
    async fn start(raft_ports: &BTreeMap<u64, u16>) -> anyhow::Result<Self> {
        let cut: Arc<Mutex<std::collections::BTreeSet<(u64, u64)>>> = Arc::default();
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let mut ports = BTreeMap::new();
        let mut tasks = Vec::new();
        for &from in raft_ports.keys() {
            for (&to, &target) in raft_ports {
                if from == to {
                    continue;
                }
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                ports.insert((from, to), listener.local_addr()?.port());
                let (cut, generation) = (cut.clone(), generation.subscribe());
                tasks.push(tokio::spawn(async move {
                    while let Ok((mut inbound, _)) = listener.accept().await {
                        if cut.lock().unwrap().contains(&(from, to)) {
                            continue; // dropped: the connection closes
                        }
                        let (cut, mut generation) = (cut.clone(), generation.clone());
                        tokio::spawn(async move {
                            let Ok(mut outbound) =
                                tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                            else {
                                return;
                            };
                            let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                            tokio::pin!(copy);
                            loop {
                                tokio::select! {
                                    _ = &mut copy => return,
                                    changed = generation.changed() => {
                                        if changed.is_err() || cut.lock().unwrap().contains(&(from, to)) {
                                            return;
                                        }
                                    }
                                }
                            }
                        });
                    }
                }));
            }
        }
        Ok(Self {
            ports,
            cut,
            generation,
            tasks,
        })
    }

    /// `--peers` for member `id`: itself at its own port, the others
    /// through its proxies.
    fn peers_for(&self, id: u64, raft_ports: &BTreeMap<u64, u16>) -> String {
        raft_ports
            .iter()
            .map(|(&other, &port)| {
                let port = if other == id {
                    port
                } else {
                    self.ports[&(id, other)]
                };
                format!("{other}=127.0.0.1:{port}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Cuts every link to and from `id`, open connections included.
    fn isolate(&self, id: u64) {
        let mut cut = self.cut.lock().unwrap();
        for &(from, to) in self.ports.keys() {
            if from == id || to == id {
                cut.insert((from, to));
            }
        }
        drop(cut);
        self.generation.send_modify(|g| *g += 1);
    }

    fn heal(&self) {
        self.cut.lock().unwrap().clear();
        self.generation.send_modify(|g| *g += 1);
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_isolated_leader_acknowledges_nothing_and_the_cluster_heals() -> anyhow::Result<()> {
    let raft_ports = free_raft_ports()?;
    let links = Links::start(&raft_ports).await?;
    let members = Members::start_on(
        raft_ports.clone(),
        |id| links.peers_for(id, &raft_ports),
        &[],
    )?;
    let urls = members.urls();
    let old = leader(&urls[0]).await?;
    let old_url = members.servers[&old].url();

    // Clients everywhere, the isolated leader included.
    let load = Load::start(urls.clone());
    wait_for_acks(&load, 200, "before the partition").await?;
    links.isolate(old);
    let others: Vec<&String> = urls.iter().filter(|u| **u != old_url).collect();
    let what = "the majority elected no leader";
    let new = leader_other_than(others[0], old, Duration::from_secs(20), what).await?;
    let during = load.acked_count();
    wait_for_acks(&load, during + 300, "on the majority side").await?;

    // Writes straight to the isolated member are not acknowledged.
    let mut isolated = connect(&old_url).await?;
    let refused = tokio::time::timeout(
        Duration::from_secs(15),
        isolated.put(format!("{PREFIX}isolated"), "minority", None),
    )
    .await;
    assert!(
        !matches!(refused, Ok(Ok(_))),
        "the isolated member acknowledged a write: {refused:?}"
    );

    links.heal();
    let what = format!("the healed member {old} still thinks it leads");
    leader_other_than(&old_url, old, Duration::from_secs(20), &what).await?;
    wait_for_acks(&load, load.acked_count() + 200, "after healing").await?;
    let acked = load.finish().await;
    assert!(
        !acked.contains_key(&format!("{PREFIX}isolated")),
        "the refused write was recorded as acknowledged"
    );
    for url in &urls {
        check_member(url, &acked).await?;
    }
    println!(
        "leader {old} isolated, {new} took over; {} acknowledged writes on every member",
        acked.len()
    );
    Ok(())
}
