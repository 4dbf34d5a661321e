//! Hand-written schema fragments for fields whose Rust type would otherwise
//! produce a schema that is too large or not structural.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An embedded Kubernetes object kept opaque in the CRD (validated by the
/// controller that expands it), so the CRD stays small: the full
/// PodTemplateSpec schema alone is several hundred kilobytes.
pub(crate) fn preserved_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Site name → replica count, each count 0..=10000, at most 64 sites.
pub(crate) fn replicas_per_site(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": 64,
        "additionalProperties": {
            "type": "integer",
            "format": "int32",
            "minimum": 0,
            "maximum": 10000,
        },
    })
}

/// String → string map (labels, annotations, parameters), bounded so CEL
/// cost estimates stay low.
pub(crate) fn string_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": 64,
        "additionalProperties": {
            "type": "string",
            "maxLength": 1024,
        },
    })
}
