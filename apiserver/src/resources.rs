//! The resources Mars serves: one row per (group, version, resource), the
//! facts discovery, routing, storage and strategies all read. Built-in rows
//! are a static table; custom resources get rows at run time from their
//! CustomResourceDefinitions (see [`crate::catalog`]).

use std::sync::Arc;

use crate::crd::CustomVersion;

/// A subresource a resource serves beside its main endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// `/status`: writes change only `.status`.
    Status,
    /// `/scale`: an `autoscaling/v1` `Scale` view of `spec.replicas`.
    Scale,
    /// `/binding` (pods): assigns the pod to a node.
    Binding,
    /// `/finalize` (namespaces): writes change only `spec.finalizers`.
    Finalize,
    /// `/token` (service accounts): issues a bound token (TokenRequest).
    Token,
}

impl Subresource {
    /// The path segment the subresource is served at.
    pub fn name(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
            Subresource::Binding => "binding",
            Subresource::Finalize => "finalize",
            Subresource::Token => "token",
        }
    }

    /// The subresource named by a URL segment.
    pub fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "status" => Subresource::Status,
            "scale" => Subresource::Scale,
            "binding" => Subresource::Binding,
            "finalize" => Subresource::Finalize,
            "token" => Subresource::Token,
            _ => return None,
        })
    }
}

/// Which verbs a resource serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbs {
    /// get, list, watch, create, update, patch, delete, deletecollection.
    Crud,
    /// Like `Crud` without deletecollection (namespaces).
    CrudNoCollection,
    /// Only create: review-style resources answered, never stored.
    CreateOnly,
    /// `Crud` as kube-apiserver lists it for custom resources (its own
    /// order).
    CustomCrud,
}

impl Verbs {
    /// The verb names discovery lists, sorted as kube-apiserver sorts them.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Verbs::Crud => &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
            Verbs::CrudNoCollection => &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
            Verbs::CreateOnly => &["create"],
            Verbs::CustomCrud => &[
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ],
        }
    }

    /// Whether `verb` (a discovery verb name) is served.
    pub fn allows(self, verb: &str) -> bool {
        self.names().contains(&verb)
    }
}

/// One served resource.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// API group; `""` is the legacy core group served under `/api`.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The URL segment and storage name (`deployments`).
    pub plural: &'static str,
    /// Lower-case kind, as discovery reports it.
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    pub verbs: Verbs,
    /// `metadata.generation` is maintained (bumped when the spec changes).
    pub has_generation: bool,
    /// Where objects are stored: the `(group, plural)` whose keys this
    /// version shares (`None`: its own group and plural).
    pub storage: Option<(&'static str, &'static str)>,
    /// What a CustomResourceDefinition adds (schema, printer columns, scale
    /// paths); `None` for built-in resources.
    pub custom: Option<Arc<CustomVersion>>,
}

impl ResourceDef {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `pods` for the core group (RBAC's and
    /// kubectl's way of naming a resource).
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether this is the same served resource (the same group, version
    /// and plural).
    pub fn same(&self, other: &ResourceDef) -> bool {
        self.group == other.group && self.version == other.version && self.plural == other.plural
    }

    /// Whether the subresource is served.
    pub fn serves(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }

    /// The storage key prefix of every object of this resource, ending in `/`.
    pub fn key_prefix(&self) -> String {
        let (group, plural) = self.storage.unwrap_or((self.group, self.plural));
        let group = if group.is_empty() { "core" } else { group };
        format!("/registry/{group}/{plural}/")
    }

    /// The key prefix of one namespace's objects (all objects when `None`
    /// or when the resource is cluster-scoped).
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{ns}/", self.key_prefix()),
            _ => self.key_prefix(),
        }
    }

    /// The storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}{name}", self.namespace_prefix(namespace))
    }
}

use Subresource::{Binding, Finalize, Scale, Status, Token};

const NONE: &[&str] = &[];
const ALL: &[&str] = &["all"];

#[allow(clippy::too_many_arguments)]
const fn def(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [Subresource],
    has_generation: bool,
) -> ResourceDef {
    ResourceDef {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        categories,
        subresources,
        verbs: Verbs::Crud,
        has_generation,
        storage: None,
        custom: None,
    }
}

/// `def` serving other verbs.
const fn with_verbs(mut def: ResourceDef, verbs: Verbs) -> ResourceDef {
    def.verbs = verbs;
    def
}

/// `def` whose objects are stored under another version's group and plural.
const fn stored_as(mut def: ResourceDef, group: &'static str, plural: &'static str) -> ResourceDef {
    def.storage = Some((group, plural));
    def
}

