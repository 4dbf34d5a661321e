//! `mars bench api`: drives a Kubernetes API server (Mars or a real
//! kube-apiserver: anything a kubeconfig reaches) with the same ConfigMap
//! load and prints one table of figures beside Mars's targets, then the
//! Kubernetes scalability SLOs for context.
//!
//! In order, in a fresh namespace `bench-<random>` (deleted at the end):
//! `--objects` creates, then one update of each, with `--clients` requests in
//! flight; GETs one at a time and with `--clients` in flight; full LISTs from
//! the store (`resourceVersion` unset) and from the watch cache
//! (`resourceVersion=0`); `--watchers` watches that each receive one event
//! (latency from the write's acknowledgement to receipt). With a server
//! process to look at (`--server-pid`, or `--spawn-mars`), its resident
//! memory idle and after filling the namespace to `--rss-objects`. With
//! `--spawn-mars` the benchmark starts the server itself on a new data
//! directory, times process start to `/readyz` answering 200 (fresh, and
//! again on restart with everything stored), and stops it at the end.

mod client;
mod crd;
pub(crate) mod server;

use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, ensure};
use hdrhistogram::Histogram;
use http::{Method, StatusCode};

use client::Api;
use server::{Memory, Spawned};

use crate::bench::{drive, micros, new_histogram};

#[derive(Debug, clap::Args)]
pub struct ApiBenchArgs {
    /// Kubeconfig of the API server to drive (Mars's is DATA_DIR/kubeconfig.yaml).
    #[arg(long, required_unless_present = "spawn_mars")]
    pub kubeconfig: Option<PathBuf>,
    /// Context of the kubeconfig to use (default: its current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Start this `mars` binary as `mars server` on a new data directory,
    /// time its start to ready, drive it, and stop it at the end.
    #[arg(long, value_name = "PATH_TO_BINARY", conflicts_with_all = ["kubeconfig", "context", "server_pid"])]
    pub spawn_mars: Option<PathBuf>,
    /// Where `--spawn-mars` puts its data directory (default: the temp dir).
    /// Use a real disk: on tmpfs fsync costs nothing.
    #[arg(long, requires = "spawn_mars")]
    pub spawn_dir: Option<PathBuf>,
    /// The API server's process id, to read its memory from /proc/PID/status.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Requests in flight for creates, updates and concurrent GETs.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Independent clients the requests are spread over: HTTP/2
    /// connections, or kube-rs clients (each keeps its own pool of HTTP/1.1
    /// connections, one per request in flight).
    #[arg(long, default_value_t = 8)]
    pub conns: usize,
    /// How to talk to the server. `http2`: HTTP/2 as client-go speaks it,
    /// requests multiplexed over --conns connections (client certificates and
    /// bearer tokens only). `kube`: kube-rs's client, HTTP/1.1, any
    /// authentication kube-rs knows. `auto`: http2 when the kubeconfig allows.
    #[arg(long, value_enum, default_value = "auto")]
    pub transport: client::Choice,
    /// ConfigMaps created, then updated; the LISTs read them all.
    #[arg(long, default_value_t = 10_000)]
    pub objects: u64,
    /// Bytes of data in each ConfigMap.
    #[arg(long, default_value_t = 128)]
    pub value_size: usize,
    /// GETs one at a time.
    #[arg(long, default_value_t = 2_000)]
    pub gets: u64,
    /// GETs with --clients in flight.
    #[arg(long, default_value_t = 20_000)]
    pub concurrent_gets: u64,
    /// Timed full LISTs from each source (after one untimed one).
    #[arg(long, default_value_t = 10)]
    pub lists: u32,
    /// Concurrent watchers, each receiving one event.
    #[arg(long, default_value_t = 1_000)]
    pub watchers: usize,
    /// ConfigMaps in the namespace when memory is read under load (needs a
    /// server process: --server-pid or --spawn-mars).
    #[arg(long, default_value_t = 100_000)]
    pub rss_objects: u64,
    /// Phases to run, besides the creates everything else needs.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "update,get,list,watch,crd,fill,restart"
    )]
    pub phases: Vec<Phase>,
    /// Custom objects the `crd` phase creates.
    #[arg(long, default_value_t = 2_000)]
    pub crd_objects: u64,
    /// Keep the namespace (or the spawned server's data directory).
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// One PUT of each created object (with its resourceVersion).
    Update,
    /// GETs of random objects, sequential then concurrent.
    Get,
    /// Full LISTs from the store and from the cache.
    List,
    /// Concurrent watchers, one event each.
    Watch,
    /// Create up to --rss-objects and read the server's memory.
    Fill,
    /// Restart the spawned server with everything stored; time it to ready.
    Restart,
    /// A Prometheus-sized CRD: create to Established to first object, then
    /// --crd-objects creates of its objects.
    Crd,
}

// Mars's targets on the project's 2-core machine.
/// The API server alone: what these figures are about.
const API_ONLY: &[&str] = &[
    "--controllers=",
    "--disable-scheduler",
    "--simulate-nodes=0",
];

