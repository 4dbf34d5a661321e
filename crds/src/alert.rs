//! `AlertRule` and `Alert`: rules over telemetry and the alerts they fire,
//! with the acknowledge / silence / resolve life cycle, grouping (one outage,
//! one notification) and receivers (DingTalk, WeCom, email, webhook).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reference::{NAME_PATTERN, ObjectRef, SecretRef};
use crate::severity::Severity;

/// A duration in Prometheus form: one or more number+unit pairs, e.g. `30s`,
/// `5m`, `1h30m`.
const DURATION: &str = r"^([0-9]+(ms|s|m|h|d))+$";

/// A rule over telemetry that fires Alerts.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "AlertRule",
    plural = "alertrules",
    shortname = "ar",
    category = "mars",
    namespaced,
    status = "AlertRuleStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "AlertRule is a rule over telemetry (a PromQL expression compared with a threshold for a duration) with a severity, labels, grouping keys and notification receivers (DingTalk, WeCom, email, webhook). While it holds, the alert evaluator keeps one Alert per group and may open a Case.",
    printcolumn(
        name = "Severity",
        type_ = "string",
        json_path = ".spec.severity",
        description = "critical, high, medium, low or info"
    ),
    printcolumn(
        name = "For",
        type_ = "string",
        json_path = ".spec.for",
        description = "How long the condition must hold"
    ),
    printcolumn(
        name = "Firing",
        type_ = "integer",
        json_path = ".status.firing",
        description = "Alerts currently firing"
    ),
    printcolumn(
        name = "Expr",
        type_ = "string",
        json_path = ".spec.expr",
        priority = 1,
        description = "Expression evaluated"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct AlertRuleSpec {
    /// PromQL expression over Mars telemetry, one series per subject, e.g.
    /// `mars_link_utilization_percent` or
    /// `rate(mars_device_interface_crc_errors_total[5m])`.
    #[schemars(length(min = 1, max = 4096))]
    pub expr: String,
    /// Comparison of each series' value with a threshold; the rule holds
    /// for the series where it is true.
    pub threshold: AlertThreshold,
    /// How long the comparison must hold before the Alert fires, e.g. `5m`
    /// (Prometheus duration). Defaults to `0s` (fire at once).
    #[serde(rename = "for", default = "zero_seconds")]
    #[schemars(length(max = 32), pattern(DURATION))]
    pub for_duration: String,
    /// Severity of the Alerts fired.
    pub severity: Severity,
    /// Summary template for the Alert, e.g.
    /// `{{ $labels.link }} at {{ $value }}% utilisation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub summary: Option<String>,
    /// Labels added to every Alert, e.g. `team: noc`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub labels: BTreeMap<String, String>,
    /// Series labels that form the group key: series with equal values share
    /// one Alert and one notification, e.g. `[site]` turns a site outage into
    /// one alert instead of hundreds. Omitted means one Alert per series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(length(max = 63)))]
    pub group_by: Vec<String>,
    /// Which object an Alert is about: the kind, and the series label that
    /// holds its name (e.g. kind `Link`, label `link`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<SubjectMapping>,
    /// Where notifications go.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub receivers: Vec<Receiver>,
    /// Re-notify an unacknowledged firing Alert this often, e.g. `4h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), pattern(DURATION))]
    pub repeat_interval: Option<String>,
    /// Open a Case (remediation) when an Alert of this rule fires.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open_case: bool,
    /// Stop evaluating the rule without deleting it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

fn zero_seconds() -> String {
    "0s".into()
}

/// A comparison with a threshold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertThreshold {
    /// `gt` (>), `gte` (>=), `lt` (<), `lte` (<=), `eq` (==) or `ne` (!=).
    pub operator: Operator,
    /// The threshold, in the unit of the expression, e.g. `85` (percent).
    pub value: f64,
}

/// Comparison operator.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum Operator {
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
}

impl Operator {
    /// Whether `value` satisfies the comparison with `threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Operator::Gt => value > threshold,
            Operator::Gte => value >= threshold,
            Operator::Lt => value < threshold,
            Operator::Lte => value <= threshold,
            Operator::Eq => value == threshold,
            Operator::Ne => value != threshold,
        }
    }
}

/// How an Alert's subject is found from a series.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectMapping {
    /// Kind of the subject, e.g. `Link`, `Device`, `Site`, `Workload`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[A-Z][A-Za-z0-9]*$"))]
    pub kind: String,
    /// Series label holding the subject's name, e.g. `link`.
    #[schemars(length(min = 1, max = 63))]
    pub name_label: String,
    /// Series label holding the subject's namespace, for namespaced kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub namespace_label: Option<String>,
}

