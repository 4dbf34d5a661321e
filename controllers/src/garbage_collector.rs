//! The garbage collector, as kube-controller-manager's `garbagecollector`
//! (pkg/controller/garbagecollector): a graph of `ownerReferences` over
//! every discovered resource (watches that decode only each object's
//! identity and ownership, so custom resources are covered and a pod's
//! managed fields cost nothing), indexed by owner uid, and
//! - background: an object all of whose owners are gone (404 on GET, or a
//!   different uid) is deleted, with its dangling references checked live;
//! - foreground: an owner being deleted with the `foregroundDeletion`
//!   finalizer has its dependents deleted, and loses the finalizer once no
//!   dependent with `blockOwnerDeletion` remains;
//! - orphan: an owner being deleted with the `orphan` finalizer has its
//!   reference removed from every dependent, then loses the finalizer.
//!
//! The decisions are pure functions over the graph ([`Graph`], [`decide`],
//! [`plan_deleting_owner`]); `run` wires them to watches and writes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::core::{ApiResource, DynamicResourceScope};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::namespace::{Discovered, discover};

/// Finalizer asking for dependents to be orphaned.
pub const ORPHAN: &str = "orphan";
/// Finalizer asking for dependents to be deleted first.
pub const FOREGROUND: &str = "foregroundDeletion";

/// One object in the graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    /// Index of its resource in the controller's resource table.
    pub resource: usize,
    pub namespace: Option<String>,
    pub name: String,
    pub owners: Vec<OwnerReference>,
    pub finalizers: Vec<String>,
    /// Has a deletionTimestamp.
    pub deleting: bool,
}

impl Node {
    fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }

    /// Being deleted in the foreground (waiting for its dependents).
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }
}

/// The ownership graph: objects by uid, and dependents by owner uid.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: HashMap<String, Node>,
    pub dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    /// Records an object; returns the uids to (re)examine.
    pub fn upsert(&mut self, uid: &str, node: Node) -> Vec<String> {
        let mut todo = Vec::new();
        let old = self.nodes.remove(uid);
        if let Some(old) = &old {
            for o in &old.owners {
                if let Some(set) = self.dependents.get_mut(&o.uid) {
                    set.remove(uid);
                    if set.is_empty() {
                        self.dependents.remove(&o.uid);
                    }
                }
                // A blocking reference went away: the owner may be done.
                if !node.owners.iter().any(|n| n.uid == o.uid) {
                    todo.push(o.uid.clone());
                }
            }
        }
        for o in &node.owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(uid.to_string());
        }
        let owners_changed = old.as_ref().is_none_or(|o| o.owners != node.owners);
        if node.deleting && (node.has_finalizer(ORPHAN) || node.has_finalizer(FOREGROUND)) {
            todo.push(uid.to_string());
            if node.has_finalizer(FOREGROUND) {
                todo.extend(self.dependents_of(uid));
            }
        } else if !node.owners.is_empty() && (owners_changed || node.deleting) {
            todo.push(uid.to_string());
        }
        if node.deleting && !old.as_ref().is_some_and(|o| o.deleting) {
            // Owners waiting on this one may now proceed.
            todo.extend(node.owners.iter().map(|o| o.uid.clone()));
        }
        self.nodes.insert(uid.to_string(), node);
        todo
    }

    /// Forgets an object; returns the uids to (re)examine: its dependents
    /// (their owner is gone) and its owners (one fewer blocking dependent).
    pub fn remove(&mut self, uid: &str) -> Vec<String> {
        let mut todo = self.dependents_of(uid);
        if let Some(old) = self.nodes.remove(uid) {
            for o in &old.owners {
                if let Some(set) = self.dependents.get_mut(&o.uid) {
                    set.remove(uid);
                    if set.is_empty() {
                        self.dependents.remove(&o.uid);
                    }
                }
                todo.push(o.uid.clone());
            }
        }
        todo
    }

    /// The uids of the objects that name `uid` as an owner.
    pub fn dependents_of(&self, uid: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        out.sort();
        out
    }
}

