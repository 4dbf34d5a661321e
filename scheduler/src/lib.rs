//! Pod placement: a basic scheduler that binds pending pods to nodes that
//! fit (resources, node selectors and affinity, taints and tolerations,
//! pod (anti-)affinity, host ports), spreading them by topology. It talks
//! only to the API (watches, and the `binding` subresource), like
//! kube-scheduler; the global scheduler replaces it later, so it stays its
//! own component.
//!
//! The decisions live in the pure [`core`] (a cluster snapshot with
//! incremental aggregates) and [`queue`]; this file is the IO shell.

pub mod core;
pub mod quantity;
pub mod queue;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Binding, Event, EventSource, Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WEvent};
use mars_informer::Lean;
use tokio::sync::{Semaphore, mpsc};

use crate::core::{Cluster, NodeData, PodInfo};
use crate::queue::Queue;

pub const DEFAULT_SCHEDULER: &str = "default-scheduler";
const BATCH: usize = 256;

/// Runs the scheduler (as `default-scheduler`) until the future is dropped.
pub async fn run(client: kube::Client) {
    run_named(client, DEFAULT_SCHEDULER).await
}

enum Outcome {
    Bound(String),
    Gone(String),
    Failed(String),
}

fn pod_key(p: &Pod) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or(""),
        p.metadata.name.as_deref().unwrap_or("")
    )
}

