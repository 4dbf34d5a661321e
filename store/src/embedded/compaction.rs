//! Automatic compaction, as etcd's `--auto-compaction-mode/-retention`.

use std::collections::VecDeque;
use std::str::FromStr;
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

impl FromStr for AutoCompaction {
    type Err = String;

    /// `"10000"` keeps that many revisions; `"90s"`, `"30m"` or `"1h"` keep
    /// that much time.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let bad = || {
            format!(
                "invalid auto-compaction retention {text:?}: use a revision count like 10000 or a duration like 30s, 5m, 1h"
            )
        };
        if let Ok(revisions) = text.parse::<i64>() {
            return if revisions > 0 {
                Ok(Self::Revisions(revisions))
            } else {
                Err(bad())
            };
        }
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = text.split_at(split);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "s" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return Err(bad()),
        };
        if seconds == 0 {
            return Err(bad());
        }
        Ok(Self::Periodic(Duration::from_secs(seconds)))
    }
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
            if target > store.compact_revision() {
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
