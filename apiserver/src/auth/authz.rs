//! The authorizer: which user may do what.
//!
//! Until RBAC arrives this is a fixed policy mirroring kube-apiserver's
//! bootstrap roles: `system:masters` is cluster-admin, `mars:viewers` is a
//! cluster-wide `view`, everyone gets `system:public-info-viewer`, and
//! authenticated users get `system:discovery` and `system:basic-user`.

use super::{AUTHENTICATED, SYSTEM_MASTERS, UserInfo, VIEWERS};
use crate::ApiError;

/// What a request wants to do (Kubernetes' authorizer attributes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`, `impersonate`, or the lower-case HTTP method of a
    /// non-resource request.
    pub verb: String,
    /// True for `/api/...` and `/apis/...` resource requests.
    pub resource_request: bool,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// The URL path of non-resource requests (`/healthz`).
    pub path: String,
}

/// Health and version paths anyone may read (`system:public-info-viewer`),
/// here with their sub-paths (`/readyz/etcd`).
const PUBLIC_INFO_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version"];

/// Discovery paths authenticated users may read (`system:discovery`).
const DISCOVERY_PATHS: &[&str] = &["/api", "/apis", "/openapi"];

/// Whether `user` may do `attrs`.
pub fn allowed(user: &UserInfo, attrs: &Attributes) -> bool {
    if user.in_group(SYSTEM_MASTERS) {
        return true;
    }
    let authenticated = user.in_group(AUTHENTICATED);
    let viewer = user.in_group(VIEWERS);
    if !attrs.resource_request {
        if attrs.verb != "get" {
            return false;
        }
        return under_any(&attrs.path, PUBLIC_INFO_PATHS)
            || (authenticated && under_any(&attrs.path, DISCOVERY_PATHS))
            || viewer;
    }
    if authenticated && attrs.verb == "create" && is_self_review(attrs) {
        return true;
    }
    viewer
        && matches!(attrs.verb.as_str(), "get" | "list" | "watch")
        && !(attrs.group.is_empty() && attrs.resource == "secrets")
}

/// `system:basic-user`: a user may always ask who they are and what they may do.
fn is_self_review(attrs: &Attributes) -> bool {
    match attrs.group.as_str() {
        "authentication.k8s.io" => attrs.resource == "selfsubjectreviews",
        "authorization.k8s.io" => matches!(
            attrs.resource.as_str(),
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        ),
        _ => false,
    }
}

