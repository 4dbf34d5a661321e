//! Pruning (kube's `pruning.PruneWithOptions`): fields the schema does not
//! specify are dropped unless `x-kubernetes-preserve-unknown-fields` keeps
//! them, and their paths are reported for `fieldValidation`.

use crate::field;
use crate::node::Node;
use crate::objectmeta;
use serde_json::Value;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn is_meta(k: &str) -> bool {
    META_FIELDS.contains(&k)
}

/// Where the walk is: kube-openapi-style path for the report (`spec.a.b`,
/// `spec.list[0]`) and kube's `field.Path` for embedded metadata (`spec.m[k]`).
struct Walk<'o> {
    /// Also drop unknown metadata fields of embedded resources (kube's `Coerce`).
    coerce_metadata: bool,
    path: String,
    field_path: String,
    unknown: &'o mut Vec<String>,
}

impl Walk<'_> {
    fn record(&mut self, k: &str) {
        self.unknown.push(field::child(&self.path, k));
    }

    fn enter_key(&mut self, k: &str, map_entry: bool) -> (usize, usize) {
        let mark = (self.path.len(), self.field_path.len());
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(k);
        if map_entry {
            self.field_path.push('[');
            self.field_path.push_str(k);
            self.field_path.push(']');
        } else {
            if !self.field_path.is_empty() {
                self.field_path.push('.');
            }
            self.field_path.push_str(k);
        }
        mark
    }

    fn enter_index(&mut self, i: usize) -> (usize, usize) {
        use std::fmt::Write;
        let mark = (self.path.len(), self.field_path.len());
        let _ = write!(self.path, "[{i}]");
        let _ = write!(self.field_path, "[{i}]");
        mark
    }

    fn leave(&mut self, mark: (usize, usize)) {
        self.path.truncate(mark.0);
        self.field_path.truncate(mark.1);
    }
}

/// Prunes `obj` against `node`; `resource_root` treats the top as a resource
/// (its `apiVersion`, `kind` and `metadata` are kept untouched), and
/// `coerce_metadata` also cleans embedded resources' metadata. Returns the
/// removed fields' paths, sorted.
pub(crate) fn prune(
    obj: &mut Value,
    node: &Node,
    resource_root: bool,
    coerce_metadata: bool,
) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut walk = Walk {
        coerce_metadata,
        path: String::new(),
        field_path: String::new(),
        unknown: &mut unknown,
    };
    prune_value(obj, Some(node), resource_root, &mut walk);
    unknown.sort();
    unknown
}

fn prune_value(x: &mut Value, s: Option<&Node>, resource_root: bool, w: &mut Walk<'_>) {
    if let Some(s) = s.filter(|s| s.preserve_unknown_fields) {
        skip_prune(x, s, resource_root, w);
        return;
    }
    match x {
        Value::Object(map) => {
            let Some(s) = s else {
                for k in map.keys() {
                    w.record(k);
                }
                map.clear();
                return;
            };
            let embedded = s.embedded_resource || resource_root;
            if s.embedded_resource && !resource_root && w.coerce_metadata {
                objectmeta::coerce_embedded_metadata(map, &w.field_path, w.unknown);
            }
            let at_root = w.path.is_empty();
            map.retain(|k, v| {
                if embedded && is_meta(k) {
                    return true;
                }
                if let Some(prop) = s.property(k) {
                    let mark = w.enter_key(k, false);
                    prune_value(v, Some(prop), false, w);
                    w.leave(mark);
                    true
                } else if let Some(ap) = &s.additional_properties {
                    let mark = w.enter_key(k, true);
                    prune_value(v, ap.schema(), false, w);
                    w.leave(mark);
                    true
                } else {
                    if !is_meta(k) || !at_root {
                        w.record(k);
                    }
                    false
                }
            });
        }
        Value::Array(items) => {
            let item_schema = s.and_then(Node::items);
            for (i, item) in items.iter_mut().enumerate() {
                let mark = w.enter_index(i);
                prune_value(item, item_schema, false, w);
                w.leave(mark);
            }
        }
        _ => {}
    }
}

/// kube's `skipPrune`: unknown fields stay, known ones are still pruned inside.
fn skip_prune(x: &mut Value, s: &Node, resource_root: bool, w: &mut Walk<'_>) {
    match x {
        Value::Object(map) => {
            let embedded = s.embedded_resource || resource_root;
            if s.embedded_resource && !resource_root && w.coerce_metadata {
                objectmeta::coerce_embedded_metadata(map, &w.field_path, w.unknown);
            }
            for (k, v) in map.iter_mut() {
                if embedded && is_meta(k) {
                    continue;
                }
                if let Some(prop) = s.property(k) {
                    let mark = w.enter_key(k, false);
                    prune_value(v, Some(prop), false, w);
                    w.leave(mark);
                } else if let Some(ap) = &s.additional_properties {
                    let mark = w.enter_key(k, true);
                    prune_value(v, ap.schema(), false, w);
                    w.leave(mark);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = s.items.as_deref() {
                for (i, item) in items.iter_mut().enumerate() {
                    let mark = w.enter_index(i);
                    skip_prune(item, item_schema, false, w);
                    w.leave(mark);
                }
            }
        }
        _ => {}
    }
}
