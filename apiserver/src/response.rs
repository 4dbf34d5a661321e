//! HTTP responses: the body type every handler returns, JSON and Status
//! bodies, and gzip for large answers (as kube-apiserver compresses
//! responses over 128 KiB for clients that accept it).

use std::io::Write;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::error::ApiError;

/// The body of every response: whole or streamed (watches).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Responses larger than this are gzipped for clients that accept it.
const GZIP_ABOVE: usize = 128 * 1024;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A response with `content_type` and `bytes`.
pub fn bytes(status: StatusCode, content_type: &str, bytes: impl Into<Bytes>) -> Response<Body> {
    with_body(status, content_type, full(bytes))
}

/// A response with `content_type` and any body (whole or streamed).
pub fn with_body(status: StatusCode, content_type: &str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    response
}

/// A JSON response.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    bytes(status, "application/json", body)
}

/// A JSON response of a value.
pub fn value(status: StatusCode, value: &Value) -> Response<Body> {
    json(status, serde_json::to_vec(value).unwrap_or_default())
}

/// The error as its `metav1.Status`.
pub fn error(err: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = value(status, &err.status());
    if let ApiError::Unauthorized = err {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kubernetes-api\""),
        );
    }
    response
}

/// A response of `body`, gzipped when it is large and the client accepts gzip.
pub fn encoded(
    accept_encoding: Option<&str>,
    status: StatusCode,
    content_type: &str,
    body: Bytes,
) -> Response<Body> {
    let wants = accept_encoding.is_some_and(|a| a.split(',').any(|e| e.trim().starts_with("gzip")));
    if !wants || body.len() <= GZIP_ABOVE {
        return bytes(status, content_type, body);
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    let compressed = match encoder.write_all(&body).and_then(|()| encoder.finish()) {
        Ok(compressed) => compressed,
        Err(_) => return bytes(status, content_type, body),
    };
    let mut response = bytes(status, content_type, compressed);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}
