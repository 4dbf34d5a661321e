//! Strategic merge patch, driven by the schema's patch metadata: a list
//! whose field says `patch-strategy: merge` merges element by element (by
//! its merge key for objects, by value for scalars); every other list is
//! replaced; maps merge key by key. The directives kubectl sends are
//! honoured: `$patch: replace | delete | merge`, `$setElementOrder/<list>`,
//! `$retainKeys` and `$deleteFromPrimitiveList/<list>`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::PatchError;
use crate::schema::{Field, Node, Schema, TypeId};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch to `original`, an object of type `ty`.
pub fn strategic_merge_patch(
    schema: &Schema,
    ty: TypeId,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError(
            "strategic merge patch must be a JSON object".into(),
        ));
    };
    let original = match original {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    Ok(merge_map(schema, ty, original, patch)?.map_or(Value::Object(Map::new()), Value::Object))
}

/// The merged map, or `None` when the patch deletes it.
fn merge_map(
    schema: &Schema,
    ty: TypeId,
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, PatchError> {
    match patch.get(PATCH).and_then(Value::as_str) {
        Some("replace") => return Ok(Some(without_directives(patch))),
        Some("delete") => return Ok(None),
        Some("merge") | None => {}
        Some(other) => {
            return Err(PatchError(format!(
                "Unknown patch type: {other} in map: {patch:?}"
            )));
        }
    }
    if let Some(retained) = patch.get(RETAIN_KEYS) {
        let retained: Vec<&str> = retained
            .as_array()
            .ok_or_else(|| PatchError("$retainKeys must be a list of field names".into()))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        original.retain(|k, _| retained.contains(&k.as_str()));
    }
    let mut orders = HashMap::new();
    for (key, value) in patch {
        if let Some(list) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let remove = value
                .as_array()
                .ok_or_else(|| PatchError(format!("{key} must be a list")))?;
            if let Some(Value::Array(items)) = original.get_mut(list) {
                items.retain(|item| !remove.contains(item));
            }
        } else if let Some(list) = key.strip_prefix(SET_ELEMENT_ORDER) {
            let order = value
                .as_array()
                .ok_or_else(|| PatchError(format!("{key} must be a list")))?;
            orders.insert(list, order);
        }
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        if value.is_null() {
            original.remove(key);
            continue;
        }
        let field = field_of(schema, ty, key);
        let current = original.remove(key).unwrap_or(Value::Null);
        let merged = match value {
            Value::Object(patch) if !field.replace => {
                let current = match current {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                merge_map(schema, field.ty, current, patch)?.map(Value::Object)
            }
            Value::Array(patch) if field.merge => {
                let current = match current {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                Some(Value::Array(merge_list(schema, &field, current, patch)?))
            }
            other => Some(strip_directives(other)),
        };
        if let Some(merged) = merged {
            original.insert(key.clone(), merged);
        }
    }
    for (list, order) in orders {
        let key = field_of(schema, ty, list).merge_key;
        if let Some(Value::Array(items)) = original.get_mut(list) {
            reorder(items, order, key.as_deref());
        }
    }
    Ok(Some(original))
}

/// The field `name` of a struct, or the value type of a map: what the
/// schema says about how to patch it.
fn field_of(schema: &Schema, ty: TypeId, name: &str) -> Field {
    let plain = |ty| Field {
        ty,
        atomic: false,
        merge: false,
        retain_keys: false,
        replace: false,
        merge_key: None,
    };
    match schema.node(ty) {
        Node::Struct { fields, .. } => fields
            .get(name)
            .cloned()
            .unwrap_or_else(|| plain(schema.untyped())),
        Node::Map { values, .. } => plain(*values),
        _ => plain(schema.untyped()),
    }
}

fn merge_list(
    schema: &Schema,
    field: &Field,
    mut original: Vec<Value>,
    patch: &[Value],
) -> Result<Vec<Value>, PatchError> {
    if patch
        .iter()
        .any(|item| item.get(PATCH).and_then(Value::as_str) == Some("replace"))
    {
        return Ok(patch
            .iter()
            .filter(|item| item.get(PATCH).is_none())
            .map(strip_directives)
            .collect());
    }
    let item_ty = match schema.node(field.ty) {
        Node::List { items, .. } => *items,
        _ => schema.untyped(),
    };
    let Some(key) = field.merge_key.as_deref() else {
        // A merged list of scalars: a union, in original order.
        for item in patch {
            if !original.contains(item) {
                original.push(item.clone());
            }
        }
        return Ok(original);
    };
    for item in patch {
        let Value::Object(item) = item else {
            return Err(PatchError(format!(
                "element {item} of a list merged by {key:?} is not an object"
            )));
        };
        let id = item.get(key).ok_or_else(|| {
            PatchError(format!(
                "map: {} does not contain declared merge key: {key}",
                Value::Object(item.clone())
            ))
        })?;
        let position = original.iter().position(|o| o.get(key) == Some(id));
        let base = match position {
            Some(i) => match original.remove(i) {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            None => Map::new(),
        };
        if let Some(merged) = merge_map(schema, item_ty, base, item)? {
            match position {
                Some(i) => original.insert(i, Value::Object(merged)),
                None => original.push(Value::Object(merged)),
            }
        }
    }
    Ok(original)
}

/// Orders `items` as `$setElementOrder` lists them; items it does not
/// list keep their relative order after the listed ones.
fn reorder(items: &mut Vec<Value>, order: &[Value], key: Option<&str>) {
    let identity = |item: &Value| match key {
        Some(key) => item.get(key).cloned().unwrap_or(Value::Null),
        None => item.clone(),
    };
    let mut rest = std::mem::take(items);
    for wanted in order {
        let wanted = identity(wanted);
        if let Some(i) = rest.iter().position(|item| identity(item) == wanted) {
            items.push(rest.remove(i));
        }
    }
    items.extend(rest);
}

fn without_directives(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| (k.clone(), strip_directives(v)))
        .collect()
}

/// A patch value stored as is: its directives and null fields dropped.
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(without_directives(map)),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
