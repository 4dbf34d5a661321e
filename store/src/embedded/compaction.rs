//! Automatic compaction, as etcd's `--auto-compaction-mode/-retention`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::Embedded;

/// How much history to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoCompaction {
    /// Keep the newest N revisions (checked every five minutes, as etcd does).
    Revisions(i64),
    /// Keep this much wall-clock history (sampled every tenth of it).
    Periodic(Duration),
}

pub(super) fn spawn(store: &Embedded, policy: AutoCompaction) {
    let weak = store.downgrade();
    tokio::spawn(async move {
        let every = match policy {
            AutoCompaction::Revisions(_) => Duration::from_secs(300),
            AutoCompaction::Periodic(keep) => (keep / 10).max(Duration::from_millis(100)),
        };
        let mut samples: VecDeque<(Instant, i64)> = VecDeque::new();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Some(store) = weak.upgrade() else { break };
            if store.is_closed() {
                break;
            }
            let current = store.revision();
            let target = match policy {
                AutoCompaction::Revisions(keep) => current - keep,
                AutoCompaction::Periodic(keep) => {
                    let now = Instant::now();
                    samples.push_back((now, current));
                    let mut target = 0;
                    while let Some(&(at, rev)) = samples.front() {
                        if now.duration_since(at) < keep {
                            break;
                        }
                        target = rev;
                        samples.pop_front();
                    }
                    target
                }
            };
            // Every member samples; the leader compacts for all.
            if target > store.compact_revision() && store.member.is_leader() {
                match store.compact(target).await {
                    Ok(_) => tracing::info!(revision = target, "auto-compacted"),
                    Err(e) => {
                        tracing::warn!(revision = target, error = %e, "auto-compaction failed")
                    }
                }
            }
        }
    });
}