const TARGET_CREATES_PER_SEC: f64 = 5_000.0;
const TARGET_GET_P99_MS: f64 = 2.0;
const TARGET_LIST_MS: f64 = 100.0;
const TARGET_WATCH_P99_MS: f64 = 50.0;
const TARGET_IDLE_RSS_MB: f64 = 60.0;
const TARGET_READY_SECS: f64 = 0.5;
/// A Prometheus-sized CRD is usable within a second of its creation.
const TARGET_CRD_USABLE_SECS: f64 = 1.0;

/// GETs (with --clients in flight) that open connections before measuring.
const WARMUP_GETS: u64 = 1_000;
/// How long watchers that have not had their event yet wait after the write.
const WATCH_GRACE: Duration = Duration::from_secs(10);
/// Watches being opened at once (the rest wait): opening is not measured.
const WATCH_OPENING: usize = 64;

pub async fn api(args: ApiBenchArgs) -> anyhow::Result<()> {
    // kube-rs's rustls needs a process-wide provider; the build has only ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    ensure!(args.clients > 0, "--clients must be at least 1");
    ensure!(args.objects > 0, "--objects must be at least 1");
    ensure!(args.conns > 0, "--conns must be at least 1");

    let mut report = Report::default();
    let mut spawned = None;
    let kubeconfig = match &args.spawn_mars {
        Some(binary) => {
            let base = args.spawn_dir.clone().unwrap_or_else(std::env::temp_dir);
            eprintln!(
                "== starting {} server on a new data directory",
                binary.display()
            );
            let (server, ready) = Spawned::start(binary, &base, args.keep, API_ONLY).await?;
            eprintln!(
                "   ready in {:.3} s (pid {})",
                ready.as_secs_f64(),
                server.pid
            );
            report.ready = Some(ready);
            let kubeconfig = server.kubeconfig();
            spawned = Some(server);
            kubeconfig
        }
        None => args
            .kubeconfig
            .clone()
            .context("--kubeconfig or --spawn-mars is required")?,
    };
    let pid = spawned.as_ref().map(|s| s.pid).or(args.server_pid);
    if let Some(pid) = pid {
        report.idle = Some(server::memory(pid)?);
    }

    let api = Api::from_kubeconfig(
        &kubeconfig,
        args.context.as_deref(),
        args.conns,
        args.transport,
    )
    .await?;
    let mut bench = Bench {
        api: Arc::new(api),
        namespace: format!("bench-{:06x}", random_u64() & 0xff_ffff),
        payload: "x".repeat(args.value_size),
        kubeconfig,
        clients: args.clients,
    };
    println!("{}", describe(&args, &bench, pid, spawned.is_some()));

    let outcome = bench.run(&args, &mut report, spawned.as_mut(), pid).await;
    if let Err(error) = &outcome {
        eprintln!("   stopped early: {error:#}");
    }
    match spawned {
        // Its data directory goes with it: no need to delete objects.
        Some(server) => {
            if let Err(error) = server.finish().await {
                eprintln!("   cannot stop the server cleanly: {error:#}");
            }
        }
        None if args.keep => eprintln!("   kept namespace {}", bench.namespace),
        None => match bench.cleanup().await {
            Ok(took) => report.cleanup = Some(took),
            Err(error) => eprintln!("   cannot delete namespace {}: {error:#}", bench.namespace),
        },
    }
    println!();
    print!("{}", report.table(&args));
    println!();
    print!("{}", report.slos());
    outcome
}

/// One line per setting, so the printed figures say what was run.
fn describe(args: &ApiBenchArgs, bench: &Bench, pid: Option<u32>, spawned: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mars bench api");
    let _ = writeln!(
        out,
        "  server:     {} (kubeconfig {}){}",
        bench.api.url,
        bench.kubeconfig.display(),
        match (pid, spawned) {
            (Some(pid), true) => format!(", pid {pid}, started by the benchmark"),
            (Some(pid), false) => format!(", pid {pid}"),
            (None, _) => String::new(),
        }
    );
    let _ = writeln!(
        out,
        "  load:       {} requests in flight over {}; ConfigMaps with {} B of data in namespace {}",
        args.clients,
        if bench.api.http2() {
            format!("{} HTTP/2 connections", args.conns)
        } else {
            format!(
                "{} kube-rs clients (HTTP/1.1, a connection per request in flight)",
                args.conns
            )
        },
        args.value_size,
        bench.namespace
    );
    let _ = write!(
        out,
        "  sizes:      {} creates + updates; {} sequential and {} concurrent GETs; {} LISTs per source; {} watchers; memory at {} objects",
        args.objects, args.gets, args.concurrent_gets, args.lists, args.watchers, args.rss_objects
    );
    out
}

/// What the workloads share.
struct Bench {
    api: Arc<Api>,
    namespace: String,
    payload: String,
    kubeconfig: PathBuf,
    clients: usize,
}

/// What a workload's requests need, cheap to share between tasks.
#[derive(Clone)]
struct Ctx {
    api: Arc<Api>,
    namespace: Arc<str>,
    payload: Arc<str>,
}