/// Whether `path` is one of `prefixes` or below one of them.
fn under_any(path: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The 403 of a denied request, worded as kube-apiserver's
/// `responsewriters.Forbidden` so clients and tests see the same text.
pub fn forbidden(user: &UserInfo, attrs: &Attributes) -> ApiError {
    let (kind, group, name) = if attrs.resource_request {
        (
            attrs.resource.clone(),
            attrs.group.clone(),
            attrs.name.clone(),
        )
    } else {
        Default::default()
    };
    ApiError::Forbidden {
        message: forbidden_message(user, attrs),
        kind,
        group,
        name,
    }
}

/// The message of [`forbidden`]: `pods "p" is forbidden: User "alice"
/// cannot get resource "pods" in API group "" in the namespace "default"`.
pub fn forbidden_message(user: &UserInfo, attrs: &Attributes) -> String {
    let username = &user.username;
    let verb = &attrs.verb;
    if !attrs.resource_request {
        return format!(
            "forbidden: User {username:?} cannot {verb} path {:?}",
            attrs.path
        );
    }
    let mut resource = attrs.resource.clone();
    if !attrs.subresource.is_empty() {
        resource = format!("{resource}/{}", attrs.subresource);
    }
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", attrs.namespace)
    };
    let reason = format!(
        "User {username:?} cannot {verb} resource {resource:?} in API group {:?} {scope}",
        attrs.group
    );
    // apierrors.NewForbidden: the qualified resource, then the name if any.
    let qualified = if attrs.group.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}.{}", attrs.resource, attrs.group)
    };
    if qualified.is_empty() {
        format!("forbidden: {reason}")
    } else if attrs.name.is_empty() {
        format!("{qualified} is forbidden: {reason}")
    } else {
        format!("{qualified} {:?} is forbidden: {reason}", attrs.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{ADMIN_USER, VIEWER_USER};

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            username: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..UserInfo::default()
        }
    }

    fn admin() -> UserInfo {
        user(ADMIN_USER, &[SYSTEM_MASTERS, AUTHENTICATED])
    }

    fn viewer() -> UserInfo {
        user(VIEWER_USER, &[VIEWERS, AUTHENTICATED])
    }

    fn alice() -> UserInfo {
        user("alice", &[AUTHENTICATED])
    }

    fn resource(verb: &str, group: &str, resource: &str, namespace: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource_request: true,
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            ..Attributes::default()
        }
    }

    fn path(verb: &str, path: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            path: path.into(),
            ..Attributes::default()
        }
    }

    #[test]
    fn masters_may_do_everything() {
        let admin = admin();
        for verb in ["get", "list", "create", "delete", "impersonate", "escalate"] {
            assert!(allowed(&admin, &resource(verb, "", "secrets", "default")));
            assert!(allowed(&admin, &resource(verb, "apps", "deployments", "")));
        }
        assert!(allowed(&admin, &path("post", "/metrics")));
        assert!(allowed(&admin, &path("get", "/debug/pprof")));
    }

    #[test]
    fn viewers_read_everything_but_secrets() {
        let viewer = viewer();
        for verb in ["get", "list", "watch"] {
            assert!(allowed(&viewer, &resource(verb, "", "pods", "default")));
            assert!(allowed(&viewer, &resource(verb, "apps", "deployments", "")));
            assert!(allowed(
                &viewer,
                &resource(verb, "", "configmaps", "kube-system")
            ));
            assert!(!allowed(&viewer, &resource(verb, "", "secrets", "default")));
        }
        let mut log = resource("get", "", "pods", "default");
        log.subresource = "log".into();
        assert!(allowed(&viewer, &log));
        let mut secret_sub = resource("get", "", "secrets", "default");
        secret_sub.subresource = "status".into();
        assert!(!allowed(&viewer, &secret_sub));
        // A CRD called "secrets" in another group is not the core Secret.
        assert!(allowed(
            &viewer,
            &resource("list", "example.com", "secrets", "")
        ));
        for verb in [
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
            "impersonate",
        ] {
            assert!(!allowed(&viewer, &resource(verb, "", "pods", "default")));
        }
        assert!(allowed(&viewer, &path("get", "/metrics")));
        assert!(!allowed(&viewer, &path("post", "/metrics")));
    }

    #[test]
    fn everyone_may_read_health_and_version() {
        let anonymous = UserInfo::anonymous();
        for user in [&anonymous, &alice(), &viewer()] {
            for p in [
                "/healthz",
                "/livez",
                "/readyz",
                "/readyz/etcd",
                "/livez/ping",
                "/version",
                "/version/",
            ] {
                assert!(allowed(user, &path("get", p)), "{} {p}", user.username);
            }
            assert!(!allowed(user, &path("post", "/healthz")));
        }
        assert!(!allowed(&anonymous, &path("get", "/healthzz")));
        assert!(!allowed(&anonymous, &path("get", "/metrics")));
    }

    #[test]
    fn discovery_is_for_authenticated_users() {
        let anonymous = UserInfo::anonymous();
        let alice = alice();
        for p in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps/v1",
            "/openapi/v2",
            "/openapi/v3/apis/apps/v1",
        ] {
            assert!(allowed(&alice, &path("get", p)), "{p}");
            assert!(!allowed(&anonymous, &path("get", p)), "{p}");
        }
        assert!(!allowed(&alice, &path("get", "/metrics")));
        assert!(!allowed(&alice, &path("get", "/apiextensions")));
    }

    #[test]
    fn authenticated_users_may_review_themselves() {
        let alice = alice();
        let anonymous = UserInfo::anonymous();
        for (group, res) in [
            ("authentication.k8s.io", "selfsubjectreviews"),
            ("authorization.k8s.io", "selfsubjectaccessreviews"),
            ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ] {
            assert!(allowed(&alice, &resource("create", group, res, "")));
            assert!(!allowed(&alice, &resource("list", group, res, "")));
            assert!(!allowed(&anonymous, &resource("create", group, res, "")));
        }
        assert!(!allowed(
            &alice,
            &resource("create", "authorization.k8s.io", "subjectaccessreviews", "")
        ));
        assert!(!allowed(&alice, &resource("list", "", "pods", "default")));
        assert!(!allowed(&alice, &resource("get", "", "namespaces", "")));
    }

    #[test]
    fn forbidden_messages_match_kube_apiserver() {
        let err = forbidden(&alice(), &resource("list", "", "pods", "default"));
        assert_eq!(
            err.to_string(),
            r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default""#
        );
        let status = err.status();
        assert_eq!(status["code"], 403);
        assert_eq!(status["reason"], "Forbidden");
        assert_eq!(status["details"], serde_json::json!({"kind": "pods"}));

        let err = forbidden(
            &UserInfo::anonymous(),
            &resource("list", "", "namespaces", ""),
        );
        assert_eq!(
            err.to_string(),
            r#"namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope"#
        );

        let mut named = resource("get", "apps", "deployments", "prod");
        named.name = "web".into();
        let err = forbidden(
            &viewer(),
            &Attributes {
                verb: "delete".into(),
                ..named
            },
        );
        assert_eq!(
            err.to_string(),
            r#"deployments.apps "web" is forbidden: User "mars-viewer" cannot delete resource "deployments" in API group "apps" in the namespace "prod""#
        );
        assert_eq!(
            err.status()["details"],
            serde_json::json!({"name": "web", "group": "apps", "kind": "deployments"})
        );

        let mut status_sub = resource("update", "", "pods", "default");
        status_sub.subresource = "status".into();
        status_sub.name = "p1".into();
        assert_eq!(
            forbidden_message(&alice(), &status_sub),
            r#"pods "p1" is forbidden: User "alice" cannot update resource "pods/status" in API group "" in the namespace "default""#
        );

        let err = forbidden(&alice(), &path("get", "/metrics"));
        assert_eq!(
            err.to_string(),
            r#"forbidden: User "alice" cannot get path "/metrics""#
        );
        assert_eq!(err.status()["details"], serde_json::json!({}));
    }

    #[test]
    fn forbidden_status_matches_recorded_kube_response() {
        // reference/kube-apiserver-1.28.7/errors/403-anonymous.json
        let recorded = serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "namespaces is forbidden: User \"system:anonymous\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope",
            "reason": "Forbidden",
            "details": {"kind": "namespaces"},
            "code": 403
        });
        let err = forbidden(
            &UserInfo::anonymous(),
            &resource("list", "", "namespaces", ""),
        );
        assert_eq!(err.status(), recorded);
    }
}
