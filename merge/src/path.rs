//! Field paths: how a field of an object is named in `managedFields`
//! (`f:spec`, `k:{"name":"web"}`, `v:"finalizer"`, `i:0`) and in conflict
//! messages (`.spec.containers[name="web"].image`).

use std::fmt;

use serde_json::{Map, Value};

use crate::schema::ListKey;

/// One step of a path. Values are kept as compact JSON text so elements
/// are totally ordered and hashable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or a map key.
    Field(String),
    /// An element of a list of type map: its key fields and their values
    /// (as JSON), sorted by field name.
    Key(Vec<(String, String)>),
    /// An element of a list of type set, by its value (as JSON).
    Value(String),
    /// An element of an atomic or untyped list, by position.
    Index(usize),
}

impl PathElement {
    /// The element naming `item` of a list keyed by `keys` (a key left out
    /// takes its default); `None` when the item lacks a key without one
    /// (kube refuses such items in applied configurations).
    pub fn key_of(item: &Value, keys: &[ListKey]) -> Option<Self> {
        let mut fields: Vec<(String, String)> = keys
            .iter()
            .map(|k| {
                let value = item
                    .get(&k.name)
                    .filter(|v| !v.is_null())
                    .or(k.default.as_ref())?;
                Some((k.name.clone(), value.to_string()))
            })
            .collect::<Option<_>>()?;
        fields.sort();
        Some(Self::Key(fields))
    }

    /// The element naming a set member.
    pub fn value_of(item: &Value) -> Self {
        Self::Value(item.to_string())
    }

    /// The `FieldsV1` key of this element.
    pub fn fields_v1_key(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let object: Map<String, Value> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or(Value::Null)))
                    .collect();
                format!("k:{}", Value::Object(object))
            }
            Self::Value(value) => format!("v:{value}"),
            Self::Index(index) => format!("i:{index}"),
        }
    }

    /// Parses a `FieldsV1` key (other than `.`).
    pub fn parse_fields_v1_key(key: &str) -> Result<Self, String> {
        let (prefix, rest) = key
            .split_once(':')
            .ok_or_else(|| format!("unknown field path element {key:?}"))?;
        match prefix {
            "f" => Ok(Self::Field(rest.to_string())),
            "v" => {
                let value: Value = serde_json::from_str(rest)
                    .map_err(|e| format!("invalid value in {key:?}: {e}"))?;
                Ok(Self::value_of(&value))
            }
            "k" => {
                let Value::Object(object) = serde_json::from_str(rest)
                    .map_err(|e| format!("invalid key in {key:?}: {e}"))?
                else {
                    return Err(format!("invalid key in {key:?}: not an object"));
                };
                let mut fields: Vec<(String, String)> = object
                    .into_iter()
                    .map(|(k, v)| (k, v.to_string()))
                    .collect();
                fields.sort();
                Ok(Self::Key(fields))
            }
            "i" => rest
                .parse()
                .map(Self::Index)
                .map_err(|_| format!("invalid index in {key:?}")),
            _ => Err(format!("unknown field path element {key:?}")),
        }
    }
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "[{}]", parts.join(","))
            }
            Self::Value(value) => write!(f, "[={value}]"),
            Self::Index(index) => write!(f, "[{index}]"),
        }
    }
}

/// A path from the object's root.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// The path one element further down.
    pub fn child(&self, element: PathElement) -> Self {
        let mut elements = self.0.clone();
        elements.push(element);
        Self(elements)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|e| write!(f, "{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(names: &[&str]) -> Vec<ListKey> {
        names
            .iter()
            .map(|n| ListKey {
                name: n.to_string(),
                default: None,
            })
            .collect()
    }

    #[test]
    fn fields_v1_keys_round_trip() {
        let port = json!({"containerPort": 80, "protocol": "TCP", "name": "http"});
        let key = PathElement::key_of(&port, &keys(&["protocol", "containerPort"])).unwrap();
        assert_eq!(
            key.fields_v1_key(),
            r#"k:{"containerPort":80,"protocol":"TCP"}"#
        );
        for element in [
            key,
            PathElement::Field("spec".into()),
            PathElement::value_of(&json!("example.com/finalizer")),
            PathElement::Index(3),
        ] {
            assert_eq!(
                PathElement::parse_fields_v1_key(&element.fields_v1_key()),
                Ok(element)
            );
        }
        assert!(PathElement::key_of(&json!({"name": "a"}), &keys(&["containerPort"])).is_none());
        assert!(PathElement::parse_fields_v1_key("x:1").is_err());
    }

    #[test]
    fn paths_print_as_in_conflict_messages() {
        let path = Path(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::key_of(&json!({"name": "web"}), &keys(&["name"])).unwrap(),
            PathElement::Field("image".into()),
        ]);
        assert_eq!(path.to_string(), r#".spec.containers[name="web"].image"#);
        let finalizer = Path(vec![
            PathElement::Field("metadata".into()),
            PathElement::Field("finalizers".into()),
            PathElement::value_of(&json!("a")),
        ]);
        assert_eq!(finalizer.to_string(), r#".metadata.finalizers[="a"]"#);
    }
}
