//! Durability under crashes: a real `mars server` is SIGKILLed again and
//! again while many clients write to it, then restarted on the same data
//! directory, and everything it ever acknowledged must still be there, with
//! the exact value and revision it was acknowledged with.
//!
//! A write that failed or was in flight at the kill is "unknown": it may or
//! may not have survived. Once a restart has shown it present (or absent),
//! that is settled for good: nothing read back after a restart may vanish or
//! appear later (only processes are killed here, never the machine, so what
//! a restarted server reads from its files stays in them).
//!
//! The seed of the kill delays is printed; `CRASH_SEED=<n>` replays it.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, GetOptions, Txn, TxnOp,
    TxnOpResponse,
};
use mars_e2e::MarsServer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Every key of the crash test lives under this prefix.
const PREFIX: &str = "/crash/";
/// The end of the `PREFIX` range.
const PREFIX_END: &str = "/crash0";
/// The shared compare-and-swap counters.
const COUNTER_PREFIX: &str = "/crash/counter/";

/// Kill/restart cycles of the main test.
const CYCLES: usize = 24;
/// Concurrent writer tasks.
const WRITERS: usize = 32;
/// gRPC connections the writers share.
const CONNECTIONS: usize = 8;
/// Counters the writers increment with compare-and-swap (writer `t` uses
/// counter `t % COUNTERS`, so every counter has contending writers).
const COUNTERS: usize = 4;
/// Every cycle with `cycle % COMPACT_EVERY == COMPACT_EVERY - 1` also
/// compacts (and so snapshots) while the writers run.
const COMPACT_EVERY: usize = 4;

/// No single request may take longer than this.
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// A restarted server must answer within this.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a writer still waits for the answer to a request in flight once
/// it is told to stop after a kill.
const KILL_GRACE: Duration = Duration::from_millis(300);
/// Keys per page when reading the whole prefix back.
const PAGE: i64 = 1000;

// ------------------------------------------------------------------ helpers

/// Awaits a client call with a deadline.
async fn within<T>(
    what: &str,
    limit: Duration,
    call: impl Future<Output = Result<T, etcd_client::Error>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.with_context(|| what.to_string()),
        Err(_) => bail!("{what}: no answer within {limit:?}"),
    }
}

async fn connect(server: &MarsServer) -> anyhow::Result<Client> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(2))
        .with_timeout(OP_TIMEOUT);
    within(
        "connect",
        OP_TIMEOUT,
        Client::connect([server.url()], Some(options)),
    )
    .await
}

