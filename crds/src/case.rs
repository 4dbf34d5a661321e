//! `Case`: an incident and the deterministic state machine its phase moves
//! through. The machine ([`transition`]) and its guards ([`guard`]) are pure
//! functions so the API server can enforce them on every status write
//! (illegal move → 409 Conflict, failed guard → 422 Invalid) and tests can
//! cover every pair of phases without IO.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube_derive::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::change_plan::validate_change_plan;
use crate::change_plan::{AUTO_APPROVAL_MAX_RISK, ApprovalMode, ChangePlanSpec, active_freeze};
use crate::reference::{LocalRef, NAME_PATTERN, ObjectRef};
use crate::severity::Severity;

/// An incident: what is affected, how badly, the evidence, the ranked
/// findings and the plan that fixes it. The phase lives in status and only
/// moves through [`transition`].
// `printcolumn(...)` entries repeat `type_ = ...`, which clippy takes for a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "mars.io",
    version = "v1alpha1",
    kind = "Case",
    plural = "cases",
    shortname = "inc",
    category = "mars",
    namespaced,
    status = "CaseStatus",
    derive = "PartialEq",
    crates(kube_core = "::kube_core", kube = "::kube_derive"),
    doc = "Case is an incident: its subject, severity, evidence, ranked findings and the ChangePlan that fixes it. Its phase (status.phase) moves only through a deterministic state machine: New → Analyzing → Planning → WaitingApproval → Executing → Verifying → Closed, with WaitingApproval → Parked (rejected), Executing → Parked (failed), Verifying → Parked (verification failed) and Parked → Planning (resume); Closed is terminal. Request a transition by patching status.phase and status.reason through the status subresource; the API server refuses illegal moves (409) and failed guards (422) and appends every accepted move to status.timeline.",
    printcolumn(
        name = "Severity",
        type_ = "string",
        json_path = ".spec.severity",
        description = "critical, high, medium, low or info"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Position in the Case state machine"
    ),
    printcolumn(
        name = "Subject",
        type_ = "string",
        json_path = ".spec.subject.name",
        description = "Object the incident is about"
    ),
    printcolumn(
        name = "Subject-Kind",
        type_ = "string",
        json_path = ".spec.subject.kind",
        priority = 1,
        description = "Kind of the subject"
    ),
    printcolumn(
        name = "Plan",
        type_ = "string",
        json_path = ".spec.changePlanRef.name",
        priority = 1,
        description = "ChangePlan that fixes it"
    ),
    printcolumn(
        name = "Title",
        type_ = "string",
        json_path = ".spec.title",
        priority = 1,
        description = "One-line description"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct CaseSpec {
    /// One line saying what is wrong, e.g. `Beijing–Shanghai fiber
    /// congested; trading latency above objective`.
    #[schemars(length(min = 1, max = 253))]
    pub title: String,
    /// The object the incident is about (the most specific one known).
    pub subject: ObjectRef,
    /// How bad it is.
    pub severity: Severity,
    /// Longer description, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8192))]
    pub description: Option<String>,
    /// Alerts (same namespace) grouped into this Case: one outage, one Case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1024), inner(length(max = 253), pattern(NAME_PATTERN)))]
    pub alerts: Vec<String>,
    /// What was observed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub evidence: Vec<Evidence>,
    /// Candidate root causes, ranked, most likely first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub findings: Vec<Finding>,
    /// Who or what is affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    /// The ChangePlan (same namespace) that fixes the Case. Required before
    /// the Case can enter WaitingApproval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_plan_ref: Option<LocalRef>,
    /// User responsible for the Case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub assignee: Option<String>,
}

/// One piece of evidence.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// `alert`, `metric`, `log`, `trace`, `event`, `flow` (eBPF TCP flow
    /// observation), `config` (device configuration or drift) or `manual`.
    pub kind: EvidenceKind,
    /// What it shows, e.g. `lk-bj-sh-fiber-1 utilisation 93% for 12 min`.
    #[schemars(length(min = 1, max = 4096))]
    pub summary: String,
    /// Object the evidence comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ObjectRef>,
    /// Query that reproduces it (PromQL, log query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub query: Option<String>,
    /// Trace ID (W3C, 32 hex digits) the evidence belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub trace_id: Option<String>,
    /// When it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<Time>,
}