/// What an owner reference points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// Exists and is not being deleted in the foreground.
    Solid,
    /// Gone (404, or the name now belongs to another uid).
    Dangling,
    /// Being deleted in the foreground: waiting for its dependents.
    WaitingForDependents,
    /// Cannot be resolved (unknown kind): left alone.
    Unknown,
}

/// What to do with a dependent, given the states of its owners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Some owners remain: drop the references to the gone / deleting ones.
    RemoveOwnerRefs(Vec<String>),
    /// Delete it with this propagation policy.
    Delete(&'static str),
}

/// kube's `attemptToDeleteItem` for an object not itself being deleted.
pub fn decide(node: &Node, owners: &[(String, OwnerState)], has_dependents: bool) -> Decision {
    if node.deleting || owners.is_empty() {
        return Decision::Nothing;
    }
    if owners.iter().any(|(_, s)| *s == OwnerState::Unknown) {
        return Decision::Nothing;
    }
    let solid = owners.iter().any(|(_, s)| *s == OwnerState::Solid);
    let gone: Vec<String> = owners
        .iter()
        .filter(|(_, s)| *s != OwnerState::Solid)
        .map(|(u, _)| u.clone())
        .collect();
    if solid {
        return if gone.is_empty() {
            Decision::Nothing
        } else {
            Decision::RemoveOwnerRefs(gone)
        };
    }
    let waiting = owners
        .iter()
        .any(|(_, s)| *s == OwnerState::WaitingForDependents);
    if waiting && has_dependents {
        return Decision::Delete("Foreground");
    }
    if node.has_finalizer(ORPHAN) {
        Decision::Delete("Orphan")
    } else if node.has_finalizer(FOREGROUND) {
        Decision::Delete("Foreground")
    } else {
        Decision::Delete("Background")
    }
}

/// What to do for an owner being deleted with a GC finalizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerPlan {
    Nothing,
    /// Remove this owner's reference from these dependents, then the
    /// `orphan` finalizer.
    Orphan(Vec<String>),
    /// Foreground: dependents still blocking; examine these dependents.
    Wait(Vec<String>),
    /// Foreground with nothing blocking: remove `foregroundDeletion`.
    RemoveForegroundFinalizer,
}

/// kube's orphan and `processDeletingDependentsItem` decisions.
pub fn plan_deleting_owner(graph: &Graph, uid: &str) -> OwnerPlan {
    let Some(node) = graph.nodes.get(uid) else {
        return OwnerPlan::Nothing;
    };
    if !node.deleting {
        return OwnerPlan::Nothing;
    }
    if node.has_finalizer(ORPHAN) {
        return OwnerPlan::Orphan(graph.dependents_of(uid));
    }
    if node.has_finalizer(FOREGROUND) {
        let blocking: Vec<String> = graph
            .dependents_of(uid)
            .into_iter()
            .filter(|d| {
                graph.nodes.get(d).is_some_and(|n| {
                    n.owners
                        .iter()
                        .any(|o| o.uid == uid && o.block_owner_deletion == Some(true))
                })
            })
            .collect();
        return if blocking.is_empty() {
            OwnerPlan::RemoveForegroundFinalizer
        } else {
            OwnerPlan::Wait(graph.dependents_of(uid))
        };
    }
    OwnerPlan::Nothing
}

/// Resources the collector does not track (as kube's `ignoredResources`).
fn ignored(r: &Discovered) -> bool {
    r.resource == "events" && (r.group.is_empty() || r.group == "events.k8s.io")
}

enum Msg {
    Event(usize, watcher::Event<Dependent>),
}

/// What the collector reads of an object of any kind: the metadata fields
/// below. Everything else (spec, status, labels, managedFields) is skipped
/// while decoding, without being built.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Dependent {
    #[serde(default, deserialize_with = "ownership")]
    metadata: ObjectMeta,
}

fn ownership<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<ObjectMeta, D::Error> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Ownership {
        name: Option<String>,
        namespace: Option<String>,
        uid: Option<String>,
        resource_version: Option<String>,
        owner_references: Option<Vec<OwnerReference>>,
        finalizers: Option<Vec<String>>,
        deletion_timestamp: Option<Time>,
    }
    let o = <Ownership as serde::Deserialize>::deserialize(deserializer)?;
    Ok(ObjectMeta {
        name: o.name,
        namespace: o.namespace,
        uid: o.uid,
        resource_version: o.resource_version,
        owner_references: o.owner_references,
        finalizers: o.finalizers,
        deletion_timestamp: o.deletion_timestamp,
        ..ObjectMeta::default()
    })
}

