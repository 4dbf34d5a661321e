//! The EndpointSlice controller (kube's `pkg/controller/endpointslice`)
//! and the legacy Endpoints controller (kube's `pkg/controller/endpoint`):
//! for every Service with a selector, the pods it selects become
//! `discovery.k8s.io/v1` EndpointSlices (at most [`MAX_ENDPOINTS_PER_SLICE`]
//! endpoints each, updated in place with minimal churn) and one `v1
//! Endpoints` object named after the Service. Services without a selector
//! (and ExternalName ones) are left alone.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointSubset, Endpoints, Node, ObjectReference, Pod, Service,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use crate::cache::Informer;
use crate::pods;
use crate::sync::{self, SyncError};

/// kube's `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The label naming a slice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming a slice's manager.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// Set on controller-managed Endpoints so the mirroring controller skips
/// them (and so this controller knows them as its own).
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
/// Set on the Endpoints of a headless Service.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// The selector of a Service that has one (a Service without, or with an
/// empty one, or of type ExternalName, is not ours).
pub fn service_selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

fn selects(svc: &Service, pod: &Pod) -> bool {
    let Some(sel) = service_selector(svc) else {
        return false;
    };
    if pod.metadata.namespace != svc.metadata.namespace {
        return false;
    }
    let labels = pod.metadata.labels.as_ref();
    sel.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The pod's IPv4 address, if it has one.
fn pod_ipv4(pod: &Pod) -> Option<String> {
    let st = pod.status.as_ref()?;
    let mut ips: Vec<&str> = st.pod_ips.iter().flatten().map(|p| p.ip.as_str()).collect();
    if let Some(ip) = st.pod_ip.as_deref() {
        ips.insert(0, ip);
    }
    ips.into_iter()
        .find(|ip| !ip.is_empty() && !ip.contains(':'))
        .map(str::to_owned)
}

/// kube's `ShouldPodBeInEndpoints`: not terminal, has an IP, and (unless
/// `include_terminating`) not being deleted.
pub fn should_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    if matches!(pods::phase(pod), "Succeeded" | "Failed") {
        return false;
    }
    if pod_ipv4(pod).is_none() {
        return false;
    }
    include_terminating || !pods::is_terminating(pod)
}

/// The container port a Service port's targetPort resolves to on `pod`
/// (kube's `podutil.FindPort`): a number as is, a name looked up among the
/// pod's container ports of the same protocol; absent, the Service port.
pub fn find_port(pod: &Pod, port: &k8s_openapi::api::core::v1::ServicePort) -> Option<i32> {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            if let Ok(n) = name.parse::<i32>() {
                return Some(n);
            }
            pod.spec
                .as_ref()?
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })
                .map(|p| p.container_port)
        }
    }
}

/// The slice ports of `svc` for `pod` (ports whose named targetPort the pod
/// lacks are left out, as kube does).
pub fn slice_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    let mut out: Vec<EndpointPort> = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .filter_map(|p| {
            Some(EndpointPort {
                name: Some(p.name.clone().unwrap_or_default()),
                port: Some(find_port(pod, p)?),
                protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: p.app_protocol.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.protocol, a.port).cmp(&(&b.name, &b.protocol, b.port)));
    out
}

fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

fn pod_hostname(svc: &Service, pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let host = spec.hostname.clone().filter(|h| !h.is_empty())?;
    (is_headless(svc) && spec.subdomain.as_deref() == svc.metadata.name.as_deref()).then_some(host)
}

/// kube's `podToEndpoint`: serving is the pod's readiness, ready is serving
/// and not terminating (or always, with publishNotReadyAddresses).
pub fn pod_endpoint(
    svc: &Service,
    pod: &Pod,
    zones: &BTreeMap<String, String>,
) -> Option<Endpoint> {
    let ip = pod_ipv4(pod)?;
    let serving = pods::is_ready(pod);
    let terminating = pods::is_terminating(pod);
    let ready = publish_not_ready(svc) || (serving && !terminating);
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    Some(Endpoint {
        addresses: vec![ip],
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: pod_hostname(svc, pod),
        zone: node.as_ref().and_then(|n| zones.get(n).cloned()),
        node_name: node,
        target_ref: Some(pod_ref(pod)),
        ..Endpoint::default()
    })
}

/// The endpoints the Service wants, grouped by port set (pods may resolve
/// named ports differently).
pub fn desired_endpoints(
    svc: &Service,
    pods: &[Arc<Pod>],
    zones: &BTreeMap<String, String>,
) -> BTreeMap<String, (Vec<EndpointPort>, Vec<Endpoint>)> {
    let mut out: BTreeMap<String, (Vec<EndpointPort>, Vec<Endpoint>)> = BTreeMap::new();
    let mut sorted: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| selects(svc, p) && should_be_in_endpoints(p, true))
        .collect();
    sorted.sort_by_key(|p| p.metadata.name.clone());
    for pod in sorted {
        let Some(ep) = pod_endpoint(svc, pod, zones) else {
            continue;
        };
        let ports = slice_ports(svc, pod);
        let key = ports_key(&ports);
        out.entry(key)
            .or_insert_with(|| (ports, Vec::new()))
            .1
            .push(ep);
    }
    out
}

