//! The IO shell of the simulation: node registration and heartbeats, the
//! pod watch and its timers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, PodStatus};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use mars_informer::Lean;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::Simulation;
use super::ipam::PodIpPool;
use super::node::{self, LEASE_NAMESPACE, NodePlan, SIMULATED_LABEL, SITE_LABEL};
use super::pod::{self, Placement};

/// Retry delay of failed writes and of work on stopped nodes.
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct NodeState {
    registered: bool,
    uid: Option<String>,
    stopped: bool,
    last_status: Option<Instant>,
    ready_since: Timestamp,
}

struct Shared {
    client: Client,
    sim: Simulation,
    nodes: Vec<NodePlan>,
    by_name: HashMap<String, usize>,
    state: Mutex<Vec<NodeState>>,
    writes: Semaphore,
}

impl Shared {
    fn with_state<T>(&self, index: usize, f: impl FnOnce(&mut NodeState) -> T) -> Option<T> {
        let mut state = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.get_mut(index).map(f)
    }

    fn stopped(&self, index: usize) -> bool {
        self.with_state(index, |s| s.stopped).unwrap_or(false)
    }
}

pub async fn run(client: Client, sim: Simulation) {
    let nodes = node::plan(&sim);
    if nodes.is_empty() {
        info!("no nodes to simulate");
        return std::future::pending().await;
    }
    let by_name = nodes.iter().map(|n| (n.name.clone(), n.index)).collect();
    let state = nodes
        .iter()
        .map(|_| NodeState {
            registered: false,
            uid: None,
            stopped: false,
            last_status: None,
            ready_since: Timestamp::now(),
        })
        .collect();
    let writes = Semaphore::new(sim.max_concurrent_writes.max(1));
    let shared = Arc::new(Shared {
        client,
        sim,
        nodes,
        by_name,
        state: Mutex::new(state),
        writes,
    });
    info!(
        nodes = shared.nodes.len(),
        site = %shared.sim.site,
        first = %shared.nodes[0].name,
        "simulating nodes"
    );
    let (resume_tx, resume_rx) = mpsc::unbounded_channel();
    tokio::join!(
        heartbeats(shared.clone(), resume_rx),
        watch_nodes(shared.clone(), resume_tx),
        PodLoop::new(shared).run(),
    );
}

// ---------------------------------------------------------------- nodes

