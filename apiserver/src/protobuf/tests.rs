//! Objects encoded with the k8s-pb prost types, decoded back to JSON.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::coordination::v1 as coordination;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{RawExtension, TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message as _;
use serde_json::{Value, json};

use super::decode::{Decoder, MAX_DEPTH};
use super::schema::{GROUP_VERSIONS, MESSAGES};
use super::types::{Kind, Special, find, kind_message};
use super::{MAGIC, ProtobufError, decode};

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn map<V: Clone>(pairs: &[(&str, V)]) -> BTreeMap<String, V> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The body client-go sends: magic, then runtime.Unknown around `raw`.
/// Go writes every envelope string, empty ones included.
fn wrap_raw(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s(api_version),
            kind: s(kind),
        }),
        raw: Some(raw),
        content_encoding: s(""),
        content_type: s(""),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

fn wrap(api_version: &str, kind: &str, object: &impl prost::Message) -> Vec<u8> {
    wrap_raw(api_version, kind, object.encode_to_vec())
}

fn decoded(api_version: &str, kind: &str, object: &impl prost::Message) -> Value {
    match decode(&wrap(api_version, kind, object)) {
        Ok(v) => v,
        Err(e) => panic!("decoding {kind}: {e}"),
    }
}

fn int(i: i32) -> IntOrString {
    IntOrString {
        r#type: Some(0),
        int_val: Some(i),
        str_val: None,
    }
}

fn string(v: &str) -> IntOrString {
    IntOrString {
        r#type: Some(1),
        int_val: None,
        str_val: s(v),
    }
}

fn quantity(v: &str) -> Quantity {
    Quantity { string: s(v) }
}

fn meta(name: &str) -> Option<meta::ObjectMeta> {
    Some(meta::ObjectMeta {
        name: s(name),
        ..Default::default()
    })
}

#[test]
fn config_map_with_data_and_labels() {
    let cm = core::ConfigMap {
        metadata: Some(meta::ObjectMeta {
            name: s("app-config"),
            namespace: s("default"),
            labels: map(&[("app", "web".to_string()), ("tier", "front".to_string())]),
            annotations: map(&[("note", "hi".to_string())]),
            ..Default::default()
        }),
        data: map(&[("a.txt", "hello".to_string()), ("empty", String::new())]),
        binary_data: map(&[("bin", vec![0u8, 1, 2, 255])]),
        immutable: Some(false),
    };
    assert_eq!(
        decoded("v1", "ConfigMap", &cm),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "app-config",
                "namespace": "default",
                "labels": {"app": "web", "tier": "front"},
                "annotations": {"note": "hi"},
            },
            "data": {"a.txt": "hello", "empty": ""},
            "binaryData": {"bin": "AAEC/w=="},
            "immutable": false,
        })
    );
}

#[test]
fn secret_with_binary_data() {
    let secret = core::Secret {
        metadata: meta("creds"),
        data: map(&[
            ("key", vec![0xde, 0xad, 0xbe, 0xef]),
            ("text", b"s3cr3t".to_vec()),
        ]),
        string_data: BTreeMap::new(),
        r#type: s("Opaque"),
        immutable: None,
    };
    assert_eq!(
        decoded("v1", "Secret", &secret),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "data": {"key": "3q2+7w==", "text": "czNjcjN0"},
            "type": "Opaque",
        })
    );
}

