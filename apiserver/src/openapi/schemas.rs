//! Schema definitions: generated from k8s-openapi's `JsonSchema` impls by
//! a schemars generator set up for the document's format, completed with
//! the list types k8s-openapi has no schema for, kube's shapes of
//! `IntOrString`, `Quantity` and `JSON`, upstream's `x-kubernetes-*` patch
//! metadata and `required` lists, and each kind's
//! `x-kubernetes-group-version-kind`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::apimachinery::pkg::version;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::{Format, kinds, upstream};
use crate::discovery::subresource_kind;
use crate::resources::ResourceDef;

/// kube's definition name of a k8s-openapi type.
pub(super) fn name_of<T: JsonSchema>() -> String {
    T::schema_name().into_owned()
}

/// The meta types operations and the discovery endpoints use.
const META_TYPES: &[fn(&mut SchemaGenerator) -> Schema] = &[
    SchemaGenerator::subschema_for::<meta::APIGroup>,
    SchemaGenerator::subschema_for::<meta::APIGroupList>,
    SchemaGenerator::subschema_for::<meta::APIResourceList>,
    SchemaGenerator::subschema_for::<meta::APIVersions>,
    SchemaGenerator::subschema_for::<meta::DeleteOptions>,
    SchemaGenerator::subschema_for::<meta::Patch>,
    SchemaGenerator::subschema_for::<meta::Status>,
    SchemaGenerator::subschema_for::<meta::WatchEvent<()>>,
    SchemaGenerator::subschema_for::<version::Info>,
];

/// Meta kinds kube tags with a core `v1` group-version-kind.
const CORE_META_KINDS: &[&str] = &[
    "APIGroup",
    "APIGroupList",
    "APIResourceList",
    "APIVersions",
    "Status",
];

/// Meta kinds kube tags with a group-version-kind per served group version.
const SHARED_META_KINDS: &[&str] = &["DeleteOptions", "WatchEvent"];

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const OBJECT_META_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_META_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The definitions of the `roots` resources' kinds (with their lists and
/// subresource kinds) and of the meta types, annotated for every resource
/// of `resources`. Keys are kube's definition names.
pub(super) fn generate<'a>(
    format: Format,
    resources: &[ResourceDef],
    roots: impl IntoIterator<Item = &'a ResourceDef>,
) -> Map<String, Value> {
    let mut generator = generator(format);
    for add in META_TYPES {
        add(&mut generator);
    }
    for r in roots {
        add_resource(&mut generator, format, r);
    }
    let mut definitions = generator.take_definitions(true);
    use_kube_scalar_shapes(&mut definitions, format);
    upstream::apply(&mut definitions);
    annotate_group_version_kinds(&mut definitions, resources);
    definitions
}

/// The definitions `document` refers to, directly or through other
/// definitions.
pub(super) fn referenced(
    definitions: &Map<String, Value>,
    document: &Value,
    format: Format,
) -> Map<String, Value> {
    let mut found = Map::new();
    let mut pending = Vec::new();
    collect_refs(document, format, &mut pending);
    while let Some(name) = pending.pop() {
        if found.contains_key(&name) {
            continue;
        }
        if let Some(schema) = definitions.get(&name) {
            collect_refs(schema, format, &mut pending);
            found.insert(name, schema.clone());
        }
    }
    found
}

/// The definition name of `group/version, Kind=kind`: k8s-openapi's, or
/// for kinds it lacks (custom resources) kube's reversed-domain name
/// (`com.example.v1.Widget`).
pub(super) fn definition_name(group: &str, version: &str, kind: &str) -> String {
    match kinds::find(group, version, kind) {
        Some(known) => (known.name)().into_owned(),
        None => {
            let mut labels: Vec<&str> = group.split('.').filter(|l| !l.is_empty()).collect();
            labels.reverse();
            labels.extend([version, kind]);
            labels.join(".")
        }
    }
}

