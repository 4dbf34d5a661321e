//! The uniqueness `x-kubernetes-list-type: set` and `map` promise
//! (kube's `listtype.ValidateListSetsAndMaps`): duplicate elements, or
//! elements with duplicate keys, are refused with `Duplicate value`.

use crate::FieldError;
use crate::field;
use crate::go_fmt::{self, GoNumber};
use crate::node::{ListType, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Every `set`/`map` list violation in `obj`, with kube's field paths.
pub(crate) fn validate(root: &Node, obj: &Value, out: &mut Vec<FieldError>) {
    if let Value::Object(map) = obj {
        let mut path = String::with_capacity(128);
        walk_object(root, map, &mut path, out);
    }
}

fn walk(node: &Node, value: &Value, path: &mut String, out: &mut Vec<FieldError>) {
    if !node.keyed_lists_below {
        return;
    }
    match value {
        Value::Array(items) => walk_array(node, items, path, out),
        Value::Object(map) => walk_object(node, map, path, out),
        _ => {}
    }
}

fn walk_object(
    node: &Node,
    map: &Map<String, Value>,
    path: &mut String,
    out: &mut Vec<FieldError>,
) {
    if !node.keyed_lists_below {
        return;
    }
    let ap = node
        .additional_properties
        .as_ref()
        .and_then(|ap| ap.schema())
        .filter(|ap| ap.keyed_lists_below);
    // Only children that can hold keyed lists; map entries first, as kube walks them.
    let mut relevant: Vec<(bool, &String, &Node, &Value)> = map
        .iter()
        .filter_map(|(k, v)| match node.property(k) {
            Some(prop) => prop.keyed_lists_below.then_some((true, k, prop, v)),
            None => ap.map(|ap| (false, k, ap, v)),
        })
        .collect();
    relevant.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let len = path.len();
    for (is_property, k, child, v) in relevant {
        if !is_property {
            path.push('[');
            path.push_str(k);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
        }
        walk(child, v, path, out);
        path.truncate(len);
    }
}

fn walk_array(node: &Node, items: &[Value], path: &mut String, out: &mut Vec<FieldError>) {
    match node.list_type {
        Some(ListType::Set) => {
            for i in second_occurrences(items.iter().map(SetKey::of)) {
                out.push(field::duplicate(field::index(path, i), &items[i]));
            }
        }
        Some(ListType::Map) => validate_list_map(node, items, path, out),
        _ => {}
    }
    if let Some(item_schema) = node.items.as_deref().filter(|i| i.keyed_lists_below) {
        let len = path.len();
        for (i, item) in items.iter().enumerate() {
            use std::fmt::Write;
            let _ = write!(path, "[{i}]");
            walk(item_schema, item, path, out);
            path.truncate(len);
        }
    }
}

fn validate_list_map(node: &Node, items: &[Value], path: &str, out: &mut Vec<FieldError>) {
    if let Some(i) = items.iter().position(|x| !x.is_null() && !x.is_object()) {
        out.push(field::invalid(
            field::index(path, i),
            &items[i],
            "must be an object for an array of list-type map",
        ));
        return;
    }
    if items.len() <= 1 {
        return;
    }
    let keys = &node.list_map_keys;
    if let [only] = keys.as_slice() {
        let ids: Vec<SetKey> = items
            .iter()
            .map(|x| match x.as_object().and_then(|m| m.get(only)) {
                Some(v) => SetKey::of(v),
                None => SetKey::Unspecified,
            })
            .collect();
        for i in second_occurrences(ids.iter().cloned()) {
            let shown = match items[i].as_object().and_then(|m| m.get(only)) {
                Some(v) => Value::Object(Map::from_iter([(only.clone(), v.clone())])),
                None => Value::Object(Map::new()),
            };
            out.push(field::duplicate(field::index(path, i), &shown));
        }
        return;
    }
    let key_maps: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut key = Map::new();
            if let Some(m) = x.as_object() {
                for k in keys {
                    if let Some(v) = m.get(k) {
                        key.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(key)
        })
        .collect();
    for i in second_occurrences(key_maps.iter().map(SetKey::of)) {
        out.push(field::duplicate(field::index(path, i), &key_maps[i]));
    }
}

/// An element's identity as Go's `==` on scalars (an `int64` 1 differs
/// from a `float64` 1) and on the JSON text of compound values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SetKey<'v> {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(&'v str),
    Compound(String),
    Unspecified,
}

impl<'v> SetKey<'v> {
    fn of(v: &'v Value) -> SetKey<'v> {
        match v {
            Value::Null => SetKey::Null,
            Value::Bool(b) => SetKey::Bool(*b),
            Value::Number(n) => match GoNumber::of(n) {
                GoNumber::Int(i) => SetKey::Int(i),
                GoNumber::Float(f) => SetKey::Float(if f == 0.0 { 0 } else { f.to_bits() }),
            },
            Value::String(s) => SetKey::Str(s),
            Value::Array(_) | Value::Object(_) => SetKey::Compound(go_fmt::json(v)),
        }
    }
}

/// Indexes of the second occurrence of each repeated key (kube reports only those).
fn second_occurrences<'v>(keys: impl Iterator<Item = SetKey<'v>>) -> Vec<usize> {
    let mut seen: HashMap<SetKey, u32> = HashMap::new();
    let mut out = Vec::new();
    for (i, k) in keys.enumerate() {
        let count = seen.entry(k).or_insert(0);
        *count += 1;
        if *count == 2 {
            out.push(i);
        }
    }
    out
}
