//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`)
//! decoded into the JSON Mars stores and serves.
//!
//! kubectl's typed commands (`kubectl create configmap|secret|deployment…`,
//! `kubectl run`, `kubectl expose`) send protobuf and do not fall back to
//! JSON on 415. A body is the magic `k8s\0` followed by a `runtime.Unknown`
//! {1: typeMeta {1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding,
//! 4: contentType}, whose `raw` is the object's message.
//!
//! [`decode`] walks that message with a table generated from the k8s-pb
//! (field numbers, wire types) and k8s-openapi (JSON names) crates, see
//! `apiserver/tools/gen_protobuf_schema.py`, and writes each field the way
//! Go's JSON encoding of the same object would: meta/v1 `Time` and
//! `MicroTime` as RFC 3339, `Duration` as Go's `1m30s`, `Quantity` as its
//! string, `IntOrString` as a number or a string, `RawExtension`/`FieldsV1`
//! as their embedded JSON, bytes as base64, embedded (`json:",inline"`)
//! structs flattened. Fields follow proto2 presence: a field on the wire
//! appears in the JSON even when zero (`replicas: 0`), one not on the wire
//! does not. Unknown fields are skipped.

mod decode;
#[rustfmt::skip]
mod schema;
mod special;
mod types;
mod unset;
mod wire;

pub use unset::omit_unset;

#[cfg(test)]
mod tests;

use serde_json::Value;

use decode::Decoder;
use types::{Special, kind_message, message};
use wire::{Reader, WireValue};

/// The media type of Kubernetes protobuf.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8] = b"k8s\x00";

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    #[error("the body is not Kubernetes protobuf: it does not start with the bytes \"k8s\\0\"")]
    MissingMagic,
    /// The envelope's TypeMeta lacks `apiVersion` or `kind`.
    #[error("the protobuf envelope does not say the object's {0}")]
    MissingTypeMeta(&'static str),
    /// The envelope says the object is compressed or otherwise encoded.
    #[error("the protobuf envelope's content encoding {0:?} is not supported")]
    UnsupportedContentEncoding(String),
    /// The envelope says the object is in another format.
    #[error("the protobuf envelope holds {0:?}, not Kubernetes protobuf")]
    UnsupportedContentType(String),
    /// No built-in type has this apiVersion and kind.
    #[error("kind {kind:?} of apiVersion {api_version:?} has no known protobuf encoding")]
    UnknownKind { api_version: String, kind: String },
    /// The bytes are not valid protobuf, or do not fit the type's schema.
    #[error("malformed protobuf at {at}: {problem}")]
    Malformed { at: String, problem: String },
    /// Valid protobuf holding a value its JSON form cannot have.
    #[error("invalid value at {at}: {problem}")]
    InvalidValue { at: String, problem: String },
    /// Messages nest deeper than the decoder follows.
    #[error("the object nests more than {0} levels deep")]
    TooDeep(usize),
}

impl ProtobufError {
    /// The error with `segment` (a field, `[3]`, a kind) put before where it
    /// happened.
    fn within(mut self, segment: &str) -> Self {
        if let ProtobufError::Malformed { at, .. } | ProtobufError::InvalidValue { at, .. } =
            &mut self
        {
            *at = if at.is_empty() {
                segment.to_string()
            } else if at.starts_with('[') {
                format!("{segment}{at}")
            } else {
                format!("{segment}.{at}")
            };
        }
        self
    }
}

/// Decodes a Kubernetes protobuf body (the `k8s\0` magic + runtime.Unknown
/// envelope) into the object's JSON, `apiVersion` and `kind` included.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    decode_nested(&mut Decoder::default(), body)
}

/// [`decode`] with the nesting depth of an enclosing object, for
/// RawExtensions that hold protobuf.
fn decode_nested(decoder: &mut Decoder, body: &[u8]) -> Result<Value, ProtobufError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or(ProtobufError::MissingMagic)?;
    let envelope = Envelope::parse(rest).map_err(|e| e.within("envelope"))?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedContentEncoding(
            envelope.content_encoding,
        ));
    }
    if !envelope.content_type.is_empty() && envelope.content_type != CONTENT_TYPE {
        return Err(ProtobufError::UnsupportedContentType(envelope.content_type));
    }
    if envelope.api_version.is_empty() {
        return Err(ProtobufError::MissingTypeMeta("apiVersion"));
    }
    if envelope.kind.is_empty() {
        return Err(ProtobufError::MissingTypeMeta("kind"));
    }
    let unknown = || ProtobufError::UnknownKind {
        api_version: envelope.api_version.clone(),
        kind: envelope.kind.clone(),
    };
    let index = kind_message(&envelope.api_version, &envelope.kind).ok_or_else(unknown)?;
    if message(index).is_none_or(|m| m.special != Special::None) {
        return Err(unknown());
    }
    let Value::Object(mut object) = decoder
        .message(index, envelope.raw)
        .map_err(|e| e.within(&envelope.kind))?
    else {
        return Err(unknown());
    };
    object.insert("apiVersion".into(), Value::String(envelope.api_version));
    object.insert("kind".into(), Value::String(envelope.kind));
    Ok(Value::Object(object))
}

/// The runtime.Unknown around an object.
#[derive(Debug, Default)]
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

impl<'a> Envelope<'a> {
    fn parse(buf: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut envelope = Envelope::default();
        let mut reader = Reader::new(buf);
        while let Some((tag, value)) = reader.field().map_err(malformed)? {
            let bytes = match (tag, value) {
                (1..=4, WireValue::Len(bytes)) => bytes,
                (1..=4, other) => {
                    return Err(malformed(format!(
                        "field {tag} is {}, not length-delimited",
                        other.describe()
                    )));
                }
                _ => continue,
            };
            match tag {
                1 => {
                    let mut meta = Reader::new(bytes);
                    while let Some((tag, value)) =
                        meta.field().map_err(|e| malformed(e).within("typeMeta"))?
                    {
                        match (tag, value) {
                            (1, WireValue::Len(b)) => envelope.api_version = lossy(b),
                            (2, WireValue::Len(b)) => envelope.kind = lossy(b),
                            _ => {}
                        }
                    }
                }
                2 => envelope.raw = bytes,
                3 => envelope.content_encoding = lossy(bytes),
                _ => envelope.content_type = lossy(bytes),
            }
        }
        Ok(envelope)
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn malformed(problem: String) -> ProtobufError {
    ProtobufError::Malformed {
        at: String::new(),
        problem,
    }
}
