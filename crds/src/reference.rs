//! References from one Mars object to another (or to a Secret), shared by
//! several kinds so every reference reads and validates the same way.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Kubernetes object name (DNS-1123 subdomain): lowercase letters, digits,
/// `-` and `.`, starting and ending with an alphanumeric character.
pub const NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// A DNS-1123 label (namespaces, names used as label values).
pub const LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A reference to any object (a Site, Link, Device, Workload, Pod, Node …),
/// used where the referenced kind varies, such as the subject of an Alert or
/// a Case.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// API group and version of the referenced object, e.g. `mars.io/v1alpha1`
    /// or `v1`. Omitted means `mars.io/v1alpha1` for Mars kinds and the
    /// preferred version otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub api_version: Option<String>,
    /// Kind of the referenced object, e.g. `Link`, `Device`, `Site`,
    /// `Workload`, `Pod`, `Node`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[A-Z][A-Za-z0-9]*$"))]
    pub kind: String,
    /// Name of the referenced object.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub name: String,
    /// Namespace of the referenced object; omitted for cluster-scoped kinds
    /// (Site, Link, Device, Node) and for objects in the referrer's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), pattern(LABEL_PATTERN))]
    pub namespace: Option<String>,
}

/// A reference by name to an object of a known kind in the referrer's own
/// namespace (for example a ChangePlan from its Case).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalRef {
    /// Name of the referenced object in the same namespace.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub name: String,
}

/// A reference to a Secret holding credentials. Cluster-scoped objects
/// (Device) must name the namespace; the Secret is read only by the
/// controller that needs it, never copied into the referrer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub name: String,
    /// Namespace of the Secret, e.g. `mars-system`.
    #[schemars(length(min = 1, max = 63), pattern(LABEL_PATTERN))]
    pub namespace: String,
}
