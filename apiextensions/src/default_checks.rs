//! CRD-time checks of `default` values (kube's `defaulting.ValidateDefaults`):
//! a default must already be pruned, must be a valid embedded resource
//! where one is expected, and must validate against its own schema.

use crate::FieldError;
use crate::field;
use crate::node::Node;
use crate::objectmeta::{self, Root};
use crate::openapi::{self, Mode};
use crate::prune;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Every invalid default under `root`, at paths below `base`.
pub(crate) fn validate(root: &Node, base: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(root, base, false, true, &mut out);
    out
}

/// `resource_root` marks the schema root, which kube validates as an embedded resource.
fn walk(s: &Node, path: &str, inside_meta: bool, resource_root: bool, out: &mut Vec<FieldError>) {
    let embedded = s.embedded_resource || resource_root;
    let inside_meta = inside_meta && !embedded;
    if let Some(default) = &s.default {
        let default_path = field::child(path, "default");
        if inside_meta {
            // kube checks these inside a synthesized surrounding object; the
            // schema check is the part that applies to the value itself.
            let errors = openapi::validate(s, default, Mode::Default);
            out.extend(openapi::to_field_errors(errors, Some(&default_path)));
        } else {
            let mut pruned = default.clone();
            prune::prune(&mut pruned, s, embedded, false);
            if pruned != *default {
                out.push(field::invalid(
                    &default_path,
                    default,
                    "must not have unknown fields",
                ));
            }
            let root = Root {
                path: &default_path,
                resource: embedded,
            };
            if let Some(e) = objectmeta::coerce_error(s, default, root) {
                out.push(e);
            } else {
                let mut meta_errors = Vec::new();
                objectmeta::validate(s, default, root, &mut meta_errors);
                if meta_errors.is_empty() {
                    let errors = openapi::validate(s, default, Mode::Default);
                    out.extend(openapi::to_field_errors(errors, Some(&default_path)));
                } else {
                    out.extend(meta_errors);
                }
            }
        }
    }
    if let Some(items) = s.items.as_deref() {
        walk(items, &field::child(path, "items"), inside_meta, false, out);
    }
    let props_path = field::child(path, "properties");
    for (k, prop) in &s.properties {
        let sub_inside_meta = inside_meta || (embedded && META_FIELDS.contains(&k.as_str()));
        walk(
            prop,
            &field::key(&props_path, k),
            sub_inside_meta,
            false,
            out,
        );
    }
}