impl Ctx {
    fn collection(&self) -> String {
        format!("/api/v1/namespaces/{}/configmaps", self.namespace)
    }

    fn object(&self, name: &str) -> String {
        format!("/api/v1/namespaces/{}/configmaps/{name}", self.namespace)
    }

    fn configmap(&self, name: &str, resource_version: Option<&str>, round: u32) -> Vec<u8> {
        configmap(name, resource_version, round, &self.payload)
    }

    /// Creates `name`; returns its resourceVersion.
    async fn create(&self, lane: usize, name: &str) -> anyhow::Result<String> {
        let body = self
            .api
            .expect(
                lane,
                Method::POST,
                &self.collection(),
                Some(self.configmap(name, None, 0)),
                StatusCode::CREATED,
            )
            .await?;
        resource_version(&body)
    }
}

/// A small ConfigMap; with a resourceVersion, for an update.
fn configmap(name: &str, resource_version: Option<&str>, round: u32, payload: &str) -> Vec<u8> {
    let version = resource_version
        .map(|rv| format!(r#","resourceVersion":"{rv}""#))
        .unwrap_or_default();
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","labels":{{"app":"mars-bench"}}{version}}},"data":{{"round":"{round}","value":"{payload}"}}}}"#
    )
    .into_bytes()
}

fn object_name(index: u64) -> String {
    format!("cm-{index:06}")
}

fn resource_version(body: &[u8]) -> anyhow::Result<String> {
    let object: serde_json::Value = serde_json::from_slice(body).context("answer is not JSON")?;
    object["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_owned)
        .context("answer has no metadata.resourceVersion")
}

impl Bench {
    fn ctx(&self) -> Ctx {
        Ctx {
            api: Arc::clone(&self.api),
            namespace: Arc::from(self.namespace.as_str()),
            payload: Arc::from(self.payload.as_str()),
        }
    }

    async fn run(
        &mut self,
        args: &ApiBenchArgs,
        report: &mut Report,
        spawned: Option<&mut Spawned>,
        pid: Option<u32>,
    ) -> anyhow::Result<()> {
        let wants = |phase| args.phases.contains(&phase);
        let ctx = self.ctx();
        eprintln!("== namespace {}", self.namespace);
        let namespace = format!(
            r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{}","labels":{{"app":"mars-bench"}}}}}}"#,
            self.namespace
        );
        self.api
            .expect(
                0,
                Method::POST,
                "/api/v1/namespaces",
                Some(namespace.into_bytes()),
                StatusCode::CREATED,
            )
            .await
            .context("cannot create the benchmark's namespace")?;

        // Warm-up: every lane's connections, and the server's read path.
        let warm = ctx.clone();
        let namespace_uri = format!("/api/v1/namespaces/{}", self.namespace);
        let warmup = metered(
            pid,
            run_ops(self.clients, WARMUP_GETS, move |lane, _| {
                let ctx = warm.clone();
                let uri = namespace_uri.clone();
                async move {
                    ctx.api
                        .expect(lane, Method::GET, &uri, None, StatusCode::OK)
                        .await
                        .map(drop)
                }
            }),
        )
        .await?;
        progress("warm-up", &warmup);

        // Creates: the fixture for everything after, so always run.
        let versions: Arc<Vec<OnceLock<String>>> =
            Arc::new((0..args.objects).map(|_| OnceLock::new()).collect());
        let (create_ctx, create_versions) = (ctx.clone(), Arc::clone(&versions));
        let create = metered(
            pid,
            run_ops(self.clients, args.objects, move |lane, i| {
                let (ctx, versions) = (create_ctx.clone(), Arc::clone(&create_versions));
                async move {
                    let version = ctx.create(lane, &object_name(i)).await?;
                    let _ = versions[i as usize].set(version);
                    Ok(())
                }
            }),
        )
        .await?;
        progress("create", &create);
        ensure!(
            create.errors == 0,
            "{} of {} creates failed",
            create.errors,
            args.objects
        );
        report.create = Some(create);

        if wants(Phase::Update) {
            let (update_ctx, versions) = (ctx.clone(), Arc::clone(&versions));
            let update = metered(
                pid,
                run_ops(self.clients, args.objects, move |lane, i| {
                    let (ctx, versions) = (update_ctx.clone(), Arc::clone(&versions));
                    async move {
                        let name = object_name(i);
                        let version = versions[i as usize].get().map(String::as_str);
                        ctx.api
                            .expect(
                                lane,
                                Method::PUT,
                                &ctx.object(&name),
                                Some(ctx.configmap(&name, version, 1)),
                                StatusCode::OK,
                            )
                            .await
                            .map(drop)
                    }
                }),
            )
            .await?;
            progress("update", &update);
            report.update = Some(update);
        }

        if wants(Phase::Get) {
            let objects = args.objects;
            let get = |ctx: Ctx| {
                move |lane: usize, i: u64| {
                    let ctx = ctx.clone();
                    async move {
                        let uri = ctx.object(&object_name(mix(i) % objects));
                        ctx.api
                            .expect(lane, Method::GET, &uri, None, StatusCode::OK)
                            .await
                            .map(drop)
                    }
                }
            };
            let sequential = metered(pid, run_ops(1, args.gets, get(ctx.clone()))).await?;
            progress("get", &sequential);
            report.get_sequential = Some(sequential);
            let concurrent = metered(
                pid,
                run_ops(self.clients, args.concurrent_gets, get(ctx.clone())),
            )
            .await?;
            progress("get", &concurrent);
            report.get_concurrent = Some(concurrent);
        }

        if wants(Phase::List) {
            for from_cache in [false, true] {
                let lists = list(&ctx, pid, from_cache, args.lists).await?;
                eprintln!(
                    "   list   from {:<5} {:>6} items {:>5.1} MB  p50 {:.1} ms  max {:.1} ms  {} errors",
                    if from_cache { "cache" } else { "store" },
                    lists.items,
                    lists.bytes as f64 / 1e6,
                    ms(&lists.latency, 0.5),
                    ms(&lists.latency, 1.0),
                    lists.errors
                );
                if from_cache {
                    report.list_cache = Some(lists);
                } else {
                    report.list_store = Some(lists);
                }
            }
        }

        if wants(Phase::Watch) && args.watchers > 0 {
            let watched = watch(&ctx, args.watchers).await?;
            eprintln!(
                "   watch  @{:<5} {} received, {} before the ack, {} errors; opened in {:.2} s; p50 {:.2} ms  p99 {:.2} ms",
                watched.watchers,
                watched.received,
                watched.before_ack,
                watched.errors,
                watched.opening.as_secs_f64(),
                ms(&watched.from_ack, 0.5),
                ms(&watched.from_ack, 0.99)
            );
            report.watch = Some(watched);
        }

        if wants(Phase::Crd) {
            let run = crd::run(&self.api, &self.namespace, self.clients, args.crd_objects).await?;
            eprintln!(
                "   crd    {:.0} KB, {} schema nodes: created {:.3} s, Established {:.3} s, first object {:.3} s",
                run.bytes as f64 / 1e3,
                run.nodes,
                run.created.as_secs_f64(),
                run.established.as_secs_f64(),
                run.first_object.as_secs_f64()
            );
            progress("crd objects", &run.creates);
            report.crd = Some(run);
        }

        if let Some(pid) = pid
            && wants(Phase::Fill)
        {
            if args.rss_objects > args.objects {
                let fill_ctx = ctx.clone();
                let first = args.objects;
                let fill = metered(
                    Some(pid),
                    run_ops(self.clients, args.rss_objects - first, move |lane, i| {
                        let ctx = fill_ctx.clone();
                        async move { ctx.create(lane, &object_name(first + i)).await.map(drop) }
                    }),
                )
                .await?;
                progress("fill", &fill);
                report.fill = Some(fill);
            }
            // Let writes in flight settle before reading.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let memory = server::memory(pid)?;
            eprintln!(
                "   memory with {} objects: {:.1} MB (peak {:.1} MB)",
                args.rss_objects.max(args.objects),
                mb(memory.rss),
                mb(memory.peak)
            );
            report.loaded = Some((args.rss_objects.max(args.objects), memory));
        }

        if let Some(server) = spawned
            && wants(Phase::Restart)
        {
            eprintln!("== restarting the server on the same data");
            let ready = server.restart().await?;
            let memory = server::memory(server.pid)?;
            let objects = if wants(Phase::Fill) {
                args.rss_objects.max(args.objects)
            } else {
                args.objects
            };
            eprintln!(
                "   ready in {:.3} s with {objects} objects; {:.1} MB",
                ready.as_secs_f64(),
                mb(memory.rss)
            );
            report.restart = Some((objects, ready, memory));
            // The new process listens on a new port.
            self.api = Arc::new(
                Api::from_kubeconfig(&server.kubeconfig(), None, 1, client::Choice::Kube).await?,
            );
        }
        Ok(())
    }

    /// Deletes the namespace's ConfigMaps (servers without a namespace
    /// controller would keep them), then the namespace.
    async fn cleanup(&self) -> anyhow::Result<Duration> {
        eprintln!("== deleting namespace {}", self.namespace);
        let ctx = self.ctx();
        let started = Instant::now();
        ctx.api
            .expect(0, Method::DELETE, &ctx.collection(), None, StatusCode::OK)
            .await?;
        let took = started.elapsed();
        let uri = format!("/api/v1/namespaces/{}", self.namespace);
        let reply = ctx.api.send(0, Method::DELETE, &uri, None).await?;
        ensure!(
            matches!(reply.status, StatusCode::OK | StatusCode::ACCEPTED),
            "{}",
            client::failure(&Method::DELETE, &uri, &reply)
        );
        Ok(took)
    }
}

/// What one request-response workload measured.
pub(crate) struct Run {
    clients: usize,
    ops: u64,
    errors: u64,
    elapsed: Duration,
    /// Latencies of successful requests, in microseconds.
    latency: Histogram<u64>,
    cpu: Option<Cpu>,
}

impl Run {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// CPU time used by the server (when its process is known) and by this
/// benchmark, which shares the machine with it.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    server: Option<Duration>,
    client: Duration,
}

impl Cpu {
    fn now(pid: Option<u32>) -> Self {
        Self {
            server: pid.and_then(|pid| server::cpu(pid).ok()),
            client: server::cpu(std::process::id()).unwrap_or_default(),
        }
    }

    /// The CPU used since `self` was read.
    fn since(self, pid: Option<u32>) -> Self {
        let now = Self::now(pid);
        Self {
            server: now
                .server
                .zip(self.server)
                .map(|(now, then)| now.saturating_sub(then)),
            client: now.client.saturating_sub(self.client),
        }
    }

    /// `server 41 µs, client 23 µs` of CPU per operation (/proc counts
    /// in 10 ms ticks: short runs are coarse).
    fn per_op(self, ops: u64) -> String {
        let per = |cpu: Duration| {
            let micros = cpu.as_secs_f64() * 1e6 / ops.max(1) as f64;
            if micros >= 10_000.0 {
                format!("{:.0} ms", micros / 1000.0)
            } else {
                format!("{micros:.0} µs")
            }
        };
        match self.server {
            Some(server) => format!(
                "CPU/op: server {}, client {}",
                per(server),
                per(self.client)
            ),
            None => format!("CPU/op: client {}", per(self.client)),
        }
    }
}

/// Runs `run_ops` and notes the CPU it cost.
async fn metered(
    pid: Option<u32>,
    run: impl Future<Output = anyhow::Result<Run>>,
) -> anyhow::Result<Run> {
    let before = Cpu::now(pid);
    let mut run = run.await?;
    run.cpu = Some(before.since(pid));
    Ok(run)
}

fn progress(name: &str, run: &Run) {
    eprintln!(
        "   {name:<6} @{:<4} {:>7} ops {:>4} errors {:>10.1} ops/s  p50 {:.2} ms  p99 {:.2} ms",
        run.clients,
        run.ops,
        run.errors,
        run.per_sec(),
        ms(&run.latency, 0.5),
        ms(&run.latency, 0.99)
    );
}

/// Runs `ops` calls of `op(lane, i)` with `clients` in flight.
pub(crate) async fn run_ops<F, Fut>(clients: usize, ops: u64, op: F) -> anyhow::Result<Run>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let (measured, first_error) = drive(clients, ops, op).await?;
    if let Some(error) = first_error {
        eprintln!("   {} errors, first: {error:#}", measured.errors);
    }
    Ok(Run {
        clients,
        ops: measured.latency.len(),
        errors: measured.errors,
        elapsed: measured.elapsed,
        latency: measured.latency,
        cpu: None,
    })
}

/// Timed full LISTs of one source.
struct Lists {
    items: usize,
    bytes: usize,
    errors: u64,
    latency: Histogram<u64>,
    /// Over the timed LISTs.
    cpu: Option<Cpu>,
}

/// One untimed LIST (to count its items), then `count` timed ones.
async fn list(ctx: &Ctx, pid: Option<u32>, from_cache: bool, count: u32) -> anyhow::Result<Lists> {
    let uri = if from_cache {
        format!("{}?resourceVersion=0", ctx.collection())
    } else {
        ctx.collection()
    };
    let first = ctx
        .api
        .expect(0, Method::GET, &uri, None, StatusCode::OK)
        .await?;
    let parsed: serde_json::Value = serde_json::from_slice(&first).context("LIST is not JSON")?;
    let items = parsed["items"].as_array().map_or(0, Vec::len);
    let mut lists = Lists {
        items,
        bytes: first.len(),
        errors: 0,
        latency: new_histogram(),
        cpu: None,
    };
    let before = Cpu::now(pid);
    for _ in 0..count {
        let sent = Instant::now();
        match ctx
            .api
            .expect(0, Method::GET, &uri, None, StatusCode::OK)
            .await
        {
            Ok(_) => lists.latency.saturating_record(micros(sent.elapsed())),
            Err(error) => {
                lists.errors += 1;
                eprintln!("   list failed: {error:#}");
            }
        }
    }
    lists.cpu = Some(before.since(pid));
    Ok(lists)
}

/// What the watch run measured.
struct Watched {
    watchers: usize,
    received: u64,
    /// Events that arrived before the write's answer did.
    before_ack: u64,
    errors: u64,
    /// Time to open every watch (not a target; for context).
    opening: Duration,
    /// How long the watched write took to be answered.
    write: Duration,
    /// Write acknowledged -> event received, microseconds (0 if earlier).
    from_ack: Histogram<u64>,
    /// Write sent -> event received, microseconds.
    from_sent: Histogram<u64>,
}

/// Opens `watchers` watches on one (not yet existing) ConfigMap, creates
/// it, and times each watcher's ADDED event against the create's answer.
async fn watch(ctx: &Ctx, watchers: usize) -> anyhow::Result<Watched> {
    const NAME: &str = "watch-target";
    let uri = format!(
        "{}?watch=true&fieldSelector=metadata.name%3D{NAME}&timeoutSeconds=600",
        ctx.collection()
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(WATCH_OPENING));
    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel(watchers);
    let opening = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..watchers {
        let (ctx, uri, gate, opened) = (
            ctx.clone(),
            uri.clone(),
            Arc::clone(&gate),
            opened_tx.clone(),
        );
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await?;
            let stream = ctx.api.stream(lane, &uri).await;
            drop(permit);
            let mut lines = match stream {
                Ok(lines) => {
                    let _ = opened.send(Ok(())).await;
                    lines
                }
                Err(error) => {
                    let message = format!("{error:#}");
                    let _ = opened.send(Err(error)).await;
                    return Err(anyhow!("watch not opened: {message}"));
                }
            };
            drop(opened);
            loop {
                let line = lines.next().await?.context("the watch ended")?;
                let received = Instant::now();
                let event: serde_json::Value =
                    serde_json::from_slice(&line).context("watch event is not JSON")?;
                match event["type"].as_str() {
                    Some("ADDED" | "MODIFIED") => return Ok(received),
                    Some("ERROR") => anyhow::bail!("watch error: {}", event["object"]),
                    _ => {} // BOOKMARK
                }
            }
        });
    }
    drop(opened_tx);
    let mut errors = 0u64;
    while let Some(opened) = opened_rx.recv().await {
        if let Err(error) = opened {
            if errors == 0 {
                eprintln!("   watch failed to open: {error:#}");
            }
            errors += 1;
        }
    }
    let opening = opening.elapsed();
    // The server answered every watch's headers, so each is registered.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let sent = Instant::now();
    ctx.create(0, NAME)
        .await
        .context("the watched write failed")?;
    let acked = Instant::now();
    let mut watched = Watched {
        watchers,
        received: 0,
        before_ack: 0,
        errors,
        opening,
        write: acked - sent,
        from_ack: new_histogram(),
        from_sent: new_histogram(),
    };
    let deadline = tokio::time::Instant::from_std(acked + WATCH_GRACE);
    let mut first_error = None;
    loop {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(joined)) => match joined.context("watcher panicked")? {
                Ok(received) => {
                    watched.received += 1;
                    if received < acked {
                        watched.before_ack += 1;
                    }
                    watched
                        .from_ack
                        .saturating_record(micros(received.saturating_duration_since(acked)));
                    watched
                        .from_sent
                        .saturating_record(micros(received.saturating_duration_since(sent)));
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            },
            Ok(None) => break,
            Err(_) => {
                eprintln!(
                    "   {} watchers had no event {WATCH_GRACE:?} after the write",
                    tasks.len()
                );
                tasks.abort_all();
                break;
            }
        }
    }
    watched.errors = watchers as u64 - watched.received;
    if let Some(error) = first_error {
        eprintln!("   watch error: {error:#}");
    }
    Ok(watched)
}

