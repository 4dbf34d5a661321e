//! `fieldValidation`: the fields an object has that its schema does not
//! know (dropped from every object, reported under Warn, refused under
//! Strict), and the fields a JSON document sets twice.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::schema::{Node, Schema, TypeId};

/// Removes the fields `value` has that its schema does not know and
/// returns their paths as kube prints them (`spec.containers[0].imagee`).
pub fn prune_unknown(schema: &Schema, ty: TypeId, value: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    prune_at(schema, ty, value, &mut String::new(), &mut unknown);
    unknown
}

fn prune_at(
    schema: &Schema,
    ty: TypeId,
    value: &mut Value,
    path: &mut String,
    unknown: &mut Vec<String>,
) {
    match (schema.node(ty), value) {
        (
            Node::Struct {
                fields,
                preserve_unknown,
                ..
            },
            Value::Object(object),
        ) => {
            let preserve = *preserve_unknown;
            object.retain(|name, _| {
                let known = fields.contains_key(name) || preserve;
                if !known {
                    unknown.push(join(path, name));
                }
                known
            });
            for (name, child) in object.iter_mut() {
                if let Some(field) = fields.get(name) {
                    let len = path.len();
                    path.push_str(&join_suffix(len, name));
                    prune_at(schema, field.ty, child, path, unknown);
                    path.truncate(len);
                }
            }
        }
        (Node::Map { values, .. }, Value::Object(object)) => {
            for (name, child) in object.iter_mut() {
                let len = path.len();
                path.push_str(&join_suffix(len, name));
                prune_at(schema, *values, child, path, unknown);
                path.truncate(len);
            }
        }
        (Node::List { items, .. }, Value::Array(list)) => {
            for (i, child) in list.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                prune_at(schema, *items, child, path, unknown);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn join(path: &str, name: &str) -> String {
    format!("{path}{}", join_suffix(path.len(), name))
}

fn join_suffix(len: usize, name: &str) -> String {
    if len == 0 {
        name.to_string()
    } else {
        format!(".{name}")
    }
}

/// The paths of the fields a JSON document sets more than once
/// (`metadata.name`), in document order. Invalid JSON has none: the
/// decoder reports it.
pub fn duplicate_fields(json: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let _ = Walk {
        path: String::new(),
        found: &mut found,
    }
    .deserialize(&mut deserializer);
    found
}

/// Walks a document, noting repeated keys, without building it.
struct Walk<'a> {
    path: String,
    found: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let path = format!("{}[{i}]", self.path);
            if seq
                .next_element_seed(Walk {
                    path,
                    found: &mut *self.found,
                })?
                .is_none()
            {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            if !seen.insert(key) {
                self.found.push(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::pod_like;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_listed_and_dropped() {
        let schema = pod_like();
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod", "bogus": 1,
            "metadata": {"name": "p", "labels": {"any": "key"}, "nmae": "x"},
            "spec": {"replicass": 2, "containers": [{"name": "web", "imagee": "x"}], "raw": {"free": {"form": 1}}},
        });
        let unknown = prune_unknown(&schema, schema.named("Pod").unwrap(), &mut pod);
        assert_eq!(
            unknown,
            [
                "bogus",
                "metadata.nmae",
                "spec.replicass",
                "spec.containers[0].imagee"
            ]
        );
        assert_eq!(
            pod,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "labels": {"any": "key"}},
                "spec": {"containers": [{"name": "web"}], "raw": {"free": {"form": 1}}},
            })
        );
    }

    #[test]
    fn duplicate_fields_are_found_at_any_depth() {
        let body = br#"{"metadata": {"name": "a", "name": "b"}, "spec": {"containers": [{"name": "x", "image": "1", "image": "2"}]}, "spec": {}}"#;
        assert_eq!(
            duplicate_fields(body),
            ["metadata.name", "spec.containers[0].image", "spec"]
        );
        assert!(duplicate_fields(br#"{"a": 1, "b": [1, 2]}"#).is_empty());
        assert!(duplicate_fields(b"not json").is_empty());
    }
}