impl kube::Resource for Dependent {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn kind(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.kind.as_str().into()
    }

    fn group(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.group.as_str().into()
    }

    fn version(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.version.as_str().into()
    }

    fn api_version(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.api_version.as_str().into()
    }

    fn plural(dt: &ApiResource) -> std::borrow::Cow<'_, str> {
        dt.plural.as_str().into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

fn node_of(resource: usize, obj: &Dependent) -> Option<(String, Node)> {
    let m = &obj.metadata;
    Some((
        m.uid.clone()?,
        Node {
            resource,
            namespace: m.namespace.clone(),
            name: m.name.clone()?,
            owners: m.owner_references.clone().unwrap_or_default(),
            finalizers: m.finalizers.clone().unwrap_or_default(),
            deleting: m.deletion_timestamp.is_some(),
        },
    ))
}

struct Collector {
    client: kube::Client,
    resources: Vec<Discovered>,
    graph: Graph,
    /// Per resource, the uids seen during a relist in progress.
    relisting: HashMap<usize, HashSet<String>>,
    /// Resources whose watch has listed everything at least once.
    synced: HashSet<usize>,
    /// The running watch of each resource still served.
    watches: HashMap<usize, tokio::task::AbortHandle>,
    due: HashMap<String, (Instant, u32)>,
}

fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

impl Collector {
    fn enqueue(&mut self, uids: Vec<String>) {
        let now = Instant::now();
        for uid in uids {
            let e = self.due.entry(uid).or_insert((now, 0));
            e.0 = e.0.min(now);
        }
    }

    fn handle(&mut self, msg: Msg) {
        let Msg::Event(res, event) = msg;
        match event {
            watcher::Event::Apply(obj) => {
                if let Some((uid, node)) = node_of(res, &obj) {
                    let todo = self.graph.upsert(&uid, node);
                    self.enqueue(todo);
                }
            }
            watcher::Event::Delete(obj) => {
                if let Some(uid) = obj.metadata.uid.as_deref() {
                    let todo = self.graph.remove(uid);
                    self.enqueue(todo);
                }
            }
            watcher::Event::Init => {
                self.relisting.insert(res, HashSet::new());
            }
            watcher::Event::InitApply(obj) => {
                if let Some((uid, node)) = node_of(res, &obj) {
                    self.relisting.entry(res).or_default().insert(uid.clone());
                    let todo = self.graph.upsert(&uid, node);
                    self.enqueue(todo);
                }
            }
            watcher::Event::InitDone => {
                self.synced.insert(res);
                let seen = self.relisting.remove(&res).unwrap_or_default();
                let gone: Vec<String> = self
                    .graph
                    .nodes
                    .iter()
                    .filter(|(uid, n)| n.resource == res && !seen.contains(*uid))
                    .map(|(uid, _)| uid.clone())
                    .collect();
                for uid in gone {
                    let todo = self.graph.remove(&uid);
                    self.enqueue(todo);
                }
            }
        }
    }

    /// Forgets every object of a resource no longer served.
    fn drop_resource(&mut self, res: usize) {
        let gone: Vec<String> = self
            .graph
            .nodes
            .iter()
            .filter(|(_, n)| n.resource == res)
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in gone {
            let todo = self.graph.remove(&uid);
            self.enqueue(todo);
        }
    }

    /// Whether the graph is complete enough to act on: every watch has
    /// listed once (as kube waits for its informers), or enough time passed.
    fn ready(&self, since: Instant) -> bool {
        self.watches.keys().all(|r| self.synced.contains(r))
            || since.elapsed() > Duration::from_secs(30)
    }

