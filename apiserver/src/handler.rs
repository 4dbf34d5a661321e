//! The request path, top to bottom: panic recovery → request info →
//! authentication → impersonation → authorization → the endpoint (k8s.io/apiserver's
//! filter chain). Non-resource endpoints (health, version, discovery,
//! OpenAPI) are answered here; resource requests go to [`crate::endpoints`].

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http::{HeaderValue, Request, Response, StatusCode, header};
use serde_json::Value;

use crate::auth::UserInfo;
use crate::auth::authn::{self, Authenticator, Credential};
use crate::auth::authz::{self, Attributes};
use crate::catalog::{Catalog, Served};
use crate::error::ApiError;
use crate::registry::Registry;
use crate::request::{self, Query, Target};
use crate::response::{self, Body};
use crate::{discovery, endpoints, openapi};

/// Everything a request handler needs, shared by all connections.
pub struct Api {
    pub registry: Arc<Registry>,
    pub authenticator: Authenticator,
    /// What is served right now (built-ins and established CRDs).
    pub catalog: Arc<Catalog>,
    /// How often idle watches with bookmarks get one.
    pub bookmark_interval: Duration,
    /// The largest request body accepted (kube-apiserver: 3 MiB).
    pub max_body_bytes: usize,
    /// `host:port` clients reach the server at (legacy discovery reports it).
    pub server_address: String,
    openapi: OpenApiCache,
}

/// The OpenAPI documents of one state of the served set, built on first
/// use and kept until the set changes.
#[derive(Default)]
struct OpenApiDocuments {
    v2_json: OnceLock<Bytes>,
    v2_protobuf: OnceLock<Bytes>,
    v3_index: OnceLock<Bytes>,
    v3: parking_lot::Mutex<std::collections::HashMap<String, Option<Bytes>>>,
}

/// The documents and the catalog generation they describe.
#[derive(Default)]
struct OpenApiCache {
    current: parking_lot::Mutex<(u64, Arc<OpenApiDocuments>)>,
}

impl OpenApiCache {
    /// The documents of `served`, fresh if the set changed since.
    fn of(&self, served: &Served) -> Arc<OpenApiDocuments> {
        let mut current = self.current.lock();
        if current.0 != served.generation {
            *current = (served.generation, Arc::default());
        }
        Arc::clone(&current.1)
    }
}

impl Api {
    pub fn new(
        registry: Arc<Registry>,
        authenticator: Authenticator,
        catalog: Arc<Catalog>,
    ) -> Self {
        Self {
            registry,
            authenticator,
            catalog,
            bookmark_interval: Duration::from_secs(60),
            max_body_bytes: 3 * 1024 * 1024,
            server_address: String::new(),
            openapi: OpenApiCache::default(),
        }
    }
}

/// A request with what the TLS layer learnt about its client.
pub struct Incoming<B> {
    pub request: Request<B>,
    /// The verified client certificate (DER), if one was presented.
    pub client_cert: Option<Bytes>,
}

/// Serves one request.
pub async fn handle<B>(api: Arc<Api>, incoming: Incoming<B>) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = std::time::Instant::now();
    let method = incoming.request.method().clone();
    let path = incoming.request.uri().path().to_string();
    // Panic recovery: a bug answers 500 and is logged; the server lives on.
    let served = std::panic::AssertUnwindSafe(serve(&api, incoming))
        .catch_unwind()
        .await;
    let response = match served {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => response::error(&err),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%method, %path, panic = %what, "request handler panicked");
            response::error(&ApiError::Internal(format!(
                "an internal error occurred while serving {method} {path}"
            )))
        }
    };
    tracing::debug!(%method, %path, status = response.status().as_u16(), elapsed = ?started.elapsed(), "request");
    response
}

async fn serve<B>(api: &Arc<Api>, incoming: Incoming<B>) -> Result<Response<Body>, ApiError>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Incoming {
        request,
        client_cert,
    } = incoming;
    let query = Query::parse(request.uri().query());
    let target = request::parse(request.method(), request.uri().path(), &query);

    let user = match api
        .authenticator
        .authenticate(client_cert.as_deref(), request.headers())?
    {
        None => UserInfo::anonymous(),
        Some(Credential::User(user)) => user,
        Some(Credential::ServiceAccount(claims)) => {
            endpoints::service_account_token::holder(api, &claims).await?
        }
    };
    let user = authn::impersonate(user, request.headers())?;
    let attributes = attributes(&target, request.method());
    if !authz::allowed(&user, &attributes) {
        return Err(authz::forbidden(&user, &attributes));
    }

    match target {
        Target::NonResource { path } => non_resource(api, &path, &query, request.headers()),
        Target::Resource(resource) => endpoints::serve(api, &user, resource, query, request).await,
    }
}

fn attributes(target: &Target, method: &http::Method) -> Attributes {
    match target {
        Target::NonResource { path } => Attributes {
            verb: method.as_str().to_ascii_lowercase(),
            path: path.clone(),
            ..Attributes::default()
        },
        Target::Resource(r) => Attributes {
            verb: r.verb.name().to_string(),
            resource_request: true,
            group: r.group.clone(),
            resource: r.resource.clone(),
            subresource: r.subresource.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
            path: String::new(),
        },
    }
}

