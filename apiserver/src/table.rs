//! Server-side printing: the `meta.k8s.io/v1` Table columns and cells of each
//! built-in kind, the same as kube-apiserver's printers.
//!
//! A transcription of kube-apiserver v1.33's
//! `pkg/printers/internalversion/printers.go` onto JSON objects. The server
//! always prints the wide columns (kubectl hides priority-1 columns itself),
//! so [`cells`] returns one cell per [`columns`] entry. Kinds without a
//! printer get the default table convertor's `Name` and `Created At`.
//! Descriptions are the v1.33 API types' Swagger docs, byte for byte.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::resources::ResourceDef;
use crate::selectors::LabelSelector;

/// Builds a row from cells of any type a JSON value can be made from.
macro_rules! row {
    ($($cell:expr),* $(,)?) => {
        vec![$(Value::from($cell)),*]
    };
}

/// One column definition of a Table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: &'static str,
    /// `name` for the name column, else usually empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: shown with `-o wide`.
    pub priority: i32,
}

/// The columns kube-apiserver prints for `resource`.
pub fn columns(resource: &ResourceDef) -> Vec<Column> {
    match &resource.custom {
        Some(custom) => custom.columns(),
        None => Printer::of(resource).columns().to_vec(),
    }
}

/// The cells of one object's row, in [`columns`] order. `now` is the
/// server's clock, for ages.
pub fn cells(resource: &ResourceDef, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    match &resource.custom {
        Some(custom) => custom.cells(obj, now),
        None => Printer::of(resource).cells(obj, now),
    }
}

/// A duration as `k8s.io/apimachinery/pkg/util/duration.HumanDuration`
/// writes it (`5s`, `3m2s`, `4h`, `2d3h`, `2y`), for ages in any output.
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

// ---------------------------------------------------------------------------
// Which printer a resource has
// ---------------------------------------------------------------------------

/// The printer of a kind: its column set and how it fills a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Printer {
    Pod,
    PodTemplate,
    PodDisruptionBudget,
    ReplicationController,
    ReplicaSet,
    DaemonSet,
    Job,
    CronJob,
    Service,
    Ingress,
    IngressClass,
    StatefulSet,
    Endpoints,
    Node,
    Event,
    /// `events.k8s.io` Events: the core Event printer over the new field names.
    EventsV1Event,
    Namespace,
    Secret,
    ServiceAccount,
    PersistentVolume,
    PersistentVolumeClaim,
    Deployment,
    HorizontalPodAutoscaler,
    /// `autoscaling/v1`: the CPU target fields instead of `metrics`.
    HorizontalPodAutoscalerV1,
    ConfigMap,
    NetworkPolicy,
    RoleBinding,
    ClusterRoleBinding,
    Lease,
    StorageClass,
    ControllerRevision,
    ResourceQuota,
    PriorityClass,
    EndpointSlice,
    /// The default table convertor: `Name` and `Created At`.
    Default,
}

impl Printer {
    fn of(resource: &ResourceDef) -> Self {
        match (resource.group, resource.kind) {
            ("", "Pod") => Printer::Pod,
            ("", "PodTemplate") => Printer::PodTemplate,
            ("policy", "PodDisruptionBudget") => Printer::PodDisruptionBudget,
            ("", "ReplicationController") => Printer::ReplicationController,
            ("apps", "ReplicaSet") => Printer::ReplicaSet,
            ("apps", "DaemonSet") => Printer::DaemonSet,
            ("batch", "Job") => Printer::Job,
            ("batch", "CronJob") => Printer::CronJob,
            ("", "Service") => Printer::Service,
            ("networking.k8s.io", "Ingress") => Printer::Ingress,
            ("networking.k8s.io", "IngressClass") => Printer::IngressClass,
            ("apps", "StatefulSet") => Printer::StatefulSet,
            ("", "Endpoints") => Printer::Endpoints,
            ("", "Node") => Printer::Node,
            ("", "Event") => Printer::Event,
            ("events.k8s.io", "Event") => Printer::EventsV1Event,
            ("", "Namespace") => Printer::Namespace,
            ("", "Secret") => Printer::Secret,
            ("", "ServiceAccount") => Printer::ServiceAccount,
            ("", "PersistentVolume") => Printer::PersistentVolume,
            ("", "PersistentVolumeClaim") => Printer::PersistentVolumeClaim,
            ("apps", "Deployment") => Printer::Deployment,
            ("autoscaling", "HorizontalPodAutoscaler") if resource.version == "v1" => {
                Printer::HorizontalPodAutoscalerV1
            }
            ("autoscaling", "HorizontalPodAutoscaler") => Printer::HorizontalPodAutoscaler,
            ("", "ConfigMap") => Printer::ConfigMap,
            ("networking.k8s.io", "NetworkPolicy") => Printer::NetworkPolicy,
            ("rbac.authorization.k8s.io", "RoleBinding") => Printer::RoleBinding,
            ("rbac.authorization.k8s.io", "ClusterRoleBinding") => Printer::ClusterRoleBinding,
            ("coordination.k8s.io", "Lease") => Printer::Lease,
            ("storage.k8s.io", "StorageClass") => Printer::StorageClass,
            ("apps", "ControllerRevision") => Printer::ControllerRevision,
            ("", "ResourceQuota") => Printer::ResourceQuota,
            ("scheduling.k8s.io", "PriorityClass") => Printer::PriorityClass,
            ("discovery.k8s.io", "EndpointSlice") => Printer::EndpointSlice,
            _ => Printer::Default,
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Printer::Pod => POD_COLUMNS,
            Printer::PodTemplate => POD_TEMPLATE_COLUMNS,
            Printer::PodDisruptionBudget => PDB_COLUMNS,
            Printer::ReplicationController => RC_COLUMNS,
            Printer::ReplicaSet => REPLICA_SET_COLUMNS,
            Printer::DaemonSet => DAEMON_SET_COLUMNS,
            Printer::Job => JOB_COLUMNS,
            Printer::CronJob => CRON_JOB_COLUMNS,
            Printer::Service => SERVICE_COLUMNS,
            Printer::Ingress => INGRESS_COLUMNS,
            Printer::IngressClass => INGRESS_CLASS_COLUMNS,
            Printer::StatefulSet => STATEFUL_SET_COLUMNS,
            Printer::Endpoints => ENDPOINTS_COLUMNS,
            Printer::Node => NODE_COLUMNS,
            Printer::Event | Printer::EventsV1Event => EVENT_COLUMNS,
            Printer::Namespace => NAMESPACE_COLUMNS,
            Printer::Secret => SECRET_COLUMNS,
            Printer::ServiceAccount => SERVICE_ACCOUNT_COLUMNS,
            Printer::PersistentVolume => PV_COLUMNS,
            Printer::PersistentVolumeClaim => PVC_COLUMNS,
            Printer::Deployment => DEPLOYMENT_COLUMNS,
            Printer::HorizontalPodAutoscaler | Printer::HorizontalPodAutoscalerV1 => HPA_COLUMNS,
            Printer::ConfigMap => CONFIG_MAP_COLUMNS,
            Printer::NetworkPolicy => NETWORK_POLICY_COLUMNS,
            Printer::RoleBinding => ROLE_BINDING_COLUMNS,
            Printer::ClusterRoleBinding => CLUSTER_ROLE_BINDING_COLUMNS,
            Printer::Lease => LEASE_COLUMNS,
            Printer::StorageClass => STORAGE_CLASS_COLUMNS,
            Printer::ControllerRevision => CONTROLLER_REVISION_COLUMNS,
            Printer::ResourceQuota => RESOURCE_QUOTA_COLUMNS,
            Printer::PriorityClass => PRIORITY_CLASS_COLUMNS,
            Printer::EndpointSlice => ENDPOINT_SLICE_COLUMNS,
            Printer::Default => DEFAULT_COLUMNS,
        }
    }

    fn cells(self, obj: &Value, now: Timestamp) -> Vec<Value> {
        match self {
            Printer::Pod => pod_cells(obj, now),
            Printer::PodTemplate => pod_template_cells(obj),
            Printer::PodDisruptionBudget => pdb_cells(obj, now),
            Printer::ReplicationController => {
                replica_cells(obj, now, format_labels(&obj["spec"]["selector"]))
            }
            Printer::ReplicaSet => {
                replica_cells(obj, now, format_label_selector(&obj["spec"]["selector"]))
            }
            Printer::DaemonSet => daemon_set_cells(obj, now),
            Printer::Job => job_cells(obj, now),
            Printer::CronJob => cron_job_cells(obj, now),
            Printer::Service => service_cells(obj, now),
            Printer::Ingress => ingress_cells(obj, now),
            Printer::IngressClass => ingress_class_cells(obj, now),
            Printer::StatefulSet => stateful_set_cells(obj, now),
            Printer::Endpoints => endpoints_cells(obj, now),
            Printer::Node => node_cells(obj, now),
            Printer::Event => event_cells(&EventView::core(obj), now),
            Printer::EventsV1Event => event_cells(&EventView::events_v1(obj), now),
            Printer::Namespace => row![name(obj), text(&obj["status"]["phase"]), age(obj, now)],
            Printer::Secret => secret_cells(obj, now),
            Printer::ServiceAccount => {
                row![name(obj), list(&obj["secrets"]).len(), age(obj, now)]
            }
            Printer::PersistentVolume => pv_cells(obj, now),
            Printer::PersistentVolumeClaim => pvc_cells(obj, now),
            Printer::Deployment => deployment_cells(obj, now),
            Printer::HorizontalPodAutoscaler => hpa_cells(obj, obj, now),
            Printer::HorizontalPodAutoscalerV1 => hpa_cells(obj, &hpa_v1_as_v2(obj), now),
            Printer::ConfigMap => config_map_cells(obj, now),
            Printer::NetworkPolicy => row![
                name(obj),
                format_label_selector(&obj["spec"]["podSelector"]),
                age(obj, now)
            ],
            Printer::RoleBinding | Printer::ClusterRoleBinding => role_binding_cells(obj, now),
            Printer::Lease => row![
                name(obj),
                text(&obj["spec"]["holderIdentity"]),
                age(obj, now)
            ],
            Printer::StorageClass => storage_class_cells(obj, now),
            Printer::ControllerRevision => controller_revision_cells(obj, now),
            Printer::ResourceQuota => resource_quota_cells(obj, now),
            Printer::PriorityClass => priority_class_cells(obj, now),
            Printer::EndpointSlice => endpoint_slice_cells(obj, now),
            Printer::Default => row![name(obj), created_at(obj)],
        }
    }
}

// ---------------------------------------------------------------------------
// Column definitions
// ---------------------------------------------------------------------------

/// A `string` column always shown.
const fn col(name: &'static str, description: &'static str) -> Column {
    typed(name, "string", description)
}

/// A column of another type, always shown.
const fn typed(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority: 0,
    }
}

/// A `string` column shown with `-o wide`.
const fn wide(name: &'static str, description: &'static str) -> Column {
    Column {
        priority: 1,
        ..col(name, description)
    }
}

/// The `Name` column every table starts with.
pub const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: doc::OBJECT_META_NAME,
    priority: 0,
};
const AGE: Column = col("Age", doc::OBJECT_META_CREATION_TIMESTAMP);
/// `metadata.creationTimestamp`'s description (custom resources' default
/// `Age` column).
pub const CREATION_TIMESTAMP_DOC: &str = doc::OBJECT_META_CREATION_TIMESTAMP;
const CONTAINERS_DOC: &str = "Names of each container in the template.";
const IMAGES_DOC: &str = "Images referenced by each container in the template.";
const CONTAINERS: Column = wide("Containers", CONTAINERS_DOC);
const IMAGES: Column = wide("Images", IMAGES_DOC);
const READY_REPLICAS_DOC: &str = "Number of the pod with ready state";

static POD_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Ready",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    col(
        "Status",
        "The aggregate status of the containers in this pod.",
    ),
    col(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide("IP", doc::POD_STATUS_POD_IP),
    wide("Node", doc::POD_SPEC_NODE_NAME),
    wide("Nominated Node", doc::POD_STATUS_NOMINATED_NODE_NAME),
    wide("Readiness Gates", doc::POD_SPEC_READINESS_GATES),
];

static POD_TEMPLATE_COLUMNS: &[Column] = &[
    NAME,
    col("Containers", CONTAINERS_DOC),
    col("Images", IMAGES_DOC),
    col("Pod Labels", "The labels for the pod template."),
];

