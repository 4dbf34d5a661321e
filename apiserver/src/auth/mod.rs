//! Who is asking and what they may do: the cluster's PKI and admin
//! kubeconfig, authentication (client certificates, bearer tokens),
//! impersonation, and the authorizer (an admin and a read-only identity
//! until RBAC arrives).

pub mod authn;
pub mod authz;
pub mod pki;

use std::collections::BTreeMap;

/// An authenticated (or impersonated) user, as `user.Info` in Kubernetes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserInfo {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// The user of requests with no credentials.
    pub fn anonymous() -> Self {
        Self {
            username: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            ..Self::default()
        }
    }
}
