//! A linearizability check of the replicated store: concurrent clients
//! read, write and compare-and-swap a few keys through every member of an
//! in-process three-member cluster while its leader is cut off twice (so
//! leadership moves), and the recorded history of each key is checked
//! against a register model with a Wing–Gong search (memoized, as in Lowe's
//! and porcupine's versions). Linearizability is local, so keys are checked
//! one by one. An operation whose outcome is unknown (an error or timeout
//! on a write) may have taken effect at any point after it started, or not
//! at all; a failed read is dropped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use mars_store::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use mars_store::pb::etcdserverpb::request_op::Request;
use mars_store::pb::etcdserverpb::{Compare, PutRequest, RequestOp, TxnRequest};
use mars_store::raft::local_cluster::{LocalCluster, LocalSettings};
use mars_store::{Embedded, Store};
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Read,
    Write(u64),
    Cas { expected: u64, new: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Output {
    /// A read's value (`None`: the key did not exist).
    Value(Option<u64>),
    /// Whether a compare-and-swap swapped.
    Swapped(bool),
    Written,
    /// The outcome is unknown.
    Unknown,
}

#[derive(Debug, Clone, Copy)]
struct Op {
    call: u64,
    /// `u64::MAX` when the outcome is unknown: it may take effect any time
    /// after `call`.
    ret: u64,
    kind: Kind,
    output: Output,
}

impl Op {
    fn optional(&self) -> bool {
        self.output == Output::Unknown
    }
}

/// The register's next state if `op` can take effect in `state`.
fn step(state: Option<u64>, op: &Op) -> Option<Option<u64>> {
    match (op.kind, op.output) {
        (Kind::Read, Output::Value(seen)) => (seen == state).then_some(state),
        (Kind::Write(v), _) => Some(Some(v)),
        (Kind::Cas { expected, new }, Output::Swapped(true)) => {
            (state == Some(expected)).then_some(Some(new))
        }
        (Kind::Cas { expected, .. }, Output::Swapped(false)) => {
            (state != Some(expected)).then_some(state)
        }
        (Kind::Cas { expected, new }, Output::Unknown) => Some(if state == Some(expected) {
            Some(new)
        } else {
            state
        }),
        _ => None,
    }
}

/// Whether some order of `ops` that respects real time (an operation that
/// returned before another was called comes first) explains every output.
fn linearizable(ops: &[Op]) -> bool {
    assert!(ops.len() <= 128, "history too long for the bitset");
    let required: u128 = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !op.optional())
        .fold(0, |mask, (i, _)| mask | 1 << i);
    let mut seen = HashSet::new();
    search(ops, 0, None, required, &mut seen)
}

fn search(
    ops: &[Op],
    done: u128,
    state: Option<u64>,
    required: u128,
    seen: &mut HashSet<(u128, Option<u64>)>,
) -> bool {
    if done & required == required {
        return true;
    }
    if !seen.insert((done, state)) {
        return false;
    }
    // Whatever comes next must have been called before every pending
    // operation returned.
    let earliest_return = ops
        .iter()
        .enumerate()
        .filter(|(i, _)| done & (1 << i) == 0)
        .map(|(_, op)| op.ret)
        .min()
        .unwrap_or(u64::MAX);
    for (i, op) in ops.iter().enumerate() {
        if done & (1 << i) != 0 || op.call > earliest_return {
            continue;
        }
        if let Some(next) = step(state, op)
            && search(ops, done | 1 << i, next, required, seen)
        {
            return true;
        }
    }
    false
}

#[test]
fn the_checker_accepts_and_refuses_what_it_should() {
    let op = |call, ret, kind, output| Op {
        call,
        ret,
        kind,
        output,
    };
    // Overlapping write and read: the read may see either value.
    let ok = [
        op(0, 10, Kind::Write(1), Output::Written),
        op(5, 15, Kind::Read, Output::Value(Some(1))),
        op(6, 16, Kind::Read, Output::Value(None)),
    ];
    assert!(linearizable(&ok));
    // A read after the write returned must see it.
    let stale = [
        op(0, 10, Kind::Write(1), Output::Written),
        op(11, 15, Kind::Read, Output::Value(None)),
    ];
    assert!(!linearizable(&stale));
    // Two successful CASes from the same value cannot both happen.
    let double = [
        op(0, 1, Kind::Write(1), Output::Written),
        op(
            2,
            10,
            Kind::Cas {
                expected: 1,
                new: 2,
            },
            Output::Swapped(true),
        ),
        op(
            2,
            10,
            Kind::Cas {
                expected: 1,
                new: 3,
            },
            Output::Swapped(true),
        ),
    ];
    assert!(!linearizable(&double));
    // An unknown write may explain a later read, or be left out.
    let unknown = [
        op(0, u64::MAX, Kind::Write(7), Output::Unknown),
        op(5, 6, Kind::Read, Output::Value(None)),
        op(8, 9, Kind::Read, Output::Value(Some(7))),
    ];
    assert!(linearizable(&unknown));
    // ...but once seen it cannot vanish.
    let vanished = [
        op(0, u64::MAX, Kind::Write(7), Output::Unknown),
        op(5, 6, Kind::Read, Output::Value(Some(7))),
        op(8, 9, Kind::Read, Output::Value(None)),
    ];
    assert!(!linearizable(&vanished));
}

