//! Objects read through their schema: the set of fields an object sets,
//! the difference between two objects, the merge of an applied
//! configuration into a live object, and the removal of fields an applier
//! stopped setting.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::path::{Path, PathElement};
use crate::schema::{ListKey, ListKind, Node, Schema, TypeId};
use crate::set::Set;

/// A value that cannot be read with its schema as server-side apply
/// needs (kube answers these with 422 or 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TypeError {
    pub path: String,
    pub message: String,
}

/// How a value is walked, given its type.
enum Shape<'a> {
    /// Owned and compared as a whole.
    Leaf,
    /// Named fields or map keys, each with its type.
    Fields {
        map: bool,
        fields: Vec<(&'a str, &'a Value, TypeId)>,
    },
    /// A list of type map or set: items with their element and type.
    Items {
        keys: Option<&'a [ListKey]>,
        items: &'a [Value],
        ty: TypeId,
    },
}

fn shape<'a>(schema: &'a Schema, ty: TypeId, value: &'a Value) -> Shape<'a> {
    match (schema.node(ty), value) {
        (
            Node::Struct {
                fields,
                atomic: false,
                ..
            },
            Value::Object(object),
        ) => Shape::Fields {
            map: false,
            fields: object
                .iter()
                .map(|(k, v)| {
                    let ty = match fields.get(k) {
                        Some(field) if field.atomic => schema.scalar(),
                        Some(field) => field.ty,
                        None => schema.untyped(),
                    };
                    (k.as_str(), v, ty)
                })
                .collect(),
        },
        (node @ (Node::Map { atomic: false, .. } | Node::Untyped), Value::Object(object)) => {
            let values = match node {
                Node::Map { values, .. } => *values,
                _ => schema.untyped(),
            };
            Shape::Fields {
                map: true,
                fields: object
                    .iter()
                    .map(|(k, v)| (k.as_str(), v, values))
                    .collect(),
            }
        }
        (
            Node::List {
                items: item_ty,
                kind: ListKind::Map(keys),
            },
            Value::Array(items),
        ) => Shape::Items {
            keys: Some(keys),
            items,
            ty: *item_ty,
        },
        (
            Node::List {
                items: item_ty,
                kind: ListKind::Set,
            },
            Value::Array(items),
        ) => Shape::Items {
            keys: None,
            items,
            ty: *item_ty,
        },
        _ => Shape::Leaf,
    }
}

fn element(keys: Option<&[ListKey]>, item: &Value) -> Option<PathElement> {
    match keys {
        Some(keys) => PathElement::key_of(item, keys),
        None => Some(PathElement::value_of(item)),
    }
}

/// The fields `value` sets, as server-side apply records an applier's
/// ownership: leaves, atomic values and list items; a list item without
/// its keys or with a duplicate key is an error.
pub fn field_set(schema: &Schema, ty: TypeId, value: &Value) -> Result<Set, TypeError> {
    let mut set = Set::new();
    collect(schema, ty, value, &mut Path::default(), &mut set)?;
    Ok(set)
}

fn collect(
    schema: &Schema,
    ty: TypeId,
    value: &Value,
    path: &mut Path,
    set: &mut Set,
) -> Result<(), TypeError> {
    match shape(schema, ty, value) {
        Shape::Leaf => set.insert(&path.0),
        Shape::Fields { fields, .. } => {
            for (name, child, child_ty) in fields {
                path.0.push(PathElement::Field(name.to_string()));
                collect(schema, child_ty, child, path, set)?;
                path.0.pop();
            }
        }
        Shape::Items {
            keys,
            items,
            ty: item_ty,
        } => {
            let mut seen = HashSet::new();
            for item in items {
                let Some(element) = element(keys, item) else {
                    return Err(TypeError {
                        path: path.to_string(),
                        message: format!(
                            "associative list with keys has an element that omits key field {:?}",
                            missing_key(keys.unwrap_or_default(), item)
                        ),
                    });
                };
                if !seen.insert(element.clone()) {
                    return Err(TypeError {
                        path: path.to_string(),
                        message: format!("duplicate entries for key {}", element),
                    });
                }
                path.0.push(element);
                set.insert(&path.0);
                if keys.is_some() {
                    collect(schema, item_ty, item, path, set)?;
                }
                path.0.pop();
            }
        }
    }
    Ok(())
}

fn missing_key<'a>(keys: &'a [ListKey], item: &Value) -> &'a str {
    keys.iter()
        .find(|k| k.default.is_none() && item.get(&k.name).is_none_or(Value::is_null))
        .map(|k| k.name.as_str())
        .unwrap_or_default()
}

