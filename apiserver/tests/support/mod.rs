//! The in-process API server the handler tests drive: a real embedded
//! store in a temporary directory, the whole request path, and the CRD
//! controller.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use mars_apiserver::auth::UserInfo;
use mars_apiserver::auth::authn::Authenticator;
use mars_apiserver::catalog::Catalog;
use mars_apiserver::handler::{self, Api, Incoming};
use mars_apiserver::registry::{Registry, RegistryConfig};
use mars_apiserver::resources::BUILTIN;
use mars_store::{Embedded, EmbeddedConfig, Store};
use serde_json::{Value, json};

pub const ADMIN: &str = "admin-token";
pub const VIEWER: &str = "viewer-token";

pub struct Harness {
    pub api: Arc<Api>,
    pub store: Embedded,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl Harness {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(EmbeddedConfig::new(dir.path().join("data")))
            .await
            .unwrap();
        let harness = Self {
            api: Self::api(&store).await,
            store,
            _dir: dir,
        };
        for ns in ["default", "team"] {
            let r = harness
                .send(
                    Method::POST,
                    "/api/v1/namespaces",
                    Some(json!({"metadata": {"name": ns}})),
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::CREATED,
                "{}",
                String::from_utf8_lossy(&r.body)
            );
        }
        harness
    }

    /// A fresh API server over the same store, as after a restart: its
    /// caches start at the store's current revision.
    pub async fn restart(&mut self) {
        self.api = Self::api(&self.store).await;
    }

    pub async fn api(store: &Embedded) -> Arc<Api> {
        let shared: Arc<dyn Store> = Arc::new(store.clone());
        let registry = Registry::start(shared, BUILTIN, &RegistryConfig::default())
            .await
            .unwrap();
        let admin = UserInfo {
            username: "mars-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            ..UserInfo::default()
        };
        let viewer = UserInfo {
            username: "mars-viewer".into(),
            groups: vec!["mars:viewers".into(), "system:authenticated".into()],
            ..UserInfo::default()
        };
        let tokens = HashMap::from([(ADMIN.to_string(), admin), (VIEWER.to_string(), viewer)]);
        let catalog = Arc::new(Catalog::new(BUILTIN));
        tokio::spawn(mars_apiserver::crd::controller::run(
            Arc::clone(&registry),
            Arc::clone(&catalog),
        ));
        let mut api = Api::new(registry, Authenticator::new(tokens), catalog);
        api.bookmark_interval = Duration::from_millis(200);
        Arc::new(api)
    }

    pub async fn request(&self, request: Request<Full<Bytes>>) -> Reply {
        let response = handler::handle(
            Arc::clone(&self.api),
            Incoming {
                request,
                client_cert: None,
            },
        )
        .await;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub fn builder(method: Method, path: &str, token: Option<&str>) -> http::request::Builder {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let content_type = if method == Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let request = Self::builder(method, path, Some(ADMIN))
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.request(request).await
    }

    /// Sends and asserts the reply's status.
    pub async fn send_expecting(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Reply {
        let reply = self.send(method, path, body).await;
        assert_eq!(
            reply.status,
            status,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply
    }

    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Reply {
        let request = Self::builder(method, path, Some(ADMIN))
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        self.request(request).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn accept(&self, path: &str, accept: &str) -> Reply {
        let request = Self::builder(Method::GET, path, Some(ADMIN))
            .header("accept", accept)
            .body(Full::new(Bytes::new()))
            .unwrap();
        self.request(request).await
    }

    pub async fn create_cm(&self, ns: &str, name: &str, labels: Value) -> Value {
        let r = self
            .send(
                Method::POST,
                &format!("/api/v1/namespaces/{ns}/configmaps"),
                Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }
}

pub fn assert_status(reply: &Reply, code: u16, reason: &str) -> Value {
    let body = reply.json();
    assert_eq!(reply.status.as_u16(), code, "{body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["code"], code, "{body}");
    body
}
