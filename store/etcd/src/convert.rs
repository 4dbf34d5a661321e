//! etcd-client's protobuf types into Mars's (the same messages, generated
//! twice), field by field, taking ownership so values are not copied.

use bytes::Bytes;
use etcd_client::proto::{PbEvent, PbKeyValue, PbResponseHeader, PbTxnOpResponse, PbTxnResponse};
use mars_store::{Event, KeyValue};

pub(crate) fn key_value(kv: PbKeyValue) -> KeyValue {
    KeyValue {
        key: Bytes::from(kv.key),
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value: Bytes::from(kv.value),
        lease: kv.lease,
    }
}

pub(crate) fn event(event: PbEvent) -> Event {
    Event {
        r#type: event.r#type,
        kv: event.kv.map(key_value),
        prev_kv: event.prev_kv.map(key_value),
    }
}

/// The store revision a response was served at (0 if etcd sent no header).
pub(crate) fn revision_of(header: Option<&PbResponseHeader>) -> i64 {
    header.map_or(0, |h| h.revision)
}

/// The first key a range in the transaction returned (a failed guard's
/// failure branch reads the key's current value).
pub(crate) fn range_kv(txn: PbTxnResponse) -> Option<KeyValue> {
    txn.responses
        .into_iter()
        .find_map(|op| match op.response {
            Some(PbTxnOpResponse::ResponseRange(range)) => range.kvs.into_iter().next(),
            _ => None,
        })
        .map(key_value)
}

/// The previous value a put in the transaction replaced, if it asked for it.
pub(crate) fn put_prev_kv(txn: PbTxnResponse) -> Option<KeyValue> {
    txn.responses
        .into_iter()
        .find_map(|op| match op.response {
            Some(PbTxnOpResponse::ResponsePut(put)) => put.prev_kv,
            _ => None,
        })
        .map(key_value)
}

/// What a delete in the transaction removed, if anything.
pub(crate) fn deleted_kv(txn: PbTxnResponse) -> Option<KeyValue> {
    txn.responses
        .into_iter()
        .find_map(|op| match op.response {
            Some(PbTxnOpResponse::ResponseDeleteRange(delete)) => {
                delete.prev_kvs.into_iter().next()
            }
            _ => None,
        })
        .map(key_value)
}