/// What changed between two states of an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Paths only the new state has (with maps, lists and list items
    /// themselves, so an updater owns a map it created).
    pub added: Set,
    /// Leaves whose value changed.
    pub modified: Set,
    /// Paths only the old state had.
    pub removed: Set,
}

impl Comparison {
    /// Whether the two states are the same.
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }

    /// The paths the new state sets differently from the old one.
    pub fn changed(&self) -> Set {
        self.added.union(&self.modified)
    }
}

/// Compares two states of an object of type `ty`.
pub fn compare(schema: &Schema, ty: TypeId, old: &Value, new: &Value) -> Comparison {
    let mut out = Comparison::default();
    compare_at(schema, ty, old, new, &mut Path::default(), &mut out);
    out
}

fn compare_at(
    schema: &Schema,
    ty: TypeId,
    old: &Value,
    new: &Value,
    path: &mut Path,
    out: &mut Comparison,
) {
    let old_children = children(schema, ty, old);
    let new_children = children(schema, ty, new);
    let (Some(old_children), Some(new_children)) = (old_children, new_children) else {
        if old != new {
            out.modified.insert(&path.0);
        }
        return;
    };
    let old_index: HashMap<&PathElement, usize> = old_children
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.0, i))
        .collect();
    let new_index: HashMap<&PathElement, usize> = new_children
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.0, i))
        .collect();
    for (element, value, child_ty) in &old_children {
        path.0.push(element.clone());
        match new_index.get(element) {
            Some(&i) => compare_at(schema, *child_ty, value, new_children[i].1, path, out),
            None => subtree(schema, *child_ty, value, path, &mut out.removed),
        }
        path.0.pop();
    }
    for (element, value, child_ty) in &new_children {
        if !old_index.contains_key(element) {
            path.0.push(element.clone());
            subtree(schema, *child_ty, value, path, &mut out.added);
            path.0.pop();
        }
    }
}

/// The children of a granular value (`None` for a leaf).
fn children<'a>(
    schema: &'a Schema,
    ty: TypeId,
    value: &'a Value,
) -> Option<Vec<(PathElement, &'a Value, TypeId)>> {
    match shape(schema, ty, value) {
        Shape::Leaf => None,
        Shape::Fields { fields, .. } => Some(
            fields
                .into_iter()
                .map(|(name, v, t)| (PathElement::Field(name.to_string()), v, t))
                .collect(),
        ),
        Shape::Items {
            keys,
            items,
            ty: item_ty,
        } => {
            let mut seen = HashSet::new();
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                // Items without keys or with duplicate keys (which old
                // objects may hold) are compared with the list as a whole.
                let element = element(keys, item).filter(|e| seen.insert(e.clone()))?;
                let item_ty = if keys.is_some() {
                    item_ty
                } else {
                    schema.scalar()
                };
                out.push((element, item, item_ty));
            }
            Some(out)
        }
    }
}

/// Every path of a value, as [`Comparison`] counts them: leaves, and the
/// maps, lists and items that hold them (not the structs).
fn subtree(schema: &Schema, ty: TypeId, value: &Value, path: &mut Path, set: &mut Set) {
    let item = matches!(
        path.0.last(),
        Some(PathElement::Key(_) | PathElement::Value(_))
    );
    let counted = item
        || match schema.node(ty) {
            Node::Struct { atomic, .. } => *atomic || !value.is_object(),
            _ => true,
        };
    if counted {
        set.insert(&path.0);
    }
    for (element, child, child_ty) in children(schema, ty, value).unwrap_or_default() {
        path.0.push(element);
        subtree(schema, child_ty, child, path, set);
        path.0.pop();
    }
}

/// Merges an applied configuration into the live object: structs and maps
/// field by field, lists of type map and set item by item (the
/// configuration's order for the items it names, live items it does not
/// name kept where they were), everything else replaced.
pub fn merge(schema: &Schema, ty: TypeId, live: &Value, config: &Value) -> Value {
    match shape(schema, ty, config) {
        Shape::Leaf => config.clone(),
        Shape::Fields { fields, .. } => {
            let mut out = match live {
                Value::Object(object) => object.clone(),
                _ => Map::new(),
            };
            for (name, value, child_ty) in fields {
                let merged = merge(
                    schema,
                    child_ty,
                    live.get(name).unwrap_or(&Value::Null),
                    value,
                );
                out.insert(name.to_string(), merged);
            }
            Value::Object(out)
        }
        Shape::Items {
            keys,
            items,
            ty: item_ty,
        } => {
            let live_items = match live {
                Value::Array(items) => items.as_slice(),
                _ => &[],
            };
            let merge_item = |l: Option<&Value>, c: &Value| match (l, keys) {
                (Some(l), Some(_)) => merge(schema, item_ty, l, c),
                _ => c.clone(),
            };
            Value::Array(merge_items(keys, live_items, items, merge_item))
        }
    }
}

