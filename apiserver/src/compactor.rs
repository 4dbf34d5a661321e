//! Periodic compaction of the store's history, as kube-apiserver does every
//! `--etcd-compaction-interval`: each pass compacts to the revision the
//! previous pass saw, so clients always have at least one interval of
//! history to resume watches and page lists from, and the store's memory
//! stays proportional to the live objects.

use std::sync::Arc;
use std::time::Duration;

use mars_store::{Store, StoreError};

/// Runs forever, compacting every `interval`.
pub async fn run(store: Arc<dyn Store>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut previous = None;
    loop {
        tick.tick().await;
        previous = pass(store.as_ref(), previous).await.or(previous);
    }
}

/// One pass: compacts to `previous` (the revision the last pass saw) and
/// returns the revision now, to compact to next time.
async fn pass(store: &dyn Store, previous: Option<i64>) -> Option<i64> {
    let current = match store.current_revision().await {
        Ok(revision) => revision,
        Err(error) => {
            tracing::warn!(%error, "cannot read the store's revision to compact");
            return None;
        }
    };
    if let Some(revision) = previous.filter(|r| *r > 0) {
        match store.compact(revision).await {
            Ok(()) => tracing::debug!(revision, "compacted the store's history"),
            // Someone (etcd's own auto-compaction) got there first.
            Err(StoreError::Compacted { .. }) => {}
            Err(error) => tracing::warn!(%error, revision, "compaction failed"),
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use mars_store::{Embedded, EmbeddedConfig};

    #[tokio::test]
    async fn compacts_to_the_revision_seen_one_pass_earlier() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(EmbeddedConfig::new(dir.path().join("data")))
            .await
            .unwrap();
        store
            .create(b"/a", Bytes::from_static(b"1"), 0)
            .await
            .unwrap();
        let first = store.revision();
        let seen = pass(&store, None).await;
        assert_eq!(seen, Some(first));
        assert_eq!(store.compact_revision(), 0, "the first pass only looks");
        store
            .create(b"/b", Bytes::from_static(b"2"), 0)
            .await
            .unwrap();
        let seen = pass(&store, seen).await;
        assert_eq!(seen, Some(store.revision()));
        assert_eq!(
            store.compact_revision(),
            first,
            "history since the last pass is kept"
        );
        store.close().await;
    }
}
