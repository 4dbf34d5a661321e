//! Local caches of API objects, kept current by a watch: what every
//! controller reads instead of listing on each sync.

use futures::StreamExt;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

/// A cache of every object `api` reaches, filled by a watch that runs in
/// its own task (restarting with backoff); `who` names it in the logs.
pub fn watched<K>(api: Api<K>, who: &'static str) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let watch = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .for_each(move |event| {
            if let Err(error) = event {
                tracing::warn!(%error, "{who} watch");
            }
            std::future::ready(())
        });
    tokio::spawn(watch);
    reader
}
