//! Lease deadlines. They live only in memory: after a restart every lease
//! gets its full TTL again, as etcd's new leader grants.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::{Embedded, TICK};
use crate::StoreError;
use crate::mvcc::LeaseState;

#[derive(Default)]
pub(crate) struct Lessor {
    deadlines: HashMap<i64, Instant>,
    /// Expired leases whose revoke is in flight: keep-alives no longer save them.
    revoking: HashSet<i64>,
}

fn ttl_duration(ttl: i64) -> Duration {
    Duration::from_secs(u64::try_from(ttl).unwrap_or(0))
}

impl Lessor {
    pub(crate) fn refresh_all(&mut self, leases: &BTreeMap<i64, LeaseState>) {
        let now = Instant::now();
        for (&id, lease) in leases {
            self.deadlines.insert(id, now + ttl_duration(lease.ttl));
        }
    }

    pub(crate) fn granted(&mut self, id: i64, ttl: i64) {
        self.deadlines
            .insert(id, Instant::now() + ttl_duration(ttl));
    }

    pub(crate) fn forget(&mut self, id: i64) {
        self.deadlines.remove(&id);
        self.revoking.remove(&id);
    }

    pub(crate) fn renew(&mut self, id: i64, ttl: i64) -> Result<(), StoreError> {
        if self.revoking.contains(&id) {
            return Err(StoreError::LeaseNotFound);
        }
        self.deadlines
            .insert(id, Instant::now() + ttl_duration(ttl));
        Ok(())
    }

    /// Whole seconds left, or `None` for an unknown or expiring lease.
    pub(crate) fn remaining(&self, id: i64) -> Option<i64> {
        if self.revoking.contains(&id) {
            return None;
        }
        let deadline = self.deadlines.get(&id)?;
        let left = deadline.saturating_duration_since(Instant::now());
        Some(left.as_secs() as i64)
    }

    /// Leases past their deadline that nobody is revoking yet.
    fn take_expired(&mut self) -> Vec<i64> {
        let now = Instant::now();
        let expired: Vec<i64> = self
            .deadlines
            .iter()
            .filter(|(id, deadline)| **deadline <= now && !self.revoking.contains(id))
            .map(|(id, _)| *id)
            .collect();
        self.revoking.extend(&expired);
        expired
    }

    fn retry_later(&mut self, id: i64) {
        self.revoking.remove(&id);
    }
}

/// Revokes expired leases (deleting their keys) while this member leads,
/// until the store closes.
pub(super) fn spawn_expiry(store: &Embedded) {
    let weak = store.downgrade();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        let mut leading = false;
        loop {
            tick.tick().await;
            let Some(store) = weak.upgrade() else { break };
            if store.is_closed() {
                break;
            }
            // Only the leader expires leases. A member that becomes leader
            // gives every lease its full TTL again, as etcd's new leader
            // does: keep-alives may have gone to the old one.
            let leader = store.member.is_leader();
            if leader && !leading {
                let state = store.core.state.read();
                store.core.lessor.lock().refresh_all(state.leases());
            }
            leading = leader;
            if !leader {
                continue;
            }
            let expired = store.core.lessor.lock().take_expired();
            for id in expired {
                let store = store.clone();
                tokio::spawn(async move {
                    match store.lease_revoke(id).await {
                        Ok(_) | Err(StoreError::LeaseNotFound) => {
                            tracing::debug!(lease = id, "lease expired and revoked");
                        }
                        Err(e) => {
                            tracing::warn!(lease = id, error = %e, "revoking an expired lease failed; will retry");
                            store.core.lessor.lock().retry_later(id);
                        }
                    }
                });
            }
        }
    });
}