fn ports_key(ports: &[EndpointPort]) -> String {
    serde_json::to_string(ports).unwrap_or_default()
}

fn endpoint_key(ep: &Endpoint) -> String {
    ep.target_ref
        .as_ref()
        .and_then(|r| r.name.clone())
        .or_else(|| ep.addresses.first().cloned())
        .unwrap_or_default()
}

/// What one sync of a Service's slices should do.
#[derive(Debug, Default)]
pub struct SlicePlan {
    /// New slices (generateName set).
    pub create: Vec<EndpointSlice>,
    /// Existing slices to replace (name and resourceVersion kept).
    pub update: Vec<EndpointSlice>,
    /// Existing slices to delete, by name.
    pub delete: Vec<String>,
}

fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = svc.metadata.labels.clone().unwrap_or_default();
    l.remove(HEADLESS_LABEL);
    l.insert(SERVICE_NAME_LABEL.into(), svc.name_any());
    l.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    if is_headless(svc) {
        l.insert(HEADLESS_LABEL.into(), String::new());
    }
    l
}

fn new_slice(svc: &Service, ports: Vec<EndpointPort>, endpoints: Vec<Endpoint>) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", svc.name_any())),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(slice_labels(svc)),
            owner_references: Some(vec![pods::controller_ref("v1", "Service", &svc.metadata)]),
            ..ObjectMeta::default()
        },
        address_type: "IPv4".into(),
        endpoints,
        ports: Some(ports),
    }
}

/// Whether a slice belongs to this controller and `svc`.
pub fn is_managed_slice(svc: &Service, slice: &EndpointSlice) -> bool {
    let l = slice.metadata.labels.as_ref();
    slice.metadata.namespace == svc.metadata.namespace
        && l.and_then(|l| l.get(SERVICE_NAME_LABEL)) == svc.metadata.name.as_ref()
        && l.and_then(|l| l.get(MANAGED_BY_LABEL)).map(String::as_str) == Some(MANAGED_BY)
}

fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    pods::same_status(Some(a), b)
}

