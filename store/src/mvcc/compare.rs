//! Transaction guards: etcd's `Compare` evaluated against the current state.

use std::cmp::Ordering;

use super::{KeyRange, Mvcc};
use crate::KeyValue;
use crate::pb::etcdserverpb::Compare;
use crate::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};

impl Mvcc {
    /// Whether every key in the compare's range satisfies it. A compare on a
    /// missing key sees zero version/revisions/lease, and a value compare on
    /// a missing key always fails (etcd cannot tell "missing" from "empty").
    pub(super) fn compare_holds(&self, compare: &Compare) -> bool {
        let range = KeyRange::new(&compare.key, &compare.range_end);
        let mut matched_any = false;
        for (_, history) in self.histories(range) {
            if let Some(entry) = history.last().filter(|e| !e.tombstone) {
                matched_any = true;
                if !compare_kv(compare, &entry.kv) {
                    return false;
                }
            }
        }
        if matched_any {
            return true;
        }
        if compare.target == CompareTarget::Value as i32 {
            return false;
        }
        compare_kv(compare, &KeyValue::default())
    }
}

fn compare_kv(compare: &Compare, kv: &KeyValue) -> bool {
    let number = |pick: fn(&TargetUnion) -> Option<i64>| {
        compare.target_union.as_ref().and_then(pick).unwrap_or(0)
    };
    let ordering = match CompareTarget::try_from(compare.target) {
        Ok(CompareTarget::Version) => kv.version.cmp(&number(|t| match t {
            TargetUnion::Version(v) => Some(*v),
            _ => None,
        })),
        Ok(CompareTarget::Create) => kv.create_revision.cmp(&number(|t| match t {
            TargetUnion::CreateRevision(v) => Some(*v),
            _ => None,
        })),
        Ok(CompareTarget::Mod) => kv.mod_revision.cmp(&number(|t| match t {
            TargetUnion::ModRevision(v) => Some(*v),
            _ => None,
        })),
        Ok(CompareTarget::Lease) => kv.lease.cmp(&number(|t| match t {
            TargetUnion::Lease(v) => Some(*v),
            _ => None,
        })),
        Ok(CompareTarget::Value) => {
            let wanted: &[u8] = match &compare.target_union {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_ref().cmp(wanted)
        }
        Err(_) => return false,
    };
    match CompareResult::try_from(compare.result) {
        Ok(CompareResult::Equal) => ordering == Ordering::Equal,
        Ok(CompareResult::NotEqual) => ordering != Ordering::Equal,
        Ok(CompareResult::Greater) => ordering == Ordering::Greater,
        Ok(CompareResult::Less) => ordering == Ordering::Less,
        Err(_) => false,
    }
}