    /// Starts watching newly served resources and stops watching (and
    /// forgets the objects of) those no longer served.
    fn rediscovered(&mut self, found: crate::namespace::DiscoveryResult, tx: &mpsc::Sender<Msg>) {
        let watchable: Vec<Discovered> = found
            .resources
            .into_iter()
            .filter(|r| {
                r.supports("list") && r.supports("watch") && r.supports("delete") && !ignored(r)
            })
            .collect();
        for r in &watchable {
            let index = match self
                .resources
                .iter()
                .position(|k| k.group == r.group && k.resource == r.resource)
            {
                Some(i) if self.watches.contains_key(&i) && self.resources[i] == *r => continue,
                Some(i) => {
                    if let Some(h) = self.watches.remove(&i) {
                        h.abort();
                    }
                    self.resources[i] = r.clone();
                    i
                }
                None => {
                    self.resources.push(r.clone());
                    self.resources.len() - 1
                }
            };
            let handle = spawn_watch(self.client.clone(), index, r, tx.clone());
            self.watches.insert(index, handle);
        }
        if found.failures.is_empty() {
            let gone: Vec<usize> = self
                .watches
                .keys()
                .copied()
                .filter(|i| {
                    !watchable.iter().any(|r| {
                        r.group == self.resources[*i].group
                            && r.resource == self.resources[*i].resource
                    })
                })
                .collect();
            for i in gone {
                if let Some(h) = self.watches.remove(&i) {
                    h.abort();
                }
                self.synced.remove(&i);
                self.drop_resource(i);
            }
        }
    }

    fn api(&self, resource: usize, namespace: Option<&str>) -> Option<Api<DynamicObject>> {
        let r = self.resources.get(resource)?;
        let ar: ApiResource = r.api_resource();
        Some(match namespace {
            Some(ns) if r.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        })
    }

    /// The resource an owner reference's apiVersion and kind name.
    fn resolve(&self, owner: &OwnerReference) -> Option<usize> {
        let group = owner.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        self.resources
            .iter()
            .position(|r| r.group == group && r.kind == owner.kind)
    }

    async fn owner_state(&self, node: &Node, owner: &OwnerReference) -> OwnerState {
        if let Some(o) = self.graph.nodes.get(&owner.uid) {
            return if o.deleting_dependents() {
                OwnerState::WaitingForDependents
            } else {
                OwnerState::Solid
            };
        }
        let Some(res) = self.resolve(owner) else {
            return OwnerState::Unknown;
        };
        let namespaced = self.resources[res].namespaced;
        if namespaced && node.namespace.is_none() {
            // A cluster-scoped object cannot be owned by a namespaced one.
            return OwnerState::Dangling;
        }
        let Some(api) = self.api(res, node.namespace.as_deref()) else {
            return OwnerState::Unknown;
        };
        match api.get_metadata_opt(&owner.name).await {
            Ok(None) => OwnerState::Dangling,
            Ok(Some(o)) if o.metadata.uid.as_deref() != Some(owner.uid.as_str()) => {
                OwnerState::Dangling
            }
            Ok(Some(o)) => {
                let deleting = o.metadata.deletion_timestamp.is_some()
                    && o.metadata
                        .finalizers
                        .iter()
                        .flatten()
                        .any(|f| f == FOREGROUND);
                if deleting {
                    OwnerState::WaitingForDependents
                } else {
                    OwnerState::Solid
                }
            }
            Err(error) => {
                tracing::debug!(%error, owner = %owner.name, "cannot read owner");
                OwnerState::Unknown
            }
        }
    }