/// Everything measured; printed as one table.
#[derive(Default)]
struct Report {
    ready: Option<Duration>,
    idle: Option<Memory>,
    create: Option<Run>,
    update: Option<Run>,
    get_sequential: Option<Run>,
    get_concurrent: Option<Run>,
    list_store: Option<Lists>,
    list_cache: Option<Lists>,
    watch: Option<Watched>,
    fill: Option<Run>,
    /// Objects stored, and the memory then.
    loaded: Option<(u64, Memory)>,
    /// Objects stored, start-to-ready, memory once ready.
    restart: Option<(u64, Duration, Memory)>,
    /// Time to delete the namespace's ConfigMaps.
    cleanup: Option<Duration>,
    crd: Option<crd::CrdRun>,
}

/// One line of the table.
struct Line {
    measure: String,
    result: String,
    target: String,
    met: Option<bool>,
    detail: String,
}

impl Line {
    fn new(measure: impl Into<String>, result: impl Into<String>) -> Self {
        Self {
            measure: measure.into(),
            result: result.into(),
            target: String::new(),
            met: None,
            detail: String::new(),
        }
    }

    fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

impl Report {
    fn lines(&self, args: &ApiBenchArgs) -> Vec<Line> {
        let mut lines = Vec::new();
        if let Some(ready) = self.ready {
            let secs = ready.as_secs_f64();
            lines.push(
                Line::new("ready: start -> /readyz 200", format!("{secs:.3} s"))
                    .target(format!("< {TARGET_READY_SECS} s"), secs < TARGET_READY_SECS)
                    .detail("new data directory (first start makes the PKI)"),
            );
        }
        if let Some(idle) = self.idle {
            lines.push(
                Line::new("RSS idle", format!("{:.1} MB", mb(idle.rss)))
                    .target(
                        format!("< {TARGET_IDLE_RSS_MB} MB"),
                        mb(idle.rss) < TARGET_IDLE_RSS_MB,
                    )
                    .detail(format!("peak so far {:.1} MB", mb(idle.peak))),
            );
        }
        if let Some(run) = &self.create {
            lines.push(
                Line::new(format!("create @{}", run.clients), rate(run))
                    .target(
                        format!(">= {TARGET_CREATES_PER_SEC} /s"),
                        run.per_sec() >= TARGET_CREATES_PER_SEC,
                    )
                    .detail(run_detail(run)),
            );
        }
        if let Some(run) = &self.update {
            lines.push(
                Line::new(format!("update @{}", run.clients), rate(run)).detail(run_detail(run)),
            );
        }
        for run in [&self.get_sequential, &self.get_concurrent]
            .into_iter()
            .flatten()
        {
            let p99 = ms(&run.latency, 0.99);
            lines.push(
                Line::new(format!("GET @{} p99", run.clients), format!("{p99:.2} ms"))
                    .target(format!("< {TARGET_GET_P99_MS} ms"), p99 < TARGET_GET_P99_MS)
                    .detail(format!(
                        "p50 {:.2} ms; {}/s, {} ok, {} errors{}",
                        ms(&run.latency, 0.5),
                        round(run.per_sec()),
                        run.ops,
                        run.errors,
                        cpu_detail(run.cpu, run.ops)
                    )),
            );
        }
        for (lists, source) in [
            (&self.list_store, "store, rv unset"),
            (&self.list_cache, "cache, rv=0"),
        ] {
            let Some(lists) = lists else { continue };
            let p50 = ms(&lists.latency, 0.5);
            lines.push(
                Line::new(
                    format!("LIST {} ({source}) p50", lists.items),
                    format!("{p50:.1} ms"),
                )
                .target(format!("< {TARGET_LIST_MS} ms"), p50 < TARGET_LIST_MS)
                .detail(format!(
                    "max {:.1} ms of {}; {:.1} MB each, {} errors{}",
                    ms(&lists.latency, 1.0),
                    lists.latency.len(),
                    lists.bytes as f64 / 1e6,
                    lists.errors,
                    lists
                        .cpu
                        .map(|cpu| format!("; {}", cpu.per_op(lists.latency.len())))
                        .unwrap_or_default()
                )),
            );
        }
        if let Some(crd) = &self.crd {
            let usable = crd.first_object.as_secs_f64();
            lines.push(
                Line::new("CRD usable (Prometheus-sized)", format!("{usable:.3} s"))
                    .target(format!("< {TARGET_CRD_USABLE_SECS} s"), usable < TARGET_CRD_USABLE_SECS)
                    .detail(format!(
                        "{:.0} KB, {} schema nodes; POST 201 {:.3} s, Established {:.3} s, first object created and read {:.3} s",
                        crd.bytes as f64 / 1e3,
                        crd.nodes,
                        crd.created.as_secs_f64(),
                        crd.established.as_secs_f64(),
                        usable
                    )),
            );
            let run = &crd.creates;
            lines.push(
                Line::new(format!("custom object create @{}", run.clients), rate(run)).detail(
                    format!("validated against that schema; {}", run_detail(run)),
                ),
            );
        }
        if let Some(watched) = &self.watch {
            let p99 = ms(&watched.from_ack, 0.99);
            lines.push(
                Line::new(format!("watch @{} p99", watched.watchers), format!("{p99:.2} ms"))
                    .target(
                        format!("< {TARGET_WATCH_P99_MS} ms"),
                        p99 < TARGET_WATCH_P99_MS && watched.errors == 0,
                    )
                    .detail(format!(
                        "write ack -> event; p50 {:.2}, max {:.2} ms; {}/{} received, {} before the ack (the write took {:.2} ms); from write sent: p99 {:.2} ms",
                        ms(&watched.from_ack, 0.5),
                        ms(&watched.from_ack, 1.0),
                        watched.received,
                        watched.watchers,
                        watched.before_ack,
                        watched.write.as_secs_f64() * 1000.0,
                        ms(&watched.from_sent, 0.99),
                    )),
            );
        }
        if let Some(run) = &self.fill {
            lines.push(
                Line::new(format!("create @{} (fill)", run.clients), rate(run))
                    .detail(run_detail(run)),
            );
        }
        if let Some((objects, memory)) = self.loaded {
            lines.push(
                Line::new(
                    format!("RSS with {objects} objects"),
                    format!("{:.1} MB", mb(memory.rss)),
                )
                .detail(format!("peak {:.1} MB", mb(memory.peak))),
            );
        }
        if let Some((objects, ready, memory)) = self.restart {
            lines.push(
                Line::new(
                    format!("ready: restart with {objects} objects"),
                    format!("{:.3} s", ready.as_secs_f64()),
                )
                .detail(format!("RSS then {:.1} MB", mb(memory.rss))),
            );
        }
        if let Some(took) = self.cleanup {
            lines.push(
                Line::new("delete collection", format!("{:.2} s", took.as_secs_f64()))
                    .detail("every ConfigMap of the namespace, one request"),
            );
        }
        if args.spawn_mars.is_none() && args.server_pid.is_none() {
            lines.push(
                Line::new("RSS", "-").detail("not measured: give --server-pid or --spawn-mars"),
            );
        }
        lines
    }