async fn heartbeats(shared: Arc<Shared>, mut resume: mpsc::UnboundedReceiver<usize>) {
    let count = shared.nodes.len();
    let limit = shared.sim.max_concurrent_writes.max(1);
    // Register everything first, as fast as the write limit allows.
    futures::stream::iter(0..count)
        .for_each_concurrent(limit, |i| heartbeat(&shared, i, false))
        .await;
    let slots = count.clamp(1, 10);
    let tick = (shared.sim.renew_interval / u32::try_from(slots).unwrap_or(1))
        .max(Duration::from_millis(10));
    let mut interval = tokio::time::interval_at(Instant::now() + tick, tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut slot = 0;
    loop {
        tokio::select! {
            _ = interval.tick() => {
                let batch = (slot..count).step_by(slots);
                slot = (slot + 1) % slots;
                futures::stream::iter(batch)
                    .for_each_concurrent(limit, |i| heartbeat(&shared, i, false))
                    .await;
            }
            Some(i) = resume.recv() => heartbeat(&shared, i, true).await,
        }
    }
}

/// One heartbeat of node `i`: register if needed, renew the Lease, post
/// status when due (or `force`d, after a stop).
async fn heartbeat(shared: &Shared, i: usize, force: bool) {
    let Some(plan) = shared.nodes.get(i) else {
        return;
    };
    let Some((stopped, registered)) = shared.with_state(i, |s| (s.stopped, s.registered)) else {
        return;
    };
    if stopped {
        return;
    }
    if !registered {
        match register(shared, plan).await {
            Ok(uid) => {
                shared.with_state(i, |s| {
                    s.registered = true;
                    s.uid = uid;
                    s.last_status = Some(Instant::now());
                });
            }
            Err(error) => {
                warn!(node = %plan.name, %error, "registering node failed; retrying next heartbeat");
                return;
            }
        }
    }
    if let Err(error) = renew_lease(shared, i, plan).await {
        warn!(node = %plan.name, %error, "renewing lease failed");
    }
    let due = shared
        .with_state(i, |s| {
            if force {
                s.ready_since = Timestamp::now();
            }
            force
                || s.last_status
                    .is_none_or(|t| t.elapsed() >= shared.sim.status_report_interval)
        })
        .unwrap_or(false);
    if due {
        match post_status(shared, i, plan).await {
            Ok(()) => {
                shared.with_state(i, |s| s.last_status = Some(Instant::now()));
            }
            Err(error) => warn!(node = %plan.name, %error, "posting node status failed"),
        }
    }
}

fn is_status(error: &kube::Error, pred: impl Fn(&kube::core::Status) -> bool) -> bool {
    matches!(error, kube::Error::Api(status) if pred(status))
}

/// Creates the node, or updates the labels (and an empty podCIDR) of an
/// existing one; then writes its status. Returns the node's uid.
async fn register(shared: &Shared, plan: &NodePlan) -> Result<Option<String>, kube::Error> {
    let api: Api<Node> = Api::all(shared.client.clone());
    let object = node::node_object(&shared.sim, plan);
    let _permit = shared.writes.acquire().await;
    let uid = match api.create(&PostParams::default(), &object).await {
        Ok(created) => {
            info!(node = %plan.name, cidr = %plan.pod_block.cidr(), "registered node");
            created.metadata.uid
        }
        Err(error) if is_status(&error, |s| s.is_already_exists() || s.code == 409) => {
            let existing = api.get(&plan.name).await?;
            let mut patch = json!({ "metadata": { "labels": node::labels(&shared.sim, plan) } });
            let cidr = existing.spec.as_ref().and_then(|s| s.pod_cidr.as_deref());
            match cidr {
                None | Some("") => {
                    patch["spec"] = json!({
                        "podCIDR": plan.pod_block.cidr(),
                        "podCIDRs": [plan.pod_block.cidr()],
                    });
                }
                Some(cidr) if cidr != plan.pod_block.cidr() => {
                    warn!(node = %plan.name, existing = cidr, wanted = %plan.pod_block.cidr(),
                        "node exists with another podCIDR; pod IPs will come from the planned one");
                }
                Some(_) => {}
            }
            let updated = api
                .patch(&plan.name, &PatchParams::default(), &Patch::Merge(patch))
                .await?;
            info!(node = %plan.name, "node exists; updated its labels");
            updated.metadata.uid
        }
        Err(error) => return Err(error),
    };
    let status = node::node_status(&shared.sim, plan, Timestamp::now(), Timestamp::now());
    api.patch_status(
        &plan.name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(uid)
}

async fn post_status(shared: &Shared, i: usize, plan: &NodePlan) -> Result<(), kube::Error> {
    let since = shared
        .with_state(i, |s| s.ready_since)
        .unwrap_or_else(Timestamp::now);
    let status = node::node_status(&shared.sim, plan, Timestamp::now(), since);
    let api: Api<Node> = Api::all(shared.client.clone());
    let _permit = shared.writes.acquire().await;
    api.patch_status(
        &plan.name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    debug!(node = %plan.name, "posted node status");
    Ok(())
}

async fn renew_lease(shared: &Shared, i: usize, plan: &NodePlan) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(shared.client.clone(), LEASE_NAMESPACE);
    let now = Timestamp::now();
    let spec = node::lease_spec(&shared.sim, &plan.name, now);
    let _permit = shared.writes.acquire().await;
    match api
        .patch(
            &plan.name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": spec })),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_status(&error, |s| s.is_not_found() || s.code == 404) => {
            let uid = shared.with_state(i, |s| s.uid.clone()).flatten();
            let lease = node::lease_object(&shared.sim, &plan.name, uid.as_deref(), now);
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(()),
                Err(error) if is_status(&error, |s| s.code == 409) => Ok(()),
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// Watches the simulated nodes for the heartbeat annotation.
async fn watch_nodes(shared: Arc<Shared>, resume: mpsc::UnboundedSender<usize>) {
    let api: Api<Node> = Api::all(shared.client.clone());
    let selector = format!("{SIMULATED_LABEL}=true,{SITE_LABEL}={}", shared.sim.site);
    let config = watcher::Config::default().labels(&selector);
    let mut stream = watcher(api, config).default_backoff().boxed();
    loop {
        match stream.try_next().await {
            Ok(Some(watcher::Event::Apply(object) | watcher::Event::InitApply(object))) => {
                let Some(&i) = object
                    .metadata
                    .name
                    .as_ref()
                    .and_then(|n| shared.by_name.get(n))
                else {
                    continue;
                };
                let stop = node::heartbeat_stopped(&object);
                let uid = object.metadata.uid.clone();
                let was = shared
                    .with_state(i, |s| {
                        if uid.is_some() {
                            s.uid = uid;
                        }
                        std::mem::replace(&mut s.stopped, stop)
                    })
                    .unwrap_or(stop);
                match (was, stop) {
                    (false, true) => info!(node = %shared.nodes[i].name, "heartbeat stopped"),
                    (true, false) => {
                        info!(node = %shared.nodes[i].name, "heartbeat resumed");
                        let _ = resume.send(i);
                    }
                    _ => {}
                }
            }
            Ok(Some(watcher::Event::Delete(object))) => {
                if let Some(&i) = object
                    .metadata
                    .name
                    .as_ref()
                    .and_then(|n| shared.by_name.get(n))
                {
                    warn!(node = %shared.nodes[i].name, "simulated node was deleted; not re-registering (as kubelet)");
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(error) => warn!(%error, "node watch failed; retrying"),
        }
    }
}

// ---------------------------------------------------------------- pods

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// Containers start.
    Start,
    /// Readiness probes pass.
    Ready,
    /// Containers exit with this code.
    Finish(i32),
    /// The grace period ended: terminate and delete.
    Delete,
    /// Write the status of the current stage again (after a failed write).
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    Pending,
    Running { ready: bool },
    Finished { code: i32 },
}

#[derive(Debug)]
struct Entry {
    pod: Pod,
    node: usize,
    ip: Option<Ipv4Addr>,
    /// Whether `ip` is still allocated in the node's pool.
    holds_ip: bool,
    started: Timestamp,
    stage: Stage,
    deleting: bool,
}

enum Feedback {
    Retry(String, Action),
    /// The pod is gone from the API (not found / deleted by us).
    Gone(String),
}

struct PodLoop {
    shared: Arc<Shared>,
    pools: Vec<PodIpPool>,
    pods: HashMap<String, Entry>,
    timers: BinaryHeap<Reverse<(Instant, u64, String, Action)>>,
    seq: u64,
    feedback_tx: mpsc::UnboundedSender<Feedback>,
    feedback_rx: mpsc::UnboundedReceiver<Feedback>,
    /// Pods seen during a (re)list, to forget the others at its end.
    relist: Option<HashSet<String>>,
}

impl PodLoop {
    fn new(shared: Arc<Shared>) -> Self {
        let pools = shared
            .nodes
            .iter()
            .map(|n| PodIpPool::new(n.pod_block))
            .collect();
        let (feedback_tx, feedback_rx) = mpsc::unbounded_channel();
        Self {
            shared,
            pools,
            pods: HashMap::new(),
            timers: BinaryHeap::new(),
            seq: 0,
            feedback_tx,
            feedback_rx,
            relist: None,
        }
    }

    async fn run(mut self) {
        // Pods decoded without their managedFields, which nothing here reads.
        let api: Api<Lean<Pod>> = Api::all(self.shared.client.clone());
        let fields = match self.shared.nodes.as_slice() {
            [only] => format!("spec.nodeName={}", only.name),
            _ => "spec.nodeName!=".to_owned(),
        };
        let config = watcher::Config::default().fields(&fields);
        let mut stream = watcher(api, config)
            .default_backoff()
            .map_ok(mars_informer::unwrapped)
            .boxed();
        loop {
            let next = self.timers.peek().map(|Reverse((at, ..))| *at);
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                event = stream.try_next() => match event {
                    Ok(Some(event)) => self.on_event(event),
                    Ok(None) => return,
                    Err(error) => warn!(%error, "pod watch failed; retrying"),
                },
                () = tokio::time::sleep_until(next.unwrap_or(far)), if next.is_some() => self.fire_due(),
                Some(feedback) = self.feedback_rx.recv() => match feedback {
                    Feedback::Retry(uid, action) => self.schedule(uid, RETRY, action),
                    Feedback::Gone(uid) => self.forget(&uid),
                },
            }
        }
    }

    fn schedule(&mut self, uid: String, after: Duration, action: Action) {
        self.seq += 1;
        self.timers
            .push(Reverse((Instant::now() + after, self.seq, uid, action)));
    }

    fn fire_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, ..))) = self.timers.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, _, uid, action))) = self.timers.pop() {
                self.fire(uid, action);
            }
        }
    }

    fn on_event(&mut self, event: watcher::Event<Pod>) {
        match event {
            watcher::Event::Init => self.relist = Some(HashSet::new()),
            watcher::Event::InitApply(pod) => {
                if let (Some(seen), Some(uid)) = (self.relist.as_mut(), pod.metadata.uid.as_ref()) {
                    seen.insert(uid.clone());
                }
                self.on_apply(pod);
            }
            watcher::Event::InitDone => {
                if let Some(seen) = self.relist.take() {
                    let gone: Vec<String> = self
                        .pods
                        .keys()
                        .filter(|u| !seen.contains(*u))
                        .cloned()
                        .collect();
                    for uid in gone {
                        self.forget(&uid);
                    }
                }
            }
            watcher::Event::Apply(pod) => self.on_apply(pod),
            watcher::Event::Delete(pod) => {
                if let Some(uid) = pod.metadata.uid.as_deref() {
                    self.forget(uid);
                }
            }
        }
    }

    fn forget(&mut self, uid: &str) {
        if let Some(mut entry) = self.pods.remove(uid) {
            release(&mut self.pools, &mut entry);
            debug!(pod = %name_of(&entry.pod), "pod gone");
        }
    }

    fn on_apply(&mut self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let node = pod.spec.as_ref().and_then(|s| s.node_name.as_ref());
        let Some(&index) = node.and_then(|n| self.shared.by_name.get(n)) else {
            return;
        };
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| {
                pod.spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds)
            })
            .unwrap_or(30);
        let grace = Duration::from_secs(u64::try_from(grace).unwrap_or(0))
            .min(self.shared.sim.deletion_grace_cap);
        if let Some(entry) = self.pods.get_mut(&uid) {
            entry.pod = pod;
            if deleting && !entry.deleting {
                entry.deleting = true;
                self.schedule(uid, grace, Action::Delete);
            }
            return;
        }
        // A pod new to us.
        let mut entry = Entry {
            node: index,
            ip: None,
            holds_ip: false,
            started: pod::existing_start(&pod).unwrap_or_else(Timestamp::now),
            stage: Stage::Pending,
            deleting,
            pod,
        };
        if pod::is_terminal(&entry.pod) {
            entry.stage = Stage::Finished { code: 0 };
        } else if let Some(pool) = self.pools.get_mut(index) {
            // Adopt the IP of a pod that already runs (agent restart).
            entry.ip = pod::existing_ip(&entry.pod).filter(|ip| pool.reserve(*ip));
            entry.holds_ip = entry.ip.is_some();
        }
        let running = pod::is_running_ready(&entry.pod) && entry.ip.is_some();
        if running {
            entry.stage = Stage::Running { ready: true };
        }
        let exit = pod::exit_rule(&entry.pod);
        let start_delay = pod::start_delay(
            &uid,
            self.shared.sim.pod_start_delay_min,
            self.shared.sim.pod_start_delay_max,
        );
        self.pods.insert(uid.clone(), entry);
        if deleting {
            self.schedule(uid, grace, Action::Delete);
        } else if running {
            if let Some(exit) = exit {
                let ran = self
                    .pods
                    .get(&uid)
                    .map(|e| {
                        Duration::try_from(Timestamp::now().duration_since(e.started))
                            .unwrap_or_default()
                    })
                    .unwrap_or_default();
                self.schedule(
                    uid,
                    exit.after.saturating_sub(ran),
                    Action::Finish(exit.code),
                );
            }
        } else if matches!(self.pods.get(&uid).map(|e| e.stage), Some(Stage::Pending)) {
            self.schedule(uid, start_delay, Action::Start);
        }
    }

    fn fire(&mut self, uid: String, action: Action) {
        let Some(entry) = self.pods.get(&uid) else {
            return;
        };
        if self.shared.stopped(entry.node) {
            // A dead kubelet does nothing; try again later.
            self.schedule(uid, RETRY, action);
            return;
        }
        let cap = self.shared.sim.readiness_delay_cap;
        match action {
            Action::Start => {
                if entry.deleting || entry.stage != Stage::Pending {
                    return;
                }
                let ip = match entry.ip {
                    Some(ip) => Some(ip),
                    None => self.pools.get_mut(entry.node).and_then(PodIpPool::allocate),
                };
                let Some(ip) = ip else {
                    warn!(pod = %name_of(&entry.pod), node = %self.shared.nodes[entry.node].name,
                        "no free pod IP in the node's podCIDR; retrying");
                    self.schedule(uid, Duration::from_secs(5), Action::Start);
                    return;
                };
                let delay = pod::readiness_delay(&entry.pod, cap);
                let exit = pod::exit_rule(&entry.pod);
                if let Some(entry) = self.pods.get_mut(&uid) {
                    entry.ip = Some(ip);
                    entry.holds_ip = true;
                    entry.started = Timestamp::now();
                    entry.stage = Stage::Running {
                        ready: delay.is_zero(),
                    };
                }
                self.write(&uid, Action::Resync);
                if !delay.is_zero() {
                    self.schedule(uid.clone(), delay, Action::Ready);
                }
                if let Some(exit) = exit {
                    self.schedule(uid, exit.after, Action::Finish(exit.code));
                }
            }
            Action::Ready => {
                if entry.deleting || entry.stage != (Stage::Running { ready: false }) {
                    return;
                }
                if let Some(entry) = self.pods.get_mut(&uid) {
                    entry.stage = Stage::Running { ready: true };
                }
                self.write(&uid, Action::Resync);
            }
            Action::Finish(code) => {
                if entry.deleting || !matches!(entry.stage, Stage::Running { .. }) {
                    return;
                }
                if let Some(entry) = self.pods.get_mut(&uid) {
                    entry.stage = Stage::Finished { code };
                }
                self.write(&uid, Action::Resync);
                // The sandbox is gone: its IP is free (the status keeps it).
                self.release_ip(&uid);
            }
            Action::Delete => {
                self.write(&uid, Action::Delete);
                self.release_ip(&uid);
            }
            Action::Resync => self.write(&uid, Action::Resync),
        }
    }

    fn release_ip(&mut self, uid: &str) {
        if let Some(entry) = self.pods.get_mut(uid) {
            release(&mut self.pools, entry);
        }
    }

    /// The status the pod should have in its current stage.
    fn desired_status(&self, entry: &Entry, terminate: bool) -> Option<PodStatus> {
        let plan = self.shared.nodes.get(entry.node)?;
        let at = Placement {
            host_ip: plan.host_ip,
            pod_ip: entry.ip?,
            started: entry.started,
        };
        let now = Timestamp::now();
        match entry.stage {
            _ if pod::is_terminal(&entry.pod) && terminate => None,
            Stage::Pending => None,
            Stage::Running { .. } if terminate => {
                Some(pod::finished_status(&entry.pod, &at, 0, now))
            }
            Stage::Running { ready } => Some(pod::running_status(&entry.pod, &at, ready, now)),
            Stage::Finished { code } => Some(pod::finished_status(&entry.pod, &at, code, now)),
        }
    }

    /// Spawns the write for `action` (Resync: write the stage's status;
    /// Delete: terminate and delete), bounded by the write semaphore.
    fn write(&self, uid: &str, action: Action) {
        let Some(entry) = self.pods.get(uid) else {
            return;
        };
        let terminate = action == Action::Delete;
        let status = self.desired_status(entry, terminate);
        if status.is_none() && !terminate {
            return;
        }
        let namespace = entry
            .pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = entry.pod.metadata.name.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), &namespace);
        let shared = self.shared.clone();
        let feedback = self.feedback_tx.clone();
        let uid = uid.to_owned();
        tokio::spawn(async move {
            let _permit = shared.writes.acquire().await;
            if let Some(status) = status {
                let phase = status.phase.clone().unwrap_or_default();
                let patch = Patch::Merge(json!({ "status": status }));
                match api
                    .patch_status(&name, &PatchParams::default(), &patch)
                    .await
                {
                    Ok(_) => {
                        debug!(pod = %format!("{namespace}/{name}"), %phase, "wrote pod status")
                    }
                    Err(error) if is_status(&error, |s| s.code == 404) => {
                        let _ = feedback.send(Feedback::Gone(uid));
                        return;
                    }
                    Err(error) => {
                        warn!(pod = %format!("{namespace}/{name}"), %error, "writing pod status failed; retrying");
                        let _ = feedback.send(Feedback::Retry(uid, action));
                        return;
                    }
                }
            }
            if terminate {
                let params = DeleteParams {
                    grace_period_seconds: Some(0),
                    ..DeleteParams::default()
                }
                .preconditions(Preconditions {
                    uid: Some(uid.clone()),
                    resource_version: None,
                });
                match api.delete(&name, &params).await {
                    Ok(_) => debug!(pod = %format!("{namespace}/{name}"), "deleted pod"),
                    Err(error) if is_status(&error, |s| s.code == 404 || s.code == 409) => {
                        let _ = feedback.send(Feedback::Gone(uid));
                    }
                    Err(error) => {
                        warn!(pod = %format!("{namespace}/{name}"), %error, "deleting pod failed; retrying");
                        let _ = feedback.send(Feedback::Retry(uid, action));
                    }
                }
            }
        });
    }
}

/// Frees the entry's IP once (the entry keeps it for its status).
fn release(pools: &mut [PodIpPool], entry: &mut Entry) {
    if entry.holds_ip {
        entry.holds_ip = false;
        if let (Some(ip), Some(pool)) = (entry.ip, pools.get_mut(entry.node)) {
            pool.release(ip);
        }
    }
}

fn name_of(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}