/// A generator whose `$ref`s point where `format` keeps definitions.
fn generator(format: Format) -> SchemaGenerator {
    let settings = SchemaSettings::openapi3();
    match format {
        Format::V3 => settings.into_generator(),
        // Swagger 2.0 as kube-apiserver writes it keeps `description` beside
        // `$ref`, where OpenAPI 3 wraps the `$ref` in `allOf`.
        Format::V2 => settings
            .with(|s| {
                s.definitions_path = "/definitions".into();
                s.transforms.clear();
            })
            .into_generator(),
    }
}

fn collect_refs(value: &Value, format: Format, names: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                if key == "$ref" {
                    let name = value
                        .as_str()
                        .and_then(|r| r.strip_prefix(format.ref_prefix()));
                    names.extend(name.map(str::to_string));
                } else {
                    collect_refs(value, format, names);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_refs(item, format, names)),
        _ => {}
    }
}

/// Adds a resource's kind, its list and its subresources' kinds.
fn add_resource(generator: &mut SchemaGenerator, format: Format, r: &ResourceDef) {
    let name = match &r.custom {
        Some(custom) => add_custom_kind(generator, format, r, &custom.openapi_schema),
        None => add_kind(generator, r.group, r.version, r.kind),
    };
    if r.verbs.allows("list") {
        add_list(generator, format, &name, r);
    }
    for &sub in r.subresources {
        let response = subresource_kind(r, sub);
        let (group, version) = response.group_version.unwrap_or((r.group, r.version));
        add_kind(generator, group, version, response.kind);
    }
}

/// Adds one kind's definition (a permissive one for kinds k8s-openapi
/// lacks); returns its name.
fn add_kind(generator: &mut SchemaGenerator, group: &str, version: &str, kind: &str) -> String {
    if let Some(known) = kinds::find(group, version, kind) {
        (known.generate)(generator);
        return (known.name)().into_owned();
    }
    let name = definition_name(group, version, kind);
    if !generator.definitions().contains_key(&name) {
        let schema = json!({
            "type": "object",
            "properties": {
                "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
                "kind": {"description": KIND_DESCRIPTION, "type": "string"},
                "metadata": described_ref::<meta::ObjectMeta>(generator, OBJECT_META_DESCRIPTION),
            },
            "x-kubernetes-preserve-unknown-fields": true,
        });
        generator.definitions_mut().insert(name.clone(), schema);
    }
    name
}

/// Adds a custom resource's kind from its CRD schema, as kube publishes
/// it: `apiVersion`, `kind` and `metadata` described and typed like every
/// kind's; Swagger 2.0 without what it cannot say (`nullable`, unions).
fn add_custom_kind(
    generator: &mut SchemaGenerator,
    format: Format,
    r: &ResourceDef,
    schema: &Value,
) -> String {
    let name = definition_name(r.group, r.version, r.kind);
    let mut schema = match format {
        Format::V3 => schema.clone(),
        Format::V2 => swagger2(schema),
    };
    if !schema.is_object() {
        schema = json!({});
    }
    schema["type"] = json!("object");
    if !schema["properties"].is_object() {
        schema["properties"] = json!({});
    }
    let properties = &mut schema["properties"];
    properties["apiVersion"] = json!({"description": API_VERSION_DESCRIPTION, "type": "string"});
    properties["kind"] = json!({"description": KIND_DESCRIPTION, "type": "string"});
    properties["metadata"] = described_ref::<meta::ObjectMeta>(generator, OBJECT_META_DESCRIPTION);
    generator.definitions_mut().insert(name.clone(), schema);
    name
}

