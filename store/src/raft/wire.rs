//! How the Raft log and the Raft RPCs carry Mars's values: commands and their
//! outcomes travel as the protobuf records the rest of the store already
//! speaks, wrapped so openraft's serde-based messages can hold them.

use std::fmt;

use prost::Message;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::StoreError;
use crate::mvcc::Response;
use crate::pb::marspb::{Batch, Command, Failure, Outcome, Outcomes, outcome};

/// The commands one Raft entry carries: proposals that arrived together are
/// logged, fsynced and replicated together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Logged(pub Vec<Command>);

/// What applying each command of an entry answered, in order (none for
/// entries without commands: a new leader's blank entry, a membership
/// change).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer(pub Vec<Result<Response, StoreError>>);

/// The key of `Batch.commands` (field 1, length-delimited).
const BATCH_COMMANDS_KEY: u8 = 1 << 3 | 2;

impl Serialize for Logged {
    /// Encodes a `Batch` straight from the borrowed commands (every entry
    /// is serialized when it is logged and again when it is replicated, so
    /// no copy of the batch is made): each command as field 1.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Key, length prefix (at most 5 bytes for a 32-bit length), body.
        let len = self.0.iter().map(|c| 1 + 5 + c.encoded_len()).sum();
        let mut buf = Vec::with_capacity(len);
        for command in &self.0 {
            buf.push(BATCH_COMMANDS_KEY);
            command
                .encode_length_delimited(&mut buf)
                .map_err(serde::ser::Error::custom)?;
        }
        serializer.serialize_bytes(&buf)
    }
}

impl<'de> Deserialize<'de> for Logged {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_bytes(ProtoVisitor::<Batch>::default())
            .map(|batch| Logged(batch.commands))
    }
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let outcomes = Outcomes {
            outcomes: self.0.iter().cloned().map(to_outcome).collect(),
        };
        serializer.serialize_bytes(&outcomes.encode_to_vec())
    }
}

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_bytes(ProtoVisitor::<Outcomes>::default())
            .map(|o| Answer(o.outcomes.into_iter().map(from_outcome).collect()))
    }
}

/// Decodes one protobuf message from serde bytes.
struct ProtoVisitor<M>(std::marker::PhantomData<M>);

impl<M> Default for ProtoVisitor<M> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<M: Message + Default> Visitor<'_> for ProtoVisitor<M> {
    type Value = M;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a protobuf-encoded message")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<M, E> {
        M::decode(bytes).map_err(E::custom)
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<M, E> {
        self.visit_bytes(&bytes)
    }
}

/// The wire form of an apply result.
pub fn to_outcome(answer: Result<Response, StoreError>) -> Outcome {
    use outcome::Result as O;
    let result = match answer {
        Ok(Response::Put(r)) => O::Put(r),
        Ok(Response::DeleteRange(r)) => O::DeleteRange(r),
        Ok(Response::Txn(r)) => O::Txn(r),
        Ok(Response::Compaction) => O::Compaction(true),
        Ok(Response::LeaseGrant(r)) => O::LeaseGrant(r),
        Ok(Response::LeaseRevoke) => O::LeaseRevoke(true),
        Err(error) => O::Failure(to_failure(&error)),
    };
    Outcome {
        result: Some(result),
    }
}

/// An apply result from its wire form.
pub fn from_outcome(outcome: Outcome) -> Result<Response, StoreError> {
    use outcome::Result as O;
    match outcome.result {
        None => Err(StoreError::Backend("an empty outcome".into())),
        Some(O::Put(r)) => Ok(Response::Put(r)),
        Some(O::DeleteRange(r)) => Ok(Response::DeleteRange(r)),
        Some(O::Txn(r)) => Ok(Response::Txn(r)),
        Some(O::Compaction(_)) => Ok(Response::Compaction),
        Some(O::LeaseGrant(r)) => Ok(Response::LeaseGrant(r)),
        Some(O::LeaseRevoke(_)) => Ok(Response::LeaseRevoke),
        Some(O::Failure(failure)) => Err(from_failure(failure)),
    }
}

