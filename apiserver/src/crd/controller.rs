//! The CRD controller: keeps the [`Catalog`] serving exactly what the
//! stored CustomResourceDefinitions define, and reports it in their status
//! (`NamesAccepted`, `Established`, `Terminating`, `acceptedNames`,
//! `storedVersions`). A deleted CRD's objects are deleted before its
//! cleanup finalizer is removed.
//!
//! It runs inside the API server, beside the registry, as
//! apiextensions-apiserver's controllers run inside kube-apiserver: serving
//! a resource is the API server's own business, not a client's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{CLEANUP_FINALIZER, names};
use crate::ApiError;
use crate::catalog::Catalog;
use crate::registry::lifecycle::{self, timestamp};
use crate::registry::{ListOptions, Registry, WatchOptions, Write};
use crate::resources::{self, ResourceDef, Subresource};

/// The field manager the controller's status writes are recorded under.
const MANAGER: &str = "kube-apiserver";

/// How often the controller looks again without being woken (finalizing
/// CRDs whose objects wait on their own finalizers).
const RESYNC: Duration = Duration::from_secs(2);

/// Runs until the task is dropped.
pub async fn run(registry: Arc<Registry>, catalog: Arc<Catalog>) {
    let Some(mut controller) = Controller::new(registry, catalog) else {
        return;
    };
    loop {
        match controller.reconcile_all().await {
            Ok(revision) => controller.wait_for_change(revision).await,
            Err(error) => {
                tracing::warn!(%error, "CRD reconcile pass failed; retrying");
                tokio::time::sleep(RESYNC).await;
            }
        }
    }
}

/// Reconciles once: start-up uses it to serve the stored CRDs before the
/// port opens.
pub async fn reconcile_once(
    registry: Arc<Registry>,
    catalog: Arc<Catalog>,
) -> Result<(), ApiError> {
    match Controller::new(registry, catalog) {
        Some(mut controller) => controller.reconcile_all().await.map(drop),
        None => Ok(()),
    }
}

struct Controller {
    registry: Arc<Registry>,
    catalog: Arc<Catalog>,
    crds: &'static ResourceDef,
    /// The generation of each CRD the catalog serves now.
    served: HashMap<String, i64>,
}

impl Controller {
    /// `None` when CRDs themselves are not served.
    fn new(registry: Arc<Registry>, catalog: Arc<Catalog>) -> Option<Self> {
        let crds = resources::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")?;
        Some(Self {
            registry,
            catalog,
            crds,
            served: HashMap::new(),
        })
    }

    /// Returns after a CRD changes after `revision` (or the resync period
    /// passes).
    async fn wait_for_change(&self, revision: i64) {
        let options = WatchOptions {
            filter: ListOptions {
                resource_version: Some(revision.to_string()),
                ..ListOptions::default()
            },
            ..WatchOptions::default()
        };
        match self.registry.watch(self.crds, None, options).await {
            Ok(mut events) => {
                let _ = tokio::time::timeout(RESYNC, events.recv()).await;
            }
            Err(_) => tokio::time::sleep(RESYNC).await,
        }
    }

