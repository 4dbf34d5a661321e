//! Who is asking and what they may do: the cluster's PKI and admin
//! kubeconfig, authentication (client certificates, bearer tokens),
//! impersonation, and the authorizer (an admin and a read-only identity
//! until RBAC arrives).

pub mod authn;
pub mod authz;
pub mod pki;
pub mod service_account_token;

use std::collections::BTreeMap;

/// The group whose members may do anything (kube's cluster-admin binding).
pub const SYSTEM_MASTERS: &str = "system:masters";
/// The group every authenticated user belongs to.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group of requests without credentials.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user of requests without credentials.
pub const ANONYMOUS: &str = "system:anonymous";
/// The group of the read-only identity: get/list/watch, secrets excepted.
pub const VIEWERS: &str = "mars:viewers";
/// The admin identity of the generated client certificate and token.
pub const ADMIN_USER: &str = "mars-admin";
/// The read-only identity of the generated read-only token.
pub const VIEWER_USER: &str = "mars-viewer";

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
            username: ANONYMOUS.into(),
            groups: vec![UNAUTHENTICATED.into()],
            ..Self::default()
        }
    }

    /// Whether the user belongs to `group`; the authorizer's building block.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}
