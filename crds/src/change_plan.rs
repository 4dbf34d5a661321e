//! `ChangePlan`: the steps that fix a Case, with rollback, verification,
//! risk and approval, plus [`validate_change_plan`], the deterministic gate
//! every plan (human- or LLM-drafted) must pass.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::reference::{LocalRef, NAME_PATTERN, ObjectRef};

/// Smallest allowed `timeoutSeconds` of a step.
pub const MIN_TIMEOUT_SECONDS: i32 = 10;
/// Largest allowed `timeoutSeconds` of a step (one day).
pub const MAX_TIMEOUT_SECONDS: i32 = 86_400;
/// Largest allowed `retries` of a step.
pub const MAX_RETRIES: i32 = 3;
/// Highest risk score a plan may have and still be approved automatically
/// (`approval.mode: auto`); above it a human must approve.
pub const AUTO_APPROVAL_MAX_RISK: f64 = 0.3;

/// The steps that fix a Case, how to undo them and how to tell they worked.
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "ChangePlan",
    plural = "changeplans",
    shortname = "cp",
    category = "mars",
    namespaced,
    status = "ChangePlanStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "ChangePlan is the remediation of a Case: ordered steps (action, target, timeout, retries), rollback steps, verification checks against objectives, a risk score in [0, 1], approval (automatic under a risk bar, by a human above it) and change-freeze windows. Plans may be drafted by people or an LLM; only the deterministic gate (the Case state machine's guards) lets one run.",
    printcolumn(
        name = "Case",
        type_ = "string",
        json_path = ".spec.caseRef.name",
        description = "Case this plan remediates"
    ),
    printcolumn(
        name = "Risk",
        type_ = "number",
        json_path = ".spec.riskScore",
        description = "Risk score, 0 (none) to 1 (certain harm)"
    ),
    printcolumn(
        name = "Approval",
        type_ = "string",
        json_path = ".spec.approval.mode",
        description = "auto or manual"
    ),
    printcolumn(
        name = "Approved-By",
        type_ = "string",
        json_path = ".spec.approval.approvedBy",
        priority = 1,
        description = "Who approved"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Execution phase"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct ChangePlanSpec {
    /// The Case (same namespace) this plan remediates.
    pub case_ref: LocalRef,
    /// One-paragraph summary of what the plan does and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub summary: Option<String>,
    /// Who drafted the plan: a user name, or `planner/<model>` for an LLM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub drafted_by: Option<String>,
    /// Steps, executed in order; at least one.
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub steps: Vec<Step>,
    /// Steps that undo the plan, executed in order when a step or the
    /// verification fails. Required before the plan can be approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub rollback: Vec<Step>,
    /// Checks that prove the fix worked, against the affected objectives.
    /// Required before the plan can be approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub verify: Vec<VerifyCheck>,
    /// Estimated probability-weighted harm, 0 (none) to 1 (certain harm).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub risk_score: f64,
    /// Who lets the plan run.
    #[serde(default)]
    pub approval: Approval,
    /// Periods when the plan must not execute (change freezes, e.g. Singles'
    /// Day or Spring Festival), in addition to fleet-wide freezes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub freeze_windows: Vec<FreezeWindow>,
}

/// One step of a plan.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Step name, unique within the list, e.g. `drain-link`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub name: String,
    /// What to do, as `<domain>.<verb>`, e.g. `traffic.steer`,
    /// `device.apply-intent`, `device.shutdown-interface`, `link.drain`,
    /// `workload.failover`, `workload.scale`, `workload.rollback`,
    /// `site.cordon`, `notify.human`.
    #[schemars(length(min = 1, max = 128))]
    pub action: String,
    /// The object the action applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ObjectRef>,
    /// Action parameters, e.g. `interface: 10GE1/0/3`, `replicas: "6"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub parameters: BTreeMap<String, String>,
    /// Give up on an attempt after this many seconds, at least 10.
    #[schemars(range(min = 10, max = 86400))]
    pub timeout_seconds: i32,
    /// Attempts after the first failure, 0-3. Defaults to 0.
    #[serde(default)]
    #[schemars(range(min = 0, max = 3))]
    pub retries: i32,
}

/// A check that the fix worked.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyCheck {
    /// Check name, e.g. `link-utilisation-normal`.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub name: String,
    /// The objective checked, e.g. `Workload/trade-gateway latencyP99Ms`,
    /// in words, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub objective: Option<String>,
    /// PromQL expression, e.g. `mars_link_utilization_percent{link="lk-bj-sh-fiber-1"}`.
    #[schemars(length(min = 1, max = 4096))]
    pub expr: String,
    /// Comparison the expression must satisfy for the whole window.
    pub threshold: crate::alert::AlertThreshold,
    /// How long the check must hold, in seconds (10-86400). Defaults to 300.
    #[serde(default = "five_minutes")]
    #[schemars(range(min = 10, max = 86400))]
    pub window_seconds: i32,
}

fn five_minutes() -> i32 {
    300
}

/// Approval policy and record.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("!has(self.approvedAt) || has(self.approvedBy)").message("approvedAt needs approvedBy").field_path(".approvedBy")
)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// `auto`: approved by policy when `riskScore` is at most 0.3 and no
    /// freeze is in force. `manual` (the default): a human with the
    /// operator role approves by setting `approvedBy`.
    #[serde(default)]
    pub mode: ApprovalMode,
    /// User who approved the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub approved_by: Option<String>,
    /// When the plan was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<Time>,
    /// Why it was approved (or the ticket number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub comment: Option<String>,
}