    fn table(&self, args: &ApiBenchArgs) -> String {
        let lines = self.lines(args);
        let width = |f: fn(&Line) -> usize, title: &str| {
            lines.iter().map(f).max().unwrap_or(0).max(title.len())
        };
        let measure_width = width(|l| l.measure.len(), "measure");
        let result_width = width(|l| l.result.len(), "result");
        let target_width = width(|l| l.target.chars().count(), "target");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<measure_width$}  {:>result_width$}  {:<target_width$}  {:<4} detail",
            "measure", "result", "target", "met"
        );
        for line in &lines {
            let met = match line.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            let _ = writeln!(
                out,
                "{:<measure_width$}  {:>result_width$}  {:<target_width$}  {met:<4} {}",
                line.measure, line.result, line.target, line.detail
            );
        }
        out
    }

    /// Kubernetes's own scalability SLOs (kubernetes/community,
    /// sig-scalability/slos), beside what this run measured.
    fn slos(&self) -> String {
        let p99 = |run: &Option<Run>| {
            run.as_ref().map_or("-".to_owned(), |run| {
                format!("{:.2} ms", ms(&run.latency, 0.99))
            })
        };
        let list_max = |lists: &Option<Lists>| {
            lists
                .as_ref()
                .map_or("-".to_owned(), |l| format!("{:.1} ms", ms(&l.latency, 1.0)))
        };
        let watch = self.watch.as_ref().map_or("-".to_owned(), |w| {
            format!(
                "{:.2} ms after the write's answer, {:.2} ms after it was sent",
                ms(&w.from_ack, 0.99),
                ms(&w.from_sent, 0.99)
            )
        });
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Kubernetes scalability SLOs, for context (SIG Scalability, kubernetes/community sig-scalability/slos;"
        );
        let _ = writeln!(
            out,
            "p99 per cluster-day, from the apiserver receiving a request to the last byte of its response):"
        );
        let _ = writeln!(
            out,
            "  mutating API calls for single objects (POST, PUT, PATCH, DELETE)   p99 <= 1 s    here: create p99 {}, update p99 {}",
            p99(&self.create),
            p99(&self.update)
        );
        let _ = writeln!(
            out,
            "  read-only calls, scope=resource (GET of one object)                p99 <= 1 s    here: GET p99 {} (1 in flight), {} (many)",
            p99(&self.get_sequential),
            p99(&self.get_concurrent)
        );
        let _ = writeln!(
            out,
            "  read-only calls, scope=namespace or cluster (LIST)                 p99 <= 30 s   here: slowest LIST {} (store), {} (cache)",
            list_max(&self.list_store),
            list_max(&self.list_cache)
        );
        let _ = writeln!(
            out,
            "  watch latency (object stored -> ready to send to all watchers)     SLI is WIP, no SLO set   here: p99 {watch}"
        );
        out
    }
}

