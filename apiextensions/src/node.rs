//! One compiled node of an `openAPIV3Schema`: what pruning, defaulting and
//! validation read on every request, parsed once so no request walks raw
//! JSON schema. Other crates read it (OpenAPI publishing, schema merges)
//! through the accessors; nothing outside this crate builds one.

use crate::formats::Format;
use regex::Regex;
use serde_json::Value;
use std::sync::Arc;

/// The JSON types an OpenAPI v3 schema in a CRD may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl JsonType {
    /// The OpenAPI spelling (`"integer"`).
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<JsonType> {
        Some(match name {
            "object" => JsonType::Object,
            "array" => JsonType::Array,
            "string" => JsonType::String,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "boolean" => JsonType::Boolean,
            _ => return None,
        })
    }
}

/// `x-kubernetes-list-type`: how server-side apply and validation treat a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map,
}

impl ListType {
    /// The extension's spelling (`"map"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map => "map",
        }
    }
}

/// `x-kubernetes-map-type`: whether an object is replaced or merged as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    Atomic,
    Granular,
}

impl MapType {
    /// The extension's spelling (`"granular"`).
    pub fn as_str(self) -> &'static str {
        match self {
            MapType::Atomic => "atomic",
            MapType::Granular => "granular",
        }
    }
}

/// `additionalProperties`: `true`/`false`, or the schema of map values.
#[derive(Debug, Clone)]
pub enum AdditionalProperties {
    Allowed(bool),
    Schema(Box<Node>),
}

impl AdditionalProperties {
    /// The schema of map values, if one is given (`true`/`false` have none).
    pub fn schema(&self) -> Option<&Node> {
        match self {
            AdditionalProperties::Schema(node) => Some(node),
            AdditionalProperties::Allowed(_) => None,
        }
    }
}

/// One schema node, read-only outside this crate.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// `type` as written (kube words type errors with it).
    pub(crate) type_name: Option<String>,
    pub(crate) ty: Option<JsonType>,
    pub(crate) description: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) nullable: bool,
    /// A non-null `default` (kube treats `default: null` as none).
    pub(crate) default: Option<Value>,
    pub(crate) example: Option<Value>,
    pub(crate) external_docs: Option<Value>,
    pub(crate) preserve_unknown_fields: bool,
    pub(crate) embedded_resource: bool,
    pub(crate) int_or_string: bool,
    pub(crate) list_type: Option<ListType>,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) map_type: Option<MapType>,
    pub(crate) x_validations: Option<Value>,
    /// Sorted by name, so lookups bisect and errors come out in a stable order.
    pub(crate) properties: Vec<(String, Node)>,
    pub(crate) items: Option<Box<Node>>,
    pub(crate) additional_properties: Option<AdditionalProperties>,
    pub(crate) checks: Option<Box<Checks>>,
    /// The node is exactly `{type: X}` (kube's int-or-string `anyOf` shape).
    pub(crate) only_type: bool,
    /// Some node at or below this one is an embedded resource.
    pub(crate) embedded_below: bool,
    /// Some node at or below this one is a `set` or `map` list.
    pub(crate) keyed_lists_below: bool,
}

/// The value validations of a node (kube's `ValueValidation`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Checks {
    /// `format` as written.
    pub format: Option<String>,
    /// The format when kube validates it (others are stripped before validation).
    pub known_format: Option<Format>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub multiple_of: Option<f64>,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: Option<Pattern>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub enum_values: Option<Vec<Value>>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub all_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub not: Option<Box<Node>>,
}

impl Checks {
    /// No value validation at all (kube's zero `ValueValidation`).
    pub(crate) fn is_empty(&self) -> bool {
        self.format.is_none()
            && self.maximum.is_none()
            && !self.exclusive_maximum
            && self.minimum.is_none()
            && !self.exclusive_minimum
            && self.multiple_of.is_none()
            && self.max_length.is_none()
            && self.min_length.is_none()
            && self.pattern.is_none()
            && self.max_items.is_none()
            && self.min_items.is_none()
            && !self.unique_items
            && self.enum_values.is_none()
            && self.max_properties.is_none()
            && self.min_properties.is_none()
            && self.required.is_empty()
            && self.all_of.is_empty()
            && self.any_of.is_empty()
            && self.one_of.is_empty()
            && self.not.is_none()
    }
}

/// A `pattern`, compiled once per distinct source.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub source: String,
    /// The compiled regex, or why it does not compile.
    pub regex: Result<Arc<Regex>, String>,
}