/// Source of a piece of evidence.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum EvidenceKind {
    /// An Alert.
    Alert,
    /// A metric.
    Metric,
    /// Log lines.
    Log,
    /// A distributed trace.
    Trace,
    /// A Kubernetes Event.
    Event,
    /// Observed TCP flows.
    Flow,
    /// Device configuration or drift.
    Config,
    /// Entered by a person.
    Manual,
}

/// A candidate root cause.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The suspected cause, in words.
    #[schemars(length(min = 1, max = 4096))]
    pub cause: String,
    /// Where the cause lies: `network`, `application`, `compute`, `site`,
    /// `external` or `unknown` — the "network or app?" answer.
    pub domain: FindingDomain,
    /// The suspected object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspect: Option<ObjectRef>,
    /// Confidence, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: Option<f64>,
    /// Who produced the finding: a user name or an analyser, e.g.
    /// `rca/graph-rank`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub by: Option<String>,
}

/// Layer a root cause lies in.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "")]
pub enum FindingDomain {
    /// Links or devices.
    Network,
    /// The application's own code or configuration.
    Application,
    /// Nodes, pods, capacity.
    Compute,
    /// A whole site (power, cooling, reachability).
    Site,
    /// A carrier or third party.
    External,
    /// Not yet known.
    Unknown,
}

/// Estimated impact of an incident.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// Affected Workloads (same namespace or `namespace/name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 317)))]
    pub workloads: Vec<String>,
    /// Affected Sites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 63)))]
    pub sites: Vec<String>,
    /// Impact in words, e.g. `trading p99 420ms (objective 200ms) for users in North China`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub summary: Option<String>,
}

/// Where a Case is, written through the status subresource. A client
/// requests a transition by setting `phase` (and `reason`); the API server
/// checks it with [`transition`] and [`guard`] and appends the timeline.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(crates(kube_core = "::kube_core"))]
#[serde(rename_all = "camelCase")]
pub struct CaseStatus {
    /// Position in the state machine: `New`, `Analyzing`, `Planning`,
    /// `WaitingApproval`, `Executing`, `Verifying`, `Closed` (terminal) or
    /// `Parked`. Change it only through the status subresource; illegal
    /// moves are refused with 409 Conflict, failed guards with 422 Invalid.
    #[serde(default)]
    pub phase: Phase,
    /// Why the latest transition was requested, e.g. `root cause found:
    /// lk-bj-sh-fiber-1 congested`. Recorded in the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub reason: Option<String>,
    /// Every accepted transition, oldest first; appended by the API server,
    /// never edited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineEntry>,
    /// When the phase last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions, e.g. `PlanValid`, `Approved`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// One accepted transition of a Case, kept for audit.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    /// Phase before.
    pub from: Phase,
    /// Phase after.
    pub to: Phase,
    /// Who requested it: a user name, a service account
    /// (`system:serviceaccount:mars-system:remediation`) or a controller.
    pub actor: String,
    /// Why, as given in `status.reason`.
    #[serde(default)]
    pub reason: String,
    /// When it was accepted.
    pub time: Time,
    /// Trace ID of the request that made it, to find its logs and spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// Position of a Case in its state machine.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(description = "")]
pub enum Phase {
    /// Opened; nobody has looked yet.
    #[default]
    New,
    /// Evidence is being gathered and root causes ranked.
    Analyzing,
    /// A ChangePlan is being drafted.
    Planning,
    /// The plan waits for approval (policy or human).
    WaitingApproval,
    /// The plan's steps are running.
    Executing,
    /// The plan's checks are running.
    Verifying,
    /// Fixed and verified. Terminal.
    Closed,
    /// Stopped: plan rejected, execution failed or verification failed.
    /// Resumes in Planning.
    Parked,
}

impl Phase {
    /// Every phase, in the order of the happy path (Parked last).
    pub const ALL: [Phase; 8] = [
        Phase::New,
        Phase::Analyzing,
        Phase::Planning,
        Phase::WaitingApproval,
        Phase::Executing,
        Phase::Verifying,
        Phase::Closed,
        Phase::Parked,
    ];

