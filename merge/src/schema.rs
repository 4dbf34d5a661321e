//! The type model patch and apply work over, compiled from OpenAPI v3
//! schemas. It keeps only what merging needs: the shape of each node, the
//! list and map types server-side apply reads (`x-kubernetes-list-type`,
//! `-list-map-keys`, `-map-type`) and the patch metadata strategic merge
//! patch reads (`x-kubernetes-patch-strategy`, `-patch-merge-key`).

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Index of a node in its [`Schema`].
pub type TypeId = usize;

/// The shape of one schema node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A leaf: string, number, boolean, int-or-string, quantity…
    Scalar,
    /// An object with named fields.
    Struct {
        fields: HashMap<String, Field>,
        /// `x-kubernetes-map-type: atomic`: owned and replaced as a whole.
        atomic: bool,
        /// `x-kubernetes-preserve-unknown-fields`: fields beyond `fields`
        /// are kept, untyped.
        preserve_unknown: bool,
    },
    /// An object whose keys are data (`additionalProperties`).
    Map { values: TypeId, atomic: bool },
    /// An array.
    List { items: TypeId, kind: ListKind },
    /// Anything goes (`x-kubernetes-preserve-unknown-fields` without
    /// properties, `RawExtension`, `JSON`): objects merge key by key,
    /// arrays are atomic.
    Untyped,
}

/// How server-side apply identifies the elements of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// The list is one value.
    Atomic,
    /// Scalar elements identified by their value.
    Set,
    /// Object elements identified by these fields' values.
    Map(Vec<ListKey>),
}

/// A key field of a list of type map. An element may leave a key with a
/// default out (`protocol` of container ports defaults to TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKey {
    pub name: String,
    pub default: Option<Value>,
}

/// A named field of a struct, with the metadata that sits on the property.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub ty: TypeId,
    /// The property (not its type) says `x-kubernetes-map-type: atomic`.
    pub atomic: bool,
    /// Strategic merge patch merges this list (`patch-strategy: merge`).
    pub merge: bool,
    /// Strategic merge patch honours `$retainKeys` here.
    pub retain_keys: bool,
    /// Strategic merge patch replaces this field whole.
    pub replace: bool,
    /// Strategic merge patch's key for object elements of a merged list.
    pub merge_key: Option<String>,
}

/// A compiled set of types. Named definitions (`io.k8s.api.core.v1.Pod`)
/// are looked up with [`Schema::named`]; anonymous roots (a CRD version's
/// schema) are added with [`Schema::add_root`].
#[derive(Debug, Clone)]
pub struct Schema {
    nodes: Vec<Node>,
    named: HashMap<String, TypeId>,
}

/// Compiles schemas into a [`Schema`], resolving `$ref`s in `definitions`
/// (which the compiled schema does not keep: they are most of the memory).
struct Compiler<'a> {
    schema: &'a mut Schema,
    definitions: &'a Map<String, Value>,
}

/// A node reserved for a definition still being compiled (recursive types).
const PLACEHOLDER: Node = Node::Untyped;

impl Schema {
    /// Compiles every definition of an OpenAPI document's
    /// `components.schemas` (or Swagger's `definitions`).
    pub fn from_definitions(definitions: &Map<String, Value>) -> Self {
        let mut schema = Self {
            nodes: vec![Node::Scalar, Node::Untyped],
            named: HashMap::new(),
        };
        let mut compiler = Compiler {
            schema: &mut schema,
            definitions,
        };
        for name in definitions.keys() {
            compiler.compile_named(name);
        }
        schema
    }

    /// The type of a named definition.
    pub fn named(&self, name: &str) -> Option<TypeId> {
        self.named.get(name).copied()
    }

    /// Compiles an inline schema and returns its type. Its `$ref`s may
    /// name the definitions compiled already.
    pub fn add_root(&mut self, schema: &Value) -> TypeId {
        let definitions = Map::new();
        Compiler {
            schema: self,
            definitions: &definitions,
        }
        .compile(schema)
    }