/// Plans the slices of `svc` (kube's reconciler): existing slices keep the
/// endpoints still wanted (updated in place), lose the others, and take new
/// ones while they have room; the rest go to new slices. A Service with no
/// endpoints keeps one empty placeholder slice.
pub fn plan_slices(
    svc: &Service,
    desired: BTreeMap<String, (Vec<EndpointPort>, Vec<Endpoint>)>,
    existing: &[&EndpointSlice],
) -> SlicePlan {
    let mut out = SlicePlan::default();
    let labels = slice_labels(svc);
    let owner = pods::controller_ref("v1", "Service", &svc.metadata);
    let mut existing: Vec<&EndpointSlice> = existing
        .iter()
        .copied()
        .filter(|s| s.address_type == "IPv4")
        .collect();
    existing.sort_by_key(|s| s.metadata.name.clone());
    if desired.values().all(|(_, eps)| eps.is_empty()) {
        // The placeholder: one slice without endpoints or ports.
        let mut keep = None;
        for s in existing {
            if keep.is_none() {
                keep = Some(s);
            } else {
                out.delete.push(s.name_any());
            }
        }
        match keep {
            None => out.create.push(new_slice(svc, Vec::new(), Vec::new())),
            Some(s) => {
                let mut n = s.clone();
                n.endpoints = Vec::new();
                n.ports = Some(Vec::new());
                fix_meta(&mut n, &labels, &owner);
                if !same(s, &n) {
                    out.update.push(n);
                }
            }
        }
        return out;
    }
    let wanted_keys: HashSet<String> = desired.keys().cloned().collect();
    for (key, (ports, eps)) in desired {
        let mut want: BTreeMap<String, Endpoint> =
            eps.into_iter().map(|e| (endpoint_key(&e), e)).collect();
        let mine: Vec<&EndpointSlice> = existing
            .iter()
            .copied()
            .filter(|s| ports_key(s.ports.as_deref().unwrap_or_default()) == key)
            .collect();
        // Keep wanted endpoints where they are.
        let mut slices: Vec<(EndpointSlice, bool)> = Vec::new();
        for s in mine {
            let mut n = s.clone();
            n.endpoints = s
                .endpoints
                .iter()
                .filter_map(|e| want.remove(&endpoint_key(e)))
                .collect();
            n.endpoints.truncate(MAX_ENDPOINTS_PER_SLICE);
            fix_meta(&mut n, &labels, &owner);
            let changed = !same(s, &n);
            slices.push((n, changed));
        }
        // Fill slices being changed anyway first, then the others.
        let mut rest: Vec<Endpoint> = want.into_values().collect();
        slices.sort_by_key(|(_, changed)| !*changed);
        for (s, changed) in &mut slices {
            while s.endpoints.len() < MAX_ENDPOINTS_PER_SLICE && !rest.is_empty() {
                s.endpoints.push(rest.remove(0));
                *changed = true;
            }
        }
        for (s, changed) in slices {
            if s.endpoints.is_empty() {
                out.delete.push(s.name_any());
            } else if changed {
                out.update.push(s);
            }
        }
        for chunk in rest.chunks(MAX_ENDPOINTS_PER_SLICE) {
            out.create
                .push(new_slice(svc, ports.clone(), chunk.to_vec()));
        }
    }
    // Slices of port sets no longer wanted.
    for s in &existing {
        if !wanted_keys.contains(&ports_key(s.ports.as_deref().unwrap_or_default())) {
            out.delete.push(s.name_any());
        }
    }
    out
}

fn fix_meta(s: &mut EndpointSlice, labels: &BTreeMap<String, String>, owner: &OwnerReference) {
    let l = s.metadata.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in labels {
        l.insert(k.clone(), v.clone());
    }
    let refs = s.metadata.owner_references.get_or_insert_with(Vec::new);
    if !refs.iter().any(|r| r.uid == owner.uid) {
        refs.retain(|r| r.controller != Some(true));
        refs.push(owner.clone());
    }
}

fn address(svc: &Service, pod: &Pod) -> Option<EndpointAddress> {
    Some(EndpointAddress {
        ip: pod_ipv4(pod)?,
        hostname: pod_hostname(svc, pod),
        node_name: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        target_ref: Some(pod_ref(pod)),
    })
}

/// The subsets of the legacy Endpoints (kube's endpoints controller, then
/// `RepackSubsets`): ready pods in addresses, the others in
/// notReadyAddresses, grouped by the ports they resolve to.
pub fn plan_subsets(svc: &Service, pods: &[Arc<Pod>]) -> Vec<EndpointSubset> {
    let tolerate = publish_not_ready(svc);
    let svc_ports: Vec<_> = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .collect();
    // port set key -> (ports, ready, not ready), addresses by ip
    type Group = (
        Vec<k8s_openapi::api::core::v1::EndpointPort>,
        BTreeMap<String, EndpointAddress>,
        BTreeMap<String, EndpointAddress>,
    );
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for pod in pods
        .iter()
        .filter(|p| selects(svc, p) && should_be_in_endpoints(p, tolerate))
    {
        let Some(addr) = address(svc, pod) else {
            continue;
        };
        let mut ports: Vec<k8s_openapi::api::core::v1::EndpointPort> = svc_ports
            .iter()
            .filter_map(|p| {
                Some(k8s_openapi::api::core::v1::EndpointPort {
                    name: p.name.clone().filter(|n| !n.is_empty()),
                    port: find_port(pod, p)?,
                    protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: p.app_protocol.clone(),
                })
            })
            .collect();
        // A Service with ports none of which resolve gets no address; a
        // headless Service without ports gets addresses alone.
        if ports.is_empty() && !(svc_ports.is_empty() && is_headless(svc)) {
            continue;
        }
        ports.sort_by(|a, b| (&a.name, a.port).cmp(&(&b.name, b.port)));
        let key = serde_json::to_string(&ports).unwrap_or_default();
        let g = groups
            .entry(key)
            .or_insert_with(|| (ports, BTreeMap::new(), BTreeMap::new()));
        let ready = tolerate || pods::is_ready(pod);
        if ready { &mut g.1 } else { &mut g.2 }.insert(addr.ip.clone(), addr);
    }
    groups
        .into_values()
        .map(|(ports, ready, not_ready)| EndpointSubset {
            addresses: (!ready.is_empty()).then(|| ready.into_values().collect()),
            not_ready_addresses: (!not_ready.is_empty()).then(|| not_ready.into_values().collect()),
            ports: (!ports.is_empty()).then_some(ports),
        })
        .collect()
}

