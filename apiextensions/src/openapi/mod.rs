//! Validation of a value against a schema node as kube-openapi's
//! `validate.SchemaValidator` does it (the validator kube-apiserver runs on
//! custom objects and on CRD defaults): the same validators in the same
//! order, the same `MatchCount` bookkeeping that picks which `anyOf`/`oneOf`
//! branch's errors are reported, and the same conversion to field errors
//! (`kubeOpenAPIResultToFieldErrors`).

mod go_equality;
mod validator;

use crate::FieldError;
use crate::field;
use crate::go_fmt;
use crate::node::Node;
use serde_json::Value;
use std::collections::HashSet;
use validator::Validator;

/// Which schema conversion kube validates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Custom objects: `x-kubernetes-int-or-string` means type `integer,string`
    /// and unsupported formats are stripped (`ConvertJSONSchemaProps`).
    Object,
    /// CRD defaults: the structural schema as is (`ToKubeOpenAPI`).
    Default,
}

/// One kube-openapi error before conversion to a field error.
#[derive(Debug, Clone)]
pub(crate) struct OpenApiError {
    kind: Kind,
    /// kube-openapi's path of the value (`spec.items[0].name`).
    name: String,
    /// The bad value kube reports (JSON null stands for Go's nil).
    value: Value,
    message: String,
}

#[derive(Debug, Clone)]
enum Kind {
    Required,
    Enum(Vec<Value>),
    TooLong(i64),
    TooMany {
        actual: i64,
        max: i64,
    },
    InvalidType,
    Invalid,
    /// The `anyOf`/`allOf`/`oneOf`/`not` summaries: plain errors, not field-addressed.
    Composite,
}

/// kube-openapi's `Result`: errors plus how many checks passed.
#[derive(Debug, Default)]
struct Outcome {
    errors: Vec<OpenApiError>,
    matches: u32,
}

impl Outcome {
    fn error(e: OpenApiError) -> Outcome {
        Outcome {
            errors: vec![e],
            matches: 0,
        }
    }

    fn merge(&mut self, other: Outcome) {
        if !other.errors.is_empty() {
            self.errors.extend(other.errors);
        }
        self.matches += other.matches;
    }

    fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Validates `data` against `node`, returning kube-openapi's errors in order
/// (duplicate messages dropped as `Result.AddErrors` drops them).
pub(crate) fn validate(node: &Node, data: &Value, mode: Mode) -> Vec<OpenApiError> {
    let mut path = String::with_capacity(128);
    let outcome = Validator::new(mode).schema(node, data, &mut path);
    if outcome.errors.is_empty() {
        return Vec::new();
    }
    let mut seen = HashSet::new();
    outcome
        .errors
        .into_iter()
        .filter(|e| seen.insert(e.message.clone()))
        .collect()
}

/// kube's `kubeOpenAPIResultToFieldErrors`: field paths under `base`
/// (`None` is kube's nil path, printed `<nil>`), kube's wording per code.
pub(crate) fn to_field_errors(errors: Vec<OpenApiError>, base: Option<&str>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            let name = e.name.strip_prefix('.').unwrap_or(&e.name);
            let named = !name.is_empty() && e.name != ".";
            let path = match (base, named) {
                (Some(b), true) => field::child(b, name),
                (None, true) => name.to_string(),
                (Some(b), false) => b.to_string(),
                (None, false) => "<nil>".to_string(),
            };
            let or_empty = |v: &Value| {
                if v.is_null() {
                    Value::String(String::new())
                } else {
                    v.clone()
                }
            };
            match e.kind {
                Kind::Required => FieldError::required(path, ""),
                Kind::Enum(values) => {
                    let supported: Vec<String> = values
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => go_fmt::json(other),
                        })
                        .collect();
                    field::not_supported(path, &e.value, &supported)
                }
                Kind::TooLong(max) => field::too_long(path, max),
                Kind::TooMany { actual, max } => field::too_many(path, actual, max),
                Kind::InvalidType => field::type_invalid(path, &or_empty(&e.value), &e.message),
                Kind::Invalid => field::invalid(path, &or_empty(&e.value), &e.message),
                Kind::Composite => {
                    let path = base.map_or_else(|| "<nil>".to_string(), str::to_string);
                    field::invalid(path, &Value::String(String::new()), &e.message)
                }
            }
        })
        .collect()
}