fn pod_template() -> core::PodTemplateSpec {
    core::PodTemplateSpec {
        metadata: Some(meta::ObjectMeta {
            labels: map(&[("app", "web".to_string())]),
            creation_timestamp: Some(meta::Time::default()),
            ..Default::default()
        }),
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: s("web"),
                image: s("nginx:1.27"),
                ports: vec![core::ContainerPort {
                    name: s("http"),
                    container_port: Some(80),
                    protocol: s("TCP"),
                    ..Default::default()
                }],
                env: vec![
                    core::EnvVar {
                        name: s("MODE"),
                        value: s("prod"),
                        value_from: None,
                    },
                    core::EnvVar {
                        name: s("LEVEL"),
                        value: None,
                        value_from: Some(core::EnvVarSource {
                            config_map_key_ref: Some(core::ConfigMapKeySelector {
                                local_object_reference: Some(core::LocalObjectReference {
                                    name: s("app-config"),
                                }),
                                key: s("level"),
                                optional: Some(true),
                            }),
                            ..Default::default()
                        }),
                    },
                ],
                resources: Some(core::ResourceRequirements {
                    limits: map(&[("cpu", quantity("500m")), ("memory", quantity("128Mi"))]),
                    requests: map(&[("cpu", quantity("0.1"))]),
                    claims: vec![],
                }),
                liveness_probe: Some(core::Probe {
                    handler: Some(core::ProbeHandler {
                        http_get: Some(core::HttpGetAction {
                            path: s("/healthz"),
                            port: Some(int(8080)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    initial_delay_seconds: Some(3),
                    period_seconds: Some(10),
                    ..Default::default()
                }),
                readiness_probe: Some(core::Probe {
                    handler: Some(core::ProbeHandler {
                        tcp_socket: Some(core::TcpSocketAction {
                            port: Some(string("http")),
                            host: None,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                args: vec!["--port".to_string(), "80".to_string()],
                ..Default::default()
            }],
            volumes: vec![core::Volume {
                name: s("config"),
                volume_source: Some(core::VolumeSource {
                    config_map: Some(core::ConfigMapVolumeSource {
                        local_object_reference: Some(core::LocalObjectReference {
                            name: s("app-config"),
                        }),
                        default_mode: Some(0o644),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }],
            restart_policy: s("Always"),
            termination_grace_period_seconds: Some(30),
            ..Default::default()
        }),
    }
}

fn pod_template_json() -> Value {
    json!({
        "metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
        "spec": {
            "containers": [{
                "name": "web",
                "image": "nginx:1.27",
                "args": ["--port", "80"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "env": [
                    {"name": "MODE", "value": "prod"},
                    {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {
                        "name": "app-config", "key": "level", "optional": true,
                    }}},
                ],
                "resources": {
                    "limits": {"cpu": "500m", "memory": "128Mi"},
                    "requests": {"cpu": "0.1"},
                },
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": 8080},
                    "initialDelaySeconds": 3,
                    "periodSeconds": 10,
                },
                "readinessProbe": {"tcpSocket": {"port": "http"}},
            }],
            "volumes": [{"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
        },
    })
}

#[test]
fn deployment_with_zero_replicas_and_a_full_template() {
    let deployment = apps::Deployment {
        metadata: meta("web"),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            selector: Some(meta::LabelSelector {
                match_labels: map(&[("app", "web".to_string())]),
                match_expressions: vec![],
            }),
            template: Some(pod_template()),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: Some(int(0)),
                    max_surge: Some(string("25%")),
                }),
            }),
            paused: Some(false),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    };
    assert_eq!(
        decoded("apps/v1", "Deployment", &deployment),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": pod_template_json(),
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
                },
                "paused": false,
            },
            "status": {},
        })
    );
}

#[test]
fn pod_status_with_ips_and_times() {
    let pod = core::Pod {
        metadata: meta("web-0"),
        spec: None,
        status: Some(core::PodStatus {
            phase: s("Running"),
            host_ip: s("10.0.0.5"),
            host_ips: vec![core::HostIp { ip: s("10.0.0.5") }],
            pod_ip: s("10.244.1.7"),
            pod_ips: vec![
                core::PodIp {
                    ip: s("10.244.1.7"),
                },
                core::PodIp { ip: s("fd00::7") },
            ],
            start_time: Some(meta::Time {
                seconds: Some(1_795_428_000),
                nanos: Some(999_000_000),
            }),
            container_statuses: vec![core::ContainerStatus {
                name: s("web"),
                ready: Some(true),
                restart_count: Some(0),
                state: Some(core::ContainerState {
                    running: Some(core::ContainerStateRunning {
                        started_at: Some(meta::Time {
                            seconds: Some(1_795_428_001),
                            nanos: None,
                        }),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            qos_class: s("BestEffort"),
            ..Default::default()
        }),
    };
    assert_eq!(
        decoded("v1", "Pod", &pod),
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-0"},
            "status": {
                "phase": "Running",
                "hostIP": "10.0.0.5",
                "hostIPs": [{"ip": "10.0.0.5"}],
                "podIP": "10.244.1.7",
                "podIPs": [{"ip": "10.244.1.7"}, {"ip": "fd00::7"}],
                "startTime": "2026-11-23T10:00:00Z",
                "containerStatuses": [{
                    "name": "web",
                    "ready": true,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": "2026-11-23T10:00:01Z"}},
                }],
                "qosClass": "BestEffort",
            },
        })
    );
}

#[test]
fn service_target_ports_as_string_and_int() {
    let service = core::Service {
        metadata: meta("web"),
        spec: Some(core::ServiceSpec {
            ports: vec![
                core::ServicePort {
                    name: s("http"),
                    protocol: s("TCP"),
                    port: Some(80),
                    target_port: Some(string("http")),
                    ..Default::default()
                },
                core::ServicePort {
                    name: s("metrics"),
                    port: Some(9090),
                    target_port: Some(int(9091)),
                    ..Default::default()
                },
            ],
            selector: map(&[("app", "web".to_string())]),
            r#type: s("ClusterIP"),
            cluster_ips: vec!["10.96.0.10".to_string()],
            external_ips: vec![],
            ..Default::default()
        }),
        status: None,
    };
    assert_eq!(
        decoded("v1", "Service", &service),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"},
                    {"name": "metrics", "port": 9090, "targetPort": 9091},
                ],
                "selector": {"app": "web"},
                "type": "ClusterIP",
                "clusterIPs": ["10.96.0.10"],
            },
        })
    );
}

#[test]
fn namespace() {
    let ns = core::Namespace {
        metadata: meta("team-a"),
        spec: Some(core::NamespaceSpec { finalizers: vec![] }),
        status: None,
    };
    assert_eq!(
        decoded("v1", "Namespace", &ns),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}, "spec": {}})
    );
}

#[test]
fn job_without_durations() {
    let job = batch::Job {
        metadata: meta("pi"),
        spec: Some(batch::JobSpec {
            parallelism: Some(1),
            completions: Some(1),
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(100),
            template: Some(core::PodTemplateSpec {
                metadata: None,
                spec: Some(core::PodSpec {
                    containers: vec![core::Container {
                        name: s("pi"),
                        image: s("perl"),
                        command: vec!["perl".into(), "-e".into(), "print 1".into()],
                        ..Default::default()
                    }],
                    restart_policy: s("Never"),
                    ..Default::default()
                }),
            }),
            suspend: Some(false),
            ..Default::default()
        }),
        status: None,
    };
    assert_eq!(
        decoded("batch/v1", "Job", &job),
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "pi"},
            "spec": {
                "parallelism": 1,
                "completions": 1,
                "backoffLimit": 0,
                "ttlSecondsAfterFinished": 100,
                "suspend": false,
                "template": {"spec": {
                    "containers": [{"name": "pi", "image": "perl", "command": ["perl", "-e", "print 1"]}],
                    "restartPolicy": "Never",
                }},
            },
        })
    );
}

