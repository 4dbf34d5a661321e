//! Patch algorithms over JSON values: RFC 6902 JSON patch, RFC 7386 merge
//! patch, and strategic merge patch (lists of objects merged by their
//! merge key, with the `$patch` / `$setElementOrder` /
//! `$deleteFromPrimitiveList` directives kubectl sends).

use serde_json::{Map, Value};

/// Why a patch could not be applied (a 422/400 for the client).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);

/// Applies an RFC 6902 JSON patch document.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| PatchError("json patch must be a JSON array of operations".into()))?;
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        let name = op["op"].as_str().unwrap_or_default();
        let path = op["path"]
            .as_str()
            .ok_or_else(|| PatchError(format!("operation {i} has no \"path\"")))?;
        match name {
            "add" => add(&mut doc, path, value_of(op, i)?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                remove(&mut doc, path)?;
                add(&mut doc, path, value_of(op, i)?)?;
            }
            "move" | "copy" => {
                let from = op["from"]
                    .as_str()
                    .ok_or_else(|| PatchError(format!("operation {i} has no \"from\"")))?;
                let value = if name == "move" {
                    remove(&mut doc, from)?
                } else {
                    doc.pointer(from).cloned().ok_or_else(|| missing(from))?
                };
                add(&mut doc, path, value)?;
            }
            "test" => {
                let expected = value_of(op, i)?;
                if doc.pointer(path) != Some(&expected) {
                    return Err(PatchError(format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            other => return Err(PatchError(format!("Unexpected kind: {other}"))),
        }
    }
    Ok(doc)
}

fn value_of(op: &Value, i: usize) -> Result<Value, PatchError> {
    op.get("value")
        .cloned()
        .ok_or_else(|| PatchError(format!("operation {i} has no \"value\"")))
}

fn missing(path: &str) -> PatchError {
    PatchError(format!(
        "the server rejected our request due to an error in our request: missing path {path}"
    ))
}

fn split(path: &str) -> Result<(String, String), PatchError> {
    let Some(at) = path.rfind('/') else {
        return Err(PatchError(format!("invalid path {path:?}")));
    };
    let last = path[at + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..at].to_string(), last))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    let container = doc.pointer_mut(&parent).ok_or_else(|| {
        PatchError(format!(
            "add operation does not apply: doc is missing path: {path:?}"
        ))
    })?;
    match container {
        Value::Object(map) => {
            map.insert(last, value);
        }
        Value::Array(list) => {
            let index = if last == "-" {
                list.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= list.len())
                    .ok_or_else(|| {
                        PatchError(format!(
                            "add operation does not apply: index out of range: {path:?}"
                        ))
                    })?
            };
            list.insert(index, value);
        }
        _ => return Err(missing(path)),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, last) = split(path)?;
    let container = doc.pointer_mut(&parent).ok_or_else(|| missing(path))?;
    match container {
        Value::Object(map) => map.remove(&last).ok_or_else(|| missing(path)),
        Value::Array(list) => {
            let index = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < list.len())
                .ok_or_else(|| missing(path))?;
            Ok(list.remove(index))
        }
        _ => Err(missing(path)),
    }
}

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

/// Applies a strategic merge patch. Lists of objects merge by the merge key
/// their elements carry (`name`, or the key kube uses for that list, such as
/// `containerPort` or `type`); other lists replace.
pub fn strategic_merge_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Object(patch_map) = patch else {
        return Ok(patch.clone());
    };
    if patch_map.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = patch_map.clone();
        replaced.remove("$patch");
        return Ok(Value::Object(replaced));
    }
    let mut out = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    for (key, value) in patch_map {
        if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) = (out.get_mut(field), value.as_array())
            {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if value.is_null() {
            out.remove(key);
            continue;
        }
        let merged = match (out.get(key), value) {
            (Some(Value::Array(old)), Value::Array(new)) => merge_lists(key, old, new)?,
            (Some(old @ Value::Object(_)), Value::Object(_)) => strategic_merge_patch(old, value)?,
            (_, Value::Object(_)) => strategic_merge_patch(&Value::Null, value)?,
            _ => value.clone(),
        };
        out.insert(key.clone(), merged);
    }
    Ok(Value::Object(out))
}

