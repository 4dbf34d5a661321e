//! What every controller's sync shares: its error type, the retry after a
//! failure, and a bound on how long one sync may take.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

/// A sync that has not finished by then fails and is retried: a request
/// that never answers must not stall its object (kube-runtime runs one
/// sync per object at a time).
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// How soon a failed sync is retried.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("the sync did not finish within {0:?}")]
    TimedOut(Duration),
}

/// Runs `sync` for at most [`SYNC_TIMEOUT`].
pub async fn bounded<T>(sync: impl Future<Output = Result<T, SyncError>>) -> Result<T, SyncError> {
    tokio::time::timeout(SYNC_TIMEOUT, sync)
        .await
        .unwrap_or(Err(SyncError::TimedOut(SYNC_TIMEOUT)))
}

/// The error policy of every controller: log, retry after [`RETRY_AFTER`].
pub fn retry<K, C>(object: Arc<K>, error: &SyncError, _ctx: Arc<C>) -> Action
where
    K: kube::Resource<DynamicType = ()>,
{
    tracing::warn!(
        kind = %K::kind(&()),
        object = %format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any()),
        %error,
        "sync failed"
    );
    Action::requeue(RETRY_AFTER)
}

/// Writes `wanted` as the status of object `name` unless `current` already
/// says the same (a merge patch that also clears the fields `current` has
/// and `wanted` lacks). `Ok(false)` when the object is gone.
pub async fn write_status<K, S>(
    api: &Api<K>,
    name: &str,
    current: Option<&S>,
    wanted: &S,
) -> Result<bool, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + Debug,
    S: serde::Serialize,
{
    if crate::pods::same_status(current, wanted) {
        return Ok(true);
    }
    let patch = crate::pods::status_patch(current, wanted);
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// What a controller does with each result of its run stream: failures are
/// logged at debug level, the error policy has already warned about them.
pub fn log_failure<T, E: std::fmt::Display>(
    who: &'static str,
) -> impl FnMut(Result<T, E>) -> std::future::Ready<()> {
    move |result| {
        if let Err(error) = result {
            tracing::debug!(%error, "{who} reconcile");
        }
        std::future::ready(())
    }
}