#[test]
fn lease_with_micro_times() {
    let lease = coordination::Lease {
        metadata: Some(meta::ObjectMeta {
            name: s("leader"),
            namespace: s("kube-system"),
            ..Default::default()
        }),
        spec: Some(coordination::LeaseSpec {
            holder_identity: s("node-1"),
            lease_duration_seconds: Some(15),
            acquire_time: Some(meta::MicroTime {
                seconds: Some(1_795_428_000),
                nanos: Some(123_456_789),
            }),
            renew_time: Some(meta::MicroTime {
                seconds: Some(1_795_428_010),
                nanos: Some(0),
            }),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    };
    assert_eq!(
        decoded("coordination.k8s.io/v1", "Lease", &lease),
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "leader", "namespace": "kube-system"},
            "spec": {
                "holderIdentity": "node-1",
                "leaseDurationSeconds": 15,
                "acquireTime": "2026-11-23T10:00:00.123456Z",
                "renewTime": "2026-11-23T10:00:10.000000Z",
                "leaseTransitions": 0,
            },
        })
    );
}

#[test]
fn object_meta_as_go_writes_it() {
    // Go encodes its non-pointer fields even when empty: they appear, and
    // the empty creationTimestamp is Go's zero time, null.
    let cm = core::ConfigMap {
        metadata: Some(meta::ObjectMeta {
            name: s("c"),
            generate_name: s(""),
            generation: Some(0),
            creation_timestamp: Some(meta::Time::default()),
            owner_references: vec![meta::OwnerReference {
                api_version: s("apps/v1"),
                kind: s("ReplicaSet"),
                name: s("rs"),
                uid: s("u-1"),
                controller: Some(true),
                block_owner_deletion: None,
            }],
            managed_fields: vec![meta::ManagedFieldsEntry {
                manager: s("kubectl"),
                operation: s("Update"),
                time: Some(meta::Time {
                    seconds: Some(0),
                    nanos: Some(0),
                }),
                fields_type: s("FieldsV1"),
                fields_v1: Some(meta::FieldsV1 {
                    raw: Some(br#"{"f:data":{".":{}}}"#.to_vec()),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        decoded("v1", "ConfigMap", &cm)["metadata"],
        json!({
            "name": "c",
            "generateName": "",
            "generation": 0,
            "creationTimestamp": null,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-1", "controller": true,
            }],
            "managedFields": [{
                "manager": "kubectl",
                "operation": "Update",
                "time": "1970-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}}},
            }],
        })
    );
}

#[test]
fn raw_extensions_hold_json_or_protobuf() {
    let revision = apps::ControllerRevision {
        metadata: meta("r1"),
        data: Some(RawExtension {
            raw: Some(br#"{"spec":{"template":{"x":1}}}"#.to_vec()),
        }),
        revision: Some(2),
    };
    assert_eq!(
        decoded("apps/v1", "ControllerRevision", &revision),
        json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "r1"},
            "data": {"spec": {"template": {"x": 1}}},
            "revision": 2,
        })
    );

    let nested = apps::ControllerRevision {
        metadata: meta("r2"),
        data: Some(RawExtension {
            raw: Some(wrap(
                "v1",
                "Namespace",
                &core::Namespace {
                    metadata: meta("inner"),
                    ..Default::default()
                },
            )),
        }),
        revision: None,
    };
    assert_eq!(
        decoded("apps/v1", "ControllerRevision", &nested)["data"],
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "inner"}})
    );

    let broken = apps::ControllerRevision {
        data: Some(RawExtension {
            raw: Some(b"{not json".to_vec()),
        }),
        ..Default::default()
    };
    let err = decode(&wrap("apps/v1", "ControllerRevision", &broken));
    assert!(
        matches!(&err, Err(ProtobufError::InvalidValue { at, .. }) if at == "ControllerRevision.data"),
        "{err:?}"
    );
}