/// A CRD schema in Swagger 2.0's vocabulary: kube drops `nullable` and the
/// value-validation unions there.
fn swagger2(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| {
                    !matches!(
                        key.as_str(),
                        "nullable" | "anyOf" | "oneOf" | "allOf" | "not"
                    )
                })
                .map(|(key, value)| {
                    let value = match key.as_str() {
                        "properties" | "patternProperties" => Value::Object(
                            value
                                .as_object()
                                .map(|m| m.iter().map(|(k, v)| (k.clone(), swagger2(v))).collect())
                                .unwrap_or_default(),
                        ),
                        "items" | "additionalProperties" => swagger2(value),
                        _ => value.clone(),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Adds `<Kind>List`, which k8s-openapi models as a generic `List<T>`
/// without a schema.
fn add_list(generator: &mut SchemaGenerator, format: Format, item: &str, r: &ResourceDef) {
    let kind = r.kind;
    let schema = json!({
        "description": format!("{kind}List is a list of {kind}"),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", r.plural),
                "type": "array",
                "items": format.schema_ref(item),
            },
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            "metadata": described_ref::<meta::ListMeta>(generator, LIST_META_DESCRIPTION),
        },
    });
    generator
        .definitions_mut()
        .insert(format!("{item}List"), schema);
}

/// A `$ref` to `T` (added to the definitions) with a description beside it.
fn described_ref<T: JsonSchema>(generator: &mut SchemaGenerator, description: &str) -> Value {
    let mut schema = generator.subschema_for::<T>().to_value();
    schema["description"] = description.into();
    schema
}

/// kube-apiserver's shapes of `IntOrString` and `Quantity` (k8s-openapi
/// marks both with `x-kubernetes-int-or-string` only) and of the CRD
/// schema's untyped values: `JSON` (any value; k8s-openapi says object) and
/// the `JSONSchemaPropsOr…` unions (k8s-openapi's `oneOf`, which Swagger 2.0
/// lacks).
fn use_kube_scalar_shapes(definitions: &mut Map<String, Value>, format: Format) {
    let (int_or_string, quantity) = match format {
        Format::V2 => (
            json!({"type": "string", "format": "int-or-string"}),
            json!({"type": "string"}),
        ),
        Format::V3 => (
            json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}),
            json!({"oneOf": [{"type": "string"}, {"type": "number"}]}),
        ),
    };
    replace_keeping_description(definitions, &name_of::<IntOrString>(), int_or_string);
    replace_keeping_description(definitions, &name_of::<Quantity>(), quantity);
    let untyped = [
        name_of::<apiextensions::JSON>(),
        name_of::<apiextensions::JSONSchemaPropsOrArray>(),
        name_of::<apiextensions::JSONSchemaPropsOrBool>(),
        name_of::<apiextensions::JSONSchemaPropsOrStringArray>(),
    ];
    for name in untyped {
        replace_keeping_description(definitions, &name, json!({}));
    }
}

fn replace_keeping_description(definitions: &mut Map<String, Value>, name: &str, mut shape: Value) {
    if let Some(schema) = definitions.get_mut(name) {
        if let Some(description) = schema.get("description") {
            shape["description"] = description.clone();
        }
        *schema = shape;
    }
}

type Gvk = (String, String, String);

/// Sets `x-kubernetes-group-version-kind` on the definitions of served
/// kinds, their lists and subresource kinds, and the shared meta types;
/// kubectl finds a kind's schema by it.
fn annotate_group_version_kinds(definitions: &mut Map<String, Value>, resources: &[ResourceDef]) {
    for (name, gvks) in group_version_kinds(resources) {
        if let Some(Value::Object(schema)) = definitions.get_mut(&name) {
            let gvks: Vec<Value> = gvks
                .into_iter()
                .map(|(group, version, kind)| json!({"group": group, "kind": kind, "version": version}))
                .collect();
            schema.insert("x-kubernetes-group-version-kind".into(), gvks.into());
        }
    }
}

