//! The k8s-openapi types behind each kind Mars can serve: their group,
//! version and kind, kube's definition name, and a way to generate their
//! schema.

use std::borrow::Cow;

use k8s_openapi::Resource;
use k8s_openapi::api::{
    admissionregistration, apps, authentication, authorization, autoscaling, batch, certificates,
    coordination, core, discovery, events, flowcontrol, networking, node, policy, rbac, scheduling,
    storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A kind whose schema k8s-openapi provides.
#[derive(Debug, Clone, Copy)]
pub(super) struct KnownKind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// kube's definition name (`io.k8s.api.core.v1.Pod`).
    pub name: fn() -> Cow<'static, str>,
    /// Adds the kind's schema, and every schema it refers to, to a
    /// generator's definitions; returns a `$ref` to it.
    pub generate: fn(&mut SchemaGenerator) -> Schema,
}

const fn known<T: Resource + JsonSchema>() -> KnownKind {
    KnownKind {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        name: T::schema_name,
        generate: SchemaGenerator::subschema_for::<T>,
    }
}

/// Every GA kind of Kubernetes v1.33 Mars may serve, including the
/// response kinds of subresources (`Scale`, `Binding`).
static KNOWN: &[KnownKind] = &[
    known::<core::v1::Binding>(),
    known::<core::v1::ComponentStatus>(),
    known::<core::v1::ConfigMap>(),
    known::<core::v1::Endpoints>(),
    known::<core::v1::Event>(),
    known::<core::v1::LimitRange>(),
    known::<core::v1::Namespace>(),
    known::<core::v1::Node>(),
    known::<core::v1::PersistentVolume>(),
    known::<core::v1::PersistentVolumeClaim>(),
    known::<core::v1::Pod>(),
    known::<core::v1::PodTemplate>(),
    known::<core::v1::ReplicationController>(),
    known::<core::v1::ResourceQuota>(),
    known::<core::v1::Secret>(),
    known::<core::v1::Service>(),
    known::<core::v1::ServiceAccount>(),
    known::<admissionregistration::v1::MutatingWebhookConfiguration>(),
    known::<admissionregistration::v1::ValidatingAdmissionPolicy>(),
    known::<admissionregistration::v1::ValidatingAdmissionPolicyBinding>(),
    known::<admissionregistration::v1::ValidatingWebhookConfiguration>(),
    known::<apiextensions::v1::CustomResourceDefinition>(),
    known::<apps::v1::ControllerRevision>(),
    known::<apps::v1::DaemonSet>(),
    known::<apps::v1::Deployment>(),
    known::<apps::v1::ReplicaSet>(),
    known::<apps::v1::StatefulSet>(),
    known::<authentication::v1::SelfSubjectReview>(),
    known::<authentication::v1::TokenRequest>(),
    known::<authentication::v1::TokenRequest>(),
    known::<authentication::v1::TokenReview>(),
    known::<authorization::v1::LocalSubjectAccessReview>(),
    known::<authorization::v1::SelfSubjectAccessReview>(),
    known::<authorization::v1::SelfSubjectRulesReview>(),
    known::<authorization::v1::SubjectAccessReview>(),
    known::<autoscaling::v1::HorizontalPodAutoscaler>(),
    known::<autoscaling::v1::Scale>(),
    known::<autoscaling::v2::HorizontalPodAutoscaler>(),
    known::<batch::v1::CronJob>(),
    known::<batch::v1::Job>(),
    known::<certificates::v1::CertificateSigningRequest>(),
    known::<coordination::v1::Lease>(),
    known::<discovery::v1::EndpointSlice>(),
    known::<events::v1::Event>(),
    known::<flowcontrol::v1::FlowSchema>(),
    known::<flowcontrol::v1::PriorityLevelConfiguration>(),
    known::<networking::v1::IPAddress>(),
    known::<networking::v1::Ingress>(),
    known::<networking::v1::IngressClass>(),
    known::<networking::v1::NetworkPolicy>(),
    known::<networking::v1::ServiceCIDR>(),
    known::<node::v1::RuntimeClass>(),
    known::<policy::v1::Eviction>(),
    known::<policy::v1::PodDisruptionBudget>(),
    known::<rbac::v1::ClusterRole>(),
    known::<rbac::v1::ClusterRoleBinding>(),
    known::<rbac::v1::Role>(),
    known::<rbac::v1::RoleBinding>(),
    known::<scheduling::v1::PriorityClass>(),
    known::<storage::v1::CSIDriver>(),
    known::<storage::v1::CSINode>(),
    known::<storage::v1::CSIStorageCapacity>(),
    known::<storage::v1::StorageClass>(),
    known::<storage::v1::VolumeAttachment>(),
];

/// The known kind `group/version, Kind=kind`, if k8s-openapi has it.
pub(super) fn find(group: &str, version: &str, kind: &str) -> Option<&'static KnownKind> {
    KNOWN
        .iter()
        .find(|k| k.kind == kind && k.group == group && k.version == version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::BUILTIN;

    #[test]
    fn every_builtin_kind_is_known() {
        for r in BUILTIN {
            assert!(
                find(r.group, r.version, r.kind).is_some(),
                "{}/{}",
                r.api_version(),
                r.kind
            );
        }
    }

    #[test]
    fn names_are_kube_definition_names() {
        let pod = find("", "v1", "Pod").unwrap();
        assert_eq!((pod.name)(), "io.k8s.api.core.v1.Pod");
        let crd = find("apiextensions.k8s.io", "v1", "CustomResourceDefinition").unwrap();
        assert_eq!(
            (crd.name)(),
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
        );
    }
}
