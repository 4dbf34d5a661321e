//! The authorizer: which user may do what.

use super::UserInfo;

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

/// Whether `user` may do `attrs`.
pub fn allowed(user: &UserInfo, attrs: &Attributes) -> bool {
    let _ = attrs;
    user.groups.iter().any(|g| g == "system:masters")
}