fn terminated(p: &Pod) -> bool {
    matches!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Runs the scheduler for pods whose `spec.schedulerName` is `name`
/// (`default-scheduler` also takes pods without one).
pub async fn run_named(client: kube::Client, name: &str) {
    let name = name.to_string();
    let mut nodes = watcher::watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .boxed();
    // Pods decoded without their managedFields, which nothing here reads.
    let mut pods = watcher::watcher(
        Api::<Lean<Pod>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .map_ok(mars_informer::unwrapped)
    .boxed();
    let mut state = State {
        events: Events::start(client.clone()),
        client,
        name,
        cluster: Cluster::new(),
        queue: Queue::default(),
        sem: Arc::new(Semaphore::new(64)),
        tx: mpsc::unbounded_channel().0,
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
    state.tx = tx;
    let (mut node_seen, mut pod_seen): (Option<HashSet<String>>, Option<HashSet<String>>) =
        (None, None);
    let (mut nodes_synced, mut pods_synced) = (false, false);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut more = false;
    tracing::info!(scheduler = %state.name, "scheduler starting");
    loop {
        if nodes_synced && pods_synced {
            more = state.schedule_batch();
        }
        tokio::select! {
            biased;
            Some(ev) = nodes.next() => match ev {
                Ok(WEvent::Init) => node_seen = Some(HashSet::new()),
                Ok(WEvent::InitApply(n)) => {
                    if let (Some(seen), Some(nm)) = (node_seen.as_mut(), n.metadata.name.as_ref()) {
                        seen.insert(nm.clone());
                    }
                    state.on_node(&n);
                }
                Ok(WEvent::InitDone) => {
                    if let Some(seen) = node_seen.take() {
                        state.cluster.retain_nodes(&seen);
                    }
                    nodes_synced = true;
                    state.queue.cluster_changed();
                }
                Ok(WEvent::Apply(n)) => state.on_node(&n),
                Ok(WEvent::Delete(n)) => {
                    if let Some(nm) = &n.metadata.name {
                        state.cluster.remove_node(nm);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "node watch error"),
            },
            Some(ev) = pods.next() => match ev {
                Ok(WEvent::Init) => pod_seen = Some(HashSet::new()),
                Ok(WEvent::InitApply(p)) => {
                    if let Some(seen) = pod_seen.as_mut() {
                        seen.insert(pod_key(&p));
                    }
                    state.on_pod(p);
                }
                Ok(WEvent::InitDone) => {
                    if let Some(seen) = pod_seen.take() {
                        for k in state.cluster.pod_keys() {
                            if !seen.contains(&k) && !state.cluster.is_assumed(&k) {
                                state.cluster.remove_pod(&k);
                            }
                        }
                    }
                    pods_synced = true;
                    state.queue.cluster_changed();
                }
                Ok(WEvent::Apply(p)) => state.on_pod(p),
                Ok(WEvent::Delete(p)) => {
                    let k = pod_key(&p);
                    state.cluster.remove_pod(&k);
                    state.queue.remove(&k);
                    state.queue.cluster_changed();
                }
                Err(e) => tracing::warn!(error = %e, "pod watch error"),
            },
            Some(out) = rx.recv() => match out {
                Outcome::Bound(k) => { state.queue.remove(&k); }
                Outcome::Gone(k) => { state.queue.remove(&k); state.cluster.forget(&k); }
                Outcome::Failed(k) => { state.cluster.forget(&k); state.queue.retry(&k, Instant::now()); }
            },
            _ = tick.tick() => state.queue.flush(Instant::now()),
            _ = std::future::ready(()), if more => {}
        }
    }
}

struct State {
    client: kube::Client,
    name: String,
    cluster: Cluster,
    queue: Queue<(Arc<Pod>, PodInfo)>,
    sem: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Outcome>,
    events: Events,
}

impl State {
    fn on_node(&mut self, n: &Node) {
        let Some(name) = &n.metadata.name else { return };
        self.cluster.upsert_node(name, NodeData::from_node(n));
        self.queue.cluster_changed();
    }

    fn on_pod(&mut self, p: Pod) {
        let key = pod_key(&p);
        if terminated(&p) {
            self.cluster.remove_pod(&key);
            self.queue.remove(&key);
            self.queue.cluster_changed();
            return;
        }
        let info = PodInfo::from_pod(&p);
        if info.node_name.is_some() {
            self.queue.remove(&key);
            self.cluster.add_pod(info, false);
            self.queue.cluster_changed();
            return;
        }
        let sched = p
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or("");
        let mine = sched == self.name || (sched.is_empty() && self.name == DEFAULT_SCHEDULER);
        if !mine || p.metadata.deletion_timestamp.is_some() {
            self.queue.remove(&key);
            return;
        }
        if self.cluster.is_assumed(&key) {
            return; // binding in flight
        }
        let changed = self
            .queue
            .get(&key)
            .is_some_and(|(old, _)| old.spec != p.spec || old.metadata.labels != p.metadata.labels);
        let created = p
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(0, |t| t.0.as_second());
        self.queue.upsert(
            &key,
            (Arc::new(p), info.clone()),
            info.priority,
            created,
            changed,
        );
    }

    /// Schedules up to a batch of pods; true if more may be waiting.
    fn schedule_batch(&mut self) -> bool {
        let now = Instant::now();
        for _ in 0..BATCH {
            let Some((key, (pod, info))) = self
                .queue
                .pop(now)
                .map(|(k, (p, i))| (k, (p.clone(), i.clone())))
            else {
                return false;
            };
            match self.cluster.schedule(&info) {
                Ok(node) => {
                    tracing::debug!(pod = %key, node = %node, "scheduled");
                    self.cluster.assume(info, &node);
                    self.spawn_bind(key, pod, node);
                }
                Err(fit) => {
                    let msg = fit.message();
                    tracing::info!(pod = %key, reason = %msg, "unschedulable");
                    self.queue.unschedulable(&key, now);
                    self.spawn_unschedulable(pod, msg);
                }
            }
        }
        true
    }

    fn spawn_bind(&self, key: String, pod: Arc<Pod>, node: String) {
        let (client, sem, tx, who, events) = (
            self.client.clone(),
            self.sem.clone(),
            self.tx.clone(),
            self.name.clone(),
            self.events.clone(),
        );
        tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let binding = Binding {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    uid: pod.metadata.uid.clone(),
                    ..Default::default()
                },
                target: ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Node".into()),
                    name: Some(node.clone()),
                    ..Default::default()
                },
            };
            let res = api
                .create_subresource::<_, serde_json::Value>(
                    "binding",
                    &name,
                    &PostParams::default(),
                    &binding,
                )
                .await;
            let out = match res {
                Ok(_) => {
                    let msg = format!("Successfully assigned {ns}/{name} to {node}");
                    events.record(&pod, &who, "Normal", "Scheduled", "Binding", &msg);
                    Outcome::Bound(key)
                }
                Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                    tracing::info!(pod = %key, code = s.code, "binding rejected; dropping");
                    Outcome::Gone(key)
                }
                Err(e) => {
                    tracing::warn!(pod = %key, error = %e, "binding failed; will retry");
                    Outcome::Failed(key)
                }
            };
            let _ = tx.send(out);
        });
    }

    fn spawn_unschedulable(&self, pod: Arc<Pod>, msg: String) {
        let (client, sem) = (self.client.clone(), self.sem.clone());
        self.events.record(
            &pod,
            &self.name,
            "Warning",
            "FailedScheduling",
            "Scheduling",
            &msg,
        );
        tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let already = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
                .is_some_and(|c| c.status == "False" && c.message.as_deref() == Some(msg.as_str()));
            if already {
                return;
            }
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let patch = serde_json::json!({"status": {"conditions": [{
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": msg,
                "lastProbeTime": null,
                "lastTransitionTime": Time(jiff::Timestamp::now()),
            }]}});
            let api: Api<Pod> = Api::namespaced(client, &ns);
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
            {
                tracing::debug!(pod = %name, error = %e, "could not set PodScheduled condition");
            }
        });
    }
}