const HEALTH_CHECKS: &[&str] = &["ping", "log", "etcd", "informer-sync", "shutdown"];

fn non_resource(
    api: &Arc<Api>,
    path: &str,
    query: &Query,
    headers: &http::HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let path = path.trim_end_matches('/');
    let served = api.catalog.snapshot();
    let resources = served.resources.as_slice();
    match path {
        "/healthz" | "/livez" | "/readyz" => {
            let body = if query.has("verbose") {
                let name = &path[1..];
                let mut text = String::new();
                for check in HEALTH_CHECKS {
                    text.push_str(&format!("[+]{check} ok\n"));
                }
                text.push_str(&format!("{name} check passed\n"));
                text
            } else {
                "ok".to_string()
            };
            let mut response = response::bytes(StatusCode::OK, "text/plain; charset=utf-8", body);
            response.headers_mut().insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            Ok(response)
        }
        p if ["/healthz/", "/livez/", "/readyz/"]
            .iter()
            .any(|h| p.starts_with(h)) =>
        {
            let check = p.rsplit('/').next().unwrap_or_default();
            if HEALTH_CHECKS.contains(&check) {
                Ok(response::bytes(
                    StatusCode::OK,
                    "text/plain; charset=utf-8",
                    "ok",
                ))
            } else {
                Err(ApiError::NoRoute)
            }
        }
        "/version" => Ok(response::value(StatusCode::OK, &discovery::version_info())),
        "/api" | "/apis" => {
            let legacy = path == "/api";
            if wants_aggregated(accept) {
                let doc = discovery::aggregated(resources, legacy);
                let mut response = response::value(StatusCode::OK, &doc);
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                    ),
                );
                response
                    .headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Accept"));
                Ok(response)
            } else if legacy {
                Ok(response::value(
                    StatusCode::OK,
                    &discovery::api_versions(&api.server_address),
                ))
            } else {
                Ok(response::value(
                    StatusCode::OK,
                    &discovery::api_groups(resources),
                ))
            }
        }
        "/api/v1" => discovery::resource_list(resources, "", "v1")
            .map(|doc| response::value(StatusCode::OK, &doc))
            .ok_or(ApiError::NoRoute),
        "/openapi/v2" => {
            let encoding = headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok());
            let docs = api.openapi.of(&served);
            let json = || {
                docs.v2_json
                    .get_or_init(|| to_bytes(&openapi::v2(resources)))
                    .clone()
            };
            // kubectl 1.27/1.28 ask for the protobuf form only.
            if accept.is_some_and(|a| a.contains(openapi::V2_PROTOBUF_MEDIA_TYPE)) {
                let proto = docs
                    .v2_protobuf
                    .get_or_init(|| Bytes::from(openapi::v2_protobuf(&openapi::v2(resources))));
                return Ok(response::encoded(
                    encoding,
                    StatusCode::OK,
                    openapi::V2_PROTOBUF_CONTENT_TYPE,
                    proto.clone(),
                ));
            }
            if !accept.is_none_or(|a| a.contains("json") || a.contains("*/*")) {
                return Err(ApiError::NotAcceptable(
                    "406: Not Acceptable\n\nAvailable representations: application/json, application/com.github.proto-openapi.spec.v2.v1.0+protobuf".into(),
                ));
            }
            Ok(response::encoded(
                encoding,
                StatusCode::OK,
                "application/json",
                json(),
            ))
        }
        "/openapi/v3" => {
            let docs = api.openapi.of(&served);
            let index = docs
                .v3_index
                .get_or_init(|| to_bytes(&openapi::v3_index(resources)));
            Ok(response::json(StatusCode::OK, index.clone()))
        }
        p if p.starts_with("/openapi/v3/") => {
            let path = &p["/openapi/v3/".len()..];
            let docs = api.openapi.of(&served);
            let doc = docs
                .v3
                .lock()
                .entry(path.to_string())
                .or_insert_with(|| openapi::v3(resources, path).map(|d| to_bytes(&d)))
                .clone()
                .ok_or(ApiError::NoRoute)?;
            let encoding = headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok());
            Ok(response::encoded(
                encoding,
                StatusCode::OK,
                "application/json",
                doc,
            ))
        }
        p if p.starts_with("/apis/") => {
            let rest: Vec<&str> = p["/apis/".len()..].split('/').collect();
            let doc: Option<Value> = match rest.as_slice() {
                [group] => discovery::api_group(resources, group),
                [group, version] => discovery::resource_list(resources, group, version),
                _ => None,
            };
            doc.map(|d| response::value(StatusCode::OK, &d))
                .ok_or(ApiError::NoRoute)
        }
        _ => Ok(response::bytes(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "404 page not found\n",
        )),
    }
}

fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// Whether the client asked for aggregated discovery (kubectl ≥ 1.26 does).
fn wants_aggregated(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|range| {
            range.contains("as=APIGroupDiscoveryList")
                && range.contains("g=apidiscovery.k8s.io")
                && (range.contains("v=v2;") || range.ends_with("v=v2") || range.contains("v=v2,"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_discovery_is_negotiated() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(Some(kubectl)));
        assert!(!wants_aggregated(Some("application/json")));
        assert!(!wants_aggregated(Some(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
        )));
    }
}