/// Byte-wise ordering of short keys, inlined: property names mostly differ
/// in their first bytes, so this beats a `memcmp` call per probe.
#[inline]
fn compare_short(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl Node {
    /// The declared type, if any (int-or-string and preserve-unknown nodes may have none).
    pub fn json_type(&self) -> Option<JsonType> {
        self.ty
    }

    /// `description`.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// `title`.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// `nullable`.
    pub fn nullable(&self) -> bool {
        self.nullable
    }

    /// `x-kubernetes-preserve-unknown-fields: true`.
    pub fn preserve_unknown_fields(&self) -> bool {
        self.preserve_unknown_fields
    }

    /// `x-kubernetes-int-or-string: true`.
    pub fn int_or_string(&self) -> bool {
        self.int_or_string
    }

    /// `x-kubernetes-embedded-resource: true`.
    pub fn embedded_resource(&self) -> bool {
        self.embedded_resource
    }

    /// `x-kubernetes-list-type`.
    pub fn list_type(&self) -> Option<ListType> {
        self.list_type
    }

    /// `x-kubernetes-list-map-keys`.
    pub fn list_map_keys(&self) -> &[String] {
        &self.list_map_keys
    }

    /// `x-kubernetes-map-type`.
    pub fn map_type(&self) -> Option<MapType> {
        self.map_type
    }

    /// `x-kubernetes-validations` as written, for the CEL rules.
    pub fn x_validations(&self) -> Option<&Value> {
        self.x_validations.as_ref()
    }

    /// `default` (never JSON null).
    pub fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }

    /// `example`.
    pub fn example(&self) -> Option<&Value> {
        self.example.as_ref()
    }

    /// `externalDocs` as written.
    pub fn external_docs(&self) -> Option<&Value> {
        self.external_docs.as_ref()
    }

    /// `properties`, sorted by name.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.properties.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// One property's schema.
    pub fn property(&self, name: &str) -> Option<&Node> {
        self.properties
            .binary_search_by(|(k, _)| compare_short(k.as_bytes(), name.as_bytes()))
            .ok()
            .map(|i| &self.properties[i].1)
    }

    /// `items`.
    pub fn items(&self) -> Option<&Node> {
        self.items.as_deref()
    }

    /// `additionalProperties`.
    pub fn additional_properties(&self) -> Option<&AdditionalProperties> {
        self.additional_properties.as_ref()
    }

    /// `format` as written.
    pub fn format(&self) -> Option<&str> {
        self.checks.as_ref().and_then(|c| c.format.as_deref())
    }

    /// `enum`.
    pub fn enum_values(&self) -> Option<&[Value]> {
        self.checks.as_ref().and_then(|c| c.enum_values.as_deref())
    }

    /// `required`.
    pub fn required(&self) -> &[String] {
        self.checks
            .as_ref()
            .map(|c| c.required.as_slice())
            .unwrap_or(&[])
    }

    /// `pattern` as written.
    pub fn pattern(&self) -> Option<&str> {
        self.checks
            .as_ref()
            .and_then(|c| c.pattern.as_ref().map(|p| p.source.as_str()))
    }

    /// `maxLength`.
    pub fn max_length(&self) -> Option<i64> {
        self.checks.as_ref().and_then(|c| c.max_length)
    }

    /// `maxItems`.
    pub fn max_items(&self) -> Option<i64> {
        self.checks.as_ref().and_then(|c| c.max_items)
    }

    /// `maxProperties`.
    pub fn max_properties(&self) -> Option<i64> {
        self.checks.as_ref().and_then(|c| c.max_properties)
    }

    /// `minimum` and whether it is exclusive.
    pub fn minimum(&self) -> Option<(f64, bool)> {
        self.checks
            .as_ref()
            .and_then(|c| c.minimum.map(|m| (m, c.exclusive_minimum)))
    }

    /// `maximum` and whether it is exclusive.
    pub fn maximum(&self) -> Option<(f64, bool)> {
        self.checks
            .as_ref()
            .and_then(|c| c.maximum.map(|m| (m, c.exclusive_maximum)))
    }

    /// `allOf`: value validations that must all hold.
    pub fn all_of(&self) -> &[Node] {
        self.checks
            .as_ref()
            .map(|c| c.all_of.as_slice())
            .unwrap_or(&[])
    }

    /// `anyOf`: value validations of which one must hold.
    pub fn any_of(&self) -> &[Node] {
        self.checks
            .as_ref()
            .map(|c| c.any_of.as_slice())
            .unwrap_or(&[])
    }

    /// `oneOf`: value validations of which exactly one must hold.
    pub fn one_of(&self) -> &[Node] {
        self.checks
            .as_ref()
            .map(|c| c.one_of.as_slice())
            .unwrap_or(&[])
    }

    /// `not`: a value validation that must not hold.
    pub fn not(&self) -> Option<&Node> {
        self.checks.as_ref().and_then(|c| c.not.as_deref())
    }

    pub(crate) fn type_str(&self) -> &str {
        self.type_name.as_deref().unwrap_or("")
    }

    /// `anyOf: [{type: integer}, {type: string}]`, exactly (kube's int-or-string shape).
    pub(crate) fn is_int_or_string_any_of(&self) -> bool {
        let any_of = self.any_of();
        any_of.len() == 2
            && any_of[0].only_type
            && any_of[0].type_str() == "integer"
            && any_of[1].only_type
            && any_of[1].type_str() == "string"
    }

    /// `allOf: [{anyOf: [{type: integer}, {type: string}]}, …]`.
    pub(crate) fn is_int_or_string_all_of(&self) -> bool {
        self.all_of()
            .first()
            .is_some_and(|first| first.is_int_or_string_any_of())
    }
}
