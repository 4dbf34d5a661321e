//! The generic registry: create, read, update, delete, list and watch for
//! every resource over the [`Store`] trait, with the per-kind strategy
//! applied (k8s.io/apiserver's `registry/generic/registry.Store`).

mod allocator;
pub mod lifecycle;
mod list;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mars_store::{Store, StoreError};
use serde_json::{Value, json};

pub use list::{ListOptions, ListResult};
pub use watch::{WatchItem, WatchOptions};

use crate::admission::{case, pod};
use crate::error::ApiError;
use crate::resources::{ResourceDef, Subresource};
use crate::strategy::{defaults, validation};
use crate::watchcache::{CachedObject, WatchCache};
use crate::{conversion, encoding, fields};
use allocator::ServiceIps;
use lifecycle::DeletePlan;

/// How many times an update retries after losing a race with another
/// writer (only for writes that did not pin a resourceVersion).
const UPDATE_RETRIES: usize = 16;

/// What a delete did.
#[derive(Debug)]
pub enum Deleted {
    /// The object is gone; this is its last state.
    Gone(Value),
    /// The object is marked for deletion and waits (finalizers, grace).
    Pending(Value),
}

/// How a write is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct Write<'a> {
    /// The subresource written through, if any.
    pub subresource: Option<Subresource>,
    /// Check everything, store nothing (`dryRun=All`).
    pub dry_run: bool,
    /// The resourceVersion the stored object must have (else 409).
    pub pinned: Option<i64>,
    /// The field manager this write is recorded under as an `Update`;
    /// `None` for server-side apply, which records its own ownership, and
    /// for the server's own bookkeeping.
    pub manager: Option<&'a str>,
    /// The authenticated user making the write, where a kind records who
    /// did what (a Case's timeline); `None` for the server itself.
    pub actor: Option<&'a str>,
}

impl Write<'_> {
    /// A plain write: stored, unpinned, unattributed.
    pub fn internal() -> Self {
        Self::default()
    }
}

/// Registry configuration.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// The range Service cluster IPs are allocated from (`10.96.0.0/12`).
    pub service_cidr: String,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            service_cidr: "10.96.0.0/12".into(),
        }
    }
}

/// CRUD for every served resource.
pub struct Registry {
    store: Arc<dyn Store>,
    /// One watch cache per storage prefix; custom resources add theirs
    /// when their CRD is established.
    caches: parking_lot::RwLock<HashMap<String, Arc<WatchCache>>>,
    service_ips: ServiceIps,
}

impl Registry {
    /// Starts a watch cache per stored resource and waits until all are loaded.
    pub async fn start(
        store: Arc<dyn Store>,
        resources: &[ResourceDef],
        config: &RegistryConfig,
    ) -> Result<Arc<Self>, String> {
        let mut caches = HashMap::new();
        for r in resources {
            caches
                .entry(r.key_prefix())
                .or_insert_with_key(|prefix| WatchCache::start(Arc::clone(&store), prefix));
        }
        for cache in caches.values() {
            cache.wait_ready().await;
        }
        Ok(Arc::new(Self {
            store,
            caches: parking_lot::RwLock::new(caches),
            service_ips: ServiceIps::new(&config.service_cidr)?,
        }))
    }

    fn cache(&self, resource: &ResourceDef) -> Result<Arc<WatchCache>, ApiError> {
        self.caches
            .read()
            .get(&resource.key_prefix())
            .cloned()
            .ok_or_else(|| {
                ApiError::Internal(format!("no cache for {}", resource.group_resource()))
            })
    }

    /// Makes `resource` servable: starts its watch cache (if its storage
    /// has none yet) and waits until it is loaded.
    pub async fn serve(&self, resource: &ResourceDef) {
        let cache = {
            let mut caches = self.caches.write();
            Arc::clone(
                caches
                    .entry(resource.key_prefix())
                    .or_insert_with_key(|prefix| {
                        WatchCache::start(Arc::clone(&self.store), prefix)
                    }),
            )
        };
        cache.wait_ready().await;
    }

