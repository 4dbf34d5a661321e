//! Converting the engine state to and from a snapshot record.

use std::collections::BTreeMap;

use super::{Entry, LeaseState, Mvcc};
use crate::pb::marspb::{KeyHistory, Revision, Snapshot, SnapshotLease};

impl Mvcc {
    /// The whole state as a snapshot record that includes log records up to
    /// and including `applied_index`.
    pub fn to_snapshot(&self, applied_index: u64) -> Snapshot {
        Snapshot {
            applied_index,
            revision: self.revision,
            compact_revision: self.compact_revision,
            keys: self
                .keys
                .values()
                .map(|history| KeyHistory {
                    revisions: history
                        .iter()
                        .map(|e| Revision {
                            kv: Some(e.kv.clone()),
                            sub: e.sub,
                            tombstone: e.tombstone,
                        })
                        .collect(),
                })
                .collect(),
            leases: self
                .leases
                .iter()
                .map(|(&id, lease)| SnapshotLease { id, ttl: lease.ttl })
                .collect(),
        }
    }

    /// Rebuilds the state from a snapshot; lease key sets are derived from
    /// the live keys.
    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let mut leases: BTreeMap<i64, LeaseState> = snapshot
            .leases
            .iter()
            .map(|l| {
                (
                    l.id,
                    LeaseState {
                        ttl: l.ttl,
                        keys: Default::default(),
                    },
                )
            })
            .collect();
        let mut keys = BTreeMap::new();
        for history in snapshot.keys {
            let entries: Vec<Entry> = history
                .revisions
                .into_iter()
                .filter_map(|r| {
                    r.kv.map(|kv| Entry {
                        kv,
                        sub: r.sub,
                        tombstone: r.tombstone,
                    })
                })
                .collect();
            let Some(last) = entries.last() else { continue };
            if !last.tombstone
                && last.kv.lease != 0
                && let Some(lease) = leases.get_mut(&last.kv.lease)
            {
                lease.keys.insert(last.kv.key.clone());
            }
            keys.insert(last.kv.key.clone(), entries);
        }
        Self {
            revision: snapshot.revision.max(1),
            compact_revision: snapshot.compact_revision,
            keys,
            leases,
        }
    }
}