#[test]
fn custom_resource_definition_schemas() {
    let props = |t: &str| apiext::JsonSchemaProps {
        r#type: s(t),
        ..Default::default()
    };
    let schema = apiext::JsonSchemaProps {
        r#type: s("object"),
        required: vec!["spec".into()],
        properties: map(&[
            (
                "spec",
                apiext::JsonSchemaProps {
                    r#type: s("object"),
                    x_kubernetes_preserve_unknown_fields: Some(true),
                    additional_properties: Some(Box::new(apiext::JsonSchemaPropsOrBool {
                        allows: Some(false),
                        schema: None,
                    })),
                    ..Default::default()
                },
            ),
            (
                "tags",
                apiext::JsonSchemaProps {
                    r#type: s("array"),
                    items: Some(Box::new(apiext::JsonSchemaPropsOrArray {
                        schema: Some(Box::new(props("string"))),
                        j_son_schemas: vec![],
                    })),
                    max_items: Some(0),
                    ..Default::default()
                },
            ),
            (
                "size",
                apiext::JsonSchemaProps {
                    r#ref: s("#/definitions/size"),
                    x_kubernetes_int_or_string: Some(true),
                    default: Some(apiext::Json {
                        raw: Some(b"\"1Gi\"".to_vec()),
                    }),
                    r#enum: vec![
                        apiext::Json {
                            raw: Some(b"1".to_vec()),
                        },
                        apiext::Json {
                            raw: Some(b"\"2\"".to_vec()),
                        },
                    ],
                    minimum: Some(1.0),
                    maximum: Some(2.5),
                    additional_properties: Some(Box::new(apiext::JsonSchemaPropsOrBool {
                        allows: Some(true),
                        schema: Some(Box::new(props("integer"))),
                    })),
                    ..Default::default()
                },
            ),
        ]),
        ..Default::default()
    };
    let crd = apiext::CustomResourceDefinition {
        metadata: meta("widgets.example.com"),
        spec: Some(apiext::CustomResourceDefinitionSpec {
            group: s("example.com"),
            names: Some(apiext::CustomResourceDefinitionNames {
                plural: s("widgets"),
                kind: s("Widget"),
                ..Default::default()
            }),
            scope: s("Namespaced"),
            versions: vec![apiext::CustomResourceDefinitionVersion {
                name: s("v1"),
                served: Some(true),
                storage: Some(true),
                schema: Some(apiext::CustomResourceValidation {
                    open_apiv3_schema: Some(schema),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    };
    let got = decoded("apiextensions.k8s.io/v1", "CustomResourceDefinition", &crd);
    assert_eq!(
        got["spec"]["names"],
        json!({"plural": "widgets", "kind": "Widget"})
    );
    assert_eq!(
        got["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
        json!({
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true,
                    "additionalProperties": false,
                },
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
                "size": {
                    "$ref": "#/definitions/size",
                    "x-kubernetes-int-or-string": true,
                    "default": "1Gi",
                    "enum": [1, "2"],
                    "minimum": 1,
                    "maximum": 2.5,
                    "additionalProperties": {"type": "integer"},
                },
            },
        })
    );
}

#[test]
fn durations_in_metrics() {
    let Some(index) = find("k8s.io.metrics.pkg.apis.metrics.v1beta1.NodeMetrics") else {
        panic!("NodeMetrics is in the schema");
    };
    let metrics = k8s_pb::metrics::pkg::apis::metrics::v1beta1::NodeMetrics {
        metadata: meta("node-1"),
        timestamp: Some(meta::Time {
            seconds: Some(1_795_428_000),
            nanos: None,
        }),
        window: Some(meta::Duration {
            duration: Some(90_500_000_000),
        }),
        usage: map(&[("cpu", quantity("250m"))]),
    };
    assert_eq!(
        Decoder::default().message(index, &metrics.encode_to_vec()),
        Ok(json!({
            "metadata": {"name": "node-1"},
            "timestamp": "2026-11-23T10:00:00Z",
            "window": "1m30.5s",
            "usage": {"cpu": "250m"},
        }))
    );
}

#[test]
fn specials_with_missing_fields_take_go_zero_values() {
    // An IntOrString with only a type, a Quantity with no string, a
    // map entry with no value.
    let service = core::ServicePort {
        target_port: Some(IntOrString::default()),
        ..Default::default()
    };
    let spec = core::ServiceSpec {
        ports: vec![service],
        ..Default::default()
    };
    let svc = core::Service {
        spec: Some(spec),
        ..Default::default()
    };
    assert_eq!(
        decoded("v1", "Service", &svc)["spec"]["ports"],
        json!([{"targetPort": 0}])
    );

    let limits = core::ResourceRequirements {
        limits: map(&[("cpu", Quantity { string: None })]),
        ..Default::default()
    };
    let Some(index) = find("k8s.io.api.core.v1.ResourceRequirements") else {
        panic!("ResourceRequirements is in the schema");
    };
    assert_eq!(
        Decoder::default().message(index, &limits.encode_to_vec()),
        Ok(json!({"limits": {"cpu": "0"}}))
    );
    // {1: {1: "cpu"}}: an entry with a key and no value.
    assert_eq!(
        Decoder::default().message(index, &[0x0a, 5, 0x0a, 3, b'c', b'p', b'u']),
        Ok(json!({"limits": {"cpu": "0"}}))
    );

    let bad = IntOrString {
        r#type: Some(7),
        ..Default::default()
    };
    let svc = core::Service {
        spec: Some(core::ServiceSpec {
            ports: vec![core::ServicePort {
                target_port: Some(bad),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = decode(&wrap("v1", "Service", &svc));
    assert!(
        matches!(&err, Err(ProtobufError::InvalidValue { at, .. }) if at == "Service.spec.ports[0].targetPort"),
        "{err:?}"
    );
}

#[test]
fn unknown_fields_are_skipped_and_repeated_messages_merge() {
    let mut raw = core::Namespace {
        metadata: meta("ns"),
        ..Default::default()
    }
    .encode_to_vec();
    // Field 99 of every wire type: varint, fixed64, bytes, fixed32.
    raw.extend([0x98, 0x06, 0x2a]);
    raw.extend([0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
    raw.extend([0x9a, 0x06, 2, b'h', b'i']);
    raw.extend([0x9d, 0x06, 1, 2, 3, 4]);
    // metadata again: protobuf merges it into the first.
    let more = meta::ObjectMeta {
        namespace: s("x"),
        ..Default::default()
    }
    .encode_to_vec();
    raw.push(0x0a);
    raw.push(u8::try_from(more.len()).unwrap_or(0));
    raw.extend(more);
    assert_eq!(
        decode(&wrap_raw("v1", "Namespace", raw)),
        Ok(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns", "namespace": "x"}})
        )
    );
}

#[test]
fn packed_and_unpacked_repeated_scalars() {
    // PodSecurityContext.supplementalGroups: field 4, repeated int64, which
    // Go writes unpacked; protobuf readers must take both.
    let Some(index) = find("k8s.io.api.core.v1.PodSecurityContext") else {
        panic!("PodSecurityContext is in the schema");
    };
    let unpacked = core::PodSecurityContext {
        supplemental_groups: vec![1, 2, 300],
        ..Default::default()
    };
    let want = Ok(json!({"supplementalGroups": [1, 2, 300]}));
    assert_eq!(
        Decoder::default().message(index, &unpacked.encode_to_vec()),
        want
    );
    // The same packed: field 4, length 4, varints 1 2 300.
    assert_eq!(
        Decoder::default().message(index, &[0x22, 4, 1, 2, 0xac, 0x02]),
        want
    );
}

#[test]
fn envelope_errors() {
    assert_eq!(decode(b""), Err(ProtobufError::MissingMagic));
    assert_eq!(
        decode(b"{\"kind\":\"Pod\"}"),
        Err(ProtobufError::MissingMagic)
    );
    assert_eq!(decode(b"k8s"), Err(ProtobufError::MissingMagic));
    assert_eq!(
        decode(b"k8s\x00"),
        Err(ProtobufError::MissingTypeMeta("apiVersion"))
    );
    assert_eq!(
        decode(&wrap_raw("v1", "", vec![])),
        Err(ProtobufError::MissingTypeMeta("kind"))
    );
    assert_eq!(
        decode(&wrap_raw("v1", "Widget", vec![])),
        Err(ProtobufError::UnknownKind {
            api_version: "v1".into(),
            kind: "Widget".into()
        })
    );
    assert_eq!(
        decode(&wrap_raw("example.com/v1", "ConfigMap", vec![])),
        Err(ProtobufError::UnknownKind {
            api_version: "example.com/v1".into(),
            kind: "ConfigMap".into()
        })
    );
    // A meta/v1 special is not an object kind.
    assert!(matches!(
        decode(&wrap_raw("v1", "Time", vec![])),
        Err(ProtobufError::UnknownKind { .. })
    ));
    let gzip = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s("v1"),
            kind: s("ConfigMap"),
        }),
        raw: Some(vec![]),
        content_encoding: s("gzip"),
        content_type: None,
    };
    let mut body = MAGIC.to_vec();
    body.extend(gzip.encode_to_vec());
    assert_eq!(
        decode(&body),
        Err(ProtobufError::UnsupportedContentEncoding("gzip".into()))
    );
    // A truncated varint in the envelope.
    let err = decode(b"k8s\x00\x0a\xff");
    assert!(
        matches!(&err, Err(ProtobufError::Malformed { at, .. }) if at == "envelope"),
        "{err:?}"
    );
}

#[test]
fn malformed_objects() {
    // metadata (field 1) as a varint.
    let err = decode(&wrap_raw("v1", "ConfigMap", vec![0x08, 1]));
    assert!(
        matches!(&err, Err(ProtobufError::Malformed { at, .. }) if at == "ConfigMap.metadata"),
        "{err:?}"
    );
    // A truncated varint deep inside.
    let mut raw = pod_template().encode_to_vec();
    raw.truncate(raw.len() - 1);
    let err = decode(&wrap_raw(
        "v1",
        "PodTemplate",
        [vec![0x12], encode_len(raw.len()), raw].concat(),
    ));
    assert!(
        matches!(&err, Err(ProtobufError::Malformed { .. })),
        "{err:?}"
    );
    // A length beyond the end.
    assert!(matches!(
        decode(&wrap_raw("v1", "ConfigMap", vec![0x0a, 0x7f, 0x0a])),
        Err(ProtobufError::Malformed { .. })
    ));
    // Every truncation of a real object fails cleanly or decodes.
    let body = wrap(
        "apps/v1",
        "Deployment",
        &apps::Deployment {
            metadata: meta("web"),
            spec: Some(apps::DeploymentSpec {
                template: Some(pod_template()),
                ..Default::default()
            }),
            status: None,
        },
    );
    for end in 0..body.len() {
        let _ = decode(&body[..end]);
    }
}

fn encode_len(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = u8::try_from(n & 0x7f).unwrap_or(0);
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    // JSONSchemaProps.not (field 28) nested far past the limit.
    let mut raw: Vec<u8> = Vec::new();
    for _ in 0..(MAX_DEPTH * 4) {
        let mut outer = vec![0xe2, 0x01]; // field 28, wire type 2
        outer.extend(encode_len(raw.len()));
        outer.extend(raw);
        raw = outer;
    }
    let Some(index) =
        find("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps")
    else {
        panic!("JSONSchemaProps is in the schema");
    };
    assert_eq!(
        Decoder::default().message(index, &raw),
        Err(ProtobufError::TooDeep(MAX_DEPTH))
    );
}

#[test]
fn random_bytes_never_panic() {
    // xorshift: deterministic garbage, behind the magic and an envelope
    // naming a real kind, and bare.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let kinds = [
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("v1", "Secret"),
    ];
    for round in 0..3000 {
        let len = usize::try_from(next() % 200).unwrap_or(0);
        let garbage: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
        let (api_version, kind) = kinds[round % kinds.len()];
        let _ = decode(&wrap_raw(api_version, kind, garbage.clone()));
        let _ = decode(&[MAGIC, &garbage[..]].concat());
        let _ = decode(&garbage);
    }
}

#[test]
fn every_builtin_kind_and_its_list_has_a_message() {
    for r in crate::resources::BUILTIN {
        let api_version = r.api_version();
        let mut kinds = vec![r.kind.to_string()];
        if !matches!(r.verbs, crate::resources::Verbs::CreateOnly) {
            kinds.push(format!("{}List", r.kind));
        }
        for kind in kinds {
            assert!(
                kind_message(&api_version, &kind).is_some(),
                "{api_version} {kind} has no protobuf message"
            );
        }
    }
    for (api_version, kind) in [
        ("v1", "DeleteOptions"),
        ("apps/v1", "DeleteOptions"),
        ("autoscaling/v1", "Scale"),
        ("policy/v1", "Eviction"),
        ("v1", "Binding"),
        ("authentication.k8s.io/v1", "TokenRequest"),
    ] {
        assert!(
            kind_message(api_version, kind).is_some(),
            "{api_version} {kind}"
        );
    }
}

#[test]
fn the_schema_is_consistent() {
    assert!(
        MESSAGES.windows(2).all(|w| w[0].name < w[1].name),
        "sorted by name"
    );
    for (i, msg) in MESSAGES.iter().enumerate() {
        assert!(
            msg.fields.windows(2).all(|w| w[0].tag < w[1].tag),
            "{}: fields sorted by tag",
            msg.name
        );
        let mut names: Vec<&str> = msg
            .fields
            .iter()
            .map(|f| f.json)
            .filter(|j| !j.is_empty())
            .collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "{}: JSON names are unique", msg.name);
        for field in msg.fields {
            match field.kind {
                Kind::Msg(t) | Kind::Inline(t) | Kind::MapMsg(t) => {
                    assert!(
                        usize::from(t) < MESSAGES.len(),
                        "{}.{}",
                        msg.name,
                        field.json
                    );
                }
                _ => {}
            }
            assert_eq!(field.json.is_empty(), matches!(field.kind, Kind::Inline(_)));
        }
        assert_eq!(find(msg.name).map(usize::from), Some(i));
    }
    for (_, _, package) in GROUP_VERSIONS {
        assert!(
            MESSAGES.iter().any(|m| m.name.starts_with(package)),
            "{package}"
        );
    }
    let special = |name: &str| {
        find(name)
            .and_then(|i| MESSAGES.get(usize::from(i)))
            .map(|m| m.special)
    };
    assert_eq!(
        special("k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        Some(Special::Time)
    );
    assert_eq!(
        special("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSON"),
        Some(Special::RawJson)
    );
}

/// Bodies kubectl 1.32 sent for `kubectl create configmap cm1
/// --from-literal=a=b --from-literal=empty=`, `kubectl create service
/// clusterip web --tcp=80:8080`, `kubectl create deployment web
/// --image=nginx:1.27 --replicas=0 --port=80` and `kubectl create token
/// default`. Go writes its non-pointer fields even when empty, so they
/// appear with zero values, as a JSON client writing every field would.
#[test]
fn real_kubectl_bodies() {
    let config_map = b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12/\x0a\x1a\x0a\x03cm1\x12\x00\x1a\x07default\x22\x00*\x002\x008\x00B\x00\x12\x06\x0a\x01a\x12\x01b\x12\x09\x0a\x05empty\x12\x00\x1a\x00\x22\x00";
    let meta = |name: &str, namespace: &str| {
        json!({
            "name": name, "generateName": "", "namespace": namespace, "selfLink": "",
            "uid": "", "resourceVersion": "", "generation": 0, "creationTimestamp": null,
        })
    };
    assert_eq!(
        decode(config_map),
        Ok(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("cm1", "default"),
            "data": {"a": "b", "empty": ""},
        }))
    );

    let service = b"k8s\x00\x0a\x0d\x0a\x02v1\x12\x07Service\x12p\x0a&\x0a\x03web\x12\x00\x1a\x07default\x22\x00*\x002\x008\x00B\x00Z\x0a\x0a\x03app\x12\x03web\x12B\x0a\x1b\x0a\x0780-8080\x12\x03TCP\x18P\x22\x07\x08\x00\x10\x90?\x1a\x00(\x00\x12\x0a\x0a\x03app\x12\x03web\x1a\x00\x22\x09ClusterIP:\x00B\x00R\x00Z\x00`\x00h\x00\x1a\x02\x0a\x00\x1a\x00\x22\x00";
    let mut labelled = meta("web", "default");
    labelled["labels"] = json!({"app": "web"});
    assert_eq!(
        decode(service),
        Ok(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": labelled,
            "spec": {
                "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 0}],
                "selector": {"app": "web"},
                "clusterIP": "",
                "type": "ClusterIP",
                "sessionAffinity": "",
                "loadBalancerIP": "",
                "externalName": "",
                "externalTrafficPolicy": "",
                "healthCheckNodePort": 0,
                "publishNotReadyAddresses": false,
            },
            "status": {"loadBalancer": {}},
        }))
    );

    let deployment = b"k8s\x00\x0a\x15\x0a\x07apps/v1\x12\x0aDeployment\x12\xc4\x01\x0a&\x0a\x03web\x12\x00\x1a\x07default\x22\x00*\x002\x008\x00B\x00Z\x0a\x0a\x03app\x12\x03web\x12\x8b\x01\x08\x00\x12\x0c\x0a\x0a\x0a\x03app\x12\x03web\x1aq\x0a\x1c\x0a\x00\x12\x00\x1a\x00\x22\x00*\x002\x008\x00B\x00Z\x0a\x0a\x03app\x12\x03web\x12Q\x123\x0a\x05nginx\x12\x0anginx:1.27*\x002\x0a\x0a\x00\x10\x00\x18P\x22\x00*\x00B\x00j\x00r\x00\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x002\x00B\x00J\x00R\x00X\x00`\x00h\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00\x22\x02\x0a\x00(\x008\x00\x1a\x0c\x08\x00\x10\x00\x18\x00 \x00(\x008\x00\x1a\x00\x22\x00";
    let mut template_meta = meta("", "");
    template_meta["labels"] = json!({"app": "web"});
    let Ok(got) = decode(deployment) else {
        panic!("the deployment decodes");
    };
    assert_eq!(got["metadata"], labelled);
    assert_eq!(
        got["spec"],
        json!({
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": template_meta,
                "spec": {
                    "containers": [{
                        "name": "nginx",
                        "image": "nginx:1.27",
                        "ports": [{"name": "", "hostPort": 0, "containerPort": 80, "protocol": "", "hostIP": ""}],
                        "resources": {},
                        "workingDir": "",
                        "terminationMessagePath": "",
                        "terminationMessagePolicy": "",
                        "imagePullPolicy": "",
                        "stdin": false,
                        "stdinOnce": false,
                        "tty": false,
                    }],
                    "restartPolicy": "",
                    "dnsPolicy": "",
                    "serviceAccountName": "",
                    "serviceAccount": "",
                    "nodeName": "",
                    "hostNetwork": false,
                    "hostPID": false,
                    "hostIPC": false,
                    "hostname": "",
                    "subdomain": "",
                    "schedulerName": "",
                    "priorityClassName": "",
                },
            },
            "strategy": {"type": ""},
            "minReadySeconds": 0,
            "paused": false,
        })
    );

    let token = b"k8s\x00\x0a(\x0a\x18authentication.k8s.io/v1\x12\x0cTokenRequest\x12\x1a\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00*\x002\x008\x00B\x00\x12\x00\x1a\x04\x0a\x00\x12\x00\x1a\x00\x22\x00";
    assert_eq!(
        decode(token),
        Ok(json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": meta("", ""),
            "spec": {},
            "status": {"token": "", "expirationTimestamp": null},
        }))
    );
}