/// Retries a read until the (re)started server answers; returns its revision.
async fn wait_serving(client: &mut Client) -> anyhow::Result<i64> {
    let deadline = Instant::now() + RECOVERY_TIMEOUT;
    loop {
        let error = match tokio::time::timeout(Duration::from_secs(1), client.get("/", None)).await
        {
            Ok(Ok(response)) => return header_revision(response.header()),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within 1 s".to_string(),
        };
        if Instant::now() > deadline {
            bail!("the server did not serve within {RECOVERY_TIMEOUT:?}: {error}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> anyhow::Result<i64> {
    Ok(header.context("response without a header")?.revision())
}

fn kill(server: &mut MarsServer) {
    tokio::task::block_in_place(|| server.kill()).unwrap();
}

/// Restarts the server and waits until it answers; returns how long the port
/// took to open and how long until the first answer.
async fn restart(server: &mut MarsServer) -> anyhow::Result<(Client, Duration, Duration)> {
    let started = Instant::now();
    tokio::task::block_in_place(|| server.spawn())?;
    let port = started.elapsed();
    let mut client = connect(server).await?;
    wait_serving(&mut client)
        .await
        .with_context(|| plain(&server.log_tail()))?;
    Ok((client, port, started.elapsed()))
}

fn is_compacted(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("required revision has been compacted")
}

/// A deterministic 64-bit mix (splitmix64) of a few numbers.
fn mix(parts: &[u64]) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for &part in parts {
        x ^= part;
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    x
}

/// The value written for operation `n` of writer `task` in `cycle`: it names
/// them, then pads to a size that is mostly small and sometimes several KiB
/// (so records straddle the log's write boundaries in varied ways).
fn value_for(cycle: usize, task: usize, n: u64, part: &str) -> String {
    let h = mix(&[cycle as u64, task as u64, n, part.len() as u64]);
    let pad = if h.is_multiple_of(64) {
        4096 + (h >> 8) % 12_288
    } else {
        (h >> 8) % 120
    };
    let fill = char::from(b'a' + (h % 26) as u8);
    let mut value = format!("c{cycle}:t{task}:n{n}{part}:");
    value.extend(std::iter::repeat_n(fill, pad as usize));
    value
}

fn counter_key(counter: usize) -> String {
    format!("{COUNTER_PREFIX}{counter}")
}

fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(text) => text.parse().expect("CRASH_SEED must be a number"),
        Err(_) => rand::random(),
    }
}

// ------------------------------------------------------------------ writers

/// One write a writer sends.
#[derive(Clone, Debug)]
enum Op {
    Put {
        key: String,
        value: String,
    },
    /// A transaction that creates two keys at once.
    Pair {
        a: String,
        b: String,
        value_a: String,
        value_b: String,
    },
    /// Compare-and-swap of a counter from `to - 1` to `to`.
    Cas {
        counter: usize,
        to: u64,
    },
}

enum Outcome {
    /// Acknowledged at this revision.
    Written(i64),
    /// The compare-and-swap found the counter at another value (not a write).
    CasLost(u64),
    /// Something the protocol says cannot happen.
    Anomaly(String),
}

/// What became of an operation sent.
#[derive(Clone, Copy, Debug)]
enum Fate {
    /// Failed, or in flight when stopped: may or may not have happened.
    Unknown,
    /// Acknowledged at this revision.
    Acked(i64),
    /// Answered as not applied (a compare-and-swap that lost).
    NotApplied,
}

/// What the writers of one run sent and what was acknowledged.
#[derive(Default)]
struct Journal {
    /// Every operation sent, and what became of it.
    ops: Mutex<Vec<(Op, Fate)>>,
    acked: AtomicUsize,
    /// Set just before the server is killed or stopped.
    killing: AtomicBool,
    errors_before_kill: Mutex<Vec<String>>,
    errors_after_kill: AtomicUsize,
    anomalies: Mutex<Vec<String>>,
}

impl Journal {
    fn sent(&self, op: Op) -> usize {
        let mut ops = self.ops.lock().unwrap();
        ops.push((op, Fate::Unknown));
        ops.len() - 1
    }

    fn ack(&self, index: usize, revision: i64) {
        self.ops.lock().unwrap()[index].1 = Fate::Acked(revision);
        self.acked.fetch_add(1, Ordering::SeqCst);
    }

    fn not_applied(&self, index: usize) {
        self.ops.lock().unwrap()[index].1 = Fate::NotApplied;
    }

    fn error(&self, error: &anyhow::Error) {
        if self.killing.load(Ordering::SeqCst) {
            self.errors_after_kill.fetch_add(1, Ordering::SeqCst);
        } else {
            self.errors_before_kill
                .lock()
                .unwrap()
                .push(format!("{error:#}"));
        }
    }
}

async fn execute(client: &mut Client, op: &Op) -> anyhow::Result<Outcome> {
    match op {
        Op::Put { key, value } => {
            let response = client.put(key.as_str(), value.as_str(), None).await?;
            Ok(Outcome::Written(header_revision(response.header())?))
        }
        Op::Pair {
            a,
            b,
            value_a,
            value_b,
        } => {
            let txn = Txn::new()
                .when([
                    Compare::version(a.as_str(), CompareOp::Equal, 0),
                    Compare::version(b.as_str(), CompareOp::Equal, 0),
                ])
                .and_then([
                    TxnOp::put(a.as_str(), value_a.as_str(), None),
                    TxnOp::put(b.as_str(), value_b.as_str(), None),
                ]);
            let response = client.txn(txn).await?;
            if !response.succeeded() {
                return Ok(Outcome::Anomaly(format!(
                    "pair txn {a} + {b}: a key written only by this txn already existed"
                )));
            }
            Ok(Outcome::Written(header_revision(response.header())?))
        }
        Op::Cas { counter, to } => {
            let key = counter_key(*counter);
            let from = to - 1;
            let guard = if from == 0 {
                Compare::version(key.as_str(), CompareOp::Equal, 0)
            } else {
                Compare::value(key.as_str(), CompareOp::Equal, from.to_string())
            };
            let txn = Txn::new()
                .when([guard])
                .and_then([TxnOp::put(key.as_str(), to.to_string(), None)])
                .or_else([TxnOp::get(key.as_str(), None)]);
            let response = client.txn(txn).await?;
            if response.succeeded() {
                return Ok(Outcome::Written(header_revision(response.header())?));
            }
            match response.op_responses().first() {
                Some(TxnOpResponse::Get(get)) => Ok(Outcome::CasLost(counter_value(get.kvs())?)),
                other => Ok(Outcome::Anomaly(format!(
                    "CAS on {key}: failure branch answered {other:?}"
                ))),
            }
        }
    }
}

/// The value of a counter from a read of it (absent = 0).
fn counter_value(kvs: &[etcd_client::KeyValue]) -> anyhow::Result<u64> {
    match kvs.first() {
        None => Ok(0),
        Some(kv) => Ok(kv.value_str()?.parse()?),
    }
}

/// Resolves once `stop` is set, plus `grace`.
async fn stopped(stop: &mut watch::Receiver<bool>, grace: Duration) {
    let _ = stop.wait_for(|stop| *stop).await;
    tokio::time::sleep(grace).await;
}

/// One writer: unique puts, two-key transactions and compare-and-swaps on a
/// shared counter, until told to stop.
async fn write_loop(
    mut client: Client,
    cycle: usize,
    task: usize,
    journal: Arc<Journal>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let counter = task % COUNTERS;
    let mut current: Option<u64> = None;
    let mut n: u64 = 0;
    while !*stop.borrow() {
        let op = match n % 8 {
            6 => {
                let base = format!("{PREFIX}{cycle}/{task}/{n}");
                Op::Pair {
                    a: format!("{base}/a"),
                    b: format!("{base}/b"),
                    value_a: value_for(cycle, task, n, "a"),
                    value_b: value_for(cycle, task, n, "b"),
                }
            }
            7 => match current {
                Some(value) => Op::Cas {
                    counter,
                    to: value + 1,
                },
                None => {
                    // Learn the counter's value first (a read, not a write).
                    let key = counter_key(counter);
                    let read = tokio::select! {
                        read = within("read counter", OP_TIMEOUT, client.get(key, None)) => read,
                        () = stopped(&mut stop, grace) => Err(anyhow!("stopped")),
                    };
                    match read.and_then(|response| counter_value(response.kvs())) {
                        Ok(value) => current = Some(value),
                        Err(error) => {
                            journal.error(&error);
                            n += 1;
                            pause_after_error(&mut stop).await;
                        }
                    }
                    continue;
                }
            },
            _ => Op::Put {
                key: format!("{PREFIX}{cycle}/{task}/{n}"),
                value: value_for(cycle, task, n, ""),
            },
        };
        n += 1;
        let index = journal.sent(op.clone());
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(OP_TIMEOUT, execute(&mut client, &op)) => {
                outcome.unwrap_or_else(|_| Err(anyhow!("no answer within {OP_TIMEOUT:?}")))
            }
            () = stopped(&mut stop, grace) => Err(anyhow!("still in flight when stopped")),
        };
        match outcome {
            Ok(Outcome::Written(revision)) => {
                journal.ack(index, revision);
                if let Op::Cas { to, .. } = op {
                    current = Some(to);
                }
            }
            Ok(Outcome::CasLost(value)) => {
                journal.not_applied(index);
                current = Some(value);
            }
            Ok(Outcome::Anomaly(text)) => journal.anomalies.lock().unwrap().push(text),
            Err(error) => {
                journal.error(&error);
                current = None;
                pause_after_error(&mut stop).await;
            }
        }
    }
}