/// The labels of a Service's Endpoints.
pub fn endpoints_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l = svc.metadata.labels.clone().unwrap_or_default();
    l.remove(HEADLESS_LABEL);
    l.insert(SKIP_MIRROR_LABEL.into(), "true".into());
    if is_headless(svc) {
        l.insert(HEADLESS_LABEL.into(), String::new());
    }
    l
}

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    slices: Store<EndpointSlice>,
    endpoints: Store<Endpoints>,
}

/// Runs the controller until the future is dropped.
pub async fn run(client: Client, caches: crate::cache::Shared) {
    let pods = caches.pods();
    let slices = Informer::start(Api::all(client.clone()), "endpointslice: slice");
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        pods: pods.store(),
        nodes: caches.nodes().store(),
        slices: slices.store(),
        endpoints: crate::cache::watched(Api::all(client.clone()), "endpointslice: endpoints"),
    });
    let svc_api: Api<Service> = Api::all(client.clone());
    let controller = Controller::new(svc_api, watcher::Config::default());
    let svc_store = controller.store();
    let slice_store = ctx.slices.clone();
    tokio::spawn(sweep_orphan_endpoints(ctx.clone(), svc_store.clone()));
    controller
        .watches_shared_stream(pods.changes(), move |pod: Arc<Pod>| {
            pod_to_services(&svc_store, &slice_store, &pod)
        })
        .watches_shared_stream(slices.changes(), |s: Arc<EndpointSlice>| {
            let l = s.metadata.labels.as_ref();
            let name = l.and_then(|l| l.get(SERVICE_NAME_LABEL));
            let ours =
                l.and_then(|l| l.get(MANAGED_BY_LABEL)).map(String::as_str) == Some(MANAGED_BY);
            match (name, ours, s.metadata.namespace.as_deref()) {
                (Some(n), true, Some(ns)) => Some(ObjectRef::new(n).within(ns)),
                _ => None,
            }
        })
        .run(reconcile, sync::retry, ctx)
        .for_each(sync::log_failure("endpointslice"))
        .await;
}

/// Deletes controller-managed Endpoints whose Service is gone (slices go
/// with their owner through the garbage collector).
async fn sweep_orphan_endpoints(ctx: Arc<Ctx>, services: Store<Service>) {
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        if services.wait_until_ready().await.is_err() {
            continue;
        }
        let names: HashSet<(String, String)> = services
            .state()
            .iter()
            .map(|s| (s.namespace().unwrap_or_default(), s.name_any()))
            .collect();
        for ep in ctx.endpoints.state() {
            let ours = ep
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SKIP_MIRROR_LABEL))
                .map(String::as_str)
                == Some("true");
            let key = (ep.namespace().unwrap_or_default(), ep.name_any());
            if !ours || names.contains(&key) || ep.metadata.deletion_timestamp.is_some() {
                continue;
            }
            // Confirm with the API, not just the cache.
            let svc_api: Api<Service> = Api::namespaced(ctx.client.clone(), &key.0);
            if let Ok(None) = svc_api.get_opt(&key.1).await {
                let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &key.0);
                match api.delete(&key.1, &DeleteParams::default()).await {
                    Ok(_) => {
                        tracing::info!(endpoints = %key.1, namespace = %key.0, "endpoints: deleted (service gone)")
                    }
                    Err(e) => tracing::debug!(error = %e, "endpoints: delete failed"),
                }
            }
        }
    }
}

