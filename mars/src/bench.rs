//! `mars bench store`: drives etcd-compatible endpoints (Mars, etcd) with the
//! same load through the `etcd-client` crate and prints one table of figures.
//!
//! Every endpoint gets, in turn: a short warm-up, then `put`, `range`, `txn`
//! at each requested concurrency, then the watch latency run. A "client" is
//! one request in flight; the clients share `--conns` gRPC connections, as
//! etcd's own `benchmark --clients --conns` does.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, GetOptions, KvClient, Txn, TxnOp, TxnOpResponse,
    WatchOptions,
};
use hdrhistogram::Histogram;

use crate::cli::parse_duration;

#[derive(Debug, clap::Args)]
pub struct StoreBenchArgs {
    /// Endpoints to compare, `NAME=URL` or a bare URL (named by its host:port);
    /// a cluster is `NAME=URL|URL|URL`, its connections spread over the
    /// members. Ratios are against the first one.
    #[arg(long, value_delimiter = ',', required = true)]
    pub endpoints: Vec<String>,
    /// Workloads to run, in this order.
    #[arg(long, value_delimiter = ',', default_value = "put,range,txn,watch")]
    pub workloads: Vec<Workload>,
    /// Concurrent clients (requests in flight) for `put`.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    pub clients: Vec<usize>,
    /// Concurrent clients for `range`.
    #[arg(long, value_delimiter = ',', default_value = "16,256")]
    pub range_clients: Vec<usize>,
    /// Concurrent clients for `txn`.
    #[arg(long, value_delimiter = ',', default_value = "16,256")]
    pub txn_clients: Vec<usize>,
    /// gRPC connections shared by the clients.
    #[arg(long, default_value_t = 16)]
    pub conns: usize,
    /// Size of the key space the writes spread over.
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    /// Most operations per (workload, clients) level.
    #[arg(long, default_value_t = 20_000)]
    pub ops: u64,
    /// Most operations per client per level, so low concurrency stays short:
    /// a level with C clients runs `min(--ops, C * --ops-per-client)` ops.
    #[arg(long, default_value_t = 2000)]
    pub ops_per_client: u64,
    /// Bytes per value.
    #[arg(long, default_value_t = 256)]
    pub value_size: usize,
    /// Puts then gets (16 clients) per endpoint before measuring.
    #[arg(long, default_value_t = 2000)]
    pub warmup_ops: u64,
    /// Use serializable instead of linearizable ranges.
    #[arg(long)]
    pub serializable: bool,
    /// Puts per second during the watch latency run.
    #[arg(long, default_value_t = 200)]
    pub watch_rate: u32,
    /// How long the watch latency run writes.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub watch_duration: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Put of a random key in the key space.
    Put,
    /// Get of one existing key.
    Range,
    /// Compare-and-swap: put if mod_revision is still the one last seen.
    Txn,
    /// One prefix watcher; latency from put sent to event received.
    Watch,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::Range => "range",
            Workload::Txn => "txn",
            Workload::Watch => "watch",
        }
    }
}

/// An endpoint to drive: one server, or the members of a cluster
/// (`URL|URL|URL`), which the connections are spread over.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) name: String,
    url: String,
}

impl Target {
    /// The member URLs.
    pub(crate) fn urls(&self) -> Vec<&str> {
        self.url.split('|').filter(|u| !u.is_empty()).collect()
    }

    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        let (name, url) = match text.split_once('=') {
            Some((name, url)) => (name.to_owned(), url.to_owned()),
            None => {
                let host_port = text.split_once("://").map_or(text, |(_, rest)| rest);
                let host_port = host_port.split('/').next().unwrap_or(host_port);
                (host_port.to_owned(), text.to_owned())
            }
        };
        ensure!(
            !name.is_empty() && !url.is_empty(),
            "bad endpoint {text:?}: use NAME=URL or URL"
        );
        Ok(Self { name, url })
    }
}

/// What one (endpoint, workload, clients) level measured.
struct Row {
    endpoint: String,
    workload: Workload,
    clients: usize,
    ops: u64,
    errors: u64,
    elapsed: Duration,
    /// Latencies in microseconds.
    latency: Histogram<u64>,
}

