//! [`Structural`]: one CRD version's schema, checked the way kube-apiserver
//! checks a CRD and compiled once, then used on every request to prune,
//! default and validate custom objects.

use crate::node::Node;
use crate::objectmeta::Root;
use crate::openapi::Mode;
use crate::parse::{Parser, mark_subtrees};
use crate::{
    FieldError, crd_checks, default_checks, defaults, listtype, objectmeta, openapi, prune,
    structural,
};
use serde_json::Value;
use std::sync::Arc;

/// One CRD version's `openAPIV3Schema`, checked for structural-ness and
/// compiled once. Cloning is cheap (the compiled tree is shared).
#[derive(Clone, Debug)]
pub struct Structural {
    root: Arc<Node>,
}

impl Structural {
    /// Checks the schema is one kube-apiserver accepts in a CRD (structural,
    /// no unsupported keywords, consistent list/map extensions, valid and
    /// pruned defaults) and compiles it. `path` is the schema's field path in
    /// the CRD (`spec.versions[0].schema.openAPIV3Schema`) and prefixes every
    /// error, worded as kube words it.
    pub fn compile(schema: &Value, path: &str) -> Result<Structural, Vec<FieldError>> {
        if !schema.is_object() {
            return Err(vec![FieldError::required(path, "schemas are required")]);
        }
        let mut parser = Parser::new();
        let mut root = parser.node(schema, path);
        if !parser.errors.is_empty() {
            return Err(parser.errors);
        }
        mark_subtrees(&mut root);
        let mut errors = crd_checks::root_errors(schema, path);
        let conversion_errors = crd_checks::conversion_errors(schema, path);
        if conversion_errors.is_empty() {
            let structural_errors = structural::validate(&root, path);
            if structural_errors.is_empty() {
                errors.extend(default_checks::validate(&root, path));
            } else {
                errors.extend(structural_errors);
            }
        }
        errors.extend(crd_checks::check(schema, path));
        if errors.is_empty() {
            errors = conversion_errors;
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Structural {
            root: Arc::new(root),
        })
    }

    /// Removes fields the schema does not specify (kube's pruning), keeping
    /// what `x-kubernetes-preserve-unknown-fields` keeps, the root's
    /// `apiVersion`, `kind` and `metadata`, and embedded resources' type and
    /// object meta (whose unknown metadata fields are dropped as kube's
    /// `ObjectMeta` round trip drops them). Returns the removed paths in
    /// kube's spelling (`spec.foo`, `spec.list[0].bar`), sorted, for
    /// `fieldValidation=Warn|Strict`.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        prune::prune(obj, &self.root, true, true)
    }

    /// Applies `default`s as kube's structural defaulting does: non-nullable
    /// nulls without a default are dropped, then missing (or null where not
    /// nullable) fields get their defaults, recursing into objects, arrays
    /// and maps, including objects a default just created.
    pub fn apply_defaults(&self, obj: &mut Value) {
        defaults::apply(obj, &self.root);
    }

    /// Every schema violation in `obj` (the whole custom object): kube-openapi's
    /// validation of the schema, embedded resources' type and object meta,
    /// and `set`/`map` list uniqueness, with kube's paths and wording.
    pub fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut out =
            openapi::to_field_errors(openapi::validate(&self.root, obj, Mode::Object), None);
        objectmeta::validate(
            &self.root,
            obj,
            Root {
                path: "",
                resource: false,
            },
            &mut out,
        );
        listtype::validate(&self.root, obj, &mut out);
        out
    }

    /// The compiled root node, for crates that walk the schema (OpenAPI
    /// publishing, schema merges, CEL type declarations).
    pub fn root(&self) -> &Node {
        &self.root
    }
}
