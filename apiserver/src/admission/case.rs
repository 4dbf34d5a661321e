//! The Case state machine, enforced on every write to a Mars `Case`: an
//! illegal phase change is a 409 Conflict, a transition whose guard fails
//! (e.g. WaitingApproval without a complete ChangePlan) a 422 Invalid, and
//! neither changes anything. An accepted transition is appended to
//! `status.timeline` with the authenticated user as its actor; the
//! timeline belongs to the server and no client edits it. The machine and
//! its guards are `mars_crds::case`'s pure functions; this module only
//! feeds them the stored object, the written one and the ChangePlan.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use mars_crds::ChangePlanSpec;
use mars_crds::case::{self, Phase, Refusal, TimelineEntry};
use serde_json::{Value, json};

use crate::error::{ApiError, FieldError};
use crate::resources::ResourceDef;

/// Whether writes to `resource` go through the Case machine.
pub fn applies(resource: &ResourceDef) -> bool {
    resource.custom.is_some() && resource.group == mars_crds::GROUP && resource.kind == "Case"
}

/// Where a Case's ChangePlan is stored, if it names one.
pub fn plan_key(case: &Value) -> Option<String> {
    let name = case["spec"]["changePlanRef"]["name"].as_str()?;
    let namespace = case["metadata"]["namespace"].as_str()?;
    Some(format!(
        "/registry/{}/changeplans/{namespace}/{name}",
        mars_crds::GROUP
    ))
}

/// What deciding a transition needs from outside the two objects.
#[derive(Debug)]
pub struct Context<'a> {
    /// The referenced ChangePlan as stored (`None`: none, or missing).
    pub plan: Option<&'a Value>,
    /// Who asks: the authenticated user.
    pub actor: &'a str,
    pub now: jiff::Timestamp,
}

/// An accepted transition, for the Event the server records.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub from: Phase,
    pub to: Phase,
    pub event: case::Event,
}

/// A new Case starts in `New` with an empty timeline, whatever the body
/// says (status belongs to the status subresource).
pub fn on_create(obj: &mut Value) {
    if let Some(map) = obj.as_object_mut() {
        map.insert("status".into(), json!({"phase": Phase::New.as_str()}));
    }
}

/// Checks the write from `old` to `new` and completes `new`: the stored
/// timeline kept, and the accepted transition (if any) appended.
pub fn admit(
    old: &Value,
    new: &mut Value,
    cx: &Context<'_>,
) -> Result<Option<Transition>, ApiError> {
    let name = new["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let from = phase_of(old).unwrap_or(Phase::New);
    let to = match &new["status"]["phase"] {
        Value::Null => from,
        value => serde_json::from_value::<Phase>(value.clone()).map_err(|_| {
            invalid(
                &name,
                vec![FieldError::not_supported(
                    "status.phase",
                    value,
                    &Phase::ALL.map(Phase::as_str),
                )],
            )
        })?,
    };
    if !new["status"].is_object() {
        new["status"] = json!({});
    }
    new["status"]["timeline"] = old["status"]["timeline"].clone();
    if new["status"]["timeline"].is_null()
        && let Some(status) = new["status"].as_object_mut()
    {
        status.remove("timeline");
    }
    if to == from {
        new["status"]["phase"] = json!(from.as_str());
        return Ok(None);
    }
    let plan = match cx.plan.map(plan_spec).transpose() {
        Ok(plan) => plan,
        Err(reason) => {
            return Err(invalid(
                &name,
                vec![FieldError::invalid(
                    "status.phase",
                    &json!(to.as_str()),
                    reason,
                )],
            ));
        }
    };
    let now = Time(cx.now);
    let event = case::decide(from, to, plan.as_ref(), &now).map_err(|refusal| match refusal {
        Refusal::Illegal(illegal) => ApiError::Conflict {
            resource: "cases".into(),
            group: mars_crds::GROUP.into(),
            name: name.clone(),
            detail: illegal.to_string(),
        },
        Refusal::Guard { to, reasons } => invalid(
            &name,
            reasons
                .into_iter()
                .map(|reason| FieldError::invalid("status.phase", &json!(to.as_str()), reason))
                .collect(),
        ),
    })?;
    let entry = TimelineEntry {
        from,
        to,
        actor: cx.actor.to_string(),
        reason: new["status"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        time: now,
        trace_id: None,
    };
    let entry = serde_json::to_value(entry).map_err(|e| ApiError::Internal(e.to_string()))?;
    match new["status"]["timeline"].as_array_mut() {
        Some(timeline) => timeline.push(entry),
        None => new["status"]["timeline"] = json!([entry]),
    }
    new["status"]["lastTransitionTime"] = json!(crate::registry::lifecycle::timestamp(cx.now));
    Ok(Some(Transition { from, to, event }))
}

fn phase_of(case: &Value) -> Option<Phase> {
    serde_json::from_value(case["status"]["phase"].clone()).ok()
}

fn plan_spec(plan: &Value) -> Result<ChangePlanSpec, String> {
    serde_json::from_value(plan["spec"].clone())
        .map_err(|e| format!("the ChangePlan cannot be read: {e}"))
}

fn invalid(name: &str, causes: Vec<FieldError>) -> ApiError {
    ApiError::Invalid {
        kind: "Case".into(),
        group: mars_crds::GROUP.into(),
        name: name.to_string(),
        causes,
    }
}
