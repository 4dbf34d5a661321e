//! Label and field selectors: parsing kube's selector syntax and matching
//! objects, with the field selectors each kind supports.

use serde_json::Value;

use crate::resources::ResourceDef;

/// A parsed label selector (`a=b,c!=d,e in (f,g),!h`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    raw: String,
}

impl LabelSelector {
    /// Parses `text`; the error is the message kube-apiserver gives.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(Self {
            raw: text.to_string(),
        })
    }

    /// Whether an object with `labels` (its `metadata.labels`, possibly null) matches.
    pub fn matches(&self, labels: &Value) -> bool {
        let _ = labels;
        self.raw.is_empty()
    }

    /// Matches everything.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

/// A parsed field selector (`metadata.name=x,spec.nodeName!=`), checked
/// against the fields `resource` supports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    raw: String,
}

impl FieldSelector {
    /// Parses `text` for `resource`; unknown fields are an error with
    /// kube-apiserver's message.
    pub fn parse(resource: &ResourceDef, text: &str) -> Result<Self, String> {
        let _ = resource;
        Ok(Self {
            raw: text.to_string(),
        })
    }

    /// Whether `obj` matches.
    pub fn matches(&self, obj: &Value) -> bool {
        let _ = obj;
        self.raw.is_empty()
    }

    /// Matches everything.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}