static PDB_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Min Available",
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "The maximum number of pods that may be unavailable.",
    ),
    typed(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

static RC_COLUMNS: &[Column] = &[
    NAME,
    typed(
        "Desired",
        "integer",
        doc::REPLICATION_CONTROLLER_SPEC_REPLICAS,
    ),
    typed(
        "Current",
        "integer",
        doc::REPLICATION_CONTROLLER_STATUS_REPLICAS,
    ),
    typed(
        "Ready",
        "integer",
        doc::REPLICATION_CONTROLLER_STATUS_READY_REPLICAS,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc::REPLICATION_CONTROLLER_SPEC_SELECTOR),
];

static REPLICA_SET_COLUMNS: &[Column] = &[
    NAME,
    typed("Desired", "integer", doc::REPLICA_SET_SPEC_REPLICAS),
    typed("Current", "integer", doc::REPLICA_SET_STATUS_REPLICAS),
    typed("Ready", "integer", doc::REPLICA_SET_STATUS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc::REPLICA_SET_SPEC_SELECTOR),
];

static DAEMON_SET_COLUMNS: &[Column] = &[
    NAME,
    typed(
        "Desired",
        "integer",
        doc::DAEMON_SET_STATUS_DESIRED_NUMBER_SCHEDULED,
    ),
    typed(
        "Current",
        "integer",
        doc::DAEMON_SET_STATUS_CURRENT_NUMBER_SCHEDULED,
    ),
    typed("Ready", "integer", doc::DAEMON_SET_STATUS_NUMBER_READY),
    typed(
        "Up-to-date",
        "integer",
        doc::DAEMON_SET_STATUS_UPDATED_NUMBER_SCHEDULED,
    ),
    typed(
        "Available",
        "integer",
        doc::DAEMON_SET_STATUS_NUMBER_AVAILABLE,
    ),
    col("Node Selector", doc::POD_SPEC_NODE_SELECTOR),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc::DAEMON_SET_SPEC_SELECTOR),
];

static JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "Status of the job."),
    col("Completions", doc::JOB_STATUS_SUCCEEDED),
    col("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc::JOB_SPEC_SELECTOR),
];

static CRON_JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Schedule", doc::CRON_JOB_SPEC_SCHEDULE),
    col("Timezone", doc::CRON_JOB_SPEC_TIME_ZONE),
    typed("Suspend", "boolean", doc::CRON_JOB_SPEC_SUSPEND),
    typed("Active", "integer", doc::CRON_JOB_STATUS_ACTIVE),
    col("Last Schedule", doc::CRON_JOB_STATUS_LAST_SCHEDULE_TIME),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc::JOB_SPEC_SELECTOR),
];

static SERVICE_COLUMNS: &[Column] = &[
    NAME,
    col("Type", doc::SERVICE_SPEC_TYPE),
    col("Cluster-IP", doc::SERVICE_SPEC_CLUSTER_IP),
    col("External-IP", doc::SERVICE_SPEC_EXTERNAL_IPS),
    col("Port(s)", doc::SERVICE_SPEC_PORTS),
    AGE,
    wide("Selector", doc::SERVICE_SPEC_SELECTOR),
];

static INGRESS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Class",
        "The name of the IngressClass resource that should be used for additional configuration",
    ),
    col(
        "Hosts",
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    col(
        "Address",
        "Address is a list containing ingress points for the load-balancer",
    ),
    col("Ports", "Ports of TLS configurations that open"),
    AGE,
];

static INGRESS_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Controller",
        "Controller that is responsible for handling this class",
    ),
    col(
        "Parameters",
        "A reference to a resource with additional parameters",
    ),
    AGE,
];

static STATEFUL_SET_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", READY_REPLICAS_DOC),
    AGE,
    CONTAINERS,
    IMAGES,
];

static ENDPOINTS_COLUMNS: &[Column] = &[NAME, col("Endpoints", doc::ENDPOINTS_SUBSETS), AGE];

static NODE_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", doc::NODE_SYSTEM_INFO_KUBELET_VERSION),
    wide("Internal-IP", doc::NODE_STATUS_ADDRESSES),
    wide("External-IP", doc::NODE_STATUS_ADDRESSES),
    wide("OS-Image", doc::NODE_SYSTEM_INFO_OS_IMAGE),
    wide("Kernel-Version", doc::NODE_SYSTEM_INFO_KERNEL_VERSION),
    wide(
        "Container-Runtime",
        doc::NODE_SYSTEM_INFO_CONTAINER_RUNTIME_VERSION,
    ),
];

static EVENT_COLUMNS: &[Column] = &[
    col("Last Seen", doc::EVENT_LAST_TIMESTAMP),
    col("Type", doc::EVENT_TYPE),
    col("Reason", doc::EVENT_REASON),
    col("Object", doc::EVENT_INVOLVED_OBJECT),
    wide("Subobject", doc::OBJECT_REFERENCE_FIELD_PATH),
    wide("Source", doc::EVENT_SOURCE),
    col("Message", doc::EVENT_MESSAGE),
    wide("First Seen", doc::EVENT_FIRST_TIMESTAMP),
    wide("Count", doc::EVENT_COUNT),
    Column {
        priority: 1,
        ..NAME
    },
];

static NAMESPACE_COLUMNS: &[Column] = &[NAME, col("Status", "The status of the namespace"), AGE];

static SECRET_COLUMNS: &[Column] = &[
    NAME,
    col("Type", doc::SECRET_TYPE),
    col("Data", doc::SECRET_DATA),
    AGE,
];

static SERVICE_ACCOUNT_COLUMNS: &[Column] =
    &[NAME, col("Secrets", doc::SERVICE_ACCOUNT_SECRETS), AGE];

static PV_COLUMNS: &[Column] = &[
    NAME,
    col("Capacity", doc::PERSISTENT_VOLUME_SPEC_CAPACITY),
    col("Access Modes", doc::PERSISTENT_VOLUME_SPEC_ACCESS_MODES),
    col(
        "Reclaim Policy",
        doc::PERSISTENT_VOLUME_SPEC_PERSISTENT_VOLUME_RECLAIM_POLICY,
    ),
    col("Status", doc::PERSISTENT_VOLUME_STATUS_PHASE),
    col("Claim", doc::PERSISTENT_VOLUME_SPEC_CLAIM_REF),
    col("StorageClass", "StorageClass of the pv"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    col("Reason", doc::PERSISTENT_VOLUME_STATUS_REASON),
    AGE,
    wide("VolumeMode", doc::PERSISTENT_VOLUME_SPEC_VOLUME_MODE),
];

static PVC_COLUMNS: &[Column] = &[
    NAME,
    col("Status", doc::PERSISTENT_VOLUME_CLAIM_STATUS_PHASE),
    col("Volume", doc::PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_NAME),
    col("Capacity", doc::PERSISTENT_VOLUME_CLAIM_STATUS_CAPACITY),
    col(
        "Access Modes",
        doc::PERSISTENT_VOLUME_CLAIM_STATUS_ACCESS_MODES,
    ),
    col("StorageClass", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE,
    wide("VolumeMode", doc::PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_MODE),
];

static DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", READY_REPLICAS_DOC),
    col("Up-to-date", doc::DEPLOYMENT_STATUS_UPDATED_REPLICAS),
    col("Available", doc::DEPLOYMENT_STATUS_AVAILABLE_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", doc::DEPLOYMENT_SPEC_SELECTOR),
];

static HPA_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Reference",
        doc::HORIZONTAL_POD_AUTOSCALER_SPEC_SCALE_TARGET_REF,
    ),
    col("Targets", doc::HORIZONTAL_POD_AUTOSCALER_SPEC_METRICS),
    col("MinPods", doc::HORIZONTAL_POD_AUTOSCALER_SPEC_MIN_REPLICAS),
    col("MaxPods", doc::HORIZONTAL_POD_AUTOSCALER_SPEC_MAX_REPLICAS),
    col(
        "Replicas",
        doc::HORIZONTAL_POD_AUTOSCALER_STATUS_CURRENT_REPLICAS,
    ),
    AGE,
];

static CONFIG_MAP_COLUMNS: &[Column] = &[NAME, col("Data", doc::CONFIG_MAP_DATA), AGE];

static NETWORK_POLICY_COLUMNS: &[Column] = &[
    NAME,
    col("Pod-Selector", doc::NETWORK_POLICY_SPEC_POD_SELECTOR),
    AGE,
];

static ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", doc::ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "Users in the roleBinding"),
    wide("Groups", "Groups in the roleBinding"),
    wide("ServiceAccounts", "ServiceAccounts in the roleBinding"),
];

static CLUSTER_ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", doc::CLUSTER_ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "Users in the clusterRoleBinding"),
    wide("Groups", "Groups in the clusterRoleBinding"),
    wide(
        "ServiceAccounts",
        "ServiceAccounts in the clusterRoleBinding",
    ),
];

static LEASE_COLUMNS: &[Column] = &[NAME, col("Holder", doc::LEASE_SPEC_HOLDER_IDENTITY), AGE];

static STORAGE_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Provisioner", doc::STORAGE_CLASS_PROVISIONER),
    col("ReclaimPolicy", doc::STORAGE_CLASS_RECLAIM_POLICY),
    col("VolumeBindingMode", doc::STORAGE_CLASS_VOLUME_BINDING_MODE),
    col(
        "AllowVolumeExpansion",
        doc::STORAGE_CLASS_ALLOW_VOLUME_EXPANSION,
    ),
    AGE,
];

static CONTROLLER_REVISION_COLUMNS: &[Column] = &[
    NAME,
    col("Controller", "Controller of the object"),
    col("Revision", doc::CONTROLLER_REVISION_REVISION),
    AGE,
];

static RESOURCE_QUOTA_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Request",
        "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
        "Limit",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    AGE,
];

static PRIORITY_CLASS_COLUMNS: &[Column] = &[
    NAME,
    typed("Value", "integer", doc::PRIORITY_CLASS_VALUE),
    typed(
        "Global-Default",
        "boolean",
        doc::PRIORITY_CLASS_GLOBAL_DEFAULT,
    ),
    AGE,
    col("PreemptionPolicy", doc::PRIORITY_CLASS_PREEMPTION_POLICY),
];

static ENDPOINT_SLICE_COLUMNS: &[Column] = &[
    NAME,
    col("AddressType", doc::ENDPOINT_SLICE_ADDRESS_TYPE),
    col("Ports", doc::ENDPOINT_SLICE_PORTS),
    col("Endpoints", doc::ENDPOINT_SLICE_ENDPOINTS),
    AGE,
];

static DEFAULT_COLUMNS: &[Column] = &[
    NAME,
    typed("Created At", "date", doc::OBJECT_META_CREATION_TIMESTAMP),
];

// ---------------------------------------------------------------------------
// Reading JSON objects
// ---------------------------------------------------------------------------

/// A string field; missing or non-string reads as empty, like Go's zero value.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// An integer field; missing reads as 0.
fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

/// An array field; missing reads as empty.
fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn is_true(value: &Value) -> bool {
    value.as_bool().unwrap_or(false)
}

fn name(obj: &Value) -> &str {
    text(&obj["metadata"]["name"])
}

fn timestamp(value: &Value) -> Option<Timestamp> {
    value.as_str()?.parse().ok()
}

/// `translateTimestampSince`: how long ago, or `<unknown>` when unset.
fn since(value: &Value, now: Timestamp) -> String {
    match timestamp(value) {
        Some(t) => ago(t, now),
        None => "<unknown>".to_string(),
    }
}

fn ago(t: Timestamp, now: Timestamp) -> String {
    human_duration(now.duration_since(t))
}

fn age(obj: &Value, now: Timestamp) -> String {
    since(&obj["metadata"]["creationTimestamp"], now)
}

/// The default table convertor's `Created At`: RFC 3339 in UTC, in seconds.
fn created_at(obj: &Value) -> String {
    match timestamp(&obj["metadata"]["creationTimestamp"]) {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// `"<none>"` for an empty string.
fn or_none(s: &str) -> String {
    if s.is_empty() { "<none>" } else { s }.to_string()
}

/// An optional string (a Go `*string`), or `placeholder` when unset.
fn optional(value: &Value, placeholder: &str) -> String {
    value.as_str().unwrap_or(placeholder).to_string()
}

/// A `resource.Quantity` as `String()` prints it; missing is zero.
fn quantity(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// A `*resource.Quantity` as `String()` prints it; nil is `<nil>`.
fn quantity_ptr(value: &Value) -> String {
    if value.is_null() {
        "<nil>".to_string()
    } else {
        quantity(value)
    }
}

/// The `status` of the first condition of `kind`, if any.
fn condition_status<'a>(conditions: &'a Value, kind: &str) -> Option<&'a str> {
    list(conditions)
        .iter()
        .find(|c| text(&c["type"]) == kind)
        .map(|c| text(&c["status"]))
}

fn has_true_condition(conditions: &Value, kind: &str) -> bool {
    condition_status(conditions, kind) == Some("True")
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, or `<none>`.
fn format_labels(labels: &Value) -> String {
    let mut pairs: Vec<(&String, &str)> = labels
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, text(v)))
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    or_none(&joined.join(","))
}

/// `metav1.FormatLabelSelector`: the selector's string, `<none>` when it
/// is empty, `<error>` when it does not convert.
fn format_label_selector(selector: &Value) -> String {
    match LabelSelector::from_label_selector_object(selector) {
        Ok(selector) => or_none(&selector.to_string()),
        Err(_) => "<error>".to_string(),
    }
}

