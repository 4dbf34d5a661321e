//! The patch types a PATCH request can carry: RFC 6902 JSON patch, RFC
//! 7386 merge patch and strategic merge patch (kube's schema-driven merge
//! with `$patch` directives). Server-side apply is [`crate::manager`].

mod json;
mod strategic;

use serde_json::{Map, Value};

pub use json::json_patch;
pub use strategic::strategic_merge_patch;

/// Why a patch could not be applied (a 422/400 for the client).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);

/// Applies an RFC 7386 merge patch: objects merge, `null` deletes,
/// everything else (lists included) replaces.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch_map) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    for (key, value) in patch_map {
        if value.is_null() {
            out.remove(key);
        } else {
            let merged = merge_patch(out.get(key).unwrap_or(&Value::Null), value);
            out.insert(key.clone(), merged);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386() {
        let doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        let patch = json!({"a": "z", "c": {"f": null}, "l": [3]});
        assert_eq!(
            merge_patch(&doc, &patch),
            json!({"a": "z", "c": {"d": "e"}, "l": [3]})
        );
    }
}
