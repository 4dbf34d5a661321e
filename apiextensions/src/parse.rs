//! Reads a raw `openAPIV3Schema` into [`Node`]s: every keyword checked for
//! its JSON type once (kube refuses such a CRD when decoding it), patterns
//! compiled once, properties sorted. Keywords kube forbids are left to
//! [`crate::crd_checks`], which words the refusals as kube does.

use crate::FieldError;
use crate::field::{child, index, invalid, key};
use crate::formats::Format;
use crate::go_regex::PatternCache;
use crate::node::{AdditionalProperties, Checks, JsonType, ListType, MapType, Node, Pattern};
use serde_json::{Map, Value};

/// Turns raw schema JSON into nodes, collecting malformed keywords.
pub(crate) struct Parser {
    patterns: PatternCache,
    pub(crate) errors: Vec<FieldError>,
}

impl Parser {
    pub(crate) fn new() -> Parser {
        Parser {
            patterns: PatternCache::default(),
            errors: Vec::new(),
        }
    }

    /// The node for `schema` at `path`.
    pub(crate) fn node(&mut self, schema: &Value, path: &str) -> Node {
        let Some(m) = schema.as_object() else {
            self.errors.push(invalid(path, schema, "must be an object"));
            return Node::default();
        };
        let mut node = Node {
            type_name: self.string(m, "type", path),
            description: self.string(m, "description", path),
            title: self.string(m, "title", path),
            nullable: self.boolean(m, "nullable", path),
            default: m.get("default").filter(|v| !v.is_null()).cloned(),
            example: m.get("example").filter(|v| !v.is_null()).cloned(),
            external_docs: m.get("externalDocs").filter(|v| !v.is_null()).cloned(),
            preserve_unknown_fields: self.boolean(m, "x-kubernetes-preserve-unknown-fields", path),
            embedded_resource: self.boolean(m, "x-kubernetes-embedded-resource", path),
            int_or_string: self.boolean(m, "x-kubernetes-int-or-string", path),
            list_map_keys: self.strings(m, "x-kubernetes-list-map-keys", path),
            x_validations: m
                .get("x-kubernetes-validations")
                .filter(|v| !v.is_null())
                .cloned(),
            only_type: only_type(m),
            ..Node::default()
        };
        node.ty = node.type_name.as_deref().and_then(JsonType::parse);
        node.list_type = match self.string(m, "x-kubernetes-list-type", path).as_deref() {
            Some("atomic") => Some(ListType::Atomic),
            Some("set") => Some(ListType::Set),
            Some("map") => Some(ListType::Map),
            _ => None,
        };
        node.map_type = match self.string(m, "x-kubernetes-map-type", path).as_deref() {
            Some("atomic") => Some(MapType::Atomic),
            Some("granular") => Some(MapType::Granular),
            _ => None,
        };
        if let Some(props) = self.object(m, "properties", path) {
            let props_path = child(path, "properties");
            let mut properties: Vec<(String, Node)> = props
                .iter()
                .map(|(k, v)| (k.clone(), self.node(v, &key(&props_path, k))))
                .collect();
            properties.sort_by(|a, b| a.0.cmp(&b.0));
            node.properties = properties;
        }
        match m.get("items") {
            Some(items @ Value::Object(_)) => {
                node.items = Some(Box::new(self.node(items, &child(path, "items"))));
            }
            None | Some(Value::Null) | Some(Value::Array(_)) => {}
            Some(other) => {
                self.errors
                    .push(invalid(child(path, "items"), other, "must be an object"))
            }
        }
        match m.get("additionalProperties") {
            Some(Value::Bool(b)) => {
                node.additional_properties = Some(AdditionalProperties::Allowed(*b))
            }
            Some(ap @ Value::Object(_)) => {
                let ap = self.node(ap, &child(path, "additionalProperties"));
                node.additional_properties = Some(AdditionalProperties::Schema(Box::new(ap)));
            }
            None | Some(Value::Null) => {}
            Some(other) => self.errors.push(invalid(
                child(path, "additionalProperties"),
                other,
                "must be a boolean or an object",
            )),
        }
        let checks = self.checks(m, path);
        if !checks.is_empty() {
            node.checks = Some(Box::new(checks));
        }
        node
    }

