//! The watch endpoint: a chunked stream of `{"type":…,"object":…}` lines,
//! one per event, bookmark or terminal error.

use std::sync::Arc;
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
use crate::response::{self, Body};
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
        .watch(&call.resource, call.namespace(), options)
        .await?;
    let mut encoder = Encoder {
        resource: call.resource.clone(),
        output: call.output,
        sent_columns: false,
        include: output::include_object(call).to_string(),
    };
    let frames = ReceiverStream::new(items)
        .map(move |item| Ok::<_, std::io::Error>(Frame::data(encoder.encode(&item))));
    let content_type = match call.output {
        Output::Table => "application/json;as=Table;v=v1;g=meta.k8s.io",
        _ => "application/json",
    };
    let response = response::with_body(
        StatusCode::OK,
        content_type,
        StreamBody::new(frames).boxed(),
    );
    Ok(response)
}

/// Turns watch items into lines of the negotiated representation; it
/// outlives the request, so it keeps what it needs of it.
struct Encoder {
    resource: ResourceDef,
    output: Output,
    /// Tables carry column definitions in the first event only.
    sent_columns: bool,
    /// The request's `includeObject`.
    include: String,
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

    fn event(&mut self, kind: &str, object: &Arc<CachedObject>) -> Bytes {
        let object = output::presented(&self.resource, object);
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
                let value = object.value();
                let metadata = json!({"resourceVersion": value["metadata"]["resourceVersion"]});
                let table = output::table_of(
                    &self.resource,
                    &self.include,
                    std::iter::once(&value),
                    metadata,
                    !self.sent_columns,
                );
                self.sent_columns = true;
                line(&json!({"type": kind, "object": table}))
            }
            Output::Metadata => line(
                &json!({"type": kind, "object": output::partial_metadata(&object.metadata_only())}),
            ),
            Output::Yaml => line(&json!({"type": kind, "object": object.value()})),
        }
    }
}

fn line(value: &serde_json::Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}