    /// The wire name, e.g. `WaitingApproval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::New => "New",
            Phase::Analyzing => "Analyzing",
            Phase::Planning => "Planning",
            Phase::WaitingApproval => "WaitingApproval",
            Phase::Executing => "Executing",
            Phase::Verifying => "Verifying",
            Phase::Closed => "Closed",
            Phase::Parked => "Parked",
        }
    }

    /// True for Closed, the only phase nothing leaves.
    pub fn is_terminal(self) -> bool {
        self == Phase::Closed
    }

    /// The phases a Case may move to from here.
    pub fn next(self) -> &'static [Phase] {
        match self {
            Phase::New => &[Phase::Analyzing],
            Phase::Analyzing => &[Phase::Planning],
            Phase::Planning => &[Phase::WaitingApproval],
            Phase::WaitingApproval => &[Phase::Executing, Phase::Parked],
            Phase::Executing => &[Phase::Verifying, Phase::Parked],
            Phase::Verifying => &[Phase::Closed, Phase::Parked],
            Phase::Closed => &[],
            Phase::Parked => &[Phase::Planning],
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an accepted transition means, named for Kubernetes Events and the
/// audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// New → Analyzing.
    AnalysisStarted,
    /// Analyzing → Planning.
    PlanningStarted,
    /// Planning → WaitingApproval.
    ApprovalRequested,
    /// WaitingApproval → Executing.
    Approved,
    /// WaitingApproval → Parked.
    Rejected,
    /// Executing → Verifying.
    ExecutionSucceeded,
    /// Executing → Parked.
    ExecutionFailed,
    /// Verifying → Closed.
    Verified,
    /// Verifying → Parked.
    VerificationFailed,
    /// Parked → Planning.
    Resumed,
}

impl Event {
    /// CamelCase reason for a Kubernetes Event, e.g. `ApprovalRequested`.
    pub fn reason(self) -> &'static str {
        match self {
            Event::AnalysisStarted => "AnalysisStarted",
            Event::PlanningStarted => "PlanningStarted",
            Event::ApprovalRequested => "ApprovalRequested",
            Event::Approved => "Approved",
            Event::Rejected => "Rejected",
            Event::ExecutionSucceeded => "ExecutionSucceeded",
            Event::ExecutionFailed => "ExecutionFailed",
            Event::Verified => "Verified",
            Event::VerificationFailed => "VerificationFailed",
            Event::Resumed => "Resumed",
        }
    }
}

/// A move the state machine does not allow (the API server answers 409
/// Conflict and changes nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_illegal(*from, *to))]
pub struct IllegalTransition {
    /// Phase the Case is in.
    pub from: Phase,
    /// Phase that was requested.
    pub to: Phase,
}

fn describe_illegal(from: Phase, to: Phase) -> String {
    if from == to {
        return format!("the Case is already {from}; staying in a phase is not a transition");
    }
    if from.is_terminal() {
        return format!("the Case is {from}, which is final; it cannot move to {to}");
    }
    let allowed: Vec<&str> = from.next().iter().map(|p| p.as_str()).collect();
    format!(
        "a Case cannot move from {from} to {to}; from {from} it may only move to {}",
        allowed.join(" or ")
    )
}

/// Why a requested transition was refused: [`Refusal::Illegal`] maps to
/// 409 Conflict, [`Refusal::Guard`] to 422 Invalid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The machine has no such edge.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The edge exists but its preconditions do not hold.
    #[error("the Case cannot enter {to}: {}", reasons.join("; "))]
    Guard {
        /// Phase that was requested.
        to: Phase,
        /// Each unmet precondition, phrased for people.
        reasons: Vec<String>,
    },
}