    /// One pass over every CRD; returns the revision it saw them at.
    async fn reconcile_all(&mut self) -> Result<i64, ApiError> {
        let listed = self
            .registry
            .list(self.crds, None, &ListOptions::default())
            .await?;
        let mut present = Vec::new();
        for item in &listed.items {
            let crd = item.value();
            let name = crd["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            present.push(name.clone());
            let result = if lifecycle::is_deleting(&crd) {
                self.finalize(&name, &crd).await
            } else {
                self.establish(&name, &crd).await
            };
            if let Err(error) = result {
                tracing::warn!(crd = %name, %error, "cannot reconcile a CRD");
            }
        }
        let gone: Vec<String> = self
            .served
            .keys()
            .filter(|name| !present.contains(name))
            .cloned()
            .collect();
        for name in gone {
            self.catalog.set_custom(&name, Vec::new());
            self.served.remove(&name);
            super::forget(&name);
        }
        Ok(listed.revision)
    }

    /// Serves the CRD's current definition (if its names are free) and
    /// reports it.
    async fn establish(&mut self, name: &str, crd: &Value) -> Result<(), ApiError> {
        let generation = crd["metadata"]["generation"].as_i64().unwrap_or(0);
        let conflict = names::conflict(crd, &self.catalog.custom_except(name));
        if conflict.is_none() && self.served.get(name) != Some(&generation) {
            match super::resources(crd) {
                Ok(defs) => {
                    for def in &defs {
                        self.registry.serve(def).await;
                    }
                    self.catalog.set_custom(name, defs);
                    self.served.insert(name.to_string(), generation);
                    tracing::info!(crd = name, generation, "serving custom resources");
                }
                Err(errors) => {
                    let lines: Vec<String> = errors.iter().map(|e| e.to_line()).collect();
                    tracing::warn!(crd = name, errors = %lines.join("; "), "cannot serve a CRD");
                }
            }
        }
        let accepted = conflict.is_none() || self.served.contains_key(name);
        let conditions = match &conflict {
            None => vec![
                condition("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                condition(
                    "Established",
                    "True",
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                ),
            ],
            Some((reason, message)) => vec![
                condition("NamesAccepted", "False", reason, message),
                condition(
                    "Established",
                    if accepted { "True" } else { "False" },
                    if accepted {
                        "InitialNamesAccepted"
                    } else {
                        "NotAccepted"
                    },
                    if accepted {
                        "the initial names have been accepted"
                    } else {
                        "not all names are accepted"
                    },
                ),
            ],
        };
        let accepted_names = conflict.is_none().then(|| accepted_names(crd));
        self.write_status(name, conditions, accepted_names).await
    }

    /// Deletes the objects of a deleted CRD, then lets the CRD go.
    async fn finalize(&mut self, name: &str, crd: &Value) -> Result<(), ApiError> {
        let holds = crd["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == CLEANUP_FINALIZER));
        if !holds {
            return Ok(());
        }
        let defs = self.catalog.custom(name);
        let remaining = match defs.first() {
            Some(def) => self.delete_objects(def).await?,
            None => 0,
        };
        if remaining > 0 {
            let message = format!("CustomResource deletion is in progress ({remaining} left)");
            let terminating = condition(
                "Terminating",
                "True",
                "InstanceDeletionInProgress",
                &message,
            );
            return self.write_status(name, vec![terminating], None).await;
        }
        self.catalog.set_custom(name, Vec::new());
        self.served.remove(name);
        let result = self
            .registry
            .guaranteed_update(self.crds, None, name, Write::internal(), |current| {
                let mut next = current.clone();
                if let Some(list) = next["metadata"]["finalizers"].as_array_mut() {
                    list.retain(|f| f != CLEANUP_FINALIZER);
                }
                Ok(next)
            })
            .await;
        match result {
            Ok(_) | Err(ApiError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Deletes every object of the resource; returns how many are left
    /// (waiting on their own finalizers).
    async fn delete_objects(&self, def: &ResourceDef) -> Result<usize, ApiError> {
        let listed = self
            .registry
            .list(def, None, &ListOptions::default())
            .await?;
        let mut left = 0;
        for item in &listed.items {
            let obj = item.value();
            let meta = &obj["metadata"];
            let name = meta["name"].as_str().unwrap_or_default();
            match self
                .registry
                .delete(def, meta["namespace"].as_str(), name, &Value::Null, false)
                .await
            {
                Ok(crate::registry::Deleted::Gone(_)) | Err(ApiError::NotFound { .. }) => {}
                Ok(crate::registry::Deleted::Pending(_)) => left += 1,
                Err(error) => {
                    left += 1;
                    tracing::debug!(%error, name, "cannot delete a custom object");
                }
            }
        }
        Ok(left)
    }

    async fn write_status(
        &self,
        name: &str,
        conditions: Vec<Value>,
        accepted_names: Option<Value>,
    ) -> Result<(), ApiError> {
        let write = Write {
            subresource: Some(Subresource::Status),
            manager: Some(MANAGER),
            ..Write::internal()
        };
        let now = timestamp(jiff::Timestamp::now());
        let result = self
            .registry
            .guaranteed_update(self.crds, None, name, write, |current| {
                let mut next = current.clone();
                let status = &mut next["status"];
                merge_conditions(status, &conditions, &now);
                if let Some(names) = &accepted_names {
                    status["acceptedNames"] = names.clone();
                }
                add_stored_version(&mut next);
                Ok(next)
            })
            .await;
        match result {
            Ok(_) | Err(ApiError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message})
}

/// Sets each condition, keeping `lastTransitionTime` when its status did
/// not change.
fn merge_conditions(status: &mut Value, conditions: &[Value], now: &str) {
    if !status.is_object() {
        *status = json!({});
    }
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    let Some(list) = status["conditions"].as_array_mut() else {
        return;
    };
    for wanted in conditions {
        let mut wanted = wanted.clone();
        match list.iter_mut().find(|c| c["type"] == wanted["type"]) {
            Some(existing) => {
                let time = if existing["status"] == wanted["status"] {
                    existing["lastTransitionTime"].clone()
                } else {
                    json!(now)
                };
                wanted["lastTransitionTime"] = time;
                *existing = reorder(wanted);
            }
            None => {
                wanted["lastTransitionTime"] = json!(now);
                list.push(reorder(wanted));
            }
        }
    }
}

/// kube's field order: type, status, lastTransitionTime, reason, message.
fn reorder(condition: Value) -> Value {
    json!({
        "type": condition["type"],
        "status": condition["status"],
        "lastTransitionTime": condition["lastTransitionTime"],
        "reason": condition["reason"],
        "message": condition["message"],
    })
}

fn accepted_names(crd: &Value) -> Value {
    let names = &crd["spec"]["names"];
    let mut accepted = serde_json::Map::new();
    for field in [
        "plural",
        "singular",
        "shortNames",
        "kind",
        "listKind",
        "categories",
    ] {
        if let Some(value) = names.get(field).filter(|v| !v.is_null()) {
            accepted.insert(field.to_string(), value.clone());
        }
    }
    Value::Object(accepted)
}

/// A new storage version joins `status.storedVersions`.
fn add_stored_version(crd: &mut Value) {
    let storage = crd["spec"]["versions"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["storage"].as_bool().unwrap_or(false)))
        .and_then(|v| v["name"].as_str())
        .map(str::to_string);
    let Some(storage) = storage else { return };
    if !crd["status"]["storedVersions"].is_array() {
        crd["status"]["storedVersions"] = json!([]);
    }
    if let Some(list) = crd["status"]["storedVersions"].as_array_mut()
        && !list.iter().any(|v| v == storage.as_str())
    {
        list.push(json!(storage));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_keep_their_transition_time_until_status_changes() {
        let mut status = json!({});
        let ready = condition("Established", "True", "InitialNamesAccepted", "ok");
        merge_conditions(&mut status, std::slice::from_ref(&ready), "t1");
        merge_conditions(&mut status, std::slice::from_ref(&ready), "t2");
        assert_eq!(status["conditions"][0]["lastTransitionTime"], "t1");
        let lost = condition("Established", "False", "NotAccepted", "no");
        merge_conditions(&mut status, &[lost], "t3");
        assert_eq!(status["conditions"][0]["lastTransitionTime"], "t3");
        assert_eq!(status["conditions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn storage_versions_accumulate() {
        let mut crd = json!({"spec": {"versions": [
            {"name": "v1", "storage": false}, {"name": "v2", "storage": true},
        ]}, "status": {"storedVersions": ["v1"]}});
        add_stored_version(&mut crd);
        add_stored_version(&mut crd);
        assert_eq!(crd["status"]["storedVersions"], json!(["v1", "v2"]));
    }
}
