//! How objects are kept in the store and put on the wire: JSON without
//! `metadata.resourceVersion` (the store's mod revision *is* the resource
//! version), which is spliced back in when an object is read. Splicing the
//! serialized bytes lets GET, LIST and watch serve stored objects without
//! decoding them.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

/// The bytes to store for `obj`: its JSON with `metadata.resourceVersion`
/// removed.
pub fn to_stored(obj: &mut Value) -> Bytes {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    // Serializing a `Value` cannot fail: its map keys are strings.
    Bytes::from(serde_json::to_vec(obj).unwrap_or_default())
}

/// The stored JSON `raw` with `"resourceVersion":"<revision>"` inserted as
/// the first field of its top-level `metadata` object. `None` if `raw` has
/// no top-level `metadata` object (it was not written by us).
pub fn with_resource_version(raw: &[u8], revision: i64) -> Option<Bytes> {
    let at = top_level_metadata_body(raw)?;
    let field = format!("\"resourceVersion\":\"{revision}\"");
    let empty = raw.get(at) == Some(&b'}');
    let mut out = BytesMut::with_capacity(raw.len() + field.len() + 1);
    out.put_slice(&raw[..at]);
    out.put_slice(field.as_bytes());
    if !empty {
        out.put_u8(b',');
    }
    out.put_slice(&raw[at..]);
    Some(out.freeze())
}

/// Decodes stored JSON and sets its resource version: the slow path, for
/// requests that need the object as a value.
pub fn decode(raw: &[u8], revision: i64) -> Result<Value, serde_json::Error> {
    let mut value: Value = serde_json::from_slice(raw)?;
    set_resource_version(&mut value, revision);
    Ok(value)
}

/// Sets `metadata.resourceVersion`.
pub fn set_resource_version(obj: &mut Value, revision: i64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".to_string(),
            Value::String(revision.to_string()),
        );
    }
}

/// The offset just after the `{` that opens the top-level `"metadata"`
/// object, found by scanning the JSON's structure (strings are skipped, so
/// a nested or quoted `metadata` never matches).
fn top_level_metadata_body(raw: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    let mut last_string: Option<(usize, usize)> = None;
    while i < raw.len() {
        match raw[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < raw.len() && raw[i] != b'"' {
                    if raw[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                last_string = Some((start, i));
            }
            b'{' | b'[' => {
                if depth == 1
                    && raw[i] == b'{'
                    && last_string.is_some_and(|(s, e)| &raw[s..e] == b"metadata")
                    && raw[..i].iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b':')
                {
                    return Some(i + 1);
                }
                depth += 1;
            }
            b'}' | b']' => depth = depth.checked_sub(1)?,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splices_into_top_level_metadata_only() {
        let mut obj = json!({
            "aaa": {"metadata": {"x": 1}},
            "apiVersion": "v1",
            "data": {"k": "\"metadata\":{"},
            "kind": "ConfigMap",
            "metadata": {"name": "a", "resourceVersion": "7"},
        });
        let raw = to_stored(&mut obj);
        let out = with_resource_version(&raw, 42).unwrap();
        let back: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(back["metadata"]["resourceVersion"], "42");
        assert_eq!(back["metadata"]["name"], "a");
        assert_eq!(back["aaa"]["metadata"], json!({"x": 1}));
        assert_eq!(back["data"]["k"], "\"metadata\":{");
    }

    #[test]
    fn empty_metadata_and_missing_metadata() {
        let out = with_resource_version(br#"{"metadata":{}}"#, 3).unwrap();
        assert_eq!(&out[..], br#"{"metadata":{"resourceVersion":"3"}}"#);
        assert!(with_resource_version(br#"{"kind":"X"}"#, 3).is_none());
        assert!(with_resource_version(br#"{"metadata":"x"}"#, 3).is_none());
    }

    #[test]
    fn decode_sets_the_revision() {
        let v = decode(br#"{"metadata":{"name":"n"}}"#, 9).unwrap();
        assert_eq!(v["metadata"]["resourceVersion"], "9");
    }
}
