//! The parts of an `openAPIV3Schema` CEL rules care about, read leniently
//! from raw JSON, and the CEL type ("DeclType" in kube) each node declares
//! (`k8s.io/apiserver/pkg/cel/common/schemas.go`): the type the checker
//! types `self` with and the size bounds the cost estimator works from.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, OnceLock};

/// kube's `DefaultMaxRequestSizeBytes`: the bound every unbounded list, map
/// and string size estimate derives from.
pub(crate) const MAX_REQUEST_SIZE_BYTES: u64 = 3 * 1024 * 1024;

/// One `x-kubernetes-validations` entry as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RawRule {
    pub rule: String,
    pub message: Option<String>,
    pub message_expression: Option<String>,
    pub reason: Option<String>,
    pub field_path: Option<String>,
    pub optional_old_self: Option<bool>,
}

/// A schema node.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub type_: String,
    pub format: String,
    pub properties: Vec<(String, Arc<Node>)>,
    pub items: Option<Arc<Node>>,
    pub additional: Option<Arc<Node>>,
    pub all_of: Vec<Arc<Node>>,
    pub max_items: Option<i64>,
    pub max_length: Option<i64>,
    pub max_properties: Option<i64>,
    pub required: Vec<String>,
    pub enum_values: Vec<Value>,
    pub default: Option<Value>,
    pub int_or_string: bool,
    pub embedded: bool,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<String>,
    pub rules: Vec<RawRule>,
    /// Whether this node, or any node below it, has rules.
    pub has_rules: bool,
    decl: OnceLock<Option<Decl>>,
    root_decl: OnceLock<Option<Decl>>,
}

/// A node's CEL type and its minimum JSON size.
#[derive(Debug, Clone)]
pub(crate) struct Decl {
    pub ty: Ty,
    pub min_size: u64,
}

impl Node {
    pub fn parse(v: &Value) -> Arc<Node> {
        Arc::new(Self::parse_inner(v))
    }

    fn parse_inner(v: &Value) -> Node {
        let Some(o) = v.as_object() else {
            return Node::default();
        };
        let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let i = |k: &str| o.get(k).and_then(Value::as_i64);
        let b = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut n = Node {
            type_: s("type").unwrap_or_default(),
            format: s("format").unwrap_or_default(),
            max_items: i("maxItems"),
            max_length: i("maxLength"),
            max_properties: i("maxProperties"),
            int_or_string: b("x-kubernetes-int-or-string"),
            embedded: b("x-kubernetes-embedded-resource"),
            list_type: s("x-kubernetes-list-type"),
            map_type: s("x-kubernetes-map-type"),
            default: o.get("default").cloned(),
            ..Node::default()
        };
        if let Some(props) = o.get("properties").and_then(Value::as_object) {
            let mut props: Vec<(String, Arc<Node>)> = props
                .iter()
                .map(|(k, v)| (k.clone(), Node::parse(v)))
                .collect();
            props.sort_by(|a, b| a.0.cmp(&b.0));
            n.properties = props;
        }
        n.items = match o.get("items") {
            Some(Value::Array(a)) => a.first().map(Node::parse),
            Some(v @ Value::Object(_)) => Some(Node::parse(v)),
            _ => None,
        };
        if let Some(add @ Value::Object(_)) = o.get("additionalProperties") {
            n.additional = Some(Node::parse(add));
        }
        if let Some(all) = o.get("allOf").and_then(Value::as_array) {
            n.all_of = all.iter().map(Node::parse).collect();
        }
        if let Some(req) = o.get("required").and_then(Value::as_array) {
            n.required = req
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
        }
        if let Some(e) = o.get("enum").and_then(Value::as_array) {
            n.enum_values = e.clone();
        }
        if let Some(keys) = o
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
        {
            n.list_map_keys = keys
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
        }
        if let Some(rules) = o.get("x-kubernetes-validations").and_then(Value::as_array) {
            for r in rules {
                let Some(ro) = r.as_object() else {
                    // reported as a rule that is not specified
                    n.rules.push(RawRule::default());
                    continue;
                };
                let rs = |k: &str| ro.get(k).and_then(Value::as_str).map(str::to_string);
                n.rules.push(RawRule {
                    rule: rs("rule").unwrap_or_default(),
                    message: rs("message"),
                    message_expression: rs("messageExpression"),
                    reason: rs("reason"),
                    field_path: rs("fieldPath"),
                    optional_old_self: ro.get("optionalOldSelf").and_then(Value::as_bool),
                });
            }
        }
        n.has_rules = !n.rules.is_empty()
            || n.properties.iter().any(|(_, p)| p.has_rules)
            || n.items.as_ref().is_some_and(|i| i.has_rules)
            || n.additional.as_ref().is_some_and(|a| a.has_rules)
            || n.all_of.iter().any(|a| a.has_rules);
        n
    }

