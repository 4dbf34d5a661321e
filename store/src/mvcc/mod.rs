//! The MVCC engine: a pure, in-memory state machine with etcd v3 semantics.
//!
//! Every key keeps its history of revisions (values and tombstones) until
//! compaction; reads at a past revision, watches from a past revision and
//! conditional transactions are answered from that history. The engine does
//! no IO and knows no clock: the embedded backend logs each command durably
//! before it calls [`Mvcc::apply`], and replays the same commands on restart.

mod compare;
mod range;
mod snapshot;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

pub use range::{KeyRange, check_range};

use crate::pb::etcdserverpb::{
    CompactionRequest, DeleteRangeResponse, LeaseGrantRequest, LeaseGrantResponse,
    LeaseRevokeRequest, PutResponse, TxnResponse,
};
use crate::pb::marspb::{Command, command::Op};
use crate::pb::mvccpb::Event;
use crate::{KeyValue, StoreError};

/// The largest TTL a lease may ask for (etcd's `MaxLeaseTTL`, about 285 years).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;
/// The shortest TTL granted; shorter requests are raised to it, as etcd does
/// with its default election timeout.
pub const MIN_LEASE_TTL: i64 = 2;

/// One revision of one key: a value, or the tombstone a delete leaves.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    kv: KeyValue,
    /// Position of this change within its revision's transaction.
    sub: u32,
    tombstone: bool,
}

/// A lease as the state machine sees it: its TTL and the keys it holds.
/// Deadlines are not state: the backend's lessor keeps them in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeaseState {
    pub ttl: i64,
    pub keys: BTreeSet<Bytes>,
}

/// What applying one command produced: the response for its client and the
/// events for watchers.
#[derive(Debug, Clone)]
pub struct Applied {
    pub response: Result<Response, StoreError>,
    pub events: Vec<Event>,
}

/// The response to one applied command.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
    Compaction,
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke,
}

/// The engine state: every retained revision of every key, and the leases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mvcc {
    revision: i64,
    compact_revision: i64,
    keys: BTreeMap<Bytes, Vec<Entry>>,
    leases: BTreeMap<i64, LeaseState>,
}

impl Mvcc {
    /// An empty store at revision 1, as etcd starts (revision 1 is "nothing yet").
    pub fn new() -> Self {
        Self {
            revision: 1,
            ..Self::default()
        }
    }

    /// The revision of the latest write.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Reads below this revision fail with [`StoreError::Compacted`].
    pub fn compact_revision(&self) -> i64 {
        self.compact_revision
    }

    /// The live leases, by id.
    pub fn leases(&self) -> &BTreeMap<i64, LeaseState> {
        &self.leases
    }

    /// Number of retained key revisions (values and tombstones); a rough size
    /// measure that compaction shrinks.
    pub fn retained_revisions(&self) -> usize {
        self.keys.values().map(Vec::len).sum()
    }

    /// Applies one logged command. Deterministic: the same command on the same
    /// state always gives the same state, response and events, which is what
    /// makes log replay (and Raft) correct.
    pub fn apply(&mut self, command: &Command) -> Applied {
        let Some(op) = &command.op else {
            return Applied {
                response: Err(StoreError::Backend("empty command in log".into())),
                events: Vec::new(),
            };
        };
        match op {
            Op::Put(put) => self.write(|txn| txn.put(put).map(Response::Put)),
            Op::DeleteRange(delete) => {
                self.write(|txn| txn.delete_range(delete).map(Response::DeleteRange))
            }
            Op::Txn(request) => self.write(|txn| txn.txn(request).map(Response::Txn)),
            Op::Compaction(request) => Applied {
                response: self.compact(request).map(|()| Response::Compaction),
                events: Vec::new(),
            },
            Op::LeaseGrant(request) => Applied {
                response: self.grant_lease(request).map(Response::LeaseGrant),
                events: Vec::new(),
            },
            Op::LeaseRevoke(request) => self.revoke_lease(request),
        }
    }

    fn compact(&mut self, request: &CompactionRequest) -> Result<(), StoreError> {
        let rev = request.revision;
        if rev <= self.compact_revision {
            return Err(StoreError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        if rev > self.revision {
            return Err(StoreError::FutureRevision);
        }
        self.keys.retain(|_, history| {
            // Keep the newest revision at or below `rev` (what a read at `rev`
            // sees) unless it is a tombstone, and everything after it.
            let visible = history.partition_point(|e| e.kv.mod_revision <= rev);
            let mut drop = visible.saturating_sub(1);
            if visible > 0 && history[visible - 1].tombstone {
                drop = visible;
            }
            history.drain(..drop);
            !history.is_empty()
        });
        self.compact_revision = rev;
        Ok(())
    }

    fn grant_lease(
        &mut self,
        request: &LeaseGrantRequest,
    ) -> Result<LeaseGrantResponse, StoreError> {
        if request.ttl > MAX_LEASE_TTL {
            return Err(StoreError::LeaseTtlTooLarge);
        }
        if request.id <= 0 {
            return Err(StoreError::Backend(
                "lease grant reached the log without an id".into(),
            ));
        }
        if self.leases.contains_key(&request.id) {
            return Err(StoreError::LeaseExists);
        }
        let ttl = request.ttl.max(MIN_LEASE_TTL);
        self.leases.insert(
            request.id,
            LeaseState {
                ttl,
                keys: BTreeSet::new(),
            },
        );
        Ok(LeaseGrantResponse {
            header: None,
            id: request.id,
            ttl,
            error: String::new(),
        })
    }

    /// Revokes a lease and deletes its keys in one revision.
    fn revoke_lease(&mut self, request: &LeaseRevokeRequest) -> Applied {
        let Some(lease) = self.leases.get(&request.id) else {
            return Applied {
                response: Err(StoreError::LeaseNotFound),
                events: Vec::new(),
            };
        };
        let keys: Vec<Bytes> = lease.keys.iter().cloned().collect();
        let mut applied = self.write(|txn| {
            for key in keys {
                txn.delete_key(&key);
            }
            Ok(Response::LeaseRevoke)
        });
        if applied.response.is_ok() {
            self.leases.remove(&request.id);
        } else {
            applied.events.clear();
        }
        applied
    }
}

#[cfg(test)]
mod tests;
