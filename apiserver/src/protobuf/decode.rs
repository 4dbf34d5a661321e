//! Messages to JSON, driven by the generated schema.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::ProtobufError;
use super::special;
use super::types::{Field, Kind, Message, Special, message};
use super::wire::{Reader, WireValue};

/// How deep messages may nest (serde_json's own limit for JSON bodies).
pub(super) const MAX_DEPTH: usize = 128;

/// Decodes messages, tracking how deep it is.
#[derive(Debug, Default)]
pub(super) struct Decoder {
    depth: usize,
}

fn malformed(problem: impl Into<String>) -> ProtobufError {
    ProtobufError::Malformed {
        at: String::new(),
        problem: problem.into(),
    }
}

fn invalid(problem: impl Into<String>) -> ProtobufError {
    ProtobufError::InvalidValue {
        at: String::new(),
        problem: problem.into(),
    }
}

fn schema_error(index: u16) -> ProtobufError {
    malformed(format!("the schema has no message {index}"))
}

fn bytes_of<'a>(field: &Field, value: WireValue<'a>) -> Result<&'a [u8], ProtobufError> {
    match value {
        WireValue::Len(bytes) => Ok(bytes),
        other => Err(malformed(format!(
            "field {} is {}, not the length-delimited value its type needs",
            field.tag,
            other.describe()
        ))),
    }
}

fn string(bytes: &[u8]) -> Value {
    // Go does not check proto2 strings; its JSON encoder replaces bad UTF-8.
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

fn base64(bytes: &[u8]) -> Value {
    Value::String(STANDARD.encode(bytes))
}

/// A scalar from a varint or fixed64 of `kind`.
fn scalar(field: &Field, value: WireValue<'_>) -> Result<Value, ProtobufError> {
    match (field.kind, value) {
        (Kind::Bool, WireValue::Varint(v)) => Ok(Value::Bool(v != 0)),
        // Go truncates: int32(v).
        (Kind::I32, WireValue::Varint(v)) => Ok(Value::from(v as i32)),
        (Kind::I64, WireValue::Varint(v)) => Ok(Value::from(v as i64)),
        (Kind::F64, WireValue::Fixed64(v)) => special::double(f64::from_bits(v))
            .ok_or_else(|| invalid(format!("{} is not a JSON number", f64::from_bits(v)))),
        (_, other) => Err(malformed(format!(
            "field {} is {}, which does not fit its type",
            field.tag,
            other.describe()
        ))),
    }
}

/// The elements of a packed repeated scalar.
fn packed(field: &Field, bytes: &[u8]) -> Result<Vec<Value>, ProtobufError> {
    if field.kind == Kind::F64 {
        if !bytes.len().is_multiple_of(8) {
            return Err(malformed("packed doubles do not fill whole 8-byte values"));
        }
        return bytes
            .chunks_exact(8)
            .map(|chunk| {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(chunk);
                scalar(field, WireValue::Fixed64(u64::from_le_bytes(raw)))
            })
            .collect();
    }
    let mut reader = Reader::new(bytes);
    let mut out = Vec::new();
    while !reader.is_empty() {
        let v = reader.varint().map_err(malformed)?;
        out.push(scalar(field, WireValue::Varint(v))?);
    }
    Ok(out)
}

/// A non-repeated message field's occurrences: protobuf merges them, which
/// decoding their concatenation does.
#[derive(Debug)]
struct Pending<'a> {
    field: &'static Field,
    parts: Vec<&'a [u8]>,
}

impl Decoder {
    /// The JSON of the message `index` encoded in `buf`.
    pub(super) fn message(&mut self, index: u16, buf: &[u8]) -> Result<Value, ProtobufError> {
        let msg = message(index).ok_or_else(|| schema_error(index))?;
        if self.depth >= MAX_DEPTH {
            return Err(ProtobufError::TooDeep(MAX_DEPTH));
        }
        self.depth += 1;
        let out = self.special(msg, index, buf);
        self.depth -= 1;
        out
    }

