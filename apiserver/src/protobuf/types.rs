//! The shape of the generated schema ([`super::schema`]) and lookups in it.

use super::schema::{GROUP_VERSIONS, MESSAGES};

/// How a field is encoded on the wire and what JSON it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `string`: a JSON string.
    Str,
    /// `bool`: a JSON boolean.
    Bool,
    /// `int32` varint: a JSON number.
    I32,
    /// `int64` varint: a JSON number.
    I64,
    /// `double` (fixed64): a JSON number.
    F64,
    /// `bytes`: a base64 (standard alphabet, padded) JSON string.
    Bytes,
    /// A message, `MESSAGES[i]`.
    Msg(u16),
    /// An embedded Go struct (`json:",inline"`), `MESSAGES[i]`: its fields
    /// are the containing object's.
    Inline(u16),
    /// `map<string, string>`.
    MapStr,
    /// `map<string, bytes>`: values in base64.
    MapBytes,
    /// `map<string, MESSAGES[i]>`.
    MapMsg(u16),
}

/// One field of a message.
#[derive(Debug)]
pub(super) struct Field {
    /// The field number.
    pub tag: u32,
    /// The JSON key (empty for [`Kind::Inline`]).
    pub json: &'static str,
    pub kind: Kind,
    /// A `repeated` field: a JSON array.
    pub repeated: bool,
}

/// Messages whose JSON form is not an object of their fields: Go gives
/// these types their own `MarshalJSON`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Special {
    /// An ordinary message: a JSON object.
    None,
    /// meta/v1 Time {1: seconds, 2: nanos}: RFC 3339 in seconds.
    Time,
    /// meta/v1 MicroTime: RFC 3339 with six fractional digits.
    MicroTime,
    /// meta/v1 Duration {1: nanoseconds}: Go's `time.Duration` string.
    Duration,
    /// resource.Quantity {1: string}: the string.
    Quantity,
    /// intstr.IntOrString {1: type, 2: intVal, 3: strVal}: number or string.
    IntOrString,
    /// runtime.RawExtension {1: raw}: the embedded object.
    RawExtension,
    /// meta/v1 FieldsV1 and apiextensions JSON {1: raw}: the JSON in raw.
    RawJson,
    /// meta/v1 Verbs and the ExtraValues {1: repeated string}: an array.
    StringList,
    /// JSONSchemaPropsOrArray {1: schema, 2: schemas}.
    SchemaOrArray,
    /// JSONSchemaPropsOrBool {1: allows, 2: schema}.
    SchemaOrBool,
    /// JSONSchemaPropsOrStringArray {1: schema, 2: property}.
    SchemaOrStringArray,
}

/// A message of the schema.
#[derive(Debug)]
pub(super) struct Message {
    /// The protobuf full name, `k8s.io.api.core.v1.ConfigMap`.
    pub name: &'static str,
    pub special: Special,
    /// Sorted by tag.
    pub fields: &'static [Field],
}

impl Message {
    /// The Go type name, `ConfigMap`.
    pub(super) fn short_name(&self) -> &'static str {
        self.name.rsplit('.').next().unwrap_or(self.name)
    }

    /// The field numbered `tag`.
    pub(super) fn field(&self, tag: u32) -> Option<&'static Field> {
        self.fields
            .binary_search_by_key(&tag, |f| f.tag)
            .ok()
            .and_then(|i| self.fields.get(i))
    }
}

pub(super) const fn f(tag: u32, json: &'static str, kind: Kind) -> Field {
    Field {
        tag,
        json,
        kind,
        repeated: false,
    }
}

pub(super) const fn r(tag: u32, json: &'static str, kind: Kind) -> Field {
    Field {
        tag,
        json,
        kind,
        repeated: true,
    }
}

pub(super) const fn m(name: &'static str, special: Special, fields: &'static [Field]) -> Message {
    Message {
        name,
        special,
        fields,
    }
}

/// The message `MESSAGES[index]`.
pub(super) fn message(index: u16) -> Option<&'static Message> {
    MESSAGES.get(usize::from(index))
}

/// The index of the message with the full name `name`.
pub(super) fn find(name: &str) -> Option<u16> {
    let i = MESSAGES.binary_search_by(|m| m.name.cmp(name)).ok()?;
    u16::try_from(i).ok()
}

/// The protobuf package holding meta/v1's kinds (DeleteOptions, Status…),
/// which every group version also serves.
const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// The message of `kind` in `api_version` (`v1`, `apps/v1`).
pub(super) fn kind_message(api_version: &str, kind: &str) -> Option<u16> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let package = GROUP_VERSIONS
        .iter()
        .find(|(g, v, _)| *g == group && *v == version)
        .map(|(_, _, p)| *p)?;
    find(&format!("{package}.{kind}")).or_else(|| find(&format!("{META}.{kind}")))
}