fn pod_to_services(
    svcs: &Store<Service>,
    slices: &Store<EndpointSlice>,
    pod: &Pod,
) -> Vec<ObjectRef<Service>> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone();
    let mut out: BTreeSet<String> = svcs
        .state()
        .iter()
        .filter(|s| selects(s, pod))
        .map(|s| s.name_any())
        .collect();
    // Services whose slices hold the pod (its labels may have changed).
    for s in slices.state() {
        if s.metadata.namespace.as_deref() != Some(ns.as_str()) {
            continue;
        }
        if s.endpoints
            .iter()
            .any(|e| e.target_ref.as_ref().and_then(|r| r.name.as_ref()) == name.as_ref())
            && let Some(svc) = s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
        {
            out.insert(svc.clone());
        }
    }
    out.into_iter()
        .map(|n| ObjectRef::new(&n).within(&ns))
        .collect()
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    sync::bounded(sync_once(svc, ctx)).await
}

async fn sync_once(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, SyncError> {
    if service_selector(&svc).is_none() || svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let _ = ctx.pods.wait_until_ready().await;
    let _ = ctx.slices.wait_until_ready().await;
    let _ = ctx.nodes.wait_until_ready().await;
    let _ = ctx.endpoints.wait_until_ready().await;
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let ns_pods: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()))
        .collect();
    let zones: BTreeMap<String, String> = ctx
        .nodes
        .state()
        .iter()
        .filter_map(|n| {
            let z = n.metadata.labels.as_ref()?.get(ZONE_LABEL)?;
            Some((n.name_any(), z.clone()))
        })
        .collect();
    let all_slices = ctx.slices.state();
    let existing: Vec<&EndpointSlice> = all_slices
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| is_managed_slice(&svc, s) && s.metadata.deletion_timestamp.is_none())
        .collect();
    let plan = plan_slices(&svc, desired_endpoints(&svc, &ns_pods, &zones), &existing);
    let slice_api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
    let pp = PostParams::default();
    let mut failed = false;
    for s in &plan.update {
        let n = s.name_any();
        if let Err(e) = slice_api.replace(&n, &pp, s).await {
            tracing::info!(slice = %n, error = %e, "endpointslice: update failed");
            failed = true;
        }
    }
    for s in &plan.create {
        match slice_api.create(&pp, s).await {
            Ok(c) => tracing::debug!(slice = %c.name_any(), "endpointslice: created"),
            Err(e) => {
                tracing::info!(service = %name, error = %e, "endpointslice: create failed");
                failed = true;
            }
        }
    }
    for n in &plan.delete {
        match slice_api.delete(n, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                tracing::info!(slice = %n, error = %e, "endpointslice: delete failed");
                failed = true;
            }
        }
    }
    if let Err(e) = sync_endpoints(&ctx, &svc, &ns_pods).await {
        tracing::info!(service = %name, error = %e, "endpoints: sync failed");
        failed = true;
    }
    if failed {
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn sync_endpoints(ctx: &Ctx, svc: &Service, ns_pods: &[Arc<Pod>]) -> Result<(), kube::Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let subsets = plan_subsets(svc, ns_pods);
    let labels = endpoints_labels(svc);
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &ns);
    let current = ctx
        .endpoints
        .state()
        .into_iter()
        .find(|e| e.metadata.namespace.as_deref() == Some(ns.as_str()) && e.name_any() == name);
    let want_subsets = (!subsets.is_empty()).then_some(subsets);
    match current {
        Some(cur) => {
            let cur_labels = cur.metadata.labels.clone().unwrap_or_default();
            if same(&cur.subsets, &want_subsets) && cur_labels == labels {
                return Ok(());
            }
            let mut n = (*cur).clone();
            n.subsets = want_subsets;
            n.metadata.labels = Some(labels);
            n.metadata.managed_fields = None;
            api.replace(&name, &PostParams::default(), &n).await?;
        }
        None => {
            // The cache may lag: check the API before creating.
            if let Some(cur) = api.get_opt(&name).await? {
                let mut n = cur;
                n.subsets = want_subsets;
                n.metadata.labels = Some(labels);
                api.replace(&name, &PostParams::default(), &n).await?;
                return Ok(());
            }
            let e = Endpoints {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                subsets: want_subsets,
            };
            api.create(&PostParams::default(), &e).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, PodCondition, PodSpec, PodStatus, ServicePort, ServiceSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn svc(ports: Vec<ServicePort>) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("svc-uid".into()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                selector: Some([("app".to_string(), "web".to_string())].into()),
                ports: Some(ports),
                ..ServiceSpec::default()
            }),
            status: None,
        }
    }

    fn sport(name: &str, port: i32, target: Option<IntOrString>) -> ServicePort {
        ServicePort {
            name: Some(name.into()),
            port,
            target_port: target,
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        }
    }

    fn pod(name: &str, ip: Option<&str>, ready: bool, node: &str) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("{name}-uid")),
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.into()),
                containers: vec![Container {
                    name: "c".into(),
                    ports: Some(vec![ContainerPort {
                        name: Some("http".into()),
                        container_port: 8080,
                        ..ContainerPort::default()
                    }]),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                pod_ip: ip.map(Into::into),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
        })
    }

    fn zones() -> BTreeMap<String, String> {
        [("n1".to_string(), "z-a".to_string())].into()
    }

    #[test]
    fn slices_from_pods_and_ports() {
        let s = svc(vec![
            sport("web", 80, Some(IntOrString::String("http".into()))),
            sport("raw", 81, Some(IntOrString::Int(9090))),
            sport("same", 82, None),
        ]);
        let pods = vec![
            pod("a", Some("10.0.0.1"), true, "n1"),
            pod("b", Some("10.0.0.2"), false, "n2"),
            pod("c", None, true, "n1"),
        ];
        let d = desired_endpoints(&s, &pods, &zones());
        assert_eq!(d.len(), 1);
        let (ports, eps) = d.values().next().unwrap();
        let got: Vec<(Option<String>, Option<i32>)> =
            ports.iter().map(|p| (p.name.clone(), p.port)).collect();
        assert_eq!(
            got,
            vec![
                (Some("raw".into()), Some(9090)),
                (Some("same".into()), Some(82)),
                (Some("web".into()), Some(8080)),
            ]
        );
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[0].addresses, vec!["10.0.0.1"]);
        assert_eq!(eps[0].zone.as_deref(), Some("z-a"));
        assert_eq!(eps[0].node_name.as_deref(), Some("n1"));
        assert_eq!(
            eps[0].target_ref.as_ref().and_then(|r| r.name.as_deref()),
            Some("a")
        );
        let c = eps[1].conditions.as_ref().unwrap();
        assert_eq!(
            (c.ready, c.serving, c.terminating),
            (Some(false), Some(false), Some(false))
        );

        let plan = plan_slices(&s, d, &[]);
        assert_eq!(plan.create.len(), 1);
        let sl = &plan.create[0];
        assert_eq!(sl.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(sl.address_type, "IPv4");
        let l = sl.metadata.labels.as_ref().unwrap();
        assert_eq!(l[SERVICE_NAME_LABEL], "web");
        assert_eq!(l[MANAGED_BY_LABEL], MANAGED_BY);
        assert_eq!(
            sl.metadata.owner_references.as_ref().unwrap()[0].uid,
            "svc-uid"
        );
    }

    #[test]
    fn named_port_missing_splits_port_sets() {
        let s = svc(vec![sport(
            "web",
            80,
            Some(IntOrString::String("http".into())),
        )]);
        let mut other = (*pod("b", Some("10.0.0.2"), true, "n1")).clone();
        other.spec.as_mut().unwrap().containers[0].ports = None;
        let pods = vec![pod("a", Some("10.0.0.1"), true, "n1"), Arc::new(other)];
        let d = desired_endpoints(&s, &pods, &zones());
        assert_eq!(d.len(), 2);
        let subsets = plan_subsets(&s, &pods);
        // The pod without the port gets no address in Endpoints.
        assert_eq!(subsets.len(), 1);
        assert_eq!(subsets[0].ports.as_ref().unwrap()[0].port, 8080);
    }

    #[test]
    fn terminating_pods() {
        let s = svc(vec![sport("web", 80, None)]);
        let mut p = (*pod("a", Some("10.0.0.1"), true, "n1")).clone();
        p.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::now()));
        let pods = vec![Arc::new(p)];
        let d = desired_endpoints(&s, &pods, &zones());
        let c = d.values().next().unwrap().1[0].conditions.clone().unwrap();
        assert_eq!(
            (c.ready, c.serving, c.terminating),
            (Some(false), Some(true), Some(true))
        );
        assert!(plan_subsets(&s, &pods).is_empty());
    }

    fn existing(name: &str, s: &Service, plan: &SlicePlan) -> EndpointSlice {
        let mut e = plan.create[0].clone();
        e.metadata.name = Some(name.into());
        e.metadata.generate_name = None;
        let _ = s;
        e
    }

    #[test]
    fn minimal_churn_updates_in_place() {
        let s = svc(vec![sport("web", 80, None)]);
        let pods: Vec<_> = (0..3)
            .map(|i| pod(&format!("p{i}"), Some(&format!("10.0.0.{i}")), true, "n1"))
            .collect();
        let first = plan_slices(&s, desired_endpoints(&s, &pods, &zones()), &[]);
        let cur = existing("web-abcde", &s, &first);
        // Unchanged: nothing to do.
        let again = plan_slices(&s, desired_endpoints(&s, &pods, &zones()), &[&cur]);
        assert!(again.create.is_empty() && again.update.is_empty() && again.delete.is_empty());
        // One pod gone, one new: the same slice is updated.
        let pods2 = vec![
            pods[0].clone(),
            pods[2].clone(),
            pod("p9", Some("10.0.0.9"), false, "n1"),
        ];
        let p = plan_slices(&s, desired_endpoints(&s, &pods2, &zones()), &[&cur]);
        assert!(p.create.is_empty() && p.delete.is_empty());
        assert_eq!(p.update.len(), 1);
        let names: Vec<String> = p.update[0].endpoints.iter().map(endpoint_key).collect();
        assert_eq!(names, vec!["p0", "p2", "p9"]);
        assert_eq!(p.update[0].metadata.name.as_deref(), Some("web-abcde"));
        // No pods: a placeholder slice stays.
        let p = plan_slices(&s, desired_endpoints(&s, &[], &zones()), &[&cur]);
        assert_eq!(p.update.len(), 1);
        assert!(p.update[0].endpoints.is_empty());
        let p = plan_slices(&s, desired_endpoints(&s, &[], &zones()), &[]);
        assert_eq!(p.create.len(), 1);
    }

    #[test]
    fn at_most_100_per_slice() {
        let s = svc(vec![sport("web", 80, None)]);
        let pods: Vec<_> = (0..250)
            .map(|i| {
                pod(
                    &format!("p{i:03}"),
                    Some(&format!("10.0.{}.{}", i / 200, i % 200)),
                    true,
                    "n1",
                )
            })
            .collect();
        let p = plan_slices(&s, desired_endpoints(&s, &pods, &zones()), &[]);
        let sizes: Vec<usize> = p.create.iter().map(|s| s.endpoints.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        // A changed port set replaces the old slices.
        let old = existing("web-old", &s, &p);
        let s2 = svc(vec![sport("web", 8080, None)]);
        let p2 = plan_slices(&s2, desired_endpoints(&s2, &pods[..5], &zones()), &[&old]);
        assert_eq!(p2.delete, vec!["web-old"]);
        assert_eq!(p2.create.len(), 1);
    }

    #[test]
    fn endpoints_subsets_and_selectors() {
        let s = svc(vec![sport(
            "web",
            80,
            Some(IntOrString::String("http".into())),
        )]);
        let pods = vec![
            pod("a", Some("10.0.0.1"), true, "n1"),
            pod("b", Some("10.0.0.2"), false, "n1"),
        ];
        let subsets = plan_subsets(&s, &pods);
        assert_eq!(subsets.len(), 1);
        assert_eq!(subsets[0].addresses.as_ref().unwrap()[0].ip, "10.0.0.1");
        assert_eq!(
            subsets[0].not_ready_addresses.as_ref().unwrap()[0].ip,
            "10.0.0.2"
        );
        assert_eq!(
            subsets[0].ports.as_ref().unwrap()[0].name.as_deref(),
            Some("web")
        );
        let mut no_sel = s.clone();
        no_sel.spec.as_mut().unwrap().selector = None;
        assert!(service_selector(&no_sel).is_none());
        // Headless, without ports: addresses alone.
        let mut h = svc(vec![]);
        h.spec.as_mut().unwrap().cluster_ip = Some("None".into());
        let subsets = plan_subsets(&h, &pods);
        assert_eq!(subsets.len(), 1);
        assert!(subsets[0].ports.is_none());
        assert_eq!(endpoints_labels(&h)[HEADLESS_LABEL], "");
    }
}
