//! Objects and lists in the representation the client negotiated. Plain
//! JSON is assembled from the cached bytes without decoding; Tables,
//! metadata-only and YAML decode once.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use super::Call;
use crate::conversion;
use crate::negotiation::Output;
use crate::registry::ListResult;
use crate::resources::ResourceDef;
use crate::response::{self, Body};
use crate::table;
use crate::watchcache::CachedObject;

/// One stored object in the negotiated representation.
pub fn object(call: &Call<'_>, status: StatusCode, object: &Arc<CachedObject>) -> Response<Body> {
    let object = presented(&call.resource, object);
    match call.output {
        Output::Json => response::encoded(
            call.accept_encoding.as_deref(),
            status,
            "application/json",
            object.json().clone(),
        ),
        _ => value(call, status, &object.value()),
    }
}

/// A stored object as `resource` presents it: itself, or converted from
/// the version it is stored in.
pub fn presented(resource: &ResourceDef, object: &Arc<CachedObject>) -> Arc<CachedObject> {
    if !conversion::needed(resource) {
        return Arc::clone(object);
    }
    let mut value = conversion::from_storage(resource, object.value());
    let raw = crate::encoding::to_stored(&mut value);
    Arc::new(CachedObject::from_store(
        object.key.clone(),
        raw,
        object.revision,
    ))
}

/// A value (a written object, a Scale, a Status) in the negotiated representation.
pub fn value(call: &Call<'_>, status: StatusCode, obj: &Value) -> Response<Body> {
    let rendered = match call.output {
        Output::Yaml => {
            let yaml = serde_yaml::to_string(obj).unwrap_or_default();
            return response::bytes(status, "application/yaml", yaml);
        }
        Output::Table if is_kind(obj, &call.resource) => {
            let rv = obj["metadata"]["resourceVersion"].clone();
            Cow::Owned(table_of(
                &call.resource,
                include_object(call),
                std::iter::once(obj),
                json!({"resourceVersion": rv}),
                true,
            ))
        }
        Output::Metadata if is_kind(obj, &call.resource) => Cow::Owned(partial_metadata(obj)),
        // A Status or Scale is sent as it is.
        Output::Json | Output::Table | Output::Metadata => Cow::Borrowed(obj),
    };
    let body = Bytes::from(serde_json::to_vec(rendered.as_ref()).unwrap_or_default());
    response::encoded(
        call.accept_encoding.as_deref(),
        status,
        "application/json",
        body,
    )
}

fn is_kind(obj: &Value, resource: &ResourceDef) -> bool {
    obj["kind"] == resource.kind
}

/// A list in the negotiated representation.
pub fn list(call: &Call<'_>, result: &ListResult) -> Response<Body> {
    if conversion::needed(&call.resource) {
        let result = ListResult {
            items: result
                .items
                .iter()
                .map(|o| presented(&call.resource, o))
                .collect(),
            revision: result.revision,
            continue_token: result.continue_token.clone(),
            remaining: result.remaining,
        };
        return list_of(call, &result);
    }
    list_of(call, result)
}

fn list_of(call: &Call<'_>, result: &ListResult) -> Response<Body> {
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(result.revision.to_string()));
    if let Some(token) = &result.continue_token {
        metadata.insert("continue".into(), json!(token));
    }
    if let Some(remaining) = result.remaining.filter(|r| *r > 0) {
        metadata.insert("remainingItemCount".into(), json!(remaining));
    }
    let metadata = Value::Object(metadata);
    let body = match call.output {
        Output::Json => json_list(&call.resource, &metadata, &result.items),
        Output::Yaml => {
            let items: Vec<Value> = result.items.iter().map(|o| o.value()).collect();
            let list = json!({
                "apiVersion": call.resource.api_version(),
                "kind": format!("{}List", call.resource.kind),
                "metadata": metadata,
                "items": items,
            });
            let yaml = serde_yaml::to_string(&list).unwrap_or_default();
            return response::bytes(StatusCode::OK, "application/yaml", yaml);
        }
        Output::Table => {
            let values: Vec<Value> = result.items.iter().map(|o| o.value()).collect();
            let table = table_of(
                &call.resource,
                include_object(call),
                values.iter(),
                metadata,
                true,
            );
            Bytes::from(serde_json::to_vec(&table).unwrap_or_default())
        }
        Output::Metadata => {
            let items: Vec<Value> = result
                .items
                .iter()
                .map(|o| partial_metadata(&o.metadata_only()))
                .collect();
            let list = json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
                "items": items,
            });
            Bytes::from(serde_json::to_vec(&list).unwrap_or_default())
        }
    };
    response::encoded(
        call.accept_encoding.as_deref(),
        StatusCode::OK,
        "application/json",
        body,
    )
}

/// `{"kind":"<Kind>List",...,"items":[<cached JSON>...]}` without decoding.
fn json_list(resource: &ResourceDef, metadata: &Value, items: &[Arc<CachedObject>]) -> Bytes {
    let size: usize = items.iter().map(|o| o.raw.len() + 32).sum();
    let mut out = BytesMut::with_capacity(size + 256);
    out.put_slice(b"{\"kind\":");
    out.put_slice(
        json!(format!("{}List", resource.kind))
            .to_string()
            .as_bytes(),
    );
    out.put_slice(b",\"apiVersion\":");
    out.put_slice(json!(resource.api_version()).to_string().as_bytes());
    out.put_slice(b",\"metadata\":");
    out.put_slice(metadata.to_string().as_bytes());
    out.put_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(item.json());
    }
    out.put_slice(b"]}");
    out.freeze()
}

/// `PartialObjectMetadata` of an object.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"].clone(),
    })
}

/// A `meta.k8s.io/v1` Table of `objects`; `include` is the request's
/// `includeObject` (`None`, `Object`, or metadata by default), and
/// `with_columns` false leaves out the column definitions (watch events
/// after the first).
pub fn table_of<'a>(
    resource: &ResourceDef,
    include: &str,
    objects: impl Iterator<Item = &'a Value>,
    metadata: Value,
    with_columns: bool,
) -> Value {
    let now = jiff::Timestamp::now();
    let rows: Vec<Value> = objects
        .map(|obj| {
            let mut row = json!({"cells": table::cells(resource, obj, now)});
            match include {
                "None" => {}
                "Object" => row["object"] = obj.clone(),
                _ => row["object"] = partial_metadata(obj),
            }
            row
        })
        .collect();
    let columns: Vec<Value> = if with_columns {
        table::columns(resource)
            .into_iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.type_,
                    "format": c.format,
                    "description": c.description,
                    "priority": c.priority,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// The request's `includeObject` for Table rows.
pub fn include_object<'a>(call: &'a Call<'_>) -> &'a str {
    call.query.get("includeObject").unwrap_or("Metadata")
}