impl Row {
    fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

/// The outcome of one run: successful ops' latencies, failures and wall time.
pub(crate) struct Measured {
    pub(crate) latency: Histogram<u64>,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
}

/// Runs `ops` calls of `op(lane, i)` with `clients` lanes in flight (each
/// lane takes the next index), timing each successful call. Returns the
/// measurements and the first error, if any failed.
pub(crate) async fn drive<F, Fut>(
    clients: usize,
    ops: u64,
    op: F,
) -> anyhow::Result<(Measured, Option<anyhow::Error>)>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..clients {
        let (op, next) = (Arc::clone(&op), Arc::clone(&next));
        tasks.spawn(async move {
            let mut latency = new_histogram();
            let mut errors = 0u64;
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ops {
                    break;
                }
                let sent = Instant::now();
                match op(lane, i).await {
                    Ok(()) => latency.saturating_record(micros(sent.elapsed())),
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
            (latency, errors, first_error)
        });
    }
    let mut measured = Measured {
        latency: new_histogram(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let (latency, errors, error) = joined.context("benchmark client panicked")?;
        measured.latency.add(&latency)?;
        measured.errors += errors;
        if first_error.is_none() {
            first_error = error;
        }
    }
    measured.elapsed = start.elapsed();
    Ok((measured, first_error))
}

/// A latency histogram in microseconds (1 µs .. 10 min, 3 significant digits).
pub(crate) fn new_histogram() -> Histogram<u64> {
    // The bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

pub async fn store(args: StoreBenchArgs) -> anyhow::Result<()> {
    let targets = args
        .endpoints
        .iter()
        .map(|text| Target::parse(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    ensure!(args.conns > 0, "--conns must be at least 1");
    ensure!(
        args.keys > 0 && args.keys < PRIME,
        "--keys must be between 1 and {PRIME}"
    );
    ensure!(args.watch_rate > 0, "--watch-rate must be at least 1");

    println!("{}", describe(&args, &targets));
    let mut rows = Vec::new();
    for target in &targets {
        eprintln!("== {} ({})", target.name, target.url);
        rows.extend(bench_endpoint(&args, target).await?);
    }
    println!();
    print!("{}", table(&rows));
    if targets.len() > 1 {
        println!();
        print!("{}", ratios(&targets, &rows));
    }
    Ok(())
}

/// One line per setting, so the printed figures say what was run.
fn describe(args: &StoreBenchArgs, targets: &[Target]) -> String {
    let mut out = String::new();
    let endpoints: Vec<String> = targets
        .iter()
        .map(|t| format!("{}={}", t.name, t.url))
        .collect();
    let _ = writeln!(out, "mars bench store");
    let _ = writeln!(out, "  endpoints:  {}", endpoints.join(", "));
    let _ = writeln!(
        out,
        "  load:       {} B values, {} keys, {} connections, {} warm-up puts+gets",
        args.value_size, args.keys, args.conns, args.warmup_ops
    );
    let _ = writeln!(
        out,
        "  ops/level:  min({}, clients x {}); range is {}",
        args.ops,
        args.ops_per_client,
        if args.serializable {
            "serializable"
        } else {
            "linearizable"
        }
    );
    let _ = write!(
        out,
        "  watch:      {} puts/s for {:?}, latency = put sent -> event received",
        args.watch_rate, args.watch_duration
    );
    out
}

/// Runs every workload against one endpoint.
async fn bench_endpoint(args: &StoreBenchArgs, target: &Target) -> anyhow::Result<Vec<Row>> {
    let conns = connect(target, args.conns).await?;
    let kvs: Vec<KvClient> = conns.iter().map(Client::kv_client).collect();
    let shared = Arc::new(Shared {
        value: vec![b'v'; args.value_size],
        keys: args.keys,
        written: AtomicU64::new(0),
        runs: AtomicU64::new(0),
        range_options: if args.serializable {
            GetOptions::new().with_serializable()
        } else {
            GetOptions::new()
        },
    });

    // Warm-up: connections, server caches, the runtime's threads.
    let warm_clients = 16;
    run_ops(&shared, &kvs, Workload::Put, warm_clients, args.warmup_ops).await?;
    run_ops(
        &shared,
        &kvs,
        Workload::Range,
        warm_clients,
        args.warmup_ops,
    )
    .await?;

    let mut rows = Vec::new();
    for &workload in &args.workloads {
        let levels: &[usize] = match workload {
            Workload::Put => &args.clients,
            Workload::Range => &args.range_clients,
            Workload::Txn => &args.txn_clients,
            Workload::Watch => &[1],
        };
        for &clients in levels {
            let clients = clients.max(1);
            let ops = args.ops.min(clients as u64 * args.ops_per_client);
            let measured = match workload {
                Workload::Watch => {
                    run_watch(
                        &conns,
                        args.watch_rate,
                        args.watch_duration,
                        args.value_size,
                    )
                    .await?
                }
                _ => run_ops(&shared, &kvs, workload, clients, ops).await?,
            };
            let row = Row {
                endpoint: target.name.clone(),
                workload,
                clients,
                ops: measured.latency.len(),
                errors: measured.errors,
                elapsed: measured.elapsed,
                latency: measured.latency,
            };
            eprintln!(
                "   {:<5} @{:<4} {:>7} ops {:>4} errors {:>10.1} ops/s  p50 {:.2} ms  p99 {:.2} ms",
                workload.name(),
                clients,
                row.ops,
                row.errors,
                row.ops_per_sec(),
                row.percentile_ms(0.50),
                row.percentile_ms(0.99),
            );
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Opens `conns` separate connections (each `Client` has its own HTTP/2
/// connection) and checks the endpoint answers.
async fn connect(target: &Target, conns: usize) -> anyhow::Result<Vec<Client>> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60));
    let mut clients = Vec::with_capacity(conns);
    let urls = target.urls();
    ensure!(!urls.is_empty(), "{} has no URL", target.name);
    for i in 0..conns {
        // Connections go round the members of a cluster.
        let url = urls[i % urls.len()];
        let mut client = Client::connect([url], Some(options.clone()))
            .await
            .with_context(|| format!("cannot connect to {} at {url}", target.name))?;
        client
            .get("/bench/ping", None)
            .await
            .with_context(|| format!("{} at {url} does not answer", target.name))?;
        clients.push(client);
    }
    Ok(clients)
}

/// What the clients of one endpoint share.
struct Shared {
    value: Vec<u8>,
    keys: u64,
    /// Puts issued so far: keys `kv_key(0..written)` exist, so ranges read those.
    written: AtomicU64,
    /// Runs so far, so every `txn` run gets keys no earlier run wrote.
    runs: AtomicU64,
    range_options: GetOptions,
}

/// A prime larger than any sensible key space: `i * PRIME % keys` visits
/// every key in `0..keys` once per `keys` puts, in a scattered order.
const PRIME: u64 = 2_147_483_647;

impl Shared {
    /// The `n`th key written.
    fn kv_key(&self, n: u64) -> String {
        let index = (n % self.keys) * (PRIME % self.keys) % self.keys;
        format!("/bench/kv/{index:08}")
    }
}

/// Runs `ops` operations of `workload` with `clients` requests in flight;
/// returns their latency histogram, error count and the wall time.
async fn run_ops(
    shared: &Arc<Shared>,
    kvs: &[KvClient],
    workload: Workload,
    clients: usize,
    ops: u64,
) -> anyhow::Result<Measured> {
    // Puts of this run are numbered after all earlier ones, so every put key
    // of the endpoint is the next one in the scattered sequence.
    let first_put = shared.written.load(Ordering::SeqCst);
    let run = shared.runs.fetch_add(1, Ordering::SeqCst);
    // One worker per lane; a lane runs one operation at a time, so its
    // lock is never contended.
    let workers: Arc<Vec<tokio::sync::Mutex<Worker>>> = Arc::new(
        (0..clients)
            .map(|task| {
                tokio::sync::Mutex::new(Worker {
                    kv: kvs[task % kvs.len()].clone(),
                    shared: shared.clone(),
                    rng: SplitMix64(0x5eed_0000 + task as u64),
                    txn_prefix: format!("/bench/txn/r{run}/t{task}/"),
                    txn_keys: (shared.keys / clients as u64).max(1),
                    revisions: HashMap::new(),
                    first_put,
                })
            })
            .collect(),
    );
    let (measured, first_error) = drive(clients, ops, move |lane, i| {
        let workers = Arc::clone(&workers);
        async move { workers[lane].lock().await.op(workload, i).await }
    })
    .await?;
    if workload == Workload::Put {
        shared.written.fetch_add(ops, Ordering::SeqCst);
    }
    if let Some(error) = first_error {
        eprintln!(
            "   {} @{clients}: {} errors, first: {error:#}",
            workload.name(),
            measured.errors
        );
    }
    Ok(measured)
}

/// One client: a connection, its own random numbers and, for `txn`, the
/// revisions of the keys it owns (no other client writes them, so a CAS only
/// fails if the server is wrong).
struct Worker {
    kv: KvClient,
    shared: Arc<Shared>,
    rng: SplitMix64,
    txn_prefix: String,
    txn_keys: u64,
    revisions: HashMap<u64, i64>,
    first_put: u64,
}

impl Worker {
    /// Does the `i`th operation of a run.
    async fn op(&mut self, workload: Workload, i: u64) -> anyhow::Result<()> {
        match workload {
            Workload::Put => {
                let key = self.shared.kv_key(self.first_put + i);
                self.kv.put(key, self.shared.value.clone(), None).await?;
            }
            Workload::Range => {
                let existing = self.shared.written.load(Ordering::Relaxed);
                ensure!(existing > 0, "range before any put");
                let n = self.rng.below(existing.min(self.shared.keys));
                let key = self.shared.kv_key(n);
                let options = self.shared.range_options.clone();
                let response = self.kv.get(key.as_str(), Some(options)).await?;
                ensure!(response.kvs().len() == 1, "range found no {key}");
            }
            Workload::Txn => {
                let k = self.rng.below(self.txn_keys);
                let key = format!("{}{k:08}", self.txn_prefix);
                // Never written yet: mod_revision 0 means "does not exist".
                let seen = self.revisions.get(&k).copied().unwrap_or(0);
                let txn = Txn::new()
                    .when([Compare::mod_revision(key.as_str(), CompareOp::Equal, seen)])
                    .and_then([TxnOp::put(key.as_str(), self.shared.value.clone(), None)])
                    .or_else([TxnOp::get(key.as_str(), None)]);
                let response = self.kv.txn(txn).await?;
                if response.succeeded() {
                    let revision = response.header().map_or(0, |h| h.revision());
                    self.revisions.insert(k, revision);
                } else {
                    // Learn the real revision so the next CAS can succeed.
                    for op in response.op_responses() {
                        if let TxnOpResponse::Get(get) = op
                            && let Some(kv) = get.kvs().first()
                        {
                            self.revisions.insert(k, kv.mod_revision());
                        }
                    }
                    bail!("CAS on {key} failed: mod_revision is not {seen}");
                }
            }
            Workload::Watch => bail!("watch is not a request-response workload"),
        }
        Ok(())
    }
}

/// One watcher on a prefix; a writer puts at a fixed rate, each value
/// starting with its send time. Latency = put sent -> event received.
async fn run_watch(
    conns: &[Client],
    rate: u32,
    duration: Duration,
    value_size: usize,
) -> anyhow::Result<Measured> {
    const PREFIX: &str = "/bench/watch/";
    let mut watch_client = conns[0].watch_client();
    let mut stream = watch_client
        .watch(PREFIX, Some(WatchOptions::new().with_prefix()))
        .await
        .context("cannot start the watch")?;
    let created = stream.message().await?.context("watch closed at once")?;
    ensure!(created.created(), "first watch response is not `created`");

    let total = (f64::from(rate) * duration.as_secs_f64()).round() as u64;
    let base = Instant::now();
    let writer_kv = conns[1 % conns.len()].kv_client();
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
        let mut puts = tokio::task::JoinSet::new();
        for n in 0..total {
            tick.tick().await;
            let mut kv = writer_kv.clone();
            puts.spawn(async move {
                let sent = micros(base.elapsed());
                let mut value = format!("{sent:020}").into_bytes();
                value.resize(value_size.max(20), b'w');
                kv.put(format!("{PREFIX}{n:08}"), value, None).await
            });
        }
        let mut failed = 0u64;
        while let Some(joined) = puts.join_next().await {
            if !matches!(joined, Ok(Ok(_))) {
                failed += 1;
            }
        }
        failed
    });

    let mut latency = new_histogram();
    let mut received = 0u64;
    // Stop when every put has been seen, or when events stop coming.
    let quiet = Duration::from_secs(5);
    while received < total {
        let message = match tokio::time::timeout(quiet, stream.message()).await {
            Ok(message) => message.context("watch failed")?,
            Err(_) => break,
        };
        let Some(response) = message else { break };
        let now = micros(base.elapsed());
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let sent: u64 = std::str::from_utf8(&kv.value()[..20.min(kv.value().len())])
                .ok()
                .and_then(|text| text.parse().ok())
                .context("watch event without a send time")?;
            latency.saturating_record(now.saturating_sub(sent));
            received += 1;
        }
    }
    let elapsed = base.elapsed();
    let failed_puts = writer.await.context("watch writer panicked")?;
    drop(stream);
    Ok(Measured {
        latency,
        // Puts that failed plus events that never arrived.
        errors: total.saturating_sub(received).max(failed_puts),
        elapsed,
    })
}

/// A duration in whole microseconds, for the histograms.
pub(crate) fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// The whole table, one row per (endpoint, workload, clients).
fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let width = rows
        .iter()
        .map(|row| row.endpoint.len())
        .max()
        .unwrap_or(0)
        .max("endpoint".len());
    let _ = writeln!(
        out,
        "{:<width$}  {:<8} {:>7} {:>8} {:>6} {:>8} {:>11} {:>9} {:>9}",
        "endpoint", "workload", "clients", "ops", "errors", "secs", "ops/s", "p50 ms", "p99 ms"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:<8} {:>7} {:>8} {:>6} {:>8.2} {:>11.1} {:>9.2} {:>9.2}",
            row.endpoint,
            row.workload.name(),
            row.clients,
            row.ops,
            row.errors,
            row.elapsed.as_secs_f64(),
            row.ops_per_sec(),
            row.percentile_ms(0.50),
            row.percentile_ms(0.99),
        );
    }
    out
}