    /// The property schema named `name`, with kube's resource-root overrides
    /// (`apiVersion`, `kind`, `metadata.name`, `metadata.generateName`).
    pub fn property(&self, name: &str, resource_root: bool) -> Option<&Arc<Node>> {
        if resource_root {
            match name {
                "apiVersion" | "kind" => return Some(&STRING_NODE),
                "metadata" => return Some(&METADATA_NODE),
                _ => {}
            }
        }
        self.properties
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| &self.properties[i].1)
    }

    /// Every property, with the resource-root overrides applied.
    pub fn effective_properties(&self, resource_root: bool) -> Vec<(&str, &Arc<Node>)> {
        let mut out: Vec<(&str, &Arc<Node>)> = Vec::with_capacity(self.properties.len() + 3);
        for (k, v) in &self.properties {
            if resource_root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            out.push((k.as_str(), v));
        }
        if resource_root {
            out.push(("apiVersion", &STRING_NODE));
            out.push(("kind", &STRING_NODE));
            out.push(("metadata", &METADATA_NODE));
        }
        out
    }

    /// The CEL type of values of this node, or `None` when kube does not
    /// expose them to CEL (e.g. a typeless `x-kubernetes-preserve-unknown-fields`).
    pub fn decl(&self, resource_root: bool) -> Option<&Decl> {
        let cell = if resource_root {
            &self.root_decl
        } else {
            &self.decl
        };
        cell.get_or_init(|| build_decl(self, resource_root))
            .as_ref()
    }

    /// Whether old values of this map's entries correlate with new ones.
    pub fn map_correlatable(&self) -> bool {
        self.map_type.as_deref() != Some("atomic")
    }
}

static STRING_NODE: LazyLock<Arc<Node>> = LazyLock::new(|| {
    Arc::new(Node {
        type_: "string".into(),
        ..Node::default()
    })
});

static METADATA_NODE: LazyLock<Arc<Node>> = LazyLock::new(|| {
    Arc::new(Node {
        type_: "object".into(),
        properties: vec![
            ("generateName".into(), STRING_NODE.clone()),
            ("name".into(), STRING_NODE.clone()),
        ],
        ..Node::default()
    })
});

fn nonneg(v: i64) -> u64 {
    v.max(0) as u64
}

fn build_decl(n: &Node, resource_root: bool) -> Option<Decl> {
    const MAX: u64 = MAX_REQUEST_SIZE_BYTES;
    if n.int_or_string {
        let max = n
            .max_length
            .map(|m| nonneg(m).saturating_mul(4))
            .unwrap_or(MAX - 2);
        return Some(Decl {
            ty: Ty::Dyn(max),
            min_size: 1,
        });
    }
    match n.type_.as_str() {
        "array" => {
            let items = n.items.as_ref()?;
            let it = items.decl(items.embedded)?;
            let max = n
                .max_items
                .map(nonneg)
                .unwrap_or((MAX - 2) / (it.min_size + 1));
            Some(Decl {
                ty: Ty::List(Box::new(it.ty.clone()), max),
                min_size: 2,
            })
        }
        "object" => {
            if let Some(add) = &n.additional {
                let ty = match add.decl(add.embedded) {
                    Some(d) => {
                        let max = n
                            .max_properties
                            .map(nonneg)
                            .unwrap_or((MAX - 2) / (d.min_size + 6));
                        // kube's map keys are its bare `StringType`, whose
                        // size bound is 0: key scans cost nothing
                        Ty::Map(Box::new(Ty::String(0)), Box::new(d.ty.clone()), max)
                    }
                    None => Ty::Map(Box::new(Ty::String(0)), Box::new(Ty::Dyn(MAX)), MAX),
                };
                return Some(Decl { ty, min_size: 2 });
            }
            let mut fields = BTreeMap::new();
            let mut min_size = 2u64;
            for (name, prop) in n.effective_properties(resource_root) {
                let Some(d) = prop.decl(prop.embedded) else {
                    continue;
                };
                if let Some(esc) = escape(name) {
                    fields.insert(esc, d.ty.clone());
                }
                if n.required.iter().any(|r| r == name) && prop.default.is_none() {
                    min_size = min_size.saturating_add(name.len() as u64 + d.min_size + 4);
                }
            }
            Some(Decl {
                ty: Ty::Object(Arc::new(ObjTy { fields })),
                min_size,
            })
        }
        "string" => {
            let (ty, min) = match n.format.as_str() {
                "byte" => (Ty::Bytes(n.max_length.map(nonneg).unwrap_or(MAX - 2)), 2),
                "duration" => (Ty::Duration, 4),
                "date" => (Ty::Timestamp, 12),
                "date-time" => (Ty::Timestamp, 21),
                _ => {
                    let max = if let Some(m) = n.max_length {
                        nonneg(m).saturating_mul(4)
                    } else if !n.enum_values.is_empty() {
                        n.enum_values
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|s| s.len() as u64)
                            .max()
                            .unwrap_or(0)
                    } else {
                        MAX - 2
                    };
                    (Ty::String(max), 2)
                }
            };
            Some(Decl { ty, min_size: min })
        }
        "boolean" => Some(Decl {
            ty: Ty::Bool,
            min_size: 4,
        }),
        "number" => Some(Decl {
            ty: Ty::Double,
            min_size: 1,
        }),
        "integer" => Some(Decl {
            ty: Ty::Int,
            min_size: 1,
        }),
        _ => None,
    }
}