    fn checks(&mut self, m: &Map<String, Value>, path: &str) -> Checks {
        let format = self.string(m, "format", path);
        let pattern = self.string(m, "pattern", path).map(|source| Pattern {
            regex: self.patterns.compile(&source),
            source,
        });
        Checks {
            known_format: format.as_deref().and_then(Format::recognise),
            format,
            maximum: self.number(m, "maximum", path),
            exclusive_maximum: self.boolean(m, "exclusiveMaximum", path),
            minimum: self.number(m, "minimum", path),
            exclusive_minimum: self.boolean(m, "exclusiveMinimum", path),
            multiple_of: self.number(m, "multipleOf", path),
            max_length: self.integer(m, "maxLength", path),
            min_length: self.integer(m, "minLength", path),
            pattern,
            max_items: self.integer(m, "maxItems", path),
            min_items: self.integer(m, "minItems", path),
            unique_items: self.boolean(m, "uniqueItems", path),
            enum_values: self.array(m, "enum", path).map(|a| a.to_vec()),
            max_properties: self.integer(m, "maxProperties", path),
            min_properties: self.integer(m, "minProperties", path),
            required: self.strings(m, "required", path),
            all_of: self.nodes(m, "allOf", path),
            any_of: self.nodes(m, "anyOf", path),
            one_of: self.nodes(m, "oneOf", path),
            not: match m.get("not") {
                Some(not @ Value::Object(_)) => Some(Box::new(self.node(not, &child(path, "not")))),
                None | Some(Value::Null) => None,
                Some(other) => {
                    self.errors
                        .push(invalid(child(path, "not"), other, "must be an object"));
                    None
                }
            },
        }
    }

    fn nodes(&mut self, m: &Map<String, Value>, name: &str, path: &str) -> Vec<Node> {
        let Some(items) = self.array(m, name, path) else {
            return Vec::new();
        };
        let list_path = child(path, name);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| self.node(v, &index(&list_path, i)))
            .collect()
    }

    fn string(&mut self, m: &Map<String, Value>, name: &str, path: &str) -> Option<String> {
        match m.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                self.errors
                    .push(invalid(child(path, name), other, "must be a string"));
                None
            }
        }
    }

    fn boolean(&mut self, m: &Map<String, Value>, name: &str, path: &str) -> bool {
        match m.get(name) {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) => false,
            Some(other) => {
                self.errors
                    .push(invalid(child(path, name), other, "must be a boolean"));
                false
            }
        }
    }

    fn number(&mut self, m: &Map<String, Value>, name: &str, path: &str) -> Option<f64> {
        match m.get(name)? {
            Value::Number(n) => n.as_f64(),
            Value::Null => None,
            other => {
                self.errors
                    .push(invalid(child(path, name), other, "must be a number"));
                None
            }
        }
    }

    fn integer(&mut self, m: &Map<String, Value>, name: &str, path: &str) -> Option<i64> {
        match m.get(name)? {
            Value::Number(n) if n.as_i64().is_some() => n.as_i64(),
            Value::Null => None,
            other => {
                self.errors
                    .push(invalid(child(path, name), other, "must be an integer"));
                None
            }
        }
    }

    fn array<'v>(
        &mut self,
        m: &'v Map<String, Value>,
        name: &str,
        path: &str,
    ) -> Option<&'v Vec<Value>> {
        match m.get(name)? {
            Value::Array(a) => Some(a),
            Value::Null => None,
            other => {
                self.errors
                    .push(invalid(child(path, name), other, "must be an array"));
                None
            }
        }
    }

    fn object<'v>(
        &mut self,
        m: &'v Map<String, Value>,
        name: &str,
        path: &str,
    ) -> Option<&'v Map<String, Value>> {
        match m.get(name)? {
            Value::Object(o) => Some(o),
            Value::Null => None,
            other => {
                self.errors
                    .push(invalid(child(path, name), other, "must be an object"));
                None
            }
        }
    }

    fn strings(&mut self, m: &Map<String, Value>, name: &str, path: &str) -> Vec<String> {
        let Some(items) = self.array(m, name, path) else {
            return Vec::new();
        };
        let list_path = child(path, name);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => self
                    .errors
                    .push(invalid(index(&list_path, i), other, "must be a string")),
            }
        }
        out
    }
}

/// Whether the schema is just `{type: X}` (zero values elsewhere count as unset, as in Go).
fn only_type(m: &Map<String, Value>) -> bool {
    m.contains_key("type")
        && m.iter().all(|(k, v)| {
            k == "type"
                || match v {
                    Value::Null => true,
                    Value::Bool(b) => !b,
                    Value::String(s) => s.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    Value::Number(_) => false,
                }
        })
}

/// Marks nodes under which embedded resources or keyed lists sit, so the
/// per-request walks that only look for those skip everything else.
pub(crate) fn mark_subtrees(node: &mut Node) {
    let mut embedded = node.embedded_resource;
    let mut keyed = matches!(node.list_type, Some(ListType::Set) | Some(ListType::Map));
    if let Some(items) = node.items.as_deref_mut() {
        mark_subtrees(items);
        embedded |= items.embedded_below;
        keyed |= items.keyed_lists_below;
    }
    for (_, prop) in &mut node.properties {
        mark_subtrees(prop);
        embedded |= prop.embedded_below;
        keyed |= prop.keyed_lists_below;
    }
    if let Some(AdditionalProperties::Schema(ap)) = &mut node.additional_properties {
        mark_subtrees(ap);
        embedded |= ap.embedded_below;
        keyed |= ap.keyed_lists_below;
    }
    node.embedded_below = embedded;
    node.keyed_lists_below = keyed;
}