    /// One object, read from the store (a consistent read).
    pub async fn get(
        &self,
        resource: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Arc<CachedObject>, ApiError> {
        let key = resource.key(namespace, name);
        match self.store.get(key.as_bytes()).await.map_err(store_error)? {
            Some(kv) => Ok(Arc::new(CachedObject::from_store(
                kv.key,
                kv.value,
                kv.mod_revision,
            ))),
            None => Err(ApiError::not_found(resource, name)),
        }
    }

    async fn get_value(
        &self,
        resource: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(Value, i64), ApiError> {
        let object = self.get(resource, namespace, name).await?;
        let value = conversion::from_storage(resource, object.value());
        Ok((value, object.revision))
    }

    /// Creates `obj` (already typed and namespaced by the caller).
    pub async fn create(
        &self,
        resource: &ResourceDef,
        namespace: Option<&str>,
        mut obj: Value,
        write: Write<'_>,
    ) -> Result<Value, ApiError> {
        let dry_run = write.dry_run;
        lifecycle::prepare_create(resource, &mut obj, jiff::Timestamp::now());
        defaults::apply_defaults(resource, &mut obj);
        if case::applies(resource) {
            case::on_create(&mut obj);
        }
        if resource.group.is_empty() && resource.plural == "pods" {
            pod::on_create(&mut obj);
        }
        if let Some(manager) = write.manager {
            fields::record_update(resource, None, manager, &Value::Null, &mut obj);
        }
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let errors = validation::validate(resource, &obj, None);
        if !errors.is_empty() {
            return Err(ApiError::invalid(resource, &name, errors));
        }
        if let Some(ns) = namespace {
            self.check_namespace_open(ns).await?;
        }
        let allocated = self.allocate(resource, &mut obj, dry_run)?;
        if dry_run {
            return Ok(obj);
        }
        let key = resource.key(namespace, &name);
        let raw = encoding::to_stored(&mut conversion::to_storage(resource, obj.clone()));
        match self.store.create(key.as_bytes(), raw, 0).await {
            Ok(kv) => {
                encoding::set_resource_version(&mut obj, kv.mod_revision);
                Ok(obj)
            }
            Err(error) => {
                if let Some(ip) = allocated {
                    self.service_ips.release(&ip);
                }
                Err(match error {
                    StoreError::AlreadyExists { .. } => ApiError::already_exists(resource, &name),
                    other => store_error(other),
                })
            }
        }
    }

    /// Service cluster IPs: allocated on create when not given, checked
    /// for conflicts when given.
    fn allocate(
        &self,
        resource: &ResourceDef,
        obj: &mut Value,
        dry_run: bool,
    ) -> Result<Option<String>, ApiError> {
        if !resource.group.is_empty() || resource.plural != "services" {
            return Ok(None);
        }
        let cache = self.cache(resource)?;
        let in_use = || {
            cache
                .snapshot(resource.key_prefix().as_bytes())
                .objects
                .iter()
                .filter_map(|o| allocator::cluster_ip(&o.raw))
                .collect::<Vec<_>>()
        };
        self.service_ips.assign(obj, in_use, dry_run)
    }

    /// Fails unless `namespace` exists and is not terminating (kube's
    /// NamespaceLifecycle admission).
    async fn check_namespace_open(&self, namespace: &str) -> Result<(), ApiError> {
        let namespaces = crate::resources::find("", "v1", "namespaces")
            .ok_or_else(|| ApiError::Internal("namespaces are not served".into()))?;
        let key = namespaces.key(None, namespace);
        let raw = match self.cache(namespaces)?.get(key.as_bytes()) {
            Some(ns) => Some(ns.raw.clone()),
            // The cache may lag a namespace created just now.
            None => self
                .store
                .get(key.as_bytes())
                .await
                .map_err(store_error)?
                .map(|kv| kv.value),
        };
        match raw {
            None => Err(ApiError::not_found(namespaces, namespace)),
            Some(raw) if lifecycle::namespace_terminating(&raw) => Err(ApiError::Forbidden {
                message: format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
                kind: String::new(),
                group: String::new(),
                name: String::new(),
            }),
            Some(_) => Ok(()),
        }
    }

    /// Replaces the object with `obj` through the main resource or a
    /// subresource. A resourceVersion in `obj` must match the stored one;
    /// without one the write is unconditional. Creates the object when it
    /// does not exist and the kind allows create-on-update.
    pub async fn update(
        &self,
        resource: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        obj: Value,
        write: Write<'_>,
    ) -> Result<(Value, bool), ApiError> {
        let pinned = obj["metadata"]["resourceVersion"]
            .as_str()
            .filter(|rv| !rv.is_empty())
            .map(|rv| {
                lifecycle::parse_resource_version(rv)
                    .map_err(|e| ApiError::invalid(resource, name, vec![e]))
            })
            .transpose()?;
        let body = obj;
        let pinned_write = Write { pinned, ..write };
        let result = self
            .guaranteed_update(
                resource,
                namespace,
                name,
                pinned_write,
                |_| Ok(body.clone()),
            )
            .await;
        match result {
            Err(ApiError::NotFound { .. })
                if write.subresource.is_none() && create_on_update(resource) =>
            {
                let created = self.create(resource, namespace, body, write).await?;
                Ok((created, true))
            }
            other => other.map(|v| (v, false)),
        }
    }

    /// Reads the object, computes its new state with `change`, and writes
    /// it back if nothing else wrote in between — retrying otherwise
    /// (kube's `GuaranteedUpdate`). With `pinned`, the stored revision must
    /// be that one (a stale one is a 409 Conflict).
    pub async fn guaranteed_update(
        &self,
        resource: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        write: Write<'_>,
        mut change: impl FnMut(&Value) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let Write {
            subresource,
            dry_run,
            pinned,
            manager,
            actor,
        } = write;
        let key = resource.key(namespace, name);
        let is_case = case::applies(resource);
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(resource, namespace, name).await?;
            let revision = current.revision;
            let old = conversion::from_storage(resource, current.value());
            if pinned.is_some_and(|p| p != revision) {
                return Err(ApiError::stale(resource, name));
            }
            let mut new = change(&old)?;
            lifecycle::check_type(resource, &mut new)?;
            lifecycle::settle_namespace(resource, &mut new, namespace)?;
            let body_name = new["metadata"]["name"].as_str().unwrap_or_default();
            if !body_name.is_empty() && body_name != name {
                return Err(ApiError::BadRequest(
                    "the name of the object does not match the name on the URL".into(),
                ));
            }
            new["metadata"]["name"] = json!(name);
            lifecycle::prepare_update(resource, &mut new, &old, subresource);
            defaults::apply_defaults(resource, &mut new);
            if let Some(manager) = manager {
                fields::record_update(resource, subresource, manager, &old, &mut new);
            }
            // Subresource writes have their own, narrower rules (a binding
            // changes `spec.nodeName`, which pod updates may not).
            let custom_status =
                resource.custom.is_some() && subresource == Some(Subresource::Status);
            if subresource.is_none() || custom_status {
                let errors = validation::validate(resource, &new, Some(&old));
                if !errors.is_empty() {
                    return Err(ApiError::invalid(resource, name, errors));
                }
            }
            let transition = match is_case {
                true => self.admit_case(&old, &mut new, actor, dry_run).await?,
                false => None,
            };
            if dry_run {
                return Ok(new);
            }
            // Removing the last finalizer of an object being deleted
            // finishes its deletion.
            if lifecycle::is_deleting(&new)
                && !lifecycle::has_finalizers(&new)
                && new["metadata"]["deletionGracePeriodSeconds"]
                    .as_i64()
                    .unwrap_or(0)
                    == 0
            {
                match self.store.delete(key.as_bytes(), Some(revision)).await {
                    Ok(kv) => {
                        encoding::set_resource_version(&mut new, kv.mod_revision);
                        return Ok(new);
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(other) => return Err(store_error(other)),
                }
            }
            let raw = encoding::to_stored(&mut conversion::to_storage(resource, new.clone()));
            // A write that changes nothing is not stored: the object keeps
            // its resourceVersion (kube's GuaranteedUpdate does the same).
            if raw == current.raw {
                encoding::set_resource_version(&mut new, revision);
                return Ok(new);
            }
            match self.store.update(key.as_bytes(), raw, revision, 0).await {
                Ok(kv) => {
                    encoding::set_resource_version(&mut new, kv.mod_revision);
                    if let Some(transition) = transition {
                        let message = format!("{} → {}", transition.from, transition.to);
                        self.record_event(&new, "Normal", transition.event.reason(), &message)
                            .await;
                    }
                    return Ok(new);
                }
                Err(StoreError::Conflict { .. }) if pinned.is_none() => continue,
                Err(StoreError::Conflict { .. }) => return Err(ApiError::stale(resource, name)),
                Err(StoreError::NotFound { .. }) => {
                    return Err(ApiError::not_found(resource, name));
                }
                Err(other) => return Err(store_error(other)),
            }
        }
        Err(ApiError::conflict(
            resource,
            name,
            "too many concurrent writers; try again",
        ))
    }

    /// Runs a Case write through its state machine; a refused guard is
    /// recorded as a Warning Event on the Case (and changes nothing).
    async fn admit_case(
        &self,
        old: &Value,
        new: &mut Value,
        actor: Option<&str>,
        dry_run: bool,
    ) -> Result<Option<case::Transition>, ApiError> {
        let plan = match case::plan_key(new) {
            Some(key) => self
                .store
                .get(key.as_bytes())
                .await
                .map_err(store_error)?
                .and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok()),
            None => None,
        };
        let cx = case::Context {
            plan: plan.as_ref(),
            actor: actor.unwrap_or("system:apiserver"),
            now: jiff::Timestamp::now(),
        };
        let result = case::admit(old, new, &cx);
        if let Err(ApiError::Invalid { causes, .. }) = &result
            && !dry_run
        {
            let reasons: Vec<String> = causes.iter().map(|c| c.to_line()).collect();
            let message = format!("transition refused: {}", reasons.join("; "));
            self.record_event(old, "Warning", "TransitionRefused", &message)
                .await;
        }
        result
    }

    /// Records a core/v1 Event about `obj` (best effort: a failure is
    /// logged, never the write's failure).
    async fn record_event(&self, obj: &Value, type_: &str, reason: &str, message: &str) {
        let Some(events) = crate::resources::find("", "v1", "events") else {
            return;
        };
        let meta = &obj["metadata"];
        let Some(namespace) = meta["namespace"].as_str() else {
            return;
        };
        let now = lifecycle::timestamp(jiff::Timestamp::now());
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "generateName": format!("{}.", meta["name"].as_str().unwrap_or_default()),
                "namespace": namespace,
            },
            "involvedObject": {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "name": meta["name"],
                "namespace": namespace,
                "uid": meta["uid"],
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": "mars-apiserver"},
            "reportingComponent": "mars-apiserver",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        });
        if let Err(error) =
            Box::pin(self.create(events, Some(namespace), event, Write::internal())).await
        {
            tracing::debug!(%error, reason, "cannot record an event");
        }
    }

    /// Deletes the object, or marks it for deletion when it must wait.
    pub async fn delete(
        &self,
        resource: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        options: &Value,
        dry_run: bool,
    ) -> Result<Deleted, ApiError> {
        let key = resource.key(namespace, name);
        let grace = options["gracePeriodSeconds"].as_i64();
        let propagation = options["propagationPolicy"].as_str().or_else(|| {
            match options["orphanDependents"].as_bool() {
                Some(true) => Some("Orphan"),
                Some(false) => Some("Background"),
                None => None,
            }
        });
        for _ in 0..UPDATE_RETRIES {
            let (mut obj, revision) = self.get_value(resource, namespace, name).await?;
            lifecycle::check_preconditions(resource, name, &obj, &options["preconditions"])?;
            let before = obj.clone();
            let plan = lifecycle::plan_delete(
                resource,
                &mut obj,
                grace,
                propagation,
                jiff::Timestamp::now(),
            );
            if dry_run {
                return Ok(match plan {
                    DeletePlan::Now => Deleted::Gone(obj),
                    DeletePlan::Mark => Deleted::Pending(obj),
                });
            }
            match plan {
                DeletePlan::Now => match self.store.delete(key.as_bytes(), Some(revision)).await {
                    Ok(_) => {
                        if resource.group.is_empty()
                            && resource.plural == "services"
                            && let Some(ip) = obj["spec"]["clusterIP"].as_str()
                        {
                            self.service_ips.release(ip);
                        }
                        return Ok(Deleted::Gone(obj));
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(StoreError::NotFound { .. }) => {
                        return Err(ApiError::not_found(resource, name));
                    }
                    Err(other) => return Err(store_error(other)),
                },
                DeletePlan::Mark if obj == before => return Ok(Deleted::Pending(obj)),
                DeletePlan::Mark => {
                    let raw =
                        encoding::to_stored(&mut conversion::to_storage(resource, obj.clone()));
                    match self.store.update(key.as_bytes(), raw, revision, 0).await {
                        Ok(kv) => {
                            encoding::set_resource_version(&mut obj, kv.mod_revision);
                            return Ok(Deleted::Pending(obj));
                        }
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(other) => return Err(store_error(other)),
                    }
                }
            }
        }
        Err(ApiError::stale(resource, name))
    }

    /// The store revision now (for list metadata of empty results).
    pub async fn current_revision(&self) -> Result<i64, ApiError> {
        self.store.current_revision().await.map_err(store_error)
    }

    /// Waits until the resource's cache has everything up to `revision`.
    async fn cache_at_least(
        &self,
        resource: &ResourceDef,
        revision: i64,
    ) -> Result<Arc<WatchCache>, ApiError> {
        let cache = self.cache(resource)?;
        if !cache.wait_for(revision, Duration::from_secs(3)).await {
            return Err(ApiError::Timeout(format!(
                "Too large resource version: {revision}, current: {}",
                cache.revision()
            )));
        }
        Ok(cache)
    }
}

/// Kinds kube-apiserver lets a PUT create (`AllowCreateOnUpdate`).
fn create_on_update(resource: &ResourceDef) -> bool {
    matches!(
        (resource.group, resource.plural),
        (
            "",
            "endpoints" | "events" | "limitranges" | "resourcequotas" | "podtemplates"
        ) | ("coordination.k8s.io", "leases")
            | ("events.k8s.io", "events")
            | ("rbac.authorization.k8s.io", _)
            | ("discovery.k8s.io", "endpointslices")
            | ("scheduling.k8s.io", _)
            | ("storage.k8s.io", _)
            | ("networking.k8s.io", "ingressclasses")
            | ("apps", "controllerrevisions")
    )
}

/// A store failure as the API reports it.
pub fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Compacted { .. } => ApiError::Gone {
            message: "The resourceVersion for the provided list is too old.".into(),
            expired: true,
            continue_token: None,
        },
        StoreError::RequestTooLarge => {
            ApiError::RequestEntityTooLarge(
                "the object is too large to store (etcdserver: request is too large); objects are limited to about 1.5 MiB".into(),
            )
        }
        StoreError::FutureRevision => ApiError::Timeout("Too large resource version".into()),
        other => ApiError::Internal(other.to_string()),
    }
}
