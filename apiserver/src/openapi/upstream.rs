//! What upstream's OpenAPI says and k8s-openapi's schemas do not: strategic
//! merge patch metadata (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`), which kubectl's client-side apply and
//! `kubectl patch` read, server-side apply's list and map types
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-map-type`), and the API's `required` fields (k8s-openapi's
//! follow its Rust types: `metadata` is required everywhere). The values are
//! copied into [`upstream_table`](super::upstream_table) by
//! `apiserver/tools/openapi_upstream.py`.

use serde_json::{Map, Value};

use super::upstream_table::{FIELDS, MAP_TYPES, REQUIRED};

/// The extensions of one field of one definition.
#[derive(Debug, Clone, Copy)]
pub(super) struct FieldExtensions {
    definition: &'static str,
    field: &'static str,
    list_type: Option<&'static str>,
    list_map_keys: &'static [&'static str],
    map_type: Option<&'static str>,
    patch_strategy: Option<&'static str>,
    patch_merge_key: Option<&'static str>,
}

/// A field with no extensions yet; the builder methods add them.
pub(super) const fn field(definition: &'static str, field: &'static str) -> FieldExtensions {
    FieldExtensions {
        definition,
        field,
        list_type: None,
        list_map_keys: &[],
        map_type: None,
        patch_strategy: None,
        patch_merge_key: None,
    }
}

impl FieldExtensions {
    /// `x-kubernetes-list-type`.
    pub(super) const fn list(mut self, list_type: &'static str) -> Self {
        self.list_type = Some(list_type);
        self
    }

    /// `x-kubernetes-list-map-keys`.
    pub(super) const fn keys(mut self, keys: &'static [&'static str]) -> Self {
        self.list_map_keys = keys;
        self
    }

    /// `x-kubernetes-map-type`.
    pub(super) const fn map(mut self, map_type: &'static str) -> Self {
        self.map_type = Some(map_type);
        self
    }

    /// `x-kubernetes-patch-strategy`.
    pub(super) const fn strategy(mut self, strategy: &'static str) -> Self {
        self.patch_strategy = Some(strategy);
        self
    }

    /// `x-kubernetes-patch-merge-key`.
    pub(super) const fn merge_key(mut self, key: &'static str) -> Self {
        self.patch_merge_key = Some(key);
        self
    }

    fn insert_into(&self, property: &mut Map<String, Value>) {
        let mut set = |key: &str, value: Option<&str>| {
            if let Some(value) = value {
                property.insert(key.into(), value.into());
            }
        };
        set("x-kubernetes-list-type", self.list_type);
        set("x-kubernetes-map-type", self.map_type);
        set("x-kubernetes-patch-strategy", self.patch_strategy);
        set("x-kubernetes-patch-merge-key", self.patch_merge_key);
        if !self.list_map_keys.is_empty() {
            property.insert(
                "x-kubernetes-list-map-keys".into(),
                self.list_map_keys.into(),
            );
        }
    }
}

/// Makes the definitions of Kubernetes types in `definitions` (a map from
/// definition name to schema) carry upstream's extensions and `required`
/// lists.
pub(super) fn apply(definitions: &mut Map<String, Value>) {
    add_extensions(definitions);
    use_upstream_required(definitions);
}

/// Defaults upstream publishes for list-map keys: server-side apply fills
/// a key an element leaves out with its default (a container port without
/// `protocol` is the TCP one).
const KEY_DEFAULTS: &[(&str, &str, &str)] = &[
    ("io.k8s.api.core.v1.ContainerPort", "protocol", "TCP"),
    ("io.k8s.api.core.v1.ServicePort", "protocol", "TCP"),
    // `imagePullSecrets` is a list-map keyed by `name` (kube 1.33).
    ("io.k8s.api.core.v1.LocalObjectReference", "name", ""),
];

fn add_extensions(definitions: &mut Map<String, Value>) {
    for (definition, field, default) in KEY_DEFAULTS {
        if let Some(Value::Object(property)) = definitions
            .get_mut(*definition)
            .and_then(|schema| schema.get_mut("properties"))
            .and_then(|properties| properties.get_mut(*field))
        {
            property.insert("default".into(), (*default).into());
        }
    }
    for entry in FIELDS {
        let property = definitions
            .get_mut(entry.definition)
            .and_then(|schema| schema.get_mut("properties"))
            .and_then(|properties| properties.get_mut(entry.field))
            .and_then(Value::as_object_mut);
        if let Some(property) = property {
            entry.insert_into(property);
        }
    }
    for (definition, map_type) in MAP_TYPES {
        if let Some(Value::Object(schema)) = definitions.get_mut(*definition) {
            schema.insert("x-kubernetes-map-type".into(), (*map_type).into());
        }
    }
}

/// Replaces the `required` lists of Kubernetes types (not of custom
/// resources) by upstream's, dropping them where upstream has none.
fn use_upstream_required(definitions: &mut Map<String, Value>) {
    for (name, schema) in definitions.iter_mut() {
        let Some(schema) = schema.as_object_mut() else {
            continue;
        };
        if !name.starts_with("io.k8s.") {
            continue;
        }
        match REQUIRED.binary_search_by(|(definition, _)| (*definition).cmp(name)) {
            Ok(i) => {
                schema.insert("required".into(), REQUIRED[i].1.into());
            }
            Err(_) => {
                schema.remove("required");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::{Format, schemas};
    use crate::resources::BUILTIN;

    /// Every table entry for a generated definition names a real property:
    /// k8s-openapi and the table describe the same Kubernetes version.
    #[test]
    fn table_fields_exist_in_generated_schemas() {
        let definitions = schemas::generate(Format::V2, BUILTIN, BUILTIN.iter());
        let mut checked = 0;
        for entry in FIELDS {
            if let Some(schema) = definitions.get(entry.definition) {
                assert!(
                    schema["properties"].get(entry.field).is_some(),
                    "{}.{}",
                    entry.definition,
                    entry.field
                );
                checked += 1;
            }
        }
        assert!(checked > 150, "only {checked} entries matched");
    }

    #[test]
    fn required_table_is_sorted_for_binary_search() {
        assert!(REQUIRED.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn required_lists_are_upstream_ones() {
        let definitions = schemas::generate(Format::V3, BUILTIN, BUILTIN.iter());
        assert!(
            definitions["io.k8s.api.core.v1.Pod"]
                .get("required")
                .is_none()
        );
        assert_eq!(
            definitions["io.k8s.api.core.v1.Binding"]["required"],
            serde_json::json!(["target"])
        );
        assert_eq!(
            definitions["io.k8s.api.core.v1.Event"]["required"],
            serde_json::json!(["metadata", "involvedObject"])
        );
        assert_eq!(
            definitions["io.k8s.api.core.v1.PodList"]["required"],
            serde_json::json!(["items"])
        );
    }

    #[test]
    fn builder_sets_every_extension() {
        let entry = field("D", "ports")
            .list("map")
            .keys(&["containerPort", "protocol"])
            .strategy("merge")
            .merge_key("containerPort");
        let mut property = Map::new();
        entry.insert_into(&mut property);
        assert_eq!(property["x-kubernetes-list-type"], "map");
        assert_eq!(
            property["x-kubernetes-list-map-keys"],
            serde_json::json!(["containerPort", "protocol"])
        );
        assert_eq!(property["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(property["x-kubernetes-patch-merge-key"], "containerPort");
        assert!(!property.contains_key("x-kubernetes-map-type"));
    }
}
