//! Request info: what an HTTP request asks for, in Kubernetes terms (verb,
//! group, version, resource, namespace, name, subresource), parsed from the
//! method, path and query the way k8s.io/apiserver's `RequestInfoFactory` does.

use std::collections::HashMap;

/// A parsed request target.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Anything outside `/api` and `/apis/<group>/<version>/…`: health,
    /// version, discovery roots, OpenAPI.
    NonResource { path: String },
    /// An API resource request.
    Resource(ResourceTarget),
}

/// The Kubernetes verb of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// The verb's name in discovery and RBAC.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// `/api/v1/namespaces/ns/pods/name/status`, taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceTarget {
    pub verb: Verb,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// The query string, decoded (later duplicates win, as Go's `Get` takes the first; we keep the first).
#[derive(Debug, Clone, Default)]
pub struct Query {
    params: HashMap<String, String>,
}

impl Query {
    /// Decodes `a=b&c=d` (percent- and plus-decoding).
    pub fn parse(query: Option<&str>) -> Self {
        let mut params = HashMap::new();
        if let Some(q) = query {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                params
                    .entry(k.into_owned())
                    .or_insert_with(|| v.into_owned());
            }
        }
        Self { params }
    }

    /// The parameter's value, if present and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether the parameter is present at all (even empty).
    pub fn has(&self, key: &str) -> bool {
        self.params.contains_key(key)
    }

    /// A boolean parameter, spelt any way Go's `strconv.ParseBool` reads
    /// as true (`true`, `True`, `TRUE`, `t`, `T`, `1`: the Python client
    /// sends `True`); absent or anything else is false.
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key),
            Some("1" | "t" | "T" | "true" | "True" | "TRUE")
        )
    }
}

/// Parses a request's method and path. `query` decides list vs. watch.
pub fn parse(method: &http::Method, path: &str, query: &Query) -> Target {
    let trimmed = path.trim_matches('/');
    let parts: Vec<&str> = trimmed.split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ => {
            return Target::NonResource {
                path: path.to_string(),
            };
        }
    };
    let mut rest: Vec<&str> = rest.to_vec();
    let mut legacy_watch = false;
    if rest.first() == Some(&"watch") {
        legacy_watch = true;
        rest.remove(0);
    }
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        namespace = Some(rest[1].to_string());
        // `/namespaces/<ns>/<resource>…` is namespaced; `/namespaces/<name>`
        // and its `status`/`finalize` address the namespace itself.
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest.drain(..2);
        }
    }
    let resource = rest.first().copied().unwrap_or_default().to_string();
    let name = rest.get(1).map(|s| s.to_string());
    let subresource = rest.get(2).map(|s| s.to_string());
    if resource == "namespaces" {
        namespace = None;
    }
    let verb = match *method {
        http::Method::GET | http::Method::HEAD => {
            if legacy_watch || query.flag("watch") {
                Verb::Watch
            } else if name.is_some() {
                Verb::Get
            } else {
                Verb::List
            }
        }
        http::Method::POST => Verb::Create,
        http::Method::PUT => Verb::Update,
        http::Method::PATCH => Verb::Patch,
        http::Method::DELETE if name.is_some() => Verb::Delete,
        http::Method::DELETE => Verb::DeleteCollection,
        _ => Verb::Get,
    };
    Target::Resource(ResourceTarget {
        verb,
        group: group.to_string(),
        version: version.to_string(),
        resource,
        namespace,
        name,
        subresource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: http::Method, path: &str, query: &str) -> ResourceTarget {
        match parse(&method, path, &Query::parse(Some(query))) {
            Target::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_object_with_subresource() {
        let r = resource(
            http::Method::PUT,
            "/api/v1/namespaces/default/pods/p1/status",
            "",
        );
        assert_eq!(r.verb, Verb::Update);
        assert_eq!((r.group.as_str(), r.version.as_str()), ("", "v1"));
        assert_eq!(r.resource, "pods");
        assert_eq!(r.namespace.as_deref(), Some("default"));
        assert_eq!(r.name.as_deref(), Some("p1"));
        assert_eq!(r.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn namespaces_themselves() {
        let r = resource(http::Method::GET, "/api/v1/namespaces/kube-system", "");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref()),
            ("namespaces", Some("kube-system"))
        );
        assert_eq!(r.namespace, None);
        let r = resource(http::Method::PUT, "/api/v1/namespaces/x/finalize", "");
        assert_eq!(r.subresource.as_deref(), Some("finalize"));
        let r = resource(http::Method::GET, "/api/v1/namespaces", "");
        assert_eq!((r.verb, r.resource.as_str()), (Verb::List, "namespaces"));
    }

    #[test]
    fn list_watch_and_collections() {
        let r = resource(http::Method::GET, "/apis/apps/v1/deployments", "watch=true");
        assert_eq!((r.verb, r.group.as_str()), (Verb::Watch, "apps"));
        let r = resource(http::Method::GET, "/api/v1/configmaps", "watch=True");
        assert_eq!(r.verb, Verb::Watch, "the Python client's spelling");
        let r = resource(http::Method::GET, "/api/v1/watch/namespaces/a/pods", "");
        assert_eq!((r.verb, r.namespace.as_deref()), (Verb::Watch, Some("a")));
        let r = resource(http::Method::DELETE, "/api/v1/namespaces/a/configmaps", "");
        assert_eq!(r.verb, Verb::DeleteCollection);
    }

    #[test]
    fn non_resource_paths() {
        for path in [
            "/api",
            "/apis",
            "/apis/apps",
            "/version",
            "/healthz",
            "/openapi/v3/apis/apps/v1",
        ] {
            assert!(
                matches!(
                    parse(&http::Method::GET, path, &Query::default()),
                    Target::NonResource { .. }
                ),
                "{path}"
            );
        }
        // `/api/v1` and `/apis/apps/v1` are discovery documents.
        assert!(matches!(
            parse(&http::Method::GET, "/api/v1", &Query::default()),
            Target::NonResource { .. }
        ));
        assert!(matches!(
            parse(&http::Method::GET, "/apis/apps/v1", &Query::default()),
            Target::NonResource { .. }
        ));
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some("labelSelector=app%3Dweb%2Ctier+in+(a)&limit=5&empty="));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.get("empty"), None);
        assert!(q.has("empty"));
    }
}