/// Definition name to the group-version-kinds it is served as, sorted.
fn group_version_kinds(resources: &[ResourceDef]) -> BTreeMap<String, BTreeSet<Gvk>> {
    let mut index: BTreeMap<String, BTreeSet<Gvk>> = BTreeMap::new();
    let mut add = |group: &str, version: &str, kind: &str, name: String| {
        let gvk = (group.to_string(), version.to_string(), kind.to_string());
        index.entry(name).or_default().insert(gvk);
    };
    let mut group_versions = BTreeSet::from([("", "v1")]);
    for r in resources {
        group_versions.insert((r.group, r.version));
        let name = definition_name(r.group, r.version, r.kind);
        if r.verbs.allows("list") {
            add(
                r.group,
                r.version,
                &format!("{}List", r.kind),
                format!("{name}List"),
            );
        }
        add(r.group, r.version, r.kind, name);
        for &sub in r.subresources {
            let response = subresource_kind(r, sub);
            let (group, version) = response.group_version.unwrap_or((r.group, r.version));
            add(
                group,
                version,
                response.kind,
                definition_name(group, version, response.kind),
            );
        }
    }
    for kind in CORE_META_KINDS {
        add("", "v1", kind, meta_name(kind));
    }
    for kind in SHARED_META_KINDS {
        for (group, version) in &group_versions {
            add(group, version, kind, meta_name(kind));
        }
    }
    index
}

fn meta_name(kind: &str) -> String {
    format!("io.k8s.apimachinery.pkg.apis.meta.v1.{kind}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{BUILTIN, find};

    fn pod_roots() -> Vec<&'static ResourceDef> {
        vec![find("", "v1", "pods").unwrap()]
    }

    #[test]
    fn v3_wraps_described_refs_in_all_of() {
        let definitions = generate(Format::V3, BUILTIN, pod_roots());
        let metadata = &definitions["io.k8s.api.core.v1.Pod"]["properties"]["metadata"];
        assert_eq!(
            metadata["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert!(metadata["description"].is_string());
        let list = &definitions["io.k8s.api.core.v1.PodList"];
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.Pod"
        );
        assert_eq!(
            list["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "PodList", "version": "v1"}])
        );
    }

    #[test]
    fn v2_keeps_ref_siblings_and_kube_scalars() {
        let definitions = generate(Format::V2, BUILTIN, pod_roots());
        let metadata = &definitions["io.k8s.api.core.v1.Pod"]["properties"]["metadata"];
        assert_eq!(
            metadata["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        let int_or_string = &definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert_eq!(int_or_string["format"], "int-or-string");
        assert!(int_or_string["description"].is_string());
        assert!(int_or_string.get("x-kubernetes-int-or-string").is_none());
    }

    #[test]
    fn shared_meta_types_list_every_group_version() {
        let definitions = generate(Format::V2, BUILTIN, pod_roots());
        let gvks = definitions["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
            ["x-kubernetes-group-version-kind"]
            .as_array()
            .unwrap();
        assert_eq!(
            gvks[0],
            json!({"group": "", "kind": "DeleteOptions", "version": "v1"})
        );
        assert!(gvks.contains(&json!({"group": "apps", "kind": "DeleteOptions", "version": "v1"})));
        assert!(
            gvks.contains(
                &json!({"group": "autoscaling", "kind": "DeleteOptions", "version": "v2"})
            )
        );
    }

    #[test]
    fn custom_kinds_get_permissive_schemas() {
        let widget = ResourceDef {
            group: "example.com",
            kind: "Widget",
            plural: "widgets",
            singular: "widget",
            ..find("", "v1", "configmaps").unwrap().clone()
        };
        assert_eq!(
            definition_name("example.com", "v1", "Widget"),
            "com.example.v1.Widget"
        );
        let resources = [widget];
        let definitions = generate(Format::V3, &resources, resources.iter());
        let schema = &definitions["com.example.v1.Widget"];
        assert_eq!(schema["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(
            schema["x-kubernetes-group-version-kind"],
            json!([{"group": "example.com", "kind": "Widget", "version": "v1"}])
        );
        assert!(definitions.contains_key("com.example.v1.WidgetList"));
    }

    #[test]
    fn referenced_follows_refs_transitively() {
        let definitions = generate(Format::V3, BUILTIN, pod_roots());
        let document = Format::V3.schema_ref("io.k8s.api.core.v1.Pod");
        let found = referenced(&definitions, &document, Format::V3);
        assert!(found.contains_key("io.k8s.api.core.v1.Container"));
        assert!(found.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        assert!(!found.contains_key("io.k8s.api.core.v1.PodList"));
    }
}