/// The key kube merges a list field's elements by, when they are objects.
fn merge_key(field: &str, elements: &[&Value]) -> Option<&'static str> {
    let candidate = match field {
        "ports" if elements.iter().all(|e| e.get("containerPort").is_some()) => "containerPort",
        "ports" => "port",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "addresses" => "type",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "ownerReferences" => "uid",
        "taints" | "tolerations" => "key",
        _ => "name",
    };
    elements
        .iter()
        .all(|e| e.get(candidate).is_some())
        .then_some(candidate)
}

fn merge_lists(field: &str, old: &[Value], new: &[Value]) -> Result<Value, PatchError> {
    let all: Vec<&Value> = old.iter().chain(new).collect();
    if !all.iter().all(|v| v.is_object()) || all.is_empty() {
        return Ok(Value::Array(new.to_vec()));
    }
    // A `$patch: replace` element replaces the whole list.
    if new.iter().any(|e| e["$patch"] == "replace") {
        return Ok(Value::Array(
            new.iter()
                .filter(|e| e["$patch"] != "replace")
                .cloned()
                .collect(),
        ));
    }
    let Some(key) = merge_key(field, &all) else {
        return Ok(Value::Array(new.to_vec()));
    };
    let mut out: Vec<Value> = old.to_vec();
    for element in new {
        let id = &element[key];
        let position = out.iter().position(|e| &e[key] == id);
        if element["$patch"] == "delete" {
            if let Some(i) = position {
                out.remove(i);
            }
            continue;
        }
        match position {
            Some(i) => out[i] = strategic_merge_patch(&out[i], element)?,
            None => out.push(strategic_merge_patch(&Value::Null, element)?),
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_operations() {
        let doc = json!({"a": {"b": [1, 2]}, "c": "x"});
        let patch = json!([
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "replace", "path": "/c", "value": "y"},
            {"op": "test", "path": "/c", "value": "y"},
            {"op": "copy", "from": "/c", "path": "/d"},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "remove", "path": "/a/b/0"},
        ]);
        assert_eq!(
            json_patch(&doc, &patch).unwrap(),
            json!({"a": {"b": [2, 3]}, "c": "y", "e": "y"})
        );
        let failed = json_patch(&doc, &json!([{"op": "test", "path": "/c", "value": "z"}]));
        assert!(failed.is_err());
        assert!(json_patch(&doc, &json!([{"op": "remove", "path": "/nope"}])).is_err());
        assert!(json_patch(&doc, &json!({"op": "add"})).is_err());
    }

    #[test]
    fn merge_patch_rfc7386() {
        let doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        let patch = json!({"a": "z", "c": {"f": null}, "l": [3]});
        assert_eq!(
            merge_patch(&doc, &patch),
            json!({"a": "z", "c": {"d": "e"}, "l": [3]})
        );
    }

    #[test]
    fn strategic_merge_lists_by_key() {
        let doc = json!({"spec": {"containers": [
            {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "busybox"}
        ]}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
            "containers": [{"name": "web", "image": "nginx:1.26"}, {"name": "side", "$patch": "delete"}]
        }});
        let out = strategic_merge_patch(&doc, &patch).unwrap();
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "web", "image": "nginx:1.26", "ports": [{"containerPort": 80}]}]}})
        );
        let finalizers = json!({"metadata": {"finalizers": ["a", "b"]}});
        let out = strategic_merge_patch(
            &finalizers,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        )
        .unwrap();
        assert_eq!(out, json!({"metadata": {"finalizers": ["b"]}}));
    }
}