/// Every built-in resource, in the order discovery lists groups (core
/// first; within a group, the preferred version first).
#[rustfmt::skip]
pub static BUILTIN: &[ResourceDef] = &[
    // core/v1
    def("", "v1", "ConfigMap", "configmaps", "configmap", true, &["cm"], NONE, &[], false),
    def("", "v1", "Endpoints", "endpoints", "endpoints", true, &["ep"], NONE, &[], false),
    def("", "v1", "Event", "events", "event", true, &["ev"], NONE, &[], false),
    def("", "v1", "LimitRange", "limitranges", "limitrange", true, &["limits"], NONE, &[], false),
    with_verbs(def("", "v1", "Namespace", "namespaces", "namespace", false, &["ns"], NONE, &[Finalize, Status], false), Verbs::CrudNoCollection),
    def("", "v1", "Node", "nodes", "node", false, &["no"], NONE, &[Status], false),
    def("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true, &["pvc"], NONE, &[Status], false),
    def("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", false, &["pv"], NONE, &[Status], false),
    def("", "v1", "Pod", "pods", "pod", true, &["po"], ALL, &[Binding, Status], false),
    def("", "v1", "PodTemplate", "podtemplates", "podtemplate", true, NONE, NONE, &[], false),
    def("", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", true, &["rc"], ALL, &[Scale, Status], true),
    def("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", true, &["quota"], NONE, &[Status], false),
    def("", "v1", "Secret", "secrets", "secret", true, NONE, NONE, &[], false),
    def("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, &["sa"], NONE, &[Token], false),
    def("", "v1", "Service", "services", "service", true, &["svc"], ALL, &[Status], false),
    // apps/v1
    def("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", true, NONE, NONE, &[], false),
    def("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, &["ds"], ALL, &[Status], true),
    def("apps", "v1", "Deployment", "deployments", "deployment", true, &["deploy"], ALL, &[Scale, Status], true),
    def("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, &["rs"], ALL, &[Scale, Status], true),
    def("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, &["sts"], ALL, &[Scale, Status], true),
    // events.k8s.io/v1
    stored_as(def("events.k8s.io", "v1", "Event", "events", "event", true, &["ev"], NONE, &[], false), "", "events"),
    // authentication.k8s.io/v1
    with_verbs(def("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", false, NONE, NONE, &[], false), Verbs::CreateOnly),
    // autoscaling
    def("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true, &["hpa"], ALL, &[Status], false),
    stored_as(def("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true, &["hpa"], ALL, &[Status], false), "autoscaling", "horizontalpodautoscalers"),
    // batch/v1
    def("batch", "v1", "CronJob", "cronjobs", "cronjob", true, &["cj"], ALL, &[Status], true),
    def("batch", "v1", "Job", "jobs", "job", true, NONE, ALL, &[Status], true),
    // networking.k8s.io/v1
    def("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", false, NONE, NONE, &[], false),
    def("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", true, &["ing"], NONE, &[Status], true),
    def("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", true, &["netpol"], NONE, &[], true),
    // policy/v1
    def("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true, &["pdb"], NONE, &[Status], true),
    // rbac.authorization.k8s.io/v1
    def("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false, NONE, NONE, &[], false),
    def("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, NONE, NONE, &[], false),
    def("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, NONE, NONE, &[], false),
    def("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, NONE, NONE, &[], false),
    // storage.k8s.io/v1
    def("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", false, &["sc"], NONE, &[], false),
    // apiextensions.k8s.io/v1
    def("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", false, &["crd", "crds"], &["api-extensions"], &[Status], true),
    // scheduling.k8s.io/v1
    def("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", false, &["pc"], NONE, &[], false),
    // coordination.k8s.io/v1
    def("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, NONE, NONE, &[], false),
    // discovery.k8s.io/v1
    def("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, NONE, NONE, &[], false),
];

/// The resource served at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    BUILTIN
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of an object's `apiVersion` and `kind`.
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static ResourceDef> {
    BUILTIN
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_storage_across_versions() {
        let v1 = find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let v2 = find("autoscaling", "v2", "horizontalpodautoscalers").unwrap();
        assert_eq!(v1.key(Some("ns"), "a"), v2.key(Some("ns"), "a"));
        assert_eq!(
            v1.key(Some("ns"), "a"),
            "/registry/autoscaling/horizontalpodautoscalers/ns/a"
        );
    }

    #[test]
    fn core_keys_and_cluster_scope() {
        let pods = find("", "v1", "pods").unwrap();
        assert_eq!(
            pods.key(Some("default"), "p"),
            "/registry/core/pods/default/p"
        );
        assert_eq!(pods.namespace_prefix(None), "/registry/core/pods/");
        let nodes = find("", "v1", "nodes").unwrap();
        assert_eq!(nodes.key(Some("ignored"), "n1"), "/registry/core/nodes/n1");
    }
}