/// Each later endpoint's ops/s (and p99) relative to the first endpoint's.
fn ratios(targets: &[Target], rows: &[Row]) -> String {
    let mut out = String::new();
    let first = &targets[0].name;
    let _ = writeln!(
        out,
        "ratios to {first} (ops/s: higher is better; p99: lower is better)"
    );
    for target in &targets[1..] {
        for row in rows.iter().filter(|row| row.endpoint == target.name) {
            let Some(base) = rows.iter().find(|base| {
                base.endpoint == *first
                    && base.workload == row.workload
                    && base.clients == row.clients
            }) else {
                continue;
            };
            let label = format!(
                "{}/{first} {}@{}:",
                target.name,
                row.workload.name(),
                row.clients
            );
            let throughput = row.ops_per_sec() / base.ops_per_sec().max(1e-9);
            let p99 = row.percentile_ms(0.99) / base.percentile_ms(0.99).max(1e-9);
            let note = if row.workload == Workload::Watch {
                "  (fixed write rate)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {label:<28} {throughput:>5.2}× ops/s   p99 {p99:>5.2}× ({:.2} vs {:.2} ms){note}",
                row.percentile_ms(0.99),
                base.percentile_ms(0.99),
            );
        }
    }
    out
}

/// A small, fast, seedable random number generator (SplitMix64).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_and_without_names() -> anyhow::Result<()> {
        let named = Target::parse("etcd=http://127.0.0.1:2379")?;
        assert_eq!(
            (named.name.as_str(), named.url.as_str()),
            ("etcd", "http://127.0.0.1:2379")
        );
        let bare = Target::parse("http://127.0.0.1:2380")?;
        assert_eq!(bare.name, "127.0.0.1:2380");
        assert!(Target::parse("=http://x").is_err());
        Ok(())
    }

    #[test]
    fn put_keys_cover_the_key_space() {
        let shared = Shared {
            value: Vec::new(),
            keys: 1000,
            written: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            range_options: GetOptions::new(),
        };
        let keys: std::collections::HashSet<String> = (0..1000).map(|n| shared.kv_key(n)).collect();
        assert_eq!(keys.len(), 1000);
    }
}