    fn special(&mut self, msg: &Message, index: u16, buf: &[u8]) -> Result<Value, ProtobufError> {
        match msg.special {
            Special::None => return Ok(Value::Object(self.object(index, buf)?)),
            Special::RawExtension => return self.raw(buf, true),
            Special::RawJson => return self.raw(buf, false),
            _ => {}
        }
        let obj = self.object(index, buf)?;
        let get = |tag: u32| {
            msg.field(tag)
                .and_then(|f| obj.get(f.json))
                .filter(|v| !v.is_null())
        };
        let int = |tag: u32| get(tag).and_then(Value::as_i64).unwrap_or(0);
        Ok(match msg.special {
            Special::Time | Special::MicroTime => {
                if buf.is_empty() {
                    // Go's zero time marshals to an empty message.
                    Value::Null
                } else {
                    let nanos = i32::try_from(int(2)).unwrap_or(0);
                    special::time(int(1), nanos, msg.special == Special::MicroTime)
                        .map_err(invalid)?
                }
            }
            Special::Duration => Value::String(special::duration(int(1))),
            Special::Quantity => get(1).cloned().unwrap_or_else(|| Value::from("0")),
            Special::IntOrString => match int(1) {
                0 => Value::from(int(2)),
                1 => get(3).cloned().unwrap_or_else(|| Value::from("")),
                other => return Err(invalid(format!("IntOrString has the unknown type {other}"))),
            },
            Special::StringList => get(1).cloned().unwrap_or_else(|| Value::Array(Vec::new())),
            Special::SchemaOrArray => match get(2) {
                Some(Value::Array(items)) if !items.is_empty() => Value::Array(items.clone()),
                _ => get(1).cloned().unwrap_or(Value::Null),
            },
            Special::SchemaOrBool => match get(2) {
                Some(schema) => schema.clone(),
                None => Value::Bool(get(1).and_then(Value::as_bool).unwrap_or(false)),
            },
            Special::SchemaOrStringArray => match get(2) {
                Some(Value::Array(items)) if !items.is_empty() => Value::Array(items.clone()),
                _ => get(1).cloned().unwrap_or(Value::Null),
            },
            Special::None | Special::RawExtension | Special::RawJson => Value::Object(obj),
        })
    }

    /// RawExtension, FieldsV1, apiextensions JSON: field 1 holds JSON (or,
    /// in a RawExtension, possibly an object in Kubernetes protobuf).
    fn raw(&mut self, buf: &[u8], may_be_protobuf: bool) -> Result<Value, ProtobufError> {
        let mut reader = Reader::new(buf);
        let mut raw: &[u8] = &[];
        while let Some((tag, value)) = reader.field().map_err(malformed)? {
            if tag == 1 {
                match value {
                    WireValue::Len(bytes) => raw = bytes,
                    other => {
                        return Err(malformed(format!(
                            "field 1 (raw) is {}, not bytes",
                            other.describe()
                        )));
                    }
                }
            }
        }
        if raw.is_empty() {
            return Ok(Value::Null);
        }
        if may_be_protobuf && raw.starts_with(super::MAGIC) {
            return super::decode_nested(self, raw);
        }
        serde_json::from_slice(raw)
            .map_err(|e| invalid(format!("the embedded JSON is invalid: {e}")))
    }

