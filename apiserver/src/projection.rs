//! Decoding only the parts of a stored object a reader needs. A field
//! selector reads a handful of values and a metadata-only watch reads
//! `metadata`, yet decoding a whole pod builds a map for every member,
//! managed fields included; a projection skips everything else while
//! parsing (the bytes are scanned, nothing is built).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The members of an object to keep, as dotted paths: `metadata` keeps
/// the whole of `metadata`, `spec.nodeName` only that member of `spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    whole: bool,
    children: BTreeMap<String, Projection>,
}

impl Projection {
    /// The projection keeping `paths`.
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut root = Projection::default();
        for path in paths {
            let mut at = &mut root;
            for name in path.split('.') {
                if at.whole {
                    break;
                }
                at = at.children.entry(name.to_owned()).or_default();
            }
            at.whole = true;
            at.children.clear();
        }
        root
    }

    /// `raw` decoded with only the kept members; an object where a kept
    /// path expects one but finds a scalar or an array reads as null there.
    pub fn decode(&self, raw: &[u8]) -> Result<Value, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(raw);
        let value = self.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }
}

impl<'de> DeserializeSeed<'de> for &Projection {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.whole {
            Value::deserialize(deserializer)
        } else {
            deserializer.deserialize_any(Pick(self))
        }
    }
}

/// Visits the object at a projection's inner node.
struct Pick<'a>(&'a Projection);

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(kept) = map.next_key_seed(Key(self.0))? {
            match kept {
                Some((name, child)) => {
                    let value = map.next_value_seed(child)?;
                    out.insert(name.to_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// A member name, looked up among a node's kept children without being
/// copied unless it is kept.
struct Key<'a>(&'a Projection);

impl<'de, 'a> DeserializeSeed<'de> for Key<'a> {
    type Value = Option<(&'a str, &'a Projection)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 'a> Visitor<'de> for Key<'a> {
    type Value = Option<(&'a str, &'a Projection)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .children
            .get_key_value(name)
            .map(|(name, child)| (name.as_str(), child)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(paths: &[&str], value: &Value) -> Value {
        let raw = serde_json::to_vec(value).unwrap();
        Projection::of(paths.iter().copied()).decode(&raw).unwrap()
    }

    #[test]
    fn keeps_the_named_members_and_nothing_else() {
        let pod = json!({
            "metadata": {"name": "web-1", "namespace": "prod", "managedFields": [{"manager": "x"}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "app"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]},
        });
        let kept = project(
            &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "status.podIPs",
                "status.podIP",
            ],
            &pod,
        );
        assert_eq!(
            kept,
            json!({
                "metadata": {"name": "web-1", "namespace": "prod"},
                "spec": {"nodeName": "n1"},
                "status": {"podIPs": [{"ip": "10.0.0.1"}]},
            })
        );
    }

    #[test]
    fn a_whole_member_wins_over_its_parts() {
        let obj = json!({"metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}});
        let want = json!({"metadata": {"name": "a", "labels": {"x": "y"}}});
        assert_eq!(project(&["metadata.name", "metadata"], &obj), want);
        assert_eq!(project(&["metadata", "metadata.name"], &obj), want);
    }

    #[test]
    fn scalars_and_arrays_where_an_object_is_expected_read_as_null() {
        let obj = json!({"spec": "odd", "status": [1, 2, {"phase": "x"}], "metadata": null});
        assert_eq!(
            project(&["spec.nodeName", "status.phase", "metadata.name"], &obj),
            json!({"spec": null, "status": null, "metadata": null})
        );
    }

    #[test]
    fn escaped_names_match_and_bad_json_is_an_error() {
        let raw = br#"{"a\u0062":{"c":1,"d":2},"e":3}"#;
        assert_eq!(
            Projection::of(["ab.c"]).decode(raw).unwrap(),
            json!({"ab": {"c": 1}})
        );
        assert!(Projection::of(["a"]).decode(br#"{"a":1"#).is_err());
        assert!(Projection::of(["a"]).decode(br#"{"a":1} x"#).is_err());
    }
}