/// `layoutContainerCells`: container names and images, comma-separated.
fn container_cells(pod_spec: &Value) -> (String, String) {
    let containers = list(&pod_spec["containers"]);
    let names: Vec<&str> = containers.iter().map(|c| text(&c["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(&c["image"])).collect();
    (names.join(","), images.join(","))
}

/// `printBoolPtr`: `True`, `False` or `<unset>`.
fn bool_ptr(value: &Value) -> String {
    match value.as_bool() {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    }
    .to_string()
}

/// The first three items and how many more (`listWithMoreString`), or
/// `<unset>` for none.
fn list_with_more(items: Vec<String>) -> String {
    let count = items.len();
    let shown = items.into_iter().take(3).collect::<Vec<_>>().join(",");
    if count > 3 {
        format!("{shown} + {} more...", count - 3)
    } else if shown.is_empty() {
        "<unset>".to_string()
    } else {
        shown
    }
}

/// `net.JoinHostPort`: brackets around IPv6 hosts.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

// ---------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------

/// Restarts seen so far and when the latest container restart ended.
#[derive(Debug, Clone, Copy, Default)]
struct Restarts {
    count: i64,
    last: Option<Timestamp>,
}

impl Restarts {
    fn add(&mut self, container_status: &Value) {
        self.count += int(&container_status["restartCount"]);
        let finished = timestamp(&container_status["lastState"]["terminated"]["finishedAt"]);
        if let Some(finished) = finished
            && self.last.is_none_or(|last| last < finished)
        {
            self.last = Some(finished);
        }
    }

    /// `5`, or `5 (3m ago)` once a restart time is known.
    fn cell(self, now: Timestamp) -> String {
        match self.last {
            Some(last) if self.count != 0 => format!("{} ({} ago)", self.count, ago(last, now)),
            _ => self.count.to_string(),
        }
    }
}

/// What `printPod` accumulates while walking a pod's container statuses.
struct PodProgress<'a> {
    reason: String,
    ready: usize,
    restarts: Restarts,
    sidecar_restarts: Restarts,
    init_specs: &'a [Value],
}

impl PodProgress<'_> {
    /// Whether an init container runs for the pod's life (`restartPolicy: Always`).
    fn is_sidecar(&self, status: &Value) -> bool {
        self.init_specs
            .iter()
            .find(|spec| spec["name"] == status["name"])
            .is_some_and(|spec| text(&spec["restartPolicy"]) == "Always")
    }

    /// Walks init container statuses; true while the pod is still initializing.
    fn scan_init_containers(&mut self, statuses: &[Value]) -> bool {
        for (i, status) in statuses.iter().enumerate() {
            self.restarts.add(status);
            let sidecar = self.is_sidecar(status);
            if sidecar {
                self.sidecar_restarts.add(status);
            }
            let state = &status["state"];
            let terminated = &state["terminated"];
            if !terminated.is_null() && int(&terminated["exitCode"]) == 0 {
                continue;
            }
            if sidecar && is_true(&status["started"]) {
                if is_true(&status["ready"]) {
                    self.ready += 1;
                }
                continue;
            }
            self.reason = init_reason(state, i, self.init_specs.len());
            return true;
        }
        false
    }

    /// Walks app container statuses (last first, so the first one's reason wins).
    fn scan_containers(&mut self, statuses: &[Value], pod_ready: bool) {
        self.restarts = self.sidecar_restarts;
        let mut has_running = false;
        for status in statuses.iter().rev() {
            self.restarts.add(status);
            let state = &status["state"];
            let waiting = text(&state["waiting"]["reason"]);
            let terminated = &state["terminated"];
            if !waiting.is_empty() {
                self.reason = waiting.to_string();
            } else if !terminated.is_null() {
                self.reason = termination_reason(terminated, "");
            } else if is_true(&status["ready"]) && !state["running"].is_null() {
                has_running = true;
                self.ready += 1;
            }
        }
        if self.reason == "Completed" && has_running {
            self.reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }
}

/// A terminated container's reason, or `Signal:n` / `ExitCode:n` without one.
fn termination_reason(terminated: &Value, prefix: &str) -> String {
    let reason = text(&terminated["reason"]);
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    match int(&terminated["signal"]) {
        0 => format!("{prefix}ExitCode:{}", int(&terminated["exitCode"])),
        signal => format!("{prefix}Signal:{signal}"),
    }
}

/// Why the `index`th init container holds the pod up: `Init:0/2`,
/// `Init:CrashLoopBackOff`, `Init:Error`...
fn init_reason(state: &Value, index: usize, total: usize) -> String {
    if !state["terminated"].is_null() {
        return termination_reason(&state["terminated"], "Init:");
    }
    match text(&state["waiting"]["reason"]) {
        "" | "PodInitializing" => format!("Init:{index}/{total}"),
        waiting => format!("Init:{waiting}"),
    }
}

/// The pod's reason before looking at containers: its phase, its status
/// reason, or `SchedulingGated`.
fn pod_initial_reason(status: &Value) -> String {
    let gated = list(&status["conditions"])
        .iter()
        .any(|c| text(&c["type"]) == "PodScheduled" && text(&c["reason"]) == "SchedulingGated");
    if gated {
        return "SchedulingGated".to_string();
    }
    match text(&status["reason"]) {
        "" => text(&status["phase"]).to_string(),
        reason => reason.to_string(),
    }
}

/// The STATUS column override for a pod being deleted.
fn pod_deletion_reason(pod: &Value) -> Option<&'static str> {
    if pod["metadata"]["deletionTimestamp"].is_null() {
        return None;
    }
    let status = &pod["status"];
    if text(&status["reason"]) == "NodeLost" {
        return Some("Unknown");
    }
    match text(&status["phase"]) {
        "Failed" | "Succeeded" => None,
        _ => Some("Terminating"),
    }
}

/// `printPod`: READY, STATUS and RESTARTS computed as kubectl shows them.
fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let init_specs = list(&spec["initContainers"]);
    let sidecars = init_specs
        .iter()
        .filter(|c| text(&c["restartPolicy"]) == "Always")
        .count();
    let total = list(&spec["containers"]).len() + sidecars;
    let mut progress = PodProgress {
        reason: pod_initial_reason(status),
        ready: 0,
        restarts: Restarts::default(),
        sidecar_restarts: Restarts::default(),
        init_specs,
    };
    let initializing = progress.scan_init_containers(list(&status["initContainerStatuses"]));
    let conditions = &status["conditions"];
    if !initializing || has_true_condition(conditions, "Initialized") {
        progress.scan_containers(
            list(&status["containerStatuses"]),
            has_true_condition(conditions, "Ready"),
        );
    }
    let reason = match pod_deletion_reason(pod) {
        Some(reason) => reason.to_string(),
        None => progress.reason,
    };
    let pod_ip = match status["podIPs"][0]["ip"].as_str() {
        Some(ip) => ip,
        None => text(&status["podIP"]),
    };
    row![
        name(pod),
        format!("{}/{total}", progress.ready),
        reason,
        progress.restarts.cell(now),
        age(pod, now),
        or_none(pod_ip),
        or_none(text(&spec["nodeName"])),
        or_none(text(&status["nominatedNodeName"])),
        readiness_gates(spec, conditions),
    ]
}

/// `true/total` of the readiness gates' conditions, or `<none>`.
fn readiness_gates(spec: &Value, conditions: &Value) -> String {
    let gates = list(&spec["readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let met = gates
        .iter()
        .filter(|gate| condition_status(conditions, text(&gate["conditionType"])) == Some("True"))
        .count();
    format!("{met}/{}", gates.len())
}

fn pod_template_cells(obj: &Value) -> Vec<Value> {
    let template = &obj["template"];
    let (names, images) = container_cells(&template["spec"]);
    row![
        name(obj),
        names,
        images,
        format_labels(&template["metadata"]["labels"])
    ]
}

/// An `IntOrString` as `String()` prints it, or `N/A` when unset.
fn int_or_string(value: &Value) -> String {
    match value {
        Value::Null => "N/A".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pdb_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &obj["spec"];
    row![
        name(obj),
        int_or_string(&spec["minAvailable"]),
        int_or_string(&spec["maxUnavailable"]),
        int(&obj["status"]["disruptionsAllowed"]),
        age(obj, now),
    ]
}

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

/// ReplicationControllers and ReplicaSets print alike; only their selectors
/// differ (a plain map against a label selector).
fn replica_cells(obj: &Value, now: Timestamp, selector: String) -> Vec<Value> {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let (names, images) = container_cells(&spec["template"]["spec"]);
    row![
        name(obj),
        int(&spec["replicas"]),
        int(&status["replicas"]),
        int(&status["readyReplicas"]),
        age(obj, now),
        names,
        images,
        selector,
    ]
}

fn daemon_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let pod_spec = &spec["template"]["spec"];
    let (names, images) = container_cells(pod_spec);
    row![
        name(obj),
        int(&status["desiredNumberScheduled"]),
        int(&status["currentNumberScheduled"]),
        int(&status["numberReady"]),
        int(&status["updatedNumberScheduled"]),
        int(&status["numberAvailable"]),
        format_labels(&pod_spec["nodeSelector"]),
        age(obj, now),
        names,
        images,
        format_label_selector(&spec["selector"]),
    ]
}

fn stateful_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &obj["spec"];
    let (names, images) = container_cells(&spec["template"]["spec"]);
    let ready = int(&obj["status"]["readyReplicas"]);
    row![
        name(obj),
        format!("{ready}/{}", int(&spec["replicas"])),
        age(obj, now),
        names,
        images,
    ]
}

fn deployment_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let (names, images) = container_cells(&spec["template"]["spec"]);
    // Unlike the other workloads, an empty selector prints as "", not <none>.
    let selector = match LabelSelector::from_label_selector_object(&spec["selector"]) {
        Ok(selector) => selector.to_string(),
        Err(_) => "<invalid>".to_string(),
    };
    row![
        name(obj),
        format!(
            "{}/{}",
            int(&status["readyReplicas"]),
            int(&spec["replicas"])
        ),
        int(&status["updatedReplicas"]),
        int(&status["availableReplicas"]),
        age(obj, now),
        names,
        images,
        selector,
    ]
}

/// `printJob`'s STATUS: the first of these that holds, else `Running`.
fn job_status(job: &Value) -> &'static str {
    let conditions = &job["status"]["conditions"];
    if has_true_condition(conditions, "Complete") {
        "Complete"
    } else if has_true_condition(conditions, "Failed") {
        "Failed"
    } else if !job["metadata"]["deletionTimestamp"].is_null() {
        "Terminating"
    } else if has_true_condition(conditions, "Suspended") {
        "Suspended"
    } else if has_true_condition(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// `succeeded/completions`, or `n/1 of p` for a parallel work queue.
fn job_completions(job: &Value) -> String {
    let spec = &job["spec"];
    let succeeded = int(&job["status"]["succeeded"]);
    if let Some(completions) = spec["completions"].as_i64() {
        return format!("{succeeded}/{completions}");
    }
    match int(&spec["parallelism"]) {
        p if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    }
}

/// How long the job ran (so far); empty before it starts.
fn job_duration(job: &Value, now: Timestamp) -> String {
    let status = &job["status"];
    let Some(start) = timestamp(&status["startTime"]) else {
        return String::new();
    };
    let end = timestamp(&status["completionTime"]).unwrap_or(now);
    human_duration(end.duration_since(start))
}

fn job_cells(job: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &job["spec"];
    let (names, images) = container_cells(&spec["template"]["spec"]);
    row![
        name(job),
        job_status(job),
        job_completions(job),
        job_duration(job, now),
        age(job, now),
        names,
        images,
        format_label_selector(&spec["selector"]),
    ]
}

fn cron_job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let job_spec = &spec["jobTemplate"]["spec"];
    let (names, images) = container_cells(&job_spec["template"]["spec"]);
    let last_schedule = match &status["lastScheduleTime"] {
        Value::Null => "<none>".to_string(),
        t => since(t, now),
    };
    row![
        name(obj),
        text(&spec["schedule"]),
        optional(&spec["timeZone"], "<none>"),
        bool_ptr(&spec["suspend"]),
        list(&status["active"]).len(),
        last_schedule,
        age(obj, now),
        names,
        images,
        format_label_selector(&job_spec["selector"]),
    ]
}

fn controller_revision_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let owner = list(&obj["metadata"]["ownerReferences"])
        .iter()
        .find(|r| is_true(&r["controller"]));
    let controller = match owner {
        None => "<none>".to_string(),
        Some(owner) => controller_name(owner),
    };
    row![name(obj), controller, int(&obj["revision"]), age(obj, now)]
}

/// `kind.group/name` in lower case (`daemonset.apps/web`), as `formatResourceName` writes it.
fn controller_name(owner: &Value) -> String {
    let api_version = text(&owner["apiVersion"]);
    let group = match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    };
    let kind = text(&owner["kind"]);
    let name = text(&owner["name"]);
    match (kind, group) {
        ("", "") => name.to_string(),
        (kind, "") => format!("{}/{name}", kind.to_lowercase()),
        (kind, group) => format!("{}.{}/{name}", kind.to_lowercase(), group.to_lowercase()),
    }
}

// ---------------------------------------------------------------------------
// Networking
// ---------------------------------------------------------------------------