    /// The fields of the ordinary message `index` as a JSON object.
    fn object(&mut self, index: u16, buf: &[u8]) -> Result<Map<String, Value>, ProtobufError> {
        let msg = message(index).ok_or_else(|| schema_error(index))?;
        let mut out = Map::new();
        let mut pending: Vec<Pending<'_>> = Vec::new();
        let mut reader = Reader::new(buf);
        while let Some((tag, value)) = reader.field().map_err(malformed)? {
            let Some(field) = msg.field(tag) else {
                continue; // unknown fields are skipped
            };
            self.field(field, value, &mut out, &mut pending)
                .map_err(|e| e.within(&field_label(field)))?;
        }
        for Pending { field, parts } in pending {
            let joined;
            let bytes = if let [one] = parts.as_slice() {
                *one
            } else {
                joined = parts.concat();
                &joined
            };
            let label = field_label(field);
            match field.kind {
                Kind::Msg(target) => {
                    let v = self.message(target, bytes).map_err(|e| e.within(&label))?;
                    out.insert(field.json.to_string(), v);
                }
                Kind::Inline(target) => {
                    match self.message(target, bytes).map_err(|e| e.within(&label))? {
                        Value::Object(fields) => out.extend(fields),
                        _ => return Err(invalid(format!("the embedded {label} is not an object"))),
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn field<'a>(
        &mut self,
        field: &'static Field,
        value: WireValue<'a>,
        out: &mut Map<String, Value>,
        pending: &mut Vec<Pending<'a>>,
    ) -> Result<(), ProtobufError> {
        let key = field.json;
        match field.kind {
            Kind::Msg(target) if field.repeated => {
                let len = array(out, key).len();
                let v = self
                    .message(target, bytes_of(field, value)?)
                    .map_err(|e| e.within(&format!("[{len}]")))?;
                array(out, key).push(v);
            }
            Kind::Msg(_) | Kind::Inline(_) => {
                let bytes = bytes_of(field, value)?;
                match pending.iter_mut().find(|p| p.field.tag == field.tag) {
                    Some(p) => p.parts.push(bytes),
                    None => pending.push(Pending {
                        field,
                        parts: vec![bytes],
                    }),
                }
            }
            Kind::Str | Kind::Bytes => {
                let bytes = bytes_of(field, value)?;
                let v = if field.kind == Kind::Str {
                    string(bytes)
                } else {
                    base64(bytes)
                };
                if field.repeated {
                    array(out, key).push(v);
                } else {
                    out.insert(key.to_string(), v);
                }
            }
            Kind::Bool | Kind::I32 | Kind::I64 | Kind::F64 => {
                if field.repeated {
                    let values = match value {
                        WireValue::Len(bytes) => packed(field, bytes)?,
                        other => vec![scalar(field, other)?],
                    };
                    array(out, key).extend(values);
                } else {
                    out.insert(key.to_string(), scalar(field, value)?);
                }
            }
            Kind::MapStr | Kind::MapBytes | Kind::MapMsg(_) => {
                let (k, v) = self.map_entry(field, bytes_of(field, value)?)?;
                match out
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    Value::Object(map) => {
                        map.insert(k, v);
                    }
                    _ => return Err(invalid("a map field is also something else")),
                }
            }
        }
        Ok(())
    }

    /// A map entry {1: key, 2: value}; missing parts take their zero value.
    fn map_entry(&mut self, field: &Field, bytes: &[u8]) -> Result<(String, Value), ProtobufError> {
        let mut reader = Reader::new(bytes);
        let mut key: &[u8] = &[];
        let mut value: Option<&[u8]> = None;
        while let Some((tag, v)) = reader.field().map_err(malformed)? {
            match (tag, v) {
                (1, WireValue::Len(b)) => key = b,
                (2, WireValue::Len(b)) => value = Some(b),
                (1 | 2, other) => {
                    return Err(malformed(format!(
                        "a map entry's field {tag} is {}, not length-delimited",
                        other.describe()
                    )));
                }
                _ => {}
            }
        }
        let key = String::from_utf8_lossy(key).into_owned();
        let value = value.unwrap_or_default();
        let v = match field.kind {
            Kind::MapStr => string(value),
            Kind::MapBytes => base64(value),
            Kind::MapMsg(target) => self
                .message(target, value)
                .map_err(|e| e.within(&format!("[{key}]")))?,
            _ => Value::Null,
        };
        Ok((key, v))
    }
}

/// The JSON array at `key`, created if missing.
fn array<'m>(out: &'m mut Map<String, Value>, key: &str) -> &'m mut Vec<Value> {
    let slot = out
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(items) => items,
        _ => unreachable!("the slot was just made an array"),
    }
}

/// How a field appears in error paths: its JSON name, or for an inlined
/// struct its type.
fn field_label(field: &Field) -> String {
    match field.kind {
        Kind::Inline(target) if field.json.is_empty() => message(target)
            .map(|m| format!("({})", m.short_name()))
            .unwrap_or_default(),
        _ => field.json.to_string(),
    }
}