    /// The node of a type.
    pub fn node(&self, ty: TypeId) -> &Node {
        self.nodes.get(ty).unwrap_or(&Node::Untyped)
    }

    /// The type every untyped value has.
    pub fn untyped(&self) -> TypeId {
        1
    }

    /// The type of leaves (also used for values owned as a whole).
    pub(crate) fn scalar(&self) -> TypeId {
        0
    }
}

impl<'a> Compiler<'a> {
    fn push(&mut self, node: Node) -> TypeId {
        self.schema.nodes.push(node);
        self.schema.nodes.len() - 1
    }

    fn compile_named(&mut self, name: &str) -> TypeId {
        if let Some(&id) = self.schema.named.get(name) {
            return id;
        }
        let definitions = self.definitions;
        let Some(definition) = definitions.get(name) else {
            return self.schema.untyped();
        };
        let id = self.push(PLACEHOLDER);
        self.schema.named.insert(name.to_string(), id);
        let compiled = self.compile(definition);
        self.schema.nodes[id] = self.schema.nodes[compiled].clone();
        id
    }

    fn compile(&mut self, schema: &Value) -> TypeId {
        if let Some(name) = referenced(schema) {
            return self.compile_named(name);
        }
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
            || schema.get("oneOf").is_some()
            || schema.get("anyOf").is_some()
        {
            return self.schema.scalar();
        }
        let preserve =
            schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let atomic = schema.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic");
        if let Some(Value::Object(properties)) = schema.get("properties") {
            let fields = properties
                .iter()
                .map(|(name, property)| (name.clone(), self.field(property)))
                .collect();
            return self.push(Node::Struct {
                fields,
                atomic,
                preserve_unknown: preserve,
            });
        }
        if let Some(values @ Value::Object(_)) = schema.get("additionalProperties") {
            let values = self.compile(values);
            return self.push(Node::Map { values, atomic });
        }
        if let Some(items) = schema.get("items") {
            let kind = list_kind(schema, self.resolve(items));
            let items = self.compile(items);
            return self.push(Node::List { items, kind });
        }
        let ty = schema.get("type").and_then(Value::as_str);
        match ty {
            Some("object") => {
                if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                    self.push(Node::Struct {
                        fields: HashMap::new(),
                        atomic,
                        preserve_unknown: false,
                    })
                } else {
                    self.schema.untyped()
                }
            }
            Some("array") => self.push(Node::List {
                items: 1,
                kind: list_kind(schema, &Value::Null),
            }),
            None if preserve || schema.as_object().is_some_and(Map::is_empty) => {
                self.schema.untyped()
            }
            _ => self.schema.scalar(),
        }
    }

    /// A schema with its reference followed.
    fn resolve<'s>(&self, schema: &'s Value) -> &'s Value
    where
        'a: 's,
    {
        match referenced(schema) {
            Some(name) => self.definitions.get(name).unwrap_or(&Value::Null),
            None => schema,
        }
    }

    fn field(&mut self, property: &Value) -> Field {
        let ty = self.compile(property);
        let strategy = property
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let has = |s: &str| strategy.split(',').any(|part| part.trim() == s);
        Field {
            ty,
            atomic: property
                .get("x-kubernetes-map-type")
                .and_then(Value::as_str)
                == Some("atomic"),
            merge: has("merge"),
            retain_keys: has("retainKeys"),
            replace: has("replace"),
            merge_key: property
                .get("x-kubernetes-patch-merge-key")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

/// The definition a schema refers to: `$ref`, or kube's v3 wrapping of a
/// described reference in a one-element `allOf`.
fn referenced(schema: &Value) -> Option<&str> {
    let reference = schema.get("$ref").or_else(|| match schema.get("allOf") {
        Some(Value::Array(all)) if all.len() == 1 => all[0].get("$ref"),
        _ => None,
    })?;
    let reference = reference.as_str()?;
    Some(reference.rsplit('/').next().unwrap_or(reference))
}

/// A list's type as kube's schema conversion reads it: the explicit list
/// type; else a list merged by strategic merge patch is a map keyed by its
/// merge key (a set without one); else atomic. `item` is the element's
/// schema, where key defaults are.
fn list_kind(schema: &Value, item: &Value) -> ListKind {
    let key = |name: &str| ListKey {
        name: name.to_string(),
        default: item["properties"][name].get("default").cloned(),
    };
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => return ListKind::Set,
        Some("map") => {
            let keys = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| keys.iter().filter_map(Value::as_str).map(key).collect())
                .unwrap_or_default();
            return ListKind::Map(keys);
        }
        Some(_) => return ListKind::Atomic,
        None => {}
    }
    let merged = schema
        .get("x-kubernetes-patch-strategy")
        .and_then(Value::as_str)
        .is_some_and(|s| s.split(',').any(|part| part.trim() == "merge"));
    match schema
        .get("x-kubernetes-patch-merge-key")
        .and_then(Value::as_str)
    {
        Some(name) if merged => ListKind::Map(vec![key(name)]),
        None if merged => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn pod_like() -> Schema {
        let definitions = json!({
            "Pod": {"type": "object", "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"allOf": [{"$ref": "#/components/schemas/Meta"}]},
                "spec": {"$ref": "#/components/schemas/Spec"},
                "data": {"type": "object", "additionalProperties": {"type": "string"}},
                "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
            }},
            "Meta": {"type": "object", "properties": {
                "name": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "finalizers": {"type": "array", "items": {"type": "string"},
                    "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
            }},
            "Spec": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "containers": {"type": "array", "items": {"$ref": "#/components/schemas/Container"},
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "args": {"type": "array", "items": {"type": "string"}},
                "selector": {"allOf": [{"$ref": "#/components/schemas/Selector"}]},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "port": {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
            }},
            "Container": {"type": "object", "properties": {
                "name": {"type": "string"},
                "image": {"type": "string"},
                "env": {"type": "array", "items": {"$ref": "#/components/schemas/Container"},
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "ports": {"type": "array", "items": {"type": "object", "properties": {
                        "containerPort": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}},
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                    "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "containerPort"},
            }},
            "Selector": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
                "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            }},
        });
        let Value::Object(definitions) = definitions else {
            unreachable!()
        };
        Schema::from_definitions(&definitions)
    }

    #[test]
    fn compiles_structs_maps_lists_and_references() {
        let schema = pod_like();
        let pod = schema.named("Pod").unwrap();
        let Node::Struct { fields, .. } = schema.node(pod) else {
            panic!("pod is a struct")
        };
        let spec = fields["spec"].ty;
        let Node::Struct {
            fields: spec_fields,
            ..
        } = schema.node(spec)
        else {
            panic!("spec is a struct")
        };
        let containers = &spec_fields["containers"];
        assert!(containers.merge);
        assert_eq!(containers.merge_key.as_deref(), Some("name"));
        assert_eq!(
            schema.node(containers.ty),
            &Node::List {
                items: schema.named("Container").unwrap(),
                kind: ListKind::Map(vec![ListKey {
                    name: "name".into(),
                    default: None
                }])
            }
        );
        assert!(matches!(
            schema.node(spec_fields["args"].ty),
            Node::List {
                kind: ListKind::Atomic,
                ..
            }
        ));
        assert!(matches!(
            schema.node(spec_fields["selector"].ty),
            Node::Struct { atomic: true, .. }
        ));
        assert_eq!(schema.node(spec_fields["raw"].ty), &Node::Untyped);
        assert_eq!(schema.node(spec_fields["port"].ty), &Node::Scalar);
        // A list merged by key without a list type is a map keyed by it.
        let Node::Struct {
            fields: container, ..
        } = schema.node(schema.named("Container").unwrap())
        else {
            panic!("container is a struct")
        };
        assert!(
            matches!(schema.node(container["env"].ty), Node::List { kind: ListKind::Map(keys), .. } if keys[0].name == "name")
        );
    }
}