    /// Examines one object; `Ok(Some(delay))` to look again later.
    async fn process(&mut self, uid: &str) -> Result<Option<Duration>, kube::Error> {
        let Some(node) = self.graph.nodes.get(uid).cloned() else {
            return Ok(None);
        };
        if node.deleting {
            match plan_deleting_owner(&self.graph, uid) {
                OwnerPlan::Nothing => return Ok(None),
                OwnerPlan::Orphan(deps) => {
                    for d in deps {
                        if let Some(dn) = self.graph.nodes.get(&d).cloned() {
                            self.remove_owner_refs(&d, &dn, &[uid.to_string()]).await?;
                        }
                    }
                    self.remove_finalizer(uid, &node, ORPHAN).await?;
                    return Ok(None);
                }
                OwnerPlan::Wait(deps) => {
                    self.enqueue(deps);
                    return Ok(Some(Duration::from_secs(5)));
                }
                OwnerPlan::RemoveForegroundFinalizer => {
                    self.remove_finalizer(uid, &node, FOREGROUND).await?;
                    return Ok(None);
                }
            }
        }
        if node.owners.is_empty() {
            return Ok(None);
        }
        let mut states = Vec::new();
        for o in &node.owners {
            states.push((o.uid.clone(), self.owner_state(&node, o).await));
        }
        let has_dependents = !self.graph.dependents_of(uid).is_empty();
        match decide(&node, &states, has_dependents) {
            Decision::Nothing => {
                if states.iter().any(|(_, s)| *s == OwnerState::Unknown) {
                    return Ok(Some(Duration::from_secs(30)));
                }
                Ok(None)
            }
            Decision::RemoveOwnerRefs(gone) => {
                self.remove_owner_refs(uid, &node, &gone).await?;
                Ok(None)
            }
            Decision::Delete(policy) => {
                let Some(api) = self.api(node.resource, node.namespace.as_deref()) else {
                    return Ok(None);
                };
                let dp = DeleteParams {
                    propagation_policy: Some(match policy {
                        "Foreground" => kube::api::PropagationPolicy::Foreground,
                        "Orphan" => kube::api::PropagationPolicy::Orphan,
                        _ => kube::api::PropagationPolicy::Background,
                    }),
                    preconditions: Some(Preconditions {
                        uid: Some(uid.to_string()),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                tracing::debug!(name = %node.name, policy, "garbage collecting");
                match api.delete(&node.name, &dp).await {
                    Ok(_) => Ok(None),
                    Err(e) if matches!(api_code(&e), Some(404 | 409)) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    async fn remove_owner_refs(
        &self,
        uid: &str,
        node: &Node,
        owners: &[String],
    ) -> Result<(), kube::Error> {
        self.patch_live_metadata(uid, node, |meta| {
            let refs: Vec<&OwnerReference> = meta
                .owner_references
                .iter()
                .flatten()
                .filter(|o| !owners.contains(&o.uid))
                .collect();
            serde_json::json!({"ownerReferences": refs})
        })
        .await
    }

    async fn remove_finalizer(&self, uid: &str, node: &Node, f: &str) -> Result<(), kube::Error> {
        self.patch_live_metadata(uid, node, |meta| {
            let finalizers: Vec<&String> = meta
                .finalizers
                .iter()
                .flatten()
                .filter(|x| *x != f)
                .collect();
            serde_json::json!({"finalizers": finalizers})
        })
        .await
    }

    /// Merges `change(live metadata)` into the metadata of the object `node`
    /// names, if it is still the one with `uid`, on the condition that it
    /// has not changed since read (its resourceVersion). Gone is done.
    async fn patch_live_metadata(
        &self,
        uid: &str,
        node: &Node,
        change: impl FnOnce(&ObjectMeta) -> serde_json::Value,
    ) -> Result<(), kube::Error> {
        let Some(api) = self.api(node.resource, node.namespace.as_deref()) else {
            return Ok(());
        };
        let Some(live) = api.get_metadata_opt(&node.name).await? else {
            return Ok(());
        };
        if live.metadata.uid.as_deref() != Some(uid) {
            return Ok(());
        }
        let mut metadata = change(&live.metadata);
        metadata["resourceVersion"] = serde_json::json!(live.metadata.resource_version);
        let patch = serde_json::json!({ "metadata": metadata });
        match api
            .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(api_code(&e), Some(404)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Watches one resource's metadata into the collector's channel.
fn spawn_watch(
    client: kube::Client,
    index: usize,
    r: &Discovered,
    tx: mpsc::Sender<Msg>,
) -> tokio::task::AbortHandle {
    let api: Api<Dependent> = Api::all_with(client, &r.api_resource());
    let name = format!("{}.{}", r.resource, r.group);
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
        while let Some(event) = stream.next().await {
            match event {
                Ok(ev) => {
                    if tx.send(Msg::Event(index, ev)).await.is_err() {
                        return;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, resource = %name, "gc watch failed; retrying")
                }
            }
        }
    });
    task.abort_handle()
}

/// Runs the controller until the future is dropped.
pub async fn run(client: kube::Client) {
    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    let mut gc = Collector {
        client: client.clone(),
        resources: Vec::new(),
        graph: Graph::default(),
        relisting: HashMap::new(),
        synced: HashSet::new(),
        watches: HashMap::new(),
        due: HashMap::new(),
    };
    let started = Instant::now();
    let mut rediscover = tokio::time::interval(Duration::from_secs(30));
    let mut resync = tokio::time::interval(Duration::from_secs(60));
    resync.tick().await;
    loop {
        let ready = gc.ready(started);
        let next = if ready {
            gc.due.values().map(|(t, _)| *t).min()
        } else {
            Some(Instant::now() + Duration::from_millis(500))
        };
        let sleep = async {
            match next {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = rediscover.tick() => {
                match discover(&client).await {
                    Ok(found) => gc.rediscovered(found, &tx),
                    Err(error) => tracing::warn!(%error, "garbage collector discovery failed"),
                }
                continue;
            }
            _ = resync.tick() => {
                let all: Vec<String> = gc.graph.nodes.iter()
                    .filter(|(_, n)| !n.owners.is_empty() || n.deleting)
                    .map(|(u, _)| u.clone())
                    .collect();
                gc.enqueue(all);
                continue;
            }
            msg = rx.recv() => {
                if let Some(msg) = msg {
                    gc.handle(msg);
                }
                while let Ok(msg) = rx.try_recv() {
                    gc.handle(msg);
                }
            }
            () = sleep => {}
        }
        if !gc.ready(started) {
            continue;
        }
        let now = Instant::now();
        let ready: Vec<String> = gc
            .due
            .iter()
            .filter(|(_, (t, _))| *t <= now)
            .map(|(u, _)| u.clone())
            .take(64)
            .collect();
        for uid in ready {
            let attempts = gc.due.remove(&uid).map_or(0, |d| d.1);
            match gc.process(&uid).await {
                Ok(None) => {}
                Ok(Some(after)) => {
                    gc.due.entry(uid).or_insert((Instant::now() + after, 0));
                }
                Err(error) => {
                    tracing::warn!(%error, %uid, "garbage collection failed; retrying");
                    let backoff = Duration::from_millis(200 * 2u64.pow(attempts.min(8)));
                    gc.due.insert(uid, (Instant::now() + backoff, attempts + 1));
                }
            }
            while let Ok(msg) = rx.try_recv() {
                gc.handle(msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: format!("o-{uid}"),
            uid: uid.into(),
            block_owner_deletion: block.then_some(true),
            controller: None,
        }
    }

    fn node(name: &str, owners: Vec<OwnerReference>) -> Node {
        Node {
            name: name.into(),
            namespace: Some("default".into()),
            owners,
            ..Node::default()
        }
    }

    #[test]
    fn objects_whose_owners_are_all_gone_are_deleted_in_the_background() {
        let n = node("pod", vec![owner("a", false)]);
        assert_eq!(
            decide(&n, &[("a".into(), OwnerState::Dangling)], false),
            Decision::Delete("Background")
        );
        assert_eq!(
            decide(&n, &[("a".into(), OwnerState::Solid)], false),
            Decision::Nothing
        );
        // One owner left: only the dangling reference goes.
        assert_eq!(
            decide(
                &n,
                &[
                    ("a".into(), OwnerState::Dangling),
                    ("b".into(), OwnerState::Solid)
                ],
                false
            ),
            Decision::RemoveOwnerRefs(vec!["a".into()])
        );
        // Unknown owner kinds leave the object alone; so does deletion.
        assert_eq!(
            decide(&n, &[("a".into(), OwnerState::Unknown)], false),
            Decision::Nothing
        );
        let mut deleting = n.clone();
        deleting.deleting = true;
        assert_eq!(
            decide(&deleting, &[("a".into(), OwnerState::Dangling)], false),
            Decision::Nothing
        );
    }

    #[test]
    fn dependents_of_a_foreground_owner_are_deleted_foreground_if_they_own_things() {
        let n = node("rs", vec![owner("d", true)]);
        let waiting = [("d".to_string(), OwnerState::WaitingForDependents)];
        assert_eq!(decide(&n, &waiting, true), Decision::Delete("Foreground"));
        assert_eq!(decide(&n, &waiting, false), Decision::Delete("Background"));
    }

    #[test]
    fn the_graph_indexes_dependents_by_owner_and_reports_what_to_recheck() {
        let mut g = Graph::default();
        let mut d = node("deploy", vec![]);
        assert!(g.upsert("d", d.clone()).is_empty());
        assert_eq!(g.upsert("r", node("rs", vec![owner("d", true)])), ["r"]);
        assert_eq!(g.upsert("p", node("pod", vec![owner("r", false)])), ["p"]);
        assert_eq!(g.dependents_of("d"), ["r"]);
        // Unchanged dependents are not rechecked.
        assert!(
            g.upsert("p", node("pod", vec![owner("r", false)]))
                .is_empty()
        );

        // Foreground deletion of d: d and its dependents are examined; r blocks.
        d.deleting = true;
        d.finalizers = vec![FOREGROUND.into()];
        let todo = g.upsert("d", d.clone());
        assert!(todo.contains(&"d".to_string()) && todo.contains(&"r".to_string()));
        assert_eq!(
            plan_deleting_owner(&g, "d"),
            OwnerPlan::Wait(vec!["r".into()])
        );
        // r goes away: d is rechecked and its finalizer can go; p is rechecked.
        let todo = g.remove("r");
        assert!(todo.contains(&"d".to_string()) && todo.contains(&"p".to_string()));
        assert_eq!(
            plan_deleting_owner(&g, "d"),
            OwnerPlan::RemoveForegroundFinalizer
        );
    }

    #[test]
    fn non_blocking_dependents_do_not_hold_a_foreground_owner() {
        let mut g = Graph::default();
        let mut d = node("deploy", vec![]);
        d.deleting = true;
        d.finalizers = vec![FOREGROUND.into()];
        g.upsert("d", d);
        g.upsert("x", node("cm", vec![owner("d", false)]));
        assert_eq!(
            plan_deleting_owner(&g, "d"),
            OwnerPlan::RemoveForegroundFinalizer
        );
    }

    #[test]
    fn orphaning_owners_list_their_dependents() {
        let mut g = Graph::default();
        let mut d = node("deploy", vec![]);
        d.deleting = true;
        d.finalizers = vec![ORPHAN.into()];
        g.upsert("r1", node("rs1", vec![owner("d", true)]));
        g.upsert("r2", node("rs2", vec![owner("d", true)]));
        assert_eq!(g.upsert("d", d), ["d"]);
        assert_eq!(
            plan_deleting_owner(&g, "d"),
            OwnerPlan::Orphan(vec!["r1".into(), "r2".into()])
        );
        // Not being deleted: nothing to do.
        g.upsert("d", node("deploy", vec![]));
        assert_eq!(plan_deleting_owner(&g, "d"), OwnerPlan::Nothing);
    }

    #[test]
    fn a_dependent_keeps_only_identity_and_ownership() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "web-1", "namespace": "prod", "uid": "u1", "resourceVersion": "7",
                "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                     "uid": "rs1", "controller": true, "blockOwnerDeletion": true}],
                "finalizers": ["x"], "deletionTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"manager": "m", "operation": "Update", "fieldsType": "FieldsV1",
                                   "fieldsV1": {"f:spec": {}}}]
            },
            "spec": {"containers": [{"name": "app", "image": "nginx"}]},
            "status": {"phase": "Running"}
        });
        let d: Dependent = serde_json::from_value(pod).unwrap();
        let (uid, node) = node_of(3, &d).unwrap();
        assert_eq!(uid, "u1");
        assert_eq!(node.owners[0].uid, "rs1");
        assert_eq!(
            (node.finalizers.len(), node.deleting, node.resource),
            (1, true, 3)
        );
        assert_eq!(d.metadata.resource_version.as_deref(), Some("7"));
        assert!(d.metadata.labels.is_none() && d.metadata.managed_fields.is_none());
        let bare: Dependent = serde_json::from_value(serde_json::json!({"kind": "X"})).unwrap();
        assert!(node_of(0, &bare).is_none());
    }
}