/// A store error on the wire; the variant travels by name.
pub fn to_failure(error: &StoreError) -> Failure {
    use StoreError::*;
    let mut failure = Failure {
        message: error.to_string(),
        ..Failure::default()
    };
    let kind = match error {
        EmptyKey => "EmptyKey",
        KeyNotFound => "KeyNotFound",
        ValueProvided => "ValueProvided",
        LeaseProvided => "LeaseProvided",
        TooManyOps => "TooManyOps",
        DuplicateKey => "DuplicateKey",
        InvalidSortOption => "InvalidSortOption",
        Compacted { compact_revision } => {
            failure.compact_revision = *compact_revision;
            "Compacted"
        }
        FutureRevision => "FutureRevision",
        LeaseNotFound => "LeaseNotFound",
        LeaseExists => "LeaseExists",
        LeaseTtlTooLarge => "LeaseTtlTooLarge",
        RequestTooLarge => "RequestTooLarge",
        AlreadyExists { key } => {
            failure.key = key.clone();
            "AlreadyExists"
        }
        Conflict { key, current } => {
            failure.key = key.clone();
            failure.current = current.as_deref().cloned();
            "Conflict"
        }
        NotFound { key } => {
            failure.key = key.clone();
            "NotFound"
        }
        Unavailable(message) => {
            failure.message = message.clone();
            "Unavailable"
        }
        Backend(message) => {
            failure.message = message.clone();
            "Backend"
        }
    };
    failure.kind = kind.into();
    failure
}

/// A store error from its wire form; an unknown kind (a newer peer) keeps
/// its message as a backend error.
pub fn from_failure(failure: Failure) -> StoreError {
    use StoreError::*;
    match failure.kind.as_str() {
        "EmptyKey" => EmptyKey,
        "KeyNotFound" => KeyNotFound,
        "ValueProvided" => ValueProvided,
        "LeaseProvided" => LeaseProvided,
        "TooManyOps" => TooManyOps,
        "DuplicateKey" => DuplicateKey,
        "InvalidSortOption" => InvalidSortOption,
        "Compacted" => Compacted {
            compact_revision: failure.compact_revision,
        },
        "FutureRevision" => FutureRevision,
        "LeaseNotFound" => LeaseNotFound,
        "LeaseExists" => LeaseExists,
        "LeaseTtlTooLarge" => LeaseTtlTooLarge,
        "RequestTooLarge" => RequestTooLarge,
        "AlreadyExists" => AlreadyExists { key: failure.key },
        "Conflict" => Conflict {
            key: failure.key,
            current: failure.current.map(Box::new),
        },
        "NotFound" => NotFound { key: failure.key },
        "Unavailable" => Unavailable(failure.message),
        _ => Backend(failure.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyValue;
    use crate::pb::etcdserverpb::PutRequest;
    use crate::pb::marspb::command::Op;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(value: &T) -> T {
        let bytes = postcard::to_allocvec(value).expect("encodes");
        postcard::from_bytes(&bytes).expect("decodes")
    }

    #[test]
    fn commands_survive_the_log_encoding() {
        let command = Logged(vec![
            Command {
                op: Some(Op::Put(PutRequest {
                    key: "/registry/pods/a".into(),
                    value: "v".into(),
                    ..Default::default()
                })),
            },
            Command::default(),
        ]);
        assert_eq!(round_trip(&command), command);
    }

    #[test]
    fn every_store_error_survives_the_wire() {
        let errors = [
            StoreError::EmptyKey,
            StoreError::Compacted {
                compact_revision: 7,
            },
            StoreError::LeaseNotFound,
            StoreError::AlreadyExists { key: "/k".into() },
            StoreError::Conflict {
                key: "/k".into(),
                current: Some(Box::new(KeyValue {
                    key: "/k".into(),
                    mod_revision: 3,
                    ..Default::default()
                })),
            },
            StoreError::NotFound { key: "/k".into() },
            StoreError::Unavailable("no leader".into()),
            StoreError::Backend("odd".into()),
        ];
        let mut answers: Vec<_> = errors.into_iter().map(Err).collect();
        answers.push(Ok(Response::Compaction));
        let answer = Answer(answers);
        assert_eq!(round_trip(&answer), answer);
        assert_eq!(round_trip(&Answer::default()), Answer::default());
    }
}