/// A notification receiver.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.type != 'email' || (has(self.to) && size(self.to) > 0)").message("an email receiver needs at least one address in to").field_path(".to"),
    validation = Rule::new("self.type == 'email' || has(self.url) || has(self.secretRef)").message("a dingtalk, wecom or webhook receiver needs url or secretRef").field_path(".url")
)]
#[serde(rename_all = "camelCase")]
pub struct Receiver {
    /// Receiver name, e.g. `noc-dingtalk`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub name: String,
    /// `dingtalk` (钉钉 group robot), `wecom` (企业微信 group robot), `email`
    /// or `webhook` (JSON POST).
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// Robot or webhook URL without secrets, e.g.
    /// `https://oapi.dingtalk.com/robot/send`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), pattern(r"^https?://"))]
    pub url: Option<String>,
    /// Secret with the access token, signing secret or full URL (keys
    /// `token`, `secret`, `url`), so credentials never sit in the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// Email addresses, for `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 254)))]
    pub to: Option<Vec<String>>,
    /// Phone numbers or user IDs to @-mention in DingTalk or WeCom.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 64)))]
    pub mention: Vec<String>,
    /// Lowest severity sent to this receiver; defaults to all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
}

/// Kind of notification receiver.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum ReceiverType {
    /// DingTalk group robot.
    Dingtalk,
    /// WeCom (WeChat Work) group robot.
    Wecom,
    /// Email.
    Email,
    /// Generic JSON webhook.
    Webhook,
}

/// Evaluation state of a rule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct AlertRuleStatus {
    /// Alerts of this rule currently firing (not resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firing: Option<i32>,
    /// When the rule was last evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluation: Option<Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Ready` (expression parses and evaluates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// One alert: a group of series for which a rule holds. Created by the
/// alert evaluator; operators acknowledge or silence it by editing spec.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "Alert",
    plural = "alerts",
    shortname = "al",
    category = "mars",
    namespaced,
    status = "AlertStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "Alert is one firing of an AlertRule for one group key, about one subject (a Link, Device, Site, Workload …). The alert evaluator creates it and keeps its state (firing, acknowledged, silenced, resolved) in status; operators acknowledge it by setting spec.acknowledgedBy and silence it by setting spec.silencedUntil.",
    printcolumn(
        name = "Severity",
        type_ = "string",
        json_path = ".spec.severity",
        description = "critical, high, medium, low or info"
    ),
    printcolumn(
        name = "State",
        type_ = "string",
        json_path = ".status.state",
        description = "firing, acknowledged, silenced or resolved"
    ),
    printcolumn(
        name = "Rule",
        type_ = "string",
        json_path = ".spec.rule",
        description = "AlertRule that fired"
    ),
    printcolumn(
        name = "Subject",
        type_ = "string",
        json_path = ".spec.subject.name",
        description = "Object the alert is about"
    ),
    printcolumn(
        name = "Value",
        type_ = "number",
        json_path = ".spec.value",
        priority = 1,
        description = "Value when the alert fired"
    ),
    printcolumn(
        name = "Group",
        type_ = "string",
        json_path = ".spec.groupKey",
        priority = 1,
        description = "Group key"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("!has(self.acknowledgedAt) || has(self.acknowledgedBy)").message("acknowledgedAt needs acknowledgedBy").field_path(".acknowledgedBy")
)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// Name of the AlertRule (same namespace) that fired.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub rule: String,
    /// Severity, copied from the rule.
    pub severity: Severity,
    /// Values of the rule's `groupBy` labels, e.g. `site=gz-nansha`; alerts
    /// with the same rule and group key are one alert.
    #[schemars(length(max = 1024))]
    pub group_key: String,
    /// The object the alert is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<ObjectRef>,
    /// Labels of the series plus the rule's labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub labels: BTreeMap<String, String>,
    /// Rendered summary, e.g. `lk-bj-sh-fiber-1 at 93.4% utilisation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub summary: Option<String>,
    /// When the rule started to hold (before `for` elapsed).
    pub starts_at: Time,
    /// Value of the expression when the alert fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Who acknowledged the alert (user name); set by an operator to stop
    /// repeat notifications while someone works on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Time>,
    /// Suppress notifications until this time (RFC 3339, e.g.
    /// `2025-06-01T02:00:00Z`), e.g. during planned maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced_until: Option<Time>,
    /// Comment from the operator who acknowledged or silenced the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub comment: Option<String>,
}

/// Life-cycle state of an alert, written by the alert evaluator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatus {
    /// `firing` (holds, notifying), `acknowledged` (holds, someone is on
    /// it), `silenced` (holds, notifications suppressed until
    /// `spec.silencedUntil`) or `resolved` (no longer holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AlertState>,
    /// Latest value of the expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_value: Option<f64>,
    /// When the rule stopped holding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Time>,
    /// When the last notification was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_notified: Option<Time>,
    /// Series folded into this alert by grouping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<i32>,
    /// Name of the Case opened for this alert, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
}

/// Life-cycle state of an alert.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum AlertState {
    /// Holds and notifies.
    Firing,
    /// Holds; someone is on it.
    Acknowledged,
    /// Holds; notifications suppressed.
    Silenced,
    /// No longer holds.
    Resolved,
}
