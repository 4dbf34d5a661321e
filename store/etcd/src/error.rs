//! etcd's errors as `StoreError`s. etcd reports its errors as gRPC statuses
//! whose messages are fixed strings, and `StoreError` words its etcd variants
//! exactly as etcd does, so the mapping is by message; transport failures
//! and etcd's retryable conditions become `Unavailable`.

use mars_store::StoreError;
use tonic::Code;

/// Every `StoreError` that is one of etcd's own errors, to match by message.
/// `Compacted` carries 0: etcd's range and compaction errors do not say
/// which revision the store is compacted to (only watches report it).
const ETCD_ERRORS: [StoreError; 13] = [
    StoreError::EmptyKey,
    StoreError::KeyNotFound,
    StoreError::ValueProvided,
    StoreError::LeaseProvided,
    StoreError::TooManyOps,
    StoreError::DuplicateKey,
    StoreError::InvalidSortOption,
    StoreError::Compacted {
        compact_revision: 0,
    },
    StoreError::FutureRevision,
    StoreError::LeaseNotFound,
    StoreError::LeaseExists,
    StoreError::LeaseTtlTooLarge,
    StoreError::RequestTooLarge,
];

/// The prefix etcd puts on its gRPC error messages (and `StoreError` too).
const ETCD_PREFIX: &str = "etcdserver: ";

/// The one place an `etcd_client::Error` becomes a `StoreError`.
pub(crate) fn store_error(error: etcd_client::Error) -> StoreError {
    use etcd_client::Error;
    match error {
        Error::GRpcStatus(status) => status_error(status.code(), status.message()),
        Error::TransportError(e) => StoreError::Unavailable(format!("cannot reach etcd: {e}")),
        Error::IoError(e) => StoreError::Unavailable(format!("cannot reach etcd: {e}")),
        // The watch request channel closed: the stream to etcd is gone.
        Error::WatchError(e) => StoreError::Unavailable(format!("etcd watch stream: {e}")),
        other => StoreError::Backend(other.to_string()),
    }
}

/// A gRPC status from etcd (or from the transport under it) as a `StoreError`.
pub(crate) fn status_error(code: Code, message: &str) -> StoreError {
    let text = message.strip_prefix(ETCD_PREFIX).unwrap_or(message);
    if let Some(known) = ETCD_ERRORS.iter().find(|known| {
        let wording = known.to_string();
        wording.strip_prefix(ETCD_PREFIX).unwrap_or(&wording) == text
    }) {
        return known.clone();
    }
    match code {
        // Unreachable, no leader, leader changed, request timed out: worth
        // retrying later. A client-side timeout shows up as `Cancelled`.
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            StoreError::Unavailable(message.to_string())
        }
        _ => StoreError::Backend(message.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_messages_map_to_their_variants() {
        assert_eq!(
            status_error(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted"
            ),
            StoreError::Compacted {
                compact_revision: 0
            }
        );
        assert_eq!(
            status_error(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision is a future revision"
            ),
            StoreError::FutureRevision
        );
        assert_eq!(
            status_error(Code::NotFound, "etcdserver: requested lease not found"),
            StoreError::LeaseNotFound
        );
        assert_eq!(
            status_error(Code::InvalidArgument, "etcdserver: key is not provided"),
            StoreError::EmptyKey
        );
    }

    #[test]
    fn unknown_messages_keep_their_words() {
        assert_eq!(
            status_error(Code::Unavailable, "etcdserver: no leader"),
            StoreError::Unavailable("etcdserver: no leader".into())
        );
        assert_eq!(
            status_error(Code::Internal, "boom"),
            StoreError::Backend("boom".into())
        );
    }
}