/// Load-balancer ingress IPs (or hostnames), deduplicated and sorted.
fn load_balancer_addresses(status: &Value) -> Vec<String> {
    let mut addresses: Vec<String> = list(&status["loadBalancer"]["ingress"])
        .iter()
        .map(|i| match text(&i["ip"]) {
            "" => text(&i["hostname"]),
            ip => ip,
        })
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

/// EXTERNAL-IP: external IPs, load-balancer addresses, `<pending>` or `<none>`.
fn service_external_ip(svc: &Value) -> String {
    let spec = &svc["spec"];
    let external: Vec<&str> = list(&spec["externalIPs"]).iter().map(text).collect();
    match text(&spec["type"]) {
        "ClusterIP" | "NodePort" => or_none(&external.join(",")),
        "LoadBalancer" => {
            let mut all = load_balancer_addresses(&svc["status"]);
            if all.is_empty() && external.is_empty() {
                return "<pending>".to_string();
            }
            all.extend(external.iter().map(|s| s.to_string()));
            all.join(",")
        }
        "ExternalName" => text(&spec["externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// PORT(S): `80/TCP`, or `80:30080/TCP` with a node port.
fn service_ports(spec: &Value) -> String {
    let ports: Vec<String> = list(&spec["ports"])
        .iter()
        .map(|p| {
            let (port, protocol) = (int(&p["port"]), text(&p["protocol"]));
            match int(&p["nodePort"]) {
                node_port if node_port > 0 => format!("{port}:{node_port}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    or_none(&ports.join(","))
}

fn service_cells(svc: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &svc["spec"];
    let cluster_ip = match spec["clusterIPs"][0].as_str() {
        Some(ip) => ip,
        None => text(&spec["clusterIP"]),
    };
    row![
        name(svc),
        text(&spec["type"]),
        or_none(cluster_ip),
        service_external_ip(svc),
        service_ports(spec),
        age(svc, now),
        format_labels(&spec["selector"]),
    ]
}

/// HOSTS: up to three rule hosts, `*` when no rule names one.
fn ingress_hosts(rules: &[Value]) -> String {
    let mut hosts = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == 3 {
            more = true;
        }
        let host = text(&rule["host"]);
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        return "*".to_string();
    }
    let joined = hosts.join(",");
    if more {
        format!("{joined} + {} more...", rules.len() - 3)
    } else {
        joined
    }
}

fn ingress_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &obj["spec"];
    let ports = if list(&spec["tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    row![
        name(obj),
        optional(&spec["ingressClassName"], "<none>"),
        ingress_hosts(list(&spec["rules"])),
        load_balancer_addresses(&obj["status"]).join(","),
        ports,
        age(obj, now),
    ]
}

fn ingress_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &obj["spec"];
    let parameters = match &spec["parameters"] {
        Value::Null => "<none>".to_string(),
        p => {
            let kind = match p["apiGroup"].as_str() {
                Some(group) => format!("{}.{group}", text(&p["kind"])),
                None => text(&p["kind"]).to_string(),
            };
            format!("{kind}/{}", text(&p["name"]))
        }
    };
    row![
        name(obj),
        text(&spec["controller"]),
        parameters,
        age(obj, now)
    ]
}

/// ENDPOINTS: the first three `ip:port`s (or bare IPs for port-less
/// subsets) and a count of the rest; `<none>` without subsets.
fn format_endpoints(subsets: &[Value]) -> String {
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut shown: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for subset in subsets {
        let addresses = list(&subset["addresses"]);
        let ports = list(&subset["ports"]);
        let port_numbers: Vec<Option<i64>> = if ports.is_empty() {
            vec![None]
        } else {
            ports.iter().map(|p| Some(int(&p["port"]))).collect()
        };
        for port in port_numbers {
            count += addresses.len();
            for address in addresses {
                if shown.len() == MAX {
                    more = true;
                    break;
                }
                let ip = text(&address["ip"]);
                shown.push(match port {
                    Some(port) => join_host_port(ip, port),
                    None => ip.to_string(),
                });
            }
        }
    }
    let joined = shown.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

fn endpoints_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    row![
        name(obj),
        format_endpoints(list(&obj["subsets"])),
        age(obj, now)
    ]
}

fn endpoint_slice_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let ports = list(&obj["ports"])
        .iter()
        .map(|p| match (&p["port"], &p["name"]) {
            (Value::Number(n), _) => n.to_string(),
            (_, Value::String(name)) => name.clone(),
            _ => "*".to_string(),
        })
        .collect();
    let addresses = list(&obj["endpoints"])
        .iter()
        .flat_map(|e| list(&e["addresses"]).iter().map(|a| text(a).to_string()))
        .collect();
    row![
        name(obj),
        text(&obj["addressType"]),
        list_with_more(ports),
        list_with_more(addresses),
        age(obj, now),
    ]
}

// ---------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------

/// STATUS: `Ready`/`NotReady`/`Unknown`, plus `SchedulingDisabled` when cordoned.
fn node_status(node: &Value) -> String {
    let ready = list(&node["status"]["conditions"])
        .iter()
        .rev()
        .find(|c| text(&c["type"]) == "Ready");
    let mut status = match ready {
        Some(c) if text(&c["status"]) == "True" => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if is_true(&node["spec"]["unschedulable"]) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// ROLES: from `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role`.
fn node_roles(labels: &Value) -> String {
    let mut roles: Vec<&str> = labels
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(
            |(key, value)| match key.strip_prefix("node-role.kubernetes.io/") {
                Some(role) => Some(role),
                None if key == "kubernetes.io/role" => Some(text(value)),
                None => None,
            },
        )
        .filter(|role| !role.is_empty())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    or_none(&roles.join(","))
}

fn node_address(node: &Value, kind: &str) -> String {
    list(&node["status"]["addresses"])
        .iter()
        .find(|a| text(&a["type"]) == kind)
        .map_or_else(|| "<none>".to_string(), |a| text(&a["address"]).to_string())
}

fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    let info = &node["status"]["nodeInfo"];
    let unknown = |field: &str| match text(&info[field]) {
        "" => "<unknown>".to_string(),
        value => value.to_string(),
    };
    row![
        name(node),
        node_status(node),
        node_roles(&node["metadata"]["labels"]),
        age(node, now),
        text(&info["kubeletVersion"]),
        node_address(node, "InternalIP"),
        node_address(node, "ExternalIP"),
        unknown("osImage"),
        unknown("kernelVersion"),
        unknown("containerRuntimeVersion"),
    ]
}

fn secret_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let data = obj["data"].as_object();
    // Conversion to the internal type merges stringData into data.
    let string_only = obj["stringData"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| !data.is_some_and(|d| d.contains_key(*key)))
        .count();
    let keys = data.map_or(0, |d| d.len()) + string_only;
    row![name(obj), text(&obj["type"]), keys, age(obj, now)]
}

fn config_map_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let size = |field: &str| obj[field].as_object().map_or(0, |m| m.len());
    row![name(obj), size("data") + size("binaryData"), age(obj, now)]
}

fn role_binding_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let role_ref = &obj["roleRef"];
    let (mut users, mut groups, mut service_accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in list(&obj["subjects"]) {
        let subject_name = text(&subject["name"]);
        match text(&subject["kind"]) {
            "ServiceAccount" => {
                service_accounts.push(format!("{}/{subject_name}", text(&subject["namespace"])))
            }
            "User" => users.push(subject_name.to_string()),
            "Group" => groups.push(subject_name.to_string()),
            _ => {}
        }
    }
    row![
        name(obj),
        format!("{}/{}", text(&role_ref["kind"]), text(&role_ref["name"])),
        age(obj, now),
        users.join(", "),
        groups.join(", "),
        service_accounts.join(", "),
    ]
}

fn resource_quota_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let status = &obj["status"];
    let mut resources: Vec<(&String, &Value)> =
        status["hard"].as_object().into_iter().flatten().collect();
    resources.sort_by(|a, b| a.0.cmp(b.0));
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for (resource, hard) in resources {
        let used = quantity(&status["used"][resource.as_str()]);
        let entry = format!("{resource}: {used}/{}", quantity(hard));
        if resource.starts_with("limits.") {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    row![
        name(obj),
        requests.join(", "),
        limits.join(", "),
        age(obj, now)
    ]
}

fn priority_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    row![
        name(obj),
        int(&obj["value"]),
        is_true(&obj["globalDefault"]),
        age(obj, now),
        text(&obj["preemptionPolicy"]),
    ]
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

/// ACCESS MODES: `RWO,ROX,RWX,RWOP`, in that order whatever the object's.
fn access_modes(modes: &Value) -> String {
    let modes: Vec<&str> = list(modes).iter().map(text).collect();
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| modes.contains(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The storage class: the beta annotation when present, else the spec field.
fn storage_class_of(obj: &Value) -> &str {
    match obj["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"].as_str() {
        Some(class) => class,
        None => text(&obj["spec"]["storageClassName"]),
    }
}

/// PVs and PVCs being deleted show `Terminating` instead of their phase.
fn volume_phase(obj: &Value) -> &str {
    if obj["metadata"]["deletionTimestamp"].is_null() {
        text(&obj["status"]["phase"])
    } else {
        "Terminating"
    }
}

fn pv_cells(pv: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &pv["spec"];
    let claim = match &spec["claimRef"] {
        Value::Null => String::new(),
        claim => format!("{}/{}", text(&claim["namespace"]), text(&claim["name"])),
    };
    row![
        name(pv),
        quantity(&spec["capacity"]["storage"]),
        access_modes(&spec["accessModes"]),
        text(&spec["persistentVolumeReclaimPolicy"]),
        volume_phase(pv),
        claim,
        storage_class_of(pv),
        optional(&spec["volumeAttributesClassName"], "<unset>"),
        text(&pv["status"]["reason"]),
        age(pv, now),
        optional(&spec["volumeMode"], "<unset>"),
    ]
}

fn pvc_cells(pvc: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&pvc["spec"], &pvc["status"]);
    let volume = text(&spec["volumeName"]);
    // Capacity and access modes show only once the claim is bound.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(&status["capacity"]["storage"]),
            access_modes(&status["accessModes"]),
        )
    };
    row![
        name(pvc),
        volume_phase(pvc),
        volume,
        capacity,
        modes,
        storage_class_of(pvc),
        optional(&spec["volumeAttributesClassName"], "<unset>"),
        age(pvc, now),
        optional(&spec["volumeMode"], "<unset>"),
    ]
}

fn storage_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let annotations = &obj["metadata"]["annotations"];
    let is_default = text(&annotations["storageclass.kubernetes.io/is-default-class"]) == "true"
        || text(&annotations["storageclass.beta.kubernetes.io/is-default-class"]) == "true";
    let mut class_name = name(obj).to_string();
    if is_default {
        class_name.push_str(" (default)");
    }
    let or_default =
        |field: &str, default: &str| obj[field].as_str().unwrap_or(default).to_string();
    row![
        class_name,
        text(&obj["provisioner"]),
        or_default("reclaimPolicy", "Delete"),
        or_default("volumeBindingMode", "Immediate"),
        is_true(&obj["allowVolumeExpansion"]),
        age(obj, now),
    ]
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/// The core Event fields the printer reads, from either Event API version.
struct EventView<'a> {
    event: &'a Value,
    involved: &'a Value,
    message: &'a str,
    first: &'a Value,
    last: &'a Value,
    count: i64,
    source: &'a Value,
    reporting_controller: &'a str,
}

impl<'a> EventView<'a> {
    fn core(event: &'a Value) -> Self {
        Self {
            event,
            involved: &event["involvedObject"],
            message: text(&event["message"]),
            first: &event["firstTimestamp"],
            last: &event["lastTimestamp"],
            count: int(&event["count"]),
            source: &event["source"],
            reporting_controller: text(&event["reportingComponent"]),
        }
    }

    /// `events.k8s.io/v1`, as its conversion to the internal Event maps it.
    fn events_v1(event: &'a Value) -> Self {
        Self {
            event,
            involved: &event["regarding"],
            message: text(&event["note"]),
            first: &event["deprecatedFirstTimestamp"],
            last: &event["deprecatedLastTimestamp"],
            count: int(&event["deprecatedCount"]),
            source: &event["deprecatedSource"],
            reporting_controller: text(&event["reportingController"]),
        }
    }
}

/// SOURCE: `component, host`, falling back to the reporting controller and instance.
fn event_source<'a>(view: &EventView<'a>) -> String {
    let first_non_empty = |a: &'a str, b: &'a str| if a.is_empty() { b } else { a };
    let component = first_non_empty(text(&view.source["component"]), view.reporting_controller);
    let instance = first_non_empty(
        text(&view.source["host"]),
        text(&view.event["reportingInstance"]),
    );
    if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    }
}

fn event_cells(view: &EventView<'_>, now: Timestamp) -> Vec<Value> {
    let event = view.event;
    let first_seen = if view.first.is_null() {
        since(&event["eventTime"], now)
    } else {
        since(view.first, now)
    };
    let mut last_seen = if view.last.is_null() {
        first_seen.clone()
    } else {
        since(view.last, now)
    };
    let series = &event["series"];
    let count = if series.is_null() {
        // Singleton events don't have a count set in the new API.
        if view.count == 0 { 1 } else { view.count }
    } else {
        last_seen = since(&series["lastObservedTime"], now);
        int(&series["count"])
    };
    let kind = text(&view.involved["kind"]).to_lowercase();
    let target = match text(&view.involved["name"]) {
        "" => kind,
        involved => format!("{kind}/{involved}"),
    };
    row![
        last_seen,
        text(&event["type"]),
        text(&event["reason"]),
        target,
        text(&view.involved["fieldPath"]),
        event_source(view),
        view.message.trim(),
        first_seen,
        count,
        name(event),
    ]
}

// ---------------------------------------------------------------------------
// Autoscaling
// ---------------------------------------------------------------------------

/// An `autoscaling/v1` HPA in the `v2` shape its internal conversion gives:
/// the CPU target and current utilization as one Resource metric.
fn hpa_v1_as_v2(hpa: &Value) -> Value {
    let (spec, status) = (&hpa["spec"], &hpa["status"]);
    if spec["metrics"].is_array() {
        // Already in the v2 shape (as stored).
        return hpa.clone();
    }
    let metrics = match &spec["targetCPUUtilizationPercentage"] {
        Value::Null => json!([]),
        target => json!([{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]),
    };
    let current = match &status["currentCPUUtilizationPercentage"] {
        Value::Null => json!([]),
        current => json!([{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": current}}}]),
    };
    json!({
        "spec": {"metrics": metrics},
        "status": {"currentMetrics": current},
    })
}

/// One metric's `current/target`, as `formatHPAMetrics` writes it; `status`
/// is the current metric at the same index (null when there is none).
fn hpa_metric(spec: &Value, status: &Value) -> String {
    match text(&spec["type"]) {
        "External" => object_metric(&spec["external"], &status["external"]),
        "Object" => object_metric(&spec["object"], &status["object"]),
        "Pods" => {
            let current = match &status["pods"] {
                Value::Null => "<unknown>".to_string(),
                pods => quantity_ptr(&pods["current"]["averageValue"]),
            };
            let target = quantity_ptr(&spec["pods"]["target"]["averageValue"]);
            format!("{current}/{target}")
        }
        "Resource" => resource_metric(&spec["resource"], &status["resource"]),
        "ContainerResource" => {
            resource_metric(&spec["containerResource"], &status["containerResource"])
        }
        _ => "<unknown type>".to_string(),
    }
}

/// External and Object metrics: an average value target, or a plain value.
fn object_metric(spec: &Value, status: &Value) -> String {
    let target = &spec["target"];
    if !target["averageValue"].is_null() {
        let current = match &status["current"]["averageValue"] {
            Value::Null => "<unknown>".to_string(),
            value => quantity(value),
        };
        return format!("{current}/{} (avg)", quantity(&target["averageValue"]));
    }
    let current = match status {
        Value::Null => "<unknown>".to_string(),
        status => quantity_ptr(&status["current"]["value"]),
    };
    format!("{current}/{}", quantity_ptr(&target["value"]))
}

/// Resource metrics: `cpu: 40%/80%`, or average values.
fn resource_metric(spec: &Value, status: &Value) -> String {
    let resource = text(&spec["name"]);
    let target = &spec["target"];
    if !target["averageValue"].is_null() {
        let current = match status {
            Value::Null => "<unknown>".to_string(),
            status => quantity_ptr(&status["current"]["averageValue"]),
        };
        return format!(
            "{resource}: {current}/{}",
            quantity(&target["averageValue"])
        );
    }
    let current = match status["current"]["averageUtilization"].as_i64() {
        Some(utilization) => format!("{utilization}%"),
        None => "<unknown>".to_string(),
    };
    let target = match target["averageUtilization"].as_i64() {
        Some(utilization) => format!("{utilization}%"),
        None => "<auto>".to_string(),
    };
    format!("{resource}: {current}/{target}")
}

/// TARGETS: two metrics and a count of the rest, or `<none>`.
fn hpa_targets(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let metrics: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| hpa_metric(spec, statuses.get(i).unwrap_or(&Value::Null)))
        .collect();
    if metrics.len() > 2 {
        format!(
            "{} + {} more...",
            metrics[..2].join(", "),
            metrics.len() - 2
        )
    } else {
        metrics.join(", ")
    }
}

/// `printHorizontalPodAutoscaler`; `metrics` holds `spec.metrics` and
/// `status.currentMetrics` (the object itself for v2).
fn hpa_cells(hpa: &Value, metrics: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&hpa["spec"], &hpa["status"]);
    let target = &spec["scaleTargetRef"];
    let min_pods = match spec["minReplicas"].as_i64() {
        Some(min) => min.to_string(),
        None => "<unset>".to_string(),
    };
    row![
        name(hpa),
        format!("{}/{}", text(&target["kind"]), text(&target["name"])),
        hpa_targets(
            list(&metrics["spec"]["metrics"]),
            list(&metrics["status"]["currentMetrics"])
        ),
        min_pods,
        int(&spec["maxReplicas"]),
        int(&status["currentReplicas"]),
        age(hpa, now),
    ]
}

/// The Swagger docs of the v1.33 API fields the printers describe columns
/// with (`SwaggerDoc()` of `k8s.io/api` v0.33.0, including the deprecated
/// group versions kube-apiserver still takes them from).
#[rustfmt::skip]
mod doc {
    pub const OBJECT_META_NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
    pub const OBJECT_META_CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
    pub const POD_STATUS_POD_IP: &str = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
    pub const POD_SPEC_NODE_NAME: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
    pub const POD_STATUS_NOMINATED_NODE_NAME: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
    pub const POD_SPEC_READINESS_GATES: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";
    pub const REPLICATION_CONTROLLER_SPEC_REPLICAS: &str = "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
    pub const REPLICATION_CONTROLLER_STATUS_REPLICAS: &str = "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
    pub const REPLICATION_CONTROLLER_STATUS_READY_REPLICAS: &str = "The number of ready replicas for this replication controller.";
    pub const REPLICATION_CONTROLLER_SPEC_SELECTOR: &str = "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub const POD_SPEC_NODE_SELECTOR: &str = "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/";
    pub const SERVICE_SPEC_TYPE: &str = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
    pub const SERVICE_SPEC_CLUSTER_IP: &str = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
    pub const SERVICE_SPEC_EXTERNAL_IPS: &str = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
    pub const SERVICE_SPEC_PORTS: &str = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
    pub const SERVICE_SPEC_SELECTOR: &str = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";
    pub const ENDPOINTS_SUBSETS: &str = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";
    pub const NODE_SYSTEM_INFO_KUBELET_VERSION: &str = "Kubelet Version reported by the node.";
    pub const NODE_SYSTEM_INFO_OS_IMAGE: &str = "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
    pub const NODE_SYSTEM_INFO_KERNEL_VERSION: &str = "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
    pub const NODE_SYSTEM_INFO_CONTAINER_RUNTIME_VERSION: &str = "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";
    pub const NODE_STATUS_ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
    pub const EVENT_LAST_TIMESTAMP: &str = "The time at which the most recent occurrence of this event was recorded.";
    pub const EVENT_TYPE: &str = "Type of this event (Normal, Warning), new types could be added in the future";
    pub const EVENT_REASON: &str = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
    pub const EVENT_INVOLVED_OBJECT: &str = "The object that this event is about.";
    pub const EVENT_SOURCE: &str = "The component reporting this event. Should be a short machine understandable string.";
    pub const EVENT_MESSAGE: &str = "A human-readable description of the status of this operation.";
    pub const EVENT_FIRST_TIMESTAMP: &str = "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
    pub const EVENT_COUNT: &str = "The number of times this event has occurred.";
    pub const OBJECT_REFERENCE_FIELD_PATH: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
    pub const SECRET_TYPE: &str = "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
    pub const SECRET_DATA: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
    pub const SERVICE_ACCOUNT_SECRETS: &str = "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
    pub const PERSISTENT_VOLUME_SPEC_CAPACITY: &str = "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity";
    pub const PERSISTENT_VOLUME_SPEC_ACCESS_MODES: &str = "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes";
    pub const PERSISTENT_VOLUME_SPEC_PERSISTENT_VOLUME_RECLAIM_POLICY: &str = "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming";
    pub const PERSISTENT_VOLUME_SPEC_CLAIM_REF: &str = "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding";
    pub const PERSISTENT_VOLUME_SPEC_VOLUME_MODE: &str = "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.";
    pub const PERSISTENT_VOLUME_STATUS_PHASE: &str = "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase";
    pub const PERSISTENT_VOLUME_STATUS_REASON: &str = "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.";
    pub const PERSISTENT_VOLUME_CLAIM_STATUS_PHASE: &str = "phase represents the current phase of PersistentVolumeClaim.";
    pub const PERSISTENT_VOLUME_CLAIM_STATUS_CAPACITY: &str = "capacity represents the actual resources of the underlying volume.";
    pub const PERSISTENT_VOLUME_CLAIM_STATUS_ACCESS_MODES: &str = "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1";
    pub const PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_NAME: &str = "volumeName is the binding reference to the PersistentVolume backing this claim.";
    pub const PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_MODE: &str = "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.";
    pub const CONFIG_MAP_DATA: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
    pub const REPLICA_SET_SPEC_REPLICAS: &str = "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
    pub const REPLICA_SET_SPEC_SELECTOR: &str = "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub const REPLICA_SET_STATUS_REPLICAS: &str = "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
    pub const REPLICA_SET_STATUS_READY_REPLICAS: &str = "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.";
    pub const DAEMON_SET_STATUS_DESIRED_NUMBER_SCHEDULED: &str = "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
    pub const DAEMON_SET_STATUS_CURRENT_NUMBER_SCHEDULED: &str = "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
    pub const DAEMON_SET_STATUS_NUMBER_READY: &str = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.";
    pub const DAEMON_SET_STATUS_UPDATED_NUMBER_SCHEDULED: &str = "The total number of nodes that are running updated daemon pod";
    pub const DAEMON_SET_STATUS_NUMBER_AVAILABLE: &str = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)";
    pub const DAEMON_SET_SPEC_SELECTOR: &str = "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub const DEPLOYMENT_STATUS_UPDATED_REPLICAS: &str = "Total number of non-terminating pods targeted by this deployment that have the desired template spec.";
    pub const DEPLOYMENT_STATUS_AVAILABLE_REPLICAS: &str = "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.";
    pub const DEPLOYMENT_SPEC_SELECTOR: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";
    pub const NETWORK_POLICY_SPEC_POD_SELECTOR: &str = "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.";
    pub const JOB_STATUS_SUCCEEDED: &str = "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.";
    pub const JOB_SPEC_SELECTOR: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
    pub const CRON_JOB_SPEC_SCHEDULE: &str = "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.";
    pub const CRON_JOB_SPEC_TIME_ZONE: &str = "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones";
    pub const CRON_JOB_SPEC_SUSPEND: &str = "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.";
    pub const CRON_JOB_STATUS_ACTIVE: &str = "A list of pointers to currently running jobs.";
    pub const CRON_JOB_STATUS_LAST_SCHEDULE_TIME: &str = "Information when was the last time the job was successfully scheduled.";
    pub const HORIZONTAL_POD_AUTOSCALER_SPEC_SCALE_TARGET_REF: &str = "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.";
    pub const HORIZONTAL_POD_AUTOSCALER_SPEC_METRICS: &str = "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond.";
    pub const HORIZONTAL_POD_AUTOSCALER_SPEC_MIN_REPLICAS: &str = "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.";
    pub const HORIZONTAL_POD_AUTOSCALER_SPEC_MAX_REPLICAS: &str = "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.";
    pub const HORIZONTAL_POD_AUTOSCALER_STATUS_CURRENT_REPLICAS: &str = "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.";
    pub const ROLE_BINDING_ROLE_REF: &str = "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";
    pub const CLUSTER_ROLE_BINDING_ROLE_REF: &str = "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";
    pub const LEASE_SPEC_HOLDER_IDENTITY: &str = "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";
    pub const STORAGE_CLASS_PROVISIONER: &str = "provisioner indicates the type of the provisioner.";
    pub const STORAGE_CLASS_RECLAIM_POLICY: &str = "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.";
    pub const STORAGE_CLASS_VOLUME_BINDING_MODE: &str = "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.";
    pub const STORAGE_CLASS_ALLOW_VOLUME_EXPANSION: &str = "allowVolumeExpansion shows whether the storage class allow volume expand.";
    pub const CONTROLLER_REVISION_REVISION: &str = "revision indicates the revision of the state represented by Data.";
    pub const PRIORITY_CLASS_VALUE: &str = "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.";
    pub const PRIORITY_CLASS_GLOBAL_DEFAULT: &str = "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.";
    pub const PRIORITY_CLASS_PREEMPTION_POLICY: &str = "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.";
    pub const ENDPOINT_SLICE_ADDRESS_TYPE: &str = "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.";
    pub const ENDPOINT_SLICE_PORTS: &str = "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.";
    pub const ENDPOINT_SLICE_ENDPOINTS: &str = "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.";
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::{BUILTIN, find};

    /// The reference capture's clock (`tables/*.json`).
    fn now() -> Timestamp {
        "2026-11-23T18:56:35Z".parse().unwrap()
    }

    /// An RFC 3339 time `secs` seconds before [`now`].
    fn before(secs: i64) -> String {
        let t = now() - SignedDuration::from_secs(secs);
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    fn resource(group: &str, version: &str, plural: &str) -> &'static ResourceDef {
        find(group, version, plural).unwrap()
    }

    fn row_of(group: &str, plural: &str, obj: Value) -> Vec<Value> {
        let version = if group == "autoscaling" { "v2" } else { "v1" };
        let resource = resource(group, version, plural);
        let cells = cells(resource, &obj, now());
        assert_eq!(cells.len(), columns(resource).len(), "{plural}");
        cells
    }

    fn meta(name: &str, age_secs: i64) -> Value {
        json!({"name": name, "namespace": "default", "creationTimestamp": before(age_secs)})
    }

    #[test]
    fn human_durations_match_apimachinery() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (4 * 3600 + 5 * 60, "4h5m"),
            (8 * 3600 + 59, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400 + 86400, "8y"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                human_duration(SignedDuration::from_secs(secs)),
                want,
                "{secs}s"
            );
        }
    }

    const REF_NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
    const REF_AGE: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

    fn shape(columns: &[Column]) -> Vec<(&str, &str, &str, i32)> {
        columns
            .iter()
            .map(|c| (c.name, c.type_, c.format, c.priority))
            .collect()
    }

    #[test]
    fn deployment_columns_and_row_match_the_reference_capture() {
        let deployments = resource("apps", "v1", "deployments");
        let columns = columns(deployments);
        assert_eq!(
            shape(&columns),
            [
                ("Name", "string", "name", 0),
                ("Ready", "string", "", 0),
                ("Up-to-date", "string", "", 0),
                ("Available", "string", "", 0),
                ("Age", "string", "", 0),
                ("Containers", "string", "", 1),
                ("Images", "string", "", 1),
                ("Selector", "string", "", 1),
            ]
        );
        assert_eq!(columns[0].description, REF_NAME);
        assert_eq!(columns[1].description, "Number of the pod with ready state");
        // 1.33 rewrote these two field docs ("non-terminating").
        assert_eq!(
            columns[2].description,
            "Total number of non-terminating pods targeted by this deployment that have the desired template spec."
        );
        assert_eq!(columns[4].description, REF_AGE);
        assert_eq!(
            columns[5].description,
            "Names of each container in the template."
        );
        assert_eq!(
            columns[6].description,
            "Images referenced by each container in the template."
        );
        assert_eq!(
            columns[7].description,
            "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."
        );
        let web = json!({
            "metadata": meta("web", 6),
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}},
            "status": {}
        });
        assert_eq!(
            cells(deployments, &web, now()),
            [
                json!("web"),
                json!("0/4"),
                json!(0),
                json!(0),
                json!("6s"),
                json!("nginx"),
                json!("nginx:1.26"),
                json!("app=web")
            ]
        );
    }

    #[test]
    fn deployment_mid_rollout() {
        let obj = json!({
            "metadata": meta("api", 3 * 86400),
            "spec": {"replicas": 3,
                     "selector": {"matchLabels": {"app": "api"},
                                  "matchExpressions": [{"key": "tier", "operator": "In", "values": ["be", "api"]}]},
                     "template": {"spec": {"containers": [
                         {"name": "api", "image": "api:2"}, {"name": "proxy", "image": "envoy:1.30"}]}}},
            "status": {"replicas": 4, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2}
        });
        assert_eq!(
            row_of("apps", "deployments", obj),
            [
                json!("api"),
                json!("2/3"),
                json!(1),
                json!(2),
                json!("3d"),
                json!("api,proxy"),
                json!("api:2,envoy:1.30"),
                json!("app=api,tier in (api,be)")
            ]
        );
        let bad = json!({"metadata": meta("x", 1), "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Bad"}]}}});
        assert_eq!(row_of("apps", "deployments", bad)[7], json!("<invalid>"));
    }

    #[test]
    fn configmaps_namespaces_and_crds_match_the_reference_capture() {
        let configmaps = resource("", "v1", "configmaps");
        assert_eq!(
            shape(&columns(configmaps)),
            [
                ("Name", "string", "name", 0),
                ("Data", "string", "", 0),
                ("Age", "string", "", 0)
            ]
        );
        assert_eq!(
            columns(configmaps)[1].description,
            "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process."
        );
        let cm =
            json!({"metadata": meta("cm1", 3), "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
        assert_eq!(
            row_of("", "configmaps", cm),
            [json!("cm1"), json!(2), json!("3s")]
        );

        let namespaces = resource("", "v1", "namespaces");
        assert_eq!(
            columns(namespaces)[1].description,
            "The status of the namespace"
        );
        let ns = json!({"metadata": {"name": "default", "creationTimestamp": before(11)}, "status": {"phase": "Active"}});
        assert_eq!(
            row_of("", "namespaces", ns),
            [json!("default"), json!("Active"), json!("11s")]
        );

        let crds = resource("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        let columns = columns(crds);
        assert_eq!(
            shape(&columns),
            [("Name", "string", "name", 0), ("Created At", "date", "", 0)]
        );
        assert_eq!(
            (columns[0].description, columns[1].description),
            (REF_NAME, REF_AGE)
        );
        let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2026-11-23T18:56:29Z"}});
        assert_eq!(
            cells(crds, &crd, now()),
            [json!("widgets.example.com"), json!("2026-11-23T18:56:29Z")]
        );
        let fractional =
            json!({"metadata": {"name": "x", "creationTimestamp": "2026-11-23T18:56:29.5+02:00"}});
        assert_eq!(
            cells(crds, &fractional, now())[1],
            json!("2026-11-23T16:56:29Z")
        );
        assert_eq!(
            cells(crds, &json!({}), now()),
            [json!(""), json!("0001-01-01T00:00:00Z")]
        );
    }

    #[test]
    fn kinds_without_printers_use_the_default_convertor() {
        for (group, plural) in [
            ("", "limitranges"),
            ("rbac.authorization.k8s.io", "roles"),
            ("rbac.authorization.k8s.io", "clusterroles"),
            ("authentication.k8s.io", "selfsubjectreviews"),
            ("apiextensions.k8s.io", "customresourcedefinitions"),
        ] {
            let names: Vec<&str> = columns(resource(group, "v1", plural))
                .iter()
                .map(|c| c.name)
                .collect();
            assert_eq!(names, ["Name", "Created At"], "{plural}");
        }
    }

    #[test]
    fn every_builtin_prints_one_cell_per_column() {
        let obj = json!({"metadata": meta("x", 90)});
        for resource in BUILTIN {
            let columns = columns(resource);
            assert_eq!(
                cells(resource, &obj, now()).len(),
                columns.len(),
                "{}",
                resource.plural
            );
            assert_eq!(
                cells(resource, &json!({}), now()).len(),
                columns.len(),
                "{}",
                resource.plural
            );
            assert_eq!(
                columns.iter().filter(|c| c.format == "name").count(),
                1,
                "{}",
                resource.plural
            );
            assert!(
                columns.iter().all(|c| !c.description.is_empty()),
                "{}",
                resource.plural
            );
        }
    }

    fn pod(status: Value) -> Value {
        json!({
            "metadata": meta("web-0", 600),
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "app:1"}]},
            "status": status
        })
    }

    fn running(ready: bool) -> Value {
        json!({"name": "app", "ready": ready, "restartCount": 0, "state": {"running": {"startedAt": before(500)}}})
    }

    /// READY, STATUS and RESTARTS of a pod.
    fn pod_summary(obj: Value) -> (String, String, String) {
        let cells = row_of("", "pods", obj);
        let text = |i: usize| cells[i].as_str().unwrap().to_string();
        (text(1), text(2), text(3))
    }

    #[test]
    fn pod_status_column_follows_kubectl() {
        let waiting = |reason: &str| json!({"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason}}});
        let terminated = |reason: &str, code: i64, signal: i64| {
            json!({"name": "app", "ready": false, "restartCount": 0,
            "state": {"terminated": {"reason": reason, "exitCode": code, "signal": signal}}})
        };
        let init = |name: &str, state: Value| json!({"name": name, "ready": false, "restartCount": 0, "state": state});
        let two_inits = |mut p: Value| {
            p["spec"]["initContainers"] = json!([{"name": "i1"}, {"name": "i2"}]);
            p
        };
        let cases: Vec<(&str, Value, (&str, &str, &str))> = vec![
            (
                "running",
                pod(json!({"phase": "Running", "containerStatuses": [running(true)]})),
                ("1/1", "Running", "0"),
            ),
            (
                "pending, unscheduled",
                pod(json!({"phase": "Pending"})),
                ("0/1", "Pending", "0"),
            ),
            (
                "creating",
                pod(
                    json!({"phase": "Pending", "containerStatuses": [waiting("ContainerCreating")]}),
                ),
                ("0/1", "ContainerCreating", "0"),
            ),
            (
                "crash loop",
                pod(
                    json!({"phase": "Running", "containerStatuses": [waiting("CrashLoopBackOff")]}),
                ),
                ("0/1", "CrashLoopBackOff", "0"),
            ),
            (
                "completed",
                pod(
                    json!({"phase": "Succeeded", "containerStatuses": [terminated("Completed", 0, 0)]}),
                ),
                ("0/1", "Completed", "0"),
            ),
            (
                "oom",
                pod(
                    json!({"phase": "Running", "containerStatuses": [terminated("OOMKilled", 137, 0)]}),
                ),
                ("0/1", "OOMKilled", "0"),
            ),
            (
                "exit code",
                pod(json!({"phase": "Failed", "containerStatuses": [terminated("", 2, 0)]})),
                ("0/1", "ExitCode:2", "0"),
            ),
            (
                "signal",
                pod(json!({"phase": "Failed", "containerStatuses": [terminated("", 137, 9)]})),
                ("0/1", "Signal:9", "0"),
            ),
            (
                "evicted",
                pod(json!({"phase": "Failed", "reason": "Evicted"})),
                ("0/1", "Evicted", "0"),
            ),
            (
                "gated",
                pod(
                    json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
                ),
                ("0/1", "SchedulingGated", "0"),
            ),
            (
                "init pending",
                two_inits(pod(json!({"phase": "Pending",
                "initContainerStatuses": [init("i1", json!({"waiting": {"reason": "PodInitializing"}})), init("i2", json!({"waiting": {"reason": "PodInitializing"}}))],
                "containerStatuses": [waiting("PodInitializing")]}))),
                ("0/1", "Init:0/2", "0"),
            ),
            (
                "init second",
                two_inits(pod(json!({"phase": "Pending",
                "initContainerStatuses": [init("i1", json!({"terminated": {"exitCode": 0, "reason": "Completed"}})), init("i2", json!({"running": {}}))]}))),
                ("0/1", "Init:1/2", "0"),
            ),
            (
                "init crash loop",
                two_inits(pod(json!({"phase": "Pending",
                "initContainerStatuses": [init("i1", json!({"waiting": {"reason": "CrashLoopBackOff"}}))]}))),
                ("0/1", "Init:CrashLoopBackOff", "0"),
            ),
            (
                "init error",
                two_inits(pod(json!({"phase": "Pending",
                "initContainerStatuses": [init("i1", json!({"terminated": {"exitCode": 1, "reason": "Error"}}))]}))),
                ("0/1", "Init:Error", "0"),
            ),
            (
                "init exit code",
                two_inits(pod(json!({"phase": "Pending",
                "initContainerStatuses": [init("i1", json!({"terminated": {"exitCode": 3}}))]}))),
                ("0/1", "Init:ExitCode:3", "0"),
            ),
            (
                "init signal",
                two_inits(pod(json!({"phase": "Pending",
                "initContainerStatuses": [init("i1", json!({"terminated": {"exitCode": 1, "signal": 15}}))]}))),
                ("0/1", "Init:Signal:15", "0"),
            ),
        ];
        for (what, obj, (ready, status, restarts)) in cases {
            assert_eq!(
                pod_summary(obj),
                (ready.into(), status.into(), restarts.into()),
                "{what}"
            );
        }
    }

    #[test]
    fn pod_restarts_show_when_the_last_one_was() {
        let mut restarted = running(true);
        restarted["restartCount"] = json!(3);
        restarted["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": before(300)}});
        let mut other = running(true);
        other["name"] = json!("sidecar");
        other["restartCount"] = json!(2);
        other["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": before(4000)}});
        let mut obj = pod(
            json!({"phase": "Running", "podIP": "10.1.2.3", "podIPs": [{"ip": "10.1.2.3"}],
            "containerStatuses": [restarted, other],
            "conditions": [{"type": "Ready", "status": "True"}]}),
        );
        obj["spec"]["containers"] = json!([{"name": "app"}, {"name": "sidecar"}]);
        assert_eq!(
            row_of("", "pods", obj),
            [
                json!("web-0"),
                json!("2/2"),
                json!("Running"),
                json!("5 (5m ago)"),
                json!("10m"),
                json!("10.1.2.3"),
                json!("node-1"),
                json!("<none>"),
                json!("<none>")
            ]
        );
        let mut no_time = running(true);
        no_time["restartCount"] = json!(1);
        let obj = pod(json!({"phase": "Running", "containerStatuses": [no_time]}));
        assert_eq!(pod_summary(obj).2, "1");
    }

    #[test]
    fn pending_pod_wide_columns_are_none() {
        let obj = json!({"metadata": meta("p", 5), "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}});
        assert_eq!(
            row_of("", "pods", obj),
            [
                json!("p"),
                json!("0/1"),
                json!("Pending"),
                json!("0"),
                json!("5s"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn terminating_pods() {
        let mut obj = pod(json!({"phase": "Running", "containerStatuses": [running(true)]}));
        obj["metadata"]["deletionTimestamp"] = json!(before(1));
        assert_eq!(pod_summary(obj.clone()).1, "Terminating");
        obj["status"]["reason"] = json!("NodeLost");
        assert_eq!(pod_summary(obj.clone()).1, "Unknown");
        let mut done = pod(
            json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        );
        done["metadata"]["deletionTimestamp"] = json!(before(1));
        assert_eq!(pod_summary(done).1, "Completed");
    }

    #[test]
    fn completed_container_beside_a_running_one() {
        let done =
            json!({"name": "job", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
        let mut obj = pod(json!({"phase": "Running", "containerStatuses": [done, running(true)]}));
        obj["spec"]["containers"] = json!([{"name": "job"}, {"name": "app"}]);
        assert_eq!(
            pod_summary(obj.clone()),
            ("1/2".into(), "NotReady".into(), "0".into())
        );
        obj["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
        assert_eq!(pod_summary(obj).1, "Running");
    }

    #[test]
    fn sidecar_init_containers_count_as_containers() {
        let mut obj = pod(json!({
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [
                {"name": "setup", "restartCount": 1, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": before(30)}}},
                {"name": "proxy", "started": true, "ready": true, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": before(200)}}}
            ],
            "containerStatuses": [running(true)]
        }));
        obj["spec"]["initContainers"] =
            json!([{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}]);
        // Restarts of ordinary init containers stop counting once the pod is initialized.
        assert_eq!(
            pod_summary(obj),
            ("2/2".into(), "Running".into(), "2 (3m20s ago)".into())
        );
    }

    #[test]
    fn pod_readiness_gates_and_nomination() {
        let mut obj = pod(json!({"phase": "Running", "nominatedNodeName": "node-9",
            "conditions": [{"type": "example.com/lb", "status": "True"}, {"type": "example.com/dns", "status": "False"}]}));
        obj["spec"]["readinessGates"] =
            json!([{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]);
        let cells = row_of("", "pods", obj);
        assert_eq!(cells[7], json!("node-9"));
        assert_eq!(cells[8], json!("1/2"));
        let columns: Vec<&str> = columns(resource("", "v1", "pods"))
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            columns,
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        assert_eq!(columns_of("pods")[3].type_, "string");
    }

    fn columns_of(plural: &str) -> Vec<Column> {
        let r = BUILTIN.iter().find(|r| r.plural == plural).unwrap();
        columns(r)
    }

    #[test]
    fn services() {
        let svc = |spec: Value, status: Value| json!({"metadata": meta("svc", 10), "spec": spec, "status": status});
        let cases = vec![
            (
                svc(
                    json!({"type": "ClusterIP", "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"],
                        "ports": [{"port": 443, "protocol": "TCP", "targetPort": 6443}]}),
                    json!({}),
                ),
                ["ClusterIP", "10.0.0.1", "<none>", "443/TCP", "<none>"],
            ),
            (
                svc(
                    json!({"type": "NodePort", "clusterIPs": ["10.0.0.7"], "selector": {"app": "web", "tier": "fe"},
                        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "nodePort": 30053, "protocol": "UDP"}]}),
                    json!({}),
                ),
                [
                    "NodePort",
                    "10.0.0.7",
                    "<none>",
                    "80:30080/TCP,53:30053/UDP",
                    "app=web,tier=fe",
                ],
            ),
            (
                svc(
                    json!({"type": "LoadBalancer", "clusterIPs": ["10.0.0.8"], "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]}),
                    json!({}),
                ),
                [
                    "LoadBalancer",
                    "10.0.0.8",
                    "<pending>",
                    "80:31000/TCP",
                    "<none>",
                ],
            ),
            (
                svc(
                    json!({"type": "LoadBalancer", "clusterIPs": ["10.0.0.8"], "externalIPs": ["192.0.2.10"],
                        "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}),
                    json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.2"}, {"ip": "203.0.113.9"}]}}),
                ),
                [
                    "LoadBalancer",
                    "10.0.0.8",
                    "203.0.113.2,203.0.113.9,lb.example.com,192.0.2.10",
                    "443:31443/TCP",
                    "<none>",
                ],
            ),
            (
                svc(
                    json!({"type": "ExternalName", "externalName": "db.example.com"}),
                    json!({}),
                ),
                [
                    "ExternalName",
                    "<none>",
                    "db.example.com",
                    "<none>",
                    "<none>",
                ],
            ),
            (
                svc(
                    json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "externalIPs": ["192.0.2.1", "192.0.2.2"]}),
                    json!({}),
                ),
                [
                    "ClusterIP",
                    "None",
                    "192.0.2.1,192.0.2.2",
                    "<none>",
                    "<none>",
                ],
            ),
        ];
        for (obj, want) in cases {
            let cells = row_of("", "services", obj);
            let got = [&cells[1], &cells[2], &cells[3], &cells[4], &cells[6]];
            assert_eq!(got.map(|c| c.as_str().unwrap()), want);
            assert_eq!(cells[5], json!("10s"));
        }
    }

    #[test]
    fn nodes() {
        let node = json!({
            "metadata": {"name": "cp-1", "creationTimestamp": before(90 * 86400),
                         "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "",
                                    "kubernetes.io/role": "master", "kubernetes.io/hostname": "cp-1"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "Hostname", "address": "cp-1"}, {"type": "InternalIP", "address": "192.168.1.10"}],
                       "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "containerd://1.7.13"}}
        });
        assert_eq!(
            row_of("", "nodes", node),
            [
                json!("cp-1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,etcd,master"),
                json!("90d"),
                json!("v1.33.1"),
                json!("192.168.1.10"),
                json!("<none>"),
                json!("Debian GNU/Linux 12 (bookworm)"),
                json!("6.1.0-18-amd64"),
                json!("containerd://1.7.13")
            ]
        );
        let fresh = json!({"metadata": {"name": "n2", "creationTimestamp": before(30)}});
        assert_eq!(
            row_of("", "nodes", fresh),
            [
                json!("n2"),
                json!("Unknown"),
                json!("<none>"),
                json!("30s"),
                json!(""),
                json!("<none>"),
                json!("<none>"),
                json!("<unknown>"),
                json!("<unknown>"),
                json!("<unknown>")
            ]
        );
        let not_ready = json!({"metadata": {"name": "n3"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(row_of("", "nodes", not_ready)[1], json!("NotReady"));
    }

    #[test]
    fn events_core_and_events_k8s_io() {
        let core = json!({
            "metadata": {"name": "web-0.17a", "namespace": "default", "creationTimestamp": before(400)},
            "involvedObject": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{app}"},
            "reason": "BackOff", "type": "Warning", "message": "  Back-off restarting failed container\n",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": before(400), "lastTimestamp": before(20), "count": 7
        });
        assert_eq!(
            row_of("", "events", core),
            [
                json!("20s"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web-0"),
                json!("spec.containers{app}"),
                json!("kubelet, node-1"),
                json!("Back-off restarting failed container"),
                json!("6m40s"),
                json!(7),
                json!("web-0.17a")
            ]
        );
        let series = json!({
            "metadata": {"name": "e2"}, "involvedObject": {"kind": "Node"}, "reason": "Rebooted", "type": "Normal",
            "eventTime": "2026-11-23T18:50:34.5Z", "reportingComponent": "node-controller", "reportingInstance": "cp",
            "series": {"count": 4, "lastObservedTime": "2026-11-23T18:56:30.500000Z"}
        });
        let cells = row_of("", "events", series);
        assert_eq!(cells[0], json!("4s"));
        assert_eq!(cells[3], json!("node"));
        assert_eq!(cells[5], json!("node-controller, cp"));
        assert_eq!(cells[7], json!("6m"));
        assert_eq!(cells[8], json!(4));
        let singleton =
            json!({"metadata": {"name": "e3"}, "involvedObject": {"kind": "Pod", "name": "p"}});
        let cells = row_of("", "events", singleton);
        assert_eq!(
            (&cells[0], &cells[7], &cells[8]),
            (&json!("<unknown>"), &json!("<unknown>"), &json!(1))
        );

        let v1 = json!({
            "metadata": {"name": "web-0.17b", "namespace": "default"},
            "regarding": {"kind": "Pod", "name": "web-0"}, "note": "Pulled image", "reason": "Pulled", "type": "Normal",
            "eventTime": before(60), "reportingController": "kubelet", "reportingInstance": "node-1",
            "deprecatedCount": 2, "deprecatedFirstTimestamp": before(120), "deprecatedLastTimestamp": before(60)
        });
        let events_v1 = resource("events.k8s.io", "v1", "events");
        assert_eq!(columns(events_v1), columns_of("events"));
        assert_eq!(
            super::cells(events_v1, &v1, now()),
            [
                json!("60s"),
                json!("Normal"),
                json!("Pulled"),
                json!("pod/web-0"),
                json!(""),
                json!("kubelet, node-1"),
                json!("Pulled image"),
                json!("2m"),
                json!(2),
                json!("web-0.17b")
            ]
        );
        let names: Vec<(&str, i32)> = columns_of("events")
            .iter()
            .map(|c| (c.name, c.priority))
            .collect();
        assert_eq!(
            names,
            [
                ("Last Seen", 0),
                ("Type", 0),
                ("Reason", 0),
                ("Object", 0),
                ("Subobject", 1),
                ("Source", 1),
                ("Message", 0),
                ("First Seen", 1),
                ("Count", 1),
                ("Name", 1)
            ]
        );
    }

    fn job(spec: Value, status: Value) -> Value {
        let mut spec = spec;
        spec["template"] = json!({"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}});
        spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}});
        json!({"metadata": meta("pi", 3600), "spec": spec, "status": status})
    }

    #[test]
    fn jobs() {
        let done = |kind: &str| json!([{"type": kind, "status": "True"}]);
        let cases = vec![
            (
                job(json!({"completions": 1}), json!({"startTime": before(300)})),
                ("Running", "0/1", "5m"),
            ),
            (
                job(
                    json!({"parallelism": 3}),
                    json!({"succeeded": 1, "startTime": before(60)}),
                ),
                ("Running", "1/1 of 3", "60s"),
            ),
            (
                job(json!({"parallelism": 1}), json!({})),
                ("Running", "0/1", ""),
            ),
            (
                job(
                    json!({"completions": 5}),
                    json!({"succeeded": 5, "startTime": before(3000), "completionTime": before(2880), "conditions": done("Complete")}),
                ),
                ("Complete", "5/5", "2m"),
            ),
            (
                job(
                    json!({"completions": 1}),
                    json!({"failed": 6, "startTime": before(100), "conditions": [{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}]}),
                ),
                ("Failed", "0/1", "100s"),
            ),
            (
                job(
                    json!({"completions": 1}),
                    json!({"conditions": done("Suspended")}),
                ),
                ("Suspended", "0/1", ""),
            ),
            (
                job(
                    json!({"completions": 1}),
                    json!({"conditions": done("FailureTarget")}),
                ),
                ("FailureTarget", "0/1", ""),
            ),
            (
                job(
                    json!({"completions": 1}),
                    json!({"conditions": [{"type": "Complete", "status": "False"}]}),
                ),
                ("Running", "0/1", ""),
            ),
        ];
        for (obj, (status, completions, duration)) in cases {
            let cells = row_of("batch", "jobs", obj);
            assert_eq!(
                (cells[1].as_str(), cells[2].as_str(), cells[3].as_str()),
                (Some(status), Some(completions), Some(duration))
            );
            assert_eq!(cells[4], json!("60m"));
            assert_eq!(cells[7], json!("batch.kubernetes.io/controller-uid=u1"));
        }
        let mut deleting = job(json!({"completions": 1}), json!({}));
        deleting["metadata"]["deletionTimestamp"] = json!(before(1));
        assert_eq!(row_of("batch", "jobs", deleting)[1], json!("Terminating"));
        let names: Vec<&str> = columns_of("jobs").iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
    }

    #[test]
    fn cron_jobs() {
        let obj = json!({
            "metadata": meta("backup", 86400),
            "spec": {"schedule": "*/5 * * * *", "suspend": false,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "backup-1"}], "lastScheduleTime": before(125)}
        });
        assert_eq!(
            row_of("batch", "cronjobs", obj),
            [
                json!("backup"),
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("2m5s"),
                json!("24h"),
                json!("b"),
                json!("busybox"),
                json!("<none>")
            ]
        );
        let never = json!({"metadata": meta("n", 5), "spec": {"schedule": "@daily", "timeZone": "Etc/UTC"}});
        let cells = row_of("batch", "cronjobs", never);
        assert_eq!(
            (&cells[2], &cells[3], &cells[5]),
            (&json!("Etc/UTC"), &json!("<unset>"), &json!("<none>"))
        );
    }

    #[test]
    fn replica_sets_stateful_sets_daemon_sets_and_rcs() {
        let template = json!({"spec": {"containers": [{"name": "c", "image": "i:1"}], "nodeSelector": {"disk": "ssd"}}});
        let rs = json!({"metadata": meta("web-5d8", 7200),
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8"}}, "template": template},
            "status": {"replicas": 3, "readyReplicas": 2}});
        assert_eq!(
            row_of("apps", "replicasets", rs),
            [
                json!("web-5d8"),
                json!(3),
                json!(3),
                json!(2),
                json!("120m"),
                json!("c"),
                json!("i:1"),
                json!("app=web,pod-template-hash=5d8")
            ]
        );
        let sts = json!({"metadata": meta("db", 10), "spec": {"replicas": 3, "template": template}, "status": {"readyReplicas": 1}});
        assert_eq!(
            row_of("apps", "statefulsets", sts),
            [
                json!("db"),
                json!("1/3"),
                json!("10s"),
                json!("c"),
                json!("i:1")
            ]
        );
        let ds = json!({"metadata": meta("agent", 10), "spec": {"selector": {}, "template": template},
            "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 1, "numberAvailable": 2}});
        assert_eq!(
            row_of("apps", "daemonsets", ds),
            [
                json!("agent"),
                json!(3),
                json!(3),
                json!(2),
                json!(1),
                json!(2),
                json!("disk=ssd"),
                json!("10s"),
                json!("c"),
                json!("i:1"),
                json!("<none>")
            ]
        );
        let rc = json!({"metadata": meta("old", 10), "spec": {"replicas": 2, "selector": {"app": "old"}, "template": template}, "status": {"replicas": 2}});
        assert_eq!(
            row_of("", "replicationcontrollers", rc),
            [
                json!("old"),
                json!(2),
                json!(2),
                json!(0),
                json!("10s"),
                json!("c"),
                json!("i:1"),
                json!("app=old")
            ]
        );
        let pt = json!({"metadata": meta("pt", 10), "template": {"metadata": {"labels": {"b": "2", "a": "1"}}, "spec": template["spec"]}});
        assert_eq!(
            row_of("", "podtemplates", pt),
            [json!("pt"), json!("c"), json!("i:1"), json!("a=1,b=2")]
        );
    }

    #[test]
    fn secrets_service_accounts_and_quotas() {
        let secret = json!({"metadata": meta("tls", 10), "type": "kubernetes.io/tls",
            "data": {"tls.crt": "", "tls.key": ""}, "stringData": {"tls.key": "x", "ca.crt": "y"}});
        assert_eq!(
            row_of("", "secrets", secret),
            [
                json!("tls"),
                json!("kubernetes.io/tls"),
                json!(3),
                json!("10s")
            ]
        );
        let sa = json!({"metadata": meta("default", 10), "secrets": [{"name": "t"}]});
        assert_eq!(
            row_of("", "serviceaccounts", sa),
            [json!("default"), json!(1), json!("10s")]
        );
        let quota = json!({"metadata": meta("q", 10), "status": {
            "hard": {"requests.cpu": "2", "limits.memory": "2Gi", "pods": "10", "limits.cpu": "4"},
            "used": {"requests.cpu": "500m", "limits.cpu": "1", "pods": 3}}});
        assert_eq!(
            row_of("", "resourcequotas", quota),
            [
                json!("q"),
                json!("pods: 3/10, requests.cpu: 500m/2"),
                json!("limits.cpu: 1/4, limits.memory: 0/2Gi"),
                json!("10s")
            ]
        );
        let names: Vec<&str> = columns_of("resourcequotas")
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["Name", "Request", "Limit", "Age"]);
    }

    #[test]
    fn persistent_volumes_and_claims() {
        let pv = json!({"metadata": meta("pv-1", 10),
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast", "volumeMode": "Filesystem",
                     "claimRef": {"namespace": "default", "name": "data"}},
            "status": {"phase": "Bound"}});
        assert_eq!(
            row_of("", "persistentvolumes", pv),
            [
                json!("pv-1"),
                json!("10Gi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("default/data"),
                json!("fast"),
                json!("<unset>"),
                json!(""),
                json!("10s"),
                json!("Filesystem")
            ]
        );
        let mut pvc = json!({"metadata": meta("data", 10),
            "spec": {"resources": {"requests": {"storage": "5Gi"}}, "storageClassName": "fast"},
            "status": {"phase": "Pending"}});
        assert_eq!(
            row_of("", "persistentvolumeclaims", pvc.clone()),
            [
                json!("data"),
                json!("Pending"),
                json!(""),
                json!(""),
                json!(""),
                json!("fast"),
                json!("<unset>"),
                json!("10s"),
                json!("<unset>")
            ]
        );
        pvc["spec"]["volumeName"] = json!("pv-1");
        pvc["status"] = json!({"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOncePod"]});
        pvc["metadata"]["deletionTimestamp"] = json!(before(1));
        pvc["metadata"]["annotations"] =
            json!({"volume.beta.kubernetes.io/storage-class": "legacy"});
        let cells = row_of("", "persistentvolumeclaims", pvc);
        assert_eq!(
            &cells[1..6],
            [
                json!("Terminating"),
                json!("pv-1"),
                json!("10Gi"),
                json!("RWOP"),
                json!("legacy")
            ]
        );
    }

    #[test]
    fn autoscalers() {
        let hpa = json!({"metadata": meta("web", 10),
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [
                         {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                         {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}},
                         {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}]},
            "status": {"currentReplicas": 3, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "90m"}}}]}});
        assert_eq!(
            row_of("autoscaling", "horizontalpodautoscalers", hpa),
            [
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 45%/80%, memory: <unknown>/1Gi + 1 more..."),
                json!("2"),
                json!(10),
                json!(3),
                json!("10s")
            ]
        );
        let external = json!({"metadata": meta("q", 10), "spec": {"maxReplicas": 4, "metrics": [
            {"type": "External", "external": {"target": {"type": "AverageValue", "averageValue": "30"}}},
            {"type": "Object", "object": {"target": {"type": "Value", "value": "5"}}}]},
            "status": {"currentMetrics": [{"type": "External", "external": {"current": {"averageValue": "12"}}}]}});
        let cells = row_of("autoscaling", "horizontalpodautoscalers", external);
        assert_eq!(
            (&cells[2], &cells[3]),
            (&json!("12/30 (avg), <unknown>/5"), &json!("<unset>"))
        );
        let none = json!({"metadata": meta("n", 10), "spec": {}});
        assert_eq!(
            row_of("autoscaling", "horizontalpodautoscalers", none)[2],
            json!("<none>")
        );

        let v1 = resource("autoscaling", "v1", "horizontalpodautoscalers");
        let old = json!({"metadata": meta("old", 10), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "old"},
            "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}, "status": {"currentReplicas": 1}});
        assert_eq!(
            super::cells(v1, &old, now())[2],
            json!("cpu: <unknown>/50%")
        );
        let mut measured = old.clone();
        measured["status"]["currentCPUUtilizationPercentage"] = json!(20);
        assert_eq!(super::cells(v1, &measured, now())[2], json!("cpu: 20%/50%"));
    }

    #[test]
    fn networking() {
        let ing = json!({"metadata": meta("web", 10),
            "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                     "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {}, {"host": "c.example.com"}, {"host": "d.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}]}}});
        assert_eq!(
            row_of("networking.k8s.io", "ingresses", ing),
            [
                json!("web"),
                json!("nginx"),
                json!("a.example.com,b.example.com,c.example.com + 2 more..."),
                json!("198.51.100.7"),
                json!("80, 443"),
                json!("10s")
            ]
        );
        let catch_all = json!({"metadata": meta("all", 10), "spec": {"defaultBackend": {}}});
        assert_eq!(
            row_of("networking.k8s.io", "ingresses", catch_all)[1..5],
            [json!("<none>"), json!("*"), json!(""), json!("80")]
        );
        let class = json!({"metadata": meta("nginx", 10), "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
        assert_eq!(
            row_of("networking.k8s.io", "ingressclasses", class),
            [
                json!("nginx"),
                json!("k8s.io/ingress-nginx"),
                json!("IngressParameters.k8s.example.com/external-lb"),
                json!("10s")
            ]
        );
        let np = json!({"metadata": meta("deny", 10), "spec": {"podSelector": {}}});
        assert_eq!(
            row_of("networking.k8s.io", "networkpolicies", np),
            [json!("deny"), json!("<none>"), json!("10s")]
        );
        let ep = json!({"metadata": meta("web", 10), "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::2"}], "ports": [{"port": 80}, {"port": 443}]}]});
        assert_eq!(
            row_of("", "endpoints", ep)[1],
            json!("10.0.0.1:80,[fd00::2]:80,10.0.0.1:443 + 1 more...")
        );
        let headless =
            json!({"metadata": meta("h", 10), "subsets": [{"addresses": [{"ip": "10.0.0.3"}]}]});
        assert_eq!(row_of("", "endpoints", headless)[1], json!("10.0.0.3"));
        assert_eq!(
            row_of("", "endpoints", json!({"metadata": meta("e", 1)}))[1],
            json!("<none>")
        );
        let slice = json!({"metadata": meta("web-abc", 10), "addressType": "IPv4",
            "ports": [{"port": 80, "name": "http"}, {"name": "metrics"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}, {"addresses": ["10.0.0.4"]}]});
        assert_eq!(
            row_of("discovery.k8s.io", "endpointslices", slice),
            [
                json!("web-abc"),
                json!("IPv4"),
                json!("80,metrics,*"),
                json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."),
                json!("10s")
            ]
        );
        let empty_slice = json!({"metadata": meta("e", 10), "addressType": "IPv6"});
        assert_eq!(
            row_of("discovery.k8s.io", "endpointslices", empty_slice)[2..4],
            [json!("<unset>"), json!("<unset>")]
        );
    }

    #[test]
    fn policy_rbac_storage_scheduling_coordination() {
        let pdb = json!({"metadata": meta("pdb", 10), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            row_of("policy", "poddisruptionbudgets", pdb),
            [
                json!("pdb"),
                json!("50%"),
                json!("N/A"),
                json!(1),
                json!("10s")
            ]
        );
        let pdb2 = json!({"metadata": meta("pdb2", 10), "spec": {"maxUnavailable": 1}});
        assert_eq!(
            row_of("policy", "poddisruptionbudgets", pdb2)[1..3],
            [json!("N/A"), json!("1")]
        );
        let rb = json!({"metadata": meta("rb", 10), "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                         {"kind": "ServiceAccount", "namespace": "ci", "name": "runner"}, {"kind": "User", "name": "bob"}]});
        assert_eq!(
            row_of("rbac.authorization.k8s.io", "rolebindings", rb.clone()),
            [
                json!("rb"),
                json!("ClusterRole/view"),
                json!("10s"),
                json!("alice, bob"),
                json!("devs"),
                json!("ci/runner")
            ]
        );
        assert_eq!(
            row_of("rbac.authorization.k8s.io", "clusterrolebindings", rb)[1],
            json!("ClusterRole/view")
        );
        assert_eq!(
            columns_of("clusterrolebindings")[3].description,
            "Users in the clusterRoleBinding"
        );
        let sc = json!({"metadata": {"name": "standard", "creationTimestamp": before(10),
                                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                        "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
        assert_eq!(
            row_of("storage.k8s.io", "storageclasses", sc),
            [
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("WaitForFirstConsumer"),
                json!(false),
                json!("10s")
            ]
        );
        let pc = json!({"metadata": meta("high", 10), "value": 1000000, "globalDefault": true, "preemptionPolicy": "Never"});
        assert_eq!(
            row_of("scheduling.k8s.io", "priorityclasses", pc),
            [
                json!("high"),
                json!(1000000),
                json!(true),
                json!("10s"),
                json!("Never")
            ]
        );
        let lease =
            json!({"metadata": meta("kube-scheduler", 10), "spec": {"holderIdentity": "cp-1_abc"}});
        assert_eq!(
            row_of("coordination.k8s.io", "leases", lease),
            [json!("kube-scheduler"), json!("cp-1_abc"), json!("10s")]
        );
        let unheld = json!({"metadata": meta("l", 10), "spec": {}});
        assert_eq!(
            row_of("coordination.k8s.io", "leases", unheld)[1],
            json!("")
        );
    }

    #[test]
    fn controller_revisions() {
        let cr = json!({"metadata": {"name": "agent-7c9", "creationTimestamp": before(10), "ownerReferences": [
            {"apiVersion": "v1", "kind": "Pod", "name": "other"},
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": true}]}, "revision": 3});
        assert_eq!(
            row_of("apps", "controllerrevisions", cr),
            [
                json!("agent-7c9"),
                json!("daemonset.apps/agent"),
                json!(3),
                json!("10s")
            ]
        );
        let orphan = json!({"metadata": meta("o", 10), "revision": 1});
        assert_eq!(
            row_of("apps", "controllerrevisions", orphan)[1],
            json!("<none>")
        );
    }
}