/// The state machine: the [`Event`] a move from `from` to `to` means, or
/// [`IllegalTransition`] if the machine has no such edge. Staying in the
/// same phase is not a transition (callers skip the check when the phase is
/// unchanged, e.g. for condition updates).
pub fn transition(from: Phase, to: Phase) -> Result<Event, IllegalTransition> {
    use Phase::*;
    let event = match (from, to) {
        (New, Analyzing) => Event::AnalysisStarted,
        (Analyzing, Planning) => Event::PlanningStarted,
        (Planning, WaitingApproval) => Event::ApprovalRequested,
        (WaitingApproval, Executing) => Event::Approved,
        (WaitingApproval, Parked) => Event::Rejected,
        (Executing, Verifying) => Event::ExecutionSucceeded,
        (Executing, Parked) => Event::ExecutionFailed,
        (Verifying, Closed) => Event::Verified,
        (Verifying, Parked) => Event::VerificationFailed,
        (Parked, Planning) => Event::Resumed,
        _ => return Err(IllegalTransition { from, to }),
    };
    Ok(event)
}

/// Preconditions for entering `to`, given the Case's ChangePlan (if it
/// references one that exists). Entering WaitingApproval or Executing needs
/// a valid plan: at least one step, rollback steps, verify checks, every
/// step with an action, `timeoutSeconds` ≥ 10 and `retries` 0-3, and
/// `riskScore` in [0, 1]; entering Executing also needs the plan approved.
/// Errors are reasons phrased for people; the API server answers 422.
pub fn guard(to: Phase, plan: Option<&ChangePlanSpec>) -> Result<(), Vec<String>> {
    if !matches!(to, Phase::WaitingApproval | Phase::Executing) {
        return Ok(());
    }
    let Some(plan) = plan else {
        return Err(vec![format!(
            "entering {to} needs a ChangePlan: set spec.changePlanRef to a ChangePlan in the Case's namespace"
        )]);
    };
    let mut reasons = Vec::new();
    if plan.rollback.is_empty() {
        reasons.push(
            "the ChangePlan has no rollback steps: say how to undo it before it can be approved"
                .to_string(),
        );
    }
    if plan.verify.is_empty() {
        reasons.push(
            "the ChangePlan has no verify checks: say how to tell that it worked before it can be approved"
                .to_string(),
        );
    }
    reasons.extend(
        validate_change_plan(plan)
            .into_iter()
            .map(|(path, message)| format!("{path}: {message}")),
    );
    if to == Phase::Executing {
        match plan.approval.mode {
            ApprovalMode::Manual if plan.approval.approved_by.is_none() => reasons.push(
                "the ChangePlan is not approved: a user with the operator role must set spec.approval.approvedBy"
                    .to_string(),
            ),
            ApprovalMode::Auto if plan.risk_score > AUTO_APPROVAL_MAX_RISK => {
                reasons.push(format!(
                    "riskScore {} is above the automatic-approval limit {AUTO_APPROVAL_MAX_RISK}: set spec.approval.mode to manual and have a human approve",
                    plan.risk_score
                ))
            }
            _ => {}
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// [`guard`] plus the checks that need the time: entering Executing is
/// refused while one of the plan's freeze windows is in force.
pub fn guard_at(to: Phase, plan: Option<&ChangePlanSpec>, now: &Time) -> Result<(), Vec<String>> {
    let mut reasons = guard(to, plan).err().unwrap_or_default();
    if to == Phase::Executing
        && let Some(window) = plan.and_then(|p| active_freeze(p, now))
    {
        reasons.push(format!(
            "a change freeze is in force until {}{}",
            window.end.0,
            window
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// The whole decision on a requested phase change, in the order the API
/// server applies it: the machine first (409), then the guards (422).
pub fn decide(
    from: Phase,
    to: Phase,
    plan: Option<&ChangePlanSpec>,
    now: &Time,
) -> Result<Event, Refusal> {
    let event = transition(from, to)?;
    guard_at(to, plan, now).map_err(|reasons| Refusal::Guard { to, reasons })?;
    Ok(event)
}

#[cfg(test)]
mod tests;