/// After an error (usually: the server is gone) wait a little, or until
/// stopped, rather than spin on a dead connection.
async fn pause_after_error(stop: &mut watch::Receiver<bool>) {
    let _ = tokio::time::timeout(Duration::from_millis(50), stop.wait_for(|stop| *stop)).await;
}

/// A running set of writers.
struct Writers {
    journal: Arc<Journal>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Writers {
    /// Starts `writers` tasks over `CONNECTIONS` fresh connections. `grace`:
    /// how long a request in flight may still finish once stopped.
    async fn start(
        server: &MarsServer,
        cycle: usize,
        writers: usize,
        grace: Duration,
    ) -> anyhow::Result<Self> {
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS.min(writers) {
            clients.push(connect(server).await?);
        }
        let journal = Arc::new(Journal::default());
        let (stop, stop_rx) = watch::channel(false);
        let tasks = (0..writers)
            .map(|task| {
                tokio::spawn(write_loop(
                    clients[task % clients.len()].clone(),
                    cycle,
                    task,
                    journal.clone(),
                    stop_rx.clone(),
                    grace,
                ))
            })
            .collect();
        Ok(Self {
            journal,
            stop,
            tasks,
        })
    }

    /// Waits until at least `count` writes were acknowledged.
    async fn wait_acked(&self, count: usize, server: &MarsServer) {
        let deadline = Instant::now() + RECOVERY_TIMEOUT;
        while self.journal.acked.load(Ordering::SeqCst) < count {
            if Instant::now() > deadline {
                let errors = self.journal.errors_before_kill.lock().unwrap().clone();
                panic!(
                    "fewer than {count} writes acknowledged within {RECOVERY_TIMEOUT:?}; errors: {:?}\nserver log:\n{}",
                    &errors[..errors.len().min(5)],
                    plain(&server.log_tail())
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Tells the writers to stop and waits for them (aborting any that hang).
    async fn stop(self) -> Arc<Journal> {
        self.stop.send_replace(true);
        let deadline = tokio::time::Instant::now() + OP_TIMEOUT + Duration::from_secs(5);
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                println!("  a writer did not stop in time and was aborted");
            }
        }
        self.journal
    }
}

// ------------------------------------------------------------------ ledger

/// What is known about a key written once (a put or half of a pair).
#[derive(Clone, Copy, Debug, PartialEq)]
enum KeyState {
    /// Acknowledged at this revision.
    Acked(i64),
    /// Not acknowledged and not yet looked for.
    Unknown,
    /// Not acknowledged, but present after a restart, at this revision.
    Present(i64),
    /// Not acknowledged and absent after a restart.
    Absent,
}

struct Written {
    value: String,
    /// The other key of a pair transaction.
    partner: Option<String>,
    cycle: usize,
    state: KeyState,
}

#[derive(Default)]
struct Counter {
    /// Acknowledged compare-and-swaps: (value written, revision).
    acked: Vec<(u64, i64)>,
    /// The largest value any compare-and-swap tried to write.
    max_attempted: u64,
    /// The value and revision read back after the last restart.
    seen: Option<(u64, i64)>,
}

/// Everything ever written, across all cycles.
struct Ledger {
    keys: BTreeMap<String, Written>,
    counters: Vec<Counter>,
    /// Revision of every acknowledged operation, to catch reuse.
    acked_revisions: HashMap<i64, String>,
    max_acked_revision: i64,
    acked_total: usize,
    /// The largest revision a compaction was requested at / acknowledged at.
    compaction_requested: i64,
    compaction_acked: i64,
    /// Found while absorbing a journal; reported by the next check.
    pending: Vec<String>,
    /// Unacknowledged keys found present / absent after a restart, so far.
    recovered_unknown: usize,
    vanished_unknown: usize,
}

#[derive(Debug, Default)]
struct Absorbed {
    acked: usize,
    unknown: usize,
    puts: usize,
    pairs: usize,
    cas: usize,
}

/// A key as read back.
#[derive(Debug)]
struct Kv {
    value: Vec<u8>,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
}

struct Scan {
    revision: i64,
    kvs: BTreeMap<String, Kv>,
}

/// Reads `[start, end)` in pages of `PAGE` keys, all at one revision (the
/// current one if `revision` is 0).
async fn scan(client: &mut Client, start: &str, end: &str, revision: i64) -> anyhow::Result<Scan> {
    let mut from = start.to_string();
    let mut revision = revision;
    let mut kvs = BTreeMap::new();
    loop {
        let mut options = GetOptions::new().with_range(end).with_limit(PAGE);
        if revision > 0 {
            options = options.with_revision(revision);
        }
        let response = within(
            &format!("range from {from:?} at {revision}"),
            OP_TIMEOUT,
            client.get(from.as_str(), Some(options)),
        )
        .await?;
        if revision == 0 {
            revision = header_revision(response.header())?;
        }
        for kv in response.kvs() {
            kvs.insert(
                kv.key_str()?.to_string(),
                Kv {
                    value: kv.value().to_vec(),
                    create_revision: kv.create_revision(),
                    mod_revision: kv.mod_revision(),
                    version: kv.version(),
                },
            );
        }
        if !response.more() {
            break;
        }
        let last = response
            .kvs()
            .last()
            .context("a page with more but no keys")?;
        from = format!("{}\0", last.key_str()?);
    }
    Ok(Scan { revision, kvs })
}

impl Ledger {
    fn new() -> Self {
        Self {
            keys: BTreeMap::new(),
            counters: (0..COUNTERS).map(|_| Counter::default()).collect(),
            acked_revisions: HashMap::new(),
            max_acked_revision: 0,
            acked_total: 0,
            compaction_requested: 0,
            compaction_acked: 0,
            pending: Vec::new(),
            recovered_unknown: 0,
            vanished_unknown: 0,
        }
    }

    fn record_ack(&mut self, revision: i64, what: String) {
        if let Some(earlier) = self.acked_revisions.insert(revision, what.clone()) {
            self.pending.push(format!(
                "two acknowledged writes got revision {revision}: {earlier} and {what}"
            ));
        }
        self.max_acked_revision = self.max_acked_revision.max(revision);
        self.acked_total += 1;
    }

    fn add_key(
        &mut self,
        key: String,
        value: String,
        partner: Option<String>,
        cycle: usize,
        ack: Option<i64>,
    ) {
        let state = match ack {
            Some(revision) => KeyState::Acked(revision),
            None => KeyState::Unknown,
        };
        let written = Written {
            value,
            partner,
            cycle,
            state,
        };
        if self.keys.insert(key.clone(), written).is_some() {
            self.pending.push(format!("the test wrote {key} twice"));
        }
    }

    /// Takes in what a run of writers did.
    fn absorb(&mut self, journal: &Journal, cycle: usize) -> Absorbed {
        let mut absorbed = Absorbed::default();
        self.pending
            .extend(journal.anomalies.lock().unwrap().iter().cloned());
        let ops = std::mem::take(&mut *journal.ops.lock().unwrap());
        for (op, fate) in ops {
            let ack = match fate {
                Fate::NotApplied => continue,
                Fate::Acked(revision) => {
                    absorbed.acked += 1;
                    Some(revision)
                }
                Fate::Unknown => {
                    absorbed.unknown += 1;
                    None
                }
            };
            match op {
                Op::Put { key, value } => {
                    if let Some(revision) = ack {
                        absorbed.puts += 1;
                        self.record_ack(revision, format!("put {key}"));
                    }
                    self.add_key(key, value, None, cycle, ack);
                }
                Op::Pair {
                    a,
                    b,
                    value_a,
                    value_b,
                } => {
                    if let Some(revision) = ack {
                        absorbed.pairs += 1;
                        self.record_ack(revision, format!("pair txn {a} + {b}"));
                    }
                    self.add_key(a.clone(), value_a, Some(b.clone()), cycle, ack);
                    self.add_key(b, value_b, Some(a), cycle, ack);
                }
                Op::Cas { counter, to } => {
                    let state = &mut self.counters[counter];
                    state.max_attempted = state.max_attempted.max(to);
                    if let Some(revision) = ack {
                        absorbed.cas += 1;
                        state.acked.push((to, revision));
                        self.record_ack(revision, format!("CAS {} -> {to}", counter_key(counter)));
                    }
                }
            }
        }
        absorbed
    }

    /// A write made outside the writers (already acknowledged).
    fn add_acked_put(&mut self, key: String, value: String, cycle: usize, revision: i64) {
        self.record_ack(revision, format!("put {key}"));
        self.add_key(key, value, None, cycle, Some(revision));
    }

    /// Compares a restarted server with the ledger; returns the violations
    /// and settles unknown writes as present or absent.
    async fn check(&mut self, client: &mut Client) -> anyhow::Result<(Scan, Vec<String>)> {
        let scan = scan(client, PREFIX, PREFIX_END, 0).await?;
        let mut bad = std::mem::take(&mut self.pending);

        if scan.revision < self.max_acked_revision {
            bad.push(format!(
                "REVISION WENT BACKWARDS: current revision {} after restart < {} acknowledged",
                scan.revision, self.max_acked_revision
            ));
        }

        // Keys written once.
        let mut by_revision: HashMap<i64, Vec<String>> = HashMap::new();
        for (key, written) in &mut self.keys {
            let found = scan.kvs.get(key);
            let cycle = written.cycle;
            match (written.state, found) {
                (KeyState::Acked(revision) | KeyState::Present(revision), Some(kv)) => {
                    let what = if matches!(written.state, KeyState::Acked(_)) {
                        "acknowledged"
                    } else {
                        "earlier recovered"
                    };
                    if kv.value != written.value.as_bytes() {
                        bad.push(format!(
                            "WRONG VALUE for {what} {key} (cycle {cycle}): expected {:?}, found {:?}",
                            written.value,
                            String::from_utf8_lossy(&kv.value)
                        ));
                    }
                    if (kv.mod_revision, kv.create_revision, kv.version) != (revision, revision, 1)
                    {
                        bad.push(format!(
                            "WRONG REVISION for {what} {key} (cycle {cycle}): expected mod/create revision {revision} version 1, found mod {} create {} version {}",
                            kv.mod_revision, kv.create_revision, kv.version
                        ));
                    }
                }
                (KeyState::Acked(revision), None) => bad.push(format!(
                    "LOST acknowledged write {key} (cycle {cycle}, revision {revision}): absent after restart"
                )),
                (KeyState::Present(revision), None) => bad.push(format!(
                    "LOST {key} (cycle {cycle}, revision {revision}): present after an earlier restart, absent now"
                )),
                (KeyState::Unknown, Some(kv)) => {
                    if kv.value != written.value.as_bytes()
                        || kv.create_revision != kv.mod_revision
                        || kv.version != 1
                    {
                        bad.push(format!(
                            "CORRUPT unacknowledged write {key} (cycle {cycle}): expected {:?} at version 1, found {:?} create {} mod {} version {}",
                            written.value,
                            String::from_utf8_lossy(&kv.value),
                            kv.create_revision,
                            kv.mod_revision,
                            kv.version
                        ));
                    }
                    written.state = KeyState::Present(kv.mod_revision);
                    self.recovered_unknown += 1;
                }
                (KeyState::Unknown, None) => {
                    written.state = KeyState::Absent;
                    self.vanished_unknown += 1;
                }
                (KeyState::Absent, Some(kv)) => bad.push(format!(
                    "RESURRECTED {key} (cycle {cycle}): absent after an earlier restart, now present at revision {}",
                    kv.mod_revision
                )),
                (KeyState::Absent, None) => {}
            }
            if let Some(kv) = found {
                by_revision
                    .entry(kv.mod_revision)
                    .or_default()
                    .push(key.clone());
            }
        }

        // Pair transactions are all or nothing.
        for (key, written) in &self.keys {
            let Some(partner) = &written.partner else {
                continue;
            };
            if key > partner {
                continue;
            }
            match (scan.kvs.get(key), scan.kvs.get(partner)) {
                (Some(a), Some(b)) if a.mod_revision != b.mod_revision => bad.push(format!(
                    "TORN pair txn (cycle {}): {key} at revision {} but {partner} at {}",
                    written.cycle, a.mod_revision, b.mod_revision
                )),
                (Some(_), None) | (None, Some(_)) => bad.push(format!(
                    "TORN pair txn (cycle {}, {:?}): {key} present={} but {partner} present={}",
                    written.cycle,
                    written.state,
                    scan.kvs.contains_key(key),
                    scan.kvs.contains_key(partner)
                )),
                _ => {}
            }
        }

        // Nothing that was never written; one operation per revision.
        for key in scan.kvs.keys() {
            if !key.starts_with(COUNTER_PREFIX) && !self.keys.contains_key(key) {
                bad.push(format!("PHANTOM key {key}: never written"));
            }
        }
        for (revision, keys) in &by_revision {
            let one_op = match keys.as_slice() {
                [_] => true,
                [a, b] => self.keys[a].partner.as_ref() == Some(b),
                _ => false,
            };
            if !one_op {
                bad.push(format!(
                    "revision {revision} is shared by several writes: {keys:?}"
                ));
            }
            if *revision > scan.revision {
                bad.push(format!(
                    "{keys:?} at revision {revision}, above the current revision {}",
                    scan.revision
                ));
            }
        }

        // Counters.
        let mut history_reads = Vec::new();
        for (index, counter) in self.counters.iter_mut().enumerate() {
            let key = counter_key(index);
            let (value, mod_revision, version) = match scan.kvs.get(&key) {
                None => (0, 0, 0),
                Some(kv) => match String::from_utf8_lossy(&kv.value).parse::<u64>() {
                    Ok(value) => (value, kv.mod_revision, kv.version),
                    Err(_) => {
                        bad.push(format!("counter {key} holds {:?}", kv.value));
                        continue;
                    }
                },
            };
            if let Some(others) = by_revision.get(&mod_revision) {
                bad.push(format!(
                    "counter {key} shares revision {mod_revision} with {others:?}"
                ));
            }
            if u64::try_from(version).ok() != Some(value) {
                bad.push(format!(
                    "counter {key} is {value} at version {version}: an increment was lost or doubled"
                ));
            }
            counter.acked.sort_by_key(|&(_, revision)| revision);
            for pair in counter.acked.windows(2) {
                if pair[0].0 >= pair[1].0 {
                    bad.push(format!(
                        "counter {key}: acknowledged {} at revision {} then {} at revision {}",
                        pair[0].0, pair[0].1, pair[1].0, pair[1].1
                    ));
                }
            }
            if let Some(&(acked, acked_revision)) = counter.acked.last() {
                if value < acked {
                    bad.push(format!(
                        "LOST counter increment: {key} is {value} (revision {mod_revision}) after restart, but {acked} was acknowledged at revision {acked_revision}"
                    ));
                } else if value == acked && mod_revision != acked_revision {
                    bad.push(format!(
                        "counter {key} is {value} at revision {mod_revision}, acknowledged at revision {acked_revision}"
                    ));
                }
                history_reads.push((key.clone(), acked, acked_revision));
            }
            if value > counter.max_attempted {
                bad.push(format!(
                    "counter {key} is {value}, but no write ever tried more than {}",
                    counter.max_attempted
                ));
            }
            if let Some((seen, seen_revision)) = counter.seen
                && (value < seen || (value == seen && mod_revision != seen_revision))
            {
                bad.push(format!(
                    "counter {key} is {value} at revision {mod_revision}, after an earlier restart showed {seen} at revision {seen_revision}"
                ));
            }
            counter.seen = Some((value, mod_revision));
        }

        // The counters' history: each one's last acknowledged value, read at
        // its revision (unless a compaction may have removed that revision).
        for (key, acked, revision) in history_reads {
            let read = within(
                &format!("get {key} at {revision}"),
                OP_TIMEOUT,
                client.get(
                    key.as_str(),
                    Some(GetOptions::new().with_revision(revision)),
                ),
            )
            .await;
            match read {
                Ok(response) => {
                    let found = response
                        .kvs()
                        .first()
                        .map(|kv| (kv.value().to_vec(), kv.mod_revision()));
                    if found != Some((acked.to_string().into_bytes(), revision)) {
                        bad.push(format!(
                            "counter {key} read at revision {revision}: expected {acked}, found {found:?}"
                        ));
                    }
                }
                Err(error) if is_compacted(&error) && revision < self.compaction_requested => {}
                Err(error) => bad.push(format!(
                    "counter {key} read at revision {revision}: {error:#}"
                )),
            }
        }

        // An acknowledged compaction survives.
        if self.compaction_acked > 1 {
            let below = self.compaction_acked - 1;
            let read = within(
                "read below the compaction",
                OP_TIMEOUT,
                client.get(PREFIX, Some(GetOptions::new().with_revision(below))),
            )
            .await;
            match read {
                Err(error) if is_compacted(&error) => {}
                other => bad.push(format!(
                    "compaction at {} was acknowledged, but a read at {below} gave {:?}",
                    self.compaction_acked,
                    other.map(|response| response.kvs().len())
                )),
            }
        }

        Ok((scan, bad))
    }
}

fn fail(what: &str, violations: &[String], server: &MarsServer, seed: Option<u64>) -> ! {
    let mut text = format!("{what}: {} violations", violations.len());
    if let Some(seed) = seed {
        let _ = write!(text, " (CRASH_SEED={seed})");
    }
    for violation in violations.iter().take(30) {
        let _ = write!(text, "\n  {violation}");
    }
    let _ = write!(text, "\nserver log tail:\n{}", plain(&server.log_tail()));
    panic!("{text}");
}

/// Text without terminal colour sequences (the server colours its log).
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A fresh write after a restart: it must get the next revision, above every
/// acknowledged one. It joins the ledger (it must survive the next crash).
async fn probe(
    ledger: &mut Ledger,
    client: &mut Client,
    cycle: usize,
    scanned_revision: i64,
) -> anyhow::Result<i64> {
    let key = format!("{PREFIX}{cycle}/probe");
    let value = format!("probe after restart {cycle}");
    let response = within(
        "probe put",
        OP_TIMEOUT,
        client.put(key.as_str(), value.as_str(), None),
    )
    .await?;
    let revision = header_revision(response.header())?;
    if revision <= ledger.max_acked_revision || revision != scanned_revision + 1 {
        ledger.pending.push(format!(
            "a fresh write after restart {cycle} got revision {revision}: the current revision was {scanned_revision} and {} was acknowledged before",
            ledger.max_acked_revision
        ));
    }
    ledger.add_acked_put(key, value, cycle, revision);
    Ok(revision)
}

// ------------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let seed = seed();
    println!("crash test: seed {seed} (CRASH_SEED={seed} replays the kill delays)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut server = MarsServer::store_only().unwrap();
    let mut client = connect(&server).await.unwrap();
    wait_serving(&mut client).await.unwrap();
    let mut ledger = Ledger::new();
    let test_started = Instant::now();

    for cycle in 0..CYCLES {
        let delay = Duration::from_millis(rng.random_range(30..=400));
        let writers = Writers::start(&server, cycle, WRITERS, KILL_GRACE)
            .await
            .unwrap();
        writers.wait_acked(1, &server).await;

        // Some cycles also compact (which snapshots) while the writers run,
        // so kills land during or after a snapshot too.
        let compaction = (cycle % COMPACT_EVERY == COMPACT_EVERY - 1).then(|| {
            let revision = ledger.max_acked_revision;
            ledger.compaction_requested = ledger.compaction_requested.max(revision);
            let mut compactor = client.clone();
            let half = delay / 2;
            let handle = tokio::spawn(async move {
                tokio::time::sleep(half).await;
                let options = CompactionOptions::new().with_physical();
                within(
                    "compact",
                    OP_TIMEOUT,
                    compactor.compact(revision, Some(options)),
                )
                .await
            });
            (revision, handle)
        });

        tokio::time::sleep(delay).await;
        writers.journal.killing.store(true, Ordering::SeqCst);
        kill(&mut server);
        let journal = writers.stop().await;
        let absorbed = ledger.absorb(&journal, cycle);
        let compaction_note = match compaction {
            None => String::new(),
            Some((revision, handle)) => match tokio::time::timeout(OP_TIMEOUT, handle).await {
                Ok(Ok(Ok(_))) => {
                    ledger.compaction_acked = ledger.compaction_acked.max(revision);
                    format!("; compaction at {revision} acknowledged")
                }
                Ok(Ok(Err(error))) => format!("; compaction at {revision} unknown ({error:#})"),
                _ => format!("; compaction at {revision} unknown (no answer)"),
            },
        };

        let (new_client, port_time, recovery) = restart(&mut server).await.unwrap();
        client = new_client;
        let checked = Instant::now();
        let settled_before = (ledger.recovered_unknown, ledger.vanished_unknown);
        let (scanned, violations) = ledger.check(&mut client).await.unwrap();
        let check_time = checked.elapsed();
        if !violations.is_empty() {
            fail(
                &format!("cycle {cycle} (keys {PREFIX}{cycle}/...): after restart"),
                &violations,
                &server,
                Some(seed),
            );
        }
        let probe_revision = probe(&mut ledger, &mut client, cycle, scanned.revision)
            .await
            .unwrap();

        let errors_before = journal.errors_before_kill.lock().unwrap().clone();
        println!(
            "cycle {cycle:>2} ({}/{CYCLES}): {} acked ({} puts, {} pair txns, {} CAS), {} unknown ({} keys survived, {} did not), {} errors before the kill{}; killed {} ms after the first ack{}; restart: port {} ms, serving {} ms; checked {} keys at revision {} in {} ms; probe at {probe_revision}",
            cycle + 1,
            absorbed.acked,
            absorbed.puts,
            absorbed.pairs,
            absorbed.cas,
            absorbed.unknown,
            ledger.recovered_unknown - settled_before.0,
            ledger.vanished_unknown - settled_before.1,
            errors_before.len(),
            errors_before
                .first()
                .map(|error| format!(" (first: {error})"))
                .unwrap_or_default(),
            delay.as_millis(),
            compaction_note,
            port_time.as_millis(),
            recovery.as_millis(),
            scanned.kvs.len(),
            scanned.revision,
            check_time.as_millis(),
        );
    }

    // One more check without a kill in between: the probes of the last cycle
    // and everything else are still there.
    let (_, violations) = ledger.check(&mut client).await.unwrap();
    if !violations.is_empty() {
        fail("final check", &violations, &server, Some(seed));
    }
    let status = tokio::task::block_in_place(|| server.terminate()).unwrap();
    assert!(
        status.success(),
        "mars exited with {status} on SIGTERM\n{}",
        plain(&server.log_tail())
    );
    println!(
        "crash test: {CYCLES} SIGKILL cycles, {} acknowledged writes checked, {:.1} s (seed {seed})",
        ledger.acked_total,
        test_started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_loses_nothing() {
    let mut server = MarsServer::store_only().unwrap();
    let mut client = connect(&server).await.unwrap();
    wait_serving(&mut client).await.unwrap();
    let mut ledger = Ledger::new();

    // Round 1: writers run, then stop on their own; every write they sent
    // is acknowledged; SIGTERM; after the restart the store is identical.
    let writers = Writers::start(&server, 0, 8, OP_TIMEOUT).await.unwrap();
    writers.wait_acked(200, &server).await;
    let journal = writers.stop().await;
    let errors = journal.errors_before_kill.lock().unwrap().clone();
    assert!(errors.is_empty(), "writes failed: {errors:?}");
    let absorbed = ledger.absorb(&journal, 0);
    assert_eq!(absorbed.unknown, 0, "every write finished: {absorbed:?}");
    let (before, violations) = ledger.check(&mut client).await.unwrap();
    if !violations.is_empty() {
        fail("before SIGTERM", &violations, &server, None);
    }
    let status = tokio::task::block_in_place(|| server.terminate()).unwrap();
    assert!(
        status.success(),
        "mars exited with {status} on SIGTERM\n{}",
        plain(&server.log_tail())
    );
    let (mut client, _, recovery) = restart(&mut server).await.unwrap();
    let (after, violations) = ledger.check(&mut client).await.unwrap();
    if !violations.is_empty() {
        fail("after SIGTERM and restart", &violations, &server, None);
    }
    assert_eq!(
        after.revision, before.revision,
        "a clean stop kept the revision"
    );
    assert_eq!(after.kvs.len(), before.kvs.len());
    let probe_revision = probe(&mut ledger, &mut client, 0, after.revision)
        .await
        .unwrap();
    println!(
        "SIGTERM when idle: {} acked writes, revision {}, restart serving in {} ms, probe at {probe_revision}",
        absorbed.acked,
        after.revision,
        recovery.as_millis()
    );

    // Round 2: SIGTERM while 16 writers are busy: the server must still
    // exit cleanly, and what it acknowledged must be there.
    let writers = Writers::start(&server, 1, 16, KILL_GRACE).await.unwrap();
    writers.wait_acked(100, &server).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    writers.journal.killing.store(true, Ordering::SeqCst);
    let status = tokio::task::block_in_place(|| server.terminate()).unwrap();
    let journal = writers.stop().await;
    assert!(
        status.success(),
        "mars exited with {status} on SIGTERM under load\n{}",
        plain(&server.log_tail())
    );
    let absorbed = ledger.absorb(&journal, 1);
    let (mut client, _, recovery) = restart(&mut server).await.unwrap();
    let (after, violations) = ledger.check(&mut client).await.unwrap();
    if !violations.is_empty() {
        fail(
            "after SIGTERM under load and restart",
            &violations,
            &server,
            None,
        );
    }
    let probe_revision = probe(&mut ledger, &mut client, 1, after.revision)
        .await
        .unwrap();
    let (_, violations) = ledger.check(&mut client).await.unwrap();
    if !violations.is_empty() {
        fail("after the probe", &violations, &server, None);
    }
    println!(
        "SIGTERM under load: {} acked writes, {} unknown, revision {}, restart serving in {} ms, probe at {probe_revision}",
        absorbed.acked,
        absorbed.unknown,
        after.revision,
        recovery.as_millis()
    );
}

// ------------------------------------------------------------------ compaction

/// One acknowledged write of the compaction test: `None` is a delete.
struct Change {
    key: String,
    value: Option<String>,
    revision: i64,
}

/// What a read at `revision` must see: key -> (value, create, mod, version).
fn model_at(history: &[Change], revision: i64) -> BTreeMap<String, (String, i64, i64, i64)> {
    let mut state: BTreeMap<String, (String, i64, i64, i64)> = BTreeMap::new();
    for change in history.iter().filter(|change| change.revision <= revision) {
        match &change.value {
            None => {
                state.remove(&change.key);
            }
            Some(value) => {
                let entry = state
                    .entry(change.key.clone())
                    .or_insert_with(|| (String::new(), change.revision, 0, 0));
                entry.0 = value.clone();
                entry.2 = change.revision;
                entry.3 += 1;
            }
        }
    }
    state
}

fn scanned_model(scan: &Scan) -> BTreeMap<String, (String, i64, i64, i64)> {
    scan.kvs
        .iter()
        .map(|(key, kv)| {
            (
                key.clone(),
                (
                    String::from_utf8_lossy(&kv.value).into_owned(),
                    kv.create_revision,
                    kv.mod_revision,
                    kv.version,
                ),
            )
        })
        .collect()
}

async fn compaction_put(client: &mut Client, history: &mut Vec<Change>, key: &str, value: &str) {
    let response = within("put", OP_TIMEOUT, client.put(key, value, None))
        .await
        .unwrap();
    history.push(Change {
        key: key.to_string(),
        value: Some(value.to_string()),
        revision: header_revision(response.header()).unwrap(),
    });
}

async fn compaction_delete(client: &mut Client, history: &mut Vec<Change>, key: &str) {
    let response = within("delete", OP_TIMEOUT, client.delete(key, None))
        .await
        .unwrap();
    assert_eq!(response.deleted(), 1, "delete {key}");
    history.push(Change {
        key: key.to_string(),
        value: None,
        revision: header_revision(response.header()).unwrap(),
    });
}

/// The store at `revision` (0: now) equals the model of the history.
async fn assert_matches_history(
    client: &mut Client,
    history: &[Change],
    revision: i64,
    server: &MarsServer,
    when: &str,
) {
    let scan = scan(client, "/compact/", "/compact0", revision)
        .await
        .unwrap();
    let expected = model_at(history, scan.revision);
    let found = scanned_model(&scan);
    if found != expected {
        let mut differences = Vec::new();
        for key in expected.keys().chain(found.keys()) {
            if expected.get(key) != found.get(key) {
                differences.push(format!(
                    "{key}: expected (value, create, mod, version) {:?}, found {:?}",
                    expected.get(key),
                    found.get(key)
                ));
            }
        }
        differences.dedup();
        fail(
            &format!(
                "{when}: the store at revision {} differs from the acknowledged history",
                scan.revision
            ),
            &differences,
            server,
            None,
        );
    }
}

async fn assert_compacted(client: &mut Client, revision: i64, server: &MarsServer, when: &str) {
    let read = within(
        "read below the compaction",
        OP_TIMEOUT,
        client.get(
            "/compact/",
            Some(GetOptions::new().with_prefix().with_revision(revision)),
        ),
    )
    .await;
    match read {
        Err(error) if is_compacted(&error) => {}
        Err(error) => panic!(
            "{when}: a read at {revision} failed with {error:#}, not 'required revision has been compacted'"
        ),
        Ok(response) => panic!(
            "{when}: a read at compacted revision {revision} succeeded with {} keys\n{}",
            response.kvs().len(),
            plain(&server.log_tail())
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_survives_kills() {
    let mut server = MarsServer::store_only().unwrap();
    let mut client = connect(&server).await.unwrap();
    wait_serving(&mut client).await.unwrap();
    let mut history = Vec::new();

    // History: ten keys written four times each; one deleted.
    for round in 0..4 {
        for k in 0..10 {
            compaction_put(
                &mut client,
                &mut history,
                &format!("/compact/k{k}"),
                &format!("round {round} of k{k}"),
            )
            .await;
        }
    }
    compaction_delete(&mut client, &mut history, "/compact/k0").await;
    let middle = history[25].revision;

    // Kill, restart: the history, old revisions included, is back.
    kill(&mut server);
    let (new_client, ..) = restart(&mut server).await.unwrap();
    client = new_client;
    assert_matches_history(&mut client, &history, 0, &server, "after the first kill").await;
    assert_matches_history(
        &mut client,
        &history,
        middle,
        &server,
        "after the first kill",
    )
    .await;

    // Compact in the middle of the history.
    within(
        "compact",
        OP_TIMEOUT,
        client.compact(middle, Some(CompactionOptions::new().with_physical())),
    )
    .await
    .unwrap();
    assert_compacted(&mut client, middle - 1, &server, "right after compacting").await;

    // More acknowledged writes after the compaction: overwrites, a delete,
    // new keys.
    for k in 1..6 {
        compaction_put(
            &mut client,
            &mut history,
            &format!("/compact/k{k}"),
            &format!("round 4 of k{k}"),
        )
        .await;
    }
    compaction_delete(&mut client, &mut history, "/compact/k1").await;
    for k in 10..15 {
        compaction_put(
            &mut client,
            &mut history,
            &format!("/compact/k{k}"),
            &format!("new k{k}"),
        )
        .await;
    }
    let last = history.last().unwrap().revision;

    // Kill again, restart.
    kill(&mut server);
    let (new_client, ..) = restart(&mut server).await.unwrap();
    client = new_client;
    let when = "after compact + kill";
    assert_matches_history(&mut client, &history, 0, &server, when).await;
    assert_matches_history(&mut client, &history, middle, &server, when).await;
    // Every acknowledged write at or after the compaction, read at its own
    // revision.
    for change in history.iter().filter(|change| change.revision >= middle) {
        let response = within(
            "read at a retained revision",
            OP_TIMEOUT,
            client.get(
                change.key.as_str(),
                Some(GetOptions::new().with_revision(change.revision)),
            ),
        )
        .await
        .unwrap();
        let found = response
            .kvs()
            .first()
            .map(|kv| (kv.value_str().unwrap().to_string(), kv.mod_revision()));
        let expected = change.value.clone().map(|value| (value, change.revision));
        assert_eq!(
            found,
            expected,
            "{when}: {} at revision {}\n{}",
            change.key,
            change.revision,
            plain(&server.log_tail())
        );
    }
    assert_compacted(&mut client, middle - 1, &server, when).await;
    assert_compacted(&mut client, 1, &server, when).await;
    let again = within(
        "compact again",
        OP_TIMEOUT,
        client.compact(middle - 1, None),
    )
    .await;
    assert!(
        again.as_ref().is_err_and(is_compacted),
        "{when}: compacting below the compaction gave {:?}",
        again.map(|_| ())
    );
    let fresh = within(
        "fresh put",
        OP_TIMEOUT,
        client.put("/compact/fresh", "x", None),
    )
    .await
    .unwrap();
    let fresh_revision = header_revision(fresh.header()).unwrap();
    assert_eq!(
        fresh_revision,
        last + 1,
        "{when}: a fresh write after the restart"
    );
    history.push(Change {
        key: "/compact/fresh".to_string(),
        value: Some("x".to_string()),
        revision: fresh_revision,
    });

    // A second compaction, killed right after its acknowledgement.
    within(
        "compact",
        OP_TIMEOUT,
        client.compact(last, Some(CompactionOptions::new().with_physical())),
    )
    .await
    .unwrap();
    kill(&mut server);
    let (new_client, ..) = restart(&mut server).await.unwrap();
    client = new_client;
    let when = "after a second compaction + kill";
    assert_matches_history(&mut client, &history, 0, &server, when).await;
    assert_matches_history(&mut client, &history, last, &server, when).await;
    assert_compacted(&mut client, last - 1, &server, when).await;
    assert_compacted(&mut client, middle, &server, when).await;
}