/// Who approves a plan.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum ApprovalMode {
    /// Policy approves low-risk plans.
    Auto,
    /// A human approves.
    #[default]
    Manual,
}

/// A period during which the plan must not execute.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(
    crates(kube_core = "::kube_core"),
    validation = Rule::new("self.end > self.start").message("a freeze window must end after it starts").field_path(".end")
)]
#[serde(rename_all = "camelCase")]
pub struct FreezeWindow {
    /// Start, RFC 3339, e.g. `2025-11-10T00:00:00Z`.
    pub start: Time,
    /// End, RFC 3339; after `start`.
    pub end: Time,
    /// Why, e.g. `Double 11`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub reason: Option<String>,
}

/// Execution state of a plan, written by the remediation controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct ChangePlanStatus {
    /// `Pending`, `Approved`, `Executing`, `Verifying`, `Succeeded`,
    /// `Failed` or `RolledBack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PlanPhase>,
    /// Progress of each step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub steps: Vec<StepStatus>,
    /// Result of each verification check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub checks: Vec<CheckStatus>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Valid` (passes the gate), `Approved`,
    /// `Frozen` (a freeze window is in force).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Execution phase of a plan.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(description = "")]
pub enum PlanPhase {
    /// Waiting for approval.
    Pending,
    /// Approved, not started.
    Approved,
    /// Steps running.
    Executing,
    /// Steps done; checks running.
    Verifying,
    /// Checks passed.
    Succeeded,
    /// A step or check failed and rollback did not complete.
    Failed,
    /// A step or check failed and the rollback steps completed.
    RolledBack,
}

/// Progress of one step.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// Step name.
    pub name: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Skipped`.
    pub state: StepState,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: i32,
    /// When the first attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the step finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Output or error of the last attempt, shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// State of one step.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(description = "")]
pub enum StepState {
    /// Not started.
    Pending,
    /// In progress.
    Running,
    /// Done.
    Succeeded,
    /// Gave up after its retries.
    Failed,
    /// Not run because an earlier step failed.
    Skipped,
}

/// Result of one verification check.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckStatus {
    /// Check name.
    pub name: String,
    /// True when the check held for its whole window.
    pub passed: bool,
    /// Value observed at the end of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// Explanation, e.g. `p99 183ms <= 200ms for 300s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Checks `spec` against the step rules the API server and the Case guards
/// enforce, returning `(field path, message)` pairs in kube's path style
/// (`spec.steps[0].timeoutSeconds`); empty means valid. Pure, so the API
/// server, controllers and LLM planners all get the same verdict.
pub fn validate_change_plan(spec: &ChangePlanSpec) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if spec.steps.is_empty() {
        errors.push((
            "spec.steps".to_string(),
            "a plan needs at least one step".to_string(),
        ));
    }
    validate_steps("spec.steps", &spec.steps, &mut errors);
    validate_steps("spec.rollback", &spec.rollback, &mut errors);
    for (i, check) in spec.verify.iter().enumerate() {
        if check.name.trim().is_empty() {
            errors.push((
                format!("spec.verify[{i}].name"),
                "a verification check needs a name".to_string(),
            ));
        }
        if check.expr.trim().is_empty() {
            errors.push((
                format!("spec.verify[{i}].expr"),
                "a verification check needs an expression to evaluate".to_string(),
            ));
        }
    }
    if !(0.0..=1.0).contains(&spec.risk_score) {
        errors.push((
            "spec.riskScore".to_string(),
            format!("riskScore must be between 0 and 1, got {}", spec.risk_score),
        ));
    }
    errors
}

/// The per-step rules shared by `steps` and `rollback`.
fn validate_steps(path: &str, steps: &[Step], errors: &mut Vec<(String, String)>) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, step) in steps.iter().enumerate() {
        if step.name.trim().is_empty() {
            errors.push((
                format!("{path}[{i}].name"),
                "a step needs a name".to_string(),
            ));
        } else if !seen.insert(step.name.as_str()) {
            errors.push((
                format!("{path}[{i}].name"),
                format!("step name {:?} is used twice", step.name),
            ));
        }
        if step.action.trim().is_empty() {
            errors.push((
                format!("{path}[{i}].action"),
                "a step needs an action saying what to do".to_string(),
            ));
        }
        if step.timeout_seconds < MIN_TIMEOUT_SECONDS {
            errors.push((
                format!("{path}[{i}].timeoutSeconds"),
                format!(
                    "timeoutSeconds must be at least {MIN_TIMEOUT_SECONDS}, got {}",
                    step.timeout_seconds
                ),
            ));
        } else if step.timeout_seconds > MAX_TIMEOUT_SECONDS {
            errors.push((
                format!("{path}[{i}].timeoutSeconds"),
                format!(
                    "timeoutSeconds must be at most {MAX_TIMEOUT_SECONDS} (one day), got {}",
                    step.timeout_seconds
                ),
            ));
        }
        if !(0..=MAX_RETRIES).contains(&step.retries) {
            errors.push((
                format!("{path}[{i}].retries"),
                format!(
                    "retries must be between 0 and {MAX_RETRIES}, got {}",
                    step.retries
                ),
            ));
        }
    }
}

/// The freeze window in force at `now`, if any; a plan must not start
/// executing inside one.
pub fn active_freeze<'a>(spec: &'a ChangePlanSpec, now: &Time) -> Option<&'a FreezeWindow> {
    spec.freeze_windows
        .iter()
        .find(|w| w.start <= *now && *now < w.end)
}