fn run_detail(run: &Run) -> String {
    format!(
        "{} ok, {} errors in {:.2} s; p50 {:.2} ms, p99 {:.2} ms{}",
        run.ops,
        run.errors,
        run.elapsed.as_secs_f64(),
        ms(&run.latency, 0.5),
        ms(&run.latency, 0.99),
        cpu_detail(run.cpu, run.ops)
    )
}

fn cpu_detail(cpu: Option<Cpu>, ops: u64) -> String {
    cpu.map(|cpu| format!("; {}", cpu.per_op(ops)))
        .unwrap_or_default()
}

fn rate(run: &Run) -> String {
    format!("{} /s", round(run.per_sec()))
}

fn round(value: f64) -> u64 {
    value.round() as u64
}

/// A quantile of a microsecond histogram, in milliseconds.
fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

/// Bytes in (decimal) megabytes.
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// SplitMix64's output function: scatters `i` over the whole u64 range.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A different number each run (namespace and directory names).
fn random_u64() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    mix(nanos ^ (u64::from(std::process::id()) << 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gets_spread_over_every_object() {
        let objects = 1000;
        let seen: std::collections::HashSet<u64> = (0..20_000).map(|i| mix(i) % objects).collect();
        assert!(seen.len() > 990, "{}", seen.len());
    }

    #[test]
    fn configmaps_are_json_with_their_version() -> anyhow::Result<()> {
        let update: serde_json::Value =
            serde_json::from_slice(&configmap("cm-000001", Some("42"), 1, "xx"))?;
        assert_eq!(update["metadata"]["resourceVersion"], "42");
        assert_eq!(update["data"]["value"], "xx");
        assert_eq!(resource_version(&serde_json::to_vec(&update)?)?, "42");
        let create: serde_json::Value =
            serde_json::from_slice(&configmap("cm-000001", None, 0, "xx"))?;
        assert!(create["metadata"].get("resourceVersion").is_none());
        assert_eq!(object_name(7), "cm-000007");
        Ok(())
    }
}