/// kube's `cel.Escape`: the CEL field name of a property, or `None` when the
/// property cannot be named in CEL (it is then not accessible).
pub(crate) fn escape(ident: &str) -> Option<String> {
    const RESERVED: &[&str] = &[
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ];
    let first = ident.chars().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if RESERVED.contains(&ident) {
        return Some(format!("__{ident}__"));
    }
    let mut out = String::with_capacity(ident.len());
    let bytes = ident.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'_' && bytes.get(i + 1) == Some(&b'_') {
            out.push_str("__underscores__");
            i += 2;
            continue;
        }
        match c {
            b'.' => out.push_str("__dot__"),
            b'-' => out.push_str("__dash__"),
            b'/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == b'_' => out.push(c as char),
            _ => return None,
        }
        i += 1;
    }
    Some(out)
}

/// A CEL type as the checker sees it, with kube's size bounds (the most
/// elements of a list or map, the most bytes of a string) for cost estimates.
#[derive(Debug, Clone)]
pub(crate) enum Ty {
    /// Any value; the size bound applies if it turns out to be a string.
    Dyn(u64),
    Bool,
    Int,
    Uint,
    Double,
    Null,
    Type,
    Duration,
    Timestamp,
    String(u64),
    Bytes(u64),
    List(Box<Ty>, u64),
    Map(Box<Ty>, Box<Ty>, u64),
    Object(Arc<ObjTy>),
    Optional(Box<Ty>),
}

/// An object type: its (escaped) field names and their types.
#[derive(Debug, Default)]
pub(crate) struct ObjTy {
    pub fields: BTreeMap<String, Ty>,
}

/// Coarse kinds the overload checks work with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum K {
    Dyn,
    Bool,
    Int,
    Uint,
    Double,
    Null,
    Type,
    Duration,
    Timestamp,
    String,
    Bytes,
    List,
    Map,
    Object,
    Optional,
}

impl Ty {
    pub fn dyn_() -> Ty {
        Ty::Dyn(MAX_REQUEST_SIZE_BYTES)
    }

    pub fn kind(&self) -> K {
        match self {
            Ty::Dyn(_) => K::Dyn,
            Ty::Bool => K::Bool,
            Ty::Int => K::Int,
            Ty::Uint => K::Uint,
            Ty::Double => K::Double,
            Ty::Null => K::Null,
            Ty::Type => K::Type,
            Ty::Duration => K::Duration,
            Ty::Timestamp => K::Timestamp,
            Ty::String(_) => K::String,
            Ty::Bytes(_) => K::Bytes,
            Ty::List(..) => K::List,
            Ty::Map(..) => K::Map,
            Ty::Object(_) => K::Object,
            Ty::Optional(_) => K::Optional,
        }
    }

    /// The most elements (list, map), bytes (string, bytes) or fields
    /// (object) a value of this type may have.
    pub fn size(&self) -> u64 {
        match self {
            Ty::Dyn(n) | Ty::String(n) | Ty::Bytes(n) | Ty::List(_, n) | Ty::Map(_, _, n) => *n,
            Ty::Object(o) => o.fields.len() as u64,
            _ => 1,
        }
    }

    /// The type as cel-go names it in error messages.
    pub fn name(&self) -> String {
        match self {
            Ty::Dyn(_) => "dyn".into(),
            Ty::Bool => "bool".into(),
            Ty::Int => "int".into(),
            Ty::Uint => "uint".into(),
            Ty::Double => "double".into(),
            Ty::Null => "null_type".into(),
            Ty::Type => "type".into(),
            Ty::Duration => "google.protobuf.Duration".into(),
            Ty::Timestamp => "google.protobuf.Timestamp".into(),
            Ty::String(_) => "string".into(),
            Ty::Bytes(_) => "bytes".into(),
            Ty::List(e, _) => format!("list({})", e.name()),
            Ty::Map(k, v, _) => format!("map({}, {})", k.name(), v.name()),
            Ty::Object(_) => "object".into(),
            Ty::Optional(t) => format!("optional_type({})", t.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_kube() {
        assert_eq!(escape("foo").as_deref(), Some("foo"));
        assert_eq!(escape("foo-bar").as_deref(), Some("foo__dash__bar"));
        assert_eq!(escape("a.b/c").as_deref(), Some("a__dot__b__slash__c"));
        assert_eq!(escape("a__b").as_deref(), Some("a__underscores__b"));
        assert_eq!(escape("namespace").as_deref(), Some("__namespace__"));
        assert_eq!(escape("1abc"), None);
        assert_eq!(escape("a b"), None);
        assert_eq!(escape(""), None);
    }
}
