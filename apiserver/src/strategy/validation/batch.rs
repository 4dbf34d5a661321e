//! Jobs and CronJobs: `pkg/apis/batch/validation`, with the standard
//! 5-field cron parser kube uses (robfig/cron v3) for CronJob schedules.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::fields::{
    bool_at, child, get, go_label_selector, go_string_map, int_at, invalid_rendered, semantic_eq,
    str_at, str_or_empty,
};
use super::meta::{self, NameRule, Selector};
use super::pod;
use crate::FieldError;

const NULL: Value = Value::Null;
const MAX_PARALLELISM_FOR_INDEXED_JOB: i64 = 100_000;

/// The labels kube generates on a Job's pods and selector.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The legacy spelling of [`CONTROLLER_UID_LABEL`].
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// The label naming a pod's Job.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The legacy spelling of [`JOB_NAME_LABEL`].
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";

fn spec_of(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

/// `validateJobSpec`: the checks shared by Jobs and CronJob templates.
fn validate_job_spec_common(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for field in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        errs.extend(meta::nonnegative_at(spec, field, path));
    }
    if get(spec, "maxFailedIndexes").is_some() && get(spec, "backoffLimitPerIndex").is_none() {
        errs.push(FieldError::required(
            child(path, "backoffLimitPerIndex"),
            "when maxFailedIndexes is specified",
        ));
    }
    if let Some(mode) = str_at(spec, "completionMode") {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(FieldError::not_supported(
                child(path, "completionMode"),
                &json!(mode),
                &["NonIndexed", "Indexed"],
            ));
        }
        if mode == "Indexed" {
            if get(spec, "completions").is_none() {
                errs.push(FieldError::required(
                    child(path, "completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(parallelism) = int_at(spec, "parallelism")
                && parallelism > MAX_PARALLELISM_FOR_INDEXED_JOB
            {
                errs.push(FieldError::invalid(
                    child(path, "parallelism"),
                    &json!(parallelism),
                    format!(
                        "must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"
                    ),
                ));
            }
        }
    }
    if str_at(spec, "completionMode").unwrap_or("NonIndexed") == "NonIndexed" {
        for field in ["backoffLimitPerIndex", "maxFailedIndexes"] {
            if let Some(value) = get(spec, field) {
                errs.push(FieldError::invalid(
                    child(path, field),
                    value,
                    "requires indexed completion mode",
                ));
            }
        }
    }
    let has_failure_policy = get(spec, "podFailurePolicy").is_some();
    if let Some(policy) = str_at(spec, "podReplacementPolicy") {
        let replacement_path = child(path, "podReplacementPolicy");
        if has_failure_policy {
            if policy != "Failed" {
                errs.push(FieldError::not_supported(
                    replacement_path,
                    &json!(policy),
                    &["Failed"],
                ));
            }
        } else if policy != "Failed" && policy != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(
                replacement_path,
                &json!(policy),
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let template_path = child(path, "template");
    let template = get(spec, "template").unwrap_or(&NULL);
    errs.extend(pod::validate_pod_template_spec(template, &template_path));
    let restart_path = format!("{template_path}.spec.restartPolicy");
    let restart = get(template, "spec")
        .map(|s| str_or_empty(s, "restartPolicy"))
        .unwrap_or("");
    match restart {
        "Always" | "" => errs.push(FieldError::required(
            restart_path,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" if has_failure_policy => errs.push(FieldError::invalid(
            restart_path,
            &json!(restart),
            "only \"Never\" is supported when podFailurePolicy is specified",
        )),
        "OnFailure" | "Never" => {}
        other => errs.push(FieldError::not_supported(
            restart_path,
            &json!(other),
            &["OnFailure", "Never"],
        )),
    }
    errs
}

/// `ValidateJobSpec`: the shared checks, plus a selector that selects the
/// template.
fn validate_job_spec(spec: &Value) -> Vec<FieldError> {
    let mut errs = validate_job_spec_common(spec, "spec");
    let selector = get(spec, "selector");
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => errs.extend(meta::validate_label_selector(Some(s), "spec.selector")),
    }
    if let Some(parsed) = Selector::parse(selector) {
        let labels = get(spec, "template")
            .and_then(|t| get(t, "metadata"))
            .and_then(|m| get(m, "labels"));
        if !parsed.matches(labels) {
            errs.push(invalid_rendered(
                "spec.template.metadata.labels",
                &go_string_map(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs
}

/// `validateGeneratedSelector`: unless the selector is manual, the
/// template carries the generated labels and the selector selects by uid.
fn validate_generated_selector(job: &Value) -> Vec<FieldError> {
    let spec = spec_of(job);
    if bool_at(spec, "manualSelector") == Some(true) || get(spec, "selector").is_none() {
        return Vec::new();
    }
    let empty = Value::Null;
    let job_meta = get(job, "metadata").unwrap_or(&empty);
    let uid = str_or_empty(job_meta, "uid");
    if uid.is_empty() {
        // Mars sets the uid before validating; without one there is
        // nothing generated to check.
        return Vec::new();
    }
    let name = str_or_empty(job_meta, "name");
    let template_meta = get(spec, "template")
        .and_then(|t| get(t, "metadata"))
        .unwrap_or(&empty);
    let labels = get(template_meta, "labels");
    let mut errs = Vec::new();
    for (label, expected) in [
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
    ] {
        let path = meta::label_path("spec.template.metadata", label);
        match labels.and_then(|l| l.get(label)).and_then(Value::as_str) {
            None => errs.push(FieldError::required(path, expected)),
            Some(actual) if actual != expected => errs.push(invalid_rendered(
                path,
                &go_string_map(labels),
                &format!("must be '{expected}'"),
            )),
            Some(_) => {}
        }
    }
    let expected = json!({
        CONTROLLER_UID_LABEL: uid,
        JOB_NAME_LABEL: name,
        LEGACY_CONTROLLER_UID_LABEL: uid,
        LEGACY_JOB_NAME_LABEL: name,
    });
    let selects = Selector::parse(get(spec, "selector")).is_none_or(|s| s.matches(Some(&expected)));
    if !selects {
        errs.push(invalid_rendered(
            "spec.selector",
            &go_label_selector(get(spec, "selector")),
            "`selector` not auto-generated",
        ));
    }
    errs
}

/// Job (batch/v1).
pub fn validate_job(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, true, NameRule::Subdomain);
        errs.extend(validate_generated_selector(obj));
        errs.extend(validate_job_spec(spec));
        errs.extend(validate_indexed_pod_hostnames(obj));
        return errs;
    };
    let old_spec = spec_of(old);
    let mut errs = meta::validate_object_meta_update(obj, old);
    errs.extend(validate_job_spec(spec));
    errs.extend(validate_completions_update(spec, old_spec));
    if !semantic_eq(get(spec, "selector"), get(old_spec, "selector")) {
        errs.push(invalid_rendered(
            "spec.selector",
            &go_label_selector(get(spec, "selector")),
            meta::IMMUTABLE,
        ));
    }
    errs.extend(validate_template_update(obj, old));
    for field in ["completionMode", "podFailurePolicy", "backoffLimitPerIndex"] {
        if !semantic_eq(get(spec, field), get(old_spec, field)) {
            errs.push(FieldError::invalid(
                child("spec", field),
                spec.get(field).unwrap_or(&NULL),
                meta::IMMUTABLE,
            ));
        }
    }
    errs
}

/// Indexed pods are named `<job>-<index>`, which must stay a DNS label.
fn validate_indexed_pod_hostnames(job: &Value) -> Vec<FieldError> {
    let spec = spec_of(job);
    let completions = int_at(spec, "completions").unwrap_or(0);
    if str_at(spec, "completionMode") != Some("Indexed") || completions <= 0 {
        return Vec::new();
    }
    let name = get(job, "metadata").map_or("", |m| str_or_empty(m, "name"));
    let hostname = format!("{name}-{}", completions - 1);
    if super::names::dns1123_label(&hostname).is_empty() {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            "metadata.name",
            &json!(name),
            format!("will not able to create pod with invalid DNS label: {hostname}"),
        )]
    }
}

fn validate_completions_update(spec: &Value, old_spec: &Value) -> Vec<FieldError> {
    let (new, old) = (get(spec, "completions"), get(old_spec, "completions"));
    if semantic_eq(new, old) {
        return Vec::new();
    }
    if str_at(spec, "completionMode") != Some("Indexed") {
        return vec![FieldError::invalid(
            "spec.completions",
            new.unwrap_or(&NULL),
            meta::IMMUTABLE,
        )];
    }
    match new {
        Some(n) if Some(n) != get(spec, "parallelism") => vec![FieldError::invalid(
            "spec.completions",
            n,
            "can only be modified in tandem with spec.parallelism",
        )],
        _ => Vec::new(),
    }
}

/// The pod template is immutable, except the scheduling directives of a
/// suspended Job that never started.
fn validate_template_update(job: &Value, old: &Value) -> Vec<FieldError> {
    let (template, old_template) = (
        spec_of(job).get("template").unwrap_or(&NULL),
        spec_of(old).get("template").unwrap_or(&NULL),
    );
    let mutable_scheduling = bool_at(spec_of(old), "suspend") == Some(true)
        && get(old, "status")
            .and_then(|s| get(s, "startTime"))
            .is_none();
    let comparable = |t: &Value| {
        let mut t = t.clone();
        if mutable_scheduling {
            if let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("labels");
                m.remove("annotations");
            }
            if let Some(s) = t.get_mut("spec").and_then(Value::as_object_mut) {
                for field in ["nodeSelector", "tolerations", "affinity", "schedulingGates"] {
                    s.remove(field);
                }
            }
        }
        t
    };
    if semantic_eq(Some(&comparable(template)), Some(&comparable(old_template))) {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            "spec.template",
            template,
            meta::IMMUTABLE,
        )]
    }
}

/// CronJob (batch/v1).
pub fn validate_cron_job(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let mut errs = match old {
        None => meta::validate_object_meta(obj, true, NameRule::Subdomain),
        Some(old) => meta::validate_object_meta_update(obj, old),
    };
    errs.extend(validate_cron_job_spec(spec, old.map(spec_of)));
    let name = get(obj, "metadata").map_or("", |m| str_or_empty(m, "name"));
    if old.is_none() && name.len() > 52 {
        errs.push(FieldError::invalid(
            "metadata.name",
            &json!(name),
            "must be no more than 52 characters",
        ));
    }
    errs
}

fn validate_cron_job_spec(spec: &Value, old_spec: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let schedule = str_or_empty(spec, "schedule");
    if schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else {
        let allow_tz = old_spec.is_some_and(|o| str_or_empty(o, "schedule").contains("TZ"));
        errs.extend(validate_schedule(
            schedule,
            allow_tz,
            get(spec, "timeZone").is_some(),
        ));
    }
    errs.extend(meta::nonnegative_at(
        spec,
        "startingDeadlineSeconds",
        "spec",
    ));
    let time_zone = get(spec, "timeZone");
    if old_spec.is_none_or(|o| get(o, "timeZone") != time_zone)
        && let Some(zone) = time_zone
    {
        errs.extend(validate_time_zone(zone.as_str().unwrap_or("")));
    }
    match str_or_empty(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        other => errs.push(FieldError::not_supported(
            "spec.concurrencyPolicy",
            &json!(other),
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let template = get(spec, "jobTemplate").unwrap_or(&NULL);
    let job_spec = get(template, "spec").unwrap_or(&NULL);
    errs.extend(validate_job_spec_common(job_spec, "spec.jobTemplate.spec"));
    if let Some(selector) = get(job_spec, "selector") {
        errs.push(invalid_rendered(
            "spec.jobTemplate.spec.selector",
            &go_label_selector(Some(selector)),
            "`selector` will be auto-generated",
        ));
    }
    if bool_at(job_spec, "manualSelector") == Some(true) {
        errs.push(FieldError::not_supported(
            "spec.jobTemplate.spec.manualSelector",
            &json!(true),
            &["nil", "false"],
        ));
    }
    errs.extend(meta::nonnegative_at(
        spec,
        "successfulJobsHistoryLimit",
        "spec",
    ));
    errs.extend(meta::nonnegative_at(spec, "failedJobsHistoryLimit", "spec"));
    errs
}

fn validate_schedule(schedule: &str, allow_tz: bool, has_time_zone: bool) -> Vec<FieldError> {
    let path = "spec.schedule";
    let mut errs = Vec::new();
    if let Err(msg) = parse_standard_cron(schedule) {
        errs.push(FieldError::invalid(path, &json!(schedule), msg));
    }
    if allow_tz && schedule.contains("TZ") && has_time_zone {
        errs.push(FieldError::invalid(
            path,
            &json!(schedule),
            "cannot use both timeZone field and TZ or CRON_TZ in schedule",
        ));
    } else if !allow_tz && schedule.contains("TZ") {
        errs.push(FieldError::invalid(
            path,
            &json!(schedule),
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ));
    }
    errs
}

static TIME_ZONE_PART: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z\.\-_0-9+]{1,14}$").expect("static regex"));

fn validate_time_zone(zone: &str) -> Vec<FieldError> {
    let path = "spec.timeZone";
    if zone.is_empty() {
        return vec![FieldError::invalid(
            path,
            &json!(zone),
            "timeZone must be nil or non-empty string",
        )];
    }
    let unknown = || {
        vec![FieldError::invalid(
            path,
            &json!(zone),
            format!("unknown time zone {zone}"),
        )]
    };
    for part in zone.split('/') {
        if part == "." || part == ".." || part.starts_with('-') || !TIME_ZONE_PART.is_match(part) {
            return unknown();
        }
    }
    if zone.eq_ignore_ascii_case("Local") {
        return vec![FieldError::invalid(
            path,
            &json!(zone),
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        )];
    }
    let db = jiff::tz::db();
    if zone != "UTC" && !db.is_definitively_empty() && db.get(zone).is_err() {
        return unknown();
    }
    Vec::new()
}

/// One field of a cron spec: bounds and month/weekday names.
struct CronField {
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const CRON_FIELDS: [CronField; 5] = [
    CronField {
        min: 0,
        max: 59,
        names: &[],
    },
    CronField {
        min: 0,
        max: 23,
        names: &[],
    },
    CronField {
        min: 1,
        max: 31,
        names: &[],
    },
    CronField {
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    CronField {
        min: 0,
        max: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

/// robfig/cron's `ParseStandard`, returning its error text.
pub fn parse_standard_cron(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let (tz, rest) = spec.split_once(' ').unwrap_or((spec, ""));
        let zone = tz.split_once('=').map_or("", |(_, z)| z);
        let db = jiff::tz::db();
        if zone != "UTC" && zone != "Local" && !db.is_definitively_empty() && db.get(zone).is_err()
        {
            return Err(format!(
                "provided bad location {zone}: unknown time zone {zone}"
            ));
        }
        spec = rest.trim();
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (field, bounds) in fields.iter().zip(CRON_FIELDS.iter()) {
        for expr in field.split(',') {
            cron_range(expr, bounds)?;
        }
    }
    Ok(())
}

fn parse_descriptor(spec: &str) -> Result<(), String> {
    match spec {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => {
            Ok(())
        }
        _ => match spec.strip_prefix("@every ") {
            Some(duration) if go_duration_ok(duration) => Ok(()),
            Some(duration) => Err(format!(
                "failed to parse duration {spec}: time: invalid duration \"{duration}\""
            )),
            None => Err(format!("unrecognized descriptor: {spec}")),
        },
    }
}

static GO_DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(([0-9]*(\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h))+$|^0$").expect("static regex")
});

fn go_duration_ok(s: &str) -> bool {
    GO_DURATION.is_match(s)
}

fn cron_range(expr: &str, field: &CronField) -> Result<(), String> {
    let (range, step) = match expr.split('/').collect::<Vec<_>>().as_slice() {
        [range] => (*range, None),
        [range, step] => (*range, Some(*step)),
        _ => return Err(format!("too many slashes: {expr}")),
    };
    let bounds: Vec<&str> = range.split('-').collect();
    let (start, mut end) = if bounds[0] == "*" || bounds[0] == "?" {
        (field.min, field.max)
    } else {
        let start = cron_int_or_name(bounds[0], field)?;
        match bounds.len() {
            1 => (start, start),
            2 => (start, cron_int_or_name(bounds[1], field)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match step {
        None => 1,
        Some(step) => {
            if bounds.len() == 1 {
                end = field.max;
            }
            cron_int(step)?
        }
    };
    if start < field.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            field.min
        ));
    }
    if end > field.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            field.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn cron_int_or_name(expr: &str, field: &CronField) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        // Months are 1-based, weekdays 0-based.
        return Ok(i as u32 + field.min);
    }
    cron_int(expr)
}

fn cron_int(expr: &str) -> Result<u32, String> {
    let digits = expr.strip_prefix('+').unwrap_or(expr);
    let negative = digits.strip_prefix('-');
    let body = negative.unwrap_or(digits);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: invalid syntax",
            super::fields::go_quote(expr)
        ));
    }
    if negative.is_some() {
        return Err(format!("negative number ({expr}) not allowed: {expr}"));
    }
    body.parse().map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range",
            super::fields::go_quote(expr)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::strategy::validation::lines;

    fn pod_template(labels: Value, restart: &str) -> Value {
        json!({"metadata": {"labels": labels}, "spec": {
            "restartPolicy": restart, "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]
        }})
    }

    fn job(restart: &str) -> Value {
        let labels = json!({
            "controller-uid": "u1", "job-name": "pi",
            "batch.kubernetes.io/controller-uid": "u1", "batch.kubernetes.io/job-name": "pi"
        });
        json!({"metadata": {"name": "pi", "namespace": "default", "uid": "u1"}, "spec": {
            "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "suspend": false, "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
            "template": pod_template(labels, restart)
        }})
    }

    #[test]
    fn job_rules() {
        assert!(
            validate_job(&job("Never"), None).is_empty(),
            "{:?}",
            validate_job(&job("Never"), None)
        );
        assert_eq!(
            lines(&validate_job(&job("Always"), None)),
            vec![
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
            ]
        );
        let mut j = job("Never");
        j["spec"]["completions"] = json!(-1);
        j["spec"]["parallelism"] = json!(-2);
        assert_eq!(
            lines(&validate_job(&j, None)),
            vec![
                "spec.parallelism: Invalid value: -2: must be greater than or equal to 0",
                "spec.completions: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
        let mut j = job("Never");
        j["spec"]["completionMode"] = json!("Indexed");
        j["spec"].as_object_mut().unwrap().remove("completions");
        assert_eq!(
            lines(&validate_job(&j, None)),
            vec!["spec.completions: Required value: when completion mode is Indexed"]
        );
        let mut j = job("Never");
        j["spec"]["selector"] =
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "other"}});
        assert_eq!(
            lines(&validate_job(&j, None)),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"batch.kubernetes.io/controller-uid\":\"other\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"batch.kubernetes.io/controller-uid\":\"u1\", \"batch.kubernetes.io/job-name\":\"pi\", \"controller-uid\":\"u1\", \"job-name\":\"pi\"}: `selector` does not match template `labels`",
            ]
        );
    }

    #[test]
    fn job_updates() {
        let old = job("Never");
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:2");
        let errs = validate_job(&new, Some(&old));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.template");
        assert!(errs[0].message.ends_with(": field is immutable"));

        let mut new = old.clone();
        new["spec"]["completions"] = json!(3);
        assert_eq!(
            lines(&validate_job(&new, Some(&old))),
            vec!["spec.completions: Invalid value: 3: field is immutable"]
        );

        let mut suspended = old.clone();
        suspended["spec"]["suspend"] = json!(true);
        let mut new = suspended.clone();
        new["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "a"});
        assert!(validate_job(&new, Some(&suspended)).is_empty());
    }

    fn cron_job(schedule: &str) -> Value {
        json!({"metadata": {"name": "tick", "namespace": "default"}, "spec": {
            "schedule": schedule, "concurrencyPolicy": "Allow", "suspend": false,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"spec": {"template": pod_template(json!(null), "OnFailure")}}
        }})
    }

    #[test]
    fn cron_job_rules() {
        assert!(validate_cron_job(&cron_job("*/5 * * * *"), None).is_empty());
        assert!(validate_cron_job(&cron_job("@hourly"), None).is_empty());
        assert!(validate_cron_job(&cron_job("0 0 * JAN-MAR mon-fri"), None).is_empty());
        let cases = [
            (
                "* * * *",
                "spec.schedule: Invalid value: \"* * * *\": expected exactly 5 fields, found 4: [* * * *]",
            ),
            (
                "61 * * * *",
                "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61",
            ),
            (
                "* * 0 * *",
                "spec.schedule: Invalid value: \"* * 0 * *\": beginning of range (0) below minimum (1): 0",
            ),
            (
                "x * * * *",
                "spec.schedule: Invalid value: \"x * * * *\": failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                "5-1 * * * *",
                "spec.schedule: Invalid value: \"5-1 * * * *\": beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "spec.schedule: Invalid value: \"*/0 * * * *\": step of range should be a positive number: */0",
            ),
            (
                "@often",
                "spec.schedule: Invalid value: \"@often\": unrecognized descriptor: @often",
            ),
        ];
        for (schedule, want) in cases {
            assert_eq!(
                lines(&validate_cron_job(&cron_job(schedule), None)),
                vec![want],
                "{schedule}"
            );
        }
        let mut c = cron_job("");
        c["spec"]["concurrencyPolicy"] = json!("Sometimes");
        assert_eq!(
            lines(&validate_cron_job(&c, None)),
            vec![
                "spec.schedule: Required value",
                "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
            ]
        );
        let c = cron_job("TZ=UTC 0 * * * *");
        assert_eq!(
            lines(&validate_cron_job(&c, None)),
            vec![
                "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ]
        );
        let mut c = cron_job("0 * * * *");
        c["spec"]["timeZone"] = json!("Local");
        assert_eq!(
            lines(&validate_cron_job(&c, None)),
            vec![
                "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            ]
        );
        c["spec"]["timeZone"] = json!("Mars/Olympus_Mons");
        if !jiff::tz::db().is_definitively_empty() {
            assert_eq!(
                lines(&validate_cron_job(&c, None)),
                vec![
                    "spec.timeZone: Invalid value: \"Mars/Olympus_Mons\": unknown time zone Mars/Olympus_Mons",
                ]
            );
        }
        c["spec"]["timeZone"] = json!("Etc/UTC");
        assert!(validate_cron_job(&c, None).is_empty());
        let mut c = cron_job("0 * * * *");
        c["metadata"]["name"] = json!("a".repeat(53));
        assert_eq!(
            lines(&validate_cron_job(&c, None)),
            vec![format!(
                "metadata.name: Invalid value: \"{}\": must be no more than 52 characters",
                "a".repeat(53)
            ),]
        );
        let mut c = cron_job("0 * * * *");
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        assert_eq!(
            lines(&validate_cron_job(&c, None)),
            vec![
                "spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
            ]
        );
    }
}
