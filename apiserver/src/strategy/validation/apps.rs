//! Workload controllers: `pkg/apis/apps/validation` (Deployments,
//! ReplicaSets, StatefulSets, DaemonSets, ControllerRevisions) and core's
//! ReplicationControllers.

use serde_json::{Value, json};

use super::fields::{
    child, get, go_int_or_string, go_label_selector, go_quote, go_string_map, int_at,
    invalid_rendered, not_supported_rendered, semantic_eq, str_or_empty,
};
use super::meta::{self, NameRule, Selector};
use super::names;
use super::pod;
use crate::FieldError;

const NULL: Value = Value::Null;

fn spec_of(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

fn meta_errors(obj: &Value, old: Option<&Value>, rule: NameRule) -> Vec<FieldError> {
    match old {
        None => meta::validate_object_meta(obj, true, rule),
        Some(old) => meta::validate_object_meta_update(obj, old),
    }
}

/// `spec.selector: ... field is immutable`, as apps/v1 strategies add it.
fn selector_immutable(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let Some(old) = old else { return Vec::new() };
    let (new_sel, old_sel) = (spec_of(obj).get("selector"), spec_of(old).get("selector"));
    if semantic_eq(new_sel, old_sel) {
        Vec::new()
    } else {
        vec![invalid_rendered(
            "spec.selector",
            &go_label_selector(new_sel),
            meta::IMMUTABLE,
        )]
    }
}

/// A required selector, validated, and non-empty ("empty selector is
/// invalid for <kind>").
fn validate_selector(spec: &Value, what: &str) -> Vec<FieldError> {
    let Some(selector) = get(spec, "selector") else {
        return vec![FieldError::required("spec.selector", "")];
    };
    let mut errs = meta::validate_label_selector(Some(selector), "spec.selector");
    if meta::selector_has_no_terms(selector) {
        errs.push(invalid_rendered(
            "spec.selector",
            &go_label_selector(Some(selector)),
            &format!("empty selector is invalid for {what}"),
        ));
    }
    errs
}

/// `` `selector` does not match template `labels` `` when the (parsed,
/// non-empty) selector does not select the template.
fn template_labels_mismatch(
    selector: &Selector<'_>,
    template: &Value,
    path: &str,
) -> Vec<FieldError> {
    let labels = get(template, "metadata").and_then(|m| m.get("labels"));
    if !selector.is_empty() && !selector.matches(labels) {
        vec![invalid_rendered(
            child(path, "metadata.labels"),
            &go_string_map(labels.filter(|l| !l.is_null())),
            "`selector` does not match template `labels`",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidatePodTemplateSpecForReplicaSet` (Deployments and ReplicaSets).
fn validate_template_for_replica_set(
    spec: &Value,
    selector: &Selector<'_>,
    kind: &str,
) -> Vec<FieldError> {
    let path = "spec.template";
    let Some(template) = get(spec, "template") else {
        return vec![FieldError::required(path, "")];
    };
    let mut errs = template_labels_mismatch(selector, template, path);
    errs.extend(pod::validate_pod_template_spec(template, path));
    errs.extend(always_restart_no_deadline(template, path, kind));
    errs
}

/// Long-running pods: restartPolicy must be Always, and no deadline.
fn always_restart_no_deadline(template: &Value, path: &str, kind: &str) -> Vec<FieldError> {
    let pod_spec = get(template, "spec").unwrap_or(&NULL);
    let mut errs = Vec::new();
    let policy = str_or_empty(pod_spec, "restartPolicy");
    if policy != "Always" {
        errs.push(FieldError::not_supported(
            format!("{path}.spec.restartPolicy"),
            &json!(policy),
            &["Always"],
        ));
    }
    if get(pod_spec, "activeDeadlineSeconds").is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.spec.activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errs
}

/// The selector and pod template rules Deployments and ReplicaSets share
/// (kube validates both with the ReplicaSet's messages).
fn validate_selector_and_template(spec: &Value) -> Vec<FieldError> {
    let mut errs = validate_selector(spec, "deployment");
    match Selector::parse(get(spec, "selector")) {
        None => errs.push(invalid_rendered(
            "spec.selector",
            &go_label_selector(get(spec, "selector")),
            "invalid label selector",
        )),
        Some(selector) => errs.extend(validate_template_for_replica_set(
            spec,
            &selector,
            "ReplicaSet",
        )),
    }
    errs
}

/// Deployment (apps/v1).
pub fn validate_deployment(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let mut errs = meta_errors(obj, old, NameRule::Subdomain);
    errs.extend(meta::nonnegative_at(spec, "replicas", "spec"));
    errs.extend(validate_selector_and_template(spec));
    errs.extend(validate_deployment_strategy(spec));
    errs.extend(meta::nonnegative_at(spec, "minReadySeconds", "spec"));
    errs.extend(meta::nonnegative_at(spec, "revisionHistoryLimit", "spec"));
    if let Some(deadline) = int_at(spec, "progressDeadlineSeconds") {
        errs.extend(meta::nonnegative("spec.progressDeadlineSeconds", deadline));
        if deadline <= int_at(spec, "minReadySeconds").unwrap_or(0) {
            errs.push(FieldError::invalid(
                "spec.progressDeadlineSeconds",
                &json!(deadline),
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs.extend(selector_immutable(obj, old));
    errs
}

fn validate_deployment_strategy(spec: &Value) -> Vec<FieldError> {
    let path = "spec.strategy";
    let strategy = get(spec, "strategy").unwrap_or(&NULL);
    let rolling = get(strategy, "rollingUpdate");
    match str_or_empty(strategy, "type") {
        "Recreate" => match rolling {
            Some(_) => vec![FieldError::forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )],
            None => Vec::new(),
        },
        "RollingUpdate" => match rolling {
            None => vec![FieldError::required(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )],
            Some(rolling) => validate_rolling_update_deployment(rolling),
        },
        other => vec![not_supported_rendered(
            path,
            &format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}}",
                go_quote(other)
            ),
            &["Recreate", "RollingUpdate"],
        )],
    }
}

fn validate_rolling_update_deployment(rolling: &Value) -> Vec<FieldError> {
    let path = "spec.strategy.rollingUpdate";
    let unavailable = rolling.get("maxUnavailable");
    let surge = rolling.get("maxSurge");
    let mut errs = positive_int_or_percent(unavailable, &child(path, "maxUnavailable"));
    errs.extend(positive_int_or_percent(surge, &child(path, "maxSurge")));
    if int_or_percent_value(unavailable) == 0 && int_or_percent_value(surge) == 0 {
        errs.push(invalid_rendered(
            child(path, "maxUnavailable"),
            &go_int_or_string(unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errs.extend(not_more_than_100_percent(
        unavailable,
        &child(path, "maxUnavailable"),
    ));
    errs
}

/// `ValidatePositiveIntOrPercent`.
pub fn positive_int_or_percent(value: Option<&Value>, path: &str) -> Vec<FieldError> {
    match value {
        Some(Value::String(s)) => names::percent(s)
            .into_iter()
            .map(|msg| invalid_rendered(path, &go_int_or_string(value), &msg))
            .collect(),
        Some(n) if n.is_number() => meta::nonnegative(path, n.as_i64().unwrap_or(0)),
        _ => Vec::new(),
    }
}

fn percent_value(value: Option<&Value>) -> Option<i64> {
    let s = value?.as_str()?;
    if !names::percent(s).is_empty() {
        return None;
    }
    s.trim_end_matches('%').parse().ok()
}

fn int_or_percent_value(value: Option<&Value>) -> i64 {
    percent_value(value).unwrap_or_else(|| {
        // Go's IntValue: a non-percent string is parsed as an integer.
        match value {
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            Some(v) => v.as_i64().unwrap_or(0),
            None => 0,
        }
    })
}

/// `IsNotMoreThan100Percent`.
pub fn not_more_than_100_percent(value: Option<&Value>, path: &str) -> Vec<FieldError> {
    match percent_value(value) {
        Some(p) if p > 100 => vec![invalid_rendered(
            path,
            &go_int_or_string(value),
            "must not be greater than 100%",
        )],
        _ => Vec::new(),
    }
}

/// ReplicaSet (apps/v1).
pub fn validate_replica_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let mut errs = meta_errors(obj, old, NameRule::Subdomain);
    errs.extend(meta::nonnegative_at(spec, "replicas", "spec"));
    errs.extend(meta::nonnegative_at(spec, "minReadySeconds", "spec"));
    errs.extend(validate_selector_and_template(spec));
    errs.extend(selector_immutable(obj, old));
    errs
}

/// StatefulSet (apps/v1). kube checks only the template's labels and
/// annotations here, not its pod spec.
pub fn validate_stateful_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let mut errs = match old {
        None => meta::validate_object_meta(obj, true, NameRule::Label),
        Some(old) => meta::validate_object_meta_update(obj, old),
    };
    errs.extend(validate_stateful_set_spec(spec));
    if let Some(old) = old {
        errs.extend(stateful_set_frozen_fields(spec, spec_of(old)));
    }
    errs
}

fn validate_stateful_set_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match str_or_empty(spec, "podManagementPolicy") {
        "" => errs.push(FieldError::required("spec.podManagementPolicy", "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid(
            "spec.podManagementPolicy",
            &json!(other),
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    errs.extend(validate_stateful_set_update_strategy(spec));
    if let Some(policy) = get(spec, "persistentVolumeClaimRetentionPolicy") {
        for field in ["whenDeleted", "whenScaled"] {
            let value = str_or_empty(policy, field);
            if value != "Retain" && value != "Delete" {
                errs.push(FieldError::not_supported(
                    format!("spec.persistentVolumeClaimRetentionPolicy.{field}"),
                    &json!(value),
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    errs.extend(meta::nonnegative_at(spec, "revisionHistoryLimit", "spec"));
    errs.extend(meta::nonnegative_at(spec, "replicas", "spec"));
    errs.extend(meta::nonnegative_at(spec, "minReadySeconds", "spec"));
    if let Some(start) = get(spec, "ordinals").and_then(|o| int_at(o, "start")) {
        errs.extend(meta::nonnegative("spec.ordinals.start", start));
    }
    errs.extend(validate_selector(spec, "statefulset"));
    match Selector::parse(get(spec, "selector")) {
        None => errs.push(invalid_rendered(
            "spec.selector",
            &go_label_selector(get(spec, "selector")),
            "",
        )),
        Some(selector) => {
            let template = get(spec, "template").unwrap_or(&NULL);
            errs.extend(template_labels_mismatch(
                &selector,
                template,
                "spec.template",
            ));
            let template_meta = get(template, "metadata").unwrap_or(&NULL);
            errs.extend(meta::validate_labels(
                template_meta.get("labels"),
                "spec.template.labels",
            ));
            errs.extend(meta::validate_annotations(
                template_meta.get("annotations"),
                "spec.template.annotations",
            ));
        }
    }
    let template = get(spec, "template").unwrap_or(&NULL);
    errs.extend(always_restart_no_deadline(
        template,
        "spec.template",
        "StatefulSet",
    ));
    errs
}

fn validate_stateful_set_update_strategy(spec: &Value) -> Vec<FieldError> {
    let strategy = get(spec, "updateStrategy").unwrap_or(&NULL);
    let rolling = get(strategy, "rollingUpdate");
    match str_or_empty(strategy, "type") {
        "" => vec![FieldError::required("spec.updateStrategy", "")],
        "OnDelete" => match rolling {
            Some(r) => vec![FieldError::invalid(
                "spec.updateStrategy.rollingUpdate",
                r,
                "only allowed for updateStrategy 'RollingUpdate'",
            )],
            None => Vec::new(),
        },
        "RollingUpdate" => {
            let Some(rolling) = rolling else {
                return Vec::new();
            };
            let mut errs =
                meta::nonnegative_at(rolling, "partition", "spec.updateStrategy.rollingUpdate");
            if let Some(max) = get(rolling, "maxUnavailable") {
                let path = "spec.updateStrategy.rollingUpdate.maxUnavailable";
                errs.extend(positive_int_or_percent(Some(max), path));
                if int_or_percent_value(Some(max)) == 0 {
                    errs.push(invalid_rendered(
                        path,
                        &go_int_or_string(Some(max)),
                        "cannot be 0",
                    ));
                }
                errs.extend(not_more_than_100_percent(Some(max), path));
            }
            errs
        }
        _ => vec![FieldError::invalid(
            "spec.updateStrategy",
            strategy,
            "must be 'RollingUpdate' or 'OnDelete'",
        )],
    }
}

fn stateful_set_frozen_fields(spec: &Value, old_spec: &Value) -> Vec<FieldError> {
    const MUTABLE: &[&str] = &[
        "replicas",
        "template",
        "updateStrategy",
        "minReadySeconds",
        "ordinals",
        "persistentVolumeClaimRetentionPolicy",
    ];
    let strip = |s: &Value| {
        let mut s = s.clone();
        if let Some(m) = s.as_object_mut() {
            for field in MUTABLE {
                m.remove(*field);
            }
        }
        s
    };
    if semantic_eq(Some(&strip(spec)), Some(&strip(old_spec))) {
        Vec::new()
    } else {
        vec![FieldError::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        )]
    }
}

/// DaemonSet (apps/v1).
pub fn validate_daemon_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let mut errs = meta_errors(obj, old, NameRule::Subdomain);
    let selector = get(spec, "selector");
    errs.extend(meta::validate_label_selector(selector, "spec.selector"));
    let template = get(spec, "template").unwrap_or(&NULL);
    if let Some(parsed) = Selector::parse(selector) {
        let labels = get(template, "metadata").and_then(|m| m.get("labels"));
        if !parsed.matches(labels) {
            errs.push(invalid_rendered(
                "spec.template.metadata.labels",
                &go_string_map(labels.filter(|l| !l.is_null())),
                "`selector` does not match template `labels`",
            ));
        }
    }
    if let Some(selector) = selector
        && meta::selector_has_no_terms(selector)
    {
        errs.push(invalid_rendered(
            "spec.selector",
            &go_label_selector(Some(selector)),
            "empty selector is invalid for daemonset",
        ));
    }
    errs.extend(pod::validate_pod_template_spec(template, "spec.template"));
    errs.extend(always_restart_no_deadline(
        template,
        "spec.template",
        "DaemonSet",
    ));
    errs.extend(meta::nonnegative_at(spec, "minReadySeconds", "spec"));
    errs.extend(validate_daemon_set_update_strategy(spec));
    errs.extend(meta::nonnegative_at(spec, "revisionHistoryLimit", "spec"));
    errs.extend(selector_immutable(obj, old));
    errs
}

fn validate_daemon_set_update_strategy(spec: &Value) -> Vec<FieldError> {
    let path = "spec.updateStrategy";
    let strategy = get(spec, "updateStrategy").unwrap_or(&NULL);
    match str_or_empty(strategy, "type") {
        "OnDelete" => Vec::new(),
        "RollingUpdate" => {
            let Some(rolling) = get(strategy, "rollingUpdate") else {
                return vec![FieldError::required(
                    "spec.updateStrategy.rollingUpdate",
                    "",
                )];
            };
            let rolling_path = "spec.updateStrategy.rollingUpdate";
            let unavailable = rolling.get("maxUnavailable");
            let surge = rolling.get("maxSurge");
            let mut errs =
                positive_int_or_percent(unavailable, &child(rolling_path, "maxUnavailable"));
            errs.extend(positive_int_or_percent(
                surge,
                &child(rolling_path, "maxSurge"),
            ));
            errs.extend(not_more_than_100_percent(
                unavailable,
                &child(rolling_path, "maxUnavailable"),
            ));
            errs.extend(not_more_than_100_percent(
                surge,
                &child(rolling_path, "maxSurge"),
            ));
            let has_unavailable = int_or_percent_value(unavailable) != 0;
            let has_surge = int_or_percent_value(surge) != 0;
            if has_unavailable && has_surge {
                errs.push(invalid_rendered(
                    child(rolling_path, "maxSurge"),
                    &go_int_or_string(surge),
                    "may not be set when maxUnavailable is non-zero",
                ));
            } else if !has_unavailable && !has_surge {
                errs.push(FieldError::required(
                    child(rolling_path, "maxUnavailable"),
                    "cannot be 0 when maxSurge is 0",
                ));
            }
            errs
        }
        other => vec![not_supported_rendered(
            path,
            &format!(
                "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}}",
                go_quote(other)
            ),
            &["RollingUpdate", "OnDelete"],
        )],
    }
}

/// ControllerRevision (apps/v1): data is mandatory and immutable.
pub fn validate_controller_revision(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old));
    }
    errs.extend(meta::validate_object_meta(obj, true, NameRule::Subdomain));
    if get(obj, "data").is_none() {
        errs.push(FieldError::required("data", "data is mandatory"));
    }
    errs.extend(meta::nonnegative_at(obj, "revision", ""));
    if let Some(old) = old
        && obj.get("data") != old.get("data")
    {
        errs.push(FieldError::invalid(
            "data",
            obj.get("data").unwrap_or(&NULL),
            meta::IMMUTABLE,
        ));
    }
    errs
}

/// ReplicationController (core/v1): a map selector that must not be empty.
pub fn validate_replication_controller(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let mut errs = meta_errors(obj, old, NameRule::Subdomain);
    errs.extend(meta::nonnegative_at(spec, "minReadySeconds", "spec"));
    let selector_map = get(spec, "selector");
    let has_selector = selector_map
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if !has_selector {
        errs.push(FieldError::required("spec.selector", ""));
    }
    errs.extend(meta::nonnegative_at(spec, "replicas", "spec"));
    let Some(template) = get(spec, "template") else {
        errs.push(FieldError::required("spec.template", ""));
        return errs;
    };
    if has_selector {
        let selector_value = json!({"matchLabels": selector_map});
        if let Some(selector) = Selector::parse(Some(&selector_value)) {
            errs.extend(template_labels_mismatch(
                &selector,
                template,
                "spec.template",
            ));
        }
    }
    errs.extend(pod::validate_pod_template_spec(template, "spec.template"));
    errs.extend(always_restart_no_deadline(
        template,
        "spec.template",
        "ReplicationController",
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::strategy::validation::lines;

    fn template(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}, "spec": {
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File"}]
        }})
    }

    fn deployment() -> Value {
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"})),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600
        }})
    }

    #[test]
    fn deployment_rules() {
        assert!(
            validate_deployment(&deployment(), None).is_empty(),
            "{:?}",
            validate_deployment(&deployment(), None)
        );
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "/spec/replicas",
                json!(-1),
                vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
            ),
            (
                "/spec/selector",
                json!({"matchLabels": {"app": "other"}}),
                vec![
                    "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
                ],
            ),
            (
                "/spec/selector",
                json!({}),
                vec![
                    "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
                ],
            ),
            (
                "/spec/strategy",
                json!({"type": "Blue"}),
                vec![
                    "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"Blue\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\"",
                ],
            ),
            (
                "/spec/strategy",
                json!({"type": "Recreate", "rollingUpdate": {}}),
                vec![
                    "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
                ],
            ),
            (
                "/spec/strategy/rollingUpdate",
                json!({"maxSurge": 0, "maxUnavailable": "0%"}),
                vec![
                    "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"0%\"}: may not be 0 when `maxSurge` is 0",
                ],
            ),
            (
                "/spec/strategy/rollingUpdate",
                json!({"maxSurge": 1, "maxUnavailable": "120%"}),
                vec![
                    "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}: must not be greater than 100%",
                ],
            ),
            (
                "/spec/strategy/rollingUpdate",
                json!({"maxSurge": "x", "maxUnavailable": 1}),
                vec![
                    "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"x\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                ],
            ),
            (
                "/spec/progressDeadlineSeconds",
                json!(0),
                vec![
                    "spec.progressDeadlineSeconds: Invalid value: 0: must be greater than minReadySeconds",
                ],
            ),
            (
                "/spec/template/spec/restartPolicy",
                json!("Never"),
                vec![
                    "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
                ],
            ),
        ];
        for (pointer, value, want) in cases {
            let mut d = deployment();
            *d.pointer_mut(pointer).unwrap() = value;
            assert_eq!(lines(&validate_deployment(&d, None)), want, "{pointer}");
        }
        let mut d = deployment();
        d["spec"].as_object_mut().unwrap().remove("selector");
        assert_eq!(
            lines(&validate_deployment(&d, None)),
            vec![
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
            ]
        );
    }

    #[test]
    fn selector_is_immutable() {
        let old = deployment();
        let mut new = deployment();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
        new["spec"]["template"]["metadata"]["labels"]["v"] = json!("2");
        assert_eq!(
            lines(&validate_deployment(&new, Some(&old))),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
            ]
        );
        let mut rs = deployment();
        rs["spec"].as_object_mut().unwrap().remove("strategy");
        let mut rs2 = rs.clone();
        rs2["spec"]["selector"] = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "app", "operator": "Exists"}]});
        assert_eq!(validate_replica_set(&rs2, Some(&rs)).len(), 1);
    }

    #[test]
    fn stateful_set_rules() {
        let sts = json!({"metadata": {"name": "db", "namespace": "default"}, "spec": {
            "replicas": 1, "serviceName": "db", "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "revisionHistoryLimit": 10, "selector": {"matchLabels": {"app": "db"}}, "template": template(json!({"app": "db"}))
        }});
        assert!(
            validate_stateful_set(&sts, None).is_empty(),
            "{:?}",
            validate_stateful_set(&sts, None)
        );
        let mut bad = sts.clone();
        bad["spec"]["podManagementPolicy"] = json!("Random");
        bad["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": -1}});
        assert_eq!(
            lines(&validate_stateful_set(&bad, None)),
            vec![
                "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
                "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
        let mut named = sts.clone();
        named["metadata"]["name"] = json!("db.v1");
        assert_eq!(
            lines(&validate_stateful_set(&named, None)),
            vec!["metadata.name: Invalid value: \"db.v1\": must not contain dots"]
        );
        let mut update = sts.clone();
        update["spec"]["serviceName"] = json!("other");
        update["spec"]["replicas"] = json!(3);
        assert_eq!(
            lines(&validate_stateful_set(&update, Some(&sts))),
            vec![
                "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ]
        );
    }

    #[test]
    fn daemon_set_rules() {
        let ds = json!({"metadata": {"name": "agent", "namespace": "default"}, "spec": {
            "selector": {"matchLabels": {"app": "a"}}, "template": template(json!({"app": "a"})),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "revisionHistoryLimit": 10
        }});
        assert!(
            validate_daemon_set(&ds, None).is_empty(),
            "{:?}",
            validate_daemon_set(&ds, None)
        );
        let mut bad = ds.clone();
        bad["spec"]["updateStrategy"]["rollingUpdate"] =
            json!({"maxUnavailable": 1, "maxSurge": 1});
        assert_eq!(
            lines(&validate_daemon_set(&bad, None)),
            vec![
                "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero",
            ]
        );
        bad["spec"]["updateStrategy"]["rollingUpdate"] =
            json!({"maxUnavailable": 0, "maxSurge": 0});
        assert_eq!(
            lines(&validate_daemon_set(&bad, None)),
            vec![
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
            ]
        );
    }

    #[test]
    fn replication_controller_rules() {
        let rc = json!({"metadata": {"name": "rc", "namespace": "default"}, "spec": {
            "replicas": 1, "selector": {"app": "x"}, "template": template(json!({"app": "y"}))
        }});
        assert_eq!(
            lines(&validate_replication_controller(&rc, None)),
            vec![
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`",
            ]
        );
        let mut empty = rc.clone();
        empty["spec"]["selector"] = json!({});
        assert_eq!(
            lines(&validate_replication_controller(&empty, None)),
            vec!["spec.selector: Required value"]
        );
    }
}
