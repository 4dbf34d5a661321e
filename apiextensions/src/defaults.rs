//! Structural defaulting (kube's `defaulting.PruneNonNullableNullsWithoutDefaults`
//! followed by `defaulting.Default`): nulls a non-nullable field cannot
//! hold are dropped unless a default replaces them, then missing fields get
//! their defaults, recursively, including inside defaults just applied.

use crate::node::Node;
use serde_json::Value;

/// Applies `node`'s defaults to `x` as kube's defaulter does on every read and write.
pub(crate) fn apply(x: &mut Value, node: &Node) {
    prune_nulls(x, Some(node));
    default(x, node);
}

/// A null the schema neither allows nor replaces with a default.
fn is_unwanted_null(v: &Value, s: Option<&Node>) -> bool {
    v.is_null() && s.is_some_and(|s| !s.nullable && s.default.is_none())
}

/// kube's `PruneNonNullableNullsWithoutDefaults`.
fn prune_nulls(x: &mut Value, s: Option<&Node>) {
    match x {
        Value::Object(map) => map.retain(|k, v| {
            let field_schema = s.and_then(|s| {
                s.property(k)
                    .or_else(|| s.additional_properties.as_ref().and_then(|ap| ap.schema()))
            });
            if is_unwanted_null(v, field_schema) {
                return false;
            }
            prune_nulls(v, field_schema);
            true
        }),
        Value::Array(items) => {
            let item_schema = s.and_then(Node::items);
            for item in items {
                prune_nulls(item, item_schema);
            }
        }
        _ => {}
    }
}

/// A null where the schema wants a value (kube's `isNonNullableNull`).
fn is_non_nullable_null(v: &Value, s: &Node) -> bool {
    v.is_null() && !s.nullable
}

/// kube's `Default`.
fn default(x: &mut Value, s: &Node) {
    match x {
        Value::Object(map) => {
            for (k, prop) in &s.properties {
                let Some(value) = &prop.default else { continue };
                match map.get_mut(k) {
                    None => {
                        map.insert(k.clone(), value.clone());
                    }
                    Some(existing) if is_non_nullable_null(existing, prop) => {
                        *existing = value.clone()
                    }
                    Some(_) => {}
                }
            }
            let ap = s.additional_properties.as_ref().and_then(|ap| ap.schema());
            for (k, v) in map.iter_mut() {
                if let Some(prop) = s.property(k) {
                    default(v, prop);
                } else if let Some(ap) = ap {
                    if is_non_nullable_null(v, ap) {
                        *v = ap.default.clone().unwrap_or(Value::Null);
                    }
                    default(v, ap);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = s.items.as_deref() else {
                return;
            };
            for item in items {
                if is_non_nullable_null(item, item_schema) {
                    *item = item_schema.default.clone().unwrap_or(Value::Null);
                }
                default(item, item_schema);
            }
        }
        _ => {}
    }
}