// ------------------------------------------------------------------ the run

const KEYS: usize = 3;
const CLIENTS: usize = 6;
const OPS_PER_CLIENT: usize = 36;

fn key(k: usize) -> Vec<u8> {
    format!("/lin/{k}").into_bytes()
}

fn decode(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

async fn run_op(store: &Embedded, k: usize, kind: Kind) -> Output {
    match kind {
        Kind::Read => match store.get(&key(k)).await {
            Ok(kv) => Output::Value(kv.and_then(|kv| decode(&kv.value))),
            Err(_) => Output::Unknown,
        },
        Kind::Write(v) => match store
            .put(PutRequest {
                key: key(k).into(),
                value: v.to_string().into(),
                ..PutRequest::default()
            })
            .await
        {
            Ok(_) => Output::Written,
            Err(_) => Output::Unknown,
        },
        Kind::Cas { expected, new } => {
            let request = TxnRequest {
                compare: vec![Compare {
                    result: CompareResult::Equal as i32,
                    target: CompareTarget::Value as i32,
                    key: key(k).into(),
                    target_union: Some(TargetUnion::Value(Bytes::from(expected.to_string()))),
                    ..Compare::default()
                }],
                success: vec![RequestOp {
                    request: Some(Request::RequestPut(PutRequest {
                        key: key(k).into(),
                        value: new.to_string().into(),
                        ..PutRequest::default()
                    })),
                }],
                failure: Vec::new(),
            };
            match store.txn(request).await {
                Ok(response) => Output::Swapped(response.succeeded),
                Err(_) => Output::Unknown,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_across_leader_changes_are_linearizable() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = LocalSettings {
        request_timeout: Duration::from_millis(1000),
        ..LocalSettings::default()
    };
    let cluster = LocalCluster::start(dir.path(), 3, settings).await?;
    let net = cluster.net.clone();
    let members: Vec<Embedded> = cluster.members().values().cloned().collect();
    let leader = |members: &[Embedded]| {
        members
            .iter()
            .find_map(|m| m.member().metrics().current_leader)
    };

    let start = Instant::now();
    let history: Arc<Mutex<Vec<Vec<Op>>>> = Arc::new(Mutex::new(vec![Vec::new(); KEYS]));
    let seed: u64 = std::env::var("LIN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("LIN_SEED={seed}");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (members, history) = (members.clone(), history.clone());
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ c as u64);
                // The last value this client saw per key: CASes expect it,
                // so many of them swap.
                let mut last = [1u64; KEYS];
                for n in 0..OPS_PER_CLIENT {
                    let k = rng.random_range(0..KEYS);
                    let value = (c * 1000 + n) as u64 + 1;
                    let kind = match rng.random_range(0..3) {
                        0 => Kind::Read,
                        1 => Kind::Write(value),
                        _ => Kind::Cas {
                            expected: last[k],
                            new: value,
                        },
                    };
                    let store = &members[rng.random_range(0..members.len())];
                    let call = start.elapsed().as_nanos() as u64;
                    let output = run_op(store, k, kind).await;
                    let ret = start.elapsed().as_nanos() as u64;
                    match (kind, output) {
                        (_, Output::Value(Some(v))) => last[k] = v,
                        (Kind::Write(v), Output::Written) => last[k] = v,
                        (Kind::Cas { new, .. }, Output::Swapped(true)) => last[k] = new,
                        _ => {}
                    }
                    let op = Op {
                        call,
                        ret: if output == Output::Unknown {
                            u64::MAX
                        } else {
                            ret
                        },
                        kind,
                        output,
                    };
                    if !(kind == Kind::Read && output == Output::Unknown) {
                        history.lock().expect("history")[k].push(op);
                    }
                    tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
                }
            })
        })
        .collect();

    // Twice: cut the leader off, let the others elect, heal.
    let mut leaders = Vec::new();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let Some(old) = leader(&members) else {
            continue;
        };
        leaders.push(old);
        net.isolate(old);
        // Longer than the request timeout: requests on the cut-off member
        // fail with an unknown outcome.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        net.heal();
    }
    for client in clients {
        client.await?;
    }
    let history = Arc::try_unwrap(history)
        .map_err(|_| anyhow::anyhow!("history still shared"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("poisoned"))?;
    let total: usize = history.iter().map(Vec::len).sum();
    let unknown: usize = history.iter().flatten().filter(|op| op.optional()).count();
    println!(
        "{total} operations on {KEYS} keys, {unknown} with unknown outcome; leaders cut off: {leaders:?}"
    );
    assert!(
        total > CLIENTS * OPS_PER_CLIENT / 2,
        "most operations completed"
    );
    for (k, ops) in history.iter().enumerate() {
        let checked = Instant::now();
        assert!(
            linearizable(ops),
            "key {k}: the history is not linearizable: {ops:#?}"
        );
        println!(
            "key {k}: {} operations, linearizable (checked in {:?})",
            ops.len(),
            checked.elapsed()
        );
    }
    cluster.close().await;
    Ok(())
}