fn merge_items(
    keys: Option<&[ListKey]>,
    live: &[Value],
    config: &[Value],
    merge_item: impl Fn(Option<&Value>, &Value) -> Value,
) -> Vec<Value> {
    let config_elements: Vec<Option<PathElement>> =
        config.iter().map(|c| element(keys, c)).collect();
    let config_index: HashMap<&PathElement, usize> = config_elements
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((e.as_ref()?, i)))
        .collect();
    let live_by_element: HashMap<PathElement, &Value> = live
        .iter()
        .filter_map(|l| Some((element(keys, l)?, l)))
        .collect();
    let mut out = Vec::with_capacity(live.len() + config.len());
    let mut next = 0;
    let mut emit_through = |end: usize, out: &mut Vec<Value>| {
        while next <= end && next < config.len() {
            let live_item = config_elements[next]
                .as_ref()
                .and_then(|e| live_by_element.get(e).copied());
            out.push(merge_item(live_item, &config[next]));
            next += 1;
        }
    };
    for item in live {
        match element(keys, item).and_then(|e| config_index.get(&e).copied()) {
            Some(position) => emit_through(position, &mut out),
            None => out.push(item.clone()),
        }
    }
    emit_through(config.len(), &mut out);
    out
}

/// Removes from `value` what the applier's previous configuration set
/// (`last`) and nobody sets now (`kept`: every manager's current fields).
/// A struct field that only held such fields goes too, so a configuration
/// that drops a whole section drops it from the object.
pub fn remove_unowned(schema: &Schema, ty: TypeId, value: &Value, last: &Set, kept: &Set) -> Value {
    match (shape(schema, ty, value), value) {
        (Shape::Fields { map, fields }, Value::Object(_)) => {
            let mut out = Map::new();
            for (name, child, child_ty) in fields {
                let element = PathElement::Field(name.to_string());
                let owned = kept.touches(&element);
                if last.has_member(&element) && !owned {
                    continue;
                }
                let pruned = descend(schema, child_ty, child, &element, last, kept);
                // A struct field whose applied contents all went goes too.
                if !map && !owned && last.child(&element).is_some() && is_empty_container(&pruned) {
                    continue;
                }
                out.insert(name.to_string(), pruned);
            }
            Value::Object(out)
        }
        (
            Shape::Items {
                keys,
                items,
                ty: item_ty,
            },
            _,
        ) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Some(element) = element(keys, item) else {
                    out.push(item.clone());
                    continue;
                };
                if last.has_member(&element) && !kept.touches(&element) {
                    continue;
                }
                out.push(descend(schema, item_ty, item, &element, last, kept));
            }
            Value::Array(out)
        }
        _ => value.clone(),
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(object) => object.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn descend(
    schema: &Schema,
    ty: TypeId,
    value: &Value,
    element: &PathElement,
    last: &Set,
    kept: &Set,
) -> Value {
    let Some(last) = last.child(element) else {
        return value.clone();
    };
    // Someone owns the whole value: nothing below it goes.
    if kept.has_member(element) && kept.child(element).is_none() {
        return value.clone();
    }
    let empty = Set::new();
    remove_unowned(
        schema,
        ty,
        value,
        last,
        kept.child(element).unwrap_or(&empty),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::pod_like;
    use serde_json::json;

    fn paths(set: &Set) -> Vec<String> {
        set.paths().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn field_set_owns_leaves_items_and_atomic_values() {
        let schema = pod_like();
        let pod = schema.named("Pod").unwrap();
        let value = json!({
            "metadata": {"labels": {"app": "web"}, "finalizers": ["a"]},
            "spec": {
                "containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}],
                "args": ["x", "y"],
                "selector": {"matchLabels": {"app": "web"}},
                "raw": {"any": {"thing": 1}},
            },
        });
        let set = field_set(&schema, pod, &value).unwrap();
        assert_eq!(
            paths(&set),
            [
                ".metadata.finalizers[=\"a\"]",
                ".metadata.labels.app",
                ".spec.args",
                ".spec.containers[name=\"web\"]",
                ".spec.containers[name=\"web\"].image",
                ".spec.containers[name=\"web\"].name",
                ".spec.containers[name=\"web\"].ports[containerPort=80,protocol=\"TCP\"]",
                ".spec.containers[name=\"web\"].ports[containerPort=80,protocol=\"TCP\"].containerPort",
                ".spec.raw.any.thing",
                ".spec.selector",
            ]
        );
    }

    #[test]
    fn field_set_refuses_items_without_keys_or_with_duplicates() {
        let schema = pod_like();
        let pod = schema.named("Pod").unwrap();
        let missing = json!({"spec": {"containers": [{"image": "nginx"}]}});
        let error = field_set(&schema, pod, &missing).unwrap_err();
        assert_eq!(error.path, ".spec.containers");
        assert!(
            error.message.contains("omits key field \"name\""),
            "{error}"
        );
        let duplicate = json!({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}});
        let error = field_set(&schema, pod, &duplicate).unwrap_err();
        assert_eq!(error.message, "duplicate entries for key [name=\"a\"]");
    }

    #[test]
    fn compare_reports_added_modified_and_removed() {
        let schema = pod_like();
        let pod = schema.named("Pod").unwrap();
        let old = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}});
        let new = json!({"metadata": {"name": "p", "labels": {"x": "y"}}, "spec": {"containers": [
            {"name": "a", "image": "2"}, {"name": "c", "image": "1"}]}});
        let c = compare(&schema, pod, &old, &new);
        assert_eq!(paths(&c.modified), [".spec.containers[name=\"a\"].image"]);
        assert_eq!(
            paths(&c.added),
            [
                ".metadata.labels",
                ".metadata.labels.x",
                ".spec.containers[name=\"c\"]",
                ".spec.containers[name=\"c\"].image",
                ".spec.containers[name=\"c\"].name",
            ]
        );
        assert_eq!(
            paths(&c.removed),
            [
                ".spec.containers[name=\"b\"]",
                ".spec.containers[name=\"b\"].image",
                ".spec.containers[name=\"b\"].name",
            ]
        );
        assert!(compare(&schema, pod, &old, &old).is_same());
    }

    #[test]
    fn merge_keeps_live_items_and_takes_the_configs_order() {
        let schema = pod_like();
        let pod = schema.named("Pod").unwrap();
        let live = json!({"metadata": {"finalizers": ["x", "a"]}, "spec": {"args": ["1"], "containers": [
            {"name": "a", "image": "1", "extra": true}, {"name": "side", "image": "s"}, {"name": "b", "image": "1"}]}});
        let config = json!({"metadata": {"finalizers": ["b"]}, "spec": {"args": ["2"], "containers": [
            {"name": "b", "image": "2"}, {"name": "a", "image": "2"}, {"name": "new", "image": "n"}]}});
        let merged = merge(&schema, pod, &live, &config);
        assert_eq!(
            merged,
            json!({"metadata": {"finalizers": ["x", "a", "b"]}, "spec": {"args": ["2"], "containers": [
                {"name": "b", "image": "2"}, {"name": "a", "image": "2", "extra": true},
                {"name": "side", "image": "s"}, {"name": "new", "image": "n"}]}})
        );
    }

    #[test]
    fn remove_unowned_drops_what_only_the_applier_had() {
        let schema = pod_like();
        let pod = schema.named("Pod").unwrap();
        let value = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [
            {"name": "web", "image": "1"}, {"name": "side", "image": "2"}]}});
        let last = field_set(&schema, pod, &value).unwrap();
        // Someone else owns label b and the side container's image.
        let other = field_set(
            &schema,
            pod,
            &json!({"metadata": {"labels": {"b": "2"}}, "spec": {"containers": [{"name": "side", "image": "2"}]}}),
        )
        .unwrap();
        let now = field_set(
            &schema,
            pod,
            &json!({"spec": {"containers": [{"name": "web", "image": "1"}]}}),
        )
        .unwrap();
        let pruned = remove_unowned(&schema, pod, &value, &last, &now.union(&other));
        assert_eq!(
            pruned,
            json!({"metadata": {"labels": {"b": "2"}}, "spec": {"containers": [
                {"name": "web", "image": "1"}, {"name": "side", "image": "2"}]}})
        );
        // Nobody else: the labels map and the side container go entirely.
        let pruned = remove_unowned(&schema, pod, &value, &last, &now);
        assert_eq!(
            pruned,
            json!({"spec": {"containers": [{"name": "web", "image": "1"}]}})
        );
    }
}