/// Events about pods, written in the background: a binding never waits
/// for its event, and when the API cannot keep up the oldest unwritten
/// events are kept and newer ones dropped (client-go's event broadcaster
/// drops them the same way), so events never slow scheduling down.
#[derive(Clone)]
struct Events {
    tx: mpsc::Sender<Event>,
}

/// Events waiting to be written before new ones are dropped.
const EVENT_BACKLOG: usize = 1000;
/// Event writes under way at once.
const EVENT_WRITERS: usize = 8;

impl Events {
    fn start(client: kube::Client) -> Self {
        let (tx, rx) = mpsc::channel::<Event>(EVENT_BACKLOG);
        let writes = futures::stream::unfold(rx, |mut rx| async {
            rx.recv().await.map(|event| (event, rx))
        })
        .map(move |event| {
            let api = Api::<Event>::namespaced(
                client.clone(),
                event.metadata.namespace.as_deref().unwrap_or_default(),
            );
            async move {
                if let Err(e) = api.create(&PostParams::default(), &event).await {
                    tracing::debug!(error = %e, "could not record event");
                }
            }
        })
        .buffer_unordered(EVENT_WRITERS)
        .for_each(|()| std::future::ready(()));
        tokio::spawn(writes);
        Self { tx }
    }

    fn record(&self, pod: &Pod, who: &str, type_: &str, reason: &str, action: &str, msg: &str) {
        let event = pod_event(pod, who, type_, reason, action, msg);
        if self.tx.try_send(event).is_err() {
            tracing::debug!(reason, "event backlog full; event dropped");
        }
    }
}

fn pod_event(pod: &Pod, who: &str, type_: &str, reason: &str, action: &str, msg: &str) -> Event {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let now = jiff::Timestamp::now();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name),
            namespace: Some(ns),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..Default::default()
        },
        reason: Some(reason.into()),
        message: Some(msg.into()),
        type_: Some(type_.into()),
        action: Some(action.into()),
        source: Some(EventSource {
            component: Some(who.into()),
            host: None,
        }),
        reporting_component: Some(who.into()),
        reporting_instance: Some(who.into()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        count: Some(1),
        ..Default::default()
    }
}
