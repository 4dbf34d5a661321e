//! Finishing namespace deletion: a terminating namespace's objects are
//! deleted, then its `kubernetes` finalizer is removed and the namespace
//! disappears (what kube-controller-manager's namespace controller does).
//!
//! This runs inside the API server over the registry until the controllers
//! crate has a namespace controller that works through the public API; it
//! reports no conditions yet.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::registry::{ListOptions, Registry, Write};
use crate::resources::{self, ResourceDef, Subresource};

/// The finalizer this cleanup owns.
const FINALIZER: &str = "kubernetes";

/// Runs forever, checking terminating namespaces every `period`.
pub async fn run(registry: Arc<Registry>, catalog: Arc<Catalog>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let served = catalog.snapshot();
        if let Err(error) = sweep(&registry, &served.resources).await {
            tracing::debug!(%error, "namespace cleanup pass failed; retrying");
        }
    }
}

async fn sweep(registry: &Registry, resources: &[ResourceDef]) -> Result<(), crate::ApiError> {
    let Some(namespaces) = resources::find("", "v1", "namespaces") else {
        return Ok(());
    };
    let cached = ListOptions {
        resource_version: Some("0".into()),
        ..ListOptions::default()
    };
    let listed = registry.list(namespaces, None, &cached).await?;
    for ns in &listed.items {
        let ns = ns.value();
        let terminating = ns["metadata"]["deletionTimestamp"].is_string();
        let ours = ns["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
        if !(terminating && ours) {
            continue;
        }
        let name = ns["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if empty_namespace(registry, resources, &name).await? {
            release(registry, namespaces, &name).await?;
        }
    }
    Ok(())
}

/// Deletes what is left in the namespace; true once nothing is.
async fn empty_namespace(
    registry: &Registry,
    resources: &[ResourceDef],
    namespace: &str,
) -> Result<bool, crate::ApiError> {
    let mut seen = HashSet::new();
    let mut empty = true;
    for resource in resources.iter().filter(|r| r.namespaced) {
        if !seen.insert(resource.key_prefix()) {
            continue;
        }
        let listed = registry
            .list(resource, Some(namespace), &ListOptions::default())
            .await?;
        for object in &listed.items {
            empty = false;
            let value = object.value();
            if value["metadata"]["deletionTimestamp"].is_string() {
                continue;
            }
            let name = value["metadata"]["name"].as_str().unwrap_or_default();
            match registry
                .delete(resource, Some(namespace), name, &Value::Null, false)
                .await
            {
                Ok(_) | Err(crate::ApiError::NotFound { .. }) => {}
                Err(error) => tracing::debug!(%error, namespace, name, "cannot delete"),
            }
        }
    }
    Ok(empty)
}

async fn release(
    registry: &Registry,
    namespaces: &ResourceDef,
    name: &str,
) -> Result<(), crate::ApiError> {
    let result = registry
        .guaranteed_update(
            namespaces,
            None,
            name,
            Write {
                subresource: Some(Subresource::Finalize),
                ..Write::internal()
            },
            |ns| {
                let mut next = ns.clone();
                if let Some(list) = next["spec"]["finalizers"].as_array_mut() {
                    list.retain(|f| f != FINALIZER);
                }
                Ok(next)
            },
        )
        .await;
    match result {
        Ok(_) | Err(crate::ApiError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}
