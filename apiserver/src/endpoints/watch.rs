//! The watch endpoint: a chunked stream of `{"type":…,"object":…}` lines,
//! one per event, bookmark or terminal error.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::json;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::{Call, list_options, output};
use crate::error::ApiError;
use crate::negotiation::Output;
use crate::registry::{WatchItem, WatchOptions};
use crate::resources::ResourceDef;
use crate::response::Body;
use crate::watchcache::CachedObject;

/// Serves a watch request.
pub async fn serve(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let filter = list_options(call)?;
    let timeout = match call.query.get("timeoutSeconds") {
        Some(v) => Some(Duration::from_secs(v.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(format!("invalid timeoutSeconds: {v:?}"))
        })?)),
        None => None,
    };
    let options = WatchOptions {
        filter,
        allow_bookmarks: call.query.flag("allowWatchBookmarks"),
        send_initial_events: call.query.flag("sendInitialEvents"),
        timeout,
        bookmark_interval: call.api.bookmark_interval,
    };
    let items = call
        .api
        .registry
        .watch(call.resource, call.namespace(), options)
        .await?;
    let encoder = Encoder {
        resource: call.resource,
        output: call.output,
        sent_columns: false,
        table_call: TableCall::of(call),
    };
    let mut encoder = encoder;
    let frames = ReceiverStream::new(items)
        .map(move |item| Ok::<_, std::io::Error>(Frame::data(encoder.encode(&item))));
    let body: Body = StreamBody::new(frames).boxed();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    let content_type = match call.output {
        Output::Table => "application/json;as=Table;v=v1;g=meta.k8s.io",
        _ => "application/json",
    };
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, private"),
    );
    Ok(response)
}

/// What a Table watch needs to print rows after the request is gone.
struct TableCall {
    include: String,
}

impl TableCall {
    fn of(call: &Call<'_>) -> Self {
        Self {
            include: call
                .query
                .get("includeObject")
                .unwrap_or("Metadata")
                .to_string(),
        }
    }
}

struct Encoder {
    resource: &'static ResourceDef,
    output: Output,
    sent_columns: bool,
    table_call: TableCall,
}

impl Encoder {
    fn encode(&mut self, item: &WatchItem) -> Bytes {
        match item {
            WatchItem::Event { kind, object } => self.event(kind.name(), object),
            WatchItem::Bookmark {
                revision,
                initial_events_end,
            } => {
                let mut metadata =
                    json!({"resourceVersion": revision.to_string(), "creationTimestamp": null});
                if *initial_events_end {
                    metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
                }
                let object = json!({
                    "kind": self.resource.kind,
                    "apiVersion": self.resource.api_version(),
                    "metadata": metadata,
                });
                line(&json!({"type": "BOOKMARK", "object": object}))
            }
            WatchItem::Error(error) => line(&json!({"type": "ERROR", "object": error.status()})),
        }
    }

    fn event(&mut self, kind: &str, object: &CachedObject) -> Bytes {
        if crate::conversion::needed(self.resource) {
            let mut value = crate::conversion::from_storage(self.resource, object.value());
            let raw = crate::encoding::to_stored(&mut value);
            let converted = CachedObject::from_store(object.key.clone(), raw, object.revision);
            return self.encode_event(kind, &converted);
        }
        self.encode_event(kind, object)
    }

    fn encode_event(&mut self, kind: &str, object: &CachedObject) -> Bytes {
        match self.output {
            Output::Json => {
                let json = object.json();
                let mut out = BytesMut::with_capacity(json.len() + 32);
                out.put_slice(b"{\"type\":\"");
                out.put_slice(kind.as_bytes());
                out.put_slice(b"\",\"object\":");
                out.put_slice(json);
                out.put_slice(b"}\n");
                out.freeze()
            }
            Output::Table => {
                let value = &object.value();
                let now = jiff::Timestamp::now();
                let mut row = json!({"cells": crate::table::cells(self.resource, value, now)});
                match self.table_call.include.as_str() {
                    "None" => {}
                    "Object" => row["object"] = value.clone(),
                    _ => row["object"] = output::partial_metadata(value),
                }
                let columns: Vec<serde_json::Value> = if self.sent_columns {
                    Vec::new()
                } else {
                    crate::table::columns(self.resource)
                        .into_iter()
                        .map(|c| json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}))
                        .collect()
                };
                self.sent_columns = true;
                let table = json!({
                    "kind": "Table",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": value["metadata"]["resourceVersion"].clone()},
                    "columnDefinitions": columns,
                    "rows": [row],
                });
                line(&json!({"type": kind, "object": table}))
            }
            Output::Metadata => {
                line(&json!({"type": kind, "object": output::partial_metadata(&object.value())}))
            }
            Output::Yaml => line(&json!({"type": kind, "object": object.value()})),
        }
    }
}

fn line(value: &serde_json::Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}
